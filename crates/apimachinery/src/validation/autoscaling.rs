//! autoscaling/v2 HorizontalPodAutoscaler: replica bounds, the scale target,
//! metric sources and targets, and scaling behavior.

use serde_json::Value;

use super::NameRule;
use super::field::{FieldError, Path};
use super::format::is_path_segment_name;
use super::json::{arr_at, field, get, i64_at, s, str_at};
use super::label_selector::validate_label_selector;
use super::meta::{validate_builtin_object_meta, validate_builtin_object_meta_update};
use super::resources::parse_quantity_field;

const METRIC_TYPES: &[&str] = &[
    "ContainerResource",
    "External",
    "Object",
    "Pods",
    "Resource",
];
const MAX_PERIOD_SECONDS: i64 = 1800;
const MAX_STABILIZATION_WINDOW_SECONDS: i64 = 3600;

fn validate_cross_version_ref(r: &Value, p: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    for key in ["kind", "name"] {
        let v = s(r, &[key]);
        if v.is_empty() {
            errs.push(FieldError::required(&p.child(key), ""));
        } else {
            for m in is_path_segment_name(v) {
                errs.push(FieldError::invalid(&p.child(key), v, m));
            }
        }
    }
    errs
}

fn validate_metric_target(t: &Value, p: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let ty = s(t, &["type"]);
    if ty.is_empty() {
        errs.push(FieldError::required(
            &p.child("type"),
            "must specify a metric target type",
        ));
    }
    if !["Utilization", "Value", "AverageValue"].contains(&ty) {
        errs.push(FieldError::invalid(
            &p.child("type"),
            ty,
            "must be either Utilization, Value, or AverageValue",
        ));
    }
    for key in ["value", "averageValue"] {
        if let Some(v) = field(t, &[key]) {
            match parse_quantity_field(v, &p.child(key)) {
                Ok(q) if q.sign() != 1 => errs.push(FieldError::invalid(
                    &p.child(key),
                    q.canonical(),
                    "must be positive",
                )),
                Ok(_) => {}
                Err(e) => errs.push(e),
            }
        }
    }
    if let Some(u) = i64_at(t, &["averageUtilization"])
        && u < 1
    {
        errs.push(FieldError::invalid(
            &p.child("averageUtilization"),
            u,
            "must be greater than 0",
        ));
    }
    errs
}

fn validate_metric_identifier(m: &Value, p: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let name = s(m, &["name"]);
    if name.is_empty() {
        errs.push(FieldError::required(
            &p.child("name"),
            "must specify a metric name",
        ));
    } else {
        for msg in is_path_segment_name(name) {
            errs.push(FieldError::invalid(&p.child("name"), name, msg));
        }
    }
    errs.extend(validate_label_selector(
        get(m, &["selector"]),
        &p.child("selector"),
    ));
    errs
}

fn validate_source(kind: &str, src: &Value, p: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let target = get(src, &["target"]).unwrap_or(&Value::Null);
    let tp = p.child("target");
    match kind {
        "object" => {
            errs.extend(validate_cross_version_ref(
                get(src, &["describedObject"]).unwrap_or(&Value::Null),
                &p.child("describedObject"),
            ));
            errs.extend(validate_metric_identifier(
                get(src, &["metric"]).unwrap_or(&Value::Null),
                &p.child("metric"),
            ));
            errs.extend(validate_metric_target(target, &tp));
            if field(target, &["value"]).is_none() && field(target, &["averageValue"]).is_none() {
                errs.push(FieldError::required(
                    &tp.child("averageValue"),
                    "must set either a target value or averageValue",
                ));
            }
        }
        "pods" => {
            errs.extend(validate_metric_identifier(
                get(src, &["metric"]).unwrap_or(&Value::Null),
                &p.child("metric"),
            ));
            errs.extend(validate_metric_target(target, &tp));
            if field(target, &["averageValue"]).is_none() {
                errs.push(FieldError::required(
                    &tp.child("averageValue"),
                    "must specify a positive target averageValue",
                ));
            }
        }
        "external" => {
            errs.extend(validate_metric_identifier(
                get(src, &["metric"]).unwrap_or(&Value::Null),
                &p.child("metric"),
            ));
            errs.extend(validate_metric_target(target, &tp));
            if field(target, &["value"]).is_none() && field(target, &["averageValue"]).is_none() {
                errs.push(FieldError::required(
                    &tp.child("averageValue"),
                    "must set either a target value for metric or a per-pod target",
                ));
            }
            if field(target, &["value"]).is_some() && field(target, &["averageValue"]).is_some() {
                errs.push(FieldError::forbidden(
                    &tp.child("value"),
                    "may not set both a target value for metric and a per-pod target",
                ));
            }
        }
        _ => {
            if s(src, &["name"]).is_empty() {
                errs.push(FieldError::required(
                    &p.child("name"),
                    "must specify a resource name",
                ));
            }
            if kind == "containerResource" {
                let c = s(src, &["container"]);
                if c.is_empty() {
                    errs.push(FieldError::required(
                        &p.child("container"),
                        "must specify a container",
                    ));
                } else {
                    for m in super::format::is_dns1123_label(c) {
                        errs.push(FieldError::invalid(&p.child("container"), c, m));
                    }
                }
            }
            errs.extend(validate_metric_target(target, &tp));
            let (util, avg) = (
                field(target, &["averageUtilization"]),
                field(target, &["averageValue"]),
            );
            if util.is_none() && avg.is_none() {
                errs.push(FieldError::required(
                    &tp.child("averageUtilization"),
                    "must set either a target raw value or a target utilization",
                ));
            }
            if util.is_some() && avg.is_some() {
                errs.push(FieldError::forbidden(
                    &tp.child("averageValue"),
                    "may not set both a target raw value and a target utilization",
                ));
            }
        }
    }
    errs
}

