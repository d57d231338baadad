//! Defaulting of the CRD object itself (apiextensions v1
//! `SetDefaults_CustomResourceDefinition`) and the registry strategy's
//! `PrepareForCreate`/`PrepareForUpdate` (status owned by the server,
//! the storage version recorded in `status.storedVersions`).

use serde_json::{Value, json};

use crate::validation::json::semantic_eq;

/// Fills `singular` (lower-case kind), `listKind` (`<Kind>List`),
/// `conversion.strategy: None`, and `status.storedVersions` when empty.
pub fn default_crd(crd: &mut Value) {
    let Some(spec) = crd.get_mut("spec").and_then(Value::as_object_mut) else {
        return;
    };
    let names = spec.entry("names").or_insert_with(|| json!({}));
    let kind = names
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    if let Some(n) = names.as_object_mut() {
        if n.get("singular")
            .and_then(Value::as_str)
            .unwrap_or("")
            .is_empty()
        {
            n.insert("singular".into(), Value::from(kind.to_lowercase()));
        }
        if n.get("listKind")
            .and_then(Value::as_str)
            .unwrap_or("")
            .is_empty()
            && !kind.is_empty()
        {
            n.insert("listKind".into(), Value::from(format!("{kind}List")));
        }
    }
    if spec.get("conversion").is_none_or(Value::is_null) {
        spec.insert("conversion".into(), json!({"strategy": "None"}));
    }
    // Webhook service ports default to 443.
    if let Some(svc) = spec
        .get_mut("conversion")
        .and_then(|c| c.pointer_mut("/webhook/clientConfig/service"))
        && let Some(m) = svc.as_object_mut()
    {
        m.entry("port").or_insert(json!(443));
    }
    if stored(crd).is_empty()
        && let Some(v) = storage(crd)
    {
        set_stored(crd, vec![Value::from(v)]);
    }
}

fn storage(crd: &Value) -> Option<String> {
    crd.pointer("/spec/versions")?
        .as_array()?
        .iter()
        .find(|v| v.get("storage").and_then(Value::as_bool) == Some(true))
        .and_then(|v| v.get("name").and_then(Value::as_str))
        .map(String::from)
}

fn stored(crd: &Value) -> Vec<Value> {
    crd.pointer("/status/storedVersions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

fn set_stored(crd: &mut Value, versions: Vec<Value>) {
    if let Some(m) = crd.as_object_mut() {
        let status = m.entry("status").or_insert_with(|| json!({}));
        if !status.is_object() {
            *status = json!({});
        }
        status["storedVersions"] = Value::from(versions);
    }
}

/// Adds the storage version to `status.storedVersions` if missing.
fn record_storage(crd: &mut Value) {
    let mut list = stored(crd);
    if let Some(v) = storage(crd)
        && !list.iter().any(|s| s.as_str() == Some(v.as_str()))
    {
        list.push(Value::from(v));
        set_stored(crd, list);
    }
}

/// On create: the status is the server's (cleared, then the storage
/// version recorded) and `metadata.generation` starts at 1.
pub fn prepare_for_create(crd: &mut Value) {
    if let Some(m) = crd.as_object_mut() {
        m.insert("status".into(), json!({"storedVersions": []}));
        let meta = m.entry("metadata").or_insert_with(|| json!({}));
        if let Some(meta) = meta.as_object_mut() {
            meta.insert("generation".into(), json!(1));
        }
    }
    record_storage(crd);
}

/// On update: the status stays the stored one, the generation moves when
/// the spec changed, and a new storage version is recorded.
pub fn prepare_for_update(crd: &mut Value, old: &Value) {
    let old_status = old.get("status").cloned().unwrap_or_else(|| json!({}));
    let old_gen = old
        .pointer("/metadata/generation")
        .and_then(Value::as_i64)
        .unwrap_or(0);
    let changed = !semantic_eq(
        crd.get("spec").unwrap_or(&Value::Null),
        old.get("spec").unwrap_or(&Value::Null),
    );
    if let Some(m) = crd.as_object_mut() {
        m.insert("status".into(), old_status);
        let meta = m.entry("metadata").or_insert_with(|| json!({}));
        if let Some(meta) = meta.as_object_mut() {
            let generation = if changed { old_gen + 1 } else { old_gen };
            meta.insert("generation".into(), json!(generation));
        }
    }
    record_storage(crd);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crd_object_defaults() {
        let mut crd = json!({"spec": {"names": {"plural": "crontabs", "kind": "CronTab"},
            "versions": [{"name": "v1", "served": true, "storage": true}]}});
        default_crd(&mut crd);
        assert_eq!(crd["spec"]["names"]["singular"], "crontab");
        assert_eq!(crd["spec"]["names"]["listKind"], "CronTabList");
        assert_eq!(crd["spec"]["conversion"], json!({"strategy": "None"}));
        assert_eq!(crd["status"]["storedVersions"], json!(["v1"]));
        let mut kept = json!({"spec": {"names": {"kind": "A", "singular": "x", "listKind": "Bs"},
            "conversion": {"strategy": "Webhook", "webhook": {"clientConfig": {"service": {"name": "s", "namespace": "n"}}}}}});
        default_crd(&mut kept);
        assert_eq!(kept["spec"]["names"]["singular"], "x");
        assert_eq!(kept["spec"]["names"]["listKind"], "Bs");
        assert_eq!(
            kept["spec"]["conversion"]["webhook"]["clientConfig"]["service"]["port"],
            443
        );
    }

    #[test]
    fn crd_prepare_for_create_and_update() {
        let mut crd = json!({"metadata": {"name": "a"}, "status": {"acceptedNames": {"kind": "X"}},
            "spec": {"versions": [{"name": "v1", "storage": true}]}});
        prepare_for_create(&mut crd);
        assert_eq!(crd["status"], json!({"storedVersions": ["v1"]}));
        assert_eq!(crd["metadata"]["generation"], 1);
        let old = crd.clone();
        let mut new = crd.clone();
        new["spec"]["versions"] =
            json!([{"name": "v1", "storage": false}, {"name": "v2", "storage": true}]);
        new["status"] = json!({});
        prepare_for_update(&mut new, &old);
        assert_eq!(new["status"]["storedVersions"], json!(["v1", "v2"]));
        assert_eq!(new["metadata"]["generation"], 2);
        let mut same = old.clone();
        prepare_for_update(&mut same, &old);
        assert_eq!(same["metadata"]["generation"], 1);
    }
}
