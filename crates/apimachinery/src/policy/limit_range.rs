//! LimitRanger admission: a new pod's containers get the namespace
//! LimitRanges' default limits and requests (noted in the
//! `kubernetes.io/limit-ranger` annotation), then pods and
//! PersistentVolumeClaims must respect the ranges' min, max and
//! limit/request ratio.

use serde_json::Value;

use super::pod_resources::{PodResourcesOptions, pod_limits, pod_requests};
use super::{Operation, ResourceList, aggregate, forbidden_message, resource_list};
use crate::validation::json::{arr_at, field, get, items_mut, obj_mut, s};

mod constraints;

/// The annotation naming what LimitRanger filled in.
pub const ANNOTATION: &str = "kubernetes.io/limit-ranger";

/// An object outside a LimitRange, with Kubernetes' text:
/// `pods "x" is forbidden: maximum cpu usage per Container is 1, but limit is 2`
/// (several violations of one LimitRange are bracketed: `[a, b]`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", forbidden_message(.resource, .name, .message))]
pub struct LimitRangeError {
    /// `pods` or `persistentvolumeclaims`.
    pub resource: String,
    pub name: String,
    pub message: String,
}

/// Whether LimitRanger looks at this request: pod creates (containers are
/// immutable afterwards) and PVC creates and updates, never subresources.
pub fn applies(group: &str, resource: &str, subresource: &str, op: Operation) -> bool {
    group.is_empty()
        && subresource.is_empty()
        && match resource {
            "pods" => op == Operation::Create,
            "persistentvolumeclaims" => true,
            _ => false,
        }
}

/// The whole plugin for one request: defaults (pods) and bounds. `obj` is
/// changed in place; `old` is the stored object on update (objects being
/// deleted are left alone); `name` is used in the error.
pub fn admit(
    resource: &str,
    obj: &mut Value,
    old: Option<&Value>,
    limit_ranges: &[Value],
    name: &str,
) -> Result<(), LimitRangeError> {
    if old.is_some_and(|o| field(o, &["metadata", "deletionTimestamp"]).is_some()) {
        return Ok(());
    }
    let messages = match resource {
        "pods" => {
            apply_pod_defaults(obj, limit_ranges);
            validate_pod(obj, limit_ranges)
        }
        "persistentvolumeclaims" => validate_pvc(obj, limit_ranges),
        _ => Vec::new(),
    };
    if messages.is_empty() {
        return Ok(());
    }
    Err(LimitRangeError {
        resource: resource.into(),
        name: name.into(),
        message: aggregate(&messages),
    })
}

/// The `spec.limits` items of a LimitRange of the given type.
fn items<'a>(lr: &'a Value, kind: &'a str) -> impl Iterator<Item = &'a Value> + 'a {
    arr_at(lr, &["spec", "limits"])
        .iter()
        .filter(move |i| s(i, &["type"]) == kind)
}

fn sorted_bounds(item: &Value, key: &str) -> ResourceList {
    // A BTreeMap walks names in order: stable messages where Kubernetes'
    // map order is random.
    resource_list(get(item, &[key]))
}

/// Container defaults of one LimitRange: (default limits, default requests),
/// with the fallbacks LimitRange defaulting applies (limit from max, request
/// from limit, then from min) in case the stored object lacks them.
fn container_defaults(lr: &Value) -> (ResourceList, ResourceList) {
    let (mut limits, mut requests) = (ResourceList::new(), ResourceList::new());
    for item in items(lr, "Container") {
        let mut default = sorted_bounds(item, "default");
        for (k, q) in sorted_bounds(item, "max") {
            default.entry(k).or_insert(q);
        }
        let mut default_request = sorted_bounds(item, "defaultRequest");
        for (k, q) in default.iter().chain(&sorted_bounds(item, "min")) {
            default_request.entry(k.clone()).or_insert(*q);
        }
        limits.extend(default);
        requests.extend(default_request);
    }
    (limits, requests)
}

