//! Helpers for the whole-system tests: start the real `nubis` binary in a
//! temporary data dir on a free loopback port, and drive it with real
//! clients (kubectl of several versions, the kube crate, Python).

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

/// A running `nubis up`, stopped when dropped.
pub struct Nubis {
    child: Option<Child>,
    pub dir: tempfile::TempDir,
    pub port: u16,
    /// Extra arguments of `nubis up`.
    pub args: Vec<String>,
}

pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    l.local_addr().expect("local addr").port()
}

impl Nubis {
    /// Starts `nubis up` on a fresh data dir and waits until it is ready.
    pub fn start() -> Nubis {
        Nubis::start_with(&[])
    }

    /// Starts `nubis up` with extra arguments (`--no-controllers`, say).
    pub fn start_with(args: &[&str]) -> Nubis {
        let dir = tempfile::tempdir().expect("temp dir");
        let args = args.iter().map(|a| a.to_string()).collect();
        let mut n = Nubis {
            child: None,
            dir,
            port: free_port(),
            args,
        };
        n.spawn();
        n
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    pub fn kubeconfig(&self) -> PathBuf {
        self.data_dir().join("kubeconfig")
    }

    /// Starts the binary (again) on the same data dir and port, and waits
    /// for the line it prints once it serves.
    pub fn spawn(&mut self) {
        self.spawn_env(&[]);
    }

    /// As [`Nubis::spawn`], with more environment variables (libfaketime's
    /// `LD_PRELOAD` and `FAKETIME`, say: the server stays our direct child,
    /// so stopping it stops it).
    pub fn spawn_env(&mut self, env: &[(&str, &str)]) {
        let mut child = Command::new(env!("CARGO_BIN_EXE_nubis"))
            .envs(env.iter().copied())
            .args(["up", "--data-dir"])
            .arg(self.data_dir())
            .args([
                "--listen",
                &format!("127.0.0.1:{}", self.port),
                "--log",
                "warn",
            ])
            .args(&self.args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start nubis");
        let stdout = child.stdout.take().expect("stdout piped");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut ready_sent = false;
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if !ready_sent && line.starts_with("Nubis is up") {
                    let _ = tx.send(());
                    ready_sent = true;
                }
            }
        });
        if let Err(e) = rx.recv_timeout(Duration::from_secs(30)) {
            // Say how it ended: its own error went to our stderr above.
            let status = child.try_wait().ok().flatten();
            let _ = child.kill();
            let _ = child.wait();
            panic!("nubis did not become ready within 30s ({e}); exit status: {status:?}");
        }
        self.child = Some(child);
    }

    /// Stops the server with SIGTERM and waits for it.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            // Up to 10 s for a clean stop.
            for _ in 0..500 {
                if let Ok(Some(_)) = child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }

    /// Kills the server with SIGKILL, as a crash would.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// A kubectl of the given minor version ("1.27", "1.33") against this server.
    pub fn kubectl(&self, version: &str) -> Kubectl {
        Kubectl {
            bin: kubectl_binary(version),
            kubeconfig: self.kubeconfig(),
        }
    }

    /// A kubeconfig for `user` in `groups`, made by `nubis kubeconfig`,
    /// written next to the data dir.
    pub fn user_kubeconfig(&self, user: &str, groups: &[&str]) -> PathBuf {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_nubis"));
        cmd.args(["kubeconfig", "--data-dir"])
            .arg(self.data_dir())
            .args(["--user", user]);
        for g in groups {
            cmd.args(["--group", g]);
        }
        let out = cmd.output().expect("run nubis kubeconfig");
        assert!(
            out.status.success(),
            "nubis kubeconfig: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let path = self.dir.path().join(format!("{user}.kubeconfig"));
        std::fs::write(&path, &out.stdout).expect("write kubeconfig");
        path
    }

    /// A kubeconfig that authenticates with a bearer token.
    pub fn token_kubeconfig(&self, name: &str, token: &str) -> PathBuf {
        let admin = std::fs::read_to_string(self.kubeconfig()).expect("admin kubeconfig");
        let mut kc: serde_yaml_ng::Value =
            serde_yaml_ng::from_str(&admin).expect("kubeconfig yaml");
        kc["users"] =
            serde_yaml_ng::from_str(&format!("- name: {name}\n  user:\n    token: {token}\n"))
                .expect("users yaml");
        if let Some(contexts) = kc["contexts"].as_sequence_mut() {
            for c in contexts {
                c["context"]["user"] = serde_yaml_ng::Value::from(name);
            }
        }
        let path = self.dir.path().join(format!("{name}.kubeconfig"));
        std::fs::write(
            &path,
            serde_yaml_ng::to_string(&kc).expect("kubeconfig yaml"),
        )
        .expect("write kubeconfig");
        path
    }

    /// kubectl of the given version with another kubeconfig.
    pub fn kubectl_as(&self, version: &str, kubeconfig: &Path) -> Kubectl {
        Kubectl {
            bin: kubectl_binary(version),
            kubeconfig: kubeconfig.to_path_buf(),
        }
    }
}

