//! The built-in controllers against the real binary: the namespace
//! controller empties and removes a deleted namespace, inside `nubis up`
//! and as `nubis controllers --kubeconfig` against a server that runs none.

mod support;

use std::process::{Child, Command, Stdio};
use std::time::Duration;
use tokio::time::Instant;
use support::{Kubectl, Nubis};

const V: &str = "1.33";

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
    k.ok_stdin(&["apply", "-f", "-"], support::WIDGET_CRD);
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

/// Polls `f` every 100 ms for up to 10 s until it returns `Some`.
fn eventually<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    for _ in 0..100 {
        if let Some(v) = f() {
            return v;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("{what} did not happen within 10 s");
}

fn set_pod_status(k: &Kubectl, pod: &str, ip: &str, ready: bool) {
    let status = serde_json::json!({"status": {
        "phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}],
        "conditions": [{"type": "Ready", "status": if ready { "True" } else { "False" }}]
    }});
    k.ok(&["patch", "pod", pod, "--subresource=status", "--type=merge", "-p", &status.to_string()]);
}

#[test]
fn controllers_endpoints_follow_pods_of_a_service() {
    let nubis = Nubis::start();
    let k = nubis.kubectl(V);
    for pod in ["web-a", "web-b"] {
        k.ok_stdin(
            &["apply", "-f", "-"],
            &format!(
                "apiVersion: v1\nkind: Pod\nmetadata: {{name: {pod}, labels: {{app: web}}}}\nspec: {{containers: [{{name: c, image: nginx, ports: [{{name: http, containerPort: 8080}}]}}]}}"
            ),
        );
    }
    set_pod_status(&k, "web-a", "10.244.0.10", true);
    set_pod_status(&k, "web-b", "10.244.0.11", false);
    k.ok_stdin(
        &["apply", "-f", "-"],
        "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {selector: {app: web}, ports: [{name: http, port: 80, targetPort: http}]}",
    );

    let ep = eventually("endpoints for web", || {
        let ep = k.run(&["get", "endpoints", "web", "-o", "json"]);
        let ep: serde_json::Value = serde_json::from_slice(&ep.stdout).ok()?;
        ep["subsets"][0]["addresses"].is_array().then_some(ep)
    });
    let subset = &ep["subsets"][0];
    assert_eq!(subset["addresses"][0]["ip"], "10.244.0.10", "{ep}");
    assert_eq!(subset["addresses"][0]["targetRef"]["name"], "web-a");
    assert_eq!(subset["notReadyAddresses"][0]["ip"], "10.244.0.11", "{ep}");
    assert_eq!(subset["ports"][0]["port"], 8080, "named target port resolved: {ep}");
    let table = k.ok(&["get", "endpoints", "web"]);
    assert!(table.contains("10.244.0.10:8080"), "{table}");

    let slices = k.json(&["get", "endpointslices", "-l", "kubernetes.io/service-name=web"]);
    let slice = &slices["items"][0];
    assert_eq!(slice["addressType"], "IPv4");
    assert_eq!(slice["metadata"]["ownerReferences"][0]["kind"], "Service");
    assert_eq!(slice["endpoints"].as_array().map(Vec::len), Some(2), "{slice}");

    // Readiness changes reach both.
    set_pod_status(&k, "web-b", "10.244.0.11", true);
    eventually("web-b ready in endpoints", || {
        let ep = k.json(&["get", "endpoints", "web"]);
        (ep["subsets"][0]["addresses"].as_array().map(Vec::len) == Some(2)).then_some(())
    });
    k.ok(&["delete", "pod", "web-a"]);
    eventually("web-a gone from endpoints", || {
        let ep = k.json(&["get", "endpoints", "web"]);
        (ep["subsets"][0]["addresses"].as_array().map(Vec::len) == Some(1)).then_some(())
    });

    // They go with the Service.
    k.ok(&["delete", "service", "web"]);
    eventually("endpoints removed with the service", || {
        let gone = !k.run(&["get", "endpoints", "web"]).status.success();
        let slices = k.ok(&["get", "endpointslices", "-l", "kubernetes.io/service-name=web", "-o", "name"]);
        (gone && slices.trim().is_empty()).then_some(())
    });
}

#[test]
fn controllers_autoscaler_keeps_bounds_and_reports_missing_metrics() {
    // Syncs every second rather than 15 s, so the second one comes soon.
    let nubis = Nubis::start_with(&["--horizontal-pod-autoscaler-sync-period=1s"]);
    let k = nubis.kubectl(V);
    k.ok(&["create", "deployment", "web", "--image=nginx", "--replicas=1"]);
    k.ok(&["autoscale", "deployment", "web", "--min=2", "--max=5", "--cpu-percent=50"]);
    // Below minReplicas: scaled up without needing metrics.
    eventually("scale up to minReplicas", || {
        let d = k.json(&["get", "deployment", "web"]);
        (d["spec"]["replicas"] == 2).then_some(())
    });
    // Once the scale reports 2 (no ReplicaSet controller here: set it),
    // the metrics decide, and without a node agent the metrics API has
    // none: said as Kubernetes says it of an empty metrics-server.
    k.ok(&["patch", "deployment", "web", "--subresource=status", "--type=merge", "-p", r#"{"status":{"replicas":2}}"#]);
    let hpa = eventually("ScalingActive reported", || {
        let hpa = k.json(&["get", "hpa", "web"]);
        let conditions = hpa["status"]["conditions"].as_array().cloned().unwrap_or_default();
        conditions.iter().any(|c| c["type"] == "ScalingActive").then_some(hpa)
    });
    let conditions = hpa["status"]["conditions"].as_array().cloned().unwrap_or_default();
    let find = |t: &str| conditions.iter().find(|c| c["type"] == t).cloned().unwrap_or_default();
    assert_eq!(find("AbleToScale")["reason"], "SucceededGetScale");
    let active = find("ScalingActive");
    assert_eq!((active["status"].as_str(), active["reason"].as_str()), (Some("False"), Some("FailedGetResourceMetric")));
    assert_eq!(
        active["message"],
        "the HPA was unable to compute the replica count: failed to get cpu utilization: unable to get metrics for resource cpu: no metrics returned from resource metrics API"
    );
    assert_eq!(hpa["status"]["currentReplicas"], 2);
    assert_eq!(hpa["status"]["desiredReplicas"], 2);
    let describe = k.ok(&["describe", "hpa", "web"]);
    assert!(describe.contains("SuccessfulRescale") && describe.contains("New size: 2; reason: Current number of replicas below Spec.MinReplicas"), "{describe}");
    assert!(describe.contains("FailedGetResourceMetric"), "{describe}");
    let table = k.ok(&["get", "hpa", "web"]);
    assert!(table.contains("<unknown>/50%"), "{table}");
}

#[test]
fn controllers_default_service_account_and_root_ca_come_back() {
    let nubis = Nubis::start();
    let k = nubis.kubectl(V);
    k.ok(&["create", "namespace", "team"]);
    let ca = k.json(&["get", "configmap", "kube-root-ca.crt", "-n", "team"]);
    let pem = ca["data"]["ca.crt"].as_str().unwrap_or_default().to_string();
    assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"), "{ca}");

    k.ok(&["delete", "serviceaccount", "default", "-n", "team"]);
    eventually("default ServiceAccount recreated", || k.run(&["get", "sa", "default", "-n", "team"]).status.success().then_some(()));
    k.ok(&["delete", "configmap", "kube-root-ca.crt", "-n", "team"]);
    eventually("root CA ConfigMap recreated", || {
        let cm = k.run(&["get", "configmap", "kube-root-ca.crt", "-n", "team", "-o", "json"]);
        let cm: serde_json::Value = serde_json::from_slice(&cm.stdout).ok()?;
        (cm["data"]["ca.crt"] == pem.as_str()).then_some(())
    });
    k.ok(&["patch", "configmap", "kube-root-ca.crt", "-n", "team", "--type=merge", "-p", r#"{"data":{"ca.crt":"tampered"}}"#]);
    eventually("root CA ConfigMap restored", || {
        let cm = k.json(&["get", "configmap", "kube-root-ca.crt", "-n", "team"]);
        (cm["data"]["ca.crt"] == pem.as_str()).then_some(())
    });
}

#[test]
fn controllers_flag_runs_only_the_selected_controllers() {
    let nubis = Nubis::start_with(&["--simulated-nodes", "1", "--controllers", "*,-scheduler"]);
    let k = nubis.kubectl(V);
    // Every controller but the scheduler runs: the Deployment gets its
    // ReplicaSet and pod, which nobody binds.
    k.ok(&["create", "deployment", "web", "--image=nginx"]);
    let pod = eventually("the Deployment's pod", || {
        let pods = k.json(&["get", "pods", "-l", "app=web"]);
        pods["items"][0]["metadata"]["name"].as_str().map(str::to_string)
    });
    std::thread::sleep(Duration::from_millis(1500));
    let unbound = k.json(&["get", "pod", &pod]);
    assert!(unbound["spec"].get("nodeName").is_none(), "{unbound}");
    let events = k.ok(&["get", "events", "--field-selector", &format!("involvedObject.name={pod}")]);
    assert!(!events.contains("FailedScheduling") && !events.contains("Scheduled"), "{events}");

    // A scheduler alone, as its own process, binds it.
    let child = Command::new(env!("CARGO_BIN_EXE_nubis"))
        .args(["controllers", "--log", "warn", "--controllers", "scheduler", "--kubeconfig"])
        .arg(nubis.kubeconfig())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start nubis controllers");
    let _scheduler = ControllersProcess(child);
    eventually("the pod bound and Running", || {
        let p = k.json(&["get", "pod", &pod]);
        (p["spec"]["nodeName"] == "sim-0" && p["status"]["phase"] == "Running").then_some(())
    });

    // An unknown name is refused with the list of known ones.
    let out = Command::new(env!("CARGO_BIN_EXE_nubis"))
        .args(["controllers", "--controllers", "*,-schedular", "--kubeconfig"])
        .arg(nubis.kubeconfig())
        .output()
        .expect("run nubis controllers");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("unknown controller \"schedular\"") && stderr.contains("job-controller"), "{stderr}");
}
