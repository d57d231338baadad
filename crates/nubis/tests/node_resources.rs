//! `nubis up --node-agent`: containers get the cgroup limits of their
//! resources, an OOM kill shows as `OOMKilled`, and the security context
//! (user and groups, capabilities, read-only root, seccomp, privileged,
//! runAsNonRoot) holds inside real runc containers. Needs root, runc,
//! nft, docker-registry, skopeo and busybox-static, as the other node
//! tests.

#[path = "../../image/tests/support/mod.rs"]
mod registry;

#[path = "support/node_cluster.rs"]
mod node_cluster;

use node_cluster::Cluster;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A pod of one container `c` running `script` with busybox's sh, with
/// `extra` (YAML at the container's indentation) and `pod_extra` (at the
/// pod spec's).
fn pod(image: &str, name: &str, restart: &str, script: &str, extra: &str, pod_extra: &str) -> String {
    let script = script.replace('\'', "''");
    format!(
        "---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}\nspec:\n  restartPolicy: {restart}\n  terminationGracePeriodSeconds: 1\n{pod_extra}  containers:\n  - name: c\n    image: {image}\n    command: ['/bin/busybox', 'sh', '-c', '{script}']\n{extra}"
    )
}

/// The text the container `c` of pod `name` wrote in its first attempt,
/// from its CRI log (`<time> <stream> <F|P> <text>`).
fn output(c: &Cluster, name: &str) -> String {
    let uid = c.json(&["get", "pod", name])["metadata"]["uid"].as_str().unwrap_or_default().to_string();
    let log: PathBuf = c.data().join("logs").join(format!("default_{name}_{uid}")).join("c").join("0.log");
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    text.lines().filter_map(|l| l.splitn(4, ' ').nth(3)).collect::<Vec<_>>().join("\n")
}

fn phase(c: &Cluster, name: &str) -> String {
    c.json(&["get", "pod", name])["status"]["phase"].as_str().unwrap_or_default().to_string()
}

/// The output of pod `name` once it succeeded.
fn succeeded(c: &Cluster, name: &str) -> String {
    c.until(&format!("{name} to end"), Duration::from_secs(30), || matches!(phase(c, name).as_str(), "Succeeded" | "Failed"));
    let out = output(c, name);
    assert_eq!(phase(c, name), "Succeeded", "{name}: {out}");
    out
}

fn cgroup_file(dir: &Path, v1: &str, v2: &str) -> String {
    let v2_dir = PathBuf::from("/sys/fs/cgroup").join(dir);
    let path = if Path::new("/sys/fs/cgroup/cgroup.controllers").exists() { v2_dir.join(v2) } else { PathBuf::from("/sys/fs/cgroup/cpu").join(dir).join(v1) };
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())).trim().to_string()
}

