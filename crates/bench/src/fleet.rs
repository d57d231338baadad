//! A fleet at scale: `nubis up` with N simulated nodes run by `nubis
//! sim-nodes` as a process of its own, D Deployments of R replicas created
//! at once, and the figures the controllers issue names: the time until
//! every pod is Running (through the Deployment, ReplicaSet, scheduler and
//! simulated kubelet), the resident memory of `nubis up` (the API server
//! and the controllers) at that size, and its CPU use once everything has
//! settled. The simulated nodes' own memory is reported beside it.

use crate::procfs::{cpu_time, memory};
use crate::server::Server;
use crate::stats::ms;
use anyhow::{Context, Result};
use futures::StreamExt;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, PostParams};
use std::collections::HashSet;
use std::path::Path;
use std::time::Duration;
use tokio::time::Instant;

fn deployment(name: &str, replicas: usize) -> Result<Deployment> {
    Ok(serde_json::from_value(serde_json::json!({
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "c", "image": "nginx", "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}}}]},
            },
        },
    }))?)
}

pub async fn fleet(nubis: &Path, nodes: usize, deployments: usize, replicas: usize, settle: Duration) -> Result<()> {
    let pods = deployments * replicas;
    let server = Server::start(nubis)?;
    let client = server.client().await?;
    let simulated = crate::server::Process::spawn(
        std::process::Command::new(nubis)
            .args(["sim-nodes", "--count", &nodes.to_string(), "--kubeconfig"])
            .arg(server.kubeconfig())
            .env("RUST_LOG", "warn"),
    )?;
    crate::server::wait_for_nodes(&client, nodes).await?;
    let pod_api: Api<Pod> = Api::namespaced(client.clone(), "default");
    let watch = tokio::spawn(async move {
        let mut running = HashSet::new();
        let mut events = crate::server::applied_pods(pod_api).boxed();
        while let Some(p) = events.next().await {
            if p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running") {
                running.insert(p.metadata.name.clone().unwrap_or_default());
            }
            if running.len() == pods {
                return Ok::<_, anyhow::Error>(Instant::now());
            }
        }
        anyhow::bail!("the pod watch ended early")
    });
    let api: Api<Deployment> = Api::namespaced(client.clone(), "default");
    let start = Instant::now();
    let creates = futures::future::join_all((0..deployments).map(|i| {
        let api = api.clone();
        async move { api.create(&PostParams::default(), &deployment(&format!("d-{i}"), replicas)?).await.map_err(anyhow::Error::from) }
    }))
    .await;
    for c in creates {
        c?;
    }
    let all_running = tokio::time::timeout(Duration::from_secs(900), watch)
        .await
        .context("pods not all Running within 15 minutes")???;
    let (rss, peak) = memory(server.pid())?;
    let (sim_rss, _) = memory(simulated.id())?;
    println!(
        "fleet: {deployments} Deployments x {replicas} replicas on {nodes} simulated nodes: all {pods} pods Running {} after the first create; nubis up RSS {rss} (peak {peak}); the simulated nodes' process {sim_rss}",
        ms(all_running - start)
    );
    // Let trailing writes (events, status) finish, then measure a quiet
    // stretch.
    tokio::time::sleep(Duration::from_secs(10)).await;
    let before = cpu_time(server.pid())?;
    tokio::time::sleep(settle).await;
    let used = cpu_time(server.pid())? - before;
    let (rss, _) = memory(server.pid())?;
    println!(
        "fleet settled: {:.2}% of one core over {} s; RSS {rss}",
        100.0 * used.as_secs_f64() / settle.as_secs_f64(),
        settle.as_secs()
    );
    Ok(())
}
