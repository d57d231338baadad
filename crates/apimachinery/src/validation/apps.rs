//! apps/v1 workloads: Deployment, ReplicaSet, StatefulSet, DaemonSet and
//! ControllerRevision — selectors, templates, strategies and immutability.

use serde_json::Value;

use super::NameRule;
use super::field::{FieldError, Path, go_int_or_string, go_quote, go_repr, go_string_map};
use super::format::is_valid_percent;
use super::json::{as_i64, field, get, i64_at, s, semantic_eq};
use super::label_selector::{
    as_selector, go_label_selector, is_empty_selector, validate_label_selector,
};
use super::meta::{
    validate_annotations, validate_builtin_object_meta, validate_builtin_object_meta_update,
    validate_labels,
};
use super::pod::validate_pod_template_spec;

fn nonneg(v: Option<i64>, p: &Path) -> Vec<FieldError> {
    match v {
        Some(n) if n < 0 => vec![FieldError::invalid(
            p,
            n,
            "must be greater than or equal to 0",
        )],
        _ => Vec::new(),
    }
}

/// An int-or-percent like `maxSurge`: a non-negative number or `N%`.
pub(crate) fn validate_positive_int_or_percent(v: &Value, p: &Path) -> Vec<FieldError> {
    match v {
        Value::String(s) => is_valid_percent(s)
            .into_iter()
            .map(|m| FieldError::invalid(p, go_int_or_string(v), m))
            .collect(),
        n if as_i64(n).is_some() => nonneg(as_i64(n), p),
        other => vec![FieldError::invalid(
            p,
            other.clone(),
            "must be an integer or percentage (e.g '5%%')",
        )],
    }
}

fn percent_value(v: &Value) -> Option<i64> {
    let s = v.as_str()?;
    if !is_valid_percent(s).is_empty() {
        return None;
    }
    s[..s.len() - 1].parse().ok()
}

pub(crate) fn int_or_percent_value(v: &Value) -> i64 {
    percent_value(v).or_else(|| as_i64(v)).unwrap_or(0)
}

pub(crate) fn is_not_more_than_100_percent(v: &Value, p: &Path) -> Vec<FieldError> {
    match percent_value(v) {
        Some(n) if n > 100 => vec![FieldError::invalid(
            p,
            go_int_or_string(v),
            "must not be greater than 100%",
        )],
        _ => Vec::new(),
    }
}

/// Selector required, valid and non-empty; `kind` names the workload in the
/// "empty selector" message (ReplicaSets say "deployment" upstream).
fn validate_workload_selector(spec: &Value, sp: &Path, kind: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    match field(spec, &["selector"]) {
        None => errs.push(FieldError::required(&sp.child("selector"), "")),
        Some(sel) => {
            errs.extend(validate_label_selector(Some(sel), &sp.child("selector")));
            if is_empty_selector(sel) {
                errs.push(FieldError::invalid(
                    &sp.child("selector"),
                    go_label_selector(Some(sel)),
                    format!("empty selector is invalid for {kind}"),
                ));
            }
        }
    }
    errs
}

fn template_labels_match(spec: &Value, sp: &Path) -> Vec<FieldError> {
    let labels = get(spec, &["template", "metadata", "labels"]).filter(|v| !v.is_null());
    match as_selector(field(spec, &["selector"])) {
        Ok(sel) if !sel.is_everything() && !sel.matches(labels) => vec![FieldError::invalid(
            &sp.child("template").child("metadata").child("labels"),
            go_string_map(labels),
            "`selector` does not match template `labels`",
        )],
        _ => Vec::new(),
    }
}

