//! Mapping a request path onto a file under the cache's root, refusing every way out of it.

use std::path::{Component, Path, PathBuf};

use percent_encoding::percent_decode_str;

/// Why a request path was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    /// The path tries to climb out of the root or is malformed (answered with 400).
    #[error("bad request path")]
    Bad,
    /// Nothing servable there, or it resolves (through a link) outside the root (answered with 404).
    #[error("not found")]
    NotFound,
}

/// Resolves the raw (still percent-encoded) request path to a regular file inside `root`.
///
/// `root` must be canonical. Each segment is decoded on its own, so `%2e%2e` and `%2F` are seen for
/// what they are; `.`/`..` segments, backslashes and NUL bytes are refused; the joined path is
/// canonicalised and must stay under `root`, which also stops symlinks that point outside.
pub fn resolve(root: &Path, raw_path: &str) -> Result<PathBuf, PathError> {
    let mut rel = PathBuf::new();
    for raw in raw_path.split('/') {
        if raw.is_empty() {
            continue;
        }
        let seg = percent_decode_str(raw)
            .decode_utf8()
            .map_err(|_| PathError::Bad)?;
        if seg == "." || seg == ".." || seg.contains(['/', '\\', '\0']) {
            return Err(PathError::Bad);
        }
        let mut comps = Path::new(seg.as_ref()).components();
        match (comps.next(), comps.next()) {
            (Some(Component::Normal(c)), None) => rel.push(c),
            _ => return Err(PathError::Bad),
        }
    }
    let joined = root.join(&rel);
    let canonical = joined.canonicalize().map_err(|_| PathError::NotFound)?;
    if !canonical.starts_with(root) {
        return Err(PathError::NotFound);
    }
    if !canonical.is_file() {
        return Err(PathError::NotFound);
    }
    Ok(canonical)
}

/// The Content-Type of a media file, by extension (explicit, as MIME guessing gets `.m4s` and `.ts`
/// wrong).
pub fn content_type(path: &Path) -> &'static str {
    match path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("m3u8") => "application/vnd.apple.mpegurl",
        Some("mpd") => "application/dash+xml",
        Some("mp4") => "video/mp4",
        Some("m4s") => "video/iso.segment",
        Some("m4a") => "audio/mp4",
        Some("ts") => "video/mp2t",
        Some("aac") => "audio/aac",
        Some("vtt") => "text/vtt",
        Some("json") => "application/json",
        Some("txt") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree() -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        std::fs::create_dir_all(root.join("demo")).unwrap();
        std::fs::write(root.join("demo/a b.mp4"), b"x").unwrap();
        std::fs::write(dir.path().join("secret.txt"), b"s").unwrap();
        let root = root.canonicalize().unwrap();
        (dir, root)
    }

    #[test]
    fn plain_and_encoded_names_resolve() {
        let (_d, root) = tree();
        assert!(
            resolve(&root, "/demo/a%20b.mp4")
                .unwrap()
                .ends_with("demo/a b.mp4")
        );
        assert_eq!(resolve(&root, "/demo/none.mp4"), Err(PathError::NotFound));
        assert_eq!(
            resolve(&root, "/demo"),
            Err(PathError::NotFound),
            "directories are not served"
        );
    }

    #[test]
    fn every_escape_is_refused() {
        let (_d, root) = tree();
        for p in [
            "/../secret.txt",
            "/demo/../../secret.txt",
            "/%2e%2e/secret.txt",
            "/%2E%2E/secret.txt",
            "/demo/%2e%2e%2f%2e%2e%2fsecret.txt",
            "/demo/..%5csecret.txt",
            "/demo/%00",
        ] {
            assert_eq!(resolve(&root, p), Err(PathError::Bad), "{p}");
        }
        // an absolute path is taken as relative to the root
        assert_eq!(resolve(&root, "//etc/passwd"), Err(PathError::NotFound));
    }

    #[test]
    fn symlinks_out_of_the_root_are_not_followed() {
        let (dir, root) = tree();
        std::os::unix::fs::symlink(dir.path().join("secret.txt"), root.join("demo/link.txt"))
            .unwrap();
        assert_eq!(resolve(&root, "/demo/link.txt"), Err(PathError::NotFound));
        std::os::unix::fs::symlink(root.join("demo/a b.mp4"), root.join("demo/inside.mp4"))
            .unwrap();
        assert!(
            resolve(&root, "/demo/inside.mp4").is_ok(),
            "links inside the root are fine"
        );
    }

    #[test]
    fn media_types_are_explicit() {
        assert_eq!(
            content_type(Path::new("x/seg_00001.m4s")),
            "video/iso.segment"
        );
        assert_eq!(
            content_type(Path::new("master.m3u8")),
            "application/vnd.apple.mpegurl"
        );
        assert_eq!(
            content_type(Path::new("manifest.MPD")),
            "application/dash+xml"
        );
        assert_eq!(content_type(Path::new("a.ts")), "video/mp2t");
    }
}
