//! HLS (RFC 8216) through m3u8-rs: multivariant playlists become tracks whose representations
//! point at media playlists (one location per `PATHWAY-ID`); media playlists become segment lists
//! with `EXT-X-MAP` init segments, `EXT-X-BYTERANGE` ranges and discontinuities.

use std::collections::HashMap;

use m3u8_rs::{AlternativeMediaType, MasterPlaylist, MediaPlaylist, Playlist};
use url::Url;

use super::{ManifestError, ManifestLimits, attribute_list};
use crate::presentation::{
    ByteRange, Location, ManifestFormat, MediaKind, Period, Presentation, Representation, Resource,
    Segment, SegmentIndex, SegmentKey, SteeringTag, Track, sort_representations,
};

/// Parses an HLS playlist (multivariant or media) fetched from `url`.
pub fn parse(
    body: &[u8],
    url: &Url,
    limits: &ManifestLimits,
) -> Result<Presentation, ManifestError> {
    let text = std::str::from_utf8(body)
        .map_err(|_| ManifestError::Invalid("the HLS playlist is not UTF-8 text".into()))?;
    if !text.trim_start_matches('\u{feff}').starts_with("#EXTM3U") {
        return Err(ManifestError::Invalid(
            "not an HLS playlist: it does not start with #EXTM3U".into(),
        ));
    }
    let (text, durations) = read_extinf(text, limits)?;
    match m3u8_rs::parse_playlist_res(text.as_bytes()) {
        Ok(Playlist::MasterPlaylist(m)) => multivariant(&m, url, limits),
        Ok(Playlist::MediaPlaylist(m)) => {
            let (segments, live, target) = media_segments(&m, &durations, limits)?;
            let rep = Representation::new(
                "main",
                vec![Location {
                    pathway: None,
                    url: url.clone(),
                }],
                SegmentIndex::Listed(segments),
            );
            let duration = (!live).then(|| rep.segment_list().iter().map(|s| s.duration_s).sum());
            Ok(Presentation {
                url: url.clone(),
                format: ManifestFormat::Hls,
                live,
                duration_s: duration,
                reload_interval_s: live.then_some(target),
                periods: vec![Period {
                    id: "0".into(),
                    start_s: 0.0,
                    duration_s: duration,
                    tracks: vec![Track {
                        id: "main".into(),
                        kind: media_playlist_kind(&m),
                        language: None,
                        name: None,
                        default: true,
                        representations: vec![rep],
                    }],
                }],
                pathways: Vec::new(),
                steering: None,
            })
        }
        Err(e) => Err(ManifestError::Invalid(format!(
            "not a valid HLS playlist: {}",
            first_line(&e.to_string())
        ))),
    }
}

/// What a media playlist given directly carries: nothing says until it is decoded, so video
/// (audio-only streams are found by the decoder), unless its segments are WebVTT documents.
fn media_playlist_kind(m: &MediaPlaylist) -> MediaKind {
    let is_webvtt = |uri: &str| {
        let path = uri
            .split(['?', '#'])
            .next()
            .unwrap_or("")
            .to_ascii_lowercase();
        path.ends_with(".vtt") || path.ends_with(".webvtt")
    };
    if !m.segments.is_empty() && m.segments.iter().all(|s| is_webvtt(&s.uri)) {
        MediaKind::Text
    } else {
        MediaKind::Video
    }
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or("").chars().take(160).collect()
}

fn multivariant(
    m: &MasterPlaylist,
    url: &Url,
    limits: &ManifestLimits,
) -> Result<Presentation, ManifestError> {
    let Variants {
        video,
        pathways,
        group_pathway,
    } = variants(m, url, limits)?;
    // Variants that carry only audio codecs (a radio stream, a podcast) are the audio ladder;
    // beside video variants, such a variant (a low-bandwidth fallback) is left out, as hls.js
    // does: picked by the ABR it would freeze the picture.
    let carries_audio_only = |r: &Representation| r.width.is_none() && codecs_are_audio_only(r);
    let audio_only = video.iter().all(carries_audio_only);
    let mut video = video;
    if !audio_only {
        video.retain(|r| !carries_audio_only(r));
    }
    let (id, kind) = if audio_only {
        ("audio", MediaKind::Audio)
    } else {
        ("video", MediaKind::Video)
    };
    let mut tracks = vec![Track {
        id: id.into(),
        kind,
        language: None,
        name: None,
        default: true,
        representations: video,
    }];
    tracks.extend(renditions(m, url, &group_pathway, limits)?);
    Ok(Presentation {
        url: url.clone(),
        format: ManifestFormat::Hls,
        live: false,
        duration_s: None,
        reload_interval_s: None,
        periods: vec![Period {
            id: "0".into(),
            start_s: 0.0,
            duration_s: None,
            tracks,
        }],
        pathways,
        steering: steering_tag(m, url),
    })
}

/// The variant declares codecs and all of them are audio (AAC, MP3, AC-3, E-AC-3, Opus, FLAC,
/// ALAC).
fn codecs_are_audio_only(r: &Representation) -> bool {
    const AUDIO: [&str; 7] = ["mp4a", "ac-3", "ec-3", "opus", "flac", "alac", "mp3"];
    r.codecs.as_deref().is_some_and(|codecs| {
        codecs.split(',').all(|c| {
            let c = c.trim().to_ascii_lowercase();
            AUDIO
                .iter()
                .any(|a| c == *a || c.starts_with(&format!("{a}.")))
        })
    })
}

/// `uri` resolved against the playlist's URL.
fn resolve(url: &Url, uri: &str) -> Result<Url, ManifestError> {
    url.join(uri)
        .map_err(|e| ManifestError::Invalid(format!("bad URI {uri:?} in the playlist: {e}")))
}

