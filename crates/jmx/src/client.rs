//! The JMX client: configuration, session (lookup + newClient), the RMIConnection calls, the
//! background lease renewal / keep-alive, reconnection and close.
//!
//! Owns the session lifecycle and the mapping of each `MBeanServerConnection`-style call onto an
//! RMI call. It must not encode bytes by hand (that is `call`/`dgc`) nor touch sockets directly
//! (that is `transport`/`pool`).

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use javaser::{Limits, Value};
use tokio::sync::Mutex;
use tokio::task::AbortHandle;

use crate::call::{self, Method, Outcome, Return, ReturnKind};
use crate::error::is_no_such_object;
use crate::info::MBeanInfo;
use crate::pool::Pool;
use crate::stub::{decode_stub, ObjId, RemoteRef};
use crate::throwable::JavaThrowable;
use crate::tls::TlsConfig;
use crate::transport::{Connection, Endpoint};
use crate::{dgc, hashes, JmxError};

/// User name and password, sent as `String[]{user, password}`.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub user: String,
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("user", &self.user)
            .field("password", &"***")
            .finish()
    }
}

/// Where and how to connect. Build with [`JmxConfig::new`] or `..Default::default()`.
#[derive(Debug, Clone)]
pub struct JmxConfig {
    /// The host to dial, for the registry and for every endpoint a stub names (whatever host
    /// the stub advertises).
    pub host: String,
    /// The RMI registry port (Cassandra: 7199).
    pub port: u16,
    pub credentials: Option<Credentials>,
    /// Bound on each TCP connect + JRMP/TLS handshake, and on the whole initial `connect`.
    pub connect_timeout: Duration,
    /// Bound on each call, including a transparent reconnection it may need.
    pub call_timeout: Duration,
    pub tls: Option<TlsConfig>,
    /// A `getDefaultDomain` keep-alive is sent when no call was made for this long, so the
    /// server's JMX idle timeout (`jmx.remote.x.server.connection.timeout`, default 120 s) never
    /// fires. The JDK client uses 60 s.
    pub keepalive_interval: Duration,
    /// DGC lease requested for the RMIConnection; renewed at half of what the server grants.
    pub lease: Duration,
    /// Bounds on every decoded message. Defaults to [`JmxConfig::DEFAULT_LIMITS`].
    pub limits: Limits,
}

impl JmxConfig {
    /// Limits sized for real Cassandra replies rather than `Limits::default()`: the token map
    /// of a 1000-node cluster with 256 vnodes (256 000 string pairs, ~10-15 MB) costs about
    /// 1.5 M values and 0.5 M handles, and must decode. Still bounded: a hostile peer can make
    /// one call hold at most a few hundred MB.
    pub const DEFAULT_LIMITS: Limits = Limits {
        max_depth: 64,
        max_total_bytes: 64 << 20,
        max_values: 6_000_000,
        max_string_len: 4 << 20,
        max_array_len: 16 << 20,
        max_handles: 3_000_000,
        max_block_bytes: 16 << 20,
    };
}

impl JmxConfig {
    pub fn new(host: impl Into<String>, port: u16) -> JmxConfig {
        JmxConfig {
            host: host.into(),
            port,
            ..JmxConfig::default()
        }
    }
}

impl Default for JmxConfig {
    fn default() -> Self {
        JmxConfig {
            host: "127.0.0.1".into(),
            port: 7199,
            credentials: None,
            connect_timeout: Duration::from_secs(10),
            call_timeout: Duration::from_secs(60),
            tls: None,
            keepalive_interval: Duration::from_secs(60),
            lease: Duration::from_secs(600),
            limits: JmxConfig::DEFAULT_LIMITS,
        }
    }
}

/// A JMX connection. Cheap to clone; all clones share one session and connection pool.
#[derive(Clone)]
pub struct JmxClient {
    inner: Arc<Inner>,
}

struct Inner {
    cfg: JmxConfig,
    tls: Option<tokio_rustls::TlsConnector>,
    vmid: dgc::Vmid,
    sequence: AtomicI64,
    closed: AtomicBool,
    sessions: AtomicU64,
    /// The current session. Every call reads it, so it sits behind a short synchronous lock
    /// (no await, no queueing of callers); `establishing` serializes the slow path.
    session: std::sync::Mutex<Option<Arc<Session>>>,
    establishing: Mutex<()>,
}

