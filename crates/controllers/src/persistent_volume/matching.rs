//! Which PersistentVolume fits a claim, as Kubernetes'
//! `FindMatchingVolume` and `checkVolumeSatisfyClaim` decide it: same
//! class, same volume mode, every requested access mode, the claim's label
//! selector, capacity at least the request (the smallest such volume wins),
//! and a volume pre-bound to the claim first. Shared by the binder and the
//! scheduler (which adds a node's affinity for delayed binding).

use crate::replicaset::claim::matches as selector_matches;
use crate::scheduler::resources::value;
use k8s_openapi::api::core::v1::{PersistentVolume, PersistentVolumeClaim};
use k8s_openapi::api::storage::v1::StorageClass;
use std::collections::BTreeMap;

/// Set on a claim whose binding the controller has completed.
pub const ANN_BIND_COMPLETED: &str = "pv.kubernetes.io/bind-completed";
/// Set on whichever side of a binding the controller (not a user) wrote.
pub const ANN_BOUND_BY_CONTROLLER: &str = "pv.kubernetes.io/bound-by-controller";
/// The provisioner that created a volume.
pub const ANN_PROVISIONED_BY: &str = "pv.kubernetes.io/provisioned-by";
/// The node the scheduler chose for a claim of a WaitForFirstConsumer class.
pub const ANN_SELECTED_NODE: &str = "volume.kubernetes.io/selected-node";
/// The provisioner asked to create a volume for a claim.
pub const ANN_STORAGE_PROVISIONER: &str = "volume.kubernetes.io/storage-provisioner";
pub const ANN_BETA_STORAGE_PROVISIONER: &str = "volume.beta.kubernetes.io/storage-provisioner";
/// The class named by annotation, before `storageClassName` existed.
pub const ANN_BETA_STORAGE_CLASS: &str = "volume.beta.kubernetes.io/storage-class";
pub const ANN_DEFAULT_CLASS: &str = "storageclass.kubernetes.io/is-default-class";
/// The provisioner of classes whose volumes are only ever made by hand.
pub const NO_PROVISIONER: &str = "kubernetes.io/no-provisioner";
pub const WAIT_FOR_FIRST_CONSUMER: &str = "WaitForFirstConsumer";

fn annotation<'a>(meta: &'a k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta, key: &str) -> Option<&'a str> {
    meta.annotations.as_ref().and_then(|a| a.get(key)).map(String::as_str)
}

pub fn has_annotation(meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta, key: &str) -> bool {
    annotation(meta, key).is_some()
}

/// `namespace/name`.
pub fn claim_key(claim: &PersistentVolumeClaim) -> String {
    format!("{}/{}", claim.metadata.namespace.as_deref().unwrap_or_default(), claim.metadata.name.as_deref().unwrap_or_default())
}

/// The claim's class: the beta annotation wins, as in Kubernetes; "" is no
/// class.
pub fn claim_class(claim: &PersistentVolumeClaim) -> &str {
    annotation(&claim.metadata, ANN_BETA_STORAGE_CLASS)
        .or_else(|| claim.spec.as_ref().and_then(|s| s.storage_class_name.as_deref()))
        .unwrap_or_default()
}

pub fn volume_class(volume: &PersistentVolume) -> &str {
    annotation(&volume.metadata, ANN_BETA_STORAGE_CLASS)
        .or_else(|| volume.spec.as_ref().and_then(|s| s.storage_class_name.as_deref()))
        .unwrap_or_default()
}

/// The claim's `spec.volumeName`, "" when unset.
pub fn claim_volume_name(claim: &PersistentVolumeClaim) -> &str {
    claim.spec.as_ref().and_then(|s| s.volume_name.as_deref()).unwrap_or_default()
}