/// What the variant streams say.
struct Variants {
    /// The video ladder: one representation per distinct variant, one location per pathway.
    video: Vec<Representation>,
    /// The pathways, in order of appearance.
    pathways: Vec<String>,
    /// The pathway of each audio or subtitle group (that of the first variant naming it).
    group_pathway: HashMap<String, Option<String>>,
}

/// Reads the variant streams (I-frame-only ones left out).
fn variants(
    m: &MasterPlaylist,
    url: &Url,
    limits: &ManifestLimits,
) -> Result<Variants, ManifestError> {
    let mut pathways: Vec<String> = Vec::new();
    let mut video: Vec<Representation> = Vec::new();
    let mut group_pathway: HashMap<String, Option<String>> = HashMap::new();
    // Counted on the text before parsing; checked again on what m3u8-rs read.
    if m.variants.len() > limits.max_variants {
        return Err(ManifestError::Invalid(format!(
            "too many variants: over {} in the multivariant playlist",
            limits.max_variants
        )));
    }
    for (i, v) in m.variants.iter().filter(|v| !v.is_i_frame).enumerate() {
        let named = format!("variant {i} ({})", first_line(&v.uri));
        limits.check_bandwidth(&named, v.bandwidth)?;
        if let Some(average) = v.average_bandwidth {
            limits.check_bandwidth(&format!("{named} AVERAGE-BANDWIDTH"), average)?;
        }
        let pathway =
            v.other_attributes
                .as_ref()
                .and_then(|a| a.get("PATHWAY-ID"))
                .map(|p| match p {
                    m3u8_rs::QuotedOrUnquoted::Quoted(s)
                    | m3u8_rs::QuotedOrUnquoted::Unquoted(s) => s.clone(),
                });
        if let Some(p) = &pathway
            && !pathways.contains(p)
        {
            pathways.push(p.clone());
        }
        for group in [&v.audio, &v.subtitles].into_iter().flatten() {
            group_pathway
                .entry(group.clone())
                .or_insert(pathway.clone());
        }
        let location = Location {
            pathway: pathway.clone(),
            url: resolve(url, &v.uri)?,
        };
        let same = video.iter_mut().find(|r| {
            r.bandwidth == v.bandwidth
                && r.codecs == v.codecs
                && r.width == v.resolution.map(|x| x.width as u32)
                && r.height == v.resolution.map(|x| x.height as u32)
                && !r.locations.iter().any(|l| l.pathway == pathway)
        });
        match same {
            Some(r) => r.locations.push(location),
            None => video.push(Representation {
                id: String::new(),
                bandwidth: v.bandwidth,
                average_bandwidth: v.average_bandwidth,
                width: v.resolution.map(|r| r.width as u32),
                height: v.resolution.map(|r| r.height as u32),
                frame_rate: v.frame_rate,
                codecs: v.codecs.clone(),
                mime_type: None,
                locations: vec![location],
                segments: SegmentIndex::HlsPlaylist,
            }),
        }
    }
    if video.is_empty() {
        return Err(ManifestError::Invalid(
            "the multivariant playlist lists no variant stream".into(),
        ));
    }
    sort_representations(&mut video);
    for (i, r) in video.iter_mut().enumerate() {
        r.id = match r.height {
            Some(h) => format!("{h}p-{}k", r.bandwidth / 1000),
            None => format!("variant-{i}"),
        };
    }
    Ok(Variants {
        video,
        pathways,
        group_pathway,
    })
}

/// Renditions with their own playlists — audio and subtitles, keyed by (type, name, language),
/// one location per pathway — with exactly one default audio track and no default subtitles.
fn renditions(
    m: &MasterPlaylist,
    url: &Url,
    group_pathway: &HashMap<String, Option<String>>,
    limits: &ManifestLimits,
) -> Result<Vec<Track>, ManifestError> {
    if m.alternatives.len() > limits.max_variants {
        return Err(ManifestError::Invalid(format!(
            "too many renditions: over {} in #EXT-X-MEDIA of the multivariant playlist",
            limits.max_variants
        )));
    }
    let mut renditions: Vec<Track> = Vec::new();
    for a in &m.alternatives {
        let kind = match a.media_type {
            AlternativeMediaType::Audio => MediaKind::Audio,
            AlternativeMediaType::Subtitles => MediaKind::Text,
            _ => continue,
        };
        let Some(uri) = &a.uri else { continue };
        let pathway = group_pathway.get(&a.group_id).cloned().flatten();
        let location = Location {
            pathway,
            url: resolve(url, uri)?,
        };
        let key = format!(
            "{}:{}:{}",
            kind_name(kind),
            a.name,
            a.language.as_deref().unwrap_or("und")
        );
        match renditions.iter_mut().find(|t| t.id == key) {
            Some(t) => t.representations[0].locations.push(location),
            None => renditions.push(Track {
                id: key,
                kind,
                language: a.language.clone(),
                name: Some(a.name.clone()),
                default: a.default,
                representations: vec![Representation {
                    mime_type: (kind == MediaKind::Text).then(|| "text/vtt".into()),
                    ..Representation::new(a.name.clone(), vec![location], SegmentIndex::HlsPlaylist)
                }],
            }),
        }
    }
    for kind in [MediaKind::Audio, MediaKind::Text] {
        let first_default = renditions
            .iter()
            .position(|t| t.kind == kind && t.default)
            .or_else(|| renditions.iter().position(|t| t.kind == kind));
        for (i, t) in renditions.iter_mut().enumerate() {
            if t.kind == kind {
                t.default = Some(i) == first_default && kind == MediaKind::Audio;
            }
        }
    }
    Ok(renditions)
}

