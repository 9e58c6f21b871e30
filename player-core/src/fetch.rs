//! HTTP fetching: reqwest with rustls and connection reuse, separate connect, time-to-first-byte
//! and total timeouts, retries with exponential backoff and jitter (never on 4xx but 408/429),
//! a time budget per request (the player's buffer: a dead server is never waited on longer than
//! the buffer lasts), CMCD on manifest requests, and a throughput sample from every download for
//! the ABR.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use abr::ThroughputSample;
use bytes::Bytes;
use reqwest::header::{HeaderMap, HeaderValue, RANGE};
use url::Url;

use crate::cmcd::{CmcdRequest, CmcdSession, ObjectType};
use crate::manifest::ManifestLimits;
use crate::presentation::ByteRange;

/// Timeouts, retry policy and the limits that keep a hostile server from holding the player.
#[derive(Debug, Clone, PartialEq)]
pub struct FetchConfig {
    /// Time to open a connection.
    pub connect_timeout: Duration,
    /// Time from request to response headers.
    pub ttfb_timeout: Duration,
    /// Time from request to the last byte.
    pub total_timeout: Duration,
    /// Retries after the first attempt.
    pub retries: u32,
    /// First backoff; doubles each retry, with ±50 % jitter.
    pub backoff: Duration,
    /// Longest backoff.
    pub max_backoff: Duration,
    /// Largest manifest, playlist, index or steering manifest body, bytes (a larger one fails
    /// as soon as its length or its bytes say so).
    pub max_manifest_bytes: u64,
    /// Longest a manifest request may take, retries included: a body trickled a byte at a
    /// time ends here, not when its bytes run out.
    pub manifest_deadline: Duration,
    /// Redirects followed per request.
    pub max_redirects: usize,
    /// A segment may be this many times its rendition's declared bitrate × its duration …
    pub segment_size_slack: f64,
    /// … or this many bytes, whichever is more (short segments).
    pub min_segment_limit_bytes: u64,
    /// The bitrate assumed for a rendition that declares none (a media playlist opened
    /// directly, HLS audio renditions), bit/s: generous, since only an endless body is to be
    /// stopped there.
    pub undeclared_bandwidth_bps: u64,
    /// What a manifest may ask of the player (segment and variant counts, durations, bitrates).
    pub manifest_limits: ManifestLimits,
}

impl Default for FetchConfig {
    fn default() -> Self {
        FetchConfig {
            connect_timeout: Duration::from_secs(2),
            ttfb_timeout: Duration::from_secs(4),
            total_timeout: Duration::from_secs(20),
            retries: 2,
            backoff: Duration::from_millis(150),
            max_backoff: Duration::from_secs(2),
            max_manifest_bytes: 16 << 20,
            manifest_deadline: Duration::from_secs(20),
            max_redirects: 5,
            segment_size_slack: 4.0,
            min_segment_limit_bytes: 8 << 20,
            undeclared_bandwidth_bps: 50_000_000,
            manifest_limits: ManifestLimits::default(),
        }
    }
}

impl FetchConfig {
    /// Largest body accepted for a segment of a rendition declaring `bandwidth_bps` (0: none,
    /// and [`FetchConfig::undeclared_bandwidth_bps`] is assumed), lasting `duration_s`.
    pub fn segment_limit(&self, bandwidth_bps: u64, duration_s: f64) -> u64 {
        let bps = match bandwidth_bps {
            0 => self.undeclared_bandwidth_bps,
            bps => bps,
        };
        let declared = bps as f64 / 8.0 * duration_s.max(0.0);
        ((declared * self.segment_size_slack) as u64).max(self.min_segment_limit_bytes)
    }
}

/// A duration as a reader wants it: `20 s`, `2.5 s`, `500 ms`.
fn shown_ms(ms: &u64) -> String {
    match *ms {
        ms if ms < 1000 => format!("{ms} ms"),
        ms if ms % 1000 == 0 => format!("{} s", ms / 1000),
        ms => format!("{:.1} s", ms as f64 / 1000.0),
    }
}

