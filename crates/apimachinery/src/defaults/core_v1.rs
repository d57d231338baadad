//! Defaults of the core/v1 kinds other than pods: Service, Secret,
//! Namespace, PersistentVolume(Claim), Endpoints, Node, LimitRange,
//! ResourceQuota and Event.

use base64::Engine;
use serde_json::{Value, json};

use super::quantities::canonicalize_resource_list;
use crate::validation::json::{
    field, items_mut, member_mut, obj_mut, s, set_if_absent, set_if_zero,
};

pub(crate) fn default_service(svc: &mut Value) {
    let spec = obj_mut(svc, "spec");
    set_if_zero(spec, "sessionAffinity", Value::from("None"));
    let affinity = s(spec, &["sessionAffinity"]).to_string();
    if let Some(m) = spec.as_object_mut() {
        if affinity == "None" {
            m.remove("sessionAffinityConfig");
        } else if affinity == "ClientIP" {
            let has_timeout = m
                .get("sessionAffinityConfig")
                .and_then(|c| c.get("clientIP"))
                .and_then(|c| c.get("timeoutSeconds"))
                .is_some_and(|t| !t.is_null());
            if !has_timeout {
                m.insert(
                    "sessionAffinityConfig".into(),
                    json!({"clientIP": {"timeoutSeconds": 10800}}),
                );
            }
        }
    }
    set_if_zero(spec, "type", Value::from("ClusterIP"));
    let ty = s(spec, &["type"]).to_string();
    for port in items_mut(spec, "ports") {
        set_if_zero(port, "protocol", Value::from("TCP"));
        let target_unset = match port.get("targetPort") {
            None | Some(Value::Null) => true,
            Some(Value::String(t)) => t.is_empty(),
            Some(Value::Number(n)) => n.as_f64() == Some(0.0),
            Some(_) => false,
        };
        if target_unset {
            let p = port.get("port").cloned().unwrap_or(Value::from(0));
            if let Some(m) = port.as_object_mut() {
                m.insert("targetPort".into(), p);
            }
        }
    }
    let external_ips = spec
        .get("externalIPs")
        .and_then(Value::as_array)
        .is_some_and(|a| !a.is_empty());
    let externally_accessible =
        ty == "LoadBalancer" || ty == "NodePort" || (ty == "ClusterIP" && external_ips);
    if externally_accessible {
        set_if_zero(spec, "externalTrafficPolicy", Value::from("Cluster"));
    }
    if ["NodePort", "LoadBalancer", "ClusterIP"].contains(&ty.as_str()) {
        set_if_absent(spec, "internalTrafficPolicy", Value::from("Cluster"));
    }
    if ty == "LoadBalancer" {
        set_if_absent(spec, "allocateLoadBalancerNodePorts", Value::Bool(true));
    }
    let status = obj_mut(svc, "status");
    let lb = obj_mut(status, "loadBalancer");
    if ty == "LoadBalancer" {
        for ing in items_mut(lb, "ingress") {
            if !s(ing, &["ip"]).is_empty() {
                set_if_absent(ing, "ipMode", Value::from("VIP"));
            }
        }
    }
}

/// `stringData` is merged into `data` (base64) by the v1 conversion and never stored.
pub(crate) fn default_secret(secret: &mut Value) {
    set_if_zero(secret, "type", Value::from("Opaque"));
    let Some(m) = secret.as_object_mut() else {
        return;
    };
    if let Some(Value::Object(string_data)) = m.remove("stringData") {
        let data = m.entry("data").or_insert_with(|| json!({}));
        if !data.is_object() {
            *data = json!({});
        }
        if let Some(d) = data.as_object_mut() {
            for (k, v) in string_data {
                let text = v.as_str().unwrap_or_default();
                d.insert(
                    k,
                    Value::from(base64::engine::general_purpose::STANDARD.encode(text)),
                );
            }
        }
    }
}

pub(crate) fn default_namespace(ns: &mut Value) {
    let name = s(ns, &["metadata", "name"]).to_string();
    if !name.is_empty() {
        let labels = obj_mut(obj_mut(ns, "metadata"), "labels");
        if let Some(m) = labels.as_object_mut() {
            m.insert("kubernetes.io/metadata.name".into(), Value::from(name));
        }
    }
    set_if_zero(obj_mut(ns, "status"), "phase", Value::from("Active"));
}

