//! The two writes that move ownership: [`apply`] (server-side apply: merge,
//! prune, conflicts) and [`update_managed_fields`] (any other write: the
//! writer takes the fields it changed).

use serde_json::{Value, json};

use super::ApplyError;
use super::compare::compare;
use super::conflict::Conflicts;
use super::fieldset::FieldSet;
use super::last_applied::{self, KUBECTL_MANAGER};
use super::managed::{ManagedEntry, ManagedFields, ManagerId, Operation};
use super::merge::{merge, prune};
use super::path::Path;
use super::schema::{ApplySchema, MapType, Step};
use super::validate::{check_no_managed_fields, is_reset};
use super::walk::field_set;

/// The writer of an [`apply`].
#[derive(Clone, Copy, Debug)]
pub struct ApplyOptions<'a> {
    /// The field manager (`fieldManager`; required for apply).
    pub manager: &'a str,
    /// `force=true`: take conflicting fields instead of failing.
    pub force: bool,
    /// The subresource written (`""` for the main resource).
    pub subresource: &'a str,
    /// Now, RFC 3339 (`2024-05-01T10:00:00Z`), stamped on the entry.
    pub time: &'a str,
    /// Fields nobody owns through this endpoint (see [`reset_fields`]).
    pub ignored: &'a FieldSet,
}

/// The writer of an [`update_managed_fields`].
#[derive(Clone, Copy, Debug)]
pub struct UpdateOptions<'a> {
    /// The field manager (the server derives a default from the user agent).
    pub manager: &'a str,
    /// The subresource written (`""` for the main resource).
    pub subresource: &'a str,
    /// Now, RFC 3339, stamped on the entry when the manager took fields.
    pub time: &'a str,
    /// Fields nobody owns through this endpoint (see [`reset_fields`]).
    pub ignored: &'a FieldSet,
}

/// Fields Kubernetes never tracks: identity and bookkeeping the server owns.
fn untracked() -> FieldSet {
    let paths: Vec<Path> = [
        &["apiVersion"][..],
        &["kind"],
        &["metadata"],
        &["metadata", "name"],
        &["metadata", "namespace"],
        &["metadata", "creationTimestamp"],
        &["metadata", "selfLink"],
        &["metadata", "uid"],
        &["metadata", "clusterName"],
        &["metadata", "generation"],
        &["metadata", "managedFields"],
        &["metadata", "resourceVersion"],
    ]
    .iter()
    .map(|p| Path::fields(p))
    .collect();
    // A plain difference with this set leaves metadata's children tracked.
    FieldSet::from_paths(&paths)
}

/// What writes through `subresource` do not own, for a kind with a status
/// subresource: `status` on the main resource (status is tracked through
/// the `status` subresource), and `spec` and `metadata` through `status`.
/// Kinds without a status subresource pass an empty set.
pub fn reset_fields(subresource: &str) -> FieldSet {
    let paths = match subresource {
        "" => vec![Path::fields(&["status"])],
        "status" => vec![Path::fields(&["spec"]), Path::fields(&["metadata"])],
        _ => Vec::new(),
    };
    FieldSet::from_paths(&paths)
}

fn without_managed_fields(object: &Value) -> Value {
    let mut o = object.clone();
    if let Some(meta) = o.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.remove("managedFields");
    }
    o
}

fn api_version(object: &Value) -> &str {
    object
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or("")
}

