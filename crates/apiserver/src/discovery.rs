//! Discovery: the legacy documents (`/api`, `/apis`, `/api/v1`,
//! `/apis/<g>/<v>`) and aggregated discovery (`apidiscovery.k8s.io` v2 and
//! v2beta1) when the client's Accept header asks for it.

use crate::body::{self, Body, full};
use crate::error::ApiError;
use apimachinery::registry::{Registry, Resource};
use http::{Response, StatusCode};
use serde_json::{Value, json};

const SUB_VERBS: &[&str] = &["get", "patch", "update"];

/// Which aggregated discovery version the client accepts, if any.
fn aggregated_version(accept: Option<&str>) -> Option<&'static str> {
    let accept = accept?;
    for clause in accept.split(',') {
        let params: Vec<&str> = clause.split(';').map(str::trim).collect();
        let has = |p: &str| params.contains(&p);
        if has("g=apidiscovery.k8s.io") && has("as=APIGroupDiscoveryList") {
            if has("v=v2") {
                return Some("v2");
            }
            if has("v=v2beta1") {
                return Some("v2beta1");
            }
        }
    }
    None
}

pub fn serve(
    registry: &Registry,
    legacy: bool,
    group: Option<&str>,
    version: Option<&str>,
    accept: Option<&str>,
) -> Result<Response<Body>, ApiError> {
    match (legacy, group, version) {
        (true, None, None) => match aggregated_version(accept) {
            Some(v) => Ok(aggregated(registry, true, v)),
            None => Ok(body::json(StatusCode::OK, &json!({
                "kind": "APIVersions",
                "versions": ["v1"],
                "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": ""}],
            }))),
        },
        (false, None, None) => match aggregated_version(accept) {
            Some(v) => Ok(aggregated(registry, false, v)),
            None => {
                let groups: Vec<Value> = registry
                    .groups()
                    .into_iter()
                    .filter(|(g, _)| !g.is_empty())
                    .map(|(g, versions)| api_group(&g, &versions))
                    .collect();
                Ok(body::json(StatusCode::OK, &json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})))
            }
        },
        (false, Some(g), None) => {
            let (_, versions) = registry
                .groups()
                .into_iter()
                .find(|(name, _)| name == g && !name.is_empty())
                .ok_or(ApiError::UnknownPath)?;
            let mut doc = api_group(g, &versions);
            doc["kind"] = json!("APIGroup");
            doc["apiVersion"] = json!("v1");
            Ok(body::json(StatusCode::OK, &doc))
        }
        (_, Some(g), Some(v)) => {
            if !registry.serves(g, v) {
                return Err(ApiError::UnknownPath);
            }
            let gv = if g.is_empty() { v.to_string() } else { format!("{g}/{v}") };
            let mut resources = Vec::new();
            for r in registry.resources_of(g, v) {
                resources.push(json!({
                    "name": r.plural,
                    "singularName": r.singular,
                    "namespaced": r.namespaced,
                    "kind": r.kind,
                    "verbs": r.verbs(),
                    "shortNames": r.short_names,
                    "categories": r.categories,
                }));
                for (sub, sub_group, sub_version, sub_kind, verbs) in subresources(&r) {
                    let mut s = json!({
                        "name": format!("{}/{}", r.plural, sub),
                        "singularName": "",
                        "namespaced": r.namespaced,
                        "kind": sub_kind,
                        "verbs": verbs,
                    });
                    if sub_group != r.group || sub_version != r.version {
                        s["group"] = json!(sub_group);
                        s["version"] = json!(sub_version);
                    }
                    resources.push(s);
                }
            }
            Ok(body::json(StatusCode::OK, &json!({
                "kind": "APIResourceList",
                "apiVersion": "v1",
                "groupVersion": gv,
                "resources": resources,
            })))
        }
        _ => Err(ApiError::UnknownPath),
    }
}

