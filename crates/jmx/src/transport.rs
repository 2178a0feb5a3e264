//! JRMP stream protocol over one TCP (or TLS) connection: handshake, Call/Return, Ping, DgcAck.
//!
//! Owns the socket and the byte buffer of one connection. A Return has no length prefix, so the
//! caller supplies a parser that says "need more bytes" and the connection keeps reading, bounded
//! by a maximum message size. It must not know what a call means (that is `call`) nor pool
//! connections (that is `pool`). Timeouts are applied by the caller around these futures.

use std::future::Future;
use std::task::Poll;
use std::time::Instant;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::JmxError;

const MAGIC: [u8; 7] = [0x4A, 0x52, 0x4D, 0x49, 0x00, 0x02, 0x4B];
const PROTOCOL_ACK: u8 = 0x4E;
const PROTOCOL_NACK: u8 = 0x4F;
pub(crate) const OP_CALL: u8 = 0x50;
const OP_RETURN: u8 = 0x51;
const OP_PING: u8 = 0x52;
const OP_PING_ACK: u8 = 0x53;
const OP_DGC_ACK: u8 = 0x54;

/// Free space made in the read buffer before each read.
const READ_CHUNK: usize = 16 * 1024;
/// After a failed parse of an incomplete Return, how long the stream must stay quiet before
/// the next attempt is made without waiting for the buffer to double.
const PARSE_GRACE: std::time::Duration = std::time::Duration::from_millis(2);
/// A read buffer that grew beyond this for one large Return is freed after it.
const KEEP_BUFFER: usize = 256 * 1024;

trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

/// Where to connect: the host we were configured with, the port a stub named, and TLS or not.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Endpoint {
    pub host: String,
    pub port: u16,
    pub tls: bool,
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{}{}",
            self.host,
            self.port,
            if self.tls { " (TLS)" } else { "" }
        )
    }
}

/// Outcome of one parse attempt over the bytes received so far.
pub(crate) enum Parsed<T> {
    /// Done: the value and the number of bytes it used.
    Done(T, usize),
    /// The message is incomplete.
    NeedMore,
}

/// One established JRMP connection.
pub(crate) struct Connection {
    io: Box<dyn Stream>,
    buf: Vec<u8>,
    pub last_used: Instant,
}

impl Connection {
    /// Connects and performs the JRMP handshake (no timeout of its own).
    pub async fn open(
        ep: &Endpoint,
        tls: Option<&tokio_rustls::TlsConnector>,
    ) -> Result<Connection, JmxError> {
        let connect_err = |source: std::io::Error| JmxError::Connect {
            endpoint: ep.to_string(),
            source,
        };
        let tcp = TcpStream::connect((ep.host.as_str(), ep.port))
            .await
            .map_err(connect_err)?;
        tcp.set_nodelay(true).map_err(connect_err)?;
        let io: Box<dyn Stream> = if ep.tls {
            let tls = tls.ok_or_else(|| {
                JmxError::Tls(format!(
                    "{ep} requires TLS but no TLS configuration was given"
                ))
            })?;
            let name = crate::tls::server_name(&ep.host)?;
            let stream = tls
                .connect(name, tcp)
                .await
                .map_err(|e| JmxError::Tls(format!("handshake with {ep} failed: {e}")))?;
            Box::new(stream)
        } else {
            Box::new(tcp)
        };
        let mut conn = Connection {
            io,
            buf: Vec::new(),
            last_used: Instant::now(),
        };
        conn.handshake().await.map_err(|e| match e {
            JmxError::Io(source) => connect_err(source),
            other => other,
        })?;
        Ok(conn)
    }

