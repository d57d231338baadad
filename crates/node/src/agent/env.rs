//! A container's environment from its pod spec: `env` (plain values and
//! `valueFrom`) in order, as the kubelet resolves it.

use k8s_openapi::api::core::v1::{Container, EnvVar, Pod};
use kube::ResourceExt;
use std::net::IpAddr;

/// What an environment is resolved against besides the pod itself.
pub struct Sources<'a> {
    pub client: &'a kube::Client,
    pub node: &'a str,
    pub host_ip: &'a str,
    pub pod_ip: Option<IpAddr>,
}

/// The container's `NAME=value` list, or why it cannot be made (the
/// container then waits with `CreateContainerConfigError`).
pub async fn resolve(sources: &Sources<'_>, pod: &Pod, c: &Container) -> Result<Vec<String>, String> {
    Ok(c.env.iter().flatten().map(|e| format!("{}={}", e.name, value(sources, pod, e))).collect())
}

/// An environment variable's value: its `value`, or the pod fields
/// `valueFrom.fieldRef` names.
fn value(sources: &Sources<'_>, pod: &Pod, e: &EnvVar) -> String {
    if let Some(v) = &e.value {
        return v.clone();
    }
    let field = e.value_from.as_ref().and_then(|f| f.field_ref.as_ref()).map(|f| f.field_path.as_str());
    match field {
        Some("metadata.name") => pod.name_any(),
        Some("metadata.namespace") => pod.namespace().unwrap_or_default(),
        Some("metadata.uid") => pod.metadata.uid.clone().unwrap_or_default(),
        Some("spec.nodeName") => sources.node.to_string(),
        Some("spec.serviceAccountName") => pod.spec.as_ref().and_then(|s| s.service_account_name.clone()).unwrap_or_default(),
        Some("status.podIP") => sources.pod_ip.map(|ip| ip.to_string()).unwrap_or_default(),
        Some("status.hostIP") => sources.host_ip.to_string(),
        _ => String::new(),
    }
}
