//! Resource amounts as the scheduler counts them: quantities parsed to
//! integers (millicores, bytes, counts), a pod's effective requests
//! (containers summed, init containers as a maximum, sidecars and overhead
//! added) and the non-zero defaults scoring uses for pods that request
//! nothing.

use crate::cached_pod::{CachedContainer, CachedPod};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use std::collections::BTreeMap;

/// Kubernetes scores a container without a CPU request as if it asked for
/// 100m, and without a memory request as if it asked for 200 MB, so empty
/// pods still spread.
pub const DEFAULT_MILLI_CPU: i64 = 100;
pub const DEFAULT_MEMORY: i64 = 200 * 1024 * 1024;

/// Amounts of the resources the scheduler checks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Resources {
    pub milli_cpu: i64,
    pub memory: i64,
    pub ephemeral_storage: i64,
    pub pods: i64,
    /// Extended resources (`example.com/gpu`) and any other named resource.
    pub scalar: BTreeMap<String, i64>,
}

impl Resources {
    /// Amounts from a resource list (requests, limits, allocatable).
    pub fn from_list(list: &BTreeMap<String, Quantity>) -> Resources {
        let mut r = Resources::default();
        for (name, q) in list {
            r.set(name, q);
        }
        r
    }

    fn set(&mut self, name: &str, q: &Quantity) {
        match name {
            "cpu" => self.milli_cpu = milli_value(q),
            "memory" => self.memory = value(q),
            "ephemeral-storage" => self.ephemeral_storage = value(q),
            "pods" => self.pods = value(q),
            other => {
                self.scalar.insert(other.to_string(), value(q));
            }
        }
    }

    pub fn add(&mut self, other: &Resources) {
        self.milli_cpu += other.milli_cpu;
        self.memory += other.memory;
        self.ephemeral_storage += other.ephemeral_storage;
        self.pods += other.pods;
        for (k, v) in &other.scalar {
            *self.scalar.entry(k.clone()).or_default() += v;
        }
    }

    pub fn sub(&mut self, other: &Resources) {
        self.milli_cpu -= other.milli_cpu;
        self.memory -= other.memory;
        self.ephemeral_storage -= other.ephemeral_storage;
        self.pods -= other.pods;
        for (k, v) in &other.scalar {
            *self.scalar.entry(k.clone()).or_default() -= v;
        }
    }

    fn max_with(&mut self, other: &Resources) {
        self.milli_cpu = self.milli_cpu.max(other.milli_cpu);
        self.memory = self.memory.max(other.memory);
        self.ephemeral_storage = self.ephemeral_storage.max(other.ephemeral_storage);
        for (k, v) in &other.scalar {
            let e = self.scalar.entry(k.clone()).or_default();
            *e = (*e).max(*v);
        }
    }
}

/// A quantity in its base unit, rounded up (`1Ki` is 1024, `100m` is 1).
pub fn value(q: &Quantity) -> i64 {
    scaled(&q.0, 1.0)
}

/// A quantity in thousandths, rounded up (`0.5` is 500, `100m` is 100).
pub fn milli_value(q: &Quantity) -> i64 {
    scaled(&q.0, 1000.0)
}

fn scaled(text: &str, factor: f64) -> i64 {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '+' || c == '-'))
        .unwrap_or(text.len());
    let (number, suffix) = text.split_at(split);
    let Ok(number) = number.parse::<f64>() else { return 0 };
    let multiplier = match suffix {
        "" => 1.0,
        "n" => 1e-9,
        "u" => 1e-6,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        "Ki" => 1024.0,
        "Mi" => 1024.0 * 1024.0,
        "Gi" => 1024.0 * 1024.0 * 1024.0,
        "Ti" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
        "Pi" => 1024.0 * 1024.0 * 1024.0 * 1024.0 * 1024.0,
        "Ei" => 1024.0 * 1024.0 * 1024.0 * 1024.0 * 1024.0 * 1024.0,
        s if s.starts_with(['e', 'E']) => s[1..].parse::<i32>().map(|e| 10f64.powi(e)).unwrap_or(1.0),
        _ => 1.0,
    };
    // A tiny epsilon keeps exact decimal values (0.1 * 1000) from rounding up.
    (number * multiplier * factor - 1e-9).ceil() as i64
}

