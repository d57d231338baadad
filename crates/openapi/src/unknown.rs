//! Finding the fields of a request body that its kind's schema does not
//! know, for `fieldValidation=Warn|Strict`. Paths are spelled as Kubernetes'
//! strict decoding spells them (`spec.template.spec.containers[0].imagee`),
//! in document order, so the API server can wrap each in
//! `unknown field "<path>"`.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::definitions::{Gvk, REF_PREFIX, builtins};
use crate::kinds;

/// Whether this crate has a schema for the built-in kind, i.e. whether
/// [`unknown_fields`] can say anything about it.
pub fn is_builtin_kind(group: &str, version: &str, kind: &str) -> bool {
    builtins()
        .kinds
        .contains_key(&Gvk::new(group, version, kind))
}

/// The fields of `obj` that the schema of the built-in kind does not know.
/// Maps (labels, annotations, data) accept any key; fields that keep
/// unknown content (`RawExtension`, `x-kubernetes-preserve-unknown-fields`)
/// accept anything below them. Empty for a kind this crate has no schema of
/// (see [`is_builtin_kind`]).
pub fn unknown_fields(group: &str, version: &str, kind: &str, obj: &Value) -> Vec<String> {
    let builtins = builtins();
    let Some(kind) = builtins.kinds.get(&Gvk::new(group, version, kind)) else {
        return Vec::new();
    };
    let Some(schema) = builtins.definitions.get(&kind.definition) else {
        return Vec::new();
    };
    let mut walker = Walker {
        definitions: &builtins.definitions,
        found: Vec::new(),
    };
    walker.walk(schema, obj, &mut String::new(), Mode::Builtin);
    walker.found
}

/// The fields of `obj` that a custom resource's structural schema (an
/// OpenAPI v3 schema without `$ref`s) does not know, as the API server
/// prunes them: an object schema without `properties`, `additionalProperties`
/// or `x-kubernetes-preserve-unknown-fields` knows no fields at all.
/// `apiVersion` and `kind` are always known and `metadata` is checked
/// against `ObjectMeta`.
pub fn unknown_fields_in(schema: &Value, obj: &Value) -> Vec<String> {
    let builtins = builtins();
    let mut walker = Walker {
        definitions: &builtins.definitions,
        found: Vec::new(),
    };
    let mut path = String::new();
    if preserves_unknown(schema) {
        return Vec::new();
    }
    let Value::Object(fields) = obj else {
        return Vec::new();
    };
    let metadata = builtins.definitions.get(kinds::OBJECT_META);
    for (key, value) in fields {
        match (key.as_str(), metadata) {
            ("apiVersion" | "kind", _) => {}
            ("metadata", Some(metadata)) => {
                walker.field(metadata, value, &mut path, key, Mode::Builtin)
            }
            _ => walker.object_field(schema, key, value, &mut path, Mode::Structural),
        }
    }
    walker.found
}

/// How an object schema without fields of its own is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Built-in types without properties (RawExtension, FieldsV1, Patch) hold
    /// arbitrary JSON that Go decodes as raw bytes.
    Builtin,
    /// Custom resources' structural schemas: no properties means none allowed.
    Structural,
}

struct Walker<'a> {
    definitions: &'a BTreeMap<String, Value>,
    found: Vec<String>,
}

fn preserves_unknown(schema: &Value) -> bool {
    schema.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true))
}

