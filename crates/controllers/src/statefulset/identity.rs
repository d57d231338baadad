//! A StatefulSet pod's stable identity as pure functions (Kubernetes'
//! `stateful_set_utils`): `<set>-<ordinal>` names, the pod-name and
//! pod-index labels, hostname and subdomain, the claims
//! `<template>-<set>-<ordinal>` its volumes name, and the ownerReferences
//! the PVC retention policy puts on those claims.

use crate::history::POD_REVISION_LABEL;
use crate::replicaset::claim;
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, PersistentVolumeClaimVolumeSource, Pod, PodTemplateSpec, Volume};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};

pub const POD_NAME_LABEL: &str = "statefulset.kubernetes.io/pod-name";
pub const POD_INDEX_LABEL: &str = "apps.kubernetes.io/pod-index";

/// `<set>-<ordinal>`.
pub fn pod_name(set: &str, ordinal: i32) -> String {
    format!("{set}-{ordinal}")
}

/// The parent name and ordinal a pod name encodes (`getParentNameAndOrdinal`).
pub fn parent_and_ordinal(name: &str) -> Option<(&str, i32)> {
    let (parent, ordinal) = name.rsplit_once('-')?;
    if ordinal.is_empty() || !ordinal.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((parent, ordinal.parse().ok()?))
}

/// Whether a pod's name makes it a member of the set (`isMemberOf`).
pub fn is_member(set: &str, pod: &Pod) -> bool {
    pod.metadata.name.as_deref().and_then(parent_and_ordinal).is_some_and(|(p, _)| p == set)
}

pub fn ordinal(pod: &Pod) -> Option<i32> {
    pod.metadata.name.as_deref().and_then(parent_and_ordinal).map(|(_, o)| o)
}

/// `<claim template>-<set>-<ordinal>`.
pub fn claim_name(template: &str, set: &str, ordinal: i32) -> String {
    format!("{template}-{set}-{ordinal}")
}

fn set_name(set: &StatefulSet) -> String {
    set.metadata.name.clone().unwrap_or_default()
}

/// The claims the pod of `ordinal` mounts (`getPersistentVolumeClaims`):
/// each template with its name, the namespace, and the selector's labels.
pub fn claims(set: &StatefulSet, ordinal: i32) -> Vec<PersistentVolumeClaim> {
    let Some(spec) = set.spec.as_ref() else {
        return Vec::new();
    };
    let name = set_name(set);
    let selector_labels = spec.selector.match_labels.clone().unwrap_or_default();
    spec.volume_claim_templates
        .iter()
        .flatten()
        .map(|t| {
            let template = t.metadata.name.clone().unwrap_or_default();
            let mut labels = t.metadata.labels.clone().unwrap_or_default();
            labels.extend(selector_labels.clone());
            PersistentVolumeClaim {
                metadata: ObjectMeta {
                    name: Some(claim_name(&template, &name, ordinal)),
                    namespace: set.metadata.namespace.clone(),
                    labels: Some(labels),
                    annotations: t.metadata.annotations.clone(),
                    ..Default::default()
                },
                spec: t.spec.clone(),
                status: None,
            }
        })
        .collect()
}

/// The pod of `ordinal` from `template` at `revision` (`newStatefulSetPod`
/// with `setPodRevision`): identity, storage and the controller reference.
pub fn new_pod(set: &StatefulSet, template: &PodTemplateSpec, revision: &str, ordinal: i32) -> Pod {
    let name = set_name(set);
    let tmeta = template.metadata.clone().unwrap_or_default();
    let mut spec = template.spec.clone().unwrap_or_default();
    let pod_name = pod_name(&name, ordinal);
    let mut labels = tmeta.labels.unwrap_or_default();
    labels.insert(POD_NAME_LABEL.into(), pod_name.clone());
    labels.insert(POD_INDEX_LABEL.into(), ordinal.to_string());
    labels.insert(POD_REVISION_LABEL.into(), revision.to_string());
    spec.hostname = Some(pod_name.clone());
    let service = set.spec.as_ref().and_then(|s| s.service_name.clone()).unwrap_or_default();
    spec.subdomain = (!service.is_empty()).then_some(service);
    // Claim volumes replace template volumes of the same name.
    let mut volumes: Vec<Volume> = spec.volumes.take().unwrap_or_default();
    for (template_name, claim) in set
        .spec
        .iter()
        .flat_map(|s| s.volume_claim_templates.iter().flatten())
        .map(|t| t.metadata.name.clone().unwrap_or_default())
        .map(|t| (t.clone(), claim_name(&t, &name, ordinal)))
    {
        volumes.retain(|v| v.name != template_name);
        volumes.push(Volume {
            name: template_name,
            persistent_volume_claim: Some(PersistentVolumeClaimVolumeSource { claim_name: claim, read_only: None }),
            ..Default::default()
        });
    }
    spec.volumes = (!volumes.is_empty()).then_some(volumes);
    let owner = claim::controller_ref("apps/v1", "StatefulSet", &name, set.metadata.uid.as_deref().unwrap_or_default());
    Pod {
        metadata: ObjectMeta {
            name: Some(pod_name),
            namespace: set.metadata.namespace.clone(),
            labels: Some(labels),
            annotations: tmeta.annotations,
            finalizers: tmeta.finalizers,
            owner_references: Some(vec![owner]),
            ..Default::default()
        },
        spec: Some(spec),
        status: None,
    }
}

