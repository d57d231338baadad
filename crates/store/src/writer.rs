//! The single writer thread. It takes every pending command off the channel,
//! checks each write against the current state (plus the batch's earlier
//! writes), commits all successful ones in one transaction (one fsync), then
//! updates the cache, answers the callers and wakes the watchers — in that
//! order, so an acknowledged write is durable and visible to `get`.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::Duration;

use bytes::Bytes;
use rusqlite::Connection;
use tokio::sync::oneshot;
use tokio::time::Instant;

use crate::{Event, EventKind, KeyValue, Shared, StoreError, sqlite};

/// Most writes in one transaction; bounds the latency of a huge burst.
const MAX_BATCH: usize = 4096;

/// The shortest time between timed compactions, so a zero interval does not
/// spin the thread.
const MIN_COMPACTION_INTERVAL: Duration = Duration::from_millis(10);

pub(crate) type Reply<T> = oneshot::Sender<Result<T, StoreError>>;

/// One write, checked by the writer against the state at its turn.
#[derive(Debug)]
pub(crate) enum Op {
    Create {
        key: String,
        value: Bytes,
    },
    Update {
        key: String,
        value: Bytes,
        expected: Option<i64>,
    },
    Delete {
        key: String,
        expected: Option<i64>,
    },
}

/// What the writer thread is asked to do.
#[derive(Debug)]
pub(crate) enum Command {
    Write(Op, Reply<KeyValue>),
    /// Trim the history to the window now; answers the compacted revision.
    Compact(Reply<i64>),
    /// Finish what came before, then stop.
    Shutdown,
}

pub(crate) struct Writer {
    conn: Connection,
    shared: Arc<Shared>,
    rx: Receiver<Command>,
    window: usize,
    limit: usize,
    interval: Duration,
    next_compaction: Instant,
    /// Set when a failed commit leaves the disk state unknown.
    poisoned: bool,
}

/// Marks the store closed however the thread ends, so watchers never hang.
struct CloseOnExit(Arc<Shared>);

impl Drop for CloseOnExit {
    fn drop(&mut self) {
        self.0.close();
    }
}

impl Writer {
    pub(crate) fn spawn(
        conn: Connection,
        shared: Arc<Shared>,
        rx: Receiver<Command>,
        window: usize,
        limit: usize,
        interval: Duration,
    ) -> Result<JoinHandle<()>, StoreError> {
        let interval = interval.max(MIN_COMPACTION_INTERVAL);
        let writer = Writer {
            conn,
            shared,
            rx,
            window,
            limit: limit.max(window),
            interval,
            next_compaction: later(Instant::now(), interval),
            poisoned: false,
        };
        std::thread::Builder::new()
            .name("store-writer".into())
            .spawn(move || writer.run())
            .map_err(StoreError::Thread)
    }

    fn run(mut self) {
        let _closing = CloseOnExit(self.shared.clone());
        loop {
            let wait = self
                .next_compaction
                .saturating_duration_since(Instant::now());
            let mut next = match self.rx.recv_timeout(wait) {
                Ok(command) => Some(command),
                Err(RecvTimeoutError::Timeout) => None,
                Err(RecvTimeoutError::Disconnected) => break,
            };
            let mut writes = Vec::new();
            let mut compactions = Vec::new();
            let mut shutdown = false;
            while let Some(command) = next {
                match command {
                    Command::Write(op, reply) => writes.push((op, reply)),
                    Command::Compact(reply) => compactions.push(reply),
                    Command::Shutdown => shutdown = true,
                }
                if shutdown || writes.len() >= MAX_BATCH {
                    break;
                }
                next = self.rx.try_recv().ok();
            }
            if !writes.is_empty() {
                self.write_batch(writes);
            }
            for reply in compactions {
                let _ = reply.send(self.compact(1));
            }
            // Early compactions wait until they drop half a window, so a
            // slow watcher creeping forward does not cost a SQLite
            // transaction per batch.
            if self.compaction_due()
                && let Err(error) = self.compact((self.window / 2).max(1))
            {
                tracing::warn!(%error, "store compaction failed");
            }
            if shutdown {
                break;
            }
        }
    }

    fn compaction_due(&self) -> bool {
        Instant::now() >= self.next_compaction
            || self.shared.cache.read().history.len() > self.window.saturating_mul(2)
    }

