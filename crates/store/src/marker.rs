//! Change markers: the revision of the latest write under a key prefix,
//! readable in one atomic load. A cache built from the keys under a prefix
//! compares it with the revision it was built at to know, without a watch
//! and without lag, whether it is still current.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

/// The latest revision at which a key under its prefix was written or
/// deleted. It is updated before the write is acknowledged, so a reader
/// that sees a write's answer also sees the marker move.
#[derive(Clone, Debug)]
pub struct ChangeMarker {
    pub(crate) prefix: Arc<str>,
    pub(crate) revision: Arc<AtomicI64>,
}

impl ChangeMarker {
    pub(crate) fn new(prefix: &str, revision: i64) -> ChangeMarker {
        ChangeMarker { prefix: prefix.into(), revision: Arc::new(AtomicI64::new(revision)) }
    }

    /// The revision of the last change under the prefix (at first, the
    /// store's revision when the marker was made).
    pub fn revision(&self) -> i64 {
        self.revision.load(Ordering::Acquire)
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    pub(crate) fn saw(&self, key: &str, revision: i64) {
        if key.starts_with(&*self.prefix) {
            self.revision.fetch_max(revision, Ordering::AcqRel);
        }
    }
}
