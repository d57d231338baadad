//! JSON text written the way Go's `encoding/json` writes it: object keys
//! sorted, `<`, `>` and `&` escaped. Kubernetes' field paths (`k:{"name":"c"}`)
//! and the last-applied annotation are byte strings produced by Go, so two
//! servers agree on them only when the escaping agrees too.

use std::fmt::Write;

use serde_json::Value;

/// `value` as compact JSON, objects' keys sorted as Go sorts map keys.
pub(crate) fn to_string(value: &Value) -> String {
    let mut out = String::new();
    write_value(&mut out, value);
    out
}

fn write_value(out: &mut String, value: &Value) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::String(s) => write_string(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(out, item);
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(out, key);
                out.push(':');
                if let Some(v) = map.get(key) {
                    write_value(out, v);
                }
            }
            out.push('}');
        }
    }
}

/// A JSON string literal with Go's escapes (HTML-safe).
pub(crate) fn write_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn apply_gojson_sorts_keys_and_escapes_html() {
        let v = json!({"b": 1, "a": "<x&y>\n", "c": [true, null, 1.5]});
        assert_eq!(
            to_string(&v),
            r#"{"a":"\u003cx\u0026y\u003e\n","b":1,"c":[true,null,1.5]}"#
        );
    }
}
