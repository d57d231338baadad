//! policy/v1 PodDisruptionBudget validation.

use serde_json::Value;

use super::NameRule;
use super::apps::{is_not_more_than_100_percent, validate_positive_int_or_percent};
use super::field::{FieldError, Path};
use super::json::{field, get, str_at};
use super::label_selector::validate_label_selector;
use super::meta::{validate_builtin_object_meta, validate_builtin_object_meta_update};

fn validate_pdb_spec(spec: &Value, p: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let min = field(spec, &["minAvailable"]);
    let max = field(spec, &["maxUnavailable"]);
    if min.is_some() && max.is_some() {
        errs.push(FieldError::invalid(
            p,
            spec.clone(),
            "minAvailable and maxUnavailable cannot be both set",
        ));
    }
    for (key, v) in [("minAvailable", min), ("maxUnavailable", max)] {
        if let Some(v) = v {
            errs.extend(validate_positive_int_or_percent(v, &p.child(key)));
            errs.extend(is_not_more_than_100_percent(v, &p.child(key)));
        }
    }
    errs.extend(validate_label_selector(
        get(spec, &["selector"]),
        &p.child("selector"),
    ));
    if let Some(pol) = str_at(spec, &["unhealthyPodEvictionPolicy"])
        && pol != "AlwaysAllow"
        && pol != "IfHealthyBudget"
    {
        errs.push(FieldError::not_supported(
            &p.child("unhealthyPodEvictionPolicy"),
            pol,
            &["AlwaysAllow", "IfHealthyBudget"],
        ));
    }
    errs
}

/// PodDisruptionBudget names are only checked as path segments, like Kubernetes does.
pub(crate) fn validate_pdb_create(obj: &Value) -> Vec<FieldError> {
    let mut errs = validate_pdb_spec(
        get(obj, &["spec"]).unwrap_or(&Value::Null),
        &Path::new("spec"),
    );
    errs.extend(validate_builtin_object_meta(
        obj,
        true,
        NameRule::PathSegment,
    ));
    errs
}

pub(crate) fn validate_pdb_update(new: &Value, old: &Value) -> Vec<FieldError> {
    let mut errs = validate_pdb_spec(
        get(new, &["spec"]).unwrap_or(&Value::Null),
        &Path::new("spec"),
    );
    errs.extend(validate_builtin_object_meta_update(new, old));
    errs
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn validation_pdb_min_xor_max() {
        let pdb = json!({"metadata": {"name": "web", "namespace": "default"},
            "spec": {"minAvailable": "120%", "maxUnavailable": 1, "selector": {"matchLabels": {"app": "web"}}}});
        let msgs: Vec<String> = validate_pdb_create(&pdb)
            .iter()
            .map(FieldError::message)
            .collect();
        assert_eq!(msgs.len(), 2);
        assert!(msgs[0].starts_with("spec: Invalid value: "));
        assert!(msgs[0].ends_with(": minAvailable and maxUnavailable cannot be both set"));
        assert_eq!(
            msgs[1],
            "spec.minAvailable: Invalid value: intstr.IntOrString{Type:1, IntVal:0, StrVal:\"120%\"}: must not be greater than 100%"
        );
    }
}
