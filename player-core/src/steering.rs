//! Content steering (HLS `EXT-X-CONTENT-STEERING`, draft-pantos-hls-rfc8216bis §4.4.6.6 and §7;
//! DASH-IF `<ContentSteering>` with `BaseURL@serviceLocation`): the pure logic, no I/O and no clock.
//!
//! This module owns three things:
//! - [`SteeringClient`]: when the steering manifest is due, which URL to fetch (with the
//!   `_HLS_`/`_DASH_` query parameters), and what an answer (or a failure) means: new pathway
//!   priority, new pathway clones, next reload time, or stopping for good on 410. An inline
//!   `data:` steering manifest is decoded here too.
//! - [`apply_clone`]: adding a `PATHWAY-CLONES` entry to a [`Presentation`] as new locations.
//! - [`PathwayChooser`] (in [`crate::pathways`], re-exported here): the failover state.
//!
//! Time is always passed in as `now_s`, seconds on the caller's monotonic clock.

use reel_protocol::{DashSteeringManifest, HlsSteeringManifest, PathwayClone, UriReplacement};
use url::{Position, Url, form_urlencoded};

use crate::pathways::push_unique;
pub use crate::pathways::{DEFAULT_PENALTY_S, PathwayChooser};
use crate::presentation::{Location, ManifestFormat, Presentation, SteeringTag};

/// Seconds between steering reloads when the manifest gives no (or a zero) TTL, and the retry
/// delay after a failure before any TTL is known.
pub const DEFAULT_TTL_S: f64 = 300.0;

/// What came back from a steering manifest request.
#[derive(Debug, Clone, PartialEq)]
pub enum SteeringOutcome {
    /// A successful (2xx) answer.
    Body {
        /// Final URL of the answer (after redirects); a relative `RELOAD-URI` resolves against it.
        url: Url,
        /// The body.
        body: Vec<u8>,
    },
    /// An HTTP error status.
    Status {
        /// The status code.
        code: u16,
        /// `Retry-After` in seconds, when the answer carried one.
        retry_after_s: Option<f64>,
    },
    /// The request failed without an HTTP answer (connect error, timeout, broken body).
    Failed(String),
}

/// What a good steering manifest says.
#[derive(Debug, Clone, PartialEq)]
pub struct SteeringUpdate {
    /// Pathways in priority order, best first; only known ones (manifest pathways and clones).
    pub priority: Vec<String>,
    /// Pathway clones to create with [`apply_clone`]: their base exists and their id is new.
    pub clones: Vec<PathwayClone>,
    /// Seconds until the next reload.
    pub ttl_s: f64,
}

/// Why a steering answer was not used. Every variant is one line, fit for a warning event; the
/// client has already rescheduled itself when it returns one.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SteeringError {
    /// The body is not JSON.
    #[error("steering manifest is not valid JSON: {0}")]
    Json(String),
    /// The body is JSON but not a steering manifest.
    #[error("steering manifest is malformed: {0}")]
    Malformed(String),
    /// `VERSION` is not 1.
    #[error("steering manifest VERSION {0} is not supported (expected 1)")]
    Version(u32),
    /// The priority list is empty.
    #[error("steering manifest has an empty pathway priority")]
    EmptyPriority,
    /// The priority list names no pathway the presentation has.
    #[error("steering manifest names no known pathway (priority: {})", quoted_ids(.0))]
    UnknownPathways(Vec<String>),
    /// `RELOAD-URI` cannot be resolved.
    #[error("steering manifest RELOAD-URI {uri:?} is invalid: {reason}")]
    ReloadUri {
        /// The `RELOAD-URI` value.
        uri: String,
        /// Why it was rejected.
        reason: String,
    },
    /// The `data:` `SERVER-URI` cannot be decoded.
    #[error("steering data: URI is invalid: {0}")]
    DataUri(String),
    /// 410 Gone: steering is over for this session.
    #[error("steering server answered 410 Gone; steering stopped for this session")]
    Gone,
    /// Another HTTP error status.
    #[error("steering server answered HTTP {code}; retrying in {retry_in_s:.0} s")]
    Status {
        /// The status code.
        code: u16,
        /// Seconds until the next attempt.
        retry_in_s: f64,
    },
    /// The request failed without an HTTP answer.
    #[error("steering request failed: {message}; retrying in {retry_in_s:.0} s")]
    Network {
        /// What went wrong.
        message: String,
        /// Seconds until the next attempt.
        retry_in_s: f64,
    },
}

/// The steering manifest client: schedules reloads and interprets answers.
///
/// The session asks [`due`](Self::due) / [`request`](Self::request), fetches the URL, and feeds
/// the outcome to [`on_response`](Self::on_response). It must not issue a second request while
/// one is in flight (the client stays due until it hears back). An inline (`data:`) manifest is
/// never fetched: take it once with [`take_inline`](Self::take_inline).
#[derive(Debug, Clone)]
pub struct SteeringClient {
    format: ManifestFormat,
    /// Where the next reload goes (`SERVER-URI`, then the latest `RELOAD-URI`).
    uri: Option<Url>,
    /// Decoded inline manifest not yet taken.
    inline: Option<Result<Vec<u8>, SteeringError>>,
    /// Manifest pathways plus the clones accepted so far.
    known: Vec<String>,
    /// Next reload time; `None` while waiting for [`SteeringClient::started`].
    next_due_s: Option<f64>,
    stopped: bool,
    /// TTL of the last good answer.
    ttl_s: Option<f64>,
    /// Priority of the last good answer.
    priority: Vec<String>,
}