/// `ValidatePodTemplateSpecForReplicaSet`, shared by Deployments and ReplicaSets.
fn validate_replica_set_template(spec: &Value, sp: &Path) -> Vec<FieldError> {
    let tp = sp.child("template");
    let mut errs = Vec::new();
    if as_selector(field(spec, &["selector"])).is_err() {
        errs.push(FieldError::invalid(
            &sp.child("selector"),
            go_label_selector(field(spec, &["selector"])),
            "invalid label selector",
        ));
        return errs;
    }
    errs.extend(template_labels_match(spec, sp));
    let tmpl = get(spec, &["template"]).unwrap_or(&Value::Null);
    errs.extend(validate_pod_template_spec(tmpl, &tp));
    let rp = s(tmpl, &["spec", "restartPolicy"]);
    if rp != "Always" {
        errs.push(FieldError::not_supported(
            &tp.child("spec").child("restartPolicy"),
            rp,
            &["Always"],
        ));
    }
    if field(tmpl, &["spec", "activeDeadlineSeconds"]).is_some() {
        errs.push(FieldError::forbidden(
            &tp.child("spec").child("activeDeadlineSeconds"),
            "activeDeadlineSeconds in ReplicaSet is not Supported",
        ));
    }
    errs
}

fn validate_deployment_spec(spec: &Value, sp: &Path) -> Vec<FieldError> {
    let mut errs = nonneg(i64_at(spec, &["replicas"]), &sp.child("replicas"));
    errs.extend(validate_workload_selector(spec, sp, "deployment"));
    errs.extend(validate_replica_set_template(spec, sp));
    let stp = sp.child("strategy");
    let strategy = get(spec, &["strategy"]).unwrap_or(&Value::Null);
    match s(strategy, &["type"]) {
        "Recreate" => {
            if field(strategy, &["rollingUpdate"]).is_some() {
                errs.push(FieldError::forbidden(
                    &stp.child("rollingUpdate"),
                    "may not be specified when strategy `type` is 'Recreate'",
                ));
            }
        }
        "RollingUpdate" => match field(strategy, &["rollingUpdate"]) {
            None => errs.push(FieldError::required(
                &stp.child("rollingUpdate"),
                "this should be defaulted and never be nil",
            )),
            Some(ru) => {
                let rp = stp.child("rollingUpdate");
                let mu = get(ru, &["maxUnavailable"]).unwrap_or(&Value::Null);
                let ms = get(ru, &["maxSurge"]).unwrap_or(&Value::Null);
                errs.extend(validate_positive_int_or_percent(
                    mu,
                    &rp.child("maxUnavailable"),
                ));
                errs.extend(validate_positive_int_or_percent(ms, &rp.child("maxSurge")));
                if int_or_percent_value(mu) == 0 && int_or_percent_value(ms) == 0 {
                    errs.push(FieldError::invalid(
                        &rp.child("maxUnavailable"),
                        go_int_or_string(mu),
                        "may not be 0 when `maxSurge` is 0",
                    ));
                }
                errs.extend(is_not_more_than_100_percent(
                    mu,
                    &rp.child("maxUnavailable"),
                ));
            }
        },
        other => {
            let shown = if field(strategy, &["rollingUpdate"]).is_none() {
                go_repr(format!(
                    "apps.DeploymentStrategy{{Type:{}, RollingUpdate:(*apps.RollingUpdateDeployment)(nil)}}",
                    go_quote(other)
                ))
            } else {
                strategy.clone()
            };
            errs.push(FieldError::not_supported(
                &stp,
                shown,
                &["Recreate", "RollingUpdate"],
            ));
        }
    }
    let min_ready = i64_at(spec, &["minReadySeconds"]).unwrap_or(0);
    errs.extend(nonneg(Some(min_ready), &sp.child("minReadySeconds")));
    errs.extend(nonneg(
        i64_at(spec, &["revisionHistoryLimit"]),
        &sp.child("revisionHistoryLimit"),
    ));
    if let Some(pd) = i64_at(spec, &["progressDeadlineSeconds"]) {
        errs.extend(nonneg(Some(pd), &sp.child("progressDeadlineSeconds")));
        if pd <= min_ready {
            errs.push(FieldError::invalid(
                &sp.child("progressDeadlineSeconds"),
                pd,
                "must be greater than minReadySeconds",
            ));
        }
    }
    errs
}

fn spec_of(obj: &Value) -> &Value {
    get(obj, &["spec"]).unwrap_or(&Value::Null)
}

