//! Syncs decided on recorded objects: an HPA as `kubectl autoscale` and the
//! API server's defaulting leave it, pods as the node agent reports them,
//! and PodMetrics lists as the API server serves them.

use super::*;
use crate::autoscaler::metrics::PodMetricsList;
use serde_json::{Value, json};

const NOW: &str = "2026-03-01T10:10:00Z";

fn wall() -> Timestamp {
    NOW.parse().expect("time")
}

fn hpa(min: i32, max: i32, metrics: Value) -> HorizontalPodAutoscaler {
    serde_json::from_value(json!({
        "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "web", "namespace": "default", "uid": "6b1d", "generation": 1},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
            "minReplicas": min, "maxReplicas": max, "metrics": metrics
        }
    }))
    .expect("an hpa")
}

fn cpu_utilization(percent: i32) -> Value {
    json!([{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": percent}}}])
}

fn scale(replicas: i32) -> Scale {
    Scale { spec_replicas: replicas, selector: Some("app=web".into()) }
}

/// A running, ready pod of the Deployment, requesting 100m CPU and 64Mi.
fn pod(name: &str) -> Pod {
    serde_json::from_value(json!({
        "metadata": {"name": name, "namespace": "default", "labels": {"app": "web", "pod-template-hash": "5d8f7"}},
        "spec": {"nodeName": "box", "containers": [{"name": "burn", "image": "127.0.0.1:5000/tools/busybox:v1",
            "command": ["sh", "-c", "while true; do :; done"],
            "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}, "limits": {"cpu": "200m"}}}]},
        "status": {"phase": "Running", "startTime": "2026-03-01T10:00:00Z", "conditions": [
            {"type": "PodScheduled", "status": "True", "lastTransitionTime": "2026-03-01T09:59:59Z"},
            {"type": "Ready", "status": "True", "lastTransitionTime": "2026-03-01T10:00:02Z"}]}
    }))
    .expect("a pod")
}

/// The API server's PodMetrics for (pod, cpu, memory).
fn pod_metrics(usage: &[(&str, &str, &str)]) -> Vec<PodMetrics> {
    let items: Vec<Value> = usage
        .iter()
        .map(|(name, cpu, memory)| {
            json!({"kind": "PodMetrics", "apiVersion": "metrics.k8s.io/v1beta1",
                "metadata": {"name": name, "namespace": "default", "labels": {"app": "web"}, "creationTimestamp": NOW},
                "timestamp": "2026-03-01T10:09:55Z", "window": "10s",
                "containers": [{"name": "burn", "usage": {"cpu": cpu, "memory": memory}}]})
        })
        .collect();
    let list: PodMetricsList = serde_json::from_value(json!({"kind": "PodMetricsList", "apiVersion": "metrics.k8s.io/v1beta1", "metadata": {}, "items": items}))
        .expect("a list");
    list.items
}

fn observed(metrics: Vec<PodMetrics>, pods: Vec<Pod>) -> Observed {
    Observed { metrics: Ok(metrics), pods: Ok(pods) }
}

fn sync(hpa: &HorizontalPodAutoscaler, scale: &Scale, observed: Option<&Observed>, history: &mut History, now: Instant) -> Decision {
    decide(hpa, Ok(scale), observed, &Settings::default(), history, now, wall())
}

fn condition<'a>(d: &'a Decision, type_: &str) -> Option<&'a Condition> {
    d.conditions.iter().rev().find(|c| c.type_ == type_)
}

fn reason(d: &Decision, type_: &str) -> Option<(&'static str, &'static str)> {
    condition(d, type_).map(|c| (c.status, c.reason))
}

#[test]
fn hpa_scales_up_to_min_replicas_without_metrics() {
    let h = hpa(3, 5, cpu_utilization(50));
    assert!(!wants_metrics(&h, &scale(1)));
    let d = sync(&h, &scale(1), None, &mut History::default(), Instant::now());
    assert_eq!(
        d.outcome,
        Outcome::Decided { current: 1, desired: 3, rescale: Some("Current number of replicas below Spec.MinReplicas".into()), metrics: Vec::new() }
    );
    assert_eq!(reason(&d, "AbleToScale"), Some(("True", "SucceededGetScale")));
}

#[test]
fn hpa_scales_down_to_max_replicas() {
    let d = sync(&hpa(1, 5, cpu_utilization(50)), &scale(9), None, &mut History::default(), Instant::now());
    assert!(matches!(d.outcome, Outcome::Decided { desired: 5, rescale: Some(ref r), .. } if r == "Current number of replicas above Spec.MaxReplicas"));
}

#[test]
fn hpa_is_disabled_at_zero_replicas() {
    let d = sync(&hpa(1, 5, cpu_utilization(50)), &scale(0), None, &mut History::default(), Instant::now());
    assert_eq!(reason(&d, "ScalingActive"), Some(("False", "ScalingDisabled")));
    assert!(matches!(d.outcome, Outcome::Decided { desired: 0, rescale: None, .. }));
}

#[test]
fn hpa_reports_a_missing_target() {
    let h = hpa(1, 5, cpu_utilization(50));
    let d = decide(&h, Err("deployments.apps \"web\" not found"), None, &Settings::default(), &mut History::default(), Instant::now(), wall());
    assert_eq!(d.outcome, Outcome::NoScale);
    assert_eq!(reason(&d, "AbleToScale"), Some(("False", "FailedGetScale")));
    assert_eq!(d.events, [(WARNING, "FailedGetScale", "deployments.apps \"web\" not found".to_string())]);
}

#[test]
fn hpa_reports_an_empty_metrics_api_as_kubernetes() {
    // Simulated nodes: the API is served, but measures nothing.
    let h = hpa(1, 5, cpu_utilization(50));
    assert!(wants_metrics(&h, &scale(2)));
    let d = sync(&h, &scale(2), Some(&observed(Vec::new(), vec![pod("web-1"), pod("web-2")])), &mut History::default(), Instant::now());
    let inner = "failed to get cpu utilization: unable to get metrics for resource cpu: no metrics returned from resource metrics API";
    assert_eq!(d.outcome, Outcome::NoRecommendation { current: 2, metrics: vec![MetricStatus::default()] });
    let active = condition(&d, "ScalingActive").expect("ScalingActive");
    assert_eq!((active.status, active.reason), ("False", "FailedGetResourceMetric"));
    assert_eq!(active.message, format!("the HPA was unable to compute the replica count: {inner}"));
    assert_eq!(
        d.events,
        [
            (WARNING, "FailedGetResourceMetric", inner.to_string()),
            (
                WARNING,
                "FailedComputeMetricsReplicas",
                format!("invalid metrics (1 invalid out of 1), first error is: failed to get cpu resource metric value: {inner}")
            ),
        ]
    );
}

#[test]
fn hpa_reports_a_metrics_api_that_is_not_served() {
    let h = hpa(1, 5, cpu_utilization(50));
    let o = Observed { metrics: Err("the server could not find the requested resource (get pods.metrics.k8s.io)".into()), pods: Ok(vec![pod("web-1")]) };
    let d = sync(&h, &scale(1), Some(&o), &mut History::default(), Instant::now());
    assert_eq!(
        condition(&d, "ScalingActive").map(|c| c.message.as_str()),
        Some(
            "the HPA was unable to compute the replica count: failed to get cpu utilization: unable to get metrics for resource cpu: unable to fetch metrics from resource metrics API: the server could not find the requested resource (get pods.metrics.k8s.io)"
        )
    );
}

#[test]
fn hpa_scales_up_on_cpu_utilization_to_max() {
    // One pod burning its 200m limit: 200% of its 100m request, 4 times
    // the 50% target; at most max(2 × 1, 4) = 4 now, and maxReplicas 3.
    let h = hpa(1, 3, cpu_utilization(50));
    let o = observed(pod_metrics(&[("web-1", "199876543n", "812Ki")]), vec![pod("web-1")]);
    let mut history = History::default();
    let d = sync(&h, &scale(1), Some(&o), &mut history, Instant::now());
    let cpu = MetricStatus {
        type_: "Resource".into(),
        resource: Some(ResourceMetricStatus {
            name: "cpu".into(),
            current: MetricValueStatus { average_utilization: Some(200), average_value: Some(ApiQuantity("200m".into())), value: None },
        }),
        ..Default::default()
    };
    assert_eq!(
        d.outcome,
        Outcome::Decided { current: 1, desired: 3, rescale: Some("cpu resource utilization (percentage of request) above target".into()), metrics: vec![cpu] }
    );
    let expected = [
        ("AbleToScale", "True", "SucceededGetScale", "the HPA controller was able to get the target's current scale"),
        ("ScalingActive", "True", "ValidMetricFound", "the HPA was able to successfully calculate a replica count from cpu resource utilization (percentage of request)"),
        ("AbleToScale", "True", "ReadyForNewScale", "recommended size matches current size"),
        ("ScalingLimited", "True", "TooManyReplicas", "the desired replica count is more than the maximum replica count"),
    ];
    let got: Vec<_> = d.conditions.iter().map(|c| (c.type_, c.status, c.reason, c.message.as_str())).collect();
    assert_eq!(got, expected);
    assert!(d.events.is_empty());
}

#[test]
fn hpa_stays_within_tolerance_and_reports_the_metric() {
    let h = hpa(1, 5, cpu_utilization(50));
    let o = observed(pod_metrics(&[("web-1", "52m", "1Mi"), ("web-2", "53m", "1Mi")]), vec![pod("web-1"), pod("web-2")]);
    let d = sync(&h, &scale(2), Some(&o), &mut History::default(), Instant::now());
    assert!(matches!(&d.outcome, Outcome::Decided { desired: 2, rescale: None, metrics, .. }
        if metrics[0].resource.as_ref().and_then(|r| r.current.average_utilization) == Some(52)));
    assert_eq!(reason(&d, "ScalingLimited"), Some(("False", "DesiredWithinRange")));
}

#[test]
fn hpa_reports_pods_without_requests() {
    let h = hpa(1, 5, cpu_utilization(50));
    let mut bare = pod("web-2");
    if let Some(c) = bare.spec.as_mut().and_then(|s| s.containers.first_mut()) {
        c.resources = None;
    }
    let o = observed(pod_metrics(&[("web-1", "50m", "1Mi"), ("web-2", "50m", "1Mi")]), vec![pod("web-1"), bare]);
    let d = sync(&h, &scale(2), Some(&o), &mut History::default(), Instant::now());
    assert_eq!(
        condition(&d, "ScalingActive").map(|c| (c.reason, c.message.as_str())),
        Some((
            "FailedGetResourceMetric",
            "the HPA was unable to compute the replica count: failed to get cpu utilization: missing request for cpu in container burn of Pod web-2"
        ))
    );
}

#[test]
fn hpa_takes_the_largest_proposal_of_several_metrics() {
    // cpu at 60% of 50% asks for 3 of 2; memory at 4Mi average of 1Mi asks for 8.
    let metrics = json!([
        {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}}},
        {"type": "Resource", "resource": {"name": "memory", "target": {"type": "AverageValue", "averageValue": "1Mi"}}}
    ]);
    let h = hpa(1, 10, metrics);
    let o = observed(pod_metrics(&[("web-1", "60m", "4Mi"), ("web-2", "60m", "4Mi")]), vec![pod("web-1"), pod("web-2")]);
    let d = sync(&h, &scale(2), Some(&o), &mut History::default(), Instant::now());
    let Outcome::Decided { desired, rescale, metrics, .. } = &d.outcome else { panic!("decided: {:?}", d.outcome) };
    assert_eq!((*desired, rescale.as_deref()), (4, Some("memory resource above target")), "8 limited to max(2 × 2, 4)");
    assert_eq!(metrics[1].resource.as_ref().and_then(|r| r.current.average_value.clone()), Some(ApiQuantity("4194304".into())));
    assert_eq!(reason(&d, "ScalingLimited"), Some(("True", "ScaleUpLimit")));
}

#[test]
fn hpa_scales_on_a_container_resource() {
    let metrics = json!([{"type": "ContainerResource", "containerResource": {"name": "cpu", "container": "burn",
        "target": {"type": "Utilization", "averageUtilization": 50}}}]);
    let h = hpa(1, 10, metrics);
    let o = observed(pod_metrics(&[("web-1", "100m", "1Mi")]), vec![pod("web-1")]);
    let d = sync(&h, &scale(1), Some(&o), &mut History::default(), Instant::now());
    let Outcome::Decided { desired, rescale, metrics, .. } = &d.outcome else { panic!("decided: {:?}", d.outcome) };
    assert_eq!((*desired, rescale.as_deref()), (2, Some("cpu container resource utilization (percentage of request) above target")));
    assert_eq!(metrics[0].container_resource.as_ref().map(|c| c.container.as_str()), Some("burn"));

    let other = json!([{"type": "ContainerResource", "containerResource": {"name": "cpu", "container": "sidecar",
        "target": {"type": "Utilization", "averageUtilization": 50}}}]);
    let d = sync(&hpa(1, 10, other), &scale(1), Some(&o), &mut History::default(), Instant::now());
    assert_eq!(
        d.events.last().map(|e| e.2.as_str()),
        Some(
            "invalid metrics (1 invalid out of 1), first error is: failed to get sidecar container metric value: failed to get cpu utilization: unable to get metrics for resource cpu: failed to get container metrics: container sidecar not present in metrics for pod default/web-1"
        )
    );
    assert_eq!(reason(&d, "ScalingActive"), Some(("False", "FailedGetContainerResourceMetric")));
}

#[test]
fn hpa_scales_up_despite_a_failed_metric_but_not_down() {
    let metrics = json!([
        {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}}},
        {"type": "Pods", "pods": {"metric": {"name": "qps"}, "target": {"type": "AverageValue", "averageValue": "10"}}}
    ]);
    let h = hpa(1, 10, metrics);
    let busy = observed(pod_metrics(&[("web-1", "100m", "1Mi")]), vec![pod("web-1")]);
    let d = sync(&h, &scale(1), Some(&busy), &mut History::default(), Instant::now());
    assert!(matches!(d.outcome, Outcome::Decided { desired: 2, .. }), "{:?}", d.outcome);
    assert_eq!(reason(&d, "ScalingActive"), Some(("True", "ValidMetricFound")));
    assert_eq!(d.events.iter().map(|e| e.1).collect::<Vec<_>>(), ["FailedGetPodsMetric"]);

    let idle = observed(pod_metrics(&[("web-1", "1m", "1Mi"), ("web-2", "1m", "1Mi")]), vec![pod("web-1"), pod("web-2")]);
    let d = sync(&h, &scale(2), Some(&idle), &mut History::default(), Instant::now());
    assert!(matches!(d.outcome, Outcome::NoRecommendation { current: 2, .. }), "{:?}", d.outcome);
    assert_eq!(reason(&d, "ScalingActive"), Some(("False", "FailedGetPodsMetric")));
    assert!(d.events.iter().any(|e| e.1 == "FailedComputeMetricsReplicas" && e.2.starts_with("invalid metrics (1 invalid out of 2)")));
}

