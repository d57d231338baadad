//! The dependency graph: every watched object that owns or is owned, keyed
//! by uid, with the reverse index from an owner's uid to its dependents.
//! Pure data: changes say which objects need a look, the collector's loop
//! does the looking.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use kube::discovery::ApiResource;
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

/// The finalizer that makes the collector orphan an owner's dependents.
pub const ORPHAN: &str = "orphan";
/// The finalizer that makes the collector delete dependents first.
pub const FOREGROUND: &str = "foregroundDeletion";

/// One observed object.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// The resource the object was watched through.
    pub resource: Arc<ApiResource>,
    pub namespace: Option<String>,
    pub name: String,
    pub uid: String,
    pub resource_version: Option<String>,
    pub owners: Vec<OwnerReference>,
    pub deleting: bool,
    pub finalizers: Vec<String>,
}

impl Node {
    /// The node of an object's metadata; `None` without a name or uid.
    pub fn from_meta(resource: Arc<ApiResource>, meta: &ObjectMeta) -> Option<Node> {
        Some(Node {
            resource,
            namespace: meta.namespace.clone().filter(|n| !n.is_empty()),
            name: meta.name.clone()?,
            uid: meta.uid.clone()?,
            resource_version: meta.resource_version.clone(),
            owners: meta.owner_references.clone().unwrap_or_default(),
            deleting: meta.deletion_timestamp.is_some(),
            finalizers: meta.finalizers.clone().unwrap_or_default(),
        })
    }

    pub fn has_finalizer(&self, f: &str) -> bool {
        self.finalizers.iter().any(|x| x == f)
    }

    /// Being deleted with its dependents first (foreground).
    pub fn deleting_dependents(&self) -> bool {
        self.deleting && self.has_finalizer(FOREGROUND)
    }

    /// Being deleted with its dependents orphaned.
    pub fn orphaning(&self) -> bool {
        self.deleting && self.has_finalizer(ORPHAN)
    }

    /// This object's reference to `owner`, if it names it.
    pub fn reference_to(&self, owner: &str) -> Option<&OwnerReference> {
        self.owners.iter().find(|r| r.uid == owner)
    }

    /// Whether this object holds back `owner`'s foreground deletion.
    pub fn blocks(&self, owner: &str) -> bool {
        self.reference_to(owner).and_then(|r| r.block_owner_deletion) == Some(true)
    }

    /// Whether `owner` may own this object: a namespaced owner only owns
    /// objects of its namespace (a reference from elsewhere is not to it,
    /// as Kubernetes rules), and the reference names it.
    fn valid_owner(&self, owner: &Node) -> bool {
        let Some(r) = self.reference_to(&owner.uid) else { return false };
        let same_scope = owner.namespace.is_none() || owner.namespace == self.namespace;
        same_scope && r.name == owner.name && r.kind == owner.resource.kind && group_of(&r.api_version) == owner.resource.group
    }
}

/// The group of an `apiVersion` (`apps/v1` -> `apps`, `v1` -> ``).
pub fn group_of(api_version: &str) -> &str {
    api_version.rsplit_once('/').map_or("", |(g, _)| g)
}

/// Objects by uid and the dependents of each owner uid.
#[derive(Debug, Default)]
pub struct Graph {
    nodes: HashMap<String, Node>,
    dependents: HashMap<String, BTreeSet<String>>,
}

impl Graph {
    pub fn get(&self, uid: &str) -> Option<&Node> {
        self.nodes.get(uid)
    }

    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// The uids of the nodes watched through `resource` (`group/plural`).
    pub fn uids_of(&self, group: &str, plural: &str) -> Vec<String> {
        self.nodes
            .values()
            .filter(|n| n.resource.group == group && n.resource.plural == plural)
            .map(|n| n.uid.clone())
            .collect()
    }

    /// The observed dependents that really belong to `owner`.
    pub fn dependents_of(&self, owner: &Node) -> Vec<&Node> {
        self.dependents
            .get(&owner.uid)
            .into_iter()
            .flatten()
            .filter_map(|uid| self.nodes.get(uid))
            .filter(|d| d.valid_owner(owner))
            .collect()
    }

    /// Whether `uid` is an observed object that owns `dependent` (an owner
    /// seen by a watch, in a scope that may own it).
    pub fn observed_owner_of(&self, uid: &str, dependent: &Node) -> bool {
        self.nodes.get(uid).is_some_and(|o| dependent.valid_owner(o))
    }

    /// Records an added or changed object; returns the uids that need a
    /// look because of the change.
    pub fn upsert(&mut self, node: Node) -> BTreeSet<String> {
        let mut dirty = BTreeSet::new();
        let old = self.nodes.remove(&node.uid);
        let old_owners: Vec<OwnerReference> = old.as_ref().map(|o| o.owners.clone()).unwrap_or_default();
        for r in &old_owners {
            if let Some(set) = self.dependents.get_mut(&r.uid) {
                set.remove(&node.uid);
                if set.is_empty() {
                    self.dependents.remove(&r.uid);
                }
            }
        }
        for r in &node.owners {
            self.dependents.entry(r.uid.clone()).or_default().insert(node.uid.clone());
        }
        let owners_changed = old.as_ref().is_none_or(|o| o.owners != node.owners);
        if owners_changed {
            // A new or changed reference may name an owner that is gone, or
            // one waiting for its dependents; a dropped one may unblock an
            // owner waiting for this object.
            if !node.owners.is_empty() {
                dirty.insert(node.uid.clone());
            }
            for r in old_owners.iter().chain(&node.owners) {
                if self.nodes.get(&r.uid).is_some_and(Node::deleting_dependents) {
                    dirty.insert(r.uid.clone());
                }
            }
        }
        let was = old.as_ref().map(|o| (o.orphaning(), o.deleting_dependents(), o.deleting));
        let now = (node.orphaning(), node.deleting_dependents(), node.deleting);
        if was != Some(now) {
            if node.orphaning() || node.deleting_dependents() {
                dirty.insert(node.uid.clone());
            }
            if node.deleting_dependents() {
                dirty.extend(self.dependents.get(&node.uid).into_iter().flatten().cloned());
            }
            // A dependent's own deletion starting does not free its owner,
            // but one that goes with finalizers of its own is worth a look
            // from an owner that waits for it.
            for r in &node.owners {
                if self.nodes.get(&r.uid).is_some_and(Node::deleting_dependents) {
                    dirty.insert(r.uid.clone());
                }
            }
        }
        self.nodes.insert(node.uid.clone(), node);
        dirty
    }

