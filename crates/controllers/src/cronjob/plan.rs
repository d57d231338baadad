//! The CronJob controller's decisions as pure functions of the CronJob,
//! the Jobs it controls and the clock (Kubernetes' `syncCronJob` and
//! `cleanupFinishedJobs`): which Jobs are active, whether to start one for
//! the most recent missed activation, the Job to create, and which
//! finished Jobs fall out of the history limits. Events carry Kubernetes'
//! reasons and messages.

use super::schedule::{self, Missed, Schedule, ScheduleError};
use crate::events;
use crate::replicaset::claim;
use apimachinery::validation::go_quote;
use jiff::Timestamp;
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use std::collections::BTreeMap;
use std::time::Duration;

/// The annotation with the activation a Job was made for.
pub const SCHEDULED_TIMESTAMP: &str = "batch.kubernetes.io/cronjob-scheduled-timestamp";

/// An Event to record on the CronJob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ev {
    pub type_: &'static str,
    pub reason: &'static str,
    pub message: String,
}

fn ev(type_: &'static str, reason: &'static str, message: String) -> Ev {
    Ev {
        type_,
        reason,
        message,
    }
}

/// The Job's finished condition (`Complete` or `Failed`), if any.
pub fn finished(job: &Job) -> Option<&'static str> {
    let conditions = job.status.as_ref().and_then(|s| s.conditions.as_ref())?;
    for c in conditions.iter().filter(|c| c.status == "True") {
        match c.type_.as_str() {
            "Complete" => return Some("Complete"),
            "Failed" => return Some("Failed"),
            _ => {}
        }
    }
    None
}

/// The reference `status.active` keeps for a Job.
pub fn job_ref(job: &Job) -> ObjectReference {
    ObjectReference {
        api_version: Some("batch/v1".into()),
        kind: Some("Job".into()),
        name: job.metadata.name.clone(),
        namespace: job.metadata.namespace.clone(),
        uid: job.metadata.uid.clone(),
        resource_version: job.metadata.resource_version.clone(),
        ..Default::default()
    }
}

/// What the controlled Jobs say about the active list.
#[derive(Debug, Default)]
pub struct Seen {
    pub active: Vec<ObjectReference>,
    pub last_successful: Option<Time>,
    /// Active entries with no Job in the cache: to be checked live.
    pub missing: Vec<ObjectReference>,
    pub events: Vec<Ev>,
    pub changed: bool,
}

/// Finished Jobs leave the active list (`SawCompletedJob`); the latest
/// completion of a successful one is `lastSuccessfulTime`; an unfinished
/// Job missing from the list is reported (`UnexpectedJob`).
pub fn see_jobs(cj: &CronJob, jobs: &[&Job]) -> Seen {
    let status = cj.status.clone().unwrap_or_default();
    let mut seen = Seen {
        active: status.active.clone().unwrap_or_default(),
        last_successful: status.last_successful_time.clone(),
        ..Default::default()
    };
    let uid_of = |j: &Job| j.metadata.uid.clone().unwrap_or_default();
    seen.missing = seen
        .active
        .iter()
        .filter(|r| !jobs.iter().any(|j| Some(uid_of(j)) == r.uid))
        .cloned()
        .collect();
    for job in jobs {
        let uid = uid_of(job);
        let name = job.metadata.name.clone().unwrap_or_default();
        let listed = seen
            .active
            .iter()
            .any(|r| r.uid.as_deref() == Some(uid.as_str()));
        let done = finished(job);
        if !listed && done.is_none() {
            seen.events.push(ev(
                events::WARNING,
                "UnexpectedJob",
                format!("Saw a job that the controller did not create or forgot: {name}"),
            ));
        } else if listed && let Some(condition) = done {
            seen.active
                .retain(|r| r.uid.as_deref() != Some(uid.as_str()));
            seen.events.push(ev(
                events::NORMAL,
                "SawCompletedJob",
                format!("Saw completed job: {name}, condition: {condition}"),
            ));
            seen.changed = true;
        }
        if done == Some("Complete")
            && let Some(at) = job.status.as_ref().and_then(|s| s.completion_time.clone())
            && seen.last_successful.as_ref().is_none_or(|l| at.0 > l.0)
        {
            seen.last_successful = Some(at);
            seen.changed = true;
        }
    }
    seen
}