    fn write_batch(&mut self, writes: Vec<(Op, Reply<KeyValue>)>) {
        let stats = &self.shared.stats;
        stats.batches.fetch_add(1, Ordering::Relaxed);
        if self.poisoned {
            for (_, reply) in writes {
                let _ = reply.send(Err(StoreError::Poisoned));
            }
            return;
        }
        let mut answers = Vec::with_capacity(writes.len());
        let mut events = Vec::new();
        let revision = {
            let cache = self.shared.cache.read();
            // The state as the batch's earlier writes left it.
            let mut written: HashMap<String, Option<KeyValue>> = HashMap::new();
            let mut revision = cache.revision;
            for (op, reply) in writes {
                let existing = match written.get(op.key()) {
                    Some(state) => state.clone(),
                    None => cache.current.get(op.key()).cloned(),
                };
                let Some(next) = revision.checked_add(1) else {
                    answers.push((
                        reply,
                        Err(StoreError::Corrupt(
                            "the revision counter is exhausted".into(),
                        )),
                    ));
                    continue;
                };
                match decide(op, existing, next) {
                    Ok(event) => {
                        revision = event.revision;
                        let after = matches!(event.kind, EventKind::Put).then(|| event.kv.clone());
                        written.insert(event.kv.key.clone(), after);
                        answers.push((reply, Ok(event.kv.clone())));
                        events.push(Arc::new(event));
                    }
                    Err(e) => answers.push((reply, Err(e))),
                }
            }
            revision
        };
        if !events.is_empty() {
            let started = Instant::now();
            if let Err(error) = sqlite::commit(&mut self.conn, &events, revision) {
                stats.failed_commits.fetch_add(1, Ordering::Relaxed);
                tracing::error!(%error, "store commit failed");
                self.check_disk_after_failure();
                // Conditional answers assumed the failed writes; none stand.
                let message = error.to_string();
                for (reply, _) in answers {
                    let _ = reply.send(Err(StoreError::Commit {
                        message: message.clone(),
                    }));
                }
                return;
            }
            stats.observe_commit(started.elapsed());
            self.shared.cache.write().apply(events);
            self.shared.published(revision);
        }
        for (reply, result) in answers {
            let counter = if result.is_ok() {
                &stats.writes
            } else {
                &stats.rejected_writes
            };
            counter.fetch_add(1, Ordering::Relaxed);
            let _ = reply.send(result);
        }
    }

    /// A failed commit normally rolls back; if the disk nevertheless holds
    /// another revision than the cache (or cannot say), stop writing.
    fn check_disk_after_failure(&mut self) {
        let cached = self.shared.cache.read().revision;
        match sqlite::stored_revision(&self.conn) {
            Ok(stored) if stored == cached => {}
            Ok(stored) => {
                tracing::error!(
                    stored,
                    cached,
                    "store disk revision differs from the cache after a failed commit"
                );
                self.poisoned = true;
            }
            Err(error) => {
                tracing::error!(%error, "store cannot read its revision after a failed commit");
                self.poisoned = true;
            }
        }
    }

    /// Trims the history to the window, keeping what readers still need
    /// (up to the limit), if that drops at least `min_events`.
    fn compact(&mut self, min_events: usize) -> Result<i64, StoreError> {
        let now = Instant::now();
        self.next_compaction = later(now, self.interval);
        if self.poisoned {
            return Err(StoreError::Poisoned);
        }
        let (compacted, target) = {
            let cache = self.shared.cache.read();
            let mut target = cache.compaction_target(self.window);
            if let Some(needed) = self.shared.retention.oldest_needed(now) {
                target = target.min(needed);
            }
            (cache.compacted, target.max(cache.compaction_target(self.limit)))
        };
        if target < compacted.saturating_add(min_events as i64) {
            return Ok(compacted);
        }
        sqlite::compact(&mut self.conn, target)?;
        self.shared.cache.write().compact_through(target);
        self.shared
            .stats
            .compactions
            .fetch_add(1, Ordering::Relaxed);
        tracing::debug!(compacted = target, "store history compacted");
        Ok(target)
    }
}

fn later(now: Instant, interval: Duration) -> Instant {
    // A huge interval means "practically never", not an overflow panic.
    now.checked_add(interval)
        .unwrap_or_else(|| now + Duration::from_secs(100 * 365 * 24 * 3600))
}

