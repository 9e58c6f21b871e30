//! `abr-replay` as a user runs it: a title from an HLS playlist on disk, a trace file, a table
//! and JSON lines out; every session in those lines re-simulated by a second, literal reading of
//! ABR-BENCH.md's model gives the totals reported.

use std::process::Command;

#[test]
fn replays_an_hls_title_from_disk_and_writes_json_lines() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("master.m3u8"),
        "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=400000,AVERAGE-BANDWIDTH=300000\nlow.m3u8\n\
         #EXT-X-STREAM-INF:BANDWIDTH=1600000,AVERAGE-BANDWIDTH=1200000\nhigh.m3u8\n",
    )
    .unwrap();
    let media = |name: &str, len: u64| {
        let mut text = String::from("#EXTM3U\n#EXT-X-TARGETDURATION:4\n");
        for i in 0..6 {
            text.push_str(&format!(
                "#EXTINF:4,\n#EXT-X-BYTERANGE:{len}@{}\n{name}.mp4\n",
                i * len
            ));
        }
        text.push_str("#EXT-X-ENDLIST\n");
        std::fs::write(d.join(format!("{name}.m3u8")), text).unwrap();
    };
    media("low", 150_000);
    media("high", 600_000);
    std::fs::write(
        d.join("trace.json"),
        r#"[{"duration_ms": 10000, "bandwidth_kbps": 3000, "latency_ms": 20}]"#,
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_abr-replay"))
        .arg("--title")
        .arg(d.join("master.m3u8"))
        .arg("--traces")
        .arg(d.join("trace.json"))
        .args([
            "--algos",
            "reel,bba,optimum",
            "--no-optimum-cache",
            "--json",
        ])
        .arg(d.join("out.jsonl"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("1 traces, 6 segments of 4.0 s"), "{stdout}");
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("optimum") && l.contains("100.0")),
        "{stdout}"
    );
    let lines = std::fs::read_to_string(d.join("out.jsonl")).unwrap();
    let sessions: Vec<serde_json::Value> = lines
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(sessions.len(), 3);
    assert_eq!(sessions[0]["segments"].as_array().unwrap().len(), 6);
    assert_eq!(sessions[0]["segments"][0]["size_bits"], 1_200_000.0);

    let bad = Command::new(env!("CARGO_BIN_EXE_abr-replay"))
        .args(["--suite", "5g"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("unknown suite"));
}

