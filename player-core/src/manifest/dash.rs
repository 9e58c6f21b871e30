//! DASH (ISO/IEC 23009-1) through dash-mpd-core: periods, adaptation sets and representations
//! with `SegmentTemplate` (`$Number$`, `$Time$`, `SegmentTimeline`), `SegmentList`, and
//! `SegmentBase` (its index, a `sidx` box or WebM `Cues`, is loaded later), `BaseURL` resolution at every level, one location
//! per MPD-level `BaseURL@serviceLocation`, and the DASH-IF `<ContentSteering>` element.

use std::time::{Duration, SystemTime};

use dash_mpd_core::{AdaptationSet, BaseURL, MPD, SegmentTemplate, SegmentTimeline};
use url::Url;

use super::{ManifestError, ManifestLimits};
use crate::presentation::{
    ByteRange, Location, ManifestFormat, MediaKind, Period, Presentation, Representation, Resource,
    Segment, SegmentIndex, SteeringTag, Track, sort_representations,
};

/// Parses an MPD fetched from `url`; `now` places live (dynamic) presentations.
pub fn parse(
    body: &[u8],
    url: &Url,
    now: SystemTime,
    limits: &ManifestLimits,
) -> Result<Presentation, ManifestError> {
    let text = std::str::from_utf8(body)
        .map_err(|_| ManifestError::Invalid("the MPD is not UTF-8 text".into()))?;
    check_well_formed_durations(text)?;
    let mpd = dash_mpd_core::parse(text).map_err(|e| {
        ManifestError::Invalid(format!(
            "not a valid DASH MPD: {}",
            one_line(&e.to_string())
        ))
    })?;
    let live = mpd.mpdtype.as_deref() == Some("dynamic");
    let duration_s = mpd.mediaPresentationDuration.map(|d| d.as_secs_f64());

    let bases = mpd_bases(&mpd, url)?;
    let pathways: Vec<String> = bases.iter().filter_map(|l| l.pathway.clone()).collect();
    let mut periods = Vec::new();
    let mut next_start = 0.0;
    let mut held = HeldSegments::default();
    for (pi, p) in mpd.periods.iter().enumerate() {
        if !wanted(p.href.as_deref(), "Period")? {
            continue;
        }
        let start = p.start.map_or(next_start, |d| d.as_secs_f64());
        let following_start = mpd.periods[pi + 1..]
            .iter()
            .find(|n| wanted(n.href.as_deref(), "Period").unwrap_or(true))
            .and_then(|n| n.start)
            .map(|d| d.as_secs_f64());
        let duration = p
            .duration
            .map(|d| d.as_secs_f64())
            .or_else(|| following_start.map(|n| n - start))
            .or_else(|| duration_s.map(|d| d - start))
            .map(|d| d.max(0.0));
        next_start = start + duration.unwrap_or(0.0);
        let ctx = PeriodContext {
            mpd: &mpd,
            start_s: start,
            duration_s: duration,
            now,
            live,
            limits,
        };
        let period_bases: Vec<Location> = bases
            .iter()
            .map(|b| join_base(b, p.BaseURL.first()))
            .collect::<Result<_, _>>()?;
        let representations: usize = p.adaptations.iter().map(|a| a.representations.len()).sum();
        if representations > limits.max_variants {
            return Err(ManifestError::Invalid(format!(
                "too many representations: over {} in period {pi}",
                limits.max_variants
            )));
        }
        let mut tracks = Vec::new();
        for (ai, a) in p.adaptations.iter().enumerate() {
            if !wanted(a.href.as_deref(), "AdaptationSet")? {
                continue;
            }
            let Some(kind) = adaptation_kind(a) else {
                continue; // thumbnails and other non-playable sets
            };
            refuse_protection(a)?;
            let set_bases: Vec<Location> = period_bases
                .iter()
                .map(|b| join_base(b, a.BaseURL.first()))
                .collect::<Result<_, _>>()?;
            let mut reps = Vec::new();
            for (ri, r) in a.representations.iter().enumerate() {
                let id = r.id.clone().unwrap_or_else(|| format!("{pi}.{ai}.{ri}"));
                let locations: Vec<Location> = set_bases
                    .iter()
                    .map(|b| join_base(b, r.BaseURL.first()))
                    .collect::<Result<_, _>>()?;
                let bandwidth = r.bandwidth.unwrap_or(0);
                let named = format!("representation {}", quoted(&id));
                limits.check_bandwidth(&named, bandwidth)?;
                // A representation the MPD under-specifies still loads (players list it, and
                // may never play it); playing it fails with the reason.
                // Past the presentation's budget, no more lists are expanded.
                let segments = if held.full {
                    SegmentIndex::Unavailable(format!("{named}: {}", held.why(limits)))
                } else {
                    let index = segment_index(&ctx, p, a, r, &id, bandwidth)
                        .unwrap_or_else(|e| SegmentIndex::Unavailable(format!("{named}: {e}")));
                    held.add(index, &named, limits)
                };
                reps.push(Representation {
                    id,
                    bandwidth,
                    average_bandwidth: None,
                    width: r.width.or(a.width).map(|w| w as u32),
                    height: r.height.or(a.height).map(|h| h as u32),
                    frame_rate: r
                        .frameRate
                        .as_deref()
                        .or(a.frameRate.as_deref())
                        .and_then(parse_frame_rate),
                    codecs: r.codecs.clone().or_else(|| a.codecs.clone()),
                    mime_type: r.mimeType.clone().or_else(|| a.mimeType.clone()),
                    locations,
                    segments,
                });
            }
            if reps.is_empty() {
                continue;
            }
            sort_representations(&mut reps);
            tracks.push(Track {
                id: a.id.clone().unwrap_or_else(|| format!("{pi}.{ai}")),
                kind,
                language: a.lang.clone(),
                name: a.Label.first().map(|l| l.content.clone()),
                default: false,
                representations: reps,
            });
        }
        for kind in [MediaKind::Video, MediaKind::Audio] {
            let main = tracks
                .iter()
                .position(|t| t.kind == kind && is_main(p, &t.id))
                .or_else(|| tracks.iter().position(|t| t.kind == kind));
            if let Some(i) = main {
                tracks[i].default = true;
            }
        }
        periods.push(Period {
            id: p.id.clone().unwrap_or_else(|| pi.to_string()),
            start_s: start,
            duration_s: duration,
            tracks,
        });
    }
    if periods.is_empty() {
        return Err(ManifestError::Invalid("the MPD has no Period".into()));
    }
    Ok(Presentation {
        url: url.clone(),
        format: ManifestFormat::Dash,
        live,
        duration_s,
        // Reloading sooner than the MPD asks is allowed: a period of days is held to the
        // longest duration the limits know.
        reload_interval_s: mpd
            .minimumUpdatePeriod
            .map(|d| d.as_secs_f64().max(1.0).min(limits.max_segment_duration_s)),
        periods,
        pathways,
        steering: content_steering(text, url),
    })
}

