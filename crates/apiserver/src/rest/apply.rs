//! Server-side apply: `PATCH` with `application/apply-patch+yaml` on an
//! object or its status. `apimachinery::apply` merges the applied
//! configuration into the live object and moves field ownership, or
//! reports conflicts (409); the result goes through the update path, and a
//! missing object is created through the create path (201).

use super::write::{check_namespace, create_object, with_warnings, write_loop};
use super::{Ctx, Target};
use crate::admission;
use crate::body::Body;
use crate::error::ApiError;
use crate::managed_fields;
use apimachinery::apply::{self, ApplyOptions};
use apimachinery::object::{ObjectExt, now_string};
use apimachinery::registry::split_api_version;
use bytes::Bytes;
use http::Response;
use serde_json::Value;

/// Tries of create-or-update while the object comes and goes.
const MAX_ATTEMPTS: usize = 4;

/// Applies the configuration in `body` to the object (or its status).
pub async fn apply(ctx: Ctx, body: Bytes, target: Target) -> Result<Response<Body>, ApiError> {
    let name = ctx.name()?.to_string();
    if target == Target::Finalize {
        return Err(ApiError::MethodNotAllowed);
    }
    let config = decode(&body)?;
    check_type(&ctx, &config)?;
    // Kubernetes answers 500 to these today ("failed to create typed patch
    // object"), a bug it is fixing to 400; 400 here.
    admission::check_body_types(&ctx, &config)?;
    let warnings = admission::field_warnings(&ctx, &config)?;
    let manager = managed_fields::manager(&ctx);
    let subresource = managed_fields::subresource(target);
    let schema = managed_fields::schema(&ctx);
    let ignored = managed_fields::ignored(&ctx.resource, subresource);
    let time = now_string();
    let opts = ApplyOptions {
        manager: &manager,
        force: ctx.query.force.unwrap_or(false),
        subresource,
        time: &time,
        ignored: &ignored,
    };
    let merge = |live: Option<&Value>| -> Result<Value, ApiError> {
        let mut obj = apply::apply(live, &config, schema.as_ref(), &opts)?;
        check_name(&ctx, &name, &mut obj)?;
        Ok(obj)
    };
    let this_object = |what: &crate::error::Qualified, n: &str| *what == ctx.qualified() && n == name;
    let mut last = None;
    for _ in 0..MAX_ATTEMPTS {
        // Only the main resource creates: subresources never do.
        if target == Target::Main && ctx.store().get(&ctx.key(&name)).is_none() {
            match create_object(&ctx, merge(None)?, &warnings).await {
                Err(e @ ApiError::AlreadyExists { .. }) => {
                    last = Some(e);
                    continue;
                }
                other => return other,
            }
        }
        match write_loop(&ctx, &name, target, None, |current| merge(Some(current))).await {
            Err(ApiError::NotFound { what, name: n }) if target == Target::Main && this_object(&what, &n) => {
                last = Some(ApiError::NotFound { what, name: n });
            }
            other => return with_warnings(other, &warnings),
        }
    }
    Err(last.unwrap_or_else(|| ctx.not_found(&name)))
}

/// The body is YAML (JSON is YAML too) holding one object.
pub(super) fn decode(body: &[u8]) -> Result<Value, ApiError> {
    let config: Value = serde_yaml_ng::from_slice(body)
        .map_err(|e| ApiError::BadRequest(format!("error decoding YAML: {e}")))?;
    if !config.is_object() {
        return Err(ApiError::BadRequest(format!(
            "error decoding YAML: the applied configuration must be an object, got {}",
            crate::codec::json_type_name(&config)
        )));
    }
    Ok(config)
}

/// The configuration's group, version and kind must be the resource's,
/// as Kubernetes' version check says.
fn check_type(ctx: &Ctx, config: &Value) -> Result<(), ApiError> {
    let api_version = config.get("apiVersion").and_then(Value::as_str).unwrap_or_default();
    let kind = config.get("kind").and_then(Value::as_str).unwrap_or_default();
    let (group, version) = split_api_version(api_version);
    if group != ctx.resource.group || version != ctx.resource.version || kind != ctx.resource.kind {
        return Err(ApiError::BadRequest(format!("invalid object type: {group}/{version}, Kind={kind}")));
    }
    Ok(())
}

/// The merged object must carry the URL's name and namespace (Kubernetes'
/// `checkName` for patches); the namespace is filled in when left out.
fn check_name(ctx: &Ctx, name: &str, obj: &mut Value) -> Result<(), ApiError> {
    let got = obj.name().unwrap_or_default();
    if got != name {
        return Err(ApiError::BadRequest(format!(
            "the name of the object ({got}) does not match the name on the URL ({name})"
        )));
    }
    if let (Some(url_ns), Some(obj_ns)) = (ctx.namespace(), obj.namespace().filter(|n| !n.is_empty()))
        && url_ns != obj_ns
    {
        return Err(ApiError::BadRequest(format!(
            "the namespace of the object ({obj_ns}) does not match the namespace on the request ({url_ns})"
        )));
    }
    check_namespace(ctx, obj)
}