    async fn handshake(&mut self) -> Result<(), JmxError> {
        self.io.write_all(&MAGIC).await?;
        self.io.flush().await?;
        match self.io.read_u8().await? {
            PROTOCOL_ACK => {}
            PROTOCOL_NACK => {
                return Err(JmxError::Protocol(
                    "server refused the JRMP stream protocol".into(),
                ))
            }
            // A TLS record (alert 0x15, handshake 0x16): the port wants TLS and we spoke plain
            // JRMP, as against a node run with `com.sun.management.jmxremote.ssl=true`.
            0x15 | 0x16 => {
                return Err(JmxError::Tls(
                    "the JMX port answered with TLS: the node runs JMX over TLS \
                     (com.sun.management.jmxremote.ssl=true); give the client the node's CA \
                     or certificate (the sidecar's --jmx-ssl-ca)"
                        .into(),
                ))
            }
            other => {
                return Err(JmxError::Protocol(format!(
                    "unexpected handshake byte {other:#04x}"
                )))
            }
        }
        // The server tells us how it sees us; we echo the host with port 0, as the JDK does.
        let len = self.io.read_u16().await? as usize;
        let mut host = vec![0u8; len];
        self.io.read_exact(&mut host).await?;
        let _port = self.io.read_i32().await?;
        let mut reply = Vec::with_capacity(len + 6);
        reply.extend_from_slice(&(len as u16).to_be_bytes());
        reply.extend_from_slice(&host);
        reply.extend_from_slice(&0i32.to_be_bytes());
        self.io.write_all(&reply).await?;
        Ok(())
    }

