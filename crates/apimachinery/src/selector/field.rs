//! Field selectors: `a=b`, `a==b` and `a!=b` terms joined by commas, with
//! `\,`, `\=` and `\\` escaping in values (`k8s.io/apimachinery/pkg/fields`),
//! matched against the field set of an object ([`selectable_fields`]).
//!
//! A field missing from the set reads as the empty string, as in Kubernetes:
//! `status.podIPs=` matches every pod because that label is accepted but
//! never filled in.

mod kinds;

use std::fmt;

pub use kinds::{is_supported_field, selectable_fields};

/// How a [`FieldRequirement`] compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FieldOperator {
    /// `=` or `==`.
    Equals,
    /// `!=`.
    NotEquals,
}

/// One `field=value` or `field!=value` term, with the value unescaped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldRequirement {
    pub field: String,
    pub operator: FieldOperator,
    pub value: String,
}

impl FieldRequirement {
    fn matches(&self, fields: &[(String, String)]) -> bool {
        let have = fields
            .iter()
            .find(|(f, _)| *f == self.field)
            .map_or("", |(_, v)| v.as_str());
        match self.operator {
            FieldOperator::Equals => have == self.value,
            FieldOperator::NotEquals => have != self.value,
        }
    }
}

impl fmt::Display for FieldRequirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let op = match self.operator {
            FieldOperator::Equals => "=",
            FieldOperator::NotEquals => "!=",
        };
        write!(f, "{}{op}{}", self.field, escape_value(&self.value))
    }
}

/// A conjunction of field requirements; the empty selector matches everything.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FieldSelector {
    requirements: Vec<FieldRequirement>,
}

/// Why a field selector was refused. Each message is the one Kubernetes
/// sends back in its 400 BadRequest.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FieldSelectorError {
    /// A term has no `=`, `==` or `!=`.
    #[error("invalid selector: '{selector}'; can't understand '{term}'")]
    Malformed { selector: String, term: String },
    /// A backslash is followed by something other than `\`, `,` or `=`.
    #[error("invalid field selector: invalid escape sequence: {0}")]
    InvalidEscape(String),
    /// A value holds a bare `,` or `=` (Kubernetes prints the character's
    /// code point; this names the character).
    #[error("invalid field selector: unescaped character in value: {0:?}")]
    UnescapedCharacter(char),
    /// The kind cannot be selected by this field.
    #[error("{message}")]
    UnsupportedField { field: String, message: String },
}

impl FieldSelector {
    /// Parses the string syntax of `?fieldSelector=` (`fields.ParseSelector`).
    /// Terms are kept sorted, as Kubernetes sorts them before parsing.
    pub fn parse(selector: &str) -> Result<FieldSelector, FieldSelectorError> {
        let mut terms = split_terms(selector);
        terms.sort_unstable();
        let mut requirements = Vec::new();
        for term in terms {
            if term.is_empty() {
                continue;
            }
            let Some((field, operator, raw)) = split_term(term) else {
                return Err(FieldSelectorError::Malformed {
                    selector: selector.to_string(),
                    term: term.to_string(),
                });
            };
            let value = unescape_value(raw)?;
            // Kubernetes turns a term with neither field nor value into "everything".
            if field.is_empty() && value.is_empty() {
                continue;
            }
            requirements.push(FieldRequirement {
                field: field.to_string(),
                operator,
                value,
            });
        }
        Ok(FieldSelector { requirements })
    }

    /// Checks every field against what the kind supports and rewrites legacy
    /// spellings (a pod's `spec.host` becomes `spec.nodeName`), as the API
    /// server's field label conversion does before matching.
    pub fn convert(&self, group: &str, kind: &str) -> Result<FieldSelector, FieldSelectorError> {
        let mut requirements = Vec::with_capacity(self.requirements.len());
        for r in &self.requirements {
            let field = kinds::convert_label(group, kind, &r.field).map_err(|message| {
                FieldSelectorError::UnsupportedField {
                    field: r.field.clone(),
                    message,
                }
            })?;
            requirements.push(FieldRequirement {
                field: field.to_string(),
                ..r.clone()
            });
        }
        Ok(FieldSelector { requirements })
    }

    pub fn requirements(&self) -> &[FieldRequirement] {
        &self.requirements
    }

