//! The admission plugins through real clients: ResourceQuota under
//! concurrent creates, LimitRanger defaults and bounds, Pod Security
//! levels and warnings, ServiceAccount defaulting and token volumes, and
//! legacy ServiceAccount token Secrets.

mod support;

use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, PostParams};
use serde_json::json;
use support::{Nubis, kube_client};

const V: &str = "1.33";

fn pod(name: &str) -> Pod {
    serde_json::from_value(json!({
        "metadata": {"name": name},
        "spec": {"containers": [{"name": "c", "image": "nginx:1.27"}]},
    }))
    .expect("a valid Pod")
}

#[tokio::test]
async fn admission_quota_concurrent_creates_race_free() {
    let nubis = Nubis::start();
    let k = nubis.kubectl(V);
    k.ok(&["create", "namespace", "q"]);
    k.ok(&["create", "quota", "pods", "-n", "q", "--hard=pods=2"]);
    let rq = k.json(&["get", "resourcequota", "pods", "-n", "q"]);
    assert_eq!(rq["status"]["hard"]["pods"], "2", "{rq}");
    assert_eq!(rq["status"]["used"]["pods"], "0", "{rq}");

    let client = kube_client(&nubis.kubeconfig()).await;
    let pods: Api<Pod> = Api::namespaced(client, "q");
    let tasks: Vec<_> = (0..10)
        .map(|i| {
            let pods = pods.clone();
            tokio::spawn(async move { pods.create(&PostParams::default(), &pod(&format!("p{i}"))).await })
        })
        .collect();
    let (mut created, mut refused) = (0, 0);
    for (i, t) in tasks.into_iter().enumerate() {
        match t.await.expect("task") {
            Ok(_) => created += 1,
            Err(kube::Error::Api(e)) => {
                assert_eq!(e.code, 403, "{e:?}");
                assert_eq!(e.reason, "Forbidden", "{e:?}");
                assert_eq!(
                    e.message,
                    format!(r#"pods "p{i}" is forbidden: exceeded quota: pods, requested: pods=1, used: pods=2, limited: pods=2"#)
                );
                refused += 1;
            }
            Err(e) => panic!("unexpected error: {e}"),
        }
    }
    assert_eq!((created, refused), (2, 8));
    let listed = k.ok(&["get", "pods", "-n", "q", "-o", "name"]);
    assert_eq!(listed.lines().count(), 2, "{listed}");

    let table = k.ok(&["get", "resourcequota", "-n", "q"]);
    assert!(table.contains("pods: 2/2"), "{table}");
    let described = k.ok(&["describe", "resourcequota", "pods", "-n", "q"]);
    assert!(described.lines().any(|l| l.split_whitespace().collect::<Vec<_>>() == ["pods", "2", "2"]), "{described}");

    // Deleting a pod frees a unit.
    let first = listed.lines().next().expect("a pod").to_string();
    k.ok(&["delete", &first, "-n", "q"]);
    let rq = k.json(&["get", "resourcequota", "pods", "-n", "q"]);
    assert_eq!(rq["status"]["used"]["pods"], "1", "{rq}");
    k.ok(&["run", "again", "-n", "q", "--image=nginx:1.27"]);
    let err = k.fails(&["run", "over", "-n", "q", "--image=nginx:1.27"]);
    assert!(err.contains(r#"pods "over" is forbidden: exceeded quota: pods, requested: pods=1, used: pods=2, limited: pods=2"#), "{err}");

    // Raising the limit is seen at once (status.hard follows spec.hard).
    k.ok(&["patch", "resourcequota", "pods", "-n", "q", "-p", r#"{"spec":{"hard":{"pods":"3"}}}"#]);
    k.ok(&["run", "over", "-n", "q", "--image=nginx:1.27"]);
    let rq = k.json(&["get", "resourcequota", "pods", "-n", "q"]);
    assert_eq!((&rq["status"]["hard"]["pods"], &rq["status"]["used"]["pods"]), (&json!("3"), &json!("3")), "{rq}");
}

#[test]
fn admission_quota_python_client() {
    let nubis = Nubis::start();
    support::run_python("quota.py", &nubis.kubeconfig(), &[], "python quota ok");
}

#[test]
fn admission_limit_range_defaults_and_bounds() {
    let nubis = Nubis::start();
    let k = nubis.kubectl(V);
    k.ok(&["create", "namespace", "lr"]);
    k.ok_stdin(
        &["apply", "-n", "lr", "-f", "-"],
        r#"
apiVersion: v1
kind: LimitRange
metadata: {name: limits}
spec:
  limits:
  - type: Container
    default: {cpu: 500m, memory: 256Mi}
    defaultRequest: {cpu: 100m, memory: 128Mi}
    max: {cpu: "1"}
"#,
    );
    k.ok(&["run", "small", "-n", "lr", "--image=nginx:1.27"]);
    let p = k.json(&["get", "pod", "small", "-n", "lr"]);
    let resources = &p["spec"]["containers"][0]["resources"];
    assert_eq!(resources, &json!({"limits": {"cpu": "500m", "memory": "256Mi"}, "requests": {"cpu": "100m", "memory": "128Mi"}}));
    assert_eq!(
        p["metadata"]["annotations"]["kubernetes.io/limit-ranger"],
        "LimitRanger plugin set: cpu, memory request for container small; cpu, memory limit for container small"
    );
    assert_eq!(p["status"]["qosClass"], "Burstable");

    let err = k.fails(&["run", "big", "-n", "lr", "--image=nginx:1.27", "--overrides", r#"{"spec":{"containers":[{"name":"big","image":"nginx:1.27","resources":{"limits":{"cpu":"2"}}}]}}"#]);
    assert!(
        err.contains(r#"Error from server (Forbidden): pods "big" is forbidden: maximum cpu usage per Container is 1, but limit is 2"#),
        "{err}"
    );
}

const ROOT_POD: &str = r#"
apiVersion: v1
kind: Pod
metadata: {name: root}
spec:
  containers:
  - name: c
    image: nginx:1.27
    securityContext: {privileged: true, runAsUser: 0}
"#;

const COMPLIANT_POD: &str = r#"
apiVersion: v1
kind: Pod
metadata: {name: ok}
spec:
  securityContext: {runAsNonRoot: true, seccompProfile: {type: RuntimeDefault}}
  containers:
  - name: c
    image: nginx:1.27
    securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}
"#;

fn kubectl_stdin(k: &support::Kubectl, args: &[&str], input: &str) -> std::process::Output {
    use std::io::Write;
    let mut child = k
        .cmd(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn kubectl");
    child.stdin.take().expect("stdin").write_all(input.as_bytes()).expect("write stdin");
    child.wait_with_output().expect("kubectl output")
}

#[test]
fn admission_pod_security_levels_and_warnings() {
    let nubis = Nubis::start();
    let k = nubis.kubectl(V);
    k.ok(&["create", "namespace", "strict"]);
    k.ok(&["label", "namespace", "strict", "pod-security.kubernetes.io/enforce=restricted"]);
    let out = kubectl_stdin(&k, &["create", "-n", "strict", "-f", "-"], ROOT_POD);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains(concat!(
            r#"Error from server (Forbidden): error when creating "STDIN": pods "root" is forbidden: violates PodSecurity "restricted:latest": "#,
            r#"privileged (container "c" must not set securityContext.privileged=true), "#,
            r#"allowPrivilegeEscalation != false (container "c" must set securityContext.allowPrivilegeEscalation=false), "#,
            r#"unrestricted capabilities (container "c" must set securityContext.capabilities.drop=["ALL"]), "#,
            r#"runAsNonRoot != true (pod or container "c" must set securityContext.runAsNonRoot=true), "#,
            r#"runAsUser=0 (container "c" must not set runAsUser=0), "#,
            r#"seccompProfile (pod or container "c" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")"#
        )),
        "{err}"
    );
    k.ok_stdin(&["create", "-n", "strict", "-f", "-"], COMPLIANT_POD);

    // warn=baseline: admitted, with a Warning line.
    k.ok(&["create", "namespace", "lax"]);
    k.ok(&["label", "namespace", "lax", "pod-security.kubernetes.io/warn=baseline"]);
    let out = kubectl_stdin(&k, &["create", "-n", "lax", "-f", "-"], ROOT_POD);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(r#"Warning: would violate PodSecurity "baseline:latest": privileged (container "c" must not set securityContext.privileged=true)"#),
        "{err}"
    );
    // Workloads only warn, even where pods are refused.
    let out = kubectl_stdin(&k, &["create", "deployment", "web", "-n", "strict", "--image=nginx:1.27"], "");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains(r#"Warning: would violate PodSecurity "restricted:latest""#));

    // Tightening a namespace with violating pods warns about them.
    let out = kubectl_stdin(&k, &["label", "namespace", "lax", "pod-security.kubernetes.io/enforce=baseline"], "");
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(r#"Warning: existing pods in namespace "lax" violate the new PodSecurity enforce level "baseline:latest""#), "{err}");
    assert!(err.contains("Warning: root: privileged"), "{err}");
    // Bad labels are refused.
    let err = k.fails(&["label", "namespace", "lax", "--overwrite", "pod-security.kubernetes.io/enforce=strictest"]);
    assert!(err.contains(r#"Namespace "lax" is invalid: metadata.labels[pod-security.kubernetes.io/enforce]: Invalid value: "strictest": must be one of privileged, baseline, restricted"#), "{err}");
}

#[test]
fn admission_service_account_defaults_and_token_volume() {
    let nubis = Nubis::start();
    let k = nubis.kubectl(V);
    k.ok(&["create", "namespace", "team"]);
    let sas = k.ok(&["get", "sa", "-n", "team"]);
    assert!(sas.lines().any(|l| l.starts_with("default ")), "{sas}");
    let ca = k.ok(&["get", "configmap", "kube-root-ca.crt", "-n", "team", "-o", "jsonpath={.data.ca\\.crt}"]);
    assert!(ca.starts_with("-----BEGIN CERTIFICATE-----"), "{ca}");
    for ns in ["default", "kube-system", "kube-public", "kube-node-lease"] {
        k.ok(&["get", "sa", "default", "-n", ns]);
        k.ok(&["get", "configmap", "kube-root-ca.crt", "-n", ns]);
    }

    k.ok(&["run", "web", "-n", "team", "--image=nginx:1.27"]);
    let p = k.json(&["get", "pod", "web", "-n", "team"]);
    let spec = &p["spec"];
    assert_eq!(spec["serviceAccountName"], "default");
    assert_eq!(spec["serviceAccount"], "default");
    let volume = &spec["volumes"][0];
    let name = volume["name"].as_str().expect("volume name");
    assert!(name.starts_with("kube-api-access-") && name.len() == "kube-api-access-".len() + 5, "{name}");
    assert_eq!(
        volume["projected"],
        json!({"defaultMode": 420, "sources": [
            {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
            {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
            {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}}
        ]})
    );
    assert_eq!(
        spec["containers"][0]["volumeMounts"],
        json!([{"name": name, "readOnly": true, "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"}])
    );

    // No token for a pod that opts out, or whose ServiceAccount does.
    k.ok(&["run", "quiet", "-n", "team", "--image=nginx:1.27", "--overrides", r#"{"spec":{"automountServiceAccountToken":false}}"#]);
    assert_eq!(k.json(&["get", "pod", "quiet", "-n", "team"])["spec"].get("volumes"), None);
    k.ok(&["create", "sa", "robot", "-n", "team"]);
    k.ok(&["patch", "sa", "robot", "-n", "team", "-p", r#"{"automountServiceAccountToken":false}"#]);
    k.ok(&["run", "bot", "-n", "team", "--image=nginx:1.27", "--overrides", r#"{"spec":{"serviceAccountName":"robot"}}"#]);
    assert_eq!(k.json(&["get", "pod", "bot", "-n", "team"])["spec"].get("volumes"), None);

    let err = k.fails(&["run", "lost", "-n", "team", "--image=nginx:1.27", "--overrides", r#"{"spec":{"serviceAccountName":"ghost"}}"#]);
    assert!(
        err.contains(r#"Error from server (Forbidden): pods "lost" is forbidden: error looking up service account team/ghost: serviceaccount "ghost" not found"#),
        "{err}"
    );
}

#[test]
fn admission_legacy_service_account_token_secret_authenticates() {
    let nubis = Nubis::start();
    let k = nubis.kubectl(V);
    k.ok(&["create", "namespace", "ci"]);
    k.ok(&["create", "sa", "builder", "-n", "ci"]);
    k.ok_stdin(
        &["apply", "-n", "ci", "-f", "-"],
        r#"
apiVersion: v1
kind: Secret
metadata:
  name: builder-token
  annotations: {kubernetes.io/service-account.name: builder}
type: kubernetes.io/service-account-token
"#,
    );
    let secret = k.json(&["get", "secret", "builder-token", "-n", "ci"]);
    let sa = k.json(&["get", "sa", "builder", "-n", "ci"]);
    assert_eq!(secret["metadata"]["annotations"]["kubernetes.io/service-account.uid"], sa["metadata"]["uid"]);
    let decode = |key: &str| k.ok(&["get", "secret", "builder-token", "-n", "ci", "-o", &format!("go-template={{{{index .data \"{key}\" | base64decode}}}}")]);
    assert_eq!(decode("namespace"), "ci");
    assert!(decode("ca.crt").starts_with("-----BEGIN CERTIFICATE-----"));
    let token = decode("token");

    let robot = nubis.kubectl_as(V, &nubis.token_kubeconfig("builder", &token));
    let who = robot.ok(&["auth", "whoami", "-o", "jsonpath={.status.userInfo.username}"]);
    assert_eq!(who, "system:serviceaccount:ci:builder");
    k.ok(&["delete", "secret", "builder-token", "-n", "ci"]);
    assert!(robot.fails(&["auth", "whoami"]).contains("Unauthorized"));
}
