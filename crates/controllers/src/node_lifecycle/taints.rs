//! The taints the node lifecycle controller owns, as a pure function of a
//! node's conditions: `NoSchedule` taints for every unhealthy condition
//! and for cordoned nodes (Kubernetes' TaintNodesByCondition), and the
//! `NoExecute` taint of a node that is not Ready (`not-ready` when it says
//! so, `unreachable` when it went silent) that makes the taint eviction
//! controller evict its pods. Taints of other owners are kept as they are.

use super::health::condition;
use jiff::Timestamp;
use k8s_openapi::api::core::v1::{Node, Taint};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

pub const NOT_READY: &str = "node.kubernetes.io/not-ready";
pub const UNREACHABLE: &str = "node.kubernetes.io/unreachable";
pub const UNSCHEDULABLE: &str = "node.kubernetes.io/unschedulable";
pub const MEMORY_PRESSURE: &str = "node.kubernetes.io/memory-pressure";
pub const DISK_PRESSURE: &str = "node.kubernetes.io/disk-pressure";
pub const PID_PRESSURE: &str = "node.kubernetes.io/pid-pressure";
pub const NETWORK_UNAVAILABLE: &str = "node.kubernetes.io/network-unavailable";
/// Set by an administrator on a node that is shut down for good: the pod
/// garbage collector then force-deletes its terminating pods.
pub const OUT_OF_SERVICE: &str = "node.kubernetes.io/out-of-service";

pub const NO_SCHEDULE: &str = "NoSchedule";
pub const NO_EXECUTE: &str = "NoExecute";

/// The (key, effect) pairs this controller adds and removes.
const OWNED: [(&str, &str); 9] = [
    (NOT_READY, NO_SCHEDULE),
    (UNREACHABLE, NO_SCHEDULE),
    (UNSCHEDULABLE, NO_SCHEDULE),
    (MEMORY_PRESSURE, NO_SCHEDULE),
    (DISK_PRESSURE, NO_SCHEDULE),
    (PID_PRESSURE, NO_SCHEDULE),
    (NETWORK_UNAVAILABLE, NO_SCHEDULE),
    (NOT_READY, NO_EXECUTE),
    (UNREACHABLE, NO_EXECUTE),
];

fn status_of(node: &Node, type_: &str) -> Option<String> {
    condition(node, type_).map(|c| c.status.clone())
}

/// The owned taints the node should carry. `evict` is false when the
/// node's zone is fully disrupted (every node in it not Ready): then, as
/// in Kubernetes, nothing is evicted, since the fault is more likely the
/// control plane's view than every node at once.
fn wanted(node: &Node, evict: bool) -> Vec<(&'static str, &'static str)> {
    let mut out = Vec::new();
    match status_of(node, "Ready").as_deref() {
        Some("True") => {}
        Some("False") => {
            out.push((NOT_READY, NO_SCHEDULE));
            if evict {
                out.push((NOT_READY, NO_EXECUTE));
            }
        }
        // Unknown, or never posted.
        _ => {
            out.push((UNREACHABLE, NO_SCHEDULE));
            if evict {
                out.push((UNREACHABLE, NO_EXECUTE));
            }
        }
    }
    for (type_, key) in [
        ("MemoryPressure", MEMORY_PRESSURE),
        ("DiskPressure", DISK_PRESSURE),
        ("PIDPressure", PID_PRESSURE),
        ("NetworkUnavailable", NETWORK_UNAVAILABLE),
    ] {
        if status_of(node, type_).as_deref() == Some("True") {
            out.push((key, NO_SCHEDULE));
        }
    }
    if node
        .spec
        .as_ref()
        .and_then(|s| s.unschedulable)
        .unwrap_or(false)
    {
        out.push((UNSCHEDULABLE, NO_SCHEDULE));
    }
    out
}

/// The node's new `spec.taints`, or `None` when they are already right.
/// Taints that stay keep their `timeAdded`; new `NoExecute` ones get `now`
/// (the taint eviction controller counts tolerationSeconds from it).
pub fn desired(node: &Node, evict: bool, now: Timestamp) -> Option<Vec<Taint>> {
    let current = node
        .spec
        .as_ref()
        .and_then(|s| s.taints.clone())
        .unwrap_or_default();
    let wanted = wanted(node, evict);
    let owned = |t: &Taint| OWNED.iter().any(|(k, e)| t.key == *k && t.effect == *e);
    let mut out: Vec<Taint> = current
        .iter()
        .filter(|t| !owned(t) || wanted.iter().any(|(k, e)| t.key == *k && t.effect == *e))
        .cloned()
        .collect();
    for (key, effect) in wanted {
        if !out.iter().any(|t| t.key == key && t.effect == effect) {
            let time_added = (effect == NO_EXECUTE).then_some(Time(now));
            out.push(Taint {
                key: key.into(),
                effect: effect.into(),
                time_added,
                value: None,
            });
        }
    }
    (out != current).then_some(out)
}

