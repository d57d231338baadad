//! Deleting the content of a namespace: every namespaced resource the
//! server's discovery lists (at each group's preferred version), by
//! collection where the resource allows it, then what is left.

use kube::api::{Api, DeleteParams, DynamicObject, ListParams};
use kube::discovery::{Discovery, Scope, verbs};
use kube::{Client, ResourceExt};
use std::collections::BTreeMap;

/// What a pass over a namespace found.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Report {
    /// Discovery itself failed: nothing is known about the content.
    pub discovery_error: Option<String>,
    /// Resources that could not be listed or deleted, with the reason.
    pub errors: Vec<String>,
    /// `resource.group` (`pods.` for the core group, as Kubernetes' namespace
    /// controller names them) -> objects left.
    pub remaining: BTreeMap<String, usize>,
    /// Finalizer -> objects left that carry it.
    pub finalizers: BTreeMap<String, usize>,
}

fn qualified(group: &str, plural: &str) -> String {
    format!("{plural}.{group}")
}

/// Deletes everything in `namespace` and reports what remains.
pub async fn delete_all(client: &Client, namespace: &str) -> Report {
    let mut report = Report::default();
    let discovery = match Discovery::new(client.clone()).run().await {
        Ok(d) => d,
        Err(e) => {
            report.discovery_error = Some(e.to_string());
            return report;
        }
    };
    for group in discovery.groups() {
        for (ar, caps) in group.recommended_resources() {
            // As Kubernetes' namespace controller: only what can be
            // deleted (resource metrics, say, cannot and go by themselves).
            if caps.scope != Scope::Namespaced || !caps.supports_operation(verbs::LIST) || !caps.supports_operation(verbs::DELETE) {
                continue;
            }
            let name = qualified(&ar.group, &ar.plural);
            let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), namespace, &ar);
            if let Err(e) = delete_content(&api, caps.supports_operation(verbs::DELETE_COLLECTION)).await {
                report.errors.push(format!("{name}: {e}"));
                continue;
            }
            match api.list_metadata(&ListParams::default()).await {
                Ok(left) if !left.items.is_empty() => {
                    report.remaining.insert(name, left.items.len());
                    for obj in &left.items {
                        for f in obj.finalizers() {
                            *report.finalizers.entry(f.clone()).or_default() += 1;
                        }
                    }
                }
                Ok(_) => {}
                Err(e) => report.errors.push(format!("{name}: {e}")),
            }
        }
    }
    report
}

async fn delete_content(api: &Api<DynamicObject>, by_collection: bool) -> Result<(), kube::Error> {
    let params = DeleteParams::background();
    if by_collection {
        return api.delete_collection(&params, &ListParams::default()).await.map(|_| ());
    }
    for obj in api.list_metadata(&ListParams::default()).await?.items {
        match api.delete(&obj.name_any(), &params).await {
            Ok(_) => {}
            Err(kube::Error::Api(s)) if s.code == 404 => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