/// One `newClient` result: the RMIConnection and the pool of connections to its endpoint.
struct Session {
    pool: Arc<Pool>,
    connection: ObjId,
    /// The host name the server put in the RMIConnection stub (not dialed).
    advertised_host: String,
    last_call: Arc<LastCall>,
    maintenance: std::sync::Mutex<Option<AbortHandle>>,
}

impl Drop for Session {
    fn drop(&mut self) {
        if let Some(task) = self
            .maintenance
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
        {
            task.abort();
        }
    }
}

fn string_array(items: impl IntoIterator<Item = String>) -> Value {
    Value::Array {
        class: "[Ljava.lang.String;".into(),
        items: items.into_iter().map(Value::String).collect(),
    }
}

impl JmxClient {
    /// Looks up `jmxrmi`, authenticates with `newClient` and leases the RMIConnection.
    pub async fn connect(cfg: JmxConfig) -> Result<JmxClient, JmxError> {
        let tls = cfg.tls.as_ref().map(crate::tls::connector).transpose()?;
        let inner = Arc::new(Inner {
            tls,
            vmid: dgc::Vmid::random(),
            sequence: AtomicI64::new(dgc::FIRST_SEQUENCE),
            closed: AtomicBool::new(false),
            sessions: AtomicU64::new(0),
            session: std::sync::Mutex::new(None),
            establishing: Mutex::new(()),
            cfg,
        });
        let timeout = inner.cfg.connect_timeout;
        let session = match tokio::time::timeout(timeout, Inner::establish(&inner)).await {
            Ok(session) => session?,
            Err(_) => {
                return Err(JmxError::Timeout {
                    during: "connect",
                    after: timeout,
                })
            }
        };
        *inner.current() = Some(session);
        Ok(JmxClient { inner })
    }

    /// `MBeanServerConnection.invoke`. `params` are boxed as their variants say; `signature`
    /// holds the Java type names (`int`, `java.lang.String`, `[Ljava.lang.String;`).
    pub async fn invoke(
        &self,
        object_name: &str,
        operation: &str,
        params: &[Value],
        signature: &[&str],
    ) -> Result<Value, JmxError> {
        let name = Value::ObjectName(object_name.into());
        let op = Value::String(operation.into());
        let params = call::invoke_params(params)?;
        let sig = call::invoke_signature(signature);
        let args = [&name, &op, params.as_ref(), &sig, &Value::Null];
        self.call(hashes::INVOKE, &args, ReturnKind::Object).await
    }

    pub async fn get_attribute(
        &self,
        object_name: &str,
        attribute: &str,
    ) -> Result<Value, JmxError> {
        let name = Value::ObjectName(object_name.into());
        let attr = Value::String(attribute.into());
        let args = [&name, &attr, &Value::Null];
        self.call(hashes::GET_ATTRIBUTE, &args, ReturnKind::Object)
            .await
    }

    /// The attributes that could be read, in the server's order (failed ones are left out).
    pub async fn get_attributes(
        &self,
        object_name: &str,
        attributes: &[&str],
    ) -> Result<Vec<(String, Value)>, JmxError> {
        let name = Value::ObjectName(object_name.into());
        let names = string_array(attributes.iter().map(|s| s.to_string()));
        let args = [&name, &names, &Value::Null];
        let list = self
            .call(hashes::GET_ATTRIBUTES, &args, ReturnKind::Object)
            .await?;
        let items = list
            .as_items()
            .ok_or_else(|| JmxError::Protocol("getAttributes did not return a list".into()))?;
        items
            .iter()
            .map(|item| {
                let attr = item.as_object().ok_or_else(|| {
                    JmxError::Protocol("AttributeList holds a non-Attribute".into())
                })?;
                let name = attr
                    .field("name")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string();
                Ok((name, attr.field("value").cloned().unwrap_or(Value::Null)))
            })
            .collect()
    }

    pub async fn set_attribute(
        &self,
        object_name: &str,
        attribute: &str,
        value: Value,
    ) -> Result<(), JmxError> {
        let name = Value::ObjectName(object_name.into());
        let attr = call::marshalled(&call::attribute(attribute, value))?;
        let args = [&name, &attr, &Value::Null];
        self.call(hashes::SET_ATTRIBUTE, &args, ReturnKind::Void)
            .await
            .map(drop)
    }

