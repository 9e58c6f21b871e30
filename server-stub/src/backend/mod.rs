//! `reel-stub backend`: the playback API and the content-steering server.
//!
//! - `POST /v1/login` → a signed bearer token; `GET /v1/titles` → the catalogue.
//! - `POST /v1/playback` (bearer token) → a session: its manifest URL, the pathways (caches) in
//!   priority order and the steering URI.
//! - `GET /v1/sessions/{id}/master.m3u8` and `…/manifest.mpd` → the session's manifest, with one
//!   URI set per pathway and `#EXT-X-CONTENT-STEERING` / `<ContentSteering>`.
//! - `GET /v1/steering/{id}` → the HLS or DASH-IF steering manifest, honouring `_HLS_pathway`,
//!   `_HLS_throughput` (or `_DASH_…`).
//! - `GET`, `PUT`, `DELETE /v1/bookmarks/{title}` (bearer token) → where this user left the title,
//!   kept in SQLite (see [`bookmarks`]) so that any of their players resumes there.
//!
//! The priority comes from polling every cache's `/health`: caches that are down go last, the
//! others by load (see [`steering`]).

pub mod auth;
pub mod bookmarks;
pub mod steering;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use reel_protocol::{
    ApiError, BookmarkUpdate, CacheHealth, CacheState, Catalogue, DashSteeringManifest, Format,
    HlsSteeringManifest, LoginRequest, LoginResponse, Pathway, PlaybackRequest, PlaybackResponse,
};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::manifest::{Delivery, dash, hls};
use crate::title::{TitleMeta, scan_media_root};
use auth::{TokenError, Tokens, User};
use bookmarks::{BookmarkError, Bookmarks};
use steering::{CacheStatus, ClientReport, Policy};

/// How to run the backend.
#[derive(Debug, Clone)]
pub struct BackendConfig {
    /// Media root (the same tree the caches serve).
    pub media: PathBuf,
    /// Listen address (port 0 for any free port).
    pub listen: SocketAddr,
    /// Caches as (pathway id, base URL), in configured order.
    pub caches: Vec<(String, String)>,
    /// Accounts; empty means the demo user only.
    pub users: Vec<User>,
    /// Token signing secret; random when `None` (tokens then die with the process).
    pub token_secret: Option<Vec<u8>>,
    /// Token lifetime.
    pub token_ttl: Duration,
    /// Steering manifest TTL in seconds.
    pub steering_ttl_s: u64,
    /// How often each cache's `/health` is polled.
    pub health_interval: Duration,
    /// The bookmark database (SQLite); in memory, gone with the process, when `None`.
    pub bookmarks_db: Option<PathBuf>,
    /// Longest a request may take, its body's arrival included; a slower one is answered 408.
    pub request_timeout: Duration,
}

/// Largest request body the API reads (logins, playback requests and bookmarks are a few
/// hundred bytes); a larger one is answered 413 unread.
pub const MAX_REQUEST_BODY_BYTES: usize = 64 * 1024;

impl BackendConfig {
    /// Defaults: demo user, 12 h tokens, 10 s steering TTL, health polled every second.
    pub fn new(
        media: impl Into<PathBuf>,
        listen: SocketAddr,
        caches: Vec<(String, String)>,
    ) -> Self {
        BackendConfig {
            media: media.into(),
            listen,
            caches,
            users: Vec::new(),
            token_secret: None,
            token_ttl: Duration::from_secs(12 * 3600),
            steering_ttl_s: 10,
            health_interval: Duration::from_secs(1),
            bookmarks_db: None,
            request_timeout: Duration::from_secs(10),
        }
    }
}

/// Errors starting the backend.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    /// The address could not be bound.
    #[error("cannot listen on {0}: {1}")]
    Bind(SocketAddr, std::io::Error),
    /// Bad configuration.
    #[error("{0}")]
    Config(String),
    /// The bookmark database cannot be opened.
    #[error(transparent)]
    Bookmarks(#[from] BookmarkError),
}

