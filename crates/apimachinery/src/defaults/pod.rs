//! Defaults of pods and pod templates (Kubernetes' `SetDefaults_PodSpec`,
//! `SetDefaults_Container`, `SetDefaults_Probe`, the volume source defaulters
//! and, for pods only, `SetDefaults_Pod`).

use serde_json::{Map, Value, json};

use super::quantities::{canonicalize_quantity, canonicalize_resource_list};
use crate::validation::json::{
    field, items_mut, member_mut, obj_mut, s, set_if_absent, set_if_zero,
};

/// File mode of secret, configMap, downwardAPI and projected volumes (0644).
const DEFAULT_MODE: i64 = 0o644;

/// Defaults a pod template (`spec.template` of workloads): the spec defaults
/// plus the `creationTimestamp: null` Go always writes in embedded metadata.
pub(crate) fn default_pod_template(tmpl: &mut Value) {
    let meta = obj_mut(tmpl, "metadata");
    set_if_absent(meta, "creationTimestamp", Value::Null);
    default_pod_spec(obj_mut(tmpl, "spec"));
}

/// Defaults a Pod object (spec and pod-only defaults).
pub(crate) fn default_pod(pod: &mut Value) {
    let spec = obj_mut(pod, "spec");
    // SetDefaults_Pod runs before the spec defaulters, so copied requests are rounded too.
    for list in ["containers", "initContainers"] {
        for c in items_mut(spec, list) {
            copy_limits_to_requests(c);
        }
    }
    set_if_absent(spec, "enableServiceLinks", Value::Bool(true));
    if spec.get("hostNetwork").and_then(Value::as_bool) == Some(true) {
        for list in ["containers", "initContainers"] {
            for c in items_mut(spec, list) {
                for port in items_mut(c, "ports") {
                    let cp = port.get("containerPort").cloned().unwrap_or(Value::Null);
                    set_if_zero(port, "hostPort", cp);
                }
            }
        }
    }
    default_pod_spec(spec);
    default_pod_priority(spec);
}

/// Priority and preemption policy as the Priority admission plugin sets them
/// for pods without a custom PriorityClass (the API server resolves custom
/// classes, which need cluster state).
pub(crate) fn default_pod_priority(spec: &mut Value) {
    let priority = match s(spec, &["priorityClassName"]) {
        "" => Some(0),
        "system-node-critical" => Some(2_000_001_000),
        "system-cluster-critical" => Some(2_000_000_000),
        _ => None,
    };
    if let Some(p) = priority {
        set_if_absent(spec, "priority", Value::from(p));
        set_if_absent(
            spec,
            "preemptionPolicy",
            Value::from("PreemptLowerPriority"),
        );
    }
}

fn copy_limits_to_requests(c: &mut Value) {
    let Some(res) = member_mut(c, "resources") else {
        return;
    };
    let Some(limits) = res.get("limits").and_then(Value::as_object).cloned() else {
        return;
    };
    let requests = obj_mut(res, "requests");
    if let Some(r) = requests.as_object_mut() {
        for (k, v) in limits {
            r.entry(k).or_insert(v);
        }
    }
}

/// `SetDefaults_PodSpec` and the defaulters of everything a pod spec contains.
pub(crate) fn default_pod_spec(spec: &mut Value) {
    set_if_zero(spec, "dnsPolicy", Value::from("ClusterFirst"));
    set_if_zero(spec, "restartPolicy", Value::from("Always"));
    set_if_absent(spec, "securityContext", json!({}));
    set_if_absent(spec, "terminationGracePeriodSeconds", Value::from(30));
    set_if_zero(spec, "schedulerName", Value::from("default-scheduler"));
    // The v1 conversion keeps the deprecated `serviceAccount` in step with `serviceAccountName`.
    let sa_name = s(spec, &["serviceAccountName"]).to_string();
    let sa = s(spec, &["serviceAccount"]).to_string();
    if sa_name.is_empty() && !sa.is_empty() {
        set_if_zero(spec, "serviceAccountName", Value::from(sa));
    } else if !sa_name.is_empty()
        && let Some(m) = spec.as_object_mut()
    {
        m.insert("serviceAccount".into(), Value::from(sa_name));
    }
    for v in items_mut(spec, "volumes") {
        default_volume(v);
    }
    for list in ["initContainers", "containers", "ephemeralContainers"] {
        for c in items_mut(spec, list) {
            default_container(c);
        }
    }
    if let Some(m) = spec.as_object_mut()
        && let Some(o) = m.get_mut("overhead")
    {
        canonicalize_resource_list(o, true);
    }
}

