//! get and list: reads served from the store's in-memory cache, lists
//! filtered by label and field selectors and paginated at one revision.

use super::continue_token::ContinueToken;
use super::output::{list_response, object_response};
use super::raw_event::{self, Splice, splice_form};
use super::{Ctx, parse_rv};
use crate::body::Body;
use crate::codec::Output;
use crate::error::ApiError;
use crate::query::RvMatch;
use apimachinery::object::ObjectExt;
use apimachinery::selector::field::{self, FieldSelector};
use apimachinery::selector::label::LabelSelector;
use http::{Response, StatusCode};
use serde_json::{Map, Value};

pub fn get(ctx: Ctx) -> Result<Response<Body>, ApiError> {
    let name = ctx.name()?;
    let kv = ctx.store().get(&ctx.key(name)).ok_or_else(|| ctx.not_found(name))?;
    let obj = ctx.decode(&kv)?;
    object_response(&ctx, StatusCode::OK, obj)
}

/// The label and field selectors of a list or watch, parsed and checked
/// against the fields the kind supports.
pub struct Selectors {
    pub label: Option<LabelSelector>,
    pub field: Option<FieldSelector>,
}

impl Selectors {
    pub fn from_ctx(ctx: &Ctx) -> Result<Selectors, ApiError> {
        let label = match &ctx.query.label_selector {
            Some(s) => Some(LabelSelector::parse(s).map_err(|e| ApiError::BadRequest(e.to_string()))?),
            None => None,
        };
        let field = match &ctx.query.field_selector {
            Some(s) => {
                let sel = FieldSelector::parse(s).map_err(|e| ApiError::BadRequest(e.to_string()))?;
                // Checks each field against the kind and rewrites aliases
                // (`spec.host` is `spec.nodeName`), with Kubernetes' messages.
                let sel = sel
                    .convert(&ctx.resource.group, &ctx.resource.kind)
                    .map_err(|e| ApiError::BadRequest(e.to_string()))?;
                Some(sel)
            }
            None => None,
        };
        Ok(Selectors { label, field })
    }

    pub fn is_empty(&self) -> bool {
        self.label.is_none() && self.field.is_none()
    }

    pub fn matches(&self, group: &str, kind: &str, obj: &Value) -> bool {
        if let Some(l) = &self.label
            && !l.matches(obj.labels()) {
                return false;
            }
        if let Some(f) = &self.field {
            let fields = field::selectable_fields(group, kind, obj);
            if !f.matches(&fields) {
                return false;
            }
        }
        true
    }
}

pub async fn list(ctx: Ctx) -> Result<Response<Body>, ApiError> {
    let selectors = Selectors::from_ctx(&ctx)?;
    let store = ctx.store();
    let (at_revision, start_after) = match &ctx.query.continue_token {
        Some(token) => {
            if ctx.query.resource_version.is_some() {
                return Err(ApiError::BadRequest(
                    "specifying resource version is not allowed when using continue".into(),
                ));
            }
            let t = ContinueToken::decode(token)?;
            (Some(t.rv), Some(t.start))
        }
        None => match ctx.query.resource_version.as_deref() {
            None | Some("0") => (None, None),
            Some(rv) => {
                let rv = parse_rv(rv)?;
                match ctx.query.resource_version_match {
                    Some(RvMatch::Exact) => (Some(rv), None),
                    _ => {
                        wait_for_revision(store, rv).await?;
                        (None, None)
                    }
                }
            }
        },
    };
    let prefix = ctx.resource.namespace_prefix(ctx.namespace());
    let listed = store
        .list(&prefix, store::ListOptions { at_revision, start_after: start_after.clone(), limit: None })
        .map_err(|e| match (e, &ctx.query.continue_token) {
            (store::StoreError::Compacted { .. }, Some(_)) => ApiError::ContinueExpired,
            (e, _) => ApiError::from(e),
        })?;
    let limit = ctx.query.limit.filter(|_| ctx.query.resource_version.as_deref() != Some("0"));
    if ctx.output == Output::Json
        && splice_form(&ctx, &selectors) == Some(Splice::Object)
        && let Some(body) = spliced_list(&ctx, &selectors, &listed, limit)
    {
        return Ok(body);
    }
    let mut items = Vec::new();
    let mut last_key = None;
    let mut remaining = 0usize;
    let mut more = false;
    for kv in &listed.items {
        if more {
            remaining += 1;
            continue;
        }
        let obj = ctx.decode(kv)?;
        if !selectors.matches(&ctx.resource.group, &ctx.resource.kind, &obj) {
            continue;
        }
        if limit.is_some_and(|l| items.len() >= l) {
            more = true;
            remaining += 1;
            continue;
        }
        last_key = Some(kv.key.clone());
        items.push(obj);
    }
    let mut meta = Map::new();
    meta.insert("resourceVersion".into(), Value::String(listed.revision.to_string()));
    if more
        && let Some(k) = last_key {
            meta.insert("continue".into(), Value::String(ContinueToken::new(listed.revision, k).encode()));
            if selectors.is_empty() {
                meta.insert("remainingItemCount".into(), Value::from(remaining));
            }
        }
    list_response(&ctx, items, meta)
}

