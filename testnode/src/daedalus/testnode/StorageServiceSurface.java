package daedalus.testnode;

import java.net.UnknownHostException;
import java.util.List;
import java.util.Map;
import javax.management.openmbean.TabularData;

/**
 * The StorageService management interface, one Java interface per Cassandra version.
 *
 * <p>Owns only the shape (names, parameter and return types) that a JMX client sees through
 * getMBeanInfo/invoke; behaviour lives in {@link StorageService}. Every signature comes from
 * shared/reference/cassandra-jmx.md §3.2-§3.6 (matrix of SSM across 3.11.20, 4.0.6, 4.1.0, 5.0-beta2).
 */
public final class StorageServiceSurface {
    private StorageServiceSurface() {}

    /** Attributes and operations present (Y or D) in all four versions. */
    public interface Base {
        String getOperationMode();
        String getReleaseVersion();
        String getSchemaVersion();
        String getClusterName();
        String getLocalHostId();
        Map<String, String> getEndpointToHostId();
        Map<String, String> getHostIdToEndpoint();
        Map<String, String> getTokenToEndpointMap();
        List<String> getLiveNodes();
        List<String> getUnreachableNodes();
        List<String> getJoiningNodes();
        List<String> getLeavingNodes();
        List<String> getMovingNodes();
        List<String> getTokens();
        List<String> getTokens(String endpoint) throws UnknownHostException;
        List<String> getKeyspaces();
        List<String> getNonSystemKeyspaces();
        List<String> getNonLocalStrategyKeyspaces();
        String[] getAllDataFileLocations();
        int getConcurrentCompactors();
        String getDrainProgress();
        boolean isDrained();
        boolean isDraining();
        boolean isStarting();
        boolean isInitialized();
        boolean isJoined();
        Map<String, TabularData> getSnapshotDetails();

        int forceKeyspaceCleanup(int jobs, String keyspaceName, String... tables) throws Exception;
        int forceKeyspaceCleanup(String keyspaceName, String... tables) throws Exception;
        int scrub(boolean disableSnapshot, boolean skipCorrupted, boolean checkData, boolean reinsertOverflowedTTL,
                int jobs, String keyspaceName, String... columnFamilies) throws Exception;
        int scrub(boolean disableSnapshot, boolean skipCorrupted, boolean checkData, int jobs, String keyspaceName,
                String... columnFamilies) throws Exception;
        int scrub(boolean disableSnapshot, boolean skipCorrupted, boolean checkData, String keyspaceName,
                String... columnFamilies) throws Exception;
        int upgradeSSTables(String keyspaceName, boolean excludeCurrentVersion, int jobs, String... tableNames)
                throws Exception;
        int upgradeSSTables(String keyspaceName, boolean excludeCurrentVersion, String... tableNames) throws Exception;
        int verify(boolean extendedVerify, String keyspaceName, String... tableNames) throws Exception;
        void forceKeyspaceFlush(String keyspaceName, String... tableNames) throws Exception;
        void rebuild(String sourceDc);
        void rebuild(String sourceDc, String keyspace, String tokens, String specificSources);
        void drain() throws Exception;
        void truncate(String keyspace, String table) throws Exception;
        void takeSnapshot(String tag, Map<String, String> options, String... entities) throws Exception;
        void takeSnapshot(String tag, String... keyspaceNames) throws Exception;
        void takeTableSnapshot(String keyspaceName, String tableName, String tag) throws Exception;
        void takeMultipleTableSnapshot(String tag, String... tableList) throws Exception;
        void clearSnapshot(String tag, String... keyspaceNames) throws Exception;
        long trueSnapshotsSize();
        void loadNewSSTables(String ksName, String tableName);
    }

    /** Cassandra 3.11: adds HostIdMap, the 4-arg scrub and the no-arg decommission. */
    public interface V311 extends Base {
        Map<String, String> getHostIdMap();
        int scrub(boolean disableSnapshot, boolean skipCorrupted, String keyspaceName, String... columnFamilies)
                throws Exception;
        void decommission() throws Exception;
    }

    /** Everything 4.0, 4.1 and 5.0 share on top of {@link Base}: the WithPort forms, decommission(force), verify ×8. */
    public interface WithPort extends Base {
        Map<String, String> getEndpointWithPortToHostId();
        Map<String, String> getHostIdToEndpointWithPort();
        Map<String, String> getTokenToEndpointWithPortMap();
        List<String> getLiveNodesWithPort();
        List<String> getUnreachableNodesWithPort();
        List<String> getJoiningNodesWithPort();
        List<String> getLeavingNodesWithPort();
        List<String> getMovingNodesWithPort();
        void decommission(boolean force) throws Exception;
        int verify(boolean extendedVerify, boolean checkVersion, boolean diskFailurePolicy, boolean mutateRepairStatus,
                boolean checkOwnsTokens, boolean quick, String keyspaceName, String... tableNames) throws Exception;
    }

    /** Cassandra 4.0: HostIdMap and the 4-arg scrub are still there (deprecated). */
    public interface V40 extends WithPort {
        Map<String, String> getHostIdMap();
        int scrub(boolean disableSnapshot, boolean skipCorrupted, String keyspaceName, String... columnFamilies)
                throws Exception;
    }

    /** Cassandra 4.1: adds upgradeSSTables with maxSSTableTimestamp and getSnapshotDetails(Map). */
    public interface V41 extends V40 {
        int upgradeSSTables(String keyspaceName, boolean excludeCurrentVersion, long maxSSTableTimestamp, int jobs,
                String... tableNames) throws Exception;
        Map<String, TabularData> getSnapshotDetails(Map<String, String> options);
    }

    /** Cassandra 5.0-beta2: no HostIdMap, no 4-arg scrub; adds clearSnapshot(Map,..), rebuild ×5, GitSHA. */
    public interface V50 extends WithPort {
        int upgradeSSTables(String keyspaceName, boolean excludeCurrentVersion, long maxSSTableTimestamp, int jobs,
                String... tableNames) throws Exception;
        Map<String, TabularData> getSnapshotDetails(Map<String, String> options);
        void clearSnapshot(Map<String, Object> options, String tag, String... keyspaceNames) throws Exception;
        void rebuild(String sourceDc, String keyspace, String tokens, String specificSources,
                boolean excludeLocalDatacenterNodes);
        String getGitSHA();
        boolean isDecommissionFailed();
        boolean isDecommissioning();
    }

    /** The interface a node of {@code version} exports. */
    public static Class<?> forVersion(Version version) {
        switch (version.family()) {
            case V311: return V311.class;
            case V40: return V40.class;
            case V41: return V41.class;
            default: return V50.class;
        }
    }
}
