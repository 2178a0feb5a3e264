package daedalus.testnode;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.text.DecimalFormat;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import javax.management.openmbean.CompositeDataSupport;
import javax.management.openmbean.CompositeType;
import javax.management.openmbean.OpenDataException;
import javax.management.openmbean.OpenType;
import javax.management.openmbean.SimpleType;
import javax.management.openmbean.TabularData;
import javax.management.openmbean.TabularDataSupport;
import javax.management.openmbean.TabularType;

/**
 * Snapshots on disk, as Cassandra keeps them: {@code <table dir>/snapshots/<tag>/} holding hard links of the live
 * SSTable files (those of secondary indexes under {@code .<index>/}), the version's manifest.json and, for non-system
 * tables, schema.cql (from {@link SchemaCql}). Clears them, and builds the SnapshotDetails TabularData per version
 * (shared/reference/cassandra-jmx.md §3.5). Owns the snapshots directories only.
 */
final class Snapshots {
    private final Node node;

    Snapshots(Node node) {
        this.node = node;
    }

    /** takeSnapshot(tag, options, entities...): entities empty = all keyspaces; "ks.t" items = tables. */
    void take(String tag, Map<String, String> options, String... entities) throws IOException {
        if (tag == null || tag.isEmpty()) throw new IOException("You must supply a snapshot name.");
        String ttl = options == null ? null : options.get("ttl");
        Duration lifetime = null;
        if (ttl != null && node.version.atLeast(Version.Family.V41)) {
            lifetime = parseDuration(ttl);
            if (lifetime.getSeconds() < 60) throw new IllegalArgumentException("ttl for snapshot must be at least 60 seconds");
        }
        List<Table> targets = new ArrayList<>();
        if (entities == null || entities.length == 0) {
            targets.addAll(node.tables.values());
        } else if (entities[0].contains(".")) {
            for (String e : entities) {
                String[] kt = e.split("\\.", 2);
                if (kt.length != 2 || kt[1].isEmpty()) {
                    throw new IllegalArgumentException("Cannot take a snapshot on secondary index or invalid column family name. You must supply a column family name in the form of keyspace.columnfamily");
                }
                node.validKeyspace(kt[0]);
                targets.add(node.table(kt[0], kt[1]));
            }
        } else {
            for (String ks : entities) targets.addAll(node.validTables(ks));
        }
        // As Keyspace.snapshotExists: the tag is taken if any table of a target's keyspace has it.
        for (Table t : targets) {
            for (Table other : node.tables.values()) {
                if (other.keyspace.equals(t.keyspace) && Files.exists(dir(other, tag))) {
                    throw new IOException("Snapshot " + tag + " already exists.");
                }
            }
        }
        // One creation time for every table of the snapshot, in milliseconds as Cassandra's clock gives it.
        Instant created = Instant.ofEpochMilli(System.currentTimeMillis());
        Instant expires = lifetime == null ? null : created.plus(lifetime);
        for (Table t : targets) snapshotTable(t, tag, created, expires);
    }

    /**
     * Hard-links the live SSTables of {@code t} and of its indexes into {@code snapshots/<tag>/} (index files under
     * {@code .<index>/}), then writes manifest.json and, for non-system tables, schema.cql.
     */
    void snapshotTable(Table t, String tag, Instant created, Instant expires) throws IOException {
        synchronized (t) {
            Path d = Files.createDirectories(dir(t, tag));
            List<String> dataFiles = new ArrayList<>();
            for (Path source : t.sstableDirs()) {
                List<SSTableSet> live = t.liveIn(source);
                if (live.isEmpty()) continue;
                Path target = Files.createDirectories(d.resolve(t.dir.relativize(source).toString()));
                for (SSTableSet s : live) {
                    for (Path f : s.components.values()) {
                        Path link = target.resolve(f.getFileName());
                        try {
                            Files.createLink(link, f);
                        } catch (IOException | UnsupportedOperationException e) {
                            Files.copy(f, link);
                        }
                    }
                    Path data = s.components.get("Data.db");
                    if (data != null) dataFiles.add(t.dir.relativize(data).toString());
                }
            }
            Files.writeString(d.resolve("manifest.json"), manifest(dataFiles, created, expires));
            if (t.def != null) Files.writeString(d.resolve("schema.cql"), SchemaCql.render(t.def, t.id, node.version));
        }
    }

