//! The chaos suite: real `reel-stub` caches and steering server on loopback, faults injected
//! through the caches' controls while the engine plays (after the DASH-IF livesim2 fault
//! patterns), and what a viewer would notice asserted: the session completes, no segment is
//! played twice or skipped, a cache death with buffer in hand costs no stall, and the next
//! segment comes from another pathway within one request timeout.
//!
//! A seeded throttle-and-outage schedule on the viewer's link (every cache at once) plays a 60 s
//! title against the default ABR: no stall, where BBA stalls.
//!
//! `cargo test -p player-core --test chaos -- --ignored --nocapture` runs the long versions:
//! 100 randomized sessions, and every algorithm over eight schedules, with their figures.

mod common;
use common::runtime;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use player_core::BufferPolicy;
use player_core::cmcd::CmcdMode;
use player_core::events::{PlayerEvent, TimedEvent};
use player_core::fetch::FetchConfig;
use player_core::presentation::MediaKind;
use player_core::sink::NullSink;
use player_core::{Player, PlayerConfig, PlayerState, SessionError, SessionOutcome, Url};
use reel_protocol::{FaultsUpdate, Format, LoginResponse, PlaybackResponse};
use reel_stub::backend::{BackendConfig, BackendServer, SteeringFault};
use reel_stub::encode::{self, EncodeOptions, Ladder, LadderChoice, Source};
use reel_stub::oca::{Oca, OcaConfig};
use reel_stub::title::TitleMeta;

const SECONDS: u32 = 30;
const SEGMENT_S: u32 = 2;
const SEGMENTS: usize = (SECONDS / SEGMENT_S) as usize;

/// The synthetic title, `seconds` long, in 2 s segments on a 300/700/1500 kbit/s ladder.
fn encode_title(seconds: u32) -> (tempfile::TempDir, TitleMeta) {
    let dir = tempfile::tempdir().unwrap();
    let mut opts = EncodeOptions::new(Source::Synthetic { seconds }, dir.path(), "demo");
    opts.ladder = LadderChoice::Fixed(Ladder::from_cli("240:300,360:700,480:1500", 96).unwrap());
    opts.segment_duration_s = SEGMENT_S;
    opts.preset = "ultrafast".into();
    opts.progress = false;
    let title = encode::encode(&opts).unwrap();
    (dir, title)
}

fn media() -> &'static (tempfile::TempDir, TitleMeta) {
    static MEDIA: OnceLock<(tempfile::TempDir, TitleMeta)> = OnceLock::new();
    MEDIA.get_or_init(|| encode_title(SECONDS))
}

/// A 60 s title for the throttle-and-outage schedule: long enough for the ABR's choices to matter.
fn long_media() -> &'static (tempfile::TempDir, TitleMeta) {
    static MEDIA: OnceLock<(tempfile::TempDir, TitleMeta)> = OnceLock::new();
    MEDIA.get_or_init(|| encode_title(60))
}

/// A 180 s title for the cliff schedule: long enough to reach a cliff with a thin buffer after
/// the first minute's choices.
fn longer_media() -> &'static (tempfile::TempDir, TitleMeta) {
    static MEDIA: OnceLock<(tempfile::TempDir, TitleMeta)> = OnceLock::new();
    MEDIA.get_or_init(|| encode_title(180))
}

/// Three caches (with fault controls) and the playback API / steering server.
struct Rig {
    caches: Vec<Oca>,
    backend: Option<BackendServer>,
}

impl Rig {
    async fn start(extra: Vec<(String, String)>) -> Rig {
        Rig::start_with(media().0.path(), extra).await
    }

    async fn start_with(root: &std::path::Path, extra: Vec<(String, String)>) -> Rig {
        Rig::start_steered(root, extra, 2).await
    }

    /// [`Rig::start_with`], the steering server answering with a TTL of `steering_ttl_s`.
    async fn start_steered(
        root: &std::path::Path,
        extra: Vec<(String, String)>,
        steering_ttl_s: u64,
    ) -> Rig {
        let mut caches = Vec::new();
        for i in 0..3 {
            caches.push(
                Oca::start(OcaConfig {
                    id: format!("oca-{}", i + 1),
                    root: root.to_path_buf(),
                    listen: "127.0.0.1:0".parse::<SocketAddr>().unwrap(),
                    admin: Some("127.0.0.1:0".parse().unwrap()),
                })
                .await
                .unwrap(),
            );
        }
        let mut pathways: Vec<(String, String)> = caches
            .iter()
            .map(|c| (c.id().to_string(), c.url()))
            .collect();
        pathways.extend(extra);
        let mut config = BackendConfig::new(root, "127.0.0.1:0".parse().unwrap(), pathways);
        config.steering_ttl_s = steering_ttl_s;
        config.health_interval = Duration::from_millis(300);
        let backend = BackendServer::start(config).await.unwrap();
        Rig {
            caches,
            backend: Some(backend),
        }
    }

    fn cache(&self, id: &str) -> &Oca {
        self.caches.iter().find(|c| c.id() == id).unwrap()
    }

