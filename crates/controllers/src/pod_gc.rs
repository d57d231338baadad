//! The pod garbage collector (kube-controller-manager's
//! `pod-garbage-collector`): every 20 s, and when a node goes, it deletes
//! pods bound to nodes that no longer exist (after a quarantine and a live
//! check of the node; marked Failed with the `DisruptionTarget` condition
//! `DeletionByPodGC`), terminating pods on out-of-service nodes and
//! terminating pods never bound (force deletes), and ended pods beyond
//! `--terminated-pod-gc-threshold`, oldest first.
//!
//! [`plan`] is the choice, a pure function.

pub mod plan;

use crate::disruption::{self, Disruption};
use crate::cached_pod::CachedPod;
use crate::informer::{Cache, Informer};
use futures::StreamExt;
use jiff::Timestamp;
use k8s_openapi::api::core::v1::Node;
use kube::api::Api;
use kube::runtime::WatchStreamExt;
use kube::runtime::reflector::{self, Store};
use kube::runtime::watcher::{self, Event};
use kube::{Client, ResourceExt};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// Kubernetes' `--terminated-pod-gc-threshold`.
pub const DEFAULT_TERMINATED_THRESHOLD: usize = 12500;
/// Kubernetes' gcCheckPeriod.
const PERIOD: Duration = Duration::from_secs(20);
/// How long a node must be missing before its pods go.
const QUARANTINE: Duration = Duration::from_secs(5);

const ORPHANED: Disruption<'static> = Disruption {
    condition: Some(("DeletionByPodGC", "PodGC: node no longer exists")),
    mark_failed: true,
};
const FORCED: Disruption<'static> = Disruption {
    condition: None,
    mark_failed: true,
};

/// Runs the collector until its watches end.
pub async fn run(client: Client, pods: Informer<CachedPod>, terminated_threshold: usize) {
    let (nodes, node_writer) = reflector::store::<Node>();
    let pods = pods.cache();
    let node_gone = Arc::new(tokio::sync::Notify::new());
    let notify = node_gone.clone();
    let node_watch = tokio::spawn(
        watcher(Api::<Node>::all(client.clone()), watcher::Config::default())
            .default_backoff()
            .reflect(node_writer)
            .for_each(move |event| {
                if matches!(event, Ok(Event::Delete(_))) {
                    notify.notify_one();
                }
                async {}
            }),
    );
    if crate::cache_ready::ready(&nodes).await.is_err() || pods.ready().await.is_err() {
        return;
    }
    let mut missing: HashMap<String, Timestamp> = HashMap::new();
    while !node_watch.is_finished() {
        let wait = pass(&client, &nodes, &pods, terminated_threshold, &mut missing).await;
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = node_gone.notified() => {}
        }
    }
}

use kube::runtime::watcher::watcher;

/// One collection; returns how long to wait for the next.
async fn pass(
    client: &Client,
    nodes: &Store<Node>,
    pods: &Cache<CachedPod>,
    threshold: usize,
    missing: &mut HashMap<String, Timestamp>,
) -> Duration {
    let by_name: HashMap<String, Arc<Node>> = nodes
        .state()
        .into_iter()
        .map(|n| (n.name_any(), n))
        .collect();
    let plan = plan::plan(&pods.state(), &by_name, threshold);
    for pod in &plan.terminated {
        delete(client, pod, None, "ended pod over the threshold").await;
    }
    for pod in plan
        .out_of_service
        .iter()
        .chain(&plan.unscheduled_terminating)
    {
        delete(
            client,
            pod,
            Some(FORCED),
            "terminating pod no kubelet will finish",
        )
        .await;
    }
    let now = Timestamp::now();
    missing.retain(|n, _| plan.orphaned.contains_key(n));
    let mut wait = PERIOD;
    for (node, orphans) in &plan.orphaned {
        let since = *missing.entry(node.clone()).or_insert(now);
        let waited = now.duration_since(since).unsigned_abs();
        if waited < QUARANTINE {
            wait = wait.min(QUARANTINE - waited);
            continue;
        }
        // The cache may lag a node that just registered: ask the server.
        match Api::<Node>::all(client.clone()).get_opt(node).await {
            Ok(None) => {
                for pod in orphans {
                    delete(
                        client,
                        pod,
                        Some(ORPHANED),
                        "pod of a node that no longer exists",
                    )
                    .await;
                }
                missing.remove(node);
            }
            Ok(Some(_)) => {
                missing.remove(node);
            }
            Err(error) => tracing::debug!(%error, node, "checking a node for orphaned pods"),
        }
    }
    wait
}

async fn delete(client: &Client, pod: &CachedPod, why: Option<Disruption<'_>>, what: &str) {
    let key = format!("{}/{}", pod.namespace().unwrap_or_default(), pod.name_any());
    match disruption::delete(client, pod, why, Some(0)).await {
        Ok(()) => tracing::info!(pod = %key, "garbage collected: {what}"),
        Err(error) => tracing::warn!(%error, pod = %key, "garbage collecting: {what}"),
    }
}
