//! Which pod goes first when the node must reclaim a resource, as the
//! kubelet ranks them: pods using more than they requested before those
//! within their requests, then lower priority first, then the larger use
//! beyond the request first. Also the message the evicted pod gets.

use apimachinery::validation::{Quantity, QuantityFormat};
use k8s_openapi::api::core::v1::{Container, Pod};

/// Priorities from here up are the system's critical pods, never evicted
/// (`system-cluster-critical` is 2000000000).
pub const CRITICAL_PRIORITY: i32 = 2_000_000_000;

/// One container's use of the resource being reclaimed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerUse {
    pub name: String,
    pub usage: u64,
    pub request: u64,
}

/// One pod's use of the resource being reclaimed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodUse {
    pub uid: String,
    pub priority: i32,
    /// The whole pod's use (its containers', and for the disk its
    /// emptyDir volumes').
    pub usage: u64,
    pub request: u64,
    pub containers: Vec<ContainerUse>,
}

impl PodUse {
    fn exceeds(&self) -> bool {
        self.usage > self.request
    }
}

/// Sorts `pods` in eviction order.
pub fn rank(pods: &mut [PodUse]) {
    pods.sort_by(|a, b| {
        b.exceeds()
            .cmp(&a.exceeds())
            .then(a.priority.cmp(&b.priority))
            .then((i128::from(b.usage) - i128::from(b.request)).cmp(&(i128::from(a.usage) - i128::from(a.request))))
    });
}

/// The pod's priority (0 when the admission gave it none).
pub fn priority(pod: &Pod) -> i32 {
    pod.spec.as_ref().and_then(|s| s.priority).unwrap_or(0)
}

/// What `c` requests of `resource`, in bytes (a limit alone is the
/// request, as the API's defaulting makes it).
pub fn container_request(c: &Container, resource: &str) -> u64 {
    let resources = c.resources.as_ref();
    let quantity = resources.and_then(|r| r.requests.as_ref()).and_then(|m| m.get(resource)).or_else(|| resources.and_then(|r| r.limits.as_ref()).and_then(|m| m.get(resource)));
    quantity.and_then(|q| super::super::volumes::quantity_bytes(&q.0)).unwrap_or(0)
}

/// A byte count as Kubernetes prints a quantity (`100Mi`, `1234`).
pub fn bytes(n: u64) -> String {
    Quantity::from_units(i64::try_from(n).unwrap_or(i64::MAX), QuantityFormat::BinarySI).canonical()
}

/// The kubelet's eviction message: the resource the node was low on,
/// the threshold and what was available (as quantities of the signal),
/// and each container using more than it requested.
pub fn message(resource: &str, threshold: &str, available: &str, pod: &PodUse) -> String {
    let mut m = format!("The node was low on resource: {resource}. Threshold quantity: {threshold}, available: {available}. ");
    for c in pod.containers.iter().filter(|c| c.usage > c.request) {
        m.push_str(&format!("Container {} was using {}, request is {}, has larger consumption of {resource}. ", c.name, bytes(c.usage), bytes(c.request)));
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(uid: &str, priority: i32, usage: u64, request: u64) -> PodUse {
        PodUse { uid: uid.into(), priority, usage, request, containers: vec![ContainerUse { name: "c".into(), usage, request }] }
    }

    #[test]
    fn eviction_ranking_follows_the_kubelet() {
        let mut pods = vec![
            pod("within-requests-big", 0, 900, 1000),
            pod("over-by-10", 0, 110, 100),
            pod("over-by-50-important", 1000, 150, 100),
            pod("over-by-50", 0, 150, 100),
            pod("best-effort", 0, 20, 0),
        ];
        rank(&mut pods);
        let order: Vec<&str> = pods.iter().map(|p| p.uid.as_str()).collect();
        assert_eq!(order, ["over-by-50", "best-effort", "over-by-10", "over-by-50-important", "within-requests-big"]);
    }

    #[test]
    fn eviction_message_names_the_containers_over_their_requests() {
        let p = PodUse {
            uid: "u".into(),
            priority: 0,
            usage: 300 << 20,
            request: 0,
            containers: vec![ContainerUse { name: "hog".into(), usage: 200 << 20, request: 0 }, ContainerUse { name: "calm".into(), usage: 1 << 20, request: 64 << 20 }],
        };
        assert_eq!(
            message("memory", &bytes(100 << 20), &bytes(50 << 20), &p),
            "The node was low on resource: memory. Threshold quantity: 100Mi, available: 50Mi. Container hog was using 200Mi, request is 0, has larger consumption of memory. "
        );
        let c: Container = serde_json::from_value(serde_json::json!({"name": "c", "resources": {"limits": {"memory": "64Mi"}}})).expect("a container");
        assert_eq!((container_request(&c, "memory"), container_request(&c, "ephemeral-storage")), (64 << 20, 0));
        assert_eq!(bytes(1234), "1234");
    }
}
