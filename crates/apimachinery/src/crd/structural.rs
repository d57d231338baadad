//! The structural-schema rules (apiextensions' `ValidateStructural`): every
//! node has a `type` unless an extension allows otherwise, value
//! validations under `allOf`/`anyOf`/`oneOf`/`not` only restrict what the
//! structural part declares, root `metadata` only restricts name and
//! generateName. Checked on the raw JSON so paths match the CRD.

use serde_json::{Map, Value};

use crate::validation::{FieldError, Path};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Level {
    Root,
    Item,
    Field,
}

/// All structural-schema errors of `schema` (rooted at `path`), sorted by
/// message as Kubernetes sorts them.
pub(crate) fn validate_structural_schema(schema: &Value, path: &Path) -> Vec<FieldError> {
    let mut errs = invariants(schema, Level::Root, path);
    errs.extend(completeness(schema, path));
    errs.sort_by_key(FieldError::message);
    errs
}

fn obj(v: &Value) -> Option<&Map<String, Value>> {
    v.as_object()
}

fn str_of<'a>(v: &'a Value, k: &str) -> &'a str {
    v.get(k).and_then(Value::as_str).unwrap_or("")
}

fn true_of(v: &Value, k: &str) -> bool {
    v.get(k).and_then(Value::as_bool).unwrap_or(false)
}

fn props(v: &Value) -> impl Iterator<Item = (&String, &Value)> {
    v.get("properties").and_then(obj).into_iter().flatten()
}

fn list<'a>(v: &'a Value, k: &str) -> &'a [Value] {
    v.get(k)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

fn invariants(s: &Value, lvl: Level, path: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if obj(s).is_none() {
        return errs;
    }
    let type_ = str_of(s, "type");
    let items = s.get("items").filter(|i| i.is_object());
    if type_ == "array" && items.is_none() {
        errs.push(FieldError::required(
            &path.child("items"),
            "must be specified",
        ));
    }
    if let Some(items) = items {
        errs.extend(invariants(items, Level::Item, &path.child("items")));
    }
    for (k, v) in props(s) {
        errs.extend(invariants(
            v,
            Level::Field,
            &path.child("properties").key(k),
        ));
    }
    let additional = s.get("additionalProperties");
    if let Some(ap) = additional {
        if lvl == Level::Root {
            errs.push(FieldError::forbidden(
                &path.child("additionalProperties"),
                "must not be used at the root",
            ));
        }
        if ap.is_object() {
            errs.extend(invariants(
                ap,
                Level::Field,
                &path.child("additionalProperties"),
            ));
        }
    }
    let int_or_string = true_of(s, "x-kubernetes-int-or-string");
    let preserve = true_of(s, "x-kubernetes-preserve-unknown-fields");
    let embedded = true_of(s, "x-kubernetes-embedded-resource");
    if int_or_string && preserve {
        errs.push(FieldError::invalid(
            &path.child("x-kubernetes-preserve-unknown-fields"),
            true,
            "must be false if x-kubernetes-int-or-string is true",
        ));
    }
    if int_or_string && embedded {
        errs.push(FieldError::invalid(
            &path.child("x-kubernetes-embedded-resource"),
            true,
            "must be false if x-kubernetes-int-or-string is true",
        ));
    }
    // The int-or-string idiom `anyOf: [{type: integer}, {type: string}]`
    // may name types; any other nested `type` is not structural.
    let skip_any_of = is_int_or_string_any_of(list(s, "anyOf"));
    let skip_first_all_of = list(s, "allOf")
        .first()
        .is_some_and(|a| is_int_or_string_any_of(list(a, "anyOf")));
    errs.extend(value_validation(
        s,
        skip_any_of,
        skip_first_all_of,
        lvl,
        path,
    ));

    if embedded && type_ != "object" {
        let p = path.child("type");
        let msg = "must be object if x-kubernetes-embedded-resource is true";
        errs.push(if type_.is_empty() {
            FieldError::required(&p, msg)
        } else {
            FieldError::invalid(&p, type_, msg)
        });
    } else if type_.is_empty() && !int_or_string && !preserve {
        let msg = match lvl {
            Level::Root => "must not be empty at the root",
            Level::Item => "must not be empty for specified array items",
            Level::Field => "must not be empty for specified object fields",
        };
        errs.push(FieldError::required(&path.child("type"), msg));
    }
    if embedded && additional.is_some() {
        errs.push(FieldError::forbidden(
            &path.child("additionalProperties"),
            "must not be used if x-kubernetes-embedded-resource is set",
        ));
    }
    if lvl == Level::Root && !type_.is_empty() && type_ != "object" {
        errs.push(FieldError::invalid(
            &path.child("type"),
            type_,
            "must be object at the root",
        ));
    }
    let check_meta = lvl == Level::Root || embedded;
    for key in ["kind", "apiVersion"] {
        if let Some(p) = s.get("properties").and_then(|p| p.get(key))
            && check_meta
            && str_of(p, "type") != "string"
        {
            errs.push(FieldError::invalid(
                &path.child("properties").key(key).child("type"),
                str_of(p, "type"),
                "must be string",
            ));
        }
    }
    if let Some(m) = s.get("properties").and_then(|p| p.get("metadata")) {
        errs.extend(metadata_invariants(
            m,
            check_meta,
            lvl,
            &path.child("properties").key("metadata"),
        ));
    }
    if embedded && !preserve && props(s).next().is_none() {
        errs.push(FieldError::required(
            &path.child("properties"),
            "must not be empty if x-kubernetes-embedded-resource is true without x-kubernetes-preserve-unknown-fields",
        ));
    }
    errs
}

