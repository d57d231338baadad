//! The Job controller's decisions as pure functions of the Job, its pods
//! and the clock, in the order of Kubernetes' `syncJob`: count what the
//! pods show ([`observe`]), decide whether the Job has failed
//! ([`failure`]), how many pods to create or delete ([`manage`]), and how
//! to account ended pods through `status.uncountedTerminatedPods` before
//! their tracking finalizers go ([`track`], [`clean_uncounted`],
//! [`enact_finished`]).

use super::failure_policy::{self, Verdict};
use super::indexes::Intervals;
use super::pods;
use crate::replicaset::pods as rs_pods;
use k8s_openapi::api::batch::v1::{Job, JobCondition, JobStatus, UncountedTerminatedPods};
use crate::cached_pod::CachedPod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use std::collections::HashSet;
use std::time::Duration;

/// At most this many pods created or deleted per sync, and UIDs in each
/// list of `uncountedTerminatedPods` (Kubernetes' limits).
pub const MAX_PER_SYNC: usize = 500;

pub const BACKOFF_LIMIT_EXCEEDED: (&str, &str) = (
    "BackoffLimitExceeded",
    "Job has reached the specified backoff limit",
);
pub const DEADLINE_EXCEEDED: (&str, &str) = (
    "DeadlineExceeded",
    "Job was active longer than specified deadline",
);
pub const COMPLETIONS_REACHED: (&str, &str) = (
    "CompletionsReached",
    "Reached expected number of succeeded pods",
);

pub fn condition(type_: &str, reason: &str, message: &str, now: jiff::Timestamp) -> JobCondition {
    JobCondition {
        type_: type_.to_string(),
        status: "True".to_string(),
        reason: Some(reason.to_string()),
        message: Some(message.to_string()),
        last_probe_time: Some(Time(now)),
        last_transition_time: Some(Time(now)),
    }
}

pub fn find<'a>(
    conditions: Option<&'a Vec<JobCondition>>,
    type_: &str,
) -> Option<&'a JobCondition> {
    conditions.into_iter().flatten().find(|c| c.type_ == type_)
}

fn is_true(conditions: Option<&Vec<JobCondition>>, type_: &str) -> bool {
    find(conditions, type_).is_some_and(|c| c.status == "True")
}

/// Complete or Failed: nothing more to do but keep it.
pub fn is_finished(job: &Job) -> bool {
    let conditions = job.status.as_ref().and_then(|s| s.conditions.as_ref());
    is_true(conditions, "Complete") || is_true(conditions, "Failed")
}

/// Sets a condition's status, reason and message (a new transition time
/// when any changed); a False condition is never added. Whether it changed.
pub fn ensure_condition(
    status: &mut JobStatus,
    type_: &str,
    value: &str,
    reason: &str,
    message: &str,
    now: jiff::Timestamp,
) -> bool {
    let list = status.conditions.get_or_insert_with(Vec::new);
    let mut wanted = condition(type_, reason, message, now);
    wanted.status = value.to_string();
    if let Some(c) = list.iter_mut().find(|c| c.type_ == type_) {
        if c.status != value
            || c.reason.as_deref() != Some(reason)
            || c.message.as_deref() != Some(message)
        {
            *c = wanted;
            return true;
        }
        return false;
    }
    if value == "False" {
        return false;
    }
    list.push(wanted);
    true
}

pub fn suspended(job: &Job) -> bool {
    job.spec.as_ref().and_then(|s| s.suspend).unwrap_or(false)
}

fn completions(job: &Job) -> Option<i32> {
    job.spec.as_ref().and_then(|s| s.completions)
}

/// What the pods show, counted against the Job's status.
#[derive(Debug)]
pub struct Observed<'a> {
    pub active: Vec<&'a CachedPod>,
    pub terminating: i32,
    pub ready: i32,
    /// Counted, uncounted and newly ended pods.
    pub succeeded: i32,
    pub failed: i32,
    /// Indexed Jobs: the indexes in `completedIndexes` before this sync,
    /// and with the newly succeeded pods.
    pub prev_indexes: Intervals,
    pub indexes: Intervals,
}

fn uncounted(status: &JobStatus) -> (HashSet<String>, HashSet<String>) {
    let u = status.uncounted_terminated_pods.clone().unwrap_or_default();
    (
        u.succeeded.unwrap_or_default().into_iter().collect(),
        u.failed.unwrap_or_default().into_iter().collect(),
    )
}