impl SteeringClient {
    /// A client for a manifest's steering tag, its format and its pathway ids in manifest order.
    ///
    /// The first reload is due at once for HLS and for DASH with `queryBeforeStart`; for DASH
    /// without it, once [`started`](Self::started) is called.
    pub fn new(tag: &SteeringTag, format: ManifestFormat, pathways: &[String]) -> Self {
        let (uri, inline) = match &tag.server_uri {
            Some(u) if u.scheme() == "data" => (None, Some(decode_data_uri(u))),
            Some(u) => (Some(u.clone()), None),
            None => (None, None),
        };
        let first_due = match format {
            ManifestFormat::Hls => Some(0.0),
            ManifestFormat::Dash if tag.query_before_start => Some(0.0),
            ManifestFormat::Dash => None,
        };
        let mut known = Vec::new();
        for p in pathways {
            push_unique(&mut known, p);
        }
        SteeringClient {
            format,
            uri,
            inline,
            known,
            next_due_s: first_due,
            stopped: false,
            ttl_s: None,
            priority: Vec::new(),
        }
    }

    /// The client for a presentation, or `None` when its manifest carries no steering tag.
    pub fn from_presentation(presentation: &Presentation) -> Option<Self> {
        presentation
            .steering
            .as_ref()
            .map(|tag| Self::new(tag, presentation.format, &presentation.pathways))
    }

    /// Playback fetched its first segment: schedules the first reload of a DASH client without
    /// `queryBeforeStart` (no effect otherwise).
    pub fn started(&mut self, now_s: f64) {
        if self.next_due_s.is_none() && !self.stopped {
            self.next_due_s = Some(now_s);
        }
    }

    /// A reload is due: there is a server to ask, steering has not stopped, and its time came.
    pub fn due(&self, now_s: f64) -> bool {
        !self.stopped && self.uri.is_some() && self.next_due_s.is_some_and(|t| now_s >= t)
    }

    /// The URL to fetch now, or `None` when no reload is due.
    ///
    /// Adds `_HLS_pathway="<id>"` and `_HLS_throughput=<bit/s>` (HLS), or `_DASH_pathway="<id>"`
    /// and `_DASH_throughput=<kbit/s>` (DASH-IF), replacing any `_HLS_*`/`_DASH_*` parameters
    /// already there and keeping the others verbatim. An empty pathway or an unknown (or
    /// non-finite) throughput leaves its parameter out.
    pub fn request(
        &self,
        now_s: f64,
        current_pathway: &str,
        throughput_bps: Option<f64>,
    ) -> Option<Url> {
        if !self.due(now_s) {
            return None;
        }
        let mut url = self.uri.clone()?;
        let (prefix, unit_bps) = match self.format {
            ManifestFormat::Hls => ("_HLS_", 1.0),
            // DASH-IF CTS reports throughput in kbit/s (and reel-stub reads it so).
            ManifestFormat::Dash => ("_DASH_", 1000.0),
        };
        let mut add = Vec::new();
        if !current_pathway.is_empty() {
            add.push((format!("{prefix}pathway"), format!("\"{current_pathway}\"")));
        }
        if let Some(t) = throughput_bps.filter(|t| t.is_finite() && *t >= 0.0) {
            let value = (t / unit_bps).round() as u64;
            add.push((format!("{prefix}throughput"), value.to_string()));
        }
        rewrite_query(
            &mut url,
            |k| k.starts_with("_HLS_") || k.starts_with("_DASH_"),
            &add,
        );
        Some(url)
    }

    /// The inline (`data:` `SERVER-URI`) steering manifest, interpreted like a fetched one; `Some`
    /// only on the first call. A relative `RELOAD-URI` in it cannot be resolved and means no
    /// further reloads; an absolute one is reloaded after the TTL.
    pub fn take_inline(&mut self, now_s: f64) -> Option<Result<SteeringUpdate, SteeringError>> {
        match self.inline.take()? {
            Ok(body) => Some(self.accept(now_s, None, &body)),
            Err(e) => Some(Err(e)),
        }
    }

    /// Interprets the outcome of the request made at [`request`](Self::request) and schedules
    /// the next one.
    ///
    /// `Ok` only for a usable manifest. Otherwise the last good answer stays in force and the
    /// error says why: a bad body or an HTTP error retries after the last TTL (or
    /// [`DEFAULT_TTL_S`]), 429 after `Retry-After` when given, and 410 stops steering for good.
    pub fn on_response(
        &mut self,
        now_s: f64,
        outcome: SteeringOutcome,
    ) -> Result<SteeringUpdate, SteeringError> {
        match outcome {
            SteeringOutcome::Body { url, body } => self.accept(now_s, Some(&url), &body),
            SteeringOutcome::Status { code: 410, .. } => {
                self.stopped = true;
                self.next_due_s = None;
                Err(SteeringError::Gone)
            }
            SteeringOutcome::Status {
                code: 429,
                retry_after_s,
            } => {
                let retry = retry_after_s.filter(|s| s.is_finite() && *s >= 0.0);
                let retry_in_s = self.retry(now_s, retry);
                Err(SteeringError::Status {
                    code: 429,
                    retry_in_s,
                })
            }
            SteeringOutcome::Status { code, .. } => {
                let retry_in_s = self.retry(now_s, None);
                Err(SteeringError::Status { code, retry_in_s })
            }
            SteeringOutcome::Failed(message) => {
                let retry_in_s = self.retry(now_s, None);
                Err(SteeringError::Network {
                    message: message.split_whitespace().collect::<Vec<_>>().join(" "),
                    retry_in_s,
                })
            }
        }
    }

    /// When the next reload is due (`None` before [`started`](Self::started) for DASH without
    /// `queryBeforeStart`, and after 410).
    pub fn next_due_s(&self) -> Option<f64> {
        self.next_due_s
    }

    /// Steering stopped for the session (410 Gone).
    pub fn is_stopped(&self) -> bool {
        self.stopped
    }

