//! Uniqueness of `x-kubernetes-list-type: set` items and of the keys of
//! `x-kubernetes-list-type: map` items (apiextensions' `listtype`), with
//! Kubernetes' `Duplicate value` errors.

use serde_json::{Map, Value};

use super::schema::StructuralSchema;
use super::value::json_equal;
use crate::validation::field::{go_quote, go_repr};
use crate::validation::{FieldError, Path};

/// Walks `obj` (an object at `path`; the root path is empty).
pub(crate) fn validate(path: &Path, s: &StructuralSchema, obj: &Value) -> Vec<FieldError> {
    let Value::Object(m) = obj else {
        return Vec::new();
    };
    object(path, s, m)
}

fn object(path: &Path, s: &StructuralSchema, m: &Map<String, Value>) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if let Some(ap) = s.additional_properties() {
        for (k, v) in m {
            errs.extend(value(&path.key(k), ap, v));
        }
    }
    for (k, v) in m {
        if let Some(p) = s.property(k) {
            errs.extend(value(&path.child(k), p, v));
        }
    }
    errs
}

fn value(path: &Path, s: &StructuralSchema, v: &Value) -> Vec<FieldError> {
    match v {
        Value::Array(a) => array(path, s, a),
        Value::Object(m) => object(path, s, m),
        _ => Vec::new(),
    }
}

fn array(path: &Path, s: &StructuralSchema, a: &[Value]) -> Vec<FieldError> {
    let mut errs = Vec::new();
    match s.list_type() {
        Some("set") => {
            for i in duplicates(a) {
                errs.push(FieldError::duplicate(&path.index(i), go_value(&a[i])));
            }
        }
        Some("map") => errs.extend(list_map(path, s, a)),
        _ => {}
    }
    if let Some(items) = s.items() {
        for (i, x) in a.iter().enumerate() {
            errs.extend(value(&path.index(i), items, x));
        }
    }
    errs
}

/// The index of the second occurrence of each repeated value.
fn duplicates(a: &[Value]) -> Vec<usize> {
    let mut out = Vec::new();
    for (i, x) in a.iter().enumerate() {
        let seen = a[..i].iter().filter(|y| json_equal(x, y)).count();
        if seen == 1 {
            out.push(i);
        }
    }
    out
}

fn list_map(path: &Path, s: &StructuralSchema, a: &[Value]) -> Vec<FieldError> {
    for (i, x) in a.iter().enumerate() {
        if !x.is_null() && !x.is_object() {
            return vec![FieldError::invalid(
                &path.index(i),
                x.clone(),
                "must be an object for an array of list-type map",
            )];
        }
    }
    // The key of an item: the key fields it has (a null item has none).
    let keys: Vec<Map<String, Value>> = a
        .iter()
        .map(|x| {
            s.list_map_keys()
                .iter()
                .filter_map(|k| x.get(k).map(|v| (k.clone(), v.clone())))
                .collect()
        })
        .collect();
    let as_values: Vec<Value> = keys.iter().cloned().map(Value::Object).collect();
    duplicates(&as_values)
        .into_iter()
        .map(|i| FieldError::duplicate(&path.index(i), go_map(&keys[i])))
        .collect()
}

/// Go's `%#v` of a `map[string]interface{}` holding scalars (keys sorted).
fn go_map(m: &Map<String, Value>) -> Value {
    let mut keys: Vec<&String> = m.keys().collect();
    keys.sort();
    let items: Vec<String> = keys
        .iter()
        .map(|k| format!("{}:{}", go_quote(k), go_scalar(&m[k.as_str()])))
        .collect();
    go_repr(format!("map[string]interface {{}}{{{}}}", items.join(", ")))
}

fn go_scalar(v: &Value) -> String {
    match v {
        Value::String(s) => go_quote(s),
        Value::Null => "interface {}(nil)".to_string(),
        other => other.to_string(),
    }
}

/// The duplicate as Kubernetes prints it: scalars as themselves, objects
/// and lists as JSON (Go would print its own literal).
fn go_value(v: &Value) -> Value {
    v.clone()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn crd_listtype_set_and_map_duplicates() {
        let s = StructuralSchema::parse(
            &json!({"type": "object", "properties": {"spec": {"type": "object", "properties": {
            "tags": {"type": "array", "x-kubernetes-list-type": "set", "items": {"type": "string"}},
            "ports": {"type": "array", "x-kubernetes-list-type": "map",
                "x-kubernetes-list-map-keys": ["port", "protocol"],
                "items": {"type": "object", "properties": {"port": {"type": "integer"}, "protocol": {"type": "string"}}}},
            "byName": {"type": "object", "additionalProperties": {"type": "array",
                "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"],
                "items": {"type": "object", "properties": {"name": {"type": "string"}}}}}}}}}),
        );
        let obj = json!({"spec": {
            "tags": ["a", "b", "a", "a"],
            "ports": [{"port": 80, "protocol": "TCP"}, {"port": 80, "protocol": "UDP"}, {"port": 80, "protocol": "TCP"}],
            "byName": {"x": [{"name": "n"}, {"name": "n"}, 5]}}});
        let msgs: Vec<String> = validate(&Path::new(""), &s, &obj)
            .iter()
            .map(FieldError::message)
            .collect();
        assert_eq!(
            msgs,
            vec![
                "spec.tags[2]: Duplicate value: \"a\"",
                "spec.ports[2]: Duplicate value: map[string]interface {}{\"port\":80, \"protocol\":\"TCP\"}",
                "spec.byName[x][2]: Invalid value: 5: must be an object for an array of list-type map",
            ]
        );
        let ok =
            json!({"spec": {"tags": ["a", "b"], "byName": {"x": [{"name": "a"}, {"name": "b"}]}}});
        assert!(validate(&Path::new(""), &s, &ok).is_empty());
    }
}
