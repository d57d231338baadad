//! StatefulSets and DaemonSets on simulated nodes (`nubis up
//! --simulated-nodes 3`) with kubectl 1.33: a StatefulSet scales 0 -> 3 -> 1
//! one ordinal at a time (up in order, each after the one before is Ready;
//! down from the top), keeps its claims, rolls out only ordinals at or above
//! the partition, and `rollout history|undo|status` work on its
//! ControllerRevisions; a DaemonSet runs one pod per node, follows nodes
//! that come, go or stop fitting, and rolls an image update to every node.
//! A kill -9 mid-rollout resumes both kinds after the restart. Claims stay
//! Pending here (no volume binder); nothing depends on binding.

#![allow(clippy::unwrap_used)]

mod support;

use futures::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use kube::api::Api;
use kube::runtime::{WatchStreamExt, watcher};
use parking_lot::Mutex;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use support::{Kubectl, Nubis, kube_client};
use tokio::time::Instant;

const V: &str = "1.33";

/// Polls `check` until it returns true or 60 s pass.
#[track_caller]
fn wait_for(what: &str, mut check: impl FnMut() -> bool) {
    let t0 = Instant::now();
    while !check() {
        assert!(t0.elapsed() < Duration::from_secs(60), "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn items(k: &Kubectl, kind: &str, selector: &str) -> Vec<serde_json::Value> {
    k.json(&["get", kind, "-l", selector])["items"].as_array().cloned().unwrap_or_default()
}

fn names(list: &[serde_json::Value]) -> Vec<String> {
    let mut n: Vec<String> = list.iter().map(|o| o["metadata"]["name"].as_str().unwrap_or_default().to_string()).collect();
    n.sort();
    n
}

fn image_of(pod: &serde_json::Value) -> String {
    pod["spec"]["containers"][0]["image"].as_str().unwrap_or_default().to_string()
}

/// name -> image of the live pods matching `selector`.
fn pod_images(k: &Kubectl, selector: &str) -> BTreeMap<String, String> {
    items(k, "pods", selector)
        .iter()
        .filter(|p| p["metadata"]["deletionTimestamp"].is_null())
        .map(|p| (p["metadata"]["name"].as_str().unwrap_or_default().to_string(), image_of(p)))
        .collect()
}

fn is_ready(pod: &Pod) -> bool {
    pod.status.as_ref().and_then(|s| s.conditions.as_ref()).is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

/// What a pod watch saw, in order: `+name (ready: a,b)` when a pod first
/// appears with the pods Ready at that moment, `-name` when one goes.
#[derive(Default)]
struct Journal {
    lines: Vec<String>,
    ready: BTreeMap<String, bool>,
}

impl Journal {
    fn apply(&mut self, pod: &Pod) {
        let name = pod.metadata.name.clone().unwrap_or_default();
        if !self.ready.contains_key(&name) {
            let ready: Vec<&str> = self.ready.iter().filter(|(_, r)| **r).map(|(n, _)| n.as_str()).collect();
            self.lines.push(format!("+{name} (ready: {})", ready.join(",")));
        }
        self.ready.insert(name, is_ready(pod));
    }
    fn delete(&mut self, pod: &Pod) {
        let name = pod.metadata.name.clone().unwrap_or_default();
        if self.ready.remove(&name).is_some() {
            self.lines.push(format!("-{name}"));
        }
    }
}

/// Records every pod event of `selector` into a journal.
async fn journal(client: kube::Client, selector: &str) -> Arc<Mutex<Journal>> {
    let journal = Arc::new(Mutex::new(Journal::default()));
    let j = journal.clone();
    let pods: Api<Pod> = Api::namespaced(client, "default");
    // With a back-off: once the test's server is gone, a watcher without
    // one retries in a loop that never yields, and the test's runtime
    // cannot shut down.
    let mut stream = watcher(pods, watcher::Config::default().labels(selector)).default_backoff().boxed();
    // Wait for the initial list so nothing before the test's actions is missed.
    while let Some(Ok(event)) = stream.next().await {
        if matches!(event, watcher::Event::InitDone) {
            break;
        }
    }
    tokio::spawn(async move {
        while let Some(event) = stream.next().await {
            match event {
                Ok(watcher::Event::Apply(p) | watcher::Event::InitApply(p)) => j.lock().apply(&p),
                Ok(watcher::Event::Delete(p)) => j.lock().delete(&p),
                _ => {}
            }
        }
    });
    journal
}

const STATEFULSET: &str = "apiVersion: apps/v1
kind: StatefulSet
metadata: {name: web}
spec:
  replicas: 0
  serviceName: nginx
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: nginx, image: 'nginx:1'}]}
  volumeClaimTemplates:
  - metadata: {name: www}
    spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
