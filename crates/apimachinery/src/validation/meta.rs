//! `metadata` validation on create and update (Kubernetes'
//! `ValidateObjectMeta` / `ValidateObjectMetaUpdate`), shared by built-in
//! kinds and custom resources.

use serde_json::Value;

use super::NameRule;
use super::field::{FieldError, Path, go_quote, go_repr};
use super::format::{
    is_dns1035_label, is_dns1123_label, is_dns1123_subdomain, is_path_segment_name,
    is_path_segment_prefix, is_qualified_name, is_valid_label_value,
};
use super::json::{arr_at, as_i64, field, get, s, semantic_eq, string_map};

/// The total size of all annotation keys and values (256 KiB).
pub const TOTAL_ANNOTATION_SIZE_LIMIT: usize = 256 * 1024;

/// Finalizers Kubernetes accepts without a domain prefix.
const STANDARD_FINALIZERS: &[&str] = &["kubernetes", "orphan", "foregroundDeletion"];

/// Kubernetes' messages for `name` under `rule`; `prefix` validates a
/// `generateName` (a trailing dash is allowed).
pub fn validate_name_with_prefix(name: &str, rule: NameRule, prefix: bool) -> Vec<String> {
    let masked;
    let name = if prefix && !matches!(rule, NameRule::PathSegment) {
        masked = mask_trailing_dash(name);
        masked.as_str()
    } else {
        name
    };
    match rule {
        NameRule::Dns1123Subdomain => is_dns1123_subdomain(name),
        NameRule::Dns1123Label => is_dns1123_label(name),
        NameRule::Dns1035Label => is_dns1035_label(name),
        NameRule::PathSegment => {
            if prefix {
                is_path_segment_prefix(name)
            } else {
                is_path_segment_name(name)
            }
        }
    }
}

/// Kubernetes replaces the last two characters by `a` (sic) when the prefix ends in `-`.
fn mask_trailing_dash(name: &str) -> String {
    if name.len() > 1 && name.ends_with('-') {
        let cut = name
            .char_indices()
            .rev()
            .nth(1)
            .map(|(i, _)| i)
            .unwrap_or(0);
        format!("{}a", &name[..cut])
    } else {
        name.to_string()
    }
}

/// Validates `obj.metadata` of a new object. `namespaced` says whether the
/// kind lives in a namespace: then the namespace is required (a DNS label),
/// otherwise it must be empty.
pub fn validate_object_meta(obj: &Value, namespaced: bool, rule: NameRule) -> Vec<FieldError> {
    let meta = get(obj, &["metadata"]).unwrap_or(&Value::Null);
    let path = Path::new("metadata");
    let mut errs = Vec::new();
    let generate_name = s(meta, &["generateName"]);
    if !generate_name.is_empty() {
        for msg in validate_name_with_prefix(generate_name, rule, true) {
            errs.push(FieldError::invalid(
                &path.child("generateName"),
                generate_name,
                msg,
            ));
        }
    }
    let name = s(meta, &["name"]);
    if name.is_empty() {
        errs.push(FieldError::required(
            &path.child("name"),
            "name or generateName is required",
        ));
    } else {
        for msg in validate_name_with_prefix(name, rule, false) {
            errs.push(FieldError::invalid(&path.child("name"), name, msg));
        }
    }
    errs.extend(validate_meta_common(meta, namespaced, &path));
    errs
}

/// [`validate_object_meta`] plus the rule built-in kinds add: finalizers
/// without a domain prefix must be standard ones.
pub(crate) fn validate_builtin_object_meta(
    obj: &Value,
    namespaced: bool,
    rule: NameRule,
) -> Vec<FieldError> {
    let mut errs = validate_object_meta(obj, namespaced, rule);
    let meta = get(obj, &["metadata"]).unwrap_or(&Value::Null);
    errs.extend(validate_kube_finalizer_names(meta, &Path::new("metadata")));
    errs
}

