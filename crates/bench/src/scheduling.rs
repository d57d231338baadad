//! Scheduling throughput: `nubis up --simulated-nodes N`, many pods created
//! at once by concurrent clients, and a watch that sees when each is bound
//! and when each runs. The bound rate is measured from the first create,
//! so it is a lower bound when creating is the slower part (the create
//! wall time is printed beside it).

use crate::server::Server;
use crate::stats::ms;
use anyhow::{Context, Result};
use futures::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, PostParams};
use kube::runtime::watcher;
use std::collections::HashSet;
use std::path::Path;
use std::time::Duration;
use tokio::time::Instant;

fn pod(name: String) -> Result<Pod> {
    Ok(serde_json::from_value(serde_json::json!({
        "metadata": {"name": name, "labels": {"app": "bench"}},
        "spec": {"containers": [{"name": "c", "image": "nginx", "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}}}]},
    }))?)
}

/// Creates `pods` pods named `p-0`... in `default` from `clients`
/// concurrent clients; returns how long that took.
async fn create_pods(server: &Server, pods: usize, clients: usize) -> Result<Duration> {
    let start = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..clients {
        let api = Api::<Pod>::namespaced(server.client().await?, "default");
        let share: Vec<usize> = (0..pods).filter(|i| i % clients == c).collect();
        tasks.push(tokio::spawn(async move {
            for i in share {
                api.create(&PostParams::default(), &pod(format!("p-{i}"))?).await?;
            }
            Ok::<_, anyhow::Error>(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    Ok(start.elapsed())
}

pub async fn schedule(nubis: &Path, nodes: usize, pods: usize, clients: usize) -> Result<()> {
    let count = nodes.to_string();
    let server = Server::start_with(nubis, &["--simulated-nodes", &count])?;
    let client = server.client().await?;
    crate::server::wait_for_nodes(&client, nodes).await?;
    let pod_api: Api<Pod> = Api::namespaced(client.clone(), "default");
    let watch = tokio::spawn({
        let pod_api = pod_api.clone();
        async move {
            let mut bound = HashSet::new();
            let mut running = HashSet::new();
            let (mut all_bound, mut all_running) = (None, None);
            let mut events = crate::server::applied_pods(pod_api).boxed();
            while let Some(p) = events.next().await {
                let name = p.metadata.name.clone().unwrap_or_default();
                if p.spec.as_ref().and_then(|s| s.node_name.as_ref()).is_some() {
                    bound.insert(name.clone());
                }
                if p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running") {
                    running.insert(name);
                }
                if all_bound.is_none() && bound.len() == pods {
                    all_bound = Some(Instant::now());
                }
                if running.len() == pods {
                    all_running = Some(Instant::now());
                    break;
                }
            }
            Ok::<_, anyhow::Error>((all_bound, all_running))
        }
    });
    let start = Instant::now();
    let created = create_pods(&server, pods, clients).await?;
    let (all_bound, all_running) = tokio::time::timeout(Duration::from_secs(600), watch)
        .await
        .context("pods not all Running within 10 minutes")???;
    let bound = all_bound.context("the watch ended early")? - start;
    let running = all_running.context("the watch ended early")? - start;
    println!(
        "schedule {pods} pods on {nodes} simulated nodes ({clients} clients): created in {}, all bound in {} ({:.0} pods/s), all Running in {}",
        ms(created),
        ms(bound),
        pods as f64 / bound.as_secs_f64(),
        ms(running)
    );
    Ok(())
}

/// The scheduler alone, as Kubernetes' scheduler_perf measures it: `pods`
/// pods wait unscheduled on `nodes` simulated nodes (the server runs every
/// controller but the scheduler), then `nubis controllers --controllers
/// scheduler` starts as its own process and binds them all while the
/// simulated nodes start what it binds. Rates count from the scheduler's
/// start (including its first list) and from its first binding.
pub async fn scheduler_only(nubis: &Path, nodes: usize, pods: usize, clients: usize) -> Result<()> {
    let count = nodes.to_string();
    let server = Server::start_with(nubis, &["--simulated-nodes", &count, "--controllers", "*,-scheduler"])?;
    let client = server.client().await?;
    crate::server::wait_for_nodes(&client, nodes).await?;
    let created = create_pods(&server, pods, clients).await?;
    let pod_api: Api<Pod> = Api::namespaced(client.clone(), "default");
    let (listed_tx, listed) = tokio::sync::oneshot::channel();
    let watch = tokio::spawn(async move {
        let (mut bound, mut first, mut listed_tx) = (HashSet::new(), None, Some(listed_tx));
        let mut events = watcher(pod_api, watcher::Config::default()).boxed();
        while let Some(e) = events.next().await {
            match e {
                Err(error) => eprintln!("pod watch restarts after: {error}"),
                Ok(watcher::Event::InitDone) => {
                    if let Some(tx) = listed_tx.take() {
                        let _ = tx.send(());
                    }
                }
                Ok(watcher::Event::Apply(p) | watcher::Event::InitApply(p)) => {
                    let on_node = p.spec.as_ref().and_then(|s| s.node_name.as_ref()).is_some();
                    if on_node && bound.insert(p.metadata.name.clone().unwrap_or_default()) {
                        first.get_or_insert_with(Instant::now);
                    }
                    if bound.len() == pods {
                        return Ok((first, Instant::now()));
                    }
                }
                Ok(_) => {}
            }
        }
        anyhow::bail!("the pod watch ended")
    });
    listed.await.context("the pod watch ended before listing")?;
    let start = Instant::now();
    let _scheduler = crate::server::Process::spawn(
        std::process::Command::new(nubis)
            .args(["controllers", "--log", "warn", "--controllers", "scheduler", "--kubeconfig"])
            .arg(server.kubeconfig()),
    )?;
    let (first, last) = tokio::time::timeout(Duration::from_secs(600), watch)
        .await
        .context("pods not all bound within 10 minutes")???;
    let first = first.context("no binding seen")?;
    println!(
        "scheduler alone: {pods} pending pods ({clients} clients created them in {}) on {nodes} simulated nodes: first binding {} after start, all bound in {} ({:.0} pods/s from start, {:.0} pods/s from the first binding)",
        ms(created),
        ms(first - start),
        ms(last - start),
        pods as f64 / (last - start).as_secs_f64(),
        (pods - 1) as f64 / (last - first).as_secs_f64().max(1e-9),
    );
    Ok(())
}
