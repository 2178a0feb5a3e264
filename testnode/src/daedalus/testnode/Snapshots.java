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
 * SSTable files plus a manifest.json. Builds the SnapshotDetails TabularData per version
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
        Instant expires = null;
        if (ttl != null && node.version.atLeast(Version.Family.V41)) {
            Duration d = parseDuration(ttl);
            if (d.getSeconds() < 60) throw new IllegalArgumentException("ttl for snapshot must be at least 60 seconds");
            expires = Instant.now().plus(d);
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
        for (Table t : targets) {
            if (Files.exists(dir(t, tag))) throw new IOException("Snapshot " + tag + " already exists.");
        }
        for (Table t : targets) {
            synchronized (t) {
                Path d = Files.createDirectories(dir(t, tag));
                List<String> files = new ArrayList<>();
                for (SSTableSet s : SSTableSet.list(t.dir)) {
                    if (!t.live.contains(s.key())) continue;
                    for (Path f : s.components.values()) {
                        Path link = d.resolve(f.getFileName());
                        try {
                            Files.createLink(link, f);
                        } catch (IOException | UnsupportedOperationException e) {
                            Files.copy(f, link);
                        }
                        files.add(f.getFileName().toString());
                    }
                }
                StringBuilder m = new StringBuilder("{\"files\":");
                CallLog.json(m, files);
                m.append(",\"created_at\":");
                CallLog.json(m, Instant.now().toString());
                m.append(",\"expires_at\":");
                CallLog.json(m, expires == null ? null : expires.toString());
                Files.writeString(d.resolve("manifest.json"), m.append("}\n").toString());
            }
        }
    }

    /** clearSnapshot: empty tag = every snapshot; no keyspaces = all keyspaces. */
    void clear(String tag, String... keyspaces) throws IOException {
        List<String> kss = keyspaces == null || keyspaces.length == 0 ? node.keyspaces() : List.of(keyspaces);
        for (Table t : node.tables.values()) {
            if (!kss.contains(t.keyspace)) continue;
            Path root = t.dir.resolve("snapshots");
            if (!Files.isDirectory(root)) continue;
            if (tag == null || tag.isEmpty()) deleteTree(root);
            else if (Files.isDirectory(root.resolve(tag))) deleteTree(root.resolve(tag));
        }
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

    /** Bytes of snapshot files that are no longer the live file of the same name. */
    private static long trueSize(Table t, Path snapshot) throws IOException {
        long total = 0;
        try (DirectoryStream<Path> files = Files.newDirectoryStream(snapshot)) {
            for (Path f : files) {
                if (f.getFileName().toString().equals("manifest.json")) continue;
                Path live = t.dir.resolve(f.getFileName());
                if (Files.exists(live) && Files.isSameFile(live, f)) continue;
                total += Files.size(f);
            }
        }
        return total;
    }

    private static long size(Path dir) throws IOException {
        long total = 0;
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dir)) {
            for (Path f : files) if (Files.isRegularFile(f)) total += Files.size(f);
        }
        return total;
    }

    private static String manifestField(Path snapshot, String field) {
        try {
            String m = Files.readString(snapshot.resolve("manifest.json"));
            java.util.regex.Matcher x = java.util.regex.Pattern.compile("\"" + field + "\":\"([^\"]*)\"").matcher(m);
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
