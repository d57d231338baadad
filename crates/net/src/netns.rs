//! Named network namespaces, as `ip netns` makes them: a new namespace
//! bind-mounted on a file, so it lives without any process in it and
//! containers join it by path. Work inside one runs on a thread of its own
//! that enters it (namespaces belong to threads), never on the caller's.

// `unshare(CLONE_NEWNET)` is an unsafe call in rustix only because other
// flags (CLONE_FILES) can invalidate descriptors other threads hold; this
// module passes CLONE_NEWNET alone, on a thread that exits afterwards.
#![allow(unsafe_code)]

use rustix::mount::UnmountFlags;
use rustix::thread::{LinkNameSpaceType, UnshareFlags};
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("network namespace {path}: {what}: {source}")]
    Io { path: PathBuf, what: &'static str, source: std::io::Error },
    #[error("network namespace {0}: the thread working in it panicked")]
    Panicked(PathBuf),
}

fn io<'a>(path: &'a Path, what: &'static str) -> impl FnOnce(std::io::Error) -> Error + 'a {
    move |source| Error::Io { path: path.to_path_buf(), what, source }
}

/// Makes a new network namespace and binds it at `path` (whose directory
/// must exist); an existing one there is kept.
pub fn create(path: &Path) -> Result<(), Error> {
    if is_namespace(path) {
        return Ok(());
    }
    std::fs::File::create(path).map_err(io(path, "creating its file"))?;
    let target = path.to_path_buf();
    let made = std::thread::spawn(move || -> Result<(), Error> {
        // SAFETY: CLONE_NEWNET alone, on this thread only (see the module
        // comment).
        unsafe { rustix::thread::unshare_unsafe(UnshareFlags::NEWNET) }.map_err(|e| io(&target, "unsharing")(e.into()))?;
        let own = format!("/proc/self/task/{}/ns/net", rustix::thread::gettid().as_raw_nonzero());
        rustix::mount::mount_bind(own.as_str(), &target).map_err(|e| io(&target, "binding")(e.into()))
    })
    .join()
    .map_err(|_| Error::Panicked(path.to_path_buf()))?;
    if made.is_err() {
        let _ = std::fs::remove_file(path);
    }
    made
}

/// Unbinds and removes the namespace at `path`; it ends when its last
/// process leaves. Gone already is fine.
pub fn delete(path: &Path) -> Result<(), Error> {
    match rustix::mount::unmount(path, UnmountFlags::DETACH) {
        Ok(()) | Err(rustix::io::Errno::INVAL) | Err(rustix::io::Errno::NOENT) => {}
        Err(e) => return Err(io(path, "unbinding")(e.into())),
    }
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io(path, "removing its file")(e)),
    }
}

/// Whether a namespace is bound at `path`.
pub fn is_namespace(path: &Path) -> bool {
    rustix::fs::statfs(path).is_ok_and(|s| s.f_type == 0x6e73_6673 /* NSFS_MAGIC */)
}

/// Runs `work` on a thread inside the namespace at `path`.
pub fn run_in<T: Send + 'static>(path: &Path, work: impl FnOnce() -> T + Send + 'static) -> Result<T, Error> {
    let ns = std::fs::File::open(path).map_err(io(path, "opening"))?;
    let target = path.to_path_buf();
    std::thread::spawn(move || -> Result<T, Error> {
        rustix::thread::move_into_link_name_space(ns.as_fd(), Some(LinkNameSpaceType::Network)).map_err(|e| io(&target, "entering")(e.into()))?;
        Ok(work())
    })
    .join()
    .map_err(|_| Error::Panicked(path.to_path_buf()))?
}

/// Runs `work` on a thread in a new namespace of its own that ends with
/// it (tests use this as a private host).
pub fn run_in_new<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Result<T, Error> {
    std::thread::spawn(move || -> Result<T, Error> {
        // SAFETY: CLONE_NEWNET alone, on this thread only.
        unsafe { rustix::thread::unshare_unsafe(UnshareFlags::NEWNET) }.map_err(|e| io(Path::new("(new)"), "unsharing")(e.into()))?;
        Ok(work())
    })
    .join()
    .map_err(|_| Error::Panicked(PathBuf::from("(new)")))?
}
