//! Jobs and CronJobs on simulated nodes (`nubis up --simulated-nodes 3`)
//! with kubectl 1.33: a Job with parallelism 2 and completions 5 completes
//! with never more than 2 pods active, a failing Job stops at its
//! backoffLimit, activeDeadlineSeconds and the pod failure policy fail Jobs,
//! ttlSecondsAfterFinished deletes a Job with its pods, an Indexed Job runs
//! each index once, a suspended Job waits; a CronJob with `*/1 * * * *`
//! starts a Job at the next minute, and history limits trim finished Jobs.
//! One server for all: the CronJob's minute passes while the Jobs run.

mod support;

use futures::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use kube::api::Api;
use kube::runtime::{WatchStreamExt, watcher};
use serde_json::{Value, json};
use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use support::{Kubectl, Nubis, kube_client};
use tokio::time::Instant;

const V: &str = "1.33";

/// Polls `f` until it returns Some, for up to `secs` seconds.
#[track_caller]
fn eventually<T>(what: &str, secs: u64, mut f: impl FnMut() -> Option<T>) -> T {
    let t0 = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(secs),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// A Job whose pods end after `duration` with `exit` (simulated).
fn job(name: &str, spec: Value, duration: &str, exit: i32) -> Value {
    let mut s = json!({"template": {
        "metadata": {"annotations": {"nubis.io/simulated-duration": duration, "nubis.io/simulated-exit-code": exit.to_string()}},
        "spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox"}]}}});
    for (k, v) in spec.as_object().into_iter().flatten() {
        s[k] = v.clone();
    }
    json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name}, "spec": s})
}

fn apply(k: &Kubectl, object: &Value) {
    k.ok_stdin(&["apply", "-f", "-"], &object.to_string());
}

fn condition<'a>(job: &'a Value, type_: &str) -> Option<&'a Value> {
    job["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == type_ && c["status"] == "True")
}

/// `kubectl get job` columns: STATUS and COMPLETIONS.
fn row(k: &Kubectl, name: &str) -> (String, String) {
    let out = k.ok(&["get", "job", name, "--no-headers"]);
    let cols: Vec<&str> = out.split_whitespace().collect();
    (
        cols.get(1).unwrap_or(&"").to_string(),
        cols.get(2).unwrap_or(&"").to_string(),
    )
}

