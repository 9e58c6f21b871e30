//! The one presentation model both HLS and DASH load into: periods → tracks (adaptation sets) →
//! representations → segments. Nothing above this layer knows which format a stream came from.

use url::Url;

/// What a track carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MediaKind {
    /// Video (possibly muxed with audio, as in HLS TS without alternate audio).
    Video,
    /// Audio.
    Audio,
    /// Subtitles (WebVTT, TTML).
    Text,
}

/// A byte range: `length` bytes from `offset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteRange {
    /// First byte.
    pub offset: u64,
    /// Number of bytes.
    pub length: u64,
}

impl ByteRange {
    /// The HTTP `Range` header value for this range.
    pub fn header_value(&self) -> String {
        let last = self
            .offset
            .saturating_add(self.length.max(1))
            .saturating_sub(1);
        format!("bytes={}-{last}", self.offset)
    }

    /// Parses `first-last` (DASH `@range`, `@mediaRange`, `@indexRange`).
    pub fn parse_dash(text: &str) -> Option<ByteRange> {
        let (a, b) = text.trim().split_once('-')?;
        let first: u64 = a.trim().parse().ok()?;
        let last: u64 = b.trim().parse().ok()?;
        let length = last.checked_sub(first)?.checked_add(1)?;
        Some(ByteRange {
            offset: first,
            length,
        })
    }
}

/// Where a piece of media is: a URI (relative to the representation's location, or absolute)
/// and optionally a byte range of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resource {
    /// URI reference.
    pub uri: String,
    /// Byte range, when only part of the resource is wanted.
    pub range: Option<ByteRange>,
}

/// How a segment is encrypted (HLS `EXT-X-KEY:METHOD=AES-128`): AES-128 in CBC mode with PKCS#7
/// padding over the whole segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentKey {
    /// URI reference of the 16-byte key, resolved like the segment's own (so on the same
    /// pathway).
    pub uri: String,
    /// The initialisation vector: the tag's `IV`, else the media sequence number.
    pub iv: [u8; 16],
}

/// One media segment.
#[derive(Debug, Clone, PartialEq)]
pub struct Segment {
    /// Sequence number (HLS media sequence, DASH `$Number$`).
    pub number: u64,
    /// Presentation start in seconds, on the presentation timeline.
    pub start_s: f64,
    /// Duration in seconds.
    pub duration_s: f64,
    /// Where it is.
    pub resource: Resource,
    /// Init segment to use with this segment, if any.
    pub init: Option<Resource>,
    /// Size in bytes, where the manifest or index says.
    pub size: Option<u64>,
    /// A timestamp discontinuity comes before this segment (`EXT-X-DISCONTINUITY`, new period).
    pub discontinuity: bool,
    /// The key the segment is encrypted with, if it is.
    pub key: Option<SegmentKey>,
    /// The segment holds no media (`EXT-X-GAP`): another rendition's is fetched, or the span is
    /// skipped.
    pub gap: bool,
    /// Presentation time less the media's own timestamps: a DASH period's start less its
    /// `presentationTimeOffset` (a period's media may start at 0 wherever the period starts);
    /// 0 where they agree (HLS).
    pub media_offset_s: f64,
}

impl Segment {
    /// Segment `number` at `resource`, with nothing else known: no init segment, no key, no
    /// discontinuity; its size is its byte range's, if it has one.
    pub fn new(number: u64, start_s: f64, duration_s: f64, resource: Resource) -> Segment {
        Segment {
            number,
            start_s,
            duration_s,
            size: resource.range.map(|r| r.length),
            resource,
            init: None,
            discontinuity: false,
            key: None,
            gap: false,
            media_offset_s: 0.0,
        }
    }

    /// Presentation end in seconds.
    pub fn end_s(&self) -> f64 {
        self.start_s + self.duration_s
    }
}

