//! autoscaling/v2 HorizontalPodAutoscaler defaults: minimum replicas, the
//! default CPU metric and fully spelled-out scaling behavior.

use serde_json::{Value, json};

use super::quantities::canonicalize_quantity;
use crate::validation::json::{field, items_mut, member_mut, obj_mut, set_if_absent};

pub(crate) fn default_hpa(hpa: &mut Value) {
    let spec = obj_mut(hpa, "spec");
    set_if_absent(spec, "minReplicas", Value::from(1));
    let no_metrics = spec
        .get("metrics")
        .and_then(Value::as_array)
        .is_none_or(|m| m.is_empty());
    if no_metrics && let Some(m) = spec.as_object_mut() {
        m.insert(
                "metrics".into(),
                json!([{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}}]),
            );
    }
    for metric in items_mut(spec, "metrics") {
        for source in [
            "object",
            "pods",
            "resource",
            "containerResource",
            "external",
        ] {
            if let Some(target) = member_mut(metric, source).and_then(|s| member_mut(s, "target")) {
                for key in ["value", "averageValue"] {
                    if let Some(q) = target.get_mut(key) {
                        canonicalize_quantity(q);
                    }
                }
            }
        }
    }
    if field(spec, &["behavior"]).is_some() {
        let behavior = obj_mut(spec, "behavior");
        let up = json!({"stabilizationWindowSeconds": 0, "selectPolicy": "Max", "policies": [
            {"type": "Pods", "value": 4, "periodSeconds": 15}, {"type": "Percent", "value": 100, "periodSeconds": 15}]});
        let down = json!({"selectPolicy": "Max", "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}]});
        for (key, defaults) in [("scaleUp", up), ("scaleDown", down)] {
            let merged = merge_rules(behavior.get(key), defaults);
            if let Some(m) = behavior.as_object_mut() {
                m.insert(key.into(), merged);
            }
        }
    }
}

/// Kubernetes' `copyHPAScalingRules`: the user's non-null fields over the defaults.
fn merge_rules(user: Option<&Value>, mut defaults: Value) -> Value {
    if let (Some(Value::Object(u)), Some(d)) = (user, defaults.as_object_mut()) {
        for key in [
            "selectPolicy",
            "stabilizationWindowSeconds",
            "policies",
            "tolerance",
        ] {
            if let Some(v) = u.get(key).filter(|v| !v.is_null()) {
                d.insert(key.into(), v.clone());
            }
        }
    }
    defaults
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_hpa_metrics_and_behavior() {
        let mut hpa = json!({"spec": {"maxReplicas": 5, "scaleTargetRef": {"kind": "Deployment", "name": "web"}}});
        default_hpa(&mut hpa);
        assert_eq!(hpa["spec"]["minReplicas"], 1);
        assert_eq!(
            hpa["spec"]["metrics"][0]["resource"]["target"],
            json!({"type": "Utilization", "averageUtilization": 80})
        );
        assert!(hpa["spec"].get("behavior").is_none());
        let mut hpa = json!({"spec": {"maxReplicas": 5, "behavior": {"scaleDown": {"stabilizationWindowSeconds": 60}}}});
        default_hpa(&mut hpa);
        assert_eq!(
            hpa["spec"]["behavior"],
            json!({"scaleDown": {"selectPolicy": "Max", "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}], "stabilizationWindowSeconds": 60},
                "scaleUp": {"stabilizationWindowSeconds": 0, "selectPolicy": "Max", "policies": [
                    {"type": "Pods", "value": 4, "periodSeconds": 15}, {"type": "Percent", "value": 100, "periodSeconds": 15}]}})
        );
    }
}
