//! The runtime config of one container of a pod: the image's config under
//! the pod spec's (command and args, environment, user, working
//! directory, security context in `security`, cgroup limits in
//! `resources`), joined to the pod's network namespace, with the pod's
//! `/etc` files and volumes mounted; the pod's cgroup gets the pod's
//! limits before the container is made in it.

pub mod accounts;
mod devices;
pub mod resources;
pub mod security;

use super::etc_files;
use super::images;
use super::volumes;
use crate::spec::{self, ContainerConfig};
use k8s_openapi::api::core::v1::{Container, Pod};
use kube::ResourceExt;
use net::Attachment;
use oci_spec::runtime::{LinuxNamespaceType, Mount, MountBuilder};
use std::path::{Path, PathBuf};

/// What a container's config is made from besides its spec.
pub struct Inputs<'a> {
    pub pod: &'a Pod,
    pub uid: &'a str,
    pub image: &'a images::Ready,
    pub sandbox: &'a Attachment,
    pub volumes: &'a volumes::Prepared,
    /// The pod's directory (for `/etc/hosts` and the like).
    pub pod_dir: &'a Path,
    /// The spec's environment, resolved (`env::resolve`).
    pub env: Vec<String>,
    /// The node's memory, for the container's OOM score.
    pub memory_capacity: u64,
}

/// The container's runtime config, or why it cannot be made.
pub fn build(inputs: Inputs<'_>, c: &Container) -> Result<ContainerConfig, String> {
    let Inputs { pod, uid, image, sandbox, volumes: prepared, pod_dir, env: pod_env, memory_capacity } = inputs;
    let image_config = image.config.config().clone().unwrap_or_default();
    let entrypoint = image_config.entrypoint().clone().unwrap_or_default();
    let cmd = image_config.cmd().clone().unwrap_or_default();
    // `$(VAR)` in the spec's command and args is the container's
    // environment (not the image's), as the kubelet expands it.
    let expand = |list: &Option<Vec<String>>| list.as_ref().map(|l| l.iter().map(|s| super::env::expand(s, &pod_env)).collect::<Vec<_>>());
    let args = spec::resolve_args(&entrypoint, &cmd, expand(&c.command).as_deref(), expand(&c.args).as_deref());
    if args.is_empty() {
        return Err(format!("no command specified for container {} and its image has none", c.name));
    }
    let image_env = image_config.env().clone().unwrap_or_default();
    let env = spec::merge_env(&[&image_env, &[format!("HOSTNAME={}", etc_files::hostname(pod))], &pod_env]);
    let accounts = accounts::Accounts::read(&image.layers);
    let security = security::resolve(pod, c, image_config.user().as_deref().unwrap_or(""), &accounts)?;
    let cwd = c.working_dir.clone().or_else(|| image_config.working_dir().clone()).filter(|w| !w.is_empty()).unwrap_or_else(|| "/".into());
    let mut mounts = pod_files(pod, sandbox, pod_dir)?;
    mounts.extend(volumes::mounts(c, prepared)?);
    let unified = crate::cgroups::is_unified();
    let limits = resources::container(c, unified, crate::cgroups::swap_limit_supported())?;
    if let Some(spec) = pod.spec.as_ref() {
        let pod_limits = resources::pod(spec)?;
        // The containers' own limits hold without it: a warning, not a
        // failed start.
        if let Err(error) = crate::cgroups::set_pod(uid, &pod_limits) {
            tracing::warn!(%error, pod = %pod.name_any(), "setting the pod's cgroup limits");
        }
    }
    Ok(ContainerConfig {
        args,
        env,
        cwd,
        uid: security.uid,
        gid: security.gid,
        additional_gids: security.additional_gids,
        hostname: Some(etc_files::hostname(pod)),
        join: vec![(LinuxNamespaceType::Network, sandbox.netns.clone())],
        mounts,
        readonly_rootfs: security.readonly_rootfs,
        allow_privilege_escalation: security.allow_privilege_escalation,
        cgroups_path: Some(PathBuf::from(format!("{}/{}", crate::cgroups::pod_path(uid), c.name))),
        capabilities: security.capabilities,
        privileged: security.privileged,
        seccomp: security.seccomp,
        unmasked_proc: security.unmasked_proc,
        devices: if security.privileged { devices::host_devices(Path::new("/dev")) } else { Vec::new() },
        resources: limits,
        terminal: c.tty.unwrap_or(false),
        stdin: c.stdin.unwrap_or(false),
        stdin_once: c.stdin_once.unwrap_or(false),
        oom_score_adj: Some(resources::oom_score_adj(pod, c, memory_capacity)),
    })
}

/// `/etc/hosts`, `/etc/hostname` and `/etc/resolv.conf` of the pod
/// (`etc_files`), written under the pod's directory and bind-mounted.
fn pod_files(pod: &Pod, sandbox: &Attachment, dir: &Path) -> Result<Vec<Mount>, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let hosts = etc_files::hosts(pod, sandbox.ip);
    let host_resolv = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
    let resolv = etc_files::resolv_conf(pod, &host_resolv);
    let name = etc_files::hostname(pod);
    let mut mounts = Vec::new();
    for (file, content, target) in [("hosts", hosts, "/etc/hosts"), ("hostname", format!("{name}\n"), "/etc/hostname"), ("resolv.conf", resolv, "/etc/resolv.conf")] {
        let path = dir.join(file);
        std::fs::write(&path, content).map_err(|e| format!("{}: {e}", path.display()))?;
        let mount = MountBuilder::default()
            .destination(target)
            .typ("bind")
            .source(path)
            .options(vec!["rbind".to_string(), "rprivate".to_string(), "rw".to_string()])
            .build()
            .map_err(|e| e.to_string())?;
        mounts.push(mount);
    }
    Ok(mounts)
}
