//! Which rules apply to a user in a namespace (RBAC's `VisitRulesFor`):
//! every ClusterRoleBinding naming the user, then, for a namespaced
//! request, every RoleBinding of that namespace naming the user, each
//! resolved to the rules of the role it references.

use super::RbacSource;
use super::quote::quote;
use crate::auth::User;
use serde_json::Value;

/// Why a binding's rules could not be read; RBAC reports these beside a
/// refusal instead of failing the request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    /// The referenced Role or ClusterRole does not exist.
    #[error("{resource}.rbac.authorization.k8s.io {} not found", quote(.name))]
    RoleNotFound { resource: &'static str, name: String },
    /// A roleRef kind other than Role or ClusterRole.
    #[error("unsupported role reference kind: {}", quote(.0))]
    UnsupportedKind(String),
}

/// How a missing role is named: the authorizer reads through informer
/// listers (`clusterrole.rbac...`), the RBAC REST storage through the
/// registry (`clusterroles.rbac...`), and the messages differ accordingly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Names {
    Lister,
    Registry,
}

/// The binding and subject a rule came from, described lazily because only
/// an allowing rule's source is ever printed.
pub(crate) struct Source<'a> {
    cluster: bool,
    binding: &'a Value,
    subject: &'a Value,
}

/// The string at `path` (field names) in `v`, empty when absent. Not
/// `Value::pointer`, which allocates per segment: this runs for every
/// binding on every request.
fn text<'a>(v: &'a Value, path: &[&str]) -> &'a str {
    path.iter().try_fold(v, |v, field| v.get(field)).and_then(Value::as_str).unwrap_or_default()
}

impl Source<'_> {
    /// `ClusterRoleBinding "x" of ClusterRole "y" to Group "z"`, as RBAC's
    /// allow reasons say it.
    pub(crate) fn describe(&self) -> String {
        let name = text(self.binding, &["metadata", "name"]);
        let namespace = text(self.binding, &["metadata", "namespace"]);
        let kind = text(self.binding, &["roleRef", "kind"]);
        let role = text(self.binding, &["roleRef", "name"]);
        let subject_kind = text(self.subject, &["kind"]);
        let subject_name = text(self.subject, &["name"]);
        let subject = if subject_kind == "ServiceAccount" {
            let sa_ns = match text(self.subject, &["namespace"]) {
                "" if self.cluster => "",
                "" => namespace,
                ns => ns,
            };
            format!("{subject_kind} {}", quote(&format!("{subject_name}/{sa_ns}")))
        } else {
            format!("{subject_kind} {}", quote(subject_name))
        };
        if self.cluster {
            format!("ClusterRoleBinding {} of {kind} {} to {subject}", quote(name), quote(role))
        } else {
            format!("RoleBinding {} of {kind} {} to {subject}", quote(&format!("{name}/{namespace}")), quote(role))
        }
    }
}

/// What the visitor is shown: a rule with its source, or a binding whose
/// role could not be resolved.
pub(crate) enum Visit<'a> {
    Rule { source: &'a Source<'a>, rule: &'a Value },
    Error(ResolveError),
}

/// Whether `subject` names `user`; a ServiceAccount subject without a
/// namespace means the binding's own (and never matches in a
/// ClusterRoleBinding, which has none).
fn applies_to_user(user: &User, subject: &Value, namespace: &str) -> bool {
    let name = text(subject, &["name"]);
    match text(subject, &["kind"]) {
        "User" => user.name == name,
        "Group" => user.groups.iter().any(|g| g == name),
        "ServiceAccount" => {
            let sa_ns = match text(subject, &["namespace"]) {
                "" => namespace,
                ns => ns,
            };
            !sa_ns.is_empty() && service_account_username_is(&user.name, sa_ns, name)
        }
        _ => false,
    }
}

/// `system:serviceaccount:<namespace>:<name>`, compared without building it.
fn service_account_username_is(username: &str, namespace: &str, name: &str) -> bool {
    username
        .strip_prefix("system:serviceaccount:")
        .and_then(|rest| rest.strip_prefix(namespace))
        .and_then(|rest| rest.strip_prefix(':'))
        == Some(name)
}

/// The first subject of `binding` naming `user`.
fn subject_for<'a>(user: &User, binding: &'a Value, namespace: &str) -> Option<&'a Value> {
    binding.get("subjects")?.as_array()?.iter().find(|s| applies_to_user(user, s, namespace))
}

fn not_found(kind: &str, name: &str, names: Names) -> ResolveError {
    let resource = match (kind, names) {
        ("Role", Names::Lister) => "role",
        ("Role", Names::Registry) => "roles",
        (_, Names::Lister) => "clusterrole",
        (_, Names::Registry) => "clusterroles",
    };
    ResolveError::RoleNotFound { resource, name: name.to_string() }
}

/// The role a roleRef points at (a Role in the binding's namespace or a
/// ClusterRole), lent to `f`.
fn with_referenced_role<S: RbacSource + ?Sized>(
    src: &S,
    role_ref: &Value,
    binding_namespace: &str,
    names: Names,
    f: &mut dyn FnMut(Result<&Value, ResolveError>),
) {
    let name = text(role_ref, &["name"]);
    let kind = text(role_ref, &["kind"]);
    let mut lend = |role: Option<&Value>| f(role.ok_or_else(|| not_found(kind, name, names)));
    match kind {
        "Role" => src.with_role(binding_namespace, name, &mut lend),
        "ClusterRole" => src.with_cluster_role(name, &mut lend),
        other => f(Err(ResolveError::UnsupportedKind(other.to_string()))),
    }
}

