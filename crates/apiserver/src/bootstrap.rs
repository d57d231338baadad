//! What every cluster has from its first start: the system namespaces and
//! the `kubernetes` Service in `default`. Created once; existing objects
//! are left as they are.

use crate::error::ApiError;
use crate::rest::encode_for_store;
use crate::server::ApiServer;
use crate::strategy;
use apimachinery::defaults;
use apimachinery::registry::Registry;
use serde_json::{Value, json};

pub async fn run(server: &ApiServer) -> Result<(), ApiError> {
    let registry = Registry::builtin();
    let ns_res = registry.get("", "v1", "namespaces").ok_or(ApiError::Internal("namespaces not registered".into()))?;
    for ns in ["default", "kube-system", "kube-public", "kube-node-lease"] {
        let mut obj = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}});
        strategy::prepare_for_create(&ns_res, &mut obj);
        create_if_missing(server, &ns_res.key(None, ns), &obj).await?;
    }
    let svc_res = registry.get("", "v1", "services").ok_or(ApiError::Internal("services not registered".into()))?;
    let ip = strategy::kubernetes_service_ip(server).to_string();
    let mut svc = json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": "kubernetes",
            "namespace": "default",
            "labels": {"component": "apiserver", "provider": "kubernetes"},
        },
        "spec": {
            "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": 6443}],
            "clusterIP": ip,
            "clusterIPs": [ip],
            "type": "ClusterIP",
            "ipFamilies": ["IPv4"],
            "ipFamilyPolicy": "SingleStack",
        },
    });
    defaults::apply_defaults("", "Service", &mut svc);
    strategy::prepare_for_create(&svc_res, &mut svc);
    create_if_missing(server, &svc_res.key(Some("default"), "kubernetes"), &svc).await?;
    Ok(())
}

async fn create_if_missing(server: &ApiServer, key: &str, obj: &Value) -> Result<(), ApiError> {
    if server.inner.store.get(key).is_some() {
        return Ok(());
    }
    match server.inner.store.create(key, encode_for_store(obj)?).await {
        Ok(_) | Err(store::StoreError::AlreadyExists { .. }) => Ok(()),
        Err(e) => Err(e.into()),
    }
}
