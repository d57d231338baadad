//! Which write an event becomes, as client-go's EventCorrelator decides it
//! for kube-controller-manager, with its default limits:
//!
//! - aggregation: once an object has had [`AGGREGATE_AFTER`] events of the
//!   same type and reason with different messages within
//!   [`AGGREGATE_WINDOW`], further ones fold into one event whose message
//!   starts with "(combined from similar events): " (a ReplicaSet creating
//!   100 pods leaves 9 "Created pod" events and one combined event, not 100);
//! - deduplication: a repeat of the same event bumps `count` and
//!   `lastTimestamp` of the first one instead of writing a new Event;
//! - spam filtering: each object gets a bucket of [`BURST`] writes refilled
//!   one per [`REFILL_EVERY`]; writes beyond it are dropped (their count is
//!   still kept, so the next write that passes reports it).
//!
//! Pure bookkeeping over the caller's clock, so every rule is unit-tested.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

/// Distinct messages of one kind of event before they are combined
/// (client-go's `defaultAggregateMaxEvents`).
pub const AGGREGATE_AFTER: usize = 10;
/// How long similar events count toward combining them
/// (`defaultAggregateIntervalInSeconds`).
pub const AGGREGATE_WINDOW: Duration = Duration::from_secs(600);
/// How long a repeat folds into its first occurrence. Kubernetes keeps the
/// series as long as its LRU cache does; ten minutes is as long as an
/// aggregation record lives.
pub const DEDUP_WINDOW: Duration = Duration::from_secs(600);
/// Writes an object's bucket holds (`defaultSpamBurst`).
pub const BURST: f64 = 25.0;
/// One write comes back to a bucket this often (`defaultSpamQPS`, 1/300).
pub const REFILL_EVERY: Duration = Duration::from_secs(300);
/// How often entries older than their windows are dropped from memory.
const PRUNE_EVERY: Duration = Duration::from_secs(60);
/// Prefix of a combined event's message (client-go's `EventAggregatorByReasonMessageFunc`).
pub const COMBINED: &str = "(combined from similar events): ";

/// The object an event is about, as the spam filter and the aggregator key it.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct Subject {
    pub namespace: String,
    pub kind: String,
    pub name: String,
    pub uid: String,
}

#[derive(Clone, PartialEq, Eq, Hash, Debug)]
struct Kind {
    subject: Subject,
    type_: String,
    reason: String,
}

/// One series of identical events: either a plain message or the
/// combined series of its kind.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
enum SeriesKey {
    Message(Kind, String),
    Combined(Kind),
}

struct Seen {
    /// The Event's name once it was created.
    name: Option<String>,
    count: i32,
    last: jiff::Timestamp,
}

struct Similar {
    messages: HashSet<String>,
    last: jiff::Timestamp,
}

struct Bucket {
    tokens: f64,
    at: jiff::Timestamp,
}

/// What to write for one event.
#[derive(Debug, PartialEq)]
pub enum Write {
    /// A new Event with this message and `count` 1.
    Create { series: Series, message: String },
    /// Bump the existing Event `name`.
    Patch { series: Series, name: String, count: i32, message: String },
    /// Nothing: the object's bucket is empty.
    Drop,
}

/// A series, to report its Event's name back once created.
#[derive(Debug, PartialEq, Clone)]
pub struct Series(SeriesKey);

/// The correlator's memory.
pub struct Correlator {
    series: HashMap<SeriesKey, Seen>,
    similar: HashMap<Kind, Similar>,
    buckets: HashMap<Subject, Bucket>,
    pruned: jiff::Timestamp,
}

fn elapsed(from: jiff::Timestamp, to: jiff::Timestamp) -> Duration {
    to.duration_since(from).unsigned_abs()
}

impl Correlator {
    pub fn new(now: jiff::Timestamp) -> Correlator {
        Correlator { series: HashMap::new(), similar: HashMap::new(), buckets: HashMap::new(), pruned: now }
    }

