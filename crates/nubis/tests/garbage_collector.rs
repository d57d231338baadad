//! The garbage collector against the real binary: background, foreground
//! and orphan propagation over ownerReferences, dangling dependents, custom
//! resources as owners, and a Deployment deleted in the foreground.

mod support;

use futures::StreamExt;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::Api;
use kube::runtime::watcher::{self, Event};
use std::time::Duration;
use support::{Kubectl, Nubis, kube_client};
use tokio::time::Instant;

const V: &str = "1.33";

fn uid(k: &Kubectl, args: &[&str]) -> String {
    let mut a = vec!["get"];
    a.extend(args);
    a.extend(["-o", "jsonpath={.metadata.uid}"]);
    let uid = k.ok(&a);
    assert!(!uid.is_empty(), "no uid for {args:?}");
    uid
}

/// An owner reference: apiVersion, kind, name, uid.
type Owner<'a> = (&'a str, &'a str, &'a str, &'a str);

/// A ConfigMap `name` in `ns` owned by `owner`.
fn owned_cm(k: &Kubectl, ns: &str, name: &str, owner: Owner, block: bool) {
    let (api_version, kind, owner, owner_uid) = owner;
    k.ok_stdin(
        &["apply", "-n", ns, "-f", "-"],
        &format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n  ownerReferences:\n  - {{apiVersion: {api_version}, kind: {kind}, name: {owner}, uid: {owner_uid}, blockOwnerDeletion: {block}}}\ndata: {{a: b}}\n"
        ),
    );
}

fn exists(k: &Kubectl, args: &[&str]) -> bool {
    let mut a = vec!["get"];
    a.extend(args);
    k.run(&a).status.success()
}

