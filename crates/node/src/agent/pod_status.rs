//! A pod's status as the kubelet reports it, from what the agent saw of
//! its containers (pure, so each rule is tested on its own): phase,
//! conditions, container statuses with state, last state, restarts,
//! `started` and `ready` (as the probes found them), addresses, start time
//! and QoS class. Sidecars (init containers with `restartPolicy: Always`)
//! count as the kubelet counts them: in readiness, and as running while
//! they run after the app containers ended.

use super::pod_failure::Failure;
use jiff::Timestamp;
use k8s_openapi::api::core::v1::{Container, Pod};
use serde_json::{Value, json};

/// One container as the agent sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub name: String,
    pub image: String,
    /// `repo@sha256:...` once the image is present.
    pub image_id: String,
    /// `runc://<id>` once created.
    pub container_id: String,
    pub restart_count: u32,
    pub state: State,
    /// How the previous attempt ended.
    pub last: Option<Ended>,
    /// Running, and its startup probe passed (or it has none).
    pub started: bool,
    /// Started and its readiness probe passes (or it has none); for an
    /// init container that is not a sidecar, ended successfully.
    pub ready: bool,
}

/// A container's current state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    Waiting { reason: String, message: Option<String> },
    Running { started_at: String },
    Terminated(Ended),
}

/// How an attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ended {
    pub exit_code: i32,
    pub signal: Option<i32>,
    pub started_at: String,
    pub finished_at: String,
    pub container_id: String,
    /// The OOM killer ended one of its processes.
    pub oom_killed: bool,
    /// What it wrote to its termination message path (or its log's end).
    pub message: Option<String>,
}

impl Ended {
    /// How the container `container_id` (`runc://<id>`) ended, from its
    /// shim's record.
    pub fn from_exit(exit: crate::shim::Exit, container_id: String) -> Ended {
        Ended { exit_code: exit.exit_code, signal: exit.signal, started_at: exit.started_at, finished_at: exit.finished_at, container_id, oom_killed: exit.oom_killed, message: None }
    }

    /// Kubernetes' reason: `Completed` for 0, `OOMKilled` when the OOM
    /// killer ended the container (or the process whose end failed it),
    /// `Error` otherwise. A container that outlives the kill of one of its
    /// processes and exits 0 stays `Completed`.
    pub fn reason(&self) -> &'static str {
        match (self.exit_code, self.oom_killed) {
            (0, _) => "Completed",
            (_, true) => "OOMKilled",
            (_, false) => "Error",
        }
    }

    fn json(&self) -> Value {
        let mut t = json!({
            "exitCode": self.exit_code,
            "reason": self.reason(),
            "startedAt": self.started_at,
            "finishedAt": self.finished_at,
            "containerID": self.container_id,
        });
        if let Some(s) = self.signal {
            t["signal"] = json!(s);
        }
        if let Some(m) = self.message.as_ref().filter(|m| !m.is_empty()) {
            t["message"] = json!(m);
        }
        t
    }
}

impl State {
    fn json(&self) -> Value {
        match self {
            State::Waiting { reason, message } => {
                let mut w = json!({"reason": reason});
                if let Some(m) = message {
                    w["message"] = json!(m);
                }
                json!({"waiting": w})
            }
            State::Running { started_at } => json!({"running": {"startedAt": started_at}}),
            State::Terminated(e) => json!({"terminated": e.json()}),
        }
    }
}

