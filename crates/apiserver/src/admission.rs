//! Admission: what a write goes through besides validation before it is
//! stored. Here namespace lifecycle (no new objects in a missing or
//! terminating namespace), field validation against the schema and RBAC
//! escalation checks; in `admission/` the plugins in Kubernetes' order
//! (`chain`): ServiceAccount, LimitRanger, DefaultStorageClass, PodSecurity,
//! ResourceQuota.

use crate::error::{ApiError, Qualified};
use crate::query::FieldValidation;
use crate::rest::Ctx;
use apimachinery::object::ObjectExt;
use serde_json::Value;

mod chain;
mod default_storage_class;
mod limit_ranger;
mod pod_security;
mod quota;
mod service_account;

pub(crate) use chain::{State, after_create, after_delete, bootstrap, mutate, validate};

/// Refuses to create objects in a namespace that does not exist or is being
/// deleted, with Kubernetes' messages.
pub fn namespace_lifecycle(ctx: &Ctx, obj: &Value) -> Result<(), ApiError> {
    if !ctx.resource.namespaced {
        return Ok(());
    }
    let Some(ns) = obj.namespace() else { return Ok(()) };
    let key = format!("/registry/core/namespaces/{ns}");
    let Some(kv) = ctx.store().get(&key) else {
        return Err(ApiError::NotFound {
            what: Qualified { group: String::new(), plural: "namespaces".into() },
            name: ns.to_string(),
        });
    };
    let terminating = serde_json::from_slice::<Value>(&kv.value)
        .ok()
        .is_some_and(|n| n.deletion_timestamp().is_some() || n.pointer("/status/phase") == Some(&Value::from("Terminating")));
    if terminating {
        return Err(ApiError::Forbidden(format!(
            "{} \"{}\" is forbidden: unable to create new content in namespace {ns} because it is being terminated",
            ctx.resource.qualified_plural(),
            obj.name().unwrap_or_default()
        )));
    }
    Ok(())
}

/// Unknown fields in a request body: an error with `fieldValidation=Strict`,
/// warnings with `Warn` (the default), nothing with `Ignore`.
pub fn field_warnings(ctx: &Ctx, obj: &Value) -> Result<Vec<String>, ApiError> {
    if ctx.query.field_validation == FieldValidation::Ignore {
        return Ok(Vec::new());
    }
    let unknown = match &ctx.custom {
        Some(custom) => custom.unknown_fields(obj),
        None => openapi::unknown_fields(&ctx.resource.group, &ctx.resource.version, &ctx.resource.kind, obj),
    };
    if unknown.is_empty() {
        return Ok(Vec::new());
    }
    let messages: Vec<String> = unknown.iter().map(|f| format!("unknown field \"{f}\"")).collect();
    if ctx.query.field_validation == FieldValidation::Strict {
        let kind = &ctx.resource.kind;
        return Err(ApiError::BadRequest(format!(
            "{kind} in version \"{}\" cannot be handled as a {kind}: strict decoding error: {}",
            ctx.resource.version,
            messages.join(", ")
        )));
    }
    Ok(messages)
}

/// A body value of the wrong JSON type for its field (a string for an
/// integer), which Kubernetes' decoding into the kind's Go struct refuses
/// whatever `fieldValidation` says. Built-in kinds only: custom resources
/// are checked against their own schema.
pub fn type_mismatch(ctx: &Ctx, obj: &Value) -> Option<openapi::TypeMismatch> {
    if ctx.custom.is_some() {
        return None;
    }
    openapi::type_mismatch(&ctx.resource.group, &ctx.resource.version, &ctx.resource.kind, obj)
}

/// [`type_mismatch`] of a request body, as the 400 Kubernetes answers
/// when the body does not decode into the kind's Go struct.
pub fn check_body_types(ctx: &Ctx, obj: &Value) -> Result<(), ApiError> {
    match type_mismatch(ctx, obj) {
        Some(mismatch) => {
            let kind = &ctx.resource.kind;
            Err(ApiError::BadRequest(format!(
                "{kind} in version \"{}\" cannot be handled as a {kind}: {mismatch}",
                ctx.resource.version
            )))
        }
        None => Ok(()),
    }
}

/// RBAC escalation prevention: a Role or ClusterRole may only grant what
/// its author holds (or has `escalate` on), and a binding may only
/// reference a role whose permissions its author holds (or has `bind` on).
pub fn rbac_escalation(ctx: &Ctx, obj: &Value) -> Result<(), ApiError> {
    if ctx.resource.group != "rbac.authorization.k8s.io" {
        return Ok(());
    }
    let Some(user) = ctx.user.as_ref() else { return Ok(()) };
    let rbac = ctx.server.inner.rbac.snapshot();
    let namespace = ctx.namespace();
    let forbidden = |detail: String| {
        ApiError::Forbidden(format!(
            "{} \"{}\" is forbidden: {detail}",
            ctx.resource.qualified_plural(),
            obj.name().unwrap_or_default()
        ))
    };
    match ctx.resource.kind.as_str() {
        "Role" | "ClusterRole" => {
            let rules: Vec<Value> = obj.get("rules").and_then(Value::as_array).cloned().unwrap_or_default();
            crate::authz::confirm_no_escalation(&*rbac, user, namespace, &ctx.resource.plural, obj.name().unwrap_or_default(), &rules)
                .map_err(forbidden)
        }
        "RoleBinding" | "ClusterRoleBinding" => {
            let role_ref = obj.get("roleRef").cloned().unwrap_or_default();
            match crate::authz::check_bind(&*rbac, user, namespace, &role_ref) {
                Ok(()) => Ok(()),
                Err(crate::authz::BindError::Role(crate::authz::ResolveError::RoleNotFound { resource, name })) => {
                    Err(ApiError::NotFound {
                        what: crate::error::Qualified { group: "rbac.authorization.k8s.io".into(), plural: resource.into() },
                        name,
                    })
                }
                Err(e) => Err(forbidden(e.to_string())),
            }
        }
        _ => Ok(()),
    }
}
