//! The structure of `metav1.LabelSelector` (matchLabels / matchExpressions)
//! and matching a template's labels against it, for workload validation.
//!
//! This is deliberately self-contained: the crate's `selector` module parses
//! the string syntax; here only the object form matters.

use serde_json::Value;

use super::field::{FieldError, Path, go_quote, go_repr, go_string_map_text, go_string_slice_text};
use super::format::{is_qualified_name, is_valid_label_value};
use super::json::{arr_at, get, s, string_map};
use super::meta::{validate_label_name, validate_labels};

/// Validates a label selector object (`ValidateLabelSelector`).
pub(crate) fn validate_label_selector(sel: Option<&Value>, path: &Path) -> Vec<FieldError> {
    let Some(sel) = sel.filter(|v| !v.is_null()) else {
        return Vec::new();
    };
    let mut errs = validate_labels(get(sel, &["matchLabels"]), &path.child("matchLabels"));
    for (i, expr) in arr_at(sel, &["matchExpressions"]).iter().enumerate() {
        let p = path.child("matchExpressions").index(i);
        let op = s(expr, &["operator"]);
        let values = arr_at(expr, &["values"]);
        match op {
            "In" | "NotIn" => {
                if values.is_empty() {
                    errs.push(FieldError::required(
                        &p.child("values"),
                        "must be specified when `operator` is 'In' or 'NotIn'",
                    ));
                }
            }
            "Exists" | "DoesNotExist" => {
                if !values.is_empty() {
                    errs.push(FieldError::forbidden(
                        &p.child("values"),
                        "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
                    ));
                }
            }
            _ => errs.push(FieldError::invalid(
                &p.child("operator"),
                op,
                "not a valid selector operator",
            )),
        }
        errs.extend(validate_label_name(s(expr, &["key"]), &p.child("key")));
        for (j, v) in values.iter().enumerate() {
            let v = v.as_str().unwrap_or("");
            for msg in is_valid_label_value(v) {
                errs.push(FieldError::invalid(&p.child("values").index(j), v, msg));
            }
        }
    }
    errs
}

/// Whether the selector object has neither matchLabels nor matchExpressions.
pub(crate) fn is_empty_selector(sel: &Value) -> bool {
    get(sel, &["matchLabels"])
        .and_then(Value::as_object)
        .is_none_or(|m| m.is_empty())
        && arr_at(sel, &["matchExpressions"]).is_empty()
}

/// A parsed selector: `None` requirements means "matches nothing" (a nil
/// selector), an empty list "matches everything".
pub(crate) struct Selector {
    reqs: Option<Vec<Requirement>>,
}

struct Requirement {
    key: String,
    op: String,
    values: Vec<String>,
}

impl Selector {
    /// Whether the selector matches everything (Kubernetes' `Empty()`).
    pub(crate) fn is_everything(&self) -> bool {
        self.reqs.as_ref().is_some_and(Vec::is_empty)
    }

    pub(crate) fn matches(&self, labels: Option<&Value>) -> bool {
        let Some(reqs) = &self.reqs else {
            return false;
        };
        let labels = string_map(labels);
        let get_label = |k: &str| labels.iter().find(|(lk, _)| *lk == k).map(|(_, v)| *v);
        reqs.iter().all(|r| match r.op.as_str() {
            "In" => get_label(&r.key).is_some_and(|v| r.values.iter().any(|x| x == v)),
            "NotIn" => get_label(&r.key).is_none_or(|v| !r.values.iter().any(|x| x == v)),
            "Exists" => get_label(&r.key).is_some(),
            "DoesNotExist" => get_label(&r.key).is_none(),
            _ => false,
        })
    }
}

