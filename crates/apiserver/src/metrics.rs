//! `/metrics` in the Prometheus text format: requests by verb, resource and
//! code, request latency, open watches, and the store's commit figures.
//! Metric names follow kube-apiserver's where one exists.

use crate::body::{Body, full};
use http::{Response, StatusCode};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use std::time::Duration;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    verb: String,
    resource: String,
    code: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LatencyLabels {
    verb: String,
    resource: String,
}

pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<LatencyLabels, Histogram>,
    pub watches: Gauge,
}

const LATENCY_BUCKETS: [f64; 14] =
    [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::default();
        let requests = Family::<RequestLabels, Counter>::default();
        let latency = Family::<LatencyLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(LATENCY_BUCKETS.iter().copied())
        });
        let watches = Gauge::default();
        registry.register("apiserver_request", "Requests by verb, resource and HTTP code", requests.clone());
        registry.register(
            "apiserver_request_duration_seconds",
            "Request latency by verb and resource (watches count until their end)",
            latency.clone(),
        );
        registry.register("apiserver_registered_watchers", "Open watch streams", watches.clone());
        Metrics { registry, requests, latency, watches }
    }
}

impl Metrics {
    pub fn observe_request(&self, verb: &str, resource: &str, code: u16, elapsed: Duration) {
        self.requests
            .get_or_create(&RequestLabels { verb: verb.to_string(), resource: resource.to_string(), code: code.to_string() })
            .inc();
        self.latency
            .get_or_create(&LatencyLabels { verb: verb.to_string(), resource: resource.to_string() })
            .observe(elapsed.as_secs_f64());
    }

    pub fn render(&self, store: &store::Store) -> Response<Body> {
        let mut out = String::new();
        if prometheus_client::encoding::text::encode_registry(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out.push_str(&store_metrics(store));
        out.push_str("# EOF\n");
        Response::builder()
            .status(StatusCode::OK)
            .header(http::header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")
            .body(full(out))
            .unwrap_or_else(|_| Response::new(full("")))
    }
}

fn store_metrics(store: &store::Store) -> String {
    use std::fmt::Write;
    let s = store.stats();
    let mut out = String::new();
    let mut metric = |name: &str, kind: &str, help: &str, value: String| {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        let suffix = if kind == "counter" { "_total" } else { "" };
        let _ = writeln!(out, "{name}{suffix} {value}");
    };
    metric("nubis_store_revision", "gauge", "The store's current revision.", s.revision.to_string());
    metric("nubis_store_compacted_revision", "gauge", "History at or below this revision is compacted.", s.compacted_revision.to_string());
    metric("nubis_store_keys", "gauge", "Keys in the store.", s.keys.to_string());
    metric("nubis_store_writes", "counter", "Writes acknowledged (each durable).", s.writes.to_string());
    metric("nubis_store_rejected_writes", "counter", "Writes refused by their condition.", s.rejected_writes.to_string());
    metric("nubis_store_commits", "counter", "Transactions committed, one fsync each (group commit).", s.commits.to_string());
    metric("nubis_store_failed_commits", "counter", "Transactions that failed.", s.failed_commits.to_string());
    metric("nubis_store_watchers", "gauge", "Open store watch streams.", s.watchers.to_string());
    let h = &s.commit_latency;
    let _ = writeln!(
        out,
        "# HELP nubis_store_commit_duration_seconds Commit latency, fsync included.\n# TYPE nubis_store_commit_duration_seconds histogram"
    );
    for (bound, count) in h.bounds_micros.iter().zip(&h.cumulative) {
        let _ = writeln!(out, "nubis_store_commit_duration_seconds_bucket{{le=\"{}\"}} {count}", *bound as f64 / 1e6);
    }
    let _ = writeln!(out, "nubis_store_commit_duration_seconds_bucket{{le=\"+Inf\"}} {}", h.count);
    let _ = writeln!(out, "nubis_store_commit_duration_seconds_sum {}", h.sum_micros as f64 / 1e6);
    let _ = writeln!(out, "nubis_store_commit_duration_seconds_count {}", h.count);
    out
}
