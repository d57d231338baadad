//! What the v2 and v3 documents share: the roots of their definitions and
//! the group versions a set of resources serves.

use std::collections::BTreeSet;

use crate::definitions::Published;
use crate::kinds;

/// Definitions every document carries, whatever its resources.
pub(crate) const COMMON_ROOTS: &[&str] = &[
    kinds::DELETE_OPTIONS,
    kinds::WATCH_EVENT,
    kinds::PATCH,
    kinds::STATUS,
];

/// The definition names `resources` need directly.
pub(crate) fn roots<'a>(resources: impl IntoIterator<Item = &'a Published<'a>>) -> Vec<String> {
    let mut roots: Vec<String> = COMMON_ROOTS.iter().map(|name| name.to_string()).collect();
    for resource in resources {
        roots.push(resource.definition.clone());
        roots.push(resource.list.clone());
        if resource.spec.subresources.scale {
            roots.push(kinds::SCALE.to_string());
        }
    }
    roots
}

/// Every served group version, plus the core `v1` whose `Status` and
/// `DeleteOptions` all groups use.
pub(crate) fn group_versions<'a>(
    resources: impl IntoIterator<Item = &'a Published<'a>>,
) -> BTreeSet<(String, String)> {
    let mut served: BTreeSet<(String, String)> = resources
        .into_iter()
        .map(|r| (r.spec.group.clone(), r.spec.version.clone()))
        .collect();
    served.insert((String::new(), "v1".to_string()));
    served
}

pub(crate) const TITLE: &str = "Kubernetes";
pub(crate) const VERSION: &str = "v1.33.0";
