//! The offline optimum, kept on disk: the search takes most of a second per trace, so each
//! schedule it finds is stored under a key of everything it depends on — the title, the trace,
//! the buffer and rebuffer weight, the search's resolution, and the source of the model and the
//! search themselves — and a second run over the same traces only replays the stored schedules.
//! A missing, unreadable or stale entry is searched again and rewritten; the cache is never
//! needed for a correct answer.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};

use abr::optimum::{OptimumConfig, optimum};
use abr::sim::{self, Session, SimConfig};
use abr::title::Title;
use abr::trace::Trace;

/// The code the optimum's schedule depends on: a change to any of it changes every key.
const MODEL_SOURCES: [&str; 3] = [
    include_str!("../../optimum.rs"),
    include_str!("../../sim.rs"),
    include_str!("../../trace.rs"),
];

/// Where the optimum's schedules are stored (`None`: nowhere, search every time).
#[derive(Debug, Clone)]
pub struct OptimumCache {
    dir: Option<PathBuf>,
}

/// One stored schedule.
#[derive(serde::Serialize, serde::Deserialize)]
struct Entry {
    trace: String,
    schedule: Vec<usize>,
}

impl OptimumCache {
    /// The platform's cache directory for Reel (`~/.cache/reel/abr-optimum` on Linux), if there
    /// is a home directory.
    pub fn default_dir() -> Option<PathBuf> {
        directories::ProjectDirs::from("", "", "reel").map(|d| d.cache_dir().join("abr-optimum"))
    }

    /// A cache in `dir`, created if missing; with a warning and no cache if it cannot be.
    pub fn at(dir: Option<PathBuf>) -> Self {
        let dir = dir.and_then(|d| match std::fs::create_dir_all(&d) {
            Ok(()) => Some(d),
            Err(e) => {
                eprintln!(
                    "abr-replay: not caching the optimum: cannot create {}: {e}",
                    d.display()
                );
                None
            }
        });
        OptimumCache { dir }
    }

    /// The optimum's session on `trace`: its stored schedule replayed, or a new search (stored
    /// for next time).
    pub fn session(&self, title: &Title, trace: &Trace, cfg: &SimConfig) -> Session {
        let search = OptimumConfig::default();
        let path = self
            .dir
            .as_ref()
            .map(|d| d.join(format!("{:016x}.json", key(title, trace, cfg, &search))));
        let stored = path.as_deref().and_then(|p| read(p, title));
        let schedule = match stored {
            Some(schedule) => schedule,
            None => {
                let schedule = optimum(title, trace, cfg, &search);
                if let Some(p) = &path {
                    write(p, &trace.name, &schedule);
                }
                schedule
            }
        };
        sim::replay_schedule(title, trace, &schedule, cfg, "optimum")
    }
}

/// The key of one search: every input, hashed.
fn key(title: &Title, trace: &Trace, cfg: &SimConfig, search: &OptimumConfig) -> u64 {
    let mut h = DefaultHasher::new();
    MODEL_SOURCES.hash(&mut h);
    let mut floats = |values: &mut dyn Iterator<Item = f64>| {
        for v in values {
            v.to_bits().hash(&mut h);
        }
    };
    floats(&mut [title.segment_duration_ms].into_iter());
    floats(&mut title.bitrates_kbps.iter().copied());
    floats(&mut title.segment_sizes_bits.iter().flatten().copied());
    floats(
        &mut trace
            .periods()
            .iter()
            .flat_map(|p| [p.duration_ms, p.bandwidth_kbps, p.latency_ms]),
    );
    floats(&mut [cfg.max_buffer_ms, cfg.rebuffer_weight, search.bucket_ms].into_iter());
    title.len().hash(&mut h);
    search.beam.hash(&mut h);
    h.finish()
}

/// A stored schedule that fits `title`, if there is one.
fn read(path: &Path, title: &Title) -> Option<Vec<usize>> {
    let text = std::fs::read_to_string(path).ok()?;
    let entry: Entry = serde_json::from_str(&text).ok()?;
    let fits = entry.schedule.len() == title.len()
        && entry
            .schedule
            .iter()
            .all(|&q| q < title.bitrates_kbps.len());
    fits.then_some(entry.schedule)
}

/// Stores a schedule; written beside and renamed, so a reader never sees half a file. A failure
/// only costs the next run a search.
fn write(path: &Path, trace: &str, schedule: &[usize]) {
    let entry = Entry {
        trace: trace.to_owned(),
        schedule: schedule.to_vec(),
    };
    let partial = path.with_extension(format!("{}.partial", std::process::id()));
    let stored = serde_json::to_vec(&entry)
        .map_err(std::io::Error::other)
        .and_then(|bytes| std::fs::write(&partial, bytes))
        .and_then(|()| std::fs::rename(&partial, path));
    if let Err(e) = stored {
        let _ = std::fs::remove_file(&partial);
        eprintln!("abr-replay: could not store {}: {e}", path.display());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn title() -> Title {
        Title::from_json(
            r#"{"segment_duration_ms": 4000, "bitrates_kbps": [300, 1200],
                "segment_sizes_bits": [[1200000, 4800000], [1200000, 4800000],
                                       [1200000, 4800000]]}"#,
        )
        .unwrap()
    }

    fn trace(kbps: f64) -> Trace {
        Trace::from_json(
            "t",
            &format!(r#"[{{"duration_ms": 5000, "bandwidth_kbps": {kbps}}}]"#),
        )
        .unwrap()
    }

    #[test]
    fn a_second_run_replays_the_stored_schedule_and_a_bad_entry_is_searched_again() {
        let dir = tempfile::tempdir().unwrap();
        let cache = OptimumCache::at(Some(dir.path().join("opt")));
        let cfg = SimConfig::default();
        let fresh = cache.session(&title(), &trace(2000.0), &cfg);
        let files: Vec<_> = std::fs::read_dir(dir.path().join("opt"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert_eq!(files.len(), 1, "{files:?}");
        assert_eq!(cache.session(&title(), &trace(2000.0), &cfg), fresh);

        // A stored schedule is trusted: one that differs is what a second run replays.
        let other = Entry {
            trace: "t".into(),
            schedule: vec![0, 0, 0],
        };
        std::fs::write(&files[0], serde_json::to_vec(&other).unwrap()).unwrap();
        let replayed = cache.session(&title(), &trace(2000.0), &cfg);
        assert_eq!(replayed.segments.len(), 3);
        assert!(replayed.qoe_lin < fresh.qoe_lin);

        // Garbage, or a schedule of the wrong length, is searched again and rewritten.
        for bad in ["not json", r#"{"trace": "t", "schedule": [0, 7, 0]}"#] {
            std::fs::write(&files[0], bad).unwrap();
            assert_eq!(cache.session(&title(), &trace(2000.0), &cfg), fresh);
            assert!(read(&files[0], &title()).is_some());
        }

        // Another trace or another buffer is another key.
        cache.session(&title(), &trace(900.0), &cfg);
        let bigger = SimConfig {
            max_buffer_ms: 60_000.0,
            ..cfg
        };
        cache.session(&title(), &trace(2000.0), &bigger);
        assert_eq!(
            std::fs::read_dir(dir.path().join("opt")).unwrap().count(),
            3
        );
    }

    #[test]
    fn without_a_directory_every_run_searches() {
        let cache = OptimumCache::at(None);
        let s = cache.session(&title(), &trace(2000.0), &SimConfig::default());
        assert_eq!(s.algorithm, "optimum");
    }
}
