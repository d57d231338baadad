//! Watch event lines and list items spliced from the stored bytes. A
//! watcher or list that reads plain JSON (or a watcher that reads
//! `PartialObjectMetadata`) gets each object (or its metadata) exactly as
//! stored plus its `resourceVersion`, so the object need not be decoded
//! into a tree and encoded again for every reader:
//! its top-level fields and those of `metadata` are only delimited
//! (`RawValue`s borrowed from the stored bytes) and written back around
//! the added `resourceVersion`; a label selector decodes just the labels.
//! The output is byte for byte what decoding and encoding would give.

use super::Ctx;
use super::read::Selectors;
use crate::codec::Output;
use serde::de::{Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;
use std::fmt;

/// An object's fields in stored order, each value still raw JSON.
struct Fields<'a>(Vec<(&'a str, &'a RawValue)>);

impl<'de> serde::Deserialize<'de> for Fields<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct FieldsVisitor;
        impl<'de> Visitor<'de> for FieldsVisitor {
            type Value = Fields<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut fields = Vec::with_capacity(map.size_hint().unwrap_or(8));
                while let Some(entry) = map.next_entry::<&'de str, &'de RawValue>()? {
                    fields.push(entry);
                }
                Ok(Fields(fields))
            }
        }
        deserializer.deserialize_map(FieldsVisitor)
    }
}

/// A stored object, delimited: its top-level fields and its metadata's.
pub struct Stored<'a> {
    top: Fields<'a>,
    meta: Fields<'a>,
}

impl<'a> Stored<'a> {
    /// `None` when the bytes are not a plain object with an object
    /// `metadata` (field names with escapes included), so the caller
    /// decodes instead.
    pub fn parse(stored: &'a [u8]) -> Option<Stored<'a>> {
        let top: Fields = serde_json::from_slice(stored).ok()?;
        let (_, meta) = top.0.iter().find(|(name, _)| *name == "metadata")?;
        let meta: Fields = serde_json::from_str(meta.get()).ok()?;
        Some(Stored { top, meta })
    }

    /// The object's labels, decoded (only they are).
    pub fn labels(&self) -> Option<serde_json::Map<String, serde_json::Value>> {
        let (_, labels) = self.meta.0.iter().find(|(name, _)| *name == "labels")?;
        serde_json::from_str(labels.get()).ok()
    }

    /// `{"type":<event_type>,"object":<the object with resourceVersion>}`
    /// and a newline.
    pub fn line(&self, event_type: &str, resource_version: i64) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.len() + 64);
        open_event(&mut out, event_type);
        self.push_object(&mut out, resource_version);
        out.extend_from_slice(b"}\n");
        out
    }

    /// About how many bytes the object takes.
    pub fn len(&self) -> usize {
        self.top.0.iter().map(|(k, v)| k.len() + v.get().len() + 4).sum::<usize>() + 32
    }

    /// Appends the object with its `resourceVersion`.
    pub fn push_object(&self, out: &mut Vec<u8>, resource_version: i64) {
        out.push(b'{');
        for (i, (name, value)) in self.top.0.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            push_key(out, name);
            if *name == "metadata" {
                self.push_metadata(out, resource_version);
            } else {
                out.extend_from_slice(value.get().as_bytes());
            }
        }
        out.push(b'}');
    }

    /// The event of the object's `PartialObjectMetadata`.
    pub fn metadata_line(&self, event_type: &str, resource_version: i64) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.meta.0.iter().map(|(k, v)| k.len() + v.get().len() + 4).sum::<usize>() + 128);
        open_event(&mut out, event_type);
        out.extend_from_slice(br#"{"kind":"PartialObjectMetadata","apiVersion":"meta.k8s.io/v1","metadata":"#);
        self.push_metadata(&mut out, resource_version);
        out.extend_from_slice(b"}}\n");
        out
    }

    /// The metadata with `resourceVersion` set, last as decoding adds it.
    fn push_metadata(&self, out: &mut Vec<u8>, resource_version: i64) {
        out.push(b'{');
        for (k, v) in self.meta.0.iter().filter(|(k, _)| *k != "resourceVersion") {
            push_key(out, k);
            out.extend_from_slice(v.get().as_bytes());
            out.push(b',');
        }
        push_key(out, "resourceVersion");
        out.extend_from_slice(format!("\"{resource_version}\"").as_bytes());
        out.push(b'}');
    }
}

/// How a watch's events or a list's items are spliced from the stored bytes.
#[derive(Clone, Copy, PartialEq, Debug)]
pub enum Splice {
    Object,
    Metadata,
}