/// The pod's phase (Kubernetes' `getPhase`): Pending until every init
/// container succeeded (every sidecar started) and an app container
/// started; Running while one runs (a sidecar too) or will restart;
/// Succeeded or Failed when all app containers ended for good and the
/// sidecars stopped (how a sidecar ended does not count).
pub fn phase(restart_policy: &str, init_done: bool, app: &[Seen], sidecars: &[&Seen]) -> &'static str {
    if !init_done || app.is_empty() {
        return "Pending";
    }
    let (mut running, mut waiting, mut succeeded, mut failed) = (0, 0, 0, 0);
    running += sidecars.iter().filter(|c| matches!(c.state, State::Running { .. })).count();
    for c in app {
        match &c.state {
            State::Running { .. } => running += 1,
            State::Terminated(e) if e.exit_code == 0 => succeeded += 1,
            State::Terminated(_) => failed += 1,
            // Waiting after having run: a restart in back-off.
            State::Waiting { .. } if c.last.is_some() => running += 1,
            State::Waiting { .. } => waiting += 1,
        }
    }
    if waiting > 0 {
        return "Pending";
    }
    if running > 0 {
        return "Running";
    }
    match restart_policy {
        "Always" => "Running",
        "OnFailure" if failed > 0 => "Running",
        _ if failed > 0 => "Failed",
        _ if succeeded > 0 => "Succeeded",
        _ => "Pending",
    }
}

/// Guaranteed when every container's (init containers' too) requests
/// equal its limits for CPU and memory; BestEffort when none sets any;
/// Burstable otherwise.
pub fn qos_class<'a>(containers: impl IntoIterator<Item = &'a Container>) -> &'static str {
    let mut any = false;
    let mut guaranteed = true;
    for c in containers {
        let r = c.resources.as_ref();
        let requests = r.and_then(|r| r.requests.as_ref());
        let limits = r.and_then(|r| r.limits.as_ref());
        for res in ["cpu", "memory"] {
            let (req, lim) = (requests.and_then(|m| m.get(res)), limits.and_then(|m| m.get(res)));
            any |= req.is_some() || lim.is_some();
            // A limit alone defaults the request to it.
            if lim.is_none() || req.is_some_and(|q| Some(q) != lim) {
                guaranteed = false;
            }
        }
    }
    if !any {
        "BestEffort"
    } else if guaranteed {
        "Guaranteed"
    } else {
        "Burstable"
    }
}

fn condition(pod: &Pod, type_: &str, ok: bool, reason: Option<(&str, Option<&str>)>, now: &str) -> Value {
    let status = if ok { "True" } else { "False" };
    // The transition time moves only when the status does.
    let since = pod
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .and_then(|cs| cs.iter().find(|c| c.type_ == type_))
        .filter(|c| c.status == status)
        .and_then(|c| c.last_transition_time.as_ref())
        .map(|t| t.0.to_string())
        .unwrap_or_else(|| now.to_string());
    let mut c = json!({"type": type_, "status": status, "lastProbeTime": null, "lastTransitionTime": since});
    if let Some((r, message)) = reason {
        c["reason"] = json!(r);
        if let Some(m) = message {
            c["message"] = json!(m);
        }
    }
    c
}

/// The containers ContainersReady waits for, unready ones as the kubelet
/// lists them (`[a b]`, Go's way of printing a list).
fn unready(sidecars: &[&Seen], app: &[Seen]) -> Option<String> {
    let names: Vec<&str> = sidecars.iter().copied().chain(app.iter()).filter(|c| !c.ready).map(|c| c.name.as_str()).collect();
    (!names.is_empty()).then(|| format!("containers with unready status: [{}]", names.join(" ")))
}

fn container_json(c: &Seen) -> Value {
    let mut v = json!({
        "name": c.name,
        "image": c.image,
        "imageID": c.image_id,
        "ready": c.ready,
        "restartCount": c.restart_count,
        "started": c.started,
        "state": c.state.json(),
        "lastState": c.last.as_ref().map(|e| json!({"terminated": e.json()})).unwrap_or_else(|| json!({})),
    });
    if !c.container_id.is_empty() {
        v["containerID"] = json!(c.container_id);
    }
    v
}

/// Everything the status is made of besides the pod.
#[derive(Debug, Clone)]
pub struct Observed<'a> {
    pub init: &'a [Seen],
    pub app: &'a [Seen],
    pub init_done: bool,
    pub sandbox_ready: bool,
    pub pod_ip: Option<String>,
    pub host_ip: String,
    pub start_time: Timestamp,
}

