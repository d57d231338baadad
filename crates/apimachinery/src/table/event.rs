//! The Event row, for `v1` Events and `events.k8s.io/v1` Events alike:
//! Kubernetes prints both from its internal Event, so the newer API's
//! fields are read under the names they map to.

use jiff::Timestamp;
use serde_json::Value;

use super::describe::*;
use super::duration::since;
use super::fields::{has, int_at, opt_int, opt_str, str_at};
use super::{Col, NAME, Printer, Row, name};

pub(super) const PRINTERS: &[Printer] = &[
    Printer::new("", "Event", COLUMNS, core_event),
    Printer::new("events.k8s.io", "Event", COLUMNS, events_event),
];

const COLUMNS: &[Col] = &[
    Col::string("Last Seen", EVENT_LAST_TIMESTAMP),
    Col::string("Type", EVENT_TYPE),
    Col::string("Reason", EVENT_REASON),
    Col::string("Object", EVENT_INVOLVED_OBJECT),
    Col::string("Subobject", OBJECT_REFERENCE_FIELD_PATH).wide(),
    Col::string("Source", EVENT_SOURCE).wide(),
    Col::string("Message", EVENT_MESSAGE),
    Col::string("First Seen", EVENT_FIRST_TIMESTAMP).wide(),
    Col::string("Count", EVENT_COUNT).wide(),
    NAME.wide(),
];

/// The fields of an Event the row shows, whichever API it came from.
struct EventView<'a> {
    first_timestamp: Option<&'a str>,
    last_timestamp: Option<&'a str>,
    event_time: Option<&'a str>,
    count: i64,
    series: Option<(i64, Option<&'a str>)>,
    regarding: Option<&'a Value>,
    source_component: &'a str,
    source_host: &'a str,
    reporting_controller: &'a str,
    reporting_instance: &'a str,
    type_: &'a str,
    reason: &'a str,
    message: &'a str,
}

fn series(ev: &Value) -> Option<(i64, Option<&str>)> {
    has(ev, &["series"]).then(|| {
        (
            int_at(ev, &["series", "count"]),
            opt_str(ev, &["series", "lastObservedTime"]),
        )
    })
}

fn core_event(ev: &Value, now: Timestamp) -> Row {
    let view = EventView {
        first_timestamp: opt_str(ev, &["firstTimestamp"]),
        last_timestamp: opt_str(ev, &["lastTimestamp"]),
        event_time: opt_str(ev, &["eventTime"]),
        count: int_at(ev, &["count"]),
        series: series(ev),
        regarding: ev.get("involvedObject"),
        source_component: str_at(ev, &["source", "component"]),
        source_host: str_at(ev, &["source", "host"]),
        // `reportingComponent` is the v1 name of the internal
        // ReportingController.
        reporting_controller: str_at(ev, &["reportingComponent"]),
        reporting_instance: str_at(ev, &["reportingInstance"]),
        type_: str_at(ev, &["type"]),
        reason: str_at(ev, &["reason"]),
        message: str_at(ev, &["message"]),
    };
    row(ev, &view, now)
}

fn events_event(ev: &Value, now: Timestamp) -> Row {
    let view = EventView {
        first_timestamp: opt_str(ev, &["deprecatedFirstTimestamp"]),
        last_timestamp: opt_str(ev, &["deprecatedLastTimestamp"]),
        event_time: opt_str(ev, &["eventTime"]),
        count: opt_int(ev, &["deprecatedCount"]).unwrap_or(0),
        series: series(ev),
        regarding: ev.get("regarding"),
        source_component: str_at(ev, &["deprecatedSource", "component"]),
        source_host: str_at(ev, &["deprecatedSource", "host"]),
        reporting_controller: str_at(ev, &["reportingController"]),
        reporting_instance: str_at(ev, &["reportingInstance"]),
        type_: str_at(ev, &["type"]),
        reason: str_at(ev, &["reason"]),
        message: str_at(ev, &["note"]),
    };
    row(ev, &view, now)
}

fn unset(ts: Option<&str>) -> bool {
    ts.is_none_or(|t| t.is_empty() || t == "null")
}

