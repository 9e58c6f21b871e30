//! Where a viewer stopped watching, per title, so that the next play of it continues there (a
//! streaming service's "continue watching"; mpv's `watch_later`). One JSON file in the platform
//! data directory (`~/.local/share/reel/watch_later.json` on Linux), read afresh before every
//! change and replaced atomically, so two players never leave half a file and keep each other's
//! titles. A file that cannot be read is reported, never overwritten.
//!
//! A title from the playback API is also bookmarked there, per user ([`Resume`]), so another
//! player or another machine resumes it; the newer of the two positions wins.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use url::Url;

use crate::api::Client;

/// A position this close to the start is not worth resuming from.
pub const MIN_RESUME_S: f64 = 5.0;
/// Stopping within this many seconds of the end (or the last 5 % of a long title, the credits)
/// counts as watched to the end: the next play starts at 0.
pub const END_MARGIN_S: f64 = 10.0;

/// Errors of the resume store.
#[derive(Debug, thiserror::Error)]
pub enum ResumeError {
    /// The file exists but cannot be read or written.
    #[error("{0}: {1}")]
    Io(PathBuf, std::io::Error),
    /// The file is not a resume file; it is left as it is.
    #[error("{0} is not a resume file ({1}); it is left untouched")]
    Parse(PathBuf, String),
}

/// Where one title was left.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Entry {
    position_s: f64,
    duration_s: f64,
    /// Seconds since the Unix epoch, when it was saved.
    saved_at: u64,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct File {
    titles: BTreeMap<String, Entry>,
}

/// The positions remembered on this machine.
#[derive(Debug, Clone)]
pub struct ResumeStore {
    path: PathBuf,
}

/// The key a title is remembered by: its catalogue id when it came from the playback API (its
/// manifest URL is made per session), else the manifest URL without query or fragment (which
/// carry tokens and CMCD, not identity).
pub fn title_key(content_id: Option<&str>, url: &Url) -> String {
    match content_id {
        Some(id) => format!("title:{id}"),
        None => {
            let mut url = url.clone();
            url.set_query(None);
            url.set_fragment(None);
            format!("url:{url}")
        }
    }
}

/// Whether stopping at `position_s` of a title lasting `duration_s` is worth resuming from:
/// past the first seconds and before the end.
pub fn worth_resuming(position_s: f64, duration_s: f64) -> bool {
    let end_margin = END_MARGIN_S.max(0.05 * duration_s);
    position_s.is_finite() && position_s >= MIN_RESUME_S && position_s < duration_s - end_margin
}

impl ResumeStore {
    /// The store in the platform data directory, if the platform has one.
    pub fn platform() -> Option<ResumeStore> {
        crate::project_dirs().map(|d| ResumeStore::at(d.data_dir().join("watch_later.json")))
    }

    /// A store kept in `path`.
    pub fn at(path: impl Into<PathBuf>) -> ResumeStore {
        ResumeStore { path: path.into() }
    }

    /// Where the store is kept.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Where `key` was left, if it is worth resuming from.
    pub fn position(&self, key: &str) -> Result<Option<f64>, ResumeError> {
        Ok(self.saved(key)?.map(|(position, _)| position))
    }

    /// Where `key` was left and when (seconds since the Unix epoch), if worth resuming from.
    fn saved(&self, key: &str) -> Result<Option<(f64, u64)>, ResumeError> {
        Ok(self
            .read()?
            .titles
            .get(key)
            .filter(|e| worth_resuming(e.position_s, e.duration_s))
            .map(|e| (e.position_s, e.saved_at)))
    }

    /// Records that `key` was left at `position_s` of `duration_s`; forgets it when it was
    /// watched to the end (`ended`, or stopped within the end margin) or barely started.
    pub fn remember(
        &self,
        key: &str,
        position_s: f64,
        duration_s: f64,
        ended: bool,
    ) -> Result<(), ResumeError> {
        let mut file = self.read()?;
        let changed = if !ended && worth_resuming(position_s, duration_s) {
            let saved_at = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            file.titles.insert(
                key.to_owned(),
                Entry {
                    position_s,
                    duration_s,
                    saved_at,
                },
            );
            true
        } else {
            file.titles.remove(key).is_some()
        };
        if changed { self.write(&file) } else { Ok(()) }
    }

    /// Forgets where `key` was left.
    pub fn forget(&self, key: &str) -> Result<(), ResumeError> {
        let mut file = self.read()?;
        if file.titles.remove(key).is_some() {
            self.write(&file)?;
        }
        Ok(())
    }

    fn read(&self) -> Result<File, ResumeError> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(File::default()),
            Err(e) => return Err(ResumeError::Io(self.path.clone(), e)),
        };
        serde_json::from_str(&text)
            .map_err(|e| ResumeError::Parse(self.path.clone(), e.to_string()))
    }

    fn write(&self, file: &File) -> Result<(), ResumeError> {
        let io = |e| ResumeError::Io(self.path.clone(), e);
        let dir = self.path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(io)?;
        let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(io)?;
        let json = serde_json::to_vec_pretty(file).expect("the resume file serializes");
        tmp.write_all(&json).map_err(io)?;
        tmp.persist(&self.path).map_err(|e| io(e.error))?;
        Ok(())
    }
}

/// A title's bookmark at the playback API: the client, the viewer's token and the title id.
#[derive(Debug, Clone)]
pub struct RemoteBookmark {
    /// The playback API.
    pub api: Client,
    /// The signed-in viewer's token.
    pub token: String,
    /// The catalogue id.
    pub title: String,
}

