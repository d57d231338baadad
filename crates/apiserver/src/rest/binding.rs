//! `pods/<name>/binding`: a scheduler assigns a pending Pod to a node by
//! posting a `v1 Binding`. The server sets `spec.nodeName` (once: a bound
//! pod cannot move), copies the Binding's annotations onto the Pod and marks
//! the `PodScheduled` condition True, as Kubernetes' binding storage does.

use super::{Ctx, parse_rv};
use crate::body::{self, Body};
use crate::codec;
use crate::error::{ApiError, Qualified};
use apimachinery::object::{ObjectExt, meta_mut, now_string};
use apimachinery::validation::{FieldError, Path};
use bytes::Bytes;
use http::{Response, StatusCode};
use serde_json::{Value, json};

const MAX_RETRIES: usize = 16;

pub async fn create(ctx: Ctx, body: Bytes) -> Result<Response<Body>, ApiError> {
    let name = ctx.name()?.to_string();
    let format = codec::body_format(ctx.content_type.as_deref())?;
    let binding = codec::decode_object(&body, format)?;
    let binding_name = binding.name().unwrap_or_default();
    if !binding_name.is_empty() && binding_name != name {
        return Err(ApiError::BadRequest("name in URL does not match name in Binding object".into()));
    }
    let node = validate(&binding, &name)?;
    let conflict = |detail: String| ApiError::Conflict {
        what: Qualified { group: String::new(), plural: "pods/binding".into() },
        name: name.clone(),
        detail,
    };
    let precondition_uid = binding.pointer("/metadata/uid").and_then(Value::as_str).filter(|u| !u.is_empty());
    let precondition_rv = binding.resource_version().map(parse_rv).transpose()?;
    let key = ctx.key(&name);
    for _ in 0..MAX_RETRIES {
        let kv = ctx.store().get(&key).ok_or_else(|| ctx.not_found(&name))?;
        let mut pod = ctx.decode(&kv)?;
        if let Some(uid) = precondition_uid
            && pod.uid() != Some(uid)
        {
            return Err(conflict(format!(
                "Precondition failed: UID in precondition: {uid}, UID in object meta: {}",
                pod.uid().unwrap_or_default()
            )));
        }
        if let Some(rv) = precondition_rv
            && rv != kv.mod_revision
        {
            return Err(conflict(format!(
                "Precondition failed: ResourceVersion in precondition: {rv}, ResourceVersion in object meta: {}",
                kv.mod_revision
            )));
        }
        if pod.pointer("/metadata/deletionTimestamp").is_some_and(|t| !t.is_null()) {
            return Err(conflict(format!("pod {name} is being deleted, cannot be assigned to a host")));
        }
        if let Some(current) = pod.pointer("/spec/nodeName").and_then(Value::as_str).filter(|n| !n.is_empty()) {
            return Err(conflict(format!("pod {name} is already assigned to node {current:?}")));
        }
        assign(&mut pod, &node, binding.pointer("/metadata/annotations"));
        if ctx.query.dry_run {
            return Ok(success());
        }
        let bytes = ctx.encode(&pod)?;
        match ctx.store().update(&key, bytes, Some(kv.mod_revision)).await {
            Ok(_) => return Ok(success()),
            Err(store::StoreError::Conflict { .. }) if precondition_rv.is_none() => continue,
            Err(store::StoreError::Conflict { .. }) => {
                return Err(conflict(
                    "the object has been modified; please apply your changes to the latest version and try again".into(),
                ));
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::Internal("too many concurrent writes to the pod".into()))
}

/// The node a Binding targets, checked as Kubernetes' `ValidatePodBinding`.
fn validate(binding: &Value, name: &str) -> Result<String, ApiError> {
    let target = binding.get("target").cloned().unwrap_or(Value::Null);
    let kind = target.get("kind").and_then(Value::as_str).unwrap_or_default();
    let node = target.get("name").and_then(Value::as_str).unwrap_or_default();
    let invalid = |e: FieldError| ApiError::Invalid {
        kind: "Binding".into(),
        group: String::new(),
        name: name.to_string(),
        causes: vec![e],
    };
    if !kind.is_empty() && kind != "Node" {
        return Err(invalid(FieldError::not_supported(
            &Path::new("target").child("kind"),
            json!(kind),
            &["Node", "<empty>"],
        )));
    }
    if node.is_empty() {
        return Err(invalid(FieldError::required(&Path::new("target").child("name"), "")));
    }
    Ok(node.to_string())
}

/// Binds `pod` to `node`: the node name, the Binding's annotations and the
/// `PodScheduled` condition.
fn assign(pod: &mut Value, node: &str, annotations: Option<&Value>) {
    if let Some(Value::Object(extra)) = annotations {
        let meta = meta_mut(pod);
        let entry = meta.entry("annotations").or_insert_with(|| json!({}));
        if !entry.is_object() {
            *entry = json!({});
        }
        if let Some(map) = entry.as_object_mut() {
            for (k, v) in extra {
                map.insert(k.clone(), v.clone());
            }
        }
    }
    if !pod.get("spec").is_some_and(Value::is_object) {
        pod["spec"] = json!({});
    }
    pod["spec"]["nodeName"] = json!(node);
    if !pod.get("status").is_some_and(Value::is_object) {
        pod["status"] = json!({});
    }
    let status = &mut pod["status"];
    if !status.get("conditions").is_some_and(Value::is_array) {
        status["conditions"] = json!([]);
    }
    let Some(conditions) = status["conditions"].as_array_mut() else { return };
    let scheduled = conditions.iter_mut().find(|c| c.get("type").and_then(Value::as_str) == Some("PodScheduled"));
    match scheduled {
        Some(c) => {
            // The transition time moves only when the status does.
            if c.get("status").and_then(Value::as_str) != Some("True") {
                c["lastTransitionTime"] = json!(now_string());
            }
            *c = json!({"type": "PodScheduled", "status": "True", "lastProbeTime": null, "lastTransitionTime": c.get("lastTransitionTime")});
        }
        None => conditions.push(json!({
            "type": "PodScheduled",
            "status": "True",
            "lastProbeTime": null,
            "lastTransitionTime": now_string(),
        })),
    }
}

/// Kubernetes answers a binding with a bare success Status and 201.
fn success() -> Response<Body> {
    body::json(StatusCode::CREATED, &json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assign_sets_node_annotations_and_condition() {
        let mut pod = json!({
            "metadata": {"name": "p", "annotations": {"a": "1"}},
            "spec": {"containers": []},
            "status": {"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable"}]},
        });
        assign(&mut pod, "n1", Some(&json!({"b": "2"})));
        assert_eq!(pod["spec"]["nodeName"], "n1");
        assert_eq!(pod["metadata"]["annotations"], json!({"a": "1", "b": "2"}));
        let c = &pod["status"]["conditions"][0];
        assert_eq!(c["status"], "True");
        assert!(c.get("reason").is_none());
        assert!(c["lastTransitionTime"].is_string());
    }

    #[test]
    fn validate_wants_a_node_name() {
        assert!(validate(&json!({"target": {"kind": "Node", "name": "n"}}), "p").is_ok());
        assert!(validate(&json!({"target": {"kind": "Node"}}), "p").is_err());
        assert!(validate(&json!({"target": {"kind": "Pod", "name": "n"}}), "p").is_err());
    }
}
