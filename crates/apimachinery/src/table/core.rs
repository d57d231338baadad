//! Printers of the core group besides Pod and Event: services, endpoints,
//! nodes, namespaces, config, volumes, quota, replication controllers.

use std::collections::BTreeSet;

use jiff::Timestamp;
use serde_json::Value;

use super::describe::*;
use super::fields::{
    arr_at, bool_at, container_cells, format_labels, has, int_at, map_at, map_len, opt_str, str_at,
};
use super::quantity::quantity_string;
use super::{AGE, CONTAINERS, Col, IMAGES, NAME, Printer, Row, age, name};

pub(super) const PRINTERS: &[Printer] = &[
    Printer::new("", "PodTemplate", POD_TEMPLATE, pod_template),
    Printer::new(
        "",
        "ReplicationController",
        REPLICATION_CONTROLLER,
        replication_controller,
    ),
    Printer::new("", "Service", SERVICE, service),
    Printer::new("", "Endpoints", ENDPOINTS, endpoints),
    Printer::new("", "Node", NODE, node),
    Printer::new("", "Namespace", NAMESPACE, namespace),
    Printer::new("", "Secret", SECRET, secret),
    Printer::new("", "ServiceAccount", SERVICE_ACCOUNT, service_account),
    Printer::new("", "PersistentVolume", PERSISTENT_VOLUME, persistent_volume),
    Printer::new(
        "",
        "PersistentVolumeClaim",
        PERSISTENT_VOLUME_CLAIM,
        persistent_volume_claim,
    ),
    Printer::new("", "ComponentStatus", COMPONENT_STATUS, component_status),
    Printer::new("", "ConfigMap", CONFIG_MAP, config_map),
    Printer::new("", "ResourceQuota", RESOURCE_QUOTA, resource_quota),
];

const POD_TEMPLATE: &[Col] = &[
    NAME,
    Col::string("Containers", "Names of each container in the template."),
    Col::string(
        "Images",
        "Images referenced by each container in the template.",
    ),
    Col::string("Pod Labels", "The labels for the pod template."),
];

fn pod_template(obj: &Value, _now: Timestamp) -> Row {
    let (names, images) = container_cells(arr_at(obj, &["template", "spec", "containers"]));
    let labels = format_labels(map_at(obj, &["template", "metadata", "labels"]));
    Row::new(vec![name(obj), names.into(), images.into(), labels.into()])
}

const REPLICATION_CONTROLLER: &[Col] = &[
    NAME,
    Col::integer("Desired", REPLICATION_CONTROLLER_SPEC_REPLICAS),
    Col::integer("Current", REPLICATION_CONTROLLER_STATUS_REPLICAS),
    Col::integer("Ready", REPLICATION_CONTROLLER_STATUS_READY_REPLICAS),
    AGE,
    CONTAINERS,
    IMAGES,
    Col::string("Selector", REPLICATION_CONTROLLER_SPEC_SELECTOR).wide(),
];

fn replication_controller(obj: &Value, now: Timestamp) -> Row {
    let (names, images) = container_cells(arr_at(obj, &["spec", "template", "spec", "containers"]));
    Row::new(vec![
        name(obj),
        int_at(obj, &["spec", "replicas"]).into(),
        int_at(obj, &["status", "replicas"]).into(),
        int_at(obj, &["status", "readyReplicas"]).into(),
        age(obj, now),
        names.into(),
        images.into(),
        format_labels(map_at(obj, &["spec", "selector"])).into(),
    ])
}

const SERVICE: &[Col] = &[
    NAME,
    Col::string("Type", SERVICE_SPEC_TYPE),
    Col::string("Cluster-IP", SERVICE_SPEC_CLUSTER_IP),
    Col::string("External-IP", SERVICE_SPEC_EXTERNAL_IPS),
    Col::string("Port(s)", SERVICE_SPEC_PORTS),
    AGE,
    Col::string("Selector", SERVICE_SPEC_SELECTOR).wide(),
];

