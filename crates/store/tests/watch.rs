//! Watch streams: replay from history, live events, compaction, close.

#![allow(clippy::unwrap_used)] // tests may unwrap: a panic is a failure

use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use store::{Event, EventKind, Store, StoreError, StoreOptions, WatchStream};

fn open(dir: &tempfile::TempDir, window: usize) -> Store {
    let options = StoreOptions {
        history_window: window,
        history_limit: window,
        ..Default::default()
    };
    Store::open(&dir.path().join("store.db"), options).unwrap()
}

async fn next(w: &mut WatchStream) -> Event {
    match tokio::time::timeout(Duration::from_secs(5), w.next()).await {
        Ok(Some(Ok(ev))) => ev,
        other => panic!("expected an event, got {other:?}"),
    }
}

async fn idle(w: &mut WatchStream) {
    if let Ok(got) = tokio::time::timeout(Duration::from_millis(50), w.next()).await {
        panic!("expected no event, got {got:?}");
    }
}

#[tokio::test]
async fn store_watch_replays_missed_events_then_live_ones() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(&dir, 100);
    s.create("/w/a", "1").await.unwrap(); // 1
    s.create("/w/b", "1").await.unwrap(); // 2
    s.update("/w/a", "2", None).await.unwrap(); // 3
    s.create("/x/a", "1").await.unwrap(); // 4
    s.delete("/w/b", None).await.unwrap(); // 5

    let mut w = s.watch("/w/", 1).unwrap();
    let ev = next(&mut w).await;
    assert_eq!(
        (ev.kind, ev.kv.key.as_str(), ev.revision),
        (EventKind::Put, "/w/b", 2)
    );
    assert_eq!(ev.prev, None);
    let ev = next(&mut w).await;
    assert_eq!(
        (ev.kind, ev.kv.key.as_str(), ev.revision),
        (EventKind::Put, "/w/a", 3)
    );
    assert_eq!(
        ev.prev.as_ref().map(|p| (p.value.clone(), p.mod_revision)),
        Some((Bytes::from_static(b"1"), 1))
    );
    let ev = next(&mut w).await;
    assert_eq!(
        (ev.kind, ev.kv.key.as_str(), ev.revision),
        (EventKind::Delete, "/w/b", 5)
    );
    assert_eq!(
        (
            ev.kv.value.clone(),
            ev.kv.mod_revision,
            ev.kv.create_revision
        ),
        (Bytes::from_static(b"1"), 5, 2)
    );
    assert_eq!(ev.prev.as_ref().map(|p| p.mod_revision), Some(2));
    idle(&mut w).await;
    assert_eq!(w.progress_revision(), 5);

    s.create("/x/b", "1").await.unwrap(); // 6, other prefix
    s.create("/w/c", "1").await.unwrap(); // 7
    let ev = next(&mut w).await;
    assert_eq!((ev.kv.key.as_str(), ev.revision), ("/w/c", 7));
    idle(&mut w).await;
    s.create("/x/c", "1").await.unwrap(); // 8
    idle(&mut w).await;
    assert_eq!(w.progress_revision(), 8);
}

#[tokio::test]
async fn store_watch_from_current_sees_only_new_events() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(&dir, 100);
    s.create("/a", "1").await.unwrap();
    let mut w = s.watch("", s.current_revision()).unwrap();
    idle(&mut w).await;
    s.update("/a", "2", None).await.unwrap();
    assert_eq!(next(&mut w).await.revision, 2);
    let e = s.watch("", 3).unwrap_err();
    assert!(
        matches!(
            e,
            StoreError::TooLargeResourceVersion {
                requested: 3,
                current: 2
            }
        ),
        "{e:?}"
    );
}

#[tokio::test]
async fn store_watch_below_window_is_compacted() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(&dir, 2);
    for i in 0..5 {
        s.create(&format!("/k/{i}"), "v").await.unwrap();
    }
    assert_eq!(s.compact().await.unwrap(), 3);
    let e = s.watch("/k/", 2).unwrap_err();
    assert!(
        matches!(
            e,
            StoreError::Compacted {
                requested: 2,
                oldest: 3
            }
        ),
        "{e:?}"
    );
    let mut w = s.watch("/k/", 3).unwrap();
    assert_eq!(next(&mut w).await.revision, 4);
    assert_eq!(next(&mut w).await.revision, 5);
}

#[tokio::test]
async fn store_watch_slow_watcher_catches_up_from_history() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(&dir, 10_000);
    let mut slow = s.watch("/k/", 0).unwrap();
    let mut fast = s.watch("/k/", 0).unwrap();
    for i in 0..3000 {
        s.create(&format!("/k/{i}"), "v").await.unwrap();
        if i % 2 == 0 {
            s.create(&format!("/other/{i}"), "v").await.unwrap();
        }
        let ev = next(&mut fast).await;
        assert_eq!(ev.kv.key, format!("/k/{i}"));
    }
    // The slow one read nothing so far and still gets every event in order.
    let mut last = 0;
    for i in 0..3000 {
        let ev = next(&mut slow).await;
        assert_eq!(ev.kv.key, format!("/k/{i}"));
        assert!(ev.revision > last);
        last = ev.revision;
    }
    idle(&mut slow).await;
}

