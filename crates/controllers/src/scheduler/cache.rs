//! The scheduler's in-memory view of the cluster: every node with the
//! requests, host ports and pods already placed on it (bound, or assumed
//! while a binding is in flight), so a scheduling decision reads memory
//! only. Terminal pods hold nothing, as in kube-scheduler's cache.

use super::resources::{Resources, non_zero_requests, pod_requests};
use crate::cached_pod::CachedPod;
use k8s_openapi::api::core::v1::{Node, Taint};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

/// A host port a container takes on its node.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HostPort {
    pub ip: String,
    pub protocol: String,
    pub port: i32,
}

impl HostPort {
    /// Two ports clash when protocol and port match and either address is
    /// the wildcard or they are the same address.
    pub fn conflicts(&self, other: &HostPort) -> bool {
        let wildcard = |ip: &str| ip.is_empty() || ip == "0.0.0.0" || ip == "::";
        self.port == other.port
            && self.protocol == other.protocol
            && (wildcard(&self.ip) || wildcard(&other.ip) || self.ip == other.ip)
    }
}

/// What the scheduler needs of a pod, computed once.
#[derive(Debug, Clone)]
pub struct PodInfo {
    pub key: String,
    pub namespace: String,
    pub labels: BTreeMap<String, String>,
    pub requests: Resources,
    /// CPU and memory for scoring, with defaults for empty requests.
    pub non_zero: (i64, i64),
    pub host_ports: Vec<HostPort>,
    pub pod: Arc<CachedPod>,
}

impl PodInfo {
    pub fn new(pod: Arc<CachedPod>) -> PodInfo {
        let namespace = pod.metadata.namespace.clone().unwrap_or_default();
        let name = pod.metadata.name.clone().unwrap_or_default();
        let host_ports = pod
            .spec
            .iter()
            .flat_map(|s| s.containers.iter().chain(s.init_containers.iter().flatten()))
            .flat_map(|c| c.ports.iter().flatten())
            .filter_map(|p| {
                p.host_port.filter(|hp| *hp > 0).map(|port| HostPort {
                    ip: p.host_ip.clone().unwrap_or_default(),
                    protocol: p.protocol.clone().unwrap_or_else(|| "TCP".into()),
                    port,
                })
            })
            .collect();
        PodInfo {
            key: format!("{namespace}/{name}"),
            labels: pod.metadata.labels.clone().unwrap_or_default(),
            requests: pod_requests(&pod),
            non_zero: non_zero_requests(&pod),
            host_ports,
            namespace,
            pod,
        }
    }

    /// Whether the pod has required anti-affinity terms other pods must
    /// respect.
    pub fn has_required_anti_affinity(&self) -> bool {
        self.pod
            .spec
            .as_ref()
            .and_then(|s| s.affinity.as_ref())
            .and_then(|a| a.pod_anti_affinity.as_ref())
            .and_then(|a| a.required_during_scheduling_ignored_during_execution.as_ref())
            .is_some_and(|t| !t.is_empty())
    }
}

/// A node and what is placed on it.
#[derive(Debug, Clone)]
pub struct NodeInfo {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub taints: Vec<Taint>,
    pub unschedulable: bool,
    pub ready: bool,
    pub allocatable: Resources,
    pub requested: Resources,
    /// Requested CPU and memory with scoring defaults.
    pub non_zero_requested: (i64, i64),
    pub used_ports: Vec<HostPort>,
    /// Keys of the pods on the node.
    pub pods: HashSet<String>,
}

impl NodeInfo {
    pub fn new(node: &Node) -> NodeInfo {
        let spec = node.spec.as_ref();
        let status = node.status.as_ref();
        let ready = status
            .and_then(|s| s.conditions.as_ref())
            .and_then(|cs| cs.iter().find(|c| c.type_ == "Ready"))
            .is_some_and(|c| c.status == "True");
        NodeInfo {
            name: node.metadata.name.clone().unwrap_or_default(),
            labels: node.metadata.labels.clone().unwrap_or_default(),
            taints: spec.and_then(|s| s.taints.clone()).unwrap_or_default(),
            unschedulable: spec.and_then(|s| s.unschedulable).unwrap_or(false),
            ready,
            allocatable: status.and_then(|s| s.allocatable.as_ref()).map(Resources::from_list).unwrap_or_default(),
            requested: Resources::default(),
            non_zero_requested: (0, 0),
            used_ports: Vec::new(),
            pods: HashSet::new(),
        }
    }

