//! Volume binding in the scheduler (kube-scheduler's VolumeBinding and
//! VolumeZone plugins): a pod's claims must exist; unbound claims of an
//! Immediate class make it wait for the binder; bound volumes pin the pod
//! to the nodes their node affinity allows; unbound claims of a
//! WaitForFirstConsumer class need, on the chosen node, an available
//! matching volume (reserved for the claim before the pod is bound) or a
//! provisioner (told the node through `volume.kubernetes.io/selected-node`).

use super::cache::NodeInfo;
use super::filter::{Reason, node_term_matches};
use crate::persistent_volume::matching::{
    ANN_BOUND_BY_CONTROLLER, ANN_SELECTED_NODE, NO_PROVISIONER, claim_volume_name, find_best_match, is_delay_binding,
};
use crate::cached_pod::CachedPod;
use k8s_openapi::api::core::v1::{PersistentVolume, PersistentVolumeClaim};
use k8s_openapi::api::storage::v1::StorageClass;
use kube::ResourceExt;
use kube::runtime::watcher;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

pub const ERR_UNBOUND_IMMEDIATE: &str = "pod has unbound immediate PersistentVolumeClaims";
pub const ERR_NODE_CONFLICT: &str = "node(s) had volume node affinity conflict";
pub const ERR_BIND_CONFLICT: &str = "node(s) didn't find available persistent volumes to bind";
pub const ERR_PV_NOT_EXIST: &str = "node(s) unavailable due to one or more pvc(s) bound to non-existent pv(s)";

/// One kind's objects as a watch reports them, relists included.
pub struct Mirror<K> {
    pub items: HashMap<String, Arc<K>>,
    relist: Option<HashMap<String, Arc<K>>>,
    /// The first list is complete.
    pub listed: bool,
}

impl<K> Default for Mirror<K> {
    fn default() -> Self {
        Mirror { items: HashMap::new(), relist: None, listed: false }
    }
}

impl<K: kube::Resource> Mirror<K> {
    fn key(k: &K) -> String {
        match k.meta().namespace.as_deref() {
            Some(ns) => format!("{ns}/{}", k.meta().name.as_deref().unwrap_or_default()),
            None => k.meta().name.clone().unwrap_or_default(),
        }
    }

    /// Applies a watch event; true when the objects may have changed.
    pub fn apply(&mut self, event: watcher::Event<K>) -> bool {
        match event {
            watcher::Event::Init => {
                self.relist = Some(HashMap::new());
                false
            }
            watcher::Event::InitApply(k) => {
                if let Some(r) = self.relist.as_mut() {
                    r.insert(Self::key(&k), Arc::new(k));
                }
                false
            }
            watcher::Event::InitDone => {
                if let Some(r) = self.relist.take() {
                    self.items = r;
                }
                self.listed = true;
                true
            }
            watcher::Event::Apply(k) => {
                self.items.insert(Self::key(&k), Arc::new(k));
                true
            }
            watcher::Event::Delete(k) => {
                self.items.remove(&Self::key(&k));
                true
            }
        }
    }
}

/// The scheduler's view of storage.
#[derive(Default)]
pub struct Volumes {
    pub claims: Mirror<PersistentVolumeClaim>,
    pub volumes: Mirror<PersistentVolume>,
    pub classes: Mirror<StorageClass>,
    /// Volumes reserved for a pod's claims while its binding is in flight:
    /// volume name to pod key.
    pub reserved: HashMap<String, String>,
}

/// A pod's claims, sorted out before the nodes are filtered.
#[derive(Debug, Default)]
pub struct PodVolumes {
    /// Volumes of bound claims.
    bound: Vec<Arc<PersistentVolume>>,
    /// A bound claim names a volume that does not exist.
    missing_volume: bool,
    /// Unbound claims of WaitForFirstConsumer classes.
    delayed: Vec<Arc<PersistentVolumeClaim>>,
}

