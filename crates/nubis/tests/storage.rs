//! Persistent volumes against the real binary with kubectl 1.33: the
//! default StorageClass `local`, a claim that waits for its first consumer
//! and is then provisioned as a directory under the data dir on the pod's
//! node, Delete and Retain reclaim, smallest-fit binding of static volumes,
//! and a pod whose claim does not exist.

mod support;

use serde_json::Value;
use std::time::Duration;
use support::{Kubectl, Nubis};
use tokio::time::Instant;

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

fn str_at<'a>(v: &'a Value, pointer: &str) -> &'a str {
    v.pointer(pointer).and_then(Value::as_str).unwrap_or_default()
}

/// The (reason, message, source) of the events about one object.
fn events_of(k: &Kubectl, ns: &str, name: &str) -> Vec<(String, String, String)> {
    let list = k.json(&["get", "events", "-n", ns]);
    list["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| str_at(e, "/involvedObject/name") == name)
        .map(|e| (str_at(e, "/reason").into(), str_at(e, "/message").into(), str_at(e, "/source/component").into()))
        .collect()
}

fn claim_yaml(name: &str, size: &str, class: Option<&str>) -> String {
    let class = class.map(|c| format!("\n  storageClassName: {c}")).unwrap_or_default();
    format!(
        "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: {name}\nspec:\n  accessModes: [ReadWriteOnce]\n  resources:\n    requests:\n      storage: {size}{class}\n"
    )
}

fn pod_with_claim(name: &str, claim: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}\nspec:\n  containers:\n  - name: c\n    image: nginx\n    volumeMounts:\n    - {{name: data, mountPath: /data}}\n  volumes:\n  - name: data\n    persistentVolumeClaim:\n      claimName: {claim}\n"
    )
}

#[test]
fn storage_default_class_provisions_a_directory_for_the_first_consumer() {
    let nubis = Nubis::start_with(&["--simulated-nodes", "3"]);
    let k = nubis.kubectl(V);
    let classes = eventually("the default class", || {
        let out = k.ok(&["get", "storageclass"]);
        out.contains("local (default)").then_some(out)
    });
    assert!(classes.contains("nubis.io/local") && classes.contains("WaitForFirstConsumer") && classes.contains("Delete"), "{classes}");

    // No class named: admission gives it the default class.
    k.ok_stdin(&["apply", "-f", "-"], &claim_yaml("data", "1Gi", None));
    let claim = k.json(&["get", "pvc", "data"]);
    assert_eq!(str_at(&claim, "/spec/storageClassName"), "local");
    let waiting = eventually("WaitForFirstConsumer", || {
        events_of(&k, "default", "data").into_iter().find(|e| e.0 == "WaitForFirstConsumer")
    });
    assert_eq!(waiting.1, "waiting for first consumer to be created before binding");
    assert_eq!(waiting.2, "persistentvolume-controller");
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(str_at(&k.json(&["get", "pvc", "data"]), "/status/phase"), "Pending");
    assert!(k.ok(&["get", "pv", "-o", "name"]).trim().is_empty(), "nothing is provisioned before a pod uses the claim");

    k.ok_stdin(&["apply", "-f", "-"], &pod_with_claim("app", "data"));
    let node = eventually("the pod scheduled", || {
        let pod = k.json(&["get", "pod", "app"]);
        Some(str_at(&pod, "/spec/nodeName").to_string()).filter(|n| !n.is_empty())
    });
    let claim = eventually("the claim bound", || {
        let c = k.json(&["get", "pvc", "data"]);
        (str_at(&c, "/status/phase") == "Bound").then_some(c)
    });
    let uid = str_at(&claim, "/metadata/uid");
    let pv_name = format!("pvc-{uid}");
    assert_eq!(str_at(&claim, "/spec/volumeName"), pv_name);
    assert_eq!(str_at(&claim, "/metadata/annotations/volume.kubernetes.io~1selected-node"), node);
    assert_eq!(str_at(&claim, "/metadata/annotations/pv.kubernetes.io~1bind-completed"), "yes");
    assert_eq!(str_at(&claim, "/status/capacity/storage"), "1Gi");
    let pv = k.json(&["get", "pv", &pv_name]);
    assert_eq!(str_at(&pv, "/status/phase"), "Bound");
    assert_eq!(str_at(&pv, "/metadata/annotations/pv.kubernetes.io~1provisioned-by"), "nubis.io/local");
    assert_eq!(str_at(&pv, "/spec/persistentVolumeReclaimPolicy"), "Delete");
    assert_eq!(str_at(&pv, "/spec/nodeAffinity/required/nodeSelectorTerms/0/matchExpressions/0/values/0"), node);
    let dir = nubis.data_dir().join("volumes").join(&pv_name);
    assert_eq!(str_at(&pv, "/spec/hostPath/path"), dir.display().to_string());
    assert!(dir.is_dir(), "{} exists", dir.display());
    let events = events_of(&k, "default", "data");
    let reasons: Vec<&str> = events.iter().map(|e| e.0.as_str()).collect();
    for r in ["ExternalProvisioning", "Provisioning", "ProvisioningSucceeded"] {
        assert!(reasons.contains(&r), "{r} in {events:?}");
    }
    let succeeded = events.iter().find(|e| e.0 == "ProvisioningSucceeded").cloned().unwrap_or_default();
    assert_eq!(succeeded.1, format!("Successfully provisioned volume {pv_name}"));
    assert!(succeeded.2.starts_with("nubis.io/local_"), "{}", succeeded.2);
    let shown = k.ok(&["get", "pvc", "data"]);
    assert!(shown.contains("Bound") && shown.contains(&pv_name) && shown.contains("local"), "{shown}");
    eventually("the pod running", || (str_at(&k.json(&["get", "pod", "app"]), "/status/phase") == "Running").then_some(()));

    // Delete reclaim: the volume and its directory go with the claim.
    k.ok(&["delete", "pod", "app"]);
    k.ok(&["delete", "pvc", "data"]);
    eventually("the volume deleted", || (!k.run(&["get", "pv", &pv_name]).status.success()).then_some(()));
    eventually("the directory removed", || (!dir.exists()).then_some(()));
}