/// Load balancer ingress points, IPs or host names, sorted and unique.
/// The server prints wide, so nothing is clipped.
pub(super) fn load_balancer_ingress(ingress: &[Value]) -> String {
    let set: BTreeSet<&str> = ingress
        .iter()
        .filter_map(|i| match (str_at(i, &["ip"]), str_at(i, &["hostname"])) {
            ("", "") => None,
            ("", host) => Some(host),
            (ip, _) => Some(ip),
        })
        .collect();
    set.into_iter().collect::<Vec<_>>().join(",")
}

fn service_external_ip(svc: &Value) -> String {
    let external: Vec<&str> = arr_at(svc, &["spec", "externalIPs"])
        .iter()
        .filter_map(Value::as_str)
        .collect();
    match str_at(svc, &["spec", "type"]) {
        "ClusterIP" | "NodePort" if !external.is_empty() => external.join(","),
        "ClusterIP" | "NodePort" => "<none>".to_string(),
        "LoadBalancer" => {
            let lb = load_balancer_ingress(arr_at(svc, &["status", "loadBalancer", "ingress"]));
            if !external.is_empty() {
                let mut all: Vec<&str> = if lb.is_empty() {
                    Vec::new()
                } else {
                    lb.split(',').collect()
                };
                all.extend(external);
                all.join(",")
            } else if !lb.is_empty() {
                lb
            } else {
                "<pending>".to_string()
            }
        }
        "ExternalName" => str_at(svc, &["spec", "externalName"]).to_string(),
        _ => "<unknown>".to_string(),
    }
}

