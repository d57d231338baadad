//! The scheduler and simulated nodes against the real binary with kubectl:
//! `nubis up --simulated-nodes 3` registers three Ready nodes, pods are
//! bound and go Running with an IP, pods that fit nowhere stay Pending with
//! Kubernetes' FailedScheduling words, Job-like pods end, and the
//! `pods/binding` subresource refuses to move a bound pod.

mod support;

use serde_json::Value;
use std::time::Duration;
use tokio::time::Instant;
use support::{Kubectl, Nubis};

const V: &str = "1.33";

/// Polls `f` until it returns Some, for up to 30 s.
#[track_caller]
fn eventually<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let t0 = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(t0.elapsed() < Duration::from_secs(30), "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn pod_yaml(name: &str, extra_spec: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Pod\nmetadata: {{name: {name}}}\nspec:\n  containers: [{{name: c, image: nginx:1.27}}]\n{extra_spec}"
    )
}

fn phase(k: &Kubectl, name: &str) -> String {
    k.json(&["get", "pod", name])["status"]["phase"].as_str().unwrap_or_default().to_string()
}

#[test]
fn sched_simulated_cluster() {
    let nubis = Nubis::start_with(&["--simulated-nodes", "3"]);
    let k = nubis.kubectl(V);

    // Three Ready simulated nodes.
    let nodes = eventually("3 Ready nodes", || {
        let out = k.ok(&["get", "nodes", "--no-headers"]);
        (out.lines().filter(|l| l.split_whitespace().nth(1) == Some("Ready")).count() == 3).then_some(out)
    });
    for i in 0..3 {
        assert!(nodes.contains(&format!("sim-{i}")), "{nodes}");
    }
    let labelled = k.ok(&["get", "nodes", "-l", "nubis.io/simulated=true", "-o", "name"]);
    assert_eq!(labelled.lines().count(), 3, "{labelled}");
    let node = k.json(&["get", "node", "sim-0"]);
    assert_eq!(node["status"]["allocatable"]["cpu"], "4");
    assert_eq!(node["status"]["allocatable"]["pods"], "110");
    eventually("the node lease", || k.run(&["get", "lease", "-n", "kube-node-lease", "sim-0"]).status.success().then_some(()));

    // A pod is scheduled and runs with an IP.
    k.ok_stdin(&["apply", "-f", "-"], &pod_yaml("web", ""));
    let pod = eventually("web Running", || {
        let p = k.json(&["get", "pod", "web"]);
        (p["status"]["phase"] == "Running").then_some(p)
    });
    let node_name = pod["spec"]["nodeName"].as_str().expect("bound").to_string();
    assert!(node_name.starts_with("sim-"), "{pod}");
    assert!(pod["status"]["podIP"].as_str().is_some_and(|ip| ip.starts_with("10.244.")), "{pod}");
    assert!(pod["status"]["hostIP"].is_string());
    let conditions: Vec<(String, String)> = pod["status"]["conditions"]
        .as_array()
        .expect("conditions")
        .iter()
        .map(|c| (c["type"].as_str().unwrap_or_default().to_string(), c["status"].as_str().unwrap_or_default().to_string()))
        .collect();
    for t in ["PodScheduled", "Initialized", "ContainersReady", "Ready", "PodReadyToStartContainers"] {
        assert!(conditions.contains(&(t.to_string(), "True".to_string())), "{t} in {conditions:?}");
    }
    assert_eq!(pod["status"]["containerStatuses"][0]["ready"], true);
    let events = eventually("the Scheduled event", || {
        let e = k.ok(&["get", "events", "--field-selector", "involvedObject.name=web"]);
        e.contains("Scheduled").then_some(e)
    });
    assert!(events.contains(&format!("Successfully assigned default/web to {node_name}")), "{events}");

    // pods/binding refuses to move a bound pod.
    let binding = r#"{"apiVersion":"v1","kind":"Binding","metadata":{"name":"web"},"target":{"kind":"Node","name":"sim-9"}}"#;
    let err = k.fails_stdin(&["create", "--raw", "/api/v1/namespaces/default/pods/web/binding", "-f", "-"], binding);
    assert!(
        err.contains(&format!("Operation cannot be fulfilled on pods/binding \"web\": pod web is already assigned to node \"{node_name}\"")),
        "{err}"
    );

    // A pod asking for 100 CPUs stays Pending with Kubernetes' words.
    k.ok_stdin(
        &["apply", "-f", "-"],
        &pod_yaml("huge", "").replace("image: nginx:1.27}", "image: nginx:1.27, resources: {requests: {cpu: '100'}}}"),
    );
    let want = "0/3 nodes are available: 3 Insufficient cpu. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod.";
    let describe = eventually("FailedScheduling", || {
        let d = k.ok(&["describe", "pod", "huge"]);
        d.contains("FailedScheduling").then_some(d)
    });
    assert!(describe.contains(want), "{describe}");
    assert!(describe.contains("default-scheduler"), "{describe}");
    let huge = k.json(&["get", "pod", "huge"]);
    assert_eq!(huge["status"]["phase"], "Pending");
    let scheduled = &huge["status"]["conditions"][0];
    assert_eq!(scheduled["type"], "PodScheduled");
    assert_eq!(scheduled["status"], "False");
    assert_eq!(scheduled["reason"], "Unschedulable");
    assert_eq!(scheduled["message"], want);
    let events = k.ok(&["get", "events", "--field-selector", "reason=FailedScheduling"]);
    assert!(events.contains("Warning") && events.contains("pod/huge"), "{events}");

    // nodeSelector and taints.
    k.ok(&["label", "node", "sim-2", "disk=ssd"]);
    k.ok_stdin(&["apply", "-f", "-"], &pod_yaml("ssd", "  nodeSelector: {disk: ssd}\n"));
    eventually("ssd on sim-2", || (k.json(&["get", "pod", "ssd"])["spec"]["nodeName"] == "sim-2").then_some(()));
    k.ok_stdin(&["apply", "-f", "-"], &pod_yaml("nowhere", "  nodeSelector: {disk: nvme}\n"));
    let d = eventually("nowhere unschedulable", || {
        let d = k.ok(&["describe", "pod", "nowhere"]);
        d.contains("FailedScheduling").then_some(d)
    });
    assert!(
        d.contains("0/3 nodes are available: 3 node(s) didn't match Node's node affinity/selector. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling."),
        "{d}"
    );
    // Labelling a node makes the waiting pod schedulable.
    k.ok(&["label", "node", "sim-1", "disk=nvme"]);
    eventually("nowhere on sim-1", || (k.json(&["get", "pod", "nowhere"])["spec"]["nodeName"] == "sim-1").then_some(()));

    for n in ["sim-0", "sim-1", "sim-2"] {
        k.ok(&["taint", "node", n, "dedicated=db:NoSchedule"]);
    }
    k.ok_stdin(&["apply", "-f", "-"], &pod_yaml("intolerant", ""));
    let d = eventually("intolerant unschedulable", || {
        let d = k.ok(&["describe", "pod", "intolerant"]);
        d.contains("FailedScheduling").then_some(d)
    });
    assert!(d.contains("3 node(s) had untolerated taint {dedicated: db}"), "{d}");
    k.ok_stdin(
        &["apply", "-f", "-"],
        &pod_yaml("tolerant", "  tolerations: [{key: dedicated, operator: Equal, value: db, effect: NoSchedule}]\n"),
    );
    eventually("tolerant Running", || (phase(&k, "tolerant") == "Running").then_some(()));
    for n in ["sim-0", "sim-1", "sim-2"] {
        k.ok(&["taint", "node", n, "dedicated-"]);
    }
    eventually("intolerant scheduled after the taints go", || (phase(&k, "intolerant") == "Running").then_some(()));

    // Job-like pods end: Succeeded, or Failed with the exit code asked for.
    k.ok_stdin(&["apply", "-f", "-"], &pod_yaml("once", "  restartPolicy: Never\n"));
    eventually("once Succeeded", || (phase(&k, "once") == "Succeeded").then_some(()));
    let once = k.json(&["get", "pod", "once"]);
    assert_eq!(once["status"]["containerStatuses"][0]["state"]["terminated"]["reason"], "Completed");
    let failing = pod_yaml("failing", "  restartPolicy: OnFailure\n").replace(
        "metadata: {name: failing}",
        "metadata: {name: failing, annotations: {nubis.io/simulated-exit-code: '3', nubis.io/simulated-duration: 200ms}}",
    );
    k.ok_stdin(&["apply", "-f", "-"], &failing);
    eventually("failing Failed", || (phase(&k, "failing") == "Failed").then_some(()));
    let failed = k.json(&["get", "pod", "failing"]);
    let term: &Value = &failed["status"]["containerStatuses"][0]["state"]["terminated"];
    assert_eq!(term["exitCode"], 3);
    assert_eq!(term["reason"], "Error");

    // Deleting the huge pod leaves nothing pending behind.
    k.ok(&["delete", "pod", "huge", "--wait=true"]);
}

#[test]
fn sched_no_simulated_nodes_by_default() {
    let nubis = Nubis::start();
    let k = nubis.kubectl(V);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(k.ok(&["get", "nodes", "-o", "name"]).trim(), "");
    k.ok_stdin(&["apply", "-f", "-"], &pod_yaml("alone", ""));
    let d = eventually("FailedScheduling without nodes", || {
        let d = k.ok(&["describe", "pod", "alone"]);
        d.contains("FailedScheduling").then_some(d)
    });
    assert!(d.contains("no nodes available to schedule pods"), "{d}");
}
