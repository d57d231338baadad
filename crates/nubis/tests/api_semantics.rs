//! Kubernetes metadata semantics through the kube crate: finalizers and
//! deletionTimestamp, dry runs, generateName, immutable ConfigMaps, the
//! status subresource, namespace lifecycle, label selector operators and
//! watch resume.

mod support;

use futures::StreamExt;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams};
use serde_json::json;
use std::time::Duration;
use support::{Nubis, kube_client};

fn cm(v: serde_json::Value) -> ConfigMap {
    serde_json::from_value(v).expect("a valid ConfigMap")
}

#[tokio::test]
async fn api_semantics_metadata_rules() {
    let nubis = Nubis::start();
    let client = kube_client(&nubis.kubeconfig()).await;
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "default");

    // Finalizers: delete only marks; removing the last finalizer deletes.
    cms.create(&PostParams::default(), &cm(json!({"metadata": {"name": "fin", "finalizers": ["example.com/hold"]}})))
        .await
        .expect("create");
    cms.delete("fin", &DeleteParams::default()).await.expect("delete");
    let marked = cms.get("fin").await.expect("still there");
    assert!(marked.metadata.deletion_timestamp.is_some());
    cms.patch("fin", &PatchParams::default(), &Patch::Merge(json!({"metadata": {"finalizers": null}})))
        .await
        .expect("remove finalizer");
    assert!(cms.get_opt("fin").await.expect("get").is_none(), "gone once the last finalizer is removed");

    // Dry runs store nothing.
    let dry = PostParams { dry_run: true, ..Default::default() };
    let out = cms.create(&dry, &cm(json!({"metadata": {"name": "dry"}}))).await.expect("dry create");
    assert_eq!(out.metadata.name.as_deref(), Some("dry"));
    assert!(cms.get_opt("dry").await.expect("get").is_none());

    // generateName.
    let generated = cms.create(&PostParams::default(), &cm(json!({"metadata": {"generateName": "gen-"}}))).await.expect("gen");
    let name = generated.metadata.name.expect("a generated name");
    assert!(name.starts_with("gen-") && name.len() == 9, "{name}");

    // Immutable ConfigMaps.
    cms.create(&PostParams::default(), &cm(json!({"metadata": {"name": "frozen"}, "data": {"a": "1"}, "immutable": true})))
        .await
        .expect("create immutable");
    let err = cms
        .patch("frozen", &PatchParams::default(), &Patch::Merge(json!({"data": {"a": "2"}})))
        .await
        .expect_err("immutable data cannot change");
    assert!(matches!(err, kube::Error::Api(ref s) if s.code == 422), "{err:?}");
    // Its labels still can.
    cms.patch("frozen", &PatchParams::default(), &Patch::Merge(json!({"metadata": {"labels": {"x": "y"}}})))
        .await
        .expect("labels of an immutable ConfigMap may change");

    // Label selector operators.
    for (n, env, tier) in [("s1", "prod", "web"), ("s2", "dev", "web"), ("s3", "prod", "db")] {
        cms.create(&PostParams::default(), &cm(json!({"metadata": {"name": n, "labels": {"env": env, "tier": tier}}})))
            .await
            .expect("create labelled");
    }
    let names = |l: kube::core::ObjectList<ConfigMap>| {
        let mut v: Vec<String> = l.items.into_iter().filter_map(|c| c.metadata.name).collect();
        v.sort();
        v
    };
    assert_eq!(names(cms.list(&ListParams::default().labels("env=prod")).await.expect("eq")), ["s1", "s3"]);
    assert_eq!(names(cms.list(&ListParams::default().labels("env!=prod,tier")).await.expect("ne")), ["s2"]);
    assert_eq!(names(cms.list(&ListParams::default().labels("tier in (db),env notin (dev)")).await.expect("in")), ["s3"]);
    assert_eq!(names(cms.list(&ListParams::default().labels("!env,x")).await.expect("not exists")), ["frozen"]);
    assert_eq!(
        names(cms.list(&ListParams::default().fields("metadata.name=s2")).await.expect("field")),
        ["s2"]
    );
}

