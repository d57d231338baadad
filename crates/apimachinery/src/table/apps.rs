//! Printers of the `apps` group (Deployment, ReplicaSet, StatefulSet,
//! DaemonSet, ControllerRevision) and of PodDisruptionBudget, which
//! guards the pods they run.

use jiff::Timestamp;
use serde_json::Value;

use super::describe::*;
use super::fields::{
    arr_at, at, container_cells, format_label_selector, format_labels, int_at, int_or_string,
    map_at, selector_string, str_at,
};
use super::{AGE, CONTAINERS, Col, IMAGES, NAME, Printer, Row, age, name};

pub(super) const PRINTERS: &[Printer] = &[
    Printer::new("apps", "Deployment", DEPLOYMENT, deployment),
    Printer::new("apps", "ReplicaSet", REPLICA_SET, replica_set),
    Printer::new("apps", "StatefulSet", STATEFUL_SET, stateful_set),
    Printer::new("apps", "DaemonSet", DAEMON_SET, daemon_set),
    Printer::new(
        "apps",
        "ControllerRevision",
        CONTROLLER_REVISION,
        controller_revision,
    ),
    Printer::new(
        "policy",
        "PodDisruptionBudget",
        POD_DISRUPTION_BUDGET,
        pod_disruption_budget,
    ),
];

fn template_containers(obj: &Value) -> (String, String) {
    container_cells(arr_at(obj, &["spec", "template", "spec", "containers"]))
}

const DEPLOYMENT: &[Col] = &[
    NAME,
    Col::string("Ready", "Number of the pod with ready state"),
    Col::string("Up-to-date", DEPLOYMENT_STATUS_UPDATED_REPLICAS),
    Col::string("Available", DEPLOYMENT_STATUS_AVAILABLE_REPLICAS),
    AGE,
    CONTAINERS,
    IMAGES,
    Col::string("Selector", DEPLOYMENT_SPEC_SELECTOR).wide(),
];

fn deployment(obj: &Value, now: Timestamp) -> Row {
    let (names, images) = template_containers(obj);
    // Unlike the other workloads, an empty selector prints as "".
    let selector =
        selector_string(at(obj, &["spec", "selector"])).unwrap_or_else(|_| "<invalid>".to_string());
    Row::new(vec![
        name(obj),
        format!(
            "{}/{}",
            int_at(obj, &["status", "readyReplicas"]),
            int_at(obj, &["spec", "replicas"])
        )
        .into(),
        int_at(obj, &["status", "updatedReplicas"]).into(),
        int_at(obj, &["status", "availableReplicas"]).into(),
        age(obj, now),
        names.into(),
        images.into(),
        selector.into(),
    ])
}

const REPLICA_SET: &[Col] = &[
    NAME,
    Col::integer("Desired", REPLICA_SET_SPEC_REPLICAS),
    Col::integer("Current", REPLICA_SET_STATUS_REPLICAS),
    Col::integer("Ready", REPLICA_SET_STATUS_READY_REPLICAS),
    AGE,
    CONTAINERS,
    IMAGES,
    Col::string("Selector", REPLICA_SET_SPEC_SELECTOR).wide(),
];

fn replica_set(obj: &Value, now: Timestamp) -> Row {
    let (names, images) = template_containers(obj);
    Row::new(vec![
        name(obj),
        int_at(obj, &["spec", "replicas"]).into(),
        int_at(obj, &["status", "replicas"]).into(),
        int_at(obj, &["status", "readyReplicas"]).into(),
        age(obj, now),
        names.into(),
        images.into(),
        format_label_selector(at(obj, &["spec", "selector"])).into(),
    ])
}

const STATEFUL_SET: &[Col] = &[
    NAME,
    Col::string("Ready", "Number of the pod with ready state"),
    AGE,
    CONTAINERS,
    IMAGES,
];

fn stateful_set(obj: &Value, now: Timestamp) -> Row {
    let (names, images) = template_containers(obj);
    Row::new(vec![
        name(obj),
        format!(
            "{}/{}",
            int_at(obj, &["status", "readyReplicas"]),
            int_at(obj, &["spec", "replicas"])
        )
        .into(),
        age(obj, now),
        names.into(),
        images.into(),
    ])
}

