//! `reel-stub oca`: a cache server ("Open Connect Appliance") for a media tree.
//!
//! HTTP/1.1 with keep-alive on hyper, GET and HEAD, single byte ranges (206, 416), ETag and
//! Last-Modified with conditional requests, explicit media types, and no way out of the root. It
//! reports its health and load on `GET /health` and logs CMCD data carried by requests.
//!
//! With an admin address it also takes fault settings (added latency, a per-connection throughput
//! cap, a 5xx rate, dropped connections, going down and coming back), which is how Reel's failover
//! and ABR are tested end to end. "Down" closes the listening socket, so new connections are
//! refused, and cuts the open ones, as a crashed cache would.

mod body;
pub(crate) mod cmcd;
mod meter;
pub mod path;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime};

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use hyper_util::rt::TokioIo;
use reel_protocol::{CacheHealth, Faults, FaultsUpdate};
use tokio::net::{TcpListener, TcpSocket};
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use cmcd::CmcdRecord;
use path::{PathError, content_type, resolve};

/// How to run a cache server.
#[derive(Debug, Clone)]
pub struct OcaConfig {
    /// Cache identifier, also its pathway id.
    pub id: String,
    /// Directory served (the media root).
    pub root: PathBuf,
    /// Service address (use port 0 for any free port).
    pub listen: SocketAddr,
    /// Admin address for fault controls; `None` disables them.
    pub admin: Option<SocketAddr>,
}

impl OcaConfig {
    /// A cache named `id` serving `root` on a free loopback port, without fault controls.
    pub fn loopback(id: &str, root: &std::path::Path) -> OcaConfig {
        OcaConfig {
            id: id.into(),
            root: root.to_path_buf(),
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            admin: None,
        }
    }
}

/// Errors starting a cache server.
#[derive(Debug, thiserror::Error)]
pub enum OcaError {
    /// The media root is missing or unreadable.
    #[error("media root {0}: {1}")]
    Root(String, std::io::Error),
    /// The address could not be bound.
    #[error("cannot listen on {0}: {1}")]
    Bind(SocketAddr, std::io::Error),
}

/// Shared state of one cache.
struct Cache {
    id: String,
    root: PathBuf,
    faults: RwLock<Faults>,
    up: watch::Sender<bool>,
    active_connections: AtomicU64,
    requests_served: AtomicU64,
    meter: meter::RateMeter,
    cmcd: Mutex<cmcd::CmcdLog>,
}

impl Cache {
    fn health(&self) -> CacheHealth {
        CacheHealth {
            id: self.id.clone(),
            up: *self.up.borrow(),
            active_connections: self.active_connections.load(Ordering::Relaxed),
            bytes_per_second: self.meter.rate(),
            requests_served: self.requests_served.load(Ordering::Relaxed),
        }
    }

    fn faults(&self) -> Faults {
        self.faults.read().expect("faults lock").clone()
    }

    fn update_faults(&self, update: &FaultsUpdate) -> Faults {
        let mut f = self.faults.write().expect("faults lock");
        f.apply(update);
        self.up.send_replace(f.up);
        f.clone()
    }
}

