//! Per-kind REST strategy: the system fields the server owns on create and
//! update (uid, creationTimestamp, generation, status on the main resource,
//! namespace phase and finalizers), generated names, and cluster IP and
//! node port allocation for Services.

use crate::rest::Target;
use crate::server::ApiServer;
use apimachinery::object::{ObjectExt, meta_mut, now_string};
use apimachinery::registry::Resource;
use apimachinery::validation::{FieldError, Path};
use serde_json::{Map, Value, json};
use std::collections::BTreeSet;
use std::net::Ipv4Addr;

/// The alphabet Kubernetes draws generated name suffixes from (no vowels,
/// no look-alike digits).
const SUFFIX_ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

/// Fills `metadata.name` from `generateName` plus five random characters.
pub fn generate_name(obj: &mut Value) {
    if obj.name().is_some() {
        return;
    }
    let Some(prefix) = obj.meta_str("generateName").map(str::to_string) else { return };
    if prefix.is_empty() {
        return;
    }
    let suffix = name_suffix();
    // Kubernetes trims the prefix so the name stays within 63 characters.
    let max_prefix = 63 - 5;
    let prefix: String = prefix.chars().take(max_prefix).collect();
    meta_mut(obj).insert("name".into(), Value::String(format!("{prefix}{suffix}")));
}

/// Five random characters, as Kubernetes' name generator appends them.
pub fn name_suffix() -> String {
    uuid::Uuid::new_v4()
        .into_bytes()
        .iter()
        .take(5)
        .map(|b| SUFFIX_ALPHABET[usize::from(*b) % SUFFIX_ALPHABET.len()] as char)
        .collect()
}

fn is(r: &Resource, group: &str, plural: &str) -> bool {
    r.group == group && r.plural == plural
}

/// Sets what the server owns on a new object.
pub fn prepare_for_create(r: &Resource, obj: &mut Value) {
    let meta = meta_mut(obj);
    meta.insert("uid".into(), Value::String(uuid::Uuid::new_v4().to_string()));
    meta.insert("creationTimestamp".into(), Value::String(now_string()));
    meta.remove("resourceVersion");
    meta.remove("deletionTimestamp");
    meta.remove("deletionGracePeriodSeconds");
    meta.remove("selfLink");
    if r.has_generation {
        meta.insert("generation".into(), Value::from(1));
    } else {
        meta.remove("generation");
    }
    if is(r, "", "namespaces") {
        let name = obj.name().unwrap_or_default().to_string();
        let labels = meta_mut(obj)
            .entry("labels")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(l) = labels {
            l.insert("kubernetes.io/metadata.name".into(), Value::String(name));
        }
        obj["spec"] = json!({"finalizers": ["kubernetes"]});
        obj["status"] = json!({"phase": "Active"});
        return;
    }
    if is(r, "batch", "jobs") {
        apimachinery::defaults::generate_job_selector(obj);
    }
    if is(r, "apps", "daemonsets") {
        template_generation(obj, None);
    }
    if is(r, "apiextensions.k8s.io", "customresourcedefinitions") {
        apimachinery::crd::prepare_for_create(obj);
        return;
    }
    if is(r, "", "pods") {
        let qos = apimachinery::defaults::pod_qos_class(obj);
        obj["status"] = json!({"phase": "Pending", "qosClass": qos});
        return;
    }
    if is(r, "", "nodes") {
        // Nodes register with their status, as kubelets do.
        return;
    }
    if is(r, "", "persistentvolumes") || is(r, "", "persistentvolumeclaims") {
        obj["status"] = json!({"phase": "Pending"});
        return;
    }
    if is(r, "", "services") {
        obj["status"] = json!({"loadBalancer": {}});
        return;
    }
    if r.subresources.status {
        obj["status"] = json!({});
    }
}

