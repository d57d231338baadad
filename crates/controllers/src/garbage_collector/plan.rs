//! What the collector does with an object, as pure functions of what it
//! knows: an owner being deleted (orphan or foreground) and a dependent
//! whose owners have been looked up.

use super::graph::{FOREGROUND, Node, ORPHAN};

/// The propagation policy of a delete the collector sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Propagation {
    Background,
    Foreground,
    Orphan,
}

impl Propagation {
    pub fn params(self) -> kube::api::DeleteParams {
        match self {
            Propagation::Background => kube::api::DeleteParams::background(),
            Propagation::Foreground => kube::api::DeleteParams::foreground(),
            Propagation::Orphan => kube::api::DeleteParams::orphan(),
        }
    }
}

/// What a live lookup found for one owner reference of a dependent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OwnerState {
    /// The owner exists and does not wait for its dependents.
    Solid,
    /// No object of that name and uid exists where the dependent's
    /// reference can point (absent, recreated with another uid, or in
    /// another namespace).
    Dangling,
    /// The owner is being deleted in the foreground.
    WaitingForDependents,
    /// Its kind is not served (yet): nothing can be concluded now.
    Unresolved,
    /// A cluster-scoped dependent names a namespaced owner, which no
    /// lookup can settle (Kubernetes gives up on such an object too).
    Invalid,
}

/// The collector's verdict on a dependent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Some owner exists and none is gone or waiting: nothing to do.
    Keep,
    /// Some owner exists; drop the references to these uids (gone owners,
    /// or owners waiting for their dependents).
    RemoveReferences(Vec<String>),
    /// No owner exists any more: delete the object.
    Delete(Propagation),
    /// Look again later.
    Retry,
    /// Leave it alone: its references cannot be valid.
    Invalid,
}

/// Decides a dependent's fate from its owners' states (Kubernetes'
/// `attemptToDeleteItem`): with a solid owner it stays, minus references to
/// gone or waiting owners; with none it is deleted, in the foreground when
/// an owner waits for it and it has dependents of its own (so they go
/// first), else as its own finalizers ask, else in the background.
pub fn dependent_verdict(refs: &[(String, OwnerState)], finalizers: &[String], has_dependents: bool) -> Verdict {
    if refs.is_empty() {
        return Verdict::Keep;
    }
    if refs.iter().any(|(_, s)| *s == OwnerState::Invalid) {
        return Verdict::Invalid;
    }
    if refs.iter().any(|(_, s)| *s == OwnerState::Unresolved) {
        return Verdict::Retry;
    }
    let of = |state: OwnerState| -> Vec<String> {
        refs.iter().filter(|(_, s)| *s == state).map(|(uid, _)| uid.clone()).collect()
    };
    let waiting = of(OwnerState::WaitingForDependents);
    if refs.iter().any(|(_, s)| *s == OwnerState::Solid) {
        let mut drop = of(OwnerState::Dangling);
        drop.extend(waiting);
        return if drop.is_empty() { Verdict::Keep } else { Verdict::RemoveReferences(drop) };
    }
    if !waiting.is_empty() && has_dependents {
        return Verdict::Delete(Propagation::Foreground);
    }
    let has = |f: &str| finalizers.iter().any(|x| x == f);
    Verdict::Delete(if has(ORPHAN) {
        Propagation::Orphan
    } else if has(FOREGROUND) {
        Propagation::Foreground
    } else {
        Propagation::Background
    })
}

/// The work an owner being deleted needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OwnerWork {
    /// Not being deleted by the collector's finalizers.
    None,
    /// Remove the references to the owner from these dependents, then the
    /// `orphan` finalizer.
    Orphan { dependents: Vec<String> },
    /// Foreground: these dependents are still to be deleted (not already
    /// being deleted); once no dependent blocks the owner, its
    /// `foregroundDeletion` finalizer goes.
    Foreground { delete: Vec<String>, remove_finalizer: bool },
}