/// apps/v1 selectors never change.
fn selector_immutable(new: &Value, old: &Value) -> Vec<FieldError> {
    let ns = get(new, &["spec", "selector"]).unwrap_or(&Value::Null);
    let os = get(old, &["spec", "selector"]).unwrap_or(&Value::Null);
    if semantic_eq(ns, os) {
        Vec::new()
    } else {
        vec![FieldError::invalid(
            &Path::new("spec").child("selector"),
            go_label_selector(field(new, &["spec", "selector"])),
            "field is immutable",
        )]
    }
}

pub(crate) fn validate_deployment_create(obj: &Value) -> Vec<FieldError> {
    let mut errs = validate_builtin_object_meta(obj, true, NameRule::Dns1123Subdomain);
    errs.extend(validate_deployment_spec(spec_of(obj), &Path::new("spec")));
    errs
}

pub(crate) fn validate_deployment_update(new: &Value, old: &Value) -> Vec<FieldError> {
    let mut errs = validate_builtin_object_meta_update(new, old);
    errs.extend(validate_deployment_spec(spec_of(new), &Path::new("spec")));
    errs.extend(selector_immutable(new, old));
    errs
}

fn validate_replica_set_spec(spec: &Value, sp: &Path) -> Vec<FieldError> {
    let mut errs = nonneg(i64_at(spec, &["replicas"]), &sp.child("replicas"));
    errs.extend(nonneg(
        i64_at(spec, &["minReadySeconds"]),
        &sp.child("minReadySeconds"),
    ));
    errs.extend(validate_workload_selector(spec, sp, "deployment"));
    errs.extend(validate_replica_set_template(spec, sp));
    errs
}

pub(crate) fn validate_replica_set_create(obj: &Value) -> Vec<FieldError> {
    let mut errs = validate_builtin_object_meta(obj, true, NameRule::Dns1123Subdomain);
    errs.extend(validate_replica_set_spec(spec_of(obj), &Path::new("spec")));
    errs
}

pub(crate) fn validate_replica_set_update(new: &Value, old: &Value) -> Vec<FieldError> {
    let mut errs = validate_builtin_object_meta_update(new, old);
    errs.extend(validate_replica_set_spec(spec_of(new), &Path::new("spec")));
    errs.extend(selector_immutable(new, old));
    errs
}