    /// Names matching an ObjectName pattern (`*:*` for all), sorted.
    pub async fn query_names(&self, pattern: &str) -> Result<Vec<String>, JmxError> {
        let name = Value::ObjectName(pattern.into());
        let query = call::marshalled(&Value::Null)?;
        let args = [&name, &query, &Value::Null];
        let set = self
            .call(hashes::QUERY_NAMES, &args, ReturnKind::Object)
            .await?;
        let items = set
            .as_items()
            .ok_or_else(|| JmxError::Protocol("queryNames did not return a set".into()))?;
        let mut names = items
            .iter()
            .map(|v| match v {
                Value::ObjectName(n) => Ok(n.clone()),
                _ => Err(JmxError::Protocol(
                    "queryNames returned a non-ObjectName".into(),
                )),
            })
            .collect::<Result<Vec<_>, _>>()?;
        names.sort();
        Ok(names)
    }

    pub async fn is_registered(&self, object_name: &str) -> Result<bool, JmxError> {
        let name = Value::ObjectName(object_name.into());
        let args = [&name, &Value::Null];
        match self
            .call(hashes::IS_REGISTERED, &args, ReturnKind::Bool)
            .await?
        {
            Value::Bool(b) => Ok(b),
            _ => Err(JmxError::Protocol(
                "isRegistered did not return a boolean".into(),
            )),
        }
    }

    pub async fn get_mbean_info(&self, object_name: &str) -> Result<MBeanInfo, JmxError> {
        let name = Value::ObjectName(object_name.into());
        let args = [&name, &Value::Null];
        let info = self
            .call(hashes::GET_MBEAN_INFO, &args, ReturnKind::Object)
            .await?;
        MBeanInfo::from_value(&info)
    }

    /// The host name the server advertises in its stubs (informational; never dialed).
    pub async fn advertised_host(&self) -> Option<String> {
        self.inner
            .current()
            .as_ref()
            .map(|s| s.advertised_host.clone())
    }

    /// How many sessions (lookup + newClient) this client has established: 1 after `connect`,
    /// one more per transparent reconnection.
    pub fn sessions_established(&self) -> u64 {
        self.inner.sessions.load(Ordering::SeqCst)
    }

    /// `getDefaultDomain(null)`: the cheapest round trip (also the keep-alive).
    pub async fn get_default_domain(&self) -> Result<String, JmxError> {
        let v = self
            .call(
                hashes::GET_DEFAULT_DOMAIN,
                &[&Value::Null],
                ReturnKind::Object,
            )
            .await?;
        v.as_str()
            .map(str::to_string)
            .ok_or_else(|| JmxError::Protocol("getDefaultDomain did not return a string".into()))
    }

    /// Closes the RMIConnection and releases its DGC lease. Later calls fail with
    /// [`JmxError::Closed`]; clones are closed too.
    pub async fn close(&self) -> Result<(), JmxError> {
        if self.inner.closed.swap(true, Ordering::SeqCst) {
            return Ok(());
        }
        // Waits for an establishment under way, so its session is the one closed.
        let establishing = self.inner.establishing.lock().await;
        let taken = self.inner.current().take();
        drop(establishing);
        let Some(session) = taken else {
            return Ok(());
        };
        let timeout = self.inner.cfg.call_timeout;
        let result = tokio::time::timeout(timeout, async {
            let ret = session
                .call(
                    &self.inner,
                    Method::Hash(hashes::CLOSE),
                    &[],
                    ReturnKind::Void,
                )
                .await?;
            let close_result = match ret.outcome {
                Outcome::Normal(_) => Ok(()),
                Outcome::Exceptional(v) => Err(throwable_error(&v)),
            };
            let seq = self.inner.next_sequence();
            let msg = dgc::encode_clean(&[session.connection], seq, &self.inner.vmid, false);
            // Releasing the lease is best effort: the connection is closed either way.
            let _ = session.raw_call(&self.inner, &msg, ReturnKind::Void).await;
            close_result
        })
        .await
        .unwrap_or(Err(JmxError::Timeout {
            during: "close",
            after: timeout,
        }));
        session.pool.clear();
        result
    }

    async fn call(&self, hash: i64, args: &[&Value], kind: ReturnKind) -> Result<Value, JmxError> {
        let timeout = self.inner.cfg.call_timeout;
        match tokio::time::timeout(timeout, self.call_with_reconnect(hash, args, kind)).await {
            Ok(result) => result,
            Err(_) => Err(JmxError::Timeout {
                during: "call",
                after: timeout,
            }),
        }
    }

