//! The service account controller and the root CA publisher: every active
//! namespace has a `default` ServiceAccount and a `kube-root-ca.crt`
//! ConfigMap holding the cluster CA, recreated when deleted and restored
//! when edited.

use futures::StreamExt;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, ServiceAccount};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::reflector::ObjectRef;
use kube::runtime::watcher;
use kube::{Client, ResourceExt};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

pub const DEFAULT_SERVICE_ACCOUNT: &str = "default";
pub const ROOT_CA_CONFIG_MAP: &str = "kube-root-ca.crt";
const ROOT_CA_KEY: &str = "ca.crt";
const DESCRIPTION: &str = "Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters.";

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("namespace {namespace}: {source}")]
    Api {
        namespace: String,
        #[source]
        source: kube::Error,
    },
}

struct Ctx {
    client: Client,
    root_ca: Option<String>,
}

/// Runs the controller until its watches end; without `root_ca` only the
/// ServiceAccounts are kept.
pub async fn run(client: Client, root_ca: Option<String>) {
    let by_name = |name: &str| watcher::Config::default().fields(&format!("metadata.name={name}"));
    let to_namespace = |obj_ns: Option<String>| obj_ns.map(|ns| ObjectRef::<Namespace>::new(&ns));
    Controller::new(Api::<Namespace>::all(client.clone()), watcher::Config::default())
        .watches(Api::<ServiceAccount>::all(client.clone()), by_name(DEFAULT_SERVICE_ACCOUNT), move |sa| {
            to_namespace(sa.namespace())
        })
        .watches(Api::<ConfigMap>::all(client.clone()), by_name(ROOT_CA_CONFIG_MAP), move |cm| to_namespace(cm.namespace()))
        .run(reconcile, error_policy, Arc::new(Ctx { client, root_ca }))
        .for_each(|result| async move {
            if let Err(e) = result {
                tracing::debug!(error = %e, "service account reconcile");
            }
        })
        .await;
}

fn error_policy(_ns: Arc<Namespace>, error: &Error, _ctx: Arc<Ctx>) -> Action {
    tracing::warn!(%error, "service account upkeep failed; retrying");
    Action::requeue(Duration::from_secs(5))
}

/// Whether a namespace takes new objects (not being deleted).
fn is_active(ns: &Namespace) -> bool {
    ns.metadata.deletion_timestamp.is_none() && ns.status.as_ref().and_then(|s| s.phase.as_deref()) != Some("Terminating")
}

/// The root CA ConfigMap's wanted data, when it differs from `current`.
fn root_ca_update(current: Option<&ConfigMap>, pem: &str) -> Option<ConfigMap> {
    let data = BTreeMap::from([(ROOT_CA_KEY.to_string(), pem.to_string())]);
    if current.is_some_and(|cm| cm.data.as_ref() == Some(&data)) {
        return None;
    }
    Some(ConfigMap {
        metadata: ObjectMeta {
            name: Some(ROOT_CA_CONFIG_MAP.into()),
            annotations: Some(BTreeMap::from([("kubernetes.io/description".to_string(), DESCRIPTION.to_string())])),
            ..Default::default()
        },
        data: Some(data),
        ..Default::default()
    })
}

/// Creates an object, taking "already exists" (someone was faster) as done.
async fn create_missing<K>(api: &Api<K>, obj: &K) -> Result<(), kube::Error>
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + serde::Serialize + std::fmt::Debug,
{
    match api.create(&PostParams::default(), obj).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(s)) if s.code == 409 => Ok(()),
        Err(e) => Err(e),
    }
}

async fn reconcile(ns: Arc<Namespace>, ctx: Arc<Ctx>) -> Result<Action, Error> {
    if !is_active(&ns) {
        return Ok(Action::await_change());
    }
    let name = ns.name_any();
    let api_error = |source| Error::Api { namespace: name.clone(), source };
    let accounts: Api<ServiceAccount> = Api::namespaced(ctx.client.clone(), &name);
    if accounts.get_opt(DEFAULT_SERVICE_ACCOUNT).await.map_err(api_error)?.is_none() {
        let sa = ServiceAccount {
            metadata: ObjectMeta { name: Some(DEFAULT_SERVICE_ACCOUNT.into()), ..Default::default() },
            ..Default::default()
        };
        create_missing(&accounts, &sa).await.map_err(api_error)?;
    }
    if let Some(pem) = &ctx.root_ca {
        let maps: Api<ConfigMap> = Api::namespaced(ctx.client.clone(), &name);
        let current = maps.get_opt(ROOT_CA_CONFIG_MAP).await.map_err(api_error)?;
        if let Some(wanted) = root_ca_update(current.as_ref(), pem) {
            match current {
                None => create_missing(&maps, &wanted).await.map_err(api_error)?,
                Some(_) => {
                    let patch = serde_json::json!({"data": wanted.data, "metadata": {"annotations": wanted.metadata.annotations}});
                    maps.patch(ROOT_CA_CONFIG_MAP, &PatchParams::default(), &Patch::Merge(&patch)).await.map_err(api_error)?;
                }
            }
        }
    }
    Ok(Action::await_change())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_accounts_root_ca_is_restored_only_when_it_differs() {
        let wanted = root_ca_update(None, "PEM").expect("created when missing");
        assert_eq!(wanted.data.as_ref().and_then(|d| d.get("ca.crt")).map(String::as_str), Some("PEM"));
        assert!(root_ca_update(Some(&wanted), "PEM").is_none());
        let mut edited = wanted.clone();
        edited.data = Some(BTreeMap::from([("ca.crt".to_string(), "tampered".to_string())]));
        assert!(root_ca_update(Some(&edited), "PEM").is_some());
    }

    #[test]
    fn service_accounts_skip_terminating_namespaces() {
        let mut ns = Namespace::default();
        assert!(is_active(&ns));
        ns.status = Some(k8s_openapi::api::core::v1::NamespaceStatus { phase: Some("Terminating".into()), ..Default::default() });
        assert!(!is_active(&ns));
    }
}