/// Whether a pod with a valid index for the Job (any pod, if not Indexed).
fn valid_index(job: &Job, pod: &CachedPod) -> bool {
    !pods::indexed(job)
        || pods::completion_index(pod).is_some_and(|i| i < completions(job).unwrap_or(0))
}

/// Whether a failed pod counts toward `backoffLimit` (the failure policy
/// may ignore it).
pub fn counts_failure(job: &Job, pod: &CachedPod) -> bool {
    match job
        .spec
        .as_ref()
        .and_then(|s| s.pod_failure_policy.as_ref())
    {
        Some(policy) => failure_policy::evaluate(policy, pod).counts(),
        None => true,
    }
}

/// Counts the Job's pods. `expected_rm`: pods whose finalizer this
/// controller removed and the cache does not show removed yet.
pub fn observe<'a>(job: &Job, all: &[&'a CachedPod], expected_rm: &HashSet<String>) -> Observed<'a> {
    let status = job.status.clone().unwrap_or_default();
    let (unc_ok, unc_failed) = uncounted(&status);
    let fresh = |p: &&&CachedPod| {
        pods::has_finalizer(p) && !expected_rm.contains(&pods::uid(p)) && valid_index(job, p)
    };
    let new_succeeded = all
        .iter()
        .filter(fresh)
        .filter(|p| pods::succeeded(p) && !unc_ok.contains(&pods::uid(p)))
        .count();
    let new_failed = all
        .iter()
        .filter(fresh)
        .filter(|p| {
            pods::failed(p, job) && !unc_failed.contains(&pods::uid(p)) && counts_failure(job, p)
        })
        .count();
    let active: Vec<&CachedPod> = all.iter().copied().filter(|p| pods::active(p)).collect();
    let ready = active.iter().filter(|p| pods::ready(p)).count() as i32;
    let mut succeeded = status.succeeded.unwrap_or(0) + new_succeeded as i32 + unc_ok.len() as i32;
    let (mut prev_indexes, mut indexes) = (Intervals::default(), Intervals::default());
    if pods::indexed(job) {
        let n = completions(job).unwrap_or(0);
        prev_indexes = Intervals::parse(status.completed_indexes.as_deref().unwrap_or(""), n);
        let new = all
            .iter()
            .filter(|p| pods::succeeded(p) && pods::has_finalizer(p))
            .filter_map(|p| pods::completion_index(p))
            .filter(|i| *i < n && !prev_indexes.has(*i));
        indexes = prev_indexes.with(new.collect::<Vec<_>>());
        succeeded = indexes.total();
    }
    Observed {
        active,
        terminating: all.iter().filter(|p| pods::terminating(p)).count() as i32,
        ready,
        succeeded,
        failed: status.failed.unwrap_or(0) + new_failed as i32 + unc_failed.len() as i32,
        prev_indexes,
        indexes,
    }
}

/// OnFailure pods restart in place: their restarts count toward the limit.
fn past_backoff_limit_on_failure(job: &Job, all: &[&CachedPod]) -> bool {
    let Some(spec) = job.spec.as_ref() else {
        return false;
    };
    if spec
        .template
        .spec
        .as_ref()
        .and_then(|s| s.restart_policy.as_deref())
        != Some("OnFailure")
    {
        return false;
    }
    let restarts: i32 = all
        .iter()
        .filter(|p| matches!(pods::phase(p), "Running" | "Pending"))
        .filter_map(|p| p.status.as_ref())
        .flat_map(|s| {
            s.init_container_statuses
                .iter()
                .flatten()
                .chain(s.container_statuses.iter().flatten())
        })
        .map(|c| c.restart_count)
        .sum();
    let limit = spec.backoff_limit.unwrap_or(6);
    if limit == 0 {
        restarts > 0
    } else {
        restarts >= limit
    }
}

