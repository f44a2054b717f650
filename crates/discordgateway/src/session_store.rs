//! Sessions that survive deploys: the [`SessionStore`] trait and the [`FileSessionStore`].
//!
//! A gateway session can be resumed for "a few minutes" after the client closes with a code
//! other than 1000/1001 (GATEWAY.md §3.10), and a resume replays every missed dispatch in order
//! (§3.6). So a bot that, on shutdown, closes each shard resumably and saves its
//! [`Session`](crate::proto::state::Session) (ID, last sequence, resume URL, shard), and on the
//! next start resumes instead of identifying, loses no events across a deploy and spends none
//! of its daily session-start budget.
//!
//! # The trait
//!
//! A store holds at most one session per [`ShardId`] (shard number **and** total: a session of
//! shard 3 of 8 is no use to shard 3 of 16). [`SessionStore::save`] replaces the sessions of the
//! shards it is given and keeps the others, so processes that each run a range of one bot's
//! shards can share one store. The methods return boxed futures instead of being `async fn`s so
//! that the manager can hold an `Arc<dyn SessionStore>` and a store backed by Redis (in another
//! crate) plugs in without making the manager generic; the box costs one allocation per call,
//! and a store is called once per start and once per shutdown.
//!
//! # The file format
//!
//! [`FileSessionStore`] keeps one JSON document:
//!
//! ```json
//! {"version":1,"sessions":[{"id":"9f2c…","sequence":1337,"resume_url":"wss://…","shard":[3,16]}]}
//! ```
//!
//! `version` is 1; a file with another version is refused with
//! [`SessionStoreErrorKind::UnsupportedVersion`] rather than misread. Sessions are kept sorted
//! by shard. Every write goes to a temporary file in the same directory (`<name>.tmp`), is
//! flushed to disk, and is renamed over the target, so a crash mid-write leaves the old file or
//! the new one, never half of one. The token is never stored: sessions do not contain it.

use std::error::Error;
use std::fmt;
use std::future::Future;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;

use crate::error::BoxError;
use crate::proto::shard::ShardId;
use crate::proto::state::Session;

/// The future returned by the methods of [`SessionStore`].
pub type StoreFuture<'a, T> =
    Pin<Box<dyn Future<Output = Result<T, SessionStoreError>> + Send + 'a>>;

/// Where saved gateway sessions live between runs.
///
/// Implementations must be cancel-safe in the sense that a dropped future leaves the store
/// either as before the call or as after it, never half-written.
pub trait SessionStore: fmt::Debug + Send + Sync {
    /// Every saved session, of any shard total, sorted by shard. The caller picks the ones
    /// matching its shards.
    ///
    /// # Errors
    ///
    /// The store could not be read or its content is not valid; the caller should identify
    /// every shard (and say so), not stop.
    fn load_all(&self) -> StoreFuture<'_, Vec<Session>>;

    /// Saves `sessions`, replacing any saved session of the same shards and keeping the others.
    ///
    /// # Errors
    ///
    /// The store could not be written; nothing was saved and the next start identifies.
    fn save<'a>(&'a self, sessions: &'a [Session]) -> StoreFuture<'a, ()>;

    /// Forgets the sessions of `shards` (shards without a saved session are ignored).
    ///
    /// # Errors
    ///
    /// The store could not be written.
    fn remove<'a>(&'a self, shards: &'a [ShardId]) -> StoreFuture<'a, ()>;
}

