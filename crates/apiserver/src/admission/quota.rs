//! The ResourceQuota admission plugin over `policy::quota`, race-free: a
//! write in a namespace with quotas takes the namespace's lock, checks the
//! quotas, records the new `status.used` with compare-and-swap updates and
//! only then lets the caller write the object, still under the lock; if
//! that write fails the usage is given back (best effort).
//!
//! Until the quota controller runs (controllers issue) this module also
//! keeps each quota's status: `status.hard` follows `spec.hard` and
//! `status.used` is computed from the stored objects when a quota is
//! written, after a charged object is deleted, and at start-up.

use crate::error::ApiError;
use crate::rest::{Ctx, Target, encode_for_store};
use crate::server::ApiServer;
use apimachinery::object::ObjectExt;
use apimachinery::policy::{Operation, ResourceList, quota, resource_list};
use apimachinery::validation::{Quantity, QuantityFormat};
use parking_lot::Mutex;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::OwnedMutexGuard;

mod status;

/// Attempts of a compare-and-swap before giving up.
const MAX_RETRIES: usize = 16;

/// The per-namespace locks (created on first use, kept: one per namespace).
#[derive(Default)]
pub(crate) struct Locks(Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>);

impl Locks {
    pub(super) async fn lock(&self, namespace: &str) -> OwnedMutexGuard<()> {
        let lock = self.0.lock().entry(namespace.to_string()).or_default().clone();
        lock.lock_owned().await
    }
}

/// Usage recorded in quotas for a write not yet known to be stored; holds
/// the namespace lock until dropped. Dropped without [`Charge::commit`],
/// it gives the usage back before releasing the lock.
pub(crate) struct Charge {
    server: ApiServer,
    namespace: String,
    /// Quota name → what was added to its `status.used`.
    charged: Vec<(String, ResourceList)>,
    guard: Option<OwnedMutexGuard<()>>,
}

impl Charge {
    pub(super) fn commit(mut self) {
        self.charged.clear();
    }
}

impl Drop for Charge {
    fn drop(&mut self) {
        if self.charged.is_empty() {
            return;
        }
        let (server, namespace) = (self.server.clone(), std::mem::take(&mut self.namespace));
        let (charged, guard) = (std::mem::take(&mut self.charged), self.guard.take());
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move {
                refund(&server, &namespace, &charged).await;
                drop(guard);
            });
        }
    }
}

fn prefix(namespace: &str) -> String {
    format!("/registry/core/resourcequotas/{namespace}/")
}

fn quotas(server: &ApiServer, namespace: &str) -> Result<Vec<(store::KeyValue, Value)>, ApiError> {
    let list = server.inner.store.list(&prefix(namespace), store::ListOptions::default())?;
    Ok(list
        .items
        .into_iter()
        .filter_map(|kv| serde_json::from_slice(&kv.value).ok().map(|v| (kv, v)))
        .collect())
}

