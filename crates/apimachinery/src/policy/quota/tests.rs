//! Tests of quota usage and admission against Kubernetes' messages.
#![allow(clippy::unwrap_used)] // tests may unwrap: a panic is a failure

use serde_json::{Value, json};

use super::*;
use crate::policy::resource_list_json;

fn quota(name: &str, hard: Value, used: Value) -> Value {
    json!({"metadata": {"name": name}, "spec": {"hard": hard}, "status": {"hard": hard, "used": used}})
}

fn create<'a>(group: &'a str, resource: &'a str, obj: &'a Value) -> Request<'a> {
    Request {
        group,
        resource,
        subresource: "",
        operation: Operation::Create,
        object: obj,
        old_object: None,
        name: "x",
    }
}

fn update<'a>(resource: &'a str, obj: &'a Value, old: &'a Value) -> Request<'a> {
    Request {
        old_object: Some(old),
        operation: Operation::Update,
        ..create("", resource, obj)
    }
}

fn pod(containers: Value) -> Value {
    json!({"metadata": {"name": "x"}, "spec": {"containers": containers}})
}

fn res(req: Value, lim: Value) -> Value {
    json!({"requests": req, "limits": lim})
}

#[test]
fn policy_quota_pod_usage() {
    let p = json!({"spec": {
        "containers": [
            {"name": "a", "resources": res(json!({"cpu": "100m", "memory": "64Mi", "nvidia.com/gpu": "1", "hugepages-2Mi": "4Mi"}), json!({"cpu": "1"}))},
            {"name": "b", "resources": res(json!({"cpu": "200m", "ephemeral-storage": "1Gi"}), json!({}))}],
        "initContainers": [{"name": "i", "resources": res(json!({"cpu": "1"}), json!({}))}],
        "overhead": {"cpu": "50m"}}});
    assert_eq!(
        resource_list_json(&usage("", "pods", &p)),
        json!({"count/pods": "1", "cpu": "1050m", "ephemeral-storage": "1Gi", "hugepages-2Mi": "4Mi",
            "limits.cpu": "1050m", "memory": "64Mi", "pods": "1", "requests.cpu": "1050m",
            "requests.ephemeral-storage": "1Gi", "requests.hugepages-2Mi": "4Mi", "requests.memory": "64Mi",
            "requests.nvidia.com/gpu": "1"})
    );
    // Terminal pods keep only their object count.
    let done = json!({"spec": p["spec"], "status": {"phase": "Succeeded"}});
    assert_eq!(
        resource_list_json(&usage("", "pods", &done)),
        json!({"count/pods": "1"})
    );
}

#[test]
fn policy_quota_other_usage() {
    let svc = json!({"spec": {"type": "LoadBalancer", "ports": [{"port": 80}, {"port": 443}]}});
    assert_eq!(
        resource_list_json(&usage("", "services", &svc)),
        json!({"count/services": "1", "services": "1", "services.loadbalancers": "1", "services.nodeports": "2"})
    );
    let pvc = json!({"spec": {"storageClassName": "gold", "resources": {"requests": {"storage": "1.5Gi"}}}});
    assert_eq!(
        resource_list_json(&usage("", "persistentvolumeclaims", &pvc)),
        json!({"count/persistentvolumeclaims": "1", "gold.storageclass.storage.k8s.io/persistentvolumeclaims": "1",
            "gold.storageclass.storage.k8s.io/requests.storage": "1536Mi", "persistentvolumeclaims": "1",
            "requests.storage": "1536Mi"})
    );
    let cm = json!({});
    assert_eq!(
        resource_list_json(&usage("", "configmaps", &cm)),
        json!({"configmaps": "1", "count/configmaps": "1"})
    );
    assert_eq!(
        resource_list_json(&usage("apps", "deployments", &cm)),
        json!({"count/deployments.apps": "1"})
    );
    assert!(usage("", "events", &cm).is_empty());
}

#[test]
fn policy_quota_exceeded_message() {
    let quotas = [quota(
        "compute",
        json!({"pods": "2", "cpu": "10"}),
        json!({"pods": "2", "cpu": "1"}),
    )];
    let p = pod(json!([{"name": "c", "resources": res(json!({"cpu": "1"}), json!({}))}]));
    let err = admit(&quotas, &create("", "pods", &p)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "pods \"x\" is forbidden: exceeded quota: compute, requested: pods=1, used: pods=2, limited: pods=2"
    );
    let quotas = [quota(
        "compute",
        json!({"pods": "2", "requests.cpu": "1", "requests.memory": "1Gi"}),
        json!({"pods": "1", "requests.cpu": "500m", "requests.memory": "1Gi"}),
    )];
    let p = pod(
        json!([{"name": "c", "resources": res(json!({"cpu": "1", "memory": "1Mi"}), json!({}))}]),
    );
    assert_eq!(
        admit(&quotas, &create("", "pods", &p))
            .unwrap_err()
            .violation
            .to_string(),
        "exceeded quota: compute, requested: requests.cpu=1,requests.memory=1Mi, \
         used: requests.cpu=500m,requests.memory=1Gi, limited: requests.cpu=1,requests.memory=1Gi"
    );
}

