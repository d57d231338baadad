//! ResourceQuota admission: what an object adds to a namespace's quotas,
//! which quotas cover it (resources and scopes), and the check that the new
//! usage stays within `status.hard`. It returns each changed quota's new
//! `status.used`; the API server writes those in the same transaction as the
//! object, so concurrent requests cannot both slip under a limit.
//!
//! Like Kubernetes, quotas are read from `status.hard`/`status.used` (what
//! the quota controller last recorded), not `spec.hard`.

use serde_json::Value;

use super::{Operation, ResourceList, forbidden_message, resource_list};
use crate::validation::json::{arr_at, get, s};
use crate::validation::quantity::Quantity;

mod evaluators;
mod pods;

pub use evaluators::object_count_name;
use evaluators::{Evaluator, evaluator};

/// Why a quota refuses a request (the text after `is forbidden: `).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QuotaViolation {
    /// The new usage would pass `status.hard`.
    #[error(
        "exceeded quota: {quota}, requested: {}, used: {}, limited: {}",
        pretty(.requested),
        pretty(.used),
        pretty(.limited)
    )]
    Exceeded {
        quota: String,
        requested: ResourceList,
        used: ResourceList,
        limited: ResourceList,
    },
    /// The object lacks something the quota requires (container cpu/memory).
    #[error("failed quota: {quota}: {detail}")]
    Constraint { quota: String, detail: String },
    /// The quota controller has not recorded usage for a limited resource.
    #[error("status unknown for quota: {quota}, resources: {}", .resources.join(","))]
    StatusUnknown {
        quota: String,
        resources: Vec<String>,
    },
    #[error("quota usage is negative for resource(s): {}", .resources.join(","))]
    Negative { resources: Vec<String> },
}

/// A refused request: `pods "x" is forbidden: exceeded quota: ...`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", forbidden_message(.resource, .name, &.violation.to_string()))]
pub struct QuotaError {
    /// Group-qualified plural, `pods` or `deployments.apps`.
    pub resource: String,
    pub name: String,
    /// Boxed: the message lists can be large and errors are rare.
    pub violation: Box<QuotaViolation>,
}

