#![cfg(feature = "gstreamer")]
//! End to end on loopback: `reel-stub` encodes a title and serves it from caches behind the
//! playback API; the engine plays HLS and DASH sessions decoded by GStreamer, and degrades (lower
//! rendition, clear error) on broken media.

mod common;
use common::runtime;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use player_core::events::{PlayerEvent, TimedEvent};
use player_core::presentation::MediaKind;
use player_core::sink::{Chunk, GstSink, GstSinkConfig, NullSink, Sink, SinkError, VideoFrame};
use player_core::{
    Command, Player, PlayerConfig, PlayerHandle, PlayerState, SessionError, SessionOutcome, Url,
};
use reel_protocol::{FaultsUpdate, Format, LoginResponse, PlaybackResponse};
use reel_stub::encode::{self, EncodeOptions, Ladder, LadderChoice, Source};
use reel_stub::oca::{Oca, OcaConfig};
use reel_stub::title::TitleMeta;
use reel_stub::up::{Stack, UpConfig};

const SECONDS: u32 = 16;
const FPS: u32 = 30;

/// One encoded title shared by every test (encoding is the slow part).
fn media() -> &'static (tempfile::TempDir, TitleMeta) {
    static MEDIA: OnceLock<(tempfile::TempDir, TitleMeta)> = OnceLock::new();
    MEDIA.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let mut opts =
            EncodeOptions::new(Source::Synthetic { seconds: SECONDS }, dir.path(), "demo");
        opts.ladder =
            LadderChoice::Fixed(Ladder::from_cli("240:300,360:700,480:1500", 96).unwrap());
        opts.preset = "ultrafast".into();
        let title = encode::encode(&opts).unwrap();
        (dir, title)
    })
}

/// A private copy of the media tree, for tests that damage it.
fn media_copy() -> (tempfile::TempDir, PathBuf) {
    fn copy_tree(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for e in std::fs::read_dir(from).unwrap() {
            let e = e.unwrap();
            if e.file_type().unwrap().is_dir() {
                copy_tree(&e.path(), &to.join(e.file_name()));
            } else {
                std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
            }
        }
    }
    let (src, _) = media();
    let dir = tempfile::tempdir().unwrap();
    let to = dir.path().join("demo");
    copy_tree(&src.path().join("demo"), &to);
    (dir, to)
}

async fn serve(root: &Path) -> Oca {
    Oca::start(OcaConfig {
        id: "oca-test".into(),
        root: root.to_path_buf(),
        listen: "127.0.0.1:0".parse::<SocketAddr>().unwrap(),
        admin: Some("127.0.0.1:0".parse().unwrap()),
    })
    .await
    .unwrap()
}

