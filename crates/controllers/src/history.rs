//! ControllerRevisions, the template history the StatefulSet and DaemonSet
//! controllers keep (Kubernetes' `controller/history`): the patch a
//! revision stores, its hash and name, creation with a collision count,
//! the revisions a parent owns, and which old ones to delete.
//!
//! A revision's `data` is the patch `kubectl rollout undo` sends back as a
//! strategic merge patch: `{"spec":{"template":{..., "$patch":"replace"}}}`,
//! keys sorted as Go's `json.Marshal` sorts them, so kubectl's byte
//! comparison with the live object's patch can match.

use crate::replicaset::claim;
use k8s_openapi::api::apps::v1::ControllerRevision;
use k8s_openapi::api::core::v1::PodTemplateSpec;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::runtime::RawExtension;
use kube::api::{Api, ListParams, PostParams};
use serde_json::{Map, Value};
use std::cmp::Ordering;
use std::collections::BTreeMap;

/// The label on a StatefulSet's revisions holding their hash.
pub const HASH_LABEL: &str = "controller.kubernetes.io/hash";
/// The label on pods (and DaemonSet revisions) naming their revision.
pub const POD_REVISION_LABEL: &str = "controller-revision-hash";

/// `rand.SafeEncodeString`'s alphabet.
const ALPHANUMS: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

/// The value with every object's keys sorted (serde_json here keeps
/// insertion order; Go sorts map keys when it marshals).
pub fn canonical(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let sorted: BTreeMap<&String, Value> = m.iter().map(|(k, v)| (k, canonical(v))).collect();
            Value::Object(sorted.into_iter().map(|(k, v)| (k.clone(), v)).collect::<Map<String, Value>>())
        }
        Value::Array(a) => Value::Array(a.iter().map(canonical).collect()),
        other => other.clone(),
    }
}

/// The patch a revision stores for a pod template (`getPatch`).
pub fn template_patch(template: &PodTemplateSpec) -> Value {
    let mut t = serde_json::to_value(template).unwrap_or(Value::Null);
    if let Value::Object(m) = &mut t {
        // Go encodes the template's zero creationTimestamp as null.
        if let Some(Value::Object(meta)) = m.get_mut("metadata") {
            meta.entry("creationTimestamp").or_insert(Value::Null);
        } else {
            m.insert("metadata".into(), serde_json::json!({"creationTimestamp": null}));
        }
        m.insert("$patch".into(), Value::from("replace"));
    }
    canonical(&serde_json::json!({"spec": {"template": t}}))
}

/// The pod template a revision's patch restores.
pub fn template_of(cr: &ControllerRevision) -> Option<PodTemplateSpec> {
    let mut t = cr.data.as_ref()?.0.pointer("/spec/template")?.clone();
    if let Value::Object(m) = &mut t {
        m.remove("$patch");
    }
    serde_json::from_value(t).ok()
}

/// Whether a revision stores exactly this patch (`bytes.Equal` on the
/// data in Kubernetes).
pub fn same_data(cr: &ControllerRevision, patch: &Value) -> bool {
    cr.data.as_ref().is_some_and(|d| canonical(&d.0) == *patch)
}

/// FNV-1 (not 1a), 32 bits, as Go's `fnv.New32`.
fn fnv32(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5u32, |h, b| h.wrapping_mul(0x0100_0193) ^ u32::from(*b))
}

/// `rand.SafeEncodeString` of a number's decimal digits.
pub fn safe_encode(n: u32) -> String {
    n.to_string().bytes().map(|b| ALPHANUMS[usize::from(b) % ALPHANUMS.len()] as char).collect()
}

/// `HashControllerRevision`: FNV-32 over the data, then the collision
/// count's decimal digits.
pub fn hash(data: &Value, collision_count: Option<i32>) -> String {
    let mut bytes = serde_json::to_vec(data).unwrap_or_default();
    if let Some(c) = collision_count {
        bytes.extend(c.to_string().bytes());
    }
    safe_encode(fnv32(&bytes))
}

/// `ControllerRevisionName`: the parent's name (cut to 223 characters) and
/// the hash.
pub fn revision_name(parent: &str, hash: &str) -> String {
    let prefix: String = parent.chars().take(223).collect();
    format!("{prefix}-{hash}")
}

/// A revision owned by `parent` (`NewControllerRevision`): the template's
/// labels plus the hash label, the parent's annotations (so `kubectl
/// rollout history` shows its change-cause), named by the hash of `data`.
pub fn new_revision(
    parent: &ObjectMeta,
    kind: &str,
    labels: Option<&BTreeMap<String, String>>,
    data: Value,
    revision: i64,
    collision_count: Option<i32>,
) -> ControllerRevision {
    let h = hash(&data, collision_count);
    let mut labels = labels.cloned().unwrap_or_default();
    labels.insert(HASH_LABEL.into(), h.clone());
    let name = parent.name.clone().unwrap_or_default();
    ControllerRevision {
        metadata: ObjectMeta {
            name: Some(revision_name(&name, &h)),
            namespace: parent.namespace.clone(),
            labels: Some(labels),
            annotations: parent.annotations.clone().filter(|a| !a.is_empty()),
            owner_references: Some(vec![claim::controller_ref("apps/v1", kind, &name, parent.uid.as_deref().unwrap_or_default())]),
            ..Default::default()
        },
        data: Some(RawExtension(data)),
        revision,
    }
}

