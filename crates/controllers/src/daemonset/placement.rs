//! Where a DaemonSet's pods go, as pure functions (Kubernetes'
//! `NodeShouldRunDaemonPod`, `NewPod`, `CreatePodTemplate` and
//! `ReplaceDaemonSetPodNodeNameNodeAffinity`): the automatic tolerations,
//! whether a node should run (or keep running) the daemon pod, and the pod
//! created for a node, pinned to it by a required node affinity on
//! `metadata.name` so the default scheduler binds it.

use crate::history::POD_REVISION_LABEL;
use crate::replicaset::claim;
use crate::scheduler::cache::NodeInfo;
use crate::scheduler::filter::{node_affinity_matches, tolerates};
use k8s_openapi::api::apps::v1::DaemonSet;
use k8s_openapi::api::core::v1::{Affinity, Node, NodeAffinity, NodeSelector, NodeSelectorRequirement, NodeSelectorTerm, Pod, PodSpec, Toleration};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

/// The pod label carrying the DaemonSet's template generation.
pub const TEMPLATE_GENERATION_LABEL: &str = "pod-template-generation";
/// The DaemonSet annotation the API server keeps the template generation in.
pub const TEMPLATE_GENERATION_ANNOTATION: &str = "deprecated.daemonset.template.generation";

/// The tolerations every daemon pod gets (`AddOrUpdateDaemonPodTolerations`):
/// it stays on nodes that are not ready or unreachable, and goes on nodes
/// under pressure or cordoned; with host networking also on nodes whose
/// network is not ready.
pub fn add_tolerations(spec: &mut PodSpec) {
    let mut wanted = vec![
        ("node.kubernetes.io/not-ready", "NoExecute"),
        ("node.kubernetes.io/unreachable", "NoExecute"),
        ("node.kubernetes.io/disk-pressure", "NoSchedule"),
        ("node.kubernetes.io/memory-pressure", "NoSchedule"),
        ("node.kubernetes.io/pid-pressure", "NoSchedule"),
        ("node.kubernetes.io/unschedulable", "NoSchedule"),
    ];
    if spec.host_network == Some(true) {
        wanted.push(("node.kubernetes.io/network-unavailable", "NoSchedule"));
    }
    let tolerations = spec.tolerations.get_or_insert_with(Vec::new);
    for (key, effect) in wanted {
        let t = Toleration { key: Some(key.into()), operator: Some("Exists".into()), effect: Some(effect.into()), ..Default::default() };
        // `AddOrUpdateTolerationInPodSpec`: an equal toleration is replaced.
        let same = |o: &Toleration| {
            o.key == t.key && o.effect == t.effect && o.operator.as_deref().unwrap_or("Equal") == "Exists" && o.value.as_deref().unwrap_or_default().is_empty()
        };
        match tolerations.iter_mut().find(|o| same(o)) {
            Some(o) => *o = t,
            None => tolerations.push(t),
        }
    }
}

/// The template generation the API server recorded on the DaemonSet.
pub fn template_generation(ds: &DaemonSet) -> Option<i64> {
    ds.metadata.annotations.as_ref().and_then(|a| a.get(TEMPLATE_GENERATION_ANNOTATION)).and_then(|v| v.parse().ok())
}

/// The pod the placement checks look at (`NewPod`): the template with the
/// automatic tolerations.
fn probe_pod(ds: &DaemonSet) -> Pod {
    let template = ds.spec.as_ref().map(|s| s.template.clone()).unwrap_or_default();
    let mut spec = template.spec.unwrap_or_default();
    add_tolerations(&mut spec);
    Pod { metadata: template.metadata.unwrap_or_default(), spec: Some(spec), status: None }
}

/// Whether the node should run the daemon pod, and whether a pod already
/// there may keep running (`NodeShouldRunDaemonPod`): the template's
/// nodeName, nodeSelector and required node affinity must match; a
/// NoSchedule or NoExecute taint the pod does not tolerate stops new pods,
/// only a NoExecute one evicts existing pods.
pub fn should_run(ds: &DaemonSet, node: &Node) -> (bool, bool) {
    let pod = probe_pod(ds);
    let node_name = node.metadata.name.clone().unwrap_or_default();
    let spec = pod.spec.clone().unwrap_or_default();
    if spec.node_name.as_ref().is_some_and(|n| !n.is_empty() && *n != node_name) {
        return (false, false);
    }
    let info = NodeInfo::new(node);
    if !node_affinity_matches(spec.node_selector.as_ref(), spec.affinity.as_ref(), &info) {
        return (false, false);
    }
    let tolerations = spec.tolerations.unwrap_or_default();
    let untolerated = |effects: &[&str]| info.taints.iter().any(|t| effects.contains(&t.effect.as_str()) && !tolerates(&tolerations, t));
    if untolerated(&["NoSchedule", "NoExecute"]) {
        return (false, !untolerated(&["NoExecute"]));
    }
    (true, true)
}