fn validate_stateful_set_spec(spec: &Value, sp: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    match s(spec, &["podManagementPolicy"]) {
        "" => errs.push(FieldError::required(&sp.child("podManagementPolicy"), "")),
        "OrderedReady" | "Parallel" => {}
        other => errs.push(FieldError::invalid(
            &sp.child("podManagementPolicy"),
            other,
            "must be 'OrderedReady' or 'Parallel'",
        )),
    }
    let up = sp.child("updateStrategy");
    let strategy = get(spec, &["updateStrategy"]).unwrap_or(&Value::Null);
    match s(strategy, &["type"]) {
        "" => errs.push(FieldError::required(&up, "")),
        "OnDelete" => {
            if let Some(ru) = field(strategy, &["rollingUpdate"]) {
                errs.push(FieldError::invalid(
                    &up.child("rollingUpdate"),
                    ru.clone(),
                    "only allowed for updateStrategy 'RollingUpdate'",
                ));
            }
        }
        "RollingUpdate" => {
            if let Some(ru) = field(strategy, &["rollingUpdate"]) {
                let rp = up.child("rollingUpdate");
                errs.extend(nonneg(
                    Some(i64_at(ru, &["partition"]).unwrap_or(0)),
                    &rp.child("partition"),
                ));
                if let Some(mu) = field(ru, &["maxUnavailable"]) {
                    let mp = rp.child("maxUnavailable");
                    errs.extend(validate_positive_int_or_percent(mu, &mp));
                    if int_or_percent_value(mu) == 0 {
                        errs.push(FieldError::invalid(
                            &mp,
                            go_int_or_string(mu),
                            "cannot be 0",
                        ));
                    }
                    errs.extend(is_not_more_than_100_percent(mu, &mp));
                }
            }
        }
        _ => errs.push(FieldError::invalid(
            &up,
            strategy.clone(),
            "must be 'RollingUpdate' or 'OnDelete'",
        )),
    }
    if let Some(pol) = field(spec, &["persistentVolumeClaimRetentionPolicy"]) {
        let pp = sp.child("persistentVolumeClaimRetentionPolicy");
        for key in ["whenDeleted", "whenScaled"] {
            let v = s(pol, &[key]);
            if v != "Retain" && v != "Delete" {
                errs.push(FieldError::not_supported(
                    &pp.child(key),
                    v,
                    &["Retain", "Delete"],
                ));
            }
        }
    }
    errs.extend(nonneg(i64_at(spec, &["replicas"]), &sp.child("replicas")));
    errs.extend(nonneg(
        i64_at(spec, &["minReadySeconds"]),
        &sp.child("minReadySeconds"),
    ));
    if field(spec, &["ordinals"]).is_some() {
        errs.extend(nonneg(
            Some(i64_at(spec, &["ordinals", "start"]).unwrap_or(0)),
            &sp.child("ordinals.start"),
        ));
    }
    errs.extend(validate_workload_selector(spec, sp, "statefulset"));
    let tp = sp.child("template");
    if as_selector(field(spec, &["selector"])).is_err() {
        errs.push(FieldError::invalid(
            &sp.child("selector"),
            go_label_selector(field(spec, &["selector"])),
            "",
        ));
    } else {
        errs.extend(template_labels_match(spec, sp));
        let meta = get(spec, &["template", "metadata"]).unwrap_or(&Value::Null);
        errs.extend(validate_labels(get(meta, &["labels"]), &tp.child("labels")));
        errs.extend(validate_annotations(
            get(meta, &["annotations"]),
            &tp.child("annotations"),
        ));
    }
    let rp = s(spec, &["template", "spec", "restartPolicy"]);
    if rp != "Always" {
        errs.push(FieldError::not_supported(
            &tp.child("spec").child("restartPolicy"),
            rp,
            &["Always"],
        ));
    }
    if field(spec, &["template", "spec", "activeDeadlineSeconds"]).is_some() {
        errs.push(FieldError::forbidden(
            &tp.child("spec").child("activeDeadlineSeconds"),
            "activeDeadlineSeconds in StatefulSet is not Supported",
        ));
    }
    errs
}

pub(crate) fn validate_stateful_set_create(obj: &Value) -> Vec<FieldError> {
    let mut errs = validate_builtin_object_meta(obj, true, NameRule::Dns1123Label);
    errs.extend(validate_stateful_set_spec(spec_of(obj), &Path::new("spec")));
    errs
}

/// Only replicas, ordinals, template, update strategy, PVC retention policy
/// and minReadySeconds may change (the name is not re-validated).
pub(crate) fn validate_stateful_set_update(new: &Value, old: &Value) -> Vec<FieldError> {
    let mut errs = validate_builtin_object_meta_update(new, old);
    errs.extend(validate_stateful_set_spec(spec_of(new), &Path::new("spec")));
    let mut ns = spec_of(new).clone();
    let os = spec_of(old);
    if let Some(m) = ns.as_object_mut() {
        for key in [
            "replicas",
            "template",
            "updateStrategy",
            "minReadySeconds",
            "ordinals",
            "persistentVolumeClaimRetentionPolicy",
        ] {
            match os.get(key) {
                Some(v) => m.insert(key.into(), v.clone()),
                None => m.remove(key),
            };
        }
    }
    if !semantic_eq(&ns, os) {
        errs.push(FieldError::forbidden(
            &Path::new("spec"),
            "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
        ));
    }
    errs
}

