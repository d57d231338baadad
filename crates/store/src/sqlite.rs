//! The on-disk form: schema, opening in WAL mode, loading the cache, and the
//! statements of a batch commit and of a compaction.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use crate::cache::Cache;
use crate::{Event, EventKind, KeyValue, StoreError};

const SCHEMA_VERSION: i64 = 1;

// `kv` is the current state; `log` the retained events (with the previous
// value, so lists can be rolled back after a restart); `meta` the revision
// counters, written in the same transaction as the data they describe.
const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS kv (
    key TEXT PRIMARY KEY NOT NULL,
    value BLOB NOT NULL,
    create_revision INTEGER NOT NULL,
    mod_revision INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS log (
    revision INTEGER PRIMARY KEY NOT NULL,
    kind INTEGER NOT NULL,
    key TEXT NOT NULL,
    value BLOB NOT NULL,
    create_revision INTEGER NOT NULL,
    prev_value BLOB,
    prev_create_revision INTEGER,
    prev_mod_revision INTEGER
);
CREATE TABLE IF NOT EXISTS meta (
    name TEXT PRIMARY KEY NOT NULL,
    value INTEGER NOT NULL
) WITHOUT ROWID;
INSERT OR IGNORE INTO meta (name, value) VALUES ('schema', 1), ('revision', 0), ('compacted', 0);
";

const KIND_PUT: i64 = 0;
const KIND_DELETE: i64 = 1;

/// Opens (creating if needed) the database with durable settings.
pub(crate) fn open(path: &Path) -> Result<Connection, StoreError> {
    let wrap = |source| StoreError::Open {
        path: path.to_owned(),
        source,
    };
    let conn = Connection::open(path).map_err(wrap)?;
    // Exclusive locking: one process owns the store; a second one fails at
    // once instead of interleaving writes with its own revision counter.
    conn.pragma_update(None, "locking_mode", "EXCLUSIVE")
        .map_err(wrap)?;
    // Nothing else may hold the lock, so waiting for it only delays the error.
    conn.busy_timeout(std::time::Duration::ZERO).map_err(wrap)?;
    let mode: String = conn
        .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
        .map_err(wrap)?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::Corrupt(format!(
            "expected journal mode wal, the database stays in {mode}"
        )));
    }
    // FULL syncs the WAL on every commit: an acknowledged write is durable.
    conn.pragma_update(None, "synchronous", "FULL")
        .map_err(wrap)?;
    conn.execute_batch(SCHEMA).map_err(wrap)?;
    let schema = meta(&conn, "schema")?;
    if schema != SCHEMA_VERSION {
        return Err(StoreError::Corrupt(format!(
            "expected schema version {SCHEMA_VERSION}, found {schema}"
        )));
    }
    Ok(conn)
}

fn meta(conn: &Connection, name: &str) -> Result<i64, StoreError> {
    conn.query_row("SELECT value FROM meta WHERE name = ?1", [name], |row| {
        row.get(0)
    })
    .optional()?
    .ok_or_else(|| StoreError::Corrupt(format!("meta row {name:?} is missing")))
}

/// The revision the database has committed.
pub(crate) fn stored_revision(conn: &Connection) -> Result<i64, StoreError> {
    meta(conn, "revision")
}

