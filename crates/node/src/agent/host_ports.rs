//! The host ports a pod asks for (`ports[].hostPort` of its containers),
//! as the pod network maps them (`net::host_ports`).

use k8s_openapi::api::core::v1::Pod;
use net::host_ports::{HostPort, Protocol};
use std::net::Ipv4Addr;

/// The pod's mappings to its address `pod_ip`; SCTP ports are left out
/// (the pod network maps TCP and UDP).
pub fn of(pod: &Pod, pod_ip: Ipv4Addr) -> Vec<HostPort> {
    let Some(spec) = pod.spec.as_ref() else { return Vec::new() };
    spec.containers
        .iter()
        .chain(spec.init_containers.iter().flatten())
        .flat_map(|c| c.ports.iter().flatten())
        .filter_map(|p| {
            let host_port = u16::try_from(p.host_port?).ok().filter(|n| *n > 0)?;
            let protocol = match p.protocol.as_deref().unwrap_or("TCP") {
                "TCP" => Protocol::Tcp,
                "UDP" => Protocol::Udp,
                _ => return None,
            };
            let host_ip = p.host_ip.as_deref().and_then(|ip| ip.parse::<Ipv4Addr>().ok()).filter(|ip| !ip.is_unspecified());
            Some(HostPort { protocol, host_port, host_ip, pod_ip, container_port: u16::try_from(p.container_port).ok()? })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_ports_come_from_every_container_port_with_one() {
        let pod: Pod = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "p"},
            "spec": {"containers": [
                {"name": "web", "ports": [{"containerPort": 80, "hostPort": 8080}, {"containerPort": 81}, {"containerPort": 53, "hostPort": 5353, "protocol": "UDP", "hostIP": "192.0.2.1"}]},
                {"name": "sctp", "ports": [{"containerPort": 9, "hostPort": 9, "protocol": "SCTP"}]},
            ]},
        }))
        .expect("a pod");
        let ip = Ipv4Addr::new(10, 88, 0, 9);
        assert_eq!(
            of(&pod, ip),
            vec![
                HostPort { protocol: Protocol::Tcp, host_port: 8080, host_ip: None, pod_ip: ip, container_port: 80 },
                HostPort { protocol: Protocol::Udp, host_port: 5353, host_ip: Some(Ipv4Addr::new(192, 0, 2, 1)), pod_ip: ip, container_port: 53 },
            ]
        );
    }
}
