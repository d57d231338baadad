//! Printers of `autoscaling`: HorizontalPodAutoscaler (with its TARGETS
//! summary, "cpu: 40%/80%") and the Scale subresource.

use jiff::Timestamp;
use serde_json::{Value, json};

use super::describe::*;
use super::fields::{arr_at, at, has, int_at, opt_int, str_at};
use super::quantity::quantity_ptr_string;
use super::{AGE, Col, NAME, Printer, Row, age, name};

pub(super) const PRINTERS: &[Printer] = &[
    Printer::new(
        "autoscaling",
        "HorizontalPodAutoscaler",
        HPA,
        horizontal_pod_autoscaler,
    ),
    Printer::new("autoscaling", "Scale", SCALE, scale),
];

const HPA: &[Col] = &[
    NAME,
    Col::string("Reference", HORIZONTAL_POD_AUTOSCALER_SPEC_SCALE_TARGET_REF),
    Col::string("Targets", HORIZONTAL_POD_AUTOSCALER_SPEC_METRICS),
    Col::string("MinPods", HORIZONTAL_POD_AUTOSCALER_SPEC_MIN_REPLICAS),
    Col::string("MaxPods", HORIZONTAL_POD_AUTOSCALER_SPEC_MAX_REPLICAS),
    Col::string(
        "Replicas",
        HORIZONTAL_POD_AUTOSCALER_STATUS_CURRENT_REPLICAS,
    ),
    AGE,
];

/// The metrics of an `autoscaling/v2` HPA, or those an `autoscaling/v1`
/// one converts to (its CPU utilization target).
fn metrics(hpa: &Value) -> (Vec<Value>, Vec<Value>) {
    if has(hpa, &["spec", "metrics"]) || !has(hpa, &["spec", "targetCPUUtilizationPercentage"]) {
        return (
            arr_at(hpa, &["spec", "metrics"]).to_vec(),
            arr_at(hpa, &["status", "currentMetrics"]).to_vec(),
        );
    }
    let spec = vec![json!({"type": "Resource", "resource": {"name": "cpu",
        "target": {"type": "Utilization", "averageUtilization": at(hpa, &["spec", "targetCPUUtilizationPercentage"])}}})];
    let status = match at(hpa, &["status", "currentCPUUtilizationPercentage"]) {
        Some(current) => vec![json!({"type": "Resource", "resource": {"name": "cpu",
            "current": {"averageUtilization": current}}})],
        None => Vec::new(),
    };
    (spec, status)
}

/// One metric as "current/target": averages get "(avg)", utilizations are
/// percentages, resources are prefixed with their name.
fn format_metric(spec: &Value, status: Option<&Value>) -> String {
    let unknown = || "<unknown>".to_string();
    let current =
        |source: &str, field: &str| status.and_then(|s| at(s, &[source, "current", field]));
    let has_status = |source: &str| status.is_some_and(|s| has(s, &[source]));
    let percent = |v: Option<&Value>| v.and_then(Value::as_i64).map(|p| format!("{p}%"));
    match str_at(spec, &["type"]) {
        source_type @ ("External" | "Object") => {
            let source = if source_type == "External" {
                "external"
            } else {
                "object"
            };
            if has(spec, &[source, "target", "averageValue"]) {
                let cur = if has_status(source) && current(source, "averageValue").is_some() {
                    quantity_ptr_string(current(source, "averageValue"))
                } else {
                    unknown()
                };
                format!(
                    "{cur}/{} (avg)",
                    quantity_ptr_string(at(spec, &[source, "target", "averageValue"]))
                )
            } else {
                let cur = if has_status(source) {
                    quantity_ptr_string(current(source, "value"))
                } else {
                    unknown()
                };
                format!(
                    "{cur}/{}",
                    quantity_ptr_string(at(spec, &[source, "target", "value"]))
                )
            }
        }
        "Pods" => {
            let cur = if has_status("pods") {
                quantity_ptr_string(current("pods", "averageValue"))
            } else {
                unknown()
            };
            format!(
                "{cur}/{}",
                quantity_ptr_string(at(spec, &["pods", "target", "averageValue"]))
            )
        }
        source_type @ ("Resource" | "ContainerResource") => {
            let source = if source_type == "Resource" {
                "resource"
            } else {
                "containerResource"
            };
            let resource = str_at(spec, &[source, "name"]);
            if has(spec, &[source, "target", "averageValue"]) {
                let cur = if has_status(source) {
                    quantity_ptr_string(current(source, "averageValue"))
                } else {
                    unknown()
                };
                format!(
                    "{resource}: {cur}/{}",
                    quantity_ptr_string(at(spec, &[source, "target", "averageValue"]))
                )
            } else {
                let cur = percent(current(source, "averageUtilization")).unwrap_or_else(unknown);
                let target = percent(at(spec, &[source, "target", "averageUtilization"]))
                    .unwrap_or_else(|| "<auto>".to_string());
                format!("{resource}: {cur}/{target}")
            }
        }
        _ => "<unknown type>".to_string(),
    }
}

