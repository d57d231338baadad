//! What the pod garbage collector would delete, as a pure function of the
//! cached pods and nodes (Kubernetes' podgc passes): ended pods beyond the
//! threshold, oldest first (evicted ones before the rest); pods bound to a
//! node that is not there (candidates: the caller confirms the node is
//! really gone); terminating pods on a not-Ready node an administrator
//! tainted `out-of-service`; terminating pods never bound to a node.

use crate::node_lifecycle::{health, taints};
use k8s_openapi::api::core::v1::Node;
use crate::cached_pod::CachedPod;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

#[derive(Debug, Default)]
pub struct Plan {
    pub terminated: Vec<Arc<CachedPod>>,
    /// By the name of the missing node.
    pub orphaned: BTreeMap<String, Vec<Arc<CachedPod>>>,
    pub out_of_service: Vec<Arc<CachedPod>>,
    pub unscheduled_terminating: Vec<Arc<CachedPod>>,
}

pub fn is_terminated(pod: &CachedPod) -> bool {
    !matches!(
        pod.status.as_ref().and_then(|s| s.phase.as_deref()),
        None | Some("Pending" | "Running" | "Unknown")
    )
}

fn node_name(pod: &CachedPod) -> Option<&str> {
    pod.spec
        .as_ref()
        .and_then(|s| s.node_name.as_deref())
        .filter(|n| !n.is_empty())
}

fn out_of_service(node: &Node) -> bool {
    health::ready_status(node) != "True"
        && node
            .spec
            .as_ref()
            .and_then(|s| s.taints.as_ref())
            .is_some_and(|ts| ts.iter().any(|t| t.key == taints::OUT_OF_SERVICE))
}

/// The plan; `threshold` 0 keeps every ended pod.
pub fn plan(pods: &[Arc<CachedPod>], nodes: &HashMap<String, Arc<Node>>, threshold: usize) -> Plan {
    let mut plan = Plan::default();
    let mut ended: Vec<Arc<CachedPod>> = Vec::new();
    for pod in pods {
        if is_terminated(pod) {
            ended.push(pod.clone());
        }
        let terminating = pod.metadata.deletion_timestamp.is_some();
        match node_name(pod) {
            None if terminating => plan.unscheduled_terminating.push(pod.clone()),
            None => {}
            Some(n) => match nodes.get(n) {
                None => plan
                    .orphaned
                    .entry(n.to_string())
                    .or_default()
                    .push(pod.clone()),
                Some(node) if terminating && out_of_service(node) => {
                    plan.out_of_service.push(pod.clone())
                }
                Some(_) => {}
            },
        }
    }
    if threshold > 0 && ended.len() > threshold {
        let evicted =
            |p: &CachedPod| p.status.as_ref().and_then(|s| s.reason.as_deref()) == Some("Evicted");
        ended.sort_by(|a, b| {
            evicted(b).cmp(&evicted(a)).then_with(|| {
                a.metadata
                    .creation_timestamp
                    .as_ref()
                    .map(|t| t.0)
                    .cmp(&b.metadata.creation_timestamp.as_ref().map(|t| t.0))
            })
        });
        ended.truncate(ended.len() - threshold);
        plan.terminated = ended;
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;
    use kube::ResourceExt;
    use serde_json::json;

    fn pod(
        name: &str,
        node: &str,
        phase: &str,
        created: i64,
        extra: serde_json::Value,
    ) -> Arc<CachedPod> {
        let mut v = json!({
            "metadata": {"name": name, "namespace": "default", "creationTimestamp": jiff::Timestamp::from_second(1_700_000_000 + created).expect("valid time").to_string()},
            "spec": {"containers": [], "nodeName": node},
            "status": {"phase": phase},
        });
        if let (Some(o), Some(e)) = (v.as_object_mut(), extra.as_object()) {
            for (k, val) in e {
                if let Some(inner) = o.get_mut(k).and_then(|x| x.as_object_mut())
                    && let Some(add) = val.as_object()
                {
                    inner.extend(add.clone());
                }
            }
        }
        Arc::new(serde_json::from_value(v).expect("a pod"))
    }

    fn node(name: &str, ready: &str, taints: serde_json::Value) -> (String, Arc<Node>) {
        let n: Node = serde_json::from_value(json!({
            "metadata": {"name": name},
            "spec": {"taints": taints},
            "status": {"conditions": [{"type": "Ready", "status": ready}]},
        }))
        .expect("a node");
        (name.to_string(), Arc::new(n))
    }

    fn names(pods: &[Arc<CachedPod>]) -> Vec<String> {
        pods.iter().map(|p| p.name_any()).collect()
    }

    #[test]
    fn pod_gc_terminated_pods_over_threshold_go_oldest_first() {
        let nodes: HashMap<_, _> = [node("n1", "True", json!(null))].into();
        let pods = vec![
            pod("new", "n1", "Succeeded", 30, json!({})),
            pod("old", "n1", "Failed", 10, json!({})),
            pod("running", "n1", "Running", 0, json!({})),
            pod(
                "evicted",
                "n1",
                "Failed",
                40,
                json!({"status": {"reason": "Evicted"}}),
            ),
            pod("mid", "n1", "Succeeded", 20, json!({})),
        ];
        assert_eq!(
            names(&plan(&pods, &nodes, 2).terminated),
            vec!["evicted", "old"]
        );
        assert!(plan(&pods, &nodes, 4).terminated.is_empty());
        assert!(
            plan(&pods, &nodes, 0).terminated.is_empty(),
            "0 turns it off"
        );
    }

    #[test]
    fn pod_gc_orphans_out_of_service_and_unscheduled() {
        let nodes: HashMap<_, _> = [
            node("ok", "True", json!([{"key": taints::OUT_OF_SERVICE, "effect": "NoExecute"}])),
            node("down", "Unknown", json!([{"key": taints::OUT_OF_SERVICE, "value": "shutdown", "effect": "NoExecute"}])),
            node("flaky", "Unknown", json!(null)),
        ]
        .into();
        let deleting = json!({"metadata": {"deletionTimestamp": "2024-01-01T00:00:00Z"}});
        let pods = vec![
            pod("lost-a", "gone", "Running", 0, json!({})),
            pod("lost-b", "gone", "Succeeded", 0, json!({})),
            pod("stuck", "down", "Running", 0, deleting.clone()),
            pod("alive", "down", "Running", 0, json!({})),
            pod("ready-node", "ok", "Running", 0, deleting.clone()),
            pod("no-taint", "flaky", "Running", 0, deleting.clone()),
            pod("never-bound", "", "Pending", 0, deleting),
        ];
        let p = plan(&pods, &nodes, 12500);
        assert_eq!(p.orphaned.keys().collect::<Vec<_>>(), vec!["gone"]);
        assert_eq!(names(&p.orphaned["gone"]), vec!["lost-a", "lost-b"]);
        assert_eq!(names(&p.out_of_service), vec!["stuck"]);
        assert_eq!(names(&p.unscheduled_terminating), vec!["never-bound"]);
    }
}