fn api_group(group: &str, versions: &[String]) -> Value {
    let vs: Vec<Value> = versions
        .iter()
        .map(|v| json!({"groupVersion": format!("{group}/{v}"), "version": v}))
        .collect();
    let preferred = vs.first().cloned().unwrap_or(Value::Null);
    json!({"name": group, "versions": vs, "preferredVersion": preferred})
}

/// The subresources of a resource: (name, group, version, kind of the body).
fn subresources(r: &Resource) -> Vec<(&'static str, String, String, String, &'static [&'static str])> {
    let mut subs: Vec<(&'static str, String, String, String, &'static [&'static str])> = Vec::new();
    if r.group.is_empty() && r.plural == "serviceaccounts" {
        subs.push(("token", "authentication.k8s.io".to_string(), "v1".to_string(), "TokenRequest".to_string(), &["create"]));
    }
    if r.group.is_empty() && r.plural == "pods" {
        subs.push(("binding", String::new(), "v1".to_string(), "Binding".to_string(), &["create"]));
    }
    if r.subresources.scale {
        subs.push(("scale", "autoscaling".to_string(), "v1".to_string(), "Scale".to_string(), SUB_VERBS));
    }
    if r.subresources.status {
        subs.push(("status", r.group.clone(), r.version.clone(), r.kind.clone(), SUB_VERBS));
    }
    subs
}

fn aggregated(registry: &Registry, legacy: bool, version: &str) -> Response<Body> {
    let mut items = Vec::new();
    for (group, versions) in registry.groups() {
        if group.is_empty() != legacy {
            continue;
        }
        let vs: Vec<Value> = versions
            .iter()
            .map(|v| {
                let resources: Vec<Value> = registry
                    .resources_of(&group, v)
                    .iter()
                    .map(|r| {
                        let subs: Vec<Value> = subresources(r)
                            .into_iter()
                            .map(|(name, g, sv, k, verbs)| {
                                json!({
                                    "subresource": name,
                                    "responseKind": {"group": g, "version": sv, "kind": k},
                                    "verbs": verbs,
                                })
                            })
                            .collect();
                        let mut res = json!({
                            "resource": r.plural,
                            "responseKind": {"group": r.group, "version": r.version, "kind": r.kind},
                            "scope": if r.namespaced { "Namespaced" } else { "Cluster" },
                            "singularResource": r.singular,
                            "verbs": r.verbs(),
                        });
                        if !r.short_names.is_empty() {
                            res["shortNames"] = json!(r.short_names);
                        }
                        if !r.categories.is_empty() {
                            res["categories"] = json!(r.categories);
                        }
                        if !subs.is_empty() {
                            res["subresources"] = json!(subs);
                        }
                        res
                    })
                    .collect();
                json!({"version": v, "resources": resources, "freshness": "Current"})
            })
            .collect();
        items.push(json!({"metadata": {"name": group, "creationTimestamp": null}, "versions": vs}));
    }
    let doc = json!({
        "kind": "APIGroupDiscoveryList",
        "apiVersion": format!("apidiscovery.k8s.io/{version}"),
        "metadata": {},
        "items": items,
    });
    let bytes = serde_json::to_vec(&doc).unwrap_or_default();
    Response::builder()
        .status(StatusCode::OK)
        .header(
            http::header::CONTENT_TYPE,
            format!("application/json;g=apidiscovery.k8s.io;v={version};as=APIGroupDiscoveryList"),
        )
        .header(http::header::VARY, "Accept")
        .body(full(bytes))
        .unwrap_or_else(|_| Response::new(body::empty()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discovery_aggregated_accept_header() {
        let a = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json";
        assert_eq!(aggregated_version(Some(a)), Some("v2"));
        assert_eq!(aggregated_version(Some("application/json")), None);
    }

    #[test]
    fn discovery_unknown_group_version_is_404() {
        let reg = Registry::builtin();
        assert!(serve(&reg, false, Some("nope"), Some("v1"), None).is_err());
        assert!(serve(&reg, false, Some("apps"), Some("v1"), None).is_ok());
    }
}
