//! The PodSecurity admission plugin over `policy::pod_security`: the
//! namespace's `pod-security.kubernetes.io/*` labels choose the levels;
//! pods violating `enforce` are refused (403), pods and workload templates
//! violating `warn` get `Warning:` headers; namespace labels must parse, and
//! tightening `enforce` warns about the namespace's existing pods.

use super::chain::{core_objects, read};
use crate::error::ApiError;
use crate::rest::Ctx;
use apimachinery::object::ObjectExt;
use apimachinery::policy::pod_security;
use serde_json::Value;

fn labels(obj: &Value) -> Option<&Value> {
    obj.pointer("/metadata/labels")
}

/// The warnings of an admitted write, or why it is refused.
pub(super) fn admit(ctx: &Ctx, obj: &Value, old: Option<&Value>) -> Result<Vec<String>, ApiError> {
    let (group, plural) = (ctx.resource.group.as_str(), ctx.resource.plural.as_str());
    if ctx.req.subresource.is_some() {
        return Ok(Vec::new());
    }
    if group.is_empty() && plural == "namespaces" {
        return namespace(ctx, obj, old);
    }
    if pod_security::pod_spec_of(group, plural, obj).is_none() {
        return Ok(Vec::new());
    }
    let Some(ns) = ctx.namespace() else { return Ok(Vec::new()) };
    let ns_obj = read(&ctx.server, &format!("/registry/core/namespaces/{ns}")).unwrap_or_default();
    if group.is_empty() && plural == "pods" {
        if old.is_some_and(|old| !pod_security::is_significant_pod_update(obj, old)) {
            return Ok(Vec::new());
        }
        let name = obj.name().unwrap_or_default();
        return pod_security::admit_pod(labels(&ns_obj), obj, name)
            .map(|out| out.warnings)
            .map_err(|e| ApiError::Forbidden(e.to_string()));
    }
    Ok(pod_security::admit_workload(labels(&ns_obj), group, plural, obj).warnings)
}

/// Namespace create: the labels must parse (422). Update: changed labels
/// must parse, and a stricter enforce level lists the pods it would refuse.
fn namespace(ctx: &Ctx, obj: &Value, old: Option<&Value>) -> Result<Vec<String>, ApiError> {
    let name = obj.name().unwrap_or_default().to_string();
    let invalid = |causes| ApiError::Invalid { kind: "Namespace".into(), group: String::new(), name: name.clone(), causes };
    let Some(old) = old else {
        let errs = pod_security::validate_namespace_labels(labels(obj));
        return if errs.is_empty() { Ok(Vec::new()) } else { Err(invalid(errs)) };
    };
    let (errs, check) = pod_security::namespace_update(labels(obj), labels(old));
    if !errs.is_empty() {
        return Err(invalid(errs));
    }
    if !check {
        return Ok(Vec::new());
    }
    let enforce = pod_security::policy_from_labels(labels(obj)).0.enforce;
    let pods = core_objects(&ctx.server, "pods", &name);
    Ok(pod_security::existing_pod_warnings(&name, enforce, &pods))
}
