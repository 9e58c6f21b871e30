//! Titles for replay from what is on disk: a title JSON (ABR-BENCH.md), or a manifest as
//! `reel-stub encode` writes them — an HLS multivariant playlist or a DASH MPD — whose video
//! renditions become the ladder and whose byte ranges (or segment files, or `sidx` boxes) give
//! every segment's size.

use std::path::Path;

use abr::title::Title;
use anyhow::{Context as _, bail};

/// Loads a title: `.m3u8` and `.mpd` as manifests, anything else as title JSON.
pub fn load_title(path: &Path) -> anyhow::Result<Title> {
    let title = match path.extension().and_then(|e| e.to_str()) {
        Some("m3u8") => title_from_hls(path)?,
        Some("mpd") => title_from_dash(path)?,
        _ => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            Title::from_json(&text).with_context(|| path.display().to_string())?
        }
    };
    title.check().with_context(|| path.display().to_string())?;
    Ok(title)
}

/// One video rendition read from a manifest.
struct Rendition {
    bitrate_kbps: f64,
    sizes_bits: Vec<f64>,
    durations_s: Vec<f64>,
}

/// Lines the renditions up into a title: lowest bitrate first, as many segments as the
/// shortest rendition has, the median segment duration. Each rung's bitrate is its measured
/// mean (segment bits over media time), as `reel-stub encode`'s `abr-title.json` has it: the
/// declared `BANDWIDTH` is a peak (and in HLS includes the audio), which would skew QoE_lin.
fn title_of(mut renditions: Vec<Rendition>, what: &Path) -> anyhow::Result<Title> {
    if renditions.is_empty() {
        bail!("{} has no video rendition", what.display());
    }
    for r in &mut renditions {
        let media_s: f64 = r.durations_s.iter().sum();
        if media_s > 0.0 && !r.sizes_bits.is_empty() {
            r.bitrate_kbps = r.sizes_bits.iter().sum::<f64>() / media_s / 1000.0;
        }
    }
    renditions.sort_by(|a, b| a.bitrate_kbps.total_cmp(&b.bitrate_kbps));
    let count = renditions
        .iter()
        .map(|r| r.sizes_bits.len())
        .min()
        .unwrap_or(0);
    let mut durations: Vec<f64> = renditions
        .iter()
        .flat_map(|r| r.durations_s.iter().copied())
        .collect();
    durations.sort_by(f64::total_cmp);
    let segment_duration_ms = durations.get(durations.len() / 2).copied().unwrap_or(4.0) * 1000.0;
    Ok(Title {
        segment_duration_ms,
        bitrates_kbps: renditions.iter().map(|r| r.bitrate_kbps).collect(),
        segment_sizes_bits: (0..count)
            .map(|i| renditions.iter().map(|r| r.sizes_bits[i]).collect())
            .collect(),
    })
}

fn file_bits(path: &Path) -> anyhow::Result<f64> {
    Ok(std::fs::metadata(path)
        .with_context(|| format!("segment {}", path.display()))?
        .len() as f64
        * 8.0)
}

/// An HLS multivariant playlist: one rendition per variant, sizes from `EXT-X-BYTERANGE` or from
/// the segment files.
fn title_from_hls(path: &Path) -> anyhow::Result<Title> {
    use m3u8_rs::Playlist;
    let dir = path.parent().unwrap_or(Path::new("."));
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let Ok(Playlist::MasterPlaylist(master)) = m3u8_rs::parse_playlist_res(&bytes) else {
        bail!("{} is not an HLS multivariant playlist", path.display());
    };
    let mut variants: Vec<_> = master.variants.iter().filter(|v| !v.is_i_frame).collect();
    variants.sort_by_key(|v| v.average_bandwidth.unwrap_or(v.bandwidth));
    variants.dedup_by_key(|v| v.uri.clone());
    let mut renditions = Vec::new();
    for v in variants {
        let media_path = dir.join(&v.uri);
        let bytes = std::fs::read(&media_path)
            .with_context(|| format!("reading {}", media_path.display()))?;
        let Ok(Playlist::MediaPlaylist(media)) = m3u8_rs::parse_playlist_res(&bytes) else {
            bail!("{} is not an HLS media playlist", media_path.display());
        };
        let base = media_path.parent().unwrap_or(Path::new("."));
        let mut sizes_bits = Vec::new();
        let mut durations_s = Vec::new();
        for s in &media.segments {
            sizes_bits.push(match &s.byte_range {
                Some(r) => r.length as f64 * 8.0,
                None => file_bits(&base.join(&s.uri))?,
            });
            durations_s.push(f64::from(s.duration));
        }
        renditions.push(Rendition {
            bitrate_kbps: v.average_bandwidth.unwrap_or(v.bandwidth) as f64 / 1000.0,
            sizes_bits,
            durations_s,
        });
    }
    title_of(renditions, path)
}

/// `first-last` of a DASH byte range, as a length in bytes.
fn range_len(range: &str) -> Option<u64> {
    let (a, b) = range.split_once('-')?;
    let (a, b): (u64, u64) = (a.trim().parse().ok()?, b.trim().parse().ok()?);
    (b >= a).then(|| b - a + 1)
}

/// Segment (start, duration) in timescale units from a `SegmentTimeline`.
fn timeline(t: &dash_mpd_core::SegmentTimeline) -> Vec<(u64, u64)> {
    let mut out = Vec::new();
    let mut at = 0u64;
    for s in &t.segments {
        if let Some(start) = s.t {
            at = start;
        }
        // A negative repeat ("until the next S") only occurs in live MPDs; one segment here.
        let repeat = u64::try_from(s.r.unwrap_or(0)).unwrap_or(0);
        for _ in 0..=repeat {
            out.push((at, s.d));
            at += s.d;
        }
    }
    out
}

