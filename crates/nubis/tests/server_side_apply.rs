//! Server-side apply and `managedFields` through real clients: the kube
//! crate (two field managers, conflicts, forced applies, pruning), raw
//! requests (Kubernetes' exact Status bodies), kubectl 1.33 and 1.27
//! (`apply --server-side` after a client-side apply, conflicts,
//! `--force-conflicts`, `--show-managed-fields`) and the Python client.

mod support;

/// A server without controllers: these tests count writes and resource
/// versions, which the Deployment controller's status writes would move.
fn started() -> Nubis {
    Nubis::start_with(&["--no-controllers"])
}

use http::{Method, Request};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::{Value, json};
use support::{Nubis, kube_client};

const APPLY: &str = "application/apply-patch+yaml";

async fn send(client: &kube::Client, method: Method, path: &str, ct: &str, body: Vec<u8>) -> (u16, Value) {
    let req = Request::builder().method(method).uri(path).header("Content-Type", ct).body(body).expect("request");
    let resp = client.send(req.map(kube::client::Body::from)).await.expect("send");
    let code = resp.status().as_u16();
    let bytes = http_body_util::BodyExt::collect(resp.into_body()).await.expect("body").to_bytes();
    (code, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

async fn namespace(client: &kube::Client, name: &str) {
    let ns: Namespace = serde_json::from_value(json!({"metadata": {"name": name}})).expect("namespace");
    Api::<Namespace>::all(client.clone()).create(&PostParams::default(), &ns).await.expect("create namespace");
}

fn deployment(name: &str, replicas: i64, labels: Value) -> Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "main", "image": "nginx:1.25"}]},
            },
        },
    })
}

/// The manager names of an object's entries with their operation and
/// subresource.
fn managers(obj: &Value) -> Vec<(String, String, String)> {
    obj.pointer("/metadata/managedFields")
        .and_then(Value::as_array)
        .map(|entries| {
            entries
                .iter()
                .map(|e| {
                    let s = |k: &str| e[k].as_str().unwrap_or_default().to_string();
                    (s("manager"), s("operation"), s("subresource"))
                })
                .collect()
        })
        .unwrap_or_default()
}

fn entry<'a>(obj: &'a Value, manager: &str) -> &'a Value {
    obj.pointer("/metadata/managedFields")
        .and_then(Value::as_array)
        .and_then(|es| es.iter().find(|e| e["manager"] == manager))
        .unwrap_or_else(|| panic!("no managedFields entry of {manager}: {obj}"))
}

