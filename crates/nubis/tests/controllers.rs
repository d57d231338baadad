//! The built-in controllers against the real binary: the namespace
//! controller empties and removes a deleted namespace, inside `nubis up`
//! and as `nubis controllers --kubeconfig` against a server that runs none.

mod support;

use std::process::{Child, Command, Stdio};
use std::time::Duration;
use tokio::time::Instant;
use support::{Kubectl, Nubis};

const V: &str = "1.33";

const WIDGET_CRD: &str = r#"
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  group: example.com
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget}
  versions:
  - name: v1
    served: true
    storage: true
    schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
"#;

/// 50 objects of 10 kinds in `ns`.
fn fill(k: &Kubectl, ns: &str) {
    let mut docs = Vec::new();
    for i in 0..5 {
        docs.push(format!("apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: cm-{i}}}\ndata: {{a: b}}"));
        docs.push(format!("apiVersion: v1\nkind: Secret\nmetadata: {{name: s-{i}}}\nstringData: {{a: b}}"));
        docs.push(format!("apiVersion: v1\nkind: Service\nmetadata: {{name: svc-{i}}}\nspec: {{ports: [{{port: 80}}]}}"));
        docs.push(format!("apiVersion: v1\nkind: ServiceAccount\nmetadata: {{name: sa-{i}}}"));
        docs.push(format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: d-{i}}}\nspec: {{replicas: 0, selector: {{matchLabels: {{app: d{i}}}}}, template: {{metadata: {{labels: {{app: d{i}}}}}, spec: {{containers: [{{name: c, image: nginx}}]}}}}}}"
        ));
        docs.push(format!(
            "apiVersion: batch/v1\nkind: CronJob\nmetadata: {{name: cj-{i}}}\nspec: {{schedule: '0 0 * * *', suspend: true, jobTemplate: {{spec: {{template: {{spec: {{restartPolicy: Never, containers: [{{name: c, image: busybox}}]}}}}}}}}}}"
        ));
        docs.push(format!(
            "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {{name: r-{i}}}\nrules: [{{apiGroups: [''], resources: [pods], verbs: [get]}}]"
        ));
        docs.push(format!(
            "apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {{name: rb-{i}}}\nroleRef: {{apiGroup: rbac.authorization.k8s.io, kind: Role, name: r-{i}}}\nsubjects: [{{kind: User, name: u{i}}}]"
        ));
        docs.push(format!("apiVersion: coordination.k8s.io/v1\nkind: Lease\nmetadata: {{name: l-{i}}}\nspec: {{holderIdentity: x}}"));
        docs.push(format!("apiVersion: example.com/v1\nkind: Widget\nmetadata: {{name: w-{i}}}\nspec: {{size: {i}}}"));
    }
    k.ok_stdin(&["apply", "-n", ns, "-f", "-"], &docs.join("\n---\n"));
}

/// Deletes `ns` and waits until it and everything in it are gone.
fn delete_and_wait(k: &Kubectl, ns: &str) -> Duration {
    let t0 = Instant::now();
    k.ok(&["delete", "namespace", ns, "--wait=false"]);
    while k.run(&["get", "namespace", ns]).status.success() {
        assert!(t0.elapsed() < Duration::from_secs(30), "namespace {ns} still there after 30 s");
        std::thread::sleep(Duration::from_millis(100));
    }
    t0.elapsed()
}

fn assert_empty(k: &Kubectl, ns: &str) {
    let left = k.ok(&[
        "get",
        "configmaps,secrets,services,serviceaccounts,deployments,cronjobs,roles,rolebindings,leases,widgets",
        "-n",
        ns,
        "-o",
        "name",
    ]);
    // Every namespace gets these two at its creation.
    let left: Vec<&str> = left
        .lines()
        .filter(|l| *l != "serviceaccount/default" && *l != "configmap/kube-root-ca.crt")
        .collect();
    assert!(left.is_empty(), "objects outlived namespace {ns}: {left:?}");
}

#[test]
fn controllers_namespace_deletion_removes_everything() {
    let nubis = Nubis::start();
    let k = nubis.kubectl(V);
    k.ok_stdin(&["apply", "-f", "-"], WIDGET_CRD);
    k.ok(&["create", "namespace", "full"]);
    fill(&k, "full");
    let took = delete_and_wait(&k, "full");
    eprintln!("namespace with 50 objects of 10 kinds removed in {took:?}");
    // A namespace of the same name starts empty.
    k.ok(&["create", "namespace", "full"]);
    assert_empty(&k, "full");
}

struct ControllersProcess(Child);

impl Drop for ControllersProcess {
    fn drop(&mut self) {
        let _ = Command::new("kill").args(["-TERM", &self.0.id().to_string()]).status();
        let _ = self.0.wait();
    }
}

#[test]
fn controllers_run_out_of_process_against_a_kubeconfig() {
    let nubis = Nubis::start_with(&["--no-controllers"]);
    let k = nubis.kubectl(V);
    k.ok(&["create", "namespace", "ext"]);
    k.ok(&["create", "configmap", "c", "-n", "ext"]);
    // Without controllers a deleted namespace stays Terminating.
    k.ok(&["delete", "namespace", "ext", "--wait=false"]);
    std::thread::sleep(Duration::from_millis(500));
    let ns = k.json(&["get", "namespace", "ext"]);
    assert_eq!(ns["status"]["phase"], "Terminating");

    let child = Command::new(env!("CARGO_BIN_EXE_nubis"))
        .args(["controllers", "--log", "warn", "--kubeconfig"])
        .arg(nubis.kubeconfig())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start nubis controllers");
    let _controllers = ControllersProcess(child);
    let t0 = Instant::now();
    while k.run(&["get", "namespace", "ext"]).status.success() {
        assert!(t0.elapsed() < Duration::from_secs(30), "nubis controllers did not remove the namespace");
        std::thread::sleep(Duration::from_millis(100));
    }
}
