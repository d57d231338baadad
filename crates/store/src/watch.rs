//! Watch streams. A stream owns no buffer the writer fills: it wakes on the
//! published revision and reads the events it has not seen from the shared
//! history, so a slow watcher never blocks the writer or other watchers;
//! one that falls behind the compacted revision ends with `Compacted`.

use std::collections::VecDeque;
use std::fmt;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::task::{Context, Poll};

use futures::Stream;
use futures::stream::BoxStream;
use tokio::sync::watch;

use crate::{Event, Shared, StoreError};

/// Most history events looked at per lock acquisition, so catching up on a
/// long backlog does not hold the cache lock against the writer.
const SCAN_CHUNK: usize = 1024;

/// Every event after a revision for keys under a prefix, in revision order,
/// without gaps or duplicates: first those already in the history, then
/// live ones.
///
/// Ends with `Err(Compacted)` when it fell behind the retained history, and
/// ends (`None`) after the last event committed before the store closed.
pub struct WatchStream {
    inner: BoxStream<'static, Result<Event, StoreError>>,
    progress: Arc<AtomicI64>,
}

impl WatchStream {
    pub(crate) fn new(shared: Arc<Shared>, prefix: String, from_revision: i64) -> WatchStream {
        let progress = Arc::new(AtomicI64::new(from_revision));
        let cursor = Cursor {
            position: shared.retention.watcher(from_revision),
            rx: shared.subscribe(),
            _count: WatcherCount::new(shared.clone()),
            shared,
            prefix,
            scanned: from_revision,
            buffered: VecDeque::new(),
            progress: progress.clone(),
            ended: false,
        };
        let inner = Box::pin(futures::stream::unfold(cursor, |mut cursor| async move {
            let item = cursor.next().await?;
            Some((item, cursor))
        }));
        WatchStream { inner, progress }
    }

    /// The revision up to which this stream has yielded every event under
    /// its prefix: a safe bookmark. It advances past other prefixes' events
    /// while the stream is polled, so it may be ahead of the last event's.
    pub fn progress_revision(&self) -> i64 {
        self.progress.load(Ordering::Acquire)
    }
}

impl Stream for WatchStream {
    type Item = Result<Event, StoreError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inner.as_mut().poll_next(cx)
    }
}

impl fmt::Debug for WatchStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WatchStream")
            .field("progress_revision", &self.progress_revision())
            .finish_non_exhaustive()
    }
}

struct Cursor {
    /// What the history must keep for this stream (see `retention`).
    position: Arc<AtomicI64>,
    shared: Arc<Shared>,
    prefix: String,
    rx: watch::Receiver<i64>,
    /// Every event at or below this revision was looked at.
    scanned: i64,
    buffered: VecDeque<Event>,
    progress: Arc<AtomicI64>,
    ended: bool,
    _count: WatcherCount,
}

impl Cursor {
    async fn next(&mut self) -> Option<Result<Event, StoreError>> {
        loop {
            if let Some(event) = self.buffered.pop_front() {
                let through = if self.buffered.is_empty() {
                    self.scanned
                } else {
                    event.revision
                };
                self.progress.store(through, Ordering::Release);
                return Some(Ok(event));
            }
            if self.ended {
                return None;
            }
            // Mark the revision seen before reading, so a commit that lands
            // after the read wakes `changed` below.
            self.rx.borrow_and_update();
            let scan = self
                .shared
                .cache
                .read()
                .scan(&self.prefix, self.scanned, SCAN_CHUNK);
            let scan = match scan {
                Ok(scan) => scan,
                Err(e) => {
                    self.ended = true;
                    return Some(Err(e));
                }
            };
            self.scanned = scan.scanned_to;
            self.position.store(self.scanned, Ordering::Release);
            self.buffered.extend(scan.events);
            if !self.buffered.is_empty() {
                continue;
            }
            self.progress.store(self.scanned, Ordering::Release);
            if !scan.complete {
                tokio::task::yield_now().await;
                continue;
            }
            if self.shared.is_closed() {
                // The writer has stopped: what was committed has been read.
                if self.shared.cache.read().revision <= self.scanned {
                    return None;
                }
                continue;
            }
            if self.rx.changed().await.is_err() {
                self.ended = true;
            }
        }
    }
}

/// Counts open streams in the store's stats.
struct WatcherCount(Arc<Shared>);

impl WatcherCount {
    fn new(shared: Arc<Shared>) -> WatcherCount {
        shared.stats.watchers.fetch_add(1, Ordering::Relaxed);
        WatcherCount(shared)
    }
}

impl Drop for WatcherCount {
    fn drop(&mut self) {
        self.0.stats.watchers.fetch_sub(1, Ordering::Relaxed);
    }
}