/// Fills in missing container limits and requests from each LimitRange in
/// turn and sets the annotation (the last LimitRange that filled anything
/// writes it, as in Kubernetes). Returns whether the pod changed.
pub fn apply_pod_defaults(pod: &mut Value, limit_ranges: &[Value]) -> bool {
    let mut changed = false;
    for lr in limit_ranges {
        let (limits, requests) = container_defaults(lr);
        if limits.is_empty() && requests.is_empty() {
            continue;
        }
        let mut notes = Vec::new();
        let spec = obj_mut(pod, "spec");
        for (list, label) in [
            ("containers", "container"),
            ("initContainers", "init container"),
        ] {
            for c in items_mut(spec, list) {
                let cname = s(c, &["name"]).to_string();
                let set_requests = fill(c, "requests", &requests);
                let set_limits = fill(c, "limits", &limits);
                if !set_requests.is_empty() {
                    notes.push(format!(
                        "{} request for {label} {cname}",
                        set_requests.join(", ")
                    ));
                }
                if !set_limits.is_empty() {
                    notes.push(format!(
                        "{} limit for {label} {cname}",
                        set_limits.join(", ")
                    ));
                }
            }
        }
        if !notes.is_empty() {
            let annotations = obj_mut(obj_mut(pod, "metadata"), "annotations");
            if let Some(a) = annotations.as_object_mut() {
                a.insert(
                    ANNOTATION.into(),
                    Value::String(format!("LimitRanger plugin set: {}", notes.join("; "))),
                );
            }
            changed = true;
        }
    }
    changed
}

/// Adds the absent names of `defaults` to the container's
/// `resources.<key>` (created only when something is added); returns the
/// names added, sorted.
fn fill(container: &mut Value, key: &str, defaults: &ResourceList) -> Vec<String> {
    let present = |k: &str| get(container, &["resources", key, k]).is_some();
    let added: Vec<String> = defaults.keys().filter(|k| !present(k)).cloned().collect();
    if added.is_empty() {
        return added;
    }
    if let Some(map) = obj_mut(obj_mut(container, "resources"), key).as_object_mut() {
        for k in &added {
            if let Some(q) = defaults.get(k) {
                map.insert(k.clone(), Value::String(q.canonical()));
            }
        }
    }
    added
}

/// The violations of the first LimitRange the pod violates (Kubernetes stops
/// at the first), or none.
pub fn validate_pod(pod: &Value, limit_ranges: &[Value]) -> Vec<String> {
    limit_ranges
        .iter()
        .map(|lr| pod_violations(pod, lr))
        .find(|v| !v.is_empty())
        .unwrap_or_default()
}

fn pod_violations(pod: &Value, lr: &Value) -> Vec<String> {
    let mut errs = Vec::new();
    for item in arr_at(lr, &["spec", "limits"]) {
        match s(item, &["type"]) {
            "Container" => {
                let containers = arr_at(pod, &["spec", "containers"])
                    .iter()
                    .chain(arr_at(pod, &["spec", "initContainers"]));
                for c in containers {
                    let requests = resource_list(get(c, &["resources", "requests"]));
                    let limits = resource_list(get(c, &["resources", "limits"]));
                    bounds(&mut errs, "Container", item, &requests, &limits);
                }
            }
            "Pod" => {
                // LimitRanger sums containers without overhead or status.
                let opts = PodResourcesOptions::default();
                bounds(
                    &mut errs,
                    "Pod",
                    item,
                    &pod_requests(pod, opts),
                    &pod_limits(pod, opts),
                );
            }
            _ => {}
        }
    }
    errs
}

fn bounds(
    errs: &mut Vec<String>,
    kind: &str,
    item: &Value,
    requests: &ResourceList,
    limits: &ResourceList,
) {
    for (name, q) in sorted_bounds(item, "min") {
        errs.extend(constraints::min(kind, &name, &q, requests, limits));
    }
    for (name, q) in sorted_bounds(item, "max") {
        errs.extend(constraints::max(kind, &name, &q, requests, limits));
    }
    for (name, q) in sorted_bounds(item, "maxLimitRequestRatio") {
        errs.extend(constraints::ratio(kind, &name, &q, requests, limits));
    }
}

/// The violations of the first LimitRange the claim violates: min and max
/// apply to `spec.resources.requests` (claims get no defaults).
pub fn validate_pvc(pvc: &Value, limit_ranges: &[Value]) -> Vec<String> {
    let requests = resource_list(get(pvc, &["spec", "resources", "requests"]));
    let none = ResourceList::new();
    limit_ranges
        .iter()
        .map(|lr| {
            let mut errs = Vec::new();
            for item in items(lr, "PersistentVolumeClaim") {
                for (name, q) in sorted_bounds(item, "min") {
                    errs.extend(constraints::min(
                        "PersistentVolumeClaim",
                        &name,
                        &q,
                        &requests,
                        &none,
                    ));
                }
                for (name, q) in sorted_bounds(item, "max") {
                    errs.extend(constraints::max_request(
                        "PersistentVolumeClaim",
                        &name,
                        &q,
                        &requests,
                    ));
                }
            }
            errs
        })
        .find(|v| !v.is_empty())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests;
