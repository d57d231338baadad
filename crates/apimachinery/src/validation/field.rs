//! Field-level validation errors worded exactly as Kubernetes' `field.Error`.
//!
//! Kubernetes renders the offending value with Go's `fmt`: strings quoted
//! (`%q`), numbers and booleans bare, anything else as a Go literal (`%#v`).
//! `value` keeps the JSON value; when the Go literal cannot be derived from
//! JSON alone (a `map[string]string`, a `v1.LabelSelector`, an
//! `intstr.IntOrString`) the constructors in this module store the exact Go
//! text as `{"$go": "<text>"}`, which [`FieldError::message`] prints verbatim.

use std::fmt;

use serde_json::{Map, Value};

/// The key of a JSON object that carries a pre-rendered Go literal.
pub(crate) const GO_REPR_KEY: &str = "$go";

/// What went wrong with a field (Kubernetes' `field.ErrorType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FieldErrorKind {
    Required,
    Invalid,
    /// A value of the wrong type (`field.TypeInvalid`): printed like
    /// `Invalid`, with its own reason.
    TypeInvalid,
    NotSupported,
    Duplicate,
    Forbidden,
    TooLong,
    TooMany,
    NotFound,
}

impl FieldErrorKind {
    /// The `StatusCause.reason` / `field.ErrorType` string.
    pub fn reason(self) -> &'static str {
        match self {
            FieldErrorKind::Required => "FieldValueRequired",
            FieldErrorKind::Invalid => "FieldValueInvalid",
            FieldErrorKind::TypeInvalid => "FieldValueTypeInvalid",
            FieldErrorKind::NotSupported => "FieldValueNotSupported",
            FieldErrorKind::Duplicate => "FieldValueDuplicate",
            FieldErrorKind::Forbidden => "FieldValueForbidden",
            FieldErrorKind::TooLong => "FieldValueTooLong",
            FieldErrorKind::TooMany => "FieldValueTooMany",
            FieldErrorKind::NotFound => "FieldValueNotFound",
        }
    }

    /// The human text Kubernetes prints for the kind (`ErrorType.String()`).
    pub fn text(self) -> &'static str {
        match self {
            FieldErrorKind::Required => "Required value",
            FieldErrorKind::Invalid | FieldErrorKind::TypeInvalid => "Invalid value",
            FieldErrorKind::NotSupported => "Unsupported value",
            FieldErrorKind::Duplicate => "Duplicate value",
            FieldErrorKind::Forbidden => "Forbidden",
            FieldErrorKind::TooLong => "Too long",
            FieldErrorKind::TooMany => "Too many",
            FieldErrorKind::NotFound => "Not found",
        }
    }
}

/// One validation failure of one field.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldError {
    pub kind: FieldErrorKind,
    /// The field path as Kubernetes prints it, e.g. `spec.template.spec.containers[0].image`.
    pub field: String,
    /// The offending value; `None` when Kubernetes omits it from the message.
    pub value: Option<Value>,
    pub detail: String,
}

impl FieldError {
    pub fn reason(&self) -> &str {
        self.kind.reason()
    }

    /// The message without the field name (`field.Error.ErrorBody()`); this
    /// is what goes into `Status.details.causes[].message`.
    pub fn body(&self) -> String {
        let mut s = match self.kind {
            FieldErrorKind::Required | FieldErrorKind::Forbidden | FieldErrorKind::TooLong => {
                self.kind.text().to_string()
            }
            _ => match &self.value {
                None => self.kind.text().to_string(),
                Some(v) => format!("{}: {}", self.kind.text(), render_value(v)),
            },
        };
        if !self.detail.is_empty() {
            s.push_str(": ");
            s.push_str(&self.detail);
        }
        s
    }

    /// Exactly Kubernetes' `field.Error.Error()` text.
    pub fn message(&self) -> String {
        format!("{}: {}", self.field, self.body())
    }

