//! The collector's API calls: live lookups of objects and owners, deletes
//! with a uid precondition, and merge patches of ownerReferences and
//! finalizers guarded by the observed resourceVersion (a conflict means the
//! object changed; the next watch event brings it back).

use super::Error;
use super::graph::{Node, group_of};
use super::plan::{OwnerState, Propagation};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::api::{Api, DynamicObject, Patch, PatchParams, PartialObjectMeta, Preconditions};
use kube::core::GroupVersionKind;
use kube::discovery::{ApiResource, Discovery, Scope};
use kube::Client;
use serde_json::{Value, json};

fn api(client: &Client, ar: &ApiResource, namespace: Option<&str>) -> Api<DynamicObject> {
    match namespace {
        Some(ns) => Api::namespaced_with(client.clone(), ns, ar),
        None => Api::all_with(client.clone(), ar),
    }
}

fn api_error(what: String) -> impl FnOnce(kube::Error) -> Error {
    move |source| Error::Api { what, source }
}

/// The object's metadata now, `None` if it does not exist.
pub async fn get(
    client: &Client,
    ar: &ApiResource,
    namespace: Option<&str>,
    name: &str,
) -> Result<Option<PartialObjectMeta<DynamicObject>>, Error> {
    api(client, ar, namespace)
        .get_metadata_opt(name)
        .await
        .map_err(api_error(format!("get {} {name:?}", ar.plural)))
}

/// Classifies one owner reference of `dependent` by looking the owner up
/// where the reference can point: in the dependent's namespace for a
/// namespaced kind, cluster-wide otherwise.
pub async fn owner_state(
    client: &Client,
    discovery: &Discovery,
    dependent: &Node,
    r: &OwnerReference,
) -> Result<OwnerState, Error> {
    let (group, version) = match r.api_version.rsplit_once('/') {
        Some((g, v)) => (g, v),
        None => ("", r.api_version.as_str()),
    };
    debug_assert_eq!(group, group_of(&r.api_version));
    let Some((ar, caps)) = discovery.resolve_gvk(&GroupVersionKind::gvk(group, version, &r.kind)) else {
        tracing::debug!(error = %Error::UnknownKind { api_version: r.api_version.clone(), kind: r.kind.clone() }, "garbage collector");
        return Ok(OwnerState::Unresolved);
    };
    let namespace = match caps.scope {
        Scope::Cluster => None,
        Scope::Namespaced => match dependent.namespace.as_deref() {
            Some(ns) => Some(ns),
            None => return Ok(OwnerState::Invalid),
        },
    };
    let Some(owner) = get(client, &ar, namespace, &r.name).await? else { return Ok(OwnerState::Dangling) };
    if owner.metadata.uid.as_deref() != Some(r.uid.as_str()) {
        return Ok(OwnerState::Dangling);
    }
    let foreground = owner.metadata.finalizers.iter().flatten().any(|f| f == super::graph::FOREGROUND);
    Ok(if owner.metadata.deletion_timestamp.is_some() && foreground {
        OwnerState::WaitingForDependents
    } else {
        OwnerState::Solid
    })
}

/// Deletes `node` (only if it is still the same object).
pub async fn delete(client: &Client, node: &Node, policy: Propagation) -> Result<(), Error> {
    let mut params = policy.params();
    params.preconditions = Some(Preconditions { uid: Some(node.uid.clone()), resource_version: None });
    match api(client, &node.resource, node.namespace.as_deref()).delete(&node.name, &params).await {
        Ok(_) => Ok(()),
        // Gone already, or replaced by another object of the same name.
        Err(kube::Error::Api(s)) if s.code == 404 || s.code == 409 => Ok(()),
        Err(e) => Err(api_error(format!("delete {} {:?}", node.resource.plural, node.name))(e)),
    }
}

/// A merge patch of `node`'s metadata, refused if the object changed since
/// it was observed.
async fn patch_metadata(client: &Client, node: &Node, mut metadata: Value) -> Result<(), Error> {
    if let Some(rv) = &node.resource_version {
        metadata["resourceVersion"] = Value::String(rv.clone());
    }
    let body = json!({ "metadata": metadata });
    match api(client, &node.resource, node.namespace.as_deref())
        .patch_metadata(&node.name, &PatchParams::default(), &Patch::Merge(&body))
        .await
    {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
        Err(e) => Err(api_error(format!("patch {} {:?}", node.resource.plural, node.name))(e)),
    }
}

/// Drops the references to `owners` from `node`.
pub async fn remove_references(client: &Client, node: &Node, owners: &[String]) -> Result<(), Error> {
    let kept: Vec<&OwnerReference> = node.owners.iter().filter(|r| !owners.contains(&r.uid)).collect();
    if kept.len() == node.owners.len() {
        return Ok(());
    }
    let value = if kept.is_empty() { Value::Null } else { json!(kept) };
    patch_metadata(client, node, json!({ "ownerReferences": value })).await
}

/// Removes `finalizer` from `node`.
pub async fn remove_finalizer(client: &Client, node: &Node, finalizer: &str) -> Result<(), Error> {
    if !node.has_finalizer(finalizer) {
        return Ok(());
    }
    let kept: Vec<&String> = node.finalizers.iter().filter(|f| *f != finalizer).collect();
    let value = if kept.is_empty() { Value::Null } else { json!(kept) };
    patch_metadata(client, node, json!({ "finalizers": value })).await
}

/// Records a Warning Event `OwnerRefInvalidNamespace` on `dependent`, whose
/// reference names an owner of another namespace (best effort: the event
/// only explains the deletion that follows).
pub async fn invalid_namespace_event(client: &Client, dependent: &Node, r: &OwnerReference) {
    use k8s_openapi::api::core::v1::{Event, EventSource, ObjectReference};
    let Some(ns) = dependent.namespace.clone() else { return };
    let now = k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(jiff::Timestamp::now());
    let event = Event {
        metadata: kube::api::ObjectMeta {
            generate_name: Some(format!("{}.", dependent.name)),
            namespace: Some(ns.clone()),
            ..Default::default()
        },
        involved_object: ObjectReference {
            api_version: Some(dependent.resource.api_version.clone()),
            kind: Some(dependent.resource.kind.clone()),
            name: Some(dependent.name.clone()),
            namespace: Some(ns.clone()),
            uid: Some(dependent.uid.clone()),
            ..Default::default()
        },
        reason: Some("OwnerRefInvalidNamespace".into()),
        message: Some(format!(
            "ownerRef [{}/{}, namespace: {ns}, name: {}, uid: {}] does not exist in namespace {ns:?}",
            r.api_version, r.kind, r.name, r.uid
        )),
        type_: Some("Warning".into()),
        source: Some(EventSource { component: Some("garbage-collector-controller".into()), host: None }),
        first_timestamp: Some(now.clone()),
        last_timestamp: Some(now),
        count: Some(1),
        ..Default::default()
    };
    let events: Api<Event> = Api::namespaced(client.clone(), &ns);
    if let Err(error) = events.create(&Default::default(), &event).await {
        tracing::debug!(%error, "garbage collector: event not recorded");
    }
}
