//! Sets of field paths, stored as a tree: at each node the steps that are
//! members themselves and the steps that have members below them. This is
//! the shape of `fieldsV1`, and set algebra on the tree never has to expand
//! a manager's fields into a flat list.

use std::collections::{BTreeMap, BTreeSet};

use super::path::{Path, PathElement};

/// A set of [`Path`]s.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FieldSet {
    /// Steps from this node that are members of the set.
    pub(crate) members: BTreeSet<PathElement>,
    /// Steps from this node below which the set has members; never empty.
    pub(crate) children: BTreeMap<PathElement, FieldSet>,
}

impl FieldSet {
    /// The empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// A set of the given paths.
    pub fn from_paths<'a>(paths: impl IntoIterator<Item = &'a Path>) -> Self {
        let mut set = Self::new();
        for p in paths {
            set.insert(&p.0);
        }
        set
    }

    /// Whether the set has no member.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty() && self.children.is_empty()
    }

    /// Adds `path` (the empty path, the root, is never a member).
    pub fn insert(&mut self, path: &[PathElement]) {
        match path {
            [] => {}
            [last] => {
                self.members.insert(last.clone());
            }
            [first, rest @ ..] => self.children.entry(first.clone()).or_default().insert(rest),
        }
    }

    /// Whether `path` is a member.
    pub fn has(&self, path: &[PathElement]) -> bool {
        match path {
            [] => false,
            [last] => self.members.contains(last),
            [first, rest @ ..] => self.children.get(first).is_some_and(|c| c.has(rest)),
        }
    }

    /// The subtree below `pe` (empty when there is none).
    pub fn child(&self, pe: &PathElement) -> Option<&FieldSet> {
        self.children.get(pe)
    }

    /// Whether the set has members at or below `pe`.
    pub(crate) fn touches(&self, pe: &PathElement) -> bool {
        self.members.contains(pe) || self.children.contains_key(pe)
    }

    /// Members of either set.
    pub fn union(&self, other: &FieldSet) -> FieldSet {
        let mut out = self.clone();
        out.union_with(other);
        out
    }

    fn union_with(&mut self, other: &FieldSet) {
        self.members.extend(other.members.iter().cloned());
        for (pe, c) in &other.children {
            self.children.entry(pe.clone()).or_default().union_with(c);
        }
    }

    /// Members of `self` that are not members of `other`.
    pub fn difference(&self, other: &FieldSet) -> FieldSet {
        let members = self.members.difference(&other.members).cloned().collect();
        let children = self
            .children
            .iter()
            .filter_map(|(pe, c)| {
                let c = match other.children.get(pe) {
                    Some(o) => c.difference(o),
                    None => c.clone(),
                };
                (!c.is_empty()).then(|| (pe.clone(), c))
            })
            .collect();
        FieldSet { members, children }
    }

    /// Members of both sets.
    pub fn intersection(&self, other: &FieldSet) -> FieldSet {
        let members = self.members.intersection(&other.members).cloned().collect();
        let children = self
            .children
            .iter()
            .filter_map(|(pe, c)| {
                let c = c.intersection(other.children.get(pe)?);
                (!c.is_empty()).then(|| (pe.clone(), c))
            })
            .collect();
        FieldSet { members, children }
    }

    /// Members of `self` that are neither members of `other` nor below one:
    /// `other` names whole subtrees to drop (Kubernetes' reset fields, such
    /// as `status` of a kind with a status subresource).
    pub fn recursive_difference(&self, other: &FieldSet) -> FieldSet {
        let members = self
            .members
            .iter()
            .filter(|pe| !other.members.contains(*pe))
            .cloned()
            .collect();
        let children = self
            .children
            .iter()
            .filter(|(pe, _)| !other.members.contains(*pe))
            .filter_map(|(pe, c)| {
                let c = match other.children.get(pe) {
                    Some(o) => c.recursive_difference(o),
                    None => c.clone(),
                };
                (!c.is_empty()).then(|| (pe.clone(), c))
            })
            .collect();
        FieldSet { members, children }
    }

    /// The set with every field step that has members below it made a member
    /// too. Kubernetes does this with the named fields of structs before
    /// pruning, so that a struct whose fields were all dropped goes as well.
    pub(crate) fn with_fields_as_members(&self) -> FieldSet {
        let mut out = FieldSet {
            members: self.members.clone(),
            children: BTreeMap::new(),
        };
        for (pe, c) in &self.children {
            if matches!(pe, PathElement::Field(_)) {
                out.members.insert(pe.clone());
            }
            out.children.insert(pe.clone(), c.with_fields_as_members());
        }
        out
    }

    /// Every member, in Kubernetes' iteration order (a node's members, then
    /// its children's, each in path-element order).
    pub fn paths(&self) -> Vec<Path> {
        let mut out = Vec::new();
        self.collect(&mut Vec::new(), &mut out);
        out
    }

    fn collect(&self, prefix: &mut Vec<PathElement>, out: &mut Vec<Path>) {
        for pe in &self.members {
            let mut p = prefix.clone();
            p.push(pe.clone());
            out.push(Path(p));
        }
        for (pe, c) in &self.children {
            prefix.push(pe.clone());
            c.collect(prefix, out);
            prefix.pop();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(paths: &[&[&str]]) -> FieldSet {
        let paths: Vec<Path> = paths.iter().map(|p| Path::fields(p)).collect();
        FieldSet::from_paths(&paths)
    }

    #[test]
    fn apply_fieldset_algebra() {
        let a = set(&[&["spec", "replicas"], &["spec", "paused"], &["metadata"]]);
        let b = set(&[&["spec", "replicas"], &["status"]]);
        assert_eq!(
            a.union(&b),
            set(&[
                &["spec", "replicas"],
                &["spec", "paused"],
                &["metadata"],
                &["status"]
            ])
        );
        assert_eq!(a.difference(&b), set(&[&["spec", "paused"], &["metadata"]]));
        assert_eq!(a.intersection(&b), set(&[&["spec", "replicas"]]));
        assert!(a.difference(&a).is_empty());
        assert!(a.has(&Path::fields(&["spec", "paused"]).0));
        assert!(!a.has(&Path::fields(&["spec"]).0));
        let reset = set(&[&["spec"]]);
        assert_eq!(a.recursive_difference(&reset), set(&[&["metadata"]]));
        // A plain difference removes members only, never whole subtrees.
        assert_eq!(a.difference(&reset), a);
        assert_eq!(
            a.with_fields_as_members(),
            set(&[
                &["spec"],
                &["spec", "replicas"],
                &["spec", "paused"],
                &["metadata"]
            ])
        );
        assert_eq!(
            a.paths()
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>(),
            [".metadata", ".spec.paused", ".spec.replicas"]
        );
    }
}
