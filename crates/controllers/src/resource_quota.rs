//! The ResourceQuota controller (kube-controller-manager's
//! `resourcequota-controller`): keeps every quota's `status.hard` equal to
//! `spec.hard` and `status.used` equal to what the namespace's objects
//! use, recomputed when the quota changes, when an object of a kind quotas
//! charge changes or goes (a pod that ends stops counting compute
//! resources), and every 5 minutes. Admission charges usage at create time;
//! this controller gives it back. Its status writes carry the quota's
//! resourceVersion, so a charge admission made meanwhile is never
//! overwritten: on a conflict it reads the quota again and recomputes.
//!
//! [`usage`] computes a quota's status, a pure function.

pub mod usage;

use futures::StreamExt;
use k8s_openapi::api::core::v1::{
    ConfigMap, PersistentVolumeClaim, Pod, ReplicationController, ResourceQuota, Secret, Service,
};
use kube::api::{Api, ApiResource, DynamicObject, ListParams, PostParams};
use kube::core::PartialObjectMeta;
use kube::runtime::controller::{Action, Controller};
use kube::runtime::reflector::{ObjectRef, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, Resource, ResourceExt};
use serde::de::DeserializeOwned;
use std::fmt::Debug;
use std::sync::Arc;
use std::time::Duration;
use usage::Charged;

/// The controller's name in kube-controller-manager.
pub const COMPONENT: &str = "resourcequota-controller";
/// Kubernetes' `--resource-quota-sync-period`.
const RESYNC: Duration = Duration::from_secs(300);
/// Status writes that lose to concurrent charges before giving the turn
/// to the next reconcile.
const ATTEMPTS: usize = 5;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A call to the API server failed.
    #[error("resourcequotas {key}: {source}")]
    Api {
        key: String,
        #[source]
        source: kube::Error,
    },
    /// A quota or object did not convert.
    #[error("resourcequotas {key}: {source}")]
    Json {
        key: String,
        #[source]
        source: serde_json::Error,
    },
    /// A `count/` name refers to a resource discovery does not list.
    #[error("resourcequotas {key}: no resource {resource}")]
    Unknown { key: String, resource: String },
}

struct Ctx {
    client: Client,
}

/// Runs the controller until its watches end.
pub async fn run(client: Client) {
    let controller = Controller::new(
        Api::<ResourceQuota>::all(client.clone()),
        watcher::Config::default(),
    );
    let quotas = controller.store();
    let controller = watch_kind::<Pod>(controller, &client, &quotas);
    let controller = watch_kind::<Service>(controller, &client, &quotas);
    let controller = watch_kind::<PersistentVolumeClaim>(controller, &client, &quotas);
    let controller = watch_kind::<ConfigMap>(controller, &client, &quotas);
    let controller = watch_kind::<Secret>(controller, &client, &quotas);
    let controller = watch_kind::<ReplicationController>(controller, &client, &quotas);
    controller
        .run(reconcile, error_policy, Arc::new(Ctx { client }))
        .for_each(|result| async move {
            if let Err(error) = result {
                tracing::debug!(%error, "resourcequota reconcile");
            }
        })
        .await;
}

/// Changes to objects of kind `K` (metadata suffices: any change, status
/// included, moves the resourceVersion) recompute their namespace's quotas.
fn watch_kind<K>(
    controller: Controller<ResourceQuota>,
    client: &Client,
    quotas: &Store<ResourceQuota>,
) -> Controller<ResourceQuota>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
{
    let quotas = quotas.clone();
    let changes = watcher(
        Api::<PartialObjectMeta<K>>::all(client.clone()),
        watcher::Config::default(),
    )
    .default_backoff()
    .touched_objects();
    controller.watches_stream(changes, move |obj: PartialObjectMeta<K>| {
        let ns = obj.namespace();
        quotas
            .state()
            .iter()
            .filter(|q| q.namespace() == ns)
            .map(|q| ObjectRef::from_obj(q.as_ref()))
            .collect::<Vec<_>>()
    })
}

