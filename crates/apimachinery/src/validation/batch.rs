//! batch/v1 Jobs and CronJobs: selectors, completion modes, pod failure and
//! replacement policies, restart policies, schedules and time zones.

use serde_json::Value;

use super::NameRule;
use super::cron::{check_time_zone, parse_schedule};
use super::field::{FieldError, Path};
use super::format::{is_dns1123_label, is_domain_prefixed_path};
use super::json::{arr_at, bool_at, field, get, i64_at, s, semantic_eq, str_at};
use super::label_selector::{as_selector, go_label_selector, validate_label_selector};
use super::meta::{validate_builtin_object_meta, validate_builtin_object_meta_update};
use super::pod::validate_pod_template_spec;

const MAX_PARALLELISM_INDEXED: i64 = 100_000;

fn nonneg_opt(spec: &Value, key: &str, p: &Path) -> Vec<FieldError> {
    match i64_at(spec, &[key]) {
        Some(n) if n < 0 => vec![FieldError::invalid(
            &p.child(key),
            n,
            "must be greater than or equal to 0",
        )],
        _ => Vec::new(),
    }
}

fn validate_pod_failure_policy(spec: &Value, p: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let rules = arr_at(spec, &["podFailurePolicy", "rules"]);
    let rp = p.child("rules");
    if rules.len() > 20 {
        errs.push(FieldError::too_many(&rp, rules.len(), 20));
    }
    let containers: Vec<&str> = arr_at(spec, &["template", "spec", "containers"])
        .iter()
        .chain(arr_at(spec, &["template", "spec", "initContainers"]))
        .map(|c| s(c, &["name"]))
        .collect();
    const ACTIONS: &[&str] = &["Count", "FailIndex", "FailJob", "Ignore"];
    for (i, rule) in rules.iter().enumerate() {
        let ip = rp.index(i);
        let action = s(rule, &["action"]);
        if action == "FailIndex" && field(spec, &["backoffLimitPerIndex"]).is_none() {
            errs.push(FieldError::invalid(
                &ip.child("action"),
                action,
                "requires the backoffLimitPerIndex to be set",
            ));
        } else if !ACTIONS.contains(&action) {
            errs.push(FieldError::not_supported(
                &ip.child("action"),
                action,
                ACTIONS,
            ));
        }
        let (codes, conds) = (
            field(rule, &["onExitCodes"]),
            field(rule, &["onPodConditions"]),
        );
        match (codes, conds) {
            (Some(_), Some(_)) => errs.push(FieldError::invalid(
                &ip,
                "",
                "specifying both OnExitCodes and OnPodConditions is not supported",
            )),
            (None, None) => errs.push(FieldError::invalid(
                &ip,
                "",
                "specifying one of OnExitCodes and OnPodConditions is required",
            )),
            (Some(c), None) => {
                let cp = ip.child("onExitCodes");
                if let Some(name) = str_at(c, &["containerName"])
                    && !containers.contains(&name)
                {
                    errs.push(FieldError::invalid(
                        &cp.child("containerName"),
                        name,
                        "must be one of the container or initContainer names in the pod template",
                    ));
                }
                let op = s(c, &["operator"]);
                if op != "In" && op != "NotIn" {
                    errs.push(FieldError::not_supported(
                        &cp.child("operator"),
                        op,
                        &["In", "NotIn"],
                    ));
                }
                let values = arr_at(c, &["values"]);
                if values.is_empty() {
                    errs.push(FieldError::required(
                        &cp.child("values"),
                        "at least one value is required",
                    ));
                } else if values.len() > 255 {
                    errs.push(FieldError::too_many(&cp.child("values"), values.len(), 255));
                }
                let mut seen: Vec<i64> = Vec::new();
                for (j, v) in values.iter().enumerate() {
                    let v = super::json::as_i64(v).unwrap_or(0);
                    let vp = cp.child("values").index(j);
                    if op == "In" && v == 0 {
                        errs.push(FieldError::invalid(
                            &vp,
                            v,
                            "must not be 0 for the In operator",
                        ));
                    }
                    if seen.contains(&v) {
                        errs.push(FieldError::duplicate(&vp, v));
                    }
                    if seen.last().is_some_and(|prev| *prev > v) {
                        errs.push(FieldError::invalid(&vp, v, "must be ordered"));
                    }
                    seen.push(v);
                }
            }
            (None, Some(list)) => {
                let cp = ip.child("onPodConditions");
                let patterns = list.as_array().map(Vec::as_slice).unwrap_or(&[]);
                if patterns.len() > 20 {
                    errs.push(FieldError::too_many(&cp, patterns.len(), 20));
                }
                for (j, pat) in patterns.iter().enumerate() {
                    let status = s(pat, &["status"]);
                    if !["False", "True", "Unknown"].contains(&status) {
                        errs.push(FieldError::not_supported(
                            &cp.index(j).child("status"),
                            status,
                            &["False", "True", "Unknown"],
                        ));
                    }
                    errs.extend(super::meta::validate_label_name(
                        s(pat, &["type"]),
                        &cp.index(j).child("type"),
                    ));
                }
            }
        }
    }
    errs
}

