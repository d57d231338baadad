//! How the API server reaches the node agent (the kubelet) that runs a pod,
//! for the subresources it serves by streaming: `log`, `exec` and
//! `portforward`. Kubernetes' API server dials the kubelet's HTTPS port;
//! here whatever runs a node agent registers a [`NodeLink`] for the nodes
//! it serves (in `nubis up`, the local agent, in-process), so this crate
//! knows nodes only through this trait.

use bytes::Bytes;
use futures::Stream;
use std::future::Future;
use std::io;
use std::pin::Pin;
use tokio::io::{AsyncRead, AsyncWrite};

pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;
pub type ByteStream = Pin<Box<dyn Stream<Item = io::Result<Bytes>> + Send>>;
pub type Reader = Pin<Box<dyn AsyncRead + Send>>;
pub type Writer = Pin<Box<dyn AsyncWrite + Send>>;

/// A connection a port forward carries.
pub trait Duplex: AsyncRead + AsyncWrite + Send {}
impl<T: AsyncRead + AsyncWrite + Send> Duplex for T {}

/// The container a request is about, as the pod's status names it.
#[derive(Debug, Clone)]
pub struct ContainerTarget {
    pub node: String,
    pub namespace: String,
    pub pod: String,
    pub uid: String,
    pub container: String,
    /// From the container's status (`runc://...`).
    pub container_id: String,
}

/// Kubernetes' `PodLogOptions`, validated.
#[derive(Debug, Clone, Default)]
pub struct LogOptions {
    pub follow: bool,
    pub since: Option<jiff::Timestamp>,
    pub tail_lines: Option<u64>,
    pub timestamps: bool,
    pub limit_bytes: Option<u64>,
}

/// What an exec runs (Kubernetes' `PodExecOptions`).
#[derive(Debug, Clone)]
pub struct ExecOptions {
    pub command: Vec<String>,
    pub stdin: bool,
    pub tty: bool,
}

/// A running exec. With a terminal its output is all on `stdout`.
pub struct ExecProcess {
    pub stdin: Option<Writer>,
    pub stdout: Option<Reader>,
    pub stderr: Option<Reader>,
    /// Sets the terminal's size (width, height).
    pub resize: Option<Box<dyn Fn(u16, u16) + Send + Sync>>,
    /// The exit code.
    pub exit: BoxFuture<io::Result<i32>>,
}

/// CPU (nanocores) and memory working set (bytes).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    pub cpu_nanocores: u64,
    pub memory_bytes: u64,
}

/// A node's resource usage over its last window (`metrics.k8s.io`).
#[derive(Debug, Clone)]
pub struct NodeMetrics {
    pub timestamp: jiff::Timestamp,
    pub window: std::time::Duration,
    pub node: Usage,
    /// By pod uid: each container's usage.
    pub pods: std::collections::HashMap<String, Vec<(String, Usage)>>,
}

/// Why a node could not do what was asked; the message reaches the client.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    /// The request cannot be served as it is (400).
    #[error("{0}")]
    BadRequest(String),
    /// The node failed (500).
    #[error("{0}")]
    Failed(String),
}

/// A way to the node agents of some nodes.
pub trait NodeLink: Send + Sync {
    /// Whether this link reaches `node`.
    fn serves(&self, node: &str) -> bool;
    fn logs(&self, target: ContainerTarget, options: LogOptions) -> BoxFuture<Result<ByteStream, LinkError>>;
    fn exec(&self, target: ContainerTarget, options: ExecOptions) -> BoxFuture<Result<ExecProcess, LinkError>>;
    /// Attaches to the container's own process (its stdin when `stdin`).
    fn attach(&self, target: ContainerTarget, stdin: bool) -> BoxFuture<Result<ExecProcess, LinkError>>;
    /// A connection to `port` of the pod with `uid` on `node`, from inside
    /// the pod's network namespace.
    fn port_forward(&self, node: &str, uid: &str, port: u16) -> BoxFuture<Result<Pin<Box<dyn Duplex>>, LinkError>>;
    /// The node's usage over its last window, once it has one.
    fn metrics(&self, node: &str) -> Option<NodeMetrics>;
}