/// A byte count as a reader wants it: `16 MiB`, `512 KiB`, `900 bytes`.
fn shown_bytes(n: &u64) -> String {
    match *n {
        n if n >= 1 << 20 && n % (1 << 20) == 0 => format!("{} MiB", n >> 20),
        n if n >= 1 << 20 => format!("{:.1} MiB", n as f64 / (1 << 20) as f64),
        n if n >= 1 << 10 && n % (1 << 10) == 0 => format!("{} KiB", n >> 10),
        n if n >= 1 << 10 => format!("{:.1} KiB", n as f64 / 1024.0),
        n => format!("{n} bytes"),
    }
}

/// Why a request failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    /// The server answered with an error status.
    #[error("HTTP {status} from {url}")]
    Status {
        /// The status code.
        status: u16,
        /// The URL.
        url: String,
    },
    /// No connection could be made.
    #[error("cannot connect to {url}: {reason}")]
    Connect {
        /// The URL.
        url: String,
        /// Why.
        reason: String,
    },
    /// A timeout passed.
    #[error("{phase} timeout after {after_ms} ms for {url}")]
    Timeout {
        /// `connect`, `first byte`, `next byte` or `download`.
        phase: &'static str,
        /// The limit.
        after_ms: u64,
        /// The URL.
        url: String,
    },
    /// The body broke off or is shorter than announced.
    #[error("incomplete body from {url}: {reason}")]
    Body {
        /// The URL.
        url: String,
        /// Why.
        reason: String,
    },
    /// The body is larger than its limit ([`FetchConfig::max_manifest_bytes`],
    /// [`FetchConfig::segment_limit`]).
    #[error("{what} too large: over {} from {url}", shown_bytes(.limit))]
    TooLarge {
        /// `manifest`, `segment`, `key`, ...
        what: &'static str,
        /// The limit, bytes.
        limit: u64,
        /// The URL.
        url: String,
    },
    /// A manifest request outlasted [`FetchConfig::manifest_deadline`].
    #[error("manifest load took longer than {}: {url}", shown_ms(.after_ms))]
    Deadline {
        /// The deadline.
        after_ms: u64,
        /// The URL.
        url: String,
    },
    /// More redirects than [`FetchConfig::max_redirects`].
    #[error("too many redirects (over {max}) from {url}")]
    Redirects {
        /// The limit.
        max: usize,
        /// The URL.
        url: String,
    },
    /// Abandoned by the caller (too slow).
    #[error("download of {url} abandoned after {bytes} bytes in {elapsed_ms} ms")]
    Abandoned {
        /// The URL.
        url: String,
        /// Body bytes received by then.
        bytes: u64,
        /// Time from request to abandonment.
        elapsed_ms: u64,
    },
}

impl FetchError {
    /// Whether trying the same URL again may help (timeouts, connection trouble, 5xx, 408, 429).
    pub fn is_retryable(&self) -> bool {
        match self {
            FetchError::Status { status, .. } => *status >= 500 || *status == 408 || *status == 429,
            FetchError::Abandoned { .. }
            | FetchError::TooLarge { .. }
            | FetchError::Deadline { .. }
            | FetchError::Redirects { .. } => false,
            _ => true,
        }
    }

    /// Whether the resource is missing on this server (another server may have it).
    pub fn is_not_found(&self) -> bool {
        matches!(
            self,
            FetchError::Status {
                status: 403 | 404 | 410,
                ..
            }
        )
    }
}

/// A completed download.
#[derive(Debug, Clone)]
pub struct Fetched {
    /// The URL after redirects.
    pub url: Url,
    /// The body.
    pub body: Bytes,
    /// The response's Content-Type.
    pub content_type: Option<String>,
    /// Timing of this download.
    pub sample: ThroughputSample,
}

/// Decision of a progress callback during a download.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// Keep downloading.
    Continue,
    /// Give up (the caller will fetch something else).
    Abandon,
}

