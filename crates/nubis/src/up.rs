//! `nubis up`: prepares the data dir (certificates, kubeconfig, the server
//! record), opens the store, starts the API server on HTTPS and runs until
//! SIGINT or SIGTERM.

use crate::data_dir::{DataDir, ServerRecord, write_private};
use crate::kubeconfig;
use crate::pki::Pki;
use anyhow::{Context, Result};
use apiserver::{ApiServer, ApiServerOptions};
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct UpArgs {
    /// Where the cluster keeps its state, certificates and kubeconfig.
    #[arg(long, default_value = "nubis-data")]
    pub data_dir: PathBuf,
    /// The address the API server listens on.
    #[arg(long, default_value = "127.0.0.1:6443")]
    pub listen: SocketAddr,
    /// Log filter (tracing's env-filter syntax); RUST_LOG overrides it.
    #[arg(long, default_value = "info")]
    pub log: String,
    /// Do not run the built-in controllers in this process (run them with
    /// `nubis controllers`, or not at all).
    #[arg(long)]
    pub no_controllers: bool,
    /// Register this many simulated nodes (`sim-0`...), whose pods run
    /// without containers: a test and benchmark tool.
    #[arg(long, default_value_t = 0)]
    pub simulated_nodes: usize,
    #[command(flatten)]
    pub simulated_node_size: crate::sim_nodes::NodeSize,
    #[command(flatten)]
    pub controller_flags: crate::controller_flags::ControllerFlags,
    /// Require the node agent for this machine (root, runc and nft):
    /// without this flag it runs when it can and `nubis up` says why
    /// when it cannot.
    #[arg(long, conflicts_with = "no_node_agent")]
    pub node_agent: bool,
    /// Run no node agent: this machine runs no pods (simulated nodes or
    /// other nodes may).
    #[arg(long)]
    pub no_node_agent: bool,
    /// The node's name (default: the host name).
    #[arg(long)]
    pub node_name: Option<String>,
    /// The OCI runtime binary the node agent runs containers with.
    #[arg(long, default_value = "runc")]
    pub runtime: String,
    /// The pods' network.
    #[arg(long, default_value = "10.88.0.0/16")]
    pub pod_cidr: net::Cidr,
    /// Containers' logs rotate at this size (a quantity: 10Mi), as the
    /// kubelet's containerLogMaxSize.
    #[arg(long, default_value = "10Mi", value_parser = parse_bytes)]
    pub container_log_max_size: u64,
    /// Log files kept per container, the current one included (at least
    /// 2), as the kubelet's containerLogMaxFiles.
    #[arg(long, default_value_t = node::log_rotation::DEFAULT_MAX_FILES, value_parser = clap::value_parser!(u32).range(2..))]
    pub container_log_max_files: u32,
    /// Disk usage (percent) at which unused images are removed, as the
    /// kubelet's imageGCHighThresholdPercent (100 turns it off).
    #[arg(long, default_value_t = 85, value_parser = clap::value_parser!(u8).range(1..=100))]
    pub image_gc_high_threshold: u8,
    /// Disk usage image garbage collection brings the disk under, as the
    /// kubelet's imageGCLowThresholdPercent.
    #[arg(long, default_value_t = 80, value_parser = clap::value_parser!(u8).range(0..=100))]
    pub image_gc_low_threshold: u8,
    /// The hard eviction thresholds the node's pressure conditions report,
    /// in the kubelet's syntax (the default is the kubelet's).
    #[arg(long, default_value = "memory.available<100Mi,nodefs.available<10%,nodefs.inodesFree<5%", value_parser = parse_eviction_hard)]
    pub eviction_hard: node::agent::eviction::signals::Thresholds,
    /// The most one image layer may unpack to (a quantity); larger layers,
    /// decompression bombs among them, are refused before they fill the
    /// disk.
    #[arg(long, default_value = "32Gi", value_parser = parse_bytes)]
    pub max_layer_size: u64,
    /// The most pods the node agent runs (the Node's pod capacity, as the
    /// kubelet's --max-pods); a pod bound beyond it ends Failed,
    /// OutOfpods.
    #[arg(long, default_value_t = 110, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub max_pods: u64,
    #[command(flatten)]
    pub registries: crate::image_cli::RegistryFlags,
}

/// A byte size given as a Kubernetes quantity (`10Mi`, `1G`, `512`).
fn parse_bytes(s: &str) -> Result<u64, String> {
    let q = apimachinery::validation::parse_quantity(s).map_err(|e| e.to_string())?;
    u64::try_from(q.value()).ok().filter(|n| *n > 0).ok_or_else(|| format!("{s} is not a positive size"))
}

fn parse_eviction_hard(s: &str) -> Result<node::agent::eviction::signals::Thresholds, String> {
    node::agent::eviction::signals::Thresholds::parse(s, |v| apimachinery::validation::parse_quantity(v).ok().and_then(|q| u64::try_from(q.value()).ok()))
}

