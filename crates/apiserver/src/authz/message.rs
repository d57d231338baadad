//! The text of a 403: what kube-apiserver's `forbiddenMessage` says about
//! the request, inside the `<resource>[.<group>] ["<name>"] is forbidden:`
//! frame of `NewForbidden`.

use super::Attributes;
use super::quote::quote;

/// `User "alice" cannot list resource "pods" in API group "" in the
/// namespace "bob"` (or `... at the cluster scope`, or `cannot get path
/// "/metrics"` for non-resource requests).
pub fn forbidden_reason(attrs: &Attributes) -> String {
    let user = quote(&attrs.user.name);
    let verb = &attrs.verb;
    let text = if !attrs.resource_request {
        format!("User {user} cannot {verb} path {}", quote(&attrs.path))
    } else {
        let resource = if attrs.subresource.is_empty() {
            quote(&attrs.resource)
        } else {
            quote(&format!("{}/{}", attrs.resource, attrs.subresource))
        };
        let group = quote(&attrs.api_group);
        match attrs.namespace.as_deref().filter(|ns| !ns.is_empty()) {
            Some(ns) => format!(
                "User {user} cannot {verb} resource {resource} in API group {group} in the namespace {}",
                quote(ns)
            ),
            None => format!("User {user} cannot {verb} resource {resource} in API group {group} at the cluster scope"),
        }
    };
    // Kubernetes escapes these so the message is safe to show in a page.
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// The whole Status message of a refusal, e.g. `pods "web" is forbidden:
/// User "alice" cannot get resource "pods" in API group "" in the namespace
/// "bob"`.
pub fn forbidden_message(attrs: &Attributes) -> String {
    forbidden_message_with_reason(attrs, "")
}

/// Like [`forbidden_message`], followed by the authorizer's reason when it
/// gave one (`...: RBAC: clusterrole.rbac.authorization.k8s.io "x" not
/// found`).
pub fn forbidden_message_with_reason(attrs: &Attributes, reason: &str) -> String {
    let mut detail = forbidden_reason(attrs);
    if !reason.is_empty() {
        detail.push_str(": ");
        detail.push_str(reason);
    }
    if attrs.resource.is_empty() && attrs.api_group.is_empty() {
        return format!("forbidden: {detail}");
    }
    let what = if attrs.api_group.is_empty() {
        attrs.resource.clone()
    } else {
        format!("{}.{}", attrs.resource, attrs.api_group)
    };
    if attrs.name.is_empty() {
        format!("{what} is forbidden: {detail}")
    } else {
        format!("{what} {} is forbidden: {detail}", quote(&attrs.name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::User;

    fn alice() -> User {
        User { name: "alice".into(), groups: vec!["system:authenticated".into()], ..Default::default() }
    }

    #[test]
    fn authz_forbidden_messages_exact() {
        let list = Attributes::resource(alice(), "list", Some("bob"), "", "pods", "", "");
        assert_eq!(
            forbidden_message(&list),
            "pods is forbidden: User \"alice\" cannot list resource \"pods\" in API group \"\" in the namespace \"bob\""
        );
        let logs = Attributes::resource(alice(), "get", Some("bob"), "", "pods", "log", "web");
        assert_eq!(
            forbidden_message(&logs),
            "pods \"web\" is forbidden: User \"alice\" cannot get resource \"pods/log\" in API group \"\" in the namespace \"bob\""
        );
        let nodes = Attributes::resource(alice(), "list", None, "", "nodes", "", "");
        assert_eq!(
            forbidden_message(&nodes),
            "nodes is forbidden: User \"alice\" cannot list resource \"nodes\" in API group \"\" at the cluster scope"
        );
        let deploy = Attributes::resource(alice(), "create", Some("ns-bob"), "apps", "deployments", "", "");
        assert_eq!(
            forbidden_message(&deploy),
            "deployments.apps is forbidden: User \"alice\" cannot create resource \"deployments\" in API group \"apps\" in the namespace \"ns-bob\""
        );
        let crb =
            Attributes::resource(alice(), "delete", None, "rbac.authorization.k8s.io", "clusterrolebindings", "", "x");
        assert_eq!(
            forbidden_message(&crb),
            "clusterrolebindings.rbac.authorization.k8s.io \"x\" is forbidden: User \"alice\" cannot delete resource \"clusterrolebindings\" in API group \"rbac.authorization.k8s.io\" at the cluster scope"
        );
        let metrics = Attributes::non_resource(alice(), "get", "/metrics");
        assert_eq!(forbidden_message(&metrics), "forbidden: User \"alice\" cannot get path \"/metrics\"");
        assert_eq!(forbidden_reason(&metrics), "User \"alice\" cannot get path \"/metrics\"");
        let escaped = Attributes::non_resource(alice(), "get", "/x?a=<b>&c");
        assert_eq!(forbidden_reason(&escaped), "User \"alice\" cannot get path \"/x?a=&lt;b&gt;&amp;c\"");
        assert_eq!(
            forbidden_message_with_reason(&list, "RBAC: role.rbac.authorization.k8s.io \"gone\" not found"),
            "pods is forbidden: User \"alice\" cannot list resource \"pods\" in API group \"\" in the namespace \"bob\": RBAC: role.rbac.authorization.k8s.io \"gone\" not found"
        );
    }
}
