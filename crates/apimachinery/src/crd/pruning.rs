//! Pruning of fields a custom resource's schema does not declare
//! (apiextensions' `pruning` and the ObjectMeta coercion), returning the
//! `unknown field "spec.foo"` texts the server reports for
//! `fieldValidation=Strict|Warn`.

use serde_json::{Map, Value};

use super::schema::StructuralSchema;

/// The fields of `ObjectMeta`; anything else in a resource's `metadata` is
/// dropped like any unknown field.
const OBJECT_META_FIELDS: &[&str] = &[
    "name",
    "generateName",
    "namespace",
    "selfLink",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "labels",
    "annotations",
    "ownerReferences",
    "finalizers",
    "managedFields",
];

const META_FIELDS: &[&str] = &["apiVersion", "kind", "metadata"];

impl StructuralSchema {
    /// Removes undeclared fields from `obj` (the resource root, which is
    /// treated as an embedded resource: `apiVersion`, `kind` and `metadata`
    /// stay). Fields under `x-kubernetes-preserve-unknown-fields` stay.
    /// Returns `unknown field "<path>"` for each removed field, sorted.
    pub fn prune(&self, obj: &mut Value) -> Vec<String> {
        let mut root = self.clone();
        root.embedded_resource = true;
        let mut paths = Vec::new();
        prune(obj, Some(&root), "", &mut paths);
        meta(obj, "", &mut paths);
        paths.sort();
        paths
            .into_iter()
            .map(|p| format!("unknown field \"{p}\""))
            .collect()
    }
}

/// Prunes a schema `default` the way its object would be pruned (used to
/// refuse defaults with unknown fields).
pub(crate) fn prune_default(x: &mut Value, s: &StructuralSchema, is_resource_root: bool) {
    let mut unknown = Vec::new();
    if is_resource_root && !s.embedded_resource {
        let mut root = s.clone();
        root.embedded_resource = true;
        prune(x, Some(&root), "", &mut unknown);
    } else {
        prune(x, Some(s), "", &mut unknown);
    }
}

fn join(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_string()
    } else {
        format!("{parent}.{key}")
    }
}

fn prune(x: &mut Value, s: Option<&StructuralSchema>, path: &str, unknown: &mut Vec<String>) {
    if let Some(s) = s
        && s.preserve_unknown_fields
    {
        skip_prune(x, s, path, unknown);
        return;
    }
    match x {
        Value::Object(m) => {
            let Some(s) = s else {
                unknown.extend(m.keys().map(|k| join(path, k)));
                m.clear();
                return;
            };
            let mut drop = Vec::new();
            for (k, v) in m.iter_mut() {
                if s.embedded_resource && META_FIELDS.contains(&k.as_str()) {
                    embedded_meta(k, v, &join(path, k), unknown);
                    continue;
                }
                if let Some(p) = s.property(k) {
                    prune(v, Some(p), &join(path, k), unknown);
                } else if let Some(ap) = &s.additional_properties {
                    let ap = match ap {
                        super::schema::AdditionalProperties::Schema(ap) => Some(ap.as_ref()),
                        super::schema::AdditionalProperties::Allows(_) => None,
                    };
                    prune(v, ap, &join(path, k), unknown);
                } else {
                    // Type meta fields at the root are not reported.
                    if !META_FIELDS.contains(&k.as_str()) || !path.is_empty() {
                        unknown.push(join(path, k));
                    }
                    drop.push(k.clone());
                }
            }
            for k in drop {
                m.remove(&k);
            }
        }
        Value::Array(items) => {
            let item_schema = s.and_then(StructuralSchema::items);
            for (i, v) in items.iter_mut().enumerate() {
                prune(v, item_schema, &format!("{path}[{i}]"), unknown);
            }
        }
        _ => {}
    }
}