/// Whether to run the node agent: asked for and able to, or able to when
/// not told either way (saying what stands in the way otherwise).
fn node_agent_wanted(args: &UpArgs) -> anyhow::Result<bool> {
    if args.no_node_agent {
        return Ok(false);
    }
    let blockers = node_agent_blockers(&args.runtime);
    if blockers.is_empty() {
        return Ok(true);
    }
    let why = blockers.join("; ");
    if args.node_agent {
        anyhow::bail!("the node agent cannot run: {why}");
    }
    eprintln!("nubis up: running without the node agent, so this machine runs no pods: {why} (--no-node-agent says this is meant)");
    Ok(false)
}

/// What keeps the node agent from running here, in words that say what
/// to do.
fn node_agent_blockers(runtime: &str) -> Vec<String> {
    let mut out = Vec::new();
    if !rustix::process::geteuid().is_root() {
        out.push("it needs root (it mounts, makes network namespaces and runs containers)".to_string());
    }
    if !on_path(runtime) {
        out.push(if runtime == "runc" { "runc is not installed (Debian: apt install runc)".to_string() } else { format!("the OCI runtime {runtime} is not on PATH") });
    }
    if !on_path("nft") {
        out.push("nft is not installed (Debian: apt install nftables)".to_string());
    }
    out
}

/// Whether `program` is a path to a file or a file in a PATH directory.
fn on_path(program: &str) -> bool {
    if program.contains('/') {
        return std::path::Path::new(program).is_file();
    }
    std::env::var_os("PATH").is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(program).is_file()))
}

/// The names the serving certificate covers.
fn serving_names(listen: &SocketAddr) -> Vec<String> {
    let mut names = vec!["localhost".to_string(), "127.0.0.1".to_string()];
    if !listen.ip().is_unspecified() {
        names.push(listen.ip().to_string());
    }
    if let Ok(h) = hostname::get()
        && let Some(h) = h.to_str() {
            names.push(h.to_string());
        }
    for n in ["kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local", "10.96.0.1"] {
        names.push(n.to_string());
    }
    names.sort();
    names.dedup();
    names
}

/// The URL clients on this machine use to reach `listen`.
fn client_url(listen: &SocketAddr) -> String {
    let ip = if listen.ip().is_unspecified() { "127.0.0.1".to_string() } else { listen.ip().to_string() };
    match listen.ip() {
        std::net::IpAddr::V6(_) if !listen.ip().is_unspecified() => format!("https://[{ip}]:{}", listen.port()),
        _ => format!("https://{ip}:{}", listen.port()),
    }
}

fn init_logging(log: &str) -> Result<()> {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .or_else(|_| tracing_subscriber::EnvFilter::try_new(log))
        .context("parsing the log filter")?;
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
    Ok(())
}

pub fn run(args: UpArgs) -> Result<()> {
    init_logging(&args.log)?;
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    #[cfg(feature = "jemalloc")]
    builder.on_thread_park(crate::allocator::give_back_thread_cache);
    let runtime = builder.enable_all().build()?;
    runtime.block_on(serve(args))
}

/// `nubis controllers`: the built-in controllers against any API server.
pub fn run_controllers(kubeconfig: Option<PathBuf>, log: &str, flags: &crate::controller_flags::ControllerFlags, volume_dir: Option<PathBuf>) -> Result<()> {
    init_logging(log)?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async move {
        let config = match kubeconfig {
            Some(path) => {
                let kc = kube::config::Kubeconfig::read_from(&path)
                    .with_context(|| format!("reading {}", path.display()))?;
                kube::Config::from_custom_kubeconfig(kc, &kube::config::KubeConfigOptions::default()).await?
            }
            None => kube::Config::infer().await?,
        };
        // The CA the kubeconfig trusts is the one to publish.
        let root_ca = config.root_cert.as_ref().and_then(|certs| {
            let pems: Vec<String> = certs.iter().map(|der| pem::encode(&pem::Pem::new("CERTIFICATE", der.clone()))).collect();
            (!pems.is_empty()).then(|| pems.concat())
        });
        let client = kube::Client::try_from(config)?;
        tracing::info!("running the built-in controllers");
        let volume_dir = match volume_dir {
            Some(dir) => {
                std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
                Some(dir.canonicalize().with_context(|| format!("resolving {}", dir.display()))?)
            }
            None => None,
        };
        controllers::run(client, controllers::Options { volume_dir, ..flags.options(root_ca) }, shutdown_signal()).await;
        Ok(())
    })
}

