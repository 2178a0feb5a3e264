package daedalus.testnode;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One SSTable: the component files sharing {@code <version>-<generation>-<format>-} in one directory.
 *
 * <p>Owns file-name parsing and grouping; it never moves files (see {@link SSTableImporter}).
 */
final class SSTableSet {
    private static final Pattern NAME = Pattern.compile("^([a-z]{2})-([0-9a-z_]+)-(big|bti|[a-z]+)-(.+)$");

    final String version;
    final String generation;
    final String format;
    /** Component name (e.g. "Data.db") → file. */
    final Map<String, Path> components = new TreeMap<>();

    private SSTableSet(String version, String generation, String format) {
        this.version = version;
        this.generation = generation;
        this.format = format;
    }

    /** "nb-1-big": the part of every component name before the component itself. */
    String key() {
        return version + "-" + generation + "-" + format;
    }

    /** Groups the regular files of {@code dir} (not its subdirectories) into SSTable sets, in name order. */
    static List<SSTableSet> list(Path dir) throws IOException {
        Map<String, SSTableSet> sets = new TreeMap<>();
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dir)) {
            for (Path f : files) {
                if (!Files.isRegularFile(f)) continue;
                Matcher m = NAME.matcher(f.getFileName().toString());
                if (!m.matches()) continue;
                SSTableSet s = sets.computeIfAbsent(m.group(1) + "-" + m.group(2) + "-" + m.group(3),
                        k -> new SSTableSet(m.group(1), m.group(2), m.group(3)));
                s.components.put(m.group(4), f);
            }
        }
        return new ArrayList<>(sets.values());
    }

    /** The numeric generation, or -1 for non-numeric (UUID-style) identifiers. */
    long numericGeneration() {
        try {
            return Long.parseLong(generation);
        } catch (NumberFormatException e) {
            return -1;
        }
    }
}
