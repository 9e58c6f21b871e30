//! The bodies of the fuzz targets in `server-stub/fuzz/`: each takes arbitrary bytes, runs one
//! piece of the servers that reads what a client sent (the cache's request path and `Range`,
//! CMCD, the playback API's tokens and JSON bodies), and checks what that piece promises.
//!
//! They are plain functions so a stable test (`tests/fuzz_inputs.rs`) replays every seed and
//! every kept crash input without nightly or cargo-fuzz.

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use axum::http::{HeaderMap, HeaderValue, Uri};

use axum::http::StatusCode;
use reel_protocol::{FaultsUpdate, LoginRequest, PlaybackRequest};

use crate::backend::auth::Tokens;
use crate::backend::{Failure, bookmark_update, parse_json};
use crate::oca::cmcd::CmcdRecord;
use crate::oca::path::resolve;
use crate::oca::{RangeAnswer, choose_range};

/// A fuzz target: its name (the cargo-fuzz binary and its inputs' folder) and its body.
pub type Target = (&'static str, fn(&[u8]));

/// Every target, by name.
pub const TARGETS: [Target; 5] = [
    ("oca_path", oca_path),
    ("oca_range", oca_range),
    ("cmcd", cmcd),
    ("token", token),
    ("backend_json", backend_json),
];

/// A cache root for [`oca_path`], made once a process: a segment, a name with a space, a link
/// inside the root and one pointing out of it, and a secret beside the root.
struct Root {
    root: PathBuf,
    secret: PathBuf,
}

fn root() -> &'static Root {
    static ROOT: OnceLock<Root> = OnceLock::new();
    ROOT.get_or_init(|| {
        let base = scratch_dir();
        let root = base.join("root");
        std::fs::create_dir_all(root.join("media/demo")).expect("a temporary folder");
        std::fs::write(root.join("media/demo/video_240p.mp4"), b"segment").expect("a file");
        std::fs::write(root.join("a b.mp4"), b"spaced").expect("a file");
        let secret = base.join("secret.txt");
        std::fs::write(&secret, b"secret").expect("a file");
        let _ = std::os::unix::fs::symlink("media/demo/video_240p.mp4", root.join("inside.mp4"));
        let _ = std::os::unix::fs::symlink("../secret.txt", root.join("outside.txt"));
        Root {
            root: root.canonicalize().expect("the root"),
            secret: secret.canonicalize().expect("the secret"),
        }
    })
}

/// A request path, raw and as it arrives through an `http::Uri`, resolved under the cache root:
/// what resolves is a file inside the root, never the secret beside it.
pub fn oca_path(data: &[u8]) {
    let Ok(raw) = std::str::from_utf8(data) else {
        return;
    };
    let Root { root, secret } = root();
    let through_uri = Uri::try_from(raw).ok().map(|u| u.path().to_string());
    for path in std::iter::once(raw.to_string()).chain(through_uri) {
        if let Ok(file) = resolve(root, &path) {
            assert!(file.starts_with(root), "{path:?} resolved to {file:?}");
            assert!(file.is_file(), "{path:?} resolved to {file:?}, not a file");
            assert!(file != *secret, "{path:?} reached the secret");
            assert_eq!(Some(file.clone()), file.canonicalize().ok(), "{path:?}");
        }
    }
}

/// A `Range` and an `If-Range` (the input's first line and second; the file's length its last
/// eight bytes when there are that many): a partial answer lies inside the file.
pub fn oca_range(data: &[u8]) {
    let (text, len) = match data.len().checked_sub(8) {
        Some(cut) if data.len() > 16 => {
            let len = u64::from_be_bytes(data[cut..].try_into().expect("8 bytes"));
            (&data[..cut], len)
        }
        _ => (data, 10_000),
    };
    let text = String::from_utf8_lossy(text);
    let mut lines = text.split('\n');
    let range = lines.next();
    let if_range = lines.next();
    let (etag, last_modified) = ("\"2710-1\"", "Thu, 01 Jan 1970 00:00:00 GMT");
    match choose_range(range, if_range, etag, last_modified, len) {
        RangeAnswer::Partial(r) => {
            assert!(
                r.start() <= r.end() && *r.end() < len,
                "{range:?} on {len} bytes gave {r:?}"
            );
            assert!(
                if_range.is_none_or(|v| v == etag || v == last_modified),
                "a stale If-Range still got a part"
            );
        }
        RangeAnswer::Unsatisfiable => assert!(range.is_some(), "416 without a Range"),
        RangeAnswer::Whole => {}
    }
}

