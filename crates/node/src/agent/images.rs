//! A container's image made ready: pulled as its `imagePullPolicy` says
//! (Always; IfNotPresent, the default unless the tag is `latest` or
//! missing; Never), with the credentials of the pod's `imagePullSecrets`,
//! then unpacked, with its run config and `imageID` for the status.

use image::layers::Layers;
use image::pull::{Pulled, Puller};
use image::registries::Credentials;
use image::store::Image;
use image::ImageName;
use k8s_openapi::api::core::v1::Secret;
use kube::api::Api;
use kube::Client;
use oci_spec::image::ImageConfiguration;
use std::path::PathBuf;

/// Why an image is not ready; the container waits with `reason`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotReady {
    /// `ErrImagePull`, `ErrImageNeverPull`, `InvalidImageName`.
    pub reason: &'static str,
    pub message: String,
}

/// An image ready to run.
#[derive(Debug, Clone)]
pub struct Ready {
    pub image: Image,
    pub layers: Vec<PathBuf>,
    pub config: ImageConfiguration,
    /// `repo@sha256:...`, as `imageID` reads.
    pub image_id: String,
    /// Set when this call pulled it.
    pub pulled: Option<Pulled>,
}

/// The effective pull policy: the container's, or Kubernetes' default.
pub fn policy(name: &ImageName, declared: Option<&str>) -> &'static str {
    match declared {
        Some("Always") => "Always",
        Some("Never") => "Never",
        Some("IfNotPresent") => "IfNotPresent",
        _ if name.digest.is_none() && name.tag.as_deref() == Some("latest") => "Always",
        _ => "IfNotPresent",
    }
}

/// The credentials of a pod's pull secrets (`kubernetes.io/dockerconfigjson`
/// and the older `.dockercfg` are both read; missing ones are skipped, as
/// the kubelet does).
pub async fn credentials(client: &Client, namespace: &str, secrets: &[String]) -> Credentials {
    let api: Api<Secret> = Api::namespaced(client.clone(), namespace);
    let mut creds = Credentials::default();
    for name in secrets {
        let Ok(secret) = api.get(name).await else {
            tracing::warn!(secret = %name, namespace, "image pull secret not found");
            continue;
        };
        let data = secret.data.unwrap_or_default();
        if let Some(json) = data.get(".dockerconfigjson") {
            if let Err(error) = creds.add_docker_config(&json.0) {
                tracing::warn!(%error, secret = %name, "image pull secret unreadable");
            }
        } else if let Some(old) = data.get(".dockercfg") {
            let wrapped = serde_json::from_slice::<serde_json::Value>(&old.0).map(|auths| serde_json::json!({"auths": auths}).to_string()).unwrap_or_default();
            if let Err(error) = creds.add_docker_config(wrapped.as_bytes()) {
                tracing::warn!(%error, secret = %name, "image pull secret unreadable");
            }
        }
    }
    creds
}

/// Whether making `reference` ready under the policy pulls it (for the
/// `Pulling` event, recorded before the pull starts).
pub async fn will_pull(puller: &Puller, reference: &str, policy_declared: Option<&str>) -> bool {
    let Ok(name) = ImageName::parse(reference) else { return false };
    let (store, full) = (puller.store().clone(), name.to_string());
    let present = tokio::task::spawn_blocking(move || store.get(&full)).await.ok().and_then(Result::ok).flatten().is_some();
    match policy(&name, policy_declared) {
        "Always" => true,
        "Never" => false,
        _ => !present,
    }
}

/// Makes `reference` ready under `policy`.
pub async fn ensure(puller: &Puller, layers: &Layers, reference: &str, policy_declared: Option<&str>, creds: &Credentials) -> Result<Ready, NotReady> {
    let name = ImageName::parse(reference).map_err(|e| NotReady { reason: "InvalidImageName", message: e.to_string() })?;
    let store = puller.store().clone();
    let present = {
        let (store, full) = (store.clone(), name.to_string());
        tokio::task::spawn_blocking(move || store.get(&full)).await.ok().and_then(Result::ok).flatten()
    };
    let (image, pulled) = match (policy(&name, policy_declared), present) {
        ("Never", None) => {
            return Err(NotReady { reason: "ErrImageNeverPull", message: format!("Container image \"{reference}\" is not present with pull policy of Never") });
        }
        ("IfNotPresent" | "Never", Some(image)) => (image, None),
        _ => {
            let pulled = puller.pull(&name, creds, &|_| {}).await.map_err(|e| NotReady { reason: "ErrImagePull", message: e.to_string() })?;
            (pulled.image.clone(), Some(pulled))
        }
    };
    let (layers, config) = {
        let (store, image, unpacker) = (store.clone(), image.clone(), layers.clone());
        tokio::task::spawn_blocking(move || -> Result<_, String> {
            let layers = unpacker.for_image(&image).map_err(|e| e.to_string())?;
            let manifest = store.manifest(&image).map_err(|e| e.to_string())?;
            let config: ImageConfiguration = store.read_json(manifest.config().digest()).map_err(|e| e.to_string())?;
            Ok((layers, config))
        })
        .await
        .map_err(|e| NotReady { reason: "ErrImagePull", message: e.to_string() })?
        .map_err(|message| NotReady { reason: "ErrImagePull", message })?
    };
    // Running an image is using it: the image GC goes least recently
    // used first.
    {
        let (store, full) = (store.clone(), name.to_string());
        let recorded = tokio::task::spawn_blocking(move || image::gc::record_use(&store, &[full], jiff::Timestamp::now())).await;
        if let Ok(Err(error)) = recorded {
            tracing::warn!(%error, image = %name, "recording the image's use");
        }
    }
    let image_id = format!("{}@{}", name.repo(), image.repo_digest);
    Ok(Ready { image, layers, config, image_id, pulled })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_pull_policy_defaults_as_kubernetes() {
        let n = |s: &str| ImageName::parse(s).expect("a name");
        assert_eq!(policy(&n("nginx"), None), "Always", "latest by default");
        assert_eq!(policy(&n("nginx:latest"), None), "Always");
        assert_eq!(policy(&n("nginx:1.27"), None), "IfNotPresent");
        assert_eq!(policy(&n(&format!("nginx@sha256:{}", "a".repeat(64))), None), "IfNotPresent");
        assert_eq!(policy(&n("nginx:1.27"), Some("Always")), "Always");
        assert_eq!(policy(&n("nginx"), Some("Never")), "Never");
    }
}
