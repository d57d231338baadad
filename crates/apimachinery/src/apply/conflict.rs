//! Apply conflicts and their Kubernetes wording: the 409 Status message
//! (`Apply failed with 1 conflict: conflict with "mgr" using apps/v1:
//! .spec.replicas`) and its `FieldManagerConflict` causes.

use std::fmt;

use serde_json::{Value, json};

use super::fieldset::FieldSet;
use super::managed::ManagerId;
use super::path::Path;

/// One field another manager owns and the apply would change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Conflict {
    /// The owner.
    pub manager: ManagerId,
    /// The field.
    pub path: Path,
}

/// The conflicts of one apply, ordered as Kubernetes lists them: by
/// manager, then by field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Conflicts(pub Vec<Conflict>);

/// The `reason` of each cause in the 409 Status.
pub const FIELD_MANAGER_CONFLICT: &str = "FieldManagerConflict";

impl Conflicts {
    /// Conflicts from each manager's conflicting fields.
    pub(crate) fn from_sets(mut sets: Vec<(ManagerId, FieldSet)>) -> Self {
        sets.sort_by_key(|(id, _)| id.identifier());
        Conflicts(
            sets.into_iter()
                .flat_map(|(id, set)| {
                    set.paths().into_iter().map(move |path| Conflict {
                        manager: id.clone(),
                        path,
                    })
                })
                .collect(),
        )
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The `details.causes` of the 409 Status:
    /// `{"reason":"FieldManagerConflict","message":"conflict with \"mgr\" using apps/v1","field":".spec.replicas"}`.
    pub fn causes(&self) -> Vec<Value> {
        self.0
            .iter()
            .map(|c| {
                json!({
                    "reason": FIELD_MANAGER_CONFLICT,
                    "message": format!("conflict with {}", c.manager.describe()),
                    "field": c.path.to_string(),
                })
            })
            .collect()
    }
}

/// The Status message Kubernetes gives.
impl fmt::Display for Conflicts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let [only] = self.0.as_slice() {
            return write!(
                f,
                "Apply failed with 1 conflict: conflict with {}: {}",
                only.manager.describe(),
                only.path
            );
        }
        let mut lines = Vec::new();
        let mut last: Option<&ManagerId> = None;
        for c in &self.0 {
            if last != Some(&c.manager) {
                lines.push(format!("conflicts with {}:", c.manager.describe()));
                last = Some(&c.manager);
            }
            lines.push(format!("- {}", c.path));
        }
        write!(
            f,
            "Apply failed with {} conflicts: {}",
            self.0.len(),
            lines.join("\n")
        )
    }
}
