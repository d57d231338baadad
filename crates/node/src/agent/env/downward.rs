//! The downward API's values for env vars: the pod fields `fieldRef`
//! names and the container resources `resourceFieldRef` names, with the
//! kubelet's rules (field label conversion, subscripted labels and
//! annotations, limits defaulted to the node's allocatable, values
//! divided by the divisor and rounded up).

use super::{Allocatable, Error};
use apimachinery::validation::format::is_qualified_name;
use apimachinery::validation::{Quantity, QuantityFormat, go_quote};
use k8s_openapi::api::core::v1::{Container, ObjectFieldSelector, Pod, ResourceFieldSelector};
use kube::ResourceExt;
use std::collections::BTreeMap;

/// What the node knows about the pod beyond its object.
pub struct Node<'a> {
    /// This node's name, for a pod whose spec does not carry it yet.
    pub name: &'a str,
    pub host_ip: &'a str,
    pub pod_ips: Vec<String>,
}

/// The value of the pod field `fs` names.
pub fn field(pod: &Pod, node: &Node<'_>, fs: &ObjectFieldSelector) -> Result<String, Error> {
    let path = internal_field_path(fs)?;
    let spec = pod.spec.as_ref();
    Ok(match path {
        "spec.nodeName" => spec.and_then(|s| s.node_name.clone()).unwrap_or_else(|| node.name.to_string()),
        "spec.serviceAccountName" => spec.and_then(|s| s.service_account_name.clone()).unwrap_or_default(),
        // One address per node and per pod so far: the lists have one entry.
        "status.hostIP" | "status.hostIPs" => node.host_ip.to_string(),
        "status.podIP" => node.pod_ips.first().cloned().unwrap_or_default(),
        "status.podIPs" => node.pod_ips.join(","),
        other => metadata_field(pod, other)?,
    })
}

/// The field path as the kubelet knows it (`spec.host` is the old name of
/// `spec.nodeName`), or why it names no field of a pod.
fn internal_field_path(fs: &ObjectFieldSelector) -> Result<&str, Error> {
    // The API server defaults the version; a selector stored without one
    // means v1.
    let version = fs.api_version.as_deref().unwrap_or("v1");
    if version != "v1" {
        return Err(Error::PodVersion(version.to_string()));
    }
    let label = fs.field_path.as_str();
    if let Some((path, _)) = split_subscript(label) {
        return match path {
            "metadata.annotations" | "metadata.labels" => Ok(label),
            _ => Err(Error::LabelSubscript(label.to_string())),
        };
    }
    match label {
        "metadata.annotations" | "metadata.labels" | "metadata.name" | "metadata.namespace" | "metadata.uid" | "spec.nodeName"
        | "spec.restartPolicy" | "spec.serviceAccountName" | "spec.schedulerName" | "status.phase" | "status.hostIP" | "status.hostIPs"
        | "status.podIP" | "status.podIPs" => Ok(label),
        "spec.host" => Ok("spec.nodeName"),
        _ => Err(Error::FieldLabel(label.to_string())),
    }
}

/// `metadata.labels['k']` as (`metadata.labels`, `k`).
fn split_subscript(path: &str) -> Option<(&str, &str)> {
    let inner = path.strip_suffix("']")?;
    let (base, key) = inner.split_once("['")?;
    (!base.is_empty()).then_some((base, key))
}

/// The object metadata fields every kind has (Kubernetes'
/// `ExtractFieldPathAsString`); other pod fields that pass the label
/// conversion, like `status.phase`, are not given to env vars.
fn metadata_field(pod: &Pod, path: &str) -> Result<String, Error> {
    let meta = &pod.metadata;
    if let Some((base, key)) = split_subscript(path) {
        let (map, checked) = match base {
            // Annotation keys are matched case-insensitively by validation.
            "metadata.annotations" => (meta.annotations.as_ref(), key.to_lowercase()),
            "metadata.labels" => (meta.labels.as_ref(), key.to_string()),
            _ => return Err(Error::FieldSubscript(path.to_string())),
        };
        let errs = is_qualified_name(&checked);
        if !errs.is_empty() {
            return Err(Error::Subscript { path: path.to_string(), reason: errs.join(";") });
        }
        return Ok(map.and_then(|m| m.get(key)).cloned().unwrap_or_default());
    }
    Ok(match path {
        "metadata.annotations" => format_map(meta.annotations.as_ref()),
        "metadata.labels" => format_map(meta.labels.as_ref()),
        "metadata.name" => pod.name_any(),
        "metadata.namespace" => pod.namespace().unwrap_or_default(),
        "metadata.uid" => meta.uid.clone().unwrap_or_default(),
        _ => return Err(Error::FieldPath(path.to_string())),
    })
}