fn validate_metric_spec(m: &Value, p: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let ty = s(m, &["type"]);
    if ty.is_empty() {
        errs.push(FieldError::required(
            &p.child("type"),
            "must specify a metric source type",
        ));
    }
    if !METRIC_TYPES.contains(&ty) {
        errs.push(FieldError::not_supported(
            &p.child("type"),
            ty,
            METRIC_TYPES,
        ));
    }
    let mut present: Vec<&str> = Vec::new();
    for key in [
        "object",
        "pods",
        "resource",
        "containerResource",
        "external",
    ] {
        if let Some(src) = field(m, &[key]) {
            present.push(key);
            if present.len() == 1 {
                errs.extend(validate_source(key, src, &p.child(key)));
            }
        }
    }
    let expected = match ty {
        "Object" => "object",
        "Pods" => "pods",
        "Resource" => "resource",
        "ContainerResource" => "containerResource",
        "External" => "external",
        _ => {
            errs.push(FieldError::not_supported(
                &p.child("type"),
                ty,
                METRIC_TYPES,
            ));
            ""
        }
    };
    if !expected.is_empty() && field(m, &[expected]).is_none() {
        errs.push(FieldError::required(
            &p.child(expected),
            "must populate information for the given metric source",
        ));
    }
    if present.len() != 1 {
        let mut others: Vec<&str> = present.into_iter().filter(|k| *k != expected).collect();
        others.sort();
        for k in others {
            errs.push(FieldError::forbidden(
                &p.child(k),
                "must populate the given metric source only",
            ));
        }
    }
    errs
}

fn validate_scaling_rules(rules: Option<&Value>, p: &Path) -> Vec<FieldError> {
    let Some(rules) = rules.filter(|v| !v.is_null()) else {
        return Vec::new();
    };
    let mut errs = Vec::new();
    if let Some(w) = i64_at(rules, &["stabilizationWindowSeconds"]) {
        let wp = p.child("stabilizationWindowSeconds");
        if w < 0 {
            errs.push(FieldError::invalid(
                &wp,
                w,
                "must be greater than or equal to zero",
            ));
        }
        if w > MAX_STABILIZATION_WINDOW_SECONDS {
            errs.push(FieldError::invalid(
                &wp,
                w,
                format!("must be less than or equal to {MAX_STABILIZATION_WINDOW_SECONDS}"),
            ));
        }
    }
    if let Some(sp) = str_at(rules, &["selectPolicy"])
        && !["Disabled", "Max", "Min"].contains(&sp)
    {
        errs.push(FieldError::not_supported(
            &p.child("selectPolicy"),
            sp,
            &["Disabled", "Max", "Min"],
        ));
    }
    let pp = p.child("policies");
    let policies = arr_at(rules, &["policies"]);
    if policies.is_empty() {
        errs.push(FieldError::required(
            &pp,
            "must specify at least one Policy",
        ));
    }
    for (i, pol) in policies.iter().enumerate() {
        let ip = pp.index(i);
        let ty = s(pol, &["type"]);
        if ty != "Pods" && ty != "Percent" {
            errs.push(FieldError::not_supported(
                &ip.child("type"),
                ty,
                &["Percent", "Pods"],
            ));
        }
        let value = i64_at(pol, &["value"]).unwrap_or(0);
        if value <= 0 {
            errs.push(FieldError::invalid(
                &ip.child("value"),
                value,
                "must be greater than zero",
            ));
        }
        let period = i64_at(pol, &["periodSeconds"]).unwrap_or(0);
        if period <= 0 {
            errs.push(FieldError::invalid(
                &ip.child("periodSeconds"),
                period,
                "must be greater than zero",
            ));
        }
        if period > MAX_PERIOD_SECONDS {
            errs.push(FieldError::invalid(
                &ip.child("periodSeconds"),
                period,
                format!("must be less than or equal to {MAX_PERIOD_SECONDS}"),
            ));
        }
    }
    errs
}

