//! The horizontal pod autoscaler on the real node agent: a Deployment
//! burning CPU is scaled out on the PodMetrics the API server serves from
//! the agent's cgroup samples, as on a real cluster with metrics-server.
//! Needs root, runc, nft, docker-registry, skopeo and busybox-static, as
//! the other node tests.

#[path = "../../image/tests/support/mod.rs"]
mod registry;
#[path = "support/node_cluster.rs"]
mod node_cluster;

use node_cluster::Cluster;
use std::time::Duration;

fn burner(image: &str) -> String {
    format!(
        r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: burn
spec:
  replicas: 1
  selector:
    matchLabels: {{app: burn}}
  template:
    metadata:
      labels: {{app: burn}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: burn
        image: {image}
        command: ["sh", "-c", "while true; do :; done"]
        resources:
          requests: {{cpu: 100m}}
          limits: {{cpu: 200m}}
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: burn
spec:
  scaleTargetRef: {{apiVersion: apps/v1, kind: Deployment, name: burn}}
  minReplicas: 1
  maxReplicas: 3
  metrics:
  - type: Resource
    resource:
      name: cpu
      target: {{type: Utilization, averageUtilization: 50}}
"#
    )
}

#[test]
fn node_autoscaling_scales_out_a_cpu_burner_needs_root() {
    // A short sync period keeps the test quick; the calculation is the
    // 15 s one's.
    let c = Cluster::start_with(&["--horizontal-pod-autoscaler-sync-period=2s"]);
    c.apply(&burner(&format!("{}/tools/busybox:v1", c.registry)));

    // The one pod burns its 200m limit, 200% of its request: 4 times the
    // target, so the HPA goes to its maximum, 3, in one step.
    c.until("the burner scaled to 3", Duration::from_secs(90), || c.json(&["get", "deployment", "burn"])["spec"]["replicas"] == 3);

    let events = c.json(&["get", "events", "--field-selector", "involvedObject.kind=HorizontalPodAutoscaler,involvedObject.name=burn,reason=SuccessfulRescale"]);
    let messages: Vec<&str> = events["items"].as_array().into_iter().flatten().filter_map(|e| e["message"].as_str()).collect();
    assert_eq!(messages, ["New size: 3; reason: cpu resource utilization (percentage of request) above target"], "{events}");
    assert_eq!(events["items"][0]["source"]["component"], "horizontal-pod-autoscaler");

    let hpa = c.json(&["get", "hpa", "burn"]);
    let status = &hpa["status"];
    assert_eq!(status["desiredReplicas"], 3, "{hpa}");
    assert!(status["lastScaleTime"].is_string(), "{hpa}");
    let current = &status["currentMetrics"][0];
    assert_eq!((current["type"].as_str(), current["resource"]["name"].as_str()), (Some("Resource"), Some("cpu")), "{hpa}");
    let utilization = current["resource"]["current"]["averageUtilization"].as_i64().unwrap_or_default();
    assert!(utilization > 110, "the burner uses well over its request: {hpa}");
    assert!(current["resource"]["current"]["averageValue"].as_str().is_some_and(|v| v.ends_with('m')), "{hpa}");
    let conditions = status["conditions"].as_array().cloned().unwrap_or_default();
    let condition = |t: &str| conditions.iter().find(|c| c["type"] == t).cloned().unwrap_or_default();
    assert_eq!(condition("AbleToScale")["status"], "True", "{hpa}");
    assert_eq!(condition("ScalingActive")["reason"], "ValidMetricFound", "{hpa}");
    assert_eq!(
        condition("ScalingActive")["message"],
        "the HPA was able to successfully calculate a replica count from cpu resource utilization (percentage of request)"
    );
    assert_eq!((condition("ScalingLimited")["status"].as_str(), condition("ScalingLimited")["reason"].as_str()), (Some("True"), Some("TooManyReplicas")), "{hpa}");

    // kubectl's TARGETS column shows the measured percentage.
    let table = c.ok(&["get", "hpa", "burn"]);
    let targets = table.lines().nth(1).and_then(|row| row.split_whitespace().find(|w| w.ends_with("%/50%"))).unwrap_or_default();
    let percent: i64 = targets.trim_end_matches("%/50%").parse().unwrap_or_default();
    assert!(percent > 0, "{table}");
    let top = c.ok(&["top", "pod", "-l", "app=burn"]);
    assert!(top.lines().count() >= 2, "{top}");
}
