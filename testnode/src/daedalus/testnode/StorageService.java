package daedalus.testnode;

import java.io.IOException;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.management.openmbean.TabularData;

/**
 * Behaviour behind every version's StorageService surface: facts about the simulated ring, operation-mode moves
 * (drain, decommission), compaction-type operations, snapshots, truncate and refresh. Only the methods of the
 * version's interface are reachable over JMX (see {@link StorageServiceSurface}).
 */
final class StorageService implements StorageServiceSurface.V311, StorageServiceSurface.V41, StorageServiceSurface.V50 {
    private final Node node;
    private final Snapshots snapshots;
    private volatile int drainedTables;

    StorageService(Node node) {
        this.node = node;
        this.snapshots = node.snapshots;
    }

    // ---- facts ----

    @Override public String getOperationMode() { return node.mode(); }
    @Override public String getReleaseVersion() { return node.version.release(); }
    @Override public String getSchemaVersion() { return node.schemaVersion(); }
    @Override public String getClusterName() { return node.config.clusterName; }
    @Override public String getLocalHostId() { return node.local.hostId.toString(); }
    @Override public String getGitSHA() { return "testnode"; }

    @Override
    public Map<String, String> getEndpointToHostId() {
        Map<String, String> m = new HashMap<>();
        for (Ring.Member mem : node.ring.members) m.put(mem.ip, mem.hostId.toString());
        return m;
    }

    @Override public Map<String, String> getHostIdMap() { return getEndpointToHostId(); }

    @Override
    public Map<String, String> getEndpointWithPortToHostId() {
        Map<String, String> m = new HashMap<>();
        for (Ring.Member mem : node.ring.members) m.put(withPort(mem.ip), mem.hostId.toString());
        return m;
    }

    @Override
    public Map<String, String> getHostIdToEndpoint() {
        Map<String, String> m = new HashMap<>();
        for (Ring.Member mem : node.ring.members) m.put(mem.hostId.toString(), mem.ip);
        return m;
    }

    @Override
    public Map<String, String> getHostIdToEndpointWithPort() {
        Map<String, String> m = new HashMap<>();
        for (Ring.Member mem : node.ring.members) m.put(mem.hostId.toString(), withPort(mem.ip));
        return m;
    }

    @Override
    public Map<String, String> getTokenToEndpointMap() {
        Map<String, String> m = new LinkedHashMap<>();
        for (var e : node.ring.tokenMap().entrySet()) m.put(e.getKey().toString(), e.getValue().ip);
        return m;
    }

    @Override
    public Map<String, String> getTokenToEndpointWithPortMap() {
        Map<String, String> m = new LinkedHashMap<>();
        for (var e : node.ring.tokenMap().entrySet()) m.put(e.getKey().toString(), withPort(e.getValue().ip));
        return m;
    }

    /** Ring members (in ring-file order) that are up, or down, or in {@code status}. */
    private List<String> members(java.util.function.Predicate<Ring.Member> which, boolean port) {
        List<String> out = new ArrayList<>();
        for (Ring.Member m : node.ring.members) if (which.test(m)) out.add(port ? withPort(m.ip) : m.ip);
        return out;
    }

    @Override public List<String> getLiveNodes() { return members(node.ring::isUp, false); }
    @Override public List<String> getLiveNodesWithPort() { return members(node.ring::isUp, true); }
    @Override public List<String> getUnreachableNodes() { return members(m -> !node.ring.isUp(m), false); }
    @Override public List<String> getUnreachableNodesWithPort() { return members(m -> !node.ring.isUp(m), true); }
    @Override public List<String> getJoiningNodes() { return members(m -> node.ring.status(m).equals("JOINING"), false); }
    @Override public List<String> getJoiningNodesWithPort() { return members(m -> node.ring.status(m).equals("JOINING"), true); }
    @Override public List<String> getLeavingNodes() { return members(m -> node.ring.status(m).equals("LEAVING"), false); }
    @Override public List<String> getLeavingNodesWithPort() { return members(m -> node.ring.status(m).equals("LEAVING"), true); }
    @Override public List<String> getMovingNodes() { return members(m -> node.ring.status(m).equals("MOVING"), false); }
    @Override public List<String> getMovingNodesWithPort() { return members(m -> node.ring.status(m).equals("MOVING"), true); }

