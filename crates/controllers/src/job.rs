//! The Job controller (batch/v1): runs pods until `completions` succeed
//! (NonIndexed, or Indexed with one success per completion index), at
//! most `parallelism` at a time, replacing failed pods after an
//! exponential back-off until `backoffLimit`, `activeDeadlineSeconds` or
//! the pod failure policy fails the Job; deletes active pods of a
//! suspended Job. Ended pods are tracked as Kubernetes v1.33 does, with the
//! `batch.kubernetes.io/job-tracking` finalizer: recorded in
//! `status.uncountedTerminatedPods`, finalizer removed, then counted; the
//! interim `SuccessCriteriaMet`/`FailureTarget` condition comes first and
//! `Complete`/`Failed` only when no pod is left terminating. Events as
//! kube-controller-manager's `job-controller` writes them.
//!
//! The decisions are in [`sync`] (pure); this module reads the caches and
//! does the writes.

pub mod failure_policy;
pub mod indexes;
pub mod pods;
pub mod sync;

use crate::cached_pod::CachedPod;
use crate::informer::{Cache, Informer};
use crate::events::{self, Recorder};
use crate::replicaset::claim::{self, Claim};
use crate::replicaset::expectations::Expectations;
use futures::StreamExt;
use k8s_openapi::api::batch::v1::{Job, JobStatus};
use k8s_openapi::api::core::v1::{ObjectReference, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams, Preconditions};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::reflector::{ObjectRef, Store};
use kube::runtime::watcher;
use kube::{Client, Resource, ResourceExt};
use parking_lot::Mutex;
use pods::Backoff;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;
use sync::Manage;

/// The Event source, as kube-controller-manager names it.
pub const COMPONENT: &str = "job-controller";

/// How often pods whose Job is gone or finished lose a leftover tracking
/// finalizer (Kubernetes' orphan queue reacts to pod events instead).
const ORPHAN_SCAN: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A call to the API server failed.
    #[error("jobs.batch {key}: {source}")]
    Api {
        key: String,
        #[source]
        source: kube::Error,
    },
    /// The pod cache never became ready.
    #[error("the pod cache is gone")]
    CacheGone,
}

/// Pod UIDs whose tracking finalizer this controller removed, per Job,
/// until the pod cache shows it gone (Kubernetes' `finalizerExpectations`):
/// such a pod is neither counted again nor left uncounted.
#[derive(Default)]
struct FinalizerExpectations {
    by_job: Mutex<HashMap<String, HashSet<String>>>,
}

impl FinalizerExpectations {
    fn expect(&self, key: &str, uid: String) {
        self.by_job
            .lock()
            .entry(key.to_string())
            .or_default()
            .insert(uid);
    }

    /// The UIDs still expected: pods the cache shows with the finalizer.
    fn pending(&self, key: &str, owned: &[Arc<CachedPod>]) -> HashSet<String> {
        let mut all = self.by_job.lock();
        let Some(uids) = all.get_mut(key) else {
            return HashSet::new();
        };
        uids.retain(|uid| {
            owned
                .iter()
                .any(|p| pods::uid(p) == *uid && pods::has_finalizer(p))
        });
        let out = uids.clone();
        if uids.is_empty() {
            all.remove(key);
        }
        out
    }

    fn forget(&self, key: &str) {
        self.by_job.lock().remove(key);
    }
}

struct Ctx {
    client: Client,
    pods: Cache<CachedPod>,
    jobs: Store<Job>,
    expectations: Expectations,
    finalizers: FinalizerExpectations,
    recorder: Recorder,
    backoff: Backoff,
}

/// Runs the controller until its watches end.
pub async fn run(client: Client, pods: Informer<CachedPod>) {
    run_with(client, pods, Backoff::default()).await
}

