//! Go's `%q` formatting, which Kubernetes' RBAC messages use for names,
//! verbs and lists; clients match on these strings, so they must agree to
//! the byte.

use std::fmt::Write;

/// A string as Go's `strconv.Quote` prints it.
pub fn quote(s: &str) -> String {
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
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            // Go prints only the ASCII space among the spaces; the other
            // invisible runes are escaped.
            c if c.is_control() || (c.is_whitespace() && c != ' ') => {
                if (c as u32) < 0x10000 {
                    let _ = write!(out, "\\u{:04x}", c as u32);
                } else {
                    let _ = write!(out, "\\U{:08x}", c as u32);
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A list of strings as Go's `%q` prints a `[]string`: `["a" "b"]`.
pub fn quote_list<S: AsRef<str>>(items: &[S]) -> String {
    let quoted: Vec<String> = items.iter().map(|s| quote(s.as_ref())).collect();
    format!("[{}]", quoted.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authz_quote_like_go() {
        assert_eq!(quote("alice"), "\"alice\"");
        assert_eq!(quote(""), "\"\"");
        assert_eq!(quote("a\"b\\c\nd\te"), "\"a\\\"b\\\\c\\nd\\te\"");
        assert_eq!(quote("\u{1}"), "\"\\x01\"");
        assert_eq!(quote("\u{a0}"), "\"\\u00a0\"");
        assert_eq!(quote("日本"), "\"日本\"");
    }

    #[test]
    fn authz_quote_list_like_go() {
        assert_eq!(quote_list::<&str>(&[]), "[]");
        assert_eq!(quote_list(&["system:authenticated"]), "[\"system:authenticated\"]");
        assert_eq!(quote_list(&["", "pods"]), "[\"\" \"pods\"]");
    }
}
