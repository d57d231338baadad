//! Deployments rolling out on simulated nodes (`nubis up
//! --simulated-nodes 3`), where pods become Ready without containers: a
//! rollout with maxUnavailable 0 never drops below the desired available
//! count, `rollout undo` goes back, a restart mid-rollout resumes it, and
//! cascading deletes behave as on Kubernetes.

mod support;

use futures::StreamExt;
use k8s_openapi::api::apps::v1::Deployment;
use kube::api::Api;
use kube::runtime::{WatchStreamExt, watcher};
use std::sync::Arc;
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::Duration;
use support::{Kubectl, Nubis, kube_client};

const V: &str = "1.33";

fn image(k: &Kubectl) -> String {
    k.json(&["get", "deployment", "web"])["spec"]["template"]["spec"]["containers"][0]["image"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

fn rollout_done(k: &Kubectl) {
    k.ok(&["rollout", "status", "deployment/web", "--timeout=60s"]);
}

/// Ready pods of the Deployment and their images.
fn running_images(k: &Kubectl) -> Vec<String> {
    let pods = k.json(&["get", "pods", "-l", "app=web"]);
    let mut images: Vec<String> = pods["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| p["metadata"]["deletionTimestamp"].is_null())
        .map(|p| p["spec"]["containers"][0]["image"].as_str().unwrap_or_default().to_string())
        .collect();
    images.sort();
    images
}

#[tokio::test(flavor = "multi_thread")]
async fn rollout_keeps_availability_undoes_and_resumes_after_restart() {
    let mut nubis = Nubis::start_with(&["--simulated-nodes", "3"]);
    let k = nubis.kubectl(V);
    k.ok_stdin(
        &["apply", "-f", "-"],
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  replicas: 3\n  selector: {matchLabels: {app: web}}\n  strategy: {type: RollingUpdate, rollingUpdate: {maxUnavailable: 0, maxSurge: 1}}\n  template:\n    metadata: {labels: {app: web}}\n    spec: {containers: [{name: web, image: 'nginx:1.0'}]}\n",
    );
    rollout_done(&k);
    assert_eq!(running_images(&k), ["nginx:1.0"; 3]);

    // Watch availability through the rollout: it never drops below 3.
    let client = kube_client(&nubis.kubeconfig()).await;
    let deployments: Api<Deployment> = Api::namespaced(client, "default");
    let lowest = Arc::new(AtomicI32::new(i32::MAX));
    let seen = lowest.clone();
    let watch = tokio::spawn(async move {
        let mut events = watcher(deployments, watcher::Config::default().fields("metadata.name=web")).applied_objects().boxed();
        while let Some(Ok(d)) = events.next().await {
            let available = d.status.and_then(|s| s.available_replicas).unwrap_or(0);
            seen.fetch_min(available, Ordering::SeqCst);
        }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    k.ok(&["set", "image", "deployment/web", "web=nginx:2.0"]);
    rollout_done(&k);
    watch.abort();
    let lowest = lowest.load(Ordering::SeqCst);
    assert!(lowest >= 3, "available replicas dropped to {lowest} during a maxUnavailable 0 rollout");
    assert_eq!(running_images(&k), ["nginx:2.0"; 3]);
    let history = k.ok(&["rollout", "history", "deployment/web"]);
    assert!(history.contains('1') && history.contains('2'), "{history}");

    // Undo returns to the first template.
    k.ok(&["rollout", "undo", "deployment/web"]);
    rollout_done(&k);
    assert_eq!(image(&k), "nginx:1.0");
    assert_eq!(running_images(&k), ["nginx:1.0"; 3]);

    // A restart in the middle of a rollout resumes it (level-triggered).
    k.ok(&["set", "image", "deployment/web", "web=nginx:3.0"]);
    nubis.kill9();
    nubis.spawn();
    rollout_done(&k);
    assert_eq!(running_images(&k), ["nginx:3.0"; 3]);
    let rs = k.json(&["get", "replicasets", "-l", "app=web"]);
    let active: Vec<_> = rs["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["spec"]["replicas"].as_i64().unwrap_or(0) > 0)
        .collect();
    assert_eq!(active.len(), 1, "exactly one ReplicaSet has replicas after the rollout: {rs}");
}

#[test]
fn rollout_cascading_deletes() {
    let nubis = Nubis::start_with(&["--simulated-nodes", "2"]);
    let k = nubis.kubectl(V);
    k.ok(&["create", "deployment", "web", "--image=nginx", "--replicas=2"]);
    rollout_done(&k);

    // Orphan: the ReplicaSet and its pods stay, released.
    k.ok(&["delete", "deployment", "web", "--cascade=orphan"]);
    let rs = k.json(&["get", "replicasets", "-l", "app=web"]);
    let items = rs["items"].as_array().cloned().unwrap_or_default();
    assert_eq!(items.len(), 1, "{rs}");
    let mut released = false;
    for _ in 0..100 {
        let rs = k.json(&["get", "replicasets", "-l", "app=web"]);
        if rs["items"][0]["metadata"]["ownerReferences"].as_array().is_none_or(Vec::is_empty) {
            released = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(released, "the orphaned ReplicaSet still names its Deployment");
    assert_eq!(running_images(&k).len(), 2);

    // Foreground: the pods go before the ReplicaSet does.
    let name = items[0]["metadata"]["name"].as_str().unwrap_or_default().to_string();
    k.ok(&["delete", "replicaset", &name, "--cascade=foreground", "--timeout=30s"]);
    assert!(running_images(&k).is_empty(), "pods outlived their ReplicaSet");
}