async fn serve(args: UpArgs) -> Result<()> {
    let dir = DataDir::new(&args.data_dir)?;
    let pki = Pki::load_or_create(&dir.pki())?;
    let serving = pki.serving(&serving_names(&args.listen))?;
    let admin = pki.admin()?;
    let url = client_url(&args.listen);
    dir.write_record(&ServerRecord { server: url.clone(), listen: args.listen.to_string() })?;
    write_private(&dir.kubeconfig(), kubeconfig::render(&url, &pki.ca.cert_pem, "nubis-admin", &admin, None).as_bytes())?;

    let store_path = dir.store();
    let store = tokio::task::spawn_blocking(move || store::Store::open(&store_path, store::StoreOptions::default()))
        .await?
        .context("opening the store")?;
    let options = ApiServerOptions {
        token_file: Some(dir.root.join("tokens.csv")),
        service_account_key_file: Some(dir.pki().join("sa.key")),
        cluster_ca_pem: Some(pki.ca.cert_pem.clone()),
        ..ApiServerOptions::default()
    };
    let server = ApiServer::new(store, options).map_err(|e| anyhow::anyhow!("starting the API server: {e}"))?;
    let tls = apiserver::serve::tls_config(
        pki.ca.cert_pem.as_bytes(),
        serving.cert_pem.as_bytes(),
        serving.key_pem.as_bytes(),
    )?;
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("listening on {}", args.listen))?;
    let serving_task = tokio::spawn(apiserver::serve::serve(server.clone(), listener, tls, shutdown_signal()));
    server.bootstrap().await.map_err(|e| anyhow::anyhow!("bootstrap: {e}"))?;
    let controllers = (!args.no_controllers).then(|| {
        tokio::spawn(controllers::run(
            crate::in_process::client(server.clone(), crate::in_process::controller_manager()),
            controllers::Options { volume_dir: Some(dir.volumes()), ..args.controller_flags.options(Some(pki.ca.cert_pem.clone())) },
            std::future::pending(),
        ))
    });
    let simulated = (args.simulated_nodes > 0).then(|| {
        let client = crate::in_process::client(server.clone(), crate::in_process::controller_manager());
        let options = controllers::simulated_nodes::Options {
            lease_seconds: crate::sim_nodes::lease_seconds_for(args.controller_flags.node_monitor_grace_period),
            ..args.simulated_node_size.options(args.simulated_nodes)
        };
        tokio::spawn(crate::sim_nodes::run_in_process(client, options))
    });
    let node_agent = if node_agent_wanted(&args)? {
        let name = match &args.node_name {
            Some(n) => n.clone(),
            None => hostname::get().ok().and_then(|h| h.into_string().ok()).map(|h| h.to_lowercase()).unwrap_or_else(|| "localhost".into()),
        };
        let options = node::agent::Options {
            node: name.clone(),
            data_dir: dir.root.clone(),
            runtime: args.runtime.clone(),
            pod_cidr: args.pod_cidr,
            registries: args.registries.registries()?,
            shim: vec![std::env::current_exe().context("locating the nubis binary for container shims")?.into_os_string(), "shim".into()],
            container_log_max_size: args.container_log_max_size,
            container_log_max_files: args.container_log_max_files,
            eviction_hard: args.eviction_hard,
            max_layer_size: args.max_layer_size,
            max_pods: args.max_pods,
            image_gc: {
                let policy = image::gc::Policy { high_threshold_percent: args.image_gc_high_threshold, low_threshold_percent: args.image_gc_low_threshold, ..image::gc::Policy::default() };
                policy.validate().map_err(|e| anyhow::anyhow!("--image-gc-low-threshold must not be over --image-gc-high-threshold: {e}"))?;
                policy
            },
        };
        // The kubelet's resource metrics: a window every 10 s.
        let stats = node::stats::Sampler::new();
        stats.spawn(std::time::Duration::from_secs(10));
        server.add_node_link(std::sync::Arc::new(crate::local_node_link::LocalNodeLink {
            stats,
            node: name.clone(),
            streams: node::streams::Streams::new(&dir.root, &args.runtime, vec![std::env::current_exe().context("locating the nubis binary for exec")?.into_os_string(), "exec-waiter".into()]),
        }));
        let client = crate::in_process::client(server.clone(), crate::in_process::node(&name));
        Some(tokio::spawn(async move {
            if let Err(error) = node::agent::run(client, options).await {
                tracing::error!(%error, "the node agent stopped");
            }
        }))
    } else {
        None
    };
    let kubeconfig = dir.kubeconfig();
    println!("Nubis is up: the Kubernetes API is at {url}");
    println!("  kubeconfig: {}", kubeconfig.display());
    println!("  export KUBECONFIG={}", kubeconfig.display());
    println!("  kubectl get namespaces");
    serving_task.await??;
    tracing::info!("stopping");
    for task in [controllers, simulated, node_agent].into_iter().flatten() {
        task.abort();
        let _ = task.await;
    }
    let store = server.store().clone();
    drop(server);
    tokio::task::spawn_blocking(move || store.close()).await?;
    Ok(())
}

async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) else {
        // Without signal handlers the server runs until killed.
        std::future::pending::<()>().await;
        return;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
}