/// Whether the Job ends now and how: the interim condition
/// (`SuccessCriteriaMet`, `FailureTarget`) or, when that is already
/// recorded, the terminal one. Also when to look again for
/// `activeDeadlineSeconds`.
pub fn failure(
    job: &Job,
    all: &[&CachedPod],
    obs: &Observed,
    now: jiff::Timestamp,
) -> (Option<JobCondition>, Option<Duration>) {
    let status = job.status.clone().unwrap_or_default();
    let conditions = status.conditions.as_ref();
    if let Some(c) = find(conditions, "SuccessCriteriaMet").filter(|c| c.status == "True") {
        return (Some(c.clone()), None);
    }
    if let Some(c) = find(conditions, "FailureTarget").filter(|c| c.status == "True") {
        let mut failed = c.clone();
        failed.type_ = "Failed".into();
        failed.last_probe_time = Some(Time(now));
        failed.last_transition_time = Some(Time(now));
        return (Some(failed), None);
    }
    if let Some(policy) = job
        .spec
        .as_ref()
        .and_then(|s| s.pod_failure_policy.as_ref())
    {
        for p in all.iter().filter(|p| pods::failed(p, job)) {
            if let Verdict::FailJob(message) = failure_policy::evaluate(policy, p) {
                return (
                    Some(condition(
                        "FailureTarget",
                        "PodFailurePolicy",
                        &message,
                        now,
                    )),
                    None,
                );
            }
        }
    }
    let spec = job.spec.clone().unwrap_or_default();
    if obs.failed > spec.backoff_limit.unwrap_or(6) || past_backoff_limit_on_failure(job, all) {
        let (reason, message) = BACKOFF_LIMIT_EXCEEDED;
        return (Some(condition("FailureTarget", reason, message, now)), None);
    }
    let (Some(deadline), Some(start)) = (spec.active_deadline_seconds, status.start_time.as_ref())
    else {
        return (None, None);
    };
    if suspended(job) {
        return (None, None);
    }
    let allowed = jiff::SignedDuration::from_secs(deadline);
    let ran = now.duration_since(start.0);
    if ran >= allowed {
        let (reason, message) = DEADLINE_EXCEEDED;
        return (Some(condition("FailureTarget", reason, message, now)), None);
    }
    (None, Some((allowed - ran).unsigned_abs()))
}

/// The active pod count wanted: parallelism, but never more than the
/// completions still missing; with no completions set, nothing new once
/// any pod succeeded.
pub fn want_active(job: &Job, succeeded: i32, active: i32) -> i32 {
    let parallelism = job
        .spec
        .as_ref()
        .and_then(|s| s.parallelism)
        .unwrap_or(1)
        .max(0);
    match completions(job) {
        None if succeeded > 0 => active,
        None => parallelism,
        Some(c) => (c - succeeded).clamp(0, parallelism),
    }
}

/// Whether the Job has all its completions (or, without completions, any
/// success) and nothing left running.
pub fn complete(job: &Job, succeeded: i32, active: i32) -> bool {
    match completions(job) {
        None => succeeded > 0 && active == 0,
        Some(c) => succeeded >= c && active == 0,
    }
}

/// What `manageJob` does this sync.
#[derive(Debug, PartialEq)]
pub enum Manage<'a> {
    /// Delete these active pods (surplus, repeated indexes, or all when suspended).
    Delete(Vec<&'a CachedPod>),
    /// Create pods: one per entry, with its completion index if Indexed.
    Create(Vec<Option<i32>>),
    /// Failed pods are backing off: look again after this.
    Wait(Duration),
    Idle,
}

/// Active pods to remove: repeated or invalid indexes first, then the
/// surplus in Kubernetes' order (not ready before ready, newer first).
fn for_removal<'a>(
    job: &Job,
    active: &[&'a CachedPod],
    at_least: usize,
    now: jiff::Timestamp,
) -> Vec<&'a CachedPod> {
    let mut rm: Vec<&CachedPod> = Vec::new();
    let mut left: Vec<&CachedPod> = Vec::new();
    if pods::indexed(job) {
        let n = completions(job).unwrap_or(0);
        let mut sorted: Vec<&CachedPod> = active.to_vec();
        sorted.sort_by_key(|p| pods::completion_index(p));
        let mut seen = HashSet::new();
        for p in sorted {
            match pods::completion_index(p) {
                Some(i) if i < n && seen.insert(i) => left.push(p),
                _ => rm.push(p),
            }
        }
    } else {
        left = active.to_vec();
    }
    if rm.len() < at_least {
        rm.extend(rs_pods::to_delete(&left, &[], at_least - rm.len(), now));
    }
    rm
}

