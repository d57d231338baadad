//! delete and deletecollection: preconditions, finalizers (an object with
//! finalizers is only marked with a `deletionTimestamp`), propagation
//! policies, and dry runs.

use super::output::{list_response, object_response};
use super::read::Selectors;
use super::Ctx;
use crate::body::Body;
use crate::codec::{self, BodyFormat};
use crate::error::ApiError;
use apimachinery::object::{ObjectExt, meta_mut, now_string};
use bytes::Bytes;
use http::{Response, StatusCode};
use serde_json::{Map, Value};

const MAX_RETRIES: usize = 16;

/// The parts of `DeleteOptions` the server acts on.
#[derive(Debug, Default)]
struct DeleteOptions {
    uid: Option<String>,
    resource_version: Option<String>,
    propagation: Option<String>,
    dry_run: bool,
}

fn parse_options(ctx: &Ctx, body: &Bytes) -> Result<DeleteOptions, ApiError> {
    let mut opts = DeleteOptions {
        propagation: ctx.query.propagation_policy.clone(),
        dry_run: ctx.query.dry_run,
        ..Default::default()
    };
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(opts);
    }
    let format = codec::body_format(ctx.content_type.as_deref())?;
    let doc = match format {
        BodyFormat::Json | BodyFormat::Yaml | BodyFormat::Protobuf => codec::decode_object(body, format)?,
        _ => return Err(ApiError::UnsupportedMediaType),
    };
    if let Some(p) = doc.get("preconditions") {
        opts.uid = p.get("uid").and_then(Value::as_str).map(str::to_string);
        opts.resource_version = p.get("resourceVersion").and_then(Value::as_str).map(str::to_string);
    }
    if let Some(p) = doc.get("propagationPolicy").and_then(Value::as_str) {
        opts.propagation = Some(p.to_string());
    }
    if doc.get("orphanDependents").and_then(Value::as_bool) == Some(true) && opts.propagation.is_none() {
        opts.propagation = Some("Orphan".into());
    }
    if let Some(d) = doc.get("dryRun").and_then(Value::as_array) {
        opts.dry_run |= d.iter().any(|v| v == "All");
    }
    match opts.propagation.as_deref() {
        None | Some("Orphan" | "Background" | "Foreground") => Ok(opts),
        Some(other) => Err(ApiError::BadRequest(format!(
            "propagationPolicy: Unsupported value: {other:?}: supported values: \"Foreground\", \"Background\", \"Orphan\""
        ))),
    }
}

pub async fn delete(ctx: Ctx, body: Bytes) -> Result<Response<Body>, ApiError> {
    let name = ctx.name()?.to_string();
    let opts = parse_options(&ctx, &body)?;
    let obj = delete_one(&ctx, &name, &opts).await?;
    object_response(&ctx, StatusCode::OK, obj)
}

