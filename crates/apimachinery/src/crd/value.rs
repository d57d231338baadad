//! Validation of a custom resource against its schema as kube-openapi's
//! `SchemaValidator` does it for the apiextensions server: per node the
//! type, `allOf`/`anyOf`/`oneOf`/`not`, string, format, number, array,
//! enum and object checks, in that order, with kube-openapi's texts.

use serde_json::{Map, Number, Value};

use super::messages::{Sink, go_number};
use super::schema::{AdditionalProperties, StructuralSchema};
use super::{embedded, formats, listtype};
use crate::validation::{FieldError, Path};

impl StructuralSchema {
    /// Validates a whole custom resource (after defaulting and pruning) as
    /// the apiextensions server does: the schema, embedded resources, then
    /// list sets and maps. Root `metadata` beyond its schema is the
    /// server's job ([`crate::validation::validate_object_meta`]).
    pub fn validate(&self, obj: &Value) -> Vec<FieldError> {
        let mut sink = Sink::new(None);
        validate_node(self, obj, "", &mut sink);
        let mut errs = sink.errs;
        errs.extend(embedded::validate(self, obj));
        errs.extend(listtype::validate(&Path::new(""), self, obj));
        errs
    }

    /// Validates `value` against this (sub-)schema with field paths under
    /// `root`, as the status subresource is validated (`status.replicas`,
    /// while kube-openapi's text names `replicas`).
    pub fn validate_subtree(&self, root: &str, value: &Value) -> Vec<FieldError> {
        let mut sink = Sink::new(Some(root));
        validate_node(self, value, "", &mut sink);
        sink.errs
    }
}

/// Validates `data` at kube-openapi path `path` (empty at the root).
pub(crate) fn validate_node(s: &StructuralSchema, data: &Value, path: &str, out: &mut Sink) {
    if data.is_null() {
        // Only the type and enum validators look at nulls.
        type_check(s, data, path, out);
        enum_check(s, data, path, out);
        return;
    }
    if !s.type_.is_empty() || !s.checked_format.is_empty() || s.int_or_string {
        type_check(s, data, path, out);
    }
    combinators(s, data, path, out);
    if let Value::String(text) = data {
        string_checks(s, text, path, out);
        if !s.checked_format.is_empty() && !formats::check(&s.checked_format, text) {
            out.type_invalid(path, &s.format, text);
        }
    }
    if let Value::Number(n) = data {
        number_checks(s, n, path, out);
    }
    if let Value::Array(items) = data {
        array_checks(s, items, path, out);
    }
    enum_check(s, data, path, out);
    if let Value::Object(m) = data {
        object_checks(s, m, path, out);
    }
}

impl StructuralSchema {
    /// The types kube-openapi sees: int-or-string is `integer,string`.
    fn types(&self) -> Vec<&str> {
        if self.int_or_string {
            vec!["integer", "string"]
        } else if self.type_.is_empty() {
            Vec::new()
        } else {
            vec![self.type_.as_str()]
        }
    }
}

/// kube-openapi's type and format of a decoded JSON value.
fn json_type(v: &Value) -> (&'static str, &'static str) {
    match v {
        Value::Null => ("null", ""),
        Value::Bool(_) => ("boolean", ""),
        Value::String(_) => ("string", ""),
        Value::Number(n) if n.is_f64() => ("number", "float64"),
        Value::Number(_) => ("integer", "int64"),
        Value::Array(_) => ("array", ""),
        Value::Object(_) => ("object", ""),
    }
}

fn type_check(s: &StructuralSchema, data: &Value, path: &str, out: &mut Sink) {
    let types = s.types();
    if data.is_null() {
        if !types.is_empty() && !s.nullable {
            out.type_invalid(path, &types.join(","), "null");
        }
        return;
    }
    let (found, found_format) = json_type(data);
    let contains = |t: &str| types.contains(&t);
    // Unsupported formats were stripped, so they never fail a type check.
    let format = if s.checked_format.is_empty() {
        ""
    } else {
        s.format.as_str()
    };
    let float_int =
        found == "number" && data.as_f64().is_some_and(|f| f.fract() == 0.0) && contains("integer");
    let int_float = found == "integer" && contains("number");
    let stringy = matches!(data, Value::String(_) | Value::Array(_));
    if !(stringy
        || format.is_empty()
        || contains(found)
        || found_format == format
        || float_int
        || int_float)
    {
        out.type_invalid(path, format, found_format);
        return;
    }
    // A format on a non-numeric schema only matters for the format check.
    if stringy && !(contains("number") || contains("integer") || format.is_empty()) {
        return;
    }
    if !(contains(found) || float_int || int_float) {
        out.type_invalid(path, &types.join(","), found);
    }
}