#[test]
fn policy_quota_admit_returns_new_used() {
    let quotas = [
        quota(
            "compute",
            json!({"pods": "5", "requests.memory": "2Gi"}),
            json!({"pods": "1", "requests.memory": "0"}),
        ),
        quota(
            "objects",
            json!({"count/configmaps": "3"}),
            json!({"count/configmaps": "0"}),
        ),
    ];
    let p = pod(json!([{"name": "c", "resources": res(json!({"memory": "1Gi"}), json!({}))}]));
    let updates = admit(&quotas, &create("", "pods", &p)).unwrap();
    assert_eq!(updates.len(), 1);
    assert_eq!(updates[0].name, "compute");
    // A zero takes the request's format: 1Gi, not 1073741824.
    assert_eq!(
        used_json(&updates[0].used),
        json!({"pods": "2", "requests.memory": "1Gi"})
    );
    let updates = admit(&quotas, &create("", "configmaps", &json!({}))).unwrap();
    assert_eq!(
        used_json(&updates[0].used),
        json!({"count/configmaps": "1"})
    );
    // Object counts only change on create.
    assert!(
        admit(&quotas, &update("configmaps", &json!({}), &json!({})))
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        new_used(&quotas[0], &usage("", "pods", &p)),
        resource_list(Some(&json!({"pods": "2", "requests.memory": "1Gi"})))
    );
    assert!(check(&quotas, &usage("", "pods", &p)).is_ok());
}

#[test]
fn policy_quota_must_specify() {
    let quotas = [quota(
        "compute",
        json!({"limits.cpu": "4", "requests.memory": "4Gi", "pods": "9"}),
        json!({"limits.cpu": "0", "requests.memory": "0", "pods": "0"}),
    )];
    let p = json!({"metadata": {"name": "x"}, "spec": {
        "initContainers": [{"name": "init", "resources": res(json!({"memory": "1Mi"}), json!({"cpu": "1"}))}],
        "containers": [{"name": "c", "resources": res(json!({}), json!({}))},
                       {"name": "b", "resources": res(json!({"memory": "1Mi"}), json!({}))}]}});
    assert_eq!(
        admit(&quotas, &create("", "pods", &p))
            .unwrap_err()
            .to_string(),
        "pods \"x\" is forbidden: failed quota: compute: must specify limits.cpu for: b,c; requests.memory for: c"
    );
}

#[test]
fn policy_quota_status_unknown() {
    let q = json!({"metadata": {"name": "compute"}, "status": {"hard": {"pods": "2", "cpu": "1"}, "used": {"pods": "0"}}});
    let p = pod(json!([{"name": "c", "resources": res(json!({"cpu": "1"}), json!({}))}]));
    assert_eq!(
        admit(&[q], &create("", "pods", &p))
            .unwrap_err()
            .violation
            .to_string(),
        "status unknown for quota: compute, resources: cpu,pods"
    );
}

#[test]
fn policy_quota_scopes() {
    let scoped = |scopes: Value, selector: Value| {
        json!({"metadata": {"name": "q"}, "spec": {"scopes": scopes, "scopeSelector": selector},
            "status": {"hard": {"pods": "0"}, "used": {"pods": "0"}}})
    };
    let best_effort = pod(json!([{"name": "c"}]));
    let burstable = pod(json!([{"name": "c", "resources": res(json!({"cpu": "1"}), json!({}))}]));
    let mut terminating = best_effort.clone();
    terminating["spec"]["activeDeadlineSeconds"] = json!(30);
    let mut high = best_effort.clone();
    high["spec"]["priorityClassName"] = json!("high");
    let refused =
        |q: &Value, p: &Value| admit(std::slice::from_ref(q), &create("", "pods", p)).is_err();

    let be = scoped(json!(["BestEffort"]), Value::Null);
    assert!(refused(&be, &best_effort) && !refused(&be, &burstable));
    let nbe = scoped(json!(["NotBestEffort"]), Value::Null);
    assert!(!refused(&nbe, &best_effort) && refused(&nbe, &burstable));
    let term = scoped(json!(["Terminating"]), Value::Null);
    assert!(refused(&term, &terminating) && !refused(&term, &best_effort));
    let not_term = scoped(json!(["NotTerminating"]), Value::Null);
    assert!(!refused(&not_term, &terminating) && refused(&not_term, &best_effort));
    let prio = |op: &str, values: Value| {
        scoped(
            json!([]),
            json!({"matchExpressions": [{"scopeName": "PriorityClass", "operator": op, "values": values}]}),
        )
    };
    assert!(
        refused(&prio("In", json!(["high"])), &high)
            && !refused(&prio("In", json!(["high"])), &best_effort)
    );
    assert!(
        !refused(&prio("NotIn", json!(["high"])), &high)
            && refused(&prio("NotIn", json!(["high"])), &best_effort)
    );
    assert!(
        refused(&prio("Exists", json!([])), &high)
            && !refused(&prio("Exists", json!([])), &best_effort)
    );
    assert!(refused(&prio("DoesNotExist", json!([])), &best_effort));
    // Scoped quotas never cover resources without scopes.
    let svc_quota = json!({"metadata": {"name": "q"}, "spec": {"scopes": ["BestEffort"]},
        "status": {"hard": {"services": "0"}, "used": {"services": "0"}}});
    assert!(
        admit(&[svc_quota], &create("", "services", &json!({})))
            .unwrap()
            .is_empty()
    );
}