fn validate_meta_common(meta: &Value, namespaced: bool, path: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let namespace = s(meta, &["namespace"]);
    if namespaced {
        if namespace.is_empty() {
            errs.push(FieldError::required(&path.child("namespace"), ""));
        } else {
            for msg in is_dns1123_label(namespace) {
                errs.push(FieldError::invalid(
                    &path.child("namespace"),
                    namespace,
                    msg,
                ));
            }
        }
    } else if !namespace.is_empty() {
        errs.push(FieldError::forbidden(
            &path.child("namespace"),
            "not allowed on this type",
        ));
    }
    if let Some(g) = get(meta, &["generation"]).and_then(as_i64)
        && g < 0
    {
        errs.push(FieldError::invalid(
            &path.child("generation"),
            g,
            "must be greater than or equal to 0",
        ));
    }
    errs.extend(validate_labels(
        get(meta, &["labels"]),
        &path.child("labels"),
    ));
    errs.extend(validate_annotations(
        get(meta, &["annotations"]),
        &path.child("annotations"),
    ));
    errs.extend(validate_owner_references(
        arr_at(meta, &["ownerReferences"]),
        &path.child("ownerReferences"),
    ));
    errs.extend(validate_finalizers(
        arr_at(meta, &["finalizers"]),
        &path.child("finalizers"),
    ));
    errs.extend(validate_managed_fields(
        arr_at(meta, &["managedFields"]),
        &path.child("managedFields"),
    ));
    errs
}

/// Label keys must be qualified names, values valid label values.
pub fn validate_labels(labels: Option<&Value>, path: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    for (k, v) in string_map(labels) {
        errs.extend(validate_label_name(k, path));
        for msg in is_valid_label_value(v) {
            errs.push(FieldError::invalid(path, v, msg));
        }
    }
    errs.extend(non_string_members(labels, path));
    errs
}

/// Label and annotation values must be strings; Kubernetes would refuse to decode anything else.
fn non_string_members(map: Option<&Value>, path: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if let Some(m) = map.and_then(Value::as_object) {
        let mut keys: Vec<&String> = m
            .iter()
            .filter(|(_, v)| !v.is_string())
            .map(|(k, _)| k)
            .collect();
        keys.sort();
        for k in keys {
            errs.push(FieldError::invalid(
                &path.key(k),
                m[k].clone(),
                "must be a string",
            ));
        }
    }
    errs
}

pub fn validate_label_name(name: &str, path: &Path) -> Vec<FieldError> {
    is_qualified_name(name)
        .into_iter()
        .map(|m| FieldError::invalid(path, name, m))
        .collect()
}

/// Annotation keys are qualified names (case-insensitive); the whole map is at most 256 KiB.
pub fn validate_annotations(annotations: Option<&Value>, path: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let mut total = 0usize;
    for (k, v) in string_map(annotations) {
        for msg in is_qualified_name(&k.to_lowercase()) {
            errs.push(FieldError::invalid(path, k, msg));
        }
        total += k.len() + v.len();
    }
    if total > TOTAL_ANNOTATION_SIZE_LIMIT {
        errs.push(FieldError::too_long(path, TOTAL_ANNOTATION_SIZE_LIMIT));
    }
    errs.extend(non_string_members(annotations, path));
    errs
}

fn validate_owner_references(refs: &[Value], path: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let mut first_controller: Option<String> = None;
    for r in refs {
        let api_version = s(r, &["apiVersion"]);
        let kind = s(r, &["kind"]);
        let name = s(r, &["name"]);
        let uid = s(r, &["uid"]);
        let version = api_version.rsplit('/').next().unwrap_or("");
        let group = api_version.rsplit_once('/').map(|(g, _)| g).unwrap_or("");
        if version.is_empty() {
            errs.push(FieldError::invalid(
                &path.child("apiVersion"),
                api_version,
                "version must not be empty",
            ));
        }
        if kind.is_empty() {
            errs.push(FieldError::invalid(
                &path.child("kind"),
                kind,
                "must not be empty",
            ));
        }
        if name.is_empty() {
            errs.push(FieldError::invalid(
                &path.child("name"),
                name,
                "must not be empty",
            ));
        }
        if uid.is_empty() {
            errs.push(FieldError::invalid(
                &path.child("uid"),
                uid,
                "must not be empty",
            ));
        }
        if group.is_empty() && version == "v1" && kind == "Event" {
            errs.push(FieldError::invalid(
                path,
                r.clone(),
                "/v1, Kind=Event is disallowed from being an owner",
            ));
        }
        if r.get("controller").and_then(Value::as_bool) == Some(true) {
            let current = format!("{kind}/{name}");
            match &first_controller {
                Some(first) => errs.push(FieldError::invalid(
                    path,
                    Value::Array(refs.to_vec()),
                    format!(
                        "Only one reference can have Controller set to true. Found \"true\" in references for {first} and {current}"
                    ),
                )),
                None => first_controller = Some(current),
            }
        }
    }
    errs
}