/// `validateJobSpec`: everything but the selector.
fn validate_job_spec_inner(spec: &Value, p: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    for key in [
        "parallelism",
        "completions",
        "activeDeadlineSeconds",
        "backoffLimit",
        "ttlSecondsAfterFinished",
        "backoffLimitPerIndex",
    ] {
        errs.extend(nonneg_opt(spec, key, p));
    }
    if field(spec, &["maxFailedIndexes"]).is_some() {
        errs.extend(nonneg_opt(spec, "maxFailedIndexes", p));
        if field(spec, &["backoffLimitPerIndex"]).is_none() {
            errs.push(FieldError::required(
                &p.child("backoffLimitPerIndex"),
                "when maxFailedIndexes is specified",
            ));
        }
    }
    if let Some(managed_by) = str_at(spec, &["managedBy"]) {
        errs.extend(is_domain_prefixed_path(&p.child("managedBy"), managed_by));
        if managed_by.len() > 63 {
            errs.push(FieldError::too_long(&p.child("managedBy"), 63));
        }
    }
    let mode = str_at(spec, &["completionMode"]);
    let indexed = mode == Some("Indexed");
    if let Some(m) = mode {
        if m != "NonIndexed" && m != "Indexed" {
            errs.push(FieldError::not_supported(
                &p.child("completionMode"),
                m,
                &["NonIndexed", "Indexed"],
            ));
        }
        if indexed {
            let completions = i64_at(spec, &["completions"]);
            if completions.is_none() {
                errs.push(FieldError::required(
                    &p.child("completions"),
                    "when completion mode is Indexed",
                ));
            }
            if let Some(par) =
                i64_at(spec, &["parallelism"]).filter(|p| *p > MAX_PARALLELISM_INDEXED)
            {
                errs.push(FieldError::invalid(
                    &p.child("parallelism"),
                    par,
                    "must be less than or equal to 100000 when completion mode is Indexed",
                ));
            }
            if let (Some(c), Some(mfi)) = (completions, i64_at(spec, &["maxFailedIndexes"]))
                && mfi > c
            {
                errs.push(FieldError::invalid(
                    &p.child("maxFailedIndexes"),
                    mfi,
                    "must be less than or equal to completions",
                ));
            }
        }
    }
    if !indexed {
        for key in ["backoffLimitPerIndex", "maxFailedIndexes"] {
            if let Some(v) = i64_at(spec, &[key]) {
                errs.push(FieldError::invalid(
                    &p.child(key),
                    v,
                    "requires indexed completion mode",
                ));
            }
        }
    }
    if field(spec, &["podFailurePolicy"]).is_some() {
        errs.extend(validate_pod_failure_policy(
            spec,
            &p.child("podFailurePolicy"),
        ));
    }
    if let Some(sp) = field(spec, &["successPolicy"]) {
        if !indexed {
            errs.push(FieldError::invalid(
                &p.child("successPolicy"),
                sp.clone(),
                "requires indexed completion mode",
            ));
        } else if arr_at(sp, &["rules"]).is_empty() {
            errs.push(FieldError::required(
                &p.child("successPolicy").child("rules"),
                "at least one rules must be specified when the successPolicy is specified",
            ));
        }
    }
    if let Some(prp) = str_at(spec, &["podReplacementPolicy"]) {
        let pp = p.child("podReplacementPolicy");
        if field(spec, &["podFailurePolicy"]).is_some() {
            if prp != "Failed" {
                errs.push(FieldError::not_supported(&pp, prp, &["Failed"]));
            }
        } else if prp != "Failed" && prp != "TerminatingOrFailed" {
            errs.push(FieldError::not_supported(
                &pp,
                prp,
                &["Failed", "TerminatingOrFailed"],
            ));
        }
    }
    let tmpl = get(spec, &["template"]).unwrap_or(&Value::Null);
    errs.extend(validate_pod_template_spec(tmpl, &p.child("template")));
    let rpp = p.child("template").child("spec").child("restartPolicy");
    match s(tmpl, &["spec", "restartPolicy"]) {
        "Always" | "" => errs.push(FieldError::required(
            &rpp,
            "valid values: \"OnFailure\", \"Never\"",
        )),
        "OnFailure" | "Never" => {
            if field(spec, &["podFailurePolicy"]).is_some()
                && s(tmpl, &["spec", "restartPolicy"]) != "Never"
            {
                errs.push(FieldError::invalid(
                    &rpp,
                    "OnFailure",
                    "only \"Never\" is supported when podFailurePolicy is specified",
                ));
            }
        }
        other => errs.push(FieldError::not_supported(
            &rpp,
            other,
            &["OnFailure", "Never"],
        )),
    }
    errs
}

