//! `nubis up --node-agent`: probes, lifecycle hooks, termination messages
//! and sidecar containers on real containers (runc), with the harness of
//! `node_agent.rs` (a network namespace of the test's own, a real
//! registry, kubectl). Needs root, runc, nft, docker-registry, skopeo and
//! busybox-static.

#[path = "../../image/tests/support/mod.rs"]
mod registry;

#[path = "support/node_cluster.rs"]
mod node_cluster;

use node_cluster::Cluster;
use serde_json::Value;
use std::time::Duration;

/// The messages of the pod's Events with `reason`.
fn events(c: &Cluster, pod: &str, reason: &str) -> Vec<String> {
    let out = c.ok(&["get", "events", "--field-selector", &format!("involvedObject.name={pod},reason={reason}"), "-o", "custom-columns=M:.message", "--no-headers"]);
    out.lines().map(|l| l.trim().to_string()).filter(|l| !l.is_empty()).collect()
}

fn condition(pod: &Value, type_: &str) -> String {
    pod["status"]["conditions"].as_array().into_iter().flatten().find(|c| c["type"] == type_).and_then(|c| c["status"].as_str()).unwrap_or_default().to_string()
}

fn container<'a>(pod: &'a Value, list: &str, name: &str) -> &'a Value {
    pod["status"][list].as_array().and_then(|cs| cs.iter().find(|c| c["name"] == name)).unwrap_or(&Value::Null)
}