/// Whether and when to start a Job, and when to look again.
#[derive(Debug, Default, PartialEq)]
pub struct Decision {
    /// The activation to start a Job for, and whether active Jobs are
    /// replaced first (`concurrencyPolicy: Replace`).
    pub start: Option<(Timestamp, bool)>,
    pub requeue: Option<Duration>,
    pub events: Vec<Ev>,
}

/// The schedule as Kubernetes reads it, with its `UnsupportedSchedule`
/// warning for a `TZ=` prefix.
pub fn schedule_of(cj: &CronJob) -> (Result<Schedule, ScheduleError>, Option<Ev>) {
    let spec = cj.spec.clone().unwrap_or_default();
    let warning = spec.schedule.contains("TZ").then(|| {
        let message = format!(
            "CRON_TZ or TZ used in schedule {} is not officially supported, see https://kubernetes.io/docs/concepts/workloads/controllers/cron-jobs/ for more details",
            go_quote(&spec.schedule)
        );
        ev(events::WARNING, "UnsupportedSchedule", message)
    });
    (
        Schedule::parse(&spec.schedule, spec.time_zone.as_deref()),
        warning,
    )
}

/// The name of the Job for an activation: `<cronjob>-<minutes since epoch>`.
pub fn job_name(cj_name: &str, scheduled: Timestamp) -> String {
    format!("{cj_name}-{}", scheduled.as_second().div_euclid(60))
}

/// Decides whether to start a Job now (Kubernetes' `syncCronJob` after the
/// active list is settled).
pub fn decide(cj: &CronJob, active: &[ObjectReference], now: Timestamp) -> Decision {
    let mut d = Decision::default();
    let spec = cj.spec.clone().unwrap_or_default();
    let status = cj.status.clone().unwrap_or_default();
    if cj.metadata.deletion_timestamp.is_some() {
        return d;
    }
    let (parsed, warning) = schedule_of(cj);
    let sched = match parsed {
        Err(ScheduleError::UnknownTimeZone(zone, error)) => {
            d.events.push(ev(
                events::WARNING,
                "UnknownTimeZone",
                format!("invalid timeZone: {}: {error}", go_quote(&zone)),
            ));
            return d;
        }
        _ if spec.suspend == Some(true) => return d,
        Err(ScheduleError::Unparseable(error)) => {
            d.events.extend(warning);
            d.events.push(ev(
                events::WARNING,
                "UnparseableSchedule",
                format!(
                    "unparseable schedule: {} : {error}",
                    go_quote(&spec.schedule)
                ),
            ));
            return d;
        }
        Ok(s) => s,
    };
    d.events.extend(warning);
    let created = cj.metadata.creation_timestamp.as_ref().map_or(now, |t| t.0);
    let earliest = status.last_schedule_time.as_ref().map_or(created, |t| t.0);
    let until_next = schedule::until_next(&sched, earliest, now);
    let scheduled = match schedule::most_recent(
        &sched,
        earliest,
        spec.starting_deadline_seconds,
        now,
    ) {
        Err(error) => {
            d.events.push(ev(
                events::WARNING,
                "InvalidSchedule",
                format!("invalid schedule: {} : {error}", spec.schedule),
            ));
            return d;
        }
        Ok((_, latest, missed)) => {
            if missed == Missed::Many && latest.is_some() {
                let message = "too many missed start times. Set or decrease .spec.startingDeadlineSeconds or check clock skew".to_string();
                d.events
                    .push(ev(events::WARNING, "TooManyMissedTimes", message));
            }
            latest
        }
    };
    d.requeue = Some(until_next);
    let Some(scheduled) = scheduled.filter(|t| *t <= now) else {
        return d;
    };
    if let Some(deadline) = spec.starting_deadline_seconds
        && scheduled
            .checked_add(jiff::SignedDuration::from_secs(deadline))
            .is_ok_and(|t| t < now)
    {
        let at = scheduled.strftime("%a, %d %b %Y %H:%M:%S +0000");
        d.events.push(ev(
            events::WARNING,
            "MissSchedule",
            format!("Missed scheduled time to start a job: {at}"),
        ));
        return d;
    }
    let name = job_name(cj.metadata.name.as_deref().unwrap_or_default(), scheduled);
    let processed = active
        .iter()
        .any(|r| r.name.as_deref() == Some(name.as_str()))
        || status
            .last_schedule_time
            .as_ref()
            .is_some_and(|t| t.0 == scheduled);
    if processed {
        return d;
    }
    let policy = spec.concurrency_policy.as_deref().unwrap_or("Allow");
    if policy == "Forbid" && !active.is_empty() {
        let message =
            "Not starting job because prior execution is running and concurrency policy is Forbid"
                .to_string();
        d.events
            .push(ev(events::NORMAL, "JobAlreadyActive", message));
        return d;
    }
    d.start = Some((scheduled, policy == "Replace"));
    d
}

