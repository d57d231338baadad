//! The containers of this node, one directory each, found again after a
//! restart of the agent from those directories, the shims' exit records
//! and the runtime's state:
//!
//! ```text
//! <root>/<id>/bundle/config.json   the runtime spec
//! <root>/<id>/bundle/rootfs        the overlay mount
//! <root>/<id>/upper, work          the container's writable layer
//! <root>/<id>/exit.json            written by the shim when it ended
//! <root>/<id>/shim.pid             the shim's pid, container.pid the container's
//! <root>/<id>/shim.log, runtime.log  the shim's and the runtime's errors
//! ```

use crate::rootfs;
use crate::runtime::{self, Runtime};
use crate::shim::{self, Exit, ShimArgs};
use crate::shims::{Shim, Shims};
use crate::spec::{self, ContainerConfig};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncBufReadExt;

/// How long a shim has to create and start its container.
const START_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid container id {0:?}: expected 1 to 128 lowercase letters, digits, '-', '_' or '.', starting with a letter or digit")]
    Id(String),
    #[error("container {0:?} already exists")]
    Exists(String),
    #[error("container {id:?}: {path}: {source}")]
    Io { id: String, path: PathBuf, source: std::io::Error },
    #[error("container {id:?}: {source}")]
    Rootfs { id: String, source: rootfs::Error },
    #[error("container {id:?}: {source}")]
    Spec { id: String, source: spec::Error },
    #[error("container {id:?}: {source}")]
    Runtime { id: String, source: runtime::Error },
    #[error("container {id:?} failed to start: {why}")]
    Start { id: String, why: String },
}

/// A container to create.
#[derive(Debug, Clone)]
pub struct Create {
    pub id: String,
    pub config: ContainerConfig,
    /// The image's unpacked layers, bottom first.
    pub layers: Vec<PathBuf>,
    /// The CRI log its output goes to (kept after the container is
    /// removed, as the kubelet keeps logs until the pod goes).
    pub log: PathBuf,
}

/// Where a container is in its life.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// Created by the runtime, not started yet (a shim starting it).
    Created { pid: i32 },
    Running { pid: i32 },
    /// Ended, as its shim recorded.
    Exited(Exit),
    /// Its directory is there but neither the runtime nor a shim knows
    /// how it ended (its shim was killed).
    Lost,
}

/// The containers under one directory, run by one runtime, each with a
/// shim started as `shim` (the program and its leading arguments, e.g.
/// the `nubis` binary and `shim`).
#[derive(Debug, Clone)]
pub struct Containers {
    root: PathBuf,
    runtime: Runtime,
    shim: Vec<OsString>,
    /// Containers' logs rotate at this size, keeping this many files.
    log_rotation: (u64, u32),
    shims: Arc<Shims>,
}

fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && id.bytes().next().is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        && id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_.".contains(&b))
}

impl Containers {
    pub fn new(root: impl Into<PathBuf>, runtime: Runtime, shim: Vec<OsString>) -> Containers {
        Containers { root: root.into(), runtime, shim, log_rotation: (crate::log_rotation::DEFAULT_MAX_SIZE, crate::log_rotation::DEFAULT_MAX_FILES), shims: Arc::default() }
    }

    /// Rotates containers' logs at `max_size` bytes, keeping `max_files`.
    pub fn with_log_rotation(mut self, max_size: u64, max_files: u32) -> Containers {
        self.log_rotation = (max_size, max_files);
        self
    }

    pub fn runtime(&self) -> &Runtime {
        &self.runtime
    }

    pub fn dir(&self, id: &str) -> PathBuf {
        self.root.join(id)
    }

    fn check(&self, id: &str) -> Result<PathBuf, Error> {
        if valid_id(id) { Ok(self.dir(id)) } else { Err(Error::Id(id.to_string())) }
    }

    /// Creates and starts the container; answers its pid once it runs.
    pub async fn start(&self, c: Create) -> Result<i32, Error> {
        let dir = self.check(&c.id)?;
        let id = c.id.clone();
        let prepared = {
            let (dir, c) = (dir.clone(), c.clone());
            tokio::task::spawn_blocking(move || prepare(&dir, &c)).await.map_err(|e| Error::Start { id: id.clone(), why: e.to_string() })?
        };
        if let Err(e) = prepared {
            if !matches!(e, Error::Exists(_)) {
                cleanup(&dir);
            }
            return Err(e);
        }
        match self.spawn_shim(&dir, &c).await {
            Ok(pid) => Ok(pid),
            Err(e) => {
                self.shims.forget(&id);
                let _ = self.runtime.delete(&id, true);
                cleanup(&dir);
                Err(e)
            }
        }
    }

