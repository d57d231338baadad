//! The ReplicaSet controller's decisions as pure functions over recorded
//! objects: which pods count, the pod to create from the template, which
//! surplus pods go first (Kubernetes' `ActivePodsWithRanks`), and the status.

use super::claim;
use k8s_openapi::api::apps::v1::{ReplicaSet, ReplicaSetCondition, ReplicaSetStatus};
use crate::cached_pod::{CachedPod, PodConditions};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use std::cmp::Ordering;

/// The annotation that lowers a pod's cost of deletion (PodDeletionCost,
/// on by default).
pub const DELETION_COST: &str = "controller.kubernetes.io/pod-deletion-cost";

/// Whether the pod still counts toward replicas: not finished, not being
/// deleted (`controller.FilterActivePods`).
pub fn is_active(pod: &CachedPod) -> bool {
    let phase = pod.status.as_ref().and_then(|s| s.phase.as_deref());
    phase != Some("Succeeded") && phase != Some("Failed") && pod.metadata.deletion_timestamp.is_none()
}

/// The pod's Ready condition's transition time, when it is Ready.
pub fn ready_since(pod: &impl PodConditions) -> Option<Option<jiff::Timestamp>> {
    pod.conditions()
        .iter()
        .find(|c| c.type_ == "Ready")
        .filter(|c| c.status == "True")
        .map(|c| c.last_transition_time.as_ref().map(|t| t.0))
}

pub fn is_ready(pod: &impl PodConditions) -> bool {
    ready_since(pod).is_some()
}

/// Ready for at least `min_ready_seconds` (`podutil.IsPodAvailable`).
pub fn is_available(pod: &impl PodConditions, min_ready_seconds: i32, now: jiff::Timestamp) -> bool {
    match ready_since(pod) {
        None => false,
        Some(_) if min_ready_seconds <= 0 => true,
        Some(None) => false,
        Some(Some(since)) => {
            let ready_for = now.duration_since(since);
            ready_for > jiff::SignedDuration::from_secs(i64::from(min_ready_seconds))
        }
    }
}

/// The pod a ReplicaSet creates: the template's labels, annotations and
/// spec, a generated name `<rs>-<5 chars>`, and the controller reference.
pub fn pod_for(rs: &ReplicaSet) -> Pod {
    let template = rs.spec.as_ref().and_then(|s| s.template.clone()).unwrap_or_default();
    let tmeta = template.metadata.unwrap_or_default();
    let name = rs.metadata.name.clone().unwrap_or_default();
    let owner = claim::controller_ref("apps/v1", "ReplicaSet", &name, rs.metadata.uid.as_deref().unwrap_or_default());
    Pod {
        metadata: ObjectMeta {
            generate_name: Some(format!("{name}-")),
            namespace: rs.metadata.namespace.clone(),
            labels: tmeta.labels,
            annotations: tmeta.annotations,
            finalizers: tmeta.finalizers,
            owner_references: Some(vec![owner]),
            ..Default::default()
        },
        spec: Some(template.spec.unwrap_or_default()),
        status: None,
    }
}

fn phase_rank(pod: &CachedPod) -> u8 {
    match pod.status.as_ref().and_then(|s| s.phase.as_deref()) {
        Some("Pending") | None => 0,
        Some("Unknown") => 1,
        Some("Running") => 2,
        _ => 3,
    }
}

fn deletion_cost(pod: &CachedPod) -> i32 {
    pod.metadata.annotations.as_ref().and_then(|a| a.get(DELETION_COST)).and_then(|v| v.parse().ok()).unwrap_or(0)
}

fn restarts(pod: &CachedPod) -> i32 {
    pod.status
        .as_ref()
        .and_then(|s| s.container_statuses.as_ref())
        .map(|cs| cs.iter().map(|c| c.restart_count).max().unwrap_or(0))
        .unwrap_or(0)
}

