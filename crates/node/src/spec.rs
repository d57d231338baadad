//! A container's OCI runtime spec (`config.json`): the command line the
//! image and the pod say together (`resolve_args`, Kubernetes' rules),
//! environment, working directory, user and groups, hostname, the
//! capability set (`capabilities`), seccomp (`seccomp`), masked and
//! read-only `/proc` paths, privileged containers, cgroup limits, and the
//! namespaces, mounts and cgroup of the container.

pub mod capabilities;
pub mod seccomp;

use oci_spec::runtime::{
    Capability, LinuxBuilder, LinuxCapabilities, LinuxCpuBuilder, LinuxDevice, LinuxDeviceCgroupBuilder, LinuxMemoryBuilder, LinuxNamespace, LinuxNamespaceBuilder, LinuxNamespaceType, LinuxResourcesBuilder,
    Mount, ProcessBuilder, RootBuilder, Spec, UserBuilder,
};
use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

/// The capabilities a container gets unless its security context says
/// otherwise: Docker's and containerd's default set.
pub const DEFAULT_CAPABILITIES: [Capability; 14] = capabilities::DEFAULT;

/// Paths of `/proc` and `/sys` hidden from a container (containerd's
/// list): they show the host's hardware, memory or kernel internals.
pub const MASKED_PATHS: [&str; 11] = [
    "/proc/acpi",
    "/proc/asound",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
    "/sys/devices/virtual/powercap",
];

/// Paths of `/proc` a container may read but not write: they change the
/// host's kernel, not the container's.
pub const READONLY_PATHS: [&str; 5] = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"];

/// The command line of a container (Kubernetes' rules): `command`
/// replaces the image's entrypoint and drops its cmd; `args` replaces the
/// cmd; neither runs the image's own.
pub fn resolve_args(entrypoint: &[String], cmd: &[String], command: Option<&[String]>, args: Option<&[String]>) -> Vec<String> {
    match (command, args) {
        (Some(command), Some(args)) => command.iter().chain(args).cloned().collect(),
        (Some(command), None) => command.to_vec(),
        (None, Some(args)) => entrypoint.iter().chain(args).cloned().collect(),
        (None, None) => entrypoint.iter().chain(cmd).cloned().collect(),
    }
}

/// `KEY=VALUE` lists merged: later ones replace earlier ones of the same
/// key, keeping the first place of the key.
pub fn merge_env(lists: &[&[String]]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for item in lists.iter().flat_map(|l| l.iter()) {
        let key = item.split_once('=').map_or(item.as_str(), |(k, _)| k);
        match out.iter_mut().find(|e| e.split_once('=').map_or(e.as_str(), |(k, _)| k) == key) {
            Some(e) => *e = item.clone(),
            None => out.push(item.clone()),
        }
    }
    out
}

/// The seccomp filter of a container.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Seccomp {
    /// None (Kubernetes' default).
    #[default]
    Unconfined,
    /// `seccomp::runtime_default`.
    RuntimeDefault,
}

/// The container's cgroup limits, as the kubelet computes them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Resources {
    pub cpu_shares: Option<u64>,
    pub cpu_quota: Option<i64>,
    pub cpu_period: Option<u64>,
    pub memory_limit: Option<i64>,
    /// Memory plus swap (the limit itself: no swap).
    pub memory_swap: Option<i64>,
    /// cgroup v2 files written as they are (`memory.oom.group`).
    pub unified: HashMap<String, String>,
}

