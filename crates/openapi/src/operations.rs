//! The paths and operations of one resource, in a form neutral between
//! Swagger 2.0 and OpenAPI 3.0 (each document renders it its own way).
//! Paths, operation ids, `x-kubernetes-action` values and parameters follow
//! a v1.33 API server, since clients match on them: kubectl looks for the
//! `fieldValidation` parameter on the PATCH operation of a kind, and explain
//! finds a resource's kind through the GVK of its operations.

use crate::definitions::{Gvk, Published};
use crate::kinds;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Location {
    Path,
    Query,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ParamType {
    String,
    Boolean,
    Integer,
}

impl ParamType {
    pub fn name(self) -> &'static str {
        match self {
            ParamType::String => "string",
            ParamType::Boolean => "boolean",
            ParamType::Integer => "integer",
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Param {
    pub name: &'static str,
    pub location: Location,
    pub kind: ParamType,
    pub description: String,
}

/// What a request body carries.
#[derive(Debug, Clone)]
pub(crate) struct Body {
    pub definition: String,
    pub content_types: &'static [&'static str],
}

#[derive(Debug, Clone)]
pub(crate) struct Operation {
    /// Lower-case HTTP method, as OpenAPI keys operations.
    pub method: &'static str,
    pub id: String,
    pub description: String,
    pub action: &'static str,
    pub gvk: Gvk,
    pub params: Vec<Param>,
    pub body: Option<Body>,
    /// (status code, definition of the response body).
    pub responses: Vec<(u16, String)>,
    pub produces: &'static [&'static str],
    pub tag: String,
}

#[derive(Debug, Clone)]
pub(crate) struct PathItem {
    pub path: String,
    pub params: Vec<Param>,
    pub operations: Vec<Operation>,
}

pub(crate) const OBJECT_CONTENT: &[&str] = &[
    "application/json",
    "application/yaml",
    "application/vnd.kubernetes.protobuf",
];
pub(crate) const LIST_CONTENT: &[&str] = &[
    "application/json",
    "application/yaml",
    "application/vnd.kubernetes.protobuf",
    "application/json;stream=watch",
    "application/vnd.kubernetes.protobuf;stream=watch",
];
const BODY_CONTENT: &[&str] = &[
    "application/json",
    "application/yaml",
    "application/vnd.kubernetes.protobuf",
];
const PATCH_CONTENT: &[&str] = &[
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/strategic-merge-patch+json",
    "application/apply-patch+yaml",
];
// Custom resources take no strategic merge patch; kubectl apply reads this
// list to choose between strategic and JSON merge patches.
const CUSTOM_PATCH_CONTENT: &[&str] = &[
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/apply-patch+yaml",
];

fn param(name: &'static str, location: Location, kind: ParamType, description: &str) -> Param {
    Param {
        name,
        location,
        kind,
        description: description.to_string(),
    }
}

fn query(name: &'static str, kind: ParamType, description: &str) -> Param {
    param(name, Location::Query, kind, description)
}

fn pretty() -> Param {
    query(
        "pretty",
        ParamType::String,
        "If 'true', the response is indented for humans to read.",
    )
}

/// Parameters of every request that writes an object.
fn write_params() -> Vec<Param> {
    vec![
        query(
            "dryRun",
            ParamType::String,
            "When present, the request is processed in full but nothing is persisted. The only valid value is All.",
        ),
        query(
            "fieldManager",
            ParamType::String,
            "The name of the actor making the change, recorded in managedFields. At most 128 printable characters; required for apply patches.",
        ),
        query(
            "fieldValidation",
            ParamType::String,
            "What the server does with unknown or duplicate fields in the request body: Ignore drops them silently, Warn (the default) drops them and returns a warning for each, Strict fails the request.",
        ),
    ]
}

fn list_params() -> Vec<Param> {
    vec![
        query(
            "allowWatchBookmarks",
            ParamType::Boolean,
            "For watches: ask for BOOKMARK events, which carry only a resourceVersion. Servers may ignore it.",
        ),
        query(
            "continue",
            ParamType::String,
            "The continue token of the previous page of a paginated list.",
        ),
        query(
            "fieldSelector",
            ParamType::String,
            "Restrict the objects returned by their fields. Defaults to everything.",
        ),
        query(
            "labelSelector",
            ParamType::String,
            "Restrict the objects returned by their labels. Defaults to everything.",
        ),
        query(
            "limit",
            ParamType::Integer,
            "The largest number of objects to return in one page; the response carries a continue token when more remain.",
        ),
        query(
            "resourceVersion",
            ParamType::String,
            "Which state of the objects to read (list) or where to start (watch); see the resourceVersion semantics of the Kubernetes API. Defaults to the most recent.",
        ),
        query(
            "resourceVersionMatch",
            ParamType::String,
            "How resourceVersion applies to a list: Exact or NotOlderThan.",
        ),
        query(
            "sendInitialEvents",
            ParamType::Boolean,
            "For watches with resourceVersionMatch=NotOlderThan: begin with synthetic ADDED events for the current state.",
        ),
        query(
            "timeoutSeconds",
            ParamType::Integer,
            "Ends the list or watch call after this many seconds.",
        ),
        query(
            "watch",
            ParamType::Boolean,
            "Watch for changes to the described objects instead of listing them.",
        ),
    ]
}

fn delete_params() -> Vec<Param> {
    vec![
        query(
            "dryRun",
            ParamType::String,
            "When present, the request is processed in full but nothing is persisted. The only valid value is All.",
        ),
        query(
            "gracePeriodSeconds",
            ParamType::Integer,
            "Seconds before the object is deleted; zero deletes at once. Defaults to the kind's own grace period.",
        ),
        query(
            "ignoreStoreReadErrorWithClusterBreakingPotential",
            ParamType::Boolean,
            "Delete an object that cannot be read from storage (unsafe). Defaults to false.",
        ),
        query(
            "orphanDependents",
            ParamType::Boolean,
            "Deprecated: use propagationPolicy. Whether dependents are orphaned instead of garbage collected.",
        ),
        query(
            "propagationPolicy",
            ParamType::String,
            "How the garbage collector treats dependents: Orphan, Background or Foreground.",
        ),
    ]
}

/// `CoreV1`, `AppsV1`, `NetworkingV1`, `RbacAuthorizationV1`, `ComExampleStableV1`:
/// the group version as operation ids spell it.
fn id_group_version(group: &str, version: &str) -> String {
    let group = if group.is_empty() {
        "core"
    } else {
        group.strip_suffix(".k8s.io").unwrap_or(group)
    };
    let mut out: String = group.split(['.', '-']).map(capitalize).collect();
    out.push_str(&capitalize(version));
    out
}

/// `core_v1`, `apps_v1`, `rbacAuthorization_v1`: the tag of a group version.
fn tag(group: &str, version: &str) -> String {
    let group = if group.is_empty() {
        "core"
    } else {
        group.strip_suffix(".k8s.io").unwrap_or(group)
    };
    let mut parts = group.split(['.', '-']);
    let mut out = parts.next().unwrap_or_default().to_string();
    out.extend(parts.map(capitalize));
    format!("{out}_{version}")
}

fn capitalize(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// The path items of one resource, sorted by path.
pub(crate) fn path_items(resource: &Published<'_>) -> Vec<PathItem> {
    let spec = resource.spec;
    let prefix = format!("/{}", spec.group_version_path());
    let gvk = Gvk::new(&spec.group, &spec.version, &spec.kind);
    let gv = id_group_version(&spec.group, &spec.version);
    let tag = tag(&spec.group, &spec.version);
    let kind = &spec.kind;
    let plural = &spec.plural;
    let (scope, namespaced_id) = if spec.namespaced {
        ("/namespaces/{namespace}".to_string(), "Namespaced")
    } else {
        (String::new(), "")
    };
    let namespace = param(
        "namespace",
        Location::Path,
        ParamType::String,
        "The namespace of the objects, which scopes their names and access to them.",
    );
    let name = param(
        "name",
        Location::Path,
        ParamType::String,
        &format!("The name of the {kind}."),
    );
    let patch_content = if resource.builtin {
        PATCH_CONTENT
    } else {
        CUSTOM_PATCH_CONTENT
    };

    let op =
        |method: &'static str, id: String, description: String, action: &'static str| Operation {
            method,
            id,
            description,
            action,
            gvk: gvk.clone(),
            params: Vec::new(),
            body: None,
            responses: Vec::new(),
            produces: OBJECT_CONTENT,
            tag: tag.clone(),
        };
    let object = resource.definition.clone();
    let status_def = kinds::STATUS.to_string();
    let body = |definition: &str| {
        Some(Body {
            definition: definition.to_string(),
            content_types: BODY_CONTENT,
        })
    };
    let patch_body = Some(Body {
        definition: kinds::PATCH.to_string(),
        content_types: patch_content,
    });

    let mut items = Vec::new();
    let with_scope = |mut params: Vec<Param>| {
        if spec.namespaced {
            params.insert(0, namespace.clone());
        }
        params.push(pretty());
        params
    };

    // The collection: list, create, delete collection.
    let mut collection = Vec::new();
    if spec.has_verb("list") {
        let mut list = op(
            "get",
            format!("list{gv}{namespaced_id}{kind}"),
            format!("list or watch {kind} objects"),
            "list",
        );
        list.params = list_params();
        list.responses = vec![(200, resource.list.clone())];
        list.produces = LIST_CONTENT;
        collection.push(list);
    }
    if spec.has_verb("create") {
        let mut create = op(
            "post",
            format!("create{gv}{namespaced_id}{kind}"),
            format!("create a {kind}"),
            "post",
        );
        create.params = write_params();
        create.body = body(&object);
        create.responses = vec![
            (200, object.clone()),
            (201, object.clone()),
            (202, object.clone()),
        ];
        collection.push(create);
    }
    if spec.has_verb("deletecollection") {
        let mut delete = op(
            "delete",
            format!("delete{gv}Collection{namespaced_id}{kind}"),
            format!("delete a collection of {kind} objects"),
            "deletecollection",
        );
        let mut params = list_params();
        params.retain(|p| !matches!(p.name, "watch" | "allowWatchBookmarks"));
        params.extend(delete_params());
        params.sort_by_key(|p| p.name);
        params.dedup_by_key(|p| p.name);
        delete.params = params;
        delete.body = body(kinds::DELETE_OPTIONS);
        delete.responses = vec![(200, status_def.clone())];
        collection.push(delete);
    }
    if !collection.is_empty() {
        items.push(PathItem {
            path: format!("{prefix}{scope}/{plural}"),
            params: with_scope(Vec::new()),
            operations: collection,
        });
    }

    // One object: read, replace, patch, delete.
    let mut single = Vec::new();
    if spec.has_verb("get") {
        let mut read = op(
            "get",
            format!("read{gv}{namespaced_id}{kind}"),
            format!("read the named {kind}"),
            "get",
        );
        read.responses = vec![(200, object.clone())];
        single.push(read);
    }
    if spec.has_verb("update") {
        let mut replace = op(
            "put",
            format!("replace{gv}{namespaced_id}{kind}"),
            format!("replace the named {kind}"),
            "put",
        );
        replace.params = write_params();
        replace.body = body(&object);
        replace.responses = vec![(200, object.clone()), (201, object.clone())];
        single.push(replace);
    }
    if spec.has_verb("patch") {
        let mut patch = op(
            "patch",
            format!("patch{gv}{namespaced_id}{kind}"),
            format!("partially update the named {kind}"),
            "patch",
        );
        patch.params = write_params();
        patch.params.push(query(
            "force",
            ParamType::Boolean,
            "For apply patches only: take ownership of fields other managers own instead of failing with a conflict.",
        ));
        patch.body = patch_body.clone();
        patch.responses = vec![(200, object.clone()), (201, object.clone())];
        single.push(patch);
    }
    if spec.has_verb("delete") {
        let mut delete = op(
            "delete",
            format!("delete{gv}{namespaced_id}{kind}"),
            format!("delete the named {kind}"),
            "delete",
        );
        delete.params = delete_params();
        delete.body = body(kinds::DELETE_OPTIONS);
        delete.responses = vec![(200, status_def.clone()), (202, status_def.clone())];
        single.push(delete);
    }
    let named = |params: Vec<Param>| {
        let mut params = with_scope(params);
        params.insert(0, name.clone());
        params
    };
    if !single.is_empty() {
        items.push(PathItem {
            path: format!("{prefix}{scope}/{plural}/{{name}}"),
            params: named(Vec::new()),
            operations: single,
        });
    }

    // Subresources: read, replace and patch each.
    let mut subresources = Vec::new();
    if spec.subresources.status {
        subresources.push(("status", "Status", object.clone(), gvk.clone()));
    }
    if spec.subresources.scale {
        subresources.push((
            "scale",
            "Scale",
            kinds::SCALE.to_string(),
            Gvk::new("autoscaling", "v1", "Scale"),
        ));
    }
    for (sub, sub_id, definition, sub_gvk) in subresources {
        let mut read = op(
            "get",
            format!("read{gv}{namespaced_id}{kind}{sub_id}"),
            format!("read {sub} of the named {kind}"),
            "get",
        );
        read.responses = vec![(200, definition.clone())];
        let mut replace = op(
            "put",
            format!("replace{gv}{namespaced_id}{kind}{sub_id}"),
            format!("replace {sub} of the named {kind}"),
            "put",
        );
        replace.params = write_params();
        replace.body = body(&definition);
        replace.responses = vec![(200, definition.clone()), (201, definition.clone())];
        let mut patch = op(
            "patch",
            format!("patch{gv}{namespaced_id}{kind}{sub_id}"),
            format!("partially update {sub} of the named {kind}"),
            "patch",
        );
        patch.params = write_params();
        patch.params.push(query(
            "force",
            ParamType::Boolean,
            "For apply patches only: take ownership of fields other managers own instead of failing with a conflict.",
        ));
        patch.body = patch_body.clone();
        patch.responses = vec![(200, definition.clone()), (201, definition.clone())];
        let mut operations = vec![read, replace, patch];
        for operation in &mut operations {
            operation.gvk = sub_gvk.clone();
        }
        items.push(PathItem {
            path: format!("{prefix}{scope}/{plural}/{{name}}/{sub}"),
            params: named(Vec::new()),
            operations,
        });
    }

    // Across namespaces, and the watch paths Kubernetes still serves.
    if spec.namespaced && spec.has_verb("list") {
        let mut list = op(
            "get",
            format!("list{gv}{kind}ForAllNamespaces"),
            format!("list or watch {kind} objects"),
            "list",
        );
        list.responses = vec![(200, resource.list.clone())];
        list.produces = LIST_CONTENT;
        items.push(PathItem {
            path: format!("{prefix}/{plural}"),
            params: with_list(list_params()),
            operations: vec![list],
        });
    }
    if spec.has_verb("watch") {
        let watch_event = kinds::WATCH_EVENT.to_string();
        let mut watch_list = op(
            "get",
            format!("watch{gv}{namespaced_id}{kind}List"),
            format!(
                "watch changes to a list of {kind} objects (deprecated: use the watch parameter of list)"
            ),
            "watchlist",
        );
        watch_list.responses = vec![(200, watch_event.clone())];
        watch_list.produces = LIST_CONTENT;
        let mut list_params_scoped = list_params();
        list_params_scoped.extend(with_scope(Vec::new()));
        list_params_scoped.sort_by_key(|p| p.name);
        items.push(PathItem {
            path: format!("{prefix}/watch{scope}/{plural}"),
            params: list_params_scoped.clone(),
            operations: vec![watch_list],
        });
        let mut watch = op(
            "get",
            format!("watch{gv}{namespaced_id}{kind}"),
            format!(
                "watch changes to the named {kind} (deprecated: use the watch parameter of list with a fieldSelector)"
            ),
            "watch",
        );
        watch.responses = vec![(200, watch_event.clone())];
        watch.produces = LIST_CONTENT;
        let mut named_params = list_params_scoped;
        named_params.push(name.clone());
        named_params.sort_by_key(|p| p.name);
        items.push(PathItem {
            path: format!("{prefix}/watch{scope}/{plural}/{{name}}"),
            params: named_params,
            operations: vec![watch],
        });
        if spec.namespaced {
            let mut watch_all = op(
                "get",
                format!("watch{gv}{kind}ListForAllNamespaces"),
                format!(
                    "watch changes to a list of {kind} objects in all namespaces (deprecated: use the watch parameter of list)"
                ),
                "watchlist",
            );
            watch_all.responses = vec![(200, watch_event)];
            watch_all.produces = LIST_CONTENT;
            items.push(PathItem {
                path: format!("{prefix}/watch/{plural}"),
                params: with_list(list_params()),
                operations: vec![watch_all],
            });
        }
    }
    items.sort_by(|a, b| a.path.cmp(&b.path));
    items
}

/// List parameters plus `pretty`, sorted by name, as path-level parameters.
fn with_list(mut params: Vec<Param>) -> Vec<Param> {
    params.push(pretty());
    params.sort_by_key(|p| p.name);
    params
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openapi_operation_ids_spell_group_versions_like_kubernetes() {
        assert_eq!(id_group_version("", "v1"), "CoreV1");
        assert_eq!(id_group_version("apps", "v1"), "AppsV1");
        assert_eq!(id_group_version("networking.k8s.io", "v1"), "NetworkingV1");
        assert_eq!(
            id_group_version("rbac.authorization.k8s.io", "v1"),
            "RbacAuthorizationV1"
        );
        assert_eq!(id_group_version("autoscaling", "v2"), "AutoscalingV2");
        assert_eq!(tag("", "v1"), "core_v1");
        assert_eq!(
            tag("rbac.authorization.k8s.io", "v1"),
            "rbacAuthorization_v1"
        );
    }
}
