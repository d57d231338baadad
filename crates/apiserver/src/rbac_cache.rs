//! The RBAC objects the authorizer reads, parsed once and indexed by
//! subject, rebuilt when a store change marker says an RBAC object changed.
//! A decision therefore costs a few hash lookups, never a JSON parse, and
//! never sees a state older than an acknowledged RBAC write (the marker
//! moves before the write is answered).

use crate::auth::User;
use crate::authz::{BindingIndex, RbacSource};
use parking_lot::{Mutex, RwLock};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;

const PREFIX: &str = "/registry/rbac.authorization.k8s.io/";

/// The parsed RBAC objects at one store revision.
#[derive(Default)]
pub struct RbacSnapshot {
    revision: i64,
    cluster_roles: HashMap<String, Value>,
    /// Namespace -> name -> Role.
    roles: HashMap<String, HashMap<String, Value>>,
    cluster_role_bindings: BindingIndex,
    /// Namespace -> its RoleBindings.
    role_bindings: HashMap<String, BindingIndex>,
}

impl RbacSnapshot {
    fn build(store: &store::Store) -> RbacSnapshot {
        let listed = match store.list(PREFIX, store::ListOptions::default()) {
            Ok(l) => l,
            Err(e) => {
                tracing::error!(error = %e, "listing RBAC objects failed");
                return RbacSnapshot::default();
            }
        };
        let objects = listed.items.iter().filter_map(|kv| serde_json::from_slice::<Value>(&kv.value).ok());
        let mut snapshot = RbacSnapshot::from_objects(objects);
        snapshot.revision = listed.revision;
        snapshot
    }

    /// Indexes Roles, ClusterRoles and their bindings, told apart by kind.
    pub fn from_objects(objects: impl IntoIterator<Item = Value>) -> RbacSnapshot {
        let mut snapshot = RbacSnapshot::default();
        let mut cluster_bindings = Vec::new();
        let mut bindings: HashMap<String, Vec<Value>> = HashMap::new();
        for obj in objects {
            let meta = |f: &str| obj.pointer(&format!("/metadata/{f}")).and_then(Value::as_str).unwrap_or_default().to_string();
            let (ns, name) = (meta("namespace"), meta("name"));
            match obj.get("kind").and_then(Value::as_str).unwrap_or_default() {
                "ClusterRole" => {
                    snapshot.cluster_roles.insert(name, obj);
                }
                "ClusterRoleBinding" => cluster_bindings.push(obj),
                "Role" => {
                    snapshot.roles.entry(ns).or_default().insert(name, obj);
                }
                "RoleBinding" => bindings.entry(ns).or_default().push(obj),
                _ => {}
            }
        }
        snapshot.cluster_role_bindings = BindingIndex::new(cluster_bindings);
        snapshot.role_bindings = bindings.into_iter().map(|(ns, b)| (ns, BindingIndex::new(b))).collect();
        snapshot
    }
}

impl RbacSource for RbacSnapshot {
    fn cluster_roles(&self) -> Vec<Value> {
        self.cluster_roles.values().cloned().collect()
    }

    fn cluster_role_bindings(&self) -> Vec<Value> {
        self.cluster_role_bindings.bindings().to_vec()
    }

    fn roles(&self, namespace: &str) -> Vec<Value> {
        self.roles.get(namespace).map(|r| r.values().cloned().collect()).unwrap_or_default()
    }

    fn role_bindings(&self, namespace: &str) -> Vec<Value> {
        self.role_bindings.get(namespace).map(|b| b.bindings().to_vec()).unwrap_or_default()
    }

    fn cluster_role(&self, name: &str) -> Option<Value> {
        self.cluster_roles.get(name).cloned()
    }

    fn role(&self, namespace: &str, name: &str) -> Option<Value> {
        self.roles.get(namespace).and_then(|r| r.get(name)).cloned()
    }

    fn visit_cluster_role_bindings(&self, user: &User, visit: &mut dyn FnMut(&Value) -> bool) {
        self.cluster_role_bindings.visit(user, visit)
    }

    fn visit_role_bindings(&self, namespace: &str, user: &User, visit: &mut dyn FnMut(&Value) -> bool) {
        if let Some(index) = self.role_bindings.get(namespace) {
            index.visit(user, visit)
        }
    }

    fn with_cluster_role(&self, name: &str, f: &mut dyn FnMut(Option<&Value>)) {
        f(self.cluster_roles.get(name))
    }

    fn with_role(&self, namespace: &str, name: &str, f: &mut dyn FnMut(Option<&Value>)) {
        f(self.roles.get(namespace).and_then(|r| r.get(name)))
    }
}

/// The current [`RbacSnapshot`], rebuilt on demand after RBAC writes.
pub struct RbacCache {
    store: store::Store,
    marker: store::ChangeMarker,
    current: RwLock<Arc<RbacSnapshot>>,
    /// One rebuild at a time; the others wait for it and share the result.
    rebuilding: Mutex<()>,
}

impl RbacCache {
    pub fn new(store: store::Store) -> RbacCache {
        let marker = store.change_marker(PREFIX);
        // Revision -1 is older than anything: the first use builds.
        let empty = RbacSnapshot { revision: -1, ..Default::default() };
        RbacCache { store, marker, current: RwLock::new(Arc::new(empty)), rebuilding: Mutex::new(()) }
    }

    /// The RBAC objects as of at least the last acknowledged RBAC write.
    pub fn snapshot(&self) -> Arc<RbacSnapshot> {
        let wanted = self.marker.revision();
        let current = self.current.read().clone();
        if current.revision >= wanted {
            return current;
        }
        let _one = self.rebuilding.lock();
        let current = self.current.read().clone();
        if current.revision >= self.marker.revision() {
            return current;
        }
        let fresh = Arc::new(RbacSnapshot::build(&self.store));
        *self.current.write() = fresh.clone();
        fresh
    }
}