    async fn session(&self, format: Format) -> PlaybackResponse {
        let client = reqwest::Client::new();
        let api = self.backend.as_ref().unwrap().url();
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

    async fn shutdown(mut self) {
        if let Some(b) = self.backend.take() {
            b.shutdown().await;
        }
        for c in self.caches {
            c.shutdown().await;
        }
    }
}

/// The playback API's pathway order, and a buffer kept between 6 and 10 s so that faults land
/// mid-title rather than after everything is buffered.
fn config_for(session: &PlaybackResponse) -> PlayerConfig {
    PlayerConfig {
        pathway_order: session.pathways.iter().map(|p| p.id.clone()).collect(),
        buffer: BufferPolicy {
            low_watermark_s: 6.0,
            high_watermark_s: 10.0,
            ..BufferPolicy::default()
        },
        ..PlayerConfig::default()
    }
}

/// A video segment as the session fetched it.
#[derive(Debug, Clone)]
struct Fetched {
    t_s: f64,
    number: u64,
    pathway: Option<String>,
}

fn video_segments(events: &[TimedEvent]) -> Vec<Fetched> {
    events
        .iter()
        .filter_map(|e| match &e.event {
            PlayerEvent::SegmentFetched {
                kind: MediaKind::Video,
                segment,
                pathway,
                ..
            } => Some(Fetched {
                t_s: e.t_s,
                number: *segment,
                pathway: pathway.clone(),
            }),
            _ => None,
        })
        .collect()
}

fn stalls(events: &[TimedEvent]) -> usize {
    events
        .iter()
        .filter(|e| matches!(e.event, PlayerEvent::StallStart { .. }))
        .count()
}

fn buffer_at(events: &[TimedEvent], t_s: f64) -> f64 {
    events
        .iter()
        .filter(|e| e.t_s <= t_s)
        .filter_map(|e| match e.event {
            PlayerEvent::Position { buffer_s, .. } => Some(buffer_s),
            _ => None,
        })
        .next_back()
        .unwrap_or(0.0)
}

/// The session played to the end, every video segment exactly once and in order.
fn assert_complete(name: &str, o: &SessionOutcome) {
    assert_eq!(o.state, PlayerState::Ended, "{name}: {:?}", o.error());
    let numbers: Vec<u64> = video_segments(&o.events).iter().map(|f| f.number).collect();
    assert_eq!(numbers.len(), SEGMENTS, "{name}: segments {numbers:?}");
    assert!(
        numbers.windows(2).all(|w| w[1] == w[0] + 1),
        "{name}: a segment was skipped or played twice: {numbers:?}"
    );
}

/// Plays `url`, calling `fault` once playback has started and the buffer holds `after_buffer_s`;
/// returns the outcome and the fault's time on the session clock.
async fn play_with_fault<F, Fut>(
    url: &str,
    config: PlayerConfig,
    rate: f64,
    after_buffer_s: f64,
    fault: F,
) -> (SessionOutcome, Option<f64>)
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    play_with_fault_when(url, config, rate, after_buffer_s, false, fault).await
}

/// As [`play_with_fault`], but the fault comes right after a video segment is requested (its
/// `AbrDecision`), so that a request is in flight when it strikes.
async fn play_with_fault_in_flight<F, Fut>(
    url: &str,
    config: PlayerConfig,
    after_buffer_s: f64,
    fault: F,
) -> (SessionOutcome, Option<f64>)
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    play_with_fault_when(url, config, 1.0, after_buffer_s, true, fault).await
}

async fn play_with_fault_when<F, Fut>(
    url: &str,
    config: PlayerConfig,
    rate: f64,
    after_buffer_s: f64,
    on_video_request: bool,
    fault: F,
) -> (SessionOutcome, Option<f64>)
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let opened = Instant::now();
    let player = Player::open(
        Url::parse(url).unwrap(),
        Box::new(NullSink::default().with_rate(rate)),
        config,
    );
    let mut events = player.events();
    let mut fault = Some(fault);
    let mut fault_at = None;
    let mut buffer_s = 0.0;
    let mut playing = false;
    let finished = player.finished();
    tokio::pin!(finished);
    let deadline = tokio::time::sleep(Duration::from_secs(120));
    tokio::pin!(deadline);
    loop {
        tokio::select! {
            outcome = &mut finished => return (outcome, fault_at),
            e = events.recv() => {
                let Ok(e) = e else { continue };
                let requested = matches!(e.event, PlayerEvent::AbrDecision { .. });
                match e.event {
                    PlayerEvent::Position { buffer_s: b, .. } => buffer_s = b,
                    PlayerEvent::FirstFrame { .. } => playing = true,
                    _ => {}
                }
                if playing
                    && buffer_s >= after_buffer_s
                    && (requested || !on_video_request)
                    && let Some(f) = fault.take()
                {
                    f().await;
                    fault_at = Some(opened.elapsed().as_secs_f64());
                }
            }
            _ = &mut deadline => panic!("the session did not end within 120 s"),
        }
    }
}

/// After a fault on `dead`, no healthy pathway was blamed for it: every failure-driven switch
/// left `dead` (audio and video requests to the dead cache can fail after the session moved on;
/// those must not count against the pathway it moved to).
fn assert_only_dead_blamed(name: &str, o: &SessionOutcome, dead: &str, fault_at: f64) {
    for e in o.events.iter().filter(|e| e.t_s >= fault_at) {
        if let PlayerEvent::PathwaySwitch { from, reason, .. } = &e.event
            && reason.contains("failed on")
        {
            assert_eq!(
                from.as_deref(),
                Some(dead),
                "{name}: a healthy pathway was left at {:.1} s: {reason}",
                e.t_s
            );
        }
    }
}