/// `metav1.LabelSelectorAsSelector`: `Err` when the selector is malformed.
pub(crate) fn as_selector(sel: Option<&Value>) -> Result<Selector, ()> {
    let Some(sel) = sel.filter(|v| !v.is_null()) else {
        return Ok(Selector { reqs: None });
    };
    let mut reqs = Vec::new();
    for (k, v) in string_map(get(sel, &["matchLabels"])) {
        if !is_qualified_name(k).is_empty() || !is_valid_label_value(v).is_empty() {
            return Err(());
        }
        reqs.push(Requirement {
            key: k.to_string(),
            op: "In".into(),
            values: vec![v.to_string()],
        });
    }
    for expr in arr_at(sel, &["matchExpressions"]) {
        let key = s(expr, &["key"]);
        let op = s(expr, &["operator"]);
        let values: Vec<String> = arr_at(expr, &["values"])
            .iter()
            .map(|v| v.as_str().unwrap_or("").to_string())
            .collect();
        let ok = match op {
            "In" | "NotIn" => !values.is_empty(),
            "Exists" | "DoesNotExist" => values.is_empty(),
            _ => false,
        };
        if !ok
            || !is_qualified_name(key).is_empty()
            || values.iter().any(|v| !is_valid_label_value(v).is_empty())
        {
            return Err(());
        }
        reqs.push(Requirement {
            key: key.to_string(),
            op: op.to_string(),
            values,
        });
    }
    Ok(Selector { reqs: Some(reqs) })
}

/// Go's `%#v` of a `metav1.LabelSelector`, as Kubernetes prints it in errors.
pub(crate) fn go_label_selector(sel: Option<&Value>) -> Value {
    let sel = sel.unwrap_or(&Value::Null);
    let labels = go_string_map_text(get(sel, &["matchLabels"]).filter(|v| !v.is_null()));
    let exprs = match get(sel, &["matchExpressions"]).and_then(Value::as_array) {
        None => "[]v1.LabelSelectorRequirement(nil)".to_string(),
        Some(list) => {
            let items: Vec<String> = list
                .iter()
                .map(|e| {
                    format!(
                        "v1.LabelSelectorRequirement{{Key:{}, Operator:{}, Values:{}}}",
                        go_quote(s(e, &["key"])),
                        go_quote(s(e, &["operator"])),
                        go_string_slice_text(get(e, &["values"]).filter(|v| !v.is_null()))
                    )
                })
                .collect();
            format!("[]v1.LabelSelectorRequirement{{{}}}", items.join(", "))
        }
    };
    go_repr(format!(
        "v1.LabelSelector{{MatchLabels:{labels}, MatchExpressions:{exprs}}}"
    ))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap: a panic is a failure
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn validation_label_selector_structure() {
        let sel = json!({"matchExpressions": [
            {"key": "a", "operator": "In"},
            {"key": "b", "operator": "Exists", "values": ["x"]},
            {"key": "c", "operator": "Foo"}]});
        let msgs: Vec<String> =
            validate_label_selector(Some(&sel), &Path::new("spec").child("selector"))
                .iter()
                .map(FieldError::message)
                .collect();
        assert_eq!(
            msgs,
            vec![
                "spec.selector.matchExpressions[0].values: Required value: must be specified when `operator` is 'In' or 'NotIn'",
                "spec.selector.matchExpressions[1].values: Forbidden: may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
                "spec.selector.matchExpressions[2].operator: Invalid value: \"Foo\": not a valid selector operator",
            ]
        );
        assert!(as_selector(Some(&sel)).is_err());
    }

    #[test]
    fn validation_label_selector_matching() {
        let sel = json!({"matchLabels": {"app": "web"}, "matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["db"]}]});
        let s = as_selector(Some(&sel)).unwrap();
        assert!(s.matches(Some(&json!({"app": "web"}))));
        assert!(s.matches(Some(&json!({"app": "web", "tier": "fe"}))));
        assert!(!s.matches(Some(&json!({"app": "web", "tier": "db"}))));
        assert!(!s.matches(None));
        assert!(as_selector(Some(&json!({}))).unwrap().is_everything());
        assert!(!as_selector(None).unwrap().matches(Some(&json!({"a": "b"}))));
    }

    #[test]
    fn validation_label_selector_go_repr() {
        let v = go_label_selector(Some(&json!({"matchLabels": {"app": "x"}})));
        assert_eq!(
            FieldError::invalid(
                &Path::new("spec").child("selector"),
                v,
                "field is immutable"
            )
            .message(),
            "spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{\"app\":\"x\"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable"
        );
    }
}