/// Runs the controller with another pod failure back-off.
pub async fn run_with(client: Client, informer: Informer<CachedPod>, backoff: Backoff) {
    let (pods, pod_events) = (informer.cache(), informer.touched());
    let controller = Controller::new(Api::<Job>::all(client.clone()), watcher::Config::default());
    let jobs = controller.store();
    let lookup = jobs.clone();
    let ctx = Arc::new(Ctx {
        recorder: Recorder::new(client.clone(), COMPONENT),
        client,
        pods,
        jobs,
        expectations: Expectations::default(),
        finalizers: FinalizerExpectations::default(),
        backoff,
    });
    let orphans = tokio::spawn(clean_orphans(ctx.clone()));
    controller
        .watches_shared_stream(pod_events, move |pod| owners_of(&lookup, &pod))
        .run(reconcile, error_policy, ctx)
        .for_each(|result| async move {
            if let Err(error) = result {
                tracing::debug!(%error, "job reconcile");
            }
        })
        .await;
    orphans.abort();
}

fn is_job_ref(r: &k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference) -> bool {
    r.kind == "Job" && r.api_version == "batch/v1"
}

/// The Jobs a pod event concerns: its controller, or the Jobs of its
/// namespace whose selector matches an orphan.
fn owners_of(jobs: &Store<Job>, pod: &CachedPod) -> Vec<ObjectRef<Job>> {
    let ns = pod.namespace().unwrap_or_default();
    if let Some(owner) = claim::controller_of(&pod.metadata) {
        if is_job_ref(owner) {
            return vec![ObjectRef::new(&owner.name).within(&ns)];
        }
        return Vec::new();
    }
    jobs.state()
        .iter()
        .filter(|j| j.namespace().as_deref() == Some(ns.as_str()))
        .filter(|j| {
            j.spec
                .as_ref()
                .and_then(|s| s.selector.as_ref())
                .is_some_and(|s| {
                    !claim::is_empty(s) && claim::matches(s, pod.metadata.labels.as_ref())
                })
        })
        .map(|j| ObjectRef::from_obj(j.as_ref()))
        .collect()
}

fn error_policy(job: Arc<Job>, error: &Error, _ctx: Arc<Ctx>) -> Action {
    match error {
        Error::Api {
            source: kube::Error::Api(s),
            ..
        } if s.code == 409 => Action::requeue(Duration::from_millis(200)),
        Error::Api {
            source: kube::Error::Api(s),
            ..
        } if s.code == 404 => Action::await_change(),
        _ => {
            tracing::warn!(%error, job = %job.name_any(), "job sync failed; retrying");
            Action::requeue(Duration::from_secs(5))
        }
    }
}

fn is_not_found(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(s) if s.code == 404)
}

fn api_message(e: &kube::Error) -> String {
    match e {
        kube::Error::Api(s) => s.message.clone(),
        other => other.to_string(),
    }
}

fn min_requeue(a: Option<Duration>, b: Duration) -> Option<Duration> {
    Some(a.map_or(b, |a| a.min(b)))
}

