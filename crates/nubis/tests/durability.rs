//! Durability: concurrent writers, `kill -9` of `nubis` mid-flight, restart:
//! every acknowledged write is there with its resourceVersion, nothing is
//! half-written, and revisions keep increasing. Twenty rounds.

mod support;

use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, ListParams, PostParams};
use std::collections::BTreeMap;
use parking_lot::Mutex;
use std::sync::Arc;
use support::{Nubis, kube_client};

const ROUNDS: usize = 20;
const WRITERS: usize = 16;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn durability_kill9_keeps_every_acknowledged_write() {
    let mut nubis = Nubis::start();
    // Acknowledged creates: name -> resourceVersion.
    let acked: Arc<Mutex<BTreeMap<String, String>>> = Arc::new(Mutex::new(BTreeMap::new()));
    let mut last_max_rv = 0i64;
    for round in 0..ROUNDS {
        let client = kube_client(&nubis.kubeconfig()).await;
        let api: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
        let mut tasks = Vec::new();
        for w in 0..WRITERS {
            let api = api.clone();
            let acked = acked.clone();
            tasks.push(tokio::spawn(async move {
                for i in 0.. {
                    let name = format!("r{round}-w{w}-{i}");
                    let cm = ConfigMap {
                        metadata: kube::api::ObjectMeta { name: Some(name.clone()), ..Default::default() },
                        data: Some(BTreeMap::from([("payload".to_string(), "x".repeat(512))])),
                        ..Default::default()
                    };
                    match api.create(&PostParams::default(), &cm).await {
                        Ok(created) => {
                            let rv = created.metadata.resource_version.unwrap_or_default();
                            acked.lock().insert(name, rv);
                        }
                        Err(_) => return,
                    }
                }
            }));
        }
        // Let the writers run, then crash the server under them.
        tokio::time::sleep(std::time::Duration::from_millis(150 + (round as u64 * 37) % 200)).await;
        nubis.kill9();
        for t in tasks {
            let _ = t.await;
        }
        nubis.spawn();

        let client = kube_client(&nubis.kubeconfig()).await;
        let api: Api<ConfigMap> = Api::namespaced(client, "default");
        let list = api.list(&ListParams::default()).await.expect("list after restart");
        let stored: BTreeMap<String, String> = list
            .items
            .iter()
            .map(|cm| (cm.metadata.name.clone().unwrap_or_default(), cm.metadata.resource_version.clone().unwrap_or_default()))
            .collect();
        for cm in &list.items {
            let payload = cm.data.as_ref().and_then(|d| d.get("payload"));
            if cm.metadata.name.as_deref().is_some_and(|n| n.starts_with('r')) {
                assert_eq!(payload.map(String::len), Some(512), "object {:?} is half-written", cm.metadata.name);
            }
        }
        let acked_now = acked.lock().clone();
        assert!(!acked_now.is_empty(), "round {round}: no write was acknowledged before the crash");
        for (name, rv) in &acked_now {
            assert_eq!(stored.get(name), Some(rv), "round {round}: acknowledged {name} at {rv} is lost or changed");
        }
        let max_rv = acked_now.values().filter_map(|rv| rv.parse::<i64>().ok()).max().unwrap_or(0);
        let list_rv: i64 = list.metadata.resource_version.unwrap_or_default().parse().expect("list rv is a number");
        assert!(list_rv >= max_rv, "round {round}: revision went back from {max_rv} to {list_rv}");
        assert!(max_rv > last_max_rv, "round {round}: revisions did not increase");
        last_max_rv = max_rv;
    }
    // After all rounds, a new write gets a higher revision than any before.
    let client = kube_client(&nubis.kubeconfig()).await;
    let api: Api<ConfigMap> = Api::namespaced(client, "default");
    let cm = ConfigMap {
        metadata: kube::api::ObjectMeta { name: Some("after".into()), ..Default::default() },
        ..Default::default()
    };
    let created = api.create(&PostParams::default(), &cm).await.expect("create after rounds");
    let rv: i64 = created.metadata.resource_version.unwrap_or_default().parse().expect("numeric rv");
    assert!(rv > last_max_rv);
}