/// CMCD sent as a header and as the `CMCD` query parameter: the record keeps no empty key and
/// its log line stays one line.
pub fn cmcd(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let mut headers = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_str(&text) {
        headers.insert("cmcd-request", v);
    }
    let query: String = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("CMCD", &text)
        .finish();
    let uris = [
        Uri::try_from(format!("/media/demo/seg.m4s?{query}")).ok(),
        Uri::try_from(format!("/media/demo/seg.m4s?{text}")).ok(),
    ];
    for uri in uris.into_iter().flatten() {
        for headers in [&headers, &HeaderMap::new()] {
            if let Some(record) = CmcdRecord::from_request(&uri, headers) {
                let line = record.summary();
                assert!(
                    !line.contains(['\n', '\r']),
                    "a CMCD log line over several lines: {line:?}"
                );
            }
        }
    }
}

/// An `Authorization` header value checked by the playback API: anything but a token it
/// issued is refused, and nothing panics. The input is tried as the whole header, after
/// `Bearer `, and appended to a token just issued.
pub fn token(data: &[u8]) {
    static TOKENS: OnceLock<(Tokens, String)> = OnceLock::new();
    let (tokens, issued) = TOKENS.get_or_init(|| {
        let tokens = Tokens::new(b"fuzz secret, not a real one", Duration::from_secs(3600));
        let (issued, _) = tokens.issue("viewer");
        (tokens, issued)
    });
    let text = String::from_utf8_lossy(data);
    for header in [
        text.to_string(),
        format!("Bearer {text}"),
        format!("Bearer {issued}{text}"),
    ] {
        if let Ok(user) = tokens.verify_header(Some(&header)) {
            let token = header
                .trim_start()
                .split_once(' ')
                .map_or("", |(_, token)| token.trim());
            assert!(
                user == "viewer" && token == issued.as_str(),
                "{header:?} accepted as {user:?}"
            );
        }
    }
}

/// A request body to the playback API, read as each of its JSON requests (login, playback,
/// bookmark) and as the cache's fault update: refused with 400 and one line, or a bookmark
/// within its title.
pub fn backend_json(data: &[u8]) {
    let refused = |f: Failure| {
        assert_eq!(f.status, StatusCode::BAD_REQUEST, "{}", f.message);
        assert!(
            !f.message.is_empty() && !f.message.contains(['\n', '\r']),
            "{} over several lines: {:?}",
            f.code,
            f.message
        );
    };
    if let Err(f) = parse_json::<LoginRequest>(data) {
        refused(f);
    }
    if let Err(f) = parse_json::<PlaybackRequest>(data) {
        refused(f);
    }
    if let Err(f) = parse_json::<FaultsUpdate>(data) {
        refused(f);
    }
    match bookmark_update(data) {
        Ok(b) => assert!(
            b.duration_s > 0.0 && (0.0..=b.duration_s).contains(&b.position_s),
            "{b:?} accepted"
        ),
        Err(f) => refused(f),
    }
}

/// Removes the cache root [`oca_path`] made in this process, if any.
pub fn remove_scratch() {
    let _ = std::fs::remove_dir_all(scratch_dir());
}

fn scratch_dir() -> PathBuf {
    std::env::temp_dir().join(format!("reel-fuzz-oca-{}", std::process::id()))
}
