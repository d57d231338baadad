//! The binder's decisions as one pure pass over claims and volumes
//! (Kubernetes' `syncClaim` and `syncVolume`): each write it decides is
//! applied to the view at once, so later decisions in the same pass see
//! it (two claims never take one volume).

use super::matching::{
    ANN_BETA_STORAGE_PROVISIONER, ANN_BIND_COMPLETED, ANN_BOUND_BY_CONTROLLER, ANN_PROVISIONED_BY, ANN_SELECTED_NODE,
    ANN_STORAGE_PROVISIONER, check_volume_satisfies_claim, claim_class, claim_key, claim_volume_name, default_class, find_best_match,
    has_annotation, is_bound_to, is_delay_binding, phase,
};
use k8s_openapi::api::core::v1::{
    ObjectReference, PersistentVolume, PersistentVolumeClaim, PersistentVolumeClaimStatus, PersistentVolumeStatus,
};
use k8s_openapi::api::storage::v1::StorageClass;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use std::collections::BTreeMap;

/// What the binder sees: claims by `namespace/name`, volumes and classes
/// by name.
#[derive(Debug, Clone, Default)]
pub struct View {
    pub claims: BTreeMap<String, PersistentVolumeClaim>,
    pub volumes: BTreeMap<String, PersistentVolume>,
    pub classes: BTreeMap<String, StorageClass>,
}

/// One write or Event, in the order to carry them out.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    UpdateVolume(PersistentVolume),
    UpdateVolumeStatus(PersistentVolume),
    UpdateClaim(PersistentVolumeClaim),
    UpdateClaimStatus(PersistentVolumeClaim),
    Event { object: ObjectReference, type_: &'static str, reason: &'static str, message: String },
}

const NORMAL: &str = "Normal";
const WARNING: &str = "Warning";

/// Decides every write for one pass. `now` stamps phase transitions.
pub fn plan(view: &mut View, now: jiff::Timestamp) -> Vec<Action> {
    let mut p = Pass { view, now, actions: Vec::new() };
    let claims: Vec<String> = p.view.claims.keys().cloned().collect();
    for key in claims {
        p.sync_claim(&key);
    }
    let volumes: Vec<String> = p.view.volumes.keys().cloned().collect();
    for name in volumes {
        p.sync_volume(&name);
    }
    p.actions
}

struct Pass<'a> {
    view: &'a mut View,
    now: jiff::Timestamp,
    actions: Vec<Action>,
}

pub fn claim_ref(claim: &PersistentVolumeClaim) -> ObjectReference {
    ObjectReference {
        kind: Some("PersistentVolumeClaim".into()),
        api_version: Some("v1".into()),
        namespace: claim.metadata.namespace.clone(),
        name: claim.metadata.name.clone(),
        uid: claim.metadata.uid.clone(),
        resource_version: claim.metadata.resource_version.clone(),
        ..ObjectReference::default()
    }
}

fn volume_ref(volume: &PersistentVolume) -> ObjectReference {
    ObjectReference {
        kind: Some("PersistentVolume".into()),
        api_version: Some("v1".into()),
        name: volume.metadata.name.clone(),
        uid: volume.metadata.uid.clone(),
        resource_version: volume.metadata.resource_version.clone(),
        ..ObjectReference::default()
    }
}

fn annotate(meta: &mut ObjectMeta, key: &str) {
    meta.annotations.get_or_insert_default().insert(key.into(), "yes".into());
}

