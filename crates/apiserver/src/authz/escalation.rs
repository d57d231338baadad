//! Escalation prevention: nobody grants what they do not hold. A Role or
//! ClusterRole may only be written by a user who already holds every
//! permission in it (or has `escalate` on it); a binding may only be
//! written by a user who holds every permission of the referenced role (or
//! has `bind` on it). `system:masters` is exempt, as the API server's own
//! loopback identity must be.

use super::quote::{quote, quote_list};
use super::resolver::{self, Names, ResolveError};
use super::review::policy_rules_for;
use super::rule::{self, PolicyRule};
use super::{Attributes, RbacSource, authorize};
use crate::auth::User;
use serde_json::Value;

const RBAC_GROUP: &str = "rbac.authorization.k8s.io";

/// Why a RoleBinding or ClusterRoleBinding may not be written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BindError {
    /// The referenced role does not exist; Kubernetes answers 404 with
    /// this message.
    #[error(transparent)]
    Role(#[from] ResolveError),
    /// The author holds neither `bind` on the role nor all its permissions;
    /// Kubernetes answers 403 with this message.
    #[error("{0}")]
    Escalation(String),
}

fn is_master(user: &User) -> bool {
    user.groups.iter().any(|g| g == crate::auth::MASTERS_GROUP)
}

fn allowed(
    src: &(impl RbacSource + ?Sized),
    user: &User,
    verb: &str,
    namespace: Option<&str>,
    group: &str,
    resource: &str,
    name: &str,
) -> bool {
    let attrs = Attributes::resource(user.clone(), verb, namespace, group, resource, "", name);
    authorize(src, &attrs).is_allowed()
}

/// Whether `user` may write a Role (`resource` = `roles`, in `namespace`)
/// or ClusterRole (`clusterroles`, no namespace) holding `rules`. `name` is
/// the name in the request path, empty for a create, as Kubernetes checks
/// `escalate` against the request. The error is Kubernetes' message, to be
/// wrapped as `<resource>.rbac.authorization.k8s.io "<name>" is forbidden: ...`.
pub fn confirm_no_escalation<S: RbacSource + ?Sized>(
    src: &S,
    user: &User,
    namespace: Option<&str>,
    resource: &str,
    name: &str,
    rules: &[Value],
) -> Result<(), String> {
    if is_master(user) {
        return Ok(());
    }
    if matches!(resource, "roles" | "clusterroles")
        && allowed(src, user, "escalate", namespace, RBAC_GROUP, resource, name)
    {
        return Ok(());
    }
    let rules: Vec<PolicyRule> = rules.iter().map(PolicyRule::from_value).collect();
    confirm_held(src, user, namespace.unwrap_or_default(), &rules)
}

/// Kubernetes' `ConfirmNoEscalation`: `user`'s rules in `namespace` must
/// cover `rules`, or the error lists what is missing.
fn confirm_held<S: RbacSource + ?Sized>(
    src: &S,
    user: &User,
    namespace: &str,
    rules: &[PolicyRule],
) -> Result<(), String> {
    let (owner, errors) = policy_rules_for(src, user, namespace, Names::Registry);
    let (ok, missing) = rule::covers(&owner, rules);
    if ok {
        return Ok(());
    }
    let mut lines: Vec<String> = rule::compact(missing).iter().map(PolicyRule::compact_string).collect();
    lines.sort();
    lines.dedup();
    let mut msg = format!(
        "user {} (groups={}) is attempting to grant RBAC permissions not currently held:\n{}",
        quote(&user.name),
        quote_list(&user.groups),
        lines.join("\n")
    );
    if !errors.is_empty() {
        msg.push_str(&format!("; resolution errors: [{}]", resolver::aggregate_message(&errors)));
    }
    Err(msg)
}

/// Whether `user` may write a binding in `namespace` (none for a
/// ClusterRoleBinding) that references `role_ref` (`{kind, name,
/// apiGroup}`): allowed with `bind` on that role there, or when the user
/// already holds all its permissions.
pub fn check_bind<S: RbacSource + ?Sized>(
    src: &S,
    user: &User,
    namespace: Option<&str>,
    role_ref: &Value,
) -> Result<(), BindError> {
    if is_master(user) {
        return Ok(());
    }
    let text = |f: &str| role_ref.get(f).and_then(Value::as_str).unwrap_or_default();
    let resource = match text("kind") {
        "ClusterRole" => Some("clusterroles"),
        "Role" => Some("roles"),
        _ => None,
    };
    if let Some(resource) = resource
        && allowed(src, user, "bind", namespace, text("apiGroup"), resource, text("name"))
    {
        return Ok(());
    }
    let namespace = namespace.unwrap_or_default();
    let role = resolver::referenced_role(src, role_ref, namespace, Names::Registry)?;
    let rules: Vec<PolicyRule> = role
        .get("rules")
        .and_then(Value::as_array)
        .map(|r| r.iter().map(PolicyRule::from_value).collect())
        .unwrap_or_default();
    confirm_held(src, user, namespace, &rules).map_err(BindError::Escalation)
}

/// [`check_bind`] with the error as its message.
pub fn can_bind<S: RbacSource + ?Sized>(
    src: &S,
    user: &User,
    namespace: Option<&str>,
    role_ref: &Value,
) -> Result<(), String> {
    check_bind(src, user, namespace, role_ref).map_err(|e| e.to_string())
}
