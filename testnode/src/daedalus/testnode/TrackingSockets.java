package daedalus.testnode;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.rmi.server.RMIServerSocketFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;

/**
 * The server socket factory shared by the RMI registry and the JMX connector (one port for both, as Cassandra's
 * JMXServerUtils does). It binds to one address, optionally wraps accepted sockets in TLS (like
 * javax.rmi.ssl.SslRMIServerSocketFactory), and remembers which accepted socket the current RMI thread is serving so a
 * fault can close the caller's TCP connection mid-call.
 *
 * <p>Owns sockets only; it knows nothing about MBeans.
 */
final class TrackingSockets implements RMIServerSocketFactory {
    private static final ThreadLocal<Socket> CURRENT = new ThreadLocal<>();
    private static volatile long lastRead = System.currentTimeMillis();

    private final InetAddress bindAddress;
    private final SSLContext ssl;
    private final boolean needClientAuth;
    private volatile int boundPort = -1;

    TrackingSockets(InetAddress bindAddress, SSLContext ssl, boolean needClientAuth) {
        this.bindAddress = bindAddress;
        this.ssl = ssl;
        this.needClientAuth = needClientAuth;
    }

    /** The port of the first server socket this factory opened (the registry's), or -1. */
    int boundPort() {
        return boundPort;
    }

    /** When bytes last arrived on any accepted connection (any RMI/JMX request, including registry lookups). */
    static long lastRead() {
        return lastRead;
    }

    /** Closes the TCP connection whose request the calling thread is serving; false if there is none. */
    static boolean closeCurrent() {
        Socket s = CURRENT.get();
        if (s == null) return false;
        try {
            s.close();
        } catch (IOException e) {
            return false;
        }
        return true;
    }

    @Override
    public ServerSocket createServerSocket(int port) throws IOException {
        ServerSocket server = new ServerSocket() {
            @Override
            public Socket accept() throws IOException {
                Socket plain = new Tracked();
                implAccept(plain);
                if (ssl == null) return plain;
                SSLSocket tls = (SSLSocket) ssl.getSocketFactory().createSocket(plain,
                        plain.getInetAddress().getHostAddress(), plain.getPort(), true);
                tls.setUseClientMode(false);
                tls.setNeedClientAuth(needClientAuth);
                return tls;
            }
        };
        server.setReuseAddress(true);
        server.bind(new InetSocketAddress(bindAddress, port), 64);
        if (boundPort < 0) boundPort = server.getLocalPort();
        return server;
    }

    /** An accepted socket whose reads tag the reading thread, so the thread's current call can be cut off. */
    private static final class Tracked extends Socket {
        private InputStream in;

        @Override
        public synchronized InputStream getInputStream() throws IOException {
            if (in == null) {
                in = new FilterInputStream(super.getInputStream()) {
                    @Override
                    public int read() throws IOException {
                        CURRENT.set(Tracked.this);
                        int b = super.read();
                        lastRead = System.currentTimeMillis();
                        return b;
                    }

                    @Override
                    public int read(byte[] b, int off, int len) throws IOException {
                        CURRENT.set(Tracked.this);
                        int n = super.read(b, off, len);
                        lastRead = System.currentTimeMillis();
                        return n;
                    }
                };
            }
            return in;
        }
    }
}
