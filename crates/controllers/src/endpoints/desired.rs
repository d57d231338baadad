//! What a Service's Endpoints and EndpointSlice should hold, from the
//! Service and the pods its selector matches: addresses of pods with an IP
//! that are not finished, ready or not, and the service ports resolved to
//! container ports (a named `targetPort` is looked up in each pod).

use k8s_openapi::api::core::v1::{EndpointAddress, EndpointPort, EndpointSubset, ObjectReference, Service};
use crate::cached_pod::CachedPod;
use k8s_openapi::api::discovery::v1::{Endpoint, EndpointConditions, EndpointPort as SlicePort};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use std::collections::BTreeMap;

/// One address of the Service: a pod and whether it takes traffic.
#[derive(Debug, Clone, PartialEq)]
pub struct Backend {
    pub ip: String,
    pub ready: bool,
    pub terminating: bool,
    pub node: Option<String>,
    pub pod: ObjectReference,
    /// Service port name -> the port resolved in this pod.
    pub ports: BTreeMap<String, i32>,
}

/// Whether `pod` is selected by `selector` (all pairs match).
pub fn selects(selector: &BTreeMap<String, String>, pod: &CachedPod) -> bool {
    let labels = pod.metadata.labels.as_ref();
    !selector.is_empty() && selector.iter().all(|(k, v)| labels.and_then(|l| l.get(k)) == Some(v))
}

