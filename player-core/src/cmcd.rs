//! Common Media Client Data (CTA-5004, CMCD version 1) for the player's HTTP requests.
//!
//! This module owns the CMCD encoding: it turns a [`CmcdSession`] (what stays the same for a
//! playback session) and a [`CmcdRequest`] (what describes one request) into the four `CMCD-*`
//! request headers ([`CmcdSession::headers`]) or a `CMCD=` query argument
//! ([`CmcdSession::apply_query`]). It is pure: no I/O and no clock — every value is passed in.

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde::{Deserialize, Serialize};
use url::Url;

use crate::presentation::{ByteRange, MediaKind};

/// Longest `cid` / `sid` string sent, in characters (CTA-5004).
const MAX_STRING_CHARS: usize = 64;

/// Header names, indexed by [`header_index`].
const HEADER_NAMES: [&str; 4] = ["cmcd-object", "cmcd-request", "cmcd-session", "cmcd-status"];

/// How CMCD data travels with a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CmcdMode {
    /// No CMCD data is sent.
    Off,
    /// The four `CMCD-*` request headers (the default).
    #[default]
    Headers,
    /// One `CMCD=` query argument.
    Query,
}

/// Type of the requested object (`ot`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ObjectType {
    /// Text file such as a manifest or playlist (`m`).
    Manifest,
    /// Audio-only segment (`a`).
    Audio,
    /// Video-only segment (`v`).
    Video,
    /// Muxed audio and video segment (`av`).
    Muxed,
    /// Initialization segment (`i`).
    Init,
    /// Caption or subtitle (`c`).
    Caption,
    /// ISOBMFF timed-text track (`tt`).
    TimedText,
    /// Cryptographic key, license or certificate (`k`).
    Key,
    /// Anything else (`o`).
    Other,
}

impl ObjectType {
    /// The CMCD token for this object type.
    pub fn token(self) -> &'static str {
        match self {
            Self::Manifest => "m",
            Self::Audio => "a",
            Self::Video => "v",
            Self::Muxed => "av",
            Self::Init => "i",
            Self::Caption => "c",
            Self::TimedText => "tt",
            Self::Key => "k",
            Self::Other => "o",
        }
    }
}

/// Streaming format of the session (`sf`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StreamingFormat {
    /// MPEG-DASH (`d`).
    Dash,
    /// HTTP Live Streaming (`h`).
    Hls,
    /// Anything else (`o`).
    Other,
}

impl StreamingFormat {
    /// The CMCD token for this format.
    pub fn token(self) -> &'static str {
        match self {
            Self::Dash => "d",
            Self::Hls => "h",
            Self::Other => "o",
        }
    }
}

/// Stream type of the session (`st`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StreamType {
    /// Video on demand (`v`).
    Vod,
    /// Live (`l`).
    Live,
}

impl StreamType {
    /// The CMCD token for this stream type.
    pub fn token(self) -> &'static str {
        match self {
            Self::Vod => "v",
            Self::Live => "l",
        }
    }
}

/// What stays the same for a whole session.
#[derive(Debug, Clone, PartialEq)]
pub struct CmcdSession {
    /// How the data is sent.
    pub mode: CmcdMode,
    /// Session id (`sid`), a GUID; at most 64 characters are sent, empty is omitted.
    pub session_id: String,
    /// Content id (`cid`); at most 64 characters are sent, empty is omitted.
    pub content_id: Option<String>,
    /// Streaming format (`sf`).
    pub format: StreamingFormat,
    /// Stream type (`st`).
    pub stream_type: StreamType,
    /// Playback rate (`pr`); 1 (real time) is omitted, 0 means not playing.
    pub playback_rate: f64,
}