/// `cpu=1,pods=2`: sorted names, comma-separated without spaces.
fn pretty(list: &ResourceList) -> String {
    list.iter()
        .map(|(k, q)| format!("{k}={q}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// What `obj` (of `group`/`resource`, the plural) adds to a quota's usage.
/// Empty for resources quota ignores (events, reviews).
pub fn usage(group: &str, resource: &str, obj: &Value) -> ResourceList {
    evaluator(group, resource)
        .map(|e| e.usage(obj))
        .unwrap_or_default()
}

/// The request being admitted.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    pub group: &'a str,
    /// The plural, `pods`.
    pub resource: &'a str,
    /// `""`, `status`, `resize`, ...
    pub subresource: &'a str,
    pub operation: Operation,
    /// The object as it will be stored.
    pub object: &'a Value,
    /// The stored object, on update.
    pub old_object: Option<&'a Value>,
    /// The object's name for the error (its generated name once known).
    pub name: &'a str,
}

/// A quota whose `status.used` must become `used`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuotaUpdate {
    /// The ResourceQuota's name.
    pub name: String,
    pub used: ResourceList,
}

fn hard(quota: &Value) -> ResourceList {
    resource_list(get(quota, &["status", "hard"]))
}

fn used(quota: &Value) -> ResourceList {
    resource_list(get(quota, &["status", "used"]))
}

fn quota_name(quota: &Value) -> String {
    s(quota, &["metadata", "name"]).to_string()
}

/// The quota's scopes as selector requirements: `spec.scopes` (each an
/// `Exists`) then `spec.scopeSelector.matchExpressions`.
fn scope_requirements(quota: &Value) -> Vec<Value> {
    let mut out: Vec<Value> = arr_at(quota, &["spec", "scopes"])
        .iter()
        .map(|scope| serde_json::json!({"scopeName": scope, "operator": "Exists"}))
        .collect();
    out.extend(
        arr_at(quota, &["spec", "scopeSelector", "matchExpressions"])
            .iter()
            .cloned(),
    );
    out
}

/// Whether a quota covers the object: it limits something the object is
/// charged for, and the object is in all its scopes.
fn covers(ev: &Evaluator, quota: &Value, obj: &Value) -> bool {
    let names: Vec<String> = hard(quota).into_keys().collect();
    !ev.matching_resources(&names).is_empty()
        && scope_requirements(quota)
            .iter()
            .all(|r| ev.matches_scope(obj, r))
}

/// Whether a quota covers an object of `group`/`resource` (scopes
/// included), e.g. to recompute usage from the stored objects.
pub fn quota_covers(quota: &Value, group: &str, resource: &str, obj: &Value) -> bool {
    evaluator(group, resource).is_some_and(|ev| covers(&ev, quota, obj))
}

fn add(a: &ResourceList, b: &ResourceList) -> ResourceList {
    let mut out = a.clone();
    for (k, q) in b {
        let sum = out.get(k).map_or(*q, |v| v.add(q));
        out.insert(k.clone(), sum);
    }
    out
}

fn mask(list: &ResourceList, names: &ResourceList) -> ResourceList {
    list.iter()
        .filter(|(k, _)| names.contains_key(*k))
        .map(|(k, q)| (k.clone(), *q))
        .collect()
}

/// The quota's `status.used` plus the part of `delta` it limits.
pub fn new_used(quota: &Value, delta: &ResourceList) -> ResourceList {
    add(&used(quota), &mask(delta, &hard(quota)))
}

/// Checks `delta` against each quota (already known to cover the object):
/// the used amount plus the request must stay within `status.hard` for every
/// requested resource the quota limits.
pub fn check(quotas: &[Value], delta: &ResourceList) -> Result<(), QuotaViolation> {
    quotas
        .iter()
        .try_for_each(|q| check_one(q, delta).map(|_| ()))
}

/// One quota's check; the new `status.used`, or `None` if it limits nothing requested.
fn check_one(quota: &Value, delta: &ResourceList) -> Result<Option<ResourceList>, QuotaViolation> {
    let hard = hard(quota);
    let requested = mask(delta, &hard);
    if requested.is_empty() {
        return Ok(None);
    }
    let used = used(quota);
    let new = add(&used, &requested);
    let exceeded: ResourceList = mask(&new, &requested)
        .into_iter()
        .filter(|(k, q)| hard.get(k).is_some_and(|h| q > h))
        .collect();
    if !exceeded.is_empty() {
        return Err(QuotaViolation::Exceeded {
            quota: quota_name(quota),
            requested: mask(&requested, &exceeded),
            used: mask(&used, &exceeded),
            limited: mask(&hard, &exceeded),
        });
    }
    Ok(Some(new))
}

/// `new - old` per resource, floored at zero (Kubernetes'
/// `SubtractWithNonNegativeResult`), without the zeros.
fn positive_delta(new: &ResourceList, old: &ResourceList) -> ResourceList {
    new.iter()
        .filter_map(|(k, q)| {
            let d = old.get(k).map_or(*q, |o| q.sub(o));
            (d.sign() > 0).then(|| (k.clone(), d))
        })
        .collect()
}

/// The whole plugin for one request (Kubernetes' `CheckRequest`): the quotas
/// (the namespace's ResourceQuota objects) that must record new usage, or
/// why the request is refused. Empty when no quota changes.
pub fn admit(quotas: &[Value], req: &Request) -> Result<Vec<QuotaUpdate>, QuotaError> {
    let fail = |violation| QuotaError {
        resource: if req.group.is_empty() {
            req.resource.to_string()
        } else {
            format!("{}.{}", req.resource, req.group)
        },
        name: req.name.to_string(),
        violation: Box::new(violation),
    };
    let Some(ev) = evaluator(req.group, req.resource) else {
        return Ok(Vec::new());
    };
    if !ev.handles(req.operation, req.subresource, req.object, req.old_object) {
        return Ok(Vec::new());
    }
    let mut covering = Vec::new();
    for quota in quotas {
        if !covers(&ev, quota, req.object) {
            continue;
        }
        let hard_names: Vec<String> = hard(quota).into_keys().collect();
        let mut limited = ev.matching_resources(&hard_names);
        if let Some(detail) = ev.constraints(req.object, &limited) {
            return Err(fail(QuotaViolation::Constraint {
                quota: quota_name(quota),
                detail,
            }));
        }
        let used = used(quota);
        if limited.iter().any(|r| !used.contains_key(r)) {
            limited.sort();
            return Err(fail(QuotaViolation::StatusUnknown {
                quota: quota_name(quota),
                resources: limited,
            }));
        }
        covering.push(quota);
    }
    let input = ev.usage(req.object);
    let negative: Vec<String> = input
        .iter()
        .filter(|(_, q)| q.sign() < 0)
        .map(|(k, _)| k.clone())
        .collect();
    if !negative.is_empty() {
        return Err(fail(QuotaViolation::Negative {
            resources: negative,
        }));
    }
    let mut updates = Vec::new();
    for quota in covering {
        // On update only the growth counts, unless the old object was
        // outside this quota (e.g. a pod that just became Terminating).
        let delta = match req.old_object {
            Some(old) if req.operation == Operation::Update && covers(&ev, quota, old) => {
                positive_delta(&input, &ev.usage(old))
            }
            _ => input
                .iter()
                .filter(|(_, q)| !q.is_zero())
                .map(|(k, q)| (k.clone(), *q))
                .collect(),
        };
        if delta.is_empty() {
            continue;
        }
        let result = if req.subresource == "status" {
            // Status writes record usage but are never refused.
            Ok((!mask(&delta, &hard(quota)).is_empty()).then(|| new_used(quota, &delta)))
        } else {
            check_one(quota, &delta)
        };
        if let Some(used) = result.map_err(fail)? {
            updates.push(QuotaUpdate {
                name: quota_name(quota),
                used,
            });
        }
    }
    Ok(updates)
}

/// A quota's `status.used` as JSON, for writing back.
pub fn used_json(used: &ResourceList) -> Value {
    super::resource_list_json(used)
}

/// Zero usage for every hard resource: a fresh quota's `status.used`.
pub fn zero_usage(quota: &Value) -> ResourceList {
    resource_list(get(quota, &["spec", "hard"]))
        .into_keys()
        .map(|k| {
            (
                k,
                Quantity::from_units(0, crate::validation::quantity::QuantityFormat::DecimalSI),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests;
