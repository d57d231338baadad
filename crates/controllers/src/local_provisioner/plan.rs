//! What the local provisioner does, decided from claims, volumes and
//! classes alone: a volume (and its directory) for each claim handed to
//! `nubis.io/local` once the scheduler has chosen its node, and the removal
//! of released volumes whose policy is Delete. Only directories directly
//! under the root, named after their volume, are ever removed.

use crate::persistent_volume::matching::{
    ANN_BETA_STORAGE_PROVISIONER, ANN_DEFAULT_CLASS, ANN_PROVISIONED_BY, ANN_SELECTED_NODE, ANN_STORAGE_PROVISIONER,
    WAIT_FOR_FIRST_CONSUMER, claim_class, claim_volume_name, phase,
};
use crate::persistent_volume::sync::{View, claim_ref};
use k8s_openapi::api::core::v1::{
    HostPathVolumeSource, NodeSelector, NodeSelectorRequirement, NodeSelectorTerm, PersistentVolume, PersistentVolumeClaim,
    PersistentVolumeSpec, VolumeNodeAffinity,
};
use k8s_openapi::api::storage::v1::StorageClass;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The provisioner name classes use for this provisioner.
pub const PROVISIONER: &str = "nubis.io/local";
/// The class `nubis up` provides.
pub const DEFAULT_CLASS: &str = "local";
/// The node label a provisioned volume's node affinity requires.
pub const HOSTNAME_LABEL: &str = "kubernetes.io/hostname";

#[derive(Debug, Clone, PartialEq)]
pub enum Work {
    /// Create `dir`, then `volume` for `claim`.
    Provision { claim: Box<PersistentVolumeClaim>, volume: Box<PersistentVolume>, dir: PathBuf },
    /// The claim cannot be provisioned (a `ProvisioningFailed` Event).
    Fail { claim: Box<PersistentVolumeClaim>, message: String },
    /// Remove `dir` (when it is ours), then the volume.
    Delete { volume: String, dir: Option<PathBuf> },
}

/// The default class, as created when absent.
pub fn default_class() -> StorageClass {
    StorageClass {
        metadata: ObjectMeta {
            name: Some(DEFAULT_CLASS.into()),
            annotations: Some([(ANN_DEFAULT_CLASS.to_string(), "true".to_string())].into()),
            ..ObjectMeta::default()
        },
        provisioner: PROVISIONER.into(),
        reclaim_policy: Some("Delete".into()),
        volume_binding_mode: Some(WAIT_FOR_FIRST_CONSUMER.into()),
        ..StorageClass::default()
    }
}

fn asked_of_us(claim: &PersistentVolumeClaim) -> bool {
    let a = claim.metadata.annotations.as_ref();
    let get = |k: &str| a.and_then(|a| a.get(k)).map(String::as_str);
    get(ANN_STORAGE_PROVISIONER).or_else(|| get(ANN_BETA_STORAGE_PROVISIONER)) == Some(PROVISIONER)
}

pub fn volume_name(claim: &PersistentVolumeClaim) -> String {
    format!("pvc-{}", claim.metadata.uid.as_deref().unwrap_or_default())
}

/// Everything to do now under `root`.
pub fn plan(view: &View, root: &Path) -> Vec<Work> {
    let mut work = Vec::new();
    for claim in view.claims.values() {
        if !asked_of_us(claim)
            || !claim_volume_name(claim).is_empty()
            || claim.metadata.deletion_timestamp.is_some()
            || claim.metadata.uid.is_none()
        {
            continue;
        }
        let class_name = claim_class(claim);
        let Some(class) = view.classes.get(class_name).filter(|c| c.provisioner == PROVISIONER) else {
            continue;
        };
        let name = volume_name(claim);
        if view.volumes.contains_key(&name) {
            continue;
        }
        let node = claim.metadata.annotations.as_ref().and_then(|a| a.get(ANN_SELECTED_NODE));
        let delayed = class.volume_binding_mode.as_deref() == Some(WAIT_FOR_FIRST_CONSUMER);
        let failed = |why: &str| Work::Fail {
            claim: Box::new(claim.clone()),
            message: format!("failed to provision volume with StorageClass \"{class_name}\": {why}"),
        };
        match node {
            None if delayed => {}
            None => work.push(failed("configuration error, no node was specified")),
            Some(_) if claim.spec.as_ref().and_then(|s| s.volume_mode.as_deref()) == Some("Block") => {
                work.push(failed("volumeMode Block is not supported"))
            }
            Some(node) => {
                let dir = root.join(&name);
                let volume = provisioned_volume(claim, class, &name, node, &dir);
                work.push(Work::Provision { claim: Box::new(claim.clone()), volume: Box::new(volume), dir });
            }
        }
    }
    for volume in view.volumes.values() {
        let ours = volume.metadata.annotations.as_ref().and_then(|a| a.get(ANN_PROVISIONED_BY)).map(String::as_str) == Some(PROVISIONER);
        let delete = volume.spec.as_ref().and_then(|s| s.persistent_volume_reclaim_policy.as_deref()) == Some("Delete");
        if ours && delete && phase(volume) == "Released" {
            let name = volume.metadata.name.clone().unwrap_or_default();
            work.push(Work::Delete { dir: owned_dir(volume, root, &name), volume: name });
        }
    }
    work
}

/// The volume's directory if it is `<root>/<volume name>`; anything else
/// (a volume edited by hand, another root) is left on disk.
fn owned_dir(volume: &PersistentVolume, root: &Path, name: &str) -> Option<PathBuf> {
    let path = PathBuf::from(volume.spec.as_ref()?.host_path.as_ref()?.path.clone());
    (!name.is_empty() && !name.contains('/') && name != ".." && path == root.join(name)).then_some(path)
}

