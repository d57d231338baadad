//! The resource metrics API as the autoscaler reads it: a PodMetrics list
//! of `metrics.k8s.io/v1beta1` turned into one usage per pod, in
//! thousandths of the resource's unit (millicores, millibytes), summed
//! over the pod's containers or taken from one container, with the
//! sample's time and window (Kubernetes' `resourceMetricsClient`).

use apimachinery::validation::Quantity;
use jiff::Timestamp;
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

/// One pod's usage of one resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PodMetric {
    /// Thousandths of the unit (Kubernetes' `MilliValue`, rounded up).
    pub value: i64,
    pub timestamp: Timestamp,
    pub window: Duration,
}

/// Usage by pod name.
pub type PodMetricsInfo = BTreeMap<String, PodMetric>;

/// A `PodMetricsList` as the API serves it.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct PodMetricsList {
    #[serde(default)]
    pub items: Vec<PodMetrics>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct PodMetrics {
    #[serde(default)]
    pub metadata: Meta,
    #[serde(default)]
    pub timestamp: Option<String>,
    #[serde(default)]
    pub window: Option<String>,
    #[serde(default)]
    pub containers: Vec<ContainerMetrics>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Meta {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub namespace: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct ContainerMetrics {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub usage: HashMap<String, String>,
}

impl PodMetrics {
    fn sample(&self, value: i64) -> PodMetric {
        PodMetric {
            value,
            // A sample without a readable time counts as taken at the epoch:
            // for CPU that makes it too old to trust, as a missing one would be.
            timestamp: self.timestamp.as_deref().and_then(|t| t.parse().ok()).unwrap_or(Timestamp::UNIX_EPOCH),
            window: self.window.as_deref().and_then(parse_window).unwrap_or_default(),
        }
    }
}

fn usage(c: &ContainerMetrics, resource: &str) -> Option<i64> {
    c.usage.get(resource).and_then(|q| q.parse::<Quantity>().ok()).map(|q| q.milli_value())
}

/// Each pod's usage of `resource`, for the whole pod (`container` None:
/// pods with a container lacking the resource are left out) or for one
/// container (a pod without that container is an error), and the time of
/// the first sample. Errors are Kubernetes' texts.
pub fn resource_metric(list: &[PodMetrics], resource: &str, container: Option<&str>) -> Result<(PodMetricsInfo, Timestamp), String> {
    let Some(first) = list.first() else {
        return Err("no metrics returned from resource metrics API".into());
    };
    let mut out = PodMetricsInfo::new();
    for m in list {
        match container {
            Some(wanted) => {
                let Some(c) = m.containers.iter().find(|c| c.name == wanted) else {
                    return Err(format!(
                        "failed to get container metrics: container {wanted} not present in metrics for pod {}/{}",
                        m.metadata.namespace, m.metadata.name
                    ));
                };
                if let Some(v) = usage(c, resource) {
                    out.insert(m.metadata.name.clone(), m.sample(v));
                }
            }
            None => {
                let sum = (!m.containers.is_empty())
                    .then(|| m.containers.iter().map(|c| usage(c, resource)).sum::<Option<i64>>())
                    .flatten();
                if let Some(v) = sum {
                    out.insert(m.metadata.name.clone(), m.sample(v));
                }
            }
        }
    }
    Ok((out, first.sample(0).timestamp))
}

/// A metav1.Duration as metrics-server writes it (`10s`, `15.001s`,
/// `1m0s`, `500ms`).
fn parse_window(text: &str) -> Option<Duration> {
    let mut rest = text;
    let mut seconds = 0f64;
    while !rest.is_empty() {
        let end = rest.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
        let number: f64 = rest[..end].parse().ok()?;
        rest = &rest[end..];
        let unit_end = rest.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(rest.len());
        let scale = match &rest[..unit_end] {
            "h" => 3600.0,
            "m" => 60.0,
            "s" => 1.0,
            "ms" => 1e-3,
            "us" | "µs" => 1e-6,
            "ns" => 1e-9,
            _ => return None,
        };
        seconds += number * scale;
        rest = &rest[unit_end..];
    }
    Duration::try_from_secs_f64(seconds).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the API server answered for two burning pods and one sidecar
    /// pod, recorded from `kubectl get --raw`.
    fn recorded() -> Vec<PodMetrics> {
        let list: PodMetricsList = serde_json::from_str(
            r#"{"kind":"PodMetricsList","apiVersion":"metrics.k8s.io/v1beta1","metadata":{},"items":[
              {"metadata":{"name":"web-1","namespace":"default","labels":{"app":"web"}},"timestamp":"2026-03-01T10:00:10Z","window":"10s",
               "containers":[{"name":"burn","usage":{"cpu":"201234567n","memory":"456Ki"}}]},
              {"metadata":{"name":"web-2","namespace":"default","labels":{"app":"web"}},"timestamp":"2026-03-01T10:00:10Z","window":"10s",
               "containers":[{"name":"burn","usage":{"cpu":"99000000n","memory":"1Mi"}},{"name":"log","usage":{"cpu":"1000000n","memory":"12Ki"}}]}
            ]}"#,
        )
        .expect("a PodMetricsList");
        list.items
    }

    #[test]
    fn hpa_metrics_sum_containers_in_millis_rounded_up() {
        let (cpu, at) = resource_metric(&recorded(), "cpu", None).expect("metrics");
        assert_eq!(cpu["web-1"].value, 202);
        assert_eq!(cpu["web-2"].value, 100);
        assert_eq!(cpu["web-1"].window, Duration::from_secs(10));
        assert_eq!(at, "2026-03-01T10:00:10Z".parse::<Timestamp>().expect("time"));
        let (memory, _) = resource_metric(&recorded(), "memory", None).expect("metrics");
        assert_eq!(memory["web-1"].value, 456 * 1024 * 1000);
        assert_eq!(memory["web-2"].value, (1024 + 12) * 1024 * 1000);
    }

    #[test]
    fn hpa_metrics_of_one_container() {
        let (cpu, _) = resource_metric(&recorded(), "cpu", Some("burn")).expect("metrics");
        assert_eq!((cpu["web-1"].value, cpu["web-2"].value), (202, 99));
        assert_eq!(
            resource_metric(&recorded(), "cpu", Some("log")).map(|_| ()),
            Err("failed to get container metrics: container log not present in metrics for pod default/web-1".into())
        );
    }

    #[test]
    fn hpa_metrics_empty_list_is_kubernetes_error() {
        assert_eq!(resource_metric(&[], "cpu", None).map(|_| ()), Err("no metrics returned from resource metrics API".into()));
    }

    #[test]
    fn hpa_metrics_pod_missing_a_resource_is_left_out() {
        let mut list = recorded();
        list[1].containers[1].usage.remove("cpu");
        let (cpu, _) = resource_metric(&list, "cpu", None).expect("metrics");
        assert!(cpu.contains_key("web-1") && !cpu.contains_key("web-2"));
    }

    #[test]
    fn hpa_metrics_windows_parse_as_go_durations() {
        assert_eq!(parse_window("15.5s"), Some(Duration::from_millis(15500)));
        assert_eq!(parse_window("1m0s"), Some(Duration::from_secs(60)));
        assert_eq!(parse_window("soon"), None);
    }
}