#[tokio::test]
async fn api_semantics_status_subresource() {
    // No Deployment controller: its status writes would race the
    // status checks below.
    let nubis = Nubis::start_with(&["--no-controllers"]);
    let client = kube_client(&nubis.kubeconfig()).await;
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), "default");
    let d: Deployment = serde_json::from_value(json!({
        "metadata": {"name": "d"},
        "spec": {
            "selector": {"matchLabels": {"app": "d"}},
            "template": {"metadata": {"labels": {"app": "d"}}, "spec": {"containers": [{"name": "c", "image": "busybox"}]}},
        },
        "status": {"replicas": 7},
    }))
    .expect("deployment");
    let created = deployments.create(&PostParams::default(), &d).await.expect("create");
    assert_eq!(created.status.and_then(|s| s.replicas), None, "status is not set by create");

    // The status subresource changes status only.
    let st = deployments
        .patch_status("d", &PatchParams::default(), &Patch::Merge(json!({"spec": {"replicas": 9}, "status": {"replicas": 3}})))
        .await
        .expect("patch status");
    assert_eq!(st.status.as_ref().and_then(|s| s.replicas), Some(3));
    assert_eq!(st.spec.as_ref().and_then(|s| s.replicas), Some(1), "status writes do not touch spec");
    assert_eq!(st.metadata.generation, Some(1));
    // The main resource does not change status.
    let main = deployments
        .patch("d", &PatchParams::default(), &Patch::Merge(json!({"status": {"replicas": 0}, "spec": {"replicas": 2}})))
        .await
        .expect("patch main");
    assert_eq!(main.status.as_ref().and_then(|s| s.replicas), Some(3));
    assert_eq!(main.metadata.generation, Some(2));

    // Watch resumes from a resourceVersion with exactly the later events.
    let rv = main.metadata.resource_version.clone().expect("rv");
    deployments
        .patch("d", &PatchParams::default(), &Patch::Merge(json!({"spec": {"replicas": 4}})))
        .await
        .expect("patch");
    let mut w = deployments.watch(&WatchParams::default().timeout(5), &rv).await.expect("watch").boxed();
    let first = tokio::time::timeout(Duration::from_secs(5), w.next()).await.expect("event").expect("open").expect("ok");
    match first {
        WatchEvent::Modified(d) => assert_eq!(d.spec.and_then(|s| s.replicas), Some(4)),
        other => panic!("expected MODIFIED, got {other:?}"),
    }
}

