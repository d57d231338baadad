//! The Deployment controller's vocabulary as pure functions (Kubernetes'
//! `deployment/util`): the pod-template hash, maxSurge/maxUnavailable,
//! revision and replica annotations, conditions, ReplicaSet orderings.

use k8s_openapi::api::apps::v1::{Deployment, DeploymentCondition, DeploymentStatus, ReplicaSet};
use k8s_openapi::api::core::v1::PodTemplateSpec;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use std::cmp::Ordering;

pub const HASH_LABEL: &str = "pod-template-hash";
pub const REVISION: &str = "deployment.kubernetes.io/revision";
pub const REVISION_HISTORY: &str = "deployment.kubernetes.io/revision-history";
pub const DESIRED_REPLICAS: &str = "deployment.kubernetes.io/desired-replicas";
pub const MAX_REPLICAS: &str = "deployment.kubernetes.io/max-replicas";
const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";
const ROLLBACK_TO: &str = "deprecated.deployment.rollback.to";

// Condition types and reasons, as `kubectl rollout status` reads them.
pub const AVAILABLE: &str = "Available";
pub const PROGRESSING: &str = "Progressing";
pub const REPLICA_FAILURE: &str = "ReplicaFailure";
pub const MIN_AVAILABLE: &str = "MinimumReplicasAvailable";
pub const MIN_UNAVAILABLE: &str = "MinimumReplicasUnavailable";
pub const NEW_RS_CREATED: &str = "NewReplicaSetCreated";
pub const FOUND_NEW_RS: &str = "FoundNewReplicaSet";
pub const RS_UPDATED: &str = "ReplicaSetUpdated";
pub const NEW_RS_AVAILABLE: &str = "NewReplicaSetAvailable";
pub const TIMED_OUT: &str = "ProgressDeadlineExceeded";
pub const PAUSED: &str = "DeploymentPaused";
pub const RESUMED: &str = "DeploymentResumed";
pub const FAILED_RS_CREATE: &str = "FailedRSCreate";

/// `rand.SafeEncodeString`'s alphabet: no vowels (no words) and no
/// look-alike characters.
const ALPHANUMS: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

/// The pod-template hash. Kubernetes feeds FNV-32a with a `spew` dump of the
/// Go struct, which depends on Go's type layout and cannot be reproduced
/// outside Go; Nubis feeds the same hash with the template's JSON (fields in
/// a fixed order, maps sorted) instead, then appends the collision count and
/// encodes the decimal sum the same way. Names therefore look like
/// Kubernetes' (`web-7d4b9c8f5`) but differ from a real cluster's for the
/// same template.
pub fn pod_template_hash(template: &PodTemplateSpec, collision_count: Option<i32>) -> String {
    let mut template = template.clone();
    if let Some(labels) = template.metadata.as_mut().and_then(|m| m.labels.as_mut()) {
        labels.remove(HASH_LABEL);
    }
    let bytes = serde_json::to_vec(&template).unwrap_or_default();
    let mut hash: u32 = 0x811c_9dc5;
    let mut feed = |b: u8| {
        hash ^= u32::from(b);
        hash = hash.wrapping_mul(0x0100_0193);
    };
    bytes.iter().for_each(|b| feed(*b));
    if let Some(c) = collision_count {
        (c as u32).to_le_bytes().iter().for_each(|b| feed(*b));
    }
    hash.to_string().bytes().map(|b| ALPHANUMS[usize::from(b) % ALPHANUMS.len()] as char).collect()
}

/// Whether two templates are equal apart from the hash label
/// (`EqualIgnoreHash`).
pub fn equal_ignore_hash(a: &PodTemplateSpec, b: &PodTemplateSpec) -> bool {
    let strip = |t: &PodTemplateSpec| {
        let mut t = t.clone();
        if let Some(m) = t.metadata.as_mut()
            && let Some(l) = m.labels.as_mut() {
                l.remove(HASH_LABEL);
                if l.is_empty() {
                    m.labels = None;
                }
            }
        t
    };
    strip(a) == strip(b)
}

