//! One sync of a HorizontalPodAutoscaler decided as a pure function of the
//! HPA, its target's scale and what the metrics API and the pod list gave,
//! in the order of Kubernetes' `reconcileAutoscaler`: bounds first, then
//! every metric's proposal (the largest wins; failures are reported with
//! Kubernetes' reasons and texts), then stabilization and rate limits. The
//! caller does the IO: it fetches, writes the scale and the status and
//! records the Events.

use super::behavior::{History, Step};
use super::conditions::{Condition, set};
use super::metrics::{PodMetrics, resource_metric};
use super::replicas::{Calculator, Sample};
use crate::events::WARNING;
use apimachinery::selector::label::LabelSelector;
use apimachinery::validation::Quantity;
use jiff::Timestamp;
use k8s_openapi::api::autoscaling::v2::{
    ContainerResourceMetricStatus, HorizontalPodAutoscaler, HorizontalPodAutoscalerSpec, MetricSpec, MetricStatus, MetricTarget, MetricValueStatus,
    ResourceMetricStatus,
};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity as ApiQuantity;
use std::time::Duration;
use tokio::time::Instant;

/// What the metrics API and the pod list gave, as raw errors.
#[derive(Debug, Clone)]
pub struct Observed {
    pub metrics: Result<Vec<PodMetrics>, String>,
    pub pods: Result<Vec<Pod>, String>,
}

/// The target's scale subresource, as far as resource metrics need it
/// (the status replicas matter only to per-pod object and external
/// metrics).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scale {
    pub spec_replicas: i32,
    pub selector: Option<String>,
}

/// kube-controller-manager's autoscaler flags besides the sync period.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    pub calculator: Calculator,
    /// `--horizontal-pod-autoscaler-downscale-stabilization`.
    pub downscale_stabilization: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Settings { calculator: Calculator::default(), downscale_stabilization: Duration::from_secs(300) }
    }
}

/// How the sync ends.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The scale could not be read: only the conditions change.
    NoScale,
    /// No metric gave a count: the replicas and metrics are reported, the
    /// desired count stays.
    NoRecommendation { current: i32, metrics: Vec<MetricStatus> },
    /// `desired` is decided; `rescale` holds the reason when the target
    /// must change to it.
    Decided { current: i32, desired: i32, rescale: Option<String>, metrics: Vec<MetricStatus> },
}

/// An Event: (type, reason, message).
pub type Note = (&'static str, &'static str, String);

#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub outcome: Outcome,
    pub conditions: Vec<Condition>,
    pub events: Vec<Note>,
}

fn spec(hpa: &HorizontalPodAutoscaler) -> HorizontalPodAutoscalerSpec {
    hpa.spec.clone().unwrap_or_default()
}

/// Where the replica count comes from when the scale is in hand.
enum Bounds {
    Disabled,
    Above(i32),
    Below(i32),
    Metrics,
}

fn bounds(spec: &HorizontalPodAutoscalerSpec, current: i32) -> Bounds {
    let min = spec.min_replicas.unwrap_or(1);
    if current == 0 && min != 0 {
        Bounds::Disabled
    } else if current > spec.max_replicas {
        Bounds::Above(spec.max_replicas)
    } else if current < min {
        Bounds::Below(min)
    } else {
        Bounds::Metrics
    }
}

fn is_resource(m: &MetricSpec) -> bool {
    matches!(m.type_.as_str(), "Resource" | "ContainerResource")
}

/// Whether this sync will read the metrics API and the pods, so the caller
/// fetches them only then.
pub fn wants_metrics(hpa: &HorizontalPodAutoscaler, scale: &Scale) -> bool {
    let spec = spec(hpa);
    matches!(bounds(&spec, scale.spec_replicas), Bounds::Metrics)
        && scale.selector.as_deref().is_some_and(|s| !s.is_empty() && LabelSelector::parse(s).is_ok())
        && spec.metrics.iter().flatten().any(is_resource)
}