#[tokio::test]
async fn ssa_kube_two_managers_conflict_force_and_prune() {
    let nubis = started();
    let client = kube_client(&nubis.kubeconfig()).await;
    namespace(&client, "ssa").await;
    let api: Api<Deployment> = Api::namespaced(client.clone(), "ssa");
    let alpha = PatchParams::apply("alpha");
    let beta = PatchParams::apply("beta");

    // Apply creates; the applier owns what it applied.
    let config = deployment("web", 2, json!({"app": "web", "tier": "front"}));
    let created = api.patch("web", &alpha, &Patch::Apply(&config)).await.expect("apply creates");
    let created = serde_json::to_value(&created).expect("json");
    assert_eq!(managers(&created), [("alpha".into(), "Apply".into(), String::new())]);
    let fields = &entry(&created, "alpha")["fieldsV1"];
    assert_eq!(fields["f:spec"]["f:replicas"], json!({}));
    assert!(fields.get("f:status").is_none(), "status is not owned through the main resource: {fields}");
    // Defaults are set but not owned by the applier.
    assert_eq!(created["spec"]["revisionHistoryLimit"], 10);
    assert!(fields["f:spec"].get("f:revisionHistoryLimit").is_none());

    // A second manager adds a label: both entries exist.
    let labels = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "labels": {"team": "blue"}}});
    let both = api.patch("web", &beta, &Patch::Apply(&labels)).await.expect("beta applies a label");
    let both = serde_json::to_value(&both).expect("json");
    assert_eq!(both["metadata"]["labels"], json!({"app": "web", "tier": "front", "team": "blue"}));
    assert_eq!(managers(&both).len(), 2);

    // Changing alpha's replicas conflicts: the exact 409 of Kubernetes.
    let path = "/apis/apps/v1/namespaces/ssa/deployments/web?fieldManager=beta";
    let replicas = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "labels": {"team": "blue"}}, "spec": {"replicas": 5}});
    let (code, status) = send(&client, Method::PATCH, path, APPLY, replicas.to_string().into_bytes()).await;
    assert_eq!(code, 409, "{status}");
    assert_eq!(status["reason"], "Conflict");
    assert_eq!(status["message"], "Apply failed with 1 conflict: conflict with \"alpha\": .spec.replicas");
    assert_eq!(
        status["details"],
        json!({"causes": [{"reason": "FieldManagerConflict", "message": "conflict with \"alpha\"", "field": ".spec.replicas"}]})
    );
    let err = api.patch("web", &beta, &Patch::Apply(&replicas)).await.expect_err("conflict through the kube crate");
    assert!(matches!(err, kube::Error::Api(ref s) if s.code == 409 && s.reason == "Conflict"), "{err:?}");

    // Forced, beta takes replicas from alpha.
    let forced = api.patch("web", &beta.clone().force(), &Patch::Apply(&replicas)).await.expect("forced apply");
    let forced = serde_json::to_value(&forced).expect("json");
    assert_eq!(forced["spec"]["replicas"], 5);
    assert_eq!(entry(&forced, "beta")["fieldsV1"]["f:spec"]["f:replicas"], json!({}));
    assert!(entry(&forced, "alpha")["fieldsV1"]["f:spec"].get("f:replicas").is_none());

    // Alpha stops applying the tier label and replicas: the label only it
    // owned goes, replicas (beta's) stays.
    let mut smaller = deployment("web", 0, json!({"app": "web"}));
    smaller["spec"].as_object_mut().expect("spec").remove("replicas");
    let pruned = api.patch("web", &alpha, &Patch::Apply(&smaller)).await.expect("alpha re-applies");
    let pruned = serde_json::to_value(&pruned).expect("json");
    assert_eq!(pruned["metadata"]["labels"], json!({"app": "web", "team": "blue"}));
    assert_eq!(pruned["spec"]["replicas"], 5);

    // A no-op apply writes nothing.
    let again = api.patch("web", &alpha, &Patch::Apply(&smaller)).await.expect("no-op apply");
    assert_eq!(again.metadata.resource_version, pruned["metadata"]["resourceVersion"].as_str().map(String::from));
}

