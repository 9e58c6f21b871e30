//! The default controller on crafted networks a viewer would notice: a deep fade met with a full
//! buffer, an outage longer than any buffer, a cliff down from the top rendition.

use abr::sim::{SimConfig, simulate};
use abr::title::Title;
use abr::trace::Trace;

/// The shared suites' title (`bbb.json`: ten renditions, 0.23–6 Mbit/s, 3 s segments), cut to
/// three minutes.
fn title() -> Title {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/traces/bbb.json");
    Title::from_json(&std::fs::read_to_string(path).unwrap())
        .unwrap()
        .truncated(60)
}

/// A trace of (seconds, Mbit/s) stretches at 40 ms latency.
fn trace(stretches: &[(f64, f64)]) -> Trace {
    let periods: Vec<String> = stretches
        .iter()
        .map(|(s, mbps)| {
            format!(
                r#"{{"duration_ms": {}, "bandwidth_kbps": {}, "latency_ms": 40}}"#,
                s * 1000.0,
                mbps * 1000.0
            )
        })
        .collect();
    Trace::from_json("crafted", &format!("[{}]", periods.join(","))).unwrap()
}

fn reel_on(trace: &Trace) -> abr::sim::Session {
    let mut abr = abr::default_algorithm();
    simulate(&title(), trace, abr.as_mut(), &SimConfig::default())
}

#[test]
fn a_deep_fade_met_with_a_full_buffer_does_not_stall() {
    // A minute at 10 Mbit/s (above the 6 Mbit/s top rendition), then 8 s at 5 % of it, then
    // back.
    let s = reel_on(&trace(&[(60.0, 10.0), (8.0, 0.5), (300.0, 10.0)]));
    let met = s.segments.iter().find(|r| r.end_ms > 60_000.0).unwrap();
    assert!(met.buffer_before_ms > 15_000.0, "{met:?}");
    assert_eq!(s.rebuffer_s, 0.0, "{:?}", s.segments);
    assert!(s.mean_bitrate_kbps > 5000.0, "{}", s.mean_bitrate_kbps);
}

#[test]
fn an_outage_longer_than_the_buffer_stalls_once_not_repeatedly() {
    // 45 s dead: no buffer covers it. After it, the controller must not stall again while the
    // network is back at 4 Mbit/s.
    let s = reel_on(&trace(&[(60.0, 4.0), (45.0, 0.0), (300.0, 4.0)]));
    let stalls: Vec<usize> = s
        .segments
        .iter()
        .skip(1)
        .filter(|r| r.rebuffer_ms > 0.0)
        .map(|r| r.index)
        .collect();
    assert_eq!(stalls.len(), 1, "stalled at segments {stalls:?}");
    assert!(s.rebuffer_s < 45.0, "{}", s.rebuffer_s);
}

#[test]
fn after_a_cliff_down_from_the_top_the_next_choice_fits_the_new_rate() {
    // 10 Mbit/s for a minute (the top rendition), then 1.5 Mbit/s for good.
    let s = reel_on(&trace(&[(60.0, 10.0), (600.0, 1.5)]));
    let t = title();
    // The first download wholly after the cliff measures the new rate; the choice it informs
    // is at or below 1.5 Mbit/s, not a step down the ladder from a forecast made before the
    // fall; and the session never stalls.
    let measured = s
        .segments
        .iter()
        .position(|r| r.start_ms >= 60_000.0)
        .unwrap();
    assert_eq!(s.segments[measured - 2].quality, t.bitrates_kbps.len() - 1);
    let after = &s.segments[measured + 1];
    assert!(
        after.bitrate_kbps <= 1500.0,
        "segment {} at {} kbit/s",
        after.index,
        after.bitrate_kbps
    );
    assert_eq!(s.rebuffer_s, 0.0);
}
