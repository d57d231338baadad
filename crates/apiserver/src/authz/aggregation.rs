//! Aggregated ClusterRoles: the rules kube-controller-manager's
//! clusterrole-aggregation controller writes into a ClusterRole with an
//! `aggregationRule` — every rule of every other ClusterRole that one of
//! its selectors matches, each selector's roles in name order, without
//! repeats.

use super::rule::PolicyRule;
use apimachinery::selector::label::LabelSelector;
use serde_json::Value;

fn name_of(role: &Value) -> &str {
    role.pointer("/metadata/name").and_then(Value::as_str).unwrap_or_default()
}

fn labels_of(role: &Value) -> Option<&serde_json::Map<String, Value>> {
    role.pointer("/metadata/labels").and_then(Value::as_object)
}

/// The rules `cluster_role` should hold given all ClusterRoles, or `None`
/// when it is not aggregated (no `aggregationRule`) or one of its selectors
/// is invalid — then, as in Kubernetes, its rules are left alone.
pub fn aggregated_rules(cluster_role: &Value, all: &[Value]) -> Option<Vec<Value>> {
    let selectors = match cluster_role.get("aggregationRule")? {
        Value::Null => return None,
        rule => rule.get("clusterRoleSelectors").and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[]),
    };
    let selectors: Vec<LabelSelector> =
        selectors.iter().map(LabelSelector::from_json).collect::<Result<_, _>>().ok()?;
    let own_name = name_of(cluster_role);
    let mut sorted: Vec<&Value> = all.iter().filter(|r| name_of(r) != own_name).collect();
    sorted.sort_by(|a, b| name_of(a).cmp(name_of(b)));
    // Compared in their owned form: a missing list and an empty one are the
    // same rule, as in Kubernetes' semantic equality.
    let mut seen: Vec<PolicyRule> = Vec::new();
    let mut rules = Vec::new();
    for selector in &selectors {
        for role in sorted.iter().filter(|r| selector.matches(labels_of(r))) {
            for rule in role.get("rules").and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[]) {
                let owned = PolicyRule::from_value(rule);
                if !seen.contains(&owned) {
                    rules.push(owned.to_value());
                    seen.push(owned);
                }
            }
        }
    }
    Some(rules)
}

/// Aggregates every aggregated ClusterRole of `all` until nothing changes
/// (an aggregated role can itself be aggregated, as `edit` is into
/// `admin`), and returns the names and new rules of those whose rules
/// differ from what `all` holds. The controller reaches the same state
/// one update at a time; this gets there in one step, e.g. at startup.
pub fn aggregate_all(all: &[Value]) -> Vec<(String, Vec<Value>)> {
    let mut roles: Vec<Value> = all.to_vec();
    // Each round settles at least one more level of nesting; cycles stop
    // when the roles run out.
    for _ in 0..=roles.len() {
        let mut changed = false;
        for i in 0..roles.len() {
            let Some(rules) = aggregated_rules(&roles[i], &roles) else { continue };
            let rules = Value::Array(rules);
            if roles[i].get("rules") != Some(&rules) {
                roles[i]["rules"] = rules;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    roles
        .into_iter()
        .zip(all)
        .filter(|(new, old)| new.get("rules") != old.get("rules"))
        .map(|(new, _)| {
            let rules = new.get("rules").and_then(Value::as_array).cloned().unwrap_or_default();
            (name_of(&new).to_string(), rules)
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap: a panic is a failure
mod tests {
    use super::*;
    use serde_json::json;

    fn role(name: &str, labels: Value, rules: Value) -> Value {
        json!({"metadata": {"name": name, "labels": labels}, "rules": rules})
    }

    #[test]
    fn authz_aggregation_selectors_order_and_dedup() {
        let agg = json!({
            "metadata": {"name": "monitoring", "labels": {"team": "a"}},
            "aggregationRule": {"clusterRoleSelectors": [
                {"matchLabels": {"team": "a"}},
                {"matchExpressions": [{"key": "tier", "operator": "In", "values": ["x", "y"]}]},
            ]},
            "rules": [],
        });
        let all = vec![
            agg.clone(),
            role("b-role", json!({"team": "a"}), json!([{"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]}])),
            role(
                "a-role",
                json!({"team": "a", "tier": "x"}),
                json!([
                    {"verbs": ["list"], "apiGroups": [""], "resources": ["pods"], "resourceNames": []},
                    {"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]},
                ]),
            ),
            role(
                "c-role",
                json!({"tier": "y"}),
                json!([
                    {"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]},
                    {"verbs": ["watch"], "apiGroups": ["apps"], "resources": ["deployments"]},
                ]),
            ),
            role("other", json!({"team": "b"}), json!([{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}])),
        ];
        assert_eq!(
            aggregated_rules(&agg, &all).unwrap(),
            vec![
                json!({"verbs": ["list"], "apiGroups": [""], "resources": ["pods"]}),
                json!({"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]}),
                json!({"verbs": ["watch"], "apiGroups": ["apps"], "resources": ["deployments"]}),
            ]
        );
        // Not aggregated, or an invalid selector: left alone.
        assert_eq!(aggregated_rules(&all[1], &all), None);
        let bad = json!({"metadata": {"name": "bad"}, "aggregationRule": {"clusterRoleSelectors": [{"matchLabels": {"a b": "c"}}]}});
        assert_eq!(aggregated_rules(&bad, &all), None);
        let empty = json!({"metadata": {"name": "e"}, "aggregationRule": {}});
        assert_eq!(aggregated_rules(&empty, &all), Some(vec![]));
    }

    #[test]
    fn authz_aggregation_bootstrap_admin_edit_view() {
        let all = crate::authz::bootstrap_cluster_roles();
        let updates = aggregate_all(&all);
        let get = |name: &str| updates.iter().find(|(n, _)| n == name).map(|(_, r)| r.clone()).unwrap();
        let rules_of =
            |name: &str| all.iter().find(|r| name_of(r) == name).and_then(|r| r["rules"].as_array().cloned()).unwrap();
        let view = get("view");
        let edit = get("edit");
        let admin = get("admin");
        assert_eq!(view, rules_of("system:aggregate-to-view"));
        let mut want_edit = rules_of("system:aggregate-to-edit");
        want_edit.extend(view.iter().cloned());
        assert_eq!(edit, want_edit);
        let mut want_admin = edit.clone();
        want_admin.extend(rules_of("system:aggregate-to-admin"));
        assert_eq!(admin, want_admin);
        let mut names: Vec<&str> = updates.iter().map(|(n, _)| n.as_str()).collect();
        names.sort();
        assert_eq!(names, vec!["admin", "edit", "view"]);
        // Applying the updates reaches a fixed point.
        let mut applied = all.clone();
        for r in applied.iter_mut() {
            if let Some((_, rules)) = updates.iter().find(|(n, _)| n == name_of(r)) {
                r["rules"] = Value::Array(rules.clone());
            }
        }
        assert!(aggregate_all(&applied).is_empty());
    }
}
