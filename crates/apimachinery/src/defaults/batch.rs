//! batch/v1 defaults (`SetDefaults_Job`, `SetDefaults_CronJob`) and the Job
//! selector the REST layer generates on create.

use serde_json::Value;

use super::pod::default_pod_template;
use crate::validation::json::{
    field, items_mut, member_mut, obj_mut, s, set_if_absent, set_if_zero,
};

pub(crate) fn default_job(job: &mut Value) {
    let spec = obj_mut(job, "spec");
    let completions_unset = field(spec, &["completions"]).is_none();
    let parallelism_unset = field(spec, &["parallelism"]).is_none();
    if completions_unset && parallelism_unset {
        set_if_absent(spec, "completions", Value::from(1));
    }
    set_if_absent(spec, "parallelism", Value::from(1));
    let backoff = if field(spec, &["backoffLimitPerIndex"]).is_some() {
        i64::from(i32::MAX)
    } else {
        6
    };
    set_if_absent(spec, "backoffLimit", Value::from(backoff));
    set_if_absent(spec, "completionMode", Value::from("NonIndexed"));
    set_if_absent(spec, "suspend", Value::Bool(false));
    let has_failure_policy = field(spec, &["podFailurePolicy"]).is_some();
    if let Some(pfp) = member_mut(spec, "podFailurePolicy") {
        for rule in items_mut(pfp, "rules") {
            for pattern in items_mut(rule, "onPodConditions") {
                set_if_zero(pattern, "status", Value::from("True"));
            }
        }
    }
    let replacement = if has_failure_policy {
        "Failed"
    } else {
        "TerminatingOrFailed"
    };
    set_if_absent(spec, "podReplacementPolicy", Value::from(replacement));
    set_if_absent(spec, "manualSelector", Value::Bool(false));
    default_pod_template(obj_mut(spec, "template"));
    copy_template_labels(job);
}

/// A job without labels takes its pod template's labels.
fn copy_template_labels(job: &mut Value) {
    let Some(labels) = field(job, &["spec", "template", "metadata", "labels"]).cloned() else {
        return;
    };
    let meta = obj_mut(job, "metadata");
    let empty = meta
        .get("labels")
        .and_then(Value::as_object)
        .is_none_or(|m| m.is_empty());
    if empty && let Some(m) = meta.as_object_mut() {
        m.insert("labels".into(), labels);
    }
}

pub(crate) fn default_cron_job(cj: &mut Value) {
    let spec = obj_mut(cj, "spec");
    set_if_zero(spec, "concurrencyPolicy", Value::from("Allow"));
    set_if_absent(spec, "suspend", Value::Bool(false));
    set_if_absent(spec, "successfulJobsHistoryLimit", Value::from(3));
    set_if_absent(spec, "failedJobsHistoryLimit", Value::from(1));
    let jt = obj_mut(spec, "jobTemplate");
    set_if_absent(obj_mut(jt, "metadata"), "creationTimestamp", Value::Null);
    default_pod_template(obj_mut(obj_mut(jt, "spec"), "template"));
}

/// What the Job REST strategy does on create unless `manualSelector` is
/// true: label the pod template with the job's name and UID (legacy and
/// `batch.kubernetes.io/` keys) and select on the UID. Needs `metadata.uid`.
pub fn generate_job_selector(job: &mut Value) {
    if field(job, &["spec", "manualSelector"]).and_then(Value::as_bool) == Some(true) {
        return;
    }
    let name = s(job, &["metadata", "name"]).to_string();
    let uid = s(job, &["metadata", "uid"]).to_string();
    let spec = obj_mut(job, "spec");
    let labels = obj_mut(obj_mut(obj_mut(spec, "template"), "metadata"), "labels");
    for (key, value) in [
        ("job-name", &name),
        ("batch.kubernetes.io/job-name", &name),
        ("controller-uid", &uid),
        ("batch.kubernetes.io/controller-uid", &uid),
    ] {
        set_if_absent(labels, key, Value::from(value.as_str()));
    }
    let match_labels = obj_mut(obj_mut(spec, "selector"), "matchLabels");
    set_if_absent(
        match_labels,
        "batch.kubernetes.io/controller-uid",
        Value::from(uid.as_str()),
    );
    copy_template_labels(job);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn defaults_job_fields_and_generated_selector() {
        let mut job = json!({"metadata": {"name": "pi", "uid": "u-1"},
            "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "pi", "image": "perl:5.34"}]}}}});
        default_job(&mut job);
        generate_job_selector(&mut job);
        let spec = &job["spec"];
        assert_eq!(spec["completions"], 1);
        assert_eq!(spec["parallelism"], 1);
        assert_eq!(spec["backoffLimit"], 6);
        assert_eq!(spec["completionMode"], "NonIndexed");
        assert_eq!(spec["suspend"], false);
        assert_eq!(spec["manualSelector"], false);
        assert_eq!(spec["podReplacementPolicy"], "TerminatingOrFailed");
        assert_eq!(
            spec["selector"],
            json!({"matchLabels": {"batch.kubernetes.io/controller-uid": "u-1"}})
        );
        let labels = json!({"job-name": "pi", "batch.kubernetes.io/job-name": "pi", "controller-uid": "u-1", "batch.kubernetes.io/controller-uid": "u-1"});
        assert_eq!(spec["template"]["metadata"]["labels"], labels);
        assert_eq!(job["metadata"]["labels"], labels);
        let mut parallel = json!({"spec": {"parallelism": 3}});
        default_job(&mut parallel);
        assert!(parallel["spec"].get("completions").is_none());
    }

    #[test]
    fn defaults_cron_job_fields() {
        let mut cj = json!({"spec": {"schedule": "@hourly", "jobTemplate": {"spec": {"template": {"spec": {"restartPolicy": "OnFailure",
            "containers": [{"name": "c", "image": "busybox"}]}}}}}});
        default_cron_job(&mut cj);
        assert_eq!(cj["spec"]["concurrencyPolicy"], "Allow");
        assert_eq!(cj["spec"]["successfulJobsHistoryLimit"], 3);
        assert_eq!(cj["spec"]["failedJobsHistoryLimit"], 1);
        assert_eq!(cj["spec"]["suspend"], false);
        assert_eq!(
            cj["spec"]["jobTemplate"]["metadata"],
            json!({"creationTimestamp": null})
        );
        assert_eq!(
            cj["spec"]["jobTemplate"]["spec"]["template"]["metadata"],
            json!({"creationTimestamp": null})
        );
        // Job defaults do not reach into CronJob templates.
        assert!(
            cj["spec"]["jobTemplate"]["spec"]
                .get("backoffLimit")
                .is_none()
        );
    }
}
