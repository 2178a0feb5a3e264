package daedalus.testnode;

import java.io.IOException;
import java.io.InputStream;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import javax.management.JMException;
import javax.management.MBeanServer;
import javax.management.ObjectName;

/**
 * Entry point of the test node: parses flags, lays out the data directory, registers the Cassandra-shaped MBeans of
 * the chosen version plus the Faults MBean, serves them over JMX and prints the ready line. A test double only.
 */
public final class Main {
    private Main() {}

    public static void main(String[] args) throws Exception {
        Config c;
        try {
            c = Config.parse(args);
        } catch (IllegalArgumentException e) {
            System.err.println("testnode: " + e.getMessage());
            System.exit(2);
            return;
        }
        Node node;
        JmxServer server;
        try {
            if (c.dataDir == null) {
                c.dataDir = Files.createTempDirectory("testnode-");
                Path temp = c.dataDir;
                Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                    try {
                        Snapshots.deleteTree(temp);
                    } catch (IOException e) {
                        System.err.println("testnode: cannot remove " + temp + ": " + e);
                    }
                }));
            }
            Files.createDirectories(c.dataDir);
            c.dataDir = c.dataDir.toRealPath();
            if (c.callLog == null) c.callLog = c.dataDir.resolve("calls.jsonl");
            Schema schema = c.schemaFile != null ? Schema.read(c.schemaFile) : Schema.defaults();
            node = new Node(c, schema);
            Seeds.apply(node, c.seeds);
            MBeanServer mbs = ManagementFactory.getPlatformMBeanServer();
            register(mbs, node);
            server = JmxServer.start(c, mbs);
            if (node.ring.fromFile) node.ring.startProbing(server.port);
            if (c.pidFile != null) {
                Files.writeString(c.pidFile, ProcessHandle.current().pid() + "\n");
            }
        } catch (IOException | JMException | java.security.GeneralSecurityException | IllegalArgumentException e) {
            System.err.println("testnode: cannot start: " + e);
            System.exit(1);
            return;
        }
        System.out.println("testnode ready port=" + server.port + " version=" + c.version.release() + " data=" + c.dataDir);
        System.out.flush();
        if (c.leaseMillis > 0) startLease(node, c.leaseMillis);
        if (c.watchStdin) {
            InputStream in = System.in;
            byte[] buf = new byte[256];
            try {
                while (in.read(buf) >= 0) {
                    // input is ignored; end of input ends the node
                }
            } catch (IOException e) {
                // treat as end of input
            }
            System.exit(0);
        }
        Thread.currentThread().join();
    }

    static void register(MBeanServer mbs, Node node) throws JMException {
        Version v = node.version;
        add(mbs, node, new StorageService(node), StorageServiceSurface.forVersion(v),
                "org.apache.cassandra.db:type=StorageService", "org.apache.cassandra.service.StorageService");
        add(mbs, node, new RingBeans.Proxy(node), v.is311() ? Surfaces.Proxy311.class : Surfaces.Proxy40.class,
                "org.apache.cassandra.db:type=StorageProxy", "org.apache.cassandra.service.StorageProxy");
        add(mbs, node, node.compactions, Surfaces.Compactions.class,
                "org.apache.cassandra.db:type=CompactionManager", "org.apache.cassandra.db.compaction.CompactionManager");
        String gauge = "org.apache.cassandra.metrics.CassandraMetricsRegistry$JmxGauge";
        // Simulated tasks start at once, so nothing is ever queued: the gauges report no pending work.
        Surfaces.Gauge pending = () -> 0;
        add(mbs, node, pending, Surfaces.Gauge.class,
                "org.apache.cassandra.metrics:type=Compaction,name=PendingTasks", gauge);
        Surfaces.Gauge pendingByTable = () -> new java.util.HashMap<String, java.util.Map<String, Integer>>();
        add(mbs, node, pendingByTable, Surfaces.Gauge.class,
                "org.apache.cassandra.metrics:type=Compaction,name=PendingTasksByTableName", gauge);
        add(mbs, node, new RingBeans.Snitch(node), Surfaces.Snitch.class,
                "org.apache.cassandra.db:type=EndpointSnitchInfo", "org.apache.cassandra.locator.EndpointSnitchInfo");
        Class<?> fd = v.is311() ? Surfaces.FailureDetector311.class
                : v.atLeast(Version.Family.V41) ? Surfaces.FailureDetector41.class : Surfaces.FailureDetector40.class;
        add(mbs, node, new RingBeans.FailureDetector(node), fd,
                "org.apache.cassandra.net:type=FailureDetector", "org.apache.cassandra.gms.FailureDetector");
        Class<?> table = v.is311() ? Surfaces.Table311.class
                : v.atLeast(Version.Family.V50) ? Surfaces.Table50.class : Surfaces.Table40.class;
        for (Table t : node.tables.values()) {
            ColumnFamilyStore cfs = new ColumnFamilyStore(node, t);
            String cls = "org.apache.cassandra.db.ColumnFamilyStore";
            add(mbs, node, cfs, table, "org.apache.cassandra.db:type=Tables,keyspace=" + t.keyspace + ",table=" + t.name, cls);
            add(mbs, node, cfs, table,
                    "org.apache.cassandra.db:type=ColumnFamilies,keyspace=" + t.keyspace + ",columnfamily=" + t.name, cls);
            // TableMetrics registers each metric under type=Table and the older alias type=ColumnFamily.
            for (String type : new String[] {"Table", "ColumnFamily"}) {
                String prefix = "org.apache.cassandra.metrics:type=" + type + ",keyspace=" + t.keyspace + ",scope=" + t.name;
                Surfaces.Gauge count = t::liveCount;
                add(mbs, node, count, Surfaces.Gauge.class, prefix + ",name=LiveSSTableCount", gauge);
                Surfaces.Counter bytes = t::liveDiskBytes;
                add(mbs, node, bytes, Surfaces.Counter.class, prefix + ",name=LiveDiskSpaceUsed",
                        "org.apache.cassandra.metrics.CassandraMetricsRegistry$JmxCounter");
            }
        }
        mbs.registerMBean(node.faults(), new ObjectName("daedalus.testnode:type=Faults"));
    }

    private static void add(MBeanServer mbs, Node node, Object impl, Class<?> surface, String name, String cls)
            throws JMException {
        mbs.registerMBean(Exported.of(impl, surface, name, cls, node), new ObjectName(name));
    }

    private static void startLease(Node node, long millis) {
        Thread t = new Thread(() -> {
            while (true) {
                StorageService.pause(Math.min(millis, 100));
                long last = Math.max(node.lastTouch(), TrackingSockets.lastRead());
                if (System.currentTimeMillis() - last > millis) {
                    System.err.println("testnode: no JMX request for " + millis + " ms, lease expired; exiting");
                    System.exit(0);
                }
            }
        }, "lease");
        t.setDaemon(true);
        t.start();
    }
}