/// Where one title was left: on this machine, and at the playback API when it came from there.
#[derive(Debug, Clone)]
pub struct Resume {
    local: Option<(ResumeStore, String)>,
    remote: Option<RemoteBookmark>,
}

impl Resume {
    /// The title playing from `url` (with its catalogue id, if any), remembered in `local` and,
    /// for a title of the playback API, at `remote`.
    pub fn new(
        local: Option<ResumeStore>,
        content_id: Option<&str>,
        url: &Url,
        remote: Option<RemoteBookmark>,
    ) -> Resume {
        let key = title_key(content_id, url);
        Resume {
            local: local.map(|store| (store, key)),
            remote,
        }
    }

    /// Where to start: the newer of the local and the API's positions worth resuming from,
    /// with a line for each place that could not be read.
    pub async fn position(&self) -> (Option<f64>, Vec<String>) {
        let mut problems = Vec::new();
        let local = match &self.local {
            Some((store, key)) => store.saved(key).unwrap_or_else(|e| {
                problems.push(format!("not resuming from this machine: {e}"));
                None
            }),
            None => None,
        };
        let remote = match &self.remote {
            Some(r) => match r.api.bookmark(&r.token, &r.title).await {
                Ok(b) => b
                    .filter(|b| worth_resuming(b.position_s, b.duration_s))
                    .map(|b| (b.position_s, b.updated_at)),
                Err(e) => {
                    problems.push(format!("not resuming from the playback API: {e}"));
                    None
                }
            },
            None => None,
        };
        let newest = match (local, remote) {
            (Some(l), Some(r)) => Some(if r.1 >= l.1 { r } else { l }),
            (l, r) => l.or(r),
        };
        (newest.map(|(position, _)| position), problems)
    }

    /// Records where the title was left (forgets it when watched to the end or barely started),
    /// here and at the API; a line for each place that could not be written.
    pub async fn remember(&self, position_s: f64, duration_s: f64, ended: bool) -> Vec<String> {
        let mut problems = Vec::new();
        if let Some((store, key)) = &self.local
            && let Err(e) = store.remember(key, position_s, duration_s, ended)
        {
            problems.push(format!("where this title was left is not remembered: {e}"));
        }
        if let Some(r) = &self.remote {
            let saved = if !ended && worth_resuming(position_s, duration_s) {
                r.api
                    .save_bookmark(&r.token, &r.title, position_s, duration_s)
                    .await
                    .map(|_| ())
            } else {
                r.api.delete_bookmark(&r.token, &r.title).await
            };
            if let Err(e) = saved {
                problems.push(format!("the playback API did not keep the bookmark: {e}"));
            }
        }
        problems
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, ResumeStore) {
        let dir = tempfile::tempdir().unwrap();
        let store = ResumeStore::at(dir.path().join("reel/watch_later.json"));
        (dir, store)
    }

    #[test]
    fn a_title_left_midway_resumes_there_and_others_are_kept_apart() {
        let (_dir, s) = store();
        assert_eq!(s.position("title:demo").unwrap(), None);
        s.remember("title:demo", 42.5, 120.0, false).unwrap();
        s.remember("title:other", 300.0, 3600.0, false).unwrap();
        assert_eq!(s.position("title:demo").unwrap(), Some(42.5));
        assert_eq!(s.position("title:other").unwrap(), Some(300.0));
        // A later stop replaces the earlier one; forgetting one keeps the other.
        s.remember("title:demo", 61.0, 120.0, false).unwrap();
        assert_eq!(s.position("title:demo").unwrap(), Some(61.0));
        s.forget("title:demo").unwrap();
        assert_eq!(s.position("title:demo").unwrap(), None);
        assert_eq!(s.position("title:other").unwrap(), Some(300.0));
    }

    #[test]
    fn watched_to_the_end_or_barely_started_starts_at_0_next_time() {
        let (_dir, s) = store();
        s.remember("t", 60.0, 120.0, false).unwrap();
        s.remember("t", 60.0, 120.0, true).unwrap();
        assert_eq!(s.position("t").unwrap(), None, "ended");
        s.remember("t", 60.0, 120.0, false).unwrap();
        s.remember("t", 112.0, 120.0, false).unwrap();
        assert_eq!(s.position("t").unwrap(), None, "stopped in the last 10 s");
        s.remember("t", 3500.0, 3600.0, false).unwrap();
        assert_eq!(
            s.position("t").unwrap(),
            None,
            "in a film's credits (last 5 %)"
        );
        s.remember("t", 60.0, 120.0, false).unwrap();
        s.remember("t", 2.0, 120.0, false).unwrap();
        assert_eq!(
            s.position("t").unwrap(),
            None,
            "started over and left at once"
        );
    }

    #[test]
    fn a_broken_file_is_named_and_left_untouched() {
        let (_dir, s) = store();
        std::fs::create_dir_all(s.path().parent().unwrap()).unwrap();
        std::fs::write(s.path(), "{ not json").unwrap();
        let e = s.position("t").unwrap_err().to_string();
        assert!(e.contains("watch_later.json"), "{e}");
        let e = s.remember("t", 60.0, 120.0, false).unwrap_err().to_string();
        assert!(e.contains("left untouched"), "{e}");
        assert_eq!(std::fs::read_to_string(s.path()).unwrap(), "{ not json");
    }

    #[test]
    fn titles_are_keyed_by_catalogue_id_else_by_url_without_query() {
        let url =
            Url::parse("http://127.0.0.1:8470/v1/sessions/abc/master.m3u8?token=x#t").unwrap();
        assert_eq!(title_key(Some("demo"), &url), "title:demo");
        assert_eq!(
            title_key(None, &url),
            "url:http://127.0.0.1:8470/v1/sessions/abc/master.m3u8"
        );
    }
}
