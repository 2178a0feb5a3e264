package daedalus.testnode;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Set;
import java.util.zip.CRC32;

/**
 * Simulates Cassandra's SSTableImporter (4.0+) and the older refresh on the file system: checks each SSTable set of
 * each source directory, then moves or copies the sets into the table directory under fresh generations.
 *
 * <p>Return shape as Cassandra's (shared/reference/cassandra-jmx.md §3.1): the list of failed source directories,
 * exactly as passed. Owns file moves; it must not touch JMX or the call log.
 */
final class SSTableImporter {
    /** The import flags, as in Cassandra's SSTableImporter.Options. */
    record Options(boolean resetLevel, boolean clearRepaired, boolean verifySSTables, boolean verifyTokens,
            boolean invalidateCaches, boolean extendedVerify, boolean copyData) {}

    private final Version version;
    private final Set<String> forcedFailures;
    private final List<String> failureLog;

    SSTableImporter(Version version, Set<String> forcedFailures, List<String> failureLog) {
        this.version = version;
        this.forcedFailures = forcedFailures;
        this.failureLog = failureLog;
    }

    /** importNewSSTables: returns the failed directories; throws RuntimeException as Cassandra does for bad paths. */
    List<String> importNew(Table table, Set<String> srcPaths, Options o) {
        synchronized (table) {
            if (srcPaths.isEmpty()) {
                refresh(table, o);
                return new ArrayList<>();
            }
            for (String path : srcPaths) {
                Path dir = Path.of(path);
                if (!Files.exists(dir)) throw new RuntimeException(String.format("Directory %s does not exist", path));
                if (!Files.isReadable(dir) || !Files.isWritable(dir) || !Files.isExecutable(dir)) {
                    throw new RuntimeException(String.format("Insufficient permissions on directory %s", path));
                }
            }
            List<String> failed = new ArrayList<>();
            for (String path : srcPaths) {
                List<Path[]> done = new ArrayList<>();
                try {
                    if (forcedFailures.contains(path)) throw new IOException("failure injected for " + path);
                    if (!namedFor(table, Path.of(path))) {
                        // Cassandra's SSTableLister drops SSTables whose directory names another table: nothing is
                        // imported and nothing is reported failed.
                        note("no new SSTables were found for " + table.qualified() + " in " + path);
                        continue;
                    }
                    List<SSTableSet> sets = SSTableSet.list(Path.of(path));
                    if (Path.of(path).toRealPath().equals(table.dir)) {
                        sets.removeIf(s -> table.live.contains(s.key())); // already live: skipped, as Cassandra does
                    }
                    for (SSTableSet s : sets) {
                        String problem = check(s, o);
                        if (problem != null) throw new IOException(s.key() + ": " + problem);
                    }
                    List<String> added = new ArrayList<>();
                    for (SSTableSet s : sets) {
                        added.add(place(table, s, o.copyData(), done));
                    }
                    table.live.addAll(added);
                } catch (IOException | RuntimeException e) {
                    rollback(done, o.copyData());
                    failed.add(path);
                    note("import into " + table.qualified() + " failed for " + path + ": " + e.getMessage());
                }
            }
            return failed;
        }
    }

    /**
     * The refresh path (empty srcPaths / loadNewSSTables): load SSTables that sit in the table dir (or its index
     * dirs) but are not live.
     */
    void refresh(Table table, Options o) {
        synchronized (table) {
            try {
                List<SSTableSet> fresh = new ArrayList<>();
                for (SSTableSet s : SSTableSet.list(table.dir)) {
                    if (!table.live.contains(s.key())) fresh.add(s);
                }
                for (SSTableSet s : fresh) {
                    String problem = check(s, o);
                    if (problem != null) throw new IOException(s.key() + ": " + problem);
                }
                for (SSTableSet s : fresh) {
                    table.live.add(place(table, s, false, new ArrayList<>()));
                }
                // Index SSTables lying in the index directories (as a hard-link restore leaves them) load as they are.
                for (Path d : table.indexDirs.values()) {
                    for (SSTableSet s : SSTableSet.list(d)) table.live.add(table.key(d, s));
                }
            } catch (IOException e) {
                note("refresh of " + table.qualified() + " failed: " + e.getMessage());
                throw new RuntimeException("Failed importing sstables: " + e.getMessage());
            }
        }
    }