/// The HTTP client of a session.
#[derive(Debug, Clone)]
pub struct Fetcher {
    client: reqwest::Client,
    config: FetchConfig,
    cmcd: Option<Arc<CmcdSession>>,
    /// The slowest recent wait for response headers, µs, shared by every clone.
    first_byte_us: Arc<AtomicU64>,
}

/// A response of any status, for callers that act on the status themselves (steering).
#[derive(Debug, Clone)]
pub struct RawResponse {
    /// The URL after redirects.
    pub url: Url,
    /// The status code.
    pub status: u16,
    /// `Retry-After` in seconds, when given as a number.
    pub retry_after_s: Option<f64>,
    /// The body.
    pub body: Bytes,
}

/// The TLS client settings every [`Fetcher`] in the process shares, as reqwest builds them
/// (the platform's certificate verifier, HTTP/2 then HTTP/1.1 by ALPN). Building them reads the
/// system's root certificates, about 3 ms that every session used to spend before its first
/// request; now the first session of a process does.
fn shared_tls() -> Option<rustls::ClientConfig> {
    static TLS: std::sync::OnceLock<Option<rustls::ClientConfig>> = std::sync::OnceLock::new();
    TLS.get_or_init(|| {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let verifier = rustls_platform_verifier::Verifier::new(provider.clone()).ok()?;
        let mut tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .ok()?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier))
            .with_no_client_auth();
        tls.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Some(tls)
    })
    .clone()
}

impl Fetcher {
    /// A client with these timeouts; connections are kept alive and reused.
    pub fn new(config: FetchConfig) -> Self {
        let builder = || {
            reqwest::Client::builder()
                .connect_timeout(config.connect_timeout)
                .pool_idle_timeout(Duration::from_secs(30))
                .redirect(reqwest::redirect::Policy::limited(config.max_redirects))
                .user_agent(concat!("reel/", env!("CARGO_PKG_VERSION")))
        };
        // Should reqwest ever refuse the shared settings, it builds its own as before.
        let client = shared_tls()
            .and_then(|tls| builder().tls_backend_preconfigured(tls).build().ok())
            .unwrap_or_else(|| {
                builder()
                    .build()
                    .expect("the HTTP client builds with rustls")
            });
        Fetcher {
            client,
            config,
            cmcd: None,
            first_byte_us: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Sends CMCD (CTA-5004) with manifest requests ([`Get::manifest`]).
    pub fn set_cmcd(&mut self, cmcd: Option<Arc<CmcdSession>>) {
        self.cmcd = cmcd;
    }

    /// The CMCD session in force, if any.
    pub fn cmcd(&self) -> Option<&CmcdSession> {
        self.cmcd.as_deref()
    }

    /// The policy in force.
    pub fn config(&self) -> &FetchConfig {
        &self.config
    }

    /// A GET of `url`, to shape with [`Get`]'s methods and send.
    pub fn get(&self, url: &Url) -> Get<'_> {
        Get {
            fetcher: self,
            url: url.clone(),
            range: None,
            headers: HeaderMap::new(),
            budget: None,
            manifest: false,
            limit: None,
            deadline: None,
            progress: Box::new(|_, _| Progress::Continue),
            on_retry: Box::new(|_, _| {}),
        }
    }

    /// Backoff before retry `attempt` (1-based): doubling from the base, capped, ±50 % jitter.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let base = self
            .config
            .backoff
            .saturating_mul(1 << attempt.saturating_sub(1).min(16))
            .min(self.config.max_backoff);
        base.mul_f64(0.5 + fastrand::f64())
    }

