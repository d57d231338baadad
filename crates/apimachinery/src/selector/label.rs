//! Label selectors: parsed from the string syntax (`app=web,tier notin (db)`)
//! or built from a structured `metav1.LabelSelector`, matched against an
//! object's labels, and printed back in canonical form (the form the scale
//! subresource reports in `status.selector`).
//!
//! Two selectors that select nothing and everything exist, as in Kubernetes:
//! a missing or `null` structured selector selects nothing, an empty one
//! (`{}`) or an empty string selects everything.

mod parse;

use std::fmt;

use serde_json::{Map, Value};

use crate::validation::field::{FieldError, Path};
use crate::validation::format::{is_qualified_name, is_valid_label_value};

/// The relation a [`Requirement`] checks between a label and its values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operator {
    In,
    NotIn,
    Equals,
    DoubleEquals,
    NotEquals,
    Exists,
    DoesNotExist,
    GreaterThan,
    LessThan,
}

impl Operator {
    /// Kubernetes' name of the operator (`selection.Operator`).
    pub fn as_str(self) -> &'static str {
        match self {
            Operator::In => "in",
            Operator::NotIn => "notin",
            Operator::Equals => "=",
            Operator::DoubleEquals => "==",
            Operator::NotEquals => "!=",
            Operator::Exists => "exists",
            Operator::DoesNotExist => "!",
            Operator::GreaterThan => "gt",
            Operator::LessThan => "lt",
        }
    }
}

/// One condition of a selector: a label key, an operator and its values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirement {
    key: String,
    operator: Operator,
    values: Vec<String>,
}

impl Requirement {
    /// Builds a requirement with Kubernetes' `labels.NewRequirement` checks;
    /// errors carry the field paths Kubernetes uses (`key`, `values[0][app]`).
    pub fn new(
        key: &str,
        operator: Operator,
        values: Vec<String>,
    ) -> Result<Requirement, LabelSelectorError> {
        let errs = validate_requirement(key, operator, &values, &Path::default());
        if errs.is_empty() {
            Ok(Requirement {
                key: key.to_string(),
                operator,
                values,
            })
        } else {
            Err(LabelSelectorError::Invalid(errs))
        }
    }

    pub fn key(&self) -> &str {
        &self.key
    }

    pub fn operator(&self) -> Operator {
        self.operator
    }

    /// The values in the order they were given (sorted and deduplicated when
    /// they came from the string syntax).
    pub fn values(&self) -> &[String] {
        &self.values
    }

    pub fn matches(&self, labels: Option<&Map<String, Value>>) -> bool {
        let label = labels.and_then(|l| l.get(&self.key));
        // A label that is not a string cannot equal any value; it still exists.
        let text = label.and_then(Value::as_str);
        let has_value = || text.is_some_and(|t| self.values.iter().any(|v| v == t));
        match self.operator {
            Operator::In | Operator::Equals | Operator::DoubleEquals => {
                label.is_some() && has_value()
            }
            Operator::NotIn | Operator::NotEquals => label.is_none() || !has_value(),
            Operator::Exists => label.is_some(),
            Operator::DoesNotExist => label.is_none(),
            Operator::GreaterThan | Operator::LessThan => {
                let Some(have) = text.and_then(|t| t.parse::<i64>().ok()) else {
                    return false;
                };
                let [want] = self.values.as_slice() else {
                    return false;
                };
                let Ok(want) = want.parse::<i64>() else {
                    return false;
                };
                if self.operator == Operator::GreaterThan {
                    have > want
                } else {
                    have < want
                }
            }
        }
    }
}

impl fmt::Display for Requirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.operator == Operator::DoesNotExist {
            f.write_str("!")?;
        }
        f.write_str(&self.key)?;
        let op = match self.operator {
            Operator::Exists | Operator::DoesNotExist => return Ok(()),
            Operator::Equals => "=",
            Operator::DoubleEquals => "==",
            Operator::NotEquals => "!=",
            Operator::In => " in ",
            Operator::NotIn => " notin ",
            Operator::GreaterThan => ">",
            Operator::LessThan => "<",
        };
        f.write_str(op)?;
        let set = matches!(self.operator, Operator::In | Operator::NotIn);
        if set {
            f.write_str("(")?;
        }
        let mut values: Vec<&str> = self.values.iter().map(String::as_str).collect();
        values.sort_unstable();
        f.write_str(&values.join(","))?;
        if set {
            f.write_str(")")?;
        }
        Ok(())
    }
}

