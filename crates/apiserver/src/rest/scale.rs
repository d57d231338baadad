//! The `scale` subresource: an `autoscaling/v1 Scale` view of a workload's
//! `spec.replicas`, `status.replicas` and selector, or of the fields a
//! CRD's `scale` subresource names.

use super::{Ctx, parse_rv};
use crate::body::Body;
use crate::codec::{self, BodyFormat};
use crate::error::ApiError;
use apimachinery::object::{ObjectExt, meta_mut};
use apimachinery::selector::label::LabelSelector;
use apimachinery::{patch, validation};
use bytes::Bytes;
use http::{Response, StatusCode};
use serde_json::{Value, json};

const MAX_RETRIES: usize = 16;

/// Where an object keeps what its Scale shows.
struct ScalePaths {
    spec_replicas: String,
    status_replicas: String,
    selector: Selector,
}

enum Selector {
    /// A `LabelSelector` object (`spec.selector` of the workloads).
    Structured(String),
    /// A selector already in string form (a CRD's `labelSelectorPath`).
    Text(String),
    None,
}

/// `.spec.replicas` as a JSON pointer.
fn pointer(json_path: &str) -> String {
    json_path.split('.').filter(|s| !s.is_empty()).fold(String::new(), |p, s| format!("{p}/{s}"))
}

fn paths(ctx: &Ctx) -> ScalePaths {
    match ctx.custom.as_ref().and_then(|c| c.scale.as_ref()) {
        Some(scale) => ScalePaths {
            spec_replicas: pointer(&scale.spec_replicas_path),
            status_replicas: pointer(&scale.status_replicas_path),
            selector: scale.label_selector_path.as_deref().map_or(Selector::None, |p| Selector::Text(pointer(p))),
        },
        None => ScalePaths {
            spec_replicas: "/spec/replicas".into(),
            status_replicas: "/status/replicas".into(),
            selector: Selector::Structured("/spec/selector".into()),
        },
    }
}

/// Sets the value at a JSON pointer, making the objects on the way.
fn set_at(obj: &mut Value, pointer: &str, value: Value) {
    let mut at = obj;
    for part in pointer.split('/').skip(1) {
        if !at.is_object() {
            *at = json!({});
        }
        let Some(map) = at.as_object_mut() else { return };
        at = map.entry(part.to_string()).or_insert(Value::Null);
    }
    *at = value;
}

/// The Scale of an object.
fn scale_of(paths: &ScalePaths, obj: &Value) -> Value {
    let meta = obj.get("metadata").cloned().unwrap_or_else(|| json!({}));
    let selector = match &paths.selector {
        Selector::Structured(p) => obj
            .pointer(p)
            .and_then(|s| LabelSelector::from_json(s).ok())
            .map(|s| s.to_string())
            .unwrap_or_default(),
        Selector::Text(p) => obj.pointer(p).and_then(Value::as_str).unwrap_or_default().to_string(),
        Selector::None => String::new(),
    };
    let mut status = json!({
        "replicas": obj.pointer(&paths.status_replicas).and_then(Value::as_i64).unwrap_or(0),
    });
    if !selector.is_empty() {
        status["selector"] = json!(selector);
    }
    let mut scale = json!({
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            "name": meta.get("name"),
            "namespace": meta.get("namespace"),
            "uid": meta.get("uid"),
            "resourceVersion": meta.get("resourceVersion"),
            "creationTimestamp": meta.get("creationTimestamp"),
        },
        "spec": {"replicas": obj.pointer(&paths.spec_replicas).and_then(Value::as_i64).unwrap_or(0)},
        "status": status,
    });
    crate::managed_fields::scale_view(obj, &mut scale);
    scale
}

pub fn get(ctx: Ctx) -> Result<Response<Body>, ApiError> {
    let name = ctx.name()?;
    let kv = ctx.store().get(&ctx.key(name)).ok_or_else(|| ctx.not_found(name))?;
    let obj = ctx.decode(&kv)?;
    scale_response(&ctx, scale_of(&paths(&ctx), &obj))
}

