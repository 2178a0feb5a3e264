package daedalus.testnode;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The keyspaces and tables the node pretends to have (with their columns and secondary indexes), plus its datacenter
 * and rack.
 *
 * <p>File format (one item per line, '#' starts a comment, blank lines ignored):
 * <pre>
 *   datacenter dc1                          # optional, default datacenter1
 *   rack rack1                              # optional, default rack1
 *   keyspace.table                          # a table with the default columns (id int PRIMARY KEY, value text)
 *   keyspace.table (pk text, ck int, v text, PRIMARY KEY (pk, ck))   # columns as in CREATE TABLE
 *   keyspace.table (id int PRIMARY KEY) allow_auto_snapshot=false    # table option (5.0)
 *   index name on keyspace.table (column)   # a secondary index; the table must come first
 *   keyspace name                           # a keyspace without tables
 * </pre>
 * System keyspaces are always added. Owns parsing and the table definitions only; rendering them as CQL is
 * {@link SchemaCql}'s.
 */
public final class Schema {
    /** One column: name and CQL type, as written. */
    record Column(String name, String type) {}

    /** One secondary index on a column; its SSTables live in {@code <table dir>/.<name>/}. */
    record Index(String name, String column) {}

    /** A table's definition: columns in order, partition key and clustering columns, indexes, options. */
    static final class TableDef {
        final String keyspace;
        final String name;
        final List<Column> columns = new ArrayList<>();
        final List<String> partitionKey = new ArrayList<>();
        final List<String> clustering = new ArrayList<>();
        final List<Index> indexes = new ArrayList<>();
        boolean allowAutoSnapshot = true;

        TableDef(String keyspace, String name) {
            this.keyspace = keyspace;
            this.name = name;
        }
    }

    /** Keyspaces Cassandra always has; they are listed by Keyspaces but never by NonSystemKeyspaces. */
    static final Map<String, List<String>> SYSTEM = new LinkedHashMap<>();

    static {
        SYSTEM.put("system", List.of("local", "peers_v2", "compaction_history"));
        SYSTEM.put("system_schema", List.of("keyspaces", "tables"));
        SYSTEM.put("system_auth", List.of("roles"));
        SYSTEM.put("system_distributed", List.of("repair_history"));
        SYSTEM.put("system_traces", List.of("sessions"));
    }

    /** Keyspaces that use LocalStrategy (excluded from NonLocalStrategyKeyspaces). */
    static final List<String> LOCAL_STRATEGY = List.of("system", "system_schema");

    private static final String NAME = "[A-Za-z0-9_]+";
    private static final Pattern TABLE_LINE = Pattern.compile(
            "(" + NAME + ")\\.(" + NAME + ")\\s*(\\((.*)\\))?\\s*((?:\\s*[a-z_]+=[A-Za-z0-9_]+)*)\\s*");
    private static final Pattern INDEX_LINE = Pattern.compile(
            "index\\s+(" + NAME + ")\\s+on\\s+(" + NAME + ")\\.(" + NAME + ")\\s*\\(\\s*(" + NAME + ")\\s*\\)");

    /** User keyspace → its tables, in file order; a keyspace may have none. */
    final Map<String, List<TableDef>> userTables = new LinkedHashMap<>();
    String datacenter = "datacenter1";
    String rack = "rack1";

    static Schema defaults() {
        Schema s = new Schema();
        s.add("spark_test", "test3", "id int PRIMARY KEY, col1 int, col2 int");
        s.add("spark_test", "testtable", "id int PRIMARY KEY");
        for (String v : List.of("da", "md", "me", "nb", "nc", "oa")) {
            s.add("legacy_tables", "legacy_" + v + "_clust", "pk text, ck text, val text, PRIMARY KEY (pk, ck)");
            s.add("legacy_tables", "legacy_" + v + "_clust_counter", "pk text, ck text, val counter, PRIMARY KEY (pk, ck)");
            s.add("legacy_tables", "legacy_" + v + "_simple", "pk text PRIMARY KEY, val text");
            s.add("legacy_tables", "legacy_" + v + "_simple_counter", "pk text PRIMARY KEY, val counter");
        }
        // Only the twelve legacy tables that have fixtures.
        s.userTables.get("legacy_tables").removeIf(t -> !LEGACY_FIXTURES.contains(t.name));
        s.add("ks", "t", null);
        return s;
    }

    private static final List<String> LEGACY_FIXTURES = List.of("legacy_da_clust", "legacy_da_clust_counter",
            "legacy_da_simple", "legacy_da_simple_counter", "legacy_md_simple", "legacy_me_clust", "legacy_me_simple",
            "legacy_nb_clust", "legacy_nb_simple", "legacy_nc_simple", "legacy_oa_clust", "legacy_oa_simple");

