//! `managedFields` through the `scale` subresource, as Kubernetes' scale
//! handler keeps them: a Scale shows the parent's entries that own
//! `spec.replicas` (as owning the Scale's `spec.replicas`), and a write
//! through `scale` maps the Scale's entries back onto the parent.

use apimachinery::apply::{ApplyError, FieldSet, ManagedEntry, ManagedFields, Path};
use serde_json::Value;

/// The API version of the Scale entries.
const SCALE_VERSION: &str = "autoscaling/v1";

fn replicas() -> FieldSet {
    FieldSet::from_paths(&[Path::fields(&["spec", "replicas"])])
}

fn owns_replicas(fields: &FieldSet) -> bool {
    fields.has(&Path::fields(&["spec", "replicas"]).0)
}

/// The Scale's entries of `parent`: every entry owning `spec.replicas`,
/// with its identity and time, owning the Scale's `spec.replicas`.
pub fn to_scale(parent: &Value) -> ManagedFields {
    let mut out = ManagedFields::default();
    let Ok(managed) = ManagedFields::from_object(parent) else { return out };
    for e in managed.entries.into_iter().filter(|e| owns_replicas(&e.fields)) {
        out.set(ManagedEntry { api_version: SCALE_VERSION.into(), fields: replicas(), ..e });
    }
    out
}

/// The parent's entries after a write through `scale` that left `scale`
/// with its entries: parent entries missing from the Scale lose
/// `spec.replicas`, and Scale entries new to the parent own it there.
pub fn to_parent(parent: &Value, scale: &Value, parent_version: &str) -> Result<ManagedFields, ApplyError> {
    let mut managed = ManagedFields::from_object(parent)?;
    let scale = ManagedFields::from_object(scale)?;
    for e in managed.entries.iter_mut() {
        if owns_replicas(&e.fields) && scale.get(&e.id).is_none() {
            e.fields = e.fields.difference(&replicas());
        }
    }
    managed.entries.retain(|e| !e.fields.is_empty());
    for e in scale.entries {
        if managed.get(&e.id).is_none() {
            managed.set(ManagedEntry { api_version: parent_version.to_owned(), fields: replicas(), ..e });
        }
    }
    Ok(managed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn managed_fields_scale_round_trip() {
        let parent = json!({"metadata": {"managedFields": [
            {"manager": "create", "operation": "Update", "apiVersion": "apps/v1", "fieldsType": "FieldsV1",
             "fieldsV1": {"f:spec": {"f:replicas": {}, "f:paused": {}}}},
            {"manager": "label", "operation": "Update", "apiVersion": "apps/v1", "fieldsType": "FieldsV1",
             "fieldsV1": {"f:metadata": {"f:labels": {"f:x": {}}}}},
        ]}});
        let scale = to_scale(&parent);
        assert_eq!(scale.entries.len(), 1);
        assert_eq!(scale.entries[0].api_version, "autoscaling/v1");
        // A new applier takes replicas: the creator keeps only `paused`.
        let applied = json!({"metadata": {"managedFields": [
            {"manager": "hpa", "operation": "Apply", "apiVersion": "autoscaling/v1", "fieldsType": "FieldsV1",
             "fieldsV1": {"f:spec": {"f:replicas": {}}}, "subresource": "scale"},
        ]}});
        let back = to_parent(&parent, &applied, "apps/v1").map(|m| m.encode()).ok();
        let back = back.unwrap_or_default();
        assert_eq!(back.as_array().map(Vec::len), Some(3), "{back}");
        let create = back.as_array().and_then(|a| a.iter().find(|e| e["manager"] == "create")).cloned();
        assert_eq!(create.map(|e| e["fieldsV1"].clone()), Some(json!({"f:spec": {"f:paused": {}}})));
    }
}