const DAEMON_SET: &[Col] = &[
    NAME,
    Col::integer("Desired", DAEMON_SET_STATUS_DESIRED_NUMBER_SCHEDULED),
    Col::integer("Current", DAEMON_SET_STATUS_CURRENT_NUMBER_SCHEDULED),
    Col::integer("Ready", DAEMON_SET_STATUS_NUMBER_READY),
    Col::integer("Up-to-date", DAEMON_SET_STATUS_UPDATED_NUMBER_SCHEDULED),
    Col::integer("Available", DAEMON_SET_STATUS_NUMBER_AVAILABLE),
    Col::string("Node Selector", POD_SPEC_NODE_SELECTOR),
    AGE,
    CONTAINERS,
    IMAGES,
    Col::string("Selector", DAEMON_SET_SPEC_SELECTOR).wide(),
];

fn daemon_set(obj: &Value, now: Timestamp) -> Row {
    let (names, images) = template_containers(obj);
    Row::new(vec![
        name(obj),
        int_at(obj, &["status", "desiredNumberScheduled"]).into(),
        int_at(obj, &["status", "currentNumberScheduled"]).into(),
        int_at(obj, &["status", "numberReady"]).into(),
        int_at(obj, &["status", "updatedNumberScheduled"]).into(),
        int_at(obj, &["status", "numberAvailable"]).into(),
        format_labels(map_at(obj, &["spec", "template", "spec", "nodeSelector"])).into(),
        age(obj, now),
        names.into(),
        images.into(),
        format_label_selector(at(obj, &["spec", "selector"])).into(),
    ])
}

const CONTROLLER_REVISION: &[Col] = &[
    NAME,
    Col::string("Controller", "Controller of the object"),
    Col::string("Revision", CONTROLLER_REVISION_REVISION),
    AGE,
];

/// `statefulset.apps/web`: the controlling owner, as a lower-case group
/// kind and name.
pub(super) fn controller_name(obj: &Value) -> String {
    let Some(owner) = arr_at(obj, &["metadata", "ownerReferences"])
        .iter()
        .find(|o| at(o, &["controller"]).and_then(Value::as_bool) == Some(true))
    else {
        return "<none>".to_string();
    };
    let api_version = str_at(owner, &["apiVersion"]);
    let group = api_version.rsplit_once('/').map_or("", |(g, _)| g);
    let kind = str_at(owner, &["kind"]);
    let name = str_at(owner, &["name"]);
    match (kind, group) {
        ("", "") => name.to_string(),
        (k, "") => format!("{}/{name}", k.to_lowercase()),
        (k, g) => format!("{}.{}/{name}", k.to_lowercase(), g.to_lowercase()),
    }
}

fn controller_revision(obj: &Value, now: Timestamp) -> Row {
    Row::new(vec![
        name(obj),
        controller_name(obj).into(),
        int_at(obj, &["revision"]).into(),
        age(obj, now),
    ])
}

const POD_DISRUPTION_BUDGET: &[Col] = &[
    NAME,
    Col::string(
        "Min Available",
        "The minimum number of pods that must be available.",
    ),
    Col::string(
        "Max Unavailable",
        "The maximum number of pods that may be unavailable.",
    ),
    Col::integer(
        "Allowed Disruptions",
        "Calculated number of pods that may be disrupted at this time.",
    ),
    AGE,
];

fn pod_disruption_budget(obj: &Value, now: Timestamp) -> Row {
    let bound =
        |field: &str| at(obj, &["spec", field]).map_or_else(|| "N/A".to_string(), int_or_string);
    Row::new(vec![
        name(obj),
        bound("minAvailable").into(),
        bound("maxUnavailable").into(),
        int_at(obj, &["status", "disruptionsAllowed"]).into(),
        age(obj, now),
    ])
}

#[cfg(test)]
mod tests {
    use super::super::tests::now;
    use super::*;
    use serde_json::json;

    fn meta(name: &str) -> Value {
        json!({"name": name, "creationTimestamp": "2024-06-01T09:00:00Z"})
    }

