import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.rmi.registry.LocateRegistry;
import java.rmi.registry.Registry;
import java.rmi.server.RMIClientSocketFactory;
import java.rmi.server.RMIServerSocketFactory;
import java.util.*;
import java.util.concurrent.TimeUnit;
import javax.management.*;
import javax.management.openmbean.*;
import javax.management.remote.*;
import javax.management.remote.rmi.*;
import javax.rmi.ssl.SslRMIClientSocketFactory;
import javax.rmi.ssl.SslRMIServerSocketFactory;
import javax.security.auth.Subject;

/**
 * JDK-only JMX server for the native client's integration tests and benchmarks.
 *
 * Registry and connector share one port, as Cassandra configures them. Options (system properties):
 *   test.port        port to listen on (0 = pick a free one)
 *   test.auth        "user:password" to require credentials (JMXAuthenticator)
 *   test.ssl         "true": registry and connector over SSL (javax.net.ssl.keyStore must be set)
 *   test.idleMs      jmx.remote.x.server.connection.timeout in ms
 *   test.rmiPort     "true": the connector listens on its own free port (as the JDK agent does
 *                    without com.sun.management.jmxremote.rmi.port), not on the registry's
 * Prints "PORT <n>" on stdout when ready; exits when stdin reaches end of file.
 */
public class JmxTestServer {
    public enum Color { RED, GREEN, BLUE }

    public static class Probe implements ProbeMBean {
        private volatile String name = "probe-1";
        private volatile int counter = 7;

        public String getName() { return name; }
        public void setName(String n) { name = n; }
        public int getCounter() { return counter; }
        public void setCounter(int c) { counter = c; }
        public long getUptime() { return 123456789012L; }
        public boolean isEnabled() { return true; }
        public String[] getTags() { return new String[] {"a", "b"}; }

        public Object sample(String kind) {
            try {
                return sampleOf(kind);
            } catch (OpenDataException e) {
                throw new IllegalStateException(e);
            }
        }

        public Object echo(Object value) { return value; }

        public String describe(String s, int i, long l, boolean b, String[] arr, List<String> list,
                               Set<String> set, Map<String, String> map) {
            return s + "|" + i + "|" + l + "|" + b + "|" + Arrays.toString(arr) + "|" + list + "|"
                + new TreeSet<>(set) + "|" + new TreeMap<>(map);
        }

        public void fail(String kind) throws Exception {
            switch (kind) {
                case "checked":
                    throw new IOException("checked failure", new IllegalStateException("root cause"));
                case "runtime":
                    throw new IllegalArgumentException("bad argument: runtime");
                case "nested":
                    throw new IllegalStateException("level 1",
                        new RuntimeException("level 2", new ArithmeticException("level 3")));
                case "suppressed": {
                    IllegalStateException e = new IllegalStateException("with suppressed");
                    e.addSuppressed(new UnsupportedOperationException("suppressed one"));
                    throw e;
                }
                case "operations":
                    throw new RuntimeOperationsException(new IllegalArgumentException("bad operation argument"), "wrapped");
                case "error":
                    throw new AssertionError("an error");
                default:
                    throw new Exception("unknown kind " + kind);
            }
        }

        public long sleep(long millis) throws InterruptedException {
            Thread.sleep(millis);
            return millis;
        }

        public void halt() { Runtime.getRuntime().halt(3); }

        public void noop() { }

        public int pendingDgcAcks() {
            try {
                java.lang.reflect.Field f = Class.forName("sun.rmi.transport.DGCAckHandler").getDeclaredField("idTable");
                f.setAccessible(true);
                return ((Map<?, ?>) f.get(null)).size();
            } catch (ReflectiveOperationException | RuntimeException e) {
                return -1;
            }
        }
    }

