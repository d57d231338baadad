//! The API server's way to the node agent of this process: pods' logs,
//! exec and port forwards on the local node are served from the node's
//! files and runtime directly, where Kubernetes would dial the kubelet.

use apiserver::node_link::{BoxFuture, ByteStream, ContainerTarget, Duplex, ExecOptions, ExecProcess, LinkError, LogOptions, NodeLink, NodeMetrics, Usage};
use node::stats::Sampler;
use node::streams::{Streams, Target};
use std::pin::Pin;
use std::sync::Arc;

pub struct LocalNodeLink {
    pub node: String,
    pub streams: Streams,
    pub stats: Arc<Sampler>,
}

fn target(t: ContainerTarget) -> Target {
    Target { namespace: t.namespace, pod: t.pod, uid: t.uid, container: t.container, container_id: t.container_id }
}

impl NodeLink for LocalNodeLink {
    fn serves(&self, node: &str) -> bool {
        node == self.node
    }

    fn logs(&self, t: ContainerTarget, o: LogOptions) -> BoxFuture<Result<ByteStream, LinkError>> {
        let options = node::logs::Options { follow: o.follow, since: o.since, tail_lines: o.tail_lines, timestamps: o.timestamps, limit_bytes: o.limit_bytes };
        let result = self.streams.logs(&target(t), options).map(|s| Box::pin(s) as ByteStream).map_err(|e| LinkError::Failed(e.to_string()));
        Box::pin(async move { result })
    }

    fn exec(&self, t: ContainerTarget, o: ExecOptions) -> BoxFuture<Result<ExecProcess, LinkError>> {
        let streams = self.streams.clone();
        Box::pin(async move {
            let request = node::exec::Request { command: o.command, stdin: o.stdin, tty: o.tty };
            match streams.exec(&target(t), request).await {
                Ok(p) => Ok(ExecProcess { stdin: p.stdin, stdout: p.stdout, stderr: p.stderr, resize: p.resize, exit: p.exit }),
                Err(e @ node::exec::Error::NotRunning(_)) => Err(LinkError::BadRequest(e.to_string())),
                Err(e) => Err(LinkError::Failed(e.to_string())),
            }
        })
    }

    fn attach(&self, t: ContainerTarget, stdin: bool) -> BoxFuture<Result<ExecProcess, LinkError>> {
        let streams = self.streams.clone();
        Box::pin(async move {
            let p = streams.attach(&target(t), stdin).await.map_err(|e| LinkError::BadRequest(e.to_string()))?;
            Ok(ExecProcess { stdin: p.stdin, stdout: p.stdout, stderr: p.stderr, resize: p.resize, exit: p.exit })
        })
    }

    fn port_forward(&self, _node: &str, uid: &str, port: u16) -> BoxFuture<Result<Pin<Box<dyn Duplex>>, LinkError>> {
        let (streams, uid) = (self.streams.clone(), uid.to_string());
        Box::pin(async move {
            streams.connect(&uid, port).await.map(|c| Box::pin(c) as Pin<Box<dyn Duplex>>).map_err(|e| LinkError::Failed(e.to_string()))
        })
    }

    fn metrics(&self, node: &str) -> Option<NodeMetrics> {
        if node != self.node {
            return None;
        }
        let s = self.stats.snapshot()?;
        let usage = |u: node::stats::Usage| Usage { cpu_nanocores: u.cpu_nanocores, memory_bytes: u.memory_bytes };
        let pods = s.pods.into_iter().map(|(uid, containers)| (uid, containers.into_iter().map(|(name, u)| (name, usage(u))).collect())).collect();
        Some(NodeMetrics { timestamp: s.timestamp, window: s.window, node: usage(s.node), pods })
    }
}