#[test]
fn policy_quota_update_deltas() {
    let quotas = [quota(
        "storage",
        json!({"requests.storage": "10Gi", "services.nodeports": "1", "services.loadbalancers": "1"}),
        json!({"requests.storage": "8Gi", "services.nodeports": "0", "services.loadbalancers": "0"}),
    )];
    let claim = |size: &str| json!({"spec": {"resources": {"requests": {"storage": size}}}});
    // Growing 5Gi → 7Gi charges 2Gi: 10Gi total, exactly the limit.
    let up = admit(
        &quotas,
        &update("persistentvolumeclaims", &claim("7Gi"), &claim("5Gi")),
    )
    .unwrap();
    assert_eq!(used_json(&up[0].used)["requests.storage"], "10Gi");
    let err = admit(
        &quotas,
        &update("persistentvolumeclaims", &claim("8Gi"), &claim("5Gi")),
    )
    .unwrap_err();
    assert_eq!(
        err.violation.to_string(),
        "exceeded quota: storage, requested: requests.storage=3Gi, used: requests.storage=8Gi, limited: requests.storage=10Gi"
    );
    // Shrinking charges nothing.
    assert!(
        admit(
            &quotas,
            &update("persistentvolumeclaims", &claim("1Gi"), &claim("5Gi"))
        )
        .unwrap()
        .is_empty()
    );
    let svc = |t: &str| json!({"spec": {"type": t, "ports": [{"port": 80}, {"port": 81}]}});
    let err = admit(
        &quotas,
        &update("services", &svc("NodePort"), &svc("ClusterIP")),
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "services \"x\" is forbidden: exceeded quota: storage, requested: services.nodeports=2, used: services.nodeports=0, limited: services.nodeports=1"
    );
}

#[test]
fn policy_quota_pod_becoming_terminating() {
    let quotas = [
        json!({"metadata": {"name": "t"}, "spec": {"scopes": ["Terminating"]},
        "status": {"hard": {"pods": "5"}, "used": {"pods": "1"}}}),
    ];
    let old = pod(json!([{"name": "c"}]));
    let mut new = old.clone();
    new["spec"]["activeDeadlineSeconds"] = json!(10);
    // The old pod was outside the scope, so the whole pod is charged.
    let up = admit(&quotas, &update("pods", &new, &old)).unwrap();
    assert_eq!(used_json(&up[0].used), json!({"pods": "2"}));
    // Other pod updates are not quota'd.
    assert!(
        admit(&quotas, &update("pods", &new, &new))
            .unwrap()
            .is_empty()
    );
}

#[test]
fn policy_quota_group_resources_in_messages() {
    let quotas = [quota(
        "objects",
        json!({"count/deployments.apps": "1"}),
        json!({"count/deployments.apps": "1"}),
    )];
    let req = Request {
        name: "web",
        ..create("apps", "deployments", &Value::Null)
    };
    assert_eq!(
        admit(&quotas, &req).unwrap_err().to_string(),
        "deployments.apps \"web\" is forbidden: exceeded quota: objects, requested: count/deployments.apps=1, \
         used: count/deployments.apps=1, limited: count/deployments.apps=1"
    );
    assert_eq!(object_count_name("", "secrets"), "count/secrets");
    assert!(quota_covers(&quotas[0], "apps", "deployments", &json!({})));
    assert_eq!(
        resource_list_json(&zero_usage(&quotas[0])),
        json!({"count/deployments.apps": "0"})
    );
}