impl Pass<'_> {
    fn claim_event(&mut self, claim: &PersistentVolumeClaim, type_: &'static str, reason: &'static str, message: impl Into<String>) {
        self.actions.push(Action::Event { object: claim_ref(claim), type_, reason, message: message.into() });
    }

    fn volume_event(&mut self, volume: &PersistentVolume, type_: &'static str, reason: &'static str, message: impl Into<String>) {
        self.actions.push(Action::Event { object: volume_ref(volume), type_, reason, message: message.into() });
    }

    fn sync_claim(&mut self, key: &str) {
        let Some(claim) = self.view.claims.get(key).cloned() else {
            return;
        };
        if !has_annotation(&claim.metadata, ANN_BIND_COMPLETED) {
            self.sync_unbound_claim(claim);
        } else {
            self.sync_bound_claim(claim);
        }
    }

    fn sync_unbound_claim(&mut self, claim: PersistentVolumeClaim) {
        let volume_name = claim_volume_name(&claim).to_string();
        if volume_name.is_empty() {
            if self.assign_default_class(&claim) {
                return;
            }
            let delay = is_delay_binding(&claim, &self.view.classes);
            let found = find_best_match(&claim, self.view.volumes.values(), delay, None).cloned();
            match found {
                Some(volume) => self.bind(volume, claim),
                None => {
                    if delay && !has_annotation(&claim.metadata, ANN_SELECTED_NODE) {
                        self.claim_event(&claim, NORMAL, "WaitForFirstConsumer", "waiting for first consumer to be created before binding");
                    } else if !claim_class(&claim).is_empty() {
                        self.provision(claim);
                        return;
                    } else {
                        self.claim_event(
                            &claim,
                            NORMAL,
                            "FailedBinding",
                            "no persistent volumes available for this claim and no storage class is set",
                        );
                    }
                    self.claim_status(claim, "Pending", None);
                }
            }
            return;
        }
        let Some(volume) = self.view.volumes.get(&volume_name).cloned() else {
            // The named volume may come later.
            self.claim_status(claim, "Pending", None);
            return;
        };
        if volume.spec.as_ref().and_then(|s| s.claim_ref.as_ref()).is_none() {
            match check_volume_satisfies_claim(&volume, &claim) {
                Ok(()) => self.bind(volume, claim),
                Err(why) => {
                    self.claim_event(
                        &claim,
                        WARNING,
                        "VolumeMismatch",
                        format!("Cannot bind to requested volume \"{volume_name}\": {why}"),
                    );
                    self.claim_status(claim, "Pending", None);
                }
            }
        } else if is_bound_to(&volume, &claim) {
            self.bind(volume, claim);
        } else if !has_annotation(&claim.metadata, ANN_BOUND_BY_CONTROLLER) {
            self.claim_event(&claim, WARNING, "FailedBinding", format!("volume \"{volume_name}\" already bound to a different claim."));
            self.claim_status(claim, "Pending", None);
        }
        // Otherwise someone removed the bind-completed annotation of a claim
        // the controller bound; Kubernetes leaves that alone too.
    }

    /// A claim created without a class (not with `""`) gets the default
    /// class once one exists (Kubernetes' retroactive default assignment).
    fn assign_default_class(&mut self, claim: &PersistentVolumeClaim) -> bool {
        let unset = claim.spec.as_ref().is_some_and(|s| s.storage_class_name.is_none())
            && !has_annotation(&claim.metadata, super::matching::ANN_BETA_STORAGE_CLASS);
        if !unset {
            return false;
        }
        let Some(class) = default_class(self.view.classes.values()).and_then(|c| c.metadata.name.clone()) else {
            return false;
        };
        let mut updated = claim.clone();
        if let Some(spec) = updated.spec.as_mut() {
            spec.storage_class_name = Some(class);
        }
        self.put_claim(updated);
        true
    }

    /// Hands the claim to an external provisioner: the annotations it
    /// watches for, and the Event Kubernetes emits while waiting.
    fn provision(&mut self, claim: PersistentVolumeClaim) {
        let class = claim_class(&claim).to_string();
        let Some(provisioner) = self.view.classes.get(&class).map(|c| c.provisioner.clone()) else {
            self.claim_event(&claim, WARNING, "ProvisioningFailed", format!("storageclass.storage.k8s.io \"{class}\" not found"));
            return;
        };
        let annotations = claim.metadata.annotations.clone().unwrap_or_default();
        if annotations.get(ANN_STORAGE_PROVISIONER) != Some(&provisioner)
            || annotations.get(ANN_BETA_STORAGE_PROVISIONER) != Some(&provisioner)
        {
            let mut updated = claim.clone();
            let a = updated.metadata.annotations.get_or_insert_default();
            a.insert(ANN_STORAGE_PROVISIONER.into(), provisioner.clone());
            a.insert(ANN_BETA_STORAGE_PROVISIONER.into(), provisioner.clone());
            self.put_claim(updated);
        }
        self.claim_event(
            &claim,
            NORMAL,
            "ExternalProvisioning",
            format!("Waiting for a volume to be created either by the external provisioner '{provisioner}' or manually by the system administrator. If volume creation is delayed, please verify that the provisioner is running and correctly registered."),
        );
    }

    fn sync_bound_claim(&mut self, claim: PersistentVolumeClaim) {
        let volume_name = claim_volume_name(&claim).to_string();
        if volume_name.is_empty() {
            self.claim_lost(claim, "ClaimLost", "Bound claim has lost reference to PersistentVolume. Data on the volume is lost!");
            return;
        }
        let Some(volume) = self.view.volumes.get(&volume_name).cloned() else {
            self.claim_lost(claim, "ClaimLost", "Bound claim has lost its PersistentVolume. Data on the volume is lost!");
            return;
        };
        let claim_uid = volume.spec.as_ref().and_then(|s| s.claim_ref.as_ref()).map(|r| r.uid.clone());
        match claim_uid {
            None => self.bind(volume, claim),
            Some(uid) if uid == claim.metadata.uid => self.bind(volume, claim),
            Some(_) => self.claim_lost(claim, "ClaimMisbound", "Two claims are bound to the same volume, this one is bound incorrectly"),
        }
    }

    fn claim_lost(&mut self, claim: PersistentVolumeClaim, reason: &'static str, message: &str) {
        if super::matching::claim_phase(&claim) == "Lost" {
            return;
        }
        let event_claim = claim.clone();
        self.claim_status(claim, "Lost", None);
        self.claim_event(&event_claim, WARNING, reason, message);
    }

    fn sync_volume(&mut self, name: &str) {
        let Some(volume) = self.view.volumes.get(name).cloned() else {
            return;
        };
        let Some(r) = volume.spec.as_ref().and_then(|s| s.claim_ref.clone()) else {
            self.volume_phase(volume, "Available", None);
            return;
        };
        if r.uid.as_deref().is_none_or(str::is_empty) {
            // Reserved for a claim that has not been bound yet.
            self.volume_phase(volume, "Available", None);
            return;
        }
        let key = format!("{}/{}", r.namespace.as_deref().unwrap_or_default(), r.name.as_deref().unwrap_or_default());
        let claim = self.view.claims.get(&key).filter(|c| c.metadata.uid == r.uid).cloned();
        let Some(claim) = claim else {
            let volume = if phase(&volume) != "Released" && phase(&volume) != "Failed" {
                self.volume_phase(volume, "Released", None)
            } else {
                volume
            };
            self.reclaim(volume);
            return;
        };
        let claim_volume = claim_volume_name(&claim);
        if claim_volume.is_empty() {
            // The claim's side of the binding is the claim sync's work.
        } else if claim_volume == name {
            self.volume_phase(volume, "Bound", None);
        } else if has_annotation(&volume.metadata, ANN_PROVISIONED_BY) && reclaim_policy(&volume) == "Delete" {
            // Provisioned for a claim that got another volume.
            let volume = if phase(&volume) != "Released" && phase(&volume) != "Failed" {
                self.volume_phase(volume, "Released", None)
            } else {
                volume
            };
            self.reclaim(volume);
        } else {
            self.unbind_volume(volume);
        }
    }

    /// Retain keeps a released volume; Delete leaves a provisioned one to
    /// its provisioner (all provisioners are external here) and fails
    /// others, which no plugin can delete; Recycle is not supported.
    fn reclaim(&mut self, volume: PersistentVolume) {
        match reclaim_policy(&volume) {
            "Retain" => {}
            "Delete" => {
                if !has_annotation(&volume.metadata, ANN_PROVISIONED_BY) && phase(&volume) != "Failed" {
                    let name = volume.metadata.name.clone().unwrap_or_default();
                    let message = format!("error getting deleter volume plugin for volume \"{name}\": no deletable volume plugin matched");
                    let failed = self.volume_phase(volume, "Failed", Some(message.clone()));
                    self.volume_event(&failed, WARNING, "VolumeFailedDelete", message);
                }
            }
            _ => {
                if phase(&volume) != "Failed" {
                    let message = "No recycler plugin found for the volume!".to_string();
                    let failed = self.volume_phase(volume, "Failed", Some(message.clone()));
                    self.volume_event(&failed, WARNING, "VolumeFailedRecycle", message);
                }
            }
        }
    }

    /// A volume whose claim went to another volume: free it, keeping a
    /// user's reservation (`claimRef` without uid).
    fn unbind_volume(&mut self, volume: PersistentVolume) {
        let mut updated = volume.clone();
        if has_annotation(&volume.metadata, ANN_BOUND_BY_CONTROLLER) {
            if let Some(spec) = updated.spec.as_mut() {
                spec.claim_ref = None;
            }
            if let Some(a) = updated.metadata.annotations.as_mut() {
                a.remove(ANN_BOUND_BY_CONTROLLER);
            }
        } else if let Some(r) = updated.spec.as_mut().and_then(|s| s.claim_ref.as_mut()) {
            r.uid = None;
        }
        let updated = self.put_volume(updated);
        self.volume_phase(updated, "Available", None);
    }

    /// Both sides of a binding, in Kubernetes' order: the volume's
    /// `claimRef`, its phase, the claim's `volumeName` and annotations,
    /// its status. Steps already done write nothing.
    fn bind(&mut self, volume: PersistentVolume, claim: PersistentVolumeClaim) {
        let mut volume = volume;
        let current = volume.spec.as_ref().and_then(|s| s.claim_ref.as_ref());
        let ref_ok = current
            .is_some_and(|r| r.name == claim.metadata.name && r.namespace == claim.metadata.namespace && r.uid == claim.metadata.uid);
        if !ref_ok {
            let mut updated = volume.clone();
            if !is_bound_to(&volume, &claim) {
                annotate(&mut updated.metadata, ANN_BOUND_BY_CONTROLLER);
            }
            if let Some(spec) = updated.spec.as_mut() {
                spec.claim_ref = Some(claim_ref(&claim));
            }
            volume = self.put_volume(updated);
        }
        let volume = self.volume_phase(volume, "Bound", None);
        let name = volume.metadata.name.clone().unwrap_or_default();
        let mut claim = claim;
        let needs_name = claim_volume_name(&claim) != name;
        if needs_name || !has_annotation(&claim.metadata, ANN_BIND_COMPLETED) {
            let mut updated = claim.clone();
            if needs_name {
                if let Some(spec) = updated.spec.as_mut() {
                    spec.volume_name = Some(name);
                }
                annotate(&mut updated.metadata, ANN_BOUND_BY_CONTROLLER);
            }
            annotate(&mut updated.metadata, ANN_BIND_COMPLETED);
            claim = self.put_claim(updated);
        }
        self.claim_status(claim, "Bound", Some(&volume));
    }

    fn put_volume(&mut self, volume: PersistentVolume) -> PersistentVolume {
        let name = volume.metadata.name.clone().unwrap_or_default();
        self.view.volumes.insert(name, volume.clone());
        self.actions.push(Action::UpdateVolume(volume.clone()));
        volume
    }

    fn put_claim(&mut self, claim: PersistentVolumeClaim) -> PersistentVolumeClaim {
        self.view.claims.insert(claim_key(&claim), claim.clone());
        self.actions.push(Action::UpdateClaim(claim.clone()));
        claim
    }

    fn volume_phase(&mut self, volume: PersistentVolume, phase_: &str, message: Option<String>) -> PersistentVolume {
        let status = volume.status.clone().unwrap_or_default();
        if status.phase.as_deref() == Some(phase_) && status.message == message {
            return volume;
        }
        let mut updated = volume;
        let transition = status.phase.as_deref() != Some(phase_);
        updated.status = Some(PersistentVolumeStatus {
            phase: Some(phase_.into()),
            message,
            reason: None,
            last_phase_transition_time: if transition { Some(Time(self.now)) } else { status.last_phase_transition_time },
        });
        let name = updated.metadata.name.clone().unwrap_or_default();
        self.view.volumes.insert(name, updated.clone());
        self.actions.push(Action::UpdateVolumeStatus(updated.clone()));
        updated
    }

    fn claim_status(&mut self, claim: PersistentVolumeClaim, phase_: &str, volume: Option<&PersistentVolume>) {
        let status = claim.status.clone().unwrap_or_default();
        let (modes, capacity) = match volume {
            Some(v) => (v.spec.as_ref().and_then(|s| s.access_modes.clone()), v.spec.as_ref().and_then(|s| s.capacity.clone())),
            None => (None, None),
        };
        if status.phase.as_deref() == Some(phase_) && status.access_modes == modes && status.capacity == capacity {
            return;
        }
        let mut updated = claim;
        updated.status = Some(PersistentVolumeClaimStatus { phase: Some(phase_.into()), access_modes: modes, capacity, ..status });
        self.view.claims.insert(claim_key(&updated), updated.clone());
        self.actions.push(Action::UpdateClaimStatus(updated));
    }
}