#[test]
fn node_probes_hooks_termination_messages_and_sidecars_needs_root() {
    let c = Cluster::start();
    let image = format!("{}/tools/busybox:v1", c.registry);
    let hooks = c.dir.path().join("hooks");
    c.apply(&format!(
        r#"
apiVersion: v1
kind: Pod
metadata: {{name: liveness}}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: app
    image: {image}
    command: ["/bin/sh", "-c", ": > /tmp/healthy; sleep 2; /bin/busybox rm /tmp/healthy; sleep 600"]
    livenessProbe:
      exec: {{command: [cat, /tmp/healthy]}}
      periodSeconds: 1
      failureThreshold: 1
---
apiVersion: v1
kind: Pod
metadata: {{name: web}}
spec:
  containers:
  - name: httpd
    image: {image}
    command: ["/bin/sh", "-c", "/bin/busybox mkdir -p /www && exec /bin/httpd -f -p 8080 -h /www"]
    ports: [{{name: http, containerPort: 8080}}]
    readinessProbe:
      httpGet: {{path: /ready, port: http}}
      periodSeconds: 1
    livenessProbe:
      tcpSocket: {{port: 8080}}
      periodSeconds: 1
---
apiVersion: v1
kind: Pod
metadata: {{name: slow}}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: app
    image: {image}
    command: ["/bin/sh", "-c", "sleep 600"]
    startupProbe:
      exec: {{command: [cat, /tmp/started]}}
      periodSeconds: 1
      failureThreshold: 300
    readinessProbe:
      tcpSocket: {{port: 9000}}
      periodSeconds: 1
---
apiVersion: v1
kind: Pod
metadata: {{name: hooks}}
spec:
  terminationGracePeriodSeconds: 10
  containers:
  - name: app
    image: {image}
    command: ["/bin/sh", "-c", "trap 'echo TERM >> /out/log; exit 0' TERM; while true; do sleep 1; done"]
    volumeMounts: [{{name: out, mountPath: /out}}]
    lifecycle:
      postStart:
        exec: {{command: [/bin/sh, -c, "echo postStart >> /out/log"]}}
      preStop:
        exec: {{command: [/bin/sh, -c, "echo preStop >> /out/log"]}}
  volumes:
  - {{name: out, hostPath: {{path: {hooks}, type: DirectoryOrCreate}}}}
---
apiVersion: v1
kind: Pod
metadata: {{name: badhook}}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: app
    image: {image}
    command: ["/bin/sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]
    lifecycle:
      postStart:
        exec: {{command: [/bin/sh, -c, "exit 7"]}}
---
apiVersion: v1
kind: Pod
metadata: {{name: messages}}
spec:
  restartPolicy: Never
  containers:
  - name: file
    image: {image}
    command: ["/bin/sh", "-c", "echo 'all done' > /tmp/message; echo not this; exit 3"]
    terminationMessagePath: /tmp/message
  - name: fallback
    image: {image}
    command: ["/bin/sh", "-c", "echo first; echo from the log; exit 1"]
    terminationMessagePolicy: FallbackToLogsOnError
  - name: default
    image: {image}
    command: ["/bin/sh", "-c", "echo bye > /dev/termination-log"]
---
apiVersion: v1
kind: Pod
metadata: {{name: job}}
spec:
  restartPolicy: Never
  terminationGracePeriodSeconds: 5
  initContainers:
  - name: proxy
    image: {image}
    restartPolicy: Always
    command: ["/bin/sh", "-c", "trap 'exit 0' TERM; sleep 1; echo up > /shared/proxy; while true; do sleep 1; done"]
    volumeMounts: [{{name: shared, mountPath: /shared}}]
    startupProbe:
      exec: {{command: [cat, /shared/proxy]}}
      periodSeconds: 1
      failureThreshold: 30
  containers:
  - name: work
    image: {image}
    command: ["/bin/sh", "-c", "cat /shared/proxy && sleep 3 && echo job done"]
    volumeMounts: [{{name: shared, mountPath: /shared}}]
  volumes:
  - {{name: shared, emptyDir: {{}}}}
"#,
        hooks = hooks.display()
    ));

    // A sidecar starts (its startup probe passes) before the app
    // container, runs beside it, and stops once the job is done.
    c.until("the job's app container to run", Duration::from_secs(60), || {
        let pod = c.json(&["get", "pod", "job"]);
        container(&pod, "containerStatuses", "work")["state"]["running"].is_object()
    });
    let pod = c.json(&["get", "pod", "job"]);
    let proxy = container(&pod, "initContainerStatuses", "proxy");
    assert!(proxy["state"]["running"].is_object() && proxy["started"] == true && proxy["ready"] == true, "{proxy}");
    assert_eq!((pod["status"]["phase"].as_str(), condition(&pod, "Initialized").as_str()), (Some("Running"), "True"));

    // A failing liveness probe restarts the container.
    c.until("liveness to be restarted", Duration::from_secs(40), || {
        c.json(&["get", "pod", "liveness"])["status"]["containerStatuses"][0]["restartCount"].as_u64().unwrap_or(0) >= 1
    });
    let unhealthy = events(&c, "liveness", "Unhealthy");
    assert!(unhealthy.iter().any(|m| m.starts_with("Liveness probe failed: cat: can't open '/tmp/healthy'")), "{unhealthy:?}");
    assert!(events(&c, "liveness", "Killing").contains(&"Container app failed liveness probe, will be restarted".to_string()));

    // Readiness: httpGet to a named port answers 404 until the file is
    // there; the tcpSocket liveness probe passes meanwhile.
    c.until("web's readiness probe to fail", Duration::from_secs(20), || events(&c, "web", "Unhealthy").contains(&"Readiness probe failed: HTTP probe failed with statuscode: 404".to_string()));
    let web = c.json(&["get", "pod", "web"]);
    assert_eq!(web["status"]["phase"], "Running", "{web}");
    assert_eq!((condition(&web, "Ready").as_str(), condition(&web, "ContainersReady").as_str()), ("False", "False"), "{web}");
    assert_eq!(web["status"]["containerStatuses"][0]["ready"], false);
    c.ok(&["exec", "web", "--", "/bin/sh", "-c", "echo ok > /www/ready"]);
    c.until("web to be Ready", Duration::from_secs(20), || condition(&c.json(&["get", "pod", "web"]), "Ready") == "True");
    assert_eq!(c.json(&["get", "pod", "web"])["status"]["containerStatuses"][0]["restartCount"], 0, "the tcpSocket liveness probe passes");

    // A startup probe holds back readiness (and the readiness probe).
    c.until("slow to run", Duration::from_secs(20), || c.json(&["get", "pod", "slow"])["status"]["containerStatuses"][0]["state"]["running"].is_object());
    let slow = c.json(&["get", "pod", "slow"]);
    let status = &slow["status"]["containerStatuses"][0];
    assert!(status["state"]["running"].is_object() && status["started"] == false && status["ready"] == false, "{status}");
    assert!(events(&c, "slow", "Unhealthy").iter().all(|m| m.starts_with("Startup probe failed")), "readiness waits for startup");
    c.ok(&["exec", "slow", "--", "/bin/sh", "-c", ": > /tmp/started"]);
    c.until("slow to start", Duration::from_secs(20), || c.json(&["get", "pod", "slow"])["status"]["containerStatuses"][0]["started"] == true);
    c.until("the tcpSocket readiness probe to fail", Duration::from_secs(20), || {
        events(&c, "slow", "Unhealthy").iter().any(|m| m.starts_with("Readiness probe failed: dial tcp ") && m.ends_with(":9000: connect: connection refused"))
    });
    assert_eq!(condition(&c.json(&["get", "pod", "slow"]), "Ready"), "False");
    c.ok(&["exec", "slow", "--", "/bin/httpd", "-p", "9000", "-h", "/tmp"]);
    c.until("slow to be Ready", Duration::from_secs(20), || condition(&c.json(&["get", "pod", "slow"]), "Ready") == "True");

    // Termination messages: a file at a path of the pod's choosing, the
    // log's end on failure, the default path.
    c.until("messages to end", Duration::from_secs(30), || c.json(&["get", "pod", "messages"])["status"]["phase"] == "Failed");
    let pod = c.json(&["get", "pod", "messages"]);
    let terminated = |name: &str| container(&pod, "containerStatuses", name)["state"]["terminated"].clone();
    assert_eq!((terminated("file")["exitCode"].as_i64(), terminated("file")["message"].as_str()), (Some(3), Some("all done\n")));
    assert_eq!(terminated("fallback")["message"], "first\nfrom the log\n");
    assert_eq!(terminated("default")["message"], "bye\n");

    // The job completes; its sidecar is stopped, not restarted.
    c.until("the job to succeed", Duration::from_secs(30), || c.json(&["get", "pod", "job"])["status"]["phase"] == "Succeeded");
    let pod = c.json(&["get", "pod", "job"]);
    let proxy = container(&pod, "initContainerStatuses", "proxy");
    assert!(proxy["state"]["terminated"].is_object() && proxy["restartCount"] == 0, "{proxy}");
    assert_eq!(container(&pod, "containerStatuses", "work")["state"]["terminated"]["exitCode"], 0);
    assert!(events(&c, "job", "Killing").contains(&"Stopping container proxy".to_string()));

    // A failed postStart hook kills the container, which restarts.
    c.until("badhook to be restarted", Duration::from_secs(30), || c.json(&["get", "pod", "badhook"])["status"]["containerStatuses"][0]["restartCount"].as_u64().unwrap_or(0) >= 1);
    assert!(events(&c, "badhook", "FailedPostStartHook").contains(&"PostStartHook failed".to_string()));
    assert!(events(&c, "badhook", "Killing").contains(&"FailedPostStartHook".to_string()));

    // postStart ran after the start; preStop runs on deletion, before
    // SIGTERM.
    assert_eq!(std::fs::read_to_string(hooks.join("log")).unwrap_or_default(), "postStart\n");
    c.ok(&["delete", "pod", "hooks", "--wait=true", "--timeout=30s"]);
    assert_eq!(std::fs::read_to_string(hooks.join("log")).unwrap_or_default(), "postStart\npreStop\nTERM\n");
}