/// `80/TCP`, or `80:30080/TCP` with a node port, comma separated.
fn service_ports(ports: &[Value]) -> String {
    ports
        .iter()
        .map(|p| {
            let port = int_at(p, &["port"]);
            let protocol = str_at(p, &["protocol"]);
            match int_at(p, &["nodePort"]) {
                np if np > 0 => format!("{port}:{np}/{protocol}"),
                _ => format!("{port}/{protocol}"),
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

fn service(svc: &Value, now: Timestamp) -> Row {
    let cluster_ip = arr_at(svc, &["spec", "clusterIPs"])
        .first()
        .and_then(Value::as_str)
        .or_else(|| opt_str(svc, &["spec", "clusterIP"]).filter(|s| !s.is_empty()))
        .unwrap_or("<none>");
    let ports = match service_ports(arr_at(svc, &["spec", "ports"])) {
        p if p.is_empty() => "<none>".to_string(),
        p => p,
    };
    Row::new(vec![
        name(svc),
        str_at(svc, &["spec", "type"]).into(),
        cluster_ip.into(),
        service_external_ip(svc).into(),
        ports.into(),
        age(svc, now),
        format_labels(map_at(svc, &["spec", "selector"])).into(),
    ])
}

const ENDPOINTS: &[Col] = &[NAME, Col::string("Endpoints", ENDPOINTS_SUBSETS), AGE];

/// Up to three `ip:port` endpoints and how many more there are.
fn format_endpoints(obj: &Value) -> String {
    const MAX: usize = 3;
    let subsets = arr_at(obj, &["subsets"]);
    if subsets.is_empty() {
        return "<none>".to_string();
    }
    let mut list: Vec<String> = Vec::new();
    let mut more = false;
    let mut count = 0;
    for ss in subsets {
        let addresses = arr_at(ss, &["addresses"]);
        let ports = arr_at(ss, &["ports"]);
        if ports.is_empty() {
            // Headless services may have no ports.
            count += addresses.len();
            for a in addresses {
                if list.len() == MAX {
                    more = true;
                    break;
                }
                list.push(str_at(a, &["ip"]).to_string());
            }
            continue;
        }
        for p in ports {
            count += addresses.len();
            for a in addresses {
                if list.len() == MAX {
                    more = true;
                    break;
                }
                list.push(join_host_port(str_at(a, &["ip"]), int_at(p, &["port"])));
            }
        }
    }
    let joined = list.join(",");
    if more {
        format!("{joined} + {} more...", count - MAX)
    } else {
        joined
    }
}

/// Go's `net.JoinHostPort`: IPv6 hosts get brackets.
fn join_host_port(host: &str, port: i64) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

fn endpoints(obj: &Value, now: Timestamp) -> Row {
    Row::new(vec![name(obj), format_endpoints(obj).into(), age(obj, now)])
}

const NODE: &[Col] = &[
    NAME,
    Col::string("Status", "The status of the node"),
    Col::string("Roles", "The roles of the node"),
    AGE,
    Col::string("Version", NODE_SYSTEM_INFO_KUBELET_VERSION),
    Col::string("Internal-IP", NODE_STATUS_ADDRESSES).wide(),
    Col::string("External-IP", NODE_STATUS_ADDRESSES).wide(),
    Col::string("OS-Image", NODE_SYSTEM_INFO_OS_IMAGE).wide(),
    Col::string("Kernel-Version", NODE_SYSTEM_INFO_KERNEL_VERSION).wide(),
    Col::string(
        "Container-Runtime",
        NODE_SYSTEM_INFO_CONTAINER_RUNTIME_VERSION,
    )
    .wide(),
];

const NODE_ROLE_PREFIX: &str = "node-role.kubernetes.io/";
const NODE_ROLE_LABEL: &str = "kubernetes.io/role";

fn node_roles(node: &Value) -> String {
    let mut roles = BTreeSet::new();
    for (k, v) in map_at(node, &["metadata", "labels"]).into_iter().flatten() {
        if let Some(role) = k.strip_prefix(NODE_ROLE_PREFIX).filter(|r| !r.is_empty()) {
            roles.insert(role);
        } else if k == NODE_ROLE_LABEL
            && let Some(role) = v.as_str().filter(|r| !r.is_empty())
        {
            roles.insert(role);
        }
    }
    if roles.is_empty() {
        "<none>".to_string()
    } else {
        roles.into_iter().collect::<Vec<_>>().join(",")
    }
}

fn node_address(node: &Value, type_: &str) -> String {
    arr_at(node, &["status", "addresses"])
        .iter()
        .find(|a| str_at(a, &["type"]) == type_)
        .map_or("<none>", |a| str_at(a, &["address"]))
        .to_string()
}

fn node(node: &Value, now: Timestamp) -> Row {
    // The last condition of a type wins, as in Go's map of conditions.
    let ready = arr_at(node, &["status", "conditions"])
        .iter()
        .rev()
        .find(|c| str_at(c, &["type"]) == "Ready");
    let mut status = vec![match ready {
        Some(c) if str_at(c, &["status"]) == "True" => "Ready",
        Some(_) => "NotReady",
        None => "Unknown",
    }];
    if bool_at(node, &["spec", "unschedulable"]) {
        status.push("SchedulingDisabled");
    }
    let info = |field: &str| match str_at(node, &["status", "nodeInfo", field]) {
        "" => "<unknown>".to_string(),
        s => s.to_string(),
    };
    Row::new(vec![
        name(node),
        status.join(",").into(),
        node_roles(node).into(),
        age(node, now),
        str_at(node, &["status", "nodeInfo", "kubeletVersion"]).into(),
        node_address(node, "InternalIP").into(),
        node_address(node, "ExternalIP").into(),
        info("osImage").into(),
        info("kernelVersion").into(),
        info("containerRuntimeVersion").into(),
    ])
}

const NAMESPACE: &[Col] = &[
    NAME,
    Col::string("Status", "The status of the namespace"),
    AGE,
];

fn namespace(obj: &Value, now: Timestamp) -> Row {
    Row::new(vec![
        name(obj),
        str_at(obj, &["status", "phase"]).into(),
        age(obj, now),
    ])
}

const SECRET: &[Col] = &[
    NAME,
    Col::string("Type", SECRET_TYPE),
    Col::string("Data", SECRET_DATA),
    AGE,
];

fn secret(obj: &Value, now: Timestamp) -> Row {
    Row::new(vec![
        name(obj),
        str_at(obj, &["type"]).into(),
        map_len(obj, &["data"]).into(),
        age(obj, now),
    ])
}

const SERVICE_ACCOUNT: &[Col] = &[NAME, Col::string("Secrets", SERVICE_ACCOUNT_SECRETS), AGE];

fn service_account(obj: &Value, now: Timestamp) -> Row {
    Row::new(vec![
        name(obj),
        arr_at(obj, &["secrets"]).len().into(),
        age(obj, now),
    ])
}

const PERSISTENT_VOLUME: &[Col] = &[
    NAME,
    Col::string("Capacity", PERSISTENT_VOLUME_SPEC_CAPACITY),
    Col::string("Access Modes", PERSISTENT_VOLUME_SPEC_ACCESS_MODES),
    Col::string(
        "Reclaim Policy",
        PERSISTENT_VOLUME_SPEC_PERSISTENT_VOLUME_RECLAIM_POLICY,
    ),
    Col::string("Status", PERSISTENT_VOLUME_STATUS_PHASE),
    Col::string("Claim", PERSISTENT_VOLUME_SPEC_CLAIM_REF),
    Col::string("StorageClass", "StorageClass of the pv"),
    Col::string("VolumeAttributesClass", "VolumeAttributesClass of the pv"),
    Col::string("Reason", PERSISTENT_VOLUME_STATUS_REASON),
    AGE,
    Col::string("VolumeMode", PERSISTENT_VOLUME_SPEC_VOLUME_MODE).wide(),
];

/// `RWO,ROX,RWX,RWOP` in that order, whatever order the modes are listed.
fn access_modes(modes: &[Value]) -> String {
    let has_mode = |m: &str| modes.iter().any(|x| x.as_str() == Some(m));
    [
        ("ReadWriteOnce", "RWO"),
        ("ReadOnlyMany", "ROX"),
        ("ReadWriteMany", "RWX"),
        ("ReadWriteOncePod", "RWOP"),
    ]
    .iter()
    .filter(|(mode, _)| has_mode(mode))
    .map(|(_, short)| *short)
    .collect::<Vec<_>>()
    .join(",")
}

const BETA_STORAGE_CLASS_ANNOTATION: &str = "volume.beta.kubernetes.io/storage-class";

fn beta_storage_class(obj: &Value) -> Option<&str> {
    map_at(obj, &["metadata", "annotations"])
        .and_then(|a| a.get(BETA_STORAGE_CLASS_ANNOTATION))
        .and_then(Value::as_str)
}

fn unset_or(v: Option<&str>) -> String {
    v.unwrap_or("<unset>").to_string()
}

fn terminating_phase(obj: &Value) -> &str {
    if has(obj, &["metadata", "deletionTimestamp"]) {
        "Terminating"
    } else {
        str_at(obj, &["status", "phase"])
    }
}

fn persistent_volume(pv: &Value, now: Timestamp) -> Row {
    let claim = if has(pv, &["spec", "claimRef"]) {
        format!(
            "{}/{}",
            str_at(pv, &["spec", "claimRef", "namespace"]),
            str_at(pv, &["spec", "claimRef", "name"])
        )
    } else {
        String::new()
    };
    let class = beta_storage_class(pv).unwrap_or_else(|| str_at(pv, &["spec", "storageClassName"]));
    Row::new(vec![
        name(pv),
        quantity_string(map_at(pv, &["spec", "capacity"]).and_then(|c| c.get("storage"))).into(),
        access_modes(arr_at(pv, &["spec", "accessModes"])).into(),
        str_at(pv, &["spec", "persistentVolumeReclaimPolicy"]).into(),
        terminating_phase(pv).into(),
        claim.into(),
        class.into(),
        unset_or(opt_str(pv, &["spec", "volumeAttributesClassName"])).into(),
        str_at(pv, &["status", "reason"]).into(),
        age(pv, now),
        unset_or(opt_str(pv, &["spec", "volumeMode"])).into(),
    ])
}

const PERSISTENT_VOLUME_CLAIM: &[Col] = &[
    NAME,
    Col::string("Status", PERSISTENT_VOLUME_CLAIM_STATUS_PHASE),
    Col::string("Volume", PERSISTENT_VOLUME_CLAIM_SPEC_VOLUME_NAME),
    Col::string("Capacity", PERSISTENT_VOLUME_CLAIM_STATUS_CAPACITY),
    Col::string("Access Modes", PERSISTENT_VOLUME_CLAIM_STATUS_ACCESS_MODES),
    Col::string("StorageClass", "StorageClass of the pvc"),
    Col::string("VolumeAttributesClass", "VolumeAttributesClass of the pvc"),
    AGE,
    Col::string("VolumeMode", PERSISTENT_VOLUME_CLAIM_SPEC_VOLUME_MODE).wide(),
];

fn persistent_volume_claim(pvc: &Value, now: Timestamp) -> Row {
    let volume = str_at(pvc, &["spec", "volumeName"]);
    // Capacity and access modes are shown once the claim is bound.
    let (capacity, modes) = if volume.is_empty() {
        (String::new(), String::new())
    } else {
        (
            quantity_string(map_at(pvc, &["status", "capacity"]).and_then(|c| c.get("storage"))),
            access_modes(arr_at(pvc, &["status", "accessModes"])),
        )
    };
    let class =
        beta_storage_class(pvc).unwrap_or_else(|| str_at(pvc, &["spec", "storageClassName"]));
    Row::new(vec![
        name(pvc),
        terminating_phase(pvc).into(),
        volume.into(),
        capacity.into(),
        modes.into(),
        class.into(),
        unset_or(opt_str(pvc, &["spec", "volumeAttributesClassName"])).into(),
        age(pvc, now),
        unset_or(opt_str(pvc, &["spec", "volumeMode"])).into(),
    ])
}

const COMPONENT_STATUS: &[Col] = &[
    NAME,
    Col::string("Status", "Status of the component conditions"),
    Col::string("Message", "Message of the component conditions"),
    Col::string("Error", "Error of the component conditions"),
];

fn component_status(obj: &Value, _now: Timestamp) -> Row {
    let healthy = arr_at(obj, &["conditions"])
        .iter()
        .find(|c| str_at(c, &["type"]) == "Healthy");
    let (status, message, error) = match healthy {
        Some(c) => (
            if str_at(c, &["status"]) == "True" {
                "Healthy"
            } else {
                "Unhealthy"
            },
            str_at(c, &["message"]),
            str_at(c, &["error"]),
        ),
        None => ("Unknown", "", ""),
    };
    Row::new(vec![name(obj), status.into(), message.into(), error.into()])
}

const CONFIG_MAP: &[Col] = &[NAME, Col::string("Data", CONFIG_MAP_DATA), AGE];

fn config_map(obj: &Value, now: Timestamp) -> Row {
    let count = map_len(obj, &["data"]) + map_len(obj, &["binaryData"]);
    Row::new(vec![name(obj), count.into(), age(obj, now)])
}

const RESOURCE_QUOTA: &[Col] = &[
    NAME,
    Col::string(
        "Request",
        "Request represents a minimum amount of cpu/memory that a container may consume.",
    ),
    Col::string(
        "Limit",
        "Limits control the maximum amount of cpu/memory that a container may use independent of contention on the node.",
    ),
    AGE,
];

/// `resource: used/hard` pairs over `status.hard`, split into requests and
/// `limits.*`.
fn resource_quota(obj: &Value, now: Timestamp) -> Row {
    let mut resources: Vec<&String> = map_at(obj, &["status", "hard"])
        .map(|m| m.keys().collect())
        .unwrap_or_default();
    resources.sort();
    let used = map_at(obj, &["status", "used"]);
    let hard = map_at(obj, &["status", "hard"]);
    let mut requests = Vec::new();
    let mut limits = Vec::new();
    for r in resources {
        let entry = format!(
            "{r}: {}/{}",
            quantity_string(used.and_then(|u| u.get(r.as_str()))),
            quantity_string(hard.and_then(|h| h.get(r.as_str())))
        );
        let mut pieces = r.split('.');
        let is_limit = pieces.next() == Some("limits") && pieces.next().is_some();
        if is_limit {
            limits.push(entry)
        } else {
            requests.push(entry)
        }
    }
    Row::new(vec![
        name(obj),
        requests.join(", ").into(),
        limits.join(", ").into(),
        age(obj, now),
    ])
}

#[cfg(test)]
mod tests {
    use super::super::tests::now;
    use super::*;
    use serde_json::json;

    fn meta(name: &str) -> Value {
        json!({"name": name, "creationTimestamp": "2024-06-01T11:55:00Z"})
    }

    #[test]
    fn table_core_service_ports_and_ips() {
        let svc = json!({"metadata": meta("web"), "spec": {"type": "ClusterIP", "clusterIP": "10.96.0.10",
            "clusterIPs": ["10.96.0.10"], "selector": {"app": "web"},
            "ports": [{"port": 80, "protocol": "TCP", "targetPort": 8080}, {"port": 53, "protocol": "UDP"}]}});
        assert_eq!(
            service(&svc, now()).cells,
            vec![
                json!("web"),
                json!("ClusterIP"),
                json!("10.96.0.10"),
                json!("<none>"),
                json!("80/TCP,53/UDP"),
                json!("5m"),
                json!("app=web")
            ]
        );
        let np = json!({"metadata": meta("np"), "spec": {"type": "NodePort", "clusterIPs": ["10.96.1.1"],
            "externalIPs": ["1.2.3.4"], "ports": [{"port": 80, "nodePort": 30080, "protocol": "TCP"}]}});
        assert_eq!(
            service(&np, now()).cells[3..5],
            [json!("1.2.3.4"), json!("80:30080/TCP")]
        );
        let lb = json!({"metadata": meta("lb"), "spec": {"type": "LoadBalancer", "clusterIPs": ["10.96.1.2"],
            "ports": [{"port": 443, "nodePort": 31443, "protocol": "TCP"}]},
            "status": {"loadBalancer": {"ingress": [{"ip": "5.6.7.8"}, {"hostname": "lb.example.com"}]}}});
        assert_eq!(
            service(&lb, now()).cells[3],
            json!("5.6.7.8,lb.example.com")
        );
        let pending = json!({"metadata": meta("p"), "spec": {"type": "LoadBalancer"}});
        assert_eq!(
            service(&pending, now()).cells[2..5],
            [json!("<none>"), json!("<pending>"), json!("<none>")]
        );
        let ext = json!({"metadata": meta("e"), "spec": {"type": "ExternalName", "externalName": "db.example.com"}});
        assert_eq!(
            service(&ext, now()).cells[2..4],
            [json!("<none>"), json!("db.example.com")]
        );
        let headless = json!({"metadata": meta("h"), "spec": {"type": "ClusterIP", "clusterIP": "None", "clusterIPs": ["None"]}});
        assert_eq!(service(&headless, now()).cells[2], json!("None"));
        assert_eq!(service(&headless, now()).cells[6], json!("<none>"));
    }

    #[test]
    fn table_core_endpoints() {
        let ep = json!({"metadata": meta("web"), "subsets": [
            {"addresses": [{"ip": "10.0.0.1"}, {"ip": "10.0.0.2"}], "ports": [{"port": 8080}, {"port": 9090}]}]});
        assert_eq!(
            endpoints(&ep, now()).cells,
            vec![
                json!("web"),
                json!("10.0.0.1:8080,10.0.0.2:8080,10.0.0.1:9090 + 1 more..."),
                json!("5m")
            ]
        );
        let headless =
            json!({"metadata": meta("h"), "subsets": [{"addresses": [{"ip": "fd00::1"}]}]});
        assert_eq!(endpoints(&headless, now()).cells[1], json!("fd00::1"));
        let v6 = json!({"metadata": meta("h"), "subsets": [{"addresses": [{"ip": "fd00::1"}], "ports": [{"port": 80}]}]});
        assert_eq!(endpoints(&v6, now()).cells[1], json!("[fd00::1]:80"));
        assert_eq!(
            endpoints(&json!({"metadata": meta("e")}), now()).cells[1],
            json!("<none>")
        );
    }

    #[test]
    fn table_core_node() {
        let n = json!({"metadata": {"name": "n1", "creationTimestamp": "2024-05-30T12:00:00Z",
                "labels": {"node-role.kubernetes.io/control-plane": "", "node-role.kubernetes.io/worker": "",
                           "kubernetes.io/role": "edge", "node-role.kubernetes.io/": "x"}},
            "spec": {"unschedulable": true},
            "status": {"conditions": [{"type": "MemoryPressure", "status": "False"}, {"type": "Ready", "status": "True"}],
                "addresses": [{"type": "InternalIP", "address": "192.168.1.10"}, {"type": "Hostname", "address": "n1"}],
                "nodeInfo": {"kubeletVersion": "v1.33.0", "osImage": "Debian GNU/Linux 12 (bookworm)",
                             "kernelVersion": "6.1.0", "containerRuntimeVersion": "containerd://1.7.0"}}});
        assert_eq!(
            node(&n, now()).cells,
            vec![
                json!("n1"),
                json!("Ready,SchedulingDisabled"),
                json!("control-plane,edge,worker"),
                json!("2d"),
                json!("v1.33.0"),
                json!("192.168.1.10"),
                json!("<none>"),
                json!("Debian GNU/Linux 12 (bookworm)"),
                json!("6.1.0"),
                json!("containerd://1.7.0")
            ]
        );
        let bare = json!({"metadata": {"name": "n2"}, "status": {"conditions": [{"type": "Ready", "status": "Unknown"}]}});
        assert_eq!(
            node(&bare, now()).cells[1..],
            [
                json!("NotReady"),
                json!("<none>"),
                json!("<unknown>"),
                json!(""),
                json!("<none>"),
                json!("<none>"),
                json!("<unknown>"),
                json!("<unknown>"),
                json!("<unknown>")
            ]
        );
        assert_eq!(
            node(&json!({"metadata": {"name": "n3"}}), now()).cells[1],
            json!("Unknown")
        );
    }

    #[test]
    fn table_core_config_secret_sa_namespace() {
        let cm = json!({"metadata": meta("c"), "data": {"a": "1"}, "binaryData": {"b": "AA=="}});
        assert_eq!(
            config_map(&cm, now()).cells,
            vec![json!("c"), json!(2), json!("5m")]
        );
        let s = json!({"metadata": meta("s"), "type": "kubernetes.io/tls", "data": {"tls.crt": "", "tls.key": ""}});
        assert_eq!(
            secret(&s, now()).cells,
            vec![
                json!("s"),
                json!("kubernetes.io/tls"),
                json!(2),
                json!("5m")
            ]
        );
        let sa = json!({"metadata": meta("default")});
        assert_eq!(
            service_account(&sa, now()).cells,
            vec![json!("default"), json!(0), json!("5m")]
        );
        let ns = json!({"metadata": meta("kube-system"), "status": {"phase": "Active"}});
        assert_eq!(
            namespace(&ns, now()).cells,
            vec![json!("kube-system"), json!("Active"), json!("5m")]
        );
    }

    #[test]
    fn table_core_volumes() {
        let pv = json!({"metadata": meta("pv1"), "spec": {"capacity": {"storage": "1.5Gi"},
            "accessModes": ["ReadWriteMany", "ReadWriteOnce"], "persistentVolumeReclaimPolicy": "Retain",
            "claimRef": {"namespace": "default", "name": "data"}, "storageClassName": "local",
            "volumeMode": "Filesystem"}, "status": {"phase": "Bound"}});
        assert_eq!(
            persistent_volume(&pv, now()).cells,
            vec![
                json!("pv1"),
                json!("1536Mi"),
                json!("RWO,RWX"),
                json!("Retain"),
                json!("Bound"),
                json!("default/data"),
                json!("local"),
                json!("<unset>"),
                json!(""),
                json!("5m"),
                json!("Filesystem")
            ]
        );
        let pvc = json!({"metadata": meta("data"), "spec": {"volumeName": "pv1", "storageClassName": "local",
            "resources": {"requests": {"storage": "1Gi"}}},
            "status": {"phase": "Bound", "capacity": {"storage": "1536Mi"}, "accessModes": ["ReadWriteOnce"]}});
        assert_eq!(
            persistent_volume_claim(&pvc, now()).cells,
            vec![
                json!("data"),
                json!("Bound"),
                json!("pv1"),
                json!("1536Mi"),
                json!("RWO"),
                json!("local"),
                json!("<unset>"),
                json!("5m"),
                json!("<unset>")
            ]
        );
        let pending = json!({"metadata": {"name": "p", "deletionTimestamp": "2024-06-01T11:00:00Z",
                "annotations": {"volume.beta.kubernetes.io/storage-class": "old"}},
            "spec": {"storageClassName": "new"}, "status": {"phase": "Pending"}});
        assert_eq!(
            persistent_volume_claim(&pending, now()).cells[1..6],
            [
                json!("Terminating"),
                json!(""),
                json!(""),
                json!(""),
                json!("old")
            ]
        );
    }

    #[test]
    fn table_core_resource_quota() {
        let rq = json!({"metadata": meta("q"), "status": {
            "hard": {"requests.cpu": "2", "pods": "10", "limits.memory": "2Gi", "limits.cpu": "4", "limits": "1"},
            "used": {"requests.cpu": "500m", "pods": "3", "limits.memory": "512Mi"}}});
        assert_eq!(
            resource_quota(&rq, now()).cells,
            vec![
                json!("q"),
                json!("limits: 0/1, pods: 3/10, requests.cpu: 500m/2"),
                json!("limits.cpu: 0/4, limits.memory: 512Mi/2Gi"),
                json!("5m")
            ]
        );
    }

    #[test]
    fn table_core_replication_controller_and_template() {
        let rc = json!({"metadata": meta("rc"), "spec": {"replicas": 3, "selector": {"app": "x"},
            "template": {"spec": {"containers": [{"name": "a", "image": "nginx"}, {"name": "b", "image": "busybox"}]}}},
            "status": {"replicas": 3, "readyReplicas": 2}});
        assert_eq!(
            replication_controller(&rc, now()).cells,
            vec![
                json!("rc"),
                json!(3),
                json!(3),
                json!(2),
                json!("5m"),
                json!("a,b"),
                json!("nginx,busybox"),
                json!("app=x")
            ]
        );
        let pt = json!({"metadata": meta("t"), "template": {"metadata": {"labels": {"app": "x"}},
            "spec": {"containers": [{"name": "a", "image": "nginx"}]}}});
        assert_eq!(
            pod_template(&pt, now()).cells,
            vec![json!("t"), json!("a"), json!("nginx"), json!("app=x")]
        );
    }
}