/// A base location of a representation on one pathway (cache/CDN).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// Pathway id (HLS `PATHWAY-ID`, DASH `BaseURL@serviceLocation`), `None` when the manifest
    /// names none.
    pub pathway: Option<String>,
    /// Base URL that segment URIs resolve against (a media playlist's URL, or a DASH BaseURL).
    pub url: Url,
}

/// How a representation's segments are known.
#[derive(Debug, Clone, PartialEq)]
pub enum SegmentIndex {
    /// Listed.
    Listed(Vec<Segment>),
    /// In an HLS media playlist not loaded yet (at the representation's locations).
    HlsPlaylist,
    /// In the index at `index` of `media` (DASH SegmentBase: an ISO-BMFF `sidx` box or WebM
    /// `Cues`), not loaded yet.
    SegmentBase {
        /// The media file.
        media: String,
        /// Byte range of the index.
        index: ByteRange,
        /// The init segment.
        init: Option<Resource>,
        /// Seconds to subtract from media times (presentationTimeOffset).
        time_offset_s: f64,
    },
    /// The manifest does not say enough to address segments; playing it fails with this reason.
    Unavailable(String),
}

/// One encoding of a track (a rung of the ladder for video).
#[derive(Debug, Clone, PartialEq)]
pub struct Representation {
    /// Identifier (DASH `@id`, or derived for HLS).
    pub id: String,
    /// Peak bitrate in bit/s (HLS `BANDWIDTH`, DASH `@bandwidth`).
    pub bandwidth: u64,
    /// Average bitrate in bit/s where known (HLS `AVERAGE-BANDWIDTH`).
    pub average_bandwidth: Option<u64>,
    /// Frame width.
    pub width: Option<u32>,
    /// Frame height.
    pub height: Option<u32>,
    /// Frames per second.
    pub frame_rate: Option<f64>,
    /// RFC 6381 codecs.
    pub codecs: Option<String>,
    /// MIME type where given.
    pub mime_type: Option<String>,
    /// Where its segments are, one per pathway; the first is the default.
    pub locations: Vec<Location>,
    /// Its segments.
    pub segments: SegmentIndex,
}

impl Representation {
    /// A representation with nothing known but its id, locations and segments.
    pub fn new(id: impl Into<String>, locations: Vec<Location>, segments: SegmentIndex) -> Self {
        Representation {
            id: id.into(),
            bandwidth: 0,
            average_bandwidth: None,
            width: None,
            height: None,
            frame_rate: None,
            codecs: None,
            mime_type: None,
            locations,
            segments,
        }
    }

    /// The location on `pathway`, or the first one.
    pub fn location(&self, pathway: Option<&str>) -> Option<&Location> {
        pathway
            .and_then(|p| {
                self.locations
                    .iter()
                    .find(|l| l.pathway.as_deref() == Some(p))
            })
            .or_else(|| self.locations.first())
    }

    /// Absolute URL of a resource of this representation, on `pathway` (or the default).
    pub fn url(&self, resource: &Resource, pathway: Option<&str>) -> Option<Url> {
        self.location(pathway)?.url.join(&resource.uri).ok()
    }

    /// The listed segments (empty while still to be loaded).
    pub fn segment_list(&self) -> &[Segment] {
        match &self.segments {
            SegmentIndex::Listed(s) => s,
            _ => &[],
        }
    }

    /// Bitrate the ABR should reason with: average when known, else peak.
    pub fn nominal_bitrate(&self) -> u64 {
        self.average_bandwidth.unwrap_or(self.bandwidth)
    }
}

/// A track: an adaptation set (DASH) or a group of variants/renditions (HLS).
#[derive(Debug, Clone, PartialEq)]
pub struct Track {
    /// Identifier.
    pub id: String,
    /// What it carries.
    pub kind: MediaKind,
    /// Language (BCP 47) where given.
    pub language: Option<String>,
    /// Display name where given.
    pub name: Option<String>,
    /// Selected unless the viewer picks another.
    pub default: bool,
    /// Its representations, lowest bandwidth first.
    pub representations: Vec<Representation>,
}