/// Most digits an `xs:duration` field may have.
const MAX_DURATION_DIGITS: usize = 11;

/// The MPD's attributes of type `xs:duration`.
const DURATION_ATTRIBUTES: [&str; 11] = [
    "mediaPresentationDuration",
    "minimumUpdatePeriod",
    "minBufferTime",
    "timeShiftBufferDepth",
    "suggestedPresentationDelay",
    "maxSegmentDuration",
    "maxSubsegmentDuration",
    "start",
    "duration",
    "starttime",
    "skipAfter",
];

/// dash-mpd-core 0.1 sums an `xs:duration`'s fields unchecked: `P99999999999999Y` overflows (a
/// panic where overflow is checked, a wrapped duration where not). Fields of at most
/// [`MAX_DURATION_DIGITS`] digits cannot (11-digit years are 3.2e18 s, inside a u64 with every
/// other field added), so a duration with a longer one is refused before the crate reads it.
/// The fraction of a second is exempt: the crate keeps nine of its digits.
///
/// The same pass refuses a document that is not well-formed XML (an end tag that closes another
/// element, an element never closed), as a browser's `DOMParser`, which dash.js reads MPDs
/// with, does: quick-xml's deserializer under dash-mpd-core assumes the elements it reads nest
/// and trips a debug assertion where they do not (found by fuzzing, kept in
/// `tests/fuzz-inputs/dash_mpd/`).
fn check_well_formed_durations(text: &str) -> Result<(), ManifestError> {
    use quick_xml::XmlVersion;
    use quick_xml::events::Event;
    let too_long = |value: &str| {
        let v = value.trim();
        let v = v.strip_prefix(['-', '+']).unwrap_or(v);
        if !v.starts_with('P') {
            return false;
        }
        let mut run = 0;
        let mut fraction = false;
        for b in v.bytes() {
            if b.is_ascii_digit() {
                run += 1;
                if run > MAX_DURATION_DIGITS && !fraction {
                    return true;
                }
            } else {
                fraction = b == b'.' || b == b',';
                run = 0;
            }
        }
        false
    };
    let mut reader = quick_xml::Reader::from_str(text);
    let mut open = 0usize;
    loop {
        let event = reader.read_event().map_err(|e| {
            ManifestError::Invalid(format!(
                "not a valid DASH MPD: {} (at byte {})",
                one_line(&e.to_string()),
                reader.error_position()
            ))
        })?;
        let element = match event {
            Event::Start(e) => {
                open += 1;
                e
            }
            Event::Empty(e) => e,
            Event::End(_) => {
                open = open.saturating_sub(1);
                continue;
            }
            Event::Eof if open > 0 => {
                return Err(ManifestError::Invalid(format!(
                    "not a valid DASH MPD: it ends with {open} element(s) not closed"
                )));
            }
            Event::Eof => return Ok(()),
            _ => continue,
        };
        let long = element.attributes().flatten().find(|a| {
            DURATION_ATTRIBUTES.contains(&a.key.local_name().as_ref())
                && (too_long(&a.value)
                    || a.normalized_value(XmlVersion::Implicit1_0)
                        .is_ok_and(|v| too_long(&v)))
        });
        if let Some(a) = long {
            return Err(ManifestError::Invalid(format!(
                "{}@{} is a duration too long to hold (a field over {MAX_DURATION_DIGITS} digits)",
                element.local_name().as_ref(),
                a.key.local_name().as_ref(),
            )));
        }
    }
}

/// Whether an element with this `xlink:href` is part of the presentation: one without is, one
/// resolving to nothing (`urn:mpeg:dash:resolve-to-zero:2013`) is not, and one defined elsewhere
/// is refused: remote elements are not fetched.
fn wanted(href: Option<&str>, element: &str) -> Result<bool, ManifestError> {
    match href.map(str::trim) {
        None => Ok(true),
        Some("urn:mpeg:dash:resolve-to-zero:2013") => Ok(false),
        Some(href) => Err(ManifestError::Unsupported(format!(
            "DASH xlink is not supported: a {element} is defined remotely at {}",
            one_line(href)
        ))),
    }
}

fn one_line(s: &str) -> String {
    s.lines().next().unwrap_or("").chars().take(200).collect()
}

fn is_main(p: &dash_mpd_core::Period, track_id: &str) -> bool {
    p.adaptations.iter().any(|a| {
        a.id.as_deref() == Some(track_id)
            && a.Role.iter().any(|r| r.value.as_deref() == Some("main"))
    })
}

struct PeriodContext<'a> {
    mpd: &'a MPD,
    start_s: f64,
    duration_s: Option<f64>,
    now: SystemTime,
    live: bool,
    limits: &'a ManifestLimits,
}

fn mpd_bases(mpd: &MPD, url: &Url) -> Result<Vec<Location>, ManifestError> {
    if mpd.base_url.is_empty() {
        return Ok(vec![Location {
            pathway: None,
            url: url.clone(),
        }]);
    }
    mpd.base_url
        .iter()
        .map(|b| {
            Ok(Location {
                pathway: b.serviceLocation.clone(),
                url: url.join(b.base.trim()).map_err(|e| {
                    ManifestError::Invalid(format!("bad BaseURL {:?}: {e}", b.base))
                })?,
            })
        })
        .collect()
}

fn join_base(parent: &Location, child: Option<&BaseURL>) -> Result<Location, ManifestError> {
    let Some(child) = child else {
        return Ok(parent.clone());
    };
    Ok(Location {
        pathway: parent.pathway.clone(),
        url: parent
            .url
            .join(child.base.trim())
            .map_err(|e| ManifestError::Invalid(format!("bad BaseURL {:?}: {e}", child.base)))?,
    })
}

