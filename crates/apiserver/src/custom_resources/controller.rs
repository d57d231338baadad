//! The work of apiextensions' naming, establishing and finalizing
//! controllers: accept a CRD's names unless another CRD of the group holds
//! them, mark it `NamesAccepted` and `Established`, serve exactly the
//! established CRDs, and on deletion remove every object of the resource
//! before the CRD itself goes.
//!
//! It runs after every CRD write the API serves (so a created CRD is
//! served when the create is answered) and on every CRD change in the
//! store (so it also catches up after a restart).

use super::{CLEANUP_FINALIZER, CRD_PREFIX};
use crate::error::ApiError;
use crate::rest::encode_for_store;
use crate::server::ApiServer;
use apimachinery::crd;
use apimachinery::object::{ObjectExt, now_string};
use apimachinery::registry::Registry;
use futures::StreamExt;
use serde_json::{Value, json};

/// Brings CRD statuses, the served resources and deletions up to date.
pub(crate) async fn reconcile(server: &ApiServer) -> Result<(), ApiError> {
    let custom = &server.inner.custom;
    let _one = custom.reconciling.lock().await;
    let store = &server.inner.store;
    let listed = store.list(CRD_PREFIX, store::ListOptions::default())?;
    let crds: Vec<(store::KeyValue, Value)> = listed
        .items
        .into_iter()
        .filter_map(|kv| serde_json::from_slice::<Value>(&kv.value).ok().map(|v| (kv, v)))
        .collect();
    let all: Vec<Value> = crds.iter().map(|(_, v)| v.clone()).collect();
    let mut served = Vec::new();
    let mut status_writes = Vec::new();
    let mut finalizing = Vec::new();
    for (kv, crd) in &crds {
        if crd.deletion_timestamp().is_some() {
            finalizing.push((kv, crd));
            continue;
        }
        let updated = with_naming_status(crd, &all);
        if condition_is_true(&updated, "Established") {
            served.push(updated.clone());
        }
        if &updated != crd {
            status_writes.push((kv, updated));
        }
    }
    // Serve first: whoever sees a CRD's new status (a watch event) then
    // finds its resource in discovery, with no window in between.
    let resources = custom.install(&served);
    *server.inner.registry.write() = Registry::with_custom(resources);
    for (kv, updated) in status_writes {
        match store.update(&kv.key, encode_for_store(&updated)?, Some(kv.mod_revision)).await {
            // Changed meanwhile: the reconcile its event causes sees the new one.
            Ok(_) | Err(store::StoreError::Conflict { .. } | store::StoreError::NotFound { .. }) => {}
            Err(e) => return Err(e.into()),
        }
    }
    for (kv, crd) in finalizing {
        finalize(server, kv, crd).await?;
    }
    Ok(())
}

/// The CRD with the naming controller's accepted names and conditions.
fn with_naming_status(crd: &Value, all: &[Value]) -> Value {
    let naming = crd::accepted_names(crd, all);
    let mut updated = crd.clone();
    if !updated.get("status").is_some_and(Value::is_object) {
        updated["status"] = json!({});
    }
    updated["status"]["acceptedNames"] = naming.accepted_names;
    set_condition(&mut updated, naming.names_accepted);
    set_condition(&mut updated, naming.established);
    // The establishing controller's step: a single API server has no
    // other instances to wait for, so accepted names are served at once.
    if condition_is_true(&updated, "NamesAccepted") && !condition_is_true(&updated, "Established") {
        set_condition(&mut updated, crd::established_condition());
    }
    updated
}

/// Sets a condition, keeping its `lastTransitionTime` unless its status
/// changes.
fn set_condition(obj: &mut Value, mut condition: Value) {
    let type_ = condition.get("type").cloned().unwrap_or(Value::Null);
    let conditions = obj["status"]
        .as_object_mut()
        .map(|s| s.entry("conditions").or_insert_with(|| json!([])));
    let Some(Value::Array(conditions)) = conditions else { return };
    let existing = conditions.iter_mut().find(|c| c.get("type") == Some(&type_));
    match existing {
        Some(old) => {
            let time = if old.get("status") == condition.get("status") {
                old.get("lastTransitionTime").cloned().unwrap_or_else(|| json!(now_string()))
            } else {
                json!(now_string())
            };
            condition["lastTransitionTime"] = time;
            *old = condition;
        }
        None => {
            condition["lastTransitionTime"] = json!(now_string());
            conditions.push(condition);
        }
    }
}

fn condition_is_true(crd: &Value, type_: &str) -> bool {
    crd.pointer("/status/conditions")
        .and_then(Value::as_array)
        .is_some_and(|cs| cs.iter().any(|c| c["type"] == type_ && c["status"] == "True"))
}

/// Deletes every object of a CRD being deleted, then lets the CRD go.
async fn finalize(server: &ApiServer, kv: &store::KeyValue, crd: &Value) -> Result<(), ApiError> {
    let store = &server.inner.store;
    if crd.finalizers().contains(&CLEANUP_FINALIZER) {
        let names = crd::accepted_names_of(crd);
        let plural = if names.plural.is_empty() { crd::names(crd).plural } else { names.plural };
        let prefix = format!("/registry/{}/{plural}/", crd::group(crd));
        let objects = store.list(&prefix, store::ListOptions::default())?;
        for object in objects.items {
            match store.delete(&object.key, None).await {
                Ok(_) | Err(store::StoreError::NotFound { .. }) => {}
                Err(e) => return Err(e.into()),
            }
        }
        tracing::info!(crd = %crd.name().unwrap_or_default(), deleted = %prefix, "custom resource objects removed");
    }
    let mut remaining = crd.clone();
    let finalizers: Vec<&str> = crd.finalizers().into_iter().filter(|f| *f != CLEANUP_FINALIZER).collect();
    remaining["metadata"]["finalizers"] = json!(finalizers);
    let result = if finalizers.is_empty() {
        store.delete(&kv.key, Some(kv.mod_revision)).await.map(|_| ())
    } else if &remaining != crd {
        store.update(&kv.key, encode_for_store(&remaining)?, Some(kv.mod_revision)).await.map(|_| ())
    } else {
        Ok(())
    };
    match result {
        Ok(()) | Err(store::StoreError::Conflict { .. } | store::StoreError::NotFound { .. }) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Reconciles on every CRD change until the store closes.
pub(crate) fn spawn_controller(server: ApiServer) {
    tokio::spawn(async move {
        loop {
            let from = server.inner.store.current_revision();
            let Ok(mut events) = server.inner.store.watch(CRD_PREFIX, from) else { return };
            if let Err(e) = reconcile(&server).await {
                tracing::warn!(error = %e, "custom resource reconcile failed");
            }
            while let Some(ev) = events.next().await {
                if ev.is_err() {
                    break;
                }
                if let Err(e) = reconcile(&server).await {
                    tracing::warn!(error = %e, "custom resource reconcile failed");
                }
            }
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        }
    });
}