/// Server-side apply of `config` to `live` (`None` creates). Returns the
/// new object with `metadata.managedFields` updated, or
/// [`ApplyError::Conflicts`]. The entry's time changes only when the
/// object does, as in Kubernetes.
pub fn apply(
    live: Option<&Value>,
    config: &Value,
    schema: &dyn ApplySchema,
    opts: &ApplyOptions<'_>,
) -> Result<Value, ApplyError> {
    if !config.is_object() {
        return Err(ApplyError::InvalidConfig(
            "the applied configuration must be an object".into(),
        ));
    }
    check_no_managed_fields(config)?;
    // Apply bodies cannot carry entries, so they always come from the live
    // object; a live object with broken entries cannot be applied to.
    let managed = match live {
        Some(l) => ManagedFields::from_object(l)?,
        None => ManagedFields::default(),
    };
    let live = live.map_or_else(|| json!({}), without_managed_fields);
    let version = api_version(config);
    let id = ManagerId::new(opts.manager, Operation::Apply, version, opts.subresource);
    let outcome = match apply_once(&live, config, schema, opts, &id, &managed, opts.force) {
        Err(ApplyError::Conflicts(conflicts)) if opts.manager == KUBECTL_MANAGER => {
            match last_applied::allowed_conflicts(&live, version, schema) {
                Some(allowed) => {
                    let left: Vec<_> = conflicts
                        .0
                        .into_iter()
                        .filter(|c| !allowed.has(&c.path.0))
                        .collect();
                    if left.is_empty() {
                        apply_once(&live, config, schema, opts, &id, &managed, true)
                    } else {
                        Err(ApplyError::Conflicts(Conflicts(left)))
                    }
                }
                None => Err(ApplyError::Conflicts(conflicts)),
            }
        }
        other => other,
    };
    let (mut object, managed) = outcome?;
    if opts.manager == KUBECTL_MANAGER {
        last_applied::sync_annotation(&mut object, config);
    }
    managed.write_to(&mut object);
    Ok(object)
}

/// One attempt at an apply: merge, record the applier's fields, prune what
/// it stopped applying, then settle ownership with the other managers.
fn apply_once(
    live: &Value,
    config: &Value,
    schema: &dyn ApplySchema,
    opts: &ApplyOptions<'_>,
    id: &ManagerId,
    managed: &ManagedFields,
    force: bool,
) -> Result<(Value, ManagedFields), ApplyError> {
    let mut managed = managed.clone();
    let mut object = merge(live, config, schema)?;
    let previous = managed.get(id).cloned();
    // The identity fields stay in the applier's set until the end: they
    // keep `metadata` owned while pruning, as in Kubernetes, where they are
    // stripped only after the merge.
    let applied = field_set(config, schema)?.recursive_difference(opts.ignored);
    managed.set(ManagedEntry {
        id: id.clone(),
        api_version: api_version(config).to_owned(),
        time: previous.as_ref().and_then(|p| p.time.clone()),
        fields: applied,
    });
    if let Some(last) = previous.as_ref().filter(|p| !p.fields.is_empty()) {
        let owned = managed.all_fields();
        let drop = last
            .fields
            .with_fields_as_members()
            .difference(&owned.with_fields_as_members())
            .difference(&untracked());
        prune(&mut object, &drop, &owned, schema)?;
    }
    let mut diff = compare(live, &object, schema)?;
    diff.exclude(opts.ignored);
    let changed = diff.modified.union(&diff.added);
    let mut conflicts = Vec::new();
    for entry in managed.entries.iter().filter(|e| e.id != *id) {
        let c = entry.fields.intersection(&changed);
        if !c.is_empty() {
            conflicts.push((entry.id.clone(), c));
        }
    }
    if !force && !conflicts.is_empty() {
        return Err(ApplyError::Conflicts(Conflicts::from_sets(conflicts)));
    }
    for entry in managed.entries.iter_mut().filter(|e| e.id != *id) {
        entry.fields = entry.fields.difference(&changed).difference(&diff.removed);
    }
    if let Some(e) = managed.entries.iter_mut().find(|e| e.id == *id) {
        e.fields = e.fields.difference(&untracked());
    }
    managed.drop_empty();
    if object != *live
        && let Some(e) = managed.entries.iter_mut().find(|e| e.id == *id)
    {
        e.time = Some(opts.time.to_owned());
    }
    Ok((object, managed))
}

