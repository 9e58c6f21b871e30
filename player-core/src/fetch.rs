//! HTTP fetching: reqwest with rustls and connection reuse, separate connect, time-to-first-byte
//! and total timeouts, retries with exponential backoff and jitter (never on 4xx but 408/429),
//! and a throughput sample from every download for the ABR.

use std::time::{Duration, Instant};

use abr::ThroughputSample;
use bytes::Bytes;
use reqwest::header::{HeaderMap, HeaderValue, RANGE};
use url::Url;

use crate::presentation::ByteRange;

/// Timeouts and retry policy.
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
        }
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
        /// `connect`, `first byte` or `download`.
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
    /// Abandoned by the caller (too slow).
    #[error("download of {url} abandoned")]
    Abandoned {
        /// The URL.
        url: String,
    },
}

impl FetchError {
    /// Whether trying the same URL again may help (timeouts, connection trouble, 5xx, 408, 429).
    pub fn is_retryable(&self) -> bool {
        match self {
            FetchError::Status { status, .. } => *status >= 500 || *status == 408 || *status == 429,
            FetchError::Abandoned { .. } => false,
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
}

impl Fetcher {
    /// A client with these timeouts; connections are kept alive and reused.
    pub fn new(config: FetchConfig) -> Self {
        let client = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .pool_idle_timeout(Duration::from_secs(30))
            .user_agent(concat!("reel/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("the HTTP client builds with rustls");
        Fetcher { client, config }
    }

    /// The policy in force.
    pub fn config(&self) -> &FetchConfig {
        &self.config
    }

    /// GET with retries (see [`FetchConfig`]); `range` asks for part of the resource.
    pub async fn get(&self, url: &Url, range: Option<ByteRange>) -> Result<Fetched, FetchError> {
        self.get_with(
            url,
            range,
            HeaderMap::new(),
            |_, _| Progress::Continue,
            |_, _| {},
        )
        .await
    }

    /// GET with retries, extra headers, a progress callback (bytes so far, elapsed) that may
    /// abandon, and a callback told of each failed attempt before its retry.
    pub async fn get_with(
        &self,
        url: &Url,
        range: Option<ByteRange>,
        headers: HeaderMap,
        mut progress: impl FnMut(u64, Duration) -> Progress,
        mut on_retry: impl FnMut(u32, &FetchError),
    ) -> Result<Fetched, FetchError> {
        let mut attempt = 0;
        loop {
            match self
                .attempt(url, range, headers.clone(), &mut progress)
                .await
            {
                Ok(f) => return Ok(f),
                Err(e) if e.is_retryable() && attempt < self.config.retries => {
                    attempt += 1;
                    on_retry(attempt, &e);
                    tokio::time::sleep(self.backoff(attempt)).await;
                }
                Err(e) => return Err(e),
            }
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

    /// One attempt, no retry.
    pub async fn attempt(
        &self,
        url: &Url,
        range: Option<ByteRange>,
        mut headers: HeaderMap,
        progress: &mut impl FnMut(u64, Duration) -> Progress,
    ) -> Result<Fetched, FetchError> {
        let shown = url.to_string();
        if let Some(r) = range {
            headers.insert(
                RANGE,
                HeaderValue::from_str(&r.header_value()).expect("ranges are ASCII"),
            );
        }
        let started = Instant::now();
        let send = self.client.get(url.clone()).headers(headers).send();
        let response = match tokio::time::timeout(self.config.ttfb_timeout, send).await {
            Err(_) => {
                return Err(FetchError::Timeout {
                    phase: "first byte",
                    after_ms: self.config.ttfb_timeout.as_millis() as u64,
                    url: shown,
                });
            }
            Ok(Err(e)) if e.is_connect() || e.is_timeout() => {
                return Err(FetchError::Connect {
                    url: shown,
                    reason: root_cause(&e),
                });
            }
            Ok(Err(e)) => {
                return Err(FetchError::Body {
                    url: shown,
                    reason: root_cause(&e),
                });
            }
            Ok(Ok(r)) => r,
        };
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
        let deadline = started + self.config.total_timeout;
        let mut response = response;
        let mut body = Vec::with_capacity(expected.unwrap_or(64 * 1024).min(64 << 20) as usize);
        loop {
            let now = Instant::now();
            let left = deadline.saturating_duration_since(now);
            let chunk = match tokio::time::timeout(left, response.chunk()).await {
                Err(_) => {
                    return Err(FetchError::Timeout {
                        phase: "download",
                        after_ms: self.config.total_timeout.as_millis() as u64,
                        url: shown,
                    });
                }
                Ok(Err(e)) => {
                    return Err(FetchError::Body {
                        url: shown,
                        reason: root_cause(&e),
                    });
                }
                Ok(Ok(None)) => break,
                Ok(Ok(Some(c))) => c,
            };
            body.extend_from_slice(&chunk);
            if progress(body.len() as u64, started.elapsed()) == Progress::Abandon {
                return Err(FetchError::Abandoned { url: shown });
            }
        }
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
