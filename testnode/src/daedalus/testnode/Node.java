package daedalus.testnode;

import java.io.IOException;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;

/**
 * The simulated node's shared state: version, schema and tables on disk, operation mode, the ring it sees, call log,
 * faults. The MBean implementations read and change it; it owns no JMX wiring.
 */
final class Node {
    static final int STORAGE_PORT = 7000;

    final Config config;
    final Version version;
    final Schema schema;
    /** "ks.table" → table, user tables then system tables. */
    final Map<String, Table> tables = new LinkedHashMap<>();
    final Ring ring;
    final Ring.Member local;
    final CompactionManager compactions;
    final SSTableImporter importer;
    final Snapshots snapshots;
    private final CallLog callLog;
    private final Faults faults;
    private final Set<String> failedImportDirs = java.util.concurrent.ConcurrentHashMap.newKeySet();
    private final List<String> importFailures = new ArrayList<>();
    private volatile String mode = "NORMAL";
    private volatile String schemaVersion;
    private volatile long lastTouch = System.currentTimeMillis();

    Node(Config config, Schema schema) throws IOException {
        this.config = config;
        this.version = config.version;
        this.schema = schema;
        Files.createDirectories(config.dataDir);
        for (var e : schema.userTables.entrySet()) {
            for (Schema.TableDef t : e.getValue()) {
                tables.put(e.getKey() + "." + t.name, Table.open(config.dataDir, e.getKey(), t.name, t));
            }
        }
        for (var e : Schema.SYSTEM.entrySet()) {
            for (String t : e.getValue()) tables.put(e.getKey() + "." + t, Table.open(config.dataDir, e.getKey(), t, null));
        }
        List<String> names = new ArrayList<>(tables.keySet());
        for (var e : schema.userTables.entrySet()) if (e.getValue().isEmpty()) names.add(e.getKey());
        this.schemaVersion = config.schemaVersion != null ? config.schemaVersion
                : UUID.nameUUIDFromBytes(String.join(",", names).getBytes(StandardCharsets.UTF_8)).toString();
        String localIp = InetAddress.getByName(config.host).getHostAddress();
        if (config.ringFile != null) {
            this.ring = Ring.read(config.ringFile, localIp, this::mode);
            if (config.hostId != null && !UUID.fromString(config.hostId).equals(ring.local.hostId)) {
                throw new IllegalArgumentException("--host-id " + config.hostId + " differs from the ring file's "
                        + ring.local.hostId + " for " + localIp);
            }
        } else {
            UUID hostId = config.hostId != null ? UUID.fromString(config.hostId) : UUID.randomUUID();
            this.ring = Ring.simulated(localIp, hostId, config.peers, schema.datacenter, schema.rack, this::mode);
        }
        this.local = ring.local;
        this.callLog = new CallLog(config.callLog);
        this.faults = new Faults(this);
        this.compactions = new CompactionManager(version, config.compactionMillis);
        this.importer = new SSTableImporter(version, failedImportDirs, importFailures);
        this.snapshots = new Snapshots(this);
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

    String schemaVersion() { return schemaVersion; }

    /** This node's schema version as its peers report it; setting the local member's changes SchemaVersion. */
    String schemaVersionOf(Ring.Member m) {
        return m == local ? schemaVersion : ring.schemaVersion(m, schemaVersion);
    }

    String setSchemaVersion(String endpoint, String version) {
        Ring.Member m = ring.require(endpoint);
        if (m != local) return ring.setSchemaVersion(endpoint, version, schemaVersion);
        Ring.checkUuid(version);
        String previous = schemaVersion;
        schemaVersion = version;
        return previous;
    }
}
