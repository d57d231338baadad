//! Resource requirements as cgroup limits, computed as the kubelet does:
//! `cpu.shares` from the CPU request (milliCPU × 1024 / 1000, at least 2,
//! so a container without a request gets 2), a CFS quota from the CPU
//! limit over a 100 ms period (at least 1 ms), the memory limit as is;
//! and the pod's cgroup (`ResourceConfigForPod`): shares from the pod's
//! summed requests, a quota and a memory limit only when every app
//! container has one. A request left out defaults to the limit (as the
//! API server's defaulting does for new pods, and the kubelet again for
//! old ones).

use crate::cgroups::PodLimits;
use crate::spec::Resources;
use apimachinery::validation::quantity::Quantity;
use k8s_openapi::api::core::v1::{Container, PodSpec, ResourceRequirements};
use std::collections::BTreeMap;

/// The CFS period (the kubelet's default `--cpu-cfs-quota-period`).
pub const CPU_PERIOD: u64 = 100_000;
const MIN_SHARES: u64 = 2;
const MAX_SHARES: u64 = 262_144;
/// The smallest quota the kernel accepts, 1 ms.
const MIN_QUOTA: i64 = 1_000;

/// `cpu.shares` for a CPU request in millicores.
pub fn milli_cpu_to_shares(milli: i64) -> u64 {
    if milli <= 0 {
        return MIN_SHARES;
    }
    (u64::try_from(milli).unwrap_or(u64::MAX).saturating_mul(1024) / 1000).clamp(MIN_SHARES, MAX_SHARES)
}

/// The CFS quota for a CPU limit in millicores; 0 (no quota) for none.
pub fn milli_cpu_to_quota(milli: i64, period: u64) -> i64 {
    if milli <= 0 {
        return 0;
    }
    let period = i64::try_from(period).unwrap_or(i64::MAX);
    (milli.saturating_mul(period) / 1000).max(MIN_QUOTA)
}

/// A container's CPU (millicores) and memory (bytes) amounts; zero is
/// none, as Kubernetes reads them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Amounts {
    cpu_request: i64,
    cpu_limit: i64,
    memory_limit: i64,
}

impl Amounts {
    fn of(r: Option<&ResourceRequirements>) -> Result<Amounts, String> {
        let get = |list: Option<&BTreeMap<String, k8s_openapi::apimachinery::pkg::api::resource::Quantity>>, name: &str, milli: bool| -> Result<i64, String> {
            let Some(q) = list.and_then(|l| l.get(name)) else { return Ok(0) };
            let parsed = Quantity::parse(&q.0).map_err(|e| format!("{name} quantity {:?}: {e}", q.0))?;
            Ok(if milli { parsed.milli_value() } else { parsed.value() }.max(0))
        };
        let (requests, limits) = (r.and_then(|r| r.requests.as_ref()), r.and_then(|r| r.limits.as_ref()));
        let cpu_limit = get(limits, "cpu", true)?;
        let cpu_request = match get(requests, "cpu", true)? {
            0 => cpu_limit,
            request => request,
        };
        Ok(Amounts { cpu_request, cpu_limit, memory_limit: get(limits, "memory", false)? })
    }

    fn plus(self, o: Amounts) -> Amounts {
        Amounts { cpu_request: self.cpu_request.saturating_add(o.cpu_request), cpu_limit: self.cpu_limit.saturating_add(o.cpu_limit), memory_limit: self.memory_limit.saturating_add(o.memory_limit) }
    }

    fn max(self, o: Amounts) -> Amounts {
        Amounts { cpu_request: self.cpu_request.max(o.cpu_request), cpu_limit: self.cpu_limit.max(o.cpu_limit), memory_limit: self.memory_limit.max(o.memory_limit) }
    }
}

