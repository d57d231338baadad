//! The Job decisions on recorded jobs and pods.
#![allow(clippy::unwrap_used)] // tests may unwrap: a panic is a failure

use super::*;
use serde_json::{Value, json};

const NOW: &str = "2025-05-01T12:00:00Z";

fn now() -> jiff::Timestamp {
    NOW.parse().unwrap()
}

fn job(spec: Value, status: Value) -> Job {
    let mut spec_full = json!({"parallelism": 1, "backoffLimit": 6, "completionMode": "NonIndexed", "suspend": false,
        "template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox"}]}}});
    for (k, v) in spec.as_object().unwrap() {
        spec_full[k] = v.clone();
    }
    serde_json::from_value(json!({"metadata": {"name": "pi", "namespace": "ns", "uid": "job-uid"}, "spec": spec_full, "status": status})).unwrap()
}

/// A pod of the job: `phase`, with or without the tracking finalizer.
fn pod(uid: &str, phase: &str, finalizer: bool, index: Option<i32>) -> CachedPod {
    let mut meta = json!({"name": format!("pi-{uid}"), "namespace": "ns", "uid": uid, "creationTimestamp": "2025-05-01T11:00:00Z"});
    if finalizer {
        meta["finalizers"] = json!([pods::TRACKING_FINALIZER]);
    }
    if let Some(i) = index {
        meta["annotations"] = json!({pods::COMPLETION_INDEX: i.to_string()});
    }
    let ready = if phase == "Running" { "True" } else { "False" };
    serde_json::from_value(json!({"metadata": meta, "status": {"phase": phase,
        "conditions": [{"type": "Ready", "status": ready}],
        "containerStatuses": [{"name": "c", "image": "busybox", "imageID": "", "ready": false, "restartCount": 0,
            "state": if phase == "Failed" { json!({"terminated": {"exitCode": 1, "finishedAt": "2025-05-01T11:59:58Z"}}) } else { json!({}) }}]}}))
    .unwrap()
}

fn none() -> HashSet<String> {
    HashSet::new()
}

#[test]
fn job_sync_parallelism_bounds_active_pods() {
    let j = job(
        json!({"completions": 5, "parallelism": 2}),
        json!({"succeeded": 1}),
    );
    let (a, b) = (
        pod("a", "Running", true, None),
        pod("b", "Succeeded", true, None),
    );
    let all = [&a, &b];
    let obs = observe(&j, &all, &none());
    assert_eq!((obs.active.len(), obs.succeeded, obs.ready), (1, 2, 1));
    assert_eq!(
        manage(&j, &obs, Duration::ZERO, now()),
        Manage::Create(vec![None])
    );
    // Four completions counted: only one more pod may run.
    let j = job(
        json!({"completions": 5, "parallelism": 2}),
        json!({"succeeded": 4}),
    );
    let c = pod("c", "Running", true, None);
    let obs = observe(&j, &[&a, &c], &none());
    assert!(
        matches!(manage(&j, &obs, Duration::ZERO, now()), Manage::Delete(ref v) if v.len() == 1)
    );
    // Back-off holds creations back.
    let obs = observe(&j, &[], &none());
    assert_eq!(
        manage(&j, &obs, Duration::from_secs(3), now()),
        Manage::Wait(Duration::from_secs(3))
    );
    assert!(complete(&j, 5, 0) && !complete(&j, 5, 1) && !complete(&j, 4, 0));
    assert!(complete(
        &job(json!({"completions": null, "parallelism": 2}), json!({})),
        1,
        0
    ));
}

