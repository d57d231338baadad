//! The status a simulated kubelet reports for a pod: Running with every
//! container running and ready, or ended (Succeeded, or Failed with the
//! exit code of `nubis.io/simulated-exit-code`), as a pure function of the
//! pod, its addresses and the clock.

use super::{DEFAULT_DURATION, DURATION_ANNOTATION, EXIT_CODE_ANNOTATION};
use k8s_openapi::api::core::v1::{Container, Pod};
use serde_json::{Value, json};
use std::net::Ipv4Addr;
use std::time::Duration;

/// How and when a Job-like pod ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub after: Duration,
    pub exit_code: i32,
}

impl Outcome {
    /// From the pod's annotations; a malformed value falls back to the
    /// default (1 s, exit code 0).
    pub fn of(pod: &Pod) -> Outcome {
        let annotations = pod.metadata.annotations.as_ref();
        let after = annotations
            .and_then(|a| a.get(DURATION_ANNOTATION))
            .and_then(|d| parse_duration(d))
            .unwrap_or(DEFAULT_DURATION);
        let exit_code = annotations.and_then(|a| a.get(EXIT_CODE_ANNOTATION)).and_then(|c| c.trim().parse().ok()).unwrap_or(0);
        Outcome { after, exit_code }
    }
}

/// Go-style durations: `500ms`, `5s`, `1m30s`, `2h`.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let mut total = Duration::ZERO;
    let mut rest = text.trim();
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        let number: f64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest.find(|c: char| c.is_ascii_digit()).unwrap_or(rest.len());
        let seconds = match &rest[..unit_len] {
            "ms" => 0.001,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return None,
        };
        total += Duration::from_secs_f64(number * seconds);
        rest = &rest[unit_len..];
    }
    Some(total)
}

