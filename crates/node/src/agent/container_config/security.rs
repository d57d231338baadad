//! A container's security context as the kubelet and containerd apply
//! it: the container's `runAsUser`, `runAsGroup`, `runAsNonRoot` and
//! `seccompProfile` over the pod's, the pod's `supplementalGroups` and
//! `fsGroup` as additional groups, and the container-only settings
//! (capabilities, privileged, read-only root, privilege escalation,
//! procMount). `runAsNonRoot` is checked as the kubelet does, with its
//! messages; user and group names are the image's (`accounts`).

use super::accounts::Accounts;
use crate::spec::{self, Seccomp};
use k8s_openapi::api::core::v1::{Container, Pod, SeccompProfile, SecurityContext};
use kube::ResourceExt;
use oci_spec::runtime::Capability;
use std::collections::HashSet;

/// What the security context makes of the container's process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Security {
    pub uid: u32,
    pub gid: u32,
    pub additional_gids: Vec<u32>,
    /// `None` keeps the default set.
    pub capabilities: Option<HashSet<Capability>>,
    pub privileged: bool,
    pub seccomp: Seccomp,
    pub unmasked_proc: bool,
    pub readonly_rootfs: bool,
    pub allow_privilege_escalation: bool,
}

/// The image's `User` as the kubelet reads it: a numeric uid (root when
/// empty) or a name, and a group (a number or a name) if it says one.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ImageUser {
    uid: Option<i64>,
    name: String,
    group: String,
}

fn image_user(user: &str) -> ImageUser {
    let (u, g) = user.split_once(':').unwrap_or((user, ""));
    let group = g.to_string();
    if u.is_empty() {
        return ImageUser { uid: Some(0), name: String::new(), group };
    }
    match u.parse::<i64>() {
        Ok(uid) => ImageUser { uid: Some(uid), name: String::new(), group },
        Err(_) => ImageUser { uid: None, name: u.to_string(), group },
    }
}

/// The security context of container `c` of `pod` whose image says
/// `user` (its users and groups in `accounts`), or why the container may
/// not run (the kubelet's CreateContainerConfigError message, or
/// containerd's for a user or group the image does not have).
pub fn resolve(pod: &Pod, c: &Container, user: &str, accounts: &Accounts) -> Result<Security, String> {
    let own = c.security_context.clone().unwrap_or_default();
    let pod_sc = pod.spec.as_ref().and_then(|s| s.security_context.clone()).unwrap_or_default();
    let image = image_user(user);
    let run_as_user = own.run_as_user.or(pod_sc.run_as_user);
    let run_as_group = own.run_as_group.or(pod_sc.run_as_group);
    verify_run_as_non_root(pod, c, own.run_as_non_root.or(pod_sc.run_as_non_root).unwrap_or(false), run_as_user, &image)?;
    let id = |what: &str, v: i64| u32::try_from(v).map_err(|_| format!("{what} {v} of container {} is not a valid id", c.name));
    // The user: runAsUser replaces the image's user and its group; a
    // name is looked up in the image's passwd, whose entry also gives the
    // primary group unless one is named.
    let (uid, name, primary) = match run_as_user.or(image.uid) {
        Some(u) => {
            let uid = id("runAsUser", u)?;
            let entry = accounts.by_uid(uid);
            (uid, entry.map(|(n, _)| n.to_string()), entry.map_or(0, |(_, g)| g))
        }
        None => {
            let (uid, gid) = accounts.user(&image.name).ok_or_else(|| format!("unable to find user {}: no matching entries in passwd file", image.name))?;
            (uid, Some(image.name.clone()), gid)
        }
    };
    let image_group = if run_as_user.is_some() { "" } else { image.group.as_str() };
    let gid = match run_as_group {
        Some(g) => id("runAsGroup", g)?,
        None if image_group.is_empty() => primary,
        None => match image_group.parse::<u32>() {
            Ok(g) => g,
            Err(_) => accounts.group(image_group).ok_or_else(|| format!("unable to find group {image_group}: no matching entries in group file"))?,
        },
    };
    // The groups the image lists the user in (supplementalGroupsPolicy
    // Merge, the default), then the pod's.
    let mut additional_gids: Vec<u32> = name.as_deref().map(|n| accounts.member_of(n)).unwrap_or_default();
    additional_gids.retain(|g| *g != gid);
    for g in pod_sc.supplemental_groups.iter().flatten().copied().chain(pod_sc.fs_group) {
        let g = id("supplemental group", g)?;
        if !additional_gids.contains(&g) {
            additional_gids.push(g);
        }
    }
    Ok(Security {
        uid,
        gid,
        additional_gids,
        capabilities: if own.privileged.unwrap_or(false) { Some(held_capabilities()) } else { capabilities(&own) },
        privileged: own.privileged.unwrap_or(false),
        seccomp: seccomp(own.seccomp_profile.as_ref().or(pod_sc.seccomp_profile.as_ref()))?,
        unmasked_proc: own.proc_mount.as_deref() == Some("Unmasked"),
        readonly_rootfs: own.read_only_root_filesystem.unwrap_or(false),
        allow_privilege_escalation: own.allow_privilege_escalation.unwrap_or(true),
    })
}

