//! The node agent at rest with many pods: N busybox pods sleeping, then
//! the CPU use and memory of `nubis up` over a quiet stretch, and those of
//! the containers' shims apart. The agent runs inside `nubis up` with the
//! API server and the controllers, so the same stretch is measured once
//! before any pod exists as a baseline. The `runc` commands the agent
//! runs are its children: their CPU time is reported beside the
//! process's own, as is the whole machine's.
//!
//! The pods name the node in `spec.nodeName`, which is started with
//! `--max-pods 1000` (the kubelet's default is 110).

use crate::node_host::{self, Namespace, NodeServer, Registry};
use crate::procfs;
use anyhow::{Context, Result};
use futures::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, PostParams};
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, watcher};
use std::collections::HashSet;
use std::path::Path;
use std::time::Duration;
use tokio::time::Instant;

const LABEL: &str = "pods-idle";

/// What one quiet stretch measured.
struct Stretch {
    seconds: f64,
    /// CPU of `nubis up` itself, of the children it waited for, and of
    /// the whole machine, in % of one core.
    own: f64,
    children: f64,
    machine: f64,
    /// Processes started per second on the machine.
    forks: f64,
    rss_mean: u64,
    rss_max: u64,
    /// At the end: anonymous memory (heap, stacks) and file pages (the
    /// binary) of the RSS, and the process's threads.
    anon: u64,
    file: u64,
    threads: u64,
}

async fn stretch(pid: u32, seconds: u64) -> Result<Stretch> {
    let (cpu0, machine0, t0) = (procfs::cpu_times(pid)?, procfs::machine()?, Instant::now());
    let mut rss = Vec::new();
    for _ in 0..seconds {
        tokio::time::sleep(Duration::from_secs(1)).await;
        rss.push(procfs::rss_bytes(pid)?);
    }
    let (cpu1, machine1, took) = (procfs::cpu_times(pid)?, procfs::machine()?, t0.elapsed().as_secs_f64());
    let pct = |d: Duration| 100.0 * d.as_secs_f64() / took;
    Ok(Stretch {
        seconds: took,
        own: pct(cpu1.own.saturating_sub(cpu0.own)),
        children: pct(cpu1.children.saturating_sub(cpu0.children)),
        machine: pct(machine1.busy.saturating_sub(machine0.busy)),
        forks: (machine1.forks.saturating_sub(machine0.forks)) as f64 / took,
        rss_mean: rss.iter().sum::<u64>() / rss.len().max(1) as u64,
        rss_max: rss.iter().copied().max().unwrap_or_default(),
        anon: procfs::status_bytes(pid, "RssAnon:")?,
        file: procfs::status_bytes(pid, "RssFile:")?,
        threads: procfs::threads(pid)?,
    })
}

fn mb(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

fn show(what: &str, s: &Stretch) -> String {
    format!(
        "{what}: nubis up {:.2}% of one core (its runc children {:.2}%), RSS {} (max {}; at the end {} anonymous, {} file, {} threads); machine {:.1}% of one core, {:.0} processes started/s; over {:.0} s",
        s.own,
        s.children,
        mb(s.rss_mean),
        mb(s.rss_max),
        mb(s.anon),
        mb(s.file),
        s.threads,
        s.machine,
        s.forks,
        s.seconds
    )
}

pub async fn pods_idle(nubis: &Path, ns: Namespace, pods: usize, seconds: u64, runtime: &str) -> Result<()> {
    let registry = Registry::start(&ns).await?;
    registry.push_busybox(&ns)?;
    let server = NodeServer::start(nubis, &ns, runtime)?;
    let client = server.client().await?;
    server.wait_ready(&client).await?;
    let pid = server.pid();

    // Let start-up work (bootstrap objects, the first Lease, the
    // controllers' first lists) pass before the baseline.
    tokio::time::sleep(Duration::from_secs(10)).await;
    let baseline = stretch(pid, seconds).await?;
    println!("{}", show("pods-idle baseline, node agent and no pod", &baseline));

    let api: Api<Pod> = Api::namespaced(client.clone(), "default");
    let (all_running, running) = tokio::sync::oneshot::channel();
    // Declared after the server, so dropped (stopped) before it.
    let watch = node_host::Background(tokio::spawn({
        let api = api.clone();
        async move {
            let mut started = HashSet::new();
            let config = watcher::Config::default().labels(&format!("bench={LABEL}"));
            let mut events = watcher(api, config).default_backoff().boxed();
            while let Some(event) = events.next().await {
                if let Ok(watcher::Event::Apply(p) | watcher::Event::InitApply(p)) = event
                    && node_host::all_started(&p)
                {
                    started.insert(p.metadata.name.clone().unwrap_or_default());
                }
                if started.len() == pods {
                    let _ = all_running.send(());
                    return;
                }
            }
        }
    }));
    let t0 = Instant::now();
    let creates: Vec<Result<()>> = futures::stream::iter(0..pods)
        .map(|i| {
            let api = api.clone();
            async move {
                let pod = node_host::sleeping_pod(&format!("idle-{i}"), LABEL, Some(node_host::NODE))?;
                api.create(&PostParams::default(), &pod).await?;
                Ok(())
            }
        })
        .buffer_unordered(10)
        .collect()
        .await;
    creates.into_iter().collect::<Result<()>>()?;
    tokio::time::timeout(Duration::from_secs(900), running).await.context("the pods were not all running within 15 minutes")?.context("the pod watch ended early")?;
    println!("pods-idle: {pods} pods running {:.1} s after the first create", t0.elapsed().as_secs_f64());

    // Let the last status writes and events land.
    tokio::time::sleep(Duration::from_secs(10)).await;
    let busy = stretch(pid, seconds).await?;
    let data_dir = server.data_dir.display().to_string();
    let shims = procfs::processes_matching(&[" shim ", &data_dir]);
    let (mut shim_rss, mut shim_pss) = (0, 0);
    for pid in &shims {
        // A shim that ended meanwhile is simply not counted.
        shim_rss += procfs::rss_bytes(*pid).unwrap_or_default();
        shim_pss += procfs::pss_bytes(*pid).unwrap_or_default();
    }
    println!("{}", show(&format!("pods-idle with {pods} pods"), &busy));
    println!(
        "  shims: {} processes, RSS {} in all ({} each), PSS {} in all (shared pages counted once)",
        shims.len(),
        mb(shim_rss),
        mb(shim_rss / shims.len().max(1) as u64),
        mb(shim_pss)
    );
    drop(watch);
    drop(server);
    drop(registry);
    Ok(())
}