    pub fn required(path: &Path, detail: impl Into<String>) -> Self {
        Self::new(
            FieldErrorKind::Required,
            path,
            Some(Value::String(String::new())),
            detail,
        )
    }

    pub fn invalid(path: &Path, value: impl Into<Value>, detail: impl Into<String>) -> Self {
        Self::new(FieldErrorKind::Invalid, path, Some(value.into()), detail)
    }

    pub fn type_invalid(path: &Path, value: impl Into<Value>, detail: impl Into<String>) -> Self {
        Self::new(FieldErrorKind::TypeInvalid, path, Some(value.into()), detail)
    }

    /// `supported` is printed in the given order, each quoted.
    pub fn not_supported<S: AsRef<str>>(
        path: &Path,
        value: impl Into<Value>,
        supported: &[S],
    ) -> Self {
        let detail = if supported.is_empty() {
            String::new()
        } else {
            let quoted: Vec<String> = supported.iter().map(|s| go_quote(s.as_ref())).collect();
            format!("supported values: {}", quoted.join(", "))
        };
        Self::new(
            FieldErrorKind::NotSupported,
            path,
            Some(value.into()),
            detail,
        )
    }

    pub fn duplicate(path: &Path, value: impl Into<Value>) -> Self {
        Self::new(FieldErrorKind::Duplicate, path, Some(value.into()), "")
    }

    pub fn forbidden(path: &Path, detail: impl Into<String>) -> Self {
        Self::new(
            FieldErrorKind::Forbidden,
            path,
            Some(Value::String(String::new())),
            detail,
        )
    }

    pub fn too_long(path: &Path, max_bytes: usize) -> Self {
        Self::new(
            FieldErrorKind::TooLong,
            path,
            Some(Value::String("<value omitted>".into())),
            format!("may not be more than {max_bytes} bytes"),
        )
    }

    pub fn too_many(path: &Path, actual: usize, max: usize) -> Self {
        Self::new(
            FieldErrorKind::TooMany,
            path,
            Some(Value::from(actual)),
            format!("must have at most {max} items"),
        )
    }

    pub fn not_found(path: &Path, value: impl Into<Value>) -> Self {
        Self::new(FieldErrorKind::NotFound, path, Some(value.into()), "")
    }

    fn new(
        kind: FieldErrorKind,
        path: &Path,
        value: Option<Value>,
        detail: impl Into<String>,
    ) -> Self {
        FieldError {
            kind,
            field: path.to_string(),
            value,
            detail: detail.into(),
        }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message())
    }
}

impl std::error::Error for FieldError {}

/// A field path built like Kubernetes' `field.Path`: children joined by `.`,
/// list indexes and map keys in brackets (`spec.containers[0]`, `data[tls.crt]`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Path(String);

impl Path {
    pub fn new(root: &str) -> Self {
        Path(root.to_string())
    }

    pub fn child(&self, name: &str) -> Path {
        if self.0.is_empty() {
            Path(name.to_string())
        } else {
            Path(format!("{}.{}", self.0, name))
        }
    }

    pub fn index(&self, i: usize) -> Path {
        Path(format!("{}[{}]", self.0, i))
    }

