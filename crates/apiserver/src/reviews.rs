//! The review resources: TokenReview and SelfSubjectReview
//! (authentication.k8s.io), and SubjectAccessReview,
//! SelfSubjectAccessReview, LocalSubjectAccessReview and
//! SelfSubjectRulesReview (authorization.k8s.io). Each create answers with
//! the request and its `status`; nothing is stored.

use crate::auth::User;
use crate::authz::{self, Attributes, Decision};
use crate::body::{self, Body};
use crate::codec;
use crate::error::ApiError;
use crate::rest::Ctx;
use bytes::Bytes;
use http::{Response, StatusCode};
use serde_json::{Map, Value, json};

pub async fn create(ctx: Ctx, body: Bytes, user: Option<&User>) -> Result<Response<Body>, ApiError> {
    let format = codec::body_format(ctx.content_type.as_deref())?;
    let mut obj = codec::decode_object(&body, format)?;
    obj["apiVersion"] = json!(ctx.resource.api_version());
    obj["kind"] = json!(ctx.resource.kind);
    let requester = user.cloned().unwrap_or_default();
    let status = match ctx.resource.kind.as_str() {
        "TokenReview" => token_review(&ctx, &obj).await,
        "SelfSubjectReview" => Ok(json!({"userInfo": user_info(&requester)})),
        "SelfSubjectAccessReview" => access_review(&ctx, &obj, requester.clone(), None),
        "SubjectAccessReview" => access_review(&ctx, &obj, subject_user(&obj), None),
        "LocalSubjectAccessReview" => access_review(&ctx, &obj, subject_user(&obj), ctx.req.namespace.clone()),
        "SelfSubjectRulesReview" => rules_review(&ctx, &obj, &requester),
        other => Err(ApiError::Internal(format!("no review handler for {other}"))),
    }?;
    obj["status"] = status;
    let meta = obj.get("metadata").cloned().unwrap_or_else(|| json!({}));
    let mut meta = meta.as_object().cloned().unwrap_or_default();
    meta.insert("creationTimestamp".into(), Value::Null);
    obj["metadata"] = Value::Object(meta);
    Ok(body::json(StatusCode::CREATED, &obj))
}

fn user_info(u: &User) -> Value {
    let mut info = json!({"username": u.name, "groups": u.groups});
    if !u.uid.is_empty() {
        info["uid"] = json!(u.uid);
    }
    if !u.extra.is_empty() {
        info["extra"] = json!(u.extra);
    }
    info
}

/// The user a SubjectAccessReview asks about.
fn subject_user(obj: &Value) -> User {
    let spec = obj.get("spec").cloned().unwrap_or_default();
    User {
        name: spec.get("user").and_then(Value::as_str).unwrap_or_default().to_string(),
        uid: spec.get("uid").and_then(Value::as_str).unwrap_or_default().to_string(),
        groups: spec
            .get("groups")
            .and_then(Value::as_array)
            .map(|g| g.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
            .unwrap_or_default(),
        extra: spec
            .get("extra")
            .and_then(|e| serde_json::from_value(e.clone()).ok())
            .unwrap_or_default(),
    }
}

async fn token_review(ctx: &Ctx, obj: &Value) -> Result<Value, ApiError> {
    let token = obj.pointer("/spec/token").and_then(Value::as_str).unwrap_or_default();
    if token.is_empty() {
        return Err(ApiError::BadRequest("token must be specified".into()));
    }
    let audiences: Vec<String> = obj
        .pointer("/spec/audiences")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
        .unwrap_or_default();
    match ctx.server.authenticate_token(token, &audiences) {
        Ok(found) => {
            Ok(json!({"authenticated": true, "user": user_info(&found.user), "audiences": found.audiences}))
        }
        // A token no authenticator recognises is simply not authenticated;
        // one that is ours but no longer good says why.
        Err(e) if e.is_unrecognized() => Ok(json!({"authenticated": false, "user": {}})),
        Err(e) => Ok(json!({"authenticated": false, "user": {}, "error": e.to_string()})),
    }
}

fn attributes_of(spec: &Value, user: User, namespace_override: Option<String>) -> Result<Attributes, ApiError> {
    if let Some(ra) = spec.get("resourceAttributes") {
        let s = |f: &str| ra.get(f).and_then(Value::as_str).unwrap_or_default().to_string();
        let namespace = namespace_override.or_else(|| Some(s("namespace")).filter(|n| !n.is_empty()));
        return Ok(Attributes {
            user,
            verb: s("verb"),
            namespace,
            api_group: s("group"),
            resource: s("resource"),
            subresource: s("subresource"),
            name: s("name"),
            path: String::new(),
            resource_request: true,
        });
    }
    if let Some(nra) = spec.get("nonResourceAttributes") {
        let s = |f: &str| nra.get(f).and_then(Value::as_str).unwrap_or_default().to_string();
        return Ok(Attributes {
            user,
            verb: s("verb"),
            namespace: None,
            api_group: String::new(),
            resource: String::new(),
            subresource: String::new(),
            name: String::new(),
            path: s("path"),
            resource_request: false,
        });
    }
    Err(ApiError::Invalid {
        kind: "SubjectAccessReview".into(),
        group: "authorization.k8s.io".into(),
        name: String::new(),
        causes: vec![apimachinery::validation::FieldError::required(
            &apimachinery::validation::Path::new("spec").child("resourceAttributes"),
            "exactly one of nonResourceAttributes or resourceAttributes must be specified",
        )],
    })
}

fn access_review(ctx: &Ctx, obj: &Value, user: User, namespace: Option<String>) -> Result<Value, ApiError> {
    let spec = obj.get("spec").cloned().unwrap_or_default();
    if ctx.resource.kind == "LocalSubjectAccessReview" {
        let asked = spec.pointer("/resourceAttributes/namespace").and_then(Value::as_str).unwrap_or_default();
        if asked != namespace.as_deref().unwrap_or_default() {
            return Err(ApiError::BadRequest(format!(
                "spec.resourceAttributes.namespace must match namespace: {}",
                namespace.unwrap_or_default()
            )));
        }
    }
    let attrs = attributes_of(&spec, user, namespace)?;
    let rbac = ctx.server.inner.rbac.snapshot();
    Ok(match authz::authorize(&*rbac, &attrs) {
        Decision::Allow { reason } => json!({"allowed": true, "reason": reason}),
        Decision::Deny { reason } => {
            let mut s = Map::new();
            s.insert("allowed".into(), json!(false));
            if !reason.is_empty() {
                s.insert("reason".into(), json!(reason));
            }
            Value::Object(s)
        }
    })
}

fn rules_review(ctx: &Ctx, obj: &Value, user: &User) -> Result<Value, ApiError> {
    let namespace = obj.pointer("/spec/namespace").and_then(Value::as_str).unwrap_or_default();
    let rbac = ctx.server.inner.rbac.snapshot();
    let review = authz::rules_review(&*rbac, user, namespace);
    let mut status = json!({
        "resourceRules": review.resource_rules,
        "nonResourceRules": review.non_resource_rules,
        "incomplete": review.incomplete,
    });
    if let Some(e) = review.evaluation_error {
        status["evaluationError"] = json!(e);
    }
    Ok(status)
}
