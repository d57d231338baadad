//! storage.k8s.io/v1 StorageClass validation.

use serde_json::Value;

use super::NameRule;
use super::field::{FieldError, Path};
use super::format::is_qualified_name;
use super::json::{arr_at, field, get, s, semantic_eq, str_at};
use super::meta::{
    validate_builtin_object_meta, validate_builtin_object_meta_update, validate_label_name,
};

const MAX_PARAMETER_SIZE: usize = 256 * 1024;
const MAX_PARAMETERS: usize = 512;

pub(crate) fn validate_storage_class_create(obj: &Value) -> Vec<FieldError> {
    let mut errs = validate_builtin_object_meta(obj, false, NameRule::Dns1123Subdomain);
    let provisioner = s(obj, &["provisioner"]);
    let pp = Path::new("provisioner");
    if provisioner.is_empty() {
        errs.push(FieldError::required(&pp, ""));
    } else {
        let lower = provisioner.to_lowercase();
        for m in is_qualified_name(&lower) {
            errs.push(FieldError::invalid(&pp, lower.as_str(), m));
        }
    }
    if let Some(params) = get(obj, &["parameters"]).and_then(Value::as_object) {
        let p = Path::new("parameters");
        if params.len() > MAX_PARAMETERS {
            errs.push(FieldError::too_long(&p, MAX_PARAMETERS));
        } else {
            let mut total = 0usize;
            let mut keys: Vec<&String> = params.keys().collect();
            keys.sort();
            for k in keys {
                if k.is_empty() {
                    errs.push(FieldError::invalid(
                        &p,
                        k.as_str(),
                        "field can not be empty.",
                    ));
                }
                total += k.len() + params[k].as_str().map_or(0, str::len);
            }
            if total > MAX_PARAMETER_SIZE {
                errs.push(FieldError::too_long(&p, MAX_PARAMETER_SIZE));
            }
        }
    }
    let policy = s(obj, &["reclaimPolicy"]);
    if !policy.is_empty() && policy != "Delete" && policy != "Retain" {
        errs.push(FieldError::not_supported(
            &Path::new("reclaimPolicy"),
            policy,
            &["Delete", "Retain"],
        ));
    }
    match str_at(obj, &["volumeBindingMode"]) {
        None => errs.push(FieldError::required(&Path::new("volumeBindingMode"), "")),
        Some(m) if m != "Immediate" && m != "WaitForFirstConsumer" => {
            errs.push(FieldError::not_supported(
                &Path::new("volumeBindingMode"),
                m,
                &["Immediate", "WaitForFirstConsumer"],
            ))
        }
        _ => {}
    }
    let tp = Path::new("allowedTopologies");
    for (i, term) in arr_at(obj, &["allowedTopologies"]).iter().enumerate() {
        let ep = tp.index(i).child("matchLabelExpressions");
        let exprs = arr_at(term, &["matchLabelExpressions"]);
        let mut keys: Vec<&str> = Vec::new();
        for (j, expr) in exprs.iter().enumerate() {
            let xp = ep.index(j);
            let values = arr_at(expr, &["values"]);
            if values.is_empty() {
                errs.push(FieldError::required(&xp.child("values"), ""));
            }
            for (k, v) in values.iter().enumerate() {
                if values[..k].contains(v) {
                    errs.push(FieldError::duplicate(
                        &xp.child("values").index(k),
                        v.clone(),
                    ));
                }
            }
            let key = s(expr, &["key"]);
            errs.extend(validate_label_name(key, &xp.child("key")));
            if keys.contains(&key) {
                errs.push(FieldError::duplicate(&xp.child("key"), key));
            }
            keys.push(key);
        }
        if exprs.is_empty() {
            errs.push(FieldError::required(
                &ep,
                "must have at least one label expression",
            ));
        }
    }
    errs
}

/// Parameters, provisioner, reclaim policy and binding mode are fixed at creation.
pub(crate) fn validate_storage_class_update(new: &Value, old: &Value) -> Vec<FieldError> {
    let mut errs = validate_builtin_object_meta_update(new, old);
    if !semantic_eq(
        get(new, &["parameters"]).unwrap_or(&Value::Null),
        get(old, &["parameters"]).unwrap_or(&Value::Null),
    ) {
        errs.push(FieldError::forbidden(
            &Path::new("parameters"),
            "updates to parameters are forbidden.",
        ));
    }
    if s(new, &["provisioner"]) != s(old, &["provisioner"]) {
        errs.push(FieldError::forbidden(
            &Path::new("provisioner"),
            "updates to provisioner are forbidden.",
        ));
    }
    if s(new, &["reclaimPolicy"]) != s(old, &["reclaimPolicy"]) {
        errs.push(FieldError::forbidden(
            &Path::new("reclaimPolicy"),
            "updates to reclaimPolicy are forbidden.",
        ));
    }
    let nm = field(new, &["volumeBindingMode"])
        .cloned()
        .unwrap_or(Value::Null);
    if !semantic_eq(
        &nm,
        get(old, &["volumeBindingMode"]).unwrap_or(&Value::Null),
    ) {
        errs.push(FieldError::invalid(
            &Path::new("volumeBindingMode"),
            nm,
            "field is immutable",
        ));
    }
    errs
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn msgs(errs: &[FieldError]) -> Vec<String> {
        errs.iter().map(FieldError::message).collect()
    }

    #[test]
    fn validation_storage_class_provisioner_and_updates() {
        let sc = json!({"metadata": {"name": "fast"}, "reclaimPolicy": "Delete", "volumeBindingMode": "Immediate"});
        assert_eq!(
            msgs(&validate_storage_class_create(&sc)),
            vec!["provisioner: Required value"]
        );
        let old = json!({"metadata": {"name": "fast", "resourceVersion": "1"}, "provisioner": "nubis.io/local",
            "parameters": {"type": "ssd"}, "reclaimPolicy": "Delete", "volumeBindingMode": "Immediate"});
        let mut new = old.clone();
        new["parameters"]["type"] = json!("hdd");
        new["volumeBindingMode"] = json!("WaitForFirstConsumer");
        assert_eq!(
            msgs(&validate_storage_class_update(&new, &old)),
            vec![
                "parameters: Forbidden: updates to parameters are forbidden.",
                "volumeBindingMode: Invalid value: \"WaitForFirstConsumer\": field is immutable",
            ]
        );
    }
}