    async fn attempt_within(
        &self,
        url: &Url,
        range: Option<ByteRange>,
        mut headers: HeaderMap,
        budget: Option<Duration>,
        limit: Option<Limit>,
        progress: &mut (dyn FnMut(u64, Duration) -> Progress + Send),
    ) -> Result<Fetched, FetchError> {
        let shown = url.to_string();
        // The budget cuts the wait for a first byte and for each next chunk (a dead or hung
        // server), not a download that is moving: abandonment judges slow ones. It never cuts
        // below twice the slowest recent answer: on a long path (a satellite link) every
        // answer takes a second, and cutting there would take a live server for a dead one.
        let floor = Duration::from_millis(500).max(2 * self.recent_first_byte());
        let ttfb_timeout = budget.map_or(self.config.ttfb_timeout, |b| {
            self.config.ttfb_timeout.min(b.max(floor))
        });
        if let Some(r) = range {
            headers.insert(
                RANGE,
                HeaderValue::from_str(&r.header_value()).expect("ranges are ASCII"),
            );
        }
        let started = Instant::now();
        let response = self.first_byte(url, headers, ttfb_timeout).await?;
        let ttfb = started.elapsed();
        let status = response.status();
        if !status.is_success() {
            return Err(FetchError::Status {
                status: status.as_u16(),
                url: shown,
            });
        }
        if range.is_some() && status.as_u16() != 206 {
            return Err(FetchError::Body {
                url: shown,
                reason: format!("asked for a byte range, got status {status}"),
            });
        }
        let final_url = response.url().clone();
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(String::from);
        let expected = response.content_length();
        let body = self
            .read_body(response, &shown, started, ttfb_timeout, limit, progress)
            .await?;
        if let Some(n) = expected
            && n != body.len() as u64
        {
            return Err(FetchError::Body {
                url: shown,
                reason: format!("{} of {n} bytes", body.len()),
            });
        }
        if let Some(r) = range
            && r.length != body.len() as u64
        {
            return Err(FetchError::Body {
                url: shown,
                reason: format!("{} of the {} bytes asked for", body.len(), r.length),
            });
        }
        Ok(Fetched {
            url: final_url,
            sample: ThroughputSample {
                bytes: body.len() as u64,
                duration_s: started.elapsed().as_secs_f64(),
                ttfb_s: ttfb.as_secs_f64(),
            },
            body: Bytes::from(body),
            content_type,
        })
    }

    /// The slowest recent wait for response headers (each older one counts for less).
    fn recent_first_byte(&self) -> Duration {
        Duration::from_micros(self.first_byte_us.load(Ordering::Relaxed))
    }

