//! Printers of the `batch` group: Job (status, completions, duration) and
//! CronJob.

use jiff::Timestamp;
use serde_json::Value;

use super::describe::*;
use super::duration::{human_duration, parse_time, since};
use super::fields::{
    arr_at, at, container_cells, format_label_selector, has, int_at, opt_bool, opt_int, opt_str,
    str_at,
};
use super::{AGE, CONTAINERS, Col, IMAGES, NAME, Printer, Row, age, name};

pub(super) const PRINTERS: &[Printer] = &[
    Printer::new("batch", "Job", JOB, job),
    Printer::new("batch", "CronJob", CRON_JOB, cron_job),
];

const JOB: &[Col] = &[
    NAME,
    Col::string("Status", "Status of the job."),
    Col::string("Completions", JOB_STATUS_SUCCEEDED),
    Col::string("Duration", "Time required to complete the job."),
    AGE,
    CONTAINERS,
    IMAGES,
    Col::string("Selector", JOB_SPEC_SELECTOR).wide(),
];

/// Whether the job's first condition of this type is true.
fn job_condition(job: &Value, type_: &str) -> bool {
    arr_at(job, &["status", "conditions"])
        .iter()
        .find(|c| str_at(c, &["type"]) == type_)
        .is_some_and(|c| str_at(c, &["status"]) == "True")
}

fn job_status(job: &Value) -> &'static str {
    if job_condition(job, "Complete") {
        "Complete"
    } else if job_condition(job, "Failed") {
        "Failed"
    } else if has(job, &["metadata", "deletionTimestamp"]) {
        "Terminating"
    } else if job_condition(job, "Suspended") {
        "Suspended"
    } else if job_condition(job, "FailureTarget") {
        "FailureTarget"
    } else {
        "Running"
    }
}

fn job(job: &Value, now: Timestamp) -> Row {
    let succeeded = int_at(job, &["status", "succeeded"]);
    let completions = match opt_int(job, &["spec", "completions"]) {
        Some(c) => format!("{succeeded}/{c}"),
        None => match opt_int(job, &["spec", "parallelism"]).unwrap_or(0) {
            p if p > 1 => format!("{succeeded}/1 of {p}"),
            _ => format!("{succeeded}/1"),
        },
    };
    let start = opt_str(job, &["status", "startTime"]).and_then(parse_time);
    let completion = opt_str(job, &["status", "completionTime"]).and_then(parse_time);
    let duration = match (start, completion) {
        (None, _) => String::new(),
        (Some(s), None) => human_duration(now.duration_since(s)),
        (Some(s), Some(c)) => human_duration(c.duration_since(s)),
    };
    let (names, images) = container_cells(arr_at(job, &["spec", "template", "spec", "containers"]));
    Row::new(vec![
        name(job),
        job_status(job).into(),
        completions.into(),
        duration.into(),
        age(job, now),
        names.into(),
        images.into(),
        format_label_selector(at(job, &["spec", "selector"])).into(),
    ])
}

const CRON_JOB: &[Col] = &[
    NAME,
    Col::string("Schedule", CRON_JOB_SPEC_SCHEDULE),
    Col::string("Timezone", CRON_JOB_SPEC_TIME_ZONE),
    Col::boolean("Suspend", CRON_JOB_SPEC_SUSPEND),
    Col::integer("Active", CRON_JOB_STATUS_ACTIVE),
    Col::string("Last Schedule", CRON_JOB_STATUS_LAST_SCHEDULE_TIME),
    AGE,
    CONTAINERS,
    IMAGES,
    Col::string("Selector", JOB_SPEC_SELECTOR).wide(),
];

fn cron_job(cj: &Value, now: Timestamp) -> Row {
    let last_schedule = if has(cj, &["status", "lastScheduleTime"]) {
        since(opt_str(cj, &["status", "lastScheduleTime"]), now)
    } else {
        "<none>".to_string()
    };
    let job_spec = &["spec", "jobTemplate", "spec"];
    let (names, images) = at(cj, job_spec).map_or_else(Default::default, |spec| {
        container_cells(arr_at(spec, &["template", "spec", "containers"]))
    });
    Row::new(vec![
        name(cj),
        str_at(cj, &["spec", "schedule"]).into(),
        opt_str(cj, &["spec", "timeZone"])
            .unwrap_or("<none>")
            .into(),
        super::fields::print_bool_ptr(opt_bool(cj, &["spec", "suspend"])).into(),
        arr_at(cj, &["status", "active"]).len().into(),
        last_schedule.into(),
        age(cj, now),
        names.into(),
        images.into(),
        format_label_selector(at(cj, &["spec", "jobTemplate", "spec", "selector"])).into(),
    ])
}

