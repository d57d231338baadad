//! `nubis-bench`: starts the real `nubis` binary on a fresh data dir and
//! measures what BENCHMARKS.md reports: start-up to ready, durable creates
//! under concurrency, large lists, watch latency, idle memory, scheduling
//! throughput and a 10,000-pod fleet; and, as root, the node agent's
//! figures (pod startup, pods at rest, image pulls) on a private host in a
//! network namespace of the bench's own.

mod fleet;
mod image_pull;
mod node_host;
mod pod_startup;
mod pods_idle;
mod procfs;
mod server;
mod stats;
mod scenarios;
mod scheduling;

use anyhow::Result;
use clap::{Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser)]
#[command(name = "nubis-bench", about = "Measure Nubis against the figures in BENCHMARKS.md")]
struct Cli {
    /// The nubis binary to measure (build it with `cargo build --release -p nubis`).
    #[arg(long, default_value = "target/release/nubis")]
    nubis: PathBuf,
    /// The OCI runtime the node agent's scenarios run containers with
    /// (`nubis up --runtime`).
    #[arg(long, default_value = "runc")]
    runtime: String,
    #[command(subcommand)]
    what: What,
}

#[derive(Subcommand)]
enum What {
    /// `nubis up` on a fresh data dir until /readyz answers ok (median of runs).
    Startup {
        #[arg(long, default_value_t = 10)]
        runs: usize,
    },
    /// Durable ConfigMap creates over HTTPS with N concurrent clients.
    Creates {
        #[arg(long, value_delimiter = ',', default_value = "1,16,64")]
        clients: Vec<usize>,
        /// Creates per client count.
        #[arg(long, default_value_t = 5000)]
        total: usize,
    },
    /// List of N ConfigMaps in one namespace (median of runs).
    List {
        #[arg(long, default_value_t = 10000)]
        items: usize,
        #[arg(long, default_value_t = 20)]
        runs: usize,
    },
    /// N watchers; the time from a write's acknowledgement to each watcher seeing it.
    Watch {
        #[arg(long, default_value_t = 100)]
        watchers: usize,
        #[arg(long, default_value_t = 200)]
        writes: usize,
    },
    /// Durable creates as system:masters and as a user allowed by one of
    /// `namespaces * 10` RoleBindings.
    Rbac {
        #[arg(long, default_value_t = 100)]
        namespaces: usize,
        #[arg(long, default_value_t = 1)]
        clients: usize,
        #[arg(long, default_value_t = 2000)]
        per_client: usize,
        #[arg(long, default_value_t = 3)]
        rounds: usize,
    },
    /// From a CRD's create to the first successful create of its objects.
    Crd {
        #[arg(long, default_value_t = 20)]
        runs: usize,
    },
    /// Resident memory of an idle server after start.
    Rss,
    /// Pods created at once on `nodes` simulated nodes: the time until all
    /// are bound and all Running.
    Schedule {
        #[arg(long, default_value_t = 100)]
        nodes: usize,
        #[arg(long, default_value_t = 5000)]
        pods: usize,
        #[arg(long, default_value_t = 64)]
        clients: usize,
    },
    /// The scheduler alone: pods created first, then the scheduler starts
    /// as its own process; the time until all are bound.
    Scheduler {
        #[arg(long, default_value_t = 100)]
        nodes: usize,
        #[arg(long, default_value_t = 5000)]
        pods: usize,
        #[arg(long, default_value_t = 64)]
        clients: usize,
    },
    /// Deployments created at once on `nodes` simulated nodes: the time
    /// until every pod is Running, the server's memory at that size, and
    /// its CPU use once settled.
    Fleet {
        #[arg(long, default_value_t = 100)]
        nodes: usize,
        #[arg(long, default_value_t = 100)]
        deployments: usize,
        #[arg(long, default_value_t = 100)]
        replicas: usize,
        /// How long the settled server is watched for CPU use.
        #[arg(long, default_value_t = 30)]
        settle_seconds: u64,
    },
    /// Pod startup latency on the real node agent (root): pods created
    /// `batch` at a time, each from its create to all its containers
    /// started as seen through a watch, the image already present.
    PodStartup {
        #[arg(long, default_value_t = 100)]
        pods: usize,
        #[arg(long, default_value_t = 10)]
        batch: usize,
    },
    /// The node agent at rest (root): CPU and memory of `nubis up` and of
    /// the shims with `pods` sleeping pods, over `seconds`.
    PodsIdle {
        #[arg(long, default_value_t = 200)]
        pods: usize,
        #[arg(long, default_value_t = 30)]
        seconds: u64,
    },
    /// Pull and unpack of a large image from a loopback registry (root):
    /// `nubis image pull` and the image crate's unpacking against `skopeo
    /// copy` and `tar -x` (medians of runs).
    ImagePull {
        #[arg(long, default_value_t = 100)]
        size_mb: usize,
        #[arg(long, default_value_t = 4)]
        layers: usize,
        #[arg(long, default_value_t = 3)]
        runs: usize,
    },
    /// Everything above that needs no root, with the default sizes (the
    /// node agent's scenarios, pod-startup, pods-idle and image-pull, run
    /// on their own as root).
    All,
}