/// Decides an owner's work from its node and its observed dependents
/// (Kubernetes' `attemptToOrphan` and `processDeletingDependentsItem`).
pub fn owner_work(owner: &Node, dependents: &[&Node]) -> OwnerWork {
    if owner.orphaning() {
        return OwnerWork::Orphan { dependents: dependents.iter().map(|d| d.uid.clone()).collect() };
    }
    if owner.deleting_dependents() {
        let blocking = dependents.iter().any(|d| d.blocks(&owner.uid));
        let delete = dependents.iter().filter(|d| !d.deleting).map(|d| d.uid.clone()).collect();
        return OwnerWork::Foreground { delete, remove_finalizer: !blocking };
    }
    OwnerWork::None
}

#[cfg(test)]
mod tests {
    use super::super::graph::tests::{cm, deleting, owner_ref};
    use super::*;

    fn refs(v: &[(&str, OwnerState)]) -> Vec<(String, OwnerState)> {
        v.iter().map(|(u, s)| (u.to_string(), s.clone())).collect()
    }

    #[test]
    fn solid_owner_keeps_dependent_and_drops_other_references() {
        use OwnerState::*;
        assert_eq!(dependent_verdict(&refs(&[("a", Solid)]), &[], false), Verdict::Keep);
        assert_eq!(
            dependent_verdict(&refs(&[("a", Solid), ("b", Dangling), ("c", WaitingForDependents)]), &[], true),
            Verdict::RemoveReferences(vec!["b".into(), "c".into()])
        );
    }

    #[test]
    fn dependent_without_owner_is_deleted_as_its_finalizers_ask() {
        use OwnerState::*;
        assert_eq!(dependent_verdict(&refs(&[("a", Dangling)]), &[], false), Verdict::Delete(Propagation::Background));
        assert_eq!(
            dependent_verdict(&refs(&[("a", Dangling)]), &["orphan".into()], false),
            Verdict::Delete(Propagation::Orphan)
        );
        assert_eq!(
            dependent_verdict(&refs(&[("a", WaitingForDependents)]), &[], false),
            Verdict::Delete(Propagation::Background)
        );
        // Its own dependents must go before it when its owner waits.
        assert_eq!(
            dependent_verdict(&refs(&[("a", WaitingForDependents), ("b", Dangling)]), &[], true),
            Verdict::Delete(Propagation::Foreground)
        );
    }

    #[test]
    fn unknown_or_invalid_owners_never_delete() {
        use OwnerState::*;
        assert_eq!(dependent_verdict(&refs(&[("a", Dangling), ("b", Unresolved)]), &[], false), Verdict::Retry);
        assert_eq!(dependent_verdict(&refs(&[("a", Dangling), ("b", Invalid)]), &[], false), Verdict::Invalid);
        assert_eq!(dependent_verdict(&[], &[], false), Verdict::Keep);
    }

    #[test]
    fn orphaning_owner_releases_every_dependent() {
        let owner = deleting(cm("ns", "o", vec![]), ORPHAN);
        let a = cm("ns", "a", vec![owner_ref("o", "o", true)]);
        assert_eq!(owner_work(&owner, &[&a]), OwnerWork::Orphan { dependents: vec!["a".into()] });
        assert_eq!(owner_work(&cm("ns", "o", vec![]), &[&a]), OwnerWork::None);
    }

    #[test]
    fn foreground_owner_waits_only_for_blocking_dependents() {
        let owner = deleting(cm("ns", "o", vec![]), FOREGROUND);
        let blocking = cm("ns", "a", vec![owner_ref("o", "o", true)]);
        let going = deleting(cm("ns", "b", vec![owner_ref("o", "o", false)]), "x");
        assert_eq!(
            owner_work(&owner, &[&blocking, &going]),
            OwnerWork::Foreground { delete: vec!["a".into()], remove_finalizer: false }
        );
        assert_eq!(owner_work(&owner, &[&going]), OwnerWork::Foreground { delete: vec![], remove_finalizer: true });
    }
}
