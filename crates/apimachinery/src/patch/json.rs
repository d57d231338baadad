//! JSON patch (RFC 6902): `add`, `remove`, `replace`, `move`, `copy` and
//! `test` operations applied in order, all or nothing.

use json_patch::{PatchErrorKind, PatchOperation};
use serde_json::Value;

use super::PatchError;

/// The most operations Kubernetes accepts in one JSON patch.
pub const MAX_JSON_PATCH_OPERATIONS: usize = 10_000;

/// Applies an RFC 6902 patch document (a JSON list of operations) to a copy
/// of `original`.
pub fn apply_json_patch(original: &Value, patch: &Value) -> Result<Value, PatchError> {
    if let Value::Array(ops) = patch
        && ops.len() > MAX_JSON_PATCH_OPERATIONS
    {
        return Err(PatchError::TooManyOperations {
            max: MAX_JSON_PATCH_OPERATIONS,
            got: ops.len(),
        });
    }
    let ops: Vec<PatchOperation> = serde_json::from_value(patch.clone())
        .map_err(|e| PatchError::InvalidJsonPatch(e.to_string()))?;
    let mut doc = original.clone();
    // The copy is thrown away on failure, so the crate's undo log is not needed.
    json_patch::patch_unsafe(&mut doc, &ops).map_err(|e| {
        let op = &ops[e.operation.min(ops.len().saturating_sub(1))];
        PatchError::JsonPatchFailed(describe(e.operation, op, &e.kind))
    })?;
    Ok(doc)
}

