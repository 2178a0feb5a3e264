package daedalus.testnode;

import java.io.IOException;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;

/**
 * The simulated node's shared state: version, schema and tables on disk, operation mode, topology (this node plus
 * optional simulated peers), call log, faults. The MBean implementations read and change it; it owns no JMX wiring.
 */
final class Node {
    /** One member of the simulated ring. */
    static final class Member {
        final String ip;
        final UUID hostId;
        final List<Long> tokens;

        Member(String ip, UUID hostId, List<Long> tokens) {
            this.ip = ip;
            this.hostId = hostId;
            this.tokens = tokens;
        }
    }

    static final int STORAGE_PORT = 7000;
    static final int NUM_TOKENS = 16;

    final Config config;
    final Version version;
    final Schema schema;
    /** "ks.table" → table, user tables then system tables. */
    final Map<String, Table> tables = new LinkedHashMap<>();
    final List<Member> ring = new ArrayList<>();
    final Member local;
    final UUID schemaVersion;
    final CompactionManager compactions;
    final SSTableImporter importer;
    private final CallLog callLog;
    private final Faults faults;
    private final Set<String> failedImportDirs = java.util.concurrent.ConcurrentHashMap.newKeySet();
    private final List<String> importFailures = new ArrayList<>();
    private volatile String mode = "NORMAL";
    private volatile long lastTouch = System.currentTimeMillis();

    Node(Config config, Schema schema) throws IOException {
        this.config = config;
        this.version = config.version;
        this.schema = schema;
        Files.createDirectories(config.dataDir);
        for (var e : schema.userTables.entrySet()) {
            for (String t : e.getValue()) tables.put(e.getKey() + "." + t, Table.open(config.dataDir, e.getKey(), t));
        }
        for (var e : Schema.SYSTEM.entrySet()) {
            for (String t : e.getValue()) tables.put(e.getKey() + "." + t, Table.open(config.dataDir, e.getKey(), t));
        }
        this.schemaVersion = UUID.nameUUIDFromBytes(String.join(",", tables.keySet()).getBytes(StandardCharsets.UTF_8));
        String localIp = InetAddress.getByName(config.host).getHostAddress();
        UUID hostId = config.hostId != null ? UUID.fromString(config.hostId) : UUID.randomUUID();
        this.local = new Member(localIp, hostId, tokens(hostId));
        ring.add(local);
        for (int i = 0; i < config.peers; i++) {
            String ip = "127.0.0." + (i + 2);
            if (ip.equals(localIp)) ip = "127.0.1." + (i + 2);
            UUID id = UUID.nameUUIDFromBytes(("peer " + ip + " " + hostId).getBytes(StandardCharsets.UTF_8));
            ring.add(new Member(ip, id, tokens(id)));
        }
        this.callLog = new CallLog(config.callLog);
        this.faults = new Faults(this);
        this.compactions = new CompactionManager(version, config.compactionMillis);
        this.importer = new SSTableImporter(version, failedImportDirs, importFailures);
    }

    private static List<Long> tokens(UUID seed) {
        Random r = new Random(seed.getMostSignificantBits() ^ seed.getLeastSignificantBits());
        List<Long> out = new ArrayList<>();
        for (int i = 0; i < NUM_TOKENS; i++) out.add(r.nextLong());
        out.sort(null);
        return out;
    }

    CallLog callLog() { return callLog; }

    Faults faults() { return faults; }

    boolean logReads() { return config.logReads; }

    String mode() { return mode; }

    void setMode(String m) { mode = m; }

    void touch() { lastTouch = System.currentTimeMillis(); }

    long lastTouch() { return lastTouch; }

    synchronized String[] setFailedImportDirs(String[] dirs) {
        String[] previous = failedImportDirs.toArray(new String[0]);
        failedImportDirs.clear();
        failedImportDirs.addAll(Arrays.asList(dirs));
        return previous;
    }

    String[] importFailures() {
        synchronized (importFailures) {
            return importFailures.toArray(new String[0]);
        }
    }

    /** All keyspaces: user keyspaces then system keyspaces. */
    List<String> keyspaces() {
        List<String> out = new ArrayList<>(schema.userTables.keySet());
        out.addAll(Schema.SYSTEM.keySet());
        return out;
    }

    /** Cassandra's getValidKeyspace: 3.11 throws a checked IOException, 4.0+ IllegalArgumentException (§5.2). */
    void validKeyspace(String ks) throws IOException {
        if (ks != null && keyspaces().contains(ks)) return;
        String msg = "Keyspace " + ks + " does not exist";
        if (version.is311()) throw new IOException(msg);
        throw new IllegalArgumentException(msg);
    }

    /** Cassandra's getValidColumnFamilies: empty means every table of the keyspace. */
    List<Table> validTables(String ks, String... names) throws IOException {
        validKeyspace(ks);
        List<Table> out = new ArrayList<>();
        if (names == null || names.length == 0) {
            for (Table t : tables.values()) if (t.keyspace.equals(ks)) out.add(t);
            return out;
        }
        for (String n : names) out.add(table(ks, n));
        return out;
    }

    /** Keyspace.getColumnFamilyStore: unknown → IllegalArgumentException "Unknown keyspace/cf pair (ks.t)". */
    Table table(String ks, String name) {
        Table t = tables.get(ks + "." + name);
        if (t == null) throw new IllegalArgumentException("Unknown keyspace/cf pair (" + ks + "." + name + ")");
        return t;
    }

    /** Token (as decimal string) → member, ascending token order. */
    Map<Long, Member> tokenMap() {
        TreeMap<Long, Member> m = new TreeMap<>();
        for (Member mem : ring) for (Long t : mem.tokens) m.put(t, mem);
        return m;
    }

    Set<String> ringIps() {
        Set<String> out = new HashSet<>();
        for (Member m : ring) out.add(m.ip);
        return out;
    }
}