#[tracing::instrument(skip_all, fields(job = %format!("{}/{}", job.namespace().unwrap_or_default(), job.name_any())))]
async fn reconcile(job: Arc<Job>, ctx: Arc<Ctx>) -> Result<Action, Error> {
    ctx.pods.ready().await.map_err(|_| Error::CacheGone)?;
    let ns = job.namespace().unwrap_or_default();
    let name = job.name_any();
    let key = format!("{ns}/{name}");
    if sync::is_finished(&job) {
        ctx.expectations.forget(&key);
        ctx.finalizers.forget(&key);
        return Ok(Action::await_change());
    }
    let api_error = |source| Error::Api {
        key: key.clone(),
        source,
    };
    let Some(selector) = job.spec.as_ref().and_then(|s| s.selector.clone()) else {
        return Ok(Action::await_change());
    };
    let uid = job.metadata.uid.clone().unwrap_or_default();
    let cached = |n: &str| ctx.pods.get(&ns, n);
    let satisfied = ctx.expectations.satisfied_by(
        &key,
        |n| cached(n).is_some(),
        |n| cached(n).is_none_or(|p| pods::deleting(&p)),
    );
    let owned = claim_pods(&job, &ctx, &selector, &uid)
        .await
        .map_err(api_error)?;
    let expected_rm = ctx.finalizers.pending(&key, &owned);
    let all: Vec<&CachedPod> = owned.iter().map(|p| p.as_ref()).collect();
    let now = jiff::Timestamp::now();

    let mut job_now = (*job).clone();
    job_now.metadata.managed_fields = None;
    let mut status = job_now.status.clone().unwrap_or_default();
    if status.start_time.is_none() && !sync::suspended(&job_now) {
        status.start_time = Some(Time(now));
    }
    job_now.status = Some(status.clone());
    let obs = sync::observe(&job_now, &all, &expected_rm);
    let (mut finished, mut requeue) = sync::failure(&job_now, &all, &obs, now);
    let (mut active, mut terminating, mut ready) =
        (obs.active.len() as i32, obs.terminating, obs.ready);
    let mut suspend_changed = false;
    let mut manage_error = None;
    if finished.is_some() {
        let (deleted, deleted_ready, error) =
            delete_pods(&job_now, &ctx, &key, &obs.active, false).await;
        if deleted != active || !satisfied {
            // Pods left or not yet seen: finish on a later sync.
            finished = None;
        }
        (active, terminating, ready) = (
            active - deleted,
            terminating + deleted,
            ready - deleted_ready,
        );
        manage_error = error;
    } else {
        let mut managed = false;
        if satisfied && job_now.metadata.deletion_timestamp.is_none() {
            managed = true;
            let backoff = ctx
                .backoff
                .remaining(&all, |p| sync::counts_failure(&job_now, p), now);
            match sync::manage(&job_now, &obs, backoff, now) {
                Manage::Delete(doomed) => {
                    let (deleted, deleted_ready, error) =
                        delete_pods(&job_now, &ctx, &key, &doomed, true).await;
                    (active, terminating, ready) = (
                        active - deleted,
                        terminating + deleted,
                        ready - deleted_ready,
                    );
                    manage_error = error;
                }
                Manage::Create(indexes) => {
                    let (created, error) = create_pods(&job_now, &ctx, &key, &indexes).await;
                    active += created;
                    manage_error = error;
                }
                Manage::Wait(d) => requeue = min_requeue(requeue, d),
                Manage::Idle => {}
            }
        }
        if sync::complete(&job_now, obs.succeeded, active) {
            let (reason, message) = sync::COMPLETIONS_REACHED;
            finished = Some(sync::condition("SuccessCriteriaMet", reason, message, now));
        } else if managed {
            suspend_changed = suspend_conditions(&job_now, &mut status, &ctx, now).await;
        }
    }
    let needs_flush = suspend_changed
        || status.active != Some(active)
        || status.ready != Some(ready)
        || status.terminating != Some(terminating);
    status.active = Some(active);
    status.ready = Some(ready);
    status.terminating = Some(terminating);
    track(
        job_now,
        status,
        &ctx,
        &key,
        &all,
        &expected_rm,
        finished,
        &obs,
        needs_flush,
        terminating,
        now,
    )
    .await?;
    if let Some(error) = manage_error {
        return Err(api_error(error));
    }
    if !satisfied {
        requeue = min_requeue(requeue, Duration::from_secs(5));
    }
    Ok(requeue.map_or_else(Action::await_change, |d| {
        Action::requeue(d + Duration::from_millis(50))
    }))
}

/// Claims the Job's pods: owned ones (ended and terminating included),
/// active orphans the selector matches (adopted with the tracking
/// finalizer); owned pods that stopped matching are released.
async fn claim_pods(
    job: &Job,
    ctx: &Ctx,
    selector: &k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector,
    uid: &str,
) -> Result<Vec<Arc<CachedPod>>, kube::Error> {
    let ns = job.namespace().unwrap_or_default();
    let pods_api: Api<CachedPod> = Api::namespaced(ctx.client.clone(), &ns);
    let deleting = job.metadata.deletion_timestamp.is_some();
    let mut owned = Vec::new();
    for pod in ctx
        .pods
        .in_namespace(&ns)
    {
        if claim::is_empty(selector) {
            break;
        }
        match claim::decide(uid, selector, &pod.metadata, deleting) {
            Claim::Owned => owned.push(pod),
            Claim::Ignore => {}
            Claim::Adopt if pods::active(&pod) => {
                let refs = claim::adopted(
                    &pod.metadata,
                    claim::controller_ref("batch/v1", "Job", &job.name_any(), uid),
                );
                let mut finalizers = pod.metadata.finalizers.clone().unwrap_or_default();
                finalizers.push(pods::TRACKING_FINALIZER.to_string());
                let patch = serde_json::json!({"metadata": {
                    "resourceVersion": pod.metadata.resource_version,
                    "ownerReferences": refs,
                    "finalizers": finalizers,
                }});
                match pods_api
                    .patch(
                        &pod.name_any(),
                        &PatchParams::default(),
                        &Patch::Merge(&patch),
                    )
                    .await
                {
                    Ok(p) => owned.push(Arc::new(p.trimmed())),
                    Err(e) if is_not_found(&e) => {}
                    Err(e) => return Err(e),
                }
            }
            Claim::Adopt => {}
            Claim::Release => {
                let patch =
                    claim::owner_refs_patch(&pod.metadata, claim::released(&pod.metadata, uid));
                match pods_api
                    .patch(
                        &pod.name_any(),
                        &PatchParams::default(),
                        &Patch::Merge(&patch),
                    )
                    .await
                {
                    Ok(_) | Err(kube::Error::Api(_)) => {}
                    Err(e) => return Err(e),
                }
            }
        }
    }
    Ok(owned)
}

