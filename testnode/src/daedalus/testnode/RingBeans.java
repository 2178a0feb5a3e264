package daedalus.testnode;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Behaviour behind EndpointSnitchInfo, FailureDetector and StorageProxy: read-only views of the simulated ring
 * (every member is UP, in the schema's datacenter and rack, on the same schema version).
 */
final class RingBeans {
    private RingBeans() {}

    /** EndpointSnitchInfo. */
    static final class Snitch implements Surfaces.Snitch {
        private final Node node;

        Snitch(Node node) {
            this.node = node;
        }

        private String member(String host) throws UnknownHostException {
            String h = host.startsWith("/") ? host.substring(1) : host;
            if (!node.version.is311()) h = h.replaceAll("^\\[(.*)\\](:\\d+)?$", "$1").replaceAll("^([^:]*):\\d+$", "$1");
            return InetAddress.getByName(h).getHostAddress();
        }

        @Override
        public String getDatacenter(String host) throws UnknownHostException {
            member(host);
            return node.schema.datacenter;
        }

        @Override
        public String getRack(String host) throws UnknownHostException {
            member(host);
            return node.schema.rack;
        }

        @Override public String getDatacenter() { return node.schema.datacenter; }
        @Override public String getRack() { return node.schema.rack; }
        @Override public String getSnitchName() { return "org.apache.cassandra.locator.SimpleSnitch"; }
    }

    /** FailureDetector: keys in InetAddress.toString() form ("/127.0.0.1"). */
    static final class FailureDetector implements Surfaces.FailureDetector41 {
        private final Node node;

        FailureDetector(Node node) {
            this.node = node;
        }

        @Override
        public Map<String, String> getSimpleStates() {
            Map<String, String> m = new HashMap<>();
            for (Node.Member mem : node.ring) m.put("/" + mem.ip, "UP");
            return m;
        }

        @Override
        public Map<String, String> getSimpleStatesWithPort() {
            Map<String, String> m = new HashMap<>();
            for (Node.Member mem : node.ring) m.put("/" + mem.ip + ":" + Node.STORAGE_PORT, "UP");
            return m;
        }

        @Override public int getDownEndpointCount() { return 0; }
        @Override public int getUpEndpointCount() { return node.ring.size(); }

        @Override public String getAllEndpointStates() { return states(false); }
        @Override public String getAllEndpointStatesWithPort() { return states(true); }
        @Override public String getAllEndpointStatesWithPortAndResolveIp() { return states(true); }

        @Override
        public String getEndpointState(String address) throws UnknownHostException {
            String ip = InetAddress.getByName(address).getHostAddress();
            for (Node.Member m : node.ring) if (m.ip.equals(ip)) return state(m, false);
            return "";
        }

        private String states(boolean withPort) {
            StringBuilder b = new StringBuilder();
            for (Node.Member m : node.ring) b.append(state(m, withPort));
            return b.toString();
        }

        private String state(Node.Member m, boolean withPort) {
            return "/" + m.ip + (withPort ? ":" + Node.STORAGE_PORT : "") + "\n"
                    + "  generation:1\n  heartbeat:1\n  STATUS:NORMAL," + m.tokens.get(0) + "\n"
                    + "  SCHEMA:" + node.schemaVersion + "\n  DC:" + node.schema.datacenter + "\n"
                    + "  RACK:" + node.schema.rack + "\n  RELEASE_VERSION:" + node.version.release() + "\n"
                    + "  HOST_ID:" + m.hostId + "\n";
        }
    }

    /** StorageProxy: schema agreement and the truncate timeout. */
    static final class Proxy implements Surfaces.Proxy40 {
        private final Node node;
        private volatile Long truncateRpcTimeout = 60000L;

        Proxy(Node node) {
            this.node = node;
        }

        @Override
        public Map<String, List<String>> getSchemaVersions() {
            Map<String, List<String>> m = new HashMap<>();
            List<String> eps = new ArrayList<>();
            for (Node.Member mem : node.ring) eps.add(mem.ip);
            m.put(node.schemaVersion.toString(), eps);
            return m;
        }

        @Override
        public Map<String, List<String>> getSchemaVersionsWithPort() {
            Map<String, List<String>> m = new HashMap<>();
            List<String> eps = new ArrayList<>();
            for (Node.Member mem : node.ring) eps.add(mem.ip + ":" + Node.STORAGE_PORT);
            m.put(node.schemaVersion.toString(), eps);
            return m;
        }

        @Override public Long getTruncateRpcTimeout() { return truncateRpcTimeout; }
        @Override public void setTruncateRpcTimeout(Long timeoutInMillis) { truncateRpcTimeout = timeoutInMillis; }
    }
}