/// Whether the pod carries its identity labels (`identityMatches`, less
/// the immutable hostname and subdomain).
pub fn identity_matches(set: &str, pod: &Pod) -> bool {
    let Some(ord) = ordinal(pod) else {
        return false;
    };
    let labels = pod.metadata.labels.clone().unwrap_or_default();
    is_member(set, pod) && labels.get(POD_NAME_LABEL) == pod.metadata.name.as_ref() && labels.get(POD_INDEX_LABEL) == Some(&ord.to_string())
}

/// The retention policy, `Retain` unless set (whenDeleted, whenScaled).
pub fn retention(set: &StatefulSet) -> (bool, bool) {
    let p = set.spec.as_ref().and_then(|s| s.persistent_volume_claim_retention_policy.as_ref());
    let delete = |v: Option<&String>| v.is_some_and(|v| v == "Delete");
    (delete(p.and_then(|p| p.when_deleted.as_ref())), delete(p.and_then(|p| p.when_scaled.as_ref())))
}

fn reference(api_version: &str, kind: &str, meta: &ObjectMeta) -> OwnerReference {
    OwnerReference {
        api_version: api_version.into(),
        kind: kind.into(),
        name: meta.name.clone().unwrap_or_default(),
        uid: meta.uid.clone().unwrap_or_default(),
        controller: None,
        block_owner_deletion: None,
    }
}

/// The claim's ownerReferences under the set's retention policy
/// (`updateClaimOwnerRefForSetAndPod`), or `None` when they already are
/// right: whenDeleted=Delete makes the set an owner (the garbage
/// collector deletes the claim with the set); whenScaled=Delete makes the
/// pod of a scaled-down ordinal an owner (the claim goes with the pod).
/// `pod` is `None` before the pod exists.
pub fn claim_owners(claim: &ObjectMeta, set: &StatefulSet, pod: Option<&ObjectMeta>, in_range: bool) -> Option<Vec<OwnerReference>> {
    let (when_deleted, when_scaled) = retention(set);
    let mut refs = claim.owner_references.clone().unwrap_or_default();
    let before = refs.clone();
    let set_uid = set.metadata.uid.clone().unwrap_or_default();
    let want_set = when_deleted && (in_range || !when_scaled);
    let want_pod = when_scaled && !in_range;
    if want_set {
        if !refs.iter().any(|r| r.uid == set_uid) {
            refs.push(reference("apps/v1", "StatefulSet", &set.metadata));
        }
    } else {
        refs.retain(|r| r.uid != set_uid);
    }
    if let Some(pod) = pod {
        let pod_uid = pod.uid.clone().unwrap_or_default();
        if want_pod {
            if !refs.iter().any(|r| r.uid == pod_uid) {
                refs.push(reference("v1", "Pod", pod));
            }
        } else {
            refs.retain(|r| r.uid != pod_uid);
        }
    }
    (refs != before).then_some(refs)
}