    /**
     * Whether Cassandra's importer (4.0+) lists SSTables of {@code table} in {@code dir}: the directory must be named
     * {@code <keyspace>/<table>} or {@code <keyspace>/<table>-<id>}, as Descriptor parses them from the path.
     */
    static boolean namedFor(Table table, Path dir) {
        Path name = dir.getFileName();
        Path parent = dir.getParent() == null ? null : dir.getParent().getFileName();
        if (name == null || parent == null) return false;
        String tableName = name.toString();
        int dash = tableName.indexOf('-');
        if (dash >= 0) tableName = tableName.substring(0, dash);
        return tableName.equals(table.name) && parent.toString().equals(table.keyspace);
    }

    /** Why this node could not load {@code s}, or null if it can. */
    String check(SSTableSet s, Options o) throws IOException {
        Path data = s.components.get("Data.db");
        if (data == null) return "missing Data.db";
        if (!readable(s.format, s.version)) {
            return "format " + s.format + " version " + s.version + " is not readable by Cassandra " + version.release();
        }
        String partitioner = partitioner(s.components.get("Statistics.db"));
        if (partitioner != null && !partitioner.equals("org.apache.cassandra.dht.Murmur3Partitioner")) {
            return "partitioner " + partitioner + " does not match system partitioner "
                    + "org.apache.cassandra.dht.Murmur3Partitioner";
        }
        if (o.verifySSTables() || o.extendedVerify()) {
            Path toc = s.components.get("TOC.txt");
            if (toc != null) {
                for (String line : Files.readAllLines(toc, StandardCharsets.UTF_8)) {
                    String c = line.trim();
                    if (!c.isEmpty() && !s.components.containsKey(c)) return "component " + c + " listed in TOC is missing";
                }
            }
            Path digest = s.components.get("Digest.crc32");
            if (digest != null) {
                String expected = Files.readString(digest, StandardCharsets.US_ASCII).trim();
                String actual = Long.toString(crc32(data));
                if (!expected.equals(actual)) return "digest mismatch: Digest.crc32 says " + expected + ", Data.db has " + actual;
            }
        }
        return null;
    }

    private boolean readable(String format, String v) {
        switch (version.family()) {
            case V311: return format.equals("big") && v.compareTo("ka") >= 0 && v.compareTo("me") <= 0;
            case V40: return format.equals("big") && v.compareTo("ma") >= 0 && v.compareTo("nb") <= 0;
            case V41: return format.equals("big") && v.compareTo("ma") >= 0 && v.compareTo("nc") <= 0;
            default:
                return (format.equals("big") && v.compareTo("ma") >= 0 && v.compareTo("oa") <= 0)
                        || (format.equals("bti") && v.equals("da"));
        }
    }

    /** The partitioner class named in Statistics.db (ValidationMetadata), or null if not found. */
    static String partitioner(Path statistics) throws IOException {
        if (statistics == null) return null;
        String text = new String(Files.readAllBytes(statistics), StandardCharsets.ISO_8859_1);
        String prefix = "org.apache.cassandra.dht.";
        int at = text.indexOf(prefix);
        if (at < 0) return null;
        int end = at + prefix.length();
        while (end < text.length() && Character.isJavaIdentifierPart(text.charAt(end))) end++;
        return text.substring(at, end);
    }

    static long crc32(Path file) throws IOException {
        CRC32 crc = new CRC32();
        byte[] buf = new byte[65536];
        try (InputStream in = Files.newInputStream(file)) {
            int n;
            while ((n = in.read(buf)) > 0) crc.update(buf, 0, n);
        }
        return crc.getValue();
    }

    /** Moves or copies every component of {@code s} into the table dir under a new generation; returns its key. */
    private String place(Table table, SSTableSet s, boolean copy, List<Path[]> done) throws IOException {
        long gen = table.nextGeneration();
        String key = s.version + "-" + gen + "-" + s.format;
        for (var e : s.components.entrySet()) {
            Path dest = table.dir.resolve(key + "-" + e.getKey());
            if (Files.exists(dest)) throw new IOException("target " + dest + " exists");
            if (copy) {
                Files.copy(e.getValue(), dest, StandardCopyOption.COPY_ATTRIBUTES);
            } else {
                move(e.getValue(), dest);
            }
            done.add(new Path[] {e.getValue(), dest});
        }
        return key;
    }

    private static void move(Path from, Path to) throws IOException {
        try {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(from, to);
        }
    }

    private void rollback(List<Path[]> done, boolean copy) {
        Collections.reverse(done);
        for (Path[] p : done) {
            try {
                if (copy) Files.deleteIfExists(p[1]);
                else move(p[1], p[0]);
            } catch (IOException e) {
                note("rollback of " + p[1] + " failed: " + e.getMessage());
            }
        }
    }

    private void note(String message) {
        synchronized (failureLog) {
            failureLog.add(message);
        }
        System.err.println("testnode: " + message);
    }
}
