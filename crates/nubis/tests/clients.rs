//! The object lifecycle through other clients than kubectl: the `kube`
//! crate (typed `Api`, `kube::runtime::watcher`) and the Python
//! `kubernetes` client; and restarts that keep everything.

mod support;

use futures::StreamExt;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::runtime::watcher;
use serde_json::json;
use std::time::Duration;
use support::{Nubis, kube_client};

fn deployment(name: &str, image: &str) -> Deployment {
    serde_json::from_value(json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": {"app": name}},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "main", "image": image}]},
            },
        },
    }))
    .expect("a valid Deployment")
}

#[tokio::test]
async fn clients_kube_crate_lifecycle_and_watcher() {
    let nubis = Nubis::start();
    let client = kube_client(&nubis.kubeconfig()).await;
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let ns: Namespace = serde_json::from_value(json!({"metadata": {"name": "kube-test"}})).expect("ns");
    namespaces.create(&PostParams::default(), &ns).await.expect("create namespace");

    let deployments: Api<Deployment> = Api::namespaced(client.clone(), "kube-test");
    // A watcher started before the writes sees them, in order. The stream
    // is lazy, so a task drives it and reports once its initial list is done.
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let watched = deployments.clone();
    let driver = tokio::spawn(async move {
        let mut events = Box::pin(watcher(watched, watcher::Config::default()));
        while let Some(ev) = events.next().await {
            let item = match ev {
                Ok(watcher::Event::InitDone) => ("init-done", None),
                Ok(watcher::Event::Apply(d)) => ("apply", d.metadata.generation),
                Ok(watcher::Event::Delete(d)) => ("delete", d.metadata.generation),
                Ok(_) => continue,
                Err(e) => panic!("watch stream failed: {e}"),
            };
            if tx.send(item).is_err() {
                return;
            }
        }
    });
    let first = tokio::time::timeout(Duration::from_secs(10), rx.recv()).await.expect("initial list within 10s");
    assert_eq!(first, Some(("init-done", None)));

    let created = deployments.create(&PostParams::default(), &deployment("api", "nginx:1.25")).await.expect("create");
    assert_eq!(created.metadata.generation, Some(1));
    assert_eq!(created.spec.as_ref().and_then(|s| s.revision_history_limit), Some(10));
    let got = deployments.get("api").await.expect("get");
    assert_eq!(got.metadata.uid, created.metadata.uid);

    let patched = deployments
        .patch("api", &PatchParams::default(), &Patch::Merge(json!({"spec": {"replicas": 3}})))
        .await
        .expect("merge patch");
    assert_eq!(patched.spec.as_ref().and_then(|s| s.replicas), Some(3));
    assert_eq!(patched.metadata.generation, Some(2));

    let mut replaced = patched.clone();
    if let Some(spec) = replaced.spec.as_mut()
        && let Some(ps) = spec.template.spec.as_mut() {
            ps.containers[0].image = Some("nginx:1.26".into());
        }
    let replaced = deployments.replace("api", &PostParams::default(), &replaced).await.expect("replace");
    assert_eq!(replaced.metadata.generation, Some(3));
    let stale = deployments.replace("api", &PostParams::default(), &patched).await;
    assert!(matches!(stale, Err(kube::Error::Api(ref s)) if s.code == 409), "stale replace: {stale:?}");

    let list = deployments.list(&ListParams::default().labels("app=api")).await.expect("list");
    assert_eq!(list.items.len(), 1);
    deployments.delete("api", &DeleteParams::default()).await.expect("delete");

    // The Deployment controller's status writes are applies of the same
    // generation too; each generation is recorded once.
    let mut seen = Vec::new();
    while seen.last().is_none_or(|(kind, _)| *kind != "delete") {
        let ev = tokio::time::timeout(Duration::from_secs(10), rx.recv())
            .await
            .expect("watch event within 10s")
            .expect("watch stream open");
        if seen.last() != Some(&ev) {
            seen.push(ev);
        }
    }
    assert_eq!(seen, [("apply", Some(1)), ("apply", Some(2)), ("apply", Some(3)), ("delete", Some(3))]);
    driver.abort();

    // Pagination pinned to one revision.
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "kube-test");
    for i in 0..25 {
        let cm: ConfigMap = serde_json::from_value(json!({"metadata": {"name": format!("cm-{i:02}")}})).expect("cm");
        cms.create(&PostParams::default(), &cm).await.expect("create cm");
    }
    let first = cms.list(&ListParams::default().limit(10)).await.expect("page 1");
    assert_eq!(first.items.len(), 10);
    // 25 ConfigMaps and the namespace's kube-root-ca.crt.
    assert_eq!(first.metadata.remaining_item_count, Some(16));
    let token = first.metadata.continue_.clone().expect("continue token");
    // A write between pages does not show up in later pages.
    let late: ConfigMap = serde_json::from_value(json!({"metadata": {"name": "cm-99"}})).expect("cm");
    cms.create(&PostParams::default(), &late).await.expect("create late");
    let mut names: Vec<String> = first.items.iter().filter_map(|c| c.metadata.name.clone()).collect();
    let mut token = Some(token);
    while let Some(t) = token {
        let page = cms.list(&ListParams::default().limit(10).continue_token(&t)).await.expect("next page");
        assert_eq!(page.metadata.resource_version, first.metadata.resource_version);
        names.extend(page.items.iter().filter_map(|c| c.metadata.name.clone()));
        token = page.metadata.continue_.filter(|t| !t.is_empty());
    }
    let mut expected: Vec<String> = (0..25).map(|i| format!("cm-{i:02}")).collect();
    expected.push("kube-root-ca.crt".into());
    assert_eq!(names, expected);

    // Streaming lists (sendInitialEvents): the initial state arrives as
    // events, closed by the initial-events-end bookmark.
    let mut streamed = Box::pin(watcher(cms.clone(), watcher::Config::default().streaming_lists()));
    let mut initial = Vec::new();
    loop {
        let ev = tokio::time::timeout(Duration::from_secs(10), streamed.next())
            .await
            .expect("streaming list within 10s")
            .expect("stream open")
            .expect("no watch error");
        match ev {
            watcher::Event::InitApply(cm) => initial.extend(cm.metadata.name),
            watcher::Event::InitDone => break,
            _ => {}
        }
    }
    initial.sort();
    let mut expected: Vec<String> = (0..25).map(|i| format!("cm-{i:02}")).collect();
    expected.extend(["cm-99".to_string(), "kube-root-ca.crt".to_string()]);
    assert_eq!(initial, expected);
}

