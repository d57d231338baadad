//! The quota evaluator of each resource: which requests it handles, which
//! quota names it answers for, which scopes it matches and what an object
//! costs. Pods, Services and PersistentVolumeClaims have their own rules;
//! every other resource is counted as `count/<resource>[.<group>]`.

use serde_json::Value;

use super::pods;
use crate::policy::{Operation, ResourceList, resource_list};
use crate::validation::json::{arr_at, get, s, str_at};
use crate::validation::quantity::{Quantity, QuantityFormat};

const STORAGE_CLASS_SUFFIX: &str = ".storageclass.storage.k8s.io/";

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Evaluator {
    Pods,
    Services,
    Claims,
    /// Object count, with the legacy alias some core resources also carry
    /// (`configmaps`, `secrets`, ...).
    Count {
        names: Vec<String>,
    },
}

/// Virtual or never-quota'd resources (Kubernetes' ignored resources).
fn ignored(group: &str, resource: &str) -> bool {
    matches!(
        (group, resource),
        ("", "bindings" | "componentstatuses" | "events")
            | ("events.k8s.io", "events")
            | (
                "authentication.k8s.io",
                "tokenreviews" | "selfsubjectreviews"
            )
            | (
                "authorization.k8s.io",
                "subjectaccessreviews"
                    | "selfsubjectaccessreviews"
                    | "localsubjectaccessreviews"
                    | "selfsubjectrulesreviews"
            )
    )
}

/// `count/<resource>` for the core group, `count/<resource>.<group>` else.
pub fn object_count_name(group: &str, resource: &str) -> String {
    if group.is_empty() {
        format!("count/{resource}")
    } else {
        format!("count/{resource}.{group}")
    }
}

pub(super) fn evaluator(group: &str, resource: &str) -> Option<Evaluator> {
    if ignored(group, resource) {
        return None;
    }
    Some(match (group, resource) {
        ("", "pods") => Evaluator::Pods,
        ("", "services") => Evaluator::Services,
        ("", "persistentvolumeclaims") => Evaluator::Claims,
        _ => {
            let mut names = vec![object_count_name(group, resource)];
            if group.is_empty()
                && matches!(
                    resource,
                    "configmaps" | "resourcequotas" | "replicationcontrollers" | "secrets"
                )
            {
                names.push(resource.to_string());
            }
            Evaluator::Count { names }
        }
    })
}

impl Evaluator {
    /// Whether the request changes usage this evaluator tracks.
    pub(super) fn handles(
        &self,
        op: Operation,
        subresource: &str,
        obj: &Value,
        old: Option<&Value>,
    ) -> bool {
        match self {
            // A pod update matters only when it moves the pod between the
            // Terminating and NotTerminating scopes, or resizes it.
            Evaluator::Pods => match subresource {
                "" => {
                    op == Operation::Create
                        || old.is_some_and(|o| pods::is_terminating(o) != pods::is_terminating(obj))
                }
                "resize" => op == Operation::Update,
                _ => false,
            },
            // A service can change type; a claim can grow.
            Evaluator::Services | Evaluator::Claims => true,
            Evaluator::Count { .. } => subresource.is_empty() && op == Operation::Create,
        }
    }

    /// The quota resource names (of `names`) this evaluator charges.
    pub(super) fn matching_resources(&self, names: &[String]) -> Vec<String> {
        let within = |own: &[&str]| {
            names
                .iter()
                .filter(|n| own.contains(&n.as_str()))
                .cloned()
                .collect()
        };
        match self {
            Evaluator::Pods => pods::matching_resources(names),
            Evaluator::Services => within(&[
                "count/services",
                "services",
                "services.loadbalancers",
                "services.nodeports",
            ]),
            Evaluator::Claims => names
                .iter()
                .filter(|n| {
                    [
                        "count/persistentvolumeclaims",
                        "persistentvolumeclaims",
                        "requests.storage",
                    ]
                    .contains(&n.as_str())
                        || ["persistentvolumeclaims", "requests.storage"]
                            .iter()
                            .any(|r| n.ends_with(&format!("{STORAGE_CLASS_SUFFIX}{r}")))
                })
                .cloned()
                .collect(),
            Evaluator::Count { names: own } => {
                names.iter().filter(|n| own.contains(n)).cloned().collect()
            }
        }
    }

