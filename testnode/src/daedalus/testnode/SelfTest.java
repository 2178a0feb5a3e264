package daedalus.testnode;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.rmi.registry.LocateRegistry;
import java.rmi.registry.Registry;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import javax.management.MBeanInfo;
import javax.management.MBeanOperationInfo;
import javax.management.MBeanServerConnection;
import javax.management.ObjectName;
import javax.management.remote.JMXConnector;
import javax.management.remote.JMXConnectorFactory;
import javax.management.remote.JMXServiceURL;
import javax.rmi.ssl.SslRMIClientSocketFactory;

/**
 * Self-check of the test node, written as a plain JDK JMX client (it uses no server class): starts nodes of several
 * versions as child processes and checks MBean shapes, import, faults, auth, TLS, call log and mode transitions.
 *
 * <p>Usage: {@code java -cp testnode/out/classes daedalus.testnode.SelfTest <fixtures/sstables dir> [keystore pw]}.
 * Exits 1 if any check fails; prints "N passed, M failed".
 */
public final class SelfTest {
    private static final String SS = "org.apache.cassandra.db:type=StorageService";
    private static final String FAULTS = "daedalus.testnode:type=Faults";
    private static final String CM = "org.apache.cassandra.db:type=CompactionManager";

    private static int passed;
    private static int failed;
    private static final List<Process> children = new ArrayList<>();

    /** A started node: its process, port and data directory. */
    private static final class Started {
        Process process;
        int port;
        Path data;
        String host = "127.0.0.1";
    }

