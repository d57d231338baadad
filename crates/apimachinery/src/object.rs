//! Accessors for the parts of an object every kind shares (`apiVersion`,
//! `kind`, `metadata`), on the JSON representation the API server carries.

use serde_json::{Map, Value};

/// Read access to an object's type and metadata fields.
pub trait ObjectExt {
    fn meta(&self) -> Option<&Map<String, Value>>;
    fn meta_str(&self, field: &str) -> Option<&str> {
        self.meta().and_then(|m| m.get(field)).and_then(Value::as_str)
    }
    fn name(&self) -> Option<&str> {
        self.meta_str("name").filter(|s| !s.is_empty())
    }
    fn namespace(&self) -> Option<&str> {
        self.meta_str("namespace").filter(|s| !s.is_empty())
    }
    fn resource_version(&self) -> Option<&str> {
        self.meta_str("resourceVersion").filter(|s| !s.is_empty())
    }
    fn uid(&self) -> Option<&str> {
        self.meta_str("uid").filter(|s| !s.is_empty())
    }
    fn labels(&self) -> Option<&Map<String, Value>> {
        self.meta().and_then(|m| m.get("labels")).and_then(Value::as_object)
    }
    fn finalizers(&self) -> Vec<&str> {
        self.meta()
            .and_then(|m| m.get("finalizers"))
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default()
    }
    fn deletion_timestamp(&self) -> Option<&str> {
        self.meta_str("deletionTimestamp")
    }
}

impl ObjectExt for Value {
    fn meta(&self) -> Option<&Map<String, Value>> {
        self.get("metadata").and_then(Value::as_object)
    }
}

/// The object's `metadata`, created as an empty map when missing or not a
/// map (validation has already rejected a non-map metadata by then).
pub fn meta_mut(obj: &mut Value) -> &mut Map<String, Value> {
    if !obj.is_object() {
        *obj = Value::Object(Map::new());
    }
    let Value::Object(root) = obj else { unreachable!("made an object above") };
    let meta = root.entry("metadata").or_insert_with(|| Value::Object(Map::new()));
    if !meta.is_object() {
        *meta = Value::Object(Map::new());
    }
    match meta {
        Value::Object(m) => m,
        _ => unreachable!("made an object above"),
    }
}

/// Follows a dotted path of map keys (`spec.template.metadata`).
pub fn get_path<'a>(obj: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(obj, |v, key| v.get(key))
}

/// The timestamp format of `metav1.Time`: RFC 3339 in UTC, whole seconds.
pub fn format_time(ts: jiff::Timestamp) -> String {
    ts.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Now, as `metav1.Time` prints it.
pub fn now_string() -> String {
    format_time(jiff::Timestamp::now())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn object_accessors_read_metadata() {
        let o = json!({"metadata": {"name": "web", "namespace": "", "labels": {"a": "b"}, "finalizers": ["x"]}});
        assert_eq!(o.name(), Some("web"));
        assert_eq!(o.namespace(), None);
        assert_eq!(o.labels().and_then(|l| l.get("a")), Some(&json!("b")));
        assert_eq!(o.finalizers(), vec!["x"]);
    }

    #[test]
    fn object_meta_mut_repairs_shapes() {
        let mut o = json!({"metadata": 3});
        meta_mut(&mut o).insert("name".into(), json!("x"));
        assert_eq!(o, json!({"metadata": {"name": "x"}}));
    }

    #[test]
    fn object_time_format_is_whole_seconds_utc() {
        let ts: jiff::Timestamp = "2024-05-06T07:08:09.123Z".parse().expect("valid");
        assert_eq!(format_time(ts), "2024-05-06T07:08:09Z");
    }
}
