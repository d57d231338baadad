//! Bindings indexed by the subjects they name, so that finding the
//! bindings of a user costs a few hash lookups instead of a walk over every
//! binding of the namespace. For [`RbacSource`](super::RbacSource)s that
//! keep RBAC objects parsed: build one per namespace (and one for the
//! ClusterRoleBindings) when bindings change, and lend its candidates from
//! the `visit_*_bindings` methods.

use crate::auth::User;
use serde_json::Value;
use std::collections::HashMap;

/// ClusterRoleBindings, or the RoleBindings of one namespace, by subject.
#[derive(Debug, Clone, Default)]
pub struct BindingIndex {
    bindings: Vec<Value>,
    /// By user name; ServiceAccount subjects under their user name
    /// (`system:serviceaccount:<ns>:<name>`).
    by_user: HashMap<String, Vec<usize>>,
    by_group: HashMap<String, Vec<usize>>,
}

fn text<'a>(v: &'a Value, field: &str) -> &'a str {
    v.get(field).and_then(Value::as_str).unwrap_or_default()
}

impl BindingIndex {
    /// Indexes `bindings`, keeping their order.
    pub fn new(bindings: Vec<Value>) -> BindingIndex {
        let mut by_user: HashMap<String, Vec<usize>> = HashMap::new();
        let mut by_group: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, binding) in bindings.iter().enumerate() {
            let binding_ns = binding.get("metadata").map(|m| text(m, "namespace")).unwrap_or_default();
            let subjects = binding.get("subjects").and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[]);
            for subject in subjects {
                let name = text(subject, "name");
                let (map, key) = match text(subject, "kind") {
                    "User" => (&mut by_user, name.to_string()),
                    "Group" => (&mut by_group, name.to_string()),
                    "ServiceAccount" => {
                        let ns = match text(subject, "namespace") {
                            "" => binding_ns,
                            ns => ns,
                        };
                        // Without a namespace it names nobody (RBAC's rule).
                        if ns.is_empty() {
                            continue;
                        }
                        (&mut by_user, format!("system:serviceaccount:{ns}:{name}"))
                    }
                    _ => continue,
                };
                let list = map.entry(key).or_default();
                if list.last() != Some(&i) {
                    list.push(i);
                }
            }
        }
        BindingIndex { bindings, by_user, by_group }
    }

    /// Every binding, in order.
    pub fn bindings(&self) -> &[Value] {
        &self.bindings
    }

    /// The bindings with a subject naming `user` (by name, one of its
    /// groups, or as a service account), in their original order.
    pub fn candidates<'a>(&'a self, user: &User) -> impl Iterator<Item = &'a Value> + 'a {
        let mut hits: Vec<usize> = self
            .by_user
            .get(&user.name)
            .into_iter()
            .chain(user.groups.iter().filter_map(|g| self.by_group.get(g)))
            .flatten()
            .copied()
            .collect();
        hits.sort_unstable();
        hits.dedup();
        hits.into_iter().filter_map(|i| self.bindings.get(i))
    }

    /// Shows `visit` the candidates for `user` until it returns false, as
    /// the `visit_*_bindings` methods of a source do.
    pub fn visit(&self, user: &User, visit: &mut dyn FnMut(&Value) -> bool) {
        for b in self.candidates(user) {
            if !visit(b) {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rb(name: &str, ns: &str, subjects: Value) -> Value {
        json!({"metadata": {"name": name, "namespace": ns}, "roleRef": {"kind": "ClusterRole", "name": "view"}, "subjects": subjects})
    }

    fn names(index: &BindingIndex, user: &User) -> Vec<String> {
        index.candidates(user).map(|b| b["metadata"]["name"].as_str().unwrap_or_default().to_string()).collect()
    }

    #[test]
    fn authz_index_finds_bindings_by_subject_in_order() {
        let index = BindingIndex::new(vec![
            rb("a", "ns1", json!([{"kind": "Group", "name": "devs"}, {"kind": "User", "name": "alice"}])),
            rb("b", "ns1", json!([{"kind": "User", "name": "bob"}])),
            rb("c", "ns1", json!([{"kind": "ServiceAccount", "name": "builder"}])),
            rb(
                "d",
                "ns1",
                json!([{"kind": "ServiceAccount", "name": "builder", "namespace": "ns2"}, {"kind": "User", "name": "alice"}]),
            ),
            rb("e", "", json!([{"kind": "ServiceAccount", "name": "builder"}])),
            rb(
                "f",
                "ns1",
                json!([{"kind": "Group", "name": "system:authenticated"}, {"kind": "Robot", "name": "alice"}]),
            ),
        ]);
        let alice = User {
            name: "alice".into(),
            groups: vec!["devs".into(), "system:authenticated".into()],
            ..Default::default()
        };
        assert_eq!(names(&index, &alice), vec!["a", "d", "f"]);
        let builder = User { name: "system:serviceaccount:ns1:builder".into(), ..Default::default() };
        assert_eq!(names(&index, &builder), vec!["c"]);
        let other = User {
            name: "system:serviceaccount:ns2:builder".into(),
            groups: vec!["system:authenticated".into()],
            ..Default::default()
        };
        assert_eq!(names(&index, &other), vec!["d", "f"]);
        assert!(names(&index, &User::default()).is_empty());
        assert_eq!(index.bindings().len(), 6);
    }
}
