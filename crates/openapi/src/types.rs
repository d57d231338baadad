//! The JSON type check of a built-in kind's object, as Go's decoding into
//! the kind's struct makes it: a value of the wrong JSON type (a string
//! for an `int32`, a number in a `map[string]string`) is refused before
//! anything else looks at the object. Only JSON types are checked, not
//! formats (`date-time`, `byte`); `null` is accepted anywhere, as Go's
//! decoder takes it for the zero value.

use serde_json::Value;

use crate::definitions::{Gvk, REF_PREFIX, builtins};

/// The definition of `resource.Quantity`, which Go also decodes from a
/// JSON number.
const QUANTITY: &str = "io.k8s.apimachinery.pkg.api.resource.Quantity";

/// A value whose JSON type is not the one its field has. The message is
/// Go's `json.UnmarshalTypeError`'s.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("json: cannot unmarshal {got} into Go struct field {strukt}.{field} of type {expected}")]
pub struct TypeMismatch {
    /// The Go struct that holds the field (`DeploymentSpec`).
    pub strukt: String,
    /// The field's JSON path without list indices or map keys, as Go
    /// prints it (`spec.replicas`, `spec.template.spec.containers.image`).
    pub field: String,
    /// The JSON type that came: `string`, `number`, `number 1.5`, `bool`,
    /// `array`, `object`.
    pub got: String,
    /// The Go type the field has (`int32`, `string`, `[]Container`).
    pub expected: String,
}

/// The first value in `obj` whose JSON type does not fit the built-in
/// kind's schema, in document order. None for a well-typed object and for
/// a kind this crate has no schema of.
pub fn type_mismatch(group: &str, version: &str, kind: &str, obj: &Value) -> Option<TypeMismatch> {
    let builtins = builtins();
    let definition = &builtins
        .kinds
        .get(&Gvk::new(group, version, kind))?
        .definition;
    let schema = builtins.definitions.get(definition)?;
    let checker = Checker {
        definitions: &builtins.definitions,
    };
    checker.check(schema, Some(definition), obj, &mut Vec::new(), kind)
}

struct Checker<'a> {
    definitions: &'a std::collections::BTreeMap<String, Value>,
}

impl<'a> Checker<'a> {
    /// Follows `$ref` (and a single-element `allOf` around one) to the
    /// schema of the value, with the name of the last definition crossed.
    fn resolve<'s>(
        &'s self,
        mut schema: &'s Value,
        mut name: Option<&'s str>,
    ) -> (&'s Value, Option<&'s str>) {
        // Bounded: a reference chain longer than this is a cycle.
        for _ in 0..16 {
            if let Some(Value::Array(all)) = schema.get("allOf")
                && all.len() == 1
                && schema.get("properties").is_none()
            {
                schema = &all[0];
                continue;
            }
            let Some(target) = schema.get("$ref").and_then(Value::as_str) else {
                break;
            };
            let target = target.strip_prefix(REF_PREFIX).unwrap_or(target);
            match self.definitions.get_key_value(target) {
                Some((key, definition)) => {
                    schema = definition;
                    name = Some(key.as_str());
                }
                None => break,
            }
        }
        (schema, name)
    }

    /// Checks `value` against `schema`; `definition` names the schema when
    /// it is a definition, `path` is the Go path so far and `strukt` the
    /// struct that holds the current field.
    fn check(
        &self,
        schema: &Value,
        definition: Option<&str>,
        value: &Value,
        path: &mut Vec<String>,
        strukt: &str,
    ) -> Option<TypeMismatch> {
        let (schema, definition) = self.resolve(schema, definition);
        if value.is_null()
            || schema.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true))
        {
            return None;
        }
        let mismatch = |got: String| {
            Some(TypeMismatch {
                strukt: strukt.to_string(),
                field: path.join("."),
                got,
                expected: self.go_type(schema, definition),
            })
        };
        let ty = schema.get("type").and_then(Value::as_str);
        let format = schema.get("format").and_then(Value::as_str);
        if definition == Some(QUANTITY) {
            return match value {
                Value::String(_) | Value::Number(_) => None,
                other => mismatch(json_type(other)),
            };
        }
        if format == Some("int-or-string") {
            return match value {
                Value::String(_) => None,
                Value::Number(n) if fits_integer(n, Some("int32")) => None,
                Value::Number(n) => mismatch(format!("number {n}")),
                other => mismatch(json_type(other)),
            };
        }
        match (ty, value) {
            // No type: anything (the `JSONSchemaPropsOr*` unions).
            (None, _) => None,
            (Some("string"), Value::String(_)) | (Some("boolean"), Value::Bool(_)) => None,
            (Some("number"), Value::Number(_)) => None,
            (Some("integer"), Value::Number(n)) if fits_integer(n, format) => None,
            (Some("integer"), Value::Number(n)) => mismatch(format!("number {n}")),
            (Some("array"), Value::Array(items)) => {
                let item_schema = schema.get("items")?;
                items
                    .iter()
                    .find_map(|item| self.check(item_schema, None, item, path, strukt))
            }
            (Some("object"), Value::Object(fields)) => {
                let properties = schema.get("properties").and_then(Value::as_object);
                let additional = schema.get("additionalProperties").filter(|a| a.is_object());
                // A struct's fields are named from the struct itself; a
                // map's values from the struct that holds the map.
                let holder = definition.map(short_name).unwrap_or(strukt).to_string();
                for (key, field_value) in fields {
                    if let Some(property) = properties.and_then(|p| p.get(key)) {
                        path.push(key.clone());
                        let found = self.check(property, None, field_value, path, &holder);
                        path.pop();
                        if found.is_some() {
                            return found;
                        }
                    } else if let Some(item) = additional {
                        let found = self.check(item, None, field_value, path, strukt);
                        if found.is_some() {
                            return found;
                        }
                    }
                    // Unknown fields are `fieldValidation`'s business.
                }
                None
            }
            // An object without fields of its own (RawExtension, JSON,
            // FieldsV1) keeps any JSON.
            (Some("object"), _)
                if schema.get("properties").is_none()
                    && schema.get("additionalProperties").is_none() =>
            {
                None
            }
            (Some(_), other) => mismatch(json_type(other)),
        }
    }

    /// The Go type of a schema, as Go's decoder names it (package
    /// qualifiers left out).
    fn go_type(&self, schema: &Value, definition: Option<&str>) -> String {
        let (schema, definition) = self.resolve(schema, definition);
        let format = schema.get("format").and_then(Value::as_str);
        match (schema.get("type").and_then(Value::as_str), format) {
            _ if definition == Some(QUANTITY) => "Quantity".into(),
            (_, Some("int-or-string")) => "IntOrString".into(),
            (Some("integer"), Some(f @ ("int32" | "int64"))) => f.into(),
            (Some("integer"), _) => "int".into(),
            (Some("number"), _) => "float64".into(),
            (Some("boolean"), _) => "bool".into(),
            (Some("string"), _) => definition.map(short_name).unwrap_or("string").into(),
            (Some("array"), _) => match schema.get("items") {
                Some(items) => format!("[]{}", self.go_type(items, None)),
                None => "[]interface {}".into(),
            },
            (Some("object"), _) => match (
                definition,
                schema.get("additionalProperties").filter(|a| a.is_object()),
            ) {
                (Some(name), _) => short_name(name).into(),
                (None, Some(item)) => format!("map[string]{}", self.go_type(item, None)),
                (None, None) => "map[string]interface {}".into(),
            },
            _ => "interface {}".into(),
        }
    }
}