    /// Notes a wait for response headers: the slowest recent one decays by an eighth each
    /// request, so a path that becomes fast again is trusted again within a few dozen.
    fn saw_first_byte(&self, took: Duration) {
        let took = took.as_micros().min(u128::from(u64::MAX)) as u64;
        let _ = self
            .first_byte_us
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |old| {
                Some(took.max(old - old / 8))
            });
    }

    /// Sends the request and waits at most `ttfb_timeout` for the response's headers.
    async fn first_byte(
        &self,
        url: &Url,
        headers: HeaderMap,
        ttfb_timeout: Duration,
    ) -> Result<reqwest::Response, FetchError> {
        let send = self.client.get(url.clone()).headers(headers).send();
        let asked = Instant::now();
        let answered = tokio::time::timeout(ttfb_timeout, send).await;
        if let Ok(Ok(_)) = &answered {
            self.saw_first_byte(asked.elapsed());
        }
        match answered {
            Err(_) => Err(FetchError::Timeout {
                phase: "first byte",
                after_ms: ttfb_timeout.as_millis() as u64,
                url: url.to_string(),
            }),
            Ok(Err(e)) if e.is_redirect() => Err(FetchError::Redirects {
                max: self.config.max_redirects,
                url: url.to_string(),
            }),
            Ok(Err(e)) if e.is_connect() || e.is_timeout() => Err(FetchError::Connect {
                url: url.to_string(),
                reason: root_cause(&e),
            }),
            Ok(Err(e)) => Err(FetchError::Body {
                url: url.to_string(),
                reason: root_cause(&e),
            }),
            Ok(Ok(r)) => Ok(r),
        }
    }

    /// Reads the body chunk by chunk, reporting progress after each: a wait for the next chunk
    /// longer than `idle_timeout` (a hung server), a download past the total timeout or a body
    /// past its `limit` fails, and so does the progress callback's abandon.
    async fn read_body(
        &self,
        mut response: reqwest::Response,
        shown: &str,
        started: Instant,
        idle_timeout: Duration,
        limit: Option<Limit>,
        progress: &mut (dyn FnMut(u64, Duration) -> Progress + Send),
    ) -> Result<Vec<u8>, FetchError> {
        let total_timeout = self.config.total_timeout;
        let deadline = started + total_timeout;
        let expected = response.content_length();
        let too_large = |(what, limit): Limit| FetchError::TooLarge {
            what,
            limit,
            url: shown.to_owned(),
        };
        if let (Some(n), Some(l)) = (expected, limit)
            && n > l.1
        {
            return Err(too_large(l));
        }
        let reserve = expected
            .unwrap_or(64 * 1024)
            .min(limit.map_or(64 << 20, |l| l.1));
        let mut body = Vec::with_capacity(reserve.min(64 << 20) as usize);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let idle = left.min(idle_timeout);
            let chunk = match tokio::time::timeout(idle, response.chunk()).await {
                Err(_) if idle < left => {
                    return Err(FetchError::Timeout {
                        phase: "next byte",
                        after_ms: idle.as_millis() as u64,
                        url: shown.to_owned(),
                    });
                }
                Err(_) => {
                    return Err(FetchError::Timeout {
                        phase: "download",
                        after_ms: total_timeout.as_millis() as u64,
                        url: shown.to_owned(),
                    });
                }
                Ok(Err(e)) => {
                    return Err(FetchError::Body {
                        url: shown.to_owned(),
                        reason: root_cause(&e),
                    });
                }
                Ok(Ok(None)) => return Ok(body),
                Ok(Ok(Some(c))) => c,
            };
            if let Some(l) = limit
                && (body.len() + chunk.len()) as u64 > l.1
            {
                return Err(too_large(l));
            }
            body.extend_from_slice(&chunk);
            if progress(body.len() as u64, started.elapsed()) == Progress::Abandon {
                return Err(FetchError::Abandoned {
                    url: shown.to_owned(),
                    bytes: body.len() as u64,
                    elapsed_ms: started.elapsed().as_millis() as u64,
                });
            }
        }
    }
}

/// A GET being shaped: `fetcher.get(url).range(r).budget(b).send().await`. [`Get::send`]
/// retries as [`FetchConfig`] says (within the budget, when one is set) and fails on any status
/// but 2xx; [`Get::send_raw`] sends once and returns any status.
#[must_use = "a request does nothing until it is sent"]
pub struct Get<'a> {
    fetcher: &'a Fetcher,
    url: Url,
    range: Option<ByteRange>,
    headers: HeaderMap,
    budget: Option<Duration>,
    manifest: bool,
    limit: Option<Limit>,
    deadline: Option<Duration>,
    progress: Box<OnProgress<'a>>,
    on_retry: Box<OnRetry<'a>>,
}

