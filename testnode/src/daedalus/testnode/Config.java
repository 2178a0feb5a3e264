package daedalus.testnode;

import java.nio.file.Path;

/**
 * Command-line flags of {@code testnode/run}. Owns parsing and defaults only; nothing here starts anything.
 */
public final class Config {
    int port = 7199;
    String host = "127.0.0.1";
    Version version = Version.parse("4.1");
    Path dataDir;
    String clusterName = "Test Cluster";
    Path schemaFile;
    String jmxUser;
    String jmxPassword;
    boolean ssl;
    Path keystore;
    String keystorePassword;
    boolean sslNeedClientAuth;
    long compactionMillis = 300;
    long transitionMillis = 300;
    Path callLog;
    long leaseMillis;
    String hostnameAdvertised;
    int peers;
    boolean logReads;
    String hostId;
    boolean watchStdin;
    Path pidFile;
    /** "ks.t=DIR" or "ks.t.index=DIR", in flag order. */
    final java.util.List<String> seeds = new java.util.ArrayList<>();
    Path ringFile;
    boolean autoSnapshot = true;
    String schemaVersion;

    static final String USAGE = String.join("\n",
            "usage: testnode/run [--port P] [--host 127.0.0.1] [--cassandra-version 3.11|4.0|4.1|5.0|X.Y.Z]",
            "       [--data-dir D] [--cluster-name N] [--schema FILE] [--jmx-user U --jmx-password W]",
            "       [--ssl --keystore F --keystore-password P [--ssl-need-client-auth]]",
            "       [--compaction-millis N] [--transition-millis N] [--call-log FILE] [--log-reads]",
            "       [--lease-millis N] [--watch-stdin] [--hostname-advertised NAME] [--peers N] [--host-id UUID]",
            "       [--pid-file FILE] [--seed ks.t=DIR]... [--ring FILE] [--auto-snapshot true|false]",
            "       [--schema-version UUID]");

    static Config parse(String[] args) {
        Config c = new Config();
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            switch (a) {
                case "--port": c.port = Integer.parseInt(value(args, ++i, a)); break;
                case "--host": c.host = value(args, ++i, a); break;
                case "--cassandra-version": c.version = Version.parse(value(args, ++i, a)); break;
                case "--data-dir": c.dataDir = Path.of(value(args, ++i, a)); break;
                case "--cluster-name": c.clusterName = value(args, ++i, a); break;
                case "--schema": c.schemaFile = Path.of(value(args, ++i, a)); break;
                case "--jmx-user": c.jmxUser = value(args, ++i, a); break;
                case "--jmx-password": c.jmxPassword = value(args, ++i, a); break;
                case "--ssl": c.ssl = true; break;
                case "--keystore": c.keystore = Path.of(value(args, ++i, a)); break;
                case "--keystore-password": c.keystorePassword = value(args, ++i, a); break;
                case "--ssl-need-client-auth": c.sslNeedClientAuth = true; break;
                case "--compaction-millis": c.compactionMillis = Long.parseLong(value(args, ++i, a)); break;
                case "--transition-millis": c.transitionMillis = Long.parseLong(value(args, ++i, a)); break;
                case "--call-log": c.callLog = Path.of(value(args, ++i, a)); break;
                case "--log-reads": c.logReads = true; break;
                case "--lease-millis": c.leaseMillis = Long.parseLong(value(args, ++i, a)); break;
                case "--watch-stdin": c.watchStdin = true; break;
                case "--hostname-advertised": c.hostnameAdvertised = value(args, ++i, a); break;
                case "--peers": c.peers = Integer.parseInt(value(args, ++i, a)); break;
                case "--host-id": c.hostId = value(args, ++i, a); break;
                case "--pid-file": c.pidFile = Path.of(value(args, ++i, a)); break;
                case "--seed": c.seeds.add(value(args, ++i, a)); break;
                case "--ring": c.ringFile = Path.of(value(args, ++i, a)); break;
                case "--auto-snapshot": c.autoSnapshot = bool(value(args, ++i, a), a); break;
                case "--schema-version": c.schemaVersion = uuid(value(args, ++i, a), a); break;
                case "-h": case "--help": System.out.println(USAGE); System.exit(0); break;
                default: throw new IllegalArgumentException("unknown flag " + a + "\n" + USAGE);
            }
        }
        if ((c.jmxUser == null) != (c.jmxPassword == null)) {
            throw new IllegalArgumentException("--jmx-user and --jmx-password go together");
        }
        if (c.ssl && (c.keystore == null || c.keystorePassword == null)) {
            throw new IllegalArgumentException("--ssl needs --keystore and --keystore-password");
        }
        if (c.peers < 0 || c.peers > 200) throw new IllegalArgumentException("--peers must be 0..200");
        if (c.ringFile != null && c.peers > 0) throw new IllegalArgumentException("--ring and --peers exclude each other");
        if (c.hostId != null) uuid(c.hostId, "--host-id");
        return c;
    }

    private static boolean bool(String v, String flag) {
        if (v.equals("true")) return true;
        if (v.equals("false")) return false;
        throw new IllegalArgumentException(flag + " must be true or false, got " + v);
    }

    private static String uuid(String v, String flag) {
        try {
            return java.util.UUID.fromString(v).toString();
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(flag + " must be a UUID, got " + v);
        }
    }

    private static String value(String[] args, int i, String flag) {
        if (i >= args.length) throw new IllegalArgumentException(flag + " needs a value");
        return args[i];
    }
}
