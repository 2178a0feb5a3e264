package daedalus.testnode;

import java.net.UnknownHostException;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Per-version management interfaces of the smaller Cassandra MBeans: ColumnFamilyStore (per table),
 * CompactionManager, EndpointSnitchInfo, FailureDetector, StorageProxy.
 *
 * <p>Shapes only; sources are shared/reference/cassandra-jmx.md §2, §3.1, §3.6, §3.7.
 */
public final class Surfaces {
    private Surfaces() {}

    /** ColumnFamilyStore in 3.11: no DataPaths, no importNewSSTables (§3.1 I4, §3.6 "Listing tables"). */
    public interface Table311 {
        String getTableName();
        String getColumnFamilyName();
        void loadNewSSTables();
    }

    /** ColumnFamilyStore in 4.0 and 4.1: import I1 (7 args) and I2 (8 args), DataPaths. */
    public interface Table40 extends Table311 {
        List<String> getDataPaths() throws java.io.IOException;
        List<String> importNewSSTables(Set<String> srcPaths, boolean resetLevel, boolean clearRepaired,
                boolean verifySSTables, boolean verifyTokens, boolean invalidateCaches, boolean extendedVerify);
        List<String> importNewSSTables(Set<String> srcPaths, boolean resetLevel, boolean clearRepaired,
                boolean verifySSTables, boolean verifyTokens, boolean invalidateCaches, boolean extendedVerify,
                boolean copyData);
    }

    /** ColumnFamilyStore in 5.0-beta2: adds I3 (10 args). */
    public interface Table50 extends Table40 {
        List<String> importNewSSTables(Set<String> srcPaths, boolean resetLevel, boolean clearRepaired,
                boolean verifySSTables, boolean verifyTokens, boolean invalidateCaches, boolean extendedVerify,
                boolean copyData, boolean failOnMissingIndex, boolean validateIndexChecksum);
    }

    /** CompactionManager (all versions, §3.7). */
    public interface Compactions {
        List<Map<String, String>> getCompactions();
        List<String> getCompactionSummary();
    }

    /**
     * A Cassandra metrics gauge (CassandraMetricsRegistry.JmxGauge): attribute Value. Used for
     * org.apache.cassandra.metrics:type=Compaction,name=PendingTasks and name=PendingTasksByTableName (§2).
     */
    public interface Gauge {
        Object getValue();
    }

    /**
     * A Cassandra metrics counter (CassandraMetricsRegistry.JmxCounter): attribute Count. Used for the per-table
     * org.apache.cassandra.metrics:type=Table,keyspace=K,scope=T,name=LiveDiskSpaceUsed.
     */
    public interface Counter {
        long getCount();
    }

    /** EndpointSnitchInfo (identical in all versions, §3.6). */
    public interface Snitch {
        String getDatacenter(String host) throws UnknownHostException;
        String getRack(String host) throws UnknownHostException;
        String getDatacenter();
        String getRack();
        String getSnitchName();
    }

    /** FailureDetector in 3.11 (§3.6). */
    public interface FailureDetector311 {
        Map<String, String> getSimpleStates();
        int getDownEndpointCount();
        int getUpEndpointCount();
        String getAllEndpointStates();
        String getEndpointState(String address) throws UnknownHostException;
    }

    /** FailureDetector in 4.0: adds the WithPort forms. */
    public interface FailureDetector40 extends FailureDetector311 {
        Map<String, String> getSimpleStatesWithPort();
        String getAllEndpointStatesWithPort();
    }

    /** FailureDetector in 4.1 and 5.0: adds AllEndpointStatesWithPortAndResolveIp. */
    public interface FailureDetector41 extends FailureDetector40 {
        String getAllEndpointStatesWithPortAndResolveIp();
    }

    /** StorageProxy in 3.11 (§3.4 truncate timeout, §3.6 SchemaVersions). */
    public interface Proxy311 {
        Map<String, List<String>> getSchemaVersions();
        Long getTruncateRpcTimeout();
        void setTruncateRpcTimeout(Long timeoutInMillis);
    }

    /** StorageProxy in 4.0+: adds SchemaVersionsWithPort. */
    public interface Proxy40 extends Proxy311 {
        Map<String, List<String>> getSchemaVersionsWithPort();
    }
}
