//! `metadata.managedFields`: decoding (with Kubernetes' checks), the
//! identity of an entry (manager, operation, API version for updates,
//! subresource) and encoding back in Kubernetes' order.

use serde_json::{Map, Value, json};

use super::ApplyError;
use super::fieldset::FieldSet;
use super::gojson;

/// The operation an entry records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Operation {
    /// Server-side apply.
    Apply,
    /// Any other write (create, update, patch).
    Update,
}

impl Operation {
    fn as_str(self) -> &'static str {
        match self {
            Operation::Apply => "Apply",
            Operation::Update => "Update",
        }
    }
}

/// Who an entry belongs to. Appliers are identified without API version,
/// so one applier keeps one entry whatever version it applies with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ManagerId {
    /// The field manager's name.
    pub manager: String,
    /// Apply or Update.
    pub operation: Operation,
    /// The API version, for Update entries only (`""` for Apply).
    pub api_version: String,
    /// The subresource (`""` for the main resource).
    pub subresource: String,
}

impl ManagerId {
    /// The identity of an entry.
    pub fn new(manager: &str, operation: Operation, api_version: &str, subresource: &str) -> Self {
        ManagerId {
            manager: manager.to_owned(),
            operation,
            api_version: match operation {
                Operation::Apply => String::new(),
                Operation::Update => api_version.to_owned(),
            },
            subresource: subresource.to_owned(),
        }
    }

    /// The JSON Kubernetes uses as the key of this manager, which orders
    /// managers in conflict messages.
    pub(crate) fn identifier(&self) -> String {
        let mut out = String::from("{");
        let mut parts = Vec::new();
        let mut field = |name: &str, v: &str| {
            if !v.is_empty() {
                let mut s = String::new();
                gojson::write_string(&mut s, name);
                s.push(':');
                gojson::write_string(&mut s, v);
                parts.push(s);
            }
        };
        field("manager", &self.manager);
        field("operation", self.operation.as_str());
        field("apiVersion", &self.api_version);
        field("subresource", &self.subresource);
        out.push_str(&parts.join(","));
        out.push('}');
        out
    }

    /// The manager as Kubernetes names it in conflicts:
    /// `"kubectl-client-side-apply" using apps/v1`,
    /// `"ctl" with subresource "status"`.
    pub fn describe(&self) -> String {
        let mut out = format!("{:?}", self.manager);
        if !self.subresource.is_empty() {
            out.push_str(&format!(" with subresource {:?}", self.subresource));
        }
        if self.operation == Operation::Update {
            out.push_str(&format!(" using {}", self.api_version));
        }
        out
    }
}

/// One entry of `metadata.managedFields`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ManagedEntry {
    /// Whose fields these are.
    pub id: ManagerId,
    /// The API version the fields are expressed in.
    pub api_version: String,
    /// When the manager last changed the object (RFC 3339), if known.
    pub time: Option<String>,
    /// The fields the manager owns.
    pub fields: FieldSet,
}

/// All entries of an object, one per [`ManagerId`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ManagedFields {
    /// The entries, in no particular order until encoded.
    pub entries: Vec<ManagedEntry>,
}

impl ManagedFields {
    /// Decodes an object's `metadata.managedFields` (none is empty).
    pub fn from_object(object: &Value) -> Result<Self, ApplyError> {
        match object.pointer("/metadata/managedFields") {
            None | Some(Value::Null) => Ok(Self::default()),
            Some(v) => Self::decode(v),
        }
    }

    /// Decodes a `managedFields` list, with Kubernetes' checks; a later
    /// entry with the identity of an earlier one replaces it.
    pub fn decode(list: &Value) -> Result<Self, ApplyError> {
        let Value::Array(items) = list else {
            return Err(ApplyError::InvalidManagedFields(format!(
                "expected a list, got {list}"
            )));
        };
        let mut out = ManagedFields::default();
        for (i, item) in items.iter().enumerate() {
            let entry = decode_entry(i, item)?;
            out.set(entry);
        }
        Ok(out)
    }

