//! Counters the writer and the watch streams keep, and their snapshot for
//! a metrics exporter (this crate does not depend on one).

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use parking_lot::Mutex;

/// Upper bounds of the commit latency buckets, in microseconds.
pub const COMMIT_LATENCY_BOUNDS_MICROS: &[u64] = &[
    250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000, 1_000_000,
];

/// A snapshot of the store's counters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreStats {
    /// The current revision.
    pub revision: i64,
    /// Events at or below this revision are gone from the history.
    pub compacted_revision: i64,
    /// Keys in the current state.
    pub keys: usize,
    /// Events in the retained history.
    pub history_events: usize,
    /// Writes acknowledged as successful (each consumed one revision).
    pub writes: u64,
    /// Writes refused by their condition (exists, missing, conflict).
    pub rejected_writes: u64,
    /// Transactions committed (one fsync each), one per batch with a write.
    pub commits: u64,
    /// Batches the writer processed, with or without a commit.
    pub batches: u64,
    /// Commits that failed; their writes were answered with an error.
    pub failed_commits: u64,
    /// Compactions of the history.
    pub compactions: u64,
    /// Duration of the last commit, fsync included.
    pub last_commit_micros: u64,
    /// Commit durations, fsync included.
    pub commit_latency: LatencyHistogram,
    /// Open watch streams.
    pub watchers: usize,
}

/// A latency histogram in Prometheus' shape: cumulative bucket counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LatencyHistogram {
    /// Upper bound of each bucket, in microseconds ([`COMMIT_LATENCY_BOUNDS_MICROS`]).
    pub bounds_micros: &'static [u64],
    /// `cumulative[i]`: observations at or below `bounds_micros[i]`.
    pub cumulative: Vec<u64>,
    /// Observations in all (the `+Inf` bucket).
    pub count: u64,
    /// Sum of all observations, in microseconds.
    pub sum_micros: u64,
}

/// The live counters, updated without locks except for the histogram.
#[derive(Debug, Default)]
pub(crate) struct Stats {
    pub(crate) writes: AtomicU64,
    pub(crate) rejected_writes: AtomicU64,
    pub(crate) commits: AtomicU64,
    pub(crate) batches: AtomicU64,
    pub(crate) failed_commits: AtomicU64,
    pub(crate) compactions: AtomicU64,
    pub(crate) last_commit_micros: AtomicU64,
    pub(crate) watchers: AtomicUsize,
    latency: Mutex<Buckets>,
}

const SLOTS: usize = COMMIT_LATENCY_BOUNDS_MICROS.len() + 1;

#[derive(Debug, Default)]
struct Buckets {
    // Not cumulative; the last slot counts observations above every bound.
    counts: [u64; SLOTS],
    count: u64,
    sum_micros: u64,
}

impl Stats {
    pub(crate) fn observe_commit(&self, took: Duration) {
        let micros = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        self.commits.fetch_add(1, Ordering::Relaxed);
        self.last_commit_micros.store(micros, Ordering::Relaxed);
        let slot = COMMIT_LATENCY_BOUNDS_MICROS
            .iter()
            .position(|b| micros <= *b)
            .unwrap_or(COMMIT_LATENCY_BOUNDS_MICROS.len());
        let mut buckets = self.latency.lock();
        if let Some(c) = buckets.counts.get_mut(slot) {
            *c += 1;
        }
        buckets.count += 1;
        buckets.sum_micros = buckets.sum_micros.saturating_add(micros);
    }

    pub(crate) fn latency(&self) -> LatencyHistogram {
        let buckets = self.latency.lock();
        let cumulative = buckets
            .counts
            .iter()
            .take(COMMIT_LATENCY_BOUNDS_MICROS.len())
            .scan(0u64, |sum, c| {
                *sum += c;
                Some(*sum)
            })
            .collect();
        LatencyHistogram {
            bounds_micros: COMMIT_LATENCY_BOUNDS_MICROS,
            cumulative,
            count: buckets.count,
            sum_micros: buckets.sum_micros,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap: a panic is a failure
mod tests {
    use super::*;

    #[test]
    fn store_stats_histogram_is_cumulative() {
        let s = Stats::default();
        s.observe_commit(Duration::from_micros(100));
        s.observe_commit(Duration::from_micros(700));
        s.observe_commit(Duration::from_secs(5));
        let h = s.latency();
        assert_eq!(h.cumulative.len(), COMMIT_LATENCY_BOUNDS_MICROS.len());
        assert_eq!(&h.cumulative[..3], &[1, 1, 2]);
        assert_eq!(h.cumulative.last(), Some(&2));
        assert_eq!(h.count, 3);
        assert_eq!(h.sum_micros, 5_000_800);
        assert_eq!(s.commits.load(Ordering::Relaxed), 3);
        assert_eq!(s.last_commit_micros.load(Ordering::Relaxed), 5_000_000);
    }
}