fn combinators(s: &StructuralSchema, data: &Value, path: &str, out: &mut Sink) {
    let c = &s.checks;
    let root = out.root;
    let run = |sub: &StructuralSchema| {
        let mut sink = Sink::new(root);
        validate_node(sub, data, path, &mut sink);
        sink.errs
    };
    if !c.any_of.is_empty() {
        let results: Vec<_> = c.any_of.iter().map(run).collect();
        if !results.iter().any(Vec::is_empty) {
            out.plain(format!(
                "\"{path}\" must validate at least one schema (anyOf)"
            ));
            if let Some(best) = results.into_iter().min_by_key(Vec::len) {
                out.errs.extend(best);
            }
        }
    }
    if !c.one_of.is_empty() {
        let results: Vec<_> = c.one_of.iter().map(run).collect();
        let valid = results.iter().filter(|r| r.is_empty()).count();
        if valid != 1 {
            let more = if valid == 0 {
                "Found none valid".to_string()
            } else {
                format!("Found {valid} valid alternatives")
            };
            out.plain(format!(
                "\"{path}\" must validate one and only one schema (oneOf). {more}"
            ));
            if valid == 0
                && let Some(best) = results.into_iter().min_by_key(Vec::len)
            {
                out.errs.extend(best);
            }
        }
    }
    if !c.all_of.is_empty() {
        let mut valid = 0;
        for sub in &c.all_of {
            let errs = run(sub);
            if errs.is_empty() {
                valid += 1;
            }
            out.errs.extend(errs);
        }
        if valid != c.all_of.len() {
            let more = if valid == 0 { ". None validated" } else { "" };
            out.plain(format!(
                "\"{path}\" must validate all the schemas (allOf){more}"
            ));
        }
    }
    if let Some(not) = &c.not
        && run(not).is_empty()
    {
        out.plain(format!("\"{path}\" must not validate the schema (not)"));
    }
}

fn string_checks(s: &StructuralSchema, text: &str, path: &str, out: &mut Sink) {
    let c = &s.checks;
    // Lengths count characters, not bytes; the first failure ends the checks.
    let len = text.chars().count() as i64;
    if let Some(max) = c.max_length
        && len > max
    {
        out.too_long(path, max);
        return;
    }
    if let Some(min) = c.min_length
        && len < min
    {
        out.invalid(
            path,
            Value::from(text),
            format!("{path} in body should be at least {min} chars long"),
        );
        return;
    }
    if let Some(p) = &c.pattern {
        match &p.compiled {
            Ok(re) if re.is_match(text) => {}
            Ok(_) => out.invalid(
                path,
                Value::from(text),
                format!("{path} in body should match '{}'", p.source),
            ),
            Err(e) => out.invalid(
                path,
                Value::from(text),
                format!(
                    "{path} in body should match '{}, but pattern is invalid: {e}'",
                    p.source
                ),
            ),
        }
    }
}

fn number_checks(s: &StructuralSchema, n: &Number, path: &str, out: &mut Sink) {
    let c = &s.checks;
    let data = Value::Number(n.clone());
    // Integers compare as integers against limits cut to integers, as
    // kube-openapi does for Go's int64 values; floats compare as floats.
    let int = n
        .as_i64()
        .or_else(|| n.as_u64().map(|u| u as i64))
        .filter(|_| !n.is_f64());
    let f = n.as_f64().unwrap_or(0.0);
    if let Some(m) = c.multiple_of {
        let (ok, shown) = match int {
            Some(i) => {
                let factor = m as i64;
                if factor <= 0 {
                    out.invalid(
                        path,
                        data.clone(),
                        format!("factor MultipleOf declared for {path} must be positive: {factor}"),
                    );
                    (true, String::new())
                } else {
                    (i % factor == 0, factor.to_string())
                }
            }
            None if m <= 0.0 => {
                out.invalid(
                    path,
                    data.clone(),
                    format!(
                        "factor MultipleOf declared for {path} must be positive: {}",
                        go_number(m)
                    ),
                );
                (true, String::new())
            }
            None => {
                let mult = if m < 1.0 { 1.0 / m * f } else { f / m };
                (mult.fract() == 0.0 && mult.is_finite(), go_number(m))
            }
        };
        if !ok {
            out.invalid(
                path,
                data.clone(),
                format!("{path} in body should be a multiple of {shown}"),
            );
        }
    }
    let limit = |v: f64| match int {
        Some(_) => (v as i64).to_string(),
        None => go_number(v),
    };
    if let Some(min) = c.minimum {
        let below = match int {
            Some(i) => i < min as i64 || (c.exclusive_minimum && i == min as i64),
            None => f < min || (c.exclusive_minimum && f == min),
        };
        if below {
            let rel = if c.exclusive_minimum {
                "greater than"
            } else {
                "greater than or equal to"
            };
            out.invalid(
                path,
                data.clone(),
                format!("{path} in body should be {rel} {}", limit(min)),
            );
        }
    }
    if let Some(max) = c.maximum {
        let above = match int {
            Some(i) => i > max as i64 || (c.exclusive_maximum && i == max as i64),
            None => f > max || (c.exclusive_maximum && f == max),
        };
        if above {
            let rel = if c.exclusive_maximum {
                "less than"
            } else {
                "less than or equal to"
            };
            out.invalid(
                path,
                data,
                format!("{path} in body should be {rel} {}", limit(max)),
            );
        }
    }
}