    /// Whether an object falls in one scope requirement; only pods have
    /// scopes, so a scoped quota never covers other resources.
    pub(super) fn matches_scope(&self, obj: &Value, req: &Value) -> bool {
        match self {
            Evaluator::Pods => pods::matches_scope(obj, req),
            _ => false,
        }
    }

    pub(super) fn usage(&self, obj: &Value) -> ResourceList {
        match self {
            Evaluator::Pods => pods::usage(obj),
            Evaluator::Services => service_usage(obj),
            Evaluator::Claims => claim_usage(obj),
            Evaluator::Count { names } => names.iter().map(|n| (n.clone(), units(1))).collect(),
        }
    }

    pub(super) fn constraints(&self, obj: &Value, required: &[String]) -> Option<String> {
        match self {
            Evaluator::Pods => pods::constraints(obj, required),
            _ => None,
        }
    }
}

fn units(n: i64) -> Quantity {
    Quantity::from_units(n, QuantityFormat::DecimalSI)
}

/// Every service counts; NodePort and LoadBalancer services also hold a node
/// port per port, and LoadBalancers a load balancer.
fn service_usage(svc: &Value) -> ResourceList {
    let ports = arr_at(svc, &["spec", "ports"]).len() as i64;
    let (node_ports, lbs) = match s(svc, &["spec", "type"]) {
        "NodePort" => (ports, 0),
        "LoadBalancer" => (ports, 1),
        _ => (0, 0),
    };
    [
        ("count/services", 1),
        ("services", 1),
        ("services.loadbalancers", lbs),
        ("services.nodeports", node_ports),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), units(v)))
    .collect()
}

/// The claim's storage class: the beta annotation wins over the field.
fn storage_class(pvc: &Value) -> &str {
    str_at(
        pvc,
        &[
            "metadata",
            "annotations",
            "volume.beta.kubernetes.io/storage-class",
        ],
    )
    .or_else(|| str_at(pvc, &["spec", "storageClassName"]))
    .unwrap_or("")
}

/// A claim counts once (and once for its class) and charges its requested
/// storage, or the larger allocated size while an expansion is recovering.
fn claim_usage(pvc: &Value) -> ResourceList {
    let mut out = ResourceList::new();
    out.insert("persistentvolumeclaims".into(), units(1));
    out.insert("count/persistentvolumeclaims".into(), units(1));
    let class = storage_class(pvc);
    if !class.is_empty() {
        out.insert(
            format!("{class}{STORAGE_CLASS_SUFFIX}persistentvolumeclaims"),
            units(1),
        );
    }
    let requested = resource_list(get(pvc, &["spec", "resources", "requests"])).remove("storage");
    if let Some(mut storage) = requested {
        if let Some(allocated) =
            resource_list(get(pvc, &["status", "allocatedResources"])).remove("storage")
            && allocated > storage
        {
            storage = allocated;
        }
        // Whole bytes, so fractional requests cannot defeat the quota.
        let storage = round_up_to_unit(storage);
        out.insert("requests.storage".into(), storage);
        if !class.is_empty() {
            out.insert(
                format!("{class}{STORAGE_CLASS_SUFFIX}requests.storage"),
                storage,
            );
        }
    }
    out
}

fn round_up_to_unit(q: Quantity) -> Quantity {
    let nanos = q.nano_value();
    if nanos % 1_000_000_000 == 0 {
        return q;
    }
    Quantity::from_units(q.value(), q.format())
}
