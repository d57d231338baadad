//! Field paths: the steps from an object's root to one of its fields
//! (`.spec.containers[name="c"].image`), their total order, their
//! human-readable form (used in conflict messages) and the `f:`/`k:`/`v:`/`i:`
//! strings that name them in `fieldsV1`.

use std::cmp::Ordering;
use std::fmt;

use serde_json::{Map, Value};

use super::ApplyError;
use super::gojson;

/// One step of a [`Path`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PathElement {
    /// A field of a map or struct (`f:name`).
    Field(String),
    /// The item of an associative list whose key fields have these values,
    /// sorted by field name (`k:{"name":"c"}`).
    Key(Vec<(String, Value)>),
    /// The item of a set list with this value (`v:"a"`).
    Value(Value),
    /// An item by position (`i:0`); Kubernetes' field sets never use it for
    /// lists with keys, it is kept only to read entries written elsewhere.
    Index(usize),
}

/// A sequence of [`PathElement`]s from the object's root.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Path(pub Vec<PathElement>);

impl PathElement {
    /// A field step.
    pub fn field(name: &str) -> Self {
        PathElement::Field(name.to_owned())
    }

    /// A key step; the fields are sorted by name as Kubernetes keeps them.
    pub fn key(mut fields: Vec<(String, Value)>) -> Self {
        fields.sort_by(|a, b| a.0.cmp(&b.0));
        PathElement::Key(fields)
    }

    /// The `fieldsV1` name of the step (`f:spec`, `k:{"name":"c"}`).
    pub fn to_fields_v1_key(&self) -> String {
        match self {
            PathElement::Field(name) => format!("f:{name}"),
            PathElement::Key(fields) => {
                let mut out = String::from("k:{");
                for (i, (name, value)) in fields.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    gojson::write_string(&mut out, name);
                    out.push(':');
                    out.push_str(&gojson::to_string(value));
                }
                out.push('}');
                out
            }
            PathElement::Value(v) => format!("v:{}", gojson::to_string(v)),
            PathElement::Index(i) => format!("i:{i}"),
        }
    }

    /// Parses a `fieldsV1` name. `Ok(None)` for prefixes this version does
    /// not know, which Kubernetes skips rather than rejects.
    pub fn from_fields_v1_key(s: &str) -> Result<Option<Self>, ApplyError> {
        let bad = |why: &str| ApplyError::InvalidFieldsV1(format!("{why}: {s:?}"));
        let (kind, rest) = match (s.get(..1), s.get(1..2), s.get(2..)) {
            (Some(kind), Some(":"), Some(rest)) => (kind, rest),
            _ => return Err(bad("expected a key of the form <type>:<value>")),
        };
        match kind {
            "f" => Ok(Some(PathElement::Field(rest.to_owned()))),
            "v" => {
                let v: Value = serde_json::from_str(rest).map_err(|_| bad("invalid value"))?;
                Ok(Some(PathElement::Value(v)))
            }
            "k" => {
                let v: Map<String, Value> =
                    serde_json::from_str(rest).map_err(|_| bad("invalid key"))?;
                Ok(Some(PathElement::key(v.into_iter().collect())))
            }
            "i" => rest
                .parse()
                .map(|i| Some(PathElement::Index(i)))
                .map_err(|_| bad("invalid index")),
            _ => Ok(None),
        }
    }

    fn rank(&self) -> u8 {
        match self {
            PathElement::Field(_) => 0,
            PathElement::Key(_) => 1,
            PathElement::Value(_) => 2,
            PathElement::Index(_) => 3,
        }
    }
}

/// Kubernetes' order of path elements (fields, then keys, then values, then
/// indices), which is also the order of names in serialized `fieldsV1`.
impl Ord for PathElement {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (PathElement::Field(a), PathElement::Field(b)) => a.cmp(b),
            (PathElement::Key(a), PathElement::Key(b)) => compare_fields(a, b),
            (PathElement::Value(a), PathElement::Value(b)) => compare_values(a, b),
            (PathElement::Index(a), PathElement::Index(b)) => a.cmp(b),
            _ => self.rank().cmp(&other.rank()),
        }
    }
}

