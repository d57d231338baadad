//! Node lifecycle on simulated nodes: `nubis up --simulated-nodes 2
//! --node-monitor-grace-period 5s` plus a node `lost-0` run by a separate
//! `nubis sim-nodes` process that the test kills. The node goes NotReady
//! with the unreachable taints, its pods lose Ready, a pod tolerating the
//! taint for 2 s is evicted with the `DisruptionTarget` condition and its
//! Deployment replaces it elsewhere, and deleting the node lets the pod
//! garbage collector remove what was left on it. Also the ResourceQuota
//! controller giving quota back when pods end and objects go.

mod support;

use futures::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use kube::api::Api;
use kube::runtime::{WatchStreamExt, watcher};
use parking_lot::Mutex;
use serde_json::Value;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;
use support::{Kubectl, Nubis, kube_client};
use tokio::time::Instant;

const V: &str = "1.33";

#[track_caller]
fn eventually<T>(what: &str, within: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let t0 = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            t0.elapsed() < within,
            "{what} did not happen within {within:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// A `nubis sim-nodes` process, killed when dropped.
struct SimNodes(Child);

impl SimNodes {
    fn start(nubis: &Nubis, prefix: &str) -> SimNodes {
        let child = Command::new(env!("CARGO_BIN_EXE_nubis"))
            .args(["sim-nodes", "--kubeconfig"])
            .arg(nubis.kubeconfig())
            .args([
                "--count",
                "1",
                "--prefix",
                prefix,
                "--node-lease-duration-seconds",
                "2",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start nubis sim-nodes");
        SimNodes(child)
    }

    fn kill(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for SimNodes {
    fn drop(&mut self) {
        self.kill();
    }
}

fn condition<'a>(obj: &'a Value, type_: &str) -> Option<&'a Value> {
    obj["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == type_)
}

fn pods(k: &Kubectl, selector: &str) -> Vec<Value> {
    k.json(&["get", "pods", "-l", selector])["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn running_on(pod: &Value) -> Option<String> {
    (pod["status"]["phase"] == "Running" && pod["metadata"]["deletionTimestamp"].is_null()).then(
        || {
            pod["spec"]["nodeName"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        },
    )
}

fn events(k: &Kubectl) -> Vec<Value> {
    k.json(&["get", "events", "-A"])["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn has_event(k: &Kubectl, component: &str, reason: &str, message: &str) -> bool {
    events(k).iter().any(|e| {
        e["source"]["component"] == component && e["reason"] == reason && e["message"] == message
    })
}

fn time(v: &Value) -> jiff::Timestamp {
    v.as_str()
        .and_then(|s| s.parse().ok())
        .expect("a timestamp")
}

const WEB: &str = "apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: nginx}]
      tolerations:
      - {key: node.kubernetes.io/unreachable, operator: Exists, effect: NoExecute, tolerationSeconds: 2}
      - {key: node.kubernetes.io/not-ready, operator: Exists, effect: NoExecute, tolerationSeconds: 2}
";

const PINNED: &str = "apiVersion: v1
kind: Pod
metadata: {name: pinned}
spec:
  nodeName: lost-0
  containers: [{name: c, image: nginx}]
";

#[tokio::test(flavor = "multi_thread")]
async fn node_lifecycle_lost_node_is_tainted_evicted_and_collected() {
    let nubis = Nubis::start_with(&[
        "--simulated-nodes",
        "2",
        "--node-monitor-grace-period",
        "5s",
    ]);
    let k = nubis.kubectl(V);
    let mut lost = SimNodes::start(&nubis, "lost-");
    let ready = |node: &str| {
        k.run(&["get", "node", node, "-o", "json"]).status.success()
            && condition(&k.json(&["get", "node", node]), "Ready")
                .is_some_and(|c| c["status"] == "True")
    };
    eventually("lost-0 registers", Duration::from_secs(20), || {
        ready("lost-0").then_some(())
    });

    // Cordoned nodes get the unschedulable taint from the node controller,
    // and the Deployment's pod has only lost-0 left.
    k.ok(&["cordon", "sim-0", "sim-1"]);
    eventually("the unschedulable taint", Duration::from_secs(10), || {
        let taints = k.json(&["get", "node", "sim-0"])["spec"]["taints"].clone();
        taints
            .as_array()?
            .iter()
            .any(|t| t["key"] == "node.kubernetes.io/unschedulable" && t["effect"] == "NoSchedule")
            .then_some(())
    });
    k.ok_stdin(&["apply", "-f", "-"], WEB);
    k.ok_stdin(&["apply", "-f", "-"], PINNED);
    let first = eventually("web runs on lost-0", Duration::from_secs(20), || {
        pods(&k, "app=web")
            .into_iter()
            .find(|p| running_on(p).as_deref() == Some("lost-0"))
    });
    let first_name = first["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    eventually("pinned runs", Duration::from_secs(20), || {
        running_on(&k.json(&["get", "pod", "pinned"]))
    });
    k.ok(&["uncordon", "sim-0", "sim-1"]);

    // Remember how each pod looked when it was deleted, or marked for
    // deletion: a pod on a lost node stays Terminating (its kubelet is
    // gone), as on Kubernetes.
    let client = kube_client(&nubis.kubeconfig()).await;
    let deleted: Arc<Mutex<Vec<Pod>>> = Arc::default();
    let record = deleted.clone();
    let watch = tokio::spawn(async move {
        let mut stream = watcher(
            Api::<Pod>::namespaced(client, "default"),
            watcher::Config::default(),
        )
        // Errors once the server is gone wait instead of spinning.
        .default_backoff()
        .boxed();
        while let Some(event) = stream.next().await {
            match event {
                Ok(watcher::Event::Delete(p)) => record.lock().push(p),
                Ok(watcher::Event::Apply(p)) if p.metadata.deletion_timestamp.is_some() => {
                    let mut seen = record.lock();
                    if !seen.iter().any(|s| s.metadata.uid == p.metadata.uid) {
                        seen.push(p);
                    }
                }
                _ => {}
            }
        }
    });
    let deleted_pod = |name: &str| -> Option<Value> {
        deleted
            .lock()
            .iter()
            .find(|p| p.metadata.name.as_deref() == Some(name))
            .map(|p| serde_json::to_value(p).expect("pod json"))
    };

    lost.kill();
    eventually("lost-0 shows NotReady", Duration::from_secs(30), || {
        let table = k.ok(&["get", "nodes"]);
        table
            .lines()
            .any(|l| l.starts_with("lost-0 ") && l.contains("NotReady"))
            .then_some(())
    });
    let node = k.json(&["get", "node", "lost-0"]);
    for type_ in ["Ready", "MemoryPressure", "DiskPressure", "PIDPressure"] {
        let c = condition(&node, type_).expect("condition");
        assert_eq!(c["status"], "Unknown", "{type_}");
        assert_eq!(c["reason"], "NodeStatusUnknown", "{type_}");
        assert_eq!(
            c["message"], "Kubelet stopped posting node status.",
            "{type_}"
        );
    }
    let taints = eventually("the unreachable taints", Duration::from_secs(10), || {
        let taints = k.json(&["get", "node", "lost-0"])["spec"]["taints"]
            .as_array()
            .cloned()?;
        let has = |effect: &str| {
            taints
                .iter()
                .any(|t| t["key"] == "node.kubernetes.io/unreachable" && t["effect"] == effect)
        };
        (has("NoSchedule") && has("NoExecute")).then_some(taints)
    });
    let no_execute = taints
        .iter()
        .find(|t| t["effect"] == "NoExecute")
        .expect("NoExecute taint");
    let tainted_at = time(&no_execute["timeAdded"]);
    assert!(
        taints
            .iter()
            .find(|t| t["effect"] == "NoSchedule")
            .is_some_and(|t| t["timeAdded"].is_null())
    );
    assert!(has_event(
        &k,
        "node-controller",
        "NodeNotReady",
        "Node lost-0 status is now: NodeNotReady"
    ));
    assert!(has_event(
        &k,
        "node-controller",
        "RegisteredNode",
        "Node lost-0 event: Registered Node lost-0 in Controller"
    ));

    // The pod tolerating unreachable for 2 s goes after about 2 s, with the
    // condition that says why.
    let gone = eventually("web's pod is evicted", Duration::from_secs(15), || {
        deleted_pod(&first_name)
    });
    let disruption = condition(&gone, "DisruptionTarget").expect("DisruptionTarget condition");
    assert_eq!(disruption["status"], "True");
    assert_eq!(disruption["reason"], "DeletionByTaintManager");
    assert_eq!(
        disruption["message"],
        "Taint manager: deleting due to NoExecute taint"
    );
    let after = time(&disruption["lastTransitionTime"])
        .duration_since(tainted_at)
        .as_secs_f64();
    assert!(
        (1.0..10.0).contains(&after),
        "evicted {after} s after the taint"
    );
    let marking = format!("Marking for deletion Pod default/{first_name}");
    assert!(has_event(
        &k,
        "taint-eviction-controller",
        "TaintManagerEviction",
        &marking
    ));

    // The Deployment replaces it on a node that is still there.
    let replacement = eventually("web's replacement runs", Duration::from_secs(20), || {
        pods(&k, "app=web")
            .into_iter()
            .find_map(|p| running_on(&p).filter(|n| n != "lost-0"))
    });
    assert!(replacement.starts_with("sim-"));

    // The pinned pod tolerates unreachable for the default 300 s: it stays,
    // no longer Ready, with the node controller's Warning.
    let pinned = k.json(&["get", "pod", "pinned"]);
    assert_eq!(
        condition(&pinned, "Ready").expect("Ready")["status"],
        "False"
    );
    assert!(has_event(
        &k,
        "node-controller",
        "NodeNotReady",
        "Node is not ready"
    ));

    // The node goes for good: the pod garbage collector removes its pods.
    k.ok(&["delete", "node", "lost-0"]);
    let collected = eventually(
        "the pinned pod is collected",
        Duration::from_secs(40),
        || deleted_pod("pinned"),
    );
    let disruption = condition(&collected, "DisruptionTarget").expect("DisruptionTarget condition");
    assert_eq!(disruption["reason"], "DeletionByPodGC");
    assert_eq!(disruption["message"], "PodGC: node no longer exists");
    assert_eq!(collected["status"]["phase"], "Failed");
    assert!(has_event(
        &k,
        "node-controller",
        "RemovingNode",
        "Node lost-0 event: Removing Node lost-0 from Controller"
    ));
    // The nodes still beating stay Ready throughout.
    assert!(ready("sim-0") && ready("sim-1"));
    watch.abort();
}

fn used(k: &Kubectl, resource: &str) -> String {
    k.json(&["get", "resourcequota", "q", "-n", "quota"])["status"]["used"][resource]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

fn job_pod(name: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Pod\nmetadata: {{name: {name}, namespace: quota}}\nspec:\n  restartPolicy: Never\n  containers: [{{name: c, image: busybox}}]\n"
    )
}

#[test]
fn resource_quota_gives_back_what_ended_and_deleted_objects_used() {
    let nubis = Nubis::start_with(&["--simulated-nodes", "2"]);
    let k = nubis.kubectl(V);
    k.ok(&["create", "namespace", "quota"]);
    k.ok_stdin(
        &["apply", "-f", "-"],
        "apiVersion: v1\nkind: ResourceQuota\nmetadata: {name: q, namespace: quota}\nspec:\n  hard: {pods: '3', configmaps: '10', count/secrets: '5'}\n",
    );
    eventually("the quota's status", Duration::from_secs(10), || {
        (used(&k, "pods") == "0").then_some(())
    });
    assert_eq!(
        k.json(&["get", "resourcequota", "q", "-n", "quota"])["status"]["hard"]["pods"],
        "3"
    );

    for i in 0..3 {
        k.ok_stdin(&["apply", "-f", "-"], &job_pod(&format!("job-{i}")));
    }
    // Charged at admission while they run (or before they end)...
    let refused = k.fails_stdin(&["create", "-f", "-"], &job_pod("one-too-many"));
    assert!(refused.contains("exceeded quota: q"), "{refused}");
    // ...given back by the controller once they Succeeded.
    eventually(
        "the ended pods stop counting",
        Duration::from_secs(20),
        || {
            let done = (0..3).all(|i| {
                k.json(&["get", "pod", &format!("job-{i}"), "-n", "quota"])["status"]["phase"]
                    == "Succeeded"
            });
            (done && used(&k, "pods") == "0").then_some(())
        },
    );
    k.ok_stdin(&["create", "-f", "-"], &job_pod("fits-now"));

    // Object counts follow creates and deletes (`kube-root-ca.crt` counts).
    let base: i64 = eventually("configmaps counted", Duration::from_secs(10), || {
        used(&k, "configmaps").parse().ok()
    });
    for name in ["a", "b"] {
        k.ok(&["create", "configmap", name, "-n", "quota"]);
    }
    k.ok(&["create", "secret", "generic", "s", "-n", "quota"]);
    eventually("creates counted", Duration::from_secs(10), || {
        (used(&k, "configmaps") == (base + 2).to_string() && used(&k, "count/secrets") != "0")
            .then_some(())
    });
    k.ok(&["delete", "configmap", "a", "b", "-n", "quota"]);
    eventually("deletes given back", Duration::from_secs(10), || {
        (used(&k, "configmaps") == base.to_string()).then_some(())
    });
}