";

fn revisions(k: &Kubectl) -> Vec<(i64, String)> {
    let mut r: Vec<(i64, String)> = items(k, "controllerrevisions", "app=web")
        .iter()
        .map(|r| (r["revision"].as_i64().unwrap_or(0), r["metadata"]["name"].as_str().unwrap_or_default().to_string()))
        .collect();
    r.sort();
    r
}

fn sts_status(k: &Kubectl) -> serde_json::Value {
    k.json(&["get", "statefulset", "web"])["status"].clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn workloads_statefulset_orders_keeps_claims_partitions_and_undoes() {
    let nubis = Nubis::start_with(&["--simulated-nodes", "3"]);
    let k = nubis.kubectl(V);
    k.ok_stdin(&["apply", "-f", "-"], STATEFULSET);
    wait_for("the first revision", || revisions(&k).len() == 1);
    let client = kube_client(&nubis.kubeconfig()).await;
    let seen = journal(client.clone(), "app=web").await;

    // 0 -> 3: one at a time, each after the previous one is Ready.
    k.ok(&["scale", "statefulset", "web", "--replicas=3"]);
    let out = k.ok(&["rollout", "status", "statefulset/web", "--timeout=60s"]);
    assert!(out.contains("partitioned roll out complete: 3 new pods have been updated"), "{out}");
    wait_for("the journal to see 3 pods", || seen.lock().lines.len() >= 3);
    assert_eq!(seen.lock().lines, ["+web-0 (ready: )", "+web-1 (ready: web-0)", "+web-2 (ready: web-0,web-1)"]);

    // Identity, storage, ownership.
    let rev = revisions(&k);
    let status = sts_status(&k);
    assert_eq!(status["currentRevision"], rev[0].1.as_str());
    assert_eq!(status["updateRevision"], rev[0].1.as_str());
    assert_eq!((status["replicas"].as_i64(), status["readyReplicas"].as_i64(), status["availableReplicas"].as_i64()), (Some(3), Some(3), Some(3)));
    assert_eq!((status["currentReplicas"].as_i64(), status["updatedReplicas"].as_i64()), (Some(3), Some(3)));
    let pod = k.json(&["get", "pod", "web-1"]);
    assert_eq!(pod["metadata"]["labels"]["statefulset.kubernetes.io/pod-name"], "web-1");
    assert_eq!(pod["metadata"]["labels"]["apps.kubernetes.io/pod-index"], "1");
    assert_eq!(pod["metadata"]["labels"]["controller-revision-hash"], rev[0].1.as_str());
    assert_eq!((pod["spec"]["hostname"].as_str(), pod["spec"]["subdomain"].as_str()), (Some("web-1"), Some("nginx")));
    assert_eq!(pod["spec"]["volumes"][0]["persistentVolumeClaim"]["claimName"], "www-web-1");
    assert_eq!(pod["metadata"]["ownerReferences"][0]["kind"], "StatefulSet");
    assert_eq!(pod["metadata"]["ownerReferences"][0]["controller"], true);
    let claims = items(&k, "pvc", "app=web");
    assert_eq!(names(&claims), ["www-web-0", "www-web-1", "www-web-2"]);
    // Retain/Retain: the set does not own its claims.
    assert!(claims.iter().all(|c| c["metadata"]["ownerReferences"].is_null()), "{claims:?}");
    let events = k.ok(&["get", "events", "--field-selector", "involvedObject.name=web", "-o", "jsonpath={range .items[*]}{.reason} {.message}{\"\\n\"}{end}"]);
    assert!(events.contains("SuccessfulCreate create Claim www-web-0 Pod web-0 in StatefulSet web success"), "{events}");
    assert!(events.contains("SuccessfulCreate create Pod web-2 in StatefulSet web successful"), "{events}");
    let describe = k.ok(&["describe", "statefulset", "web"]);
    assert!(describe.contains("statefulset-controller"), "{describe}");

    // 3 -> 1: from the top, one at a time; the claims stay.
    k.ok(&["scale", "statefulset", "web", "--replicas=1"]);
    wait_for("one pod", || pod_images(&k, "app=web").len() == 1);
    wait_for("the journal to see 2 deletes", || seen.lock().lines.len() >= 5);
    assert_eq!(seen.lock().lines[3..], ["-web-2", "-web-1"]);
    assert_eq!(pod_images(&k, "app=web").keys().collect::<Vec<_>>(), ["web-0"]);
    assert_eq!(names(&items(&k, "pvc", "app=web")), ["www-web-0", "www-web-1", "www-web-2"]);
    let events = k.ok(&["get", "events", "--field-selector", "involvedObject.name=web", "-o", "jsonpath={range .items[*]}{.reason} {.message}{\"\\n\"}{end}"]);
    assert!(events.contains("SuccessfulDelete delete Pod web-2 in StatefulSet web successful"), "{events}");

    // Back to 3 (the retained claims are reused), then a partitioned update.
    k.ok(&["scale", "statefulset", "web", "--replicas=3"]);
    k.ok(&["rollout", "status", "statefulset/web", "--timeout=60s"]);
    k.ok(&["patch", "statefulset", "web", "-p", r#"{"spec":{"updateStrategy":{"rollingUpdate":{"partition":2}}}}"#]);
    k.ok(&["set", "image", "statefulset/web", "nginx=nginx:2"]);
    let out = k.ok(&["rollout", "status", "statefulset/web", "--timeout=60s"]);
    assert!(out.contains("partitioned roll out complete: 1 new pods have been updated"), "{out}");
    let images = pod_images(&k, "app=web");
    assert_eq!(images.values().collect::<Vec<_>>(), ["nginx:1", "nginx:1", "nginx:2"], "{images:?}");
    assert_eq!(images["web-2"], "nginx:2");
    let rev = revisions(&k);
    assert_eq!(rev.iter().map(|r| r.0).collect::<Vec<_>>(), [1, 2]);
    let status = sts_status(&k);
    assert_eq!((status["currentRevision"].as_str(), status["updateRevision"].as_str()), (Some(rev[0].1.as_str()), Some(rev[1].1.as_str())));
    assert_eq!((status["currentReplicas"].as_i64(), status["updatedReplicas"].as_i64()), (Some(2), Some(1)));

    // Partition 0: the rest rolls, highest first, and the rollout completes.
    k.ok(&["patch", "statefulset", "web", "-p", r#"{"spec":{"updateStrategy":{"rollingUpdate":{"partition":0}}}}"#]);
    k.ok(&["rollout", "status", "statefulset/web", "--timeout=60s"]);
    wait_for("every pod at nginx:2", || pod_images(&k, "app=web").values().all(|i| i == "nginx:2") && pod_images(&k, "app=web").len() == 3);
    wait_for("the rollout to complete in the status", || {
        let s = sts_status(&k);
        s["currentRevision"] == s["updateRevision"] && s["currentReplicas"] == 3
    });
    let updates: Vec<String> = seen.lock().lines.iter().filter(|l| l.starts_with('-')).cloned().collect();
    assert_eq!(updates, ["-web-2", "-web-1", "-web-2", "-web-1", "-web-0"]);

    // History and undo.
    let history = k.ok(&["rollout", "history", "statefulset/web"]);
    assert!(history.contains("REVISION") && history.contains("1 ") && history.contains("2 "), "{history}");
    let first = k.ok(&["rollout", "history", "statefulset/web", "--revision=1"]);
    assert!(first.contains("nginx:1"), "{first}");
    k.ok(&["rollout", "undo", "statefulset/web"]);
    k.ok(&["rollout", "status", "statefulset/web", "--timeout=60s"]);
    wait_for("every pod back at nginx:1", || {
        let i = pod_images(&k, "app=web");
        i.len() == 3 && i.values().all(|i| i == "nginx:1")
    });
    // The undone template's revision is renumbered as the newest.
    wait_for("revisions 2 and 3", || revisions(&k).iter().map(|r| r.0).collect::<Vec<_>>() == [2, 3]);
    assert_eq!(revisions(&k)[1].1, rev[0].1);
    let history = k.ok(&["rollout", "history", "statefulset/web"]);
    assert!(history.contains("3 ") && !history.contains("\n1 "), "{history}");
}

#[tokio::test(flavor = "multi_thread")]
async fn workloads_statefulset_parallel_and_delete_retention() {
    let nubis = Nubis::start_with(&["--simulated-nodes", "3"]);
    let k = nubis.kubectl(V);
    let manifest = STATEFULSET.replace(
        "replicas: 0",
        "replicas: 3\n  podManagementPolicy: Parallel\n  persistentVolumeClaimRetentionPolicy: {whenDeleted: Delete, whenScaled: Delete}",
    );
    k.ok_stdin(&["apply", "-f", "-"], &manifest);
    k.ok(&["rollout", "status", "statefulset/web", "--timeout=60s"]);
    let claims = items(&k, "pvc", "app=web");
    assert_eq!(names(&claims), ["www-web-0", "www-web-1", "www-web-2"]);
    // whenDeleted=Delete: the set owns its claims.
    for c in &claims {
        assert_eq!(c["metadata"]["ownerReferences"][0]["kind"], "StatefulSet", "{c}");
    }
    // whenScaled=Delete: a scaled-down ordinal's claim goes with its pod.
    k.ok(&["scale", "statefulset", "web", "--replicas=1"]);
    wait_for("claims of removed ordinals to go", || names(&items(&k, "pvc", "app=web")) == ["www-web-0"]);
    // Deleting the set takes the rest.
    k.ok(&["delete", "statefulset", "web"]);
    wait_for("every claim to go", || items(&k, "pvc", "app=web").is_empty());
    wait_for("every pod to go", || pod_images(&k, "app=web").is_empty());
}

const DAEMONSET: &str = "apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec: {containers: [{name: agent, image: 'agent:1'}]}
";

/// node -> image of the agent pods.
fn agents(k: &Kubectl) -> BTreeMap<String, String> {
    items(k, "pods", "app=agent")
        .iter()
        .filter(|p| p["metadata"]["deletionTimestamp"].is_null())
        .map(|p| {
            let node = p["spec"]["nodeName"].as_str().or_else(|| {
                p["spec"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"][0]["matchFields"][0]["values"][0]
                    .as_str()
            });
            (node.unwrap_or("?").to_string(), image_of(p))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn workloads_daemonset_one_pod_per_node_rolls_and_follows_nodes() {
    let nubis = Nubis::start_with(&["--simulated-nodes", "3"]);
    let k = nubis.kubectl(V);
    let nodes = names(&k.json(&["get", "nodes"])["items"].as_array().cloned().unwrap_or_default());
    assert_eq!(nodes.len(), 3);
    k.ok_stdin(&["apply", "-f", "-"], DAEMONSET);
    let out = k.ok(&["rollout", "status", "daemonset/agent", "--timeout=60s"]);
    assert!(out.contains("daemon set \"agent\" successfully rolled out"), "{out}");
    let placed = agents(&k);
    assert_eq!(placed.keys().cloned().collect::<Vec<_>>(), nodes);
    assert_eq!(items(&k, "pods", "app=agent").len(), 3);
    let pod = &items(&k, "pods", "app=agent")[0];
    assert_eq!(pod["metadata"]["labels"]["pod-template-generation"], "1");
    assert!(pod["metadata"]["labels"]["controller-revision-hash"].is_string());
    assert_eq!(pod["metadata"]["ownerReferences"][0]["kind"], "DaemonSet");
    let tolerations = pod["spec"]["tolerations"].to_string();
    for t in ["not-ready", "unreachable", "disk-pressure", "memory-pressure", "pid-pressure", "unschedulable"] {
        assert!(tolerations.contains(&format!("node.kubernetes.io/{t}")), "{tolerations}");
    }
    let ds = k.json(&["get", "daemonset", "agent"]);
    assert_eq!(ds["metadata"]["annotations"]["deprecated.daemonset.template.generation"], "1");
    let st = &ds["status"];
    assert_eq!((st["desiredNumberScheduled"].as_i64(), st["currentNumberScheduled"].as_i64(), st["numberReady"].as_i64()), (Some(3), Some(3), Some(3)));
    assert_eq!((st["updatedNumberScheduled"].as_i64(), st["numberAvailable"].as_i64(), st["numberMisscheduled"].as_i64()), (Some(3), Some(3), Some(0)));
    assert_eq!(st["observedGeneration"], ds["metadata"]["generation"]);

    // An image update rolls to every node.
    k.ok(&["set", "image", "daemonset/agent", "agent=agent:2"]);
    let out = k.ok(&["rollout", "status", "daemonset/agent", "--timeout=60s"]);
    assert!(out.contains("successfully rolled out"), "{out}");
    wait_for("agent:2 everywhere", || {
        let a = agents(&k);
        a.len() == 3 && a.values().all(|i| i == "agent:2")
    });
    assert!(items(&k, "pods", "app=agent").iter().all(|p| p["metadata"]["labels"]["pod-template-generation"] == "2"));
    let history = k.ok(&["rollout", "history", "daemonset/agent"]);
    assert!(history.contains("1 ") && history.contains("2 "), "{history}");
    let events = k.ok(&[
        "get",
        "events",
        "--field-selector",
        "involvedObject.name=agent",
        "-o",
        "jsonpath={range .items[*]}{.source.component} {.reason}{\"\\n\"}{end}",
    ]);
    assert!(events.contains("daemonset-controller SuccessfulCreate") && events.contains("daemonset-controller SuccessfulDelete"), "{events}");

    // A node that stops fitting (a NoExecute taint) loses its pod; back when
    // the taint goes.
    let tainted = &nodes[2];
    k.ok(&["taint", "node", tainted, "dedicated=db:NoExecute"]);
    wait_for("the pod to leave the tainted node", || !agents(&k).contains_key(tainted.as_str()));
    wait_for("2 desired", || k.json(&["get", "daemonset", "agent"])["status"]["desiredNumberScheduled"] == 2);
    k.ok(&["taint", "node", tainted, "dedicated=db:NoExecute-"]);
    wait_for("the pod to come back", || agents(&k).len() == 3);

    // A node that joins gets a pod; a node that leaves loses it.
    k.ok_stdin(
        &["create", "-f", "-"],
        "apiVersion: v1\nkind: Node\nmetadata: {name: extra, labels: {kubernetes.io/hostname: extra}}\nstatus:\n  conditions: [{type: Ready, status: 'True'}]\n  allocatable: {cpu: '4', memory: 16Gi, pods: '110'}\n  capacity: {cpu: '4', memory: 16Gi, pods: '110'}\n",
    );
    wait_for("a pod for the new node", || agents(&k).contains_key("extra"));
    wait_for("the new pod bound by the scheduler", || items(&k, "pods", "app=agent").iter().any(|p| p["spec"]["nodeName"] == "extra"));
    k.ok(&["delete", "node", "extra"]);
    wait_for("the pod of the removed node to go", || !agents(&k).contains_key("extra"));
    assert_eq!(agents(&k).len(), 3);

    // Deleting the DaemonSet takes its pods and revisions.
    k.ok(&["delete", "daemonset", "agent"]);
    wait_for("every agent pod to go", || items(&k, "pods", "app=agent").is_empty());
}

#[test]
fn workloads_restart_mid_rollout_resumes() {
    let mut nubis = Nubis::start_with(&["--simulated-nodes", "3"]);
    let k = nubis.kubectl(V);
    k.ok_stdin(&["apply", "-f", "-"], &STATEFULSET.replace("replicas: 0", "replicas: 3"));
    k.ok_stdin(&["apply", "-f", "-"], DAEMONSET);
    k.ok(&["rollout", "status", "statefulset/web", "--timeout=60s"]);
    k.ok(&["rollout", "status", "daemonset/agent", "--timeout=60s"]);
    k.ok(&["set", "image", "statefulset/web", "nginx=nginx:2"]);
    k.ok(&["set", "image", "daemonset/agent", "agent=agent:2"]);
    wait_for("the rollouts to start", || pod_images(&k, "app=web").get("web-2").is_none_or(|i| i == "nginx:2"));
    nubis.kill9();
    nubis.spawn();
    let k = nubis.kubectl(V);
    k.ok(&["rollout", "status", "statefulset/web", "--timeout=60s"]);
    k.ok(&["rollout", "status", "daemonset/agent", "--timeout=60s"]);
    wait_for("nginx:2 on every ordinal", || {
        let i = pod_images(&k, "app=web");
        i.keys().cloned().collect::<Vec<_>>() == ["web-0", "web-1", "web-2"] && i.values().all(|i| i == "nginx:2")
    });
    wait_for("agent:2 on every node", || {
        let a = agents(&k);
        a.len() == 3 && a.values().all(|i| i == "agent:2")
    });
    assert_eq!(items(&k, "pods", "app=agent").len(), 3);
    assert_eq!(revisions(&k).len(), 2);
    assert_eq!(items(&k, "controllerrevisions", "app=agent").len(), 2);
}
