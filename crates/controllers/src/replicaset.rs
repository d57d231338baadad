//! The ReplicaSet controller: keeps `spec.replicas` active pods from the
//! template, adopts orphans the selector matches and releases owned pods it
//! no longer matches, deletes surplus pods in Kubernetes' order, and reports
//! replicas, fully labeled, ready and available counts, `observedGeneration`
//! and the `ReplicaFailure` condition. Events `SuccessfulCreate`,
//! `SuccessfulDelete`, `FailedCreate`, `FailedDelete` as kube-controller-
//! manager writes them.
//!
//! Pods are read from one reflector cache, which also triggers reconciles;
//! [`expectations`] keep a reconcile that runs before the cache shows this
//! controller's own writes from repeating them.

pub mod claim;
pub mod expectations;
pub mod pods;

use crate::cached_pod::CachedPod;
use crate::informer::{Cache, Informer};
use crate::events::{self, Recorder};
use claim::Claim;
use expectations::Expectations;
use futures::StreamExt;
use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams, Preconditions};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::reflector::{ObjectRef, Store};
use kube::runtime::watcher;
use kube::{Client, Resource, ResourceExt};
use std::sync::Arc;
use std::time::Duration;

/// The Event source, as kube-controller-manager names it.
pub const COMPONENT: &str = "replicaset-controller";

/// At most this many pods created or deleted per sync (`BurstReplicas`).
const BURST: usize = 500;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A call to the API server failed.
    #[error("replicasets.apps {key}: {source}")]
    Api {
        key: String,
        #[source]
        source: kube::Error,
    },
    /// The pod cache never became ready.
    #[error("the pod cache is gone")]
    CacheGone,
}

struct Ctx {
    client: Client,
    pods: Cache<CachedPod>,
    replicasets: Store<ReplicaSet>,
    expectations: Expectations,
    recorder: Recorder,
}

/// Runs the controller until its watches end.
pub async fn run(client: Client, informer: Informer<CachedPod>) {
    let (pods, pod_events) = (informer.cache(), informer.touched());
    let controller = Controller::new(Api::<ReplicaSet>::all(client.clone()), watcher::Config::default());
    let replicasets = controller.store();
    let lookup = replicasets.clone();
    let ctx = Arc::new(Ctx {
        recorder: Recorder::new(client.clone(), COMPONENT),
        client,
        pods,
        replicasets,
        expectations: Expectations::default(),
    });
    controller
        .watches_shared_stream(pod_events, move |pod| owners_of(&lookup, &pod))
        .run(reconcile, error_policy, ctx)
        .for_each(|result| async move {
            if let Err(error) = result {
                tracing::debug!(%error, "replicaset reconcile");
            }
        })
        .await;
}

/// The ReplicaSets a pod event concerns: its controller, or every
/// ReplicaSet of its namespace whose selector matches an orphan.
fn owners_of(replicasets: &Store<ReplicaSet>, pod: &CachedPod) -> Vec<ObjectRef<ReplicaSet>> {
    let ns = pod.namespace().unwrap_or_default();
    if let Some(owner) = claim::controller_of(&pod.metadata) {
        if owner.kind == "ReplicaSet" && owner.api_version.starts_with("apps/") {
            return vec![ObjectRef::new(&owner.name).within(&ns)];
        }
        return Vec::new();
    }
    replicasets
        .state()
        .iter()
        .filter(|rs| rs.namespace().as_deref() == Some(ns.as_str()))
        .filter(|rs| rs.spec.as_ref().is_some_and(|s| !claim::is_empty(&s.selector) && claim::matches(&s.selector, pod.metadata.labels.as_ref())))
        .map(|rs| ObjectRef::from_obj(rs.as_ref()))
        .collect()
}

fn error_policy(rs: Arc<ReplicaSet>, error: &Error, _ctx: Arc<Ctx>) -> Action {
    match error {
        Error::Api { source: kube::Error::Api(s), .. } if s.code == 409 => Action::requeue(Duration::from_millis(200)),
        // Deleted while being synced: its watch event ends the story.
        Error::Api { source: kube::Error::Api(s), .. } if s.code == 404 => Action::await_change(),
        _ => {
            tracing::warn!(%error, replicaset = %rs.name_any(), "replicaset sync failed; retrying");
            Action::requeue(Duration::from_secs(5))
        }
    }
}

fn is_not_found(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(s) if s.code == 404)
}