/// The role a roleRef points at, copied.
pub(crate) fn referenced_role<S: RbacSource + ?Sized>(
    src: &S,
    role_ref: &Value,
    binding_namespace: &str,
    names: Names,
) -> Result<Value, ResolveError> {
    let mut found = Err(ResolveError::UnsupportedKind(String::new()));
    with_referenced_role(src, role_ref, binding_namespace, names, &mut |r| found = r.cloned());
    found
}

/// Shows `visitor` every rule that applies to `user` in `namespace` (only
/// cluster-wide ones for `""`), in RBAC's order, until it returns false.
pub(crate) fn visit_rules_for<S: RbacSource + ?Sized>(
    src: &S,
    user: &User,
    namespace: &str,
    names: Names,
    mut visitor: impl FnMut(Visit<'_>) -> bool,
) {
    let mut on_binding = |binding: &Value, cluster: bool| -> bool {
        let binding_ns = if cluster { "" } else { namespace };
        let Some(subject) = subject_for(user, binding, binding_ns) else { return true };
        let role_ref = binding.get("roleRef").unwrap_or(&Value::Null);
        let mut go_on = true;
        with_referenced_role(src, role_ref, binding_ns, names, &mut |role| match role {
            Err(e) => go_on = visitor(Visit::Error(e)),
            Ok(role) => {
                let source = Source { cluster, binding, subject };
                let rules = role.get("rules").and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[]);
                go_on = rules.iter().all(|rule| visitor(Visit::Rule { source: &source, rule }));
            }
        });
        go_on
    };
    let mut go_on = true;
    src.visit_cluster_role_bindings(user, &mut |b| {
        go_on = on_binding(b, true);
        go_on
    });
    if go_on && !namespace.is_empty() {
        src.visit_role_bindings(namespace, user, &mut |b| on_binding(b, false));
    }
}

/// Kubernetes' aggregate error text: one message as is, several as
/// `[a, b]` without repeats.
pub(crate) fn aggregate_message(errors: &[String]) -> String {
    let mut seen: Vec<&str> = Vec::new();
    for e in errors {
        if !seen.contains(&e.as_str()) {
            seen.push(e);
        }
    }
    match seen.as_slice() {
        [] => String::new(),
        [one] => (*one).to_string(),
        many => format!("[{}]", many.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn user(name: &str, groups: &[&str]) -> User {
        User { name: name.into(), groups: groups.iter().map(|g| g.to_string()).collect(), ..Default::default() }
    }

    #[test]
    fn authz_subjects_of_each_kind() {
        let alice = user("alice", &["devs", "system:authenticated"]);
        let sa = user("system:serviceaccount:ns1:builder", &["system:serviceaccounts"]);
        let cases = [
            (json!({"kind": "User", "name": "alice"}), &alice, "", true),
            (json!({"kind": "User", "name": "bob"}), &alice, "", false),
            (json!({"kind": "Group", "name": "devs"}), &alice, "", true),
            (json!({"kind": "Group", "name": "system:authenticated"}), &alice, "", true),
            (json!({"kind": "Group", "name": "ops"}), &alice, "", false),
            (json!({"kind": "ServiceAccount", "name": "builder", "namespace": "ns1"}), &sa, "", true),
            (json!({"kind": "ServiceAccount", "name": "builder", "namespace": "ns2"}), &sa, "ns1", false),
            (json!({"kind": "ServiceAccount", "name": "builder"}), &sa, "ns1", true),
            (json!({"kind": "ServiceAccount", "name": "builder"}), &sa, "ns2", false),
            // No namespace in a ClusterRoleBinding: never matches.
            (json!({"kind": "ServiceAccount", "name": "builder"}), &sa, "", false),
            (json!({"kind": "ServiceAccount", "name": "build"}), &sa, "ns1", false),
            // A user named like a service account is one.
            (json!({"kind": "User", "name": "system:serviceaccount:ns1:builder"}), &sa, "", true),
            (json!({"kind": "Robot", "name": "alice"}), &alice, "", false),
        ];
        for (i, (subject, u, ns, want)) in cases.iter().enumerate() {
            assert_eq!(applies_to_user(u, subject, ns), *want, "case {i}: {subject}");
        }
    }

    #[test]
    fn authz_describe_sources() {
        let crb = json!({"metadata": {"name": "admins"}, "roleRef": {"kind": "ClusterRole", "name": "cluster-admin"}});
        let group = json!({"kind": "Group", "name": "system:masters"});
        assert_eq!(
            Source { cluster: true, binding: &crb, subject: &group }.describe(),
            "ClusterRoleBinding \"admins\" of ClusterRole \"cluster-admin\" to Group \"system:masters\""
        );
        let rb = json!({"metadata": {"name": "dev", "namespace": "ns1"}, "roleRef": {"kind": "ClusterRole", "name": "edit"}});
        let sa = json!({"kind": "ServiceAccount", "name": "builder"});
        assert_eq!(
            Source { cluster: false, binding: &rb, subject: &sa }.describe(),
            "RoleBinding \"dev/ns1\" of ClusterRole \"edit\" to ServiceAccount \"builder/ns1\""
        );
    }

    #[test]
    fn authz_aggregate_messages() {
        assert_eq!(aggregate_message(&[]), "");
        assert_eq!(aggregate_message(&["a".into()]), "a");
        assert_eq!(aggregate_message(&["a".into(), "a".into()]), "a");
        assert_eq!(aggregate_message(&["a".into(), "b".into(), "a".into()]), "[a, b]");
        assert_eq!(
            ResolveError::RoleNotFound { resource: "clusterrole", name: "x".into() }.to_string(),
            "clusterrole.rbac.authorization.k8s.io \"x\" not found"
        );
    }
}