/// `ValidateJobSpec`: the inner rules plus a valid selector matching the template.
fn validate_job_spec(spec: &Value, p: &Path) -> Vec<FieldError> {
    let mut errs = validate_job_spec_inner(spec, p);
    match field(spec, &["selector"]) {
        None => errs.push(FieldError::required(&p.child("selector"), "")),
        Some(sel) => errs.extend(validate_label_selector(Some(sel), &p.child("selector"))),
    }
    if let Ok(sel) = as_selector(field(spec, &["selector"])) {
        let labels = get(spec, &["template", "metadata", "labels"]).filter(|v| !v.is_null());
        if !sel.matches(labels) {
            errs.push(FieldError::invalid(
                &p.child("template").child("metadata").child("labels"),
                super::field::go_string_map(labels),
                "`selector` does not match template `labels`",
            ));
        }
    }
    errs
}

/// The selector the REST layer generated must select the pods the job makes.
fn validate_generated_selector(job: &Value) -> Vec<FieldError> {
    let spec = get(job, &["spec"]).unwrap_or(&Value::Null);
    if bool_at(spec, &["manualSelector"]) == Some(true) || field(spec, &["selector"]).is_none() {
        return Vec::new();
    }
    let mut errs = Vec::new();
    let uid = s(job, &["metadata", "uid"]);
    let name = s(job, &["metadata", "name"]);
    if uid.is_empty() {
        errs.push(FieldError::required(
            &Path::new("metadata").child("uid"),
            "",
        ));
    }
    let mp = Path::new("spec").child("template").child("metadata");
    let labels = get(spec, &["template", "metadata", "labels"]).filter(|v| !v.is_null());
    for (key, want) in [
        ("controller-uid", uid),
        ("job-name", name),
        ("batch.kubernetes.io/controller-uid", uid),
        ("batch.kubernetes.io/job-name", name),
    ] {
        match labels.and_then(|l| l.get(key)).and_then(Value::as_str) {
            None => errs.push(FieldError::required(
                &mp.child("labels").key(key),
                format!("must be '{want}'"),
            )),
            Some(v) if v != want => errs.push(FieldError::invalid(
                &mp.child("labels").key(key),
                super::field::go_string_map(labels),
                format!("must be '{want}'"),
            )),
            Some(_) => {}
        }
    }
    let expected = serde_json::json!({
        "controller-uid": uid, "job-name": name,
        "batch.kubernetes.io/controller-uid": uid, "batch.kubernetes.io/job-name": name,
    });
    if let Ok(sel) = as_selector(field(spec, &["selector"]))
        && !sel.matches(Some(&expected))
    {
        errs.push(FieldError::invalid(
            &Path::new("spec").child("selector"),
            go_label_selector(field(spec, &["selector"])),
            "`selector` not auto-generated",
        ));
    }
    errs
}