/// `logarithmicRankDiff`: compares how long ago two times were on a log2
/// scale of nanoseconds, so pods of similar age rank the same.
fn log_rank(t: jiff::Timestamp, now: jiff::Timestamp) -> i64 {
    let d = now.duration_since(t).as_nanos();
    if d > 0 { (d as f64).log2() as i64 } else { -1 }
}

/// Kubernetes' order between two times where a zero (missing) time goes
/// first, then the newer one (`afterOrZero` with LogarithmicScaleDown, the
/// uid breaking ties inside one log bucket). `Some(Less)` means `a` goes
/// first; `None` means no decision.
fn newer_first(a: (Option<jiff::Timestamp>, &str), b: (Option<jiff::Timestamp>, &str), now: jiff::Timestamp) -> Option<Ordering> {
    match (a.0, b.0) {
        (x, y) if x == y => None,
        (None, _) => Some(Ordering::Less),
        (_, None) => Some(Ordering::Greater),
        (Some(x), Some(y)) => {
            let diff = log_rank(x, now) - log_rank(y, now);
            if diff == 0 { Some(a.1.cmp(b.1)) } else { Some(diff.cmp(&0)) }
        }
    }
}

/// Orders pods so the ones to delete first come first (`ActivePodsWithRanks`).
/// `rank` is the number of related active pods on the same node.
pub fn deletion_order(a: (&CachedPod, usize), b: (&CachedPod, usize), now: jiff::Timestamp) -> Ordering {
    let (pa, ra) = a;
    let (pb, rb) = b;
    let node = |p: &CachedPod| p.spec.as_ref().and_then(|s| s.node_name.clone()).unwrap_or_default();
    // 1. Unassigned before assigned.
    let (na, nb) = (node(pa).is_empty(), node(pb).is_empty());
    if na != nb {
        return if na { Ordering::Less } else { Ordering::Greater };
    }
    // 2. Pending < Unknown < Running.
    if phase_rank(pa) != phase_rank(pb) {
        return phase_rank(pa).cmp(&phase_rank(pb));
    }
    // 3. Not ready before ready.
    if is_ready(pa) != is_ready(pb) {
        return if is_ready(pa) { Ordering::Greater } else { Ordering::Less };
    }
    // 4. Lower deletion cost first.
    if deletion_cost(pa) != deletion_cost(pb) {
        return deletion_cost(pa).cmp(&deletion_cost(pb));
    }
    // 5. Doubled up on a node before alone.
    if ra != rb {
        return rb.cmp(&ra);
    }
    let uid = |p: &CachedPod| p.metadata.uid.clone().unwrap_or_default();
    let (ua, ub) = (uid(pa), uid(pb));
    // 6. Ready for less time first.
    if is_ready(pa) {
        let ta = ready_since(pa).flatten();
        let tb = ready_since(pb).flatten();
        if let Some(o) = newer_first((ta, &ua), (tb, &ub), now) {
            return o;
        }
    }
    // 7. More restarts first.
    if restarts(pa) != restarts(pb) {
        return restarts(pb).cmp(&restarts(pa));
    }
    // 8. Newer first.
    let created = |p: &CachedPod| p.metadata.creation_timestamp.as_ref().map(|t| t.0);
    newer_first((created(pa), &ua), (created(pb), &ub), now).unwrap_or(Ordering::Equal)
}

/// The `diff` pods to delete from `pods` (all active and owned), ranked
/// against `related` (active pods of the same owner family, for rank 5).
pub fn to_delete<'a>(pods: &[&'a CachedPod], related: &[&CachedPod], diff: usize, now: jiff::Timestamp) -> Vec<&'a CachedPod> {
    if diff >= pods.len() {
        return pods.to_vec();
    }
    let node = |p: &CachedPod| p.spec.as_ref().and_then(|s| s.node_name.clone()).filter(|n| !n.is_empty());
    let mut ranked: Vec<(&CachedPod, usize)> = pods
        .iter()
        .map(|p| {
            let rank = match node(p) {
                Some(n) => related.iter().filter(|r| node(r).as_deref() == Some(n.as_str())).count(),
                None => 0,
            };
            (*p, rank)
        })
        .collect();
    ranked.sort_by(|a, b| deletion_order(*a, *b, now));
    ranked.into_iter().take(diff).map(|(p, _)| p).collect()
}

