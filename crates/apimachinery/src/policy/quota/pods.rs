//! What a pod costs a quota (object count, `pods`, compute requests and
//! limits, hugepages, extended resources), which quota scopes it falls in,
//! and the rule that quotas on cpu or memory require every container to
//! declare them.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::defaults::pod_qos_class;
use crate::policy::pod_resources::{PodResourcesOptions, pod_limits, pod_requests};
use crate::policy::{ResourceList, resource_list};
use crate::validation::json::{arr_at, field, get, i64_at, s};
use crate::validation::quantity::{Quantity, QuantityFormat};

/// The names a pod can be charged, besides the prefixed ones.
const POD_RESOURCES: &[&str] = &[
    "count/pods",
    "cpu",
    "memory",
    "ephemeral-storage",
    "requests.cpu",
    "requests.memory",
    "requests.ephemeral-storage",
    "limits.cpu",
    "limits.memory",
    "limits.ephemeral-storage",
    "pods",
];

/// Quotas on these make every container declare them (a historical rule
/// Kubernetes keeps for compatibility; no other resource gets it).
const MUST_SPECIFY: &[&str] = &[
    "cpu",
    "limits.cpu",
    "limits.memory",
    "memory",
    "requests.cpu",
    "requests.memory",
];

/// Names without a `/`, or under `kubernetes.io/`, are Kubernetes' own.
fn is_native(name: &str) -> bool {
    !name.contains('/') || name.contains("kubernetes.io/")
}

pub(super) fn matching_resources(names: &[String]) -> Vec<String> {
    names
        .iter()
        .filter(|n| {
            POD_RESOURCES.contains(&n.as_str())
                || n.starts_with("hugepages-")
                || n.starts_with("requests.hugepages-")
                || (n.starts_with("requests.") && !is_native(n))
        })
        .cloned()
        .collect()
}

fn one() -> Quantity {
    Quantity::from_units(1, QuantityFormat::DecimalSI)
}

/// Compute usage from requests and limits (`podComputeUsageHelper`): the
/// bare name is the request; presence, not value, decides what is charged.
fn compute_usage(requests: &ResourceList, limits: &ResourceList) -> ResourceList {
    let mut out = ResourceList::new();
    out.insert("pods".into(), one());
    for name in ["cpu", "memory", "ephemeral-storage"] {
        if let Some(q) = requests.get(name) {
            out.insert(name.into(), *q);
            out.insert(format!("requests.{name}"), *q);
        }
        if let Some(q) = limits.get(name) {
            out.insert(format!("limits.{name}"), *q);
        }
    }
    for (name, q) in requests {
        if name.starts_with("hugepages-") {
            out.insert(name.clone(), *q);
            out.insert(format!("requests.{name}"), *q);
        } else if !is_native(name) && !name.starts_with("requests.") {
            // Extended resources are only quota'd as `requests.<name>`.
            out.insert(format!("requests.{name}"), *q);
        }
    }
    out
}

/// Failed and Succeeded pods hold no compute resources.
fn is_terminal(pod: &Value) -> bool {
    matches!(s(pod, &["status", "phase"]), "Failed" | "Succeeded")
}

/// A pod's usage: `count/pods` always (it counts stored objects), the
/// rest only while the pod is not terminal.
pub(super) fn usage(pod: &Value) -> ResourceList {
    let mut out = ResourceList::new();
    out.insert("count/pods".into(), one());
    if is_terminal(pod) {
        return out;
    }
    let opts = PodResourcesOptions {
        overhead: true,
        status: true,
    };
    out.extend(compute_usage(
        &pod_requests(pod, opts),
        &pod_limits(pod, opts),
    ));
    out
}

/// `activeDeadlineSeconds` makes a pod Terminating for quota scopes.
pub(super) fn is_terminating(pod: &Value) -> bool {
    i64_at(pod, &["spec", "activeDeadlineSeconds"]).is_some_and(|d| d >= 0)
}

/// Whether a pod falls in one scope selector requirement
/// (`{scopeName, operator, values}`).
pub(super) fn matches_scope(pod: &Value, req: &Value) -> bool {
    match s(req, &["scopeName"]) {
        "Terminating" => is_terminating(pod),
        "NotTerminating" => !is_terminating(pod),
        "BestEffort" => qos(pod) == "BestEffort",
        "NotBestEffort" => qos(pod) != "BestEffort",
        "PriorityClass" => {
            let class = s(pod, &["spec", "priorityClassName"]);
            let values: Vec<&str> = arr_at(req, &["values"])
                .iter()
                .filter_map(Value::as_str)
                .collect();
            // The class name acts as the value of a `PriorityClass` label
            // that exists only when a class is set.
            match s(req, &["operator"]) {
                "Exists" => !class.is_empty(),
                "DoesNotExist" => class.is_empty(),
                "In" => !class.is_empty() && values.contains(&class),
                "NotIn" => class.is_empty() || !values.contains(&class),
                _ => false,
            }
        }
        "CrossNamespacePodAffinity" => cross_namespace_affinity(pod),
        _ => false,
    }
}

/// The recorded QoS class, or the one the spec implies.
fn qos(pod: &Value) -> &str {
    match s(pod, &["status", "qosClass"]) {
        "" => pod_qos_class(pod),
        q => q,
    }
}

fn cross_namespace_affinity(pod: &Value) -> bool {
    let term = |t: &Value| {
        !arr_at(t, &["namespaces"]).is_empty() || field(t, &["namespaceSelector"]).is_some()
    };
    ["podAffinity", "podAntiAffinity"].iter().any(|kind| {
        let aff = get(pod, &["spec", "affinity", kind]).unwrap_or(&Value::Null);
        arr_at(aff, &["requiredDuringSchedulingIgnoredDuringExecution"])
            .iter()
            .any(term)
            || arr_at(aff, &["preferredDuringSchedulingIgnoredDuringExecution"])
                .iter()
                .any(|w| term(get(w, &["podAffinityTerm"]).unwrap_or(&Value::Null)))
    })
}

/// Quotas on cpu or memory (`required`, the quota's matching names) need
/// every container and init container to declare them:
/// `must specify limits.cpu for: a,b; requests.memory for: a`.
pub(super) fn constraints(pod: &Value, required: &[String]) -> Option<String> {
    let required: BTreeSet<&str> = required
        .iter()
        .map(String::as_str)
        .filter(|r| MUST_SPECIFY.contains(r))
        .collect();
    let mut missing: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    let containers = arr_at(pod, &["spec", "containers"])
        .iter()
        .chain(arr_at(pod, &["spec", "initContainers"]));
    for c in containers {
        let have = compute_usage(
            &resource_list(get(c, &["resources", "requests"])),
            &resource_list(get(c, &["resources", "limits"])),
        );
        for r in &required {
            if !have.contains_key(*r) {
                missing
                    .entry(r)
                    .or_default()
                    .insert(s(c, &["name"]).to_string());
            }
        }
    }
    if missing.is_empty() {
        return None;
    }
    let parts: Vec<String> = missing
        .iter()
        .map(|(r, names)| {
            format!(
                "{r} for: {}",
                names.iter().cloned().collect::<Vec<_>>().join(",")
            )
        })
        .collect();
    Some(format!("must specify {}", parts.join("; ")))
}