pub(crate) fn validate_job_create(job: &Value) -> Vec<FieldError> {
    let mut errs = validate_builtin_object_meta(job, true, NameRule::Dns1123Subdomain);
    errs.extend(validate_generated_selector(job));
    let spec = get(job, &["spec"]).unwrap_or(&Value::Null);
    errs.extend(validate_job_spec(spec, &Path::new("spec")));
    if s(spec, &["completionMode"]) == "Indexed"
        && let Some(c) = i64_at(spec, &["completions"]).filter(|c| *c > 0)
    {
        let name = s(job, &["metadata", "name"]);
        let host = format!("{name}-{}", c - 1);
        if !is_dns1123_label(&host).is_empty() {
            errs.push(FieldError::invalid(
                &Path::new("metadata").child("name"),
                name,
                format!("will not able to create pod with invalid DNS label: {host}"),
            ));
        }
    }
    errs
}

fn immutable(new: &Value, old: &Value, key: &str, p: &Path) -> Vec<FieldError> {
    let nv = get(new, &[key]).unwrap_or(&Value::Null);
    if semantic_eq(nv, get(old, &[key]).unwrap_or(&Value::Null)) {
        Vec::new()
    } else {
        let shown = if key == "selector" {
            go_label_selector(field(new, &[key]))
        } else {
            nv.clone()
        };
        vec![FieldError::invalid(
            &p.child(key),
            shown,
            "field is immutable",
        )]
    }
}

/// Scheduling directives of a suspended job that never started may change.
fn validate_template_update(ns: &Value, os: &Value, old_job: &Value, p: &Path) -> Vec<FieldError> {
    let mut old_t = get(os, &["template"]).cloned().unwrap_or(Value::Null);
    let new_t = get(ns, &["template"]).cloned().unwrap_or(Value::Null);
    let suspended = bool_at(ns, &["suspend"]) == Some(true);
    let never_started = field(old_job, &["status", "startTime"]).is_none();
    if suspended && never_started {
        for path in [
            &["metadata", "labels"][..],
            &["metadata", "annotations"],
            &["spec", "nodeSelector"],
            &["spec", "tolerations"],
            &["spec", "schedulingGates"],
        ] {
            let v = get(&new_t, path).cloned();
            set_path(&mut old_t, path, v);
        }
        let v = get(&new_t, &["spec", "affinity", "nodeAffinity"]).cloned();
        set_path(&mut old_t, &["spec", "affinity", "nodeAffinity"], v);
        if get(&new_t, &["spec", "affinity"]).is_none()
            && get(&old_t, &["spec", "affinity"]).is_some_and(super::json::is_zero)
            && let Some(m) = old_t.get_mut("spec").and_then(Value::as_object_mut)
        {
            m.remove("affinity");
        }
    }
    if semantic_eq(&new_t, &old_t) {
        Vec::new()
    } else {
        vec![FieldError::invalid(
            &p.child("template"),
            new_t,
            "field is immutable",
        )]
    }
}

fn set_path(v: &mut Value, path: &[&str], value: Option<Value>) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut cur = v;
    for p in parents {
        cur = super::json::obj_mut(cur, p);
    }
    if let Some(m) = cur.as_object_mut() {
        match value {
            Some(x) => m.insert((*last).to_string(), x),
            None => m.remove(*last),
        };
    }
}

pub(crate) fn validate_job_update(new: &Value, old: &Value) -> Vec<FieldError> {
    let mut errs = validate_builtin_object_meta_update(new, old);
    let ns = get(new, &["spec"]).unwrap_or(&Value::Null);
    let os = get(old, &["spec"]).unwrap_or(&Value::Null);
    let p = Path::new("spec");
    errs.extend(validate_job_spec(ns, &p));
    // Elastic Indexed Jobs (GA in 1.31) may scale completions with parallelism.
    if s(ns, &["completionMode"]) == "Indexed" {
        let nc = i64_at(ns, &["completions"]);
        if nc != i64_at(os, &["completions"])
            && let Some(c) = nc
            && Some(c) != i64_at(ns, &["parallelism"])
        {
            errs.push(FieldError::invalid(
                &p.child("completions"),
                c,
                "can only be modified in tandem with spec.parallelism",
            ));
        }
    } else {
        errs.extend(immutable(ns, os, "completions", &p));
    }
    errs.extend(immutable(ns, os, "selector", &p));
    errs.extend(validate_template_update(ns, os, old, &p));
    for key in [
        "completionMode",
        "podFailurePolicy",
        "backoffLimitPerIndex",
        "managedBy",
        "successPolicy",
    ] {
        errs.extend(immutable(ns, os, key, &p));
    }
    errs
}

