//! The in-memory state: current key-values plus the window of recent events,
//! from which lists at an older revision and watches are answered.

use std::cmp::Ordering;
use std::collections::{BTreeMap, VecDeque};
use std::ops::Bound;
use std::sync::Arc;

use crate::{Event, EventKind, KeyValue, ListOptions, ListResult, StoreError};

/// Current state and history, guarded by one lock in `Shared`.
///
/// Invariant: `history[i].revision == compacted + 1 + i` and the last event
/// (if any) has `revision`; revisions are dense because only successful
/// writes consume one.
#[derive(Debug, Default)]
pub(crate) struct Cache {
    pub(crate) current: BTreeMap<String, KeyValue>,
    pub(crate) history: VecDeque<Arc<Event>>,
    pub(crate) revision: i64,
    pub(crate) compacted: i64,
    /// Markers to move when a key under their prefix changes.
    pub(crate) markers: Vec<crate::ChangeMarker>,
}

/// Events read for one watcher, and how far the history was scanned.
pub(crate) struct Scan {
    pub(crate) events: Vec<Event>,
    pub(crate) scanned_to: i64,
    /// Whether the scan reached the current revision.
    pub(crate) complete: bool,
}

impl Cache {
    /// Applies committed events, in revision order.
    pub(crate) fn apply(&mut self, events: Vec<Arc<Event>>) {
        for ev in events {
            match ev.kind {
                EventKind::Put => {
                    self.current.insert(ev.kv.key.clone(), ev.kv.clone());
                }
                EventKind::Delete => {
                    self.current.remove(&ev.kv.key);
                }
            }
            self.revision = ev.revision;
            for marker in &self.markers {
                marker.saw(&ev.kv.key, ev.revision);
            }
            self.history.push_back(ev);
        }
    }

    /// The compacted revision that leaves at most `window` events.
    pub(crate) fn compaction_target(&self, window: usize) -> i64 {
        self.compacted + self.history.len().saturating_sub(window) as i64
    }

    /// Drops every event with a revision at or below `revision`.
    pub(crate) fn compact_through(&mut self, revision: i64) {
        let revision = revision.min(self.revision);
        while self
            .history
            .front()
            .is_some_and(|ev| ev.revision <= revision)
        {
            self.history.pop_front();
        }
        self.compacted = self.compacted.max(revision);
    }

    /// Fails unless the state at `revision` can be reconstructed.
    fn check_available(&self, revision: i64) -> Result<(), StoreError> {
        if revision > self.revision {
            return Err(StoreError::TooLargeResourceVersion {
                requested: revision,
                current: self.revision,
            });
        }
        if revision < self.compacted {
            return Err(StoreError::Compacted {
                requested: revision,
                oldest: self.compacted,
            });
        }
        Ok(())
    }

    /// Events after `revision`, oldest first.
    fn events_after(&self, revision: i64) -> impl Iterator<Item = &Arc<Event>> {
        // Dense revisions make the start an index, no search needed.
        let skip = usize::try_from(revision - self.compacted).unwrap_or(0);
        self.history.iter().skip(skip)
    }

    pub(crate) fn list(
        &self,
        prefix: &str,
        options: &ListOptions,
    ) -> Result<ListResult, StoreError> {
        let at = options.at_revision.unwrap_or(self.revision);
        self.check_available(at)?;
        // The state at `at` differs from the current one only for keys
        // written later; for each, the oldest later event's `prev` is the
        // value it had at `at`.
        let mut rolled_back: BTreeMap<&str, Option<&KeyValue>> = BTreeMap::new();
        if at < self.revision {
            for ev in self.events_after(at) {
                if ev.kv.key.starts_with(prefix) {
                    rolled_back
                        .entry(ev.kv.key.as_str())
                        .or_insert(ev.prev.as_ref());
                }
            }
        }
        let lower = match &options.start_after {
            Some(after) if after.as_str() >= prefix => Bound::Excluded(after.as_str()),
            _ => Bound::Included(prefix),
        };
        let limit = options.limit.unwrap_or(usize::MAX);
        let mut items = Vec::new();
        let mut more = false;
        let mut currents = self
            .current
            .range::<str, _>((lower, Bound::Unbounded))
            .take_while(|(k, _)| k.starts_with(prefix))
            .peekable();
        let mut olds = rolled_back
            .range::<str, _>((lower, Bound::Unbounded))
            .peekable();
        loop {
            // Merge two sorted streams; a key in `olds` overrides the current.
            let order = match (currents.peek(), olds.peek()) {
                (None, None) => break,
                (Some(_), None) => Ordering::Less,
                (None, Some(_)) => Ordering::Greater,
                (Some((current, _)), Some((old, _))) => current.as_str().cmp(**old),
            };
            let next = match order {
                Ordering::Less => currents.next().map(|(_, kv)| Some(kv)),
                Ordering::Equal => {
                    currents.next();
                    olds.next().map(|(_, kv)| *kv)
                }
                Ordering::Greater => olds.next().map(|(_, kv)| *kv),
            };
            let Some(kv) = next.flatten() else { continue };
            if items.len() >= limit {
                more = true;
                break;
            }
            items.push(kv.clone());
        }
        Ok(ListResult {
            items,
            revision: at,
            more,
        })
    }