/// Events about `name`: (reason, message).
fn events(k: &Kubectl, name: &str) -> Vec<(String, String)> {
    let all = k.json(&["get", "events"]);
    all["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["involvedObject"]["name"] == name)
        .map(|e| {
            (
                e["reason"].as_str().unwrap_or_default().to_string(),
                e["message"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

fn pods_of(k: &Kubectl, job: &str) -> Vec<Value> {
    k.json(&["get", "pods", "-l", &format!("job-name={job}")])["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn batch_jobs_and_cronjobs_on_simulated_nodes() {
    let started = Instant::now();
    let nubis = Nubis::start_with(&["--simulated-nodes", "3"]);
    let k = nubis.kubectl(V);
    eventually("3 Ready nodes", 30, || {
        let out = k.ok(&["get", "nodes", "--no-headers"]);
        (out.lines()
            .filter(|l| l.split_whitespace().nth(1) == Some("Ready"))
            .count()
            == 3)
            .then_some(())
    });

    // The CronJob first: its minute boundary passes while the Jobs run.
    let template = json!({"spec": {"template": {"metadata": {"annotations": {"nubis.io/simulated-duration": "1s"}},
        "spec": {"restartPolicy": "OnFailure", "containers": [{"name": "c", "image": "busybox"}]}}}});
    apply(
        &k,
        &json!({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "tick"},
        "spec": {"schedule": "*/1 * * * *", "jobTemplate": template}}),
    );
    let cronjob_created = Instant::now();

    // Parallelism 2, completions 5: never more than 2 active pods.
    let client = kube_client(&nubis.kubeconfig()).await;
    let pods: Api<Pod> = Api::namespaced(client, "default");
    let most = Arc::new(AtomicUsize::new(0));
    let seen = most.clone();
    let watch = tokio::spawn(async move {
        let mut active: HashSet<String> = HashSet::new();
        let mut stream = watcher(pods, watcher::Config::default().labels("job-name=five"))
            .applied_objects()
            .boxed();
        while let Some(Ok(p)) = stream.next().await {
            let name = p.metadata.name.clone().unwrap_or_default();
            let phase = p
                .status
                .as_ref()
                .and_then(|s| s.phase.clone())
                .unwrap_or_default();
            if phase == "Succeeded" || phase == "Failed" || p.metadata.deletion_timestamp.is_some()
            {
                active.remove(&name);
            } else {
                active.insert(name);
            }
            seen.fetch_max(active.len(), Ordering::SeqCst);
        }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    apply(
        &k,
        &job(
            "five",
            json!({"parallelism": 2, "completions": 5}),
            "1500ms",
            0,
        ),
    );
    // Failing, deadline, failure-policy, TTL, Indexed and suspended Jobs run alongside.
    apply(&k, &job("fail", json!({"backoffLimit": 1}), "500ms", 1));
    apply(
        &k,
        &job("slow", json!({"activeDeadlineSeconds": 2}), "60s", 0),
    );
    let policy = json!({"rules": [{"action": "FailJob", "onExitCodes": {"containerName": "c", "operator": "In", "values": [42]}}]});
    apply(
        &k,
        &job(
            "policy",
            json!({"backoffLimit": 6, "podFailurePolicy": policy}),
            "500ms",
            42,
        ),
    );
    apply(
        &k,
        &job("ttl", json!({"ttlSecondsAfterFinished": 2}), "500ms", 0),
    );
    apply(
        &k,
        &job(
            "idx",
            json!({"completions": 3, "parallelism": 3, "completionMode": "Indexed"}),
            "1s",
            0,
        ),
    );
    apply(&k, &job("later", json!({"suspend": true}), "500ms", 0));
    apply(&k, &job("dropped", json!({}), "60s", 0));

    k.ok(&[
        "wait",
        "--for=condition=complete",
        "job/five",
        "--timeout=60s",
    ]);
    watch.abort();
    let most = most.load(Ordering::SeqCst);
    assert!(
        most <= 2,
        "{most} pods of a parallelism 2 Job were active at once"
    );
    assert_eq!(most, 2, "the Job never ran 2 pods at once");
    assert_eq!(row(&k, "five"), ("Complete".to_string(), "5/5".to_string()));
    let five = k.json(&["get", "job", "five"]);
    assert_eq!(five["status"]["succeeded"], 5, "{five}");
    assert!(
        five["status"]["completionTime"].is_string() && five["status"]["startTime"].is_string(),
        "{five}"
    );
    let complete = condition(&five, "Complete").cloned().unwrap_or_default();
    assert_eq!(complete["reason"], "CompletionsReached", "{five}");
    assert!(condition(&five, "SuccessCriteriaMet").is_some(), "{five}");
    let five_pods = pods_of(&k, "five");
    assert_eq!(five_pods.len(), 5);
    assert!(
        five_pods.iter().all(|p| p["metadata"]["finalizers"]
            .as_array()
            .is_none_or(|f| f.is_empty())),
        "tracking finalizers left: {five_pods:?}"
    );
    let ev = events(&k, "five");
    assert_eq!(
        ev.iter()
            .filter(|(r, m)| r == "SuccessfulCreate" && m.starts_with("Created pod: five-"))
            .count(),
        5,
        "{ev:?}"
    );
    assert!(
        ev.contains(&("Completed".into(), "Job completed".into())),
        "{ev:?}"
    );

    // Indexed: each index once, with its annotation, label and hostname.
    k.ok(&[
        "wait",
        "--for=condition=complete",
        "job/idx",
        "--timeout=30s",
    ]);
    let idx = k.json(&["get", "job", "idx"]);
    assert_eq!(idx["status"]["completedIndexes"], "0-2", "{idx}");
    let mut hosts: Vec<String> = pods_of(&k, "idx")
        .iter()
        .map(|p| {
            let index = &p["metadata"]["annotations"]["batch.kubernetes.io/job-completion-index"];
            assert_eq!(
                &p["metadata"]["labels"]["batch.kubernetes.io/job-completion-index"],
                index
            );
            let env = &p["spec"]["containers"][0]["env"][0];
            assert_eq!(env["name"], "JOB_COMPLETION_INDEX");
            p["spec"]["hostname"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect();
    hosts.sort();
    assert_eq!(hosts, ["idx-0", "idx-1", "idx-2"]);

    // Pod failure policy: exit code 42 fails the Job at once.
    k.ok(&[
        "wait",
        "--for=condition=failed",
        "job/policy",
        "--timeout=30s",
    ]);
    let failed = k.json(&["get", "job", "policy"]);
    assert_eq!(
        condition(&failed, "Failed").map(|c| c["reason"].clone()),
        Some(json!("PodFailurePolicy")),
        "{failed}"
    );
    assert_eq!(pods_of(&k, "policy").len(), 1);

    // activeDeadlineSeconds: the running pod is deleted, the Job fails.
    k.ok(&[
        "wait",
        "--for=condition=failed",
        "job/slow",
        "--timeout=30s",
    ]);
    let slow = k.json(&["get", "job", "slow"]);
    let c = condition(&slow, "Failed").cloned().unwrap_or_default();
    assert_eq!(
        (c["reason"].as_str(), c["message"].as_str()),
        (
            Some("DeadlineExceeded"),
            Some("Job was active longer than specified deadline")
        )
    );
    assert!(condition(&slow, "FailureTarget").is_some(), "{slow}");
    eventually("the deadline job's pod deleted", 15, || {
        pods_of(&k, "slow").is_empty().then_some(())
    });
    assert!(
        events(&k, "slow")
            .iter()
            .any(|(r, m)| r == "SuccessfulDelete" && m.starts_with("Deleted pod: slow-"))
    );

    // backoffLimit 1: one failure, a 10 s back-off, a second failure.
    k.ok(&[
        "wait",
        "--for=condition=failed",
        "job/fail",
        "--timeout=60s",
    ]);
    assert_eq!(row(&k, "fail").0, "Failed");
    let fail = k.json(&["get", "job", "fail"]);
    assert_eq!(fail["status"]["failed"], 2, "{fail}");
    assert_eq!(
        condition(&fail, "Failed").map(|c| c["reason"].clone()),
        Some(json!("BackoffLimitExceeded"))
    );
    assert!(events(&k, "fail").contains(&(
        "BackoffLimitExceeded".into(),
        "Job has reached the specified backoff limit".into()
    )));
    let fail_pods = pods_of(&k, "fail");
    let starts: Vec<jiff::Timestamp> = fail_pods
        .iter()
        .filter_map(|p| p["metadata"]["creationTimestamp"].as_str()?.parse().ok())
        .collect();
    assert_eq!(starts.len(), 2);
    let gap = starts[0].duration_since(starts[1]).abs();
    assert!(
        gap >= jiff::SignedDuration::from_secs(9),
        "the failed pod was replaced after {gap}, not after the 10 s back-off"
    );

    // ttlSecondsAfterFinished: the Job and its pods go.
    eventually("the ttl job deleted", 30, || {
        (!k.run(&["get", "job", "ttl"]).status.success()).then_some(())
    });
    eventually("the ttl job's pods deleted", 15, || {
        pods_of(&k, "ttl").is_empty().then_some(())
    });

    // A running Job deleted in the background: its pods lose the tracking
    // finalizer and go.
    assert_eq!(pods_of(&k, "dropped").len(), 1);
    k.ok(&["delete", "job", "dropped", "--wait=false"]);
    eventually("the deleted job's pods gone", 20, || {
        pods_of(&k, "dropped").is_empty().then_some(())
    });

    // A suspended Job runs nothing until resumed.
    let later = k.json(&["get", "job", "later"]);
    assert!(pods_of(&k, "later").is_empty());
    assert!(later["status"]["startTime"].is_null(), "{later}");
    assert_eq!(
        condition(&later, "Suspended").map(|c| c["reason"].clone()),
        Some(json!("JobSuspended")),
        "{later}"
    );
    k.ok(&[
        "patch",
        "job",
        "later",
        "--type=merge",
        "-p",
        r#"{"spec":{"suspend":false}}"#,
    ]);
    k.ok(&[
        "wait",
        "--for=condition=complete",
        "job/later",
        "--timeout=30s",
    ]);
    assert!(events(&k, "later").iter().any(|(r, _)| r == "Resumed"));

    // History limits: finished Jobs of a CronJob beyond its limit go, oldest first.
    apply(
        &k,
        &json!({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "hist"},
        "spec": {"schedule": "0 0 1 1 *", "suspend": true, "successfulJobsHistoryLimit": 1, "jobTemplate": template}}),
    );
    let hist_uid = k.json(&["get", "cronjob", "hist"])["metadata"]["uid"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    for n in 1..=3 {
        let mut j = job(&format!("hist-{n}"), json!({}), "500ms", 0);
        j["metadata"]["ownerReferences"] = json!([{"apiVersion": "batch/v1", "kind": "CronJob", "name": "hist", "uid": hist_uid,
            "controller": true, "blockOwnerDeletion": true}]);
        apply(&k, &j);
        k.ok(&[
            "wait",
            "--for=condition=complete",
            &format!("job/hist-{n}"),
            "--timeout=30s",
        ]);
    }
    eventually("history trimmed to one Job", 30, || {
        let left = k.ok(&["get", "jobs", "-o", "name"]);
        let hist: Vec<&str> = left
            .lines()
            .filter(|l| l.starts_with("job.batch/hist-"))
            .collect();
        (hist == ["job.batch/hist-3"]).then_some(())
    });
    let ev = events(&k, "hist");
    assert!(
        ev.contains(&("SuccessfulDelete".into(), "Deleted job hist-1".into())),
        "{ev:?}"
    );

    // The CronJob started a Job at the minute boundary.
    let left = Duration::from_secs(75)
        .saturating_sub(cronjob_created.elapsed())
        .as_secs()
        .max(5);
    let job_name = eventually("the CronJob's first Job", left, || {
        let jobs = k.json(&["get", "jobs"]);
        jobs["items"].as_array()?.iter().find_map(|j| {
            let name = j["metadata"]["name"].as_str()?;
            (name.starts_with("tick-") && j["metadata"]["ownerReferences"][0]["kind"] == "CronJob")
                .then(|| name.to_string())
        })
    });
    let minutes: i64 = job_name
        .trim_start_matches("tick-")
        .parse()
        .unwrap_or_default();
    let tick_job = k.json(&["get", "job", &job_name]);
    let scheduled =
        tick_job["metadata"]["annotations"]["batch.kubernetes.io/cronjob-scheduled-timestamp"]
            .as_str()
            .unwrap_or_default()
            .to_string();
    let at: jiff::Timestamp = scheduled.parse().unwrap_or_default();
    assert_eq!(at.as_second(), minutes * 60, "{scheduled}");
    assert!(scheduled.ends_with('Z'), "{scheduled}");
    k.ok(&[
        "wait",
        "--for=condition=complete",
        &format!("job/{job_name}"),
        "--timeout=30s",
    ]);
    let tick = eventually("lastSuccessfulTime", 15, || {
        let cj = k.json(&["get", "cronjob", "tick"]);
        cj["status"]["lastSuccessfulTime"].is_string().then_some(cj)
    });
    assert_eq!(
        tick["status"]["lastScheduleTime"].as_str(),
        Some(scheduled.as_str()),
        "{tick}"
    );
    let ev = events(&k, "tick");
    assert!(
        ev.contains(&("SuccessfulCreate".into(), format!("Created job {job_name}"))),
        "{ev:?}"
    );
    eventually("SawCompletedJob", 15, || {
        events(&k, "tick")
            .iter()
            .any(|(r, m)| {
                r == "SawCompletedJob"
                    && m == &format!("Saw completed job: {job_name}, condition: Complete")
            })
            .then_some(())
    });
    let table = k.ok(&["get", "cronjob", "tick"]);
    assert!(
        table.contains("*/1 * * * *") && table.contains("False"),
        "{table}"
    );

    // `kubectl create job --from=cronjob/...` (client-side) runs too.
    k.ok(&["create", "job", "manual", "--from=cronjob/tick"]);
    k.ok(&[
        "wait",
        "--for=condition=complete",
        "job/manual",
        "--timeout=30s",
    ]);
    eprintln!("batch scenario took {:?}", started.elapsed());
}
