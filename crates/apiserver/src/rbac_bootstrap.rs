//! The default RBAC policy every cluster has (cluster-admin, admin, edit,
//! view, system:discovery, system:basic-user, system:public-info-viewer and
//! their bindings), and keeping aggregated ClusterRoles' rules current: the
//! work kube-controller-manager's clusterrole-aggregation controller does,
//! done here because authorization depends on it from the first request.

use crate::error::ApiError;
use crate::rest::encode_for_store;
use crate::server::ApiServer;
use crate::strategy;
use apimachinery::object::ObjectExt;
use apimachinery::registry::Registry;
use futures::StreamExt;
use serde_json::Value;

const CLUSTER_ROLES: &str = "/registry/rbac.authorization.k8s.io/clusterroles/";
const CLUSTER_ROLE_BINDINGS: &str = "/registry/rbac.authorization.k8s.io/clusterrolebindings/";

/// Creates the default policy objects that are missing.
pub async fn ensure_default_policy(server: &ApiServer) -> Result<(), ApiError> {
    let registry = Registry::builtin();
    let roles = registry
        .get("rbac.authorization.k8s.io", "v1", "clusterroles")
        .ok_or(ApiError::Internal("clusterroles not registered".into()))?;
    let bindings = registry
        .get("rbac.authorization.k8s.io", "v1", "clusterrolebindings")
        .ok_or(ApiError::Internal("clusterrolebindings not registered".into()))?;
    let store = &server.inner.store;
    for (resource, prefix, objects) in [
        (&roles, CLUSTER_ROLES, crate::authz::bootstrap_cluster_roles()),
        (&bindings, CLUSTER_ROLE_BINDINGS, crate::authz::bootstrap_cluster_role_bindings()),
    ] {
        for mut obj in objects {
            let Some(name) = obj.name().map(str::to_string) else { continue };
            let key = format!("{prefix}{name}");
            if store.get(&key).is_some() {
                continue;
            }
            strategy::prepare_for_create(resource, &mut obj);
            match store.create(&key, encode_for_store(&obj)?).await {
                Ok(_) | Err(store::StoreError::AlreadyExists { .. }) => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
    aggregate_all(server).await
}

/// Writes the aggregated rules into every ClusterRole with an
/// `aggregationRule` whose rules are out of date, nested aggregation
/// (`view` into `edit` into `admin`) settled in one go.
async fn aggregate_all(server: &ApiServer) -> Result<(), ApiError> {
    let store = &server.inner.store;
    let listed = store.list(CLUSTER_ROLES, store::ListOptions::default())?;
    let all: Vec<(store::KeyValue, Value)> = listed
        .items
        .into_iter()
        .filter_map(|kv| serde_json::from_slice::<Value>(&kv.value).ok().map(|v| (kv, v)))
        .collect();
    let values: Vec<Value> = all.iter().map(|(_, v)| v.clone()).collect();
    for (name, rules) in crate::authz::aggregate_all(&values) {
        let Some((kv, role)) = all.iter().find(|(_, v)| v.name() == Some(name.as_str())) else { continue };
        let mut updated = role.clone();
        updated["rules"] = Value::Array(rules);
        match store.update(&kv.key, encode_for_store(&updated)?, Some(kv.mod_revision)).await {
            // Someone else changed it meanwhile; the watch brings us back.
            Ok(_) | Err(store::StoreError::Conflict { .. }) | Err(store::StoreError::NotFound { .. }) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// Re-aggregates whenever a ClusterRole changes, until the store closes.
pub fn spawn_aggregation(server: ApiServer) {
    tokio::spawn(async move {
        loop {
            let from = server.inner.store.current_revision();
            let Ok(mut events) = server.inner.store.watch(CLUSTER_ROLES, from) else { return };
            // Whatever changed while there was no watch.
            if let Err(e) = aggregate_all(&server).await {
                tracing::warn!(error = %e, "clusterrole aggregation failed");
            }
            while let Some(ev) = events.next().await {
                if ev.is_err() {
                    break;
                }
                if let Err(e) = aggregate_all(&server).await {
                    tracing::warn!(error = %e, "clusterrole aggregation failed");
                }
            }
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        }
    });
}
