//! What the kubelet's Events are about: the pod, or one of its containers
//! by field path (`spec.containers{web}`, `spec.initContainers{setup}`),
//! which is how `kubectl describe` files them under the container; and
//! the queue they are written from.

use super::Ctx;
use controllers::events::Recorder;
use k8s_openapi::api::core::v1::{ObjectReference, Pod};
use tokio::sync::mpsc;

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

/// How many Events may wait to be written; more are dropped (client-go's
/// broadcaster queues 1000 likewise).
const QUEUE: usize = 1000;

struct Pending {
    object: ObjectReference,
    type_: String,
    reason: String,
    message: String,
}

/// Events about to be written, in order, by one task of their own: a pod's
/// start never waits for the writes of its `Pulled`, `Created` and
/// `Started` Events, as the kubelet's never does.
pub struct Sink {
    tx: mpsc::Sender<Pending>,
}

impl Sink {
    /// The sink, and its writer on the current runtime.
    pub fn spawn(recorder: Recorder) -> Sink {
        let (tx, mut rx) = mpsc::channel::<Pending>(QUEUE);
        tokio::spawn(async move {
            while let Some(e) = rx.recv().await {
                recorder.record(&e.object, &e.type_, &e.reason, e.message).await;
            }
        });
        Sink { tx }
    }

    pub fn record(&self, object: &ObjectReference, type_: &str, reason: &str, message: String) {
        let pending = Pending { object: object.clone(), type_: type_.to_string(), reason: reason.to_string(), message };
        if let Err(error) = self.tx.try_send(pending) {
            tracing::debug!(%error, reason, "event dropped: the queue is full");
        }
    }
}

/// Records an Event about `object` as the kubelet.
pub fn record(ctx: &Ctx, object: &ObjectReference, type_: &str, reason: &str, message: String) {
    ctx.events.record(object, type_, reason, message);
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