pub fn replicas(d: &Deployment) -> i32 {
    d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1)
}

pub fn rs_replicas(rs: &ReplicaSet) -> i32 {
    rs.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1)
}

pub fn rs_available(rs: &ReplicaSet) -> i32 {
    rs.status.as_ref().and_then(|s| s.available_replicas).unwrap_or(0)
}

pub fn rs_status_replicas(rs: &ReplicaSet) -> i32 {
    rs.status.as_ref().map(|s| s.replicas).unwrap_or(0)
}

pub fn rs_ready(rs: &ReplicaSet) -> i32 {
    rs.status.as_ref().and_then(|s| s.ready_replicas).unwrap_or(0)
}

pub fn is_recreate(d: &Deployment) -> bool {
    d.spec.as_ref().and_then(|s| s.strategy.as_ref()).and_then(|s| s.type_.as_deref()) == Some("Recreate")
}

/// `intstr.GetScaledValueFromIntOrPercent`.
pub fn scaled_value(v: &IntOrString, total: i32, round_up: bool) -> i32 {
    match v {
        IntOrString::Int(i) => *i,
        IntOrString::String(s) => {
            let pct: i64 = s.trim_end_matches('%').parse().unwrap_or(0);
            let product = pct * i64::from(total);
            let v = if round_up { (product + 99).div_euclid(100) } else { product.div_euclid(100) };
            v as i32
        }
    }
}

/// `ResolveFenceposts`: (maxSurge, maxUnavailable) in pods; both zero
/// would deadlock a rollout, so maxUnavailable becomes 1.
pub fn fenceposts(d: &Deployment) -> (i32, i32) {
    let desired = replicas(d);
    let rolling = d.spec.as_ref().and_then(|s| s.strategy.as_ref()).and_then(|s| s.rolling_update.as_ref());
    let quarter = IntOrString::String("25%".into());
    let surge = rolling.and_then(|r| r.max_surge.clone()).unwrap_or_else(|| quarter.clone());
    let unavailable = rolling.and_then(|r| r.max_unavailable.clone()).unwrap_or(quarter);
    let surge = scaled_value(&surge, desired, true);
    let mut unavailable = scaled_value(&unavailable, desired, false);
    if surge == 0 && unavailable == 0 {
        unavailable = 1;
    }
    (surge, unavailable)
}

pub fn max_surge(d: &Deployment) -> i32 {
    if is_recreate(d) { 0 } else { fenceposts(d).0 }
}

pub fn max_unavailable(d: &Deployment) -> i32 {
    if is_recreate(d) || replicas(d) == 0 {
        return 0;
    }
    fenceposts(d).1.min(replicas(d))
}

fn annotation<'a>(rs: &'a ReplicaSet, key: &str) -> Option<&'a str> {
    rs.metadata.annotations.as_ref().and_then(|a| a.get(key)).map(String::as_str)
}

pub fn revision(rs: &ReplicaSet) -> i64 {
    annotation(rs, REVISION).and_then(|v| v.parse().ok()).unwrap_or(0)
}

pub fn desired_annotation(rs: &ReplicaSet) -> Option<i32> {
    annotation(rs, DESIRED_REPLICAS).and_then(|v| v.parse().ok())
}

pub fn max_replicas_annotation(rs: &ReplicaSet) -> Option<i32> {
    annotation(rs, MAX_REPLICAS).and_then(|v| v.parse().ok())
}

/// Sets desired-replicas and max-replicas; true if they changed.
pub fn set_replicas_annotations(rs: &mut ReplicaSet, desired: i32, max: i32) -> bool {
    let a = rs.metadata.annotations.get_or_insert_with(Default::default);
    let mut changed = false;
    for (k, v) in [(DESIRED_REPLICAS, desired), (MAX_REPLICAS, max)] {
        if a.get(k).map(String::as_str) != Some(v.to_string().as_str()) {
            a.insert(k.to_string(), v.to_string());
            changed = true;
        }
    }
    changed
}