    @Override
    public List<String> getTokens() {
        List<String> out = new ArrayList<>();
        for (Long t : node.local.tokens) out.add(t.toString());
        return out;
    }

    @Override
    public List<String> getTokens(String endpoint) throws UnknownHostException {
        Ring.Member m = node.ring.find(endpoint);
        List<String> out = new ArrayList<>();
        if (m != null) for (Long t : m.tokens) out.add(t.toString());
        return out;
    }

    @Override
    public List<String> getKeyspaces() {
        List<String> ks = node.keyspaces();
        return node.version.atLeast(Version.Family.V50) ? ks : Collections.unmodifiableList(ks);
    }

    @Override
    public List<String> getNonSystemKeyspaces() {
        List<String> ks = new ArrayList<>(node.schema.userTables.keySet());
        return node.version.atLeast(Version.Family.V50) ? ks : Collections.unmodifiableList(ks);
    }

    @Override
    public List<String> getNonLocalStrategyKeyspaces() {
        List<String> ks = new ArrayList<>(node.keyspaces());
        ks.removeAll(Schema.LOCAL_STRATEGY);
        return node.version.atLeast(Version.Family.V50) ? ks : Collections.unmodifiableList(ks);
    }

    @Override
    public String[] getAllDataFileLocations() {
        try {
            return new String[] {node.config.dataDir.toRealPath().toString()};
        } catch (IOException e) {
            return new String[] {node.config.dataDir.toAbsolutePath().toString()};
        }
    }

    @Override public int getConcurrentCompactors() { return 2; }

    @Override
    public String getDrainProgress() {
        return String.format("Drained %s/%s ColumnFamilies", drainedTables, node.tables.size());
    }

    @Override public boolean isDrained() { return node.mode().equals("DRAINED"); }
    @Override public boolean isDraining() { return node.mode().equals("DRAINING"); }
    @Override public boolean isStarting() { return node.mode().equals("STARTING"); }
    @Override public boolean isInitialized() { return true; }
    @Override public boolean isJoined() { return true; }
    @Override public boolean isDecommissionFailed() { return node.mode().equals("DECOMMISSION_FAILED"); }
    @Override public boolean isDecommissioning() { return node.mode().equals("LEAVING"); }

    // ---- compaction-type operations (§3.3) ----

    @Override
    public int forceKeyspaceCleanup(int jobs, String keyspaceName, String... tables) throws Exception {
        if (Schema.LOCAL_STRATEGY.contains(keyspaceName)) {
            throw new RuntimeException("Cleanup of the system keyspace is neither necessary nor wise");
        }
        return node.compactions.run("Cleanup", node.validTables(keyspaceName, tables));
    }

    @Override
    public int forceKeyspaceCleanup(String keyspaceName, String... tables) throws Exception {
        return forceKeyspaceCleanup(0, keyspaceName, tables);
    }

    @Override
    public int scrub(boolean disableSnapshot, boolean skipCorrupted, boolean checkData, boolean reinsertOverflowedTTL,
            int jobs, String keyspaceName, String... columnFamilies) throws Exception {
        return node.compactions.run("Scrub", node.validTables(keyspaceName, columnFamilies));
    }

    @Override
    public int scrub(boolean disableSnapshot, boolean skipCorrupted, boolean checkData, int jobs, String keyspaceName,
            String... columnFamilies) throws Exception {
        return scrub(disableSnapshot, skipCorrupted, checkData, false, jobs, keyspaceName, columnFamilies);
    }

