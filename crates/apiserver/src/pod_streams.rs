//! The streaming subresources of pods (`log`, `exec`, `attach`,
//! `portforward`): what they share (the pod, which container, which node
//! serves it) and the dispatch to each. The streams themselves come from
//! the pod's node through a [`NodeLink`].

mod exec;
mod logs;
mod port_forward;
mod spdy;
mod spdy_port_forward;
mod websocket;

use crate::body::Body;
use crate::error::{ApiError, Qualified};
use crate::node_link::{ContainerTarget, NodeLink};
use crate::request_info::ResourceRequest;
use crate::server::ApiServer;
use http::{Request, Response};
use serde_json::Value;
use std::sync::Arc;

/// Whether the request is for one of these subresources.
pub(crate) fn handles(r: &ResourceRequest) -> bool {
    r.group.is_empty() && r.resource == "pods" && matches!(r.subresource.as_deref(), Some("log" | "exec" | "attach" | "portforward"))
}

pub(crate) async fn serve<B>(server: &ApiServer, req: Request<B>, r: ResourceRequest, query: Option<&str>) -> Result<Response<Body>, ApiError> {
    let (Some(namespace), Some(name)) = (r.namespace.as_deref(), r.name.as_deref()) else {
        return Err(ApiError::UnknownPath);
    };
    let params: Vec<(String, String)> = form_urlencoded::parse(query.unwrap_or_default().as_bytes()).into_owned().collect();
    let pod = Pod::load(server, namespace, name)?;
    match (r.subresource.as_deref(), req.method()) {
        (Some("log"), &http::Method::GET) => logs::serve(server, &pod, &params).await,
        (Some("exec"), &http::Method::GET | &http::Method::POST) => exec::serve(server, req, &pod, &params, exec::Kind::Exec).await,
        (Some("attach"), &http::Method::GET | &http::Method::POST) => exec::serve(server, req, &pod, &params, exec::Kind::Attach).await,
        (Some("portforward"), &http::Method::GET | &http::Method::POST) => port_forward::serve(server, req, &pod, &params).await,
        _ => Err(ApiError::MethodNotAllowed),
    }
}

/// The first value of a query parameter.
fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

fn bool_param(params: &[(String, String)], name: &str) -> Result<bool, ApiError> {
    match param(params, name) {
        None | Some("false" | "0" | "False" | "") => Ok(false),
        Some("true" | "1" | "True") => Ok(true),
        Some(v) => Err(ApiError::BadRequest(format!("invalid value {v:?} for parameter {name}: expected true or false"))),
    }
}

/// A pod as stored.
struct Pod {
    namespace: String,
    name: String,
    obj: Value,
}

impl Pod {
    fn load(server: &ApiServer, namespace: &str, name: &str) -> Result<Pod, ApiError> {
        let resource = server.inner.registry.read().get("", "v1", "pods").ok_or(ApiError::UnknownPath)?;
        let kv = server.inner.store.get(&resource.key(Some(namespace), name)).ok_or_else(|| ApiError::NotFound {
            what: Qualified::of(&resource),
            name: name.to_string(),
        })?;
        let obj = crate::rest::decode_stored(&kv)?;
        Ok(Pod { namespace: namespace.to_string(), name: name.to_string(), obj })
    }

    fn node(&self) -> &str {
        self.obj["spec"]["nodeName"].as_str().unwrap_or_default()
    }

    fn uid(&self) -> &str {
        self.obj["metadata"]["uid"].as_str().unwrap_or_default()
    }

    fn phase(&self) -> &str {
        self.obj["status"]["phase"].as_str().unwrap_or_default()
    }

    fn names(&self, list: &str) -> Vec<String> {
        self.obj["spec"][list].as_array().into_iter().flatten().filter_map(|c| c["name"].as_str()).map(str::to_string).collect()
    }

    /// The container a request names, or the one it means when it names
    /// none (the only one, or the `kubectl.kubernetes.io/default-container`
    /// annotation's), with Kubernetes' messages otherwise.
    fn container(&self, requested: Option<&str>) -> Result<String, ApiError> {
        let containers = self.names("containers");
        let init = self.names("initContainers");
        let ephemeral = self.names("ephemeralContainers");
        let Some(requested) = requested.filter(|c| !c.is_empty()) else {
            if containers.len() == 1 {
                return Ok(containers[0].clone());
            }
            if let Some(default) = self.obj["metadata"]["annotations"]["kubectl.kubernetes.io/default-container"].as_str()
                && containers.iter().any(|c| c == default)
            {
                return Ok(default.to_string());
            }
            let mut message = format!("a container name must be specified for pod {}, choose one of: [{}]", self.name, containers.join(" "));
            if !init.is_empty() {
                message.push_str(&format!(" or one of the init containers: [{}]", init.join(" ")));
            }
            if !ephemeral.is_empty() {
                message.push_str(&format!(" or one of the ephemeral containers: [{}]", ephemeral.join(" ")));
            }
            return Err(ApiError::BadRequest(message));
        };
        if containers.iter().chain(&init).chain(&ephemeral).any(|c| c == requested) {
            Ok(requested.to_string())
        } else {
            Err(ApiError::BadRequest(format!("container {requested} is not valid for pod {}", self.name)))
        }
    }

    /// The status of one of its containers (app, init or ephemeral).
    fn container_status(&self, container: &str) -> Option<&Value> {
        ["containerStatuses", "initContainerStatuses", "ephemeralContainerStatuses"]
            .iter()
            .flat_map(|list| self.obj["status"][*list].as_array().into_iter().flatten())
            .find(|s| s["name"] == container)
    }

    fn target(&self, container: &str, container_id: &str) -> ContainerTarget {
        ContainerTarget {
            node: self.node().to_string(),
            namespace: self.namespace.clone(),
            pod: self.name.clone(),
            uid: self.uid().to_string(),
            container: container.to_string(),
            container_id: container_id.to_string(),
        }
    }
}

/// The link to the node that runs the pod.
fn link(server: &ApiServer, node: &str) -> Result<Arc<dyn NodeLink>, ApiError> {
    server
        .inner
        .node_links
        .read()
        .iter()
        .find(|l| l.serves(node))
        .cloned()
        .ok_or_else(|| ApiError::Internal(format!("no node agent serves node {node:?} (a simulated node has no containers to stream from)")))
}

impl From<crate::node_link::LinkError> for ApiError {
    fn from(e: crate::node_link::LinkError) -> Self {
        match e {
            crate::node_link::LinkError::BadRequest(m) => ApiError::BadRequest(m),
            crate::node_link::LinkError::Failed(m) => ApiError::Internal(m),
        }
    }
}
