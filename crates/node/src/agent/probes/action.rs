//! What a probe or hook does, resolved from the spec against its
//! container: a named port becomes the container's port of that name
//! (or a number written as a string), an empty host the pod's IP, a
//! scheme `HTTP` or `HTTPS`, headers a list. A port that cannot be
//! resolved is an error of the probe, not a failure.

use crate::agent::http_get::{self, Scheme, Url};
use k8s_openapi::api::core::v1::{Container, HTTPGetAction, Probe};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use std::time::Duration;

/// The kubelet's version in user agents (`kube-probe/1.33`).
const VERSION: &str = "1.33";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Exec(Vec<String>),
    Http(http_get::Request),
    Tcp { host: String, port: u16 },
    Grpc { host: String, port: u16, service: String },
}

/// A probe's timings and thresholds with Kubernetes' defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    pub initial_delay: Duration,
    pub period: Duration,
    pub timeout: Duration,
    pub success: u32,
    pub failure: u32,
}

fn positive(v: Option<i32>, default: i32) -> u32 {
    u32::try_from(v.filter(|v| *v > 0).unwrap_or(default)).unwrap_or(1)
}

impl Timing {
    pub fn of(p: &Probe) -> Timing {
        Timing {
            initial_delay: Duration::from_secs(u64::try_from(p.initial_delay_seconds.unwrap_or(0)).unwrap_or(0)),
            period: Duration::from_secs(positive(p.period_seconds, 10).into()),
            timeout: Duration::from_secs(positive(p.timeout_seconds, 1).into()),
            success: positive(p.success_threshold, 1),
            failure: positive(p.failure_threshold, 3),
        }
    }
}

/// The probe's action.
pub fn of_probe(p: &Probe, c: &Container, pod_ip: &str) -> Result<Action, String> {
    if let Some(exec) = &p.exec {
        return Ok(Action::Exec(exec.command.clone().unwrap_or_default()));
    }
    if let Some(get) = &p.http_get {
        return http_request(get, c, pod_ip, "probe").map(Action::Http);
    }
    if let Some(tcp) = &p.tcp_socket {
        let host = tcp.host.clone().filter(|h| !h.is_empty()).unwrap_or_else(|| pod_ip.to_string());
        return Ok(Action::Tcp { host, port: port(&tcp.port, c)? });
    }
    if let Some(grpc) = &p.grpc {
        let port = u16::try_from(grpc.port).ok().filter(|p| *p > 0).ok_or_else(|| format!("invalid port number: {}", grpc.port))?;
        return Ok(Action::Grpc { host: pod_ip.to_string(), port, service: grpc.service.clone().unwrap_or_default() });
    }
    Err("missing probe handler".into())
}

/// The GET of an `httpGet` probe or hook (`purpose`: `probe` or
/// `lifecycle`, as in the user agent).
pub fn http_request(get: &HTTPGetAction, c: &Container, pod_ip: &str, purpose: &str) -> Result<http_get::Request, String> {
    let scheme = Scheme::parse(get.scheme.as_deref().unwrap_or(""))?;
    let host = get.host.as_deref().filter(|h| !h.is_empty()).unwrap_or(pod_ip);
    let url = Url::new(scheme, host, port(&get.port, c)?, get.path.as_deref().unwrap_or(""));
    let headers = get.http_headers.iter().flatten().map(|h| (h.name.clone(), h.value.clone())).collect();
    Ok(http_get::Request { url, headers, user_agent: format!("kube-{purpose}/{VERSION}") })
}

/// A port by number, or by the name of one of the container's ports.
pub fn port(p: &IntOrString, c: &Container) -> Result<u16, String> {
    let number = match p {
        IntOrString::Int(n) => i64::from(*n),
        IntOrString::String(name) => match c.ports.iter().flatten().find(|port| port.name.as_deref() == Some(name.as_str())) {
            Some(port) => i64::from(port.container_port),
            None => name.parse::<i64>().map_err(|_| format!("port {name} not found"))?,
        },
    };
    u16::try_from(number).ok().filter(|n| *n > 0).ok_or_else(|| format!("invalid port number: {number}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn container() -> Container {
        serde_json::from_value(json!({"name": "web", "ports": [{"name": "http", "containerPort": 8080}, {"name": "zero", "containerPort": 0}]})).expect("a container")
    }

    fn probe(v: serde_json::Value) -> Probe {
        serde_json::from_value(v).expect("a probe")
    }

    #[test]
    fn probes_resolve_ports_hosts_and_defaults() {
        let c = container();
        assert_eq!(port(&IntOrString::String("http".into()), &c), Ok(8080));
        assert_eq!(port(&IntOrString::String("9090".into()), &c), Ok(9090));
        assert_eq!(port(&IntOrString::String("metrics".into()), &c), Err("port metrics not found".into()));
        assert_eq!(port(&IntOrString::String("zero".into()), &c), Err("invalid port number: 0".into()));
        assert_eq!(port(&IntOrString::Int(70000), &c), Err("invalid port number: 70000".into()));

        let get = probe(json!({"httpGet": {"port": "http", "path": "healthz", "scheme": "HTTPS", "httpHeaders": [{"name": "X-A", "value": "b"}]}}));
        let Ok(Action::Http(r)) = of_probe(&get, &c, "10.88.0.7") else { panic!("an http action") };
        assert_eq!(r.url.to_string(), "https://10.88.0.7:8080/healthz");
        assert_eq!((r.headers, r.user_agent.as_str()), (vec![("X-A".to_string(), "b".to_string())], "kube-probe/1.33"));
        let tcp = probe(json!({"tcpSocket": {"port": 6379, "host": "127.0.0.1"}}));
        assert_eq!(of_probe(&tcp, &c, "10.88.0.7"), Ok(Action::Tcp { host: "127.0.0.1".into(), port: 6379 }));
        let grpc = probe(json!({"grpc": {"port": 9000, "service": "db"}}));
        assert_eq!(of_probe(&grpc, &c, "10.88.0.7"), Ok(Action::Grpc { host: "10.88.0.7".into(), port: 9000, service: "db".into() }));

        let t = Timing::of(&probe(json!({"exec": {"command": ["true"]}})));
        assert_eq!(t, Timing { initial_delay: Duration::ZERO, period: Duration::from_secs(10), timeout: Duration::from_secs(1), success: 1, failure: 3 });
        let t = Timing::of(&probe(json!({"initialDelaySeconds": 5, "periodSeconds": 2, "timeoutSeconds": 3, "successThreshold": 2, "failureThreshold": 1})));
        assert_eq!((t.initial_delay.as_secs(), t.period.as_secs(), t.timeout.as_secs(), t.success, t.failure), (5, 2, 3, 2, 1));
    }
}