struct Session {
    title: String,
    format: Format,
    created: Instant,
    report: Mutex<ClientReport>,
}

/// Sessions kept at most; the oldest are forgotten past this.
const MAX_SESSIONS: usize = 10_000;

/// A fault the steering server can be told to show (for chaos tests and the demo).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SteeringFault {
    /// Answer normally.
    #[default]
    None,
    /// Answer 200 with a body that is not a steering manifest.
    Garbage,
    /// Answer 410 Gone (the client must stop reloading).
    Gone,
    /// Answer 429 with `Retry-After: 2`.
    TooManyRequests,
    /// Answer 503.
    Unavailable,
}

struct Backend {
    steering_fault: RwLock<SteeringFault>,
    media: PathBuf,
    public_url: String,
    caches: Vec<(String, String)>,
    status: RwLock<Vec<CacheStatus>>,
    users: Vec<User>,
    tokens: Tokens,
    steering_ttl_s: u64,
    policy: Policy,
    sessions: RwLock<HashMap<String, Arc<Session>>>,
    bookmarks: Bookmarks,
}

/// A running backend. [`BackendServer::shutdown`] stops it and waits; dropping it stops it too.
pub struct BackendServer {
    /// The address actually bound.
    pub addr: SocketAddr,
    backend: Arc<Backend>,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl BackendServer {
    /// Binds and starts serving and polling the caches.
    pub async fn start(config: BackendConfig) -> Result<BackendServer, BackendError> {
        if config.caches.is_empty() {
            return Err(BackendError::Config(
                "no cache given: pass at least one --oca ID=URL".into(),
            ));
        }
        let bookmarks = Bookmarks::open(config.bookmarks_db.as_deref())?;
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .map_err(|e| BackendError::Bind(config.listen, e))?;
        let addr = listener
            .local_addr()
            .map_err(|e| BackendError::Bind(config.listen, e))?;
        let secret = config
            .token_secret
            .clone()
            .unwrap_or_else(auth::random_secret);
        let users = if config.users.is_empty() {
            vec![User {
                name: auth::DEMO_USER.0.into(),
                password: auth::DEMO_USER.1.into(),
            }]
        } else {
            config.users.clone()
        };
        let caches: Vec<(String, String)> = config
            .caches
            .iter()
            .map(|(id, url)| (id.clone(), url.trim_end_matches('/').to_string()))
            .collect();
        let backend = Arc::new(Backend {
            steering_fault: RwLock::new(SteeringFault::None),
            media: config.media.clone(),
            public_url: format!("http://{addr}"),
            status: RwLock::new(
                caches
                    .iter()
                    .map(|(id, _)| CacheStatus {
                        id: id.clone(),
                        up: true,
                        active_connections: 0,
                        bytes_per_second: 0.0,
                    })
                    .collect(),
            ),
            caches,
            users,
            tokens: Tokens::new(&secret, config.token_ttl),
            steering_ttl_s: config.steering_ttl_s,
            policy: Policy::default(),
            sessions: RwLock::new(HashMap::new()),
            bookmarks,
        });
        let router = Router::new()
            .route(
                "/health",
                get(|| async { axum::Json(serde_json::json!({"ok": true})) }),
            )
            .route("/v1/login", post(login))
            .route("/v1/titles", get(titles))
            .route("/v1/caches", get(caches_status))
            .route("/v1/playback", post(playback))
            .route("/v1/sessions/{id}/master.m3u8", get(session_hls))
            .route("/v1/sessions/{id}/manifest.mpd", get(session_dash))
            .route("/v1/steering/{id}", get(steering_manifest))
            .route(
                "/v1/bookmarks/{title}",
                get(get_bookmark).put(put_bookmark).delete(delete_bookmark),
            )
            .fallback(|| async {
                Failure::new(StatusCode::NOT_FOUND, "not_found", "no such endpoint")
            })
            .layer(axum::extract::DefaultBodyLimit::max(MAX_REQUEST_BODY_BYTES))
            .layer(tower_http::timeout::TimeoutLayer::with_status_code(
                StatusCode::REQUEST_TIMEOUT,
                config.request_timeout,
            ))
            .with_state(backend.clone());
        let (stop, _) = watch::channel(false);
        let mut stop_rx = stop.subscribe();
        let server = tokio::spawn(async move {
            let shutdown = async move {
                let _ = stop_rx.changed().await;
            };
            if let Err(e) = axum::serve(listener, router)
                .with_graceful_shutdown(shutdown)
                .await
            {
                tracing::error!("backend server: {e}");
            }
        });
        let poller = tokio::spawn(poll_health(
            backend.clone(),
            config.health_interval,
            stop.subscribe(),
        ));
        tracing::info!(%addr, caches = backend.caches.len(), "playback API and steering serving");
        Ok(BackendServer {
            addr,
            backend,
            stop,
            tasks: vec![server, poller],
        })
    }

    /// `http://ADDR`.
    pub fn url(&self) -> String {
        self.backend.public_url.clone()
    }

    /// Makes the steering server misbehave (or behave again, with [`SteeringFault::None`]).
    pub fn set_steering_fault(&self, fault: SteeringFault) {
        *self.backend.steering_fault.write().expect("fault lock") = fault;
    }

    /// The last polled status of every cache.
    pub fn cache_status(&self) -> Vec<CacheStatus> {
        self.backend.status.read().expect("status lock").clone()
    }

    /// Stops serving and polling.
    pub async fn shutdown(self) {
        self.stop.send_replace(true);
        for t in self.tasks {
            let _ = tokio::time::timeout(Duration::from_secs(3), t).await;
        }
    }
}

async fn poll_health(backend: Arc<Backend>, interval: Duration, mut stop: watch::Receiver<bool>) {
    let client = reqwest::Client::builder()
        .timeout(interval.min(Duration::from_millis(800)))
        .pool_max_idle_per_host(1)
        .build()
        .expect("a plain HTTP client builds");
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = stop.changed() => return,
        }
        let polls = backend.caches.iter().map(|(id, url)| {
            let client = client.clone();
            let id = id.clone();
            let url = format!("{url}/health");
            async move {
                let health: Option<CacheHealth> = match client.get(&url).send().await {
                    Ok(r) if r.status().is_success() => r.json().await.ok(),
                    _ => None,
                };
                match health {
                    Some(h) => CacheStatus {
                        id,
                        up: h.up,
                        active_connections: h.active_connections,
                        bytes_per_second: h.bytes_per_second,
                    },
                    None => CacheStatus {
                        id,
                        up: false,
                        active_connections: 0,
                        bytes_per_second: 0.0,
                    },
                }
            }
        });
        let statuses = futures_util::future::join_all(polls).await;
        let mut current = backend.status.write().expect("status lock");
        for (old, new) in current.iter().zip(&statuses) {
            if old.up != new.up {
                tracing::info!(cache = %new.id, up = new.up, "cache health changed");
            }
        }
        *current = statuses;
    }
}

