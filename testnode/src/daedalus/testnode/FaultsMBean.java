package daedalus.testnode;

/**
 * Fault injection and inspection, registered as {@code daedalus.testnode:type=Faults}. Faults are keyed by the JMX
 * operation name (e.g. "importNewSSTables") or "*" for every operation; an attribute name (e.g. "OperationMode")
 * keys a fault on reading that attribute. One key holds one delay plus at most one action (fail, drop, hang, exit).
 */
public interface FaultsMBean {
    /** Sleep {@code millis} before running the operation (combines with any action). */
    void delay(String operation, long millis);

    /** Throw {@code exceptionClass} (String constructor; RuntimeException if unavailable) with {@code message}. */
    void fail(String operation, String exceptionClass, String message);

    /**
     * Like {@link #fail}, but when {@code exceptionClass} does not exist on the node it is defined at run time as a
     * subclass of {@code superclass} (e.g. "org.apache.cassandra.exceptions.UnavailableException" extending
     * "java.lang.RuntimeException"), so the client receives that class name exactly, as from a real node.
     */
    void failAs(String operation, String exceptionClass, String superclass, String message);

    /** Close the caller's TCP connection mid-call; the operation does not run. */
    void dropConnection(String operation);

    /** Block the call until {@link #clear()} (or clear(operation)) is called. */
    void hang(String operation);

    /** Halt the process with {@code status} when the operation is called. */
    void exit(String operation, int status);

    /** Apply the fault of {@code operation} only to its next {@code times} calls, then forget it. */
    void times(String operation, int times);

    /** Remove every fault and release hung calls. */
    void clear();

    /** Remove the fault of one key and release its hung calls. */
    void clear(String operation);

    /**
     * Force StorageService OperationMode (e.g. "NORMAL", "JOINING", "DRAINED"); returns the previous mode. (Non-void,
     * so JMX exposes it as an operation rather than a write-only attribute.)
     */
    String setOperationMode(String mode);

    /**
     * Source directories (exactly as a client passes them) that importNewSSTables must report as failed; replaces
     * the previous list and returns it. An empty array ends the fault.
     */
    String[] setFailedImportDirs(String[] dirs);

    /** Every call-log line since start (or the last clearCallLog), oldest first. */
    String[] getCallLog();

    /** Empties the in-memory CallLog attribute; the call-log file keeps its lines. */
    void clearCallLog();

    /** Why recent imports failed, one message per failed directory or set. */
    String[] getImportFailures();

    /** Number of calls currently blocked by a hang fault. */
    int getHungCalls();

    /**
     * Make this node see {@code endpoint} ("127.0.0.2" or "127.0.0.2:7000") as DOWN: UnreachableNodes,
     * FailureDetector DOWN, "UNREACHABLE" in SchemaVersions. Other nodes are not told.
     */
    void markDown(String endpoint);

    /** Undo {@link #markDown}: the endpoint is UP again (with a ring file: while its port answers). */
    void markUp(String endpoint);

    /** Set a ring member's status as this node sees it: NORMAL, JOINING, LEAVING or MOVING; returns the previous. */
    String setMemberStatus(String endpoint, String status);

    /**
     * Set the schema version this node reports for {@code endpoint} (its own SchemaVersion when it names this node);
     * returns the previous one.
     */
    String setSchemaVersion(String endpoint, String version);

    /**
     * The component files of the live SSTables of a table, relative to its directory (index files as
     * ".index/file"), sorted; what the node would serve.
     */
    String[] liveSSTables(String keyspace, String table);
}
