//! The QoE report of a session, computed from its events: startup delay, rebuffering, bitrate,
//! switches, and QoE_lin over the video segments ([`abr::qoe`], the model trace replay scores
//! with too), with the rebuffer weight the session announced in its `ManifestLoaded` event.

use serde::Serialize;

use crate::events::{PlayerEvent, TimedEvent};
use crate::presentation::MediaKind;

/// A session's quality of experience.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct QoeReport {
    /// Open to first frame, seconds.
    pub startup_s: Option<f64>,
    /// Stalls after start-up.
    pub rebuffer_count: u32,
    /// Seconds stalled after start-up.
    pub rebuffer_s: f64,
    /// Video segments played.
    pub segments: u32,
    /// Mean video bitrate over those segments, kbit/s.
    pub mean_bitrate_kbps: f64,
    /// Rendition changes between consecutive video segments.
    pub switches: u32,
    /// QoE_lin.
    pub qoe_lin: f64,
    /// Retried requests.
    pub retries: u32,
    /// Segments left out (gaps, missing segments); each hole is counted as a stall too.
    pub skipped: u32,
}

/// Computes the report from a session's events (the ladder bitrates come from the events).
pub fn report(events: &[TimedEvent]) -> QoeReport {
    let mut r = QoeReport::default();
    // Per scored segment: its rendition, bytes and duration.
    let mut segments: Vec<(usize, u64, f64)> = Vec::new();
    let mut scored = MediaKind::Video;
    let mut ladder: Vec<u64> = Vec::new();
    let mut weight = abr::qoe::DEFAULT_REBUFFER_WEIGHT;
    // The spans skipped, merged once all are known: video and audio skipping the same span is
    // one stall.
    let mut holes: Vec<(f64, f64)> = Vec::new();
    for e in events {
        match &e.event {
            PlayerEvent::ManifestLoaded {
                ladder: l,
                ladder_kind,
                rebuffer_weight,
                ..
            } => {
                scored = *ladder_kind;
                ladder = l.iter().map(|x| x.bitrate).collect();
                weight = *rebuffer_weight;
            }
            PlayerEvent::FirstFrame { startup_s } => r.startup_s = Some(*startup_s),
            PlayerEvent::StallEnd { stalled_s } => {
                r.rebuffer_count += 1;
                r.rebuffer_s += stalled_s;
            }
            PlayerEvent::SegmentFetched {
                kind,
                rendition,
                bytes,
                duration_s,
                ..
            } if *kind == scored => segments.push((*rendition, *bytes, *duration_s)),
            PlayerEvent::Retry { .. } => r.retries += 1,
            PlayerEvent::SegmentSkipped {
                start_s,
                duration_s,
                ..
            } => {
                r.skipped += 1;
                holes.push((*start_s, start_s + duration_s));
            }
            _ => {}
        }
    }
    holes.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut counted_to_s = f64::NEG_INFINITY;
    for (start_s, end_s) in holes {
        // Holes that touch are one freeze.
        if start_s > counted_to_s + 1e-3 {
            r.rebuffer_count += 1;
        }
        r.rebuffer_s += (end_s - start_s.max(counted_to_s)).max(0.0);
        counted_to_s = counted_to_s.max(end_s);
    }
    // A rendition the manifest gives no bitrate for (a media playlist given directly) is rated
    // by what its segments measured over the session: one figure per rendition, so that VBR
    // is not counted as switching.
    let measured = |rendition: usize| {
        let (bits, seconds) = segments
            .iter()
            .filter(|s| s.0 == rendition)
            .fold((0.0, 0.0), |(b, t), s| (b + s.1 as f64 * 8.0, t + s.2));
        if seconds > 0.0 { bits / seconds } else { 0.0 }
    };
    let bitrates: Vec<f64> = segments
        .iter()
        .map(|&(rendition, ..)| match ladder.get(rendition).copied() {
            Some(bps) if bps > 0 => bps as f64 / 1e6,
            _ => measured(rendition) / 1e6,
        })
        .collect();
    r.segments = bitrates.len() as u32;
    if !bitrates.is_empty() {
        r.mean_bitrate_kbps = bitrates.iter().sum::<f64>() / bitrates.len() as f64 * 1000.0;
    }
    r.switches = bitrates.windows(2).filter(|w| w[0] != w[1]).count() as u32;
    r.qoe_lin = abr::qoe::qoe_lin(&bitrates, r.rebuffer_s, weight);
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::RenditionInfo;

    fn at(t_s: f64, event: PlayerEvent) -> TimedEvent {
        TimedEvent { t_s, event }
    }

    fn rung(bitrate: u64) -> RenditionInfo {
        RenditionInfo {
            id: String::new(),
            bitrate,
            width: None,
            height: None,
            codecs: None,
        }
    }

    /// An HLS manifest with this ladder, of this kind, at the default rebuffer weight.
    fn loaded(ladder: Vec<RenditionInfo>, ladder_kind: MediaKind) -> PlayerEvent {
        PlayerEvent::ManifestLoaded {
            format: "hls".into(),
            duration_s: None,
            ladder,
            ladder_kind,
            audio_tracks: vec![],
            text_tracks: vec![],
            pathways: vec![],
            rebuffer_weight: 4.3,
        }
    }

    fn seg(rendition: usize) -> PlayerEvent {
        PlayerEvent::SegmentFetched {
            kind: MediaKind::Video,
            segment: 0,
            rendition,
            start_s: 0.0,
            duration_s: 4.0,
            bytes: 1,
            download_s: 0.1,
            ttfb_s: 0.01,
            pathway: None,
        }
    }

    #[test]
    fn qoe_lin_follows_the_linear_model() {
        let events = vec![
            at(
                0.0,
                loaded(vec![rung(1_000_000), rung(3_000_000)], MediaKind::Video),
            ),
            at(0.5, PlayerEvent::FirstFrame { startup_s: 0.5 }),
            at(1.0, seg(0)),
            at(2.0, seg(1)),
            at(3.0, seg(1)),
            at(4.0, PlayerEvent::StallEnd { stalled_s: 1.0 }),
        ];
        let r = report(&events);
        assert_eq!(r.segments, 3);
        assert_eq!(r.switches, 1);
        assert_eq!(r.rebuffer_count, 1);
        assert_eq!(r.startup_s, Some(0.5));
        // 1 + 3 + 3 − 4.3 × 1 − 2
        assert!(
            (r.qoe_lin - (7.0 - 4.3 - 2.0)).abs() < 1e-9,
            "{}",
            r.qoe_lin
        );
        assert!((r.mean_bitrate_kbps - 7000.0 / 3.0).abs() < 1e-6);
        // The weight is the one the session announced.
        let mut heavy = events.clone();
        if let PlayerEvent::ManifestLoaded {
            rebuffer_weight, ..
        } = &mut heavy[0].event
        {
            *rebuffer_weight = 35.0;
        }
        let r = report(&heavy);
        assert!(
            (r.qoe_lin - (7.0 - 35.0 - 2.0)).abs() < 1e-9,
            "{}",
            r.qoe_lin
        );
    }

    #[test]
    fn a_rendition_without_a_stated_bitrate_is_rated_by_what_its_segments_measured() {
        // A media playlist given directly: one rung, no bitrate; two VBR segments.
        let sized = |bytes| PlayerEvent::SegmentFetched {
            kind: MediaKind::Audio,
            segment: 0,
            rendition: 0,
            start_s: 0.0,
            duration_s: 4.0,
            bytes,
            download_s: 0.1,
            ttfb_s: 0.01,
            pathway: None,
        };
        let events = vec![
            at(0.0, loaded(vec![rung(0)], MediaKind::Audio)),
            at(1.0, sized(100_000)),
            at(2.0, sized(140_000)),
        ];
        let r = report(&events);
        // (100 + 140) kB × 8 over 8 s, one figure for the rendition: no switch.
        assert!((r.mean_bitrate_kbps - 240.0).abs() < 1e-9, "{r:?}");
        assert_eq!(r.switches, 0);
    }

    #[test]
    fn skipped_spans_count_as_stalls_once_whichever_stream_skipped_them() {
        let skipped = |kind, start_s, duration_s| PlayerEvent::SegmentSkipped {
            kind,
            segment: 0,
            start_s,
            duration_s,
            reason: "missing (HTTP 404)".into(),
        };
        let events = vec![
            at(0.0, loaded(vec![rung(1_000_000)], MediaKind::Video)),
            // Video runs ahead: its later hole is reported before audio's earlier one.
            at(1.0, skipped(MediaKind::Video, 8.0, 4.0)),
            at(1.5, skipped(MediaKind::Video, 20.0, 4.0)),
            at(2.0, skipped(MediaKind::Audio, 8.0, 4.0)),
            at(2.5, skipped(MediaKind::Audio, 10.0, 4.0)),
            at(3.0, skipped(MediaKind::Video, 24.0, 4.0)),
        ];
        let r = report(&events);
        assert_eq!(r.skipped, 5);
        // 8–14 s (video 8–12 with audio 8–12 and 10–14) and 20–28 s (two holes that touch).
        assert_eq!(r.rebuffer_count, 2);
        assert!((r.rebuffer_s - 14.0).abs() < 1e-9, "{r:?}");
    }
}
