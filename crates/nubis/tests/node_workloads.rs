//! Workloads on the real node agent: a Deployment's replicas are real
//! containers and a deleted pod is replaced; a container that keeps
//! failing is restarted with the kubelet's growing back-off. Needs root,
//! runc, nft, docker-registry, skopeo and busybox-static, as
//! node_agent.rs.

#[path = "../../image/tests/support/mod.rs"]
mod registry;
#[path = "support/node_cluster.rs"]
mod node_cluster;

use node_cluster::Cluster;
use std::collections::BTreeSet;
use std::process::Command;
use std::time::Duration;
use tokio::time::Instant;

/// Ids of the node's running containers, from runc itself.
fn running_containers(c: &Cluster) -> BTreeSet<String> {
    let out = Command::new("runc").arg("--root").arg(c.data().join("runtime")).args(["list", "--format", "json"]).output().expect("runc runs");
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null);
    list.as_array().into_iter().flatten().filter(|c| c["status"] == "running").filter_map(|c| c["id"].as_str().map(str::to_string)).collect()
}

fn running_pods(c: &Cluster, selector: &str) -> Vec<serde_json::Value> {
    let pods = c.json(&["get", "pods", "-l", selector]);
    pods["items"].as_array().into_iter().flatten().filter(|p| p["status"]["phase"] == "Running" && p["metadata"]["deletionTimestamp"].is_null()).cloned().collect()
}

#[test]
fn node_workloads_deployment_replicas_and_crash_loop_back_off_needs_root() {
    let c = Cluster::start();
    let image = format!("{}/tools/busybox:v1", c.registry);

    // A crashing container first: its back-off runs while the rest goes,
    // watched from the start so each restart's time is known.
    c.ok(&["run", "crash", &format!("--image={image}"), "--", "/bin/sh", "-c", "exit 1"]);
    let t0 = Instant::now();
    std::thread::scope(|scope| {
        let watcher = scope.spawn(|| watch_restarts(&c, t0));
        deployment_and_host_port(&c, &image);
        let (restarts_at, saw_back_off) = watcher.join().expect("the watcher ends");
        check_back_off(&c, &restarts_at, saw_back_off);
    });
}

