//! The conditions a Namespace being deleted shows, in the namespace
//! controller's words, computed from what the last pass found.

use super::content::Report;
use k8s_openapi::api::core::v1::{Namespace, NamespaceCondition};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::{Api, Patch, PatchParams};
use kube::{Client, ResourceExt};

/// What stands between a Namespace and its removal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Remaining {
    report: Report,
}

impl From<&Report> for Remaining {
    fn from(report: &Report) -> Self {
        Remaining { report: report.clone() }
    }
}

impl Remaining {
    /// Nothing is left and nothing failed: the namespace may go.
    pub fn is_empty(&self) -> bool {
        self.report.discovery_error.is_none() && self.report.errors.is_empty() && self.report.remaining.is_empty()
    }

    /// The five deletion conditions: `(type, status, reason, message)`.
    pub fn conditions(&self) -> Vec<(&'static str, &'static str, &'static str, String)> {
        let r = &self.report;
        let discovery = match &r.discovery_error {
            Some(e) => ("True", "DiscoveryFailed", format!("Discovery failed for some groups, 1 failing: {e}")),
            None => ("False", "ResourcesDiscovered", "All resources successfully discovered".to_string()),
        };
        let content = if r.errors.is_empty() {
            ("False", "ContentDeleted", "All content successfully deleted, may be waiting on finalization".to_string())
        } else {
            let mut errors = r.errors.clone();
            errors.sort();
            (
                "True",
                "ContentDeletionFailed",
                format!("Failed to delete all resource types, {} remaining: {}", errors.len(), errors.join(", ")),
            )
        };
        let remaining = if r.remaining.is_empty() {
            ("False", "ContentRemoved", "All content successfully removed".to_string())
        } else {
            let items: Vec<String> = r.remaining.iter().map(|(res, n)| format!("{res} has {n} resource instances")).collect();
            ("True", "SomeResourcesRemain", format!("Some resources are remaining: {}", items.join(", ")))
        };
        let finalizers = if r.finalizers.is_empty() {
            ("False", "ContentHasNoFinalizers", "All content-preserving finalizers finished".to_string())
        } else {
            let items: Vec<String> = r.finalizers.iter().map(|(f, n)| format!("{f} in {n} resource instances")).collect();
            (
                "True",
                "SomeFinalizersRemain",
                format!("Some content in the namespace has finalizers remaining: {}", items.join(", ")),
            )
        };
        vec![
            ("NamespaceDeletionDiscoveryFailure", discovery.0, discovery.1, discovery.2),
            (
                "NamespaceDeletionGroupVersionParsingFailure",
                "False",
                "ParsedGroupVersions",
                "All legacy kube types successfully parsed".to_string(),
            ),
            ("NamespaceDeletionContentFailure", content.0, content.1, content.2),
            ("NamespaceContentRemaining", remaining.0, remaining.1, remaining.2),
            ("NamespaceFinalizersRemaining", finalizers.0, finalizers.1, finalizers.2),
        ]
    }
}

/// Writes the conditions to the Namespace's status when they changed,
/// keeping each one's transition time while its status stays.
pub async fn record(client: &Client, ns: &Namespace, remaining: &Remaining) -> Result<(), kube::Error> {
    let old = ns.status.as_ref().and_then(|s| s.conditions.clone()).unwrap_or_default();
    let now = Time(jiff::Timestamp::now());
    let mut changed = false;
    let conditions: Vec<NamespaceCondition> = remaining
        .conditions()
        .into_iter()
        .map(|(type_, status, reason, message)| {
            let previous = old.iter().find(|c| c.type_ == type_);
            let same = previous.is_some_and(|p| {
                p.status == status && p.reason.as_deref() == Some(reason) && p.message.as_deref() == Some(message.as_str())
            });
            changed |= !same;
            let time = match previous {
                Some(p) if p.status == status => p.last_transition_time.clone(),
                _ => Some(now.clone()),
            };
            NamespaceCondition {
                type_: type_.to_string(),
                status: status.to_string(),
                reason: Some(reason.to_string()),
                message: Some(message),
                last_transition_time: time,
            }
        })
        .collect();
    if !changed {
        return Ok(());
    }
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let patch = serde_json::json!({"status": {"conditions": conditions}});
    namespaces.patch_status(&ns.name_any(), &PatchParams::default(), &Patch::Merge(&patch)).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespace_conditions_when_everything_is_gone() {
        let r = Remaining::from(&Report::default());
        assert!(r.is_empty());
        let c = r.conditions();
        assert_eq!(c.len(), 5);
        assert!(c.iter().all(|(_, status, _, _)| *status == "False"));
        assert_eq!(c[3], ("NamespaceContentRemaining", "False", "ContentRemoved", "All content successfully removed".to_string()));
    }

    #[test]
    fn namespace_conditions_name_what_remains_as_kubernetes() {
        let mut report = Report::default();
        report.remaining.insert("pods.".into(), 2);
        report.remaining.insert("widgets.example.com".into(), 1);
        report.finalizers.insert("example.com/keep".into(), 1);
        let r = Remaining::from(&report);
        assert!(!r.is_empty());
        let c = r.conditions();
        assert_eq!(
            c[3].3,
            "Some resources are remaining: pods. has 2 resource instances, widgets.example.com has 1 resource instances"
        );
        assert_eq!((c[3].1, c[3].2), ("True", "SomeResourcesRemain"));
        assert_eq!(c[4].3, "Some content in the namespace has finalizers remaining: example.com/keep in 1 resource instances");
    }

    #[test]
    fn namespace_conditions_report_failures() {
        let report = Report {
            discovery_error: Some("boom".into()),
            errors: vec!["secrets.: forbidden".into()],
            ..Default::default()
        };
        let r = Remaining::from(&report);
        assert!(!r.is_empty());
        let c = r.conditions();
        assert_eq!((c[0].1, c[0].2), ("True", "DiscoveryFailed"));
        assert_eq!(c[2].3, "Failed to delete all resource types, 1 remaining: secrets.: forbidden");
    }
}