fn is_int_or_string_any_of(any_of: &[Value]) -> bool {
    let only_type =
        |v: &Value, t: &str| obj(v).is_some_and(|m| m.len() == 1 && str_of(v, "type") == t);
    any_of.len() == 2 && only_type(&any_of[0], "integer") && only_type(&any_of[1], "string")
}

/// Root `metadata` may only restrict `name` and `generateName`: anything
/// else would contradict the server's own ObjectMeta handling.
fn metadata_invariants(m: &Value, check_meta: bool, lvl: Level, path: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let type_ = str_of(m, "type");
    if check_meta && type_ != "object" {
        errs.push(FieldError::invalid(
            &path.child("type"),
            type_,
            "must be object",
        ));
    }
    if lvl == Level::Root {
        let names: Vec<&String> = props(m).map(|(k, _)| k).collect();
        let only_names = names.iter().all(|k| *k == "name" || *k == "generateName");
        let other = obj(m).into_iter().flatten().any(|(k, v)| {
            let ignored = matches!(
                k.as_str(),
                "type" | "default" | "example" | "externalDocs" | "$schema"
            ) || (k == "properties" && only_names);
            !ignored && !is_zero(v)
        });
        if other {
            errs.push(FieldError::forbidden(
                path,
                "must not specify anything other than name and generateName, but metadata is implicitly specified",
            ));
        }
    }
    errs
}

fn is_zero(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        Value::Number(_) => false,
    }
}

fn value_validation(
    s: &Value,
    skip_any_of: bool,
    skip_first_all_of: bool,
    lvl: Level,
    path: &Path,
) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if !skip_any_of {
        for (i, v) in list(s, "anyOf").iter().enumerate() {
            errs.extend(nested(v, false, lvl, &path.child("anyOf").index(i)));
        }
    }
    for (i, v) in list(s, "allOf").iter().enumerate() {
        errs.extend(nested(
            v,
            skip_first_all_of && i == 0,
            lvl,
            &path.child("allOf").index(i),
        ));
    }
    for (i, v) in list(s, "oneOf").iter().enumerate() {
        errs.extend(nested(v, false, lvl, &path.child("oneOf").index(i)));
    }
    if let Some(not) = s.get("not") {
        errs.extend(nested(not, false, lvl, &path.child("not")));
    }
    if let Some(p) = s.get("pattern").and_then(Value::as_str)
        && let Err(e) = regex::Regex::new(p)
    {
        errs.push(FieldError::invalid(
            &path.child("pattern"),
            p,
            format!(
                "must be a valid regular expression, but isn't: {}",
                regex_error_text(&e)
            ),
        ));
    }
    errs
}

/// The last line of the regex crate's error (the one saying what is wrong).
pub(crate) fn regex_error_text(e: &regex::Error) -> String {
    let text = e.to_string();
    text.lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or(&text)
        .trim()
        .to_string()
}

