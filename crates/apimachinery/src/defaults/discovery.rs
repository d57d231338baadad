//! discovery.k8s.io/v1 EndpointSlice defaults and events.k8s.io/v1 Event
//! zero values.

use serde_json::{Value, json};

use crate::validation::json::{items_mut, obj_mut, set_if_absent};

pub(crate) fn default_endpoint_slice(es: &mut Value) {
    for port in items_mut(es, "ports") {
        set_if_absent(port, "name", Value::from(""));
        set_if_absent(port, "protocol", Value::from("TCP"));
    }
    for ep in items_mut(es, "endpoints") {
        // EndpointConditions is a struct, so Go always writes `conditions: {}`.
        obj_mut(ep, "conditions");
    }
    set_if_absent(es, "endpoints", Value::Null);
}

pub(crate) fn default_events_v1_event(ev: &mut Value) {
    set_if_absent(ev, "eventTime", Value::Null);
    set_if_absent(ev, "deprecatedFirstTimestamp", Value::Null);
    set_if_absent(ev, "deprecatedLastTimestamp", Value::Null);
    set_if_absent(ev, "deprecatedSource", json!({}));
    obj_mut(ev, "regarding");
}