#[test]
fn clients_python_lifecycle() {
    let nubis = Nubis::start();
    support::run_python("lifecycle.py", &nubis.kubeconfig(), &[], "python lifecycle ok");
}

#[tokio::test]
async fn clients_restart_keeps_objects_certificates_and_revisions() {
    let mut nubis = Nubis::start();
    let kept = ["pki/ca.crt", "pki/ca.key", "pki/server.crt", "pki/server.key", "pki/admin.crt", "pki/admin.key", "kubeconfig"];
    let read_all = |nubis: &Nubis| -> Vec<Vec<u8>> {
        kept.iter()
            .map(|f| std::fs::read(nubis.data_dir().join(f)).unwrap_or_else(|e| panic!("reading {f}: {e}")))
            .collect()
    };
    let before = read_all(&nubis);
    // A copy of the kubeconfig as it was before the restart, and a client
    // built from it then.
    let old_kubeconfig = nubis.dir.path().join("before-restart.kubeconfig");
    std::fs::write(&old_kubeconfig, &before[kept.len() - 1]).expect("copy the kubeconfig");
    let client = kube_client(&old_kubeconfig).await;
    let cms: Api<ConfigMap> = Api::namespaced(client, "default");
    let cm: ConfigMap = serde_json::from_value(json!({"metadata": {"name": "keep"}, "data": {"k": "v"}})).expect("cm");
    let created = cms.create(&PostParams::default(), &cm).await.expect("create");
    nubis.stop();
    nubis.spawn();
    for (file, (was, is)) in kept.iter().zip(before.iter().zip(read_all(&nubis))) {
        assert!(*was == is, "{file} changed across the restart");
    }
    // The old kubeconfig still works: the client made before the restart
    // (same CA, same admin certificate) talks to the new process.
    let got = cms.get("keep").await.expect("the pre-restart client works and the object survives");
    assert_eq!(got.metadata.resource_version, created.metadata.resource_version);
    assert_eq!(got.metadata.uid, created.metadata.uid);
    assert_eq!(got.data, created.data);
    let next = cms
        .patch("keep", &PatchParams::default(), &Patch::Merge(json!({"data": {"k": "w"}})))
        .await
        .expect("patch");
    let before: i64 = created.metadata.resource_version.unwrap_or_default().parse().expect("rv");
    let after: i64 = next.metadata.resource_version.unwrap_or_default().parse().expect("rv");
    assert!(after > before, "revisions continue after a restart ({before} -> {after})");
    // And so does kubectl with it.
    let k = nubis.kubectl_as("1.33", &old_kubeconfig);
    assert_eq!(k.ok(&["get", "configmap", "keep", "-o", "jsonpath={.data.k}"]), "w");
}
