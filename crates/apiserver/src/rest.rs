//! The REST verbs on resources: get, list, watch, create, update, patch,
//! delete and deletecollection, and the `status`, `scale`, `finalize` and
//! `binding` subresources. Handlers share [`Ctx`]; object encoding lives here so every
//! handler stores and reads objects the same way.

mod binding;
mod continue_token;
mod delete;
mod output;
mod raw_event;
mod read;
mod apply;
mod scale;
mod scale_apply;
mod watch;
mod write;

use crate::body::Body;
use crate::codec::Output;
use crate::error::{ApiError, Qualified};
use crate::query::Query;
use crate::request_info::{ResourceRequest, Verb};
use crate::server::ApiServer;
use apimachinery::conversion;
use apimachinery::object::meta_mut;
use apimachinery::registry::Resource;
use bytes::Bytes;
use http::Response;
use serde_json::Value;
use std::sync::Arc;


/// Everything a handler needs about the request it serves.
pub(crate) struct Ctx {
    pub server: ApiServer,
    pub resource: Arc<Resource>,
    pub req: ResourceRequest,
    pub query: Query,
    pub output: Output,
    pub content_type: Option<String>,
    /// Who is asking (after impersonation).
    pub user: Option<crate::auth::User>,
    /// The CRD version serving this resource, for custom resources.
    pub custom: Option<Arc<crate::custom_resources::CustomVersion>>,
    /// The `User-Agent` header: the default field manager is its prefix.
    pub user_agent: Option<String>,
}

/// Which part of an object a write replaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Target {
    /// The object without its status.
    Main,
    /// Only `status` (the `status` subresource).
    Status,
    /// Only `spec.finalizers` of a Namespace (the `finalize` subresource).
    Finalize,
}

impl Ctx {
    pub fn store(&self) -> &store::Store {
        &self.server.inner.store
    }

    pub fn qualified(&self) -> Qualified {
        Qualified::of(&self.resource)
    }

    pub fn namespace(&self) -> Option<&str> {
        if self.resource.namespaced { self.req.namespace.as_deref() } else { None }
    }

    pub fn key(&self, name: &str) -> String {
        self.resource.key(self.namespace(), name)
    }

    pub fn not_found(&self, name: &str) -> ApiError {
        ApiError::NotFound { what: self.qualified(), name: name.to_string() }
    }

    pub fn name(&self) -> Result<&str, ApiError> {
        self.req.name.as_deref().ok_or(ApiError::MethodNotAllowed)
    }

    /// A stored object in the form this resource serves.
    pub fn decode(&self, kv: &store::KeyValue) -> Result<Value, ApiError> {
        let obj = decode_stored(kv)?;
        Ok(match &self.custom {
            Some(custom) => custom.served_form(obj),
            None => conversion::from_storage(&self.resource.group, &self.resource.kind, obj),
        })
    }

    /// The stored form of an object of this resource.
    pub fn encode(&self, obj: &Value) -> Result<Bytes, ApiError> {
        let stored = match &self.custom {
            Some(custom) => custom.stored_form(obj.clone()),
            None => conversion::to_storage(&self.resource.group, &self.resource.kind, obj.clone()),
        };
        encode_for_store(&stored)
    }
}

pub(crate) async fn serve(ctx: Ctx, body: Bytes) -> Result<Response<Body>, ApiError> {
    let is_crd_write = ctx.resource.group == "apiextensions.k8s.io"
        && ctx.resource.plural == "customresourcedefinitions"
        && !matches!(ctx.req.verb, Verb::Get | Verb::List | Verb::Watch);
    let server = ctx.server.clone();
    let resp = serve_resource(ctx, body).await;
    // A CRD write is answered once its resource is served (or unserved),
    // rather than leaving clients to race the controller.
    if is_crd_write
        && resp.is_ok()
        && let Err(e) = crate::custom_resources::reconcile(&server).await
    {
        tracing::warn!(error = %e, "custom resource reconcile after a CRD write failed");
    }
    resp
}

