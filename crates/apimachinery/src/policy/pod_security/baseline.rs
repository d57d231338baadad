//! Baseline checks on host access and privileges: hostProcess, host
//! namespaces, privileged containers, added capabilities, hostPath volumes,
//! host ports, /proc mount type and sysctls.

use super::checks::{
    Pod, Verdict, containers_phrase, join_quote, name, pluralize, sc, setters, sorted_set,
};
use crate::validation::json::{arr_at, as_i64, bool_at, field};

fn forbid(reason: &str, detail: String) -> Verdict {
    Some((reason.to_string(), detail))
}

/// `securityContext.windowsOptions.hostProcess` must not be true.
pub(crate) fn windows_host_process(pod: &Pod, _minor: u32) -> Verdict {
    let host_process = |v: Option<&serde_json::Value>| v.and_then(|v| v.as_bool()) == Some(true);
    let bad: Vec<String> = pod
        .containers()
        .filter(|c| host_process(sc(c, &["windowsOptions", "hostProcess"])))
        .map(name)
        .collect();
    let who = setters(
        host_process(pod.pod_sc(&["windowsOptions", "hostProcess"])),
        &bad,
    );
    if who.is_empty() {
        return None;
    }
    forbid(
        "hostProcess",
        format!(
            "{} must not set securityContext.windowsOptions.hostProcess=true",
            who.join(" and ")
        ),
    )
}

/// No host network, PID or IPC namespace.
pub(crate) fn host_namespaces(pod: &Pod, _minor: u32) -> Verdict {
    let used: Vec<&str> = [
        ("hostNetwork", "hostNetwork=true"),
        ("hostPID", "hostPID=true"),
        ("hostIPC", "hostIPC=true"),
    ]
    .into_iter()
    .filter(|(field, _)| bool_at(pod.spec, &[field]) == Some(true))
    .map(|(_, text)| text)
    .collect();
    if used.is_empty() {
        return None;
    }
    forbid("host namespaces", used.join(", "))
}

/// No privileged containers.
pub(crate) fn privileged(pod: &Pod, _minor: u32) -> Verdict {
    let bad: Vec<String> = pod
        .containers()
        .filter(|c| sc(c, &["privileged"]).and_then(|v| v.as_bool()) == Some(true))
        .map(name)
        .collect();
    if bad.is_empty() {
        return None;
    }
    forbid(
        "privileged",
        format!(
            "{} must not set securityContext.privileged=true",
            containers_phrase(&bad)
        ),
    )
}

/// Docker's default capability set: adding these changes nothing.
const DEFAULT_CAPABILITIES: &[&str] = &[
    "AUDIT_WRITE",
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "FSETID",
    "KILL",
    "MKNOD",
    "NET_BIND_SERVICE",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_CHROOT",
];

/// Only default capabilities may be added.
pub(crate) fn capabilities(pod: &Pod, _minor: u32) -> Verdict {
    let mut bad = Vec::new();
    let mut caps = Vec::new();
    for c in pod.containers() {
        let Some(add) = sc(c, &["capabilities"]).map(|caps| arr_at(caps, &["add"])) else {
            continue;
        };
        let extra: Vec<String> = add
            .iter()
            .filter_map(|v| v.as_str())
            .filter(|cap| !DEFAULT_CAPABILITIES.contains(cap))
            .map(str::to_string)
            .collect();
        if !extra.is_empty() {
            bad.push(name(c));
            caps.extend(extra);
        }
    }
    if bad.is_empty() {
        return None;
    }
    forbid(
        "non-default capabilities",
        format!(
            "{} must not include {} in securityContext.capabilities.add",
            containers_phrase(&bad),
            join_quote(&sorted_set(caps))
        ),
    )
}

/// No hostPath volumes (restricted replaces this with its volume allow-list).
pub(crate) fn host_path_volumes(pod: &Pod, _minor: u32) -> Verdict {
    let bad: Vec<String> = pod
        .volumes()
        .iter()
        .filter(|v| field(v, &["hostPath"]).is_some())
        .map(name)
        .collect();
    if bad.is_empty() {
        return None;
    }
    forbid(
        "hostPath volumes",
        format!(
            "{} {}",
            pluralize("volume", "volumes", bad.len()),
            join_quote(&bad)
        ),
    )
}

/// No host ports.
pub(crate) fn host_ports(pod: &Pod, _minor: u32) -> Verdict {
    let mut bad = Vec::new();
    let mut ports = Vec::new();
    for c in pod.containers() {
        let used: Vec<String> = arr_at(c, &["ports"])
            .iter()
            .filter_map(|p| field(p, &["hostPort"]).and_then(as_i64))
            .filter(|p| *p != 0)
            .map(|p| p.to_string())
            .collect();
        if !used.is_empty() {
            bad.push(name(c));
            ports.extend(used);
        }
    }
    if bad.is_empty() {
        return None;
    }
    // Ports are listed as sorted strings, as Kubernetes' string set does.
    let ports = sorted_set(ports);
    forbid(
        "hostPort",
        format!(
            "{} {} {} {}",
            containers_phrase(&bad),
            pluralize("uses", "use", bad.len()),
            pluralize("hostPort", "hostPorts", ports.len()),
            ports.join(", ")
        ),
    )
}

/// `procMount` must be unset or `Default`.
pub(crate) fn proc_mount(pod: &Pod, _minor: u32) -> Verdict {
    let mut bad = Vec::new();
    let mut types = Vec::new();
    for c in pod.containers() {
        if let Some(t) = sc(c, &["procMount"]).and_then(|v| v.as_str())
            && t != "Default"
        {
            bad.push(name(c));
            types.push(t.to_string());
        }
    }
    if bad.is_empty() {
        return None;
    }
    forbid(
        "procMount",
        format!(
            "{} must not set securityContext.procMount to {}",
            containers_phrase(&bad),
            join_quote(&sorted_set(types))
        ),
    )
}

/// The namespaced, isolated sysctls each policy version allows.
fn sysctl_allowed(name: &str, minor: u32) -> bool {
    const V1_0: &[&str] = &[
        "kernel.shm_rmid_forced",
        "net.ipv4.ip_local_port_range",
        "net.ipv4.tcp_syncookies",
        "net.ipv4.ping_group_range",
        "net.ipv4.ip_unprivileged_port_start",
    ];
    const V1_27: &[&str] = &["net.ipv4.ip_local_reserved_ports"];
    const V1_29: &[&str] = &[
        "net.ipv4.tcp_keepalive_time",
        "net.ipv4.tcp_fin_timeout",
        "net.ipv4.tcp_keepalive_intvl",
        "net.ipv4.tcp_keepalive_probes",
    ];
    const V1_32: &[&str] = &["net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem"];
    V1_0.contains(&name)
        || (minor >= 27 && V1_27.contains(&name))
        || (minor >= 29 && V1_29.contains(&name))
        || (minor >= 32 && V1_32.contains(&name))
}

/// Only safe sysctls.
pub(crate) fn sysctls(pod: &Pod, minor: u32) -> Verdict {
    let bad: Vec<&str> = pod
        .pod_sc(&["sysctls"])
        .map(|v| arr_at(v, &[]))
        .unwrap_or(&[])
        .iter()
        .map(|s| crate::validation::json::s(s, &["name"]))
        .filter(|n| !sysctl_allowed(n, minor))
        .collect();
    if bad.is_empty() {
        return None;
    }
    forbid("forbidden sysctls", bad.join(", "))
}