fn default_volume(v: &mut Value) {
    const SOURCES: &[&str] = &[
        "hostPath",
        "emptyDir",
        "gcePersistentDisk",
        "awsElasticBlockStore",
        "gitRepo",
        "secret",
        "nfs",
        "iscsi",
        "glusterfs",
        "persistentVolumeClaim",
        "rbd",
        "flexVolume",
        "cinder",
        "cephfs",
        "flocker",
        "downwardAPI",
        "fc",
        "azureFile",
        "configMap",
        "vsphereVolume",
        "quobyte",
        "azureDisk",
        "photonPersistentDisk",
        "projected",
        "portworxVolume",
        "scaleIO",
        "storageos",
        "csi",
        "ephemeral",
        "image",
    ];
    if !SOURCES.iter().any(|k| field(v, &[k]).is_some())
        && let Some(m) = v.as_object_mut()
    {
        m.insert("emptyDir".into(), json!({}));
    }
    if let Some(src) = member_mut(v, "hostPath") {
        set_if_absent(src, "type", Value::from(""));
    }
    if let Some(src) = member_mut(v, "emptyDir")
        && let Some(limit) = src.get_mut("sizeLimit")
    {
        canonicalize_quantity(limit);
    }
    for key in ["secret", "configMap"] {
        if let Some(src) = member_mut(v, key) {
            set_if_absent(src, "defaultMode", Value::from(DEFAULT_MODE));
        }
    }
    if let Some(src) = member_mut(v, "downwardAPI") {
        set_if_absent(src, "defaultMode", Value::from(DEFAULT_MODE));
        for item in items_mut(src, "items") {
            default_downward_api_item(item);
        }
    }
    if let Some(src) = member_mut(v, "projected") {
        set_if_absent(src, "defaultMode", Value::from(DEFAULT_MODE));
        for source in items_mut(src, "sources") {
            if let Some(d) = member_mut(source, "downwardAPI") {
                for item in items_mut(d, "items") {
                    default_downward_api_item(item);
                }
            }
            if let Some(t) = member_mut(source, "serviceAccountToken") {
                set_if_absent(t, "expirationSeconds", Value::from(3600));
            }
        }
    }
    if let Some(src) = member_mut(v, "iscsi") {
        set_if_zero(src, "iscsiInterface", Value::from("default"));
    }
    if let Some(src) = member_mut(v, "rbd") {
        set_if_zero(src, "pool", Value::from("rbd"));
        set_if_zero(src, "user", Value::from("admin"));
        set_if_zero(src, "keyring", Value::from("/etc/ceph/keyring"));
    }
    if let Some(src) = member_mut(v, "azureDisk") {
        default_azure_disk(src);
    }
    if let Some(src) = member_mut(v, "scaleIO") {
        set_if_zero(src, "storageMode", Value::from("ThinProvisioned"));
        set_if_zero(src, "fsType", Value::from("xfs"));
    }
    if let Some(src) = member_mut(v, "ephemeral")
        && let Some(t) = member_mut(src, "volumeClaimTemplate")
    {
        set_if_absent(obj_mut(t, "metadata"), "creationTimestamp", Value::Null);
        super::core_v1::default_pvc_spec(obj_mut(t, "spec"));
    }
    if let Some(src) = member_mut(v, "image")
        && s(src, &["pullPolicy"]).is_empty()
    {
        let policy = pull_policy_for(s(src, &["reference"]));
        set_if_zero(src, "pullPolicy", Value::from(policy));
    }
}

pub(crate) fn default_azure_disk(src: &mut Value) {
    set_if_absent(src, "cachingMode", Value::from("ReadWrite"));
    set_if_absent(src, "fsType", Value::from("ext4"));
    set_if_absent(src, "readOnly", Value::Bool(false));
    set_if_absent(src, "kind", Value::from("Shared"));
}