    /**
     * manifest.json as the version writes it: 3.11 and 4.0 {"files":[...]} (json-simple, one line); 4.1 adds
     * created_at and expires_at (Jackson, compact, ISO-8601 instants); 5.0 adds ephemeral and pretty-prints. The files
     * are the Data.db components, index ones as ".<index>/<file>".
     */
    private String manifest(List<String> dataFiles, Instant created, Instant expires) {
        StringBuilder m = new StringBuilder();
        if (node.version.atLeast(Version.Family.V50)) {
            m.append("{\n  \"files\" : [ ");
            for (int i = 0; i < dataFiles.size(); i++) {
                if (i > 0) m.append(", ");
                CallLog.json(m, dataFiles.get(i));
            }
            m.append(dataFiles.isEmpty() ? "]" : " ]");
            m.append(",\n  \"created_at\" : ");
            CallLog.json(m, created.toString());
            m.append(",\n  \"expires_at\" : ");
            CallLog.json(m, expires == null ? null : expires.toString());
            m.append(",\n  \"ephemeral\" : false\n}");
            return m.toString();
        }
        m.append("{\"files\":");
        CallLog.json(m, dataFiles);
        if (node.version.atLeast(Version.Family.V41)) {
            m.append(",\"created_at\":");
            CallLog.json(m, created.toString());
            m.append(",\"expires_at\":");
            CallLog.json(m, expires == null ? null : expires.toString());
            return m.append("}").toString();
        }
        // json-simple escapes '/', so index entries read ".idx\/nb-1-big-Data.db".
        return m.append("}\n").toString().replace("/", "\\/");
    }

    /**
     * clearSnapshot: empty or null tag = every snapshot; no keyspaces = every keyspace directory. Like Cassandra it
     * walks the data directory, so snapshots of tables the node no longer has are cleared too. {@code olderThan}
     * (epoch millis, 0 = no limit) keeps snapshots created at or after it (5.0's older_than options).
     */
    void clear(String tag, long olderThan, String... keyspaces) throws IOException {
        List<String> only = keyspaces == null ? List.of() : java.util.Arrays.asList(keyspaces);
        Path data = node.config.dataDir;
        try (DirectoryStream<Path> kss = Files.newDirectoryStream(data, Files::isDirectory)) {
            for (Path ks : kss) {
                if (!only.isEmpty() && !only.contains(ks.getFileName().toString())) continue;
                try (DirectoryStream<Path> tables = Files.newDirectoryStream(ks, Files::isDirectory)) {
                    for (Path table : tables) {
                        Path root = table.resolve("snapshots");
                        if (!Files.isDirectory(root)) continue;
                        try (DirectoryStream<Path> tags = Files.newDirectoryStream(root)) {
                            for (Path d : tags) {
                                if (tag != null && !tag.isEmpty() && !d.getFileName().toString().equals(tag)) continue;
                                if (olderThan > 0 && createdMillis(d) >= olderThan) continue;
                                deleteTree(d);
                            }
                        }
                    }
                }
            }
        }
    }

    /** 5.0's clearSnapshot options: "older_than" (a duration) or "older_than_timestamp" (an ISO-8601 instant). */
    static long olderThan(Map<String, Object> options) {
        if (options == null) return 0;
        Object duration = options.get("older_than");
        Object timestamp = options.get("older_than_timestamp");
        if (duration != null && timestamp != null) {
            throw new IllegalArgumentException("Specify only one of older_than or older_than_timestamp options");
        }
        if (duration != null) return System.currentTimeMillis() - parseDuration(String.valueOf(duration)).toMillis();
        if (timestamp != null) {
            try {
                return Instant.parse(String.valueOf(timestamp)).toEpochMilli();
            } catch (java.time.format.DateTimeParseException e) {
                throw new IllegalArgumentException("Parameter older_than_timestamp has to be a valid instant in ISO format.");
            }
        }
        return 0;
    }

    /** When the snapshot in {@code d} was made: the manifest's created_at, else the directory's mtime. */
    private static long createdMillis(Path d) throws IOException {
        String created = manifestField(d, "created_at");
        if (created != null) {
            try {
                return Instant.parse(created).toEpochMilli();
            } catch (java.time.format.DateTimeParseException e) {
                // fall back to the file time
            }
        }
        return Files.getLastModifiedTime(d).toMillis();
    }

    /** SnapshotDetails: tag → one row per table, items as the version has them. */
    Map<String, TabularData> details(boolean skipExpiring) {
        Map<String, TabularData> out = new HashMap<>();
        try {
            CompositeType row = rowType();
            TabularType type = new TabularType("SnapshotDetails", "SnapshotDetails", row, row.keySet().toArray(new String[0]));
            for (Table t : node.tables.values()) {
                Path root = t.dir.resolve("snapshots");
                if (!Files.isDirectory(root)) continue;
                try (DirectoryStream<Path> tags = Files.newDirectoryStream(root)) {
                    for (Path d : tags) {
                        String tag = d.getFileName().toString();
                        String expires = manifestField(d, "expires_at");
                        if (skipExpiring && expires != null) continue;
                        Map<String, Object> v = new HashMap<>();
                        v.put("Snapshot name", tag);
                        v.put("Keyspace name", t.keyspace);
                        v.put("Column family name", t.name);
                        v.put("True size", stringify(trueSize(t, d)));
                        v.put("Size on disk", stringify(size(d)));
                        if (node.version.atLeast(Version.Family.V41)) {
                            v.put("Creation time", manifestField(d, "created_at"));
                            v.put("Expiration time", expires);
                        }
                        if (node.version.atLeast(Version.Family.V50)) v.put("Ephemeral", "false");
                        TabularData td = out.computeIfAbsent(tag, k -> new TabularDataSupport(type));
                        td.put(new CompositeDataSupport(row, v));
                    }
                }
            }
        } catch (OpenDataException | IOException e) {
            throw new RuntimeException(e.toString());
        }
        return out;
    }

