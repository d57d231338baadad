//! create, update and patch: decode, default, prepare (system fields),
//! validate, admit, and write with optimistic concurrency. A write is
//! answered only after the store made it durable.

use super::output::object_response;
use super::{Ctx, Target, parse_rv};
use crate::admission;
use crate::body::Body;
use crate::codec::{self, BodyFormat};
use crate::error::ApiError;
use crate::strategy;
use apimachinery::object::{ObjectExt, meta_mut};
use apimachinery::registry::split_api_version;
use apimachinery::{defaults, patch, validation};
use bytes::Bytes;
use http::{Response, StatusCode};
use serde_json::Value;

/// Attempts of a read-modify-write before giving up on a busy object.
const MAX_RETRIES: usize = 16;

/// Checks the body's apiVersion and kind against the URL's resource and
/// fills them in when the client left them out.
fn check_type(ctx: &Ctx, obj: &mut Value) -> Result<(), ApiError> {
    let expected_av = ctx.resource.api_version();
    match obj.get("apiVersion").and_then(Value::as_str) {
        Some(av) if !av.is_empty() => {
            let (g, v) = split_api_version(av);
            if g != ctx.resource.group || v != ctx.resource.version {
                return Err(ApiError::BadRequest(format!(
                    "the API version in the data ({av}) does not match the expected API version ({expected_av})"
                )));
            }
        }
        _ => {
            obj["apiVersion"] = Value::String(expected_av);
        }
    }
    match obj.get("kind").and_then(Value::as_str) {
        Some(k) if !k.is_empty() => {
            if k != ctx.resource.kind {
                return Err(ApiError::BadRequest(format!(
                    "the kind in the data ({k}) does not match the expected kind ({}) of resource {}",
                    ctx.resource.kind,
                    ctx.resource.qualified_plural()
                )));
            }
        }
        _ => {
            obj["kind"] = Value::String(ctx.resource.kind.clone());
        }
    }
    if obj.get("metadata").is_some_and(|m| !m.is_object() && !m.is_null()) {
        return Err(ApiError::BadRequest("metadata: expected an object".into()));
    }
    Ok(())
}

/// The namespace of the object must be the one of the URL.
pub(super) fn check_namespace(ctx: &Ctx, obj: &mut Value) -> Result<(), ApiError> {
    let url_ns = ctx.namespace().map(str::to_string);
    match (obj.namespace().map(str::to_string), url_ns) {
        (Some(body_ns), Some(url_ns)) if body_ns != url_ns => Err(ApiError::BadRequest(
            "the namespace of the provided object does not match the namespace sent on the request".into(),
        )),
        (_, Some(url_ns)) => {
            meta_mut(obj).insert("namespace".into(), Value::String(url_ns));
            Ok(())
        }
        (_, None) if ctx.resource.namespaced => Err(ApiError::MethodNotAllowed),
        (_, None) => {
            meta_mut(obj).remove("namespace");
            Ok(())
        }
    }
}

fn invalid(ctx: &Ctx, name: &str, causes: Vec<validation::FieldError>) -> ApiError {
    ApiError::Invalid {
        kind: ctx.resource.kind.clone(),
        group: ctx.resource.group.clone(),
        name: name.to_string(),
        causes,
    }
}

fn decode_body(ctx: &Ctx, body: &Bytes) -> Result<Value, ApiError> {
    let format = codec::body_format(ctx.content_type.as_deref())?;
    let mut obj = codec::decode_object(body, format)?;
    check_type(ctx, &mut obj)?;
    admission::check_body_types(ctx, &obj)?;
    check_namespace(ctx, &mut obj)?;
    Ok(obj)
}

pub async fn create(ctx: Ctx, body: Bytes) -> Result<Response<Body>, ApiError> {
    if ctx.req.name.is_some() {
        return Err(ApiError::MethodNotAllowed);
    }
    let obj = decode_body(&ctx, &body)?;
    let warnings = admission::field_warnings(&ctx, &obj)?;
    create_object(&ctx, obj, &warnings).await
}

