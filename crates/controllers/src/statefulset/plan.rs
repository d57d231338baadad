//! One StatefulSet sync decided as a pure function of the set, its
//! revisions, its pods and the claims in the cache (Kubernetes'
//! `updateStatefulSet`): create missing ordinals (claims first), replace
//! failed pods, delete ordinals beyond `replicas` from the highest, then
//! roll pods at or above the partition to the update revision from the
//! highest ordinal down. OrderedReady stops at the first pod that is not
//! Running, Ready and available; Parallel goes on.

use super::identity::{self, POD_INDEX_LABEL, POD_NAME_LABEL};
use crate::history::POD_REVISION_LABEL;
use crate::replicaset::pods::{is_available, is_ready};
use k8s_openapi::api::apps::v1::{StatefulSet, StatefulSetStatus};
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod, PodTemplateSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use std::collections::BTreeMap;

/// The set's two revisions and their templates.
pub struct Revisions<'a> {
    pub current: &'a str,
    pub current_template: &'a PodTemplateSpec,
    pub update: &'a str,
    pub update_template: &'a PodTemplateSpec,
    pub collision_count: i32,
}

/// Why a pod is deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Why {
    /// Failed or Succeeded: it is created again.
    Ended,
    /// Its ordinal is beyond `replicas`.
    ScaleDown,
    /// It is not at the update revision.
    Update,
}

/// One write, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Create the claims (those not found), then the pod.
    Create {
        pod: Box<Pod>,
        claims: Vec<PersistentVolumeClaim>,
    },
    /// Create claims an existing pod lacks.
    CreateClaims {
        pod: String,
        claims: Vec<PersistentVolumeClaim>,
    },
    Delete {
        pod: String,
        uid: String,
        why: Why,
    },
    /// Set a claim's ownerReferences (retention policy), guarded by its
    /// resourceVersion.
    SetClaimOwners {
        claim: String,
        resource_version: Option<String>,
        refs: Vec<OwnerReference>,
    },
    /// Restore a pod's identity labels.
    Relabel {
        pod: String,
        labels: BTreeMap<String, String>,
    },
}

#[derive(Debug)]
pub struct Plan {
    pub steps: Vec<Step>,
    pub status: StatefulSetStatus,
}

pub fn is_terminating(pod: &Pod) -> bool {
    pod.metadata.deletion_timestamp.is_some()
}

fn phase(pod: &Pod) -> &str {
    pod.status.as_ref().and_then(|s| s.phase.as_deref()).unwrap_or("")
}

pub fn is_running_and_ready(pod: &Pod) -> bool {
    phase(pod) == "Running" && is_ready(pod)
}

/// Running, Ready and not terminating (`isHealthy`).
fn is_healthy(pod: &Pod) -> bool {
    is_running_and_ready(pod) && !is_terminating(pod)
}

pub fn revision_of(pod: &Pod) -> Option<&str> {
    pod.metadata.labels.as_ref().and_then(|l| l.get(POD_REVISION_LABEL)).map(String::as_str)
}

/// Whether the set rolls pods itself (`RollingUpdate`, the default).
pub fn is_rolling(set: &StatefulSet) -> bool {
    set.spec.as_ref().and_then(|s| s.update_strategy.as_ref()).and_then(|u| u.type_.as_deref()).is_none_or(|t| t == "RollingUpdate")
}

fn partition(set: &StatefulSet) -> Option<i32> {
    set.spec.as_ref().and_then(|s| s.update_strategy.as_ref()).and_then(|u| u.rolling_update.as_ref()).map(|r| r.partition.unwrap_or(0))
}

/// The pod a missing ordinal gets (`newVersionedStatefulSetPod`): the
/// current revision below the partition (or below `currentReplicas` with
/// no rollingUpdate block), the update revision otherwise.
pub fn versioned_pod(set: &StatefulSet, rev: &Revisions, start: i32, ordinal: i32) -> Pod {
    let current_replicas = set.status.as_ref().and_then(|s| s.current_replicas).unwrap_or(0);
    let use_current = match partition(set) {
        Some(p) => ordinal < start + p,
        None => is_rolling(set) && ordinal < start + current_replicas,
    };
    if use_current {
        identity::new_pod(set, rev.current_template, rev.current, ordinal)
    } else {
        identity::new_pod(set, rev.update_template, rev.update, ordinal)
    }
}

