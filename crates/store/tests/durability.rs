//! Group commit under concurrency, restart, a randomized model check, and a
//! SIGKILL of a writing child process.

#![allow(clippy::unwrap_used)] // tests may unwrap: a panic is a failure

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use bytes::Bytes;
use futures::StreamExt;
use store::{EventKind, KeyValue, ListOptions, Store, StoreError, StoreOptions};

fn open(path: &Path) -> Store {
    Store::open(path, StoreOptions::default()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_concurrent_writers_get_distinct_revisions_and_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let s = open(&path);
    let tasks: Vec<_> = (0..64)
        .map(|t| {
            let s = s.clone();
            tokio::spawn(async move {
                let mut got = Vec::new();
                for i in 0..100 {
                    let kv = s
                        .create(&format!("/c/{t:02}/{i:03}"), format!("{t}-{i}"))
                        .await
                        .unwrap();
                    got.push(kv.mod_revision);
                }
                got
            })
        })
        .collect();
    let mut revisions = Vec::new();
    for t in tasks {
        let got = t.await.unwrap();
        assert!(
            got.windows(2).all(|w| w[0] < w[1]),
            "one task's revisions must increase"
        );
        revisions.extend(got);
    }
    revisions.sort_unstable();
    assert_eq!(revisions, (1..=6400).collect::<Vec<i64>>());
    let stats = s.stats();
    assert_eq!(stats.writes, 6400);
    assert!(
        stats.commits < 6400,
        "expected group commits, got {} commits",
        stats.commits
    );
    s.close();
    drop(s);

    let s = open(&path);
    assert_eq!(s.current_revision(), 6400);
    assert_eq!(s.count("/c/"), 6400);
    for t in 0..64 {
        for i in 0..100 {
            let kv = s.get(&format!("/c/{t:02}/{i:03}")).unwrap();
            assert_eq!(kv.value, Bytes::from(format!("{t}-{i}")));
        }
    }
    assert_eq!(s.create("/next", "v").await.unwrap().mod_revision, 6401);
}

#[tokio::test]
async fn store_reopen_keeps_revision_data_and_history() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    {
        let s = open(&path);
        s.create("/h/a", "1").await.unwrap(); // 1
        s.create("/h/b", "1").await.unwrap(); // 2
        s.update("/h/a", "2", Some(1)).await.unwrap(); // 3
        s.delete("/h/b", Some(2)).await.unwrap(); // 4
        // Dropping the last handle flushes and closes too.
    }
    let s = open(&path);
    assert_eq!(s.current_revision(), 4);
    assert_eq!(
        s.get("/h/a"),
        Some(KeyValue {
            key: "/h/a".into(),
            value: Bytes::from_static(b"2"),
            create_revision: 1,
            mod_revision: 3
        })
    );
    assert_eq!(s.get("/h/b"), None);

    let old = s
        .list(
            "/h/",
            ListOptions {
                at_revision: Some(2),
                ..Default::default()
            },
        )
        .unwrap();
    let old: Vec<_> = old
        .items
        .iter()
        .map(|kv| (kv.key.as_str(), kv.value.clone(), kv.mod_revision))
        .collect();
    assert_eq!(
        old,
        vec![
            ("/h/a", Bytes::from_static(b"1"), 1),
            ("/h/b", Bytes::from_static(b"1"), 2)
        ]
    );

    let mut w = s.watch("/h/", 1).unwrap();
    let mut seen = Vec::new();
    for _ in 0..3 {
        let ev = w.next().await.unwrap().unwrap();
        seen.push((ev.revision, ev.kind, ev.prev.map(|p| p.mod_revision)));
    }
    assert_eq!(
        seen,
        vec![
            (2, EventKind::Put, None),
            (3, EventKind::Put, Some(1)),
            (4, EventKind::Delete, Some(2))
        ]
    );
    assert_eq!(
        s.update("/h/a", "3", Some(3)).await.unwrap().mod_revision,
        5
    );
}

#[tokio::test]
async fn store_reopen_keeps_compacted_revision() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let options = StoreOptions {
        history_window: 2,
        history_limit: 2,
        ..Default::default()
    };
    {
        let s = Store::open(&path, options.clone()).unwrap();
        for i in 0..6 {
            s.create(&format!("/k/{i}"), "v").await.unwrap();
        }
        assert_eq!(s.compact().await.unwrap(), 4);
        s.close();
    }
    let s = Store::open(&path, options).unwrap();
    assert_eq!((s.current_revision(), s.compacted_revision()), (6, 4));
    assert!(matches!(
        s.watch("/", 3),
        Err(StoreError::Compacted {
            requested: 3,
            oldest: 4
        })
    ));
    let mut w = s.watch("/", 4).unwrap();
    assert_eq!(w.next().await.unwrap().unwrap().revision, 5);
    assert_eq!(s.count("/k/"), 6);
}

/// A tiny xorshift generator: reproducible without a dependency.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