    static Schema read(Path file) throws IOException {
        Schema s = new Schema();
        int n = 0;
        for (String raw : Files.readAllLines(file)) {
            n++;
            String line = raw.replaceAll("#.*", "").trim();
            if (line.isEmpty()) continue;
            String where = file + ":" + n + ": ";
            String[] words = line.split("\\s+");
            Matcher index = INDEX_LINE.matcher(line);
            Matcher table = TABLE_LINE.matcher(line);
            if (words.length == 2 && words[0].equals("datacenter")) {
                s.datacenter = words[1];
            } else if (words.length == 2 && words[0].equals("rack")) {
                s.rack = words[1];
            } else if (words.length == 2 && words[0].equals("keyspace") && words[1].matches(NAME)) {
                if (SYSTEM.containsKey(words[1])) throw new IOException(where + "system keyspace " + words[1]);
                s.userTables.computeIfAbsent(words[1], k -> new ArrayList<>());
            } else if (index.matches()) {
                TableDef t = s.find(index.group(2), index.group(3));
                if (t == null) throw new IOException(where + "index on unknown table " + index.group(2) + "." + index.group(3));
                if (t.columns.stream().noneMatch(c -> c.name().equals(index.group(4)))) {
                    throw new IOException(where + "index on unknown column " + index.group(4));
                }
                t.indexes.add(new Index(index.group(1), index.group(4)));
            } else if (table.matches()) {
                if (SYSTEM.containsKey(table.group(1))) throw new IOException(where + "system keyspace " + table.group(1));
                TableDef t;
                try {
                    t = s.add(table.group(1), table.group(2), table.group(4));
                } catch (IllegalArgumentException e) {
                    throw new IOException(where + e.getMessage());
                }
                for (String option : table.group(5).trim().split("\\s+")) {
                    if (option.isEmpty()) continue;
                    if (option.equals("allow_auto_snapshot=false")) t.allowAutoSnapshot = false;
                    else if (option.equals("allow_auto_snapshot=true")) t.allowAutoSnapshot = true;
                    else throw new IOException(where + "unknown table option " + option + " (allow_auto_snapshot=true|false)");
                }
            } else {
                throw new IOException(where + "expected 'keyspace.table [(columns)]', 'index I on keyspace.table (column)', "
                        + "'keyspace K', 'datacenter X' or 'rack X'");
            }
        }
        return s;
    }

    private TableDef find(String ks, String table) {
        for (TableDef t : userTables.getOrDefault(ks, List.of())) if (t.name.equals(table)) return t;
        return null;
    }

    /** Adds (or replaces) a table; {@code columns} is the body of a CREATE TABLE, null for the default columns. */
    private TableDef add(String ks, String table, String columns) {
        TableDef t = new TableDef(ks, table);
        parseColumns(t, columns == null ? "id int PRIMARY KEY, value text" : columns);
        List<TableDef> l = userTables.computeIfAbsent(ks, k -> new ArrayList<>());
        l.removeIf(x -> x.name.equals(table));
        l.add(t);
        return t;
    }

    /** Parses "a int PRIMARY KEY, b text" or "a int, b text, PRIMARY KEY ((a), b)". */
    private static void parseColumns(TableDef t, String body) {
        for (String part : splitTopLevel(body)) {
            String p = part.trim();
            Matcher pk = Pattern.compile("(?i)PRIMARY\\s+KEY\\s*\\((.*)\\)").matcher(p);
            if (pk.matches()) {
                if (!t.partitionKey.isEmpty()) throw new IllegalArgumentException("two primary keys in " + t.name);
                List<String> keys = splitTopLevel(pk.group(1));
                String first = keys.get(0).trim();
                if (first.startsWith("(")) {
                    for (String k : first.substring(1, first.length() - 1).split(",")) t.partitionKey.add(k.trim());
                } else {
                    t.partitionKey.add(first);
                }
                for (int i = 1; i < keys.size(); i++) t.clustering.add(keys.get(i).trim());
                continue;
            }
            String[] words = p.split("\\s+", 2);
            if (words.length != 2 || !words[0].matches(NAME)) throw new IllegalArgumentException("bad column '" + p + "'");
            String type = words[1];
            Matcher inline = Pattern.compile("(?i)(.*?)\\s+PRIMARY\\s+KEY").matcher(type);
            if (inline.matches()) {
                if (!t.partitionKey.isEmpty()) throw new IllegalArgumentException("two primary keys in " + t.name);
                type = inline.group(1);
                t.partitionKey.add(words[0]);
            }
            t.columns.add(new Column(words[0], type.trim()));
        }
        if (t.partitionKey.isEmpty()) throw new IllegalArgumentException("no primary key for " + t.name);
        List<String> keys = new ArrayList<>(t.partitionKey);
        keys.addAll(t.clustering);
        for (String k : keys) {
            if (t.columns.stream().noneMatch(c -> c.name().equals(k))) {
                throw new IllegalArgumentException("primary key column " + k + " is not a column of " + t.name);
            }
        }
    }

    /** Splits on commas that are not inside parentheses or angle brackets. */
    private static List<String> splitTopLevel(String s) {
        List<String> out = new ArrayList<>();
        int depth = 0;
        int start = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '(' || c == '<') depth++;
            else if (c == ')' || c == '>') depth--;
            else if (c == ',' && depth == 0) {
                out.add(s.substring(start, i));
                start = i + 1;
            }
        }
        out.add(s.substring(start));
        return out;
    }
}