fn error_policy(quota: Arc<ResourceQuota>, error: &Error, _ctx: Arc<Ctx>) -> Action {
    match error {
        Error::Api {
            source: kube::Error::Api(s),
            ..
        } if s.code == 404 => Action::await_change(),
        _ => {
            tracing::warn!(%error, quota = %quota.name_any(), "quota sync failed; retrying");
            Action::requeue(Duration::from_secs(5))
        }
    }
}

async fn reconcile(quota: Arc<ResourceQuota>, ctx: Arc<Ctx>) -> Result<Action, Error> {
    if quota.metadata.deletion_timestamp.is_some() {
        return Ok(Action::await_change());
    }
    let ns = quota.namespace().unwrap_or_default();
    let name = quota.name_any();
    let key = format!("{ns}/{name}");
    let api: Api<ResourceQuota> = Api::namespaced(ctx.client.clone(), &ns);
    let api_error = |source| Error::Api {
        key: key.clone(),
        source,
    };
    let json_error = |source| Error::Json {
        key: key.clone(),
        source,
    };
    let mut current = ResourceQuota::clone(&quota);
    for attempt in 0..ATTEMPTS {
        if attempt > 0 {
            current = api.get(&name).await.map_err(api_error)?;
        }
        // The quota is read before the objects: a charge admission records
        // after this read makes the write below conflict.
        let value = serde_json::to_value(&current).map_err(json_error)?;
        let mut objects = Vec::new();
        for resource in usage::charged(&usage::hard_names(&value)) {
            let items = list(&ctx.client, &ns, &resource, &key).await?;
            objects.push((resource, items));
        }
        let wanted = usage::status(&value, &objects);
        if usage::unchanged(&value, &wanted) {
            return Ok(Action::requeue(RESYNC));
        }
        let mut updated = current.clone();
        updated.status = Some(serde_json::from_value(wanted).map_err(json_error)?);
        match api
            .replace_status(&name, &PostParams::default(), &updated)
            .await
        {
            Ok(_) => return Ok(Action::requeue(RESYNC)),
            Err(kube::Error::Api(s)) if s.code == 409 => continue,
            Err(source) => return Err(api_error(source)),
        }
    }
    Ok(Action::requeue(Duration::from_millis(200)))
}

/// The namespace's objects of one charged resource, as JSON.
async fn list(
    client: &Client,
    ns: &str,
    resource: &Charged,
    key: &str,
) -> Result<Vec<serde_json::Value>, Error> {
    let api_resource = if resource.group.is_empty() {
        let kind = match resource.plural.as_str() {
            "pods" => "Pod",
            "services" => "Service",
            "persistentvolumeclaims" => "PersistentVolumeClaim",
            "configmaps" => "ConfigMap",
            "secrets" => "Secret",
            "replicationcontrollers" => "ReplicationController",
            "resourcequotas" => "ResourceQuota",
            other => {
                return list_as(client, ns, &discovered(client, "", other, key).await?, key).await;
            }
        };
        ApiResource {
            group: String::new(),
            version: "v1".into(),
            api_version: "v1".into(),
            kind: kind.into(),
            plural: resource.plural.clone(),
        }
    } else {
        discovered(client, &resource.group, &resource.plural, key).await?
    };
    list_as(client, ns, &api_resource, key).await
}

async fn list_as(
    client: &Client,
    ns: &str,
    api_resource: &ApiResource,
    key: &str,
) -> Result<Vec<serde_json::Value>, Error> {
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), ns, api_resource);
    let list = api
        .list(&ListParams::default())
        .await
        .map_err(|source| Error::Api {
            key: key.to_string(),
            source,
        })?;
    list.items
        .iter()
        .map(|o| {
            serde_json::to_value(o).map_err(|source| Error::Json {
                key: key.to_string(),
                source,
            })
        })
        .collect()
}

/// The served resource `plural` of `group`, found through discovery.
async fn discovered(
    client: &Client,
    group: &str,
    plural: &str,
    key: &str,
) -> Result<ApiResource, Error> {
    let missing = || Error::Unknown {
        key: key.to_string(),
        resource: format!("{plural}.{group}"),
    };
    let api_group = kube::discovery::group(client, group)
        .await
        .map_err(|_| missing())?;
    api_group
        .recommended_resources()
        .into_iter()
        .map(|(r, _)| r)
        .find(|r| r.plural == plural)
        .ok_or_else(missing)
}