    /// The entry of `id`.
    pub fn get(&self, id: &ManagerId) -> Option<&ManagedEntry> {
        self.entries.iter().find(|e| e.id == *id)
    }

    /// Adds `entry`, replacing the one with the same identity.
    pub fn set(&mut self, entry: ManagedEntry) {
        match self.entries.iter_mut().find(|e| e.id == entry.id) {
            Some(e) => *e = entry,
            None => self.entries.push(entry),
        }
    }

    /// Drops entries that own nothing.
    pub(crate) fn drop_empty(&mut self) {
        self.entries.retain(|e| !e.fields.is_empty());
    }

    /// The union of every entry's fields.
    pub(crate) fn all_fields(&self) -> FieldSet {
        self.entries
            .iter()
            .fold(FieldSet::new(), |acc, e| acc.union(&e.fields))
    }

    /// The encoded list, sorted as Kubernetes sorts it: Apply before
    /// Update, then by time (oldest first), manager, API version and
    /// subresource.
    pub fn encode(&self) -> Value {
        let mut entries: Vec<&ManagedEntry> = self.entries.iter().collect();
        entries.sort_by(|p, q| {
            p.id.operation
                .cmp(&q.id.operation)
                .then_with(|| seconds(p.time.as_deref()).cmp(&seconds(q.time.as_deref())))
                .then_with(|| p.id.manager.cmp(&q.id.manager))
                .then_with(|| p.api_version.cmp(&q.api_version))
                .then_with(|| p.id.subresource.cmp(&q.id.subresource))
        });
        Value::Array(entries.into_iter().map(encode_entry).collect())
    }

    /// Stores the entries in `object`'s metadata; no entries removes the
    /// field, as Kubernetes leaves it unset.
    pub fn write_to(&self, object: &mut Value) {
        let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) else {
            return;
        };
        if self.entries.is_empty() {
            meta.remove("managedFields");
        } else {
            meta.insert("managedFields".into(), self.encode());
        }
    }
}

/// Seconds since the epoch of an entry's time; no time or an unreadable
/// one sorts first, as Kubernetes treats a missing time as zero.
fn seconds(time: Option<&str>) -> i64 {
    time.and_then(|t| t.parse::<jiff::Timestamp>().ok())
        .map(|t| t.as_second())
        .unwrap_or(0)
}

fn decode_entry(i: usize, item: &Value) -> Result<ManagedEntry, ApplyError> {
    let bad = |m: String| ApplyError::InvalidManagedFields(m);
    let Value::Object(m) = item else {
        return Err(bad(format!("managed fields entry {i} must be an object")));
    };
    let string = |key: &str| -> Result<&str, ApplyError> {
        match m.get(key) {
            None | Some(Value::Null) => Ok(""),
            Some(Value::String(s)) => Ok(s),
            Some(other) => Err(bad(format!(
                "{key} of managed fields entry {i} must be a string, got {other}"
            ))),
        }
    };
    let operation = match string("operation")? {
        "Apply" => Operation::Apply,
        "Update" => Operation::Update,
        _ => return Err(bad("operation must be `Apply` or `Update`".into())),
    };
    let api_version = string("apiVersion")?;
    if api_version.is_empty() {
        return Err(bad("apiVersion must not be empty".into()));
    }
    match string("fieldsType")? {
        "FieldsV1" => {}
        "" => {
            return Err(bad(format!(
                "missing fieldsType in managed fields entry {i}"
            )));
        }
        other => {
            return Err(bad(format!(
                "invalid fieldsType {other:?} in managed fields entry {i}"
            )));
        }
    }
    let time = match string("time")? {
        "" => None,
        t => {
            if t.parse::<jiff::Timestamp>().is_err() {
                return Err(bad(format!(
                    "invalid time {t:?} in managed fields entry {i}"
                )));
            }
            Some(t.to_owned())
        }
    };
    let fields = match m.get("fieldsV1") {
        None | Some(Value::Null) => FieldSet::new(),
        Some(v) => FieldSet::from_fields_v1(v)
            .map_err(|e| bad(format!("error decoding managed fields entry {i}: {e}")))?,
    };
    Ok(ManagedEntry {
        id: ManagerId::new(
            string("manager")?,
            operation,
            api_version,
            string("subresource")?,
        ),
        api_version: api_version.to_owned(),
        time,
        fields,
    })
}

