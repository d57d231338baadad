//! JSON merge patch (RFC 7386): maps merge recursively, `null` deletes a
//! key, everything else (lists included) replaces what was there.

use serde_json::Value;

use super::PatchError;
use super::strategic::json_kind;

/// Applies a merge patch to a copy of `original`. The patch must be a JSON
/// object: RFC 7386 would let any other value replace the whole document,
/// which can never be a valid Kubernetes object.
pub fn apply_merge_patch(original: &Value, patch: &Value) -> Result<Value, PatchError> {
    if !patch.is_object() {
        return Err(PatchError::PatchNotObject {
            format: "merge",
            got: json_kind(patch),
        });
    }
    let mut doc = original.clone();
    json_patch::merge(&mut doc, patch);
    Ok(doc)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap: a panic is a failure
mod tests {
    use super::*;
    use serde_json::json;

    fn service() -> Value {
        json!({
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "web", "labels": {"app": "web", "tier": "front"}},
            "spec": {
                "selector": {"app": "web"},
                "ports": [{"name": "http", "port": 80}, {"name": "https", "port": 443}]
            }
        })
    }

    #[test]
    fn patch_merge_null_deletes_and_maps_merge() {
        let out = apply_merge_patch(
            &service(),
            &json!({"metadata": {"labels": {"tier": null, "env": "prod"}, "annotations": {"a": "b"}}}),
        )
        .unwrap();
        assert_eq!(
            out["metadata"]["labels"],
            json!({"app": "web", "env": "prod"})
        );
        assert_eq!(out["metadata"]["annotations"], json!({"a": "b"}));
        assert_eq!(out["spec"], service()["spec"]);
    }

    #[test]
    fn patch_merge_replaces_lists_wholesale() {
        let out = apply_merge_patch(
            &service(),
            &json!({"spec": {"ports": [{"name": "grpc", "port": 9090}]}}),
        )
        .unwrap();
        assert_eq!(
            out["spec"]["ports"],
            json!([{"name": "grpc", "port": 9090}])
        );
    }

    #[test]
    fn patch_merge_deletes_whole_subtrees_and_drops_new_nulls() {
        let out = apply_merge_patch(
            &service(),
            &json!({"spec": {"selector": null}, "status": {"x": null, "y": 1}}),
        )
        .unwrap();
        assert!(out["spec"].get("selector").is_none());
        assert_eq!(out["status"], json!({"y": 1}));
    }

    #[test]
    fn patch_merge_rejects_non_objects() {
        let e = apply_merge_patch(&service(), &json!([1])).unwrap_err();
        assert_eq!(
            e.to_string(),
            "a merge patch must be a JSON object, got a list"
        );
        assert_eq!(e.status_code(), 400);
        assert!(apply_merge_patch(&service(), &Value::Null).is_err());
        assert_eq!(
            apply_merge_patch(&service(), &json!({})).unwrap(),
            service()
        );
    }
}
