package daedalus.testnode;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;

/**
 * The ring as this node sees it: every member's address, host id, datacenter, rack and tokens, plus what gossip
 * would tell (up or down, NORMAL/JOINING/LEAVING/MOVING, schema version).
 *
 * <p>Members come from a ring file shared by every node of a test cluster ({@code --ring}), or are simulated
 * ({@code --peers N}). With a ring file each peer is UP while its JMX port (the same port as this node's) accepts
 * TCP connections, probed every {@value #PROBE_MILLIS} ms, so a stopped node shows as DOWN on the others; tests can
 * force a peer DOWN and set its status or schema version through the Faults MBean. Owns the view only; it never
 * serves JMX.
 *
 * <p>Ring file: one line per endpoint, {@code <address> <host id> <datacenter> <rack> <token>[,<token>...]};
 * '#' starts a comment.
 */
final class Ring {
    /** One member of the ring. */
    static final class Member {
        final String ip;
        final UUID hostId;
        final String dc;
        final String rack;
        final List<Long> tokens;

        Member(String ip, UUID hostId, String dc, String rack, List<Long> tokens) {
            this.ip = ip;
            this.hostId = hostId;
            this.dc = dc;
            this.rack = rack;
            this.tokens = tokens;
        }
    }

    static final int NUM_TOKENS = 16;
    static final long PROBE_MILLIS = 200;
    static final List<String> STATUSES = List.of("NORMAL", "JOINING", "LEAVING", "MOVING");

    final List<Member> members;
    final Member local;
    /** Whether the members come from a ring file (the snitch is then GossipingPropertyFileSnitch). */
    final boolean fromFile;
    private final Supplier<String> localMode;
    private final Set<String> forcedDown = ConcurrentHashMap.newKeySet();
    private final Map<String, Boolean> probedUp = new ConcurrentHashMap<>();
    private final Map<String, String> statuses = new ConcurrentHashMap<>();
    private final Map<String, String> schemaVersions = new ConcurrentHashMap<>();
    private volatile boolean probing;

    private Ring(List<Member> members, Member local, boolean fromFile, Supplier<String> localMode) {
        this.members = Collections.unmodifiableList(members);
        this.local = local;
        this.fromFile = fromFile;
        this.localMode = localMode;
    }

    /** This node plus {@code peers} simulated members 127.0.0.2… (all UP, in this node's dc and rack). */
    static Ring simulated(String localIp, UUID hostId, int peers, String dc, String rack, Supplier<String> localMode) {
        List<Member> members = new ArrayList<>();
        Member local = new Member(localIp, hostId, dc, rack, randomTokens(hostId));
        members.add(local);
        for (int i = 0; i < peers; i++) {
            String ip = "127.0.0." + (i + 2);
            if (ip.equals(localIp)) ip = "127.0.1." + (i + 2);
            UUID id = UUID.nameUUIDFromBytes(("peer " + ip + " " + hostId).getBytes(StandardCharsets.UTF_8));
            members.add(new Member(ip, id, dc, rack, randomTokens(id)));
        }
        return new Ring(members, local, false, localMode);
    }

    /** Reads a ring file; the local member is the line whose address is {@code localIp}. */
    static Ring read(Path file, String localIp, Supplier<String> localMode) throws IOException {
        List<Member> members = new ArrayList<>();
        Set<String> ips = new HashSet<>();
        Set<UUID> ids = new HashSet<>();
        Set<Long> allTokens = new HashSet<>();
        Member local = null;
        int n = 0;
        for (String raw : Files.readAllLines(file)) {
            n++;
            String line = raw.replaceAll("#.*", "").trim();
            if (line.isEmpty()) continue;
            String where = file + ":" + n + ": ";
            String[] f = line.split("\\s+");
            if (f.length != 5) {
                throw new IOException(where + "expected '<address> <host id> <datacenter> <rack> <token>[,<token>...]'");
            }
            String ip;
            try {
                if (!f[0].matches("[0-9.]+|[0-9a-fA-F:]+")) throw new UnknownHostException(f[0]);
                ip = InetAddress.getByName(f[0]).getHostAddress();
            } catch (UnknownHostException e) {
                throw new IOException(where + "address must be an IP address, got " + f[0]);
            }
            UUID id;
            try {
                id = UUID.fromString(f[1]);
            } catch (IllegalArgumentException e) {
                throw new IOException(where + "host id must be a UUID, got " + f[1]);
            }
            List<Long> tokens = new ArrayList<>();
            for (String t : f[4].split(",")) {
                try {
                    tokens.add(Long.parseLong(t.trim()));
                } catch (NumberFormatException e) {
                    throw new IOException(where + "token must be a Murmur3 token (a signed 64-bit integer), got " + t);
                }
            }
            if (!ips.add(ip)) throw new IOException(where + "address " + ip + " listed twice");
            if (!ids.add(id)) throw new IOException(where + "host id " + id + " listed twice");
            for (Long t : tokens) {
                if (!allTokens.add(t)) throw new IOException(where + "token " + t + " listed twice");
            }
            tokens.sort(null);
            Member m = new Member(ip, id, f[2], f[3], Collections.unmodifiableList(tokens));
            members.add(m);
            if (ip.equals(localIp)) local = m;
        }
        if (local == null) throw new IOException(file + ": no line for this node's address " + localIp + " (--host)");
        return new Ring(members, local, true, localMode);
    }