/// DRM-protected media (`ContentProtection` on the set or a representation) fails in one line
/// naming the systems: Reel has no license client, and would only decode noise.
fn refuse_protection(a: &AdaptationSet) -> Result<(), ManifestError> {
    let schemes: Vec<&dash_mpd_core::ContentProtection> = a
        .ContentProtection
        .iter()
        .chain(a.representations.iter().flat_map(|r| &r.ContentProtection))
        .collect();
    if schemes.is_empty() {
        return Ok(());
    }
    let names: Vec<String> = schemes
        .iter()
        .map(|cp| {
            let id = cp.schemeIdUri.to_ascii_lowercase();
            let name = [
                ("edef8ba9-79d6-4ace-a3c8-27dcd51d21ed", "Widevine"),
                ("9a04f079-9840-4286-ab92-e65be0885f95", "PlayReady"),
                ("94ce86fb-07ff-4f43-adb8-93d2fa968ca2", "FairPlay"),
                ("e2719d58-a985-b3c9-781a-b030af78d30e", "ClearKey"),
                ("1077efec-c0b2-4d02-ace3-3c1e52e2fb4b", "ClearKey"),
            ]
            .iter()
            .find(|(uuid, _)| id.ends_with(uuid))
            .map(|(_, name)| name.to_string());
            match (name, id.as_str(), cp.value.as_deref()) {
                (Some(name), _, _) => name,
                (None, "urn:mpeg:dash:mp4protection:2011", Some(v)) => {
                    format!("common encryption {v}")
                }
                (None, _, _) => cp.schemeIdUri.clone(),
            }
        })
        .fold(Vec::new(), |mut seen, name| {
            if !seen.contains(&name) {
                seen.push(name);
            }
            seen
        });
    Err(ManifestError::Unsupported(format!(
        "DRM-protected DASH is not supported (ContentProtection: {})",
        names.join(", ")
    )))
}

fn adaptation_kind(a: &AdaptationSet) -> Option<MediaKind> {
    let hint = a
        .contentType
        .clone()
        .or_else(|| a.mimeType.clone())
        .or_else(|| a.representations.first().and_then(|r| r.mimeType.clone()))
        .or_else(|| {
            a.ContentComponent
                .first()
                .and_then(|c| c.contentType.clone())
        })
        .unwrap_or_default();
    let codecs = a
        .codecs
        .clone()
        .or_else(|| a.representations.first().and_then(|r| r.codecs.clone()))
        .unwrap_or_default();
    if hint.starts_with("video") {
        Some(MediaKind::Video)
    } else if hint.starts_with("audio") {
        Some(MediaKind::Audio)
    } else if hint.starts_with("text")
        || hint.contains("ttml")
        || codecs.starts_with("stpp")
        || codecs.starts_with("wvtt")
    {
        Some(MediaKind::Text)
    } else if hint.starts_with("image") {
        None
    } else if codecs.starts_with("avc") || codecs.starts_with("hev") || codecs.starts_with("hvc") {
        Some(MediaKind::Video)
    } else if codecs.starts_with("mp4a") || codecs.starts_with("ac-3") || codecs.starts_with("ec-3")
    {
        Some(MediaKind::Audio)
    } else {
        None
    }
}

fn parse_frame_rate(s: &str) -> Option<f64> {
    match s.split_once('/') {
        Some((n, d)) => {
            let (n, d): (f64, f64) = (n.parse().ok()?, d.parse().ok()?);
            (d > 0.0).then_some(n / d)
        }
        None => s.parse().ok(),
    }
}

/// `SegmentTemplate` fields of representation, adaptation set and period, nearest first.
fn merged_template(
    p: &dash_mpd_core::Period,
    a: &AdaptationSet,
    r: &dash_mpd_core::Representation,
) -> Option<SegmentTemplate> {
    let levels: Vec<&SegmentTemplate> = [
        r.SegmentTemplate.as_ref(),
        a.SegmentTemplate.as_ref(),
        p.SegmentTemplate.as_ref(),
    ]
    .into_iter()
    .flatten()
    .collect();
    let first = (*levels.first()?).clone();
    Some(levels[1..].iter().fold(first, |mut t, parent| {
        t.media = t.media.or_else(|| parent.media.clone());
        t.initialization = t.initialization.or_else(|| parent.initialization.clone());
        t.Initialization = t.Initialization.or_else(|| parent.Initialization.clone());
        t.startNumber = t.startNumber.or(parent.startNumber);
        t.duration = t.duration.or(parent.duration);
        t.timescale = t.timescale.or(parent.timescale);
        t.presentationTimeOffset = t.presentationTimeOffset.or(parent.presentationTimeOffset);
        t.SegmentTimeline = t.SegmentTimeline.or_else(|| parent.SegmentTimeline.clone());
        t
    }))
}

fn segment_index(
    ctx: &PeriodContext<'_>,
    p: &dash_mpd_core::Period,
    a: &AdaptationSet,
    r: &dash_mpd_core::Representation,
    id: &str,
    bandwidth: u64,
) -> Result<SegmentIndex, ManifestError> {
    if let Some(t) = merged_template(p, a, r) {
        return template_segments(ctx, &t, id, bandwidth).map(SegmentIndex::Listed);
    }
    let list = r
        .SegmentList
        .as_ref()
        .or(a.SegmentList.as_ref())
        .or(p.SegmentList.as_ref());
    if let Some(l) = list {
        return list_segments(ctx, l).map(SegmentIndex::Listed);
    }
    let base = r
        .SegmentBase
        .as_ref()
        .or(a.SegmentBase.as_ref())
        .or(p.SegmentBase.as_ref());
    if let Some(b) = base
        && let Some(index) = b.indexRange.as_deref()
    {
        let index = ByteRange::parse_dash(index)
            .ok_or_else(|| ManifestError::Invalid(format!("bad indexRange {index:?}")))?;
        let init = b.Initialization.as_ref().map(|i| Resource {
            uri: i.sourceURL.clone().unwrap_or_default(),
            range: i.range.as_deref().and_then(ByteRange::parse_dash),
        });
        let ts = b.timescale.unwrap_or(1).max(1) as f64;
        return Ok(SegmentIndex::SegmentBase {
            media: String::new(),
            index,
            init,
            time_offset_s: b.presentationTimeOffset.unwrap_or(0) as f64 / ts - ctx.start_s,
        });
    }
    // No segment information: the whole resource is one segment.
    let duration = ctx.duration_s.ok_or_else(|| {
        ManifestError::Invalid("no segment information and no known duration".into())
    })?;
    let whole = Resource {
        uri: String::new(),
        range: None,
    };
    Ok(SegmentIndex::Listed(vec![Segment::new(
        1,
        ctx.start_s,
        duration,
        whole,
    )]))
}

