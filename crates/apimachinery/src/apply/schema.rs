//! What server-side apply needs to know about a kind's shape: how each list
//! merges (atomic, set, or map by key fields) and whether a map or struct is
//! replaced whole. [`ApplySchema`] answers by path; [`super::builtin`] and
//! [`super::openapi`] implement it for built-in kinds and custom resources.

use serde_json::Value;

/// One step of a schema path: a field (or map key) or "an item of this
/// list". Schema paths carry no keys or indices: every item of a list has
/// the same schema.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step<'a> {
    /// A field of a struct or a key of a map.
    Field(&'a str),
    /// An item of a list.
    Item,
}

/// A key field of an associative list, with the value an item that omits
/// it is taken to have (Kubernetes' schema default; `protocol` of container
/// and service ports defaults to `"TCP"`).
#[derive(Clone, Debug, PartialEq)]
pub struct MapKey {
    /// The field's name.
    pub name: String,
    /// The value an item without the field has, if any.
    pub default: Option<Value>,
}

impl MapKey {
    /// A key field without default.
    pub fn new(name: &str) -> Self {
        MapKey {
            name: name.to_owned(),
            default: None,
        }
    }

    /// A key field with a default.
    pub fn with_default(name: &str, default: Value) -> Self {
        MapKey {
            name: name.to_owned(),
            default: Some(default),
        }
    }
}

/// How a list merges (`x-kubernetes-list-type`).
#[derive(Clone, Debug, PartialEq)]
pub enum ListType {
    /// Replaced whole; one owner for the whole list.
    Atomic,
    /// Scalars merged by value (`v:` elements).
    Set,
    /// Objects merged by the values of these key fields (`k:` elements).
    Map(Vec<MapKey>),
}

/// How a map or struct merges (`x-kubernetes-map-type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MapType {
    /// Each field merged (and owned) separately.
    Granular,
    /// Replaced whole; one owner for the whole map.
    Atomic,
}

/// A kind's merge semantics, asked by the path of the value in question
/// (from the object's root; `[Field("spec"), Field("ports"), Item]` is one
/// service port).
pub trait ApplySchema {
    /// How the list at `path` merges.
    fn list_type(&self, path: &[Step<'_>]) -> ListType;

    /// How the map or struct at `path` merges.
    fn map_type(&self, path: &[Step<'_>]) -> MapType;

    /// Whether the last step of `path` is an entry of a map with free keys
    /// (`additionalProperties`, `labels`) rather than a declared struct
    /// field. Kubernetes records map entries as owned even when they hold
    /// an object, and declared fields only through their leaves.
    fn is_map_entry(&self, path: &[Step<'_>]) -> bool {
        let _ = path;
        false
    }

    /// Whether a new object starts from a typed zero value in which every
    /// struct is present but empty (built-in kinds, decoded into Go
    /// structs), rather than from `{}` (custom resources). It decides
    /// whether a create owns `spec` itself (`".": {}`) or only its fields.
    fn structs_start_present(&self) -> bool {
        false
    }
}

/// A schema that knows nothing: lists are atomic, maps granular (what
/// Kubernetes assumes for fields without schema).
#[derive(Clone, Copy, Debug, Default)]
pub struct UntypedSchema;

impl ApplySchema for UntypedSchema {
    fn list_type(&self, _path: &[Step<'_>]) -> ListType {
        ListType::Atomic
    }

    fn map_type(&self, _path: &[Step<'_>]) -> MapType {
        MapType::Granular
    }

    fn is_map_entry(&self, _path: &[Step<'_>]) -> bool {
        true
    }
}
