//! The replica count one resource metric asks for, as Kubernetes'
//! `ReplicaCalculator` works it out: pods are sorted into ready, unready,
//! missing (no metrics) and ignored (deleted or failed); the usage ratio
//! of the ready ones decides, unless it is within the tolerance; when some
//! pods had no say, they are assumed to use nothing on a scale-up and
//! their whole request (or the target) on a scale-down, and the change is
//! dropped if that turns its direction around.

use super::metrics::{PodMetric, PodMetricsInfo};
use jiff::Timestamp;
use k8s_openapi::api::core::v1::Pod;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// kube-controller-manager's flags for the calculation.
#[derive(Debug, Clone, Copy)]
pub struct Calculator {
    /// `--horizontal-pod-autoscaler-tolerance`: ratios within 1 ± this are
    /// no reason to scale.
    pub tolerance: f64,
    /// `--horizontal-pod-autoscaler-cpu-initialization-period`: how long
    /// after its start a pod's CPU is trusted only once it has been Ready
    /// for a whole sample window.
    pub cpu_initialization_period: Duration,
    /// `--horizontal-pod-autoscaler-initial-readiness-delay`: after that
    /// period, a pod that turned unready this soon after starting is taken
    /// as never having been ready.
    pub initial_readiness_delay: Duration,
}

impl Default for Calculator {
    fn default() -> Self {
        Calculator {
            tolerance: 0.1,
            cpu_initialization_period: Duration::from_secs(300),
            initial_readiness_delay: Duration::from_secs(30),
        }
    }
}

/// What one metric is computed over: the resource (of one container, or
/// the whole pod), the selected pods, and the time.
#[derive(Debug, Clone, Copy)]
pub struct Sample<'a> {
    pub resource: &'a str,
    pub container: Option<&'a str>,
    pub pods: &'a [Pod],
    pub now: Timestamp,
}

/// A utilization target's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Utilization {
    pub replicas: i32,
    /// Percent of the requests in use, over the pods that counted.
    pub utilization: i32,
    /// The average usage per counted pod, in thousandths.
    pub average: i64,
}

#[derive(Debug, Default)]
struct Groups {
    ready: usize,
    unready: BTreeSet<String>,
    missing: BTreeSet<String>,
    ignored: BTreeSet<String>,
}

fn ready_condition(pod: &Pod) -> Option<(&str, Option<Timestamp>)> {
    let conditions = pod.status.as_ref()?.conditions.as_ref()?;
    let c = conditions.iter().find(|c| c.type_ == "Ready")?;
    Some((c.status.as_str(), c.last_transition_time.as_ref().map(|t| t.0)))
}

fn after(t: Timestamp, by: Duration, other: Timestamp) -> bool {
    t.checked_add(by).is_ok_and(|end| end > other)
}

impl Calculator {
    fn group(&self, pods: &[Pod], metrics: &PodMetricsInfo, resource: &str, now: Timestamp) -> Groups {
        let mut g = Groups::default();
        for pod in pods {
            let name = pod.metadata.name.clone().unwrap_or_default();
            let phase = pod.status.as_ref().and_then(|s| s.phase.as_deref()).unwrap_or_default();
            if pod.metadata.deletion_timestamp.is_some() || phase == "Failed" {
                g.ignored.insert(name);
                continue;
            }
            if phase == "Pending" {
                g.unready.insert(name);
                continue;
            }
            let Some(metric) = metrics.get(&name) else {
                g.missing.insert(name);
                continue;
            };
            // Only CPU spikes while a pod starts, so only CPU samples of
            // starting or never-ready pods are set aside.
            if resource == "cpu" && self.cpu_unready(pod, metric, now) {
                g.unready.insert(name);
                continue;
            }
            g.ready += 1;
        }
        g
    }

    fn cpu_unready(&self, pod: &Pod, metric: &PodMetric, now: Timestamp) -> bool {
        let start = pod.status.as_ref().and_then(|s| s.start_time.as_ref()).map(|t| t.0);
        let (Some((status, transition)), Some(start)) = (ready_condition(pod), start) else {
            return true;
        };
        let transition = transition.unwrap_or(Timestamp::UNIX_EPOCH);
        if after(start, self.cpu_initialization_period, now) {
            // A sample that began before the pod was last ready may
            // include its start-up.
            status == "False" || transition.checked_add(metric.window).is_ok_and(|settled| metric.timestamp < settled)
        } else {
            status == "False" && after(start, self.initial_readiness_delay, transition)
        }
    }

