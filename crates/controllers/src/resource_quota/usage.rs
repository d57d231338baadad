//! A ResourceQuota's status as the quota controller records it, as pure
//! functions over the namespace's objects: which resources its hard names
//! charge (so only those are listed), and `status.hard` (= `spec.hard`)
//! with `status.used` summed over the objects the quota covers (scopes
//! included), with the API server's own evaluators from `apimachinery`.

use apimachinery::policy::quota;
use serde_json::{Value, json};

/// A resource whose objects a quota may charge.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Charged {
    /// Empty for the core group.
    pub group: String,
    pub plural: String,
}

impl Charged {
    fn core(plural: &str) -> Charged {
        Charged {
            group: String::new(),
            plural: plural.into(),
        }
    }
}

/// The core resources with their own quota names.
const COUNTED_CORE: [&str; 6] = [
    "services",
    "persistentvolumeclaims",
    "configmaps",
    "secrets",
    "replicationcontrollers",
    "resourcequotas",
];

/// The core resource a quota name belongs to; pods answer for every
/// compute name (`cpu`, `requests.memory`, `hugepages-2Mi`, ...).
fn core_owner(name: &str) -> Option<&'static str> {
    let base = name.strip_prefix("count/").unwrap_or(name);
    if let Some(p) = COUNTED_CORE.iter().find(|p| **p == base) {
        return Some(p);
    }
    if name.starts_with("services.") {
        return Some("services");
    }
    if name == "requests.storage" || name.contains(".storageclass.storage.k8s.io/") {
        return Some("persistentvolumeclaims");
    }
    if name.starts_with("count/") {
        return (base == "pods").then_some("pods");
    }
    Some("pods")
}

/// The resources to list for a quota with these hard names.
pub fn charged(hard_names: &[String]) -> Vec<Charged> {
    let mut out: Vec<Charged> = Vec::new();
    for name in hard_names {
        let c = match core_owner(name) {
            Some(plural) => Charged::core(plural),
            None => {
                let qualified = name.trim_start_matches("count/");
                match qualified.split_once('.') {
                    Some((plural, group)) => Charged {
                        group: group.into(),
                        plural: plural.into(),
                    },
                    None => Charged::core(qualified),
                }
            }
        };
        if !out.contains(&c) {
            out.push(c);
        }
    }
    out.sort();
    out
}

/// The hard names of a quota's spec.
pub fn hard_names(quota: &Value) -> Vec<String> {
    quota
        .pointer("/spec/hard")
        .and_then(Value::as_object)
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default()
}

/// The status the quota should have, given the namespace's objects of
/// each charged resource.
pub fn status(quota: &Value, objects: &[(Charged, Vec<Value>)]) -> Value {
    let hard = quota
        .pointer("/spec/hard")
        .cloned()
        .unwrap_or_else(|| json!({}));
    // Coverage is judged on `status.hard`, which is what admission reads.
    let mut judged = quota.clone();
    judged["status"] = json!({"hard": hard});
    let mut used = quota::zero_usage(quota);
    for (resource, items) in objects {
        for obj in items {
            if !quota::quota_covers(&judged, &resource.group, &resource.plural, obj) {
                continue;
            }
            for (k, q) in quota::usage(&resource.group, &resource.plural, obj) {
                if let Some(u) = used.get_mut(&k) {
                    *u = u.add(&q);
                }
            }
        }
    }
    json!({"hard": hard, "used": quota::used_json(&used)})
}

/// Whether the quota's recorded status already says `wanted`. Quantities
/// are compared as values (`1000m` is `1`).
pub fn unchanged(quota: &Value, wanted: &Value) -> bool {
    let list = |v: Option<&Value>| apimachinery::policy::resource_list(v);
    let current = quota.get("status");
    let same = |field: &str| {
        current.and_then(|s| s.get(field)).is_some()
            && list(current.and_then(|s| s.get(field))) == list(wanted.get(field))
    };
    same("hard") && same("used")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    fn core(p: &str) -> Charged {
        Charged::core(p)
    }

    #[test]
    fn resource_quota_charged_resources_follow_hard_names() {
        assert_eq!(
            charged(&names(&["pods", "requests.cpu", "limits.memory"])),
            vec![core("pods")]
        );
        assert_eq!(
            charged(&names(&[
                "configmaps",
                "count/secrets",
                "services.nodeports",
                "requests.storage",
                "count/deployments.apps",
                "count/widgets.example.com"
            ])),
            vec![
                core("configmaps"),
                core("persistentvolumeclaims"),
                core("secrets"),
                core("services"),
                Charged {
                    group: "apps".into(),
                    plural: "deployments".into()
                },
                Charged {
                    group: "example.com".into(),
                    plural: "widgets".into()
                },
            ]
        );
    }

    fn pod(name: &str, phase: &str, cpu: &str) -> Value {
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "q"},
               "spec": {"containers": [{"name": "c", "image": "x", "resources": {"requests": {"cpu": cpu}}}]},
               "status": {"phase": phase}})
    }

    #[test]
    fn resource_quota_ended_pods_stop_counting() {
        let quota = json!({"metadata": {"name": "q"}, "spec": {"hard": {"pods": "3", "requests.cpu": "2"}}});
        let pods = vec![
            pod("a", "Running", "500m"),
            pod("b", "Succeeded", "1"),
            pod("c", "Pending", "250m"),
        ];
        let s = status(&quota, &[(core("pods"), pods)]);
        assert_eq!(
            s,
            json!({"hard": {"pods": "3", "requests.cpu": "2"}, "used": {"pods": "2", "requests.cpu": "750m"}})
        );
        let all_done = vec![pod("a", "Succeeded", "500m"), pod("b", "Failed", "1")];
        let s = status(&quota, &[(core("pods"), all_done)]);
        assert_eq!(s["used"], json!({"pods": "0", "requests.cpu": "0"}));
    }

    #[test]
    fn resource_quota_counts_objects_and_compares_by_value() {
        let quota = json!({"metadata": {"name": "q"}, "spec": {"hard": {"configmaps": "10", "count/secrets": "5"}}});
        let cms = vec![
            json!({"metadata": {"name": "a"}}),
            json!({"metadata": {"name": "b"}}),
        ];
        let s = status(
            &quota,
            &[(core("configmaps"), cms), (core("secrets"), vec![])],
        );
        assert_eq!(s["used"], json!({"configmaps": "2", "count/secrets": "0"}));
        let recorded = json!({"status": {"hard": {"configmaps": "10", "count/secrets": "5"}, "used": {"configmaps": "2", "count/secrets": "0"}}});
        assert!(unchanged(&recorded, &s));
        assert!(!unchanged(
            &json!({"status": {"hard": {"configmaps": "10", "count/secrets": "5"}}}),
            &s
        ));
        let cpu = json!({"hard": {"cpu": "1"}, "used": {"cpu": "1000m"}});
        assert!(unchanged(
            &json!({"status": {"hard": {"cpu": "1"}, "used": {"cpu": "1"}}}),
            &cpu
        ));
    }

    #[test]
    fn resource_quota_scopes_limit_what_counts() {
        let quota = json!({"metadata": {"name": "q"}, "spec": {"hard": {"pods": "5"}, "scopes": ["Terminating"]}});
        let mut deadline = pod("a", "Running", "1");
        deadline["spec"]["activeDeadlineSeconds"] = json!(30);
        let s = status(
            &quota,
            &[(core("pods"), vec![deadline, pod("b", "Running", "1")])],
        );
        assert_eq!(s["used"], json!({"pods": "1"}));
    }
}