/// The `EXT-X-CONTENT-STEERING` tag, if the playlist has one.
fn steering_tag(m: &MasterPlaylist, url: &Url) -> Option<SteeringTag> {
    m.unknown_tags
        .iter()
        .find(|t| t.tag == "X-CONTENT-STEERING")
        .map(|t| {
            let attrs = attribute_list(t.rest.as_deref().unwrap_or(""));
            SteeringTag {
                server_uri: attrs.get("SERVER-URI").and_then(|u| url.join(u).ok()),
                default_pathway: attrs.get("PATHWAY-ID").cloned(),
                query_before_start: false,
            }
        })
}

fn kind_name(kind: MediaKind) -> &'static str {
    match kind {
        MediaKind::Video => "video",
        MediaKind::Audio => "audio",
        MediaKind::Text => "text",
    }
}

/// Parses a media playlist's segments. Returns (segments, live, target duration).
pub fn parse_media(
    body: &[u8],
    limits: &ManifestLimits,
) -> Result<(Vec<Segment>, bool, f64), ManifestError> {
    let text = std::str::from_utf8(body)
        .map_err(|_| ManifestError::Invalid("the HLS media playlist is not UTF-8 text".into()))?;
    let (text, durations) = read_extinf(text, limits)?;
    match m3u8_rs::parse_playlist_res(text.as_bytes()) {
        Ok(Playlist::MediaPlaylist(m)) => media_segments(&m, &durations, limits),
        Ok(Playlist::MasterPlaylist(_)) => Err(ManifestError::Invalid(
            "expected a media playlist, got a multivariant playlist".into(),
        )),
        Err(e) => Err(ManifestError::Invalid(format!(
            "not a valid HLS media playlist: {}",
            first_line(&e.to_string())
        ))),
    }
}

/// Reads every `#EXTINF` duration as other players do — hls.js takes the number before the
/// first comma, space before it or junk after it notwithstanding, in double precision — and
/// rewrites the tags in the plain form m3u8-rs reads. Left to itself, m3u8-rs reads durations as
/// `f32`, reads `1.0E1` as 1.0 and ` 4.0` as nothing, and takes a comma in a segment's title for
/// the start of another segment. Returns the rewritten text and the durations, in order.
///
/// It also counts lines, URI lines, segments, variants and renditions against `limits` (see
/// [`LineCounts`]) before m3u8-rs builds anything, so a playlist of a million segments, or of
/// a million bare URI lines or comments, is refused before it takes a gigabyte.
fn read_extinf(text: &str, limits: &ManifestLimits) -> Result<(String, Vec<f64>), ManifestError> {
    let mut out = String::with_capacity(text.len());
    let mut durations = Vec::new();
    let mut counts = LineCounts::default();
    for line in text.split_inclusive('\n') {
        // m3u8-rs starts another line after a lone CR too: the counts read each piece.
        for piece in line.split('\r') {
            counts.count(piece, limits)?;
        }
        // m3u8-rs reads a tag after spaces, tabs or a CR as that tag: so does the rewrite.
        let tag = line.trim_start_matches([' ', '\t', '\r']);
        let Some(value) = tag.strip_prefix("#EXTINF:") else {
            out.push_str(line);
            continue;
        };
        limits.check_segments(durations.len() + 1)?;
        let number = value
            .split([',', '\r', '\n'])
            .next()
            .unwrap_or("")
            .trim_start();
        let duration = leading_number(number)
            .filter(|d| d.is_finite() && *d >= 0.0)
            .ok_or_else(|| {
                ManifestError::Invalid(format!(
                    "segment {} has a bad duration: #EXTINF:{}",
                    durations.len(),
                    first_line(number)
                ))
            })?;
        limits.check_duration(&format!("segment {}", durations.len()), duration)?;
        durations.push(duration);
        out.push_str(&format!("#EXTINF:{duration},\n"));
    }
    Ok((out, durations))
}

/// Lines m3u8-rs may hold per segment or variant the cap allows: a playlist's every tag,
/// comment and URI becomes an entry of a few hundred bytes before it is read, so their number
/// is held to a multiple of the segment cap. Eight covers a segment with its `#EXTINF`, URI,
/// date, byte range, key, map, discontinuity and gap.
const LINES_PER_ENTRY: usize = 8;

/// What [`read_extinf`] counts of a playlist, as m3u8-rs will read it.
#[derive(Default)]
struct LineCounts {
    lines: usize,
    uri_lines: usize,
    variants: usize,
    renditions: usize,
}

impl LineCounts {
    /// Counts one line (or piece of a line after a lone CR), refusing the playlist in one line
    /// when a count passes its cap.
    fn count(&mut self, piece: &str, limits: &ManifestLimits) -> Result<(), ManifestError> {
        let too_many = |what: &str, cap: usize, place: &str| {
            Err(ManifestError::Invalid(format!(
                "too many {what}: over {cap} in {place}"
            )))
        };
        // Between lines m3u8-rs skips spaces, tabs and line breaks, nothing else.
        let piece = piece.trim_start_matches([' ', '\t']);
        if piece.trim_end_matches([' ', '\t', '\n']).is_empty() {
            return Ok(());
        }
        let entries = limits.max_segments.max(limits.max_variants);
        // A line can hold several tags to m3u8-rs (see [`PREFIX_TAGS`]): each is counted.
        self.lines += piece.matches('#').count().max(1);
        if self.lines > entries.saturating_mul(LINES_PER_ENTRY) {
            return too_many(
                "lines",
                entries.saturating_mul(LINES_PER_ENTRY),
                "one playlist",
            );
        }
        // I-frame streams are variants to m3u8-rs too.
        self.variants += piece.matches("#EXT-X-STREAM-INF:").count()
            + piece.matches("#EXT-X-I-FRAME-STREAM-INF:").count();
        if self.variants > limits.max_variants {
            return too_many("variants", limits.max_variants, "the multivariant playlist");
        }
        self.renditions += piece.matches("#EXT-X-MEDIA:").count();
        if self.renditions > limits.max_variants {
            return too_many(
                "renditions",
                limits.max_variants,
                "#EXT-X-MEDIA of the multivariant playlist",
            );
        }
        // A URI line: a segment in a media playlist (with or without an #EXTINF before it), a
        // variant's playlist in a multivariant one; or whatever follows a tag read by its start.
        if !piece.starts_with('#') || leaves_more(piece) {
            self.uri_lines += 1;
            if self.uri_lines > entries {
                return too_many("URI lines", entries, "one playlist");
            }
        }
        Ok(())
    }
}