/// Everything the spec is made from.
#[derive(Debug, Clone, Default)]
pub struct ContainerConfig {
    pub args: Vec<String>,
    pub env: Vec<String>,
    pub cwd: String,
    pub uid: u32,
    pub gid: u32,
    pub additional_gids: Vec<u32>,
    pub hostname: Option<String>,
    /// Namespaces joined by path (the pod's); the others are new.
    pub join: Vec<(LinuxNamespaceType, PathBuf)>,
    /// Mounts beyond the default ones (`/proc`, `/dev`, `/sys`, ...).
    pub mounts: Vec<Mount>,
    pub readonly_rootfs: bool,
    /// Kubernetes' `allowPrivilegeEscalation` (true unless set false).
    pub allow_privilege_escalation: bool,
    pub cgroups_path: Option<PathBuf>,
    /// The capability set; `None` is `DEFAULT_CAPABILITIES`, or every
    /// capability when privileged (a runtime cannot give one it lacks
    /// itself: the caller then names those it holds).
    pub capabilities: Option<HashSet<Capability>>,
    /// Every device, no seccomp, nothing masked, `/sys` writable.
    pub privileged: bool,
    pub seccomp: Seccomp,
    /// `procMount: Unmasked`: no masked or read-only paths.
    pub unmasked_proc: bool,
    /// Device nodes made in the container's `/dev` (a privileged
    /// container's are the host's).
    pub devices: Vec<LinuxDevice>,
    pub resources: Resources,
    /// A terminal for the process (`tty`).
    pub terminal: bool,
    /// Its stdin kept open for attached clients (`stdin`, `stdinOnce`).
    pub stdin: bool,
    pub stdin_once: bool,
    /// The process's `oom_score_adj` (the kubelet's QoS policy).
    pub oom_score_adj: Option<i32>,
}

