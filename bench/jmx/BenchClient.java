import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import javax.management.MBeanServerConnection;
import javax.management.ObjectName;
import javax.management.remote.JMXConnector;
import javax.management.remote.JMXConnectorFactory;
import javax.management.remote.JMXServiceURL;

/**
 * The JDK's own JMX client doing what crates/jmx/examples/bench.rs does, for comparison:
 * {@code BenchClient HOST PORT [N] [WARMUP] [CONCURRENCY] [CALLS] [LARGE]}.
 */
public class BenchClient {
    static final ObjectName PROBE;

    static {
        try {
            PROBE = new ObjectName("test:type=Probe");
        } catch (Exception e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** CONCURRENCY threads sharing one connection, CALLS calls each (alternating kinds): calls/s. */
    static double throughput(MBeanServerConnection mbsc, int concurrency, int calls) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(concurrency);
        try {
            long t0 = System.nanoTime();
            List<Future<Object>> done = new ArrayList<>();
            for (int t = 0; t < concurrency; t++) {
                done.add(pool.submit(() -> {
                    for (int i = 0; i < calls; i++) {
                        if (i % 2 == 0) {
                            mbsc.invoke(PROBE, "noop", new Object[0], new String[0]);
                        } else {
                            mbsc.getAttribute(PROBE, "Name");
                        }
                    }
                    return null;
                }));
            }
            for (Future<Object> f : done) {
                f.get();
            }
            return (double) concurrency * calls / ((System.nanoTime() - t0) / 1e9);
        } finally {
            pool.shutdown();
        }
    }

    static String stats(String what, long[] nanos) {
        long[] s = nanos.clone();
        Arrays.sort(s);
        double median = s[s.length / 2] / 1000.0;
        double p99 = s[(int) Math.ceil(s.length * 0.99) - 1] / 1000.0;
        return String.format("%s_median_us %.1f%n%s_p99_us %.1f", what, median, what, p99);
    }

    public static void main(String[] args) throws Exception {
        String host = args[0];
        int port = Integer.parseInt(args[1]);
        int n = args.length > 2 ? Integer.parseInt(args[2]) : 1000;
        int warmup = args.length > 3 ? Integer.parseInt(args[3]) : 100;
        int concurrency = args.length > 4 ? Integer.parseInt(args[4]) : 0;
        int calls = args.length > 5 ? Integer.parseInt(args[5]) : 2000;
        int large = args.length > 6 ? Integer.parseInt(args[6]) : 0;
        ObjectName probe = PROBE;
        long t0 = System.nanoTime();
        JMXConnector c = JMXConnectorFactory.connect(
            new JMXServiceURL("service:jmx:rmi:///jndi/rmi://" + host + ":" + port + "/jmxrmi"), null);
        MBeanServerConnection mbsc = c.getMBeanServerConnection();
        mbsc.getAttribute(probe, "Name");
        long connect = System.nanoTime() - t0;
        for (int i = 0; i < warmup; i++) {
            mbsc.invoke(probe, "noop", new Object[0], new String[0]);
            mbsc.getAttribute(probe, "Name");
        }
        long[] invoke = new long[n];
        for (int i = 0; i < n; i++) {
            long t = System.nanoTime();
            mbsc.invoke(probe, "noop", new Object[0], new String[0]);
            invoke[i] = System.nanoTime() - t;
        }
        long[] get = new long[n];
        for (int i = 0; i < n; i++) {
            long t = System.nanoTime();
            mbsc.getAttribute(probe, "Name");
            get[i] = System.nanoTime() - t;
        }
        System.out.printf("connect_ms %.1f%n", connect / 1e6);
        System.out.println(stats("invoke", invoke));
        System.out.println(stats("getattr", get));
        if (concurrency > 0) {
            // A first round opens the connections and warms the concurrent path.
            throughput(mbsc, concurrency, calls / 4 + 1);
            System.out.printf("concurrent_calls_per_s %.0f%n", throughput(mbsc, concurrency, calls));
        }
        if (large > 0) {
            Object[] kind = {"tokenMap"};
            String[] sig = {"java.lang.String"};
            mbsc.invoke(probe, "sample", kind, sig);
            long[] big = new long[large];
            for (int i = 0; i < large; i++) {
                long t = System.nanoTime();
                mbsc.invoke(probe, "sample", kind, sig);
                big[i] = System.nanoTime() - t;
            }
            Arrays.sort(big);
            System.out.printf("large_median_ms %.1f%n", big[large / 2] / 1e6);
        }
        c.close();
    }
}