/// `SetNewReplicaSetAnnotations`: the Deployment's own annotations, the new
/// revision (the old one goes to revision-history) and, for a ReplicaSet
/// being created, the replica annotations. True if anything changed.
pub fn set_new_rs_annotations(d: &Deployment, rs: &mut ReplicaSet, new_revision: i64, exists: bool) -> bool {
    let mut changed = false;
    let annotations = rs.metadata.annotations.get_or_insert_with(Default::default);
    for (k, v) in d.metadata.annotations.iter().flatten() {
        let skip = [LAST_APPLIED, REVISION, REVISION_HISTORY, DESIRED_REPLICAS, MAX_REPLICAS, ROLLBACK_TO].contains(&k.as_str());
        if !skip && annotations.get(k) != Some(v) {
            annotations.insert(k.clone(), v.clone());
            changed = true;
        }
    }
    let old = annotations.get(REVISION).cloned().unwrap_or_default();
    let old_number: i64 = old.parse().unwrap_or(0);
    if old_number < new_revision {
        annotations.insert(REVISION.to_string(), new_revision.to_string());
        changed = true;
        if !old.is_empty() {
            let history = match annotations.get(REVISION_HISTORY) {
                Some(h) if !h.is_empty() => format!("{h},{old}"),
                _ => old,
            };
            annotations.insert(REVISION_HISTORY.to_string(), history);
        }
    }
    if !exists {
        let desired = replicas(d);
        changed |= set_replicas_annotations(rs, desired, desired + max_surge(d));
    }
    changed
}

/// A condition stamped now (`NewDeploymentCondition`).
pub fn condition(type_: &str, status: &str, reason: &str, message: String, now: jiff::Timestamp) -> DeploymentCondition {
    DeploymentCondition {
        type_: type_.to_string(),
        status: status.to_string(),
        reason: Some(reason.to_string()),
        message: Some(message),
        last_update_time: Some(Time(now)),
        last_transition_time: Some(Time(now)),
    }
}

pub fn get_condition<'a>(status: &'a DeploymentStatus, type_: &str) -> Option<&'a DeploymentCondition> {
    status.conditions.iter().flatten().find(|c| c.type_ == type_)
}

/// `SetDeploymentCondition`: unchanged if status and reason are the same;
/// the transition time kept if only the reason changed.
pub fn set_condition(status: &mut DeploymentStatus, mut c: DeploymentCondition) {
    let conditions = status.conditions.get_or_insert_with(Vec::new);
    if let Some(current) = conditions.iter().find(|x| x.type_ == c.type_) {
        if current.status == c.status && current.reason == c.reason {
            return;
        }
        if current.status == c.status {
            c.last_transition_time = current.last_transition_time.clone();
        }
    }
    conditions.retain(|x| x.type_ != c.type_);
    conditions.push(c);
}

pub fn remove_condition(status: &mut DeploymentStatus, type_: &str) {
    if let Some(c) = status.conditions.as_mut() {
        c.retain(|x| x.type_ != type_);
    }
}

fn created(rs: &ReplicaSet) -> Option<jiff::Timestamp> {
    rs.metadata.creation_timestamp.as_ref().map(|t| t.0)
}

/// Oldest first, then by name (`ReplicaSetsByCreationTimestamp`).
pub fn by_creation(a: &ReplicaSet, b: &ReplicaSet) -> Ordering {
    created(a).cmp(&created(b)).then_with(|| a.metadata.name.cmp(&b.metadata.name))
}

/// Lowest revision first (`ReplicaSetsByRevision`).
pub fn by_revision(a: &ReplicaSet, b: &ReplicaSet) -> Ordering {
    revision(a).cmp(&revision(b)).then_with(|| by_creation(a, b))
}

/// Larger first, older first among equals (`ReplicaSetsBySizeOlder`).
pub fn by_size_older(a: &ReplicaSet, b: &ReplicaSet) -> Ordering {
    rs_replicas(b).cmp(&rs_replicas(a)).then_with(|| by_creation(a, b))
}