/// A running cache server. [`Oca::shutdown`] stops it and waits; dropping it stops it too.
pub struct Oca {
    /// The service address actually bound.
    pub addr: SocketAddr,
    /// The admin address actually bound, if any.
    pub admin_addr: Option<SocketAddr>,
    cache: Arc<Cache>,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Oca {
    /// Binds the sockets and starts serving.
    pub async fn start(config: OcaConfig) -> Result<Oca, OcaError> {
        let root = config
            .root
            .canonicalize()
            .map_err(|e| OcaError::Root(config.root.display().to_string(), e))?;
        let (up, _) = watch::channel(true);
        let cache = Arc::new(Cache {
            id: config.id.clone(),
            root,
            faults: RwLock::new(Faults::none()),
            up,
            active_connections: AtomicU64::new(0),
            requests_served: AtomicU64::new(0),
            meter: meter::RateMeter::new(),
            cmcd: Mutex::new(cmcd::CmcdLog::default()),
        });
        let (stop, _) = watch::channel(false);
        let listener = bind(config.listen)?;
        let addr = listener
            .local_addr()
            .map_err(|e| OcaError::Bind(config.listen, e))?;
        let service = Router::new()
            .route("/health", get(health))
            .fallback(serve_file)
            .with_state(cache.clone());
        let mut tasks = vec![tokio::spawn(accept_loop(
            listener,
            addr,
            service,
            cache.clone(),
            stop.subscribe(),
            true,
        ))];
        let mut admin_addr = None;
        if let Some(admin) = config.admin {
            let listener = bind(admin)?;
            let bound = listener
                .local_addr()
                .map_err(|e| OcaError::Bind(admin, e))?;
            admin_addr = Some(bound);
            let router = Router::new()
                .route("/health", get(health))
                .route("/admin/faults", get(get_faults).post(post_faults))
                .route("/admin/reset", axum::routing::post(reset_faults))
                .route("/admin/cmcd", get(get_cmcd))
                .with_state(cache.clone());
            tasks.push(tokio::spawn(accept_loop(
                listener,
                bound,
                router,
                cache.clone(),
                stop.subscribe(),
                false,
            )));
        }
        tracing::info!(cache = %config.id, %addr, admin = ?admin_addr, "cache serving {}", cache.root.display());
        Ok(Oca {
            addr,
            admin_addr,
            cache,
            stop,
            tasks,
        })
    }

    /// `http://ADDR` of the service port.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The cache's identifier.
    pub fn id(&self) -> &str {
        &self.cache.id
    }

    /// Current health, as `/health` reports it.
    pub fn health(&self) -> CacheHealth {
        self.cache.health()
    }

    /// Changes the fault settings in-process (what the admin endpoint does).
    pub fn set_faults(&self, update: &FaultsUpdate) -> Faults {
        self.cache.update_faults(update)
    }

    /// CMCD records of the most recent requests, oldest first.
    pub fn cmcd_records(&self) -> Vec<CmcdRecord> {
        self.cache.cmcd.lock().expect("cmcd lock").records()
    }

    /// Stops accepting, closes connections and waits for the tasks.
    pub async fn shutdown(self) {
        self.stop.send_replace(true);
        for t in self.tasks {
            let _ = tokio::time::timeout(Duration::from_secs(2), t).await;
        }
    }
}

fn bind(addr: SocketAddr) -> Result<TcpListener, OcaError> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()
    } else {
        TcpSocket::new_v6()
    }
    .map_err(|e| OcaError::Bind(addr, e))?;
    socket
        .set_reuseaddr(true)
        .map_err(|e| OcaError::Bind(addr, e))?;
    socket.bind(addr).map_err(|e| OcaError::Bind(addr, e))?;
    socket.listen(1024).map_err(|e| OcaError::Bind(addr, e))
}

