//! Strategic merge patch, applied as Kubernetes v1.33 applies it to built-in
//! kinds (`k8s.io/apimachinery/pkg/util/strategicpatch`, `mergeMap` and
//! friends): maps merge recursively and `null` deletes a key; lists whose
//! field is tagged `merge` merge item by item on their merge key (lists of
//! scalars as sets), other lists are replaced; the directives `$patch`
//! (`replace`, `delete`, and `merge` where allowed), `$retainKeys`,
//! `$setElementOrder/<list>` and `$deleteFromPrimitiveList/<list>` are
//! honoured. Which field has which strategy comes from [`schema`]'s table of
//! the built-in types.
//!
//! Where Kubernetes hands the merged map to its typed decoder, which drops
//! `null`s and unknown keys, this module drops the `null`s and leftover
//! directive keys of values it adopts from the patch, so no `$patch` ends up
//! stored.

mod order;
pub mod schema;
mod table;

use serde_json::{Map, Value};

use self::order::{ItemKind, no_merge_key, normalize_element_order};
use self::schema::Schema;
use super::PatchError;

const DIRECTIVE: &str = "$patch";
const RETAIN_KEYS: &str = "$retainKeys";
const SET_ELEMENT_ORDER: &str = "$setElementOrder";
const DELETE_FROM_PRIMITIVE_LIST: &str = "$deleteFromPrimitiveList";

/// Why a merge failed: `BadFormat` for malformed directives (Kubernetes'
/// 400 cases), `Invalid` for patches that do not fit the object.
#[derive(Debug)]
pub(super) enum MergeError {
    BadFormat(String),
    Invalid(String),
}

impl From<MergeError> for PatchError {
    fn from(e: MergeError) -> Self {
        match e {
            MergeError::BadFormat(m) => PatchError::InvalidStrategicPatch(m),
            MergeError::Invalid(m) => PatchError::StrategicMergeFailed(m),
        }
    }
}

type Result<T> = std::result::Result<T, MergeError>;

/// Applies a strategic merge patch to an object of a built-in kind. Kinds
/// without Go types (custom resources) get [`PatchError::UnsupportedKind`],
/// which Kubernetes answers with 415 Unsupported Media Type.
pub fn apply_strategic_merge_patch(
    original: &Value,
    patch: &Value,
    group: &str,
    kind: &str,
) -> std::result::Result<Value, PatchError> {
    let Some(schema) = Schema::of_kind(group, kind) else {
        return Err(PatchError::UnsupportedKind {
            group: group.to_string(),
            kind: kind.to_string(),
        });
    };
    let Value::Object(patch) = patch else {
        return Err(PatchError::PatchNotObject {
            format: "strategic merge",
            got: json_kind(patch),
        });
    };
    let original = match original {
        Value::Object(o) => o.clone(),
        Value::Null => Map::new(),
        other => return Err(PatchError::InvalidDocument(json_kind(other))),
    };
    Ok(Value::Object(merge_map(original, patch.clone(), schema)?))
}

fn merge_map(
    mut original: Map<String, Value>,
    mut patch: Map<String, Value>,
    schema: Schema,
) -> Result<Map<String, Value>> {
    if let Some(directive) = patch.get(DIRECTIVE) {
        return match directive.as_str() {
            Some("replace") => Ok(clean_map(patch)),
            Some("delete") => Ok(Map::new()),
            _ => Err(bad_patch_type(directive, &patch)),
        };
    }
    apply_retain_keys(&mut original, &mut patch)?;
    merge_set_element_order(&mut original, &mut patch, schema)?;

    for (key, patch_value) in patch {
        let (key, delete_list) = match key.strip_prefix(DELETE_FROM_PRIMITIVE_LIST) {
            Some(_) => (directive_target(&key, DELETE_FROM_PRIMITIVE_LIST)?, true),
            None => (key, false),
        };
        if patch_value.is_null() {
            remove_key(&mut original, &key);
            continue;
        }
        let Some(slot) = original.get_mut(&key) else {
            if !delete_list {
                adopt(&mut original, key, patch_value);
            }
            continue;
        };
        match (slot, patch_value) {
            (Value::Object(cur), Value::Object(p)) => {
                let meta = schema.field(&key);
                *cur = if meta.strategy == "replace" {
                    clean_map(p)
                } else {
                    merge_map(std::mem::take(cur), p, meta.schema)?
                };
            }
            (Value::Array(cur), Value::Array(p)) => {
                let meta = schema.field(&key);
                *cur = merge_list(
                    std::mem::take(cur),
                    p,
                    &key,
                    meta.schema,
                    meta.strategy,
                    meta.merge_key,
                    delete_list,
                )?;
            }
            // A value of another type replaces the old one, scalars replace
            // scalars; a deletion list against such a value changes nothing.
            (slot, patch_value) => {
                if !delete_list || same_kind(slot, &patch_value) {
                    adopt(&mut original, key, patch_value);
                }
            }
        }
    }
    Ok(original)
}