/// After a fault on `dead`, the next video segment came from another pathway within one
/// request timeout.
fn assert_moved_on(name: &str, o: &SessionOutcome, dead: &str, fault_at: f64) {
    let segments = video_segments(&o.events);
    let next = segments
        .iter()
        .find(|f| f.t_s > fault_at)
        .unwrap_or_else(|| panic!("{name}: no segment after the fault"));
    assert_ne!(
        next.pathway.as_deref(),
        Some(dead),
        "{name}: segment {} still came from {dead}",
        next.number
    );
    let limit = FetchConfig::default().ttfb_timeout.as_secs_f64() + SEGMENT_S as f64;
    assert!(
        next.t_s - fault_at <= limit,
        "{name}: the next segment took {:.2} s after the fault (limit {limit} s)",
        next.t_s - fault_at
    );
    assert!(
        o.events.iter().any(|e| matches!(&e.event,
            PlayerEvent::PathwaySwitch { from: Some(f), .. } if f == dead)),
        "{name}: no PathwaySwitch away from {dead}"
    );
}

#[test]
fn a_cache_killed_with_a_request_in_flight_costs_no_stall_and_play_moves_to_the_next_pathway() {
    runtime().block_on(async {
        // The steering server is asked again only after 10 s: seeing the first cache slow, it
        // would otherwise put another first at the second poll (2 s in, as the kill comes), and
        // no request would be in flight to the first when it dies.
        let rig = Rig::start_steered(media().0.path(), Vec::new(), 10).await;
        let s = rig.session(Format::Hls).await;
        let first = s.pathways[0].id.clone();
        // Every answer from the first cache waits 400 ms, and the cache dies 100 ms after a video
        // segment was requested from it: that request is in flight when the connection is cut.
        rig.cache(&first).set_faults(&FaultsUpdate {
            latency_ms: Some(400),
            ..Default::default()
        });
        let (o, at) = play_with_fault_in_flight(&s.manifest_url, config_for(&s), 6.0, || async {
            tokio::time::sleep(Duration::from_millis(100)).await;
            rig.cache(&first).set_faults(&FaultsUpdate {
                up: Some(false),
                ..Default::default()
            });
        })
        .await;
        let at = at.expect("the fault was injected");
        assert_complete("killed", &o);
        assert!(buffer_at(&o.events, at) >= 4.0, "buffer at the kill");
        assert_eq!(
            stalls(&o.events),
            0,
            "a cache death with buffer costs no stall"
        );
        assert_moved_on("killed", &o, &first, at);
        assert_only_dead_blamed("killed", &o, &first, at);
        // The request in flight failed (it was cut, not finished), and its segment came from the
        // next pathway.
        assert!(
            o.events.iter().any(|e| e.t_s >= at
                && matches!(&e.event, PlayerEvent::PathwaySwitch { from: Some(f), reason, .. }
                    if f == &first && reason.contains("failed on"))),
            "killed: the request in flight did not fail over"
        );
        let next = video_segments(&o.events)
            .into_iter()
            .find(|f| f.t_s >= at)
            .expect("a segment after the kill");
        eprintln!(
            "killed with a request in flight: segment {} from {:?} {:.2} s after the kill",
            next.number,
            next.pathway,
            next.t_s - at
        );
        rig.shutdown().await;
    });
}

#[test]
fn dash_cache_refusing_connections_fails_over_without_a_stall() {
    runtime().block_on(async {
        let rig = Rig::start(Vec::new()).await;
        let s = rig.session(Format::Dash).await;
        let first = s.pathways[0].id.clone();
        let (o, at) = play_with_fault(&s.manifest_url, config_for(&s), 1.0, 6.0, || async {
            rig.cache(&first).set_faults(&FaultsUpdate {
                up: Some(false),
                ..Default::default()
            });
        })
        .await;
        assert_complete("refused", &o);
        assert_eq!(stalls(&o.events), 0);
        assert_moved_on("refused", &o, &first, at.unwrap());
        assert_only_dead_blamed("refused", &o, &first, at.unwrap());
        rig.shutdown().await;
    });
}

#[test]
fn every_cache_down_fails_once_the_buffer_is_spent_saying_all_pathways_are_down() {
    runtime().block_on(async {
        let rig = Rig::start(Vec::new()).await;
        let s = rig.session(Format::Hls).await;
        let mut ids: Vec<String> = s.pathways.iter().map(|p| p.id.clone()).collect();
        let (o, _) = play_with_fault(&s.manifest_url, config_for(&s), 4.0, 4.0, || async {
            for id in &ids {
                rig.cache(id).set_faults(&FaultsUpdate {
                    up: Some(false),
                    ..Default::default()
                });
            }
        })
        .await;
        match o.failure() {
            Some(SessionError::AllPathwaysDown { pathways, message }) => {
                let mut named = pathways.clone();
                named.sort();
                ids.sort();
                assert_eq!(named, ids);
                assert!(message.contains("could not be played"), "{message}");
            }
            other => panic!("expected every pathway down, got {other:?}"),
        }
        rig.shutdown().await;
    });
}

#[test]
fn bursts_of_5xx_and_dropped_bodies_are_survived() {
    runtime().block_on(async {
        let rig = Rig::start(Vec::new()).await;
        let s = rig.session(Format::Hls).await;
        let first = s.pathways[0].id.clone();
        let second = s.pathways[1].id.clone();
        rig.cache(&first).set_faults(&FaultsUpdate {
            error_rate: Some(0.5),
            ..Default::default()
        });
        rig.cache(&second).set_faults(&FaultsUpdate {
            drop_rate: Some(0.5),
            ..Default::default()
        });
        let (o, _) = play_with_fault(&s.manifest_url, config_for(&s), 2.0, 0.0, || async {}).await;
        assert_complete("5xx and drops", &o);
        assert!(
            o.events
                .iter()
                .any(|e| matches!(e.event, PlayerEvent::Retry { .. })),
            "failures were retried"
        );
        rig.shutdown().await;
    });
}