    fn template() -> Value {
        json!({"spec": {"containers": [{"name": "web", "image": "nginx:1.27"}, {"name": "log", "image": "fluent-bit"}]}})
    }

    #[test]
    fn table_apps_deployment() {
        let d = json!({"metadata": meta("web"),
            "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}}, "template": template()},
            "status": {"replicas": 3, "readyReplicas": 2, "updatedReplicas": 3, "availableReplicas": 2}});
        assert_eq!(
            deployment(&d, now()).cells,
            vec![
                json!("web"),
                json!("2/3"),
                json!(3),
                json!(2),
                json!("3h"),
                json!("web,log"),
                json!("nginx:1.27,fluent-bit"),
                json!("app=web")
            ]
        );
        let empty = json!({"metadata": meta("e"), "spec": {"replicas": 0}});
        assert_eq!(
            deployment(&empty, now()).cells[1..4],
            [json!("0/0"), json!(0), json!(0)]
        );
        assert_eq!(deployment(&empty, now()).cells[7], json!(""));
    }

    #[test]
    fn table_apps_replica_set_stateful_set_daemon_set() {
        let rs = json!({"metadata": meta("web-5d4f"),
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web", "pod-template-hash": "5d4f"}},
                     "template": template()},
            "status": {"replicas": 2, "readyReplicas": 1}});
        assert_eq!(
            replica_set(&rs, now()).cells,
            vec![
                json!("web-5d4f"),
                json!(2),
                json!(2),
                json!(1),
                json!("3h"),
                json!("web,log"),
                json!("nginx:1.27,fluent-bit"),
                json!("app=web,pod-template-hash=5d4f")
            ]
        );
        let sts = json!({"metadata": meta("db"), "spec": {"replicas": 3, "template": template()},
            "status": {"readyReplicas": 3}});
        assert_eq!(
            stateful_set(&sts, now()).cells,
            vec![
                json!("db"),
                json!("3/3"),
                json!("3h"),
                json!("web,log"),
                json!("nginx:1.27,fluent-bit")
            ]
        );
        let ds = json!({"metadata": meta("agent"),
            "spec": {"selector": {"matchLabels": {"app": "agent"}},
                     "template": {"spec": {"nodeSelector": {"kubernetes.io/os": "linux"},
                                           "containers": [{"name": "a", "image": "agent:1"}]}}},
            "status": {"desiredNumberScheduled": 3, "currentNumberScheduled": 3, "numberReady": 2,
                       "updatedNumberScheduled": 3, "numberAvailable": 2}});
        assert_eq!(
            daemon_set(&ds, now()).cells,
            vec![
                json!("agent"),
                json!(3),
                json!(3),
                json!(2),
                json!(3),
                json!(2),
                json!("kubernetes.io/os=linux"),
                json!("3h"),
                json!("a"),
                json!("agent:1"),
                json!("app=agent")
            ]
        );
    }

    #[test]
    fn table_apps_controller_revision_and_pdb() {
        let cr = json!({"metadata": {"name": "web-7c9", "creationTimestamp": "2024-06-01T09:00:00Z",
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "web", "controller": true}]},
            "revision": 2});
        assert_eq!(
            controller_revision(&cr, now()).cells,
            vec![
                json!("web-7c9"),
                json!("statefulset.apps/web"),
                json!(2),
                json!("3h")
            ]
        );
        let orphan = json!({"metadata": {"name": "x", "ownerReferences": [{"apiVersion": "v1", "kind": "Pod", "name": "p"}]}});
        assert_eq!(
            controller_revision(&orphan, now()).cells[1],
            json!("<none>")
        );

        let pdb = json!({"metadata": meta("pdb"), "spec": {"minAvailable": "50%"}, "status": {"disruptionsAllowed": 1}});
        assert_eq!(
            pod_disruption_budget(&pdb, now()).cells,
            vec![
                json!("pdb"),
                json!("50%"),
                json!("N/A"),
                json!(1),
                json!("3h")
            ]
        );
        let pdb2 = json!({"metadata": meta("pdb2"), "spec": {"maxUnavailable": 1}});
        assert_eq!(
            pod_disruption_budget(&pdb2, now()).cells[1..4],
            [json!("N/A"), json!("1"), json!(0)]
        );
    }
}