fn array_checks(s: &StructuralSchema, items: &[Value], path: &str, out: &mut Sink) {
    let c = &s.checks;
    if let Some(item_schema) = &s.items {
        for (i, item) in items.iter().enumerate() {
            validate_node(item_schema, item, &format!("{path}[{i}]"), out);
        }
    }
    let len = items.len();
    if let Some(min) = c.min_items
        && (len as i64) < min
    {
        out.invalid(
            path,
            Value::from(len),
            format!("{path} in body should have at least {min} items"),
        );
    }
    if let Some(max) = c.max_items
        && (len as i64) > max
    {
        out.too_many(path, len, max);
    }
    if c.unique_items
        && items
            .iter()
            .enumerate()
            .any(|(i, a)| items[..i].contains(a))
    {
        out.invalid(
            path,
            Value::from(""),
            format!("{path} in body shouldn't contain duplicates"),
        );
    }
}

fn enum_check(s: &StructuralSchema, data: &Value, path: &str, out: &mut Sink) {
    let allowed = &s.checks.enum_;
    if allowed.is_empty() || allowed.iter().any(|e| json_equal(e, data)) {
        return;
    }
    out.enum_fail(path, data, allowed);
}

/// Deep equality where numbers compare by value (`1` equals `1.0`).
pub(crate) fn json_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(i), Some(j)) => i == j,
            _ => x.as_f64() == y.as_f64(),
        },
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| json_equal(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_equal(v, w)))
        }
        _ => a == b,
    }
}

