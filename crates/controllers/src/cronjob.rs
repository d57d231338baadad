//! The CronJob controller (batch/v1, Kubernetes' `cronjob-controller`):
//! at each activation of `spec.schedule` (in `spec.timeZone`) it creates
//! a Job named `<cronjob>-<minutes since epoch>`, honouring `suspend`,
//! `startingDeadlineSeconds` and `concurrencyPolicy`, keeps
//! `status.active`, `lastScheduleTime` and `lastSuccessfulTime`, and
//! deletes finished Jobs beyond the history limits.
//!
//! Decisions are in [`plan`] and [`schedule`] (pure); this module reads
//! the caches and does the writes. Each sync reads the CronJob live, so a
//! status it just wrote is never taken for stale.

pub mod plan;
pub mod schedule;

use crate::events::Recorder;
use crate::replicaset::claim;
use futures::StreamExt;
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::{Api, DeleteParams, PostParams, PropagationPolicy};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::reflector::{ObjectRef, Store};
use kube::runtime::watcher;
use kube::{Client, Resource, ResourceExt};
use plan::Ev;
use std::sync::Arc;
use std::time::Duration;

/// The Event source, as kube-controller-manager names it.
pub const COMPONENT: &str = "cronjob-controller";

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A call to the API server failed.
    #[error("cronjobs.batch {key}: {source}")]
    Api {
        key: String,
        #[source]
        source: kube::Error,
    },
    /// The job cache never became ready.
    #[error("the job cache is gone")]
    CacheGone,
}

struct Ctx {
    client: Client,
    jobs: Store<Job>,
    recorder: Recorder,
}

/// Runs the controller until its watches end.
pub async fn run(client: Client) {
    let controller = Controller::new(
        Api::<CronJob>::all(client.clone()),
        watcher::Config::default(),
    );
    let (jobs, writer) = kube::runtime::reflector::store();
    let job_events = kube::runtime::reflector(
        writer,
        watcher(Api::<Job>::all(client.clone()), watcher::Config::default()),
    );
    let job_events = kube::runtime::WatchStreamExt::touched_objects(
        kube::runtime::WatchStreamExt::default_backoff(job_events),
    );
    let ctx = Arc::new(Ctx {
        recorder: Recorder::new(client.clone(), COMPONENT),
        client,
        jobs,
    });
    controller
        .watches_stream(job_events, |job| {
            let ns = job.namespace().unwrap_or_default();
            claim::controller_of(&job.metadata)
                .filter(|r| r.kind == "CronJob" && r.api_version == "batch/v1")
                .map(|r| ObjectRef::new(&r.name).within(&ns))
        })
        .run(reconcile, error_policy, ctx)
        .for_each(|result| async move {
            if let Err(error) = result {
                tracing::debug!(%error, "cronjob reconcile");
            }
        })
        .await;
}

fn error_policy(cj: Arc<CronJob>, error: &Error, _ctx: Arc<Ctx>) -> Action {
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
            tracing::warn!(%error, cronjob = %cj.name_any(), "cronjob sync failed; retrying");
            Action::requeue(Duration::from_secs(5))
        }
    }
}

fn is_not_found(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(s) if s.code == 404)
}

async fn record(ctx: &Ctx, cj: &CronJob, events: &[Ev]) {
    let reference = cj.object_ref(&());
    for e in events {
        ctx.recorder
            .record(&reference, e.type_, e.reason, e.message.clone())
            .await;
    }
}

/// Deletes a Job in the background (its pods follow); whether it went.
async fn delete_job(ctx: &Ctx, cj: &CronJob, job: &str) -> bool {
    let api: Api<Job> = Api::namespaced(ctx.client.clone(), &cj.namespace().unwrap_or_default());
    let params = DeleteParams {
        propagation_policy: Some(PropagationPolicy::Background),
        ..Default::default()
    };
    let reference = cj.object_ref(&());
    match api.delete(job, &params).await {
        Ok(_) => {
            ctx.recorder
                .record(
                    &reference,
                    crate::events::NORMAL,
                    "SuccessfulDelete",
                    format!("Deleted job {job}"),
                )
                .await;
            true
        }
        Err(e) if is_not_found(&e) => true,
        Err(e) => {
            ctx.recorder
                .record(
                    &reference,
                    crate::events::WARNING,
                    "FailedDelete",
                    format!("Deleted job: {e}"),
                )
                .await;
            false
        }
    }
}

