//! One PolicyRule: whether it allows a request (RBAC's `RuleAllows`),
//! whether a user's rules cover the rules they try to grant (`Covers`),
//! and the compact forms Kubernetes prints in escalation errors.
//!
//! Matching works on the stored JSON directly because it runs on every
//! request; the owned [`PolicyRule`] is for the rarer escalation checks.

use super::Attributes;
use super::quote::quote_list;
use serde_json::{Map, Value, json};

const ALL: &str = "*";

/// The strings of a rule's list field (`verbs`, `apiGroups`...), empty when
/// absent or not a list.
pub(crate) fn strs<'a>(rule: &'a Value, field: &str) -> &'a [Value] {
    rule.get(field).and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[])
}

fn has(list: &[Value], s: &str) -> bool {
    list.iter().any(|v| v.as_str() == Some(s))
}

fn has_or_all(list: &[Value], s: &str) -> bool {
    list.iter().any(|v| matches!(v.as_str(), Some(x) if x == ALL || x == s))
}

/// Whether `rule` allows the request described by `attrs`.
pub(crate) fn allows(attrs: &Attributes, rule: &Value) -> bool {
    if !has_or_all(strs(rule, "verbs"), &attrs.verb) {
        return false;
    }
    if !attrs.resource_request {
        return non_resource_url_matches(strs(rule, "nonResourceURLs"), &attrs.path);
    }
    has_or_all(strs(rule, "apiGroups"), &attrs.api_group)
        && resource_matches(strs(rule, "resources"), &attrs.resource, &attrs.subresource)
        && resource_name_matches(strs(rule, "resourceNames"), &attrs.name)
}

/// `pods`, `pods/log`, `*` and `*/log` forms; the subresource is part of
/// what is matched, so `pods` alone does not grant `pods/log`.
fn resource_matches(rule_resources: &[Value], resource: &str, subresource: &str) -> bool {
    rule_resources.iter().filter_map(Value::as_str).any(|r| {
        if r == ALL {
            return true;
        }
        if subresource.is_empty() {
            return r == resource;
        }
        let combined = r.len() == resource.len() + 1 + subresource.len()
            && r.starts_with(resource)
            && r.as_bytes()[resource.len()] == b'/'
            && r.ends_with(subresource);
        combined || (r.len() == subresource.len() + 2 && r.starts_with("*/") && r.ends_with(subresource))
    })
}

/// An empty list allows every name; otherwise the request must name one of
/// them, which a list or a create without a name never does.
fn resource_name_matches(names: &[Value], name: &str) -> bool {
    names.is_empty() || has(names, name)
}

fn non_resource_url_matches(urls: &[Value], path: &str) -> bool {
    urls.iter().filter_map(Value::as_str).any(|u| url_covers(u, path))
}

/// `*` matches everything, `/apis/*` every path under `/apis/`, anything
/// else only itself.
fn url_covers(rule_url: &str, path: &str) -> bool {
    rule_url == ALL || rule_url == path || (rule_url.ends_with('*') && path.starts_with(rule_url.trim_end_matches('*')))
}

/// An owned `rbac.authorization.k8s.io/v1` PolicyRule.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PolicyRule {
    pub verbs: Vec<String>,
    pub api_groups: Vec<String>,
    pub resources: Vec<String>,
    pub resource_names: Vec<String>,
    pub non_resource_urls: Vec<String>,
}

impl PolicyRule {
    /// Reads a rule from its JSON form; missing or malformed lists are empty.
    pub fn from_value(v: &Value) -> PolicyRule {
        let list = |f: &str| strs(v, f).iter().filter_map(Value::as_str).map(str::to_string).collect();
        PolicyRule {
            verbs: list("verbs"),
            api_groups: list("apiGroups"),
            resources: list("resources"),
            resource_names: list("resourceNames"),
            non_resource_urls: list("nonResourceURLs"),
        }
    }

    /// The JSON form Kubernetes serves: `verbs` always, the other lists
    /// only when not empty.
    pub fn to_value(&self) -> Value {
        let mut m = Map::new();
        m.insert("verbs".into(), json!(self.verbs));
        for (key, list) in [
            ("apiGroups", &self.api_groups),
            ("resources", &self.resources),
            ("resourceNames", &self.resource_names),
            ("nonResourceURLs", &self.non_resource_urls),
        ] {
            if !list.is_empty() {
                m.insert(key.into(), json!(list));
            }
        }
        Value::Object(m)
    }

