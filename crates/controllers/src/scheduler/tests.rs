//! Filters, scores and the diagnosis message on recorded objects.

use super::cache::{Cache, PodInfo};
use super::decide::decide;
use crate::cached_pod::CachedPod;
use k8s_openapi::api::core::v1::Node;
use serde_json::{Value, json};
use std::sync::Arc;

fn node(name: &str, extra: Value) -> Node {
    let mut n = json!({
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name}},
        "spec": {},
        "status": {
            "allocatable": {"cpu": "4", "memory": "16Gi", "pods": "110", "ephemeral-storage": "100Gi"},
            "conditions": [{"type": "Ready", "status": "True"}],
        },
    });
    merge(&mut n, extra);
    serde_json::from_value(n).expect("node")
}

fn pod(name: &str, extra: Value) -> PodInfo {
    let mut p = json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": "default", "labels": {"app": "web"}},
        "spec": {"containers": [{"name": "c", "image": "nginx", "resources": {"requests": {"cpu": "100m"}}}]},
    });
    merge(&mut p, extra);
    PodInfo::new(Arc::new(serde_json::from_value::<CachedPod>(p).expect("pod")))
}

fn merge(into: &mut Value, extra: Value) {
    match (into, extra) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in b {
                merge(a.entry(k).or_insert(Value::Null), v);
            }
        }
        (a, b) => *a = b,
    }
}

fn cache(nodes: &[Node]) -> Cache {
    let mut c = Cache::default();
    for n in nodes {
        c.upsert_node(n);
    }
    c
}

fn three() -> Cache {
    cache(&[node("sim-0", json!({})), node("sim-1", json!({})), node("sim-2", json!({}))])
}

fn message(c: &Cache, p: &PodInfo) -> String {
    decide(p, c, 0).expect_err("should not fit").to_string()
}

#[test]
fn sched_insufficient_cpu_message_is_kubernetes() {
    let c = three();
    let p = pod("big", json!({"spec": {"containers": [{"name": "c", "image": "x", "resources": {"requests": {"cpu": "100"}}}]}}));
    assert_eq!(
        message(&c, &p),
        "0/3 nodes are available: 3 Insufficient cpu. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod."
    );
}

#[test]
fn sched_node_selector_and_taints() {
    let c = cache(&[
        node("a", json!({"metadata": {"labels": {"disk": "ssd"}}, "spec": {"taints": [{"key": "dedicated", "value": "db", "effect": "NoSchedule"}]}})),
        node("b", json!({"spec": {"unschedulable": true}})),
        node("c", json!({})),
    ]);
    let p = pod("p", json!({"spec": {"nodeSelector": {"disk": "ssd"}}}));
    assert_eq!(
        message(&c, &p),
        "0/3 nodes are available: 1 node(s) didn't match Node's node affinity/selector, 1 node(s) had untolerated taint {dedicated: db}, 1 node(s) were unschedulable. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling."
    );
    let tolerating = pod("p", json!({"spec": {"nodeSelector": {"disk": "ssd"}, "tolerations": [{"key": "dedicated", "operator": "Exists"}]}}));
    assert_eq!(decide(&tolerating, &c, 0), Ok("a".to_string()));
}

#[test]
fn sched_not_ready_node_is_tainted() {
    let c = cache(&[node("a", json!({"status": {"conditions": [{"type": "Ready", "status": "False"}]}}))]);
    assert_eq!(
        message(&c, &pod("p", json!({}))),
        "0/1 nodes are available: 1 node(s) had untolerated taint {node.kubernetes.io/not-ready: }. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling."
    );
}