/// Takes a value from the patch as it is, minus its directives and nulls;
/// a map that is itself a `$patch` directive removes the key.
fn adopt(original: &mut Map<String, Value>, key: String, value: Value) {
    match remove_directives(value) {
        Some(v) => {
            original.insert(key, clean(v));
        }
        None => remove_key(original, &key),
    }
}

/// Removes a key without disturbing the order of the others.
fn remove_key(map: &mut Map<String, Value>, key: &str) {
    if map.contains_key(key) {
        map.retain(|k, _| k != key);
    }
}

/// The list field `key`: merged when its strategy says so (or when it is a
/// `$deleteFromPrimitiveList`), otherwise replaced by the patch's list.
fn merge_list(
    original: Vec<Value>,
    patch: Vec<Value>,
    key: &str,
    schema: Schema,
    strategy: &str,
    merge_key: &str,
    delete_list: bool,
) -> Result<Vec<Value>> {
    if strategy == "merge" || delete_list {
        merge_slice(original, patch, key, schema, merge_key, delete_list)
    } else {
        Ok(patch.into_iter().map(clean).collect())
    }
}

fn merge_slice(
    original: Vec<Value>,
    patch: Vec<Value>,
    key: &str,
    schema: Schema,
    merge_key: &str,
    delete_list: bool,
) -> Result<Vec<Value>> {
    if original.is_empty() && patch.is_empty() {
        return Ok(original);
    }
    let kind = element_kind(&original, &patch)?;
    let (original, patch, merged) = match kind {
        ItemKind::Scalar => {
            if delete_list {
                return Ok(original
                    .into_iter()
                    .filter(|v| !patch.contains(v))
                    .collect());
            }
            let mut merged: Vec<Value> = Vec::with_capacity(original.len() + patch.len());
            for v in original.iter().chain(&patch) {
                if !merged.contains(v) {
                    merged.push(v.clone());
                }
            }
            (original, patch, merged)
        }
        ItemKind::Map => {
            if merge_key.is_empty() {
                return Err(MergeError::Invalid(format!(
                    "cannot merge lists without merge key for {key}"
                )));
            }
            let (original, patch) = apply_list_directives(original, patch, merge_key)?;
            let merged = merge_by_key(original.clone(), &patch, merge_key, schema)?;
            (original, patch, merged)
        }
    };
    let (patch_items, server_only) = partition(merged, &patch, merge_key)?;
    normalize_element_order(patch_items, server_only, &patch, &original, merge_key, kind)
}

/// Handles list items carrying `$patch`: `delete` removes the items with
/// that merge key, `replace` makes the rest of the patch the whole list.
/// Returns the original and the patch without those items.
fn apply_list_directives(
    mut original: Vec<Value>,
    patch: Vec<Value>,
    merge_key: &str,
) -> Result<(Vec<Value>, Vec<Value>)> {
    let mut rest = Vec::with_capacity(patch.len());
    let mut replace = false;
    for item in patch {
        let Some(directive) = directive_of(&item) else {
            rest.push(item);
            continue;
        };
        match directive.as_str() {
            Some("delete") => {
                let Some(target) = item.get(merge_key) else {
                    return Err(MergeError::Invalid(no_merge_key(&item, merge_key)));
                };
                let mut kept = Vec::with_capacity(original.len());
                for v in original {
                    if !v.is_object() {
                        return Err(MergeError::Invalid(format!(
                            "expected a map in the list, got {}",
                            json_text(&v)
                        )));
                    }
                    if v.get(merge_key) != Some(target) {
                        kept.push(v);
                    }
                }
                original = kept;
            }
            // Later `$patch` items are still checked.
            Some("replace") => replace = true,
            Some("merge") => {
                return Err(MergeError::Invalid(
                    "merging lists cannot yet be specified in the patch".to_string(),
                ));
            }
            _ => {
                return Err(bad_patch_type(
                    directive,
                    item.as_object().unwrap_or(&Map::new()),
                ));
            }
        }
    }
    if replace {
        let list: Vec<Value> = rest.into_iter().map(clean).collect();
        return Ok((list, Vec::new()));
    }
    Ok((original, rest))
}