fn describe(index: usize, op: &PatchOperation, kind: &PatchErrorKind) -> String {
    let (name, from) = match op {
        PatchOperation::Add(_) => ("add", None),
        PatchOperation::Remove(_) => ("remove", None),
        PatchOperation::Replace(_) => ("replace", None),
        PatchOperation::Move(m) => ("move", Some(m.from.as_str())),
        PatchOperation::Copy(c) => ("copy", Some(c.from.as_str())),
        PatchOperation::Test(_) => ("test", None),
    };
    let path = op.path().as_str();
    let reason = match kind {
        PatchErrorKind::TestFailed => format!("the value at {path:?} is not the expected value"),
        PatchErrorKind::InvalidFromPointer => {
            format!(
                "the \"from\" path {:?} does not exist",
                from.unwrap_or_default()
            )
        }
        PatchErrorKind::InvalidPointer => match op {
            PatchOperation::Add(_) | PatchOperation::Move(_) | PatchOperation::Copy(_) => {
                format!("the parent of {path:?} does not exist or the index is out of range")
            }
            _ => format!("the path {path:?} does not exist"),
        },
        PatchErrorKind::CannotMoveInsideItself => {
            format!("cannot move {:?} inside itself", from.unwrap_or_default())
        }
        other => other.to_string(),
    };
    format!("json patch operation {index} ({name}) failed: {reason}")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap: a panic is a failure
mod tests {
    use super::*;
    use serde_json::json;

    fn deployment() -> Value {
        json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "shop", "labels": {"app": "web"}},
            "spec": {
                "replicas": 2,
                "template": {"spec": {"containers": [
                    {"name": "web", "image": "nginx:1.25"},
                    {"name": "sidecar", "image": "envoy:1.30"}
                ]}}
            }
        })
    }

    #[test]
    fn patch_json_add_replace_remove() {
        let out = apply_json_patch(
            &deployment(),
            &json!([
                {"op": "replace", "path": "/spec/replicas", "value": 5},
                {"op": "add", "path": "/metadata/labels/tier", "value": "front"},
                {"op": "add", "path": "/spec/template/spec/containers/-", "value": {"name": "log", "image": "busybox"}},
                {"op": "remove", "path": "/spec/template/spec/containers/1"},
            ]),
        )
        .unwrap();
        assert_eq!(out["spec"]["replicas"], 5);
        assert_eq!(
            out["metadata"]["labels"],
            json!({"app": "web", "tier": "front"})
        );
        assert_eq!(
            out["spec"]["template"]["spec"]["containers"],
            json!([{"name": "web", "image": "nginx:1.25"}, {"name": "log", "image": "busybox"}])
        );
    }

    #[test]
    fn patch_json_test_move_copy() {
        let out = apply_json_patch(
            &deployment(),
            &json!([
                {"op": "test", "path": "/metadata/name", "value": "web"},
                {"op": "copy", "from": "/metadata/labels", "path": "/metadata/annotations"},
                {"op": "move", "from": "/spec/replicas", "path": "/spec/oldReplicas"},
            ]),
        )
        .unwrap();
        assert_eq!(out["metadata"]["annotations"], json!({"app": "web"}));
        assert_eq!(out["spec"]["oldReplicas"], 2);
        assert!(out["spec"].get("replicas").is_none());
    }

    #[test]
    fn patch_json_failure_leaves_input_untouched() {
        let original = deployment();
        let e = apply_json_patch(
            &original,
            &json!([
                {"op": "replace", "path": "/spec/replicas", "value": 9},
                {"op": "test", "path": "/metadata/name", "value": "db"},
            ]),
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "json patch operation 1 (test) failed: the value at \"/metadata/name\" is not the expected value"
        );
        assert_eq!(e.status_code(), 422);
        assert_eq!(original, deployment());
    }

    #[test]
    fn patch_json_failure_messages() {
        let d = deployment();
        let e = apply_json_patch(&d, &json!([{"op": "remove", "path": "/spec/nope"}])).unwrap_err();
        assert_eq!(
            e.to_string(),
            "json patch operation 0 (remove) failed: the path \"/spec/nope\" does not exist"
        );
        let e = apply_json_patch(
            &d,
            &json!([{"op": "replace", "path": "/status/phase", "value": 1}]),
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "json patch operation 0 (replace) failed: the path \"/status/phase\" does not exist"
        );
        let e =
            apply_json_patch(&d, &json!([{"op": "add", "path": "/a/b", "value": 1}])).unwrap_err();
        assert_eq!(
            e.to_string(),
            "json patch operation 0 (add) failed: the parent of \"/a/b\" does not exist or the index is out of range"
        );
        let e = apply_json_patch(&d, &json!([{"op": "move", "from": "/nope", "path": "/x"}]))
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "json patch operation 0 (move) failed: the \"from\" path \"/nope\" does not exist"
        );
        let e = apply_json_patch(
            &d,
            &json!([{"op": "move", "from": "/spec", "path": "/spec/x"}]),
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "json patch operation 0 (move) failed: cannot move \"/spec\" inside itself"
        );
    }

    #[test]
    fn patch_json_malformed_documents() {
        let d = deployment();
        let e = apply_json_patch(&d, &json!({"op": "add"})).unwrap_err();
        assert!(matches!(e, PatchError::InvalidJsonPatch(_)), "{e:?}");
        assert_eq!(e.status_code(), 400);
        let e = apply_json_patch(&d, &json!([{"op": "frobnicate", "path": "/a"}])).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("invalid JSON patch: unknown variant `frobnicate`"),
            "{e}"
        );
        let e = apply_json_patch(&d, &json!([{"op": "add", "path": "/a"}])).unwrap_err();
        assert_eq!(e.to_string(), "invalid JSON patch: missing field `value`");
        let too_many = Value::Array(vec![
            json!({"op": "test", "path": "", "value": 1});
            MAX_JSON_PATCH_OPERATIONS + 1
        ]);
        let e = apply_json_patch(&d, &too_many).unwrap_err();
        assert_eq!(
            e.to_string(),
            "The allowed maximum operations in a JSON patch is 10000, got 10001"
        );
        assert_eq!(e.status_code(), 413);
        assert_eq!(apply_json_patch(&d, &json!([])).unwrap(), d);
    }
}