/// When each of the first three restarts of `crash` was seen (polling),
/// and whether CrashLoopBackOff was.
fn watch_restarts(c: &Cluster, t0: Instant) -> (Vec<Duration>, bool) {
    let mut restarts_at: Vec<Duration> = Vec::new();
    let mut saw_back_off = false;
    while restarts_at.len() < 3 && t0.elapsed() < Duration::from_secs(120) {
        let status = &c.json(&["get", "pod", "crash"])["status"]["containerStatuses"][0];
        saw_back_off |= status["state"]["waiting"]["reason"] == "CrashLoopBackOff";
        let count = status["restartCount"].as_u64().unwrap_or(0) as usize;
        while restarts_at.len() < count.min(3) {
            restarts_at.push(t0.elapsed());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    (restarts_at, saw_back_off)
}

fn deployment_and_host_port(c: &Cluster, image: &str) {
    c.ok(&["create", "deployment", "web", &format!("--image={image}"), "--replicas=3", "--", "/bin/sleep", "3600"]);
    c.until("3 replicas running", Duration::from_secs(60), || running_pods(c, "app=web").len() == 3);
    let pods = running_pods(c, "app=web");
    let uids: BTreeSet<String> = pods.iter().filter_map(|p| p["metadata"]["uid"].as_str().map(str::to_string)).collect();
    let containers = running_containers(c);
    for uid in &uids {
        assert!(containers.iter().any(|id| id.starts_with(uid.as_str())), "a running container for pod {uid} in {containers:?}");
    }
    c.until("the deployment available", Duration::from_secs(30), || c.json(&["get", "deployment", "web"])["status"]["availableReplicas"] == 3);

    // A deleted replica is replaced; its container goes.
    let victim = pods[0]["metadata"]["name"].as_str().expect("a name").to_string();
    let victim_uid = pods[0]["metadata"]["uid"].as_str().expect("a uid").to_string();
    c.ok(&["delete", "pod", &victim, "--grace-period=1"]);
    c.until("a replacement running", Duration::from_secs(60), || {
        let now = running_pods(c, "app=web");
        now.len() == 3 && now.iter().all(|p| p["metadata"]["uid"] != victim_uid.as_str())
    });
    c.until("the deleted pod's container to go", Duration::from_secs(30), || !running_containers(c).iter().any(|id| id.starts_with(victim_uid.as_str())));

    // A host port: the node's own address (the bridge's, in this test's
    // namespace) and 127.0.0.1, port 18080, reach the pod's httpd.
    c.apply(&format!(
        "apiVersion: v1\nkind: Pod\nmetadata: {{name: hostport}}\nspec:\n  containers:\n  - name: web\n    image: {image}\n    command: [/bin/httpd, -f, -p, \"8080\", -h, /etc]\n    ports: [{{containerPort: 8080, hostPort: 18080}}]\n"
    ));
    c.until("hostport to run", Duration::from_secs(60), || c.json(&["get", "pod", "hostport"])["status"]["phase"] == "Running");
    let mut answer = String::new();
    c.until("the host port to answer", Duration::from_secs(20), || {
        answer = c.http_get("10.88.0.1:18080".parse().expect("an address"), "/marker").unwrap_or_default();
        answer.contains("served by a real container")
    });
    // On the node's loopback too, as CNI's portmap does.
    let local = c.http_get("127.0.0.1:18080".parse().expect("an address"), "/marker").unwrap_or_default();
    assert!(local.contains("served by a real container"), "{local}");
    c.ok(&["delete", "pod", "hostport", "--grace-period=1"]);
    c.until("the host port to go with its pod", Duration::from_secs(20), || c.http_get("10.88.0.1:18080".parse().expect("an address"), "/marker").is_err());

}

/// The crashing container's restarts come at growing intervals: at once,
/// then after 10 s, then 20 s (CrashLoopBackOff in between).
fn check_back_off(c: &Cluster, restarts_at: &[Duration], saw_back_off: bool) {
    assert_eq!(restarts_at.len(), 3, "three restarts of crash: {restarts_at:?}");
    assert!(saw_back_off, "CrashLoopBackOff was reported while waiting");
    let second_gap = restarts_at[1].saturating_sub(restarts_at[0]);
    let third_gap = restarts_at[2].saturating_sub(restarts_at[1]);
    assert!(restarts_at[0] < Duration::from_secs(8), "the first restart came at once: {restarts_at:?}");
    assert!(second_gap >= Duration::from_secs(8), "the second restart waited the 10 s back-off: {restarts_at:?}");
    assert!(third_gap >= Duration::from_secs(17) && third_gap > second_gap, "the back-off doubled: {restarts_at:?}");
    let back_off = c.ok(&["get", "events", "--field-selector", "involvedObject.name=crash,reason=BackOff", "-o", "custom-columns=M:.message", "--no-headers"]);
    assert!(back_off.contains("Back-off restarting failed container crash"), "{back_off}");
}

fn bound_pod(name: &str, image: &str, cpu: Option<&str>) -> String {
    let resources = cpu.map(|cpu| format!("    resources: {{requests: {{cpu: \"{cpu}\"}}}}\n")).unwrap_or_default();
    format!("apiVersion: v1\nkind: Pod\nmetadata: {{name: {name}}}\nspec:\n  nodeName: box\n  terminationGracePeriodSeconds: 1\n  containers:\n  - name: main\n    image: {image}\n    command: [/bin/sleep, \"3600\"]\n{resources}")
}

/// The node takes at most `--max-pods` pods and what its CPUs allow: a pod
/// bound beyond that (by `spec.nodeName`, past the scheduler) ends Failed
/// with the kubelet's reason and message and never gets a container; a
/// freed slot admits the next pod; a refused pod deleted goes.
#[test]
fn node_workloads_admission_refuses_pods_beyond_the_node_needs_root() {
    let c = Cluster::start_with(&["--max-pods", "2"]);
    let image = format!("{}/tools/busybox:v1", c.registry);
    assert_eq!(c.json(&["get", "node", "box"])["status"]["allocatable"]["pods"], "2");
    for name in ["one", "two", "three"] {
        c.apply(&bound_pod(name, &image, None));
    }
    let phase = |name: &str| c.json(&["get", "pod", name])["status"]["phase"].as_str().unwrap_or_default().to_string();
    c.until("one and two running", Duration::from_secs(60), || phase("one") == "Running" && phase("two") == "Running");
    c.until("three refused", Duration::from_secs(30), || phase("three") == "Failed");
    let three = c.json(&["get", "pod", "three"]);
    assert_eq!(three["status"]["reason"], "OutOfpods");
    assert_eq!(three["status"]["message"], "Pod was rejected: Node didn't have enough resource: pods, requested: 1, used: 2, capacity: 2");
    let uid = three["metadata"]["uid"].as_str().expect("a uid").to_string();
    assert!(!running_containers(&c).iter().any(|id| id.starts_with(uid.as_str())), "no container of the refused pod");
    let events = c.ok(&["get", "events", "--field-selector", "involvedObject.name=three", "-o", "custom-columns=R:.reason,M:.message", "--no-headers"]);
    assert!(events.contains("OutOfpods") && events.contains("Node didn't have enough resource: pods"), "{events}");

    // A freed slot admits the next pod, unless it asks for more CPU than
    // the node has.
    c.ok(&["delete", "pod", "two"]);
    c.apply(&bound_pod("greedy", &image, Some("100")));
    c.until("greedy refused", Duration::from_secs(30), || phase("greedy") == "Failed");
    let greedy = c.json(&["get", "pod", "greedy"]);
    assert_eq!(greedy["status"]["reason"], "OutOfcpu");
    let message = greedy["status"]["message"].as_str().unwrap_or_default();
    assert!(message.starts_with("Pod was rejected: Node didn't have enough resource: cpu, requested: 100000, used: 0, capacity: "), "{message}");
    c.apply(&bound_pod("four", &image, None));
    c.until("four running", Duration::from_secs(60), || phase("four") == "Running");

    c.ok(&["delete", "pod", "three", "greedy", "--wait=true", "--timeout=30s"]);
    let left = c.ok(&["get", "pods", "-o", "custom-columns=N:.metadata.name", "--no-headers"]);
    assert_eq!(left.split_whitespace().collect::<Vec<_>>(), ["four", "one"]);
}
