//! The filters: whether a pod may go on a node, in kube-scheduler's plugin
//! order (NodeUnschedulable, TaintToleration, NodeAffinity, NodePorts,
//! NodeResourcesFit, PodTopologySpread, InterPodAffinity), each failure
//! with the reason text Kubernetes v1.33 prints and whether preemption
//! could help.

use super::cache::{Cache, NodeInfo, PodInfo};
use crate::cached_pod::CachedPod;
use k8s_openapi::api::core::v1::{
    NodeSelectorRequirement, NodeSelectorTerm, Affinity, PodAffinityTerm, Taint, Toleration, TopologySpreadConstraint,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use std::collections::{BTreeMap, HashMap};

/// Why a node cannot take a pod.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reason {
    pub text: String,
    /// Kubernetes' `UnschedulableAndUnresolvable`: evicting pods would not
    /// help, so preemption skips the node.
    pub unresolvable: bool,
}

impl Reason {
    fn unresolvable(text: impl Into<String>) -> Reason {
        Reason { text: text.into(), unresolvable: true }
    }
    fn resolvable(text: impl Into<String>) -> Reason {
        Reason { text: text.into(), unresolvable: false }
    }
}

pub const ERR_UNSCHEDULABLE: &str = "node(s) were unschedulable";
pub const ERR_NODE_AFFINITY: &str = "node(s) didn't match Node's node affinity/selector";
pub const ERR_PORTS: &str = "node(s) didn't have free ports for the requested pod ports";
pub const ERR_POD_AFFINITY: &str = "node(s) didn't match pod affinity rules";
pub const ERR_POD_ANTI_AFFINITY: &str = "node(s) didn't match pod anti-affinity rules";
pub const ERR_EXISTING_ANTI_AFFINITY: &str = "node(s) didn't satisfy existing pods anti-affinity rules";
pub const ERR_SPREAD: &str = "node(s) didn't match pod topology spread constraints";
pub const ERR_SPREAD_LABEL: &str = "node(s) didn't match pod topology spread constraints (missing required label)";

/// The taint the node lifecycle controller puts on a node that is not
/// Ready; the scheduler treats a not-Ready node as carrying it even before
/// that controller has run.
pub const TAINT_NOT_READY: &str = "node.kubernetes.io/not-ready";
pub const TAINT_UNSCHEDULABLE: &str = "node.kubernetes.io/unschedulable";

/// Per-pod data the filters share across nodes (kube-scheduler's PreFilter
/// state): counts of matching pods per topology domain.
#[derive(Debug, Default)]
pub struct PreFilter {
    /// For each required affinity term: matching pods per topology value.
    affinity_counts: Vec<Domains>,
    /// Whether no pod anywhere matches every affinity term and the pod
    /// matches them itself (the first pod of a group may go anywhere).
    affinity_self_ok: bool,
    /// For each required anti-affinity term: matching pods per value.
    anti_affinity_counts: Vec<Domains>,
    /// (topology key, value) pairs existing pods' anti-affinity forbids.
    existing_anti: Vec<(String, String)>,
    /// For each DoNotSchedule spread constraint: matching pods per value
    /// over eligible nodes, and the smallest count.
    spread: Vec<(HashMap<String, usize>, usize)>,
}

/// A topology key and the matching pods per value of it.
type Domains = (String, HashMap<String, usize>);