fn validate_cron_job_spec(spec: &Value, old_spec: Option<&Value>, p: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let schedule = s(spec, &["schedule"]);
    let sp = p.child("schedule");
    if schedule.is_empty() {
        errs.push(FieldError::required(&sp, ""));
    } else {
        if let Err(e) = parse_schedule(schedule) {
            errs.push(FieldError::invalid(&sp, schedule, e.to_string()));
        }
        let allow_tz = old_spec.is_some_and(|o| s(o, &["schedule"]).contains("TZ"));
        if allow_tz && schedule.contains("TZ") && field(spec, &["timeZone"]).is_some() {
            errs.push(FieldError::invalid(
                &sp,
                schedule,
                "cannot use both timeZone field and TZ or CRON_TZ in schedule",
            ));
        } else if !allow_tz && schedule.contains("TZ") {
            errs.push(FieldError::invalid(
                &sp,
                schedule,
                "cannot use TZ or CRON_TZ in schedule, use timeZone field instead",
            ));
        }
    }
    errs.extend(nonneg_opt(spec, "startingDeadlineSeconds", p));
    let tz_changed = old_spec.is_none_or(|o| get(o, &["timeZone"]) != get(spec, &["timeZone"]));
    if tz_changed {
        errs.extend(validate_time_zone(
            str_at(spec, &["timeZone"]),
            &p.child("timeZone"),
        ));
    }
    match s(spec, &["concurrencyPolicy"]) {
        "Allow" | "Forbid" | "Replace" => {}
        "" => errs.push(FieldError::required(&p.child("concurrencyPolicy"), "")),
        other => errs.push(FieldError::not_supported(
            &p.child("concurrencyPolicy"),
            other,
            &["Allow", "Forbid", "Replace"],
        )),
    }
    let jp = p.child("jobTemplate").child("spec");
    let jspec = get(spec, &["jobTemplate", "spec"]).unwrap_or(&Value::Null);
    errs.extend(validate_job_spec_inner(jspec, &jp));
    if let Some(sel) = field(jspec, &["selector"]) {
        errs.push(FieldError::invalid(
            &jp.child("selector"),
            go_label_selector(Some(sel)),
            "`selector` will be auto-generated",
        ));
    }
    if bool_at(jspec, &["manualSelector"]) == Some(true) {
        errs.push(FieldError::not_supported(
            &jp.child("manualSelector"),
            true,
            &["nil", "false"],
        ));
    }
    errs.extend(nonneg_opt(spec, "successfulJobsHistoryLimit", p));
    errs.extend(nonneg_opt(spec, "failedJobsHistoryLimit", p));
    errs
}

fn validate_time_zone(tz: Option<&str>, p: &Path) -> Vec<FieldError> {
    let Some(tz) = tz else {
        return Vec::new();
    };
    if tz.is_empty() {
        return vec![FieldError::invalid(
            p,
            tz,
            "timeZone must be nil or non-empty string",
        )];
    }
    for part in tz.split('/') {
        let chars_ok = (1..=14).contains(&part.len())
            && part
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'-' | b'_' | b'+'));
        if part == "." || part == ".." || part.starts_with('-') || !chars_ok {
            return vec![FieldError::invalid(
                p,
                tz,
                format!("unknown time zone {tz}"),
            )];
        }
    }
    let mut errs = Vec::new();
    if tz.eq_ignore_ascii_case("local") {
        errs.push(FieldError::invalid(
            p,
            tz,
            "timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones",
        ));
    }
    if let Err(e) = check_time_zone(tz) {
        errs.push(FieldError::invalid(p, tz, e));
    }
    errs
}

