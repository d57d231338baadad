//! The kubelet's admission of a pod newly bound to this node: it runs only
//! when the node has room for it beside the pods it already runs, counted
//! in pods (`--max-pods`) and in CPU and memory requests against the
//! node's allocatable. The scheduler checks the same, but a pod bound by
//! hand (`spec.nodeName`) or against a stale view reaches the node
//! anyway; one refused ends `Failed` with the kubelet's `OutOf<resource>`
//! reason and never runs. A node under pressure refuses pods as the
//! eviction manager's admission does (`admit_under_pressure`).

use super::eviction::signals::Pressure;
use apimachinery::policy::pod_resources::{PodResourcesOptions, pod_requests};
use k8s_openapi::api::core::v1::Pod;

/// What the node offers to pods.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Allocatable {
    pub pods: u64,
    pub cpu_milli: i64,
    pub memory_bytes: i64,
}

/// Why a pod was refused: the reason and message of its `Failed` status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub reason: String,
    pub message: String,
}

/// What a pod asks of the node: CPU in millicores, memory in bytes.
fn requests(pod: &Pod) -> (i64, i64) {
    let value = serde_json::to_value(pod).unwrap_or_default();
    let list = pod_requests(&value, PodResourcesOptions { overhead: true, status: false });
    (list.get("cpu").map_or(0, |q| q.milli_value()), list.get("memory").map_or(0, |q| q.value()))
}

/// Whether the pod has ended for good (its phase is final).
pub fn is_terminal(pod: &Pod) -> bool {
    matches!(pod.status.as_ref().and_then(|s| s.phase.as_deref()), Some("Succeeded" | "Failed"))
}

/// Whether this node already took the pod on: it has a start time (the
/// agent's first status report) or ran before. Such a pod is not
/// admitted again after a restart of the agent.
pub fn was_admitted(pod: &Pod) -> bool {
    pod.status.as_ref().is_some_and(|s| s.start_time.is_some()) || is_terminal(pod)
}

/// Admits `pod` beside `running` (the active pods already admitted), or
/// says which resource is short, as the kubelet words it.
pub fn admit<'a>(pod: &Pod, running: impl IntoIterator<Item = &'a Pod>, node: &Allocatable) -> Result<(), Rejection> {
    let (mut used_pods, mut used_cpu, mut used_memory) = (0u64, 0i64, 0i64);
    for other in running {
        let (cpu, memory) = requests(other);
        used_pods += 1;
        used_cpu = used_cpu.saturating_add(cpu);
        used_memory = used_memory.saturating_add(memory);
    }
    let (cpu, memory) = requests(pod);
    let short = |resource: &str, requested: i64, used: i64, capacity: i64| Rejection {
        reason: format!("OutOf{resource}"),
        message: format!("Node didn't have enough resource: {resource}, requested: {requested}, used: {used}, capacity: {capacity}"),
    };
    if used_pods + 1 > node.pods {
        return Err(short("pods", 1, used_pods as i64, node.pods as i64));
    }
    if cpu > 0 && used_cpu.saturating_add(cpu) > node.cpu_milli {
        return Err(short("cpu", cpu, used_cpu, node.cpu_milli));
    }
    if memory > 0 && used_memory.saturating_add(memory) > node.memory_bytes {
        return Err(short("memory", memory, used_memory, node.memory_bytes));
    }
    Ok(())
}

/// The eviction manager's admission: a node under disk pressure takes
/// no pod, one under memory pressure no BestEffort pod unless it
/// tolerates the memory-pressure taint; critical pods always get in.
pub fn admit_under_pressure(pod: &Pod, pressure: &Pressure) -> Result<(), Rejection> {
    let names = pressure.names();
    if names.is_empty() || super::eviction::ranking::priority(pod) >= super::eviction::ranking::CRITICAL_PRIORITY {
        return Ok(());
    }
    if !pressure.disk {
        let spec = pod.spec.as_ref();
        let containers = spec.into_iter().flat_map(|s| s.containers.iter().chain(s.init_containers.iter().flatten()));
        let best_effort = super::pod_status::qos_class(containers) == "BestEffort";
        let tolerates = spec.and_then(|s| s.tolerations.as_ref()).into_iter().flatten().any(|t| {
            let key = t.key.as_deref().unwrap_or_default();
            let key_matches = if t.operator.as_deref() == Some("Exists") { key.is_empty() || key == MEMORY_PRESSURE_TAINT } else { key == MEMORY_PRESSURE_TAINT };
            key_matches && t.effect.as_deref().is_none_or(|e| e.is_empty() || e == "NoSchedule")
        });
        if !best_effort || tolerates {
            return Ok(());
        }
    }
    Err(Rejection { reason: "Evicted".into(), message: format!("The node had condition: [{}]. ", names.join(" ")) })
}

