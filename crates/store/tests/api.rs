//! The store's operations and their errors, through the public API.

#![allow(clippy::unwrap_used)] // tests may unwrap: a panic is a failure

use std::time::Duration;

use bytes::Bytes;
use store::{KeyValue, ListOptions, Store, StoreError, StoreOptions};

fn open(dir: &tempfile::TempDir) -> Store {
    Store::open(&dir.path().join("store.db"), StoreOptions::default()).unwrap()
}

fn at(revision: i64) -> ListOptions {
    ListOptions {
        at_revision: Some(revision),
        ..Default::default()
    }
}

fn keys(items: &[KeyValue]) -> Vec<&str> {
    items.iter().map(|kv| kv.key.as_str()).collect()
}

#[tokio::test]
async fn store_create_update_delete_roundtrip() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(&dir);
    assert_eq!(s.current_revision(), 0);
    assert_eq!(s.get("/a"), None);

    let created = s.create("/a", Bytes::from_static(b"one")).await.unwrap();
    assert_eq!(
        created,
        KeyValue {
            key: "/a".into(),
            value: Bytes::from_static(b"one"),
            create_revision: 1,
            mod_revision: 1
        }
    );
    assert_eq!(s.get("/a"), Some(created.clone()));
    assert_eq!(s.current_revision(), 1);

    let updated = s.update("/a", b"two".to_vec(), Some(1)).await.unwrap();
    assert_eq!((updated.create_revision, updated.mod_revision), (1, 2));
    assert_eq!(s.get("/a").unwrap().value, Bytes::from_static(b"two"));

    let unconditional = s.update("/a", "three", None).await.unwrap();
    assert_eq!(unconditional.mod_revision, 3);

    let deleted = s.delete("/a", Some(3)).await.unwrap();
    assert_eq!(
        deleted,
        KeyValue {
            key: "/a".into(),
            value: Bytes::from_static(b"three"),
            create_revision: 1,
            mod_revision: 4
        }
    );
    assert_eq!(s.get("/a"), None);
    assert_eq!(s.current_revision(), 4);

    let again = s.create("/a", "four").await.unwrap();
    assert_eq!((again.create_revision, again.mod_revision), (5, 5));
}

#[tokio::test]
async fn store_refused_writes_consume_no_revision() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(&dir);
    s.create("/k", "v").await.unwrap();

    let e = s.create("/k", "v").await.unwrap_err();
    assert!(
        matches!(&e, StoreError::AlreadyExists { key } if key == "/k"),
        "{e:?}"
    );
    assert_eq!(e.to_string(), "key \"/k\" already exists");

    let e = s.update("/missing", "v", None).await.unwrap_err();
    assert!(
        matches!(&e, StoreError::NotFound { key } if key == "/missing"),
        "{e:?}"
    );
    let e = s.update("/missing", "v", Some(1)).await.unwrap_err();
    assert!(matches!(e, StoreError::NotFound { .. }), "{e:?}");

    let e = s.update("/k", "v2", Some(7)).await.unwrap_err();
    assert!(
        matches!(&e, StoreError::Conflict { key, expected: 7, current: 1 } if key == "/k"),
        "{e:?}"
    );
    assert_eq!(
        e.to_string(),
        "key \"/k\" was expected at revision 7 but is at revision 1"
    );

    let e = s.delete("/k", Some(0)).await.unwrap_err();
    assert!(
        matches!(e, StoreError::Conflict { current: 1, .. }),
        "{e:?}"
    );
    let e = s.delete("/missing", None).await.unwrap_err();
    assert!(matches!(e, StoreError::NotFound { .. }), "{e:?}");

    assert_eq!(s.current_revision(), 1);
    assert_eq!(s.get("/k").unwrap().value, Bytes::from_static(b"v"));
    assert_eq!(s.update("/k", "v2", Some(1)).await.unwrap().mod_revision, 2);
    let stats = s.stats();
    assert_eq!((stats.writes, stats.rejected_writes), (2, 6));
}