fn reclaim_policy(volume: &PersistentVolume) -> &str {
    volume.spec.as_ref().and_then(|s| s.persistent_volume_reclaim_policy.as_deref()).unwrap_or("Retain")
}

#[cfg(test)]
mod tests {
    use super::super::matching::tests::{available, claim};
    use super::*;
    use serde_json::json;

    fn now() -> jiff::Timestamp {
        jiff::Timestamp::from_second(1_700_000_000).expect("time")
    }

    fn view(claims: Vec<PersistentVolumeClaim>, volumes: Vec<PersistentVolume>, classes: Vec<serde_json::Value>) -> View {
        View {
            claims: claims.into_iter().map(|c| (claim_key(&c), c)).collect(),
            volumes: volumes.into_iter().map(|v| (v.metadata.name.clone().unwrap_or_default(), v)).collect(),
            classes: classes
                .into_iter()
                .map(|c| serde_json::from_value::<StorageClass>(c).expect("class"))
                .map(|c| (c.metadata.name.clone().unwrap_or_default(), c))
                .collect(),
        }
    }

    fn events(actions: &[Action]) -> Vec<(&'static str, String)> {
        actions
            .iter()
            .filter_map(|a| if let Action::Event { reason, message, .. } = a { Some((*reason, message.clone())) } else { None })
            .collect()
    }

