//! Conversion between a served version and the stored form, for resources
//! that share storage with another group: `events.k8s.io/v1` Events are
//! stored as core/v1 Events (as Kubernetes does), so `kubectl get events`
//! sees what an `events.k8s.io` client recorded and the other way round.
//! Every other resource is stored as it is served.

use serde_json::{Map, Value};

/// Field pairs: (events.k8s.io/v1 name, core/v1 name).
const EVENT_FIELDS: &[(&str, &str)] = &[
    ("regarding", "involvedObject"),
    ("related", "related"),
    ("note", "message"),
    ("reason", "reason"),
    ("type", "type"),
    ("action", "action"),
    ("eventTime", "eventTime"),
    ("reportingController", "reportingComponent"),
    ("reportingInstance", "reportingInstance"),
    ("series", "series"),
    ("deprecatedSource", "source"),
    ("deprecatedFirstTimestamp", "firstTimestamp"),
    ("deprecatedLastTimestamp", "lastTimestamp"),
    ("deprecatedCount", "count"),
];

/// Whether objects of this kind are served exactly as stored.
pub fn served_as_stored(group: &str, kind: &str) -> bool {
    !is_events_v1(group, kind)
}

fn is_events_v1(group: &str, kind: &str) -> bool {
    group == "events.k8s.io" && kind == "Event"
}

fn rename(obj: &Value, pairs: impl Iterator<Item = (&'static str, &'static str)>, api_version: &str) -> Value {
    let mut out = Map::new();
    out.insert("apiVersion".into(), Value::String(api_version.into()));
    out.insert("kind".into(), Value::String("Event".into()));
    if let Some(m) = obj.get("metadata") {
        out.insert("metadata".into(), m.clone());
    }
    for (from, to) in pairs {
        if let Some(v) = obj.get(from) {
            out.insert(to.into(), v.clone());
        }
    }
    Value::Object(out)
}

/// The stored form of an object of the served `group`/`kind`.
pub fn to_storage(group: &str, kind: &str, obj: Value) -> Value {
    if !is_events_v1(group, kind) {
        return obj;
    }
    rename(&obj, EVENT_FIELDS.iter().copied(), "v1")
}

/// The served form of a stored object for `group`/`kind`.
pub fn from_storage(group: &str, kind: &str, obj: Value) -> Value {
    if !is_events_v1(group, kind) {
        return obj;
    }
    rename(&obj, EVENT_FIELDS.iter().map(|(a, b)| (*b, *a)), "events.k8s.io/v1")
}

/// The storage key prefix of a resource, when it is not its own.
pub fn storage_alias(group: &str, plural: &str) -> Option<&'static str> {
    (group == "events.k8s.io" && plural == "events").then_some("/registry/core/events/")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn conversion_events_round_trip_through_core() {
        let ev = json!({
            "apiVersion": "events.k8s.io/v1", "kind": "Event",
            "metadata": {"name": "e", "namespace": "ns"},
            "regarding": {"kind": "Pod", "name": "p"},
            "note": "pulled", "reason": "Pulled", "type": "Normal",
            "reportingController": "nubis/node", "reportingInstance": "n1", "action": "Pull",
            "eventTime": "2024-01-01T00:00:00.000000Z",
        });
        let core = to_storage("events.k8s.io", "Event", ev.clone());
        assert_eq!(core["apiVersion"], "v1");
        assert_eq!(core["involvedObject"]["name"], "p");
        assert_eq!(core["message"], "pulled");
        assert_eq!(core["reportingComponent"], "nubis/node");
        assert_eq!(from_storage("events.k8s.io", "Event", core), ev);
    }

    #[test]
    fn conversion_is_identity_elsewhere() {
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "data": {"a": "b"}});
        assert_eq!(to_storage("", "ConfigMap", cm.clone()), cm);
        assert_eq!(from_storage("", "Event", cm.clone()), cm);
        assert_eq!(storage_alias("", "events"), None);
    }
}
