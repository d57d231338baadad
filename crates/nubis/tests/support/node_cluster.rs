//! The cluster of the node agent's tests: a private network namespace
//! (entered with `nsenter`) with a real registry serving a busybox image
//! the test packs, and `nubis up --node-agent` in it, driven with kubectl.
//! Each test file that uses it declares `registry` (the image crate's
//! test support) beside it.
#![allow(dead_code)]

use super::registry;
use image::Store;
use image::platform::Platform;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;
use tokio::time::Instant;

/// A private network namespace with a registry and `nubis up` in it.
pub struct Cluster {
    pub dir: tempfile::TempDir,
    pub netns: PathBuf,
    pub registry: String,
    pub children: Vec<Child>,
    /// Arguments added to `nubis up`'s, on every start.
    pub nubis_args: Vec<String>,
    /// `nubis up --eviction-hard`.
    pub eviction_hard: String,
    /// The data dir is a tmpfs of its own (unmounted at the end).
    pub data_on_tmpfs: bool,
}

/// How a test's cluster differs from the usual one.
#[derive(Debug, Clone, Default)]
pub struct Setup<'a> {
    /// Added to `nubis up`'s arguments.
    pub args: &'a [&'a str],
    /// `--eviction-hard` (test machines' disks are often fuller than
    /// the kubelet's 10% would let a node schedule on, so the usual one
    /// is 1%).
    pub eviction_hard: Option<&'a str>,
    /// The data dir on a tmpfs of this many MiB: a disk the test can fill.
    pub data_tmpfs_mib: Option<u64>,
}

pub fn in_netns(netns: &Path, program: &str) -> Command {
    let mut c = Command::new("nsenter");
    c.arg(format!("--net={}", netns.display())).arg("--").arg(program);
    c
}

impl Cluster {
    pub fn start() -> Cluster {
        Cluster::start_with(&[])
    }

    /// Starts the cluster with `args` added to `nubis up`'s own
    /// (`--horizontal-pod-autoscaler-sync-period=2s`, say).
    pub fn start_with(args: &[&str]) -> Cluster {
        Cluster::start_setup(Setup { args, ..Setup::default() })
    }

    pub fn start_setup(setup: Setup) -> Cluster {
        let args = setup.args;
        let dir = tempfile::tempdir().expect("tempdir");
        if let Some(mib) = setup.data_tmpfs_mib {
            let data = dir.path().join("data");
            std::fs::create_dir_all(&data).expect("mkdir");
            let status = Command::new("mount").args(["-t", "tmpfs", "-o", &format!("size={mib}m"), "tmpfs"]).arg(&data).status().expect("mount runs");
            assert!(status.success(), "mounting a tmpfs at {}", data.display());
        }
        let netns = dir.path().join("netns");
        net::netns::create(&netns).expect("a network namespace");
        // Loopback up, for the registry and the API server.
        assert!(in_netns(&netns, "ip").args(["link", "set", "lo", "up"]).status().expect("ip runs").success());
        let nubis_args = args.iter().map(|a| a.to_string()).collect();
        let eviction_hard = setup.eviction_hard.unwrap_or("nodefs.available<1%,nodefs.inodesFree<1%").to_string();
        let mut cluster = Cluster { registry: "127.0.0.1:5000".into(), netns, dir, children: Vec::new(), nubis_args, eviction_hard, data_on_tmpfs: setup.data_tmpfs_mib.is_some() };

        let data = cluster.dir.path().join("registry");
        let config = cluster.dir.path().join("registry.yml");
        std::fs::write(&config, format!("version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: {}\n", data.display(), cluster.registry)).expect("writes");
        let registry = in_netns(&cluster.netns, "docker-registry").arg("serve").arg(&config).stdout(Stdio::null()).stderr(Stdio::null()).spawn().expect("docker-registry runs");
        cluster.children.push(registry);
        cluster.wait_for_port(5000);

        // The test image: busybox with `marker` in /etc/marker.
        let src = Store::open(cluster.dir.path().join("src")).expect("opens");
        registry::busybox_image(&src, "v1", "served by a real container", &Platform::host());
        let out = in_netns(&cluster.netns, "skopeo")
            .args(["copy", "--quiet", "--dest-tls-verify=false"])
            .arg(format!("oci:{}:v1", src.root().display()))
            .arg(format!("docker://{}/tools/busybox:v1", cluster.registry))
            .output()
            .expect("skopeo runs");
        assert!(out.status.success(), "skopeo: {}", String::from_utf8_lossy(&out.stderr));

        cluster.spawn_nubis();
        cluster
    }