/// Decides one sync. `claim` finds a claim in the cache by name.
pub fn plan<'a>(set: &StatefulSet, rev: &Revisions, pods: &[&Pod], claim: impl Fn(&str) -> Option<&'a PersistentVolumeClaim>, now: jiff::Timestamp) -> Plan {
    let spec = set.spec.clone().unwrap_or_default();
    let name = set.metadata.name.clone().unwrap_or_default();
    let replicas = spec.replicas.unwrap_or(1).max(0);
    let start = spec.ordinals.as_ref().and_then(|o| o.start).unwrap_or(0).max(0);
    let min_ready = spec.min_ready_seconds.unwrap_or(0);
    let monotonic = spec.pod_management_policy.as_deref() != Some("Parallel");

    let mut slots: Vec<Option<&Pod>> = vec![None; replicas as usize];
    let mut condemned: Vec<&Pod> = Vec::new();
    for pod in pods {
        match identity::ordinal(pod) {
            Some(o) if o >= start && o < start + replicas => slots[(o - start) as usize] = Some(pod),
            Some(_) => condemned.push(pod),
            None => {}
        }
    }
    condemned.sort_by_key(|p| std::cmp::Reverse(identity::ordinal(p)));
    let status = status(set, rev, pods, now);
    let mut steps = Vec::new();
    if set.metadata.deletion_timestamp.is_some() {
        return Plan { steps, status };
    }

    // The first unhealthy pod, by ordinal; a missing one counts.
    let first_unhealthy: Option<i32> = slots
        .iter()
        .enumerate()
        .find(|(_, p)| p.is_none_or(|p| !is_healthy(p)))
        .map(|(i, _)| start + i as i32)
        .or_else(|| condemned.iter().rev().find(|p| !is_healthy(p)).and_then(|p| identity::ordinal(p)));

    let missing_claims = |ordinal: i32| -> Vec<PersistentVolumeClaim> {
        identity::claims(set, ordinal)
            .into_iter()
            .filter(|c| claim(c.metadata.name.as_deref().unwrap_or_default()).is_none())
            .map(|mut c| {
                c.metadata.owner_references = identity::claim_owners(&c.metadata, set, None, true).filter(|r| !r.is_empty());
                c
            })
            .collect()
    };
    let fix_claims = |steps: &mut Vec<Step>, pod: &Pod, ordinal: i32, in_range: bool| {
        for c in identity::claims(set, ordinal) {
            let Some(live) = claim(c.metadata.name.as_deref().unwrap_or_default()) else {
                continue;
            };
            if let Some(refs) = identity::claim_owners(&live.metadata, set, Some(&pod.metadata), in_range) {
                steps.push(Step::SetClaimOwners {
                    claim: live.metadata.name.clone().unwrap_or_default(),
                    resource_version: live.metadata.resource_version.clone(),
                    refs,
                });
            }
        }
    };

    // Living replicas, in ordinal order.
    for (i, slot) in slots.iter().enumerate() {
        let ordinal = start + i as i32;
        let Some(pod) = slot else {
            let pod_name = identity::pod_name(&name, ordinal);
            let stale = identity::claims(set, ordinal)
                .iter()
                .filter_map(|c| claim(c.metadata.name.as_deref().unwrap_or_default()))
                .any(|c| identity::claim_is_stale(&c.metadata, &pod_name, None));
            if !stale {
                steps.push(Step::Create { pod: Box::new(versioned_pod(set, rev, start, ordinal)), claims: missing_claims(ordinal) });
            }
            if monotonic {
                return Plan { steps, status };
            }
            continue;
        };
        if matches!(phase(pod), "Failed" | "Succeeded") {
            if !is_terminating(pod) {
                steps.push(delete(pod, Why::Ended));
            }
            if monotonic {
                return Plan { steps, status };
            }
            continue;
        }
        if phase(pod) == "Pending" {
            let claims = missing_claims(ordinal);
            if !claims.is_empty() {
                steps.push(Step::CreateClaims { pod: pod.metadata.name.clone().unwrap_or_default(), claims });
            }
        }
        if monotonic && (is_terminating(pod) || !is_running_and_ready(pod) || !is_available(pod, min_ready, now)) {
            return Plan { steps, status };
        }
        fix_claims(&mut steps, pod, ordinal, true);
        if !identity::identity_matches(&name, pod) {
            let mut labels = pod.metadata.labels.clone().unwrap_or_default();
            labels.insert(POD_NAME_LABEL.into(), identity::pod_name(&name, ordinal));
            labels.insert(POD_INDEX_LABEL.into(), ordinal.to_string());
            steps.push(Step::Relabel { pod: pod.metadata.name.clone().unwrap_or_default(), labels });
        }
    }

    // Claims of scaled-down pods follow the retention policy before the
    // pods go, so whenScaled=Delete claims go with them.
    for pod in &condemned {
        if let Some(o) = identity::ordinal(pod) {
            fix_claims(&mut steps, pod, o, false);
        }
    }

    // Scale down from the highest ordinal.
    for pod in &condemned {
        if is_terminating(pod) {
            if monotonic {
                return Plan { steps, status };
            }
            continue;
        }
        let first = identity::ordinal(pod) == first_unhealthy;
        if monotonic && !first && !(is_running_and_ready(pod) && is_available(pod, min_ready, now)) {
            return Plan { steps, status };
        }
        steps.push(delete(pod, Why::ScaleDown));
        if monotonic {
            return Plan { steps, status };
        }
    }

    if !is_rolling(set) {
        return Plan { steps, status };
    }
    // Roll from the highest ordinal down to the partition, one at a time.
    let update_min = partition(set).unwrap_or(0).max(0);
    for target in (update_min..replicas).rev() {
        let Some(pod) = slots[target as usize] else {
            break;
        };
        if revision_of(pod) != Some(rev.update) && !is_terminating(pod) {
            steps.push(delete(pod, Why::Update));
            break;
        }
        if !is_healthy(pod) {
            break;
        }
    }
    Plan { steps, status }
}