/// The create path after decoding: defaulting, mutating admission, system
/// fields, validation, validating admission and the store write (shared
/// with create-on-apply).
pub(super) async fn create_object(ctx: &Ctx, mut obj: Value, warnings: &[String]) -> Result<Response<Body>, ApiError> {
    let mut warnings = warnings.to_vec();
    let group = ctx.resource.group.clone();
    let kind = ctx.resource.kind.clone();
    strategy::generate_name(&mut obj);
    strategy::normalize(&ctx.resource, &mut obj);
    match &ctx.custom {
        Some(custom) => custom.prune_and_default(&mut obj),
        None => defaults::apply_defaults(&group, &kind, &mut obj),
    }
    admission::mutate(ctx, &mut obj)?;
    crate::managed_fields::track_create(ctx, &mut obj);
    strategy::prepare_for_create(&ctx.resource, &mut obj);
    if let Some(custom) = &ctx.custom {
        custom.prepare_for_create(&mut obj);
    }
    let name = obj.name().unwrap_or_default().to_string();
    let errs = match &ctx.custom {
        Some(custom) => custom.validate_create(&obj),
        None => validation::validate_create(&group, &kind, &obj),
    };
    if !errs.is_empty() {
        return Err(invalid(ctx, &name, errs));
    }
    admission::namespace_lifecycle(ctx, &obj)?;
    admission::rbac_escalation(ctx, &obj)?;
    let admitted = admission::validate(ctx, &mut obj, None, Target::Main).await?;
    warnings.extend_from_slice(admitted.warnings());
    let guard = if strategy::needs_allocation(&ctx.resource) {
        Some(ctx.server.inner.allocation.lock().await)
    } else {
        None
    };
    strategy::allocate(&ctx.server, &ctx.resource, &mut obj, None).map_err(|causes| invalid(ctx, &name, causes))?;
    if ctx.query.dry_run {
        return with_warnings(object_response(ctx, StatusCode::CREATED, obj), &warnings);
    }
    let bytes = ctx.encode(&obj)?;
    let kv = match ctx.store().create(&ctx.key(&name), bytes).await {
        Ok(kv) => kv,
        Err(store::StoreError::AlreadyExists { .. }) => {
            return Err(ApiError::AlreadyExists { what: ctx.qualified(), name });
        }
        Err(e) => return Err(e.into()),
    };
    drop(guard);
    admitted.commit();
    admission::after_create(ctx, &obj).await;
    let stored = ctx.decode(&kv)?;
    with_warnings(object_response(ctx, StatusCode::CREATED, stored), &warnings)
}

pub(super) fn with_warnings(resp: Result<Response<Body>, ApiError>, warnings: &[String]) -> Result<Response<Body>, ApiError> {
    let mut resp = resp?;
    for w in warnings {
        let v = format!("299 - \"{}\"", w.replace('\\', "\\\\").replace('"', "\\\""));
        if let Ok(h) = http::HeaderValue::from_str(&v) {
            resp.headers_mut().append("Warning", h);
        }
    }
    Ok(resp)
}

/// Update (PUT) of the object, its status or a Namespace's finalizers.
pub async fn update(ctx: Ctx, body: Bytes, target: Target) -> Result<Response<Body>, ApiError> {
    let name = ctx.name()?.to_string();
    let obj = decode_body(&ctx, &body)?;
    match obj.name() {
        Some(n) if n != name => {
            return Err(ApiError::BadRequest(format!(
                "the name of the object ({n}) does not match the name on the URL ({name})"
            )));
        }
        None => return Err(invalid(&ctx, &name, vec![validation::FieldError::required(&validation::Path::new("metadata").child("name"), "name or generateName is required")])),
        _ => {}
    }
    let warnings = admission::field_warnings(&ctx, &obj)?;
    let precondition = obj.resource_version().map(parse_rv).transpose()?;
    let resp = write_loop(&ctx, &name, target, precondition, |_current| Ok(obj.clone())).await;
    with_warnings(resp, &warnings)
}

/// Patch of the object or its status, in any of the patch formats.
pub async fn patch(ctx: Ctx, body: Bytes, target: Target) -> Result<Response<Body>, ApiError> {
    let name = ctx.name()?.to_string();
    let format = codec::body_format(ctx.content_type.as_deref())?;
    let patch_doc: Value = match format {
        BodyFormat::JsonPatch | BodyFormat::MergePatch | BodyFormat::StrategicMergePatch => serde_json::from_slice(&body)
            .map_err(|e| ApiError::BadRequest(format!("error decoding patch as JSON: {e}")))?,
        BodyFormat::ApplyPatch => return super::apply::apply(ctx, body, target).await,
        _ => return Err(ApiError::UnsupportedMediaType),
    };
    let group = ctx.resource.group.clone();
    let kind = ctx.resource.kind.clone();
    let resp = write_loop(&ctx, &name, target, None, |current| {
        let patched = match format {
            BodyFormat::JsonPatch => patch::apply_json_patch(current, &patch_doc),
            BodyFormat::MergePatch => patch::apply_merge_patch(current, &patch_doc),
            _ => patch::apply_strategic_merge_patch(current, &patch_doc, &group, &kind),
        };
        let mut patched = patched.map_err(patch_error)?;
        if !patched.is_object() {
            return Err(ApiError::BadRequest("the patch turned the object into a non-object".into()));
        }
        check_type(&ctx, &mut patched)?;
        // As Kubernetes' patch handler: a patched object that does not
        // decode is an invalid `patch`.
        if let Some(mismatch) = admission::type_mismatch(&ctx, &patched) {
            return Err(ApiError::Invalid {
                kind: String::new(),
                group: String::new(),
                name: String::new(),
                causes: vec![validation::FieldError::invalid(
                    &validation::Path::new("patch"),
                    patch_doc.to_string(),
                    mismatch.to_string(),
                )],
            });
        }
        Ok(patched)
    })
    .await?;
    Ok(resp)
}