/// A node's failure zone, for the full-disruption rule: region and zone
/// labels, empty for nodes without them (one zone).
pub fn zone(node: &Node) -> String {
    let labels = node.metadata.labels.as_ref();
    let get = |k: &str| labels.and_then(|l| l.get(k)).cloned().unwrap_or_default();
    format!(
        "{}:\0:{}",
        get("topology.kubernetes.io/region"),
        get("topology.kubernetes.io/zone")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: i64) -> Timestamp {
        Timestamp::from_second(1_700_000_000 + s).expect("valid time")
    }

    fn node(ready: &str, taints: serde_json::Value, unschedulable: bool) -> Node {
        serde_json::from_value(serde_json::json!({
            "metadata": {"name": "n1"},
            "spec": {"taints": taints, "unschedulable": unschedulable},
            "status": {"conditions": [
                {"type": "Ready", "status": ready},
                {"type": "MemoryPressure", "status": "False"},
                {"type": "DiskPressure", "status": "True"},
            ]},
        }))
        .expect("a node")
    }

    fn keys(taints: &[Taint]) -> Vec<(String, String, bool)> {
        taints
            .iter()
            .map(|t| (t.key.clone(), t.effect.clone(), t.time_added.is_some()))
            .collect()
    }

    #[test]
    fn node_lifecycle_unreachable_node_gets_both_unreachable_taints() {
        let n = node(
            "Unknown",
            serde_json::json!([{"key": "team", "value": "a", "effect": "NoSchedule"}]),
            false,
        );
        let taints = desired(&n, true, at(5)).expect("changes");
        assert_eq!(
            keys(&taints),
            vec![
                ("team".into(), "NoSchedule".into(), false),
                (UNREACHABLE.into(), "NoSchedule".into(), false),
                (UNREACHABLE.into(), "NoExecute".into(), true),
                (DISK_PRESSURE.into(), "NoSchedule".into(), false),
            ]
        );
        assert_eq!(taints[2].time_added, Some(Time(at(5))));
        // Applied, they are stable and keep their time.
        let mut tainted = n.clone();
        if let Some(s) = tainted.spec.as_mut() {
            s.taints = Some(taints);
        }
        assert_eq!(desired(&tainted, true, at(50)), None);
    }

    #[test]
    fn node_lifecycle_not_ready_swaps_unreachable_and_recovery_removes_all() {
        let n = node(
            "False",
            serde_json::json!([
                {"key": UNREACHABLE, "effect": "NoExecute", "timeAdded": at(0).to_string()},
                {"key": UNREACHABLE, "effect": "NoSchedule"},
            ]),
            false,
        );
        let taints = desired(&n, true, at(9)).expect("changes");
        assert_eq!(
            keys(&taints),
            vec![
                (NOT_READY.into(), "NoSchedule".into(), false),
                (NOT_READY.into(), "NoExecute".into(), true),
                (DISK_PRESSURE.into(), "NoSchedule".into(), false),
            ]
        );
        let mut recovered = n.clone();
        if let Some(s) = recovered.spec.as_mut() {
            s.taints = Some(taints);
        }
        if let Some(c) = recovered
            .status
            .as_mut()
            .and_then(|s| s.conditions.as_mut())
        {
            c[0].status = "True".into();
            c[2].status = "False".into();
        }
        assert_eq!(desired(&recovered, true, at(20)), Some(vec![]));
    }

    #[test]
    fn node_lifecycle_cordon_and_full_disruption() {
        let n = node("True", serde_json::json!(null), true);
        let taints = desired(&n, true, at(0)).expect("changes");
        assert!(keys(&taints).contains(&(UNSCHEDULABLE.into(), "NoSchedule".into(), false)));
        // A fully disrupted zone keeps NoSchedule taints but evicts nothing.
        let n = node(
            "Unknown",
            serde_json::json!([{"key": UNREACHABLE, "effect": "NoExecute"}]),
            false,
        );
        let taints = desired(&n, false, at(0)).expect("changes");
        assert!(!taints.iter().any(|t| t.effect == "NoExecute"));
        assert!(keys(&taints).contains(&(UNREACHABLE.into(), "NoSchedule".into(), false)));
    }
}
