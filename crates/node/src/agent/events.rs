//! What the kubelet's Events are about: the pod, or one of its containers
//! by field path (`spec.containers{web}`, `spec.initContainers{setup}`),
//! which is how `kubectl describe` files them under the container.

use super::Ctx;
use k8s_openapi::api::core::v1::{ObjectReference, Pod};

/// The reference of `pod`, or of its container `container`.
pub fn reference(pod: &Pod, container: Option<&str>) -> ObjectReference {
    let init = |name: &str| pod.spec.as_ref().and_then(|s| s.init_containers.as_ref()).is_some_and(|cs| cs.iter().any(|c| c.name == name));
    ObjectReference {
        api_version: Some("v1".into()),
        kind: Some("Pod".into()),
        name: pod.metadata.name.clone(),
        namespace: pod.metadata.namespace.clone(),
        uid: pod.metadata.uid.clone(),
        resource_version: pod.metadata.resource_version.clone(),
        field_path: container.map(|c| if init(c) { format!("spec.initContainers{{{c}}}") } else { format!("spec.containers{{{c}}}") }),
    }
}

/// Records an Event about `object` as the kubelet.
pub async fn record(ctx: &Ctx, object: &ObjectReference, type_: &str, reason: &str, message: String) {
    ctx.recorder.record(object, type_, reason, message).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_name_init_containers_by_their_field_path() {
        let pod: Pod = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "p", "namespace": "ns"},
            "spec": {"initContainers": [{"name": "proxy"}], "containers": [{"name": "web"}]},
        }))
        .expect("a pod");
        assert_eq!(reference(&pod, Some("proxy")).field_path.as_deref(), Some("spec.initContainers{proxy}"));
        assert_eq!(reference(&pod, Some("web")).field_path.as_deref(), Some("spec.containers{web}"));
        assert_eq!(reference(&pod, None).field_path, None);
    }
}