#[tokio::test]
async fn store_rejects_empty_key_and_large_value() {
    let dir = tempfile::tempdir().unwrap();
    let options = StoreOptions {
        max_value_bytes: 8,
        ..Default::default()
    };
    let s = Store::open(&dir.path().join("db"), options).unwrap();
    assert!(matches!(s.create("", "v").await, Err(StoreError::EmptyKey)));
    assert!(matches!(
        s.update("", "v", None).await,
        Err(StoreError::EmptyKey)
    ));
    assert!(matches!(
        s.delete("", None).await,
        Err(StoreError::EmptyKey)
    ));
    let e = s.create("/k", "123456789").await.unwrap_err();
    assert!(
        matches!(
            e,
            StoreError::ValueTooLarge {
                size: 9,
                limit: 8,
                ..
            }
        ),
        "{e:?}"
    );
    assert_eq!(s.create("/k", "12345678").await.unwrap().mod_revision, 1);
    // Odd but valid keys and empty values are stored as given.
    let odd = "/k/\0/ü/\u{1F600}";
    s.create(odd, "").await.unwrap();
    assert_eq!(s.get(odd).unwrap().value, Bytes::new());
}

#[tokio::test]
async fn store_revisions_strictly_increase() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(&dir);
    let mut last = 0;
    for i in 0..50 {
        let key = format!("/r/{}", i % 7);
        let kv = match s.get(&key) {
            None => s.create(&key, "x").await.unwrap(),
            Some(kv) if i % 3 == 0 => s.delete(&key, Some(kv.mod_revision)).await.unwrap(),
            Some(kv) => s
                .update(&key, format!("{i}"), Some(kv.mod_revision))
                .await
                .unwrap(),
        };
        assert_eq!(kv.mod_revision, last + 1);
        last = kv.mod_revision;
        assert_eq!(s.current_revision(), last);
    }
}

#[tokio::test]
async fn store_list_prefix_sorted_and_at_revision() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(&dir);
    for k in [
        "/reg/pods/b",
        "/reg/pods/a",
        "/reg/podsx/c",
        "/reg/pod",
        "/reg/pods/c",
    ] {
        s.create(k, k.to_string()).await.unwrap();
    }
    let now = s.list("/reg/pods/", ListOptions::default()).unwrap();
    assert_eq!(
        keys(&now.items),
        vec!["/reg/pods/a", "/reg/pods/b", "/reg/pods/c"]
    );
    assert_eq!((now.revision, now.more), (5, false));
    assert_eq!(s.count("/reg/pods/"), 3);
    assert_eq!(s.count("/reg/"), 5);
    assert_eq!(s.count("/nothing/"), 0);

    let pinned = s.current_revision();
    s.delete("/reg/pods/a", None).await.unwrap();
    s.update("/reg/pods/b", "changed", None).await.unwrap();
    s.create("/reg/pods/aa", "new").await.unwrap();

    let old = s.list("/reg/pods/", at(pinned)).unwrap();
    assert_eq!(old.revision, pinned);
    assert_eq!(
        keys(&old.items),
        vec!["/reg/pods/a", "/reg/pods/b", "/reg/pods/c"]
    );
    assert_eq!(old.items[1].value, Bytes::from_static(b"/reg/pods/b"));
    assert_eq!(old.items[1].mod_revision, 1);
    let now = s.list("/reg/pods/", ListOptions::default()).unwrap();
    assert_eq!(
        keys(&now.items),
        vec!["/reg/pods/aa", "/reg/pods/b", "/reg/pods/c"]
    );
    assert_eq!(now.items[1].value, Bytes::from_static(b"changed"));

    let e = s.list("/reg/", at(99)).unwrap_err();
    assert!(
        matches!(
            e,
            StoreError::TooLargeResourceVersion {
                requested: 99,
                current: 8
            }
        ),
        "{e:?}"
    );
    assert_eq!(s.list("/reg/", at(0)).unwrap().items, vec![]);
}