    /// The field names the selector mentions.
    pub fn fields(&self) -> impl Iterator<Item = &str> {
        self.requirements.iter().map(|r| r.field.as_str())
    }

    pub fn is_empty(&self) -> bool {
        self.requirements.is_empty()
    }

    /// The value a field must equal, when the selector pins it (useful to
    /// look up pods by `spec.nodeName` without a full scan).
    pub fn requires_exact_match(&self, field: &str) -> Option<&str> {
        self.requirements
            .iter()
            .find(|r| r.field == field && r.operator == FieldOperator::Equals)
            .map(|r| r.value.as_str())
    }

    /// Whether an object's field set (from [`selectable_fields`]) satisfies
    /// every requirement.
    pub fn matches(&self, fields: &[(String, String)]) -> bool {
        self.requirements.iter().all(|r| r.matches(fields))
    }
}

impl fmt::Display for FieldSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, r) in self.requirements.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{r}")?;
        }
        Ok(())
    }
}

impl std::str::FromStr for FieldSelector {
    type Err = FieldSelectorError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        FieldSelector::parse(s)
    }
}

/// Escapes `\`, `,` and `=` so a literal value survives parsing.
pub fn escape_value(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '\\' | ',' | '=') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Reverses [`escape_value`], refusing bare `,` and `=` and unknown escapes.
pub fn unescape_value(s: &str) -> Result<String, FieldSelectorError> {
    let mut out = String::with_capacity(s.len());
    let mut escaped = false;
    for c in s.chars() {
        if escaped {
            if !matches!(c, '\\' | ',' | '=') {
                return Err(FieldSelectorError::InvalidEscape(format!("\\{c}")));
            }
            out.push(c);
            escaped = false;
            continue;
        }
        match c {
            '\\' => escaped = true,
            ',' | '=' => return Err(FieldSelectorError::UnescapedCharacter(c)),
            c => out.push(c),
        }
    }
    if escaped {
        return Err(FieldSelectorError::InvalidEscape("\\".to_string()));
    }
    Ok(out)
}

/// Splits at commas that are not escaped; escapes stay in the terms.
fn split_terms(s: &str) -> Vec<&str> {
    if s.is_empty() {
        return Vec::new();
    }
    let mut terms = Vec::new();
    let mut start = 0;
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        if escaped {
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == ',' {
            terms.push(&s[start..i]);
            start = i + 1;
        }
    }
    terms.push(&s[start..]);
    terms
}