/// The node affinity pinning a pod to `node`, replacing any required
/// terms of the template (the controller already checked them).
fn pin_to_node(affinity: Option<Affinity>, node: &str) -> Affinity {
    let selector = NodeSelector {
        node_selector_terms: vec![NodeSelectorTerm {
            match_fields: Some(vec![NodeSelectorRequirement { key: "metadata.name".into(), operator: "In".into(), values: Some(vec![node.into()]) }]),
            match_expressions: None,
        }],
    };
    let mut affinity = affinity.unwrap_or_default();
    let node_affinity = affinity.node_affinity.get_or_insert_with(NodeAffinity::default);
    node_affinity.required_during_scheduling_ignored_during_execution = Some(selector);
    affinity
}

/// The pod created for `node` (`CreatePodTemplate` plus the node
/// affinity): the template's labels with the revision hash and template
/// generation, the automatic tolerations, `<ds>-` as generateName and the
/// controller reference.
pub fn new_pod(ds: &DaemonSet, node: &str, hash: &str) -> Pod {
    let template = ds.spec.as_ref().map(|s| s.template.clone()).unwrap_or_default();
    let tmeta = template.metadata.unwrap_or_default();
    let mut spec = template.spec.unwrap_or_default();
    add_tolerations(&mut spec);
    spec.affinity = Some(pin_to_node(spec.affinity.take(), node));
    let mut labels = tmeta.labels.unwrap_or_default();
    if let Some(g) = template_generation(ds) {
        labels.insert(TEMPLATE_GENERATION_LABEL.into(), g.to_string());
    }
    if !hash.is_empty() {
        labels.insert(POD_REVISION_LABEL.into(), hash.into());
    }
    let name = ds.metadata.name.clone().unwrap_or_default();
    let owner = claim::controller_ref("apps/v1", "DaemonSet", &name, ds.metadata.uid.as_deref().unwrap_or_default());
    Pod {
        metadata: ObjectMeta {
            generate_name: Some(format!("{name}-")),
            namespace: ds.metadata.namespace.clone(),
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

/// The node a daemon pod is for (`GetTargetNodeName`): its nodeName once
/// bound, else the one `metadata.name` value of its node affinity.
pub fn target_node(pod: &Pod) -> Option<String> {
    let spec = pod.spec.as_ref()?;
    if let Some(n) = spec.node_name.as_ref().filter(|n| !n.is_empty()) {
        return Some(n.clone());
    }
    let terms = &spec.affinity.as_ref()?.node_affinity.as_ref()?.required_during_scheduling_ignored_during_execution.as_ref()?.node_selector_terms;
    let [term] = terms.as_slice() else {
        return None;
    };
    let [req] = term.match_fields.as_deref()? else {
        return None;
    };
    match (req.key.as_str(), req.operator.as_str(), req.values.as_deref()) {
        ("metadata.name", "In", Some([value])) => Some(value.clone()),
        _ => None,
    }
}

/// Whether the pod is at the DaemonSet's current template (`IsPodUpdated`):
/// by revision hash, or by template generation.
pub fn is_updated(pod: &Pod, hash: &str, generation: Option<i64>) -> bool {
    let labels = pod.metadata.labels.clone().unwrap_or_default();
    let by_hash = !hash.is_empty() && labels.get(POD_REVISION_LABEL).map(String::as_str) == Some(hash);
    let by_generation = generation.is_some_and(|g| labels.get(TEMPLATE_GENERATION_LABEL) == Some(&g.to_string()));
    by_hash || by_generation
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ds(template_spec: serde_json::Value) -> DaemonSet {
        serde_json::from_value(json!({
            "metadata": {"name": "agent", "namespace": "kube-system", "uid": "ds-uid", "generation": 1,
                "annotations": {TEMPLATE_GENERATION_ANNOTATION: "3"}},
            "spec": {"selector": {"matchLabels": {"app": "agent"}},
                "template": {"metadata": {"labels": {"app": "agent"}}, "spec": template_spec}}
        }))
        .expect("daemonset")
    }

    fn node(name: &str, labels: serde_json::Value, taints: serde_json::Value) -> Node {
        serde_json::from_value(json!({"metadata": {"name": name, "labels": labels}, "spec": {"taints": taints}})).expect("node")
    }

    #[test]
    fn ds_placement_follows_selector_affinity_and_taints() {
        let plain = ds(json!({"containers": [{"name": "c"}]}));
        let n = node("n1", json!({"disk": "ssd"}), json!([]));
        assert_eq!(should_run(&plain, &n), (true, true));
        // Cordoned and under pressure: tolerated automatically.
        let cordoned = node(
            "n1",
            json!({}),
            json!([{"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"},
            {"key": "node.kubernetes.io/memory-pressure", "effect": "NoSchedule"}]),
        );
        assert_eq!(should_run(&plain, &cordoned), (true, true));
        // A NoSchedule taint stops new pods but keeps existing ones.
        let tainted = node("n1", json!({}), json!([{"key": "dedicated", "value": "db", "effect": "NoSchedule"}]));
        assert_eq!(should_run(&plain, &tainted), (false, true));
        let evicting = node("n1", json!({}), json!([{"key": "dedicated", "value": "db", "effect": "NoExecute"}]));
        assert_eq!(should_run(&plain, &evicting), (false, false));
        let tolerant = ds(json!({"containers": [{"name": "c"}], "tolerations": [{"key": "dedicated", "operator": "Exists"}]}));
        assert_eq!(should_run(&tolerant, &evicting), (true, true));
        let selective = ds(json!({"containers": [{"name": "c"}], "nodeSelector": {"disk": "ssd"}}));
        assert_eq!(should_run(&selective, &n), (true, true));
        assert_eq!(should_run(&selective, &node("n2", json!({}), json!([]))), (false, false));
        let affine = ds(json!({"containers": [{"name": "c"}], "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution":
            {"nodeSelectorTerms": [{"matchExpressions": [{"key": "disk", "operator": "NotIn", "values": ["ssd"]}]}]}}}}));
        assert_eq!(should_run(&affine, &n), (false, false));
        let network = node("n1", json!({}), json!([{"key": "node.kubernetes.io/network-unavailable", "effect": "NoSchedule"}]));
        assert_eq!(should_run(&plain, &network), (false, true));
        let host = ds(json!({"containers": [{"name": "c"}], "hostNetwork": true}));
        assert_eq!(should_run(&host, &network), (true, true));
    }

    #[test]
    fn ds_pod_is_pinned_labelled_and_tolerant() {
        let d = ds(
            json!({"containers": [{"name": "c"}], "tolerations": [{"key": "node.kubernetes.io/unschedulable", "operator": "Exists", "effect": "NoSchedule"}],
            "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [{"matchExpressions": [{"key": "a", "operator": "Exists"}]}]}}}}),
        );
        let pod = new_pod(&d, "sim-1", "5d8f7c");
        let v = serde_json::to_value(&pod).expect("json");
        assert_eq!(v["metadata"]["generateName"], "agent-");
        assert_eq!(v["metadata"]["labels"], json!({"app": "agent", POD_REVISION_LABEL: "5d8f7c", TEMPLATE_GENERATION_LABEL: "3"}));
        assert_eq!(v["metadata"]["ownerReferences"][0]["kind"], "DaemonSet");
        assert_eq!(
            v["spec"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"],
            json!({"nodeSelectorTerms": [{"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["sim-1"]}]}]})
        );
        let tolerations = v["spec"]["tolerations"].as_array().cloned().unwrap_or_default();
        assert_eq!(tolerations.len(), 6, "{tolerations:?}");
        assert!(tolerations.contains(&json!({"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute"})));
        assert_eq!(target_node(&pod).as_deref(), Some("sim-1"));
        assert!(is_updated(&pod, "5d8f7c", None));
        assert!(is_updated(&pod, "other", Some(3)));
        assert!(!is_updated(&pod, "other", Some(4)));
    }
}