/// The Suspended condition and its Events; a resumed Job starts its
/// deadline anew. Whether the status changed.
async fn suspend_conditions(
    job: &Job,
    status: &mut JobStatus,
    ctx: &Ctx,
    now: jiff::Timestamp,
) -> bool {
    let reference = job.object_ref(&());
    if sync::suspended(job) {
        let changed = sync::ensure_condition(
            status,
            "Suspended",
            "True",
            "JobSuspended",
            "Job suspended",
            now,
        );
        if changed {
            ctx.recorder
                .record(
                    &reference,
                    events::NORMAL,
                    "Suspended",
                    "Job suspended".into(),
                )
                .await;
        }
        return changed;
    }
    let changed = sync::ensure_condition(
        status,
        "Suspended",
        "False",
        "JobResumed",
        "Job resumed",
        now,
    );
    if changed {
        ctx.recorder
            .record(&reference, events::NORMAL, "Resumed", "Job resumed".into())
            .await;
        status.start_time = Some(Time(now));
    }
    changed
}

/// Creates pods in slow-start batches (1, 2, 4, ...); returns how many
/// were created and the first error.
async fn create_pods(
    job: &Job,
    ctx: &Ctx,
    key: &str,
    indexes: &[Option<i32>],
) -> (i32, Option<kube::Error>) {
    let ns = job.namespace().unwrap_or_default();
    let api: Api<Pod> = Api::namespaced(ctx.client.clone(), &ns);
    let reference = job.object_ref(&());
    let mut created = 0;
    let mut rest = indexes;
    let mut batch = 1;
    while !rest.is_empty() {
        let (now, later) = rest.split_at(batch.min(rest.len()));
        rest = later;
        batch *= 2;
        let params = PostParams::default();
        let results = futures::future::join_all(now.iter().map(|i| {
            let pod = pods::pod_for(job, *i);
            let api = api.clone();
            let params = params.clone();
            async move { api.create(&params, &pod).await }
        }))
        .await;
        let mut first_error = None;
        for r in results {
            match r {
                Ok(pod) => {
                    created += 1;
                    ctx.expectations.created(key, &pod.name_any());
                    ctx.recorder
                        .record(
                            &reference,
                            events::NORMAL,
                            "SuccessfulCreate",
                            format!("Created pod: {}", pod.name_any()),
                        )
                        .await;
                }
                Err(e) => {
                    let message = api_message(&e);
                    tracing::warn!(error = %message, "creating a job pod failed");
                    ctx.recorder
                        .record(
                            &reference,
                            events::WARNING,
                            "FailedCreate",
                            format!("Error creating: {message}"),
                        )
                        .await;
                    first_error.get_or_insert(e);
                }
            }
        }
        if first_error.is_some() {
            return (created, first_error);
        }
    }
    (created, None)
}