/// Kubernetes' `format.Pod`, quoted as its messages print it.
fn pod_ref(pod: &Pod) -> String {
    format!("{:?}", format!("{}_{}({})", pod.name_any(), pod.namespace().unwrap_or_default(), pod.uid().unwrap_or_default()))
}

fn verify_run_as_non_root(pod: &Pod, c: &Container, non_root: bool, run_as_user: Option<i64>, image: &ImageUser) -> Result<(), String> {
    if !non_root {
        return Ok(());
    }
    let (p, name) = (pod_ref(pod), &c.name);
    if let Some(uid) = run_as_user {
        return if uid == 0 { Err(format!("container's runAsUser breaks non-root policy (pod: {p}, container: {name})")) } else { Ok(()) };
    }
    match image.uid {
        None if !image.name.is_empty() => Err(format!("container has runAsNonRoot and image has non-numeric user ({}), cannot verify user is non-root (pod: {p}, container: {name})", image.name)),
        Some(0) => Err(format!("container has runAsNonRoot and image will run as root (pod: {p}, container: {name})")),
        Some(uid) if !(0..=i64::from(i32::MAX)).contains(&uid) => Err(format!(
            "container has runAsNonRoot and image has an invalid user id ({uid}). (Must be 1-({})): must be between 0 and {}, inclusive (pod: {p}, container: {name})",
            i32::MAX,
            i32::MAX
        )),
        _ => Ok(()),
    }
}

/// The capabilities this process holds: `ALL` as containerd reads it
/// (`WithAllCurrentCapabilities`), as the runtime cannot give a container
/// more than it has.
fn held_capabilities() -> HashSet<Capability> {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let mask = status.lines().find_map(|l| l.strip_prefix("CapEff:")).and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok());
    mask.map_or_else(|| spec::capabilities::ALL.into_iter().collect(), spec::capabilities::from_mask)
}

fn capabilities(sc: &SecurityContext) -> Option<HashSet<Capability>> {
    let caps = sc.capabilities.as_ref()?;
    let default: HashSet<Capability> = spec::DEFAULT_CAPABILITIES.into_iter().collect();
    let add = caps.add.as_deref().unwrap_or_default();
    let all = if add.iter().any(|a| a.eq_ignore_ascii_case("ALL")) { held_capabilities() } else { HashSet::new() };
    let (set, unknown) = spec::capabilities::adjust(&default, &all, add, caps.drop.as_deref().unwrap_or_default());
    if !unknown.is_empty() {
        tracing::warn!(?unknown, "ignoring unknown capabilities");
    }
    Some(set)
}

