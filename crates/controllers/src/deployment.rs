//! The Deployment controller: ReplicaSets named `<deployment>-<pod-template
//! hash>`, RollingUpdate (maxSurge/maxUnavailable) and Recreate rollouts,
//! proportional scaling, revisions (`kubectl rollout history|undo`),
//! `spec.paused`, revisionHistoryLimit cleanup, the Available and
//! Progressing conditions (progressDeadlineSeconds) and `ScalingReplicaSet`
//! Events, as kube-controller-manager does them.
//!
//! [`plan`] decides a sync as a pure function; this module claims the
//! ReplicaSets, carries out the plan's writes in order and records its
//! Events. ReplicaSets come from one reflector cache that also triggers
//! reconciles; a write made from a stale cache fails on its resourceVersion
//! and the sync runs again, as in Kubernetes.

pub mod plan;
pub mod util;

use crate::events::{self, Recorder};
use crate::replicaset::claim::{self, Claim};
use futures::StreamExt;
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams, Preconditions};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::{watcher, WatchStreamExt};
use kube::{Client, Resource, ResourceExt};
use plan::Step;
use std::sync::Arc;
use std::time::Duration;

/// The Event source, as kube-controller-manager names it.
pub const COMPONENT: &str = "deployment-controller";

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A call to the API server failed.
    #[error("deployments.apps {key}: {source}")]
    Api {
        key: String,
        #[source]
        source: kube::Error,
    },
    /// The ReplicaSet cache never became ready.
    #[error("the replicaset cache is gone")]
    CacheGone,
}

struct Ctx {
    client: Client,
    replicasets: Store<ReplicaSet>,
    recorder: Recorder,
}

/// Runs the controller until its watches end.
pub async fn run(client: Client) {
    let (replicasets, writer) = reflector::store();
    let rs_events = watcher(Api::<ReplicaSet>::all(client.clone()), watcher::Config::default())
        .default_backoff()
        .reflect(writer)
        .touched_objects();
    let controller = Controller::new(Api::<Deployment>::all(client.clone()), watcher::Config::default());
    let deployments = controller.store();
    let ctx = Arc::new(Ctx { recorder: Recorder::new(client.clone(), COMPONENT), client, replicasets });
    controller
        .watches_stream(rs_events, move |rs| owners_of(&deployments, &rs))
        .run(reconcile, error_policy, ctx)
        .for_each(|result| async move {
            if let Err(error) = result {
                tracing::debug!(%error, "deployment reconcile");
            }
        })
        .await;
}

/// The Deployments a ReplicaSet event concerns: its controller, or those
/// whose selector matches an orphan.
fn owners_of(deployments: &Store<Deployment>, rs: &ReplicaSet) -> Vec<ObjectRef<Deployment>> {
    let ns = rs.namespace().unwrap_or_default();
    if let Some(owner) = claim::controller_of(&rs.metadata) {
        if owner.kind == "Deployment" && owner.api_version.starts_with("apps/") {
            return vec![ObjectRef::new(&owner.name).within(&ns)];
        }
        return Vec::new();
    }
    deployments
        .state()
        .iter()
        .filter(|d| d.namespace().as_deref() == Some(ns.as_str()))
        .filter(|d| d.spec.as_ref().is_some_and(|s| !claim::is_empty(&s.selector) && claim::matches(&s.selector, rs.metadata.labels.as_ref())))
        .map(|d| ObjectRef::from_obj(d.as_ref()))
        .collect()
}

fn error_policy(d: Arc<Deployment>, error: &Error, _ctx: Arc<Ctx>) -> Action {
    match error {
        Error::Api { source: kube::Error::Api(s), .. } if s.code == 409 => Action::requeue(Duration::from_millis(200)),
        // Deleted while being synced: its watch event ends the story.
        Error::Api { source: kube::Error::Api(s), .. } if s.code == 404 => Action::await_change(),
        _ => {
            tracing::warn!(%error, deployment = %d.name_any(), "deployment sync failed; retrying");
            Action::requeue(Duration::from_secs(5))
        }
    }
}

fn code(e: &kube::Error) -> Option<u16> {
    match e {
        kube::Error::Api(s) => Some(s.code),
        _ => None,
    }
}