    /// Whether `other` differs in anything a filter or score reads.
    pub fn same_for_scheduling(&self, other: &NodeInfo) -> bool {
        self.labels == other.labels
            && self.taints == other.taints
            && self.unschedulable == other.unschedulable
            && self.ready == other.ready
            && self.allocatable == other.allocatable
    }

    fn add(&mut self, pod: &PodInfo) {
        self.requested.add(&pod.requests);
        self.non_zero_requested.0 += pod.non_zero.0;
        self.non_zero_requested.1 += pod.non_zero.1;
        self.used_ports.extend(pod.host_ports.iter().cloned());
        self.pods.insert(pod.key.clone());
    }

    fn remove(&mut self, pod: &PodInfo) {
        if !self.pods.remove(&pod.key) {
            return;
        }
        self.requested.sub(&pod.requests);
        self.non_zero_requested.0 -= pod.non_zero.0;
        self.non_zero_requested.1 -= pod.non_zero.1;
        for p in &pod.host_ports {
            if let Some(i) = self.used_ports.iter().position(|u| u == p) {
                self.used_ports.swap_remove(i);
            }
        }
    }
}

/// Nodes and the pods placed on them.
#[derive(Debug, Default)]
pub struct Cache {
    pub nodes: BTreeMap<String, NodeInfo>,
    /// Placed pods by key, with their node.
    pub pods: HashMap<String, (String, PodInfo)>,
    /// Keys of placed pods with required anti-affinity, which every
    /// candidate must be checked against.
    pub with_anti_affinity: HashSet<String>,
}

impl Cache {
    /// Adds or refreshes a node; returns whether scheduling could see a
    /// difference (a new node, or changed labels, taints, readiness...).
    pub fn upsert_node(&mut self, node: &Node) -> bool {
        let mut info = NodeInfo::new(node);
        match self.nodes.get_mut(&info.name) {
            Some(existing) => {
                let changed = !existing.same_for_scheduling(&info);
                info.requested = std::mem::take(&mut existing.requested);
                info.non_zero_requested = existing.non_zero_requested;
                info.used_ports = std::mem::take(&mut existing.used_ports);
                info.pods = std::mem::take(&mut existing.pods);
                *existing = info;
                changed
            }
            None => {
                // Pods seen before their node keep counting against it.
                for (node, pod) in self.pods.values() {
                    if *node == info.name {
                        info.add(pod);
                    }
                }
                self.nodes.insert(info.name.clone(), info);
                true
            }
        }
    }

    pub fn remove_node(&mut self, name: &str) {
        self.nodes.remove(name);
    }

    /// Places (or moves) a pod on a node.
    pub fn place(&mut self, pod: PodInfo, node: &str) {
        self.unplace(&pod.key);
        if let Some(n) = self.nodes.get_mut(node) {
            n.add(&pod);
        }
        if pod.has_required_anti_affinity() {
            self.with_anti_affinity.insert(pod.key.clone());
        }
        self.pods.insert(pod.key.clone(), (node.to_string(), pod));
    }

    /// Forgets a placed pod; returns whether it was placed.
    pub fn unplace(&mut self, key: &str) -> bool {
        self.with_anti_affinity.remove(key);
        match self.pods.remove(key) {
            Some((node, pod)) => {
                if let Some(n) = self.nodes.get_mut(&node) {
                    n.remove(&pod);
                }
                true
            }
            None => false,
        }
    }

    /// The pods placed on a node.
    pub fn pods_on<'a>(&'a self, node: &'a NodeInfo) -> impl Iterator<Item = &'a PodInfo> + 'a {
        node.pods.iter().filter_map(|k| self.pods.get(k).map(|(_, p)| p))
    }
}