    /// Sends a complete Call message (starting with `0x50`) in one write and parses its Return.
    ///
    /// The reply is read straight into the connection's buffer (no separate read for the op
    /// byte). A Return has no length prefix, so each parse attempt starts from its beginning:
    /// the first attempt is made once no more bytes are immediately available (a small Return
    /// costs one read and one parse), and after a failed attempt the next one waits until the
    /// buffer has doubled, or until the stream has been quiet for [`PARSE_GRACE`], so a large
    /// Return arriving in many bursts is parsed a logarithmic number of times, not once per burst.
    pub async fn call<T>(
        &mut self,
        message: &[u8],
        max_bytes: usize,
        mut parse: impl FnMut(&[u8]) -> Result<Parsed<T>, JmxError>,
    ) -> Result<T, JmxError> {
        self.io.write_all(message).await?;
        self.io.flush().await?;
        self.buf.clear();
        // The op byte comes on top of the Return stream that `max_bytes` bounds.
        let limit = max_bytes.saturating_add(1);
        let mut next_parse_at = 0;
        let mut eof = self.read_more(limit).await?;
        let result = loop {
            match self.buf.first() {
                None | Some(&OP_RETURN) => {}
                Some(&op) => {
                    return Err(JmxError::Protocol(format!(
                        "expected a Return (0x51), got {op:#04x}"
                    )))
                }
            }
            if self.buf.len() > limit {
                return Err(JmxError::Protocol(format!(
                    "Return larger than {max_bytes} bytes"
                )));
            }
            if !eof && self.buf.len() < next_parse_at {
                if let Ok(more) = tokio::time::timeout(PARSE_GRACE, self.read_more(limit)).await {
                    eof = more?;
                    continue;
                }
            }
            if self.buf.len() > 1 {
                if let Parsed::Done(value, used) = parse(&self.buf[1..])? {
                    if used + 1 != self.buf.len() {
                        return Err(JmxError::Protocol(format!(
                            "{} unexpected bytes after a Return",
                            self.buf.len() - used - 1
                        )));
                    }
                    break value;
                }
                next_parse_at = self.buf.len().saturating_mul(2);
            }
            if eof {
                return Err(JmxError::Io(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "server closed the connection during a call",
                )));
            }
            eof = self.read_more(limit).await?;
        };
        self.last_used = Instant::now();
        // Give back the memory of a large Return; small buffers are kept for the next call.
        if self.buf.capacity() > KEEP_BUFFER {
            self.buf = Vec::new();
        }
        Ok(result)
    }

    /// Waits for more bytes, then also takes whatever else is already available, so a large
    /// Return is re-parsed once per burst rather than once per TCP segment. Returns whether the
    /// peer closed the connection.
    async fn read_more(&mut self, max_bytes: usize) -> Result<bool, JmxError> {
        self.buf.reserve(READ_CHUNK);
        if self.io.read_buf(&mut self.buf).await? == 0 {
            return Ok(true);
        }
        while self.buf.len() < max_bytes {
            if self.buf.capacity() == self.buf.len() {
                self.buf.reserve(READ_CHUNK);
            }
            // Poll the read exactly once: take only data that is already there.
            let mut read = std::pin::pin!(self.io.read_buf(&mut self.buf));
            let polled = std::future::poll_fn(|cx| Poll::Ready(read.as_mut().poll(cx))).await;
            match polled {
                Poll::Ready(Ok(0)) => return Ok(true),
                Poll::Ready(Ok(_)) => {}
                Poll::Ready(Err(e)) => return Err(e.into()),
                Poll::Pending => break,
            }
        }
        Ok(false)
    }

    /// Ping / PingAck: checks that an idle connection still works.
    pub async fn ping(&mut self) -> Result<(), JmxError> {
        self.io.write_all(&[OP_PING]).await?;
        self.io.flush().await?;
        match self.io.read_u8().await? {
            OP_PING_ACK => {
                self.last_used = Instant::now();
                Ok(())
            }
            other => Err(JmxError::Protocol(format!(
                "expected PingAck (0x53), got {other:#04x}"
            ))),
        }
    }

    /// DgcAck for a return that carried live remote references.
    pub async fn dgc_ack(&mut self, uid: &[u8; 14]) -> Result<(), JmxError> {
        let mut msg = [0u8; 15];
        msg[0] = OP_DGC_ACK;
        msg[1..].copy_from_slice(uid);
        self.io.write_all(&msg).await?;
        self.io.flush().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A connection over an in-memory pipe; the other end plays the server.
    fn pipe() -> (Connection, tokio::io::DuplexStream) {
        let (client, server) = tokio::io::duplex(1 << 20);
        let conn = Connection {
            io: Box::new(client),
            buf: Vec::new(),
            last_used: Instant::now(),
        };
        (conn, server)
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_return_in_many_bursts_is_parsed_a_few_times_not_once_per_burst() {
        const CHUNKS: usize = 64;
        const CHUNK: usize = 1024;
        let (mut conn, mut server) = pipe();
        let drip = tokio::spawn(async move {
            let mut call = [0u8; 3];
            server.read_exact(&mut call).await.unwrap();
            server.write_all(&[OP_RETURN]).await.unwrap();
            for _ in 0..CHUNKS {
                server.write_all(&[7u8; CHUNK]).await.unwrap();
                // Let the client drain this burst before the next one arrives.
                tokio::task::yield_now().await;
                tokio::task::yield_now().await;
            }
            server
        });
        let mut attempts = Vec::new();
        let total = conn
            .call(&[OP_CALL, 1, 2], 1 << 20, |bytes| {
                attempts.push(bytes.len());
                Ok(if bytes.len() == CHUNKS * CHUNK {
                    Parsed::Done(bytes.len(), bytes.len())
                } else {
                    Parsed::NeedMore
                })
            })
            .await
            .unwrap();
        drip.await.unwrap();
        assert_eq!(total, CHUNKS * CHUNK);
        // Each attempt waits for the buffer to double: about log2(64) attempts, plus the last
        // (a few more if the machine stalls this test past the quiet period; never 64).
        assert!(attempts.len() >= 2, "bursts were not seen: {attempts:?}");
        assert!(attempts.len() <= 12, "parsed once per burst: {attempts:?}");
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_small_return_is_read_and_parsed_once_and_trailing_bytes_are_refused() {
        let (mut conn, mut server) = pipe();
        server.write_all(&[OP_RETURN, 1, 2, 3]).await.unwrap();
        let mut attempts = 0;
        let got = conn
            .call(&[OP_CALL], 1024, |bytes| {
                attempts += 1;
                Ok(Parsed::Done(bytes.to_vec(), bytes.len()))
            })
            .await
            .unwrap();
        assert_eq!((got, attempts), (vec![1, 2, 3], 1));

        server.write_all(&[OP_RETURN, 1, 2, 3]).await.unwrap();
        let err = conn
            .call(&[OP_CALL], 1024, |_| Ok(Parsed::Done((), 2)))
            .await
            .unwrap_err();
        assert!(err.to_string().contains("1 unexpected bytes"), "{err}");

        server.write_all(&[0x52]).await.unwrap();
        let err = conn
            .call(&[OP_CALL], 1024, |_| Ok(Parsed::Done((), 0)))
            .await
            .unwrap_err();
        assert!(err.to_string().contains("got 0x52"), "{err}");
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_return_over_the_size_bound_is_refused() {
        let (mut conn, mut server) = pipe();
        server.write_all(&[OP_RETURN]).await.unwrap();
        server.write_all(&[0u8; 4096]).await.unwrap();
        let err = conn
            .call(&[OP_CALL], 1000, |_| Ok(Parsed::<()>::NeedMore))
            .await
            .unwrap_err();
        assert!(err.to_string().contains("larger than 1000"), "{err}");
    }
}
