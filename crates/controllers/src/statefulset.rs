//! The StatefulSet controller: pods `<set>-<ordinal>` with stable identity
//! and claims from `volumeClaimTemplates`, OrderedReady and Parallel pod
//! management, RollingUpdate with a partition and OnDelete, the PVC
//! retention policy, ControllerRevisions (`kubectl rollout
//! history|undo|status`) and the status, as kube-controller-manager's
//! `statefulset-controller` does them.
//!
//! [`plan`] decides a sync as a pure function; this module claims pods,
//! settles the revisions, carries out the plan's steps in order and
//! records Events in Kubernetes' words ("create Pod web-0 in StatefulSet
//! web successful"). Pods and claims come from reflector caches; pod names
//! are fixed, so a write made from a stale cache fails (AlreadyExists,
//! NotFound, a uid precondition) instead of doubling a pod. The pod cache
//! holds only pods labelled `controller-revision-hash` (all this
//! controller makes), so an orphan is adopted only if it carries that label.

pub mod identity;
pub mod plan;

use crate::events::{self, Recorder};
use crate::history;
use crate::replicaset::claim::{self, Claim};
use futures::StreamExt;
use k8s_openapi::api::apps::v1::{ControllerRevision, StatefulSet};
use k8s_openapi::api::core::v1::{ObjectReference, PersistentVolumeClaim, Pod};
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams, Preconditions};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, Resource, ResourceExt};
use plan::{Revisions, Step, Why};
use std::sync::Arc;
use std::time::Duration;

/// The Event source, as kube-controller-manager names it.
pub const COMPONENT: &str = "statefulset-controller";

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A call to the API server failed.
    #[error("statefulsets.apps {key}: {source}")]
    Api {
        key: String,
        #[source]
        source: kube::Error,
    },
    /// A cache never became ready.
    #[error("the pod or claim cache is gone")]
    CacheGone,
}

struct Ctx {
    client: Client,
    pods: Store<Pod>,
    claims: Store<PersistentVolumeClaim>,
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
    let (claims, claim_writer) = reflector::store();
    let claim_cache =
        watcher(Api::<PersistentVolumeClaim>::all(client.clone()), watcher::Config::default()).default_backoff().reflect(claim_writer).for_each(|_| async {});
    let controller = Controller::new(Api::<StatefulSet>::all(client.clone()), watcher::Config::default());
    let sets = controller.store();
    let ctx = Arc::new(Ctx { recorder: Recorder::new(client.clone(), COMPONENT), client, pods, claims });
    let control = controller.watches_stream(pod_events, move |pod| owners_of(&sets, &pod)).run(reconcile, error_policy, ctx).for_each(|result| async move {
        if let Err(error) = result {
            tracing::debug!(%error, "statefulset reconcile");
        }
    });
    tokio::select! {
        _ = control => {}
        _ = claim_cache => {}
    }
}

/// The StatefulSets a pod event concerns: its controller, or those whose
/// selector matches an orphan named like their pods.
fn owners_of(sets: &Store<StatefulSet>, pod: &Pod) -> Vec<ObjectRef<StatefulSet>> {
    let ns = pod.namespace().unwrap_or_default();
    if let Some(owner) = claim::controller_of(&pod.metadata) {
        if owner.kind == "StatefulSet" && owner.api_version.starts_with("apps/") {
            return vec![ObjectRef::new(&owner.name).within(&ns)];
        }
        return Vec::new();
    }
    sets.state()
        .iter()
        .filter(|s| s.namespace().as_deref() == Some(ns.as_str()) && identity::is_member(&s.name_any(), pod))
        .filter(|s| s.spec.as_ref().is_some_and(|sp| !claim::is_empty(&sp.selector) && claim::matches(&sp.selector, pod.metadata.labels.as_ref())))
        .map(|s| ObjectRef::from_obj(s.as_ref()))
        .collect()
}

