//! A bounded player against hostile servers: a raw HTTP server on loopback answers with
//! oversized, endless, trickled and redirecting bodies, and every case ends in bounded time with
//! one line naming the limit (issue 34, slice 1a). Each test fails when its limit is removed.

mod common;
use common::runtime;

use std::sync::Arc;
use std::time::{Duration, Instant};

use player_core::fetch::{FetchConfig, Fetcher};
use player_core::sink::NullSink;
use player_core::{Player, PlayerConfig, Url};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// What the server answers to a path.
enum Reply {
    /// 200 with this body, its length announced.
    Whole(Vec<u8>),
    /// 302 to this path.
    Redirect(String),
    /// A chunked body of this line repeated (64 KiB a chunk) for as long as the client reads.
    Endless(&'static [u8]),
    /// This body, its length announced, one byte every interval.
    Trickle(Vec<u8>, Duration),
    /// 404.
    Missing,
}

/// A raw HTTP/1.1 server on 127.0.0.1 port 0, one connection a request; its base URL.
async fn serve(answer: impl Fn(&str) -> Reply + Send + Sync + 'static) -> Url {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}/", listener.local_addr().unwrap());
    let answer = Arc::new(answer);
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let answer = answer.clone();
            tokio::spawn(async move {
                let _ = respond(tcp, &*answer).await;
            });
        }
    });
    Url::parse(&base).unwrap()
}

async fn respond(
    mut tcp: TcpStream,
    answer: &(dyn Fn(&str) -> Reply + Send + Sync),
) -> std::io::Result<()> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if tcp.read(&mut byte).await? == 0 {
            return Ok(());
        }
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head);
    let path = head.split_whitespace().nth(1).unwrap_or("/");
    let whole = |status: &str, extra: &str, len: usize| {
        format!("HTTP/1.1 {status}\r\n{extra}content-length: {len}\r\nconnection: close\r\n\r\n")
    };
    match answer(path) {
        Reply::Whole(body) => {
            tcp.write_all(whole("200 OK", "", body.len()).as_bytes())
                .await?;
            tcp.write_all(&body).await?;
        }
        Reply::Redirect(to) => {
            let extra = format!("location: {to}\r\n");
            tcp.write_all(whole("302 Found", &extra, 0).as_bytes())
                .await?;
        }
        Reply::Missing => {
            tcp.write_all(whole("404 Not Found", "", 0).as_bytes())
                .await?;
        }
        Reply::Trickle(body, every) => {
            tcp.write_all(whole("200 OK", "", body.len()).as_bytes())
                .await?;
            for b in body {
                tcp.write_all(&[b]).await?;
                tokio::time::sleep(every).await;
            }
        }
        Reply::Endless(chunk) => {
            tcp.write_all(
                b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n",
            )
            .await?;
            let chunk = chunk.repeat((64 << 10) / chunk.len().max(1));
            let framed = [format!("{:x}\r\n", chunk.len()).as_bytes(), &chunk, b"\r\n"].concat();
            loop {
                tcp.write_all(&framed).await?;
            }
        }
    }
    tcp.shutdown().await
}

/// Plays `url` to its end (at most 30 s) and returns the one-line error and the time taken.
async fn play_error(url: Url, config: PlayerConfig) -> (String, Duration) {
    let started = Instant::now();
    let player = Player::open(url, Box::new(NullSink::default()), config);
    let outcome = tokio::time::timeout(Duration::from_secs(30), player.finished())
        .await
        .expect("the session ends within 30 s");
    let error = outcome.error().expect("the session fails").to_owned();
    assert!(!error.contains('\n'), "one line: {error}");
    (error, started.elapsed())
}

/// A playlist padded with comment lines to `bytes`.
fn padded_playlist(bytes: usize) -> Vec<u8> {
    let mut body = b"#EXTM3U\n#EXT-X-TARGETDURATION:2\n".to_vec();
    while body.len() < bytes {
        body.extend_from_slice(b"# padding padding padding padding padding padding padding\n");
    }
    body
}

#[test]
fn a_manifest_over_its_limit_fails_in_one_line_whether_announced_or_endless() {
    runtime().block_on(async {
        let base = serve(|path| match path {
            "/announced.m3u8" => Reply::Whole(padded_playlist(17 << 20)),
            "/endless.m3u8" => {
                Reply::Endless(b"# a comment line, over and over, never a segment\n")
            }
            _ => Reply::Missing,
        })
        .await;
        for name in ["announced.m3u8", "endless.m3u8"] {
            let (error, took) = play_error(base.join(name).unwrap(), PlayerConfig::default()).await;
            assert!(
                error.contains("manifest too large: over 16 MiB"),
                "{name}: {error}"
            );
            assert!(took < Duration::from_secs(15), "{name}: took {took:?}");
        }
    });
}

#[test]
fn a_trickled_manifest_ends_at_the_deadline_not_when_its_bytes_run_out() {
    runtime().block_on(async {
        // One byte every 100 ms: never idle long enough for the next-byte timeout, and the
        // whole playlist would take minutes.
        let base =
            serve(|_| Reply::Trickle(padded_playlist(4096), Duration::from_millis(100))).await;
        let config = PlayerConfig {
            fetch: FetchConfig {
                manifest_deadline: Duration::from_secs(2),
                ..FetchConfig::default()
            },
            ..PlayerConfig::default()
        };
        let (error, took) = play_error(base.join("master.m3u8").unwrap(), config).await;
        assert!(
            error.contains("manifest load took longer than 2 s"),
            "{error}"
        );
        assert!(took < Duration::from_secs(6), "took {took:?}");
    });
}