fn scale_response(ctx: &Ctx, scale: Value) -> Result<Response<Body>, ApiError> {
    let _ = ctx;
    // The body is a Scale whatever the negotiated output: no printer exists
    // for Scale, as in Kubernetes.
    Ok(crate::body::json(StatusCode::OK, &scale))
}

pub async fn update(ctx: Ctx, body: Bytes) -> Result<Response<Body>, ApiError> {
    let format = codec::body_format(ctx.content_type.as_deref())?;
    let scale = codec::decode_object(&body, format)?;
    apply(ctx, |_| Ok(scale.clone())).await
}

pub async fn patch(ctx: Ctx, body: Bytes) -> Result<Response<Body>, ApiError> {
    let format = codec::body_format(ctx.content_type.as_deref())?;
    if format == BodyFormat::ApplyPatch {
        return super::scale_apply::apply(ctx, body).await;
    }
    let doc: Value = serde_json::from_slice(&body)
        .map_err(|e| ApiError::BadRequest(format!("error decoding patch as JSON: {e}")))?;
    apply(ctx, |current| {
        let r = match format {
            BodyFormat::JsonPatch => patch::apply_json_patch(current, &doc),
            BodyFormat::MergePatch | BodyFormat::StrategicMergePatch => patch::apply_merge_patch(current, &doc),
            _ => return Err(ApiError::UnsupportedMediaType),
        };
        r.map_err(super::write::patch_error)
    })
    .await
}

/// Reads the workload, builds the wanted Scale with `make`, and writes the
/// replicas back to the workload.
pub(super) async fn apply(ctx: Ctx, mut make: impl FnMut(&Value) -> Result<Value, ApiError>) -> Result<Response<Body>, ApiError> {
    let name = ctx.name()?.to_string();
    let key = ctx.key(&name);
    let paths = paths(&ctx);
    for _ in 0..MAX_RETRIES {
        let kv = ctx.store().get(&key).ok_or_else(|| ctx.not_found(&name))?;
        let mut obj = ctx.decode(&kv)?;
        let current_scale = scale_of(&paths, &obj);
        let wanted = make(&current_scale)?;
        let demanded = wanted.resource_version().map(parse_rv).transpose()?;
        if demanded.is_some_and(|rv| rv != kv.mod_revision) {
            return Err(ApiError::Conflict {
                what: ctx.qualified(),
                name: name.clone(),
                detail: "the object has been modified; please apply your changes to the latest version and try again".into(),
            });
        }
        let replicas = wanted.pointer("/spec/replicas").cloned().unwrap_or(Value::from(0));
        let Some(n) = replicas.as_i64().filter(|n| *n >= 0 && *n <= i64::from(i32::MAX)) else {
            return Err(ApiError::Invalid {
                kind: "Scale".into(),
                group: "autoscaling".into(),
                name: name.clone(),
                causes: vec![validation::FieldError::invalid(&validation::Path::new("spec").child("replicas"), replicas, "must be greater than or equal to 0")],
            });
        };
        if obj.pointer(&paths.spec_replicas).and_then(Value::as_i64) == Some(n) {
            return scale_response(&ctx, current_scale);
        }
        let live = obj.clone();
        set_at(&mut obj, &paths.spec_replicas, Value::from(n));
        crate::managed_fields::track_scale(&ctx, &live, &mut obj, &wanted);
        let generation = obj.pointer("/metadata/generation").and_then(Value::as_i64).unwrap_or(0);
        meta_mut(&mut obj).insert("generation".into(), Value::from(generation + 1));
        if ctx.query.dry_run {
            return scale_response(&ctx, scale_of(&paths, &obj));
        }
        let bytes = ctx.encode(&obj)?;
        match ctx.store().update(&key, bytes, Some(kv.mod_revision)).await {
            Ok(stored) => return scale_response(&ctx, scale_of(&paths, &ctx.decode(&stored)?)),
            // Written in between: read again; a demanded resourceVersion
            // then fails the check above.
            Err(store::StoreError::Conflict { .. }) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::Internal("too many concurrent writes to scale".into()))
}
