//! delete and deletecollection: preconditions, finalizers (an object with
//! finalizers is only marked with a `deletionTimestamp`), propagation
//! policies, dry runs, and the graceful deletion of pods (a pod running on
//! a node is marked, and its kubelet deletes it once its containers
//! stopped).

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
    grace_period_seconds: Option<i64>,
}

fn parse_options(ctx: &Ctx, body: &Bytes) -> Result<DeleteOptions, ApiError> {
    let mut opts = DeleteOptions {
        propagation: ctx.query.propagation_policy.clone(),
        dry_run: ctx.query.dry_run,
        grace_period_seconds: ctx.query.grace_period_seconds,
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
    if let Some(g) = doc.get("gracePeriodSeconds").and_then(Value::as_i64) {
        opts.grace_period_seconds = Some(g);
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
        let graceful = mark_for_deletion(ctx, &mut marked, opts) | mark_pod_graceful(ctx, &mut marked, opts);
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

/// A pod's graceful deletion (Kubernetes' pod strategy): a pod bound to a
/// node and not yet ended gets `deletionTimestamp` = now + its grace
/// period (the request's `gracePeriodSeconds`, else the pod's
/// `terminationGracePeriodSeconds`, 30 by default) and
/// `deletionGracePeriodSeconds`, and stays until its kubelet, having
/// stopped its containers, deletes it with a grace period of 0. A later
/// delete may only shorten the period; 0 deletes at once. Pods never
/// scheduled or already ended go at once. Answers whether the pod stays.
fn mark_pod_graceful(ctx: &Ctx, pod: &mut Value, opts: &DeleteOptions) -> bool {
    if !(ctx.resource.group.is_empty() && ctx.resource.plural == "pods") {
        return false;
    }
    let bound = pod.pointer("/spec/nodeName").and_then(Value::as_str).is_some_and(|n| !n.is_empty());
    let ended = matches!(pod.pointer("/status/phase").and_then(Value::as_str), Some("Succeeded" | "Failed"));
    let declared = pod.pointer("/spec/terminationGracePeriodSeconds").and_then(Value::as_i64).unwrap_or(30);
    let grace = if !bound || ended { 0 } else { opts.grace_period_seconds.unwrap_or(declared).max(0) };
    let current = pod.pointer("/metadata/deletionGracePeriodSeconds").and_then(Value::as_i64);
    let marked_already = pod.deletion_timestamp().is_some();
    if grace == 0 {
        // Finalizers may still hold it (see `mark_for_deletion`).
        return false;
    }
    if marked_already && current.is_some_and(|c| c <= grace) {
        return true;
    }
    let when = jiff::Timestamp::now().checked_add(jiff::SignedDuration::from_secs(grace)).unwrap_or_else(|_| jiff::Timestamp::now());
    let meta = meta_mut(pod);
    meta.insert("deletionTimestamp".into(), Value::String(when.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()));
    meta.insert("deletionGracePeriodSeconds".into(), Value::from(grace));
    true
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

/// The garbage collector's finalizers: dependents are orphaned, or deleted
/// before their owner (foreground).
const ORPHAN: &str = "orphan";
const FOREGROUND: &str = "foregroundDeletion";

/// What a resource's dependents get when a delete names no policy
/// (Kubernetes' `DefaultGarbageCollectionPolicy` of each registry).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DefaultPolicy {
    /// The owner goes at once, the collector deletes dependents later.
    Background,
    /// Kept for compatibility: ReplicationControllers in v1 and Jobs in
    /// batch/v1 orphan their dependents unless told otherwise.
    Orphan,
    /// Events take no part in garbage collection: no finalizer is added.
    Unsupported,
}

fn default_policy(group: &str, version: &str, plural: &str) -> DefaultPolicy {
    match (group, version, plural) {
        ("", "v1", "replicationcontrollers") | ("batch", "v1", "jobs") => DefaultPolicy::Orphan,
        ("" | "events.k8s.io", _, "events") => DefaultPolicy::Unsupported,
        _ => DefaultPolicy::Background,
    }
}

/// The object's finalizers once the delete's propagation policy is applied
/// (Kubernetes' `deletionFinalizersForGarbageCollection`): an explicit
/// policy wins, then a garbage-collection finalizer already present (a
/// second delete without a policy keeps the first one's), then the
/// resource's default. `orphan` and `foregroundDeletion` never coexist.
fn gc_finalizers(current: &[String], propagation: Option<&str>, default: DefaultPolicy) -> Vec<String> {
    let mut kept: Vec<String> = current.iter().filter(|f| *f != ORPHAN && *f != FOREGROUND).cloned().collect();
    if default == DefaultPolicy::Unsupported {
        return kept;
    }
    let wanted = match propagation {
        Some("Orphan") => Some(ORPHAN),
        Some("Foreground") => Some(FOREGROUND),
        Some(_) => None,
        None => current
            .iter()
            .find(|f| *f == ORPHAN || *f == FOREGROUND)
            .map(String::as_str)
            .or((default == DefaultPolicy::Orphan).then_some(ORPHAN)),
    };
    if let Some(f) = wanted {
        kept.push(f.to_string());
    }
    kept
}

/// Applies deletion to an object that cannot go at once; returns whether it
/// stays (marked) rather than being removed now.
///
/// Namespaces always stay until their `kubernetes` finalizer is removed;
/// objects with finalizers stay until those are removed. The propagation
/// policy becomes the garbage collector's finalizers (`orphan`,
/// `foregroundDeletion`) as in Kubernetes; `Background` adds none, so the
/// owner goes now and the collector deletes its dependents afterwards. A
/// later delete may change the policy of an object already being deleted,
/// and if that leaves it without finalizers it goes at once.
fn mark_for_deletion(ctx: &Ctx, obj: &mut Value, opts: &DeleteOptions) -> bool {
    let resource = &ctx.resource;
    let is_namespace = resource.group.is_empty() && resource.plural == "namespaces";
    let current: Vec<String> = obj.finalizers().into_iter().map(str::to_string).collect();
    let default = default_policy(&resource.group, &resource.version, &resource.plural);
    let mut finalizers = gc_finalizers(&current, opts.propagation.as_deref(), default);
    // A CRD goes only after its objects, which the custom resource
    // controller deletes before it removes this finalizer.
    let cleanup = crate::custom_resources::CLEANUP_FINALIZER;
    if resource.group == "apiextensions.k8s.io" && !finalizers.iter().any(|f| f == cleanup) {
        finalizers.push(cleanup.into());
    }
    if finalizers.is_empty() && !is_namespace {
        return false;
    }
    let already = obj.deletion_timestamp().is_some();
    let has_generation = obj.pointer("/metadata/generation").and_then(Value::as_i64);
    let meta = meta_mut(obj);
    if finalizers != current {
        meta.insert("finalizers".into(), Value::from(finalizers));
    }
    if !already {
        // As Kubernetes' markAsDeleting: the deletion is a change of the
        // object's desired state.
        if let Some(g) = has_generation.filter(|g| *g > 0) {
            meta.insert("generation".into(), Value::from(g + 1));
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn f(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn explicit_policy_wins_over_present_finalizer() {
        let bg = DefaultPolicy::Background;
        assert_eq!(gc_finalizers(&f(&["orphan", "x"]), Some("Foreground"), bg), f(&["x", "foregroundDeletion"]));
        assert_eq!(gc_finalizers(&f(&["foregroundDeletion"]), Some("Background"), bg), f(&[]));
        assert_eq!(gc_finalizers(&f(&[]), Some("Orphan"), bg), f(&["orphan"]));
    }

    #[test]
    fn no_policy_keeps_present_finalizer_then_default() {
        assert_eq!(gc_finalizers(&f(&["foregroundDeletion"]), None, DefaultPolicy::Orphan), f(&["foregroundDeletion"]));
        assert_eq!(gc_finalizers(&f(&[]), None, DefaultPolicy::Orphan), f(&["orphan"]));
        assert_eq!(gc_finalizers(&f(&[]), None, DefaultPolicy::Background), f(&[]));
        assert_eq!(gc_finalizers(&f(&[]), Some("Orphan"), DefaultPolicy::Unsupported), f(&[]));
    }

    #[test]
    fn defaults_follow_kubernetes_registries() {
        assert_eq!(default_policy("batch", "v1", "jobs"), DefaultPolicy::Orphan);
        assert_eq!(default_policy("", "v1", "replicationcontrollers"), DefaultPolicy::Orphan);
        assert_eq!(default_policy("apps", "v1", "deployments"), DefaultPolicy::Background);
        assert_eq!(default_policy("events.k8s.io", "v1", "events"), DefaultPolicy::Unsupported);
    }
}