    /// Kubernetes' `CompactString`:
    /// `{APIGroups:[""], Resources:["pods"], Verbs:["get"]}`.
    pub fn compact_string(&self) -> String {
        let mut parts = Vec::new();
        for (label, list) in [
            ("APIGroups", &self.api_groups),
            ("Resources", &self.resources),
            ("NonResourceURLs", &self.non_resource_urls),
            ("ResourceNames", &self.resource_names),
            ("Verbs", &self.verbs),
        ] {
            if !list.is_empty() {
                parts.push(format!("{label}:{}", quote_list(list)));
            }
        }
        format!("{{{}}}", parts.join(", "))
    }
}

/// Splits a rule into rules of one group, resource, verb and name each (one
/// URL and verb for non-resource rules), so each piece is either wholly
/// covered by some owner rule or not at all.
pub fn breakdown(rule: &PolicyRule) -> Vec<PolicyRule> {
    let mut out = Vec::new();
    for group in &rule.api_groups {
        for resource in &rule.resources {
            for verb in &rule.verbs {
                let one = |names: Vec<String>| PolicyRule {
                    verbs: vec![verb.clone()],
                    api_groups: vec![group.clone()],
                    resources: vec![resource.clone()],
                    resource_names: names,
                    non_resource_urls: Vec::new(),
                };
                if rule.resource_names.is_empty() {
                    out.push(one(Vec::new()));
                } else {
                    out.extend(rule.resource_names.iter().map(|n| one(vec![n.clone()])));
                }
            }
        }
    }
    for url in &rule.non_resource_urls {
        for verb in &rule.verbs {
            out.push(PolicyRule {
                verbs: vec![verb.clone()],
                non_resource_urls: vec![url.clone()],
                ..Default::default()
            });
        }
    }
    out
}

fn contains(set: &[String], s: &str) -> bool {
    set.iter().any(|x| x == s)
}

fn contains_all(set: &[String], wanted: &[String]) -> bool {
    wanted.iter().all(|w| contains(set, w))
}

fn resources_cover(owner: &[String], wanted: &[String]) -> bool {
    if contains(owner, ALL) {
        return true;
    }
    wanted.iter().all(|path| {
        contains(owner, path) || path.split_once('/').is_some_and(|(_, sub)| contains(owner, &format!("*/{sub}")))
    })
}

/// Whether one owner rule covers a broken-down rule (at most one verb,
/// resource and name).
fn rule_covers(owner: &PolicyRule, sub: &PolicyRule) -> bool {
    let verbs = contains(&owner.verbs, ALL) || contains_all(&owner.verbs, &sub.verbs);
    let groups = contains(&owner.api_groups, ALL) || contains_all(&owner.api_groups, &sub.api_groups);
    let resources = resources_cover(&owner.resources, &sub.resources);
    let urls = sub.non_resource_urls.iter().all(|u| {
        owner.non_resource_urls.iter().any(|o| o == u || (o.ends_with('*') && u.starts_with(o.trim_end_matches('*'))))
    });
    // A rule limited to names never covers one that is not.
    let names = owner.resource_names.is_empty()
        || (!sub.resource_names.is_empty() && contains_all(&owner.resource_names, &sub.resource_names));
    verbs && groups && resources && urls && names
}

/// Whether `owner` rules grant everything in `servant` rules, and the
/// broken-down pieces they do not.
pub fn covers(owner: &[PolicyRule], servant: &[PolicyRule]) -> (bool, Vec<PolicyRule>) {
    let missing: Vec<PolicyRule> =
        servant.iter().flat_map(breakdown).filter(|sub| !owner.iter().any(|o| rule_covers(o, sub))).collect();
    (missing.is_empty(), missing)
}

