//! Reading and writing fields of `serde_json::Value` objects by name, with
//! Go's zero-value semantics (an absent field equals its zero value).

use serde_json::{Map, Value};

/// The value at `path` below `v`, if every step is an object member.
pub(crate) fn get<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    let mut cur = v;
    for p in path {
        cur = cur.as_object()?.get(*p)?;
    }
    Some(cur)
}

/// Like [`get`], but `null` counts as absent.
pub(crate) fn field<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    get(v, path).filter(|x| !x.is_null())
}

pub(crate) fn str_at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    get(v, path).and_then(Value::as_str)
}

/// The string at `path`, or "" (Go's zero string) when absent or not a string.
pub(crate) fn s<'a>(v: &'a Value, path: &[&str]) -> &'a str {
    str_at(v, path).unwrap_or("")
}

pub(crate) fn i64_at(v: &Value, path: &[&str]) -> Option<i64> {
    get(v, path).and_then(as_i64)
}

/// Integers may arrive as floats with no fraction (`3.0`).
pub(crate) fn as_i64(v: &Value) -> Option<i64> {
    v.as_i64().or_else(|| {
        v.as_f64()
            .filter(|f| f.fract() == 0.0 && f.abs() < 9.2e18)
            .map(|f| f as i64)
    })
}

pub(crate) fn bool_at(v: &Value, path: &[&str]) -> Option<bool> {
    get(v, path).and_then(Value::as_bool)
}

pub(crate) fn obj_at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Map<String, Value>> {
    get(v, path).and_then(Value::as_object)
}

pub(crate) fn arr_at<'a>(v: &'a Value, path: &[&str]) -> &'a [Value] {
    get(v, path)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

/// The string members of an object (e.g. labels), skipping non-strings.
pub(crate) fn string_map(v: Option<&Value>) -> Vec<(&str, &str)> {
    let mut out: Vec<(&str, &str)> = v
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| v.as_str().map(|s| (k.as_str(), s)))
                .collect()
        })
        .unwrap_or_default();
    // Kubernetes walks Go maps in random order; a fixed order keeps messages stable.
    out.sort();
    out
}

/// Whether `v` is Go's zero value for its type (absent, null, "", 0, false,
/// an empty list or an object whose members are all zero).
pub(crate) fn is_zero(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(m) => m.values().all(is_zero),
    }
}

/// Kubernetes' `apiequality.Semantic.DeepEqual` on JSON: absent, null and
/// zero values compare equal, as do nil and empty lists and maps.
pub(crate) fn semantic_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            x.iter()
                .all(|(k, va)| semantic_eq(va, y.get(k).unwrap_or(&Value::Null)))
                && y.iter().all(|(k, vb)| x.contains_key(k) || is_zero(vb))
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| semantic_eq(p, q))
        }
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ if is_zero(a) && is_zero(b) => true,
        _ => a == b,
    }
}

/// The object member `key` of `v`, created as `{}` when absent or not an object.
/// `v` itself becomes an object if it was not one.
pub(crate) fn obj_mut<'a>(v: &'a mut Value, key: &str) -> &'a mut Value {
    ensure_object(v);
    let Value::Object(m) = v else {
        return v;
    };
    let entry = m
        .entry(key.to_string())
        .or_insert_with(|| Value::Object(Map::new()));
    if !entry.is_object() {
        *entry = Value::Object(Map::new());
    }
    entry
}

pub(crate) fn ensure_object(v: &mut Value) {
    if !v.is_object() {
        *v = Value::Object(Map::new());
    }
}

/// Sets `key` when it is absent or null.
pub(crate) fn set_if_absent(v: &mut Value, key: &str, value: Value) {
    if let Some(m) = v.as_object_mut() {
        match m.get(key) {
            None | Some(Value::Null) => {
                m.insert(key.to_string(), value);
            }
            Some(_) => {}
        }
    }
}

/// Sets `key` when it holds Go's zero value ("" , 0, false, null or absent).
pub(crate) fn set_if_zero(v: &mut Value, key: &str, value: Value) {
    if let Some(m) = v.as_object_mut() {
        let zero = match m.get(key) {
            None | Some(Value::Null) => true,
            Some(Value::String(s)) => s.is_empty(),
            Some(Value::Number(n)) => n.as_f64() == Some(0.0),
            Some(_) => false,
        };
        if zero {
            m.insert(key.to_string(), value);
        }
    }
}

/// The mutable members of the list at `key`, if it is a list.
pub(crate) fn items_mut<'a>(v: &'a mut Value, key: &str) -> impl Iterator<Item = &'a mut Value> {
    v.as_object_mut()
        .and_then(|m| m.get_mut(key))
        .and_then(Value::as_array_mut)
        .into_iter()
        .flat_map(|a| a.iter_mut())
}

/// The object member `key`, if present and an object.
pub(crate) fn member_mut<'a>(v: &'a mut Value, key: &str) -> Option<&'a mut Value> {
    v.as_object_mut()
        .and_then(|m| m.get_mut(key))
        .filter(|x| x.is_object())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn validation_json_semantic_eq_treats_zero_as_absent() {
        assert!(semantic_eq(&json!({"a": 1, "b": []}), &json!({"a": 1.0})));
        assert!(semantic_eq(&json!({"a": ""}), &json!({})));
        assert!(!semantic_eq(&json!({"a": "x"}), &json!({})));
        assert!(!semantic_eq(&json!([1, 2]), &json!([2, 1])));
    }

    #[test]
    fn validation_json_setters() {
        let mut v = json!({"a": "", "b": 0, "c": null, "d": "x"});
        set_if_zero(&mut v, "a", json!("A"));
        set_if_zero(&mut v, "b", json!(5));
        set_if_absent(&mut v, "c", json!(true));
        set_if_absent(&mut v, "d", json!("no"));
        set_if_absent(&mut v, "e", json!(1));
        assert_eq!(v, json!({"a": "A", "b": 5, "c": true, "d": "x", "e": 1}));
        let mut w = json!(null);
        obj_mut(&mut w, "spec");
        assert_eq!(w, json!({"spec": {}}));
    }
}