#[tokio::test]
async fn ssa_requests_checked_as_kubernetes() {
    let nubis = started();
    let client = kube_client(&nubis.kubeconfig()).await;
    let cms = "/api/v1/namespaces/default/configmaps";
    let cm = |name: &str| json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"a": "1"}});
    let body = |v: Value| v.to_string().into_bytes();

    let (code, s) = send(&client, Method::PATCH, &format!("{cms}/c"), APPLY, body(cm("c"))).await;
    assert_eq!((code, s["reason"].as_str()), (422, Some("Invalid")), "{s}");
    assert_eq!(s["message"], "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch");
    assert_eq!(s["details"]["kind"], "PatchOptions");
    assert_eq!(s["details"]["group"], "meta.k8s.io");

    let (code, s) = send(&client, Method::PATCH, &format!("{cms}/c?force=true"), "application/merge-patch+json", b"{}".to_vec()).await;
    assert_eq!(code, 422, "{s}");
    assert_eq!(s["message"], "PatchOptions.meta.k8s.io \"\" is invalid: force: Forbidden: may not be specified for non-apply patch");

    let long = "m".repeat(129);
    let (code, s) = send(&client, Method::POST, &format!("{cms}?fieldManager={long}"), "application/json", body(cm("c"))).await;
    assert_eq!(code, 422, "{s}");
    assert_eq!(s["message"], "CreateOptions.meta.k8s.io \"\" is invalid: fieldManager: Too long: may not be more than 128 bytes");

    // Dry run creates nothing.
    let (code, s) = send(&client, Method::PATCH, &format!("{cms}/c?fieldManager=t&dryRun=All"), APPLY, body(cm("c"))).await;
    assert_eq!(code, 201, "{s}");
    let (code, _) = send(&client, Method::GET, &format!("{cms}/c"), "application/json", Vec::new()).await;
    assert_eq!(code, 404);

    // YAML creates (201), then updates (200).
    let yaml = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  a: \"1\"\n";
    let (code, s) = send(&client, Method::PATCH, &format!("{cms}/c?fieldManager=t"), APPLY, yaml.into()).await;
    assert_eq!(code, 201, "{s}");
    assert_eq!(managers(&s), [("t".into(), "Apply".into(), String::new())]);
    let (code, s) = send(&client, Method::PATCH, &format!("{cms}/c?fieldManager=t"), APPLY, yaml.replace("\"1\"", "\"2\"").into()).await;
    assert_eq!((code, &s["data"]), (200, &json!({"a": "2"})), "{s}");

    let bad = [
        (json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "c"}}), "invalid object type: /v1, Kind=Secret"),
        (json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "d"}}), "the name of the object (d) does not match the name on the URL (c)"),
        (json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "managedFields": [{"manager": "x"}]}}), "metadata.managedFields must be nil"),
    ];
    for (config, message) in bad {
        let (code, s) = send(&client, Method::PATCH, &format!("{cms}/c?fieldManager=t"), APPLY, body(config)).await;
        assert_eq!((code, s["message"].as_str()), (400, Some(message)), "{s}");
    }

    // Status applies are tracked with their subresource; they never create.
    let pods = "/api/v1/namespaces/default/pods";
    let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": "nginx"}]}});
    let (code, _) = send(&client, Method::PATCH, &format!("{pods}/p?fieldManager=t"), APPLY, body(pod)).await;
    assert_eq!(code, 201);
    let status = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "status": {"message": "hi"}});
    let (code, s) = send(&client, Method::PATCH, &format!("{pods}/p/status?fieldManager=k"), APPLY, body(status.clone())).await;
    assert_eq!((code, &s["status"]["message"]), (200, &json!("hi")), "{s}");
    assert!(managers(&s).contains(&("k".into(), "Apply".into(), "status".into())), "{s}");
    let (code, _) = send(&client, Method::PATCH, &format!("{pods}/q/status?fieldManager=k"), APPLY, body(status)).await;
    assert_eq!(code, 404);
}

#[tokio::test]
async fn ssa_scale_subresource_moves_replicas() {
    let nubis = started();
    let client = kube_client(&nubis.kubeconfig()).await;
    let deploys = "/apis/apps/v1/namespaces/default/deployments";
    let config = deployment("web", 2, json!({"app": "web"})).to_string().into_bytes();
    let (code, _) = send(&client, Method::PATCH, &format!("{deploys}/web?fieldManager=t"), APPLY, config).await;
    assert_eq!(code, 201);
    let scale = json!({"apiVersion": "autoscaling/v1", "kind": "Scale", "metadata": {"name": "web"}, "spec": {"replicas": 3}});
    let path = format!("{deploys}/web/scale?fieldManager=hpa");
    let (code, s) = send(&client, Method::PATCH, &path, APPLY, scale.to_string().into_bytes()).await;
    assert_eq!(code, 409, "{s}");
    assert_eq!(s["message"], "Apply failed with 1 conflict: conflict with \"t\": .spec.replicas");
    let (code, s) = send(&client, Method::PATCH, &format!("{path}&force=true"), APPLY, scale.to_string().into_bytes()).await;
    assert_eq!((code, &s["kind"], &s["spec"]["replicas"]), (200, &json!("Scale"), &json!(3)), "{s}");
    let (_, d) = send(&client, Method::GET, &format!("{deploys}/web"), "application/json", Vec::new()).await;
    assert_eq!(d["spec"]["replicas"], 3);
    let hpa = entry(&d, "hpa");
    assert_eq!((&hpa["operation"], &hpa["subresource"], &hpa["apiVersion"]), (&json!("Apply"), &json!("scale"), &json!("apps/v1")));
    assert_eq!(hpa["fieldsV1"], json!({"f:spec": {"f:replicas": {}}}));
    assert!(entry(&d, "t")["fieldsV1"]["f:spec"].get("f:replicas").is_none(), "{d}");
    // The Scale shows who owns its replicas.
    let (_, s) = send(&client, Method::GET, &format!("{deploys}/web/scale"), "application/json", Vec::new()).await;
    assert_eq!(managers(&s), [("hpa".into(), "Apply".into(), "scale".into())]);
}

