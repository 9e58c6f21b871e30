//! Every manifest in the shared third-party test vectors and in Reel's own `test-vectors/` either
//! loads into the presentation model or fails with one clear error — never a panic.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use player_core::manifest;
use player_core::presentation::SegmentIndex;
use url::Url;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    v.sort();
    v
}

/// Parses one file as if fetched from a URL of the same name; a fixed clock places live MPDs.
fn parse(path: &Path) -> Result<player_core::presentation::Presentation, String> {
    let body = std::fs::read(path).unwrap();
    let name = path.file_name().unwrap().to_string_lossy();
    let url = Url::parse(&format!("http://vectors.test/{name}")).unwrap();
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    let result =
        std::panic::catch_unwind(|| manifest::parse(&body, &url, None, now, &Default::default()));
    match result {
        Ok(r) => r.map_err(|e| e.to_string()),
        Err(_) => panic!("{} made the parser panic", path.display()),
    }
}

#[test]
fn shared_third_party_manifests_load_or_fail_clearly() {
    let root = repo().join("../shared/test-vectors/media3-manifests");
    let mut loaded = 0;
    let mut failed = Vec::new();
    for sub in ["m3u8", "mpd"] {
        for path in files(&root.join(sub)) {
            match parse(&path) {
                Ok(p) => {
                    loaded += 1;
                    assert!(!p.periods.is_empty(), "{}", path.display());
                }
                Err(e) => {
                    assert!(
                        !e.is_empty() && !e.contains('\n'),
                        "{}: {e:?}",
                        path.display()
                    );
                    failed.push(format!(
                        "{}: {e}",
                        path.file_name().unwrap().to_string_lossy()
                    ));
                }
            }
        }
    }
    println!("{loaded} loaded, {} refused:", failed.len());
    for f in &failed {
        println!("  {f}");
    }
    // Most of these are valid manifests: a parser that refuses them all is broken too.
    assert!(loaded >= 70, "only {loaded} loaded; refused: {failed:#?}");
}

#[test]
fn reels_own_good_manifests_load() {
    for path in files(&repo().join("test-vectors/manifests/good")) {
        let p = parse(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let track = &p.periods[0].tracks[0];
        assert!(!track.representations.is_empty(), "{}", path.display());
        if path.extension().unwrap() == "mpd" {
            let segs = track.representations[0].segment_list();
            assert!(!segs.is_empty());
            assert!(
                segs.iter().all(|s| s.size.is_some()),
                "byte ranges give sizes"
            );
        }
        if path.to_string_lossy().ends_with("media.m3u8") {
            assert!(matches!(
                track.representations[0].segments,
                SegmentIndex::Listed(_)
            ));
        }
    }
}

#[test]
fn reels_own_broken_manifests_fail_with_one_clear_line() {
    let expected = [
        ("bad_bandwidth.m3u8", "lists no variant stream"),
        ("empty.mpd", "the manifest is empty"),
        (
            "encrypted.m3u8",
            "encrypted HLS segments (METHOD=SAMPLE-AES)",
        ),
        ("html_error_page.m3u8", "does not start with #EXTM3U"),
        ("truncated.mpd", "not a valid DASH MPD"),
    ];
    let dir = repo().join("test-vectors/manifests/broken");
    assert_eq!(
        files(&dir).len(),
        expected.len() + 2,
        "every broken vector has an expectation"
    );
    // Cut before #EXT-X-ENDLIST: indistinguishable from a live playlist, so it must not pass for a
    // complete title.
    let p = parse(&dir.join("truncated_media.m3u8")).unwrap();
    assert!(p.live, "a playlist without ENDLIST is live");
    // Loads (the representation is listed) but cannot be played, and says why.
    let p = parse(&dir.join("template_without_duration.mpd")).unwrap();
    match &p.periods[0].tracks[0].representations[0].segments {
        SegmentIndex::Unavailable(e) => {
            assert!(e.contains("neither @duration nor a SegmentTimeline"), "{e}")
        }
        other => panic!("{other:?}"),
    }
    for (name, needle) in expected {
        let e = parse(&dir.join(name))
            .err()
            .unwrap_or_else(|| panic!("{name} loaded"));
        assert!(e.contains(needle), "{name}: {e}");
        assert!(!e.contains('\n'), "{name}: one line: {e:?}");
    }
}