fn row(ev: &Value, e: &EventView<'_>, now: Timestamp) -> Row {
    let first_seen = if unset(e.first_timestamp) {
        since(e.event_time, now)
    } else {
        since(e.first_timestamp, now)
    };
    let mut last_seen = if unset(e.last_timestamp) {
        first_seen.clone()
    } else {
        since(e.last_timestamp, now)
    };
    let mut count = e.count;
    if let Some((series_count, last_observed)) = e.series {
        last_seen = since(last_observed, now);
        count = series_count;
    } else if count == 0 {
        // Singleton events of the new API carry no count.
        count = 1;
    }

    let null = Value::Null;
    let regarding = e.regarding.unwrap_or(&null);
    let kind = str_at(regarding, &["kind"]).to_lowercase();
    let target = match str_at(regarding, &["name"]) {
        "" => kind,
        n => format!("{kind}/{n}"),
    };
    let component = if e.source_component.is_empty() {
        e.reporting_controller
    } else {
        e.source_component
    };
    let instance = if e.source_host.is_empty() {
        e.reporting_instance
    } else {
        e.source_host
    };
    let source = if instance.is_empty() {
        component.to_string()
    } else {
        format!("{component}, {instance}")
    };

    Row::new(vec![
        last_seen.into(),
        e.type_.into(),
        e.reason.into(),
        target.into(),
        str_at(regarding, &["fieldPath"]).into(),
        source.into(),
        e.message.trim().into(),
        first_seen.into(),
        count.into(),
        name(ev),
    ])
}

#[cfg(test)]
mod tests {
    use super::super::tests::now;
    use super::*;
    use serde_json::json;

    #[test]
    fn table_event_core_v1() {
        let ev = json!({
            "metadata": {"name": "web-1.17c1"},
            "involvedObject": {"kind": "Pod", "name": "web-1", "fieldPath": "spec.containers{app}"},
            "reason": "Pulled", "message": "  Container image \"nginx\" already present on machine\n",
            "source": {"component": "kubelet", "host": "node-a"},
            "firstTimestamp": "2024-06-01T11:00:00Z", "lastTimestamp": "2024-06-01T11:58:00Z",
            "count": 4, "type": "Normal"
        });
        assert_eq!(
            core_event(&ev, now()).cells,
            vec![
                json!("2m"),
                json!("Normal"),
                json!("Pulled"),
                json!("pod/web-1"),
                json!("spec.containers{app}"),
                json!("kubelet, node-a"),
                json!("Container image \"nginx\" already present on machine"),
                json!("60m"),
                json!(4),
                json!("web-1.17c1")
            ]
        );
    }

    #[test]
    fn table_event_new_api_fields() {
        let ev = json!({
            "metadata": {"name": "e2"},
            "eventTime": "2024-06-01T11:59:50.000000Z",
            "reportingComponent": "default-scheduler", "reportingInstance": "sched-1",
            "involvedObject": {"kind": "Pod", "name": "p"},
            "reason": "Scheduled", "message": "ok", "type": "Normal"
        });
        let cells = core_event(&ev, now()).cells;
        assert_eq!(cells[0], json!("10s"));
        assert_eq!(cells[5], json!("default-scheduler, sched-1"));
        assert_eq!(cells[7], json!("10s"));
        assert_eq!(cells[8], json!(1));

        let v1 = json!({
            "apiVersion": "events.k8s.io/v1", "kind": "Event",
            "metadata": {"name": "e3"},
            "eventTime": "2024-06-01T11:00:00.000000Z",
            "series": {"count": 7, "lastObservedTime": "2024-06-01T11:59:00.000000Z"},
            "regarding": {"kind": "Node", "name": ""},
            "reportingController": "kubelet",
            "reason": "NodeNotReady", "note": "node is not ready", "type": "Warning"
        });
        assert_eq!(
            events_event(&v1, now()).cells,
            vec![
                json!("60s"),
                json!("Warning"),
                json!("NodeNotReady"),
                json!("node"),
                json!(""),
                json!("kubelet"),
                json!("node is not ready"),
                json!("60m"),
                json!(7),
                json!("e3")
            ]
        );
    }

    #[test]
    fn table_event_unknown_times() {
        let ev = json!({"metadata": {"name": "e"}, "involvedObject": {}});
        assert_eq!(core_event(&ev, now()).cells[0], json!("<unknown>"));
        assert_eq!(core_event(&ev, now()).cells[7], json!("<unknown>"));
    }
}
