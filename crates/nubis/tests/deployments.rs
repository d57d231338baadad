//! Deployments and ReplicaSets against the real binary with kubectl: a
//! Deployment makes one ReplicaSet and its pods with the right owners and
//! Events, scales, rolls out within maxSurge/maxUnavailable while no pod is
//! Ready (no nodes in these tests), keeps revisions for `rollout history`
//! and `undo`, and a restart after kill -9 makes no extra pods.

#![allow(clippy::unwrap_used)]

mod support;

use std::time::Duration;
use support::{Kubectl, Nubis};
use tokio::time::Instant;

const V: &str = "1.33";

/// Polls `check` until it returns true or 30 s pass.
fn wait_for(what: &str, mut check: impl FnMut() -> bool) {
    let t0 = Instant::now();
    while !check() {
        assert!(t0.elapsed() < Duration::from_secs(30), "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn items(k: &Kubectl, kind: &str, selector: &str) -> Vec<serde_json::Value> {
    k.json(&["get", kind, "-l", selector, "-o", "json"])["items"].as_array().cloned().unwrap_or_default()
}

fn replicasets(k: &Kubectl) -> Vec<serde_json::Value> {
    items(k, "replicasets", "app=web")
}

fn pods(k: &Kubectl) -> Vec<serde_json::Value> {
    items(k, "pods", "app=web")
}

/// (name, spec.replicas) of each ReplicaSet, newest revision last.
fn rs_sizes(k: &Kubectl) -> Vec<(String, i64)> {
    let mut rs: Vec<(i64, String, i64)> = replicasets(k)
        .iter()
        .map(|r| {
            let rev = r["metadata"]["annotations"]["deployment.kubernetes.io/revision"].as_str().unwrap_or("0").parse().unwrap_or(0);
            (rev, r["metadata"]["name"].as_str().unwrap_or_default().to_string(), r["spec"]["replicas"].as_i64().unwrap_or(-1))
        })
        .collect();
    rs.sort();
    rs.into_iter().map(|(_, n, r)| (n, r)).collect()
}

#[test]
fn deploy_create_scale_rollout_history_undo() {
    let nubis = Nubis::start();
    let k = nubis.kubectl(V);
    k.ok(&["create", "deployment", "web", "--image=nginx", "--replicas=3"]);
    wait_for("3 pods", || pods(&k).len() == 3);

    let rs = replicasets(&k);
    assert_eq!(rs.len(), 1);
    let rs = &rs[0];
    let rs_name = rs["metadata"]["name"].as_str().unwrap().to_string();
    let hash = rs["metadata"]["labels"]["pod-template-hash"].as_str().unwrap();
    assert_eq!(rs_name, format!("web-{hash}"));
    let owner = &rs["metadata"]["ownerReferences"][0];
    assert_eq!((owner["kind"].as_str(), owner["name"].as_str()), (Some("Deployment"), Some("web")));
    assert_eq!((owner["controller"].as_bool(), owner["blockOwnerDeletion"].as_bool()), (Some(true), Some(true)));
    assert_eq!(rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"], "1");
    assert_eq!(rs["metadata"]["annotations"]["deployment.kubernetes.io/desired-replicas"], "3");
    assert_eq!(rs["metadata"]["annotations"]["deployment.kubernetes.io/max-replicas"], "4");
    for p in pods(&k) {
        let name = p["metadata"]["name"].as_str().unwrap();
        assert!(name.starts_with(&format!("{rs_name}-")) && name.len() == rs_name.len() + 6, "{name}");
        let owner = &p["metadata"]["ownerReferences"][0];
        assert_eq!((owner["kind"].as_str(), owner["name"].as_str()), (Some("ReplicaSet"), Some(rs_name.as_str())));
        assert_eq!((owner["controller"].as_bool(), owner["blockOwnerDeletion"].as_bool()), (Some(true), Some(true)));
        assert_eq!(p["metadata"]["labels"]["pod-template-hash"], hash);
    }
    wait_for("deployment status", || {
        let d = k.json(&["get", "deployment", "web", "-o", "json"]);
        d["status"]["replicas"] == 3 && d["status"]["unavailableReplicas"] == 3 && d["status"]["observedGeneration"] == d["metadata"]["generation"]
    });
    let d = k.json(&["get", "deployment", "web", "-o", "json"]);
    let conditions = d["status"]["conditions"].as_array().cloned().unwrap_or_default();
    let find = |t: &str| conditions.iter().find(|c| c["type"] == t).cloned().unwrap_or_default();
    assert_eq!(find("Available")["reason"], "MinimumReplicasUnavailable");
    assert_eq!(find("Available")["message"], "Deployment does not have minimum availability.");
    assert_eq!(find("Progressing")["status"], "True");

    let describe = k.ok(&["describe", "deployment", "web"]);
    assert!(describe.contains("ScalingReplicaSet"), "{describe}");
    assert!(describe.contains(&format!("Scaled up replica set {rs_name} from 0 to 3")), "{describe}");
    assert!(describe.contains("deployment-controller"), "{describe}");
    let describe_rs = k.ok(&["describe", "replicaset", &rs_name]);
    assert!(describe_rs.contains("SuccessfulCreate") && describe_rs.contains("Created pod: "), "{describe_rs}");

    // Scaling up and down.
    k.ok(&["scale", "deployment", "web", "--replicas=5"]);
    wait_for("5 pods", || pods(&k).len() == 5);
    k.ok(&["scale", "deployment", "web", "--replicas=2"]);
    wait_for("2 pods", || pods(&k).len() == 2);
    let describe_rs = k.ok(&["describe", "replicaset", &rs_name]);
    assert!(describe_rs.contains("SuccessfulDelete") && describe_rs.contains("Deleted pod: "), "{describe_rs}");
    k.ok(&["scale", "deployment", "web", "--replicas=3"]);
    wait_for("3 pods", || pods(&k).len() == 3);

    // A new image: pods never become Ready here, so with 3 replicas
    // (maxSurge 1, maxUnavailable 0) the rollout stops at 3 old + 1 new.
    k.ok(&["set", "image", "deployment/web", "nginx=nginx:1.27"]);
    wait_for("a second replica set", || rs_sizes(&k).len() == 2);
    wait_for("3 + 1 pods", || pods(&k).len() == 4);
    std::thread::sleep(Duration::from_secs(2));
    let sizes = rs_sizes(&k);
    assert_eq!(sizes[0].1, 3, "{sizes:?}");
    assert_eq!(sizes[1].1, 1, "{sizes:?}");
    assert_eq!(pods(&k).len(), 4);
    let d = k.json(&["get", "deployment", "web", "-o", "json"]);
    assert_eq!(d["status"]["updatedReplicas"], 1);
    assert_eq!(d["status"]["replicas"], 4);
    assert_eq!(d["metadata"]["annotations"]["deployment.kubernetes.io/revision"], "2");

    let history = k.ok(&["rollout", "history", "deployment/web"]);
    assert!(history.contains("REVISION") && history.contains('1') && history.contains('2'), "{history}");
    let rev2 = k.ok(&["rollout", "history", "deployment/web", "--revision=2"]);
    assert!(rev2.contains("nginx:1.27"), "{rev2}");

    // Undo: the template returns to nginx and the first ReplicaSet becomes
    // revision 3. Its pods are not Ready either, so (as in Kubernetes) the
    // surge pod of revision 2 cannot go without dropping below
    // maxUnavailable 0: it stays at 1.
    k.ok(&["rollout", "undo", "deployment/web"]);
    wait_for("the template back", || {
        k.json(&["get", "deployment", "web", "-o", "json"])["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx"
    });
    wait_for("the old replica set back at 3", || {
        let s = rs_sizes(&k);
        s.len() == 2 && s[1].0 == rs_name && s[1].1 == 3 && s[0].1 == 1
    });
    let d = k.json(&["get", "deployment", "web", "-o", "json"]);
    assert_eq!(d["metadata"]["annotations"]["deployment.kubernetes.io/revision"], "3");

    // Restart: a new template annotation, a new ReplicaSet.
    k.ok(&["rollout", "restart", "deployment/web"]);
    wait_for("a third replica set", || rs_sizes(&k).len() == 3);
    let d = k.json(&["get", "deployment", "web", "-o", "json"]);
    assert!(d["spec"]["template"]["metadata"]["annotations"]["kubectl.kubernetes.io/restartedAt"].is_string());
}

#[test]
fn deploy_kill9_restart_makes_no_extra_pods() {
    let mut nubis = Nubis::start();
    let k = nubis.kubectl(V);
    k.ok(&["create", "deployment", "web", "--image=nginx", "--replicas=4"]);
    wait_for("4 pods", || pods(&k).len() == 4);
    k.ok(&["set", "image", "deployment/web", "nginx=nginx:2"]);
    wait_for("4 + 1 pods", || pods(&k).len() == 5);
    let before: Vec<String> = pods(&k).iter().map(|p| p["metadata"]["name"].as_str().unwrap_or_default().to_string()).collect();
    nubis.kill9();
    nubis.spawn();
    let k = nubis.kubectl(V);
    std::thread::sleep(Duration::from_secs(3));
    let mut after: Vec<String> = pods(&k).iter().map(|p| p["metadata"]["name"].as_str().unwrap_or_default().to_string()).collect();
    let mut before = before;
    before.sort();
    after.sort();
    assert_eq!(before, after);
    assert_eq!(rs_sizes(&k).len(), 2);
}

#[test]
fn deploy_replicaset_adopts_and_releases_pods() {
    let nubis = Nubis::start();
    let k = nubis.kubectl(V);
    k.ok_stdin(&["apply", "-f", "-"], "apiVersion: v1\nkind: Pod\nmetadata: {name: stray, labels: {app: web}}\nspec: {containers: [{name: c, image: nginx}]}\n");
    k.ok_stdin(
        &["apply", "-f", "-"],
        "apiVersion: apps/v1\nkind: ReplicaSet\nmetadata: {name: web}\nspec:\n  replicas: 2\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec: {containers: [{name: c, image: nginx}]}\n",
    );
    wait_for("2 pods", || pods(&k).len() == 2);
    let stray = k.json(&["get", "pod", "stray", "-o", "json"]);
    assert_eq!(stray["metadata"]["ownerReferences"][0]["name"], "web");
    wait_for("status", || k.json(&["get", "rs", "web", "-o", "json"])["status"]["replicas"] == 2);
    // Relabelled, it is released and replaced.
    k.ok(&["label", "pod", "stray", "app=other", "--overwrite"]);
    wait_for("a replacement", || pods(&k).len() == 2);
    wait_for("released", || k.json(&["get", "pod", "stray", "-o", "json"])["metadata"]["ownerReferences"].as_array().is_none_or(|a| a.is_empty()));
    let rs = k.json(&["get", "rs", "web", "-o", "json"]);
    assert_eq!(rs["status"]["fullyLabeledReplicas"], 2);
    assert_eq!(rs["status"]["observedGeneration"], rs["metadata"]["generation"]);
}
