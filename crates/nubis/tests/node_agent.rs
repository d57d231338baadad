//! `nubis up --node-agent`: pods run as real containers (runc), with a
//! pod network, images from a real registry. Everything runs inside a
//! network namespace this test makes (entered with `nsenter`), so the
//! bridge, veths and nftables rules never touch the machine's own
//! network. Needs root, runc, nft, docker-registry, skopeo and
//! busybox-static (`.ci/run` installs them; CI runs as root).

#[path = "../../image/tests/support/mod.rs"]
mod registry;

#[path = "support/node_cluster.rs"]
mod node_cluster;

use node_cluster::{Cluster, in_netns};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;
use tokio::time::Instant;

#[test]
fn node_agent_runs_pods_as_containers_on_the_pod_network_needs_root() {
    let c = Cluster::start();
    c.until("the node to be Ready", Duration::from_secs(30), || {
        let nodes = c.json(&["get", "nodes"]);
        nodes["items"].as_array().into_iter().flatten().any(|n| {
            n["metadata"]["name"] == "box" && n["status"]["conditions"].as_array().into_iter().flatten().any(|c| c["type"] == "Ready" && c["status"] == "True")
        })
    });
    let node = c.json(&["get", "node", "box"]);
    assert_eq!(node["status"]["nodeInfo"]["containerRuntimeVersion"].as_str().map(|v| v.starts_with("runc://")), Some(true), "{node}");
    assert_eq!(node["status"]["capacity"]["pods"], "110");

    let image = format!("{}/tools/busybox:v1", c.registry);
    c.ok(&["run", "web", &format!("--image={image}"), "--restart=Never", "--", "/bin/httpd", "-f", "-p", "8080", "-h", "/etc"]);
    c.until("web to run", Duration::from_secs(60), || c.json(&["get", "pod", "web"])["status"]["phase"] == "Running");
    let pod = c.json(&["get", "pod", "web"]);
    let ip = pod["status"]["podIP"].as_str().expect("a pod IP").to_string();
    assert!(ip.starts_with("10.88."), "{ip}");
    let status = &pod["status"]["containerStatuses"][0];
    assert_eq!(status["ready"], true);
    assert!(status["containerID"].as_str().is_some_and(|id| id.starts_with("runc://")), "{status}");
    assert!(status["imageID"].as_str().is_some_and(|id| id.contains("@sha256:")), "{status}");
    assert_eq!(pod["status"]["qosClass"], "BestEffort");

    // The pod answers HTTP on its own address.
    let addr: SocketAddr = format!("{ip}:8080").parse().expect("an address");
    let mut answer = String::new();
    c.until("httpd to answer", Duration::from_secs(20), || {
        answer = c.http_get(addr, "/marker").unwrap_or_default();
        answer.contains("served by a real container")
    });
    assert!(answer.starts_with("HTTP/1.1 200 OK"), "{answer}");

    let events = c.ok(&["get", "events", "--field-selector", "involvedObject.name=web", "-o", "custom-columns=REASON:.reason", "--no-headers"]);
    for reason in ["Scheduled", "Pulling", "Pulled", "Created", "Started"] {
        assert!(events.lines().any(|l| l.trim() == reason), "{reason} in {events}");
    }

    // A container that keeps failing is restarted with a back-off.
    c.ok(&["run", "crash", &format!("--image={image}"), "--", "/bin/sh", "-c", "echo crashing; exit 3"]);
    c.until("crash to be restarted and back off", Duration::from_secs(60), || {
        let s = &c.json(&["get", "pod", "crash"])["status"]["containerStatuses"][0];
        s["restartCount"].as_u64().unwrap_or(0) >= 1 && s["lastState"]["terminated"]["exitCode"] == 3 && s["state"]["waiting"]["reason"] == "CrashLoopBackOff"
    });

    // Deletion is graceful: the pod stays Terminating while its
    // containers get SIGTERM and the grace period (httpd ignores SIGTERM
    // as PID 1, so it is killed when the 3 s run out), then its kubelet
    // deletes it.
    c.ok(&["delete", "pod", "web", "--wait=false", "--grace-period=3"]);
    let marked = c.json(&["get", "pod", "web"]);
    assert!(marked["metadata"]["deletionTimestamp"].is_string() && marked["metadata"]["deletionGracePeriodSeconds"] == 3, "{marked}");
    let t0 = Instant::now();
    c.until("web to go", Duration::from_secs(30), || !c.kubectl(&["get", "pod", "web"]).status.success());
    assert!(t0.elapsed() >= Duration::from_secs(2), "the grace period was waited out");
    let killing = c.ok(&["get", "events", "--field-selector", "involvedObject.name=web,reason=Killing", "-o", "custom-columns=M:.message", "--no-headers"]);
    assert_eq!(killing.trim(), "Stopping container web");

    // Deleting pods leaves no container, namespace or veth behind.
    c.ok(&["delete", "pod", "crash", "--wait=true", "--timeout=60s", "--grace-period=1"]);
    let left = |dir: &str| std::fs::read_dir(c.data().join(dir)).map(|d| d.count()).unwrap_or(0);
    c.until("the pods' containers and namespaces to go", Duration::from_secs(30), || left("containers") == 0 && left("netns") == 0);
    let links = in_netns(&c.netns, "ip").args(["-o", "link"]).output().expect("ip runs");
    let links = String::from_utf8_lossy(&links.stdout);
    assert!(!links.contains(" nb"), "no pod veth left: {links}");
}