    async fn call_with_reconnect(
        &self,
        hash: i64,
        args: &[&Value],
        kind: ReturnKind,
    ) -> Result<Value, JmxError> {
        let mut retried = false;
        loop {
            let session = self.inner.session().await?;
            match session
                .call(&self.inner, Method::Hash(hash), args, kind)
                .await
            {
                Ok(Return {
                    outcome: Outcome::Normal(v),
                    ..
                }) => return Ok(v),
                Ok(Return {
                    outcome: Outcome::Exceptional(v),
                    ..
                }) => {
                    let t = JavaThrowable::from_value(&v).ok_or_else(|| {
                        JmxError::Protocol("exceptional return without a throwable".into())
                    })?;
                    // The server forgot our RMIConnection (restart, lease or idle expiry): the call
                    // was not executed, so a new session may run it.
                    if is_no_such_object(&t) && !retried {
                        self.inner.invalidate(&session);
                        retried = true;
                        continue;
                    }
                    return Err(JmxError::from_throwable(t));
                }
                // Nothing was sent: the server may have restarted elsewhere; look it up again.
                Err(JmxError::Connect { .. }) if !retried => {
                    self.inner.invalidate(&session);
                    retried = true;
                }
                Err(e) => return Err(e),
            }
        }
    }
}

fn throwable_error(v: &Value) -> JmxError {
    match JavaThrowable::from_value(v) {
        Some(t) => JmxError::from_throwable(t),
        None => JmxError::Protocol("exceptional return without a throwable".into()),
    }
}

impl Inner {
    fn next_sequence(&self) -> i64 {
        self.sequence.fetch_add(1, Ordering::SeqCst)
    }

    fn current(&self) -> std::sync::MutexGuard<'_, Option<Arc<Session>>> {
        self.session.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The current session, establishing one if there is none.
    async fn session(self: &Arc<Self>) -> Result<Arc<Session>, JmxError> {
        if self.closed.load(Ordering::SeqCst) {
            return Err(JmxError::Closed);
        }
        if let Some(s) = self.current().as_ref() {
            return Ok(s.clone());
        }
        let _establishing = self.establishing.lock().await;
        if let Some(s) = self.current().as_ref() {
            return Ok(s.clone());
        }
        if self.closed.load(Ordering::SeqCst) {
            return Err(JmxError::Closed);
        }
        let session = Inner::establish(self).await?;
        if self.closed.load(Ordering::SeqCst) {
            return Err(JmxError::Closed);
        }
        *self.current() = Some(session.clone());
        Ok(session)
    }

    fn invalidate(&self, session: &Arc<Session>) {
        let mut current = self.current();
        if current.as_ref().is_some_and(|s| Arc::ptr_eq(s, session)) {
            current.take();
        }
    }

    /// Registry lookup, newClient, DgcAcks and the first DGC.dirty; starts maintenance.
    async fn establish(self: &Arc<Self>) -> Result<Arc<Session>, JmxError> {
        let cfg = &self.cfg;
        let limits = cfg.limits;
        let registry_tls = cfg.tls.as_ref().is_some_and(|t| t.registry_tls);
        let registry = Pool::new(
            Endpoint {
                host: cfg.host.clone(),
                port: cfg.port,
                tls: registry_tls,
            },
            self.tls.clone(),
            cfg.connect_timeout,
        );
        let server = lookup(&registry, limits).await?;

        let endpoint = Endpoint {
            host: cfg.host.clone(),
            port: server.port,
            tls: server.tls,
        };
        let pool = Arc::new(Pool::new(endpoint, self.tls.clone(), cfg.connect_timeout));
        let mut conn = pool.get().await?;
        let credentials = match &cfg.credentials {
            Some(c) => string_array([c.user.clone(), c.password.clone()]),
            None => Value::Null,
        };
        let msg = call::encode_call(
            &server.obj_id,
            Method::Hash(hashes::NEW_CLIENT),
            &[&credentials],
        )?;
        let ret = exchange(&mut conn, &msg, ReturnKind::Object, limits).await?;
        let value = match ret.outcome {
            Outcome::Normal(v) => v,
            Outcome::Exceptional(v) => {
                let t = JavaThrowable::from_value(&v).ok_or_else(|| {
                    JmxError::Protocol("newClient failed without a throwable".into())
                })?;
                if t.has_class("java.lang.SecurityException") {
                    return Err(JmxError::Authentication(
                        t.message.clone().unwrap_or_else(|| t.summary()),
                    ));
                }
                return Err(JmxError::from_throwable(t));
            }
        };
        let connection = decode_stub(&value)?;
        if connection.is_result {
            conn.dgc_ack(&ret.uid).await?;
        }

        // Lease the RMIConnection like the JDK does, and keep renewing it (see maintenance).
        let seq = self.next_sequence();
        let msg = dgc::encode_dirty(
            &[connection.obj_id],
            seq,
            &self.vmid,
            cfg.lease.as_millis() as i64,
        );
        let ret = exchange(&mut conn, &msg, ReturnKind::Object, limits).await?;
        let granted = match ret.outcome {
            Outcome::Normal(v) => dgc::granted_lease(&v)?,
            Outcome::Exceptional(v) => return Err(throwable_error(&v)),
        };
        pool.put(conn);

        let session = Arc::new(Session {
            pool,
            connection: connection.obj_id,
            advertised_host: connection.host.clone(),
            last_call: Arc::new(LastCall::new()),
            maintenance: std::sync::Mutex::new(None),
        });
        let task = tokio::spawn(maintain(
            Arc::downgrade(self),
            session.pool.clone(),
            session.connection,
            session.last_call.clone(),
            Duration::from_millis(granted as u64),
        ));
        *session
            .maintenance
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = Some(task.abort_handle());
        self.sessions.fetch_add(1, Ordering::SeqCst);
        Ok(session)
    }
}