/// `abr-replay` with `args`, succeeding; its standard output.
fn run(args: &[&std::ffi::OsStr]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_abr-replay"))
        .args(args)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// The algorithm rows of a table: name and mean QoE_lin as printed.
fn qoe_rows(table: &str) -> Vec<(String, String)> {
    table
        .lines()
        .skip_while(|l| !l.starts_with("algorithm"))
        .skip(1)
        .take_while(|l| !l.starts_with("streamable"))
        .map(|l| {
            let cols: Vec<&str> = l.split_whitespace().collect();
            (cols[0].to_owned(), cols[1].to_owned())
        })
        .collect()
}

#[test]
fn a_generated_family_prints_its_table_with_the_optimum_cached_between_runs() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("optimum");
    let args = [
        "--suite".as_ref(),
        "dev:outages".as_ref(),
        "--traces-per-family".as_ref(),
        "2".as_ref(),
        "--optimum-cache".as_ref(),
        cache.as_os_str(),
    ];
    let first = run(&args);
    assert!(
        first.contains("dev:outages: 2 traces, 60 segments of 3.0 s"),
        "{first}"
    );
    let rows = qoe_rows(&first);
    let names: Vec<&str> = rows.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        ["reel", "throughput", "bba", "bola", "mpc", "optimum"],
        "{first}"
    );
    let header = first.lines().find(|l| l.starts_with("algorithm")).unwrap();
    for column in ["QoE_lin", "% opt", "rebuf s", "switches"] {
        assert!(header.contains(column), "{header}");
    }
    let optimum = first.lines().find(|l| l.starts_with("optimum")).unwrap();
    assert_eq!(optimum.split_whitespace().nth(2), Some("100.0"), "{first}");
    assert_eq!(std::fs::read_dir(&cache).unwrap().count(), 2);

    // The second run replays the stored schedules: the same table.
    assert_eq!(qoe_rows(&run(&args)), rows);

    // The traces can be written out and replayed as any user's traces.
    let traces = dir.path().join("traces");
    let written = run(&[
        "--suite".as_ref(),
        "test:fading".as_ref(),
        "--traces-per-family".as_ref(),
        "3".as_ref(),
        "--write-traces".as_ref(),
        traces.as_os_str(),
    ]);
    assert!(written.contains("3 traces written"), "{written}");
    let mut files: Vec<String> = std::fs::read_dir(&traces)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert_eq!(
        files,
        [
            "fading-test-000.json",
            "fading-test-001.json",
            "fading-test-002.json"
        ]
    );
    let title =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/traces/bbb.json");
    let replayed = run(&[
        "--title".as_ref(),
        title.as_os_str(),
        "--traces".as_ref(),
        traces.as_os_str(),
        "--algos".as_ref(),
        "bba".as_ref(),
    ]);
    assert!(replayed.contains(": 3 traces"), "{replayed}");

    let bad = Command::new(env!("CARGO_BIN_EXE_abr-replay"))
        .args(["--suite", "dev:lte"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(
        stderr.contains("unknown trace family \"lte\": use fading, wifi, cliffs"),
        "{stderr}"
    );
}

/// Runs `abr-replay --title TITLE` over one steady trace and returns the JSON sessions.
fn replay(title: &std::path::Path, trace: &std::path::Path) -> Vec<serde_json::Value> {
    let out_path = title.with_extension("jsonl");
    let out = Command::new(env!("CARGO_BIN_EXE_abr-replay"))
        .arg("--title")
        .arg(title)
        .arg("--traces")
        .arg(trace)
        .args(["--algos", "reel,bola", "--json"])
        .arg(&out_path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::read_to_string(&out_path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn hls_and_dash_manifests_of_one_title_replay_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // Two renditions, VBR sizes, 5 segments of 4 s.
    let sizes: [[u64; 5]; 2] = [
        [90_000, 160_000, 120_000, 200_000, 150_000],
        [400_000, 700_000, 550_000, 900_000, 600_000],
    ];
    let names = ["low", "high"];
    let mut master = String::from("#EXTM3U\n");
    let mut list_mpd = String::from(
        r#"<?xml version="1.0"?>
<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static" mediaPresentationDuration="PT20S" minBufferTime="PT2S" profiles="urn:mpeg:dash:profile:isoff-main:2011">
<Period><AdaptationSet contentType="video" mimeType="video/mp4">
"#,
    );
    let mut template_mpd = list_mpd.clone();
    for (r, name) in names.iter().enumerate() {
        // The declared bandwidth is a peak; the replay uses the measured mean either way.
        master.push_str(&format!(
            "#EXT-X-STREAM-INF:BANDWIDTH={}\n{name}.m3u8\n",
            (r + 1) * 1_000_000
        ));
        let mut media = String::from("#EXTM3U\n#EXT-X-TARGETDURATION:4\n");
        list_mpd.push_str(&format!(
            r#"<Representation id="{name}" bandwidth="{}"><BaseURL>{name}.mp4</BaseURL><SegmentList timescale="1000" duration="4000">
"#,
            (r + 1) * 900_000
        ));
        template_mpd.push_str(&format!(
            r#"<Representation id="{name}" bandwidth="{}"><SegmentTemplate media="$RepresentationID$_$Number$.m4s" startNumber="1" timescale="1000"><SegmentTimeline><S t="0" d="4000" r="4"/></SegmentTimeline></SegmentTemplate></Representation>
"#,
            (r + 1) * 800_000
        ));
        let mut offset = 0;
        for (i, len) in sizes[r].iter().enumerate() {
            media.push_str(&format!(
                "#EXTINF:4,\n#EXT-X-BYTERANGE:{len}@{offset}\n{name}.mp4\n"
            ));
            list_mpd.push_str(&format!(
                "<SegmentURL mediaRange=\"{offset}-{}\"/>\n",
                offset + len - 1
            ));
            std::fs::write(
                d.join(format!("{name}_{}.m4s", i + 1)),
                vec![0u8; *len as usize],
            )
            .unwrap();
            offset += len;
        }
        media.push_str("#EXT-X-ENDLIST\n");
        std::fs::write(d.join(format!("{name}.m3u8")), media).unwrap();
        list_mpd.push_str("</SegmentList></Representation>\n");
    }
    let close = "</AdaptationSet></Period></MPD>\n";
    list_mpd.push_str(close);
    template_mpd.push_str(close);
    std::fs::write(d.join("master.m3u8"), master).unwrap();
    std::fs::write(d.join("list.mpd"), list_mpd).unwrap();
    std::fs::write(d.join("template.mpd"), template_mpd).unwrap();
    std::fs::write(
        d.join("trace.json"),
        r#"[{"duration_ms": 3000, "bandwidth_kbps": 900, "latency_ms": 40},
            {"duration_ms": 3000, "bandwidth_kbps": 250, "latency_ms": 80}]"#,
    )
    .unwrap();

    let hls = replay(&d.join("master.m3u8"), &d.join("trace.json"));
    for mpd in ["list.mpd", "template.mpd"] {
        let dash = replay(&d.join(mpd), &d.join("trace.json"));
        assert_eq!(dash.len(), hls.len());
        for (a, b) in hls.iter().zip(&dash) {
            assert_eq!(a["qoe_lin"], b["qoe_lin"], "{mpd}");
            assert_eq!(a["segments"], b["segments"], "{mpd}");
        }
    }
    // The ladder is the measured mean: 720 000 bytes over 20 s is 288 kbit/s for the low rung.
    assert_eq!(hls[0]["segments"][0]["bitrate_kbps"], 288.0);
}

#[test]
fn a_trace_directory_skips_hidden_files_and_names_a_broken_trace() {
    let dir = tempfile::tempdir().unwrap();
    let traces = dir.path().join("traces");
    std::fs::create_dir(&traces).unwrap();
    let title = dir.path().join("title.json");
    std::fs::write(
        &title,
        r#"{"segment_duration_ms": 2000, "bitrates_kbps": [500, 1500],
            "segment_sizes_bits": [[1000000, 3000000], [1000000, 3000000], [900000, 2800000]]}"#,
    )
    .unwrap();
    let run = || {
        let out = Command::new(env!("CARGO_BIN_EXE_abr-replay"))
            .arg("--title")
            .arg(&title)
            .arg("--traces")
            .arg(&traces)
            .args(["--algos", "bba"])
            .env("RUST_BACKTRACE", "0")
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.success(), text)
    };
    std::fs::write(traces.join(".gitkeep"), "").unwrap();
    let (ok, text) = run();
    assert!(!ok);
    assert!(text.contains("no trace file in"), "{text}");

    // A cooked text trace (time_s, Mbit/s) and a JSON one; the hidden file is not read.
    std::fs::write(traces.join("steady.txt"), "0 2.0\n10 3.0\n").unwrap();
    std::fs::write(
        traces.join("calm.json"),
        r#"[{"duration_ms": 5000, "bandwidth_kbps": 4000}]"#,
    )
    .unwrap();
    let (ok, text) = run();
    assert!(ok, "{text}");
    assert!(text.contains("2 traces"), "{text}");

    std::fs::write(traces.join("cut.json"), r#"[{"duration_ms": 10"#).unwrap();
    let (ok, text) = run();
    assert!(!ok);
    assert!(text.contains("cut.json"), "{text}");
}

/// ABR-BENCH.md's benchmark model written out a second time, literally and apart from
/// `abr::sim`: a cursor walks the trace's periods (looping), the latency is paid as a share of
/// each period's delay, the bits at each period's rate.
mod spec {
    use serde_json::Value;

    struct Network<'a> {
        periods: &'a [Value],
        index: usize,
        left_ms: f64,
    }

    impl<'a> Network<'a> {
        fn new(periods: &'a [Value]) -> Self {
            Network {
                periods,
                index: 0,
                left_ms: periods[0]["duration_ms"].as_f64().unwrap(),
            }
        }
        fn field(&self, name: &str) -> f64 {
            self.periods[self.index][name].as_f64().unwrap()
        }
        fn next_period(&mut self) {
            self.index = (self.index + 1) % self.periods.len();
            self.left_ms = self.field("duration_ms");
        }
        fn wait(&mut self, mut ms: f64) {
            while ms >= self.left_ms {
                ms -= self.left_ms;
                self.next_period();
            }
            self.left_ms -= ms;
        }
        /// Milliseconds to fetch `bits` from here on.
        fn download(&mut self, mut bits: f64) -> f64 {
            let mut elapsed = 0.0;
            let mut latency_share = 1.0;
            while latency_share > 1e-12 {
                let latency = self.field("latency_ms");
                if latency * latency_share < self.left_ms {
                    elapsed += latency * latency_share;
                    self.left_ms -= latency * latency_share;
                    latency_share = 0.0;
                } else {
                    latency_share -= self.left_ms / latency;
                    elapsed += self.left_ms;
                    self.next_period();
                }
            }
            while bits > 1e-9 {
                let rate = self.field("bandwidth_kbps");
                if bits < rate * self.left_ms {
                    elapsed += bits / rate;
                    self.left_ms -= bits / rate;
                    bits = 0.0;
                } else {
                    bits -= rate * self.left_ms;
                    elapsed += self.left_ms;
                    self.next_period();
                }
            }
            elapsed
        }
    }

    /// (QoE_lin, rebuffer s, startup ms) of fetching `qualities` of `title` over `trace`.
    pub fn replay(
        title: &Value,
        trace: &[Value],
        qualities: &[usize],
        weight: f64,
    ) -> (f64, f64, f64) {
        let segment_ms = title["segment_duration_ms"].as_f64().unwrap();
        let max_buffer_ms = 25_000.0;
        let mut network = Network::new(trace);
        let (mut buffer, mut rebuffer, mut startup) = (0.0, 0.0, 0.0);
        for (i, &q) in qualities.iter().enumerate() {
            if i > 0 && buffer + segment_ms > max_buffer_ms {
                let wait = buffer + segment_ms - max_buffer_ms;
                network.wait(wait);
                buffer -= wait;
            }
            let took = network.download(title["segment_sizes_bits"][i][q].as_f64().unwrap());
            if i == 0 {
                startup = took;
            } else {
                rebuffer += (took - buffer).max(0.0);
                buffer = (buffer - took).max(0.0);
            }
            buffer += segment_ms;
        }
        let mbps: Vec<f64> = qualities
            .iter()
            .map(|&q| title["bitrates_kbps"][q].as_f64().unwrap() / 1000.0)
            .collect();
        let switches: f64 = mbps.windows(2).map(|w| (w[1] - w[0]).abs()).sum();
        let qoe = mbps.iter().sum::<f64>() - weight * rebuffer / 1000.0 - switches;
        (qoe, rebuffer / 1000.0, startup)
    }
}

