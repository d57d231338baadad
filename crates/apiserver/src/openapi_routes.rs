//! `/openapi/v2` and `/openapi/v3[/...]`, built by the `openapi` crate from
//! the resources this server registers. kubectl reads v2 only as gnostic
//! protobuf, so v2 is served as protobuf when the client accepts it.

use crate::body::{self, Body, full};
use crate::error::ApiError;
use crate::server::ApiServer;
use http::{Response, StatusCode};
use std::sync::Arc;

fn specs(server: &ApiServer) -> Vec<openapi::ResourceSpec> {
    server
        .inner
        .registry
        .read()
        .all()
        .iter()
        // Metrics have no schema here (metrics-server publishes theirs).
        .filter(|r| !r.read_only)
        .map(|r| match server.inner.custom.get(&r.group, &r.version, &r.plural) {
            Some(custom) => custom.openapi_spec(),
            None => openapi::ResourceSpec::new(&r.group, &r.version, &r.kind, &r.plural, r.namespaced)
                .with_subresources(r.subresources.status, r.subresources.scale),
        })
        .collect()
}

fn respond(served: &openapi::Served, content_type: &str, if_none_match: Option<&str>) -> Response<Body> {
    let etag = served.etag();
    let builder = Response::builder()
        .header(http::header::ETAG, &etag)
        .header(http::header::VARY, "Accept")
        .header(http::header::CACHE_CONTROL, "no-cache, private");
    let resp = if if_none_match == Some(etag.as_str()) {
        builder.status(StatusCode::NOT_MODIFIED).body(body::empty())
    } else {
        builder
            .status(StatusCode::OK)
            .header(http::header::CONTENT_TYPE, content_type)
            .body(full(served.body()))
    };
    resp.unwrap_or_else(|_| Response::new(body::empty()))
}

/// Serves an OpenAPI path, with 304 for a client that has the current
/// version. Building the documents takes tens of milliseconds the first
/// time, so it runs off the reactor.
pub async fn serve(
    server: &ApiServer,
    path: &str,
    accept: Option<&str>,
    if_none_match: Option<&str>,
) -> Result<Response<Body>, ApiError> {
    let specs = specs(server);
    let cache: Arc<openapi::DocumentCache> = server.inner.openapi.clone();
    let wants_protobuf = accept.is_some_and(|a| a.contains("protobuf"));
    let path = path.trim_end_matches('/').to_string();
    let inm = if_none_match.map(str::to_string);
    tokio::task::spawn_blocking(move || {
        let docs = cache.documents(&specs);
        let inm = inm.as_deref();
        match path.as_str() {
            "/openapi/v2" if wants_protobuf => Ok(respond(docs.v2_protobuf(), openapi::V2_PROTOBUF_CONTENT_TYPE, inm)),
            "/openapi/v2" => Ok(respond(docs.v2(), "application/json", inm)),
            "/openapi/v3" => Ok(respond(docs.v3_index(), "application/json", inm)),
            p => {
                let gv = p.strip_prefix("/openapi/v3/").ok_or(ApiError::UnknownPath)?;
                let served = docs.v3(gv).ok_or(ApiError::UnknownPath)?;
                Ok(respond(served, "application/json", inm))
            }
        }
    })
    .await
    .map_err(|e| ApiError::Internal(format!("building OpenAPI documents: {e}")))?
}
