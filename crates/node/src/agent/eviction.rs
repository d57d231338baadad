//! The kubelet's eviction manager: every ten seconds it reads the
//! eviction signals (`signals`), publishes the pressure they make (the
//! Node's conditions, and the admission of new pods), evicts every pod
//! over one of its local storage limits (`local_storage`), and while a
//! hard threshold is crossed it reclaims what the node itself holds
//! (unused images, for the disk) and then evicts one pod, the first in
//! the kubelet's order (`ranking`), and waits for it to be taken down
//! before it looks again. An evicted pod ends `Failed` with the reason
//! `Evicted` (see `worker::Worker::fail`); critical pods are never
//! evicted.

pub mod local_storage;
pub mod ranking;
pub mod signals;

use super::image_gc::{self, InUse};
use super::pod_failure::Failure;
use super::worker::Update;
use super::{Ctx, Workers, admission};
use k8s_openapi::api::core::v1::{ObjectReference, Pod};
use local_storage::Dirs;
use ranking::{ContainerUse, PodUse};
use signals::{Observation, Pressure, Thresholds};
use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// The kubelet's `evictionMonitoringPeriod`.
const MONITORING: Duration = Duration::from_secs(10);
/// How long an eviction is waited for before the next look (the
/// kubelet's `podCleanupTimeout`).
const CLEANUP_TIMEOUT: Duration = Duration::from_secs(30);

/// What the manager works with.
pub struct Manager {
    pub ctx: Arc<Ctx>,
    pub data_dir: PathBuf,
    pub containers_dir: PathBuf,
    pub thresholds: Thresholds,
    pub workers: Workers,
    pub pressure: watch::Sender<Pressure>,
    pub images: image::Store,
    pub image_gc: image::gc::Policy,
    pub in_use: Arc<InUse>,
}

/// The resource a crossed threshold asks to reclaim, with the
/// threshold's quantity and what is available, as the message says them.
struct Shortage {
    resource: &'static str,
    threshold: String,
    available: String,
    memory: bool,
}

impl Manager {
    /// Runs until the agent ends.
    pub async fn run(self) {
        // Pods told to go, not to be told twice.
        let mut told: HashSet<String> = HashSet::new();
        loop {
            if let Some(uid) = self.sync(&mut told).await {
                self.wait_for_cleanup(&uid).await;
            }
            tokio::time::sleep(MONITORING).await;
        }
    }

    /// One look: the pod evicted for a crossed threshold, if one was.
    async fn sync(&self, told: &mut HashSet<String>) -> Option<String> {
        let dir = self.data_dir.clone();
        let observed = tokio::task::spawn_blocking(move || Observation::measure(&dir)).await.ok()?;
        let pressure = Pressure::of(&observed, &self.thresholds);
        self.pressure.send_if_modified(|p| std::mem::replace(p, pressure) != pressure);
        let active = self.active(told);

        let limited: Vec<(String, Arc<Pod>)> = active.iter().filter(|(_, p)| local_storage::has_limits(p)).cloned().collect();
        if !limited.is_empty() {
            let dirs = self.dirs();
            let over = tokio::task::spawn_blocking(move || {
                limited.into_iter().filter_map(|(uid, pod)| local_storage::over_limit(&pod, &local_storage::measure(&dirs, &pod, &uid)).map(|m| (uid, m))).collect::<Vec<_>>()
            })
            .await
            .unwrap_or_default();
            if !over.is_empty() {
                for (uid, message) in over {
                    self.evict(&uid, message, told);
                }
                return None;
            }
        }

        let shortage = self.shortage(&observed, &pressure)?;
        self.node_event(format!("Attempting to reclaim {}", shortage.resource));
        if !shortage.memory && self.reclaimed_enough().await {
            return None;
        }
        let mut candidates = if shortage.memory { memory_use(&active).await } else { self.disk_use(&active).await };
        ranking::rank(&mut candidates);
        let first = candidates.into_iter().next()?;
        let message = ranking::message(shortage.resource, &shortage.threshold, &shortage.available, &first);
        self.evict(&first.uid, message, told);
        Some(first.uid)
    }

    /// The threshold to act on (memory first, as the kubelet orders
    /// them), or `None` when no threshold is crossed.
    fn shortage(&self, o: &Observation, pressure: &Pressure) -> Option<Shortage> {
        let t = &self.thresholds;
        if pressure.memory {
            let threshold = ranking::bytes(t.memory_available.quantity(o.memory_total));
            return Some(Shortage { resource: "memory", threshold, available: ranking::bytes(o.memory_available), memory: true });
        }
        if t.nodefs_available.crossed(o.disk_available, o.disk_total) {
            let threshold = ranking::bytes(t.nodefs_available.quantity(o.disk_total));
            return Some(Shortage { resource: "ephemeral-storage", threshold, available: ranking::bytes(o.disk_available), memory: false });
        }
        if pressure.disk {
            let threshold = t.nodefs_inodes_free.quantity(o.inodes_total).to_string();
            return Some(Shortage { resource: "inodes", threshold, available: o.inodes_free.to_string(), memory: false });
        }
        None
    }