impl PartialOrd for PathElement {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

fn compare_fields(a: &[(String, Value)], b: &[(String, Value)]) -> Ordering {
    for (x, y) in a.iter().zip(b) {
        let c = x.0.cmp(&y.0).then_with(|| compare_values(&x.1, &y.1));
        if c != Ordering::Equal {
            return c;
        }
    }
    a.len().cmp(&b.len())
}

/// The total order Kubernetes gives values: numbers (floats and integers
/// compared numerically, integers after equal floats), strings, booleans,
/// lists, maps, null.
pub(crate) fn compare_values(a: &Value, b: &Value) -> Ordering {
    fn rank(v: &Value) -> u8 {
        match v {
            Value::Number(n) if n.is_f64() => 0,
            Value::Number(_) => 1,
            Value::String(_) => 2,
            Value::Bool(_) => 3,
            Value::Array(_) => 4,
            Value::Object(_) => 5,
            Value::Null => 6,
        }
    }
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            if x.is_f64() || y.is_f64() {
                let (fx, fy) = (x.as_f64().unwrap_or(0.0), y.as_f64().unwrap_or(0.0));
                fx.partial_cmp(&fy)
                    .unwrap_or(Ordering::Equal)
                    .then_with(|| rank(a).cmp(&rank(b)))
            } else if let (Some(ix), Some(iy)) = (x.as_i64(), y.as_i64()) {
                ix.cmp(&iy)
            } else {
                x.as_u64().cmp(&y.as_u64())
            }
        }
        (Value::String(x), Value::String(y)) => x.cmp(y),
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        (Value::Array(x), Value::Array(y)) => {
            for (p, q) in x.iter().zip(y) {
                let c = compare_values(p, q);
                if c != Ordering::Equal {
                    return c;
                }
            }
            x.len().cmp(&y.len())
        }
        (Value::Object(x), Value::Object(y)) => {
            let mut xs: Vec<_> = x.iter().collect();
            let mut ys: Vec<_> = y.iter().collect();
            xs.sort_by(|p, q| p.0.cmp(q.0));
            ys.sort_by(|p, q| p.0.cmp(q.0));
            for (p, q) in xs.iter().zip(&ys) {
                let c = p.0.cmp(q.0).then_with(|| compare_values(p.1, q.1));
                if c != Ordering::Equal {
                    return c;
                }
            }
            xs.len().cmp(&ys.len())
        }
        _ => rank(a).cmp(&rank(b)),
    }
}

/// A value as Kubernetes prints it inside a path (`"c"`, `80`, `true`).
fn value_to_string(v: &Value) -> String {
    match v {
        Value::Null => "null".to_owned(),
        Value::String(s) => go_quote(s),
        Value::Array(items) => {
            let parts: Vec<String> = items.iter().map(value_to_string).collect();
            format!("[{}]", parts.join(","))
        }
        Value::Object(map) => map
            .iter()
            .map(|(k, v)| format!("{k}={}", value_to_string(v)))
            .collect(),
        other => other.to_string(),
    }
}

/// Go's `%q` for the strings that occur in keys.
fn go_quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

impl fmt::Display for PathElement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PathElement::Field(name) => write!(f, ".{name}"),
            PathElement::Key(fields) => {
                let parts: Vec<String> = fields
                    .iter()
                    .map(|(k, v)| format!("{k}={}", value_to_string(v)))
                    .collect();
                write!(f, "[{}]", parts.join(","))
            }
            PathElement::Value(v) => write!(f, "[={}]", value_to_string(v)),
            PathElement::Index(i) => write!(f, "[{i}]"),
        }
    }
}

/// `.spec.containers[name="c"].image`, as Kubernetes prints paths in
/// conflict messages.
impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|pe| write!(f, "{pe}"))
    }
}

impl Path {
    /// A path of field names only (`Path::fields(&["spec", "replicas"])`).
    pub fn fields(names: &[&str]) -> Self {
        Path(names.iter().map(|n| PathElement::field(n)).collect())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap: a panic is a failure
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn apply_path_display_matches_kubernetes() {
        let p = Path(vec![
            PathElement::field("spec"),
            PathElement::field("ports"),
            PathElement::key(vec![
                ("protocol".into(), json!("TCP")),
                ("port".into(), json!(80)),
            ]),
            PathElement::field("name"),
        ]);
        assert_eq!(p.to_string(), r#".spec.ports[port=80,protocol="TCP"].name"#);
        let s = Path(vec![
            PathElement::field("finalizers"),
            PathElement::Value(json!("a")),
        ]);
        assert_eq!(s.to_string(), r#".finalizers[="a"]"#);
    }

    #[test]
    fn apply_path_element_keys_round_trip() {
        for key in [
            "f:spec",
            r#"k:{"containerPort":80,"protocol":"TCP"}"#,
            r#"v:"a""#,
            "v:1",
            "i:3",
        ] {
            let pe = PathElement::from_fields_v1_key(key).unwrap().unwrap();
            assert_eq!(pe.to_fields_v1_key(), key);
        }
        assert_eq!(PathElement::from_fields_v1_key("z:1").unwrap(), None);
        assert!(PathElement::from_fields_v1_key("spec").is_err());
        assert!(PathElement::from_fields_v1_key("k:[1]").is_err());
    }

    #[test]
    fn apply_path_element_order() {
        let mut v = [
            PathElement::Index(1),
            PathElement::Value(json!("a")),
            PathElement::Value(json!(2)),
            PathElement::key(vec![("name".into(), json!("b"))]),
            PathElement::field("z"),
            PathElement::field("a"),
        ];
        v.sort();
        let keys: Vec<String> = v.iter().map(PathElement::to_fields_v1_key).collect();
        assert_eq!(
            keys,
            ["f:a", "f:z", r#"k:{"name":"b"}"#, "v:2", r#"v:"a""#, "i:1"]
        );
    }
}
