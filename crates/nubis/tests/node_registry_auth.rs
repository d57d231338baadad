//! Pulling from a registry that wants a token (the Docker registry token
//! protocol): a second real registry runs with token auth beside a small
//! token server this test serves, which hands out ES256 tokens only for
//! the right basic credentials. A pod with `imagePullSecrets` runs; one
//! without fails to pull, saying why. Needs root, runc, nft,
//! docker-registry, skopeo and busybox-static, as node_agent.rs.

#[path = "../../image/tests/support/mod.rs"]
mod registry;
#[path = "support/node_cluster.rs"]
mod node_cluster;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use node_cluster::{Cluster, in_netns};
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::process::Stdio;
use std::time::Duration;

const USER: &str = "puller";
const PASSWORD: &str = "s3cret-pull";
const SERVICE: &str = "nubis-test-registry";
const ISSUER: &str = "nubis-test-issuer";

/// Signs registry tokens with a key whose self-signed certificate the
/// registry trusts.
struct Issuer {
    key: EcdsaKeyPair,
    cert_der: Vec<u8>,
    cert_pem: String,
}

impl Issuer {
    fn new() -> Issuer {
        let key_pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("a key");
        let params = rcgen::CertificateParams::new(vec!["token-issuer".to_string()]).expect("params");
        let cert = params.self_signed(&key_pair).expect("a certificate");
        let rng = ring::rand::SystemRandom::new();
        let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &key_pair.serialize_der(), &rng).expect("the key for ring");
        Issuer { key, cert_der: cert.der().to_vec(), cert_pem: cert.pem() }
    }

    /// A JWT granting `actions` on `repository`, with the certificate in
    /// its `x5c` header as the registry wants it.
    fn token(&self, repository: &str, actions: &[&str]) -> String {
        let now = jiff::Timestamp::now().as_second();
        let header = serde_json::json!({"typ": "JWT", "alg": "ES256", "x5c": [STANDARD.encode(&self.cert_der)]});
        let claims = serde_json::json!({
            "iss": ISSUER, "sub": USER, "aud": SERVICE, "exp": now + 300, "nbf": now - 10, "iat": now, "jti": format!("{now}-{repository}"),
            "access": [{"type": "repository", "name": repository, "actions": actions}],
        });
        let signing_input = format!("{}.{}", URL_SAFE_NO_PAD.encode(header.to_string()), URL_SAFE_NO_PAD.encode(claims.to_string()));
        let signature = self.key.sign(&ring::rand::SystemRandom::new(), signing_input.as_bytes()).expect("signs");
        format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature.as_ref()))
    }
}

/// Serves `GET /token?scope=repository:NAME:ACTIONS&service=...` on
/// `listener`: a token for basic `USER:PASSWORD`, 401 otherwise.
fn serve_tokens(listener: TcpListener, issuer: Issuer) {
    std::thread::spawn(move || {
        for stream in listener.incoming().filter_map(Result::ok) {
            let mut reader = BufReader::new(stream);
            let mut request = String::new();
            if reader.read_line(&mut request).is_err() {
                continue;
            }
            let mut authorized = false;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line.trim().is_empty() {
                    break;
                }
                if let Some((name, value)) = line.split_once(':')
                    && name.eq_ignore_ascii_case("authorization")
                {
                    authorized |= value.trim() == format!("Basic {}", STANDARD.encode(format!("{USER}:{PASSWORD}")));
                }
            }
            let path = request.split_whitespace().nth(1).unwrap_or_default().to_string();
            let query = path.split_once('?').map(|(_, q)| q).unwrap_or_default();
            let scope = query.split('&').find_map(|kv| kv.strip_prefix("scope=")).unwrap_or_default().replace("%3A", ":").replace("%2F", "/").replace("%2C", ",");
            let mut parts = scope.splitn(3, ':');
            let (_, repository, actions) = (parts.next(), parts.next().unwrap_or_default(), parts.next().unwrap_or_default());
            let response = if authorized {
                let actions: Vec<&str> = actions.split(',').filter(|a| !a.is_empty()).collect();
                let body = serde_json::json!({"token": issuer.token(repository, &actions)}).to_string();
                format!("HTTP/1.0 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}", body.len())
            } else {
                "HTTP/1.0 401 Unauthorized\r\nContent-Length: 0\r\n\r\n".to_string()
            };
            let _ = reader.get_mut().write_all(response.as_bytes());
        }
    });
}

