//! The store's error type: every way a store call can fail.

use std::path::PathBuf;

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A create found the key already present.
    #[error("key {key:?} already exists")]
    AlreadyExists { key: String },

    /// An update or delete found no such key.
    #[error("key {key:?} not found")]
    NotFound { key: String },

    /// An update or delete expected another `mod_revision` than the key has.
    #[error("key {key:?} was expected at revision {expected} but is at revision {current}")]
    Conflict {
        key: String,
        expected: i64,
        current: i64,
    },

    /// A watch or list asked for a revision older than the retained history.
    #[error("revision {requested} has been compacted, the oldest available is {oldest}")]
    Compacted { requested: i64, oldest: i64 },

    /// A watch or list asked for a revision the store has not reached.
    #[error("revision {requested} is newer than the current revision {current}")]
    TooLargeResourceVersion { requested: i64, current: i64 },

    /// A key must not be empty.
    #[error("a key must not be empty")]
    EmptyKey,

    /// A value exceeds `StoreOptions::max_value_bytes`.
    #[error("value of key {key:?} has {size} bytes, at most {limit} are allowed")]
    ValueTooLarge {
        key: String,
        size: usize,
        limit: usize,
    },

    /// The store was closed; no more writes are accepted.
    #[error("the store is closed")]
    Closed,

    /// A commit failed; the writes of its batch were not applied.
    #[error("commit failed, writes not applied: {message}")]
    Commit { message: String },

    /// An earlier commit failed in a way that leaves the disk state unknown,
    /// so the store refuses further writes until it is reopened.
    #[error(
        "the store refuses writes after a failed commit left the disk state unknown; reopen it"
    )]
    Poisoned,

    /// The database file could not be opened or initialized.
    #[error("cannot open store database {path}: {source}")]
    Open {
        path: PathBuf,
        source: rusqlite::Error,
    },

    /// The database holds something the store did not write.
    #[error("store database is corrupt: {0}")]
    Corrupt(String),

    /// The writer thread could not be started.
    #[error("cannot start the store writer thread: {0}")]
    Thread(std::io::Error),

    /// A SQLite call failed.
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
}