/// What one container asks for: its requests, or its limits where it sets
/// no request (the API server defaults requests to limits).
fn container_requests(c: &CachedContainer) -> Resources {
    let res = c.resources.as_ref();
    let mut list = res.and_then(|r| r.limits.clone()).unwrap_or_default();
    if let Some(requests) = res.and_then(|r| r.requests.as_ref()) {
        list.extend(requests.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    Resources::from_list(&list)
}

/// The resources a pod needs on its node: the sum of its containers and
/// restartable init containers (sidecars), at least the largest regular
/// init container plus the sidecars started before it, plus the pod
/// overhead, and one pod slot.
pub fn pod_requests(pod: &CachedPod) -> Resources {
    let Some(spec) = pod.spec.as_ref() else { return Resources { pods: 1, ..Resources::default() } };
    let mut total = Resources::default();
    for c in &spec.containers {
        total.add(&container_requests(c));
    }
    let mut sidecars = Resources::default();
    let mut init_max = Resources::default();
    for c in spec.init_containers.iter().flatten() {
        let r = container_requests(c);
        if c.restart_policy.as_deref() == Some("Always") {
            sidecars.add(&r);
            init_max.max_with(&sidecars);
        } else {
            let mut with_sidecars = sidecars.clone();
            with_sidecars.add(&r);
            init_max.max_with(&with_sidecars);
        }
    }
    total.add(&sidecars);
    total.max_with(&init_max);
    if let Some(overhead) = spec.overhead.as_ref() {
        total.add(&Resources::from_list(overhead));
    }
    total.pods = 1;
    total
}

/// CPU and memory for scoring: each container's request, or the defaults
/// when it requests none.
pub fn non_zero_requests(pod: &CachedPod) -> (i64, i64) {
    let Some(spec) = pod.spec.as_ref() else { return (DEFAULT_MILLI_CPU, DEFAULT_MEMORY) };
    spec.containers.iter().fold((0, 0), |(cpu, mem), c| {
        let r = container_requests(c);
        let cpu_r = if r.milli_cpu == 0 { DEFAULT_MILLI_CPU } else { r.milli_cpu };
        let mem_r = if r.memory == 0 { DEFAULT_MEMORY } else { r.memory };
        (cpu + cpu_r, mem + mem_r)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn q(s: &str) -> Quantity {
        Quantity(s.to_string())
    }

    #[test]
    fn quantities() {
        assert_eq!(milli_value(&q("100m")), 100);
        assert_eq!(milli_value(&q("0.1")), 100);
        assert_eq!(milli_value(&q("4")), 4000);
        assert_eq!(value(&q("16Gi")), 16 * 1024 * 1024 * 1024);
        assert_eq!(value(&q("1k")), 1000);
        assert_eq!(value(&q("1e3")), 1000);
        assert_eq!(value(&q("110")), 110);
        assert_eq!(value(&q("100m")), 1);
    }

    #[test]
    fn pod_requests_sum_containers_and_take_init_maximum() {
        let pod: CachedPod = serde_json::from_value(json!({
            "metadata": {"name": "p"},
            "spec": {
                "initContainers": [{"name": "i", "resources": {"requests": {"cpu": "2"}}}],
                "containers": [
                    {"name": "a", "resources": {"requests": {"cpu": "500m", "memory": "1Gi"}}},
                    {"name": "b", "resources": {"limits": {"cpu": "250m", "example.com/gpu": "1"}}},
                ],
                "overhead": {"memory": "10Mi"},
            }
        }))
        .expect("pod");
        let r = pod_requests(&pod);
        assert_eq!(r.milli_cpu, 2000);
        assert_eq!(r.memory, 1024 * 1024 * 1024 + 10 * 1024 * 1024);
        assert_eq!(r.scalar.get("example.com/gpu"), Some(&1));
        assert_eq!(r.pods, 1);
        assert_eq!(non_zero_requests(&pod), (750, 1024 * 1024 * 1024 + DEFAULT_MEMORY));
    }
}
