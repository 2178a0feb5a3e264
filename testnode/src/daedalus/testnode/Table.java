package daedalus.testnode;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;

/**
 * One table's on-disk state: its directory {@code <data>/<ks>/<table>-<32 hex id>/}, the directories of its secondary
 * indexes ({@code .<index>/} inside it), the set of SSTables that are "live" (loaded), and generation numbering.
 * Owns nothing about JMX.
 */
final class Table {
    final String keyspace;
    final String name;
    final UUID id;
    final Path dir;
    /** The definition from the schema; null for system tables (they have no schema.cql). */
    final Schema.TableDef def;
    /** Index name → its directory {@code <dir>/.<index>}. */
    final Map<String, Path> indexDirs = new LinkedHashMap<>();
    /**
     * Keys of the SSTables the node considers loaded, relative to {@link #dir}: "nb-3-big" for the table's own,
     * ".idx/nb-1-big" for an index's.
     */
    final Set<String> live = new HashSet<>();
    private long lastGeneration;

    private Table(String keyspace, String name, UUID id, Path dir, Schema.TableDef def) {
        this.keyspace = keyspace;
        this.name = name;
        this.id = id;
        this.dir = dir;
        this.def = def;
    }

    /**
     * Creates (or reuses, if one exists) the table directory and its index directories, and marks every SSTable in
     * them live.
     */
    static Table open(Path dataDir, String keyspace, String name, Schema.TableDef def) throws IOException {
        Path ksDir = Files.createDirectories(dataDir.resolve(keyspace));
        Path existing = null;
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(ksDir, name + "-*")) {
            for (Path p : ds) {
                String suffix = p.getFileName().toString().substring(name.length() + 1);
                if (Files.isDirectory(p) && suffix.matches("[0-9a-f]{32}")) existing = p;
            }
        }
        UUID id;
        Path dir;
        if (existing != null) {
            String hex = existing.getFileName().toString().substring(name.length() + 1);
            id = new UUID(Long.parseUnsignedLong(hex.substring(0, 16), 16), Long.parseUnsignedLong(hex.substring(16), 16));
            dir = existing;
        } else {
            id = UUID.nameUUIDFromBytes((keyspace + "." + name).getBytes(StandardCharsets.UTF_8));
            dir = Files.createDirectories(ksDir.resolve(name + "-" + id.toString().replace("-", "")));
        }
        Table t = new Table(keyspace, name, id, dir.toRealPath(), def);
        if (def != null) {
            for (Schema.Index i : def.indexes) {
                t.indexDirs.put(i.name(), Files.createDirectories(t.dir.resolve("." + i.name())));
            }
        }
        for (Path d : t.sstableDirs()) {
            for (SSTableSet s : SSTableSet.list(d)) t.live.add(t.key(d, s));
        }
        return t;
    }

    /** The table directory followed by its index directories. */
    List<Path> sstableDirs() {
        List<Path> out = new ArrayList<>();
        out.add(dir);
        out.addAll(indexDirs.values());
        return out;
    }

    /** The {@link #live} key of SSTable {@code s} lying in {@code d} (the table dir or one of its index dirs). */
    String key(Path d, SSTableSet s) {
        return d.equals(dir) ? s.key() : dir.relativize(d) + "/" + s.key();
    }

    /** A generation number no SSTable in the table directory uses yet. */
    synchronized long nextGeneration() throws IOException {
        return nextGeneration(dir);
    }

    /** A generation number no SSTable in {@code d} (the table directory or an index directory) uses yet. */
    synchronized long nextGeneration(Path d) throws IOException {
        boolean own = d.equals(dir);
        long max = own ? lastGeneration : 0;
        for (SSTableSet s : SSTableSet.list(d)) {
            max = Math.max(max, s.numericGeneration());
        }
        if (own) lastGeneration = max + 1;
        return max + 1;
    }

    /** The live SSTables in {@code d}, in name order. */
    synchronized List<SSTableSet> liveIn(Path d) throws IOException {
        List<SSTableSet> out = new ArrayList<>();
        for (SSTableSet s : SSTableSet.list(d)) if (live.contains(key(d, s))) out.add(s);
        return out;
    }

    /** Every component file of every live SSTable, relative to the table directory, sorted. */
    synchronized List<String> liveFiles() throws IOException {
        TreeSet<String> out = new TreeSet<>();
        for (Path d : sstableDirs()) {
            for (SSTableSet s : liveIn(d)) {
                for (Path f : s.components.values()) out.add(dir.relativize(f).toString());
            }
        }
        return new ArrayList<>(out);
    }

    /** Number of live SSTables of the table itself (not its indexes), as the LiveSSTableCount metric counts. */
    synchronized int liveCount() {
        try {
            return liveIn(dir).size();
        } catch (IOException e) {
            return 0;
        }
    }

    /** Bytes of every component of the table's live SSTables (the LiveDiskSpaceUsed metric). */
    synchronized long liveDiskBytes() {
        long total = 0;
        try {
            for (SSTableSet s : liveIn(dir)) for (Path f : s.components.values()) total += Files.size(f);
        } catch (IOException e) {
            return total;
        }
        return total;
    }

    /** Total bytes of the live Data.db files (used as the "total" of simulated compactions). */
    synchronized long liveDataBytes() {
        long total = 0;
        try {
            for (SSTableSet s : liveIn(dir)) {
                Path data = s.components.get("Data.db");
                if (data != null) total += Files.size(data);
            }
        } catch (IOException e) {
            return 0;
        }
        return total;
    }

    String qualified() {
        return keyspace + "." + name;
    }
}