/// `Registry.lookup("jmxrmi")`: v1 first, then v2 for registries without a skeleton.
async fn lookup(registry: &Pool, limits: Limits) -> Result<RemoteRef, JmxError> {
    let name = Value::String("jmxrmi".into());
    let methods = [
        Method::Op(hashes::REGISTRY_OP_LOOKUP, hashes::REGISTRY_INTERFACE),
        Method::Hash(hashes::REGISTRY_LOOKUP),
    ];
    let mut last = None;
    for method in methods {
        let mut conn = registry.open().await?;
        let msg = call::encode_call(&ObjId::REGISTRY, method, &[&name])?;
        let ret = exchange(&mut conn, &msg, ReturnKind::Object, limits).await?;
        match ret.outcome {
            Outcome::Normal(v) => {
                let stub = decode_stub(&v)?;
                if stub.is_result {
                    conn.dgc_ack(&ret.uid).await?;
                }
                return Ok(stub);
            }
            Outcome::Exceptional(v) => {
                let t = JavaThrowable::from_value(&v).ok_or_else(|| {
                    JmxError::Protocol("lookup failed without a throwable".into())
                })?;
                let no_skeleton = t
                    .chain()
                    .any(|c| c.message.as_deref().is_some_and(|m| m.contains("skeleton")));
                if t.has_class("java.rmi.NotBoundException") {
                    return Err(JmxError::Protocol(format!(
                        "no \"jmxrmi\" in the RMI registry: {}",
                        t.summary()
                    )));
                }
                if !no_skeleton {
                    return Err(JmxError::from_throwable(t));
                }
                last = Some(t);
            }
        }
    }
    Err(JmxError::from_throwable(last.expect("a failed attempt")))
}

/// One Call/Return on a connection.
async fn exchange(
    conn: &mut Connection,
    msg: &[u8],
    kind: ReturnKind,
    limits: Limits,
) -> Result<Return, JmxError> {
    conn.call(msg, limits.max_total_bytes, |bytes| {
        call::parse_return(bytes, kind, limits)
    })
    .await
}

impl Session {
    async fn call(
        &self,
        inner: &Inner,
        method: Method,
        args: &[&Value],
        kind: ReturnKind,
    ) -> Result<Return, JmxError> {
        let msg = call::encode_call(&self.connection, method, args)?;
        self.raw_call(inner, &msg, kind).await
    }

    async fn raw_call(
        &self,
        inner: &Inner,
        msg: &[u8],
        kind: ReturnKind,
    ) -> Result<Return, JmxError> {
        let mut conn = self.pool.get().await?;
        let ret = exchange(&mut conn, msg, kind, inner.cfg.limits).await?;
        // After failing to unmarshal a call's arguments the JDK server closes the connection
        // right after its ExceptionalReturn (a ServerException): do not reuse it.
        if !ret.is_server_exception() {
            self.pool.put(conn);
        }
        self.last_call.touch();
        Ok(ret)
    }
}