async fn session(stack: &Stack, format: Format) -> PlaybackResponse {
    let client = reqwest::Client::new();
    let api = stack.backend.url();
    let login: LoginResponse = client
        .post(format!("{api}/v1/login"))
        .json(&serde_json::json!({"user": "demo", "password": "reel"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    client
        .post(format!("{api}/v1/playback"))
        .bearer_auth(login.token)
        .json(&serde_json::json!({"title": "demo", "format": format}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn start_stack() -> Stack {
    let mut config = UpConfig::new(media().0.path());
    config.port_base = 0;
    config.progress = false;
    Stack::start(&config).await.unwrap()
}

fn decoding_sink() -> Box<dyn Sink> {
    Box::new(GstSink::new(GstSinkConfig::default()).unwrap())
}

async fn play(url: &str, sink: Box<dyn Sink>) -> SessionOutcome {
    let player = Player::open(Url::parse(url).unwrap(), sink, PlayerConfig::default());
    tokio::time::timeout(Duration::from_secs(90), player.finished())
        .await
        .expect("the session ends by itself")
}

fn stalls_after_start(events: &[TimedEvent]) -> usize {
    events
        .iter()
        .filter(|e| matches!(e.event, PlayerEvent::StallStart { .. }))
        .count()
}

/// A segment fetched.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Fetched {
    segment: u64,
    rendition: usize,
    start_s: f64,
}

/// The segments of `kind` fetched, in order.
fn fetched_of(events: &[TimedEvent], kind: MediaKind) -> Vec<Fetched> {
    events
        .iter()
        .filter_map(|e| match e.event {
            PlayerEvent::SegmentFetched {
                kind: k,
                segment,
                rendition,
                start_s,
                ..
            } if k == kind => Some(Fetched {
                segment,
                rendition,
                start_s,
            }),
            _ => None,
        })
        .collect()
}

fn video_renditions(events: &[TimedEvent]) -> Vec<usize> {
    fetched_of(events, MediaKind::Video)
        .iter()
        .map(|f| f.rendition)
        .collect()
}

#[test]
fn hls_and_dash_sessions_play_the_whole_title_decoded() {
    runtime().block_on(async {
        let stack = start_stack().await;
        let hls = session(&stack, Format::Hls).await;
        let dash = session(&stack, Format::Dash).await;
        let (h, d) = tokio::join!(
            play(&hls.manifest_url, decoding_sink()),
            play(&dash.manifest_url, decoding_sink())
        );
        for (name, o) in [("hls", &h), ("dash", &d)] {
            assert_eq!(o.state, PlayerState::Ended, "{name}: {:?}", o.error());
            let expected = (SECONDS * FPS) as i64;
            let per_segment = (4 * FPS) as i64;
            assert!(
                (o.frames as i64 - expected).abs() <= per_segment,
                "{name}: {} frames decoded, expected {expected} ± {per_segment}",
                o.frames
            );
            assert_eq!(stalls_after_start(&o.events), 0, "{name}: no stall");
            assert_eq!(o.qoe.rebuffer_count, 0);
            assert!(o.qoe.startup_s.is_some());
            assert_eq!(o.qoe.segments, SECONDS / 4);
        }
        stack.shutdown().await;
    });
}

#[test]
fn asking_for_sound_plays_through_with_or_without_a_sound_device() {
    // On a machine without a working sound output (CI, servers) the sink must fall back to a
    // silent one that keeps the clock; with one, it plays there. Either way the session ends.
    runtime().block_on(async {
        let stack = start_stack().await;
        let hls = session(&stack, Format::Hls).await;
        let sink = GstSink::new(GstSinkConfig {
            audio_output: true,
            on_level: None,
            ..GstSinkConfig::default()
        })
        .unwrap();
        let o = play(&hls.manifest_url, Box::new(sink)).await;
        assert_eq!(o.state, PlayerState::Ended, "{:?}", o.error());
        assert_eq!(stalls_after_start(&o.events), 0);
        stack.shutdown().await;
    });
}

#[test]
fn a_cache_capped_at_1_mbit_makes_the_abr_settle_at_or_below_1_mbit() {
    runtime().block_on(async {
        let stack = start_stack().await;
        let hls = session(&stack, Format::Hls).await;
        let first = &stack.caches[0];
        assert_eq!(
            hls.pathways[0].id,
            first.id(),
            "the session starts on the first cache"
        );
        first.set_faults(&FaultsUpdate {
            throughput_kbps: Some(1000),
            ..Default::default()
        });
        let o = play(&hls.manifest_url, Box::new(NullSink::default())).await;
        assert_eq!(o.state, PlayerState::Ended, "{:?}", o.error());
        let ladder: Vec<u64> = o
            .events
            .iter()
            .find_map(|e| match &e.event {
                PlayerEvent::ManifestLoaded { ladder, .. } => {
                    Some(ladder.iter().map(|r| r.bitrate).collect())
                }
                _ => None,
            })
            .unwrap();
        let chosen = video_renditions(&o.events);
        let settled = &chosen[1..];
        assert!(
            settled.iter().all(|&r| ladder[r] <= 1_000_000),
            "renditions {chosen:?} of ladder {ladder:?}"
        );
        assert_eq!(stalls_after_start(&o.events), 0, "no stall after start-up");
        stack.shutdown().await;
    });
}

#[test]
fn a_seek_to_the_middle_resumes_there() {
    runtime().block_on(async {
        let (dir, _) = media_copy();
        let oca = serve(dir.path()).await;
        let url = Url::parse(&format!("{}/demo/master.m3u8", oca.url())).unwrap();
        let player = Player::open(url, decoding_sink(), PlayerConfig::default());
        let mut events = player.events();
        // Seek once playback has started.
        loop {
            let e = events.recv().await.unwrap();
            if matches!(e.event, PlayerEvent::FirstFrame { .. }) {
                break;
            }
        }
        player.command(Command::Seek(8.0));
        let o = tokio::time::timeout(Duration::from_secs(60), player.finished())
            .await
            .unwrap();
        assert_eq!(o.state, PlayerState::Ended, "{:?}", o.error());
        let seek_at = o
            .events
            .iter()
            .position(
                |e| matches!(e.event, PlayerEvent::Seeked { position_s } if position_s == 8.0),
            )
            .expect("a Seeked event");
        let after: Vec<&TimedEvent> = o.events[seek_at..].iter().collect();
        let first_video = after
            .iter()
            .find_map(|e| match e.event {
                PlayerEvent::SegmentFetched {
                    kind: MediaKind::Video,
                    start_s,
                    ..
                } => Some(start_s),
                _ => None,
            })
            .unwrap();
        assert_eq!(
            first_video, 8.0,
            "the next segment fetched is the one holding 8 s"
        );
        assert!(
            after.iter().any(|e| matches!(
                e.event,
                PlayerEvent::State {
                    state: PlayerState::Playing
                }
            )),
            "playback resumed after the seek"
        );
        // 8 s of the second half plus whatever played before the seek.
        assert!(o.frames >= (8 * FPS) as u64, "{} frames", o.frames);
        assert!(
            o.frames < (SECONDS * FPS) as u64,
            "{} frames: the seek skipped ahead",
            o.frames
        );
        oca.shutdown().await;
    });
}

#[test]
fn a_missing_rendition_degrades_to_a_lower_one() {
    runtime().block_on(async {
        let (dir, title_dir) = media_copy();
        std::fs::remove_file(title_dir.join("video_480p.mp4")).unwrap();
        let oca = serve(dir.path()).await;
        let o = play(&format!("{}/demo/master.m3u8", oca.url()), Box::new(NullSink::default())).await;
        assert_eq!(o.state, PlayerState::Ended, "{:?}", o.error());
        assert!(
            o.events.iter().any(|e| matches!(&e.event, PlayerEvent::Downswitch { from: 2, reason, .. } if reason.contains("404"))),
            "a 404 on the top rung moves down"
        );
        assert!(!video_renditions(&o.events).contains(&2));
        oca.shutdown().await;
    });
}

/// Overwrites the second segment of each of `renditions` in `title_dir` with garbage bytes.
fn fill_segment_1_with_garbage(title_dir: &Path, renditions: &[reel_stub::title::Rendition]) {
    for r in renditions {
        let path = title_dir.join(r.media_file());
        let mut data = std::fs::read(&path).unwrap();
        let s = r.segments[1].range;
        data[s.offset as usize..(s.offset + s.length) as usize].fill(0x13);
        std::fs::write(&path, data).unwrap();
    }
}

#[test]
fn a_garbage_segment_is_caught_before_the_decoder() {
    runtime().block_on(async {
        let (dir, title_dir) = media_copy();
        let (_, title) = media();
        // Every rendition but the lowest.
        fill_segment_1_with_garbage(&title_dir, &title.video[1..]);
        let oca = serve(dir.path()).await;
        let o = play(&format!("{}/demo/master.m3u8", oca.url()), decoding_sink()).await;
        assert_eq!(o.state, PlayerState::Ended, "{:?}", o.error());
        assert!(o.events.iter().any(|e| matches!(&e.event, PlayerEvent::Downswitch { reason, .. } if reason.contains("garbage"))));
        oca.shutdown().await;
    });
}

/// Reel's ABR, noting the rebuffer weight of every decision it is asked for.
struct WeightSpy {
    inner: player_core::abr::reel::ReelAbr,
    weights: Arc<Mutex<Vec<f64>>>,
}

impl player_core::abr::Abr for WeightSpy {
    fn name(&self) -> &'static str {
        "weight-spy"
    }

    fn choose(&mut self, ctx: &player_core::abr::Context<'_>) -> player_core::abr::Decision {
        self.weights.lock().unwrap().push(ctx.rebuffer_weight);
        self.inner.choose(ctx)
    }
}

#[test]
fn the_titles_rebuffer_weight_reaches_the_abr_and_the_qoe_report() {
    runtime().block_on(async {
        let (dir, _) = media_copy();
        let oca = serve(dir.path()).await;
        let weights = Arc::new(Mutex::new(Vec::new()));
        let config = PlayerConfig {
            abr: Box::new(WeightSpy {
                inner: Default::default(),
                weights: weights.clone(),
            }),
            rebuffer_weight: 35.0,
            ..PlayerConfig::default()
        };
        let player = Player::open(
            Url::parse(&format!("{}/demo/master.m3u8", oca.url())).unwrap(),
            Box::new(NullSink::default().with_rate(4.0)),
            config,
        );
        let o = tokio::time::timeout(Duration::from_secs(90), player.finished())
            .await
            .expect("the session ends by itself");
        assert_eq!(o.state, PlayerState::Ended, "{:?}", o.error());
        let weights = weights.lock().unwrap().clone();
        assert!(!weights.is_empty());
        assert!(weights.iter().all(|&w| w == 35.0), "{weights:?}");
        assert!(o.events.iter().any(|e| matches!(
            e.event,
            PlayerEvent::ManifestLoaded { rebuffer_weight, .. } if rebuffer_weight == 35.0
        )));
        oca.shutdown().await;
    });
}

#[test]
fn garbage_in_every_rendition_fails_as_undecodable() {
    runtime().block_on(async {
        let (dir, title_dir) = media_copy();
        let (_, title) = media();
        fill_segment_1_with_garbage(&title_dir, &title.video);
        let oca = serve(dir.path()).await;
        let o = play(
            &format!("{}/demo/master.m3u8", oca.url()),
            Box::new(NullSink::default().with_rate(4.0)),
        )
        .await;
        match o.failure() {
            Some(SessionError::Undecodable(message)) => assert!(
                message.starts_with("video segment 1 could not be played: corrupt segment 1"),
                "{message}"
            ),
            other => panic!("expected undecodable media, got {other:?}"),
        }
        oca.shutdown().await;
    });
}

#[test]
fn an_unsupported_encryption_scheme_fails_as_unsupported_naming_it() {
    runtime().block_on(async {
        let (dir, title_dir) = media_copy();
        let playlist = std::fs::read_to_string(title_dir.join("video_240p.m3u8")).unwrap();
        let encrypted = playlist.replacen(
            "#EXTINF",
            "#EXT-X-KEY:METHOD=SAMPLE-AES,URI=\"key.bin\"\n#EXTINF",
            1,
        );
        std::fs::write(title_dir.join("sample_aes.m3u8"), encrypted).unwrap();
        let oca = serve(dir.path()).await;
        let o = play(
            &format!("{}/demo/sample_aes.m3u8", oca.url()),
            Box::new(NullSink::default()),
        )
        .await;
        match o.failure() {
            Some(SessionError::Unsupported(message)) => {
                assert!(message.contains("METHOD=SAMPLE-AES"), "{message}")
            }
            other => panic!("expected an unsupported stream, got {other:?}"),
        }
        oca.shutdown().await;
    });
}

#[test]
fn truncated_media_everywhere_fails_with_one_clear_line() {
    runtime().block_on(async {
        let (dir, title_dir) = media_copy();
        let (_, title) = media();
        for r in &title.video {
            let path = title_dir.join(r.media_file());
            let keep = r.segments[1].range.offset; // init and first segment only
            let data = std::fs::read(&path).unwrap();
            std::fs::write(&path, &data[..keep as usize]).unwrap();
        }
        let oca = serve(dir.path()).await;
        let o = play(
            &format!("{}/demo/master.m3u8", oca.url()),
            Box::new(NullSink::default()),
        )
        .await;
        let error = o.error().expect("the session fails");
        assert!(
            error.starts_with("video segment 1 could not be played"),
            "{error}"
        );
        assert!(error.contains("416"), "{error}");
        assert!(!error.contains('\n'));
        assert!(
            matches!(
                o.failure(),
                Some(SessionError::Network { pathway: None, .. })
            ),
            "{:?}",
            o.failure()
        );
        oca.shutdown().await;
    });
}

#[test]
fn unreachable_hosts_and_broken_manifests_fail_clearly() {
    runtime().block_on(async {
        let o = play("http://127.0.0.1:1/demo/master.m3u8", Box::new(NullSink::default())).await;
        let e = o.error().unwrap();
        assert!(e.contains("cannot connect"), "{e}");
        assert!(matches!(o.failure(), Some(SessionError::Manifest(_))));

        let (dir, title_dir) = media_copy();
        std::fs::write(title_dir.join("broken.mpd"), "<MPD><Period>").unwrap();
        std::fs::write(
            title_dir.join("ac4.m3u8"),
            "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=500000,CODECS=\"avc1.4d401f,ac-4.02.01.01\"\nvideo_240p.m3u8\n",
        )
        .unwrap();
        let oca = serve(dir.path()).await;
        let o = play(&format!("{}/demo/broken.mpd", oca.url()), Box::new(NullSink::default())).await;
        let e = o.error().unwrap();
        assert!(e.contains("not a valid DASH MPD"), "{e}");
        assert!(matches!(o.failure(), Some(SessionError::Manifest(_))));
        let o = play(&format!("{}/demo/nope.m3u8", oca.url()), Box::new(NullSink::default())).await;
        assert!(o.error().unwrap().contains("HTTP 404"));
        assert!(matches!(o.failure(), Some(SessionError::Manifest(_))));
        let o = play(&format!("{}/demo/ac4.m3u8", oca.url()), decoding_sink()).await;
        let e = o.error().unwrap();
        assert!(e.contains("no GStreamer decoder for codec ac-4"), "{e}");
        assert!(matches!(o.failure(), Some(SessionError::Undecodable(_))));
        oca.shutdown().await;
    });
}

/// A live HLS media playlist of the shared title's 240p rendition: segments `first..last`, and
/// `#EXT-X-ENDLIST` when `ended`.
fn live_playlist(title: &TitleMeta, first: usize, last: usize, ended: bool) -> String {
    let r = &title.video[0];
    let mut text = format!(
        "#EXTM3U\n#EXT-X-VERSION:6\n#EXT-X-TARGETDURATION:4\n#EXT-X-MEDIA-SEQUENCE:{first}\n\
         #EXT-X-MAP:URI=\"{}\",BYTERANGE=\"{}@0\"\n",
        r.media_file(),
        r.init.length
    );
    for s in &r.segments[first..last] {
        text.push_str(&format!(
            "#EXTINF:{:.3},\n#EXT-X-BYTERANGE:{}@{}\n{}\n",
            s.duration_s,
            s.range.length,
            s.range.offset,
            r.media_file()
        ));
    }
    if ended {
        text.push_str("#EXT-X-ENDLIST\n");
    }
    text
}

#[test]
fn a_live_hls_stream_is_followed_through_reloads_until_it_ends() {
    runtime().block_on(async {
        let (dir, title_dir) = media_copy();
        let (_, title) = media();
        let playlist = title_dir.join("live.m3u8");
        std::fs::write(&playlist, live_playlist(title, 0, 2, false)).unwrap();
        let oca = serve(dir.path()).await;
        let url = format!("{}/demo/live.m3u8", oca.url());
        // The encoder side: the window slides (segment 0 leaves) and grows, then the stream ends.
        let writer = tokio::spawn({
            let playlist = playlist.clone();
            let title = title.clone();
            async move {
                tokio::time::sleep(Duration::from_secs(3)).await;
                std::fs::write(&playlist, live_playlist(&title, 1, 3, false)).unwrap();
                tokio::time::sleep(Duration::from_secs(4)).await;
                std::fs::write(&playlist, live_playlist(&title, 1, 4, true)).unwrap();
            }
        });
        let o = play(&url, Box::new(NullSink::default())).await;
        writer.await.unwrap();
        assert_eq!(o.state, PlayerState::Ended, "{:?}", o.error());
        let fetched: Vec<(u64, f64)> = o
            .events
            .iter()
            .filter_map(|e| match e.event {
                PlayerEvent::SegmentFetched { segment, start_s, .. } => Some((segment, start_s)),
                _ => None,
            })
            .collect();
        assert_eq!(
            fetched,
            [(0, 0.0), (1, 4.0), (2, 8.0), (3, 12.0)],
            "every segment once, with continuous times across reloads"
        );
        assert!(o.events.iter().any(|e| matches!(&e.event, PlayerEvent::Warning { message } if message.contains("has ended"))));
        oca.shutdown().await;
    });
}

/// A decoding sink that also records the presentation time of every frame it shows (scaled
/// down: only the times matter).
fn frame_timing_sink() -> (Box<dyn Sink>, Arc<Mutex<Vec<f64>>>) {
    let shown = Arc::new(Mutex::new(Vec::new()));
    let record = shown.clone();
    let sink = GstSink::new(GstSinkConfig {
        on_frame: Some(Arc::new(move |f: VideoFrame| {
            record.lock().unwrap().push(f.pts_s)
        })),
        frame_size: Some((64, 36)),
        audio_output: false,
        on_level: None,
    })
    .unwrap();
    (Box::new(sink), shown)
}

#[test]
fn a_decoded_start_at_10_s_shows_the_frame_at_10_s_first_for_hls_and_dash() {
    // The start position is applied before the pipeline has any data (no decoder pads yet), so
    // it must not depend on the pipeline being able to pass a seek to its sources.
    runtime().block_on(async {
        let stack = start_stack().await;
        let hls = session(&stack, Format::Hls).await;
        let dash = session(&stack, Format::Dash).await;
        let start_at_10 = |url: String| async move {
            let (sink, shown) = frame_timing_sink();
            let config = PlayerConfig {
                start_at_s: 10.0,
                ..PlayerConfig::default()
            };
            let player = Player::open(Url::parse(&url).unwrap(), sink, config);
            let o = tokio::time::timeout(Duration::from_secs(90), player.finished())
                .await
                .expect("the session ends by itself");
            let shown = shown.lock().unwrap().clone();
            (o, shown)
        };
        let (h, d) = tokio::join!(
            start_at_10(hls.manifest_url.clone()),
            start_at_10(dash.manifest_url.clone())
        );
        for (name, (o, shown)) in [("hls", &h), ("dash", &d)] {
            assert_eq!(o.state, PlayerState::Ended, "{name}: {:?}", o.error());
            let first_video = o.events.iter().find_map(|e| match e.event {
                PlayerEvent::SegmentFetched {
                    kind: MediaKind::Video,
                    start_s,
                    ..
                } => Some(start_s),
                _ => None,
            });
            assert_eq!(
                first_video,
                Some(8.0),
                "{name}: the first segment fetched is the one holding 10 s"
            );
            // Decoded from the segment's key frame, shown from the frame asked for (as mpv's
            // --hr-seek): the first frame is within one frame of 10 s, and every frame from there
            // to the end is shown, none before.
            let frame = 1.0 / f64::from(FPS);
            let first = *shown.first().expect("frames were shown");
            assert!(
                (first - 10.0).abs() <= frame + 1e-6,
                "{name}: the first frame shown is at {first:.3} s, not 10 s"
            );
            let last = *shown.last().unwrap();
            assert!(
                last >= f64::from(SECONDS) - 2.0 * frame,
                "{name}: played to the end (last frame at {last:.3} s)"
            );
            let expected = (6 * FPS) as usize;
            assert!(
                shown.len().abs_diff(expected) <= 1,
                "{name}: {} frames shown, expected the {expected} from 10 s to the end",
                shown.len()
            );
            assert_eq!(stalls_after_start(&o.events), 0, "{name}: no stall");
        }
        stack.shutdown().await;
    });
}

#[test]
fn a_seek_inside_a_segment_shows_the_frame_asked_for() {
    // 9.5 s lies inside the segment 8–12 s: decoding starts at its key frame, the frames before
    // 9.5 s are dropped, not shown.
    runtime().block_on(async {
        let (dir, _) = media_copy();
        let oca = serve(dir.path()).await;
        let url = Url::parse(&format!("{}/demo/master.m3u8", oca.url())).unwrap();
        let (sink, shown) = frame_timing_sink();
        let player = Player::open(url, sink, PlayerConfig::default());
        // Seek while playing: once a few frames were shown (a frame prerolled while paused
        // is shown only when playing starts, and a seek before that flushes it unseen).
        let playing = async {
            while shown.lock().unwrap().len() < 3 {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        };
        tokio::time::timeout(Duration::from_secs(30), playing)
            .await
            .expect("frames are shown");
        player.command(Command::Seek(9.5));
        let o = tokio::time::timeout(Duration::from_secs(60), player.finished())
            .await
            .unwrap();
        assert_eq!(o.state, PlayerState::Ended, "{:?}", o.error());
        let shown = shown.lock().unwrap().clone();
        let frame = 1.0 / f64::from(FPS);
        let jump = shown
            .windows(2)
            .position(|w| w[1] > w[0] + 2.0 * frame)
            .expect("the frames jump forward at the seek");
        let after_seek = shown[jump + 1];
        assert!(
            (after_seek - 9.5).abs() <= frame + 1e-6,
            "the first frame after the seek is at {after_seek:.3} s, not 9.5 s"
        );
        assert!(
            shown[jump] < 9.5 - 2.0 * frame,
            "the seek was issued at {:.3} s, before 9.5 s",
            shown[jump]
        );
        oca.shutdown().await;
    });
}

/// A VOD media playlist of one of the shared title's video renditions: segments listed in
/// `gaps` are marked `EXT-X-GAP`, those in `missing` point at a file no cache has, and
/// `missing_after` more missing segments follow the title's own.
fn vod_playlist(
    rendition: &reel_stub::title::Rendition,
    gaps: &[usize],
    missing: &[usize],
    missing_after: usize,
) -> String {
    let mut text = format!(
        "#EXTM3U\n#EXT-X-VERSION:6\n#EXT-X-TARGETDURATION:4\n#EXT-X-PLAYLIST-TYPE:VOD\n\
         #EXT-X-MAP:URI=\"{}\",BYTERANGE=\"{}@0\"\n",
        rendition.media_file(),
        rendition.init.length
    );
    for (i, s) in rendition.segments.iter().enumerate() {
        if gaps.contains(&i) {
            text.push_str("#EXT-X-GAP\n");
        }
        if missing.contains(&i) {
            text.push_str(&format!("#EXTINF:{:.3},\nmissing-{i}.m4s\n", s.duration_s));
        } else {
            text.push_str(&format!(
                "#EXTINF:{:.3},\n#EXT-X-BYTERANGE:{}@{}\n{}\n",
                s.duration_s,
                s.range.length,
                s.range.offset,
                rendition.media_file()
            ));
        }
    }
    for i in 0..missing_after {
        text.push_str(&format!("#EXTINF:4.000,\nmissing-after-{i}.m4s\n"));
    }
    text + "#EXT-X-ENDLIST\n"
}

/// Always the top rendition.
struct Highest;

impl abr::Abr for Highest {
    fn name(&self) -> &'static str {
        "highest"
    }
    fn choose(&mut self, ctx: &abr::Context<'_>) -> abr::Decision {
        abr::Decision {
            rendition: ctx.ladder.len() - 1,
            reason: "test: the top rendition".into(),
        }
    }
}

/// (segment, reason) of every segment skipped.
fn skipped_segments(events: &[TimedEvent]) -> Vec<(u64, String)> {
    events
        .iter()
        .filter_map(|e| match &e.event {
            PlayerEvent::SegmentSkipped {
                segment, reason, ..
            } => Some((*segment, reason.clone())),
            _ => None,
        })
        .collect()
}

#[test]
fn gaps_and_missing_segments_are_skipped_as_stalls_and_a_broken_stream_fails_in_one_line() {
    runtime().block_on(async {
        let (dir, title_dir) = media_copy();
        let (_, title) = media();
        let (low, high) = (&title.video[0], &title.video[2]);
        // Segment 1 has no media at the top rendition, segment 2 is missing from both.
        std::fs::write(title_dir.join("low.m3u8"), vod_playlist(low, &[], &[2], 0)).unwrap();
        std::fs::write(
            title_dir.join("high.m3u8"),
            vod_playlist(high, &[1], &[2], 0),
        )
        .unwrap();
        std::fs::write(
            title_dir.join("holes.m3u8"),
            format!(
                "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH={},RESOLUTION=426x240,CODECS=\"{}\"\n\
                 low.m3u8\n#EXT-X-STREAM-INF:BANDWIDTH={},RESOLUTION=854x480,CODECS=\"{}\"\n\
                 high.m3u8\n",
                low.peak_bitrate, low.codecs, high.peak_bitrate, high.codecs
            ),
        )
        .unwrap();
        // A stream whose segments are gone after the first: the fourth missing in a row ends it.
        std::fs::write(
            title_dir.join("gone.m3u8"),
            vod_playlist(low, &[], &[1, 2, 3], 1),
        )
        .unwrap();
        let oca = serve(dir.path()).await;

        let config = PlayerConfig {
            abr: Box::new(Highest),
            ..PlayerConfig::default()
        };
        let url = Url::parse(&format!("{}/demo/holes.m3u8", oca.url())).unwrap();
        let player = Player::open(url, decoding_sink(), config);
        let o = tokio::time::timeout(Duration::from_secs(60), player.finished())
            .await
            .expect("the session ends by itself");
        assert_eq!(o.state, PlayerState::Ended, "{:?}", o.error());
        let fetched: Vec<(u64, usize)> = fetched_of(&o.events, MediaKind::Video)
            .iter()
            .map(|f| (f.segment, f.rendition))
            .collect();
        assert_eq!(
            fetched,
            [(0, 1), (1, 0), (3, 1)],
            "the gap fetched from the rendition that has it; the missing segment skipped"
        );
        let skipped = skipped_segments(&o.events);
        assert_eq!(skipped.len(), 1, "{skipped:?}");
        assert_eq!(skipped[0].0, 2);
        assert!(skipped[0].1.contains("HTTP 404"), "{skipped:?}");
        assert_eq!(o.qoe.skipped, 1);
        assert!(o.qoe.rebuffer_count >= 1, "{:?}", o.qoe);
        assert!(o.qoe.rebuffer_s >= 3.9, "{:?}", o.qoe);
        assert!(
            o.events.iter().any(|e| matches!(&e.event,
                PlayerEvent::Downswitch { segment: 1, from: 1, to: 0, reason }
                    if reason.contains("EXT-X-GAP"))),
            "the gap is shown as a step down"
        );

        let o = play(&format!("{}/demo/gone.m3u8", oca.url()), decoding_sink()).await;
        let e = o.error().expect("a stream of missing segments fails");
        assert!(
            e.contains("segment 4 could not be played")
                && e.contains("4 segments missing in a row"),
            "{e}"
        );
        assert_eq!(skipped_segments(&o.events).len(), 3);
        oca.shutdown().await;
    });
}

#[test]
fn extinf_durations_in_any_form_other_players_read_play_to_the_end_in_time() {
    runtime().block_on(async {
        let (dir, title_dir) = media_copy();
        let (_, title) = media();
        // The 240p rendition's 4 s segments, their durations written four ways other packagers
        // write them: a space before the number, exponent form, no comma, junk after the number
        // and commas in the title.
        let forms = [
            "#EXTINF: 4.000,Part one, the start",
            "#EXTINF:4.0E0,",
            "#EXTINF:4",
            "#EXTINF:4.000000 tvg-name=\"x\",A, B",
        ];
        let mut n = 0;
        let playlist: String = vod_playlist(&title.video[0], &[], &[], 0)
            .lines()
            .map(|line| {
                if line.starts_with("#EXTINF:") {
                    n += 1;
                    format!("{}\n", forms[n - 1])
                } else {
                    format!("{line}\n")
                }
            })
            .collect();
        assert_eq!(n, 4);
        std::fs::write(title_dir.join("odd.m3u8"), playlist).unwrap();
        let oca = serve(dir.path()).await;
        let o = play(&format!("{}/demo/odd.m3u8", oca.url()), decoding_sink()).await;
        assert_eq!(o.state, PlayerState::Ended, "{:?}", o.error());
        assert_eq!(fetched_segments(&o.events), [0, 1, 2, 3]);
        let duration_s = o.events.iter().find_map(|e| match e.event {
            PlayerEvent::ManifestLoaded { duration_s, .. } => duration_s,
            _ => None,
        });
        assert_eq!(duration_s, Some(f64::from(SECONDS)));
        let last_position = o
            .events
            .iter()
            .filter_map(|e| match e.event {
                PlayerEvent::Position { position_s, .. } => Some(position_s),
                _ => None,
            })
            .fold(0.0, f64::max);
        assert!(
            last_position > f64::from(SECONDS) - 2.0 && last_position <= f64::from(SECONDS) + 0.1,
            "played to the end and not past it: {last_position}"
        );
        oca.shutdown().await;
    });
}

/// A DASH `Representation` of one of the shared title's renditions, listing its segments
/// `segments` from its own file: their media times are the title's, whatever the period.
fn dash_representation(
    r: &reel_stub::title::Rendition,
    segments: std::ops::Range<usize>,
) -> String {
    let size = match (r.width, r.height) {
        (Some(w), Some(h)) => format!(" width=\"{w}\" height=\"{h}\""),
        _ => String::new(),
    };
    let urls: String = r.segments[segments]
        .iter()
        .map(|s| {
            format!(
                "<SegmentURL mediaRange=\"{}-{}\"/>",
                s.range.offset,
                s.range.offset + s.range.length - 1
            )
        })
        .collect();
    format!(
        "<Representation id=\"{}\" bandwidth=\"{}\" codecs=\"{}\"{size}><BaseURL>{}</BaseURL>\
         <SegmentList timescale=\"1000\" duration=\"4000\"><Initialization range=\"0-{}\"/>{urls}\
         </SegmentList></Representation>",
        r.id,
        r.peak_bitrate,
        r.codecs,
        r.media_file(),
        r.init.length - 1
    )
}

#[test]
fn a_two_period_dash_presentation_plays_across_a_ladder_change_and_a_timestamp_reset() {
    runtime().block_on(async {
        let (dir, title_dir) = media_copy();
        let (_, title) = media();
        let audio = &title.audio[0];
        let (v240, v360, v480) = (&title.video[0], &title.video[1], &title.video[2]);
        // Period 1: 240p and 480p, the title's first 8 s. Period 2 (its start derived from the
        // first's duration): 360p alone, the same 8 s again, its media times starting over at
        // 0 as an inserted programme's do.
        let set = |kind: &str, mime: &str, reps: String| {
            format!(
                "<AdaptationSet contentType=\"{kind}\" mimeType=\"{mime}\">{reps}</AdaptationSet>"
            )
        };
        let mpd = format!(
            "<?xml version=\"1.0\"?><MPD xmlns=\"urn:mpeg:dash:schema:mpd:2011\" type=\"static\" \
             mediaPresentationDuration=\"PT16S\" minBufferTime=\"PT4S\" \
             profiles=\"urn:mpeg:dash:profile:isoff-main:2011\">\
             <Period id=\"first\" start=\"PT0S\" duration=\"PT8S\">{}{}</Period>\
             <Period id=\"second\">{}{}</Period></MPD>",
            set(
                "video",
                "video/mp4",
                dash_representation(v240, 0..2) + &dash_representation(v480, 0..2)
            ),
            set("audio", "audio/mp4", dash_representation(audio, 0..2)),
            set("video", "video/mp4", dash_representation(v360, 0..2)),
            set("audio", "audio/mp4", dash_representation(audio, 0..2)),
        );
        std::fs::write(title_dir.join("periods.mpd"), mpd).unwrap();
        let oca = serve(dir.path()).await;
        let (sink, shown) = frame_timing_sink();
        let o = play(&format!("{}/demo/periods.mpd", oca.url()), sink).await;
        assert_eq!(o.state, PlayerState::Ended, "{:?}", o.error());
        let video = fetched_of(&o.events, MediaKind::Video);
        let starts: Vec<f64> = video.iter().map(|v| v.start_s).collect();
        assert_eq!(starts, [0.0, 4.0, 8.0, 12.0], "{video:?}");
        assert_eq!(video[2].rendition, 0, "the second period's one rendition");
        assert_eq!(fetched_of(&o.events, MediaKind::Audio).len(), 4);
        // Every frame of both periods is shown once, in order, on one timeline.
        let shown = shown.lock().unwrap().clone();
        let frames = f64::from(SECONDS * FPS);
        assert!(
            shown.len() as f64 >= 0.95 * frames,
            "{} frames",
            shown.len()
        );
        let backwards: Vec<&[f64]> = shown.windows(2).filter(|w| w[1] <= w[0]).collect();
        assert!(backwards.is_empty(), "frames in order: {backwards:?}");
        let second = shown.iter().filter(|&&t| t >= 8.0).count() as f64;
        assert!(
            second >= 0.95 * frames / 2.0,
            "{second} frames in the second period"
        );
        assert!(*shown.last().unwrap() > f64::from(SECONDS) - 0.1);
        assert_eq!(stalls_after_start(&o.events), 0, "{:?}", o.qoe);

        // Started at 10 s, inside the second period: its first frame is the one at 10 s.
        let (sink, shown) = frame_timing_sink();
        let url = Url::parse(&format!("{}/demo/periods.mpd", oca.url())).unwrap();
        let config = PlayerConfig {
            start_at_s: 10.0,
            ..PlayerConfig::default()
        };
        let player = Player::open(url, sink, config);
        let o = tokio::time::timeout(Duration::from_secs(60), player.finished())
            .await
            .expect("the session ends by itself");
        assert_eq!(o.state, PlayerState::Ended, "{:?}", o.error());
        let shown = shown.lock().unwrap().clone();
        let first = shown.first().copied().unwrap_or(f64::NAN);
        assert!(
            (first - 10.0).abs() < 1.0 / f64::from(FPS),
            "first frame at {first}"
        );
        assert!(*shown.last().unwrap() > f64::from(SECONDS) - 0.1);
        oca.shutdown().await;
    });
}

/// Plays `url` decoded from `start_at_s`, to the end; returns the session and the presentation
/// time of every frame shown.
async fn play_frames(url: &str, start_at_s: f64) -> (SessionOutcome, Vec<f64>) {
    let (sink, shown) = frame_timing_sink();
    let config = PlayerConfig {
        start_at_s,
        ..PlayerConfig::default()
    };
    let player = Player::open(Url::parse(url).unwrap(), sink, config);
    let o = tokio::time::timeout(Duration::from_secs(60), player.finished())
        .await
        .expect("the session ends by itself");
    let shown = shown.lock().unwrap().clone();
    (o, shown)
}

#[test]
fn ts_timestamps_across_a_discontinuity_and_the_33_bit_rollover_keep_one_timeline() {
    const TS_FPS: f64 = 25.0;
    let dir = tempfile::tempdir().unwrap();
    // Two 8 s programmes, both starting at ffmpeg's usual 1.4 s, one after the other behind
    // EXT-X-DISCONTINUITY; and 8 s whose 90 kHz clock passes 2^33 after about 2.3 s.
    reel_stub::fixtures::ffmpeg_ts_hls(dir.path(), "a", 8, 0.0).unwrap();
    reel_stub::fixtures::ffmpeg_ts_hls(dir.path(), "b", 8, 0.0).unwrap();
    reel_stub::fixtures::ffmpeg_ts_hls(dir.path(), "wrap", 8, 95_440.0).unwrap();
    let read = |name: &str| std::fs::read_to_string(dir.path().join(name)).unwrap();
    let entries = |text: String| -> String {
        text.lines()
            .filter(|l| l.starts_with("#EXTINF") || l.ends_with(".ts"))
            .map(|l| format!("{l}\n"))
            .collect()
    };
    let joined = format!(
        "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXT-X-PLAYLIST-TYPE:VOD\n{}\
         #EXT-X-DISCONTINUITY\n{}#EXT-X-ENDLIST\n",
        entries(read("a.m3u8")),
        entries(read("b.m3u8"))
    );
    std::fs::write(dir.path().join("joined.m3u8"), joined).unwrap();
    runtime().block_on(async {
        let oca = serve(dir.path()).await;
        for (name, seconds, start_at_s) in [
            ("joined.m3u8", 16.0, 0.0),
            ("joined.m3u8", 16.0, 11.0),
            ("wrap.m3u8", 8.0, 0.0),
            ("wrap.m3u8", 8.0, 5.0),
        ] {
            let what = format!("{name} from {start_at_s} s");
            let (o, shown) = play_frames(&format!("{}/{name}", oca.url()), start_at_s).await;
            assert_eq!(o.state, PlayerState::Ended, "{what}: {:?}", o.error());
            let backwards: Vec<&[f64]> = shown.windows(2).filter(|w| w[1] <= w[0]).collect();
            assert!(
                backwards.is_empty(),
                "{what}: frames in order: {backwards:?}"
            );
            let first = shown.first().copied().unwrap_or(f64::NAN);
            let last = shown.last().copied().unwrap_or(f64::NAN);
            assert!(
                (first - start_at_s).abs() < 1.0 / TS_FPS + 1e-3,
                "{what}: first frame at {first}"
            );
            assert!(
                last > seconds - 2.0 / TS_FPS && last < seconds,
                "{what}: last frame at {last}"
            );
            let expected = (seconds - start_at_s) * TS_FPS;
            assert!(
                shown.len() as f64 >= 0.95 * expected,
                "{what}: {} frames of {expected}",
                shown.len()
            );
            let positions: Vec<f64> = o
                .events
                .iter()
                .filter_map(|e| match e.event {
                    PlayerEvent::Position { position_s, .. } => Some(position_s),
                    _ => None,
                })
                .collect();
            assert!(
                positions.windows(2).all(|w| w[1] >= w[0])
                    && positions.iter().all(|p| *p <= seconds + 0.1),
                "{what}: positions {positions:?}"
            );
            assert_eq!(stalls_after_start(&o.events), 0, "{what}");
        }
        oca.shutdown().await;
    });
}

#[test]
fn trick_play_empty_and_subtitle_only_playlists_fail_in_one_line() {
    runtime().block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let head = "#EXTM3U\n#EXT-X-TARGETDURATION:4\n";
        for (name, body) in [
            (
                "trick.m3u8",
                format!("{head}#EXT-X-I-FRAMES-ONLY\n#EXTINF:4,\n#EXT-X-BYTERANGE:9000@376\na.ts\n#EXT-X-ENDLIST\n"),
            ),
            ("empty.m3u8", format!("{head}#EXT-X-ENDLIST\n")),
            (
                "subs.m3u8",
                format!("{head}#EXTINF:4,\nsub-0.vtt\n#EXTINF:4,\nsub-1.vtt\n#EXT-X-ENDLIST\n"),
            ),
        ] {
            std::fs::write(dir.path().join(name), body).unwrap();
        }
        let oca = serve(dir.path()).await;
        for (name, said) in [
            ("trick.m3u8", "I-frame-only playlist (EXT-X-I-FRAMES-ONLY) is for trick play"),
            ("empty.m3u8", "the video track has no segments"),
            ("subs.m3u8", "the manifest holds only subtitles: no video or audio to play"),
        ] {
            let o = play(&format!("{}/{name}", oca.url()), decoding_sink()).await;
            let e = o.error().unwrap_or_else(|| panic!("{name} fails"));
            assert!(e.contains(said), "{name}: {e}");
            assert!(!e.contains('\n'), "{name}: one line: {e}");
            assert!(fetched_segments(&o.events).is_empty(), "{name}");
        }
        oca.shutdown().await;
    });
}

#[test]
fn starting_past_the_end_ends_instead_of_hanging() {
    runtime().block_on(async {
        let (dir, _) = media_copy();
        let oca = serve(dir.path()).await;
        let url = Url::parse(&format!("{}/demo/master.m3u8", oca.url())).unwrap();
        let config = PlayerConfig {
            start_at_s: 1000.0,
            ..PlayerConfig::default()
        };
        let player = Player::open(url, Box::new(NullSink::default()), config);
        let o = tokio::time::timeout(Duration::from_secs(20), player.finished())
            .await
            .expect("the session ends by itself");
        assert_eq!(o.state, PlayerState::Ended, "{:?}", o.error());
        assert!(
            video_renditions(&o.events).is_empty(),
            "nothing to fetch past the end"
        );
        oca.shutdown().await;
    });
}

/// An audio-only HLS stream in MPEG-TS as other packagers write it (ffmpeg's HLS muxer): a
/// multivariant playlist whose one variant declares an audio codec only, 12 s of a tone in 4 s
/// segments. `codec` is ffmpeg's encoder name.
fn audio_only_ts_hls(dir: &Path, codec: &str) {
    reel_stub::fixtures::ffmpeg_audio_only_hls(dir, codec, 12).unwrap();
}

/// The segment numbers fetched, in order.
fn fetched_segments(events: &[TimedEvent]) -> Vec<u64> {
    events
        .iter()
        .filter_map(|e| match e.event {
            PlayerEvent::SegmentFetched { segment, .. } => Some(segment),
            _ => None,
        })
        .collect()
}

#[test]
fn audio_only_ts_renditions_play_headless_to_the_end() {
    // The four codecs at once: each session plays its 12 s in real time.
    runtime().block_on(futures_util::future::join_all(
        ["aac", "ac3", "eac3", "libmp3lame"].map(|codec| async move {
            let dir = tempfile::tempdir().unwrap();
            audio_only_ts_hls(dir.path(), codec);
            let media = std::fs::read_to_string(dir.path().join("audio.m3u8")).unwrap();
            let segments = media.lines().filter(|l| l.ends_with(".ts")).count() as u64;
            let oca = serve(dir.path()).await;
            // The multivariant playlist (an audio ladder), then the media playlist given
            // directly (nothing says it is audio until it is decoded).
            for playlist_name in ["master.m3u8", "audio.m3u8"] {
                let codec = format!("{codec} via {playlist_name}");
                let url = format!("{}/{playlist_name}", oca.url());
                let o = play(&url, decoding_sink()).await;
                assert_eq!(o.state, PlayerState::Ended, "{codec}: {:?}", o.error());
                let fetched = fetched_segments(&o.events);
                assert_eq!(
                    fetched,
                    (0..segments).collect::<Vec<_>>(),
                    "{codec}: every segment once"
                );
                assert!(o.qoe.startup_s.is_some(), "{codec}: playback started");
                assert_eq!(u64::from(o.qoe.segments), segments, "{codec}: {:?}", o.qoe);
                // Scored on the audio ladder: as stated by the multivariant playlist, as
                // measured for the media playlist, which states no bitrate.
                assert!(
                    (100.0..200.0).contains(&o.qoe.mean_bitrate_kbps),
                    "{codec}: {:?}",
                    o.qoe
                );
                assert_eq!(stalls_after_start(&o.events), 0, "{codec}");
            }
            oca.shutdown().await;
        }),
    ));
}

#[test]
fn an_audio_only_title_reports_its_sound_level_as_it_plays() {
    // ffmpeg's tone is at an eighth of full scale: peaks at −18 dB.
    runtime().block_on(async {
        let dir = tempfile::tempdir().unwrap();
        audio_only_ts_hls(dir.path(), "aac");
        let oca = serve(dir.path()).await;
        let levels = Arc::new(Mutex::new(Vec::new()));
        let record = levels.clone();
        let sink = GstSink::new(GstSinkConfig {
            on_level: Some(Arc::new(move |level| record.lock().unwrap().push(level))),
            ..GstSinkConfig::default()
        })
        .unwrap();
        let o = play(&format!("{}/master.m3u8", oca.url()), Box::new(sink)).await;
        assert_eq!(o.state, PlayerState::Ended, "{:?}", o.error());
        let levels = levels.lock().unwrap().clone();
        // Twenty a second over 12 s.
        assert!(levels.len() >= 150, "{} levels", levels.len());
        let middle = &levels[levels.len() / 2];
        assert!(!middle.peak_db.is_empty());
        for db in &middle.peak_db {
            assert!((-21.0..=-15.0).contains(db), "{middle:?}");
        }
        oca.shutdown().await;
    });
}

/// Encrypts `path` in place with openssl's AES-128-CBC (PKCS#7 padding), as a packager would.
fn openssl_encrypt(path: &Path, key: &[u8; 16], iv: &[u8; 16]) {
    let hex = |b: &[u8; 16]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
    let out = path.with_extension("enc");
    let status = std::process::Command::new("openssl")
        .args(["aes-128-cbc", "-K", &hex(key), "-iv", &hex(iv), "-in"])
        .arg(path)
        .arg("-out")
        .arg(&out)
        .status()
        .expect("openssl runs (cargo xtask test installs it)");
    assert!(status.success(), "openssl encrypted {}", path.display());
    std::fs::rename(out, path).unwrap();
}

#[test]
fn aes_128_segments_play_through_a_key_rotation_and_a_wrong_key_fails_in_one_line() {
    runtime().block_on(async {
        let dir = tempfile::tempdir().unwrap();
        audio_only_ts_hls(dir.path(), "aac");
        // The playlist starts at media sequence 5: an IV from the sequence number must count
        // from there.
        let media = std::fs::read_to_string(dir.path().join("audio.m3u8"))
            .unwrap()
            .replace("#EXT-X-MEDIA-SEQUENCE:0", "#EXT-X-MEDIA-SEQUENCE:5");
        let names: Vec<&str> = media.lines().filter(|l| l.ends_with(".ts")).collect();
        assert!(names.len() >= 3, "{media}");
        let clear: Vec<Vec<u8>> = names
            .iter()
            .map(|n| std::fs::read(dir.path().join(n)).unwrap()[..16].to_vec())
            .collect();
        // Segments 0 and 1 under the first key with the tag's IV; the rest under a second key
        // with each one's media sequence number as its IV.
        let (k1, k2) = ([0x5a; 16], *b"reel-second-key!");
        let given: [u8; 16] = std::array::from_fn(|i| 0xf0 + i as u8);
        std::fs::write(dir.path().join("k1.key"), k1).unwrap();
        std::fs::write(dir.path().join("k2.key"), k2).unwrap();
        std::fs::write(dir.path().join("bad.key"), [0x13; 16]).unwrap();
        for (i, name) in names.iter().enumerate() {
            let (key, iv) = if i < 2 {
                (&k1, given)
            } else {
                (&k2, (5 + i as u128).to_be_bytes())
            };
            openssl_encrypt(&dir.path().join(name), key, &iv);
        }
        let iv_attr: String = given.iter().map(|x| format!("{x:02X}")).collect();
        let playlist = |second_key: &str| {
            let mut out = String::new();
            for line in media.lines() {
                if line.starts_with("#EXTINF") && out.matches("#EXTINF").count() == 0 {
                    out += &format!("#EXT-X-KEY:METHOD=AES-128,URI=\"k1.key\",IV=0x{iv_attr}\n");
                }
                if line.starts_with("#EXTINF") && out.matches("#EXTINF").count() == 2 {
                    out += &format!("#EXT-X-KEY:METHOD=AES-128,URI=\"{second_key}\"\n");
                }
                out += line;
                out += "\n";
            }
            out
        };
        std::fs::write(dir.path().join("enc.m3u8"), playlist("k2.key")).unwrap();
        std::fs::write(dir.path().join("wrong.m3u8"), playlist("bad.key")).unwrap();
        let oca = serve(dir.path()).await;

        let chunks = Arc::new(Mutex::new(Vec::new()));
        let sink = Recording {
            inner: decoding_sink(),
            chunks: chunks.clone(),
        };
        let o = play(&format!("{}/enc.m3u8", oca.url()), Box::new(sink)).await;
        assert_eq!(o.state, PlayerState::Ended, "{:?}", o.error());
        assert_eq!(o.qoe.segments as usize, names.len(), "{:?}", o.qoe);
        assert_eq!(stalls_after_start(&o.events), 0);
        // Every segment decrypted whole, its first block too (which only the right IV gives).
        let heads: Vec<Vec<u8>> = chunks.lock().unwrap().iter().map(|c| c.1.clone()).collect();
        assert_eq!(heads, clear);

        let o = play(&format!("{}/wrong.m3u8", oca.url()), decoding_sink()).await;
        let error = o.error().expect("the session fails").to_string();
        assert!(
            error.contains("segment 7 could not be played: corrupt segment 7"),
            "{error}"
        );
        assert!(!error.contains('\n'), "{error}");
        oca.shutdown().await;
    });
}

/// A packed audio HLS stream as Apple's packagers write it: 11.5 s of a tone cut by ffmpeg's
/// segment muxer into raw `format` segments of about 4 s, each given an ID3 tag whose PRIV
/// timestamp says when its first sample plays, a media playlist with whole-second `#EXTINF`
/// durations (as many packagers round them) and a multivariant playlist declaring `codecs`.
/// The timestamps start 6 s before the 33-bit rollover, so they wrap within the title. Returns
/// each segment's true start, from the muxer's own list.
fn packed_audio_hls(
    dir: &Path,
    encoder: &str,
    format: &str,
    extension: &str,
    codecs: &str,
) -> Vec<f64> {
    use id3::TagLike;
    let mut ffmpeg = std::process::Command::new("ffmpeg");
    ffmpeg
        .args(["-hide_banner", "-loglevel", "error", "-f", "lavfi"])
        .args(["-i", "sine=frequency=440:duration=11.5:sample_rate=44100"])
        .args([
            "-map", "0:a", "-c:a", encoder, "-b:a", "128k", "-f", "segment",
        ])
        .args(["-segment_time", "4", "-segment_format", format]);
    if format == "mp3" {
        // Raw frames: no ID3 tag or Xing frame of the muxer's own.
        ffmpeg.args(["-segment_format_options", "id3v2_version=0:write_xing=0"]);
    }
    let status = ffmpeg
        .args(["-segment_list_type", "csv", "-segment_list"])
        .arg(dir.join("segments.csv"))
        .arg(dir.join(format!("a%d.{extension}")))
        .status()
        .expect("ffmpeg runs (cargo xtask test installs it)");
    assert!(status.success(), "ffmpeg wrote the {format} segments");
    let list = std::fs::read_to_string(dir.join("segments.csv")).unwrap();
    let mut playlist = String::from(
        "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:5\n#EXT-X-PLAYLIST-TYPE:VOD\n",
    );
    let rollover = 1u64 << 33;
    let mut starts = Vec::new();
    for line in list.lines() {
        let [name, start, end] = line.split(',').collect::<Vec<_>>()[..] else {
            panic!("a segment list line: {line}");
        };
        let (start, end): (f64, f64) = (start.parse().unwrap(), end.parse().unwrap());
        let ticks = (rollover - 6 * 90_000 + (start * 90_000.0).round() as u64) % rollover;
        let mut tag = id3::Tag::new();
        tag.add_frame(id3::frame::Private {
            owner_identifier: "com.apple.streaming.transportStreamTimestamp".into(),
            private_data: ticks.to_be_bytes().to_vec(),
        });
        let mut segment = Vec::new();
        tag.write_to(&mut segment, id3::Version::Id3v24).unwrap();
        segment.extend(std::fs::read(dir.join(name)).unwrap());
        std::fs::write(dir.join(name), segment).unwrap();
        playlist += &format!("#EXTINF:{:.0},\n{name}\n", end - start);
        starts.push(start);
    }
    playlist += "#EXT-X-ENDLIST\n";
    std::fs::write(dir.join("audio.m3u8"), playlist).unwrap();
    std::fs::write(
        dir.join("master.m3u8"),
        format!("#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=140000,CODECS=\"{codecs}\"\naudio.m3u8\n"),
    )
    .unwrap();
    starts
}

/// Media chunks pushed: each one's start and first bytes.
type PushedChunks = Arc<Mutex<Vec<(f64, Vec<u8>)>>>;

/// A sink that hands everything to `inner` and keeps each media chunk's start and first bytes.
struct Recording {
    inner: Box<dyn Sink>,
    chunks: PushedChunks,
}

impl Sink for Recording {
    fn configure(&mut self, inputs: &[(MediaKind, Option<String>)]) -> Result<(), SinkError> {
        self.inner.configure(inputs)
    }
    fn push(&mut self, chunk: Chunk) -> Result<(), SinkError> {
        if !chunk.init {
            let head = chunk.data[..chunk.data.len().min(16)].to_vec();
            self.chunks.lock().unwrap().push((chunk.start_s, head));
        }
        self.inner.push(chunk)
    }
    fn end_of_stream(&mut self, kind: MediaKind) {
        self.inner.end_of_stream(kind)
    }
    fn play(&mut self) {
        self.inner.play()
    }
    fn pause(&mut self) {
        self.inner.pause()
    }
    fn seek(&mut self, position_s: f64) -> Result<(), SinkError> {
        self.inner.seek(position_s)
    }
    fn position_s(&mut self) -> f64 {
        self.inner.position_s()
    }
    fn finished(&mut self) -> bool {
        self.inner.finished()
    }
    fn take_error(&mut self) -> Option<SinkError> {
        self.inner.take_error()
    }
    fn frames_presented(&self) -> u64 {
        self.inner.frames_presented()
    }
    fn first_frame_at(&self) -> Option<std::time::Instant> {
        self.inner.first_frame_at()
    }
}

#[test]
fn packed_audio_renditions_play_headless_to_the_end() {
    // ADTS AAC, MP3, AC-3 and E-AC-3 at once: each session plays its 11.5 s in real time.
    let streams = [
        ("aac", "adts", "aac", "mp4a.40.2"),
        ("libmp3lame", "mp3", "mp3", "mp4a.40.34"),
        ("ac3", "ac3", "ac3", "ac-3"),
        ("eac3", "eac3", "ec3", "ec-3"),
    ];
    runtime().block_on(futures_util::future::join_all(streams.map(
        |(encoder, format, extension, codecs)| async move {
            let dir = tempfile::tempdir().unwrap();
            let starts = packed_audio_hls(dir.path(), encoder, format, extension, codecs);
            let segments = starts.len() as u64;
            assert!(segments >= 3, "{format}: {starts:?}");
            let oca = serve(dir.path()).await;
            for playlist_name in ["master.m3u8", "audio.m3u8"] {
                let what = format!("{format} via {playlist_name}");
                let url = format!("{}/{playlist_name}", oca.url());
                let chunks = Arc::new(Mutex::new(Vec::new()));
                let sink = Recording {
                    inner: decoding_sink(),
                    chunks: chunks.clone(),
                };
                let o = play(&url, Box::new(sink)).await;
                assert_eq!(o.state, PlayerState::Ended, "{what}: {:?}", o.error());
                let fetched = fetched_segments(&o.events);
                assert_eq!(
                    fetched,
                    (0..segments).collect::<Vec<_>>(),
                    "{what}: every segment once"
                );
                assert!(o.qoe.startup_s.is_some(), "{what}: playback started");
                assert_eq!(u64::from(o.qoe.segments), segments, "{what}: {:?}", o.qoe);
                assert_eq!(stalls_after_start(&o.events), 0, "{what}");
                // The decoder got audio frames, not tags, each segment timed by its own
                // timestamp (across the rollover) rather than by the rounded playlist.
                let chunks = chunks.lock().unwrap().clone();
                assert_eq!(chunks.len(), starts.len(), "{what}");
                for ((start_s, head), truth) in chunks.iter().zip(&starts) {
                    assert!(!head.starts_with(b"ID3"), "{what}: {head:?}");
                    assert!(
                        (start_s - truth).abs() < 1e-3,
                        "{what}: a segment pushed at {start_s} s, its samples start at {truth} s"
                    );
                }
            }
            // A segment cut short is refused as what it is, in one line.
            let second = dir.path().join(format!("a1.{extension}"));
            let bytes = std::fs::read(&second).unwrap();
            std::fs::write(&second, &bytes[..bytes.len() - 100]).unwrap();
            let o = play(&format!("{}/audio.m3u8", oca.url()), decoding_sink()).await;
            let error = o.error().expect("the session fails").to_string();
            assert!(
                error.contains("segment 1 could not be played: corrupt segment 1: truncated"),
                "{format}: {error}"
            );
            oca.shutdown().await;
        },
    )));
}

/// Switches rendition every segment (0, 1, 0, …), so each switch starts a new WebM file.
struct Alternate;

impl abr::Abr for Alternate {
    fn name(&self) -> &'static str {
        "alternate"
    }
    fn choose(&mut self, ctx: &abr::Context<'_>) -> abr::Decision {
        abr::Decision {
            rendition: ctx.segment % ctx.ladder.len(),
            reason: "test: every other rendition".into(),
        }
    }
}

#[test]
fn webm_dash_plays_vp9_and_opus_through_switches_and_from_a_start_position() {
    // ffmpeg's WebM DASH: SegmentBase files indexed by Cues, the Cues after the clusters.
    const WEBM_SECONDS: u32 = 8;
    const WEBM_FPS: f64 = 25.0;
    let dir = tempfile::tempdir().unwrap();
    reel_stub::fixtures::ffmpeg_webm_dash(dir.path(), WEBM_SECONDS).unwrap();
    runtime().block_on(async {
        let oca = serve(dir.path()).await;
        let url = Url::parse(&format!("{}/manifest.mpd", oca.url())).unwrap();
        let frame = 1.0 / WEBM_FPS;
        for start_at_s in [0.0, 5.0] {
            let (sink, shown) = frame_timing_sink();
            let config = PlayerConfig {
                start_at_s,
                abr: Box::new(Alternate),
                ..PlayerConfig::default()
            };
            let player = Player::open(url.clone(), sink, config);
            let o = tokio::time::timeout(Duration::from_secs(90), player.finished())
                .await
                .expect("the session ends by itself");
            let what = format!("from {start_at_s} s");
            assert_eq!(o.state, PlayerState::Ended, "{what}: {:?}", o.error());
            assert_eq!(stalls_after_start(&o.events), 0, "{what}");
            // One cluster per 2 s key frame interval, from the cluster holding the start.
            let first = (start_at_s / 2.0).floor() as u64;
            let video = fetched_of(&o.events, MediaKind::Video);
            let numbers: Vec<u64> = video.iter().map(|v| v.segment).collect();
            assert_eq!(numbers, (first + 1..=4).collect::<Vec<_>>(), "{what}");
            let mut renditions: Vec<usize> = video.iter().map(|v| v.rendition).collect();
            renditions.dedup();
            assert_eq!(
                renditions.len(),
                video.len(),
                "{what}: a switch every segment"
            );
            let audio = fetched_of(&o.events, MediaKind::Audio).len();
            assert!(
                audio >= 4 - first as usize,
                "{what}: {audio} audio clusters"
            );
            // Every VP9 frame from the start position to the end was decoded and shown.
            let shown = shown.lock().unwrap().clone();
            let head = *shown.first().expect("frames were shown");
            assert!(
                (head - start_at_s).abs() <= frame + 1e-6,
                "{what}: the first frame shown is at {head:.3} s"
            );
            let last = *shown.last().unwrap();
            assert!(
                last >= f64::from(WEBM_SECONDS) - 2.0 * frame,
                "{what}: played to the end (last frame at {last:.3} s)"
            );
            // The playhead reported counts from the title's start, not from the first cluster.
            let first_position = o.events.iter().find_map(|e| match e.event {
                PlayerEvent::Position { position_s, .. } => Some(position_s),
                _ => None,
            });
            assert!(
                first_position.is_some_and(|p| p >= start_at_s - 0.1),
                "{what}: first position {first_position:?}"
            );
            let expected = ((f64::from(WEBM_SECONDS) - start_at_s) * WEBM_FPS) as usize;
            assert!(
                shown.len().abs_diff(expected) <= 1,
                "{what}: {} frames shown of {expected}",
                shown.len()
            );
        }
        // A seek while playing lands inside a cluster, forward or back past the first cluster
        // played: the frames before the target are decoded but not shown.
        for (start_at_s, to_s) in [(0.0, 6.5), (5.0, 1.5)] {
            let what = format!("from {start_at_s} s to {to_s} s");
            let (sink, shown) = frame_timing_sink();
            let config = PlayerConfig {
                start_at_s,
                ..PlayerConfig::default()
            };
            let player = Player::open(url.clone(), sink, config);
            let playing = async {
                while shown.lock().unwrap().len() < 3 {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            };
            tokio::time::timeout(Duration::from_secs(30), playing)
                .await
                .expect("frames are shown");
            player.command(Command::Seek(to_s));
            let o = tokio::time::timeout(Duration::from_secs(60), player.finished())
                .await
                .unwrap();
            assert_eq!(o.state, PlayerState::Ended, "{what}: {:?}", o.error());
            let shown = shown.lock().unwrap().clone();
            let jump = shown
                .windows(2)
                .position(|w| (w[1] - w[0]).abs() > 2.0 * frame)
                .expect("the frames jump at the seek");
            let after_seek = shown[jump + 1];
            assert!(
                (after_seek - to_s).abs() <= frame + 1e-6,
                "{what}: the first frame after the seek is at {after_seek:.3} s"
            );
            let last = *shown.last().unwrap();
            assert!(
                last >= f64::from(WEBM_SECONDS) - 2.0 * frame,
                "{what}: played to the end (last frame at {last:.3} s)"
            );
        }
        // An index that is neither a sidx box nor Cues fails in one line.
        let mpd = std::fs::read_to_string(dir.path().join("manifest.mpd")).unwrap();
        let broken = mpd.replacen("indexRange=\"", "indexRange=\"0-31\" x=\"", 1);
        std::fs::write(dir.path().join("broken.mpd"), broken).unwrap();
        let o = play(&format!("{}/broken.mpd", oca.url()), decoding_sink()).await;
        let error = o.error().expect("the session fails").to_string();
        assert!(
            error.contains("the index (bytes 0-31) is neither an ISO-BMFF sidx box nor WebM Cues"),
            "{error}"
        );
        oca.shutdown().await;
    });
}

/// The subtitle events of a session: (playhead, text shown or `None` when cleared).
fn subtitles_shown(events: &[TimedEvent]) -> Vec<(f64, Option<String>)> {
    events
        .iter()
        .filter_map(|e| match &e.event {
            PlayerEvent::Subtitle { text, position_s } => Some((*position_s, text.clone())),
            _ => None,
        })
        .collect()
}

/// The warnings of a session about subtitles.
fn subtitle_warnings(events: &[TimedEvent]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match &e.event {
            PlayerEvent::Warning { message } if message.contains("subtitle") => {
                Some(message.clone())
            }
            _ => None,
        })
        .collect()
}

/// Plays `url` to its end with `config`, showing each event to `react` (which may command the
/// player through the handle); panics when it has not ended after 90 s.
async fn play_reacting(
    url: &str,
    config: PlayerConfig,
    mut react: impl FnMut(&PlayerEvent, &PlayerHandle),
) -> SessionOutcome {
    let player = Player::open(Url::parse(url).unwrap(), decoding_sink(), config);
    let handle = player.handle();
    let mut events = player.events();
    let finished = player.finished();
    tokio::pin!(finished);
    let deadline = tokio::time::sleep(Duration::from_secs(90));
    tokio::pin!(deadline);
    loop {
        tokio::select! {
            o = &mut finished => break o,
            e = events.recv() => {
                if let Ok(e) = e {
                    react(&e.event, &handle);
                }
            }
            _ = &mut deadline => panic!("{url}: the session did not end"),
        }
    }
}

#[test]
fn subtitles_in_the_chosen_language_appear_at_their_times_switch_and_go_off() {
    // The shared title's own tracks (en "Second N", fr "Seconde N"): a cue of 1.5 s every 2 s
    // naming the second it starts at. French from the start, English from "Seconde 4", off
    // from "Second 8"; over HLS (WebVTT segments) and DASH (a sidecar) at once.
    runtime().block_on(async {
        let stack = start_stack().await;
        let hls = session(&stack, Format::Hls).await;
        let dash = session(&stack, Format::Dash).await;
        let watch = |url: String| async move {
            let config = PlayerConfig {
                subtitle_language: Some("fr".into()),
                ..PlayerConfig::default()
            };
            play_reacting(&url, config, |e, handle| {
                if let PlayerEvent::Subtitle { text: Some(t), .. } = e {
                    match t.as_str() {
                        "Seconde 4" => handle.command(Command::SelectSubtitles(Some(0))),
                        "Second 8" => handle.command(Command::SelectSubtitles(None)),
                        _ => {}
                    }
                }
            })
            .await
        };
        let (h, d) = tokio::join!(
            watch(hls.manifest_url.clone()),
            watch(dash.manifest_url.clone())
        );
        for (name, o) in [("hls", &h), ("dash", &d)] {
            assert_eq!(o.state, PlayerState::Ended, "{name}: {:?}", o.error());
            let selected: Vec<Option<String>> = o
                .events
                .iter()
                .filter_map(|e| match &e.event {
                    PlayerEvent::SubtitlesSelected { language, .. } => Some(language.clone()),
                    _ => None,
                })
                .collect();
            assert_eq!(
                selected,
                [Some("fr".to_string()), Some("en".to_string()), None],
                "{name}"
            );
            let shown = subtitles_shown(&o.events);
            let texts: Vec<&str> = shown.iter().filter_map(|(_, t)| t.as_deref()).collect();
            assert_eq!(
                texts,
                [
                    "Seconde 0",
                    "Seconde 2",
                    "Seconde 4",
                    "Second 4",
                    "Second 6",
                    "Second 8"
                ],
                "{name}: {shown:?}"
            );
            // Each cue appears at its time (the English one already under way at the switch
            // shows at once) and, unless a switch took it, goes 1.5 s later.
            for (i, (at, text)) in shown.iter().enumerate() {
                let Some(text) = text else { continue };
                let second: f64 = text.rsplit(' ').next().unwrap().parse().unwrap();
                let late = if text == "Second 4" { 1.5 } else { 0.3 };
                assert!(
                    (second - 0.05..second + late).contains(at),
                    "{name}: {text:?} shown at {at:.2} s"
                );
                if let Some((cleared, None)) = shown.get(i + 1)
                    && !matches!(text.as_str(), "Seconde 4" | "Second 8")
                {
                    assert!(
                        (second + 1.45..second + 1.8).contains(cleared),
                        "{name}: {text:?} cleared at {cleared:.2} s"
                    );
                }
            }
            assert_eq!(
                shown.last().map(|s| s.1.clone()),
                Some(None),
                "{name}: off at the end"
            );
            assert_eq!(stalls_after_start(&o.events), 0, "{name}");
        }
        stack.shutdown().await;
    });
}

#[test]
fn a_ttml_sidecar_as_ffmpeg_writes_it_shows_its_cues_beside_a_webvtt_one() {
    // The shared title's DASH manifest with its French track turned into TTML by ffmpeg's own
    // writer (`-f ttml`), the English one left WebVTT: French from the start, English from
    // "Seconde 6" on.
    let (dir, title) = media_copy();
    let ok = std::process::Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-i"])
        .arg(title.join("subtitles_fr.vtt"))
        .args(["-f", "ttml"])
        .arg(title.join("subtitles_fr.ttml"))
        .status()
        .expect("ffmpeg runs")
        .success();
    assert!(ok, "ffmpeg writes TTML");
    let mpd = std::fs::read_to_string(title.join("manifest.mpd")).unwrap();
    let ttml = mpd
        .replace(
            r#"mimeType="text/vtt" lang="fr""#,
            r#"mimeType="application/ttml+xml" codecs="stpp" lang="fr""#,
        )
        .replace("subtitles_fr.vtt", "subtitles_fr.ttml");
    assert_ne!(ttml, mpd, "the French track is there to change");
    std::fs::write(title.join("ttml.mpd"), ttml).unwrap();
    runtime().block_on(async {
        let oca = serve(dir.path()).await;
        let config = PlayerConfig {
            subtitle_language: Some("fr".into()),
            ..PlayerConfig::default()
        };
        let url = format!("{}/demo/ttml.mpd", oca.url());
        let o = play_reacting(&url, config, |e, handle| {
            if matches!(e, PlayerEvent::Subtitle { text: Some(t), .. } if t == "Seconde 6") {
                handle.command(Command::SelectSubtitles(Some(0)));
            }
        })
        .await;
        assert_eq!(o.state, PlayerState::Ended, "{:?}", o.error());
        let shown = subtitles_shown(&o.events);
        let texts: Vec<&str> = shown.iter().filter_map(|(_, t)| t.as_deref()).collect();
        let mut expected: Vec<String> =
            (0..=6).step_by(2).map(|n| format!("Seconde {n}")).collect();
        expected.push("Second 6".into());
        expected.extend((8..SECONDS).step_by(2).map(|n| format!("Second {n}")));
        assert_eq!(texts, expected, "{shown:?}");
        // Each TTML cue appears at its time and goes 1.5 s later.
        for (i, (at, text)) in shown.iter().enumerate() {
            let Some(text) = text.as_deref().filter(|t| t.starts_with("Seconde ")) else {
                continue;
            };
            let second: f64 = text.rsplit(' ').next().unwrap().parse().unwrap();
            assert!(
                (second - 0.05..second + 0.3).contains(at),
                "{text:?} shown at {at:.2} s"
            );
            if text != "Seconde 6" {
                let cleared = shown[i + 1].0;
                assert!(
                    (second + 1.45..second + 1.8).contains(&cleared),
                    "{text:?} cleared at {cleared:.2} s"
                );
            }
        }
        let warnings = subtitle_warnings(&o.events);
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(stalls_after_start(&o.events), 0);
        oca.shutdown().await;
    });
}

/// A box: size, kind, body.
fn mp4_box(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
    let mut out = u32::try_from(body.len() + 8)
        .unwrap()
        .to_be_bytes()
        .to_vec();
    out.extend_from_slice(kind);
    out.extend_from_slice(body);
    out
}

/// A full box: version and flags, then the body.
fn mp4_full_box(kind: &[u8; 4], version: u8, flags: u32, body: &[u8]) -> Vec<u8> {
    let mut b = ((u32::from(version) << 24) | flags).to_be_bytes().to_vec();
    b.extend_from_slice(body);
    mp4_box(kind, &b)
}

/// A fragmented MP4 text track as ISO/IEC 14496-30 lays it out, written by this test so that
/// both kinds can be made (ffmpeg writes neither fragmented): `init.mp4` with a `wvtt` or
/// `stpp` sample entry (timescale 1000), and `seg_N.m4s` of `segment_s` seconds each, timed from
/// `base_ms` on the media timeline. `samples(start_s, end_s)` gives a segment's samples:
/// (duration in ms, bytes).
fn write_fmp4_text_track(
    dir: &Path,
    stpp: bool,
    base_ms: u64,
    segment_s: u32,
    seconds: u32,
    samples: impl Fn(u32, u32) -> Vec<(u32, Vec<u8>)>,
) {
    std::fs::create_dir_all(dir).unwrap();
    let matrix: Vec<u8> = [0x0001_0000u32, 0, 0, 0, 0x0001_0000, 0, 0, 0, 0x4000_0000]
        .iter()
        .flat_map(|v| v.to_be_bytes())
        .collect();
    let mut mvhd = vec![0u8; 8];
    mvhd.extend_from_slice(&1000u32.to_be_bytes());
    mvhd.extend_from_slice(&0u32.to_be_bytes());
    mvhd.extend_from_slice(&0x0001_0000u32.to_be_bytes());
    mvhd.extend_from_slice(&0x0100u16.to_be_bytes());
    mvhd.extend_from_slice(&[0; 10]);
    mvhd.extend_from_slice(&matrix);
    mvhd.extend_from_slice(&[0; 24]);
    mvhd.extend_from_slice(&2u32.to_be_bytes());
    let mut tkhd = vec![0u8; 8];
    tkhd.extend_from_slice(&1u32.to_be_bytes());
    tkhd.extend_from_slice(&[0; 4 + 4 + 8 + 2 + 2 + 2 + 2]);
    tkhd.extend_from_slice(&matrix);
    tkhd.extend_from_slice(&[0; 8]);
    let mut mdhd = vec![0u8; 8];
    mdhd.extend_from_slice(&1000u32.to_be_bytes());
    mdhd.extend_from_slice(&0u32.to_be_bytes());
    mdhd.extend_from_slice(&[0x55, 0xc4, 0, 0]);
    let handler: &[u8; 4] = if stpp { b"subt" } else { b"text" };
    let mut hdlr = vec![0u8; 4];
    hdlr.extend_from_slice(handler);
    hdlr.extend_from_slice(&[0; 12]);
    hdlr.extend_from_slice(b"Reel test\0");
    let entry_head = [0u8, 0, 0, 0, 0, 0, 0, 1];
    let entry = if stpp {
        let mut b = entry_head.to_vec();
        b.extend_from_slice(b"http://www.w3.org/ns/ttml\0\0\0");
        mp4_box(b"stpp", &b)
    } else {
        let mut b = entry_head.to_vec();
        b.extend_from_slice(&mp4_box(b"vttC", b"WEBVTT"));
        mp4_box(b"wvtt", &b)
    };
    let header_box = if stpp {
        mp4_full_box(b"sthd", 0, 0, &[])
    } else {
        mp4_full_box(b"nmhd", 0, 0, &[])
    };
    let empty_table = |kind| mp4_full_box(kind, 0, 0, &0u32.to_be_bytes());
    let stbl = mp4_box(
        b"stbl",
        &[
            mp4_full_box(
                b"stsd",
                0,
                0,
                &[1u32.to_be_bytes().to_vec(), entry].concat(),
            ),
            empty_table(b"stts"),
            empty_table(b"stsc"),
            mp4_full_box(b"stsz", 0, 0, &[0; 8]),
            empty_table(b"stco"),
        ]
        .concat(),
    );
    let dref = mp4_full_box(
        b"dref",
        0,
        0,
        &[
            1u32.to_be_bytes().to_vec(),
            mp4_full_box(b"url ", 0, 1, &[]),
        ]
        .concat(),
    );
    let minf = mp4_box(
        b"minf",
        &[header_box, mp4_box(b"dinf", &dref), stbl].concat(),
    );
    let mdia = mp4_box(
        b"mdia",
        &[
            mp4_full_box(b"mdhd", 0, 0, &mdhd),
            mp4_full_box(b"hdlr", 0, 0, &hdlr),
            minf,
        ]
        .concat(),
    );
    let trak = mp4_box(
        b"trak",
        &[mp4_full_box(b"tkhd", 0, 3, &tkhd), mdia].concat(),
    );
    let trex: Vec<u8> = [1u32, 1, 0, 0, 0]
        .iter()
        .flat_map(|v| v.to_be_bytes())
        .collect();
    let mvex = mp4_box(b"mvex", &mp4_full_box(b"trex", 0, 0, &trex));
    let moov = mp4_box(
        b"moov",
        &[mp4_full_box(b"mvhd", 0, 0, &mvhd), trak, mvex].concat(),
    );
    let ftyp = mp4_box(b"ftyp", b"iso6\0\0\0\0iso6dash");
    std::fs::write(dir.join("init.mp4"), [ftyp, moov].concat()).unwrap();

    for (i, start) in (0..seconds).step_by(segment_s as usize).enumerate() {
        let end = (start + segment_s).min(seconds);
        let samples = samples(start, end);
        let total: u32 = samples.iter().map(|s| s.0).sum();
        assert_eq!(total, (end - start) * 1000, "samples fill the segment");
        let tfhd = mp4_full_box(b"tfhd", 0, 0x02_0000, &1u32.to_be_bytes());
        let decode = base_ms + u64::from(start) * 1000;
        let tfdt = mp4_full_box(b"tfdt", 1, 0, &decode.to_be_bytes());
        // Header, version and flags, sample count, data offset, then per sample.
        let trun_len = 8 + 4 + 4 + 4 + samples.len() * 8;
        let moof_len = 8 + (8 + 8) + (8 + (8 + 8) + (8 + 12) + trun_len);
        let mut trun = u32::try_from(samples.len()).unwrap().to_be_bytes().to_vec();
        trun.extend_from_slice(&u32::try_from(moof_len + 8).unwrap().to_be_bytes());
        for (duration, bytes) in &samples {
            trun.extend_from_slice(&duration.to_be_bytes());
            trun.extend_from_slice(&u32::try_from(bytes.len()).unwrap().to_be_bytes());
        }
        let trun = mp4_full_box(b"trun", 0, 0x000301, &trun);
        let traf = mp4_box(b"traf", &[tfhd, tfdt, trun].concat());
        let mfhd = mp4_full_box(b"mfhd", 0, 0, &u32::try_from(i + 1).unwrap().to_be_bytes());
        let moof = mp4_box(b"moof", &[mfhd, traf].concat());
        assert_eq!(moof.len(), moof_len);
        let data: Vec<u8> = samples.into_iter().flat_map(|s| s.1).collect();
        std::fs::write(
            dir.join(format!("seg_{}.m4s", i + 1)),
            [moof, mp4_box(b"mdat", &data)].concat(),
        )
        .unwrap();
    }
}

/// What ffprobe reads of an init segment and its first media segment: the stream's codec tag,
/// and each packet's time (in the track's ticks).
fn ffprobe_text_track(dir: &Path) -> (String, Vec<String>) {
    let joined = dir.join("joined.mp4");
    let bytes = [
        std::fs::read(dir.join("init.mp4")).unwrap(),
        std::fs::read(dir.join("seg_1.m4s")).unwrap(),
    ]
    .concat();
    std::fs::write(&joined, bytes).unwrap();
    let probe = |entries: &str| {
        let out = std::process::Command::new("ffprobe")
            .args(["-v", "error", "-of", "csv=p=0", "-show_entries", entries])
            .arg(&joined)
            .output()
            .expect("ffprobe runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{stderr}");
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    };
    let stream = probe("stream=codec_tag_string");
    let packets = probe("packet=pts").lines().map(str::to_owned).collect();
    std::fs::remove_file(&joined).unwrap();
    (stream, packets)
}

#[test]
fn wvtt_and_stpp_tracks_in_fragmented_mp4_show_their_cues() {
    // Two more tracks beside the shared title's DASH sidecars: German as WebVTT in MP4 (a cue
    // sample of 1.5 s and an empty one every 2 s), Spanish as TTML in MP4 (a document per
    // 4 s segment, timed on the media timeline). Both start an hour into their media
    // timeline, as a packager cutting a live encoder's output writes them. German from the
    // start, Spanish from "Sekunde 6".
    let (dir, title) = media_copy();
    let base_ms = 3_600_000;
    // The title runs a little over its 16 s, into a fifth segment: the tracks go on past it,
    // with no cue.
    write_fmp4_text_track(
        &title.join("wvtt"),
        false,
        base_ms,
        4,
        SECONDS + 4,
        |start, end| {
            (start..end)
                .step_by(2)
                .flat_map(|n| {
                    let cue = mp4_box(
                        b"vttc",
                        &mp4_box(b"payl", format!("Sekunde {n}").as_bytes()),
                    );
                    if n < SECONDS {
                        vec![(1500, cue), (500, mp4_box(b"vtte", &[]))]
                    } else {
                        vec![(2000, mp4_box(b"vtte", &[]))]
                    }
                })
                .collect()
        },
    );
    write_fmp4_text_track(
        &title.join("stpp"),
        true,
        base_ms,
        4,
        SECONDS + 4,
        |start, end| {
            let paragraphs: String = (start..end.min(SECONDS))
                .step_by(2)
                .map(|n| {
                    let at = base_ms + u64::from(n) * 1000;
                    format!(r#"<p begin="{at}ms" dur="1500ms">Segundo {n}</p>"#)
                })
                .collect();
            let doc = format!(
                r#"<?xml version="1.0" encoding="UTF-8"?><tt xmlns="http://www.w3.org/ns/ttml" xml:lang="es"><body><div>{paragraphs}</div></body></tt>"#
            );
            vec![((end - start) * 1000, doc.into_bytes())]
        },
    );
    // ffmpeg's MP4 reader (which decodes neither kind) finds each track and its samples where
    // and when they are.
    let (tag, packets) = ffprobe_text_track(&title.join("stpp"));
    assert_eq!(
        (tag.as_str(), &packets[..]),
        ("stpp", &["3600000".to_string()][..])
    );
    let (tag, packets) = ffprobe_text_track(&title.join("wvtt"));
    assert_eq!(tag, "wvtt");
    assert_eq!(packets, ["3600000", "3601500", "3602000", "3603500"]);
    let sets = ["wvtt:de", "stpp:es"]
        .map(|kind_lang| {
            let (kind, lang) = kind_lang.split_once(':').unwrap();
            format!(
                r#"    <AdaptationSet contentType="text" mimeType="application/mp4" codecs="{kind}" lang="{lang}">
      <Role schemeIdUri="urn:mpeg:dash:role:2011" value="subtitle"/>
      <SegmentTemplate timescale="1000" duration="4000" startNumber="1" presentationTimeOffset="{base_ms}" initialization="{kind}/init.mp4" media="{kind}/seg_$Number$.m4s"/>
      <Representation id="{kind}_{lang}" bandwidth="2000"/>
    </AdaptationSet>
"#
            )
        })
        .concat();
    let mpd = std::fs::read_to_string(title.join("manifest.mpd")).unwrap();
    let with_mp4 = mpd.replacen("  </Period>", &format!("{sets}  </Period>"), 1);
    assert_ne!(with_mp4, mpd);
    std::fs::write(title.join("mp4text.mpd"), with_mp4).unwrap();
    runtime().block_on(async {
        let oca = serve(dir.path()).await;
        let config = PlayerConfig {
            subtitle_language: Some("de".into()),
            ..PlayerConfig::default()
        };
        let url = format!("{}/demo/mp4text.mpd", oca.url());
        let o = play_reacting(&url, config, |e, handle| {
            if matches!(e, PlayerEvent::Subtitle { text: Some(t), .. } if t == "Sekunde 6") {
                handle.command(Command::SelectSubtitles(Some(3)));
            }
        })
        .await;
        assert_eq!(o.state, PlayerState::Ended, "{:?}", o.error());
        let selected: Vec<Option<String>> = o
            .events
            .iter()
            .filter_map(|e| match &e.event {
                PlayerEvent::SubtitlesSelected { language, .. } => Some(language.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(selected, [Some("de".to_string()), Some("es".to_string())]);
        let shown = subtitles_shown(&o.events);
        let texts: Vec<&str> = shown.iter().filter_map(|(_, t)| t.as_deref()).collect();
        let mut expected: Vec<String> =
            (0..=6).step_by(2).map(|n| format!("Sekunde {n}")).collect();
        expected.extend((6..SECONDS).step_by(2).map(|n| format!("Segundo {n}")));
        assert_eq!(texts, expected, "{shown:?}");
        // Each cue appears at its time (the Spanish one under way at the switch at once) and
        // goes 1.5 s later.
        for (i, (at, text)) in shown.iter().enumerate() {
            let Some(text) = text else { continue };
            let second: f64 = text.rsplit(' ').next().unwrap().parse().unwrap();
            let late = if text == "Segundo 6" { 1.5 } else { 0.3 };
            assert!(
                (second - 0.05..second + late).contains(at),
                "{text:?} shown at {at:.2} s"
            );
            if text != "Sekunde 6"
                && let Some((cleared, None)) = shown.get(i + 1)
            {
                assert!(
                    (second + 1.45..second + 1.8).contains(cleared),
                    "{text:?} cleared at {cleared:.2} s"
                );
            }
        }
        let warnings = subtitle_warnings(&o.events);
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(stalls_after_start(&o.events), 0);
        oca.shutdown().await;
    });
}

#[test]
fn the_audio_language_follows_the_config_and_switches_while_playing() {
    // The shared title's two audio tracks (English, and French a fifth up): French from the
    // start as configured, English from 6 s on; over HLS and DASH. The caches see which files
    // are fetched (CMCD records each request's path).
    let (dir, _) = media_copy();
    runtime().block_on(async {
        let oca = serve(dir.path()).await;
        for manifest in ["master.m3u8", "manifest.mpd"] {
            let before = oca.cmcd_records().len();
            let config = PlayerConfig {
                audio_language: Some("fr".into()),
                ..PlayerConfig::default()
            };
            let url = format!("{}/demo/{manifest}", oca.url());
            let mut switched_at = None;
            let o = play_reacting(&url, config, |e, handle| {
                if let PlayerEvent::Position { position_s, .. } = e
                    && *position_s >= 6.0
                    && switched_at.is_none()
                {
                    switched_at = Some(*position_s);
                    handle.command(Command::SelectAudio(0));
                }
            })
            .await;
            assert_eq!(o.state, PlayerState::Ended, "{manifest}: {:?}", o.error());
            let switched_at = switched_at.expect("the playhead passed 6 s");
            // The audio files fetched, in order: French until the switch, English after it.
            let audio: Vec<String> = oca.cmcd_records()[before..]
                .iter()
                .filter(|r| r.path.contains("/audio_aac") && r.path.ends_with(".mp4"))
                .map(|r| r.path.rsplit('/').next().unwrap().to_owned())
                .collect();
            let first_english = audio
                .iter()
                .position(|p| p == "audio_aac.mp4")
                .unwrap_or_else(|| panic!("{manifest}: no English audio fetched: {audio:?}"));
            assert!(first_english > 0, "{manifest}: French first: {audio:?}");
            assert!(
                audio[..first_english]
                    .iter()
                    .all(|p| p == "audio_aac_fr.mp4")
                    && audio[first_english..].iter().all(|p| p == "audio_aac.mp4"),
                "{manifest}: {audio:?}"
            );
            // The playhead stays where it was (the switch re-buffers from there) and no stall
            // is counted.
            let seeked: Vec<f64> = o
                .events
                .iter()
                .filter_map(|e| match e.event {
                    PlayerEvent::Seeked { position_s } => Some(position_s),
                    _ => None,
                })
                .collect();
            assert!(
                seeked.len() == 1 && (seeked[0] - switched_at).abs() < 1.0,
                "{manifest}: switched at {switched_at:.2} s, resumed at {seeked:?}"
            );
            assert_eq!(stalls_after_start(&o.events), 0, "{manifest}");
        }
        oca.shutdown().await;
    });
}