/// Rebuilds the cache: current state, counters and retained history.
pub(crate) fn load(conn: &Connection) -> Result<Cache, StoreError> {
    let revision = meta(conn, "revision")?;
    let compacted = meta(conn, "compacted")?;
    if compacted > revision || compacted < 0 {
        return Err(StoreError::Corrupt(format!(
            "compacted revision {compacted} is outside 0..={revision}"
        )));
    }
    let mut current = BTreeMap::new();
    let mut stmt = conn.prepare("SELECT key, value, create_revision, mod_revision FROM kv")?;
    let rows = stmt.query_map([], |row| {
        Ok(KeyValue {
            key: row.get(0)?,
            value: Bytes::from(row.get::<_, Vec<u8>>(1)?),
            create_revision: row.get(2)?,
            mod_revision: row.get(3)?,
        })
    })?;
    for kv in rows {
        let kv = kv?;
        if kv.mod_revision > revision {
            return Err(StoreError::Corrupt(format!(
                "key {:?} has mod revision {} beyond the store revision {revision}",
                kv.key, kv.mod_revision
            )));
        }
        current.insert(kv.key.clone(), kv);
    }

    let mut history = VecDeque::new();
    let mut latest = HashMap::new();
    let mut stmt = conn.prepare(
        "SELECT revision, kind, key, value, create_revision, prev_value, prev_create_revision, prev_mod_revision
         FROM log WHERE revision > ?1 ORDER BY revision",
    )?;
    let rows = stmt.query_map([compacted], |row| {
        let revision: i64 = row.get(0)?;
        let kind: i64 = row.get(1)?;
        let key: String = row.get(2)?;
        let kv = KeyValue {
            key: key.clone(),
            value: Bytes::from(row.get::<_, Vec<u8>>(3)?),
            create_revision: row.get(4)?,
            mod_revision: revision,
        };
        let prev = match (
            row.get::<_, Option<Vec<u8>>>(5)?,
            row.get::<_, Option<i64>>(6)?,
            row.get::<_, Option<i64>>(7)?,
        ) {
            (Some(value), Some(create_revision), Some(mod_revision)) => Some(KeyValue {
                key,
                value: Bytes::from(value),
                create_revision,
                mod_revision,
            }),
            _ => None,
        };
        Ok((
            kind,
            Event {
                kind: EventKind::Put,
                kv,
                prev,
                revision,
            },
        ))
    })?;
    for row in rows {
        let (kind, mut event) = row?;
        let expected = compacted + 1 + history.len() as i64;
        if event.revision != expected {
            return Err(StoreError::Corrupt(format!(
                "expected event revision {expected} in the log, found {}",
                event.revision
            )));
        }
        event.kind = match kind {
            KIND_PUT => EventKind::Put,
            KIND_DELETE => EventKind::Delete,
            other => {
                return Err(StoreError::Corrupt(format!(
                    "expected event kind 0 or 1, found {other}"
                )));
            }
        };
        share_values(&mut event, &mut latest);
        history.push_back(Arc::new(event));
    }
    for kv in current.values_mut() {
        if let Some((mod_revision, value)) = latest.get(&kv.key)
            && *mod_revision == kv.mod_revision
            && *value == kv.value
        {
            kv.value = value.clone();
        }
    }
    let retained = compacted + history.len() as i64;
    if retained != revision {
        return Err(StoreError::Corrupt(format!(
            "expected the log to reach revision {revision} from {compacted}, it reaches {retained}"
        )));
    }
    Ok(Cache {
        current,
        history,
        revision,
        compacted,
        markers: Vec::new(),
    })
}

/// Makes `event` share value buffers with the key's previous event, as
/// the events the writer makes do, so a restart does not double the memory
/// the history takes. `latest` holds each key's last event value.
fn share_values(event: &mut Event, latest: &mut HashMap<String, (i64, Bytes)>) {
    if let Some(prev) = &mut event.prev
        && let Some((mod_revision, value)) = latest.get(&prev.key)
        && *mod_revision == prev.mod_revision
        && *value == prev.value
    {
        prev.value = value.clone();
    }
    if let (EventKind::Delete, Some(prev)) = (event.kind, &event.prev)
        && prev.value == event.kv.value
    {
        event.kv.value = prev.value.clone();
    }
    latest.insert(
        event.kv.key.clone(),
        (event.kv.mod_revision, event.kv.value.clone()),
    );
}

/// Writes one batch of events and the new revision in one transaction.
pub(crate) fn commit(
    conn: &mut Connection,
    events: &[Arc<Event>],
    revision: i64,
) -> Result<(), rusqlite::Error> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    {
        let mut upsert = tx.prepare_cached(
            "INSERT INTO kv (key, value, create_revision, mod_revision) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value,
                 create_revision = excluded.create_revision, mod_revision = excluded.mod_revision",
        )?;
        let mut remove = tx.prepare_cached("DELETE FROM kv WHERE key = ?1")?;
        let mut log = tx.prepare_cached(
            "INSERT INTO log (revision, kind, key, value, create_revision, prev_value, prev_create_revision, prev_mod_revision)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )?;
        for ev in events {
            let kv = &ev.kv;
            let kind = match ev.kind {
                EventKind::Put => {
                    upsert.execute(params![
                        kv.key,
                        kv.value.as_ref(),
                        kv.create_revision,
                        kv.mod_revision
                    ])?;
                    KIND_PUT
                }
                EventKind::Delete => {
                    remove.execute([&kv.key])?;
                    KIND_DELETE
                }
            };
            let prev = ev.prev.as_ref();
            log.execute(params![
                ev.revision,
                kind,
                kv.key,
                kv.value.as_ref(),
                kv.create_revision,
                prev.map(|p| p.value.as_ref()),
                prev.map(|p| p.create_revision),
                prev.map(|p| p.mod_revision),
            ])?;
        }
        tx.prepare_cached("UPDATE meta SET value = ?1 WHERE name = 'revision'")?
            .execute([revision])?;
    }
    tx.commit()
}