/// Kubernetes' `CompactRules`: rules of one group and one resource (and at
/// most one name) that differ only by verb become one rule with the verbs
/// in order of appearance; other rules stay as they are.
pub fn compact(rules: Vec<PolicyRule>) -> Vec<PolicyRule> {
    let mut complex = Vec::new();
    let mut simple: Vec<PolicyRule> = Vec::new();
    for rule in rules {
        let is_simple = rule.resource_names.len() <= 1
            && rule.non_resource_urls.is_empty()
            && rule.api_groups.len() == 1
            && rule.resources.len() == 1;
        if !is_simple {
            complex.push(rule);
            continue;
        }
        let existing = simple.iter_mut().find(|s| {
            s.api_groups == rule.api_groups && s.resources == rule.resources && s.resource_names == rule.resource_names
        });
        match existing {
            Some(s) => {
                for v in rule.verbs {
                    if !s.verbs.contains(&v) {
                        s.verbs.push(v);
                    }
                }
            }
            None => simple.push(rule),
        }
    }
    complex.extend(simple);
    complex
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap: a panic is a failure
mod tests {
    use super::*;
    use crate::auth::User;

    fn res(verb: &str, group: &str, resource: &str, sub: &str, name: &str) -> Attributes {
        Attributes::resource(User::default(), verb, Some("ns"), group, resource, sub, name)
    }

    fn url(verb: &str, path: &str) -> Attributes {
        Attributes::non_resource(User::default(), verb, path)
    }

    #[test]
    fn authz_rule_matching_table() {
        let pods_get = json!({"verbs": ["get", "list"], "apiGroups": [""], "resources": ["pods"]});
        let everything = json!({"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]});
        let logs = json!({"verbs": ["get"], "apiGroups": [""], "resources": ["pods/log"]});
        let any_status = json!({"verbs": ["get"], "apiGroups": ["*"], "resources": ["*/status"]});
        let named = json!({"verbs": ["get", "list", "update"], "apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["cfg"]});
        let apps =
            json!({"verbs": ["create"], "apiGroups": ["apps"], "resources": ["deployments", "deployments/scale"]});
        let cases: Vec<(&Value, Attributes, bool)> = vec![
            (&pods_get, res("get", "", "pods", "", "web"), true),
            (&pods_get, res("list", "", "pods", "", ""), true),
            (&pods_get, res("delete", "", "pods", "", "web"), false),
            (&pods_get, res("get", "apps", "pods", "", "web"), false),
            (&pods_get, res("get", "", "pods", "log", "web"), false),
            (&pods_get, res("get", "", "services", "", "web"), false),
            (&everything, res("deletecollection", "batch", "jobs", "", ""), true),
            (&everything, res("get", "", "pods", "exec", "web"), true),
            (&logs, res("get", "", "pods", "log", "web"), true),
            (&logs, res("get", "", "pods", "", "web"), false),
            (&logs, res("get", "", "pods", "exec", "web"), false),
            (&any_status, res("get", "apps", "deployments", "status", "d"), true),
            (&any_status, res("get", "apps", "deployments", "scale", "d"), false),
            (&any_status, res("get", "apps", "deployments", "", "d"), false),
            (&named, res("get", "", "configmaps", "", "cfg"), true),
            (&named, res("get", "", "configmaps", "", "other"), false),
            (&named, res("list", "", "configmaps", "", ""), false),
            (&named, res("update", "", "configmaps", "", "cfg"), true),
            (&apps, res("create", "apps", "deployments", "", ""), true),
            (&apps, res("create", "apps", "deployments", "scale", ""), true),
            (&apps, res("create", "extensions", "deployments", "", ""), false),
            // A resource rule never allows a path, and the reverse.
            (&everything, url("get", "/healthz"), false),
        ];
        for (i, (rule, attrs, want)) in cases.iter().enumerate() {
            assert_eq!(allows(attrs, rule), *want, "case {i}: {attrs:?} against {rule}");
        }
    }

    #[test]
    fn authz_rule_non_resource_globs() {
        let rule = json!({"verbs": ["get"], "nonResourceURLs": ["/healthz", "/apis/*", "/logs**"]});
        let all = json!({"verbs": ["*"], "nonResourceURLs": ["*"]});
        assert!(allows(&url("get", "/healthz"), &rule));
        assert!(!allows(&url("get", "/healthz/etcd"), &rule));
        assert!(allows(&url("get", "/apis/apps/v1"), &rule));
        assert!(allows(&url("get", "/apis/"), &rule));
        assert!(!allows(&url("get", "/apis"), &rule));
        assert!(allows(&url("get", "/logs/x"), &rule));
        assert!(!allows(&url("post", "/healthz"), &rule));
        assert!(allows(&url("post", "/anything"), &all));
        assert!(!allows(&res("get", "", "pods", "", ""), &all));
    }

    fn pr(verbs: &[&str], groups: &[&str], resources: &[&str], names: &[&str]) -> PolicyRule {
        let v = |l: &[&str]| l.iter().map(|s| s.to_string()).collect();
        PolicyRule {
            verbs: v(verbs),
            api_groups: v(groups),
            resources: v(resources),
            resource_names: v(names),
            non_resource_urls: vec![],
        }
    }

    #[test]
    fn authz_rule_covers() {
        let owner = vec![
            pr(&["get", "list"], &[""], &["pods", "*/status"], &[]),
            pr(&["*"], &["apps"], &["deployments"], &["web"]),
        ];
        assert!(covers(&owner, &[pr(&["get"], &[""], &["pods", "pods/status"], &[])]).0);
        assert!(covers(&owner, &[pr(&["get"], &[""], &["pods"], &["a", "b"])]).0);
        assert!(covers(&owner, &[pr(&["update"], &["apps"], &["deployments"], &["web"])]).0);
        // Owner limited to a name does not cover all names.
        let (ok, missing) = covers(&owner, &[pr(&["update"], &["apps"], &["deployments"], &[])]);
        assert!(!ok);
        assert_eq!(missing, vec![pr(&["update"], &["apps"], &["deployments"], &[])]);
        let (ok, missing) = covers(&owner, &[pr(&["get", "delete"], &["", "batch"], &["pods"], &[])]);
        assert!(!ok);
        assert_eq!(
            missing,
            vec![
                pr(&["delete"], &[""], &["pods"], &[]),
                pr(&["get"], &["batch"], &["pods"], &[]),
                pr(&["delete"], &["batch"], &["pods"], &[])
            ]
        );
        let urls =
            PolicyRule { verbs: vec!["get".into()], non_resource_urls: vec!["/apis/*".into()], ..Default::default() };
        let want = PolicyRule {
            verbs: vec!["get".into()],
            non_resource_urls: vec!["/apis/apps".into(), "/metrics".into()],
            ..Default::default()
        };
        let (ok, missing) = covers(&[urls], &[want]);
        assert!(!ok);
        assert_eq!(
            missing,
            vec![PolicyRule {
                verbs: vec!["get".into()],
                non_resource_urls: vec!["/metrics".into()],
                ..Default::default()
            }]
        );
    }

    #[test]
    fn authz_rule_compact_and_strings() {
        let rules = vec![
            pr(&["get"], &[""], &["pods"], &[]),
            pr(&["list"], &[""], &["pods"], &[]),
            pr(&["get"], &[""], &["pods"], &["x"]),
            pr(&["get"], &["", "apps"], &["pods"], &[]),
            pr(&["get"], &[""], &["pods"], &[]),
        ];
        let compacted: Vec<String> = compact(rules).iter().map(PolicyRule::compact_string).collect();
        assert_eq!(
            compacted,
            vec![
                "{APIGroups:[\"\" \"apps\"], Resources:[\"pods\"], Verbs:[\"get\"]}",
                "{APIGroups:[\"\"], Resources:[\"pods\"], Verbs:[\"get\" \"list\"]}",
                "{APIGroups:[\"\"], Resources:[\"pods\"], ResourceNames:[\"x\"], Verbs:[\"get\"]}",
            ]
        );
        let urls = PolicyRule { verbs: vec!["*".into()], non_resource_urls: vec!["*".into()], ..Default::default() };
        assert_eq!(urls.compact_string(), "{NonResourceURLs:[\"*\"], Verbs:[\"*\"]}");
    }

    #[test]
    fn authz_rule_json_round_trip() {
        let v = json!({"apiGroups": [""], "resources": ["pods"], "verbs": ["get"], "resourceNames": []});
        let rule = PolicyRule::from_value(&v);
        assert_eq!(rule, pr(&["get"], &[""], &["pods"], &[]));
        assert_eq!(rule.to_value(), json!({"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]}));
    }
}
