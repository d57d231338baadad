//! `nubis-bench`: starts the real `nubis` binary on a fresh data dir and
//! measures what BENCHMARKS.md reports: start-up to ready, durable creates
//! under concurrency, large lists, watch latency, idle memory, scheduling
//! throughput and a 10,000-pod fleet.

mod fleet;
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
    /// Everything above with the default sizes.
    All,
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