/// What must happen before the pod may be bound to its node.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Reserve the volume for the claim (its `claimRef`).
    Reserve { volume: String, claim: Arc<PersistentVolumeClaim> },
    /// Tell the claim's provisioner the node.
    SelectNode { claim: Arc<PersistentVolumeClaim>, node: String },
}

impl Step {
    pub fn claim(&self) -> &PersistentVolumeClaim {
        match self {
            Step::Reserve { claim, .. } | Step::SelectNode { claim, .. } => claim,
        }
    }
}

fn claim_names(pod: &CachedPod) -> Vec<&str> {
    pod.spec
        .iter()
        .flat_map(|s| s.volumes.iter().flatten())
        .filter_map(|v| v.persistent_volume_claim.as_ref().map(|c| c.claim_name.as_str()))
        .collect()
}

impl Volumes {
    /// Every kind has been listed once.
    pub fn synced(&self) -> bool {
        self.claims.listed && self.volumes.listed && self.classes.listed
    }

    fn classes(&self) -> BTreeMap<String, StorageClass> {
        self.classes.items.iter().map(|(k, v)| (k.clone(), (**v).clone())).collect()
    }

    /// PreFilter: `None` for a pod without claims; an error is the
    /// pod-wide reason it cannot be scheduled, in Kubernetes' words.
    pub fn prefilter(&self, pod: &CachedPod) -> Result<Option<PodVolumes>, String> {
        let names = claim_names(pod);
        if names.is_empty() {
            return Ok(None);
        }
        let namespace = pod.namespace().unwrap_or_default();
        let classes = self.classes();
        let mut out = PodVolumes::default();
        let mut unbound_immediate = false;
        for name in names {
            let Some(claim) = self.claims.items.get(&format!("{namespace}/{name}")) else {
                return Err(format!("persistentvolumeclaim \"{name}\" not found"));
            };
            if claim.metadata.deletion_timestamp.is_some() {
                return Err(format!("persistentvolumeclaim \"{name}\" is being deleted"));
            }
            let volume = claim_volume_name(claim);
            if !volume.is_empty() {
                match self.volumes.items.get(volume) {
                    Some(v) => out.bound.push(v.clone()),
                    None => out.missing_volume = true,
                }
            } else if is_delay_binding(claim, &classes) {
                out.delayed.push(claim.clone());
            } else {
                unbound_immediate = true;
            }
        }
        if unbound_immediate {
            return Err(ERR_UNBOUND_IMMEDIATE.into());
        }
        Ok(Some(out))
    }

    /// Filter: whether the node can serve every claim of the pod.
    pub fn filter(&self, pod_key: &str, vols: &PodVolumes, node: &NodeInfo) -> Result<(), Vec<Reason>> {
        self.steps(pod_key, vols, node).map(|_| ())
    }

    /// The steps to take on `node` before binding, or why it cannot be.
    pub fn steps(&self, pod_key: &str, vols: &PodVolumes, node: &NodeInfo) -> Result<Vec<Step>, Vec<Reason>> {
        let unresolvable = |text: &str| vec![Reason { text: text.into(), unresolvable: true }];
        if vols.missing_volume {
            return Err(unresolvable(ERR_PV_NOT_EXIST));
        }
        if vols.bound.iter().any(|v| !allows(v, node)) {
            return Err(unresolvable(ERR_NODE_CONFLICT));
        }
        let mut steps = Vec::new();
        let mut chosen: HashSet<String> = HashSet::new();
        for claim in &vols.delayed {
            let selected = claim.metadata.annotations.as_ref().and_then(|a| a.get(ANN_SELECTED_NODE));
            if selected.is_some_and(|n| *n != node.name) {
                return Err(unresolvable(ERR_BIND_CONFLICT));
            }
            let candidates = self.volumes.items.values().map(|v| &**v).filter(|v| {
                let name = v.metadata.name.as_deref().unwrap_or_default();
                !chosen.contains(name) && self.reserved.get(name).is_none_or(|p| p == pod_key)
            });
            let fits = |v: &PersistentVolume| allows(v, node);
            if let Some(v) = find_best_match(claim, candidates, true, Some(&fits)) {
                let name = v.metadata.name.clone().unwrap_or_default();
                chosen.insert(name.clone());
                steps.push(Step::Reserve { volume: name, claim: claim.clone() });
                continue;
            }
            let provisioner =
                self.classes.items.get(crate::persistent_volume::matching::claim_class(claim)).map(|c| c.provisioner.as_str());
            match provisioner {
                Some(p) if p != NO_PROVISIONER => {
                    steps.push(Step::SelectNode { claim: claim.clone(), node: node.name.clone() });
                }
                _ => return Err(unresolvable(ERR_BIND_CONFLICT)),
            }
        }
        Ok(steps)
    }