#[test]
fn two_seconds_of_added_latency_and_a_throughput_collapse_degrade_but_play_on() {
    runtime().block_on(async {
        let rig = Rig::start(Vec::new()).await;
        let s = rig.session(Format::Hls).await;
        let first = s.pathways[0].id.clone();
        let (o, _) = play_with_fault(&s.manifest_url, config_for(&s), 1.0, 6.0, || async {
            rig.cache(&first).set_faults(&FaultsUpdate {
                latency_ms: Some(2000),
                throughput_kbps: Some(200),
                ..Default::default()
            });
        })
        .await;
        assert_complete("latency and 200 kbit/s", &o);
        // The viewer sees a lower rendition or another cache, not a stop.
        let segments = video_segments(&o.events);
        let moved = segments[4..]
            .iter()
            .any(|f| f.pathway.as_deref() != Some(&first));
        let renditions: Vec<usize> = o
            .events
            .iter()
            .filter_map(|e| match e.event {
                PlayerEvent::SegmentFetched {
                    kind: MediaKind::Video,
                    rendition,
                    ..
                } => Some(rendition),
                _ => None,
            })
            .collect();
        let lowered = renditions[4..].iter().any(|&r| r < renditions[3]);
        assert!(
            moved || lowered,
            "neither another pathway nor a lower rendition: {renditions:?}"
        );
        rig.shutdown().await;
    });
}

#[test]
fn a_long_round_trip_is_neither_a_dead_server_nor_a_slow_download() {
    // Every cache answers after 1.2 s (a satellite path), then sends quickly. With the buffer
    // empty at start, the wait for an answer was cut at 0.5 s and playback never began; and a
    // download's first second, all waiting, must not be judged as its rate.
    runtime().block_on(async {
        let rig = Rig::start(Vec::new()).await;
        let s = rig.session(Format::Hls).await;
        for p in &s.pathways {
            rig.cache(&p.id).set_faults(&FaultsUpdate {
                latency_ms: Some(1200),
                ..Default::default()
            });
        }
        let (o, _) = play_with_fault(&s.manifest_url, config_for(&s), 1.0, 0.0, || async {}).await;
        assert_complete("1.2 s round trips", &o);
        let given_up: Vec<String> = o
            .events
            .iter()
            .filter_map(|e| match &e.event {
                PlayerEvent::Retry { error, .. } if error.contains("first byte") => {
                    Some(error.clone())
                }
                PlayerEvent::Downswitch { reason, .. } if reason.contains("abandoned") => {
                    Some(reason.clone())
                }
                _ => None,
            })
            .collect();
        assert!(given_up.is_empty(), "{given_up:#?}");
        rig.shutdown().await;
    });
}

#[test]
fn a_steering_server_that_answers_garbage_or_dies_changes_nothing() {
    runtime().block_on(async {
        let mut rig = Rig::start(Vec::new()).await;
        let s = rig.session(Format::Hls).await;
        rig.backend
            .as_ref()
            .unwrap()
            .set_steering_fault(SteeringFault::Garbage);
        let backend = rig.backend.take().unwrap();
        let (o, _) = play_with_fault(&s.manifest_url, config_for(&s), 2.0, 4.0, || async move {
            backend.shutdown().await;
        })
        .await;
        assert_complete("steering garbage then dead", &o);
        assert_eq!(stalls(&o.events), 0);
        assert!(
            o.events.iter().any(|e| matches!(&e.event,
                PlayerEvent::Warning { message } if message.starts_with("content steering"))),
            "the steering trouble is reported"
        );
        let pathways: Vec<Option<String>> = video_segments(&o.events)
            .into_iter()
            .map(|f| f.pathway)
            .collect();
        assert!(
            pathways
                .iter()
                .all(|p| p.as_deref() == Some(&s.pathways[0].id)),
            "stayed on the first pathway: {pathways:?}"
        );
        rig.shutdown().await;
    });
}

#[test]
fn dash_steering_manifests_are_applied_while_playing_through_5xx() {
    runtime().block_on(async {
        let rig = Rig::start(Vec::new()).await;
        let s = rig.session(Format::Dash).await;
        let first = s.pathways[0].id.clone();
        let (o, _) = play_with_fault(&s.manifest_url, config_for(&s), 1.0, 4.0, || async {
            // Down for health only (the service port stays up): only steering can tell.
            rig.cache(&first).set_faults(&FaultsUpdate {
                error_rate: Some(1.0),
                ..Default::default()
            });
        })
        .await;
        assert_complete("steered", &o);
        assert!(
            o.events
                .iter()
                .any(|e| matches!(&e.event, PlayerEvent::SteeringUpdated { .. })),
            "the DASH-IF steering manifest was applied"
        );
        rig.shutdown().await;
    });
}

