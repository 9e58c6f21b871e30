//! Embedding the ABR, as `player-core` does, pulls in none of `abr-replay`'s command-line
//! dependencies (they sit behind abr's `replay` feature), and an app on `reel-appkit` without
//! its `demo` feature does not pull in the server side (`reel-stub`).

use std::collections::BTreeSet;
use std::process::Command;

/// The packages `package` depends on (normal edges only), built with `features`.
fn dependencies(package: &str, features: &[&str]) -> BTreeSet<String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut args = vec![
        "tree", "-p", package, "-e", "normal", "--prefix", "none", "--format", "{p}",
    ];
    if !features.is_empty() {
        args.push("--features");
        args.extend(features);
    }
    let out = Command::new(cargo)
        .args(&args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo runs");
    assert!(
        out.status.success(),
        "cargo tree: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
        .collect()
}

const COMMAND_LINE: [&str; 4] = ["clap", "rayon", "indicatif", "anyhow"];

#[test]
fn the_engine_pulls_in_no_command_line_dependency() {
    let engine = dependencies("player-core", &[]);
    assert!(engine.contains("abr"), "player-core embeds the ABR");
    for name in COMMAND_LINE {
        assert!(!engine.contains(name), "player-core pulls in {name}");
    }
    // The replay command has them, so this test would notice if the names changed.
    let replay = dependencies("abr", &[]);
    assert!(
        COMMAND_LINE.iter().all(|n| replay.contains(*n)),
        "{replay:?}"
    );
}

#[test]
fn the_app_kit_pulls_in_the_server_side_only_for_the_demo() {
    assert!(!dependencies("reel-appkit", &[]).contains("reel-stub"));
    assert!(dependencies("reel-appkit", &["demo"]).contains("reel-stub"));
}
