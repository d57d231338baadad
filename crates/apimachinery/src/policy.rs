//! Admission policies as pure functions over Kubernetes JSON: Pod Security
//! Standards (`pod_security`), LimitRange defaults and bounds
//! (`limit_range`) and ResourceQuota usage and checks (`quota`).
//!
//! The API server feeds them the objects it already holds (the namespace's
//! labels, its LimitRanges and ResourceQuotas) and writes back what they
//! return; nothing here reads or writes storage. Messages are Kubernetes'
//! (v1.33) so clients and scripts that match on them keep working.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::validation::quantity::{Quantity, quantity_from_json};

pub mod limit_range;
pub mod pod_resources;
pub mod pod_security;
pub mod quota;

/// The write being admitted (deletes and connects are not policed here).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    Create,
    Update,
}

/// Resource name → quantity (`corev1.ResourceList`), ordered by name so
/// messages list resources sorted as Kubernetes prints them.
pub type ResourceList = BTreeMap<String, Quantity>;

/// A resource list from JSON (`{"cpu": "1", "memory": "1Gi"}`). Values that
/// are not quantities are skipped: validation has already rejected them.
pub fn resource_list(v: Option<&Value>) -> ResourceList {
    v.and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, q)| quantity_from_json(q).ok().map(|q| (k.clone(), q)))
                .collect()
        })
        .unwrap_or_default()
}

/// A resource list as JSON with canonical quantity strings.
pub fn resource_list_json(list: &ResourceList) -> Value {
    Value::Object(
        list.iter()
            .map(|(k, q)| (k.clone(), Value::String(q.canonical())))
            .collect::<Map<String, Value>>(),
    )
}

/// Kubernetes' `NewForbidden` text: `pods "web" is forbidden: <reason>`.
/// `resource` is the group-qualified plural (`deployments.apps`).
pub fn forbidden_message(resource: &str, name: &str, reason: &str) -> String {
    format!("{resource} \"{name}\" is forbidden: {reason}")
}

/// `utilerrors.NewAggregate(...).Error()`: one message alone, several
/// deduplicated and bracketed as `[a, b]`.
pub(crate) fn aggregate(messages: &[String]) -> String {
    let mut seen: Vec<&str> = Vec::new();
    for m in messages {
        if !seen.contains(&m.as_str()) {
            seen.push(m);
        }
    }
    match seen.as_slice() {
        [] => String::new(),
        [one] => (*one).to_string(),
        many => format!("[{}]", many.join(", ")),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap: a panic is a failure
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn policy_aggregate_like_kubernetes() {
        assert_eq!(aggregate(&[]), "");
        assert_eq!(aggregate(&["a".into()]), "a");
        assert_eq!(aggregate(&["a".into(), "b".into(), "a".into()]), "[a, b]");
        // One distinct message stays unbracketed even when repeated.
        assert_eq!(aggregate(&["a".into(), "a".into()]), "a");
    }

    #[test]
    fn policy_resource_list_round_trip() {
        let list = resource_list(Some(&json!({"cpu": "0.5", "memory": "1024Mi", "bad": "x"})));
        assert_eq!(list.len(), 2);
        assert_eq!(
            resource_list_json(&list),
            json!({"cpu": "500m", "memory": "1Gi"})
        );
        assert_eq!(
            forbidden_message("pods", "web", "x"),
            "pods \"web\" is forbidden: x"
        );
    }
}
