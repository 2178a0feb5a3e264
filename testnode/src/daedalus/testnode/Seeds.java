package daedalus.testnode;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/**
 * The {@code --seed ks.t=DIR} flags: at start, copies the SSTables of a fixture directory into a table (or, with
 * {@code ks.t.index=DIR}, into one of its index directories) under fresh generation numbers, and marks them live.
 *
 * <p>Each seed is applied once per data directory: applied seeds are recorded in {@code <data>/.testnode-seeds}, so
 * a node restarted on the same {@code --data-dir} with the same flags serves what is on disk instead of seeding
 * again. Owns that copy and the record file only.
 */
final class Seeds {
    static final String RECORD = ".testnode-seeds";

    private Seeds() {}

    /** Applies every seed; a bad one (unknown table, missing or unreadable fixture) is an IllegalArgumentException. */
    static void apply(Node node, List<String> specs) throws IOException {
        if (specs.isEmpty()) return;
        Path record = node.config.dataDir.resolve(RECORD);
        List<String> applied = Files.exists(record) ? Files.readAllLines(record, StandardCharsets.UTF_8) : new ArrayList<>();
        for (String spec : specs) {
            int eq = spec.indexOf('=');
            if (eq < 0) throw new IllegalArgumentException("--seed " + spec + ": expected keyspace.table=DIR or keyspace.table.index=DIR");
            String[] target = spec.substring(0, eq).split("\\.");
            if (target.length != 2 && target.length != 3) {
                throw new IllegalArgumentException("--seed " + spec + ": expected keyspace.table=DIR or keyspace.table.index=DIR");
            }
            Table table = node.tables.get(target[0] + "." + target[1]);
            if (table == null) {
                throw new IllegalArgumentException("--seed " + spec + ": the node has no table " + target[0] + "." + target[1]
                        + " (declare it in --schema)");
            }
            Path into = table.dir;
            if (target.length == 3) {
                into = table.indexDirs.get(target[2]);
                if (into == null) {
                    throw new IllegalArgumentException("--seed " + spec + ": table " + table.qualified() + " has no index "
                            + target[2] + " (declare it in --schema: index " + target[2] + " on " + table.qualified() + " (column))");
                }
            }
            Path source = Path.of(spec.substring(eq + 1));
            if (!Files.isDirectory(source)) {
                throw new IllegalArgumentException("--seed " + spec + ": directory " + source + " does not exist");
            }
            String line = spec.substring(0, eq) + "=" + source.toRealPath();
            if (applied.contains(line)) continue;
            List<SSTableSet> sets = SSTableSet.list(source);
            if (sets.isEmpty()) throw new IllegalArgumentException("--seed " + spec + ": no SSTables in " + source);
            SSTableImporter.Options plain = new SSTableImporter.Options(false, false, false, false, false, false, true);
            for (SSTableSet s : sets) {
                String problem = node.importer.check(s, plain);
                if (problem != null) throw new IllegalArgumentException("--seed " + spec + ": " + s.key() + ": " + problem);
            }
            synchronized (table) {
                for (SSTableSet s : sets) {
                    String key = s.version + "-" + table.nextGeneration(into) + "-" + s.format;
                    for (var c : s.components.entrySet()) {
                        Files.copy(c.getValue(), into.resolve(key + "-" + c.getKey()), StandardCopyOption.COPY_ATTRIBUTES);
                    }
                    table.live.add(into.equals(table.dir) ? key : table.dir.relativize(into) + "/" + key);
                }
            }
            Files.writeString(record, line + "\n", StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
            applied.add(line);
        }
    }
}
