//! The API server's shared state and the dispatch of one request to the
//! handler of what it addresses.

use crate::auth::{self, User};
use crate::body::{self, Body};
use crate::codec;
use crate::error::ApiError;
use crate::metrics::Metrics;
use crate::query::Query;
use crate::request_info::{self, RequestInfo, Verb};
use crate::{discovery, health, rest};
use apimachinery::registry::Registry;
use bytes::Bytes;
use http::{Request, Response, StatusCode};
use parking_lot::RwLock;
use serde_json::json;
use std::sync::Arc;
use tracing::Instrument;

/// Settings of an API server.
#[derive(Debug, Clone)]
pub struct ApiServerOptions {
    /// The range service cluster IPs come from.
    pub service_cidr: ipnet::Ipv4Net,
    /// The range of node ports.
    pub node_port_range: (u16, u16),
    /// The git version reported by `/version`.
    pub git_version: String,
    /// The static token file (`token,user,uid,"groups"`), if any.
    pub token_file: Option<std::path::PathBuf>,
    /// The ServiceAccount token signing key (made on first start).
    pub service_account_key_file: Option<std::path::PathBuf>,
    /// The cluster CA certificate (PEM), published as `kube-root-ca.crt`.
    pub cluster_ca_pem: Option<String>,
}

impl Default for ApiServerOptions {
    fn default() -> Self {
        ApiServerOptions {
            service_cidr: ipnet::Ipv4Net::new(std::net::Ipv4Addr::new(10, 96, 0, 0), 12).unwrap_or_default(),
            node_port_range: (30000, 32767),
            git_version: format!("v1.33.0-nubis.{}", env!("CARGO_PKG_VERSION")),
            token_file: None,
            service_account_key_file: None,
            cluster_ca_pem: None,
        }
    }
}

pub(crate) struct Inner {
    pub store: store::Store,
    pub registry: RwLock<Registry>,
    pub metrics: Metrics,
    pub options: ApiServerOptions,
    /// Serializes the allocation of cluster IPs and node ports, so two
    /// concurrent Service creates cannot take the same address.
    pub allocation: tokio::sync::Mutex<()>,
    /// Whether `/readyz` reports ready: set once bootstrap objects exist.
    pub ready: std::sync::atomic::AtomicBool,
    /// OpenAPI documents of the current resource set, built on first use.
    pub openapi: Arc<openapi::DocumentCache>,
    /// Bearer tokens of the static token file.
    pub tokens: Option<crate::authn::TokenFile>,
    /// The ServiceAccount token keys.
    pub sa_keys: Option<crate::authn::ServiceAccountKeys>,
    /// Parsed RBAC objects for authorization.
    pub rbac: crate::rbac_cache::RbacCache,
    /// The custom resources being served.
    pub custom: crate::custom_resources::CustomResources,
    /// State of the admission plugins (the quota locks).
    pub admission: crate::admission::State,
    /// The ways to the node agents, for pods' logs, exec and port forwards.
    pub node_links: RwLock<Vec<Arc<dyn crate::node_link::NodeLink>>>,
}

/// A Kubernetes API server over a [`store::Store`].
#[derive(Clone)]
pub struct ApiServer {
    pub(crate) inner: Arc<Inner>,
}

impl ApiServer {
    pub fn new(store: store::Store, options: ApiServerOptions) -> Result<Self, ApiError> {
        let tokens = options.token_file.as_deref().map(crate::authn::TokenFile::open);
        let sa_keys = match options.service_account_key_file.as_deref() {
            Some(p) => Some(
                crate::authn::ServiceAccountKeys::load_or_create(p)
                    .map_err(|e| ApiError::Internal(format!("service account key: {e}")))?,
            ),
            None => None,
        };
        let rbac = crate::rbac_cache::RbacCache::new(store.clone());
        Ok(ApiServer {
            inner: Arc::new(Inner {
                store,
                registry: RwLock::new(Registry::builtin()),
                metrics: Metrics::default(),
                options,
                allocation: tokio::sync::Mutex::new(()),
                ready: std::sync::atomic::AtomicBool::new(false),
                openapi: Arc::new(openapi::DocumentCache::new()),
                tokens,
                sa_keys,
                rbac,
                custom: Default::default(),
                admission: Default::default(),
                node_links: RwLock::new(Vec::new()),
            }),
        })
    }

