//! What the Job controller reads from and writes into pods: phases,
//! tracking finalizer, completion index, the pod made from the template,
//! and the back-off before replacing failed pods.

use crate::replicaset::{claim, pods as rs_pods};
use k8s_openapi::api::batch::v1::Job;
use crate::cached_pod::CachedPod;
use k8s_openapi::api::core::v1::{EnvVar, EnvVarSource, ObjectFieldSelector, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use std::collections::BTreeMap;
use std::time::Duration;

/// The finalizer that keeps a finished pod until the Job has counted it.
pub const TRACKING_FINALIZER: &str = "batch.kubernetes.io/job-tracking";
/// Annotation and label with an Indexed Job pod's completion index.
pub const COMPLETION_INDEX: &str = "batch.kubernetes.io/job-completion-index";
/// The environment variable an Indexed Job's containers read it from.
pub const COMPLETION_INDEX_ENV: &str = "JOB_COMPLETION_INDEX";
/// Kubernetes truncates generated-name prefixes to this length.
const MAX_GENERATE_NAME: usize = 58;

pub fn phase(pod: &CachedPod) -> &str {
    pod.status
        .as_ref()
        .and_then(|s| s.phase.as_deref())
        .unwrap_or("")
}

pub fn succeeded(pod: &CachedPod) -> bool {
    phase(pod) == "Succeeded"
}

pub fn terminal(pod: &CachedPod) -> bool {
    matches!(phase(pod), "Succeeded" | "Failed")
}

pub fn deleting(pod: &CachedPod) -> bool {
    pod.metadata.deletion_timestamp.is_some()
}

/// Running or pending, not being deleted (`controller.FilterActivePods`).
pub fn active(pod: &CachedPod) -> bool {
    !terminal(pod) && !deleting(pod)
}

/// Being deleted but not ended yet.
pub fn terminating(pod: &CachedPod) -> bool {
    deleting(pod) && !terminal(pod)
}

pub fn ready(pod: &CachedPod) -> bool {
    rs_pods::is_ready(pod)
}

pub fn has_finalizer(pod: &CachedPod) -> bool {
    pod.metadata
        .finalizers
        .iter()
        .flatten()
        .any(|f| f == TRACKING_FINALIZER)
}

pub fn uid(pod: &CachedPod) -> String {
    pod.metadata.uid.clone().unwrap_or_default()
}

/// Whether replacements wait for pods to end (`podReplacementPolicy:
/// Failed`, the default with a pod failure policy).
pub fn only_replace_failed(job: &Job) -> bool {
    let spec = job.spec.as_ref();
    match spec.and_then(|s| s.pod_replacement_policy.as_deref()) {
        Some(p) => p == "Failed",
        None => spec.is_some_and(|s| s.pod_failure_policy.is_some()),
    }
}

/// Whether the pod counts as failed: Failed, or (unless only failed pods
/// are replaced) deleted before it succeeded, so orphaned pods that never
/// reach a phase still count.
pub fn failed(pod: &CachedPod, job: &Job) -> bool {
    if phase(pod) == "Failed" {
        return true;
    }
    !only_replace_failed(job) && deleting(pod) && !succeeded(pod)
}

/// The pod's completion index, if it has a valid one.
pub fn completion_index(pod: &CachedPod) -> Option<i32> {
    pod.metadata
        .annotations
        .as_ref()?
        .get(COMPLETION_INDEX)?
        .parse()
        .ok()
        .filter(|i| *i >= 0)
}

pub fn indexed(job: &Job) -> bool {
    job.spec.as_ref().and_then(|s| s.completion_mode.as_deref()) == Some("Indexed")
}

/// `<job>-` or, for an index, `<job>-<index>-`, truncated as Kubernetes does.
pub fn generate_name(job_name: &str, index: Option<i32>) -> String {
    let suffix = match index {
        Some(i) => format!("-{i}-"),
        None => "-".to_string(),
    };
    let keep = MAX_GENERATE_NAME
        .saturating_sub(suffix.len())
        .min(job_name.len());
    let mut end = keep;
    while !job_name.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}{suffix}", &job_name[..end])
}