/// Carries over what a write to `target` may not change.
pub fn prepare_for_update(r: &Resource, new: &mut Value, old: &Value, target: Target) {
    match target {
        Target::Status => {
            let status = new.get("status").cloned();
            *new = old.clone();
            match status {
                Some(s) => new["status"] = s,
                None => {
                    if let Value::Object(o) = new {
                        o.remove("status");
                    }
                }
            }
        }
        Target::Finalize => {
            let finalizers = new.pointer("/spec/finalizers").cloned().unwrap_or(json!([]));
            *new = old.clone();
            new["spec"]["finalizers"] = finalizers;
        }
        Target::Main => {
            if r.subresources.status || is(r, "", "namespaces") {
                match old.get("status") {
                    Some(s) => new["status"] = s.clone(),
                    None => {
                        if let Value::Object(o) = new {
                            o.remove("status");
                        }
                    }
                }
            }
            if is(r, "", "namespaces") {
                new["spec"] = old.get("spec").cloned().unwrap_or_else(|| json!({}));
            }
            if is(r, "apiextensions.k8s.io", "customresourcedefinitions") {
                apimachinery::crd::prepare_for_update(new, old);
            }
            if is(r, "apps", "daemonsets") {
                template_generation(new, Some(old));
            }
        }
    }
    // System metadata is the server's.
    let old_meta = old.get("metadata").cloned().unwrap_or_default();
    let meta = meta_mut(new);
    for field in ["uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "generation"] {
        match old_meta.get(field) {
            Some(v) => {
                meta.insert(field.into(), v.clone());
            }
            None => {
                meta.remove(field);
            }
        }
    }
    meta.remove("selfLink");
    if r.has_generation && target == Target::Main && spec_changed(new, old) {
        let g = old_meta.get("generation").and_then(Value::as_i64).unwrap_or(0);
        meta_mut(new).insert("generation".into(), Value::from(g + 1));
    }
}

/// The annotation apps/v1 DaemonSets carry their template generation in
/// (internally `spec.templateGeneration`).
const TEMPLATE_GENERATION: &str = "deprecated.daemonset.template.generation";

/// Sets a DaemonSet's template generation as Kubernetes' strategy does:
/// 1 on create, the old value on update, plus one when the pod template
/// changed; what the client sent is ignored. The DaemonSet controller
/// labels pods with it (`pod-template-generation`).
fn template_generation(new: &mut Value, old: Option<&Value>) {
    let generation = match old {
        None => 1,
        Some(old) => {
            let previous = old
                .pointer(&format!("/metadata/annotations/{}", TEMPLATE_GENERATION.replace('/', "~1")))
                .and_then(Value::as_str)
                .and_then(|v| v.parse::<i64>().ok())
                .unwrap_or(0);
            if new.pointer("/spec/template") != old.pointer("/spec/template") { previous + 1 } else { previous }
        }
    };
    let annotations = meta_mut(new).entry("annotations").or_insert_with(|| Value::Object(Map::new()));
    if let Value::Object(a) = annotations {
        a.insert(TEMPLATE_GENERATION.into(), Value::String(generation.to_string()));
    }
}

/// Whether a Namespace still waits for `spec.finalizers` (the namespace
/// controller's `kubernetes`), which keep it after its metadata
/// finalizers are gone.
pub fn spec_finalizers_remain(r: &Resource, obj: &Value) -> bool {
    is(r, "", "namespaces")
        && obj.pointer("/spec/finalizers").and_then(Value::as_array).is_some_and(|f| !f.is_empty())
}

/// Whether anything but metadata and status differs.
fn spec_changed(a: &Value, b: &Value) -> bool {
    let strip = |v: &Value| -> Map<String, Value> {
        let mut m = v.as_object().cloned().unwrap_or_default();
        m.remove("metadata");
        m.remove("status");
        m
    };
    strip(a) != strip(b)
}

/// Whether writes of this resource allocate shared numbers (cluster IPs,
/// node ports) and so must be serialized.
pub fn needs_allocation(r: &Resource) -> bool {
    is(r, "", "services")
}

