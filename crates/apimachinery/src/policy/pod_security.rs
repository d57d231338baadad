//! Pod Security admission (Kubernetes' `PodSecurity` plugin, policy v1.33):
//! the namespace labels choose a level per mode; pods violating the enforce
//! level are refused, and pods and workload templates violating the warn
//! level get a warning. Exemptions are not supported.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::validation::field::FieldError;
use crate::validation::json::{arr_at, get, s};

mod baseline;
mod checks;
mod level;
mod profiles;
mod restricted;

pub use checks::{CheckResult, evaluate, forbidden_detail, forbidden_reason};
pub use level::{
    AUDIT_LEVEL_LABEL, AUDIT_VERSION_LABEL, ENFORCE_LEVEL_LABEL, ENFORCE_VERSION_LABEL, Level,
    LevelVersion, Policy, Version, WARN_LEVEL_LABEL, WARN_VERSION_LABEL, policy_from_labels,
};

/// Audit annotation keys (prefixed `pod-security.kubernetes.io/` when
/// written to the audit event).
pub const ENFORCE_POLICY_ANNOTATION: &str = "enforce-policy";
pub const AUDIT_VIOLATIONS_ANNOTATION: &str = "audit-violations";

/// A pod refused by the enforce level: `pods "x" is forbidden: violates
/// PodSecurity "restricted:latest": <reason (detail), ...>`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{resource} \"{name}\" is forbidden: violates PodSecurity \"{policy}\": {detail}")]
pub struct PodSecurityError {
    /// Group-qualified plural, `pods`.
    pub resource: String,
    pub name: String,
    pub policy: LevelVersion,
    /// `reason (detail), reason (detail)`.
    pub detail: String,
}

/// What admission decided for one object.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Warnings for the client (`Warning: ...` headers); empty when denied.
    pub warnings: Vec<String>,
    /// Audit annotations (`enforce-policy`, `audit-violations`, `error`).
    pub audit_annotations: BTreeMap<String, String>,
}

/// The pod metadata and spec a resource carries, if Pod Security looks at
/// it: Pods themselves and the templates of workloads. `None` also when a
/// workload has no template.
pub fn pod_spec_of<'a>(
    group: &str,
    resource: &str,
    obj: &'a Value,
) -> Option<(&'a Value, &'a Value)> {
    let template = match (group, resource) {
        ("", "pods") => {
            return Some((
                get(obj, &["metadata"]).unwrap_or(&Value::Null),
                get(obj, &["spec"])?,
            ));
        }
        ("", "podtemplates") => get(obj, &["template"]),
        ("", "replicationcontrollers")
        | ("apps", "replicasets" | "deployments" | "statefulsets" | "daemonsets")
        | ("batch", "jobs") => get(obj, &["spec", "template"]),
        ("batch", "cronjobs") => get(obj, &["spec", "jobTemplate", "spec", "template"]),
        _ => None,
    }?;
    if template.is_null() {
        return None;
    }
    Some((
        get(template, &["metadata"]).unwrap_or(&Value::Null),
        get(template, &["spec"]).unwrap_or(&Value::Null),
    ))
}

/// Admits a Pod create (or significant update): `Err` when the enforce
/// level refuses it. `ns_labels` is the namespace's `metadata.labels`;
/// `name` is the pod's name (its generated name once known).
pub fn admit_pod(
    ns_labels: Option<&Value>,
    pod: &Value,
    name: &str,
) -> Result<Outcome, PodSecurityError> {
    let (policy, errs) = policy_from_labels(ns_labels);
    let meta = get(pod, &["metadata"]).unwrap_or(&Value::Null);
    let spec = get(pod, &["spec"]).unwrap_or(&Value::Null);
    let mut out = Outcome::default();
    if errs.is_empty() && policy.fully_privileged() {
        out.audit_annotations.insert(
            ENFORCE_POLICY_ANNOTATION.into(),
            LevelVersion::PRIVILEGED_LATEST.to_string(),
        );
        return Ok(out);
    }
    note_label_errors(&mut out, &errs);
    out.audit_annotations
        .insert(ENFORCE_POLICY_ANNOTATION.into(), policy.enforce.to_string());
    let enforce = evaluate(policy.enforce, meta, spec);
    if !enforce.is_empty() {
        return Err(PodSecurityError {
            resource: "pods".into(),
            name: name.into(),
            policy: policy.enforce,
            detail: forbidden_detail(&enforce),
        });
    }
    audit_and_warn(&mut out, &policy, meta, spec);
    Ok(out)
}

/// Admits a workload create or update (Deployment, Job, ...): never refuses,
/// only warns and annotates about its pod template.
pub fn admit_workload(
    ns_labels: Option<&Value>,
    group: &str,
    resource: &str,
    obj: &Value,
) -> Outcome {
    let mut out = Outcome::default();
    let (policy, errs) = policy_from_labels(ns_labels);
    let privileged = |lv: LevelVersion| lv.level == Level::Privileged;
    if errs.is_empty() && privileged(policy.warn) && privileged(policy.audit) {
        return out;
    }
    let Some((meta, spec)) = pod_spec_of(group, resource, obj) else {
        return out;
    };
    note_label_errors(&mut out, &errs);
    audit_and_warn(&mut out, &policy, meta, spec);
    out
}