/// Deletes the log through `revision` and records it as compacted.
pub(crate) fn compact(conn: &mut Connection, revision: i64) -> Result<(), rusqlite::Error> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.execute("DELETE FROM log WHERE revision <= ?1", [revision])?;
    tx.execute(
        "UPDATE meta SET value = ?1 WHERE name = 'compacted'",
        [revision],
    )?;
    tx.commit()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap: a panic is a failure
mod tests {
    use super::*;

    fn event(
        kind: EventKind,
        key: &str,
        value: &'static str,
        revision: i64,
        prev: Option<KeyValue>,
    ) -> Arc<Event> {
        let create_revision = prev.as_ref().map_or(revision, |p| p.create_revision);
        let kv = KeyValue {
            key: key.into(),
            value: Bytes::from_static(value.as_bytes()),
            create_revision,
            mod_revision: revision,
        };
        Arc::new(Event {
            kind,
            kv,
            prev,
            revision,
        })
    }

    fn three_events(conn: &mut Connection) -> Vec<Arc<Event>> {
        let a1 = event(EventKind::Put, "/a", "1", 1, None);
        let a2 = event(EventKind::Put, "/a", "2", 2, Some(a1.kv.clone()));
        let a3 = event(EventKind::Delete, "/a", "2", 3, Some(a2.kv.clone()));
        let b4 = event(EventKind::Put, "/b", "1", 4, None);
        commit(conn, &[a1.clone(), a2.clone()], 2).unwrap();
        commit(conn, &[a3.clone(), b4.clone()], 4).unwrap();
        vec![a1, a2, a3, b4]
    }

    #[test]
    fn store_sqlite_open_is_wal_with_full_sync() {
        let dir = tempfile::tempdir().unwrap();
        let conn = open(&dir.path().join("db")).unwrap();
        let mode: String = conn
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        let sync: i64 = conn
            .query_row("PRAGMA synchronous", [], |r| r.get(0))
            .unwrap();
        assert_eq!((mode.as_str(), sync), ("wal", 2));
    }

    #[test]
    fn store_sqlite_commit_load_and_compact_roundtrip() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = open(&dir.path().join("db")).unwrap();
        let events = three_events(&mut conn);
        let cache = load(&conn).unwrap();
        assert_eq!((cache.revision, cache.compacted), (4, 0));
        assert_eq!(
            cache
                .history
                .iter()
                .map(|e| e.as_ref().clone())
                .collect::<Vec<_>>(),
            events
                .iter()
                .map(|e| e.as_ref().clone())
                .collect::<Vec<_>>()
        );
        assert_eq!(cache.current.keys().collect::<Vec<_>>(), vec!["/b"]);
        // Buffers are shared as the writer shares them.
        let ptr = |b: &Bytes| b.as_ptr();
        let prev_of = |i: usize| cache.history[i].prev.as_ref().map(|p| ptr(&p.value));
        assert_eq!(prev_of(1), Some(ptr(&cache.history[0].kv.value)));
        assert_eq!(prev_of(2), Some(ptr(&cache.history[1].kv.value)));
        assert_eq!(
            ptr(&cache.history[2].kv.value),
            ptr(&cache.history[1].kv.value)
        );
        assert_eq!(
            ptr(&cache.current["/b"].value),
            ptr(&cache.history[3].kv.value)
        );

        compact(&mut conn, 2).unwrap();
        let cache = load(&conn).unwrap();
        assert_eq!(
            (cache.revision, cache.compacted, cache.history.len()),
            (4, 2, 2)
        );
        assert_eq!(cache.history[0].kind, EventKind::Delete);
        assert_eq!(stored_revision(&conn).unwrap(), 4);
    }

    #[test]
    fn store_sqlite_load_rejects_inconsistent_files() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = open(&dir.path().join("db")).unwrap();
        three_events(&mut conn);
        conn.execute("DELETE FROM log WHERE revision = 2", [])
            .unwrap();
        let e = load(&conn).unwrap_err();
        assert_eq!(
            e.to_string(),
            "store database is corrupt: expected event revision 2 in the log, found 3"
        );

        conn.execute("DELETE FROM log WHERE revision > 1", [])
            .unwrap();
        let e = load(&conn).unwrap_err();
        assert_eq!(
            e.to_string(),
            "store database is corrupt: expected the log to reach revision 4 from 0, it reaches 1"
        );

        conn.execute("UPDATE meta SET value = 7 WHERE name = 'schema'", [])
            .unwrap();
        drop(conn);
        let e = open(&dir.path().join("db")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "store database is corrupt: expected schema version 1, found 7"
        );
    }
}
