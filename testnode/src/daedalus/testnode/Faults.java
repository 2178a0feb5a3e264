package daedalus.testnode;

import java.lang.reflect.Constructor;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import javax.management.MBeanException;

/**
 * The fault table and its MBean. {@link #apply} is called by {@link Exported} before every Cassandra MBean operation
 * and attribute read; it sleeps, throws, drops, hangs or halts as configured.
 *
 * <p>Owns the faults only; the node state it can force (mode, failed import dirs) belongs to {@link Node}.
 */
final class Faults implements FaultsMBean {
    private static final class Fault {
        long delayMillis;
        String action; // null, "fail", "drop", "hang", "exit"
        String exceptionClass;
        String superclass;
        String message;
        int status;
        int remaining = -1; // -1 = forever
        CountDownLatch release = new CountDownLatch(1);
    }

    private final Map<String, Fault> faults = new HashMap<>();
    private final AtomicInteger hung = new AtomicInteger();
    private final Node node;

    Faults(Node node) {
        this.node = node;
    }

    private synchronized Fault get(String op) {
        return faults.computeIfAbsent(op, k -> new Fault());
    }

    @Override
    public synchronized void delay(String operation, long millis) {
        get(operation).delayMillis = millis;
    }

    @Override
    public synchronized void fail(String operation, String exceptionClass, String message) {
        Fault f = get(operation);
        f.action = "fail";
        f.exceptionClass = exceptionClass;
        f.message = message;
    }

    @Override
    public synchronized void failAs(String operation, String exceptionClass, String superclass, String message) {
        Fault f = get(operation);
        f.action = "failAs";
        f.exceptionClass = exceptionClass;
        f.superclass = superclass;
        f.message = message;
    }

    @Override
    public synchronized void dropConnection(String operation) {
        get(operation).action = "drop";
    }

    @Override
    public synchronized void hang(String operation) {
        get(operation).action = "hang";
    }

    @Override
    public synchronized void exit(String operation, int status) {
        Fault f = get(operation);
        f.action = "exit";
        f.status = status;
    }

    @Override
    public synchronized void times(String operation, int times) {
        get(operation).remaining = times;
    }

    @Override
    public synchronized void clear() {
        for (Fault f : faults.values()) f.release.countDown();
        faults.clear();
    }

    @Override
    public synchronized void clear(String operation) {
        Fault f = faults.remove(operation);
        if (f != null) f.release.countDown();
    }

    @Override
    public String setOperationMode(String mode) {
        String previous = node.mode();
        node.setMode(mode);
        return previous;
    }

    @Override
    public String[] setFailedImportDirs(String[] dirs) {
        return node.setFailedImportDirs(dirs == null ? new String[0] : dirs);
    }

    @Override
    public String[] getCallLog() {
        return node.callLog().lines();
    }

    @Override
    public void clearCallLog() {
        node.callLog().clearMemory();
    }

    @Override
    public String[] getImportFailures() {
        return node.importFailures();
    }

    @Override
    public void markDown(String endpoint) {
        node.ring.markDown(endpoint);
    }

    @Override
    public void markUp(String endpoint) {
        node.ring.markUp(endpoint);
    }

    @Override
    public String setMemberStatus(String endpoint, String status) {
        return node.ring.setStatus(endpoint, status);
    }

    @Override
    public String setSchemaVersion(String endpoint, String version) {
        return node.setSchemaVersion(endpoint, version);
    }

    @Override
    public String[] liveSSTables(String keyspace, String table) {
        try {
            return node.table(keyspace, table).liveFiles().toArray(new String[0]);
        } catch (java.io.IOException e) {
            throw new IllegalStateException("cannot list " + keyspace + "." + table + ": " + e.getMessage());
        }
    }

    @Override
    public int getHungCalls() {
        return hung.get();
    }

    /**
     * Applies the fault keyed by {@code name} (or "*" when {@code wildcard}). Returns normally when the call may
     * proceed; otherwise throws what the MBean server would turn into the client-visible exception.
     */
    void apply(String name, boolean wildcard) throws MBeanException {
        Fault f;
        synchronized (this) {
            f = faults.get(name);
            if (f == null && wildcard) f = faults.get("*");
            if (f == null) return;
            if (f.remaining == 0) return;
            if (f.remaining > 0 && --f.remaining == 0) {
                faults.values().remove(f);
            }
        }
        if (f.delayMillis > 0) {
            try {
                Thread.sleep(f.delayMillis);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        if (f.action == null) return;
        switch (f.action) {
            case "fail":
                throwInstance(f.exceptionClass, null, f.message);
                return;
            case "failAs":
                throwInstance(f.exceptionClass, f.superclass, f.message);
                return;
            case "drop":
                TrackingSockets.closeCurrent();
                throw new RuntimeException("connection dropped by test node fault");
            case "hang":
                hung.incrementAndGet();
                try {
                    f.release.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                } finally {
                    hung.decrementAndGet();
                }
                return;
            case "exit":
                System.out.flush();
                Runtime.getRuntime().halt(f.status);
                return;
            default:
                return;
        }
    }

    /**
     * Throws like a Cassandra MBean method would: unchecked as-is, checked wrapped as StandardMBean wraps them.
     * Without {@code superclass}, an unknown class becomes RuntimeException(message); with it, the class is defined.
     */
    static void throwInstance(String className, String superclass, String message) throws MBeanException {
        Throwable t;
        try {
            Class<?> c = superclass == null ? Class.forName(className) : SyntheticExceptions.get(className, superclass);
            Object o;
            try {
                o = c.getConstructor(String.class).newInstance(message);
            } catch (NoSuchMethodException e) {
                o = c.getConstructor(Object.class).newInstance(message); // AssertionError(Object)
            }
            t = (Throwable) o;
        } catch (ReflectiveOperationException | ClassCastException | LinkageError e) {
            t = new RuntimeException(message);
        }
        if (t instanceof RuntimeException) throw (RuntimeException) t;
        if (t instanceof Error) throw (Error) t;
        throw new MBeanException((Exception) t, t.toString());
    }
}