    fn within_tolerance(&self, ratio: f64) -> bool {
        (1.0 - ratio).abs() <= self.tolerance
    }

    /// The replicas a utilization target (percent of requests) asks for.
    pub fn resource_replicas(&self, current: i32, target: i32, sample: &Sample, mut metrics: PodMetricsInfo) -> Result<Utilization, String> {
        let Sample { resource, container, pods, now } = *sample;
        if pods.is_empty() {
            return Err("no pods returned by selector while calculating replica count".into());
        }
        let groups = self.group(pods, &metrics, resource, now);
        metrics.retain(|name, _| !groups.ignored.contains(name) && !groups.unready.contains(name));
        if metrics.is_empty() {
            return Err("did not receive metrics for targeted pods (pods might be unready)".into());
        }
        let requests = requests(pods, container, resource)?;
        let (ratio, utilization, average) = utilization_ratio(&metrics, &requests, target)?;
        let answer = |replicas| Utilization { replicas, utilization, average };

        let scale_up_with_unready = !groups.unready.is_empty() && ratio > 1.0;
        if !scale_up_with_unready && groups.missing.is_empty() {
            if self.within_tolerance(ratio) {
                return Ok(answer(current));
            }
            return Ok(answer(ceil(ratio * groups.ready as f64)));
        }
        if ratio < 1.0 {
            // Targets above 100% would otherwise read a silent pod as idle.
            let fallback = i64::from(target.max(100));
            for name in &groups.missing {
                let request = requests.get(name).copied().unwrap_or(0);
                metrics.insert(name.clone(), silent(request.saturating_mul(fallback) / 100));
            }
        } else if ratio > 1.0 {
            for name in &groups.missing {
                metrics.insert(name.clone(), silent(0));
            }
        }
        if scale_up_with_unready {
            for name in &groups.unready {
                metrics.insert(name.clone(), silent(0));
            }
        }
        let (new_ratio, _, _) = utilization_ratio(&metrics, &requests, target)?;
        Ok(answer(self.settle(current, ratio, new_ratio, metrics.len())))
    }

    /// The replicas an average usage target (thousandths per pod) asks for.
    pub fn raw_resource_replicas(&self, current: i32, target: i64, sample: &Sample, mut metrics: PodMetricsInfo) -> Result<(i32, i64), String> {
        let Sample { resource, pods, now, .. } = *sample;
        if pods.is_empty() {
            return Err("no pods returned by selector while calculating replica count".into());
        }
        let groups = self.group(pods, &metrics, resource, now);
        metrics.retain(|name, _| !groups.ignored.contains(name) && !groups.unready.contains(name));
        if metrics.is_empty() {
            return Err("did not receive metrics for targeted pods (pods might be unready)".into());
        }
        let (ratio, usage) = usage_ratio(&metrics, target);
        let scale_up_with_unready = !groups.unready.is_empty() && ratio > 1.0;
        if !scale_up_with_unready && groups.missing.is_empty() {
            if self.within_tolerance(ratio) {
                return Ok((current, usage));
            }
            return Ok((ceil(ratio * groups.ready as f64), usage));
        }
        let assumed = if ratio < 1.0 { Some(target) } else { (ratio > 1.0).then_some(0) };
        if let Some(value) = assumed {
            for name in &groups.missing {
                metrics.insert(name.clone(), silent(value));
            }
        }
        if scale_up_with_unready {
            for name in &groups.unready {
                metrics.insert(name.clone(), silent(0));
            }
        }
        let (new_ratio, _) = usage_ratio(&metrics, target);
        Ok((self.settle(current, ratio, new_ratio, metrics.len()), usage))
    }

    /// The count once silent pods were filled in: no change if that puts
    /// the ratio within tolerance or turns the direction around.
    fn settle(&self, current: i32, ratio: f64, new_ratio: f64, counted: usize) -> i32 {
        if self.within_tolerance(new_ratio) || (ratio < 1.0 && new_ratio > 1.0) || (ratio > 1.0 && new_ratio < 1.0) {
            return current;
        }
        let replicas = ceil(new_ratio * counted as f64);
        if (new_ratio < 1.0 && replicas > current) || (new_ratio > 1.0 && replicas < current) {
            return current;
        }
        replicas
    }
}

