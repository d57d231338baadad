//! [`ApplySchema`] for custom resources, read from the version's OpenAPI v3
//! schema (`spec.versions[].schema.openAPIV3Schema` of the CRD):
//! `x-kubernetes-list-type` (`atomic`, `set`, `map`; absent means atomic),
//! `x-kubernetes-list-map-keys` (with the keys' `default`s) and
//! `x-kubernetes-map-type`. `metadata` follows ObjectMeta's built-in rules,
//! which a CRD's schema cannot change.

use serde_json::Value;

use super::builtin::BuiltinSchema;
use super::schema::{ApplySchema, ListType, MapKey, MapType, Step};

/// The merge semantics of a custom resource version.
#[derive(Clone, Debug)]
pub struct OpenApiSchema {
    root: Value,
    meta: BuiltinSchema,
}

/// Where a path lands in the schema: on a node, or in territory the schema
/// does not describe (`x-kubernetes-preserve-unknown-fields`, or no schema).
enum Found<'a> {
    Node(&'a Value, bool),
    Unknown,
}

impl OpenApiSchema {
    /// A schema from an `openAPIV3Schema` value.
    pub fn new(open_api_v3_schema: Value) -> Self {
        OpenApiSchema {
            root: open_api_v3_schema,
            // Any built-in kind serves: only its ObjectMeta is consulted.
            meta: BuiltinSchema::new("", "ConfigMap"),
        }
    }

    /// The node at `path`, and whether the last step went through
    /// `additionalProperties` (a map entry).
    fn find(&self, path: &[Step<'_>]) -> Found<'_> {
        let mut node = &self.root;
        let mut entry = false;
        for step in path {
            let next = match step {
                Step::Field(name) => {
                    if let Some(p) = node.get("properties").and_then(|p| p.get(*name)) {
                        entry = false;
                        Some(p)
                    } else {
                        entry = true;
                        node.get("additionalProperties").filter(|a| a.is_object())
                    }
                }
                Step::Item => {
                    entry = false;
                    node.get("items")
                }
            };
            match next {
                Some(n) => node = n,
                None => return Found::Unknown,
            }
        }
        Found::Node(node, entry)
    }
}

fn is_metadata(path: &[Step<'_>]) -> bool {
    matches!(path.first(), Some(Step::Field("metadata")))
}

impl ApplySchema for OpenApiSchema {
    fn list_type(&self, path: &[Step<'_>]) -> ListType {
        if is_metadata(path) {
            return self.meta.list_type(path);
        }
        let Found::Node(node, _) = self.find(path) else {
            return ListType::Atomic;
        };
        match node.get("x-kubernetes-list-type").and_then(Value::as_str) {
            Some("set") => ListType::Set,
            Some("map") => {
                let item_props = node.get("items").and_then(|i| i.get("properties"));
                let keys = node
                    .get("x-kubernetes-list-map-keys")
                    .and_then(Value::as_array)
                    .map(|keys| {
                        keys.iter()
                            .filter_map(Value::as_str)
                            .map(|k| MapKey {
                                name: k.to_owned(),
                                default: item_props
                                    .and_then(|p| p.get(k))
                                    .and_then(|p| p.get("default"))
                                    .cloned(),
                            })
                            .collect::<Vec<_>>()
                    })
                    .unwrap_or_default();
                if keys.is_empty() {
                    ListType::Set
                } else {
                    ListType::Map(keys)
                }
            }
            _ => ListType::Atomic,
        }
    }

    fn map_type(&self, path: &[Step<'_>]) -> MapType {
        if is_metadata(path) {
            return self.meta.map_type(path);
        }
        match self.find(path) {
            Found::Node(node, _)
                if node.get("x-kubernetes-map-type").and_then(Value::as_str) == Some("atomic") =>
            {
                MapType::Atomic
            }
            _ => MapType::Granular,
        }
    }

    fn is_map_entry(&self, path: &[Step<'_>]) -> bool {
        if is_metadata(path) {
            return self.meta.is_map_entry(path);
        }
        match self.find(path) {
            Found::Node(_, entry) => entry,
            Found::Unknown => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Step::{Field as F, Item};
    use serde_json::json;

    #[test]
    fn apply_openapi_schema_extensions() {
        let s = OpenApiSchema::new(json!({
            "type": "object",
            "properties": {
                "spec": {
                    "type": "object",
                    "properties": {
                        "plain": {"type": "array", "items": {"type": "string"}},
                        "tags": {"type": "array", "x-kubernetes-list-type": "set",
                                 "items": {"type": "string"}},
                        "ports": {
                            "type": "array",
                            "x-kubernetes-list-type": "map",
                            "x-kubernetes-list-map-keys": ["port", "protocol"],
                            "items": {"type": "object", "properties": {
                                "port": {"type": "integer"},
                                "protocol": {"type": "string", "default": "TCP"}
                            }}
                        },
                        "ref": {"type": "object", "x-kubernetes-map-type": "atomic"},
                        "env": {"type": "object", "additionalProperties": {"type": "object"}},
                        "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}
                    }
                }
            }
        }));
        assert_eq!(s.list_type(&[F("spec"), F("plain")]), ListType::Atomic);
        assert_eq!(s.list_type(&[F("spec"), F("tags")]), ListType::Set);
        assert_eq!(
            s.list_type(&[F("spec"), F("ports")]),
            ListType::Map(vec![
                MapKey::new("port"),
                MapKey::with_default("protocol", json!("TCP"))
            ])
        );
        assert_eq!(s.map_type(&[F("spec"), F("ref")]), MapType::Atomic);
        assert_eq!(s.map_type(&[F("spec")]), MapType::Granular);
        assert!(s.is_map_entry(&[F("spec"), F("env"), F("x")]));
        assert!(s.is_map_entry(&[F("spec"), F("free"), F("x")]));
        assert!(!s.is_map_entry(&[F("spec"), F("ref")]));
        assert_eq!(
            s.list_type(&[F("spec"), F("free"), F("x")]),
            ListType::Atomic
        );
        assert_eq!(
            s.list_type(&[F("metadata"), F("finalizers")]),
            ListType::Set
        );
        assert_eq!(
            s.map_type(&[F("metadata"), F("ownerReferences"), Item]),
            MapType::Atomic
        );
    }
}