fn error_policy(set: Arc<StatefulSet>, error: &Error, _ctx: Arc<Ctx>) -> Action {
    match error {
        Error::Api { source: kube::Error::Api(s), .. } if s.code == 409 => Action::requeue(Duration::from_millis(200)),
        Error::Api { source: kube::Error::Api(s), .. } if s.code == 404 => Action::await_change(),
        _ => {
            tracing::warn!(%error, statefulset = %set.name_any(), "statefulset sync failed; retrying");
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

#[tracing::instrument(skip_all, fields(statefulset = %format!("{}/{}", set.namespace().unwrap_or_default(), set.name_any())))]
async fn reconcile(set: Arc<StatefulSet>, ctx: Arc<Ctx>) -> Result<Action, Error> {
    crate::cache_ready::ready(&ctx.pods).await.map_err(|_| Error::CacheGone)?;
    crate::cache_ready::ready(&ctx.claims).await.map_err(|_| Error::CacheGone)?;
    let ns = set.namespace().unwrap_or_default();
    let name = set.name_any();
    let key = format!("{ns}/{name}");
    let api_error = |source| Error::Api { key: key.clone(), source };
    let Some(spec) = set.spec.as_ref() else {
        return Ok(Action::await_change());
    };
    if claim::is_empty(&spec.selector) {
        return Ok(Action::await_change());
    }
    let uid = set.metadata.uid.clone().unwrap_or_default();
    let deleting = set.metadata.deletion_timestamp.is_some();
    let pods_api: Api<Pod> = Api::namespaced(ctx.client.clone(), &ns);

    // Claim pods: adopt matching orphans named like ours, release others.
    let mut owned: Vec<Pod> = Vec::new();
    for pod in ctx.pods.state() {
        if pod.namespace().as_deref() != Some(ns.as_str()) {
            continue;
        }
        let member = identity::is_member(&name, &pod);
        let decision = match claim::decide(&uid, &spec.selector, &pod.metadata, deleting) {
            Claim::Owned if !member && pod.metadata.deletion_timestamp.is_none() => Claim::Release,
            Claim::Adopt if !member => Claim::Ignore,
            d => d,
        };
        let patch = match decision {
            Claim::Owned => {
                owned.push((*pod).clone());
                continue;
            }
            Claim::Ignore => continue,
            Claim::Adopt => claim::owner_refs_patch(&pod.metadata, claim::adopted(&pod.metadata, claim::controller_ref("apps/v1", "StatefulSet", &name, &uid))),
            Claim::Release => claim::owner_refs_patch(&pod.metadata, claim::released(&pod.metadata, &uid)),
        };
        match pods_api.patch(&pod.name_any(), &PatchParams::default(), &Patch::Merge(&patch)).await {
            Ok(p) if decision == Claim::Adopt => owned.push(p),
            Ok(_) => {}
            Err(e) if code(&e) == Some(404) => {}
            Err(e) => return Err(api_error(e)),
        }
    }

    // Revisions: the update revision is the one storing the current
    // template (created, or renumbered as the newest); the current one is
    // what the status names.
    let rev_api: Api<ControllerRevision> = Api::namespaced(ctx.client.clone(), &ns);
    let revisions = history::list_owned(&rev_api, &uid).await.map_err(api_error)?;
    let mut collision_count = set.status.as_ref().and_then(|s| s.collision_count).unwrap_or(0);
    let patch = history::template_patch(&spec.template);
    let labels = spec.template.metadata.as_ref().and_then(|m| m.labels.as_ref());
    let next = history::next_revision(&revisions);
    let equal: Vec<&ControllerRevision> = revisions.iter().filter(|r| history::same_data(r, &patch)).collect();
    let update = match equal.last() {
        Some(r) if Some(r.metadata.name.as_ref()) == revisions.last().map(|l| l.metadata.name.as_ref()) => (*r).clone(),
        Some(r) => {
            let mut renumbered = (*r).clone();
            renumbered.revision = next;
            renumbered.metadata.managed_fields = None;
            rev_api.replace(&r.name_any(), &PostParams::default(), &renumbered).await.map_err(api_error)?
        }
        None if deleting => return Ok(Action::await_change()),
        None => {
            let cr = history::new_revision(&set.metadata, "StatefulSet", labels, patch.clone(), next, Some(collision_count));
            history::create(&rev_api, &name, &cr, &mut collision_count).await.map_err(api_error)?
        }
    };
    let status_current = set.status.as_ref().and_then(|s| s.current_revision.clone());
    let current = revisions.iter().find(|r| r.metadata.name.is_some() && r.metadata.name == status_current).cloned().unwrap_or_else(|| update.clone());
    let current_template = history::template_of(&current).unwrap_or_else(|| spec.template.clone());
    let (current_name, update_name) = (current.name_any(), update.name_any());
    let revs =
        Revisions { current: &current_name, current_template: &current_template, update: &update_name, update_template: &spec.template, collision_count };

    let now = jiff::Timestamp::now();
    let claims = ctx.claims.state();
    let owned_refs: Vec<&Pod> = owned.iter().collect();
    let plan = plan::plan(
        &set,
        &revs,
        &owned_refs,
        |n| claims.iter().find(|c| c.namespace().as_deref() == Some(ns.as_str()) && c.name_any() == n).map(|c| c.as_ref()),
        now,
    );
    let reference = set.object_ref(&());
    let mut requeue = None;
    for step in plan.steps {
        if let Some(wait) = execute(&ctx, &set, &reference, &ns, step).await.map_err(api_error)? {
            requeue = Some(wait);
            break;
        }
    }

    if set.status.as_ref() != Some(&plan.status) {
        let mut updated = (*set).clone();
        updated.status = Some(plan.status.clone());
        updated.metadata.managed_fields = None;
        let sets: Api<StatefulSet> = Api::namespaced(ctx.client.clone(), &ns);
        match sets.replace_status(&name, &PostParams::default(), &updated).await {
            Ok(_) => {}
            Err(e) if code(&e) == Some(404) => return Ok(Action::await_change()),
            Err(e) => return Err(api_error(e)),
        }
    }

    // Truncate history: keep the current and update revisions and those
    // pods still run, plus revisionHistoryLimit others.
    let live = |r: &ControllerRevision| {
        let n = r.name_any();
        n == current_name || n == update_name || owned.iter().any(|p| plan::revision_of(p) == Some(n.as_str()))
    };
    let unused = revisions.iter().filter(|r| !live(r)).count();
    let limit = spec.revision_history_limit.unwrap_or(10).max(0) as usize;
    for r in history::oldest_unused(&revisions, live, unused.saturating_sub(limit)) {
        match rev_api.delete(&r.name_any(), &DeleteParams::default()).await {
            Ok(_) => {}
            Err(e) if code(&e) == Some(404) => {}
            Err(e) => return Err(api_error(e)),
        }
    }

    if let Some(wait) = requeue {
        return Ok(Action::requeue(wait));
    }
    let min_ready = spec.min_ready_seconds.unwrap_or(0);
    let st = &plan.status;
    if min_ready > 0 && st.ready_replicas.unwrap_or(0) > st.available_replicas.unwrap_or(0) {
        // Pods become available by the clock, not by an event.
        return Ok(Action::requeue(Duration::from_secs(min_ready as u64)));
    }
    Ok(Action::await_change())
}

/// Carries out one step; `Some(wait)` when the cache is behind and the
/// sync should stop and run again after `wait`.
async fn execute(ctx: &Ctx, set: &StatefulSet, reference: &ObjectReference, ns: &str, step: Step) -> Result<Option<Duration>, kube::Error> {
    let set_name = set.name_any();
    let pods_api: Api<Pod> = Api::namespaced(ctx.client.clone(), ns);
    let claims_api: Api<PersistentVolumeClaim> = Api::namespaced(ctx.client.clone(), ns);
    match step {
        Step::Create { pod, claims } => {
            let pod_name = pod.name_any();
            create_claims(ctx, reference, &claims_api, &set_name, &pod_name, &claims).await?;
            match pods_api.create(&PostParams::default(), &pod).await {
                Ok(_) => {
                    let m = format!("create Pod {pod_name} in StatefulSet {set_name} successful");
                    ctx.recorder.record(reference, events::NORMAL, "SuccessfulCreate", m).await;
                }
                // The cache has not shown it yet.
                Err(e) if code(&e) == Some(409) => return Ok(Some(Duration::from_millis(200))),
                Err(e) => {
                    let m = format!("create Pod {pod_name} in StatefulSet {set_name} failed error: {}", message(&e));
                    ctx.recorder.record(reference, events::WARNING, "FailedCreate", m).await;
                    return Err(e);
                }
            }
        }
        Step::CreateClaims { pod, claims } => create_claims(ctx, reference, &claims_api, &set_name, &pod, &claims).await?,
        Step::Delete { pod, uid, why } => {
            if why == Why::Update {
                tracing::info!(pod = %pod, "terminating pod for update");
            }
            let params = DeleteParams { preconditions: Some(Preconditions { uid: Some(uid), resource_version: None }), ..Default::default() };
            match pods_api.delete(&pod, &params).await {
                Ok(_) => {
                    let m = format!("delete Pod {pod} in StatefulSet {set_name} successful");
                    ctx.recorder.record(reference, events::NORMAL, "SuccessfulDelete", m).await;
                }
                // Already gone, or replaced by a newer pod of that name.
                Err(e) if matches!(code(&e), Some(404) | Some(409)) => {
                    return Ok(Some(Duration::from_millis(200)));
                }
                Err(e) => {
                    let m = format!("delete Pod {pod} in StatefulSet {set_name} failed error: {}", message(&e));
                    ctx.recorder.record(reference, events::WARNING, "FailedDelete", m).await;
                    return Err(e);
                }
            }
        }
        Step::SetClaimOwners { claim, resource_version, refs } => {
            let patch = serde_json::json!({"metadata": {"resourceVersion": resource_version, "ownerReferences": refs}});
            match claims_api.patch(&claim, &PatchParams::default(), &Patch::Merge(&patch)).await {
                Ok(_) => {}
                Err(e) if code(&e) == Some(404) => {}
                Err(e) => return Err(e),
            }
        }
        Step::Relabel { pod, labels } => {
            let patch = serde_json::json!({"metadata": {"labels": labels}});
            match pods_api.patch(&pod, &PatchParams::default(), &Patch::Merge(&patch)).await {
                Ok(_) => {
                    let m = format!("update Pod {pod} in StatefulSet {set_name} successful");
                    ctx.recorder.record(reference, events::NORMAL, "SuccessfulUpdate", m).await;
                }
                Err(e) if code(&e) == Some(404) => {}
                Err(e) => return Err(e),
            }
        }
    }
    Ok(None)
}

/// Creates a pod's missing claims (`createPersistentVolumeClaims`), one
/// Event each; a claim that already exists is fine.
async fn create_claims(
    ctx: &Ctx,
    reference: &ObjectReference,
    api: &Api<PersistentVolumeClaim>,
    set: &str,
    pod: &str,
    claims: &[PersistentVolumeClaim],
) -> Result<(), kube::Error> {
    for c in claims {
        let claim_name = c.name_any();
        match api.create(&PostParams::default(), c).await {
            Ok(_) => {
                let m = format!("create Claim {claim_name} Pod {pod} in StatefulSet {set} success");
                ctx.recorder.record(reference, events::NORMAL, "SuccessfulCreate", m).await;
            }
            Err(e) if code(&e) == Some(409) => {}
            Err(e) => {
                let m = format!("create Claim {claim_name} for Pod {pod} in StatefulSet {set} failed error: {}", message(&e));
                ctx.recorder.record(reference, events::WARNING, "FailedCreate", m).await;
                return Err(e);
            }
        }
    }
    Ok(())
}
