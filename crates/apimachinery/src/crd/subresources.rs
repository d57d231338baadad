//! Validation of a CRD version's `subresources` and
//! `additionalPrinterColumns`, with apiextensions' paths (which use the
//! internal field names, e.g. `JSONPath`).

use serde_json::Value;

use crate::validation::{FieldError, Path};

const COLUMN_TYPES: &str = "boolean,date,integer,number,string";
const COLUMN_FORMATS: &[&str] = &[
    "byte",
    "date",
    "date-time",
    "double",
    "float",
    "int32",
    "int64",
    "password",
];

pub(crate) fn validate_subresources(sub: &Value, path: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let Some(scale) = sub.get("scale").filter(|s| s.is_object()) else {
        return errs;
    };
    let s = |k: &str| scale.get(k).and_then(Value::as_str).unwrap_or("");
    for (key, prefix, under) in [
        (
            "specReplicasPath",
            ".spec.",
            "should be a json path under .spec",
        ),
        (
            "statusReplicasPath",
            ".status.",
            "should be a json path under .status",
        ),
    ] {
        let p = path.child(&format!("scale.{key}"));
        let value = s(key);
        if value.is_empty() {
            errs.push(FieldError::required(&p, ""));
            continue;
        }
        let simple = simple_json_path(value, &p);
        if !simple.is_empty() {
            errs.extend(simple);
        } else if !value.starts_with(prefix) {
            errs.push(FieldError::invalid(&p, value, under));
        }
    }
    let selector = s("labelSelectorPath");
    if !selector.is_empty() {
        let p = path.child("scale.labelSelectorPath");
        let simple = simple_json_path(selector, &p);
        if !simple.is_empty() {
            errs.extend(simple);
        } else if !selector.starts_with(".spec.") && !selector.starts_with(".status.") {
            errs.push(FieldError::invalid(
                &p,
                selector,
                "should be a json path under either .spec or .status",
            ));
        }
    }
    errs
}

/// `.a.b`-style paths only, as the scale subresource and columns need.
fn simple_json_path(s: &str, path: &Path) -> Vec<FieldError> {
    if s.is_empty() {
        return vec![FieldError::invalid(path, s, "must not be empty")];
    }
    if !s.starts_with('.') {
        return vec![FieldError::invalid(
            path,
            s,
            "must be a simple json path starting with .",
        )];
    }
    Vec::new()
}

pub(crate) fn validate_column(col: &Value, path: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let s = |k: &str| col.get(k).and_then(Value::as_str).unwrap_or("");
    if s("name").is_empty() {
        errs.push(FieldError::required(&path.child("name"), ""));
    }
    let type_ = s("type");
    let must = format!("must be one of {COLUMN_TYPES}");
    if type_.is_empty() {
        errs.push(FieldError::required(&path.child("type"), must));
    } else if !COLUMN_TYPES.split(',').any(|t| t == type_) {
        errs.push(FieldError::invalid(&path.child("type"), type_, must));
    }
    let format = s("format");
    if !format.is_empty() && !COLUMN_FORMATS.contains(&format) {
        errs.push(FieldError::invalid(
            &path.child("format"),
            format,
            format!("must be one of {}", COLUMN_FORMATS.join(",")),
        ));
    }
    let json_path = s("jsonPath");
    if json_path.is_empty() {
        errs.push(FieldError::required(&path.child("JSONPath"), ""));
    } else {
        errs.extend(simple_json_path(json_path, &path.child("JSONPath")));
    }
    errs
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn msgs(errs: Vec<FieldError>) -> Vec<String> {
        errs.iter().map(FieldError::message).collect()
    }

    #[test]
    fn crd_subresources_scale_paths() {
        let p = Path::new("spec.subresources");
        assert!(
            validate_subresources(
                &json!({"status": {}, "scale": {"specReplicasPath": ".spec.replicas",
            "statusReplicasPath": ".status.replicas", "labelSelectorPath": ".status.selector"}}),
                &p
            )
            .is_empty()
        );
        assert_eq!(
            msgs(validate_subresources(
                &json!({"scale": {"specReplicasPath": ".status.replicas",
                "statusReplicasPath": "status.replicas", "labelSelectorPath": ".metadata.labels"}}),
                &p
            )),
            vec![
                "spec.subresources.scale.specReplicasPath: Invalid value: \".status.replicas\": should be a json path under .spec",
                "spec.subresources.scale.statusReplicasPath: Invalid value: \"status.replicas\": must be a simple json path starting with .",
                "spec.subresources.scale.labelSelectorPath: Invalid value: \".metadata.labels\": should be a json path under either .spec or .status",
            ]
        );
        assert_eq!(
            msgs(validate_subresources(&json!({"scale": {}}), &p)),
            vec![
                "spec.subresources.scale.specReplicasPath: Required value",
                "spec.subresources.scale.statusReplicasPath: Required value",
            ]
        );
    }

    #[test]
    fn crd_printer_columns() {
        let p = Path::new("spec.additionalPrinterColumns").index(0);
        assert!(
            validate_column(
                &json!({"name": "A", "type": "integer", "jsonPath": ".spec.a"}),
                &p
            )
            .is_empty()
        );
        assert_eq!(
            msgs(validate_column(
                &json!({"type": "time", "format": "hex", "jsonPath": "spec"}),
                &p
            )),
            vec![
                "spec.additionalPrinterColumns[0].name: Required value",
                "spec.additionalPrinterColumns[0].type: Invalid value: \"time\": must be one of boolean,date,integer,number,string",
                "spec.additionalPrinterColumns[0].format: Invalid value: \"hex\": must be one of byte,date,date-time,double,float,int32,int64,password",
                "spec.additionalPrinterColumns[0].JSONPath: Invalid value: \"spec\": must be a simple json path starting with .",
            ]
        );
    }
}