    /// Forgets a deleted object; returns the uids that need a look: its
    /// dependents (their owner may be gone for good) and owners waiting for
    /// it.
    pub fn remove(&mut self, uid: &str) -> BTreeSet<String> {
        let mut dirty = BTreeSet::new();
        let Some(node) = self.nodes.remove(uid) else { return dirty };
        dirty.extend(self.dependents.get(uid).into_iter().flatten().cloned());
        for r in &node.owners {
            if let Some(set) = self.dependents.get_mut(&r.uid) {
                set.remove(uid);
                if set.is_empty() {
                    self.dependents.remove(&r.uid);
                }
            }
            if self.nodes.get(&r.uid).is_some_and(Node::deleting_dependents) {
                dirty.insert(r.uid.clone());
            }
        }
        dirty
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

    pub fn configmaps() -> Arc<ApiResource> {
        Arc::new(ApiResource {
            group: String::new(),
            version: "v1".into(),
            api_version: "v1".into(),
            kind: "ConfigMap".into(),
            plural: "configmaps".into(),
        })
    }

    pub fn owner_ref(name: &str, uid: &str, block: bool) -> OwnerReference {
        OwnerReference {
            api_version: "v1".into(),
            kind: "ConfigMap".into(),
            name: name.into(),
            uid: uid.into(),
            block_owner_deletion: Some(block),
            controller: None,
        }
    }

    /// A ConfigMap in `ns`, named and identified by `uid`.
    pub fn cm(ns: &str, uid: &str, owners: Vec<OwnerReference>) -> Node {
        let meta = ObjectMeta {
            namespace: Some(ns.into()),
            name: Some(uid.into()),
            uid: Some(uid.into()),
            owner_references: Some(owners),
            ..Default::default()
        };
        Node::from_meta(configmaps(), &meta).expect("named")
    }

    pub fn deleting(mut n: Node, finalizer: &str) -> Node {
        n.deleting = true;
        n.finalizers.push(finalizer.into());
        n
    }

    fn set(v: &[&str]) -> BTreeSet<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn from_meta_reads_deletion() {
        let meta = ObjectMeta {
            name: Some("a".into()),
            uid: Some("u".into()),
            deletion_timestamp: Some(Time(jiff::Timestamp::UNIX_EPOCH)),
            finalizers: Some(vec![FOREGROUND.into()]),
            ..Default::default()
        };
        let n = Node::from_meta(configmaps(), &meta).expect("named");
        assert!(n.deleting_dependents() && !n.orphaning());
        assert_eq!(n.namespace, None);
    }

    #[test]
    fn new_dependent_needs_a_look_plain_owner_does_not() {
        let mut g = Graph::default();
        assert!(g.upsert(cm("ns", "owner", vec![])).is_empty());
        assert_eq!(g.upsert(cm("ns", "dep", vec![owner_ref("owner", "owner", true)])), set(&["dep"]));
        // An unchanged update is no news.
        assert!(g.upsert(cm("ns", "dep", vec![owner_ref("owner", "owner", true)])).is_empty());
    }

    #[test]
    fn foreground_owner_wakes_its_dependents_and_their_removal_wakes_it() {
        let mut g = Graph::default();
        g.upsert(cm("ns", "owner", vec![]));
        g.upsert(cm("ns", "a", vec![owner_ref("owner", "owner", true)]));
        g.upsert(cm("ns", "b", vec![owner_ref("owner", "owner", false)]));
        assert_eq!(g.upsert(deleting(cm("ns", "owner", vec![]), FOREGROUND)), set(&["a", "b", "owner"]));
        assert_eq!(g.remove("a"), set(&["owner"]));
    }

    #[test]
    fn owner_removal_wakes_dependents() {
        let mut g = Graph::default();
        g.upsert(cm("ns", "owner", vec![]));
        g.upsert(cm("ns", "a", vec![owner_ref("owner", "owner", false)]));
        assert_eq!(g.remove("owner"), set(&["a"]));
        assert!(g.remove("missing").is_empty());
    }

    #[test]
    fn namespaced_owner_owns_only_its_namespace() {
        let mut g = Graph::default();
        g.upsert(cm("one", "owner", vec![]));
        g.upsert(cm("one", "same", vec![owner_ref("owner", "owner", true)]));
        g.upsert(cm("two", "other", vec![owner_ref("owner", "owner", true)]));
        let owner = g.get("owner").expect("owner").clone();
        let deps: Vec<&str> = g.dependents_of(&owner).iter().map(|n| n.uid.as_str()).collect();
        assert_eq!(deps, ["same"]);
        let other = g.get("other").expect("other").clone();
        assert!(!g.observed_owner_of("owner", &other));
    }

    #[test]
    fn group_of_api_version() {
        assert_eq!(group_of("apps/v1"), "apps");
        assert_eq!(group_of("v1"), "");
    }
}