/// A conjunction of [`Requirement`]s, or the selector that matches nothing.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LabelSelector {
    requirements: Vec<Requirement>,
    nothing: bool,
}

/// Why a label selector could not be built.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LabelSelectorError {
    /// The string syntax is malformed; the message is Kubernetes' own, e.g.
    /// `unable to parse requirement: found '', expected: identifier`.
    #[error("{0}")]
    Parse(String),
    /// Keys, values or operators break the label rules.
    #[error("{}", aggregate_message(.0))]
    Invalid(Vec<FieldError>),
    /// The structured selector is not a JSON object.
    #[error("expected a label selector object, got {0}")]
    NotAnObject(&'static str),
}

impl LabelSelector {
    /// Matches every object (`labels.Everything()`).
    pub fn everything() -> LabelSelector {
        LabelSelector::default()
    }

    /// Matches no object (`labels.Nothing()`, what a `null` selector means).
    pub fn nothing() -> LabelSelector {
        LabelSelector {
            requirements: Vec::new(),
            nothing: true,
        }
    }

    /// Parses the string syntax of `?labelSelector=` (`labels.Parse`).
    pub fn parse(s: &str) -> Result<LabelSelector, LabelSelectorError> {
        let mut requirements = parse::parse(s)?;
        // Sorted by key so equal selectors print the same way.
        requirements.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(LabelSelector {
            requirements,
            nothing: false,
        })
    }

    /// Builds a selector from a structured `metav1.LabelSelector`
    /// (`LabelSelectorAsSelector`): `null` selects nothing, `{}` everything.
    /// Errors name the offending field (`matchExpressions[0].operator`).
    pub fn from_json(v: &Value) -> Result<LabelSelector, LabelSelectorError> {
        let obj = match v {
            Value::Null => return Ok(LabelSelector::nothing()),
            Value::Object(o) => o,
            other => return Err(LabelSelectorError::NotAnObject(json_kind(other))),
        };
        let mut errs = Vec::new();
        let mut requirements = Vec::new();
        match obj.get("matchLabels") {
            None | Some(Value::Null) => {}
            Some(Value::Object(labels)) => {
                let path = Path::new("matchLabels");
                for (k, v) in labels {
                    let before = errs.len();
                    errs.extend(validate_key(k, &path));
                    match v.as_str() {
                        Some(value) => {
                            let problems = is_valid_label_value(value);
                            if !problems.is_empty() {
                                errs.push(FieldError::invalid(
                                    &path.key(k),
                                    value,
                                    problems.join("; "),
                                ));
                            }
                        }
                        None => errs.push(FieldError::invalid(
                            &path.key(k),
                            v.clone(),
                            "must be a string",
                        )),
                    }
                    if errs.len() == before {
                        let values = vec![v.as_str().unwrap_or_default().to_string()];
                        requirements.push(Requirement {
                            key: k.clone(),
                            operator: Operator::Equals,
                            values,
                        });
                    }
                }
            }
            Some(other) => errs.push(FieldError::invalid(
                &Path::new("matchLabels"),
                other.clone(),
                "must be an object",
            )),
        }
        match obj.get("matchExpressions") {
            None | Some(Value::Null) => {}
            Some(Value::Array(exprs)) => {
                for (i, expr) in exprs.iter().enumerate() {
                    let path = Path::new("matchExpressions").index(i);
                    match expression(expr, &path) {
                        Ok(r) => requirements.push(r),
                        Err(e) => errs.extend(e),
                    }
                }
            }
            Some(other) => errs.push(FieldError::invalid(
                &Path::new("matchExpressions"),
                other.clone(),
                "must be a list",
            )),
        }
        if !errs.is_empty() {
            return Err(LabelSelectorError::Invalid(errs));
        }
        requirements.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(LabelSelector {
            requirements,
            nothing: false,
        })
    }