#[tokio::test]
async fn store_randomized_operations_match_a_model() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let options = StoreOptions {
        history_window: 300,
        history_limit: 300,
        ..Default::default()
    };
    let mut s = Store::open(&path, options.clone()).unwrap();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut model: BTreeMap<String, KeyValue> = BTreeMap::new();
    let mut snapshots: Vec<(i64, BTreeMap<String, KeyValue>)> = vec![(0, BTreeMap::new())];
    let mut revision = 0;
    for step in 0..1500 {
        let key = format!("/m/{}/{}", rng.below(3), rng.below(12));
        let stale = rng.below(4) == 0;
        let expected = model.get(&key).map(|kv| {
            if stale {
                kv.mod_revision - 1
            } else {
                kv.mod_revision
            }
        });
        let value = Bytes::from(format!("v{step}"));
        match rng.below(3) {
            0 => match (
                s.create(&key, value.clone()).await,
                model.contains_key(&key),
            ) {
                (Err(StoreError::AlreadyExists { .. }), true) => {}
                (Ok(kv), false) => {
                    revision += 1;
                    assert_eq!(
                        kv,
                        KeyValue {
                            key: key.clone(),
                            value,
                            create_revision: revision,
                            mod_revision: revision
                        }
                    );
                    model.insert(key, kv);
                }
                (got, exists) => panic!("create {key} (exists {exists}): {got:?}"),
            },
            1 => match (
                s.update(&key, value.clone(), expected).await,
                model.get(&key),
            ) {
                (Err(StoreError::NotFound { .. }), None) => {}
                (Err(StoreError::Conflict { current, .. }), Some(old)) if stale => {
                    assert_eq!(current, old.mod_revision)
                }
                (Ok(kv), Some(old)) if !stale => {
                    revision += 1;
                    assert_eq!(
                        (kv.create_revision, kv.mod_revision, &kv.value),
                        (old.create_revision, revision, &value)
                    );
                    model.insert(key, kv);
                }
                (got, old) => panic!("update {key} (stale {stale}, model {old:?}): {got:?}"),
            },
            _ => match (s.delete(&key, expected).await, model.get(&key)) {
                (Err(StoreError::NotFound { .. }), None) => {}
                (Err(StoreError::Conflict { .. }), Some(_)) if stale => {}
                (Ok(kv), Some(old)) if !stale => {
                    revision += 1;
                    assert_eq!(
                        kv,
                        KeyValue {
                            mod_revision: revision,
                            ..old.clone()
                        }
                    );
                    model.remove(&key);
                }
                (got, old) => panic!("delete {key} (stale {stale}, model {old:?}): {got:?}"),
            },
        }
        assert_eq!(s.current_revision(), revision);
        if snapshots.last().is_some_and(|(r, _)| *r != revision) {
            snapshots.push((revision, model.clone()));
        }
        if step == 900 {
            s.close();
            s = Store::open(&path, options.clone()).unwrap();
        }
        if step % 100 == 99 {
            s.compact().await.unwrap();
            let compacted = s.compacted_revision();
            for (at, snap) in &snapshots {
                let prefix = format!("/m/{}/", rng.below(3));
                let got = s.list(
                    &prefix,
                    ListOptions {
                        at_revision: Some(*at),
                        ..Default::default()
                    },
                );
                if *at < compacted {
                    assert!(
                        matches!(got, Err(StoreError::Compacted { .. })),
                        "at {at}: {got:?}"
                    );
                    continue;
                }
                let want: Vec<KeyValue> = snap
                    .range(prefix.clone()..)
                    .take_while(|(k, _)| k.starts_with(&prefix))
                    .map(|(_, v)| v.clone())
                    .collect();
                assert_eq!(got.unwrap().items, want, "list {prefix} at {at}");
            }
        }
    }
    s.close();
    let s = Store::open(&path, options).unwrap();
    let all = s.list("/m/", ListOptions::default()).unwrap();
    assert_eq!(all.items, model.values().cloned().collect::<Vec<_>>());
    assert_eq!(all.revision, revision);
}

const CRASH_DIR: &str = "STORE_CRASH_TEST_DIR";

/// The child half of the crash test: writes until killed, printing each
/// acknowledged write. Does nothing when run on its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_crash_child_writes_until_killed() {
    let Some(dir) = std::env::var_os(CRASH_DIR) else {
        return;
    };
    let s = open(&Path::new(&dir).join("db"));
    let tasks: Vec<_> = (0..8)
        .map(|t| {
            let s = s.clone();
            tokio::spawn(async move {
                for i in 0.. {
                    let key = format!("/crash/{t}/{i}");
                    let kv = s.create(&key, format!("value-{t}-{i}")).await.unwrap();
                    println!("ACK {key} {}", kv.mod_revision);
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
}

#[test]
fn store_crash_sigkill_keeps_every_acknowledged_write() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "store_crash_child_writes_until_killed",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CRASH_DIR, dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut acked = Vec::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        let Some(rest) = line.strip_prefix("ACK ") else {
            continue;
        };
        let (key, rev) = rest.split_once(' ').unwrap();
        acked.push((key.to_owned(), rev.parse::<i64>().unwrap()));
        if acked.len() == 400 {
            break;
        }
    }
    // SIGKILL in the middle of writing.
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(acked.len(), 400, "the child stopped early");

    let s = open(&dir.path().join("db"));
    let current = s.current_revision();
    for (key, rev) in &acked {
        let kv = s
            .get(key)
            .unwrap_or_else(|| panic!("acknowledged {key} lost"));
        assert_eq!(kv.mod_revision, *rev);
        assert!(*rev <= current);
    }
    // Whatever survived is whole: every value matches its key, and the
    // revisions are exactly 1..=current.
    let all = s.list("/crash/", ListOptions::default()).unwrap();
    let mut revisions: Vec<i64> = all.items.iter().map(|kv| kv.mod_revision).collect();
    revisions.sort_unstable();
    assert_eq!(revisions, (1..=current).collect::<Vec<_>>());
    for kv in &all.items {
        let parts: Vec<&str> = kv.key.split('/').collect();
        assert_eq!(
            kv.value,
            Bytes::from(format!("value-{}-{}", parts[2], parts[3]))
        );
    }
}