/// The read-modify-write loop of update and patch. `make` builds the new
/// object from the current one; `precondition` is a resourceVersion the
/// client demanded. Without one, a concurrent write just means another try.
pub(super) async fn write_loop(
    ctx: &Ctx,
    name: &str,
    target: Target,
    precondition: Option<i64>,
    mut make: impl FnMut(&Value) -> Result<Value, ApiError>,
) -> Result<Response<Body>, ApiError> {
    let key = ctx.key(name);
    let group = ctx.resource.group.clone();
    let kind = ctx.resource.kind.clone();
    for _ in 0..MAX_RETRIES {
        let kv = ctx.store().get(&key).ok_or_else(|| ctx.not_found(name))?;
        let current = ctx.decode(&kv)?;
        let mut new = make(&current)?;
        let demanded = match precondition {
            Some(rv) => Some(rv),
            None => new.resource_version().map(parse_rv).transpose()?,
        };
        if let Some(rv) = demanded
            && rv != kv.mod_revision {
                return Err(conflict(ctx, name));
            }
        check_namespace(ctx, &mut new)?;
        strategy::normalize(&ctx.resource, &mut new);
        match &ctx.custom {
            Some(custom) => custom.prune_and_default(&mut new),
            None if target == Target::Main => defaults::apply_defaults(&group, &kind, &mut new),
            None => {}
        }
        let requested = crate::managed_fields::requested(&new);
        strategy::prepare_for_update(&ctx.resource, &mut new, &current, target);
        crate::managed_fields::track_update(ctx, &current, &mut new, target, requested);
        let errs = match &ctx.custom {
            Some(custom) => custom.validate_update(&new, &current),
            None => validation::validate_update(&group, &kind, &new, &current),
        };
        if !errs.is_empty() {
            return Err(invalid(ctx, name, errs));
        }
        if target == Target::Main {
            admission::rbac_escalation(ctx, &new)?;
        }
        let admitted = admission::validate(ctx, &mut new, Some(&current), target).await?;
        let guard = if strategy::needs_allocation(&ctx.resource) {
            Some(ctx.server.inner.allocation.lock().await)
        } else {
            None
        };
        strategy::allocate(&ctx.server, &ctx.resource, &mut new, Some(&current))
            .map_err(|causes| invalid(ctx, name, causes))?;
        // Nothing changed: no write, no new resourceVersion (as Kubernetes).
        if same_object(&new, &current) {
            return with_warnings(object_response(ctx, StatusCode::OK, current), admitted.warnings());
        }
        if ctx.query.dry_run {
            return with_warnings(object_response(ctx, StatusCode::OK, new), admitted.warnings());
        }
        // The last finalizer of an object being deleted is gone: delete it.
        let finished = new.deletion_timestamp().is_some()
            && new.finalizers().is_empty()
            && !strategy::spec_finalizers_remain(&ctx.resource, &new);
        let result = if finished {
            ctx.store().delete(&key, Some(kv.mod_revision)).await
        } else {
            let bytes = ctx.encode(&new)?;
            ctx.store().update(&key, bytes, Some(kv.mod_revision)).await
        };
        drop(guard);
        match result {
            Ok(stored) => {
                let warnings = admitted.commit();
                if finished {
                    admission::after_delete(ctx, &current).await;
                }
                let obj = if finished {
                    meta_mut(&mut new).insert("resourceVersion".into(), Value::String(stored.mod_revision.to_string()));
                    new
                } else {
                    ctx.decode(&stored)?
                };
                return with_warnings(object_response(ctx, StatusCode::OK, obj), &warnings);
            }
            // Someone wrote in between: read again and rebuild. A
            // resourceVersion the client demanded (in the body or the
            // patch) no longer matches then and answers 409 above; one the
            // object merely carried from the read does not count.
            Err(store::StoreError::Conflict { .. }) => continue,
            Err(store::StoreError::NotFound { .. }) => return Err(ctx.not_found(name)),
            Err(e) => return Err(e.into()),
        }
    }
    Err(conflict(ctx, name))
}

/// The status of a patch that does not apply, as Kubernetes gives it.
pub(super) fn patch_error(e: patch::PatchError) -> ApiError {
    match e.status_code() {
        415 => ApiError::UnsupportedPatch(e.to_string()),
        413 => ApiError::TooLarge { limit: patch::MAX_JSON_PATCH_OPERATIONS },
        422 => ApiError::Unprocessable(e.to_string()),
        _ => ApiError::BadRequest(e.to_string()),
    }
}

fn conflict(ctx: &Ctx, name: &str) -> ApiError {
    ApiError::Conflict {
        what: ctx.qualified(),
        name: name.to_string(),
        detail: "the object has been modified; please apply your changes to the latest version and try again".into(),
    }
}

/// Equal but for the resourceVersion.
fn same_object(a: &Value, b: &Value) -> bool {
    let strip = |v: &Value| {
        let mut v = v.clone();
        meta_mut(&mut v).remove("resourceVersion");
        v
    };
    strip(a) == strip(b)
}