#[derive(Debug, thiserror::Error)]
#[error("building the container's runtime spec: {0}")]
pub struct Error(#[from] oci_spec::OciSpecError);

/// The spec for a bundle whose root filesystem is its `rootfs` directory.
pub fn build(config: &ContainerConfig) -> Result<Spec, Error> {
    let caps: HashSet<Capability> = match &config.capabilities {
        Some(caps) => caps.clone(),
        None if config.privileged => capabilities::ALL.into_iter().collect(),
        None => DEFAULT_CAPABILITIES.into_iter().collect(),
    };
    let mut capability_sets = LinuxCapabilities::default();
    capability_sets.set_bounding(Some(caps.clone()));
    capability_sets.set_effective(Some(caps.clone()));
    capability_sets.set_permitted(Some(caps.clone()));
    capability_sets.set_inheritable(None);
    capability_sets.set_ambient(None);
    let user = UserBuilder::default()
        .uid(config.uid)
        .gid(config.gid)
        .additional_gids(config.additional_gids.clone())
        .build()?;
    let process = ProcessBuilder::default()
        .args(config.args.clone())
        .env(config.env.clone())
        .cwd(if config.cwd.is_empty() { "/".to_string() } else { config.cwd.clone() })
        .user(user)
        .capabilities(capability_sets)
        .no_new_privileges(!config.allow_privilege_escalation)
        .terminal(config.terminal)
        .build()?;
    let mut process = process;
    process.set_oom_score_adj(config.oom_score_adj);
    let mut spec = Spec::default();
    spec.set_process(Some(process));
    spec.set_root(Some(RootBuilder::default().path("rootfs").readonly(config.readonly_rootfs).build()?));
    spec.set_hostname(config.hostname.clone());
    let mut mounts = spec.mounts().clone().unwrap_or_default();
    if config.privileged {
        for m in mounts.iter_mut().filter(|m| matches!(m.typ().as_deref(), Some("sysfs" | "cgroup" | "cgroup2"))) {
            let options: Vec<String> = m.options().iter().flatten().map(|o| if o == "ro" { "rw".to_string() } else { o.clone() }).collect();
            m.set_options(Some(options));
        }
    }
    mounts.extend(config.mounts.iter().cloned());
    spec.set_mounts(Some(mounts));
    let namespaces: Vec<LinuxNamespace> = [LinuxNamespaceType::Pid, LinuxNamespaceType::Network, LinuxNamespaceType::Ipc, LinuxNamespaceType::Uts, LinuxNamespaceType::Mount]
        .into_iter()
        .map(|typ| {
            let mut ns = LinuxNamespaceBuilder::default().typ(typ).build()?;
            if let Some((_, path)) = config.join.iter().find(|(t, _)| *t == typ) {
                ns.set_path(Some(path.clone()));
            }
            Ok(ns)
        })
        .collect::<Result<_, oci_spec::OciSpecError>>()?;
    let mut linux = spec.linux().clone().map(Ok).unwrap_or_else(|| LinuxBuilder::default().build())?;
    linux.set_namespaces(Some(namespaces));
    linux.set_cgroups_path(config.cgroups_path.clone());
    linux.set_resources(Some(resources(config)?));
    linux.set_devices((!config.devices.is_empty()).then(|| config.devices.clone()));
    let hide = !(config.privileged || config.unmasked_proc);
    linux.set_masked_paths(hide.then(|| MASKED_PATHS.iter().map(|p| p.to_string()).collect()));
    linux.set_readonly_paths(hide.then(|| READONLY_PATHS.iter().map(|p| p.to_string()).collect()));
    let seccomp = match config.seccomp {
        Seccomp::RuntimeDefault if !config.privileged => Some(seccomp::runtime_default(&caps)?),
        _ => None,
    };
    linux.set_seccomp(seccomp);
    spec.set_linux(Some(linux));
    Ok(spec)
}

/// `linux.resources`: the limits, and the devices the container may use
/// (none but the runtime's defaults unless privileged).
fn resources(config: &ContainerConfig) -> Result<oci_spec::runtime::LinuxResources, oci_spec::OciSpecError> {
    let devices = LinuxDeviceCgroupBuilder::default().allow(config.privileged).access("rwm").build()?;
    let r = &config.resources;
    let mut cpu = LinuxCpuBuilder::default();
    if let Some(shares) = r.cpu_shares {
        cpu = cpu.shares(shares);
    }
    if let Some(quota) = r.cpu_quota {
        cpu = cpu.quota(quota);
    }
    if let Some(period) = r.cpu_period {
        cpu = cpu.period(period);
    }
    let mut memory = LinuxMemoryBuilder::default();
    if let Some(limit) = r.memory_limit {
        memory = memory.limit(limit);
    }
    if let Some(swap) = r.memory_swap {
        memory = memory.swap(swap);
    }
    let mut out = LinuxResourcesBuilder::default().devices(vec![devices]).cpu(cpu.build()?).memory(memory.build()?);
    if !r.unified.is_empty() {
        out = out.unified(r.unified.clone());
    }
    out.build()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn spec_command_line_follows_kubernetes() {
        let (ep, cmd) = (s(&["/entry"]), s(&["serve", "--port=80"]));
        assert_eq!(resolve_args(&ep, &cmd, None, None), s(&["/entry", "serve", "--port=80"]));
        assert_eq!(resolve_args(&ep, &cmd, None, Some(&s(&["check"]))), s(&["/entry", "check"]));
        assert_eq!(resolve_args(&ep, &cmd, Some(&s(&["/bin/sh"])), None), s(&["/bin/sh"]), "command drops the image's cmd");
        assert_eq!(resolve_args(&ep, &cmd, Some(&s(&["/bin/sh"])), Some(&s(&["-c", "true"]))), s(&["/bin/sh", "-c", "true"]));
        assert_eq!(merge_env(&[&s(&["PATH=/bin", "A=1"]), &s(&["A=2", "B=3", "PATH=/usr/bin"])]), s(&["PATH=/usr/bin", "A=2", "B=3"]));
    }

    #[test]
    fn spec_has_the_process_root_and_namespaces_asked_for() {
        let config = ContainerConfig {
            args: s(&["/bin/sh", "-c", "echo hi"]),
            env: s(&["A=1"]),
            cwd: "/work".into(),
            uid: 1000,
            gid: 2000,
            hostname: Some("web-0".into()),
            join: vec![(LinuxNamespaceType::Network, "/run/netns/pod".into())],
            readonly_rootfs: true,
            allow_privilege_escalation: false,
            cgroups_path: Some("/nubis/c1".into()),
            ..ContainerConfig::default()
        };
        let v = serde_json::to_value(build(&config).expect("builds")).expect("encodes");
        assert_eq!(v["process"]["args"], serde_json::json!(["/bin/sh", "-c", "echo hi"]));
        assert_eq!(v["process"]["cwd"], "/work");
        assert_eq!((v["process"]["user"]["uid"].as_u64(), v["process"]["user"]["gid"].as_u64()), (Some(1000), Some(2000)));
        assert_eq!(v["process"]["noNewPrivileges"], true);
        assert_eq!(v["process"]["capabilities"]["bounding"].as_array().map(Vec::len), Some(14));
        assert_eq!(v["root"], serde_json::json!({"path": "rootfs", "readonly": true}));
        assert_eq!(v["hostname"], "web-0");
        assert_eq!(v["linux"]["cgroupsPath"], "/nubis/c1");
        let ns = v["linux"]["namespaces"].as_array().cloned().unwrap_or_default();
        assert_eq!(ns.len(), 5);
        assert!(ns.contains(&serde_json::json!({"type": "network", "path": "/run/netns/pod"})), "{ns:?}");
        assert!(ns.contains(&serde_json::json!({"type": "pid"})));
        let mounts: Vec<&str> = v["mounts"].as_array().into_iter().flatten().filter_map(|m| m["destination"].as_str()).collect();
        assert!(mounts.contains(&"/proc") && mounts.contains(&"/dev"), "{mounts:?}");
    }

    fn json(config: &ContainerConfig) -> serde_json::Value {
        serde_json::to_value(build(config).expect("builds")).expect("encodes")
    }

    #[test]
    fn spec_resources_become_cgroup_limits() {
        let mut unified = HashMap::new();
        unified.insert("memory.oom.group".to_string(), "1".to_string());
        let config = ContainerConfig {
            resources: Resources { cpu_shares: Some(256), cpu_quota: Some(50_000), cpu_period: Some(100_000), memory_limit: Some(32 << 20), memory_swap: Some(32 << 20), unified },
            ..ContainerConfig::default()
        };
        let r = &json(&config)["linux"]["resources"];
        assert_eq!(r["cpu"], serde_json::json!({"shares": 256, "quota": 50000, "period": 100000}));
        assert_eq!(r["memory"], serde_json::json!({"limit": 33554432, "swap": 33554432}));
        assert_eq!(r["unified"], serde_json::json!({"memory.oom.group": "1"}));
        assert_eq!(r["devices"], serde_json::json!([{"allow": false, "access": "rwm"}]), "only the runtime's default devices");
        let none = &json(&ContainerConfig::default())["linux"]["resources"];
        assert!(none["cpu"].as_object().is_none_or(|o| o.is_empty()) && none.get("unified").is_none(), "{none}");
    }

    #[test]
    fn spec_security_settings() {
        let plain = json(&ContainerConfig::default());
        let masked: Vec<&str> = plain["linux"]["maskedPaths"].as_array().into_iter().flatten().filter_map(|p| p.as_str()).collect();
        assert!(masked.contains(&"/proc/kcore") && masked.contains(&"/sys/firmware"), "{masked:?}");
        assert_eq!(plain["linux"]["readonlyPaths"].as_array().map(Vec::len), Some(5));
        assert!(plain["linux"].get("seccomp").is_none(), "unconfined unless asked");
        let sys = |v: &serde_json::Value| v["mounts"].as_array().into_iter().flatten().find(|m| m["destination"] == "/sys").map(|m| m["options"].clone());
        assert!(sys(&plain).is_some_and(|o| o.as_array().is_some_and(|o| o.contains(&"ro".into()))));

        let dropped = json(&ContainerConfig { capabilities: Some(HashSet::from([Capability::NetBindService])), seccomp: Seccomp::RuntimeDefault, ..ContainerConfig::default() });
        assert_eq!(dropped["process"]["capabilities"]["bounding"], serde_json::json!(["CAP_NET_BIND_SERVICE"]));
        assert_eq!(dropped["process"]["capabilities"]["effective"], serde_json::json!(["CAP_NET_BIND_SERVICE"]));
        let refused = dropped["linux"]["seccomp"]["syscalls"][0]["names"].as_array().cloned().unwrap_or_default();
        assert!(refused.contains(&"mount".into()) && refused.contains(&"kexec_load".into()));

        let unmasked = json(&ContainerConfig { unmasked_proc: true, ..ContainerConfig::default() });
        assert!(unmasked["linux"].get("maskedPaths").is_none() && unmasked["linux"].get("readonlyPaths").is_none());

        let privileged = json(&ContainerConfig { privileged: true, seccomp: Seccomp::RuntimeDefault, ..ContainerConfig::default() });
        assert_eq!(privileged["process"]["capabilities"]["bounding"].as_array().map(Vec::len), Some(capabilities::ALL.len()));
        assert!(privileged["linux"].get("seccomp").is_none(), "no seccomp when privileged");
        assert!(privileged["linux"].get("maskedPaths").is_none());
        assert_eq!(privileged["linux"]["resources"]["devices"], serde_json::json!([{"allow": true, "access": "rwm"}]));
        assert!(sys(&privileged).is_some_and(|o| o.as_array().is_some_and(|o| o.contains(&"rw".into()) && !o.contains(&"ro".into()))), "/sys is writable");
    }
}
