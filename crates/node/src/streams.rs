//! What the API server asks of this node for the streaming subresources of
//! its pods (the kubelet's own HTTP API: container logs, exec, port
//! forwarding), answered from the node's files and runtime. It needs
//! nothing of the agent's loop, so it serves while the agent restarts.

use crate::exec::{self, Process, Request};
use crate::logs::{self, Options, Source};
use crate::runtime::Runtime;
use bytes::Bytes;
use futures::Stream;
use std::ffi::OsString;
use std::io;
use std::path::{Path, PathBuf};

/// The kubelet's container id prefix of this runtime (`runc://<id>`).
const ID_SCHEME: &str = "://";

/// A node's streaming side.
#[derive(Debug, Clone)]
pub struct Streams {
    logs: PathBuf,
    containers: PathBuf,
    netns: PathBuf,
    runtime: Runtime,
    /// How the exec waiter is run (program and leading arguments).
    waiter: Vec<OsString>,
}

/// The container a request is about, as the pod's status names it.
#[derive(Debug, Clone)]
pub struct Target {
    pub namespace: String,
    pub pod: String,
    pub uid: String,
    pub container: String,
    /// `runc://<id>` (or a bare id).
    pub container_id: String,
}

impl Target {
    fn id(&self) -> &str {
        self.container_id.split_once(ID_SCHEME).map(|(_, id)| id).unwrap_or(&self.container_id)
    }

    /// The attempt number the agent put at the end of the id.
    fn attempt(&self) -> Option<u32> {
        self.id().rsplit_once('-').and_then(|(_, n)| n.parse().ok())
    }
}

impl Streams {
    /// The streams of the node whose agent keeps its files in `data_dir`
    /// and runs containers with the runtime `binary`; `waiter` runs the
    /// exec waiter (`nubis exec-waiter`).
    pub fn new(data_dir: &Path, runtime_binary: &str, waiter: Vec<OsString>) -> Streams {
        Streams {
            logs: data_dir.join("logs"),
            containers: data_dir.join("containers"),
            netns: data_dir.join("netns"),
            runtime: Runtime::new(runtime_binary, data_dir.join("runtime")),
            waiter,
        }
    }

    /// The container's log file (the agent's layout, as the kubelet's
    /// `/var/log/pods`).
    pub fn log_path(&self, target: &Target) -> Option<PathBuf> {
        let attempt = target.attempt()?;
        Some(
            self.logs
                .join(format!("{}_{}_{}", target.namespace, target.pod, target.uid))
                .join(&target.container)
                .join(format!("{attempt}.log")),
        )
    }

    /// The container's log as `options` say.
    pub fn logs(&self, target: &Target, options: Options) -> io::Result<impl Stream<Item = io::Result<Bytes>> + Send + 'static> {
        let path = self.log_path(target).ok_or_else(|| io::Error::other(format!("{} is not a container id of this node", target.container_id)))?;
        let dir = self.containers.join(target.id());
        // The shim writes `exit.json` after the container's last output.
        let running = Box::new(move || dir.is_dir() && !dir.join("exit.json").exists());
        Ok(logs::read(Source { path, running }, options))
    }

    /// Runs a command in the container.
    pub async fn exec(&self, target: &Target, request: Request) -> Result<Process, exec::Error> {
        exec::exec(&self.runtime, &self.waiter, target.id(), request).await
    }

    /// Attaches to the container's own process (through its shim).
    pub async fn attach(&self, target: &Target, stdin: bool) -> io::Result<Process> {
        crate::attach::connect(&self.containers.join(target.id()), stdin).await
    }

    /// A connection to `port` on the pod's loopback, made inside the pod's
    /// network namespace as the kubelet's port forwarding does (so ports
    /// bound to 127.0.0.1 in the pod are reachable too).
    pub async fn connect(&self, uid: &str, port: u16) -> io::Result<tokio::net::TcpStream> {
        if uid.is_empty() || uid.contains('/') || uid.contains("..") {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, format!("{uid:?} is not a pod uid")));
        }
        let netns = self.netns.join(uid);
        let connect = tokio::task::spawn_blocking(move || {
            net::netns::run_in(&netns, move || std::net::TcpStream::connect(("127.0.0.1", port)))
                .map_err(|e| io::Error::new(io::ErrorKind::NotFound, e.to_string()))?
        });
        let stream = connect.await.map_err(io::Error::other)??;
        stream.set_nonblocking(true)?;
        tokio::net::TcpStream::from_std(stream)
    }
}