/// A schema under `allOf`/`anyOf`/`oneOf`/`not`: only value validations.
fn nested(v: &Value, skip_any_of: bool, lvl: Level, path: &Path) -> Vec<FieldError> {
    let mut errs = value_validation(v, skip_any_of, false, lvl, path);
    if let Some(items) = v.get("items").filter(|i| i.is_object()) {
        errs.extend(nested(items, false, lvl, &path.child("items")));
    }
    for (k, p) in props(v) {
        errs.extend(nested(
            p,
            false,
            Level::Field,
            &path.child("properties").key(k),
        ));
    }
    let forbid = |errs: &mut Vec<FieldError>, key: &str, msg: &str| {
        errs.push(FieldError::forbidden(&path.child(key), msg));
    };
    if !str_of(v, "type").is_empty() {
        forbid(&mut errs, "type", "must be empty to be structural");
    }
    match v.get("additionalProperties") {
        Some(Value::Object(_)) | Some(Value::Bool(true)) => forbid(
            &mut errs,
            "additionalProperties",
            "must be undefined to be structural",
        ),
        _ => {}
    }
    if v.get("default").is_some_and(|d| !d.is_null()) {
        forbid(&mut errs, "default", "must be undefined to be structural");
    }
    for key in ["title", "description"] {
        if !str_of(v, key).is_empty() {
            forbid(&mut errs, key, "must be empty to be structural");
        }
    }
    if true_of(v, "nullable") {
        forbid(&mut errs, "nullable", "must be false to be structural");
    }
    for key in [
        "x-kubernetes-preserve-unknown-fields",
        "x-kubernetes-embedded-resource",
        "x-kubernetes-int-or-string",
    ] {
        if true_of(v, key) {
            forbid(&mut errs, key, "must be false to be structural");
        }
    }
    if !list(v, "x-kubernetes-list-map-keys").is_empty() {
        forbid(
            &mut errs,
            "x-kubernetes-list-map-keys",
            "must be empty to be structural",
        );
    }
    for key in ["x-kubernetes-list-type", "x-kubernetes-map-type"] {
        if v.get(key).is_some_and(|x| !x.is_null()) {
            forbid(&mut errs, key, "must be undefined to be structural");
        }
    }
    if !list(v, "x-kubernetes-validations").is_empty() {
        forbid(
            &mut errs,
            "x-kubernetes-validations",
            "must be empty to be structural",
        );
    }
    if v.get("properties")
        .and_then(|p| p.get("metadata"))
        .is_some()
    {
        errs.push(FieldError::forbidden(
            &path.child("properties").key("metadata"),
            "must not be specified in a nested context",
        ));
    }
    errs
}

/// Properties named in the root's value validations must exist in the
/// structural part (Kubernetes checks the root's validations only).
fn completeness(s: &Value, path: &Path) -> Vec<FieldError> {
    value_completeness(s, Some(s), path, path)
}

fn value_completeness(
    v: &Value,
    s: Option<&Value>,
    s_path: &Path,
    v_path: &Path,
) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let mut each =
        |key: &str, n: &Value, vp: Path| errs.extend(nested_completeness(n, s, s_path, &vp, key));
    if let Some(not) = v.get("not") {
        each("not", not, v_path.child("not"));
    }
    for key in ["allOf", "anyOf", "oneOf"] {
        for (i, n) in list(v, key).iter().enumerate() {
            each(key, n, v_path.child(key).index(i));
        }
    }
    errs
}

