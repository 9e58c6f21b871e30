//! Manifest loading: detects HLS or DASH, parses it into a [`Presentation`], and fetches what the
//! top-level manifest only points at (HLS media playlists, DASH `SegmentBase` indexes: an
//! ISO-BMFF `sidx` box or WebM `Cues`).

pub mod dash;
pub mod hls;
pub(crate) mod sidx;
pub(crate) mod webm_cues;

use std::collections::HashMap;
use std::time::SystemTime;

use url::Url;

use crate::fetch::{FetchError, Fetcher};
use crate::presentation::{ManifestFormat, Presentation, Segment, SegmentIndex};

/// What a manifest may ask of the player: a broken or hostile one cannot make it hold a million
/// segments or plan with absurd numbers. Part of [`crate::fetch::FetchConfig`], so every manifest
/// load (start, live reloads, subtitle playlists) holds to it.
#[derive(Debug, Clone, PartialEq)]
pub struct ManifestLimits {
    /// Segments in one media playlist or one representation. An HLS playlist's URI lines are
    /// held to this too (or to `max_variants` if larger), and all its lines to eight times it.
    pub max_segments: usize,
    /// Variant streams (I-frame ones included) in a multivariant playlist, and apart from them
    /// its `#EXT-X-MEDIA` renditions; or representations in a period of an MPD.
    pub max_variants: usize,
    /// Longest segment (and HLS target duration), seconds.
    pub max_segment_duration_s: f64,
    /// Highest bitrate a variant or representation may declare, bit/s.
    pub max_bandwidth_bps: u64,
    /// Memory the segment lists of one DASH presentation may take, all its periods and
    /// representations together (each segment and its URLs): every representation may keep to
    /// `max_segments` while a thousand of them, in period after period, would not.
    pub max_segment_list_bytes: usize,
}

impl Default for ManifestLimits {
    fn default() -> Self {
        ManifestLimits {
            max_segments: 100_000,
            max_variants: 1000,
            max_segment_duration_s: 6.0 * 3600.0,
            max_bandwidth_bps: 10_000_000_000,
            max_segment_list_bytes: 256 << 20,
        }
    }
}

impl ManifestLimits {
    /// Refuses a count of segments over the limit, in one line.
    pub(crate) fn check_segments(&self, count: usize) -> Result<(), ManifestError> {
        if count > self.max_segments {
            return Err(ManifestError::Invalid(format!(
                "too many segments: over {} in one playlist",
                self.max_segments
            )));
        }
        Ok(())
    }

    /// Refuses a segment duration that is not a number of seconds a stream could have.
    pub(crate) fn check_duration(&self, what: &str, seconds: f64) -> Result<(), ManifestError> {
        if !seconds.is_finite() || seconds < 0.0 || seconds > self.max_segment_duration_s {
            // 1e300 as written, not three hundred digits.
            let shown = if seconds.abs() >= 1e9 {
                format!("{seconds:e}")
            } else {
                format!("{seconds}")
            };
            return Err(ManifestError::Invalid(format!(
                "{what} has an absurd duration: {shown} s (at most {} s)",
                self.max_segment_duration_s
            )));
        }
        Ok(())
    }

    /// Refuses a loaded segment index (`sidx`, WebM `Cues`) past the segment cap or with a
    /// segment of an absurd duration, as a playlist would be.
    pub(crate) fn check_index(&self, segments: &[Segment]) -> Result<(), ManifestError> {
        if segments.len() > self.max_segments {
            return Err(ManifestError::Invalid(format!(
                "too many segments: over {} in the index",
                self.max_segments
            )));
        }
        segments
            .iter()
            .try_for_each(|s| self.check_duration("an indexed segment", s.duration_s))
    }

    /// Refuses a declared bitrate no stream could have.
    pub(crate) fn check_bandwidth(&self, what: &str, bps: u64) -> Result<(), ManifestError> {
        if bps > self.max_bandwidth_bps {
            return Err(ManifestError::Invalid(format!(
                "{what} declares an absurd bandwidth: {bps} bit/s (at most {})",
                self.max_bandwidth_bps
            )));
        }
        Ok(())
    }
}