fn note_label_errors(out: &mut Outcome, errs: &[FieldError]) {
    if errs.is_empty() {
        return;
    }
    let msgs: Vec<String> = errs.iter().map(FieldError::message).collect();
    out.audit_annotations.insert(
        "error".into(),
        format!(
            "Failed to parse policy: {}",
            crate::policy::aggregate(&msgs)
        ),
    );
}

fn audit_and_warn(out: &mut Outcome, policy: &Policy, meta: &Value, spec: &Value) {
    let audit = evaluate(policy.audit, meta, spec);
    if !audit.is_empty() {
        out.audit_annotations.insert(
            AUDIT_VIOLATIONS_ANNOTATION.into(),
            would_violate(policy.audit, &audit),
        );
    }
    let warn = evaluate(policy.warn, meta, spec);
    if !warn.is_empty() {
        out.warnings.push(would_violate(policy.warn, &warn));
    }
}

/// `would violate PodSecurity "restricted:latest": ...`.
pub fn would_violate(lv: LevelVersion, results: &[CheckResult]) -> String {
    format!(
        "would violate PodSecurity \"{lv}\": {}",
        forbidden_detail(results)
    )
}

/// Pod updates are checked only when they could change what runs: the
/// container images or the set of (ephemeral) containers.
pub fn is_significant_pod_update(pod: &Value, old: &Value) -> bool {
    for list in ["containers", "initContainers"] {
        let (new, prev) = (arr_at(pod, &["spec", list]), arr_at(old, &["spec", list]));
        if new.len() != prev.len()
            || new
                .iter()
                .zip(prev)
                .any(|(a, b)| s(a, &["image"]) != s(b, &["image"]))
        {
            return true;
        }
    }
    let prev = arr_at(old, &["spec", "ephemeralContainers"]);
    arr_at(pod, &["spec", "ephemeralContainers"])
        .iter()
        .any(|c| {
            prev.iter()
                .find(|o| s(o, &["name"]) == s(c, &["name"]))
                .is_none_or(|o| s(o, &["image"]) != s(c, &["image"]))
        })
}

/// Pod subresources Pod Security never looks at.
pub fn ignores_pod_subresource(subresource: &str) -> bool {
    matches!(
        subresource,
        "exec" | "attach" | "binding" | "eviction" | "log" | "portforward" | "proxy" | "status"
    )
}

/// Namespace create: the labels must parse (Kubernetes answers 422 Invalid
/// with these errors).
pub fn validate_namespace_labels(labels: Option<&Value>) -> Vec<FieldError> {
    policy_from_labels(labels).1
}

/// Namespace update: label errors to reject (only if they changed), and
/// whether the existing pods must be checked against a stricter enforce
/// level (then call [`existing_pod_warnings`]).
pub fn namespace_update(
    labels: Option<&Value>,
    old_labels: Option<&Value>,
) -> (Vec<FieldError>, bool) {
    let (new, errs) = policy_from_labels(labels);
    let (old, old_errs) = policy_from_labels(old_labels);
    let errs = if !errs.is_empty() && (old_errs.is_empty() || errs != old_errs) {
        errs
    } else {
        Vec::new()
    };
    let check = errs.is_empty()
        && new.enforce != old.enforce
        && new.enforce.level != Level::Privileged
        && !(new.enforce.version == old.enforce.version && new.enforce.level <= old.enforce.level);
    (errs, check)
}

/// Warnings for existing pods that violate a namespace's new enforce level:
/// one line per distinct set of reasons, naming the first pod.
pub fn existing_pod_warnings(
    namespace: &str,
    enforce: LevelVersion,
    pods: &[Value],
) -> Vec<String> {
    // reasons → (lexically first pod name, count), in first-seen order.
    let mut seen: Vec<(String, String, usize)> = Vec::new();
    for pod in pods {
        let meta = get(pod, &["metadata"]).unwrap_or(&Value::Null);
        let results = evaluate(enforce, meta, get(pod, &["spec"]).unwrap_or(&Value::Null));
        if results.is_empty() {
            continue;
        }
        let reason = forbidden_reason(&results);
        let name = s(pod, &["metadata", "name"]).to_string();
        match seen.iter_mut().find(|(r, _, _)| *r == reason) {
            Some((_, first, n)) => {
                *n += 1;
                if name < *first {
                    *first = name;
                }
            }
            None => seen.push((reason, name, 1)),
        }
    }
    if seen.is_empty() {
        return Vec::new();
    }
    let mut lines: Vec<String> = seen
        .into_iter()
        .map(|(reason, first, n)| match n {
            1 => format!("{first}: {reason}"),
            2 => format!("{first} (and 1 other pod): {reason}"),
            _ => format!("{first} (and {} other pods): {reason}", n - 1),
        })
        .collect();
    lines.sort();
    let mut out = vec![format!(
        "existing pods in namespace \"{namespace}\" violate the new PodSecurity enforce level \"{enforce}\""
    )];
    out.extend(lines);
    out
}

#[cfg(test)]
mod tests;
