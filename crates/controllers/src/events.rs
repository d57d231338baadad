//! An Event recorder that writes core/v1 Events the way kube-controller-
//! manager's legacy recorder does (`source.component`, `count`,
//! `firstTimestamp`/`lastTimestamp`, `reportingComponent`), because that is
//! what `kubectl describe` and `kubectl get events` show for built-in
//! controllers. kube-runtime's `events::Recorder` writes `events.k8s.io/v1`
//! Events with a `series` and no `source` or `count`, which kubectl prints
//! differently from a real cluster, so it is not used.
//!
//! Which write an event becomes (a new Event, a bump of an earlier one's
//! `count`, a combined event, or nothing once an object has had too many)
//! is client-go's EventCorrelator's decision, made in [`correlator`].
//! Recording is best effort: a failure is logged, never returned, so an
//! Event can never fail a reconcile.

mod correlator;

use correlator::{Correlator, Subject, Write};
use k8s_openapi::api::core::v1::{Event, EventSource, ObjectReference};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::Client;
use parking_lot::Mutex;

/// Event types, as `kubectl describe` prints them.
pub const NORMAL: &str = "Normal";
pub const WARNING: &str = "Warning";

/// Writes Events for one controller (`component`, e.g.
/// `deployment-controller`).
pub struct Recorder {
    client: Client,
    component: String,
    correlator: Mutex<Correlator>,
}

impl Recorder {
    pub fn new(client: Client, component: &str) -> Recorder {
        Recorder { client, component: component.to_string(), correlator: Mutex::new(Correlator::new(jiff::Timestamp::now())) }
    }

    /// Records an event about `object`; failures are logged.
    pub async fn record(&self, object: &ObjectReference, type_: &str, reason: &str, message: String) {
        let namespace = object.namespace.clone().unwrap_or_else(|| "default".to_string());
        let subject = Subject {
            namespace: namespace.clone(),
            kind: object.kind.clone().unwrap_or_default(),
            name: object.name.clone().unwrap_or_default(),
            uid: object.uid.clone().unwrap_or_default(),
        };
        let now = jiff::Timestamp::now();
        let write = self.correlator.lock().correlate(subject, type_, reason, &message, now);
        let events: Api<Event> = Api::namespaced(self.client.clone(), &namespace);
        let (series, message) = match write {
            Write::Drop => {
                tracing::debug!(reason, %message, "event dropped: too many for this object");
                return;
            }
            Write::Patch { series, name, count, message } => {
                let patch = serde_json::json!({"count": count, "lastTimestamp": Time(now), "message": message});
                match events.patch(&name, &PatchParams::default(), &Patch::Merge(&patch)).await {
                    Ok(_) => return,
                    // Deleted (TTL, namespace cleanup): start the series again.
                    Err(kube::Error::Api(s)) if s.code == 404 => (series, message),
                    Err(error) => {
                        tracing::warn!(%error, event = %name, reason, "could not update event");
                        return;
                    }
                }
            }
            Write::Create { series, message } => (series, message),
        };
        let event = new_event(object, &namespace, &self.component, type_, reason, &message, now);
        let name = event.metadata.name.clone().unwrap_or_default();
        match events.create(&PostParams::default(), &event).await {
            Ok(_) => self.correlator.lock().created(&series, name),
            Err(error) => {
                self.correlator.lock().forget(&series);
                tracing::warn!(%error, reason, %message, "could not record event");
            }
        }
    }
}

/// The Event Kubernetes' recorder writes the first time: named after the
/// object and the time in hex nanoseconds.
fn new_event(
    object: &ObjectReference,
    namespace: &str,
    component: &str,
    type_: &str,
    reason: &str,
    message: &str,
    now: jiff::Timestamp,
) -> Event {
    let name = format!("{}.{:x}", object.name.as_deref().unwrap_or("unknown"), now.as_nanosecond());
    Event {
        metadata: ObjectMeta { name: Some(name), namespace: Some(namespace.to_string()), ..Default::default() },
        involved_object: object.clone(),
        reason: Some(reason.to_string()),
        message: Some(message.to_string()),
        type_: Some(type_.to_string()),
        source: Some(EventSource { component: Some(component.to_string()), host: None }),
        count: Some(1),
        first_timestamp: Some(Time(now)),
        last_timestamp: Some(Time(now)),
        reporting_component: Some(component.to_string()),
        reporting_instance: Some(String::new()),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_new_event_has_the_legacy_recorder_fields() {
        let object = ObjectReference {
            kind: Some("Deployment".into()),
            api_version: Some("apps/v1".into()),
            name: Some("web".into()),
            namespace: Some("default".into()),
            uid: Some("u1".into()),
            ..Default::default()
        };
        let now = jiff::Timestamp::from_second(1_700_000_000).expect("valid time");
        let e = new_event(&object, "default", "deployment-controller", NORMAL, "ScalingReplicaSet", "Scaled up", now);
        let v = serde_json::to_value(&e).expect("serializes");
        assert_eq!(v["metadata"]["name"], format!("web.{:x}", now.as_nanosecond()));
        assert_eq!(v["source"]["component"], "deployment-controller");
        assert_eq!(v["reportingComponent"], "deployment-controller");
        assert_eq!(v["count"], 1);
        assert_eq!(v["type"], "Normal");
        assert_eq!(v["involvedObject"]["kind"], "Deployment");
        assert_eq!(v["firstTimestamp"], "2023-11-14T22:13:20Z");
    }
}
