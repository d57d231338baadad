//! Turns a request path and method into what is being asked: which group,
//! version, resource, namespace, name and subresource, and which verb.

use http::Method;

/// The verbs of the Kubernetes API (as RBAC names them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    Get,
    List,
    Watch,
    Create,
    Update,
    Patch,
    Delete,
    DeleteCollection,
}

impl Verb {
    pub fn as_str(self) -> &'static str {
        match self {
            Verb::Get => "get",
            Verb::List => "list",
            Verb::Watch => "watch",
            Verb::Create => "create",
            Verb::Update => "update",
            Verb::Patch => "patch",
            Verb::Delete => "delete",
            Verb::DeleteCollection => "deletecollection",
        }
    }
}

/// A request for an object or a collection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceRequest {
    pub verb: Verb,
    pub group: String,
    pub version: String,
    pub resource: String,
    pub namespace: Option<String>,
    pub name: Option<String>,
    pub subresource: Option<String>,
}

/// What a path addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestInfo {
    Resource(ResourceRequest),
    /// `/api`, `/apis`, `/api/v1`, `/apis/apps`, `/apis/apps/v1`.
    Discovery { group: Option<String>, version: Option<String>, legacy: bool },
    /// Everything else: `/version`, `/healthz`, `/openapi/v2` ...
    NonResource(String),
}

/// Parses a request. `watch` is the value of the `watch` query parameter.
pub fn parse(method: &Method, path: &str, watch_param: bool) -> RequestInfo {
    let parts: Vec<&str> = path.trim_matches('/').split('/').filter(|s| !s.is_empty()).collect();
    let (group, version, rest) = match parts.as_slice() {
        ["api"] => return RequestInfo::Discovery { group: None, version: None, legacy: true },
        ["api", v] => {
            return RequestInfo::Discovery { group: Some(String::new()), version: Some(v.to_string()), legacy: true };
        }
        ["api", v, rest @ ..] => (String::new(), v.to_string(), rest),
        ["apis"] => return RequestInfo::Discovery { group: None, version: None, legacy: false },
        ["apis", g] => return RequestInfo::Discovery { group: Some(g.to_string()), version: None, legacy: false },
        ["apis", g, v] => {
            return RequestInfo::Discovery { group: Some(g.to_string()), version: Some(v.to_string()), legacy: false };
        }
        ["apis", g, v, rest @ ..] => (g.to_string(), v.to_string(), rest),
        _ => return RequestInfo::NonResource(path.to_string()),
    };
    // The deprecated `/watch/` path prefix is the same as `?watch=true`.
    let (watch_prefix, rest) = match rest {
        ["watch", rest @ ..] => (true, rest),
        _ => (false, rest),
    };
    // `namespaces/{ns}/{resource}...` addresses namespaced resources, but
    // `namespaces/{name}` and `namespaces/{name}/{status|finalize}` are the
    // namespace object itself.
    let (namespace, rest): (Option<String>, &[&str]) = match rest {
        ["namespaces", ns, tail @ ..] if addresses_namespaced(tail) => (Some(ns.to_string()), tail),
        _ => (None, rest),
    };
    let (resource, name, subresource) = match rest {
        [r] => (r.to_string(), None, None),
        [r, n] => (r.to_string(), Some(n.to_string()), None),
        [r, n, s] => (r.to_string(), Some(n.to_string()), Some(s.to_string())),
        _ => return RequestInfo::NonResource(path.to_string()),
    };
    let watch = watch_prefix || watch_param;
    let verb = match (method.clone(), name.is_some()) {
        (Method::GET | Method::HEAD, _) if watch => Verb::Watch,
        (Method::GET | Method::HEAD, true) => Verb::Get,
        (Method::GET | Method::HEAD, false) => Verb::List,
        (Method::POST, _) => Verb::Create,
        (Method::PUT, _) => Verb::Update,
        (Method::PATCH, _) => Verb::Patch,
        (Method::DELETE, true) => Verb::Delete,
        (Method::DELETE, false) => Verb::DeleteCollection,
        _ => return RequestInfo::NonResource(path.to_string()),
    };
    // Opening a stream into a pod (a WebSocket starts with a GET) needs
    // `create`, as Kubernetes authorizes it since 1.30.
    let verb = match (verb, subresource.as_deref()) {
        (Verb::Get, Some("exec" | "attach" | "portforward")) if group.is_empty() && resource == "pods" => Verb::Create,
        (verb, _) => verb,
    };
    RequestInfo::Resource(ResourceRequest { verb, group, version, resource, namespace, name, subresource })
}

/// Whether what follows `namespaces/{ns}/` is a namespaced resource rather
/// than the namespace's own subresource.
fn addresses_namespaced(tail: &[&str]) -> bool {
    match tail {
        [] => false,
        [one] => !matches!(*one, "status" | "finalize"),
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn res(method: Method, path: &str) -> ResourceRequest {
        match parse(&method, path, false) {
            RequestInfo::Resource(r) => r,
            other => panic!("expected a resource request, got {other:?}"),
        }
    }

    #[test]
    fn request_info_namespaced_object() {
        let r = res(Method::GET, "/apis/apps/v1/namespaces/shop/deployments/web");
        assert_eq!(r.verb, Verb::Get);
        assert_eq!((r.group.as_str(), r.version.as_str(), r.resource.as_str()), ("apps", "v1", "deployments"));
        assert_eq!(r.namespace.as_deref(), Some("shop"));
        assert_eq!(r.name.as_deref(), Some("web"));
    }

    #[test]
    fn request_info_subresource_and_collection() {
        let r = res(Method::PUT, "/apis/apps/v1/namespaces/shop/deployments/web/scale");
        assert_eq!(r.subresource.as_deref(), Some("scale"));
        assert_eq!(r.verb, Verb::Update);
        let r = res(Method::DELETE, "/api/v1/namespaces/shop/pods");
        assert_eq!(r.verb, Verb::DeleteCollection);
        let r = res(Method::GET, "/api/v1/pods");
        assert_eq!((r.verb, r.namespace), (Verb::List, None));
    }

    #[test]
    fn request_info_namespace_itself() {
        let r = res(Method::GET, "/api/v1/namespaces/shop");
        assert_eq!((r.resource.as_str(), r.name.as_deref(), r.namespace), ("namespaces", Some("shop"), None));
        let r = res(Method::PUT, "/api/v1/namespaces/shop/finalize");
        assert_eq!((r.resource.as_str(), r.subresource.as_deref()), ("namespaces", Some("finalize")));
        let r = res(Method::GET, "/api/v1/namespaces/shop/configmaps");
        assert_eq!((r.resource.as_str(), r.namespace.as_deref()), ("configmaps", Some("shop")));
    }

    #[test]
    fn request_info_watch_forms() {
        assert_eq!(res(Method::GET, "/api/v1/watch/namespaces/a/pods").verb, Verb::Watch);
        match parse(&Method::GET, "/api/v1/pods", true) {
            RequestInfo::Resource(r) => assert_eq!(r.verb, Verb::Watch),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn request_info_discovery_and_other() {
        assert!(matches!(parse(&Method::GET, "/apis/apps/v1", false), RequestInfo::Discovery { .. }));
        assert!(matches!(parse(&Method::GET, "/version", false), RequestInfo::NonResource(_)));
        assert!(matches!(parse(&Method::GET, "/api/v1/a/b/c/d", false), RequestInfo::NonResource(_)));
    }
}