/// Per-request data; all optional.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CmcdRequest {
    /// Object type (`ot`).
    pub object_type: Option<ObjectType>,
    /// Encoded bitrate of the object in kbps (`br`).
    pub bitrate_kbps: Option<u64>,
    /// Highest bitrate rendition available in kbps (`tb`).
    pub top_bitrate_kbps: Option<u64>,
    /// Playback duration of the object in seconds (`d`, sent in ms).
    pub duration_s: Option<f64>,
    /// Forward buffer length in seconds (`bl`, sent in ms rounded to 100).
    pub buffer_length_s: Option<f64>,
    /// Time until the buffer would underrun, in seconds (`dl`, sent in ms rounded to 100).
    pub deadline_s: Option<f64>,
    /// Measured throughput in bit/s (`mtp`, sent in kbps rounded to 100).
    pub measured_throughput_bps: Option<f64>,
    /// Requested maximum throughput in bit/s (`rtp`, sent in kbps rounded to 100).
    pub requested_max_throughput_bps: Option<f64>,
    /// Next object, already relative to this request (see [`relative_reference`]) (`nor`).
    pub next_object: Option<String>,
    /// Next byte range, inclusive `(start, end)` (`nrr`).
    pub next_range: Option<(u64, u64)>,
    /// The buffer ran empty since the previous request (`bs`).
    pub buffer_starvation: bool,
    /// The object is needed urgently for startup, seeking or rebuffer recovery (`su`).
    pub startup: bool,
}

/// What the player knows about one segment request; [`CmcdRequest::for_segment`] turns it into
/// the request's CMCD data.
#[derive(Debug, Clone, Copy)]
pub struct SegmentRequest<'a> {
    /// What the segment carries.
    pub kind: MediaKind,
    /// The rendition's bitrate, bit/s.
    pub bitrate_bps: u64,
    /// The track's highest rendition bitrate, bit/s.
    pub top_bitrate_bps: u64,
    /// The segment's duration, seconds.
    pub duration_s: f64,
    /// Media buffered ahead of the play position for this segment's stream, seconds.
    pub buffer_s: f64,
    /// The player's throughput estimate, bit/s.
    pub throughput_bps: Option<f64>,
    /// The segment's URL and the next segment's, for the next-object key.
    pub url: Option<&'a Url>,
    /// The URL of the segment after this one at the same rendition.
    pub next_url: Option<&'a Url>,
    /// The byte range of the segment after this one.
    pub next_range: Option<ByteRange>,
    /// The buffer ran dry since the previous segment request.
    pub starved: bool,
    /// The player is starting up, seeking or recovering from a stall.
    pub startup: bool,
}

impl CmcdRequest {
    /// The CMCD data of a media segment request: the buffer is also the deadline (the segment is
    /// needed before it runs out), and the requested maximum throughput is enough to fetch the
    /// segment in a quarter of its duration.
    pub fn for_segment(segment: &SegmentRequest<'_>) -> Self {
        Self {
            object_type: Some(match segment.kind {
                MediaKind::Video => ObjectType::Video,
                MediaKind::Audio => ObjectType::Audio,
                MediaKind::Text => ObjectType::TimedText,
            }),
            bitrate_kbps: Some(segment.bitrate_bps / 1000),
            top_bitrate_kbps: Some(segment.top_bitrate_bps / 1000),
            duration_s: Some(segment.duration_s),
            buffer_length_s: Some(segment.buffer_s),
            deadline_s: Some(segment.buffer_s),
            measured_throughput_bps: segment.throughput_bps,
            requested_max_throughput_bps: Some(4.0 * segment.bitrate_bps as f64),
            next_object: segment
                .url
                .zip(segment.next_url)
                .map(|(from, to)| relative_reference(from, to)),
            next_range: segment
                .next_range
                .map(|r| (r.offset, r.offset + r.length.saturating_sub(1))),
            buffer_starvation: segment.starved,
            startup: segment.startup,
        }
    }

    /// The same request's initialization segment: object type `i`, and no next object (the
    /// media segment comes next, and it is requested anyway).
    pub fn for_init(&self) -> Self {
        Self {
            object_type: Some(ObjectType::Init),
            next_object: None,
            next_range: None,
            ..self.clone()
        }
    }
}

impl CmcdSession {
    /// A session in [`CmcdMode::Headers`] at playback rate 1, with a fresh random GUID as `sid`.
    pub fn new(
        format: StreamingFormat,
        stream_type: StreamType,
        content_id: Option<String>,
    ) -> Self {
        Self {
            mode: CmcdMode::default(),
            session_id: random_guid(),
            content_id,
            format,
            stream_type,
            playback_rate: 1.0,
        }
    }

    /// The same session sending its data in `mode`.
    pub fn with_mode(mut self, mode: CmcdMode) -> Self {
        self.mode = mode;
        self
    }

