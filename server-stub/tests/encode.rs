//! The encoder's output is valid for other software: GStreamer's own `playbin` plays the HLS and
//! the DASH manifests to the end over HTTP from the cache server, and ffprobe reads them.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;

use gst::prelude::*;
use reel_stub::encode::{self, EncodeOptions, Ladder, LadderChoice, Source};
use reel_stub::oca::{Oca, OcaConfig};
use reel_stub::title::{Layout, TitleMeta};

const FPS: u32 = 30;

fn small_ladder() -> Ladder {
    Ladder::from_cli("240:300,360:700", 96).unwrap()
}

fn encode_synthetic(
    root: &Path,
    id: &str,
    seconds: u32,
    layout: Layout,
    ladder: LadderChoice,
) -> TitleMeta {
    let mut opts = EncodeOptions::new(Source::Synthetic { seconds }, root, id);
    opts.layout = layout;
    opts.ladder = ladder;
    opts.fps = FPS;
    opts.preset = "ultrafast".into();
    encode::encode(&opts).unwrap()
}

async fn serve(root: &Path) -> Oca {
    Oca::start(OcaConfig {
        id: "oca-test".into(),
        root: root.to_path_buf(),
        listen: "127.0.0.1:0".parse::<SocketAddr>().unwrap(),
        admin: None,
    })
    .await
    .unwrap()
}

/// What `playbin` did with a URI.
#[derive(Debug)]
struct Played {
    video_frames: u64,
    audio_buffers: u64,
    eos: bool,
    error: Option<String>,
}

/// Plays `uri` with `playbin` into counting fake sinks, as fast as it decodes, until EOS.
fn play_with_playbin(uri: &str) -> Played {
    gst::init().unwrap();
    let counter = |name: &str| {
        let sink = gst::ElementFactory::make("fakesink")
            .name(name)
            .property("sync", false)
            .property("signal-handoffs", true)
            .build()
            .unwrap();
        let count = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let c = count.clone();
        sink.connect("handoff", false, move |_| {
            c.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            None
        });
        (sink, count)
    };
    let (vsink, vcount) = counter("v");
    let (asink, acount) = counter("a");
    let playbin = gst::ElementFactory::make("playbin")
        .property("uri", uri)
        .property("video-sink", &vsink)
        .property("audio-sink", &asink)
        .build()
        .unwrap();
    playbin.set_state(gst::State::Playing).unwrap();
    let bus = playbin.bus().unwrap();
    let mut played = Played {
        video_frames: 0,
        audio_buffers: 0,
        eos: false,
        error: None,
    };
    if let Some(msg) = bus.timed_pop_filtered(
        gst::ClockTime::from_seconds(90),
        &[gst::MessageType::Eos, gst::MessageType::Error],
    ) {
        match msg.view() {
            gst::MessageView::Eos(_) => played.eos = true,
            gst::MessageView::Error(e) => {
                played.error = Some(format!("{} ({:?})", e.error(), e.debug()))
            }
            _ => {}
        }
    }
    playbin.set_state(gst::State::Null).unwrap();
    played.video_frames = vcount.load(std::sync::atomic::Ordering::Relaxed);
    played.audio_buffers = acount.load(std::sync::atomic::Ordering::Relaxed);
    played
}