#[tokio::test]
async fn store_list_below_window_is_compacted() {
    let dir = tempfile::tempdir().unwrap();
    let options = StoreOptions {
        history_window: 3,
        history_limit: 3,
        ..Default::default()
    };
    let s = Store::open(&dir.path().join("db"), options).unwrap();
    for i in 0..5 {
        s.create(&format!("/k/{i}"), "v").await.unwrap();
    }
    assert_eq!(s.compact().await.unwrap(), 2);
    assert_eq!(s.compacted_revision(), 2);
    let e = s.list("/k/", at(1)).unwrap_err();
    assert!(
        matches!(
            e,
            StoreError::Compacted {
                requested: 1,
                oldest: 2
            }
        ),
        "{e:?}"
    );
    assert_eq!(
        e.to_string(),
        "revision 1 has been compacted, the oldest available is 2"
    );
    assert_eq!(
        keys(&s.list("/k/", at(2)).unwrap().items),
        vec!["/k/0", "/k/1"]
    );
    assert_eq!(
        s.list("/k/", ListOptions::default()).unwrap().items.len(),
        5
    );
    let stats = s.stats();
    assert_eq!(
        (
            stats.compactions,
            stats.history_events,
            stats.compacted_revision
        ),
        (1, 3, 2)
    );
}

#[tokio::test]
async fn store_history_compacts_on_timer_and_cap() {
    let dir = tempfile::tempdir().unwrap();
    let options = StoreOptions {
        history_window: 4,
        history_limit: 4,
        compaction_interval: Duration::from_millis(20),
        ..Default::default()
    };
    let s = Store::open(&dir.path().join("db"), options).unwrap();
    for i in 0..6 {
        s.create(&format!("/k/{i}"), "v").await.unwrap();
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while s.compacted_revision() != 2 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no timed compaction: {:?}",
            s.stats()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // Past twice the window the writer trims without waiting for the timer.
    let slow = StoreOptions {
        history_window: 4,
        history_limit: 4,
        compaction_interval: Duration::from_secs(3600),
        ..Default::default()
    };
    drop(s);
    let s = Store::open(&dir.path().join("db"), slow).unwrap();
    for i in 6..20 {
        s.create(&format!("/k/{i}"), "v").await.unwrap();
    }
    assert!(s.stats().history_events <= 8, "{:?}", s.stats());
}

#[tokio::test]
async fn store_list_pagination_pinned_while_writing() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(&dir);
    for i in 0..200 {
        s.create(&format!("/p/{i:04}"), "orig").await.unwrap();
    }
    let first = s
        .list(
            "/p/",
            ListOptions {
                limit: Some(25),
                ..Default::default()
            },
        )
        .unwrap();
    let pinned = first.revision;
    assert!(first.more);

    let writer = {
        let s = s.clone();
        tokio::spawn(async move {
            for i in 0..200 {
                let key = format!("/p/{i:04}");
                match i % 3 {
                    0 => drop(s.delete(&key, None).await.unwrap()),
                    1 => drop(s.update(&key, "changed", None).await.unwrap()),
                    _ => drop(s.create(&format!("{key}-new"), "new").await.unwrap()),
                }
                tokio::task::yield_now().await;
            }
        })
    };
    let mut seen: Vec<KeyValue> = first.items;
    let mut more = first.more;
    while more {
        let page = s
            .list(
                "/p/",
                ListOptions {
                    at_revision: Some(pinned),
                    start_after: seen.last().map(|kv| kv.key.clone()),
                    limit: Some(25),
                },
            )
            .unwrap();
        assert_eq!(page.revision, pinned);
        seen.extend(page.items);
        more = page.more;
        tokio::task::yield_now().await;
    }
    writer.await.unwrap();
    let want: Vec<String> = (0..200).map(|i| format!("/p/{i:04}")).collect();
    assert_eq!(
        seen.iter().map(|kv| kv.key.clone()).collect::<Vec<_>>(),
        want
    );
    assert!(
        seen.iter()
            .all(|kv| kv.value == Bytes::from_static(b"orig") && kv.mod_revision <= pinned)
    );
    // The same pages still read the same after all writes landed.
    let whole = s.list("/p/", at(pinned)).unwrap();
    assert_eq!(whole.items, seen);
}

