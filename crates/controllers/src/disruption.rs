//! Deleting a pod the way the taint eviction controller and the pod
//! garbage collector do: first the `DisruptionTarget` condition in the
//! pod's status (so its owner, and whoever watches, learns why), then the
//! delete, guarded by the pod's uid so a pod recreated under the same name
//! is safe.

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

/// The pod's conditions with `DisruptionTarget` True for `why`, or `None`
/// when it already says so.
pub fn conditions(
    pod: &Pod,
    (reason, message): (&str, &str),
    now: &Time,
) -> Option<Vec<PodCondition>> {
    let mut conditions = pod
        .status
        .as_ref()
        .and_then(|s| s.conditions.clone())
        .unwrap_or_default();
    let wanted = PodCondition {
        type_: CONDITION.into(),
        status: "True".into(),
        reason: Some(reason.into()),
        message: Some(message.into()),
        last_transition_time: Some(now.clone()),
        ..PodCondition::default()
    };
    match conditions.iter_mut().find(|c| c.type_ == CONDITION) {
        Some(c)
            if c.status == "True" && c.reason == wanted.reason && c.message == wanted.message =>
        {
            return None;
        }
        Some(c) => {
            let keep_time = c.status == "True";
            let time = if keep_time {
                c.last_transition_time.clone()
            } else {
                wanted.last_transition_time.clone()
            };
            *c = PodCondition {
                last_transition_time: time,
                ..wanted
            };
        }
        None => conditions.push(wanted),
    }
    Some(conditions)
}

fn is_terminal(pod: &Pod) -> bool {
    matches!(
        pod.status.as_ref().and_then(|s| s.phase.as_deref()),
        Some("Succeeded" | "Failed")
    )
}

/// Writes the condition (when `why` is given) and deletes the pod, with
/// `grace_period_seconds` when given. A pod already gone is no error.
pub async fn delete(
    client: &Client,
    pod: &Pod,
    why: Option<Disruption<'_>>,
    grace_period_seconds: Option<u32>,
) -> Result<(), kube::Error> {
    let api: Api<Pod> = Api::namespaced(client.clone(), &pod.namespace().unwrap_or_default());
    let name = pod.name_any();
    if let Some(why) = why {
        let now = Time(jiff::Timestamp::now());
        let mut status = serde_json::Map::new();
        if let Some(conditions) = why.condition.and_then(|c| conditions(pod, c, &now)) {
            status.insert("conditions".into(), json!(conditions));
        }
        if why.mark_failed && !is_terminal(pod) {
            status.insert("phase".into(), json!("Failed"));
        }
        if !status.is_empty() {
            let patch = json!({"status": status});
            match api
                .patch_status(&name, &PatchParams::default(), &Patch::Merge(&patch))
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
    fn disruption_condition_is_added_once() {
        let pod: Pod = serde_json::from_value(json!({"metadata": {"name": "p"}, "status": {"conditions": [{"type": "Ready", "status": "True"}]}})).expect("a pod");
        let why = (
            "DeletionByTaintManager",
            "Taint manager: deleting due to NoExecute taint",
        );
        let now = Time(jiff::Timestamp::from_second(1_800_000_000).expect("valid time"));
        let conditions = conditions(&pod, why, &now).expect("added");
        assert_eq!(conditions.len(), 2);
        assert_eq!(conditions[1].type_, "DisruptionTarget");
        assert_eq!(
            conditions[1].reason.as_deref(),
            Some("DeletionByTaintManager")
        );
        let mut marked = pod.clone();
        if let Some(s) = marked.status.as_mut() {
            s.conditions = Some(conditions);
        }
        assert!(super::conditions(&marked, why, &now).is_none());
    }
}