/// The storage a claim requests, in bytes.
pub fn requested(claim: &PersistentVolumeClaim) -> i64 {
    claim.spec.as_ref().and_then(|s| s.resources.as_ref()).and_then(|r| r.requests.as_ref()).and_then(|r| r.get("storage")).map_or(0, value)
}

/// A volume's capacity, in bytes.
pub fn capacity(volume: &PersistentVolume) -> i64 {
    volume.spec.as_ref().and_then(|s| s.capacity.as_ref()).and_then(|c| c.get("storage")).map_or(0, value)
}

pub fn phase(volume: &PersistentVolume) -> &str {
    volume.status.as_ref().and_then(|s| s.phase.as_deref()).unwrap_or_default()
}

pub fn claim_phase(claim: &PersistentVolumeClaim) -> &str {
    claim.status.as_ref().and_then(|s| s.phase.as_deref()).unwrap_or_default()
}

/// Whether the volume's `claimRef` names this claim (and, once set, its uid).
pub fn is_bound_to(volume: &PersistentVolume, claim: &PersistentVolumeClaim) -> bool {
    let Some(r) = volume.spec.as_ref().and_then(|s| s.claim_ref.as_ref()) else {
        return false;
    };
    r.name.as_deref() == claim.metadata.name.as_deref()
        && r.namespace.as_deref() == claim.metadata.namespace.as_deref()
        && r.uid.as_deref().is_none_or(|u| u.is_empty() || Some(u) == claim.metadata.uid.as_deref())
}

fn volume_mode_mismatch(claim: &PersistentVolumeClaim, volume: &PersistentVolume) -> bool {
    let c = claim.spec.as_ref().and_then(|s| s.volume_mode.as_deref()).unwrap_or("Filesystem");
    let v = volume.spec.as_ref().and_then(|s| s.volume_mode.as_deref()).unwrap_or("Filesystem");
    c != v
}

/// Every access mode the claim asks for is one the volume offers.
fn access_modes_ok(claim: &PersistentVolumeClaim, volume: &PersistentVolume) -> bool {
    let offered = volume.spec.as_ref().and_then(|s| s.access_modes.as_ref());
    claim.spec.as_ref().and_then(|s| s.access_modes.as_ref()).into_iter().flatten().all(|m| offered.is_some_and(|o| o.contains(m)))
}

/// Whether the claim's class binds only once a pod uses it.
pub fn is_delay_binding(claim: &PersistentVolumeClaim, classes: &BTreeMap<String, StorageClass>) -> bool {
    let class = claim_class(claim);
    !class.is_empty() && classes.get(class).and_then(|c| c.volume_binding_mode.as_deref()) == Some(WAIT_FOR_FIRST_CONSUMER)
}

/// The best available volume for a claim. Without `node` (the binder),
/// a delayed-binding claim only takes a volume pre-bound to it; with one
/// (the scheduler), volumes must also allow that node.
pub fn find_best_match<'a>(
    claim: &PersistentVolumeClaim,
    volumes: impl IntoIterator<Item = &'a PersistentVolume>,
    delay_binding: bool,
    node: Option<&dyn Fn(&PersistentVolume) -> bool>,
) -> Option<&'a PersistentVolume> {
    let request = requested(claim);
    let class = claim_class(claim);
    let selector = claim.spec.as_ref().and_then(|s| s.selector.as_ref());
    let mut best: Option<(&PersistentVolume, i64)> = None;
    for volume in volumes {
        let size = capacity(volume);
        if size < request
            || volume_mode_mismatch(claim, volume)
            || volume.metadata.deletion_timestamp.is_some()
            || !access_modes_ok(claim, volume)
        {
            continue;
        }
        let node_ok = node.is_none_or(|fits| fits(volume));
        if is_bound_to(volume, claim) {
            // Pre-bound to this claim: it is the answer, or there is none.
            return (node_ok && volume_class(volume) == class).then_some(volume);
        }
        if node.is_none() && delay_binding {
            continue;
        }
        let taken = volume.spec.as_ref().is_some_and(|s| s.claim_ref.is_some());
        if taken
            || phase(volume) != "Available"
            || selector.is_some_and(|s| !selector_matches(s, volume.metadata.labels.as_ref()))
            || volume_class(volume) != class
            || !node_ok
        {
            continue;
        }
        if best.is_none_or(|(_, s)| size < s) {
            best = Some((volume, size));
        }
    }
    best.map(|(v, _)| v)
}