impl<'a> Walker<'a> {
    /// Follows `$ref` (and a single-element `allOf` around one) to the schema
    /// that describes the value; reports whether a reference was crossed.
    fn resolve<'s>(&self, mut schema: &'s Value) -> (&'s Value, bool)
    where
        'a: 's,
    {
        let mut crossed = false;
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
            let name = target.strip_prefix(REF_PREFIX).unwrap_or(target);
            match self.definitions.get(name) {
                Some(definition) => {
                    schema = definition;
                    crossed = true;
                }
                None => break,
            }
        }
        (schema, crossed)
    }

    fn walk(&mut self, schema: &Value, value: &Value, path: &mut String, mode: Mode) {
        let (schema, crossed) = self.resolve(schema);
        // Past a reference the schema is a built-in one.
        let mode = if crossed { Mode::Builtin } else { mode };
        if preserves_unknown(schema) {
            return;
        }
        match value {
            Value::Object(fields) => {
                for (key, value) in fields {
                    self.object_field(schema, key, value, path, mode);
                }
            }
            Value::Array(items) => {
                let Some(item_schema) = schema.get("items") else {
                    return;
                };
                for (index, item) in items.iter().enumerate() {
                    let len = path.len();
                    path.push_str(&format!("[{index}]"));
                    self.walk(item_schema, item, path, mode);
                    path.truncate(len);
                }
            }
            _ => {}
        }
    }

    /// Checks one field of an object described by `schema` (already resolved).
    fn object_field(
        &mut self,
        schema: &Value,
        key: &str,
        value: &Value,
        path: &mut String,
        mode: Mode,
    ) {
        let properties = schema.get("properties").and_then(Value::as_object);
        let additional = schema.get("additionalProperties");
        if let Some(property) = properties.and_then(|p| p.get(key)) {
            return self.field(property, value, path, key, mode);
        }
        match additional {
            Some(item @ Value::Object(_)) => self.field(item, value, path, key, mode),
            Some(Value::Bool(true)) => {}
            Some(_) => self.report(path, key),
            None if properties.is_none() && mode == Mode::Builtin => {}
            None => self.report(path, key),
        }
    }

    fn field(&mut self, schema: &Value, value: &Value, path: &mut String, key: &str, mode: Mode) {
        let len = path.len();
        if !path.is_empty() {
            path.push('.');
        }
        path.push_str(key);
        self.walk(schema, value, path, mode);
        path.truncate(len);
    }

    fn report(&mut self, path: &str, key: &str) {
        if path.is_empty() {
            self.found.push(key.to_string());
        } else {
            self.found.push(format!("{path}.{key}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn deployment() -> Value {
        json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {
                "name": "web",
                "labels": {"app": "web", "any.key/at-all": "x"},
                "annotations": {"note": "n"},
                "managedFields": [{"manager": "kubectl", "fieldsV1": {"f:spec": {"f:replicas": {}}}}],
            },
            "spec": {
                "replicaz": 3,
                "selector": {"matchLabels": {"app": "web"}},
                "strategy": {"rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 1}},
                "template": {
                    "metadata": {"labels": {"app": "web"}},
                    "spec": {
                        "containers": [
                            {"name": "a", "image": "nginx", "resources": {"limits": {"cpu": "1"}}},
                            {"name": "b", "imagee": "nginx", "ports": [{"containerPort": 80, "hostPortt": 1}]},
                        ],
                        "nodeSelector": {"disk": "ssd"},
                    },
                },
            },
            "status": {"bogus": true},
        })
    }

    #[test]
    fn openapi_unknown_fields_in_a_deployment() {
        assert_eq!(
            unknown_fields("apps", "v1", "Deployment", &deployment()),
            [
                "spec.replicaz",
                "spec.template.spec.containers[1].imagee",
                "spec.template.spec.containers[1].ports[0].hostPortt",
                "status.bogus",
            ]
        );
    }

    #[test]
    fn openapi_unknown_fields_none_in_a_valid_object() {
        let pod = json!({
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "p", "labels": {"x": "y"}},
            "spec": {"containers": [{"name": "c", "image": "i", "env": [{"name": "A", "value": "1"}]}]},
        });
        assert_eq!(unknown_fields("", "v1", "Pod", &pod), Vec::<String>::new());
        assert_eq!(
            unknown_fields(
                "",
                "v1",
                "Pod",
                &json!({"spec": {"containers": [{"imagee": "x"}]}})
            ),
            ["spec.containers[0].imagee"]
        );
        assert_eq!(unknown_fields("", "v1", "Pod", &json!({"foo": 1})), ["foo"]);
        // Unknown kinds: nothing to say.
        assert!(!is_builtin_kind("example.com", "v1", "Thing"));
        assert_eq!(
            unknown_fields("example.com", "v1", "Thing", &json!({"foo": 1})),
            Vec::<String>::new()
        );
    }

    #[test]
    fn openapi_unknown_fields_accept_raw_extensions() {
        let revision = json!({
            "apiVersion": "apps/v1",
            "kind": "ControllerRevision",
            "metadata": {"name": "r"},
            "revision": 1,
            "data": {"anything": {"goes": [1, 2]}},
        });
        assert_eq!(
            unknown_fields("apps", "v1", "ControllerRevision", &revision),
            Vec::<String>::new()
        );
    }

    #[test]
    fn openapi_unknown_fields_in_custom_schema() {
        let schema = json!({
            "type": "object",
            "properties": {
                "spec": {
                    "type": "object",
                    "properties": {
                        "cronSpec": {"type": "string"},
                        "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
                        "map": {"type": "object", "additionalProperties": {"type": "object", "properties": {"a": {"type": "string"}}}},
                        "closed": {"type": "object"},
                    },
                },
            },
        });
        let obj = json!({
            "apiVersion": "stable.example.com/v1",
            "kind": "CronTab",
            "metadata": {"name": "c", "labels": {"a": "b"}, "bogus": 1},
            "spec": {
                "cronSpec": "* * * * *",
                "free": {"x": {"y": 1}},
                "map": {"k": {"a": "s", "b": "t"}},
                "closed": {"x": 1},
                "extra": 2,
            },
            "top": 3,
        });
        assert_eq!(
            unknown_fields_in(&schema, &obj),
            [
                "metadata.bogus",
                "spec.map.k.b",
                "spec.closed.x",
                "spec.extra",
                "top"
            ]
        );
    }
}