/// (start, duration, number) in timescale units from a SegmentTimeline.
fn timeline_entries(
    timeline: &SegmentTimeline,
    start_number: u64,
    timescale: u64,
    end_ticks: Option<u64>,
    limits: &ManifestLimits,
) -> Result<Vec<(u64, u64, u64)>, ManifestError> {
    let mut out: Vec<(u64, u64, u64)> = Vec::new();
    let mut t = 0u64;
    let mut number = start_number;
    for (i, s) in timeline.segments.iter().enumerate() {
        let last = out.last().copied();
        if let Some(st) = s.t {
            if let Some((previous, _, _)) = last.filter(|&(previous, _, _)| st < previous) {
                return Err(ManifestError::Invalid(format!(
                    "SegmentTimeline goes back in time: S@t {st} after a segment at {previous}"
                )));
            }
            t = st;
        }
        if let Some(n) = s.n {
            if let Some((_, _, previous)) = last.filter(|&(_, _, previous)| n <= previous) {
                return Err(ManifestError::Invalid(format!(
                    "SegmentTimeline numbers go back: S@n {n} after segment {previous}"
                )));
            }
            number = n;
        }
        if s.d == 0 {
            return Err(ManifestError::Invalid("SegmentTimeline S@d is 0".into()));
        }
        limits.check_duration("a SegmentTimeline segment", s.d as f64 / timescale as f64)?;
        let repeat = match s.r.unwrap_or(0) {
            r if r >= 0 => r as u64,
            _ => {
                // -1: repeat until the next S@t, or the end of the period.
                let until = timeline
                    .segments
                    .get(i + 1)
                    .and_then(|n| n.t)
                    .or(end_ticks)
                    .ok_or_else(|| {
                        ManifestError::Invalid("S@r=-1 with no end to repeat to".into())
                    })?;
                (until.saturating_sub(t)).div_ceil(s.d).saturating_sub(1)
            }
        };
        for _ in 0..=repeat {
            limits.check_segments(out.len() + 1)?;
            out.push((t, s.d, number));
            t = t.checked_add(s.d).ok_or_else(|| {
                ManifestError::Invalid(format!(
                    "SegmentTimeline runs past the largest time: S@t {t} + S@d {}",
                    s.d
                ))
            })?;
            number = number.checked_add(1).ok_or_else(|| {
                ManifestError::Invalid(format!("SegmentTimeline numbers segments past {number}"))
            })?;
        }
    }
    Ok(out)
}

/// Most bytes the segment URLs of one representation's template may fill to, all together: a
/// template repeating `$Number%064d$`, or a long `$RepresentationID$`, cannot turn a few
/// kilobytes of MPD into gigabytes of URLs.
const MAX_TEMPLATE_URL_BYTES: usize = 32 << 20;

/// The name and `%0Nd` width of a template identifier (`Number%05d` → `Number`, 5).
fn template_width(token: &str) -> (&str, Option<usize>) {
    match token.split_once('%') {
        Some((n, fmt)) => (
            n,
            fmt.trim_start_matches('0')
                .trim_end_matches('d')
                .parse::<usize>()
                .ok(),
        ),
        None => (token, None),
    }
}

/// Longest URL `template` can fill to for representation `id`: a number at its most digits
/// (20) or the width asked, whichever is more.
fn template_url_bound(template: &str, id: &str) -> usize {
    template
        .split('$')
        .enumerate()
        .map(|(i, part)| {
            if i % 2 == 0 {
                return part.len();
            }
            match template_width(part) {
                ("RepresentationID", _) => id.len(),
                ("Number" | "Time" | "Bandwidth", width) => width.unwrap_or(0).max(20),
                _ => part.len() + 2,
            }
        })
        .fold(0, usize::saturating_add)
}

/// Refuses a template whose `count` segment URLs (each segment holding its init URL too)
/// could take more than [`MAX_TEMPLATE_URL_BYTES`], in one line.
fn check_url_budget(
    media: &str,
    init: Option<&str>,
    id: &str,
    count: usize,
) -> Result<(), ManifestError> {
    let each =
        template_url_bound(media, id).saturating_add(init.map_or(0, |i| template_url_bound(i, id)));
    let total = each.saturating_mul(count);
    if total > MAX_TEMPLATE_URL_BYTES {
        return Err(ManifestError::Invalid(format!(
            "a SegmentTemplate's {count} segment URLs could take {total} bytes (at most \
             {MAX_TEMPLATE_URL_BYTES})"
        )));
    }
    Ok(())
}

