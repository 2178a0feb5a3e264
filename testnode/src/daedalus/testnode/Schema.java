package daedalus.testnode;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The keyspaces and tables the node pretends to have, plus its datacenter and rack.
 *
 * <p>File format (one item per line, '#' starts a comment, blank lines ignored):
 * <pre>
 *   datacenter dc1        # optional, default datacenter1
 *   rack rack1            # optional, default rack1
 *   keyspace.table        # one line per table
 * </pre>
 * System keyspaces are always added. Owns parsing only.
 */
public final class Schema {
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

    final Map<String, List<String>> userTables = new LinkedHashMap<>();
    String datacenter = "datacenter1";
    String rack = "rack1";

    static Schema defaults() {
        Schema s = new Schema();
        s.add("spark_test", "test3");
        s.add("spark_test", "testtable");
        for (String t : List.of("legacy_da_clust", "legacy_da_clust_counter", "legacy_da_simple",
                "legacy_da_simple_counter", "legacy_md_simple", "legacy_me_clust", "legacy_me_simple",
                "legacy_nb_clust", "legacy_nb_simple", "legacy_nc_simple", "legacy_oa_clust", "legacy_oa_simple")) {
            s.add("legacy_tables", t);
        }
        s.add("ks", "t");
        return s;
    }

    static Schema read(Path file) throws IOException {
        Schema s = new Schema();
        int n = 0;
        for (String raw : Files.readAllLines(file)) {
            n++;
            String line = raw.replaceAll("#.*", "").trim();
            if (line.isEmpty()) continue;
            String[] words = line.split("\\s+");
            if (words.length == 2 && words[0].equals("datacenter")) {
                s.datacenter = words[1];
            } else if (words.length == 2 && words[0].equals("rack")) {
                s.rack = words[1];
            } else if (words.length == 1 && line.matches("[A-Za-z0-9_]+\\.[A-Za-z0-9_]+")) {
                String[] kt = line.split("\\.");
                if (SYSTEM.containsKey(kt[0])) throw new IOException(file + ":" + n + ": system keyspace " + kt[0]);
                s.add(kt[0], kt[1]);
            } else {
                throw new IOException(file + ":" + n + ": expected 'keyspace.table', 'datacenter X' or 'rack X'");
            }
        }
        return s;
    }

    private void add(String ks, String table) {
        List<String> l = userTables.computeIfAbsent(ks, k -> new ArrayList<>());
        if (!l.contains(table)) l.add(table);
    }
}