    async fn spawn_shim(&self, dir: &Path, c: &Create) -> Result<i32, Error> {
        let id = c.id.clone();
        let args = ShimArgs {
            id: c.id.clone(),
            bundle: dir.join("bundle"),
            runtime: self.runtime.binary().to_string(),
            runtime_root: self.runtime.root().to_path_buf(),
            log: c.log.clone(),
            exit_file: dir.join("exit.json"),
            stdin: c.config.stdin,
            stdin_once: c.config.stdin_once,
            log_max_size: self.log_rotation.0,
            log_max_files: self.log_rotation.1,
        };
        let io = |path: &Path| {
            let (id, path) = (id.clone(), path.to_path_buf());
            move |source| Error::Io { id, path, source }
        };
        let shim_log = dir.join("shim.log");
        let stderr = std::fs::File::create(&shim_log).map_err(io(&shim_log))?;
        let Some((program, leading)) = self.shim.split_first() else {
            return Err(Error::Start { id, why: "no shim command".into() });
        };
        let mut child = tokio::process::Command::new(program)
            .args(leading)
            .args(args.to_args())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            // Out of the agent's process group: a Ctrl-C of `nubis up`
            // is not meant for containers.
            .process_group(0)
            .spawn()
            .map_err(io(Path::new(program)))?;
        if let Some(pid) = child.id() {
            self.shims.spawned(&id, pid);
        }
        let Some(stdout) = child.stdout.take() else {
            return Err(Error::Start { id, why: "the shim has no stdout".into() });
        };
        // The shim lives as long as its container; reap it whenever it
        // ends (after a restart of the agent, init reaps it instead).
        tokio::spawn(async move {
            let _ = child.wait().await;
        });
        let mut lines = tokio::io::BufReader::new(stdout).lines();
        let line = match tokio::time::timeout(START_TIMEOUT, lines.next_line()).await {
            Err(_) => return Err(Error::Start { id, why: format!("the shim did not answer in {START_TIMEOUT:?}") }),
            Ok(Err(e)) => return Err(Error::Start { id, why: format!("reading from the shim: {e}") }),
            Ok(Ok(None)) => {
                let log = std::fs::read_to_string(&shim_log).unwrap_or_default();
                return Err(Error::Start { id, why: format!("the shim ended without starting the container: {}", log.trim()) });
            }
            Ok(Ok(Some(line))) => line,
        };
        match line.split_once(' ') {
            Some(("started", pid)) => pid.trim().parse().map_err(|_| Error::Start { id, why: format!("the shim said {line:?}") }),
            Some(("failed", why)) => Err(Error::Start { id, why: why.to_string() }),
            _ => Err(Error::Start { id, why: format!("the shim said {line:?}") }),
        }
    }

    /// Where the container is in its life: its exit record, else whether
    /// its shim runs (the runtime is asked only about a container whose
    /// shim left no pid file).
    pub async fn status(&self, id: &str) -> Result<Status, Error> {
        let dir = self.check(id)?;
        if let Some(exit) = shim::read_exit(&dir.join("exit.json")) {
            return Ok(Status::Exited(exit));
        }
        match self.shims.state(id, &dir) {
            // Created and started before the shim says so: `start` waits
            // for that, so a running shim's container has its pid file.
            Shim::Running => Ok(match container_pid(&dir) {
                Some(pid) => Status::Running { pid },
                None => Status::Created { pid: 0 },
            }),
            // The record is written before the shim ends.
            Shim::Ended => Ok(shim::read_exit(&dir.join("exit.json")).map_or(Status::Lost, Status::Exited)),
            Shim::Unknown => self.runtime_status(id, &dir).await,
        }
    }