/// Fills a DASH URL template: `$RepresentationID$`, `$Number$`, `$Bandwidth$`, `$Time$` (each
/// with an optional `%0Nd` width), and `$$`.
pub fn fill_template(template: &str, id: &str, number: u64, bandwidth: u64, time: u64) -> String {
    let mut out = String::with_capacity(template.len() + 16);
    let mut rest = template;
    while let Some(start) = rest.find('$') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        let Some(end) = after.find('$') else {
            out.push_str(&rest[start..]);
            return out;
        };
        let token = &after[..end];
        let (name, width) = template_width(token);
        let value = match name {
            "" => Some("$".to_string()),
            "RepresentationID" => Some(id.to_string()),
            "Number" => Some(number.to_string()),
            "Bandwidth" => Some(bandwidth.to_string()),
            "Time" => Some(time.to_string()),
            _ => None,
        };
        match value {
            Some(v) => {
                let w = width.unwrap_or(0);
                if v.len() < w && name != "RepresentationID" {
                    out.push_str(&"0".repeat(w - v.len()));
                }
                out.push_str(&v);
            }
            None => {
                out.push('$');
                out.push_str(token);
                out.push('$');
            }
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    out
}

fn template_segments(
    ctx: &PeriodContext<'_>,
    t: &SegmentTemplate,
    id: &str,
    bandwidth: u64,
) -> Result<Vec<Segment>, ManifestError> {
    let media = t
        .media
        .as_deref()
        .ok_or_else(|| ManifestError::Invalid("SegmentTemplate without @media".into()))?;
    let ts = t.timescale.unwrap_or(1).max(1);
    let pto = t.presentationTimeOffset.unwrap_or(0);
    let start_number = t.startNumber.unwrap_or(1);
    let init_template = t
        .initialization
        .clone()
        .or_else(|| t.Initialization.as_ref().and_then(|i| i.sourceURL.clone()));
    let init = init_template.as_ref().map(|i| Resource {
        uri: fill_template(i, id, 0, bandwidth, 0),
        range: None,
    });
    let to_s = |ticks: u64| ctx.start_s + (ticks as f64 - pto as f64) / ts as f64;
    let make = |time: u64, dur: u64, number: u64| Segment {
        number,
        start_s: to_s(time),
        duration_s: dur as f64 / ts as f64,
        resource: Resource {
            uri: fill_template(media, id, number, bandwidth, time),
            range: None,
        },
        init: init.clone(),
        size: None,
        discontinuity: false,
        key: None,
        gap: false,
        media_offset_s: ctx.start_s - pto as f64 / ts as f64,
    };
    if let Some(timeline) = &t.SegmentTimeline {
        let end_ticks = ctx
            .duration_s
            .map(|d| pto.saturating_add((d * ts as f64).round() as u64))
            .or_else(|| {
                ctx.live.then(|| {
                    pto.saturating_add((live_elapsed_s(ctx).unwrap_or(0.0) * ts as f64) as u64)
                })
            });
        let entries = timeline_entries(timeline, start_number, ts, end_ticks, ctx.limits)?;
        check_url_budget(media, init_template.as_deref(), id, entries.len())?;
        return Ok(entries
            .into_iter()
            .map(|(time, d, n)| make(time, d, n))
            .collect());
    }
    let Some(d) = t.duration.filter(|d| *d > 0.0) else {
        return Err(ManifestError::Invalid(
            "SegmentTemplate has neither @duration nor a SegmentTimeline".into(),
        ));
    };
    let seg_s = d / ts as f64;
    ctx.limits
        .check_duration("a SegmentTemplate segment", seg_s)?;
    let (first, count) = if ctx.live {
        let elapsed = live_elapsed_s(ctx).ok_or_else(|| {
            ManifestError::Invalid("a live MPD needs @availabilityStartTime".into())
        })?;
        let available = (elapsed / seg_s).floor().max(0.0) as u64;
        let depth = ctx
            .mpd
            .timeShiftBufferDepth
            .map_or(available, |tsb| (tsb.as_secs_f64() / seg_s).ceil() as u64);
        // The newest segments only, when the window is longer than a representation may be.
        let depth = depth.min(ctx.limits.max_segments as u64);
        let first = available.saturating_sub(depth);
        (first, available - first)
    } else {
        let duration = ctx.duration_s.ok_or_else(|| {
            ManifestError::Invalid("cannot count segments: the period has no known duration".into())
        })?;
        (0, (duration / seg_s - 1e-9).ceil().max(0.0) as u64)
    };
    let count_usize = usize::try_from(count).unwrap_or(usize::MAX);
    ctx.limits.check_segments(count_usize)?;
    check_url_budget(media, init_template.as_deref(), id, count_usize)?;
    let dur_ticks = d.round() as u64;
    (first..first + count)
        .map(|i| {
            let time = i
                .checked_mul(dur_ticks)
                .and_then(|offset| offset.checked_add(pto));
            let number = start_number.checked_add(i);
            let (Some(time), Some(number)) = (time, number) else {
                return Err(ManifestError::Invalid(format!(
                    "SegmentTemplate segment {i} is past the largest $Time$ or $Number$"
                )));
            };
            let mut s = make(time, dur_ticks, number);
            if let Some(total) = ctx.duration_s.filter(|_| !ctx.live) {
                s.duration_s = s.duration_s.min(ctx.start_s + total - s.start_s).max(0.0);
            }
            Ok(s)
        })
        .collect()
}

/// Seconds since the period started, for a live presentation.
fn live_elapsed_s(ctx: &PeriodContext<'_>) -> Option<f64> {
    let ast: SystemTime = ctx.mpd.availabilityStartTime?.into();
    let since = ctx.now.duration_since(ast).unwrap_or(Duration::ZERO);
    Some(since.as_secs_f64() - ctx.start_s)
}

fn list_segments(
    ctx: &PeriodContext<'_>,
    l: &dash_mpd_core::SegmentList,
) -> Result<Vec<Segment>, ManifestError> {
    let ts = l.timescale.unwrap_or(1).max(1);
    let init = l.Initialization.as_ref().map(|i| Resource {
        uri: i.sourceURL.clone().unwrap_or_default(),
        range: i.range.as_deref().and_then(ByteRange::parse_dash),
    });
    ctx.limits.check_segments(l.segment_urls.len())?;
    let times: Vec<(u64, u64)> = match (&l.SegmentTimeline, l.duration) {
        (Some(tl), _) => timeline_entries(tl, 1, ts, None, ctx.limits)?
            .into_iter()
            .map(|(t, d, _)| (t, d))
            .collect(),
        (None, Some(d)) if d > 0 => {
            ctx.limits
                .check_duration("a SegmentList segment", d as f64 / ts as f64)?;
            (0..l.segment_urls.len() as u64)
                .map(|i| {
                    i.checked_mul(d).map(|t| (t, d)).ok_or_else(|| {
                        ManifestError::Invalid(format!(
                            "SegmentList segment {i} starts past the largest time (@duration {d})"
                        ))
                    })
                })
                .collect::<Result<_, _>>()?
        }
        _ => {
            if l.segment_urls.len() == 1
                && let Some(dur) = ctx.duration_s
            {
                vec![(0, (dur * ts as f64).round() as u64)]
            } else {
                return Err(ManifestError::Invalid(
                    "SegmentList has neither @duration nor a SegmentTimeline".into(),
                ));
            }
        }
    };
    l.segment_urls
        .iter()
        .zip(times)
        .enumerate()
        .map(|(i, (u, (t, d)))| {
            let range = match u.mediaRange.as_deref() {
                Some(r) => Some(
                    ByteRange::parse_dash(r)
                        .ok_or_else(|| ManifestError::Invalid(format!("bad mediaRange {r:?}")))?,
                ),
                None => None,
            };
            Ok(Segment {
                number: i as u64 + 1,
                start_s: ctx.start_s + t as f64 / ts as f64,
                duration_s: d as f64 / ts as f64,
                resource: Resource {
                    uri: u.media.clone().unwrap_or_default(),
                    range,
                },
                init: init.clone(),
                size: range.map(|r| r.length),
                discontinuity: false,
                key: None,
                gap: false,
                // dash-mpd-core keeps no presentationTimeOffset for a SegmentList: 0.
                media_offset_s: ctx.start_s,
            })
        })
        .collect()
}

/// The DASH-IF `<ContentSteering>` element (dash-mpd-core does not keep its text).
fn content_steering(text: &str, url: &Url) -> Option<SteeringTag> {
    use quick_xml::XmlVersion;
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(text);
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) if e.local_name().as_ref() == "ContentSteering" => {
                let mut tag = SteeringTag {
                    server_uri: None,
                    default_pathway: None,
                    query_before_start: false,
                };
                for a in e.attributes().flatten() {
                    let value = a
                        .normalized_value(XmlVersion::Implicit1_0)
                        .ok()?
                        .to_string();
                    match a.key.local_name().as_ref() {
                        "defaultServiceLocation" => {
                            tag.default_pathway = value.split_whitespace().next().map(String::from)
                        }
                        "queryBeforeStart" => tag.query_before_start = value == "true",
                        _ => {}
                    }
                }
                let mut uri = String::new();
                loop {
                    match reader.read_event() {
                        Ok(Event::Text(t)) => uri.push_str(&t.xml10_content()),
                        Ok(Event::GeneralRef(r)) => {
                            let name = r.xml10_content();
                            uri.push_str(match name.as_ref() {
                                "amp" => "&",
                                "lt" => "<",
                                "gt" => ">",
                                "quot" => "\"",
                                "apos" => "'",
                                _ => "",
                            });
                        }
                        _ => break,
                    }
                }
                tag.server_uri = url.join(uri.trim()).ok();
                return Some(tag);
            }
            Ok(Event::Eof) | Err(_) => return None,
            _ => {}
        }
    }
}

