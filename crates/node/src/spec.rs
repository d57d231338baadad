//! A container's OCI runtime spec (`config.json`): the command line the
//! image and the pod say together (`resolve_args`, Kubernetes' rules),
//! environment, working directory, user, hostname, Docker's default
//! capability set, and the namespaces, mounts and cgroup of the container.

use oci_spec::runtime::{Capability, LinuxBuilder, LinuxCapabilities, LinuxNamespace, LinuxNamespaceBuilder, LinuxNamespaceType, Mount, ProcessBuilder, RootBuilder, Spec, UserBuilder};
use std::collections::HashSet;
use std::path::PathBuf;

/// The capabilities a container gets unless its security context says
/// otherwise: Docker's and containerd's default set.
pub const DEFAULT_CAPABILITIES: [Capability; 14] = [
    Capability::Chown,
    Capability::DacOverride,
    Capability::Fsetid,
    Capability::Fowner,
    Capability::Mknod,
    Capability::NetRaw,
    Capability::Setgid,
    Capability::Setuid,
    Capability::Setfcap,
    Capability::Setpcap,
    Capability::NetBindService,
    Capability::SysChroot,
    Capability::Kill,
    Capability::AuditWrite,
];

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
}

#[derive(Debug, thiserror::Error)]
#[error("building the container's runtime spec: {0}")]
pub struct Error(#[from] oci_spec::OciSpecError);

/// The spec for a bundle whose root filesystem is its `rootfs` directory.
pub fn build(config: &ContainerConfig) -> Result<Spec, Error> {
    let caps: HashSet<Capability> = DEFAULT_CAPABILITIES.into_iter().collect();
    let mut capabilities = LinuxCapabilities::default();
    capabilities.set_bounding(Some(caps.clone()));
    capabilities.set_effective(Some(caps.clone()));
    capabilities.set_permitted(Some(caps));
    capabilities.set_inheritable(None);
    capabilities.set_ambient(None);
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
        .capabilities(capabilities)
        .no_new_privileges(!config.allow_privilege_escalation)
        .terminal(false)
        .build()?;
    let mut spec = Spec::default();
    spec.set_process(Some(process));
    spec.set_root(Some(RootBuilder::default().path("rootfs").readonly(config.readonly_rootfs).build()?));
    spec.set_hostname(config.hostname.clone());
    let mut mounts = spec.mounts().clone().unwrap_or_default();
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
    spec.set_linux(Some(linux));
    Ok(spec)
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
}