    long trueSnapshotsSize() {
        long total = 0;
        for (Table t : node.tables.values()) {
            Path root = t.dir.resolve("snapshots");
            if (!Files.isDirectory(root)) continue;
            try (DirectoryStream<Path> tags = Files.newDirectoryStream(root)) {
                for (Path d : tags) total += trueSize(t, d);
            } catch (IOException e) {
                // an unreadable snapshot counts as empty
            }
        }
        return total;
    }

    private CompositeType rowType() throws OpenDataException {
        List<String> names = new ArrayList<>(List.of("Snapshot name", "Keyspace name", "Column family name",
                "True size", "Size on disk"));
        List<String> descs = new ArrayList<>(List.of("snapshot_name", "keyspace_name", "columnfamily_name",
                "TrueDiskSpaceUsed", "TotalDiskSpaceUsed"));
        if (node.version.atLeast(Version.Family.V41)) {
            names.addAll(List.of("Creation time", "Expiration time"));
            descs.addAll(List.of("created_at", "expires_at"));
        }
        if (node.version.atLeast(Version.Family.V50)) {
            names.add("Ephemeral");
            descs.add("ephemeral");
        }
        OpenType<?>[] types = new OpenType<?>[names.size()];
        java.util.Arrays.fill(types, SimpleType.STRING);
        return new CompositeType("SnapshotDetails", "SnapshotDetails", names.toArray(new String[0]),
                descs.toArray(new String[0]), types);
    }

    private static Path dir(Table t, String tag) {
        return t.dir.resolve("snapshots").resolve(tag);
    }

    /** Bytes of snapshot SSTable files that are no longer the live file of the same name (index dirs included). */
    private static long trueSize(Table t, Path snapshot) throws IOException {
        long total = 0;
        for (Path f : files(snapshot)) {
            String name = f.getFileName().toString();
            if (name.equals("manifest.json") || name.equals("schema.cql")) continue;
            Path live = t.dir.resolve(snapshot.relativize(f).toString());
            if (Files.exists(live) && Files.isSameFile(live, f)) continue;
            total += Files.size(f);
        }
        return total;
    }

    private static long size(Path dir) throws IOException {
        long total = 0;
        for (Path f : files(dir)) total += Files.size(f);
        return total;
    }

    /** Every regular file under {@code dir}, at any depth. */
    private static List<Path> files(Path dir) throws IOException {
        try (Stream<Path> s = Files.walk(dir)) {
            return s.filter(Files::isRegularFile).collect(java.util.stream.Collectors.toList());
        }
    }

    private static String manifestField(Path snapshot, String field) {
        try {
            String m = Files.readString(snapshot.resolve("manifest.json"));
            java.util.regex.Matcher x = java.util.regex.Pattern.compile("\"" + field + "\"\\s*:\\s*\"([^\"]*)\"").matcher(m);
            if (x.find()) return x.group(1);
        } catch (IOException e) {
            // no manifest: no value
        }
        return null;
    }

    /** FileUtils.stringifyFileSize: "#.##" plus KiB/MiB/GiB/TiB, or "N bytes". */
    static String stringify(double value) {
        DecimalFormat df = new DecimalFormat("#.##");
        double kib = 1024, mib = kib * 1024, gib = mib * 1024, tib = gib * 1024;
        if (value >= tib) return df.format(value / tib) + " TiB";
        if (value >= gib) return df.format(value / gib) + " GiB";
        if (value >= mib) return df.format(value / mib) + " MiB";
        if (value >= kib) return df.format(value / kib) + " KiB";
        return df.format(value) + " bytes";
    }

    private static Duration parseDuration(String s) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("(\\d+)\\s*(d|h|m|s)").matcher(s.trim().toLowerCase());
        if (!m.matches()) throw new IllegalArgumentException("Invalid duration: " + s);
        long n = Long.parseLong(m.group(1));
        switch (m.group(2)) {
            case "d": return Duration.ofDays(n);
            case "h": return Duration.ofHours(n);
            case "m": return Duration.ofMinutes(n);
            default: return Duration.ofSeconds(n);
        }
    }

    static void deleteTree(Path root) throws IOException {
        try (Stream<Path> s = Files.walk(root)) {
            for (Path p : (Iterable<Path>) s.sorted(Comparator.reverseOrder())::iterator) Files.deleteIfExists(p);
        }
    }

}
