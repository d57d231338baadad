//! The admission plugins in Kubernetes' (v1.33) order: mutating ones
//! (LimitRanger defaults, ServiceAccount, DefaultStorageClass, and the token controller's
//! Secret population done at create here) before validation, validating
//! ones (LimitRanger bounds, PodSecurity, ResourceQuota last) after it; and
//! what the server does after a write in place of controllers that do not
//! run yet (a new namespace's `default` ServiceAccount and CA ConfigMap,
//! quota usage after a delete).

use super::{default_storage_class, limit_ranger, pod_security, quota, service_account};
use crate::error::ApiError;
use crate::rest::{Ctx, Target};
use crate::server::ApiServer;
use apimachinery::object::ObjectExt;
use serde_json::Value;

/// Admission state shared by all requests.
#[derive(Default)]
pub(crate) struct State {
    /// One lock per namespace, held from the quota check to the object write.
    pub(super) quota_locks: quota::Locks,
}

/// A write validating admission let through: its warnings, and the quota
/// usage charged for it (given back unless [`Admitted::commit`] is called,
/// i.e. when the object write fails or is retried).
pub(crate) struct Admitted {
    warnings: Vec<String>,
    charge: Option<quota::Charge>,
}

impl Admitted {
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// The object was stored: the charged usage stays; returns the warnings.
    pub fn commit(self) -> Vec<String> {
        if let Some(charge) = self.charge {
            charge.commit();
        }
        self.warnings
    }
}

pub(super) fn is_core(ctx: &Ctx, plural: &str) -> bool {
    ctx.resource.group.is_empty() && ctx.resource.plural == plural && ctx.req.subresource.is_none()
}

/// A stored object as JSON, if it exists.
pub(super) fn read(server: &ApiServer, key: &str) -> Option<Value> {
    server.inner.store.get(key).and_then(|kv| serde_json::from_slice(&kv.value).ok())
}

/// The stored objects of a core resource in one namespace.
pub(super) fn core_objects(server: &ApiServer, plural: &str, namespace: &str) -> Vec<Value> {
    let prefix = format!("/registry/core/{plural}/{namespace}/");
    match server.inner.store.list(&prefix, store::ListOptions::default()) {
        Ok(list) => list.items.iter().filter_map(|kv| serde_json::from_slice(&kv.value).ok()).collect(),
        Err(error) => {
            tracing::warn!(%error, %prefix, "admission cannot list");
            Vec::new()
        }
    }
}

/// Mutating admission of a create, before the object is prepared and
/// validated. In a missing namespace it does nothing: namespace lifecycle
/// refuses the object afterwards with the better message.
pub(crate) fn mutate(ctx: &Ctx, obj: &mut Value) -> Result<(), ApiError> {
    let Some(ns) = ctx.namespace() else { return Ok(()) };
    if ctx.store().get(&format!("/registry/core/namespaces/{ns}")).is_none() {
        return Ok(());
    }
    limit_ranger::default(ctx, obj);
    service_account::admit_pod(ctx, obj)?;
    default_storage_class::admit(ctx, obj);
    service_account::populate_token_secret(ctx, obj)
}

/// Validating admission of a create (`old` is `None`) or update, after
/// validation: LimitRanger, PodSecurity, then ResourceQuota, which charges
/// the quotas before the caller writes the object.
pub(crate) async fn validate(
    ctx: &Ctx,
    obj: &mut Value,
    old: Option<&Value>,
    target: Target,
) -> Result<Admitted, ApiError> {
    let mut warnings = Vec::new();
    match target {
        Target::Main => {
            limit_ranger::validate(ctx, obj, old)?;
            warnings = pod_security::admit(ctx, obj, old)?;
        }
        Target::Status => {}
        Target::Finalize => return Ok(Admitted { warnings, charge: None }),
    }
    let charge = quota::charge(ctx, obj, old, target).await?;
    Ok(Admitted { warnings, charge })
}

/// After a create was stored: a new Namespace gets its `default`
/// ServiceAccount and `kube-root-ca.crt` ConfigMap (controllers' work in
/// Kubernetes). Failures are logged; the namespace exists either way.
pub(crate) async fn after_create(ctx: &Ctx, obj: &Value) {
    if is_core(ctx, "namespaces")
        && let Some(name) = obj.name()
        && let Err(error) = service_account::ensure_namespace_defaults(&ctx.server, name).await
    {
        tracing::warn!(%error, namespace = name, "cannot create the namespace's default objects");
    }
}

/// After an object was removed from the store: the quotas covering it
/// record their usage afresh.
pub(crate) async fn after_delete(ctx: &Ctx, obj: &Value) {
    quota::release(ctx, obj).await;
}

/// At start-up: every namespace has its default objects and every
/// ResourceQuota a current status (also for data written before this
/// server version).
pub(crate) async fn bootstrap(server: &ApiServer) -> Result<(), ApiError> {
    service_account::bootstrap(server).await?;
    quota::bootstrap(server).await
}