/// Allocates a Service's cluster IP and node ports, keeping those it
/// already has.
pub fn allocate(server: &ApiServer, r: &Resource, obj: &mut Value, old: Option<&Value>) -> Result<(), Vec<FieldError>> {
    if !needs_allocation(r) {
        return Ok(());
    }
    let svc_type = obj.pointer("/spec/type").and_then(Value::as_str).unwrap_or("ClusterIP").to_string();
    let (used_ips, used_ports) = used_allocations(server, obj);
    if svc_type == "ExternalName" {
        if let Some(spec) = obj.get_mut("spec").and_then(Value::as_object_mut) {
            spec.remove("clusterIP");
            spec.remove("clusterIPs");
        }
        return Ok(());
    }
    let old_ip = old.and_then(|o| o.pointer("/spec/clusterIP")).and_then(Value::as_str).map(str::to_string);
    let requested = obj.pointer("/spec/clusterIP").and_then(Value::as_str).map(str::to_string);
    let ip = match (requested.as_deref(), old_ip) {
        (Some("None"), _) => "None".to_string(),
        (None | Some(""), Some(old)) => old,
        (Some(ip), Some(old)) if ip == old => old,
        (Some(ip), _) if !ip.is_empty() => {
            let cidr = server.inner.options.service_cidr;
            match ip.parse::<Ipv4Addr>() {
                Ok(addr) if cidr.contains(&addr) && !used_ips.contains(&addr) => ip.to_string(),
                Ok(addr) if used_ips.contains(&addr) => {
                    return Err(vec![FieldError::invalid(
                        &Path::new("spec").child("clusterIPs"),
                        json!([ip]),
                        "failed to allocate IP: provided IP is already allocated",
                    )]);
                }
                _ => {
                    return Err(vec![FieldError::invalid(
                        &Path::new("spec").child("clusterIPs"),
                        json!([ip]),
                        format!("failed to allocate IP {ip}: provided IP is not in the valid range. The range of valid IPs is {cidr}"),
                    )]);
                }
            }
        }
        _ => match free_ip(server, &used_ips) {
            Some(ip) => ip.to_string(),
            None => {
                return Err(vec![FieldError::invalid(
                    &Path::new("spec").child("clusterIPs"),
                    json!([]),
                    "failed to allocate IP: range is full",
                )]);
            }
        },
    };
    obj["spec"]["clusterIP"] = json!(ip);
    obj["spec"]["clusterIPs"] = json!([ip]);
    if ip != "None" || obj.pointer("/spec/ipFamilies").is_none() {
        obj["spec"]["ipFamilies"] = json!(["IPv4"]);
        if obj.pointer("/spec/ipFamilyPolicy").is_none() {
            obj["spec"]["ipFamilyPolicy"] = json!("SingleStack");
        }
    }
    if svc_type == "NodePort" || svc_type == "LoadBalancer" {
        let (lo, hi) = server.inner.options.node_port_range;
        let old_ports: Vec<(i64, i64)> = old
            .and_then(|o| o.pointer("/spec/ports"))
            .and_then(Value::as_array)
            .map(|ps| {
                ps.iter()
                    .filter_map(|p| Some((p.get("port")?.as_i64()?, p.get("nodePort")?.as_i64()?)))
                    .collect()
            })
            .unwrap_or_default();
        let mut taken = used_ports;
        if let Some(ports) = obj.pointer_mut("/spec/ports").and_then(Value::as_array_mut) {
            for (i, p) in ports.iter_mut().enumerate() {
                let port = p.get("port").and_then(Value::as_i64).unwrap_or(0);
                let wanted = p.get("nodePort").and_then(Value::as_i64).filter(|n| *n != 0);
                let node_port = match wanted {
                    Some(n) => {
                        let kept = old_ports.iter().any(|(_, np)| *np == n);
                        if n < i64::from(lo) || n > i64::from(hi) {
                            return Err(vec![FieldError::invalid(
                                &Path::new("spec").child("ports").index(i).child("nodePort"),
                                json!(n),
                                format!("provided port is not in the valid range. The range of valid ports is {lo}-{hi}"),
                            )]);
                        }
                        if !kept && taken.contains(&n) {
                            return Err(vec![FieldError::invalid(
                                &Path::new("spec").child("ports").index(i).child("nodePort"),
                                json!(n),
                                "provided port is already allocated",
                            )]);
                        }
                        n
                    }
                    None => match old_ports.iter().find(|(op, _)| *op == port) {
                        Some((_, np)) => *np,
                        None => match (i64::from(lo)..=i64::from(hi)).find(|n| !taken.contains(n)) {
                            Some(n) => n,
                            None => {
                                return Err(vec![FieldError::invalid(
                                    &Path::new("spec").child("ports").index(i).child("nodePort"),
                                    json!(0),
                                    "failed to allocate a nodePort: range is full",
                                )]);
                            }
                        },
                    },
                };
                taken.insert(node_port);
                p["nodePort"] = json!(node_port);
            }
        }
    }
    Ok(())
}