/// Merges each patch item into the original item with the same merge key,
/// or appends it.
fn merge_by_key(
    mut original: Vec<Value>,
    patch: &[Value],
    merge_key: &str,
    schema: Schema,
) -> Result<Vec<Value>> {
    for item in patch {
        let Some(target) = item.get(merge_key) else {
            return Err(MergeError::Invalid(no_merge_key(item, merge_key)));
        };
        match find_by_key(&original, merge_key, target)? {
            Some(i) => {
                let current = std::mem::take(&mut original[i]);
                let (Value::Object(cur), Value::Object(p)) = (current, item.clone()) else {
                    return Err(MergeError::Invalid("list items must be maps".to_string()));
                };
                original[i] = Value::Object(merge_map(cur, p, schema)?);
            }
            None => original.push(clean(item.clone())),
        }
    }
    Ok(original)
}

fn find_by_key(list: &[Value], merge_key: &str, target: &Value) -> Result<Option<usize>> {
    for (i, v) in list.iter().enumerate() {
        let Some(map) = v.as_object() else {
            return Err(MergeError::Invalid(format!(
                "value for key {i} is not a map"
            )));
        };
        if map.get(merge_key) == Some(target) {
            return Ok(Some(i));
        }
    }
    Ok(None)
}

/// Splits merged items into those the reference list names and the rest.
fn partition(
    merged: Vec<Value>,
    by: &[Value],
    merge_key: &str,
) -> Result<(Vec<Value>, Vec<Value>)> {
    let mut named = Vec::with_capacity(merged.len());
    let mut rest = Vec::new();
    for item in merged {
        let found = if merge_key.is_empty() {
            by.contains(&item)
        } else {
            let Some(target) = item.as_object().and_then(|m| m.get(merge_key)) else {
                return Err(MergeError::Invalid(no_merge_key(&item, merge_key)));
            };
            find_by_key(by, merge_key, target)?.is_some()
        };
        if found {
            named.push(item)
        } else {
            rest.push(item)
        }
    }
    Ok((named, rest))
}

/// `$retainKeys: [..]`: keys of the original not listed are cleared; every
/// key the patch sets must be listed.
fn apply_retain_keys(
    original: &mut Map<String, Value>,
    patch: &mut Map<String, Value>,
) -> Result<()> {
    let Some(retain) = patch.get(RETAIN_KEYS).cloned() else {
        return Ok(());
    };
    remove_key(patch, RETAIN_KEYS);
    let bad = || MergeError::BadFormat("invalid patch format of retainKeys".to_string());
    let Value::Array(retain) = retain else {
        return Err(bad());
    };
    let listed = |k: &str| retain.iter().any(|v| v.as_str() == Some(k));
    for (k, v) in patch.iter() {
        if v.is_null()
            || k.starts_with(DELETE_FROM_PRIMITIVE_LIST)
            || k.starts_with(SET_ELEMENT_ORDER)
        {
            continue;
        }
        if !listed(k) {
            return Err(bad());
        }
    }
    original.retain(|k, _| listed(k));
    Ok(())
}

/// `$setElementOrder/<list>: [..]`: merges the list (if the patch has it)
/// and orders the result: listed items in the directive's order, the
/// server's other items where they were relative to them.
fn merge_set_element_order(
    original: &mut Map<String, Value>,
    patch: &mut Map<String, Value>,
    schema: Schema,
) -> Result<()> {
    let keys: Vec<String> = patch
        .keys()
        .filter(|k| k.starts_with(SET_ELEMENT_ORDER))
        .cloned()
        .collect();
    for directive_key in keys {
        let Some(order) = patch.get(&directive_key).cloned() else {
            continue;
        };
        remove_key(patch, &directive_key);
        let Value::Array(order) = order else {
            return Err(MergeError::BadFormat(format!(
                "invalid patch format of setElementOrder list: expected a list, got {}",
                json_kind(&order)
            )));
        };
        let key = directive_target(&directive_key, SET_ELEMENT_ORDER)?;
        let original_list = match original.get(&key) {
            None => None,
            Some(Value::Array(a)) => Some(a.clone()),
            Some(other) => {
                return Err(MergeError::Invalid(format!(
                    "expected {key} to be a list, got {}",
                    json_kind(other)
                )));
            }
        };
        let patch_list = patch.get(&key).cloned();
        remove_key(patch, &key);
        let patch_list = match patch_list {
            None => None,
            Some(Value::Array(a)) => Some(a),
            Some(other) => {
                return Err(MergeError::Invalid(format!(
                    "expected {key} to be a list, got {}",
                    json_kind(&other)
                )));
            }
        };
        let meta = schema.field(&key);
        check_order_matches_patch(
            patch_list.as_deref().unwrap_or_default(),
            &order,
            meta.merge_key,
        )?;
        let server = original_list.clone().unwrap_or_default();
        let merged = match (original_list, patch_list.clone()) {
            (None, None) => continue,
            (Some(o), None) => o,
            (None, Some(p)) => p
                .into_iter()
                .filter_map(remove_directives)
                .map(clean)
                .collect(),
            (Some(o), Some(p)) => merge_list(
                o,
                p,
                &key,
                meta.schema,
                meta.strategy,
                meta.merge_key,
                false,
            )?,
        };
        let patch_list = patch_list.unwrap_or_default();
        let kind = element_kind(&server, &patch_list)?;
        let server = if kind == ItemKind::Map && meta.strategy == "merge" && !patch_list.is_empty()
        {
            server_order_after_merge(server, &patch_list, meta.merge_key)
        } else {
            server
        };
        let (listed, server_only) = partition(merged, &order, meta.merge_key)?;
        let ordered =
            normalize_element_order(listed, server_only, &order, &server, meta.merge_key, kind)?;
        original.insert(key, Value::Array(ordered));
    }
    Ok(())
}