/// The container's limits. `unified`: the machine has only cgroup v2,
/// where the whole container is OOM killed together (the kubelet's
/// `memory.oom.group`); `swap_limit`: memory plus swap can be limited, so
/// the limit keeps the container off swap too.
pub fn container(c: &Container, unified: bool, swap_limit: bool) -> Result<Resources, String> {
    let a = Amounts::of(c.resources.as_ref()).map_err(|e| format!("container {}: {e}", c.name))?;
    let memory_limit = (a.memory_limit > 0).then_some(a.memory_limit);
    let mut out = Resources {
        cpu_shares: Some(milli_cpu_to_shares(a.cpu_request)),
        cpu_quota: (a.cpu_limit > 0).then(|| milli_cpu_to_quota(a.cpu_limit, CPU_PERIOD)),
        cpu_period: Some(CPU_PERIOD),
        memory_limit,
        memory_swap: memory_limit.filter(|_| swap_limit),
        ..Resources::default()
    };
    if unified {
        out.unified.insert("memory.oom.group".into(), "1".into());
    }
    Ok(out)
}

/// The pod cgroup's limits: requests and limits summed over the app
/// containers and restartable init containers (sidecars), or the largest
/// init container's with the sidecars started before it if more, plus
/// the pod's overhead.
pub fn pod(spec: &PodSpec) -> Result<PodLimits, String> {
    let of = |c: &Container| Amounts::of(c.resources.as_ref()).map_err(|e| format!("container {}: {e}", c.name));
    let mut sum = Amounts::default();
    let (mut cpu_declared, mut memory_declared) = (true, true);
    for c in &spec.containers {
        let a = of(c)?;
        cpu_declared &= a.cpu_limit > 0;
        memory_declared &= a.memory_limit > 0;
        sum = sum.plus(a);
    }
    let (mut sidecars, mut init) = (Amounts::default(), Amounts::default());
    for c in spec.init_containers.iter().flatten() {
        let a = of(c)?;
        if c.restart_policy.as_deref() == Some("Always") {
            sum = sum.plus(a);
            sidecars = sidecars.plus(a);
            init = init.max(sidecars);
        } else {
            init = init.max(a.plus(sidecars));
        }
    }
    let mut total = sum.max(init);
    if let Some(overhead) = &spec.overhead {
        let o = Amounts::of(Some(&ResourceRequirements { requests: Some(overhead.clone()), limits: Some(overhead.clone()), ..ResourceRequirements::default() }))?;
        // Overhead adds to the requests always, to a limit only if there
        // is one.
        total.cpu_request = total.cpu_request.saturating_add(o.cpu_request);
        if total.cpu_limit > 0 {
            total.cpu_limit = total.cpu_limit.saturating_add(o.cpu_limit);
        }
        if total.memory_limit > 0 {
            total.memory_limit = total.memory_limit.saturating_add(o.memory_limit);
        }
    }
    Ok(PodLimits {
        cpu_shares: milli_cpu_to_shares(total.cpu_request),
        cpu_quota: cpu_declared.then(|| milli_cpu_to_quota(total.cpu_limit, CPU_PERIOD)),
        cpu_period: CPU_PERIOD,
        memory_limit: memory_declared.then_some(total.memory_limit),
    })
}

