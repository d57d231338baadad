//! Pods' streams on the node agent, driven by real clients: `kubectl logs`
//! (tail, timestamps, limit, follow, previous), `kubectl exec` (exit codes,
//! stdin, a terminal with its size), `kubectl cp` both ways, and port
//! forwarding through the Python client's WebSocket. Needs root, runc,
//! nft, docker-registry, skopeo and busybox-static, as node_agent.rs.

#[path = "../../image/tests/support/mod.rs"]
mod registry;
#[path = "support/node_cluster.rs"]
mod node_cluster;

use node_cluster::{Cluster, in_netns};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

fn python() -> String {
    std::env::var("NUBIS_TEST_PYTHON").unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/../../.venv/bin/python").to_string())
}

fn script(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python").join(name).display().to_string()
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn node_streams_logs_exec_cp_and_port_forward_needs_root() {
    let c = Cluster::start();
    let image = format!("{}/tools/busybox:v1", c.registry);
    c.ok(&["run", "talk", &format!("--image={image}"), "--restart=Never", "--", "/bin/sh", "-c", "i=0; while true; do echo line $i; i=$((i+1)); sleep 0.2; done"]);
    c.ok(&["run", "web", &format!("--image={image}"), "--restart=Never", "--", "/bin/httpd", "-f", "-p", "127.0.0.1:8080", "-h", "/etc"]);
    for pod in ["talk", "web"] {
        c.until(&format!("{pod} to run"), Duration::from_secs(60), || c.json(&["get", "pod", pod])["status"]["phase"] == "Running");
    }
    c.until("talk to have written lines", Duration::from_secs(20), || c.ok(&["logs", "talk"]).lines().count() >= 5);

    // Logs: the whole log, its tail, with times, cut at a byte limit.
    let all = c.ok(&["logs", "talk"]);
    assert!(all.starts_with("line 0\nline 1\n"), "{all}");
    let tail = c.ok(&["logs", "talk", "--tail=2"]);
    assert_eq!(tail.lines().count(), 2, "{tail}");
    assert!(tail.lines().all(|l| l.starts_with("line ")), "{tail}");
    let stamped = c.ok(&["logs", "talk", "--tail=1", "--timestamps"]);
    let (time, text) = stamped.trim_end().split_once(' ').expect("a time and a line");
    assert!(time.parse::<jiff::Timestamp>().is_ok() && text.starts_with("line "), "{stamped}");
    assert_eq!(c.ok(&["logs", "talk", "--limit-bytes=5"]), "line ");
    let previous = c.kubectl(&["logs", "talk", "--previous"]);
    assert!(!previous.status.success() && stderr(&previous).contains("previous terminated container \"talk\" in pod \"talk\" not found"), "{}", stderr(&previous));

    // Following: new lines arrive as they are written.
    let mut follow = in_netns(&c.netns, "kubectl")
        .env("KUBECONFIG", c.data().join("kubeconfig"))
        .args(["logs", "-f", "talk", "--tail=1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("kubectl runs");
    let lines = BufReader::new(follow.stdout.take().expect("piped"));
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in lines.lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    let first: u64 = rx.recv_timeout(Duration::from_secs(10)).expect("a first line").trim_start_matches("line ").parse().expect("a number");
    let followed: Vec<String> = (0..3).map(|_| rx.recv_timeout(Duration::from_secs(10)).expect("a followed line")).collect();
    let later: u64 = followed[2].trim_start_matches("line ").parse().expect("a number");
    assert_eq!(later, first + 3, "followed lines come in order");
    let _ = follow.kill();
    let _ = follow.wait();

    // Exec: output, exit codes, stdin.
    assert_eq!(c.ok(&["exec", "web", "--", "cat", "/etc/marker"]), "served by a real container");
    let failed = c.kubectl(&["exec", "web", "--", "sh", "-c", "echo oops >&2; exit 3"]);
    assert_eq!(failed.status.code(), Some(3), "kubectl exits with the command's code: {}", stderr(&failed));
    assert!(stderr(&failed).contains("oops"), "{}", stderr(&failed));
    let mut cat = in_netns(&c.netns, "kubectl")
        .env("KUBECONFIG", c.data().join("kubeconfig"))
        .args(["exec", "-i", "web", "--", "cat"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("kubectl runs");
    std::io::Write::write_all(&mut cat.stdin.take().expect("piped"), b"through stdin\n").expect("writes");
    let out = cat.wait_with_output().expect("kubectl ends");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "through stdin\n", "{}", stderr(&out));
    let missing = c.kubectl(&["exec", "web", "-c", "nope", "--", "true"]);
    assert!(!missing.status.success() && stderr(&missing).contains("container nope is not valid for pod web"), "{}", stderr(&missing));

    // The pod's /etc/hosts, host name and resolver as its spec says.
    c.apply(&format!(
        "apiVersion: v1\nkind: Pod\nmetadata: {{name: named}}\nspec:\n  hostname: db\n  subdomain: inner\n  hostAliases: [{{ip: 192.0.2.7, hostnames: [legacy.example]}}]\n  dnsPolicy: None\n  dnsConfig: {{nameservers: [192.0.2.53], searches: [example.test]}}\n  containers:\n  - name: app\n    image: {image}\n    command: [/bin/sleep, \"3600\"]\n"
    ));
    c.until("named to run", Duration::from_secs(60), || c.json(&["get", "pod", "named"])["status"]["phase"] == "Running");
    let hosts = c.ok(&["exec", "named", "--", "cat", "/etc/hosts"]);
    assert!(hosts.contains("\tdb.inner.default.svc.cluster.local\tdb\n") && hosts.contains("192.0.2.7\tlegacy.example\n"), "{hosts}");
    assert_eq!(c.ok(&["exec", "named", "--", "cat", "/etc/resolv.conf"]), "nameserver 192.0.2.53\nsearch example.test\n");
    assert_eq!(c.ok(&["exec", "named", "--", "sh", "-c", "echo $HOSTNAME"]), "db\n");

    // A terminal: the shell sees its size and answers typed commands.
    let out = in_netns(&c.netns, &python())
        .env("KUBECONFIG", c.data().join("kubeconfig"))
        .arg(script("tty_exec.py"))
        .arg("stty size; echo $((6*7))x; exit 5\\n")
        .args(["--", "kubectl", "exec", "-it", "web", "--", "sh"])
        .output()
        .expect("python runs");
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(shown.contains("37 91") && shown.contains("42x"), "the terminal showed: {shown}\n{}", stderr(&out));
    assert_eq!(out.status.code(), Some(5), "{shown}");

    // kubectl run -it: a container with a terminal, attached to.
    let out = in_netns(&c.netns, &python())
        .env("KUBECONFIG", c.data().join("kubeconfig"))
        .arg(script("tty_exec.py"))
        .arg("stty size; echo $((6*7))y; exit 4\\n")
        .args(["--", "kubectl", "run", "-it", "tty", &format!("--image={image}"), "--restart=Never", "--", "sh"])
        .output()
        .expect("python runs");
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(shown.contains("37 91") && shown.contains("42y"), "the terminal showed: {shown}\n{}", stderr(&out));
    c.until("tty to end", Duration::from_secs(30), || c.json(&["get", "pod", "tty"])["status"]["phase"] == "Failed");
    assert_eq!(c.json(&["get", "pod", "tty"])["status"]["containerStatuses"][0]["state"]["terminated"]["exitCode"], 4);

    // kubectl run -i: stdin reaches the container, which ends with it
    // (stdinOnce).
    let mut run = in_netns(&c.netns, "kubectl")
        .env("KUBECONFIG", c.data().join("kubeconfig"))
        .args(["run", "-i", "echo-in", &format!("--image={image}"), "--restart=Never", "--", "cat"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("kubectl runs");
    std::io::Write::write_all(&mut run.stdin.take().expect("piped"), b"into the container\n").expect("writes");
    let out = run.wait_with_output().expect("kubectl ends");
    assert!(String::from_utf8_lossy(&out.stdout).contains("into the container"), "{}", stderr(&out));
    c.until("echo-in to end", Duration::from_secs(30), || c.json(&["get", "pod", "echo-in"])["status"]["phase"] == "Succeeded");

    // kubectl attach: the live output of the container's own process.
    let mut attach = in_netns(&c.netns, "kubectl")
        .env("KUBECONFIG", c.data().join("kubeconfig"))
        .args(["attach", "talk"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("kubectl runs");
    let mut attached = BufReader::new(attach.stdout.take().expect("piped"));
    let mut line = String::new();
    attached.read_line(&mut line).expect("reads");
    assert!(line.starts_with("line "), "{line}");
    let _ = attach.kill();
    let _ = attach.wait();

    // kubectl cp, both ways (tar through exec).
    let local = c.dir.path().join("to-pod.txt");
    std::fs::write(&local, "copied into the pod\n").expect("writes");
    c.ok(&["cp", &local.display().to_string(), "web:/tmp/copied.txt"]);
    assert_eq!(c.ok(&["exec", "web", "--", "cat", "/tmp/copied.txt"]), "copied into the pod\n");
    let back = c.dir.path().join("from-pod.txt");
    c.ok(&["cp", "web:/etc/marker", &back.display().to_string()]);
    assert_eq!(std::fs::read_to_string(&back).expect("copied back"), "served by a real container");

    // kubectl port-forward (SPDY in a WebSocket) reaches a port bound to
    // the pod's own loopback, for several connections in turn.
    let mut forward = in_netns(&c.netns, "kubectl")
        .env("KUBECONFIG", c.data().join("kubeconfig"))
        .args(["port-forward", "pod/web", "18080:8080"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("kubectl runs");
    let mut said = BufReader::new(forward.stdout.take().expect("piped"));
    let mut announced = String::new();
    said.read_line(&mut announced).expect("kubectl says it forwards");
    assert!(announced.contains("Forwarding from 127.0.0.1:18080 -> 8080"), "{announced}");
    // kubectl reports each connection on stdout: keep reading it.
    std::thread::spawn(move || std::io::copy(&mut said, &mut std::io::sink()));
    let answers: Vec<String> = (0..3).map(|_| c.http_get("127.0.0.1:18080".parse().expect("an address"), "/marker").unwrap_or_else(|e| e.to_string())).collect();
    let _ = forward.kill();
    let out = forward.wait_with_output().expect("kubectl ends");
    for answer in answers {
        assert!(answer.starts_with("HTTP/1.") && answer.ends_with("served by a real container"), "{answer}\nkubectl: {}", stderr(&out));
    }

    // The Python client's WebSocket port forwarding (the channel protocol).
    let out = in_netns(&c.netns, &python()).env("KUBECONFIG", c.data().join("kubeconfig")).arg(script("port_forward.py")).arg("web").output().expect("python runs");
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(printed.contains("PORT-FORWARD-OK"), "{printed}\n{}", stderr(&out));

    // Resource metrics (metrics.k8s.io): kubectl top sees a busy pod
    // use about a core, and the node's usage.
    c.ok(&["run", "burn", &format!("--image={image}"), "--restart=Never", "--", "/bin/sh", "-c", "while true; do :; done"]);
    c.until("burn to run", Duration::from_secs(60), || c.json(&["get", "pod", "burn"])["status"]["phase"] == "Running");
    let mut top = String::new();
    c.until("metrics for burn", Duration::from_secs(45), || {
        let out = c.kubectl(&["top", "pod", "burn", "--no-headers"]);
        top = String::from_utf8_lossy(&out.stdout).into_owned();
        out.status.success() && top.contains("burn")
    });
    let millicores: u64 = top.split_whitespace().nth(1).and_then(|c| c.strip_suffix('m')).and_then(|c| c.parse().ok()).expect("CPU in millicores");
    assert!(millicores >= 300, "a busy loop uses most of a core: {top}");
    let raw: serde_json::Value = serde_json::from_str(&c.ok(&["get", "--raw", "/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/burn"])).expect("JSON");
    assert_eq!(raw["kind"], "PodMetrics");
    assert_eq!(raw["containers"][0]["name"], "burn");
    assert!(raw["containers"][0]["usage"]["memory"].as_str().is_some_and(|m| m.ends_with("Ki")), "{raw}");
    let nodes = c.ok(&["top", "node", "--no-headers"]);
    assert!(nodes.starts_with("box "), "{nodes}");
    c.ok(&["delete", "pod", "burn", "--grace-period=0", "--force"]);

    // A container that ended: its log stays readable, exec is refused.
    c.ok(&["run", "once", &format!("--image={image}"), "--restart=Never", "--", "/bin/sh", "-c", "echo done and gone"]);
    c.until("once to finish", Duration::from_secs(60), || c.json(&["get", "pod", "once"])["status"]["phase"] == "Succeeded");
    assert_eq!(c.ok(&["logs", "once"]), "done and gone\n");
    let refused = c.kubectl(&["exec", "once", "--", "true"]);
    assert!(!refused.status.success() && stderr(&refused).contains("cannot exec into a container in a completed pod; current phase is Succeeded"), "{}", stderr(&refused));
}