    fn wffc() -> serde_json::Value {
        json!({"metadata": {"name": "local", "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
            "provisioner": "nubis.io/local", "volumeBindingMode": "WaitForFirstConsumer", "reclaimPolicy": "Delete"})
    }

    #[test]
    fn pv_sync_binds_a_claim_to_the_smallest_fit_both_ways() {
        let mut v = view(
            vec![claim("data", "1Gi", Some("manual"))],
            vec![available("big", "10Gi", "manual"), available("small", "2Gi", "manual")],
            vec![],
        );
        let actions = plan(&mut v, now());
        let claim = &v.claims["default/data"];
        assert_eq!(claim_volume_name(claim), "small");
        let ann = claim.metadata.annotations.clone().unwrap_or_default();
        assert_eq!(ann.get(ANN_BIND_COMPLETED).map(String::as_str), Some("yes"));
        assert_eq!(ann.get(ANN_BOUND_BY_CONTROLLER).map(String::as_str), Some("yes"));
        let status = claim.status.clone().unwrap_or_default();
        assert_eq!(status.phase.as_deref(), Some("Bound"));
        assert_eq!(status.capacity.and_then(|c| c.get("storage").cloned()).map(|q| q.0), Some("2Gi".to_string()));
        let pv = &v.volumes["small"];
        assert_eq!(phase(pv), "Bound");
        assert_eq!(pv.spec.as_ref().and_then(|s| s.claim_ref.as_ref()).and_then(|r| r.uid.as_deref()), Some("uid-data"));
        assert!(has_annotation(&pv.metadata, ANN_BOUND_BY_CONTROLLER));
        assert_eq!(phase(&v.volumes["big"]), "Available");
        let kinds: Vec<&str> = actions
            .iter()
            .map(|a| match a {
                Action::UpdateVolume(_) => "volume",
                Action::UpdateVolumeStatus(_) => "volume-status",
                Action::UpdateClaim(_) => "claim",
                Action::UpdateClaimStatus(_) => "claim-status",
                Action::Event { .. } => "event",
            })
            .collect();
        assert_eq!(kinds, ["volume", "volume-status", "claim", "claim-status"]);
        // A second pass over the result has nothing to do.
        assert_eq!(plan(&mut v, now()), vec![]);
    }

    #[test]
    fn pv_sync_two_claims_never_share_a_volume() {
        let mut v = view(vec![claim("a", "1Gi", Some("m")), claim("b", "1Gi", Some("m"))], vec![available("only", "1Gi", "m")], vec![]);
        plan(&mut v, now());
        let bound: Vec<&str> = v.claims.values().map(claim_volume_name).filter(|n| !n.is_empty()).collect();
        assert_eq!(bound, ["only"]);
    }

    #[test]
    fn pv_sync_pending_claims_say_why() {
        let mut v = view(vec![claim("noclass", "1Gi", Some(""))], vec![], vec![]);
        let a = plan(&mut v, now());
        assert_eq!(
            events(&a),
            [("FailedBinding", "no persistent volumes available for this claim and no storage class is set".to_string())]
        );

        let mut v = view(vec![claim("later", "1Gi", Some("local"))], vec![], vec![wffc()]);
        let a = plan(&mut v, now());
        assert_eq!(events(&a), [("WaitForFirstConsumer", "waiting for first consumer to be created before binding".to_string())]);

        let mut selected = claim("chosen", "1Gi", Some("local"));
        selected.metadata.annotations = Some([(ANN_SELECTED_NODE.to_string(), "sim-1".to_string())].into());
        let mut v = view(vec![selected], vec![], vec![wffc()]);
        let a = plan(&mut v, now());
        assert_eq!(events(&a)[0].0, "ExternalProvisioning");
        assert!(events(&a)[0].1.starts_with("Waiting for a volume to be created either by the external provisioner 'nubis.io/local'"));
        let ann = v.claims["default/chosen"].metadata.annotations.clone().unwrap_or_default();
        assert_eq!(ann.get(ANN_STORAGE_PROVISIONER).map(String::as_str), Some("nubis.io/local"));
    }

    #[test]
    fn pv_sync_gives_classless_claims_the_default_class() {
        let mut v = view(vec![claim("c", "1Gi", None)], vec![], vec![wffc()]);
        let a = plan(&mut v, now());
        assert!(matches!(&a[0], Action::UpdateClaim(c) if claim_class(c) == "local"));
    }

    #[test]
    fn pv_sync_released_volumes_follow_their_reclaim_policy() {
        let mut retained = available("kept", "1Gi", "m");
        retained.spec.as_mut().expect("spec").claim_ref =
            Some(serde_json::from_value(json!({"name": "gone", "namespace": "default", "uid": "u-gone"})).expect("ref"));
        retained.status = Some(PersistentVolumeStatus { phase: Some("Bound".into()), ..Default::default() });
        let mut provisioned = retained.clone();
        provisioned.metadata.name = Some("pvc-1".into());
        provisioned.spec.as_mut().expect("spec").persistent_volume_reclaim_policy = Some("Delete".into());
        provisioned.metadata.annotations = Some([(ANN_PROVISIONED_BY.to_string(), "nubis.io/local".to_string())].into());
        let mut manual = retained.clone();
        manual.metadata.name = Some("manual".into());
        manual.spec.as_mut().expect("spec").persistent_volume_reclaim_policy = Some("Delete".into());
        let mut v = view(vec![], vec![retained, provisioned, manual], vec![]);
        let a = plan(&mut v, now());
        assert_eq!(phase(&v.volumes["kept"]), "Released");
        assert_eq!(phase(&v.volumes["pvc-1"]), "Released");
        assert_eq!(phase(&v.volumes["manual"]), "Failed");
        assert_eq!(events(&a).iter().map(|e| e.0).collect::<Vec<_>>(), ["VolumeFailedDelete"]);
        assert_eq!(plan(&mut v, now()), vec![]);
    }

    #[test]
    fn pv_sync_lost_volume_makes_the_claim_lost() {
        let mut c = claim("c", "1Gi", Some("m"));
        c.spec.as_mut().expect("spec").volume_name = Some("vanished".into());
        c.metadata.annotations = Some([(ANN_BIND_COMPLETED.to_string(), "yes".to_string())].into());
        c.status = Some(PersistentVolumeClaimStatus { phase: Some("Bound".into()), ..Default::default() });
        let mut v = view(vec![c], vec![], vec![]);
        let a = plan(&mut v, now());
        assert_eq!(super::super::matching::claim_phase(&v.claims["default/c"]), "Lost");
        assert_eq!(events(&a), [("ClaimLost", "Bound claim has lost its PersistentVolume. Data on the volume is lost!".to_string())]);
    }

    #[test]
    fn pv_sync_volume_name_pre_binding_checks_the_volume() {
        let mut c = claim("c", "5Gi", Some("m"));
        c.spec.as_mut().expect("spec").volume_name = Some("small".into());
        let mut v = view(vec![c], vec![available("small", "1Gi", "m")], vec![]);
        let a = plan(&mut v, now());
        assert_eq!(events(&a), [("VolumeMismatch", "Cannot bind to requested volume \"small\": requested PV is too small".to_string())]);

        let mut c = claim("c", "1Gi", Some("m"));
        c.spec.as_mut().expect("spec").volume_name = Some("small".into());
        let mut v = view(vec![c], vec![available("small", "1Gi", "m")], vec![]);
        plan(&mut v, now());
        let ann = v.claims["default/c"].metadata.annotations.clone().unwrap_or_default();
        // The user named the volume: only bind-completed is the controller's.
        assert!(ann.contains_key(ANN_BIND_COMPLETED) && !ann.contains_key(ANN_BOUND_BY_CONTROLLER));
        assert_eq!(phase(&v.volumes["small"]), "Bound");
    }

    #[test]
    fn pv_sync_claim_ref_pre_binding_is_honoured_without_the_controller_annotation() {
        let mut reserved = available("reserved", "1Gi", "m");
        reserved.spec.as_mut().expect("spec").claim_ref =
            Some(serde_json::from_value(json!({"name": "c", "namespace": "default"})).expect("ref"));
        let mut v = view(vec![claim("c", "1Gi", Some("m"))], vec![available("other", "1Gi", "m"), reserved], vec![]);
        plan(&mut v, now());
        assert_eq!(claim_volume_name(&v.claims["default/c"]), "reserved");
        assert!(!has_annotation(&v.volumes["reserved"].metadata, ANN_BOUND_BY_CONTROLLER));
    }
}