/// Deletes pods (first removing the tracking finalizer when
/// `remove_finalizer`: surplus pods are not counted); returns how many
/// went, how many of those were ready, and the first error.
async fn delete_pods(
    job: &Job,
    ctx: &Ctx,
    key: &str,
    doomed: &[&CachedPod],
    remove_finalizer: bool,
) -> (i32, i32, Option<kube::Error>) {
    let ns = job.namespace().unwrap_or_default();
    let api: Api<Pod> = Api::namespaced(ctx.client.clone(), &ns);
    let reference = job.object_ref(&());
    let results = futures::future::join_all(doomed.iter().map(|pod| {
        let api = api.clone();
        let name = pod.name_any();
        ctx.expectations.deleted(key, &name);
        let strip = remove_finalizer && pods::has_finalizer(pod);
        let params = DeleteParams {
            preconditions: Some(Preconditions {
                uid: pod.metadata.uid.clone(),
                resource_version: None,
            }),
            ..Default::default()
        };
        async move {
            if strip
                && let Err(e) = api
                    .patch(
                        &name,
                        &PatchParams::default(),
                        &Patch::Strategic(remove_finalizer_patch()),
                    )
                    .await
            {
                return (name, Err(e));
            }
            let r = api.delete(&name, &params).await.map(|_| ());
            (name, r)
        }
    }))
    .await;
    let (mut deleted, mut deleted_ready, mut first_error) = (0, 0, None);
    for ((name, r), pod) in results.into_iter().zip(doomed) {
        match r {
            Ok(()) => {
                deleted += 1;
                deleted_ready += i32::from(pods::ready(pod));
                ctx.recorder
                    .record(
                        &reference,
                        events::NORMAL,
                        "SuccessfulDelete",
                        format!("Deleted pod: {name}"),
                    )
                    .await;
            }
            Err(e) if is_not_found(&e) => {
                deleted += 1;
                deleted_ready += i32::from(pods::ready(pod));
            }
            Err(e) => {
                let message = api_message(&e);
                ctx.recorder
                    .record(
                        &reference,
                        events::WARNING,
                        "FailedDelete",
                        format!("Error deleting: {message}"),
                    )
                    .await;
                first_error.get_or_insert(e);
            }
        }
    }
    (deleted, deleted_ready, first_error)
}

fn remove_finalizer_patch() -> serde_json::Value {
    serde_json::json!({"metadata": {"$deleteFromPrimitiveList/finalizers": [pods::TRACKING_FINALIZER]}})
}

/// Writes the Job's status (optimistic concurrency on its
/// resourceVersion) and returns the stored Job.
async fn write_status(ctx: &Ctx, job: &Job) -> Result<Job, kube::Error> {
    let api: Api<Job> = Api::namespaced(ctx.client.clone(), &job.namespace().unwrap_or_default());
    api.replace_status(&job.name_any(), &PostParams::default(), job)
        .await
}

/// Records ended pods, removes their finalizers, counts them, and finishes
/// the Job when it may (Kubernetes' `trackJobStatusAndRemoveFinalizers`).
#[allow(clippy::too_many_arguments)]
async fn track(
    mut job: Job,
    mut status: JobStatus,
    ctx: &Ctx,
    key: &str,
    all: &[&CachedPod],
    expected_rm: &HashSet<String>,
    finished: Option<k8s_openapi::api::batch::v1::JobCondition>,
    obs: &sync::Observed<'_>,
    needs_flush: bool,
    terminating: i32,
    now: jiff::Timestamp,
) -> Result<(), Error> {
    let api_error = |source| Error::Api {
        key: key.to_string(),
        source,
    };
    let tracked = sync::track(
        &job,
        &mut status,
        all,
        expected_rm,
        finished,
        obs,
        needs_flush,
        now,
    );
    job.status = Some(status);
    if tracked.needs_flush {
        job = write_status(ctx, &job).await.map_err(api_error)?;
        job.metadata.managed_fields = None;
    }
    let mut with_finalizer = tracked.with_finalizer.clone();
    let ns = job.namespace().unwrap_or_default();
    let pods_api: Api<Pod> = Api::namespaced(ctx.client.clone(), &ns);
    let results = futures::future::join_all(tracked.remove_finalizer.iter().map(|pod| {
        let api = pods_api.clone();
        let name = pod.name_any();
        let uid = pods::uid(pod);
        ctx.finalizers.expect(key, uid.clone());
        async move {
            (
                uid,
                api.patch(
                    &name,
                    &PatchParams::default(),
                    &Patch::Strategic(remove_finalizer_patch()),
                )
                .await,
            )
        }
    }))
    .await;
    let mut remove_error = None;
    for (uid, r) in results {
        match r {
            Ok(_) => {
                with_finalizer.remove(&uid);
            }
            Err(e) if is_not_found(&e) => {
                with_finalizer.remove(&uid);
            }
            Err(e) => {
                remove_error.get_or_insert(e);
            }
        }
    }
    let mut status = job.status.clone().unwrap_or_default();
    let mut flush = sync::clean_uncounted(&mut status, &with_finalizer);
    if let Some(e) = remove_error {
        if flush {
            job.status = Some(status);
            write_status(ctx, &job).await.map_err(api_error)?;
        }
        return Err(api_error(e));
    }
    let finished_now = !tracked.capped
        && sync::enact_finished(&mut status, tracked.finished.as_ref(), terminating, now);
    flush |= finished_now;
    if !flush {
        return Ok(());
    }
    job.status = Some(status);
    let stored = write_status(ctx, &job).await.map_err(api_error)?;
    if finished_now && let Some(c) = tracked.finished.as_ref() {
        record_finished(ctx, &stored, c).await;
    }
    Ok(())
}