#[test]
fn cmcd_reaches_the_caches_as_headers_and_as_a_query() {
    runtime().block_on(async {
        for mode in [CmcdMode::Headers, CmcdMode::Query] {
            let rig = Rig::start(Vec::new()).await;
            let s = rig.session(Format::Hls).await;
            let config = PlayerConfig {
                cmcd: mode,
                content_id: Some("demo".into()),
                ..config_for(&s)
            };
            let (o, _) = play_with_fault(&s.manifest_url, config, 4.0, 0.0, || async {}).await;
            assert_complete("cmcd", &o);
            // From every cache: under load the steering server may move play off the first.
            let records: Vec<_> = rig.caches.iter().flat_map(Oca::cmcd_records).collect();
            let want = if mode == CmcdMode::Headers {
                "header"
            } else {
                "query"
            };
            // A video segment request after the first (which has no throughput measured yet).
            let segment = records
                .iter()
                .filter(|r| r.keys.get("ot").map(String::as_str) == Some("v"))
                .nth(3)
                .unwrap_or_else(|| panic!("no video segment request with CMCD: {records:?}"));
            assert_eq!(segment.mode, want);
            for key in [
                "br", "bl", "cid", "d", "dl", "mtp", "nor", "ot", "rtp", "sf", "sid", "st", "tb",
                "v",
            ] {
                assert!(
                    segment.keys.contains_key(key),
                    "{want}: key {key} missing in {:?}",
                    segment.keys
                );
            }
            assert_eq!(segment.keys["sf"], "h");
            assert_eq!(segment.keys["st"], "v");
            assert_eq!(segment.keys["cid"], "demo");
            assert_eq!(segment.keys["v"], "1");
            let bl: u64 = segment.keys["bl"].parse().unwrap();
            assert_eq!(bl % 100, 0, "bl is rounded to 100 ms");
            assert!(
                records
                    .iter()
                    .any(|r| r.keys.get("ot").map(String::as_str) == Some("m")),
                "media playlist requests carry ot=m"
            );
            assert!(
                records.iter().any(|r| r.keys.contains_key("su")),
                "start-up requests carry su"
            );
            let sids: std::collections::HashSet<&String> =
                records.iter().filter_map(|r| r.keys.get("sid")).collect();
            assert_eq!(sids.len(), 1, "one session id");
            rig.shutdown().await;
        }
    });
}

/// nginx from Debian, serving the same media tree on a loopback port, as one pathway.
struct Nginx {
    child: std::process::Child,
    url: String,
    _dir: tempfile::TempDir,
}

impl Nginx {
    fn start() -> Option<Nginx> {
        let binary = ["/usr/sbin/nginx", "/usr/bin/nginx"]
            .into_iter()
            .find(|p| std::path::Path::new(p).exists())?;
        // nginx cannot be given port 0: take a free port from the kernel and hand it over.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let dir = tempfile::tempdir().unwrap();
        let conf = dir.path().join("nginx.conf");
        let root = media().0.path();
        std::fs::write(
            &conf,
            format!(
                r#"daemon off;
master_process off;
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    types {{
        application/vnd.apple.mpegurl m3u8;
        application/dash+xml mpd;
        video/mp4 mp4 m4s;
        text/vtt vtt;
    }}
    server {{
        listen 127.0.0.1:{port};
        root {root};
        location = /health {{
            default_type application/json;
            return 200 '{{"id":"nginx","up":true,"active_connections":0,"bytes_per_second":0,"requests_served":0}}';
        }}
    }}
}}
"#,
                tmp = dir.path().display(),
                root = root.display(),
            ),
        )
        .unwrap();
        let child = std::process::Command::new(binary)
            .arg("-c")
            .arg(&conf)
            .arg("-e")
            .arg(dir.path().join("error.log"))
            .stderr(std::process::Stdio::null())
            .spawn()
            .ok()?;
        let url = format!("http://127.0.0.1:{port}");
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Some(Nginx {
                    child,
                    url,
                    _dir: dir,
                });
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        self.stop();
    }
}

#[test]
fn nginx_serves_as_a_pathway_and_failover_goes_both_ways() {
    let Some(mut nginx) = Nginx::start() else {
        // `cargo xtask test` installs nginx; a bare `cargo test` without it says why it skips,
        // and CI, which must run it, fails.
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must run the nginx case: nginx is not installed (apt-get install nginx)"
        );
        eprintln!("skipped: nginx is not installed (apt-get install nginx)");
        return;
    };
    runtime().block_on(async {
        let rig = Rig::start(vec![("nginx".into(), nginx.url.clone())]).await;
        let s = rig.session(Format::Hls).await;
        // nginx first, reel-stub caches behind it.
        let mut order: Vec<String> = vec!["nginx".into()];
        order.extend(
            s.pathways
                .iter()
                .map(|p| p.id.clone())
                .filter(|p| p != "nginx"),
        );
        let config = PlayerConfig {
            pathway_order: order,
            ..config_for(&s)
        };
        let nginx_ref = &mut nginx;
        let (o, at) = play_with_fault(&s.manifest_url, config, 1.0, 6.0, || async move {
            nginx_ref.stop();
        })
        .await;
        assert_complete("nginx → oca", &o);
        let segments = video_segments(&o.events);
        assert_eq!(segments[0].pathway.as_deref(), Some("nginx"));
        assert_eq!(stalls(&o.events), 0);
        assert_moved_on("nginx → oca", &o, "nginx", at.unwrap());

        // And back: a reel-stub cache dies, nginx (restarted) takes over.
        let mut nginx = Nginx::start().expect("nginx restarts");
        let rig2 = Rig::start(vec![("nginx".into(), nginx.url.clone())]).await;
        let s = rig2.session(Format::Dash).await;
        let first = s
            .pathways
            .iter()
            .map(|p| p.id.clone())
            .find(|p| p != "nginx")
            .unwrap();
        let config = PlayerConfig {
            pathway_order: vec![first.clone(), "nginx".into()],
            ..config_for(&s)
        };
        let (o, at) = play_with_fault(&s.manifest_url, config, 1.0, 6.0, || async {
            rig2.cache(&first).set_faults(&FaultsUpdate {
                up: Some(false),
                ..Default::default()
            });
        })
        .await;
        assert_complete("oca → nginx", &o);
        assert_moved_on("oca → nginx", &o, &first, at.unwrap());
        let after: Vec<Option<String>> = video_segments(&o.events)
            .into_iter()
            .filter(|f| f.t_s > at.unwrap())
            .map(|f| f.pathway)
            .collect();
        assert!(
            after.iter().all(|p| p.as_deref() == Some("nginx")),
            "{after:?}"
        );
        nginx.stop();
        rig.shutdown().await;
        rig2.shutdown().await;
    });
}

