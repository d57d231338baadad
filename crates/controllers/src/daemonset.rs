//! The DaemonSet controller: one pod per node that fits the template
//! (nodeSelector, node affinity, taints against tolerations, with the
//! automatic daemon tolerations), pinned to its node by a required node
//! affinity on `metadata.name` and bound by the default scheduler;
//! RollingUpdate (maxUnavailable, maxSurge) and OnDelete;
//! ControllerRevisions (`kubectl rollout history|undo|status`) and the
//! status, as kube-controller-manager's `daemonset-controller`.
//!
//! [`placement`] and [`plan`] decide as pure functions; this module claims
//! pods, settles the revisions and carries the plan out. Pods get
//! generated names, so [`Expectations`] keep a sync that runs before the
//! pod cache shows this controller's own creates and deletes from
//! repeating them. Any node change resyncs every DaemonSet. The pod cache
//! holds only pods labelled `controller-revision-hash` (all this controller
//! makes), so an orphan is adopted only if it carries that label.

pub mod placement;
pub mod plan;

use crate::deployment::util::pod_template_hash;
use crate::events::{self, Recorder};
use crate::history::{self, POD_REVISION_LABEL};
use crate::replicaset::claim::{self, Claim};
use crate::replicaset::expectations::Expectations;
use futures::StreamExt;
use k8s_openapi::api::apps::v1::{ControllerRevision, DaemonSet};
use k8s_openapi::api::core::v1::{Node, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::runtime::RawExtension;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams, Preconditions};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, Resource, ResourceExt};
use std::sync::Arc;
use std::time::Duration;

/// The Event source, as kube-controller-manager names it.
pub const COMPONENT: &str = "daemonset-controller";

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A call to the API server failed.
    #[error("daemonsets.apps {key}: {source}")]
    Api {
        key: String,
        #[source]
        source: kube::Error,
    },
    /// A cache never became ready.
    #[error("the pod or node cache is gone")]
    CacheGone,
    /// Another revision holds the name this template hashes to.
    #[error("daemonsets.apps {0}: hash collision on its ControllerRevision; collisionCount bumped")]
    Collision(String),
}

struct Ctx {
    client: Client,
    pods: Store<Pod>,
    nodes: Store<Node>,
    expectations: Expectations,
    recorder: Recorder,
}

/// Runs the controller until its watches end.
pub async fn run(client: Client) {
    let (pods, writer) = reflector::store();
    // Only pods with a revision label: every pod this controller makes
    // has one, and a cache of every pod in the cluster would cost as much
    // memory as the ReplicaSet controller's for nothing.
    let pods_config = watcher::Config::default().labels(history::POD_REVISION_LABEL);
    let pod_events = watcher(Api::<Pod>::all(client.clone()), pods_config).default_backoff().reflect(writer).touched_objects();
    let (nodes, node_writer) = reflector::store();
    let node_events = watcher(Api::<Node>::all(client.clone()), watcher::Config::default()).default_backoff().reflect(node_writer).touched_objects();
    let controller = Controller::new(Api::<DaemonSet>::all(client.clone()), watcher::Config::default());
    let sets = controller.store();
    let all = sets.clone();
    let ctx = Arc::new(Ctx { recorder: Recorder::new(client.clone(), COMPONENT), client, pods, nodes, expectations: Expectations::default() });
    controller
        .watches_stream(pod_events, move |pod| owners_of(&sets, &pod))
        .watches_stream(node_events, move |_node: Node| all.state().iter().map(|d| ObjectRef::from_obj(d.as_ref())).collect::<Vec<_>>())
        .run(reconcile, error_policy, ctx)
        .for_each(|result| async move {
            if let Err(error) = result {
                tracing::debug!(%error, "daemonset reconcile");
            }
        })
        .await;
}

