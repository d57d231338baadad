//! Lookups in the table of patch strategies: from a kind to its type, from a
//! type's field to the field's type, strategy and merge key, and the public
//! view of the same data for other consumers (the OpenAPI document's
//! `x-kubernetes-patch-strategy` / `x-kubernetes-patch-merge-key`).

use super::table::{KINDS, TYPES};

/// A built-in Go struct type, by id (`core.v1.PodSpec`).
pub(super) struct TypeDef {
    pub(super) id: &'static str,
    pub(super) fields: &'static [Field],
}

/// A field of a [`TypeDef`]; empty strings stand for "none".
pub(super) struct Field {
    name: &'static str,
    ty: &'static str,
    list: bool,
    strategy: &'static str,
    merge_key: &'static str,
}

pub(super) const LIST: bool = true;
pub(super) const ONE: bool = false;

pub(super) const fn f(
    name: &'static str,
    ty: &'static str,
    list: bool,
    strategy: &'static str,
    merge_key: &'static str,
) -> Field {
    Field {
        name,
        ty,
        list,
        strategy,
        merge_key,
    }
}

fn type_def(id: &str) -> Option<&'static TypeDef> {
    TYPES
        .binary_search_by(|t| t.id.cmp(id))
        .ok()
        .map(|i| &TYPES[i])
}

/// Where in the type table a value sits; `None` for values the table says
/// nothing about (maps of strings, untagged structs, unknown fields), which
/// are merged as plain maps and replaced as lists.
#[derive(Clone, Copy, Default)]
pub(super) struct Schema(Option<&'static TypeDef>);

/// What a field of a [`Schema`] is: its own schema (the element's, for
/// lists), the strategy that applies (`"merge"`, `"replace"` or `""`, with
/// `retainKeys` set aside since `$retainKeys` works without it), and its
/// merge key (`""` for none).
pub(super) struct FieldMeta {
    pub(super) schema: Schema,
    pub(super) strategy: &'static str,
    pub(super) merge_key: &'static str,
}

impl Schema {
    /// The schema of a kind's objects, `None` for kinds without Go types
    /// (custom resources).
    pub(super) fn of_kind(group: &str, kind: &str) -> Option<Schema> {
        KINDS
            .iter()
            .find(|(g, k, _)| *g == group && *k == kind)
            .map(|(_, _, id)| Schema(type_def(id)))
    }

    pub(super) fn field(self, name: &str) -> FieldMeta {
        let found = self
            .0
            .and_then(|t| t.fields.iter().find(|fd| fd.name == name));
        match found {
            Some(fd) => FieldMeta {
                schema: Schema(type_def(fd.ty)),
                strategy: fd
                    .strategy
                    .split(',')
                    .find(|s| *s != "retainKeys")
                    .unwrap_or(""),
                merge_key: fd.merge_key,
            },
            None => FieldMeta {
                schema: Schema(None),
                strategy: "",
                merge_key: "",
            },
        }
    }
}

/// The patch metadata Kubernetes declares for a field of a built-in type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PatchStrategy {
    /// The `patchStrategy` tag as written: `"merge"`, `"retainKeys"`,
    /// `"merge,retainKeys"` or `"replace"`.
    pub strategy: &'static str,
    /// The `patchMergeKey` tag: the field identifying list items.
    pub merge_key: Option<&'static str>,
    /// Whether the field is a list.
    pub list: bool,
}

impl From<&Field> for PatchStrategy {
    fn from(fd: &Field) -> Self {
        PatchStrategy {
            strategy: fd.strategy,
            merge_key: (!fd.merge_key.is_empty()).then_some(fd.merge_key),
            list: fd.list,
        }
    }
}

/// Whether strategic merge patch applies to a kind (built-in kinds only;
/// Kubernetes answers 415 for custom resources).
pub fn supports_strategic_merge_patch(group: &str, kind: &str) -> bool {
    KINDS.iter().any(|(g, k, _)| *g == group && *k == kind)
}

/// The id of a kind's type (`("apps", "Deployment")` → `apps.v1.Deployment`).
pub fn kind_type(group: &str, kind: &str) -> Option<&'static str> {
    KINDS
        .iter()
        .find(|(g, k, _)| *g == group && *k == kind)
        .map(|(_, _, id)| *id)
}

