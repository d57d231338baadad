//! The shapes of the generated wire schema (`schema.rs`): messages, fields, kinds.

/// One protobuf message: its fully-qualified proto name and fields by tag.
#[derive(Debug)]
pub struct Message {
    pub name: &'static str,
    /// Sorted by tag.
    pub fields: &'static [Field],
}

impl Message {
    pub fn field(&self, tag: u32) -> Option<&'static Field> {
        self.fields
            .binary_search_by_key(&tag, |f| f.tag)
            .ok()
            .map(|i| &self.fields[i])
    }
}

/// One field: its tag, JSON name, wire kind and flags.
#[derive(Debug)]
pub struct Field {
    pub tag: u32,
    /// The JSON name (for inline fields, only a label).
    pub name: &'static str,
    pub kind: Kind,
    pub flags: u8,
}

/// The field may occur many times; its JSON is an array.
pub const REPEATED: u8 = 1;
/// Go keeps this field's zero value: it is a pointer (on the wire only when
/// set) or lacks `omitempty`.
pub const KEEP_ZERO: u8 = 2;
/// An embedded struct (`json:",inline"`): its fields go into the parent object.
pub const INLINE: u8 = 4;

impl Field {
    pub const fn new(tag: u32, name: &'static str, kind: Kind, flags: u8) -> Self {
        Self {
            tag,
            name,
            kind,
            flags,
        }
    }

    pub fn repeated(&self) -> bool {
        self.flags & REPEATED != 0
    }

    pub fn keep_zero(&self) -> bool {
        self.flags & KEEP_ZERO != 0
    }

    pub fn inline(&self) -> bool {
        self.flags & INLINE != 0
    }
}

/// What a field holds on the wire and how it becomes JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Str,
    Bool,
    I32,
    I64,
    F64,
    /// Base64 in JSON.
    Bytes,
    /// A message, by index into `MESSAGES`.
    Msg(u16),
    /// `map<string, V>`: repeated entries {1: key, 2: value}.
    Map(&'static Kind),
    /// meta/v1 Time {1: seconds}: RFC 3339 in seconds.
    Time,
    /// meta/v1 MicroTime {1: seconds, 2: nanos}: RFC 3339 in microseconds.
    MicroTime,
    /// meta/v1 Duration {1: nanoseconds}: Go's duration string.
    #[allow(
        dead_code,
        reason = "no field of the covered groups is a Duration today; a regenerated table may use it"
    )]
    Duration,
    /// resource.Quantity {1: string}: the string.
    Quantity,
    /// intstr.IntOrString {1: type, 2: intVal, 3: strVal}: a number or a string.
    IntOrString,
    /// RawExtension, FieldsV1, apiextensions JSON {1: raw}: the embedded JSON.
    RawJson,
    /// A Go `[]string` wrapped in a message {1: items} (Verbs, ExtraValue).
    StringList,
    /// JSONSchemaPropsOrArray {1: schema, 2: schemas}: an array or a schema.
    SchemaOrArray(u16),
    /// JSONSchemaPropsOrBool {1: allows, 2: schema}: a schema or a bool.
    SchemaOrBool(u16),
    /// JSONSchemaPropsOrStringArray {1: schema, 2: property}: strings or a schema.
    SchemaOrStrings(u16),
}