    static Object sampleOf(String kind) throws OpenDataException {
        switch (kind) {
            case "null": return null;
            case "boolean": return Boolean.TRUE;
            case "byte": return (byte) -5;
            case "char": return 'Z';
            case "short": return (short) -1234;
            case "int": return 42;
            case "long": return -9876543210L;
            case "float": return 1.5f;
            case "double": return -2.25d;
            case "string": return "hello";
            case "utf": return "nul\u0000 é 漢 \uD83D\uDE00 end";
            case "longstring": {
                StringBuilder sb = new StringBuilder();
                for (int i = 0; i < 70000; i++) sb.append((char) ('a' + i % 26));
                return sb.toString();
            }
            case "int[]": return new int[] {1, 2, 3};
            case "long[]": return new long[] {1L, -2L};
            case "boolean[]": return new boolean[] {true, false};
            case "byte[]": return new byte[] {1, 2, (byte) 0xff};
            case "double[]": return new double[] {0.5, 1.5};
            case "String[]": return new String[] {"x", null, "z"};
            case "int[][]": return new int[][] {{1}, {2, 3}};
            case "ArrayList": return new ArrayList<>(List.of("a", "b", "c"));
            case "LinkedList": return new LinkedList<>(List.of("a", "b"));
            case "HashSet": return new HashSet<>(List.of("a", "b"));
            case "LinkedHashSet": return new LinkedHashSet<>(List.of("b", "a"));
            case "TreeSet": return new TreeSet<>(List.of("b", "a"));
            case "HashMap": { Map<String, Integer> m = new HashMap<>(); m.put("alpha", 1); m.put("beta", 2); return m; }
            case "LinkedHashMap": { Map<String, Integer> m = new LinkedHashMap<>(); m.put("z", 1); m.put("y", 2); return m; }
            case "TreeMap": { Map<String, Integer> m = new TreeMap<>(); m.put("b", 2); m.put("a", 1); return m; }
            case "unmodifiableList": return Collections.unmodifiableList(new ArrayList<>(List.of("a", "b")));
            case "unmodifiableSet": return Collections.unmodifiableSet(new HashSet<>(List.of("a")));
            case "unmodifiableMap": return Collections.unmodifiableMap(new HashMap<>(Map.of("k", "v")));
            case "singletonList": return Collections.singletonList("only");
            case "singleton": return Collections.singleton("only");
            case "singletonMap": return Collections.singletonMap("k", "v");
            case "emptyList": return Collections.emptyList();
            case "emptySet": return Collections.emptySet();
            case "emptyMap": return Collections.emptyMap();
            case "synchronizedList": return Collections.synchronizedList(new ArrayList<>(List.of("a")));
            case "synchronizedMap": return Collections.synchronizedMap(new HashMap<>(Map.of("k", "v")));
            case "asList": return Arrays.asList("a", "b");
            case "List.of": return List.of("a", "b");
            case "enum": return Color.GREEN;
            case "TimeUnit": return TimeUnit.SECONDS;
            case "uuid": return new UUID(0x0123456789abcdefL, 0xfedcba9876543210L);
            case "date": return new Date(1700000000000L);
            case "composite": return composite();
            case "tabular": {
                CompositeType row = composite().getCompositeType();
                TabularType tt = new TabularType("Rows", "some rows", row, new String[] {"label"});
                TabularDataSupport t = new TabularDataSupport(tt);
                t.put(composite());
                t.put(new CompositeDataSupport(row, new String[] {"count", "label", "ok", "when"},
                    new Object[] {2, "second", Boolean.FALSE, 5L}));
                return t;
            }
            case "objectName": try { return new ObjectName("test:type=Probe"); } catch (MalformedObjectNameException e) { throw new IllegalStateException(e); }
            case "custom": return new java.util.concurrent.atomic.AtomicLong(77);
            case "tokenMap": {
                // The shape of StorageService.getTokenToEndpointWithPortMap on a 1000-node cluster
                // with 256 vnodes each: 256 000 Murmur3 tokens, evenly spread, to "address:port".
                Map<String, String> m = new LinkedHashMap<>();
                long step = -(Long.MIN_VALUE / 128000);
                for (int i = 0; i < 256000; i++) {
                    int node = i % 1000;
                    m.put(Long.toString(Long.MIN_VALUE + i * step), "10.0." + (node / 250) + "." + (node % 250) + ":7000");
                }
                return m;
            }
            default: throw new IllegalArgumentException("no sample " + kind);
        }
    }