/// Splits at the first operator; `!=` and `==` win over `=` at the same spot.
fn split_term(term: &str) -> Option<(&str, FieldOperator, &str)> {
    const OPERATORS: [(&str, FieldOperator); 3] = [
        ("!=", FieldOperator::NotEquals),
        ("==", FieldOperator::Equals),
        ("=", FieldOperator::Equals),
    ];
    for (i, _) in term.char_indices() {
        let rest = &term[i..];
        for (op, operator) in OPERATORS {
            if let Some(value) = rest.strip_prefix(op) {
                return Some((&term[..i], operator, value));
            }
        }
    }
    None
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap: a panic is a failure
mod tests {
    use super::*;

    fn set(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn selector_field_operators() {
        let fields = set(&[("metadata.name", "web"), ("status.phase", "Running")]);
        assert!(
            FieldSelector::parse("metadata.name=web")
                .unwrap()
                .matches(&fields)
        );
        assert!(
            FieldSelector::parse("metadata.name==web")
                .unwrap()
                .matches(&fields)
        );
        assert!(
            !FieldSelector::parse("metadata.name=db")
                .unwrap()
                .matches(&fields)
        );
        assert!(
            FieldSelector::parse("metadata.name!=db")
                .unwrap()
                .matches(&fields)
        );
        assert!(
            !FieldSelector::parse("metadata.name!=web")
                .unwrap()
                .matches(&fields)
        );
        assert!(
            FieldSelector::parse("metadata.name=web,status.phase!=Pending")
                .unwrap()
                .matches(&fields)
        );
        assert!(
            !FieldSelector::parse("metadata.name=web,status.phase=Pending")
                .unwrap()
                .matches(&fields)
        );
    }

    #[test]
    fn selector_field_missing_field_reads_empty() {
        let fields = set(&[("metadata.name", "web")]);
        assert!(
            FieldSelector::parse("spec.nodeName=")
                .unwrap()
                .matches(&fields)
        );
        assert!(
            !FieldSelector::parse("spec.nodeName!=")
                .unwrap()
                .matches(&fields)
        );
        assert!(
            !FieldSelector::parse("spec.nodeName=n1")
                .unwrap()
                .matches(&fields)
        );
    }

    #[test]
    fn selector_field_empty_selects_everything() {
        for s in ["", ",", ",,", "="] {
            let sel = FieldSelector::parse(s).unwrap();
            assert!(sel.is_empty(), "{s}");
            assert!(sel.matches(&[]));
        }
    }

    #[test]
    fn selector_field_escaping() {
        let sel = FieldSelector::parse(r"metadata.name=a\,b\=c\\d").unwrap();
        assert_eq!(sel.requirements()[0].value, r"a,b=c\d");
        assert!(sel.matches(&set(&[("metadata.name", r"a,b=c\d")])));
        assert_eq!(sel.to_string(), r"metadata.name=a\,b\=c\\d");
        assert_eq!(escape_value(r"x=y,z\"), r"x\=y\,z\\");
        assert_eq!(unescape_value(&escape_value("a,=\\b")).unwrap(), "a,=\\b");
        // An escaped comma does not split terms.
        assert_eq!(
            FieldSelector::parse(r"a=x\,b\=y")
                .unwrap()
                .requirements()
                .len(),
            1
        );
    }

    #[test]
    fn selector_field_parse_errors() {
        assert_eq!(
            FieldSelector::parse("metadata.name")
                .unwrap_err()
                .to_string(),
            "invalid selector: 'metadata.name'; can't understand 'metadata.name'"
        );
        assert_eq!(
            FieldSelector::parse("a=b,oops").unwrap_err().to_string(),
            "invalid selector: 'a=b,oops'; can't understand 'oops'"
        );
        assert_eq!(
            FieldSelector::parse(r"a=b\x").unwrap_err().to_string(),
            r"invalid field selector: invalid escape sequence: \x"
        );
        assert_eq!(
            FieldSelector::parse(r"a=b\").unwrap_err().to_string(),
            r"invalid field selector: invalid escape sequence: \"
        );
        assert_eq!(
            FieldSelector::parse("a=b=c").unwrap_err(),
            FieldSelectorError::UnescapedCharacter('=')
        );
        assert_eq!(
            FieldSelector::parse("a=b=c").unwrap_err().to_string(),
            "invalid field selector: unescaped character in value: '='"
        );
    }

    #[test]
    fn selector_field_terms_sorted_and_displayed() {
        let sel = FieldSelector::parse("status.phase!=Failed,metadata.name==web").unwrap();
        assert_eq!(sel.to_string(), "metadata.name=web,status.phase!=Failed");
        assert_eq!(
            sel.fields().collect::<Vec<_>>(),
            ["metadata.name", "status.phase"]
        );
        assert_eq!(sel.requires_exact_match("metadata.name"), Some("web"));
        assert_eq!(sel.requires_exact_match("status.phase"), None);
    }

    #[test]
    fn selector_field_whitespace_is_part_of_names() {
        // Kubernetes does not trim field selector terms.
        let sel = FieldSelector::parse("metadata.name = web").unwrap();
        assert_eq!(sel.requirements()[0].field, "metadata.name ");
        assert_eq!(sel.requirements()[0].value, " web");
    }

    #[test]
    fn selector_field_convert_checks_and_renames() {
        let sel = FieldSelector::parse("spec.host=n1")
            .unwrap()
            .convert("", "Pod")
            .unwrap();
        assert_eq!(sel.to_string(), "spec.nodeName=n1");
        let e = FieldSelector::parse("spec.foo=1")
            .unwrap()
            .convert("", "Pod")
            .unwrap_err();
        assert_eq!(e.to_string(), "field label not supported: spec.foo");
        let e = FieldSelector::parse("status.replicas=1")
            .unwrap()
            .convert("apps", "ReplicaSet")
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "\"status.replicas\" is not a known field selector: only \"metadata.name\", \"metadata.namespace\""
        );
        let e = FieldSelector::parse("spec.x=1")
            .unwrap()
            .convert("batch", "Job")
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "field label \"spec.x\" not supported for batchv1.Job"
        );
        assert!(
            FieldSelector::parse("status.successful=1")
                .unwrap()
                .convert("batch", "Job")
                .is_ok()
        );
    }
}
