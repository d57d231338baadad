//! The node lifecycle controller (kube-controller-manager's
//! `node-controller`): every monitor period it looks at each Node and its
//! heartbeat Lease in `kube-node-lease`; a node silent for longer than the
//! grace period gets its conditions set to Unknown, and its pods' Ready
//! condition set to False. It keeps the condition taints (`not-ready`,
//! `unreachable`, pressure and `unschedulable` NoSchedule; `not-ready` or
//! `unreachable` NoExecute, which the taint eviction controller acts on)
//! in line with the node's conditions, and removes them when it recovers.
//! Events `RegisteredNode`, `RemovingNode` and `NodeNotReady` as
//! Kubernetes writes them.
//!
//! [`health`] and [`taints`] are the decisions, as pure functions.

pub mod health;
pub mod taints;

use crate::events::{self, Recorder};
use futures::StreamExt;
use health::Seen;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Node, ObjectReference, Pod, PodCondition};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use kube::runtime::reflector::{self, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, Resource, ResourceExt};
use serde_json::json;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

/// The Event source, as kube-controller-manager names it.
pub const COMPONENT: &str = "node-controller";
/// Kubernetes' `--node-monitor-grace-period` (50 s since v1.32).
pub const DEFAULT_GRACE_PERIOD: Duration = Duration::from_secs(50);
/// Kubernetes' `--node-startup-grace-period`, for nodes that never posted
/// a Ready condition.
const STARTUP_GRACE_PERIOD: Duration = Duration::from_secs(60);
/// Kubernetes' `--node-monitor-period`.
const MONITOR_PERIOD: Duration = Duration::from_secs(5);
const LEASE_NAMESPACE: &str = "kube-node-lease";

/// A pass at least five times per grace period, so a short grace period
/// (tests) is noticed on time.
fn monitor_period(grace: Duration) -> Duration {
    MONITOR_PERIOD
        .min(grace / 5)
        .max(Duration::from_millis(200))
}

struct Ctx {
    client: Client,
    recorder: Recorder,
    grace: Duration,
    seen: HashMap<String, Seen>,
    /// Node uids by name, for `RemovingNode` once one is gone.
    known: HashMap<String, String>,
}

/// Runs the controller until its node watch ends.
pub async fn run(client: Client, grace: Duration) {
    let (nodes, node_writer) = reflector::store::<Node>();
    let (leases, lease_writer) = reflector::store::<Lease>();
    let changed = Arc::new(tokio::sync::Notify::new());
    let notify = changed.clone();
    let node_watch = tokio::spawn(
        watcher(Api::<Node>::all(client.clone()), watcher::Config::default())
            .default_backoff()
            .reflect(node_writer)
            .touched_objects()
            .for_each(move |_| {
                notify.notify_one();
                async {}
            }),
    );
    let lease_watch = tokio::spawn(
        watcher(
            Api::<Lease>::namespaced(client.clone(), LEASE_NAMESPACE),
            watcher::Config::default(),
        )
        .default_backoff()
        .reflect(lease_writer)
        .for_each(|_| async {}),
    );
    if crate::cache_ready::ready(&nodes).await.is_err() || crate::cache_ready::ready(&leases).await.is_err() {
        return;
    }
    let mut ctx = Ctx {
        recorder: Recorder::new(client.clone(), COMPONENT),
        client,
        grace,
        seen: HashMap::new(),
        known: HashMap::new(),
    };
    let period = monitor_period(grace);
    loop {
        if node_watch.is_finished() {
            break;
        }
        pass(&mut ctx, &nodes, &leases).await;
        tokio::select! {
            _ = tokio::time::sleep(period) => {}
            _ = changed.notified() => {}
        }
    }
    lease_watch.abort();
}

fn node_ref(node: &Node) -> ObjectReference {
    ObjectReference {
        api_version: Some("v1".into()),
        kind: Some("Node".into()),
        name: node.metadata.name.clone(),
        uid: node.metadata.uid.clone(),
        ..ObjectReference::default()
    }
}

