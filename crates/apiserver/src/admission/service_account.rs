//! The ServiceAccount admission plugin (a pod runs as `default` unless it
//! names a ServiceAccount, which must exist; its API token volume is
//! mounted), plus, until the controllers run in this process, the work of
//! the ServiceAccount controller (a `default` ServiceAccount in every
//! namespace), the root CA publisher (the `kube-root-ca.crt` ConfigMap) and
//! the token controller (legacy token Secrets get their token, at create).

use super::chain::{is_core, read};
use crate::error::ApiError;
use crate::rest::encode_for_store;
use crate::server::ApiServer;
use crate::strategy;
use apimachinery::object::{ObjectExt, meta_mut};
use apimachinery::{defaults, policy};
use base64::Engine as _;
use serde_json::{Value, json};

const MIRROR_POD_ANNOTATION: &str = "kubernetes.io/config.mirror";
const TOKEN_SECRET_TYPE: &str = "kubernetes.io/service-account-token";
const SA_NAME_ANNOTATION: &str = "kubernetes.io/service-account.name";
const SA_UID_ANNOTATION: &str = "kubernetes.io/service-account.uid";
pub(super) const ROOT_CA_CONFIGMAP: &str = "kube-root-ca.crt";
const ROOT_CA_DESCRIPTION: &str = "Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters.";

fn sa_key(namespace: &str, name: &str) -> String {
    format!("/registry/core/serviceaccounts/{namespace}/{name}")
}

fn b64(bytes: &[u8]) -> Value {
    Value::String(base64::engine::general_purpose::STANDARD.encode(bytes))
}

/// Pod create: `serviceAccountName` defaults to `default` (or the legacy
/// `serviceAccount`), the ServiceAccount must exist, its image pull
/// secrets are copied when the pod has none, and unless automount is off
/// (pod first, then ServiceAccount) every container mounts the projected
/// `kube-api-access-*` volume. The DefaultTolerationSeconds plugin's
/// tolerations come with it (`defaults::admit_pod_create`).
pub(super) fn admit_pod(ctx: &crate::rest::Ctx, pod: &mut Value) -> Result<(), ApiError> {
    if !is_core(ctx, "pods") || pod.pointer("/metadata/annotations").and_then(|a| a.get(MIRROR_POD_ANNOTATION)).is_some() {
        return Ok(());
    }
    let Some(ns) = ctx.namespace() else { return Ok(()) };
    if !pod.get("spec").is_some_and(Value::is_object) {
        pod["spec"] = json!({});
    }
    let spec = &mut pod["spec"];
    let named = |k: &str| spec.get(k).and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_string);
    let sa_name = named("serviceAccountName").or_else(|| named("serviceAccount")).unwrap_or_else(|| "default".into());
    if let Some(m) = spec.as_object_mut() {
        m.insert("serviceAccountName".into(), Value::String(sa_name.clone()));
    }
    let Some(sa) = read(&ctx.server, &sa_key(ns, &sa_name)) else {
        return Err(ApiError::Forbidden(policy::forbidden_message(
            "pods",
            pod.name().unwrap_or_default(),
            &format!("error looking up service account {ns}/{sa_name}: serviceaccount \"{sa_name}\" not found"),
        )));
    };
    let automount = sa.get("automountServiceAccountToken").and_then(Value::as_bool);
    defaults::admit_pod_create(pod, &strategy::name_suffix(), automount);
    let pull_secrets: Vec<Value> = sa
        .get("imagePullSecrets")
        .and_then(Value::as_array)
        .map(|l| l.iter().filter_map(|s| s.get("name")).map(|n| json!({"name": n})).collect())
        .unwrap_or_default();
    let has_own = pod.pointer("/spec/imagePullSecrets").and_then(Value::as_array).is_some_and(|l| !l.is_empty());
    if !has_own && !pull_secrets.is_empty() {
        pod["spec"]["imagePullSecrets"] = Value::Array(pull_secrets);
    }
    Ok(())
}