/// Why a manifest could not be used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ManifestError {
    /// Malformed, truncated or inconsistent.
    #[error("{}", one_line(.0))]
    Invalid(String),
    /// Valid, but uses something Reel does not play.
    #[error("{}", one_line(.0))]
    Unsupported(String),
    /// A referenced playlist or index could not be fetched.
    #[error("{}", one_line(.0))]
    Fetch(String),
}

/// A message on one line: any line or paragraph break quoted from a manifest (a URI, an
/// attribute, a parser's excerpt) is shown escaped rather than breaking the line.
fn one_line(message: &str) -> std::borrow::Cow<'_, str> {
    const BREAKS: [char; 5] = ['\n', '\r', '\u{85}', '\u{2028}', '\u{2029}'];
    if !message.contains(BREAKS) {
        return message.into();
    }
    message
        .chars()
        .map(|c| {
            if BREAKS.contains(&c) {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect::<String>()
        .into()
}

impl From<FetchError> for ManifestError {
    fn from(e: FetchError) -> Self {
        ManifestError::Fetch(e.to_string())
    }
}

/// Guesses the format from the body (and the URL or content type when the body is ambiguous).
pub fn detect(body: &[u8], url: &Url, content_type: Option<&str>) -> Option<ManifestFormat> {
    let head = String::from_utf8_lossy(&body[..body.len().min(512)]);
    let head = head.trim_start_matches('\u{feff}').trim_start();
    if head.starts_with("#EXTM3U") {
        return Some(ManifestFormat::Hls);
    }
    if head.starts_with('<') && (head.contains("<MPD") || body.windows(4).any(|w| w == b"<MPD")) {
        return Some(ManifestFormat::Dash);
    }
    let ct = content_type.unwrap_or("").to_ascii_lowercase();
    let path = url.path().to_ascii_lowercase();
    if ct.contains("mpegurl") || path.ends_with(".m3u8") {
        Some(ManifestFormat::Hls)
    } else if ct.contains("dash+xml") || path.ends_with(".mpd") {
        Some(ManifestFormat::Dash)
    } else {
        None
    }
}

/// Parses a top-level manifest body, without fetching anything.
pub fn parse(
    body: &[u8],
    url: &Url,
    content_type: Option<&str>,
    now: SystemTime,
    limits: &ManifestLimits,
) -> Result<Presentation, ManifestError> {
    if body.is_empty() {
        return Err(ManifestError::Invalid("the manifest is empty".into()));
    }
    match detect(body, url, content_type) {
        Some(ManifestFormat::Hls) => hls::parse(body, url, limits),
        Some(ManifestFormat::Dash) => dash::parse(body, url, now, limits),
        None => Err(ManifestError::Invalid(
            "neither an HLS playlist (#EXTM3U) nor a DASH MPD (<MPD>)".into(),
        )),
    }
}

/// Fetches and parses a manifest, then loads every representation's segment index (HLS media
/// playlists from the preferred pathway, DASH `sidx` boxes and WebM `Cues`), so segment sizes are
/// known up front.
pub async fn load(
    fetcher: &Fetcher,
    url: &Url,
    pathway: Option<&str>,
) -> Result<Presentation, ManifestError> {
    let fetched = fetcher.get(url).manifest().send().await?;
    let mut p = parse(
        &fetched.body,
        &fetched.url,
        fetched.content_type.as_deref(),
        SystemTime::now(),
        &fetcher.config().manifest_limits,
    )?;
    complete(fetcher, &mut p, pathway).await?;
    Ok(p)
}

/// Loads the segment indexes a parsed presentation still points at, all at once, but for
/// subtitle tracks: those wait until one is chosen ([`load_text_index`]), so they neither delay
/// the start nor stop it when broken.
pub async fn complete(
    fetcher: &Fetcher,
    p: &mut Presentation,
    pathway: Option<&str>,
) -> Result<(), ManifestError> {
    use futures_util::future::try_join_all;
    let mut jobs = Vec::new();
    for (pi, period) in p.periods.iter().enumerate() {
        for (ti, track) in period.tracks.iter().enumerate() {
            if track.kind == crate::presentation::MediaKind::Text {
                continue;
            }
            for (ri, rep) in track.representations.iter().enumerate() {
                if matches!(
                    rep.segments,
                    SegmentIndex::HlsPlaylist | SegmentIndex::SegmentBase { .. }
                ) {
                    jobs.push(load_index(fetcher, rep, pathway, (pi, ti, ri)));
                }
            }
        }
    }
    let mut live = p.live;
    let mut reload = p.reload_interval_s;
    for ((pi, ti, ri), segments, is_live, target) in try_join_all(jobs).await? {
        live |= is_live;
        if is_live {
            reload = Some(target.max(1.0));
        }
        p.periods[pi].tracks[ti].representations[ri].segments = SegmentIndex::Listed(segments);
    }
    p.live = live;
    p.reload_interval_s = reload;
    if !live && p.duration_s.is_none() {
        p.duration_s = p
            .tracks(crate::presentation::MediaKind::Video)
            .chain(p.tracks(crate::presentation::MediaKind::Audio))
            .filter_map(|(_, t)| t.representations.first())
            .filter_map(|r| r.segment_list().last().map(|s| s.end_s()))
            .reduce(f64::max);
        if let Some(period) = p.periods.first_mut() {
            period.duration_s = p.duration_s;
        }
    }
    Ok(())
}

/// Loads one subtitle representation's segments: its HLS WebVTT media playlist, from the
/// preferred pathway and then the others (a DASH sidecar is listed already).
pub async fn load_text_index(
    fetcher: &Fetcher,
    rep: &crate::presentation::Representation,
    pathway: Option<&str>,
) -> Result<Vec<crate::presentation::Segment>, ManifestError> {
    match &rep.segments {
        SegmentIndex::Listed(segments) => Ok(segments.clone()),
        _ => Ok(load_index(fetcher, rep, pathway, (0, 0, 0)).await?.1),
    }
}

type Indexed = (
    (usize, usize, usize),
    Vec<crate::presentation::Segment>,
    bool,
    f64,
);

/// Fetches one representation's HLS media playlist or `SegmentBase` index: from the preferred pathway, then
/// from each other pathway in turn when it fails (a cache in trouble must not stop the start).
async fn load_index(
    fetcher: &Fetcher,
    rep: &crate::presentation::Representation,
    pathway: Option<&str>,
    at: (usize, usize, usize),
) -> Result<Indexed, ManifestError> {
    let mut order: Vec<Option<&str>> = vec![pathway];
    for l in &rep.locations {
        if l.pathway.as_deref() != pathway {
            order.push(l.pathway.as_deref());
        }
    }
    let mut last = None;
    for p in order {
        match load_index_from(fetcher, rep, p, at).await {
            Ok(done) => return Ok(done),
            Err(e) => {
                tracing::warn!(rendition = %rep.id, pathway = ?p, "index failed: {e}; trying the next pathway");
                last = Some(e);
            }
        }
    }
    Err(last.unwrap_or_else(|| ManifestError::Invalid(format!("rendition {} has no URI", rep.id))))
}

async fn load_index_from(
    fetcher: &Fetcher,
    rep: &crate::presentation::Representation,
    pathway: Option<&str>,
    at: (usize, usize, usize),
) -> Result<Indexed, ManifestError> {
    match &rep.segments {
        SegmentIndex::SegmentBase {
            media,
            index,
            init,
            time_offset_s,
        } => {
            let resource = crate::presentation::Resource {
                uri: media.clone(),
                range: Some(*index),
            };
            let url = rep.url(&resource, pathway).ok_or_else(|| {
                ManifestError::Invalid(format!("representation {} has no BaseURL", rep.id))
            })?;
            let (most, deadline) = (
                fetcher.config().max_manifest_bytes,
                fetcher.config().manifest_deadline,
            );
            let body = fetcher
                .get(&url)
                .range(Some(*index))
                .limit("index", most)
                .deadline(deadline)
                .send()
                .await?
                .body;
            let segments = if webm_cues::is_cues(&body) {
                // The demuxer times WebM frames by their clusters, not by what is pushed.
                if *time_offset_s != 0.0 {
                    return Err(ManifestError::Unsupported(format!(
                        "{url}: WebM with a presentationTimeOffset or in a period not starting \
                         at 0 is not supported"
                    )));
                }
                // Cluster positions count from the Segment's start, which the init segment has.
                let init_resource = init.as_ref().ok_or_else(|| {
                    ManifestError::Invalid(format!(
                        "{url}: a WebM index needs the SegmentBase's Initialization range"
                    ))
                })?;
                let init_url = rep.url(init_resource, pathway).ok_or_else(|| {
                    ManifestError::Invalid(format!("representation {} has no BaseURL", rep.id))
                })?;
                let head = fetcher
                    .get(&init_url)
                    .range(init_resource.range)
                    .limit("init segment", most)
                    .deadline(deadline)
                    .send()
                    .await?
                    .body;
                webm_cues::read_head(&head).and_then(|head| {
                    webm_cues::segments(&head, &body, index, media, init.clone(), *time_offset_s)
                })
            } else if sidx::is_sidx(&body) {
                sidx::segments(&body, index, media, init.clone(), *time_offset_s)
            } else {
                Err(format!(
                    "the index (bytes {}-{}) is neither an ISO-BMFF sidx box nor WebM Cues",
                    index.offset,
                    index.offset + index.length.saturating_sub(1)
                ))
            }
            .map_err(|e| ManifestError::Invalid(format!("{url}: {e}")))?;
            fetcher
                .config()
                .manifest_limits
                .check_index(&segments)
                .map_err(|e| ManifestError::Invalid(format!("{url}: {e}")))?;
            Ok((at, segments, false, 0.0))
        }
        _ => {
            let location = rep.location(pathway).ok_or_else(|| {
                ManifestError::Invalid(format!("rendition {} has no URI", rep.id))
            })?;
            let body = fetcher.get(&location.url).manifest().send().await?.body;
            let (segments, is_live, target) =
                hls::parse_media(&body, &fetcher.config().manifest_limits)
                    .map_err(|e| ManifestError::Invalid(format!("{}: {e}", location.url)))?;
            Ok((at, segments, is_live, target))
        }
    }
}

/// Parses an HLS-style attribute list (`KEY=VALUE,KEY="quoted, value"`); quotes are removed.
pub(crate) fn attribute_list(text: &str) -> HashMap<String, String> {
    let mut out = HashMap::new();
    let mut key = String::new();
    let mut value = String::new();
    let mut in_value = false;
    let mut quoted = false;
    let mut flush = |key: &mut String, value: &mut String| {
        if !key.trim().is_empty() {
            out.insert(key.trim().to_string(), std::mem::take(value));
        }
        key.clear();
        value.clear();
    };
    for c in text.chars() {
        match c {
            '"' => quoted = !quoted,
            '=' if !in_value && !quoted => in_value = true,
            ',' if !quoted => {
                flush(&mut key, &mut value);
                in_value = false;
            }
            _ if in_value => value.push(c),
            _ => key.push(c),
        }
    }
    flush(&mut key, &mut value);
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn errors_quoting_line_breaks_stay_on_one_line() {
        let e = super::ManifestError::Invalid("bad URI a\u{2028}b\r\nc\u{85}".into());
        assert_eq!(e.to_string(), "bad URI a\\u{2028}b\\r\\nc\\u{85}");
    }

    use super::*;

    #[test]
    fn attribute_lists_keep_commas_inside_quotes() {
        let a = attribute_list("SERVER-URI=\"http://x/?a=1,b=2\",PATHWAY-ID=\"cdn-a\",N=3");
        assert_eq!(a["SERVER-URI"], "http://x/?a=1,b=2");
        assert_eq!(a["PATHWAY-ID"], "cdn-a");
        assert_eq!(a["N"], "3");
    }

    #[test]
    fn formats_are_detected_from_the_body_first() {
        let u = Url::parse("http://x.test/a").unwrap();
        assert_eq!(detect(b"#EXTM3U\n", &u, None), Some(ManifestFormat::Hls));
        assert_eq!(
            detect(b"<?xml version=\"1.0\"?><MPD>", &u, None),
            Some(ManifestFormat::Dash)
        );
        assert_eq!(detect(b"???", &u, None), None);
        let e = parse(b"", &u, None, SystemTime::now(), &ManifestLimits::default()).unwrap_err();
        assert_eq!(e.to_string(), "the manifest is empty");
    }
}