fn delete(pod: &Pod, why: Why) -> Step {
    Step::Delete { pod: pod.metadata.name.clone().unwrap_or_default(), uid: pod.metadata.uid.clone().unwrap_or_default(), why }
}

/// The status (`computeReplicaStatus` and `completeRollingUpdate`); counts
/// that are zero are left out as Kubernetes' omitempty does, except
/// `replicas` and `availableReplicas`.
pub fn status(set: &StatefulSet, rev: &Revisions, pods: &[&Pod], now: jiff::Timestamp) -> StatefulSetStatus {
    let min_ready = set.spec.as_ref().and_then(|s| s.min_ready_seconds).unwrap_or(0);
    let members: Vec<&Pod> = pods.iter().copied().filter(|p| identity::ordinal(p).is_some()).collect();
    let count = |f: &dyn Fn(&Pod) -> bool| members.iter().filter(|p| f(p)).count() as i32;
    let replicas = members.len() as i32;
    let ready = count(&|p| is_running_and_ready(p));
    let available = count(&|p| is_running_and_ready(p) && is_available(p, min_ready, now));
    let mut current = count(&|p| !is_terminating(p) && revision_of(p) == Some(rev.current));
    let updated = count(&|p| !is_terminating(p) && revision_of(p) == Some(rev.update));
    let mut current_revision = rev.current.to_string();
    if is_rolling(set) && updated == replicas && ready == replicas {
        current = updated;
        current_revision = rev.update.to_string();
    }
    let nonzero = |n: i32| (n != 0).then_some(n);
    StatefulSetStatus {
        observed_generation: set.metadata.generation,
        replicas,
        ready_replicas: nonzero(ready),
        available_replicas: Some(available),
        current_replicas: nonzero(current),
        updated_replicas: nonzero(updated),
        current_revision: Some(current_revision),
        update_revision: Some(rev.update.to_string()),
        collision_count: Some(rev.collision_count),
        conditions: set.status.as_ref().and_then(|s| s.conditions.clone()),
    }
}

#[cfg(test)]
mod tests;
