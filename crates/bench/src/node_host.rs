//! A private host for the node agent's scenarios: a network namespace the
//! bench makes (nothing touches the machine's own network), a registry on
//! 127.0.0.1:5000 inside it, and `nubis up --node-agent` there. The
//! scenario runs on a Tokio runtime whose threads all live in the
//! namespace, so its API clients reach the server on the namespace's
//! loopback; child processes enter it explicitly with `nsenter`. At the
//! end `nubis reset` runs inside the namespace (containers outlive `nubis
//! up` by design), then the namespace and the directory go.
//!
//! These scenarios need root (network namespaces, mounts, runc), so they
//! are not part of `nubis-bench all`.

use crate::server::Process;
use anyhow::{Context, Result, bail, ensure};
use image::pack::{RunConfig, pack_dir};
use image::platform::Platform;
use image::{ImageName, Store};
use std::future::Future;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;
use tokio::time::Instant;

/// The registry inside the namespace.
pub const REGISTRY: &str = "127.0.0.1:5000";
/// The busybox image the pods run, as the registry serves it.
pub const BUSYBOX: &str = "127.0.0.1:5000/bench/busybox:v1";
/// The Node the agent registers.
pub const NODE: &str = "bench";

/// Fails with a sentence when the bench does not run as root.
pub fn needs_root(scenario: &str) -> Result<()> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    // `Uid:` lists the real, effective, saved and filesystem ids.
    let effective = status.lines().find_map(|l| l.strip_prefix("Uid:")).and_then(|ids| ids.split_whitespace().nth(1)).context("Uid in /proc/self/status")?;
    ensure!(effective == "0", "{scenario} needs root: it makes a network namespace and runs containers with runc");
    Ok(())
}

/// The namespace and the directory everything of the scenario lives in.
#[derive(Clone)]
pub struct Namespace {
    pub netns: PathBuf,
    pub dir: PathBuf,
}

impl Namespace {
    /// `program` run inside the namespace.
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut c = Command::new("nsenter");
        c.arg(format!("--net={}", self.netns.display())).arg("--").arg(program);
        c
    }
}

/// Runs `command` to its end; fails with its stderr when it fails.
pub fn checked(command: &mut Command) -> Result<std::process::Output> {
    let shown = format!("{command:?}");
    let out = command.output().with_context(|| format!("running {shown}"))?;
    if !out.status.success() {
        bail!("{shown}: {}", String::from_utf8_lossy(&out.stderr).trim());
    }
    Ok(out)
}

/// Runs `scenario` on a multi-threaded runtime inside a new network
/// namespace, then deletes the namespace and the scenario's directory.
pub fn run_in_namespace<F, Fut>(scenario: F) -> Result<()>
where
    F: FnOnce(Namespace) -> Fut + Send + 'static,
    Fut: Future<Output = Result<()>>,
{
    let dir = tempfile::Builder::new().prefix("nubis-bench-").tempdir()?;
    let netns = dir.path().join("netns");
    net::netns::create(&netns)?;
    let ns = Namespace { netns: netns.clone(), dir: dir.path().to_path_buf() };
    let result = net::netns::run_in(&netns, move || -> Result<()> {
        // Threads inherit the namespace of the thread that starts them,
        // so every worker and blocking thread of this runtime is inside.
        let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
        rt.block_on(async move {
            checked(ns.command("ip").args(["link", "set", "lo", "up"]))?;
            scenario(ns).await
        })
    });
    let deleted = net::netns::delete(&netns);
    let result = result.map_err(anyhow::Error::from).and_then(|r| r);
    deleted.context("deleting the bench's network namespace")?;
    result
}

