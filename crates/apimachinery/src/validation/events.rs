//! events.k8s.io/v1 Event validation (the strict rules of the newer events
//! API; core/v1 Events keep the legacy checks in `core_v1`).
//!
//! Kubernetes validates these after converting them to the internal type, so
//! field paths use the internal names (`message` for `note`,
//! `involvedObject` for `regarding`, `source` for `deprecatedSource`).

use serde_json::Value;

use super::NameRule;
use super::field::{FieldError, Path};
use super::format::{is_dns1123_subdomain, is_qualified_name};
use super::json::{field, get, i64_at, s, semantic_eq};
use super::meta::{validate_builtin_object_meta, validate_builtin_object_meta_update};

fn validate_event(obj: &Value) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let namespace = s(obj, &["metadata", "namespace"]);
    let regarding_ns = s(obj, &["regarding", "namespace"]);
    if regarding_ns.is_empty() && namespace != "default" && namespace != "kube-system" {
        errs.push(FieldError::invalid(
            &Path::new("involvedObject").child("namespace"),
            regarding_ns,
            "does not match event.namespace",
        ));
    }
    let rc = s(obj, &["reportingController"]);
    let rcp = Path::new("reportingController");
    if rc.is_empty() {
        errs.push(FieldError::required(&rcp, ""));
    }
    for m in is_qualified_name(rc) {
        errs.push(FieldError::invalid(&rcp, rc, m));
    }
    for (key, shown, max) in [
        ("reportingInstance", "reportingInstance", 128),
        ("action", "action", 128),
        ("reason", "reason", 128),
    ] {
        let v = s(obj, &[key]);
        if v.is_empty() {
            errs.push(FieldError::required(&Path::new(shown), ""));
        }
        if v.len() > max {
            errs.push(FieldError::invalid(
                &Path::new(shown),
                "",
                format!("can have at most {max} characters"),
            ));
        }
    }
    if s(obj, &["note"]).len() > 1024 {
        errs.push(FieldError::invalid(
            &Path::new("message"),
            "",
            "can have at most 1024 characters",
        ));
    }
    for m in is_dns1123_subdomain(namespace) {
        errs.push(FieldError::invalid(&Path::new("namespace"), namespace, m));
    }
    errs
}

fn validate_series(obj: &Value) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if let Some(series) = field(obj, &["series"]) {
        let count = i64_at(series, &["count"]).unwrap_or(0);
        if count < 2 {
            errs.push(FieldError::invalid(
                &Path::new("series").child("count"),
                "",
                format!("should be at least 2, got {count}"),
            ));
        }
        if field(series, &["lastObservedTime"]).is_none() {
            errs.push(FieldError::required(
                &Path::new("series").child("lastObservedTime"),
                "",
            ));
        }
    }
    errs
}

pub(crate) fn validate_event_create(obj: &Value) -> Vec<FieldError> {
    let mut errs = validate_event(obj);
    errs.extend(validate_builtin_object_meta(
        obj,
        true,
        NameRule::Dns1123Subdomain,
    ));
    errs.extend(validate_series(obj));
    if field(obj, &["eventTime"]).is_none() {
        errs.push(FieldError::required(&Path::new("eventTime"), ""));
    }
    let ty = s(obj, &["type"]);
    if ty != "Normal" && ty != "Warning" {
        errs.push(FieldError::invalid(
            &Path::new("type"),
            "",
            format!("has invalid value: {ty}"),
        ));
    }
    for (key, shown) in [
        ("deprecatedFirstTimestamp", "firstTimestamp"),
        ("deprecatedLastTimestamp", "lastTimestamp"),
    ] {
        if field(obj, &[key]).is_some() {
            errs.push(FieldError::invalid(
                &Path::new(shown),
                "",
                "needs to be unset",
            ));
        }
    }
    if i64_at(obj, &["deprecatedCount"]).unwrap_or(0) != 0 {
        errs.push(FieldError::invalid(
            &Path::new("count"),
            "",
            "needs to be unset",
        ));
    }
    if !s(obj, &["deprecatedSource", "component"]).is_empty()
        || !s(obj, &["deprecatedSource", "host"]).is_empty()
    {
        errs.push(FieldError::invalid(
            &Path::new("source"),
            "",
            "needs to be unset",
        ));
    }
    errs
}

/// What an event describes never changes; only series and notes move on.
pub(crate) fn validate_event_update(new: &Value, old: &Value) -> Vec<FieldError> {
    let mut errs = validate_event(new);
    errs.extend(validate_builtin_object_meta_update(new, old));
    if !semantic_eq(
        get(new, &["series"]).unwrap_or(&Value::Null),
        get(old, &["series"]).unwrap_or(&Value::Null),
    ) {
        errs.extend(validate_series(new));
    }
    for (key, shown) in [
        ("regarding", "involvedObject"),
        ("reason", "reason"),
        ("note", "message"),
        ("deprecatedSource", "source"),
        ("deprecatedFirstTimestamp", "firstTimestamp"),
        ("deprecatedLastTimestamp", "lastTimestamp"),
        ("deprecatedCount", "count"),
        ("type", "type"),
        ("eventTime", "eventTime"),
        ("action", "action"),
        ("related", "related"),
        ("reportingController", "reportingController"),
        ("reportingInstance", "reportingInstance"),
    ] {
        let nv = get(new, &[key]).unwrap_or(&Value::Null);
        if !semantic_eq(nv, get(old, &[key]).unwrap_or(&Value::Null)) {
            errs.push(FieldError::invalid(
                &Path::new(shown),
                nv.clone(),
                "field is immutable",
            ));
        }
    }
    errs
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn validation_events_v1_required_fields() {
        let ev = json!({"metadata": {"name": "pod.1", "namespace": "default"}, "type": "Info", "regarding": {"kind": "Pod", "name": "p", "namespace": "default"}});
        let msgs: Vec<String> = validate_event_create(&ev)
            .iter()
            .map(FieldError::message)
            .collect();
        assert_eq!(
            msgs,
            vec![
                "reportingController: Required value",
                "reportingController: Invalid value: \"\": name part must be non-empty",
                "reportingController: Invalid value: \"\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
                "reportingInstance: Required value",
                "action: Required value",
                "reason: Required value",
                "eventTime: Required value",
                "type: Invalid value: \"\": has invalid value: Info",
            ]
        );
    }
}