#[tokio::test]
async fn store_watch_slow_watcher_behind_compaction_ends_with_compacted() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(&dir, 5);
    s.create("/k/first", "v").await.unwrap();
    let mut slow = s.watch("/k/", 0).unwrap();
    assert_eq!(next(&mut slow).await.revision, 1);
    for i in 0..20 {
        s.create(&format!("/k/{i}"), "v").await.unwrap();
    }
    s.compact().await.unwrap();
    match tokio::time::timeout(Duration::from_secs(5), slow.next()).await {
        Ok(Some(Err(StoreError::Compacted {
            requested: 1,
            oldest: 16,
        }))) => {}
        other => panic!("expected compacted, got {other:?}"),
    }
    assert!(slow.next().await.is_none());
}

#[tokio::test]
async fn store_watch_stream_ends_when_store_closes() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(&dir, 100);
    let mut w = s.watch("/", 0).unwrap();
    s.create("/a", "v").await.unwrap();
    let closer = s.clone();
    tokio::task::spawn_blocking(move || closer.close())
        .await
        .unwrap();
    assert_eq!(next(&mut w).await.revision, 1);
    let end = tokio::time::timeout(Duration::from_secs(5), w.next())
        .await
        .unwrap();
    assert!(end.is_none(), "{end:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_watch_many_watchers_see_every_event_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(&dir, 100_000);
    let start = s.current_revision();
    let watchers: Vec<_> = (0..16)
        .map(|_| {
            let mut w = s.watch("/c/", start).unwrap();
            tokio::spawn(async move {
                let mut revisions = Vec::new();
                while revisions.len() < 800 {
                    revisions.push(next(&mut w).await.revision);
                }
                revisions
            })
        })
        .collect();
    let writers: Vec<_> = (0..8)
        .map(|t| {
            let s = s.clone();
            tokio::spawn(async move {
                for i in 0..100 {
                    s.create(&format!("/c/{t}/{i}"), "v").await.unwrap();
                }
            })
        })
        .collect();
    for w in writers {
        w.await.unwrap();
    }
    let want: Vec<i64> = (1..=800).collect();
    for w in watchers {
        assert_eq!(w.await.unwrap(), want);
    }
}

#[tokio::test]
async fn store_watch_history_waits_for_open_watchers_up_to_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    let options = StoreOptions {
        history_window: 5,
        history_limit: 30,
        ..Default::default()
    };
    let s = Store::open(&dir.path().join("store.db"), options).unwrap();
    s.create("/k/first", "v").await.unwrap(); // 1
    let mut slow = s.watch("/k/", 0).unwrap();
    assert_eq!(next(&mut slow).await.revision, 1);
    for i in 0..20 {
        s.create(&format!("/k/{i}"), "v").await.unwrap(); // 2..=21
    }
    // The slow watcher has read through 1: everything after stays.
    assert_eq!(s.compact().await.unwrap(), 1);
    for want in 2..=21 {
        assert_eq!(next(&mut slow).await.revision, want);
    }
    // Caught up: the history shrinks to the window.
    assert_eq!(s.compact().await.unwrap(), 16);
    // Past the limit, the watcher is cut off.
    for i in 0..40 {
        s.create(&format!("/k/more-{i}"), "v").await.unwrap(); // 22..=61
    }
    assert_eq!(s.compact().await.unwrap(), 31, "at most 30 events kept");
    match tokio::time::timeout(Duration::from_secs(5), slow.next()).await {
        Ok(Some(Err(StoreError::Compacted { requested: 21, oldest: 31 }))) => {}
        other => panic!("expected compacted, got {other:?}"),
    }
    // A closed watcher holds nothing.
    drop(slow);
    assert_eq!(s.compact().await.unwrap(), 56);
}

#[tokio::test]
async fn store_watch_paginated_list_keeps_its_revision() {
    let dir = tempfile::tempdir().unwrap();
    let options = StoreOptions {
        history_window: 2,
        history_limit: 100,
        ..Default::default()
    };
    let s = Store::open(&dir.path().join("store.db"), options).unwrap();
    for i in 0..10 {
        s.create(&format!("/p/{i}"), "v").await.unwrap(); // 1..=10
    }
    let first = s
        .list("/p/", store::ListOptions { limit: Some(4), ..Default::default() })
        .unwrap();
    assert!(first.more);
    for i in 0..10 {
        s.update(&format!("/p/{i}"), "changed", None).await.unwrap(); // 11..=20
    }
    assert_eq!(s.compact().await.unwrap(), 10, "kept for the list's next page");
    let next_page = s
        .list(
            "/p/",
            store::ListOptions {
                at_revision: Some(first.revision),
                start_after: first.items.last().map(|kv| kv.key.clone()),
                limit: Some(4),
            },
        )
        .unwrap();
    assert_eq!(next_page.items.len(), 4);
    assert!(next_page.items.iter().all(|kv| kv.value.as_ref() == b"v"));
}
