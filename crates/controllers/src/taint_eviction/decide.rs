//! What the taint eviction controller does with one pod on a node with
//! `NoExecute` taints, as a pure function: keep it (no such taint, or every
//! one tolerated forever), evict it now (some taint not tolerated), or
//! evict it once the shortest `tolerationSeconds` of the tolerations in
//! use has passed.

use jiff::{SignedDuration, Timestamp};
use k8s_openapi::api::core::v1::{Taint, Toleration};
use crate::cached_pod::CachedPod;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Keep,
    EvictNow,
    EvictAt(Timestamp),
}

/// Kubernetes' ToleratesTaint: an empty key with `Exists` matches every
/// key, an empty effect every effect, `Equal` (the default) compares
/// values.
pub fn tolerates(toleration: &Toleration, taint: &Taint) -> bool {
    let effect_ok = toleration
        .effect
        .as_deref()
        .is_none_or(|e| e.is_empty() || e == taint.effect);
    let key = toleration.key.as_deref().unwrap_or_default();
    let op = toleration.operator.as_deref().unwrap_or("Equal");
    let key_ok = (key.is_empty() && op == "Exists") || key == taint.key;
    let value_ok = match op {
        "Exists" => true,
        "Equal" | "" => {
            toleration.value.as_deref().unwrap_or_default()
                == taint.value.as_deref().unwrap_or_default()
        }
        _ => false,
    };
    effect_ok && key_ok && value_ok
}

/// When the pod's eviction clock started: when the node's `NoExecute`
/// taints were added (`first_seen` stands in for a taint without
/// `timeAdded`), or when the pod was bound, if later.
fn clock_start(
    pod: &CachedPod,
    taints: &[&Taint],
    first_seen: &dyn Fn(&Taint) -> Timestamp,
) -> Timestamp {
    let tainted = taints
        .iter()
        .map(|t| t.time_added.as_ref().map_or_else(|| first_seen(t), |a| a.0))
        .min();
    let bound = pod
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .and_then(|cs| {
            cs.iter()
                .find(|c| c.type_ == "PodScheduled" && c.status == "True")
        })
        .and_then(|c| c.last_transition_time.as_ref())
        .map(|t| t.0)
        .or_else(|| pod.metadata.creation_timestamp.as_ref().map(|t| t.0));
    match (tainted, bound) {
        (Some(t), Some(b)) => t.max(b),
        (Some(t), None) => t,
        (None, b) => b.unwrap_or_else(Timestamp::now),
    }
}

/// The verdict for `pod` on a node with `taints` (all its taints).
pub fn verdict(pod: &CachedPod, taints: &[Taint], first_seen: &dyn Fn(&Taint) -> Timestamp) -> Verdict {
    let no_execute: Vec<&Taint> = taints.iter().filter(|t| t.effect == "NoExecute").collect();
    if no_execute.is_empty() {
        return Verdict::Keep;
    }
    let tolerations = pod
        .spec
        .as_ref()
        .and_then(|s| s.tolerations.clone())
        .unwrap_or_default();
    let mut used: Vec<&Toleration> = Vec::new();
    for taint in &no_execute {
        let matching: Vec<&Toleration> =
            tolerations.iter().filter(|t| tolerates(t, taint)).collect();
        if matching.is_empty() {
            return Verdict::EvictNow;
        }
        used.extend(matching);
    }
    // The shortest tolerationSeconds wins; none means forever, and a
    // negative one counts as zero.
    let Some(seconds) = used.iter().filter_map(|t| t.toleration_seconds).min() else {
        return Verdict::Keep;
    };
    let start = clock_start(pod, &no_execute, first_seen);
    let deadline = start
        .checked_add(SignedDuration::from_secs(seconds.max(0)))
        .unwrap_or(start);
    Verdict::EvictAt(deadline)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn at(s: i64) -> Timestamp {
        Timestamp::from_second(1_700_000_000 + s).expect("valid time")
    }

    fn pod(tolerations: serde_json::Value, bound: i64) -> CachedPod {
        serde_json::from_value(json!({
            "metadata": {"name": "p", "creationTimestamp": at(bound).to_string()},
            "spec": {"containers": [], "tolerations": tolerations},
        }))
        .expect("a pod")
    }

    fn taint(key: &str, effect: &str, added: Option<i64>) -> Taint {
        Taint {
            key: key.into(),
            effect: effect.into(),
            time_added: added.map(|s| k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(at(s))),
            value: None,
        }
    }

    const UNREACHABLE: &str = "node.kubernetes.io/unreachable";
    const NOT_READY: &str = "node.kubernetes.io/not-ready";

    fn never(_: &Taint) -> Timestamp {
        at(1000)
    }

    #[test]
    fn taint_eviction_untolerated_taint_evicts_now() {
        let p = pod(
            json!([{"key": NOT_READY, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}]),
            0,
        );
        assert_eq!(
            verdict(&p, &[taint(UNREACHABLE, "NoExecute", Some(10))], &never),
            Verdict::EvictNow
        );
        // NoSchedule taints never evict.
        assert_eq!(
            verdict(&p, &[taint(UNREACHABLE, "NoSchedule", None)], &never),
            Verdict::Keep
        );
    }

    #[test]
    fn taint_eviction_toleration_seconds_count_from_time_added() {
        let p = pod(
            json!([
                {"key": UNREACHABLE, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
                {"key": UNREACHABLE, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 2},
            ]),
            0,
        );
        assert_eq!(
            verdict(&p, &[taint(UNREACHABLE, "NoExecute", Some(10))], &never),
            Verdict::EvictAt(at(12))
        );
        // A pod bound after the taint gets its full toleration.
        let late = pod(
            json!([{"key": UNREACHABLE, "operator": "Exists", "tolerationSeconds": 2}]),
            50,
        );
        assert_eq!(
            verdict(&late, &[taint(UNREACHABLE, "NoExecute", Some(10))], &never),
            Verdict::EvictAt(at(52))
        );
        // Without timeAdded the controller's first sighting counts.
        assert_eq!(
            verdict(&p, &[taint(UNREACHABLE, "NoExecute", None)], &never),
            Verdict::EvictAt(at(1002))
        );
        let negative = pod(json!([{"operator": "Exists", "tolerationSeconds": -5}]), 0);
        assert_eq!(
            verdict(
                &negative,
                &[taint(UNREACHABLE, "NoExecute", Some(10))],
                &never
            ),
            Verdict::EvictAt(at(10))
        );
    }

    #[test]
    fn taint_eviction_forever_toleration_keeps_the_pod() {
        let p = pod(json!([{"operator": "Exists"}]), 0);
        assert_eq!(
            verdict(
                &p,
                &[
                    taint(UNREACHABLE, "NoExecute", Some(10)),
                    taint("x", "NoExecute", None)
                ],
                &never
            ),
            Verdict::Keep
        );
        let value = pod(
            json!([{"key": "dedicated", "value": "db", "effect": "NoExecute"}]),
            0,
        );
        let mut t = taint("dedicated", "NoExecute", Some(0));
        t.value = Some("web".into());
        assert_eq!(verdict(&value, &[t.clone()], &never), Verdict::EvictNow);
        t.value = Some("db".into());
        assert_eq!(verdict(&value, &[t], &never), Verdict::Keep);
    }
}