/// Accepts connections while the cache is up (always, for the admin port); closes the listening
/// socket and every open connection while it is down, and binds the same address again when it
/// comes back.
async fn accept_loop(
    first: TcpListener,
    addr: SocketAddr,
    router: Router,
    cache: Arc<Cache>,
    mut stop: watch::Receiver<bool>,
    follows_up_state: bool,
) {
    let mut up = cache.up.subscribe();
    let mut listener = Some(first);
    loop {
        if follows_up_state && !*up.borrow_and_update() {
            listener = None;
            tokio::select! {
                _ = up.changed() => continue,
                _ = stop.changed() => return,
            }
        }
        let l = match listener.take() {
            Some(l) => l,
            None => match bind(addr) {
                Ok(l) => l,
                Err(e) => {
                    tracing::warn!(cache = %cache.id, "coming back up: {e}; retrying");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    continue;
                }
            },
        };
        loop {
            tokio::select! {
                accepted = l.accept() => match accepted {
                    Ok((stream, _peer)) => {
                        let _ = stream.set_nodelay(true);
                        tokio::spawn(serve_connection(
                            stream,
                            router.clone(),
                            cache.clone(),
                            stop.clone(),
                            follows_up_state,
                        ));
                    }
                    Err(e) => {
                        tracing::warn!(cache = %cache.id, "accept: {e}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                },
                _ = up.changed(), if follows_up_state => {
                    if !*up.borrow_and_update() {
                        tracing::info!(cache = %cache.id, "going down: refusing connections");
                        break;
                    }
                }
                _ = stop.changed() => return,
            }
        }
    }
}

struct ConnectionGuard(Arc<Cache>);

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        self.0.active_connections.fetch_sub(1, Ordering::Relaxed);
    }
}

async fn serve_connection(
    stream: tokio::net::TcpStream,
    router: Router,
    cache: Arc<Cache>,
    mut stop: watch::Receiver<bool>,
    follows_up_state: bool,
) {
    // Only client connections on the service port count as load.
    let _guard = follows_up_state.then(|| {
        cache.active_connections.fetch_add(1, Ordering::Relaxed);
        ConnectionGuard(cache.clone())
    });
    let mut up = cache.up.subscribe();
    let service = hyper_util::service::TowerToHyperService::new(router);
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(Duration::from_secs(30))
        .keep_alive(true)
        .serve_connection(TokioIo::new(stream), service);
    tokio::pin!(conn);
    let went_down = async {
        loop {
            if !*up.borrow_and_update() {
                return;
            }
            if up.changed().await.is_err() {
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        _ = conn.as_mut() => {}
        _ = went_down, if follows_up_state => {} // dropping the connection resets it
        _ = stop.changed() => {
            conn.as_mut().graceful_shutdown();
            let _ = tokio::time::timeout(Duration::from_secs(1), conn).await;
        }
    }
}

async fn health(State(cache): State<Arc<Cache>>) -> axum::Json<CacheHealth> {
    axum::Json(cache.health())
}

async fn get_faults(State(cache): State<Arc<Cache>>) -> axum::Json<Faults> {
    axum::Json(cache.faults())
}

async fn post_faults(State(cache): State<Arc<Cache>>, body: axum::body::Bytes) -> Response {
    match serde_json::from_slice::<FaultsUpdate>(&body) {
        Ok(update) => {
            let f = cache.update_faults(&update);
            tracing::info!(cache = %cache.id, faults = ?f, "fault settings changed");
            axum::Json(f).into_response()
        }
        Err(e) => json_error(
            StatusCode::BAD_REQUEST,
            "bad_request",
            &format!("bad fault settings: {e}"),
        ),
    }
}

async fn reset_faults(State(cache): State<Arc<Cache>>) -> axum::Json<Faults> {
    let none = Faults::none();
    let f = cache.update_faults(&FaultsUpdate {
        latency_ms: Some(none.latency_ms),
        throughput_kbps: Some(none.throughput_kbps),
        error_rate: Some(none.error_rate),
        drop_rate: Some(none.drop_rate),
        up: Some(true),
    });
    tracing::info!(cache = %cache.id, "faults cleared");
    axum::Json(f)
}

async fn get_cmcd(State(cache): State<Arc<Cache>>) -> axum::Json<Vec<CmcdRecord>> {
    axum::Json(cache.cmcd.lock().expect("cmcd lock").records())
}

fn json_error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        axum::Json(reel_protocol::ApiError {
            error: code.into(),
            message: message.into(),
        }),
    )
        .into_response()
}

fn etag_for(len: u64, modified: SystemTime) -> String {
    let nanos = modified
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("\"{len:x}-{nanos:x}\"")
}

/// What a GET of a file of `len` bytes answers, given its `Range` and `If-Range` headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RangeAnswer {
    /// 200 with the whole file: no range, one that does not parse, several ranges (or an
    /// empty file), or an `If-Range` that no longer matches.
    Whole,
    /// 206 with these bytes, inside the file.
    Partial(std::ops::RangeInclusive<u64>),
    /// 416: a range that lies wholly outside the file.
    Unsatisfiable,
}

/// Chooses the answer to a ranged request (RFC 9110 §14): the range applies when `If-Range`
/// is absent or names the file's current `etag` or `last_modified`.
pub(crate) fn choose_range(
    range: Option<&str>,
    if_range: Option<&str>,
    etag: &str,
    last_modified: &str,
    len: u64,
) -> RangeAnswer {
    let applies = if_range.is_none_or(|v| v == etag || v == last_modified);
    let Some(parsed) = range
        .filter(|_| applies)
        .and_then(|v| http_range_header::parse_range_header(v).ok())
    else {
        return RangeAnswer::Whole;
    };
    match parsed.validate(len) {
        Ok(ranges) if ranges.len() == 1 => RangeAnswer::Partial(ranges[0].clone()),
        Ok(_) => RangeAnswer::Whole,
        Err(_) => RangeAnswer::Unsatisfiable,
    }
}

fn etag_matches(header_value: &str, etag: &str) -> bool {
    header_value.trim() == "*"
        || header_value
            .split(',')
            .map(|t| t.trim().trim_start_matches("W/"))
            .any(|t| t == etag)
}