#[cfg(test)]
mod tests {
    use super::super::tests::now;
    use super::*;
    use serde_json::json;

    fn base(spec: Value, status: Value) -> Value {
        json!({"metadata": {"name": "pi", "creationTimestamp": "2024-06-01T11:50:00Z"},
               "spec": spec, "status": status})
    }

    #[test]
    fn table_batch_job_complete_with_duration() {
        let j = base(
            json!({"completions": 1, "parallelism": 1, "selector": {"matchLabels": {"batch.kubernetes.io/controller-uid": "u1"}},
                   "template": {"spec": {"containers": [{"name": "pi", "image": "perl:5.34"}]}}}),
            json!({"succeeded": 1, "startTime": "2024-06-01T11:50:00Z", "completionTime": "2024-06-01T11:50:42Z",
                   "conditions": [{"type": "SuccessCriteriaMet", "status": "True"}, {"type": "Complete", "status": "True"}]}),
        );
        assert_eq!(
            job(&j, now()).cells,
            vec![
                json!("pi"),
                json!("Complete"),
                json!("1/1"),
                json!("42s"),
                json!("10m"),
                json!("pi"),
                json!("perl:5.34"),
                json!("batch.kubernetes.io/controller-uid=u1")
            ]
        );
    }

    #[test]
    fn table_batch_job_running_and_states() {
        let running = base(
            json!({"completions": 5}),
            json!({"succeeded": 2, "startTime": "2024-06-01T11:57:00Z"}),
        );
        assert_eq!(
            job(&running, now()).cells[1..4],
            [json!("Running"), json!("2/5"), json!("3m")]
        );
        let parallel = base(json!({"parallelism": 3}), json!({}));
        assert_eq!(
            job(&parallel, now()).cells[1..4],
            [json!("Running"), json!("0/1 of 3"), json!("")]
        );
        let failed = base(
            json!({}),
            json!({"conditions": [{"type": "Failed", "status": "True"}]}),
        );
        assert_eq!(
            job(&failed, now()).cells[1..3],
            [json!("Failed"), json!("0/1")]
        );
        let suspended = base(
            json!({}),
            json!({"conditions": [{"type": "Suspended", "status": "True"}]}),
        );
        assert_eq!(job(&suspended, now()).cells[1], json!("Suspended"));
        let target = base(
            json!({}),
            json!({"conditions": [{"type": "FailureTarget", "status": "True"}]}),
        );
        assert_eq!(job(&target, now()).cells[1], json!("FailureTarget"));
        let mut deleting = suspended.clone();
        deleting["metadata"]["deletionTimestamp"] = json!("2024-06-01T11:59:00Z");
        assert_eq!(job(&deleting, now()).cells[1], json!("Terminating"));
        assert_eq!(job(&deleting, now()).cells[7], json!("<none>"));
    }

    #[test]
    fn table_batch_cron_job() {
        let cj = json!({"metadata": {"name": "hello", "creationTimestamp": "2024-05-31T12:00:00Z"},
            "spec": {"schedule": "*/5 * * * *", "suspend": false,
                     "jobTemplate": {"spec": {"template": {"spec": {"containers": [{"name": "hello", "image": "busybox"}]}}}}},
            "status": {"active": [{"name": "hello-1"}], "lastScheduleTime": "2024-06-01T11:55:00Z"}});
        assert_eq!(
            cron_job(&cj, now()).cells,
            vec![
                json!("hello"),
                json!("*/5 * * * *"),
                json!("<none>"),
                json!("False"),
                json!(1),
                json!("5m"),
                json!("24h"),
                json!("hello"),
                json!("busybox"),
                json!("<none>")
            ]
        );
        let tz = json!({"metadata": {"name": "t"}, "spec": {"schedule": "@daily", "timeZone": "Etc/UTC"}});
        assert_eq!(
            cron_job(&tz, now()).cells[2..6],
            [
                json!("Etc/UTC"),
                json!("<unset>"),
                json!(0),
                json!("<none>")
            ]
        );
    }
}
