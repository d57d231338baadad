//! The DaemonSet plan on recorded objects: one pod per fitting node,
//! removal from nodes that stop fitting or disappear, rolling updates
//! within maxUnavailable or maxSurge, and status.

use super::*;
use crate::daemonset::placement::{TEMPLATE_GENERATION_ANNOTATION, TEMPLATE_GENERATION_LABEL};
use serde_json::json;

fn now() -> jiff::Timestamp {
    jiff::Timestamp::from_second(1_700_000_000).expect("time")
}

fn ds(strategy: serde_json::Value) -> DaemonSet {
    serde_json::from_value(json!({
        "metadata": {"name": "agent", "namespace": "ns", "uid": "ds-uid", "generation": 2,
            "annotations": {TEMPLATE_GENERATION_ANNOTATION: "2"}},
        "spec": {"selector": {"matchLabels": {"app": "agent"}}, "updateStrategy": strategy,
            "template": {"metadata": {"labels": {"app": "agent"}}, "spec": {"containers": [{"name": "c", "image": "agent:2"}],
                "nodeSelector": {"role": "worker"}}}}
    }))
    .expect("daemonset")
}

fn rolling(max_unavailable: serde_json::Value, max_surge: serde_json::Value) -> serde_json::Value {
    json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": max_unavailable, "maxSurge": max_surge}})
}

fn node(name: &str, worker: bool) -> Node {
    let labels = if worker { json!({"role": "worker"}) } else { json!({}) };
    serde_json::from_value(json!({"metadata": {"name": name, "labels": labels}})).expect("node")
}

/// A pod on `node` at template generation `generation` ("hash-<generation>"), Ready or not.
fn pod(name: &str, node: &str, generation: i64, ready: bool, created: i64) -> Pod {
    serde_json::from_value(json!({
        "metadata": {"name": name, "namespace": "ns", "uid": format!("uid-{name}"),
            "creationTimestamp": k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(jiff::Timestamp::from_second(created).expect("time")),
            "labels": {"app": "agent", POD_REVISION_LABEL: format!("hash-{generation}"), TEMPLATE_GENERATION_LABEL: generation.to_string()}},
        "spec": {"containers": [{"name": "c"}], "nodeName": node},
        "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": if ready { "True" } else { "False" }}]}
    }))
    .expect("pod")
}

fn run(d: &DaemonSet, nodes: &[Node], pods: &[Pod]) -> Plan {
    let nodes: Vec<&Node> = nodes.iter().collect();
    let pods: Vec<&Pod> = pods.iter().collect();
    plan(d, &nodes, &pods, "hash-2", true, now())
}

fn names(p: &Plan) -> Vec<String> {
    p.delete.iter().map(|d| d.name.clone()).collect()
}

#[test]
fn ds_one_pod_per_fitting_node() {
    let d = ds(rolling(json!(1), json!(0)));
    let nodes = [node("a", true), node("b", true), node("c", false)];
    let p = run(&d, &nodes, &[]);
    assert_eq!(p.create_on, vec!["a", "b"]);
    assert!(p.delete.is_empty());
    assert_eq!((p.status.desired_number_scheduled, p.status.current_number_scheduled), (2, 0));
    assert_eq!(p.status.number_unavailable, Some(2));
    // A pod on a node that stopped fitting, a duplicate and one for a
    // deleted node go; the oldest of the duplicates stays.
    let pods = [pod("a1", "a", 2, true, 10), pod("a2", "a", 2, true, 20), pod("c1", "c", 2, true, 10), pod("gone", "d", 2, true, 10)];
    let p = run(&d, &nodes, &pods);
    assert_eq!(p.create_on, vec!["b"]);
    assert_eq!(names(&p), vec!["a2", "c1", "gone"]);
    assert_eq!((p.status.current_number_scheduled, p.status.number_misscheduled, p.status.number_ready), (1, 1, 1));
    assert_eq!(p.status.observed_generation, Some(2));
}

#[test]
fn ds_failed_pod_is_replaced_with_a_warning() {
    let d = ds(rolling(json!(1), json!(0)));
    let mut failed = pod("a1", "a", 2, false, 10);
    if let Some(s) = failed.status.as_mut() {
        s.phase = Some("Failed".into());
    }
    let p = run(&d, &[node("a", true)], &[failed]);
    assert_eq!(names(&p), vec!["a1"]);
    assert_eq!(p.warnings, vec!["Found failed daemon pod ns/a1 on node a, will try to kill it"]);
}

#[test]
fn ds_rolling_update_within_max_unavailable() {
    let d = ds(rolling(json!(1), json!(0)));
    let nodes = [node("a", true), node("b", true), node("c", true)];
    let old = [pod("a1", "a", 1, true, 1), pod("b1", "b", 1, true, 1), pod("c1", "c", 1, true, 1)];
    assert_eq!(names(&run(&d, &nodes, &old)), vec!["a1"]);
    // a's new pod is not Ready yet: nobody else goes.
    let rolling_pods = [pod("a2", "a", 2, false, 5), pod("b1", "b", 1, true, 1), pod("c1", "c", 1, true, 1)];
    let p = run(&d, &nodes, &rolling_pods);
    assert!(p.delete.is_empty() && p.create_on.is_empty());
    assert_eq!(p.status.updated_number_scheduled, Some(1));
    // An old pod that is not Ready anyway is replaced at once.
    let broken = [pod("a2", "a", 2, true, 5), pod("b1", "b", 1, false, 1), pod("c1", "c", 1, true, 1)];
    assert_eq!(names(&run(&d, &nodes, &broken)), vec!["b1"]);
    // Two at a time with maxUnavailable 2.
    let d2 = ds(rolling(json!("50%"), json!(0)));
    assert_eq!(names(&run(&d2, &nodes, &old)), vec!["a1", "b1"]);
    // OnDelete leaves old pods alone.
    let on_delete = ds(json!({"type": "OnDelete"}));
    assert!(run(&on_delete, &nodes, &old).delete.is_empty());
}

#[test]
fn ds_rolling_update_with_surge() {
    let d = ds(rolling(json!(0), json!(1)));
    let nodes = [node("a", true), node("b", true)];
    let old = [pod("a1", "a", 1, true, 1), pod("b1", "b", 1, true, 1)];
    let p = run(&d, &nodes, &old);
    assert_eq!((p.create_on.clone(), names(&p)), (vec!["a".to_string()], vec![]));
    // The new pod on a is Ready: the old one goes, b is next.
    let surged = [pod("a1", "a", 1, true, 1), pod("a2", "a", 2, true, 5), pod("b1", "b", 1, true, 1)];
    let p = run(&d, &nodes, &surged);
    assert_eq!(names(&p), vec!["a1"]);
}

#[test]
fn ds_nothing_happens_before_the_cache_catches_up() {
    let d = ds(rolling(json!(1), json!(0)));
    let nodes: Vec<Node> = vec![node("a", true)];
    let refs: Vec<&Node> = nodes.iter().collect();
    let p = plan(&d, &refs, &[], "hash-2", false, now());
    assert!(p.create_on.is_empty());
    assert_eq!(p.status.observed_generation, None);
}
