//! [`ApplySchema`] for built-in kinds, from the strategic-merge metadata of
//! their Go types (`patchStrategy=merge` + `patchMergeKey` ⇒ a list keyed by
//! that field; `merge` on a list of scalars ⇒ a set; anything else ⇒
//! atomic) corrected where Kubernetes v1.33's OpenAPI
//! (`x-kubernetes-list-type`, `x-kubernetes-list-map-keys`,
//! `x-kubernetes-map-type`, `+structType=atomic`) says otherwise.

use serde_json::json;

use super::schema::{ApplySchema, ListType, MapKey, MapType, Step};
use crate::patch::strategic::schema::{patch_strategy, type_at};

/// The merge semantics of one built-in kind's objects.
#[derive(Clone, Debug)]
pub struct BuiltinSchema {
    group: String,
    kind: String,
}

impl BuiltinSchema {
    /// The schema of `kind` in API group `group` (`""` for core).
    pub fn new(group: &str, kind: &str) -> Self {
        BuiltinSchema {
            group: group.to_owned(),
            kind: kind.to_owned(),
        }
    }
}

/// Lists whose server-side apply type differs from what their patch tags
/// imply, by (type id of the struct holding them, field). Ports are keyed
/// by port *and* protocol, whose schema default is `TCP`.
fn list_override(type_id: &str, field: &str) -> Option<ListType> {
    let tcp = || MapKey::with_default("protocol", json!("TCP"));
    Some(match (type_id, field) {
        ("core.v1.Container" | "core.v1.EphemeralContainer", "ports") => {
            ListType::Map(vec![MapKey::new("containerPort"), tcp()])
        }
        ("core.v1.ServiceSpec", "ports") => ListType::Map(vec![MapKey::new("port"), tcp()]),
        ("core.v1.PodSpec", "topologySpreadConstraints") => ListType::Map(vec![
            MapKey::new("topologyKey"),
            MapKey::new("whenUnsatisfiable"),
        ]),
        ("core.v1.PodStatus", "hostIPs") | ("batch.v1.JobStatus", "conditions") => ListType::Atomic,
        ("core.v1.ServiceAccount", "imagePullSecrets") => ListType::Atomic,
        _ => return None,
    })
}

/// Lists typed in the OpenAPI but absent from the patch table (their
/// holders have no tagged field), by the last two field names.
fn list_override_by_suffix(parent: &str, field: &str) -> Option<ListType> {
    match (parent, field) {
        ("resources", "claims") => Some(ListType::Map(vec![MapKey::new("name")])),
        _ => None,
    }
}

/// Fields whose struct or map is atomic wherever they occur in the built-in
/// types: label selectors (`+structType=atomic`), the selector maps of
/// Service and ReplicationController and `nodeSelector` (`+mapType=atomic`),
/// node selectors and the key and object references.
const ATOMIC_FIELDS: &[&str] = &[
    "selector",
    "labelSelector",
    "namespaceSelector",
    "podSelector",
    "objectSelector",
    "nodeSelector",
    "scopeSelector",
    "requiredDuringSchedulingIgnoredDuringExecution",
    "configMapKeyRef",
    "secretKeyRef",
    "fieldRef",
    "resourceFieldRef",
    "secretRef",
    "claimRef",
    "dataSource",
    "involvedObject",
    "targetRef",
];

/// Lists whose items are atomic structs (`OwnerReference`,
/// `LocalObjectReference`, `NodeSelectorTerm`).
const ATOMIC_ITEMS: &[&str] = &["ownerReferences", "imagePullSecrets", "nodeSelectorTerms"];

/// Fields that are maps with free keys rather than structs.
const FREE_MAPS: &[&str] = &[
    "labels",
    "annotations",
    "data",
    "binaryData",
    "stringData",
    "limits",
    "requests",
    "capacity",
    "allocatable",
    "hard",
    "used",
    "nodeSelector",
    "matchLabels",
];

fn field_names<'a>(path: &[Step<'a>]) -> Vec<&'a str> {
    path.iter()
        .filter_map(|s| match s {
            Step::Field(n) => Some(*n),
            Step::Item => None,
        })
        .collect()
}