/// The DaemonSets a pod event concerns: its controller, or those whose
/// selector matches an orphan.
fn owners_of(sets: &Store<DaemonSet>, pod: &Pod) -> Vec<ObjectRef<DaemonSet>> {
    let ns = pod.namespace().unwrap_or_default();
    if let Some(owner) = claim::controller_of(&pod.metadata) {
        if owner.kind == "DaemonSet" && owner.api_version.starts_with("apps/") {
            return vec![ObjectRef::new(&owner.name).within(&ns)];
        }
        return Vec::new();
    }
    sets.state()
        .iter()
        .filter(|d| d.namespace().as_deref() == Some(ns.as_str()))
        .filter(|d| d.spec.as_ref().is_some_and(|s| !claim::is_empty(&s.selector) && claim::matches(&s.selector, pod.metadata.labels.as_ref())))
        .map(|d| ObjectRef::from_obj(d.as_ref()))
        .collect()
}

fn error_policy(ds: Arc<DaemonSet>, error: &Error, _ctx: Arc<Ctx>) -> Action {
    match error {
        Error::Api { source: kube::Error::Api(s), .. } if s.code == 409 => Action::requeue(Duration::from_millis(200)),
        Error::Api { source: kube::Error::Api(s), .. } if s.code == 404 => Action::await_change(),
        Error::Collision(_) => Action::requeue(Duration::from_millis(200)),
        _ => {
            tracing::warn!(%error, daemonset = %ds.name_any(), "daemonset sync failed; retrying");
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

fn message(e: &kube::Error) -> String {
    match e {
        kube::Error::Api(s) => s.message.clone(),
        other => other.to_string(),
    }
}

#[tracing::instrument(skip_all, fields(daemonset = %format!("{}/{}", ds.namespace().unwrap_or_default(), ds.name_any())))]
async fn reconcile(ds: Arc<DaemonSet>, ctx: Arc<Ctx>) -> Result<Action, Error> {
    crate::cache_ready::ready(&ctx.pods).await.map_err(|_| Error::CacheGone)?;
    crate::cache_ready::ready(&ctx.nodes).await.map_err(|_| Error::CacheGone)?;
    let ns = ds.namespace().unwrap_or_default();
    let name = ds.name_any();
    let key = format!("{ns}/{name}");
    let api_error = |source| Error::Api { key: key.clone(), source };
    let Some(spec) = ds.spec.as_ref() else {
        return Ok(Action::await_change());
    };
    if claim::is_empty(&spec.selector) {
        return Ok(Action::await_change());
    }
    let uid = ds.metadata.uid.clone().unwrap_or_default();
    let deleting = ds.metadata.deletion_timestamp.is_some();
    let pods_api: Api<Pod> = Api::namespaced(ctx.client.clone(), &ns);
    let reference = ds.object_ref(&());

    let mut owned: Vec<Pod> = Vec::new();
    for pod in ctx.pods.state() {
        if pod.namespace().as_deref() != Some(ns.as_str()) {
            continue;
        }
        let decision = claim::decide(&uid, &spec.selector, &pod.metadata, deleting);
        let patch = match decision {
            Claim::Owned => {
                owned.push((*pod).clone());
                continue;
            }
            Claim::Ignore => continue,
            Claim::Adopt => claim::owner_refs_patch(&pod.metadata, claim::adopted(&pod.metadata, claim::controller_ref("apps/v1", "DaemonSet", &name, &uid))),
            Claim::Release => claim::owner_refs_patch(&pod.metadata, claim::released(&pod.metadata, &uid)),
        };
        match pods_api.patch(&pod.name_any(), &PatchParams::default(), &Patch::Merge(&patch)).await {
            Ok(p) if decision == Claim::Adopt => owned.push(p),
            Ok(_) => {}
            Err(e) if code(&e) == Some(404) => {}
            Err(e) => return Err(api_error(e)),
        }
    }
    if deleting {
        return Ok(Action::await_change());
    }

    let rev_api: Api<ControllerRevision> = Api::namespaced(ctx.client.clone(), &ns);
    let (current, old) = construct_history(&ds, &rev_api, &ctx.client).await?;
    let hash = current.metadata.labels.as_ref().and_then(|l| l.get(POD_REVISION_LABEL)).cloned().unwrap_or_default();

    let in_cache = |n: &str| ctx.pods.get(&ObjectRef::new(n).within(&ns)).is_some();
    let synced = ctx.expectations.satisfied(&key, in_cache);
    let nodes = ctx.nodes.state();
    let node_refs: Vec<&Node> = nodes.iter().map(|n| n.as_ref()).collect();
    let pod_refs: Vec<&Pod> = owned.iter().collect();
    let now = jiff::Timestamp::now();
    let plan = plan::plan(&ds, &node_refs, &pod_refs, &hash, synced, now);

    for warning in &plan.warnings {
        ctx.recorder.record(&reference, events::WARNING, "FailedDaemonPod", warning.clone()).await;
    }
    let creates = futures::future::join_all(plan.create_on.iter().map(|node| {
        let pod = placement::new_pod(&ds, node, &hash);
        let api = pods_api.clone();
        async move { api.create(&PostParams::default(), &pod).await }
    }))
    .await;
    let mut failed = false;
    for result in creates {
        match result {
            Ok(pod) => {
                let pod_name = pod.name_any();
                ctx.expectations.created(&key, &pod_name);
                ctx.recorder.record(&reference, events::NORMAL, "SuccessfulCreate", format!("Created pod: {pod_name}")).await;
            }
            Err(e) => {
                failed = true;
                ctx.recorder.record(&reference, events::WARNING, "FailedCreate", format!("Error creating: {}", message(&e))).await;
            }
        }
    }
    let deletes = futures::future::join_all(plan.delete.iter().map(|d| {
        ctx.expectations.deleted(&key, &d.name);
        let params = DeleteParams { preconditions: Some(Preconditions { uid: Some(d.uid.clone()), resource_version: None }), ..Default::default() };
        let api = pods_api.clone();
        async move { (d.name.clone(), api.delete(&d.name, &params).await) }
    }))
    .await;
    for (pod_name, result) in deletes {
        match result {
            Ok(_) => ctx.recorder.record(&reference, events::NORMAL, "SuccessfulDelete", format!("Deleted pod: {pod_name}")).await,
            Err(e) if matches!(code(&e), Some(404) | Some(409)) => {}
            Err(e) => {
                failed = true;
                ctx.recorder.record(&reference, events::WARNING, "FailedDelete", format!("Error deleting: {}", message(&e))).await;
            }
        }
    }

    if ds.status.as_ref() != Some(&plan.status) {
        let mut updated = (*ds).clone();
        updated.status = Some(plan.status.clone());
        updated.metadata.managed_fields = None;
        let sets: Api<DaemonSet> = Api::namespaced(ctx.client.clone(), &ns);
        match sets.replace_status(&name, &PostParams::default(), &updated).await {
            Ok(_) => {}
            Err(e) if code(&e) == Some(404) => return Ok(Action::await_change()),
            Err(e) => return Err(api_error(e)),
        }
    }

    // Old revisions beyond revisionHistoryLimit go, oldest first, unless
    // a pod still runs them.
    let limit = spec.revision_history_limit.unwrap_or(10).max(0) as usize;
    let live = |r: &ControllerRevision| {
        let h = r.metadata.labels.as_ref().and_then(|l| l.get(POD_REVISION_LABEL));
        h.is_some_and(|h| owned.iter().any(|p| p.metadata.labels.as_ref().and_then(|l| l.get(POD_REVISION_LABEL)) == Some(h)))
    };
    for r in history::oldest_unused(&old, live, old.len().saturating_sub(limit)) {
        match rev_api.delete(&r.name_any(), &DeleteParams::default()).await {
            Ok(_) => {}
            Err(e) if code(&e) == Some(404) => {}
            Err(e) => return Err(api_error(e)),
        }
    }

    if failed {
        return Ok(Action::requeue(Duration::from_secs(5)));
    }
    if !synced {
        // The pod cache's events requeue us; this bounds a lost one.
        return Ok(Action::requeue(Duration::from_secs(10)));
    }
    let min_ready = spec.min_ready_seconds.unwrap_or(0);
    if min_ready > 0 && plan.status.number_ready > plan.status.number_available.unwrap_or(0) {
        return Ok(Action::requeue(Duration::from_secs(min_ready as u64)));
    }
    Ok(Action::await_change())
}

/// The revision storing the current template (created, or renumbered as
/// the newest) and the older ones, oldest first (`constructHistory`).
async fn construct_history(ds: &DaemonSet, api: &Api<ControllerRevision>, client: &Client) -> Result<(ControllerRevision, Vec<ControllerRevision>), Error> {
    let ns = ds.namespace().unwrap_or_default();
    let name = ds.name_any();
    let key = format!("{ns}/{name}");
    let api_error = |source| Error::Api { key: key.clone(), source };
    let template = ds.spec.as_ref().map(|s| s.template.clone()).unwrap_or_default();
    let patch = history::template_patch(&template);
    let revisions = history::list_owned(api, ds.metadata.uid.as_deref().unwrap_or_default()).await.map_err(api_error)?;
    let (mut current, old): (Vec<ControllerRevision>, Vec<ControllerRevision>) = revisions.into_iter().partition(|r| history::same_data(r, &patch));
    let next = history::next_revision(&old);
    let Some(mut cur) = current.pop() else {
        let collision_count = ds.status.as_ref().and_then(|s| s.collision_count);
        let hash = pod_template_hash(&template, collision_count);
        let mut labels = template.metadata.as_ref().and_then(|m| m.labels.clone()).unwrap_or_default();
        labels.insert(POD_REVISION_LABEL.into(), hash.clone());
        let cr = ControllerRevision {
            metadata: ObjectMeta {
                name: Some(format!("{name}-{hash}")),
                namespace: Some(ns.clone()),
                labels: Some(labels),
                annotations: ds.metadata.annotations.clone(),
                owner_references: Some(vec![claim::controller_ref("apps/v1", "DaemonSet", &name, ds.metadata.uid.as_deref().unwrap_or_default())]),
                ..Default::default()
            },
            data: Some(RawExtension(patch.clone())),
            revision: next,
        };
        return match api.create(&PostParams::default(), &cr).await {
            Ok(created) => Ok((created, old)),
            Err(e) if code(&e) == Some(409) => {
                let existing = api.get(&cr.name_any()).await.map_err(api_error)?;
                if history::same_data(&existing, &patch) {
                    return Ok((existing, old));
                }
                // Another template holds the name: a new collision count
                // gives the next try another hash.
                let sets: Api<DaemonSet> = Api::namespaced(client.clone(), &ns);
                let mut live = sets.get_status(&name).await.map_err(api_error)?;
                let mut status = live.status.take().unwrap_or_default();
                if status.collision_count == collision_count {
                    status.collision_count = Some(collision_count.unwrap_or(0).saturating_add(1));
                    live.status = Some(status);
                    live.metadata.managed_fields = None;
                    sets.replace_status(&name, &PostParams::default(), &live).await.map_err(api_error)?;
                    tracing::info!(daemonset = %key, "hash collision on a ControllerRevision; bumped collisionCount");
                }
                Err(Error::Collision(key.clone()))
            }
            Err(e) => Err(api_error(e)),
        };
    };
    // Duplicates of the current template (a lost race) are left to the
    // history limit; the newest one counts.
    let mut old = old;
    old.extend(current);
    old.sort_by(history::by_revision);
    let next = history::next_revision(&old);
    if cur.revision < next || !cur.metadata.labels.as_ref().is_some_and(|l| l.contains_key(POD_REVISION_LABEL)) {
        cur.revision = cur.revision.max(next);
        let label = cur.name_any();
        cur.metadata.labels.get_or_insert_with(Default::default).entry(POD_REVISION_LABEL.into()).or_insert(label);
        cur.metadata.managed_fields = None;
        cur = api.replace(&cur.name_any(), &PostParams::default(), &cur).await.map_err(api_error)?;
    }
    Ok((cur, old))
}