/// The server's order as Kubernetes sees it after merging a list of maps.
/// Kubernetes keeps the old list in a Go slice that shares its backing
/// array with the list being merged: each `$patch: delete` shifts the later
/// items left (the last one stays, duplicated), and new items are appended
/// into the freed slots. Ordering by that view is what makes a new item
/// land after the server's remaining items when the patch also deletes.
fn server_order_after_merge(mut array: Vec<Value>, patch: &[Value], merge_key: &str) -> Vec<Value> {
    let n = array.len();
    let mut len = n;
    let key_of = |v: &Value| v.as_object().and_then(|m| m.get(merge_key)).cloned();
    let mut additions = Vec::new();
    let mut replaced = false;
    for item in patch {
        match directive_of(item).and_then(Value::as_str) {
            Some("delete") => {
                let target = key_of(item);
                while let Some(i) = array[..len].iter().position(|v| key_of(v) == target) {
                    array[i..len].rotate_left(1);
                    // The vacated last slot keeps the value it had.
                    if i + 1 < len {
                        array[len - 1] = array[len - 2].clone();
                    }
                    len -= 1;
                }
            }
            Some("replace") => replaced = true,
            Some(_) => {}
            None => additions.push(item),
        }
    }
    // A replaced list lives in a new array; the old one only saw deletions.
    if replaced {
        return array;
    }
    for item in additions {
        let target = key_of(item);
        if array[..len].iter().any(|v| key_of(v) == target) {
            continue;
        }
        if len < array.len() {
            array[len] = item.clone();
        } else {
            array.push(item.clone());
        }
        len += 1;
    }
    array.truncate(n);
    array
}

/// The patch's items (other than deletions and directives) must appear in
/// `$setElementOrder` in the same relative order.
fn check_order_matches_patch(patch: &[Value], order: &[Value], merge_key: &str) -> Result<()> {
    if patch.is_empty() || order.is_empty() {
        return Ok(());
    }
    let mut items = Vec::with_capacity(patch.len());
    for item in patch {
        if !merge_key.is_empty() {
            if !item.is_object() {
                return Err(MergeError::Invalid(format!(
                    "expected a map, got {}",
                    json_text(item)
                )));
            }
            if directive_of(item).and_then(Value::as_str) == Some("delete") {
                continue;
            }
        }
        items.push(item);
    }
    let same = |a: &Value, b: &Value| -> Result<bool> {
        if merge_key.is_empty() {
            return Ok(a == b);
        }
        let ka = a.as_object().map(|m| m.get(merge_key));
        let kb = b.as_object().map(|m| m.get(merge_key));
        match (ka, kb) {
            (Some(Some(x)), Some(Some(y))) => Ok(x == y),
            (Some(None), _) => Err(MergeError::Invalid(no_merge_key(a, merge_key))),
            (_, Some(None)) => Err(MergeError::Invalid(no_merge_key(b, merge_key))),
            _ => Err(MergeError::Invalid(format!(
                "expected maps, got {} and {}",
                json_text(a),
                json_text(b)
            ))),
        }
    };
    let (mut p, mut o) = (0, 0);
    while p < items.len() && o < order.len() {
        if directive_of(items[p]).is_some() {
            p += 1;
            continue;
        }
        if same(items[p], &order[o])? {
            p += 1;
        }
        o += 1;
    }
    if p < items.len() && o >= order.len() {
        return Err(MergeError::Invalid(format!(
            "the order in patch list {} doesn't match $setElementOrder list {}",
            json_text(&Value::Array(patch.to_vec())),
            json_text(&Value::Array(order.to_vec()))
        )));
    }
    Ok(())
}

