//! `metrics.k8s.io/v1beta1`: NodeMetrics and PodMetrics as metrics-server
//! serves them (CPU in nanocores, memory in KiB, the window the usage was
//! measured over), from the usage the nodes' agents measure, reached
//! through their [`NodeLink`]s. Kubernetes aggregates metrics-server for
//! this; here the API server answers it, so `kubectl top` and the
//! horizontal pod autoscaler work without one.

use crate::body::{self, Body};
use crate::error::ApiError;
use crate::node_link::{NodeMetrics, Usage};
use crate::request_info::{ResourceRequest, Verb};
use crate::server::ApiServer;
use apimachinery::selector::label::LabelSelector;
use http::{Response, StatusCode};
use serde_json::{Map, Value, json};
use std::collections::HashMap;

const API_VERSION: &str = "metrics.k8s.io/v1beta1";

pub(crate) fn serve(server: &ApiServer, r: &ResourceRequest, query: Option<&str>) -> Result<Response<Body>, ApiError> {
    let (kind, namespaced) = match r.resource.as_str() {
        "nodes" => ("NodeMetrics", false),
        "pods" => ("PodMetrics", true),
        _ => return Err(ApiError::UnknownPath),
    };
    if r.version != "v1beta1" || r.subresource.is_some() || (!namespaced && r.namespace.is_some()) {
        return Err(ApiError::UnknownPath);
    }
    let params: Vec<(String, String)> = form_urlencoded::parse(query.unwrap_or_default().as_bytes()).into_owned().collect();
    let selector = params
        .iter()
        .find(|(k, _)| k == "labelSelector")
        .map(|(_, v)| LabelSelector::parse(v).map_err(|e| ApiError::BadRequest(e.to_string())))
        .transpose()?;
    let samples = samples(server);
    let items = match kind {
        "NodeMetrics" => node_metrics(server, &samples)?,
        _ => pod_metrics(server, &samples, r.namespace.as_deref())?,
    };
    let matching = |item: &Value| selector.as_ref().is_none_or(|s| s.matches(item["metadata"]["labels"].as_object()));
    match (r.verb, r.name.as_deref()) {
        (Verb::Get, Some(name)) => {
            // metrics-server names the kinds' lower case in its messages.
            let what = crate::error::Qualified { group: "metrics.k8s.io".into(), plural: kind.to_ascii_lowercase() };
            let item = items.into_iter().find(|i| i["metadata"]["name"] == name).ok_or_else(|| ApiError::NotFound { what, name: name.to_string() })?;
            Ok(body::json(StatusCode::OK, &item))
        }
        (Verb::List, None) => {
            let items: Vec<Value> = items.into_iter().filter(matching).collect();
            Ok(body::json(StatusCode::OK, &json!({"kind": format!("{kind}List"), "apiVersion": API_VERSION, "metadata": {}, "items": items})))
        }
        _ => Err(ApiError::MethodNotAllowed),
    }
}

/// The latest usage of every node some link reaches.
fn samples(server: &ApiServer) -> HashMap<String, NodeMetrics> {
    let links = server.inner.node_links.read().clone();
    let nodes = stored(server, "nodes", None).unwrap_or_default();
    nodes
        .iter()
        .filter_map(|n| n["metadata"]["name"].as_str())
        .filter_map(|name| links.iter().find_map(|l| l.metrics(name)).map(|m| (name.to_string(), m)))
        .collect()
}

/// Stored objects of a core resource (in one namespace, or all).
fn stored(server: &ApiServer, plural: &str, namespace: Option<&str>) -> Result<Vec<Value>, ApiError> {
    let resource = server.inner.registry.read().get("", "v1", plural).ok_or(ApiError::UnknownPath)?;
    let list = server.inner.store.list(&resource.namespace_prefix(namespace), store::ListOptions::default())?;
    list.items.iter().map(crate::rest::decode_stored).collect()
}

fn cpu(u: &Usage) -> String {
    format!("{}n", u.cpu_nanocores)
}

fn memory(u: &Usage) -> String {
    format!("{}Ki", u.memory_bytes / 1024)
}

fn metadata(obj: &Value, at: &jiff::Timestamp) -> Value {
    let mut meta = Map::new();
    for key in ["name", "namespace", "labels"] {
        if let Some(v) = obj["metadata"].get(key) {
            meta.insert(key.into(), v.clone());
        }
    }
    meta.insert("creationTimestamp".into(), json!(format_time(at)));
    Value::Object(meta)
}

fn format_time(t: &jiff::Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn window(m: &NodeMetrics) -> String {
    format!("{}s", m.window.as_secs().max(1))
}

fn node_metrics(server: &ApiServer, samples: &HashMap<String, NodeMetrics>) -> Result<Vec<Value>, ApiError> {
    let now = jiff::Timestamp::now();
    Ok(stored(server, "nodes", None)?
        .iter()
        .filter_map(|node| {
            let m = samples.get(node["metadata"]["name"].as_str()?)?;
            Some(json!({
                "kind": "NodeMetrics",
                "apiVersion": API_VERSION,
                "metadata": metadata(node, &now),
                "timestamp": format_time(&m.timestamp),
                "window": window(m),
                "usage": {"cpu": cpu(&m.node), "memory": memory(&m.node)},
            }))
        })
        .collect())
}

/// Running pods on measured nodes, each with all of its running
/// containers measured (metrics-server leaves out pods it cannot measure
/// whole).
fn pod_metrics(server: &ApiServer, samples: &HashMap<String, NodeMetrics>, namespace: Option<&str>) -> Result<Vec<Value>, ApiError> {
    let now = jiff::Timestamp::now();
    Ok(stored(server, "pods", namespace)?
        .iter()
        .filter(|pod| pod["status"]["phase"] == "Running")
        .filter_map(|pod| {
            let m = samples.get(pod["spec"]["nodeName"].as_str()?)?;
            let measured = m.pods.get(pod["metadata"]["uid"].as_str()?)?;
            let running: Vec<&str> = pod["status"]["containerStatuses"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|s| s["state"]["running"].is_object())
                .filter_map(|s| s["name"].as_str())
                .collect();
            let containers = running
                .iter()
                .map(|name| {
                    let (_, u) = measured.iter().find(|(n, _)| n == name)?;
                    Some(json!({"name": name, "usage": {"cpu": cpu(u), "memory": memory(u)}}))
                })
                .collect::<Option<Vec<Value>>>()?;
            Some(json!({
                "kind": "PodMetrics",
                "apiVersion": API_VERSION,
                "metadata": metadata(pod, &now),
                "timestamp": format_time(&m.timestamp),
                "window": window(m),
                "containers": containers,
            }))
        })
        .collect())
}