/// The patch metadata of the field at `path` in a kind's objects: field
/// names from the object's root, list fields stepped through without an
/// index. `["spec", "template", "spec", "containers", "ports"]` of an
/// apps/Deployment gives `merge` by `containerPort`. `None` when the field
/// has no tag (or the path or kind is unknown).
pub fn patch_strategy(group: &str, kind: &str, path: &[&str]) -> Option<PatchStrategy> {
    let (last, parents) = path.split_last()?;
    let mut ty = type_def(kind_type(group, kind)?)?;
    for name in parents {
        let fd = ty.fields.iter().find(|fd| fd.name == *name)?;
        ty = type_def(fd.ty)?;
    }
    let fd = ty.fields.iter().find(|fd| fd.name == *last)?;
    (!fd.strategy.is_empty()).then(|| PatchStrategy::from(fd))
}

/// The type id of the value at `path` in a kind's objects (field names
/// from the root, list fields stepped through without an index), when the
/// table knows that type: `["spec", "template", "spec"]` of an
/// apps/Deployment gives `core.v1.PodSpec`. Server-side apply uses it to
/// look up the list and map semantics of a type's fields.
pub fn type_at(group: &str, kind: &str, path: &[&str]) -> Option<&'static str> {
    let mut ty = type_def(kind_type(group, kind)?)?;
    for name in path {
        let fd = ty.fields.iter().find(|fd| fd.name == *name)?;
        ty = type_def(fd.ty)?;
    }
    Some(ty.id)
}

/// [`patch_strategy`] restricted to list fields.
pub fn list_strategy(group: &str, kind: &str, path: &[&str]) -> Option<PatchStrategy> {
    patch_strategy(group, kind, path).filter(|s| s.list)
}

/// The tagged fields of one built-in type by id (`core.v1.Container`), for
/// annotating its OpenAPI definition; empty for types without tags.
pub fn type_patch_strategies(type_id: &str) -> Vec<(&'static str, PatchStrategy)> {
    type_def(type_id)
        .map(|t| {
            t.fields
                .iter()
                .filter(|fd| !fd.strategy.is_empty())
                .map(|fd| (fd.name, PatchStrategy::from(fd)))
                .collect()
        })
        .unwrap_or_default()
}

/// Every type id of the table that has at least one tagged field.
pub fn types_with_patch_strategies() -> impl Iterator<Item = &'static str> {
    TYPES
        .iter()
        .filter(|t| t.fields.iter().any(|fd| !fd.strategy.is_empty()))
        .map(|t| t.id)
}

