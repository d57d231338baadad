//! The StatefulSet plan on recorded objects: ordinal order, OrderedReady
//! blocking, Parallel bursts, scale-down from the top, partitioned
//! rolling updates and status.

use super::*;
use k8s_openapi::api::core::v1::PersistentVolumeClaim;
use serde_json::json;

const NOW: i64 = 1_700_000_000;

fn now() -> jiff::Timestamp {
    jiff::Timestamp::from_second(NOW).expect("time")
}

fn set(replicas: i32, extra: serde_json::Value) -> StatefulSet {
    let mut v = json!({
        "metadata": {"name": "web", "namespace": "ns", "uid": "set-uid", "generation": 2},
        "spec": {"replicas": replicas, "serviceName": "nginx", "selector": {"matchLabels": {"app": "web"}},
            "podManagementPolicy": "OrderedReady",
            "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}},
            "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": "nginx:2"}]}},
            "volumeClaimTemplates": [{"metadata": {"name": "www"}, "spec": {"accessModes": ["ReadWriteOnce"]}}]}
    });
    if let (Some(spec), Some(extra)) = (v["spec"].as_object_mut(), extra.as_object()) {
        spec.extend(extra.clone());
    }
    serde_json::from_value(v).expect("statefulset")
}

fn template(image: &str) -> PodTemplateSpec {
    serde_json::from_value(json!({"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": image}]}})).expect("template")
}

/// A pod of `ordinal` at `revision`; `state` is "pending", "ready",
/// "terminating" or "failed".
fn pod(ordinal: i32, revision: &str, state: &str) -> Pod {
    let (phase, ready) = match state {
        "ready" | "terminating" => ("Running", "True"),
        "failed" => ("Failed", "False"),
        _ => ("Pending", "False"),
    };
    let mut p: Pod = serde_json::from_value(json!({
        "metadata": {"name": format!("web-{ordinal}"), "uid": format!("uid-{ordinal}"),
            "labels": {"app": "web", POD_NAME_LABEL: format!("web-{ordinal}"), POD_INDEX_LABEL: ordinal.to_string(), POD_REVISION_LABEL: revision}},
        "spec": {"containers": [{"name": "c"}]},
        "status": {"phase": phase, "conditions": [{"type": "Ready", "status": ready, "lastTransitionTime": "2023-11-14T22:00:00Z"}]}
    }))
    .expect("pod");
    if state == "terminating" {
        p.metadata.deletion_timestamp = Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(now()));
    }
    p
}

struct Fixture {
    current: PodTemplateSpec,
    update: PodTemplateSpec,
}

impl Fixture {
    fn new() -> Fixture {
        Fixture { current: template("nginx:1"), update: template("nginx:2") }
    }
    fn revs(&self) -> Revisions<'_> {
        Revisions { current: "web-old", current_template: &self.current, update: "web-new", update_template: &self.update, collision_count: 0 }
    }
}

fn run(set: &StatefulSet, pods: &[Pod], claims: &[PersistentVolumeClaim]) -> Plan {
    let f = Fixture::new();
    let refs: Vec<&Pod> = pods.iter().collect();
    // Existing pods have their claims unless the test gives others.
    let mut all: Vec<PersistentVolumeClaim> = claims.to_vec();
    for p in pods {
        let name = format!("www-{}", p.metadata.name.clone().unwrap_or_default());
        if !all.iter().any(|c| c.metadata.name.as_deref() == Some(name.as_str())) {
            all.push(serde_json::from_value(json!({"metadata": {"name": name}})).expect("pvc"));
        }
    }
    plan(set, &f.revs(), &refs, |n| all.iter().find(|c| c.metadata.name.as_deref() == Some(n)), now())
}

/// The steps as short strings: `create web-1 (www-web-1)`, `delete web-2`.
fn brief(p: &Plan) -> Vec<String> {
    p.steps
        .iter()
        .map(|s| match s {
            Step::Create { pod, claims } => {
                let claims: Vec<_> = claims.iter().filter_map(|c| c.metadata.name.clone()).collect();
                format!("create {} ({})", pod.metadata.name.clone().unwrap_or_default(), claims.join(","))
            }
            Step::CreateClaims { pod, .. } => format!("claims {pod}"),
            Step::Delete { pod, why, .. } => format!("delete {pod} {why:?}"),
            Step::SetClaimOwners { claim, refs, .. } => format!("owners {claim} {}", refs.len()),
            Step::Relabel { pod, .. } => format!("relabel {pod}"),
        })
        .collect()
}

#[test]
fn sts_ordered_ready_creates_one_at_a_time_in_order() {
    let s = set(3, json!({}));
    assert_eq!(brief(&run(&s, &[], &[])), vec!["create web-0 (www-web-0)"]);
    // web-0 not Ready yet: wait.
    assert!(brief(&run(&s, &[pod(0, "web-new", "pending")], &[])).is_empty());
    assert_eq!(brief(&run(&s, &[pod(0, "web-new", "ready")], &[])), vec!["create web-1 (www-web-1)"]);
    // A pending pod whose claim is gone gets it back, and still blocks.
    let f = Fixture::new();
    let pending = pod(0, "web-new", "pending");
    let p = plan(&s, &f.revs(), &[&pending], |_| None, now());
    assert_eq!(brief(&p), vec!["claims web-0"]);
    // A gap below is filled first.
    assert_eq!(brief(&run(&s, &[pod(2, "web-new", "ready")], &[])), vec!["create web-0 (www-web-0)"]);
}

