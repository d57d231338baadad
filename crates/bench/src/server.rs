//! A `nubis up` child process on a fresh data dir and a free port.

use anyhow::{Context, Result, bail};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub struct Server {
    process: Process,
    _dir: tempfile::TempDir,
    pub data_dir: PathBuf,
}

fn free_port() -> Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(l.local_addr()?.port())
}

impl Server {
    /// Spawns the server with more `nubis up` arguments, without waiting
    /// for it.
    pub fn spawn_with(nubis: &Path, extra: &[&str]) -> Result<Server> {
        let dir = tempfile::tempdir()?;
        let data_dir = dir.path().join("data");
        let port = free_port()?;
        let process = Process::spawn(
            Command::new(nubis)
                .args(["up", "--no-node-agent", "--log", "warn", "--data-dir"])
                .arg(&data_dir)
                .args(["--listen", &format!("127.0.0.1:{port}")])
                .args(extra)
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit()),
        )
        .with_context(|| format!("starting {}", nubis.display()))?;
        Ok(Server { process, _dir: dir, data_dir })
    }

    /// Spawns the server and waits for the line it prints when it serves.
    pub fn start(nubis: &Path) -> Result<Server> {
        Server::start_with(nubis, &[])
    }

    /// Starts the server with more `nubis up` arguments and waits for it.
    pub fn start_with(nubis: &Path, extra: &[&str]) -> Result<Server> {
        let mut s = Server::spawn_with(nubis, extra)?;
        let stdout = s.process.0.stdout.take().context("stdout")?;
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if line.starts_with("Nubis is up") {
                    let _ = tx.send(());
                }
            }
        });
        if rx.recv_timeout(Duration::from_secs(30)).is_err() {
            bail!("nubis did not start within 30s");
        }
        Ok(s)
    }

    pub fn pid(&self) -> u32 {
        self.process.0.id()
    }

    pub fn kubeconfig(&self) -> PathBuf {
        self.data_dir.join("kubeconfig")
    }

    pub async fn client(&self) -> Result<kube::Client> {
        let kc = kube::config::Kubeconfig::read_from(self.kubeconfig())?;
        let config = kube::Config::from_custom_kubeconfig(kc, &Default::default()).await?;
        Ok(kube::Client::try_from(config)?)
    }
}

impl Server {
    /// A client for `user`, with a certificate from `nubis kubeconfig`.
    pub async fn user_client(&self, nubis: &Path, user: &str) -> Result<kube::Client> {
        let out = Command::new(nubis)
            .args(["kubeconfig", "--data-dir"])
            .arg(&self.data_dir)
            .args(["--user", user])
            .output()
            .context("running nubis kubeconfig")?;
        if !out.status.success() {
            bail!("nubis kubeconfig: {}", String::from_utf8_lossy(&out.stderr));
        }
        let kc = kube::config::Kubeconfig::from_yaml(&String::from_utf8_lossy(&out.stdout))?;
        let config = kube::Config::from_custom_kubeconfig(kc, &Default::default()).await?;
        Ok(kube::Client::try_from(config)?)
    }
}

/// A child process that is stopped (SIGTERM) when dropped.
pub struct Process(Child);

impl Process {
    pub fn spawn(command: &mut Command) -> Result<Process> {
        Ok(Process(command.spawn().context("starting a child process")?))
    }

    /// Takes over a child started elsewhere (whose pipes were taken).
    pub fn from_child(child: Child) -> Process {
        Process(child)
    }

    pub fn id(&self) -> u32 {
        self.0.id()
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = Command::new("kill").args(["-TERM", &self.0.id().to_string()]).status();
        let _ = self.0.wait();
    }
}

/// The pods a watch shows added or changed (listed ones included). A watch
/// that fell behind the server's history ends with 410 Gone; the watcher
/// lists again on its next poll, as reflectors do, so errors are only
/// reported.
pub fn applied_pods(api: kube::Api<k8s_openapi::api::core::v1::Pod>) -> impl futures::Stream<Item = k8s_openapi::api::core::v1::Pod> + Send {
    use futures::StreamExt;
    use kube::runtime::watcher::{self, Event, watcher};
    watcher(api, watcher::Config::default()).filter_map(|e| {
        futures::future::ready(match e {
            Ok(Event::Apply(p) | Event::InitApply(p)) => Some(p),
            Ok(_) => None,
            Err(error) => {
                eprintln!("pod watch restarts after: {error}");
                None
            }
        })
    })
}

/// Waits until `count` nodes have registered (simulated nodes start with
/// the server), at most a minute.
pub async fn wait_for_nodes(client: &kube::Client, count: usize) -> Result<()> {
    use k8s_openapi::api::core::v1::Node;
    use kube::api::{Api, ListParams};
    let nodes: Api<Node> = Api::all(client.clone());
    let t0 = tokio::time::Instant::now();
    while nodes.list(&ListParams::default()).await?.items.len() < count {
        anyhow::ensure!(t0.elapsed() < Duration::from_secs(60), "{count} nodes did not register within 60 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(())
}