    /// Priority of the last good answer (empty before the first).
    pub fn priority(&self) -> &[String] {
        &self.priority
    }

    /// TTL of the last good answer.
    pub fn ttl_s(&self) -> Option<f64> {
        self.ttl_s
    }

    /// Where the next reload goes, without the steering query parameters.
    pub fn reload_url(&self) -> Option<&Url> {
        self.uri.as_ref()
    }

    /// Schedules a retry after `delay_s`, or the last TTL, or [`DEFAULT_TTL_S`]; returns the delay.
    fn retry(&mut self, now_s: f64, delay_s: Option<f64>) -> f64 {
        let delay = delay_s.or(self.ttl_s).unwrap_or(DEFAULT_TTL_S);
        if !self.stopped {
            self.next_due_s = Some(now_s + delay);
        }
        delay
    }

    /// Applies a manifest body; `base` is the URL it came from (`None` when inline).
    fn accept(
        &mut self,
        now_s: f64,
        base: Option<&Url>,
        body: &[u8],
    ) -> Result<SteeringUpdate, SteeringError> {
        match self.evaluate(base, body) {
            Ok(Accepted {
                update,
                reload,
                known,
            }) => {
                self.known = known;
                self.priority.clone_from(&update.priority);
                self.ttl_s = Some(update.ttl_s);
                match (base, reload) {
                    (_, Some(r)) => self.uri = Some(r),
                    // Inline manifest without a usable RELOAD-URI: nothing to reload from.
                    (None, None) => self.uri = None,
                    (Some(_), None) => {}
                }
                if !self.stopped {
                    self.next_due_s = Some(now_s + update.ttl_s);
                }
                Ok(update)
            }
            Err(e) => {
                self.retry(now_s, None);
                Err(e)
            }
        }
    }

    /// Checks a manifest body against what is known, without changing anything.
    fn evaluate(&self, base: Option<&Url>, body: &[u8]) -> Result<Accepted, SteeringError> {
        let parsed = parse_manifest(body)?;
        let reload = match (&parsed.reload_uri, base) {
            (None, _) => None,
            (Some(r), Some(base)) => Some(base.join(r).map_err(|e| SteeringError::ReloadUri {
                uri: r.clone(),
                reason: e.to_string(),
            })?),
            // Relative to a data: URI cannot resolve; only an absolute one is usable.
            (Some(r), None) => Url::parse(r).ok(),
        };

        let mut known = self.known.clone();
        let mut clones = Vec::new();
        for clone in parsed.clones {
            if known.contains(&clone.base_id) && !known.contains(&clone.id) {
                known.push(clone.id.clone());
                clones.push(clone);
            }
        }
        let mut priority = Vec::new();
        for p in &parsed.priority {
            if known.contains(p) {
                push_unique(&mut priority, p);
            }
        }
        if priority.is_empty() {
            return Err(SteeringError::UnknownPathways(parsed.priority));
        }
        Ok(Accepted {
            update: SteeringUpdate {
                priority,
                clones,
                ttl_s: parsed.ttl_s,
            },
            reload,
            known,
        })
    }
}

/// A good answer, before it is committed.
struct Accepted {
    update: SteeringUpdate,
    reload: Option<Url>,
    known: Vec<String>,
}

/// The fields both manifest flavours share.
struct ParsedManifest {
    ttl_s: f64,
    reload_uri: Option<String>,
    priority: Vec<String>,
    clones: Vec<PathwayClone>,
}

/// Pathway ids as the server sent them, quoted and escaped so a newline in one stays on the
/// line, cut at 200 characters.
fn quoted_ids(ids: &[String]) -> String {
    let shown: Vec<String> = ids.iter().map(|id| format!("{id:?}")).collect();
    shown.join(", ").chars().take(200).collect()
}

/// Parses an HLS (`PATHWAY-PRIORITY`) or DASH-IF (`SERVICE-LOCATION-PRIORITY`) steering manifest.
fn parse_manifest(body: &[u8]) -> Result<ParsedManifest, SteeringError> {
    let mut value: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| SteeringError::Json(e.to_string()))?;
    let obj = value
        .as_object_mut()
        .ok_or_else(|| SteeringError::Malformed("not a JSON object".into()))?;
    // TTL: missing, null or 0 mean the default; fractional seconds round up.
    let ttl = match obj.get("TTL") {
        None | Some(serde_json::Value::Null) => 0,
        Some(v) => match v.as_f64() {
            Some(t) if t.is_finite() && t >= 0.0 => t.ceil() as u64,
            _ => {
                return Err(SteeringError::Malformed(format!(
                    "TTL {v} is not a number of seconds"
                )));
            }
        },
    };
    obj.insert("TTL".into(), ttl.into());
    let dash =
        !obj.contains_key("PATHWAY-PRIORITY") && obj.contains_key("SERVICE-LOCATION-PRIORITY");
    let malformed = |e: serde_json::Error| SteeringError::Malformed(e.to_string());
    let (version, reload_uri, priority, clones) = if dash {
        let m: DashSteeringManifest = serde_json::from_value(value).map_err(malformed)?;
        (
            m.version,
            m.reload_uri,
            m.service_location_priority,
            Vec::new(),
        )
    } else {
        let m: HlsSteeringManifest = serde_json::from_value(value).map_err(malformed)?;
        (
            m.version,
            m.reload_uri,
            m.pathway_priority,
            m.pathway_clones,
        )
    };
    if version != 1 {
        return Err(SteeringError::Version(version));
    }
    if priority.is_empty() {
        return Err(SteeringError::EmptyPriority);
    }
    Ok(ParsedManifest {
        ttl_s: if ttl == 0 { DEFAULT_TTL_S } else { ttl as f64 },
        reload_uri,
        priority,
        clones,
    })
}