/// The list a `$setElementOrder/x` or `$deleteFromPrimitiveList/x` key
/// names (`x`).
fn directive_target(key: &str, prefix: &str) -> Result<String> {
    match key.split_once('/') {
        Some((head, rest)) if head == prefix => Ok(rest.to_string()),
        _ => Err(MergeError::BadFormat(match prefix {
            DELETE_FROM_PRIMITIVE_LIST => "invalid patch format of primitive list".to_string(),
            _ => "invalid patch format of setElementOrder list".to_string(),
        })),
    }
}

/// Whether the items of both lists are maps or scalars (lists of lists and
/// mixed lists cannot be merged).
fn element_kind(original: &[Value], patch: &[Value]) -> Result<ItemKind> {
    let mut first: Option<&Value> = None;
    for v in original.iter().chain(patch) {
        match first {
            None => {
                if v.is_array() {
                    return Err(MergeError::Invalid(
                        "lists of lists are not supported".to_string(),
                    ));
                }
                first = Some(v);
            }
            Some(f) if !same_kind(f, v) => {
                return Err(MergeError::Invalid(format!(
                    "list element types are not identical: {} and {}",
                    json_text(&Value::Array(original.to_vec())),
                    json_text(&Value::Array(patch.to_vec()))
                )));
            }
            Some(_) => {}
        }
    }
    match first {
        Some(Value::Object(_)) => Ok(ItemKind::Map),
        Some(_) => Ok(ItemKind::Scalar),
        None => Err(MergeError::Invalid(
            "no elements in any of the given slices".to_string(),
        )),
    }
}

/// Go's type identity for decoded JSON: integers and floats are different
/// types, as Kubernetes decodes integers as int64.
fn same_kind(a: &Value, b: &Value) -> bool {
    fn tag(v: &Value) -> u8 {
        match v {
            Value::Null => 0,
            Value::Bool(_) => 1,
            Value::Number(n) if n.is_f64() => 2,
            Value::Number(_) => 3,
            Value::String(_) => 4,
            Value::Array(_) => 5,
            Value::Object(_) => 6,
        }
    }
    tag(a) == tag(b)
}

/// The `$patch` value of a map item, if it has one.
pub(super) fn directive_of(v: &Value) -> Option<&Value> {
    v.as_object().and_then(|m| m.get(DIRECTIVE))
}

fn is_directive_key(k: &str) -> bool {
    k == DIRECTIVE
        || k == RETAIN_KEYS
        || k.starts_with(SET_ELEMENT_ORDER)
        || k.starts_with(DELETE_FROM_PRIMITIVE_LIST)
}

/// Drops maps that are `$patch` directives (and list items that are),
/// keeping everything else (`removeDirectives`).
fn remove_directives(v: Value) -> Option<Value> {
    match v {
        Value::Object(m) => {
            if m.contains_key(DIRECTIVE) {
                return None;
            }
            Some(Value::Object(
                m.into_iter()
                    .filter_map(|(k, v)| remove_directives(v).map(|v| (k, v)))
                    .collect(),
            ))
        }
        Value::Array(a) => Some(Value::Array(
            a.into_iter().filter_map(remove_directives).collect(),
        )),
        other => Some(other),
    }
}

/// What the typed decoder would keep of a patch value: no `null` map
/// entries and no directive keys, at any depth.
fn clean(v: Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(clean_map(m)),
        Value::Array(a) => Value::Array(a.into_iter().map(clean).collect()),
        other => other,
    }
}

fn clean_map(m: Map<String, Value>) -> Map<String, Value> {
    m.into_iter()
        .filter(|(k, v)| !v.is_null() && !is_directive_key(k))
        .map(|(k, v)| (k, clean(v)))
        .collect()
}

fn bad_patch_type(directive: &Value, map: &Map<String, Value>) -> MergeError {
    MergeError::BadFormat(format!(
        "unknown patch type: {} in map: {} (expected replace, delete or, in lists, merge)",
        json_text(directive),
        json_text(&Value::Object(map.clone()))
    ))
}

pub(super) fn json_text(v: &Value) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

pub(super) fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests;