#[tracing::instrument(skip_all, fields(deployment = %format!("{}/{}", d.namespace().unwrap_or_default(), d.name_any())))]
async fn reconcile(d: Arc<Deployment>, ctx: Arc<Ctx>) -> Result<Action, Error> {
    crate::cache_ready::ready(&ctx.replicasets).await.map_err(|_| Error::CacheGone)?;
    let ns = d.namespace().unwrap_or_default();
    let name = d.name_any();
    let key = format!("{ns}/{name}");
    let api_error = |source| Error::Api { key: key.clone(), source };
    let Some(spec) = d.spec.as_ref() else { return Ok(Action::await_change()) };
    let reference = d.object_ref(&());
    let deployments: Api<Deployment> = Api::namespaced(ctx.client.clone(), &ns);
    let rs_api: Api<ReplicaSet> = Api::namespaced(ctx.client.clone(), &ns);

    if claim::is_empty(&spec.selector) {
        ctx.recorder
            .record(&reference, events::WARNING, "SelectingAll", "This deployment is selecting all pods. A non-empty selector is required.".into())
            .await;
        return Ok(Action::await_change());
    }

    // Claim ReplicaSets: adopt matching orphans, release mismatches.
    let uid = d.metadata.uid.clone().unwrap_or_default();
    let deleting = d.metadata.deletion_timestamp.is_some();
    let mut owned = Vec::new();
    for rs in ctx.replicasets.state() {
        if rs.namespace().as_deref() != Some(ns.as_str()) {
            continue;
        }
        let patch = match claim::decide(&uid, &spec.selector, &rs.metadata, deleting) {
            Claim::Owned => {
                owned.push((*rs).clone());
                continue;
            }
            Claim::Ignore => continue,
            Claim::Adopt => claim::owner_refs_patch(&rs.metadata, claim::adopted(&rs.metadata, claim::controller_ref("apps/v1", "Deployment", &name, &uid))),
            Claim::Release => claim::owner_refs_patch(&rs.metadata, claim::released(&rs.metadata, &uid)),
        };
        // The patched object comes back through the watch and syncs again.
        match rs_api.patch(&rs.name_any(), &PatchParams::default(), &Patch::Merge(&patch)).await {
            Ok(_) => return Ok(Action::requeue(Duration::from_millis(100))),
            Err(e) if code(&e) == Some(404) => {}
            Err(e) => return Err(api_error(e)),
        }
    }

    let plan = plan::plan(&d, owned, jiff::Timestamp::now());
    for step in &plan.steps {
        match step {
            Step::Event { reason, message } => ctx.recorder.record(&reference, events::NORMAL, reason, message.clone()).await,
            Step::Create(rs) => match rs_api.create(&PostParams::default(), rs).await {
                Ok(_) => {}
                Err(e) if code(&e) == Some(409) => return collision(&d, rs, &rs_api, &deployments).await.map_err(api_error),
                Err(e) => {
                    let message = match &e {
                        kube::Error::Api(s) => s.message.clone(),
                        other => other.to_string(),
                    };
                    let rs_name = rs.name_any();
                    ctx.recorder.record(&reference, events::WARNING, "FailedCreate", format!("Failed to create new replica set {rs_name:?}: {message}")).await;
                    let mut status = d.status.clone().unwrap_or_default();
                    let now = jiff::Timestamp::now();
                    util::set_condition(
                        &mut status,
                        util::condition(util::PROGRESSING, "False", util::FAILED_RS_CREATE, format!("Failed to create new replica set {rs_name:?}: {message}"), now),
                    );
                    write_status(&deployments, &d, status).await.map_err(api_error)?;
                    return Err(api_error(e));
                }
            },
            Step::Update(rs) => {
                let mut body = rs.clone();
                body.metadata.managed_fields = None;
                rs_api.replace(&rs.name_any(), &PostParams::default(), &body).await.map_err(api_error)?;
            }
            Step::Delete { name: rs_name, uid } => {
                tracing::info!(replicaset = %rs_name, "deleting old replica set beyond revisionHistoryLimit");
                let params = DeleteParams { preconditions: Some(Preconditions { uid: Some(uid.clone()), resource_version: None }), ..Default::default() };
                match rs_api.delete(rs_name, &params).await {
                    Ok(_) => {}
                    Err(e) if code(&e) == Some(404) => {}
                    Err(e) => return Err(api_error(e)),
                }
            }
        }
    }
    if let Some(annotations) = &plan.annotations {
        let patch = serde_json::json!({"metadata": {"resourceVersion": d.metadata.resource_version, "annotations": annotations}});
        deployments.patch(&name, &PatchParams::default(), &Patch::Merge(&patch)).await.map_err(api_error)?;
        // The annotation write changed the resourceVersion; the status is
        // written by the sync its watch event brings.
        return Ok(Action::requeue(Duration::from_millis(100)));
    }
    if d.status.as_ref() != Some(&plan.status) {
        write_status(&deployments, &d, plan.status.clone()).await.map_err(api_error)?;
    }
    Ok(plan.requeue.map(Action::requeue).unwrap_or_else(Action::await_change))
}

/// Replaces the status, guarded by the cached resourceVersion.
async fn write_status(api: &Api<Deployment>, d: &Deployment, status: k8s_openapi::api::apps::v1::DeploymentStatus) -> Result<(), kube::Error> {
    let mut updated = d.clone();
    updated.status = Some(status);
    updated.metadata.managed_fields = None;
    api.replace_status(&d.name_any(), &PostParams::default(), &updated).await.map(|_| ())
}

/// A ReplicaSet of that name exists: ours with the same template means the
/// cache is behind; anything else is a hash collision, resolved as
/// Kubernetes does by bumping `status.collisionCount` (a new name).
async fn collision(d: &Deployment, rs: &ReplicaSet, rs_api: &Api<ReplicaSet>, deployments: &Api<Deployment>) -> Result<Action, kube::Error> {
    let existing = rs_api.get(&rs.name_any()).await?;
    let ours = claim::controller_of(&existing.metadata).is_some_and(|r| Some(&r.uid) == d.metadata.uid.as_ref());
    let same = match (existing.spec.as_ref().and_then(|s| s.template.as_ref()), d.spec.as_ref()) {
        (Some(t), Some(s)) => util::equal_ignore_hash(t, &s.template),
        _ => false,
    };
    if ours && same {
        return Ok(Action::requeue(Duration::from_millis(200)));
    }
    let mut status = d.status.clone().unwrap_or_default();
    status.collision_count = Some(status.collision_count.unwrap_or(0).saturating_add(1));
    tracing::warn!(replicaset = %rs.name_any(), "pod-template hash collision; bumping collisionCount");
    write_status(deployments, d, status).await?;
    Ok(Action::requeue(Duration::from_millis(200)))
}