fn validate_daemon_set_spec(spec: &Value, sp: &Path) -> Vec<FieldError> {
    let mut errs = validate_label_selector(get(spec, &["selector"]), &sp.child("selector"));
    let labels = get(spec, &["template", "metadata", "labels"]).filter(|v| !v.is_null());
    if let Ok(sel) = as_selector(field(spec, &["selector"]))
        && !sel.matches(labels)
    {
        errs.push(FieldError::invalid(
            &sp.child("template").child("metadata").child("labels"),
            go_string_map(labels),
            "`selector` does not match template `labels`",
        ));
    }
    if let Some(sel) = field(spec, &["selector"])
        && is_empty_selector(sel)
    {
        errs.push(FieldError::invalid(
            &sp.child("selector"),
            go_label_selector(Some(sel)),
            "empty selector is invalid for daemonset",
        ));
    }
    let tp = sp.child("template");
    let tmpl = get(spec, &["template"]).unwrap_or(&Value::Null);
    errs.extend(validate_pod_template_spec(tmpl, &tp));
    let rp = s(tmpl, &["spec", "restartPolicy"]);
    if rp != "Always" {
        errs.push(FieldError::not_supported(
            &tp.child("spec").child("restartPolicy"),
            rp,
            &["Always"],
        ));
    }
    if field(tmpl, &["spec", "activeDeadlineSeconds"]).is_some() {
        errs.push(FieldError::forbidden(
            &tp.child("spec").child("activeDeadlineSeconds"),
            "activeDeadlineSeconds in DaemonSet is not Supported",
        ));
    }
    errs.extend(nonneg(
        i64_at(spec, &["minReadySeconds"]),
        &sp.child("minReadySeconds"),
    ));
    errs.extend(nonneg(
        i64_at(spec, &["templateGeneration"]),
        &sp.child("templateGeneration"),
    ));
    let up = sp.child("updateStrategy");
    let strategy = get(spec, &["updateStrategy"]).unwrap_or(&Value::Null);
    match s(strategy, &["type"]) {
        "OnDelete" => {}
        "RollingUpdate" => match field(strategy, &["rollingUpdate"]) {
            None => errs.push(FieldError::required(&up.child("rollingUpdate"), "")),
            Some(ru) => {
                let rp = up.child("rollingUpdate");
                let mu = get(ru, &["maxUnavailable"]).unwrap_or(&Value::Null);
                let ms = get(ru, &["maxSurge"]).unwrap_or(&Value::Null);
                errs.extend(validate_positive_int_or_percent(
                    mu,
                    &rp.child("maxUnavailable"),
                ));
                errs.extend(validate_positive_int_or_percent(ms, &rp.child("maxSurge")));
                errs.extend(is_not_more_than_100_percent(
                    mu,
                    &rp.child("maxUnavailable"),
                ));
                errs.extend(is_not_more_than_100_percent(ms, &rp.child("maxSurge")));
                let (has_unavailable, has_surge) =
                    (int_or_percent_value(mu) != 0, int_or_percent_value(ms) != 0);
                if has_unavailable && has_surge {
                    errs.push(FieldError::invalid(
                        &rp.child("maxSurge"),
                        go_int_or_string(ms),
                        "may not be set when maxUnavailable is non-zero",
                    ));
                } else if !has_unavailable && !has_surge {
                    errs.push(FieldError::required(
                        &rp.child("maxUnavailable"),
                        "cannot be 0 when maxSurge is 0",
                    ));
                }
            }
        },
        other => {
            let shown = if field(strategy, &["rollingUpdate"]).is_none() {
                go_repr(format!(
                    "apps.DaemonSetUpdateStrategy{{Type:{}, RollingUpdate:(*apps.RollingUpdateDaemonSet)(nil)}}",
                    go_quote(other)
                ))
            } else {
                strategy.clone()
            };
            errs.push(FieldError::not_supported(
                &up,
                shown,
                &["RollingUpdate", "OnDelete"],
            ));
        }
    }
    errs.extend(nonneg(
        i64_at(spec, &["revisionHistoryLimit"]),
        &sp.child("revisionHistoryLimit"),
    ));
    errs
}

pub(crate) fn validate_daemon_set_create(obj: &Value) -> Vec<FieldError> {
    let mut errs = validate_builtin_object_meta(obj, true, NameRule::Dns1123Subdomain);
    errs.extend(validate_daemon_set_spec(spec_of(obj), &Path::new("spec")));
    errs
}