impl Drop for Nubis {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Finds `kubectl.<version>` next to the kubectl on PATH (the dispatcher's
/// layout), or uses `kubectl` itself, which picks a version by the
/// server's `/version`.
pub fn kubectl_binary(version: &str) -> PathBuf {
    if let Ok(dir) = std::env::var("NUBIS_KUBECTL_DIR") {
        let p = Path::new(&dir).join(format!("kubectl.{version}"));
        if p.exists() {
            return p;
        }
    }
    if let Ok(out) = Command::new("sh")
        .args(["-c", "command -v kubectl"])
        .output()
    {
        let path = String::from_utf8_lossy(&out.stdout).trim().to_string();
        if let Ok(real) = std::fs::canonicalize(&path)
            && let Some(dir) = real.parent()
        {
            let p = dir.join(format!("kubectl.{version}"));
            if p.exists() {
                return p;
            }
        }
    }
    PathBuf::from("kubectl")
}

pub struct Kubectl {
    pub bin: PathBuf,
    pub kubeconfig: PathBuf,
}

impl Kubectl {
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(&self.bin);
        c.env("KUBECONFIG", &self.kubeconfig)
            .env_remove("KUBECTL_EXTERNAL_DIFF")
            .args(args);
        c
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().expect("run kubectl")
    }

    /// Runs kubectl and returns stdout, failing the test on a non-zero exit.
    #[track_caller]
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "kubectl {} failed ({}):\nstdout: {}\nstderr: {}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs kubectl with `input` on stdin.
    #[track_caller]
    pub fn ok_stdin(&self, args: &[&str], input: &str) -> String {
        use std::io::Write;
        let mut child = self
            .cmd(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn kubectl");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input.as_bytes())
            .expect("write stdin");
        let out = child.wait_with_output().expect("kubectl output");
        assert!(
            out.status.success(),
            "kubectl {} failed:\nstdout: {}\nstderr: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs kubectl with `input` on stdin, expecting failure; returns stderr.
    #[track_caller]
    pub fn fails_stdin(&self, args: &[&str], input: &str) -> String {
        use std::io::Write;
        let mut child = self
            .cmd(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn kubectl");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input.as_bytes())
            .expect("write stdin");
        let out = child.wait_with_output().expect("kubectl output");
        assert!(
            !out.status.success(),
            "kubectl {} unexpectedly succeeded: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8_lossy(&out.stderr).into_owned()
    }

    /// Runs kubectl expecting failure; returns stderr.
    #[track_caller]
    pub fn fails(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            !out.status.success(),
            "kubectl {} unexpectedly succeeded: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8_lossy(&out.stderr).into_owned()
    }

    pub fn json(&self, args: &[&str]) -> serde_json::Value {
        let mut a = args.to_vec();
        a.extend(["-o", "json"]);
        serde_json::from_str(&self.ok(&a)).expect("kubectl printed JSON")
    }
}

/// Runs `tests/python/<script>` with the Python `kubernetes` client (the
/// venv `scripts/test` makes, or `NUBIS_TEST_PYTHON`), `KUBECONFIG` set to
/// `kubeconfig` and `args` after the script; fails the test unless it
/// exits 0 and prints `<marker>`.
#[track_caller]
pub fn run_python(script: &str, kubeconfig: &Path, args: &[&std::ffi::OsStr], marker: &str) {
    let python = std::env::var("NUBIS_TEST_PYTHON").unwrap_or_else(|_| {
        concat!(env!("CARGO_MANIFEST_DIR"), "/../../.venv/bin/python").to_string()
    });
    assert!(
        Path::new(&python).exists(),
        "the Python kubernetes client is needed: run `bash scripts/test` (it makes the venv) or set NUBIS_TEST_PYTHON"
    );
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/python")
        .join(script);
    let out = Command::new(&python)
        .arg(path)
        .args(args)
        .env("KUBECONFIG", kubeconfig)
        .output()
        .expect("run python");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains(marker),
        "python {script} failed ({}):\nstdout: {stdout}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A namespaced custom resource without a schema (`Widget`,
/// example.com/v1), for tests that need one.
pub const WIDGET_CRD: &str = r#"
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  group: example.com
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget}
  versions:
  - name: v1
    served: true
    storage: true
    schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
"#;

/// A kube client for this server's admin kubeconfig.
pub async fn kube_client(kubeconfig: &Path) -> kube::Client {
    let kc = kube::config::Kubeconfig::read_from(kubeconfig).expect("read kubeconfig");
    let config =
        kube::Config::from_custom_kubeconfig(kc, &kube::config::KubeConfigOptions::default())
            .await
            .expect("kubeconfig to config");
    kube::Client::try_from(config).expect("kube client")
}