/// A usage filled in for a pod that had no say.
fn silent(value: i64) -> PodMetric {
    PodMetric { value, timestamp: Timestamp::UNIX_EPOCH, window: Duration::ZERO }
}

/// Rounds up; float-to-int `as` saturates, so an absurd ratio cannot wrap.
fn ceil(x: f64) -> i32 {
    x.ceil() as i32
}

/// Each pod's request of `resource` in thousandths: its containers and
/// sidecars (restartable init containers) summed, or the one container.
fn requests(pods: &[Pod], container: Option<&str>, resource: &str) -> Result<BTreeMap<String, i64>, String> {
    let mut out = BTreeMap::new();
    for pod in pods {
        let name = pod.metadata.name.clone().unwrap_or_default();
        let spec = pod.spec.as_ref();
        let sidecars = spec
            .and_then(|s| s.init_containers.as_ref())
            .into_iter()
            .flatten()
            .filter(|c| c.restart_policy.as_deref() == Some("Always"));
        let mut sum = 0i64;
        for c in spec.map(|s| s.containers.iter()).into_iter().flatten().chain(sidecars) {
            if container.is_some_and(|wanted| wanted != c.name) {
                continue;
            }
            let request = c.resources.as_ref().and_then(|r| r.requests.as_ref()).and_then(|r| r.get(resource));
            let Some(q) = request.and_then(|q| q.0.parse::<apimachinery::validation::Quantity>().ok()) else {
                return Err(format!("missing request for {resource} in container {} of Pod {name}", c.name));
            };
            sum = sum.saturating_add(q.milli_value());
        }
        out.insert(name, sum);
    }
    Ok(out)
}

/// (usage / target as a ratio, percent of requests, average usage), over
/// the pods with both a metric and a request.
fn utilization_ratio(metrics: &PodMetricsInfo, requests: &BTreeMap<String, i64>, target: i32) -> Result<(f64, i32, i64), String> {
    let (mut used, mut requested, mut counted) = (0i64, 0i64, 0i64);
    for (name, m) in metrics {
        let Some(r) = requests.get(name) else { continue };
        used = used.saturating_add(m.value);
        requested = requested.saturating_add(*r);
        counted += 1;
    }
    if requested == 0 {
        return Err("no metrics returned matched known pods".into());
    }
    let utilization = i32::try_from(used.saturating_mul(100) / requested).unwrap_or(i32::MAX);
    Ok((f64::from(utilization) / f64::from(target), utilization, used / counted))
}