    private static List<Long> randomTokens(UUID seed) {
        Random r = new Random(seed.getMostSignificantBits() ^ seed.getLeastSignificantBits());
        List<Long> out = new ArrayList<>();
        for (int i = 0; i < NUM_TOKENS; i++) out.add(r.nextLong());
        out.sort(null);
        return out;
    }

    /**
     * The member named by {@code endpoint} ("127.0.0.2", "127.0.0.2:7000", "/127.0.0.2", "[::1]:7000"), or null.
     * Unknown host names throw, as InetAddress does.
     */
    Member find(String endpoint) throws UnknownHostException {
        if (endpoint == null) return null;
        String ip = InetAddress.getByName(hostPart(endpoint)).getHostAddress();
        for (Member m : members) if (m.ip.equals(ip)) return m;
        return null;
    }

    /** The address part of an endpoint string, without "/" prefix or ":port" suffix. */
    static String hostPart(String endpoint) {
        String h = endpoint.trim();
        if (h.contains("/")) h = h.substring(h.indexOf('/') + 1);
        if (h.startsWith("[")) return h.substring(1, h.indexOf(']'));
        if (h.indexOf(':') == h.lastIndexOf(':')) h = h.replaceAll(":\\d+$", "");
        return h;
    }

    Member require(String endpoint) {
        try {
            Member m = find(endpoint);
            if (m != null) return m;
        } catch (UnknownHostException e) {
            // reported below
        }
        throw new IllegalArgumentException("endpoint " + endpoint + " is not in the ring");
    }

    boolean isUp(Member m) {
        if (m == local) return true;
        if (forcedDown.contains(m.ip)) return false;
        if (!probing) return true;
        return probedUp.getOrDefault(m.ip, false);
    }

    /** NORMAL, JOINING, LEAVING or MOVING; the local member follows the node's operation mode. */
    String status(Member m) {
        if (m == local) {
            String mode = localMode.get();
            if (mode.equals("LEAVING") || mode.equals("JOINING") || mode.equals("MOVING")) return mode;
        }
        return statuses.getOrDefault(m.ip, "NORMAL");
    }

    String schemaVersion(Member m, String defaultVersion) {
        return schemaVersions.getOrDefault(m.ip, defaultVersion);
    }

    void markDown(String endpoint) {
        forcedDown.add(require(endpoint).ip);
    }

    void markUp(String endpoint) {
        forcedDown.remove(require(endpoint).ip);
    }

    String setStatus(String endpoint, String status) {
        Member m = require(endpoint);
        String s = status == null ? "" : status.trim().toUpperCase(java.util.Locale.ROOT);
        if (!STATUSES.contains(s)) throw new IllegalArgumentException("status must be one of " + STATUSES + ", got " + status);
        String previous = status(m);
        statuses.put(m.ip, s);
        return previous;
    }

    String setSchemaVersion(String endpoint, String version, String defaultVersion) {
        Member m = require(endpoint);
        checkUuid(version);
        String previous = schemaVersion(m, defaultVersion);
        schemaVersions.put(m.ip, version);
        return previous;
    }

    static void checkUuid(String version) {
        try {
            UUID.fromString(String.valueOf(version));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("schema version must be a UUID, got " + version);
        }
    }

    /** Token → member, ascending token order. */
    TreeMap<Long, Member> tokenMap() {
        TreeMap<Long, Member> out = new TreeMap<>();
        for (Member m : members) for (Long t : m.tokens) out.put(t, m);
        return out;
    }

    Set<String> ips() {
        Set<String> out = new HashSet<>();
        for (Member m : members) out.add(m.ip);
        return out;
    }

    /**
     * Starts probing every other member's {@code port} in the background (a daemon thread); until a peer's first
     * probe succeeds it counts as DOWN. Used with a ring file only: simulated peers have no process to probe.
     */
    void startProbing(int port) {
        if (members.size() < 2) return;
        probeAll(port);
        probing = true;
        Thread t = new Thread(() -> {
            while (true) {
                StorageService.pause(PROBE_MILLIS);
                probeAll(port);
            }
        }, "ring-probe");
        t.setDaemon(true);
        t.start();
    }

    private void probeAll(int port) {
        for (Member m : members) {
            if (m == local) continue;
            boolean up;
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress(m.ip, port), (int) PROBE_MILLIS);
                up = true;
            } catch (IOException e) {
                up = false;
            }
            probedUp.put(m.ip, up);
        }
    }
}