/// `SetDefaults_PersistentVolumeClaimSpec`, plus canonical quantities and the
/// always-serialized `resources` struct.
pub(crate) fn default_pvc_spec(spec: &mut Value) {
    set_if_absent(spec, "volumeMode", Value::from("Filesystem"));
    let res = obj_mut(spec, "resources");
    if let Some(m) = res.as_object_mut() {
        for key in ["limits", "requests"] {
            if let Some(list) = m.get_mut(key) {
                canonicalize_resource_list(list, true);
            }
        }
    }
}

pub(crate) fn default_pvc(pvc: &mut Value) {
    default_pvc_spec(obj_mut(pvc, "spec"));
    let status = obj_mut(pvc, "status");
    set_if_zero(status, "phase", Value::from("Pending"));
    if let Some(m) = status.as_object_mut() {
        for key in ["capacity", "allocatedResources"] {
            if let Some(list) = m.get_mut(key) {
                canonicalize_resource_list(list, true);
            }
        }
    }
}

pub(crate) fn default_pv(pv: &mut Value) {
    let spec = obj_mut(pv, "spec");
    set_if_zero(spec, "persistentVolumeReclaimPolicy", Value::from("Retain"));
    set_if_absent(spec, "volumeMode", Value::from("Filesystem"));
    if let Some(cap) = spec.get_mut("capacity") {
        canonicalize_resource_list(cap, true);
    }
    if let Some(hp) = member_mut(spec, "hostPath") {
        set_if_absent(hp, "type", Value::from(""));
    }
    if let Some(src) = member_mut(spec, "rbd") {
        set_if_zero(src, "pool", Value::from("rbd"));
        set_if_zero(src, "user", Value::from("admin"));
        set_if_zero(src, "keyring", Value::from("/etc/ceph/keyring"));
    }
    if let Some(src) = member_mut(spec, "iscsi") {
        set_if_zero(src, "iscsiInterface", Value::from("default"));
    }
    if let Some(src) = member_mut(spec, "azureDisk") {
        super::pod::default_azure_disk(src);
    }
    if let Some(src) = member_mut(spec, "scaleIO") {
        set_if_zero(src, "storageMode", Value::from("ThinProvisioned"));
        set_if_zero(src, "fsType", Value::from("xfs"));
    }
    set_if_zero(obj_mut(pv, "status"), "phase", Value::from("Pending"));
}

pub(crate) fn default_endpoints(ep: &mut Value) {
    for subset in items_mut(ep, "subsets") {
        for port in items_mut(subset, "ports") {
            set_if_zero(port, "protocol", Value::from("TCP"));
        }
    }
}

/// Node defaults, with the node-info and daemon-endpoint structs Go always writes.
pub(crate) fn default_node(node: &mut Value) {
    obj_mut(node, "spec");
    let status = obj_mut(node, "status");
    if field(status, &["allocatable"]).is_none()
        && let Some(cap) = field(status, &["capacity"]).cloned()
        && let Some(m) = status.as_object_mut()
    {
        m.insert("allocatable".into(), cap);
    }
    if let Some(m) = status.as_object_mut() {
        for key in ["capacity", "allocatable"] {
            if let Some(list) = m.get_mut(key) {
                canonicalize_resource_list(list, true);
            }
        }
    }
    let endpoint = obj_mut(obj_mut(status, "daemonEndpoints"), "kubeletEndpoint");
    set_if_absent(endpoint, "Port", Value::from(0));
    let info = obj_mut(status, "nodeInfo");
    for key in [
        "machineID",
        "systemUUID",
        "bootID",
        "kernelVersion",
        "osImage",
        "containerRuntimeVersion",
        "kubeletVersion",
        "kubeProxyVersion",
        "operatingSystem",
        "architecture",
    ] {
        set_if_absent(info, key, Value::from(""));
    }
}