/// The languages of the streams of `kind` `playbin3` offers for `uri` (its HLS demuxer, unlike
/// the one `playbin` falls back to, reads `EXT-X-MEDIA` groups).
fn stream_languages(uri: &str, kind: gst::StreamType) -> Vec<String> {
    gst::init().unwrap();
    let fakesink = || gst::ElementFactory::make("fakesink").build().unwrap();
    let playbin = gst::ElementFactory::make("playbin3")
        .property("uri", uri)
        .property("video-sink", fakesink())
        .property("audio-sink", fakesink())
        .build()
        .unwrap();
    playbin.set_state(gst::State::Paused).unwrap();
    let bus = playbin.bus().unwrap();
    let mut languages = Vec::new();
    while let Some(msg) = bus.timed_pop_filtered(
        gst::ClockTime::from_seconds(30),
        &[gst::MessageType::StreamCollection, gst::MessageType::Error],
    ) {
        match msg.view() {
            gst::MessageView::StreamCollection(c) => {
                languages = c
                    .stream_collection()
                    .iter()
                    .filter(|s| s.stream_type().contains(kind))
                    .map(|s| {
                        s.tags()
                            .and_then(|t| t.get::<gst::tags::LanguageCode>())
                            .map(|l| l.get().to_string())
                            .unwrap_or_default()
                    })
                    .collect();
                break;
            }
            gst::MessageView::Error(e) => panic!("{uri}: {}", e.error()),
            _ => {}
        }
    }
    // The collection comes while adaptivedemux2 is still starting its download loop; stopped
    // right then, it can wait forever for that loop's thread to end (seen once, on a cold
    // machine: the test hung in set_state(Null)). Let the pipeline preroll first.
    let _ = playbin.state(gst::ClockTime::from_seconds(30));
    playbin.set_state(gst::State::Null).unwrap();
    languages
}

