//! Merging an applied configuration into the live object (the
//! configuration's values win; maps merge by field, keyed and set lists by
//! item, atomic values are replaced) and pruning the fields an applier
//! stopped applying.

use serde_json::{Map, Value};

use super::ApplyError;
use super::fieldset::FieldSet;
use super::path::PathElement;
use super::schema::{ApplySchema, ListType, MapType, Step};
use super::walk::{Cursor, item_element, steps_of};

/// `config` merged into `live` (both objects).
pub fn merge(live: &Value, config: &Value, schema: &dyn ApplySchema) -> Result<Value, ApplyError> {
    merge_value(live, config, schema, &mut Cursor::default())
}

fn merge_value<'a>(
    live: &'a Value,
    config: &'a Value,
    schema: &dyn ApplySchema,
    at: &mut Cursor<'a>,
) -> Result<Value, ApplyError> {
    match (live, config) {
        (Value::Object(l), Value::Object(c))
            if !(l.is_empty() && c.is_empty())
                && schema.map_type(&at.steps) == MapType::Granular =>
        {
            let mut out = Map::new();
            for (key, lv) in l {
                let merged = match c.get(key) {
                    Some(cv) => {
                        at.push(PathElement::Field(key.clone()), Step::Field(key));
                        let m = merge_value(lv, cv, schema, at)?;
                        at.pop();
                        m
                    }
                    None => lv.clone(),
                };
                out.insert(key.clone(), merged);
            }
            for (key, cv) in c {
                if !l.contains_key(key) {
                    out.insert(key.clone(), cv.clone());
                }
            }
            Ok(Value::Object(out))
        }
        (Value::Array(l), Value::Array(c)) if !(l.is_empty() && c.is_empty()) => {
            let list_type = schema.list_type(&at.steps);
            if list_type == ListType::Atomic {
                return Ok(config.clone());
            }
            merge_lists(&list_type, l, c, schema, at)
        }
        _ => Ok(config.clone()),
    }
}

/// Merges two keyed or set lists. The configuration's items come in its
/// order; a live item the configuration does not name keeps its place
/// before the next item both share, as Kubernetes orders them.
fn merge_lists<'a>(
    list_type: &ListType,
    live: &'a [Value],
    config: &'a [Value],
    schema: &dyn ApplySchema,
    at: &mut Cursor<'a>,
) -> Result<Value, ApplyError> {
    let elements = |items: &'a [Value], at: &Cursor<'_>| {
        items
            .iter()
            .enumerate()
            .map(|(i, v)| item_element(list_type, v, i, &at.pes).map(|pe| (pe, v)))
            .collect::<Result<Vec<_>, _>>()
    };
    let l = elements(live, at)?;
    let c = elements(config, at)?;
    let mut out = Vec::with_capacity(l.len().max(c.len()));
    let mut emitted = vec![false; c.len()];
    let mut next = 0;
    let mut emit_config_up_to = |end: usize, out: &mut Vec<Value>, at: &mut Cursor<'a>| {
        while next <= end && next < c.len() {
            let (pe, cv) = &c[next];
            if !emitted[next] {
                emitted[next] = true;
                let merged = match l.iter().find(|(p, _)| p == pe) {
                    Some((_, lv)) => {
                        at.push(pe.clone(), Step::Item);
                        let m = merge_value(lv, cv, schema, at);
                        at.pop();
                        m?
                    }
                    None => (*cv).clone(),
                };
                out.push(merged);
            }
            next += 1;
        }
        Ok::<(), ApplyError>(())
    };
    for (pe, lv) in &l {
        match c.iter().position(|(p, _)| p == pe) {
            None => out.push((*lv).clone()),
            Some(pos) => emit_config_up_to(pos, &mut out, at)?,
        }
    }
    emit_config_up_to(usize::MAX - 1, &mut out, at)?;
    Ok(Value::Array(out))
}

/// Removes from `object` the fields in `drop`: what the applier applied last
/// time and nobody owns now, computed with struct fields counted as members
/// (see [`FieldSet::with_fields_as_members`]). A map or list left empty by
/// the removal goes too (Kubernetes leaves a null that the typed round trip
/// drops).
pub fn prune(
    object: &mut Value,
    drop: &FieldSet,
    owned: &FieldSet,
    schema: &dyn ApplySchema,
) -> Result<(), ApplyError> {
    prune_children(object, drop, owned, schema, &mut Vec::new())
}

/// Prunes the fields or items of `value`, which sits at `pes`.
fn prune_children(
    value: &mut Value,
    drop: &FieldSet,
    owned: &FieldSet,
    schema: &dyn ApplySchema,
    pes: &mut Vec<PathElement>,
) -> Result<(), ApplyError> {
    match value {
        Value::Object(map) => {
            let keys: Vec<String> = map.keys().cloned().collect();
            for key in keys {
                let pe = PathElement::Field(key.clone());
                let Some(child) = map.get_mut(&key) else {
                    continue;
                };
                if !prune_node(child, pe, drop, owned, schema, pes)? {
                    map.remove(&key);
                }
            }
        }
        Value::Array(items) => {
            let list_type = schema.list_type(&steps_of(pes));
            if list_type == ListType::Atomic {
                return Ok(());
            }
            let mut kept = Vec::with_capacity(items.len());
            for (i, mut item) in std::mem::take(items).into_iter().enumerate() {
                let pe = item_element(&list_type, &item, i, pes)?;
                if prune_node(&mut item, pe, drop, owned, schema, pes)? {
                    kept.push(item);
                }
            }
            *items = kept;
        }
        _ => {}
    }
    Ok(())
}

/// Prunes `child`, reached from its parent by `pe`; false when it must go:
/// it is to be dropped and nobody owns anything below it, or pruning left
/// it empty.
fn prune_node(
    child: &mut Value,
    pe: PathElement,
    drop: &FieldSet,
    owned: &FieldSet,
    schema: &dyn ApplySchema,
    pes: &mut Vec<PathElement>,
) -> Result<bool, ApplyError> {
    if !drop.touches(&pe) {
        return Ok(true);
    }
    // A dropped node goes whole. Nobody owns it: `drop` excludes what any
    // manager owns, and a field with owned fields below counts as owned.
    // A list item is kept only by owning the item itself, as in Kubernetes.
    if drop.members.contains(&pe) {
        return Ok(false);
    }
    let Some(drop_below) = drop.child(&pe) else {
        return Ok(true);
    };
    let empty = FieldSet::new();
    let owned_below = owned.child(&pe).unwrap_or(&empty);
    let was_empty = is_empty(child);
    pes.push(pe);
    let result = prune_children(child, drop_below, owned_below, schema, pes);
    pes.pop();
    result?;
    Ok(was_empty || !is_empty(child))
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Object(m) => m.is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}
