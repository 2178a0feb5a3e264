package daedalus.testnode;

import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/**
 * The {@code schema.cql} Cassandra writes into every snapshot of a non-system table: a {@code CREATE TABLE IF NOT
 * EXISTS} statement with the table id and its options, then one {@code CREATE INDEX IF NOT EXISTS} per secondary index.
 * 3.11 lays it out as {@code TableCQLHelper.dumpReCreateStatements} does (tab indents, the primary key as its own
 * clause); 4.0+ as {@code SchemaCQLHelper.reCreateStatementsForSchemaCql} does (four-space indents, a single-column
 * key inline). The option list is the defaults of a table created without options. Owns the text only.
 */
final class SchemaCql {
    private SchemaCql() {}

    static String render(Schema.TableDef t, UUID id, Version version) {
        StringBuilder b = new StringBuilder();
        String name = t.keyspace + "." + t.name;
        List<String> options = options(t, version);
        if (version.is311()) {
            b.append("CREATE TABLE IF NOT EXISTS ").append(name).append(" (\n");
            for (Schema.Column c : t.columns) b.append("\t").append(c.name()).append(' ').append(c.type()).append(",\n");
            b.append("\tPRIMARY KEY (").append(primaryKey(t)).append("))\n");
            b.append("\tWITH ID = ").append(id);
            for (String o : options) b.append("\n\tAND ").append(o);
            b.append(";\n");
        } else {
            boolean inline = t.partitionKey.size() == 1 && t.clustering.isEmpty();
            b.append("CREATE TABLE IF NOT EXISTS ").append(name).append(" (\n");
            List<String> lines = new ArrayList<>();
            for (Schema.Column c : t.columns) {
                String line = "    " + c.name() + " " + c.type();
                if (inline && c.name().equals(t.partitionKey.get(0))) line += " PRIMARY KEY";
                lines.add(line);
            }
            if (!inline) lines.add("    PRIMARY KEY (" + primaryKey(t) + ")");
            b.append(String.join(",\n", lines)).append("\n) WITH ID = ").append(id);
            for (String o : options) b.append("\n    AND ").append(o);
            b.append(";\n");
        }
        for (Schema.Index i : t.indexes) {
            b.append("CREATE INDEX IF NOT EXISTS ").append(i.name()).append(" ON ").append(name)
                    .append(" (").append(i.column()).append(");\n");
        }
        return b.toString();
    }

    private static String primaryKey(Schema.TableDef t) {
        String partition = t.partitionKey.size() == 1 ? t.partitionKey.get(0) : "(" + String.join(", ", t.partitionKey) + ")";
        List<String> parts = new ArrayList<>();
        parts.add(partition);
        parts.addAll(t.clustering);
        return String.join(", ", parts);
    }

    private static List<String> options(Schema.TableDef t, Version version) {
        List<String> o = new ArrayList<>();
        if (!t.clustering.isEmpty()) {
            List<String> order = new ArrayList<>();
            for (String c : t.clustering) order.add(c + " ASC");
            o.add("CLUSTERING ORDER BY (" + String.join(", ", order) + ")");
        }
        if (!version.is311()) o.add("additional_write_policy = '99p'");
        if (version.atLeast(Version.Family.V50)) o.add("allow_auto_snapshot = " + t.allowAutoSnapshot);
        o.add("bloom_filter_fp_chance = 0.01");
        o.add("caching = {'keys': 'ALL', 'rows_per_partition': 'NONE'}");
        if (!version.is311()) o.add("cdc = false");
        o.add("comment = ''");
        o.add("compaction = {'class': 'org.apache.cassandra.db.compaction.SizeTieredCompactionStrategy', "
                + "'max_threshold': '32', 'min_threshold': '4'}");
        o.add("compression = {'chunk_length_in_kb': '" + (version.is311() ? "64" : "16")
                + "', 'class': 'org.apache.cassandra.io.compress.LZ4Compressor'}");
        o.add("crc_check_chance = 1.0");
        if (version.is311()) o.add("dclocal_read_repair_chance = 0.1");
        o.add("default_time_to_live = 0");
        if (!version.is311()) o.add("extensions = {}");
        o.add("gc_grace_seconds = 864000");
        if (version.atLeast(Version.Family.V50)) o.add("incremental_backups = true");
        o.add("max_index_interval = 2048");
        o.add("memtable_flush_period_in_ms = 0");
        o.add("min_index_interval = 128");
        if (version.is311()) o.add("read_repair_chance = 0.0");
        else o.add("read_repair = 'BLOCKING'");
        o.add("speculative_retry = '99p'");
        return o;
    }
}