/// Decides creations and deletions. `backoff`: how long replacements of
/// failed pods must still wait.
pub fn manage<'a>(
    job: &Job,
    obs: &Observed<'a>,
    backoff: Duration,
    now: jiff::Timestamp,
) -> Manage<'a> {
    let active = obs.active.len() as i32;
    if suspended(job) {
        let all = for_removal(job, &obs.active, obs.active.len(), now);
        return if all.is_empty() {
            Manage::Idle
        } else {
            Manage::Delete(all)
        };
    }
    let want = want_active(job, obs.succeeded, active);
    let rm_at_least = (active - want).max(0) as usize;
    let mut doomed = for_removal(job, &obs.active, rm_at_least, now);
    doomed.truncate(MAX_PER_SYNC);
    if !doomed.is_empty() {
        return Manage::Delete(doomed);
    }
    let terminating = if pods::only_replace_failed(job) {
        obs.terminating
    } else {
        0
    };
    let diff = want - terminating - active;
    if diff <= 0 {
        return Manage::Idle;
    }
    if !backoff.is_zero() {
        return Manage::Wait(backoff);
    }
    let diff = (diff as usize).min(MAX_PER_SYNC);
    if !pods::indexed(job) {
        return Manage::Create(vec![None; diff]);
    }
    let n = completions(job).unwrap_or(0);
    let busy: HashSet<i32> = obs
        .active
        .iter()
        .filter_map(|p| pods::completion_index(p))
        .collect();
    let pending: Vec<Option<i32>> = (0..n)
        .filter(|i| !obs.indexes.has(*i) && !busy.contains(i))
        .take(diff)
        .map(Some)
        .collect();
    if pending.is_empty() {
        Manage::Idle
    } else {
        Manage::Create(pending)
    }
}

/// The first half of Kubernetes' `trackJobStatusAndRemoveFinalizers`: ended
/// pods whose finalizer is still on go into `uncountedTerminatedPods` (and
/// Indexed Jobs' `completedIndexes`) in `status`, and are returned for
/// their finalizers to be removed once that status is written; the interim
/// condition is appended and the terminal one returned.
#[derive(Debug)]
pub struct Tracked<'a> {
    pub remove_finalizer: Vec<&'a CachedPod>,
    /// UIDs of pods that still carry the finalizer.
    pub with_finalizer: HashSet<String>,
    pub needs_flush: bool,
    pub finished: Option<JobCondition>,
    /// Stopped at [`MAX_PER_SYNC`] uncounted pods: not finished this sync.
    pub capped: bool,
}

