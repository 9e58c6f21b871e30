//! Startup benchmark: open → first decoded video frame, Reel's engine against GStreamer's own
//! `playbin`, on the same HLS URL served by `reel-stub` on loopback, alternating runs in one
//! process. Prints each side's median and the ratio of medians (lower is better for Reel).
//!
//! `cargo bench -p player-core --bench startup [-- RUNS]`

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use gst::prelude::*;
use player_core::events::PlayerEvent;
use player_core::sink::{GstSink, GstSinkConfig};
use player_core::{Command, Player, PlayerConfig, Url};
use reel_stub::encode::{self, EncodeOptions, Ladder, LadderChoice, Source};
use reel_stub::oca::{Oca, OcaConfig};

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

async fn reel_first_frame(url: &Url) -> f64 {
    let sink = GstSink::new(GstSinkConfig::default()).expect("GStreamer starts");
    let player = Player::open(url.clone(), Box::new(sink), PlayerConfig::default());
    let mut events = player.events();
    let t = loop {
        match tokio::time::timeout(Duration::from_secs(30), events.recv()).await {
            Ok(Ok(e)) => {
                if let PlayerEvent::FirstFrame { startup_s } = e.event {
                    // Measured by the sink from open; the event itself may come a tick later.
                    break startup_s;
                }
            }
            other => panic!("no first frame from Reel: {other:?}"),
        }
    };
    player.command(Command::Stop);
    let _ = player.finished().await;
    t
}

fn playbin_first_frame(url: &Url) -> f64 {
    let seen = Arc::new(AtomicBool::new(false));
    let sink = gst::ElementFactory::make("fakesink")
        .property("sync", true)
        .build()
        .unwrap();
    let flag = seen.clone();
    sink.static_pad("sink")
        .unwrap()
        .add_probe(gst::PadProbeType::BUFFER, move |_, _| {
            flag.store(true, Ordering::Relaxed);
            gst::PadProbeReturn::Ok
        });
    let audio = gst::ElementFactory::make("fakesink")
        .property("sync", true)
        .build()
        .unwrap();
    let playbin = gst::ElementFactory::make("playbin")
        .property("uri", url.as_str())
        .property("video-sink", &sink)
        .property("audio-sink", &audio)
        .build()
        .unwrap();
    let started = Instant::now();
    playbin.set_state(gst::State::Playing).unwrap();
    while !seen.load(Ordering::Relaxed) {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "no first frame from playbin"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    let t = started.elapsed().as_secs_f64();
    playbin.set_state(gst::State::Null).unwrap();
    t
}

fn main() {
    let runs: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(9);
    gst::init().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut opts = EncodeOptions::new(Source::Synthetic { seconds: 12 }, dir.path(), "demo");
    opts.ladder = LadderChoice::Fixed(Ladder::from_cli("240:300,480:1200,720:3000", 128).unwrap());
    opts.preset = "ultrafast".into();
    encode::encode(&opts).expect("encode the benchmark title");

    let rt = tokio::runtime::Runtime::new().unwrap();
    let oca = rt
        .block_on(Oca::start(OcaConfig {
            id: "bench".into(),
            root: dir.path().to_path_buf(),
            listen: "127.0.0.1:0".parse().unwrap(),
            admin: None,
        }))
        .unwrap();
    let url = Url::parse(&format!("{}/demo/master.m3u8", oca.url())).unwrap();
    // Warm-up: plugin loading and first connections are not what is measured.
    rt.block_on(reel_first_frame(&url));
    playbin_first_frame(&url);

    let (mut reel, mut playbin) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        reel.push(rt.block_on(reel_first_frame(&url)));
        let u = url.clone();
        playbin.push(rt.block_on(async move {
            tokio::task::spawn_blocking(move || playbin_first_frame(&u))
                .await
                .unwrap()
        }));
    }
    let (r, p) = (median(reel.clone()), median(playbin.clone()));
    let ratios: Vec<f64> = reel.iter().zip(&playbin).map(|(a, b)| a / b).collect();
    println!("startup to first decoded frame, {runs} alternating runs, HLS over loopback");
    println!(
        "  reel     median {:7.1} ms  (min {:.1}, max {:.1})",
        r * 1e3,
        reel.iter().cloned().fold(f64::MAX, f64::min) * 1e3,
        reel.iter().cloned().fold(0.0, f64::max) * 1e3
    );
    println!(
        "  playbin  median {:7.1} ms  (min {:.1}, max {:.1})",
        p * 1e3,
        playbin.iter().cloned().fold(f64::MAX, f64::min) * 1e3,
        playbin.iter().cloned().fold(0.0, f64::max) * 1e3
    );
    println!(
        "  ratio reel/playbin: median of pairs {:.2}, ratio of medians {:.2}",
        median(ratios),
        r / p
    );
    rt.block_on(oca.shutdown());
}
