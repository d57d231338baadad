//! The node agent (the kubelet of the embedded kernel): pods bound to this
//! node become containers run by an OCI runtime (runc by default).
//!
//! Each container has a shim of its own (`shim`, run as `nubis shim`, as
//! conmon is for CRI-O): it starts the container through the runtime,
//! writes its output to a CRI-format log (`cri_log`) and records how it
//! ended, in its own session, so containers and their logs outlive a
//! restart (or a kill -9) of `nubis`; `containers` finds them again from
//! their directories and the runtime's state.
//!
//! **Architecture Invariant:** containers are reached only through the
//! runtime binary's CLI (`runtime`) and the files the shims write; nothing
//! here holds a container's stdio, so nothing here can take one down by
//! going away.

pub mod agent;
pub mod attach;
pub mod cgroups;
pub mod containers;
pub mod cri_log;
pub mod exec;
pub mod exec_waiter;
pub mod log_rotation;
pub mod logs;
pub mod reset;
pub mod rootfs;
pub mod runtime;
pub mod shim;
pub mod shims;
pub mod spec;
pub mod stats;
pub mod streams;