async fn serve_resource(ctx: Ctx, body: Bytes) -> Result<Response<Body>, ApiError> {
    if ctx.resource.create_only {
        return match (ctx.req.verb, &ctx.req.subresource) {
            (Verb::Create, None) => {
                let user = ctx.user.clone();
                crate::reviews::create(ctx, body, user.as_ref()).await
            }
            _ => Err(ApiError::MethodNotAllowed),
        };
    }
    if ctx.resource.read_only {
        return Err(ApiError::MethodNotAllowed);
    }
    crate::managed_fields::validate_options(&ctx)?;
    let subs = ctx.resource.subresources;
    match (ctx.req.verb, ctx.req.subresource.as_deref()) {
        (Verb::Get, None | Some("status")) => read::get(ctx),
        (Verb::List, None) => read::list(ctx).await,
        (Verb::Watch, None) => watch::watch(ctx),
        (Verb::Create, None) => write::create(ctx, body).await,
        (Verb::Update, None) => write::update(ctx, body, Target::Main).await,
        (Verb::Patch, None) => write::patch(ctx, body, Target::Main).await,
        (Verb::Delete, None) => delete::delete(ctx, body).await,
        (Verb::DeleteCollection, None) => delete::delete_collection(ctx, body).await,
        (Verb::Update, Some("status")) if subs.status => write::update(ctx, body, Target::Status).await,
        (Verb::Patch, Some("status")) if subs.status => write::patch(ctx, body, Target::Status).await,
        (Verb::Update, Some("finalize")) if ctx.resource.group.is_empty() && ctx.resource.plural == "namespaces" => {
            write::update(ctx, body, Target::Finalize).await
        }
        (Verb::Create, Some("token")) if ctx.resource.group.is_empty() && ctx.resource.plural == "serviceaccounts" => {
            crate::token_request::create(ctx, body).await
        }
        (Verb::Create, Some("binding")) if is_pods(&ctx) => binding::create(ctx, body).await,
        (Verb::Get, Some("scale")) if subs.scale => scale::get(ctx),
        (Verb::Update, Some("scale")) if subs.scale => scale::update(ctx, body).await,
        (Verb::Patch, Some("scale")) if subs.scale => scale::patch(ctx, body).await,
        (_, Some(s)) if is_known_subresource(&ctx, s) => Err(ApiError::MethodNotAllowed),
        (_, Some(_)) => Err(ApiError::UnknownPath),
    }
}

fn is_pods(ctx: &Ctx) -> bool {
    ctx.resource.group.is_empty() && ctx.resource.plural == "pods"
}

fn is_known_subresource(ctx: &Ctx, s: &str) -> bool {
    let subs = ctx.resource.subresources;
    (s == "status" && subs.status) || (s == "scale" && subs.scale) || (s == "binding" && is_pods(ctx))
}

/// Reads a stored object and stamps its `resourceVersion` from the store.
pub(crate) fn decode_stored(kv: &store::KeyValue) -> Result<Value, ApiError> {
    let mut obj: Value = serde_json::from_slice(&kv.value)
        .map_err(|e| ApiError::Internal(format!("stored object {} is not valid JSON: {e}", kv.key)))?;
    meta_mut(&mut obj).insert("resourceVersion".into(), Value::String(kv.mod_revision.to_string()));
    Ok(obj)
}

/// Serializes an object for the store; the `resourceVersion` is not stored
/// because the store's revision is the truth.
pub(crate) fn encode_for_store(obj: &Value) -> Result<Bytes, ApiError> {
    let mut obj = obj.clone();
    meta_mut(&mut obj).remove("resourceVersion");
    let bytes = serde_json::to_vec(&obj).map_err(|e| ApiError::Internal(format!("cannot encode object: {e}")))?;
    // The store keeps these bytes (current values and the watch history),
    // so they are copied into an allocation of their size: the growing
    // Vec's spare capacity was up to half of it, and allocators may keep
    // the whole block when shrinking in place.
    Ok(Bytes::copy_from_slice(&bytes))
}

/// Parses a `resourceVersion` a client sent.
pub(crate) fn parse_rv(rv: &str) -> Result<i64, ApiError> {
    rv.parse::<i64>()
        .ok()
        .filter(|n| *n >= 0)
        .ok_or_else(|| ApiError::BadRequest(format!("invalid resource version: {rv:?}")))
}
