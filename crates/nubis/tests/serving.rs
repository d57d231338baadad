//! Serving: the certificate's names, a clean stop on SIGTERM and SIGINT
//! with a restart on the same data dir, and watches from a revision the
//! store has compacted.

mod support;

use futures::StreamExt;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use kube::api::{Api, PostParams};
use serde_json::json;
use std::process::Stdio;
use std::time::Duration;
use tokio::time::Instant;
use support::{Nubis, Raw, kube_client, metric_sum, parse_metrics};
use x509_parser::prelude::{FromDer, GeneralName, X509Certificate};

/// The DNS names and IP addresses of a PEM certificate's SAN extension.
fn subject_alt_names(pem_text: &str) -> (Vec<String>, Vec<std::net::IpAddr>) {
    let (_, pem) = x509_parser::pem::parse_x509_pem(pem_text.as_bytes()).expect("a PEM certificate");
    let (_, cert) = X509Certificate::from_der(&pem.contents).expect("a DER certificate");
    let san = cert
        .subject_alternative_name()
        .expect("a well-formed SAN extension")
        .expect("a SAN extension");
    let mut dns = Vec::new();
    let mut ips = Vec::new();
    for name in &san.value.general_names {
        match name {
            GeneralName::DNSName(n) => dns.push(n.to_string()),
            GeneralName::IPAddress(b) => match b.len() {
                4 => ips.push(std::net::IpAddr::from(<[u8; 4]>::try_from(*b).expect("4 bytes"))),
                16 => ips.push(std::net::IpAddr::from(<[u8; 16]>::try_from(*b).expect("16 bytes"))),
                n => panic!("an IP address SAN of {n} bytes"),
            },
            _ => {}
        }
    }
    (dns, ips)
}

/// The serving certificate names the listen address, `localhost` and the
/// machine's hostname, and TLS clients that check names accept each.
#[test]
fn serving_certificate_covers_listen_address_localhost_and_hostname() {
    // Another loopback address than the usual 127.0.0.1, so the listen
    // address is not covered by chance.
    let nubis = Nubis::start_on("127.0.0.2", &["--no-controllers"]);
    let hostname = hostname::get().expect("hostname").into_string().expect("a UTF-8 hostname");
    let pem = std::fs::read_to_string(nubis.data_dir().join("pki/server.crt")).expect("serving certificate");
    let (dns, ips) = subject_alt_names(&pem);
    assert!(ips.contains(&"127.0.0.2".parse().expect("ip")), "the listen address: {ips:?}");
    assert!(dns.iter().any(|n| n == "localhost"), "localhost: {dns:?}");
    assert!(dns.contains(&hostname), "the hostname {hostname:?}: {dns:?}");

    // The kubeconfig points at the listen address, and the data dir
    // records it for other commands (`nubis kubeconfig`).
    let server = format!("https://127.0.0.2:{}", nubis.port);
    let kubeconfig = std::fs::read_to_string(nubis.kubeconfig()).expect("kubeconfig");
    assert!(kubeconfig.contains(&format!("server: {server}")), "{kubeconfig}");
    let other = std::fs::read_to_string(nubis.user_kubeconfig("someone", &[])).expect("user kubeconfig");
    assert!(other.contains(&format!("server: {server}")), "{other}");

    // kubectl verifies the serving certificate against the CA for each
    // name it asks for: the IP, localhost, the hostname; not another name.
    let k = nubis.kubectl("1.33");
    assert_eq!(k.ok(&["get", "--raw", "/readyz"]), "ok");
    for name in ["localhost", hostname.as_str()] {
        let out = k.ok(&["get", "--raw", "/readyz", "--tls-server-name", name]);
        assert_eq!(out, "ok", "as {name}");
    }
    let err = k.fails(&["get", "--raw", "/readyz", "--tls-server-name", "not-this-server.example"]);
    assert!(err.contains("x509") || err.contains("certificate"), "{err}");
}