#[test]
fn node_resources_limits_oom_kills_and_security_context_needs_root() {
    let c = Cluster::start();
    let image = format!("{}/tools/busybox:v1", c.registry);
    // The shell keeps the 200 MB it reads: far over the 32 Mi limit.
    let hog = "x=$(/bin/busybox head -c 200000000 /dev/zero | /bin/busybox tr '\\0' a); echo survived";
    let memory = "    resources: {limits: {memory: 32Mi}}\n";
    let mut yaml = String::new();
    yaml += &pod(&image, "hog", "Never", hog, memory, "");
    yaml += &pod(&image, "hog-again", "Always", hog, memory, "");
    yaml += &pod(&image, "cpu", "Never", "sleep 600", "    resources: {requests: {cpu: 250m}, limits: {cpu: 500m}}\n", "");
    yaml += &pod(
        &image,
        "user",
        "Never",
        "/bin/busybox id; /bin/busybox grep -E '^(Seccomp|CapEff):' /proc/self/status",
        "",
        "  securityContext: {runAsUser: 1000, runAsGroup: 1500, supplementalGroups: [3000], fsGroup: 2000}\n",
    );
    yaml += &pod(
        &image,
        "caps",
        "Never",
        "/bin/busybox touch /tmp/f; /bin/busybox chown 1:1 /tmp/f && echo chown-ok || echo chown-denied; /bin/busybox grep '^Seccomp:' /proc/self/status; /bin/busybox unshare -U true && echo unshare-ok || echo unshare-denied",
        "    securityContext: {capabilities: {drop: [ALL]}, seccompProfile: {type: RuntimeDefault}}\n",
        "",
    );
    yaml += &pod(
        &image,
        "readonly",
        "Never",
        "echo x > /probe && echo write-ok || echo write-denied; /bin/busybox grep -q /proc/keys /proc/mounts && echo keys-masked",
        "    securityContext: {readOnlyRootFilesystem: true}\n",
        "",
    );
    yaml += &pod(&image, "nonroot", "Never", "sleep 600", "    securityContext: {runAsNonRoot: true}\n", "");
    yaml += &pod(
        &image,
        "privileged",
        "Never",
        "/bin/busybox grep -E '^(Seccomp|CapEff):' /proc/self/status; /bin/busybox grep ' /sys sysfs ' /proc/mounts; /bin/busybox grep -q /proc/keys /proc/mounts || echo keys-unmasked",
        "    securityContext: {privileged: true}\n",
        "",
    );
    c.apply(&yaml);

    // An OOM kill: OOMKilled with 137 in the state, and in the last state
    // of a restarted container; `kubectl get pods` shows it.
    c.until("hog to be OOM killed", Duration::from_secs(60), || phase(&c, "hog") == "Failed");
    let hog_status = c.json(&["get", "pod", "hog"])["status"]["containerStatuses"][0].clone();
    let terminated = &hog_status["state"]["terminated"];
    assert_eq!((terminated["reason"].as_str(), terminated["exitCode"].as_i64()), (Some("OOMKilled"), Some(137)), "{hog_status}");
    assert!(!output(&c, "hog").contains("survived"));
    let table = c.ok(&["get", "pod", "hog", "--no-headers"]);
    assert!(table.contains("OOMKilled"), "{table}");
    c.until("hog-again to restart after its OOM kill", Duration::from_secs(30), || {
        c.json(&["get", "pod", "hog-again"])["status"]["containerStatuses"][0]["lastState"]["terminated"]["reason"] == "OOMKilled"
    });

    // CPU: shares from the request, a 50 ms quota per 100 ms from the
    // 500m limit, in the container's cgroup and the pod's.
    c.until("cpu to run", Duration::from_secs(30), || phase(&c, "cpu") == "Running");
    let uid = c.json(&["get", "pod", "cpu"])["metadata"]["uid"].as_str().unwrap_or_default().to_string();
    for dir in [format!("nubis/pods/{uid}/c"), format!("nubis/pods/{uid}")] {
        let dir = Path::new(&dir);
        if Path::new("/sys/fs/cgroup/cgroup.controllers").exists() {
            assert_eq!(cgroup_file(dir, "", "cpu.max"), "50000 100000");
            assert_eq!(cgroup_file(dir, "", "cpu.weight"), "10", "256 shares");
        } else {
            assert_eq!(cgroup_file(dir, "cpu.cfs_quota_us", ""), "50000", "{}", dir.display());
            assert_eq!(cgroup_file(dir, "cpu.cfs_period_us", ""), "100000");
            assert_eq!(cgroup_file(dir, "cpu.shares", ""), "256", "250m is 256 shares");
        }
    }
    assert_eq!(c.json(&["get", "pod", "cpu"])["status"]["qosClass"], "Burstable");
    // Its OOM score: a Burstable container without a memory request is
    // killed just before BestEffort ones (the kubelet's QoS policy).
    assert_eq!(c.ok(&["exec", "cpu", "--", "cat", "/proc/1/oom_score_adj"]), "999\n");

    // The user, its groups (runAsGroup, supplementalGroups, fsGroup); no
    // seccomp unless asked; a non-root user has no effective capability.
    let out = succeeded(&c, "user");
    assert!(out.contains("uid=1000") && out.contains("gid=1500"), "{out}");
    // A pod done for good gives its network back (as the kubelet stops a
    // finished pod's sandbox) and still reports the address it had.
    let user = c.json(&["get", "pod", "user"]);
    let uid = user["metadata"]["uid"].as_str().unwrap_or_default().to_string();
    c.until("the finished pod's network to go", Duration::from_secs(10), || !c.data().join("netns").join(&uid).exists());
    let status = &c.json(&["get", "pod", "user"])["status"];
    assert!(status["podIP"].as_str().is_some_and(|ip| ip.starts_with("10.88.")), "{status}");
    let sandbox = status["conditions"].as_array().into_iter().flatten().find(|c| c["type"] == "PodReadyToStartContainers").cloned().unwrap_or_default();
    assert_eq!(sandbox["status"], "False", "{status}");
    let groups = out.split("groups=").nth(1).unwrap_or_default();
    assert!(groups.contains("2000") && groups.contains("3000"), "{out}");
    assert!(out.contains("Seccomp:\t0") && out.contains("CapEff:\t0000000000000000"), "{out}");

    // Without capabilities root cannot chown; RuntimeDefault refuses
    // unshare.
    let out = succeeded(&c, "caps");
    assert!(out.contains("chown-denied") && !out.contains("chown-ok"), "{out}");
    assert!(out.contains("Seccomp:\t2") && out.contains("unshare-denied"), "{out}");

    let out = succeeded(&c, "readonly");
    assert!(out.contains("write-denied") && !out.contains("write-ok"), "{out}");
    assert!(out.contains("keys-masked"), "{out}");

    // Privileged: every capability nubis holds, no seccomp, /sys
    // writable, nothing masked.
    let out = succeeded(&c, "privileged");
    let status = std::fs::read_to_string("/proc/self/status").expect("reads");
    let held = status.lines().find(|l| l.starts_with("CapEff:")).expect("CapEff");
    assert!(out.contains(held) && out.contains("Seccomp:\t0"), "{held} in {out}");
    assert!(out.lines().any(|l| l.contains(" /sys sysfs rw")) && out.contains("keys-unmasked"), "{out}");

    // runAsNonRoot with an image that runs as root does not start.
    let mut waiting = serde_json::Value::Null;
    c.until("nonroot to be refused", Duration::from_secs(30), || {
        waiting = c.json(&["get", "pod", "nonroot"])["status"]["containerStatuses"][0]["state"]["waiting"].clone();
        waiting["reason"] == "CreateContainerConfigError"
    });
    let uid = c.json(&["get", "pod", "nonroot"])["metadata"]["uid"].as_str().unwrap_or_default().to_string();
    assert_eq!(waiting["message"], format!("container has runAsNonRoot and image will run as root (pod: \"nonroot_default({uid})\", container: c)"));

    // The pods' cgroups, limits and all, go with them.
    let uids: Vec<String> = c.json(&["get", "pods"])["items"].as_array().into_iter().flatten().filter_map(|p| p["metadata"]["uid"].as_str().map(str::to_string)).collect();
    c.ok(&["delete", "pods", "--all", "--wait=true", "--timeout=60s"]);
    for uid in uids {
        for hierarchy in ["", "cpu", "memory"] {
            let dir = PathBuf::from("/sys/fs/cgroup").join(hierarchy).join("nubis/pods").join(&uid);
            assert!(!dir.exists(), "{} is left", dir.display());
        }
    }
}