/// Runs a node agent scenario inside a network namespace of its own, on
/// a runtime whose threads are all in it (this one's are not).
async fn on_private_host<F, Fut>(scenario: &str, nubis: &std::path::Path, run: F) -> Result<()>
where
    F: FnOnce(PathBuf, node_host::Namespace) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = Result<()>>,
{
    use anyhow::Context;
    node_host::needs_root(scenario)?;
    // The server starts shims with its own path: an absolute one works
    // from any directory.
    let nubis = std::fs::canonicalize(nubis).with_context(|| format!("the nubis binary {}", nubis.display()))?;
    tokio::task::spawn_blocking(move || node_host::run_in_namespace(move |ns| run(nubis, ns))).await?
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    rt.block_on(async move {
        match cli.what {
            What::Startup { runs } => scenarios::startup(&cli.nubis, runs).await,
            What::Creates { clients, total } => scenarios::creates(&cli.nubis, &clients, total).await,
            What::List { items, runs } => scenarios::list(&cli.nubis, items, runs).await,
            What::Watch { watchers, writes } => scenarios::watch(&cli.nubis, watchers, writes).await,
            What::Rbac { namespaces, clients, per_client, rounds } => {
                scenarios::rbac(&cli.nubis, namespaces, clients, per_client, rounds).await
            }
            What::Crd { runs } => scenarios::crd(&cli.nubis, runs).await,
            What::Rss => scenarios::rss(&cli.nubis).await,
            What::Schedule { nodes, pods, clients } => scheduling::schedule(&cli.nubis, nodes, pods, clients).await,
            What::Scheduler { nodes, pods, clients } => scheduling::scheduler_only(&cli.nubis, nodes, pods, clients).await,
            What::Fleet { nodes, deployments, replicas, settle_seconds } => {
                fleet::fleet(&cli.nubis, nodes, deployments, replicas, std::time::Duration::from_secs(settle_seconds)).await
            }
            What::PodStartup { pods, batch } => {
                let runtime = cli.runtime.clone();
                on_private_host("pod-startup", &cli.nubis, move |nubis, ns| async move { pod_startup::pod_startup(&nubis, ns, pods, batch, &runtime).await }).await
            }
            What::PodsIdle { pods, seconds } => {
                let runtime = cli.runtime.clone();
                on_private_host("pods-idle", &cli.nubis, move |nubis, ns| async move { pods_idle::pods_idle(&nubis, ns, pods, seconds, &runtime).await }).await
            }
            What::ImagePull { size_mb, layers, runs } => {
                on_private_host("image-pull", &cli.nubis, move |nubis, ns| async move { image_pull::image_pull(&nubis, ns, size_mb, layers, runs).await }).await
            }
            What::All => {
                scenarios::startup(&cli.nubis, 10).await?;
                scenarios::rss(&cli.nubis).await?;
                scenarios::creates(&cli.nubis, &[1, 16, 64], 5000).await?;
                scenarios::list(&cli.nubis, 10000, 20).await?;
                scenarios::rbac(&cli.nubis, 100, 1, 2000, 3).await?;
                scenarios::crd(&cli.nubis, 20).await?;
                scenarios::watch(&cli.nubis, 100, 200).await?;
                scheduling::schedule(&cli.nubis, 100, 5000, 64).await?;
                scheduling::scheduler_only(&cli.nubis, 100, 5000, 64).await?;
                fleet::fleet(&cli.nubis, 100, 100, 100, std::time::Duration::from_secs(30)).await
            }
        }
    })
}