    /// Starts `nubis up --node-agent` and waits until it serves.
    pub fn spawn_nubis(&mut self) {
        let cluster = self;
        let mut nubis = in_netns(&cluster.netns, env!("CARGO_BIN_EXE_nubis"))
            .args(["up", "--node-agent", "--node-name", "box", "--log", "warn", "--listen", "127.0.0.1:6443", "--insecure-registry", &cluster.registry])
            .args(["--eviction-hard", &cluster.eviction_hard, "--data-dir"])
            .arg(cluster.dir.path().join("data"))
            .args(&cluster.nubis_args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("nubis runs");
        let stdout = nubis.stdout.take().expect("piped");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if line.starts_with("Nubis is up") {
                    let _ = tx.send(());
                }
            }
        });
        cluster.children.push(nubis);
        rx.recv_timeout(Duration::from_secs(60)).expect("nubis up is ready");
    }

    /// Kills `nubis up` with SIGKILL (it is the last child started).
    pub fn kill9_nubis(&mut self) {
        let mut nubis = self.children.pop().expect("nubis runs");
        let _ = nubis.kill();
        let _ = nubis.wait();
    }

    pub fn wait_for_port(&self, port: u16) {
        let t0 = Instant::now();
        while !self.connect(SocketAddr::from(([127, 0, 0, 1], port))) {
            assert!(t0.elapsed() < Duration::from_secs(20), "port {port} did not open");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Whether a TCP connection to `addr` from inside the namespace works.
    pub fn connect(&self, addr: SocketAddr) -> bool {
        net::netns::run_in(&self.netns, move || TcpStream::connect_timeout(&addr, Duration::from_secs(2)).is_ok()).unwrap_or(false)
    }

    /// An HTTP GET from inside the namespace: the response.
    pub fn http_get(&self, addr: SocketAddr, path: &str) -> std::io::Result<String> {
        let request = format!("GET {path} HTTP/1.0\r\nHost: x\r\n\r\n");
        net::netns::run_in(&self.netns, move || {
            let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
            s.set_read_timeout(Some(Duration::from_secs(5)))?;
            s.write_all(request.as_bytes())?;
            let mut out = String::new();
            s.read_to_string(&mut out)?;
            Ok(out)
        })
        .map_err(std::io::Error::other)?
    }

    pub fn kubectl(&self, args: &[&str]) -> Output {
        in_netns(&self.netns, "kubectl").env("KUBECONFIG", self.dir.path().join("data/kubeconfig")).args(args).output().expect("kubectl runs")
    }

    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.kubectl(args);
        assert!(out.status.success(), "kubectl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub fn apply(&self, yaml: &str) {
        let mut child = in_netns(&self.netns, "kubectl")
            .env("KUBECONFIG", self.dir.path().join("data/kubeconfig"))
            .args(["apply", "-f", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("kubectl runs");
        child.stdin.take().expect("stdin").write_all(yaml.as_bytes()).expect("writes");
        let out = child.wait_with_output().expect("kubectl ends");
        assert!(out.status.success(), "kubectl apply: {}", String::from_utf8_lossy(&out.stderr));
    }

    pub fn json(&self, args: &[&str]) -> serde_json::Value {
        let mut all = args.to_vec();
        all.extend(["-o", "json"]);
        serde_json::from_str(&self.ok(&all)).expect("JSON")
    }

    pub fn until(&self, what: &str, timeout: Duration, mut check: impl FnMut() -> bool) {
        let t0 = Instant::now();
        while !check() {
            assert!(t0.elapsed() < timeout, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    pub fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        // Containers outlive nubis by design: `nubis reset`, inside the
        // test's namespace, stops what the test left and removes their
        // mounts, namespaces and cgroups.
        let reset = in_netns(&self.netns, env!("CARGO_BIN_EXE_nubis")).args(["reset", "--data-dir"]).arg(self.data()).output();
        if !reset.as_ref().is_ok_and(|o| o.status.success()) {
            eprintln!("nubis reset after the test: {reset:?}");
        }
        let _ = net::netns::delete(&self.netns);
        if self.data_on_tmpfs {
            let _ = Command::new("umount").arg("-l").arg(self.data()).status();
        }
    }
}

