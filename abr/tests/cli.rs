//! `abr-replay` as a user runs it: a title from an HLS playlist on disk, a trace file, a table
//! and JSON lines out.

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
        .args(["--algos", "reel,bba,optimum", "--json"])
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