/// (average / target as a ratio, average) over all pods with a metric.
fn usage_ratio(metrics: &PodMetricsInfo, target: i64) -> (f64, i64) {
    let total: i64 = metrics.values().fold(0i64, |sum, m| sum.saturating_add(m.value));
    let average = total / (metrics.len().max(1) as i64);
    (average as f64 / target as f64, average)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::autoscaler::metrics::{PodMetricsList, resource_metric};
    use serde_json::json;

    const NOW: &str = "2026-03-01T10:10:00Z";

    fn now() -> Timestamp {
        NOW.parse().expect("time")
    }

    /// A pod as the node agent reports it: started at `start`, Ready
    /// since `ready` (or unready).
    fn pod(name: &str, phase: &str, cpu: Option<&str>, start: &str, ready: Option<(&str, &str)>) -> Pod {
        let mut resources = json!({});
        if let Some(cpu) = cpu {
            resources = json!({"requests": {"cpu": cpu, "memory": "64Mi"}});
        }
        let conditions: Vec<_> = ready.map(|(status, since)| json!({"type": "Ready", "status": status, "lastTransitionTime": since})).into_iter().collect();
        serde_json::from_value(json!({
            "metadata": {"name": name, "namespace": "default", "labels": {"app": "web"}},
            "spec": {"containers": [{"name": "burn", "image": "busybox", "resources": resources}]},
            "status": {"phase": phase, "startTime": start, "conditions": conditions}
        }))
        .expect("a pod")
    }

    fn running(name: &str) -> Pod {
        pod(name, "Running", Some("100m"), "2026-03-01T10:00:00Z", Some(("True", "2026-03-01T10:00:02Z")))
    }

    /// PodMetrics as served, sampled at 10:09:55 over 10 s.
    fn metrics(cpu: &[(&str, &str)]) -> PodMetricsInfo {
        let items: Vec<_> = cpu
            .iter()
            .map(|(name, usage)| json!({"metadata": {"name": name, "namespace": "default"}, "timestamp": "2026-03-01T10:09:55Z", "window": "10s",
                "containers": [{"name": "burn", "usage": {"cpu": usage, "memory": "1024Ki"}}]}))
            .collect();
        let list: PodMetricsList = serde_json::from_value(json!({"items": items})).expect("a list");
        resource_metric(&list.items, "cpu", None).expect("metrics").0
    }

    fn calc() -> Calculator {
        Calculator::default()
    }

    fn sample<'a>(resource: &'a str, container: Option<&'a str>, pods: &'a [Pod]) -> Sample<'a> {
        Sample { resource, container, pods, now: now() }
    }

    #[test]
    fn hpa_replicas_scale_up_in_proportion() {
        let pods = [running("a")];
        let u = calc().resource_replicas(1, 50, &sample("cpu", None, &pods), metrics(&[("a", "200000000n")])).expect("computes");
        assert_eq!(u, Utilization { replicas: 4, utilization: 200, average: 200 });
    }

    #[test]
    fn hpa_replicas_within_tolerance_stay() {
        let pods = [running("a"), running("b")];
        let u = calc().resource_replicas(2, 50, &sample("cpu", None, &pods), metrics(&[("a", "54m"), ("b", "54m")])).expect("computes");
        assert_eq!((u.replicas, u.utilization), (2, 54));
        let u = calc().resource_replicas(2, 50, &sample("cpu", None, &pods), metrics(&[("a", "56m"), ("b", "56m")])).expect("computes");
        assert_eq!((u.replicas, u.utilization), (3, 56));
    }

    #[test]
    fn hpa_replicas_missing_pods_count_as_idle_on_scale_up() {
        // a at 150%, b has no metrics yet: assumed 0, so 75% over 2 pods.
        let pods = [running("a"), running("b")];
        let u = calc().resource_replicas(2, 50, &sample("cpu", None, &pods), metrics(&[("a", "150m")])).expect("computes");
        assert_eq!((u.replicas, u.utilization), (3, 150));
    }

    #[test]
    fn hpa_replicas_missing_pods_count_as_full_on_scale_down() {
        // a at 10%, b silent: taken as 100%, so 55% of 50%: within tolerance.
        let pods = [running("a"), running("b")];
        let u = calc().resource_replicas(2, 50, &sample("cpu", None, &pods), metrics(&[("a", "10m")])).expect("computes");
        assert_eq!(u.replicas, 2);
        // Three pods, one busy at 10%: (10 + 100 + 100) / 3 = 70% of 80% target.
        let pods = [running("a"), running("b"), running("c")];
        let u = calc().resource_replicas(3, 80, &sample("cpu", None, &pods), metrics(&[("a", "10m")])).expect("computes");
        assert_eq!(u.replicas, 3, "(10 + 100 + 100) / 3 = 70%, 0.875 of the target over 3 pods rounds up to 3");
    }

    #[test]
    fn hpa_replicas_unready_pods_are_idle_on_scale_up_only() {
        let starting = pod("new", "Pending", Some("100m"), "2026-03-01T10:09:50Z", None);
        let pods = [running("a"), starting];
        let u = calc().resource_replicas(2, 50, &sample("cpu", None, &pods), metrics(&[("a", "200m")])).expect("computes");
        assert_eq!((u.replicas, u.utilization), (4, 200), "400% / 2 pods read as 100% each, so 2 * 2");
        let u = calc().resource_replicas(2, 50, &sample("cpu", None, &pods), metrics(&[("a", "10m")])).expect("computes");
        assert_eq!(u.replicas, 1, "an unready pod plays no part in a scale-down");
    }

    #[test]
    fn hpa_replicas_ignore_cpu_of_pods_just_ready() {
        // Started a minute ago, Ready 2 s before the sample ended: its
        // window covers start-up, so its CPU is set aside.
        let fresh = pod("fresh", "Running", Some("100m"), "2026-03-01T10:09:00Z", Some(("True", "2026-03-01T10:09:53Z")));
        let pods = [running("a"), fresh];
        let m = metrics(&[("a", "60m"), ("fresh", "900m")]);
        let u = calc().resource_replicas(2, 50, &sample("cpu", None, &pods), m.clone()).expect("computes");
        assert_eq!((u.replicas, u.utilization), (2, 60), "fresh read as idle turns the scale-up into a scale-down: no change");
        // Once its sample starts after it became ready, it counts.
        let later = "2026-03-01T10:10:05Z".parse().expect("time");
        let m: PodMetricsInfo = m.into_iter().map(|(k, v)| (k, PodMetric { timestamp: later, ..v })).collect();
        let u = calc().resource_replicas(2, 50, &Sample { now: later, ..sample("cpu", None, &pods) }, m.clone()).expect("computes");
        assert_eq!((u.replicas, u.utilization), (20, 480), "960m of 200m requested: 9.6 times the target over 2 pods");
        // Memory samples are never set aside.
        assert_eq!(calc().group(&pods, &m, "memory", now()).ready, 2);
    }

    #[test]
    fn hpa_replicas_deleted_and_failed_pods_are_ignored() {
        let mut gone = running("gone");
        gone.metadata.deletion_timestamp = Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(now()));
        let failed = pod("failed", "Failed", Some("100m"), "2026-03-01T10:00:00Z", None);
        let pods = [running("a"), gone, failed];
        let u = calc().resource_replicas(3, 50, &sample("cpu", None, &pods), metrics(&[("a", "50m"), ("gone", "900m")])).expect("computes");
        assert_eq!((u.replicas, u.utilization), (3, 50));
    }

    #[test]
    fn hpa_replicas_need_requests() {
        let bare = pod("bare", "Running", None, "2026-03-01T10:00:00Z", Some(("True", "2026-03-01T10:00:02Z")));
        let pods = [running("a"), bare];
        let e = calc().resource_replicas(2, 50, &sample("cpu", None, &pods), metrics(&[("a", "50m"), ("bare", "50m")]));
        assert_eq!(e, Err("missing request for cpu in container burn of Pod bare".into()));
    }

    #[test]
    fn hpa_replicas_without_pods_or_metrics() {
        let e = calc().resource_replicas(1, 50, &sample("cpu", None, &[]), PodMetricsInfo::new());
        assert_eq!(e, Err("no pods returned by selector while calculating replica count".into()));
        let never_ready = pod("a", "Running", Some("100m"), "2026-03-01T10:09:00Z", Some(("False", "2026-03-01T10:09:01Z")));
        let e = calc().resource_replicas(1, 50, &sample("cpu", None, &[never_ready]), metrics(&[("a", "50m")]));
        assert_eq!(e, Err("did not receive metrics for targeted pods (pods might be unready)".into()));
    }

    #[test]
    fn hpa_replicas_of_average_value() {
        let pods = [running("a"), running("b")];
        let r = calc().raw_resource_replicas(2, 100, &sample("cpu", None, &pods), metrics(&[("a", "300m"), ("b", "100m")])).expect("computes");
        assert_eq!(r, (4, 200));
        let r = calc().raw_resource_replicas(2, 100, &sample("cpu", None, &pods), metrics(&[("a", "30m")])).expect("computes");
        assert_eq!(r, (2, 30), "b taken at the target: (30 + 100) / 2 = 65% turns into 2");
    }

    #[test]
    fn hpa_replicas_of_one_container_and_sidecars() {
        let mut with_sidecar = running("a");
        if let Some(spec) = with_sidecar.spec.as_mut() {
            spec.init_containers = Some(vec![serde_json::from_value(json!({"name": "proxy", "restartPolicy": "Always",
                "resources": {"requests": {"cpu": "100m"}}}))
            .expect("a container")]);
        }
        let pods = [with_sidecar];
        let u = calc().resource_replicas(1, 50, &sample("cpu", None, &pods), metrics(&[("a", "100m")])).expect("computes");
        assert_eq!(u.utilization, 50, "100m of 200m requested by the container and its sidecar");
        let u = calc().resource_replicas(1, 50, &sample("cpu", Some("burn"), &pods), metrics(&[("a", "100m")])).expect("computes");
        assert_eq!(u.utilization, 100);
    }
}
