//! The durable, revisioned key-value store under the API server: keys,
//! opaque values, one global revision, watch. It knows nothing about HTTP
//! or Kubernetes kinds.
//!
//! Design. Data lives in one SQLite database in WAL mode with
//! `synchronous=FULL`, so a committed transaction is fsynced. Every write goes
//! through one writer thread (not the async runtime) fed by a channel: it
//! drains all pending writes, checks each one's condition against the state
//! the earlier ones left, commits the successful ones in one transaction
//! (group commit: one fsync for many writes), and only then updates the
//! in-memory cache, answers the callers and wakes watchers. A refused write
//! (exists, missing, conflict) fails alone and consumes no revision, so
//! revisions are dense: each successful write, deletes included, takes the
//! next one, starting at 1; an empty store is at revision 0. Reads (`get`,
//! `list`, `count`) come from the cache: a sorted map of the current state plus
//! a window of the most recent events, each with the previous value. That
//! window serves watches from an older revision and lists pinned to an older
//! revision (the newer events are rolled back), which keeps paginated lists
//! consistent. The window is also persisted (a log table written in the same
//! transaction) so watches resume across a restart, and is compacted in the
//! background to `StoreOptions::history_window` events, except for what
//! open watch streams have not read yet and the revisions of paginated lists
//! being read (`retention`), up to `StoreOptions::history_limit`; the
//! compacted revision is persisted too. Reopening rebuilds the cache from SQLite; a
//! transaction is all or nothing, so a crash loses at most the writes that
//! were not yet acknowledged.

mod cache;
mod error;
mod marker;
mod retention;
mod sqlite;
mod stats;
mod watch;
mod writer;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use bytes::Bytes;
use parking_lot::{Mutex, RwLock};
use tokio::sync::oneshot;

pub use error::StoreError;
pub use marker::ChangeMarker;
pub use stats::{COMMIT_LATENCY_BOUNDS_MICROS, LatencyHistogram, StoreStats};
pub use watch::WatchStream;

use cache::Cache;
use writer::{Command, Op, Writer};

/// A key with its value and revisions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyValue {
    pub key: String,
    pub value: Bytes,
    /// The revision of the write that created the key.
    pub create_revision: i64,
    /// The revision of the key's last write (for a deleted key as seen in a
    /// `Delete` event or `Store::delete`'s answer: the delete's revision).
    pub mod_revision: i64,
}

/// What a write did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    Put,
    Delete,
}

/// One committed write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub kind: EventKind,
    /// The key after the write; for `Delete`, its last value with
    /// `mod_revision` set to the delete's revision.
    pub kv: KeyValue,
    /// The key before the write; `None` when the write created it.
    pub prev: Option<KeyValue>,
    /// The write's revision (equal to `kv.mod_revision`).
    pub revision: i64,
}

/// How to open a store.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// Events always kept for watches and pinned lists. Between compactions
    /// the history may grow to twice this before it is trimmed early.
    pub history_window: usize,
    /// Most events kept for open watch streams that have not read them yet
    /// and for paginated lists being read; a watcher further behind ends
    /// with `Compacted`.
    pub history_limit: usize,
    /// How often the history is trimmed to the window (at least 10 ms).
    pub compaction_interval: Duration,
    /// The largest value a write may carry.
    pub max_value_bytes: usize,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            history_window: 2_000,
            history_limit: 20_000,
            compaction_interval: Duration::from_secs(60),
            max_value_bytes: 16 * 1024 * 1024,
        }
    }
}

/// What to list besides the prefix.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListOptions {
    /// The revision whose state to show; `None` for the current one.
    pub at_revision: Option<i64>,
    /// Only keys after this one (exclusive), to continue a paginated list.
    pub start_after: Option<String>,
    /// Most items to return.
    pub limit: Option<usize>,
}

/// The answer to a list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListResult {
    /// Sorted by key.
    pub items: Vec<KeyValue>,
    /// The revision whose state the items are.
    pub revision: i64,
    /// Whether more items follow the last one (only with a limit).
    pub more: bool,
}

/// A handle to an open store; clones share it. The writer thread stops when
/// [`Store::close`] is called or the last clone is dropped.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    shared: Arc<Shared>,
    tx: mpsc::Sender<Command>,
    writer: Mutex<Option<JoinHandle<()>>>,
    max_value_bytes: usize,
}

