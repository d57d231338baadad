//! Reading what the server needs out of a CRD: names, scope, served and
//! storage versions, per-version schema, subresources and printer columns.

use serde_json::Value;

use super::schema::StructuralSchema;
use crate::table::{PrinterColumn, TableError};

/// `spec.names` (or `status.acceptedNames`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CrdNames {
    pub plural: String,
    pub singular: String,
    pub kind: String,
    pub list_kind: String,
    pub short_names: Vec<String>,
    pub categories: Vec<String>,
}

/// The scale subresource's JSON paths (`.spec.replicas`, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScaleSubresource {
    pub spec_replicas_path: String,
    pub status_replicas_path: String,
    pub label_selector_path: Option<String>,
}

/// A version's subresources.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Subresources {
    pub status: bool,
    pub scale: Option<ScaleSubresource>,
}

fn s(v: &Value, k: &str) -> String {
    v.get(k).and_then(Value::as_str).unwrap_or("").to_string()
}

fn strings(v: &Value, k: &str) -> Vec<String> {
    v.get(k)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(String::from)
                .collect()
        })
        .unwrap_or_default()
}

fn version<'a>(crd: &'a Value, name: &str) -> Option<&'a Value> {
    crd.pointer("/spec/versions")?
        .as_array()?
        .iter()
        .find(|v| v.get("name").and_then(Value::as_str) == Some(name))
}

impl CrdNames {
    fn from(v: &Value) -> CrdNames {
        CrdNames {
            plural: s(v, "plural"),
            singular: s(v, "singular"),
            kind: s(v, "kind"),
            list_kind: s(v, "listKind"),
            short_names: strings(v, "shortNames"),
            categories: strings(v, "categories"),
        }
    }
}

/// The requested names (`spec.names`).
pub fn names(crd: &Value) -> CrdNames {
    CrdNames::from(crd.pointer("/spec/names").unwrap_or(&Value::Null))
}

/// The names the naming controller accepted (`status.acceptedNames`).
pub fn accepted_names_of(crd: &Value) -> CrdNames {
    CrdNames::from(crd.pointer("/status/acceptedNames").unwrap_or(&Value::Null))
}

pub fn group(crd: &Value) -> &str {
    crd.pointer("/spec/group")
        .and_then(Value::as_str)
        .unwrap_or("")
}

/// Whether the resources are namespaced (`spec.scope: Namespaced`).
pub fn is_namespaced(crd: &Value) -> bool {
    crd.pointer("/spec/scope").and_then(Value::as_str) == Some("Namespaced")
}

/// The served versions, in `spec.versions` order.
pub fn served_versions(crd: &Value) -> Vec<&str> {
    crd.pointer("/spec/versions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|v| v.get("served").and_then(Value::as_bool) == Some(true))
        .filter_map(|v| v.get("name").and_then(Value::as_str))
        .collect()
}

/// The version marked `storage: true`.
pub fn storage_version(crd: &Value) -> Option<&str> {
    crd.pointer("/spec/versions")?
        .as_array()?
        .iter()
        .find(|v| v.get("storage").and_then(Value::as_bool) == Some(true))
        .and_then(|v| v.get("name").and_then(Value::as_str))
}

/// The raw `openAPIV3Schema` of a version.
pub fn version_schema<'a>(crd: &'a Value, version_name: &str) -> Option<&'a Value> {
    version(crd, version_name)?
        .pointer("/schema/openAPIV3Schema")
        .filter(|s| !s.is_null())
}

/// The compiled schema of a version (for a CRD `validate_crd` accepted).
pub fn structural_schema(crd: &Value, version_name: &str) -> Option<StructuralSchema> {
    version_schema(crd, version_name).map(StructuralSchema::parse)
}

/// A version's subresources.
pub fn subresources(crd: &Value, version_name: &str) -> Subresources {
    let Some(sub) = version(crd, version_name).and_then(|v| v.get("subresources")) else {
        return Subresources::default();
    };
    let scale = sub
        .get("scale")
        .filter(|x| x.is_object())
        .map(|x| ScaleSubresource {
            spec_replicas_path: s(x, "specReplicasPath"),
            status_replicas_path: s(x, "statusReplicasPath"),
            label_selector_path: x
                .get("labelSelectorPath")
                .and_then(Value::as_str)
                .filter(|p| !p.is_empty())
                .map(String::from),
        });
    Subresources {
        status: sub.get("status").is_some_and(|x| !x.is_null()),
        scale,
    }
}

/// A version's printer columns (the Table code's parser, shared).
pub fn printer_columns(crd: &Value, version_name: &str) -> Result<Vec<PrinterColumn>, TableError> {
    PrinterColumn::from_crd(crd, version_name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn crd_read_helpers() {
        let crd = json!({"metadata": {"name": "crontabs.stable.example.com"}, "spec": {
            "group": "stable.example.com", "scope": "Namespaced",
            "names": {"plural": "crontabs", "singular": "crontab", "kind": "CronTab", "listKind": "CronTabList", "shortNames": ["ct"]},
            "versions": [
                {"name": "v1", "served": true, "storage": true,
                 "schema": {"openAPIV3Schema": {"type": "object", "properties": {"spec": {"type": "object"}}}},
                 "subresources": {"status": {}, "scale": {"specReplicasPath": ".spec.replicas", "statusReplicasPath": ".status.replicas"}},
                 "additionalPrinterColumns": [{"name": "Spec", "type": "string", "jsonPath": ".spec.cronSpec"}]},
                {"name": "v1beta1", "served": false, "storage": false}]}});
        assert_eq!(names(&crd).short_names, vec!["ct"]);
        assert_eq!(group(&crd), "stable.example.com");
        assert!(is_namespaced(&crd));
        assert_eq!(served_versions(&crd), vec!["v1"]);
        assert_eq!(storage_version(&crd), Some("v1"));
        let sub = subresources(&crd, "v1");
        assert!(sub.status);
        assert_eq!(
            sub.scale.map(|s| s.spec_replicas_path),
            Some(".spec.replicas".into())
        );
        assert_eq!(subresources(&crd, "v1beta1"), Subresources::default());
        assert!(structural_schema(&crd, "v1").is_some_and(|s| s.property("spec").is_some()));
        assert!(version_schema(&crd, "v1beta1").is_none());
        let cols = printer_columns(&crd, "v1").expect("v1 exists");
        assert_eq!(cols[0].json_path, ".spec.cronSpec");
        assert_eq!(accepted_names_of(&crd), CrdNames::default());
    }
}