/// The message a client would see for a failed call (the Status message).
fn api_message(e: &kube::Error) -> String {
    match e {
        kube::Error::Api(s) => s.message.clone(),
        other => other.to_string(),
    }
}

#[tracing::instrument(skip_all, fields(replicaset = %format!("{}/{}", rs.namespace().unwrap_or_default(), rs.name_any())))]
async fn reconcile(rs: Arc<ReplicaSet>, ctx: Arc<Ctx>) -> Result<Action, Error> {
    ctx.pods.ready().await.map_err(|_| Error::CacheGone)?;
    let ns = rs.namespace().unwrap_or_default();
    let name = rs.name_any();
    let key = format!("{ns}/{name}");
    let api_error = |source| Error::Api { key: key.clone(), source };
    let Some(spec) = rs.spec.as_ref() else { return Ok(Action::await_change()) };
    let uid = rs.metadata.uid.clone().unwrap_or_default();
    let deleting = rs.metadata.deletion_timestamp.is_some();
    let pods_api: Api<CachedPod> = Api::namespaced(ctx.client.clone(), &ns);
    let in_cache = |n: &str| ctx.pods.get(&ns, n).is_some();
    let needs_sync = ctx.expectations.satisfied(&key, in_cache);

    // Claim: adopt matching orphans, release owned pods that stopped matching.
    let mut owned: Vec<Arc<CachedPod>> = Vec::new();
    let namespace_pods: Vec<Arc<CachedPod>> = ctx
        .pods
        .in_namespace(&ns)
        .into_iter()
        .filter(|p| pods::is_active(p))
        .collect();
    for pod in &namespace_pods {
        // An empty selector would adopt every pod; validation forbids it.
        if claim::is_empty(&spec.selector) {
            break;
        }
        match claim::decide(&uid, &spec.selector, &pod.metadata, deleting) {
            Claim::Owned => owned.push(pod.clone()),
            Claim::Ignore => {}
            Claim::Adopt => {
                let refs = claim::adopted(&pod.metadata, claim::controller_ref("apps/v1", "ReplicaSet", &name, &uid));
                let patch = claim::owner_refs_patch(&pod.metadata, refs);
                match pods_api.patch(&pod.name_any(), &PatchParams::default(), &Patch::Merge(&patch)).await {
                    Ok(p) => {
                        tracing::info!(pod = %pod.name_any(), "adopted pod");
                        owned.push(Arc::new(p.trimmed()));
                    }
                    Err(e) if is_not_found(&e) => {}
                    Err(e) => return Err(api_error(e)),
                }
            }
            Claim::Release => {
                let patch = claim::owner_refs_patch(&pod.metadata, claim::released(&pod.metadata, &uid));
                match pods_api.patch(&pod.name_any(), &PatchParams::default(), &Patch::Merge(&patch)).await {
                    Ok(_) => tracing::info!(pod = %pod.name_any(), "released pod"),
                    Err(e) if is_not_found(&e) => {}
                    Err(e) => return Err(api_error(e)),
                }
            }
        }
    }

    let desired = spec.replicas.unwrap_or(1).max(0) as usize;
    let mut failure: Option<(&str, String)> = None;
    if needs_sync && !deleting {
        failure = manage(&rs, &ctx, &key, &owned, desired).await;
    }

    let now = jiff::Timestamp::now();
    let owned_refs: Vec<&CachedPod> = owned.iter().map(|p| p.as_ref()).collect();
    let status = pods::status(&rs, &owned_refs, failure.clone(), now);
    if rs.status.as_ref() != Some(&status) {
        let mut updated = (*rs).clone();
        updated.status = Some(status.clone());
        updated.metadata.managed_fields = None;
        let rs_api: Api<ReplicaSet> = Api::namespaced(ctx.client.clone(), &ns);
        match rs_api.replace_status(&name, &PostParams::default(), &updated).await {
            Ok(_) => {}
            Err(e) if is_not_found(&e) => return Ok(Action::await_change()),
            Err(e) => return Err(api_error(e)),
        }
    }
    if failure.is_some() {
        return Ok(Action::requeue(Duration::from_secs(5)));
    }
    if !needs_sync {
        // The cache's events requeue us; this bounds a lost one.
        return Ok(Action::requeue(Duration::from_secs(10)));
    }
    let min_ready = spec.min_ready_seconds.unwrap_or(0);
    let ready = status.ready_replicas.unwrap_or(0);
    let available = status.available_replicas.unwrap_or(0);
    if min_ready > 0 && ready == status.replicas && available != status.replicas {
        // Pods become available by the clock, not by an event.
        return Ok(Action::requeue(Duration::from_secs(min_ready as u64)));
    }
    Ok(Action::await_change())
}