fn validate_finalizers(finalizers: &[Value], path: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let names: Vec<&str> = finalizers
        .iter()
        .map(|f| f.as_str().unwrap_or(""))
        .collect();
    for f in &names {
        for msg in is_qualified_name(f) {
            errs.push(FieldError::invalid(path, *f, msg));
        }
    }
    if names.contains(&"orphan") && names.contains(&"foregroundDeletion") {
        let list = names
            .iter()
            .map(|n| go_quote(n))
            .collect::<Vec<_>>()
            .join(", ");
        errs.push(FieldError::invalid(
            path,
            go_repr(format!("[]string{{{list}}}")),
            "finalizer orphan and foregroundDeletion cannot be both set",
        ));
    }
    errs
}

/// Built-in kinds also reject unprefixed finalizers that are not standard ones.
fn validate_kube_finalizer_names(meta: &Value, path: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    for (i, f) in arr_at(meta, &["finalizers"]).iter().enumerate() {
        let f = f.as_str().unwrap_or("");
        if !f.contains('/') && !STANDARD_FINALIZERS.contains(&f) {
            errs.push(FieldError::invalid(
                &path.child("finalizers").index(i),
                f,
                "name is neither a standard finalizer name nor is it fully qualified",
            ));
        }
    }
    errs
}

/// The `kubernetes` finalizer of namespaces and other standard names pass;
/// used by Namespace `spec.finalizers`.
pub(crate) fn validate_finalizer_name(name: &str, path: &Path) -> Vec<FieldError> {
    let mut errs: Vec<FieldError> = is_qualified_name(name)
        .into_iter()
        .map(|m| FieldError::invalid(path, name, m))
        .collect();
    if !name.contains('/') && !STANDARD_FINALIZERS.contains(&name) {
        errs.push(FieldError::invalid(
            path,
            name,
            "name is neither a standard finalizer name nor is it fully qualified",
        ));
    }
    errs
}

fn validate_managed_fields(entries: &[Value], path: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        let p = path.index(i);
        let op = s(e, &["operation"]);
        if op != "Apply" && op != "Update" {
            errs.push(FieldError::invalid(
                &p.child("operation"),
                op,
                "must be `Apply` or `Update`",
            ));
        }
        let ft = s(e, &["fieldsType"]);
        if !ft.is_empty() && ft != "FieldsV1" {
            errs.push(FieldError::invalid(
                &p.child("fieldsType"),
                ft,
                "must be `FieldsV1`",
            ));
        }
        let manager = s(e, &["manager"]);
        if manager.len() > 128 {
            errs.push(FieldError::too_long(&p.child("manager"), 128));
        }
        for (pos, c) in manager.chars().enumerate() {
            if c.is_control() {
                errs.push(FieldError::invalid(
                    &p.child("manager"),
                    manager,
                    format!("invalid character U+{:04X} (at position {pos})", c as u32),
                ));
            }
        }
        if s(e, &["subresource"]).len() > 256 {
            errs.push(FieldError::too_long(&p.child("subresource"), 256));
        }
    }
    errs
}