#[test]
fn every_session_written_re_simulates_by_the_spec_to_the_totals_reported() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/traces");
    let dir = tempfile::tempdir().unwrap();
    let read = |p: std::path::PathBuf| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap()
    };
    for (suite, traces, title_file, weight, segments) in [
        ("fcc", "sd_fs", "bbb.json", 4.3, 60),
        ("3g", "3Glogs", "bbb.json", 4.3, usize::MAX),
        ("4g", "4Glogs", "bbb4k.json", 35.0, usize::MAX),
    ] {
        let out_file = dir.path().join(format!("{suite}.jsonl"));
        let out = Command::new(env!("CARGO_BIN_EXE_abr-replay"))
            .args(["--suite", suite, "--algos", "reel,bola,bba,mpc,throughput"])
            .arg("--traces-root")
            .arg(&root)
            .arg("--json")
            .arg(&out_file)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let title = read(root.join(title_file));
        let mut sessions = 0;
        for line in std::fs::read_to_string(&out_file).unwrap().lines() {
            let session: serde_json::Value = serde_json::from_str(line).unwrap();
            let name = session["trace"].as_str().unwrap();
            let trace = read(root.join(traces).join(format!("{name}.json")));
            let qualities: Vec<usize> = session["segments"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s["quality"].as_u64().unwrap() as usize)
                .collect();
            assert_eq!(
                qualities.len(),
                title["segment_sizes_bits"]
                    .as_array()
                    .unwrap()
                    .len()
                    .min(segments)
            );
            let (qoe, rebuffer_s, startup_ms) =
                spec::replay(&title, trace.as_array().unwrap(), &qualities, weight);
            let reported = |k: &str| session[k].as_f64().unwrap();
            let what = format!("{suite} {} {name}", session["algorithm"]);
            assert!(
                (qoe - reported("qoe_lin")).abs() < 1e-6,
                "{what}: QoE {qoe} vs {}",
                reported("qoe_lin")
            );
            assert!(
                (rebuffer_s - reported("rebuffer_s")).abs() < 1e-6,
                "{what}: rebuffer"
            );
            assert!(
                (startup_ms - reported("startup_ms")).abs() < 1e-6,
                "{what}: startup"
            );
            sessions += 1;
        }
        assert!(
            sessions >= 5 * 40,
            "{suite}: only {sessions} sessions written"
        );
    }
}