    @Override
    public int scrub(boolean disableSnapshot, boolean skipCorrupted, boolean checkData, String keyspaceName,
            String... columnFamilies) throws Exception {
        return scrub(disableSnapshot, skipCorrupted, checkData, false, 0, keyspaceName, columnFamilies);
    }

    @Override
    public int scrub(boolean disableSnapshot, boolean skipCorrupted, String keyspaceName, String... columnFamilies)
            throws Exception {
        return scrub(disableSnapshot, skipCorrupted, true, false, 0, keyspaceName, columnFamilies);
    }

    @Override
    public int upgradeSSTables(String keyspaceName, boolean excludeCurrentVersion, int jobs, String... tableNames)
            throws Exception {
        return node.compactions.run("Upgrade sstables", node.validTables(keyspaceName, tableNames));
    }

    @Override
    public int upgradeSSTables(String keyspaceName, boolean excludeCurrentVersion, String... tableNames)
            throws Exception {
        return upgradeSSTables(keyspaceName, excludeCurrentVersion, 0, tableNames);
    }

    @Override
    public int upgradeSSTables(String keyspaceName, boolean excludeCurrentVersion, long maxSSTableTimestamp, int jobs,
            String... tableNames) throws Exception {
        return upgradeSSTables(keyspaceName, excludeCurrentVersion, jobs, tableNames);
    }

    @Override
    public int verify(boolean extendedVerify, String keyspaceName, String... tableNames) throws Exception {
        return node.compactions.run("Verify", node.validTables(keyspaceName, tableNames));
    }

    @Override
    public int verify(boolean extendedVerify, boolean checkVersion, boolean diskFailurePolicy,
            boolean mutateRepairStatus, boolean checkOwnsTokens, boolean quick, String keyspaceName,
            String... tableNames) throws Exception {
        return verify(extendedVerify, keyspaceName, tableNames);
    }

    @Override
    public void forceKeyspaceFlush(String keyspaceName, String... tableNames) throws Exception {
        node.validTables(keyspaceName, tableNames);
    }

    // ---- topology (§3.4) ----

    @Override
    public void rebuild(String sourceDc) {
        rebuild(sourceDc, null, null, null);
    }

    @Override
    public void rebuild(String sourceDc, String keyspace, String tokens, String specificSources) {
        if (keyspace == null && tokens != null) throw new IllegalArgumentException("Cannot specify tokens without keyspace.");
        if (keyspace != null) {
            try {
                node.validKeyspace(keyspace);
            } catch (IOException e) {
                throw new IllegalArgumentException(e.getMessage());
            }
        }
        if (specificSources != null) {
            for (String s : specificSources.split(",")) {
                String host = s.trim();
                if (host.equals(node.local.ip)) {
                    throw new IllegalArgumentException("This host was specified as a source for rebuilding. Sources for a rebuild can only be other nodes in the cluster.");
                }
                if (!node.ring.ips().contains(host)) throw new IllegalArgumentException("Unknown host specified " + host);
            }
        }
        pause(node.config.transitionMillis);
    }

    @Override
    public void rebuild(String sourceDc, String keyspace, String tokens, String specificSources,
            boolean excludeLocalDatacenterNodes) {
        rebuild(sourceDc, keyspace, tokens, specificSources);
    }

    @Override
    public void decommission() throws Exception {
        decommission(true);
    }

    @Override
    public void decommission(boolean force) throws Exception {
        synchronized (this) {
            String mode = node.mode();
            if (mode.equals("LEAVING")) throw new IllegalStateException("Node is still decommissioning. Check nodetool netstats.");
            if (!mode.equals("NORMAL")) {
                throw new UnsupportedOperationException("Node in " + mode + " state; wait for status to become normal or restart");
            }
            node.setMode("LEAVING");
        }
        pause(node.config.transitionMillis);
        node.setMode("DECOMMISSIONED");
    }