/// Decides one sync. `scale` is the scale or why it could not be read;
/// `observed` is what the caller fetched when [`wants_metrics`] said so.
pub fn decide(
    hpa: &HorizontalPodAutoscaler,
    scale: Result<&Scale, &str>,
    observed: Option<&Observed>,
    settings: &Settings,
    history: &mut History,
    now: Instant,
    wall: Timestamp,
) -> Decision {
    let mut d = Decision { outcome: Outcome::NoScale, conditions: Vec::new(), events: Vec::new() };
    let scale = match scale {
        Ok(s) => s,
        Err(e) => {
            d.events.push((WARNING, "FailedGetScale", e.to_string()));
            set(&mut d.conditions, "AbleToScale", "False", "FailedGetScale", format!("the HPA controller was unable to get the target's current scale: {e}"));
            return d;
        }
    };
    set(&mut d.conditions, "AbleToScale", "True", "SucceededGetScale", "the HPA controller was able to get the target's current scale");
    let current = scale.spec_replicas;
    history.record_initial(current, now);
    let spec = spec(hpa);
    let min = spec.min_replicas.unwrap_or(1);
    let decided = |desired, reason: &str| Outcome::Decided { current, desired, rescale: Some(reason.to_string()), metrics: Vec::new() };
    match bounds(&spec, current) {
        Bounds::Disabled => {
            set(&mut d.conditions, "ScalingActive", "False", "ScalingDisabled", "scaling is disabled since the replica count of the target is zero");
            d.outcome = Outcome::Decided { current, desired: current, rescale: None, metrics: Vec::new() };
        }
        Bounds::Above(max) => d.outcome = decided(max, "Current number of replicas above Spec.MaxReplicas"),
        Bounds::Below(min) => d.outcome = decided(min, "Current number of replicas below Spec.MinReplicas"),
        Bounds::Metrics => {
            let Some((proposal, metric, statuses)) = for_metrics(&spec, scale, observed, settings, wall, &mut d) else {
                return d;
            };
            let reason = if proposal > current {
                format!("{metric} above target")
            } else {
                "All metrics below target".to_string()
            };
            let step = Step { current, proposed: proposal, min, max: spec.max_replicas };
            let window = settings.downscale_stabilization;
            let desired = match &spec.behavior {
                None => history.normalize(step, window, now, &mut d.conditions),
                Some(b) => history.normalize_with_behavior(b, step, window, now, &mut d.conditions),
            };
            d.outcome = if desired == current {
                Outcome::Decided { current, desired, rescale: None, metrics: statuses }
            } else {
                Outcome::Decided { current, desired, rescale: Some(reason), metrics: statuses }
            };
        }
    }
    d
}

/// Kubernetes' `computeReplicasForMetrics`: the largest proposal and its
/// metric's name, unless every metric failed or some failed while the rest
/// would scale down; then the first failure is reported and `None`
/// returned (the outcome set to [`Outcome::NoRecommendation`]).
fn for_metrics(
    spec: &HorizontalPodAutoscalerSpec,
    scale: &Scale,
    observed: Option<&Observed>,
    settings: &Settings,
    wall: Timestamp,
    d: &mut Decision,
) -> Option<(i32, String, Vec<MetricStatus>)> {
    let current = scale.spec_replicas;
    let no_recommendation = |metrics| Outcome::NoRecommendation { current, metrics };
    let selector = scale.selector.clone().unwrap_or_default();
    if selector.is_empty() {
        d.events.push((WARNING, "SelectorRequired", "selector is required".into()));
        set(&mut d.conditions, "ScalingActive", "False", "InvalidSelector", "the HPA target's scale is missing a selector");
        d.events.push((WARNING, "FailedComputeMetricsReplicas", "selector is required".into()));
        d.outcome = no_recommendation(Vec::new());
        return None;
    }
    if let Err(e) = LabelSelector::parse(&selector) {
        let message = format!("couldn't convert selector into a corresponding internal selector object: {e}");
        d.events.push((WARNING, "InvalidSelector", message.clone()));
        set(&mut d.conditions, "ScalingActive", "False", "InvalidSelector", message.clone());
        d.events.push((WARNING, "FailedComputeMetricsReplicas", message));
        d.outcome = no_recommendation(Vec::new());
        return None;
    }
    let specs = spec.metrics.clone().unwrap_or_default();
    if specs.is_empty() {
        // The API server defaults a CPU metric, so this is only reached
        // against servers that do not; nothing to scale on is no change.
        return Some((current, String::new(), Vec::new()));
    }
    let mut statuses = Vec::with_capacity(specs.len());
    let (mut replicas, mut name) = (0, String::new());
    let (mut failed, mut first_failure) = (0, None);
    for m in &specs {
        match for_metric(m, current, observed, settings, wall) {
            Ok((proposal, metric, status)) => {
                statuses.push(status);
                if replicas == 0 || proposal > replicas {
                    (replicas, name) = (proposal, metric);
                }
            }
            Err(f) => {
                statuses.push(MetricStatus::default());
                d.events.push((WARNING, f.reason, f.inner.clone()));
                let condition = Condition {
                    type_: "ScalingActive",
                    status: "False",
                    reason: f.reason,
                    message: format!("the HPA was unable to compute the replica count: {}", f.inner),
                };
                failed += 1;
                first_failure.get_or_insert((condition, f.wrapped));
            }
        }
    }
    if let Some((condition, first)) = first_failure
        && (failed >= specs.len() || replicas < current)
    {
        d.conditions.push(condition);
        d.events.push((
            WARNING,
            "FailedComputeMetricsReplicas",
            format!("invalid metrics ({failed} invalid out of {}), first error is: {first}", specs.len()),
        ));
        d.outcome = no_recommendation(statuses);
        return None;
    }
    set(&mut d.conditions, "ScalingActive", "True", "ValidMetricFound", format!("the HPA was able to successfully calculate a replica count from {name}"));
    Some((replicas, name, statuses))
}

/// Why one metric gave no proposal: the condition's reason, the error
/// the condition and its Event carry, and that error as the metric's
/// caller wraps it.
#[derive(Debug, Clone)]
struct Failure {
    reason: &'static str,
    inner: String,
    wrapped: String,
}

