//! The Pod row: READY, the STATUS reason kubectl users know (Init:0/1,
//! CrashLoopBackOff, Completed, Terminating, ...), RESTARTS with the time
//! of the last restart, and the wide IP/NODE/NOMINATED NODE/READINESS
//! GATES columns.

use jiff::Timestamp;
use serde_json::{Value, json};

use super::describe::{
    POD_SPEC_NODE_NAME, POD_SPEC_READINESS_GATES, POD_STATUS_NOMINATED_NODE_NAME, POD_STATUS_POD_IP,
};
use super::duration::{human_duration, parse_time};
use super::fields::{arr_at, bool_at, has, int_at, opt_bool, opt_str, str_at};
use super::{AGE, Col, NAME, Printer, Row, age, name};

pub(super) const PRINTERS: &[Printer] = &[Printer::new("", "Pod", COLUMNS, pod)];

const COLUMNS: &[Col] = &[
    NAME,
    Col::string(
        "Ready",
        "The aggregate readiness state of this pod for accepting traffic.",
    ),
    Col::string(
        "Status",
        "The aggregate status of the containers in this pod.",
    ),
    Col::string(
        "Restarts",
        "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.",
    ),
    AGE,
    Col::string("IP", POD_STATUS_POD_IP).wide(),
    Col::string("Node", POD_SPEC_NODE_NAME).wide(),
    Col::string("Nominated Node", POD_STATUS_NOMINATED_NODE_NAME).wide(),
    Col::string("Readiness Gates", POD_SPEC_READINESS_GATES).wide(),
];

/// The kubelet's reason for pods lost with their node.
const NODE_UNREACHABLE_POD_REASON: &str = "NodeLost";

fn condition_true(pod: &Value, type_: &str) -> Option<bool> {
    arr_at(pod, &["status", "conditions"])
        .iter()
        .find(|c| str_at(c, &["type"]) == type_)
        .map(|c| str_at(c, &["status"]) == "True")
}

/// A sidecar: an init container that keeps running (`restartPolicy:
/// Always`).
fn is_restartable_init(pod: &Value, container_name: &str) -> bool {
    arr_at(pod, &["spec", "initContainers"])
        .iter()
        .find(|c| str_at(c, &["name"]) == container_name)
        .is_some_and(|c| str_at(c, &["restartPolicy"]) == "Always")
}

