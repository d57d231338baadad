//! An Event recorder that writes core/v1 Events the way kube-controller-
//! manager's legacy recorder does (`source.component`, `count`,
//! `firstTimestamp`/`lastTimestamp`, `reportingComponent`), because that is
//! what `kubectl describe` and `kubectl get events` show for built-in
//! controllers. kube-runtime's `events::Recorder` writes `events.k8s.io/v1`
//! Events with a `series` and no `source` or `count`, which kubectl prints
//! differently from a real cluster, so it is not used.
//!
//! Repeats of the same event (same object, type, reason and message) within
//! [`DEDUP_WINDOW`] bump `count` and `lastTimestamp` of the first one, as
//! Kubernetes' EventCorrelator does. Recording is best effort: a failure is
//! logged, never returned, so an Event can never fail a reconcile.

use k8s_openapi::api::core::v1::{Event, EventSource, ObjectReference};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::Client;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::time::Duration;

/// How long a repeat of an event is folded into the first one (Kubernetes'
/// correlator keeps its cache for about as long as an Event lives).
pub const DEDUP_WINDOW: Duration = Duration::from_secs(600);
/// How often series older than the window are dropped from memory.
const PRUNE_EVERY: Duration = Duration::from_secs(60);

/// Event types, as `kubectl describe` prints them.
pub const NORMAL: &str = "Normal";
pub const WARNING: &str = "Warning";

/// Identifies one series of identical events.
#[derive(Clone, PartialEq, Eq, Hash)]
struct Key {
    namespace: String,
    uid: String,
    type_: String,
    reason: String,
    message: String,
}

struct Seen {
    name: String,
    count: i32,
    last: jiff::Timestamp,
}

/// Writes Events for one controller (`component`, e.g.
/// `deployment-controller`).
pub struct Recorder {
    client: Client,
    component: String,
    seen: Mutex<Series>,
}

/// Recent series and when old ones were last forgotten.
struct Series {
    map: HashMap<Key, Seen>,
    pruned: jiff::Timestamp,
}

impl Recorder {
    pub fn new(client: Client, component: &str) -> Recorder {
        Recorder { client, component: component.to_string(), seen: Mutex::new(Series { map: HashMap::new(), pruned: jiff::Timestamp::now() }) }
    }

    /// Records an event about `object`; failures are logged.
    pub async fn record(&self, object: &ObjectReference, type_: &str, reason: &str, message: String) {
        let namespace = object.namespace.clone().unwrap_or_else(|| "default".to_string());
        let key = Key {
            namespace: namespace.clone(),
            uid: object.uid.clone().unwrap_or_default(),
            type_: type_.to_string(),
            reason: reason.to_string(),
            message: message.clone(),
        };
        let now = jiff::Timestamp::now();
        let events: Api<Event> = Api::namespaced(self.client.clone(), &namespace);
        let repeat = {
            let mut series = self.seen.lock();
            // Forget series that ended long ago so the cache stays small;
            // at most once a minute, since a controller creating thousands
            // of pods records thousands of distinct events.
            if now.duration_since(series.pruned).unsigned_abs() >= PRUNE_EVERY {
                series.pruned = now;
                series.map.retain(|_, s| now.duration_since(s.last).unsigned_abs() < DEDUP_WINDOW);
            }
            series.map.get_mut(&key).map(|s| {
                s.count += 1;
                s.last = now;
                (s.name.clone(), s.count)
            })
        };
        if let Some((name, count)) = repeat {
            let patch = serde_json::json!({"count": count, "lastTimestamp": Time(now)});
            match events.patch(&name, &PatchParams::default(), &Patch::Merge(&patch)).await {
                Ok(_) => return,
                // Deleted (TTL, namespace cleanup): start a new series.
                Err(kube::Error::Api(s)) if s.code == 404 => {}
                Err(error) => {
                    tracing::warn!(%error, event = %name, reason, "could not update event");
                    return;
                }
            }
        }
        let event = new_event(object, &namespace, &self.component, type_, reason, &message, now);
        let name = event.metadata.name.clone().unwrap_or_default();
        match events.create(&PostParams::default(), &event).await {
            Ok(_) => {
                self.seen.lock().map.insert(key, Seen { name, count: 1, last: now });
            }
            Err(error) => tracing::warn!(%error, reason, %message, "could not record event"),
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
