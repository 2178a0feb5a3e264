import java.util.Arrays;
import javax.management.MBeanServerConnection;
import javax.management.ObjectName;
import javax.management.remote.JMXConnector;
import javax.management.remote.JMXConnectorFactory;
import javax.management.remote.JMXServiceURL;

/** The JDK's own JMX client doing what crates/jmx/examples/bench.rs does, for comparison. */
public class BenchClient {
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
        ObjectName probe = new ObjectName("test:type=Probe");
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
        c.close();
    }
}
