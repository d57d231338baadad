//! The `nubis` command line: `up` runs the embedded Kubernetes-compatible
//! kernel in this process; `kubeconfig` prints credentials for a user;
//! `controllers` runs the built-in controllers against any API server;
//! `sim-nodes` runs simulated nodes (a test and benchmark tool) against one;
//! `image` manages the data dir's image store.

#[cfg(feature = "jemalloc")]
mod allocator;
mod controller_flags;
mod data_dir;
mod image_cli;
mod in_process;
mod kubeconfig;
mod local_node_link;
mod pki;
mod sim_nodes;
mod up;

use anyhow::Result;
use clap::{Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser)]
#[command(name = "nubis", version, about = "A cloud operating system in one binary, on Kubernetes")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run Nubis on this machine: the embedded API server and its store.
    Up(Box<up::UpArgs>),
    /// Print a kubeconfig with a fresh client certificate signed by the cluster CA.
    Kubeconfig {
        /// The data dir of the cluster.
        #[arg(long, default_value = "nubis-data")]
        data_dir: PathBuf,
        /// The user name (the certificate's CN).
        #[arg(long, default_value = "nubis-admin")]
        user: String,
        /// Groups of the user (the certificate's O); repeatable.
        #[arg(long = "group")]
        groups: Vec<String>,
        /// The default namespace of the kubeconfig's context.
        #[arg(long)]
        namespace: Option<String>,
    },
    /// Run the built-in controllers against the API server of a kubeconfig
    /// (the ones `nubis up` runs in process).
    Controllers {
        /// The kubeconfig to use (default: $KUBECONFIG or ~/.kube/config).
        #[arg(long)]
        kubeconfig: Option<PathBuf>,
        /// Log filter (tracing's env-filter syntax); RUST_LOG overrides it.
        #[arg(long, default_value = "info")]
        log: String,
        #[command(flatten)]
        flags: controller_flags::ControllerFlags,
        /// Where the local provisioner (`nubis.io/local`, the default
        /// StorageClass `local`) makes volume directories. Without it no
        /// volumes are provisioned and no default class is created.
        #[arg(long)]
        volume_dir: Option<PathBuf>,
    },
    /// Supervise one container for the node agent (started by it, not by
    /// hand): create and start it through the runtime, log its output,
    /// record how it ended.
    #[command(hide = true)]
    Shim {
        #[arg(long)]
        id: String,
        #[arg(long)]
        bundle: PathBuf,
        #[arg(long)]
        runtime: String,
        #[arg(long)]
        runtime_root: PathBuf,
        #[arg(long)]
        log: PathBuf,
        #[arg(long)]
        exit_file: PathBuf,
        #[arg(long)]
        stdin: bool,
        #[arg(long)]
        stdin_once: bool,
        #[arg(long, default_value_t = node::log_rotation::DEFAULT_MAX_SIZE)]
        log_max_size: u64,
        #[arg(long, default_value_t = node::log_rotation::DEFAULT_MAX_FILES)]
        log_max_files: u32,
    },
    /// Run one command with a terminal in a container and wait for it,
    /// for the node agent's exec (started by it, not by hand).
    #[command(hide = true)]
    ExecWaiter {
        #[arg(long)]
        runtime: String,
        #[arg(long)]
        runtime_root: PathBuf,
        #[arg(long)]
        console_socket: PathBuf,
        #[arg(long)]
        id: String,
        #[arg(last = true, required = true)]
        command: Vec<String>,
    },
    /// Stop and remove everything the node agent of a data dir made on
    /// this machine: containers, their mounts, the pods' network
    /// namespaces, the bridge and nftables table, cgroups. The store and
    /// images stay.
    Reset {
        #[arg(long, default_value = "nubis-data")]
        data_dir: PathBuf,
        /// The OCI runtime the node agent ran containers with.
        #[arg(long, default_value = "runc")]
        runtime: String,
    },
    /// Pull, list, inspect and remove the images of a data dir.
    Image(image_cli::ImageArgs),
    /// Register simulated nodes whose pods run without containers (a test
    /// and benchmark tool) on the API server of a kubeconfig.
    SimNodes {
        /// The kubeconfig to use (default: $KUBECONFIG or ~/.kube/config).
        #[arg(long)]
        kubeconfig: Option<PathBuf>,
        /// How many nodes.
        #[arg(long, default_value_t = 3)]
        count: usize,
        /// Node names are this prefix and an index (`sim-0`, ...).
        #[arg(long, default_value = "sim-")]
        prefix: String,
        /// The nodes' Lease duration; they renew every quarter of it.
        #[arg(long, default_value_t = controllers::simulated_nodes::DEFAULT_LEASE_SECONDS)]
        node_lease_duration_seconds: i32,
        #[command(flatten)]
        size: sim_nodes::NodeSize,
    },
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Up(args) => up::run(*args),
        Command::Image(args) => image_cli::run(args),
        Command::Reset { data_dir, runtime } => {
            let tokio = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
            let report = tokio.block_on(node::reset::reset(&data_dir, &runtime, "nubis0"));
            println!(
                "removed {} containers, {} pod network namespaces, {} cgroups{}",
                report.containers,
                report.namespaces,
                report.cgroups,
                if report.network { ", the bridge nubis0 and the nftables table ip nubis" } else { "" }
            );
            Ok(())
        }
        Command::Shim { id, bundle, runtime, runtime_root, log, exit_file, stdin, stdin_once, log_max_size, log_max_files } => {
            let args = node::shim::ShimArgs { id, bundle, runtime, runtime_root, log, exit_file, stdin, stdin_once, log_max_size, log_max_files };
            std::process::exit(node::shim::run(&args))
        }
        Command::ExecWaiter { runtime, runtime_root, console_socket, id, command } => {
            std::process::exit(node::exec_waiter::run(&node::exec_waiter::Args { runtime, runtime_root, console_socket, id, command }))
        }
        Command::Controllers { kubeconfig, log, flags, volume_dir } => up::run_controllers(kubeconfig, &log, &flags, volume_dir),
        Command::SimNodes { kubeconfig, count, prefix, node_lease_duration_seconds, size } => {
            let options = controllers::simulated_nodes::Options { prefix, lease_seconds: node_lease_duration_seconds, ..size.options(count) };
            sim_nodes::run(kubeconfig, options)
        }
        Command::Kubeconfig { data_dir, user, groups, namespace } => {
            let dir = data_dir::DataDir::new(&data_dir)?;
            let record = dir.read_record()?;
            let pki = pki::Pki::load_or_create(&dir.pki())?;
            let client = pki.client(&user, &groups)?;
            print!("{}", kubeconfig::render(&record.server, &pki.ca.cert_pem, &user, &client, namespace.as_deref()));
            Ok(())
        }
    }
}
