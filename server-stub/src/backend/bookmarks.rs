//! Bookmarks: where each user left each title, so any of their players resumes there. Kept in
//! SQLite (one row per user and title, written in one statement each, so a crash leaves either the
//! old or the new position), in a file that outlives the backend, or in memory when none is given.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use reel_protocol::Bookmark;
use rusqlite::{Connection, OptionalExtension, params};

/// Errors of the bookmark store.
#[derive(Debug, thiserror::Error)]
pub enum BookmarkError {
    /// The database cannot be opened or created.
    #[error("cannot open the bookmark database {0}: {1}")]
    Open(PathBuf, String),
    /// A query failed.
    #[error("bookmark database: {0}")]
    Query(#[from] rusqlite::Error),
}

/// The bookmark table.
pub struct Bookmarks {
    db: Mutex<Connection>,
}

impl Bookmarks {
    /// Opens (creating when missing) the database at `path`, or one in memory for `None`.
    pub fn open(path: Option<&Path>) -> Result<Bookmarks, BookmarkError> {
        let label = path.map_or_else(|| PathBuf::from(":memory:"), Path::to_path_buf);
        let fail = |e: &dyn std::fmt::Display| BookmarkError::Open(label.clone(), e.to_string());
        let db = match path {
            Some(p) => {
                if let Some(dir) = p.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir).map_err(|e| fail(&e))?;
                }
                Connection::open(p).map_err(|e| fail(&e))?
            }
            None => Connection::open_in_memory().map_err(|e| fail(&e))?,
        };
        db.execute_batch(
            "PRAGMA journal_mode = WAL;
             CREATE TABLE IF NOT EXISTS bookmarks (
                 user TEXT NOT NULL,
                 title TEXT NOT NULL,
                 position_s REAL NOT NULL,
                 duration_s REAL NOT NULL,
                 updated_at INTEGER NOT NULL,
                 PRIMARY KEY (user, title)
             );",
        )
        .map_err(|e| fail(&e))?;
        Ok(Bookmarks { db: Mutex::new(db) })
    }

    /// Where `user` left `title`, if anywhere.
    pub fn get(&self, user: &str, title: &str) -> Result<Option<Bookmark>, BookmarkError> {
        let db = self.db.lock().expect("bookmark db lock");
        Ok(db
            .query_row(
                "SELECT position_s, duration_s, updated_at FROM bookmarks
                 WHERE user = ?1 AND title = ?2",
                params![user, title],
                |row| {
                    Ok(Bookmark {
                        title: title.to_owned(),
                        position_s: row.get(0)?,
                        duration_s: row.get(1)?,
                        updated_at: row.get::<_, i64>(2)?.max(0) as u64,
                    })
                },
            )
            .optional()?)
    }

    /// Records where `user` left `title` (replacing what was there); returns it as stored.
    pub fn put(
        &self,
        user: &str,
        title: &str,
        position_s: f64,
        duration_s: f64,
    ) -> Result<Bookmark, BookmarkError> {
        let updated_at = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        self.db.lock().expect("bookmark db lock").execute(
            "INSERT INTO bookmarks (user, title, position_s, duration_s, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (user, title) DO UPDATE SET
                 position_s = excluded.position_s,
                 duration_s = excluded.duration_s,
                 updated_at = excluded.updated_at",
            params![user, title, position_s, duration_s, updated_at as i64],
        )?;
        Ok(Bookmark {
            title: title.to_owned(),
            position_s,
            duration_s,
            updated_at,
        })
    }

    /// Forgets where `user` left `title`; `true` when there was a bookmark.
    pub fn delete(&self, user: &str, title: &str) -> Result<bool, BookmarkError> {
        let n = self.db.lock().expect("bookmark db lock").execute(
            "DELETE FROM bookmarks WHERE user = ?1 AND title = ?2",
            params![user, title],
        )?;
        Ok(n > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bookmarks_are_per_user_and_title_and_outlive_the_connection() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state/bookmarks.sqlite");
        {
            let b = Bookmarks::open(Some(&path)).unwrap();
            assert_eq!(b.get("ann", "demo").unwrap(), None);
            b.put("ann", "demo", 32.5, 60.0).unwrap();
            b.put("bob", "demo", 10.0, 60.0).unwrap();
            b.put("ann", "demo", 41.0, 60.0).unwrap();
            assert_eq!(b.get("ann", "demo").unwrap().unwrap().position_s, 41.0);
            assert_eq!(b.get("bob", "demo").unwrap().unwrap().position_s, 10.0);
            assert!(b.delete("bob", "demo").unwrap());
            assert!(!b.delete("bob", "demo").unwrap());
        }
        let b = Bookmarks::open(Some(&path)).unwrap();
        let ann = b.get("ann", "demo").unwrap().expect("kept across a reopen");
        assert_eq!((ann.position_s, ann.duration_s), (41.0, 60.0));
        assert_eq!(b.get("bob", "demo").unwrap(), None);
    }

    #[test]
    fn a_path_that_cannot_hold_a_database_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a-file");
        std::fs::write(&file, "not a directory").unwrap();
        let e = Bookmarks::open(Some(&file.join("bookmarks.sqlite")))
            .err()
            .expect("an error")
            .to_string();
        assert!(e.contains("a-file/bookmarks.sqlite"), "{e}");
    }
}
