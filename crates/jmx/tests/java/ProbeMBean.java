import java.util.List;
import java.util.Map;
import java.util.Set;

/** Management interface of the test MBean: attributes and operations covering the value model. */
public interface ProbeMBean {
    String getName();
    void setName(String name);
    int getCounter();
    void setCounter(int counter);
    long getUptime();
    boolean isEnabled();
    String[] getTags();

    /** Returns a sample value of the given kind (see JmxTestServer.sample). */
    Object sample(String kind);
    /** Returns its argument unchanged. */
    Object echo(Object value);
    /** Describes the received arguments, so a client can check what it wrote. */
    String describe(String s, int i, long l, boolean b, String[] arr, List<String> list, Set<String> set,
                    Map<String, String> map);
    /** Throws the named kind of exception. */
    void fail(String kind) throws Exception;
    /** Sleeps, then returns the slept time. */
    long sleep(long millis) throws InterruptedException;
    /** Stops the JVM in the middle of the call: the client sees the connection close. */
    void halt();
    /** Does nothing (benchmarks). */
    void noop();
    /**
     * Returns with remote references the server still waits to see acknowledged (DgcAck), or -1 when
     * the JDK internals are not open to reflection (needs --add-opens java.rmi/sun.rmi.transport=ALL-UNNAMED).
     */
    int pendingDgcAcks();
}