#[allow(clippy::too_many_arguments)]
pub fn track<'a>(
    job: &Job,
    status: &mut JobStatus,
    all: &[&'a CachedPod],
    expected_rm: &HashSet<String>,
    finished: Option<JobCondition>,
    obs: &Observed,
    mut needs_flush: bool,
    now: jiff::Timestamp,
) -> Tracked<'a> {
    let with_finalizer: HashSet<String> = all
        .iter()
        .filter(|p| pods::has_finalizer(p) && !expected_rm.contains(&pods::uid(p)))
        .map(|p| pods::uid(p))
        .collect();
    needs_flush |= clean_uncounted(status, &with_finalizer);
    let (unc_ok, unc_failed) = uncounted(status);
    let mut add_ok: Vec<String> = Vec::new();
    let mut add_failed: Vec<String> = Vec::new();
    let mut new_indexes: Vec<i32> = Vec::new();
    let mut remove = Vec::new();
    let mut capped = false;
    let job_deleting = job.metadata.deletion_timestamp.is_some();
    let ending_badly = finished
        .as_ref()
        .is_some_and(|c| c.type_ != "SuccessCriteriaMet");
    let indexed = pods::indexed(job);
    let n = completions(job).unwrap_or(0);
    let mut sorted: Vec<&CachedPod> = all.to_vec();
    if indexed {
        sorted.sort_by_key(|p| pods::completion_index(p));
    }
    for pod in sorted {
        let uid = pods::uid(pod);
        if !pods::has_finalizer(pod) || expected_rm.contains(&uid) {
            continue;
        }
        let failed = pods::failed(pod, job);
        if !(job_deleting || finished.is_some() || pods::succeeded(pod) || failed) {
            continue;
        }
        remove.push(pod);
        if pods::succeeded(pod) && !unc_failed.contains(&uid) {
            if indexed {
                if let Some(i) =
                    pods::completion_index(pod).filter(|i| *i < n && !obs.prev_indexes.has(*i))
                {
                    new_indexes.push(i);
                    needs_flush = true;
                }
            } else if !unc_ok.contains(&uid) {
                add_ok.push(uid);
                needs_flush = true;
            }
        } else if (failed || ending_badly)
            && !unc_failed.contains(&uid)
            && valid_index(job, pod)
            && counts_failure(job, pod)
        {
            add_failed.push(uid);
            needs_flush = true;
        }
        if new_indexes.len() + unc_ok.len() + add_ok.len() + unc_failed.len() + add_failed.len()
            >= MAX_PER_SYNC
        {
            capped = true;
            break;
        }
    }
    if !add_ok.is_empty() || !add_failed.is_empty() {
        let u = status
            .uncounted_terminated_pods
            .get_or_insert_with(UncountedTerminatedPods::default);
        u.succeeded.get_or_insert_with(Vec::new).extend(add_ok);
        u.failed.get_or_insert_with(Vec::new).extend(add_failed);
    }
    if indexed {
        let indexes = obs.prev_indexes.with(new_indexes).to_string();
        if status.completed_indexes.as_deref().unwrap_or("") != indexes {
            needs_flush = true;
        }
        status.succeeded = Some(Intervals::parse(&indexes, n).total());
        status.completed_indexes = Some(indexes);
    }
    let mut finished = finished;
    if let Some(c) = finished.as_mut() {
        let interim = match c.type_.as_str() {
            "FailureTarget" => Some("Failed"),
            "SuccessCriteriaMet" => Some("Complete"),
            _ => None,
        };
        if let Some(terminal) = interim {
            let conditions = status.conditions.get_or_insert_with(Vec::new);
            if !conditions.iter().any(|x| x.type_ == c.type_) {
                conditions.push(c.clone());
                needs_flush = true;
            }
            c.type_ = terminal.to_string();
            c.last_probe_time = Some(Time(now));
            c.last_transition_time = Some(Time(now));
        }
    }
    Tracked {
        remove_finalizer: remove,
        with_finalizer,
        needs_flush,
        finished,
        capped,
    }
}

/// Moves UIDs of `uncountedTerminatedPods` whose pods no longer carry the
/// finalizer into the counters. Whether anything moved.
pub fn clean_uncounted(status: &mut JobStatus, with_finalizer: &HashSet<String>) -> bool {
    let Some(u) = status.uncounted_terminated_pods.as_mut() else {
        return false;
    };
    let mut changed = false;
    for (list, counter) in [
        (&mut u.succeeded, &mut status.succeeded),
        (&mut u.failed, &mut status.failed),
    ] {
        let Some(uids) = list.as_mut() else { continue };
        let before = uids.len();
        uids.retain(|uid| with_finalizer.contains(uid));
        let moved = (before - uids.len()) as i32;
        if moved > 0 {
            changed = true;
            *counter = Some(counter.unwrap_or(0) + moved);
        }
    }
    changed
}

/// Adds the terminal condition once every ended pod is counted and none
/// is still terminating; sets `completionTime` for Complete. Whether the
/// Job finished.
pub fn enact_finished(
    status: &mut JobStatus,
    finished: Option<&JobCondition>,
    terminating: i32,
    now: jiff::Timestamp,
) -> bool {
    let Some(c) = finished else { return false };
    let u = status.uncounted_terminated_pods.clone().unwrap_or_default();
    if !u.succeeded.unwrap_or_default().is_empty()
        || !u.failed.unwrap_or_default().is_empty()
        || terminating > 0
    {
        return false;
    }
    let reason = c.reason.clone().unwrap_or_default();
    let message = c.message.clone().unwrap_or_default();
    ensure_condition(status, &c.type_, &c.status, &reason, &message, now);
    if c.type_ == "Complete" {
        let at = find(status.conditions.as_ref(), "Complete")
            .and_then(|c| c.last_transition_time.clone());
        status.completion_time = at.or(Some(Time(now)));
    }
    true
}

#[cfg(test)]
mod tests;