fn default_downward_api_item(item: &mut Value) {
    if let Some(fr) = member_mut(item, "fieldRef") {
        set_if_zero(fr, "apiVersion", Value::from("v1"));
    }
    if let Some(rr) = member_mut(item, "resourceFieldRef")
        && let Some(d) = rr.get_mut("divisor")
    {
        canonicalize_quantity(d);
    }
}

fn default_container(c: &mut Value) {
    if s(c, &["imagePullPolicy"]).is_empty() {
        let policy = pull_policy_for(s(c, &["image"]));
        set_if_zero(c, "imagePullPolicy", Value::from(policy));
    }
    set_if_zero(
        c,
        "terminationMessagePath",
        Value::from("/dev/termination-log"),
    );
    set_if_zero(c, "terminationMessagePolicy", Value::from("File"));
    for port in items_mut(c, "ports") {
        set_if_zero(port, "protocol", Value::from("TCP"));
    }
    for env in items_mut(c, "env") {
        if let Some(vf) = member_mut(env, "valueFrom") {
            if let Some(fr) = member_mut(vf, "fieldRef") {
                set_if_zero(fr, "apiVersion", Value::from("v1"));
            }
            if let Some(rr) = member_mut(vf, "resourceFieldRef")
                && let Some(d) = rr.get_mut("divisor")
            {
                canonicalize_quantity(d);
            }
        }
    }
    // ResourceRequirements is a struct, so Kubernetes always writes `resources: {}`.
    let res = obj_mut(c, "resources");
    if let Some(m) = res.as_object_mut() {
        for key in ["limits", "requests"] {
            if let Some(list) = m.get_mut(key) {
                canonicalize_resource_list(list, true);
            }
        }
    }
    for probe in ["livenessProbe", "readinessProbe", "startupProbe"] {
        if let Some(p) = member_mut(c, probe) {
            set_if_zero(p, "timeoutSeconds", Value::from(1));
            set_if_zero(p, "periodSeconds", Value::from(10));
            set_if_zero(p, "successThreshold", Value::from(1));
            set_if_zero(p, "failureThreshold", Value::from(3));
            default_handler(p);
        }
    }
    if let Some(l) = member_mut(c, "lifecycle") {
        for hook in ["postStart", "preStop"] {
            if let Some(h) = member_mut(l, hook) {
                default_handler(h);
            }
        }
    }
}

fn default_handler(h: &mut Value) {
    if let Some(http) = member_mut(h, "httpGet") {
        set_if_zero(http, "path", Value::from("/"));
        set_if_zero(http, "scheme", Value::from("HTTP"));
    }
    if let Some(grpc) = member_mut(h, "grpc") {
        set_if_absent(grpc, "service", Value::from(""));
    }
}

/// `Always` for `:latest` or untagged images, `IfNotPresent` otherwise
/// (including digests and references Kubernetes cannot parse).
pub(crate) fn pull_policy_for(image: &str) -> &'static str {
    if image_tag(image).as_deref() == Some("latest") {
        "Always"
    } else {
        "IfNotPresent"
    }
}

/// The tag Kubernetes' `parsers.ParseImageName` reports: the explicit tag,
/// `latest` when there is neither tag nor digest, `None` for a digest-only
/// or unparseable reference.
fn image_tag(image: &str) -> Option<String> {
    let (rest, digest) = match image.split_once('@') {
        Some((r, d)) => (r, Some(d)),
        None => (image, None),
    };
    if let Some(d) = digest
        && !valid_digest(d)
    {
        return None;
    }
    let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
    let (name, tag) = match rest[last_slash..].rfind(':') {
        Some(i) => (&rest[..last_slash + i], Some(&rest[last_slash + i + 1..])),
        None => (rest, None),
    };
    if !valid_repository(name) {
        return None;
    }
    match tag {
        Some(t) if !valid_tag(t) => None,
        Some(t) => Some(t.to_string()),
        None if digest.is_some() => None,
        None => Some("latest".to_string()),
    }
}

fn valid_digest(d: &str) -> bool {
    let Some((algo, hex)) = d.split_once(':') else {
        return false;
    };
    let algo_ok = !algo.is_empty()
        && algo
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'+' | b'.'));
    let hex_ok = hex.len() >= 32 && hex.bytes().all(|c| c.is_ascii_hexdigit());
    algo_ok && hex_ok && (algo != "sha256" || hex.len() == 64)
}