/// SIGTERM and SIGINT each stop `nubis up` with exit status 0 within a few
/// seconds, open watches and all; the next start on the same data dir
/// serves what was written before.
#[test]
fn serving_sigterm_and_sigint_stop_cleanly_and_restart() {
    let mut nubis = Nubis::start();
    let k = nubis.kubectl("1.33");
    for (round, signal) in ["TERM", "INT"].into_iter().enumerate() {
        let name = format!("before-sig{}", signal.to_lowercase());
        k.ok(&["create", "configmap", &name, &format!("--from-literal=signal={signal}")]);
        // An open watch the stop has to end.
        let mut watch = k
            .cmd(&["get", "configmaps", "-w"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start kubectl get -w");
        std::thread::sleep(Duration::from_millis(500));
        let pid = nubis.pid().expect("running");
        let started = Instant::now();
        let status = nubis
            .signal(signal, Duration::from_secs(10))
            .unwrap_or_else(|| panic!("nubis (pid {pid}) still runs 10 s after SIG{signal}"));
        let took = started.elapsed();
        let _ = watch.kill();
        let _ = watch.wait();
        assert!(status.success(), "SIG{signal}: nubis exited with {status}");
        assert!(took < Duration::from_secs(5), "SIG{signal}: nubis took {took:?} to stop");
        // Stopped means stopped: nothing answers on the port.
        assert!(
            std::net::TcpStream::connect(("127.0.0.1", nubis.port)).is_err(),
            "the port still accepts connections after SIG{signal}"
        );

        nubis.spawn();
        assert_eq!(k.ok(&["get", "--raw", "/readyz"]), "ok", "restart {round}");
        let names = k.ok(&["get", "configmaps", "-o", "name"]);
        for earlier in ["configmap/before-sigterm", "configmap/before-sigint"].iter().take(round + 1) {
            assert!(names.lines().any(|l| l == *earlier), "{earlier} after restart {round}: {names}");
        }
    }
}

/// A watch from a revision the store has compacted gets the `410 Gone`
/// Status with reason `Expired`, as an ERROR event of a 200 stream (as
/// Kubernetes' watch cache sends it), and a list pinned to it a 410
/// answer; a watch from a recent revision still works.
///
/// `nubis up` keeps the last 10,000 events and trims its history at once
/// when it passes 20,000 (else every 60 s), so the test writes past that.
#[tokio::test]
async fn serving_watch_from_compacted_revision_is_gone() {
    let nubis = Nubis::start_with(&["--no-controllers"]);
    let client = kube_client(&nubis.kubeconfig()).await;
    let raw = Raw { client: client.clone() };
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    let cm = |name: String| -> ConfigMap {
        serde_json::from_value(json!({"metadata": {"name": name}, "data": {"k": "v"}})).expect("cm")
    };
    let early = cms.create(&PostParams::default(), &cm("early".into())).await.expect("create early");
    let early_rv: i64 = early.metadata.resource_version.as_deref().unwrap_or_default().parse().expect("rv");
    let metrics = |text: &str| {
        let all = parse_metrics(text);
        (
            metric_sum(&all, "nubis_store_revision", &[]) as i64,
            metric_sum(&all, "nubis_store_compacted_revision", &[]) as i64,
        )
    };
    let (revision, compacted) = metrics(&raw.get_text("/metrics").await);
    assert!(compacted < early_rv, "nothing compacted yet ({compacted} < {early_rv})");

    // Enough writes to pass 20,000 events in the history.
    let ns: Namespace = serde_json::from_value(json!({"metadata": {"name": "bulk"}})).expect("ns");
    Api::<Namespace>::all(client.clone()).create(&PostParams::default(), &ns).await.expect("namespace");
    let bulk: Api<ConfigMap> = Api::namespaced(client.clone(), "bulk");
    let writes = 20_100 - usize::try_from(revision).expect("a positive revision");
    let started = Instant::now();
    futures::stream::iter(0..writes)
        .for_each_concurrent(64, |i| {
            let bulk = bulk.clone();
            async move {
                bulk.create(&PostParams::default(), &cm(format!("cm-{i:05}"))).await.expect("bulk create");
            }
        })
        .await;
    eprintln!("{writes} creates in {:?}", started.elapsed());
    let deadline = Instant::now() + Duration::from_secs(90);
    let compacted = loop {
        let (_, compacted) = metrics(&raw.get_text("/metrics").await);
        if compacted > early_rv {
            break compacted;
        }
        assert!(Instant::now() < deadline, "the history was not compacted past {early_rv} within 90 s (at {compacted})");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };

    let path = format!("/api/v1/namespaces/default/configmaps?watch=1&resourceVersion={early_rv}");
    let (code, events) = raw.watch(&path, 2, Duration::from_secs(10)).await;
    assert_eq!(code, 200, "{events:?}");
    assert_eq!(events.len(), 1, "one ERROR event, then the stream ends: {events:?}");
    assert_eq!(events[0]["type"], "ERROR", "{events:?}");
    let status = &events[0]["object"];
    assert_eq!(status["kind"], "Status", "{status}");
    assert_eq!(status["code"], 410, "{status}");
    assert_eq!(status["reason"], "Expired", "{status}");
    assert_eq!(
        status["message"],
        format!("too old resource version: {early_rv} ({compacted})"),
        "{status}"
    );
    // A list at exactly that revision: a 410 answer.
    let (code, status) = raw
        .get(&format!("/api/v1/namespaces/default/configmaps?resourceVersion={early_rv}&resourceVersionMatch=Exact"))
        .await;
    assert_eq!(code, 410, "{status}");
    assert_eq!(status["reason"], "Expired", "{status}");

    // From a revision still in the window, the watch streams.
    let recent = cms.create(&PostParams::default(), &cm("recent".into())).await.expect("create recent");
    let recent_rv = recent.metadata.resource_version.clone().unwrap_or_default();
    let watching = tokio::spawn({
        let raw = Raw { client: client.clone() };
        async move {
            let path = format!("/api/v1/namespaces/default/configmaps?watch=1&resourceVersion={recent_rv}");
            raw.watch(&path, 1, Duration::from_secs(10)).await
        }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    cms.create(&PostParams::default(), &cm("after".into())).await.expect("create after");
    let (code, events) = watching.await.expect("watch task");
    assert_eq!(code, 200);
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["type"], "ADDED", "{events:?}");
    assert_eq!(events[0]["object"]["metadata"]["name"], "after", "{events:?}");
}
