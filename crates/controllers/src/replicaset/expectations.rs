//! Expectations: the pods a ReplicaSet created or deleted that its pod
//! cache has not shown yet, so a reconcile that runs before the watch
//! catches up does not create or delete the same pods again. Unlike
//! Kubernetes' counters, they remember pod names and are checked against
//! the cache (level-based): an event missed or reordered cannot leave them
//! stuck, and they expire after [`TTL`] as Kubernetes' do. They live in
//! memory only; after a restart the cache's initial list is the truth.

use parking_lot::Mutex;
use std::collections::{HashMap, HashSet};
use std::time::Duration;

/// After this, an unobserved create or delete is forgotten (Kubernetes'
/// `ExpectationsTimeout`).
pub const TTL: Duration = Duration::from_secs(300);

#[derive(Default)]
struct Pending {
    creates: HashSet<String>,
    deletes: HashSet<String>,
    since: Option<tokio::time::Instant>,
}

/// Per-ReplicaSet (key `namespace/name`) pending creates and deletes.
#[derive(Default)]
pub struct Expectations {
    pending: Mutex<HashMap<String, Pending>>,
}

impl Expectations {
    pub fn created(&self, key: &str, pod: &str) {
        let mut all = self.pending.lock();
        let p = all.entry(key.to_string()).or_default();
        p.creates.insert(pod.to_string());
        p.since.get_or_insert_with(tokio::time::Instant::now);
    }

    pub fn deleted(&self, key: &str, pod: &str) {
        let mut all = self.pending.lock();
        let p = all.entry(key.to_string()).or_default();
        p.deletes.insert(pod.to_string());
        p.since.get_or_insert_with(tokio::time::Instant::now);
    }

    /// Whether the cache shows every create and delete of `key`;
    /// `in_cache` tells whether a pod name is in the cache. Observed entries
    /// are dropped.
    pub fn satisfied(&self, key: &str, in_cache: impl Fn(&str) -> bool) -> bool {
        self.satisfied_at(key, in_cache, tokio::time::Instant::now())
    }

    /// Like [`Expectations::satisfied`] for controllers whose pods linger
    /// after a delete (finalizers): `created` tells whether the cache shows
    /// a created pod, `deleted` whether it shows a deleted one gone or
    /// terminating.
    pub fn satisfied_by(&self, key: &str, created: impl Fn(&str) -> bool, deleted: impl Fn(&str) -> bool) -> bool {
        self.check(key, created, deleted, tokio::time::Instant::now())
    }

    fn satisfied_at(&self, key: &str, in_cache: impl Fn(&str) -> bool, now: tokio::time::Instant) -> bool {
        self.check(key, &in_cache, |n| !in_cache(n), now)
    }

    fn check(&self, key: &str, created: impl Fn(&str) -> bool, deleted: impl Fn(&str) -> bool, now: tokio::time::Instant) -> bool {
        let mut all = self.pending.lock();
        let Some(p) = all.get_mut(key) else { return true };
        p.creates.retain(|n| !created(n));
        p.deletes.retain(|n| !deleted(n));
        let expired = p.since.is_some_and(|t| now.duration_since(t) > TTL);
        if p.creates.is_empty() && p.deletes.is_empty() || expired {
            if expired {
                tracing::warn!(replicaset = key, "expectations expired; syncing from the cache");
            }
            all.remove(key);
            return true;
        }
        false
    }

    pub fn forget(&self, key: &str) {
        self.pending.lock().remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rs_expectations_wait_for_the_cache_then_expire() {
        let e = Expectations::default();
        assert!(e.satisfied("ns/rs", |_| false));
        e.created("ns/rs", "p1");
        e.deleted("ns/rs", "p0");
        assert!(!e.satisfied("ns/rs", |n| n == "p0"));
        assert!(!e.satisfied("ns/rs", |n| n == "p1" || n == "p0"));
        assert!(e.satisfied("ns/rs", |n| n == "p1"));
        e.created("ns/rs", "p2");
        assert!(!e.satisfied("ns/rs", |_| false));
        let later = tokio::time::Instant::now() + TTL + Duration::from_secs(1);
        assert!(e.satisfied_at("ns/rs", |_| false, later));
    }
}
