//! The runtime config of one container of a pod: the image's config under
//! the pod spec's (command and args, environment, user, working
//! directory, security context), joined to the pod's network namespace,
//! with the pod's `/etc` files and volumes mounted.

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
}

/// The container's runtime config, or why it cannot be made.
pub fn build(inputs: Inputs<'_>, c: &Container) -> Result<ContainerConfig, String> {
    let Inputs { pod, uid, image, sandbox, volumes: prepared, pod_dir, env: pod_env } = inputs;
    let image_config = image.config.config().clone().unwrap_or_default();
    let entrypoint = image_config.entrypoint().clone().unwrap_or_default();
    let cmd = image_config.cmd().clone().unwrap_or_default();
    let args = spec::resolve_args(&entrypoint, &cmd, c.command.as_deref(), c.args.as_deref());
    if args.is_empty() {
        return Err(format!("no command specified for container {} and its image has none", c.name));
    }
    let image_env = image_config.env().clone().unwrap_or_default();
    let env = spec::merge_env(&[&image_env, &[format!("HOSTNAME={}", pod.name_any())], &pod_env]);
    let security = c.security_context.as_ref();
    let pod_security = pod.spec.as_ref().and_then(|s| s.security_context.as_ref());
    let (image_uid, image_gid) = numeric_user(image_config.user().as_deref().unwrap_or(""));
    let uid_run = security.and_then(|s| s.run_as_user).or(pod_security.and_then(|s| s.run_as_user)).map(|u| u as u32).unwrap_or(image_uid);
    let gid = security.and_then(|s| s.run_as_group).or(pod_security.and_then(|s| s.run_as_group)).map(|g| g as u32).unwrap_or(image_gid);
    let cwd = c.working_dir.clone().or_else(|| image_config.working_dir().clone()).filter(|w| !w.is_empty()).unwrap_or_else(|| "/".into());
    let mut mounts = pod_files(pod, sandbox, pod_dir)?;
    mounts.extend(volumes::mounts(c, prepared)?);
    Ok(ContainerConfig {
        args,
        env,
        cwd,
        uid: uid_run,
        gid,
        additional_gids: Vec::new(),
        hostname: Some(pod.name_any()),
        join: vec![(LinuxNamespaceType::Network, sandbox.netns.clone())],
        mounts,
        readonly_rootfs: security.and_then(|s| s.read_only_root_filesystem).unwrap_or(false),
        allow_privilege_escalation: security.and_then(|s| s.allow_privilege_escalation).unwrap_or(true),
        cgroups_path: Some(PathBuf::from(format!("{}/{}", crate::cgroups::pod_path(uid), c.name))),
    })
}

/// `/etc/hosts`, `/etc/hostname` and `/etc/resolv.conf` of the pod,
/// written under the pod's directory and bind-mounted.
fn pod_files(pod: &Pod, sandbox: &Attachment, dir: &Path) -> Result<Vec<Mount>, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let name = pod.name_any();
    let ip = sandbox.ip;
    let hosts = format!("# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nfe00::0\tip6-mcastprefix\nfe00::1\tip6-allnodes\nfe00::2\tip6-allrouters\n{ip}\t{name}\n");
    let resolv = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
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

/// `uid[:gid]` when numeric; a named user resolves to root until the
/// image's passwd is read.
fn numeric_user(user: &str) -> (u32, u32) {
    let (u, g) = user.split_once(':').unwrap_or((user, ""));
    let uid = u.parse().unwrap_or(0);
    (uid, g.parse().unwrap_or(0))
}
