package daedalus.testnode;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.charset.StandardCharsets;
import java.util.HashSet;
import java.util.Set;
import java.util.UUID;

/**
 * One table's on-disk state: its directory {@code <data>/<ks>/<table>-<32 hex id>/}, the set of SSTables that are
 * "live" (loaded), and generation numbering. Owns nothing about JMX.
 */
final class Table {
    final String keyspace;
    final String name;
    final UUID id;
    final Path dir;
    /** Keys ("nb-3-big") of the SSTables the node considers loaded. */
    final Set<String> live = new HashSet<>();
    private long lastGeneration;

    private Table(String keyspace, String name, UUID id, Path dir) {
        this.keyspace = keyspace;
        this.name = name;
        this.id = id;
        this.dir = dir;
    }

    /** Creates (or reuses, if one exists) the table directory and marks every SSTable in it live. */
    static Table open(Path dataDir, String keyspace, String name) throws IOException {
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
        Table t = new Table(keyspace, name, id, dir.toRealPath());
        for (SSTableSet s : SSTableSet.list(t.dir)) {
            t.live.add(s.key());
        }
        return t;
    }

    /** A generation number no SSTable in the table directory uses yet. */
    synchronized long nextGeneration() throws IOException {
        long max = lastGeneration;
        for (SSTableSet s : SSTableSet.list(dir)) {
            max = Math.max(max, s.numericGeneration());
        }
        lastGeneration = max + 1;
        return lastGeneration;
    }

    /** Total bytes of the live Data.db files (used as the "total" of simulated compactions). */
    synchronized long liveDataBytes() {
        long total = 0;
        try {
            for (SSTableSet s : SSTableSet.list(dir)) {
                Path data = s.components.get("Data.db");
                if (data != null && live.contains(s.key())) total += Files.size(data);
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