/// Cluster IPs and node ports taken by other Services.
fn used_allocations(server: &ApiServer, this: &Value) -> (BTreeSet<Ipv4Addr>, BTreeSet<i64>) {
    let mut ips = BTreeSet::new();
    let mut ports = BTreeSet::new();
    let this_key = (this.namespace().map(str::to_string), this.name().map(str::to_string));
    let Ok(listed) = server.inner.store.list("/registry/core/services/", store::ListOptions::default()) else {
        return (ips, ports);
    };
    for kv in &listed.items {
        let Ok(svc) = serde_json::from_slice::<Value>(&kv.value) else { continue };
        if (svc.namespace().map(str::to_string), svc.name().map(str::to_string)) == this_key {
            continue;
        }
        if let Some(ip) = svc.pointer("/spec/clusterIP").and_then(Value::as_str).and_then(|s| s.parse().ok()) {
            ips.insert(ip);
        }
        for p in svc.pointer("/spec/ports").and_then(Value::as_array).into_iter().flatten() {
            if let Some(np) = p.get("nodePort").and_then(Value::as_i64) {
                ports.insert(np);
            }
        }
    }
    (ips, ports)
}

/// A free address of the service range: random, like Kubernetes, so
/// addresses are not reused right after a delete. The first address (the
/// `kubernetes` Service's) and the network/broadcast addresses are skipped.
fn free_ip(server: &ApiServer, used: &BTreeSet<Ipv4Addr>) -> Option<Ipv4Addr> {
    let cidr = server.inner.options.service_cidr;
    let base = u32::from(cidr.network());
    let size = 1u64 << (32 - u32::from(cidr.prefix_len()));
    if size < 4 {
        return None;
    }
    let usable = size - 3;
    let start = u64::from(uuid::Uuid::new_v4().as_u128() as u32) % usable;
    (0..usable)
        .map(|i| (start + i) % usable + 2)
        .map(|off| Ipv4Addr::from(base.wrapping_add(off as u32)))
        .find(|ip| !used.contains(ip))
}

/// The first usable address of the range: the `kubernetes` Service's.
pub fn kubernetes_service_ip(server: &ApiServer) -> Ipv4Addr {
    Ipv4Addr::from(u32::from(server.inner.options.service_cidr.network()).wrapping_add(1))
}

/// Conversions the API applies to incoming objects before anything else:
/// a Secret's write-only `stringData` is folded into `data` (base64),
/// overriding keys of the same name, as Kubernetes' conversion does.
pub fn normalize(r: &Resource, obj: &mut Value) {
    if is(r, "", "secrets") {
        use base64::Engine;
        let Some(root) = obj.as_object_mut() else { return };
        let Some(Value::Object(string_data)) = root.remove("stringData") else { return };
        let data = root.entry("data").or_insert_with(|| Value::Object(Map::new()));
        if !data.is_object() {
            *data = Value::Object(Map::new());
        }
        if let Value::Object(data) = data {
            for (k, v) in string_data {
                let s = match v {
                    Value::String(s) => s,
                    other => other.to_string(),
                };
                data.insert(k, Value::String(base64::engine::general_purpose::STANDARD.encode(s)));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_daemonset_template_generation_counts_template_changes() {
        let mut ds = json!({"metadata": {"name": "a", "annotations": {TEMPLATE_GENERATION: "9"}},
            "spec": {"template": {"spec": {"containers": [{"image": "a:1"}]}}}});
        template_generation(&mut ds, None);
        assert_eq!(ds["metadata"]["annotations"][TEMPLATE_GENERATION], "1");
        let old = ds.clone();
        let mut same = old.clone();
        same["spec"]["minReadySeconds"] = json!(5);
        template_generation(&mut same, Some(&old));
        assert_eq!(same["metadata"]["annotations"][TEMPLATE_GENERATION], "1");
        let mut changed = old.clone();
        changed["spec"]["template"]["spec"]["containers"][0]["image"] = json!("a:2");
        changed["metadata"]["annotations"] = json!({});
        template_generation(&mut changed, Some(&old));
        assert_eq!(changed["metadata"]["annotations"][TEMPLATE_GENERATION], "2");
    }
}