#[test]
fn job_sync_tracks_ended_pods_through_uncounted_then_counts_them() {
    let j = job(
        json!({"completions": 2}),
        json!({"succeeded": 0, "failed": 0}),
    );
    let (ok, bad, run) = (
        pod("ok", "Succeeded", true, None),
        pod("bad", "Failed", true, None),
        pod("run", "Running", true, None),
    );
    let all = [&ok, &bad, &run];
    let obs = observe(&j, &all, &none());
    assert_eq!((obs.succeeded, obs.failed), (1, 1));
    let mut status = j.status.clone().unwrap();
    let t = track(&j, &mut status, &all, &none(), None, &obs, false, now());
    assert!(t.needs_flush && t.finished.is_none());
    let removed: Vec<String> = t.remove_finalizer.iter().map(|p| pods::uid(p)).collect();
    assert_eq!(removed, vec!["ok".to_string(), "bad".to_string()]);
    let u = status.uncounted_terminated_pods.clone().unwrap();
    assert_eq!(
        (u.succeeded.unwrap(), u.failed.unwrap()),
        (vec!["ok".to_string()], vec!["bad".to_string()])
    );
    // The finalizers went: the UIDs move into the counters, once.
    assert!(clean_uncounted(
        &mut status,
        &HashSet::from(["run".to_string()])
    ));
    assert_eq!((status.succeeded, status.failed), (Some(1), Some(1)));
    assert!(!clean_uncounted(&mut status, &HashSet::new()));
    // A pod whose finalizer removal the cache does not show yet is not new.
    let j2 = job(
        json!({"completions": 2}),
        serde_json::to_value(&status).unwrap(),
    );
    let obs = observe(
        &j2,
        &all,
        &HashSet::from(["ok".to_string(), "bad".to_string()]),
    );
    assert_eq!((obs.succeeded, obs.failed), (1, 1));
}

#[test]
fn job_sync_backoff_limit_goes_through_failure_target() {
    let j = job(
        json!({"completions": 1, "backoffLimit": 1}),
        json!({"failed": 1}),
    );
    let bad = pod("bad2", "Failed", true, None);
    let all = [&bad];
    let obs = observe(&j, &all, &none());
    let (finished, _) = failure(&j, &all, &obs, now());
    let finished = finished.unwrap();
    assert_eq!(
        (finished.type_.as_str(), finished.reason.as_deref()),
        ("FailureTarget", Some("BackoffLimitExceeded"))
    );
    let mut status = j.status.clone().unwrap();
    let t = track(
        &j,
        &mut status,
        &all,
        &none(),
        Some(finished),
        &obs,
        false,
        now(),
    );
    assert_eq!(t.finished.as_ref().unwrap().type_, "Failed");
    assert!(find(status.conditions.as_ref(), "FailureTarget").is_some());
    // Not before the failed pod is counted.
    assert!(!enact_finished(&mut status, t.finished.as_ref(), 0, now()));
    clean_uncounted(&mut status, &HashSet::new());
    assert!(!enact_finished(&mut status, t.finished.as_ref(), 1, now()));
    assert!(enact_finished(&mut status, t.finished.as_ref(), 0, now()));
    let failed = find(status.conditions.as_ref(), "Failed").unwrap();
    assert_eq!(
        failed.message.as_deref(),
        Some("Job has reached the specified backoff limit")
    );
    assert_eq!(status.failed, Some(2));
    assert!(status.completion_time.is_none());
    // The next sync sees FailureTarget and goes on to Failed.
    let j = job(
        json!({"completions": 1, "backoffLimit": 1}),
        json!({"failed": 2, "conditions": [
        {"type": "FailureTarget", "status": "True", "reason": "BackoffLimitExceeded", "message": "m"}]}),
    );
    let (f, _) = failure(&j, &[], &observe(&j, &[], &none()), now());
    assert_eq!(f.unwrap().type_, "Failed");
}

#[test]
fn job_sync_success_adds_success_criteria_met_then_complete() {
    let j = job(json!({"completions": 1}), json!({"succeeded": 1}));
    let obs = observe(&j, &[], &none());
    assert!(complete(&j, obs.succeeded, 0));
    let (reason, message) = COMPLETIONS_REACHED;
    let mut status = j.status.clone().unwrap();
    let t = track(
        &j,
        &mut status,
        &[],
        &none(),
        Some(condition("SuccessCriteriaMet", reason, message, now())),
        &obs,
        false,
        now(),
    );
    assert!(enact_finished(&mut status, t.finished.as_ref(), 0, now()));
    let types: Vec<&str> = status
        .conditions
        .iter()
        .flatten()
        .map(|c| c.type_.as_str())
        .collect();
    assert_eq!(types, vec!["SuccessCriteriaMet", "Complete"]);
    assert_eq!(status.completion_time.unwrap().0, now());
}

