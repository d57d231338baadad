//! Scheduling throughput: `nubis up --simulated-nodes N`, many pods created
//! at once by concurrent clients, and a watch that sees when each is bound
//! and when each runs. The bound rate is measured from the first create,
//! so it is a lower bound when creating is the slower part (the create
//! wall time is printed beside it).

use crate::server::Server;
use crate::stats::ms;
use anyhow::{Context, Result};
use futures::StreamExt;
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::{Api, ListParams, PostParams};
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

pub async fn schedule(nubis: &Path, nodes: usize, pods: usize, clients: usize) -> Result<()> {
    let count = nodes.to_string();
    let server = Server::start_with(nubis, &["--simulated-nodes", &count])?;
    let client = server.client().await?;
    let node_api: Api<Node> = Api::all(client.clone());
    let t0 = Instant::now();
    while node_api.list(&ListParams::default()).await?.items.len() < nodes {
        anyhow::ensure!(t0.elapsed() < Duration::from_secs(60), "simulated nodes did not register within 60 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let pod_api: Api<Pod> = Api::namespaced(client.clone(), "default");
    let watch = tokio::spawn({
        let pod_api = pod_api.clone();
        async move {
            let mut bound = HashSet::new();
            let mut running = HashSet::new();
            let (mut all_bound, mut all_running) = (None, None);
            let mut events = watcher(pod_api, watcher::Config::default()).boxed();
            while let Some(e) = events.next().await {
                // A watch that fell behind the server's history ends with
                // 410 Gone; the watcher lists again on its next poll.
                let e = match e {
                    Ok(e) => e,
                    Err(error) => {
                        eprintln!("pod watch restarts after: {error}");
                        continue;
                    }
                };
                let (watcher::Event::Apply(p) | watcher::Event::InitApply(p)) = e else { continue };
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
    let created = start.elapsed();
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