/// Computes the shared per-pod state over the whole cache.
pub fn prefilter(pod: &PodInfo, cache: &Cache) -> PreFilter {
    let mut state = PreFilter::default();
    let spec = pod.pod.spec.as_ref();
    let affinity = spec.and_then(|s| s.affinity.as_ref());
    let terms = |t: Option<&Vec<PodAffinityTerm>>| t.cloned().unwrap_or_default();
    let required_affinity = terms(
        affinity
            .and_then(|a| a.pod_affinity.as_ref())
            .and_then(|a| a.required_during_scheduling_ignored_during_execution.as_ref()),
    );
    let required_anti = terms(
        affinity
            .and_then(|a| a.pod_anti_affinity.as_ref())
            .and_then(|a| a.required_during_scheduling_ignored_during_execution.as_ref()),
    );
    if !required_affinity.is_empty() || !required_anti.is_empty() {
        state.affinity_counts = required_affinity.iter().map(|t| domain_counts(t, pod, cache)).collect();
        state.anti_affinity_counts = required_anti.iter().map(|t| domain_counts(t, pod, cache)).collect();
        state.affinity_self_ok = state.affinity_counts.iter().all(|(_, c)| c.is_empty())
            && required_affinity.iter().all(|t| term_matches(t, &pod.namespace, pod));
    }
    for key in &cache.with_anti_affinity {
        let Some((node_name, existing)) = cache.pods.get(key) else { continue };
        let Some(node) = cache.nodes.get(node_name) else { continue };
        let anti = existing
            .pod
            .spec
            .as_ref()
            .and_then(|s| s.affinity.as_ref())
            .and_then(|a| a.pod_anti_affinity.as_ref())
            .and_then(|a| a.required_during_scheduling_ignored_during_execution.as_ref());
        for term in anti.into_iter().flatten() {
            if term_matches(term, &existing.namespace, pod)
                && let Some(v) = node.labels.get(&term.topology_key)
            {
                state.existing_anti.push((term.topology_key.clone(), v.clone()));
            }
        }
    }
    for c in hard_spread_constraints(&pod.pod) {
        state.spread.push(spread_counts(&c, pod, cache));
    }
    state
}

/// Matching pods per value of the term's topology key.
fn domain_counts(term: &PodAffinityTerm, pod: &PodInfo, cache: &Cache) -> Domains {
    let mut counts = HashMap::new();
    for (node_name, other) in cache.pods.values() {
        if !term_matches(term, &pod.namespace, other) {
            continue;
        }
        if let Some(v) = cache.nodes.get(node_name).and_then(|n| n.labels.get(&term.topology_key)) {
            *counts.entry(v.clone()).or_insert(0) += 1;
        }
    }
    (term.topology_key.clone(), counts)
}

/// Whether `other` is selected by an affinity term of a pod in `owner_ns`.
fn term_matches(term: &PodAffinityTerm, owner_ns: &str, other: &PodInfo) -> bool {
    let namespaces = term.namespaces.clone().unwrap_or_default();
    // An empty namespaceSelector selects every namespace; a non-empty one
    // would need Namespace labels, which the scheduler does not cache, so
    // it falls back to the listed namespaces (or the owner's).
    let all_namespaces = term
        .namespace_selector
        .as_ref()
        .is_some_and(|s| s.match_labels.as_ref().is_none_or(BTreeMap::is_empty) && s.match_expressions.as_ref().is_none_or(Vec::is_empty));
    let ns_ok = all_namespaces
        || if namespaces.is_empty() { other.namespace == owner_ns } else { namespaces.contains(&other.namespace) };
    ns_ok && term.label_selector.as_ref().is_some_and(|s| selector_matches(s, &other.labels))
}

/// A metav1 LabelSelector against labels (an empty selector matches all).
pub fn selector_matches(s: &LabelSelector, labels: &BTreeMap<String, String>) -> bool {
    s.match_labels.iter().flatten().all(|(k, v)| labels.get(k) == Some(v))
        && s.match_expressions.iter().flatten().all(|e| {
            let value = labels.get(&e.key);
            let values = e.values.as_deref().unwrap_or_default();
            match e.operator.as_str() {
                "In" => value.is_some_and(|v| values.contains(v)),
                "NotIn" => value.is_none_or(|v| !values.contains(v)),
                "Exists" => value.is_some(),
                "DoesNotExist" => value.is_none(),
                _ => false,
            }
        })
}

fn hard_spread_constraints(pod: &CachedPod) -> Vec<TopologySpreadConstraint> {
    pod.spec
        .as_ref()
        .and_then(|s| s.topology_spread_constraints.clone())
        .unwrap_or_default()
        .into_iter()
        .filter(|c| c.when_unsatisfiable == "DoNotSchedule")
        .collect()
}

/// Matching pods per domain over the nodes the pod could go to by node
/// affinity (unless `nodeAffinityPolicy: Ignore`), and the
/// smallest domain count.
pub fn spread_counts(c: &TopologySpreadConstraint, pod: &PodInfo, cache: &Cache) -> (HashMap<String, usize>, usize) {
    let mut counts: HashMap<String, usize> = HashMap::new();
    for node in cache.nodes.values() {
        let Some(value) = node.labels.get(&c.topology_key) else { continue };
        let honor = c.node_affinity_policy.as_deref() != Some("Ignore");
        if honor && !pod_node_affinity_matches(&pod.pod, node) {
            continue;
        }
        let n = cache
            .pods_on(node)
            .filter(|p| {
                p.namespace == pod.namespace && c.label_selector.as_ref().is_some_and(|s| selector_matches(s, &p.labels))
            })
            .count();
        *counts.entry(value.clone()).or_insert(0) += n;
    }
    let min = counts.values().copied().min().unwrap_or(0);
    (counts, min)
}

