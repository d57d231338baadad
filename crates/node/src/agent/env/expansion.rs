//! `$(VAR)` references, expanded as the kubelet expands env values,
//! `command` and `args` (Kubernetes' fork of Go's `os.Expand`): `$$` is a
//! literal `$`, a reference to an unknown name and an unclosed `$(` stay
//! as written, and any other `$` is kept with the character after it.

/// `input` with each `$(NAME)` replaced by what `lookup` gives for NAME.
pub fn expand_with<'v>(input: &str, lookup: impl Fn(&str) -> Option<&'v str>) -> String {
    let mut out = String::with_capacity(input.len());
    let mut rest = input;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        match after.chars().next() {
            // A `$` that ends the input is plain text.
            None => {
                out.push('$');
                rest = after;
            }
            Some('$') => {
                out.push('$');
                rest = &after[1..];
            }
            Some('(') => match after[1..].find(')') {
                Some(close) => {
                    let name = &after[1..1 + close];
                    match lookup(name) {
                        Some(value) => out.push_str(value),
                        None => {
                            out.push_str("$(");
                            out.push_str(name);
                            out.push(')');
                        }
                    }
                    rest = &after[close + 2..];
                }
                // Only the `$(` is consumed: a reference may still start
                // inside the unclosed text.
                None => {
                    out.push_str("$(");
                    rest = &after[1..];
                }
            },
            // Kubernetes copies the byte after the `$` as if it were a
            // Latin-1 character, which mangles a multi-byte character; the
            // character is kept whole here.
            Some(c) => {
                out.push('$');
                out.push(c);
                rest = &after[c.len_utf8()..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// `s` expanded against a container's `NAME=value` environment, as the
/// kubelet expands `command` and `args` (a later duplicate name wins).
pub fn expand(s: &str, env: &[String]) -> String {
    let vars: std::collections::HashMap<&str, &str> = env.iter().filter_map(|e| e.split_once('=')).collect();
    expand_with(s, |name| vars.get(name).copied())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(input: &str, vars: &[(&str, &str)]) -> String {
        expand_with(input, |n| vars.iter().find(|(k, _)| *k == n).map(|(_, v)| *v))
    }

    #[test]
    fn references_escapes_and_leftovers() {
        let vars = [("VAR_A", "A"), ("VAR_B", "B"), ("EMPTY", "")];
        let cases = [
            ("$(VAR_A)", "A"),
            ("___$(VAR_A)___", "___A___"),
            ("$(VAR_A)-$(VAR_B)", "A-B"),
            ("$(VAR_A)$(VAR_B)", "AB"),
            ("x$(EMPTY)y", "xy"),
            ("$(UNKNOWN)", "$(UNKNOWN)"),
            ("$()", "$()"),
            ("$$(VAR_A)", "$(VAR_A)"),
            ("$$$(VAR_A)", "$A"),
            ("$$$$(VAR_A)", "$$(VAR_A)"),
            ("$$", "$"),
            ("$", "$"),
            ("a$", "a$"),
            ("$VAR_A", "$VAR_A"),
            ("$x$(VAR_A)", "$xA"),
            ("$(VAR_A", "$(VAR_A"),
            // The name runs to the first `)`.
            ("$($(VAR_A)", "$($(VAR_A)"),
            ("$(VAR_A$(VAR_B))", "$(VAR_A$(VAR_B))"),
            ("(VAR_A)", "(VAR_A)"),
            ("$é$(VAR_A)", "$éA"),
            ("", ""),
        ];
        for (input, want) in cases {
            assert_eq!(with(input, &vars), want, "{input:?}");
        }
    }

    #[test]
    fn expand_uses_the_last_definition_of_a_name() {
        let env = vec!["A=1".to_string(), "B=x=y".to_string(), "A=2".to_string()];
        assert_eq!(expand("$(A) $(B) $(C)", &env), "2 x=y $(C)");
    }
}