fn milli_quantity(milli: i64) -> ApiQuantity {
    ApiQuantity(Quantity::from_milli(milli).canonical())
}

/// Kubernetes' `computeReplicasForMetric` for one metric spec.
fn for_metric(m: &MetricSpec, current: i32, observed: Option<&Observed>, settings: &Settings, wall: Timestamp) -> Result<(i32, String, MetricStatus), Failure> {
    match m.type_.as_str() {
        "Resource" => {
            let source = m.resource.clone().unwrap_or_default();
            let (replicas, name, value) = for_resource(&source.name, None, &source.target, current, observed, settings, wall).map_err(|inner| Failure {
                reason: "FailedGetResourceMetric",
                wrapped: format!("failed to get {} resource metric value: {inner}", source.name),
                inner,
            })?;
            let status = MetricStatus {
                type_: "Resource".into(),
                resource: Some(ResourceMetricStatus { name: source.name, current: value }),
                ..Default::default()
            };
            Ok((replicas, name, status))
        }
        "ContainerResource" => {
            let source = m.container_resource.clone().unwrap_or_default();
            let (replicas, name, value) =
                for_resource(&source.name, Some(&source.container), &source.target, current, observed, settings, wall).map_err(|inner| Failure {
                    reason: "FailedGetContainerResourceMetric",
                    wrapped: format!("failed to get {} container metric value: {inner}", source.container),
                    inner,
                })?;
            let status = MetricStatus {
                type_: "ContainerResource".into(),
                container_resource: Some(ContainerResourceMetricStatus { name: source.name, container: source.container, current: value }),
                ..Default::default()
            };
            Ok((replicas, name, status))
        }
        "Pods" => Err(no_custom_metrics("FailedGetPodsMetric", "pods")),
        "Object" => Err(no_custom_metrics("FailedGetObjectMetric", "object")),
        "External" => {
            let inner = "unable to get external metric: no external metrics API (external.metrics.k8s.io) registered".to_string();
            Err(Failure { reason: "FailedGetExternalMetric", wrapped: format!("failed to get external metric value: {inner}"), inner })
        }
        other => {
            let inner = format!("unknown metric source type {other:?}");
            Err(Failure { reason: "InvalidMetricSourceType", wrapped: inner.clone(), inner })
        }
    }
}

/// Custom metrics are not served (no `custom.metrics.k8s.io` adapter).
fn no_custom_metrics(reason: &'static str, kind: &str) -> Failure {
    let inner = "unable to get metric: no custom metrics API (custom.metrics.k8s.io) registered".to_string();
    Failure { reason, wrapped: format!("failed to get {kind} metric value: {inner}"), inner }
}

/// Kubernetes' `computeStatusForResourceMetricGeneric`: an average value
/// target if set, else a utilization target.
fn for_resource(
    resource: &str,
    container: Option<&str>,
    target: &MetricTarget,
    current: i32,
    observed: Option<&Observed>,
    settings: &Settings,
    wall: Timestamp,
) -> Result<(i32, String, MetricValueStatus), String> {
    let fetched = || -> Result<_, String> {
        let o = observed.ok_or_else(|| "the metrics were not fetched".to_string())?;
        let (metrics, _) = o
            .metrics
            .as_ref()
            .map_err(|e| format!("unable to fetch metrics from resource metrics API: {e}"))
            .and_then(|list| resource_metric(list, resource, container))
            .map_err(|e| format!("unable to get metrics for resource {resource}: {e}"))?;
        let pods = o.pods.as_ref().map_err(|e| format!("unable to get pods while calculating replica count: {e}"))?;
        Ok((metrics, pods))
    };
    let calc = &settings.calculator;
    if let Some(average) = &target.average_value {
        let average = average.0.parse::<Quantity>().map(|q| q.milli_value()).unwrap_or(0);
        let (metrics, pods) = fetched().map_err(|e| format!("failed to get {resource} usage: {e}"))?;
        let sample = Sample { resource, container, pods, now: wall };
        let (replicas, usage) = calc.raw_resource_replicas(current, average, &sample, metrics).map_err(|e| format!("failed to get {resource} usage: {e}"))?;
        let value = MetricValueStatus { average_value: Some(milli_quantity(usage)), ..Default::default() };
        return Ok((replicas, format!("{resource} resource"), value));
    }
    let Some(utilization) = target.average_utilization else {
        return Err("invalid resource metric source: neither an average utilization target nor an average value (usage) target was set".into());
    };
    let (metrics, pods) = fetched().map_err(|e| format!("failed to get {resource} utilization: {e}"))?;
    let sample = Sample { resource, container, pods, now: wall };
    let u = calc.resource_replicas(current, utilization, &sample, metrics).map_err(|e| format!("failed to get {resource} utilization: {e}"))?;
    let name = match container {
        Some(_) => format!("{resource} container resource utilization (percentage of request)"),
        None => format!("{resource} resource utilization (percentage of request)"),
    };
    let value = MetricValueStatus { average_utilization: Some(u.utilization), average_value: Some(milli_quantity(u.average)), ..Default::default() };
    Ok((u.replicas, name, value))
}

#[cfg(test)]
mod tests;
