//! Checks on an apply request's body that do not need the live object.

use serde_json::Value;

use super::ApplyError;

/// Checks that an applied configuration is an object with `apiVersion`,
/// `kind` and `metadata.name` (strings, not empty) and no
/// `metadata.managedFields`, which Kubernetes refuses in apply bodies
/// ("metadata.managedFields must be nil").
pub fn validate_applied_config(config: &Value) -> Result<(), ApplyError> {
    let Value::Object(map) = config else {
        return Err(ApplyError::InvalidConfig(
            "the applied configuration must be an object".into(),
        ));
    };
    for key in ["apiVersion", "kind"] {
        match map.get(key).and_then(Value::as_str) {
            Some(s) if !s.is_empty() => {}
            _ => return Err(ApplyError::InvalidConfig(format!("{key} must be set"))),
        }
    }
    match config.pointer("/metadata/name").and_then(Value::as_str) {
        Some(s) if !s.is_empty() => {}
        _ => {
            return Err(ApplyError::InvalidConfig(
                "metadata.name must be set".into(),
            ));
        }
    }
    check_no_managed_fields(config)
}

/// Kubernetes' rule for apply bodies: `metadata.managedFields` must be
/// absent (or null).
pub(crate) fn check_no_managed_fields(config: &Value) -> Result<(), ApplyError> {
    match config.pointer("/metadata/managedFields") {
        None | Some(Value::Null) => Ok(()),
        Some(_) => Err(ApplyError::ManagedFieldsInApply),
    }
}

/// Whether a write's `metadata.managedFields` asks to clear them: an empty
/// list, or a list of one empty entry (Kubernetes' reset forms).
pub(crate) fn is_reset(object: &Value) -> bool {
    match object.pointer("/metadata/managedFields") {
        Some(Value::Array(items)) => match items.as_slice() {
            [] => true,
            [only] => only.as_object().is_some_and(|m| m.is_empty()),
            _ => false,
        },
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn apply_validate_applied_config() {
        let ok = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}});
        assert_eq!(validate_applied_config(&ok), Ok(()));
        let msg = |v: Value| validate_applied_config(&v).map_err(|e| e.to_string()).err();
        assert_eq!(
            msg(json!([])).as_deref(),
            Some("the applied configuration must be an object")
        );
        assert_eq!(
            msg(json!({"kind": "ConfigMap", "metadata": {"name": "a"}})).as_deref(),
            Some("apiVersion must be set")
        );
        assert_eq!(
            msg(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {}})).as_deref(),
            Some("metadata.name must be set")
        );
        assert_eq!(
            msg(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "managedFields": []}})).as_deref(),
            Some("metadata.managedFields must be nil")
        );
        assert!(is_reset(&json!({"metadata": {"managedFields": []}})));
        assert!(is_reset(&json!({"metadata": {"managedFields": [{}]}})));
        assert!(!is_reset(&json!({"metadata": {}})));
    }
}