#[test]
fn redirects_are_followed_five_deep_and_no_deeper() {
    runtime().block_on(async {
        let base = serve(
            |path| match path.strip_prefix("/hop/").map(str::parse::<u32>) {
                Some(Ok(0)) => Reply::Whole(b"#EXTM3U\n".to_vec()),
                Some(Ok(n)) => Reply::Redirect(format!("/hop/{}", n - 1)),
                _ => Reply::Missing,
            },
        )
        .await;
        let fetcher = Fetcher::new(FetchConfig::default());
        let five = fetcher
            .get(&base.join("hop/5").unwrap())
            .manifest()
            .send()
            .await
            .expect("five redirects are followed");
        assert_eq!(five.url.path(), "/hop/0");
        let six = fetcher
            .get(&base.join("hop/6").unwrap())
            .manifest()
            .send()
            .await
            .expect_err("the sixth is not");
        assert!(
            six.to_string().contains("too many redirects (over 5)"),
            "{six}"
        );
        assert!(!six.is_retryable());
    });
}

#[test]
fn a_segment_far_over_its_declared_bitrate_fails_naming_the_limit() {
    runtime().block_on(async {
        // 100 kbit/s declared, 2 s segments: 25 kB each. The limit is 4 × that, or 8 MiB at
        // least; this server's segment never ends.
        let base = serve(|path| match path {
            "/master.m3u8" => Reply::Whole(
                b"#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=100000,CODECS=\"avc1.64001f\"\nvideo.m3u8\n"
                    .to_vec(),
            ),
            "/video.m3u8" => Reply::Whole(
                b"#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXT-X-PLAYLIST-TYPE:VOD\n\
                  #EXTINF:2.0,\nseg0.ts\n#EXTINF:2.0,\nseg1.ts\n#EXT-X-ENDLIST\n"
                    .to_vec(),
            ),
            "/seg0.ts" | "/seg1.ts" => Reply::Endless(&[0x47; 188 * 8]),
            _ => Reply::Missing,
        })
        .await;
        // A short download timeout: without the limit the test fails on its assertion, not by
        // filling the memory for 20 s.
        let config = PlayerConfig {
            fetch: FetchConfig {
                total_timeout: Duration::from_secs(5),
                ..FetchConfig::default()
            },
            ..PlayerConfig::default()
        };
        let (error, took) = play_error(base.join("master.m3u8").unwrap(), config).await;
        assert!(
            error.contains("video segment 0 could not be played")
                && error.contains("segment too large: over 8 MiB"),
            "{error}"
        );
        assert!(took < Duration::from_secs(15), "took {took:?}");
    });
}

/// A VOD media playlist of `n` 2 s segments.
fn media_playlist(n: usize) -> Vec<u8> {
    let mut text = String::from("#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n");
    for i in 0..n {
        text += &format!("#EXTINF:2.0,\nsegment-{i}.ts\n");
    }
    (text + "#EXT-X-ENDLIST\n").into_bytes()
}

/// Resident memory of this process, bytes (Linux).
fn resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    Some(line.split_whitespace().nth(1)?.parse::<u64>().ok()? * 1024)
}

#[test]
fn a_hundred_thousand_segments_load_and_one_more_is_refused() {
    runtime().block_on(async {
        let at_limit = media_playlist(100_000);
        let over = media_playlist(100_001);
        let base = serve(move |path| match path {
            "/at-limit.m3u8" => Reply::Whole(at_limit.clone()),
            "/over.m3u8" => Reply::Whole(over.clone()),
            _ => Reply::Missing,
        })
        .await;
        let fetcher = Fetcher::new(FetchConfig::default());
        let before = resident_bytes();
        let p = player_core::manifest::load(&fetcher, &base.join("at-limit.m3u8").unwrap(), None)
            .await
            .expect("100000 segments are within the limit");
        let segments = p.periods[0].tracks[0].representations[0]
            .segment_list()
            .len();
        assert_eq!(segments, 100_000);
        if let (Some(b), Some(a)) = (before, resident_bytes()) {
            println!(
                "100000 segments: {:.1} MiB resident more ({} bytes a segment)",
                a.saturating_sub(b) as f64 / (1 << 20) as f64,
                a.saturating_sub(b) / 100_000
            );
        }
        drop(p);
        let (error, _) = play_error(base.join("over.m3u8").unwrap(), PlayerConfig::default()).await;
        assert!(
            error.contains("too many segments: over 100000 in one playlist"),
            "{error}"
        );
    });
}

#[test]
fn a_live_playlist_that_stops_advancing_ends_after_three_and_a_half_target_durations() {
    runtime().block_on(async {
        // A live playlist (no #EXT-X-ENDLIST) of three 1 s segments that never changes: its
        // source has stopped. Before, the player sat at the edge for ever.
        let base = serve(|path| match path {
            "/live.m3u8" => Reply::Whole(
                b"#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:1\n#EXT-X-MEDIA-SEQUENCE:0\n\
                  #EXTINF:1.0,\ns0.ts\n#EXTINF:1.0,\ns1.ts\n#EXTINF:1.0,\ns2.ts\n"
                    .to_vec(),
            ),
            "/s0.ts" | "/s1.ts" | "/s2.ts" => Reply::Whole(vec![0x47; 188 * 16]),
            _ => Reply::Missing,
        })
        .await;
        let (error, took) =
            play_error(base.join("live.m3u8").unwrap(), PlayerConfig::default()).await;
        assert!(
            error.contains("live stream stalled: no new segment in 3.5 s"),
            "{error}"
        );
        assert!(took < Duration::from_secs(15), "took {took:?}");
    });
}