/// One monitor pass over every node.
async fn pass(ctx: &mut Ctx, nodes: &Store<Node>, leases: &Store<Lease>) {
    let now = jiff::Timestamp::now();
    let lease_of =
        |name: &str| leases.get(&reflector::ObjectRef::new(name).within(LEASE_NAMESPACE));
    let mut current: Vec<Node> = Vec::new();
    for node in nodes.state() {
        let name = node.name_any();
        let lease = lease_of(&name);
        let previous = ctx.seen.get(&name).cloned();
        if previous.is_none() {
            let message = format!("Node {name} event: Registered Node {name} in Controller");
            ctx.recorder
                .record(&node_ref(&node), events::NORMAL, "RegisteredNode", message)
                .await;
        }
        let mut seen = health::observe(previous.as_ref(), &node, lease.as_deref(), now);
        let was_ready = previous.as_ref().map(|p| p.ready.clone());
        let mut node = Node::clone(&node);
        if let Some(conditions) =
            health::silenced(&node, &seen, ctx.grace, STARTUP_GRACE_PERIOD, now)
        {
            let mut updated = node.clone();
            if let Some(status) = updated.status.as_mut() {
                status.conditions = Some(conditions);
            }
            match Api::<Node>::all(ctx.client.clone())
                .replace_status(&name, &PostParams::default(), &updated)
                .await
            {
                Ok(written) => {
                    tracing::info!(node = %name, "node stopped posting status; marked Unknown");
                    if health::ready_status(&node) == "True" {
                        ctx.recorder
                            .record(
                                &node_ref(&node),
                                events::NORMAL,
                                "NodeNotReady",
                                format!("Node {name} status is now: NodeNotReady"),
                            )
                            .await;
                    }
                    node = written;
                }
                // A newer node version (its kubelet, say): next pass.
                Err(error) => tracing::debug!(%error, node = %name, "marking a node Unknown"),
            }
        }
        seen.ready = health::ready_status(&node);
        // Pods learn their node is gone once, when it stops being Ready.
        if seen.ready != "True" && was_ready.as_deref() == Some("True") {
            mark_pods_not_ready(ctx, &name).await;
        }
        ctx.known
            .insert(name.clone(), node.metadata.uid.clone().unwrap_or_default());
        ctx.seen.insert(name, seen);
        current.push(node);
    }
    forget_removed(ctx, &current).await;
    // A zone none of whose nodes is Ready is fully disrupted: no evictions.
    let healthy_zones: HashSet<String> = current
        .iter()
        .filter(|n| health::ready_status(n) == "True")
        .map(taints::zone)
        .collect();
    for node in &current {
        let evict = healthy_zones.contains(&taints::zone(node));
        if let Some(wanted) = taints::desired(node, evict, now) {
            write_taints(ctx, node, wanted).await;
        }
    }
}

async fn forget_removed(ctx: &mut Ctx, current: &[Node]) {
    let present: HashSet<String> = current.iter().map(ResourceExt::name_any).collect();
    let gone: Vec<(String, String)> = ctx
        .known
        .iter()
        .filter(|(n, _)| !present.contains(*n))
        .map(|(n, u)| (n.clone(), u.clone()))
        .collect();
    for (name, uid) in gone {
        ctx.known.remove(&name);
        ctx.seen.remove(&name);
        let reference = ObjectReference {
            api_version: Some("v1".into()),
            kind: Some("Node".into()),
            name: Some(name.clone()),
            uid: Some(uid),
            ..ObjectReference::default()
        };
        ctx.recorder
            .record(
                &reference,
                events::NORMAL,
                "RemovingNode",
                format!("Node {name} event: Removing Node {name} from Controller"),
            )
            .await;
    }
}