/// The OpenAPI definition name of a type id
/// (`core.v1.PodSpec` → `io.k8s.api.core.v1.PodSpec`).
pub fn openapi_definition_name(type_id: &str) -> String {
    let prefix = match type_id.split('.').next() {
        Some("meta") => "io.k8s.apimachinery.pkg.apis",
        Some("apiextensions") => "io.k8s.apiextensions-apiserver.pkg.apis",
        Some("apiregistration") => "io.k8s.kube-aggregator.pkg.apis",
        _ => "io.k8s.api",
    };
    format!("{prefix}.{type_id}")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap: a panic is a failure
mod tests {
    use super::*;

    #[test]
    fn patch_table_is_sorted_and_closed() {
        for w in TYPES.windows(2) {
            assert!(w[0].id < w[1].id, "{} before {}", w[0].id, w[1].id);
        }
        for t in TYPES {
            for fd in t.fields {
                assert!(
                    fd.ty.is_empty() || type_def(fd.ty).is_some(),
                    "{}.{} -> {}",
                    t.id,
                    fd.name,
                    fd.ty
                );
                assert!(
                    !fd.ty.is_empty() || !fd.strategy.is_empty(),
                    "{}.{} says nothing",
                    t.id,
                    fd.name
                );
            }
        }
        for (g, k, id) in KINDS {
            assert!(type_def(id).is_some(), "{g}/{k}");
        }
    }

    #[test]
    fn patch_strategy_lookups() {
        let c = |p: &[&str]| patch_strategy("apps", "Deployment", p);
        assert_eq!(
            c(&["spec", "template", "spec", "containers"]),
            Some(PatchStrategy {
                strategy: "merge",
                merge_key: Some("name"),
                list: true
            })
        );
        assert_eq!(
            c(&["spec", "template", "spec", "containers", "ports"]).and_then(|s| s.merge_key),
            Some("containerPort")
        );
        assert_eq!(
            c(&["spec", "template", "spec", "containers", "env"]).and_then(|s| s.merge_key),
            Some("name")
        );
        assert_eq!(
            c(&["spec", "template", "spec", "containers", "volumeMounts"])
                .and_then(|s| s.merge_key),
            Some("mountPath")
        );
        assert_eq!(
            c(&["spec", "template", "spec", "volumes"]),
            Some(PatchStrategy {
                strategy: "merge,retainKeys",
                merge_key: Some("name"),
                list: true
            })
        );
        assert_eq!(
            c(&["spec", "strategy"]),
            Some(PatchStrategy {
                strategy: "retainKeys",
                merge_key: None,
                list: false
            })
        );
        assert_eq!(
            list_strategy("apps", "Deployment", &["spec", "strategy"]),
            None
        );
        assert_eq!(c(&["spec", "template", "spec", "tolerations"]), None);
        assert_eq!(
            c(&["metadata", "finalizers"]),
            Some(PatchStrategy {
                strategy: "merge",
                merge_key: None,
                list: true
            })
        );
        assert_eq!(
            c(&["metadata", "ownerReferences"]).and_then(|s| s.merge_key),
            Some("uid")
        );
        assert_eq!(
            c(&["status", "conditions"]).and_then(|s| s.merge_key),
            Some("type")
        );
        assert_eq!(
            patch_strategy(
                "batch",
                "CronJob",
                &[
                    "spec",
                    "jobTemplate",
                    "spec",
                    "template",
                    "spec",
                    "initContainers"
                ]
            )
            .and_then(|s| s.merge_key),
            Some("name")
        );
        assert_eq!(
            patch_strategy("", "Service", &["spec", "ports"]).and_then(|s| s.merge_key),
            Some("port")
        );
        assert_eq!(
            patch_strategy("", "Pod", &["spec", "hostAliases"]).and_then(|s| s.merge_key),
            Some("ip")
        );
        assert_eq!(
            patch_strategy("", "Pod", &["spec", "topologySpreadConstraints"])
                .and_then(|s| s.merge_key),
            Some("topologyKey")
        );
        assert_eq!(
            patch_strategy("", "Pod", &["spec", "ephemeralContainers", "env"])
                .and_then(|s| s.merge_key),
            Some("name")
        );
        assert_eq!(
            patch_strategy("", "Node", &["spec", "podCIDRs"]).map(|s| (s.strategy, s.merge_key)),
            Some(("merge", None))
        );
        assert_eq!(
            patch_strategy("policy", "PodDisruptionBudget", &["spec", "selector"])
                .map(|s| s.strategy),
            Some("replace")
        );
        assert_eq!(patch_strategy("example.com", "Widget", &["spec"]), None);
        assert_eq!(patch_strategy("", "Pod", &[]), None);
    }

    #[test]
    fn patch_strategy_type_view() {
        let container = type_patch_strategies("core.v1.Container");
        let names: Vec<&str> = container.iter().map(|(n, _)| *n).collect();
        assert_eq!(names, ["ports", "env", "volumeMounts", "volumeDevices"]);
        assert!(types_with_patch_strategies().any(|t| t == "meta.v1.ObjectMeta"));
        assert!(!types_with_patch_strategies().any(|t| t == "apps.v1.Deployment"));
        assert_eq!(
            openapi_definition_name("core.v1.PodSpec"),
            "io.k8s.api.core.v1.PodSpec"
        );
        assert_eq!(
            openapi_definition_name("meta.v1.ObjectMeta"),
            "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
        );
        assert_eq!(
            kind_type("autoscaling", "HorizontalPodAutoscaler"),
            Some("autoscaling.v2.HorizontalPodAutoscaler")
        );
        assert!(supports_strategic_merge_patch("", "ConfigMap"));
        assert!(supports_strategic_merge_patch(
            "rbac.authorization.k8s.io",
            "ClusterRole"
        ));
        assert!(!supports_strategic_merge_patch("example.com", "Widget"));
    }
}