/// RFC 3339 as Go prints it: `Z` for UTC, else the offset.
fn rfc3339(t: Timestamp, tz: &jiff::tz::TimeZone) -> String {
    let z = t.to_zoned(tz.clone());
    if z.offset().seconds() == 0 {
        z.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
    } else {
        z.strftime("%Y-%m-%dT%H:%M:%S%:z").to_string()
    }
}

/// The Job for an activation: the template's labels, annotations and
/// spec, the deterministic name, the scheduled-time annotation (in the
/// schedule's zone) and the controller reference.
pub fn job_for(cj: &CronJob, scheduled: Timestamp, tz: &jiff::tz::TimeZone) -> Job {
    let spec = cj.spec.clone().unwrap_or_default();
    let template = spec.job_template;
    let meta = template.metadata.unwrap_or_default();
    let name = cj.metadata.name.clone().unwrap_or_default();
    let mut annotations: BTreeMap<String, String> = meta.annotations.unwrap_or_default();
    annotations.insert(SCHEDULED_TIMESTAMP.into(), rfc3339(scheduled, tz));
    let owner = claim::controller_ref(
        "batch/v1",
        "CronJob",
        &name,
        cj.metadata.uid.as_deref().unwrap_or_default(),
    );
    Job {
        metadata: ObjectMeta {
            name: Some(job_name(&name, scheduled)),
            namespace: cj.metadata.namespace.clone(),
            labels: meta.labels,
            annotations: Some(annotations),
            owner_references: Some(vec![owner]),
            ..Default::default()
        },
        spec: template.spec,
        status: None,
    }
}