fn later(current: Option<Timestamp>, candidate: Option<Timestamp>) -> Option<Timestamp> {
    match (current, candidate) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

/// When the container last terminated before its current run.
fn last_termination(status: &Value) -> Option<Timestamp> {
    if !has(status, &["lastState", "terminated"]) {
        return None;
    }
    opt_str(status, &["lastState", "terminated", "finishedAt"]).and_then(parse_time)
}

/// "Signal:9" or "ExitCode:1" for a termination without a reason.
fn termination_code(terminated: &Value, prefix: &str) -> String {
    let signal = int_at(terminated, &["signal"]);
    if signal != 0 {
        format!("{prefix}Signal:{signal}")
    } else {
        format!("{prefix}ExitCode:{}", int_at(terminated, &["exitCode"]))
    }
}

fn pod(pod: &Value, now: Timestamp) -> Row {
    let init_containers = arr_at(pod, &["spec", "initContainers"]);
    let phase = str_at(pod, &["status", "phase"]);
    let mut reason = match str_at(pod, &["status", "reason"]) {
        "" => phase.to_string(),
        r => r.to_string(),
    };
    let scheduling_gated = arr_at(pod, &["status", "conditions"]).iter().any(|c| {
        str_at(c, &["type"]) == "PodScheduled" && str_at(c, &["reason"]) == "SchedulingGated"
    });
    if scheduling_gated {
        reason = "SchedulingGated".to_string();
    }

    let mut total = arr_at(pod, &["spec", "containers"]).len();
    total += init_containers
        .iter()
        .filter(|c| str_at(c, &["restartPolicy"]) == "Always")
        .count();
    let mut ready = 0;
    let mut restarts = 0;
    let mut sidecar_restarts = 0;
    let mut last_restart: Option<Timestamp> = None;
    let mut last_sidecar_restart: Option<Timestamp> = None;

    let mut initializing = false;
    for (i, c) in arr_at(pod, &["status", "initContainerStatuses"])
        .iter()
        .enumerate()
    {
        restarts += int_at(c, &["restartCount"]);
        last_restart = later(last_restart, last_termination(c));
        let sidecar = is_restartable_init(pod, str_at(c, &["name"]));
        if sidecar {
            sidecar_restarts += int_at(c, &["restartCount"]);
            last_sidecar_restart = later(last_sidecar_restart, last_termination(c));
        }
        let terminated = has(c, &["state", "terminated"]);
        let waiting_reason = str_at(c, &["state", "waiting", "reason"]);
        if terminated && int_at(c, &["state", "terminated", "exitCode"]) == 0 {
            continue;
        }
        if sidecar && opt_bool(c, &["started"]) == Some(true) {
            if bool_at(c, &["ready"]) {
                ready += 1;
            }
            continue;
        }
        if terminated {
            reason = match str_at(c, &["state", "terminated", "reason"]) {
                "" => termination_code(&c["state"]["terminated"], "Init:"),
                r => format!("Init:{r}"),
            };
        } else if has(c, &["state", "waiting"])
            && !waiting_reason.is_empty()
            && waiting_reason != "PodInitializing"
        {
            reason = format!("Init:{waiting_reason}");
        } else {
            reason = format!("Init:{i}/{}", init_containers.len());
        }
        initializing = true;
        break;
    }

    if !initializing || condition_true(pod, "Initialized") == Some(true) {
        restarts = sidecar_restarts;
        last_restart = last_sidecar_restart;
        let mut has_running = false;
        for c in arr_at(pod, &["status", "containerStatuses"]).iter().rev() {
            restarts += int_at(c, &["restartCount"]);
            last_restart = later(last_restart, last_termination(c));
            let waiting_reason = str_at(c, &["state", "waiting", "reason"]);
            let terminated = has(c, &["state", "terminated"]);
            let terminated_reason = str_at(c, &["state", "terminated", "reason"]);
            if has(c, &["state", "waiting"]) && !waiting_reason.is_empty() {
                reason = waiting_reason.to_string();
            } else if terminated && !terminated_reason.is_empty() {
                reason = terminated_reason.to_string();
            } else if terminated {
                reason = termination_code(&c["state"]["terminated"], "");
            } else if bool_at(c, &["ready"]) && has(c, &["state", "running"]) {
                has_running = true;
                ready += 1;
            }
        }
        // A pod whose last-listed container completed still runs while
        // another container does.
        if reason == "Completed" && has_running {
            reason = if condition_true(pod, "Ready") == Some(true) {
                "Running"
            } else {
                "NotReady"
            }
            .to_string();
        }
    }

    let deleting = has(pod, &["metadata", "deletionTimestamp"]);
    if deleting && str_at(pod, &["status", "reason"]) == NODE_UNREACHABLE_POD_REASON {
        reason = "Unknown".to_string();
    } else if deleting && phase != "Failed" && phase != "Succeeded" {
        reason = "Terminating".to_string();
    }

    let restarts_cell = match last_restart {
        Some(t) if restarts != 0 => {
            format!("{restarts} ({} ago)", human_duration(now.duration_since(t)))
        }
        _ => restarts.to_string(),
    };

    let pod_ip = arr_at(pod, &["status", "podIPs"])
        .first()
        .map(|ip| str_at(ip, &["ip"]))
        .unwrap_or_else(|| str_at(pod, &["status", "podIP"]));
    let gates = arr_at(pod, &["spec", "readinessGates"]);
    let readiness_gates = if gates.is_empty() {
        "<none>".to_string()
    } else {
        let passing = gates
            .iter()
            .filter(|g| condition_true(pod, str_at(g, &["conditionType"])) == Some(true))
            .count();
        format!("{passing}/{}", gates.len())
    };

    let mut row = Row::new(vec![
        name(pod),
        Value::from(format!("{ready}/{total}")),
        Value::from(reason),
        Value::from(restarts_cell),
        age(pod, now),
        Value::from(or_none(pod_ip)),
        Value::from(or_none(str_at(pod, &["spec", "nodeName"]))),
        Value::from(or_none(str_at(pod, &["status", "nominatedNodeName"]))),
        Value::from(readiness_gates),
    ]);
    match phase {
        "Succeeded" => row.conditions.push(json!({
            "type": "Completed", "status": "True", "reason": "Succeeded",
            "message": "The pod has completed successfully."
        })),
        "Failed" => row.conditions.push(json!({
            "type": "Completed", "status": "True", "reason": "Failed", "message": "The pod failed."
        })),
        _ => {}
    }
    row
}

fn or_none(s: &str) -> &str {
    if s.is_empty() { "<none>" } else { s }
}

#[cfg(test)]
mod tests {
    use super::super::tests::now;
    use super::*;

    fn cells(p: &Value) -> Vec<Value> {
        pod(p, now()).cells
    }

    fn running(name: &str, ready: bool, restarts: i64) -> Value {
        json!({"name": name, "ready": ready, "restartCount": restarts, "started": true,
               "state": {"running": {"startedAt": "2024-06-01T11:00:00Z"}}})
    }

    #[test]
    fn table_pod_running_two_containers_one_ready() {
        let mut restarted = running("b", false, 3);
        restarted["lastState"] = json!({"terminated": {"exitCode": 1, "reason": "Error",
            "finishedAt": "2024-06-01T11:58:00Z"}});
        let p = json!({
            "metadata": {"name": "web-1", "creationTimestamp": "2024-06-01T10:00:00Z"},
            "spec": {"nodeName": "node-a", "containers": [{"name": "a"}, {"name": "b"}]},
            "status": {"phase": "Running", "podIP": "10.0.0.5", "podIPs": [{"ip": "10.0.0.5"}],
                       "conditions": [{"type": "Ready", "status": "False"}],
                       "containerStatuses": [running("a", true, 0), restarted]}
        });
        assert_eq!(
            cells(&p),
            vec![
                json!("web-1"),
                json!("1/2"),
                json!("Running"),
                json!("3 (2m ago)"),
                json!("120m"),
                json!("10.0.0.5"),
                json!("node-a"),
                json!("<none>"),
                json!("<none>")
            ]
        );
    }

    #[test]
    fn table_pod_status_reasons() {
        let base = |status: Value| {
            json!({"metadata": {"name": "p", "creationTimestamp": "2024-06-01T11:59:30Z"},
                   "spec": {"containers": [{"name": "c"}]}, "status": status})
        };
        let completed = base(json!({"phase": "Succeeded", "containerStatuses": [
            {"name": "c", "ready": false, "restartCount": 0,
             "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}]}));
        let row = pod(&completed, now());
        assert_eq!(
            row.cells[1..4],
            [json!("0/1"), json!("Completed"), json!("0")]
        );
        assert_eq!(row.conditions[0]["reason"], "Succeeded");

        let crash = base(json!({"phase": "Running", "containerStatuses": [
            {"name": "c", "ready": false, "restartCount": 5,
             "state": {"waiting": {"reason": "CrashLoopBackOff"}},
             "lastState": {"terminated": {"exitCode": 1, "finishedAt": "2024-06-01T11:59:00Z"}}}]}));
        assert_eq!(
            cells(&crash)[2..4],
            [json!("CrashLoopBackOff"), json!("5 (60s ago)")]
        );

        let creating = base(json!({"phase": "Pending", "containerStatuses": [
            {"name": "c", "ready": false, "restartCount": 0, "state": {"waiting": {"reason": "ContainerCreating"}}}]}));
        assert_eq!(cells(&creating)[2], json!("ContainerCreating"));

        let exit_code = base(json!({"phase": "Failed", "containerStatuses": [
            {"name": "c", "restartCount": 0, "state": {"terminated": {"exitCode": 137}}}]}));
        assert_eq!(cells(&exit_code)[2], json!("ExitCode:137"));
        let signal = base(json!({"phase": "Failed", "containerStatuses": [
            {"name": "c", "restartCount": 0, "state": {"terminated": {"exitCode": 0, "signal": 9}}}]}));
        assert_eq!(cells(&signal)[2], json!("Signal:9"));

        let pending = base(json!({"phase": "Pending"}));
        assert_eq!(cells(&pending)[1..3], [json!("0/1"), json!("Pending")]);
        let evicted = base(json!({"phase": "Failed", "reason": "Evicted"}));
        assert_eq!(cells(&evicted)[2], json!("Evicted"));
        let gated = base(json!({"phase": "Pending",
            "conditions": [{"type": "PodScheduled", "status": "False", "reason": "SchedulingGated"}]}));
        assert_eq!(cells(&gated)[2], json!("SchedulingGated"));
    }

    #[test]
    fn table_pod_init_containers() {
        let p = |statuses: Value, conditions: Value| {
            json!({"metadata": {"name": "p"},
                   "spec": {"initContainers": [{"name": "i1"}, {"name": "i2"}], "containers": [{"name": "c"}]},
                   "status": {"phase": "Pending", "conditions": conditions, "initContainerStatuses": statuses,
                              "containerStatuses": [{"name": "c", "restartCount": 0,
                                                     "state": {"waiting": {"reason": "PodInitializing"}}}]}})
        };
        let waiting = json!({"name": "i2", "restartCount": 0, "state": {"waiting": {"reason": "PodInitializing"}}});
        let first_running = p(
            json!([{"name": "i1", "restartCount": 0, "state": {"running": {}}}, waiting.clone()]),
            json!([]),
        );
        assert_eq!(
            cells(&first_running)[1..4],
            [json!("0/1"), json!("Init:0/2"), json!("0")]
        );
        let second = p(
            json!([{"name": "i1", "restartCount": 0, "state": {"terminated": {"exitCode": 0}}},
                   {"name": "i2", "restartCount": 0, "state": {"running": {}}}]),
            json!([]),
        );
        assert_eq!(cells(&second)[2], json!("Init:1/2"));
        let failing = p(
            json!([{"name": "i1", "restartCount": 2, "state": {"waiting": {"reason": "CrashLoopBackOff"}}}, waiting.clone()]),
            json!([]),
        );
        assert_eq!(
            cells(&failing)[2..4],
            [json!("Init:CrashLoopBackOff"), json!("2")]
        );
        let errored = p(
            json!([{"name": "i1", "restartCount": 0, "state": {"terminated": {"exitCode": 1, "reason": "Error"}}}, waiting.clone()]),
            json!([]),
        );
        assert_eq!(cells(&errored)[2], json!("Init:Error"));
        let no_reason = p(
            json!([{"name": "i1", "restartCount": 0, "state": {"terminated": {"exitCode": 2}}}, waiting]),
            json!([]),
        );
        assert_eq!(cells(&no_reason)[2], json!("Init:ExitCode:2"));
        let done = p(
            json!([{"name": "i1", "restartCount": 0, "state": {"terminated": {"exitCode": 0}}},
                   {"name": "i2", "restartCount": 0, "state": {"terminated": {"exitCode": 0}}}]),
            json!([{"type": "Initialized", "status": "True"}]),
        );
        assert_eq!(cells(&done)[2], json!("PodInitializing"));
    }

    #[test]
    fn table_pod_sidecar_counts_as_container() {
        let p = json!({
            "metadata": {"name": "p"},
            "spec": {"initContainers": [{"name": "proxy", "restartPolicy": "Always"}], "containers": [{"name": "app"}]},
            "status": {"phase": "Running", "conditions": [{"type": "Initialized", "status": "True"}],
                "initContainerStatuses": [{"name": "proxy", "ready": true, "started": true, "restartCount": 1,
                    "state": {"running": {}},
                    "lastState": {"terminated": {"exitCode": 1, "finishedAt": "2024-06-01T11:50:00Z"}}}],
                "containerStatuses": [running("app", true, 0)]}
        });
        assert_eq!(
            cells(&p)[1..4],
            [json!("2/2"), json!("Running"), json!("1 (10m ago)")]
        );
    }

    #[test]
    fn table_pod_terminating_and_node_lost() {
        let p = json!({"metadata": {"name": "p", "deletionTimestamp": "2024-06-01T11:59:00Z"},
                       "spec": {"containers": [{"name": "c"}]},
                       "status": {"phase": "Running", "containerStatuses": [running("c", true, 0)]}});
        assert_eq!(cells(&p)[1..3], [json!("1/1"), json!("Terminating")]);
        let mut lost = p.clone();
        lost["status"]["reason"] = json!("NodeLost");
        assert_eq!(cells(&lost)[2], json!("Unknown"));
        let mut done = p;
        done["status"]["phase"] = json!("Succeeded");
        done["status"]["containerStatuses"] = json!([{"name": "c", "restartCount": 0,
            "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}]);
        assert_eq!(cells(&done)[2], json!("Completed"));
    }

    #[test]
    fn table_pod_completed_container_with_running_sibling() {
        let p = json!({"metadata": {"name": "p"},
            "spec": {"containers": [{"name": "a"}, {"name": "b"}]},
            "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "False"}],
                "containerStatuses": [
                    {"name": "a", "restartCount": 0, "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}},
                    running("b", true, 0)]}});
        assert_eq!(cells(&p)[1..3], [json!("1/2"), json!("NotReady")]);
        let mut ready = p;
        ready["status"]["conditions"] = json!([{"type": "Ready", "status": "True"}]);
        assert_eq!(cells(&ready)[2], json!("Running"));
    }

    #[test]
    fn table_pod_wide_columns() {
        let p = json!({"metadata": {"name": "p"},
            "spec": {"containers": [], "readinessGates": [{"conditionType": "a/x"}, {"conditionType": "b/y"}]},
            "status": {"phase": "Pending", "nominatedNodeName": "n2",
                       "conditions": [{"type": "a/x", "status": "True"}, {"type": "b/y", "status": "False"}]}});
        assert_eq!(
            cells(&p)[4..],
            [
                json!("<unknown>"),
                json!("<none>"),
                json!("<none>"),
                json!("n2"),
                json!("1/2")
            ]
        );
    }
}