/// Waits until a TCP connection to `addr` works, at most `timeout`.
pub async fn wait_for_port(addr: &str, timeout: Duration) -> Result<()> {
    let t0 = Instant::now();
    while tokio::net::TcpStream::connect(addr).await.is_err() {
        ensure!(t0.elapsed() < timeout, "{addr} did not open within {timeout:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(())
}

/// A task of the scenario (a watch) that stops when dropped, so it never
/// outlives the server it watches.
pub struct Background(pub tokio::task::JoinHandle<()>);

impl Drop for Background {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Debian's `docker-registry` on 127.0.0.1:5000 inside the namespace,
/// its storage in the scenario's directory; stopped when dropped.
pub struct Registry {
    _process: Process,
}

impl Registry {
    pub async fn start(ns: &Namespace) -> Result<Registry> {
        let config = ns.dir.join("registry.yml");
        let storage = ns.dir.join("registry");
        std::fs::write(&config, format!("version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: {REGISTRY}\n", storage.display()))?;
        let process = Process::spawn(ns.command("docker-registry").arg("serve").arg(&config).stdout(Stdio::null()).stderr(Stdio::null()))
            .context("starting docker-registry (Debian package docker-registry)")?;
        wait_for_port(REGISTRY, Duration::from_secs(20)).await?;
        Ok(Registry { _process: process })
    }

    /// Pushes the image tagged `tag` in the OCI layout `store` to
    /// `target` (a name on this registry), with skopeo.
    pub fn push(&self, ns: &Namespace, store: &Store, tag: &str, target: &str) -> Result<()> {
        checked(ns.command("skopeo").args(["copy", "--quiet", "--dest-tls-verify=false"]).arg(format!("oci:{}:{tag}", store.root().display())).arg(format!("docker://{target}")))?;
        Ok(())
    }

    /// Packs a busybox image (Debian's static busybox as `/bin/busybox`
    /// with `sh` and `sleep`) and pushes it as [`BUSYBOX`].
    pub fn push_busybox(&self, ns: &Namespace) -> Result<()> {
        let root = ns.dir.join("busybox-rootfs");
        for d in ["bin", "etc", "tmp"] {
            std::fs::create_dir_all(root.join(d))?;
        }
        std::fs::copy("/bin/busybox", root.join("bin/busybox")).context("copying /bin/busybox (Debian package busybox-static)")?;
        for applet in ["sh", "sleep"] {
            std::os::unix::fs::symlink("busybox", root.join("bin").join(applet))?;
        }
        let store = Store::open(ns.dir.join("busybox-image"))?;
        let name = ImageName::parse("local/busybox:v1")?;
        let run = RunConfig { cmd: vec!["/bin/sh".into()], ..RunConfig::default() };
        pack_dir(&store, &name, &root, &run, &Platform::host())?;
        self.push(ns, &store, "v1", BUSYBOX)
    }
}

/// A busybox pod running `sleep 3600`, labelled `bench=<label>`, bound to
/// `node` when given (the scheduler places it otherwise).
pub fn sleeping_pod(name: &str, label: &str, node: Option<&str>) -> Result<k8s_openapi::api::core::v1::Pod> {
    let mut spec = serde_json::json!({"containers": [{"name": "c", "image": BUSYBOX, "command": ["/bin/sleep", "3600"]}]});
    if let Some(node) = node {
        spec["nodeName"] = serde_json::json!(node);
    }
    Ok(serde_json::from_value(serde_json::json!({"metadata": {"name": name, "labels": {"bench": label}}, "spec": spec}))?)
}

/// Whether the pod is Running with every container started, as the pod
/// startup SLI counts it.
pub fn all_started(pod: &k8s_openapi::api::core::v1::Pod) -> bool {
    let Some(status) = &pod.status else { return false };
    let wanted = pod.spec.as_ref().map(|s| s.containers.len()).unwrap_or(0);
    let statuses = status.container_statuses.as_deref().unwrap_or_default();
    status.phase.as_deref() == Some("Running") && statuses.len() == wanted && statuses.iter().all(|c| c.state.as_ref().is_some_and(|s| s.running.is_some()))
}

/// `nubis up --node-agent` inside the namespace. Dropping it stops the
/// server (SIGTERM) and then runs `nubis reset` on its data dir inside
/// the namespace, which stops the containers it left and removes their
/// mounts, network namespaces and cgroups.
pub struct NodeServer {
    process: Option<Process>,
    nubis: PathBuf,
    ns: Namespace,
    pub data_dir: PathBuf,
}

impl NodeServer {
    /// `runtime` is the OCI runtime the agent runs containers with.
    pub fn start(nubis: &Path, ns: &Namespace, runtime: &str) -> Result<NodeServer> {
        let data_dir = ns.dir.join("data");
        let mut command = ns.command(nubis);
        command
            .args(["up", "--node-agent", "--node-name", NODE, "--log", "warn", "--listen", "127.0.0.1:6443", "--insecure-registry", REGISTRY])
            // Room for more pods than the kubelet's default of 110.
            .args(["--max-pods", "1000", "--runtime", runtime, "--data-dir"])
            .arg(&data_dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let mut child = command.spawn().with_context(|| format!("starting {}", nubis.display()))?;
        let stdout = child.stdout.take().context("the server's stdout")?;
        // nsenter execs the program, so this pid is `nubis up`'s.
        let server = NodeServer { process: Some(Process::from_child(child)), nubis: nubis.to_path_buf(), ns: ns.clone(), data_dir };
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if line.starts_with("Nubis is up") {
                    let _ = tx.send(());
                }
            }
        });
        if rx.recv_timeout(Duration::from_secs(60)).is_err() {
            bail!("nubis up --node-agent did not start within 60 s");
        }
        Ok(server)
    }

    pub fn pid(&self) -> u32 {
        self.process.as_ref().map(Process::id).unwrap_or_default()
    }

    pub async fn client(&self) -> Result<kube::Client> {
        let kc = kube::config::Kubeconfig::read_from(self.data_dir.join("kubeconfig"))?;
        let config = kube::Config::from_custom_kubeconfig(kc, &Default::default()).await?;
        Ok(kube::Client::try_from(config)?)
    }

    /// Waits until the agent has registered the Node and the `default`
    /// ServiceAccount exists (pods are refused without it).
    pub async fn wait_ready(&self, client: &kube::Client) -> Result<()> {
        use k8s_openapi::api::core::v1::{Node, ServiceAccount};
        use kube::api::Api;
        let nodes: Api<Node> = Api::all(client.clone());
        let accounts: Api<ServiceAccount> = Api::namespaced(client.clone(), "default");
        let t0 = Instant::now();
        while nodes.get_opt(NODE).await?.is_none() || accounts.get_opt("default").await?.is_none() {
            ensure!(t0.elapsed() < Duration::from_secs(60), "node {NODE:?} or the default ServiceAccount did not appear within 60 s");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Ok(())
    }
}

impl Drop for NodeServer {
    fn drop(&mut self) {
        drop(self.process.take());
        match self.ns.command(&self.nubis).args(["reset", "--data-dir"]).arg(&self.data_dir).output() {
            Ok(out) if out.status.success() => {}
            Ok(out) => eprintln!("nubis reset after the scenario: {}", String::from_utf8_lossy(&out.stderr).trim()),
            Err(error) => eprintln!("nubis reset after the scenario: {error}"),
        }
    }
}