fn static_volume(name: &str, size: &str) -> String {
    format!(
        "apiVersion: v1\nkind: PersistentVolume\nmetadata:\n  name: {name}\nspec:\n  capacity: {{storage: {size}}}\n  accessModes: [ReadWriteOnce]\n  persistentVolumeReclaimPolicy: Retain\n  storageClassName: manual\n  hostPath: {{path: /tmp/nubis-test-{name}}}\n"
    )
}

#[test]
fn storage_static_retain_volume_binds_the_smallest_fit_and_stays_released() {
    let nubis = Nubis::start_with(&["--simulated-nodes", "3"]);
    let k = nubis.kubectl(V);
    k.ok_stdin(&["apply", "-f", "-"], &format!("{}---\n{}", static_volume("big", "5Gi"), static_volume("small", "2Gi")));
    eventually("the volumes available", || {
        let list = k.json(&["get", "pv"]);
        let items = list["items"].as_array().cloned().unwrap_or_default();
        (items.len() == 2 && items.iter().all(|v| str_at(v, "/status/phase") == "Available")).then_some(())
    });
    k.ok_stdin(&["apply", "-f", "-"], &claim_yaml("want", "1Gi", Some("manual")));
    let claim = eventually("the claim bound", || {
        let c = k.json(&["get", "pvc", "want"]);
        (str_at(&c, "/status/phase") == "Bound").then_some(c)
    });
    assert_eq!(str_at(&claim, "/spec/volumeName"), "small");
    assert_eq!(str_at(&claim, "/status/capacity/storage"), "2Gi");
    assert_eq!(str_at(&claim, "/metadata/annotations/pv.kubernetes.io~1bound-by-controller"), "yes");
    let small = eventually("the volume bound", || {
        let v = k.json(&["get", "pv", "small"]);
        (str_at(&v, "/status/phase") == "Bound").then_some(v)
    });
    assert_eq!(str_at(&small, "/spec/claimRef/name"), "want");
    assert_eq!(str_at(&small, "/spec/claimRef/uid"), str_at(&claim, "/metadata/uid"));
    assert_eq!(str_at(&small, "/metadata/annotations/pv.kubernetes.io~1bound-by-controller"), "yes");
    let shown = k.ok(&["get", "pv"]);
    assert!(shown.lines().any(|l| l.starts_with("small") && l.contains("Bound") && l.contains("default/want")), "{shown}");

    k.ok(&["delete", "pvc", "want"]);
    eventually("the volume released", || (str_at(&k.json(&["get", "pv", "small"]), "/status/phase") == "Released").then_some(()));
    std::thread::sleep(Duration::from_secs(2));
    let small = k.json(&["get", "pv", "small"]);
    assert_eq!(str_at(&small, "/status/phase"), "Released", "Retain keeps the volume released");
    assert_eq!(str_at(&k.json(&["get", "pv", "big"]), "/status/phase"), "Available");
    // A new claim does not get the released volume.
    k.ok_stdin(&["apply", "-f", "-"], &claim_yaml("again", "1Gi", Some("manual")));
    let again = eventually("the new claim bound", || {
        let c = k.json(&["get", "pvc", "again"]);
        (str_at(&c, "/status/phase") == "Bound").then_some(c)
    });
    assert_eq!(str_at(&again, "/spec/volumeName"), "big");
}

#[test]
fn storage_pod_with_a_missing_claim_stays_pending() {
    let nubis = Nubis::start_with(&["--simulated-nodes", "3"]);
    let k = nubis.kubectl(V);
    eventually("three nodes", || (k.ok(&["get", "nodes", "-o", "name"]).lines().count() == 3).then_some(()));
    k.ok_stdin(&["apply", "-f", "-"], &pod_with_claim("orphan", "ghost"));
    let failed = eventually("FailedScheduling", || events_of(&k, "default", "orphan").into_iter().find(|e| e.0 == "FailedScheduling"));
    assert_eq!(
        failed.1,
        "0/3 nodes are available: persistentvolumeclaim \"ghost\" not found. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling."
    );
    let pod = k.json(&["get", "pod", "orphan"]);
    assert_eq!(str_at(&pod, "/status/phase"), "Pending");
    assert_eq!(str_at(&pod, "/spec/nodeName"), "");

    // Once the claim exists (with an immediate class and no volume) the
    // pod still waits, now for the binding.
    k.ok_stdin(&["apply", "-f", "-"], &claim_yaml("ghost", "1Gi", Some("manual")));
    eventually("unbound immediate claims", || {
        events_of(&k, "default", "orphan").into_iter().find(|e| e.1.contains("pod has unbound immediate PersistentVolumeClaims"))
    });
    // A matching volume lets the pod go.
    k.ok_stdin(&["apply", "-f", "-"], &static_volume("late", "1Gi"));
    eventually("the pod scheduled", || {
        Some(str_at(&k.json(&["get", "pod", "orphan"]), "/spec/nodeName").to_string()).filter(|n| !n.is_empty())
    });
}