    /// Reserves the steps' volumes for the pod until [`Volumes::release`].
    pub fn reserve(&mut self, pod_key: &str, steps: &[Step]) {
        for s in steps {
            if let Step::Reserve { volume, .. } = s {
                self.reserved.insert(volume.clone(), pod_key.to_string());
            }
        }
    }

    pub fn release(&mut self, pod_key: &str) {
        self.reserved.retain(|_, p| p != pod_key);
    }
}

/// Whether the volume's required node affinity admits the node.
fn allows(volume: &PersistentVolume, node: &NodeInfo) -> bool {
    match volume.spec.as_ref().and_then(|s| s.node_affinity.as_ref()).and_then(|a| a.required.as_ref()) {
        Some(sel) => sel.node_selector_terms.iter().any(|t| node_term_matches(t, node)),
        None => true,
    }
}

/// The volume with its `claimRef` set to the claim, as the scheduler's
/// binder writes it (the binder completes the binding).
pub fn reserved_volume(volume: &PersistentVolume, claim: &PersistentVolumeClaim) -> PersistentVolume {
    let mut v = volume.clone();
    v.metadata.annotations.get_or_insert_default().insert(ANN_BOUND_BY_CONTROLLER.into(), "yes".into());
    if let Some(spec) = v.spec.as_mut() {
        spec.claim_ref = Some(crate::persistent_volume::sync::claim_ref(claim));
    }
    v
}