    pub(crate) fn count(&self, prefix: &str) -> usize {
        self.current
            .range::<str, _>((Bound::Included(prefix), Bound::Unbounded))
            .take_while(|(k, _)| k.starts_with(prefix))
            .count()
    }

    /// Up to `max_scan` events after `after`, of which those under `prefix`
    /// are returned.
    pub(crate) fn scan(
        &self,
        prefix: &str,
        after: i64,
        max_scan: usize,
    ) -> Result<Scan, StoreError> {
        if after < self.compacted {
            return Err(StoreError::Compacted {
                requested: after,
                oldest: self.compacted,
            });
        }
        let mut scanned_to = after.max(self.compacted);
        let mut events = Vec::new();
        for ev in self.events_after(after).take(max_scan) {
            scanned_to = ev.revision;
            if ev.kv.key.starts_with(prefix) {
                events.push(Event::clone(ev));
            }
        }
        Ok(Scan {
            events,
            scanned_to,
            complete: scanned_to >= self.revision,
        })
    }

    /// Fails unless a watch from `revision` can be served.
    pub(crate) fn check_watchable(&self, revision: i64) -> Result<(), StoreError> {
        self.check_available(revision)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap: a panic is a failure
mod tests {
    use super::*;
    use bytes::Bytes;

    fn kv(key: &str, value: &str, create: i64, modr: i64) -> KeyValue {
        KeyValue {
            key: key.into(),
            value: Bytes::from(value.to_owned()),
            create_revision: create,
            mod_revision: modr,
        }
    }

    fn put(cache: &mut Cache, key: &str, value: &str) {
        let rev = cache.revision + 1;
        let prev = cache.current.get(key).cloned();
        let create = prev.as_ref().map_or(rev, |p| p.create_revision);
        let ev = Event {
            kind: EventKind::Put,
            kv: kv(key, value, create, rev),
            prev,
            revision: rev,
        };
        cache.apply(vec![Arc::new(ev)]);
    }

    fn del(cache: &mut Cache, key: &str) {
        let rev = cache.revision + 1;
        let Some(prev) = cache.current.get(key).cloned() else {
            panic!("no {key}")
        };
        let ev = Event {
            kind: EventKind::Delete,
            kv: KeyValue {
                mod_revision: rev,
                ..prev.clone()
            },
            prev: Some(prev),
            revision: rev,
        };
        cache.apply(vec![Arc::new(ev)]);
    }

    fn keys(r: &ListResult) -> Vec<(String, String)> {
        r.items
            .iter()
            .map(|kv| {
                (
                    kv.key.clone(),
                    String::from_utf8_lossy(&kv.value).into_owned(),
                )
            })
            .collect()
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn store_cache_list_at_revision_rolls_back_puts_and_deletes() {
        let mut c = Cache::default();
        put(&mut c, "/a/1", "one"); // 1
        put(&mut c, "/a/2", "two"); // 2
        put(&mut c, "/b/1", "other"); // 3
        let at = c.revision;
        put(&mut c, "/a/1", "one-v2"); // 4
        del(&mut c, "/a/2"); // 5
        put(&mut c, "/a/3", "three"); // 6
        put(&mut c, "/a/1", "one-v3"); // 7

        let now = c.list("/a/", &ListOptions::default()).unwrap();
        assert_eq!(keys(&now), pairs(&[("/a/1", "one-v3"), ("/a/3", "three")]));
        assert_eq!(now.revision, 7);

        let old = c
            .list(
                "/a/",
                &ListOptions {
                    at_revision: Some(at),
                    ..Default::default()
                },
            )
            .unwrap();
        assert_eq!(keys(&old), pairs(&[("/a/1", "one"), ("/a/2", "two")]));
        assert_eq!(old.revision, 3);
        assert_eq!(old.items[0].mod_revision, 1);

        let mid = c
            .list(
                "/a/",
                &ListOptions {
                    at_revision: Some(5),
                    ..Default::default()
                },
            )
            .unwrap();
        assert_eq!(keys(&mid), pairs(&[("/a/1", "one-v2")]));

        let empty = c
            .list(
                "/a/",
                &ListOptions {
                    at_revision: Some(0),
                    ..Default::default()
                },
            )
            .unwrap();
        assert!(empty.items.is_empty());
    }

    #[test]
    fn store_cache_list_pages_with_start_after_and_limit() {
        let mut c = Cache::default();
        for i in 0..10 {
            put(&mut c, &format!("/p/{i}"), "v");
        }
        put(&mut c, "/q/0", "v");
        let at = c.revision;
        del(&mut c, "/p/3");
        put(&mut c, "/p/35", "new");

        let mut seen = Vec::new();
        let mut after = None;
        loop {
            let page = c
                .list(
                    "/p/",
                    &ListOptions {
                        at_revision: Some(at),
                        start_after: after.clone(),
                        limit: Some(3),
                    },
                )
                .unwrap();
            assert_eq!(page.revision, at);
            seen.extend(page.items.iter().map(|kv| kv.key.clone()));
            if !page.more {
                break;
            }
            after = page.items.last().map(|kv| kv.key.clone());
        }
        let want: Vec<String> = (0..10).map(|i| format!("/p/{i}")).collect();
        assert_eq!(seen, want);

        let exact = c
            .list(
                "/p/",
                &ListOptions {
                    limit: Some(10),
                    ..Default::default()
                },
            )
            .unwrap();
        assert_eq!(exact.items.len(), 10);
        assert!(!exact.more);
        let short = c
            .list(
                "/p/",
                &ListOptions {
                    limit: Some(9),
                    ..Default::default()
                },
            )
            .unwrap();
        assert!(short.more);
        let zero = c
            .list(
                "/p/",
                &ListOptions {
                    limit: Some(0),
                    ..Default::default()
                },
            )
            .unwrap();
        assert!(zero.items.is_empty());
        assert!(zero.more);
    }

    #[test]
    fn store_cache_start_after_outside_prefix() {
        let mut c = Cache::default();
        put(&mut c, "/p/a", "v");
        put(&mut c, "/p/b", "v");
        let before = c
            .list(
                "/p/",
                &ListOptions {
                    start_after: Some("/a".into()),
                    ..Default::default()
                },
            )
            .unwrap();
        assert_eq!(before.items.len(), 2);
        let beyond = c
            .list(
                "/p/",
                &ListOptions {
                    start_after: Some("/z".into()),
                    ..Default::default()
                },
            )
            .unwrap();
        assert!(beyond.items.is_empty());
        assert!(!beyond.more);
    }

    #[test]
    fn store_cache_compaction_bounds() {
        let mut c = Cache::default();
        for i in 0..10 {
            put(&mut c, &format!("/k/{i}"), "v");
        }
        assert_eq!(c.compaction_target(4), 6);
        c.compact_through(6);
        assert_eq!(c.history.len(), 4);
        assert_eq!(c.history[0].revision, 7);
        let err = c
            .list(
                "/",
                &ListOptions {
                    at_revision: Some(5),
                    ..Default::default()
                },
            )
            .unwrap_err();
        assert!(
            matches!(
                err,
                StoreError::Compacted {
                    requested: 5,
                    oldest: 6
                }
            ),
            "{err:?}"
        );
        let err = c
            .list(
                "/",
                &ListOptions {
                    at_revision: Some(11),
                    ..Default::default()
                },
            )
            .unwrap_err();
        assert!(
            matches!(
                err,
                StoreError::TooLargeResourceVersion {
                    requested: 11,
                    current: 10
                }
            ),
            "{err:?}"
        );
        assert_eq!(
            c.list(
                "/",
                &ListOptions {
                    at_revision: Some(6),
                    ..Default::default()
                }
            )
            .unwrap()
            .items
            .len(),
            6
        );
        assert!(matches!(
            c.scan("/", 5, 100),
            Err(StoreError::Compacted {
                requested: 5,
                oldest: 6
            })
        ));
        let scan = c.scan("/k/8", 6, 100).unwrap();
        assert_eq!(scan.scanned_to, 10);
        assert_eq!(
            scan.events.iter().map(|e| e.revision).collect::<Vec<_>>(),
            vec![9]
        );
        let partial = c.scan("/", 6, 2).unwrap();
        assert_eq!(partial.scanned_to, 8);
        assert_eq!(partial.events.len(), 2);
        assert!(!partial.complete);
        assert!(scan.complete);
        // Compacting everything keeps the current state.
        assert_eq!(c.compaction_target(20), 6);
        assert_eq!(c.compaction_target(0), 10);
        c.compact_through(10);
        assert!(c.history.is_empty());
        assert_eq!(c.count("/k/"), 10);
        assert_eq!(c.scan("/", 10, 100).unwrap().scanned_to, 10);
    }
}
