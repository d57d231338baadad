//! Real containers through runc, each supervised by a `nubis shim`: a
//! busybox image packed from Debian's `busybox-static`, unpacked into
//! layers and mounted with overlayfs. Needs root, `runc` and
//! `busybox-static` (`.ci/run` installs them; CI runs as root).

#[path = "../../image/tests/support/mod.rs"]
mod registry;

use image::Store;
use image::layers::Layers;
use image::platform::Platform;
use node::containers::{Containers, Create, Status};
use node::cri_log::{self, Stream};
use node::runtime::Runtime;
use node::spec::ContainerConfig;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::time::Instant;

struct Node {
    dir: tempfile::TempDir,
    layers: Vec<PathBuf>,
}

impl Node {
    fn new() -> Node {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path().join("images")).expect("opens");
        let image = registry::busybox_image(&store, "v1", "node", &Platform::host());
        let layers = Layers::new(&store).for_image(&image).expect("unpacks");
        Node { dir, layers }
    }

    /// The agent's view of the node's containers; several may be made
    /// over the same directories, as an agent restarting does.
    fn containers(&self) -> Containers {
        let runtime = Runtime::new("runc", self.dir.path().join("runc"));
        Containers::new(self.dir.path().join("containers"), runtime, vec![env!("CARGO_BIN_EXE_nubis").into(), "shim".into()])
    }

    fn create(&self, id: &str, script: &str) -> Create {
        Create {
            id: id.into(),
            config: ContainerConfig {
                args: vec!["/bin/sh".into(), "-c".into(), script.into()],
                env: vec!["PATH=/bin".into(), "GREETING=hello".into()],
                cwd: "/".into(),
                hostname: Some(id.into()),
                allow_privilege_escalation: true,
                ..ContainerConfig::default()
            },
            layers: self.layers.clone(),
            log: self.log(id),
        }
    }

    fn log(&self, id: &str) -> PathBuf {
        self.dir.path().join("logs").join(format!("{id}.log"))
    }
}

impl Drop for Node {
    /// A failed test leaves no container running and nothing mounted.
    fn drop(&mut self) {
        let containers = self.containers();
        for id in containers.list() {
            let _ = containers.runtime().delete(&id, true);
            let _ = node::rootfs::unmount(&containers.dir(&id).join("bundle/rootfs"));
        }
    }
}

async fn until(containers: &Containers, id: &str, what: &str, done: impl Fn(&Status) -> bool) -> Status {
    let t0 = Instant::now();
    loop {
        let status = containers.status(id).await.expect("a status");
        if done(&status) {
            return status;
        }
        assert!(t0.elapsed() < Duration::from_secs(30), "waiting for {what}: {status:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn log_lines(path: &Path) -> Vec<(Stream, String)> {
    std::fs::read(path)
        .unwrap_or_default()
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| {
            let r = cri_log::parse(l).unwrap_or_else(|| panic!("a CRI record: {}", String::from_utf8_lossy(l)));
            assert!(r.full && r.time.ends_with('Z'), "{r:?}");
            (r.stream, String::from_utf8_lossy(r.text).into_owned())
        })
        .collect()
}

fn exists(pid: i32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

#[tokio::test(flavor = "multi_thread")]
async fn node_container_runs_logs_and_records_its_exit_needs_root() {
    let node = Node::new();
    let containers = node.containers();
    let script = "echo $GREETING from $(hostname); echo oops >&2; cat /etc/marker; echo; exit 3";
    let pid = containers.start(node.create("c1", script)).await.expect("starts");
    assert!(pid > 1);
    let Status::Exited(exit) = until(&containers, "c1", "the exit", |s| matches!(s, Status::Exited(_))).await else { unreachable!() };
    assert_eq!((exit.pid, exit.exit_code, exit.signal), (pid, 3, None));
    assert!(exit.started_at <= exit.finished_at);
    let lines = log_lines(&node.log("c1"));
    assert!(lines.contains(&(Stream::Stdout, "hello from c1".into())), "{lines:?}");
    assert!(lines.contains(&(Stream::Stderr, "oops".into())), "{lines:?}");
    assert!(lines.contains(&(Stream::Stdout, "node".into())), "the image's file: {lines:?}");

    // Removing leaves nothing of it but its log.
    let dir = containers.dir("c1");
    assert!(node::rootfs::is_mounted(&dir.join("bundle/rootfs")));
    containers.remove("c1").await.expect("removes");
    assert!(!dir.exists());
    assert_eq!(containers.runtime().state("c1").expect("asks runc"), None);
    assert!(node.log("c1").exists());
    assert!(containers.list().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn node_container_outlives_the_agent_that_started_it_needs_root() {
    let node = Node::new();
    let pid = {
        let first = node.containers();
        first.start(node.create("long", "echo up; while true; do sleep 1; done")).await.expect("starts")
        // The agent's view is dropped: nothing of the container goes with it.
    };
    let again = node.containers();
    assert_eq!(again.list(), ["long"]);
    let status = until(&again, "long", "running", |s| matches!(s, Status::Running { .. })).await;
    assert_eq!(status, Status::Running { pid });
    assert!(exists(pid));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(log_lines(&node.log("long")), [(Stream::Stdout, "up".to_string())]);

    again.signal("long", "KILL").await.expect("kills");
    let Status::Exited(exit) = until(&again, "long", "the exit", |s| matches!(s, Status::Exited(_))).await else { unreachable!() };
    assert_eq!((exit.exit_code, exit.signal), (137, Some(9)));
    assert!(!exists(pid));
    again.remove("long").await.expect("removes");
}

#[tokio::test(flavor = "multi_thread")]
async fn node_container_that_cannot_start_says_why_and_leaves_nothing_needs_root() {
    let node = Node::new();
    let containers = node.containers();
    let mut create = node.create("bad", "true");
    create.config.args = vec!["/no/such/program".into()];
    let err = containers.start(create).await.expect_err("cannot start");
    let message = err.to_string();
    assert!(message.starts_with("container \"bad\" failed to start: ") && message.contains("/no/such/program"), "{message}");
    assert!(!containers.dir("bad").exists());
    assert_eq!(containers.runtime().state("bad").expect("asks runc"), None);

    let err = containers.start(node.create("../escape", "true")).await.expect_err("a bad id");
    assert!(err.to_string().starts_with("invalid container id \"../escape\""), "{err}");
    containers.start(node.create("dup", "sleep 30")).await.expect("starts");
    let err = containers.start(node.create("dup", "true")).await.expect_err("exists");
    assert_eq!(err.to_string(), "container \"dup\" already exists");
    assert!(matches!(containers.status("dup").await.expect("a status"), Status::Running { .. }), "the first one is untouched");
    containers.remove("dup").await.expect("removes");
}