/// An error answer of the API: a status and an [`ApiError`] body.
pub(crate) struct Failure {
    pub(crate) status: StatusCode,
    pub(crate) code: &'static str,
    pub(crate) message: String,
    challenge: Option<&'static str>,
}

impl Failure {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Failure {
            status,
            code,
            message: message.into(),
            challenge: None,
        }
    }

    fn unauthorized(e: TokenError) -> Self {
        let challenge = match e {
            TokenError::Missing => "Bearer realm=\"reel\"",
            TokenError::Expired => {
                "Bearer realm=\"reel\", error=\"invalid_token\", error_description=\"expired\""
            }
            TokenError::Invalid => "Bearer realm=\"reel\", error=\"invalid_token\"",
        };
        Failure {
            challenge: Some(challenge),
            ..Failure::new(StatusCode::UNAUTHORIZED, "unauthorized", e.to_string())
        }
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        let mut r = (
            self.status,
            axum::Json(ApiError {
                error: self.code.into(),
                message: self.message,
            }),
        )
            .into_response();
        if let Some(c) = self.challenge {
            r.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(c));
        }
        r
    }
}

/// A request body as `T`, or 400 saying why in one line: serde quotes what it did not expect
/// (an unknown variant as sent, newlines and all), so the quote is folded onto one line and cut
/// at 200 characters.
pub(crate) fn parse_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, Failure> {
    serde_json::from_slice(body).map_err(|e| {
        let said: Vec<String> = e.to_string().split_whitespace().map(String::from).collect();
        let said: String = said.join(" ").chars().take(200).collect();
        Failure::new(
            StatusCode::BAD_REQUEST,
            "bad_request",
            format!("the request body is not valid JSON of the expected shape: {said}"),
        )
    })
}

