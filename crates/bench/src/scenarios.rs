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

/// `per_client` ConfigMap creates in `namespace` from each client at
/// once: the wall time and every create's latency.
async fn run_creates(clients: Vec<kube::Client>, namespace: &str, prefix: &str, per_client: usize) -> Result<(Duration, Vec<Duration>)> {
    let mut tasks = Vec::new();
    let t0 = Instant::now();
    for (c, client) in clients.into_iter().enumerate() {
        let api: Api<ConfigMap> = Api::namespaced(client, namespace);
        let prefix = prefix.to_string();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::with_capacity(per_client);
            for i in 0..per_client {
                let start = Instant::now();
                api.create(&PostParams::default(), &config_map(format!("{prefix}{c}-{i}"))).await?;
                lat.push(start.elapsed());
            }
            Ok::<_, kube::Error>(lat)
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await??);
    }
    Ok((t0.elapsed(), all))
}

pub async fn creates(nubis: &Path, clients: &[usize], total: usize) -> Result<()> {
    for &n in clients {
        let server = Server::start(nubis)?;
        let mut conns = Vec::new();
        for _ in 0..n {
            conns.push(server.client().await?);
        }
        let (wall, all) = run_creates(conns, "default", "c", total.div_ceil(n)).await?;
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

/// Creates by `system:masters` (no RBAC lookup) and by a user whose right
/// comes from one of `namespaces * 10` RoleBindings, alternating rounds so
/// both see the same machine.
pub async fn rbac(nubis: &Path, namespaces: usize, clients: usize, per_client: usize, rounds: usize) -> Result<()> {
    use k8s_openapi::api::core::v1::Namespace;
    use k8s_openapi::api::rbac::v1::{RoleBinding, RoleRef, Subject};
    let server = Server::start(nubis)?;
    let admin = server.client().await?;
    let ns_api: Api<Namespace> = Api::all(admin.clone());
    for n in 0..namespaces {
        let ns = Namespace {
            metadata: kube::api::ObjectMeta { name: Some(format!("ns-{n}")), ..Default::default() },
            ..Default::default()
        };
        ns_api.create(&PostParams::default(), &ns).await?;
        let rb_api: Api<RoleBinding> = Api::namespaced(admin.clone(), &format!("ns-{n}"));
        for b in 0..10 {
            let rb = RoleBinding {
                metadata: kube::api::ObjectMeta { name: Some(format!("rb-{b}")), ..Default::default() },
                role_ref: RoleRef {
                    api_group: "rbac.authorization.k8s.io".into(),
                    kind: "ClusterRole".into(),
                    name: ["admin", "edit", "view"][b % 3].into(),
                },
                subjects: Some(vec![Subject {
                    kind: "User".into(),
                    name: format!("user-{}", n * 10 + b),
                    ..Default::default()
                }]),
            };
            rb_api.create(&PostParams::default(), &rb).await?;
        }
    }
    // user-0 is admin of ns-0 through rb-0.
    let target = "ns-0";
    let mut as_admin = Vec::new();
    let mut as_user = Vec::new();
    for round in 0..rounds {
        let mut conns = Vec::new();
        for _ in 0..clients {
            conns.push(server.client().await?);
        }
        as_admin.extend(run_creates(conns, target, &format!("a{round}-"), per_client).await?.1);
        let mut conns = Vec::new();
        for _ in 0..clients {
            conns.push(server.user_client(nubis, "user-0").await?);
        }
        as_user.extend(run_creates(conns, target, &format!("u{round}-"), per_client).await?.1);
    }
    let (a, u) = (summarize(as_admin), summarize(as_user));
    println!(
        "creates with {} RoleBindings, {clients} clients: system:masters p50 {} p99 {}; RBAC user p50 {} p99 {}",
        namespaces * 10,
        ms(a.p50),
        ms(a.p99),
        ms(u.p50),
        ms(u.p99)
    );
    Ok(())
}

/// From sending a CRD's create to the first successful create of one of
/// its objects (retried until it works), `runs` CRDs one after another.
pub async fn crd(nubis: &Path, runs: usize) -> Result<()> {
    use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
    use kube::api::{ApiResource, DynamicObject, GroupVersionKind};
    let server = Server::start(nubis)?;
    let client = server.client().await?;
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let mut samples = Vec::new();
    for i in 0..runs {
        let group = format!("bench{i}.example.com");
        let crd: CustomResourceDefinition = serde_json::from_value(serde_json::json!({
            "apiVersion": "apiextensions.k8s.io/v1",
            "kind": "CustomResourceDefinition",
            "metadata": {"name": format!("widgets.{group}")},
            "spec": {
                "group": group,
                "scope": "Namespaced",
                "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
                "versions": [{"name": "v1", "served": true, "storage": true, "schema": {"openAPIV3Schema": {
                    "type": "object",
                    "properties": {"spec": {"type": "object", "properties": {"size": {"type": "integer"}}}}
                }}}]
            }
        }))?;
        let gvk = GroupVersionKind::gvk(&group, "v1", "Widget");
        let widgets: Api<DynamicObject> = Api::namespaced_with(client.clone(), "default", &ApiResource::from_gvk(&gvk));
        let mut widget = DynamicObject::new("first", &ApiResource::from_gvk(&gvk));
        widget.data = serde_json::json!({"spec": {"size": 1}});
        let t0 = Instant::now();
        crds.create(&PostParams::default(), &crd).await?;
        loop {
            match widgets.create(&PostParams::default(), &widget).await {
                Ok(_) => break,
                Err(_) if t0.elapsed() < Duration::from_secs(30) => tokio::time::sleep(Duration::from_millis(5)).await,
                Err(e) => return Err(e).context("the custom resource was never served"),
            }
        }
        samples.push(t0.elapsed());
    }
    let s = summarize(samples);
    println!("CRD create to first custom object created: p50 {} max {} ({runs} CRDs)", ms(s.p50), ms(s.max));
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
