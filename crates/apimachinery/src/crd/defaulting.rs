//! Schema defaults applied to custom resources as apiextensions does on
//! every decode: a property's `default` fills a missing field (or a `null`
//! in a non-nullable one) of an object that is present, recursively through
//! array items and map values; then non-nullable nulls without a default
//! are dropped (`PruneNonNullableNullsWithoutDefaults`).

use serde_json::Value;

use super::schema::StructuralSchema;

impl StructuralSchema {
    /// Applies the defaults to `obj` in place.
    pub fn apply_defaults(&self, obj: &mut Value) {
        default(obj, self);
        prune_nulls(obj, Some(self));
    }
}

fn non_nullable_null(x: &Value, s: Option<&StructuralSchema>) -> bool {
    x.is_null() && s.is_some_and(|s| !s.nullable)
}

fn default(x: &mut Value, s: &StructuralSchema) {
    match x {
        Value::Object(m) => {
            for (k, prop) in &s.properties {
                let Some(d) = &prop.default else { continue };
                if m.get(k).is_none_or(|v| non_nullable_null(v, Some(prop))) {
                    m.insert(k.clone(), d.clone());
                }
            }
            let ap = s.additional_properties();
            for (k, v) in m.iter_mut() {
                if let Some(prop) = s.property(k) {
                    default(v, prop);
                } else if let Some(ap) = ap {
                    if non_nullable_null(v, Some(ap))
                        && let Some(d) = &ap.default
                    {
                        *v = d.clone();
                    }
                    default(v, ap);
                }
            }
        }
        Value::Array(items) => {
            let Some(item_schema) = s.items() else { return };
            for v in items.iter_mut() {
                if non_nullable_null(v, Some(item_schema))
                    && let Some(d) = &item_schema.default
                {
                    *v = d.clone();
                }
                default(v, item_schema);
            }
        }
        _ => {}
    }
}

/// Drops `null` fields whose schema is neither nullable nor defaulted,
/// so a client's explicit null reads as "unset".
fn prune_nulls(x: &mut Value, s: Option<&StructuralSchema>) {
    match x {
        Value::Object(m) => {
            m.retain(|k, v| {
                let fs = s.and_then(|s| s.field(k));
                !(v.is_null() && fs.is_some_and(|fs| !fs.nullable && fs.default.is_none()))
            });
            for (k, v) in m.iter_mut() {
                prune_nulls(v, s.and_then(|s| s.field(k)));
            }
        }
        Value::Array(items) => {
            for v in items.iter_mut() {
                prune_nulls(v, s.and_then(StructuralSchema::items));
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> StructuralSchema {
        StructuralSchema::parse(
            &json!({"type": "object", "properties": {"spec": {"type": "object", "properties": {
            "replicas": {"type": "integer", "default": 1},
            "image": {"type": "string", "default": "nginx"},
            "note": {"type": "string"},
            "opt": {"type": "string", "nullable": true, "default": "x"},
            "ports": {"type": "array", "items": {"type": "object", "properties": {
                "protocol": {"type": "string", "default": "TCP"}}}},
            "limits": {"type": "object", "additionalProperties": {"type": "object", "default": {},
                "properties": {"unit": {"type": "string", "default": "Mi"}}}},
            "nested": {"type": "object", "default": {}, "properties": {"deep": {"type": "boolean", "default": true}}}}}}}),
        )
    }

    #[test]
    fn crd_defaulting_fills_missing_fields_recursively() {
        let mut obj = json!({"spec": {"replicas": 3, "ports": [{"protocol": "UDP"}, {}], "limits": {"cpu": {}, "mem": null}}});
        schema().apply_defaults(&mut obj);
        assert_eq!(
            obj,
            json!({"spec": {"replicas": 3, "ports": [{"protocol": "UDP"}, {"protocol": "TCP"}],
                "limits": {"cpu": {"unit": "Mi"}, "mem": {"unit": "Mi"}},
                "image": "nginx", "opt": "x", "nested": {"deep": true}}})
        );
    }

    #[test]
    fn crd_defaulting_nulls() {
        // Absent objects are not created; nulls of non-nullable fields get
        // their default or disappear; nullable nulls stay.
        let mut obj = json!({"metadata": {"name": "a"}});
        schema().apply_defaults(&mut obj);
        assert_eq!(obj, json!({"metadata": {"name": "a"}}));
        let mut obj = json!({"spec": {"replicas": null, "note": null, "opt": null}});
        schema().apply_defaults(&mut obj);
        assert_eq!(obj["spec"]["replicas"], json!(1));
        assert!(obj["spec"].get("note").is_none());
        assert_eq!(obj["spec"]["opt"], Value::Null);
    }
}
