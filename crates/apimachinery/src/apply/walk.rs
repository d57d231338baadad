//! Walking an object with its schema: the path element that names a list
//! item (its key fields, its value or its index) and the set of fields an
//! object sets, which becomes an applier's ownership.

use serde_json::{Map, Value};

use super::ApplyError;
use super::fieldset::FieldSet;
use super::path::{Path, PathElement};
use super::schema::{ApplySchema, ListType, MapType, Step};

/// Where a walk is: the field path (for sets and messages) and the schema
/// path (for the schema's questions).
#[derive(Default)]
pub(crate) struct Cursor<'a> {
    pub(crate) pes: Vec<PathElement>,
    pub(crate) steps: Vec<Step<'a>>,
}

impl<'a> Cursor<'a> {
    pub(crate) fn push(&mut self, pe: PathElement, step: Step<'a>) {
        self.pes.push(pe);
        self.steps.push(step);
    }

    pub(crate) fn pop(&mut self) {
        self.pes.pop();
        self.steps.pop();
    }
}

/// The schema path of a field path: keys, values and indices are all "an
/// item".
pub(crate) fn steps_of(pes: &[PathElement]) -> Vec<Step<'_>> {
    pes.iter()
        .map(|pe| match pe {
            PathElement::Field(name) => Step::Field(name),
            _ => Step::Item,
        })
        .collect()
}

fn invalid(pes: &[PathElement], message: String) -> ApplyError {
    ApplyError::InvalidObject(format!("{}: {message}", Path(pes.to_vec())))
}

/// The element naming `item` (the `index`th) of a list of type `list_type`.
pub(crate) fn item_element(
    list_type: &ListType,
    item: &Value,
    index: usize,
    at: &[PathElement],
) -> Result<PathElement, ApplyError> {
    match list_type {
        ListType::Atomic => Ok(PathElement::Index(index)),
        ListType::Set => Ok(PathElement::Value(item.clone())),
        ListType::Map(keys) => {
            let Value::Object(fields) = item else {
                return Err(invalid(
                    at,
                    format!("element {index}: associative list with keys may only contain maps"),
                ));
            };
            let mut key = Vec::with_capacity(keys.len());
            for k in keys {
                match fields.get(&k.name).or(k.default.as_ref()) {
                    Some(v) => key.push((k.name.clone(), v.clone())),
                    None => {
                        return Err(invalid(
                            at,
                            format!(
                                "element {index}: associative list with keys has an element that omits key field {:?} (and doesn't have default value)",
                                k.name
                            ),
                        ));
                    }
                }
            }
            Ok(PathElement::key(key))
        }
    }
}

/// The fields `object` sets, as Kubernetes records an applier's ownership:
/// every scalar, every atomic list or map as one field, every item of a
/// keyed or set list (with `"."` when it has fields below), entries of
/// free-key maps, and empty maps and nulls.
pub fn field_set(object: &Value, schema: &dyn ApplySchema) -> Result<FieldSet, ApplyError> {
    let mut set = FieldSet::new();
    if let Value::Object(map) = object {
        visit_map(map, schema, &mut Cursor::default(), &mut set)?;
    }
    Ok(set)
}

fn visit<'a>(
    value: &'a Value,
    schema: &dyn ApplySchema,
    at: &mut Cursor<'a>,
    set: &mut FieldSet,
) -> Result<(), ApplyError> {
    match value {
        Value::Object(map) => {
            if schema.map_type(&at.steps) == MapType::Atomic {
                set.insert(&at.pes);
                return Ok(());
            }
            visit_map(map, schema, at, set)
        }
        Value::Array(items) => {
            let list_type = schema.list_type(&at.steps);
            if list_type == ListType::Atomic {
                set.insert(&at.pes);
                return Ok(());
            }
            let mut seen = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                let pe = item_element(&list_type, item, i, &at.pes)?;
                // Kubernetes records a duplicated item once, as a whole.
                if seen.contains(&pe) {
                    at.pes.push(pe);
                    set.insert(&at.pes);
                    at.pes.pop();
                    continue;
                }
                seen.push(pe.clone());
                at.push(pe, Step::Item);
                visit(item, schema, at, set)?;
                set.insert(&at.pes);
                at.pop();
            }
            Ok(())
        }
        _ => {
            set.insert(&at.pes);
            Ok(())
        }
    }
}

fn visit_map<'a>(
    map: &'a Map<String, Value>,
    schema: &dyn ApplySchema,
    at: &mut Cursor<'a>,
    set: &mut FieldSet,
) -> Result<(), ApplyError> {
    for (key, value) in map {
        at.push(PathElement::Field(key.clone()), Step::Field(key));
        visit(value, schema, at, set)?;
        let empty = match value {
            Value::Null => true,
            Value::Object(m) => m.is_empty(),
            _ => false,
        };
        if empty || schema.is_map_entry(&at.steps) {
            set.insert(&at.pes);
        }
        at.pop();
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap: a panic is a failure
mod tests {
    use super::*;
    use crate::apply::builtin::BuiltinSchema;
    use serde_json::json;

    #[test]
    fn apply_field_set_of_a_deployment() {
        let d = json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "web", "labels": {"app": "web"}},
            "spec": {
                "replicas": 2,
                "selector": {"matchLabels": {"app": "web"}},
                "template": {
                    "metadata": {"labels": {"app": "web"}},
                    "spec": {"containers": [{
                        "name": "c",
                        "image": "nginx",
                        "ports": [{"containerPort": 80}],
                        "args": ["a", "b"]
                    }]}
                }
            }
        });
        let set = field_set(&d, &BuiltinSchema::new("apps", "Deployment")).unwrap();
        assert_eq!(
            set.to_fields_v1_string(),
            concat!(
                r#"{"f:apiVersion":{},"f:kind":{},"f:metadata":{"f:labels":{"f:app":{}},"f:name":{}},"#,
                r#""f:spec":{"f:replicas":{},"f:selector":{},"f:template":{"f:metadata":{"f:labels":{"f:app":{}}},"#,
                r#""f:spec":{"f:containers":{"k:{\"name\":\"c\"}":{".":{},"f:args":{},"f:image":{},"f:name":{},"#,
                r#""f:ports":{"k:{\"containerPort\":80,\"protocol\":\"TCP\"}":{".":{},"f:containerPort":{}}}}}}}}}"#
            )
        );
    }

    #[test]
    fn apply_field_set_rejects_items_without_keys() {
        let d = json!({"spec": {"template": {"spec": {"containers": [{"image": "x"}]}}}});
        let err = field_set(&d, &BuiltinSchema::new("apps", "Deployment")).unwrap_err();
        assert_eq!(
            err.to_string(),
            r#".spec.template.spec.containers: element 0: associative list with keys has an element that omits key field "name" (and doesn't have default value)"#
        );
    }
}