fn encode_entry(e: &ManagedEntry) -> Value {
    let mut m = Map::new();
    if !e.id.manager.is_empty() {
        m.insert("manager".into(), json!(e.id.manager));
    }
    m.insert("operation".into(), json!(e.id.operation.as_str()));
    m.insert("apiVersion".into(), json!(e.api_version));
    if let Some(t) = &e.time {
        m.insert("time".into(), json!(t));
    }
    m.insert("fieldsType".into(), json!("FieldsV1"));
    m.insert("fieldsV1".into(), e.fields.to_fields_v1());
    if !e.id.subresource.is_empty() {
        m.insert("subresource".into(), json!(e.id.subresource));
    }
    Value::Object(m)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap: a panic is a failure
mod tests {
    use super::*;

    #[test]
    fn apply_managed_fields_decode_errors() {
        let err = |v: Value| ManagedFields::decode(&v).unwrap_err().to_string();
        assert_eq!(
            err(
                json!([{"manager": "m", "operation": "Patch", "apiVersion": "v1", "fieldsType": "FieldsV1"}])
            ),
            "invalid managedFields: operation must be `Apply` or `Update`"
        );
        assert_eq!(
            err(json!([{"manager": "m", "operation": "Apply", "fieldsType": "FieldsV1"}])),
            "invalid managedFields: apiVersion must not be empty"
        );
        assert_eq!(
            err(json!([{"manager": "m", "operation": "Apply", "apiVersion": "v1"}])),
            "invalid managedFields: missing fieldsType in managed fields entry 0"
        );
        assert_eq!(
            err(
                json!([{"manager": "m", "operation": "Apply", "apiVersion": "v1", "fieldsType": "FieldsV2"}])
            ),
            r#"invalid managedFields: invalid fieldsType "FieldsV2" in managed fields entry 0"#
        );
        assert!(
            err(
                json!([{"manager": "m", "operation": "Apply", "apiVersion": "v1",
            "fieldsType": "FieldsV1", "fieldsV1": {"bad": {}}}])
            )
            .contains("entry 0")
        );
        assert!(err(json!({})).contains("expected a list"));
    }

    #[test]
    fn apply_managed_fields_encode_order_and_identity() {
        let list = json!([
            {"manager": "b", "operation": "Update", "apiVersion": "v1", "time": "2024-01-01T00:00:02Z",
             "fieldsType": "FieldsV1", "fieldsV1": {"f:data": {"f:b": {}}}},
            {"manager": "a", "operation": "Update", "apiVersion": "v1", "time": "2024-01-01T00:00:02Z",
             "fieldsType": "FieldsV1", "fieldsV1": {"f:data": {"f:a": {}}}},
            {"manager": "z", "operation": "Apply", "apiVersion": "v1", "time": "2024-01-01T00:00:09Z",
             "fieldsType": "FieldsV1", "fieldsV1": {"f:data": {"f:z": {}}}},
        ]);
        let m = ManagedFields::decode(&list).unwrap();
        let names: Vec<String> = m
            .encode()
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["manager"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(names, ["z", "a", "b"]);
        assert_eq!(
            ManagerId::new(
                "kubectl-client-side-apply",
                Operation::Update,
                "apps/v1",
                ""
            )
            .describe(),
            r#""kubectl-client-side-apply" using apps/v1"#
        );
        assert_eq!(
            ManagerId::new("ctl", Operation::Apply, "v1", "status").describe(),
            r#""ctl" with subresource "status""#
        );
        assert_eq!(
            ManagerId::new("m", Operation::Update, "v1", "").identifier(),
            r#"{"manager":"m","operation":"Update","apiVersion":"v1"}"#
        );
    }
}