#[test]
fn job_sync_active_deadline() {
    let j = job(
        json!({"activeDeadlineSeconds": 5}),
        json!({"startTime": "2025-05-01T11:59:50Z"}),
    );
    let (f, _) = failure(&j, &[], &observe(&j, &[], &none()), now());
    assert_eq!(f.unwrap().reason.as_deref(), Some("DeadlineExceeded"));
    let j = job(
        json!({"activeDeadlineSeconds": 60}),
        json!({"startTime": "2025-05-01T11:59:50Z"}),
    );
    let (f, again) = failure(&j, &[], &observe(&j, &[], &none()), now());
    assert!(f.is_none());
    assert_eq!(again, Some(Duration::from_secs(50)));
}

#[test]
fn job_sync_pod_failure_policy_fails_or_ignores() {
    let policy = json!({"rules": [
        {"action": "Ignore", "onExitCodes": {"operator": "In", "values": [1]}},
    ]});
    let j = job(
        json!({"backoffLimit": 0, "podFailurePolicy": policy, "podReplacementPolicy": "Failed"}),
        json!({}),
    );
    let bad = pod("bad", "Failed", true, None);
    let obs = observe(&j, &[&bad], &none());
    assert_eq!(obs.failed, 0);
    assert!(failure(&j, &[&bad], &obs, now()).0.is_none());
    let mut status = j.status.clone().unwrap();
    let t = track(&j, &mut status, &[&bad], &none(), None, &obs, false, now());
    // Its finalizer goes, but it is never counted.
    assert_eq!(t.remove_finalizer.len(), 1);
    assert!(status.uncounted_terminated_pods.is_none());
    let fail =
        json!({"rules": [{"action": "FailJob", "onExitCodes": {"operator": "In", "values": [1]}}]});
    let j = job(json!({"podFailurePolicy": fail}), json!({}));
    let (f, _) = failure(&j, &[&bad], &observe(&j, &[&bad], &none()), now());
    let f = f.unwrap();
    assert_eq!(
        (f.type_.as_str(), f.reason.as_deref()),
        ("FailureTarget", Some("PodFailurePolicy"))
    );
}

#[test]
fn job_sync_indexed_creates_missing_indexes_and_drops_duplicates() {
    let j = job(
        json!({"completions": 4, "parallelism": 2, "completionMode": "Indexed"}),
        json!({"completedIndexes": "0"}),
    );
    let done = pod("d1", "Succeeded", true, Some(1));
    let obs = observe(&j, &[&done], &none());
    assert_eq!(
        (obs.succeeded, obs.indexes.to_string()),
        (2, "0-1".to_string())
    );
    assert_eq!(
        manage(&j, &obs, Duration::ZERO, now()),
        Manage::Create(vec![Some(2), Some(3)])
    );
    let mut status = j.status.clone().unwrap();
    track(&j, &mut status, &[&done], &none(), None, &obs, false, now());
    assert_eq!(
        (status.completed_indexes.as_deref(), status.succeeded),
        (Some("0-1"), Some(2))
    );
    let (x, y) = (
        pod("x", "Running", true, Some(2)),
        pod("y", "Running", true, Some(2)),
    );
    let obs = observe(&j, &[&x, &y], &none());
    assert!(
        matches!(manage(&j, &obs, Duration::ZERO, now()), Manage::Delete(ref v) if v.len() == 1)
    );
}

#[test]
fn job_sync_suspended_deletes_active_pods_and_sets_conditions() {
    let j = job(json!({"suspend": true, "parallelism": 2}), json!({}));
    let (a, b) = (
        pod("a", "Running", true, None),
        pod("b", "Pending", true, None),
    );
    let obs = observe(&j, &[&a, &b], &none());
    assert!(
        matches!(manage(&j, &obs, Duration::ZERO, now()), Manage::Delete(ref v) if v.len() == 2)
    );
    let mut status = JobStatus::default();
    assert!(!ensure_condition(
        &mut status,
        "Suspended",
        "False",
        "JobResumed",
        "Job resumed",
        now()
    ));
    assert!(ensure_condition(
        &mut status,
        "Suspended",
        "True",
        "JobSuspended",
        "Job suspended",
        now()
    ));
    assert!(!ensure_condition(
        &mut status,
        "Suspended",
        "True",
        "JobSuspended",
        "Job suspended",
        now()
    ));
    assert!(ensure_condition(
        &mut status,
        "Suspended",
        "False",
        "JobResumed",
        "Job resumed",
        now()
    ));
}