    /// Like [`LabelSelector::from_json`], with a missing selector selecting nothing.
    pub fn from_json_opt(v: Option<&Value>) -> Result<LabelSelector, LabelSelectorError> {
        v.map_or_else(|| Ok(LabelSelector::nothing()), LabelSelector::from_json)
    }

    /// A selector requiring every `key=value` of a plain map, as Services and
    /// ReplicationControllers carry (`SelectorFromValidatedSet`); an empty
    /// map selects everything. Values that are not strings are compared as
    /// empty strings.
    pub fn from_map(labels: &Map<String, Value>) -> LabelSelector {
        let mut requirements: Vec<Requirement> = labels
            .iter()
            .map(|(k, v)| Requirement {
                key: k.clone(),
                operator: Operator::Equals,
                values: vec![v.as_str().unwrap_or_default().to_string()],
            })
            .collect();
        requirements.sort_by(|a, b| a.key.cmp(&b.key));
        LabelSelector {
            requirements,
            nothing: false,
        }
    }

    pub fn requirements(&self) -> &[Requirement] {
        &self.requirements
    }

    /// True for the selector that matches everything (Kubernetes' `Empty()`).
    pub fn is_empty(&self) -> bool {
        !self.nothing && self.requirements.is_empty()
    }

    /// True for the selector that matches nothing.
    pub fn is_nothing(&self) -> bool {
        self.nothing
    }

    /// Whether labels (an object's `metadata.labels`, `None` when it has
    /// none) satisfy every requirement.
    pub fn matches(&self, labels: Option<&Map<String, Value>>) -> bool {
        !self.nothing && self.requirements.iter().all(|r| r.matches(labels))
    }
}

impl fmt::Display for LabelSelector {
    /// The canonical string form (requirements sorted by key, values sorted);
    /// both the everything and the nothing selector print as an empty string,
    /// as in Kubernetes.
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

impl std::str::FromStr for LabelSelector {
    type Err = LabelSelectorError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        LabelSelector::parse(s)
    }
}

/// One `matchExpressions` item turned into a requirement.
fn expression(expr: &Value, path: &Path) -> Result<Requirement, Vec<FieldError>> {
    let Some(obj) = expr.as_object() else {
        return Err(vec![FieldError::invalid(
            path,
            expr.clone(),
            "must be an object",
        )]);
    };
    let mut errs = Vec::new();
    let key = match obj.get("key") {
        Some(Value::String(k)) => k.as_str(),
        None | Some(Value::Null) => "",
        Some(other) => {
            errs.push(FieldError::invalid(
                &path.child("key"),
                other.clone(),
                "must be a string",
            ));
            ""
        }
    };
    let operator = match obj.get("operator").and_then(Value::as_str) {
        Some("In") => Some(Operator::In),
        Some("NotIn") => Some(Operator::NotIn),
        Some("Exists") => Some(Operator::Exists),
        Some("DoesNotExist") => Some(Operator::DoesNotExist),
        _ => {
            let got = obj
                .get("operator")
                .cloned()
                .unwrap_or(Value::String(String::new()));
            errs.push(FieldError::not_supported(
                &path.child("operator"),
                got,
                &["In", "NotIn", "Exists", "DoesNotExist"],
            ));
            None
        }
    };
    let mut values = Vec::new();
    match obj.get("values") {
        None | Some(Value::Null) => {}
        Some(Value::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                match item.as_str() {
                    Some(s) => values.push(s.to_string()),
                    None => errs.push(FieldError::invalid(
                        &path.child("values").index(i),
                        item.clone(),
                        "must be a string",
                    )),
                }
            }
        }
        Some(other) => errs.push(FieldError::invalid(
            &path.child("values"),
            other.clone(),
            "must be a list",
        )),
    }
    if !errs.is_empty() {
        return Err(errs);
    }
    let Some(operator) = operator else {
        return Err(errs);
    };
    let found = validate_requirement(key, operator, &values, path);
    if !found.is_empty() {
        return Err(found);
    }
    Ok(Requirement {
        key: key.to_string(),
        operator,
        values,
    })
}

