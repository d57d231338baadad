//! `nubis up --node-agent`: a container's environment as the kubelet makes
//! it (envFrom with a prefix, Secret keys, the downward API, `$(VAR)`
//! references), read back from what the container printed into its log,
//! and a container that waits in CreateContainerConfigError when a key it
//! needs is missing. Needs root, like the other node agent tests.

#[path = "../../image/tests/support/mod.rs"]
mod registry;

#[path = "support/node_cluster.rs"]
mod node_cluster;

use node_cluster::Cluster;
use std::collections::BTreeMap;
use std::time::Duration;

/// What the container wrote to stdout: the text of its CRI log lines
/// (`<time> <stream> <F|P> <text>`, a `P` line continued by the next).
fn stdout_of(log: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let mut partial = String::new();
    for line in log.lines() {
        let mut parts = line.splitn(4, ' ');
        let (_time, stream, tag, text) = (parts.next(), parts.next(), parts.next(), parts.next().unwrap_or(""));
        if stream != Some("stdout") {
            continue;
        }
        partial.push_str(text);
        if tag == Some("F") {
            lines.push(std::mem::take(&mut partial));
        }
    }
    lines
}

#[test]
fn node_env_from_config_maps_secrets_and_the_downward_api_needs_root() {
    let c = Cluster::start();
    let image = format!("{}/tools/busybox:v1", c.registry);
    c.apply(&format!(
        r#"
apiVersion: v1
kind: ConfigMap
metadata: {{name: settings}}
data:
  MODE: prod
  config.yaml: "a: 1"
---
apiVersion: v1
kind: Secret
metadata: {{name: db}}
stringData:
  password: s3cr3t
---
apiVersion: v1
kind: Pod
metadata:
  name: envy
  labels: {{tier: front}}
spec:
  restartPolicy: Never
  containers:
  - name: show
    image: {image}
    command: ["/bin/busybox", "env"]
    resources:
      limits: {{memory: 64Mi}}
    envFrom:
    - configMapRef: {{name: settings}}
      prefix: CM_
    - configMapRef: {{name: absent, optional: true}}
    env:
    - name: PASSWORD
      valueFrom: {{secretKeyRef: {{name: db, key: password}}}}
    - name: TIER
      valueFrom: {{fieldRef: {{fieldPath: "metadata.labels['tier']"}}}}
    - name: MEMORY_MI
      valueFrom: {{resourceFieldRef: {{resource: limits.memory, divisor: 1Mi}}}}
    - name: CPU_MILLIS
      valueFrom: {{resourceFieldRef: {{resource: limits.cpu, divisor: 1m}}}}
    - name: GREETING
      value: "$(CM_MODE) on $(TIER) with $(MEMORY_MI)Mi, $$(CM_MODE) escaped, $(NOPE) unknown"
  - name: args
    image: {image}
    command: ["/bin/sh", "-c", "echo 'expanded $(TIER) $$(TIER)'"]
    env:
    - name: TIER
      valueFrom: {{fieldRef: {{fieldPath: "metadata.labels['tier']"}}}}
---
apiVersion: v1
kind: Pod
metadata: {{name: missing}}
spec:
  restartPolicy: Never
  containers:
  - name: wants
    image: {image}
    command: ["/bin/busybox", "env"]
    env:
    - name: NOPE
      valueFrom: {{configMapKeyRef: {{name: settings, key: nope}}}}
"#
    ));

    c.until("envy to finish", Duration::from_secs(45), || c.json(&["get", "pod", "envy"])["status"]["phase"] == "Succeeded");
    let pod = c.json(&["get", "pod", "envy"]);
    let uid = pod["metadata"]["uid"].as_str().expect("a uid");
    let log_path = c.data().join(format!("logs/default_envy_{uid}/show/0.log"));
    let log = std::fs::read_to_string(&log_path).unwrap_or_else(|e| panic!("{}: {e}", log_path.display()));
    let env: BTreeMap<String, String> = stdout_of(&log).iter().filter_map(|l| l.split_once('=')).map(|(k, v)| (k.to_string(), v.to_string())).collect();

    // A container without a CPU limit sees the node's allocatable CPU.
    let node = c.json(&["get", "node", "box"]);
    let cpus: u64 = node["status"]["allocatable"]["cpu"].as_str().and_then(|s| s.parse().ok()).expect("whole CPUs");
    let cpu_millis = (cpus * 1000).to_string();
    let want = [
        ("CM_MODE", "prod"),
        ("CM_config.yaml", "a: 1"),
        ("PASSWORD", "s3cr3t"),
        ("TIER", "front"),
        ("MEMORY_MI", "64"),
        ("CPU_MILLIS", cpu_millis.as_str()),
        ("GREETING", "prod on front with 64Mi, $(CM_MODE) escaped, $(NOPE) unknown"),
    ];
    for (name, value) in want {
        assert_eq!(env.get(name).map(String::as_str), Some(value), "{name} in {env:#?}");
    }
    // `$(VAR)` in a command is the container's environment.
    let args_log = std::fs::read_to_string(c.data().join(format!("logs/default_envy_{uid}/args/0.log"))).expect("the args container's log");
    assert_eq!(stdout_of(&args_log), ["expanded front $(TIER)"]);

    // A required key that is not there: the container waits, saying why.
    let mut waiting = serde_json::Value::Null;
    c.until("missing to wait in CreateContainerConfigError", Duration::from_secs(30), || {
        waiting = c.json(&["get", "pod", "missing"])["status"]["containerStatuses"][0]["state"]["waiting"].clone();
        waiting["reason"] == "CreateContainerConfigError"
    });
    assert_eq!(waiting["message"], "couldn't find key nope in ConfigMap default/settings", "{waiting}");
    assert_eq!(c.json(&["get", "pod", "missing"])["status"]["phase"], "Pending");
}