/// Finished Jobs beyond `successfulJobsHistoryLimit` and
/// `failedJobsHistoryLimit`, oldest start first (Jobs that never started
/// count as newest).
pub fn to_trim<'a>(cj: &CronJob, jobs: &[&'a Job]) -> Vec<&'a Job> {
    let spec = cj.spec.clone().unwrap_or_default();
    let mut out = Vec::new();
    for (kind, limit) in [
        ("Complete", spec.successful_jobs_history_limit),
        ("Failed", spec.failed_jobs_history_limit),
    ] {
        let Some(limit) = limit else { continue };
        let mut these: Vec<&Job> = jobs
            .iter()
            .copied()
            .filter(|j| finished(j) == Some(kind))
            .collect();
        let extra = these.len().saturating_sub(limit.max(0) as usize);
        if extra == 0 {
            continue;
        }
        these.sort_by(|a, b| {
            let start = |j: &Job| {
                j.status
                    .as_ref()
                    .and_then(|s| s.start_time.as_ref())
                    .map(|t| t.0)
            };
            let (sa, sb) = (start(a), start(b));
            match (sa, sb) {
                (Some(x), Some(y)) if x != y => x.cmp(&y),
                (None, Some(_)) => std::cmp::Ordering::Greater,
                (Some(_), None) => std::cmp::Ordering::Less,
                _ => a.metadata.name.cmp(&b.metadata.name),
            }
        });
        out.extend(these.into_iter().take(extra));
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap: a panic is a failure
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn cron_job(spec: Value, status: Value) -> CronJob {
        let mut full = json!({"schedule": "*/1 * * * *", "concurrencyPolicy": "Allow", "suspend": false,
            "successfulJobsHistoryLimit": 3, "failedJobsHistoryLimit": 1,
            "jobTemplate": {"metadata": {"labels": {"app": "x"}}, "spec": {"template": {"spec": {"containers": [{"name": "c", "image": "busybox"}]}}}}});
        for (k, v) in spec.as_object().unwrap() {
            full[k] = v.clone();
        }
        serde_json::from_value(
            json!({"metadata": {"name": "tick", "namespace": "ns", "uid": "cj-uid",
            "creationTimestamp": "2025-05-01T12:00:30Z"}, "spec": full, "status": status}),
        )
        .unwrap()
    }

    fn job(name: &str, uid: &str, condition: Option<&str>, start: &str) -> Job {
        let conditions = match condition {
            Some(c) => json!([{"type": c, "status": "True"}]),
            None => json!([]),
        };
        serde_json::from_value(json!({"metadata": {"name": name, "namespace": "ns", "uid": uid},
            "status": {"startTime": start, "completionTime": if condition == Some("Complete") { json!(start) } else { Value::Null }, "conditions": conditions}}))
        .unwrap()
    }

    fn reasons(events: &[Ev]) -> Vec<&str> {
        events.iter().map(|e| e.reason).collect()
    }

    #[test]
    fn cronjob_starts_the_most_recent_activation_once() {
        let cj = cron_job(json!({}), json!({}));
        let d = decide(&cj, &[], ts("2025-05-01T12:00:50Z"));
        assert_eq!(
            (d.start, d.requeue),
            (None, Some(Duration::from_millis(10_100)))
        );
        let d = decide(&cj, &[], ts("2025-05-01T12:01:00.2Z"));
        assert_eq!(d.start, Some((ts("2025-05-01T12:01:00Z"), false)));
        assert_eq!(
            job_name("tick", ts("2025-05-01T12:01:00Z")),
            "tick-29101681"
        );
        // Already started: nothing until the next minute.
        let cj = cron_job(
            json!({}),
            json!({"lastScheduleTime": "2025-05-01T12:01:00Z"}),
        );
        assert_eq!(decide(&cj, &[], ts("2025-05-01T12:01:30Z")).start, None);
        // Hours later, only the latest missed activation runs.
        let d = decide(&cj, &[], ts("2025-05-01T12:07:10Z"));
        assert_eq!(d.start, Some((ts("2025-05-01T12:07:00Z"), false)));
        let d = decide(&cj, &[], ts("2025-05-01T15:00:10Z"));
        assert_eq!(reasons(&d.events), ["TooManyMissedTimes"]);
        assert_eq!(d.start, Some((ts("2025-05-01T15:00:00Z"), false)));
    }

    #[test]
    fn cronjob_concurrency_suspend_and_deadlines() {
        let running = ObjectReference {
            name: Some("tick-1".into()),
            uid: Some("j1".into()),
            ..Default::default()
        };
        let now = ts("2025-05-01T12:01:00.2Z");
        let forbid = cron_job(json!({"concurrencyPolicy": "Forbid"}), json!({}));
        let d = decide(&forbid, std::slice::from_ref(&running), now);
        assert_eq!(
            (d.start, reasons(&d.events)),
            (None, vec!["JobAlreadyActive"])
        );
        let replace = cron_job(json!({"concurrencyPolicy": "Replace"}), json!({}));
        assert_eq!(
            decide(&replace, std::slice::from_ref(&running), now).start,
            Some((ts("2025-05-01T12:01:00Z"), true))
        );
        assert_eq!(
            decide(&cron_job(json!({"suspend": true}), json!({})), &[], now),
            Decision::default()
        );
        // Past the starting deadline, an activation is skipped (Kubernetes
        // looks for activations only inside the deadline, so silently).
        let late = cron_job(
            json!({"startingDeadlineSeconds": 10, "schedule": "0 * * * *"}),
            json!({}),
        );
        assert_eq!(
            decide(&late, &[], ts("2025-05-01T13:00:20Z")),
            Decision {
                requeue: Some(Duration::from_millis(3_580_100)),
                ..Default::default()
            }
        );
        assert_eq!(
            decide(&late, &[], ts("2025-05-01T13:00:05Z")).start,
            Some((ts("2025-05-01T13:00:00Z"), false))
        );
        let d = decide(
            &cron_job(json!({"timeZone": "Mars/Base"}), json!({})),
            &[],
            now,
        );
        assert_eq!(
            d.events[0].message,
            "invalid timeZone: \"Mars/Base\": unknown time zone Mars/Base"
        );
        let d = decide(
            &cron_job(json!({"schedule": "TZ=UTC 61 * * * *"}), json!({})),
            &[],
            now,
        );
        assert_eq!(
            reasons(&d.events),
            ["UnsupportedSchedule", "UnparseableSchedule"]
        );
    }

    #[test]
    fn cronjob_job_from_template() {
        let cj = cron_job(json!({"timeZone": "Europe/Berlin"}), json!({}));
        let (s, _) = schedule_of(&cj);
        let j = job_for(&cj, ts("2025-05-01T12:01:00Z"), s.unwrap().time_zone());
        assert_eq!(j.metadata.name.as_deref(), Some("tick-29101681"));
        assert_eq!(
            j.metadata.annotations.as_ref().unwrap()[SCHEDULED_TIMESTAMP],
            "2025-05-01T14:01:00+02:00"
        );
        assert_eq!(j.metadata.labels.as_ref().unwrap()["app"], "x");
        let owner = &j.metadata.owner_references.as_ref().unwrap()[0];
        assert_eq!(
            (owner.kind.as_str(), owner.uid.as_str(), owner.controller),
            ("CronJob", "cj-uid", Some(true))
        );
        let utc = job_for(&cj, ts("2025-05-01T12:01:00Z"), &jiff::tz::TimeZone::UTC);
        assert_eq!(
            utc.metadata.annotations.unwrap()[SCHEDULED_TIMESTAMP],
            "2025-05-01T12:01:00Z"
        );
    }

    #[test]
    fn cronjob_sees_finished_and_unexpected_jobs() {
        let listed = |name: &str, uid: &str| json!({"name": name, "uid": uid, "kind": "Job"});
        let cj = cron_job(
            json!({}),
            json!({"active": [listed("a", "ua"), listed("b", "ub"), listed("gone", "ug")]}),
        );
        let (a, b, c) = (
            job("a", "ua", Some("Complete"), "2025-05-01T12:01:00Z"),
            job("b", "ub", None, "2025-05-01T12:02:00Z"),
            job("c", "uc", None, "2025-05-01T12:03:00Z"),
        );
        let seen = see_jobs(&cj, &[&a, &b, &c]);
        let names: Vec<_> = seen.active.iter().filter_map(|r| r.name.clone()).collect();
        assert_eq!(names, ["b", "gone"]);
        assert_eq!(seen.missing.len(), 1);
        assert_eq!(reasons(&seen.events), ["SawCompletedJob", "UnexpectedJob"]);
        assert_eq!(
            seen.events[0].message,
            "Saw completed job: a, condition: Complete"
        );
        assert_eq!(seen.last_successful.unwrap().0, ts("2025-05-01T12:01:00Z"));
    }

    #[test]
    fn cronjob_history_limits_trim_the_oldest() {
        let cj = cron_job(
            json!({"successfulJobsHistoryLimit": 1, "failedJobsHistoryLimit": 0}),
            json!({}),
        );
        let jobs = [
            job("s1", "1", Some("Complete"), "2025-05-01T12:01:00Z"),
            job("s3", "3", Some("Complete"), "2025-05-01T12:03:00Z"),
            job("s2", "2", Some("Complete"), "2025-05-01T12:02:00Z"),
            job("f1", "4", Some("Failed"), "2025-05-01T12:04:00Z"),
            job("r1", "5", None, "2025-05-01T12:05:00Z"),
        ];
        let refs: Vec<&Job> = jobs.iter().collect();
        let names: Vec<_> = to_trim(&cj, &refs)
            .iter()
            .filter_map(|j| j.metadata.name.clone())
            .collect();
        assert_eq!(names, ["s1", "s2", "f1"]);
    }
}