/// What the writer thread, the handles and the watch streams share.
pub(crate) struct Shared {
    pub(crate) cache: RwLock<Cache>,
    pub(crate) stats: stats::Stats,
    pub(crate) retention: retention::Retention,
    /// The last published revision; watch streams wait on it.
    revision: tokio::sync::watch::Sender<i64>,
    closed: AtomicBool,
}

impl Shared {
    fn published(&self, revision: i64) {
        self.revision.send_replace(revision);
    }

    fn close(&self) {
        self.closed.store(true, Ordering::Release);
        self.revision.send_modify(|_| {});
    }

    fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    fn subscribe(&self) -> tokio::sync::watch::Receiver<i64> {
        self.revision.subscribe()
    }
}

impl Store {
    /// Opens the store at `path`, creating the database file if needed, and
    /// rebuilds the cache from it. Blocking: call it off the async runtime.
    pub fn open(path: &Path, options: StoreOptions) -> Result<Store, StoreError> {
        let conn = sqlite::open(path)?;
        let cache = sqlite::load(&conn)?;
        let revision = cache.revision;
        tracing::info!(path = %path.display(), revision, keys = cache.current.len(), "store opened");
        let shared = Arc::new(Shared {
            cache: RwLock::new(cache),
            stats: stats::Stats::default(),
            retention: retention::Retention::default(),
            revision: tokio::sync::watch::Sender::new(revision),
            closed: AtomicBool::new(false),
        });
        let (tx, rx) = mpsc::channel();
        let writer = Writer::spawn(
            conn,
            shared.clone(),
            rx,
            options.history_window,
            options.history_limit,
            options.compaction_interval,
        )?;
        Ok(Store {
            inner: Arc::new(Inner {
                shared,
                tx,
                writer: Mutex::new(Some(writer)),
                max_value_bytes: options.max_value_bytes,
            }),
        })
    }

    /// Creates `key`; fails with `AlreadyExists` if it is present.
    ///
    /// Resolves once the write is durable. Dropping the future does not
    /// withdraw a write already sent to the writer.
    pub async fn create(&self, key: &str, value: impl Into<Bytes>) -> Result<KeyValue, StoreError> {
        let value = self.check_write(key, value.into())?;
        self.write(Op::Create {
            key: key.to_owned(),
            value,
        })
        .await
    }

    /// Replaces the value of an existing `key`. With `expected_mod_revision`
    /// the key must still be at that revision (`Conflict` otherwise, with
    /// the current one): the compare-and-swap of a read-modify-write loop.
    pub async fn update(
        &self,
        key: &str,
        value: impl Into<Bytes>,
        expected_mod_revision: Option<i64>,
    ) -> Result<KeyValue, StoreError> {
        let value = self.check_write(key, value.into())?;
        self.write(Op::Update {
            key: key.to_owned(),
            value,
            expected: expected_mod_revision,
        })
        .await
    }

    /// Deletes an existing `key`, optionally only at `expected_mod_revision`.
    /// Answers its last value with `mod_revision` set to the delete's
    /// revision (as the `Delete` event carries it).
    pub async fn delete(
        &self,
        key: &str,
        expected_mod_revision: Option<i64>,
    ) -> Result<KeyValue, StoreError> {
        if key.is_empty() {
            return Err(StoreError::EmptyKey);
        }
        self.write(Op::Delete {
            key: key.to_owned(),
            expected: expected_mod_revision,
        })
        .await
    }

    fn check_write(&self, key: &str, value: Bytes) -> Result<Bytes, StoreError> {
        if key.is_empty() {
            return Err(StoreError::EmptyKey);
        }
        let limit = self.inner.max_value_bytes;
        if value.len() > limit {
            return Err(StoreError::ValueTooLarge {
                key: key.to_owned(),
                size: value.len(),
                limit,
            });
        }
        Ok(value)
    }

