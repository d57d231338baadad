//! RBAC authorization with Kubernetes v1.33 semantics: who may do what,
//! decided from Roles, ClusterRoles and their bindings (`authorize`), the
//! default policy every cluster has, aggregated ClusterRoles, escalation
//! prevention for RBAC writes, the rules behind `kubectl auth can-i
//! --list`, and the wording of a 403.
//!
//! Pure logic over [`RbacSource`]: the RBAC objects as Kubernetes JSON, read
//! from wherever the caller keeps them.

mod aggregation;
mod bootstrap;
mod escalation;
mod index;
mod message;
mod quote;
mod resolver;
mod review;
mod rule;
#[cfg(test)]
mod testing;

pub use aggregation::{aggregate_all, aggregated_rules};
pub use bootstrap::{bootstrap_cluster_role_bindings, bootstrap_cluster_roles};
pub use escalation::{BindError, can_bind, check_bind, confirm_no_escalation};
pub use index::BindingIndex;
pub use message::{forbidden_message, forbidden_message_with_reason, forbidden_reason};
pub use resolver::ResolveError;
pub use review::{RulesReview, rules_for, rules_review};
pub use rule::PolicyRule;

use crate::auth::{MASTERS_GROUP, User};
use resolver::{Names, Visit};
use serde_json::Value;

/// What a request asks to do, as Kubernetes' `authorizer.Attributes`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Attributes {
    pub user: User,
    /// `get`, `list`, `watch`, `create`, ... or a special verb (`bind`,
    /// `escalate`, `impersonate`); for non-resource requests the lower-case
    /// HTTP method.
    pub verb: String,
    /// `None` (or empty) for cluster-scoped and all-namespace requests.
    pub namespace: Option<String>,
    pub api_group: String,
    pub resource: String,
    pub subresource: String,
    /// Empty when the request names no object (list, create, collection).
    pub name: String,
    /// The URL path of a non-resource request.
    pub path: String,
    pub resource_request: bool,
}

impl Attributes {
    /// A request on a resource.
    pub fn resource(
        user: User,
        verb: &str,
        namespace: Option<&str>,
        api_group: &str,
        resource: &str,
        subresource: &str,
        name: &str,
    ) -> Attributes {
        Attributes {
            user,
            verb: verb.into(),
            namespace: namespace.map(str::to_string),
            api_group: api_group.into(),
            resource: resource.into(),
            subresource: subresource.into(),
            name: name.into(),
            path: String::new(),
            resource_request: true,
        }
    }

    /// A request on a path outside the resource API (`/healthz`, `/api`).
    pub fn non_resource(user: User, verb: &str, path: &str) -> Attributes {
        Attributes { user, verb: verb.into(), path: path.into(), ..Default::default() }
    }
}

/// The RBAC objects the authorizer reads, as Kubernetes JSON.
pub trait RbacSource {
    fn cluster_roles(&self) -> Vec<Value>;
    fn cluster_role_bindings(&self) -> Vec<Value>;
    fn roles(&self, namespace: &str) -> Vec<Value>;
    fn role_bindings(&self, namespace: &str) -> Vec<Value>;
    fn cluster_role(&self, name: &str) -> Option<Value>;
    fn role(&self, namespace: &str, name: &str) -> Option<Value>;

    /// Shows `visit` the ClusterRoleBindings that may name `user`, in
    /// order, until it returns false. The authorizer reads bindings and
    /// roles only through these `visit_`/`with_` methods; their defaults
    /// copy every object, while a source that keeps them parsed can lend
    /// them and skip bindings that cannot apply (see [`BindingIndex`]),
    /// which is what keeps a decision cheap with thousands of bindings.
    fn visit_cluster_role_bindings(&self, user: &User, visit: &mut dyn FnMut(&Value) -> bool) {
        let _ = user;
        for b in &self.cluster_role_bindings() {
            if !visit(b) {
                return;
            }
        }
    }

    /// Shows `visit` the RoleBindings of `namespace` that may name `user`,
    /// in order, until it returns false.
    fn visit_role_bindings(&self, namespace: &str, user: &User, visit: &mut dyn FnMut(&Value) -> bool) {
        let _ = user;
        for b in &self.role_bindings(namespace) {
            if !visit(b) {
                return;
            }
        }
    }

    /// Lends the named ClusterRole (`None` when there is none) to `f`,
    /// calling it exactly once.
    fn with_cluster_role(&self, name: &str, f: &mut dyn FnMut(Option<&Value>)) {
        f(self.cluster_role(name).as_ref())
    }

    /// Lends the named Role of `namespace` (`None` when there is none) to
    /// `f`, calling it exactly once.
    fn with_role(&self, namespace: &str, name: &str, f: &mut dyn FnMut(Option<&Value>)) {
        f(self.role(namespace, name).as_ref())
    }
}

/// An authorization decision with Kubernetes' reason text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// `reason` names the binding that allowed it (`RBAC: allowed by
    /// ClusterRoleBinding "x" of ClusterRole "y" to User "z"`); empty for
    /// `system:masters`, which no binding is needed for.
    Allow { reason: String },
    /// No rule allowed it. `reason` is empty, or lists the bindings whose
    /// roles could not be read (`RBAC: role.rbac.authorization.k8s.io "x"
    /// not found`); Kubernetes appends it to the 403 message.
    Deny { reason: String },
}

impl Decision {
    pub fn is_allowed(&self) -> bool {
        matches!(self, Decision::Allow { .. })
    }

    pub fn reason(&self) -> &str {
        match self {
            Decision::Allow { reason } | Decision::Deny { reason } => reason,
        }
    }
}

/// Decides a request: `system:masters` may do anything (kube-apiserver's
/// privileged-group authorizer, ahead of RBAC); anyone else needs a rule of
/// a role bound to them cluster-wide, or in the request's namespace.
pub fn authorize<S: RbacSource + ?Sized>(src: &S, attrs: &Attributes) -> Decision {
    if attrs.user.groups.iter().any(|g| g == MASTERS_GROUP) {
        return Decision::Allow { reason: String::new() };
    }
    let namespace = attrs.namespace.as_deref().unwrap_or_default();
    let mut allowed_by = None;
    let mut errors = Vec::new();
    resolver::visit_rules_for(src, &attrs.user, namespace, Names::Lister, |v| match v {
        Visit::Rule { source, rule } => {
            if rule::allows(attrs, rule) {
                allowed_by = Some(source.describe());
                return false;
            }
            true
        }
        Visit::Error(e) => {
            errors.push(e.to_string());
            true
        }
    });
    match allowed_by {
        Some(source) => Decision::Allow { reason: format!("RBAC: allowed by {source}") },
        None if errors.is_empty() => Decision::Deny { reason: String::new() },
        None => Decision::Deny { reason: format!("RBAC: {}", resolver::aggregate_message(&errors)) },
    }
}

#[cfg(test)]
mod tests;
