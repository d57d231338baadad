//! Writing a status a pod keeps for good (a final phase the node gave
//! it: refused at admission, evicted, past its deadline). Until it lands
//! the pod counts as active everywhere, so it is tried again with a
//! growing pause while the API answers with errors.

use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, Patch, PatchParams};
use kube::{Client, ResourceExt};
use std::time::Duration;

/// Merges `status` into the pod's status; a pod gone meanwhile needs none.
pub async fn write(client: &Client, pod: &Pod, status: &serde_json::Value) {
    let api: Api<Pod> = Api::namespaced(client.clone(), &pod.namespace().unwrap_or_default());
    let patch = Patch::Merge(serde_json::json!({"status": status}));
    let mut pause = Duration::from_secs(1);
    loop {
        match api.patch_status(&pod.name_any(), &PatchParams::default(), &patch).await {
            Ok(_) => return,
            Err(kube::Error::Api(s)) if s.code == 404 => return,
            Err(error) => tracing::warn!(%error, pod = %pod.name_any(), "writing the pod's final status"),
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(60));
    }
}