/// Adds a pathway clone to a presentation: every representation with a location on the clone's
/// `BASE-ID` gets a location on its `ID`, with `HOST` (a host, optionally `:port`) replacing the
/// host and `PARAMS` set in the query; the id is appended to `presentation.pathways`.
///
/// Returns `false` when nothing was cloned (no location on the base, an invalid `HOST`, or the
/// clone was applied already).
pub fn apply_clone(presentation: &mut Presentation, clone: &PathwayClone) -> bool {
    let mut cloned = false;
    let reps = presentation
        .periods
        .iter_mut()
        .flat_map(|p| p.tracks.iter_mut())
        .flat_map(|t| t.representations.iter_mut());
    for rep in reps {
        if rep
            .locations
            .iter()
            .any(|l| l.pathway.as_deref() == Some(clone.id.as_str()))
        {
            continue;
        }
        let Some(base) = rep
            .locations
            .iter()
            .find(|l| l.pathway.as_deref() == Some(clone.base_id.as_str()))
        else {
            continue;
        };
        let Some(url) = clone_url(&base.url, &clone.uri_replacement) else {
            continue;
        };
        rep.locations.push(Location {
            pathway: Some(clone.id.clone()),
            url,
        });
        cloned = true;
    }
    if cloned && !presentation.pathways.contains(&clone.id) {
        presentation.pathways.push(clone.id.clone());
    }
    cloned
}

/// A base URL rewritten by a `URI-REPLACEMENT`, or `None` when `HOST` is unusable.
fn clone_url(base: &Url, replacement: &UriReplacement) -> Option<Url> {
    let mut url = base.clone();
    if let Some(host) = &replacement.host {
        replace_host(&mut url, host)?;
    }
    if !replacement.params.is_empty() {
        let add: Vec<(String, String)> = replacement
            .params
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        rewrite_query(&mut url, |k| replacement.params.contains_key(k), &add);
    }
    Some(url)
}

/// Replaces the host of `url` by `host` (`name`, `name:port`, `[v6]` or `[v6]:port`); the port
/// changes only when `host` names one.
fn replace_host(url: &mut Url, host: &str) -> Option<()> {
    let parsed = Url::parse(&format!("{}://{host}/", url.scheme())).ok()?;
    let only_host = parsed.path() == "/"
        && parsed.query().is_none()
        && parsed.fragment().is_none()
        && parsed.username().is_empty()
        && parsed.password().is_none();
    if !only_host {
        return None;
    }
    url.set_host(Some(parsed.host_str()?)).ok()?;
    let after_v6 = host.rsplit_once(']').map_or(host, |(_, rest)| rest);
    if after_v6.contains(':') {
        // `parsed.port()` is `None` for the scheme's default port, which `set_port` also means.
        url.set_port(parsed.port()).ok()?;
    }
    Some(())
}

/// Drops the query parameters whose (decoded) name matches `drop`, keeping the others verbatim,
/// and appends `add` form-encoded.
fn rewrite_query(url: &mut Url, drop: impl Fn(&str) -> bool, add: &[(String, String)]) {
    let mut parts: Vec<String> = url
        .query()
        .unwrap_or("")
        .split('&')
        .filter(|seg| !seg.is_empty())
        .filter(|seg| {
            let key = form_urlencoded::parse(seg.as_bytes())
                .next()
                .map(|(k, _)| k.into_owned())
                .unwrap_or_default();
            !drop(&key)
        })
        .map(str::to_owned)
        .collect();
    for (k, v) in add {
        parts.push(format!("{}={}", form_encode(k), form_encode(v)));
    }
    if parts.is_empty() {
        url.set_query(None);
    } else {
        url.set_query(Some(&parts.join("&")));
    }
}

/// `application/x-www-form-urlencoded` encoding of one name or value (`"` becomes `%22`).
fn form_encode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// The payload of a `data:` URI (RFC 2397): base64 when the media type ends in `;base64`,
/// percent-encoded otherwise.
fn decode_data_uri(url: &Url) -> Result<Vec<u8>, SteeringError> {
    let rest = &url[Position::BeforePath..Position::AfterQuery];
    let (header, data) = rest
        .split_once(',')
        .ok_or_else(|| SteeringError::DataUri("no ',' before the data".into()))?;
    let bytes = percent_decode(data.as_bytes());
    let base64 = header
        .rsplit(';')
        .next()
        .is_some_and(|p| p.trim().eq_ignore_ascii_case("base64"));
    if base64 {
        decode_base64(&bytes).ok_or_else(|| SteeringError::DataUri("invalid base64".into()))
    } else {
        Ok(bytes)
    }
}

