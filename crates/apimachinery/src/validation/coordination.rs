//! coordination.k8s.io/v1 Lease validation.

use serde_json::Value;

use super::NameRule;
use super::field::{FieldError, Path};
use super::json::{field, get, i64_at, str_at};
use super::meta::validate_builtin_object_meta;

pub(crate) fn validate_lease_create(obj: &Value) -> Vec<FieldError> {
    let mut errs = validate_builtin_object_meta(obj, true, NameRule::Dns1123Subdomain);
    let spec = get(obj, &["spec"]).unwrap_or(&Value::Null);
    let p = Path::new("spec");
    if let Some(d) = i64_at(spec, &["leaseDurationSeconds"])
        && d <= 0
    {
        errs.push(FieldError::invalid(
            &p.child("leaseDurationSeconds"),
            d,
            "must be greater than 0",
        ));
    }
    if let Some(t) = i64_at(spec, &["leaseTransitions"])
        && t < 0
    {
        errs.push(FieldError::invalid(
            &p.child("leaseTransitions"),
            t,
            "must be greater than or equal to 0",
        ));
    }
    if let Some(strategy) = str_at(spec, &["strategy"])
        && strategy != "OldestEmulationVersion"
        && !strategy.contains('/')
    {
        errs.push(FieldError::not_supported(
            &p.child("strategy"),
            strategy,
            &["OldestEmulationVersion"],
        ));
    }
    if field(spec, &["preferredHolder"]).is_some() && field(spec, &["strategy"]).is_none() {
        errs.push(FieldError::forbidden(
            &p.child("preferredHolder"),
            "may only be specified if `strategy` is defined",
        ));
    }
    errs
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn validation_lease_durations() {
        let lease = json!({"metadata": {"name": "node-1", "namespace": "kube-node-lease"},
            "spec": {"holderIdentity": "node-1", "leaseDurationSeconds": 0, "leaseTransitions": -1}});
        let msgs: Vec<String> = validate_lease_create(&lease)
            .iter()
            .map(FieldError::message)
            .collect();
        assert_eq!(
            msgs,
            vec![
                "spec.leaseDurationSeconds: Invalid value: 0: must be greater than 0",
                "spec.leaseTransitions: Invalid value: -1: must be greater than or equal to 0",
            ]
        );
    }
}
