//! Pod startup latency on the real node agent, as Kubernetes' pod startup
//! SLI defines it: from a pod's creation to all its containers started as
//! observed through a watch, image already on the node. Pods are created
//! in batches, the next batch when the previous one is all started. The
//! creation time is the client's clock just before the create request
//! (the creationTimestamp has a resolution of one second).
//!
//! Beside the SLI, the times at which a watch on Events first sees the
//! scheduler's `Scheduled` and the agent's `Pulled` and `Started` events
//! of each pod split the path into stages: the agent records `Pulled`
//! once the pod's network, volumes and image are ready, and `Started`
//! after its shim reported the container running.

use crate::node_host::{self, Background, Namespace, NodeServer, Registry};
use crate::stats::{ms, summarize};
use anyhow::{Context, Result, ensure};
use futures::StreamExt;
use k8s_openapi::api::core::v1::{Event, Pod};
use kube::api::{Api, PostParams};
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, watcher};
use parking_lot::Mutex;
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

const LABEL: &str = "pod-startup";

/// When the bench first saw each step of one pod.
#[derive(Debug, Default, Clone, Copy)]
struct Seen {
    sent: Option<Instant>,
    answered: Option<Instant>,
    bound: Option<Instant>,
    scheduled_event: Option<Instant>,
    pulled_event: Option<Instant>,
    started_event: Option<Instant>,
    running: Option<Instant>,
}

type Observations = Arc<Mutex<HashMap<String, Seen>>>;

/// Records when the pods are seen bound and all started; `changed` ticks
/// at every pod seen started.
fn watch_pods(api: Api<Pod>, seen: Observations, changed: tokio::sync::watch::Sender<usize>) -> Background {
    Background(tokio::spawn(async move {
        let config = watcher::Config::default().labels(&format!("bench={LABEL}"));
        let mut events = watcher(api, config).default_backoff().boxed();
        let mut started = 0;
        while let Some(event) = events.next().await {
            let at = Instant::now();
            let pod = match event {
                Ok(watcher::Event::Apply(p) | watcher::Event::InitApply(p)) => p,
                Ok(_) => continue,
                Err(error) => {
                    eprintln!("pod watch restarts after: {error}");
                    continue;
                }
            };
            let mut seen = seen.lock();
            let s = seen.entry(pod.metadata.name.clone().unwrap_or_default()).or_default();
            if s.bound.is_none() && pod.spec.as_ref().is_some_and(|s| s.node_name.is_some()) {
                s.bound = Some(at);
            }
            if s.running.is_none() && node_host::all_started(&pod) {
                s.running = Some(at);
                started += 1;
                let _ = changed.send(started);
            }
        }
    }))
}

/// Records when the scheduler's and the agent's events of each pod are
/// first seen.
fn watch_events(api: Api<Event>, seen: Observations) -> Background {
    Background(tokio::spawn(async move {
        let mut events = watcher(api, watcher::Config::default()).default_backoff().boxed();
        while let Some(event) = events.next().await {
            let at = Instant::now();
            let e = match event {
                Ok(watcher::Event::Apply(e) | watcher::Event::InitApply(e)) => e,
                Ok(_) => continue,
                Err(error) => {
                    eprintln!("event watch restarts after: {error}");
                    continue;
                }
            };
            let Some(name) = e.involved_object.name.clone() else { continue };
            let mut seen = seen.lock();
            let s = seen.entry(name).or_default();
            let slot = match e.reason.as_deref() {
                Some("Scheduled") => &mut s.scheduled_event,
                Some("Pulled") => &mut s.pulled_event,
                Some("Started") => &mut s.started_event,
                _ => continue,
            };
            slot.get_or_insert(at);
        }
    }))
}

/// Waits until every pod of `names` is seen started, at most `timeout`.
async fn until_started(names: &[String], seen: &Observations, changed: &mut tokio::sync::watch::Receiver<usize>, timeout: Duration) -> Result<()> {
    let deadline = Instant::now() + timeout;
    loop {
        if names.iter().all(|n| seen.lock().get(n).is_some_and(|s| s.running.is_some())) {
            return Ok(());
        }
        let missing: Vec<&String> = names.iter().filter(|n| seen.lock().get(*n).is_none_or(|s| s.running.is_none())).collect();
        tokio::time::timeout_at(deadline, changed.changed())
            .await
            .with_context(|| format!("pods {missing:?} were not all started within {timeout:?}"))?
            .context("the pod watch ended")?;
    }
}

