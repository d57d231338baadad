//! Deleting a pod the way the taint eviction controller and the pod
//! garbage collector do: first the `DisruptionTarget` condition in the
//! pod's status (so its owner, and whoever watches, learns why), then the
//! delete, guarded by the pod's uid so a pod recreated under the same name
//! is safe.

use crate::cached_pod::CachedPod;
use k8s_openapi::api::core::v1::{Pod, PodCondition};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::{Api, DeleteParams, Patch, PatchParams, Preconditions};
use kube::{Client, ResourceExt};
use serde_json::json;

pub const CONDITION: &str = "DisruptionTarget";

/// Why a pod is deleted: the condition's reason and message (none for
/// some of the pod garbage collector's deletions), and whether a pod that
/// has not ended is marked Failed first (the pod garbage collector's way
/// with pods that no kubelet will ever end).
#[derive(Debug, Clone, Copy)]
pub struct Disruption<'a> {
    pub condition: Option<(&'a str, &'a str)>,
    pub mark_failed: bool,
}

/// The `DisruptionTarget` condition to write for `why`, or `None` when the
/// pod already says so. Written alone with a strategic merge patch (merged
/// by `type`, as the pod's conditions are), so the pod's other conditions
/// stay as the kubelet wrote them whatever the cache knew of them.
pub fn condition(pod: &CachedPod, (reason, message): (&str, &str), now: &Time) -> Option<PodCondition> {
    let held = pod.status.as_ref().and_then(|s| s.conditions.as_ref()).and_then(|cs| cs.iter().find(|c| c.type_ == CONDITION));
    if let Some(c) = held
        && c.status == "True"
        && c.reason.as_deref() == Some(reason)
        && c.message.as_deref() == Some(message)
    {
        return None;
    }
    // A condition already True keeps the time it became so.
    let since = held.filter(|c| c.status == "True").and_then(|c| c.last_transition_time.clone());
    Some(PodCondition {
        type_: CONDITION.into(),
        status: "True".into(),
        reason: Some(reason.into()),
        message: Some(message.into()),
        last_transition_time: Some(since.unwrap_or_else(|| now.clone())),
        ..PodCondition::default()
    })
}

fn is_terminal(pod: &CachedPod) -> bool {
    matches!(
        pod.status.as_ref().and_then(|s| s.phase.as_deref()),
        Some("Succeeded" | "Failed")
    )
}

/// Writes the condition (when `why` is given) and deletes the pod, with
/// `grace_period_seconds` when given. A pod already gone is no error.
pub async fn delete(
    client: &Client,
    pod: &CachedPod,
    why: Option<Disruption<'_>>,
    grace_period_seconds: Option<u32>,
) -> Result<(), kube::Error> {
    let api: Api<Pod> = Api::namespaced(client.clone(), &pod.namespace().unwrap_or_default());
    let name = pod.name_any();
    if let Some(why) = why {
        let now = Time(jiff::Timestamp::now());
        let mut status = serde_json::Map::new();
        if let Some(condition) = why.condition.and_then(|c| condition(pod, c, &now)) {
            status.insert("conditions".into(), json!([condition]));
        }
        if why.mark_failed && !is_terminal(pod) {
            status.insert("phase".into(), json!("Failed"));
        }
        if !status.is_empty() {
            let patch = json!({"status": status});
            match api
                .patch_status(&name, &PatchParams::default(), &Patch::Strategic(&patch))
                .await
            {
                Ok(_) => {}
                Err(kube::Error::Api(s)) if s.code == 404 => return Ok(()),
                Err(e) => return Err(e),
            }
        }
    }
    let params = DeleteParams {
        grace_period_seconds,
        preconditions: Some(Preconditions {
            uid: pod.uid(),
            resource_version: None,
        }),
        ..DeleteParams::default()
    };
    match api.delete(&name, &params).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disruption_condition_is_written_once_and_keeps_its_time() {
        let pod: CachedPod = serde_json::from_value(json!({"metadata": {"name": "p"}, "status": {"conditions": [{"type": "Ready", "status": "True"}]}})).expect("a pod");
        let why = ("DeletionByTaintManager", "Taint manager: deleting due to NoExecute taint");
        let at = |s| Time(jiff::Timestamp::from_second(s).expect("valid time"));
        let added = condition(&pod, why, &at(1_800_000_000)).expect("added");
        assert_eq!((added.type_.as_str(), added.status.as_str(), added.reason.as_deref()), ("DisruptionTarget", "True", Some("DeletionByTaintManager")));
        let mut marked = pod.clone();
        if let Some(s) = marked.status.as_mut() {
            s.conditions.get_or_insert_default().push(added);
        }
        assert!(condition(&marked, why, &at(1_800_000_100)).is_none(), "the same reason and message is not written again");
        let other = condition(&marked, ("PodGarbageCollecting", "orphaned"), &at(1_800_000_100)).expect("a new reason");
        assert_eq!(other.last_transition_time, Some(at(1_800_000_000)), "still True: the transition time stays");
    }
}