/// A bookmark update's body: JSON, and a position within a positive duration.
pub(crate) fn bookmark_update(body: &[u8]) -> Result<BookmarkUpdate, Failure> {
    let update: BookmarkUpdate = parse_json(body)?;
    let valid = update.duration_s.is_finite()
        && update.duration_s > 0.0
        && update.position_s.is_finite()
        && (0.0..=update.duration_s).contains(&update.position_s);
    if !valid {
        return Err(Failure::new(
            StatusCode::BAD_REQUEST,
            "bad_bookmark",
            format!(
                "a bookmark needs 0 <= position_s <= duration_s and duration_s > 0 (got {} of {})",
                update.position_s, update.duration_s
            ),
        ));
    }
    Ok(update)
}

async fn login(
    State(b): State<Arc<Backend>>,
    body: axum::body::Bytes,
) -> Result<Response, Failure> {
    let req: LoginRequest = parse_json(&body)?;
    let known = b
        .users
        .iter()
        .any(|u| u.name == req.user && u.password == req.password);
    if !known {
        tracing::info!(user = %req.user, "login refused");
        return Err(Failure::new(
            StatusCode::UNAUTHORIZED,
            "invalid_credentials",
            "unknown user or wrong password",
        ));
    }
    let (token, expires_at) = b.tokens.issue(&req.user);
    tracing::info!(user = %req.user, "login");
    Ok(axum::Json(LoginResponse {
        token,
        token_type: "Bearer".into(),
        expires_at,
    })
    .into_response())
}

fn load_titles(b: &Backend) -> Result<Vec<TitleMeta>, Failure> {
    scan_media_root(&b.media).map_err(|e| {
        Failure::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "media_unavailable",
            format!("cannot read the media root: {e}"),
        )
    })
}

async fn titles(State(b): State<Arc<Backend>>) -> Result<Response, Failure> {
    let titles = load_titles(&b)?;
    Ok(axum::Json(Catalogue {
        titles: titles.iter().map(TitleMeta::catalogue_entry).collect(),
    })
    .into_response())
}

async fn caches_status(State(b): State<Arc<Backend>>) -> Response {
    let status = b.status.read().expect("status lock").clone();
    let list: Vec<CacheState> = status
        .iter()
        .zip(&b.caches)
        .map(|(s, (_, url))| CacheState {
            id: s.id.clone(),
            url: url.clone(),
            up: s.up,
            active_connections: s.active_connections,
            bytes_per_second: s.bytes_per_second,
        })
        .collect();
    axum::Json(list).into_response()
}

impl Backend {
    fn priority(&self, report: &ClientReport) -> Vec<String> {
        let status = self.status.read().expect("status lock");
        steering::pathway_priority(&status, report, &self.policy)
    }