/// Secret create of type `kubernetes.io/service-account-token` naming an
/// existing ServiceAccount: the token controller's `token`, `ca.crt`,
/// `namespace` and uid annotation, filled in before the Secret is stored.
/// A Secret naming a missing ServiceAccount (or another uid) is stored as
/// it came; Kubernetes' controller would delete it.
pub(super) fn populate_token_secret(ctx: &crate::rest::Ctx, secret: &mut Value) -> Result<(), ApiError> {
    if !is_core(ctx, "secrets") || secret.get("type").and_then(Value::as_str) != Some(TOKEN_SECRET_TYPE) {
        return Ok(());
    }
    let (Some(ns), Some(keys)) = (ctx.namespace(), ctx.server.inner.sa_keys.as_ref()) else { return Ok(()) };
    let annotation = |s: &Value, k: &str| s.pointer("/metadata/annotations").and_then(|a| a.get(k)).and_then(Value::as_str).map(str::to_string);
    let Some(sa_name) = annotation(secret, SA_NAME_ANNOTATION) else { return Ok(()) };
    let Some(sa) = read(&ctx.server, &sa_key(ns, &sa_name)) else { return Ok(()) };
    let sa_uid = sa.uid().unwrap_or_default().to_string();
    if annotation(secret, SA_UID_ANNOTATION).is_some_and(|u| u != sa_uid) {
        return Ok(());
    }
    if secret.pointer("/data/token").and_then(Value::as_str).is_some_and(|t| !t.is_empty()) {
        return Ok(());
    }
    let name = secret.name().unwrap_or_default().to_string();
    let token = keys
        .issue_legacy(ns, &sa_name, &sa_uid, &name)
        .map_err(|e| ApiError::Internal(format!("cannot issue the token of secret {ns}/{name}: {e}")))?;
    if !secret.get("data").is_some_and(Value::is_object) {
        secret["data"] = json!({});
    }
    secret["data"]["token"] = b64(token.as_bytes());
    secret["data"]["namespace"] = b64(ns.as_bytes());
    if let Some(ca) = &ctx.server.inner.options.cluster_ca_pem {
        secret["data"]["ca.crt"] = b64(ca.as_bytes());
    }
    let annotations = meta_mut(secret).entry("annotations").or_insert_with(|| json!({}));
    if let Some(a) = annotations.as_object_mut() {
        a.insert(SA_UID_ANNOTATION.into(), Value::String(sa_uid));
    }
    Ok(())
}

/// Creates `plural`/`obj` unless it exists, as the controllers would.
async fn create_if_missing(server: &ApiServer, plural: &str, kind: &str, mut obj: Value) -> Result<(), ApiError> {
    let resource = server
        .inner
        .registry
        .read()
        .get("", "v1", plural)
        .ok_or_else(|| ApiError::Internal(format!("{plural} not registered")))?;
    let ns = obj.namespace().map(str::to_string);
    let key = resource.key(ns.as_deref(), obj.name().unwrap_or_default());
    if server.inner.store.get(&key).is_some() {
        return Ok(());
    }
    defaults::apply_defaults("", kind, &mut obj);
    strategy::prepare_for_create(&resource, &mut obj);
    match server.inner.store.create(&key, encode_for_store(&obj)?).await {
        Ok(_) | Err(store::StoreError::AlreadyExists { .. }) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// The `default` ServiceAccount and, when the cluster CA is known, the
/// `kube-root-ca.crt` ConfigMap of a namespace.
pub(super) async fn ensure_namespace_defaults(server: &ApiServer, namespace: &str) -> Result<(), ApiError> {
    let sa = json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default", "namespace": namespace}});
    create_if_missing(server, "serviceaccounts", "ServiceAccount", sa).await?;
    if let Some(ca) = &server.inner.options.cluster_ca_pem {
        let cm = json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {
                "name": ROOT_CA_CONFIGMAP,
                "namespace": namespace,
                "annotations": {"kubernetes.io/description": ROOT_CA_DESCRIPTION},
            },
            "data": {"ca.crt": ca},
        });
        create_if_missing(server, "configmaps", "ConfigMap", cm).await?;
    }
    Ok(())
}

/// Every namespace that is not being deleted gets its default objects.
pub(super) async fn bootstrap(server: &ApiServer) -> Result<(), ApiError> {
    let list = server.inner.store.list("/registry/core/namespaces/", store::ListOptions::default())?;
    for kv in &list.items {
        let Ok(ns) = serde_json::from_slice::<Value>(&kv.value) else { continue };
        if ns.deletion_timestamp().is_some() {
            continue;
        }
        if let Some(name) = ns.name() {
            ensure_namespace_defaults(server, name).await?;
        }
    }
    Ok(())
}
