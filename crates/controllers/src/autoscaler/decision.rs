//! What the horizontal pod autoscaler decides from the target's scale and
//! what it could learn of the metrics, with the conditions and event texts
//! of Kubernetes' controller.

use k8s_openapi::api::autoscaling::v2::{HorizontalPodAutoscaler, HorizontalPodAutoscalerSpec};

/// Why metrics could not be had, for each kind of metric source.
pub const NO_RESOURCE_METRICS_API: &str =
    "unable to fetch metrics from resource metrics API: the server could not find the requested resource (get pods.metrics.k8s.io)";

/// A condition as `(type, status, reason, message)`.
pub type Condition = (&'static str, &'static str, &'static str, String);

/// The autoscaler's verdict for one pass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub current: i32,
    pub desired: i32,
    /// `Some(reason)` when the target is to be resized.
    pub rescale: Option<String>,
    pub conditions: Vec<Condition>,
    /// Warning events: `(reason, message)`.
    pub warnings: Vec<(&'static str, String)>,
}

fn spec(hpa: &HorizontalPodAutoscaler) -> HorizontalPodAutoscalerSpec {
    hpa.spec.clone().unwrap_or_default()
}

/// Why one metric of the spec could not be computed (there is no metrics
/// API yet), as `computeReplicasForMetric` words it: the condition's
/// reason, the inner error, and the error wrapped per source type.
fn metric_failure(metric: &k8s_openapi::api::autoscaling::v2::MetricSpec) -> (&'static str, String, String) {
    match metric.type_.as_str() {
        "Resource" => {
            let name = metric.resource.as_ref().map(|r| r.name.clone()).unwrap_or_default();
            let inner = format!("failed to get {name} utilization: unable to get metrics for resource {name}: {NO_RESOURCE_METRICS_API}");
            ("FailedGetResourceMetric", inner.clone(), format!("failed to get {name} resource metric value: {inner}"))
        }
        "ContainerResource" => {
            let (name, container) = metric
                .container_resource
                .as_ref()
                .map(|r| (r.name.clone(), r.container.clone()))
                .unwrap_or_default();
            let inner = format!(
                "failed to get {name} utilization: unable to get metrics for resource {name}: {NO_RESOURCE_METRICS_API}"
            );
            (
                "FailedGetContainerResourceMetric",
                inner.clone(),
                format!("failed to get {name} container metric value for container {container}: {inner}"),
            )
        }
        "Pods" => {
            let inner = "unable to get metric: no custom metrics API (custom.metrics.k8s.io) registered".to_string();
            ("FailedGetPodsMetric", inner.clone(), format!("failed to get pods metric value: {inner}"))
        }
        "Object" => {
            let inner = "unable to get metric: no custom metrics API (custom.metrics.k8s.io) registered".to_string();
            ("FailedGetObjectMetric", inner.clone(), format!("failed to get object metric value: {inner}"))
        }
        _ => {
            let inner = "unable to get external metric: no external metrics API (external.metrics.k8s.io) registered".to_string();
            ("FailedGetExternalMetric", inner.clone(), format!("failed to get external metric value: {inner}"))
        }
    }
}

/// Decides, given the target's spec and current replicas; `None` when its
/// scale could not be read (`scale_error`).
pub fn decide(hpa: &HorizontalPodAutoscaler, scale: Result<(i32, i32), String>) -> Decision {
    let (spec_replicas, current) = match scale {
        Ok(s) => s,
        Err(e) => {
            return Decision {
                current: hpa.status.as_ref().and_then(|s| s.current_replicas).unwrap_or(0),
                desired: hpa.status.as_ref().map(|s| s.desired_replicas).unwrap_or(0),
                rescale: None,
                conditions: vec![(
                    "AbleToScale",
                    "False",
                    "FailedGetScale",
                    format!("the HPA controller was unable to get the target's current scale: {e}"),
                )],
                warnings: vec![("FailedGetScale", e)],
            };
        }
    };
    let able = ("AbleToScale", "True", "SucceededGetScale", "the HPA controller was able to get the target's current scale".to_string());
    let spec = spec(hpa);
    let (min, max) = (spec.min_replicas.unwrap_or(1), spec.max_replicas);
    if spec_replicas == 0 && min != 0 {
        return Decision {
            current,
            desired: 0,
            rescale: None,
            conditions: vec![
                able,
                ("ScalingActive", "False", "ScalingDisabled", "scaling is disabled since the replica count of the target is zero".into()),
            ],
            warnings: Vec::new(),
        };
    }
    if current > max {
        return Decision {
            current,
            desired: max,
            rescale: Some("Current number of replicas above Spec.MaxReplicas".into()),
            conditions: vec![able],
            warnings: Vec::new(),
        };
    }
    if current < min {
        return Decision {
            current,
            desired: min,
            rescale: Some("Current number of replicas below Spec.MinReplicas".into()),
            conditions: vec![able],
            warnings: Vec::new(),
        };
    }
    // Within bounds: the metrics decide, and there is no metrics API yet.
    let metrics = spec.metrics.clone().unwrap_or_default();
    let Some(first) = metrics.first() else {
        return Decision { current, desired: current, rescale: None, conditions: vec![able], warnings: Vec::new() };
    };
    let (reason, inner, wrapped) = metric_failure(first);
    Decision {
        current,
        desired: current,
        rescale: None,
        conditions: vec![
            able,
            ("ScalingActive", "False", reason, format!("the HPA was unable to compute the replica count: {inner}")),
        ],
        warnings: vec![
            (reason, inner),
            (
                "FailedComputeMetricsReplicas",
                format!("invalid metrics ({} invalid out of {}), first error is: {wrapped}", metrics.len(), metrics.len()),
            ),
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn hpa(min: i32, max: i32) -> HorizontalPodAutoscaler {
        serde_json::from_value(json!({
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {
                "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
                "minReplicas": min, "maxReplicas": max,
                "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}}}]
            }
        }))
        .expect("hpa")
    }

    #[test]
    fn hpa_scales_up_to_min_replicas_without_metrics() {
        let d = decide(&hpa(3, 5), Ok((1, 1)));
        assert_eq!((d.desired, d.rescale.as_deref()), (3, Some("Current number of replicas below Spec.MinReplicas")));
        assert_eq!(d.conditions[0].2, "SucceededGetScale");
    }

    #[test]
    fn hpa_scales_down_to_max_replicas() {
        let d = decide(&hpa(1, 5), Ok((9, 9)));
        assert_eq!((d.desired, d.rescale.as_deref()), (5, Some("Current number of replicas above Spec.MaxReplicas")));
    }

    #[test]
    fn hpa_reports_missing_metrics_as_kubernetes() {
        let d = decide(&hpa(1, 5), Ok((2, 2)));
        assert_eq!(d.rescale, None);
        assert_eq!(d.desired, 2);
        let active = &d.conditions[1];
        assert_eq!((active.0, active.1, active.2), ("ScalingActive", "False", "FailedGetResourceMetric"));
        assert_eq!(
            active.3,
            "the HPA was unable to compute the replica count: failed to get cpu utilization: unable to get metrics for resource cpu: unable to fetch metrics from resource metrics API: the server could not find the requested resource (get pods.metrics.k8s.io)"
        );
        assert_eq!(d.warnings[1].0, "FailedComputeMetricsReplicas");
        assert!(d.warnings[1].1.starts_with("invalid metrics (1 invalid out of 1), first error is: failed to get cpu resource metric value: failed to get cpu utilization:"));
    }

    #[test]
    fn hpa_is_disabled_at_zero_replicas() {
        let d = decide(&hpa(1, 5), Ok((0, 0)));
        assert_eq!(d.conditions[1].2, "ScalingDisabled");
        assert_eq!(d.rescale, None);
    }

    #[test]
    fn hpa_reports_a_missing_target() {
        let d = decide(&hpa(1, 5), Err("deployments.apps \"web\" not found".into()));
        assert_eq!((d.conditions[0].1, d.conditions[0].2), ("False", "FailedGetScale"));
    }
}
