//! Helpers for the whole-system tests: start the real `nubis` binary in a
//! temporary data dir on a free loopback port, and drive it with real
//! clients (kubectl of several versions, the kube crate, Python).

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::Duration;

/// A running `nubis up`, stopped when dropped.
pub struct Nubis {
    child: Option<Child>,
    pub dir: tempfile::TempDir,
    /// The loopback address it listens on (127.0.0.1 unless started with
    /// [`Nubis::start_on`]).
    pub host: String,
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
        Nubis::start_on("127.0.0.1", args)
    }

    /// Starts `nubis up --listen <host>:<free port>` with extra arguments;
    /// `host` must be a loopback address (127.0.0.2, say).
    pub fn start_on(host: &str, args: &[&str]) -> Nubis {
        let dir = tempfile::tempdir().expect("temp dir");
        let args = args.iter().map(|a| a.to_string()).collect();
        let mut n = Nubis {
            child: None,
            dir,
            host: host.to_string(),
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
            .args(["up", "--no-node-agent", "--data-dir"])
            .arg(self.data_dir())
            .args([
                "--listen",
                &format!("{}:{}", self.host, self.port),
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

    /// Stops the server with SIGTERM and waits for it (SIGKILL after 10 s).
    pub fn stop(&mut self) {
        if self.signal("TERM", Duration::from_secs(10)).is_none() {
            self.kill9();
        }
    }

    /// Sends `signal` ("TERM", "INT") to the server and waits up to
    /// `timeout` for it to exit: its exit status, or None if it still runs
    /// (then it is still ours to stop). None too if it was not running.
    pub fn signal(&mut self, signal: &str, timeout: Duration) -> Option<ExitStatus> {
        let child = self.child.as_mut()?;
        // Not asserted: this also runs from Drop, where a panic would abort.
        let _ = Command::new("kill")
            .args([&format!("-{signal}"), &child.id().to_string()])
            .status();
        let deadline = tokio::time::Instant::now() + timeout;
        while tokio::time::Instant::now() < deadline {
            if let Ok(Some(status)) = child.try_wait() {
                self.child = None;
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
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
        self.kubeconfig_with_user(name, &format!("token: {token}"))
    }

    /// A kubeconfig that presents the client certificate `cert_pem` (with
    /// its key), whoever signed it.
    pub fn cert_kubeconfig(&self, name: &str, cert_pem: &str, key_pem: &str) -> PathBuf {
        use base64::Engine;
        let b64 = base64::engine::general_purpose::STANDARD;
        self.kubeconfig_with_user(
            name,
            &format!(
                "client-certificate-data: {}\n    client-key-data: {}",
                b64.encode(cert_pem),
                b64.encode(key_pem)
            ),
        )
    }

    /// The admin kubeconfig (same server and CA) with its user replaced by
    /// `name` whose `user:` entries are `user_yaml`, written next to the
    /// data dir.
    fn kubeconfig_with_user(&self, name: &str, user_yaml: &str) -> PathBuf {
        let admin = std::fs::read_to_string(self.kubeconfig()).expect("admin kubeconfig");
        let mut kc: serde_yaml_ng::Value =
            serde_yaml_ng::from_str(&admin).expect("kubeconfig yaml");
        kc["users"] =
            serde_yaml_ng::from_str(&format!("- name: {name}\n  user:\n    {user_yaml}\n"))
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

    /// The client's minor version, from `kubectl version --client -o json`
    /// (`clientVersion.minor`, a `+` suffix dropped).
    pub fn client_minor(&self) -> String {
        let out = self.ok(&["version", "--client", "-o", "json"]);
        let v: serde_json::Value = serde_json::from_str(&out)
            .unwrap_or_else(|e| panic!("{} version --client -o json: {e}: {out}", self.bin.display()));
        v["clientVersion"]["minor"]
            .as_str()
            .unwrap_or_else(|| panic!("no clientVersion.minor from {}: {out}", self.bin.display()))
            .trim_end_matches('+')
            .to_string()
    }

    /// Fails the test unless this is kubectl `version` ("1.27"): the
    /// fallback to plain `kubectl` in [`kubectl_binary`] must not let a
    /// scenario meant for one version run with another.
    #[track_caller]
    pub fn assert_client_version(&self, version: &str) {
        let wanted = version.rsplit('.').next().unwrap_or(version);
        let got = self.client_minor();
        assert_eq!(
            got,
            wanted,
            "wanted kubectl {version}, but {} is 1.{got}: install kubectl.{version} next to the kubectl on PATH or set NUBIS_KUBECTL_DIR to its directory",
            self.bin.display()
        );
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

/// One sample of a Prometheus/OpenMetrics text exposition:
/// `name{label="value",...} value`.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: std::collections::BTreeMap<String, String>,
    pub value: f64,
}

/// Parses the samples of a `/metrics` text (comment lines skipped); fails
/// the test on a line it cannot read.
pub fn parse_metrics(text: &str) -> Vec<Sample> {
    fn bad(line: &str) -> ! {
        panic!("unreadable metrics line {line:?}")
    }
    let mut samples = Vec::new();
    for line in text.lines().filter(|l| !l.is_empty() && !l.starts_with('#')) {
        let name_end = line.find(['{', ' ']).unwrap_or_else(|| bad(line));
        let name = line[..name_end].to_string();
        let mut labels = std::collections::BTreeMap::new();
        let mut rest = &line[name_end..];
        if let Some(after) = rest.strip_prefix('{') {
            rest = after;
            loop {
                if let Some(after) = rest.strip_prefix('}') {
                    rest = after;
                    break;
                }
                let eq = rest.find("=\"").unwrap_or_else(|| bad(line));
                let key = rest[..eq].trim_start_matches(',').to_string();
                let mut value = String::new();
                let mut chars = rest[eq + 2..].char_indices();
                let end = loop {
                    match chars.next() {
                        Some((i, '"')) => break eq + 2 + i + 1,
                        Some((_, '\\')) => match chars.next() {
                            Some((_, 'n')) => value.push('\n'),
                            Some((_, c)) => value.push(c),
                            None => bad(line),
                        },
                        Some((_, c)) => value.push(c),
                        None => bad(line),
                    }
                };
                labels.insert(key, value);
                rest = rest[end..].trim_start_matches(',');
            }
        }
        // The value, then an optional timestamp.
        let value = rest.split_whitespace().next().unwrap_or_else(|| bad(line));
        let value = match value {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            v => v.parse().unwrap_or_else(|_| bad(line)),
        };
        samples.push(Sample { name, labels, value });
    }
    samples
}

/// The samples named `name` whose labels include all of `labels`.
pub fn samples<'a>(all: &'a [Sample], name: &str, labels: &[(&str, &str)]) -> Vec<&'a Sample> {
    all.iter()
        .filter(|s| s.name == name && labels.iter().all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v)))
        .collect()
}

/// The sum of the samples named `name` whose labels include all of
/// `labels` (a counter over every `code`, say); fails the test if none is
/// there.
#[track_caller]
pub fn metric_sum(all: &[Sample], name: &str, labels: &[(&str, &str)]) -> f64 {
    let found = samples(all, name, labels);
    assert!(!found.is_empty(), "no {name} sample with labels {labels:?}");
    found.iter().map(|s| s.value).sum()
}

/// Checks the histogram `name` (its `_bucket`, `_count` and `_sum` series
/// with `labels`): cumulative buckets that never decrease, a `+Inf` bucket
/// equal to the count, and at least one observation. Returns the count.
#[track_caller]
pub fn assert_histogram(all: &[Sample], name: &str, labels: &[(&str, &str)]) -> f64 {
    let mut buckets: Vec<(f64, f64)> = samples(all, &format!("{name}_bucket"), labels)
        .iter()
        .map(|s| {
            let le = s.labels.get("le").unwrap_or_else(|| panic!("{name}_bucket without le: {s:?}"));
            let le = if le == "+Inf" { f64::INFINITY } else { le.parse().expect("numeric le") };
            (le, s.value)
        })
        .collect();
    assert!(buckets.len() >= 2, "{name}{labels:?}: too few buckets: {buckets:?}");
    buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
    assert!(
        buckets.windows(2).all(|w| w[0].1 <= w[1].1),
        "{name}{labels:?}: cumulative buckets decrease: {buckets:?}"
    );
    let count = metric_sum(all, &format!("{name}_count"), labels);
    let sum = metric_sum(all, &format!("{name}_sum"), labels);
    let last = buckets.last().expect("buckets");
    assert!(last.0.is_infinite(), "{name}{labels:?}: no +Inf bucket: {buckets:?}");
    assert_eq!(last.1, count, "{name}{labels:?}: the +Inf bucket is the count");
    assert!(count > 0.0, "{name}{labels:?}: no observations");
    assert!(sum >= 0.0 && sum.is_finite(), "{name}{labels:?}: sum {sum}");
    count
}

/// Raw HTTP requests with a kube client's connection and credentials, for
/// what the typed API does not send (bad bodies, odd paths, watches read
/// line by line).
pub struct Raw {
    pub client: kube::Client,
}

impl Raw {
    /// Sends a request; returns the status code and the body as JSON (Null
    /// if it is not JSON). Fails the test if no HTTP answer comes.
    pub async fn send(
        &self,
        method: http::Method,
        path: &str,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> (u16, serde_json::Value) {
        self.try_send(method, path, content_type, body)
            .await
            .unwrap_or_else(|e| panic!("{path}: no HTTP answer: {e}"))
    }

    /// As [`Raw::send`], with a failure to get any HTTP answer (a refused
    /// TLS handshake, say) as the error.
    pub async fn try_send(
        &self,
        method: http::Method,
        path: &str,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> Result<(u16, serde_json::Value), kube::Error> {
        let mut req = http::Request::builder().method(method).uri(path);
        if let Some(ct) = content_type {
            req = req.header("Content-Type", ct);
        }
        let req = req.body(body).expect("request");
        let resp = self.client.send(req.map(kube::client::Body::from)).await?;
        let code = resp.status().as_u16();
        let bytes = http_body_util::BodyExt::collect(resp.into_body())
            .await
            .expect("body")
            .to_bytes();
        let v = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
        Ok((code, v))
    }

    pub async fn get(&self, path: &str) -> (u16, serde_json::Value) {
        self.send(http::Method::GET, path, None, Vec::new()).await
    }

    /// GETs `path` and returns its body as text, failing the test unless
    /// the answer is 200.
    pub async fn get_text(&self, path: &str) -> String {
        use http_body_util::BodyExt;
        let req = http::Request::get(path).body(Vec::new()).expect("request");
        let resp = self
            .client
            .send(req.map(kube::client::Body::from))
            .await
            .unwrap_or_else(|e| panic!("{path}: no HTTP answer: {e}"));
        let code = resp.status();
        let bytes = resp.into_body().collect().await.expect("body").to_bytes();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        assert_eq!(code, 200, "{path}: {text}");
        text
    }

    /// GETs a watch (`path` with `watch=1`) and reads up to `count` events
    /// (one JSON document per line) within `timeout`, or until the server
    /// ends the stream: the status code and the events read.
    pub async fn watch(&self, path: &str, count: usize, timeout: Duration) -> (u16, Vec<serde_json::Value>) {
        use http_body_util::BodyExt;
        let req = http::Request::get(path).body(Vec::new()).expect("request");
        let resp = self
            .client
            .send(req.map(kube::client::Body::from))
            .await
            .unwrap_or_else(|e| panic!("{path}: no HTTP answer: {e}"));
        let code = resp.status().as_u16();
        let mut body = resp.into_body();
        let mut buf = Vec::new();
        let mut events = Vec::new();
        let deadline = tokio::time::Instant::now() + timeout;
        while events.len() < count {
            let frame = match tokio::time::timeout_at(deadline, body.frame()).await {
                Ok(Some(Ok(frame))) => frame,
                Ok(Some(Err(e))) => panic!("{path}: reading the watch: {e}"),
                // The stream ended, or the time is up.
                Ok(None) | Err(_) => break,
            };
            let Ok(data) = frame.into_data() else { continue };
            buf.extend_from_slice(&data);
            while let Some(end) = buf.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = buf.drain(..=end).collect();
                if line.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                events.push(serde_json::from_slice(&line).unwrap_or_else(|e| {
                    panic!("{path}: a watch line that is not JSON ({e}): {}", String::from_utf8_lossy(&line))
                }));
            }
        }
        if events.len() < count && !buf.iter().all(u8::is_ascii_whitespace) {
            // A last document without a newline, as a non-watch answer is.
            events.extend(serde_json::from_slice(&buf).ok());
        }
        (code, events)
    }
}