#[tokio::test]
async fn api_semantics_namespaces() {
    let nubis = Nubis::start();
    let client = kube_client(&nubis.kubeconfig()).await;
    // A terminating namespace takes no new objects.
    let namespaces: Api<Namespace> = Api::all(client.clone());
    namespaces
        .create(&PostParams::default(), &serde_json::from_value(json!({"metadata": {"name": "going"}})).expect("ns"))
        .await
        .expect("create ns");
    // An object with a finalizer keeps the namespace Terminating.
    let in_going: Api<ConfigMap> = Api::namespaced(client.clone(), "going");
    in_going
        .create(&PostParams::default(), &cm(json!({"metadata": {"name": "held", "finalizers": ["example.com/hold"]}})))
        .await
        .expect("create held");
    namespaces.delete("going", &DeleteParams::default()).await.expect("delete ns");
    let ns = namespaces.get("going").await.expect("terminating namespace is still there");
    assert_eq!(ns.status.and_then(|s| s.phase).as_deref(), Some("Terminating"));
    let err = in_going.create(&PostParams::default(), &cm(json!({"metadata": {"name": "late"}}))).await.expect_err("refused");
    match err {
        kube::Error::Api(s) => {
            assert_eq!(s.code, 403);
            assert!(s.message.contains("because it is being terminated"), "{}", s.message);
        }
        other => panic!("{other:?}"),
    }
    // The namespace controller says what holds it, and lets it go once
    // the finalizer is removed.
    let mut conditions = Vec::new();
    for _ in 0..100 {
        let ns = namespaces.get("going").await.expect("still there");
        conditions = ns.status.and_then(|s| s.conditions).unwrap_or_default();
        if conditions.iter().any(|c| c.type_ == "NamespaceFinalizersRemaining" && c.status == "True") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let held = conditions.iter().find(|c| c.type_ == "NamespaceFinalizersRemaining").expect("condition");
    assert_eq!(
        held.message.as_deref(),
        Some("Some content in the namespace has finalizers remaining: example.com/hold in 1 resource instances")
    );
    in_going
        .patch("held", &PatchParams::default(), &Patch::Merge(json!({"metadata": {"finalizers": null}})))
        .await
        .expect("drop the finalizer");
    let mut gone = false;
    for _ in 0..100 {
        if namespaces.get_opt("going").await.expect("get").is_none() {
            gone = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(gone, "the namespace was not removed within 10 s of its content");
}

#[tokio::test]
async fn api_semantics_events_share_storage_across_groups() {
    use k8s_openapi::api::core::v1::Event as CoreEvent;
    use k8s_openapi::api::events::v1::Event;
    let nubis = Nubis::start();
    let client = kube_client(&nubis.kubeconfig()).await;
    let events: Api<Event> = Api::namespaced(client.clone(), "default");
    let ev: Event = serde_json::from_value(json!({
        "metadata": {"name": "web.1"},
        "eventTime": "2026-01-01T00:00:00.000000Z",
        "regarding": {"kind": "Pod", "name": "web", "namespace": "default"},
        "note": "Pulled image", "reason": "Pulled", "type": "Normal", "action": "Pull",
        "reportingController": "nubis.io/node", "reportingInstance": "node-1",
    }))
    .expect("event");
    events.create(&PostParams::default(), &ev).await.expect("create events.k8s.io Event");
    let core: Api<CoreEvent> = Api::namespaced(client, "default");
    let listed = core
        .list(&ListParams::default().fields("involvedObject.name=web,reason=Pulled"))
        .await
        .expect("list core events");
    assert_eq!(listed.items.len(), 1);
    let e = &listed.items[0];
    assert_eq!(e.message.as_deref(), Some("Pulled image"));
    assert_eq!(e.reporting_component.as_deref(), Some("nubis.io/node"));
    let back = events.get("web.1").await.expect("read back in events.k8s.io");
    assert_eq!(back.note.as_deref(), Some("Pulled image"));
}

/// A list in JSON is assembled from the stored bytes; in YAML it is decoded
/// and encoded. Both must describe the same list, page for page.
#[tokio::test]
async fn api_semantics_spliced_lists_match_decoded_lists() {
    use http_body_util::BodyExt;
    let nubis = Nubis::start_with(&["--no-controllers"]);
    let client = kube_client(&nubis.kubeconfig()).await;
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    for (i, tier) in ["web", "db", "web", "cache", "web"].iter().enumerate() {
        let data = json!({"text": format!("line \"{i}\"\n\tü ✓ \\ end"), "n": i.to_string()});
        cms.create(&PostParams::default(), &cm(json!({"metadata": {"name": format!("cm-{i}"), "labels": {"tier": tier}}, "data": data})))
            .await
            .expect("create");
    }
    let get = |path: String, accept: &'static str| {
        let client = client.clone();
        async move {
            let req = http::Request::get(&path).header("Accept", accept).body(Vec::new()).expect("request");
            let resp = client.send(req.map(kube::client::Body::from)).await.expect("an answer");
            assert_eq!(resp.status(), 200, "{path} as {accept}");
            let bytes = resp.into_body().collect().await.expect("body").to_bytes();
            match accept {
                "application/json" => serde_json::from_slice::<serde_json::Value>(&bytes).expect("JSON"),
                _ => serde_yaml_ng::from_slice::<serde_json::Value>(&bytes).expect("YAML"),
            }
        }
    };
    for query in ["", "?labelSelector=tier%3Dweb", "?limit=2", "?labelSelector=tier%21%3Dweb&limit=1", "?labelSelector=tier%3Dnone"] {
        let mut path = format!("/api/v1/namespaces/default/configmaps{query}");
        let mut pages = 0;
        loop {
            let json = get(path.clone(), "application/json").await;
            let yaml = get(path.clone(), "application/yaml").await;
            assert_eq!(json, yaml, "{path}");
            assert_eq!(json["kind"], "ConfigMapList");
            pages += 1;
            let Some(token) = json["metadata"]["continue"].as_str().filter(|t| !t.is_empty()) else { break };
            let base = format!("/api/v1/namespaces/default/configmaps{query}");
            let sep = if query.is_empty() { '?' } else { '&' };
            path = format!("{base}{sep}continue={token}");
            assert!(pages < 10, "{path}: too many pages");
        }
        if query == "?limit=2" {
            assert_eq!(pages, 3);
        }
    }
    // The stored text survives the splice unchanged.
    let json = get("/api/v1/namespaces/default/configmaps".into(), "application/json").await;
    assert_eq!(json["items"][0]["data"]["text"], "line \"0\"\n\tü ✓ \\ end");
    assert!(json["items"][0]["metadata"]["resourceVersion"].as_str().is_some_and(|rv| !rv.is_empty()));
}