/// Deletes or marks one object; returns what the client sees afterwards.
async fn delete_one(ctx: &Ctx, name: &str, opts: &DeleteOptions) -> Result<Value, ApiError> {
    let key = ctx.key(name);
    for _ in 0..MAX_RETRIES {
        let kv = ctx.store().get(&key).ok_or_else(|| ctx.not_found(name))?;
        let current = ctx.decode(&kv)?;
        check_preconditions(ctx, name, &current, opts)?;
        let mut marked = current.clone();
        let graceful = mark_for_deletion(ctx, &mut marked, opts);
        if graceful {
            if marked == current || opts.dry_run {
                return Ok(marked);
            }
            let bytes = ctx.encode(&marked)?;
            match ctx.store().update(&key, bytes, Some(kv.mod_revision)).await {
                Ok(stored) => return ctx.decode(&stored),
                Err(store::StoreError::Conflict { .. }) => continue,
                Err(store::StoreError::NotFound { .. }) => return Err(ctx.not_found(name)),
                Err(e) => return Err(e.into()),
            }
        }
        if opts.dry_run {
            return Ok(current);
        }
        match ctx.store().delete(&key, Some(kv.mod_revision)).await {
            Ok(_) => {
                crate::admission::after_delete(ctx, &current).await;
                return Ok(current);
            }
            Err(store::StoreError::Conflict { .. }) => continue,
            Err(store::StoreError::NotFound { .. }) => return Err(ctx.not_found(name)),
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::Conflict {
        what: ctx.qualified(),
        name: name.to_string(),
        detail: "the object is being modified too often to delete it; try again".into(),
    })
}

fn check_preconditions(ctx: &Ctx, name: &str, obj: &Value, opts: &DeleteOptions) -> Result<(), ApiError> {
    let conflict = |detail: String| ApiError::Conflict { what: ctx.qualified(), name: name.to_string(), detail };
    if let Some(uid) = &opts.uid {
        let actual = obj.uid().unwrap_or_default();
        if uid != actual {
            return Err(conflict(format!(
                "Precondition failed: UID in precondition: {uid}, UID in object meta: {actual}"
            )));
        }
    }
    if let Some(rv) = &opts.resource_version {
        let actual = obj.resource_version().unwrap_or_default();
        if rv != actual {
            return Err(conflict(format!(
                "Precondition failed: ResourceVersion in precondition: {rv}, ResourceVersion in object meta: {actual}"
            )));
        }
    }
    Ok(())
}

/// Applies deletion to an object that cannot go at once; returns whether it
/// stays (marked) rather than being removed now.
///
/// Namespaces always stay until their `kubernetes` finalizer is removed;
/// objects with finalizers stay until those are removed; `Foreground` adds
/// the `foregroundDeletion` finalizer for the garbage collector. `Orphan`
/// needs the garbage collector to orphan dependents; until the controllers
/// run in this process it deletes at once (dependents are never collected
/// anyway without a collector).
fn mark_for_deletion(ctx: &Ctx, obj: &mut Value, opts: &DeleteOptions) -> bool {
    let is_namespace = ctx.resource.group.is_empty() && ctx.resource.plural == "namespaces";
    let mut finalizers: Vec<String> = obj.finalizers().into_iter().map(str::to_string).collect();
    if opts.propagation.as_deref() == Some("Foreground") && !finalizers.iter().any(|f| f == "foregroundDeletion") {
        finalizers.push("foregroundDeletion".into());
    }
    // A CRD goes only after its objects, which the custom resource
    // controller deletes before it removes this finalizer.
    let cleanup = crate::custom_resources::CLEANUP_FINALIZER;
    if ctx.resource.group == "apiextensions.k8s.io" && !finalizers.iter().any(|f| f == cleanup) {
        finalizers.push(cleanup.into());
    }
    if finalizers.is_empty() && !is_namespace {
        return false;
    }
    let already = obj.deletion_timestamp().is_some();
    let meta = meta_mut(obj);
    if !finalizers.is_empty() {
        meta.insert("finalizers".into(), Value::from(finalizers));
    }
    if !already {
        meta.insert("deletionTimestamp".into(), Value::String(now_string()));
        meta.insert("deletionGracePeriodSeconds".into(), Value::from(0));
    }
    if is_namespace {
        obj["status"]["phase"] = Value::String("Terminating".into());
    }
    true
}

pub async fn delete_collection(ctx: Ctx, body: Bytes) -> Result<Response<Body>, ApiError> {
    let opts = parse_options(&ctx, &body)?;
    let selectors = Selectors::from_ctx(&ctx)?;
    let prefix = ctx.resource.namespace_prefix(ctx.namespace());
    let listed = ctx.store().list(&prefix, store::ListOptions::default())?;
    let mut deleted = Vec::new();
    for kv in &listed.items {
        let obj = ctx.decode(kv)?;
        if !selectors.matches(&ctx.resource.group, &ctx.resource.kind, &obj) {
            continue;
        }
        let Some(name) = obj.name().map(str::to_string) else { continue };
        match delete_one(&ctx, &name, &opts).await {
            Ok(o) => deleted.push(o),
            Err(ApiError::NotFound { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    let mut meta = Map::new();
    meta.insert("resourceVersion".into(), Value::String(ctx.store().current_revision().to_string()));
    list_response(&ctx, deleted, meta)
}