impl Op {
    fn key(&self) -> &str {
        match self {
            Op::Create { key, .. } | Op::Update { key, .. } | Op::Delete { key, .. } => key,
        }
    }
}

fn check(key: &str, expected: Option<i64>, current: &KeyValue) -> Result<(), StoreError> {
    match expected {
        Some(expected) if expected != current.mod_revision => Err(StoreError::Conflict {
            key: key.to_owned(),
            expected,
            current: current.mod_revision,
        }),
        _ => Ok(()),
    }
}

/// The event `op` makes at `revision`, or why it is refused.
fn decide(op: Op, existing: Option<KeyValue>, revision: i64) -> Result<Event, StoreError> {
    match op {
        Op::Create { key, value } => match existing {
            Some(_) => Err(StoreError::AlreadyExists { key }),
            None => Ok(Event {
                kind: EventKind::Put,
                kv: KeyValue {
                    key,
                    value,
                    create_revision: revision,
                    mod_revision: revision,
                },
                prev: None,
                revision,
            }),
        },
        Op::Update {
            key,
            value,
            expected,
        } => {
            let Some(prev) = existing else {
                return Err(StoreError::NotFound { key });
            };
            check(&key, expected, &prev)?;
            Ok(Event {
                kind: EventKind::Put,
                kv: KeyValue {
                    key,
                    value,
                    create_revision: prev.create_revision,
                    mod_revision: revision,
                },
                prev: Some(prev),
                revision,
            })
        }
        Op::Delete { key, expected } => {
            let Some(prev) = existing else {
                return Err(StoreError::NotFound { key });
            };
            check(&key, expected, &prev)?;
            Ok(Event {
                kind: EventKind::Delete,
                kv: KeyValue {
                    mod_revision: revision,
                    ..prev.clone()
                },
                prev: Some(prev),
                revision,
            })
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap: a panic is a failure
mod tests {
    use super::*;

    fn kv(key: &str, create: i64, modr: i64) -> KeyValue {
        KeyValue {
            key: key.into(),
            value: Bytes::from_static(b"v"),
            create_revision: create,
            mod_revision: modr,
        }
    }

    #[test]
    fn store_writer_decide_conditions() {
        let v = Bytes::from_static(b"new");
        let create = |existing| {
            decide(
                Op::Create {
                    key: "k".into(),
                    value: v.clone(),
                },
                existing,
                9,
            )
        };
        assert!(
            matches!(create(Some(kv("k", 1, 2))), Err(StoreError::AlreadyExists { key }) if key == "k")
        );
        let made = create(None).unwrap();
        assert_eq!(
            (made.kv.create_revision, made.kv.mod_revision, made.prev),
            (9, 9, None)
        );

        let update = |existing, expected| {
            decide(
                Op::Update {
                    key: "k".into(),
                    value: v.clone(),
                    expected,
                },
                existing,
                9,
            )
        };
        assert!(matches!(
            update(None, None),
            Err(StoreError::NotFound { .. })
        ));
        assert!(matches!(
            update(Some(kv("k", 1, 2)), Some(1)),
            Err(StoreError::Conflict {
                expected: 1,
                current: 2,
                ..
            })
        ));
        let updated = update(Some(kv("k", 1, 2)), Some(2)).unwrap();
        assert_eq!(
            (updated.kv.create_revision, updated.kv.mod_revision),
            (1, 9)
        );
        assert_eq!(updated.prev, Some(kv("k", 1, 2)));
        assert!(update(Some(kv("k", 1, 2)), None).is_ok());

        let delete = |existing, expected| {
            decide(
                Op::Delete {
                    key: "k".into(),
                    expected,
                },
                existing,
                9,
            )
        };
        assert!(matches!(
            delete(None, Some(1)),
            Err(StoreError::NotFound { .. })
        ));
        assert!(matches!(
            delete(Some(kv("k", 1, 2)), Some(3)),
            Err(StoreError::Conflict { current: 2, .. })
        ));
        let deleted = delete(Some(kv("k", 1, 2)), Some(2)).unwrap();
        assert_eq!(deleted.kind, EventKind::Delete);
        assert_eq!(deleted.kv, kv("k", 1, 9));
        assert_eq!(deleted.prev, Some(kv("k", 1, 2)));
    }
}