    fn pathways(&self, title: &str, order: &[String]) -> Vec<Pathway> {
        order
            .iter()
            .filter_map(|id| {
                self.caches
                    .iter()
                    .find(|(c, _)| c == id)
                    .map(|(id, url)| Pathway {
                        id: id.clone(),
                        base_url: format!("{url}/{title}/"),
                    })
            })
            .collect()
    }

    fn session(&self, id: &str) -> Result<Arc<Session>, Failure> {
        self.sessions
            .read()
            .expect("sessions lock")
            .get(id)
            .cloned()
            .ok_or_else(|| {
                Failure::new(
                    StatusCode::NOT_FOUND,
                    "unknown_session",
                    "no such playback session",
                )
            })
    }

    fn steering_uri(&self, session_id: &str) -> String {
        format!("{}/v1/steering/{session_id}", self.public_url)
    }
}

/// The user a request's bearer token names.
fn signed_in(b: &Backend, headers: &HeaderMap) -> Result<String, Failure> {
    let auth = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    b.tokens.verify_header(auth).map_err(Failure::unauthorized)
}

fn known_title(b: &Backend, title: &str) -> Result<(), Failure> {
    if load_titles(b)?.iter().any(|t| t.id == title) {
        Ok(())
    } else {
        Err(Failure::new(
            StatusCode::NOT_FOUND,
            "unknown_title",
            format!("no title {title:?} in the catalogue"),
        ))
    }
}

fn bookmark_failure(e: BookmarkError) -> Failure {
    tracing::error!("{e}");
    Failure::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "bookmarks_unavailable",
        e.to_string(),
    )
}

