//! The endpoints and endpointslice controllers in one: for every Service
//! with a selector, an `Endpoints` of the same name and one EndpointSlice
//! (`kubernetes.io/service-name`) listing the selected pods that have an
//! IP, ready or not, with ports resolved by name; both follow every pod and
//! Service change, and go when the Service goes.

mod desired;

use crate::cached_pod::CachedPod;
use crate::informer::Informer;
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::{Endpoints, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::reflector::{ObjectRef, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, Resource, ResourceExt};
use std::sync::Arc;
use std::time::Duration;

const MANAGER: &str = "endpoint-controller";
const SLICE_MANAGER: &str = "endpointslice-controller.k8s.io";
const SERVICE_NAME_LABEL: &str = "kubernetes.io/service-name";
const MANAGED_BY_LABEL: &str = "endpointslice.kubernetes.io/managed-by";

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("service {service}: {source}")]
    Api {
        service: String,
        #[source]
        source: kube::Error,
    },
}

struct Ctx {
    client: Client,
}

/// Runs the controller until its watches end.
pub async fn run(client: Client, pods: Informer<CachedPod>) {
    let controller = Controller::new(Api::<Service>::all(client.clone()), watcher::Config::default());
    let services = controller.store();
    tokio::spawn(clean_up_after_services(client.clone()));
    controller
        .watches_shared_stream(pods.touched(), move |pod| services_of(&services, &pod))
        .run(reconcile, error_policy, Arc::new(Ctx { client }))
        .for_each(|result| async move {
            if let Err(e) = result {
                tracing::debug!(error = %e, "endpoints reconcile");
            }
        })
        .await;
}

/// The Services in the pod's namespace whose selector picks it.
fn services_of(services: &Store<Service>, pod: &CachedPod) -> Vec<ObjectRef<Service>> {
    let ns = pod.namespace();
    services
        .state()
        .iter()
        .filter(|s| s.namespace() == ns)
        .filter(|s| s.spec.as_ref().and_then(|sp| sp.selector.as_ref()).is_some_and(|sel| desired::selects(sel, pod)))
        .map(|s| ObjectRef::from_obj(s.as_ref()))
        .collect()
}

fn error_policy(_svc: Arc<Service>, error: &Error, _ctx: Arc<Ctx>) -> Action {
    tracing::warn!(%error, "endpoints update failed; retrying");
    Action::requeue(Duration::from_secs(2))
}

async fn reconcile(service: Arc<Service>, ctx: Arc<Ctx>) -> Result<Action, Error> {
    let has_selector = service.spec.as_ref().and_then(|s| s.selector.as_ref()).is_some_and(|s| !s.is_empty());
    if !has_selector || service.metadata.deletion_timestamp.is_some() {
        return Ok(Action::await_change());
    }
    let ns = service.namespace().unwrap_or_default();
    let name = service.name_any();
    let api_error = |source| Error::Api { service: format!("{ns}/{name}"), source };
    // Read from the API, not a cache: the pod event that triggered this
    // reconcile may not have reached a separate cache yet, and nothing
    // would trigger another.
    let selector = service
        .spec
        .as_ref()
        .and_then(|s| s.selector.as_ref())
        .map(|sel| sel.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(","))
        .unwrap_or_default();
    let pods = Api::<CachedPod>::namespaced(ctx.client.clone(), &ns)
        .list(&ListParams::default().labels(&selector))
        .await
        .map_err(api_error)?
        .items;
    let backends = desired::backends(&service, &pods);

    let mut labels = service.labels().clone();
    if service.spec.as_ref().and_then(|s| s.cluster_ip.as_deref()) == Some("None") {
        labels.insert("service.kubernetes.io/headless".into(), String::new());
    }
    let endpoints = Endpoints {
        metadata: ObjectMeta { name: Some(name.clone()), labels: Some(labels.clone()), ..Default::default() },
        subsets: Some(desired::subsets(&service, &backends)),
    };
    let apply = PatchParams::apply(MANAGER).force();
    Api::<Endpoints>::namespaced(ctx.client.clone(), &ns)
        .patch(&name, &apply, &Patch::Apply(&endpoints))
        .await
        .map_err(api_error)?;

    let (slice_endpoints, ports) = desired::slice(&service, &backends);
    let mut slice_labels = labels;
    slice_labels.insert(SERVICE_NAME_LABEL.into(), name.clone());
    slice_labels.insert(MANAGED_BY_LABEL.into(), SLICE_MANAGER.into());
    let owner = OwnerReference {
        api_version: Service::api_version(&()).into_owned(),
        kind: Service::kind(&()).into_owned(),
        name: name.clone(),
        uid: service.uid().unwrap_or_default(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    };
    let slices: Api<EndpointSlice> = Api::namespaced(ctx.client.clone(), &ns);
    let selector = format!("{SERVICE_NAME_LABEL}={name},{MANAGED_BY_LABEL}={SLICE_MANAGER}");
    let existing = slices.list_metadata(&ListParams::default().labels(&selector)).await.map_err(api_error)?;
    let mut slice = EndpointSlice {
        metadata: ObjectMeta {
            labels: Some(slice_labels),
            owner_references: Some(vec![owner]),
            ..Default::default()
        },
        address_type: "IPv4".into(),
        endpoints: slice_endpoints,
        ports: Some(ports),
    };
    match existing.items.first() {
        Some(current) => {
            let slice_name = current.name_any();
            slice.metadata.name = Some(slice_name.clone());
            slices.patch(&slice_name, &PatchParams::apply(SLICE_MANAGER).force(), &Patch::Apply(&slice)).await.map_err(api_error)?;
        }
        None => {
            slice.metadata.generate_name = Some(format!("{name}-"));
            slices.create(&PostParams { field_manager: Some(SLICE_MANAGER.into()), ..Default::default() }, &slice).await.map_err(api_error)?;
        }
    }
    Ok(Action::await_change())
}

/// Deletes a Service's Endpoints when the Service goes (its slices go
/// with it through their owner reference).
async fn clean_up_after_services(client: Client) {
    let mut events = watcher(Api::<Service>::all(client.clone()), watcher::Config::default()).default_backoff().boxed();
    loop {
        match events.try_next().await {
            Ok(Some(watcher::Event::Delete(svc))) => {
                let ns = svc.namespace().unwrap_or_default();
                let api = Api::<Endpoints>::namespaced(client.clone(), &ns);
                match api.delete(&svc.name_any(), &DeleteParams::default()).await {
                    Ok(_) => {}
                    Err(kube::Error::Api(s)) if s.code == 404 => {}
                    Err(e) => tracing::warn!(error = %e, service = %svc.name_any(), "deleting endpoints"),
                }
                let slices = Api::<EndpointSlice>::namespaced(client.clone(), &ns);
                let selector = format!("{SERVICE_NAME_LABEL}={},{MANAGED_BY_LABEL}={SLICE_MANAGER}", svc.name_any());
                if let Err(e) = slices.delete_collection(&DeleteParams::default(), &ListParams::default().labels(&selector)).await {
                    tracing::warn!(error = %e, service = %svc.name_any(), "deleting endpoint slices");
                }
            }
            Ok(Some(_)) => {}
            Ok(None) => return,
            Err(e) => tracing::debug!(error = %e, "service watch"),
        }
    }
}
