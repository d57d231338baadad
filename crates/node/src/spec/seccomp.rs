//! The `RuntimeDefault` seccomp profile. Docker's and containerd's
//! profiles allow a list of syscalls and refuse the rest; this one is the
//! other way round, and smaller: every syscall is allowed except those
//! below, which fail with EPERM. They are the ones Docker's profile
//! refuses because they reach kernel state no namespace isolates (the
//! keyring, modules, the clock, reboot, swap, accounting, NUMA policy)
//! or are old ABIs with a history of bugs; most come back when the
//! container holds the capability that makes them meaningful, as in
//! Docker's profile (`mount` with `CAP_SYS_ADMIN`, `reboot` with
//! `CAP_SYS_BOOT`, ...). Not filtered, unlike Docker: the namespace flags
//! of `clone`/`clone3` (a new user namespace stays possible through them,
//! though `unshare` and `setns` are refused) and `personality`'s
//! arguments. `ptrace` and `process_vm_*` stay allowed as in Docker on
//! kernels from 4.8, where seccomp can no longer be bypassed with them.

use oci_spec::runtime::{Arch, Capability, LinuxSeccomp, LinuxSeccompAction, LinuxSeccompBuilder, LinuxSyscall, LinuxSyscallBuilder};
use std::collections::HashSet;

/// The errno of a refused syscall (EPERM, as Docker's profile).
const EPERM: u32 = 1;

/// Refused whatever the capabilities.
const ALWAYS: &[&str] = &[
    // The kernel keyring is not namespaced.
    "add_key",
    "keyctl",
    "request_key",
    // Obsolete or unused interfaces.
    "create_module",
    "get_kernel_syms",
    "query_module",
    "nfsservctl",
    "uselib",
    "ustat",
    "sysfs",
    "_sysctl",
    "vm86",
    "vm86old",
    // io_uring bypasses this filter for the operations it performs;
    // Docker and containerd refuse it too.
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
];

/// Refused unless the container holds one of the capabilities.
const UNLESS: &[(&[&str], &[Capability])] = &[
    (
        &[
            "mount", "umount", "umount2", "pivot_root", "unshare", "setns", "fsopen", "fsconfig", "fsmount", "fspick", "move_mount", "open_tree", "mount_setattr", "quotactl", "quotactl_fd", "lookup_dcookie",
            "name_to_handle_at", "fanotify_init", "swapon", "swapoff",
        ],
        &[Capability::SysAdmin],
    ),
    (&["bpf"], &[Capability::SysAdmin, Capability::Bpf]),
    (&["perf_event_open"], &[Capability::SysAdmin, Capability::Perfmon]),
    (&["reboot", "kexec_load", "kexec_file_load"], &[Capability::SysBoot]),
    (&["init_module", "finit_module", "delete_module"], &[Capability::SysModule]),
    (&["settimeofday", "stime", "clock_settime", "clock_settime64", "clock_adjtime", "clock_adjtime64"], &[Capability::SysTime]),
    (&["acct"], &[Capability::SysPacct]),
    (&["iopl", "ioperm"], &[Capability::SysRawio]),
    (&["kcmp", "userfaultfd"], &[Capability::SysPtrace]),
    (&["get_mempolicy", "set_mempolicy", "mbind", "move_pages", "set_mempolicy_home_node"], &[Capability::SysNice]),
    (&["open_by_handle_at"], &[Capability::DacReadSearch]),
    (&["syslog"], &[Capability::Syslog]),
    (&["vhangup"], &[Capability::SysTtyConfig]),
    (&["chroot"], &[Capability::SysChroot]),
];

/// The architectures the filter covers: the host's and the 32-bit ABIs it
/// runs, so a 32-bit program is filtered the same (and not refused).
fn architectures() -> Vec<Arch> {
    match std::env::consts::ARCH {
        "x86_64" => vec![Arch::ScmpArchX86_64, Arch::ScmpArchX86, Arch::ScmpArchX32],
        "aarch64" => vec![Arch::ScmpArchAarch64, Arch::ScmpArchArm],
        _ => vec![Arch::ScmpArchNative],
    }
}

/// The names refused to a container holding `caps`.
pub fn refused(caps: &HashSet<Capability>) -> Vec<String> {
    let gated = UNLESS.iter().filter(|(_, unless)| !unless.iter().any(|c| caps.contains(c))).flat_map(|(names, _)| names.iter());
    ALWAYS.iter().chain(gated).map(|n| n.to_string()).collect()
}

/// The profile for a container holding `caps`.
pub fn runtime_default(caps: &HashSet<Capability>) -> Result<LinuxSeccomp, oci_spec::OciSpecError> {
    let rule: LinuxSyscall = LinuxSyscallBuilder::default().names(refused(caps)).action(LinuxSeccompAction::ScmpActErrno).errno_ret(EPERM).build()?;
    LinuxSeccompBuilder::default().default_action(LinuxSeccompAction::ScmpActAllow).architectures(architectures()).syscalls(vec![rule]).build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_seccomp_refuses_dangerous_syscalls_unless_capable() {
        let none = HashSet::new();
        let refused_plain = refused(&none);
        for name in ["kexec_load", "init_module", "reboot", "mount", "keyctl", "bpf", "unshare"] {
            assert!(refused_plain.iter().any(|n| n == name), "{name}");
        }
        assert!(!refused_plain.iter().any(|n| n == "read" || n == "clone" || n == "ptrace"));
        let admin = refused(&HashSet::from([Capability::SysAdmin]));
        assert!(!admin.iter().any(|n| n == "mount" || n == "bpf"), "CAP_SYS_ADMIN gives mount back");
        assert!(admin.iter().any(|n| n == "reboot" || n == "keyctl"));

        let v = serde_json::to_value(runtime_default(&none).expect("builds")).expect("encodes");
        assert_eq!(v["defaultAction"], "SCMP_ACT_ALLOW");
        assert_eq!(v["syscalls"][0]["action"], "SCMP_ACT_ERRNO");
        assert_eq!(v["syscalls"][0]["errnoRet"], 1);
        if std::env::consts::ARCH == "x86_64" {
            assert_eq!(v["architectures"], serde_json::json!(["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]));
        }
    }
}