    /// Decides the write for an event about `subject` at `now`.
    pub fn correlate(&mut self, subject: Subject, type_: &str, reason: &str, message: &str, now: jiff::Timestamp) -> Write {
        self.prune(now);
        let kind = Kind { subject: subject.clone(), type_: type_.to_string(), reason: reason.to_string() };

        let similar = self.similar.entry(kind.clone()).or_insert_with(|| Similar { messages: HashSet::new(), last: now });
        if elapsed(similar.last, now) > AGGREGATE_WINDOW {
            similar.messages.clear();
        }
        similar.last = now;
        similar.messages.insert(message.to_string());
        let (key, message) = if similar.messages.len() < AGGREGATE_AFTER {
            (SeriesKey::Message(kind, message.to_string()), message.to_string())
        } else {
            // Keep the set at the limit, as client-go does.
            if let Some(any) = similar.messages.iter().next().cloned() {
                similar.messages.remove(&any);
            }
            (SeriesKey::Combined(kind), format!("{COMBINED}{message}"))
        };

        let write = match self.series.get_mut(&key) {
            Some(seen) if elapsed(seen.last, now) <= DEDUP_WINDOW => {
                seen.count += 1;
                seen.last = now;
                match &seen.name {
                    Some(name) => Write::Patch { series: Series(key), name: name.clone(), count: seen.count, message },
                    // Its create is still under way: a new Event would
                    // double it, so this occurrence only counts.
                    None => return Write::Drop,
                }
            }
            _ => {
                self.series.insert(key.clone(), Seen { name: None, count: 1, last: now });
                Write::Create { series: Series(key), message }
            }
        };
        if self.take_token(subject, now) {
            return write;
        }
        // A dropped first occurrence leaves no Event to bump later.
        if let Write::Create { series, .. } = &write {
            self.series.remove(&series.0);
        }
        Write::Drop
    }

    /// Records the name of the Event a `Create` made.
    pub fn created(&mut self, series: &Series, name: String) {
        if let Some(seen) = self.series.get_mut(&series.0) {
            seen.name = Some(name);
        }
    }

    /// Forgets a series whose Event is gone (deleted, or its create
    /// failed), so the next occurrence creates a new one.
    pub fn forget(&mut self, series: &Series) {
        self.series.remove(&series.0);
    }

