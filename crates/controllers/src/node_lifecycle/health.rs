//! Node health as kube-controller-manager's node lifecycle controller
//! judges it: when it last *observed* a sign of life (a newer Lease
//! `renewTime` or Ready heartbeat; the controller's own clock, so clock
//! skew between nodes and controller does not matter), and the conditions
//! a node gets once that is older than the grace period.

use jiff::Timestamp;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Node, NodeCondition};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use std::time::Duration;

/// The conditions set to Unknown when a node goes silent.
pub const MONITORED: [&str; 4] = ["Ready", "MemoryPressure", "DiskPressure", "PIDPressure"];

/// What the controller remembers of one node between passes.
#[derive(Debug, Clone, PartialEq)]
pub struct Seen {
    /// When a sign of life was last observed.
    pub probe: Timestamp,
    /// The Lease `renewTime` last observed.
    pub renew: Option<Timestamp>,
    /// The Ready condition's `lastHeartbeatTime` last observed.
    pub heartbeat: Option<Timestamp>,
    /// The node's Ready status at the last pass (`True`, `False`,
    /// `Unknown`, or empty without a Ready condition).
    pub ready: String,
}

pub fn condition<'a>(node: &'a Node, type_: &str) -> Option<&'a NodeCondition> {
    node.status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == type_)
}

/// The Ready condition's status, empty when there is none.
pub fn ready_status(node: &Node) -> String {
    condition(node, "Ready")
        .map(|c| c.status.clone())
        .unwrap_or_default()
}

fn creation(node: &Node) -> Option<Timestamp> {
    node.metadata.creation_timestamp.as_ref().map(|t| t.0)
}

/// The record after observing `node` and its `lease` at `now`. A node seen
/// for the first time counts as alive now, except one that never posted a
/// Ready condition: its clock starts at its creation.
pub fn observe(
    previous: Option<&Seen>,
    node: &Node,
    lease: Option<&Lease>,
    now: Timestamp,
) -> Seen {
    let heartbeat = condition(node, "Ready")
        .and_then(|c| c.last_heartbeat_time.as_ref())
        .map(|t| t.0);
    let renew = lease
        .and_then(|l| l.spec.as_ref())
        .and_then(|s| s.renew_time.as_ref())
        .map(|t| t.0);
    let ready = ready_status(node);
    let Some(previous) = previous else {
        let probe = if condition(node, "Ready").is_none() {
            creation(node).unwrap_or(now)
        } else {
            now
        };
        return Seen {
            probe,
            renew,
            heartbeat,
            ready,
        };
    };
    let renewed = match (previous.renew, renew) {
        (None, Some(_)) => true,
        (Some(a), Some(b)) => b > a,
        _ => false,
    };
    let beat = heartbeat != previous.heartbeat;
    Seen {
        probe: if renewed || beat { now } else { previous.probe },
        renew: if renewed { renew } else { previous.renew },
        heartbeat,
        ready,
    }
}