/// The taint the node lifecycle controller puts on a node under memory
/// pressure.
const MEMORY_PRESSURE_TAINT: &str = "node.kubernetes.io/memory-pressure";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admission_under_pressure() {
        let best_effort = |tolerations: serde_json::Value| -> Pod {
            serde_json::from_value(serde_json::json!({"spec": {"containers": [{"name": "c"}], "tolerations": tolerations}})).expect("a pod")
        };
        let memory = Pressure { memory: true, disk: false };
        let disk = Pressure { memory: false, disk: true };
        let calm = Pressure::default();
        assert_eq!(admit_under_pressure(&best_effort(serde_json::json!([])), &calm), Ok(()));
        let refused = admit_under_pressure(&best_effort(serde_json::json!([])), &memory).expect_err("BestEffort under memory pressure");
        assert_eq!((refused.reason.as_str(), refused.message.as_str()), ("Evicted", "The node had condition: [MemoryPressure]. "));
        assert_eq!(admit_under_pressure(&pod("100m", "64Mi"), &memory), Ok(()), "a Burstable pod gets in");
        let tolerant = best_effort(serde_json::json!([{"key": "node.kubernetes.io/memory-pressure", "operator": "Exists", "effect": "NoSchedule"}]));
        assert_eq!(admit_under_pressure(&tolerant, &memory), Ok(()));
        assert!(admit_under_pressure(&tolerant, &disk).is_err(), "disk pressure takes no pod");
        let refused = admit_under_pressure(&pod("100m", "64Mi"), &Pressure { memory: true, disk: true }).expect_err("disk");
        assert_eq!(refused.message, "The node had condition: [MemoryPressure DiskPressure]. ");
        let mut critical = pod("1m", "1Mi");
        critical.spec.as_mut().expect("a spec").priority = Some(2_000_001_000);
        assert_eq!(admit_under_pressure(&critical, &disk), Ok(()));
    }

    fn pod(cpu: &str, memory: &str) -> Pod {
        serde_json::from_value(serde_json::json!({
            "metadata": {"name": "p"},
            "spec": {"containers": [{"name": "c", "resources": {"requests": {"cpu": cpu, "memory": memory}}}]}
        }))
        .expect("a pod")
    }

    #[test]
    fn admission_counts_pods_cpu_and_memory() {
        let node = Allocatable { pods: 3, cpu_milli: 2000, memory_bytes: 1 << 30 };
        let small = pod("100m", "64Mi");
        let running = [small.clone(), small.clone()];
        assert_eq!(admit(&small, &running, &node), Ok(()));

        let full = [small.clone(), small.clone(), small.clone()];
        let refused = admit(&small, &full, &node).expect_err("no room");
        assert_eq!(refused.reason, "OutOfpods");
        assert_eq!(refused.message, "Node didn't have enough resource: pods, requested: 1, used: 3, capacity: 3");

        let refused = admit(&pod("1900m", "1Mi"), &running, &node).expect_err("no cpu");
        assert_eq!((refused.reason.as_str(), refused.message.as_str()), ("OutOfcpu", "Node didn't have enough resource: cpu, requested: 1900, used: 200, capacity: 2000"));
        let refused = admit(&pod("1m", "1Gi"), &running, &node).expect_err("no memory");
        assert_eq!(refused.reason, "OutOfmemory");

        // A pod that asks for nothing fits while there is a pod slot.
        let none: Pod = serde_json::from_value(serde_json::json!({"spec": {"containers": [{"name": "c"}]}})).expect("a pod");
        assert_eq!(admit(&none, &[pod("2", "1Gi")], &node), Ok(()));
    }

    #[test]
    fn admission_knows_pods_taken_on_before() {
        let mut p = pod("1m", "1Mi");
        assert!(!was_admitted(&p) && !is_terminal(&p));
        p.status = Some(serde_json::from_value(serde_json::json!({"phase": "Failed"})).expect("a status"));
        assert!(was_admitted(&p) && is_terminal(&p));
        p.status = Some(serde_json::from_value(serde_json::json!({"phase": "Running", "startTime": "2026-11-26T00:00:00Z"})).expect("a status"));
        assert!(was_admitted(&p) && !is_terminal(&p));
    }
}
