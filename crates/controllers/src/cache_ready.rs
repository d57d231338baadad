//! Waiting for a reflector cache to hold its first full list, safely from
//! many tasks at once.
//!
//! kube-runtime's `Store::wait_until_ready` parks its waiters on a single
//! oneshot receiver, which keeps one waker: when several tasks wait on the
//! same cache (concurrent reconciles, or every subscriber of a shared
//! informer), only the last one to poll is woken and the others wait
//! forever. Here each waiter polls again on a short timer until the cache
//! is ready, so no waiter depends on holding the one waker. Once a cache
//! is ready, the first poll answers at once.

use kube::runtime::reflector::Store;
use kube::runtime::reflector::store::WriterDropped;
use kube::runtime::reflector::Lookup;
use std::hash::Hash;
use std::time::Duration;

/// How long one wait for the cache's waker lasts before polling again.
const REPOLL: Duration = Duration::from_millis(50);

/// Resolves once `store` has listed; errs if its writer is gone first.
pub async fn ready<K>(store: &Store<K>) -> Result<(), WriterDropped>
where
    K: Lookup + Clone + 'static,
    K::DynamicType: Eq + Hash + Clone,
{
    loop {
        if let Ok(result) = tokio::time::timeout(REPOLL, store.wait_until_ready()).await {
            return result;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::ConfigMap;
    use kube::runtime::reflector::store::Writer;
    use kube::runtime::watcher::Event;

    #[tokio::test]
    async fn cache_ready_wakes_every_waiter() {
        let mut writer: Writer<ConfigMap> = Writer::default();
        let store = writer.as_reader();
        let waiters: Vec<_> = (0..8)
            .map(|_| {
                let store = store.clone();
                tokio::spawn(async move { ready(&store).await })
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(20)).await;
        writer.apply_watcher_event(&Event::Init);
        writer.apply_watcher_event(&Event::InitDone);
        for waiter in waiters {
            let outcome = tokio::time::timeout(Duration::from_secs(5), waiter).await;
            assert!(matches!(outcome, Ok(Ok(Ok(())))), "a waiter was never woken");
        }
    }

    #[tokio::test]
    async fn cache_ready_reports_a_dropped_writer() {
        let writer: Writer<ConfigMap> = Writer::default();
        let store = writer.as_reader();
        drop(writer);
        assert!(ready(&store).await.is_err());
    }
}
