//! Every fuzz target's body (`reel_stub::fuzz`) over its seeds and every crash input kept from a
//! campaign, on the stable toolchain: what `cargo fuzz run` found stays fixed.
//!
//! A target's inputs are the files in `tests/fuzz-inputs/<target>/` (seeds and kept crashes,
//! tracked). A target with no inputs fails the test.

use std::path::{Path, PathBuf};

use reel_stub::fuzz::{TARGETS, remove_scratch};

fn crate_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut v: Vec<PathBuf> = entries
        .map(|e| e.expect("a readable folder").path())
        .filter(|p| p.is_file())
        .collect();
    v.sort();
    v
}

#[test]
fn every_input_folder_and_fuzz_binary_names_a_target() {
    let names: Vec<&str> = TARGETS.iter().map(|(name, _)| *name).collect();
    for entry in std::fs::read_dir(crate_dir().join("tests/fuzz-inputs")).expect("the inputs") {
        let name = entry.expect("a readable folder").file_name();
        let name = name.to_string_lossy();
        assert!(
            names.contains(&name.as_ref()),
            "tests/fuzz-inputs/{name} is not a fuzz target's folder (targets: {names:?})"
        );
    }
    for name in &names {
        let source = crate_dir().join(format!("fuzz/fuzz_targets/{name}.rs"));
        let text = std::fs::read_to_string(&source)
            .unwrap_or_else(|e| panic!("{}: {e}", source.display()));
        assert!(
            text.contains(&format!("reel_stub::fuzz::{name}(")),
            "{} does not call reel_stub::fuzz::{name}",
            source.display()
        );
    }
}

#[test]
fn every_fuzz_target_survives_its_seeds_and_kept_crashes() {
    let mut findings = Vec::new();
    for (target, body) in TARGETS {
        let inputs = files(&crate_dir().join("tests/fuzz-inputs").join(target));
        assert!(
            !inputs.is_empty(),
            "fuzz target {target} has no inputs in tests/fuzz-inputs/{target}/"
        );
        for path in &inputs {
            let data = std::fs::read(path).expect("a readable input");
            if let Err(panic) = std::panic::catch_unwind(|| body(&data)) {
                let why = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                findings.push(format!("{target} on {}: {why}", path.display()));
            }
        }
        println!("{target}: {} inputs", inputs.len());
    }
    remove_scratch();
    assert!(findings.is_empty(), "{}", findings.join("\n"));
}
