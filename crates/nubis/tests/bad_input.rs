//! Bad input: malformed bodies, wrong types, invalid names, oversized
//! bodies, stale resourceVersions, unknown resources, patches that do not
//! apply. Each gets the right `Status` and leaves state unchanged.

mod support;

use http::{Method, Request};
use serde_json::{Value, json};
use support::{Nubis, kube_client};

struct Raw {
    client: kube::Client,
}

impl Raw {
    async fn send(&self, method: Method, path: &str, content_type: Option<&str>, body: Vec<u8>) -> (u16, Value) {
        let mut req = Request::builder().method(method).uri(path);
        if let Some(ct) = content_type {
            req = req.header("Content-Type", ct);
        }
        let req = req.body(body).expect("request");
        let resp = self.client.send(req.map(kube::client::Body::from)).await.expect("send");
        let code = resp.status().as_u16();
        let bytes = http_body_util::BodyExt::collect(resp.into_body()).await.expect("body").to_bytes();
        let v = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        (code, v)
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        self.send(Method::GET, path, None, Vec::new()).await
    }
}

#[track_caller]
fn assert_status(got: &(u16, Value), code: u16, reason: &str) {
    assert_eq!(got.0, code, "status code of {}", got.1);
    assert_eq!(got.1["kind"], "Status", "body is a Status: {}", got.1);
    assert_eq!(got.1["reason"], reason, "{}", got.1);
    assert_eq!(got.1["code"], code);
}

#[tokio::test]
async fn bad_input_gets_status_and_changes_nothing() {
    let nubis = Nubis::start();
    let raw = Raw { client: kube_client(&nubis.kubeconfig()).await };
    let cms = "/api/v1/namespaces/default/configmaps";
    let good = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "keep"}, "data": {"a": "1"}});
    let created = raw.send(Method::POST, cms, Some("application/json"), good.to_string().into_bytes()).await;
    assert_eq!(created.0, 201, "{}", created.1);
    let before = raw.get(&format!("{cms}/keep")).await.1;
    let rv_before = raw.get(cms).await.1["metadata"]["resourceVersion"].clone();

    // Malformed bodies in every format.
    assert_status(&raw.send(Method::POST, cms, Some("application/json"), b"{\"kind\":".to_vec()).await, 400, "BadRequest");
    assert_status(&raw.send(Method::POST, cms, None, b"not json".to_vec()).await, 400, "BadRequest");
    assert_status(&raw.send(Method::POST, cms, Some("application/yaml"), b"a: [1, 2".to_vec()).await, 400, "BadRequest");
    assert_status(
        &raw.send(Method::POST, cms, Some("application/vnd.kubernetes.protobuf"), b"k8s\x00\x0a\xff\xff".to_vec()).await,
        400,
        "BadRequest",
    );
    assert_status(&raw.send(Method::POST, cms, Some("application/json"), b"[1,2]".to_vec()).await, 400, "BadRequest");
    assert_status(&raw.send(Method::POST, cms, Some("text/plain"), b"x".to_vec()).await, 415, "UnsupportedMediaType");

    // Wrong apiVersion or kind for the URL.
    let wrong_kind = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "x"}});
    assert_status(&raw.send(Method::POST, cms, None, wrong_kind.to_string().into_bytes()).await, 400, "BadRequest");
    let wrong_av = json!({"apiVersion": "apps/v1", "kind": "ConfigMap", "metadata": {"name": "x"}});
    assert_status(&raw.send(Method::POST, cms, None, wrong_av.to_string().into_bytes()).await, 400, "BadRequest");

    // Invalid names name the field.
    let bad_name = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "Not_Valid"}});
    let resp = raw.send(Method::POST, cms, None, bad_name.to_string().into_bytes()).await;
    assert_status(&resp, 422, "Invalid");
    assert_eq!(resp.1["details"]["causes"][0]["field"], "metadata.name", "{}", resp.1);

    // A 10 MiB body.
    let big = vec![b' '; 10 * 1024 * 1024];
    assert_status(&raw.send(Method::POST, cms, Some("application/json"), big).await, 413, "RequestEntityTooLarge");

    // A stale resourceVersion.
    let mut stale = before.clone();
    stale["metadata"]["resourceVersion"] = json!("1");
    stale["data"]["a"] = json!("2");
    let resp = raw.send(Method::PUT, &format!("{cms}/keep"), None, stale.to_string().into_bytes()).await;
    assert_status(&resp, 409, "Conflict");

    // Unknown resources and groups.
    assert_status(&raw.get("/api/v1/namespaces/default/widgets").await, 404, "NotFound");
    assert_status(&raw.get("/apis/nope.example.com/v1/things").await, 404, "NotFound");
    assert_status(&raw.get(&format!("{cms}/missing")).await, 404, "NotFound");

    // Patches that do not apply.
    let resp = raw
        .send(Method::PATCH, &format!("{cms}/keep"), Some("application/json-patch+json"),
            br#"[{"op":"test","path":"/data/a","value":"nope"}]"#.to_vec())
        .await;
    assert!(resp.0 == 422 || resp.0 == 400, "failed json patch test op: {:?}", resp);
    assert_eq!(resp.1["kind"], "Status");
    let resp = raw
        .send(Method::PATCH, &format!("{cms}/keep"), Some("application/merge-patch+json"), b"{not json".to_vec())
        .await;
    assert_status(&resp, 400, "BadRequest");

    // Bad query parameters.
    assert_status(&raw.get(&format!("{cms}?labelSelector=a%20in%20(")).await, 400, "BadRequest");
    assert_status(&raw.get(&format!("{cms}?fieldSelector=spec.nope%3Dx")).await, 400, "BadRequest");
    assert_status(&raw.get(&format!("{cms}?limit=x")).await, 400, "BadRequest");

    // Nothing changed.
    let after = raw.get(&format!("{cms}/keep")).await.1;
    assert_eq!(after, before);
    let rv_after = raw.get(cms).await.1["metadata"]["resourceVersion"].clone();
    assert_eq!(rv_after, rv_before, "a failed request wrote to the store");
}

#[tokio::test]
async fn bad_input_without_credentials_is_unauthorized() {
    let nubis = Nubis::start();
    // A client that trusts the CA but presents no certificate.
    let kc = kube::config::Kubeconfig::read_from(nubis.kubeconfig()).expect("kubeconfig");
    let mut config = kube::Config::from_custom_kubeconfig(kc, &Default::default()).await.expect("config");
    config.auth_info = Default::default();
    let client = kube::Client::try_from(config).expect("client");
    let raw = Raw { client };
    assert_status(&raw.get("/api/v1/namespaces").await, 401, "Unauthorized");
    let (code, v) = raw.get("/version").await;
    assert_eq!(code, 200);
    assert_eq!(v["minor"], "33");
    let (code, _) = raw.get("/readyz").await;
    assert_eq!(code, 200);
}
