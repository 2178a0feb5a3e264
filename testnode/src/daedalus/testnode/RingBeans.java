package daedalus.testnode;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Behaviour behind EndpointSnitchInfo, FailureDetector and StorageProxy: read-only views of the {@link Ring} (each
 * member's datacenter and rack, up or down, status, schema version).
 */
final class RingBeans {
    private RingBeans() {}

    /**
     * EndpointSnitchInfo. Without a ring file it is SimpleSnitch (every endpoint in the schema's datacenter and rack);
     * with one, GossipingPropertyFileSnitch, which answers UNKNOWN_DC/UNKNOWN_RACK for an endpoint it does not know.
     */
    static final class Snitch implements Surfaces.Snitch {
        private final Node node;

        Snitch(Node node) {
            this.node = node;
        }

        private Ring.Member member(String host) throws UnknownHostException {
            String h = host.startsWith("/") ? host.substring(1) : host;
            if (!node.version.is311()) h = Ring.hostPart(h);
            InetAddress.getByName(h);
            return node.ring.find(h);
        }

        @Override
        public String getDatacenter(String host) throws UnknownHostException {
            Ring.Member m = member(host);
            if (!node.ring.fromFile) return node.schema.datacenter;
            return m == null ? "UNKNOWN_DC" : m.dc;
        }

        @Override
        public String getRack(String host) throws UnknownHostException {
            Ring.Member m = member(host);
            if (!node.ring.fromFile) return node.schema.rack;
            return m == null ? "UNKNOWN_RACK" : m.rack;
        }

        @Override public String getDatacenter() { return node.local.dc; }
        @Override public String getRack() { return node.local.rack; }

        @Override
        public String getSnitchName() {
            return node.ring.fromFile ? "org.apache.cassandra.locator.GossipingPropertyFileSnitch"
                    : "org.apache.cassandra.locator.SimpleSnitch";
        }
    }

    /** FailureDetector: keys in InetAddress.toString() form ("/127.0.0.1"). */
    static final class FailureDetector implements Surfaces.FailureDetector41 {
        private final Node node;

        FailureDetector(Node node) {
            this.node = node;
        }

        private String upDown(Ring.Member m) {
            return node.ring.isUp(m) ? "UP" : "DOWN";
        }

        @Override
        public Map<String, String> getSimpleStates() {
            Map<String, String> m = new HashMap<>();
            for (Ring.Member mem : node.ring.members) m.put("/" + mem.ip, upDown(mem));
            return m;
        }

        @Override
        public Map<String, String> getSimpleStatesWithPort() {
            Map<String, String> m = new HashMap<>();
            for (Ring.Member mem : node.ring.members) m.put("/" + mem.ip + ":" + Node.STORAGE_PORT, upDown(mem));
            return m;
        }

        @Override
        public int getDownEndpointCount() {
            int n = 0;
            for (Ring.Member m : node.ring.members) if (!node.ring.isUp(m)) n++;
            return n;
        }

        @Override
        public int getUpEndpointCount() {
            return node.ring.members.size() - getDownEndpointCount();
        }

        @Override public String getAllEndpointStates() { return states(false); }
        @Override public String getAllEndpointStatesWithPort() { return states(true); }
        @Override public String getAllEndpointStatesWithPortAndResolveIp() { return states(true); }

        @Override
        public String getEndpointState(String address) throws UnknownHostException {
            Ring.Member m = node.ring.find(address);
            return m == null ? "" : state(m, false);
        }

        private String states(boolean withPort) {
            StringBuilder b = new StringBuilder();
            for (Ring.Member m : node.ring.members) b.append(state(m, withPort));
            return b.toString();
        }

        private String state(Ring.Member m, boolean withPort) {
            String status = node.ring.status(m);
            String statusValue = status.equals("LEAVING") ? "LEAVING," : status.equals("JOINING") ? "BOOT," : status + ",";
            return "/" + m.ip + (withPort ? ":" + Node.STORAGE_PORT : "") + "\n"
                    + "  generation:1\n  heartbeat:1\n  STATUS:" + statusValue + m.tokens.get(0) + "\n"
                    + "  SCHEMA:" + node.schemaVersionOf(m) + "\n  DC:" + m.dc + "\n"
                    + "  RACK:" + m.rack + "\n  RELEASE_VERSION:" + node.version.release() + "\n"
                    + "  HOST_ID:" + m.hostId + "\n";
        }
    }

    /**
     * StorageProxy: schema agreement (version → endpoints; unreachable endpoints under "UNREACHABLE", as
     * StorageProxy.describeSchemaVersions does) and the truncate timeout.
     */
    static final class Proxy implements Surfaces.Proxy40 {
        private final Node node;
        private volatile Long truncateRpcTimeout = 60000L;

        Proxy(Node node) {
            this.node = node;
        }

        private Map<String, List<String>> versions(boolean port) {
            Map<String, List<String>> m = new HashMap<>();
            for (Ring.Member mem : node.ring.members) {
                String key = node.ring.isUp(mem) ? node.schemaVersionOf(mem) : "UNREACHABLE";
                m.computeIfAbsent(key, k -> new ArrayList<>()).add(port ? mem.ip + ":" + Node.STORAGE_PORT : mem.ip);
            }
            return m;
        }

        @Override public Map<String, List<String>> getSchemaVersions() { return versions(false); }
        @Override public Map<String, List<String>> getSchemaVersionsWithPort() { return versions(true); }
        @Override public Long getTruncateRpcTimeout() { return truncateRpcTimeout; }
        @Override public void setTruncateRpcTimeout(Long timeoutInMillis) { truncateRpcTimeout = timeoutInMillis; }
    }
}
