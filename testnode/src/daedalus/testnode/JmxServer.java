package daedalus.testnode;

import java.io.IOException;
import java.net.InetAddress;
import java.rmi.registry.LocateRegistry;
import java.rmi.registry.Registry;
import java.rmi.server.RMIClientSocketFactory;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import javax.management.MBeanServer;
import javax.management.remote.JMXAuthenticator;
import javax.management.remote.JMXConnectorServer;
import javax.management.remote.JMXPrincipal;
import javax.management.remote.JMXServiceURL;
import javax.management.remote.rmi.RMIConnectorServer;
import javax.management.remote.rmi.RMIJRMPServerImpl;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import javax.rmi.ssl.SslRMIClientSocketFactory;
import javax.security.auth.Subject;

/**
 * Serves an MBeanServer the way Cassandra's JMXServerUtils does: the JDK RMI registry (name "jmxrmi") and the JDK
 * RMI connector server exported on the same port, optionally TLS on both, optionally a username/password check.
 * Owns the network side only.
 */
final class JmxServer {
    /** The port the registry and the connector listen on. */
    final int port;

    private JmxServer(int port) {
        this.port = port;
    }

    static JmxServer start(Config c, MBeanServer mbs) throws IOException, GeneralSecurityException {
        String advertised = c.hostnameAdvertised != null ? c.hostnameAdvertised : c.host;
        System.setProperty("java.rmi.server.hostname", advertised);
        System.setProperty("java.rmi.server.randomIDs", "true");
        SSLContext ssl = c.ssl ? sslContext(c) : null;
        TrackingSockets ssf = new TrackingSockets(InetAddress.getByName(c.host), ssl, c.sslNeedClientAuth);
        RMIClientSocketFactory csf = ssl != null ? new SslRMIClientSocketFactory() : null;
        Registry registry = LocateRegistry.createRegistry(c.port, csf, ssf);
        int port = ssf.boundPort();

        Map<String, Object> env = new HashMap<>();
        env.put(RMIConnectorServer.RMI_SERVER_SOCKET_FACTORY_ATTRIBUTE, ssf);
        if (csf != null) env.put(RMIConnectorServer.RMI_CLIENT_SOCKET_FACTORY_ATTRIBUTE, csf);
        env.put("jmx.remote.x.daemon", "true");
        env.put("jmx.remote.rmi.server.credential.types", new String[] {String[].class.getName(), String.class.getName()});
        if (c.jmxUser != null) env.put(JMXConnectorServer.AUTHENTICATOR, new PasswordCheck(c.jmxUser, c.jmxPassword));
        JMXServiceURL url = new JMXServiceURL("rmi", advertised, port);
        RMIJRMPServerImpl rmiServer = new RMIJRMPServerImpl(port, csf, ssf, env);
        RMIConnectorServer connector = new RMIConnectorServer(url, env, rmiServer, mbs);
        connector.start();
        try {
            registry.bind("jmxrmi", rmiServer.toStub());
        } catch (java.rmi.AlreadyBoundException e) {
            throw new IOException(e);
        }
        return new JmxServer(port);
    }

    private static SSLContext sslContext(Config c) throws IOException, GeneralSecurityException {
        char[] pw = c.keystorePassword.toCharArray();
        KeyStore ks = KeyStore.getInstance(c.keystore.toFile(), pw);
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(ks, pw);
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(ks);
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(kmf.getKeyManagers(), tmf.getTrustManagers(), null);
        return ctx;
    }

    /** One username/password pair, with the JDK JMXPluggableAuthenticator's failure messages. */
    private static final class PasswordCheck implements JMXAuthenticator {
        private final String user;
        private final String password;

        PasswordCheck(String user, String password) {
            this.user = user;
            this.password = password;
        }

        @Override
        public Subject authenticate(Object credentials) {
            if (credentials == null) throw new SecurityException("Authentication failed! Credentials required");
            if (!(credentials instanceof String[])) {
                throw new SecurityException("Authentication failed! Credentials should be String[]");
            }
            String[] pair = (String[]) credentials;
            if (pair.length != 2) throw new SecurityException("Authentication failed! Credentials should have 2 elements");
            if (!user.equals(pair[0]) || !password.equals(pair[1])) {
                throw new SecurityException("Authentication failed! Invalid username or password");
            }
            return new Subject(true, Set.of(new JMXPrincipal(user)), Set.of(), Set.of());
        }
    }
}