    /// Removes the images no pod uses; whether the disk is out of
    /// pressure after.
    async fn reclaimed_enough(&self) -> bool {
        let (store, policy, in_use, dir, thresholds) = (self.images.clone(), self.image_gc.clone(), self.in_use.clone(), self.data_dir.clone(), self.thresholds);
        let reclaim = move || {
            match image_gc::reclaim(&store, &policy, &in_use) {
                Ok(freed) if freed > 0 => tracing::info!(freed, "eviction manager: removed unused images"),
                Ok(_) => {}
                Err(error) => tracing::warn!(%error, "eviction manager: removing unused images"),
            }
            !Pressure::of(&Observation::measure(&dir), &thresholds).disk
        };
        tokio::task::spawn_blocking(reclaim).await.unwrap_or(false)
    }

    /// The pods that may be evicted: admitted, not ended, not being
    /// deleted, not told already, not critical.
    fn active(&self, told: &mut HashSet<String>) -> Vec<(String, Arc<Pod>)> {
        let workers = self.workers.lock();
        told.retain(|uid| workers.contains_key(uid));
        workers
            .iter()
            .filter(|(uid, a)| !told.contains(*uid) && !admission::is_terminal(&a.pod) && a.pod.metadata.deletion_timestamp.is_none() && ranking::priority(&a.pod) < ranking::CRITICAL_PRIORITY)
            .map(|(uid, a)| (uid.clone(), a.pod.clone()))
            .collect()
    }

    fn dirs(&self) -> Dirs {
        Dirs { containers: self.containers_dir.clone(), logs: self.ctx.logs.clone(), pods: self.ctx.pods_dir.clone() }
    }

    async fn disk_use(&self, active: &[(String, Arc<Pod>)]) -> Vec<PodUse> {
        let (dirs, pods) = (self.dirs(), active.to_vec());
        tokio::task::spawn_blocking(move || pods.iter().map(|(uid, pod)| local_storage::measure(&dirs, pod, uid).usage(pod, uid)).collect()).await.unwrap_or_default()
    }

    /// Tells the pod's worker to end it.
    fn evict(&self, uid: &str, message: String, told: &mut HashSet<String>) {
        let workers = self.workers.lock();
        let Some(admitted) = workers.get(uid) else { return };
        tracing::warn!(pod = %admitted.pod.metadata.name.as_deref().unwrap_or_default(), namespace = %admitted.pod.metadata.namespace.as_deref().unwrap_or_default(), %message, "evicting a pod");
        if admitted.tx.send(Update::Fail(Failure::evicted(message))).is_ok() {
            told.insert(uid.to_string());
        }
    }

    /// Waits until the evicted pod ended (its final status is in) or is
    /// gone, for the cleanup timeout at most.
    async fn wait_for_cleanup(&self, uid: &str) {
        let deadline = tokio::time::Instant::now() + CLEANUP_TIMEOUT;
        while tokio::time::Instant::now() < deadline {
            let done = self.workers.lock().get(uid).is_none_or(|a| admission::is_terminal(&a.pod));
            if done {
                return;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// A Warning about the node, as the kubelet records it.
    fn node_event(&self, message: String) {
        let node = ObjectReference { api_version: Some("v1".into()), kind: Some("Node".into()), name: Some(self.ctx.node.clone()), uid: Some(self.ctx.node.clone()), ..ObjectReference::default() };
        super::events::record(&self.ctx, &node, "Warning", "EvictionThresholdMet", message);
    }
}

/// The pods' memory working sets against their requests.
async fn memory_use(active: &[(String, Arc<Pod>)]) -> Vec<PodUse> {
    let sets = tokio::task::spawn_blocking(crate::stats::working_sets).await.unwrap_or_default();
    active
        .iter()
        .map(|(uid, pod)| {
            let of_pod = sets.get(uid);
            let containers: Vec<ContainerUse> = pod
                .spec
                .iter()
                .flat_map(|s| s.containers.iter())
                .map(|c| ContainerUse { name: c.name.clone(), usage: of_pod.and_then(|m| m.get(&c.name)).copied().unwrap_or(0), request: ranking::container_request(c, "memory") })
                .collect();
            let usage = of_pod.map(|m| m.values().sum()).unwrap_or(0);
            PodUse { uid: uid.clone(), priority: ranking::priority(pod), usage, request: containers.iter().map(|c| c.request).sum(), containers }
        })
        .collect()
}
