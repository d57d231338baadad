//! An in-memory [`RbacSource`] for the authorizer's tests.

use super::RbacSource;
use serde_json::{Value, json};

#[derive(Default, Clone)]
pub(crate) struct MemRbac {
    pub cluster_roles: Vec<Value>,
    pub cluster_role_bindings: Vec<Value>,
    pub roles: Vec<Value>,
    pub role_bindings: Vec<Value>,
}

fn field<'a>(v: &'a Value, f: &str) -> &'a str {
    v["metadata"][f].as_str().unwrap_or_default()
}

impl MemRbac {
    /// The default policy with the aggregated roles filled in, as a
    /// running cluster has it.
    pub fn bootstrap() -> MemRbac {
        let mut roles = super::bootstrap_cluster_roles();
        let updates = super::aggregate_all(&roles);
        for r in roles.iter_mut() {
            if let Some((_, rules)) = updates.iter().find(|(n, _)| n == field(r, "name")) {
                r["rules"] = Value::Array(rules.clone());
            }
        }
        MemRbac {
            cluster_roles: roles,
            cluster_role_bindings: super::bootstrap_cluster_role_bindings(),
            ..Default::default()
        }
    }

    pub fn with_role(mut self, namespace: &str, name: &str, rules: Value) -> Self {
        self.roles.push(json!({"kind": "Role", "metadata": {"name": name, "namespace": namespace}, "rules": rules}));
        self
    }

    pub fn with_cluster_role(mut self, name: &str, rules: Value) -> Self {
        self.cluster_roles.push(json!({"kind": "ClusterRole", "metadata": {"name": name}, "rules": rules}));
        self
    }

    /// A RoleBinding (namespace given) or ClusterRoleBinding (none) of
    /// `role_kind`/`role` to `subjects`.
    pub fn bind(mut self, namespace: Option<&str>, name: &str, role_kind: &str, role: &str, subjects: Value) -> Self {
        let role_ref = json!({"apiGroup": "rbac.authorization.k8s.io", "kind": role_kind, "name": role});
        match namespace {
            Some(ns) => self.role_bindings.push(json!({
                "kind": "RoleBinding", "metadata": {"name": name, "namespace": ns}, "roleRef": role_ref, "subjects": subjects,
            })),
            None => self.cluster_role_bindings.push(json!({
                "kind": "ClusterRoleBinding", "metadata": {"name": name}, "roleRef": role_ref, "subjects": subjects,
            })),
        }
        self
    }
}

impl RbacSource for MemRbac {
    fn cluster_roles(&self) -> Vec<Value> {
        self.cluster_roles.clone()
    }

    fn cluster_role_bindings(&self) -> Vec<Value> {
        self.cluster_role_bindings.clone()
    }

    fn roles(&self, namespace: &str) -> Vec<Value> {
        self.roles.iter().filter(|r| field(r, "namespace") == namespace).cloned().collect()
    }

    fn role_bindings(&self, namespace: &str) -> Vec<Value> {
        self.role_bindings.iter().filter(|r| field(r, "namespace") == namespace).cloned().collect()
    }

    fn cluster_role(&self, name: &str) -> Option<Value> {
        self.cluster_roles.iter().find(|r| field(r, "name") == name).cloned()
    }

    fn role(&self, namespace: &str, name: &str) -> Option<Value> {
        self.roles.iter().find(|r| field(r, "namespace") == namespace && field(r, "name") == name).cloned()
    }
}

/// A [`MemRbac`] that lends indexed bindings and borrowed roles, as a
/// caching source would.
pub(crate) struct Indexed {
    pub mem: MemRbac,
    cluster: super::BindingIndex,
    namespaced: std::collections::HashMap<String, super::BindingIndex>,
}

impl Indexed {
    pub fn new(mem: MemRbac) -> Indexed {
        let mut by_ns: std::collections::HashMap<String, Vec<Value>> = Default::default();
        for b in &mem.role_bindings {
            by_ns.entry(field(b, "namespace").to_string()).or_default().push(b.clone());
        }
        Indexed {
            cluster: super::BindingIndex::new(mem.cluster_role_bindings.clone()),
            namespaced: by_ns.into_iter().map(|(ns, b)| (ns, super::BindingIndex::new(b))).collect(),
            mem,
        }
    }
}

impl RbacSource for Indexed {
    fn cluster_roles(&self) -> Vec<Value> {
        self.mem.cluster_roles()
    }

    fn cluster_role_bindings(&self) -> Vec<Value> {
        self.mem.cluster_role_bindings()
    }

    fn roles(&self, namespace: &str) -> Vec<Value> {
        self.mem.roles(namespace)
    }

    fn role_bindings(&self, namespace: &str) -> Vec<Value> {
        self.mem.role_bindings(namespace)
    }

    fn cluster_role(&self, name: &str) -> Option<Value> {
        self.mem.cluster_role(name)
    }

    fn role(&self, namespace: &str, name: &str) -> Option<Value> {
        self.mem.role(namespace, name)
    }

    fn visit_cluster_role_bindings(&self, user: &crate::auth::User, visit: &mut dyn FnMut(&Value) -> bool) {
        self.cluster.visit(user, visit)
    }

    fn visit_role_bindings(&self, namespace: &str, user: &crate::auth::User, visit: &mut dyn FnMut(&Value) -> bool) {
        if let Some(index) = self.namespaced.get(namespace) {
            index.visit(user, visit)
        }
    }

    fn with_cluster_role(&self, name: &str, f: &mut dyn FnMut(Option<&Value>)) {
        f(self.mem.cluster_roles.iter().find(|r| field(r, "name") == name))
    }

    fn with_role(&self, namespace: &str, name: &str, f: &mut dyn FnMut(Option<&Value>)) {
        f(self.mem.roles.iter().find(|r| field(r, "namespace") == namespace && field(r, "name") == name))
    }
}