/// A fault of the long run.
#[derive(Debug, Clone, Copy)]
enum Fault {
    Kill,
    DropBodies,
    ErrorBurst,
    Latency,
    Collapse,
    SteeringGarbage,
    SteeringDead,
}

const FAULTS: [Fault; 7] = [
    Fault::Kill,
    Fault::DropBodies,
    Fault::ErrorBurst,
    Fault::Latency,
    Fault::Collapse,
    Fault::SteeringGarbage,
    Fault::SteeringDead,
];

/// One randomized session: its outcome, stall seconds and recovery time (fault → next segment).
async fn randomized_session(seed: u64) -> (Fault, bool, usize, f64, Option<f64>, String) {
    let mut rng = fastrand::Rng::with_seed(seed);
    let fault = FAULTS[rng.usize(..FAULTS.len())];
    let format = if rng.bool() {
        Format::Hls
    } else {
        Format::Dash
    };
    let after = 4.0 + rng.f64() * 4.0;
    let mut rig = Rig::start(Vec::new()).await;
    let s = rig.session(format).await;
    let first = s.pathways[0].id.clone();
    let backend = rig.backend.take().unwrap();
    let caches = &rig.caches;
    let (o, at) = play_with_fault(&s.manifest_url, config_for(&s), 1.0, after, || async {
        let cache = caches.iter().find(|c| c.id() == first).unwrap();
        let set = |u: FaultsUpdate| {
            cache.set_faults(&u);
        };
        match fault {
            Fault::Kill => set(FaultsUpdate {
                up: Some(false),
                ..Default::default()
            }),
            Fault::DropBodies => set(FaultsUpdate {
                drop_rate: Some(1.0),
                ..Default::default()
            }),
            Fault::ErrorBurst => set(FaultsUpdate {
                error_rate: Some(0.8),
                ..Default::default()
            }),
            Fault::Latency => set(FaultsUpdate {
                latency_ms: Some(2000),
                ..Default::default()
            }),
            Fault::Collapse => set(FaultsUpdate {
                throughput_kbps: Some(200),
                ..Default::default()
            }),
            Fault::SteeringGarbage => backend.set_steering_fault(SteeringFault::Garbage),
            Fault::SteeringDead => backend.set_steering_fault(SteeringFault::Unavailable),
        }
    })
    .await;
    // Recovery: from the first failed request after the fault to the next segment of any
    // stream delivered (0 when no request failed: the fault cost nothing). Any stream, because
    // the first failure is often an audio request while video waits at its high watermark.
    let recovery = at.map(|at| {
        let failed = o.events.iter().find(|e| {
            e.t_s >= at
                && match &e.event {
                    PlayerEvent::Retry { .. } | PlayerEvent::Downswitch { .. } => true,
                    // A move the steering server asked for is not a failed request.
                    PlayerEvent::PathwaySwitch { reason, .. } => !reason.contains("steering"),
                    _ => false,
                }
        });
        match failed {
            None => 0.0,
            Some(first) => o
                .events
                .iter()
                .find(|e| {
                    e.t_s >= first.t_s && matches!(e.event, PlayerEvent::SegmentFetched { .. })
                })
                .map_or(f64::NAN, |e| e.t_s - first.t_s),
        }
    });
    let numbers: Vec<u64> = video_segments(&o.events).iter().map(|f| f.number).collect();
    let intact = numbers.len() == SEGMENTS && numbers.windows(2).all(|w| w[1] == w[0] + 1);
    let completed = o.state == PlayerState::Ended && intact;
    let why = o.error().unwrap_or_default().to_string();
    backend.shutdown().await;
    rig.shutdown().await;
    (
        fault,
        completed,
        stalls(&o.events),
        o.qoe.rebuffer_s,
        recovery,
        why,
    )
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// The long chaos run: 100 randomized sessions (fault, format, moment), six at a time.
#[test]
#[ignore = "long: about five minutes; run with --ignored --nocapture"]
fn hundred_randomized_sessions() {
    let seed: u64 = std::env::var("CHAOS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20261123);
    let sessions: u64 = std::env::var("CHAOS_SESSIONS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(100);
    println!("chaos: {sessions} sessions, seed {seed}");
    let results = runtime().block_on(async {
        use futures_util::StreamExt;
        futures_util::stream::iter(0..sessions)
            .map(|i| randomized_session(seed.wrapping_add(i)))
            .buffer_unordered(6)
            .collect::<Vec<_>>()
            .await
    });
    let completed = results.iter().filter(|r| r.1).count();
    let stalled: usize = results.iter().map(|r| r.2).sum();
    let stall_s: f64 = results.iter().map(|r| r.3).sum();
    let mut recovery: Vec<f64> = results.iter().filter_map(|r| r.4).collect();
    recovery.sort_by(f64::total_cmp);
    println!(
        "{:<16} {:>9} {:>9} {:>7} {:>12} {:>14} {:>12}",
        "fault", "sessions", "completed", "stalls", "stall s", "recovery p50", "recovery p95"
    );
    for fault in FAULTS {
        let of: Vec<_> = results
            .iter()
            .filter(|r| std::mem::discriminant(&r.0) == std::mem::discriminant(&fault))
            .collect();
        let mut rec: Vec<f64> = of.iter().filter_map(|r| r.4).collect();
        rec.sort_by(f64::total_cmp);
        println!(
            "{:<16} {:>9} {:>9} {:>7} {:>12.2} {:>13.2}s {:>11.2}s",
            format!("{fault:?}"),
            of.len(),
            of.iter().filter(|r| r.1).count(),
            of.iter().map(|r| r.2).sum::<usize>(),
            of.iter().map(|r| r.3).sum::<f64>(),
            percentile(&rec, 0.5),
            percentile(&rec, 0.95),
        );
    }
    println!(
        "all: completed {completed}/{sessions}, stalls {stalled}, extra stall seconds {stall_s:.2}, recovery median {:.2} s, p95 {:.2} s",
        percentile(&recovery, 0.5),
        percentile(&recovery, 0.95)
    );
    for r in results.iter().filter(|r| !r.1) {
        println!("failed: {:?}: {}", r.0, r.5);
    }
    assert_eq!(completed as u64, sessions, "every session completes");
}

/// A seeded schedule for the viewer's access link, as (seconds, kbit/s): good spells broken by
/// throttles and by near-outages (a trickle, so connections stay up and only the rate tells).
fn throttle_and_outage_schedule(seed: u64, total_s: f64) -> Vec<(f64, u64)> {
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut schedule = Vec::new();
    let mut t = 0.0;
    while t < total_s {
        let good = (10.0 + rng.f64() * 15.0, 3000 + rng.u64(..2000));
        let bad = if rng.f64() < 0.7 {
            (15.0 + rng.f64() * 20.0, 200 + rng.u64(..250))
        } else {
            (5.0 + rng.f64() * 10.0, 16)
        };
        t += good.0 + bad.0;
        schedule.extend([good, bad]);
    }
    schedule
}

/// A seeded schedule of a stable link just above the ladder's top (1.8–3 Mbit/s) that falls off
/// cliffs to 5–25 % of its rate for 5–40 s and comes back, as `abr::tracegen`'s "cliffs" family
/// does at broadband rates.
fn cliff_schedule(seed: u64, total_s: f64) -> Vec<(f64, u64)> {
    let mut rng = fastrand::Rng::with_seed(seed);
    let base = 1800.0 + rng.f64() * 1200.0;
    let mut schedule = Vec::new();
    let mut t = 0.0;
    while t < total_s {
        let stable = (
            15.0 + rng.f64() * 45.0,
            (base * (0.95 + 0.1 * rng.f64())) as u64,
        );
        let cliff = (
            5.0 + rng.f64() * 35.0,
            (base * (0.05 + 0.2 * rng.f64())) as u64,
        );
        t += stable.0 + cliff.0;
        schedule.extend([stable, cliff]);
    }
    schedule
}

/// The seeded link schedules, each with the title it is played on.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Shape {
    /// [`throttle_and_outage_schedule`] over the 60 s title.
    ThrottleAndOutage,
    /// [`cliff_schedule`] over the 180 s title.
    Cliffs,
}

impl Shape {
    fn schedule(self, seed: u64) -> Vec<(f64, u64)> {
        match self {
            Shape::ThrottleAndOutage => throttle_and_outage_schedule(seed, 90.0),
            Shape::Cliffs => cliff_schedule(seed, 200.0),
        }
    }

    fn title(self) -> &'static Path {
        match self {
            Shape::ThrottleAndOutage => long_media().0.path(),
            Shape::Cliffs => longer_media().0.path(),
        }
    }
}

/// Plays `shape`'s title with `abr` and the default buffer while every cache follows `schedule`
/// (the viewer's own link, so failover cannot dodge it).
async fn play_under_schedule(abr: &str, shape: Shape, schedule: &[(f64, u64)]) -> SessionOutcome {
    let rig = Rig::start_with(shape.title(), Vec::new()).await;
    let s = rig.session(Format::Hls).await;
    let config = PlayerConfig {
        abr: player_core::abr::by_name(abr).unwrap(),
        buffer: BufferPolicy::default(),
        ..config_for(&s)
    };
    let player = Player::open(
        Url::parse(&s.manifest_url).unwrap(),
        Box::new(NullSink::default()),
        config,
    );
    let link = async {
        for &(seconds, kbps) in schedule {
            for cache in &rig.caches {
                cache.set_faults(&FaultsUpdate {
                    throughput_kbps: Some(kbps),
                    ..Default::default()
                });
            }
            tokio::time::sleep(Duration::from_secs_f64(seconds)).await;
        }
        std::future::pending::<()>().await
    };
    let outcome = tokio::select! {
        o = player.finished() => o,
        _ = link => unreachable!(),
        _ = tokio::time::sleep(Duration::from_secs(400)) => panic!("{abr}: the session did not end within 400 s"),
    };
    rig.shutdown().await;
    outcome
}

/// A schedule as a reader wants it: `23.0 s at 4200 kbit/s, 26.1 s at 310 kbit/s, ...`.
fn describe(schedule: &[(f64, u64)]) -> String {
    let spells: Vec<String> = schedule
        .iter()
        .map(|(seconds, kbps)| format!("{seconds:.1} s at {kbps} kbit/s"))
        .collect();
    spells.join(", ")
}

/// The figures a viewer notices of one session under a schedule.
fn schedule_line(seed: u64, abr: &str, o: &SessionOutcome) -> String {
    let stall_starts: Vec<String> = o
        .events
        .iter()
        .filter(|e| matches!(e.event, PlayerEvent::StallStart { .. }))
        .map(|e| format!("{:.0} s", e.t_s))
        .collect();
    format!(
        "seed {seed:<4} {abr:<11} {:<6} stalls {} ({:.2} s) at [{}], mean {:.0} kbit/s, {} switches, QoE_lin {:.1}",
        format!("{:?}", o.state),
        o.qoe.rebuffer_count,
        o.qoe.rebuffer_s,
        stall_starts.join(", "),
        o.qoe.mean_bitrate_kbps,
        o.qoe.switches,
        o.qoe.qoe_lin
    )
}

/// Plays Reel and BBA side by side under `shape`'s schedule `seed`, printing both, and asserts
/// that Reel played to the end without a stall.
fn reel_and_bba_without_a_stall(shape: Shape, seed: u64) -> (SessionOutcome, SessionOutcome) {
    let schedule = shape.schedule(seed);
    println!("link: {}", describe(&schedule));
    let (reel, bba) = runtime().block_on(async {
        futures_util::future::join(
            play_under_schedule("reel", shape, &schedule),
            play_under_schedule("bba", shape, &schedule),
        )
        .await
    });
    println!(
        "{}\n{}",
        schedule_line(seed, "reel", &reel),
        schedule_line(seed, "bba", &bba)
    );
    assert_eq!(reel.state, PlayerState::Ended, "{:?}", reel.error());
    assert_eq!(
        reel.qoe.rebuffer_count,
        0,
        "{}",
        schedule_line(seed, "reel", &reel)
    );
    (reel, bba)
}

#[test]
fn a_throttle_and_outage_schedule_costs_reel_no_stall_where_bba_stalls() {
    // Seed 1: 20 s at 4 Mbit/s, then 0.2 Mbit/s for 31 s, 22 s at 4.5 Mbit/s, an 11 s outage
    // (16 kbit/s), ... BBA, reading only its buffer, stalls for about 3 s in it; Reel must not.
    const SEED: u64 = 1;
    let (reel, bba) = reel_and_bba_without_a_stall(Shape::ThrottleAndOutage, SEED);
    assert!(
        reel.qoe.mean_bitrate_kbps >= bba.qoe.mean_bitrate_kbps,
        "{}\n{}",
        schedule_line(SEED, "reel", &reel),
        schedule_line(SEED, "bba", &bba)
    );
}

/// Cliff schedule 5 (`cliff_schedule(5, 200.0)`): 25.1 s at 2017 kbit/s, 14.2 s at 432, 15.5 s at
/// 2072, 37.6 s at 444, 31.1 s at 1988, then 31.1 s at 227 kbit/s from 123.5 s, ... The
/// controller issue 32 was filed on (`abr/src/reel.rs` at 499d486) stalls once there, for 3.1 s
/// at 148 s, on each of four runs; the buffer-guarding controller does not, on any.
#[test]
#[ignore = "long: a 180 s title played in real time, about 4 minutes; run with --ignored"]
fn a_cliff_schedule_that_stalled_the_earlier_controller_costs_reel_no_stall() {
    const SEED: u64 = 5;
    let (reel, bba) = reel_and_bba_without_a_stall(Shape::Cliffs, SEED);
    // Not bought by playing low: BBA does not stall here either, at a lower QoE (43.4 against
    // 53.2 when this was written).
    assert!(
        reel.qoe.qoe_lin >= bba.qoe.qoe_lin,
        "{}\n{}",
        schedule_line(SEED, "reel", &reel),
        schedule_line(SEED, "bba", &bba)
    );
}

/// Every algorithm over several seeded schedules at once, one line a session:
/// `CHAOS_SEEDS=1,2,3 CHAOS_ALGOS=reel,bba cargo test -p player-core --test chaos \
/// throttle_and_outage_schedules -- --ignored --nocapture`; `CHAOS_SHAPE=cliffs` plays
/// [`cliff_schedule`] on the 180 s title instead (about 4 minutes).
#[test]
#[ignore = "long: about 90 s; run with --ignored --nocapture"]
fn throttle_and_outage_schedules() {
    let list = |var: &str, default: &str| -> Vec<String> {
        std::env::var(var)
            .unwrap_or_else(|_| default.to_string())
            .split(',')
            .map(String::from)
            .collect()
    };
    let seeds: Vec<u64> = list("CHAOS_SEEDS", "1,2,3,4,5,6,7,8")
        .iter()
        .map(|s| s.parse().expect("CHAOS_SEEDS: numbers"))
        .collect();
    let algos = list("CHAOS_ALGOS", "reel,bba,throughput");
    let shape = match std::env::var("CHAOS_SHAPE").as_deref() {
        Ok("cliffs") => Shape::Cliffs,
        Ok("throttle") | Err(_) => Shape::ThrottleAndOutage,
        Ok(other) => panic!("CHAOS_SHAPE: throttle or cliffs, not {other}"),
    };
    let jobs: Vec<(u64, &str)> = seeds
        .iter()
        .flat_map(|&seed| algos.iter().map(move |a| (seed, a.as_str())))
        .collect();
    let outcomes = runtime().block_on(futures_util::future::join_all(jobs.iter().map(
        |&(seed, abr)| async move { play_under_schedule(abr, shape, &shape.schedule(seed)).await },
    )));
    for &seed in &seeds {
        println!("seed {seed}: {}", describe(&shape.schedule(seed)));
    }
    for ((seed, abr), o) in jobs.iter().zip(&outcomes) {
        println!("{}", schedule_line(*seed, abr, o));
    }
    assert!(outcomes.iter().all(|o| o.state == PlayerState::Ended));
}
