//! The authorizer end to end over an in-memory policy: decisions and their
//! reasons, the default roles as `kubectl auth can-i` sees them, escalation
//! and bind checks with Kubernetes' messages, and rules reviews.

#![allow(clippy::unwrap_used)] // tests may unwrap: a panic is a failure

use super::testing::{Indexed, MemRbac};
use super::*;
use serde_json::json;

fn user(name: &str, groups: &[&str]) -> User {
    let mut groups: Vec<String> = groups.iter().map(|g| g.to_string()).collect();
    groups.push("system:authenticated".into());
    User { name: name.into(), groups, ..Default::default() }
}

fn alice() -> User {
    user("alice", &[])
}

/// `resource` as kubectl spells it: `pods`, `deployments.apps`.
fn can<S: RbacSource + ?Sized>(
    src: &S,
    u: &User,
    verb: &str,
    ns: Option<&str>,
    resource: &str,
    sub: &str,
    name: &str,
) -> bool {
    let (resource, group) = resource.split_once('.').unwrap_or((resource, ""));
    authorize(src, &Attributes::resource(u.clone(), verb, ns, group, resource, sub, name)).is_allowed()
}

fn can_path<S: RbacSource + ?Sized>(src: &S, u: &User, verb: &str, path: &str) -> bool {
    authorize(src, &Attributes::non_resource(u.clone(), verb, path)).is_allowed()
}

/// alice is admin of ns-alice, through a RoleBinding to the `admin`
/// ClusterRole.
fn tenancy() -> MemRbac {
    MemRbac::bootstrap().bind(
        Some("ns-alice"),
        "alice-admin",
        "ClusterRole",
        "admin",
        json!([{"kind": "User", "name": "alice"}]),
    )
}

