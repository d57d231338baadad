//! `nubis up --node-agent` ends pods as the kubelet does: a pod over its
//! local storage limits (a container's `ephemeral-storage` limit, an
//! emptyDir's `sizeLimit`) is evicted; a node whose disk crosses the
//! hard eviction threshold reports DiskPressure, evicts the pod using
//! the most of it, and recovers; a pod past its `activeDeadlineSeconds`
//! fails with `DeadlineExceeded`. The data dir is a small tmpfs the test
//! fills. Needs root, runc, nft, docker-registry, skopeo and
//! busybox-static, as the other node tests.

#[path = "../../image/tests/support/mod.rs"]
mod registry;

#[path = "support/node_cluster.rs"]
mod node_cluster;

use node_cluster::{Cluster, Setup};
use serde_json::Value;
use std::time::Duration;

/// A pod of one container `c` running `script` with busybox's sh, with
/// `extra` at the container's indentation and `pod_extra` at the spec's.
fn pod(image: &str, name: &str, script: &str, extra: &str, pod_extra: &str) -> String {
    format!(
        "---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}\nspec:\n  terminationGracePeriodSeconds: 1\n{pod_extra}  containers:\n  - name: c\n    image: {image}\n    command: ['/bin/busybox', 'sh', '-c', '{script}']\n{extra}"
    )
}

fn status(c: &Cluster, name: &str) -> Value {
    c.json(&["get", "pod", name])["status"].clone()
}

/// Waits for pod `name` to fail, and gives its status.
fn failed(c: &Cluster, name: &str, within: Duration) -> Value {
    c.until(&format!("{name} to fail"), within, || status(c, name)["phase"] == "Failed");
    status(c, name)
}

fn condition(status: &Value, type_: &str) -> Value {
    status["conditions"].as_array().into_iter().flatten().find(|c| c["type"] == type_).cloned().unwrap_or(Value::Null)
}

fn node_condition(c: &Cluster, type_: &str) -> String {
    let node = c.json(&["get", "node", "box"]);
    node["status"]["conditions"].as_array().into_iter().flatten().find(|c| c["type"] == type_).and_then(|c| c["status"].as_str()).unwrap_or_default().to_string()
}

/// Whether anything of pod `uid` is left on the node: its directory
/// (volumes) or a container's (writable layer).
fn leftovers(c: &Cluster, uid: &str) -> Vec<String> {
    let mut left: Vec<String> = std::fs::read_dir(c.data().join("containers")).into_iter().flatten().flatten().map(|e| e.file_name().to_string_lossy().into_owned()).filter(|id| id.starts_with(uid)).collect();
    if c.data().join("pods").join(uid).exists() {
        left.push(format!("pods/{uid}"));
    }
    left
}