/// A DASH MPD (the first period): one rendition per video `Representation`, sizes from
/// `SegmentList@mediaRange`, from the segment files (`SegmentList` or `SegmentTemplate` with
/// `$Number$`/`$Time$`), or from the `sidx` box of a `SegmentBase`.
fn title_from_dash(path: &Path) -> anyhow::Result<Title> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let mpd = dash_mpd_core::parse(&text)
        .map_err(|e| anyhow::anyhow!("{} is not a DASH MPD: {e}", path.display()))?;
    let period = mpd
        .periods
        .first()
        .with_context(|| format!("{} has no Period", path.display()))?;
    let duration_s = mpd.mediaPresentationDuration.map(|d| d.as_secs_f64());
    let mut renditions = Vec::new();
    for a in &period.adaptations {
        let kind = a
            .contentType
            .clone()
            .or_else(|| a.mimeType.clone())
            .or_else(|| a.representations.first().and_then(|r| r.mimeType.clone()))
            .unwrap_or_default();
        if !kind.starts_with("video") {
            continue;
        }
        for r in &a.representations {
            let id = r.id.clone().unwrap_or_default();
            let base = dir.join(
                r.BaseURL
                    .first()
                    .or(a.BaseURL.first())
                    .map_or("", |b| b.base.trim()),
            );
            let (sizes_bits, durations_s) = dash_sizes(a, r, &base, dir, &id, duration_s)
                .with_context(|| format!("{}: representation {id:?}", path.display()))?;
            renditions.push(Rendition {
                bitrate_kbps: r.bandwidth.unwrap_or(0) as f64 / 1000.0,
                sizes_bits,
                durations_s,
            });
        }
    }
    title_of(renditions, path)
}

fn dash_sizes(
    a: &dash_mpd_core::AdaptationSet,
    r: &dash_mpd_core::Representation,
    base: &Path,
    dir: &Path,
    id: &str,
    duration_s: Option<f64>,
) -> anyhow::Result<(Vec<f64>, Vec<f64>)> {
    if let Some(l) = r.SegmentList.as_ref().or(a.SegmentList.as_ref()) {
        let ts = l.timescale.unwrap_or(1).max(1) as f64;
        let times: Vec<(u64, u64)> = match (&l.SegmentTimeline, l.duration) {
            (Some(t), _) => timeline(t),
            (None, Some(d)) => (0..l.segment_urls.len() as u64)
                .map(|i| (i * d, d))
                .collect(),
            (None, None) => bail!("SegmentList has neither @duration nor a SegmentTimeline"),
        };
        let mut sizes = Vec::new();
        for u in &l.segment_urls {
            sizes.push(match (&u.mediaRange, &u.media) {
                (Some(range), _) => {
                    range_len(range).with_context(|| format!("bad mediaRange {range:?}"))? as f64
                        * 8.0
                }
                (None, Some(media)) => file_bits(&dir.join(media))?,
                (None, None) => file_bits(base)?,
            });
        }
        let durations = times.iter().map(|(_, d)| *d as f64 / ts).collect();
        return Ok((sizes, durations));
    }
    if let Some(t) = r.SegmentTemplate.as_ref().or(a.SegmentTemplate.as_ref()) {
        let media = t
            .media
            .as_deref()
            .context("SegmentTemplate without @media")?;
        let ts = t.timescale.unwrap_or(1).max(1) as f64;
        let start_number = t.startNumber.unwrap_or(1);
        let times: Vec<(u64, u64)> = match (&t.SegmentTimeline, t.duration) {
            (Some(tl), _) => timeline(tl),
            (None, Some(d)) if d > 0.0 => {
                let total = duration_s.context("SegmentTemplate@duration without a duration")?;
                let n = (total * ts / d).ceil() as u64;
                (0..n).map(|i| ((i as f64 * d) as u64, d as u64)).collect()
            }
            _ => bail!("SegmentTemplate has neither @duration nor a SegmentTimeline"),
        };
        let mut sizes = Vec::new();
        for (i, (time, _)) in times.iter().enumerate() {
            let name = media
                .replace("$RepresentationID$", id)
                .replace("$Number$", &(start_number + i as u64).to_string())
                .replace("$Time$", &time.to_string());
            sizes.push(file_bits(&dir.join(name))?);
        }
        let durations = times.iter().map(|(_, d)| *d as f64 / ts).collect();
        return Ok((sizes, durations));
    }
    if let Some(b) = r.SegmentBase.as_ref().or(a.SegmentBase.as_ref())
        && let Some(index) = b.indexRange.as_deref()
    {
        use mp4_atom::{Decode, Sidx};
        let (first, len) = index
            .split_once('-')
            .and_then(|(f, _)| Some((f.trim().parse::<u64>().ok()?, range_len(index)?)))
            .with_context(|| format!("bad indexRange {index:?}"))?;
        let bytes = std::fs::read(base).with_context(|| format!("reading {}", base.display()))?;
        let end = usize::try_from(first + len).unwrap_or(usize::MAX);
        let mut body = bytes
            .get(first as usize..end)
            .with_context(|| format!("indexRange {index:?} is past the end of the file"))?;
        let sidx = Sidx::decode(&mut body).map_err(|e| anyhow::anyhow!("bad sidx: {e}"))?;
        let ts = f64::from(sidx.timescale.max(1));
        return Ok(sidx
            .references
            .iter()
            .map(|r| {
                (
                    f64::from(r.referenced_size) * 8.0,
                    f64::from(r.subsegment_duration) / ts,
                )
            })
            .unzip());
    }
    bail!("no SegmentList, SegmentTemplate or SegmentBase@indexRange")
}