    fn take_token(&mut self, subject: Subject, now: jiff::Timestamp) -> bool {
        let bucket = self.buckets.entry(subject).or_insert(Bucket { tokens: BURST, at: now });
        let refilled = elapsed(bucket.at, now).as_secs_f64() / REFILL_EVERY.as_secs_f64();
        bucket.tokens = (bucket.tokens + refilled).min(BURST);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// Drops what has aged out, at most once a minute: a controller
    /// creating thousands of pods records thousands of distinct events.
    fn prune(&mut self, now: jiff::Timestamp) {
        if elapsed(self.pruned, now) < PRUNE_EVERY {
            return;
        }
        self.pruned = now;
        self.series.retain(|_, s| elapsed(s.last, now) <= DEDUP_WINDOW);
        self.similar.retain(|_, s| elapsed(s.last, now) <= AGGREGATE_WINDOW);
        // A bucket left alone long enough is full again, as a new one is.
        let refill_all = REFILL_EVERY.mul_f64(BURST);
        self.buckets.retain(|_, b| elapsed(b.at, now) < refill_all);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subject(name: &str) -> Subject {
        Subject { namespace: "default".into(), kind: "ReplicaSet".into(), name: name.into(), uid: format!("uid-{name}") }
    }

    fn at(seconds: i64) -> jiff::Timestamp {
        jiff::Timestamp::from_second(1_700_000_000 + seconds).expect("valid time")
    }

    /// Correlates and, for creates, reports the Event's name as the
    /// recorder does.
    fn record(c: &mut Correlator, who: &str, reason: &str, message: &str, now: jiff::Timestamp) -> Write {
        let write = c.correlate(subject(who), "Normal", reason, message, now);
        if let Write::Create { series, .. } = &write {
            c.created(series, format!("{who}.{}", now.as_second()));
        }
        write
    }

    #[test]
    fn events_correlator_folds_repeats_into_a_count() {
        let mut c = Correlator::new(at(0));
        assert!(matches!(record(&mut c, "rs", "Scaled", "up", at(0)), Write::Create { message, .. } if message == "up"));
        assert!(matches!(record(&mut c, "rs", "Scaled", "up", at(1)), Write::Patch { count: 2, .. }));
        assert!(matches!(record(&mut c, "rs", "Scaled", "up", at(2)), Write::Patch { count: 3, .. }));
        // Past the window, a new Event.
        assert!(matches!(record(&mut c, "rs", "Scaled", "up", at(700)), Write::Create { .. }));
    }

    #[test]
    fn events_correlator_combines_similar_events_after_nine() {
        let mut c = Correlator::new(at(0));
        let writes: Vec<Write> = (0..20).map(|i| record(&mut c, "rs", "SuccessfulCreate", &format!("Created pod: p{i}"), at(0))).collect();
        assert!(writes[..9].iter().all(|w| matches!(w, Write::Create { message, .. } if !message.starts_with(COMBINED))));
        assert!(matches!(&writes[9], Write::Create { message, .. } if message == "(combined from similar events): Created pod: p9"));
        assert!(matches!(&writes[10], Write::Patch { count: 2, message, .. } if message == "(combined from similar events): Created pod: p10"));
        assert!(matches!(&writes[19], Write::Patch { count: 11, .. }));
        // Another reason, or another object, is its own kind.
        assert!(matches!(record(&mut c, "rs", "SuccessfulDelete", "Deleted pod: p0", at(0)), Write::Create { .. }));
        assert!(matches!(record(&mut c, "other", "SuccessfulCreate", "Created pod: q", at(0)), Write::Create { .. }));
    }

    #[test]
    fn events_correlator_drops_beyond_the_burst_and_refills() {
        let mut c = Correlator::new(at(0));
        let writes: Vec<Write> = (0..30).map(|i| record(&mut c, "rs", &format!("Reason{i}"), "m", at(0))).collect();
        assert_eq!(writes.iter().filter(|w| **w != Write::Drop).count(), 25);
        assert!(writes[25..].iter().all(|w| *w == Write::Drop));
        // One write comes back every five minutes.
        assert!(matches!(record(&mut c, "rs", "Later", "m", at(299)), Write::Drop));
        assert!(matches!(record(&mut c, "rs", "Later2", "m", at(301)), Write::Create { .. }));
        // Other objects have their own bucket.
        assert!(matches!(record(&mut c, "other", "Reason0", "m", at(300)), Write::Create { .. }));
    }

    #[test]
    fn events_correlator_counts_dropped_repeats() {
        let mut c = Correlator::new(at(0));
        for i in 0..24 {
            record(&mut c, "rs", &format!("Filler{i}"), "m", at(0));
        }
        assert!(matches!(record(&mut c, "rs", "Scaled", "up", at(0)), Write::Create { .. }));
        assert_eq!(record(&mut c, "rs", "Scaled", "up", at(1)), Write::Drop);
        assert_eq!(record(&mut c, "rs", "Scaled", "up", at(2)), Write::Drop);
        // A token is back: the patch reports every occurrence.
        assert!(matches!(record(&mut c, "rs", "Scaled", "up", at(302)), Write::Patch { count: 4, .. }));
    }

    #[test]
    fn events_correlator_forgets_old_state() {
        let mut c = Correlator::new(at(0));
        for i in 0..50 {
            record(&mut c, &format!("rs{i}"), "R", "m", at(0));
        }
        record(&mut c, "late", "R", "m", at(601));
        assert_eq!(c.series.len(), 1);
        assert_eq!(c.similar.len(), 1);
        record(&mut c, "later", "R", "m", at(601 + 7500));
        assert_eq!(c.buckets.len(), 1);
    }
}