#[test]
fn node_registry_auth_pulls_with_image_pull_secrets_needs_root() {
    let c = Cluster::start_with(&["--insecure-registry", "127.0.0.1:5001"]);
    let issuer = Issuer::new();
    let bundle = c.dir.path().join("token-ca.pem");
    std::fs::write(&bundle, &issuer.cert_pem).expect("writes");
    let listener = net::netns::run_in(&c.netns, || TcpListener::bind("127.0.0.1:5002")).expect("enters").expect("binds");
    serve_tokens(listener, issuer);

    let data = c.dir.path().join("auth-registry");
    let config = c.dir.path().join("auth-registry.yml");
    std::fs::write(
        &config,
        format!(
            "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: 127.0.0.1:5001\nauth:\n  token:\n    realm: http://127.0.0.1:5002/token\n    service: {SERVICE}\n    issuer: {ISSUER}\n    rootcertbundle: {}\n",
            data.display(),
            bundle.display()
        ),
    )
    .expect("writes");
    let mut auth_registry = in_netns(&c.netns, "docker-registry").arg("serve").arg(&config).stdout(Stdio::null()).stderr(Stdio::null()).spawn().expect("docker-registry runs");
    c.wait_for_port(5001);

    // The image goes in with the same credentials.
    let out = in_netns(&c.netns, "skopeo")
        .args(["copy", "--quiet", "--src-tls-verify=false", "--dest-tls-verify=false", "--dest-creds", &format!("{USER}:{PASSWORD}")])
        .arg(format!("docker://{}/tools/busybox:v1", c.registry))
        .arg("docker://127.0.0.1:5001/private/busybox:v1")
        .output()
        .expect("skopeo runs");
    assert!(out.status.success(), "skopeo: {}", String::from_utf8_lossy(&out.stderr));

    // Without credentials: refused, and the event says so.
    let image = "127.0.0.1:5001/private/busybox:v1";
    c.ok(&["run", "anonymous", &format!("--image={image}"), "--restart=Never", "--", "/bin/sleep", "3600"]);
    let mut failed = String::new();
    c.until("the anonymous pull to fail", Duration::from_secs(60), || {
        failed = c.ok(&["get", "events", "--field-selector", "involvedObject.name=anonymous,reason=Failed", "-o", "custom-columns=M:.message", "--no-headers"]);
        failed.contains("Failed to pull image")
    });

    // With an imagePullSecret: pulled with a token, running.
    c.ok(&["create", "secret", "docker-registry", "regcred", "--docker-server=127.0.0.1:5001", &format!("--docker-username={USER}"), &format!("--docker-password={PASSWORD}")]);
    c.apply(&format!(
        "apiVersion: v1\nkind: Pod\nmetadata: {{name: private}}\nspec:\n  imagePullSecrets: [{{name: regcred}}]\n  containers:\n  - name: app\n    image: {image}\n    command: [/bin/sleep, \"3600\"]\n"
    ));
    let mut last = String::new();
    let t0 = tokio::time::Instant::now();
    while c.json(&["get", "pod", "private"])["status"]["phase"] != "Running" {
        last = c.ok(&["get", "events", "--field-selector", "involvedObject.name=private", "-o", "custom-columns=R:.reason,M:.message", "--no-headers"]);
        assert!(t0.elapsed() < Duration::from_secs(60), "the private pod did not run: {last}");
        std::thread::sleep(Duration::from_millis(500));
    }
    let events = c.ok(&["get", "events", "--field-selector", "involvedObject.name=private", "-o", "custom-columns=R:.reason", "--no-headers"]);
    assert!(events.lines().any(|l| l.trim() == "Pulled"), "{events}\nthe anonymous pull failed with: {failed}\n{last}");
    // Another pod without the secret, pulling again: the credentials of
    // the first do not carry over to it.
    c.ok(&["run", "freeloader", &format!("--image={image}"), "--image-pull-policy=Always", "--restart=Never", "--", "/bin/sleep", "3600"]);
    c.until("the freeloader's pull to fail", Duration::from_secs(60), || {
        c.ok(&["get", "events", "--field-selector", "involvedObject.name=freeloader,reason=Failed", "-o", "custom-columns=M:.message", "--no-headers"]).contains("Failed to pull image")
    });
    let _ = auth_registry.kill();
    let _ = auth_registry.wait();
}
