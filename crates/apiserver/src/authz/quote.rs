//! Go's `%q` formatting, which Kubernetes' RBAC messages use for names,
//! verbs and lists; clients match on these strings, so they must agree to
//! the byte.

/// A string as Go's `strconv.Quote` prints it.
pub fn quote(s: &str) -> String {
    apimachinery::validation::go_quote(s)
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