/// The ReplicaFailure condition reason when creating (`FailedCreate`) or
/// deleting (`FailedDelete`) pods failed.
pub const FAILED_CREATE: &str = "FailedCreate";
pub const FAILED_DELETE: &str = "FailedDelete";

/// The status from the owned active pods (`calculateStatus`). `failure`:
/// the reason and message of a failed create/delete in this sync.
pub fn status(rs: &ReplicaSet, pods: &[&CachedPod], failure: Option<(&str, String)>, now: jiff::Timestamp) -> ReplicaSetStatus {
    let mut st = rs.status.clone().unwrap_or_default();
    let spec = rs.spec.as_ref();
    let min_ready = spec.and_then(|s| s.min_ready_seconds).unwrap_or(0);
    let template_labels = spec.and_then(|s| s.template.as_ref()).and_then(|t| t.metadata.as_ref()).and_then(|m| m.labels.clone()).unwrap_or_default();
    let count = |f: &dyn Fn(&CachedPod) -> bool| pods.iter().filter(|p| f(p)).count() as i32;
    st.replicas = pods.len() as i32;
    st.fully_labeled_replicas = Some(count(&|p| {
        let labels = p.metadata.labels.clone().unwrap_or_default();
        template_labels.iter().all(|(k, v)| labels.get(k) == Some(v))
    }));
    st.ready_replicas = Some(count(&|p| is_ready(p)));
    st.available_replicas = Some(count(&|p| is_available(p, min_ready, now)));
    st.observed_generation = rs.metadata.generation;
    let mut conditions = st.conditions.take().unwrap_or_default();
    let has_failure = conditions.iter().any(|c| c.type_ == "ReplicaFailure");
    match failure {
        Some((reason, message)) if !has_failure => conditions.push(ReplicaSetCondition {
            type_: "ReplicaFailure".into(),
            status: "True".into(),
            reason: Some(reason.into()),
            message: Some(message),
            last_transition_time: Some(Time(now)),
        }),
        None => conditions.retain(|c| c.type_ != "ReplicaFailure"),
        Some(_) => {}
    }
    st.conditions = if conditions.is_empty() { None } else { Some(conditions) };
    // Kubernetes' status always carries these counts, zeros included, but
    // omits zero ready/available; keep the wire form the same.
    if st.ready_replicas == Some(0) {
        st.ready_replicas = None;
    }
    if st.available_replicas == Some(0) {
        st.available_replicas = None;
    }
    if st.fully_labeled_replicas == Some(0) {
        st.fully_labeled_replicas = None;
    }
    st
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cached_pod::CachedPodStatus;
    use k8s_openapi::api::core::v1::PodCondition;
    use serde_json::json;

    fn pod(name: &str, node: &str, phase: &str, ready: bool, created: i64) -> CachedPod {
        let mut p: CachedPod = serde_json::from_value(json!({
            "metadata": {"name": name, "uid": format!("uid-{name}"), "creationTimestamp": Time(jiff::Timestamp::from_second(created).expect("time"))},
            "spec": {"containers": [{"name": "c"}], "nodeName": node},
            "status": {"phase": phase}
        }))
        .expect("pod");
        if ready {
            p.status = Some(CachedPodStatus {
                phase: Some(phase.into()),
                conditions: Some(vec![PodCondition {
                    type_: "Ready".into(),
                    status: "True".into(),
                    last_transition_time: Some(Time(jiff::Timestamp::from_second(created + 10).expect("time"))),
                    ..Default::default()
                }]),
                ..Default::default()
            });
        }
        p
    }

    fn now() -> jiff::Timestamp {
        jiff::Timestamp::from_second(1_000_000).expect("time")
    }

    #[test]
    fn rs_deletes_unscheduled_then_pending_then_not_ready_first() {
        let running_ready = pod("a", "n1", "Running", true, 100);
        let running = pod("b", "n1", "Running", false, 100);
        let pending = pod("c", "n1", "Pending", false, 100);
        let unscheduled = pod("d", "", "Pending", false, 100);
        let pods = vec![&running_ready, &running, &pending, &unscheduled];
        let names: Vec<_> = to_delete(&pods, &pods, 3, now()).iter().map(|p| p.metadata.name.clone().unwrap_or_default()).collect();
        assert_eq!(names, ["d", "c", "b"]);
    }

    #[test]
    fn rs_deletes_newer_pods_first_on_a_log_scale() {
        let old = pod("old", "", "Pending", false, 1000);
        let new = pod("new", "", "Pending", false, 999_000);
        let pods = vec![&old, &new];
        let first = to_delete(&pods, &pods, 1, now());
        assert_eq!(first[0].metadata.name.as_deref(), Some("new"));
    }

    #[test]
    fn rs_doubled_up_pods_go_before_lone_ones() {
        let a = pod("a", "n1", "Running", false, 100);
        let b = pod("b", "n2", "Running", false, 100);
        let c = pod("c", "n2", "Running", false, 100);
        let pods = vec![&a, &b];
        let related = vec![&a, &b, &c];
        assert_eq!(to_delete(&pods, &related, 1, now())[0].metadata.name.as_deref(), Some("b"));
    }

    #[test]
    fn rs_pod_for_template_has_owner_and_labels() {
        let rs: ReplicaSet = serde_json::from_value(json!({
            "metadata": {"name": "web-abc", "namespace": "default", "uid": "u1"},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}
        }))
        .expect("rs");
        let p = serde_json::to_value(pod_for(&rs)).expect("json");
        assert_eq!(p["metadata"]["generateName"], "web-abc-");
        assert_eq!(p["metadata"]["labels"]["app"], "web");
        assert_eq!(p["metadata"]["ownerReferences"][0]["controller"], true);
        assert_eq!(p["metadata"]["ownerReferences"][0]["blockOwnerDeletion"], true);
        assert_eq!(p["metadata"]["ownerReferences"][0]["kind"], "ReplicaSet");
        assert_eq!(p["spec"]["containers"][0]["image"], "nginx");
    }

    #[test]
    fn rs_status_counts_ready_available_and_records_failure() {
        let rs: ReplicaSet = serde_json::from_value(json!({
            "metadata": {"name": "web", "generation": 4},
            "spec": {"replicas": 3, "minReadySeconds": 100, "selector": {"matchLabels": {"app": "web"}},
                "template": {"metadata": {"labels": {"app": "web"}}}}
        }))
        .expect("rs");
        let mut ready_old = pod("a", "n", "Running", true, 100);
        ready_old.metadata.labels = Some([("app".to_string(), "web".to_string())].into());
        let ready_new = pod("b", "n", "Running", true, 999_950);
        let st = status(&rs, &[&ready_old, &ready_new], Some((FAILED_CREATE, "quota".into())), now());
        assert_eq!(st.replicas, 2);
        assert_eq!(st.fully_labeled_replicas, Some(1));
        assert_eq!(st.ready_replicas, Some(2));
        assert_eq!(st.available_replicas, Some(1));
        assert_eq!(st.observed_generation, Some(4));
        let c = &st.conditions.clone().unwrap_or_default()[0];
        assert_eq!((c.type_.as_str(), c.reason.as_deref()), ("ReplicaFailure", Some("FailedCreate")));
        let mut rs2 = rs.clone();
        rs2.status = Some(st);
        assert!(status(&rs2, &[], None, now()).conditions.is_none());
    }
}