/// The pod the Job creates: the template with the tracking finalizer and
/// the controller reference; for an index, its annotation and label, the
/// hostname `<job>-<index>` and `JOB_COMPLETION_INDEX` in every container.
pub fn pod_for(job: &Job, index: Option<i32>) -> Pod {
    let template = job
        .spec
        .as_ref()
        .map(|s| s.template.clone())
        .unwrap_or_default();
    let tmeta = template.metadata.unwrap_or_default();
    let mut spec = template.spec.unwrap_or_default();
    let name = job.metadata.name.clone().unwrap_or_default();
    let owner = claim::controller_ref(
        "batch/v1",
        "Job",
        &name,
        job.metadata.uid.as_deref().unwrap_or_default(),
    );
    let mut finalizers = tmeta.finalizers.unwrap_or_default();
    if !finalizers.iter().any(|f| f == TRACKING_FINALIZER) {
        finalizers.push(TRACKING_FINALIZER.to_string());
    }
    let mut labels = tmeta.labels;
    let mut annotations = tmeta.annotations;
    if let Some(i) = index {
        annotations
            .get_or_insert_with(BTreeMap::new)
            .insert(COMPLETION_INDEX.into(), i.to_string());
        labels
            .get_or_insert_with(BTreeMap::new)
            .insert(COMPLETION_INDEX.into(), i.to_string());
        if spec.hostname.as_deref().unwrap_or_default().is_empty() {
            spec.hostname = Some(format!("{name}-{i}"));
        }
        let env = EnvVar {
            name: COMPLETION_INDEX_ENV.into(),
            value: None,
            value_from: Some(EnvVarSource {
                field_ref: Some(ObjectFieldSelector {
                    api_version: None,
                    field_path: format!("metadata.annotations['{COMPLETION_INDEX}']"),
                }),
                ..Default::default()
            }),
        };
        for c in spec
            .containers
            .iter_mut()
            .chain(spec.init_containers.iter_mut().flatten())
        {
            let vars = c.env.get_or_insert_with(Vec::new);
            if !vars.iter().any(|v| v.name == COMPLETION_INDEX_ENV) {
                vars.push(env.clone());
            }
        }
    }
    Pod {
        metadata: ObjectMeta {
            generate_name: Some(generate_name(&name, index)),
            namespace: job.metadata.namespace.clone(),
            labels,
            annotations,
            finalizers: Some(finalizers),
            owner_references: Some(vec![owner]),
            ..Default::default()
        },
        spec: Some(spec),
        status: None,
    }
}

/// When the pod ended: its containers' latest `finishedAt`, else when it
/// was deleted, else when it stopped being ready, else when it was made.
pub fn finish_time(pod: &CachedPod) -> Option<jiff::Timestamp> {
    let status = pod.status.as_ref();
    let finished = status
        .and_then(|s| s.container_statuses.as_ref())
        .into_iter()
        .flatten()
        .filter_map(|c| {
            c.state
                .as_ref()?
                .terminated
                .as_ref()?
                .finished_at
                .as_ref()
                .map(|t| t.0)
        })
        .max();
    finished
        .or_else(|| pod.metadata.deletion_timestamp.as_ref().map(|t| t.0))
        .or_else(|| {
            status
                .and_then(|s| s.conditions.as_ref())
                .and_then(|cs| {
                    cs.iter()
                        .find(|c| c.type_ == "Ready" && c.status == "False")
                })
                .and_then(|c| c.last_transition_time.as_ref().map(|t| t.0))
        })
        .or_else(|| pod.metadata.creation_timestamp.as_ref().map(|t| t.0))
}

/// The exponential back-off before new pods replace failed ones: `base`
/// doubled for every failure since the last success, at most `max`.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    pub base: Duration,
    pub max: Duration,
}

impl Default for Backoff {
    /// Kubernetes' `DefaultJobPodFailureBackOff` and `MaxJobPodFailureBackOff`.
    fn default() -> Self {
        Backoff {
            base: Duration::from_secs(10),
            max: Duration::from_secs(600),
        }
    }
}