fn is_ready(pod: &CachedPod) -> bool {
    pod.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

/// The port a service port reaches in `pod`: a number as is, a name
/// through the pod's container ports; `None` when the name is not there.
fn resolve(target: Option<&IntOrString>, port: i32, pod: &CachedPod) -> Option<i32> {
    match target {
        None => Some(port),
        Some(IntOrString::Int(n)) => Some(*n),
        Some(IntOrString::String(name)) => pod.spec.as_ref()?.containers.iter().find_map(|c| {
            c.ports.as_ref()?.iter().find(|p| p.name.as_deref() == Some(name.as_str())).map(|p| p.container_port)
        }),
    }
}

/// The backends of `service` among `pods` (already in its namespace).
pub fn backends(service: &Service, pods: &[CachedPod]) -> Vec<Backend> {
    let Some(selector) = service.spec.as_ref().and_then(|s| s.selector.as_ref()) else { return Vec::new() };
    let service_ports = service.spec.as_ref().and_then(|s| s.ports.clone()).unwrap_or_default();
    let mut out: Vec<Backend> = pods
        .iter()
        .filter(|p| selects(selector, p))
        .filter_map(|pod| {
            let status = pod.status.as_ref()?;
            let ip = status.pod_ip.clone().filter(|ip| !ip.is_empty())?;
            if matches!(status.phase.as_deref(), Some("Succeeded" | "Failed")) {
                return None;
            }
            let ports = service_ports
                .iter()
                .filter_map(|sp| {
                    let name = sp.name.clone().unwrap_or_default();
                    resolve(sp.target_port.as_ref(), sp.port, pod).map(|p| (name, p))
                })
                .collect();
            Some(Backend {
                ip,
                ready: is_ready(pod),
                terminating: pod.metadata.deletion_timestamp.is_some(),
                node: pod.spec.as_ref().and_then(|s| s.node_name.clone()),
                pod: ObjectReference {
                    kind: Some("Pod".into()),
                    namespace: pod.metadata.namespace.clone(),
                    name: pod.metadata.name.clone(),
                    uid: pod.metadata.uid.clone(),
                    ..Default::default()
                },
                ports,
            })
        })
        .collect();
    out.sort_by(|a, b| a.ip.cmp(&b.ip).then_with(|| a.pod.name.cmp(&b.pod.name)));
    out
}

fn protocol_of(service: &Service, name: &str) -> Option<String> {
    service
        .spec
        .as_ref()?
        .ports
        .as_ref()?
        .iter()
        .find(|p| p.name.as_deref().unwrap_or_default() == name)
        .and_then(|p| p.protocol.clone())
}

/// `Endpoints.subsets`: backends grouped by their resolved port set, ready
/// ones in `addresses`, the rest in `notReadyAddresses`, as the endpoints
/// controller packs them. Terminating pods are left out.
pub fn subsets(service: &Service, backends: &[Backend]) -> Vec<EndpointSubset> {
    let mut groups: BTreeMap<Vec<(String, i32)>, EndpointSubset> = BTreeMap::new();
    for b in backends.iter().filter(|b| !b.terminating && !b.ports.is_empty()) {
        let key: Vec<(String, i32)> = b.ports.iter().map(|(n, p)| (n.clone(), *p)).collect();
        let subset = groups.entry(key.clone()).or_insert_with(|| EndpointSubset {
            ports: Some(
                key.iter()
                    .map(|(name, port)| EndpointPort {
                        name: (!name.is_empty()).then(|| name.clone()),
                        port: *port,
                        protocol: protocol_of(service, name),
                        ..Default::default()
                    })
                    .collect(),
            ),
            ..Default::default()
        });
        let address = EndpointAddress {
            ip: b.ip.clone(),
            node_name: b.node.clone(),
            target_ref: Some(b.pod.clone()),
            ..Default::default()
        };
        let list = if b.ready { &mut subset.addresses } else { &mut subset.not_ready_addresses };
        list.get_or_insert_with(Vec::new).push(address);
    }
    groups.into_values().collect()
}

/// The endpoints and ports of the Service's one EndpointSlice.
pub fn slice(service: &Service, backends: &[Backend]) -> (Vec<Endpoint>, Vec<SlicePort>) {
    let endpoints = backends
        .iter()
        .map(|b| Endpoint {
            addresses: vec![b.ip.clone()],
            conditions: Some(EndpointConditions {
                ready: Some(b.ready && !b.terminating),
                serving: Some(b.ready),
                terminating: Some(b.terminating),
            }),
            node_name: b.node.clone(),
            target_ref: Some(b.pod.clone()),
            ..Default::default()
        })
        .collect();
    // The slice carries one port list, so it uses the first backend's
    // resolution (pods of one Service almost always agree).
    let ports = backends
        .first()
        .map(|b| {
            b.ports
                .iter()
                .map(|(name, port)| SlicePort {
                    name: Some(name.clone()),
                    port: Some(*port),
                    protocol: protocol_of(service, name),
                    ..Default::default()
                })
                .collect()
        })
        .unwrap_or_default();
    (endpoints, ports)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn service() -> Service {
        serde_json::from_value(json!({
            "metadata": {"name": "web", "namespace": "shop"},
            "spec": {"selector": {"app": "web"}, "ports": [
                {"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"},
                {"name": "metrics", "port": 9100, "targetPort": 9100, "protocol": "TCP"}
            ]}
        }))
        .expect("service")
    }

    fn pod(name: &str, ip: Option<&str>, ready: bool, labels: serde_json::Value) -> CachedPod {
        serde_json::from_value(json!({
            "metadata": {"name": name, "namespace": "shop", "uid": format!("uid-{name}"), "labels": labels},
            "spec": {"nodeName": "n1", "containers": [{"name": "c", "image": "x", "ports": [{"name": "http", "containerPort": 8080}]}]},
            "status": {"phase": "Running", "podIP": ip, "conditions": [{"type": "Ready", "status": if ready {"True"} else {"False"}}]}
        }))
        .expect("pod")
    }

    #[test]
    fn endpoints_resolve_named_ports_and_split_by_readiness() {
        let pods = vec![
            pod("a", Some("10.0.0.2"), true, json!({"app": "web"})),
            pod("b", Some("10.0.0.1"), false, json!({"app": "web"})),
            pod("c", None, true, json!({"app": "web"})),
            pod("d", Some("10.0.0.9"), true, json!({"app": "db"})),
        ];
        let svc = service();
        let b = backends(&svc, &pods);
        assert_eq!(b.iter().map(|b| b.ip.as_str()).collect::<Vec<_>>(), ["10.0.0.1", "10.0.0.2"]);
        assert_eq!(b[0].ports.get("http"), Some(&8080));
        assert_eq!(b[0].ports.get("metrics"), Some(&9100));
        let s = subsets(&svc, &b);
        assert_eq!(s.len(), 1);
        let ready: Vec<_> = s[0].addresses.iter().flatten().map(|a| a.ip.clone()).collect();
        let not_ready: Vec<_> = s[0].not_ready_addresses.iter().flatten().map(|a| a.ip.clone()).collect();
        assert_eq!((ready, not_ready), (vec!["10.0.0.2".to_string()], vec!["10.0.0.1".to_string()]));
        let (endpoints, ports) = slice(&svc, &b);
        assert_eq!(endpoints.len(), 2);
        assert_eq!(endpoints[0].conditions.as_ref().and_then(|c| c.ready), Some(false));
        assert_eq!(ports.len(), 2);
    }

    #[test]
    fn endpoints_skip_finished_pods_and_services_without_selector() {
        let mut done = pod("a", Some("10.0.0.2"), false, json!({"app": "web"}));
        if let Some(s) = done.status.as_mut() {
            s.phase = Some("Succeeded".into());
        }
        assert!(backends(&service(), &[done]).is_empty());
        let mut manual = service();
        if let Some(spec) = manual.spec.as_mut() {
            spec.selector = None;
        }
        assert!(backends(&manual, &[pod("a", Some("10.0.0.2"), true, json!({"app": "web"}))]).is_empty());
    }

    #[test]
    fn endpoints_named_port_missing_in_pod_is_left_out() {
        let mut p = pod("a", Some("10.0.0.2"), true, json!({"app": "web"}));
        if let Some(spec) = p.spec.as_mut() {
            spec.containers[0].ports = None;
        }
        let b = backends(&service(), &[p]);
        assert_eq!(b[0].ports.get("http"), None);
        assert_eq!(b[0].ports.get("metrics"), Some(&9100));
    }
}