fn seccomp(profile: Option<&SeccompProfile>) -> Result<Seccomp, String> {
    match profile.map(|p| (p.type_.as_str(), p.localhost_profile.as_deref())) {
        None | Some(("Unconfined", _)) => Ok(Seccomp::Unconfined),
        Some(("RuntimeDefault", _)) => Ok(Seccomp::RuntimeDefault),
        Some(("Localhost", path)) => Err(format!("seccomp profile type Localhost ({}) is not supported yet: expected RuntimeDefault or Unconfined", path.unwrap_or(""))),
        Some((other, _)) => Err(format!("unknown seccomp profile type {other:?}: expected RuntimeDefault, Unconfined or Localhost")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(pod_sc: serde_json::Value, sc: serde_json::Value) -> (Pod, Container) {
        let pod: Pod = serde_json::from_value(json!({
            "metadata": {"name": "web", "namespace": "default", "uid": "u-1"},
            "spec": {"securityContext": pod_sc, "containers": [{"name": "app", "securityContext": sc}]},
        }))
        .expect("a pod");
        let c = pod.spec.as_ref().map(|s| s.containers[0].clone()).expect("a container");
        (pod, c)
    }

    #[test]
    fn security_context_container_over_pod() {
        let (p, c) = pod(json!({"runAsUser": 1000, "runAsGroup": 2000, "supplementalGroups": [3000, 2000], "fsGroup": 4000}), json!({"runAsUser": 1001}));
        let s = resolve(&p, &c, "", &Accounts::default()).expect("resolves");
        assert_eq!((s.uid, s.gid, s.additional_gids), (1001, 2000, vec![3000, 2000, 4000]));
        assert_eq!((s.capabilities, s.privileged, s.seccomp, s.readonly_rootfs, s.allow_privilege_escalation), (None, false, Seccomp::Unconfined, false, true));

        let (p, c) = pod(json!({}), json!({}));
        let s = resolve(&p, &c, "100:200", &Accounts::default()).expect("resolves");
        assert_eq!((s.uid, s.gid), (100, 200), "the image's user");
        let accounts = Accounts::new("nobody:x:65534:65533::/:/bin/false\n", "nogroup:x:65533:\nstaff:x:50:nobody\n");
        let s = resolve(&p, &c, "nobody", &accounts).expect("resolves");
        assert_eq!((s.uid, s.gid, s.additional_gids.first()), (65534, 65533, Some(&50)), "a named user from the image's passwd, its groups from its group file");
        assert_eq!(resolve(&p, &c, "65534:nogroup", &accounts).map(|s| (s.uid, s.gid)), Ok((65534, 65533)), "a named group");
        assert_eq!(resolve(&p, &c, "ghost", &accounts).map(|s| s.uid), Err("unable to find user ghost: no matching entries in passwd file".to_string()));

        let (p, c) = pod(json!({"seccompProfile": {"type": "RuntimeDefault"}}), json!({"capabilities": {"drop": ["ALL"]}, "readOnlyRootFilesystem": true, "allowPrivilegeEscalation": false, "procMount": "Unmasked"}));
        let s = resolve(&p, &c, "", &Accounts::default()).expect("resolves");
        assert_eq!((s.capabilities, s.seccomp, s.readonly_rootfs, s.allow_privilege_escalation, s.unmasked_proc), (Some(HashSet::new()), Seccomp::RuntimeDefault, true, false, true));
        let (p, c) = pod(json!({"seccompProfile": {"type": "RuntimeDefault"}}), json!({"seccompProfile": {"type": "Unconfined"}, "privileged": true}));
        let s = resolve(&p, &c, "", &Accounts::default()).expect("resolves");
        assert_eq!((s.seccomp, s.privileged), (Seccomp::Unconfined, true), "the container's profile wins");
        assert!(s.capabilities.is_some(), "privileged: what this process holds");
        let (p, c) = pod(json!({}), json!({"seccompProfile": {"type": "Localhost", "localhostProfile": "my.json"}}));
        assert!(resolve(&p, &c, "", &Accounts::default()).is_err_and(|e| e.contains("Localhost (my.json) is not supported yet")));
    }

    #[test]
    fn security_context_run_as_non_root_as_the_kubelet() {
        let (p, c) = pod(json!({"runAsNonRoot": true}), json!({}));
        assert_eq!(resolve(&p, &c, "", &Accounts::default()), Err("container has runAsNonRoot and image will run as root (pod: \"web_default(u-1)\", container: app)".to_string()));
        assert_eq!(resolve(&p, &c, "0:0", &Accounts::default()).map(|s| s.uid), Err("container has runAsNonRoot and image will run as root (pod: \"web_default(u-1)\", container: app)".to_string()));
        assert_eq!(
            resolve(&p, &c, "app", &Accounts::default()),
            Err("container has runAsNonRoot and image has non-numeric user (app), cannot verify user is non-root (pod: \"web_default(u-1)\", container: app)".to_string())
        );
        assert_eq!(resolve(&p, &c, "1000", &Accounts::default()).map(|s| s.uid), Ok(1000));
        assert!(resolve(&p, &c, "4294967296", &Accounts::default()).is_err_and(|e| e.contains("invalid user id (4294967296)")));
        let (p, c) = pod(json!({"runAsNonRoot": true}), json!({"runAsUser": 0}));
        assert_eq!(resolve(&p, &c, "1000", &Accounts::default()), Err("container's runAsUser breaks non-root policy (pod: \"web_default(u-1)\", container: app)".to_string()));
        let (p, c) = pod(json!({"runAsNonRoot": true, "runAsUser": 5}), json!({"runAsNonRoot": false}));
        assert_eq!(resolve(&p, &c, "", &Accounts::default()).map(|s| s.uid), Ok(5));
        let (p, c) = pod(json!({"runAsUser": 0}), json!({"runAsNonRoot": false}));
        assert_eq!(resolve(&p, &c, "", &Accounts::default()).map(|s| s.uid), Ok(0), "runAsNonRoot false allows root");
    }
}