#[test]
fn sched_node_affinity_expressions_and_fields() {
    let c = cache(&[node("a", json!({"metadata": {"labels": {"zone": "z1", "gen": "3"}}})), node("b", json!({"metadata": {"labels": {"zone": "z2", "gen": "5"}}}))]);
    let affinity = |terms: Value| pod("p", json!({"spec": {"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": terms}}}}}));
    let p = affinity(json!([{"matchExpressions": [{"key": "gen", "operator": "Gt", "values": ["4"]}]}]));
    assert_eq!(decide(&p, &c, 0), Ok("b".to_string()));
    let p = affinity(json!([{"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["a"]}]}]));
    assert_eq!(decide(&p, &c, 0), Ok("a".to_string()));
    let p = affinity(json!([{"matchExpressions": [{"key": "zone", "operator": "NotIn", "values": ["z1", "z2"]}]}]));
    assert!(decide(&p, &c, 0).is_err());
}

#[test]
fn sched_resources_count_placed_pods() {
    let mut c = cache(&[node("a", json!({"status": {"allocatable": {"cpu": "1", "pods": "2"}}}))]);
    let half = json!({"spec": {"containers": [{"name": "c", "image": "x", "resources": {"requests": {"cpu": "600m", "memory": "1Gi"}}}]}});
    c.place(pod("one", half.clone()), "a");
    assert_eq!(
        message(&c, &pod("two", half.clone())),
        "0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod."
    );
    c.place(pod("tiny", json!({})), "a");
    let msg = message(&c, &pod("three", json!({"spec": {"containers": [{"name": "c", "image": "x"}]}})));
    assert!(msg.starts_with("0/1 nodes are available: 1 Too many pods."), "{msg}");
    assert!(c.unplace("default/one"));
    assert!(c.unplace("default/tiny"));
    assert_eq!(decide(&pod("two", half), &c, 0), Ok("a".to_string()));
}

#[test]
fn sched_host_port_conflict() {
    let mut c = cache(&[node("a", json!({}))]);
    let ported = json!({"spec": {"containers": [{"name": "c", "image": "x", "ports": [{"containerPort": 80, "hostPort": 8080}]}]}});
    c.place(pod("one", ported.clone()), "a");
    assert!(message(&c, &pod("two", ported)).starts_with("0/1 nodes are available: 1 node(s) didn't have free ports for the requested pod ports."));
}

#[test]
fn sched_least_allocated_spreads() {
    let mut c = cache(&[node("a", json!({})), node("b", json!({}))]);
    c.place(pod("x", json!({"spec": {"containers": [{"name": "c", "image": "x", "resources": {"requests": {"cpu": "2"}}}]}})), "a");
    assert_eq!(decide(&pod("p", json!({})), &c, 0), Ok("b".to_string()));
}

#[test]
fn sched_pod_anti_affinity_and_affinity() {
    let mut c = three();
    let anti = json!({"spec": {"affinity": {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"labelSelector": {"matchLabels": {"app": "web"}}, "topologyKey": "kubernetes.io/hostname"}]}}}});
    c.place(pod("w0", anti.clone()), "sim-0");
    c.place(pod("w1", anti.clone()), "sim-1");
    assert_eq!(decide(&pod("w2", anti.clone()), &c, 0), Ok("sim-2".to_string()));
    c.place(pod("w2", anti.clone()), "sim-2");
    let msg = message(&c, &pod("w3", anti));
    assert!(msg.starts_with("0/3 nodes are available: 3 node(s) didn't satisfy existing pods anti-affinity rules."), "{msg}");
    // Affinity to a pod that exists nowhere fails, except for the first of
    // its own group.
    let with = |labels: Value| {
        pod("f", json!({"metadata": {"labels": labels}, "spec": {"affinity": {"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
            {"labelSelector": {"matchLabels": {"app": "db"}}, "topologyKey": "kubernetes.io/hostname"}]}}}}))
    };
    let c = three();
    assert!(message(&c, &with(json!({"app": "cache"}))).contains("3 node(s) didn't match pod affinity rules"));
    assert!(decide(&with(json!({"app": "db"})), &c, 0).is_ok());
    let mut c = three();
    c.place(pod("db", json!({"metadata": {"labels": {"app": "db"}}})), "sim-1");
    assert_eq!(decide(&with(json!({"app": "cache"})), &c, 0), Ok("sim-1".to_string()));
}

#[test]
fn sched_topology_spread_max_skew() {
    let mut c = cache(&[node("a", json!({})), node("b", json!({}))]);
    let spread = json!({"spec": {"topologySpreadConstraints": [{"maxSkew": 1, "topologyKey": "kubernetes.io/hostname",
        "whenUnsatisfiable": "DoNotSchedule", "labelSelector": {"matchLabels": {"app": "web"}}}]}});
    c.place(pod("w0", spread.clone()), "a");
    assert_eq!(decide(&pod("w1", spread.clone()), &c, 0), Ok("b".to_string()));
    c.place(pod("w1", spread.clone()), "a");
    let by_zone = json!({"spec": {"topologySpreadConstraints": [{"maxSkew": 1, "topologyKey": "zone",
        "whenUnsatisfiable": "DoNotSchedule", "labelSelector": {"matchLabels": {"app": "web"}}}]}});
    let msg = message(&cache(&[node("x", json!({}))]), &pod("w2", by_zone));
    assert!(msg.contains("1 node(s) didn't match pod topology spread constraints (missing required label)"), "{msg}");
    // a has 2, b has 0: a is over the skew.
    let only_a = pod("w3", json!({"spec": {"nodeSelector": {"kubernetes.io/hostname": "a"}, "topologySpreadConstraints": [{"maxSkew": 1, "topologyKey": "kubernetes.io/hostname",
        "whenUnsatisfiable": "DoNotSchedule", "labelSelector": {"matchLabels": {"app": "web"}}, "nodeAffinityPolicy": "Ignore"}]}}));
    assert_eq!(
        message(&c, &only_a),
        "0/2 nodes are available: 1 node(s) didn't match Node's node affinity/selector, 1 node(s) didn't match pod topology spread constraints. preemption: 0/2 nodes are available: 1 No preemption victims found for incoming pod, 1 Preemption is not helpful for scheduling."
    );
}

#[test]
fn sched_no_nodes() {
    let c = Cache::default();
    assert_eq!(message(&c, &pod("p", json!({}))), "no nodes available to schedule pods");
}
