//! The DefaultStorageClass admission plugin: a new PersistentVolumeClaim
//! that names no class (no `storageClassName`, not even `""`, and no beta
//! class annotation) gets the default StorageClass's name. Of several
//! defaults the newest wins, then the first by name (Kubernetes v1.28+).

use super::chain::is_core;
use crate::rest::Ctx;
use serde_json::Value;

const PREFIX: &str = "/registry/storage.k8s.io/storageclasses/";
const DEFAULT: &str = "storageclass.kubernetes.io/is-default-class";
const BETA_DEFAULT: &str = "storageclass.beta.kubernetes.io/is-default-class";
const BETA_CLASS: &str = "volume.beta.kubernetes.io/storage-class";

/// Claim create: fill in the default class.
pub(super) fn admit(ctx: &Ctx, obj: &mut Value) {
    if !is_core(ctx, "persistentvolumeclaims") || !wants_default(obj) {
        return;
    }
    let classes = match ctx.store().list(PREFIX, store::ListOptions::default()) {
        Ok(list) => list.items.iter().filter_map(|kv| serde_json::from_slice::<Value>(&kv.value).ok()).collect::<Vec<_>>(),
        Err(error) => {
            tracing::warn!(%error, "admission cannot list storage classes");
            return;
        }
    };
    set_default(obj, &classes);
}

fn wants_default(claim: &Value) -> bool {
    claim.pointer("/spec/storageClassName").is_none_or(Value::is_null)
        && claim.pointer("/metadata/annotations").and_then(|a| a.get(BETA_CLASS)).is_none()
}

/// The name of the default class among `classes`.
fn default_class(classes: &[Value]) -> Option<&str> {
    let is_default = |c: &Value| {
        let a = c.pointer("/metadata/annotations");
        [DEFAULT, BETA_DEFAULT].iter().any(|k| a.and_then(|a| a.get(*k)).and_then(Value::as_str) == Some("true"))
    };
    let mut defaults: Vec<(&str, &str)> = classes
        .iter()
        .filter(|c| is_default(c))
        .filter_map(|c| {
            let name = c.pointer("/metadata/name").and_then(Value::as_str)?;
            let created = c.pointer("/metadata/creationTimestamp").and_then(Value::as_str).unwrap_or_default();
            Some((name, created))
        })
        .collect();
    // RFC 3339 timestamps in UTC compare as strings.
    defaults.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    defaults.first().map(|(name, _)| *name)
}

fn set_default(claim: &mut Value, classes: &[Value]) {
    if !wants_default(claim) {
        return;
    }
    let Some(name) = default_class(classes) else { return };
    if !claim.get("spec").is_some_and(Value::is_object) {
        claim["spec"] = serde_json::json!({});
    }
    claim["spec"]["storageClassName"] = Value::from(name);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn class(name: &str, default: bool, created: &str) -> Value {
        json!({"metadata": {"name": name, "creationTimestamp": created, "annotations": {DEFAULT: default.to_string()}}, "provisioner": "p"})
    }

    #[test]
    fn admission_default_storage_class_fills_in_a_missing_class_only() {
        let classes = [class("old", true, "2024-01-01T00:00:00Z"), class("local", true, "2025-01-01T00:00:00Z"), class("x", false, "2026-01-01T00:00:00Z")];
        let mut claim = json!({"metadata": {"name": "c"}, "spec": {"accessModes": ["ReadWriteOnce"]}});
        set_default(&mut claim, &classes);
        assert_eq!(claim["spec"]["storageClassName"], "local");

        let mut none = json!({"metadata": {"name": "c"}, "spec": {"storageClassName": ""}});
        set_default(&mut none, &classes);
        assert_eq!(none["spec"]["storageClassName"], "");

        let mut beta = json!({"metadata": {"name": "c", "annotations": {BETA_CLASS: "gold"}}, "spec": {}});
        set_default(&mut beta, &classes);
        assert!(beta["spec"].get("storageClassName").is_none());

        let mut no_default = json!({"metadata": {"name": "c"}, "spec": {}});
        set_default(&mut no_default, &classes[2..]);
        assert!(no_default["spec"].get("storageClassName").is_none());
    }

    #[test]
    fn admission_default_storage_class_ties_go_to_the_first_name() {
        let classes = [class("b", true, "2025-01-01T00:00:00Z"), class("a", true, "2025-01-01T00:00:00Z")];
        assert_eq!(default_class(&classes), Some("a"));
    }
}