fn provisioned_volume(claim: &PersistentVolumeClaim, class: &StorageClass, name: &str, node: &str, dir: &Path) -> PersistentVolume {
    let spec = claim.spec.clone().unwrap_or_default();
    let request = spec.resources.as_ref().and_then(|r| r.requests.as_ref()).and_then(|r| r.get("storage")).cloned();
    PersistentVolume {
        metadata: ObjectMeta {
            name: Some(name.into()),
            annotations: Some([(ANN_PROVISIONED_BY.to_string(), PROVISIONER.to_string())].into()),
            ..ObjectMeta::default()
        },
        spec: Some(PersistentVolumeSpec {
            access_modes: spec.access_modes.clone(),
            capacity: request.map(|q| BTreeMap::from([("storage".to_string(), q)])),
            claim_ref: Some(claim_ref(claim)),
            persistent_volume_reclaim_policy: Some(class.reclaim_policy.clone().unwrap_or_else(|| "Delete".into())),
            storage_class_name: class.metadata.name.clone(),
            volume_mode: Some(spec.volume_mode.clone().unwrap_or_else(|| "Filesystem".into())),
            mount_options: class.mount_options.clone(),
            host_path: Some(HostPathVolumeSource { path: dir.display().to_string(), type_: Some("DirectoryOrCreate".into()) }),
            node_affinity: Some(VolumeNodeAffinity {
                required: Some(NodeSelector {
                    node_selector_terms: vec![NodeSelectorTerm {
                        match_expressions: Some(vec![NodeSelectorRequirement {
                            key: HOSTNAME_LABEL.into(),
                            operator: "In".into(),
                            values: Some(vec![node.into()]),
                        }]),
                        match_fields: None,
                    }],
                }),
            }),
            ..PersistentVolumeSpec::default()
        }),
        status: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::persistent_volume::matching::tests::{claim, pv};
    use serde_json::json;

    fn view(claims: Vec<PersistentVolumeClaim>, volumes: Vec<PersistentVolume>) -> View {
        let mut v = View::default();
        v.classes.insert(DEFAULT_CLASS.into(), default_class());
        for c in claims {
            v.claims.insert(crate::persistent_volume::matching::claim_key(&c), c);
        }
        for pv in volumes {
            v.volumes.insert(pv.metadata.name.clone().unwrap_or_default(), pv);
        }
        v
    }

    fn handed_over(node: Option<&str>) -> PersistentVolumeClaim {
        let mut c = claim("data", "3Gi", Some("local"));
        let mut a = BTreeMap::from([(ANN_STORAGE_PROVISIONER.to_string(), PROVISIONER.to_string())]);
        if let Some(n) = node {
            a.insert(ANN_SELECTED_NODE.into(), n.into());
        }
        c.metadata.annotations = Some(a);
        c
    }

    #[test]
    fn local_provisioner_waits_for_the_selected_node() {
        assert_eq!(plan(&view(vec![handed_over(None)], vec![]), Path::new("/data/volumes")), vec![]);
        // Not handed over by the binder yet.
        assert_eq!(plan(&view(vec![claim("x", "1Gi", Some("local"))], vec![]), Path::new("/r")), vec![]);
    }

    #[test]
    fn local_provisioner_makes_a_volume_on_the_selected_node() {
        let work = plan(&view(vec![handed_over(Some("sim-1"))], vec![]), Path::new("/data/volumes"));
        let [Work::Provision { volume, dir, .. }] = work.as_slice() else { panic!("expected one provision: {work:?}") };
        assert_eq!(dir, Path::new("/data/volumes/pvc-uid-data"));
        let v = serde_json::to_value(volume).expect("json");
        assert_eq!(v["metadata"]["name"], "pvc-uid-data");
        assert_eq!(v["metadata"]["annotations"][ANN_PROVISIONED_BY], PROVISIONER);
        assert_eq!(v["spec"]["capacity"]["storage"], "3Gi");
        assert_eq!(v["spec"]["persistentVolumeReclaimPolicy"], "Delete");
        assert_eq!(v["spec"]["storageClassName"], "local");
        assert_eq!(v["spec"]["claimRef"]["uid"], "uid-data");
        assert_eq!(v["spec"]["hostPath"], json!({"path": "/data/volumes/pvc-uid-data", "type": "DirectoryOrCreate"}));
        assert_eq!(
            v["spec"]["nodeAffinity"]["required"]["nodeSelectorTerms"][0]["matchExpressions"][0],
            json!({"key": HOSTNAME_LABEL, "operator": "In", "values": ["sim-1"]})
        );
        // Once the volume exists there is nothing more to do.
        let done = view(vec![handed_over(Some("sim-1"))], vec![(**volume).clone()]);
        assert_eq!(plan(&done, Path::new("/data/volumes")), vec![]);
    }

    #[test]
    fn local_provisioner_deletes_only_released_delete_volumes_under_its_root() {
        let released = |name: &str, path: &str, policy: &str| {
            pv(json!({"metadata": {"name": name, "annotations": {ANN_PROVISIONED_BY: PROVISIONER}},
                "spec": {"persistentVolumeReclaimPolicy": policy, "hostPath": {"path": path}}, "status": {"phase": "Released"}}))
        };
        let vs =
            vec![released("pvc-a", "/r/pvc-a", "Delete"), released("pvc-b", "/etc", "Delete"), released("pvc-c", "/r/pvc-c", "Retain")];
        let work = plan(&view(vec![], vs), Path::new("/r"));
        assert_eq!(
            work,
            vec![
                Work::Delete { volume: "pvc-a".into(), dir: Some(PathBuf::from("/r/pvc-a")) },
                Work::Delete { volume: "pvc-b".into(), dir: None },
            ]
        );
    }
}
