//! The `fieldsV1` encoding of a [`FieldSet`]: a JSON object whose keys are
//! path elements (`f:`, `k:`, `v:`, `i:`) and whose values are the subtrees
//! below them, with `".": {}` marking a node that is a member itself as
//! well as a parent. Written in Kubernetes' order so that equal sets give
//! equal bytes.

use serde_json::{Map, Value};

use super::ApplyError;
use super::fieldset::FieldSet;
use super::path::PathElement;

impl FieldSet {
    /// Parses a `fieldsV1` value. Unknown element prefixes are skipped, as
    /// Kubernetes skips them.
    pub fn from_fields_v1(value: &Value) -> Result<FieldSet, ApplyError> {
        let Value::Object(map) = value else {
            return Err(ApplyError::InvalidFieldsV1(format!(
                "expected an object, got {value}"
            )));
        };
        let (set, _) = read_node(map)?;
        Ok(set)
    }

    /// The `fieldsV1` value of the set; the member/child order is
    /// Kubernetes' path-element order, `"."` first.
    pub fn to_fields_v1(&self) -> Value {
        Value::Object(self.write_node(false))
    }

    /// [`FieldSet::to_fields_v1`] as compact JSON text.
    pub fn to_fields_v1_string(&self) -> String {
        // A map with string keys always serializes.
        serde_json::to_string(&self.to_fields_v1()).unwrap_or_default()
    }

    fn write_node(&self, include_self: bool) -> Map<String, Value> {
        let mut out = Map::new();
        if include_self && !self.is_empty() {
            out.insert(".".into(), Value::Object(Map::new()));
        }
        // Members and children interleave in path-element order; a step
        // that is both is written once, with ".".
        let mut steps: Vec<&PathElement> =
            self.members.iter().chain(self.children.keys()).collect();
        steps.sort();
        steps.dedup();
        for pe in steps {
            let node = match self.children.get(pe) {
                Some(child) => child.write_node(self.members.contains(pe)),
                None => Map::new(),
            };
            out.insert(pe.to_fields_v1_key(), Value::Object(node));
        }
        out
    }
}

