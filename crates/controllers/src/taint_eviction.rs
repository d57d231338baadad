//! The taint eviction controller (kube-controller-manager's
//! `taint-eviction-controller`, the former TaintManager): pods on nodes
//! with `NoExecute` taints they do not tolerate are deleted at once; pods
//! tolerating them for `tolerationSeconds` are deleted when that time has
//! passed (counted from the taint's `timeAdded`), unless the taint goes
//! first. Each deletion is preceded by the `DisruptionTarget` condition
//! (reason `DeletionByTaintManager`) and a `TaintManagerEviction` Event.
//!
//! [`decide`] is the per-pod decision, a pure function.

pub mod decide;

use crate::disruption::{self, Disruption};
use crate::events::{self, Recorder};
use crate::cached_pod::CachedPod;
use crate::informer::{Cache, Informer};
use decide::Verdict;
use futures::StreamExt;
use jiff::Timestamp;
use k8s_openapi::api::core::v1::{Node, Taint};
use kube::api::Api;
use kube::runtime::reflector::{self, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, Resource, ResourceExt};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

/// The Event source, as kube-controller-manager names it.
pub const COMPONENT: &str = "taint-eviction-controller";
const REASON: &str = "TaintManagerEviction";
const WHY: Disruption<'static> = Disruption {
    condition: Some((
        "DeletionByTaintManager",
        "Taint manager: deleting due to NoExecute taint",
    )),
    mark_failed: false,
};
/// Changes arriving together are handled in one pass.
const BATCH: Duration = Duration::from_millis(50);
/// With nothing scheduled, a pass at least this often anyway.
const IDLE: Duration = Duration::from_secs(60);

/// A taint as the controller tells them apart, for first sightings.
type TaintId = (String, String, String, String);

fn taint_id(node: &str, t: &Taint) -> TaintId {
    (
        node.to_string(),
        t.key.clone(),
        t.value.clone().unwrap_or_default(),
        t.effect.clone(),
    )
}

#[derive(Default)]
struct State {
    /// Pods with a pending eviction (key: `ns/name`), by uid.
    scheduled: HashMap<String, String>,
    /// Uids already deleted, until the cache shows them gone.
    evicted: HashSet<String>,
    /// When a `NoExecute` taint without `timeAdded` was first seen.
    first_seen: HashMap<TaintId, Timestamp>,
}

/// Runs the controller until its watches end.
pub async fn run(client: Client, pods: Informer<CachedPod>) {
    let (nodes, node_writer) = reflector::store::<Node>();
    let (pods, pod_changes) = (pods.cache(), pods.touched());
    let changed = Arc::new(tokio::sync::Notify::new());
    let (n1, n2) = (changed.clone(), changed.clone());
    let node_watch = tokio::spawn(
        watcher(Api::<Node>::all(client.clone()), watcher::Config::default())
            .default_backoff()
            .reflect(node_writer)
            .for_each(move |_| {
                n1.notify_one();
                async {}
            }),
    );
    let pod_watch = tokio::spawn(pod_changes.for_each(move |_| {
        n2.notify_one();
        async {}
    }));
    if crate::cache_ready::ready(&nodes).await.is_err() || pods.ready().await.is_err() {
        return;
    }
    let recorder = Recorder::new(client.clone(), COMPONENT);
    let mut state = State::default();
    while !node_watch.is_finished() && !pod_watch.is_finished() {
        let next = pass(&client, &recorder, &mut state, &nodes, &pods).await;
        let wait = next
            .and_then(|t| Timestamp::now().duration_until(t).try_into().ok())
            .unwrap_or(IDLE)
            .min(IDLE);
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = changed.notified() => tokio::time::sleep(BATCH).await,
        }
    }
}

fn key(pod: &CachedPod) -> String {
    format!("{}/{}", pod.namespace().unwrap_or_default(), pod.name_any())
}

/// One pass over the pods on tainted nodes; returns when the next
/// scheduled eviction is due.
async fn pass(
    client: &Client,
    recorder: &Recorder,
    state: &mut State,
    nodes: &Store<Node>,
    pods: &Cache<CachedPod>,
) -> Option<Timestamp> {
    let now = Timestamp::now();
    let mut tainted: HashMap<String, Vec<Taint>> = HashMap::new();
    for node in nodes.state() {
        let taints = node
            .spec
            .as_ref()
            .and_then(|s| s.taints.clone())
            .unwrap_or_default();
        if taints.iter().any(|t| t.effect == "NoExecute") {
            tainted.insert(node.name_any(), taints);
        }
    }
    let present: HashSet<TaintId> = tainted
        .iter()
        .flat_map(|(n, ts)| ts.iter().map(|t| taint_id(n, t)))
        .collect();
    state.first_seen.retain(|id, _| present.contains(id));
    for id in present {
        state.first_seen.entry(id).or_insert(now);
    }
    let all = pods.state();
    let live: HashSet<String> = all.iter().filter_map(|p| p.uid()).collect();
    state.evicted.retain(|uid| live.contains(uid));
    let mut scheduled = HashMap::new();
    let mut next: Option<Timestamp> = None;
    if !tainted.is_empty() {
        for pod in &all {
            let Some(node) = pod.spec.as_ref().and_then(|s| s.node_name.as_deref()) else {
                continue;
            };
            let Some(taints) = tainted.get(node) else {
                continue;
            };
            let uid = pod.uid().unwrap_or_default();
            if pod.metadata.deletion_timestamp.is_some() || state.evicted.contains(&uid) {
                continue;
            }
            let first_seen = |t: &Taint| {
                state
                    .first_seen
                    .get(&taint_id(node, t))
                    .copied()
                    .unwrap_or(now)
            };
            match decide::verdict(pod, taints, &first_seen) {
                Verdict::Keep => {}
                Verdict::EvictAt(at) if at > now => {
                    scheduled.insert(key(pod), uid);
                    next = Some(next.map_or(at, |n: Timestamp| n.min(at)));
                }
                Verdict::EvictNow | Verdict::EvictAt(_) => {
                    if evict(client, recorder, pod).await {
                        state.evicted.insert(uid);
                    }
                }
            }
        }
    }
    // Pods whose taints went before their time: their eviction is off.
    for (k, uid) in &state.scheduled {
        if scheduled.contains_key(k) || state.evicted.contains(uid) {
            continue;
        }
        if let Some(pod) = all.iter().find(|p| {
            p.uid().as_deref() == Some(uid.as_str()) && p.metadata.deletion_timestamp.is_none()
        }) {
            recorder
                .record(
                    &pod.object_ref(&()),
                    events::NORMAL,
                    REASON,
                    format!("Cancelling deletion of Pod {k}"),
                )
                .await;
        }
    }
    state.scheduled = scheduled;
    next
}

/// Whether the pod is gone (a failure is retried at the next pass).
async fn evict(client: &Client, recorder: &Recorder, pod: &CachedPod) -> bool {
    let k = key(pod);
    recorder
        .record(
            &pod.object_ref(&()),
            events::NORMAL,
            REASON,
            format!("Marking for deletion Pod {k}"),
        )
        .await;
    match disruption::delete(client, pod, Some(WHY), None).await {
        Ok(()) => {
            tracing::info!(pod = %k, "evicted from a node with a NoExecute taint");
            true
        }
        Err(error) => {
            tracing::warn!(%error, pod = %k, "evicting a pod from a tainted node");
            false
        }
    }
}
