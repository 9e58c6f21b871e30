//! The cache server and the playback API over real loopback HTTP: what a player (or an attacker)
//! sees.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::time::{Duration, Instant};

use reel_protocol::{
    ApiError, Bookmark, CacheHealth, Catalogue, DashSteeringManifest, Faults, FaultsUpdate,
    HlsSteeringManifest, LoginResponse, PlaybackResponse,
};
use reel_stub::backend::auth::User;
use reel_stub::backend::{BackendConfig, BackendServer};
use reel_stub::oca::{CmcdRecord, Oca, OcaConfig};
use reel_stub::title::{ByteRange, Layout, MediaKind, Rendition, Segment, TitleMeta};

fn any_port() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

/// A media root with one small title description and a 10 000-byte rendition file, plus a
/// secret file next to the root that must never be served.
fn media_tree() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("media");
    std::fs::create_dir_all(root.join("demo")).unwrap();
    let data: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(root.join("demo/video_240p.mp4"), &data).unwrap();
    std::fs::write(dir.path().join("secret.txt"), b"top secret").unwrap();
    let rendition = Rendition {
        id: "video_240p".into(),
        kind: MediaKind::Video,
        codecs: "avc1.4d4015".into(),
        target_bitrate: 300_000,
        average_bitrate: 280_000,
        peak_bitrate: 310_000,
        width: Some(428),
        height: Some(240),
        frame_rate: Some(30),
        sample_rate: None,
        channels: None,
        language: None,
        name: None,
        init: ByteRange {
            offset: 0,
            length: 1000,
        },
        segments: vec![Segment {
            range: ByteRange {
                offset: 1000,
                length: 9000,
            },
            start_s: 0.0,
            duration_s: 4.0,
        }],
    };
    let title = TitleMeta {
        id: "demo".into(),
        duration_s: 4.0,
        segment_duration_s: 4.0,
        layout: Layout::ByteRanges,
        video: vec![rendition],
        audio: vec![],
        ladder_note: None,
        subtitles: vec![],
    };
    reel_stub::encode::write_manifests(&root.join("demo"), &title).unwrap();
    (dir, root)
}

async fn start_cache(root: &Path, id: &str) -> Oca {
    Oca::start(OcaConfig {
        id: id.into(),
        root: root.to_path_buf(),
        listen: any_port(),
        admin: Some(any_port()),
    })
    .await
    .unwrap()
}