/// The JSON list assembled from the stored bytes of its items (see
/// `raw_event`), as the decoding path would write it; `None` if an item
/// cannot be spliced, and the caller decodes instead.
fn spliced_list(ctx: &Ctx, selectors: &Selectors, listed: &store::ListResult, limit: Option<usize>) -> Option<Response<Body>> {
    let parsed: Vec<(raw_event::Stored, &store::KeyValue)> =
        listed.items.iter().map(|kv| Some((raw_event::Stored::parse(&kv.value)?, kv))).collect::<Option<_>>()?;
    let matches = |s: &raw_event::Stored| selectors.label.as_ref().is_none_or(|l| l.matches(s.labels().as_ref()));
    let mut items = Vec::with_capacity(parsed.iter().map(|(s, _)| s.len()).sum::<usize>() + 2);
    let (mut count, mut remaining, mut last_key) = (0usize, 0usize, None);
    for (stored, kv) in &parsed {
        if !matches(stored) {
            continue;
        }
        if limit.is_some_and(|l| count >= l) {
            remaining += 1;
            continue;
        }
        items.push(if count == 0 { b'[' } else { b',' });
        stored.push_object(&mut items, kv.mod_revision);
        last_key = Some(kv.key.clone());
        count += 1;
    }
    if count == 0 {
        items.push(b'[');
    }
    items.push(b']');
    let mut meta = Map::new();
    meta.insert("resourceVersion".into(), Value::String(listed.revision.to_string()));
    if remaining > 0
        && let Some(k) = last_key
    {
        meta.insert("continue".into(), Value::String(ContinueToken::new(listed.revision, k).encode()));
        if selectors.is_empty() {
            meta.insert("remainingItemCount".into(), Value::from(remaining));
        }
    }
    // The fields in the order the decoding path writes them (sorted).
    let head = serde_json::to_string(&ctx.resource.api_version()).ok()?;
    let kind = serde_json::to_string(&format!("{}List", ctx.resource.kind)).ok()?;
    let meta = serde_json::to_vec(&meta).ok()?;
    let mut out = Vec::with_capacity(items.len() + meta.len() + 128);
    out.extend_from_slice(b"{\"apiVersion\":");
    out.extend_from_slice(head.as_bytes());
    out.extend_from_slice(b",\"items\":");
    out.extend_from_slice(&items);
    out.extend_from_slice(b",\"kind\":");
    out.extend_from_slice(kind.as_bytes());
    out.extend_from_slice(b",\"metadata\":");
    out.extend_from_slice(&meta);
    out.push(b'}');
    Response::builder()
        .status(http::StatusCode::OK)
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(crate::body::full(out))
        .ok()
}

/// A list or watch "not older than" a revision the store has not reached
/// yet waits briefly, as Kubernetes does, then gives up with 504.
pub async fn wait_for_revision(store: &store::Store, rv: i64) -> Result<(), ApiError> {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(3);
    loop {
        let current = store.current_revision();
        if current >= rv {
            return Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(ApiError::TooLargeResourceVersion { requested: rv, current });
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}