/// Tags m3u8-rs reads by their start alone (and the number or range after it), then goes on
/// reading the same line: `#EXT-X-ENDLISTx` is the end of the list and a segment `x`.
const PREFIX_TAGS: [&str; 9] = [
    "#EXT-X-DISCONTINUITY-SEQUENCE:",
    "#EXT-X-DISCONTINUITY",
    "#EXT-X-MEDIA-SEQUENCE:",
    "#EXT-X-TARGETDURATION:",
    "#EXT-X-VERSION:",
    "#EXT-X-BYTERANGE:",
    "#EXT-X-ENDLIST",
    "#EXT-X-I-FRAMES-ONLY",
    "#EXT-X-INDEPENDENT-SEGMENTS",
];

/// Whether anything follows a [`PREFIX_TAGS`] tag and its value on `piece`: m3u8-rs may make
/// a segment of it, so it is counted as one.
fn leaves_more(piece: &str) -> bool {
    PREFIX_TAGS
        .iter()
        .find_map(|tag| piece.strip_prefix(tag))
        .is_some_and(|rest| {
            !rest
                .trim_start_matches(|c: char| c.is_ascii_digit() || matches!(c, '.' | '@'))
                .trim_end_matches([' ', '\t', '\n'])
                .is_empty()
        })
}

/// The number `text` starts with (as JavaScript's `parseFloat` reads it: sign, digits, a
/// fraction, an exponent), if it starts with one.
fn leading_number(text: &str) -> Option<f64> {
    let b = text.as_bytes();
    let digits = |from: usize| from + b[from..].iter().take_while(|c| c.is_ascii_digit()).count();
    let mut end = usize::from(matches!(b.first(), Some(b'+' | b'-')));
    let whole = digits(end);
    let mut mantissa = whole > end;
    end = whole;
    if b.get(end) == Some(&b'.') {
        let fraction = digits(end + 1);
        mantissa |= fraction > end + 1;
        end = fraction;
    }
    if !mantissa {
        return None;
    }
    if matches!(b.get(end), Some(b'e' | b'E')) {
        let sign = usize::from(matches!(b.get(end + 1), Some(b'+' | b'-')));
        let exponent = digits(end + 1 + sign);
        if exponent > end + 1 + sign {
            end = exponent;
        }
    }
    text[..end].parse().ok()
}

/// The segments of a media playlist, with the durations [`read_extinf`] read (one per segment,
/// in order).
fn media_segments(
    m: &MediaPlaylist,
    durations: &[f64],
    limits: &ManifestLimits,
) -> Result<(Vec<Segment>, bool, f64), ManifestError> {
    limits.check_duration("#EXT-X-TARGETDURATION", m.target_duration as f64)?;
    // A last #EXTINF with no URI after it yet (a live playlist caught being written) is left
    // out by m3u8-rs, as other players leave it.
    let durations = match durations.len().checked_sub(m.segments.len()) {
        Some(1) => &durations[..m.segments.len()],
        _ => durations,
    };
    if durations.len() != m.segments.len() {
        return Err(ManifestError::Invalid(format!(
            "the playlist lists {} segments but {} #EXTINF durations",
            m.segments.len(),
            durations.len()
        )));
    }
    // Segment numbers run from the media sequence and must not pass u64::MAX
    // (tests/fuzz-inputs/hls_playlist/crash-media-sequence-overflow.m3u8 overflowed here).
    if m.media_sequence
        .checked_add(m.segments.len() as u64)
        .is_none()
    {
        return Err(ManifestError::Invalid(format!(
            "#EXT-X-MEDIA-SEQUENCE:{} leaves no room for {} segments",
            m.media_sequence,
            m.segments.len()
        )));
    }
    if m.i_frames_only {
        return Err(ManifestError::Unsupported(
            "an I-frame-only playlist (EXT-X-I-FRAMES-ONLY) is for trick play; it has no \
             playable video"
                .into(),
        ));
    }
    let mut segments = Vec::with_capacity(m.segments.len());
    let mut t = 0.0;
    let mut init: Option<Resource> = None;
    let mut next_offset: HashMap<String, u64> = HashMap::new();
    // The key in force: a tag applies to every segment after it until the next.
    let mut key: Option<KeyTag> = None;
    for (i, s) in m.segments.iter().enumerate() {
        // A key tag m3u8-rs could not read lands among the unknown tags: `METHOD=NONE` (m3u8-rs
        // 6 wants an IV there, which NONE never has), or a malformed one, which must not leave
        // the previous key in force or the segments taken for clear.
        for t in s.unknown_tags.iter().filter(|t| t.tag == "X-KEY") {
            key = unread_key_tag(t.rest.as_deref().unwrap_or(""))?;
        }
        if let Some(tag) = &s.key {
            key = segment_key(tag)?;
        }
        if let Some(map) = &s.map {
            init = Some(Resource {
                uri: map.uri.clone(),
                range: map.byte_range.as_ref().map(|b| ByteRange {
                    offset: b.offset.unwrap_or(0),
                    length: b.length,
                }),
            });
        }
        let range = match s.byte_range.as_ref() {
            Some(b) => {
                let offset = b
                    .offset
                    .unwrap_or_else(|| next_offset.get(&s.uri).copied().unwrap_or(0));
                let end = offset
                    .checked_add(b.length)
                    .filter(|_| b.length > 0)
                    .ok_or_else(|| {
                        ManifestError::Invalid(format!("segment {i} has a bad byte range"))
                    })?;
                next_offset.insert(s.uri.clone(), end);
                Some(ByteRange {
                    offset,
                    length: b.length,
                })
            }
            None => None,
        };
        let duration = durations[i];
        segments.push(Segment {
            number: m.media_sequence + i as u64,
            start_s: t,
            duration_s: duration,
            resource: Resource {
                uri: s.uri.clone(),
                range,
            },
            init: init.clone(),
            size: range.map(|r| r.length),
            discontinuity: s.discontinuity,
            key: key.as_ref().map(|(uri, iv)| SegmentKey {
                uri: uri.clone(),
                iv: iv.unwrap_or_else(|| u128::from(m.media_sequence + i as u64).to_be_bytes()),
            }),
            // m3u8-rs 6 keeps `EXT-X-GAP` among the unknown tags of the segment it marks.
            gap: s.unknown_tags.iter().any(|t| t.tag == "X-GAP"),
            media_offset_s: 0.0,
        });
        t += duration;
    }
    Ok((segments, !m.end_list, m.target_duration as f64))
}