#[test]
fn node_eviction_local_storage_disk_pressure_and_deadlines_needs_root() {
    let c = Cluster::start_setup(Setup { eviction_hard: Some("nodefs.available<100Mi,nodefs.inodesFree<1%"), data_tmpfs_mib: Some(320), ..Setup::default() });
    let image = format!("{}/tools/busybox:v1", c.registry);
    c.until("the node to be calm", Duration::from_secs(30), || node_condition(&c, "DiskPressure") == "False");

    // A quiet pod that stays through everything below.
    c.apply(&pod(&image, "quiet", "exec /bin/busybox sleep 3600", "", ""));
    // Over its container's limit, in its writable layer.
    let limited = "    resources:\n      limits:\n        ephemeral-storage: 4Mi\n";
    c.apply(&pod(&image, "limited", "/bin/busybox dd if=/dev/zero of=/tmp/fill bs=1M count=8; exec /bin/busybox sleep 3600", limited, ""));
    // Over its emptyDir's size limit.
    let scratch_mount = "    volumeMounts:\n    - name: scratch\n      mountPath: /scratch\n";
    let scratch = "  volumes:\n  - name: scratch\n    emptyDir:\n      sizeLimit: 2Mi\n";
    c.apply(&pod(&image, "scratchy", "/bin/busybox dd if=/dev/zero of=/scratch/fill bs=1M count=6; exec /bin/busybox sleep 3600", scratch_mount, scratch));
    // Past its deadline.
    c.apply(&pod(&image, "deadline", "exec /bin/busybox sleep 3600", "", "  activeDeadlineSeconds: 3\n"));

    let s = failed(&c, "limited", Duration::from_secs(60));
    assert_eq!(s["reason"], "Evicted", "{s}");
    assert_eq!(s["message"], "Pod ephemeral local storage usage exceeds the total limit of containers 4Mi. ");
    let disruption = condition(&s, "DisruptionTarget");
    assert_eq!((disruption["status"].as_str(), disruption["reason"].as_str()), (Some("True"), Some("TerminationByKubelet")), "{s}");
    assert_eq!(condition(&s, "Ready")["status"], "False");
    assert!(s["containerStatuses"][0]["state"]["terminated"].is_object(), "the container was stopped: {s}");
    let uid = c.json(&["get", "pod", "limited"])["metadata"]["uid"].as_str().unwrap_or_default().to_string();
    assert!(leftovers(&c, &uid).is_empty(), "an evicted pod is taken down: {:?}", leftovers(&c, &uid));
    let described = c.ok(&["describe", "pod", "limited"]);
    assert!(described.lines().any(|l| l.split_whitespace().collect::<Vec<_>>() == ["Reason:", "Evicted"]), "{described}");
    let events = c.ok(&["get", "events", "--field-selector", "involvedObject.name=limited", "-o", "custom-columns=TYPE:.type,REASON:.reason", "--no-headers"]);
    assert!(events.lines().any(|l| l.split_whitespace().collect::<Vec<_>>() == ["Warning", "Evicted"]), "{events}");

    let s = failed(&c, "scratchy", Duration::from_secs(60));
    assert_eq!((s["reason"].as_str(), s["message"].as_str()), (Some("Evicted"), Some("Usage of EmptyDir volume \"scratch\" exceeds the limit \"2Mi\". ")), "{s}");

    let s = failed(&c, "deadline", Duration::from_secs(30));
    assert_eq!((s["reason"].as_str(), s["message"].as_str()), (Some("DeadlineExceeded"), Some("Pod was active on the node longer than the specified deadline")), "{s}");
    assert!(condition(&s, "DisruptionTarget").is_null(), "a deadline is not a disruption: {s}");

    // The disk: 320 MiB, evictions below 100 MiB free. The filler takes
    // 240 MiB of its emptyDir, the node reports DiskPressure and evicts
    // it (the pod using the most), then recovers.
    let fill_mount = "    volumeMounts:\n    - name: data\n      mountPath: /data\n";
    let fill_volume = "  volumes:\n  - name: data\n    emptyDir: {}\n";
    c.apply(&pod(&image, "filler", "/bin/busybox dd if=/dev/zero of=/data/fill bs=1M count=240; exec /bin/busybox sleep 3600", fill_mount, fill_volume));
    let s = failed(&c, "filler", Duration::from_secs(90));
    assert_eq!(s["reason"], "Evicted", "{s}");
    let message = s["message"].as_str().unwrap_or_default();
    assert!(message.starts_with("The node was low on resource: ephemeral-storage. Threshold quantity: 100Mi, available: "), "{message}");
    let node_events = c.ok(&["get", "events", "-A", "--field-selector", "involvedObject.kind=Node", "-o", "custom-columns=REASON:.reason,MESSAGE:.message", "--no-headers"]);
    assert!(node_events.contains("EvictionThresholdMet") && node_events.contains("Attempting to reclaim ephemeral-storage"), "{node_events}");
    c.until("the disk pressure to end", Duration::from_secs(40), || node_condition(&c, "DiskPressure") == "False");

    assert_eq!(status(&c, "quiet")["phase"], "Running", "the quiet pod ran through it all");
    // A pod admitted after the pressure ended runs.
    c.apply(&pod(&image, "after", "exec /bin/busybox sleep 3600", "", ""));
    c.until("the pod after to run", Duration::from_secs(30), || status(&c, "after")["phase"] == "Running");
    c.ok(&["delete", "pod", "--all", "--wait=true", "--timeout=60s"]);
}