impl ApplySchema for BuiltinSchema {
    fn list_type(&self, path: &[Step<'_>]) -> ListType {
        let names = field_names(path);
        let Some((field, parents)) = names.split_last() else {
            return ListType::Atomic;
        };
        if let Some(t) =
            type_at(&self.group, &self.kind, parents).and_then(|id| list_override(id, field))
        {
            return t;
        }
        if let Some(t) = parents
            .last()
            .and_then(|parent| list_override_by_suffix(parent, field))
        {
            return t;
        }
        match patch_strategy(&self.group, &self.kind, &names) {
            Some(s) if s.list && s.strategy.split(',').any(|p| p == "merge") => match s.merge_key {
                Some(key) => ListType::Map(vec![MapKey::new(key)]),
                None => ListType::Set,
            },
            _ => ListType::Atomic,
        }
    }

    fn map_type(&self, path: &[Step<'_>]) -> MapType {
        let atomic = match path {
            [.., Step::Field(list), Step::Item] => ATOMIC_ITEMS.contains(list),
            [.., Step::Field(parent), Step::Field(_)] if FREE_MAPS.contains(parent) => false,
            [.., Step::Field(name)] => ATOMIC_FIELDS.contains(name),
            _ => false,
        };
        if atomic {
            MapType::Atomic
        } else {
            MapType::Granular
        }
    }

    fn is_map_entry(&self, path: &[Step<'_>]) -> bool {
        matches!(path, [.., Step::Field(parent), Step::Field(_)] if FREE_MAPS.contains(parent))
    }

    fn structs_start_present(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Step::{Field as F, Item};

    #[test]
    fn apply_builtin_schema_lists() {
        let d = BuiltinSchema::new("apps", "Deployment");
        let pod = [F("spec"), F("template"), F("spec")];
        let at = |rest: &[Step<'static>]| [&pod[..], rest].concat();
        assert_eq!(
            d.list_type(&at(&[F("containers")])),
            ListType::Map(vec![MapKey::new("name")])
        );
        assert_eq!(
            d.list_type(&at(&[F("containers"), Item, F("ports")])),
            ListType::Map(vec![
                MapKey::new("containerPort"),
                MapKey::with_default("protocol", json!("TCP"))
            ])
        );
        assert_eq!(
            d.list_type(&at(&[F("containers"), Item, F("args")])),
            ListType::Atomic
        );
        assert_eq!(d.list_type(&at(&[F("tolerations")])), ListType::Atomic);
        assert_eq!(
            d.list_type(&[F("metadata"), F("finalizers")]),
            ListType::Set
        );
        assert_eq!(
            d.list_type(&[F("metadata"), F("ownerReferences")]),
            ListType::Map(vec![MapKey::new("uid")])
        );
        let svc = BuiltinSchema::new("", "Service");
        assert_eq!(
            svc.list_type(&[F("spec"), F("ports")]),
            ListType::Map(vec![
                MapKey::new("port"),
                MapKey::with_default("protocol", json!("TCP"))
            ])
        );
        assert_eq!(
            BuiltinSchema::new("batch", "Job").list_type(&[F("status"), F("conditions")]),
            ListType::Atomic
        );
    }

    #[test]
    fn apply_builtin_schema_maps() {
        let d = BuiltinSchema::new("apps", "Deployment");
        assert_eq!(d.map_type(&[F("spec"), F("selector")]), MapType::Atomic);
        assert_eq!(d.map_type(&[F("spec"), F("template")]), MapType::Granular);
        assert_eq!(
            d.map_type(&[F("metadata"), F("ownerReferences"), Item]),
            MapType::Atomic
        );
        // A label called "selector" is a plain entry, not a selector.
        assert_eq!(
            d.map_type(&[F("metadata"), F("labels"), F("selector")]),
            MapType::Granular
        );
        assert_eq!(
            BuiltinSchema::new("", "Service").map_type(&[F("spec"), F("selector")]),
            MapType::Atomic
        );
        assert!(d.is_map_entry(&[F("metadata"), F("labels"), F("app")]));
        assert!(!d.is_map_entry(&[F("spec"), F("replicas")]));
    }
}