/// When the session's last call ended, written by every call (concurrent callers included)
/// without a lock: microseconds since the session started.
struct LastCall {
    start: Instant,
    micros: AtomicU64,
}

impl LastCall {
    fn new() -> LastCall {
        LastCall {
            start: Instant::now(),
            micros: AtomicU64::new(0),
        }
    }

    fn touch(&self) {
        let micros = u64::try_from(self.start.elapsed().as_micros()).unwrap_or(u64::MAX);
        self.micros.fetch_max(micros, Ordering::Relaxed);
    }

    fn get(&self) -> Instant {
        self.start + Duration::from_micros(self.micros.load(Ordering::Relaxed))
    }
}

/// Shortest renewal / keep-alive period, whatever the server grants or the config says.
const MIN_PERIOD: Duration = Duration::from_millis(100);

/// Background duties of a session: renew the DGC lease at half the granted value, and send a
/// keep-alive when the connection has been idle for `keepalive_interval`. Ends when the client
/// is dropped; aborted when the session is replaced or closed.
async fn maintain(
    inner: Weak<Inner>,
    pool: Arc<Pool>,
    connection: ObjId,
    last_call: Arc<LastCall>,
    mut lease: Duration,
) {
    let mut next_renewal = Instant::now() + (lease / 2).max(MIN_PERIOD);
    loop {
        let Some(strong) = inner.upgrade() else {
            return;
        };
        let keepalive = strong.cfg.keepalive_interval.max(MIN_PERIOD);
        let call_timeout = strong.cfg.call_timeout;
        let limits = strong.cfg.limits;
        drop(strong);
        let last = last_call.get();
        let next_keepalive = last + keepalive;
        let wake = next_renewal.min(next_keepalive);
        tokio::time::sleep_until(wake.into()).await;
        let Some(strong) = inner.upgrade() else {
            return;
        };
        let now = Instant::now();
        if now >= next_renewal {
            let seq = strong.next_sequence();
            let msg = dgc::encode_dirty(
                &[connection],
                seq,
                &strong.vmid,
                strong.cfg.lease.as_millis() as i64,
            );
            let renewed = tokio::time::timeout(call_timeout, async {
                let mut conn = pool.get().await?;
                let ret = exchange(&mut conn, &msg, ReturnKind::Object, limits).await?;
                pool.put(conn);
                match ret.outcome {
                    Outcome::Normal(v) => dgc::granted_lease(&v),
                    Outcome::Exceptional(v) => Err(throwable_error(&v)),
                }
            })
            .await;
            match renewed {
                Ok(Ok(granted)) => {
                    lease = Duration::from_millis(granted as u64);
                    next_renewal = Instant::now() + (lease / 2).max(MIN_PERIOD);
                }
                Ok(Err(e)) => {
                    tracing::debug!(error = %e, "DGC lease renewal failed; retrying");
                    next_renewal = Instant::now() + (lease / 8).max(MIN_PERIOD);
                }
                Err(_) => next_renewal = Instant::now() + (lease / 8).max(MIN_PERIOD),
            }
        }
        let idle_since = last_call.get();
        if Instant::now() >= idle_since + keepalive {
            let msg = call::encode_call(
                &connection,
                Method::Hash(hashes::GET_DEFAULT_DOMAIN),
                &[&Value::Null],
            );
            let ok = match msg {
                Ok(msg) => tokio::time::timeout(call_timeout, async {
                    let mut conn = pool.get().await?;
                    let ret = exchange(&mut conn, &msg, ReturnKind::Object, limits).await?;
                    pool.put(conn);
                    Ok::<_, JmxError>(ret)
                })
                .await
                .is_ok_and(|r| r.is_ok()),
                Err(_) => false,
            };
            if !ok {
                tracing::debug!("JMX keep-alive failed");
            }
            // Count the attempt either way so a dead server is not hammered.
            last_call.touch();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_is_send_sync_and_config_hides_the_password() {
        fn assert_send_sync<T: Send + Sync + Clone>() {}
        assert_send_sync::<JmxClient>();
        let mut cfg = JmxConfig::new("h", 1);
        cfg.credentials = Some(Credentials {
            user: "u".into(),
            password: "hunter2".into(),
        });
        assert!(!format!("{cfg:?}").contains("hunter2"));
    }
}