    /// Resolves once the container has ended (its record is written, or
    /// its shim is gone without one).
    pub async fn ended(&self, id: &str) {
        let Ok(dir) = self.check(id) else { return };
        if self.shims.ended(id, &dir).await {
            return;
        }
        while matches!(self.status(id).await, Ok(Status::Running { .. } | Status::Created { .. })) {
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }

    async fn runtime_status(&self, id: &str, dir: &Path) -> Result<Status, Error> {
        let runtime = self.runtime.clone();
        let owned = id.to_string();
        let state = tokio::task::spawn_blocking(move || runtime.state(&owned))
            .await
            .map_err(|e| Error::Start { id: id.to_string(), why: e.to_string() })?
            .map_err(|source| Error::Runtime { id: id.to_string(), source })?;
        Ok(match state {
            Some(s) if s.status == "created" => Status::Created { pid: s.pid },
            Some(s) if s.status == "running" || s.status == "paused" => Status::Running { pid: s.pid },
            // Stopped: its shim is writing the record (after the end of
            // the output, up to `RECORD_WAIT`), unless it is gone.
            Some(_) => match exit_record(dir).await {
                Some(exit) => Status::Exited(exit),
                None => Status::Lost,
            },
            None => Status::Lost,
        })
    }

    /// Sends `signal` (`TERM`, `KILL`, ...) to the container.
    pub async fn signal(&self, id: &str, signal: &str) -> Result<(), Error> {
        self.check(id)?;
        let (runtime, owned, signal) = (self.runtime.clone(), id.to_string(), signal.to_string());
        tokio::task::spawn_blocking(move || runtime.kill(&owned, &signal))
            .await
            .map_err(|e| Error::Start { id: id.to_string(), why: e.to_string() })?
            .map_err(|source| Error::Runtime { id: id.to_string(), source })
    }

    /// Kills (if needed) and deletes the container, unmounts its root and
    /// removes its directory; the log stays.
    pub async fn remove(&self, id: &str) -> Result<(), Error> {
        let dir = self.check(id)?;
        let (runtime, owned) = (self.runtime.clone(), id.to_string());
        let removed = tokio::task::spawn_blocking(move || {
            runtime.delete(&owned, true).map_err(|source| Error::Runtime { id: owned.clone(), source })?;
            rootfs::unmount(&dir.join("bundle/rootfs")).map_err(|source| Error::Rootfs { id: owned.clone(), source })?;
            // The shim of a container just killed writes its exit record
            // while this runs: try again while the directory fills.
            let mut tries = 0;
            loop {
                match std::fs::remove_dir_all(&dir) {
                    Ok(()) => return Ok(()),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
                    Err(_) if tries < 10 => {
                        tries += 1;
                        std::thread::sleep(std::time::Duration::from_millis(100));
                    }
                    Err(source) => return Err(Error::Io { id: owned, path: dir, source }),
                }
            }
        })
        .await
        .map_err(|e| Error::Start { id: id.to_string(), why: e.to_string() })?;
        // Only now: a status asked for meanwhile could have opened the
        // shim's pidfd again from its pid file.
        self.shims.forget(id);
        removed
    }

    /// The ids of every container with a directory here.
    pub fn list(&self) -> Vec<String> {
        let mut ids: Vec<String> = std::fs::read_dir(&self.root)
            .into_iter()
            .flatten()
            .filter_map(Result::ok)
            .filter(|e| e.path().is_dir())
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|id| valid_id(id))
            .collect();
        ids.sort();
        ids
    }
}

/// How long a stopped container's shim may take to write its record: it
/// waits up to 2 s for the output's end first.
const RECORD_WAIT: Duration = Duration::from_secs(3);

/// The exit record of a stopped container, waiting for its shim to write it.
async fn exit_record(dir: &Path) -> Option<Exit> {
    let deadline = tokio::time::Instant::now() + RECORD_WAIT;
    loop {
        if let Some(exit) = shim::read_exit(&dir.join("exit.json")) {
            return Some(exit);
        }
        if tokio::time::Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The container's pid, as the runtime wrote it at its creation.
fn container_pid(dir: &Path) -> Option<i32> {
    std::fs::read_to_string(dir.join("container.pid")).ok()?.trim().parse().ok().filter(|pid| *pid > 0)
}

/// The container's directory, root filesystem and spec.
fn prepare(dir: &Path, c: &Create) -> Result<(), Error> {
    let io = |path: &Path| {
        let (id, path) = (c.id.clone(), path.to_path_buf());
        move |source| Error::Io { id, path, source }
    };
    if let Some(parent) = dir.parent() {
        std::fs::create_dir_all(parent).map_err(io(parent))?;
    }
    match std::fs::create_dir(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return Err(Error::Exists(c.id.clone())),
        Err(e) => return Err(io(dir)(e)),
    }
    let (bundle, rootfs_dir, upper, work) = (dir.join("bundle"), dir.join("bundle/rootfs"), dir.join("upper"), dir.join("work"));
    for d in [&rootfs_dir, &upper, &work] {
        std::fs::create_dir_all(d).map_err(io(d))?;
    }
    if let Some(parent) = c.log.parent() {
        std::fs::create_dir_all(parent).map_err(io(parent))?;
    }
    rootfs::mount(&c.layers, &upper, &work, &rootfs_dir).map_err(|source| Error::Rootfs { id: c.id.clone(), source })?;
    let spec = spec::build(&c.config).map_err(|source| Error::Spec { id: c.id.clone(), source })?;
    let config = bundle.join("config.json");
    let bytes = serde_json::to_vec_pretty(&spec).map_err(|e| io(&config)(e.into()))?;
    std::fs::write(&config, bytes).map_err(io(&config))
}

fn cleanup(dir: &Path) {
    let _ = rootfs::unmount(&dir.join("bundle/rootfs"));
    let _ = std::fs::remove_dir_all(dir);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn containers_ids_cannot_name_paths() {
        for good in ["a", "web-0_1.x", "0abc"] {
            assert!(valid_id(good), "{good}");
        }
        for bad in ["", "../x", "a/b", "A", ".x", "-x", &"a".repeat(129)] {
            assert!(!valid_id(bad), "{bad}");
        }
    }
}