    pub fn store(&self) -> &store::Store {
        &self.inner.store
    }

    /// Lets pods' streaming subresources reach the nodes `link` serves.
    pub fn add_node_link(&self, link: Arc<dyn crate::node_link::NodeLink>) {
        self.inner.node_links.write().push(link);
    }

    /// Creates what every cluster has from the start (the `default`,
    /// `kube-system`, `kube-public` and `kube-node-lease` namespaces and the
    /// `kubernetes` Service), then reports ready.
    pub async fn bootstrap(&self) -> Result<(), ApiError> {
        crate::bootstrap::run(self).await?;
        crate::admission::bootstrap(self).await?;
        crate::rbac_bootstrap::ensure_default_policy(self).await?;
        crate::rbac_bootstrap::spawn_aggregation(self.clone());
        crate::custom_resources::reconcile(self).await?;
        crate::custom_resources::spawn_controller(self.clone());
        self.inner.ready.store(true, std::sync::atomic::Ordering::SeqCst);
        Ok(())
    }

    /// Serves one request from `user` (None: no credentials were presented).
    pub async fn handle<B>(&self, req: Request<B>, user: Option<User>) -> Response<Body>
    where
        B: hyper::body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let started = tokio::time::Instant::now();
        let path = req.uri().path().to_string();
        let query = req.uri().query().map(str::to_string);
        let watch_param = query
            .as_deref()
            .map(|q| form_urlencoded::parse(q.as_bytes()).any(|(k, v)| k == "watch" && (v == "true" || v == "1")))
            .unwrap_or(false);
        let info = request_info::parse(req.method(), &path, watch_param);
        let (verb_label, resource_label) = match &info {
            RequestInfo::Resource(r) => (
                r.verb.as_str().to_string(),
                match &r.subresource {
                    Some(s) => format!("{}/{}", r.resource, s),
                    None => r.resource.clone(),
                },
            ),
            _ => (req.method().as_str().to_ascii_lowercase(), String::new()),
        };
        let span = tracing::debug_span!("request", verb = %verb_label, path = %path);
        let response = async {
            match self.dispatch(req, info, query.as_deref(), user.as_ref()).await {
                Ok(resp) => resp,
                Err(e) => {
                    tracing::debug!(error = %e, "request failed");
                    body::json(e.code(), &e.status())
                }
            }
        }
        .instrument(span)
        .await;
        self.inner.metrics.observe_request(
            &verb_label,
            &resource_label,
            response.status().as_u16(),
            started.elapsed(),
        );
        response
    }

    async fn dispatch<B>(
        &self,
        req: Request<B>,
        info: RequestInfo,
        query: Option<&str>,
        user: Option<&User>,
    ) -> Result<Response<Body>, ApiError>
    where
        B: hyper::body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let path = req.uri().path().to_string();
        let user = self.authenticate(req.headers(), user.cloned())?;
        let user = match user {
            Some(u) => Some(self.impersonate(req.headers(), u)?),
            None if auth::is_public_path(&path) => None,
            None => return Err(ApiError::Unauthorized),
        };
        if let Some(u) = &user
            && !auth::is_public_path(&path)
        {
            self.authorize(&crate::authorization::attributes(u, &info, req.method(), &path))?;
        }
        let user = user.as_ref();
        let accept = req
            .headers()
            .get(http::header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        match info {
            RequestInfo::NonResource(p) if p.starts_with("/openapi/") => {
                if req.method() != http::Method::GET && req.method() != http::Method::HEAD {
                    return Err(ApiError::MethodNotAllowed);
                }
                let inm = req
                    .headers()
                    .get(http::header::IF_NONE_MATCH)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string);
                crate::openapi_routes::serve(self, &p, accept.as_deref(), inm.as_deref()).await
            }
            RequestInfo::NonResource(p) => self.non_resource(req.method(), &p),
            RequestInfo::Discovery { group, version, legacy } => {
                if req.method() != http::Method::GET && req.method() != http::Method::HEAD {
                    return Err(ApiError::MethodNotAllowed);
                }
                let registry = self.inner.registry.read().clone();
                discovery::serve(&registry, legacy, group.as_deref(), version.as_deref(), accept.as_deref())
            }
            RequestInfo::Resource(r) if r.group == "metrics.k8s.io" => {
                if req.method() != http::Method::GET {
                    return Err(ApiError::MethodNotAllowed);
                }
                crate::metrics_api::serve(self, &r, query)
            }
            RequestInfo::Resource(r) if crate::pod_streams::handles(&r) => {
                crate::pod_streams::serve(self, req, r, query).await
            }
            RequestInfo::Resource(r) => {
                let query = Query::parse(query)?;
                let output = codec::negotiate(accept.as_deref())?;
                let resource = self
                    .inner
                    .registry
                    .read()
                    .get(&r.group, &r.version, &r.resource)
                    .ok_or(ApiError::UnknownPath)?;
                if !resource.namespaced && r.namespace.is_some() {
                    return Err(ApiError::UnknownPath);
                }
                let content_type = req
                    .headers()
                    .get(http::header::CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string);
                let user_agent = req
                    .headers()
                    .get(http::header::USER_AGENT)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string);
                let body = match r.verb {
                    Verb::Create | Verb::Update | Verb::Patch | Verb::Delete | Verb::DeleteCollection => {
                        body::read(req.into_body(), body::MAX_BODY_BYTES).await?
                    }
                    _ => Bytes::new(),
                };
                let custom = self.inner.custom.get(&r.group, &r.version, &r.resource);
                let ctx = rest::Ctx {
                    server: self.clone(),
                    custom,
                    resource,
                    req: r,
                    query,
                    output,
                    content_type,
                    user: user.cloned(),
                    user_agent,
                };
                rest::serve(ctx, body).await
            }
        }
    }

    fn non_resource(&self, method: &http::Method, path: &str) -> Result<Response<Body>, ApiError> {
        if method != http::Method::GET && method != http::Method::HEAD {
            return Err(ApiError::MethodNotAllowed);
        }
        match path.trim_end_matches('/') {
            "/version" => Ok(body::json(StatusCode::OK, &self.version())),
            "/healthz" | "/livez" => Ok(health::ok()),
            "/readyz" => Ok(health::ready(self.inner.ready.load(std::sync::atomic::Ordering::SeqCst))),
            "/metrics" => Ok(self.inner.metrics.render(&self.inner.store)),
            "" => Ok(body::json(StatusCode::OK, &root_paths(&self.inner.registry.read()))),
            _ => Err(ApiError::UnknownPath),
        }
    }

    fn version(&self) -> serde_json::Value {
        json!({
            "major": "1",
            "minor": "33",
            "gitVersion": self.inner.options.git_version,
            "gitCommit": "",
            "gitTreeState": "clean",
            "buildDate": "",
            "goVersion": "",
            "compiler": "rustc",
            "platform": format!("{}/{}", std::env::consts::OS, go_arch()),
        })
    }
}

fn go_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    }
}

fn root_paths(registry: &Registry) -> serde_json::Value {
    let mut paths = vec!["/api".to_string(), "/api/v1".to_string(), "/apis".to_string()];
    for (group, versions) in registry.groups() {
        if group.is_empty() {
            continue;
        }
        paths.push(format!("/apis/{group}"));
        for v in versions {
            paths.push(format!("/apis/{group}/{v}"));
        }
    }
    for p in ["/healthz", "/livez", "/metrics", "/openapi/v2", "/openapi/v3", "/readyz", "/version"] {
        paths.push(p.to_string());
    }
    json!({ "paths": paths })
}
