//! Tests of LimitRanger defaults and bounds against Kubernetes' messages.
#![allow(clippy::unwrap_used)] // tests may unwrap: a panic is a failure

use serde_json::{Value, json};

use super::*;

fn lr(limits: Value) -> Value {
    json!({"metadata": {"name": "lr"}, "spec": {"limits": limits}})
}

fn pod(containers: Value) -> Value {
    json!({"metadata": {"name": "x"}, "spec": {"containers": containers}})
}

#[test]
fn policy_limit_range_defaults_and_annotation() {
    let ranges = [lr(json!([{"type": "Container",
        "default": {"cpu": "500m", "memory": "256Mi"},
        "defaultRequest": {"cpu": "100m"}}]))];
    let mut p = json!({"metadata": {"name": "x"}, "spec": {
        "initContainers": [{"name": "init", "resources": {"limits": {"cpu": "1"}, "requests": {"cpu": "1"}}}],
        "containers": [{"name": "c"}, {"name": "d", "resources": {"requests": {"memory": "64Mi"}}}]}});
    assert!(apply_pod_defaults(&mut p, &ranges));
    assert_eq!(
        p["spec"]["containers"][0]["resources"],
        // The default limit doubles as the default request where none is given.
        json!({"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"cpu": "500m", "memory": "256Mi"}})
    );
    assert_eq!(
        p["spec"]["containers"][1]["resources"],
        json!({"requests": {"memory": "64Mi", "cpu": "100m"}, "limits": {"cpu": "500m", "memory": "256Mi"}})
    );
    assert_eq!(
        p["metadata"]["annotations"][ANNOTATION],
        "LimitRanger plugin set: cpu, memory request for container c; cpu, memory limit for container c; \
         cpu request for container d; cpu, memory limit for container d; \
         memory request for init container init; memory limit for init container init"
    );
    // A second pass finds nothing to fill.
    let before = p.clone();
    assert!(!apply_pod_defaults(&mut p, &ranges));
    assert_eq!(p, before);
}

#[test]
fn policy_limit_range_default_request_falls_back_to_default_then_min() {
    // An undefaulted LimitRange: the limit comes from max, the request from
    // the default limit, or from min.
    let ranges = [lr(
        json!([{"type": "Container", "max": {"cpu": "2"}, "min": {"memory": "16Mi"}}]),
    )];
    let mut p = pod(json!([{"name": "c"}]));
    apply_pod_defaults(&mut p, &ranges);
    assert_eq!(
        p["spec"]["containers"][0]["resources"],
        json!({"requests": {"cpu": "2", "memory": "16Mi"}, "limits": {"cpu": "2"}})
    );
    assert_eq!(
        p["metadata"]["annotations"][ANNOTATION],
        "LimitRanger plugin set: cpu, memory request for container c; cpu limit for container c"
    );
}

#[test]
fn policy_limit_range_container_bounds() {
    let ranges = [lr(
        json!([{"type": "Container", "max": {"cpu": "1"}, "min": {"memory": "10Mi"},
        "default": {"cpu": "1"}, "defaultRequest": {"cpu": "1", "memory": "10Mi"}}]),
    )];
    let mut p = pod(
        json!([{"name": "c", "resources": {"limits": {"cpu": "2"}, "requests": {"cpu": "1", "memory": "5Mi"}}}]),
    );
    let err = admit("pods", &mut p, None, &ranges, "x").unwrap_err();
    assert_eq!(
        err.to_string(),
        "pods \"x\" is forbidden: [minimum memory usage per Container is 10Mi, but request is 5Mi, \
         maximum cpu usage per Container is 1, but limit is 2]"
    );
    let mut one = pod(json!([{"name": "c", "resources": {"limits": {"cpu": "2"}}}]));
    assert_eq!(
        admit("pods", &mut one, None, &ranges, "x")
            .unwrap_err()
            .to_string(),
        "pods \"x\" is forbidden: maximum cpu usage per Container is 1, but limit is 2"
    );
    let mut ok = pod(json!([{"name": "c"}]));
    admit("pods", &mut ok, None, &ranges, "x").unwrap();
    assert_eq!(
        ok["spec"]["containers"][0]["resources"]["limits"]["cpu"],
        "1"
    );
}

#[test]
fn policy_limit_range_ratio_and_init_containers() {
    let ranges = [lr(
        json!([{"type": "Container", "maxLimitRequestRatio": {"cpu": "2"}}]),
    )];
    let mut p = json!({"metadata": {"name": "x"}, "spec": {
        "containers": [{"name": "c", "resources": {"requests": {"cpu": "250m"}, "limits": {"cpu": "500m"}}}],
        "initContainers": [{"name": "i", "resources": {"requests": {"cpu": "250m"}, "limits": {"cpu": "1"}}}]}});
    assert_eq!(
        admit("pods", &mut p, None, &ranges, "x")
            .unwrap_err()
            .message,
        "cpu max limit to request ratio per Container is 2, but provided ratio is 4.000000"
    );
}

#[test]
fn policy_limit_range_pod_type_uses_pod_totals() {
    let ranges = [lr(
        json!([{"type": "Pod", "max": {"cpu": "1"}, "min": {"memory": "100Mi"}}]),
    )];
    let p = json!({"spec": {
        "containers": [
            {"name": "a", "resources": {"requests": {"cpu": "300m", "memory": "50Mi"}, "limits": {"cpu": "600m", "memory": "50Mi"}}},
            {"name": "b", "resources": {"requests": {"cpu": "300m", "memory": "60Mi"}, "limits": {"cpu": "600m", "memory": "60Mi"}}}],
        "overhead": {"cpu": "1"}}});
    // 1200m of limits (overhead is not counted), memory 110Mi is enough.
    assert_eq!(
        validate_pod(&p, &ranges),
        ["maximum cpu usage per Pod is 1, but limit is 1200m"]
    );
}

#[test]
fn policy_limit_range_first_violated_range_wins() {
    let ranges = [
        lr(json!([{"type": "Container", "max": {"memory": "1Gi"}}])),
        lr(json!([{"type": "Container", "max": {"cpu": "1"}}])),
    ];
    let p = pod(json!([{"name": "c", "resources": {"limits": {"memory": "512Mi", "cpu": "2"}}}]));
    assert_eq!(
        validate_pod(&p, &ranges),
        ["maximum cpu usage per Container is 1, but limit is 2"]
    );
}

#[test]
fn policy_limit_range_pvc_bounds() {
    let ranges = [lr(
        json!([{"type": "PersistentVolumeClaim", "min": {"storage": "1Gi"}, "max": {"storage": "2Gi"}}]),
    )];
    let claim = |size: &str| json!({"spec": {"resources": {"requests": {"storage": size}}}});
    assert!(validate_pvc(&claim("1Gi"), &ranges).is_empty());
    let mut big = claim("10Gi");
    assert_eq!(
        admit("persistentvolumeclaims", &mut big, None, &ranges, "data")
            .unwrap_err()
            .to_string(),
        "persistentvolumeclaims \"data\" is forbidden: maximum storage usage per PersistentVolumeClaim is 2Gi, but request is 10Gi"
    );
    assert_eq!(
        validate_pvc(&claim("500Mi"), &ranges),
        ["minimum storage usage per PersistentVolumeClaim is 1Gi, but request is 500Mi"]
    );
    // Claims being deleted are not checked on update.
    let old = json!({"metadata": {"deletionTimestamp": "2025-01-01T00:00:00Z"}});
    assert!(
        admit(
            "persistentvolumeclaims",
            &mut big,
            Some(&old),
            &ranges,
            "data"
        )
        .is_ok()
    );
}

#[test]
fn policy_limit_range_applies() {
    assert!(applies("", "pods", "", Operation::Create));
    assert!(!applies("", "pods", "", Operation::Update));
    assert!(!applies("", "pods", "status", Operation::Create));
    assert!(applies("", "persistentvolumeclaims", "", Operation::Update));
    assert!(!applies("apps", "deployments", "", Operation::Create));
}