/// Declared parts under `x-kubernetes-preserve-unknown-fields` still follow
/// their schemas; undeclared ones are kept as they are.
fn skip_prune(x: &mut Value, s: &StructuralSchema, path: &str, unknown: &mut Vec<String>) {
    match x {
        Value::Object(m) => {
            for (k, v) in m.iter_mut() {
                if s.embedded_resource && META_FIELDS.contains(&k.as_str()) {
                    embedded_meta(k, v, &join(path, k), unknown);
                    continue;
                }
                if let Some(p) = s.property(k) {
                    prune(v, Some(p), &join(path, k), unknown);
                } else if let Some(ap) = s.additional_properties() {
                    prune(v, Some(ap), &join(path, k), unknown);
                }
            }
        }
        Value::Array(items) => {
            if let Some(item_schema) = s.items() {
                for (i, v) in items.iter_mut().enumerate() {
                    skip_prune(v, item_schema, &format!("{path}[{i}]"), unknown);
                }
            }
        }
        _ => {}
    }
}

/// `metadata` of a nested embedded resource: unknown ObjectMeta fields go.
fn embedded_meta(k: &str, v: &mut Value, path: &str, unknown: &mut Vec<String>) {
    if k == "metadata"
        && path != "metadata"
        && let Value::Object(m) = v
    {
        prune_meta_fields(m, path, unknown);
    }
}

/// The root `metadata`.
fn meta(obj: &mut Value, path: &str, unknown: &mut Vec<String>) {
    if let Some(Value::Object(m)) = obj.get_mut("metadata") {
        prune_meta_fields(m, &join(path, "metadata"), unknown);
    }
}

fn prune_meta_fields(m: &mut Map<String, Value>, path: &str, unknown: &mut Vec<String>) {
    m.retain(|k, _| {
        let known = OBJECT_META_FIELDS.contains(&k.as_str());
        if !known {
            unknown.push(join(path, k));
        }
        known
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> StructuralSchema {
        StructuralSchema::parse(&json!({"type": "object", "properties": {
            "spec": {"type": "object", "properties": {
                "image": {"type": "string"},
                "ports": {"type": "array", "items": {"type": "object", "properties": {"port": {"type": "integer"}}}},
                "config": {"type": "object", "x-kubernetes-preserve-unknown-fields": true,
                    "properties": {"strict": {"type": "object", "properties": {"a": {"type": "string"}}}}},
                "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                "template": {"type": "object", "x-kubernetes-embedded-resource": true,
                    "properties": {"spec": {"type": "object"}}}}},
            "status": {"type": "object", "properties": {"ready": {"type": "boolean"}}}}}))
    }

    #[test]
    fn crd_pruning_removes_and_reports_unknown_fields() {
        let mut obj = json!({"apiVersion": "example.com/v1", "kind": "Widget",
            "metadata": {"name": "w", "bogus": 1},
            "spec": {"image": "nginx", "foo": 1, "ports": [{"port": 80, "name": "http"}],
                "config": {"anything": {"goes": true}, "strict": {"a": "x", "b": "y"}},
                "labels": {"a": "b"},
                "template": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "junk": 1},
                    "spec": {"x": 1}, "extra": 2}},
            "other": {"x": 1}});
        let unknown = schema().prune(&mut obj);
        assert_eq!(
            unknown,
            vec![
                "unknown field \"metadata.bogus\"",
                "unknown field \"other\"",
                "unknown field \"spec.config.strict.b\"",
                "unknown field \"spec.foo\"",
                "unknown field \"spec.ports[0].name\"",
                "unknown field \"spec.template.extra\"",
                "unknown field \"spec.template.metadata.junk\"",
                "unknown field \"spec.template.spec.x\"",
            ]
        );
        assert_eq!(
            obj,
            json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"},
                "spec": {"image": "nginx", "ports": [{"port": 80}],
                    "config": {"anything": {"goes": true}, "strict": {"a": "x"}},
                    "labels": {"a": "b"},
                    "template": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {}}}})
        );
    }

    #[test]
    fn crd_pruning_keeps_everything_under_preserve_at_root() {
        let s = StructuralSchema::parse(
            &json!({"type": "object", "x-kubernetes-preserve-unknown-fields": true}),
        );
        let mut obj = json!({"apiVersion": "a/v1", "kind": "K", "metadata": {"name": "n"}, "spec": {"x": [1]}});
        let before = obj.clone();
        assert!(s.prune(&mut obj).is_empty());
        assert_eq!(obj, before);
    }
}