#[tracing::instrument(skip_all, fields(cronjob = %format!("{}/{}", cached.namespace().unwrap_or_default(), cached.name_any())))]
async fn reconcile(cached: Arc<CronJob>, ctx: Arc<Ctx>) -> Result<Action, Error> {
    crate::cache_ready::ready(&ctx.jobs)
        .await
        .map_err(|_| Error::CacheGone)?;
    let ns = cached.namespace().unwrap_or_default();
    let name = cached.name_any();
    let key = format!("{ns}/{name}");
    let api_error = |source| Error::Api {
        key: key.clone(),
        source,
    };
    let cj_api: Api<CronJob> = Api::namespaced(ctx.client.clone(), &ns);
    let jobs_api: Api<Job> = Api::namespaced(ctx.client.clone(), &ns);
    let Some(mut cj) = cj_api.get_opt(&name).await.map_err(api_error)? else {
        return Ok(Action::await_change());
    };
    cj.metadata.managed_fields = None;
    let uid = cj.metadata.uid.clone().unwrap_or_default();
    let owned: Vec<Arc<Job>> = ctx
        .jobs
        .state()
        .into_iter()
        .filter(|j| j.namespace().as_deref() == Some(ns.as_str()))
        .filter(|j| claim::controller_of(&j.metadata).is_some_and(|r| r.uid == uid))
        .collect();
    let jobs: Vec<&Job> = owned.iter().map(|j| j.as_ref()).collect();

    let mut seen = plan::see_jobs(&cj, &jobs);
    for missing in std::mem::take(&mut seen.missing) {
        let job = missing.name.clone().unwrap_or_default();
        // The watch may lag: only a Job the API server does not have is gone.
        if jobs_api.get_opt(&job).await.map_err(api_error)?.is_none() {
            seen.events.push(Ev {
                type_: crate::events::NORMAL,
                reason: "MissingJob",
                message: format!("Active job went missing: {job}"),
            });
            seen.active.retain(|r| r.uid != missing.uid);
            seen.changed = true;
        }
    }
    record(&ctx, &cj, &seen.events).await;
    let mut changed = seen.changed;
    let mut status = cj.status.clone().unwrap_or_default();
    status.active = Some(seen.active.clone());
    status.last_successful_time = seen.last_successful.clone();

    let now = jiff::Timestamp::now();
    let decision = plan::decide(&cj, &seen.active, now);
    record(&ctx, &cj, &decision.events).await;
    if let Some((scheduled, replace)) = decision.start {
        let mut proceed = true;
        if replace {
            for r in seen.active.clone() {
                let job = r.name.clone().unwrap_or_default();
                if !delete_job(&ctx, &cj, &job).await {
                    proceed = false;
                    break;
                }
                status
                    .active
                    .get_or_insert_with(Vec::new)
                    .retain(|a| a.uid != r.uid);
                changed = true;
            }
        }
        if proceed {
            let (sched, _) = plan::schedule_of(&cj);
            let tz = sched
                .map(|s| s.time_zone().clone())
                .unwrap_or(jiff::tz::TimeZone::UTC);
            let wanted = plan::job_for(&cj, scheduled, &tz);
            let reference = cj.object_ref(&());
            let created = match jobs_api.create(&PostParams::default(), &wanted).await {
                Ok(job) => {
                    let message = format!("Created job {}", job.name_any());
                    ctx.recorder
                        .record(
                            &reference,
                            crate::events::NORMAL,
                            "SuccessfulCreate",
                            message,
                        )
                        .await;
                    Some(job)
                }
                Err(kube::Error::Api(s)) if s.code == 409 => {
                    // Made before, but the status did not say so: adopt it
                    // into the list if it is ours.
                    let existing = jobs_api
                        .get_opt(wanted.metadata.name.as_deref().unwrap_or_default())
                        .await
                        .map_err(api_error)?;
                    existing
                        .filter(|j| claim::controller_of(&j.metadata).is_some_and(|r| r.uid == uid))
                }
                Err(e) => {
                    let message = format!(
                        "Error creating job: {}",
                        match &e {
                            kube::Error::Api(s) => s.message.clone(),
                            other => other.to_string(),
                        }
                    );
                    ctx.recorder
                        .record(&reference, crate::events::WARNING, "FailedCreate", message)
                        .await;
                    return Err(api_error(e));
                }
            };
            if let Some(job) = created {
                let active = status.active.get_or_insert_with(Vec::new);
                if !active.iter().any(|r| r.uid == job.metadata.uid) {
                    active.push(plan::job_ref(&job));
                }
                status.last_schedule_time = Some(Time(scheduled));
                changed = true;
            }
        }
    }

    if cj.metadata.deletion_timestamp.is_none() {
        for job in plan::to_trim(&cj, &jobs) {
            let job_name = job.name_any();
            if delete_job(&ctx, &cj, &job_name).await {
                let before = status.active.as_ref().map_or(0, Vec::len);
                status
                    .active
                    .get_or_insert_with(Vec::new)
                    .retain(|r| r.uid != job.metadata.uid);
                changed |= before != status.active.as_ref().map_or(0, Vec::len);
            }
        }
    }
    if status.active.as_ref().is_some_and(Vec::is_empty) {
        status.active = None;
    }
    if changed || cj.status.as_ref() != Some(&status) {
        cj.status = Some(status);
        match cj_api
            .replace_status(&name, &PostParams::default(), &cj)
            .await
        {
            Ok(_) => {}
            Err(e) if is_not_found(&e) => return Ok(Action::await_change()),
            Err(e) => return Err(api_error(e)),
        }
    }
    Ok(decision
        .requeue
        .map_or_else(Action::await_change, Action::requeue))
}
