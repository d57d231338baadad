//! The measured scenarios. Each starts its own server so figures do not
//! depend on each other, and prints one line a figure.

use crate::server::Server;
use crate::stats::{ms, summarize};
use anyhow::{Context, Result};
use futures::StreamExt;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, PostParams, WatchEvent, WatchParams};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

fn config_map(name: String) -> ConfigMap {
    ConfigMap {
        metadata: kube::api::ObjectMeta { name: Some(name), ..Default::default() },
        data: Some(BTreeMap::from([("key".to_string(), "value".to_string())])),
        ..Default::default()
    }
}

async fn get_text(client: &kube::Client, path: &str) -> Result<(u16, Vec<u8>)> {
    let req = http::Request::get(path).body(Vec::new())?;
    let resp = client.send(req.map(kube::client::Body::from)).await?;
    let code = resp.status().as_u16();
    let body = resp.into_body().collect_bytes().await?;
    Ok((code, body.to_vec()))
}

pub async fn startup(nubis: &Path, runs: usize) -> Result<()> {
    let mut samples = Vec::new();
    for _ in 0..runs {
        let t0 = Instant::now();
        let server = Server::start(nubis)?;
        let client = server.client().await?;
        let (code, body) = get_text(&client, "/readyz").await?;
        let elapsed = t0.elapsed();
        anyhow::ensure!(code == 200 && body == b"ok", "readyz answered {code}");
        samples.push(elapsed);
    }
    let s = summarize(samples);
    println!("startup to /readyz ok: p50 {} max {} ({runs} runs, fresh data dir each)", ms(s.p50), ms(s.max));
    Ok(())
}

pub async fn creates(nubis: &Path, clients: &[usize], total: usize) -> Result<()> {
    for &n in clients {
        let server = Server::start(nubis)?;
        let per_client = total.div_ceil(n);
        let mut tasks = Vec::new();
        let t0 = Instant::now();
        for c in 0..n {
            let client = server.client().await?;
            tasks.push(tokio::spawn(async move {
                let api: Api<ConfigMap> = Api::namespaced(client, "default");
                let mut lat = Vec::with_capacity(per_client);
                for i in 0..per_client {
                    let start = Instant::now();
                    api.create(&PostParams::default(), &config_map(format!("c{c}-{i}"))).await?;
                    lat.push(start.elapsed());
                }
                Ok::<_, kube::Error>(lat)
            }));
        }
        let mut all = Vec::new();
        for t in tasks {
            all.extend(t.await??);
        }
        let wall = t0.elapsed();
        let count = all.len();
        let s = summarize(all);
        println!(
            "creates, {n} clients: {:.0}/s ({count} durable creates in {:.2} s), p50 {} p99 {}",
            count as f64 / wall.as_secs_f64(),
            wall.as_secs_f64(),
            ms(s.p50),
            ms(s.p99)
        );
    }
    Ok(())
}

pub async fn list(nubis: &Path, items: usize, runs: usize) -> Result<()> {
    let server = Server::start(nubis)?;
    let client = server.client().await?;
    let writers = 32;
    let mut tasks = Vec::new();
    for w in 0..writers {
        let api: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
        tasks.push(tokio::spawn(async move {
            let mut i = w;
            while i < items {
                api.create(&PostParams::default(), &config_map(format!("l{i:05}"))).await?;
                i += writers;
            }
            Ok::<_, kube::Error>(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    let mut samples = Vec::new();
    let mut size = 0;
    for _ in 0..runs {
        let t0 = Instant::now();
        let (code, body) = get_text(&client, "/api/v1/namespaces/default/configmaps").await?;
        samples.push(t0.elapsed());
        anyhow::ensure!(code == 200, "list answered {code}");
        size = body.len();
    }
    let s = summarize(samples);
    println!(
        "list of {items} ConfigMaps over HTTPS ({:.1} MiB): p50 {} max {} ({runs} runs)",
        size as f64 / (1024.0 * 1024.0),
        ms(s.p50),
        ms(s.max)
    );
    Ok(())
}

pub async fn watch(nubis: &Path, watchers: usize, writes: usize) -> Result<()> {
    let server = Server::start(nubis)?;
    let client = server.client().await?;
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    let seen: Arc<parking::Seen> = Arc::new(parking::Seen::new(watchers));
    let rv = api.list(&Default::default()).await?.metadata.resource_version.context("list rv")?;
    let mut tasks = Vec::new();
    for w in 0..watchers {
        let api = api.clone();
        let seen = seen.clone();
        let rv = rv.clone();
        tasks.push(tokio::spawn(async move {
            let mut stream = api.watch(&WatchParams::default().timeout(290), &rv).await?.boxed();
            let mut got = 0;
            while let Some(ev) = stream.next().await {
                if let WatchEvent::Added(cm) = ev?
                    && let Some(name) = cm.metadata.name {
                        seen.record(w, name, Instant::now());
                        got += 1;
                        if got == writes {
                            break;
                        }
                    }
            }
            Ok::<_, kube::Error>(())
        }));
    }
    // Give every watcher time to connect before the writes start.
    tokio::time::sleep(Duration::from_millis(500)).await;
    // When each write was sent; the latency counts the durable write too.
    let mut acked = BTreeMap::new();
    for i in 0..writes {
        let name = format!("w{i:04}");
        let sent = Instant::now();
        api.create(&PostParams::default(), &config_map(name.clone())).await?;
        acked.insert(name, sent);
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    for t in tasks {
        t.await??;
    }
    let mut lat = Vec::new();
    for (w, name, at) in seen.all() {
        let _ = w;
        if let Some(ack) = acked.get(&name) {
            lat.push(at.saturating_duration_since(*ack));
        }
    }
    let s = summarize(lat);
    println!(
        "watch, {watchers} watchers x {writes} writes: from sending the write to each watcher seeing it p50 {} p99 {} max {}",
        ms(s.p50),
        ms(s.p99),
        ms(s.max)
    );
    Ok(())
}

pub async fn rss(nubis: &Path) -> Result<()> {
    let server = Server::start(nubis)?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let status = std::fs::read_to_string(format!("/proc/{}/status", server.pid()))?;
    let rss = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .map(|v| v.trim().to_string())
        .context("VmRSS in /proc/PID/status")?;
    println!("idle RSS 2 s after start: {rss}");
    Ok(())
}

mod parking {
    use tokio::time::Instant;

    /// Arrival times per watcher, behind a tokio mutex-free lock: each
    /// watcher writes only its own slot.
    pub struct Seen(Vec<parking_lot::Mutex<Vec<(String, Instant)>>>);

    impl Seen {
        pub fn new(n: usize) -> Self {
            Seen((0..n).map(|_| parking_lot::Mutex::new(Vec::new())).collect())
        }
        pub fn record(&self, w: usize, name: String, at: Instant) {
            if let Some(slot) = self.0.get(w) {
                slot.lock().push((name, at));
            }
        }
        pub fn all(&self) -> Vec<(usize, String, Instant)> {
            self.0
                .iter()
                .enumerate()
                .flat_map(|(w, s)| s.lock().iter().map(|(n, t)| (w, n.clone(), *t)).collect::<Vec<_>>())
                .collect()
        }
    }
}