/// Sends a raw request line (no URL normalisation by a client library) and returns the status.
fn raw_status(addr: SocketAddr, path: &str) -> u16 {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let head = String::from_utf8_lossy(&out[..out.len().min(64)]).to_string();
    head.split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

async fn set_faults(client: &reqwest::Client, oca: &Oca, update: FaultsUpdate) -> Faults {
    client
        .post(format!("http://{}/admin/faults", oca.admin_addr.unwrap()))
        .json(&update)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn byte_ranges_and_conditional_requests() {
    let (_dir, root) = media_tree();
    let oca = start_cache(&root, "oca-a").await;
    let url = format!("{}/demo/video_240p.mp4", oca.url());
    let client = reqwest::Client::new();

    let r = client
        .get(&url)
        .header("Range", "bytes=0-99")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 206);
    assert_eq!(r.headers()["content-range"], "bytes 0-99/10000");
    assert_eq!(r.headers()["content-type"], "video/mp4");
    let body = r.bytes().await.unwrap();
    assert_eq!(body.len(), 100);
    assert_eq!(body[99], 99);

    let r = client
        .get(&url)
        .header("Range", "bytes=-10")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 206);
    assert_eq!(r.bytes().await.unwrap().len(), 10);

    let r = client
        .get(&url)
        .header("Range", "bytes=20000-")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 416);
    assert_eq!(r.headers()["content-range"], "bytes */10000");

    let r = client
        .get(&url)
        .header("Range", "bytes=0-1,5-6")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "several ranges: the whole file");

    let r = client.head(&url).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-length"], "10000");
    let etag = r.headers()["etag"].to_str().unwrap().to_string();
    let modified = r.headers()["last-modified"].to_str().unwrap().to_string();
    assert!(r.bytes().await.unwrap().is_empty());

    let r = client
        .get(&url)
        .header("If-None-Match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 304);
    let r = client
        .get(&url)
        .header("If-Modified-Since", &modified)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 304);
    let r = client
        .get(&url)
        .header("Range", "bytes=0-9")
        .header("If-Range", "\"stale\"")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "a stale If-Range gets the whole file");

    let r = client
        .get(format!("{}/demo/master.m3u8", oca.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["content-type"], "application/vnd.apple.mpegurl");
    let r = client
        .get(format!("{}/demo/manifest.mpd", oca.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["content-type"], "application/dash+xml");
    let r = client.post(&url).send().await.unwrap();
    assert_eq!(r.status(), 405);

    let health: CacheHealth = client
        .get(format!("{}/health", oca.url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health.id, "oca-a");
    assert!(health.up);
    assert!(health.requests_served >= 9);
    assert!(health.bytes_per_second > 0.0);
    assert!(
        health.active_connections >= 1,
        "this client's keep-alive connection"
    );
    oca.shutdown().await;
}

#[tokio::test]
async fn no_path_escapes_the_root() {
    let (dir, root) = media_tree();
    std::os::unix::fs::symlink(dir.path().join("secret.txt"), root.join("demo/link.txt")).unwrap();
    let oca = start_cache(&root, "oca-a").await;
    let addr = oca.addr;
    let statuses = tokio::task::spawn_blocking(move || {
        [
            "/../secret.txt",
            "/demo/../../secret.txt",
            "/%2e%2e/secret.txt",
            "/demo/%2E%2E/%2e%2e/secret.txt",
            "/demo/..%2fsecret.txt",
            "//etc/passwd",
            "/demo/link.txt",
            "/demo/video_240p.mp4",
        ]
        .map(|p| (p, raw_status(addr, p)))
    })
    .await
    .unwrap();
    for (path, status) in &statuses[..7] {
        assert!(*status == 400 || *status == 404, "{path} answered {status}");
    }
    assert_eq!(statuses[7].1, 200, "the legitimate file is served");
    oca.shutdown().await;
}

#[tokio::test]
async fn fault_controls_change_what_clients_see() {
    let (_dir, root) = media_tree();
    let oca = start_cache(&root, "oca-a").await;
    let url = format!("{}/demo/video_240p.mp4", oca.url());
    let client = reqwest::Client::new();

    let f = set_faults(
        &client,
        &oca,
        FaultsUpdate {
            latency_ms: Some(300),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(f.latency_ms, 300);
    let t = Instant::now();
    assert_eq!(client.get(&url).send().await.unwrap().status(), 200);
    assert!(
        t.elapsed() >= Duration::from_millis(300),
        "latency is added"
    );

    // 10 000 bytes at 80 kbit/s take at least one second.
    set_faults(
        &client,
        &oca,
        FaultsUpdate {
            latency_ms: Some(0),
            throughput_kbps: Some(80),
            ..Default::default()
        },
    )
    .await;
    let t = Instant::now();
    let body = client
        .get(&url)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(body.len(), 10_000);
    assert!(
        t.elapsed() >= Duration::from_millis(900),
        "throughput is capped: {:?}",
        t.elapsed()
    );

    set_faults(
        &client,
        &oca,
        FaultsUpdate {
            throughput_kbps: Some(0),
            error_rate: Some(1.0),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(client.get(&url).send().await.unwrap().status(), 503);

    set_faults(
        &client,
        &oca,
        FaultsUpdate {
            error_rate: Some(0.0),
            drop_rate: Some(1.0),
            ..Default::default()
        },
    )
    .await;
    let cut = async { client.get(&url).send().await?.bytes().await }.await;
    assert!(cut.is_err(), "the connection is cut before the body ends");

    set_faults(
        &client,
        &oca,
        FaultsUpdate {
            drop_rate: Some(0.0),
            up: Some(false),
            ..Default::default()
        },
    )
    .await;
    // The accept loop reacts asynchronously: give it up to a second.
    let fresh = reqwest::Client::new();
    let mut refused = None;
    for _ in 0..20 {
        match fresh.get(&url).send().await {
            Err(e) if e.is_connect() => {
                refused = Some(e);
                break;
            }
            _ => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
    assert!(refused.is_some(), "a down cache refuses connections");
    let health: CacheHealth = client
        .get(format!("http://{}/health", oca.admin_addr.unwrap()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(!health.up);

    let reset: Faults = client
        .post(format!("http://{}/admin/reset", oca.admin_addr.unwrap()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(reset, Faults::none());
    let mut status = None;
    for _ in 0..20 {
        if let Ok(r) = fresh.get(&url).send().await {
            status = Some(r.status());
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        status.map(|s| s.as_u16()),
        Some(200),
        "back up on the same port"
    );
    oca.shutdown().await;
}

#[tokio::test]
async fn fault_controls_are_off_without_admin() {
    let (_dir, root) = media_tree();
    let oca = Oca::start(OcaConfig {
        id: "plain".into(),
        root: root.clone(),
        listen: any_port(),
        admin: None,
    })
    .await
    .unwrap();
    assert!(oca.admin_addr.is_none());
    let r = reqwest::Client::new()
        .get(format!("{}/admin/faults", oca.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404, "the service port has no admin endpoint");
    oca.shutdown().await;
}

#[tokio::test]
async fn cmcd_data_is_logged_and_readable() {
    let (_dir, root) = media_tree();
    let oca = start_cache(&root, "oca-a").await;
    let client = reqwest::Client::new();
    client
        .get(format!("{}/demo/video_240p.mp4", oca.url()))
        .header("CMCD-Object", "br=300,d=4000,ot=v")
        .header("CMCD-Session", "sid=\"abc\",sf=h")
        .send()
        .await
        .unwrap();
    client
        .get(format!(
            "{}/demo/video_240p.mp4?CMCD=bl%3D8000%2Cbr%3D300",
            oca.url()
        ))
        .send()
        .await
        .unwrap();
    let records: Vec<CmcdRecord> = client
        .get(format!("http://{}/admin/cmcd", oca.admin_addr.unwrap()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(records.len(), 2);
    assert_eq!(records[0].keys["sid"], "abc");
    assert_eq!(records[0].mode, "header");
    assert_eq!(records[1].keys["bl"], "8000");
    assert_eq!(records[1].path, "/demo/video_240p.mp4");
    oca.shutdown().await;
}

struct Api {
    backend: BackendServer,
    caches: Vec<Oca>,
    client: reqwest::Client,
    _dir: tempfile::TempDir,
}

async fn start_api() -> Api {
    let (dir, root) = media_tree();
    let caches = vec![
        start_cache(&root, "oca-a").await,
        start_cache(&root, "oca-b").await,
    ];
    let mut config = BackendConfig::new(
        &root,
        any_port(),
        caches
            .iter()
            .map(|c| (c.id().to_string(), c.url()))
            .collect(),
    );
    config.health_interval = Duration::from_millis(100);
    config.steering_ttl_s = 2;
    config.request_timeout = Duration::from_secs(2);
    let backend = BackendServer::start(config).await.unwrap();
    Api {
        backend,
        caches,
        client: reqwest::Client::new(),
        _dir: dir,
    }
}

impl Api {
    async fn login(&self, user: &str, password: &str) -> reqwest::Response {
        self.client
            .post(format!("{}/v1/login", self.backend.url()))
            .json(&serde_json::json!({"user": user, "password": password}))
            .send()
            .await
            .unwrap()
    }

    async fn token(&self) -> String {
        let r: LoginResponse = self.login("demo", "reel").await.json().await.unwrap();
        r.token
    }

    async fn playback(&self, token: Option<&str>, body: serde_json::Value) -> reqwest::Response {
        let mut req = self
            .client
            .post(format!("{}/v1/playback", self.backend.url()))
            .json(&body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send().await.unwrap()
    }

    async fn shutdown(self) {
        self.backend.shutdown().await;
        for c in self.caches {
            c.shutdown().await;
        }
    }
}

#[tokio::test]
async fn login_catalogue_and_playback_sessions() {
    let api = start_api().await;
    let bad = api.login("demo", "wrong").await;
    assert_eq!(bad.status(), 401);
    let err: ApiError = bad.json().await.unwrap();
    assert_eq!(err.error, "invalid_credentials");

    let catalogue: Catalogue = api
        .client
        .get(format!("{}/v1/titles", api.backend.url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(catalogue.titles.len(), 1);
    assert_eq!(catalogue.titles[0].id, "demo");
    assert_eq!(catalogue.titles[0].ladder[0].height, 240);

    let token = api.token().await;
    let r = api
        .playback(
            Some(&token),
            serde_json::json!({"title": "demo", "format": "hls"}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let session: PlaybackResponse = r.json().await.unwrap();
    let ids: Vec<_> = session.pathways.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(ids, ["oca-a", "oca-b"]);
    assert_eq!(
        session.pathways[0].base_url,
        format!("{}/demo/", api.caches[0].url())
    );
    let manifest = api.client.get(&session.manifest_url).send().await.unwrap();
    assert_eq!(
        manifest.headers()["content-type"],
        "application/vnd.apple.mpegurl"
    );
    let text = manifest.text().await.unwrap();
    assert!(text.contains(&format!(
        "#EXT-X-CONTENT-STEERING:SERVER-URI=\"{}\"",
        session.steering_uri
    )));
    assert!(text.contains("PATHWAY-ID=\"oca-b\""));
    assert!(text.contains(&format!("{}/demo/video_240p.m3u8", api.caches[1].url())));

    let r = api
        .playback(
            Some(&token),
            serde_json::json!({"title": "demo", "format": "dash"}),
        )
        .await;
    let session: PlaybackResponse = r.json().await.unwrap();
    let mpd = api
        .client
        .get(&session.manifest_url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        mpd.contains("<ContentSteering defaultServiceLocation=\"oca-a\""),
        "{mpd}"
    );
    assert!(mpd.contains(&format!(
        "<BaseURL serviceLocation=\"oca-b\">{}/demo/</BaseURL>",
        api.caches[1].url()
    )));
    let steering: DashSteeringManifest = api
        .client
        .get(format!(
            "{}?_DASH_pathway=oca-b&_DASH_throughput=9000000",
            session.steering_uri
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        steering.service_location_priority,
        ["oca-b", "oca-a"],
        "the client's pathway stays first"
    );
    api.shutdown().await;
}

#[tokio::test]
async fn bad_requests_get_json_errors_never_a_panic() {
    let api = start_api().await;
    let body = serde_json::json!({"title": "demo", "format": "hls"});

    let r = api.playback(None, body.clone()).await;
    assert_eq!(r.status(), 401);
    assert!(
        r.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Bearer")
    );
    let err: ApiError = r.json().await.unwrap();
    assert!(
        err.message.contains("missing bearer token"),
        "{}",
        err.message
    );

    let token = api.token().await;
    let mut forged = token.clone();
    forged.pop();
    forged.push(if token.ends_with('A') { 'B' } else { 'A' });
    let r = api.playback(Some(&forged), body.clone()).await;
    assert_eq!(r.status(), 401);
    let r = api.playback(Some("not-a-token"), body.clone()).await;
    assert_eq!(r.status(), 401);

    let r = api
        .playback(
            Some(&token),
            serde_json::json!({"title": "nope", "format": "hls"}),
        )
        .await;
    assert_eq!(r.status(), 404);
    let err: ApiError = r.json().await.unwrap();
    assert_eq!(err.error, "unknown_title");

    let r = api
        .playback(
            Some(&token),
            serde_json::json!({"title": "demo", "format": "flv"}),
        )
        .await;
    assert_eq!(r.status(), 400);
    let r = api
        .client
        .post(format!("{}/v1/login", api.backend.url()))
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let r = api
        .client
        .get(format!("{}/v1/steering/unknown", api.backend.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    api.shutdown().await;
}

#[tokio::test]
async fn a_cache_set_down_moves_to_the_end_of_the_pathway_priority_within_one_ttl() {
    let api = start_api().await;
    let token = api.token().await;
    let session: PlaybackResponse = api
        .playback(
            Some(&token),
            serde_json::json!({"title": "demo", "format": "hls"}),
        )
        .await
        .json()
        .await
        .unwrap();
    let steer = |q: &'static str| {
        let url = format!("{}{q}", session.steering_uri);
        let client = api.client.clone();
        async move {
            client
                .get(url)
                .send()
                .await
                .unwrap()
                .json::<HlsSteeringManifest>()
                .await
                .unwrap()
        }
    };
    let first = steer("?_HLS_pathway=%22oca-b%22&_HLS_throughput=5000000").await;
    assert_eq!(
        first.pathway_priority,
        ["oca-b", "oca-a"],
        "the client keeps its pathway"
    );
    let poor = steer("?_HLS_pathway=%22oca-b%22&_HLS_throughput=150000").await;
    assert_eq!(
        poor.pathway_priority,
        ["oca-a", "oca-b"],
        "a struggling client is steered away"
    );
    assert_eq!(first.version, 1);
    assert_eq!(
        first.reload_uri.as_deref(),
        Some(session.steering_uri.as_str())
    );

    set_faults(
        &api.client,
        &api.caches[0],
        FaultsUpdate {
            up: Some(false),
            ..Default::default()
        },
    )
    .await;
    let deadline = Instant::now() + Duration::from_secs(first.ttl);
    let mut moved = false;
    while Instant::now() < deadline {
        if steer("").await.pathway_priority == ["oca-b", "oca-a"] {
            moved = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        moved,
        "the dead cache went last within one TTL ({} s)",
        first.ttl
    );
    api.shutdown().await;
}

#[tokio::test]
async fn bookmarks_are_kept_per_user_and_across_a_backend_restart() {
    let (dir, root) = media_tree();
    let cache = start_cache(&root, "oca-a").await;
    let db = dir.path().join("state/bookmarks.sqlite");
    let start = || async {
        let mut config = BackendConfig::new(
            &root,
            any_port(),
            vec![(cache.id().to_string(), cache.url())],
        );
        config.users = ["ann", "bob"]
            .map(|name| User {
                name: name.into(),
                password: "pw".into(),
            })
            .to_vec();
        config.bookmarks_db = Some(db.clone());
        BackendServer::start(config).await.unwrap()
    };
    let client = reqwest::Client::new();
    let token = |backend: &BackendServer, user: &str| {
        let req = client
            .post(format!("{}/v1/login", backend.url()))
            .json(&serde_json::json!({"user": user, "password": "pw"}));
        async move {
            let r: LoginResponse = req.send().await.unwrap().json().await.unwrap();
            r.token
        }
    };
    let url =
        |backend: &BackendServer, title: &str| format!("{}/v1/bookmarks/{title}", backend.url());
    let get = |backend: &BackendServer, token: &str| {
        client.get(url(backend, "demo")).bearer_auth(token).send()
    };
    let delete = |backend: &BackendServer, token: &str| {
        client
            .delete(url(backend, "demo"))
            .bearer_auth(token)
            .send()
    };

    let backend = start().await;
    let (ann, bob) = (token(&backend, "ann").await, token(&backend, "bob").await);
    // Nothing yet; then ann leaves the title at 2.5 s.
    let r = get(&backend, &ann).await.unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(r.json::<ApiError>().await.unwrap().error, "no_bookmark");
    let r = client
        .put(url(&backend, "demo"))
        .bearer_auth(&ann)
        .json(&serde_json::json!({"position_s": 2.5, "duration_s": 4.0}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // Bob's bookmark is his own.
    let r = get(&backend, &bob).await.unwrap();
    assert_eq!(r.status(), 404, "another user's bookmark is not bob's");
    // Refused: no token, a bad body, a position past the end, a title not in the catalogue.
    let r = client.get(url(&backend, "demo")).send().await.unwrap();
    assert_eq!(r.status(), 401);
    for (title, body, status, code) in [
        (
            "demo",
            serde_json::json!({"position_s": "x"}),
            400,
            "bad_request",
        ),
        (
            "demo",
            serde_json::json!({"position_s": 9.0, "duration_s": 4.0}),
            400,
            "bad_bookmark",
        ),
        (
            "demo",
            serde_json::json!({"position_s": -1.0, "duration_s": 4.0}),
            400,
            "bad_bookmark",
        ),
        (
            "nope",
            serde_json::json!({"position_s": 1.0, "duration_s": 4.0}),
            404,
            "unknown_title",
        ),
    ] {
        let r = client
            .put(url(&backend, title))
            .bearer_auth(&bob)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), status, "{body}");
        assert_eq!(r.json::<ApiError>().await.unwrap().error, code, "{body}");
    }
    backend.shutdown().await;

    // A restart keeps it (new tokens: the signing secret is new).
    let backend = start().await;
    let ann = token(&backend, "ann").await;
    let r = get(&backend, &ann).await.unwrap();
    assert_eq!(r.status(), 200);
    let kept: Bookmark = r.json().await.unwrap();
    assert_eq!(
        (kept.title.as_str(), kept.position_s, kept.duration_s),
        ("demo", 2.5, 4.0)
    );
    assert!(kept.updated_at > 1_700_000_000, "{kept:?}");
    // Deleted: gone, and deleting again is no error.
    for _ in 0..2 {
        let r = delete(&backend, &ann).await.unwrap();
        assert_eq!(r.status(), 204);
    }
    let r = get(&backend, &ann).await.unwrap();
    assert_eq!(r.status(), 404);
    backend.shutdown().await;
    cache.shutdown().await;
}

#[tokio::test]
async fn request_bodies_and_times_are_bounded() {
    let api = start_api().await;
    let url = format!("{}/v1/login", api.backend.url());
    // Over the body limit: 413, unread; bad JSON within it: 400.
    let r = api
        .client
        .post(&url)
        .body(vec![b'x'; reel_stub::backend::MAX_REQUEST_BODY_BYTES + 1])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    let r = api
        .client
        .post(&url)
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    // A body that never finishes arriving: 408 once the request timeout passes (2 s here).
    let addr = api.backend.url().trim_start_matches("http://").to_string();
    let mut tcp = tokio::net::TcpStream::connect(&addr).await.unwrap();
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    tcp.write_all(
        b"POST /v1/login HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{\"user\":",
    )
    .await
    .unwrap();
    let started = std::time::Instant::now();
    let mut answer = vec![0u8; 512];
    let n = tokio::time::timeout(Duration::from_secs(20), tcp.read(&mut answer))
        .await
        .expect("an answer before 20 s")
        .unwrap();
    let answer = String::from_utf8_lossy(&answer[..n]);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(started.elapsed() < Duration::from_secs(15));
    api.shutdown().await;
}