fn validate_hpa_spec(spec: &Value, p: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let min = i64_at(spec, &["minReplicas"]);
    if let Some(m) = min.filter(|m| *m < 1) {
        errs.push(FieldError::invalid(
            &p.child("minReplicas"),
            m,
            "must be greater than or equal to 1",
        ));
    }
    let max = i64_at(spec, &["maxReplicas"]).unwrap_or(0);
    if max < 1 {
        errs.push(FieldError::invalid(
            &p.child("maxReplicas"),
            max,
            "must be greater than 0",
        ));
    }
    if min.is_some_and(|m| max < m) {
        errs.push(FieldError::invalid(
            &p.child("maxReplicas"),
            max,
            "must be greater than or equal to `minReplicas`",
        ));
    }
    errs.extend(validate_cross_version_ref(
        get(spec, &["scaleTargetRef"]).unwrap_or(&Value::Null),
        &p.child("scaleTargetRef"),
    ));
    let mp = p.child("metrics");
    for (i, m) in arr_at(spec, &["metrics"]).iter().enumerate() {
        errs.extend(validate_metric_spec(m, &mp.index(i)));
    }
    if let Some(b) = field(spec, &["behavior"]) {
        let bp = p.child("behavior");
        errs.extend(validate_scaling_rules(
            get(b, &["scaleUp"]),
            &bp.child("scaleUp"),
        ));
        errs.extend(validate_scaling_rules(
            get(b, &["scaleDown"]),
            &bp.child("scaleDown"),
        ));
    }
    errs
}

pub(crate) fn validate_hpa_create(obj: &Value) -> Vec<FieldError> {
    let mut errs = validate_builtin_object_meta(obj, true, NameRule::Dns1123Subdomain);
    errs.extend(validate_hpa_spec(
        get(obj, &["spec"]).unwrap_or(&Value::Null),
        &Path::new("spec"),
    ));
    errs
}

pub(crate) fn validate_hpa_update(new: &Value, old: &Value) -> Vec<FieldError> {
    let mut errs = validate_builtin_object_meta_update(new, old);
    errs.extend(validate_hpa_spec(
        get(new, &["spec"]).unwrap_or(&Value::Null),
        &Path::new("spec"),
    ));
    errs
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::defaults::apply_defaults;
    use serde_json::json;

    fn msgs(errs: &[FieldError]) -> Vec<String> {
        errs.iter().map(FieldError::message).collect()
    }

    #[test]
    fn validation_hpa_replicas_and_target() {
        let mut hpa = json!({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}, "minReplicas": 5, "maxReplicas": 2}});
        apply_defaults("autoscaling", "HorizontalPodAutoscaler", &mut hpa);
        assert_eq!(
            msgs(&validate_hpa_create(&hpa)),
            vec![
                "spec.maxReplicas: Invalid value: 2: must be greater than or equal to `minReplicas`"
            ]
        );
        hpa["spec"]["maxReplicas"] = json!(0);
        hpa["spec"]["scaleTargetRef"] = json!({"kind": "Deployment"});
        assert_eq!(
            msgs(&validate_hpa_create(&hpa)),
            vec![
                "spec.maxReplicas: Invalid value: 0: must be greater than 0",
                "spec.maxReplicas: Invalid value: 0: must be greater than or equal to `minReplicas`",
                "spec.scaleTargetRef.name: Required value",
            ]
        );
    }

    #[test]
    fn validation_hpa_metrics() {
        let hpa = json!({"metadata": {"name": "web", "namespace": "default"},
            "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"}, "minReplicas": 1, "maxReplicas": 3,
                "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 0}}},
                            {"type": "Pods"}]}});
        assert_eq!(
            msgs(&validate_hpa_create(&hpa)),
            vec![
                "spec.metrics[0].resource.target.averageUtilization: Invalid value: 0: must be greater than 0",
                "spec.metrics[1].pods: Required value: must populate information for the given metric source",
            ]
        );
    }
}