#[test]
fn authz_masters_bypass() {
    let root = User { name: "root".into(), groups: vec!["system:masters".into()], ..Default::default() };
    let empty = MemRbac::default();
    let d = authorize(&empty, &Attributes::resource(root.clone(), "delete", None, "", "nodes", "", "n1"));
    assert_eq!(d, Decision::Allow { reason: String::new() });
    assert!(can_path(&empty, &root, "post", "/anything"));
    assert!(
        confirm_no_escalation(
            &empty,
            &root,
            None,
            "clusterroles",
            "",
            &[json!({"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]})]
        )
        .is_ok()
    );
    assert!(can_bind(&empty, &root, None, &json!({"kind": "ClusterRole", "name": "missing"})).is_ok());
    // Without the group, nothing.
    let d = authorize(&empty, &Attributes::resource(alice(), "get", None, "", "nodes", "", "n1"));
    assert_eq!(d, Decision::Deny { reason: String::new() });
}

#[test]
fn authz_cluster_role_binding_applies_everywhere_with_reason() {
    let src = MemRbac::default()
        .with_cluster_role("pod-reader", json!([{"verbs": ["get", "list"], "apiGroups": [""], "resources": ["pods"]}]))
        .bind(None, "readers", "ClusterRole", "pod-reader", json!([{"kind": "Group", "name": "readers"}]));
    let bob = user("bob", &["readers"]);
    assert!(can(&src, &bob, "list", Some("a"), "pods", "", ""));
    assert!(can(&src, &bob, "list", None, "pods", "", ""));
    assert!(!can(&src, &bob, "delete", Some("a"), "pods", "", "p"));
    assert!(!can(&src, &alice(), "list", Some("a"), "pods", "", ""));
    let d = authorize(&src, &Attributes::resource(bob, "get", Some("a"), "", "pods", "", "p"));
    assert_eq!(
        d,
        Decision::Allow {
            reason:
                "RBAC: allowed by ClusterRoleBinding \"readers\" of ClusterRole \"pod-reader\" to Group \"readers\""
                    .into()
        }
    );
}

#[test]
fn authz_role_binding_to_cluster_role_is_scoped_to_its_namespace() {
    let src = tenancy();
    let a = alice();
    assert!(can(&src, &a, "create", Some("ns-alice"), "pods", "", ""));
    assert!(can(&src, &a, "get", Some("ns-alice"), "secrets", "", "s"));
    assert!(can(&src, &a, "create", Some("ns-alice"), "rolebindings.rbac.authorization.k8s.io", "", ""));
    assert!(!can(&src, &a, "list", Some("ns-bob"), "pods", "", ""));
    assert!(!can(&src, &a, "get", Some("ns-bob"), "secrets", "", "s"));
    // All-namespace and cluster-scoped requests consult no RoleBinding.
    assert!(!can(&src, &a, "list", None, "secrets", "", ""));
    assert!(!can(&src, &a, "list", None, "namespaces", "", ""));
    assert!(can(&src, &a, "get", Some("ns-alice"), "namespaces", "", "ns-alice"));
    let d = authorize(&src, &Attributes::resource(a, "delete", Some("ns-alice"), "apps", "deployments", "", "web"));
    assert_eq!(
        d,
        Decision::Allow {
            reason: "RBAC: allowed by RoleBinding \"alice-admin/ns-alice\" of ClusterRole \"admin\" to User \"alice\""
                .into()
        }
    );
}

#[test]
fn authz_roles_live_in_their_namespace() {
    let src = MemRbac::default()
        .with_role(
            "ns1",
            "cm",
            json!([{"verbs": ["get"], "apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["settings"]}]),
        )
        .with_role("ns2", "cm", json!([{"verbs": ["*"], "apiGroups": [""], "resources": ["configmaps"]}]))
        .bind(Some("ns1"), "cm", "Role", "cm", json!([{"kind": "User", "name": "alice"}]));
    let a = alice();
    assert!(can(&src, &a, "get", Some("ns1"), "configmaps", "", "settings"));
    assert!(!can(&src, &a, "get", Some("ns1"), "configmaps", "", "other"));
    assert!(!can(&src, &a, "list", Some("ns1"), "configmaps", "", ""));
    assert!(!can(&src, &a, "delete", Some("ns1"), "configmaps", "", "settings"));
    assert!(!can(&src, &a, "get", Some("ns2"), "configmaps", "", "settings"));
}

#[test]
fn authz_service_account_subjects() {
    let src = MemRbac::default()
        .with_cluster_role(
            "deployer",
            json!([{"verbs": ["create"], "apiGroups": ["apps"], "resources": ["deployments"]}]),
        )
        .bind(Some("ns1"), "local", "ClusterRole", "deployer", json!([{"kind": "ServiceAccount", "name": "builder"}]))
        .bind(
            None,
            "global",
            "ClusterRole",
            "deployer",
            json!([{"kind": "ServiceAccount", "name": "ci", "namespace": "tools"}]),
        );
    let builder = User { name: "system:serviceaccount:ns1:builder".into(), ..Default::default() };
    let other = User { name: "system:serviceaccount:ns2:builder".into(), ..Default::default() };
    let ci = User { name: "system:serviceaccount:tools:ci".into(), ..Default::default() };
    assert!(can(&src, &builder, "create", Some("ns1"), "deployments.apps", "", ""));
    assert!(!can(&src, &builder, "create", Some("ns2"), "deployments.apps", "", ""));
    assert!(!can(&src, &other, "create", Some("ns1"), "deployments.apps", "", ""));
    assert!(can(&src, &ci, "create", Some("anywhere"), "deployments.apps", "", ""));
    let d = authorize(&src, &Attributes::resource(builder, "create", Some("ns1"), "apps", "deployments", "", ""));
    assert_eq!(
        d.reason(),
        "RBAC: allowed by RoleBinding \"local/ns1\" of ClusterRole \"deployer\" to ServiceAccount \"builder/ns1\""
    );
}

#[test]
fn authz_missing_roles_are_the_deny_reason() {
    let src = MemRbac::default()
        .bind(Some("ns1"), "gone", "Role", "gone", json!([{"kind": "User", "name": "alice"}]))
        .bind(None, "gone-too", "ClusterRole", "gone-too", json!([{"kind": "Group", "name": "system:authenticated"}]));
    let attrs = Attributes::resource(alice(), "list", Some("ns1"), "", "pods", "", "");
    let d = authorize(&src, &attrs);
    assert_eq!(
        d,
        Decision::Deny {
            reason: "RBAC: [clusterrole.rbac.authorization.k8s.io \"gone-too\" not found, role.rbac.authorization.k8s.io \"gone\" not found]".into()
        }
    );
    assert_eq!(
        forbidden_message_with_reason(&attrs, d.reason()),
        "pods is forbidden: User \"alice\" cannot list resource \"pods\" in API group \"\" in the namespace \"ns1\": RBAC: [clusterrole.rbac.authorization.k8s.io \"gone-too\" not found, role.rbac.authorization.k8s.io \"gone\" not found]"
    );
    let review = rules_review(&src, &alice(), "");
    assert_eq!(
        review.evaluation_error.as_deref(),
        Some("clusterrole.rbac.authorization.k8s.io \"gone-too\" not found")
    );
}

#[test]
fn authz_can_i_with_default_roles() {
    let mem = MemRbac::bootstrap()
        .bind(Some("dev"), "e", "ClusterRole", "edit", json!([{"kind": "User", "name": "ed"}]))
        .bind(Some("dev"), "v", "ClusterRole", "view", json!([{"kind": "User", "name": "vi"}]))
        .bind(Some("dev"), "a", "ClusterRole", "admin", json!([{"kind": "User", "name": "ad"}]));
    // The same answers whether bindings are copied or lent from an index.
    let indexed = Indexed::new(mem.clone());
    let sources: [&dyn RbacSource; 2] = [&mem, &indexed];
    for src in sources {
        can_i_with_default_roles(src);
    }
}

fn can_i_with_default_roles(src: &dyn RbacSource) {
    let (ed, vi, ad) = (user("ed", &[]), user("vi", &[]), user("ad", &[]));
    let ns = Some("dev");
    let table: Vec<(&User, &str, &str, &str, bool)> = vec![
        (&ed, "create", "deployments.apps", "", true),
        (&ed, "patch", "deployments.apps", "scale", true),
        (&ed, "get", "secrets", "", true),
        (&ed, "create", "secrets", "", true),
        (&ed, "create", "pods", "exec", true),
        (&ed, "get", "pods", "log", true),
        (&ed, "create", "serviceaccounts", "token", true),
        (&ed, "impersonate", "serviceaccounts", "", true),
        (&ed, "list", "leases.coordination.k8s.io", "", true),
        (&ed, "create", "ingresses.networking.k8s.io", "", true),
        (&ed, "create", "roles.rbac.authorization.k8s.io", "", false),
        (&ed, "list", "rolebindings.rbac.authorization.k8s.io", "", false),
        (&ed, "update", "resourcequotas", "", false),
        (&ed, "update", "deployments.apps", "status", false),
        (&ed, "delete", "namespaces", "", false),
        (&ed, "create", "endpoints", "", false),
        (&vi, "list", "pods", "", true),
        (&vi, "get", "deployments.apps", "status", true),
        (&vi, "get", "pods", "log", true),
        (&vi, "get", "secrets", "", false),
        (&vi, "create", "pods", "exec", false),
        (&vi, "delete", "pods", "", false),
        (&ad, "create", "roles.rbac.authorization.k8s.io", "", true),
        (&ad, "create", "localsubjectaccessreviews.authorization.k8s.io", "", true),
        (&ad, "create", "deployments.apps", "", true),
        (&ad, "bind", "clusterroles.rbac.authorization.k8s.io", "", false),
        (&ad, "escalate", "roles.rbac.authorization.k8s.io", "", false),
        (&ad, "update", "resourcequotas", "", false),
    ];
    for (u, verb, resource, sub, want) in table {
        assert_eq!(can(src, u, verb, ns, resource, sub, ""), want, "{} {verb} {resource} {sub}", u.name);
        // Nothing outside the namespace.
        assert!(!can(src, u, verb, Some("prod"), resource, sub, ""), "{} {verb} {resource} in prod", u.name);
    }
    // Everyone authenticated may discover and review themselves.
    let a = alice();
    assert!(can(src, &a, "create", None, "selfsubjectaccessreviews.authorization.k8s.io", "", ""));
    assert!(can(src, &a, "create", None, "selfsubjectrulesreviews.authorization.k8s.io", "", ""));
    assert!(can(src, &a, "create", None, "selfsubjectreviews.authentication.k8s.io", "", ""));
    assert!(!can(src, &a, "create", None, "subjectaccessreviews.authorization.k8s.io", "", ""));
    for path in
        ["/api", "/api/v1", "/apis", "/apis/apps/v1", "/openapi/v3", "/version", "/healthz", "/livez", "/readyz"]
    {
        assert!(can_path(src, &a, "get", path), "{path}");
    }
    assert!(!can_path(src, &a, "get", "/metrics"));
    assert!(!can_path(src, &a, "post", "/api"));
    let anonymous =
        User { name: "system:anonymous".into(), groups: vec!["system:unauthenticated".into()], ..Default::default() };
    assert!(can_path(src, &anonymous, "get", "/healthz"));
    assert!(can_path(src, &anonymous, "get", "/version"));
    assert!(!can_path(src, &anonymous, "get", "/api"));
    assert!(!can(src, &anonymous, "create", None, "selfsubjectaccessreviews.authorization.k8s.io", "", ""));
}

const ALICE_GRANTS: &str =
    "user \"alice\" (groups=[\"system:authenticated\"]) is attempting to grant RBAC permissions not currently held:";

#[test]
fn authz_escalation_accepted_and_refused() {
    let src = tenancy();
    let a = alice();
    let pods = json!({"verbs": ["get", "list"], "apiGroups": [""], "resources": ["pods"]});
    assert_eq!(confirm_no_escalation(&src, &a, Some("ns-alice"), "roles", "", std::slice::from_ref(&pods)), Ok(()));
    // Not in another namespace, not cluster-wide.
    assert_eq!(
        confirm_no_escalation(&src, &a, Some("ns-bob"), "roles", "", std::slice::from_ref(&pods)),
        Err(format!("{ALICE_GRANTS}\n{{APIGroups:[\"\"], Resources:[\"pods\"], Verbs:[\"get\" \"list\"]}}"))
    );
    assert_eq!(
        confirm_no_escalation(&src, &a, None, "clusterroles", "", std::slice::from_ref(&pods)),
        Err(format!("{ALICE_GRANTS}\n{{APIGroups:[\"\"], Resources:[\"pods\"], Verbs:[\"get\" \"list\"]}}"))
    );
    let mixed = [
        json!({"verbs": ["get", "escalate"], "apiGroups": ["", "apps"], "resources": ["pods", "nodes"]}),
        json!({"verbs": ["get"], "nonResourceURLs": ["/metrics", "/healthz"]}),
        json!({"verbs": ["update"], "apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["a", "b"]}),
    ];
    assert_eq!(
        confirm_no_escalation(&src, &a, Some("ns-alice"), "roles", "", &mixed),
        Err(format!(
            "{ALICE_GRANTS}\n{}",
            [
                "{APIGroups:[\"\"], Resources:[\"nodes\"], Verbs:[\"get\" \"escalate\"]}",
                "{APIGroups:[\"\"], Resources:[\"pods\"], Verbs:[\"escalate\"]}",
                "{APIGroups:[\"apps\"], Resources:[\"nodes\"], Verbs:[\"get\" \"escalate\"]}",
                "{APIGroups:[\"apps\"], Resources:[\"pods\"], Verbs:[\"get\" \"escalate\"]}",
                "{NonResourceURLs:[\"/metrics\"], Verbs:[\"get\"]}",
            ]
            .join("\n")
        ))
    );
    // The escalate verb lifts the check, for the resource it names.
    let src = src
        .with_cluster_role(
            "escalator",
            json!([{"verbs": ["escalate"], "apiGroups": ["rbac.authorization.k8s.io"], "resources": ["clusterroles"]}]),
        )
        .bind(None, "alice-escalates", "ClusterRole", "escalator", json!([{"kind": "User", "name": "alice"}]));
    assert_eq!(confirm_no_escalation(&src, &a, None, "clusterroles", "", &mixed), Ok(()));
    assert!(confirm_no_escalation(&src, &a, Some("ns-alice"), "roles", "", &mixed).is_err());
}

#[test]
fn authz_escalation_reports_resolution_errors() {
    let src = tenancy().bind(Some("ns-alice"), "stale", "Role", "gone", json!([{"kind": "User", "name": "alice"}]));
    let nodes = json!({"verbs": ["list"], "apiGroups": [""], "resources": ["nodes"]});
    assert_eq!(
        confirm_no_escalation(&src, &alice(), Some("ns-alice"), "roles", "", &[nodes]),
        Err(format!(
            "{ALICE_GRANTS}\n{{APIGroups:[\"\"], Resources:[\"nodes\"], Verbs:[\"list\"]}}; resolution errors: [roles.rbac.authorization.k8s.io \"gone\" not found]"
        ))
    );
}

#[test]
fn authz_bind_check() {
    let src = tenancy();
    let a = alice();
    let cluster_role =
        |name: &str| json!({"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name});
    // What she holds in her namespace she may hand out there.
    assert_eq!(can_bind(&src, &a, Some("ns-alice"), &cluster_role("edit")), Ok(()));
    assert_eq!(can_bind(&src, &a, Some("ns-alice"), &cluster_role("admin")), Ok(()));
    assert_eq!(
        can_bind(&src, &a, Some("ns-alice"), &cluster_role("cluster-admin")),
        Err(format!(
            "{ALICE_GRANTS}\n{{APIGroups:[\"*\"], Resources:[\"*\"], Verbs:[\"*\"]}}\n{{NonResourceURLs:[\"*\"], Verbs:[\"*\"]}}"
        ))
    );
    assert!(can_bind(&src, &a, Some("ns-bob"), &cluster_role("view")).is_err());
    assert!(can_bind(&src, &a, None, &cluster_role("view")).is_err());
    assert_eq!(
        check_bind(&src, &a, Some("ns-alice"), &cluster_role("nope")),
        Err(BindError::Role(ResolveError::RoleNotFound { resource: "clusterroles", name: "nope".into() }))
    );
    assert_eq!(
        can_bind(&src, &a, Some("ns-alice"), &json!({"kind": "Role", "name": "nope"})),
        Err("roles.rbac.authorization.k8s.io \"nope\" not found".into())
    );
    // The bind verb, limited by name and namespace.
    let src = src
        .with_cluster_role(
            "binder",
            json!([{"verbs": ["bind"], "apiGroups": ["rbac.authorization.k8s.io"], "resources": ["clusterroles"], "resourceNames": ["cluster-admin"]}]),
        )
        .bind(Some("ns-alice"), "alice-binds", "ClusterRole", "binder", json!([{"kind": "User", "name": "alice"}]));
    assert_eq!(can_bind(&src, &a, Some("ns-alice"), &cluster_role("cluster-admin")), Ok(()));
    assert!(can_bind(&src, &a, None, &cluster_role("cluster-admin")).is_err());
    assert!(can_bind(&src, &a, Some("ns-bob"), &cluster_role("cluster-admin")).is_err());
}

#[test]
fn authz_rules_for_merges_cluster_and_namespace_rules() {
    let src = MemRbac::default()
        .with_cluster_role(
            "reader",
            json!([
                {"verbs": ["get", "list"], "apiGroups": [""], "resources": ["pods"]},
                {"verbs": ["get"], "nonResourceURLs": ["/healthz", "/api/*"]},
            ]),
        )
        .with_role(
            "ns1",
            "writer",
            json!([{"verbs": ["update"], "apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["cfg"]}]),
        )
        .with_role("ns2", "other", json!([{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}]))
        .bind(None, "r", "ClusterRole", "reader", json!([{"kind": "Group", "name": "system:authenticated"}]))
        .bind(Some("ns1"), "w", "Role", "writer", json!([{"kind": "User", "name": "alice"}]))
        .bind(Some("ns2"), "o", "Role", "other", json!([{"kind": "User", "name": "alice"}]))
        .bind(Some("ns1"), "not-her", "Role", "writer", json!([{"kind": "User", "name": "bob"}]));
    let (resource, non_resource, incomplete) = rules_for(&src, &alice(), "ns1");
    assert_eq!(
        resource,
        vec![
            json!({"verbs": ["get", "list"], "apiGroups": [""], "resources": ["pods"]}),
            json!({"verbs": ["update"], "apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["cfg"]}),
        ]
    );
    assert_eq!(non_resource, vec![json!({"verbs": ["get"], "nonResourceURLs": ["/healthz", "/api/*"]})]);
    assert!(!incomplete);
    let (resource, _, _) = rules_for(&src, &alice(), "");
    assert_eq!(resource, vec![json!({"verbs": ["get", "list"], "apiGroups": [""], "resources": ["pods"]})]);
    assert_eq!(rules_review(&src, &alice(), "ns1").evaluation_error, None);
}

#[test]
fn authz_rules_for_tenant_admin() {
    let src = tenancy();
    let review = rules_review(&src, &alice(), "ns-alice");
    // basic-user's two rules, then admin's aggregated rules.
    let admin = src.cluster_role("admin").unwrap();
    let admin_rules = admin["rules"].as_array().unwrap();
    assert_eq!(review.resource_rules.len(), 2 + admin_rules.len());
    assert_eq!(
        review.resource_rules[0],
        json!({"verbs": ["create"], "apiGroups": ["authorization.k8s.io"], "resources": ["selfsubjectaccessreviews", "selfsubjectrulesreviews"]})
    );
    assert_eq!(&review.resource_rules[2..], admin_rules.as_slice());
    assert_eq!(
        review.non_resource_rules,
        vec![
            json!({"verbs": ["get"], "nonResourceURLs": ["/api", "/api/*", "/apis", "/apis/*", "/healthz", "/livez", "/openapi", "/openapi/*", "/readyz", "/version", "/version/"]}),
            json!({"verbs": ["get"], "nonResourceURLs": ["/healthz", "/livez", "/readyz", "/version", "/version/"]}),
        ]
    );
    // In someone else's namespace only the cluster-wide rules remain.
    assert_eq!(rules_review(&src, &alice(), "ns-bob").resource_rules.len(), 2);
}