#[track_caller]
fn wait_gone(k: &Kubectl, args: &[&str]) {
    let t0 = Instant::now();
    while exists(k, args) {
        assert!(t0.elapsed() < Duration::from_secs(20), "{args:?} still there after 20 s");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn gc_background_orphan_and_dangling() {
    let nubis = Nubis::start();
    let k = nubis.kubectl(V);
    k.ok(&["create", "namespace", "gc"]);

    // Background (kubectl's default): the owner goes at once, then the
    // dependents.
    k.ok(&["create", "configmap", "owner", "-n", "gc"]);
    let owner = uid(&k, &["configmap", "owner", "-n", "gc"]);
    for d in ["bg-1", "bg-2"] {
        owned_cm(&k, "gc", d, ("v1", "ConfigMap", "owner", &owner), false);
    }
    k.ok(&["delete", "configmap", "owner", "-n", "gc"]);
    wait_gone(&k, &["configmap", "bg-1", "-n", "gc"]);
    wait_gone(&k, &["configmap", "bg-2", "-n", "gc"]);

    // Orphan: the dependents stay, without their reference to the owner.
    k.ok(&["create", "configmap", "parent", "-n", "gc"]);
    let parent = uid(&k, &["configmap", "parent", "-n", "gc"]);
    owned_cm(&k, "gc", "kept", ("v1", "ConfigMap", "parent", &parent), true);
    let out = k.ok(&["delete", "configmap", "parent", "-n", "gc", "--cascade=orphan"]);
    assert!(out.contains(r#"configmap "parent" deleted"#), "{out}");
    wait_gone(&k, &["configmap", "parent", "-n", "gc"]);
    let kept = k.json(&["get", "configmap", "kept", "-n", "gc"]);
    assert!(kept["metadata"].get("ownerReferences").is_none(), "reference left: {kept}");

    // Dangling: an owner uid that no object has.
    owned_cm(&k, "gc", "dangling", ("v1", "ConfigMap", "ghost", "0badc0de-0000-4000-8000-000000000000"), false);
    wait_gone(&k, &["configmap", "dangling", "-n", "gc"]);
    // A recreated owner of the same name has another uid: still dangling.
    k.ok(&["create", "configmap", "reborn", "-n", "gc"]);
    owned_cm(&k, "gc", "stale", ("v1", "ConfigMap", "reborn", "0badc0de-0000-4000-8000-000000000001"), false);
    wait_gone(&k, &["configmap", "stale", "-n", "gc"]);
    assert!(exists(&k, &["configmap", "reborn", "-n", "gc"]));

    // A reference to a namespaced owner in another namespace is treated as
    // absent, and never takes the real owner's dependents with it.
    k.ok(&["create", "namespace", "gc-other"]);
    k.ok(&["create", "configmap", "elsewhere", "-n", "gc"]);
    let elsewhere = uid(&k, &["configmap", "elsewhere", "-n", "gc"]);
    owned_cm(&k, "gc", "local", ("v1", "ConfigMap", "elsewhere", &elsewhere), false);
    owned_cm(&k, "gc-other", "cross", ("v1", "ConfigMap", "elsewhere", &elsewhere), false);
    wait_gone(&k, &["configmap", "cross", "-n", "gc-other"]);
    let events = k.ok(&["get", "events", "-n", "gc-other"]);
    assert!(events.contains("OwnerRefInvalidNamespace"), "{events}");
    std::thread::sleep(Duration::from_secs(1));
    assert!(exists(&k, &["configmap", "local", "-n", "gc"]), "a valid dependent was collected");
    assert!(exists(&k, &["configmap", "elsewhere", "-n", "gc"]));

    // A cluster-scoped owner of a namespaced dependent.
    k.ok(&["create", "clusterrole", "gc-owner", "--verb=get", "--resource=pods"]);
    let role = uid(&k, &["clusterrole", "gc-owner"]);
    owned_cm(&k, "gc", "of-role", ("rbac.authorization.k8s.io/v1", "ClusterRole", "gc-owner", &role), false);
    std::thread::sleep(Duration::from_secs(1));
    assert!(exists(&k, &["configmap", "of-role", "-n", "gc"]), "a dependent of a live cluster-scoped owner went");
    k.ok(&["delete", "clusterrole", "gc-owner"]);
    wait_gone(&k, &["configmap", "of-role", "-n", "gc"]);
}

#[tokio::test]
async fn gc_foreground_deletes_dependents_first() {
    let nubis = Nubis::start();
    let k = nubis.kubectl(V);
    k.ok(&["create", "namespace", "gc"]);
    k.ok(&["create", "configmap", "owner", "-n", "gc"]);
    let owner = uid(&k, &["configmap", "owner", "-n", "gc"]);
    owned_cm(&k, "gc", "blocking", ("v1", "ConfigMap", "owner", &owner), true);
    owned_cm(&k, "gc", "free", ("v1", "ConfigMap", "owner", &owner), false);
    // A finalizer holds the blocking dependent, so the owner must wait.
    k.ok(&["patch", "configmap", "blocking", "-n", "gc", "--type=merge", "-p", r#"{"metadata":{"finalizers":["example.com/hold"]}}"#]);

    let client = kube_client(&nubis.kubeconfig()).await;
    let cms: Api<ConfigMap> = Api::namespaced(client, "gc");
    let mut events = watcher::watcher(cms, watcher::Config::default()).boxed();
    while let Some(e) = events.next().await {
        if matches!(e.expect("watch"), Event::InitDone) {
            break;
        }
    }
    k.ok(&["delete", "configmap", "owner", "-n", "gc", "--cascade=foreground", "--wait=false"]);

    // The owner stays, marked, while the blocking dependent is there.
    let t0 = Instant::now();
    while exists(&k, &["configmap", "free", "-n", "gc"]) {
        assert!(t0.elapsed() < Duration::from_secs(20), "the non-blocking dependent was not deleted");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let marked = k.json(&["get", "configmap", "owner", "-n", "gc"]);
    assert!(marked["metadata"]["deletionTimestamp"].is_string(), "{marked}");
    assert_eq!(marked["metadata"]["finalizers"], serde_json::json!(["foregroundDeletion"]), "{marked}");
    let blocking = k.json(&["get", "configmap", "blocking", "-n", "gc"]);
    assert!(blocking["metadata"]["deletionTimestamp"].is_string(), "{blocking}");

    // Release it: then the owner goes, after its dependents.
    k.ok(&["patch", "configmap", "blocking", "-n", "gc", "--type=merge", "-p", r#"{"metadata":{"finalizers":null}}"#]);
    let mut deleted = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !deleted.iter().any(|n| n == "owner") {
        let next = tokio::time::timeout_at(deadline, events.next()).await;
        let Ok(Some(e)) = next else { panic!("owner not deleted; deleted so far: {deleted:?}") };
        if let Event::Delete(cm) = e.expect("watch") {
            deleted.push(cm.metadata.name.unwrap_or_default());
        }
    }
    assert_eq!(deleted, ["free", "blocking", "owner"]);
}

#[test]
fn gc_custom_resource_owner_and_deployment_foreground() {
    let nubis = Nubis::start();
    let k = nubis.kubectl(V);
    k.ok(&["create", "namespace", "gc"]);

    // A custom resource owning a ConfigMap, just after its CRD is served.
    k.ok_stdin(&["apply", "-f", "-"], support::WIDGET_CRD);
    k.ok_stdin(&["apply", "-n", "gc", "-f", "-"], "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\nspec: {size: 1}\n");
    let w = uid(&k, &["widget", "w", "-n", "gc"]);
    owned_cm(&k, "gc", "of-widget", ("example.com/v1", "Widget", "w", &w), true);
    std::thread::sleep(Duration::from_secs(1));
    assert!(exists(&k, &["configmap", "of-widget", "-n", "gc"]), "a dependent of a live widget went");
    k.ok(&["delete", "widget", "w", "-n", "gc"]);
    wait_gone(&k, &["configmap", "of-widget", "-n", "gc"]);

    // A Deployment deleted in the foreground: its ReplicaSets go first
    // (one made here and held by a finalizer; it carries the Deployment's
    // labels, or the Deployment controller would release it).
    k.ok_stdin(
        &["apply", "-n", "gc", "-f", "-"],
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec: {replicas: 0, selector: {matchLabels: {app: web}}, template: {metadata: {labels: {app: web}}, spec: {containers: [{name: c, image: nginx}]}}}\n",
    );
    let d = uid(&k, &["deployment", "web", "-n", "gc"]);
    k.ok_stdin(
        &["apply", "-n", "gc", "-f", "-"],
        &format!(
            "apiVersion: apps/v1\nkind: ReplicaSet\nmetadata:\n  name: web-1\n  labels: {{app: web}}\n  finalizers: [example.com/hold]\n  ownerReferences:\n  - {{apiVersion: apps/v1, kind: Deployment, name: web, uid: {d}, controller: true, blockOwnerDeletion: true}}\nspec: {{replicas: 0, selector: {{matchLabels: {{app: web}}}}, template: {{metadata: {{labels: {{app: web}}}}, spec: {{containers: [{{name: c, image: nginx}}]}}}}}}\n"
        ),
    );
    k.ok(&["delete", "deployment", "web", "-n", "gc", "--cascade=foreground", "--wait=false"]);
    let t0 = Instant::now();
    loop {
        let rs = k.json(&["get", "replicaset", "web-1", "-n", "gc"]);
        if rs["metadata"]["deletionTimestamp"].is_string() {
            break;
        }
        assert!(t0.elapsed() < Duration::from_secs(20), "the ReplicaSet was not deleted: {rs}");
        std::thread::sleep(Duration::from_millis(100));
    }
    let dep = k.json(&["get", "deployment", "web", "-n", "gc"]);
    assert_eq!(dep["metadata"]["finalizers"], serde_json::json!(["foregroundDeletion"]), "{dep}");
    k.ok(&["patch", "replicaset", "web-1", "-n", "gc", "--type=merge", "-p", r#"{"metadata":{"finalizers":null}}"#]);
    wait_gone(&k, &["replicaset", "web-1", "-n", "gc"]);
    wait_gone(&k, &["deployment", "web", "-n", "gc"]);
}