pub(crate) fn validate_cron_job_create(obj: &Value) -> Vec<FieldError> {
    let mut errs = validate_builtin_object_meta(obj, true, NameRule::Dns1123Subdomain);
    errs.extend(validate_cron_job_spec(
        get(obj, &["spec"]).unwrap_or(&Value::Null),
        None,
        &Path::new("spec"),
    ));
    let name = s(obj, &["metadata", "name"]);
    if name.len() > 52 {
        errs.push(FieldError::invalid(
            &Path::new("metadata").child("name"),
            name,
            "must be no more than 52 characters",
        ));
    }
    errs
}

pub(crate) fn validate_cron_job_update(new: &Value, old: &Value) -> Vec<FieldError> {
    let mut errs = validate_builtin_object_meta_update(new, old);
    errs.extend(validate_cron_job_spec(
        get(new, &["spec"]).unwrap_or(&Value::Null),
        Some(get(old, &["spec"]).unwrap_or(&Value::Null)),
        &Path::new("spec"),
    ));
    errs
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::defaults::{apply_defaults, generate_job_selector};
    use serde_json::json;

    fn msgs(errs: &[FieldError]) -> Vec<String> {
        errs.iter().map(FieldError::message).collect()
    }

    fn job(restart: Option<&str>) -> Value {
        let mut spec = json!({"containers": [{"name": "c", "image": "busybox"}]});
        if let Some(r) = restart {
            spec["restartPolicy"] = json!(r);
        }
        let mut j = json!({"apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": "pi", "namespace": "default", "uid": "6f0e8f4e-0000-0000-0000-000000000001"},
            "spec": {"template": {"spec": spec}}});
        apply_defaults("batch", "Job", &mut j);
        generate_job_selector(&mut j);
        j
    }

    #[test]
    fn validation_job_restart_policy() {
        assert!(
            validate_job_create(&job(Some("Never"))).is_empty(),
            "{:?}",
            msgs(&validate_job_create(&job(Some("Never"))))
        );
        assert_eq!(
            msgs(&validate_job_create(&job(None))),
            vec![
                "spec.template.spec.restartPolicy: Required value: valid values: \"OnFailure\", \"Never\""
            ]
        );
    }

    #[test]
    fn validation_job_update_immutables() {
        let mut old = job(Some("Never"));
        old["metadata"]["resourceVersion"] = json!("4");
        let mut new = old.clone();
        new["spec"]["completions"] = json!(3);
        new["spec"]["template"]["spec"]["containers"][0]["image"] = json!("busybox:2");
        let m = msgs(&validate_job_update(&new, &old));
        assert_eq!(
            m[0],
            "spec.completions: Invalid value: 3: field is immutable"
        );
        assert!(m[1].starts_with("spec.template: Invalid value: "));
        assert!(m[1].ends_with(": field is immutable"));
        assert_eq!(m.len(), 2);
    }

    #[test]
    fn validation_cron_job_schedule_and_time_zone() {
        let mut cj = json!({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "nightly", "namespace": "default"},
            "spec": {"schedule": "61 * * * *", "timeZone": "Mars/Base",
                "jobTemplate": {"spec": {"template": {"spec": {"restartPolicy": "OnFailure", "containers": [{"name": "c", "image": "x"}]}}}}}});
        apply_defaults("batch", "CronJob", &mut cj);
        assert_eq!(
            msgs(&validate_cron_job_create(&cj)),
            vec![
                "spec.schedule: Invalid value: \"61 * * * *\": end of range (61) above maximum (59): 61",
                "spec.timeZone: Invalid value: \"Mars/Base\": unknown time zone Mars/Base",
            ]
        );
        cj["spec"]["schedule"] = json!("@daily");
        cj["spec"]["timeZone"] = json!("Europe/Berlin");
        assert!(
            validate_cron_job_create(&cj).is_empty(),
            "{:?}",
            msgs(&validate_cron_job_create(&cj))
        );
        cj["spec"]["schedule"] = json!("");
        cj["metadata"]["name"] = json!("x".repeat(53));
        assert_eq!(
            msgs(&validate_cron_job_create(&cj)),
            vec![
                "spec.schedule: Required value",
                &format!(
                    "metadata.name: Invalid value: \"{}\": must be no more than 52 characters",
                    "x".repeat(53)
                ),
            ]
        );
    }
}