    pub fn key(&self, k: &str) -> Path {
        Path(format!("{}[{}]", self.0, k))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The message of an `Invalid` API error (`apierrors.NewInvalid`), e.g.
/// `Deployment.apps "web" is invalid: spec.replicas: Invalid value: -1: ...`;
/// several errors are bracketed and comma-separated, duplicates dropped.
pub fn invalid_message(group: &str, kind: &str, name: &str, errs: &[FieldError]) -> String {
    let qualified = if group.is_empty() {
        kind.to_string()
    } else {
        format!("{kind}.{group}")
    };
    let mut msgs: Vec<String> = Vec::new();
    for e in errs {
        let m = e.message();
        if !msgs.contains(&m) {
            msgs.push(m);
        }
    }
    match msgs.len() {
        0 => format!("{qualified} {} is invalid", go_quote(name)),
        1 => format!("{qualified} {} is invalid: {}", go_quote(name), msgs[0]),
        _ => format!(
            "{qualified} {} is invalid: [{}]",
            go_quote(name),
            msgs.join(", ")
        ),
    }
}

/// A value that prints as the given Go literal.
pub(crate) fn go_repr(text: impl Into<String>) -> Value {
    let mut m = Map::new();
    m.insert(GO_REPR_KEY.to_string(), Value::String(text.into()));
    Value::Object(m)
}

/// Go's `%#v` of a `map[string]string` (absent map prints as the nil map).
pub(crate) fn go_string_map(v: Option<&Value>) -> Value {
    go_repr(go_string_map_text(v))
}

pub(crate) fn go_string_map_text(v: Option<&Value>) -> String {
    match v.and_then(Value::as_object) {
        None => "map[string]string(nil)".to_string(),
        Some(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let items: Vec<String> = keys
                .iter()
                .map(|k| {
                    format!(
                        "{}:{}",
                        go_quote(k),
                        go_quote(m[*k].as_str().unwrap_or_default())
                    )
                })
                .collect();
            format!("map[string]string{{{}}}", items.join(", "))
        }
    }
}

/// Go's `%#v` of a `[]string` (absent list prints as the nil slice).
pub(crate) fn go_string_slice_text(v: Option<&Value>) -> String {
    match v.and_then(Value::as_array) {
        None => "[]string(nil)".to_string(),
        Some(a) => {
            let items: Vec<String> = a
                .iter()
                .map(|s| go_quote(s.as_str().unwrap_or_default()))
                .collect();
            format!("[]string{{{}}}", items.join(", "))
        }
    }
}

/// Go's `%#v` of an `intstr.IntOrString`.
pub(crate) fn go_int_or_string(v: &Value) -> Value {
    match v {
        Value::String(s) => go_repr(format!(
            "intstr.IntOrString{{Type:1, IntVal:0, StrVal:{}}}",
            go_quote(s)
        )),
        other => go_repr(format!(
            "intstr.IntOrString{{Type:0, IntVal:{}, StrVal:\"\"}}",
            other.as_i64().unwrap_or_default()
        )),
    }
}

fn render_value(v: &Value) -> String {
    match v {
        Value::Null => "null".to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => render_number(n),
        Value::String(s) => go_quote(s),
        Value::Object(m) if m.len() == 1 && m.contains_key(GO_REPR_KEY) => {
            m[GO_REPR_KEY].as_str().unwrap_or_default().to_string()
        }
        other => serde_json::to_string(other).unwrap_or_default(),
    }
}

fn render_number(n: &serde_json::Number) -> String {
    if let Some(i) = n.as_i64() {
        return i.to_string();
    }
    if let Some(u) = n.as_u64() {
        return u.to_string();
    }
    match n.as_f64() {
        // Go's %v prints integral floats without a fraction and large ones in e-notation.
        Some(f) if f.fract() == 0.0 && f.abs() < 1e21 => format!("{f:.0}"),
        Some(f) if f.abs() >= 1e21 => {
            let s = format!("{f:e}");
            match s.split_once('e') {
                Some((m, e)) if !e.starts_with('-') => format!("{m}e+{e:0>2}"),
                _ => s,
            }
        }
        Some(f) => f.to_string(),
        None => n.to_string(),
    }
}

/// Go's `strconv.Quote`, which Kubernetes' messages use for names and
/// values; clients match on these strings, so they must agree to the byte.
pub fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c if is_go_printable(c) => out.push(c),
            c if (c as u32) < 0x10000 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push_str(&format!("\\U{:08x}", c as u32)),
        }
    }
    out.push('"');
    out
}