async fn get_bookmark(
    State(b): State<Arc<Backend>>,
    Path(title): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Failure> {
    let user = signed_in(&b, &headers)?;
    match b.bookmarks.get(&user, &title).map_err(bookmark_failure)? {
        Some(bookmark) => Ok(axum::Json(bookmark).into_response()),
        None => Err(Failure::new(
            StatusCode::NOT_FOUND,
            "no_bookmark",
            format!("no bookmark for {title:?}"),
        )),
    }
}

async fn put_bookmark(
    State(b): State<Arc<Backend>>,
    Path(title): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, Failure> {
    let user = signed_in(&b, &headers)?;
    let update = bookmark_update(&body)?;
    known_title(&b, &title)?;
    let stored = b
        .bookmarks
        .put(&user, &title, update.position_s, update.duration_s)
        .map_err(bookmark_failure)?;
    tracing::info!(%user, %title, position_s = stored.position_s, "bookmark saved");
    Ok(axum::Json(stored).into_response())
}

async fn delete_bookmark(
    State(b): State<Arc<Backend>>,
    Path(title): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Failure> {
    let user = signed_in(&b, &headers)?;
    b.bookmarks
        .delete(&user, &title)
        .map_err(bookmark_failure)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn playback(
    State(b): State<Arc<Backend>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, Failure> {
    let auth = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let user = b
        .tokens
        .verify_header(auth)
        .map_err(Failure::unauthorized)?;
    let req: PlaybackRequest = parse_json(&body)?;
    if !load_titles(&b)?.iter().any(|t| t.id == req.title) {
        return Err(Failure::new(
            StatusCode::NOT_FOUND,
            "unknown_title",
            format!("no title {:?} in the catalogue", req.title),
        ));
    }
    let session_id = auth::random_id();
    {
        let mut sessions = b.sessions.write().expect("sessions lock");
        if sessions.len() >= MAX_SESSIONS
            && let Some(oldest) = sessions
                .iter()
                .min_by_key(|(_, s)| s.created)
                .map(|(k, _)| k.clone())
        {
            sessions.remove(&oldest);
        }
        sessions.insert(
            session_id.clone(),
            Arc::new(Session {
                title: req.title.clone(),
                format: req.format,
                created: Instant::now(),
                report: Mutex::new(ClientReport::default()),
            }),
        );
    }
    let order = b.priority(&ClientReport::default());
    let manifest = match req.format {
        Format::Hls => "master.m3u8",
        Format::Dash => "manifest.mpd",
    };
    tracing::info!(%user, title = %req.title, format = ?req.format, session = %session_id, "playback session");
    Ok(axum::Json(PlaybackResponse {
        manifest_url: format!("{}/v1/sessions/{session_id}/{manifest}", b.public_url),
        pathways: b.pathways(&req.title, &order),
        steering_uri: b.steering_uri(&session_id),
        session_id,
    })
    .into_response())
}

fn session_manifest(b: &Backend, id: &str, format: Format) -> Result<Response, Failure> {
    let session = b.session(id)?;
    if session.format != format {
        return Err(Failure::new(
            StatusCode::NOT_FOUND,
            "wrong_format",
            "this session was opened for the other manifest format",
        ));
    }
    let title = TitleMeta::load(&b.media.join(&session.title))
        .map_err(|e| Failure::new(StatusCode::NOT_FOUND, "unknown_title", e.to_string()))?;
    let order = b.priority(&session.report.lock().expect("report lock").clone());
    let pathways = b.pathways(&title.id, &order);
    let steering_uri = b.steering_uri(id);
    let delivery = Delivery::Steered {
        pathways: &pathways,
        steering_uri: &steering_uri,
    };
    let (text, content_type) = match format {
        Format::Hls => (
            hls::multivariant(&title, delivery),
            "application/vnd.apple.mpegurl",
        ),
        Format::Dash => (dash::mpd(&title, delivery), "application/dash+xml"),
    };
    Ok((
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-store"),
        ],
        text,
    )
        .into_response())
}

async fn session_hls(
    State(b): State<Arc<Backend>>,
    Path(id): Path<String>,
) -> Result<Response, Failure> {
    session_manifest(&b, &id, Format::Hls)
}

async fn session_dash(
    State(b): State<Arc<Backend>>,
    Path(id): Path<String>,
) -> Result<Response, Failure> {
    session_manifest(&b, &id, Format::Dash)
}

async fn steering_manifest(
    State(b): State<Arc<Backend>>,
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, Failure> {
    let session = b.session(&id)?;
    let fault = *b.steering_fault.read().expect("fault lock");
    match fault {
        SteeringFault::None => {}
        SteeringFault::Garbage => {
            return Ok((
                [(header::CONTENT_TYPE, "application/json")],
                "{\"oops\": [1, 2",
            )
                .into_response());
        }
        SteeringFault::Gone => {
            return Err(Failure::new(
                StatusCode::GONE,
                "gone",
                "steering has ended for this session",
            ));
        }
        SteeringFault::TooManyRequests => {
            return Ok((
                StatusCode::TOO_MANY_REQUESTS,
                [(header::RETRY_AFTER, "2")],
                "slow down",
            )
                .into_response());
        }
        SteeringFault::Unavailable => {
            return Err(Failure::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "the steering server is overloaded",
            ));
        }
    }
    let report = steering::client_report(&query, session.format == Format::Dash);
    *session.report.lock().expect("report lock") = report.clone();
    let priority = b.priority(&report);
    let reload = Some(b.steering_uri(&id));
    let body = match session.format {
        Format::Hls => serde_json::to_value(HlsSteeringManifest {
            version: 1,
            ttl: b.steering_ttl_s,
            reload_uri: reload,
            pathway_priority: priority,
            pathway_clones: Vec::new(),
        }),
        Format::Dash => serde_json::to_value(DashSteeringManifest {
            version: 1,
            ttl: b.steering_ttl_s,
            reload_uri: reload,
            service_location_priority: priority,
        }),
    }
    .expect("steering manifests serialise");
    Ok(([(header::CACHE_CONTROL, "no-store")], axum::Json(body)).into_response())
}
