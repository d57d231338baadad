//! Status values of new objects: the zero-valued members Go always writes
//! (non-`omitempty` integers) and what REST strategies set on create (pod
//! phase and QoS class, `Pending` volumes, `Active` namespaces).

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use crate::validation::json::{arr_at, obj_at};
use crate::validation::quantity::{Quantity, quantity_from_json};

/// The status Go serializes for a kind whose status struct is all zero, or
/// `None` for kinds without a status (or whose defaulter writes it).
pub(crate) fn status_skeleton(group: &str, kind: &str) -> Option<Value> {
    let v = match (group, kind) {
        ("", "Pod") | ("", "ResourceQuota") => json!({}),
        ("apps", "Deployment") => json!({}),
        ("apps", "ReplicaSet") => json!({"replicas": 0}),
        ("apps", "StatefulSet") => json!({"replicas": 0, "availableReplicas": 0}),
        ("apps", "DaemonSet") => json!({
            "currentNumberScheduled": 0,
            "numberMisscheduled": 0,
            "desiredNumberScheduled": 0,
            "numberReady": 0
        }),
        ("batch", "Job") | ("batch", "CronJob") => json!({}),
        // `currentMetrics` has no `omitempty` in autoscaling/v2, so Go writes null.
        ("autoscaling", "HorizontalPodAutoscaler") => {
            json!({"desiredReplicas": 0, "currentMetrics": null})
        }
        ("policy", "PodDisruptionBudget") => json!({
            "disruptionsAllowed": 0,
            "currentHealthy": 0,
            "desiredHealthy": 0,
            "expectedPods": 0
        }),
        ("networking.k8s.io", "Ingress") => json!({"loadBalancer": {}}),
        _ => return None,
    };
    Some(v)
}

/// Adds the always-written zero members of the kind's status.
pub(crate) fn fill_status_skeleton(group: &str, kind: &str, obj: &mut Value) {
    let Some(Value::Object(skeleton)) = status_skeleton(group, kind) else {
        return;
    };
    let Some(m) = obj.as_object_mut() else {
        return;
    };
    let status = m
        .entry("status")
        .or_insert_with(|| Value::Object(Map::new()));
    if !status.is_object() {
        *status = Value::Object(Map::new());
    }
    if let Some(st) = status.as_object_mut() {
        for (k, v) in skeleton {
            match st.get(&k) {
                None | Some(Value::Null) => {
                    st.insert(k, v);
                }
                Some(_) => {}
            }
        }
    }
}

/// The status a REST strategy's `PrepareForCreate` gives a new object
/// (user-sent status is discarded on create), or `None` when the kind keeps
/// what the client sent (Node, Event, ...). Call after [`super::apply_defaults`]
/// so a pod's QoS class sees its defaulted requests.
pub fn initial_status(group: &str, kind: &str, obj: &Value) -> Option<Value> {
    let v = match (group, kind) {
        ("", "Pod") => pod_initial_status(obj),
        ("", "Namespace") => json!({"phase": "Active"}),
        ("", "PersistentVolume") | ("", "PersistentVolumeClaim") => json!({"phase": "Pending"}),
        ("", "Service") => json!({"loadBalancer": {}}),
        _ => status_skeleton(group, kind)?,
    };
    Some(v)
}

fn pod_initial_status(pod: &Value) -> Value {
    let mut status = Map::new();
    status.insert("phase".into(), Value::from("Pending"));
    if !arr_at(pod, &["spec", "schedulingGates"]).is_empty() {
        let now = jiff::Timestamp::now()
            .strftime("%Y-%m-%dT%H:%M:%SZ")
            .to_string();
        status.insert(
            "conditions".into(),
            json!([{
                "type": "PodScheduled",
                "status": "False",
                "lastProbeTime": null,
                "lastTransitionTime": now,
                "reason": "SchedulingGated",
                "message": "Scheduling is blocked due to non-empty scheduling gates"
            }]),
        );
    }
    status.insert("qosClass".into(), Value::from(pod_qos_class(pod)));
    Value::Object(status)
}