    static CompositeDataSupport composite() throws OpenDataException {
        CompositeType t = new CompositeType("Snapshot", "A snapshot",
            new String[] {"count", "label", "ok", "when"},
            new String[] {"a count", "a label", "a flag", "a time"},
            new OpenType<?>[] {SimpleType.INTEGER, SimpleType.STRING, SimpleType.BOOLEAN, SimpleType.LONG});
        return new CompositeDataSupport(t, new String[] {"count", "label", "ok", "when"},
            new Object[] {42, "hello", Boolean.TRUE, 1700000000000L});
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    public static void main(String[] args) throws Exception {
        // Exit when the parent closes our stdin, so a crashed test run leaves no server behind.
        Thread watchdog = new Thread(() -> {
            try {
                while (System.in.read() >= 0) { }
            } catch (IOException e) {
                // fall through
            }
            Runtime.getRuntime().halt(0);
        });
        watchdog.setDaemon(true);
        watchdog.start();
        int port = Integer.getInteger("test.port", 0);
        boolean ssl = Boolean.getBoolean("test.ssl");
        String auth = System.getProperty("test.auth");
        String idle = System.getProperty("test.idleMs");

        MBeanServer mbs = MBeanServerFactory.newMBeanServer();
        mbs.registerMBean(new StandardMBean(new Probe(), ProbeMBean.class), new ObjectName("test:type=Probe"));
        mbs.registerMBean(new StandardMBean(new Probe(), ProbeMBean.class), new ObjectName("test:type=Probe,name=second"));

        Map<String, Object> env = new HashMap<>();
        if (idle != null) env.put("jmx.remote.x.server.connection.timeout", idle);
        if (auth != null) {
            String[] up = auth.split(":", 2);
            env.put(JMXConnectorServer.AUTHENTICATOR, (JMXAuthenticator) credentials -> {
                if (!(credentials instanceof String[])) throw new SecurityException("Credentials required");
                String[] c = (String[]) credentials;
                if (c.length != 2 || !up[0].equals(c[0]) || !up[1].equals(c[1])) {
                    throw new SecurityException("Invalid credentials");
                }
                return new Subject();
            });
        }
        RMIClientSocketFactory csf = null;
        RMIServerSocketFactory ssf = null;
        if (ssl) {
            csf = new SslRMIClientSocketFactory();
            ssf = new SslRMIServerSocketFactory();
            env.put(RMIConnectorServer.RMI_CLIENT_SOCKET_FACTORY_ATTRIBUTE, csf);
            env.put(RMIConnectorServer.RMI_SERVER_SOCKET_FACTORY_ATTRIBUTE, ssf);
        }

        Exception last = null;
        for (int attempt = 0; attempt < 10; attempt++) {
            int p = port != 0 ? port : freePort();
            try {
                Registry registry = ssl ? LocateRegistry.createRegistry(p, csf, ssf) : LocateRegistry.createRegistry(p);
                int connectorPort = Boolean.getBoolean("test.rmiPort") ? freePort() : p;
                RMIJRMPServerImpl server = new RMIJRMPServerImpl(connectorPort, csf, ssf, env);
                JMXServiceURL url = new JMXServiceURL("service:jmx:rmi://127.0.0.1:" + p);
                RMIConnectorServer cs = new RMIConnectorServer(url, env, server, mbs);
                cs.start();
                registry.bind("jmxrmi", server.toStub());
                System.out.println("PORT " + p);
                System.out.flush();
                Thread.sleep(Long.MAX_VALUE);
            } catch (java.rmi.server.ExportException e) {
                last = e;
                if (port != 0) break;
            }
        }
        throw last;
    }
}