/// Runs the filters in order; the first that fails gives the node's
/// reasons (several for NodeResourcesFit, which reports every shortage).
pub fn filter(pod: &PodInfo, node: &NodeInfo, state: &PreFilter) -> Result<(), Vec<Reason>> {
    let tolerations = pod.pod.spec.as_ref().and_then(|s| s.tolerations.clone()).unwrap_or_default();
    if node.unschedulable && !tolerates(&tolerations, &taint(TAINT_UNSCHEDULABLE, "NoSchedule")) {
        return Err(vec![Reason::unresolvable(ERR_UNSCHEDULABLE)]);
    }
    if let Some(t) = untolerated_taint(node, &tolerations) {
        let value = t.value.as_deref().unwrap_or_default();
        return Err(vec![Reason::unresolvable(format!("node(s) had untolerated taint {{{}: {value}}}", t.key))]);
    }
    if !pod_node_affinity_matches(&pod.pod, node) {
        return Err(vec![Reason::unresolvable(ERR_NODE_AFFINITY)]);
    }
    if pod.host_ports.iter().any(|p| node.used_ports.iter().any(|u| u.conflicts(p))) {
        return Err(vec![Reason::resolvable(ERR_PORTS)]);
    }
    let short = insufficient(pod, node);
    if !short.is_empty() {
        return Err(short);
    }
    spread_filter(pod, node, state)?;
    inter_pod_affinity(node, state)
}

fn taint(key: &str, effect: &str) -> Taint {
    Taint { key: key.into(), effect: effect.into(), ..Taint::default() }
}

/// The first NoSchedule or NoExecute taint no toleration covers, counting
/// the not-ready taint on a node that is not Ready.
fn untolerated_taint(node: &NodeInfo, tolerations: &[Toleration]) -> Option<Taint> {
    let not_ready = (!node.ready && !node.taints.iter().any(|t| t.key == TAINT_NOT_READY))
        .then(|| taint(TAINT_NOT_READY, "NoSchedule"));
    node.taints
        .iter()
        .cloned()
        .chain(not_ready)
        .filter(|t| t.effect == "NoSchedule" || t.effect == "NoExecute")
        .find(|t| !tolerates(tolerations, t))
}

/// Whether some toleration covers a taint, with Kubernetes' matching: an
/// empty key with `Exists` covers every taint, an empty effect every
/// effect, `Equal` (the default) compares values.
pub fn tolerates(tolerations: &[Toleration], taint: &Taint) -> bool {
    tolerations.iter().any(|t| {
        let effect_ok = t.effect.as_deref().is_none_or(|e| e.is_empty() || e == taint.effect);
        let key = t.key.as_deref().unwrap_or_default();
        let op = t.operator.as_deref().unwrap_or("Equal");
        let key_ok = (key.is_empty() && op == "Exists") || key == taint.key;
        let value_ok = match op {
            "Exists" => true,
            "Equal" | "" => t.value.as_deref().unwrap_or_default() == taint.value.as_deref().unwrap_or_default(),
            _ => false,
        };
        effect_ok && key_ok && value_ok
    })
}

/// A pod's `spec.nodeSelector` and required node affinity.
pub fn node_affinity_matches(node_selector: Option<&BTreeMap<String, String>>, affinity: Option<&Affinity>, node: &NodeInfo) -> bool {
    if !node_selector.into_iter().flatten().all(|(k, v)| node.labels.get(k) == Some(v)) {
        return false;
    }
    let required = affinity
        .and_then(|a| a.node_affinity.as_ref())
        .and_then(|a| a.required_during_scheduling_ignored_during_execution.as_ref());
    match required {
        // The terms are ORed; an empty list matches nothing.
        Some(sel) => sel.node_selector_terms.iter().any(|t| node_term_matches(t, node)),
        None => true,
    }
}

fn pod_node_affinity_matches(pod: &CachedPod, node: &NodeInfo) -> bool {
    let spec = pod.spec.as_ref();
    node_affinity_matches(spec.and_then(|s| s.node_selector.as_ref()), spec.and_then(|s| s.affinity.as_deref()), node)
}

