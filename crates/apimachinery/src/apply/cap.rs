//! The cap on Update entries: past ten, the oldest are folded into one
//! `ancient-changes` entry per API version, so objects written by many
//! controllers keep a bounded `managedFields`.

use super::managed::{ManagedFields, ManagerId, Operation};

/// Kubernetes' default maximum number of Update entries.
pub const MAX_UPDATE_MANAGERS: usize = 10;

/// The manager name of the folded entries.
pub const ANCIENT_CHANGES: &str = "ancient-changes";

fn seconds(time: Option<&str>) -> i64 {
    time.and_then(|t| t.parse::<jiff::Timestamp>().ok())
        .map(|t| t.as_second())
        .unwrap_or(0)
}

/// Folds the oldest Update entries until at most [`MAX_UPDATE_MANAGERS`]
/// remain. The first old entry of a version is left alone until a second
/// one of that version joins it in the bucket, as Kubernetes does.
pub(crate) fn cap_update_managers(managed: &mut ManagedFields) {
    let mut updaters: Vec<ManagerId> = managed
        .entries
        .iter()
        .filter(|e| e.id.operation == Operation::Update)
        .map(|e| e.id.clone())
        .collect();
    if updaters.len() <= MAX_UPDATE_MANAGERS {
        return;
    }
    let time_of = |id: &ManagerId| seconds(managed.get(id).and_then(|e| e.time.as_deref()));
    updaters.sort_by(|a, b| {
        time_of(a)
            .cmp(&time_of(b))
            .then_with(|| a.identifier().cmp(&b.identifier()))
    });
    let mut length = updaters.len();
    let mut first_of_version: Vec<(String, ManagerId)> = Vec::new();
    for id in updaters {
        if length <= MAX_UPDATE_MANAGERS {
            break;
        }
        let Some(entry) = managed.get(&id).cloned() else {
            continue;
        };
        let version = entry.api_version.clone();
        let bucket = ManagerId::new(ANCIENT_CHANGES, Operation::Update, &version, "");
        let Some((_, first)) = first_of_version.iter().find(|(v, _)| *v == version) else {
            first_of_version.push((version, id));
            continue;
        };
        if managed.get(&bucket).is_none() {
            // The first entry of this version becomes the bucket.
            if let Some(e) = managed.entries.iter_mut().find(|e| e.id == *first) {
                e.id = bucket.clone();
            }
        }
        if let Some(b) = managed.entries.iter_mut().find(|e| e.id == bucket) {
            b.fields = b.fields.union(&entry.fields);
            b.time = entry.time.clone();
        }
        managed.entries.retain(|e| e.id != id);
        length -= 1;
    }
}