/// Creates or deletes pods toward `desired`; returns the ReplicaFailure
/// reason and message if a call failed.
async fn manage(rs: &ReplicaSet, ctx: &Ctx, key: &str, owned: &[Arc<CachedPod>], desired: usize) -> Option<(&'static str, String)> {
    let ns = rs.namespace().unwrap_or_default();
    let pods_api: Api<Pod> = Api::namespaced(ctx.client.clone(), &ns);
    let reference = rs.object_ref(&());
    if owned.len() < desired {
        let mut remaining = (desired - owned.len()).min(BURST);
        // Slow start, as Kubernetes: batches of 1, 2, 4, ... so a create
        // that fails for every pod (quota) fails once, not `diff` times.
        let mut batch = 1;
        while remaining > 0 {
            let n = batch.min(remaining);
            let template = pods::pod_for(rs);
            let params = PostParams::default();
            let results = futures::future::join_all((0..n).map(|_| pods_api.create(&params, &template))).await;
            let mut first_error = None;
            for r in results {
                match r {
                    Ok(pod) => {
                        let pod_name = pod.name_any();
                        ctx.expectations.created(key, &pod_name);
                        ctx.recorder.record(&reference, events::NORMAL, "SuccessfulCreate", format!("Created pod: {pod_name}")).await;
                    }
                    Err(e) => {
                        let message = api_message(&e);
                        tracing::warn!(error = %message, "creating a pod failed");
                        ctx.recorder.record(&reference, events::WARNING, "FailedCreate", format!("Error creating: {message}")).await;
                        first_error.get_or_insert(message);
                    }
                }
            }
            if let Some(message) = first_error {
                return Some((pods::FAILED_CREATE, message));
            }
            remaining -= n;
            batch *= 2;
        }
    } else if owned.len() > desired {
        let diff = (owned.len() - desired).min(BURST);
        let related = related_pods(rs, ctx, &ns);
        let candidates: Vec<&CachedPod> = owned.iter().map(|p| p.as_ref()).collect();
        let related_refs: Vec<&CachedPod> = related.iter().map(|p| p.as_ref()).collect();
        let doomed = pods::to_delete(&candidates, &related_refs, diff, jiff::Timestamp::now());
        let results = futures::future::join_all(doomed.iter().map(|pod| {
            let pod_name = pod.name_any();
            ctx.expectations.deleted(key, &pod_name);
            let params = DeleteParams {
                preconditions: Some(Preconditions { uid: pod.metadata.uid.clone(), resource_version: None }),
                ..Default::default()
            };
            let api = pods_api.clone();
            async move { (pod_name.clone(), api.delete(&pod_name, &params).await) }
        }))
        .await;
        let mut first_error = None;
        for (pod_name, r) in results {
            match r {
                Ok(_) => ctx.recorder.record(&reference, events::NORMAL, "SuccessfulDelete", format!("Deleted pod: {pod_name}")).await,
                Err(e) if is_not_found(&e) => {}
                Err(e) => {
                    let message = api_message(&e);
                    ctx.recorder.record(&reference, events::WARNING, "FailedDelete", format!("Error deleting: {message}")).await;
                    first_error.get_or_insert(message);
                }
            }
        }
        if let Some(message) = first_error {
            return Some((pods::FAILED_DELETE, message));
        }
    }
    None
}

/// Active pods of every ReplicaSet with the same controller (the
/// Deployment's other ReplicaSets), for ranking doubled-up pods.
fn related_pods(rs: &ReplicaSet, ctx: &Ctx, ns: &str) -> Vec<Arc<CachedPod>> {
    let own_uid = rs.metadata.uid.clone().unwrap_or_default();
    let mut family = vec![own_uid];
    if let Some(owner) = claim::controller_of(&rs.metadata) {
        family.extend(
            ctx.replicasets
                .state()
                .iter()
                .filter(|o| o.namespace().as_deref() == Some(ns))
                .filter(|o| claim::controller_of(&o.metadata).is_some_and(|r| r.uid == owner.uid))
                .filter_map(|o| o.metadata.uid.clone()),
        );
    }
    ctx.pods
        .in_namespace(ns)
        .into_iter()
        .filter(|p| pods::is_active(p))
        .filter(|p| claim::controller_of(&p.metadata).is_some_and(|r| family.contains(&r.uid)))
        .collect()
}
