//! Admission: checks a write must pass after validation and before it is
//! stored. For now namespace lifecycle (no new objects in a missing or
//! terminating namespace) and field validation against the schema.

use crate::error::{ApiError, Qualified};
use crate::query::FieldValidation;
use crate::rest::Ctx;
use apimachinery::object::ObjectExt;
use serde_json::Value;

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
    let unknown = openapi::unknown_fields(&ctx.resource.group, &ctx.resource.version, &ctx.resource.kind, obj);
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
