//! The server's half of moving an object from client-side to server-side
//! apply. kubectl rewrites the managedFields itself afterwards (client-go's
//! `csaupgrade`, sent as a JSON patch); the server (1) lets the applier
//! `kubectl` take over fields it conflicts on when the
//! `kubectl.kubernetes.io/last-applied-configuration` annotation shows the
//! user applied them before with their live values, and (2) keeps that
//! annotation in step with what `kubectl` applies server-side, so a later
//! client-side apply still computes the right patch.

use serde_json::Value;

use super::compare::compare;
use super::fieldset::FieldSet;
use super::gojson;
use super::schema::ApplySchema;
use super::walk::field_set;

/// The annotation client-side apply stores its configuration in.
pub const LAST_APPLIED_ANNOTATION: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// The only field manager the migration applies to (kubectl's default for
/// `apply --server-side`); other appliers opt out by their name.
pub const KUBECTL_MANAGER: &str = "kubectl";

/// Kubernetes' limit on the total size of an object's annotations.
const TOTAL_ANNOTATION_SIZE_LIMIT: usize = 256 * 1024;

fn last_applied(object: &Value) -> Option<&str> {
    object
        .pointer("/metadata/annotations")
        .and_then(|a| a.get(LAST_APPLIED_ANNOTATION))
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

/// The fields whose conflicts are forgiven: those of the last-applied
/// configuration whose value the live object still has. `None` when there
/// is no annotation, it does not parse, or it is for another API version.
pub(crate) fn allowed_conflicts(
    live: &Value,
    api_version: &str,
    schema: &dyn ApplySchema,
) -> Option<FieldSet> {
    let applied: Value = serde_json::from_str(last_applied(live)?).ok()?;
    if applied.get("apiVersion").and_then(Value::as_str) != Some(api_version) {
        return None;
    }
    let set = field_set(&applied, schema).ok()?;
    let diff = compare(&applied, live, schema).ok()?;
    Some(
        set.difference(&diff.modified)
            .difference(&diff.added)
            .difference(&diff.removed),
    )
}

/// Refreshes the annotation on `object` (the result of an apply by
/// `kubectl`) from `config` when the object has one; dropped again if it
/// would exceed the annotations' size limit.
pub(crate) fn sync_annotation(object: &mut Value, config: &Value) {
    if last_applied(object).is_none() {
        return;
    }
    let value = build(config);
    let Some(annotations) = object
        .pointer_mut("/metadata/annotations")
        .and_then(Value::as_object_mut)
    else {
        return;
    };
    annotations.insert(LAST_APPLIED_ANNOTATION.into(), Value::String(value));
    let size: usize = annotations
        .iter()
        .map(|(k, v)| k.len() + v.as_str().map_or(0, str::len))
        .sum();
    if size > TOTAL_ANNOTATION_SIZE_LIMIT {
        annotations.remove(LAST_APPLIED_ANNOTATION);
    }
}

/// The annotation's value for `config`: the configuration without the
/// annotation itself, as Go's JSON encoder writes it (sorted keys, trailing
/// newline).
fn build(config: &Value) -> String {
    let mut copy = config.clone();
    if let Some(a) = copy
        .pointer_mut("/metadata/annotations")
        .and_then(Value::as_object_mut)
    {
        a.remove(LAST_APPLIED_ANNOTATION);
    }
    let mut out = gojson::to_string(&copy);
    out.push('\n');
    out
}
