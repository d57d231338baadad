//! Bad input: malformed bodies, wrong types, invalid names, oversized
//! bodies, stale resourceVersions, unknown resources, patches that do not
//! apply. Each gets the right `Status` and leaves state unchanged.

mod support;

use http::Method;
use serde_json::{Value, json};
use support::{Nubis, Raw, kube_client};

#[track_caller]
fn assert_status(got: &(u16, Value), code: u16, reason: &str) {
    assert_eq!(got.0, code, "status code of {}", got.1);
    assert_eq!(got.1["kind"], "Status", "body is a Status: {}", got.1);
    assert_eq!(got.1["reason"], reason, "{}", got.1);
    assert_eq!(got.1["code"], code);
}

#[tokio::test]
async fn bad_input_gets_status_and_changes_nothing() {
    // Without controllers: the store's revision is the proof that nothing
    // was written, and a controller's own write would move it.
    let nubis = Nubis::start_with(&["--no-controllers"]);
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

    // Values of the wrong type, refused as Kubernetes' decoding refuses them.
    let wrong_type = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "typed"}, "data": {"a": 1}});
    let resp = raw.send(Method::POST, cms, None, wrong_type.to_string().into_bytes()).await;
    assert_status(&resp, 400, "BadRequest");
    assert_eq!(
        resp.1["message"],
        "ConfigMap in version \"v1\" cannot be handled as a ConfigMap: json: cannot unmarshal number into Go struct field ConfigMap.data of type string"
    );
    let mut wrong_update = before.clone();
    wrong_update["metadata"]["labels"] = json!({"n": true});
    let resp = raw.send(Method::PUT, &format!("{cms}/keep"), None, wrong_update.to_string().into_bytes()).await;
    assert_status(&resp, 400, "BadRequest");

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

    // Patches that do not apply. A JSON patch whose `test` fails is 422
    // Invalid, as Kubernetes' patch handler answers any failed JSON patch
    // operation (NewGenericServerResponse(422) in patch.go).
    let resp = raw
        .send(Method::PATCH, &format!("{cms}/keep"), Some("application/json-patch+json"),
            br#"[{"op":"replace","path":"/data/a","value":"changed"},{"op":"test","path":"/data/a","value":"nope"}]"#.to_vec())
        .await;
    assert_status(&resp, 422, "Invalid");
    assert!(resp.1["message"].as_str().is_some_and(|m| m.contains("/data/a")), "names the path: {}", resp.1);
    let resp = raw
        .send(Method::PATCH, &format!("{cms}/keep"), Some("application/json-patch+json"),
            br#"[{"op":"remove","path":"/data/nope"}]"#.to_vec())
        .await;
    assert_status(&resp, 422, "Invalid");
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

/// Patches that cannot apply to a Deployment (values of the wrong type in
/// every patch format, bad strategic merge directives) get a 4xx `Status`
/// and change nothing. Without controllers, so no other write moves the
/// store's revision.
#[tokio::test]
async fn bad_input_patches_that_do_not_apply_change_nothing() {
    let nubis = Nubis::start_with(&["--no-controllers"]);
    let raw = Raw { client: kube_client(&nubis.kubeconfig()).await };
    let deps = "/apis/apps/v1/namespaces/default/deployments";
    let dep = json!({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "web", "image": "nginx"}]}},
        },
    });
    let created = raw.send(Method::POST, deps, None, dep.to_string().into_bytes()).await;
    assert_eq!(created.0, 201, "{}", created.1);
    let web = format!("{deps}/web");
    let dep_before = raw.get(&web).await.1;
    let cms = "/api/v1/namespaces/default/configmaps";
    let rv_before = raw.get(cms).await.1["metadata"]["resourceVersion"].clone();
    let smp = |body: &'static str| raw.send(Method::PATCH, &web, Some("application/strategic-merge-patch+json"), body.as_bytes().to_vec());
    // A string where an integer belongs: Kubernetes fails converting the
    // patched object, 422 Invalid.
    let resp = smp(r#"{"spec":{"replicas":"three"}}"#).await;
    assert_status(&resp, 422, "Invalid");
    assert_eq!(resp.1["details"]["causes"][0]["field"], "patch", "{}", resp.1);
    let message = resp.1["message"].as_str().unwrap_or_default();
    assert!(message.contains("cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of type int32"), "{message}");
    // The same through a merge patch and a JSON patch.
    let resp = raw.send(Method::PATCH, &web, Some("application/merge-patch+json"), br#"{"spec":{"replicas":"three"}}"#.to_vec()).await;
    assert_status(&resp, 422, "Invalid");
    let resp = raw
        .send(Method::PATCH, &web, Some("application/json-patch+json"), br#"[{"op":"replace","path":"/spec/replicas","value":"three"}]"#.to_vec())
        .await;
    assert_status(&resp, 422, "Invalid");
    // Server-side apply: Kubernetes 1.33 answers 500 ("failed to create
    // typed patch object"), being fixed to 400; 400 here.
    let apply = br#"{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web"},"spec":{"replicas":"three"}}"#;
    let resp = raw
        .send(Method::PATCH, &format!("{web}?fieldManager=bad-input"), Some("application/apply-patch+yaml"), apply.to_vec())
        .await;
    assert_status(&resp, 400, "BadRequest");
    // A `$patch` directive with a value that is not one. (Kubernetes
    // answers 500 here, an error its patch handler does not map; a client
    // error is a 400 in Nubis.)
    let resp = smp(r#"{"spec":{"template":{"spec":{"containers":[{"$patch":"bogus","name":"web"}]}}}}"#).await;
    assert_status(&resp, 400, "BadRequest");
    assert!(resp.1["message"].as_str().is_some_and(|m| m.contains("unknown patch type")), "{}", resp.1);
    // A list item without its merge key (Kubernetes: 500 as well; 422 here,
    // see `PatchError::status_code`).
    let resp = smp(r#"{"spec":{"template":{"spec":{"containers":[{"image":"nginx:2"}]}}}}"#).await;
    assert_status(&resp, 422, "Invalid");
    assert!(resp.1["message"].as_str().is_some_and(|m| m.contains("does not contain declared merge key: name")), "{}", resp.1);
    assert_eq!(raw.get(&web).await.1, dep_before, "failed strategic merge patches change nothing");
    assert_eq!(raw.get(cms).await.1["metadata"]["resourceVersion"], rv_before, "and write nothing");

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
    // Open as on Kubernetes (system:public-info-viewer).
    for path in ["/healthz", "/livez", "/readyz"] {
        let (code, _) = raw.get(path).await;
        assert_eq!(code, 200, "{path} without credentials");
    }
    let (code, v) = raw.get("/version").await;
    assert_eq!(code, 200);
    assert_eq!(v["minor"], "33");
    // Everything else: 401 with a Status.
    for path in ["/metrics", "/openapi/v2", "/openapi/v3", "/api", "/apis", "/api/v1", "/api/v1/namespaces", "/apis/apps/v1/deployments"] {
        let got = raw.get(path).await;
        assert_status(&got, 401, "Unauthorized");
        assert_eq!(got.1["message"], "Unauthorized", "{path}: {}", got.1);
    }
    let body = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "intruder"}});
    assert_status(&raw.send(Method::POST, "/api/v1/namespaces", None, body.to_string().into_bytes()).await, 401, "Unauthorized");

    // A certificate naming the admin (same subject) but signed by another
    // CA is no credential: 401 as Kubernetes' x509 authenticator answers,
    // not a refused handshake.
    let (cert_pem, key_pem) = foreign_admin_certificate();
    let foreign = nubis.cert_kubeconfig("foreign", &cert_pem, &key_pem);
    let raw = Raw { client: kube_client(&foreign).await };
    for path in ["/api/v1/namespaces", "/metrics", "/apis"] {
        let got = raw
            .try_send(Method::GET, path, None, Vec::new())
            .await
            .unwrap_or_else(|e| panic!("{path} with a foreign client certificate: no HTTP answer ({e})"));
        assert_status(&got, 401, "Unauthorized");
    }
    let (code, _) = raw.get("/readyz").await;
    assert_eq!(code, 200, "open paths stay open with a foreign certificate");
    assert_status(&raw.send(Method::POST, "/api/v1/namespaces", None, body.to_string().into_bytes()).await, 401, "Unauthorized");
    // kubectl says so as it does against Kubernetes.
    let err = nubis.kubectl_as("1.33", &foreign).fails(&["get", "namespaces"]);
    assert!(err.contains("error: You must be logged in to the server"), "{err}");

    // Nothing was created.
    let admin = Raw { client: kube_client(&nubis.kubeconfig()).await };
    assert_status(&admin.get("/api/v1/namespaces/intruder").await, 404, "NotFound");
}

/// A client certificate for `nubis-admin` in `system:masters`, as the
/// server's own admin certificate, but signed by a CA made here.
fn foreign_admin_certificate() -> (String, String) {
    use rcgen::{BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose};
    let ca_key = KeyPair::generate().expect("CA key");
    let mut ca = CertificateParams::default();
    ca.distinguished_name.push(DnType::CommonName, "nubis-ca");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::DigitalSignature];
    let issuer = Issuer::new(ca, ca_key);
    let key = KeyPair::generate().expect("client key");
    let mut params = CertificateParams::default();
    params.distinguished_name.push(DnType::CommonName, "nubis-admin");
    params.distinguished_name.push(DnType::OrganizationName, "system:masters");
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let cert = params.signed_by(&key, &issuer).expect("sign the client certificate");
    (cert.pem(), key.serialize_pem())
}
