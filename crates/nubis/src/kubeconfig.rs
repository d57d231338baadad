//! Kubeconfig files with embedded certificates, for the admin and for any
//! user `nubis kubeconfig` is asked for.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::json;

use crate::pki::CertPair;

/// A kubeconfig (YAML) for `user` at `server`, trusting `ca_pem`.
pub fn render(server: &str, ca_pem: &str, user: &str, client: &CertPair, namespace: Option<&str>) -> String {
    let mut context = json!({"cluster": "nubis", "user": user});
    if let Some(ns) = namespace {
        context["namespace"] = json!(ns);
    }
    let doc = json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{
            "name": "nubis",
            "cluster": {
                "server": server,
                "certificate-authority-data": STANDARD.encode(ca_pem),
            },
        }],
        "users": [{
            "name": user,
            "user": {
                "client-certificate-data": STANDARD.encode(&client.cert_pem),
                "client-key-data": STANDARD.encode(&client.key_pem),
            },
        }],
        "contexts": [{"name": "nubis", "context": context}],
        "current-context": "nubis",
        "preferences": {},
    });
    serde_yaml_ng::to_string(&doc).unwrap_or_default()
}
