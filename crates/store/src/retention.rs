//! What the history must keep beyond its window: the events open watch
//! streams have not read yet, and the revision of a paginated list whose
//! next page may still be asked for.
//!
//! So the window itself can stay small (an idle cluster's history is what a
//! reconnecting watch needs), while a watcher that falls behind under load
//! is not cut off at once and forced to relist everything, and a `continue`
//! token stays good while its list is being read. Both are bounded: the
//! writer never keeps more than the store's history limit, and a pin lasts
//! [`PIN_FOR`].

use std::collections::VecDeque;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use parking_lot::Mutex;
use tokio::time::Instant;

/// How long a paginated list's revision is kept after a page was served
/// (etcd, behind Kubernetes, keeps five minutes of history; a list is read
/// page after page within seconds).
pub(crate) const PIN_FOR: Duration = Duration::from_secs(60);

#[derive(Default)]
pub(crate) struct Retention {
    /// Each open watch stream's position: it still needs every event after it.
    watchers: Mutex<Vec<Weak<AtomicI64>>>,
    /// Revisions of paginated lists, with when they stop being kept, in the
    /// order they were pinned.
    pins: Mutex<VecDeque<(Instant, i64)>>,
}

impl Retention {
    /// Registers a watch stream at `from`; it moves the returned position as
    /// it reads, and is forgotten once it drops it.
    pub(crate) fn watcher(&self, from: i64) -> Arc<AtomicI64> {
        let position = Arc::new(AtomicI64::new(from));
        self.watchers.lock().push(Arc::downgrade(&position));
        position
    }

    /// Keeps the history after `revision` for [`PIN_FOR`] from `now`.
    pub(crate) fn pin(&self, revision: i64, now: Instant) {
        self.pins.lock().push_back((now + PIN_FOR, revision));
    }

    /// The oldest revision after which some reader still needs every event,
    /// if any does; forgets closed watchers and expired pins.
    pub(crate) fn oldest_needed(&self, now: Instant) -> Option<i64> {
        let mut oldest: Option<i64> = None;
        let mut keep = |revision: i64| oldest = Some(oldest.map_or(revision, |o| o.min(revision)));
        self.watchers.lock().retain(|w| match w.upgrade() {
            Some(position) => {
                keep(position.load(Ordering::Acquire));
                true
            }
            None => false,
        });
        let mut pins = self.pins.lock();
        // Pins expire in the order they were made.
        while pins.front().is_some_and(|(until, _)| *until <= now) {
            pins.pop_front();
        }
        for (_, revision) in pins.iter() {
            keep(*revision);
        }
        oldest
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_retention_follows_open_watchers_and_live_pins() {
        let r = Retention::default();
        let now = Instant::now();
        assert_eq!(r.oldest_needed(now), None);
        let a = r.watcher(10);
        let b = r.watcher(20);
        assert_eq!(r.oldest_needed(now), Some(10));
        a.store(30, Ordering::Release);
        assert_eq!(r.oldest_needed(now), Some(20));
        drop(b);
        assert_eq!(r.oldest_needed(now), Some(30));
        r.pin(5, now);
        r.pin(25, now + Duration::from_secs(30));
        assert_eq!(r.oldest_needed(now), Some(5));
        assert_eq!(r.oldest_needed(now + PIN_FOR), Some(25), "the first pin expired");
        assert_eq!(r.oldest_needed(now + PIN_FOR + Duration::from_secs(30)), Some(30));
        drop(a);
        assert_eq!(r.oldest_needed(now + PIN_FOR * 2), None);
        assert!(r.watchers.lock().is_empty() && r.pins.lock().is_empty());
    }
}
