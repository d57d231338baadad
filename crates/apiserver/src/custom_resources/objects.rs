//! A custom resource version's rules for the objects written through it,
//! in the apiextensions server's order: prune unknown fields, apply the
//! schema's defaults, validate metadata, validate against the schema; and
//! the `apiVersion` an object is stored and served at (conversion `None`).

use super::CustomVersion;
use apimachinery::crd::StructuralSchema;
use apimachinery::registry::split_api_version;
use apimachinery::validation::{self, FieldError, NameRule};
use serde_json::Value;

impl CustomVersion {
    /// The paths (`spec.x`) of the fields of `obj` the schema does not
    /// know, for `fieldValidation`, without changing `obj`.
    pub fn unknown_fields(&self, obj: &Value) -> Vec<String> {
        let Some(schema) = &self.schema else { return Vec::new() };
        schema
            .prune(&mut obj.clone())
            .into_iter()
            .map(|m| match m.strip_prefix("unknown field \"").and_then(|r| r.strip_suffix('"')) {
                Some(path) => path.to_string(),
                None => m,
            })
            .collect()
    }

    /// Drops unknown fields and applies the schema's defaults.
    pub fn prune_and_default(&self, obj: &mut Value) {
        if let Some(schema) = &self.schema {
            schema.prune(obj);
            schema.apply_defaults(obj);
        }
    }

    /// What the server owns on a new custom object: with a status
    /// subresource the status is written only through it, so a create
    /// carries none (built-in kinds keep an empty one).
    pub fn prepare_for_create(&self, obj: &mut Value) {
        if self.resource.subresources.status
            && let Some(o) = obj.as_object_mut()
        {
            o.remove("status");
        }
    }

    /// Metadata and schema errors of a new object.
    pub fn validate_create(&self, obj: &Value) -> Vec<FieldError> {
        let mut errs = validation::validate_object_meta(obj, self.resource.namespaced, NameRule::Dns1123Subdomain);
        errs.extend(self.validate_schema(obj));
        errs
    }

    /// Metadata and schema errors of an update.
    pub fn validate_update(&self, obj: &Value, old: &Value) -> Vec<FieldError> {
        let mut errs = validation::validate_object_meta(obj, self.resource.namespaced, NameRule::Dns1123Subdomain);
        errs.extend(validation::validate_object_meta_update(obj, old));
        errs.extend(self.validate_schema(obj));
        errs
    }

    fn validate_schema(&self, obj: &Value) -> Vec<FieldError> {
        self.schema.as_ref().map(|s: &StructuralSchema| s.validate(obj)).unwrap_or_default()
    }

    /// The object as stored: at the storage version.
    pub fn stored_form(&self, mut obj: Value) -> Value {
        self.set_version(&mut obj, &self.storage_version);
        obj
    }

    /// A stored object as served at this version.
    pub fn served_form(&self, mut obj: Value) -> Value {
        self.set_version(&mut obj, &self.resource.version);
        obj
    }

    fn set_version(&self, obj: &mut Value, version: &str) {
        if version.is_empty() {
            return;
        }
        let current = obj.get("apiVersion").and_then(Value::as_str).map(split_api_version);
        if current.is_some_and(|(g, v)| g == self.resource.group && v == version) {
            return;
        }
        if let Some(o) = obj.as_object_mut() {
            o.insert("apiVersion".into(), Value::String(format!("{}/{version}", self.resource.group)));
        }
    }
}