    private interface Check {
        void run() throws Exception;
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 1) {
            System.err.println("usage: SelfTest <fixtures/sstables dir> [keystore password]");
            System.exit(2);
        }
        Path fixtures = Path.of(args[0]);
        Path keystore = args.length >= 3 ? Path.of(args[1]) : null;
        String keystorePassword = args.length >= 3 ? args[2] : null;
        Path work = Files.createTempDirectory("testnode-selftest-");
        try {
            CompletableFuture<Started> n41 = start(work, "4.1", "--transition-millis", "400", "--compaction-millis", "600");
            Path md = fixtures.resolve("sstable-to-arrow/baselines/iot-5b608090e03d11ebb4c1d335f841c590");
            Path four = fixtures.resolve("sstable-transformer-input-four/spark_test/test3");
            CompletableFuture<Started> n311 = start(work, "3.11", "--auto-snapshot", "false", "--seed", "ks.t=" + md);
            CompletableFuture<Started> n50 = start(work, "5.0", "--peers", "2");
            Path schema = work.resolve("schema.txt");
            Files.writeString(schema, "# test schema\ndatacenter dc9\nrack r7\napp.users\napp.events  # trailing comment\n"
                    + "index ev_idx on app.events (value)\n");
            CompletableFuture<Started> n40 = start(work, "4.0", "--schema", schema.toString(), "--cluster-name", "c40",
                    "--seed", "app.events=" + four, "--seed", "app.events.ev_idx=" + four);
            Path snapSchema = work.resolve("snap-schema.txt");
            Files.writeString(snapSchema, "spark_test.test3 (id int PRIMARY KEY, col1 int, col2 int)\n"
                    + "index col1_idx on spark_test.test3 (col1)\nkeyspace empty_ks\n"
                    + "app.t2 (pk text, ck int, v text, PRIMARY KEY ((pk, v), ck))\n");
            Path snapData = Files.createTempDirectory(work, "snap-data-");
            String[] snapFlags = {"--schema", snapSchema.toString(), "--data-dir", snapData.toString(),
                "--seed", "spark_test.test3=" + four, "--seed", "spark_test.test3.col1_idx=" + four};
            CompletableFuture<Started> snap41 = start(work, "4.1", snapFlags);
            CompletableFuture<Started> auth = start(work, "4.1.5", "--jmx-user", "cassandra", "--jmx-password", "secret");
            CompletableFuture<Started> tls = keystore == null ? null : start(work, "4.1", "--ssl", "--keystore",
                    keystore.toString(), "--keystore-password", keystorePassword);
            CompletableFuture<Started> advertised = start(work, "4.1", "--hostname-advertised", "cassandra-node.invalid");
            CompletableFuture<Started> leased = start(work, "4.1", "--lease-millis", "300");
            versionChecks(n41.get(), n40.get(), n311.get(), n50.get());
            networkChecks(advertised.get(), leased.get());
            importChecks(n41.get(), fixtures, work);
            faultChecks(n41.get());
            modeChecks(n41.get());
            authChecks(auth.get());
            if (tls != null) tlsChecks(tls.get(), keystore, keystorePassword);
            exitCheck(auth.get());
            snapshotChecks(snap41.get(), four, work, snapFlags);
            versionShapeChecks(n311.get(), n40.get(), n50.get(), four, md);
            seedErrorChecks(work, four);
            ringChecks(work);
        } finally {
            for (Process p : children) p.destroyForcibly();
            deleteTree(work);
        }
        System.out.println(passed + " passed, " + failed + " failed");
        System.exit(failed == 0 ? 0 : 1);
    }

    // ---- checks ----

    private static void versionChecks(Started n41, Started n40, Started n311, Started n50) throws Exception {
        try (JMXConnector c41 = connect(n41.port, null); JMXConnector c40 = connect(n40.port, null);
                JMXConnector c311 = connect(n311.port, null); JMXConnector c50 = connect(n50.port, null)) {
            MBeanServerConnection m41 = c41.getMBeanServerConnection();
            MBeanServerConnection m40 = c40.getMBeanServerConnection();
            MBeanServerConnection m311 = c311.getMBeanServerConnection();
            MBeanServerConnection m50 = c50.getMBeanServerConnection();
            String t = "org.apache.cassandra.db:type=Tables,keyspace=spark_test,table=test3";
            check("3.11 table MBean has no importNewSSTables", () -> eq(List.of(), arities(m311, t, "importNewSSTables")));
            check("4.0 table MBean has import with 7 and 8 args", () -> eq(List.of(7, 8),
                    arities(m40, "org.apache.cassandra.db:type=Tables,keyspace=app,table=users", "importNewSSTables")));
            check("4.1 table MBean has import with 7 and 8 args", () -> eq(List.of(7, 8), arities(m41, t, "importNewSSTables")));
            check("5.0 table MBean has import with 7, 8 and 10 args", () -> eq(List.of(7, 8, 10), arities(m50, t, "importNewSSTables")));
            check("ColumnFamilies name is registered too", () -> eq(List.of(7, 8), arities(m41,
                    "org.apache.cassandra.db:type=ColumnFamilies,keyspace=spark_test,columnfamily=test3", "importNewSSTables")));
            check("3.11 has decommission() and no decommission(boolean)", () -> eq(List.of(0), arities(m311, SS, "decommission")));
            check("4.1 has decommission(boolean) only", () -> eq(List.of(1), arities(m41, SS, "decommission")));
            check("scrub overloads per version", () -> {
                eq(List.of(4, 5, 6, 7), arities(m311, SS, "scrub"));
                eq(List.of(4, 5, 6, 7), arities(m41, SS, "scrub"));
                eq(List.of(5, 6, 7), arities(m50, SS, "scrub"));
            });
            check("upgradeSSTables overloads per version", () -> {
                eq(List.of(3, 4), arities(m311, SS, "upgradeSSTables"));
                eq(List.of(3, 4), arities(m40, SS, "upgradeSSTables"));
                eq(List.of(3, 4, 5), arities(m41, SS, "upgradeSSTables"));
                eq(List.of(3, 4, 5), arities(m50, SS, "upgradeSSTables"));
            });
            check("import signature types are exact", () -> {
                MBeanOperationInfo op = ops(m41, t, "importNewSSTables").stream()
                        .filter(o -> o.getSignature().length == 8).findFirst().orElseThrow();
                eq("java.util.Set", op.getSignature()[0].getType());
                eq("boolean", op.getSignature()[7].getType());
                eq("java.util.List", op.getReturnType());
            });
            check("MBeanInfo names Cassandra's classes", () -> {
                MBeanInfo info = m41.getMBeanInfo(new ObjectName(SS));
                eq("org.apache.cassandra.service.StorageService", info.getClassName());
                eq("org.apache.cassandra.service.StorageServiceMBean", info.getDescriptor().getFieldValue("interfaceClassName"));
            });
            check("HostIdMap present on 4.1, absent on 5.0", () -> {
                truth(m41.getAttribute(new ObjectName(SS), "HostIdMap") instanceof Map);
                expect(() -> m50.getAttribute(new ObjectName(SS), "HostIdMap"), "AttributeNotFoundException", null);
            });
            check("DataPaths absent on 3.11", () -> expect(() -> m311.getAttribute(new ObjectName(t), "DataPaths"),
                    "AttributeNotFoundException", null));
            check("ReleaseVersion per version", () -> {
                eq("4.1.0", m41.getAttribute(new ObjectName(SS), "ReleaseVersion"));
                eq("3.11.20", m311.getAttribute(new ObjectName(SS), "ReleaseVersion"));
            });
            check("getter is not an operation", () -> expect(() -> m41.invoke(new ObjectName(SS), "getOperationMode",
                    new Object[0], new String[0]), "ReflectionException", null));
            check("unknown keyspace: 4.1 IllegalArgumentException, 3.11 IOException", () -> {
                Object[] a = {"nope", new String[0]};
                String[] s = {"java.lang.String", "[Ljava.lang.String;"};
                expect(() -> m41.invoke(new ObjectName(SS), "forceKeyspaceFlush", a, s),
                        "RuntimeMBeanException/java.lang.IllegalArgumentException", "Keyspace nope does not exist");
                expect(() -> m311.invoke(new ObjectName(SS), "forceKeyspaceFlush", a, s),
                        "MBeanException/java.io.IOException", "Keyspace nope does not exist");
            });
            check("unknown table", () -> expect(() -> m41.invoke(new ObjectName(SS), "forceKeyspaceFlush",
                    new Object[] {"ks", new String[] {"zz"}}, new String[] {"java.lang.String", "[Ljava.lang.String;"}),
                    "RuntimeMBeanException/java.lang.IllegalArgumentException", "Unknown keyspace/cf pair (ks.zz)"));
            check("--schema: keyspaces, tables, datacenter and rack", () -> {
                ObjectName ss = new ObjectName(SS);
                eq(List.of("app"), m40.getAttribute(ss, "NonSystemKeyspaces"));
                truth(m40.isRegistered(new ObjectName("org.apache.cassandra.db:type=Tables,keyspace=app,table=events")));
                truth(!m40.isRegistered(new ObjectName(t)));
                eq("dc9", m40.getAttribute(new ObjectName("org.apache.cassandra.db:type=EndpointSnitchInfo"), "Datacenter"));
                eq("r7", m40.getAttribute(new ObjectName("org.apache.cassandra.db:type=EndpointSnitchInfo"), "Rack"));
                eq("c40", m40.getAttribute(ss, "ClusterName"));
            });
            check("--peers: ring maps list every member", () -> {
                ObjectName ss = new ObjectName(SS);
                eq(List.of("127.0.0.1:7000", "127.0.0.2:7000", "127.0.0.3:7000"), m50.getAttribute(ss, "LiveNodesWithPort"));
                eq(48, ((Map<?, ?>) m50.getAttribute(ss, "TokenToEndpointWithPortMap")).size());
                eq(3, ((Map<?, ?>) m50.getAttribute(ss, "EndpointWithPortToHostId")).size());
            });
            check("3.11 loadNewSSTables with an unknown keyspace is an AssertionError", () -> expect(
                    () -> m311.invoke(new ObjectName(SS), "loadNewSSTables", new Object[] {"nope", "t"},
                            new String[] {"java.lang.String", "java.lang.String"}),
                    "RuntimeErrorException/java.lang.AssertionError", "Unknown keyspace nope"));
            check("registry and connector share one port", () -> {
                Registry r = LocateRegistry.getRegistry("127.0.0.1", n41.port);
                String stub = r.lookup("jmxrmi").toString();
                truth(stub.contains(":" + n41.port + "]") || stub.contains(":" + n41.port + ","));
            });
            check("facts", () -> {
                ObjectName ss = new ObjectName(SS);
                eq("NORMAL", m41.getAttribute(ss, "OperationMode"));
                eq("Test Cluster", m41.getAttribute(ss, "ClusterName"));
                truth(((List<?>) m41.getAttribute(ss, "Keyspaces")).contains("spark_test"));
                truth(((List<?>) m41.getAttribute(ss, "LiveNodes")).contains("127.0.0.1"));
                eq("datacenter1", m41.invoke(new ObjectName("org.apache.cassandra.db:type=EndpointSnitchInfo"),
                        "getDatacenter", new Object[] {"127.0.0.1"}, new String[] {"java.lang.String"}));
                eq("UP", ((Map<?, ?>) m41.getAttribute(new ObjectName("org.apache.cassandra.net:type=FailureDetector"),
                        "SimpleStates")).get("/127.0.0.1"));
                eq(0, m41.getAttribute(new ObjectName("org.apache.cassandra.metrics:type=Compaction,name=PendingTasks"), "Value"));
                eq(2, m41.getAttributes(ss, new String[] {"ClusterName", "ReleaseVersion"}).size());
            });
        }
    }

    private static void networkChecks(Started advertised, Started leased) throws Exception {
        check("--hostname-advertised is the host inside the connector stub", () -> {
            Registry r = LocateRegistry.getRegistry("127.0.0.1", advertised.port);
            truth(r.lookup("jmxrmi").toString().contains("cassandra-node.invalid:" + advertised.port));
        });
        check("--lease-millis ends an idle node", () -> {
            truth(leased.process.waitFor(10, TimeUnit.SECONDS));
            eq(0, leased.process.exitValue());
        });
    }

    private static void importChecks(Started n, Path fixtures, Path work) throws Exception {
        Path four = fixtures.resolve("sstable-transformer-input-four/spark_test/test3");
        Path legacy = fixtures.resolve("apache-cassandra-legacy/legacy_tables/legacy_nb_simple");
        try (JMXConnector c = connect(n.port, null)) {
            MBeanServerConnection m = c.getMBeanServerConnection();
            ObjectName table = new ObjectName("org.apache.cassandra.db:type=Tables,keyspace=spark_test,table=test3");
            ObjectName faults = new ObjectName(FAULTS);
            Path tableDir = Path.of((String) ((List<?>) m.getAttribute(table, "DataPaths")).get(0));
            check("DataPaths is <data>/<ks>/<table>-<32 hex>", () -> {
                truth(tableDir.startsWith(n.data));
                truth(tableDir.getFileName().toString().matches("test3-[0-9a-f]{32}"));
            });
            m.invoke(faults, "clearCallLog", new Object[0], new String[0]);

            Path src = copy(four, work.resolve("src-ok/spark_test/test3"));
            check("import of a Murmur3 fixture moves both sets into the table dir", () -> {
                Object r = importDirs(m, table, Set.of(src.toString()), true, false);
                eq(List.of(), r);
                Set<String> names = list(tableDir);
                truth(names.contains("nb-1-big-Data.db") && names.contains("nb-2-big-Data.db"));
                truth(names.contains("nb-1-big-TOC.txt"));
                eq(Set.of(), list(src));
                eq(Files.size(four.resolve("nb-1-big-Data.db")), Files.size(tableDir.resolve("nb-1-big-Data.db")));
            });
            check("second import gets fresh generations and copyData keeps the source", () -> {
                Path again = copy(four, work.resolve("src-copy/spark_test/test3"));
                eq(List.of(), importDirs(m, table, Set.of(again.toString()), true, true));
                truth(list(tableDir).contains("nb-3-big-Data.db") && list(tableDir).contains("nb-4-big-Data.db"));
                truth(list(again).contains("nb-1-big-Data.db"));
            });
            check("call log records the import with booleans", () -> {
                String[] log = (String[]) m.getAttribute(faults, "CallLog");
                String expected = "{\"mbean\":\"org.apache.cassandra.db:type=Tables,keyspace=spark_test,table=test3\","
                        + "\"operation\":\"importNewSSTables\",\"signature\":[\"java.util.Set\",\"boolean\",\"boolean\","
                        + "\"boolean\",\"boolean\",\"boolean\",\"boolean\",\"boolean\"],\"args\":[[\"" + src
                        + "\"],true,true,true,false,false,false,false]}";
                truth(Arrays.asList(log).contains(expected));
                List<String> file = Files.readAllLines(n.data.resolve("calls.jsonl"));
                // The file's line is the same call with its time appended.
                String unstamped = expected.substring(0, expected.length() - 1) + ",\"at\":";
                truth(file.stream().anyMatch(l -> l.startsWith(unstamped) && l.endsWith("}")));
            });
            check("digest mismatch fails the directory (as passed) and leaves it in place", () -> {
                Path bad = copy(four, work.resolve("src-bad/spark_test/test3"));
                Files.writeString(bad.resolve("nb-1-big-Digest.crc32"), "12345");
                String passedAs = bad + "/";
                eq(List.of(passedAs), importDirs(m, table, Set.of(passedAs), true, false));
                truth(list(bad).contains("nb-1-big-Data.db") && list(bad).contains("nb-2-big-Data.db"));
                eq(List.of(), importDirs(m, table, Set.of(passedAs), false, false));
            });
            check("missing TOC component fails when verifying", () -> {
                Path bad = copy(four, work.resolve("src-toc/spark_test/test3"));
                Files.delete(bad.resolve("nb-2-big-Summary.db"));
                eq(List.of(bad.toString()), importDirs(m, table, Set.of(bad.toString()), true, false));
            });
            check("ByteOrdered legacy set is refused; good dir in the same call succeeds", () -> {
                Path bop = copy(legacy, work.resolve("src-bop/spark_test/test3"));
                Path ok = copy(four, work.resolve("src-ok2/spark_test/test3"));
                List<?> r = (List<?>) importDirs(m, table, new HashSet<>(List.of(bop.toString(), ok.toString())), false, false);
                eq(List.of(bop.toString()), r);
                String[] why = (String[]) m.getAttribute(faults, "ImportFailures");
                truth(String.join("\n", why).contains("ByteOrderedPartitioner"));
            });
            check("a directory not named <keyspace>/<table> imports nothing and reports no failure", () -> {
                Path elsewhere = copy(four, work.resolve("src-anywhere"));
                Set<String> before = list(tableDir);
                eq(List.of(), importDirs(m, table, Set.of(elsewhere.toString()), true, false));
                eq(before, list(tableDir));
                truth(list(elsewhere).contains("nb-1-big-Data.db"));
            });
            check("importing the table dir itself skips live SSTables", () -> {
                Set<String> before = list(tableDir);
                eq(List.of(), importDirs(m, table, Set.of(tableDir.toString()), true, false));
                eq(before, list(tableDir));
            });
            check("nonexistent directory throws RuntimeException", () -> expect(
                    () -> importDirs(m, table, Set.of("/nonexistent/x"), true, false),
                    "RuntimeMBeanException/java.lang.RuntimeException", "Directory /nonexistent/x does not exist"));
            check("setFailedImportDirs forces a failure", () -> {
                Path forced = copy(four, work.resolve("src-forced/spark_test/test3"));
                String[] sig = {"[Ljava.lang.String;"};
                m.invoke(faults, "setFailedImportDirs", new Object[] {new String[] {forced.toString()}}, sig);
                eq(List.of(forced.toString()), importDirs(m, table, Set.of(forced.toString()), false, false));
                m.invoke(faults, "setFailedImportDirs", new Object[] {new String[0]}, sig);
                eq(List.of(), importDirs(m, table, Set.of(forced.toString()), false, false));
            });
            check("loadNewSSTables picks up files dropped into the table dir", () -> {
                Path ksT = Path.of((String) ((List<?>) m.getAttribute(new ObjectName(
                        "org.apache.cassandra.db:type=Tables,keyspace=ks,table=t"), "DataPaths")).get(0));
                for (String f : list(four)) if (f.startsWith("nb-2-")) Files.copy(four.resolve(f), ksT.resolve(f.replace("nb-2-", "nb-9-")));
                m.invoke(new ObjectName(SS), "loadNewSSTables", new Object[] {"ks", "t"},
                        new String[] {"java.lang.String", "java.lang.String"});
                truth(list(ksT).contains("nb-10-big-Data.db"));
                truth(!list(ksT).contains("nb-9-big-Data.db"));
            });
            check("snapshot taken, listed and cleared", () -> {
                ObjectName ss = new ObjectName(SS);
                m.invoke(ss, "takeSnapshot", new Object[] {"snap1", new HashMap<String, String>(), new String[] {"spark_test.test3"}},
                        new String[] {"java.lang.String", "java.util.Map", "[Ljava.lang.String;"});
                truth(Files.exists(tableDir.resolve("snapshots/snap1/nb-1-big-Data.db")));
                javax.management.openmbean.TabularData td = (javax.management.openmbean.TabularData)
                        ((Map<?, ?>) m.getAttribute(ss, "SnapshotDetails")).get("snap1");
                javax.management.openmbean.CompositeData row =
                        (javax.management.openmbean.CompositeData) td.values().iterator().next();
                eq("test3", row.get("Column family name"));
                eq("0 bytes", row.get("True size"));
                truth(row.getCompositeType().containsKey("Creation time"));
                truth(!row.getCompositeType().containsKey("Ephemeral"));
                expect(() -> m.invoke(ss, "takeSnapshot", new Object[] {"snap1", new HashMap<String, String>(),
                        new String[] {"spark_test.test3"}}, new String[] {"java.lang.String", "java.util.Map", "[Ljava.lang.String;"}),
                        "MBeanException/java.io.IOException", "Snapshot snap1 already exists.");
                m.invoke(ss, "clearSnapshot", new Object[] {"snap1", new String[0]}, new String[] {"java.lang.String", "[Ljava.lang.String;"});
                truth(!Files.exists(tableDir.resolve("snapshots/snap1")));
            });
        }
    }

    private static void faultChecks(Started n) throws Exception {
        try (JMXConnector c = connect(n.port, null)) {
            MBeanServerConnection m = c.getMBeanServerConnection();
            ObjectName faults = new ObjectName(FAULTS);
            ObjectName ss = new ObjectName(SS);
            Object[] flushArgs = {"ks", new String[0]};
            String[] flushSig = {"java.lang.String", "[Ljava.lang.String;"};
            check("fail with a runtime exception arrives as RuntimeMBeanException", () -> {
                m.invoke(faults, "fail", new Object[] {"forceKeyspaceFlush", "java.lang.IllegalStateException", "boom"},
                        new String[] {"java.lang.String", "java.lang.String", "java.lang.String"});
                expect(() -> m.invoke(ss, "forceKeyspaceFlush", flushArgs, flushSig),
                        "RuntimeMBeanException/java.lang.IllegalStateException", "boom");
            });
            check("fail with a checked exception arrives as MBeanException", () -> {
                m.invoke(faults, "fail", new Object[] {"forceKeyspaceFlush", "java.io.IOException", "disk"},
                        new String[] {"java.lang.String", "java.lang.String", "java.lang.String"});
                expect(() -> m.invoke(ss, "forceKeyspaceFlush", flushArgs, flushSig), "MBeanException/java.io.IOException", "disk");
            });
            check("unknown exception class falls back to RuntimeException; times limits a fault", () -> {
                m.invoke(faults, "fail", new Object[] {"forceKeyspaceFlush", "org.apache.cassandra.exceptions.UnavailableException", "down"},
                        new String[] {"java.lang.String", "java.lang.String", "java.lang.String"});
                m.invoke(faults, "times", new Object[] {"forceKeyspaceFlush", 1}, new String[] {"java.lang.String", "int"});
                expect(() -> m.invoke(ss, "forceKeyspaceFlush", flushArgs, flushSig), "RuntimeMBeanException/java.lang.RuntimeException", "down");
                m.invoke(ss, "forceKeyspaceFlush", flushArgs, flushSig);
            });
            check("fail with an Error arrives as RuntimeErrorException", () -> {
                m.invoke(faults, "fail", new Object[] {"forceKeyspaceFlush", "java.lang.AssertionError", "Unknown keyspace x"},
                        new String[] {"java.lang.String", "java.lang.String", "java.lang.String"});
                expect(() -> m.invoke(ss, "forceKeyspaceFlush", flushArgs, flushSig),
                        "RuntimeErrorException/java.lang.AssertionError", "Unknown keyspace x");
            });
            check("failAs sends a Cassandra-named class the JDK client cannot load", () -> {
                m.invoke(faults, "failAs", new Object[] {"forceKeyspaceFlush", "org.apache.cassandra.exceptions.UnavailableException",
                        "java.lang.RuntimeException", "Cannot achieve consistency level ALL"},
                        new String[] {"java.lang.String", "java.lang.String", "java.lang.String", "java.lang.String"});
                try {
                    m.invoke(ss, "forceKeyspaceFlush", flushArgs, flushSig);
                    throw new AssertionError("nothing thrown");
                } catch (java.rmi.UnmarshalException e) {
                    truth(e.getCause() instanceof ClassNotFoundException);
                    truth(e.getCause().getMessage().contains("org.apache.cassandra.exceptions.UnavailableException"));
                }
                m.invoke(faults, "clear", new Object[0], new String[0]);
            });
            check("delay holds the call at least that long", () -> {
                m.invoke(faults, "delay", new Object[] {"forceKeyspaceFlush", 300L}, new String[] {"java.lang.String", "long"});
                long t0 = System.nanoTime();
                m.invoke(ss, "forceKeyspaceFlush", flushArgs, flushSig);
                truth((System.nanoTime() - t0) / 1_000_000 >= 300);
                m.invoke(faults, "clear", new Object[0], new String[0]);
            });
            check("fault on an attribute read", () -> {
                m.invoke(faults, "fail", new Object[] {"OperationMode", "java.lang.IllegalStateException", "no mode"},
                        new String[] {"java.lang.String", "java.lang.String", "java.lang.String"});
                expect(() -> m.getAttribute(ss, "OperationMode"), "RuntimeMBeanException/java.lang.IllegalStateException", "no mode");
                m.invoke(faults, "clear", new Object[0], new String[0]);
            });
            check("hang blocks until clear", () -> {
                m.invoke(faults, "hang", new Object[] {"forceKeyspaceFlush"}, new String[] {"java.lang.String"});
                CompletableFuture<Object> call = CompletableFuture.supplyAsync(() -> {
                    try {
                        return m.invoke(ss, "forceKeyspaceFlush", flushArgs, flushSig);
                    } catch (Exception e) {
                        return e;
                    }
                });
                waitFor(() -> ((Integer) m.getAttribute(faults, "HungCalls")) == 1);
                truth(!call.isDone());
                m.invoke(faults, "clear", new Object[0], new String[0]);
                eq(null, call.get(10, TimeUnit.SECONDS));
            });
        }
        check("dropConnection closes the caller's socket mid-call", () -> {
            try (JMXConnector c = connect(n.port, null)) {
                MBeanServerConnection m = c.getMBeanServerConnection();
                m.invoke(new ObjectName(FAULTS), "dropConnection", new Object[] {"forceKeyspaceFlush"}, new String[] {"java.lang.String"});
                expect(() -> m.invoke(new ObjectName(SS), "forceKeyspaceFlush", new Object[] {"ks", new String[0]},
                        new String[] {"java.lang.String", "[Ljava.lang.String;"}), "IOException", null);
            }
            try (JMXConnector c = connect(n.port, null)) {
                c.getMBeanServerConnection().invoke(new ObjectName(FAULTS), "clear", new Object[0], new String[0]);
                eq("NORMAL", c.getMBeanServerConnection().getAttribute(new ObjectName(SS), "OperationMode"));
            }
        });
    }

    private static void modeChecks(Started n) throws Exception {
        try (JMXConnector c = connect(n.port, null); JMXConnector c2 = connect(n.port, null)) {
            MBeanServerConnection m = c.getMBeanServerConnection();
            MBeanServerConnection poll = c2.getMBeanServerConnection();
            ObjectName ss = new ObjectName(SS);
            check("cleanup shows in Compactions with progress, returns 0", () -> {
                CompletableFuture<Object> call = async(() -> m.invoke(ss, "forceKeyspaceCleanup",
                        new Object[] {1, "spark_test", new String[] {"test3"}},
                        new String[] {"int", "java.lang.String", "[Ljava.lang.String;"}));
                waitFor(() -> !((List<?>) poll.getAttribute(new ObjectName(CM), "Compactions")).isEmpty());
                Map<?, ?> task = (Map<?, ?>) ((List<?>) poll.getAttribute(new ObjectName(CM), "Compactions")).get(0);
                eq("Cleanup", task.get("taskType"));
                eq("test3", task.get("columnfamily"));
                long first = Long.parseLong((String) task.get("completed"));
                long total = Long.parseLong((String) task.get("total"));
                truth(first < total);
                // completed advances while the task is still listed.
                waitFor(() -> {
                    List<?> now = (List<?>) poll.getAttribute(new ObjectName(CM), "Compactions");
                    if (now.isEmpty()) throw new AssertionError("task ended before completed advanced");
                    return Long.parseLong((String) ((Map<?, ?>) now.get(0)).get("completed")) > first;
                });
                eq(0, call.get(10, TimeUnit.SECONDS));
                eq(List.of(), poll.getAttribute(new ObjectName(CM), "Compactions"));
            });
            check("scrub and upgradesstables show in Compactions under their task types", () -> {
                CompletableFuture<Object> scrub = async(() -> m.invoke(ss, "scrub",
                        new Object[] {false, false, true, false, 1, "spark_test", new String[] {"test3"}},
                        new String[] {"boolean", "boolean", "boolean", "boolean", "int", "java.lang.String",
                            "[Ljava.lang.String;"}));
                waitFor(() -> !((List<?>) poll.getAttribute(new ObjectName(CM), "Compactions")).isEmpty());
                eq("Scrub", ((Map<?, ?>) ((List<?>) poll.getAttribute(new ObjectName(CM), "Compactions")).get(0)).get("taskType"));
                eq(0, scrub.get(10, TimeUnit.SECONDS));
                CompletableFuture<Object> upgrade = async(() -> m.invoke(ss, "upgradeSSTables",
                        new Object[] {"spark_test", true, 1, new String[] {"test3"}},
                        new String[] {"java.lang.String", "boolean", "int", "[Ljava.lang.String;"}));
                waitFor(() -> !((List<?>) poll.getAttribute(new ObjectName(CM), "Compactions")).isEmpty());
                eq("Upgrade sstables",
                        ((Map<?, ?>) ((List<?>) poll.getAttribute(new ObjectName(CM), "Compactions")).get(0)).get("taskType"));
                eq(0, upgrade.get(10, TimeUnit.SECONDS));
            });
            check("drain: NORMAL -> DRAINING -> DRAINED", () -> {
                CompletableFuture<Object> call = async(() -> m.invoke(ss, "drain", new Object[0], new String[0]));
                waitFor(() -> "DRAINING".equals(poll.getAttribute(ss, "OperationMode")));
                eq(null, call.get(10, TimeUnit.SECONDS));
                eq("DRAINED", poll.getAttribute(ss, "OperationMode"));
                eq(true, poll.getAttribute(ss, "Drained"));
            });
            check("decommission refused unless NORMAL", () -> expect(() -> m.invoke(ss, "decommission",
                    new Object[] {true}, new String[] {"boolean"}), "RuntimeMBeanException/java.lang.UnsupportedOperationException",
                    "Node in DRAINED state; wait for status to become normal or restart"));
            check("decommission: NORMAL -> LEAVING -> DECOMMISSIONED", () -> {
                m.invoke(new ObjectName(FAULTS), "setOperationMode", new Object[] {"NORMAL"}, new String[] {"java.lang.String"});
                CompletableFuture<Object> call = async(() -> m.invoke(ss, "decommission", new Object[] {true}, new String[] {"boolean"}));
                waitFor(() -> "LEAVING".equals(poll.getAttribute(ss, "OperationMode")));
                eq(null, call.get(10, TimeUnit.SECONDS));
                eq("DECOMMISSIONED", poll.getAttribute(ss, "OperationMode"));
            });
        }
    }

    private static void authChecks(Started n) throws Exception {
        check("no credentials rejected", () -> expect(() -> connect(n.port, null), "SecurityException", null));
        check("wrong password rejected", () -> expect(() -> connect(n.port, new String[] {"cassandra", "nope"}),
                "SecurityException", "Authentication failed! Invalid username or password"));
        check("right password accepted; full release version reported", () -> {
            try (JMXConnector c = connect(n.port, new String[] {"cassandra", "secret"})) {
                eq("4.1.5", c.getMBeanServerConnection().getAttribute(new ObjectName(SS), "ReleaseVersion"));
            }
        });
    }

    private static void tlsChecks(Started n, Path keystore, String password) throws Exception {
        check("TLS on registry and connector", () -> {
            Map<String, Object> env = new HashMap<>();
            env.put("com.sun.jndi.rmi.factory.socket", new SslRMIClientSocketFactory());
            JMXServiceURL url = new JMXServiceURL("service:jmx:rmi:///jndi/rmi://127.0.0.1:" + n.port + "/jmxrmi");
            try (JMXConnector c = JMXConnectorFactory.connect(url, env)) {
                eq("NORMAL", c.getMBeanServerConnection().getAttribute(new ObjectName(SS), "OperationMode"));
            }
            expect(() -> connect(n.port, null), "IOException", null);
        });
        check("dropConnection under TLS", () -> {
            Map<String, Object> env = new HashMap<>();
            env.put("com.sun.jndi.rmi.factory.socket", new SslRMIClientSocketFactory());
            JMXServiceURL url = new JMXServiceURL("service:jmx:rmi:///jndi/rmi://127.0.0.1:" + n.port + "/jmxrmi");
            try (JMXConnector c = JMXConnectorFactory.connect(url, env)) {
                MBeanServerConnection m = c.getMBeanServerConnection();
                m.invoke(new ObjectName(FAULTS), "dropConnection", new Object[] {"trueSnapshotsSize"}, new String[] {"java.lang.String"});
                expect(() -> m.invoke(new ObjectName(SS), "trueSnapshotsSize", new Object[0], new String[0]), "IOException", null);
            }
        });
    }

    private static void exitCheck(Started n) throws Exception {
        check("exit fault halts the process with the status", () -> {
            JMXConnector c = connect(n.port, new String[] {"cassandra", "secret"});
            MBeanServerConnection m = c.getMBeanServerConnection();
            m.invoke(new ObjectName(FAULTS), "exit", new Object[] {"drain", 7}, new String[] {"java.lang.String", "int"});
            expect(() -> m.invoke(new ObjectName(SS), "drain", new Object[0], new String[0]), "IOException", null);
            try {
                c.close();
            } catch (IOException expected) {
                // the server is gone
            }
            truth(n.process.waitFor(10, TimeUnit.SECONDS));
            eq(7, n.process.exitValue());
        });
    }


    private static final String[] STR2 = {"java.lang.String", "java.lang.String"};
    private static final String[] SNAP_SIG = {"java.lang.String", "java.util.Map", "[Ljava.lang.String;"};

    private static void takeSnapshot(MBeanServerConnection m, String tag, String... entities) throws Exception {
        m.invoke(new ObjectName(SS), "takeSnapshot", new Object[] {tag, new HashMap<String, String>(), entities}, SNAP_SIG);
    }

    private static List<String> live(MBeanServerConnection m, String ks, String table) throws Exception {
        return Arrays.asList((String[]) m.invoke(new ObjectName(FAULTS), "liveSSTables", new Object[] {ks, table}, STR2));
    }

    private static Object metric(MBeanServerConnection m, String ks, String table, String name, String attribute)
            throws Exception {
        return m.getAttribute(new ObjectName("org.apache.cassandra.metrics:type=Table,keyspace=" + ks + ",scope=" + table
                + ",name=" + name), attribute);
    }

    private static long dirBytes(Path dir) throws IOException {
        long total = 0;
        for (String f : list(dir)) total += Files.size(dir.resolve(f));
        return total;
    }

    private static void snapshotChecks(Started n, Path four, Path work, String[] flags) throws Exception {
        Path tableDir;
        List<String> liveBefore;
        try (JMXConnector c = connect(n.port, null)) {
            MBeanServerConnection m = c.getMBeanServerConnection();
            ObjectName ss = new ObjectName(SS);
            ObjectName table = new ObjectName("org.apache.cassandra.db:type=Tables,keyspace=spark_test,table=test3");
            tableDir = Path.of((String) ((List<?>) m.getAttribute(table, "DataPaths")).get(0));
            check("--seed copies a fixture into the table and an index dir under fresh generations", () -> {
                List<String> files = live(m, "spark_test", "test3");
                truth(files.contains("nb-1-big-Data.db") && files.contains("nb-2-big-Data.db"));
                truth(files.contains(".col1_idx/nb-1-big-Data.db") && files.contains(".col1_idx/nb-2-big-TOC.txt"));
                eq(2 * list(four).size(), files.size());
                eq(list(four), list(tableDir));
                truth(list(four).contains("nb-1-big-Data.db")); // a copy: the fixture keeps its files
            });
            check("LiveSSTableCount and LiveDiskSpaceUsed metrics (type=Table and type=ColumnFamily)", () -> {
                eq(2, metric(m, "spark_test", "test3", "LiveSSTableCount", "Value"));
                eq(dirBytes(four), metric(m, "spark_test", "test3", "LiveDiskSpaceUsed", "Count"));
                eq(2, m.getAttribute(new ObjectName("org.apache.cassandra.metrics:type=ColumnFamily,keyspace=spark_test,"
                        + "scope=test3,name=LiveSSTableCount"), "Value"));
                eq(0, metric(m, "app", "t2", "LiveSSTableCount", "Value"));
            });
            check("takeSnapshot hard-links table and index SSTables, writes 4.1 manifest.json and schema.cql", () -> {
                takeSnapshot(m, "b1", "spark_test");
                Path d = tableDir.resolve("snapshots/b1");
                truth(Files.isSameFile(d.resolve("nb-1-big-Data.db"), tableDir.resolve("nb-1-big-Data.db")));
                truth(Files.isSameFile(d.resolve(".col1_idx/nb-2-big-Index.db"), tableDir.resolve(".col1_idx/nb-2-big-Index.db")));
                String manifest = Files.readString(d.resolve("manifest.json"));
                truth(manifest.matches("\\{\"files\":\\[\"nb-1-big-Data.db\",\"nb-2-big-Data.db\",\".col1_idx/nb-1-big-Data.db\","
                        + "\".col1_idx/nb-2-big-Data.db\"\\],\"created_at\":\"\\d{4}-\\d\\d-\\d\\dT[0-9:.]+Z\",\"expires_at\":null\\}"));
                String cql = Files.readString(d.resolve("schema.cql"));
                String id = tableDir.getFileName().toString().replaceAll("test3-(\\w{8})(\\w{4})(\\w{4})(\\w{4})(\\w{12})",
                        "$1-$2-$3-$4-$5");
                truth(cql.startsWith("CREATE TABLE IF NOT EXISTS spark_test.test3 (\n    id int PRIMARY KEY,\n    col1 int,\n"
                        + "    col2 int\n) WITH ID = " + id + "\n    AND "));
                truth(cql.endsWith(";\nCREATE INDEX IF NOT EXISTS col1_idx ON spark_test.test3 (col1);\n"));
                Path t2 = Path.of((String) ((List<?>) m.getAttribute(new ObjectName(
                        "org.apache.cassandra.db:type=Tables,keyspace=app,table=t2"), "DataPaths")).get(0));
                takeSnapshot(m, "b2", "app.t2");
                eq("{\"files\":[],", Files.readString(t2.resolve("snapshots/b2/manifest.json")).substring(0, 12));
                truth(Files.readString(t2.resolve("snapshots/b2/schema.cql")).contains(
                        "    PRIMARY KEY ((pk, v), ck)\n) WITH ID = "));
                truth(Files.readString(t2.resolve("snapshots/b2/schema.cql")).contains("    AND CLUSTERING ORDER BY (ck ASC)\n"));
            });
            check("SnapshotDetails lists the snapshot per table; the tag is taken for the whole keyspace", () -> {
                Map<?, ?> details = (Map<?, ?>) m.getAttribute(ss, "SnapshotDetails");
                javax.management.openmbean.TabularData td = (javax.management.openmbean.TabularData) details.get("b1");
                eq(1, td.size());
                javax.management.openmbean.CompositeData row = (javax.management.openmbean.CompositeData) td.values().iterator().next();
                eq("0 bytes", row.get("True size"));
                truth(((String) row.get("Creation time")).endsWith("Z"));
                expect(() -> { takeSnapshot(m, "b1", "spark_test.test3"); return null; },
                        "MBeanException/java.io.IOException", "Snapshot b1 already exists.");
            });
            check("a snapshot of a keyspace without tables succeeds and lists nothing", () -> {
                truth(((List<?>) m.getAttribute(ss, "NonSystemKeyspaces")).contains("empty_ks"));
                takeSnapshot(m, "e1", "empty_ks");
                truth(!((Map<?, ?>) m.getAttribute(ss, "SnapshotDetails")).containsKey("e1"));
            });
            check("system tables get manifest.json but no schema.cql", () -> {
                takeSnapshot(m, "s1", "system_schema.tables");
                Path sys = Path.of(n.data.toString(), "system_schema");
                Path snap = Files.list(sys).filter(p -> p.getFileName().toString().startsWith("tables-")).findFirst()
                        .orElseThrow().resolve("snapshots/s1");
                truth(Files.exists(snap.resolve("manifest.json")));
                truth(!Files.exists(snap.resolve("schema.cql")));
            });
            check("clearSnapshot removes the tag's directories, index dirs included", () -> {
                m.invoke(ss, "clearSnapshot", new Object[] {"b1", new String[] {"spark_test"}},
                        new String[] {"java.lang.String", "[Ljava.lang.String;"});
                truth(!Files.exists(tableDir.resolve("snapshots/b1")));
                truth(((Map<?, ?>) m.getAttribute(ss, "SnapshotDetails")).containsKey("b2"));
            });
            check("truncate takes truncated-<millis>-<table> first, then drops table and index SSTables", () -> {
                long before = System.currentTimeMillis();
                m.invoke(ss, "truncate", new Object[] {"spark_test", "test3"}, STR2);
                eq(List.of(), live(m, "spark_test", "test3"));
                eq(0, metric(m, "spark_test", "test3", "LiveSSTableCount", "Value"));
                truth(list(tableDir).isEmpty());
                List<Path> snaps = Files.list(tableDir.resolve("snapshots")).collect(java.util.stream.Collectors.toList());
                eq(1, snaps.size());
                String tag = snaps.get(0).getFileName().toString();
                truth(tag.matches("truncated-\\d+-test3"));
                long millis = Long.parseLong(tag.split("-")[1]);
                truth(millis >= before && millis <= System.currentTimeMillis());
                eq(list(four), list(snaps.get(0)).stream().filter(f -> f.startsWith("nb-"))
                        .collect(java.util.stream.Collectors.toSet()));
                eq(list(four), list(snaps.get(0).resolve(".col1_idx")));
            });
            check("loadNewSSTables loads SSTables hard-linked back into the table and index dirs", () -> {
                Path snap = Files.list(tableDir.resolve("snapshots")).findFirst().orElseThrow();
                for (String f : list(snap)) if (f.startsWith("nb-")) Files.createLink(tableDir.resolve(f), snap.resolve(f));
                for (String f : list(snap.resolve(".col1_idx"))) {
                    Files.createLink(tableDir.resolve(".col1_idx").resolve(f), snap.resolve(".col1_idx").resolve(f));
                }
                m.invoke(ss, "loadNewSSTables", new Object[] {"spark_test", "test3"}, STR2);
                List<String> files = live(m, "spark_test", "test3");
                eq(2 * list(four).size(), files.size());
                truth(files.contains("nb-3-big-Data.db") && files.contains("nb-4-big-Data.db"));
                truth(files.contains(".col1_idx/nb-1-big-Data.db"));
                eq(Files.size(four.resolve("nb-1-big-Data.db")), Files.size(tableDir.resolve("nb-3-big-Data.db")));
                eq(dirBytes(four), metric(m, "spark_test", "test3", "LiveDiskSpaceUsed", "Count"));
            });
            liveBefore = live(m, "spark_test", "test3");
        }
        check("a node restarted on its data dir and port serves the SSTables it finds; seeds are not applied twice", () -> {
            n.process.getOutputStream().close();
            truth(n.process.waitFor(10, TimeUnit.SECONDS));
            // On the same port, as a restart script would start it.
            List<String> same = new ArrayList<>(List.of(flags));
            same.addAll(List.of("--port", Integer.toString(n.port)));
            Started again = start(work, "4.1", same.toArray(new String[0])).get(20, TimeUnit.SECONDS);
            eq(n.port, again.port);
            try (JMXConnector c = connect(again.port, null)) {
                MBeanServerConnection m = c.getMBeanServerConnection();
                eq(liveBefore, live(m, "spark_test", "test3"));
                eq(2, metric(m, "spark_test", "test3", "LiveSSTableCount", "Value"));
                truth(((Map<?, ?>) m.getAttribute(new ObjectName(SS), "SnapshotDetails")).keySet().stream()
                        .anyMatch(k -> ((String) k).startsWith("truncated-")));
            }
        });
    }

    private static void versionShapeChecks(Started n311, Started n40, Started n50, Path four, Path md) throws Exception {
        try (JMXConnector c311 = connect(n311.port, null); JMXConnector c40 = connect(n40.port, null);
                JMXConnector c50 = connect(n50.port, null)) {
            MBeanServerConnection m311 = c311.getMBeanServerConnection();
            MBeanServerConnection m40 = c40.getMBeanServerConnection();
            MBeanServerConnection m50 = c50.getMBeanServerConnection();
            check("3.11: manifest {\"files\":[...]} and schema.cql with tabs and a PRIMARY KEY clause", () -> {
                takeSnapshot(m311, "v1", "ks.t");
                Path t = Path.of(n311.data.toString(), "ks");
                Path d = Files.list(t).findFirst().orElseThrow().resolve("snapshots/v1");
                eq("{\"files\":[\"md-1-big-Data.db\"]}\n", Files.readString(d.resolve("manifest.json")));
                truth(Files.readString(d.resolve("schema.cql")).startsWith(
                        "CREATE TABLE IF NOT EXISTS ks.t (\n\tid int,\n\tvalue text,\n\tPRIMARY KEY (id))\n\tWITH ID = "));
            });
            check("--auto-snapshot false: truncate takes no snapshot", () -> {
                eq(List.of("md-1-big-CRC.db", "md-1-big-Data.db"), live(m311, "ks", "t").subList(0, 2));
                m311.invoke(new ObjectName(SS), "truncate", new Object[] {"ks", "t"}, STR2);
                eq(List.of(), live(m311, "ks", "t"));
                eq(Set.of("v1"), ((Map<?, ?>) m311.getAttribute(new ObjectName(SS), "SnapshotDetails")).keySet());
            });
            check("4.0: manifest lists index Data.db files as json-simple writes them (\"\\/\")", () -> {
                takeSnapshot(m40, "v1", "app.events");
                Path t = Path.of((String) ((List<?>) m40.getAttribute(new ObjectName(
                        "org.apache.cassandra.db:type=Tables,keyspace=app,table=events"), "DataPaths")).get(0));
                eq("{\"files\":[\"nb-1-big-Data.db\",\"nb-2-big-Data.db\",\".ev_idx\\/nb-1-big-Data.db\","
                        + "\".ev_idx\\/nb-2-big-Data.db\"]}\n", Files.readString(t.resolve("snapshots/v1/manifest.json")));
                truth(Files.readString(t.resolve("snapshots/v1/schema.cql")).endsWith(
                        "CREATE INDEX IF NOT EXISTS ev_idx ON app.events (value);\n"));
            });
            check("5.0: pretty-printed manifest with ephemeral; clearSnapshot older_than options", () -> {
                takeSnapshot(m50, "v1", "ks.t");
                Path t = Path.of((String) ((List<?>) m50.getAttribute(new ObjectName(
                        "org.apache.cassandra.db:type=Tables,keyspace=ks,table=t"), "DataPaths")).get(0));
                String manifest = Files.readString(t.resolve("snapshots/v1/manifest.json"));
                truth(manifest.matches("\\{\n  \"files\" : \\[ \\],\n  \"created_at\" : \"[0-9TZ:.-]+\",\n"
                        + "  \"expires_at\" : null,\n  \"ephemeral\" : false\n}"));
                truth(Files.readString(t.resolve("snapshots/v1/schema.cql")).contains("    AND allow_auto_snapshot = true\n"));
                String[] sig = {"java.util.Map", "java.lang.String", "[Ljava.lang.String;"};
                ObjectName ss = new ObjectName(SS);
                m50.invoke(ss, "clearSnapshot", new Object[] {new HashMap<>(Map.of("older_than", "1h")), "", new String[0]}, sig);
                truth(Files.exists(t.resolve("snapshots/v1")));
                expect(() -> m50.invoke(ss, "clearSnapshot", new Object[] {new HashMap<>(Map.of("older_than", "1h",
                        "older_than_timestamp", "2020-01-01T00:00:00Z")), "", new String[0]}, sig),
                        "RuntimeMBeanException/java.lang.IllegalArgumentException", null);
                String future = java.time.Instant.now().plusSeconds(60).toString();
                m50.invoke(ss, "clearSnapshot", new Object[] {new HashMap<>(Map.of("older_than_timestamp", future)), "",
                    new String[] {"ks"}}, sig);
                truth(!Files.exists(t.resolve("snapshots/v1")));
            });
        }
    }

    /** Starts a node that must refuse to start; returns its stderr. */
    private static String startFailure(Path work, String... extra) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-cp", System.getProperty("java.class.path"),
                "daedalus.testnode.Main", "--port", "0", "--data-dir", Files.createTempDirectory(work, "bad-").toString()));
        cmd.addAll(List.of(extra));
        Process p = new ProcessBuilder(cmd).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        children.add(p);
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        truth(p.waitFor(20, TimeUnit.SECONDS));
        truth(p.exitValue() != 0);
        return err;
    }

    private static void seedErrorChecks(Path work, Path four) throws Exception {
        check("--seed refuses an unknown table, a missing directory, a format the version cannot read", () -> {
            truth(startFailure(work, "--seed", "nope.t=" + four).contains("the node has no table nope.t"));
            truth(startFailure(work, "--seed", "ks.t=" + work.resolve("missing")).contains("does not exist"));
            truth(startFailure(work, "--cassandra-version", "3.11", "--seed", "ks.t=" + four)
                    .contains("is not readable by Cassandra 3.11.20"));
            truth(startFailure(work, "--seed", "ks.t.idx=" + four).contains("has no index idx"));
        });
    }

    private static void ringChecks(Path work) throws Exception {
        String[] ids = {"11111111-1111-1111-1111-111111111111", "22222222-2222-2222-2222-222222222222",
            "33333333-3333-3333-3333-333333333333"};
        Path ring = work.resolve("ring.txt");
        Files.writeString(ring, "# address host-id dc rack tokens\n"
                + "127.0.0.2 " + ids[0] + " dc1 r1 -9000000000000000000,-3000000000000000000\n"
                + "127.0.0.3 " + ids[1] + " dc1 r2 -6000000000000000000,0\n"
                + "127.0.0.4 " + ids[2] + " dc2 r1 6000000000000000000,3000000000000000000\n");
        check("--ring: a node whose address is not in the ring file refuses to start", () -> truth(
                startFailure(work, "--ring", ring.toString(), "--host", "127.0.0.5")
                        .contains("no line for this node's address 127.0.0.5")));
        Started a = start(work, "4.1", "--ring", ring.toString(), "--host", "127.0.0.2").get(20, TimeUnit.SECONDS);
        String port = Integer.toString(a.port);
        CompletableFuture<Started> fb = start(work, "4.1", "--ring", ring.toString(), "--host", "127.0.0.3", "--port", port);
        CompletableFuture<Started> fc = start(work, "4.1", "--ring", ring.toString(), "--host", "127.0.0.4", "--port", port);
        Started b = fb.get(20, TimeUnit.SECONDS);
        Started cNode = fc.get(20, TimeUnit.SECONDS);
        check("three nodes on 127.0.0.2-4 share one port", () -> {
            eq(a.port, b.port);
            eq(a.port, cNode.port);
        });
        JMXConnector cc = connect("127.0.0.4", a.port, null);
        try (JMXConnector ca = connect("127.0.0.2", a.port, null); JMXConnector cb = connect("127.0.0.3", a.port, null)) {
            MBeanServerConnection ma = ca.getMBeanServerConnection();
            MBeanServerConnection mb = cb.getMBeanServerConnection();
            MBeanServerConnection mc = cc.getMBeanServerConnection();
            ObjectName ss = new ObjectName(SS);
            ObjectName snitch = new ObjectName("org.apache.cassandra.db:type=EndpointSnitchInfo");
            ObjectName proxy = new ObjectName("org.apache.cassandra.db:type=StorageProxy");
            ObjectName fd = new ObjectName("org.apache.cassandra.net:type=FailureDetector");
            ObjectName faults = new ObjectName(FAULTS);
            List<MBeanServerConnection> all = List.of(ma, mb, mc);
            check("every node reports the same host ids and token map; its own host id and tokens from its line", () -> {
                for (String attr : List.of("EndpointToHostId", "EndpointWithPortToHostId", "HostIdToEndpoint",
                        "TokenToEndpointMap", "TokenToEndpointWithPortMap")) {
                    eq(ma.getAttribute(ss, attr), mb.getAttribute(ss, attr));
                    eq(ma.getAttribute(ss, attr), mc.getAttribute(ss, attr));
                }
                eq(Map.of("127.0.0.2", ids[0], "127.0.0.3", ids[1], "127.0.0.4", ids[2]), ma.getAttribute(ss, "EndpointToHostId"));
                eq(ids[1], mb.getAttribute(ss, "LocalHostId"));
                eq(List.of("3000000000000000000", "6000000000000000000"), mc.getAttribute(ss, "Tokens"));
                eq(mc.getAttribute(ss, "Tokens"), ma.invoke(ss, "getTokens", new Object[] {"127.0.0.4"},
                        new String[] {"java.lang.String"}));
                eq(List.of("-9000000000000000000", "-6000000000000000000", "-3000000000000000000", "0",
                        "3000000000000000000", "6000000000000000000"),
                        new ArrayList<>(((Map<?, ?>) ma.getAttribute(ss, "TokenToEndpointMap")).keySet()));
            });
            check("EndpointSnitchInfo answers each endpoint's dc and rack from the ring file", () -> {
                String[] sig = {"java.lang.String"};
                eq("dc2", ma.invoke(snitch, "getDatacenter", new Object[] {"127.0.0.4"}, sig));
                eq("r2", mc.invoke(snitch, "getRack", new Object[] {"127.0.0.3:7000"}, sig));
                eq("UNKNOWN_DC", ma.invoke(snitch, "getDatacenter", new Object[] {"127.0.0.9"}, sig));
                eq("dc2", mc.getAttribute(snitch, "Datacenter"));
                eq("r2", mb.getAttribute(snitch, "Rack"));
                eq("org.apache.cassandra.locator.GossipingPropertyFileSnitch", ma.getAttribute(snitch, "SnitchName"));
            });
            check("once all are up, every node sees a healthy ring with one schema version", () -> {
                for (MBeanServerConnection m : all) waitFor(() -> ((List<?>) m.getAttribute(ss, "UnreachableNodes")).isEmpty());
                for (MBeanServerConnection m : all) {
                    eq(List.of("127.0.0.2", "127.0.0.3", "127.0.0.4"), m.getAttribute(ss, "LiveNodes"));
                    eq(List.of("127.0.0.2:7000", "127.0.0.3:7000", "127.0.0.4:7000"), m.getAttribute(ss, "LiveNodesWithPort"));
                    for (String attr : List.of("JoiningNodes", "LeavingNodes", "MovingNodes")) eq(List.of(), m.getAttribute(ss, attr));
                    eq(Map.of(ma.getAttribute(ss, "SchemaVersion"), List.of("127.0.0.2", "127.0.0.3", "127.0.0.4")),
                            m.getAttribute(proxy, "SchemaVersions"));
                    eq(0, m.getAttribute(fd, "DownEndpointCount"));
                }
            });
            check("markDown makes one node see a peer unreachable; markUp undoes it", () -> {
                ma.invoke(faults, "markDown", new Object[] {"127.0.0.3"}, new String[] {"java.lang.String"});
                eq(List.of("127.0.0.3"), ma.getAttribute(ss, "UnreachableNodes"));
                eq(List.of("127.0.0.3:7000"), ma.getAttribute(ss, "UnreachableNodesWithPort"));
                eq("DOWN", ((Map<?, ?>) ma.getAttribute(fd, "SimpleStates")).get("/127.0.0.3"));
                eq(List.of("127.0.0.3"), ((Map<?, ?>) ma.getAttribute(proxy, "SchemaVersions")).get("UNREACHABLE"));
                eq(List.of(), mb.getAttribute(ss, "UnreachableNodes"));
                ma.invoke(faults, "markUp", new Object[] {"127.0.0.3"}, new String[] {"java.lang.String"});
                eq(List.of(), ma.getAttribute(ss, "UnreachableNodes"));
                expect(() -> ma.invoke(faults, "markDown", new Object[] {"127.0.0.9"}, new String[] {"java.lang.String"}),
                        "RuntimeMBeanException/java.lang.IllegalArgumentException", "endpoint 127.0.0.9 is not in the ring");
            });
            check("setMemberStatus and setSchemaVersion change what one node reports", () -> {
                eq("NORMAL", ma.invoke(faults, "setMemberStatus", new Object[] {"127.0.0.4", "LEAVING"}, STR2));
                eq(List.of("127.0.0.4"), ma.getAttribute(ss, "LeavingNodes"));
                eq(List.of("127.0.0.4:7000"), ma.getAttribute(ss, "LeavingNodesWithPort"));
                ma.invoke(faults, "setMemberStatus", new Object[] {"127.0.0.4", "NORMAL"}, STR2);
                String other = "44444444-4444-4444-4444-444444444444";
                ma.invoke(faults, "setSchemaVersion", new Object[] {"127.0.0.3", other}, STR2);
                eq(List.of("127.0.0.3"), ((Map<?, ?>) ma.getAttribute(proxy, "SchemaVersions")).get(other));
                eq(2, ((Map<?, ?>) ma.getAttribute(proxy, "SchemaVersions")).size());
                mb.invoke(faults, "setSchemaVersion", new Object[] {"127.0.0.3", other}, STR2);
                eq(other, mb.getAttribute(ss, "SchemaVersion"));
            });
            check("a stopped node becomes unreachable on the others", () -> {
                cc.close();
                cNode.process.getOutputStream().close();
                truth(cNode.process.waitFor(10, TimeUnit.SECONDS));
                for (MBeanServerConnection m : List.of(ma, mb)) {
                    waitFor(() -> List.of("127.0.0.4").equals(m.getAttribute(ss, "UnreachableNodes")));
                    eq("DOWN", ((Map<?, ?>) m.getAttribute(fd, "SimpleStates")).get("/127.0.0.4"));
                }
            });
            check("a node restarted on its address and port is reachable again", () -> {
                Started again = start(work, "4.1", "--ring", ring.toString(), "--host", "127.0.0.4", "--port", port)
                        .get(20, TimeUnit.SECONDS);
                eq(a.port, again.port);
                for (MBeanServerConnection m : List.of(ma, mb)) {
                    waitFor(() -> ((List<?>) m.getAttribute(ss, "UnreachableNodes")).isEmpty());
                }
                try (JMXConnector c = connect("127.0.0.4", again.port, null)) {
                    eq(ids[2], c.getMBeanServerConnection().getAttribute(ss, "LocalHostId"));
                }
            });
            check("the call log of each ring node records its own calls", () -> {
                String[] log = (String[]) ma.getAttribute(faults, "CallLog");
                truth(String.join("\n", log).contains("\"operation\":\"getTokens\",\"signature\":[\"java.lang.String\"],"
                        + "\"args\":[\"127.0.0.4\"]"));
                truth(!String.join("\n", (String[]) mb.getAttribute(faults, "CallLog")).contains("getTokens"));
            });
        }
    }

    // ---- helpers ----

    private static Object importDirs(MBeanServerConnection m, ObjectName table, Set<String> dirs, boolean verify,
            boolean copy) throws Exception {
        return m.invoke(table, "importNewSSTables",
                new Object[] {new HashSet<>(dirs), true, true, verify, false, false, false, copy},
                new String[] {"java.util.Set", "boolean", "boolean", "boolean", "boolean", "boolean", "boolean", "boolean"});
    }

    private static CompletableFuture<Started> start(Path work, String version, String... extra) throws IOException {
        Path data = Files.createTempDirectory(work, "node-");
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-cp", System.getProperty("java.class.path"),
                "daedalus.testnode.Main", "--port", "0", "--cassandra-version", version, "--data-dir", data.toString(),
                "--watch-stdin"));
        cmd.addAll(List.of(extra));
        Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        children.add(p);
        return CompletableFuture.supplyAsync(() -> {
            try {
                BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
                String line = r.readLine();
                if (line == null || !line.startsWith("testnode ready port=")) {
                    throw new IllegalStateException("node " + version + " did not start: " + line);
                }
                Started s = new Started();
                s.process = p;
                for (int i = 0; i + 1 < extra.length; i++) if (extra[i].equals("--host")) s.host = extra[i + 1];
                s.port = Integer.parseInt(line.replaceAll(".*port=(\\d+).*", "$1"));
                s.data = Path.of(line.replaceAll(".*data=", ""));
                return s;
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        });
    }

    private static JMXConnector connect(int port, String[] credentials) throws IOException {
        return connect("127.0.0.1", port, credentials);
    }

    private static JMXConnector connect(String host, int port, String[] credentials) throws IOException {
        JMXServiceURL url = new JMXServiceURL("service:jmx:rmi:///jndi/rmi://" + host + ":" + port + "/jmxrmi");
        Map<String, Object> env = new HashMap<>();
        if (credentials != null) env.put(JMXConnector.CREDENTIALS, credentials);
        return JMXConnectorFactory.connect(url, env);
    }

    private static List<Integer> arities(MBeanServerConnection m, String name, String op) throws Exception {
        List<Integer> out = new ArrayList<>();
        for (MBeanOperationInfo o : ops(m, name, op)) out.add(o.getSignature().length);
        out.sort(null);
        return out;
    }

    private static List<MBeanOperationInfo> ops(MBeanServerConnection m, String name, String op) throws Exception {
        MBeanInfo info = m.getMBeanInfo(new ObjectName(name));
        List<MBeanOperationInfo> out = new ArrayList<>();
        for (MBeanOperationInfo o : info.getOperations()) if (o.getName().equals(op)) out.add(o);
        return out;
    }

    private static void deleteTree(Path root) throws IOException {
        try (java.util.stream.Stream<Path> s = Files.walk(root)) {
            for (Path p : (Iterable<Path>) s.sorted(java.util.Comparator.reverseOrder())::iterator) Files.deleteIfExists(p);
        }
    }

    private static Path copy(Path from, Path to) throws IOException {
        Files.createDirectories(to);
        for (String f : list(from)) Files.copy(from.resolve(f), to.resolve(f));
        return to;
    }

    private static Set<String> list(Path dir) throws IOException {
        Set<String> out = new HashSet<>();
        File[] files = dir.toFile().listFiles();
        if (files == null) throw new IOException("not a directory: " + dir);
        for (File f : files) if (f.isFile()) out.add(f.getName());
        return out;
    }

    private interface Call {
        Object call() throws Exception;
    }

    private interface Condition {
        boolean holds() throws Exception;
    }

    private static CompletableFuture<Object> async(Call c) {
        return CompletableFuture.supplyAsync(() -> {
            try {
                return c.call();
            } catch (Exception e) {
                return e;
            }
        });
    }

    /** Polls until the condition holds; gives up after 10 s (a hang, not a timing assertion). */
    private static void waitFor(Condition c) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!c.holds()) {
            if (System.nanoTime() > deadline) throw new AssertionError("condition never held");
            Thread.sleep(5);
        }
    }

    /**
     * Expects {@code c} to throw. {@code what} is "Wrapper" or "Wrapper/cause.Class"; a bare simple name matches
     * the thrown class or any class in the cause chain.
     */
    private static void expect(Call c, String what, String message) throws Exception {
        Throwable thrown = null;
        try {
            c.call();
        } catch (Throwable t) {
            thrown = t;
        }
        if (thrown == null) throw new AssertionError("expected " + what + " but nothing was thrown");
        String[] parts = what.split("/");
        Throwable matched = null;
        if (parts.length == 2) {
            if (!thrown.getClass().getSimpleName().equals(parts[0])) throw new AssertionError("expected " + what + ", got " + thrown);
            Throwable cause = thrown.getCause();
            if (cause == null || !cause.getClass().getName().equals(parts[1])) {
                throw new AssertionError("expected cause " + parts[1] + ", got " + cause);
            }
            matched = cause;
        } else {
            for (Throwable t = thrown; t != null; t = t.getCause()) {
                if (isA(t.getClass(), parts[0])) {
                    matched = t;
                    break;
                }
            }
            if (matched == null) throw new AssertionError("expected " + what + ", got " + thrown);
        }
        if (message != null && !message.equals(matched.getMessage())) {
            throw new AssertionError("expected message '" + message + "', got '" + matched.getMessage() + "'");
        }
    }

    private static boolean isA(Class<?> c, String simpleName) {
        for (Class<?> k = c; k != null; k = k.getSuperclass()) if (k.getSimpleName().equals(simpleName)) return true;
        return false;
    }

    private static void eq(Object expected, Object actual) {
        if (expected == null ? actual != null : !expected.equals(actual)) {
            throw new AssertionError("expected <" + expected + "> but was <" + actual + ">");
        }
    }

    private static void truth(boolean b) {
        if (!b) throw new AssertionError("expected true");
    }

    private static void check(String name, Check c) {
        try {
            c.run();
            passed++;
            System.out.println("ok   " + name);
        } catch (Throwable t) {
            failed++;
            System.out.println("FAIL " + name + ": " + t);
            if (!(t instanceof AssertionError)) t.printStackTrace(System.out);
        }
    }

}