#[test]
fn ssa_kubectl_create_records_manager() {
    let nubis = started();
    let k = nubis.kubectl("1.33");
    k.ok(&["create", "deployment", "web", "--image=nginx:1.25"]);
    let d = k.json(&["get", "deployment", "web", "--show-managed-fields"]);
    let e = entry(&d, "kubectl-create");
    assert_eq!(e["operation"], "Update");
    assert_eq!(e["apiVersion"], "apps/v1");
    assert_eq!(e["fieldsType"], "FieldsV1");
    assert!(e["time"].is_string());
    let f = &e["fieldsV1"];
    assert_eq!(f["f:spec"]["f:replicas"], json!({}), "{f}");
    assert!(f["f:spec"]["f:template"]["f:spec"]["f:containers"].get("k:{\"name\":\"nginx\"}").is_some(), "{f}");
    assert!(f.get("f:status").is_none(), "{f}");
    // `-o yaml` hides managedFields (kubectl strips them).
    let yaml = k.ok(&["get", "deployment", "web", "-o", "yaml"]);
    assert!(!yaml.contains("managedFields"), "{yaml}");
    let shown = k.ok(&["get", "deployment", "web", "-o", "yaml", "--show-managed-fields"]);
    assert!(shown.contains("manager: kubectl-create"), "{shown}");
}

fn kubectl_apply_scenario(version: &str) {
    let nubis = started();
    let k = nubis.kubectl(version);
    let dir = nubis.dir.path();
    let file = |name: &str, replicas: i64| {
        let path = dir.join(name);
        let d = deployment("web", replicas, json!({"app": "web"}));
        std::fs::write(&path, serde_yaml_ng::to_string(&d).expect("yaml")).expect("write manifest");
        path.to_string_lossy().into_owned()
    };
    let two = file("two.yaml", 2);
    let three = file("three.yaml", 3);
    let five = file("five.yaml", 5);

    // Client-side first, then server-side with the same manifest: no
    // conflict (kubectl migrates the client-side entries).
    k.ok(&["apply", "-f", &two]);
    let d = k.json(&["get", "deployment", "web", "--show-managed-fields"]);
    assert_eq!(entry(&d, "kubectl-client-side-apply")["operation"], "Update");
    k.ok(&["apply", "--server-side", "-f", &two]);
    let out = k.ok(&["apply", "--server-side", "-f", &three]);
    assert!(out.contains("serverside-applied"), "{out}");
    let d = k.json(&["get", "deployment", "web", "--show-managed-fields"]);
    assert_eq!(d["spec"]["replicas"], 3);
    assert_eq!(entry(&d, "kubectl")["operation"], "Apply");

    // Another manager conflicts, then forces.
    let err = k.fails(&["apply", "--server-side", "--field-manager=other", "-f", &five]);
    assert!(err.contains("Apply failed with 1 conflict: conflict with \"kubectl\": .spec.replicas"), "{err}");
    assert!(err.contains("--force-conflicts"), "{err}");
    k.ok(&["apply", "--server-side", "--field-manager=other", "--force-conflicts", "-f", &five]);
    let d = k.json(&["get", "deployment", "web", "--show-managed-fields"]);
    assert_eq!(d["spec"]["replicas"], 5);
    assert_eq!(entry(&d, "other")["fieldsV1"]["f:spec"]["f:replicas"], json!({}));
    assert!(entry(&d, "kubectl")["fieldsV1"]["f:spec"].get("f:replicas").is_none());
}

#[test]
fn ssa_kubectl_server_side_after_client_side_1_33() {
    kubectl_apply_scenario("1.33");
}

#[test]
fn ssa_kubectl_server_side_after_client_side_1_27() {
    kubectl_apply_scenario("1.27");
}

#[test]
fn ssa_python_client() {
    let nubis = started();
    support::run_python("server_side_apply.py", &nubis.kubeconfig(), &[], "python server-side apply ok");
}