/// `key="value"` lines in key order, values quoted as Go quotes them.
fn format_map(map: Option<&BTreeMap<String, String>>) -> String {
    map.into_iter().flatten().map(|(k, v)| format!("{k}={}", go_quote(v))).collect::<Vec<_>>().join("\n")
}

/// The value of the container resource `rs` names, in units of its
/// divisor, rounded up; a limit that is not set (or zero) is the node's
/// allocatable amount, as the kubelet defaults it for the downward API.
pub fn resource(c: &Container, allocatable: Result<&Allocatable, &str>, rs: &ResourceFieldSelector) -> Result<String, Error> {
    let divisor = match &rs.divisor {
        Some(q) => parse(&q.0)?,
        None => Quantity::from_units(0, QuantityFormat::DecimalSI),
    };
    let divisor = if divisor.is_zero() { Quantity::from_units(1, QuantityFormat::DecimalSI) } else { divisor };
    let requests = c.resources.as_ref().and_then(|r| r.requests.as_ref());
    let limits = c.resources.as_ref().and_then(|r| r.limits.as_ref());
    let request = |name: &str| amount(requests, name);
    let limit = |name: &str| -> Result<Quantity, Error> {
        let set = amount(limits, name)?;
        if !set.is_zero() {
            return Ok(set);
        }
        let allocatable = allocatable.map_err(|e| Error::Node(e.to_string()))?;
        let default = match name {
            "cpu" => allocatable.cpu_millis.map(Quantity::from_milli),
            "memory" => allocatable.memory_bytes.map(|b| Quantity::from_units(b, QuantityFormat::BinarySI)),
            "ephemeral-storage" => allocatable.ephemeral_storage_bytes.map(|b| Quantity::from_units(b, QuantityFormat::BinarySI)),
            _ => None,
        };
        Ok(default.unwrap_or(set))
    };
    match rs.resource.as_str() {
        "limits.cpu" => Ok(in_millis(&limit("cpu")?, &divisor)),
        "limits.memory" => Ok(in_units(&limit("memory")?, &divisor)),
        "limits.ephemeral-storage" => Ok(in_units(&limit("ephemeral-storage")?, &divisor)),
        "requests.cpu" => Ok(in_millis(&request("cpu")?, &divisor)),
        "requests.memory" => Ok(in_units(&request("memory")?, &divisor)),
        "requests.ephemeral-storage" => Ok(in_units(&request("ephemeral-storage")?, &divisor)),
        // Huge pages are never overcommitted, so their limit is always set
        // and never defaulted.
        other => match other.split_once('.') {
            Some(("requests", name)) if name.starts_with("hugepages-") => Ok(in_units(&request(name)?, &divisor)),
            Some(("limits", name)) if name.starts_with("hugepages-") => Ok(in_units(&amount(limits, name)?, &divisor)),
            _ => Err(Error::Resource(other.to_string())),
        },
    }
}

/// The amount `list` gives `name`, zero when it gives none.
fn amount(list: Option<&BTreeMap<String, k8s_openapi::apimachinery::pkg::api::resource::Quantity>>, name: &str) -> Result<Quantity, Error> {
    match list.and_then(|l| l.get(name)) {
        Some(q) => parse(&q.0),
        None => Ok(Quantity::from_units(0, QuantityFormat::DecimalSI)),
    }
}

fn parse(s: &str) -> Result<Quantity, Error> {
    Quantity::parse(s).map_err(|source| Error::Quantity { quantity: s.to_string(), source })
}

// Both divide as float64 and round up, as Kubernetes does, so large
// values round the same way there and here.
fn in_millis(q: &Quantity, divisor: &Quantity) -> String {
    ((q.milli_value() as f64 / divisor.milli_value() as f64).ceil() as i64).to_string()
}

fn in_units(q: &Quantity, divisor: &Quantity) -> String {
    ((q.value() as f64 / divisor.value() as f64).ceil() as i64).to_string()
}