/// A period: a stretch of the timeline with one set of tracks.
#[derive(Debug, Clone, PartialEq)]
pub struct Period {
    /// Identifier.
    pub id: String,
    /// Start on the presentation timeline, seconds.
    pub start_s: f64,
    /// Duration, when known.
    pub duration_s: Option<f64>,
    /// Its tracks.
    pub tracks: Vec<Track>,
}

/// Which manifest format a presentation came from (for logs only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ManifestFormat {
    /// HLS.
    Hls,
    /// DASH.
    Dash,
}

/// Content steering as announced by the manifest.
#[derive(Debug, Clone, PartialEq)]
pub struct SteeringTag {
    /// Steering manifest URL.
    pub server_uri: Option<Url>,
    /// Pathway to start on.
    pub default_pathway: Option<String>,
    /// Fetch the steering manifest before the first segment (DASH `queryBeforeStart`).
    pub query_before_start: bool,
}

/// A whole stream.
#[derive(Debug, Clone, PartialEq)]
pub struct Presentation {
    /// Where the manifest came from.
    pub url: Url,
    /// Its format.
    pub format: ManifestFormat,
    /// Live (the manifest changes and must be reloaded) or VOD.
    pub live: bool,
    /// Total duration, when known.
    pub duration_s: Option<f64>,
    /// Seconds between reloads of a live manifest.
    pub reload_interval_s: Option<f64>,
    /// Periods in order.
    pub periods: Vec<Period>,
    /// Pathway ids the manifest offers, in manifest order.
    pub pathways: Vec<String>,
    /// Content steering, if the manifest carries it.
    pub steering: Option<SteeringTag>,
}

impl Presentation {
    /// Every track of a kind across periods, as (period index, track).
    pub fn tracks(&self, kind: MediaKind) -> impl Iterator<Item = (usize, &Track)> {
        self.periods.iter().enumerate().flat_map(move |(i, p)| {
            p.tracks
                .iter()
                .filter(move |t| t.kind == kind)
                .map(move |t| (i, t))
        })
    }
}

/// Sorts representations by bandwidth and gives HLS-style ids where missing.
pub(crate) fn sort_representations(reps: &mut [Representation]) {
    reps.sort_by_key(|r| (r.bandwidth, r.height.unwrap_or(0)));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dash_ranges_parse_inclusively() {
        assert_eq!(
            ByteRange::parse_dash("100-199"),
            Some(ByteRange {
                offset: 100,
                length: 100
            })
        );
        assert_eq!(ByteRange::parse_dash("9-3"), None);
        assert_eq!(ByteRange::parse_dash("x"), None);
        assert_eq!(
            ByteRange {
                offset: 0,
                length: 100
            }
            .header_value(),
            "bytes=0-99"
        );
    }

    #[test]
    fn urls_resolve_per_pathway() {
        let rep = Representation {
            id: "v".into(),
            bandwidth: 1,
            average_bandwidth: None,
            width: None,
            height: None,
            frame_rate: None,
            codecs: None,
            mime_type: None,
            locations: vec![
                Location {
                    pathway: Some("a".into()),
                    url: Url::parse("http://a.test/t/v.m3u8").unwrap(),
                },
                Location {
                    pathway: Some("b".into()),
                    url: Url::parse("http://b.test/t/v.m3u8").unwrap(),
                },
            ],
            segments: SegmentIndex::Listed(vec![]),
        };
        let r = Resource {
            uri: "v.mp4".into(),
            range: None,
        };
        assert_eq!(
            rep.url(&r, Some("b")).unwrap().as_str(),
            "http://b.test/t/v.mp4"
        );
        assert_eq!(
            rep.url(&r, Some("zzz")).unwrap().as_str(),
            "http://a.test/t/v.mp4"
        );
        assert_eq!(rep.url(&r, None).unwrap().as_str(), "http://a.test/t/v.mp4");
    }
}