/// Writes `quota` over the stored `kv` if nobody changed it meanwhile.
/// `Ok(false)`: it changed (or went away); re-read and try again.
async fn swap(server: &ApiServer, kv: &store::KeyValue, quota: &Value) -> Result<bool, ApiError> {
    match server.inner.store.update(&kv.key, encode_for_store(quota)?, Some(kv.mod_revision)).await {
        Ok(_) => Ok(true),
        Err(store::StoreError::Conflict { .. } | store::StoreError::NotFound { .. }) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// The ResourceQuota check of a write, run last; `None` when no quota is
/// involved. ResourceQuota writes themselves get their status here.
pub(super) async fn charge(
    ctx: &Ctx,
    obj: &mut Value,
    old: Option<&Value>,
    target: Target,
) -> Result<Option<Charge>, ApiError> {
    let Some(ns) = ctx.namespace() else { return Ok(None) };
    let (group, plural) = (ctx.resource.group.as_str(), ctx.resource.plural.as_str());
    let is_quota = group.is_empty() && plural == "resourcequotas" && target == Target::Main;
    if !is_quota && quotas(&ctx.server, ns)?.is_empty() {
        return Ok(None);
    }
    let guard = ctx.server.inner.admission.quota_locks.lock(ns).await;
    if is_quota {
        status::refresh(&ctx.server, ns, obj);
    }
    let subresource = match target {
        Target::Status => "status",
        _ => "",
    };
    let name = obj.name().unwrap_or_default().to_string();
    let request = quota::Request {
        group,
        resource: plural,
        subresource,
        operation: if old.is_some() { Operation::Update } else { Operation::Create },
        object: obj,
        old_object: old,
        name: &name,
    };
    let mut charge = Charge { server: ctx.server.clone(), namespace: ns.to_string(), charged: Vec::new(), guard: Some(guard) };
    'attempt: for _ in 0..MAX_RETRIES {
        let current = quotas(&ctx.server, ns)?;
        let values: Vec<Value> = current.iter().map(|(_, q)| q.clone()).collect();
        let updates = quota::admit(&values, &request).map_err(|e| ApiError::Forbidden(e.to_string()))?;
        if ctx.query.dry_run {
            return Ok(Some(charge));
        }
        for update in updates {
            let Some((kv, q)) = current.iter().find(|(_, q)| q.name() == Some(update.name.as_str())) else { continue };
            let before = resource_list(q.pointer("/status/used"));
            let mut new = q.clone();
            new["status"]["used"] = quota::used_json(&update.used);
            if !swap(&ctx.server, kv, &new).await? {
                // Give back what this attempt charged, then start over.
                refund(&ctx.server, ns, &std::mem::take(&mut charge.charged)).await;
                continue 'attempt;
            }
            charge.charged.push((update.name, difference(&update.used, &before)));
        }
        return Ok(Some(charge));
    }
    Err(ApiError::Conflict {
        what: crate::error::Qualified { group: String::new(), plural: "resourcequotas".into() },
        name: name.clone(),
        detail: "the namespace's quotas are being modified too often; try again".into(),
    })
}

/// `a - b` per resource of `a`, without zeros.
fn difference(a: &ResourceList, b: &ResourceList) -> ResourceList {
    a.iter()
        .map(|(k, q)| (k.clone(), b.get(k).map_or(*q, |o| q.sub(o))))
        .filter(|(_, q)| !q.is_zero())
        .collect()
}

/// Takes `charged` back out of the quotas' `status.used` (never below zero).
async fn refund(server: &ApiServer, namespace: &str, charged: &[(String, ResourceList)]) {
    for (name, delta) in charged {
        let key = format!("{}{name}", prefix(namespace));
        for _ in 0..MAX_RETRIES {
            let Some(kv) = server.inner.store.get(&key) else { break };
            let Ok(mut q) = serde_json::from_slice::<Value>(&kv.value) else { break };
            let mut used = resource_list(q.pointer("/status/used"));
            for (k, d) in delta {
                if let Some(u) = used.get_mut(k) {
                    let left = u.sub(d);
                    *u = if left.sign() < 0 { Quantity::from_units(0, QuantityFormat::DecimalSI) } else { left };
                }
            }
            q["status"]["used"] = quota::used_json(&used);
            match swap(server, &kv, &q).await {
                Ok(true) => break,
                Ok(false) => continue,
                Err(error) => {
                    tracing::warn!(%error, quota = %key, "cannot give back quota usage");
                    break;
                }
            }
        }
    }
}

/// After `obj` was removed: quotas covering it recompute their usage.
pub(super) async fn release(ctx: &Ctx, obj: &Value) {
    let Some(ns) = ctx.namespace() else { return };
    let (group, plural) = (ctx.resource.group.as_str(), ctx.resource.plural.as_str());
    let covering = |q: &Value| quota::quota_covers(q, group, plural, obj);
    match quotas(&ctx.server, ns) {
        Ok(qs) if qs.iter().any(|(_, q)| covering(q)) => {}
        _ => return,
    }
    let _guard = ctx.server.inner.admission.quota_locks.lock(ns).await;
    if let Err(error) = status::resync(&ctx.server, ns, covering).await {
        tracing::warn!(%error, namespace = ns, "cannot recompute quota usage");
    }
}

/// Every quota's status recomputed (start-up).
pub(super) async fn bootstrap(server: &ApiServer) -> Result<(), ApiError> {
    let all = server.inner.store.list("/registry/core/resourcequotas/", store::ListOptions::default())?;
    let mut namespaces: Vec<String> = all
        .items
        .iter()
        .filter_map(|kv| kv.key.trim_start_matches("/registry/core/resourcequotas/").split('/').next().map(str::to_string))
        .collect();
    namespaces.dedup();
    for ns in namespaces {
        let _guard = server.inner.admission.quota_locks.lock(&ns).await;
        status::resync(server, &ns, |_| true).await?;
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap: a panic is a failure
mod tests {
    use super::*;

    fn list(v: serde_json::Value) -> ResourceList {
        resource_list(Some(&v))
    }

    #[test]
    fn admission_quota_difference_drops_zeros() {
        let new = list(serde_json::json!({"pods": "3", "cpu": "1500m", "memory": "1Gi"}));
        let old = list(serde_json::json!({"pods": "2", "cpu": "1500m"}));
        assert_eq!(quota::used_json(&difference(&new, &old)), serde_json::json!({"pods": "1", "memory": "1Gi"}));
    }

    #[tokio::test]
    async fn admission_quota_locks_serialize_a_namespace_only() {
        let locks = Arc::new(Locks::default());
        let held = locks.lock("a").await;
        // Another namespace is free while "a" is held.
        drop(locks.lock("b").await);
        let waiter = {
            let locks = locks.clone();
            tokio::spawn(async move { drop(locks.lock("a").await) })
        };
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished());
        drop(held);
        waiter.await.unwrap();
    }
}
