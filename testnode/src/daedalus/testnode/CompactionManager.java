package daedalus.testnode;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Simulated CompactionManager: compaction-type operations (cleanup, scrub, upgradesstables, verify) register one task
 * per table that lasts {@code --compaction-millis}; {@code Compactions} shows the running ones with advancing
 * completed/total, in Cassandra's map shape (shared/reference/cassandra-jmx.md §3.7).
 *
 * <p>Owns the task list; it does not change files.
 */
final class CompactionManager implements Surfaces.Compactions {
    private static final class Task {
        final Table table;
        final String taskType;
        final long total;
        final long startNanos = System.nanoTime();
        final long millis;
        final String compactionId = UUID.randomUUID().toString();

        Task(Table table, String taskType, long total, long millis) {
            this.table = table;
            this.taskType = taskType;
            this.total = total;
            this.millis = millis;
        }

        long completed() {
            long elapsed = (System.nanoTime() - startNanos) / 1_000_000;
            if (millis <= 0 || elapsed >= millis) return total;
            return total * elapsed / millis;
        }
    }

    private final Map<String, Task> running = new ConcurrentHashMap<>();
    private final Version version;
    private final long millis;

    CompactionManager(Version version, long millis) {
        this.version = version;
        this.millis = millis;
    }

    /** Runs one simulated task per table concurrently and blocks until all finish. Returns status 0 (SUCCESSFUL). */
    int run(String taskType, List<Table> tables) throws InterruptedException {
        List<Task> tasks = new ArrayList<>();
        for (Table t : tables) {
            long total = Math.max(t.liveDataBytes(), 1024L * 1024L);
            Task task = new Task(t, taskType, total, millis);
            tasks.add(task);
            running.put(task.compactionId, task);
        }
        try {
            if (!tasks.isEmpty() && millis > 0) Thread.sleep(millis);
        } finally {
            for (Task t : tasks) running.remove(t.compactionId);
        }
        return 0;
    }

    @Override
    public List<Map<String, String>> getCompactions() {
        List<Map<String, String>> out = new ArrayList<>();
        for (Task t : running.values()) {
            HashMap<String, String> m = new HashMap<>();
            m.put("id", t.table.id.toString());
            m.put("keyspace", t.table.keyspace);
            m.put("columnfamily", t.table.name);
            m.put("completed", Long.toString(t.completed()));
            m.put("total", Long.toString(t.total));
            m.put("taskType", t.taskType);
            m.put("unit", "bytes");
            m.put("compactionId", t.compactionId);
            if (version.atLeast(Version.Family.V40)) {
                synchronized (t.table) {
                    m.put("sstables", String.join(",", new ArrayList<>(t.table.live)));
                }
            }
            if (version.atLeast(Version.Family.V50)) m.put("targetDirectory", t.table.dir.toString());
            out.add(m);
        }
        return out;
    }

    @Override
    public List<String> getCompactionSummary() {
        List<String> out = new ArrayList<>();
        for (Task t : running.values()) {
            out.add(String.format("%s(%s, %s / %s)bytes", t.taskType, t.compactionId, t.completed(), t.total));
        }
        return out;
    }
}