/// Oldest first: by revision number, then creation, then name.
pub fn by_revision(a: &ControllerRevision, b: &ControllerRevision) -> Ordering {
    a.revision
        .cmp(&b.revision)
        .then_with(|| a.metadata.creation_timestamp.as_ref().map(|t| t.0).cmp(&b.metadata.creation_timestamp.as_ref().map(|t| t.0)))
        .then_with(|| a.metadata.name.cmp(&b.metadata.name))
}

/// The number the next new revision gets.
pub fn next_revision(revisions: &[ControllerRevision]) -> i64 {
    revisions.iter().map(|r| r.revision).max().unwrap_or(0) + 1
}

/// The `excess` oldest revisions that are not live, to delete
/// (`revisions` sorted oldest first).
pub fn oldest_unused(revisions: &[ControllerRevision], is_live: impl Fn(&ControllerRevision) -> bool, excess: usize) -> Vec<&ControllerRevision> {
    revisions.iter().filter(|r| !is_live(r)).take(excess).collect()
}

/// The revisions of `namespace` whose controller is `owner_uid`, oldest
/// first.
pub async fn list_owned(api: &Api<ControllerRevision>, owner_uid: &str) -> Result<Vec<ControllerRevision>, kube::Error> {
    let mut owned: Vec<ControllerRevision> =
        api.list(&ListParams::default()).await?.items.into_iter().filter(|r| claim::controller_of(&r.metadata).is_some_and(|o| o.uid == owner_uid)).collect();
    owned.sort_by(by_revision);
    Ok(owned)
}

/// Creates `cr` (`CreateControllerRevision`): when the name is taken by a
/// revision with other data, bumps `collision_count` and tries the next
/// name; one with the same data is returned as is.
pub async fn create(
    api: &Api<ControllerRevision>,
    parent: &str,
    cr: &ControllerRevision,
    collision_count: &mut i32,
) -> Result<ControllerRevision, kube::Error> {
    let data = cr.data.as_ref().map(|d| d.0.clone()).unwrap_or(Value::Null);
    loop {
        let mut clone = cr.clone();
        clone.metadata.name = Some(revision_name(parent, &hash(&data, Some(*collision_count))));
        let name = clone.metadata.name.clone().unwrap_or_default();
        match api.create(&PostParams::default(), &clone).await {
            Err(kube::Error::Api(s)) if s.code == 409 => {
                let existing = api.get(&name).await?;
                if same_data(&existing, &canonical(&data)) {
                    return Ok(existing);
                }
                *collision_count = collision_count.saturating_add(1);
            }
            other => return other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn template(image: &str) -> PodTemplateSpec {
        serde_json::from_value(json!({"metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "c", "image": image}]}}))
        .expect("template")
    }

    fn revision(n: i64, name: &str) -> ControllerRevision {
        ControllerRevision { metadata: ObjectMeta { name: Some(name.into()), ..Default::default() }, data: None, revision: n }
    }

    #[test]
    fn history_patch_is_sorted_and_replaces_the_template() {
        let p = template_patch(&template("nginx:1"));
        let text = serde_json::to_string(&p).expect("json");
        assert_eq!(
            text,
            r#"{"spec":{"template":{"$patch":"replace","metadata":{"creationTimestamp":null,"labels":{"app":"web"}},"spec":{"containers":[{"image":"nginx:1","name":"c"}]}}}}"#
        );
        let cr = ControllerRevision { data: Some(RawExtension(p.clone())), ..revision(1, "x") };
        assert_eq!(template_of(&cr).and_then(|t| t.spec).map(|s| s.containers[0].image.clone()), Some(Some("nginx:1".into())));
        assert!(same_data(&cr, &p));
        assert!(!same_data(&cr, &template_patch(&template("nginx:2"))));
    }

    #[test]
    fn history_names_hash_the_data_and_the_collision_count() {
        let parent = ObjectMeta { name: Some("web".into()), namespace: Some("ns".into()), uid: Some("u1".into()), ..Default::default() };
        let data = template_patch(&template("nginx:1"));
        let cr = new_revision(&parent, "StatefulSet", Some(&BTreeMap::from([("app".to_string(), "web".to_string())])), data.clone(), 3, Some(0));
        let h = hash(&data, Some(0));
        assert_eq!(cr.metadata.name.as_deref(), Some(format!("web-{h}").as_str()));
        assert_eq!(cr.metadata.labels.as_ref().and_then(|l| l.get(HASH_LABEL)), Some(&h));
        assert_eq!(cr.metadata.labels.as_ref().and_then(|l| l.get("app")).map(String::as_str), Some("web"));
        assert_eq!(cr.revision, 3);
        assert_ne!(hash(&data, Some(1)), h);
        assert!(h.chars().all(|c| ALPHANUMS.contains(&(c as u8))));
        assert_eq!(revision_name(&"a".repeat(300), "h").len(), 225);
    }

    #[test]
    fn history_truncation_keeps_live_and_newest() {
        let mut revs = vec![revision(3, "c"), revision(1, "a"), revision(2, "b"), revision(4, "d")];
        revs.sort_by(by_revision);
        assert_eq!(next_revision(&revs), 5);
        let live = |r: &ControllerRevision| r.metadata.name.as_deref() == Some("a") || r.revision == 4;
        let doomed: Vec<_> = oldest_unused(&revs, live, 1).into_iter().filter_map(|r| r.metadata.name.clone()).collect();
        assert_eq!(doomed, vec!["b"]);
    }
}
