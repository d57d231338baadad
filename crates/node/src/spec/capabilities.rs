//! Capability sets: Docker's default set, every capability, and a
//! security context's `add`/`drop` over a set, in the order containerd's
//! CRI applies them (`add: [ALL]`, then `drop: [ALL]`, then the single
//! additions, then the single drops), so `drop: [ALL], add: [X]` leaves X.

use oci_spec::runtime::Capability;
use std::collections::HashSet;

/// The capabilities a container gets unless its security context says
/// otherwise: Docker's and containerd's default set.
pub const DEFAULT: [Capability; 14] = [
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

/// Every capability, by number (`CAP_CHOWN` is 0): what `ALL` and a
/// privileged container get of those the agent itself holds.
pub const ALL: [Capability; 41] = [
    Capability::Chown,
    Capability::DacOverride,
    Capability::DacReadSearch,
    Capability::Fowner,
    Capability::Fsetid,
    Capability::Kill,
    Capability::Setgid,
    Capability::Setuid,
    Capability::Setpcap,
    Capability::LinuxImmutable,
    Capability::NetBindService,
    Capability::NetBroadcast,
    Capability::NetAdmin,
    Capability::NetRaw,
    Capability::IpcLock,
    Capability::IpcOwner,
    Capability::SysModule,
    Capability::SysRawio,
    Capability::SysChroot,
    Capability::SysPtrace,
    Capability::SysPacct,
    Capability::SysAdmin,
    Capability::SysBoot,
    Capability::SysNice,
    Capability::SysResource,
    Capability::SysTime,
    Capability::SysTtyConfig,
    Capability::Mknod,
    Capability::Lease,
    Capability::AuditWrite,
    Capability::AuditControl,
    Capability::Setfcap,
    Capability::MacOverride,
    Capability::MacAdmin,
    Capability::Syslog,
    Capability::WakeAlarm,
    Capability::BlockSuspend,
    Capability::AuditRead,
    Capability::Perfmon,
    Capability::Bpf,
    Capability::CheckpointRestore,
];

/// The capabilities of a kernel bit mask (`CapEff` in
/// `/proc/<pid>/status`).
pub fn from_mask(mask: u64) -> HashSet<Capability> {
    ALL.iter().enumerate().filter(|(bit, _)| mask & (1u64 << bit) != 0).map(|(_, c)| *c).collect()
}

/// A capability by its Kubernetes name (`NET_ADMIN`; `CAP_NET_ADMIN` and
/// any case are accepted too, as runtimes do).
pub fn parse(name: &str) -> Option<Capability> {
    serde_json::from_value(serde_json::Value::String(name.to_string())).ok()
}

/// `base` with `add` and `drop` applied, `all` being what `ALL` adds;
/// the names neither list could use come back beside it (runtimes ignore
/// them with a warning).
pub fn adjust(base: &HashSet<Capability>, all: &HashSet<Capability>, add: &[String], drop: &[String]) -> (HashSet<Capability>, Vec<String>) {
    let is_all = |n: &String| n.eq_ignore_ascii_case("ALL");
    let mut caps = base.clone();
    if add.iter().any(is_all) {
        caps = all.clone();
    }
    if drop.iter().any(is_all) {
        caps.clear();
    }
    let mut unknown = Vec::new();
    for (names, adding) in [(add, true), (drop, false)] {
        for name in names.iter().filter(|n| !is_all(n)) {
            match parse(name) {
                Some(cap) if adding => {
                    caps.insert(cap);
                }
                Some(cap) => {
                    caps.remove(&cap);
                }
                None => unknown.push(name.clone()),
            }
        }
    }
    (caps, unknown)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn spec_capabilities_add_and_drop_as_containerd() {
        let default: HashSet<Capability> = DEFAULT.into_iter().collect();
        let all: HashSet<Capability> = ALL.into_iter().collect();
        let adjust = |add: &[String], drop: &[String]| adjust(&default, &all, add, drop);
        let (caps, _) = adjust(&s(&["NET_ADMIN"]), &s(&["CHOWN", "cap_kill"]));
        assert!(caps.contains(&Capability::NetAdmin) && !caps.contains(&Capability::Chown) && !caps.contains(&Capability::Kill));
        assert_eq!(caps.len(), 13);
        let (caps, _) = adjust(&s(&["NET_BIND_SERVICE"]), &s(&["ALL"]));
        assert_eq!(caps, HashSet::from([Capability::NetBindService]), "drop ALL first, then the single additions");
        let (caps, _) = adjust(&s(&["ALL"]), &s(&["SYS_ADMIN"]));
        assert_eq!(caps.len(), ALL.len() - 1);
        assert!(!caps.contains(&Capability::SysAdmin));
        let (caps, unknown) = adjust(&s(&["NO_SUCH_CAP"]), &[]);
        assert_eq!((caps, unknown), (default, s(&["NO_SUCH_CAP"])));
        assert_eq!(all.len(), 41, "no capability twice");
        // A host without CAP_SYS_RESOURCE (24).
        let held = from_mask(0x0000_01ff_feff_ffff);
        assert_eq!(held.len(), 40);
        assert!(!held.contains(&Capability::SysResource) && held.contains(&Capability::CheckpointRestore) && held.contains(&Capability::Chown));
        assert_eq!(from_mask(1 << 21), HashSet::from([Capability::SysAdmin]));
    }
}