/// Creates the pods named `names` at once; records when each create was
/// sent and answered.
async fn create(api: &Api<Pod>, names: &[String], seen: &Observations) -> Result<()> {
    let creates = futures::future::join_all(names.iter().map(|name| async move {
        let pod = node_host::sleeping_pod(name, LABEL, None)?;
        let sent = Instant::now();
        api.create(&PostParams::default(), &pod).await?;
        let answered = Instant::now();
        let mut seen = seen.lock();
        let s = seen.entry(name.clone()).or_default();
        s.sent = Some(sent);
        s.answered = Some(answered);
        Ok::<_, anyhow::Error>(())
    }))
    .await;
    creates.into_iter().collect()
}

/// The median of `stage` over the pods where both of its ends were seen,
/// with how many that is.
fn median_stage(all: &[Seen], from: impl Fn(&Seen) -> Option<Instant>, to: impl Fn(&Seen) -> Option<Instant>) -> String {
    let spans: Vec<Duration> = all.iter().filter_map(|s| Some(to(s)?.saturating_duration_since(from(s)?))).collect();
    if spans.is_empty() {
        return "not seen".into();
    }
    let n = spans.len();
    format!("{} (n={n})", ms(summarize(spans).p50))
}

pub async fn pod_startup(nubis: &Path, ns: Namespace, pods: usize, batch: usize, runtime: &str) -> Result<()> {
    ensure!(batch > 0, "--batch must be at least 1");
    let registry = Registry::start(&ns).await?;
    registry.push_busybox(&ns)?;
    let server = NodeServer::start(nubis, &ns, runtime)?;
    let client = server.client().await?;
    server.wait_ready(&client).await?;
    let api: Api<Pod> = Api::namespaced(client.clone(), "default");
    let seen: Observations = Arc::default();
    let (tx, mut changed) = tokio::sync::watch::channel(0);
    // Declared after the server, so dropped (stopped) before it.
    let pod_watch = watch_pods(api.clone(), seen.clone(), tx);
    let event_watch = watch_events(Api::namespaced(client.clone(), "default"), seen.clone());

    // One pod first: it pulls the image (and the agent makes the bridge
    // and the nftables table), so the measured pods find the node warm.
    let warm_up = vec!["warm-up".to_string()];
    create(&api, &warm_up, &seen).await?;
    until_started(&warm_up, &seen, &mut changed, Duration::from_secs(120)).await?;
    let warm = seen.lock().get("warm-up").copied().unwrap_or_default();
    let warm_took = warm.running.zip(warm.sent).map(|(r, s)| r - s).unwrap_or_default();

    let names: Vec<String> = (0..pods).map(|i| format!("startup-{i}")).collect();
    let t0 = Instant::now();
    for chunk in names.chunks(batch) {
        create(&api, chunk, &seen).await?;
        until_started(chunk, &seen, &mut changed, Duration::from_secs(300)).await?;
    }
    let wall = t0.elapsed();

    let measured: Vec<Seen> = {
        let seen = seen.lock();
        names.iter().filter_map(|n| seen.get(n).copied()).collect()
    };
    let latencies: Vec<Duration> = measured.iter().filter_map(|s| Some(s.running? - s.sent?)).collect();
    ensure!(latencies.len() == pods, "only {} of {pods} pods have a measured startup", latencies.len());
    let min = latencies.iter().min().copied().unwrap_or_default();
    let summary = summarize(latencies);
    println!(
        "pod-startup: {pods} pods in batches of {batch} on `nubis up --node-agent`, image present: creation to all containers started, seen through a watch: p50 {}, p99 {}, max {} (min {}); {:.1} s for all",
        ms(summary.p50),
        ms(summary.p99),
        ms(summary.max),
        ms(min),
        wall.as_secs_f64()
    );
    println!(
        "  stages, medians: create answered {}; bound seen {} after that; Scheduled event seen {} after creation; agent's Pulled event {} after binding; its Started event {} after Pulled; Running seen {} after Started",
        median_stage(&measured, |s| s.sent, |s| s.answered),
        median_stage(&measured, |s| s.answered, |s| s.bound),
        median_stage(&measured, |s| s.sent, |s| s.scheduled_event),
        median_stage(&measured, |s| s.bound, |s| s.pulled_event),
        median_stage(&measured, |s| s.pulled_event, |s| s.started_event),
        median_stage(&measured, |s| s.started_event, |s| s.running),
    );
    // Running pods are not free for the agent: how the batches compare
    // shows whether startup slows as the node fills.
    let per_batch: Vec<String> = measured
        .chunks(batch)
        .map(|b| summarize(b.iter().filter_map(|s| Some(s.running? - s.sent?)).collect()).p50)
        .map(|d| format!("{:.0}", d.as_secs_f64() * 1000.0))
        .collect();
    println!("  median of each batch in turn, ms: {}", per_batch.join(", "));
    println!("  warm-up pod (image pull included): {}", ms(warm_took));
    drop((pod_watch, event_watch));
    drop(server);
    drop(registry);
    Ok(())
}
