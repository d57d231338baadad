//! The HPA status a sync leaves, built whole as Kubernetes' `setStatus`
//! does (so fields it does not set, such as `observedGeneration`, go), and
//! the merge patch that writes it.

use super::conditions::{Condition, apply};
use k8s_openapi::api::autoscaling::v2::{HorizontalPodAutoscalerStatus, MetricStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use serde_json::{Value, json};

/// What a sync learnt of the replicas.
#[derive(Debug, Clone, PartialEq)]
pub struct Replicas {
    pub current: i32,
    /// `None` keeps the stored desired count (no recommendation was made).
    pub desired: Option<i32>,
    pub metrics: Vec<MetricStatus>,
    pub rescaled: bool,
}

/// The next status: `replicas` None changes only the conditions.
pub fn next(stored: Option<&HorizontalPodAutoscalerStatus>, sets: &[Condition], replicas: Option<&Replicas>, now: &Time) -> HorizontalPodAutoscalerStatus {
    let stored = stored.cloned().unwrap_or_default();
    let conditions = apply(stored.conditions.as_deref().unwrap_or_default(), sets, now);
    let conditions = (!conditions.is_empty()).then_some(conditions);
    let Some(r) = replicas else {
        return HorizontalPodAutoscalerStatus { conditions, ..stored };
    };
    HorizontalPodAutoscalerStatus {
        // Go's omitempty drops a zero count.
        current_replicas: (r.current != 0).then_some(r.current),
        desired_replicas: r.desired.unwrap_or(stored.desired_replicas),
        last_scale_time: if r.rescaled { Some(now.clone()) } else { stored.last_scale_time },
        current_metrics: (!r.metrics.is_empty()).then(|| r.metrics.clone()),
        conditions,
        observed_generation: None,
    }
}

/// A merge patch that makes the status exactly `status`: fields it lacks
/// are removed.
pub fn patch(status: &HorizontalPodAutoscalerStatus) -> Value {
    let mut body = serde_json::to_value(status).unwrap_or_else(|_| json!({}));
    if let Some(fields) = body.as_object_mut() {
        for key in ["currentReplicas", "lastScaleTime", "currentMetrics", "conditions", "observedGeneration"] {
            fields.entry(key).or_insert(Value::Null);
        }
    }
    json!({ "status": body })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hpa_status_is_rebuilt_and_keeps_desired_when_nothing_was_decided() {
        let now = Time("2026-03-01T10:05:00Z".parse().expect("time"));
        let stored = HorizontalPodAutoscalerStatus { desired_replicas: 3, observed_generation: Some(2), ..Default::default() };
        let r = Replicas { current: 2, desired: None, metrics: vec![MetricStatus::default()], rescaled: false };
        let s = next(Some(&stored), &[], Some(&r), &now);
        assert_eq!((s.current_replicas, s.desired_replicas, s.observed_generation), (Some(2), 3, None));
        let p = patch(&s);
        assert_eq!(p["status"]["currentMetrics"], json!([{"type": ""}]), "a metric that failed is an empty entry, as in Kubernetes");
        assert_eq!(p["status"]["lastScaleTime"], Value::Null);
        let r = Replicas { current: 0, desired: Some(0), metrics: Vec::new(), rescaled: true };
        let s = next(Some(&stored), &[], Some(&r), &now);
        assert_eq!((s.current_replicas, s.last_scale_time.as_ref(), s.current_metrics), (None, Some(&now), None));
    }
}