/// What a body is and the most bytes it may have.
type Limit = (&'static str, u64);
/// Told the bytes so far and the time elapsed; may abandon the download.
type OnProgress<'a> = dyn FnMut(u64, Duration) -> Progress + Send + 'a;
/// Told of a failed attempt (its number, its error) before the retry.
type OnRetry<'a> = dyn FnMut(u32, &FetchError) + Send + 'a;

impl<'a> Get<'a> {
    /// Asks for part of the resource (`None`: all of it).
    pub fn range(mut self, range: Option<ByteRange>) -> Self {
        self.range = range;
        self
    }

    /// Sends these headers too.
    pub fn headers(mut self, headers: HeaderMap) -> Self {
        self.headers.extend(headers);
        self
    }

    /// A time budget: every attempt's timeouts are cut to what is left of it, and no retry
    /// starts once it is spent — so a dead server costs at most the budget (the caller's
    /// buffer), after which the caller moves elsewhere.
    pub fn budget(mut self, budget: Option<Duration>) -> Self {
        self.budget = budget;
        self
    }

    /// A manifest, playlist or index: with CMCD on, the request says so (`ot=m`); its body is
    /// held to [`FetchConfig::max_manifest_bytes`] and the request, retries included, to
    /// [`FetchConfig::manifest_deadline`].
    pub fn manifest(mut self) -> Self {
        self.manifest = true;
        self.limit = Some(("manifest", self.fetcher.config.max_manifest_bytes));
        self.deadline = Some(self.fetcher.config.manifest_deadline);
        self
    }

    /// The longest the request may take, retries included (a segment index loaded before play,
    /// which must not hold the start as long as a trickling server likes).
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.deadline = Some(deadline);
        self
    }

    /// Fails once the body is over `bytes` (saying what it was: `segment`, `key`, ...).
    pub fn limit(mut self, what: &'static str, bytes: u64) -> Self {
        self.limit = Some((what, bytes));
        self
    }

    /// Told the bytes so far and the time elapsed after every chunk; may abandon the download.
    pub fn on_progress(mut self, f: impl FnMut(u64, Duration) -> Progress + Send + 'a) -> Self {
        self.progress = Box::new(f);
        self
    }

    /// Told of each failed attempt before its retry.
    pub fn on_retry(mut self, f: impl FnMut(u32, &FetchError) + Send + 'a) -> Self {
        self.on_retry = Box::new(f);
        self
    }

    /// The URL and headers with the manifest's CMCD data, when CMCD is on.
    fn with_manifest_cmcd(&mut self) {
        let Some(cmcd) = self.fetcher.cmcd.as_deref().filter(|_| self.manifest) else {
            return;
        };
        let req = CmcdRequest {
            object_type: Some(ObjectType::Manifest),
            ..CmcdRequest::default()
        };
        let (url, headers) = cmcd.apply(&self.url, &req);
        self.url = url;
        self.headers.extend(headers);
    }

    /// Sends it, retrying transient failures.
    pub async fn send(self) -> Result<Fetched, FetchError> {
        let Some(deadline) = self.deadline else {
            return self.send_retrying().await;
        };
        let url = self.url.to_string();
        tokio::time::timeout(deadline, self.send_retrying())
            .await
            .unwrap_or_else(|_| {
                Err(FetchError::Deadline {
                    after_ms: deadline.as_millis() as u64,
                    url,
                })
            })
    }

    async fn send_retrying(mut self) -> Result<Fetched, FetchError> {
        self.with_manifest_cmcd();
        let fetcher = self.fetcher;
        let deadline = self.budget.map(|b| Instant::now() + b);
        let mut attempt = 0;
        loop {
            let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
            match fetcher
                .attempt_within(
                    &self.url,
                    self.range,
                    self.headers.clone(),
                    left,
                    self.limit,
                    &mut *self.progress,
                )
                .await
            {
                Ok(f) => return Ok(f),
                Err(e) if e.is_retryable() && attempt < fetcher.config.retries => {
                    attempt += 1;
                    let pause = fetcher.backoff(attempt);
                    if deadline.is_some_and(|d| Instant::now() + pause >= d) {
                        return Err(e); // no time left for another try here
                    }
                    (self.on_retry)(attempt, &e);
                    tokio::time::sleep(pause).await;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Sends it once, without retries, and returns the response whatever its status (for
    /// steering manifests, where 410 and 429 mean something). The body is held to
    /// [`FetchConfig::max_manifest_bytes`] and the request to
    /// [`FetchConfig::manifest_deadline`].
    pub async fn send_raw(mut self) -> Result<RawResponse, FetchError> {
        self.with_manifest_cmcd();
        let config = &self.fetcher.config;
        let shown = self.url.to_string();
        let once = async {
            let started = Instant::now();
            let send = self
                .fetcher
                .client
                .get(self.url.clone())
                .headers(self.headers.clone())
                .send();
            let response = match tokio::time::timeout(config.ttfb_timeout, send).await {
                Err(_) => {
                    return Err(FetchError::Timeout {
                        phase: "first byte",
                        after_ms: config.ttfb_timeout.as_millis() as u64,
                        url: shown.clone(),
                    });
                }
                Ok(Err(e)) if e.is_redirect() => {
                    return Err(FetchError::Redirects {
                        max: config.max_redirects,
                        url: shown.clone(),
                    });
                }
                Ok(Err(e)) => {
                    return Err(FetchError::Connect {
                        url: shown.clone(),
                        reason: root_cause(&e),
                    });
                }
                Ok(Ok(r)) => r,
            };
            let status = response.status().as_u16();
            let final_url = response.url().clone();
            let retry_after_s = response
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<f64>().ok());
            let limit = Some(("steering manifest", config.max_manifest_bytes));
            let body = self
                .fetcher
                .read_body(
                    response,
                    &shown,
                    started,
                    config.ttfb_timeout,
                    limit,
                    &mut |_, _| Progress::Continue,
                )
                .await?;
            Ok(RawResponse {
                url: final_url,
                status,
                retry_after_s,
                body: Bytes::from(body),
            })
        };
        tokio::time::timeout(config.manifest_deadline, once)
            .await
            .unwrap_or_else(|_| {
                Err(FetchError::Deadline {
                    after_ms: config.manifest_deadline.as_millis() as u64,
                    url: shown.clone(),
                })
            })
    }
}

/// The innermost error message (reqwest wraps hyper wraps io).
fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cause: &dyn std::error::Error = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shared_tls_settings_are_built_once_and_taken_by_reqwest() {
        let tls = shared_tls().expect("the platform verifier loads");
        assert_eq!(tls.alpn_protocols, [b"h2".to_vec(), b"http/1.1".to_vec()]);
        // A rustls version apart from reqwest's would be refused here (and fall back, slowly).
        reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .build()
            .expect("reqwest takes the shared settings");
    }

    #[test]
    fn only_transient_failures_are_retried() {
        let s = |status| FetchError::Status {
            status,
            url: "u".into(),
        };
        assert!(s(503).is_retryable());
        assert!(s(429).is_retryable());
        assert!(s(408).is_retryable());
        assert!(!s(404).is_retryable());
        assert!(!s(403).is_retryable());
        assert!(s(404).is_not_found());
        assert!(!s(500).is_not_found());
    }

    #[test]
    fn a_segment_may_be_four_times_its_declared_size_or_eight_mib() {
        let c = FetchConfig::default();
        // 8 Mbit/s for 6 s is 6 MB declared: 24 MB accepted.
        assert_eq!(c.segment_limit(8_000_000, 6.0), 24_000_000);
        // A trickle of a bitrate, or a segment of no duration: the floor.
        assert_eq!(c.segment_limit(100_000, 2.0), 8 << 20);
        assert_eq!(c.segment_limit(0, 0.0), 8 << 20);
        assert_eq!(shown_bytes(&(16 << 20)), "16 MiB");
        assert_eq!(shown_bytes(&24_000_000), "22.9 MiB");
        assert_eq!(shown_bytes(&1024), "1 KiB");
        assert_eq!(shown_bytes(&1536), "1.5 KiB");
        assert_eq!(shown_ms(&20_000), "20 s");
        assert_eq!(shown_ms(&2_500), "2.5 s");
        assert_eq!(shown_ms(&500), "500 ms");
        // Nothing declared (a media playlist opened directly): 50 Mbit/s assumed, so a 10 s
        // segment of 8 Mbit/s video, 10 MB, is far inside.
        assert_eq!(c.segment_limit(0, 10.0), 250_000_000);
        assert_eq!(shown_bytes(&900), "900 bytes");
    }

    #[test]
    fn backoff_doubles_with_jitter_and_a_cap() {
        let f = Fetcher::new(FetchConfig::default());
        for _ in 0..50 {
            let first = f.backoff(1);
            assert!(first >= Duration::from_millis(75) && first <= Duration::from_millis(225));
            let third = f.backoff(3);
            assert!(third >= Duration::from_millis(300) && third <= Duration::from_millis(900));
            assert!(f.backoff(30) <= Duration::from_secs(3));
        }
    }
}
