//! Objects nested in a custom resource under
//! `x-kubernetes-embedded-resource: true` must look like resources: an
//! `apiVersion`, a `kind` and valid `metadata` (apiextensions'
//! `objectmeta.Validate`). The resource root itself is the server's job.

use serde_json::Value;

use super::schema::StructuralSchema;
use crate::validation::format::is_dns1035_label;
use crate::validation::{FieldError, NameRule, Path, validate_object_meta};

/// Validates the embedded resources inside `obj` (the resource root).
pub(crate) fn validate(s: &StructuralSchema, obj: &Value) -> Vec<FieldError> {
    let mut errs = Vec::new();
    walk(&Path::new(""), obj, s, &mut errs);
    errs
}

fn walk(path: &Path, x: &Value, s: &StructuralSchema, errs: &mut Vec<FieldError>) {
    match x {
        Value::Object(m) => {
            if s.embedded_resource {
                errs.extend(resource(path, x));
            }
            for (k, v) in m {
                if let Some(p) = s.property(k) {
                    walk(&path.child(k), v, p, errs);
                } else if let Some(ap) = s.additional_properties() {
                    walk(&path.key(k), v, ap, errs);
                }
            }
        }
        Value::Array(a) => {
            if let Some(items) = s.items() {
                for (i, v) in a.iter().enumerate() {
                    walk(&path.index(i), v, items, errs);
                }
            }
        }
        _ => {}
    }
}

fn resource(path: &Path, x: &Value) -> Vec<FieldError> {
    let mut errs = Vec::new();
    for key in ["apiVersion", "kind"] {
        if x.get(key).is_none() {
            errs.push(FieldError::required(&path.child(key), "must not be empty"));
        }
    }
    if let Some(v) = x.get("apiVersion") {
        let p = path.child("apiVersion");
        match v.as_str() {
            None => errs.push(FieldError::invalid(&p, v.clone(), "must be a string")),
            Some("") => errs.push(FieldError::invalid(&p, "", "must not be empty")),
            Some(gv) if gv.matches('/').count() > 1 => errs.push(FieldError::invalid(
                &p,
                gv,
                format!("unexpected GroupVersion string: {gv}"),
            )),
            Some(_) => {}
        }
    }
    if let Some(v) = x.get("kind") {
        let p = path.child("kind");
        match v.as_str() {
            None => errs.push(FieldError::invalid(&p, v.clone(), "must be a string")),
            Some("") => errs.push(FieldError::invalid(&p, "", "must not be empty")),
            Some(kind) => {
                let problems = is_dns1035_label(&kind.to_lowercase());
                if !problems.is_empty() {
                    errs.push(FieldError::invalid(
                        &p,
                        kind,
                        format!(
                            "may have mixed case, but should otherwise match: {}",
                            problems.join(",")
                        ),
                    ));
                }
            }
        }
    }
    if let Some(meta) = x.get("metadata") {
        errs.extend(metadata(path, meta));
    }
    errs
}

/// The embedded `metadata` follows ObjectMeta rules; a missing name is
/// fine (Kubernetes validates it with a stand-in name).
fn metadata(path: &Path, meta: &Value) -> Vec<FieldError> {
    let p = path.child("metadata");
    if !meta.is_object() {
        return vec![FieldError::invalid(&p, meta.clone(), "must be an object")];
    }
    let mut meta = meta.clone();
    if meta
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or("")
        .is_empty()
        && let Some(m) = meta.as_object_mut()
    {
        m.insert("name".into(), Value::from("fakename"));
    }
    let namespaced = meta
        .get("namespace")
        .and_then(Value::as_str)
        .is_some_and(|n| !n.is_empty());
    let wrapped = serde_json::json!({ "metadata": meta });
    validate_object_meta(&wrapped, namespaced, NameRule::PathSegment)
        .into_iter()
        .map(|mut e| {
            // The shared validator roots paths at `metadata`; re-root them.
            e.field = match e.field.strip_prefix("metadata") {
                Some(rest) => format!("{p}{rest}"),
                None => e.field,
            };
            e
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn crd_embedded_resources_need_type_meta() {
        let s = StructuralSchema::parse(
            &json!({"type": "object", "properties": {"spec": {"type": "object",
            "properties": {"template": {"type": "object", "x-kubernetes-embedded-resource": true,
                "x-kubernetes-preserve-unknown-fields": true}}}}}),
        );
        let obj = json!({"spec": {"template": {"kind": "Pod_x", "metadata": {"labels": {"a": "-bad-"}}}}});
        let msgs: Vec<String> = validate(&s, &obj).iter().map(FieldError::message).collect();
        assert_eq!(msgs.len(), 3, "{msgs:?}");
        assert_eq!(
            msgs[0],
            "spec.template.apiVersion: Required value: must not be empty"
        );
        assert!(msgs[1].starts_with("spec.template.kind: Invalid value: \"Pod_x\": may have mixed case, but should otherwise match: a DNS-1035 label"));
        assert!(
            msgs[2].starts_with("spec.template.metadata.labels: Invalid value: \"-bad-\""),
            "{}",
            msgs[2]
        );
        let good = json!({"spec": {"template": {"apiVersion": "v1", "kind": "Pod", "metadata": {"labels": {"a": "b"}}}}});
        assert!(validate(&s, &good).is_empty());
        let bad_gv = json!({"spec": {"template": {"apiVersion": "a/b/c", "kind": "Pod"}}});
        assert_eq!(
            validate(&s, &bad_gv)[0].message(),
            "spec.template.apiVersion: Invalid value: \"a/b/c\": unexpected GroupVersion string: a/b/c"
        );
    }
}