#[test]
fn hpa_scale_down_waits_for_the_stabilization_window() {
    let h = hpa(1, 5, cpu_utilization(50));
    let idle = observed(pod_metrics(&[("web-1", "1m", "1Mi"), ("web-2", "1m", "1Mi"), ("web-3", "1m", "1Mi")]), vec![pod("web-1"), pod("web-2"), pod("web-3")]);
    let t0 = Instant::now();
    let mut history = History::default();
    let d = sync(&h, &scale(3), Some(&idle), &mut history, t0);
    assert!(matches!(d.outcome, Outcome::Decided { desired: 3, rescale: None, .. }));
    assert_eq!(reason(&d, "AbleToScale"), Some(("True", "ScaleDownStabilized")));
    let d = sync(&h, &scale(3), Some(&idle), &mut history, t0 + Duration::from_secs(301));
    assert!(matches!(&d.outcome, Outcome::Decided { current: 3, desired: 1, rescale: Some(r), .. } if r == "All metrics below target"), "{:?}", d.outcome);
    assert_eq!(reason(&d, "ScalingLimited"), Some(("False", "DesiredWithinRange")));
}

#[test]
fn hpa_requires_a_selector() {
    let h = hpa(1, 5, cpu_utilization(50));
    let s = Scale { spec_replicas: 2, selector: None };
    assert!(!wants_metrics(&h, &s));
    let d = sync(&h, &s, None, &mut History::default(), Instant::now());
    assert_eq!(d.outcome, Outcome::NoRecommendation { current: 2, metrics: Vec::new() });
    assert_eq!(condition(&d, "ScalingActive").map(|c| (c.reason, c.message.as_str())), Some(("InvalidSelector", "the HPA target's scale is missing a selector")));
    assert_eq!(d.events.iter().map(|e| e.1).collect::<Vec<_>>(), ["SelectorRequired", "FailedComputeMetricsReplicas"]);
}