/// Why a volume a claim names in `volumeName` cannot serve it, in
/// Kubernetes' words.
pub fn check_volume_satisfies_claim(volume: &PersistentVolume, claim: &PersistentVolumeClaim) -> Result<(), &'static str> {
    if capacity(volume) < requested(claim) {
        return Err("requested PV is too small");
    }
    if volume_class(volume) != claim_class(claim) {
        return Err("storageClassName does not match");
    }
    if volume_mode_mismatch(claim, volume) {
        return Err("incompatible volumeMode");
    }
    if !access_modes_ok(claim, volume) {
        return Err("incompatible accessMode");
    }
    Ok(())
}

/// The default class: of those annotated default, the newest, then the
/// first by name (Kubernetes' `GetDefaultClass` since v1.28).
pub fn default_class<'a>(classes: impl IntoIterator<Item = &'a StorageClass>) -> Option<&'a StorageClass> {
    let mut defaults: Vec<&StorageClass> = classes
        .into_iter()
        .filter(|c| {
            annotation(&c.metadata, ANN_DEFAULT_CLASS) == Some("true")
                || annotation(&c.metadata, "storageclass.beta.kubernetes.io/is-default-class") == Some("true")
        })
        .collect();
    defaults.sort_by(|a, b| {
        let created = |c: &StorageClass| c.metadata.creation_timestamp.as_ref().map(|t| t.0);
        created(b).cmp(&created(a)).then_with(|| a.metadata.name.cmp(&b.metadata.name))
    });
    defaults.into_iter().next()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use serde_json::json;

    pub fn pv(v: serde_json::Value) -> PersistentVolume {
        serde_json::from_value(v).expect("a PersistentVolume")
    }
    pub fn pvc(v: serde_json::Value) -> PersistentVolumeClaim {
        serde_json::from_value(v).expect("a PersistentVolumeClaim")
    }
    pub fn available(name: &str, size: &str, class: &str) -> PersistentVolume {
        pv(json!({"metadata": {"name": name, "labels": {"tier": "fast"}}, "spec": {"capacity": {"storage": size},
            "accessModes": ["ReadWriteOnce"], "storageClassName": class, "persistentVolumeReclaimPolicy": "Retain",
            "hostPath": {"path": "/tmp/x"}}, "status": {"phase": "Available"}}))
    }
    pub fn claim(name: &str, size: &str, class: Option<&str>) -> PersistentVolumeClaim {
        let mut c = json!({"metadata": {"name": name, "namespace": "default", "uid": format!("uid-{name}")},
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": size}}}, "status": {"phase": "Pending"}});
        if let Some(class) = class {
            c["spec"]["storageClassName"] = json!(class);
        }
        pvc(c)
    }

    fn best<'a>(c: &PersistentVolumeClaim, vs: &'a [PersistentVolume]) -> Option<&'a str> {
        find_best_match(c, vs, false, None).and_then(|v| v.metadata.name.as_deref())
    }

    #[test]
    fn pv_match_picks_the_smallest_volume_that_fits() {
        let vs = [available("big", "10Gi", "manual"), available("small", "2Gi", "manual"), available("tiny", "500Mi", "manual")];
        assert_eq!(best(&claim("c", "1Gi", Some("manual")), &vs), Some("small"));
        assert_eq!(best(&claim("c", "2Gi", Some("manual")), &vs), Some("small"));
        assert_eq!(best(&claim("c", "20Gi", Some("manual")), &vs), None);
    }

    #[test]
    fn pv_match_requires_class_modes_volume_mode_and_selector() {
        let vs = [available("a", "5Gi", "manual")];
        assert_eq!(best(&claim("c", "1Gi", Some("other")), &vs), None);
        assert_eq!(best(&claim("c", "1Gi", None), &vs), None);
        let mut rwx = claim("c", "1Gi", Some("manual"));
        rwx.spec.as_mut().expect("spec").access_modes = Some(vec!["ReadWriteMany".into()]);
        assert_eq!(best(&rwx, &vs), None);
        let mut block = claim("c", "1Gi", Some("manual"));
        block.spec.as_mut().expect("spec").volume_mode = Some("Block".into());
        assert_eq!(best(&block, &vs), None);
        let mut sel = claim("c", "1Gi", Some("manual"));
        sel.spec.as_mut().expect("spec").selector =
            Some(serde_json::from_value(json!({"matchLabels": {"tier": "slow"}})).expect("selector"));
        assert_eq!(best(&sel, &vs), None);
        sel.spec.as_mut().expect("spec").selector =
            Some(serde_json::from_value(json!({"matchLabels": {"tier": "fast"}})).expect("selector"));
        assert_eq!(best(&sel, &vs), Some("a"));
    }

    #[test]
    fn pv_match_prefers_a_volume_pre_bound_to_the_claim() {
        let mut reserved = available("reserved", "10Gi", "manual");
        reserved.spec.as_mut().expect("spec").claim_ref =
            Some(serde_json::from_value(json!({"name": "c", "namespace": "default"})).expect("ref"));
        let mut other = available("other", "10Gi", "manual");
        other.spec.as_mut().expect("spec").claim_ref =
            Some(serde_json::from_value(json!({"name": "d", "namespace": "default"})).expect("ref"));
        let vs = [available("small", "1Gi", "manual"), other, reserved];
        assert_eq!(best(&claim("c", "1Gi", Some("manual")), &vs), Some("reserved"));
        // Delayed binding in the binder takes only the reserved volume.
        let c = claim("x", "1Gi", Some("manual"));
        assert!(find_best_match(&c, &vs, true, None).is_none());
        // The scheduler may take an available one on an allowed node.
        let yes = |_: &PersistentVolume| true;
        assert_eq!(find_best_match(&c, &vs, true, Some(&yes)).and_then(|v| v.metadata.name.as_deref()), Some("small"));
        let no = |_: &PersistentVolume| false;
        assert!(find_best_match(&c, &vs, true, Some(&no)).is_none());
    }

    #[test]
    fn pv_match_explains_a_mismatched_volume_name() {
        let v = available("a", "1Gi", "manual");
        assert_eq!(check_volume_satisfies_claim(&v, &claim("c", "2Gi", Some("manual"))), Err("requested PV is too small"));
        assert_eq!(check_volume_satisfies_claim(&v, &claim("c", "1Gi", Some("x"))), Err("storageClassName does not match"));
        assert_eq!(check_volume_satisfies_claim(&v, &claim("c", "1Gi", Some("manual"))), Ok(()));
    }

    #[test]
    fn pv_default_class_is_the_newest_annotated_one() {
        let class = |name: &str, default: bool, created: &str| -> StorageClass {
            serde_json::from_value(json!({"metadata": {"name": name, "creationTimestamp": created,
                "annotations": {ANN_DEFAULT_CLASS: if default { "true" } else { "false" }}}, "provisioner": "p"}))
            .expect("class")
        };
        let cs =
            [class("a", true, "2024-01-01T00:00:00Z"), class("b", true, "2024-02-01T00:00:00Z"), class("c", false, "2025-01-01T00:00:00Z")];
        assert_eq!(default_class(&cs).and_then(|c| c.metadata.name.as_deref()), Some("b"));
        assert!(default_class(&cs[2..]).is_none());
    }
}