fn ffprobe_json(args: &[&str]) -> serde_json::Value {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-of", "json"])
        .args(args)
        .output()
        .expect("ffprobe runs (cargo xtask test installs ffmpeg)");
    assert!(
        out.status.success(),
        "ffprobe {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Every keyframe time of the first video stream of a file.
fn keyframe_times(file: &Path) -> Vec<f64> {
    let v = ffprobe_json(&[
        "-select_streams",
        "v:0",
        "-show_entries",
        "packet=pts_time,flags",
        file.to_str().unwrap(),
    ]);
    v["packets"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["flags"].as_str().unwrap_or("").starts_with('K'))
        .map(|p| p["pts_time"].as_str().unwrap().parse().unwrap())
        .collect()
}

/// The pitch of the first second of an audio file, Hz, counted from its zero crossings.
fn tone_hz(file: &Path) -> f64 {
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(file)
        .args(["-t", "1", "-ac", "1", "-ar", "48000", "-f", "s16le", "-"])
        .output()
        .expect("ffmpeg runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let samples: Vec<i16> = out
        .stdout
        .chunks_exact(2)
        .map(|b| i16::from_le_bytes([b[0], b[1]]))
        .collect();
    // Skip the encoder's priming; count upward crossings over a whole number of samples.
    let steady = &samples[samples.len() / 4..];
    let ups = steady.windows(2).filter(|w| w[0] < 0 && w[1] >= 0).count();
    ups as f64 * 48_000.0 / steady.len() as f64
}

fn assert_played_to_the_end(uri: &str, seconds: u32) {
    let played = play_with_playbin(uri);
    assert!(played.eos, "{uri}: no EOS, error {:?}", played.error);
    let expected = (seconds * FPS) as u64;
    assert!(
        played.video_frames * 100 >= expected * 97,
        "{uri}: {} of {expected} frames decoded",
        played.video_frames
    );
    assert!(played.audio_buffers > 0, "{uri}: no audio decoded");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn byte_range_title_plays_in_playbin_and_ffprobe_reads_it() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    let seconds = 16;
    let r = root.clone();
    let title = tokio::task::spawn_blocking(move || {
        encode_synthetic(
            &r,
            "demo",
            seconds,
            Layout::ByteRanges,
            LadderChoice::Fixed(small_ladder()),
        )
    })
    .await
    .unwrap();

    // The ladder, aligned segments and real (variable) sizes.
    assert_eq!(title.video.len(), 2);
    // Two audio tracks, English and French, a fifth apart.
    let audio: Vec<(&str, Option<&str>, Option<&str>)> = title
        .audio
        .iter()
        .map(|a| (a.id.as_str(), a.language.as_deref(), a.name.as_deref()))
        .collect();
    assert_eq!(
        audio,
        [
            ("audio_aac", Some("en"), Some("English")),
            ("audio_aac_fr", Some("fr"), Some("Français"))
        ]
    );
    let tones = [&title.audio[0], &title.audio[1]]
        .map(|a| tone_hz(&root.join("demo").join(a.media_file())));
    assert!(
        (tones[0] - 440.0).abs() < 5.0 && (tones[1] - 660.0).abs() < 5.0,
        "the first scene's tone in each track: {tones:?}"
    );
    assert_eq!(
        (title.video[0].width, title.video[0].height),
        (Some(428), Some(240))
    );
    assert!(
        (title.duration_s - seconds as f64).abs() < 0.2,
        "{}",
        title.duration_s
    );
    for v in &title.video {
        assert_eq!(v.segments.len(), 4);
        let starts: Vec<f64> = v.segments.iter().map(|s| s.start_s).collect();
        assert_eq!(starts, [0.0, 4.0, 8.0, 12.0], "{}", v.id);
        assert!(v.codecs.starts_with("avc1."), "{}", v.codecs);
        assert_eq!(
            keyframe_times(&root.join("demo").join(v.media_file())),
            [0.0, 4.0, 8.0, 12.0]
        );
    }
    let top = &title.video[1];
    let sizes: Vec<u64> = top.segments.iter().map(|s| s.range.length).collect();
    let (min, max) = (sizes.iter().min().unwrap(), sizes.iter().max().unwrap());
    assert!(
        *max > *min * 3 / 2,
        "still card vs motion should differ in size: {sizes:?}"
    );
    assert_eq!(title.audio[0].codecs, "mp4a.40.2");
    // The synthetic title's own subtitles, cut where the video is.
    let languages: Vec<&str> = title
        .subtitles
        .iter()
        .map(|t| t.language.as_str())
        .collect();
    assert_eq!(languages, ["en", "fr"]);
    for t in &title.subtitles {
        let starts: Vec<f64> = t.segments.iter().map(|s| s.start_s).collect();
        assert_eq!(starts, [0.0, 4.0, 8.0, 12.0], "{}", t.id);
        let last = t.segments.last().unwrap();
        assert!((last.start_s + last.duration_s - title.duration_s).abs() < 1e-9);
    }
    let cue = std::fs::read_to_string(root.join("demo/subtitles_fr/seg_00002.vtt")).unwrap();
    assert!(
        cue.starts_with("WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:0,LOCAL:00:00:00.000\n")
            && cue.contains("00:00:04.000 --> 00:00:05.500\nSeconde 4\n"),
        "{cue}"
    );

    let oca = serve(&root).await;
    for manifest in ["master.m3u8", "manifest.mpd"] {
        let uri = format!("{}/demo/{manifest}", oca.url());
        let u = uri.clone();
        tokio::task::spawn_blocking(move || assert_played_to_the_end(&u, seconds))
            .await
            .unwrap();
        let languages = tokio::task::spawn_blocking(move || {
            [gst::StreamType::AUDIO, gst::StreamType::TEXT].map(|k| stream_languages(&uri, k))
        })
        .await
        .unwrap();
        assert_eq!(
            languages,
            [["en", "fr"], ["en", "fr"]],
            "{manifest}: audio, text"
        );
    }
    for manifest in ["master.m3u8", "manifest.mpd"] {
        let uri = format!("{}/demo/{manifest}", oca.url());
        let probe = tokio::task::spawn_blocking(move || {
            ffprobe_json(&["-show_entries", "stream=codec_name,width,height", &uri])
        })
        .await
        .unwrap();
        let streams = probe["streams"].as_array().unwrap();
        let codecs: Vec<&str> = streams
            .iter()
            .filter_map(|s| s["codec_name"].as_str())
            .collect();
        assert!(
            codecs.contains(&"h264") && codecs.contains(&"aac"),
            "{manifest}: {codecs:?}"
        );
        if manifest.ends_with(".mpd") {
            assert_eq!(
                codecs.iter().filter(|c| **c == "webvtt").count(),
                2,
                "{manifest}: both subtitle tracks: {codecs:?}"
            );
            assert_eq!(
                codecs.iter().filter(|c| **c == "aac").count(),
                2,
                "{manifest}: both audio tracks: {codecs:?}"
            );
        }
        let heights: Vec<u64> = streams
            .iter()
            .filter_map(|s| s["height"].as_u64())
            .collect();
        assert!(
            heights.contains(&240) && heights.contains(&360),
            "{manifest}: {heights:?}"
        );
    }
    oca.shutdown().await;

    // A rendition file is itself a valid input: re-encode it (video only, 240p, so no upscaling).
    let input = root.join("demo/video_240p.mp4");
    let r = root.clone();
    let again = tokio::task::spawn_blocking(move || {
        let mut opts = EncodeOptions::new(Source::File(input), &r, "from-file");
        opts.preset = "ultrafast".into();
        encode::encode(&opts).unwrap()
    })
    .await
    .unwrap();
    assert_eq!(
        again.video.len(),
        1,
        "rungs above the 240p source are dropped"
    );
    assert_eq!(again.video[0].height, Some(240));
    assert!(again.audio.is_empty());
    assert!((again.duration_s - seconds as f64).abs() < 0.2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_layout_plays_in_playbin() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    let r = root.clone();
    // A subtitle file given replaces the synthetic tracks; SubRip is converted to WebVTT.
    let srt = dir.path().join("de.srt");
    std::fs::write(
        &srt,
        "1\n00:00:05,000 --> 00:00:06,250\nHallo <b>Welt</b>\n",
    )
    .unwrap();
    let title = tokio::task::spawn_blocking(move || {
        let mut opts = EncodeOptions::new(Source::Synthetic { seconds: 8 }, &r, "files");
        opts.layout = Layout::Files;
        opts.ladder = LadderChoice::Fixed(small_ladder());
        opts.fps = FPS;
        opts.preset = "ultrafast".into();
        opts.subtitles =
            encode::SubtitleInput::parse_list(&format!("de={}", srt.display())).unwrap();
        encode::encode(&opts).unwrap()
    })
    .await
    .unwrap();
    assert_eq!(title.subtitles.len(), 1);
    assert_eq!(title.subtitles[0].language, "de");
    let sidecar = std::fs::read_to_string(root.join("files/subtitles_de.vtt")).unwrap();
    assert_eq!(
        sidecar,
        "WEBVTT\n\n00:00:05.000 --> 00:00:06.250\nHallo <b>Welt</b>\n"
    );
    let tdir = root.join("files");
    assert!(tdir.join("video_240p/init.mp4").is_file());
    assert!(tdir.join("video_240p/seg_00002.m4s").is_file());
    assert!(!tdir.join("video_240p.mp4").exists());
    let seg_len = std::fs::metadata(tdir.join("video_360p/seg_00001.m4s"))
        .unwrap()
        .len();
    assert_eq!(seg_len, title.video[1].segments[0].range.length);
    let mpd = std::fs::read_to_string(tdir.join("manifest.mpd")).unwrap();
    assert!(mpd.contains("SegmentTemplate"));

    let oca = serve(&root).await;
    for manifest in ["master.m3u8", "manifest.mpd"] {
        let uri = format!("{}/files/{manifest}", oca.url());
        tokio::task::spawn_blocking(move || assert_played_to_the_end(&uri, 8))
            .await
            .unwrap();
    }
    oca.shutdown().await;
}

#[test]
fn auto_ladder_measures_the_title_and_stays_under_the_caps() {
    let dir = tempfile::tempdir().unwrap();
    let base = Ladder::from_cli("240:300,360:750,720:3000", 96).unwrap();
    let title = encode_synthetic(
        dir.path(),
        "auto",
        8,
        Layout::ByteRanges,
        LadderChoice::Auto(base),
    );
    let note = title.ladder_note.as_deref().unwrap();
    assert!(note.contains("trial encode"), "{note}");
    assert!(!title.video.is_empty());
    // The first 8 s are a still test card: easy content gets fewer bits than the caps.
    let top = title.video.last().unwrap();
    assert!(top.target_bitrate < 3_000_000, "{note}");
    for v in &title.video {
        assert!(v.target_bitrate <= 3_000_000);
    }
}

#[test]
fn bad_inputs_fail_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let missing = PathBuf::from("/nonexistent/clip.mp4");
    let err = encode::encode(&EncodeOptions::new(Source::File(missing), dir.path(), "x"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("cannot open"), "{err}");

    let garbage = dir.path().join("garbage.mp4");
    std::fs::write(&garbage, vec![0x42u8; 4096]).unwrap();
    let err = encode::encode(&EncodeOptions::new(Source::File(garbage), dir.path(), "y"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("GStreamer cannot read it"), "{err}");

    let err = encode::encode(&EncodeOptions::new(
        Source::Synthetic { seconds: 2 },
        dir.path(),
        "../up",
    ))
    .unwrap_err()
    .to_string();
    assert!(err.contains("title id"), "{err}");

    // A bad subtitle file fails before anything is encoded.
    let srt = dir.path().join("garbage.srt");
    std::fs::write(&srt, "1\nnot a time\nHi\n").unwrap();
    let mut opts = EncodeOptions::new(Source::Synthetic { seconds: 2 }, dir.path(), "z");
    opts.subtitles = encode::SubtitleInput::parse_list(&format!("en={}", srt.display())).unwrap();
    let err = encode::encode(&opts).unwrap_err().to_string();
    assert!(err.contains("garbage.srt: not SubRip"), "{err}");
    assert!(
        std::fs::read_dir(dir.path()).unwrap().all(|e| {
            let name = e.unwrap().file_name();
            name == "garbage.mp4" || name == "garbage.srt"
        }),
        "nothing half-written is left behind"
    );
}

#[test]
fn an_existing_title_is_kept_unless_forced() {
    let dir = tempfile::tempdir().unwrap();
    encode_synthetic(
        dir.path(),
        "t",
        2,
        Layout::ByteRanges,
        LadderChoice::Fixed(Ladder::from_cli("240:300", 64).unwrap()),
    );
    let mut opts = EncodeOptions::new(Source::Synthetic { seconds: 2 }, dir.path(), "t");
    opts.ladder = LadderChoice::Fixed(Ladder::from_cli("240:300", 64).unwrap());
    opts.preset = "ultrafast".into();
    let err = encode::encode(&opts).unwrap_err().to_string();
    assert!(err.contains("--force"), "{err}");
    opts.force = true;
    encode::encode(&opts).unwrap();
}

/// `reel-stub up --check` (the README's demo, minus waiting for Ctrl-C) against a media root that
/// already has a title: prints the stack and an HLS and a DASH session.
#[test]
fn up_prints_the_stack_and_sample_sessions() {
    let dir = tempfile::tempdir().unwrap();
    encode_synthetic(
        dir.path(),
        "demo",
        4,
        Layout::ByteRanges,
        LadderChoice::Fixed(small_ladder()),
    );
    let out = Command::new(env!("CARGO_BIN_EXE_reel-stub"))
        .args(["up", "--port-base", "0", "--check", "--media"])
        .arg(dir.path())
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("demo login: demo / reel"), "{stdout}");
    assert_eq!(stdout.matches("cache oca-").count(), 3, "{stdout}");
    assert!(stdout.contains("/master.m3u8"), "{stdout}");
    assert!(stdout.contains("/manifest.mpd"), "{stdout}");
    assert!(
        stdout.contains("pathways: oca-1 > oca-2 > oca-3"),
        "{stdout}"
    );
}

#[test]
fn audio_files_replace_the_sources_sound_one_track_per_language() {
    let dir = tempfile::tempdir().unwrap();
    let sine = |name: &str, hz: u32, seconds: u32| {
        let path = dir.path().join(name);
        let ok = Command::new("ffmpeg")
            .args(["-v", "error", "-y", "-f", "lavfi", "-i"])
            .arg(format!("sine=frequency={hz}:duration={seconds}"))
            .arg(&path)
            .status()
            .unwrap()
            .success();
        assert!(ok, "ffmpeg writes {name}");
        path
    };
    // German longer than the picture (cut at its end), Spanish shorter (ends early).
    let de = sine("de.m4a", 300, 12);
    let es = sine("es.wav", 500, 3);
    let root = dir.path().join("media");
    let mut opts = EncodeOptions::new(Source::Synthetic { seconds: 8 }, &root, "dubbed");
    opts.ladder = LadderChoice::Fixed(small_ladder());
    opts.preset = "ultrafast".into();
    opts.audio =
        encode::AudioInput::parse_list(&format!("de:Deutsch={},es={}", de.display(), es.display()))
            .unwrap();
    let title = encode::encode(&opts).unwrap();
    let audio: Vec<(&str, Option<&str>, Option<&str>)> = title
        .audio
        .iter()
        .map(|a| (a.id.as_str(), a.language.as_deref(), a.name.as_deref()))
        .collect();
    assert_eq!(
        audio,
        [
            ("audio_aac", Some("de"), Some("Deutsch")),
            ("audio_aac_es", Some("es"), Some("es"))
        ]
    );
    let end = |a: &reel_stub::title::Rendition| {
        let last = a.segments.last().unwrap();
        last.start_s + last.duration_s
    };
    assert!(
        (end(&title.audio[0]) - 8.0).abs() < 0.1,
        "{}",
        end(&title.audio[0])
    );
    assert!(
        (end(&title.audio[1]) - 3.0).abs() < 0.1,
        "{}",
        end(&title.audio[1])
    );
    let tones = [&title.audio[0], &title.audio[1]]
        .map(|a| tone_hz(&root.join("dubbed").join(a.media_file())));
    assert!(
        (tones[0] - 300.0).abs() < 5.0 && (tones[1] - 500.0).abs() < 5.0,
        "each file's own sound, not the synthetic tones: {tones:?}"
    );
    let mpd = std::fs::read_to_string(root.join("dubbed/manifest.mpd")).unwrap();
    assert!(
        mpd.contains(r#"lang="de""#) && mpd.contains("<Label>Deutsch</Label>"),
        "{mpd}"
    );
    let m3u8 = std::fs::read_to_string(root.join("dubbed/master.m3u8")).unwrap();
    assert!(
        m3u8.contains(r#"LANGUAGE="es""#) && m3u8.contains(r#"NAME="Deutsch",DEFAULT=YES"#),
        "{m3u8}"
    );

    // Bad audio inputs fail before the encode, in one line naming the track.
    let video_only = dir.path().join("silent.mp4");
    let ok = Command::new("ffmpeg")
        .args([
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "testsrc=duration=1",
        ])
        .args(["-an", "-pix_fmt", "yuv420p"])
        .arg(&video_only)
        .status()
        .unwrap()
        .success();
    assert!(ok);
    for (spec, error) in [
        (
            format!("de={}", dir.path().join("missing.m4a").display()),
            "audio de: ",
        ),
        (
            format!("it={}", video_only.display()),
            "has no audio stream",
        ),
        (
            format!("de={},de={}", de.display(), es.display()),
            "one track per language",
        ),
    ] {
        let mut opts = EncodeOptions::new(Source::Synthetic { seconds: 2 }, &root, "bad");
        opts.audio = encode::AudioInput::parse_list(&spec).unwrap();
        let e = encode::encode(&opts).unwrap_err().to_string();
        assert!(e.contains(error) && !e.contains('\n'), "{spec}: {e}");
    }
}