/// Whether an existing claim still belongs to an earlier pod of the
/// ordinal (`PodClaimIsStale`): it names a pod of that name other than
/// `pod_uid`, so the garbage collector is about to delete it.
pub fn claim_is_stale(claim: &ObjectMeta, pod_name: &str, pod_uid: Option<&str>) -> bool {
    claim.owner_references.iter().flatten().any(|r| r.kind == "Pod" && r.name == pod_name && Some(r.uid.as_str()) != pod_uid)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    pub(crate) fn set(retention: serde_json::Value) -> StatefulSet {
        serde_json::from_value(json!({
            "metadata": {"name": "web", "namespace": "ns", "uid": "set-uid"},
            "spec": {"replicas": 3, "serviceName": "nginx", "selector": {"matchLabels": {"app": "web"}},
                "template": {"metadata": {"labels": {"app": "web"}}, "spec": {
                    "containers": [{"name": "c", "image": "nginx:1"}],
                    "volumes": [{"name": "www", "emptyDir": {}}, {"name": "cfg", "emptyDir": {}}]}},
                "volumeClaimTemplates": [{"metadata": {"name": "www", "labels": {"tier": "data"}},
                    "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}],
                "persistentVolumeClaimRetentionPolicy": retention}
        }))
        .expect("statefulset")
    }

    #[test]
    fn sts_names_and_ordinals() {
        assert_eq!(parent_and_ordinal("web-12"), Some(("web", 12)));
        assert_eq!(parent_and_ordinal("my-web-0"), Some(("my-web", 0)));
        assert_eq!(parent_and_ordinal("web-x"), None);
        assert_eq!(parent_and_ordinal("web-"), None);
        assert_eq!(parent_and_ordinal("web"), None);
        assert_eq!(claim_name("www", "web", 2), "www-web-2");
    }

    #[test]
    fn sts_pod_has_identity_storage_and_owner() {
        let s = set(json!({}));
        let template = s.spec.as_ref().map(|s| s.template.clone()).expect("template");
        let pod = new_pod(&s, &template, "web-abc", 1);
        let v = serde_json::to_value(&pod).expect("json");
        assert_eq!(v["metadata"]["name"], "web-1");
        assert_eq!(v["metadata"]["labels"], json!({"app": "web", POD_NAME_LABEL: "web-1", POD_INDEX_LABEL: "1", POD_REVISION_LABEL: "web-abc"}));
        assert_eq!(v["spec"]["hostname"], "web-1");
        assert_eq!(v["spec"]["subdomain"], "nginx");
        assert_eq!(v["spec"]["volumes"], json!([{"name": "cfg", "emptyDir": {}}, {"name": "www", "persistentVolumeClaim": {"claimName": "www-web-1"}}]));
        assert_eq!(v["metadata"]["ownerReferences"][0]["kind"], "StatefulSet");
        assert_eq!(v["metadata"]["ownerReferences"][0]["controller"], true);
        assert!(identity_matches("web", &pod));
        let c = claims(&s, 1);
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].metadata.name.as_deref(), Some("www-web-1"));
        assert_eq!(serde_json::to_value(&c[0].metadata.labels).expect("json"), json!({"app": "web", "tier": "data"}));
    }

    #[test]
    fn sts_claim_owners_follow_the_retention_policy() {
        let pod = ObjectMeta { name: Some("web-2".into()), uid: Some("pod-uid".into()), ..Default::default() };
        let claim = ObjectMeta::default();
        let kinds = |refs: Option<Vec<OwnerReference>>| refs.map(|r| r.into_iter().map(|r| r.kind).collect::<Vec<_>>());
        // Retain/Retain: nobody owns the claim.
        let retain = set(json!({"whenDeleted": "Retain", "whenScaled": "Retain"}));
        assert_eq!(claim_owners(&claim, &retain, Some(&pod), false), None);
        // whenDeleted=Delete: the set owns it, scaled down or not.
        let deleted = set(json!({"whenDeleted": "Delete", "whenScaled": "Retain"}));
        assert_eq!(kinds(claim_owners(&claim, &deleted, None, true)), Some(vec!["StatefulSet".to_string()]));
        assert_eq!(kinds(claim_owners(&claim, &deleted, Some(&pod), false)), Some(vec!["StatefulSet".to_string()]));
        // whenScaled=Delete: a scaled-down pod owns it; back in range it does not.
        let scaled = set(json!({"whenDeleted": "Retain", "whenScaled": "Delete"}));
        let owned = claim_owners(&claim, &scaled, Some(&pod), false).expect("pod owner");
        assert_eq!(owned[0].kind, "Pod");
        assert_eq!(owned[0].controller, None);
        let with_pod = ObjectMeta { owner_references: Some(owned), ..Default::default() };
        assert_eq!(claim_owners(&with_pod, &scaled, Some(&pod), true), Some(vec![]));
        assert!(claim_is_stale(&with_pod, "web-2", None));
        assert!(!claim_is_stale(&with_pod, "web-2", Some("pod-uid")));
        // Delete/Delete: the set in range, the pod out of range.
        let both = set(json!({"whenDeleted": "Delete", "whenScaled": "Delete"}));
        assert_eq!(kinds(claim_owners(&claim, &both, Some(&pod), true)), Some(vec!["StatefulSet".to_string()]));
        assert_eq!(kinds(claim_owners(&claim, &both, Some(&pod), false)), Some(vec!["Pod".to_string()]));
    }
}
