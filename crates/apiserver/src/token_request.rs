//! `serviceaccounts/<name>/token` (TokenRequest): a signed, expiring token
//! for a ServiceAccount, optionally bound to a Pod, Secret or Node so it
//! dies with that object, as `kubectl create token` asks for.

use crate::authn::{BoundExtras, BoundObject, ObjectRef, TokenRequestSpec};
use crate::body::{self, Body};
use crate::codec;
use crate::error::{ApiError, Qualified};
use crate::rest::Ctx;
use apimachinery::object::ObjectExt;
use apimachinery::validation::{FieldError, Path};
use bytes::Bytes;
use http::{Response, StatusCode};
use serde_json::{Value, json};

/// Kubernetes refuses shorter tokens, and longer than 2^32 seconds.
const MIN_EXPIRATION_SECONDS: i64 = 600;
const MAX_EXPIRATION_SECONDS: i64 = 1 << 32;
const DEFAULT_EXPIRATION_SECONDS: i64 = 3600;

pub async fn create(ctx: Ctx, body: Bytes) -> Result<Response<Body>, ApiError> {
    let name = ctx.name()?.to_string();
    let namespace = ctx.namespace().unwrap_or_default().to_string();
    let keys = ctx
        .server
        .inner
        .sa_keys
        .as_ref()
        .ok_or_else(|| ApiError::Internal("this server issues no service account tokens".into()))?;
    let sa_kv = ctx.store().get(&ctx.key(&name)).ok_or_else(|| ctx.not_found(&name))?;
    let sa = ctx.decode(&sa_kv)?;
    let format = codec::body_format(ctx.content_type.as_deref())?;
    let mut req = codec::decode_object(&body, format)?;
    let spec = req.get("spec").cloned().unwrap_or_else(|| json!({}));
    let expiration = spec.get("expirationSeconds").and_then(Value::as_i64).unwrap_or(DEFAULT_EXPIRATION_SECONDS);
    let invalid = |field: &str, value: Value, detail: &str| ApiError::Invalid {
        kind: "TokenRequest".into(),
        group: "authentication.k8s.io".into(),
        name: name.clone(),
        causes: vec![FieldError::invalid(&Path::new("spec").child(field), value, detail)],
    };
    if expiration < MIN_EXPIRATION_SECONDS {
        return Err(invalid("expirationSeconds", json!(expiration), "may not specify a duration less than 10 minutes"));
    }
    if expiration > MAX_EXPIRATION_SECONDS {
        return Err(invalid("expirationSeconds", json!(expiration), "may not specify a duration larger than 2^32 seconds"));
    }
    let audiences: Vec<String> = spec
        .get("audiences")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
        .filter(|a: &Vec<String>| !a.is_empty())
        .unwrap_or_else(|| vec![crate::authn::API_AUDIENCE.to_string()]);
    let mut extras = BoundExtras::default();
    let bound = match spec.get("boundObjectRef").filter(|r| !r.is_null()) {
        Some(r) => Some(bound_object(&ctx, r, &namespace, &mut extras)?),
        None => None,
    };
    let (token, expires) = keys
        .issue_bound_with(
            &TokenRequestSpec {
                namespace: namespace.clone(),
                sa_name: name.clone(),
                sa_uid: sa.uid().unwrap_or_default().to_string(),
                audiences: audiences.clone(),
                expiration_seconds: expiration,
                bound,
            },
            &extras,
        )
        .map_err(|e| ApiError::Internal(format!("signing the token: {e}")))?;
    req["apiVersion"] = json!("authentication.k8s.io/v1");
    req["kind"] = json!("TokenRequest");
    req["metadata"] = json!({"name": name, "namespace": namespace, "creationTimestamp": null});
    req["spec"]["audiences"] = json!(audiences);
    req["spec"]["expirationSeconds"] = json!(expiration);
    if req["spec"].get("boundObjectRef").is_none() {
        req["spec"]["boundObjectRef"] = Value::Null;
    }
    req["status"] = json!({"token": token, "expirationTimestamp": expires});
    Ok(body::json(StatusCode::CREATED, &req))
}

/// The object `spec.boundObjectRef` names, which must exist (with the uid
/// given, if any); for a Pod, also the node it runs on, which the token
/// records.
fn bound_object(ctx: &Ctx, r: &Value, namespace: &str, extras: &mut BoundExtras) -> Result<BoundObject, ApiError> {
    let text = |f: &str| r.get(f).and_then(Value::as_str).unwrap_or_default().to_string();
    let (kind, bound_name) = (text("kind"), text("name"));
    let (resource, key) = match kind.as_str() {
        "Pod" => ("pods", format!("/registry/core/pods/{namespace}/{bound_name}")),
        "Secret" => ("secrets", format!("/registry/core/secrets/{namespace}/{bound_name}")),
        "Node" => ("nodes", format!("/registry/core/nodes/{bound_name}")),
        other => {
            return Err(ApiError::BadRequest(format!("cannot bind token for object of kind {other:?}")));
        }
    };
    let what = Qualified { group: String::new(), plural: resource.into() };
    let obj: Value = ctx
        .store()
        .get(&key)
        .and_then(|kv| serde_json::from_slice(&kv.value).ok())
        .ok_or_else(|| ApiError::NotFound { what: what.clone(), name: bound_name.clone() })?;
    let uid = obj.uid().unwrap_or_default().to_string();
    let wanted = text("uid");
    if !wanted.is_empty() && wanted != uid {
        return Err(ApiError::Conflict {
            what,
            name: bound_name,
            detail: format!(
                "the UID in the bound object reference ({wanted}) does not match the UID in record. The object might have been deleted and then recreated"
            ),
        });
    }
    if kind == "Pod"
        && let Some(node) = obj.pointer("/spec/nodeName").and_then(Value::as_str).filter(|n| !n.is_empty())
    {
        let node_uid = ctx
            .store()
            .get(&format!("/registry/core/nodes/{node}"))
            .and_then(|kv| serde_json::from_slice::<Value>(&kv.value).ok())
            .and_then(|n| n.uid().map(str::to_string))
            .unwrap_or_default();
        extras.node = Some(ObjectRef { name: node.to_string(), uid: node_uid });
    }
    Ok(BoundObject { kind, name: bound_name, uid })
}