/// Validates `metadata` of an update: immutable identity fields, no new
/// finalizers once deleting, a resourceVersion, and the create-time rules on
/// labels, annotations, owner references and finalizers.
pub fn validate_object_meta_update(new: &Value, old: &Value) -> Vec<FieldError> {
    let nm = get(new, &["metadata"]).unwrap_or(&Value::Null);
    let om = get(old, &["metadata"]).unwrap_or(&Value::Null);
    let path = Path::new("metadata");
    let mut errs = Vec::new();

    if field(om, &["deletionTimestamp"]).is_some() {
        let old_f: Vec<&str> = arr_at(om, &["finalizers"])
            .iter()
            .filter_map(Value::as_str)
            .collect();
        let mut extra: Vec<&str> = arr_at(nm, &["finalizers"])
            .iter()
            .filter_map(Value::as_str)
            .filter(|f| !old_f.contains(f))
            .collect();
        extra.sort();
        extra.dedup();
        if !extra.is_empty() {
            let list = extra
                .iter()
                .map(|f| go_quote(f))
                .collect::<Vec<_>>()
                .join(", ");
            errs.push(FieldError::forbidden(
                &path.child("finalizers"),
                format!("no new finalizers can be added if the object is being deleted, found new finalizers []string{{{list}}}"),
            ));
        }
    }
    if s(nm, &["resourceVersion"]).is_empty() {
        errs.push(FieldError::invalid(
            &path.child("resourceVersion"),
            "",
            "must be specified for an update",
        ));
    }
    let ng = get(nm, &["generation"]).and_then(as_i64).unwrap_or(0);
    let og = get(om, &["generation"]).and_then(as_i64).unwrap_or(0);
    if ng < og {
        errs.push(FieldError::invalid(
            &path.child("generation"),
            ng,
            "must not be decremented",
        ));
    }
    for key in [
        "name",
        "namespace",
        "uid",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
    ] {
        let nv = get(nm, &[key]).unwrap_or(&Value::Null);
        let ov = get(om, &[key]).unwrap_or(&Value::Null);
        if !semantic_eq(nv, ov) {
            let shown = match key {
                "name" | "namespace" | "uid" => {
                    Value::String(nv.as_str().unwrap_or("").to_string())
                }
                _ => nv.clone(),
            };
            errs.push(FieldError::invalid(
                &path.child(key),
                shown,
                "field is immutable",
            ));
        }
    }
    errs.extend(validate_labels(get(nm, &["labels"]), &path.child("labels")));
    errs.extend(validate_annotations(
        get(nm, &["annotations"]),
        &path.child("annotations"),
    ));
    errs.extend(validate_owner_references(
        arr_at(nm, &["ownerReferences"]),
        &path.child("ownerReferences"),
    ));
    errs.extend(validate_managed_fields(
        arr_at(nm, &["managedFields"]),
        &path.child("managedFields"),
    ));
    errs
}

/// [`validate_object_meta_update`] plus the finalizer rule of built-in kinds.
pub(crate) fn validate_builtin_object_meta_update(new: &Value, old: &Value) -> Vec<FieldError> {
    let mut errs = validate_object_meta_update(new, old);
    let nm = get(new, &["metadata"]).unwrap_or(&Value::Null);
    errs.extend(validate_kube_finalizer_names(nm, &Path::new("metadata")));
    errs
}