/// The node's conditions once it has been silent longer than its grace
/// period (`startup_grace` for a node that never posted Ready), or `None`
/// when nothing changes. Conditions already Unknown keep their times.
pub fn silenced(
    node: &Node,
    seen: &Seen,
    grace: Duration,
    startup_grace: Duration,
    now: Timestamp,
) -> Option<Vec<NodeCondition>> {
    let grace = if condition(node, "Ready").is_none() {
        startup_grace
    } else {
        grace
    };
    let deadline = seen
        .probe
        .checked_add(jiff::SignedDuration::try_from(grace).ok()?)
        .ok()?;
    if now <= deadline {
        return None;
    }
    let mut conditions = node
        .status
        .as_ref()
        .and_then(|s| s.conditions.clone())
        .unwrap_or_default();
    let mut changed = false;
    for type_ in MONITORED {
        match conditions.iter_mut().find(|c| c.type_ == type_) {
            Some(c) if c.status == "Unknown" => {}
            Some(c) => {
                c.status = "Unknown".into();
                c.reason = Some("NodeStatusUnknown".into());
                c.message = Some("Kubelet stopped posting node status.".into());
                c.last_transition_time = Some(Time(now));
                changed = true;
            }
            None => {
                conditions.push(NodeCondition {
                    type_: type_.into(),
                    status: "Unknown".into(),
                    reason: Some("NodeStatusNeverUpdated".into()),
                    message: Some("Kubelet never posted node status.".into()),
                    last_heartbeat_time: node.metadata.creation_timestamp.clone(),
                    last_transition_time: Some(Time(now)),
                });
                changed = true;
            }
        }
    }
    changed.then_some(conditions)
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::coordination::v1::LeaseSpec;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;

    fn at(s: i64) -> Timestamp {
        Timestamp::from_second(1_700_000_000 + s).expect("valid time")
    }

    fn node(ready: Option<(&str, i64)>) -> Node {
        let mut v = serde_json::json!({
            "metadata": {"name": "n1", "creationTimestamp": at(0).to_string()},
            "status": {"conditions": [
                {"type": "MemoryPressure", "status": "False", "reason": "KubeletHasSufficientMemory", "lastHeartbeatTime": at(0).to_string(), "lastTransitionTime": at(0).to_string()},
            ]},
        });
        if let Some((status, beat)) = ready
            && let Some(list) = v["status"]["conditions"].as_array_mut()
        {
            list.push(serde_json::json!({"type": "Ready", "status": status, "reason": "KubeletReady",
                "lastHeartbeatTime": at(beat).to_string(), "lastTransitionTime": at(0).to_string()}));
        }
        serde_json::from_value(v).expect("a node")
    }

    fn lease(renew: i64) -> Lease {
        Lease {
            spec: Some(LeaseSpec {
                renew_time: Some(MicroTime(at(renew))),
                ..LeaseSpec::default()
            }),
            ..Lease::default()
        }
    }

    const GRACE: Duration = Duration::from_secs(50);
    const STARTUP: Duration = Duration::from_secs(60);

    #[test]
    fn node_lifecycle_lease_renewals_keep_a_node_alive() {
        let n = node(Some(("True", 0)));
        let first = observe(None, &n, Some(&lease(0)), at(10));
        assert_eq!(first.probe, at(10));
        // The same renewTime later is no sign of life...
        let same = observe(Some(&first), &n, Some(&lease(0)), at(40));
        assert_eq!(same.probe, at(10));
        assert!(silenced(&n, &same, GRACE, STARTUP, at(60)).is_none());
        // ...a newer one is, whatever its own clock says.
        let renewed = observe(Some(&same), &n, Some(&lease(5)), at(61));
        assert_eq!(renewed.probe, at(61));
        assert!(silenced(&n, &renewed, GRACE, STARTUP, at(100)).is_none());
        let newer_beat = observe(
            Some(&renewed),
            &node(Some(("True", 3))),
            Some(&lease(5)),
            at(200),
        );
        assert_eq!(newer_beat.probe, at(200));
    }

    #[test]
    fn node_lifecycle_silent_node_gets_unknown_conditions() {
        let n = node(Some(("True", 0)));
        let seen = observe(None, &n, Some(&lease(0)), at(10));
        let conditions =
            silenced(&n, &seen, GRACE, STARTUP, at(61)).expect("past the grace period");
        let ready = conditions
            .iter()
            .find(|c| c.type_ == "Ready")
            .expect("ready");
        assert_eq!(ready.status, "Unknown");
        assert_eq!(ready.reason.as_deref(), Some("NodeStatusUnknown"));
        assert_eq!(
            ready.message.as_deref(),
            Some("Kubelet stopped posting node status.")
        );
        assert_eq!(ready.last_transition_time, Some(Time(at(61))));
        assert_eq!(
            ready.last_heartbeat_time,
            Some(Time(at(0))),
            "the heartbeat stays the kubelet's"
        );
        let memory = conditions
            .iter()
            .find(|c| c.type_ == "MemoryPressure")
            .expect("memory");
        assert_eq!(memory.status, "Unknown");
        let disk = conditions
            .iter()
            .find(|c| c.type_ == "DiskPressure")
            .expect("disk added");
        assert_eq!(disk.reason.as_deref(), Some("NodeStatusNeverUpdated"));
        assert_eq!(
            disk.message.as_deref(),
            Some("Kubelet never posted node status.")
        );
        // Once all are Unknown, nothing more to write.
        let mut after = n.clone();
        if let Some(s) = after.status.as_mut() {
            s.conditions = Some(conditions);
        }
        assert!(silenced(&after, &seen, GRACE, STARTUP, at(120)).is_none());
    }

    #[test]
    fn node_lifecycle_new_node_without_ready_gets_the_startup_grace() {
        let n = node(None);
        let seen = observe(None, &n, None, at(30));
        assert_eq!(seen.probe, at(0), "its clock starts at creation");
        assert!(silenced(&n, &seen, GRACE, STARTUP, at(55)).is_none());
        let conditions =
            silenced(&n, &seen, GRACE, STARTUP, at(61)).expect("past the startup grace");
        let ready = conditions
            .iter()
            .find(|c| c.type_ == "Ready")
            .expect("ready added");
        assert_eq!(ready.reason.as_deref(), Some("NodeStatusNeverUpdated"));
    }
}