/// Whether the claim is bound as far as the pod is concerned.
pub fn is_bound(claim: &PersistentVolumeClaim) -> bool {
    !claim_volume_name(claim).is_empty()
        && crate::persistent_volume::matching::has_annotation(&claim.metadata, crate::persistent_volume::matching::ANN_BIND_COMPLETED)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::persistent_volume::matching::tests::{available, claim};
    use k8s_openapi::api::core::v1::Node;
    use serde_json::json;

    fn node(name: &str) -> NodeInfo {
        let n: Node =
            serde_json::from_value(json!({"metadata": {"name": name, "labels": {"kubernetes.io/hostname": name}}})).expect("node");
        NodeInfo::new(&n)
    }

    fn pod(claims: &[&str]) -> CachedPod {
        let volumes: Vec<_> = claims.iter().map(|c| json!({"name": c, "persistentVolumeClaim": {"claimName": c}})).collect();
        serde_json::from_value(json!({"metadata": {"name": "p", "namespace": "default"}, "spec": {"containers": [{"name": "c", "image": "i"}], "volumes": volumes}}))
            .expect("pod")
    }

    fn class(name: &str, mode: &str, provisioner: &str) -> StorageClass {
        serde_json::from_value(json!({"metadata": {"name": name}, "provisioner": provisioner, "volumeBindingMode": mode})).expect("class")
    }

    fn pinned(name: &str, size: &str, class: &str, node: &str) -> PersistentVolume {
        let mut v = available(name, size, class);
        v.spec.as_mut().expect("spec").node_affinity = Some(
            serde_json::from_value(json!({"required": {"nodeSelectorTerms": [{"matchExpressions": [{"key": "kubernetes.io/hostname", "operator": "In", "values": [node]}]}]}}))
                .expect("affinity"),
        );
        v
    }

    fn volumes(claims: Vec<PersistentVolumeClaim>, pvs: Vec<PersistentVolume>, classes: Vec<StorageClass>) -> Volumes {
        let mut v = Volumes::default();
        for c in claims {
            v.claims.apply(watcher::Event::Apply(c));
        }
        for p in pvs {
            v.volumes.apply(watcher::Event::Apply(p));
        }
        for c in classes {
            v.classes.apply(watcher::Event::Apply(c));
        }
        v
    }

    #[test]
    fn scheduler_volumes_missing_and_immediate_claims_stop_the_pod() {
        let v = volumes(vec![claim("imm", "1Gi", Some("fast"))], vec![], vec![class("fast", "Immediate", "x")]);
        assert_eq!(v.prefilter(&pod(&["nope"])).err(), Some("persistentvolumeclaim \"nope\" not found".to_string()));
        assert_eq!(v.prefilter(&pod(&["imm"])).err(), Some(ERR_UNBOUND_IMMEDIATE.to_string()));
        assert!(v.prefilter(&pod(&[])).expect("no claims").is_none());
    }

    #[test]
    fn scheduler_volumes_bound_volume_pins_the_pod_to_its_node() {
        let mut c = claim("data", "1Gi", Some("local"));
        c.spec.as_mut().expect("spec").volume_name = Some("pv1".into());
        let v = volumes(vec![c], vec![pinned("pv1", "1Gi", "local", "sim-1")], vec![]);
        let pv = v.prefilter(&pod(&["data"])).expect("ok").expect("claims");
        assert!(v.filter("default/p", &pv, &node("sim-1")).is_ok());
        assert_eq!(v.filter("default/p", &pv, &node("sim-0")).expect_err("conflict")[0].text, ERR_NODE_CONFLICT);
    }

    #[test]
    fn scheduler_volumes_delayed_claims_reserve_a_local_volume_or_select_the_node() {
        let classes =
            vec![class("local", "WaitForFirstConsumer", "nubis.io/local"), class("manual", "WaitForFirstConsumer", NO_PROVISIONER)];
        let v = volumes(
            vec![claim("dyn", "1Gi", Some("local")), claim("static", "1Gi", Some("manual"))],
            vec![pinned("on-1", "1Gi", "manual", "sim-1")],
            classes,
        );
        let pv = v.prefilter(&pod(&["dyn", "static"])).expect("ok").expect("claims");
        assert_eq!(v.filter("default/p", &pv, &node("sim-0")).expect_err("no volume")[0].text, ERR_BIND_CONFLICT);
        let steps = v.steps("default/p", &pv, &node("sim-1")).expect("fits sim-1");
        assert!(matches!(&steps[0], Step::SelectNode { node, .. } if node == "sim-1"));
        assert!(matches!(&steps[1], Step::Reserve { volume, .. } if volume == "on-1"));
        // A volume reserved for another pod is not offered again.
        let mut v = v;
        v.reserve("default/other", &steps[1..]);
        assert!(v.filter("default/p", &pv, &node("sim-1")).is_err());
        v.release("default/other");
        assert!(v.filter("default/p", &pv, &node("sim-1")).is_ok());
    }

    #[test]
    fn scheduler_volumes_prefilter_failure_reads_as_kubernetes_writes_it() {
        let fit = super::super::decide::FitError { nodes: 3, reasons: Vec::new(), prefilter: Some(ERR_UNBOUND_IMMEDIATE.into()) };
        assert_eq!(
            fit.to_string(),
            "0/3 nodes are available: pod has unbound immediate PersistentVolumeClaims. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling."
        );
    }

    #[test]
    fn scheduler_volumes_a_selected_node_is_kept() {
        let mut c = claim("dyn", "1Gi", Some("local"));
        c.metadata.annotations = Some([(ANN_SELECTED_NODE.to_string(), "sim-2".to_string())].into());
        let v = volumes(vec![c], vec![], vec![class("local", "WaitForFirstConsumer", "nubis.io/local")]);
        let pv = v.prefilter(&pod(&["dyn"])).expect("ok").expect("claims");
        assert!(v.filter("default/p", &pv, &node("sim-0")).is_err());
        assert!(v.filter("default/p", &pv, &node("sim-2")).is_ok());
    }
}