pub(crate) fn validate_daemon_set_update(new: &Value, old: &Value) -> Vec<FieldError> {
    let mut errs = validate_builtin_object_meta_update(new, old);
    let (ns, os) = (spec_of(new), spec_of(old));
    let gp = Path::new("spec").child("templateGeneration");
    let (ng, og) = (
        i64_at(ns, &["templateGeneration"]).unwrap_or(0),
        i64_at(os, &["templateGeneration"]).unwrap_or(0),
    );
    if ng < og {
        errs.push(FieldError::invalid(&gp, ng, "must not be decremented"));
    }
    let template_updated = !semantic_eq(
        get(ns, &["template"]).unwrap_or(&Value::Null),
        get(os, &["template"]).unwrap_or(&Value::Null),
    );
    if ng == og && template_updated && (ng != 0 || og != 0) {
        errs.push(FieldError::invalid(
            &gp,
            ng,
            "must be incremented upon template update",
        ));
    } else if ng > og && !template_updated {
        errs.push(FieldError::invalid(
            &gp,
            ng,
            "must not be incremented without template update",
        ));
    }
    errs.extend(validate_daemon_set_spec(ns, &Path::new("spec")));
    errs.extend(selector_immutable(new, old));
    errs
}

pub(crate) fn validate_controller_revision_create(obj: &Value) -> Vec<FieldError> {
    let mut errs = validate_builtin_object_meta(obj, true, NameRule::Dns1123Subdomain);
    if field(obj, &["data"]).is_none() {
        errs.push(FieldError::required(
            &Path::new("data"),
            "data is mandatory",
        ));
    }
    errs.extend(nonneg(i64_at(obj, &["revision"]), &Path::new("revision")));
    errs
}