/// The media handler: everything but `/health`.
async fn serve_file(State(cache): State<Arc<Cache>>, request: Request) -> Response {
    cache.requests_served.fetch_add(1, Ordering::Relaxed);
    let method = request.method().clone();
    let uri = request.uri().clone();
    let headers = request.headers().clone();
    if let Some(record) = cmcd::CmcdRecord::from_request(&uri, &headers) {
        tracing::info!(target: "reel_stub::cmcd", cache = %cache.id, path = %uri.path(), cmcd = %record.summary(), "CMCD");
        cache.cmcd.lock().expect("cmcd lock").push(record);
    }
    let response = file_response(&cache, &method, &uri, &headers).await;
    tracing::debug!(cache = %cache.id, %method, path = %uri.path(), status = %response.status(), "request");
    response
}

async fn file_response(
    cache: &Arc<Cache>,
    method: &Method,
    uri: &axum::http::Uri,
    headers: &HeaderMap,
) -> Response {
    if method != Method::GET && method != Method::HEAD {
        let mut r = StatusCode::METHOD_NOT_ALLOWED.into_response();
        r.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return r;
    }
    let path = match resolve(&cache.root, uri.path()) {
        Ok(p) => p,
        Err(PathError::Bad) => {
            return (StatusCode::BAD_REQUEST, "bad request path\n").into_response();
        }
        Err(PathError::NotFound) => return (StatusCode::NOT_FOUND, "not found\n").into_response(),
    };
    let faults = cache.faults();
    if faults.latency_ms > 0 {
        tokio::time::sleep(Duration::from_millis(faults.latency_ms)).await;
    }
    if faults.error_rate > 0.0 && fastrand::f64() < faults.error_rate {
        let mut r = (StatusCode::SERVICE_UNAVAILABLE, "fault injected: 503\n").into_response();
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        return r;
    }
    let meta = match tokio::fs::metadata(&path).await {
        Ok(m) => m,
        Err(_) => return (StatusCode::NOT_FOUND, "not found\n").into_response(),
    };
    let len = meta.len();
    let modified = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
    let etag = etag_for(len, modified);
    let last_modified = httpdate::fmt_http_date(modified);

    let mut base = HeaderMap::new();
    base.insert(
        header::ETAG,
        HeaderValue::from_str(&etag).expect("etag is ASCII"),
    );
    base.insert(
        header::LAST_MODIFIED,
        HeaderValue::from_str(&last_modified).expect("dates are ASCII"),
    );
    base.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    base.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=86400"),
    );
    base.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    base.insert(
        "x-reel-cache",
        HeaderValue::from_str(&cache.id).unwrap_or(HeaderValue::from_static("oca")),
    );

    // Conditional requests (RFC 9110 §13): If-None-Match wins over If-Modified-Since.
    let not_modified = match headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
    {
        Some(inm) => etag_matches(inm, &etag),
        None => headers
            .get(header::IF_MODIFIED_SINCE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| httpdate::parse_http_date(v).ok())
            .is_some_and(|since| {
                modified
                    .duration_since(since)
                    .map_or(true, |d| d.as_secs() == 0)
            }),
    };
    if not_modified {
        let mut r = StatusCode::NOT_MODIFIED.into_response();
        r.headers_mut().extend(base);
        return r;
    }

    let text = |name| headers.get(name).and_then(|v| v.to_str().ok());
    let range = match choose_range(
        text(header::RANGE),
        text(header::IF_RANGE),
        &etag,
        &last_modified,
        len,
    ) {
        RangeAnswer::Whole => None,
        RangeAnswer::Partial(r) => Some(r),
        RangeAnswer::Unsatisfiable => {
            let mut r = StatusCode::RANGE_NOT_SATISFIABLE.into_response();
            r.headers_mut().extend(base);
            r.headers_mut().insert(
                header::CONTENT_RANGE,
                HeaderValue::from_str(&format!("bytes */{len}")).expect("ASCII"),
            );
            return r;
        }
    };

    let (status, start, length) = match &range {
        Some(r) => (
            StatusCode::PARTIAL_CONTENT,
            *r.start(),
            r.end() - r.start() + 1,
        ),
        None => (StatusCode::OK, 0, len),
    };
    let body = if method == Method::HEAD {
        axum::body::Body::empty()
    } else {
        match body::FileBody::open(&path, start, length, cache.clone()).await {
            Ok(b) => b.into_body(faults.drop_rate),
            Err(_) => return (StatusCode::NOT_FOUND, "not found\n").into_response(),
        }
    };
    let mut r = Response::new(body);
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.extend(base);
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(content_type(&path)),
    );
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    if let Some(range) = range {
        h.insert(
            header::CONTENT_RANGE,
            HeaderValue::from_str(&format!("bytes {}-{}/{len}", range.start(), range.end()))
                .expect("ASCII"),
        );
    }
    r
}