/// Whether a read's objects can be spliced from the stored bytes: objects
/// served as stored, in plain JSON or as metadata, and at most a label
/// selector (field selectors read decoded objects).
pub fn splice_form(ctx: &Ctx, selectors: &Selectors) -> Option<Splice> {
    let plain = selectors.field.is_none()
        && ctx.custom.is_none()
        && apimachinery::conversion::served_as_stored(&ctx.resource.group, &ctx.resource.kind);
    match ctx.output {
        _ if !plain => None,
        Output::Json | Output::Yaml => Some(Splice::Object),
        Output::PartialObjectMetadata | Output::PartialObjectMetadataList => Some(Splice::Metadata),
        Output::Table => None,
    }
}

/// `{"type":"...","object":` (event types are plain ASCII words).
fn open_event(out: &mut Vec<u8>, event_type: &str) {
    out.extend_from_slice(b"{\"type\":\"");
    out.extend_from_slice(event_type.as_bytes());
    out.extend_from_slice(b"\",\"object\":");
}

/// A field name as serde_json writes it; names borrowed from the input had
/// no escapes, so they are written back as they were.
fn push_key(out: &mut Vec<u8>, name: &str) {
    out.push(b'"');
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b"\":");
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    /// What the decoding path writes for the same stored object.
    fn decoded(event_type: &str, stored: &[u8], rv: i64) -> Vec<u8> {
        let mut obj: Value = serde_json::from_slice(stored).expect("json");
        obj["metadata"].as_object_mut().expect("metadata").insert("resourceVersion".into(), Value::String(rv.to_string()));
        let mut line = serde_json::to_vec(&json!({"type": event_type, "object": obj})).expect("encodes");
        line.push(b'\n');
        line
    }

    #[test]
    fn raw_event_matches_the_decoded_line() {
        let pod = json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "p", "namespace": "ns", "labels": {"a\"b": "c\u{e9}"}, "uid": "u"},
            "spec": {"containers": [{"name": "c", "image": "nginx", "args": ["a\nb", "\u{1f600}"]}], "priority": 1.5e3},
            "status": {"phase": "Running"},
        });
        let stored = serde_json::to_vec(&pod).expect("encodes");
        let parsed = Stored::parse(&stored).expect("plain object");
        for kind in ["ADDED", "MODIFIED", "DELETED"] {
            let raw = parsed.line(kind, 42);
            assert_eq!(String::from_utf8(raw).expect("utf8"), String::from_utf8(decoded(kind, &stored, 42)).expect("utf8"));
        }
        assert_eq!(parsed.labels(), pod["metadata"]["labels"].as_object().cloned());
        // Empty metadata, and a stale stored resourceVersion replaced.
        let stored = serde_json::to_vec(&json!({"kind": "X", "metadata": {}})).expect("encodes");
        let parsed = Stored::parse(&stored).expect("plain");
        assert_eq!(parsed.line("ADDED", 7), decoded("ADDED", &stored, 7));
        assert_eq!(parsed.labels(), None);
        let stored = serde_json::to_vec(&json!({"metadata": {"resourceVersion": "1", "name": "n"}})).expect("encodes");
        let raw: Value = serde_json::from_slice(&Stored::parse(&stored).expect("plain").line("ADDED", 9)).expect("json");
        assert_eq!(raw["object"]["metadata"], json!({"name": "n", "resourceVersion": "9"}));
    }

    #[test]
    fn raw_event_partial_metadata_matches_the_decoded_line() {
        let stored = serde_json::to_vec(&json!({"kind": "Pod", "metadata": {"name": "p", "ownerReferences": [{"uid": "u"}]}, "spec": {}})).expect("encodes");
        let mut obj: Value = serde_json::from_slice(&stored).expect("json");
        obj["metadata"]["resourceVersion"] = json!("5");
        let meta = json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": obj["metadata"]});
        let mut want = serde_json::to_vec(&json!({"type": "DELETED", "object": meta})).expect("encodes");
        want.push(b'\n');
        assert_eq!(Stored::parse(&stored).expect("plain").metadata_line("DELETED", 5), want);
    }

    #[test]
    fn raw_event_declines_what_it_cannot_splice() {
        assert!(Stored::parse(b"[1,2]").is_none());
        assert!(Stored::parse(br#"{"kind":"X"}"#).is_none());
        assert!(Stored::parse(br#"{"metadata":[]}"#).is_none());
        assert!(Stored::parse(br#"{"meta\"data":{}}"#).is_none());
        assert!(Stored::parse(br#"{"metadata":{"na\"me":"x"}}"#).is_none());
        assert!(Stored::parse(b"{\"metadata\":{}").is_none());
    }
}