/// A [`SessionStore`] in one JSON file, written atomically (see the module docs for the format).
///
/// Clones share one lock, so concurrent calls through clones never interleave their
/// read-modify-write cycles. Two *processes* writing one file do race (the last rename wins);
/// give each process its own file, or use a shared store.
///
/// # Examples
///
/// ```
/// use discordgateway::{FileSessionStore, SessionStore};
/// use discordgateway::proto::shard::ShardId;
/// use discordgateway::proto::state::Session;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let path = std::env::temp_dir().join(format!("dg-doc-{}.json", std::process::id()));
/// let store = FileSessionStore::new(&path);
/// let session = Session {
///     id: "9f2c4d0e".into(),
///     sequence: 42,
///     resume_url: "wss://gateway.example".into(),
///     shard: ShardId::new(1, 4)?,
/// };
/// store.save(&[session.clone()]).await?;
/// assert_eq!(store.load_all().await?, vec![session]);
/// # std::fs::remove_file(&path)?;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct FileSessionStore {
    /// The JSON file.
    path: Arc<PathBuf>,
    /// Serializes read-modify-write cycles of clones.
    lock: Arc<Mutex<()>>,
}

impl fmt::Debug for FileSessionStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileSessionStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// The version written into and accepted from session files.
const FORMAT_VERSION: u32 = 1;

/// The document a [`FileSessionStore`] reads and writes.
#[derive(Debug, Serialize, Deserialize)]
struct FileFormat {
    /// Always [`FORMAT_VERSION`].
    version: u32,
    /// Sorted by shard, one per shard.
    sessions: Vec<Session>,
}

impl FileSessionStore {
    /// A store in `path`. The file need not exist; it is created on the first save (its
    /// directory must exist).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: Arc::new(path.into()),
            lock: Arc::new(Mutex::new(())),
        }
    }

    /// The file this store reads and writes.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads, changes and rewrites the file under the lock, on the blocking thread pool.
    async fn update(
        &self,
        change: impl FnOnce(&mut Vec<Session>) + Send + 'static,
    ) -> Result<(), SessionStoreError> {
        let _guard = self.lock.lock().await;
        let path = Arc::clone(&self.path);
        run_blocking(move || {
            let mut sessions = read_file(&path)?;
            change(&mut sessions);
            sessions.sort_by_key(|s| s.shard);
            write_file(&path, sessions)
        })
        .await
    }
}

impl SessionStore for FileSessionStore {
    fn load_all(&self) -> StoreFuture<'_, Vec<Session>> {
        Box::pin(async move {
            let _guard = self.lock.lock().await;
            let path = Arc::clone(&self.path);
            run_blocking(move || read_file(&path)).await
        })
    }

    fn save<'a>(&'a self, sessions: &'a [Session]) -> StoreFuture<'a, ()> {
        let new = sessions.to_vec();
        Box::pin(self.update(move |saved| {
            saved.retain(|old| !new.iter().any(|s| s.shard == old.shard));
            saved.extend(new);
        }))
    }

    fn remove<'a>(&'a self, shards: &'a [ShardId]) -> StoreFuture<'a, ()> {
        let gone = shards.to_vec();
        Box::pin(self.update(move |saved| saved.retain(|s| !gone.contains(&s.shard))))
    }
}

/// Runs file I/O off the async threads.
async fn run_blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, SessionStoreError> + Send + 'static,
) -> Result<T, SessionStoreError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|_| SessionStoreError::new(SessionStoreErrorKind::TaskFailed))?
}

/// Reads the sessions in `path`; a missing file holds none.
fn read_file(path: &Path) -> Result<Vec<Session>, SessionStoreError> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(SessionStoreError::io(IoOp::Read, path, e)),
    };
    let file: FileFormat = serde_json::from_slice(&bytes).map_err(|e| {
        SessionStoreError::with_source(
            SessionStoreErrorKind::Malformed {
                path: path.to_owned(),
            },
            e,
        )
    })?;
    if file.version != FORMAT_VERSION {
        return Err(SessionStoreError::new(
            SessionStoreErrorKind::UnsupportedVersion {
                path: path.to_owned(),
                version: file.version,
            },
        ));
    }
    Ok(file.sessions)
}