fn object_checks(s: &StructuralSchema, m: &Map<String, Value>, path: &str, out: &mut Sink) {
    let c = &s.checks;
    let n = m.len();
    if let Some(min) = c.min_properties
        && (n as i64) < min
    {
        out.invalid(
            path,
            Value::from(n),
            format!("{path} in body should have at least {min} properties"),
        );
    }
    if let Some(max) = c.max_properties
        && (n as i64) > max
    {
        out.too_many(path, n, max);
    }
    let child = |k: &str| {
        if path.is_empty() {
            k.to_string()
        } else {
            format!("{path}.{k}")
        }
    };
    match &s.additional_properties {
        Some(AdditionalProperties::Allows(false)) => {
            for k in m.keys().filter(|k| s.property(k).is_none()) {
                out.invalid(
                    path,
                    Value::from(k.as_str()),
                    format!("{path}.{k} in body is a forbidden property"),
                );
            }
        }
        Some(AdditionalProperties::Schema(ap)) => {
            // kube-openapi joins additional keys with a dot even at the root.
            for (k, v) in m.iter().filter(|(k, _)| s.property(k).is_none()) {
                validate_node(ap, v, &format!("{path}.{k}"), out);
            }
        }
        _ => {}
    }
    for (k, ps) in &s.properties {
        if let Some(v) = m.get(k) {
            validate_node(ps, v, &child(k), out);
        }
    }
    for k in &c.required {
        if !m.contains_key(k) {
            out.required(&format!("{path}.{k}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(schema: Value, obj: Value) -> Vec<String> {
        let s = StructuralSchema::parse(&schema);
        let mut sink = Sink::new(None);
        validate_node(&s, &obj, "", &mut sink);
        sink.errs.iter().map(FieldError::message).collect()
    }

    fn spec(props: Value) -> Value {
        json!({"type": "object", "properties": {"spec": {"type": "object", "properties": props}}})
    }

    #[test]
    fn crd_value_types_and_nulls() {
        assert_eq!(
            check(
                spec(json!({"replicas": {"type": "integer"}})),
                json!({"spec": {"replicas": "string"}})
            ),
            vec![
                "spec.replicas: Invalid value: \"string\": spec.replicas in body must be of type integer: \"string\""
            ]
        );
        assert_eq!(
            check(
                spec(json!({"r": {"type": "integer"}})),
                json!({"spec": {"r": null}})
            ),
            vec![
                "spec.r: Invalid value: \"null\": spec.r in body must be of type integer: \"null\""
            ]
        );
        assert!(
            check(
                spec(json!({"r": {"type": "integer", "nullable": true}})),
                json!({"spec": {"r": null}})
            )
            .is_empty()
        );
        assert!(
            check(
                spec(json!({"r": {"type": "integer"}})),
                json!({"spec": {"r": 2.0}})
            )
            .is_empty()
        );
        assert!(
            check(
                spec(json!({"r": {"type": "number"}})),
                json!({"spec": {"r": 2}})
            )
            .is_empty()
        );
        assert_eq!(
            check(
                spec(json!({"p": {"x-kubernetes-int-or-string": true}})),
                json!({"spec": {"p": true}})
            ),
            vec![
                "spec.p: Invalid value: \"boolean\": spec.p in body must be of type integer,string: \"boolean\""
            ]
        );
        assert!(
            check(
                spec(json!({"p": {"x-kubernetes-int-or-string": true}})),
                json!({"spec": {"p": "80%"}})
            )
            .is_empty()
        );
    }

    #[test]
    fn crd_value_limits() {
        let s = spec(json!({
            "count": {"type": "integer", "minimum": 1, "maximum": 100, "multipleOf": 2},
            "ratio": {"type": "number", "exclusiveMaximum": true, "maximum": 1.5},
            "name": {"type": "string", "minLength": 2, "maxLength": 5, "pattern": "^[a-z]+$"},
            "tags": {"type": "array", "minItems": 1, "maxItems": 2, "items": {"type": "string"}},
            "size": {"type": "string", "enum": ["small", "large"]},
            "m": {"type": "object", "maxProperties": 1, "minProperties": 1,
                  "additionalProperties": {"type": "string"}}}));
        assert_eq!(
            check(
                s.clone(),
                json!({"spec": {"count": 201, "ratio": 1.5, "name": "Ab", "tags": ["a", "b", 3],
                "size": "x", "m": {"a": "1", "b": 2}}})
            ),
            vec![
                "spec.count: Invalid value: 201: spec.count in body should be a multiple of 2",
                "spec.count: Invalid value: 201: spec.count in body should be less than or equal to 100",
                "spec.ratio: Invalid value: 1.5: spec.ratio in body should be less than 1.5",
                "spec.name: Invalid value: \"Ab\": spec.name in body should match '^[a-z]+$'",
                "spec.tags[2]: Invalid value: \"integer\": spec.tags[2] in body must be of type string: \"integer\"",
                "spec.tags: Too many: 3: must have at most 2 items",
                "spec.size: Unsupported value: \"x\": supported values: \"small\", \"large\"",
                "spec.m: Too many: 2: must have at most 1 items",
                "spec.m.b: Invalid value: \"integer\": spec.m.b in body must be of type string: \"integer\"",
            ]
        );
        assert_eq!(
            check(
                s,
                json!({"spec": {"count": 0, "name": "abcdéf", "tags": [], "m": {}}})
            ),
            vec![
                "spec.count: Invalid value: 0: spec.count in body should be greater than or equal to 1",
                "spec.name: Too long: may not be more than 5 bytes",
                "spec.tags: Invalid value: 0: spec.tags in body should have at least 1 items",
                "spec.m: Invalid value: 0: spec.m in body should have at least 1 properties",
            ]
        );
    }

    #[test]
    fn crd_value_required_formats_and_combinators() {
        let s = json!({"type": "object", "required": ["spec"], "properties": {"spec": {"type": "object",
            "required": ["name"], "properties": {
                "name": {"type": "string"},
                "id": {"type": "string", "format": "uuid"},
                "at": {"type": "string", "format": "date-time"},
                "n": {"type": "integer", "format": "int32"}},
            "oneOf": [{"required": ["id"]}, {"required": ["at"]}]}}});
        assert_eq!(check(s.clone(), json!({})), vec!["spec: Required value"]);
        assert_eq!(
            check(
                s.clone(),
                json!({"spec": {"id": "nope", "at": "2024-01-01T00:00:00Z", "n": 1}})
            ),
            vec![
                "<nil>: Invalid value: \"\": \"spec\" must validate one and only one schema (oneOf). Found 2 valid alternatives",
                "spec.id: Invalid value: \"nope\": spec.id in body must be of type uuid: \"nope\"",
                "spec.name: Required value",
            ]
        );
        assert_eq!(
            check(s, json!({"spec": {"name": "a", "at": "yesterday"}})),
            vec![
                "spec.at: Invalid value: \"yesterday\": spec.at in body must be of type date-time: \"yesterday\""
            ]
        );
        assert!(json_equal(&json!({"a": [1, 2.0]}), &json!({"a": [1.0, 2]})));
    }
}