/// Kubernetes' `labels.NewRequirement` checks, with paths below `base`.
pub(super) fn validate_requirement(
    key: &str,
    operator: Operator,
    values: &[String],
    base: &Path,
) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if let Some(e) = validate_key(key, &base.child("key")) {
        errs.push(e);
    }
    let values_path = base.child("values");
    let values_json = || Value::Array(values.iter().cloned().map(Value::String).collect());
    match operator {
        Operator::In | Operator::NotIn if values.is_empty() => errs.push(FieldError::invalid(
            &values_path,
            values_json(),
            "for 'in', 'notin' operators, values set can't be empty",
        )),
        Operator::Equals | Operator::DoubleEquals | Operator::NotEquals if values.len() != 1 => {
            errs.push(FieldError::invalid(
                &values_path,
                values_json(),
                "exact-match compatibility requires one single value",
            ))
        }
        Operator::Exists | Operator::DoesNotExist if !values.is_empty() => {
            errs.push(FieldError::invalid(
                &values_path,
                values_json(),
                "values set must be empty for exists and does not exist",
            ))
        }
        Operator::GreaterThan | Operator::LessThan => {
            if values.len() != 1 {
                errs.push(FieldError::invalid(
                    &values_path,
                    values_json(),
                    "for 'Gt', 'Lt' operators, exactly one value is required",
                ));
            }
            for (i, v) in values.iter().enumerate() {
                if v.parse::<i64>().is_err() {
                    errs.push(FieldError::invalid(
                        &values_path.index(i),
                        v.as_str(),
                        "for 'Gt', 'Lt' operators, the value must be an integer",
                    ));
                }
            }
        }
        _ => {}
    }
    for (i, v) in values.iter().enumerate() {
        let problems = is_valid_label_value(v);
        if !problems.is_empty() {
            errs.push(FieldError::invalid(
                &values_path.index(i).key(key),
                v.as_str(),
                problems.join("; "),
            ));
        }
    }
    errs
}

/// Kubernetes' `validateLabelKey`: a qualified name.
pub(super) fn validate_key(key: &str, path: &Path) -> Option<FieldError> {
    let problems = is_qualified_name(key);
    (!problems.is_empty()).then(|| FieldError::invalid(path, key, problems.join("; ")))
}