/// The pid of each container of the node (by container id), from runc.
fn container_pids(c: &Cluster) -> std::collections::BTreeMap<String, i64> {
    let out = Command::new("runc").arg("--root").arg(c.data().join("runtime")).args(["list", "--format", "json"]).output().expect("runc runs");
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null);
    list.as_array().into_iter().flatten().filter(|c| c["status"] == "running").map(|c| (c["id"].as_str().unwrap_or_default().to_string(), c["pid"].as_i64().unwrap_or(0))).collect()
}

#[test]
fn node_agent_kill9_and_restart_keeps_containers_and_logs_needs_root() {
    let mut c = Cluster::start();
    let image = format!("{}/tools/busybox:v1", c.registry);
    for i in 0..5 {
        c.ok(&["run", &format!("p{i}"), &format!("--image={image}"), "--", "/bin/sh", "-c", "i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.2; done"]);
    }
    c.until("five pods to run", Duration::from_secs(60), || {
        let pods = c.json(&["get", "pods"]);
        pods["items"].as_array().is_some_and(|items| items.len() == 5 && items.iter().all(|p| p["status"]["phase"] == "Running"))
    });
    let before = container_pids(&c);
    assert_eq!(before.len(), 5, "{before:?}");
    let logs = c.data().join("logs");
    let log_sizes = || -> u64 { walk(&logs).iter().filter_map(|f| std::fs::metadata(f).ok()).map(|m| m.len()).sum() };

    c.kill9_nubis();
    let during = log_sizes();
    std::thread::sleep(Duration::from_millis(800));
    assert!(log_sizes() > during, "logs go on while nubis is down");
    assert_eq!(container_pids(&c), before, "the containers outlive nubis");

    // The image's name removed and the store pruned meanwhile: the
    // running containers' layers stay (their overlay mounts use them).
    let image_cli = |args: &[&str]| {
        let out = in_netns(&c.netns, env!("CARGO_BIN_EXE_nubis")).arg("image").args(args).arg("--data-dir").arg(c.data()).output().expect("nubis image runs");
        assert!(out.status.success(), "nubis image {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    image_cli(&["remove", &image]);
    image_cli(&["prune", "--grace-period", "0s"]);
    let layers = std::fs::read_dir(c.data().join("images/layers")).map(|d| d.count()).unwrap_or(0);
    assert!(layers > 0, "the running containers' layers are kept");

    c.spawn_nubis();
    // The restarted agent reports the same containers, started once.
    c.until("the pods to be seen again", Duration::from_secs(30), || {
        let pods = c.json(&["get", "pods"]);
        pods["items"].as_array().is_some_and(|items| items.iter().all(|p| p["status"]["phase"] == "Running" && p["status"]["containerStatuses"][0]["restartCount"] == 0))
    });
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(container_pids(&c), before, "nothing was started twice");
    assert_eq!(c.ok(&["exec", "p0", "--", "/bin/busybox", "echo", "whole"]).trim(), "whole", "the container's root file system is whole");
    let dirs = std::fs::read_dir(c.data().join("containers")).map(|d| d.count()).unwrap_or(0);
    assert_eq!(dirs, 5);

    // nubis reset after a kill -9: nothing of the node agent is left.
    let uids: Vec<String> = c.json(&["get", "pods"])["items"].as_array().into_iter().flatten().filter_map(|p| p["metadata"]["uid"].as_str().map(str::to_string)).collect();
    c.kill9_nubis();
    let out = in_netns(&c.netns, env!("CARGO_BIN_EXE_nubis")).args(["reset", "--data-dir"]).arg(c.data()).output().expect("nubis reset runs");
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && said.starts_with("removed 5 containers, 5 pod network namespaces"), "{said} {}", String::from_utf8_lossy(&out.stderr));
    assert!(said.contains("the bridge nubis0"), "{said}");
    let again = in_netns(&c.netns, env!("CARGO_BIN_EXE_nubis")).args(["reset", "--data-dir"]).arg(c.data()).output().expect("nubis reset runs");
    let said_again = String::from_utf8_lossy(&again.stdout);
    assert!(again.status.success() && !said_again.contains("bridge"), "a second reset removes no bridge: {said_again}");
    assert!(container_pids(&c).is_empty());
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").expect("mountinfo");
    assert!(!mounts.contains(&c.data().display().to_string()), "no mount under the data dir is left");
    let links = String::from_utf8_lossy(&in_netns(&c.netns, "ip").args(["-o", "link"]).output().expect("ip runs").stdout).into_owned();
    assert!(!links.contains("nubis0") && !links.contains(" nb"), "{links}");
    let table = in_netns(&c.netns, "nft").args(["list", "table", "ip", "nubis"]).output().expect("nft runs");
    assert!(!table.status.success(), "the nftables table is gone");
    for uid in uids {
        assert!(!Path::new(&format!("/sys/fs/cgroup/memory/nubis/pods/{uid}")).exists() && !Path::new(&format!("/sys/fs/cgroup/nubis/pods/{uid}")).exists(), "the pod's cgroups are gone");
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().filter_map(Result::ok) {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn node_agent_mounts_configmaps_secrets_downward_api_and_the_service_account_needs_root() {
    let c = Cluster::start();
    let image = format!("{}/tools/busybox:v1", c.registry);
    c.ok(&["create", "configmap", "site", "--from-literal=index.html=from a configmap"]);
    c.ok(&["create", "secret", "generic", "creds", "--from-literal=password=s3cret"]);
    c.apply(&format!(
        r#"
apiVersion: v1
kind: Pod
metadata:
  name: vol
  labels: {{app: vol}}
spec:
  containers:
  - name: web
    image: {image}
    command: ["/bin/sh", "-c", "echo scratch > /scratch/file && exec /bin/httpd -f -p 8080 -h /"]
    volumeMounts:
    - {{name: site, mountPath: /www}}
    - {{name: creds, mountPath: /secret, readOnly: true}}
    - {{name: info, mountPath: /podinfo}}
    - {{name: scratch, mountPath: /scratch}}
  volumes:
  - {{name: site, configMap: {{name: site}}}}
  - {{name: creds, secret: {{secretName: creds, defaultMode: 0400}}}}
  - {{name: info, downwardAPI: {{items: [{{path: name, fieldRef: {{fieldPath: metadata.name}}}}, {{path: labels, fieldRef: {{fieldPath: metadata.labels}}}}]}}}}
  - {{name: scratch, emptyDir: {{}}}}
"#
    ));
    c.until("vol to run", Duration::from_secs(60), || c.json(&["get", "pod", "vol"])["status"]["phase"] == "Running");
    let ip = c.json(&["get", "pod", "vol"])["status"]["podIP"].as_str().expect("an IP").to_string();
    let addr: SocketAddr = format!("{ip}:8080").parse().expect("an address");
    let get = |path: &str| -> String {
        let mut body = String::new();
        c.until(&format!("GET {path}"), Duration::from_secs(20), || {
            let r = c.http_get(addr, path).unwrap_or_default();
            body = r.split("\r\n\r\n").nth(1).unwrap_or_default().to_string();
            r.starts_with("HTTP/1.1 200")
        });
        body
    };
    assert_eq!(get("/www/index.html"), "from a configmap");
    assert_eq!(get("/secret/password"), "s3cret");
    assert_eq!(get("/podinfo/name"), "vol");
    assert_eq!(get("/podinfo/labels"), "app=\"vol\"");
    assert_eq!(get("/scratch/file"), "scratch\n");
    // Every pod's service account volume (kube-api-access-*).
    assert_eq!(get("/var/run/secrets/kubernetes.io/serviceaccount/namespace"), "default");
    assert!(get("/var/run/secrets/kubernetes.io/serviceaccount/token").split('.').count() == 3, "a JWT");
    assert!(get("/var/run/secrets/kubernetes.io/serviceaccount/ca.crt").starts_with("-----BEGIN CERTIFICATE-----"));

    // A ConfigMap update reaches the running container.
    c.apply("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: site\ndata:\n  index.html: changed\n");
    c.until("the update to show", Duration::from_secs(60), || c.http_get(addr, "/www/index.html").unwrap_or_default().ends_with("changed"));

    // fsGroup: a secret only its owner may read (0400) is the group's too
    // (0440), so a container running as another user reads it; what it
    // writes in an emptyDir belongs to the group (setgid directories).
    c.apply(&format!(
        r#"
apiVersion: v1
kind: Pod
metadata:
  name: owned
spec:
  securityContext: {{fsGroup: 2000, runAsUser: 1000}}
  containers:
  - name: main
    image: {image}
    command: ["/bin/sh", "-c", "echo mine > /scratch/file && exec /bin/sleep 3600"]
    volumeMounts:
    - {{name: creds, mountPath: /secret, readOnly: true}}
    - {{name: scratch, mountPath: /scratch}}
  volumes:
  - {{name: creds, secret: {{secretName: creds, defaultMode: 0400}}}}
  - {{name: scratch, emptyDir: {{}}}}
"#
    ));
    c.until("owned to run", Duration::from_secs(60), || c.json(&["get", "pod", "owned"])["status"]["phase"] == "Running");
    assert_eq!(c.ok(&["exec", "owned", "--", "cat", "/secret/password"]), "s3cret");
    let listing = c.ok(&["exec", "owned", "--", "ls", "-ln", "/secret/..data/password", "/scratch/file"]);
    let fields = |path: &str| -> Vec<String> { listing.lines().find(|l| l.ends_with(path)).unwrap_or_default().split_whitespace().map(str::to_string).collect() };
    let (secret, file) = (fields("/secret/..data/password"), fields("/scratch/file"));
    assert_eq!((secret[0].as_str(), secret[3].as_str()), ("-r--r-----", "2000"), "{listing}");
    assert_eq!((file[2].as_str(), file[3].as_str()), ("1000", "2000"), "{listing}");
    c.ok(&["delete", "pod", "vol", "owned", "--wait=true", "--timeout=60s", "--grace-period=1"]);
    let data = c.data().display().to_string();
    let left = || -> Vec<String> {
        let mounts = std::fs::read_to_string("/proc/self/mountinfo").expect("mountinfo");
        mounts.lines().filter(|l| l.contains(&data)).map(str::to_string).collect()
    };
    c.until("no mount of the pod to be left", Duration::from_secs(30), || left().is_empty());
}