/// One node selector term: its requirements are ANDed; a term with none
/// matches no node.
pub fn node_term_matches(term: &NodeSelectorTerm, node: &NodeInfo) -> bool {
    let exprs = term.match_expressions.as_deref().unwrap_or_default();
    let fields = term.match_fields.as_deref().unwrap_or_default();
    if exprs.is_empty() && fields.is_empty() {
        return false;
    }
    exprs.iter().all(|r| requirement_matches(r, node.labels.get(&r.key).map(String::as_str)))
        && fields.iter().all(|r| r.key == "metadata.name" && requirement_matches(r, Some(&node.name)))
}

fn requirement_matches(r: &NodeSelectorRequirement, value: Option<&str>) -> bool {
    let values = r.values.as_deref().unwrap_or_default();
    let as_int = |s: &str| s.parse::<i64>().ok();
    match r.operator.as_str() {
        "In" => value.is_some_and(|v| values.iter().any(|x| x == v)),
        "NotIn" => value.is_none_or(|v| !values.iter().any(|x| x == v)),
        "Exists" => value.is_some(),
        "DoesNotExist" => value.is_none(),
        "Gt" | "Lt" => {
            let (Some(v), Some(bound)) = (value.and_then(as_int), values.first().and_then(|b| as_int(b))) else {
                return false;
            };
            if r.operator == "Gt" { v > bound } else { v < bound }
        }
        _ => false,
    }
}

/// NodeResourcesFit: every resource the pod requests beyond what is left.
pub fn insufficient(pod: &PodInfo, node: &NodeInfo) -> Vec<Reason> {
    let (want, have, used) = (&pod.requests, &node.allocatable, &node.requested);
    let mut out = Vec::new();
    if used.pods + 1 > have.pods {
        out.push(Reason::resolvable("Too many pods"));
    }
    let checks = [
        ("cpu", want.milli_cpu, have.milli_cpu, used.milli_cpu),
        ("memory", want.memory, have.memory, used.memory),
        ("ephemeral-storage", want.ephemeral_storage, have.ephemeral_storage, used.ephemeral_storage),
    ];
    for (name, want, have, used) in checks {
        if want > 0 && want > have - used {
            out.push(Reason::resolvable(format!("Insufficient {name}")));
        }
    }
    for (name, want) in &want.scalar {
        let have = have.scalar.get(name).copied().unwrap_or(0);
        let used = used.scalar.get(name).copied().unwrap_or(0);
        if *want > 0 && *want > have - used {
            out.push(Reason::resolvable(format!("Insufficient {name}")));
        }
    }
    out
}

fn spread_filter(pod: &PodInfo, node: &NodeInfo, state: &PreFilter) -> Result<(), Vec<Reason>> {
    for (c, (counts, min)) in hard_spread_constraints(&pod.pod).iter().zip(&state.spread) {
        let Some(value) = node.labels.get(&c.topology_key) else {
            return Err(vec![Reason::unresolvable(ERR_SPREAD_LABEL)]);
        };
        let self_match = usize::from(c.label_selector.as_ref().is_some_and(|s| selector_matches(s, &pod.labels)));
        let skew = counts.get(value).copied().unwrap_or(0) + self_match - min;
        if skew as i64 > i64::from(c.max_skew) {
            return Err(vec![Reason::resolvable(ERR_SPREAD)]);
        }
    }
    Ok(())
}

fn inter_pod_affinity(node: &NodeInfo, state: &PreFilter) -> Result<(), Vec<Reason>> {
    if state.existing_anti.iter().any(|(k, v)| node.labels.get(k) == Some(v)) {
        return Err(vec![Reason::resolvable(ERR_EXISTING_ANTI_AFFINITY)]);
    }
    if state.anti_affinity_counts.iter().any(|d| node_hits(node, d)) {
        return Err(vec![Reason::resolvable(ERR_POD_ANTI_AFFINITY)]);
    }
    if !state.affinity_counts.is_empty()
        && !state.affinity_self_ok
        && !state.affinity_counts.iter().all(|d| node_hits(node, d))
    {
        return Err(vec![Reason::unresolvable(ERR_POD_AFFINITY)]);
    }
    Ok(())
}

/// Whether the node's domain for the key holds matching pods.
fn node_hits(node: &NodeInfo, (key, counts): &Domains) -> bool {
    node.labels.get(key).and_then(|v| counts.get(v)).is_some_and(|n| *n > 0)
}