impl Backoff {
    /// How long creating pods must still wait. Kubernetes keeps the failure
    /// count in memory; here it is read from the job's ended pods, which
    /// stay until the Job goes: failures that ended after the last success
    /// (`counts` says whether a failed pod counts, for the failure policy).
    pub fn remaining(
        &self,
        pods: &[&CachedPod],
        counts: impl Fn(&CachedPod) -> bool,
        now: jiff::Timestamp,
    ) -> Duration {
        let last_success = pods
            .iter()
            .filter(|p| succeeded(p))
            .filter_map(|p| finish_time(p))
            .max();
        let failures: Vec<jiff::Timestamp> = pods
            .iter()
            .filter(|p| phase(p) == "Failed" && counts(p))
            .filter_map(|p| finish_time(p))
            .filter(|t| last_success.is_none_or(|s| *t > s))
            .collect();
        let Some(last) = failures.iter().max() else {
            return Duration::ZERO;
        };
        let exponent = (failures.len() - 1).min(30) as u32;
        let delay = self
            .base
            .saturating_mul(2u32.saturating_pow(exponent))
            .min(self.max);
        let elapsed = now.duration_since(*last).unsigned_abs();
        delay.saturating_sub(elapsed)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap: a panic is a failure
mod tests {
    use super::*;

    fn job(spec: serde_json::Value) -> Job {
        serde_json::from_value(serde_json::json!({"metadata": {"name": "pi", "namespace": "ns", "uid": "u1"}, "spec": spec})).unwrap()
    }

    fn ended(phase: &str, at: &str) -> CachedPod {
        serde_json::from_value(serde_json::json!({"metadata": {"name": "p"}, "status": {"phase": phase, "containerStatuses": [
            {"name": "c", "image": "x", "imageID": "", "ready": false, "restartCount": 0,
             "state": {"terminated": {"exitCode": 0, "finishedAt": at}}}]}}))
        .unwrap()
    }

    #[test]
    fn job_pod_for_indexed_template() {
        let j = job(
            serde_json::json!({"completionMode": "Indexed", "template": {"metadata": {"labels": {"a": "b"}},
            "spec": {"containers": [{"name": "c", "image": "x"}]}}}),
        );
        let p = pod_for(&j, Some(3));
        assert_eq!(p.metadata.generate_name.as_deref(), Some("pi-3-"));
        assert_eq!(
            p.metadata.finalizers,
            Some(vec![TRACKING_FINALIZER.to_string()])
        );
        assert_eq!(
            p.metadata.annotations.as_ref().unwrap()[COMPLETION_INDEX],
            "3"
        );
        assert_eq!(p.metadata.labels.as_ref().unwrap()[COMPLETION_INDEX], "3");
        assert_eq!(p.metadata.labels.as_ref().unwrap()["a"], "b");
        let spec = p.spec.unwrap();
        assert_eq!(spec.hostname.as_deref(), Some("pi-3"));
        let env = &spec.containers[0].env.as_ref().unwrap()[0];
        assert_eq!(env.name, COMPLETION_INDEX_ENV);
        assert_eq!(completion_index(&CachedPod::from(&pod_for(&j, Some(3)))), Some(3));
        let owner = &pod_for(&j, None).metadata.owner_references.unwrap()[0];
        assert_eq!((owner.kind.as_str(), owner.controller), ("Job", Some(true)));
        assert_eq!(
            generate_name(&"x".repeat(70), Some(12)),
            format!("{}-12-", "x".repeat(54))
        );
    }

    #[test]
    fn job_failed_pods_and_replacement_policy() {
        let mut p = ended("Running", "2024-01-01T00:00:00Z");
        p.metadata.deletion_timestamp = Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
            jiff::Timestamp::UNIX_EPOCH,
        ));
        assert!(failed(&p, &job(serde_json::json!({}))));
        assert!(!failed(
            &p,
            &job(serde_json::json!({"podReplacementPolicy": "Failed"}))
        ));
        assert!(terminating(&p) && !active(&p));
    }

    #[test]
    fn job_backoff_doubles_after_each_failure_since_the_last_success() {
        let b = Backoff::default();
        let t = |s: &str| s.parse::<jiff::Timestamp>().unwrap();
        let ok = ended("Succeeded", "2024-01-01T00:00:00Z");
        let f1 = ended("Failed", "2024-01-01T00:01:00Z");
        let f2 = ended("Failed", "2024-01-01T00:02:00Z");
        let all = |ps: &[&CachedPod], now| b.remaining(ps, |_| true, t(now));
        assert_eq!(all(&[&ok], "2024-01-01T00:01:00Z"), Duration::ZERO);
        assert_eq!(
            all(&[&ok, &f1], "2024-01-01T00:01:04Z"),
            Duration::from_secs(6)
        );
        assert_eq!(
            all(&[&ok, &f1, &f2], "2024-01-01T00:02:05Z"),
            Duration::from_secs(15)
        );
        assert_eq!(
            all(&[&f1, &f2, &ok], "2024-01-01T00:02:05Z"),
            Duration::from_secs(15)
        );
        // A success after the failures resets the back-off.
        let later = ended("Succeeded", "2024-01-01T00:03:00Z");
        assert_eq!(
            all(&[&f1, &f2, &later], "2024-01-01T00:03:01Z"),
            Duration::ZERO
        );
        // Ignored failures do not count.
        assert_eq!(
            b.remaining(&[&f1], |_| false, t("2024-01-01T00:01:01Z")),
            Duration::ZERO
        );
        let many: Vec<CachedPod> = (0..20)
            .map(|i| ended("Failed", &format!("2024-01-01T00:{:02}:00Z", i)))
            .collect();
        let refs: Vec<&CachedPod> = many.iter().collect();
        assert_eq!(all(&refs, "2024-01-01T00:19:00Z"), Duration::from_secs(600));
    }
}
