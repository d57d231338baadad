//! Restricted checks: volume types, privilege escalation, capabilities,
//! running as non-root, runAsUser 0 and a mandatory seccomp profile.

use super::checks::{
    Pod, Verdict, containers_phrase, join_quote, name, pluralize, sc, setters, sorted_set,
};
use super::profiles::{
    explicit_seccomp, implicit_seccomp_detail, seccomp_explicit_verdict, valid_seccomp,
};
use crate::validation::json::{arr_at, field, i64_at, s};

/// Windows pods cannot set these Linux fields, so 1.25+ lets them through.
fn windows_exempt(pod: &Pod, minor: u32) -> bool {
    minor >= 25 && pod.is_windows()
}

/// Volume sources a restricted pod may use.
const ALLOWED_VOLUMES: &[&str] = &[
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "image",
    "persistentVolumeClaim",
    "projected",
    "secret",
];

/// The sources Kubernetes names, in the order it tests them.
const NAMED_VOLUMES: &[&str] = &[
    "hostPath",
    "gcePersistentDisk",
    "awsElasticBlockStore",
    "gitRepo",
    "nfs",
    "iscsi",
    "glusterfs",
    "rbd",
    "flexVolume",
    "cinder",
    "cephfs",
    "flocker",
    "fc",
    "azureFile",
    "vsphereVolume",
    "quobyte",
    "azureDisk",
    "photonPersistentDisk",
    "portworxVolume",
    "scaleIO",
    "storageos",
];

/// Only the allow-listed volume sources.
pub(crate) fn volumes(pod: &Pod, _minor: u32) -> Verdict {
    let mut bad = Vec::new();
    let mut types = Vec::new();
    for v in pod.volumes() {
        if ALLOWED_VOLUMES.iter().any(|k| field(v, &[k]).is_some()) {
            continue;
        }
        bad.push(name(v));
        let kind = NAMED_VOLUMES.iter().find(|k| field(v, &[k]).is_some());
        types.push(kind.copied().unwrap_or("unknown").to_string());
    }
    if bad.is_empty() {
        return None;
    }
    let types = sorted_set(types);
    Some((
        "restricted volume types".to_string(),
        format!(
            "{} {} {} {} {}",
            pluralize("volume", "volumes", bad.len()),
            join_quote(&bad),
            pluralize("uses", "use", bad.len()),
            pluralize(
                "restricted volume type",
                "restricted volume types",
                types.len()
            ),
            join_quote(&types)
        ),
    ))
}

/// `allowPrivilegeEscalation` must be explicitly false.
pub(crate) fn privilege_escalation(pod: &Pod, minor: u32) -> Verdict {
    if windows_exempt(pod, minor) {
        return None;
    }
    let bad: Vec<String> = pod
        .containers()
        .filter(|c| sc(c, &["allowPrivilegeEscalation"]).and_then(|v| v.as_bool()) != Some(false))
        .map(name)
        .collect();
    if bad.is_empty() {
        return None;
    }
    Some((
        "allowPrivilegeEscalation != false".to_string(),
        format!(
            "{} must set securityContext.allowPrivilegeEscalation=false",
            containers_phrase(&bad)
        ),
    ))
}

/// Drop ALL; add nothing but NET_BIND_SERVICE.
pub(crate) fn capabilities(pod: &Pod, minor: u32) -> Verdict {
    if windows_exempt(pod, minor) {
        return None;
    }
    let mut missing_drop = Vec::new();
    let mut adding = Vec::new();
    let mut caps = Vec::new();
    for c in pod.containers() {
        let Some(c_caps) = sc(c, &["capabilities"]) else {
            missing_drop.push(name(c));
            continue;
        };
        if !arr_at(c_caps, &["drop"])
            .iter()
            .any(|d| d.as_str() == Some("ALL"))
        {
            missing_drop.push(name(c));
        }
        let extra: Vec<String> = arr_at(c_caps, &["add"])
            .iter()
            .filter_map(|a| a.as_str())
            .filter(|a| *a != "NET_BIND_SERVICE")
            .map(str::to_string)
            .collect();
        if !extra.is_empty() {
            adding.push(name(c));
            caps.extend(extra);
        }
    }
    let mut details = Vec::new();
    if !missing_drop.is_empty() {
        details.push(format!(
            "{} must set securityContext.capabilities.drop=[\"ALL\"]",
            containers_phrase(&missing_drop)
        ));
    }
    if !adding.is_empty() {
        details.push(format!(
            "{} must not include {} in securityContext.capabilities.add",
            containers_phrase(&adding),
            join_quote(&sorted_set(caps))
        ));
    }
    if details.is_empty() {
        return None;
    }
    Some(("unrestricted capabilities".to_string(), details.join("; ")))
}

/// `runAsNonRoot` must be true, on the pod or on every container.
pub(crate) fn run_as_non_root(pod: &Pod, _minor: u32) -> Verdict {
    let pod_value = pod.pod_sc(&["runAsNonRoot"]).and_then(|v| v.as_bool());
    let mut explicit = Vec::new();
    let mut implicit = Vec::new();
    for c in pod.containers() {
        match sc(c, &["runAsNonRoot"]).and_then(|v| v.as_bool()) {
            Some(false) => explicit.push(name(c)),
            Some(true) => {}
            None if pod_value != Some(true) => implicit.push(name(c)),
            None => {}
        }
    }
    let reason = "runAsNonRoot != true".to_string();
    let who = setters(pod_value == Some(false), &explicit);
    if !who.is_empty() {
        return Some((
            reason,
            format!(
                "{} must not set securityContext.runAsNonRoot=false",
                who.join(" and ")
            ),
        ));
    }
    if !implicit.is_empty() {
        return Some((
            reason,
            format!(
                "pod or {} must set securityContext.runAsNonRoot=true",
                containers_phrase(&implicit)
            ),
        ));
    }
    None
}

/// Nothing may set `runAsUser: 0` (1.23+).
pub(crate) fn run_as_user(pod: &Pod, _minor: u32) -> Verdict {
    let root = |v: Option<i64>| v == Some(0);
    let pod_bad = root(i64_at(pod.spec, &["securityContext", "runAsUser"]));
    let bad: Vec<String> = pod
        .containers()
        .filter(|c| root(i64_at(c, &["securityContext", "runAsUser"])))
        .map(name)
        .collect();
    let who = setters(pod_bad, &bad);
    if who.is_empty() {
        return None;
    }
    Some((
        "runAsUser=0".to_string(),
        format!("{} must not set runAsUser=0", who.join(" and ")),
    ))
}

/// A valid seccomp profile must be set on the pod or on every container.
pub(crate) fn seccomp(pod: &Pod, minor: u32) -> Verdict {
    if windows_exempt(pod, minor) {
        return None;
    }
    let (pod_bad, bad, values) = explicit_seccomp(pod);
    let who = setters(pod_bad, &bad);
    if !who.is_empty() {
        return Some(seccomp_explicit_verdict(&who, &values));
    }
    let pod_set = pod
        .pod_sc(&["seccompProfile"])
        .is_some_and(|p| valid_seccomp(s(p, &["type"])));
    if pod_set {
        return None;
    }
    let missing: Vec<String> = pod
        .containers()
        .filter(|c| sc(c, &["seccompProfile"]).is_none())
        .map(name)
        .collect();
    if missing.is_empty() {
        return None;
    }
    Some((
        "seccompProfile".to_string(),
        implicit_seccomp_detail(&missing),
    ))
}