    /// All key/value pairs for a request, sorted by key; the value is `None` for bare boolean keys.
    ///
    /// Ignores [`CmcdSession::mode`]. String values are already quoted and escaped.
    pub fn pairs(&self, req: &CmcdRequest) -> Vec<(&'static str, Option<String>)> {
        let mut out: Vec<(&'static str, Option<String>)> = Vec::with_capacity(18);
        if let Some(bl) = req.buffer_length_s.and_then(seconds_to_ms_100) {
            out.push(("bl", Some(bl.to_string())));
        }
        if let Some(br) = req.bitrate_kbps {
            out.push(("br", Some(br.to_string())));
        }
        if req.buffer_starvation {
            out.push(("bs", None));
        }
        if let Some(cid) = self.content_id.as_deref().filter(|c| !c.is_empty()) {
            out.push(("cid", Some(quote(truncate_chars(cid, MAX_STRING_CHARS)))));
        }
        if let Some(d) = req.duration_s.and_then(finite_non_negative) {
            out.push(("d", Some(((d * 1000.0).round() as u64).to_string())));
        }
        if let Some(dl) = req.deadline_s.and_then(seconds_to_ms_100) {
            out.push(("dl", Some(dl.to_string())));
        }
        if let Some(mtp) = req.measured_throughput_bps.and_then(bps_to_kbps_100) {
            out.push(("mtp", Some(mtp.to_string())));
        }
        if let Some(nor) = req.next_object.as_deref().filter(|n| !n.is_empty()) {
            out.push(("nor", Some(quote(&encode_uri_component(nor)))));
        }
        if let Some((start, end)) = req.next_range {
            out.push(("nrr", Some(format!("\"{start}-{end}\""))));
        }
        if let Some(ot) = req.object_type {
            out.push(("ot", Some(ot.token().to_owned())));
        }
        if let Some(pr) = playback_rate_value(self.playback_rate) {
            out.push(("pr", Some(pr)));
        }
        if let Some(rtp) = req.requested_max_throughput_bps.and_then(bps_to_kbps_100) {
            out.push(("rtp", Some(rtp.to_string())));
        }
        out.push(("sf", Some(self.format.token().to_owned())));
        if !self.session_id.is_empty() {
            out.push((
                "sid",
                Some(quote(truncate_chars(&self.session_id, MAX_STRING_CHARS))),
            ));
        }
        out.push(("st", Some(self.stream_type.token().to_owned())));
        if req.startup {
            out.push(("su", None));
        }
        if let Some(tb) = req.top_bitrate_kbps {
            out.push(("tb", Some(tb.to_string())));
        }
        out.push(("v", Some("1".to_owned())));
        out.sort_by_key(|(key, _)| *key);
        out
    }

    /// All pairs as one comma-separated CMCD payload (the unencoded `CMCD=` query value).
    pub fn payload(&self, req: &CmcdRequest) -> String {
        self.pairs(req)
            .iter()
            .map(|(key, value)| entry(key, value.as_deref()))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// The four headers (only non-empty ones) — empty map when mode is not [`CmcdMode::Headers`].
    pub fn headers(&self, req: &CmcdRequest) -> HeaderMap {
        let mut map = HeaderMap::new();
        if self.mode != CmcdMode::Headers {
            return map;
        }
        let mut shards: [Vec<String>; 4] = Default::default();
        for (key, value) in self.pairs(req) {
            shards[header_index(key)].push(entry(key, value.as_deref()));
        }
        for (name, entries) in HEADER_NAMES.into_iter().zip(shards) {
            if entries.is_empty() {
                continue;
            }
            // Only control characters could make this fail, and `quote` drops them.
            if let Ok(value) = HeaderValue::from_bytes(entries.join(",").as_bytes()) {
                map.insert(HeaderName::from_static(name), value);
            }
        }
        map
    }

    /// The URL with the `CMCD` query argument appended — unchanged when mode is not
    /// [`CmcdMode::Query`]. Existing query parameters are kept as they are.
    pub fn apply_query(&self, url: &Url, req: &CmcdRequest) -> Url {
        let mut out = url.clone();
        if self.mode != CmcdMode::Query {
            return out;
        }
        let payload = self.payload(req);
        if !payload.is_empty() {
            out.query_pairs_mut().append_pair("CMCD", &payload);
        }
        out
    }

    /// The URL and headers a request goes out with: the data in the query or in the headers,
    /// as the session's mode says.
    pub fn apply(&self, url: &Url, req: &CmcdRequest) -> (Url, HeaderMap) {
        (self.apply_query(url, req), self.headers(req))
    }
}

/// Relative path from `from` to `to` for `nor` (same origin: a relative reference like
/// `seg_2.m4s` or `../v1/seg.m4s`; else the absolute URL). The fragment of `to` is dropped.
pub fn relative_reference(from: &Url, to: &Url) -> String {
    let mut target = to.clone();
    target.set_fragment(None);
    match from.make_relative(&target) {
        Some(rel) if !rel.is_empty() => rel,
        // Same resource: name it by its last path segment.
        Some(_) => {
            let name = target.path().rsplit('/').next().unwrap_or_default();
            if name.is_empty() {
                "./".to_owned()
            } else {
                name.to_owned()
            }
        }
        None => target.into(),
    }
}

/// A random version-4 GUID, lowercase hex, `8-4-4-4-12`.
fn random_guid() -> String {
    let mut bits = fastrand::u128(..);
    bits = (bits & !(0xF_u128 << 76)) | (0x4_u128 << 76); // version 4
    bits = (bits & !(0x3_u128 << 62)) | (0x2_u128 << 62); // RFC 4122 variant
    let hex = format!("{bits:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// Which `CMCD-*` header a key belongs to (index into [`HEADER_NAMES`]).
fn header_index(key: &str) -> usize {
    match key {
        "br" | "d" | "ot" | "tb" => 0,
        "cid" | "pr" | "sf" | "sid" | "st" | "v" => 2,
        "bs" | "rtp" => 3,
        // bl, dl, mtp, nor, nrr, su — and, per the spec, anything unknown.
        _ => 1,
    }
}

/// `key=value`, or the bare key for a true boolean.
fn entry(key: &str, value: Option<&str>) -> String {
    match value {
        Some(value) => format!("{key}={value}"),
        None => key.to_owned(),
    }
}

/// `x` clamped to 0 when negative; `None` when not finite.
fn finite_non_negative(x: f64) -> Option<f64> {
    x.is_finite().then_some(x.max(0.0))
}

/// An integer rounded to the nearest 100 (half up).
fn nearest_100(n: u64) -> u64 {
    n.saturating_add(50) / 100 * 100
}

/// Seconds to integer milliseconds rounded to the nearest 100.
fn seconds_to_ms_100(seconds: f64) -> Option<u64> {
    finite_non_negative(seconds).map(|s| nearest_100((s * 1000.0).round() as u64))
}

/// Bit/s to integer kbps rounded to the nearest 100.
fn bps_to_kbps_100(bps: f64) -> Option<u64> {
    finite_non_negative(bps).map(|b| nearest_100((b / 1000.0).round() as u64))
}

/// The `pr` value: `None` at real time (1) or when not finite, else a short decimal.
fn playback_rate_value(rate: f64) -> Option<String> {
    if !rate.is_finite() || (rate - 1.0).abs() < 1e-9 {
        return None;
    }
    let rounded = (rate.max(0.0) * 1000.0).round() / 1000.0;
    Some(if rounded <= 0.0 {
        "0".to_owned()
    } else {
        format!("{rounded}")
    })
}

/// At most `max` characters of `s`.
fn truncate_chars(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// A CMCD string: double-quoted, `"` and `\` backslash-escaped, control characters dropped.
fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars().filter(|c| !c.is_control()) {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// Percent-encoding like JavaScript's `encodeURIComponent` (what CTA-5004 means by URL-encoded).
fn encode_uri_component(s: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.!~*'()".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0xF)]));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const SID: &str = "6e2fb550-c457-11e9-bb97-0800200c9a66";

    fn session() -> CmcdSession {
        let mut s = CmcdSession::new(
            StreamingFormat::Hls,
            StreamType::Vod,
            Some("movie-42".into()),
        );
        s.session_id = SID.to_owned();
        s
    }

    fn video_request() -> CmcdRequest {
        CmcdRequest {
            object_type: Some(ObjectType::Video),
            bitrate_kbps: Some(3200),
            top_bitrate_kbps: Some(6000),
            duration_s: Some(4.0),
            buffer_length_s: Some(21.349),
            deadline_s: Some(18.93),
            measured_throughput_bps: Some(25_380_000.0),
            next_object: Some("seg_3.m4s".into()),
            startup: true,
            ..Default::default()
        }
    }

    fn header<'a>(map: &'a HeaderMap, name: &str) -> Option<&'a str> {
        map.get(name).map(|v| v.to_str().unwrap())
    }

    /// The encoded value of `key`: `None` when absent, `Some(None)` for a bare boolean.
    fn value(s: &CmcdSession, req: &CmcdRequest, key: &str) -> Option<Option<String>> {
        s.pairs(req)
            .into_iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v)
    }

    fn segment_request<'a>(url: &'a Url, next: &'a Url) -> SegmentRequest<'a> {
        SegmentRequest {
            kind: MediaKind::Video,
            bitrate_bps: 3_200_000,
            top_bitrate_bps: 6_000_000,
            duration_s: 4.0,
            buffer_s: 12.0,
            throughput_bps: Some(25_000_000.0),
            url: Some(url),
            next_url: Some(next),
            next_range: Some(ByteRange {
                offset: 1000,
                length: 500,
            }),
            starved: true,
            startup: false,
        }
    }

    #[test]
    fn a_segment_request_carries_its_rendition_buffer_and_next_object() {
        let url = Url::parse("http://oca/t/v3/seg_7.m4s").unwrap();
        let next = Url::parse("http://oca/t/v3/seg_8.m4s").unwrap();
        let req = CmcdRequest::for_segment(&segment_request(&url, &next));
        let payload = session().payload(&req);
        for key in [
            "bl=12000",
            "br=3200",
            "bs",
            "d=4000",
            "dl=12000",
            "mtp=25000",
            "nor=\"seg_8.m4s\"",
            "nrr=\"1000-1499\"",
            "ot=v",
            "rtp=12800",
            "tb=6000",
        ] {
            assert!(payload.split(',').any(|p| p == key), "{key} in {payload}");
        }
        assert!(!payload.split(',').any(|p| p == "su"), "{payload}");
    }

    #[test]
    fn segment_requests_name_their_object_type_by_kind() {
        let url = Url::parse("http://oca/t/a/seg_7.m4s").unwrap();
        let types: Vec<_> = [MediaKind::Video, MediaKind::Audio, MediaKind::Text]
            .into_iter()
            .map(|kind| {
                CmcdRequest::for_segment(&SegmentRequest {
                    kind,
                    ..segment_request(&url, &url)
                })
                .object_type
            })
            .collect();
        assert_eq!(
            types,
            [
                Some(ObjectType::Video),
                Some(ObjectType::Audio),
                Some(ObjectType::TimedText)
            ]
        );
    }

    #[test]
    fn an_init_request_is_type_i_with_no_next_object() {
        let url = Url::parse("http://oca/t/v3/seg_7.m4s").unwrap();
        let next = Url::parse("http://oca/t/v3/seg_8.m4s").unwrap();
        let init = CmcdRequest::for_segment(&segment_request(&url, &next)).for_init();
        assert_eq!(init.object_type, Some(ObjectType::Init));
        assert_eq!((init.next_object, init.next_range), (None, None));
        assert_eq!(init.bitrate_kbps, Some(3200));
    }

    #[test]
    fn apply_sends_the_data_the_sessions_way() {
        let url = Url::parse("http://oca/t/v3/seg_7.m4s").unwrap();
        let (same, headers) = session().apply(&url, &video_request());
        assert_eq!(same, url);
        assert!(header(&headers, "CMCD-Object").is_some_and(|h| h.contains("ot=v")));
        let (queried, none) = session()
            .with_mode(CmcdMode::Query)
            .apply(&url, &video_request());
        assert!(queried.query().unwrap().starts_with("CMCD="), "{queried}");
        assert!(none.is_empty());
    }

    #[test]
    fn headers_for_a_video_segment() {
        let map = session().headers(&video_request());
        assert_eq!(
            header(&map, "CMCD-Object"),
            Some("br=3200,d=4000,ot=v,tb=6000")
        );
        assert_eq!(
            header(&map, "CMCD-Request"),
            Some(r#"bl=21300,dl=18900,mtp=25400,nor="seg_3.m4s",su"#)
        );
        assert_eq!(
            header(&map, "CMCD-Session"),
            Some(r#"cid="movie-42",sf=h,sid="6e2fb550-c457-11e9-bb97-0800200c9a66",st=v,v=1"#)
        );
        assert_eq!(header(&map, "CMCD-Status"), None);
        assert_eq!(map.len(), 3);
    }

    #[test]
    fn status_header_and_playback_rate() {
        let mut s = session();
        s.playback_rate = 1.5;
        let req = CmcdRequest {
            buffer_starvation: true,
            requested_max_throughput_bps: Some(1_549_000.0),
            ..Default::default()
        };
        let map = s.headers(&req);
        assert_eq!(header(&map, "CMCD-Status"), Some("bs,rtp=1500"));
        assert_eq!(
            header(&map, "CMCD-Session"),
            Some(
                r#"cid="movie-42",pr=1.5,sf=h,sid="6e2fb550-c457-11e9-bb97-0800200c9a66",st=v,v=1"#
            )
        );
        assert_eq!(map.len(), 2);

        s.playback_rate = 1.0 + 1e-12;
        assert_eq!(value(&s, &req, "pr"), None);
        s.playback_rate = 0.0;
        assert_eq!(value(&s, &req, "pr"), Some(Some("0".into())));
    }

    #[test]
    fn keys_are_sorted() {
        let req = CmcdRequest {
            next_range: Some((0, 1023)),
            requested_max_throughput_bps: Some(5e6),
            buffer_starvation: true,
            ..video_request()
        };
        let keys: Vec<_> = session().pairs(&req).into_iter().map(|(k, _)| k).collect();
        let mut sorted = keys.clone();
        sorted.sort_unstable();
        assert_eq!(keys, sorted);
        assert_eq!(keys.len(), 17);
    }

    #[test]
    fn rounding() {
        let s = session();
        let bl = |secs: f64| {
            value(
                &s,
                &CmcdRequest {
                    buffer_length_s: Some(secs),
                    ..Default::default()
                },
                "bl",
            )
        };
        assert_eq!(bl(21.349), Some(Some("21300".into())));
        assert_eq!(bl(21.35), Some(Some("21400".into())));
        assert_eq!(bl(-3.0), Some(Some("0".into())));
        assert_eq!(bl(f64::NAN), None);

        let mtp = |bps: f64| {
            value(
                &s,
                &CmcdRequest {
                    measured_throughput_bps: Some(bps),
                    ..Default::default()
                },
                "mtp",
            )
        };
        assert_eq!(mtp(25_349_000.0), Some(Some("25300".into())));
        assert_eq!(mtp(25_350_000.0), Some(Some("25400".into())));

        let dl = value(
            &s,
            &CmcdRequest {
                deadline_s: Some(0.049),
                ..Default::default()
            },
            "dl",
        );
        assert_eq!(dl, Some(Some("0".into())));
        let d = value(
            &s,
            &CmcdRequest {
                duration_s: Some(3.9996),
                ..Default::default()
            },
            "d",
        );
        assert_eq!(d, Some(Some("4000".into())));
    }

    #[test]
    fn false_booleans_and_absent_values_are_omitted() {
        let s = session();
        let req = CmcdRequest::default();
        let pairs = s.pairs(&req);
        assert!(pairs.iter().all(|(k, _)| *k != "bs" && *k != "su"));
        let map = s.headers(&req);
        assert_eq!(map.len(), 1);
        assert!(header(&map, "CMCD-Session").is_some());

        let req = CmcdRequest {
            startup: true,
            buffer_starvation: true,
            ..Default::default()
        };
        assert_eq!(value(&s, &req, "su"), Some(None));
        assert_eq!(value(&s, &req, "bs"), Some(None));
    }

    #[test]
    fn strings_are_quoted_and_escaped() {
        let mut s = session();
        s.content_id = Some(r#"a"b\c"#.into());
        assert_eq!(
            value(&s, &CmcdRequest::default(), "cid"),
            Some(Some(r#""a\"b\\c""#.into()))
        );

        s.content_id = Some("x".repeat(100));
        let cid = value(&s, &CmcdRequest::default(), "cid").flatten().unwrap();
        assert_eq!(cid.len(), 64 + 2);

        s.content_id = Some(String::new());
        assert_eq!(value(&s, &CmcdRequest::default(), "cid"), None);

        let req = CmcdRequest {
            next_object: Some("../v1/seg 1.m4s".into()),
            next_range: Some((0, 1023)),
            ..Default::default()
        };
        assert_eq!(
            value(&s, &req, "nor"),
            Some(Some(r#""..%2Fv1%2Fseg%201.m4s""#.into()))
        );
        assert_eq!(value(&s, &req, "nrr"), Some(Some(r#""0-1023""#.into())));
    }

    #[test]
    fn query_mode_appends_encoded_argument() {
        let mut s = CmcdSession::new(StreamingFormat::Hls, StreamType::Vod, None)
            .with_mode(CmcdMode::Query);
        s.session_id = SID.to_owned();
        let req = CmcdRequest {
            object_type: Some(ObjectType::Video),
            bitrate_kbps: Some(3200),
            next_object: Some("seg_3.m4s".into()),
            ..Default::default()
        };
        let url = Url::parse("https://cdn.example/v/seg_2.m4s?token=abc").unwrap();
        let out = s.apply_query(&url, &req);
        assert_eq!(
            out.as_str(),
            "https://cdn.example/v/seg_2.m4s?token=abc&CMCD=br%3D3200%2Cnor%3D%22seg_3.m4s%22\
             %2Cot%3Dv%2Csf%3Dh%2Csid%3D%226e2fb550-c457-11e9-bb97-0800200c9a66%22%2Cst%3Dv%2Cv%3D1"
        );
        let pairs: Vec<(String, String)> = out.query_pairs().into_owned().collect();
        assert_eq!(pairs[0], ("token".into(), "abc".into()));
        assert_eq!(pairs[1], ("CMCD".into(), s.payload(&req)));
        assert!(s.headers(&req).is_empty());

        let bare = Url::parse("https://cdn.example/v/seg_2.m4s").unwrap();
        assert!(
            s.apply_query(&bare, &req)
                .as_str()
                .starts_with("https://cdn.example/v/seg_2.m4s?CMCD=br%3D3200%2C")
        );
    }

    #[test]
    fn off_and_headers_modes_leave_the_url_alone() {
        let url = Url::parse("https://cdn.example/v/seg_2.m4s?token=abc").unwrap();
        let req = video_request();
        let off = session().with_mode(CmcdMode::Off);
        assert!(off.headers(&req).is_empty());
        assert_eq!(off.apply_query(&url, &req), url);
        let headers = session();
        assert_eq!(headers.mode, CmcdMode::Headers);
        assert_eq!(headers.apply_query(&url, &req), url);
    }

    #[test]
    fn relative_references() {
        let from = Url::parse("https://cdn.example/v0/seg_2.m4s?t=1").unwrap();
        let sibling = Url::parse("https://cdn.example/v0/seg_3.m4s").unwrap();
        assert_eq!(relative_reference(&from, &sibling), "seg_3.m4s");
        let cousin = Url::parse("https://cdn.example/v1/seg.m4s#frag").unwrap();
        assert_eq!(relative_reference(&from, &cousin), "../v1/seg.m4s");
        let same = Url::parse("https://cdn.example/v0/seg_2.m4s").unwrap();
        assert_eq!(relative_reference(&from, &same), "seg_2.m4s");
        let other = Url::parse("https://other.example/v0/seg_3.m4s").unwrap();
        assert_eq!(
            relative_reference(&from, &other),
            "https://other.example/v0/seg_3.m4s"
        );
        let other_port = Url::parse("https://cdn.example:8443/v0/seg_3.m4s").unwrap();
        assert_eq!(
            relative_reference(&from, &other_port),
            "https://cdn.example:8443/v0/seg_3.m4s"
        );
    }

    #[test]
    fn session_id_is_a_guid() {
        let sid = CmcdSession::new(StreamingFormat::Dash, StreamType::Live, None).session_id;
        assert_eq!(sid.len(), 36);
        for (i, c) in sid.chars().enumerate() {
            if [8, 13, 18, 23].contains(&i) {
                assert_eq!(c, '-', "{sid}");
            } else {
                assert!(c.is_ascii_hexdigit() && !c.is_ascii_uppercase(), "{sid}");
            }
        }
        assert_eq!(&sid[14..15], "4");
        assert!("89ab".contains(&sid[19..20]));
        assert_ne!(sid, random_guid());
    }
}