#[tokio::test]
async fn store_list_10000_keys_is_fast() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(&dir);
    let writes: Vec<_> = (0..10_000)
        .map(|i| {
            let s = s.clone();
            tokio::spawn(async move {
                s.create(&format!("/big/ns/{i:05}"), vec![b'x'; 512])
                    .await
                    .unwrap()
            })
        })
        .collect();
    for w in writes {
        w.await.unwrap();
    }
    s.create("/big/other", "v").await.unwrap();
    let mut best = Duration::MAX;
    for _ in 0..5 {
        let started = tokio::time::Instant::now();
        let listed = s.list("/big/ns/", ListOptions::default()).unwrap();
        best = best.min(started.elapsed());
        assert_eq!(listed.items.len(), 10_000);
    }
    // Unoptimized test builds are several times slower than release.
    assert!(
        best < Duration::from_millis(10),
        "listing 10000 keys took {best:?}"
    );
    let pinned = s.current_revision() - 1;
    s.update("/big/ns/00001", "v", None).await.unwrap();
    let mut best = Duration::MAX;
    let mut old = None;
    for _ in 0..3 {
        let started = tokio::time::Instant::now();
        old = Some(s.list("/big/ns/", at(pinned)).unwrap());
        best = best.min(started.elapsed());
    }
    assert!(
        best < Duration::from_millis(10),
        "pinned list took {best:?}"
    );
    let old = old.unwrap();
    assert_eq!(old.items[1].value.len(), 512);
}

#[tokio::test]
async fn store_close_refuses_writes_and_reopens() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let s = Store::open(&path, StoreOptions::default()).unwrap();
    s.create("/k", "v").await.unwrap();
    let clone = s.clone();
    s.close();
    s.close();
    assert!(matches!(
        clone.create("/x", "v").await,
        Err(StoreError::Closed)
    ));
    assert!(matches!(clone.compact().await, Err(StoreError::Closed)));
    // Reads keep working on a closed handle.
    assert_eq!(clone.get("/k").unwrap().mod_revision, 1);
    drop((s, clone));
    let s = Store::open(&path, StoreOptions::default()).unwrap();
    assert_eq!(s.current_revision(), 1);
}

#[test]
fn store_second_open_of_same_file_fails() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let first = Store::open(&path, StoreOptions::default()).unwrap();
    let e = Store::open(&path, StoreOptions::default()).unwrap_err();
    assert!(
        matches!(e, StoreError::Open { .. } | StoreError::Sqlite(_)),
        "{e:?}"
    );
    assert!(e.to_string().contains("locked"), "{e}");
    first.close();
    Store::open(&path, StoreOptions::default()).unwrap();
}

#[test]
fn store_open_in_missing_directory_names_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("no/such/dir/db");
    let e = Store::open(&path, StoreOptions::default()).unwrap_err();
    assert!(matches!(e, StoreError::Open { .. }), "{e:?}");
    assert!(e.to_string().contains("no/such/dir/db"), "{e}");
}

#[tokio::test]
async fn store_stats_count_commits_and_latency() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(&dir);
    for i in 0..3 {
        s.create(&format!("/k/{i}"), "v").await.unwrap();
    }
    let _ = s.create("/k/0", "v").await;
    let stats = s.stats();
    assert_eq!(
        (
            stats.writes,
            stats.rejected_writes,
            stats.commits,
            stats.batches
        ),
        (3, 1, 3, 4)
    );
    assert_eq!(
        (
            stats.revision,
            stats.keys,
            stats.history_events,
            stats.watchers
        ),
        (3, 3, 3, 0)
    );
    assert_eq!(stats.commit_latency.count, 3);
    assert!(stats.last_commit_micros > 0);
    let w = s.watch("/", 0).unwrap();
    assert_eq!(s.stats().watchers, 1);
    drop(w);
    assert_eq!(s.stats().watchers, 0);
}

#[tokio::test]
async fn store_change_marker_moves_only_for_its_prefix() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(&dir);
    s.create("/other/x", Bytes::from_static(b"1")).await.unwrap();
    let marker = s.change_marker("/rbac/");
    assert_eq!(marker.revision(), 1, "starts at the store's revision");
    s.create("/other/y", Bytes::from_static(b"1")).await.unwrap();
    assert_eq!(marker.revision(), 1);
    let kv = s.create("/rbac/a", Bytes::from_static(b"1")).await.unwrap();
    assert_eq!(marker.revision(), kv.mod_revision, "moved before the write was acknowledged");
    s.create("/rbac", Bytes::from_static(b"1")).await.unwrap();
    assert_eq!(marker.revision(), kv.mod_revision, "a key equal to a prefix without its slash is outside");
    let deleted = s.delete("/rbac/a", None).await.unwrap();
    assert_eq!(marker.revision(), deleted.mod_revision, "deletes count");
    assert_eq!(s.change_marker("/rbac/").revision(), marker.revision(), "one marker per prefix");
}