/// Larger first, newer first among equals (`ReplicaSetsBySizeNewer`).
pub fn by_size_newer(a: &ReplicaSet, b: &ReplicaSet) -> Ordering {
    rs_replicas(b).cmp(&rs_replicas(a)).then_with(|| by_creation(b, a))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn deployment(replicas: i32, strategy: serde_json::Value) -> Deployment {
        serde_json::from_value(json!({"metadata": {"name": "web"}, "spec": {"replicas": replicas, "strategy": strategy,
            "selector": {"matchLabels": {"app": "web"}}, "template": {"metadata": {"labels": {"app": "web"}}}}}))
        .expect("deployment")
    }

    #[test]
    fn deploy_fenceposts_round_surge_up_and_unavailable_down() {
        assert_eq!(fenceposts(&deployment(3, json!({"type": "RollingUpdate"}))), (1, 0));
        assert_eq!(fenceposts(&deployment(10, json!({"type": "RollingUpdate"}))), (3, 2));
        let zero = json!({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": "0%"}});
        assert_eq!(fenceposts(&deployment(4, zero)), (0, 1));
        assert_eq!(max_surge(&deployment(4, json!({"type": "Recreate"}))), 0);
        assert_eq!(max_unavailable(&deployment(4, json!({"type": "Recreate"}))), 0);
        let big = json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 9}});
        assert_eq!(max_unavailable(&deployment(4, big)), 4);
    }

    #[test]
    fn deploy_hash_is_stable_ignores_its_label_and_uses_the_safe_alphabet() {
        let d = deployment(1, json!({}));
        let t = d.spec.as_ref().map(|s| s.template.clone()).unwrap_or_default();
        let h = pod_template_hash(&t, None);
        assert_eq!(h, pod_template_hash(&t, None));
        assert!(h.len() >= 8 && h.len() <= 10, "{h}");
        assert!(h.bytes().all(|b| ALPHANUMS.contains(&b)));
        assert_ne!(h, pod_template_hash(&t, Some(1)));
        let mut labelled = t.clone();
        if let Some(l) = labelled.metadata.as_mut().and_then(|m| m.labels.as_mut()) {
            l.insert(HASH_LABEL.into(), h.clone());
        }
        assert_eq!(pod_template_hash(&labelled, None), h);
        assert!(equal_ignore_hash(&labelled, &t));
    }

    #[test]
    fn deploy_revision_annotations_keep_history() {
        let mut d = deployment(3, json!({"type": "RollingUpdate"}));
        d.metadata.annotations = Some([("team".to_string(), "a".to_string())].into());
        let mut rs = ReplicaSet::default();
        assert!(set_new_rs_annotations(&d, &mut rs, 1, false));
        let a = rs.metadata.annotations.clone().unwrap_or_default();
        assert_eq!(a[REVISION], "1");
        assert_eq!(a[DESIRED_REPLICAS], "3");
        assert_eq!(a[MAX_REPLICAS], "4");
        assert_eq!(a["team"], "a");
        assert!(!set_new_rs_annotations(&d, &mut rs, 1, true));
        assert!(set_new_rs_annotations(&d, &mut rs, 3, true));
        let a = rs.metadata.annotations.clone().unwrap_or_default();
        assert_eq!((a[REVISION].as_str(), a[REVISION_HISTORY].as_str()), ("3", "1"));
    }

    #[test]
    fn deploy_set_condition_keeps_transition_time_for_same_status() {
        let t0 = jiff::Timestamp::from_second(100).expect("time");
        let t1 = jiff::Timestamp::from_second(200).expect("time");
        let mut st = DeploymentStatus::default();
        set_condition(&mut st, condition(PROGRESSING, "True", NEW_RS_CREATED, "a".into(), t0));
        set_condition(&mut st, condition(PROGRESSING, "True", RS_UPDATED, "b".into(), t1));
        let c = get_condition(&st, PROGRESSING).cloned().unwrap_or_else(|| condition("", "", "", String::new(), t0));
        assert_eq!(c.reason.as_deref(), Some(RS_UPDATED));
        assert_eq!(c.last_transition_time, Some(Time(t0)));
        assert_eq!(c.last_update_time, Some(Time(t1)));
    }
}
