//! The node's image garbage collection, as the kubelet's image manager
//! runs it: every five minutes, when the disk the image store is on is
//! at or over `imageGCHighThresholdPercent`, images no pod of this node
//! uses go, least recently used first, until the disk is under the low
//! threshold (`image::gc` decides and removes). Images in use are those
//! of the pods the agent runs, whatever state their containers are in.

use image::gc::{self, Policy};
use image::Store;
use k8s_openapi::api::core::v1::Pod;
use parking_lot::Mutex;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

/// The kubelet's image GC period.
const PERIOD: Duration = Duration::from_secs(5 * 60);

/// The images of the pods bound to this node, by pod uid.
#[derive(Default)]
pub struct InUse(Mutex<HashMap<String, Vec<String>>>);

impl InUse {
    pub fn set(&self, pod: &Pod) {
        let uid = pod.metadata.uid.clone().unwrap_or_default();
        let spec = pod.spec.as_ref();
        let images = spec
            .into_iter()
            .flat_map(|s| s.containers.iter().chain(s.init_containers.iter().flatten()))
            .filter_map(|c| c.image.clone())
            .collect();
        self.0.lock().insert(uid, images);
    }

    pub fn forget(&self, uid: &str) {
        self.0.lock().remove(uid);
    }

    /// Keeps only the pods in `uids`.
    pub fn retain(&self, uids: &HashSet<String>) {
        self.0.lock().retain(|uid, _| uids.contains(uid));
    }

    pub fn names(&self) -> HashSet<String> {
        self.0.lock().values().flatten().cloned().collect()
    }
}

/// Collects now and then until the agent ends.
pub fn spawn(store: Store, policy: Policy, in_use: Arc<InUse>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(PERIOD).await;
            let (store, policy, names) = (store.clone(), policy.clone(), in_use.names());
            match tokio::task::spawn_blocking(move || gc::collect(&store, &policy, &names)).await {
                Ok(Ok(done)) if !done.plan.remove.is_empty() => {
                    tracing::info!(removed = done.plan.remove.len(), freed = done.plan.frees, disk_percent = done.usage.percent(), "image GC");
                }
                Ok(Ok(_)) => {}
                Ok(Err(error)) => tracing::warn!(%error, "image GC failed"),
                Err(error) => tracing::warn!(%error, "image GC panicked"),
            }
        }
    })
}

/// Removes every image no pod of the node uses (used longer ago than the
/// policy's minimum age), whatever the disk's usage: the eviction
/// manager's reclaim under disk pressure, before it evicts a pod. Says
/// how many bytes went.
pub fn reclaim(store: &Store, policy: &Policy, in_use: &InUse) -> Result<u64, image::gc::Error> {
    let everything = Policy { high_threshold_percent: 0, low_threshold_percent: 0, ..policy.clone() };
    let done = gc::collect(store, &everything, &in_use.names())?;
    Ok(done.plan.frees.saturating_add(done.pruned.bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(uid: &str, images: &[&str], init: &[&str]) -> Pod {
        serde_json::from_value(serde_json::json!({
            "metadata": {"uid": uid, "name": uid},
            "spec": {
                "containers": images.iter().enumerate().map(|(i, im)| serde_json::json!({"name": format!("c{i}"), "image": im})).collect::<Vec<_>>(),
                "initContainers": init.iter().enumerate().map(|(i, im)| serde_json::json!({"name": format!("i{i}"), "image": im})).collect::<Vec<_>>(),
            },
        }))
        .expect("a pod")
    }

    #[test]
    fn image_gc_in_use_follows_the_node_pods() {
        let in_use = InUse::default();
        in_use.set(&pod("a", &["nginx:1", "busybox"], &["alpine"]));
        in_use.set(&pod("b", &["redis"], &[]));
        assert_eq!(in_use.names(), ["nginx:1", "busybox", "alpine", "redis"].map(String::from).into());
        in_use.forget("a");
        assert_eq!(in_use.names(), ["redis".to_string()].into());
        in_use.set(&pod("a", &["nginx:2"], &[]));
        in_use.retain(&["a".to_string()].into());
        assert_eq!(in_use.names(), ["nginx:2".to_string()].into());
    }
}