/// Kubernetes' `GetPodQOS`: Guaranteed when every container limits CPU and
/// memory and the summed requests equal the summed limits, BestEffort when
/// nothing requests or limits CPU or memory, Burstable otherwise.
pub fn pod_qos_class(pod: &Value) -> &'static str {
    let mut requests: BTreeMap<String, Quantity> = BTreeMap::new();
    let mut limits: BTreeMap<String, Quantity> = BTreeMap::new();
    let mut guaranteed = true;
    let containers = arr_at(pod, &["spec", "containers"])
        .iter()
        .chain(arr_at(pod, &["spec", "initContainers"]));
    for c in containers {
        accumulate(obj_at(c, &["resources", "requests"]), &mut requests);
        let mut own_limits = BTreeMap::new();
        accumulate(obj_at(c, &["resources", "limits"]), &mut own_limits);
        if !(own_limits.contains_key("cpu") && own_limits.contains_key("memory")) {
            guaranteed = false;
        }
        for (k, q) in own_limits {
            let sum = limits.get(&k).map_or(q, |prev| prev.add(&q));
            limits.insert(k, sum);
        }
    }
    if requests.is_empty() && limits.is_empty() {
        return "BestEffort";
    }
    if guaranteed {
        guaranteed = requests
            .iter()
            .all(|(k, req)| limits.get(k).is_some_and(|l| l == req));
    }
    if guaranteed && requests.len() == limits.len() {
        "Guaranteed"
    } else {
        "Burstable"
    }
}

/// Adds the positive CPU and memory quantities of a resource list into `into`.
fn accumulate(list: Option<&Map<String, Value>>, into: &mut BTreeMap<String, Quantity>) {
    let Some(list) = list else {
        return;
    };
    for name in ["cpu", "memory"] {
        let Some(q) = list.get(name).and_then(|v| quantity_from_json(v).ok()) else {
            continue;
        };
        if q.sign() <= 0 {
            continue;
        }
        let sum = into.get(name).map_or(q, |prev| prev.add(&q));
        into.insert(name.to_string(), sum);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap: a panic is a failure
mod tests {
    use super::*;

    #[test]
    fn defaults_pod_qos_classes() {
        let pod = |resources: Value| json!({"spec": {"containers": [{"name": "a", "resources": resources}]}});
        assert_eq!(pod_qos_class(&pod(json!({}))), "BestEffort");
        assert_eq!(
            pod_qos_class(&pod(json!({"requests": {"cpu": "100m"}}))),
            "Burstable"
        );
        assert_eq!(
            pod_qos_class(&pod(
                json!({"limits": {"cpu": "1", "memory": "1Gi"}, "requests": {"cpu": "1000m", "memory": "1Gi"}})
            )),
            "Guaranteed"
        );
        assert_eq!(
            pod_qos_class(&pod(
                json!({"limits": {"cpu": "1", "memory": "1Gi"}, "requests": {"cpu": "500m", "memory": "1Gi"}})
            )),
            "Burstable"
        );
        assert_eq!(
            pod_qos_class(&pod(json!({"requests": {"ephemeral-storage": "1Gi"}}))),
            "BestEffort"
        );
    }

    #[test]
    fn defaults_initial_status_per_kind() {
        assert_eq!(
            initial_status("apps", "ReplicaSet", &json!({})),
            Some(json!({"replicas": 0}))
        );
        assert_eq!(initial_status("", "ConfigMap", &json!({})), None);
        assert_eq!(
            initial_status("", "Pod", &json!({"spec": {"containers": [{"name": "a"}]}})),
            Some(json!({"phase": "Pending", "qosClass": "BestEffort"}))
        );
        let gated = initial_status(
            "",
            "Pod",
            &json!({"spec": {"schedulingGates": [{"name": "g"}], "containers": []}}),
        )
        .unwrap();
        assert_eq!(gated["conditions"][0]["reason"], "SchedulingGated");
    }
}
