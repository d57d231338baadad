//! Ownership by selector, as Kubernetes' ControllerRefManager does it: a
//! controller adopts orphans its selector matches and releases the objects
//! it owns that the selector no longer matches. Shared by the ReplicaSet
//! controller (pods) and the Deployment controller (ReplicaSets).

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta, OwnerReference};
use std::collections::BTreeMap;

/// Whether `selector` matches `labels` (matchLabels and matchExpressions;
/// an empty selector matches everything, as `metav1.LabelSelectorAsSelector`
/// makes it).
pub fn matches(selector: &LabelSelector, labels: Option<&BTreeMap<String, String>>) -> bool {
    let empty = BTreeMap::new();
    let labels = labels.unwrap_or(&empty);
    let by_labels = selector.match_labels.iter().flatten().all(|(k, v)| labels.get(k) == Some(v));
    let by_expressions = selector.match_expressions.iter().flatten().all(|e| {
        let values = e.values.as_deref().unwrap_or_default();
        match e.operator.as_str() {
            "In" => labels.get(&e.key).is_some_and(|v| values.contains(v)),
            "NotIn" => labels.get(&e.key).is_none_or(|v| !values.contains(v)),
            "Exists" => labels.contains_key(&e.key),
            "DoesNotExist" => !labels.contains_key(&e.key),
            // Validation refuses other operators; match nothing rather than all.
            _ => false,
        }
    });
    by_labels && by_expressions
}

/// Whether the selector selects nothing-in-particular (Kubernetes refuses to
/// act on such a controller rather than adopt every object).
pub fn is_empty(selector: &LabelSelector) -> bool {
    selector.match_labels.as_ref().is_none_or(|m| m.is_empty())
        && selector.match_expressions.as_ref().is_none_or(|m| m.is_empty())
}

/// The controller reference of an object, if any.
pub fn controller_of(meta: &ObjectMeta) -> Option<&OwnerReference> {
    meta.owner_references.iter().flatten().find(|r| r.controller == Some(true))
}

/// What a controller does with one object of its namespace.
#[derive(Debug, PartialEq, Eq)]
pub enum Claim {
    /// Owned and matching: it counts.
    Owned,
    /// An orphan the selector matches: take it.
    Adopt,
    /// Owned but no longer matching: let it go.
    Release,
    /// Someone else's, or neither owned nor matching.
    Ignore,
}

/// Decides what the controller with `owner_uid` does with `meta`.
/// `owner_deleting`: an owner being deleted adopts nothing (Kubernetes
/// rechecks this before adopting).
pub fn decide(owner_uid: &str, selector: &LabelSelector, meta: &ObjectMeta, owner_deleting: bool) -> Claim {
    let matching = matches(selector, meta.labels.as_ref());
    match controller_of(meta) {
        Some(r) if r.uid == owner_uid => {
            if matching {
                Claim::Owned
            } else if meta.deletion_timestamp.is_some() {
                // Kubernetes leaves objects being deleted with their owner.
                Claim::Owned
            } else {
                Claim::Release
            }
        }
        Some(_) => Claim::Ignore,
        None if matching && !owner_deleting && meta.deletion_timestamp.is_none() => Claim::Adopt,
        None => Claim::Ignore,
    }
}

/// The controller reference a controller puts on what it creates or adopts.
pub fn controller_ref(api_version: &str, kind: &str, name: &str, uid: &str) -> OwnerReference {
    OwnerReference {
        api_version: api_version.to_string(),
        kind: kind.to_string(),
        name: name.to_string(),
        uid: uid.to_string(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    }
}

/// A merge patch setting `meta`'s ownerReferences to `refs`, guarded by its
/// resourceVersion so a concurrent change makes it fail rather than be lost
/// (merge patches replace lists whole).
pub fn owner_refs_patch(meta: &ObjectMeta, refs: Vec<OwnerReference>) -> serde_json::Value {
    serde_json::json!({
        "metadata": {
            "resourceVersion": meta.resource_version,
            "ownerReferences": refs,
        }
    })
}

/// The ownerReferences after adopting: the controller reference added.
pub fn adopted(meta: &ObjectMeta, owner: OwnerReference) -> Vec<OwnerReference> {
    let mut refs: Vec<OwnerReference> = meta.owner_references.clone().unwrap_or_default();
    refs.retain(|r| r.uid != owner.uid);
    refs.push(owner);
    refs
}

/// The ownerReferences after releasing: the owner's reference removed.
pub fn released(meta: &ObjectMeta, owner_uid: &str) -> Vec<OwnerReference> {
    meta.owner_references.iter().flatten().filter(|r| r.uid != owner_uid).cloned().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelectorRequirement;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn selector(pairs: &[(&str, &str)]) -> LabelSelector {
        LabelSelector { match_labels: Some(labels(pairs)), match_expressions: None }
    }

    #[test]
    fn claim_selector_matches_labels_and_expressions() {
        let mut s = selector(&[("app", "web")]);
        assert!(matches(&s, Some(&labels(&[("app", "web"), ("x", "y")]))));
        assert!(!matches(&s, Some(&labels(&[("app", "db")]))));
        assert!(!matches(&s, None));
        s.match_expressions = Some(vec![LabelSelectorRequirement {
            key: "tier".into(),
            operator: "NotIn".into(),
            values: Some(vec!["cache".into()]),
        }]);
        assert!(matches(&s, Some(&labels(&[("app", "web")]))));
        assert!(!matches(&s, Some(&labels(&[("app", "web"), ("tier", "cache")]))));
        assert!(is_empty(&LabelSelector::default()));
    }

    #[test]
    fn claim_adopts_orphans_and_releases_mismatches() {
        let s = selector(&[("app", "web")]);
        let mut meta = ObjectMeta { labels: Some(labels(&[("app", "web")])), ..Default::default() };
        assert_eq!(decide("u1", &s, &meta, false), Claim::Adopt);
        assert_eq!(decide("u1", &s, &meta, true), Claim::Ignore);
        meta.owner_references = Some(vec![controller_ref("apps/v1", "ReplicaSet", "rs", "u1")]);
        assert_eq!(decide("u1", &s, &meta, false), Claim::Owned);
        assert_eq!(decide("u2", &s, &meta, false), Claim::Ignore);
        meta.labels = Some(labels(&[("app", "other")]));
        assert_eq!(decide("u1", &s, &meta, false), Claim::Release);
        assert!(released(&meta, "u1").is_empty());
        assert_eq!(adopted(&meta, controller_ref("apps/v1", "ReplicaSet", "rs", "u1")).len(), 1);
    }
}