/// The text of an aggregated error list (`utilerrors.NewAggregate`): one
/// message alone, several in brackets, duplicates dropped.
fn aggregate_message(errs: &[FieldError]) -> String {
    let mut seen: Vec<String> = Vec::new();
    for e in errs {
        let m = e.message();
        if !seen.contains(&m) {
            seen.push(m);
        }
    }
    match seen.as_slice() {
        [one] => one.clone(),
        many => format!("[{}]", many.join(", ")),
    }
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap: a panic is a failure
mod tests {
    use super::*;
    use serde_json::json;

    fn labels(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    fn sel(s: &str) -> LabelSelector {
        LabelSelector::parse(s).unwrap()
    }

    fn err(s: &str) -> String {
        LabelSelector::parse(s).unwrap_err().to_string()
    }

    #[test]
    fn selector_label_equality_operators() {
        let l = labels(json!({"app": "web", "tier": "front"}));
        for s in [
            "app=web",
            "app==web",
            "app=web,tier=front",
            " app = web , tier == front ",
        ] {
            assert!(sel(s).matches(Some(&l)), "{s}");
        }
        assert!(!sel("app=db").matches(Some(&l)));
        assert!(!sel("app=web,tier=back").matches(Some(&l)));
        assert!(sel("app!=db").matches(Some(&l)));
        assert!(!sel("app!=web").matches(Some(&l)));
        // A missing label is "not equal" to anything.
        assert!(sel("env!=prod").matches(Some(&l)));
        assert!(sel("env!=prod").matches(None));
        assert!(!sel("app=web").matches(None));
    }

    #[test]
    fn selector_label_set_operators() {
        let l = labels(json!({"app": "web", "tier": "front"}));
        assert!(sel("app in (web,db)").matches(Some(&l)));
        assert!(sel("app in(web)").matches(Some(&l)));
        assert!(!sel("app in (db, cache)").matches(Some(&l)));
        assert!(sel("app notin (db)").matches(Some(&l)));
        assert!(!sel("app notin (db,web)").matches(Some(&l)));
        assert!(sel("env notin (prod)").matches(Some(&l)));
        assert!(!sel("env in (prod)").matches(Some(&l)));
    }

    #[test]
    fn selector_label_existence_operators() {
        let l = labels(json!({"app": "web"}));
        assert!(sel("app").matches(Some(&l)));
        assert!(!sel("env").matches(Some(&l)));
        assert!(sel("!env").matches(Some(&l)));
        assert!(!sel("!app").matches(Some(&l)));
        assert!(sel("!app").matches(None));
        assert!(sel("app,!env").matches(Some(&l)));
    }

    #[test]
    fn selector_label_numeric_operators() {
        let l = labels(json!({"replicas": "5", "name": "x"}));
        assert!(sel("replicas>3").matches(Some(&l)));
        assert!(!sel("replicas>5").matches(Some(&l)));
        assert!(sel("replicas<10").matches(Some(&l)));
        assert!(!sel("name>1").matches(Some(&l)));
        assert!(!sel("missing<1").matches(Some(&l)));
        assert_eq!(
            sel("replicas>3").requirements()[0].operator(),
            Operator::GreaterThan
        );
    }

    #[test]
    fn selector_label_empty_matches_everything() {
        for s in ["", "  ", "\t"] {
            let s = sel(s);
            assert!(s.is_empty());
            assert!(s.matches(None));
            assert_eq!(s.to_string(), "");
        }
    }

    #[test]
    fn selector_label_keywords_as_keys_and_values() {
        // `in` and `notin` are plain identifiers where a key or value is expected.
        let l = labels(json!({"in": "notin"}));
        assert!(sel("in=notin").matches(Some(&l)));
        assert!(sel("in in (notin)").matches(Some(&l)));
    }

    #[test]
    fn selector_label_prefixed_keys() {
        let l = labels(json!({"app.kubernetes.io/name": "web"}));
        assert!(sel("app.kubernetes.io/name=web").matches(Some(&l)));
        assert_eq!(
            sel("app.kubernetes.io/name=web").requirements()[0].key(),
            "app.kubernetes.io/name"
        );
    }

    #[test]
    fn selector_label_empty_values() {
        let l = labels(json!({"a": ""}));
        assert!(sel("a=").matches(Some(&l)));
        assert!(sel("a=,b!=x").matches(Some(&l)));
        assert!(sel("a in ()").matches(Some(&l)));
        assert!(sel("a in (,x)").matches(Some(&l)));
        assert_eq!(sel("a in (,x)").requirements()[0].values(), ["", "x"]);
        assert_eq!(
            sel("a in (x,,y)").requirements()[0].values(),
            ["", "x", "y"]
        );
    }

    #[test]
    fn selector_label_canonical_display() {
        assert_eq!(sel("tier=front,app=web").to_string(), "app=web,tier=front");
        assert_eq!(sel("app==web").to_string(), "app==web");
        assert_eq!(
            sel("b in (z,y,x), a notin (q)").to_string(),
            "a notin (q),b in (x,y,z)"
        );
        assert_eq!(sel("x,!y,z!=1,n>3,m<2").to_string(), "m<2,n>3,x,!y,z!=1");
        assert_eq!(sel("a in (b,b,a)").to_string(), "a in (a,b)");
    }

    #[test]
    fn selector_label_parse_errors() {
        let cases = [
            ("app=", ""),
            (
                "=web",
                "found '=', expected: !, identifier, or 'end of string'",
            ),
            (
                "app web",
                "unable to parse requirement: found 'web', expected: in, notin, =, ==, !=, gt, lt",
            ),
            (
                "app in web",
                "unable to parse requirement: found 'web' expected: '('",
            ),
            (
                "app in (web",
                "unable to parse requirement: found '', expected: ',' or ')'",
            ),
            (
                "app in (web db)",
                "unable to parse requirement: found 'db', expected: ',' or ')'",
            ),
            (
                "app in (=)",
                "unable to parse requirement: found '=', expected: ',', ')' or identifier",
            ),
            ("app=web,", "found '', expected: identifier after ','"),
            ("app=web,,x", "found ',', expected: identifier after ','"),
            ("app=web)", "found ')', expected: ',' or 'end of string'"),
            (
                "!",
                "unable to parse requirement: found '', expected: identifier",
            ),
            (
                "!=x",
                "found '!=', expected: !, identifier, or 'end of string'",
            ),
            (
                "!!x",
                "unable to parse requirement: found '!', expected: identifier",
            ),
            (
                "app=(web)",
                "unable to parse requirement: found '(', expected: identifier",
            ),
            ("!a=b", "found '=', expected: ',' or 'end of string'"),
        ];
        for (input, want) in cases {
            if want.is_empty() {
                assert!(LabelSelector::parse(input).is_ok(), "{input}");
            } else {
                assert_eq!(err(input), want, "{input}");
            }
        }
    }

    #[test]
    fn selector_label_invalid_key_and_value_messages() {
        assert_eq!(
            err("bad_key_=x"),
            "unable to parse requirement: <nil>: Invalid value: \"bad_key_\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
        );
        assert_eq!(
            err("Example.com/app=x"),
            "unable to parse requirement: <nil>: Invalid value: \"Example.com/app\": prefix part a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
        );
        let long = "a".repeat(64);
        assert_eq!(
            err(&format!("{long}=x")),
            format!(
                "unable to parse requirement: <nil>: Invalid value: \"{long}\": name part must be no more than 63 characters"
            )
        );
        assert_eq!(
            err(&format!("app={long}")),
            format!(
                "unable to parse requirement: values[0][app]: Invalid value: \"{long}\": must be no more than 63 characters"
            )
        );
        assert_eq!(
            err("app=-web"),
            "unable to parse requirement: values[0][app]: Invalid value: \"-web\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
        );
        assert_eq!(
            err("n>x"),
            "unable to parse requirement: values[0]: Invalid value: \"x\": for 'Gt', 'Lt' operators, the value must be an integer"
        );
        assert_eq!(
            err("n>-1"),
            "unable to parse requirement: values[0][n]: Invalid value: \"-1\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
        );
        assert_eq!(
            err("n>"),
            "unable to parse requirement: values[0]: Invalid value: \"\": for 'Gt', 'Lt' operators, the value must be an integer"
        );
        // Several problems are reported together.
        assert!(
            err("app in (-a,-b)")
                .starts_with("unable to parse requirement: [values[0][app]: Invalid value: \"-a\"")
        );
    }

    #[test]
    fn selector_label_structured_match_labels_and_expressions() {
        let s = LabelSelector::from_json(&json!({
            "matchLabels": {"app": "web"},
            "matchExpressions": [
                {"key": "tier", "operator": "In", "values": ["front", "edge"]},
                {"key": "env", "operator": "NotIn", "values": ["dev"]},
                {"key": "team", "operator": "Exists"},
                {"key": "legacy", "operator": "DoesNotExist"},
            ]
        }))
        .unwrap();
        assert_eq!(
            s.to_string(),
            "app=web,env notin (dev),!legacy,team,tier in (edge,front)"
        );
        let good = labels(json!({"app": "web", "tier": "edge", "team": "a"}));
        assert!(s.matches(Some(&good)));
        let mut bad = good.clone();
        bad.insert("legacy".into(), json!("1"));
        assert!(!s.matches(Some(&bad)));
        let mut dev = good.clone();
        dev.insert("env".into(), json!("dev"));
        assert!(!s.matches(Some(&dev)));
        assert!(!s.matches(None));
    }

    #[test]
    fn selector_label_structured_empty_and_null() {
        let everything = LabelSelector::from_json(&json!({})).unwrap();
        assert!(everything.is_empty());
        assert!(everything.matches(None));
        let also =
            LabelSelector::from_json(&json!({"matchLabels": {}, "matchExpressions": []})).unwrap();
        assert!(also.is_empty());
        let nothing = LabelSelector::from_json(&Value::Null).unwrap();
        assert!(nothing.is_nothing());
        assert!(!nothing.is_empty());
        assert!(!nothing.matches(Some(&labels(json!({"a": "b"})))));
        assert!(LabelSelector::from_json_opt(None).unwrap().is_nothing());
        assert_eq!(nothing.to_string(), "");
        assert!(LabelSelector::nothing() != LabelSelector::everything());
    }

    #[test]
    fn selector_label_structured_errors_name_the_field() {
        let e = LabelSelector::from_json(&json!({
            "matchExpressions": [{"key": "app", "operator": "Equals", "values": ["x"]}]
        }))
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "matchExpressions[0].operator: Unsupported value: \"Equals\": supported values: \"In\", \"NotIn\", \"Exists\", \"DoesNotExist\""
        );
        let e = LabelSelector::from_json(&json!({
            "matchExpressions": [{"key": "app", "operator": "In", "values": []}]
        }))
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "matchExpressions[0].values: Invalid value: []: for 'in', 'notin' operators, values set can't be empty"
        );
        let e = LabelSelector::from_json(&json!({
            "matchExpressions": [{"key": "app", "operator": "Exists", "values": ["x"]}]
        }))
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "matchExpressions[0].values: Invalid value: [\"x\"]: values set must be empty for exists and does not exist"
        );
        let e = LabelSelector::from_json(&json!({"matchLabels": {"bad key": "x", "ok": "-x"}}))
            .unwrap_err();
        let LabelSelectorError::Invalid(errs) = &e else {
            panic!("{e:?}")
        };
        assert_eq!(errs.len(), 2);
        assert_eq!(errs[0].field, "matchLabels");
        assert_eq!(errs[1].field, "matchLabels[ok]");
        assert!(
            e.to_string()
                .starts_with("[matchLabels: Invalid value: \"bad key\": name part must consist")
        );
        let e = LabelSelector::from_json(&json!({"matchLabels": {"a": 1}})).unwrap_err();
        assert_eq!(
            e.to_string(),
            "matchLabels[a]: Invalid value: 1: must be a string"
        );
        let e = LabelSelector::from_json(&json!("app=web")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "expected a label selector object, got a string"
        );
        let e = LabelSelector::from_json(&json!({"matchExpressions": {}})).unwrap_err();
        assert_eq!(
            e.to_string(),
            "matchExpressions: Invalid value: {}: must be a list"
        );
    }

    #[test]
    fn selector_label_from_map_and_requirement_new() {
        let s = LabelSelector::from_map(&labels(json!({"tier": "db", "app": "web"})));
        assert_eq!(s.to_string(), "app=web,tier=db");
        assert!(s.matches(Some(&labels(json!({"app": "web", "tier": "db", "x": "y"})))));
        assert!(LabelSelector::from_map(&Map::new()).is_empty());
        let r = Requirement::new("app", Operator::In, vec!["b".into(), "a".into()]).unwrap();
        assert_eq!(r.values(), ["b", "a"]);
        assert_eq!(r.to_string(), "app in (a,b)");
        let e = Requirement::new("app", Operator::Equals, vec![]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "values: Invalid value: []: exact-match compatibility requires one single value"
        );
    }

    #[test]
    fn selector_label_non_string_label_values() {
        let l = labels(json!({"n": 5}));
        assert!(sel("n").matches(Some(&l)));
        assert!(!sel("n=5").matches(Some(&l)));
        assert!(sel("n!=5").matches(Some(&l)));
    }
}