/// Writes the node's taints, guarded by the version they were computed
/// from (a conflict waits for the next pass).
async fn write_taints(ctx: &Ctx, node: &Node, wanted: Vec<k8s_openapi::api::core::v1::Taint>) {
    let taints = if wanted.is_empty() {
        serde_json::Value::Null
    } else {
        json!(wanted)
    };
    let patch = json!({"metadata": {"resourceVersion": node.resource_version()}, "spec": {"taints": taints}});
    let name = node.name_any();
    match Api::<Node>::all(ctx.client.clone())
        .patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
    {
        Ok(_) => tracing::debug!(node = %name, "node taints updated"),
        Err(error) => tracing::debug!(%error, node = %name, "updating node taints"),
    }
}

/// Kubernetes' MarkPodsNotReady: every pod on the node gets Ready False
/// and a `NodeNotReady` Warning.
async fn mark_pods_not_ready(ctx: &Ctx, node: &str) {
    let pods: Api<Pod> = Api::all(ctx.client.clone());
    let list = match pods
        .list(&ListParams::default().fields(&format!("spec.nodeName={node}")))
        .await
    {
        Ok(l) => l,
        Err(error) => {
            tracing::warn!(%error, node, "listing the pods of a node that is not ready");
            return;
        }
    };
    let now = Time(jiff::Timestamp::now());
    for pod in list.items {
        let Some(conditions) = not_ready_conditions(&pod, &now) else {
            continue;
        };
        let patch = json!({"metadata": {"resourceVersion": pod.resource_version()}, "status": {"conditions": conditions}});
        let api: Api<Pod> =
            Api::namespaced(ctx.client.clone(), &pod.namespace().unwrap_or_default());
        match api
            .patch_status(
                &pod.name_any(),
                &PatchParams::default(),
                &Patch::Merge(&patch),
            )
            .await
        {
            Ok(_) => {
                ctx.recorder
                    .record(
                        &pod.object_ref(&()),
                        events::WARNING,
                        "NodeNotReady",
                        "Node is not ready".into(),
                    )
                    .await
            }
            Err(error) => tracing::debug!(%error, pod = %pod.name_any(), "marking a pod not ready"),
        }
    }
}

/// The pod's conditions with Ready set to False, or `None` when it has no
/// Ready condition or it is already False.
pub fn not_ready_conditions(pod: &Pod, now: &Time) -> Option<Vec<PodCondition>> {
    let mut conditions = pod.status.as_ref()?.conditions.clone()?;
    let ready = conditions.iter_mut().find(|c| c.type_ == "Ready")?;
    if ready.status == "False" {
        return None;
    }
    ready.status = "False".into();
    ready.last_transition_time = Some(now.clone());
    Some(conditions)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_lifecycle_pods_lose_ready_once() {
        let pod: Pod = serde_json::from_value(json!({
            "metadata": {"name": "p"},
            "status": {"conditions": [
                {"type": "PodScheduled", "status": "True"},
                {"type": "Ready", "status": "True", "lastTransitionTime": "2024-01-01T00:00:00Z"},
            ]},
        }))
        .expect("a pod");
        let now = Time(jiff::Timestamp::from_second(1_800_000_000).expect("valid time"));
        let conditions = not_ready_conditions(&pod, &now).expect("changes");
        assert_eq!(conditions[0].status, "True");
        assert_eq!(conditions[1].status, "False");
        assert_eq!(conditions[1].last_transition_time, Some(now.clone()));
        let mut marked = pod.clone();
        if let Some(s) = marked.status.as_mut() {
            s.conditions = Some(conditions);
        }
        assert!(not_ready_conditions(&marked, &now).is_none());
    }

    #[test]
    fn node_lifecycle_monitor_period_follows_short_grace_periods() {
        assert_eq!(monitor_period(DEFAULT_GRACE_PERIOD), MONITOR_PERIOD);
        assert_eq!(
            monitor_period(Duration::from_secs(5)),
            Duration::from_secs(1)
        );
    }
}