/// The pod's status, to be written whole through `pods/status`.
pub fn status(pod: &Pod, o: &Observed, now: Timestamp) -> Value {
    build(pod, o, None, now)
}

/// The status of a pod the node ended for good (`failure`): `Failed`
/// with the failure's reason and message, and for an eviction the
/// `DisruptionTarget` condition the kubelet adds.
pub fn failed(pod: &Pod, o: &Observed, failure: &Failure, now: Timestamp) -> Value {
    let mut status = build(pod, o, Some("Failed"), now);
    status["reason"] = json!(failure.reason);
    status["message"] = json!(failure.message);
    if failure.disruption
        && let Some(conditions) = status["conditions"].as_array_mut()
    {
        conditions.push(json!({
            "type": "DisruptionTarget",
            "status": "True",
            "reason": "TerminationByKubelet",
            "message": failure.message,
            "lastProbeTime": null,
            "lastTransitionTime": now.to_string(),
        }));
    }
    status
}

fn build(pod: &Pod, o: &Observed, phase_override: Option<&'static str>, now: Timestamp) -> Value {
    let now = now.to_string();
    let spec = pod.spec.as_ref();
    let policy = spec.and_then(|s| s.restart_policy.as_deref()).unwrap_or("Always");
    let sidecar_names = super::sidecars::names(pod);
    let sidecars: Vec<&Seen> = o.init.iter().filter(|c| sidecar_names.contains(&c.name)).collect();
    let phase = phase_override.unwrap_or_else(|| phase(policy, o.init_done, o.app, &sidecars));
    let terminal = matches!(phase, "Succeeded" | "Failed");
    let unready = if o.app.is_empty() { Some("containers with unknown status".to_string()) } else { unready(&sidecars, o.app) };
    let all_ready = unready.is_none() && !terminal;
    let not_ready = if terminal { Some(("PodCompleted", None)) } else { unready.as_deref().map(|m| ("ContainersNotReady", Some(m))) };
    let init_reason = (!o.init_done).then_some(("ContainersNotInitialized", None));
    let scheduled = pod
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .and_then(|cs| cs.iter().find(|c| c.type_ == "PodScheduled"))
        .and_then(|c| serde_json::to_value(c).ok())
        .unwrap_or_else(|| json!({"type": "PodScheduled", "status": "True", "lastProbeTime": null, "lastTransitionTime": now}));
    let conditions = vec![
        condition(pod, "PodReadyToStartContainers", o.sandbox_ready, None, &now),
        condition(pod, "Initialized", o.init_done, init_reason.or(if o.init_done && !o.init.is_empty() && terminal { Some(("PodCompleted", None)) } else { None }), &now),
        condition(pod, "Ready", all_ready, not_ready, &now),
        condition(pod, "ContainersReady", all_ready, not_ready, &now),
        scheduled,
    ];
    let mut status = json!({
        "phase": phase,
        "conditions": conditions,
        "hostIP": o.host_ip,
        "hostIPs": [{"ip": o.host_ip}],
        "startTime": o.start_time.to_string(),
        "qosClass": qos_class(spec.into_iter().flat_map(|s| s.containers.iter().chain(s.init_containers.iter().flatten()))),
        "containerStatuses": o.app.iter().map(container_json).collect::<Vec<_>>(),
    });
    if !o.init.is_empty() {
        status["initContainerStatuses"] = json!(o.init.iter().map(container_json).collect::<Vec<_>>());
    }
    if let Some(ip) = &o.pod_ip {
        status["podIP"] = json!(ip);
        status["podIPs"] = json!([{"ip": ip}]);
    }
    status
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seen(name: &str, state: State, last: Option<Ended>) -> Seen {
        let running = matches!(state, State::Running { .. });
        Seen { name: name.into(), image: "busybox".into(), image_id: String::new(), container_id: format!("runc://{name}"), restart_count: u32::from(last.is_some()), state, last, started: running, ready: running }
    }

    fn ended(code: i32) -> Ended {
        Ended { exit_code: code, signal: None, started_at: "2026-01-01T00:00:00Z".into(), finished_at: "2026-01-01T00:00:01Z".into(), container_id: "runc://x".into(), oom_killed: false, message: None }
    }

    fn running() -> State {
        State::Running { started_at: "2026-01-01T00:00:00Z".into() }
    }

    fn waiting(reason: &str) -> State {
        State::Waiting { reason: reason.into(), message: None }
    }

    #[test]
    fn pod_status_phase_follows_kubernetes() {
        assert_eq!(phase("Always", false, &[seen("a", waiting("PodInitializing"), None)], &[]), "Pending");
        assert_eq!(phase("Always", true, &[seen("a", waiting("ContainerCreating"), None)], &[]), "Pending");
        assert_eq!(phase("Always", true, &[seen("a", running(), None)], &[]), "Running");
        assert_eq!(phase("Always", true, &[seen("a", waiting("CrashLoopBackOff"), Some(ended(1)))], &[]), "Running", "restarting");
        assert_eq!(phase("Never", true, &[seen("a", State::Terminated(ended(0)), None)], &[]), "Succeeded");
        assert_eq!(phase("Never", true, &[seen("a", State::Terminated(ended(0)), None), seen("b", State::Terminated(ended(2)), None)], &[]), "Failed");
        assert_eq!(phase("OnFailure", true, &[seen("a", State::Terminated(ended(2)), None)], &[]), "Running", "it will restart");
        assert_eq!(phase("OnFailure", true, &[seen("a", State::Terminated(ended(0)), None)], &[]), "Succeeded");
        assert_eq!(phase("Never", true, &[seen("a", running(), None), seen("b", State::Terminated(ended(0)), None)], &[]), "Running");
    }

    #[test]
    fn pod_status_sidecars_keep_the_pod_running_until_they_stop() {
        let sidecar = seen("proxy", running(), None);
        let done = [seen("job", State::Terminated(ended(0)), None)];
        assert_eq!(phase("Never", true, &done, &[&sidecar]), "Running", "the sidecar is being stopped");
        let stopped = seen("proxy", State::Terminated(ended(143)), None);
        assert_eq!(phase("Never", true, &done, &[&stopped]), "Succeeded", "how a sidecar ended does not count");
        assert_eq!(phase("Never", true, &[seen("job", State::Terminated(ended(1)), None)], &[&stopped]), "Failed");
    }

    #[test]
    fn pod_status_reports_readiness_started_and_sidecars() {
        let pod: Pod = serde_json::from_value(json!({
            "metadata": {"name": "p"},
            "spec": {"restartPolicy": "Always", "initContainers": [{"name": "setup"}, {"name": "proxy", "restartPolicy": "Always"}], "containers": [{"name": "web"}]},
        }))
        .expect("a pod");
        let now = Timestamp::from_second(1_800_000_000).expect("a time");
        let setup = Seen { ready: true, ..seen("setup", State::Terminated(ended(0)), None) };
        let proxy = seen("proxy", running(), None);
        let web = Seen { ready: false, ..seen("web", running(), None) };
        let init = [setup, proxy];
        let app = [web.clone()];
        let o = Observed { init: &init, app: &app, init_done: true, sandbox_ready: true, pod_ip: None, host_ip: "192.168.1.5".into(), start_time: now };
        let s = status(&pod, &o, now);
        let ready = &s["conditions"][2];
        assert_eq!((ready["status"].as_str(), ready["reason"].as_str(), ready["message"].as_str()), (Some("False"), Some("ContainersNotReady"), Some("containers with unready status: [web]")));
        let c = &s["containerStatuses"][0];
        assert_eq!((c["started"].as_bool(), c["ready"].as_bool()), (Some(true), Some(false)), "running, readiness probe failing");
        let statuses: Vec<(&str, bool, bool)> = s["initContainerStatuses"].as_array().into_iter().flatten().map(|c| (c["name"].as_str().unwrap_or(""), c["started"] == true, c["ready"] == true)).collect();
        assert_eq!(statuses, [("setup", false, true), ("proxy", true, true)]);

        let unstarted = Seen { started: false, ready: false, ..seen("proxy", running(), None) };
        let init = [init[0].clone(), unstarted];
        let app = [Seen { ready: true, ..web }];
        let o = Observed { init: &init, app: &app, ..o };
        let s = status(&pod, &o, now);
        assert_eq!(s["conditions"][3]["message"], "containers with unready status: [proxy]", "a sidecar counts in ContainersReady");
    }

    #[test]
    fn pod_status_terminated_states_carry_their_message() {
        let e = Ended { message: Some("all done\n".into()), ..ended(0) };
        assert_eq!(e.json()["message"], "all done\n");
        assert!(Ended { message: Some(String::new()), ..ended(0) }.json().get("message").is_none(), "an empty message is left out");
    }

    #[test]
    fn pod_status_qos_classes() {
        let c = |r: serde_json::Value| -> Container { serde_json::from_value(json!({"name": "c", "resources": r})).expect("a container") };
        assert_eq!(qos_class(&[c(json!({}))]), "BestEffort");
        assert_eq!(qos_class(&[c(json!({"limits": {"cpu": "1", "memory": "1Gi"}}))]), "Guaranteed", "requests default to limits");
        assert_eq!(qos_class(&[c(json!({"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"cpu": "1", "memory": "1Gi"}}))]), "Guaranteed");
        assert_eq!(qos_class(&[c(json!({"requests": {"cpu": "100m"}}))]), "Burstable");
        assert_eq!(qos_class(&[c(json!({"limits": {"cpu": "1", "memory": "1Gi"}})), c(json!({}))]), "Burstable");
    }

    #[test]
    fn pod_status_reports_oom_kills() {
        let oom = Ended { oom_killed: true, signal: Some(9), ..ended(137) };
        assert_eq!((oom.reason(), ended(137).reason(), ended(0).reason()), ("OOMKilled", "Error", "Completed"));
        assert_eq!(Ended { oom_killed: true, ..ended(0) }.reason(), "Completed", "it survived the kill");
        let pod: Pod = serde_json::from_value(json!({"metadata": {"name": "p"}, "spec": {"restartPolicy": "Always", "containers": [{"name": "hog"}]}})).expect("a pod");
        let app = [seen("hog", State::Terminated(oom.clone()), Some(oom))];
        let now = Timestamp::from_second(1_800_000_000).expect("a time");
        let o = Observed { init: &[], app: &app, init_done: true, sandbox_ready: true, pod_ip: None, host_ip: "192.168.1.5".into(), start_time: now };
        let c = &status(&pod, &o, now)["containerStatuses"][0];
        for state in ["state", "lastState"] {
            assert_eq!((c[state]["terminated"]["reason"].as_str(), c[state]["terminated"]["exitCode"].as_i64()), (Some("OOMKilled"), Some(137)), "{state}");
        }
        let exit = crate::shim::Exit { pid: 1, exit_code: 137, signal: Some(9), started_at: "a".into(), finished_at: "b".into(), oom_killed: true };
        assert_eq!(Ended::from_exit(exit, "runc://c".into()).reason(), "OOMKilled");
    }

    #[test]
    fn pod_status_reports_containers_conditions_and_addresses() {
        let pod: Pod = serde_json::from_value(json!({
            "metadata": {"name": "p"},
            "spec": {"restartPolicy": "Always", "containers": [{"name": "web", "image": "busybox"}]},
            "status": {"conditions": [
                {"type": "PodScheduled", "status": "True", "lastTransitionTime": "2026-01-01T00:00:00Z"},
                {"type": "Ready", "status": "False", "lastTransitionTime": "2026-01-01T00:00:05Z"},
            ]},
        }))
        .expect("a pod");
        let app = [seen("web", running(), Some(ended(137)))];
        let now = Timestamp::from_second(1_800_000_000).expect("a time");
        let o = Observed { init: &[], app: &app, init_done: true, sandbox_ready: true, pod_ip: Some("10.88.0.2".into()), host_ip: "192.168.1.5".into(), start_time: now };
        let s = status(&pod, &o, now);
        assert_eq!(s["phase"], "Running");
        assert_eq!(s["podIP"], "10.88.0.2");
        assert_eq!(s["podIPs"], json!([{"ip": "10.88.0.2"}]));
        assert_eq!(s["qosClass"], "BestEffort");
        let types: Vec<(&str, &str)> = s["conditions"].as_array().into_iter().flatten().map(|c| (c["type"].as_str().unwrap_or(""), c["status"].as_str().unwrap_or(""))).collect();
        assert_eq!(types, [("PodReadyToStartContainers", "True"), ("Initialized", "True"), ("Ready", "True"), ("ContainersReady", "True"), ("PodScheduled", "True")]);
        assert_eq!(s["conditions"][4]["lastTransitionTime"], "2026-01-01T00:00:00Z", "PodScheduled is kept as the scheduler wrote it");
        assert_eq!(s["conditions"][2]["lastTransitionTime"], now.to_string(), "Ready changed just now");
        let c = &s["containerStatuses"][0];
        assert_eq!((c["ready"].as_bool(), c["restartCount"].as_u64(), c["started"].as_bool()), (Some(true), Some(1), Some(true)));
        assert_eq!(c["lastState"]["terminated"]["exitCode"], 137);
        assert_eq!(c["lastState"]["terminated"]["reason"], "Error");
        assert_eq!(c["containerID"], "runc://web");
    }

    #[test]
    fn pod_status_of_a_pod_the_node_failed() {
        let pod: Pod = serde_json::from_value(json!({"metadata": {"name": "p"}, "spec": {"restartPolicy": "Always", "containers": [{"name": "web"}]}})).expect("a pod");
        let killed = Ended { signal: Some(9), ..ended(137) };
        let app = [seen("web", State::Terminated(killed), None)];
        let now = Timestamp::from_second(1_800_000_000).expect("a time");
        let o = Observed { init: &[], app: &app, init_done: true, sandbox_ready: false, pod_ip: None, host_ip: "192.168.1.5".into(), start_time: now };
        let evicted = Failure::evicted("The node was low on resource: ephemeral-storage. ".into());
        let s = failed(&pod, &o, &evicted, now);
        assert_eq!((s["phase"].as_str(), s["reason"].as_str()), (Some("Failed"), Some("Evicted")));
        assert_eq!(s["message"], "The node was low on resource: ephemeral-storage. ");
        let find = |t: &str| s["conditions"].as_array().into_iter().flatten().find(|c| c["type"] == t).cloned().unwrap_or_default();
        assert_eq!((find("Ready")["status"].as_str(), find("Ready")["reason"].as_str()), (Some("False"), Some("PodCompleted")));
        assert_eq!((find("DisruptionTarget")["status"].as_str(), find("DisruptionTarget")["reason"].as_str()), (Some("True"), Some("TerminationByKubelet")));
        let deadline = failed(&pod, &o, &Failure::deadline_exceeded(), now);
        assert_eq!((deadline["phase"].as_str(), deadline["reason"].as_str()), (Some("Failed"), Some("DeadlineExceeded")));
        assert_eq!(deadline["message"], "Pod was active on the node longer than the specified deadline");
        assert!(deadline["conditions"].as_array().into_iter().flatten().all(|c| c["type"] != "DisruptionTarget"));
    }
}