fn format_metrics(specs: &[Value], statuses: &[Value]) -> String {
    const MAX: usize = 2;
    if specs.is_empty() {
        return "<none>".to_string();
    }
    let list: Vec<String> = specs
        .iter()
        .enumerate()
        .map(|(i, s)| format_metric(s, statuses.get(i)))
        .collect();
    let shown = list[..list.len().min(MAX)].join(", ");
    if list.len() > MAX {
        format!("{shown} + {} more...", list.len() - MAX)
    } else {
        shown
    }
}

fn horizontal_pod_autoscaler(hpa: &Value, now: Timestamp) -> Row {
    let (specs, statuses) = metrics(hpa);
    let reference = format!(
        "{}/{}",
        str_at(hpa, &["spec", "scaleTargetRef", "kind"]),
        str_at(hpa, &["spec", "scaleTargetRef", "name"])
    );
    let min_pods = opt_int(hpa, &["spec", "minReplicas"])
        .map_or_else(|| "<unset>".to_string(), |m| m.to_string());
    Row::new(vec![
        name(hpa),
        reference.into(),
        format_metrics(&specs, &statuses).into(),
        min_pods.into(),
        int_at(hpa, &["spec", "maxReplicas"]).into(),
        int_at(hpa, &["status", "currentReplicas"]).into(),
        age(hpa, now),
    ])
}

// Kubernetes gives the Scale name column no "name" format.
const SCALE: &[Col] = &[
    Col::string("Name", OBJECT_META_NAME),
    Col::integer("Desired", SCALE_SPEC_REPLICAS),
    Col::integer("Available", SCALE_STATUS_REPLICAS),
    AGE,
];

fn scale(obj: &Value, now: Timestamp) -> Row {
    Row::new(vec![
        name(obj),
        int_at(obj, &["spec", "replicas"]).into(),
        int_at(obj, &["status", "replicas"]).into(),
        age(obj, now),
    ])
}

#[cfg(test)]
mod tests {
    use super::super::tests::now;
    use super::*;

    #[test]
    fn table_autoscaling_hpa_v2_targets() {
        let hpa = json!({"metadata": {"name": "web", "creationTimestamp": "2024-06-01T11:00:00Z"},
            "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"}, "minReplicas": 1, "maxReplicas": 10,
                "metrics": [
                    {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}},
                    {"type": "Resource", "resource": {"name": "memory", "target": {"type": "AverageValue", "averageValue": "500Mi"}}},
                    {"type": "Pods", "pods": {"metric": {"name": "qps"}, "target": {"type": "AverageValue", "averageValue": "1k"}}}]},
            "status": {"currentReplicas": 2, "currentMetrics": [
                {"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": 40, "averageValue": "200m"}}}]}});
        assert_eq!(
            horizontal_pod_autoscaler(&hpa, now()).cells,
            vec![
                json!("web"),
                json!("Deployment/web"),
                json!("cpu: 40%/80%, memory: <unknown>/500Mi + 1 more..."),
                json!("1"),
                json!(10),
                json!(2),
                json!("60m")
            ]
        );
    }

    #[test]
    fn table_autoscaling_hpa_v1_and_kinds() {
        let v1 = json!({"metadata": {"name": "w"}, "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "w"},
            "maxReplicas": 3, "targetCPUUtilizationPercentage": 50}, "status": {"currentReplicas": 1}});
        assert_eq!(
            horizontal_pod_autoscaler(&v1, now()).cells[2..6],
            [
                json!("cpu: <unknown>/50%"),
                json!("<unset>"),
                json!(3),
                json!(1)
            ]
        );
        let none = json!({"metadata": {"name": "n"}, "spec": {"maxReplicas": 1}});
        assert_eq!(
            horizontal_pod_autoscaler(&none, now()).cells[2],
            json!("<none>")
        );
        let ext = json!({"type": "External", "external": {"metric": {"name": "q"}, "target": {"type": "Value", "value": "10"}}});
        let ext_status = json!({"type": "External", "external": {"current": {"value": "4"}}});
        assert_eq!(format_metric(&ext, Some(&ext_status)), "4/10");
        let obj = json!({"type": "Object", "object": {"target": {"type": "AverageValue", "averageValue": "2"}}});
        assert_eq!(format_metric(&obj, None), "<unknown>/2 (avg)");
        let cr = json!({"type": "ContainerResource", "containerResource": {"name": "cpu", "container": "app",
            "target": {"type": "Utilization"}}});
        assert_eq!(format_metric(&cr, None), "cpu: <unknown>/<auto>");
        assert_eq!(
            format_metric(&json!({"type": "Weird"}), None),
            "<unknown type>"
        );
    }

    #[test]
    fn table_autoscaling_scale() {
        let s = json!({"metadata": {"name": "web"}, "spec": {"replicas": 3}, "status": {"replicas": 2}});
        assert_eq!(
            scale(&s, now()).cells,
            vec![json!("web"), json!(3), json!(2), json!("<unknown>")]
        );
        assert_eq!(SCALE[0].format, "");
    }
}