/// Writes `sessions` to a temporary file beside `path`, syncs it and renames it over `path`.
fn write_file(path: &Path, sessions: Vec<Session>) -> Result<(), SessionStoreError> {
    let file = FileFormat {
        version: FORMAT_VERSION,
        sessions,
    };
    // Serializing plain strings and integers cannot fail; map it anyway rather than panic.
    let json = serde_json::to_vec(&file)
        .map_err(|e| SessionStoreError::io(IoOp::Write, path, io::Error::other(e)))?;
    let mut tmp_name = path.file_name().unwrap_or_default().to_owned();
    tmp_name.push(".tmp");
    let tmp = path.with_file_name(tmp_name);
    let written = std::fs::File::create(&tmp).and_then(|mut f| {
        f.write_all(&json)?;
        f.write_all(b"\n")?;
        f.sync_all()
    });
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(SessionStoreError::io(IoOp::Write, &tmp, e));
    }
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        SessionStoreError::io(IoOp::Rename, path, e)
    })
}

/// Which file operation failed, for [`SessionStoreErrorKind::Io`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum IoOp {
    /// Reading the file.
    Read,
    /// Writing the temporary file.
    Write,
    /// Renaming the temporary file over the target.
    Rename,
}

impl fmt::Display for IoOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Read => "read",
            Self::Write => "write",
            Self::Rename => "rename into place",
        })
    }
}

/// What went wrong in a [`SessionStore`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SessionStoreErrorKind {
    /// A file operation failed.
    #[error(
        "could not {op} session file {path:?}: check that its directory exists and is writable"
    )]
    Io {
        /// The operation.
        op: IoOp,
        /// The file.
        path: PathBuf,
    },
    /// The file is not a session file.
    #[error(
        "session file {path:?} is not valid: delete it, and the next start identifies every shard"
    )]
    Malformed {
        /// The file.
        path: PathBuf,
    },
    /// The file was written by another version of this library.
    #[error(
        "session file {path:?} has format version {version}, this library reads version 1: delete it or use the matching library version"
    )]
    UnsupportedVersion {
        /// The file.
        path: PathBuf,
        /// The version it declares.
        version: u32,
    },
    /// The blocking task doing the I/O panicked or the runtime is shutting down.
    #[error("the session store task did not finish: the runtime is shutting down, try again")]
    TaskFailed,
    /// A store implemented elsewhere failed (e.g. a Redis store); see the source.
    #[error("the session store backend failed: see the source error")]
    Backend,
}

driver_error! {
    /// An error of a [`SessionStore`]: a [`SessionStoreErrorKind`] and the underlying error.
    #[derive(Debug)]
    SessionStoreError => SessionStoreErrorKind
}

