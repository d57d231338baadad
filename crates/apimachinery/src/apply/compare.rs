//! The difference between two versions of an object as field sets: what was
//! added, modified and removed. Non-apply writes give their manager the
//! added and modified fields; appliers conflict with the owners of fields
//! their apply adds or modifies.

use std::sync::LazyLock;

use serde_json::{Map, Value};

use super::ApplyError;
use super::fieldset::FieldSet;
use super::path::PathElement;
use super::schema::{ApplySchema, ListType, MapType, Step};
use super::walk::{Cursor, item_element};

/// Fields added, modified and removed between an old and a new object; a
/// path is in at most one of them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Comparison {
    /// Present only in the new object (including new list items and maps
    /// themselves).
    pub added: FieldSet,
    /// Leaves (scalars, atomic lists and maps) whose value changed.
    pub modified: FieldSet,
    /// Present only in the old object.
    pub removed: FieldSet,
}

impl Comparison {
    /// Drops every path at or below a member of `ignored` from all three.
    pub fn exclude(&mut self, ignored: &FieldSet) {
        self.added = self.added.recursive_difference(ignored);
        self.modified = self.modified.recursive_difference(ignored);
        self.removed = self.removed.recursive_difference(ignored);
    }
}

/// Compares `old` with `new` (objects) under `schema`.
pub fn compare(
    old: &Value,
    new: &Value,
    schema: &dyn ApplySchema,
) -> Result<Comparison, ApplyError> {
    let mut c = Comparison::default();
    let empty = Map::new();
    let o = old.as_object().unwrap_or(&empty);
    let n = new.as_object().unwrap_or(&empty);
    compare_maps(o, n, schema, &mut Cursor::default(), &mut c)?;
    Ok(c)
}

/// The map an absent side stands for.
static EMPTY: LazyLock<Map<String, Value>> = LazyLock::new(Map::new);

fn is_empty_container(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => true,
        Some(Value::Object(m)) => m.is_empty(),
        Some(Value::Array(a)) => a.is_empty(),
        _ => false,
    }
}

fn compare_values<'a>(
    old: Option<&'a Value>,
    new: Option<&'a Value>,
    schema: &dyn ApplySchema,
    at: &mut Cursor<'a>,
    c: &mut Comparison,
) -> Result<(), ApplyError> {
    let both_empty = is_empty_container(old) && is_empty_container(new);
    let descended = match (old, new) {
        // A null stands for an empty container of the other side's kind.
        (Some(Value::Object(_) | Value::Null) | None, Some(Value::Object(_)) | None)
        | (Some(Value::Object(_)) | None, Some(Value::Null))
            if !both_empty && schema.map_type(&at.steps) == MapType::Granular =>
        {
            let o = old.and_then(Value::as_object).unwrap_or(&EMPTY);
            let n = new.and_then(Value::as_object).unwrap_or(&EMPTY);
            compare_maps(o, n, schema, at, c)?;
            true
        }
        (Some(Value::Array(_) | Value::Null) | None, Some(Value::Array(_)) | None)
        | (Some(Value::Array(_)) | None, Some(Value::Null))
            if !both_empty =>
        {
            let list_type = schema.list_type(&at.steps);
            if list_type == ListType::Atomic {
                false
            } else {
                let o = old.and_then(Value::as_array).map_or(&[][..], Vec::as_slice);
                let n = new.and_then(Value::as_array).map_or(&[][..], Vec::as_slice);
                compare_lists(&list_type, o, n, schema, at, c)?;
                true
            }
        }
        _ => false,
    };
    // A node is added or removed as a whole as well as through its leaves;
    // a leaf (scalar, atomic, or empty) is compared by value.
    match (old, new) {
        (None, _) => c.added.insert(&at.pes),
        (_, None) => c.removed.insert(&at.pes),
        (Some(o), Some(n)) if !descended && o != n => c.modified.insert(&at.pes),
        _ => {}
    }
    Ok(())
}

fn compare_maps<'a>(
    old: &'a Map<String, Value>,
    new: &'a Map<String, Value>,
    schema: &dyn ApplySchema,
    at: &mut Cursor<'a>,
    c: &mut Comparison,
) -> Result<(), ApplyError> {
    for (key, o) in old {
        at.push(PathElement::Field(key.clone()), Step::Field(key));
        compare_values(Some(o), new.get(key), schema, at, c)?;
        at.pop();
    }
    for (key, n) in new {
        if !old.contains_key(key) {
            at.push(PathElement::Field(key.clone()), Step::Field(key));
            compare_values(None, Some(n), schema, at, c)?;
            at.pop();
        }
    }
    Ok(())
}

/// Items by their element, first occurrence winning (duplicates compare as
/// the first item with that key).
fn index<'a>(
    list_type: &ListType,
    items: &'a [Value],
    at: &Cursor<'_>,
) -> Result<Vec<(PathElement, &'a Value)>, ApplyError> {
    let mut out: Vec<(PathElement, &Value)> = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let pe = item_element(list_type, item, i, &at.pes)?;
        if !out.iter().any(|(p, _)| *p == pe) {
            out.push((pe, item));
        }
    }
    Ok(out)
}

fn compare_lists<'a>(
    list_type: &ListType,
    old: &'a [Value],
    new: &'a [Value],
    schema: &dyn ApplySchema,
    at: &mut Cursor<'a>,
    c: &mut Comparison,
) -> Result<(), ApplyError> {
    let o = index(list_type, old, at)?;
    let n = index(list_type, new, at)?;
    for (pe, ov) in &o {
        let nv = n.iter().find(|(p, _)| p == pe).map(|(_, v)| *v);
        at.push(pe.clone(), Step::Item);
        compare_values(Some(ov), nv, schema, at, c)?;
        at.pop();
    }
    for (pe, nv) in &n {
        if !o.iter().any(|(p, _)| p == pe) {
            at.push(pe.clone(), Step::Item);
            compare_values(None, Some(nv), schema, at, c)?;
            at.pop();
        }
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap: a panic is a failure
mod tests {
    use super::*;
    use crate::apply::builtin::BuiltinSchema;
    use serde_json::json;

    fn v1(s: &FieldSet) -> String {
        s.to_fields_v1_string()
    }

    #[test]
    fn apply_compare_reports_added_modified_removed() {
        let schema = BuiltinSchema::new("apps", "Deployment");
        let old = json!({"spec": {"replicas": 1, "paused": true, "template": {"spec": {
            "containers": [{"name": "a", "image": "x"}]}}}});
        let new = json!({"spec": {"replicas": 2, "template": {"spec": {
            "containers": [{"name": "a", "image": "x"}, {"name": "b", "image": "y"}]}},
            "selector": {"matchLabels": {"k": "v"}}}});
        let c = compare(&old, &new, &schema).unwrap();
        assert_eq!(v1(&c.modified), r#"{"f:spec":{"f:replicas":{}}}"#);
        assert_eq!(v1(&c.removed), r#"{"f:spec":{"f:paused":{}}}"#);
        assert_eq!(
            v1(&c.added),
            r#"{"f:spec":{"f:selector":{},"f:template":{"f:spec":{"f:containers":{"k:{\"name\":\"b\"}":{".":{},"f:image":{},"f:name":{}}}}}}}"#
        );
        assert_eq!(compare(&new, &new, &schema).unwrap(), Comparison::default());
    }
}