/// `SetDefaults_LimitRangeItem`: container defaults fall back to max, default
/// requests to defaults and then to min.
pub(crate) fn default_limit_range(lr: &mut Value) {
    let spec = obj_mut(lr, "spec");
    for item in items_mut(spec, "limits") {
        if s(item, &["type"]) == "Container" {
            let max = item
                .get("max")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default();
            let min = item
                .get("min")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default();
            let default = obj_mut(item, "default");
            if let Some(d) = default.as_object_mut() {
                for (k, v) in max {
                    d.entry(k).or_insert(v);
                }
            }
            let defaults = item
                .get("default")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default();
            let default_request = obj_mut(item, "defaultRequest");
            if let Some(d) = default_request.as_object_mut() {
                for (k, v) in defaults {
                    d.entry(k).or_insert(v);
                }
                for (k, v) in min {
                    d.entry(k).or_insert(v);
                }
            }
            // Go drops the empty maps again when writing them out.
            if let Some(m) = item.as_object_mut() {
                for key in ["default", "defaultRequest"] {
                    if m.get(key)
                        .and_then(Value::as_object)
                        .is_some_and(|o| o.is_empty())
                    {
                        m.remove(key);
                    }
                }
            }
        }
        if let Some(m) = item.as_object_mut() {
            for key in [
                "max",
                "min",
                "default",
                "defaultRequest",
                "maxLimitRequestRatio",
            ] {
                if let Some(list) = m.get_mut(key) {
                    canonicalize_resource_list(list, true);
                }
            }
        }
    }
}

pub(crate) fn default_resource_quota(rq: &mut Value) {
    obj_mut(rq, "spec");
    for section in ["spec", "status"] {
        if let Some(m) = member_mut(rq, section).and_then(Value::as_object_mut) {
            for key in ["hard", "used"] {
                if let Some(list) = m.get_mut(key) {
                    canonicalize_resource_list(list, true);
                }
            }
        }
    }
}

/// Core events carry zero-valued fields Go always writes.
pub(crate) fn default_core_event(ev: &mut Value) {
    obj_mut(ev, "involvedObject");
    obj_mut(ev, "source");
    for key in ["firstTimestamp", "lastTimestamp", "eventTime"] {
        set_if_absent(ev, key, Value::Null);
    }
    for key in ["reportingComponent", "reportingInstance"] {
        set_if_absent(ev, key, Value::from(""));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_service_fields() {
        let mut svc = json!({"spec": {"ports": [{"port": 80}, {"port": 443, "targetPort": "https", "protocol": "UDP"}], "selector": {"app": "web"}}});
        default_service(&mut svc);
        assert_eq!(
            svc,
            json!({"spec": {
                "ports": [{"port": 80, "protocol": "TCP", "targetPort": 80}, {"port": 443, "targetPort": "https", "protocol": "UDP"}],
                "selector": {"app": "web"}, "sessionAffinity": "None", "type": "ClusterIP", "internalTrafficPolicy": "Cluster"},
                "status": {"loadBalancer": {}}})
        );
        let mut lb = json!({"spec": {"type": "LoadBalancer", "sessionAffinity": "ClientIP", "ports": [{"port": 80}]}});
        default_service(&mut lb);
        assert_eq!(lb["spec"]["externalTrafficPolicy"], "Cluster");
        assert_eq!(lb["spec"]["allocateLoadBalancerNodePorts"], true);
        assert_eq!(
            lb["spec"]["sessionAffinityConfig"],
            json!({"clientIP": {"timeoutSeconds": 10800}})
        );
    }

    #[test]
    fn defaults_secret_string_data_and_namespace() {
        let mut secret = json!({"stringData": {"user": "admin"}, "data": {"a": "Yg=="}});
        default_secret(&mut secret);
        assert_eq!(
            secret,
            json!({"data": {"a": "Yg==", "user": "YWRtaW4="}, "type": "Opaque"})
        );
        let mut ns = json!({"metadata": {"name": "team-a"}});
        default_namespace(&mut ns);
        assert_eq!(
            ns,
            json!({"metadata": {"name": "team-a", "labels": {"kubernetes.io/metadata.name": "team-a"}}, "status": {"phase": "Active"}})
        );
    }

    #[test]
    fn defaults_limit_range_container_item() {
        let mut lr = json!({"spec": {"limits": [{"type": "Container", "max": {"cpu": "2"}, "min": {"memory": "64Mi"}}]}});
        default_limit_range(&mut lr);
        assert_eq!(
            lr["spec"]["limits"][0],
            json!({"type": "Container", "max": {"cpu": "2"}, "min": {"memory": "64Mi"}, "default": {"cpu": "2"}, "defaultRequest": {"cpu": "2", "memory": "64Mi"}})
        );
    }
}