pub(crate) fn validate_controller_revision_update(new: &Value, old: &Value) -> Vec<FieldError> {
    let mut errs = validate_builtin_object_meta_update(new, old);
    errs.extend(validate_controller_revision_create(new));
    let nd = get(new, &["data"]).unwrap_or(&Value::Null);
    if !semantic_eq(nd, get(old, &["data"]).unwrap_or(&Value::Null)) {
        errs.push(FieldError::invalid(
            &Path::new("data"),
            nd.clone(),
            "field is immutable",
        ));
    }
    errs
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap: a panic is a failure
mod tests {
    use super::*;
    use crate::defaults::apply_defaults;
    use serde_json::json;

    fn msgs(errs: &[FieldError]) -> Vec<String> {
        errs.iter().map(FieldError::message).collect()
    }

    fn deployment(selector: Value, labels: Value) -> Value {
        let mut d = json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {"selector": selector, "template": {"metadata": {"labels": labels},
                "spec": {"containers": [{"name": "nginx", "image": "nginx:1.25"}]}}}});
        apply_defaults("apps", "Deployment", &mut d);
        d
    }

    #[test]
    fn validation_deployment_valid_after_defaults() {
        let d = deployment(
            json!({"matchLabels": {"app": "web"}}),
            json!({"app": "web"}),
        );
        assert!(
            validate_deployment_create(&d).is_empty(),
            "{:?}",
            msgs(&validate_deployment_create(&d))
        );
    }

    #[test]
    fn validation_deployment_selector_mismatch() {
        let d = deployment(
            json!({"matchLabels": {"app": "web"}}),
            json!({"app": "other", "tier": "fe"}),
        );
        assert_eq!(
            msgs(&validate_deployment_create(&d)),
            vec![
                "spec.template.metadata.labels: Invalid value: map[string]string{\"app\":\"other\", \"tier\":\"fe\"}: `selector` does not match template `labels`"
            ]
        );
        let mut d = deployment(
            json!({"matchLabels": {"app": "web"}}),
            json!({"app": "web"}),
        );
        d["spec"].as_object_mut().unwrap().remove("selector");
        assert_eq!(
            msgs(&validate_deployment_create(&d)),
            vec![
                "spec.selector: Required value",
                "spec.template.metadata.labels: Invalid value: map[string]string{\"app\":\"web\"}: `selector` does not match template `labels`",
            ]
        );
        let d = deployment(json!({}), json!({"app": "web"}));
        assert_eq!(
            msgs(&validate_deployment_create(&d)),
            vec![
                "spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string(nil), MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: empty selector is invalid for deployment"
            ]
        );
    }

    #[test]
    fn validation_deployment_selector_immutable_and_replicas() {
        let mut old = deployment(
            json!({"matchLabels": {"app": "web"}}),
            json!({"app": "web", "v": "2"}),
        );
        old["metadata"]["resourceVersion"] = json!("7");
        let mut new = old.clone();
        new["spec"]["selector"] = json!({"matchLabels": {"app": "web", "v": "2"}});
        new["spec"]["replicas"] = json!(-1);
        assert_eq!(
            msgs(&validate_deployment_update(&new, &old)),
            vec![
                "spec.replicas: Invalid value: -1: must be greater than or equal to 0",
                "spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{\"app\":\"web\", \"v\":\"2\"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable",
            ]
        );
    }

    #[test]
    fn validation_deployment_strategy() {
        let mut d = deployment(
            json!({"matchLabels": {"app": "web"}}),
            json!({"app": "web"}),
        );
        d["spec"]["strategy"] = json!({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": "150%"}});
        assert_eq!(
            msgs(&validate_deployment_create(&d)),
            vec![
                "spec.strategy.rollingUpdate.maxUnavailable: Invalid value: intstr.IntOrString{Type:1, IntVal:0, StrVal:\"150%\"}: must not be greater than 100%"
            ]
        );
        d["spec"]["strategy"] = json!({"type": "Blue"});
        assert_eq!(
            msgs(&validate_deployment_create(&d)),
            vec![
                "spec.strategy: Unsupported value: apps.DeploymentStrategy{Type:\"Blue\", RollingUpdate:(*apps.RollingUpdateDeployment)(nil)}: supported values: \"Recreate\", \"RollingUpdate\""
            ]
        );
    }

    #[test]
    fn validation_statefulset_update_forbidden_fields() {
        let mut old = json!({"apiVersion": "apps/v1", "kind": "StatefulSet",
            "metadata": {"name": "db", "namespace": "default", "resourceVersion": "3"},
            "spec": {"serviceName": "db", "selector": {"matchLabels": {"app": "db"}},
                "template": {"metadata": {"labels": {"app": "db"}}, "spec": {"containers": [{"name": "c", "image": "postgres"}]}}}});
        apply_defaults("apps", "StatefulSet", &mut old);
        assert!(
            validate_stateful_set_create(&old).is_empty(),
            "{:?}",
            msgs(&validate_stateful_set_create(&old))
        );
        let mut new = old.clone();
        new["spec"]["replicas"] = json!(3);
        assert!(validate_stateful_set_update(&new, &old).is_empty());
        new["spec"]["serviceName"] = json!("other");
        assert_eq!(
            msgs(&validate_stateful_set_update(&new, &old)),
            vec![
                "spec: Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden"
            ]
        );
    }

    #[test]
    fn validation_daemonset_rolling_update() {
        let mut ds = json!({"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "agent", "namespace": "kube-system"},
            "spec": {"selector": {"matchLabels": {"app": "agent"}},
                "template": {"metadata": {"labels": {"app": "agent"}}, "spec": {"containers": [{"name": "c", "image": "agent:1"}]}}}});
        apply_defaults("apps", "DaemonSet", &mut ds);
        assert!(
            validate_daemon_set_create(&ds).is_empty(),
            "{:?}",
            msgs(&validate_daemon_set_create(&ds))
        );
        ds["spec"]["updateStrategy"]["rollingUpdate"] = json!({"maxUnavailable": 0, "maxSurge": 0});
        assert_eq!(
            msgs(&validate_daemon_set_create(&ds)),
            vec![
                "spec.updateStrategy.rollingUpdate.maxUnavailable: Required value: cannot be 0 when maxSurge is 0"
            ]
        );
    }
}