async fn record_finished(ctx: &Ctx, job: &Job, c: &k8s_openapi::api::batch::v1::JobCondition) {
    let reference: ObjectReference = job.object_ref(&());
    if c.type_ == "Complete" {
        let succeeded = job.status.as_ref().and_then(|s| s.succeeded).unwrap_or(0);
        if job
            .spec
            .as_ref()
            .and_then(|s| s.completions)
            .is_some_and(|n| succeeded > n)
        {
            let message =
                "Too many succeeded pods running after completion count reached".to_string();
            ctx.recorder
                .record(&reference, events::WARNING, "TooManySucceededPods", message)
                .await;
        }
        ctx.recorder
            .record(
                &reference,
                events::NORMAL,
                "Completed",
                "Job completed".into(),
            )
            .await;
    } else {
        let reason = c.reason.clone().unwrap_or_default();
        ctx.recorder
            .record(
                &reference,
                events::WARNING,
                &reason,
                c.message.clone().unwrap_or_default(),
            )
            .await;
    }
}

/// Removes the tracking finalizer from pods whose Job is gone or finished
/// (deleted with background propagation, or orphaned), as Kubernetes'
/// orphan worker does. The Job is read live before, so a Job the cache
/// has not shown yet keeps its pods.
async fn clean_orphans(ctx: Arc<Ctx>) {
    if ctx.pods.ready().await.is_err() || crate::cache_ready::ready(&ctx.jobs).await.is_err() {
        return;
    }
    loop {
        tokio::time::sleep(ORPHAN_SCAN).await;
        let candidates: Vec<Arc<CachedPod>> = ctx
            .pods
            .state()
            .into_iter()
            .filter(|p| pods::has_finalizer(p))
            .filter(|p| match claim::controller_of(&p.metadata) {
                None => true,
                Some(r) if is_job_ref(r) => {
                    let job = ctx
                        .jobs
                        .get(&ObjectRef::new(&r.name).within(&p.namespace().unwrap_or_default()));
                    job.is_none_or(|j| {
                        j.metadata.uid.as_deref() != Some(r.uid.as_str()) || sync::is_finished(&j)
                    })
                }
                Some(_) => false,
            })
            .collect();
        for pod in candidates {
            let ns = pod.namespace().unwrap_or_default();
            if let Some(r) = claim::controller_of(&pod.metadata) {
                let jobs: Api<Job> = Api::namespaced(ctx.client.clone(), &ns);
                match jobs.get_opt(&r.name).await {
                    Ok(Some(j))
                        if j.metadata.uid.as_deref() == Some(r.uid.as_str())
                            && !sync::is_finished(&j) =>
                    {
                        continue;
                    }
                    Ok(_) => {}
                    Err(_) => continue,
                }
            }
            let api: Api<Pod> = Api::namespaced(ctx.client.clone(), &ns);
            if let Err(error) = api
                .patch(
                    &pod.name_any(),
                    &PatchParams::default(),
                    &Patch::Strategic(remove_finalizer_patch()),
                )
                .await
                && !is_not_found(&error)
            {
                tracing::debug!(%error, pod = %pod.name_any(), "removing an orphan pod's tracking finalizer");
            }
        }
    }
}