impl SessionStoreError {
    /// An I/O failure on `path`.
    fn io(op: IoOp, path: &Path, e: io::Error) -> Self {
        Self::with_source(
            SessionStoreErrorKind::Io {
                op,
                path: path.to_owned(),
            },
            e,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh path in the temp dir, unique per test.
    fn temp_path(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("dg-store-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        dir.join("sessions.json")
    }

    fn session(number: u32, total: u32, sequence: u64) -> Session {
        Session {
            id: format!("s{number}-{total}"),
            sequence,
            resume_url: "ws://127.0.0.1:1".into(),
            shard: ShardId::new(number, total).expect("valid shard"),
        }
    }

    #[tokio::test]
    async fn missing_file_holds_no_sessions() {
        let store = FileSessionStore::new(temp_path("missing"));
        assert_eq!(store.load_all().await.expect("load"), Vec::new());
    }

    #[tokio::test]
    async fn save_replaces_same_shard_keeps_others_and_sorts() {
        let path = temp_path("save");
        let store = FileSessionStore::new(&path);
        store
            .save(&[session(2, 4, 10), session(0, 4, 5)])
            .await
            .expect("first save");
        // Same number, other total: a different shard, kept.
        store
            .save(&[session(2, 4, 99), session(2, 8, 1)])
            .await
            .expect("second save");
        let loaded = store.load_all().await.expect("load");
        assert_eq!(
            loaded,
            vec![session(0, 4, 5), session(2, 4, 99), session(2, 8, 1)]
        );
        // A second store on the same file sees the same (it really is on disk).
        let again = FileSessionStore::new(&path)
            .load_all()
            .await
            .expect("reload");
        assert_eq!(again, loaded);
        assert!(
            !path.with_file_name("sessions.json.tmp").exists(),
            "no temp file left behind"
        );
    }

    #[tokio::test]
    async fn remove_forgets_only_the_given_shards() {
        let store = FileSessionStore::new(temp_path("remove"));
        store
            .save(&[session(0, 2, 1), session(1, 2, 2)])
            .await
            .expect("save");
        let gone = [
            ShardId::new(0, 2).expect("shard"),
            ShardId::new(5, 9).expect("shard"),
        ];
        store.remove(&gone).await.expect("remove");
        assert_eq!(
            store.load_all().await.expect("load"),
            vec![session(1, 2, 2)]
        );
    }

    #[tokio::test]
    async fn written_file_has_the_documented_format() {
        let path = temp_path("format");
        FileSessionStore::new(&path)
            .save(&[session(3, 16, 1337)])
            .await
            .expect("save");
        let text = std::fs::read_to_string(&path).expect("read back");
        assert_eq!(
            text,
            "{\"version\":1,\"sessions\":[{\"id\":\"s3-16\",\"sequence\":1337,\
             \"resume_url\":\"ws://127.0.0.1:1\",\"shard\":[3,16]}]}\n"
        );
    }

    #[tokio::test]
    async fn bad_files_are_refused_with_a_kind_naming_the_fix() {
        const CASES: &[(&str, &str, &str)] = &[
            ("not json", "{oops", "malformed"),
            ("wrong shape", "{\"version\":1}", "malformed"),
            (
                "future version",
                "{\"version\":2,\"sessions\":[]}",
                "version",
            ),
        ];
        for (i, (name, content, expect)) in CASES.iter().enumerate() {
            let path = temp_path(&format!("bad{i}"));
            std::fs::write(&path, content).expect("write case");
            let err = FileSessionStore::new(&path)
                .load_all()
                .await
                .expect_err(name);
            let ok = match err.kind() {
                SessionStoreErrorKind::Malformed { path: p } => {
                    *expect == "malformed" && *p == path
                }
                SessionStoreErrorKind::UnsupportedVersion { version, .. } => {
                    *expect == "version" && *version == 2
                }
                _ => false,
            };
            assert!(ok, "{name}: unexpected {err:?}");
            assert!(err.to_string().contains("delete it"), "{name}: {err}");
            // A failed load never writes.
            assert_eq!(
                std::fs::read_to_string(&path).expect("still there"),
                *content,
                "{name}"
            );
        }
    }

    #[tokio::test]
    async fn unwritable_directory_is_an_io_error_with_source() {
        let path = temp_path("nodir")
            .with_file_name("missing-dir")
            .join("s.json");
        let err = FileSessionStore::new(&path)
            .save(&[session(0, 1, 1)])
            .await
            .expect_err("directory does not exist");
        assert!(
            matches!(
                err.kind(),
                SessionStoreErrorKind::Io {
                    op: IoOp::Write,
                    ..
                }
            ),
            "{err:?}"
        );
        let (_, source) = err.into_parts();
        assert!(source.is_some(), "into_parts keeps the io::Error");
    }

    #[tokio::test]
    async fn concurrent_saves_through_clones_lose_nothing() {
        let store = FileSessionStore::new(temp_path("concurrent"));
        let tasks: Vec<_> = (0..8)
            .map(|n| {
                let store = store.clone();
                tokio::spawn(async move { store.save(&[session(n, 8, u64::from(n))]).await })
            })
            .collect();
        for t in tasks {
            t.await.expect("join").expect("save");
        }
        assert_eq!(store.load_all().await.expect("load").len(), 8);
    }
}