/// The memory the segment lists of a presentation take so far, against
/// [`ManifestLimits::max_segment_list_bytes`]. The representation whose list would pass it, and
/// every one after it, is unavailable, with the reason: the stream plays as far as it fits (a
/// live stream of many representations running for days without a `timeShiftBufferDepth`
/// keeps its first ones), and a hostile MPD costs no more than the budget to expand.
#[derive(Default)]
struct HeldSegments {
    bytes: usize,
    full: bool,
}

impl HeldSegments {
    /// `index`, counted; or why it is unavailable past the budget.
    fn add(&mut self, index: SegmentIndex, named: &str, limits: &ManifestLimits) -> SegmentIndex {
        let SegmentIndex::Listed(segments) = &index else {
            return index;
        };
        let heap = |r: &Resource| r.uri.capacity();
        let each = |s: &Segment| {
            std::mem::size_of::<Segment>()
                + heap(&s.resource)
                + s.init.as_ref().map_or(0, heap)
                + s.key.as_ref().map_or(0, |k| k.uri.capacity())
        };
        let bytes = segments
            .iter()
            .map(each)
            .fold(self.bytes, usize::saturating_add);
        if bytes > limits.max_segment_list_bytes {
            self.full = true;
            return SegmentIndex::Unavailable(format!("{named}: {}", self.why(limits)));
        }
        self.bytes = bytes;
        index
    }

    fn why(&self, limits: &ManifestLimits) -> String {
        format!(
            "the MPD's segment lists would take over {} bytes (max_segment_list_bytes)",
            limits.max_segment_list_bytes
        )
    }
}