    @Override
    public synchronized void drain() throws Exception {
        String mode = node.mode();
        if (mode.equals("DRAINED") || mode.equals("DRAINING")) {
            System.err.println("testnode: Cannot drain node (did it already happen?)");
            return;
        }
        node.setMode("DRAINING");
        drainedTables = 0;
        long step = node.config.transitionMillis / Math.max(1, node.tables.size());
        for (int i = 0; i < node.tables.size(); i++) {
            pause(step);
            drainedTables = i + 1;
        }
        node.setMode("DRAINED");
    }

    /**
     * Truncate: with auto_snapshot on (the default, as in cassandra.yaml; {@code --auto-snapshot false} turns it off;
     * on 5.0 the table option allow_auto_snapshot=false too), first snapshots the table as
     * {@code truncated-<millis>-<table>}, as ColumnFamilyStore.truncateBlocking does; then deletes its live SSTables,
     * index SSTables included.
     */
    @Override
    public void truncate(String keyspace, String table) throws Exception {
        node.validKeyspace(keyspace);
        Table t = node.table(keyspace, table);
        synchronized (t) {
            boolean allowed = t.def == null || t.def.allowAutoSnapshot || !node.version.atLeast(Version.Family.V50);
            if (node.config.autoSnapshot && allowed) {
                java.time.Instant now = java.time.Instant.ofEpochMilli(System.currentTimeMillis());
                snapshots.snapshotTable(t, "truncated-" + now.toEpochMilli() + "-" + t.name, now, null);
            }
            for (java.nio.file.Path d : t.sstableDirs()) {
                for (SSTableSet s : t.liveIn(d)) {
                    for (var f : s.components.values()) java.nio.file.Files.deleteIfExists(f);
                    t.live.remove(t.key(d, s));
                }
            }
        }
    }

    // ---- snapshots (§3.5) ----

    @Override
    public void takeSnapshot(String tag, Map<String, String> options, String... entities) throws Exception {
        snapshots.take(tag, options, entities);
    }

    @Override
    public void takeSnapshot(String tag, String... keyspaceNames) throws Exception {
        snapshots.take(tag, new HashMap<>(), keyspaceNames);
    }

    @Override
    public void takeTableSnapshot(String keyspaceName, String tableName, String tag) throws Exception {
        snapshots.take(tag, new HashMap<>(), keyspaceName + "." + tableName);
    }

    @Override
    public void takeMultipleTableSnapshot(String tag, String... tableList) throws Exception {
        snapshots.take(tag, new HashMap<>(), tableList);
    }

    @Override
    public void clearSnapshot(String tag, String... keyspaceNames) throws Exception {
        snapshots.clear(tag, 0, keyspaceNames);
    }

    @Override
    public void clearSnapshot(Map<String, Object> options, String tag, String... keyspaceNames) throws Exception {
        snapshots.clear(tag, Snapshots.olderThan(options), keyspaceNames);
    }

    @Override
    public Map<String, TabularData> getSnapshotDetails() {
        return snapshots.details(false);
    }

    @Override
    public Map<String, TabularData> getSnapshotDetails(Map<String, String> options) {
        boolean noTtl = options != null && "true".equalsIgnoreCase(String.valueOf(options.get("no_ttl")));
        return snapshots.details(noTtl);
    }

    @Override
    public long trueSnapshotsSize() {
        return snapshots.trueSnapshotsSize();
    }

    // ---- refresh (§3.2) ----

    @Override
    public void loadNewSSTables(String ksName, String tableName) {
        if (!node.keyspaces().contains(ksName)) {
            if (node.version.is311()) throw new AssertionError("Unknown keyspace " + ksName);
            throw new IllegalArgumentException("Keyspace " + ksName + " does not exist");
        }
        Table t = node.table(ksName, tableName);
        node.importer.refresh(t, new SSTableImporter.Options(true, false, false, false, false, false, false));
    }

    private String withPort(String ip) {
        return ip + ":" + Node.STORAGE_PORT;
    }

    static void pause(long millis) {
        if (millis <= 0) return;
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