/// The metadata of a template embedded in another object (a pod template or
/// PVC template): only labels and annotations are validated.
pub(crate) fn validate_template_meta(meta: Option<&Value>, path: &Path) -> Vec<FieldError> {
    let meta = meta.unwrap_or(&Value::Null);
    let mut errs = validate_labels(get(meta, &["labels"]), &path.child("labels"));
    errs.extend(validate_annotations(
        get(meta, &["annotations"]),
        &path.child("annotations"),
    ));
    errs
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn messages(errs: &[FieldError]) -> Vec<String> {
        errs.iter().map(FieldError::message).collect()
    }

    #[test]
    fn validation_meta_name_rules() {
        let obj = json!({"metadata": {"name": "Foo", "namespace": "default"}});
        assert_eq!(
            messages(&validate_object_meta(
                &obj,
                true,
                NameRule::Dns1123Subdomain
            )),
            vec![
                "metadata.name: Invalid value: \"Foo\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
            ]
        );
        let obj = json!({"metadata": {"namespace": "default"}});
        assert_eq!(
            messages(&validate_object_meta(
                &obj,
                true,
                NameRule::Dns1123Subdomain
            )),
            vec!["metadata.name: Required value: name or generateName is required"]
        );
        let obj = json!({"metadata": {"name": "x"}});
        assert_eq!(
            messages(&validate_object_meta(
                &obj,
                true,
                NameRule::Dns1123Subdomain
            )),
            vec!["metadata.namespace: Required value"]
        );
        let obj = json!({"metadata": {"name": "x", "namespace": "a"}});
        assert_eq!(
            messages(&validate_object_meta(&obj, false, NameRule::Dns1123Label)),
            vec!["metadata.namespace: Forbidden: not allowed on this type"]
        );
        let obj =
            json!({"metadata": {"name": "web-abcde", "generateName": "web-", "namespace": "d"}});
        assert!(validate_object_meta(&obj, true, NameRule::Dns1035Label).is_empty());
        assert_eq!(mask_trailing_dash("web-"), "wea");
    }

    #[test]
    fn validation_meta_labels_annotations_finalizers() {
        let obj = json!({"metadata": {"name": "x", "namespace": "d",
            "labels": {"app": "-bad-"},
            "annotations": {"a/b/c": "v"},
            "finalizers": ["foo"]}});
        let msgs = messages(&validate_builtin_object_meta(
            &obj,
            true,
            NameRule::Dns1123Subdomain,
        ));
        assert_eq!(
            msgs[0],
            "metadata.labels: Invalid value: \"-bad-\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
        );
        assert!(msgs[1].starts_with(
            "metadata.annotations: Invalid value: \"a/b/c\": a qualified name must consist of"
        ));
        assert_eq!(
            msgs[2],
            "metadata.finalizers[0]: Invalid value: \"foo\": name is neither a standard finalizer name nor is it fully qualified"
        );
        let big = "x".repeat(TOTAL_ANNOTATION_SIZE_LIMIT);
        let obj = json!({"metadata": {"name": "x", "namespace": "d", "annotations": {"k": big}}});
        assert_eq!(
            messages(&validate_object_meta(
                &obj,
                true,
                NameRule::Dns1123Subdomain
            )),
            vec!["metadata.annotations: Too long: may not be more than 262144 bytes"]
        );
    }

    #[test]
    fn validation_meta_owner_references() {
        let obj = json!({"metadata": {"name": "x", "namespace": "d", "ownerReferences": [
            {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "a", "uid": "1", "controller": true},
            {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "b", "uid": "2", "controller": true},
            {"apiVersion": "", "kind": "", "name": "", "uid": ""}]}});
        let msgs = messages(&validate_object_meta(
            &obj,
            true,
            NameRule::Dns1123Subdomain,
        ));
        assert!(msgs[0].ends_with("Only one reference can have Controller set to true. Found \"true\" in references for ReplicaSet/a and ReplicaSet/b"));
        assert_eq!(
            msgs[1],
            "metadata.ownerReferences.apiVersion: Invalid value: \"\": version must not be empty"
        );
        assert_eq!(
            msgs[2],
            "metadata.ownerReferences.kind: Invalid value: \"\": must not be empty"
        );
    }

    #[test]
    fn validation_meta_update_immutable_fields() {
        let old = json!({"metadata": {"name": "x", "namespace": "d", "uid": "u1", "resourceVersion": "5", "generation": 2}});
        let new =
            json!({"metadata": {"name": "y", "namespace": "d", "uid": "u2", "generation": 1}});
        assert_eq!(
            messages(&validate_object_meta_update(&new, &old)),
            vec![
                "metadata.resourceVersion: Invalid value: \"\": must be specified for an update",
                "metadata.generation: Invalid value: 1: must not be decremented",
                "metadata.name: Invalid value: \"y\": field is immutable",
                "metadata.uid: Invalid value: \"u2\": field is immutable",
            ]
        );
        let old = json!({"metadata": {"name": "x", "deletionTimestamp": "2024-01-01T00:00:00Z", "finalizers": ["a.io/x"]}});
        let new = json!({"metadata": {"name": "x", "resourceVersion": "1", "deletionTimestamp": "2024-01-01T00:00:00Z", "finalizers": ["a.io/x", "b.io/y"]}});
        assert_eq!(
            messages(&validate_object_meta_update(&new, &old)),
            vec![
                "metadata.finalizers: Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers []string{\"b.io/y\"}"
            ]
        );
    }
}