/// An identifier as an error quotes it: at most 80 characters, so a hostile 200 KB `@id`
/// makes a short line.
fn quoted(id: &str) -> String {
    const SHOWN: usize = 80;
    match id.char_indices().nth(SHOWN) {
        Some((cut, _)) => format!("{:?}…", &id[..cut]),
        None => format!("{id:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The parser under the default limits.
    fn parse(body: &[u8], url: &Url, now: SystemTime) -> Result<Presentation, ManifestError> {
        super::parse(body, url, now, &ManifestLimits::default())
    }

    #[test]
    fn representations_bandwidths_and_segment_counts_past_the_limits_are_refused() {
        let limits = ManifestLimits {
            max_segments: 10,
            max_variants: 2,
            ..ManifestLimits::default()
        };
        let mpd = |duration: &str, reps: &[&str]| {
            let reps: String = reps
                .iter()
                .enumerate()
                .map(|(i, bw)| format!(r#"<Representation id="v{i}" bandwidth="{bw}"/>"#))
                .collect();
            format!(
                r#"<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static" mediaPresentationDuration="{duration}">
  <Period><AdaptationSet mimeType="video/mp4">
    <SegmentTemplate timescale="1000" duration="2000" media="$RepresentationID$/$Number$.m4s"/>
    {reps}
  </AdaptationSet></Period></MPD>"#
            )
        };
        let parsed =
            |text: String| super::parse(text.as_bytes(), &url(), SystemTime::now(), &limits);
        let p = parsed(mpd("PT20S", &["100000", "200000"])).unwrap();
        assert_eq!(
            p.periods[0].tracks[0].representations[0]
                .segment_list()
                .len(),
            10
        );
        assert_eq!(
            parsed(mpd("PT20S", &["1", "2", "3"]))
                .unwrap_err()
                .to_string(),
            "too many representations: over 2 in period 0"
        );
        assert_eq!(
            parsed(mpd("PT20S", &["99000000000000"]))
                .unwrap_err()
                .to_string(),
            "representation \"v0\" declares an absurd bandwidth: 99000000000000 bit/s (at most \
             10000000000)"
        );
        // A long id is quoted short.
        let long = mpd("PT20S", &["99000000000000"])
            .replace("\"v0\"", &format!("\"{}\"", "x".repeat(200_000)));
        let e = parsed(long).unwrap_err().to_string();
        assert!(
            e.starts_with(&format!("representation \"{}\"… declares", "x".repeat(80))),
            "{e}"
        );
        assert!(e.len() < 200, "{} bytes", e.len());
        // Every representation within its own cap, but together past the presentation's
        // memory: the one that passes it cannot be played, and says why.
        let small = ManifestLimits {
            max_segment_list_bytes: 15 * std::mem::size_of::<Segment>(),
            ..limits.clone()
        };
        let two = mpd("PT20S", &["100000", "200000"]);
        let p = super::parse(two.as_bytes(), &url(), SystemTime::now(), &small).unwrap();
        let reps = &p.periods[0].tracks[0].representations;
        let by_id = |id: &str| {
            let r = reps.iter().find(|r| r.id == id).unwrap();
            r.segments.clone()
        };
        assert!(matches!(by_id("v0"), SegmentIndex::Listed(s) if s.len() == 10));
        assert_eq!(
            by_id("v1"),
            SegmentIndex::Unavailable(format!(
                "representation \"v1\": the MPD's segment lists would take over {} bytes \
                 (max_segment_list_bytes)",
                small.max_segment_list_bytes
            ))
        );
        // A year of 2 s segments: refused, not expanded. The representation cannot be played
        // and says why when chosen.
        let p = parsed(mpd("P365D", &["100000"])).unwrap();
        match &p.periods[0].tracks[0].representations[0].segments {
            SegmentIndex::Unavailable(why) => {
                assert!(why.contains("too many segments: over 10"), "{why}")
            }
            other => panic!("{other:?}"),
        }
    }

    fn url() -> Url {
        Url::parse("http://cdn.test/t/manifest.mpd").unwrap()
    }

    #[test]
    fn templates_fill_with_widths_and_escapes() {
        assert_eq!(
            fill_template("$RepresentationID$/seg_$Number%05d$.m4s", "v1", 7, 0, 0),
            "v1/seg_00007.m4s"
        );
        assert_eq!(
            fill_template("t$Time$_$Bandwidth$$$x", "v", 1, 800, 90000),
            "t90000_800$x"
        );
        assert_eq!(
            fill_template("$Unknown$-$Number", "v", 1, 0, 0),
            "$Unknown$-$Number"
        );
    }

    #[test]
    fn number_template_counts_segments_from_the_duration() {
        let mpd = r#"<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static" mediaPresentationDuration="PT10S">
  <Period><AdaptationSet mimeType="video/mp4">
    <SegmentTemplate timescale="1000" duration="4000" startNumber="1" media="$RepresentationID$/$Number$.m4s" initialization="$RepresentationID$/init.mp4"/>
    <Representation id="v" bandwidth="1000" width="640" height="360"/>
  </AdaptationSet></Period></MPD>"#;
        let p = parse(mpd.as_bytes(), &url(), SystemTime::now()).unwrap();
        let rep = &p.periods[0].tracks[0].representations[0];
        let segs = rep.segment_list();
        assert_eq!(segs.len(), 3);
        assert_eq!(
            segs[2].duration_s, 2.0,
            "the last segment ends with the period"
        );
        assert_eq!(segs[1].resource.uri, "v/2.m4s");
        assert_eq!(
            rep.url(segs[0].init.as_ref().unwrap(), None)
                .unwrap()
                .as_str(),
            "http://cdn.test/t/v/init.mp4"
        );
    }

    #[test]
    fn time_template_follows_the_timeline() {
        let mpd = r#"<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static" mediaPresentationDuration="PT12S">
  <Period><AdaptationSet contentType="audio" mimeType="audio/mp4" lang="en">
    <SegmentTemplate timescale="48000" presentationTimeOffset="48000" media="a_$Time$.m4s">
      <SegmentTimeline><S t="48000" d="192000" r="1"/><S d="96000" r="-1"/></SegmentTimeline>
    </SegmentTemplate>
    <Representation id="a" bandwidth="128000"/>
  </AdaptationSet></Period></MPD>"#;
        let p = parse(mpd.as_bytes(), &url(), SystemTime::now()).unwrap();
        let t = &p.periods[0].tracks[0];
        assert_eq!(t.kind, MediaKind::Audio);
        assert_eq!(t.language.as_deref(), Some("en"));
        let segs = t.representations[0].segment_list();
        assert_eq!(segs.len(), 4, "{segs:?}");
        assert_eq!(segs[0].start_s, 0.0, "presentationTimeOffset is removed");
        assert_eq!(segs[1].resource.uri, "a_240000.m4s");
        assert_eq!(segs[3].end_s(), 12.0);
    }

    #[test]
    fn segment_list_with_media_ranges_and_service_locations() {
        let mpd = r#"<?xml version="1.0"?>
<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static" mediaPresentationDuration="PT8S">
  <BaseURL serviceLocation="a">http://a.test/t/</BaseURL>
  <BaseURL serviceLocation="b">http://b.test/t/</BaseURL>
  <ContentSteering defaultServiceLocation="b" queryBeforeStart="true">http://api.test/steer/1</ContentSteering>
  <Period><AdaptationSet contentType="video" mimeType="video/mp4">
    <Representation id="v" bandwidth="300000" codecs="avc1.4d4015">
      <BaseURL>v.mp4</BaseURL>
      <SegmentList timescale="1000">
        <Initialization range="0-767"/>
        <SegmentTimeline><S t="0" d="4000" r="1"/></SegmentTimeline>
        <SegmentURL mediaRange="768-1767"/><SegmentURL mediaRange="1768-2767"/>
      </SegmentList>
    </Representation>
  </AdaptationSet></Period></MPD>"#;
        let p = parse(mpd.as_bytes(), &url(), SystemTime::now()).unwrap();
        assert_eq!(p.pathways, ["a", "b"]);
        let steering = p.steering.unwrap();
        assert_eq!(
            steering.server_uri.unwrap().as_str(),
            "http://api.test/steer/1"
        );
        assert_eq!(steering.default_pathway.as_deref(), Some("b"));
        assert!(steering.query_before_start);
        let rep = &p.periods[0].tracks[0].representations[0];
        let segs = rep.segment_list();
        assert_eq!(
            segs[1].resource.range,
            Some(ByteRange {
                offset: 1768,
                length: 1000
            })
        );
        assert_eq!(segs[1].size, Some(1000));
        assert_eq!(
            rep.url(&segs[0].resource, Some("b")).unwrap().as_str(),
            "http://b.test/t/v.mp4"
        );
    }

    #[test]
    fn segment_base_defers_to_the_sidx() {
        let mpd = r#"<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static" mediaPresentationDuration="PT8S">
  <Period><AdaptationSet mimeType="video/mp4"><Representation id="v" bandwidth="1">
    <BaseURL>v.mp4</BaseURL><SegmentBase indexRange="800-899"><Initialization range="0-799"/></SegmentBase>
  </Representation></AdaptationSet></Period></MPD>"#;
        let p = parse(mpd.as_bytes(), &url(), SystemTime::now()).unwrap();
        match &p.periods[0].tracks[0].representations[0].segments {
            SegmentIndex::SegmentBase { index, init, .. } => {
                assert_eq!(
                    *index,
                    ByteRange {
                        offset: 800,
                        length: 100
                    }
                );
                assert_eq!(
                    init.as_ref().unwrap().range,
                    Some(ByteRange {
                        offset: 0,
                        length: 800
                    })
                );
            }
            other => panic!("{other:?}"),
        }
    }

    /// Why the first representation of an MPD cannot be played.
    fn unavailable(mpd: &str) -> String {
        let p = parse(mpd.as_bytes(), &url(), SystemTime::now()).unwrap();
        match &p.periods[0].tracks[0].representations[0].segments {
            SegmentIndex::Unavailable(why) => why.clone(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn numbers_times_and_widths_past_what_fits_are_refused_in_one_line() {
        let template = |attributes: &str, timeline: &str| {
            format!(
                r#"<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static" mediaPresentationDuration="PT10S" minimumUpdatePeriod="P3650D">
  <Period><AdaptationSet mimeType="video/mp4">
    <SegmentTemplate {attributes}>{timeline}</SegmentTemplate>
    <Representation id="v" bandwidth="1000"/>
  </AdaptationSet></Period></MPD>"#
            )
        };
        let why = unavailable(&template(
            r#"timescale="1" media="$Time$.m4s""#,
            r#"<SegmentTimeline><S t="18446744073709551615" d="2" r="1"/></SegmentTimeline>"#,
        ));
        assert!(
            why.contains("SegmentTimeline runs past the largest time"),
            "{why}"
        );
        let why = unavailable(&template(
            r#"timescale="1" media="$Number$.m4s""#,
            r#"<SegmentTimeline><S n="18446744073709551615" d="2" r="2"/></SegmentTimeline>"#,
        ));
        assert!(why.contains("numbers segments past"), "{why}");
        let why = unavailable(&template(
            r#"duration="4" startNumber="18446744073709551615" media="$Number$.m4s""#,
            "",
        ));
        assert!(why.contains("past the largest $Time$ or $Number$"), "{why}");
        let why = unavailable(&template(
            r#"duration="4" presentationTimeOffset="18446744073709551615" media="$Time$.m4s""#,
            "",
        ));
        assert!(why.contains("past the largest $Time$ or $Number$"), "{why}");
        let why = unavailable(&template(
            r#"duration="4" media="$Number%0999999999d$.m4s""#,
            "",
        ));
        assert!(
            why.contains("a SegmentTemplate's 3 segment URLs could take 3000000009 bytes"),
            "{why}"
        );
        let id = "x".repeat(200_000);
        let why = unavailable(
            &template(r#"duration="4" media="$RepresentationID$.m4s""#, "")
                .replace("PT10S", "PT4000S")
                .replace(r#"id="v""#, &format!(r#"id="{id}""#)),
        );
        assert!(
            why.contains("1000 segment URLs could take 200004000 bytes"),
            "{why}"
        );
        // An MPD that will not change for ten years is reloaded at the latest after six hours.
        let p = parse(
            template(r#"duration="4" media="$Number%064d$.m4s""#, "").as_bytes(),
            &url(),
            SystemTime::now(),
        )
        .unwrap();
        assert_eq!(p.reload_interval_s, Some(21600.0));
        let segs = p.periods[0].tracks[0].representations[0].segment_list();
        assert_eq!(segs[0].resource.uri.len(), 64 + ".m4s".len());
        // Durations dash-mpd-core would overflow on are refused; long fractions are not.
        let e = parse(
            template(r#"duration="4" media="$Number$.m4s""#, "")
                .replace("PT10S", "P99999999999999999Y")
                .as_bytes(),
            &url(),
            SystemTime::now(),
        )
        .unwrap_err()
        .to_string();
        assert_eq!(
            e,
            "MPD@mediaPresentationDuration is a duration too long to hold (a field over 11 digits)"
        );
        let p = parse(
            template(r#"duration="4" media="$Number$.m4s""#, "")
                .replace("PT10S", "PT10.000000000000000001S")
                .as_bytes(),
            &url(),
            SystemTime::now(),
        )
        .unwrap();
        assert_eq!(p.duration_s, Some(10.0));
        // A byte range ending at the last u64 is no length at all.
        assert_eq!(ByteRange::parse_dash("0-18446744073709551615"), None);
        assert_eq!(
            ByteRange::parse_dash("1-18446744073709551615").map(|r| r.length),
            Some(u64::MAX)
        );
    }

    #[test]
    fn broken_mpds_are_clear_errors() {
        let e = parse(b"<MPD><Period>", &url(), SystemTime::now())
            .unwrap_err()
            .to_string();
        assert!(e.contains("not a valid DASH MPD"), "{e}");
        // An end tag closing another element: refused before dash-mpd-core, whose XML
        // deserializer trips an assertion on it.
        let crossed = r#"<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static"><Period>
            <AdaptationSet><SegmentTimeline><S d="1"/></SegmentTemplate></AdaptationSet>
            </Period></MPD>"#;
        let e = parse(crossed.as_bytes(), &url(), SystemTime::now())
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("not a valid DASH MPD: "), "{e}");
        assert!(e.contains("SegmentTemplate"), "{e}");
        let unclosed = r#"<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static"><Period>"#;
        let e = parse(unclosed.as_bytes(), &url(), SystemTime::now())
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "not a valid DASH MPD: it ends with 2 element(s) not closed"
        );
        let no_duration = r#"<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static"><Period><AdaptationSet mimeType="video/mp4">
            <SegmentTemplate media="$Number$.m4s"/><Representation id="v" bandwidth="1"/></AdaptationSet></Period></MPD>"#;
        let p = parse(no_duration.as_bytes(), &url(), SystemTime::now()).unwrap();
        match &p.periods[0].tracks[0].representations[0].segments {
            SegmentIndex::Unavailable(e) => assert!(e.contains("representation \"v\""), "{e}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn drm_protected_sets_fail_naming_the_systems() {
        let mpd = r#"<?xml version="1.0"?>
<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static" mediaPresentationDuration="PT8S" minBufferTime="PT2S">
  <Period><AdaptationSet contentType="video" mimeType="video/mp4">
    <ContentProtection schemeIdUri="urn:mpeg:dash:mp4protection:2011" value="cenc"/>
    <ContentProtection schemeIdUri="urn:uuid:EDEF8BA9-79D6-4ACE-A3C8-27DCD51D21ED"/>
    <ContentProtection schemeIdUri="urn:uuid:9a04f079-9840-4286-ab92-e65be0885f95"/>
    <SegmentTemplate media="v_$Number$.m4s" initialization="v_init.mp4" duration="4" startNumber="1"/>
    <Representation id="v" bandwidth="500000" width="640" height="360" codecs="avc1.64001e"/>
  </AdaptationSet></Period></MPD>"#;
        let e = parse(mpd.as_bytes(), &url(), SystemTime::now())
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("ContentProtection: common encryption cenc, Widevine, PlayReady"),
            "{e}"
        );
    }

    #[test]
    fn periods_follow_one_another_and_remote_elements_are_refused_in_one_line() {
        let mpd = |period2: &str| {
            format!(
                r#"<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" xmlns:xlink="http://www.w3.org/1999/xlink" type="static" mediaPresentationDuration="PT20S">
  <Period id="a" duration="PT8S"><AdaptationSet mimeType="video/mp4">
    <SegmentTemplate media="a$Number$.m4s" duration="4" startNumber="1"/><Representation id="v" bandwidth="1"/>
  </AdaptationSet></Period>
  {period2}
  <Period id="c"><AdaptationSet mimeType="video/mp4">
    <SegmentTemplate media="c$Number$.m4s" duration="4" startNumber="1"/><Representation id="v" bandwidth="1"/>
  </AdaptationSet></Period></MPD>"#
            )
        };
        let p = parse(mpd("").as_bytes(), &url(), SystemTime::now()).unwrap();
        let spans: Vec<(f64, Option<f64>)> = p
            .periods
            .iter()
            .map(|p| (p.start_s, p.duration_s))
            .collect();
        assert_eq!(spans, [(0.0, Some(8.0)), (8.0, Some(12.0))]);
        let second = &p.periods[1].tracks[0].representations[0];
        let segments = second.segment_list();
        assert_eq!(
            (segments[0].start_s, segments[0].media_offset_s),
            (8.0, 8.0)
        );
        assert_eq!(segments.len(), 3);

        let zero =
            r#"<Period xlink:href="urn:mpeg:dash:resolve-to-zero:2013" xlink:actuate="onLoad"/>"#;
        let p = parse(mpd(zero).as_bytes(), &url(), SystemTime::now()).unwrap();
        assert_eq!(
            p.periods.len(),
            2,
            "a period resolving to nothing is left out"
        );

        for remote in [
            r#"<Period xlink:href="https://ads.example/break.xml" xlink:actuate="onLoad"/>"#,
            r#"<Period id="b" duration="PT4S"><AdaptationSet xlink:href="remote.xml"/></Period>"#,
        ] {
            let e = parse(mpd(remote).as_bytes(), &url(), SystemTime::now()).unwrap_err();
            assert!(matches!(e, ManifestError::Unsupported(_)), "{e}");
            assert!(
                e.to_string().starts_with("DASH xlink is not supported"),
                "{e}"
            );
        }
    }
}
