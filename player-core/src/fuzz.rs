//! The bodies of the fuzz targets in `player-core/fuzz/`: each takes arbitrary bytes, runs one
//! parser the player points at the network (manifests, segments, segment indexes, steering
//! answers, subtitles), and checks what that parser promises.
//!
//! A panic, or a promise broken (a cap exceeded, a duration that is not a number, an error that
//! is empty or runs over one line), is a finding. They are plain functions so a stable test
//! (`tests/fuzz_inputs.rs`) replays every seed and every kept crash input without nightly or
//! cargo-fuzz.

use std::time::{Duration, SystemTime};

use url::Url;

use crate::manifest::{ManifestLimits, dash, hls, sidx, webm_cues};
use crate::presentation::{
    ByteRange, ManifestFormat, Presentation, Resource, Segment, SegmentIndex, SteeringTag,
};
use crate::session::{Cue, parse_ttml, parse_webvtt, validate_media};
use crate::steering::{SteeringClient, SteeringOutcome, apply_clone};

/// A fuzz target: its name (the cargo-fuzz binary and its inputs' folder) and its body.
pub type Target = (&'static str, fn(&[u8]));

/// Every target, by name.
pub const TARGETS: [Target; 6] = [
    ("hls_playlist", hls_playlist),
    ("dash_mpd", dash_mpd),
    ("media_segment", media_segment),
    ("segment_index", segment_index),
    ("steering_manifest", steering_manifest),
    ("subtitles", subtitles),
];

/// The caps each body runs under: the defaults, and caps small enough for libFuzzer's few
/// kilobytes of input to cross, so the checks behind them are exercised too.
fn limit_sets() -> [ManifestLimits; 2] {
    [
        ManifestLimits::default(),
        ManifestLimits {
            max_segments: 64,
            max_variants: 8,
            max_bandwidth_bps: 100_000_000,
            ..ManifestLimits::default()
        },
    ]
}

/// An HLS playlist read both ways the player reads one: as the manifest it opened
/// (multivariant or media) and as a variant's media playlist.
pub fn hls_playlist(data: &[u8]) {
    let url = Url::parse("http://fuzz.test/title/master.m3u8").expect("a valid URL");
    for limits in limit_sets() {
        match hls::parse(data, &url, &limits) {
            Ok(p) => check_presentation(&p, &limits),
            Err(e) => check_error(&e.to_string()),
        }
        match hls::parse_media(data, &limits) {
            Ok((segments, _live, target_duration_s)) => {
                check_duration("target duration", target_duration_s, &limits);
                check_segments(&segments, None, &limits);
            }
            Err(e) => check_error(&e.to_string()),
        }
    }
}

/// A DASH MPD, placed on a fixed wall clock so a live one expands the same way every run.
pub fn dash_mpd(data: &[u8]) {
    let url = Url::parse("http://fuzz.test/title/manifest.mpd").expect("a valid URL");
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    for limits in limit_sets() {
        match dash::parse(data, &url, now, &limits) {
            Ok(p) => check_presentation(&p, &limits),
            Err(e) => check_error(&e.to_string()),
        }
    }
}

/// A downloaded segment as the player checks it before it reaches the decoder (fMP4, MPEG-TS,
/// WebM, packed audio).
pub fn media_segment(data: &[u8]) {
    if let Err(e) = validate_media(data) {
        check_error(&e);
    }
}

/// A DASH `SegmentBase` index as fetched: a `sidx` box, or an init segment followed by WebM
/// `Cues` (the input is cut where the last `Cues` ID begins, as a whole file ends with its
/// `Cues`; with none, it is read as an init segment).
pub fn segment_index(data: &[u8]) {
    let limits = ManifestLimits::default();
    let index = ByteRange {
        offset: 1000,
        length: data.len() as u64,
    };
    let init = Some(Resource {
        uri: "init.mp4".into(),
        range: Some(ByteRange {
            offset: 0,
            length: 1000,
        }),
    });
    let result = if sidx::is_sidx(data) {
        sidx::segments(data, &index, "media.mp4", init, 0.5)
    } else {
        let cut = data
            .windows(4)
            .rposition(webm_cues::is_cues)
            .unwrap_or(data.len());
        let (head, cues) = data.split_at(cut);
        webm_cues::read_head(head)
            .and_then(|head| webm_cues::segments(&head, cues, &index, "media.webm", init, 0.0))
    };
    match result.map(|segments| (limits.check_index(&segments), segments)) {
        Ok((Ok(()), segments)) => check_segments(&segments, None, &limits),
        Ok((Err(e), _)) => check_error(&e.to_string()),
        Err(e) => check_error(&e),
    }
}

/// A content steering answer (HLS `PATHWAY-PRIORITY` or DASH-IF `SERVICE-LOCATION-PRIORITY`
/// JSON) taken by a client of either flavour, fetched or inline (`data:` URI), its clones
/// applied to a presentation and the next request built.
pub fn steering_manifest(data: &[u8]) {
    let presentation = {
        let url = Url::parse("http://oca-a.test/title/master.m3u8").expect("a valid URL");
        let body = b"#EXTM3U\n#EXT-X-CONTENT-STEERING:SERVER-URI=\"/steer\",PATHWAY-ID=\"a\"\n\
#EXT-X-STREAM-INF:BANDWIDTH=500000,PATHWAY-ID=\"a\"\nv.m3u8\n\
#EXT-X-STREAM-INF:BANDWIDTH=500000,PATHWAY-ID=\"b\"\nhttp://oca-b.test/title/v.m3u8?k=v\n";
        hls::parse(body, &url, &ManifestLimits::default()).expect("the fixed playlist parses")
    };
    let served = Url::parse("http://steer.test/v1/steer?session=1").expect("a valid URL");
    let inline = Url::parse(&format!(
        "data:application/json;base64,{}",
        String::from_utf8_lossy(data)
    ))
    .ok();
    for format in [ManifestFormat::Hls, ManifestFormat::Dash] {
        for server_uri in [Some(served.clone()), inline.clone()] {
            let tag = SteeringTag {
                server_uri,
                default_pathway: Some("a".into()),
                query_before_start: true,
            };
            let mut client = SteeringClient::new(&tag, format, &presentation.pathways);
            client.started(0.0);
            let answer = match client.take_inline(0.0) {
                Some(answer) => answer,
                None => client.on_response(
                    0.0,
                    SteeringOutcome::Body {
                        url: served.clone(),
                        body: data.to_vec(),
                    },
                ),
            };
            match answer {
                Ok(update) => {
                    assert!(!update.priority.is_empty(), "an empty priority accepted");
                    assert!(
                        update.ttl_s.is_finite() && update.ttl_s > 0.0,
                        "TTL {}",
                        update.ttl_s
                    );
                    let mut p = presentation.clone();
                    for clone in &update.clones {
                        apply_clone(&mut p, clone);
                    }
                }
                Err(e) => check_error(&e.to_string()),
            }
            if let Some(due) = client.next_due_s() {
                assert!(due.is_finite(), "next reload at {due}");
                let _ = client.request(due, "a", Some(1e6));
            }
        }
    }
}

/// A subtitle document: WebVTT (with its `X-TIMESTAMP-MAP`, read twice as a track's second
/// segment is) and TTML.
pub fn subtitles(data: &[u8]) {
    // The document first, then again as a later segment, and after a track whose first map
    // was at the other end of the 33-bit clock.
    let mut origin = None;
    for origin in [
        &mut origin,
        &mut None,
        &mut Some((1, 0.0)),
        &mut Some((u64::MAX, 1e9)),
    ] {
        match parse_webvtt(data, origin) {
            Ok(cues) => check_cues(&cues),
            Err(e) => check_error(&e),
        }
    }
    match parse_ttml(data) {
        Ok(cues) => check_cues(&cues),
        Err(e) => check_error(&e),
    }
}

/// Cues start at a time; a TTML cue with no end anywhere up its tree lasts for ever (+inf).
fn check_cues(cues: &[Cue]) {
    for cue in cues {
        assert!(
            cue.start_s.is_finite() && !cue.end_s.is_nan() && cue.end_s != f64::NEG_INFINITY,
            "a cue from {} to {}",
            cue.start_s,
            cue.end_s
        );
    }
}

/// What a parsed presentation promises the session: every cap of [`ManifestLimits`] holds,
/// every time is a number, every track has something to play, segments run forward.
fn check_presentation(p: &Presentation, limits: &ManifestLimits) {
    if let Some(d) = p.duration_s {
        assert!(d.is_finite() && d >= 0.0, "presentation duration {d}");
    }
    if let Some(r) = p.reload_interval_s {
        check_duration("reload interval", r, limits);
    }
    for period in &p.periods {
        assert!(
            period.start_s.is_finite(),
            "period start {}",
            period.start_s
        );
        if let Some(d) = period.duration_s {
            assert!(d.is_finite() && d >= 0.0, "period duration {d}");
        }
        // HLS counts variants (its audio and subtitle renditions are tracks of their own);
        // DASH counts every representation of the period.
        let counted: usize = match p.format {
            ManifestFormat::Dash => period.tracks.iter().map(|t| t.representations.len()).sum(),
            ManifestFormat::Hls => period
                .tracks
                .iter()
                .map(|t| t.representations.len())
                .max()
                .unwrap_or(0),
        };
        assert!(
            counted <= limits.max_variants,
            "{counted} variants in a period"
        );
        // An HLS period is the video track and one track per rendition, held to the cap too.
        assert!(
            p.format == ManifestFormat::Dash || period.tracks.len() <= limits.max_variants + 1,
            "{} tracks in a period",
            period.tracks.len()
        );
        for track in &period.tracks {
            assert!(
                !track.representations.is_empty(),
                "track {} has no representation",
                track.id
            );
            for r in &track.representations {
                assert!(
                    r.bandwidth <= limits.max_bandwidth_bps
                        && r.nominal_bitrate() <= limits.max_bandwidth_bps,
                    "bandwidth {} (nominal {})",
                    r.bandwidth,
                    r.nominal_bitrate()
                );
                if let SegmentIndex::Unavailable(why) = &r.segments {
                    check_error(why);
                }
                check_segments(r.segment_list(), period.duration_s, limits);
            }
        }
    }
}

/// Segments of one representation: within the caps, timed by numbers, in order.
/// `whole_file_s` is the period's duration: a representation that is one whole file (a DASH
/// `BaseURL` alone) lasts that long, however long, and only cut segments are held to the cap.
fn check_segments(segments: &[Segment], whole_file_s: Option<f64>, limits: &ManifestLimits) {
    assert!(
        segments.len() <= limits.max_segments,
        "{} segments",
        segments.len()
    );
    let whole_file = segments.len() == 1 && whole_file_s == Some(segments[0].duration_s);
    for s in segments {
        assert!(s.start_s.is_finite(), "segment start {}", s.start_s);
        if whole_file {
            assert!(s.duration_s >= 0.0, "whole-file duration {}", s.duration_s);
        } else {
            check_duration("segment duration", s.duration_s, limits);
        }
    }
    for pair in segments.windows(2) {
        assert!(
            pair[1].number > pair[0].number,
            "segment {} after segment {}",
            pair[1].number,
            pair[0].number
        );
        assert!(
            pair[1].start_s >= pair[0].start_s,
            "a segment at {} s after one at {} s",
            pair[1].start_s,
            pair[0].start_s
        );
    }
}

fn check_duration(what: &str, seconds: f64, limits: &ManifestLimits) {
    assert!(
        seconds.is_finite() && (0.0..=limits.max_segment_duration_s).contains(&seconds),
        "{what} {seconds}"
    );
}

/// An error the viewer reads: something, on one line (no line or paragraph break of any kind).
fn check_error(message: &str) {
    assert!(!message.trim().is_empty(), "an empty error");
    assert!(
        !message.contains(['\n', '\r', '\u{85}', '\u{2028}', '\u{2029}']),
        "an error over several lines: {message:?}"
    );
}