/// Reads an `EXT-X-KEY` tag m3u8-rs kept unread: `METHOD=NONE`, or the scheme it names.
fn unread_key_tag(attributes: &str) -> Result<Option<KeyTag>, ManifestError> {
    let attrs = attribute_list(attributes);
    let method = attrs.get("METHOD").map(String::as_str);
    match method {
        Some("NONE") => Ok(None),
        Some(method) if method != "AES-128" => Err(ManifestError::Unsupported(format!(
            "encrypted HLS segments (METHOD={method}) are not supported"
        ))),
        _ => Err(ManifestError::Invalid(format!(
            "unreadable EXT-X-KEY tag: {attributes}"
        ))),
    }
}

/// An AES-128 key's URI and the tag's IV (`None`: each segment's media sequence number).
type KeyTag = (String, Option<[u8; 16]>);

/// The key an `EXT-X-KEY` tag puts in force, or `None` for `METHOD=NONE`. Anything but AES-128
/// with a plain key fails, naming the scheme.
fn segment_key(tag: &m3u8_rs::Key) -> Result<Option<KeyTag>, ManifestError> {
    match &tag.method {
        m3u8_rs::KeyMethod::None => return Ok(None),
        m3u8_rs::KeyMethod::AES128 => {}
        method => {
            return Err(ManifestError::Unsupported(format!(
                "encrypted HLS segments (METHOD={method}) are not supported"
            )));
        }
    }
    if let Some(format) = tag.keyformat.as_deref().filter(|f| *f != "identity") {
        return Err(ManifestError::Unsupported(format!(
            "HLS keys of KEYFORMAT={format} (DRM) are not supported"
        )));
    }
    let uri = tag
        .uri
        .clone()
        .ok_or_else(|| ManifestError::Invalid("EXT-X-KEY METHOD=AES-128 without a URI".into()))?;
    let iv = match tag.iv.as_deref() {
        None => None,
        Some(text) => {
            let hex = text
                .strip_prefix("0x")
                .or_else(|| text.strip_prefix("0X"))
                .filter(|h| {
                    (1..=32).contains(&h.len()) && h.bytes().all(|b| b.is_ascii_hexdigit())
                });
            let iv = hex.and_then(|h| u128::from_str_radix(h, 16).ok());
            Some(
                iv.ok_or_else(|| {
                    ManifestError::Invalid(format!(
                        "EXT-X-KEY IV {text:?} is not 0x and up to 32 hex digits"
                    ))
                })?
                .to_be_bytes(),
            )
        }
    };
    Ok(Some((uri, iv)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The parsers under the default limits.
    fn parse(body: &[u8], url: &Url) -> Result<Presentation, ManifestError> {
        super::parse(body, url, &ManifestLimits::default())
    }

    fn parse_media(body: &[u8]) -> Result<(Vec<Segment>, bool, f64), ManifestError> {
        super::parse_media(body, &ManifestLimits::default())
    }

    #[test]
    fn counts_durations_and_bandwidths_past_the_limits_are_refused_in_one_line() {
        let limits = ManifestLimits {
            max_segments: 3,
            max_variants: 2,
            ..ManifestLimits::default()
        };
        let media = |n: usize, extinf: &str| {
            let mut t = "#EXTM3U\n#EXT-X-TARGETDURATION:4\n".to_string();
            for i in 0..n {
                t += &format!("#EXTINF:{extinf},\ns{i}.ts\n");
            }
            t + "#EXT-X-ENDLIST\n"
        };
        let error = |text: String| {
            super::parse_media(text.as_bytes(), &limits)
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            super::parse_media(media(3, "4").as_bytes(), &limits)
                .unwrap()
                .0
                .len(),
            3
        );
        assert_eq!(
            error(media(4, "4")),
            "too many segments: over 3 in one playlist"
        );
        assert_eq!(
            error(media(1, "1e300")),
            "segment 0 has an absurd duration: 1e300 s (at most 21600 s)"
        );
        // m3u8-rs alone takes these for unknown tags; they are refused before it sees them.
        assert!(error(media(1, "NaN")).contains("bad duration"));
        assert!(error(media(1, "-1")).contains("bad duration"));
        assert_eq!(
            error("#EXTM3U\n#EXT-X-TARGETDURATION:99999999\n#EXTINF:4,\na.ts\n".into()),
            "#EXT-X-TARGETDURATION has an absurd duration: 99999999 s (at most 21600 s)"
        );
        let master = |n: usize, bandwidth: &str| {
            let mut t = "#EXTM3U\n".to_string();
            for i in 0..n {
                t += &format!("#EXT-X-STREAM-INF:BANDWIDTH={bandwidth}\nv{i}.m3u8\n");
            }
            t
        };
        let url = Url::parse("http://x.test/master.m3u8").unwrap();
        assert!(super::parse(master(2, "800000").as_bytes(), &url, &limits).is_ok());
        assert_eq!(
            super::parse(master(3, "800000").as_bytes(), &url, &limits)
                .unwrap_err()
                .to_string(),
            "too many variants: over 2 in the multivariant playlist"
        );
        // Tags after leading blanks, which m3u8-rs reads as tags, are counted and checked too.
        let indented = master(3, "800000").replace("#EXT-X-STREAM-INF", "  #EXT-X-STREAM-INF");
        assert_eq!(
            super::parse(indented.as_bytes(), &url, &limits)
                .unwrap_err()
                .to_string(),
            "too many variants: over 2 in the multivariant playlist"
        );
        assert!(error(media(1, "NaN").replace("#EXTINF", " #EXTINF")).contains("bad duration"));
        // Bare URI lines, which m3u8-rs makes segments of, are counted before it sees them.
        assert_eq!(
            error(media(4, "4").replace("#EXTINF:4,\n", "")),
            "too many URI lines: over 3 in one playlist"
        );
        assert_eq!(
            error(media(3, "4").replace("#EXTINF:4,\n", "")),
            "the playlist lists 3 segments but 0 #EXTINF durations"
        );
        // Lines m3u8-rs reads as URIs, after a lone CR or of a vertical tab, are counted too.
        assert_eq!(
            error(format!("#EXTM3U\n{}", "#\rs.ts\n".repeat(4))),
            "too many URI lines: over 3 in one playlist"
        );
        assert_eq!(
            error(format!("#EXTM3U\n{}", "\x0b\n".repeat(4))),
            "too many URI lines: over 3 in one playlist"
        );
        // Tags m3u8-rs reads by their start leave the rest of the line to read: a segment.
        assert_eq!(
            error(format!("#EXTM3U\n{}", "#EXT-X-ENDLISTx\n".repeat(4))),
            "too many URI lines: over 3 in one playlist"
        );
        let chained = master(1, "800000")
            + &"#EXT-X-VERSION:1#EXT-X-STREAM-INF:BANDWIDTH=1\nv.m3u8\n".repeat(2);
        assert_eq!(
            super::parse(chained.as_bytes(), &url, &limits)
                .unwrap_err()
                .to_string(),
            "too many variants: over 2 in the multivariant playlist"
        );
        // Comments and tags are lines, eight an entry: 24 here.
        assert_eq!(
            error(format!("#EXTM3U\n{}", "#\n".repeat(24))),
            "too many lines: over 24 in one playlist"
        );
        // Renditions and I-frame streams are held to the variant cap too.
        let renditions = |n: usize| {
            let mut t = master(1, "800000");
            for i in 0..n {
                t += &format!(
                    "#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"a\",NAME=\"a{i}\",URI=\"a{i}.m3u8\"\n"
                );
            }
            t
        };
        assert_eq!(
            super::parse(renditions(2).as_bytes(), &url, &limits)
                .unwrap()
                .periods[0]
                .tracks
                .len(),
            3
        );
        assert_eq!(
            super::parse(renditions(3).as_bytes(), &url, &limits)
                .unwrap_err()
                .to_string(),
            "too many renditions: over 2 in #EXT-X-MEDIA of the multivariant playlist"
        );
        let i_frames =
            master(2, "800000") + "#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=1,URI=\"i.m3u8\"\n";
        assert_eq!(
            super::parse(i_frames.as_bytes(), &url, &limits)
                .unwrap_err()
                .to_string(),
            "too many variants: over 2 in the multivariant playlist"
        );
        assert_eq!(
            error(media(4, "4").replace("#EXTINF", "\t#EXTINF")),
            "too many segments: over 3 in one playlist"
        );
        assert_eq!(
            super::parse(master(1, "99000000000000").as_bytes(), &url, &limits)
                .unwrap_err()
                .to_string(),
            "variant 0 (v0.m3u8) declares an absurd bandwidth: 99000000000000 bit/s (at most \
             10000000000)"
        );
        // The average the ABR plans with is held to the same cap as the peak.
        let average = master(1, "800000").replace(
            "BANDWIDTH=800000",
            "BANDWIDTH=800000,AVERAGE-BANDWIDTH=18446744073709551615",
        );
        assert_eq!(
            super::parse(average.as_bytes(), &url, &limits)
                .unwrap_err()
                .to_string(),
            "variant 0 (v0.m3u8) AVERAGE-BANDWIDTH declares an absurd bandwidth: \
             18446744073709551615 bit/s (at most 10000000000)"
        );
    }

    const MULTIVARIANT: &str = "#EXTM3U
#EXT-X-CONTENT-STEERING:SERVER-URI=\"/steer?s=1\",PATHWAY-ID=\"b\"
#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"aud-a\",NAME=\"Main\",LANGUAGE=\"en\",DEFAULT=YES,URI=\"http://a.test/t/audio.m3u8\"
#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"aud-b\",NAME=\"Main\",LANGUAGE=\"en\",DEFAULT=YES,URI=\"http://b.test/t/audio.m3u8\"
#EXT-X-STREAM-INF:BANDWIDTH=3000000,AVERAGE-BANDWIDTH=2500000,RESOLUTION=1280x720,CODECS=\"avc1.64001f,mp4a.40.2\",AUDIO=\"aud-a\",PATHWAY-ID=\"a\"
http://a.test/t/720.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=300000,RESOLUTION=426x240,CODECS=\"avc1.4d4015,mp4a.40.2\",AUDIO=\"aud-a\",PATHWAY-ID=\"a\"
http://a.test/t/240.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=3000000,AVERAGE-BANDWIDTH=2500000,RESOLUTION=1280x720,CODECS=\"avc1.64001f,mp4a.40.2\",AUDIO=\"aud-b\",PATHWAY-ID=\"b\"
http://b.test/t/720.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=300000,RESOLUTION=426x240,CODECS=\"avc1.4d4015,mp4a.40.2\",AUDIO=\"aud-b\",PATHWAY-ID=\"b\"
http://b.test/t/240.m3u8
";

    #[test]
    fn pathways_fold_into_locations() {
        let url = Url::parse("http://api.test/s/master.m3u8").unwrap();
        let p = parse(MULTIVARIANT.as_bytes(), &url).unwrap();
        assert_eq!(p.pathways, ["a", "b"]);
        let steering = p.steering.unwrap();
        assert_eq!(
            steering.server_uri.unwrap().as_str(),
            "http://api.test/steer?s=1"
        );
        assert_eq!(steering.default_pathway.as_deref(), Some("b"));
        let tracks = &p.periods[0].tracks;
        let video = &tracks[0].representations;
        assert_eq!(
            video.len(),
            2,
            "same variant on two pathways is one representation"
        );
        assert_eq!(video[0].height, Some(240));
        assert_eq!(video[1].nominal_bitrate(), 2_500_000);
        assert_eq!(video[1].locations.len(), 2);
        assert_eq!(
            video[1].location(Some("b")).unwrap().url.as_str(),
            "http://b.test/t/720.m3u8"
        );
        let audio = &tracks[1];
        assert_eq!(audio.kind, MediaKind::Audio);
        assert!(audio.default);
        assert_eq!(
            audio.representations[0].locations[1].pathway.as_deref(),
            Some("b")
        );
    }

    #[test]
    fn byte_ranges_maps_and_discontinuities() {
        let text = "#EXTM3U
#EXT-X-VERSION:6
#EXT-X-TARGETDURATION:4
#EXT-X-MEDIA-SEQUENCE:10
#EXT-X-MAP:URI=\"v.mp4\",BYTERANGE=\"700@0\"
#EXTINF:4,
#EXT-X-BYTERANGE:1000@700
v.mp4
#EXTINF:4,
#EXT-X-BYTERANGE:2000
v.mp4
#EXT-X-DISCONTINUITY
#EXTINF:2.5,
other.m4s
#EXT-X-ENDLIST
";
        let (segs, live, target) = parse_media(text.as_bytes()).unwrap();
        assert!(!live);
        assert_eq!(target, 4.0);
        assert_eq!(segs.len(), 3);
        assert_eq!(segs[0].number, 10);
        assert_eq!(
            segs[0].init.as_ref().unwrap().range,
            Some(ByteRange {
                offset: 0,
                length: 700
            })
        );
        assert_eq!(
            segs[1].resource.range,
            Some(ByteRange {
                offset: 1700,
                length: 2000
            }),
            "offset continues"
        );
        assert_eq!(segs[1].size, Some(2000));
        assert!(segs[2].discontinuity);
        assert_eq!(segs[2].start_s, 8.0);
        assert_eq!(segs[2].resource.range, None);
    }

    #[test]
    fn variants_with_audio_codecs_only_are_the_audio_ladder() {
        let url = Url::parse("http://x.test/master.m3u8").unwrap();
        let kinds = |text: &str| -> Vec<MediaKind> {
            let p = parse(text.as_bytes(), &url).unwrap();
            p.periods[0].tracks.iter().map(|t| t.kind).collect()
        };
        let radio = "#EXTM3U
#EXT-X-STREAM-INF:BANDWIDTH=64000,CODECS=\"mp4a.40.5\"
lo.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=200000,CODECS=\"ec-3\"
hi.m3u8
";
        assert_eq!(kinds(radio), [MediaKind::Audio]);
        // Muxed video and audio, or codecs not declared: video, as before.
        let muxed = "#EXTM3U
#EXT-X-STREAM-INF:BANDWIDTH=900000,CODECS=\"avc1.64001f,mp4a.40.2\"
v.m3u8
";
        assert_eq!(kinds(muxed), [MediaKind::Video]);
        let silent = "#EXTM3U
#EXT-X-STREAM-INF:BANDWIDTH=900000
v.m3u8
";
        assert_eq!(kinds(silent), [MediaKind::Video]);
        // An audio-only fallback beside video variants is left out of the video ladder.
        let fallback = "#EXTM3U
#EXT-X-STREAM-INF:BANDWIDTH=64000,CODECS=\"mp4a.40.5\"
a.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=900000,RESOLUTION=640x360,CODECS=\"avc1.64001f,mp4a.40.2\"
v.m3u8
";
        let p = parse(fallback.as_bytes(), &url).unwrap();
        let track = &p.periods[0].tracks[0];
        assert_eq!(track.kind, MediaKind::Video);
        let heights: Vec<Option<u32>> = track.representations.iter().map(|r| r.height).collect();
        assert_eq!(heights, [Some(360)]);
    }

    #[test]
    fn garbage_is_a_clear_error() {
        let url = Url::parse("http://x.test/a.m3u8").unwrap();
        let e = parse(b"<html>nope</html>", &url).unwrap_err().to_string();
        assert!(e.contains("#EXTM3U"), "{e}");
        let e = parse(b"#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=x\n", &url);
        assert!(e.is_err());
    }

    #[test]
    fn aes_128_keys_apply_until_the_next_tag_and_other_schemes_are_refused() {
        let text = "#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXT-X-MEDIA-SEQUENCE:7\n\
            #EXT-X-KEY:METHOD=AES-128,URI=\"k1\",IV=0x000102030405060708090A0B0C0D0E0F\n\
            #EXTINF:4,\na.ts\n#EXTINF:4,\nb.ts\n\
            #EXT-X-KEY:METHOD=AES-128,URI=\"k2\"\n#EXTINF:4,\nc.ts\n\
            #EXT-X-KEY:METHOD=NONE\n#EXTINF:4,\nd.ts\n#EXT-X-ENDLIST\n";
        let (segments, _, _) = parse_media(text.as_bytes()).unwrap();
        let keys: Vec<Option<SegmentKey>> = segments.into_iter().map(|s| s.key).collect();
        let given: [u8; 16] = std::array::from_fn(|i| i as u8);
        let k1 = SegmentKey {
            uri: "k1".into(),
            iv: given,
        };
        let mut sequence = [0u8; 16];
        sequence[15] = 9; // the third segment: media sequence 7 + 2
        let k2 = SegmentKey {
            uri: "k2".into(),
            iv: sequence,
        };
        assert_eq!(keys, [Some(k1.clone()), Some(k1), Some(k2), None]);
        for (tag, said) in [
            ("METHOD=SAMPLE-AES,URI=\"k\"", "METHOD=SAMPLE-AES"),
            (
                "METHOD=AES-128,URI=\"k\",KEYFORMAT=\"com.apple.streamingkeydelivery\"",
                "KEYFORMAT=com.apple.streamingkeydelivery",
            ),
            ("METHOD=AES-128,URI=\"k\",IV=0xZZ", "IV \"0xZZ\""),
            // Unquoted URI: m3u8-rs cannot read it; neither clear nor the last key.
            ("METHOD=AES-128,URI=k", "unreadable EXT-X-KEY tag"),
        ] {
            let text = format!(
                "#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXT-X-KEY:{tag}\n#EXTINF:4,\na.ts\n#EXT-X-ENDLIST\n"
            );
            let e = parse_media(text.as_bytes()).unwrap_err().to_string();
            assert!(e.contains(said), "{tag}: {e}");
        }
    }

    #[test]
    fn gaps_are_marked_i_frame_playlists_refused_and_webvtt_playlists_are_text() {
        let url = Url::parse("http://x.test/a.m3u8").unwrap();
        let text = "#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXTINF:4,\na.ts\n#EXT-X-GAP\n#EXTINF:4,\n\
            b.ts\n#EXTINF:4,\nc.ts\n#EXT-X-ENDLIST\n";
        let (segments, _, _) = parse_media(text.as_bytes()).unwrap();
        let gaps: Vec<bool> = segments.iter().map(|s| s.gap).collect();
        assert_eq!(gaps, [false, true, false]);

        let trick = "#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXT-X-I-FRAMES-ONLY\n\
            #EXTINF:4,\n#EXT-X-BYTERANGE:9000@376\na.ts\n#EXT-X-ENDLIST\n";
        for e in [
            parse(trick.as_bytes(), &url).unwrap_err(),
            parse_media(trick.as_bytes()).unwrap_err(),
        ] {
            assert!(matches!(e, ManifestError::Unsupported(_)), "{e}");
            assert!(e.to_string().contains("I-frame-only"), "{e}");
        }

        let subtitles = "#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXTINF:4,\nsub-0.vtt\n\
            #EXTINF:4,\nsub-1.webvtt?token=1\n#EXT-X-ENDLIST\n";
        let p = parse(subtitles.as_bytes(), &url).unwrap();
        assert_eq!(p.periods[0].tracks[0].kind, MediaKind::Text);
    }

    #[test]
    fn durations_are_read_as_other_players_read_them() {
        let playlist = |extinf: &str| {
            format!(
                "#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXT-X-MAP:URI=\"i.mp4\"\n{extinf}\r\na.m4s\n\
                 {extinf}\nb.m4s\n#EXT-X-ENDLIST\n"
            )
        };
        for (extinf, seconds) in [
            ("#EXTINF:6.006,", 6.006),
            ("#EXTINF: 4.5,", 4.5),
            ("#EXTINF:1.0E1,", 10.0),
            ("#EXTINF:10", 10.0),
            ("#EXTINF:4,Title, with a comma", 4.0),
            ("#EXTINF:4.000000 tvg-id=\"x\",A title", 4.0),
            ("#EXTINF:.5e1,", 5.0),
            ("#EXTINF:+4.e0x,", 4.0),
            ("#EXTINF:4e,", 4.0),
        ] {
            let (segments, _, _) = parse_media(playlist(extinf).as_bytes()).unwrap();
            let read: Vec<(f64, f64, &str)> = segments
                .iter()
                .map(|s| (s.start_s, s.duration_s, s.resource.uri.as_str()))
                .collect();
            assert_eq!(
                read,
                [(0.0, seconds, "a.m4s"), (seconds, seconds, "b.m4s")],
                "{extinf}"
            );
        }
        // An #EXTINF with no URI after it yet is left out.
        let writing = "#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXTINF:4,\na.ts\n#EXTINF:4,\n";
        let (segments, live, _) = parse_media(writing.as_bytes()).unwrap();
        assert_eq!((segments.len(), live), (1, true));
        // Read in one pass: a hostile line is refused at once (the number is too large).
        let long = format!("#EXTINF:{}{},", "1".repeat(100_000), "-".repeat(100_000));
        assert!(parse_media(playlist(&long).as_bytes()).is_err());
        for extinf in [
            "#EXTINF:-1,",
            "#EXTINF:,",
            "#EXTINF:abc,",
            "#EXTINF:1e400,",
            "#EXTINF:.,",
        ] {
            let e = parse_media(playlist(extinf).as_bytes()).unwrap_err();
            assert!(
                e.to_string().contains("segment 0 has a bad duration"),
                "{extinf}: {e}"
            );
        }
    }
}