fn nested_completeness(
    v: &Value,
    s: Option<&Value>,
    s_path: &Path,
    v_path: &Path,
    _key: &str,
) -> Vec<FieldError> {
    let Some(s) = s else {
        return vec![FieldError::required(
            s_path,
            format!("because it is defined in {v_path}"),
        )];
    };
    let mut errs = value_completeness(v, Some(s), s_path, v_path);
    if let Some(items) = v.get("items").filter(|i| i.is_object()) {
        let s_items = s.get("items").filter(|i| i.is_object());
        errs.extend(nested_completeness(
            items,
            s_items,
            &s_path.child("items"),
            &v_path.child("items"),
            "items",
        ));
    }
    for (k, p) in props(v) {
        let sp = s_path.child("properties").key(k);
        let vp = v_path.child("properties").key(k);
        match s.get("properties").and_then(|m| m.get(k)) {
            None => errs.push(FieldError::required(
                &sp,
                format!("because it is defined in {vp}"),
            )),
            Some(sf) => errs.extend(nested_completeness(p, Some(sf), &sp, &vp, k)),
        }
    }
    errs
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn msgs(schema: Value) -> Vec<String> {
        validate_structural_schema(&schema, &Path::new("spec.validation.openAPIV3Schema"))
            .iter()
            .map(FieldError::message)
            .collect()
    }

    #[test]
    fn crd_structural_types_required() {
        assert_eq!(
            msgs(
                json!({"properties": {"a": {"type": "array"}, "b": {"type": "array", "items": {}}}})
            ),
            vec![
                "spec.validation.openAPIV3Schema.properties[a].items: Required value: must be specified",
                "spec.validation.openAPIV3Schema.properties[b].items.type: Required value: must not be empty for specified array items",
                "spec.validation.openAPIV3Schema.type: Required value: must not be empty at the root",
            ]
        );
        assert!(msgs(json!({"type": "object", "properties": {
            "p": {"x-kubernetes-preserve-unknown-fields": true},
            "q": {"x-kubernetes-int-or-string": true, "anyOf": [{"type": "integer"}, {"type": "string"}]}}}))
        .is_empty());
        assert_eq!(
            msgs(json!({"type": "string"})),
            vec![
                "spec.validation.openAPIV3Schema.type: Invalid value: \"string\": must be object at the root"
            ]
        );
    }

    #[test]
    fn crd_structural_metadata_and_nested_rules() {
        assert!(
            msgs(
                json!({"type": "object", "properties": {"metadata": {"type": "object",
            "properties": {"name": {"type": "string", "maxLength": 10}}}}})
            )
            .is_empty()
        );
        assert_eq!(
            msgs(
                json!({"type": "object", "properties": {"metadata": {"type": "object",
                "properties": {"labels": {"type": "object"}}}}})
            ),
            vec![
                "spec.validation.openAPIV3Schema.properties[metadata]: Forbidden: must not specify anything other than name and generateName, but metadata is implicitly specified"
            ]
        );
        assert_eq!(
            msgs(
                json!({"type": "object", "additionalProperties": {"type": "string"},
                "properties": {"a": {"type": "string"}},
                "anyOf": [{"type": "object", "properties": {"b": {"nullable": true}}}]})
            ),
            vec![
                "spec.validation.openAPIV3Schema.additionalProperties: Forbidden: must not be used at the root",
                "spec.validation.openAPIV3Schema.anyOf[0].properties[b].nullable: Forbidden: must be false to be structural",
                "spec.validation.openAPIV3Schema.anyOf[0].type: Forbidden: must be empty to be structural",
                "spec.validation.openAPIV3Schema.properties[b]: Required value: because it is defined in spec.validation.openAPIV3Schema.anyOf[0].properties[b]",
            ]
        );
    }

    #[test]
    fn crd_structural_embedded_resources() {
        assert_eq!(
            msgs(
                json!({"type": "object", "properties": {"t": {"x-kubernetes-embedded-resource": true}}})
            ),
            vec![
                "spec.validation.openAPIV3Schema.properties[t].properties: Required value: must not be empty if x-kubernetes-embedded-resource is true without x-kubernetes-preserve-unknown-fields",
                "spec.validation.openAPIV3Schema.properties[t].type: Required value: must be object if x-kubernetes-embedded-resource is true",
            ]
        );
        assert_eq!(
            msgs(
                json!({"type": "object", "properties": {"t": {"type": "object",
                "x-kubernetes-embedded-resource": true, "properties": {"kind": {"type": "integer"}}}}})
            ),
            vec![
                "spec.validation.openAPIV3Schema.properties[t].properties[kind].type: Invalid value: \"integer\": must be string"
            ]
        );
        let bad = msgs(
            json!({"type": "object", "properties": {"s": {"type": "string", "pattern": "("}}}),
        );
        assert_eq!(bad.len(), 1);
        assert!(bad[0].starts_with("spec.validation.openAPIV3Schema.properties[s].pattern: Invalid value: \"(\": must be a valid regular expression, but isn't: "));
    }
}