/// Decodes `%XX` escapes; a `%` not followed by two hex digits stays as it is.
fn percent_decode(input: &[u8]) -> Vec<u8> {
    let hex = |c: u8| {
        char::from(c)
            .to_digit(16)
            .and_then(|d| u8::try_from(d).ok())
    };
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while let Some(&b) = input.get(i) {
        if b == b'%'
            && let Some(&[h, l]) = input.get(i + 1..i + 3)
            && let (Some(h), Some(l)) = (hex(h), hex(l))
        {
            out.push((h << 4) | l);
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    out
}

/// Decodes base64 (standard or URL-safe alphabet, padding optional, ASCII whitespace ignored).
fn decode_base64(input: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(input.len() / 4 * 3 + 2);
    let mut acc: u32 = 0;
    let mut bits: u32 = 0;
    let mut sextets: usize = 0;
    let mut padding = false;
    for &c in input {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            b'=' => {
                padding = true;
                continue;
            }
            b' ' | b'\t' | b'\r' | b'\n' => continue,
            _ => return None,
        };
        if padding {
            return None; // data after padding
        }
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        sextets += 1;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    (sextets % 4 != 1).then_some(out)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::presentation::{MediaKind, Period, Representation, SegmentIndex, Track};

    const STEER: &str = "http://api.test/steer/1?session=abc";

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    fn ids(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    fn tag(uri: &str, query_before_start: bool) -> SteeringTag {
        SteeringTag {
            server_uri: Some(url(uri)),
            default_pathway: Some("b".into()),
            query_before_start,
        }
    }

    fn client(format: ManifestFormat, uri: &str) -> SteeringClient {
        SteeringClient::new(&tag(uri, true), format, &ids(&["a", "b"]))
    }

    fn hls() -> SteeringClient {
        client(ManifestFormat::Hls, STEER)
    }

    fn body(json: &str) -> SteeringOutcome {
        SteeringOutcome::Body {
            url: url(STEER),
            body: json.as_bytes().to_vec(),
        }
    }

    fn good(ttl: u64, priority: &[&str]) -> SteeringOutcome {
        body(&format!(
            r#"{{"VERSION":1,"TTL":{ttl},"PATHWAY-PRIORITY":{}}}"#,
            serde_json::to_string(priority).unwrap()
        ))
    }

    #[test]
    fn hls_request_carries_quoted_pathway_and_integer_throughput() {
        let c = hls();
        assert!(c.due(0.0));
        assert_eq!(
            c.request(0.0, "b", Some(2_500_000.4)).unwrap().as_str(),
            "http://api.test/steer/1?session=abc&_HLS_pathway=%22b%22&_HLS_throughput=2500000"
        );
        assert_eq!(
            c.request(0.0, "b", None).unwrap().as_str(),
            "http://api.test/steer/1?session=abc&_HLS_pathway=%22b%22"
        );
        assert_eq!(
            c.request(0.0, "", Some(f64::NAN)).unwrap().as_str(),
            "http://api.test/steer/1?session=abc"
        );
    }

    #[test]
    fn request_replaces_old_steering_params_and_keeps_the_rest_verbatim() {
        let c = client(
            ManifestFormat::Hls,
            "http://api.test/s?_HLS_pathway=%22x%22&k=v%20w&_HLS_throughput=1&_DASH_pathway=y",
        );
        assert_eq!(
            c.request(0.0, "a", Some(1000.0)).unwrap().as_str(),
            "http://api.test/s?k=v%20w&_HLS_pathway=%22a%22&_HLS_throughput=1000"
        );
    }

    #[test]
    fn dash_request_uses_dash_params() {
        let c = client(ManifestFormat::Dash, STEER);
        assert_eq!(
            c.request(0.0, "b", Some(2_500_000.0)).unwrap().as_str(),
            "http://api.test/steer/1?session=abc&_DASH_pathway=%22b%22&_DASH_throughput=2500"
        );
    }

    #[test]
    fn dash_without_query_before_start_waits_for_the_start() {
        let mut c = SteeringClient::new(&tag(STEER, false), ManifestFormat::Dash, &ids(&["a"]));
        assert!(!c.due(0.0));
        assert_eq!(c.request(100.0, "a", None), None);
        assert_eq!(c.next_due_s(), None);
        c.started(5.0);
        assert!(!c.due(4.9));
        assert!(c.due(5.0));
        c.started(50.0);
        assert_eq!(c.next_due_s(), Some(5.0), "started twice changes nothing");
        assert!(c.request(5.0, "a", None).is_some());
    }

    #[test]
    fn no_server_uri_is_never_due() {
        let t = SteeringTag {
            server_uri: None,
            default_pathway: None,
            query_before_start: true,
        };
        let mut c = SteeringClient::new(&t, ManifestFormat::Hls, &ids(&["a"]));
        assert!(!c.due(0.0));
        assert_eq!(c.request(0.0, "a", None), None);
        assert!(c.take_inline(0.0).is_none());
    }

    #[test]
    fn answers_schedule_the_next_reload_after_the_ttl() {
        let mut c = hls();
        let u = c.on_response(1.0, good(10, &["b", "a"])).unwrap();
        assert_eq!(u.priority, ids(&["b", "a"]));
        assert!(u.clones.is_empty());
        assert_eq!(u.ttl_s, 10.0);
        assert_eq!(c.next_due_s(), Some(11.0));
        assert!(!c.due(10.9));
        assert_eq!(c.request(10.9, "b", None), None);
        assert!(c.due(11.0));
        assert_eq!(c.priority(), ids(&["b", "a"]).as_slice());
        assert_eq!(c.ttl_s(), Some(10.0));
    }

    #[test]
    fn missing_or_zero_ttl_means_300_s() {
        let mut c = hls();
        c.on_response(1.0, body(r#"{"VERSION":1,"PATHWAY-PRIORITY":["a"]}"#))
            .unwrap();
        assert_eq!(c.next_due_s(), Some(301.0));
        let u = c.on_response(301.0, good(0, &["a"])).unwrap();
        assert_eq!(u.ttl_s, 300.0);
        assert_eq!(c.next_due_s(), Some(601.0));
        c.on_response(
            601.0,
            body(r#"{"VERSION":1,"TTL":2.5,"PATHWAY-PRIORITY":["a"]}"#),
        )
        .unwrap();
        assert_eq!(c.next_due_s(), Some(604.0), "fractional TTL rounds up");
    }

    #[test]
    fn gone_stops_steering_and_keeps_the_priority() {
        let mut c = hls();
        c.on_response(0.0, good(10, &["b", "a"])).unwrap();
        let e = c
            .on_response(
                10.0,
                SteeringOutcome::Status {
                    code: 410,
                    retry_after_s: None,
                },
            )
            .unwrap_err();
        assert_eq!(e, SteeringError::Gone);
        assert!(c.is_stopped());
        assert!(!c.due(1e9));
        assert_eq!(c.request(1e9, "b", None), None);
        assert_eq!(c.next_due_s(), None);
        assert_eq!(c.priority(), ids(&["b", "a"]).as_slice());
        // A late failure does not revive it.
        let _ = c.on_response(11.0, SteeringOutcome::Failed("x".into()));
        assert!(!c.due(1e9));
    }

    #[test]
    fn too_many_requests_honours_retry_after() {
        let mut c = hls();
        c.on_response(0.0, good(10, &["a"])).unwrap();
        let e = c
            .on_response(
                10.0,
                SteeringOutcome::Status {
                    code: 429,
                    retry_after_s: Some(30.0),
                },
            )
            .unwrap_err();
        assert_eq!(
            e,
            SteeringError::Status {
                code: 429,
                retry_in_s: 30.0
            }
        );
        assert_eq!(c.next_due_s(), Some(40.0));
        c.on_response(
            40.0,
            SteeringOutcome::Status {
                code: 429,
                retry_after_s: None,
            },
        )
        .unwrap_err();
        assert_eq!(c.next_due_s(), Some(50.0), "without Retry-After: the TTL");
    }

    #[test]
    fn server_errors_keep_the_last_answer_and_retry_after_ttl_or_300_s() {
        let mut c = hls();
        let e = c
            .on_response(
                0.0,
                SteeringOutcome::Status {
                    code: 500,
                    retry_after_s: Some(1.0),
                },
            )
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "steering server answered HTTP 500; retrying in 300 s"
        );
        assert_eq!(c.next_due_s(), Some(300.0));
        assert!(c.priority().is_empty());

        c.on_response(300.0, good(10, &["b", "a"])).unwrap();
        c.on_response(
            310.0,
            SteeringOutcome::Status {
                code: 503,
                retry_after_s: None,
            },
        )
        .unwrap_err();
        assert_eq!(c.next_due_s(), Some(320.0));
        assert_eq!(c.priority(), ids(&["b", "a"]).as_slice());

        let e = c
            .on_response(320.0, SteeringOutcome::Failed("connection\nrefused".into()))
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "steering request failed: connection refused; retrying in 10 s"
        );
        assert_eq!(c.next_due_s(), Some(330.0));
        assert_eq!(c.priority(), ids(&["b", "a"]).as_slice());
    }

    #[test]
    fn bad_bodies_are_errors_and_keep_the_last_answer() {
        let mut c = hls();
        c.on_response(0.0, good(10, &["b", "a"])).unwrap();
        type Check = fn(&SteeringError) -> bool;
        let cases: [(&str, Check); 6] = [
            ("<html>oops</html>", |e| matches!(e, SteeringError::Json(_))),
            ("[1,2]", |e| matches!(e, SteeringError::Malformed(_))),
            (r#"{"VERSION":1,"TTL":10}"#, |e| {
                matches!(e, SteeringError::Malformed(_))
            }),
            (r#"{"VERSION":2,"TTL":10,"PATHWAY-PRIORITY":["a"]}"#, |e| {
                *e == SteeringError::Version(2)
            }),
            (r#"{"VERSION":1,"TTL":10,"PATHWAY-PRIORITY":[]}"#, |e| {
                *e == SteeringError::EmptyPriority
            }),
            (
                r#"{"VERSION":1,"TTL":10,"PATHWAY-PRIORITY":["x","y"]}"#,
                |e| *e == SteeringError::UnknownPathways(ids(&["x", "y"])),
            ),
        ];
        let mut now = 10.0;
        for (text, check) in cases {
            let e = c.on_response(now, body(text)).unwrap_err();
            assert!(check(&e), "{text}: {e:?}");
            assert!(!e.to_string().contains('\n'), "{e}");
            assert_eq!(c.priority(), ids(&["b", "a"]).as_slice(), "{text}");
            assert_eq!(c.next_due_s(), Some(now + 10.0), "{text}");
            now += 10.0;
        }
        assert_eq!(
            SteeringError::UnknownPathways(ids(&["x", "y"])).to_string(),
            "steering manifest names no known pathway (priority: \"x\", \"y\")"
        );
    }

    #[test]
    fn bad_body_before_any_answer_retries_after_300_s() {
        let mut c = hls();
        assert!(c.on_response(2.0, body("garbage")).is_err());
        assert_eq!(c.next_due_s(), Some(302.0));
    }

    #[test]
    fn reload_uri_resolves_against_the_answer_url() {
        let mut c = hls();
        c.on_response(
            0.0,
            body(
                r#"{"VERSION":1,"TTL":10,"RELOAD-URI":"../v2/steer?s=abc&n=2","PATHWAY-PRIORITY":["a"]}"#,
            ),
        )
        .unwrap();
        assert_eq!(
            c.reload_url().unwrap().as_str(),
            "http://api.test/v2/steer?s=abc&n=2"
        );
        assert_eq!(
            c.request(10.0, "a", None).unwrap().as_str(),
            "http://api.test/v2/steer?s=abc&n=2&_HLS_pathway=%22a%22"
        );
        // An answer without RELOAD-URI keeps the current one; an absolute one replaces it.
        c.on_response(10.0, good(10, &["a"])).unwrap();
        assert_eq!(
            c.reload_url().unwrap().as_str(),
            "http://api.test/v2/steer?s=abc&n=2"
        );
        c.on_response(
            20.0,
            body(
                r#"{"VERSION":1,"TTL":10,"RELOAD-URI":"https://other.test/x","PATHWAY-PRIORITY":["a"]}"#,
            ),
        )
        .unwrap();
        assert_eq!(c.reload_url().unwrap().as_str(), "https://other.test/x");
    }

    #[test]
    fn priority_drops_unknown_ids_and_accepts_new_clones() {
        let mut c = hls();
        let json = r#"{
            "VERSION": 1, "TTL": 10,
            "PATHWAY-PRIORITY": ["zz", "c", "b", "b", "d"],
            "PATHWAY-CLONES": [
                {"BASE-ID": "a", "ID": "c", "URI-REPLACEMENT": {"HOST": "c.test"}},
                {"BASE-ID": "nope", "ID": "d", "URI-REPLACEMENT": {"HOST": "d.test"}},
                {"BASE-ID": "a", "ID": "b", "URI-REPLACEMENT": {"HOST": "b2.test"}}
            ]
        }"#;
        let u = c.on_response(0.0, body(json)).unwrap();
        assert_eq!(u.priority, ids(&["c", "b"]));
        assert_eq!(u.clones.len(), 1);
        assert_eq!(u.clones[0].id, "c");
        assert_eq!(u.clones[0].uri_replacement.host.as_deref(), Some("c.test"));
        // The same answer again: the clone is known, not new.
        let u = c.on_response(10.0, body(json)).unwrap();
        assert_eq!(u.priority, ids(&["c", "b"]));
        assert!(u.clones.is_empty());
    }

    #[test]
    fn rejected_answers_do_not_register_their_clones() {
        let mut c = hls();
        let bad = r#"{"VERSION":1,"TTL":10,"PATHWAY-PRIORITY":["zz"],
            "PATHWAY-CLONES":[{"BASE-ID":"a","ID":"c","URI-REPLACEMENT":{}}]}"#;
        assert!(c.on_response(0.0, body(bad)).is_err());
        let u = c.on_response(10.0, good(10, &["c", "a"])).unwrap();
        assert_eq!(u.priority, ids(&["a"]));
    }

    #[test]
    fn dash_manifests_accept_either_priority_key() {
        let mut c = client(ManifestFormat::Dash, STEER);
        let u = c
            .on_response(
                0.0,
                body(r#"{"VERSION":1,"TTL":20,"SERVICE-LOCATION-PRIORITY":["b","a"]}"#),
            )
            .unwrap();
        assert_eq!(u.priority, ids(&["b", "a"]));
        assert_eq!(c.next_due_s(), Some(20.0));
        let u = c.on_response(20.0, good(20, &["a"])).unwrap();
        assert_eq!(u.priority, ids(&["a"]));
    }

    #[test]
    fn base64_data_uri_is_inline_and_never_fetched() {
        // {"VERSION":1,"TTL":10,"RELOAD-URI":"http://api.test/steer/2","PATHWAY-PRIORITY":["b","a"]}
        let uri = "data:application/json;base64,eyJWRVJTSU9OIjoxLCJUVEwiOjEwLCJSRUxPQUQtVVJJIjoiaHR0cDovL2FwaS50ZXN0L3N0ZWVyLzIiLCJQQVRIV0FZLVBSSU9SSVRZIjpbImIiLCJhIl19";
        let mut c = client(ManifestFormat::Hls, uri);
        assert!(!c.due(0.0));
        assert_eq!(c.request(0.0, "b", None), None);
        let u = c.take_inline(0.0).unwrap().unwrap();
        assert_eq!(u.priority, ids(&["b", "a"]));
        assert!(c.take_inline(0.0).is_none(), "taken once");
        assert!(!c.due(9.9));
        assert_eq!(
            c.request(10.0, "b", None).unwrap().as_str(),
            "http://api.test/steer/2?_HLS_pathway=%22b%22"
        );
    }

    #[test]
    fn percent_encoded_data_uri_is_inline() {
        let uri = "data:application/json,%7B%22VERSION%22%3A1%2C%22TTL%22%3A10%2C%22PATHWAY-PRIORITY%22%3A%5B%22a%22%5D%7D";
        let mut c = client(ManifestFormat::Hls, uri);
        let u = c.take_inline(0.0).unwrap().unwrap();
        assert_eq!(u.priority, ids(&["a"]));
        assert_eq!(c.request(1e6, "a", None), None, "no RELOAD-URI: no reloads");

        let raw = r#"data:application/json,{"VERSION":1,"TTL":5,"PATHWAY-PRIORITY":["b"]}"#;
        let mut c = client(ManifestFormat::Hls, raw);
        assert_eq!(c.take_inline(0.0).unwrap().unwrap().priority, ids(&["b"]));
    }

    #[test]
    fn invalid_data_uris_are_reported_once() {
        let mut c = client(ManifestFormat::Hls, "data:application/json;base64,e!!");
        assert!(matches!(
            c.take_inline(0.0),
            Some(Err(SteeringError::DataUri(_)))
        ));
        assert!(c.take_inline(0.0).is_none());
        assert!(!c.due(1e9));
        let mut c = client(ManifestFormat::Hls, "data:application/json,not-json");
        assert!(matches!(
            c.take_inline(0.0),
            Some(Err(SteeringError::Json(_)))
        ));
    }

    #[test]
    fn base64_decoder_matches_rfc_4648_vectors() {
        let cases = [
            ("", ""),
            ("Zg==", "f"),
            ("Zm8=", "fo"),
            ("Zm9v", "foo"),
            ("Zm9vYg==", "foob"),
            ("Zm9vYmE=", "fooba"),
            ("Zm9vYmFy", "foobar"),
            ("Zm9vYg", "foob"),
            ("Zm9v\r\nYmFy", "foobar"),
        ];
        for (enc, dec) in cases {
            assert_eq!(
                decode_base64(enc.as_bytes()).as_deref(),
                Some(dec.as_bytes()),
                "{enc}"
            );
        }
        assert_eq!(decode_base64(b"-_8=").unwrap(), vec![0xfb_u8, 0xff]);
        assert_eq!(decode_base64(b"+/8=").unwrap(), vec![0xfb_u8, 0xff]);
        assert_eq!(decode_base64(b"Z"), None);
        assert_eq!(decode_base64(b"Zg==Zg"), None);
        assert_eq!(decode_base64(b"Zm9*"), None);
    }

    #[test]
    fn percent_decoder_keeps_stray_percent_signs() {
        assert_eq!(percent_decode(b"a%20b%2Cc%zz%4"), b"a b,c%zz%4".to_vec());
    }

    fn presentation() -> Presentation {
        let loc = |p: &str, u: &str| Location {
            pathway: Some(p.into()),
            url: url(u),
        };
        let video = Track {
            id: "video".into(),
            kind: MediaKind::Video,
            language: None,
            name: None,
            default: true,
            representations: vec![
                Representation::new(
                    "v1",
                    vec![
                        loc("a", "http://a.test:8080/t/v1.m3u8?tok=1"),
                        loc("b", "http://b.test/t/v1.m3u8"),
                    ],
                    SegmentIndex::HlsPlaylist,
                ),
                Representation::new(
                    "v2",
                    vec![
                        loc("a", "http://a.test:8080/t/v2.m3u8"),
                        loc("b", "http://b.test/t/v2.m3u8"),
                    ],
                    SegmentIndex::HlsPlaylist,
                ),
            ],
        };
        let audio = Track {
            id: "audio".into(),
            kind: MediaKind::Audio,
            language: None,
            name: None,
            default: true,
            representations: vec![Representation::new(
                "a1",
                vec![loc("b", "http://b.test/t/a1.m3u8")],
                SegmentIndex::HlsPlaylist,
            )],
        };
        Presentation {
            url: url("http://api.test/master.m3u8"),
            format: ManifestFormat::Hls,
            live: false,
            duration_s: Some(60.0),
            reload_interval_s: None,
            periods: vec![Period {
                id: "p0".into(),
                start_s: 0.0,
                duration_s: Some(60.0),
                tracks: vec![video, audio],
            }],
            pathways: ids(&["a", "b"]),
            steering: Some(tag(STEER, false)),
        }
    }

    fn pathway_clone(
        base: &str,
        id: &str,
        host: Option<&str>,
        params: &[(&str, &str)],
    ) -> PathwayClone {
        PathwayClone {
            base_id: base.into(),
            id: id.into(),
            uri_replacement: UriReplacement {
                host: host.map(String::from),
                params: params
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect::<BTreeMap<_, _>>(),
            },
        }
    }

    fn location_url(p: &Presentation, track: usize, rep: usize, pathway: &str) -> Option<String> {
        p.periods[0].tracks[track].representations[rep]
            .locations
            .iter()
            .find(|l| l.pathway.as_deref() == Some(pathway))
            .map(|l| l.url.to_string())
    }

    #[test]
    fn clones_replace_host_and_port_and_set_params() {
        let mut p = presentation();
        let clone = pathway_clone(
            "a",
            "c",
            Some("127.0.0.1:8473"),
            &[("x", "1 2"), ("tok", "9")],
        );
        assert!(apply_clone(&mut p, &clone));
        assert_eq!(
            location_url(&p, 0, 0, "c").as_deref(),
            Some("http://127.0.0.1:8473/t/v1.m3u8?tok=9&x=1+2")
        );
        assert_eq!(
            location_url(&p, 0, 1, "c").as_deref(),
            Some("http://127.0.0.1:8473/t/v2.m3u8?tok=9&x=1+2")
        );
        assert_eq!(
            location_url(&p, 1, 0, "c"),
            None,
            "audio has no location on a"
        );
        assert_eq!(p.pathways, ids(&["a", "b", "c"]));
        assert!(!apply_clone(&mut p, &clone), "applied already");
        assert_eq!(p.pathways, ids(&["a", "b", "c"]));
        assert_eq!(p.periods[0].tracks[0].representations[0].locations.len(), 3);
    }

    #[test]
    fn clone_host_without_port_keeps_the_port() {
        let mut p = presentation();
        assert!(apply_clone(
            &mut p,
            &pathway_clone("a", "c", Some("c.test"), &[])
        ));
        assert_eq!(
            location_url(&p, 0, 0, "c").as_deref(),
            Some("http://c.test:8080/t/v1.m3u8?tok=1")
        );
        assert!(apply_clone(
            &mut p,
            &pathway_clone("b", "v6", Some("[::1]:9000"), &[])
        ));
        assert_eq!(
            location_url(&p, 1, 0, "v6").as_deref(),
            Some("http://[::1]:9000/t/a1.m3u8")
        );
        assert!(apply_clone(
            &mut p,
            &pathway_clone("b", "p", None, &[("k", "v")])
        ));
        assert_eq!(
            location_url(&p, 0, 1, "p").as_deref(),
            Some("http://b.test/t/v2.m3u8?k=v")
        );
    }

    #[test]
    fn clones_without_base_or_with_a_bad_host_do_nothing() {
        let mut p = presentation();
        assert!(!apply_clone(
            &mut p,
            &pathway_clone("zz", "c", Some("c.test"), &[])
        ));
        assert!(!apply_clone(
            &mut p,
            &pathway_clone("a", "c", Some("c.test/path"), &[])
        ));
        assert!(!apply_clone(
            &mut p,
            &pathway_clone("a", "c", Some("u@c.test"), &[])
        ));
        assert_eq!(p.pathways, ids(&["a", "b"]));
        assert_eq!(p, presentation());
    }

    #[test]
    fn the_chooser_for_a_presentation_starts_on_its_steering_default() {
        assert_eq!(
            PathwayChooser::from_presentation(&presentation()).current(),
            Some("b")
        );
    }
}