/// The typed zero value a built-in object is created from, as far as it
/// matters for ownership: every struct of `object` present and empty, so a
/// create owns their fields but not the structs themselves. Maps with free
/// keys, atomic maps and lists are absent from a zero value.
fn zero_value<'a>(object: &'a Value, schema: &dyn ApplySchema, steps: &mut Vec<Step<'a>>) -> Value {
    let mut out = serde_json::Map::new();
    if let Value::Object(map) = object {
        for (key, value) in map {
            steps.push(Step::Field(key));
            if value.is_object()
                && !schema.is_map_entry(steps)
                && schema.map_type(steps) == MapType::Granular
                && !FREE_MAP_FIELDS.contains(&key.as_str())
            {
                out.insert(key.clone(), zero_value(value, schema, steps));
            } else if value.is_array() && NULL_LIST_FIELDS.contains(&key.as_str()) {
                out.insert(key.clone(), Value::Null);
            }
            steps.pop();
        }
    }
    Value::Object(out)
}

/// Lists Go encodes as `null` rather than omitting when empty (no
/// `omitempty`): present in a zero value, so a create does not own them.
const NULL_LIST_FIELDS: &[&str] = &["containers"];

/// Map fields (not structs) of ObjectMeta and the common built-in types:
/// absent, not empty, in a zero value.
const FREE_MAP_FIELDS: &[&str] = &[
    "labels",
    "annotations",
    "data",
    "binaryData",
    "stringData",
    "limits",
    "requests",
    "capacity",
    "allocatable",
    "hard",
    "used",
    "nodeSelector",
    "matchLabels",
];

/// Records a non-apply write (create, update, patch) of `new` over `live`
/// (`None` on create): the manager takes the fields it added or changed
/// from everyone, fields it removed leave every entry, and entries left
/// empty go. A non-empty `metadata.managedFields` in `new` replaces the
/// live entries (how clients edit them), `[]` or `[{}]` clears them, and
/// anything else keeps the live ones; writes to a subresource always keep
/// the live ones. At most ten Update entries are kept, older ones merged
/// per API version into `ancient-changes`.
///
/// Kubernetes keeps the live object's entries when this fails (an object
/// its schema cannot describe); callers should do the same.
pub fn update_managed_fields(
    live: Option<&Value>,
    new: &Value,
    schema: &dyn ApplySchema,
    opts: &UpdateOptions<'_>,
) -> Result<Value, ApplyError> {
    let live_entries = || {
        live.map(ManagedFields::from_object)
            .transpose()
            .map(Option::unwrap_or_default)
            .unwrap_or_default()
    };
    let mut managed = if !opts.subresource.is_empty() {
        live_entries()
    } else if is_reset(new) {
        ManagedFields::default()
    } else {
        match ManagedFields::from_object(new) {
            Ok(m) if !m.entries.is_empty() => m,
            _ => live_entries(),
        }
    };
    let mut object = without_managed_fields(new);
    let live = match live {
        Some(l) => without_managed_fields(l),
        None if schema.structs_start_present() => zero_value(&object, schema, &mut Vec::new()),
        None => json!({}),
    };
    let mut diff = compare(&live, &object, schema)?;
    diff.exclude(opts.ignored);
    let changed = diff.modified.union(&diff.added);
    for entry in &mut managed.entries {
        entry.fields = entry.fields.difference(&changed).difference(&diff.removed);
    }
    managed.drop_empty();
    let taken = changed
        .recursive_difference(opts.ignored)
        .difference(&untracked());
    if !taken.is_empty() {
        let version = api_version(&object).to_owned();
        let id = ManagerId::new(opts.manager, Operation::Update, &version, opts.subresource);
        let fields = match managed.get(&id) {
            Some(prev) => prev.fields.union(&taken),
            None => taken,
        };
        managed.set(ManagedEntry {
            id,
            api_version: version,
            time: Some(opts.time.to_owned()),
            fields,
        });
    }
    super::cap::cap_update_managers(&mut managed);
    managed.write_to(&mut object);
    Ok(object)
}
