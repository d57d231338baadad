//! What becomes of a pod refused at admission: a `Warning` event with the
//! reason, the status `Failed` with the kubelet's "Pod was rejected: ..."
//! message, and, once it is deleted, its removal from the API (no
//! container of it ever ran, so nothing waits for a grace period).

use super::admission::Rejection;
use super::events;
use super::Ctx;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams, Preconditions};
use kube::ResourceExt;
use std::sync::Arc;

/// Records the refusal and marks the pod `Failed`.
pub async fn reject(ctx: Arc<Ctx>, pod: Arc<Pod>, rejection: Rejection) {
    events::record(&ctx, &events::reference(&pod, None), "Warning", &rejection.reason, rejection.message.clone());
    let status = serde_json::json!({
        "phase": "Failed",
        "reason": rejection.reason,
        "message": format!("Pod was rejected: {}", rejection.message),
    });
    super::final_status::write(&ctx.client, &pod, &status).await;
}

/// Removes a refused pod that is being deleted.
pub async fn finish(ctx: Arc<Ctx>, pod: Arc<Pod>) {
    let api: Api<Pod> = Api::namespaced(ctx.client.clone(), &pod.namespace().unwrap_or_default());
    let params = DeleteParams { grace_period_seconds: Some(0), preconditions: Some(Preconditions { uid: pod.uid(), resource_version: None }), ..DeleteParams::default() };
    match api.delete(&pod.name_any(), &params).await {
        Ok(_) => {}
        Err(kube::Error::Api(s)) if s.code == 404 || s.code == 409 => {}
        Err(error) => tracing::warn!(%error, pod = %pod.name_any(), "deleting a refused pod"),
    }
}