/// Whether a JSON number decodes into a Go integer of `format`.
fn fits_integer(n: &serde_json::Number, format: Option<&str>) -> bool {
    match (n.as_i64(), format) {
        (Some(i), Some("int32")) => i32::try_from(i).is_ok(),
        (Some(_), _) => true,
        (None, _) => false,
    }
}

fn json_type(value: &Value) -> String {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
    .to_string()
}

/// `io.k8s.api.apps.v1.DeploymentSpec` -> `DeploymentSpec`.
fn short_name(definition: &str) -> &str {
    definition.rsplit('.').next().unwrap_or(definition)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn deployment(spec: Value) -> Value {
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "labels": {"a": "b"}}, "spec": spec})
    }

    #[test]
    fn openapi_types_accept_a_well_typed_deployment() {
        let d = deployment(json!({
            "replicas": 3,
            "selector": {"matchLabels": {"app": "web"}},
            "strategy": {"rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 1}},
            "template": {"spec": {
                "containers": [{"name": "a", "image": "nginx", "resources": {"limits": {"cpu": "1", "memory": 1024}}}],
                "terminationGracePeriodSeconds": null,
            }},
        }));
        assert_eq!(type_mismatch("apps", "v1", "Deployment", &d), None);
        // No schema, nothing to say.
        assert_eq!(
            type_mismatch("example.com", "v1", "Thing", &json!({"spec": 1})),
            None
        );
    }

    #[test]
    fn openapi_types_refuse_what_go_refuses() {
        let m = type_mismatch(
            "apps",
            "v1",
            "Deployment",
            &deployment(json!({"replicas": "three"})),
        )
        .expect("a mismatch");
        assert_eq!(
            m.to_string(),
            "json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of type int32"
        );
        let m = type_mismatch(
            "apps",
            "v1",
            "Deployment",
            &deployment(json!({"replicas": 1.5})),
        )
        .expect("a mismatch");
        assert_eq!(m.got, "number 1.5");
        let m = type_mismatch(
            "apps",
            "v1",
            "Deployment",
            &deployment(json!({"template": {"spec": {"containers": [{"name": "a", "image": 7}]}}})),
        )
        .expect("a mismatch");
        assert_eq!(
            m.to_string(),
            "json: cannot unmarshal number into Go struct field Container.spec.template.spec.containers.image of type string"
        );
        let m = type_mismatch(
            "apps",
            "v1",
            "Deployment",
            &deployment(json!({"template": {"spec": {"containers": {}}}})),
        )
        .expect("a mismatch");
        assert_eq!(m.expected, "[]Container");
        let m =
            type_mismatch("", "v1", "ConfigMap", &json!({"data": {"a": 1}})).expect("a mismatch");
        assert_eq!(
            m.to_string(),
            "json: cannot unmarshal number into Go struct field ConfigMap.data of type string"
        );
        let m = type_mismatch("", "v1", "ConfigMap", &json!({"metadata": {"labels": "x"}}))
            .expect("a mismatch");
        assert_eq!(
            m.to_string(),
            "json: cannot unmarshal string into Go struct field ObjectMeta.metadata.labels of type map[string]string"
        );
        let m = type_mismatch(
            "apps",
            "v1",
            "Deployment",
            &deployment(json!({"strategy": {"rollingUpdate": {"maxSurge": true}}})),
        )
        .expect("a mismatch");
        assert_eq!(m.expected, "IntOrString");
    }

    #[test]
    fn openapi_types_accept_opaque_fields() {
        let revision = json!({
            "apiVersion": "apps/v1",
            "kind": "ControllerRevision",
            "metadata": {"name": "r", "managedFields": [{"fieldsV1": {"f:spec": {}}}]},
            "revision": 1,
            "data": {"anything": {"goes": [1, "2"]}},
        });
        assert_eq!(
            type_mismatch("apps", "v1", "ControllerRevision", &revision),
            None
        );
    }
}
