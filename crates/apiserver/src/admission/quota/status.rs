//! A ResourceQuota's status as the quota controller would record it:
//! `status.hard` is `spec.hard`, `status.used` the usage of the stored
//! objects the quota covers. Callers hold the namespace's quota lock.

use super::{MAX_RETRIES, quotas, swap};
use crate::error::ApiError;
use crate::server::ApiServer;
use apimachinery::policy::{quota, resource_list};
use serde_json::Value;

/// Core resources quota names refer to without `count/`.
const CORE: &[&str] = &["pods", "services", "persistentvolumeclaims", "configmaps", "secrets", "replicationcontrollers", "resourcequotas"];

/// The (group, plural, key prefix) of the resources whose objects may be
/// charged to a quota with these hard names.
fn charged_resources(server: &ApiServer, hard: &[String]) -> Vec<(String, String, String)> {
    let counted: Vec<&str> = hard.iter().filter_map(|n| n.strip_prefix("count/")).collect();
    let mut out: Vec<(String, String, String)> = Vec::new();
    for r in server.inner.registry.read().all() {
        if !r.namespaced || r.create_only || r.read_only {
            continue;
        }
        let qualified = if r.group.is_empty() { r.plural.clone() } else { format!("{}.{}", r.plural, r.group) };
        let wanted = (r.group.is_empty() && CORE.contains(&r.plural.as_str())) || counted.contains(&qualified.as_str());
        let prefix = r.key_prefix();
        if wanted && !out.iter().any(|(_, _, p)| *p == prefix) {
            out.push((r.group.clone(), r.plural.clone(), prefix));
        }
    }
    out
}

/// Sets `status.hard` from `spec.hard` and `status.used` from the stored
/// objects of namespace `ns` that `quota` covers.
pub(super) fn refresh(server: &ApiServer, ns: &str, quota: &mut Value) {
    let hard = quota.pointer("/spec/hard").cloned().unwrap_or_else(|| serde_json::json!({}));
    let names: Vec<String> = resource_list(Some(&hard)).into_keys().collect();
    if !quota.get("status").is_some_and(Value::is_object) {
        quota["status"] = serde_json::json!({});
    }
    quota["status"]["hard"] = hard;
    let mut used = quota::zero_usage(quota);
    for (group, plural, prefix) in charged_resources(server, &names) {
        let Ok(list) = server.inner.store.list(&format!("{prefix}{ns}/"), store::ListOptions::default()) else { continue };
        for kv in &list.items {
            let Ok(obj) = serde_json::from_slice::<Value>(&kv.value) else { continue };
            if !quota::quota_covers(quota, &group, &plural, &obj) {
                continue;
            }
            for (k, q) in quota::usage(&group, &plural, &obj) {
                if let Some(u) = used.get_mut(&k) {
                    *u = u.add(&q);
                }
            }
        }
    }
    quota["status"]["used"] = quota::used_json(&used);
}

/// Recomputes and stores the status of the namespace's quotas that pass
/// `filter`, when it changed.
pub(super) async fn resync(server: &ApiServer, ns: &str, filter: impl Fn(&Value) -> bool) -> Result<(), ApiError> {
    for _ in 0..MAX_RETRIES {
        let mut clean = true;
        for (kv, q) in quotas(server, ns)? {
            if !filter(&q) {
                continue;
            }
            let mut fresh = q.clone();
            refresh(server, ns, &mut fresh);
            if fresh != q && !swap(server, &kv, &fresh).await? {
                clean = false;
            }
        }
        if clean {
            return Ok(());
        }
    }
    Ok(())
}
