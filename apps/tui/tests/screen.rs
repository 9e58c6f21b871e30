//! The real `reel` binary in a pseudo-terminal (tmux), against the stub stack on loopback:
//! what the screen shows after each key a viewer would press.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use reel_stub::encode::{self, EncodeOptions, Ladder, LadderChoice, Source};
use reel_stub::oca::{Oca, OcaConfig};

/// A short demo title, encoded once for every test.
fn media() -> &'static Path {
    static MEDIA: OnceLock<tempfile::TempDir> = OnceLock::new();
    MEDIA
        .get_or_init(|| {
            let dir = tempfile::tempdir().unwrap();
            let mut opts =
                EncodeOptions::new(Source::Synthetic { seconds: 60 }, dir.path(), "demo");
            opts.ladder = LadderChoice::Fixed(
                Ladder::from_cli("240:300,360:800,480:1600,720:3000", 96).unwrap(),
            );
            opts.segment_duration_s = 2;
            opts.preset = "ultrafast".into();
            opts.progress = false;
            encode::encode(&opts).unwrap();
            dir
        })
        .path()
}

fn have_tmux() -> bool {
    Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// A tmux session running one command, with its own HOME (settings, cache, no keyring).
struct Screen {
    name: String,
    _home: Option<tempfile::TempDir>,
}

impl Screen {
    fn start(args: &str, size: (u16, u16), settings: &str) -> Screen {
        let home = tempfile::tempdir().unwrap();
        let mut screen = Screen::start_in(home.path(), args, size, settings);
        screen._home = Some(home);
        screen
    }

    /// Runs in `home`, which outlives the screen (a second run finds what the first left).
    fn start_in(home: &Path, args: &str, size: (u16, u16), settings: &str) -> Screen {
        Screen::start_with(home, args, size, settings, "")
    }

    /// [`Screen::start_in`] with `env` (`NAME=value …`) added to the environment.
    fn start_with(home: &Path, args: &str, size: (u16, u16), settings: &str, env: &str) -> Screen {
        let config = home.join(".config/reel");
        std::fs::create_dir_all(&config).unwrap();
        std::fs::write(config.join("config.toml"), settings).unwrap();
        let name = format!("reel-test-{}-{}", std::process::id(), fastrand_name());
        let command = format!(
            "env HOME={home} XDG_CONFIG_HOME={home}/.config XDG_CACHE_HOME={home}/.cache XDG_DATA_HOME={home}/.local/share TERM=xterm-256color {env} {bin} {args}; echo \"[reel exited with $?]\"",
            home = home.display(),
            bin = env!("CARGO_BIN_EXE_reel"),
        );
        let ok = Command::new("tmux")
            .args(["new-session", "-d", "-s", &name])
            .args(["-x", &size.0.to_string(), "-y", &size.1.to_string()])
            .arg(&command)
            .status()
            .unwrap()
            .success();
        assert!(ok, "tmux starts");
        Command::new("tmux")
            .args(["set-option", "-t", &name, "remain-on-exit", "on"])
            .status()
            .unwrap();
        Screen { name, _home: None }
    }

    fn text(&self) -> String {
        let out = Command::new("tmux")
            .args(["capture-pane", "-p", "-J", "-S", "-100", "-t", &self.name])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn keys(&self, keys: &str) {
        Command::new("tmux")
            .args(["send-keys", "-t", &self.name, keys])
            .status()
            .unwrap();
    }

    /// Waits until the screen satisfies `ok`; panics with the screen after `secs`.
    fn wait_for(&self, what: &str, secs: u64, ok: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let text = self.text();
            if ok(&text) {
                return text;
            }
            if Instant::now() > deadline {
                panic!("timed out waiting for {what}; the screen shows:\n{text}");
            }
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// Waits for the process to end; its exit status (printed by the shell after it).
    fn wait_exit(&self, secs: u64) -> i32 {
        let text = self.wait_for("reel to exit", secs, |t| t.contains("[reel exited with "));
        let at = text.find("[reel exited with ").unwrap() + "[reel exited with ".len();
        text[at..]
            .split(']')
            .next()
            .and_then(|n| n.trim().parse().ok())
            .expect("an exit status")
    }
}

impl Drop for Screen {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["kill-session", "-t", &self.name])
            .status();
    }
}

fn fastrand_name() -> String {
    format!(
        "{:x}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos()
    )
}

/// Small buffers so that faults show within seconds.
const SETTINGS: &str =
    "abr = \"throughput\"\naudio = false\n[buffer]\nlow_watermark_s = 6\nhigh_watermark_s = 10\n";

fn demo_args() -> String {
    format!("demo --media {} --no-audio", media().display())
}

/// The rung (1-based) the ladder panel marks as playing.
fn playing_rung(screen: &str) -> Option<u32> {
    screen.lines().find_map(|l| {
        let at = l.find('▶')?;
        let rest = l[at..].trim_start_matches(['▶', '◎', ' ']);
        rest.split_whitespace().next()?.parse().ok()
    })
}

/// A `switch A -> B` line with B < A in the event log below the line containing `marker`.
fn switched_down_after(screen: &str, marker: &str) -> bool {
    screen
        .lines()
        .skip_while(|l| !l.contains(marker))
        .filter_map(|l| {
            let rest = &l[l.find("switch ")? + "switch ".len()..];
            let (a, rest) = rest.split_once(" -> ")?;
            let b = rest.split(':').next()?;
            Some((a.trim().parse::<u32>().ok()?, b.trim().parse::<u32>().ok()?))
        })
        .any(|(a, b)| b < a)
}

fn active_pathway(screen: &str) -> Option<String> {
    screen.lines().find_map(|l| {
        let at = l.find('●')?;
        l[at + '●'.len_utf8()..]
            .split_whitespace()
            .next()
            .map(String::from)
    })
}

#[test]
fn the_demo_shows_the_engine_and_reacts_to_keys() {
    if !tmux_or_skip() {
        return;
    }
    let _ = media();
    let s = Screen::start(&demo_args(), (140, 45), SETTINGS);
    let screen = s.wait_for("the title, the ladder and a playing rung", 60, |t| {
        t.contains("demo (demo)") && t.contains("ladder (hls)") && playing_rung(t).is_some()
    });
    assert!(screen.contains("pathways"), "{screen}");
    assert!(screen.contains("QoE_lin"), "{screen}");

    // Help overlay opens and closes.
    s.keys("?");
    s.wait_for("the help overlay", 10, |t| {
        t.contains("keys (? to close)") && t.contains("pin a rung")
    });
    s.keys("?");
    s.wait_for("the help overlay to close", 10, |t| {
        !t.contains("keys (? to close)")
    });

    // Let the ABR climb, then throttle the active cache: the playing rung falls.
    let high = s.wait_for("a rung above the lowest", 60, |t| {
        playing_rung(t).is_some_and(|r| r >= 2)
    });
    let before = playing_rung(&high).unwrap();
    s.keys("t");
    s.wait_for("the throttle in the log", 10, |t| {
        t.contains("throttled to 500 kbit/s")
    });
    // The rung falls: on the ladder panel, or in the event log as a switch down after the
    // throttle (the steering server may move play to a healthy cache soon after).
    s.wait_for("the rung to fall", 90, |t| {
        playing_rung(t).is_some_and(|r| r < before) || switched_down_after(t, "throttled")
    });

    // Kill the active cache: the active pathway changes.
    let screen = s.text();
    let first = active_pathway(&screen).expect("an active pathway");
    s.keys("k");
    let screen = s.wait_for("another active pathway", 30, |t| {
        active_pathway(t).is_some_and(|p| p != first)
    });
    assert!(screen.contains(&format!("pathway {first} ->")), "{screen}");

    // Quit: the process ends cleanly and the terminal is back (no player screen left).
    s.keys("q");
    assert_eq!(s.wait_exit(15), 0);
    let after = s.text();
    assert!(
        !after.contains("ladder (hls)"),
        "the player screen is gone:\n{after}"
    );
}

/// The playhead the title bar shows beside `state` (` Playing  0:41 / 1:00 `), in seconds.
fn clock_beside(screen: &str, state: &str) -> Option<u64> {
    screen.lines().find_map(|line| {
        let at = line.find(&format!(" {state} "))? + state.len() + 2;
        let (m, s) = line[at..].split_whitespace().next()?.split_once(':')?;
        Some(m.parse::<u64>().ok()? * 60 + s.parse::<u64>().ok()?)
    })
}

#[test]
fn a_demo_started_at_40_s_plays_from_there() {
    if !tmux_or_skip() {
        return;
    }
    let _ = media();
    let s = Screen::start(&format!("{} --start 40", demo_args()), (140, 45), SETTINGS);
    let screen = s.wait_for("playing", 60, |t| clock_beside(t, "Playing").is_some());
    // Decoded from 40 s of the 60 s title: the clock reads 0:40 (a little more by the time the
    // screen is read), and playback goes on to the end from there.
    let at = clock_beside(&screen, "Playing").unwrap();
    assert!((40..46).contains(&at), "playing from {at} s:\n{screen}");
    assert!(
        !screen.contains("playback failed"),
        "the start does not fail:\n{screen}"
    );
    s.wait_for("the end of the title", 60, |t| t.contains("Ended"));
    s.keys("q");
    assert_eq!(s.wait_exit(20), 0);
}

/// Fails in CI when tmux is missing; elsewhere says so and skips.
fn tmux_or_skip() -> bool {
    if have_tmux() {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "CI must run the screen tests: tmux is not installed"
    );
    eprintln!("skipped: tmux is not installed (apt-get install tmux)");
    false
}

/// Plays `args` in `home` until the clock shows, checks that playback started at 0 (`why`
/// says why it should), quits, and returns the screen seen.
fn plays_from_0(home: &Path, args: &str, why: &str) -> String {
    let s = Screen::start_in(home, args, (140, 45), SETTINGS);
    let screen = s.wait_for("playing", 60, |t| clock_beside(t, "Playing").is_some());
    let at = clock_beside(&screen, "Playing").unwrap();
    assert!(at < 5, "{why} plays from 0, not {at} s:\n{screen}");
    s.keys("q");
    assert_eq!(s.wait_exit(20), 0);
    screen
}

/// Plays the demo in `home` until the title bar's clock reads at least `at_least` seconds,
/// then quits; the screen as it was just before.
fn play_until(home: &Path, args: &str, at_least: u64) -> String {
    let s = Screen::start_in(
        home,
        &format!("{} {args}", demo_args()),
        (140, 45),
        SETTINGS,
    );
    let screen = s.wait_for(&format!("playing at {at_least} s"), 90, |t| {
        clock_beside(t, "Playing").is_some_and(|c| c >= at_least)
    });
    s.keys("q");
    assert_eq!(s.wait_exit(20), 0, "{screen}");
    screen
}

#[test]
fn a_title_resumes_where_it_was_left_and_b_starts_over() {
    if !tmux_or_skip() {
        return;
    }
    let _ = media();
    let home = tempfile::tempdir().unwrap();
    // Left at 0:32 or so.
    play_until(home.path(), "--start 30", 32);

    // --no-resume starts at 0 and leaves the remembered position alone.
    let screen = plays_from_0(
        home.path(),
        &format!("{} --no-resume", demo_args()),
        "--no-resume",
    );
    assert!(!screen.contains("resumed at"), "{screen}");

    // A plain play resumes there, with a one-line notice naming the key to start over.
    let s = Screen::start_in(home.path(), &demo_args(), (140, 45), SETTINGS);
    let screen = s.wait_for("playing", 60, |t| clock_beside(t, "Playing").is_some());
    let at = clock_beside(&screen, "Playing").unwrap();
    assert!((31..40).contains(&at), "resumed at {at} s:\n{screen}");
    let title_bar = screen.lines().next().unwrap_or_default();
    assert!(
        title_bar.contains("resumed at 0:3") && title_bar.contains("(b: start over)"),
        "the title bar says where it resumed and how to start over:\n{screen}"
    );
    // b: back to the beginning.
    s.keys("b");
    s.wait_for("the start over", 20, |t| {
        let title_bar = t.lines().next().unwrap_or_default();
        clock_beside(t, "Playing").is_some_and(|c| c < 5) && !title_bar.contains("resumed at")
    });
    s.keys("q");
    assert_eq!(s.wait_exit(20), 0);

    // Left within the first seconds: the next play starts at 0.
    plays_from_0(
        home.path(),
        &demo_args(),
        "started over, then left at once:",
    );
}

#[test]
fn a_title_watched_to_the_end_starts_at_0_next_time() {
    if !tmux_or_skip() {
        return;
    }
    let _ = media();
    let home = tempfile::tempdir().unwrap();
    // Left midway once, then watched to the end.
    play_until(home.path(), "--start 20", 22);
    let s = Screen::start_in(home.path(), &demo_args(), (140, 45), SETTINGS);
    s.wait_for("resumed at 0:2x", 60, |t| t.contains("resumed at 0:2"));
    s.keys("up"); // a minute on: past the end of the 60 s title
    s.wait_for("the end of the title", 60, |t| t.contains(" Ended "));
    s.keys("q");
    assert_eq!(s.wait_exit(20), 0);

    let screen = plays_from_0(home.path(), &demo_args(), "a title watched to the end");
    assert!(!screen.contains("resumed at"), "{screen}");
}

#[test]
fn a_failed_play_says_why_on_screen_and_after_exit() {
    if !tmux_or_skip() {
        return;
    }
    let s = Screen::start(
        "play http://127.0.0.1:9/none.m3u8 --no-audio",
        (100, 30),
        SETTINGS,
    );
    s.wait_for("the error line", 30, |t| {
        t.contains("playback failed: cannot load")
    });
    s.keys("q");
    assert_eq!(s.wait_exit(15), 1);
    let after = s.text();
    assert!(
        after.contains("reel: playback failed: cannot load"),
        "{after}"
    );
}

#[test]
fn a_terminal_too_small_says_so() {
    if !tmux_or_skip() {
        return;
    }
    let s = Screen::start(&demo_args(), (30, 8), SETTINGS);
    s.wait_for("the size message", 60, |t| t.contains("terminal too small"));
    s.keys("q");
    assert_eq!(s.wait_exit(15), 0);
}

#[test]
fn titles_and_login_without_a_keyring_explain_themselves() {
    // No D-Bus session here: the keyring is unavailable and `reel titles` says what to do.
    let home = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_reel"))
        .args(["titles", "--backend", "http://127.0.0.1:9"])
        .env("HOME", home.path())
        .env("XDG_CONFIG_HOME", home.path().join(".config"))
        .env("XDG_CACHE_HOME", home.path().join(".cache"))
        .env_remove("REEL_TOKEN")
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    assert!(
        err.contains("REEL_TOKEN"),
        "points at the environment variable: {err}"
    );
    let path = Command::new(env!("CARGO_BIN_EXE_reel"))
        .args(["config", "path"])
        .env("XDG_CONFIG_HOME", home.path().join("cfg"))
        .output()
        .unwrap();
    let printed = PathBuf::from(String::from_utf8_lossy(&path.stdout).trim());
    assert_eq!(printed, home.path().join("cfg/reel/config.toml"));
}

#[test]
fn a_title_of_the_playback_api_resumes_on_another_machine() {
    if !tmux_or_skip() {
        return;
    }
    // One backend keeping bookmarks in SQLite; two terminals with nothing in common but the
    // viewer's login.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let state = tempfile::tempdir().unwrap();
    let mut config = reel_stub::up::UpConfig::new(media());
    config.port_base = 0;
    config.progress = false;
    config.bookmarks_db = Some(state.path().join("bookmarks.sqlite"));
    let stack = runtime
        .block_on(reel_stub::up::Stack::start(&config))
        .unwrap();
    let backend = stack.backend.url();
    let api = reel_appkit::api::Client::new(&backend).unwrap();
    let token = runtime.block_on(api.login("demo", "reel")).unwrap().token;
    let env = format!("REEL_TOKEN={token}");
    let args = |extra: &str| format!("play demo --backend {backend} --no-audio {extra}");

    let first = tempfile::tempdir().unwrap();
    let s = Screen::start_with(first.path(), &args("--start 30"), (140, 45), SETTINGS, &env);
    let screen = s.wait_for("playing at 32 s", 90, |t| {
        clock_beside(t, "Playing").is_some_and(|c| c >= 32)
    });
    s.keys("q");
    assert_eq!(s.wait_exit(20), 0, "{screen}");
    let bookmark = runtime
        .block_on(api.bookmark(&token, "demo"))
        .unwrap()
        .expect("the playback API has the bookmark");
    assert!((31.0..40.0).contains(&bookmark.position_s), "{bookmark:?}");

    let second = tempfile::tempdir().unwrap();
    let s = Screen::start_with(second.path(), &args(""), (140, 45), SETTINGS, &env);
    let screen = s.wait_for("playing", 60, |t| clock_beside(t, "Playing").is_some());
    let at = clock_beside(&screen, "Playing").unwrap();
    assert!(
        (31..40).contains(&at),
        "resumed from the API's bookmark, not at {at} s:\n{screen}"
    );
    assert!(
        screen.lines().next().unwrap().contains("resumed at 0:3"),
        "{screen}"
    );
    s.keys("q");
    assert_eq!(s.wait_exit(20), 0);
    runtime.block_on(stack.backend.shutdown());
}

/// The peak the level meter shows, in dB (`M  -18.1 dB`).
fn meter_db(screen: &str) -> Option<f64> {
    screen.lines().find_map(|l| {
        let before = &l[..l.find(" dB")?];
        before.split_whitespace().last()?.parse().ok()
    })
}

#[test]
fn an_audio_only_title_shows_a_level_meter_where_the_picture_would_be() {
    if !tmux_or_skip() {
        return;
    }
    // An audio-only HLS title as ffmpeg writes it: a tone peaking at −18 dB, served by a cache
    // server on loopback.
    let dir = tempfile::tempdir().unwrap();
    reel_stub::fixtures::ffmpeg_audio_only_hls(dir.path(), "aac", 30).unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let oca = runtime
        .block_on(Oca::start(OcaConfig::loopback("oca-audio", dir.path())))
        .unwrap();
    let s = Screen::start(
        &format!("play {}/master.m3u8 --no-audio", oca.url()),
        (140, 45),
        SETTINGS,
    );
    let screen = s.wait_for("the level meter", 60, |t| {
        t.contains("audio only") && meter_db(t).is_some_and(|db| db > -60.0)
    });
    let db = meter_db(&screen).unwrap();
    assert!((-21.0..=-15.0).contains(&db), "the tone's peak:\n{screen}");
    assert!(
        screen.contains("─ audio ─") || screen.contains(" audio "),
        "{screen}"
    );
    assert!(!screen.contains("waiting for the first frame"), "{screen}");
    s.keys("q");
    assert_eq!(s.wait_exit(20), 0);
    runtime.block_on(oca.shutdown());
}

/// The subtitle cue on screen, `("Seconde", 12)` for "Seconde 12", if any.
fn cue_on_screen(screen: &str) -> Option<(String, u64)> {
    screen.lines().find_map(|l| {
        let words: Vec<&str> = l.split_whitespace().collect();
        words.windows(2).find_map(|w| match w {
            [word @ ("Second" | "Seconde"), n] => Some((word.to_string(), n.parse().ok()?)),
            _ => None,
        })
    })
}

#[test]
fn subtitles_in_the_configured_language_show_under_the_video_and_j_cycles_them() {
    if !tmux_or_skip() {
        return;
    }
    let _ = media();
    // The demo title's own tracks: a cue of 1.5 s every 2 s naming the second it starts at
    // ("Second N" in English, "Seconde N" in French).
    let settings = format!("subtitle_language = \"fr\"\n{SETTINGS}");
    let s = Screen::start(&demo_args(), (140, 45), &settings);
    let screen = s.wait_for("a French cue", 60, |t| {
        cue_on_screen(t).is_some_and(|(w, n)| w == "Seconde" && n >= 4)
    });
    // The cue read is the one for the second the clock shows (the screen is read a moment
    // after it was drawn; the clock is whole seconds).
    let (_, n) = cue_on_screen(&screen).unwrap();
    let clock = clock_beside(&screen, "Playing").expect("the clock");
    assert!(
        (n.saturating_sub(1)..=n + 2).contains(&clock),
        "cue {n} at {clock} s:\n{screen}"
    );
    assert!(screen.contains("subtitles fr (track 1)"), "{screen}");
    // j: French was the last track, so subtitles go off...
    s.keys("j");
    s.wait_for("subtitles off", 15, |t| {
        t.contains("subtitles off") && cue_on_screen(t).is_none()
    });
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(cue_on_screen(&s.text()), None, "no cue while off");
    // ...and on again in English, the first track.
    s.keys("j");
    s.wait_for("an English cue", 15, |t| {
        cue_on_screen(t).is_some_and(|(w, _)| w == "Second")
    });
    s.keys("q");
    assert_eq!(s.wait_exit(20), 0);
}

#[test]
fn the_configured_audio_language_plays_and_hash_switches_it() {
    if !tmux_or_skip() {
        return;
    }
    let _ = media();
    // The demo title's own audio tracks: English, and French a fifth up.
    let settings = format!("audio_language = \"fr\"\n{SETTINGS}");
    let s = Screen::start(&demo_args(), (140, 45), &settings);
    s.wait_for("French audio playing", 60, |t| {
        t.contains("audio fr (track 1)") && t.contains("Playing")
    });
    // #: the next track, English (the first after the last).
    s.keys("#");
    s.wait_for("English audio", 20, |t| t.contains("audio en (track 0)"));
    s.wait_for("playing on", 20, |t| t.contains("Playing"));
    s.keys("q");
    assert_eq!(s.wait_exit(20), 0);
}