/// The pod's status: running (`end` None) or ended.
pub fn status(pod: &Pod, ip: Ipv4Addr, host_ip: Ipv4Addr, started: jiff::Timestamp, end: Option<&Outcome>, now: jiff::Timestamp) -> Value {
    let spec = pod.spec.as_ref();
    let uid = pod.metadata.uid.clone().unwrap_or_default();
    let started = started.to_string();
    let now = now.to_string();
    let container_state = |c: &Container, done: Option<&Outcome>| -> Value {
        let id = format!("simulated://{uid}/{}", c.name);
        let image = c.image.clone().unwrap_or_default();
        let (state, ready) = match done {
            None => (json!({"running": {"startedAt": started}}), true),
            Some(o) => (
                json!({"terminated": {
                    "exitCode": o.exit_code,
                    "reason": if o.exit_code == 0 { "Completed" } else { "Error" },
                    "startedAt": started,
                    "finishedAt": now,
                    "containerID": id,
                }}),
                false,
            ),
        };
        json!({
            "name": c.name,
            "state": state,
            "lastState": {},
            "ready": ready,
            "started": done.is_none(),
            "restartCount": 0,
            "image": image,
            "imageID": format!("simulated://{image}"),
            "containerID": id,
        })
    };
    let containers: Vec<Value> = spec.iter().flat_map(|s| s.containers.iter()).map(|c| container_state(c, end)).collect();
    let completed = Outcome { after: Duration::ZERO, exit_code: 0 };
    let init: Vec<Value> = spec
        .iter()
        .flat_map(|s| s.init_containers.iter().flatten())
        .map(|c| {
            // Sidecars run beside the containers; others ran to completion.
            let sidecar = c.restart_policy.as_deref() == Some("Always");
            container_state(c, if sidecar { end } else { Some(&completed) })
        })
        .collect();
    let (phase, ready, reason) = match end {
        None => ("Running", "True", None),
        Some(o) if o.exit_code == 0 => ("Succeeded", "False", Some("PodCompleted")),
        Some(_) => ("Failed", "False", Some("PodFailed")),
    };
    let condition = |type_: &str, status: &str, reason: Option<&str>| {
        let mut c = json!({"type": type_, "status": status, "lastProbeTime": null, "lastTransitionTime": if status == "True" { &started } else { &now }});
        if let Some(r) = reason {
            c["reason"] = json!(r);
        }
        c
    };
    let mut status = json!({
        "phase": phase,
        "conditions": [
            condition("PodReadyToStartContainers", if end.is_none() { "True" } else { "False" }, None),
            condition("Initialized", "True", None),
            condition("Ready", ready, reason),
            condition("ContainersReady", ready, reason),
            condition("PodScheduled", "True", None),
        ],
        "hostIP": host_ip.to_string(),
        "hostIPs": [{"ip": host_ip.to_string()}],
        "podIP": ip.to_string(),
        "podIPs": [{"ip": ip.to_string()}],
        "startTime": started,
        "containerStatuses": containers,
    });
    if !init.is_empty() {
        status["initContainerStatuses"] = json!(init);
    }
    if let Some(qos) = pod.status.as_ref().and_then(|s| s.qos_class.as_ref()) {
        status["qosClass"] = json!(qos);
    }
    status
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(annotations: Value) -> Pod {
        serde_json::from_value(json!({
            "metadata": {"name": "p", "namespace": "default", "uid": "u1", "annotations": annotations},
            "spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox"}]},
            "status": {"phase": "Pending", "qosClass": "BestEffort"},
        }))
        .expect("pod")
    }

    fn at(s: &str) -> jiff::Timestamp {
        s.parse().expect("time")
    }

    #[test]
    fn sim_durations() {
        assert_eq!(parse_duration("5s"), Some(Duration::from_secs(5)));
        assert_eq!(parse_duration("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse_duration("1m30s"), Some(Duration::from_secs(90)));
        assert_eq!(parse_duration("soon"), None);
        assert_eq!(Outcome::of(&pod(json!({}))), Outcome { after: Duration::from_secs(1), exit_code: 0 });
        let o = Outcome::of(&pod(json!({"nubis.io/simulated-duration": "2s", "nubis.io/simulated-exit-code": "3"})));
        assert_eq!(o, Outcome { after: Duration::from_secs(2), exit_code: 3 });
    }

    #[test]
    fn sim_running_status() {
        let p = pod(json!({}));
        let t = at("2026-01-01T00:00:00Z");
        let s = status(&p, Ipv4Addr::new(10, 244, 0, 2), Ipv4Addr::new(172, 30, 0, 1), t, None, t);
        assert_eq!(s["phase"], "Running");
        assert_eq!(s["podIP"], "10.244.0.2");
        assert_eq!(s["hostIP"], "172.30.0.1");
        assert_eq!(s["startTime"], "2026-01-01T00:00:00Z");
        assert_eq!(s["qosClass"], "BestEffort");
        let c = &s["containerStatuses"][0];
        assert_eq!(c["ready"], true);
        assert_eq!(c["restartCount"], 0);
        assert_eq!(c["image"], "busybox");
        assert!(c["state"]["running"]["startedAt"].is_string());
        for cond in s["conditions"].as_array().expect("conditions") {
            assert_eq!(cond["status"], "True", "{cond}");
        }
    }

    #[test]
    fn sim_failed_status() {
        let p = pod(json!({}));
        let t = at("2026-01-01T00:00:00Z");
        let end = Outcome { after: Duration::ZERO, exit_code: 2 };
        let s = status(&p, Ipv4Addr::new(10, 244, 0, 2), Ipv4Addr::new(172, 30, 0, 1), t, Some(&end), t);
        assert_eq!(s["phase"], "Failed");
        let term = &s["containerStatuses"][0]["state"]["terminated"];
        assert_eq!(term["exitCode"], 2);
        assert_eq!(term["reason"], "Error");
        let ok = status(&p, Ipv4Addr::new(10, 244, 0, 2), Ipv4Addr::new(172, 30, 0, 1), t, Some(&Outcome { after: Duration::ZERO, exit_code: 0 }), t);
        assert_eq!(ok["phase"], "Succeeded");
        assert_eq!(ok["containerStatuses"][0]["state"]["terminated"]["reason"], "Completed");
    }
}
