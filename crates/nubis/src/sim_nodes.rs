//! Simulated nodes from the command line, a test and benchmark tool:
//! `nubis up --simulated-nodes N` runs them in process, `nubis sim-nodes
//! --kubeconfig X --count N` against any API server.

use anyhow::{Context, Result};
use controllers::simulated_nodes::{self, Options};
use std::path::PathBuf;

/// The size of each simulated node.
#[derive(clap::Args, Clone, Debug)]
pub struct NodeSize {
    /// CPU capacity of each simulated node.
    #[arg(long = "simulated-node-cpu", default_value = "4")]
    pub cpu: String,
    /// Memory capacity of each simulated node.
    #[arg(long = "simulated-node-memory", default_value = "16Gi")]
    pub memory: String,
    /// Pod capacity of each simulated node.
    #[arg(long = "simulated-node-pods", default_value = "110")]
    pub pods: String,
}

impl NodeSize {
    pub fn options(&self, count: usize) -> Options {
        Options { count, cpu: self.cpu.clone(), memory: self.memory.clone(), pods: self.pods.clone(), ..Options::default() }
    }
}

/// The Lease duration simulated nodes need under a node monitor grace
/// period: kubelet's 40 s, or less when the grace period is shorter, so
/// renewals (every quarter of it) come well within the grace period.
pub fn lease_seconds_for(grace: std::time::Duration) -> i32 {
    let grace = i32::try_from(grace.as_secs()).unwrap_or(i32::MAX);
    simulated_nodes::DEFAULT_LEASE_SECONDS.min(grace.saturating_sub(1)).max(1)
}

/// Runs `count` simulated nodes in this process until the client's server
/// goes away; errors are logged.
pub async fn run_in_process(client: kube::Client, options: Options) {
    if let Err(error) = simulated_nodes::run(client, options).await {
        tracing::error!(%error, "simulated nodes stopped");
    }
}

/// `nubis sim-nodes`: simulated nodes against the API server of a kubeconfig.
pub fn run(kubeconfig: Option<PathBuf>, options: Options) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async move {
        let config = match kubeconfig {
            Some(path) => {
                let kc = kube::config::Kubeconfig::read_from(&path).with_context(|| format!("reading {}", path.display()))?;
                kube::Config::from_custom_kubeconfig(kc, &kube::config::KubeConfigOptions::default()).await?
            }
            None => kube::Config::infer().await?,
        };
        let client = kube::Client::try_from(config)?;
        tokio::select! {
            r = simulated_nodes::run(client, options) => r.context("simulated nodes")?,
            _ = tokio::signal::ctrl_c() => {}
        }
        Ok(())
    })
}