    async fn write(&self, op: Op) -> Result<KeyValue, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.inner
            .tx
            .send(Command::Write(op, reply))
            .map_err(|_| StoreError::Closed)?;
        answer.await.map_err(|_| StoreError::Closed)?
    }

    /// The current value of `key`.
    pub fn get(&self, key: &str) -> Option<KeyValue> {
        self.inner.shared.cache.read().current.get(key).cloned()
    }

    /// The keys under `prefix`, sorted, at the current revision or at
    /// `options.at_revision` if that is still within the history
    /// (`Compacted` below it, `TooLargeResourceVersion` above the current).
    pub fn list(&self, prefix: &str, options: ListOptions) -> Result<ListResult, StoreError> {
        let result = self.inner.shared.cache.read().list(prefix, &options)?;
        if result.more {
            // The next page is read at this revision.
            self.inner.shared.retention.pin(result.revision, tokio::time::Instant::now());
        }
        Ok(result)
    }

    /// A marker that follows the latest change under `prefix`, for caches
    /// of derived data that must never serve a state older than a write
    /// already acknowledged.
    pub fn change_marker(&self, prefix: &str) -> ChangeMarker {
        let mut cache = self.inner.shared.cache.write();
        if let Some(m) = cache.markers.iter().find(|m| m.prefix() == prefix) {
            return m.clone();
        }
        let marker = ChangeMarker::new(prefix, cache.revision);
        cache.markers.push(marker.clone());
        marker
    }

    /// How many keys are under `prefix` now.
    pub fn count(&self, prefix: &str) -> usize {
        self.inner.shared.cache.read().count(prefix)
    }

    /// The revision of the last acknowledged write (0 for an empty store).
    /// Every event at or below it has been published to watch streams, so it
    /// is also what a bookmark may report once a stream has caught up (see
    /// [`WatchStream::progress_revision`] for a per-stream answer).
    pub fn current_revision(&self) -> i64 {
        self.inner.shared.cache.read().revision
    }

    /// The newest revision no longer in the history: lists and watches can
    /// start at this revision or later.
    pub fn compacted_revision(&self) -> i64 {
        self.inner.shared.cache.read().compacted
    }

    /// Streams the events after `from_revision` for keys under `prefix`.
    /// Fails with `Compacted` when events after `from_revision` were already
    /// dropped, and with `TooLargeResourceVersion` when `from_revision` is
    /// beyond the current revision.
    pub fn watch(&self, prefix: &str, from_revision: i64) -> Result<WatchStream, StoreError> {
        self.inner
            .shared
            .cache
            .read()
            .check_watchable(from_revision)?;
        Ok(WatchStream::new(
            self.inner.shared.clone(),
            prefix.to_owned(),
            from_revision,
        ))
    }

    /// Trims the history to the window now instead of waiting for the timer;
    /// answers the compacted revision.
    pub async fn compact(&self) -> Result<i64, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.inner
            .tx
            .send(Command::Compact(reply))
            .map_err(|_| StoreError::Closed)?;
        answer.await.map_err(|_| StoreError::Closed)?
    }

    /// A snapshot of the counters for metrics.
    pub fn stats(&self) -> StoreStats {
        let shared = &self.inner.shared;
        let (revision, compacted_revision, keys, history_events) = {
            let cache = shared.cache.read();
            (
                cache.revision,
                cache.compacted,
                cache.current.len(),
                cache.history.len(),
            )
        };
        let s = &shared.stats;
        let load = |c: &std::sync::atomic::AtomicU64| c.load(Ordering::Relaxed);
        StoreStats {
            revision,
            compacted_revision,
            keys,
            history_events,
            writes: load(&s.writes),
            rejected_writes: load(&s.rejected_writes),
            commits: load(&s.commits),
            batches: load(&s.batches),
            failed_commits: load(&s.failed_commits),
            compactions: load(&s.compactions),
            last_commit_micros: load(&s.last_commit_micros),
            commit_latency: s.latency(),
            watchers: s.watchers.load(Ordering::Relaxed),
        }
    }

    /// Stops the writer after it has committed and answered every write sent
    /// before, and closes the database. Later writes fail with `Closed`;
    /// watch streams end after the last committed event. Blocking; safe to
    /// call more than once and from any clone.
    pub fn close(&self) {
        self.inner.close();
    }
}

impl Inner {
    fn close(&self) {
        // Held while joining, so a second caller returns only once closed.
        let mut writer = self.writer.lock();
        if let Some(handle) = writer.take() {
            let _ = self.tx.send(Command::Shutdown);
            if handle.join().is_err() {
                tracing::error!("store writer thread panicked");
            }
        }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.close();
    }
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("revision", &self.current_revision())
            .finish_non_exhaustive()
    }
}