/// A node's set and whether it carried `"."`.
fn read_node(map: &Map<String, Value>) -> Result<(FieldSet, bool), ApplyError> {
    let mut set = FieldSet::new();
    let mut is_member = false;
    for (key, value) in map {
        if key == "." {
            is_member = true;
            continue;
        }
        let Some(pe) = PathElement::from_fields_v1_key(key)? else {
            continue;
        };
        let Value::Object(child) = value else {
            return Err(ApplyError::InvalidFieldsV1(format!(
                "expected an object under {key:?}, got {value}"
            )));
        };
        let (grandchildren, child_is_member) = read_node(child)?;
        // A leaf is written `{}`: with nothing below, the step is a member.
        if child_is_member || grandchildren.is_empty() {
            set.members.insert(pe.clone());
        }
        if !grandchildren.is_empty() {
            set.children.insert(pe, grandchildren);
        }
    }
    Ok((set, is_member))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap: a panic is a failure
mod tests {
    use super::*;

    fn round_trip(s: &str) -> String {
        let v: Value = serde_json::from_str(s).unwrap();
        FieldSet::from_fields_v1(&v).unwrap().to_fields_v1_string()
    }

    /// Golden strings from structured-merge-diff's serialization tests
    /// (fieldpath/serialize_test.go, TestSerializeV1GoldenData): the bytes
    /// Kubernetes writes for these sets.
    #[test]
    fn apply_fields_v1_golden_round_trip() {
        let examples = [
            r#"{"f:aaa":{},"f:aab":{},"f:aac":{},"f:aad":{},"f:aae":{},"f:aaf":{},"k:{\"name\":\"first\"}":{},"k:{\"name\":\"second\"}":{},"k:{\"port\":443,\"protocol\":\"tcp\"}":{},"k:{\"port\":443,\"protocol\":\"udp\"}":{},"v:1":{},"v:2":{},"v:3":{},"v:\"aa\"":{},"v:\"ab\"":{},"v:true":{},"i:1":{},"i:2":{},"i:3":{},"i:4":{}}"#,
            r#"{"f:aaa":{"k:{\"name\":\"second\"}":{"v:3":{"f:aab":{}}},"v:3":{},"v:true":{}},"f:aab":{"f:aaa":{},"f:aaf":{"k:{\"port\":443,\"protocol\":\"udp\"}":{"k:{\"port\":443,\"protocol\":\"tcp\"}":{}}},"k:{\"name\":\"first\"}":{}},"f:aac":{"f:aaa":{"v:1":{}},"f:aac":{},"v:3":{"k:{\"name\":\"second\"}":{}}},"f:aad":{"f:aac":{"v:1":{}},"f:aaf":{"k:{\"name\":\"first\"}":{"k:{\"name\":\"first\"}":{}}},"i:1":{"i:1":{},"i:3":{"v:true":{}}}},"f:aae":{"f:aae":{},"k:{\"port\":443,\"protocol\":\"tcp\"}":{"k:{\"port\":443,\"protocol\":\"udp\"}":{}},"i:4":{"f:aaf":{}}},"f:aaf":{"i:1":{"f:aac":{}},"i:2":{},"i:3":{}},"k:{\"name\":\"first\"}":{"f:aad":{"f:aaf":{}}},"k:{\"port\":443,\"protocol\":\"tcp\"}":{"f:aaa":{"f:aad":{}}},"k:{\"port\":443,\"protocol\":\"udp\"}":{"f:aac":{},"k:{\"name\":\"first\"}":{"i:3":{}},"k:{\"port\":443,\"protocol\":\"udp\"}":{"i:4":{}}},"v:1":{"f:aac":{"i:4":{}},"f:aaf":{},"k:{\"port\":443,\"protocol\":\"tcp\"}":{}},"v:2":{"f:aad":{"f:aaf":{}},"i:1":{}},"v:3":{"f:aaa":{},"k:{\"name\":\"first\"}":{},"i:2":{}},"v:\"aa\"":{"f:aab":{"f:aaf":{}},"f:aae":{},"k:{\"name\":\"first\"}":{"f:aad":{}},"i:2":{}},"v:\"ab\"":{"f:aaf":{"i:4":{}},"k:{\"port\":443,\"protocol\":\"tcp\"}":{},"k:{\"port\":443,\"protocol\":\"udp\"}":{},"v:1":{"k:{\"port\":443,\"protocol\":\"udp\"}":{}},"i:1":{"f:aae":{"i:4":{}}}},"v:true":{"k:{\"name\":\"second\"}":{"f:aaa":{}},"i:2":{"k:{\"port\":443,\"protocol\":\"tcp\"}":{}}},"i:1":{"i:3":{"f:aaf":{}}},"i:2":{"f:aae":{},"k:{\"port\":443,\"protocol\":\"tcp\"}":{"v:1":{}}},"i:3":{"f:aab":{"v:true":{"v:\"aa\"":{}}},"f:aaf":{},"i:1":{}},"i:4":{"v:\"aa\"":{"f:aab":{"k:{\"name\":\"second\"}":{}}}}}"#,
            r#"{"f:spec":{".":{},"f:apps":{".":{},"k:{\"name\":\" app-💻\"}":{".":{},"f:container":{".":{},"f:image":{},"f:name":{},"f:ports":{".":{},"k:{\"name\":\"port 🔑\"}":{".":{},"f:containerPort":{},"f:name":{}}}},"f:name":{}},"k:{\"name\":\" app-🚀\"}":{".":{},"f:container":{".":{},"f:image":{},"f:name":{},"f:ports":{".":{},"k:{\"name\":\"port-✅ \"}":{".":{},"f:containerPort":{},"f:name":{}}}},"f:name":{}}}}}"#,
        ];
        for s in examples {
            assert_eq!(round_trip(s), s);
        }
    }

    #[test]
    fn apply_fields_v1_normalizes_order_and_rejects_garbage() {
        let s = r#"{"f:b":{},"f:a":{"f:y":{},".":{},"f:x":{}}}"#;
        assert_eq!(
            round_trip(s),
            r#"{"f:a":{".":{},"f:x":{},"f:y":{}},"f:b":{}}"#
        );
        assert!(FieldSet::from_fields_v1(&serde_json::json!([])).is_err());
        assert!(FieldSet::from_fields_v1(&serde_json::json!({"f:a": 1})).is_err());
        assert!(FieldSet::from_fields_v1(&serde_json::json!({"nope": {}})).is_err());
        // Unknown prefixes are dropped, not rejected.
        assert_eq!(round_trip(r#"{"x:a":{},"f:b":{}}"#), r#"{"f:b":{}}"#);
    }
}