#[test]
fn sts_parallel_creates_all_and_keeps_existing_claims() {
    let s = set(3, json!({"podManagementPolicy": "Parallel"}));
    let existing: PersistentVolumeClaim = serde_json::from_value(json!({"metadata": {"name": "www-web-1"}})).expect("pvc");
    assert_eq!(brief(&run(&s, &[], &[existing])), vec!["create web-0 (www-web-0)", "create web-1 ()", "create web-2 (www-web-2)"]);
}

#[test]
fn sts_scale_down_from_the_top_waiting_for_termination() {
    let s = set(1, json!({}));
    let ready: Vec<Pod> = (0..3).map(|o| pod(o, "web-new", "ready")).collect();
    assert_eq!(brief(&run(&s, &ready, &[])), vec!["delete web-2 ScaleDown"]);
    let terminating = vec![pod(0, "web-new", "ready"), pod(1, "web-new", "ready"), pod(2, "web-new", "terminating")];
    assert!(brief(&run(&s, &terminating, &[])).is_empty());
    // Parallel deletes every condemned pod at once.
    let p = set(1, json!({"podManagementPolicy": "Parallel"}));
    assert_eq!(brief(&run(&p, &ready, &[])), vec!["delete web-2 ScaleDown", "delete web-1 ScaleDown"]);
    // An unhealthy lower replica blocks an ordered scale-down.
    let unhealthy = vec![pod(0, "web-new", "pending"), pod(1, "web-new", "ready")];
    assert!(brief(&run(&s, &unhealthy, &[])).is_empty());
}

#[test]
fn sts_failed_pod_is_replaced() {
    let s = set(2, json!({}));
    let pods = vec![pod(0, "web-new", "failed"), pod(1, "web-new", "ready")];
    assert_eq!(brief(&run(&s, &pods, &[])), vec!["delete web-0 Ended"]);
}

#[test]
fn sts_rolling_update_respects_partition_and_goes_down_one_at_a_time() {
    let s = set(3, json!({"updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 1}}}));
    let old: Vec<Pod> = (0..3).map(|o| pod(o, "web-old", "ready")).collect();
    assert_eq!(brief(&run(&s, &old, &[])), vec!["delete web-2 Update"]);
    // web-2 back at the new revision but not Ready: wait.
    let waiting = vec![pod(0, "web-old", "ready"), pod(1, "web-old", "ready"), pod(2, "web-new", "pending")];
    assert!(brief(&run(&s, &waiting, &[])).is_empty());
    let next = vec![pod(0, "web-old", "ready"), pod(1, "web-old", "ready"), pod(2, "web-new", "ready")];
    assert_eq!(brief(&run(&s, &next, &[])), vec!["delete web-1 Update"]);
    // Below the partition nothing moves.
    let done = vec![pod(0, "web-old", "ready"), pod(1, "web-new", "ready"), pod(2, "web-new", "ready")];
    assert!(brief(&run(&s, &done, &[])).is_empty());
    // A missing ordinal below the partition comes back at the current revision.
    let f = Fixture::new();
    let p = versioned_pod(&s, &f.revs(), 0, 0);
    assert_eq!(revision_of(&p), Some("web-old"));
    assert_eq!(revision_of(&versioned_pod(&s, &f.revs(), 0, 1)), Some("web-new"));
    // OnDelete never deletes for an update.
    let on_delete = set(3, json!({"updateStrategy": {"type": "OnDelete"}}));
    assert!(brief(&run(&on_delete, &old, &[])).is_empty());
}

#[test]
fn sts_claims_follow_retention_on_scale_down() {
    let s = set(1, json!({"persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Retain", "whenScaled": "Delete"}}));
    let claims: Vec<PersistentVolumeClaim> =
        (0..2).map(|o| serde_json::from_value(json!({"metadata": {"name": format!("www-web-{o}")}})).expect("pvc")).collect();
    let pods = vec![pod(0, "web-new", "ready"), pod(1, "web-new", "ready")];
    assert_eq!(brief(&run(&s, &pods, &claims)), vec!["owners www-web-1 1", "delete web-1 ScaleDown"]);
    // A claim still owned by the deleted pod blocks re-creating the ordinal.
    let stale: PersistentVolumeClaim = serde_json::from_value(json!({"metadata": {"name": "www-web-0",
        "ownerReferences": [{"apiVersion": "v1", "kind": "Pod", "name": "web-0", "uid": "old"}]}}))
    .expect("pvc");
    assert!(brief(&run(&s, &[], &[stale])).is_empty());
}

#[test]
fn sts_status_counts_and_completes_the_rollout() {
    let f = Fixture::new();
    let s = set(3, json!({}));
    let pods = [pod(0, "web-old", "ready"), pod(1, "web-new", "ready"), pod(2, "web-new", "pending")];
    let refs: Vec<&Pod> = pods.iter().collect();
    let st = status(&s, &f.revs(), &refs, now());
    assert_eq!((st.replicas, st.ready_replicas, st.available_replicas), (3, Some(2), Some(2)));
    assert_eq!((st.current_replicas, st.updated_replicas), (Some(1), Some(2)));
    assert_eq!((st.current_revision.as_deref(), st.update_revision.as_deref()), (Some("web-old"), Some("web-new")));
    assert_eq!(st.observed_generation, Some(2));
    let all = [pod(0, "web-new", "ready"), pod(1, "web-new", "ready"), pod(2, "web-new", "ready")];
    let refs: Vec<&Pod> = all.iter().collect();
    let st = status(&s, &f.revs(), &refs, now());
    assert_eq!((st.current_replicas, st.current_revision.as_deref()), (Some(3), Some("web-new")));
}