fn is_go_printable(c: char) -> bool {
    // Close to Go's unicode.IsPrint: letters, marks, numbers, punctuation,
    // symbols and the ASCII space; C1 controls and other spaces are escaped.
    let u = c as u32;
    if (0x80..0xa0).contains(&u) {
        return false;
    }
    if c == ' ' {
        return true;
    }
    !c.is_whitespace()
        && !c.is_control()
        && !matches!(u, 0x200b..=0x200f | 0x2028..=0x202e | 0x2060..=0x2064 | 0xfeff | 0xfff9..=0xfffb)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn validation_field_messages_match_kubernetes() {
        let p = Path::new("spec")
            .child("template")
            .child("spec")
            .child("containers")
            .index(0)
            .child("image");
        assert_eq!(
            FieldError::required(&p, "").message(),
            "spec.template.spec.containers[0].image: Required value"
        );
        let e = FieldError::invalid(
            &Path::new("spec").child("replicas"),
            -1,
            "must be greater than or equal to 0",
        );
        assert_eq!(
            e.message(),
            "spec.replicas: Invalid value: -1: must be greater than or equal to 0"
        );
        assert_eq!(e.reason(), "FieldValueInvalid");
        let e = FieldError::not_supported(
            &Path::new("spec").child("type"),
            "Foo",
            &["ClusterIP", "NodePort"],
        );
        assert_eq!(
            e.message(),
            "spec.type: Unsupported value: \"Foo\": supported values: \"ClusterIP\", \"NodePort\""
        );
        let e = FieldError::too_long(&Path::new("metadata").child("annotations"), 262144);
        assert_eq!(
            e.message(),
            "metadata.annotations: Too long: may not be more than 262144 bytes"
        );
        let e = FieldError::too_many(&Path::new("endpoints"), 1001, 1000);
        assert_eq!(
            e.message(),
            "endpoints: Too many: 1001: must have at most 1000 items"
        );
        let e = FieldError::forbidden(&Path::new("spec"), "nope");
        assert_eq!(e.message(), "spec: Forbidden: nope");
        let e = FieldError::duplicate(&Path::new("a").key("x.y"), "n");
        assert_eq!(e.message(), "a[x.y]: Duplicate value: \"n\"");
        let e = FieldError::not_found(&Path::new("v"), "x");
        assert_eq!(e.message(), "v: Not found: \"x\"");
    }

    #[test]
    fn validation_field_go_renderings() {
        let labels = json!({"tier": "web", "app": "nginx"});
        let e = FieldError::invalid(&Path::new("l"), go_string_map(Some(&labels)), "d");
        assert_eq!(
            e.message(),
            "l: Invalid value: map[string]string{\"app\":\"nginx\", \"tier\":\"web\"}: d"
        );
        assert_eq!(go_string_map_text(None), "map[string]string(nil)");
        assert_eq!(go_quote("a\"b\n\u{1}é"), "\"a\\\"b\\n\\x01é\"");
        let e = FieldError::invalid(&Path::new("x"), go_int_or_string(&json!("abc")), "d");
        assert_eq!(
            e.body(),
            "Invalid value: intstr.IntOrString{Type:1, IntVal:0, StrVal:\"abc\"}: d"
        );
        assert_eq!(render_value(&json!(1.5)), "1.5");
        assert_eq!(render_value(&json!(true)), "true");
    }

    #[test]
    fn validation_field_invalid_message_aggregates() {
        let a = FieldError::required(&Path::new("spec").child("selector"), "");
        let b = FieldError::invalid(
            &Path::new("spec").child("replicas"),
            -1,
            "must be greater than or equal to 0",
        );
        assert_eq!(
            invalid_message(
                "apps",
                "Deployment",
                "web",
                &[a.clone(), b.clone(), a.clone()]
            ),
            "Deployment.apps \"web\" is invalid: [spec.selector: Required value, spec.replicas: Invalid value: -1: must be greater than or equal to 0]"
        );
        assert_eq!(
            invalid_message("", "Pod", "p", &[a]),
            "Pod \"p\" is invalid: spec.selector: Required value"
        );
    }
}