/// The kubelet's OOM score adjustment for a container (its QoS policy):
/// Guaranteed pods and node-critical ones -997, BestEffort 1000, and a
/// Burstable container the larger the less memory it requested of the
/// node's `memory_capacity`, kept within 3..=999, so under memory pressure
/// the kernel kills BestEffort first and Guaranteed last.
pub fn oom_score_adj(pod: &k8s_openapi::api::core::v1::Pod, c: &Container, memory_capacity: u64) -> i32 {
    const GUARANTEED: i64 = -997;
    const BEST_EFFORT: i64 = 1000;
    let spec = pod.spec.as_ref();
    if spec.and_then(|s| s.priority_class_name.as_deref()) == Some("system-node-critical") {
        return GUARANTEED as i32;
    }
    let containers = spec.into_iter().flat_map(|s| s.containers.iter().chain(s.init_containers.iter().flatten()));
    match crate::agent::pod_status::qos_class(containers) {
        "Guaranteed" => return GUARANTEED as i32,
        "BestEffort" => return BEST_EFFORT as i32,
        _ => {}
    }
    let request = |list: Option<&BTreeMap<String, k8s_openapi::apimachinery::pkg::api::resource::Quantity>>| {
        list.and_then(|l| l.get("memory")).and_then(|q| Quantity::parse(&q.0).ok()).map_or(0, |q| q.value().max(0))
    };
    let r = c.resources.as_ref();
    let memory = match request(r.and_then(|r| r.requests.as_ref())) {
        0 => request(r.and_then(|r| r.limits.as_ref())),
        m => m,
    };
    let capacity = i64::try_from(memory_capacity).unwrap_or(i64::MAX).max(1);
    let score = |memory: i64| BEST_EFFORT - (1000i128 * i128::from(memory) / i128::from(capacity)).min(i128::from(BEST_EFFORT * 2)) as i64;
    let mut adj = score(memory);
    // A sidecar is killed no sooner than the app container least likely
    // to be (the kubelet's rule since sidecars).
    let sidecar = spec.is_some_and(|s| s.init_containers.iter().flatten().any(|i| i.name == c.name && i.restart_policy.as_deref() == Some("Always")));
    if sidecar {
        let smallest = spec.into_iter().flat_map(|s| s.containers.iter()).map(|a| request(a.resources.as_ref().and_then(|r| r.requests.as_ref()))).min().unwrap_or(0);
        adj = adj.min(score(smallest));
    }
    adj.clamp(BEST_EFFORT + GUARANTEED, BEST_EFFORT - 1) as i32
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn container(r: serde_json::Value) -> Container {
        serde_json::from_value(json!({"name": "c", "resources": r})).expect("a container")
    }

    fn pod(v: serde_json::Value) -> PodSpec {
        serde_json::from_value(v).expect("a pod spec")
    }

    #[test]
    fn resources_cpu_and_memory_as_the_kubelet_maps_them() {
        assert_eq!((milli_cpu_to_shares(0), milli_cpu_to_shares(1), milli_cpu_to_shares(250), milli_cpu_to_shares(1000)), (2, 2, 256, 1024));
        assert_eq!(milli_cpu_to_shares(1_000_000), 262_144, "capped");
        assert_eq!((milli_cpu_to_quota(0, CPU_PERIOD), milli_cpu_to_quota(500, CPU_PERIOD), milli_cpu_to_quota(1, CPU_PERIOD), milli_cpu_to_quota(2500, CPU_PERIOD)), (0, 50_000, 1_000, 250_000));

        let r = super::container(&container(json!({"requests": {"cpu": "250m"}, "limits": {"cpu": "0.5", "memory": "32Mi"}})), false, true).expect("maps");
        assert_eq!((r.cpu_shares, r.cpu_quota, r.cpu_period), (Some(256), Some(50_000), Some(100_000)));
        assert_eq!((r.memory_limit, r.memory_swap), (Some(32 << 20), Some(32 << 20)));
        assert!(r.unified.is_empty(), "no v2 files on v1");

        let none = super::container(&container(json!({})), true, false).expect("maps");
        assert_eq!((none.cpu_shares, none.cpu_quota, none.memory_limit, none.memory_swap), (Some(2), None, None, None), "best effort gets the minimum shares");
        assert_eq!(none.unified.get("memory.oom.group").map(String::as_str), Some("1"));

        let limit_only = super::container(&container(json!({"limits": {"cpu": "2", "memory": "1G"}})), false, false).expect("maps");
        assert_eq!((limit_only.cpu_shares, limit_only.memory_limit, limit_only.memory_swap), (Some(2048), Some(1_000_000_000), None), "the request defaults to the limit");
        // Quantities round up as Kubernetes' MilliValue and Value do.
        let odd = super::container(&container(json!({"requests": {"cpu": "0.0001"}, "limits": {"memory": "1.5Ki"}})), false, false).expect("maps");
        assert_eq!((odd.cpu_shares, odd.memory_limit), (Some(2), Some(1536)));
        assert!(super::container(&container(json!({"limits": {"memory": "lots"}})), false, false).is_err());
    }

    #[test]
    fn resources_pod_cgroup_sums_its_containers() {
        let both = pod(json!({"containers": [
            {"name": "a", "resources": {"requests": {"cpu": "100m"}, "limits": {"cpu": "500m", "memory": "64Mi"}}},
            {"name": "b", "resources": {"limits": {"cpu": "1", "memory": "64Mi"}}},
        ]}));
        assert_eq!(super::pod(&both), Ok(PodLimits { cpu_shares: 1126, cpu_quota: Some(150_000), cpu_period: CPU_PERIOD, memory_limit: Some(128 << 20) }));

        let one_unlimited = pod(json!({"containers": [
            {"name": "a", "resources": {"limits": {"cpu": "500m", "memory": "64Mi"}}},
            {"name": "b", "resources": {"requests": {"cpu": "250m"}}},
        ]}));
        assert_eq!(super::pod(&one_unlimited), Ok(PodLimits { cpu_shares: 768, cpu_quota: None, cpu_period: CPU_PERIOD, memory_limit: None }), "a limit only when every container has one");

        let best_effort = pod(json!({"containers": [{"name": "a"}]}));
        assert_eq!(super::pod(&best_effort), Ok(PodLimits { cpu_shares: 2, cpu_quota: None, cpu_period: CPU_PERIOD, memory_limit: None }));

        // An init container bigger than the app containers sets the pod's
        // size; a sidecar adds to both.
        let with_init = pod(json!({
            "initContainers": [
                {"name": "sidecar", "restartPolicy": "Always", "resources": {"limits": {"cpu": "100m", "memory": "16Mi"}}},
                {"name": "migrate", "resources": {"limits": {"cpu": "2", "memory": "16Mi"}}},
            ],
            "containers": [{"name": "a", "resources": {"limits": {"cpu": "500m", "memory": "64Mi"}}}],
            "overhead": {"cpu": "50m", "memory": "1Mi"},
        }));
        let l = super::pod(&with_init).expect("maps");
        assert_eq!((l.cpu_shares, l.cpu_quota, l.memory_limit), (milli_cpu_to_shares(2150), Some(215_000), Some(81 << 20)));
    }

    #[test]
    fn resources_oom_score_adj_follows_the_qos_class() {
        let pod = |resources: serde_json::Value| -> k8s_openapi::api::core::v1::Pod {
            serde_json::from_value(serde_json::json!({"spec": {"containers": [{"name": "c", "resources": resources}]}})).expect("a pod")
        };
        let gib: u64 = 1 << 30;
        let adj = |p: &k8s_openapi::api::core::v1::Pod| oom_score_adj(p, &p.spec.as_ref().expect("a spec").containers[0], 4 * gib);
        assert_eq!(adj(&pod(serde_json::json!({}))), 1000);
        assert_eq!(adj(&pod(serde_json::json!({"limits": {"cpu": "1", "memory": "1Gi"}}))), -997);
        assert_eq!(adj(&pod(serde_json::json!({"requests": {"memory": "1Gi"}}))), 750);
        assert_eq!(adj(&pod(serde_json::json!({"requests": {"cpu": "1"}}))), 999, "no memory request: just under BestEffort");
        assert_eq!(adj(&pod(serde_json::json!({"requests": {"memory": "8Gi"}}))), 3, "more than the node: just over Guaranteed");
        let with_sidecar: k8s_openapi::api::core::v1::Pod = serde_json::from_value(serde_json::json!({"spec": {
            "initContainers": [{"name": "proxy", "restartPolicy": "Always", "resources": {"requests": {"cpu": "1"}}}],
            "containers": [{"name": "app", "resources": {"requests": {"memory": "2Gi"}}}],
        }}))
        .expect("a pod");
        let spec = with_sidecar.spec.as_ref().expect("a spec");
        let proxy = &spec.init_containers.as_ref().expect("init containers")[0];
        assert_eq!(oom_score_adj(&with_sidecar, proxy, 4 * gib), 500, "a sidecar goes no sooner than its app container");
        assert_eq!(oom_score_adj(&with_sidecar, &spec.containers[0], 4 * gib), 500);
        let mut critical = pod(serde_json::json!({}));
        critical.spec.as_mut().expect("a spec").priority_class_name = Some("system-node-critical".into());
        assert_eq!(adj(&critical), -997);
    }
}
