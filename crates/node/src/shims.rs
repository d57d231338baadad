//! Whether a container's shim still runs, and a wait for its end, without
//! asking the runtime: the agent holds a pidfd per shim (opened at spawn,
//! or after a restart of the agent from the `shim.pid` the shim wrote). A
//! shim lives exactly as long as its container plus the writing of its
//! exit record, so "the shim ended" is "the container's end is on disk".
//! A `runc state` per container and second cost 200 processes a second
//! at 200 pods; a pidfd costs one `poll` and wakes its waiter by itself.

use parking_lot::Mutex;
use rustix::event::{PollFd, PollFlags};
use rustix::process::{Pid, PidfdFlags};
use std::collections::HashMap;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::io::unix::AsyncFd;
use tokio::io::Interest;

/// The file the shim writes its pid to, in the container's directory.
pub const PID_FILE: &str = "shim.pid";

/// What is known of a container's shim.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shim {
    Running,
    Ended,
    /// No pid file (a container made by an older agent): only the
    /// runtime knows.
    Unknown,
}

/// The pidfds of the shims this agent has seen, by container id.
#[derive(Debug, Default)]
pub struct Shims {
    fds: Mutex<HashMap<String, Arc<OwnedFd>>>,
}

impl Shims {
    /// Remembers the shim just spawned for `id` (a child of this process
    /// not yet reaped, so its pid cannot name another process).
    pub fn spawned(&self, id: &str, pid: u32) {
        let fd = i32::try_from(pid).ok().and_then(Pid::from_raw).and_then(|pid| open(pid).ok());
        if let Some(fd) = fd {
            self.fds.lock().insert(id.to_string(), Arc::new(fd));
        }
    }

    /// Whether the shim of container `id` (its directory `dir`) runs.
    pub fn state(&self, id: &str, dir: &Path) -> Shim {
        match self.pidfd(id, dir) {
            Some(Some(fd)) if !ended(&fd) => Shim::Running,
            Some(_) => Shim::Ended,
            None => Shim::Unknown,
        }
    }

    /// Resolves once the shim of `id` has ended (at once when it has),
    /// true; false at once when its end cannot be waited for this way (no
    /// pid file, or no descriptor to spare), so the caller asks instead.
    pub fn ended(&self, id: &str, dir: &Path) -> impl Future<Output = bool> + Send + 'static {
        let fd = self.pidfd(id, dir);
        async move {
            let fd = match fd {
                Some(Some(fd)) => fd,
                Some(None) => return true,
                None => return false,
            };
            // A pidfd polls readable once its process has ended.
            let Ok(watch) = fd.try_clone().and_then(register) else { return false };
            watch.readable().await.is_ok()
        }
    }

    /// Forgets a removed container's shim.
    pub fn forget(&self, id: &str) {
        self.fds.lock().remove(id);
    }

    /// The shim's pidfd: `Some(None)` when its pid names no process or
    /// another one (it ended), `None` when there is no pid file or the
    /// pidfd cannot be had (no descriptor to spare, an old kernel): the
    /// runtime knows then.
    fn pidfd(&self, id: &str, dir: &Path) -> Option<Option<Arc<OwnedFd>>> {
        if let Some(fd) = self.fds.lock().get(id) {
            return Some(Some(fd.clone()));
        }
        let pid: u32 = std::fs::read_to_string(dir.join(PID_FILE)).ok()?.trim().parse().ok()?;
        let Some(raw) = i32::try_from(pid).ok().and_then(Pid::from_raw) else { return Some(None) };
        let fd = match open(raw) {
            Ok(fd) => fd,
            Err(rustix::io::Errno::SRCH) => return Some(None),
            Err(_) => return None,
        };
        // The pid may have been reused since the shim wrote it: the
        // process is the shim only if its command line names this
        // container's exit record. Checked after opening the pidfd,
        // which then keeps meaning this process.
        if !is_shim_of(pid, &dir.join("exit.json")) {
            return Some(None);
        }
        let fd = Arc::new(fd);
        self.fds.lock().insert(id.to_string(), fd.clone());
        Some(Some(fd))
    }
}

/// A pidfd for `pid` (only polled, never read: no flags, which kernels
/// before 5.10 refuse).
fn open(pid: Pid) -> rustix::io::Result<OwnedFd> {
    rustix::process::pidfd_open(pid, PidfdFlags::empty())
}

/// The pidfd in Tokio's reactor, to wait for it to poll readable.
#[allow(unsafe_code)]
fn register(fd: OwnedFd) -> std::io::Result<AsyncFd<OwnedFd>> {
    // SAFETY: an `OwnedFd` is an open descriptor that stays open, and
    // always the same, for as long as the `AsyncFd` owns it.
    unsafe { AsyncFd::register_with_interest(fd, Interest::READABLE) }.map_err(std::io::Error::from)
}

fn ended(fd: &OwnedFd) -> bool {
    let mut fds = [PollFd::new(fd, PollFlags::IN)];
    let zero = rustix::time::Timespec { tv_sec: 0, tv_nsec: 0 };
    matches!(rustix::event::poll(&mut fds, Some(&zero)), Ok(n) if n > 0)
}

/// Whether process `pid` is a shim writing its record to `exit_file`.
fn is_shim_of(pid: u32, exit_file: &Path) -> bool {
    let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else { return false };
    let args: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
    let wanted = exit_file.as_os_str().as_encoded_bytes();
    args.windows(2).any(|w| w[0] == b"--exit-file" && w[1] == wanted)
}

/// Writes this process's pid where the agent finds it (`dir/shim.pid`),
/// whole or not at all.
pub fn write_own_pid(dir: &Path) -> std::io::Result<()> {
    let path: PathBuf = dir.join(PID_FILE);
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, std::process::id().to_string())?;
    std::fs::rename(&tmp, &path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn shims_are_followed_by_pidfd() {
        let dir = tempfile::tempdir().expect("tempdir");
        let shims = Shims::default();
        assert_eq!(shims.state("c", dir.path()), Shim::Unknown, "no pid file");
        assert!(!shims.ended("c", dir.path()).await, "cannot be waited for");

        // A pid file naming a process that is not the container's shim
        // (this test) counts as a shim that ended.
        write_own_pid(dir.path()).expect("writes");
        assert_eq!(shims.state("c", dir.path()), Shim::Ended);

        let mut child = std::process::Command::new("sleep").arg("30").spawn().expect("sleep");
        shims.spawned("c", child.id());
        assert_eq!(shims.state("c", dir.path()), Shim::Running);
        let waiter = tokio::spawn(shims.ended("c", dir.path()));
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        assert!(!waiter.is_finished());
        child.kill().expect("kills");
        assert!(tokio::time::timeout(std::time::Duration::from_secs(5), waiter).await.expect("wakes").expect("joins"));
        assert_eq!(shims.state("c", dir.path()), Shim::Ended);
        let _ = child.wait();
        shims.forget("c");
        assert_eq!(shims.state("c", dir.path()), Shim::Ended, "the pid file again");
    }

    #[test]
    fn shims_are_recognised_by_their_exit_file() {
        assert!(!is_shim_of(std::process::id(), Path::new("/nowhere/exit.json")));
        assert!(!is_shim_of(u32::MAX, Path::new("/nowhere/exit.json")));
    }
}