fn valid_tag(t: &str) -> bool {
    let b = t.as_bytes();
    !b.is_empty()
        && b.len() <= 128
        && (b[0].is_ascii_alphanumeric() || b[0] == b'_')
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-'))
}

fn valid_repository(name: &str) -> bool {
    if name.is_empty() || name.len() > 255 {
        return false;
    }
    let mut parts: Vec<&str> = name.split('/').collect();
    let first = parts[0];
    if parts.len() > 1
        && (first.contains('.')
            || first.contains(':')
            || first == "localhost"
            || first.chars().any(|c| c.is_ascii_uppercase()))
    {
        let host = first.split(':').next().unwrap_or("");
        let port_ok = first
            .split_once(':')
            .is_none_or(|(_, p)| !p.is_empty() && p.bytes().all(|c| c.is_ascii_digit()));
        let host_ok = !host.is_empty()
            && host.split('.').all(|l| {
                let b = l.as_bytes();
                !b.is_empty()
                    && b[0].is_ascii_alphanumeric()
                    && b[b.len() - 1].is_ascii_alphanumeric()
                    && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
            });
        if !(host_ok && port_ok) {
            return false;
        }
        parts.remove(0);
    }
    parts.iter().all(|p| valid_path_component(p))
}

/// `[a-z0-9]+(?:(?:[._]|__|[-]*)[a-z0-9]+)*`
fn valid_path_component(p: &str) -> bool {
    let b = p.as_bytes();
    if b.is_empty() || !is_lower_alnum(b[0]) || !is_lower_alnum(b[b.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        if is_lower_alnum(b[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && !is_lower_alnum(b[i]) {
            i += 1;
        }
        let sep = &p[start..i];
        let ok = sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|c| c == b'-');
        if !ok {
            return false;
        }
    }
    true
}

fn is_lower_alnum(c: u8) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit()
}

/// Default NoExecute tolerations the DefaultTolerationSeconds admission
/// plugin adds to new pods.
pub(crate) fn add_default_tolerations(spec: &mut Value) {
    let tolerations: Vec<Value> = spec
        .get("tolerations")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let tolerates = |taint: &str| {
        tolerations.iter().any(|t| {
            let key = s(t, &["key"]);
            let effect = s(t, &["effect"]);
            (key == taint || key.is_empty()) && (effect == "NoExecute" || effect.is_empty())
        })
    };
    let mut added = Vec::new();
    for taint in [
        "node.kubernetes.io/not-ready",
        "node.kubernetes.io/unreachable",
    ] {
        if !tolerates(taint) {
            let mut t = Map::new();
            t.insert("key".into(), Value::from(taint));
            t.insert("operator".into(), Value::from("Exists"));
            t.insert("effect".into(), Value::from("NoExecute"));
            t.insert("tolerationSeconds".into(), Value::from(300));
            added.push(Value::Object(t));
        }
    }
    if added.is_empty() {
        return;
    }
    if let Some(m) = spec.as_object_mut() {
        let list = m
            .entry("tolerations")
            .or_insert_with(|| Value::Array(Vec::new()));
        if !list.is_array() {
            *list = Value::Array(Vec::new());
        }
        if let Some(a) = list.as_array_mut() {
            a.extend(added);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_pull_policy_by_tag() {
        let cases = [
            ("nginx", "Always"),
            ("nginx:latest", "Always"),
            ("nginx:1.25", "IfNotPresent"),
            ("docker.io/library/nginx", "Always"),
            ("localhost:5000/app", "Always"),
            ("localhost:5000/app:v1", "IfNotPresent"),
            (
                "nginx@sha256:0123456789012345678901234567890123456789012345678901234567890123",
                "IfNotPresent",
            ),
            ("Nginx", "IfNotPresent"),
            ("", "IfNotPresent"),
            ("ghcr.io/Org/app", "IfNotPresent"),
            ("my_registry/app", "Always"),
        ];
        for (image, want) in cases {
            assert_eq!(pull_policy_for(image), want, "{image}");
        }
    }
}
