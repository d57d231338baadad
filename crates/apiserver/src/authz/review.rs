//! Everything a user may do in a namespace, as SelfSubjectRulesReview
//! reports it (`kubectl auth can-i --list`): the rules of every binding
//! that names the user, cluster-wide first, as RBAC's `RulesFor` lists them
//! (kubectl compacts and sorts them itself).

use super::RbacSource;
use super::resolver::{self, Names, Visit};
use super::rule::PolicyRule;
use crate::auth::User;
use serde_json::{Map, Value, json};

/// The status of a SelfSubjectRulesReview.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RulesReview {
    /// `ResourceRule`s: `verbs`, `apiGroups`, `resources`, `resourceNames`.
    pub resource_rules: Vec<Value>,
    /// `NonResourceRule`s: `verbs`, `nonResourceURLs`.
    pub non_resource_rules: Vec<Value>,
    /// RBAC can always list everything it knows, so this stays false.
    pub incomplete: bool,
    /// Bindings whose roles could not be read (`evaluationError`).
    pub evaluation_error: Option<String>,
}

/// The rules of every binding naming `user` in `namespace` (cluster-wide
/// only for `""`), and the errors met on the way.
pub(crate) fn policy_rules_for<S: RbacSource + ?Sized>(
    src: &S,
    user: &User,
    namespace: &str,
    names: Names,
) -> (Vec<PolicyRule>, Vec<String>) {
    let mut rules = Vec::new();
    let mut errors = Vec::new();
    resolver::visit_rules_for(src, user, namespace, names, |v| {
        match v {
            Visit::Rule { rule, .. } => rules.push(PolicyRule::from_value(rule)),
            Visit::Error(e) => errors.push(e.to_string()),
        }
        true
    });
    (rules, errors)
}

/// The SelfSubjectRulesReview answer for `user` in `namespace`.
pub fn rules_review<S: RbacSource + ?Sized>(src: &S, user: &User, namespace: &str) -> RulesReview {
    let (rules, errors) = policy_rules_for(src, user, namespace, Names::Lister);
    let mut review = RulesReview::default();
    for rule in rules {
        // A rule with both resources and URLs is invalid, but Kubernetes
        // reports it in both lists rather than hiding it.
        if !rule.resources.is_empty() {
            let mut m = Map::new();
            m.insert("verbs".into(), json!(rule.verbs));
            for (key, list) in [
                ("apiGroups", &rule.api_groups),
                ("resources", &rule.resources),
                ("resourceNames", &rule.resource_names),
            ] {
                if !list.is_empty() {
                    m.insert(key.into(), json!(list));
                }
            }
            review.resource_rules.push(Value::Object(m));
        }
        if !rule.non_resource_urls.is_empty() {
            review.non_resource_rules.push(json!({"verbs": rule.verbs, "nonResourceURLs": rule.non_resource_urls}));
        }
    }
    if !errors.is_empty() {
        review.evaluation_error = Some(resolver::aggregate_message(&errors));
    }
    review
}

/// [`rules_review`] as `(resourceRules, nonResourceRules, incomplete)`.
pub fn rules_for<S: RbacSource + ?Sized>(src: &S, user: &User, namespace: &str) -> (Vec<Value>, Vec<Value>, bool) {
    let review = rules_review(src, user, namespace);
    (review.resource_rules, review.non_resource_rules, review.incomplete)
}
