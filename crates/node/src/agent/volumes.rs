//! A pod's volumes on this node, under `pods/<uid>/volumes/<kind>/<name>`,
//! and the bind mounts its containers' `volumeMounts` make of them:
//! emptyDir (tmpfs for medium Memory, with its sizeLimit), hostPath (with
//! its type's checks and creations), configMap, secret (on tmpfs),
//! downwardAPI, projected (configMap, secret, downwardAPI and service
//! account token sources: the `kube-api-access-*` volume every pod gets)
//! and persistentVolumeClaim (the bound volume's hostPath or local path).
//! Files are written with the atomic writer, so a later refresh (the
//! worker's, every 30 s) changes them in place for running containers.

use super::atomic_writer::{self, File};
use super::ownership;
use super::tokens;
use super::Ctx;
use k8s_openapi::api::authentication::v1::{BoundObjectReference, TokenRequest, TokenRequestSpec};
use k8s_openapi::api::core::v1::{
    ConfigMap, Container, DownwardAPIVolumeFile, KeyToPath, PersistentVolume, PersistentVolumeClaim, Pod, Secret, ServiceAccount, Volume,
};
use kube::api::{Api, PostParams};
use kube::ResourceExt;
use oci_spec::runtime::{Mount, MountBuilder};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Component, Path, PathBuf};

/// What the kubelet gives `kube-api-access-*` tokens unless asked.
const DEFAULT_TOKEN_SECONDS: i64 = 3607;

/// The host directory (or file) behind each of the pod's volumes.
pub type Prepared = HashMap<String, PathBuf>;

fn vol_dir(ctx: &Ctx, uid: &str, kind: &str, name: &str) -> PathBuf {
    ctx.pods_dir.join(uid).join("volumes").join(kind).join(name)
}

/// Mounts a tmpfs at `dir` unless one is there (secrets never touch disk;
/// emptyDir with medium Memory).
fn tmpfs(dir: &Path, size: Option<u64>) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    if crate::rootfs::is_mounted(dir) {
        return Ok(());
    }
    let options = size.map(|s| format!("size={s}")).unwrap_or_default();
    let data = std::ffi::CString::new(options).map_err(|e| e.to_string())?;
    rustix::mount::mount("tmpfs", dir, "tmpfs", rustix::mount::MountFlags::NOSUID | rustix::mount::MountFlags::NODEV, Some(data.as_c_str()))
        .map_err(|e| format!("mounting a tmpfs at {}: {e}", dir.display()))
}

/// Sets up every volume of the pod; the first failure is the message of
/// the pod's `FailedMount` event.
///
/// `owned`: the volumes already given to the pod's fsGroup (a local
/// claim's volume is walked once, not at every refresh).
pub async fn prepare(ctx: &Ctx, pod: &Pod, uid: &str, pod_ip: &str, owned: &mut HashSet<String>) -> Result<Prepared, String> {
    let mut out = Prepared::new();
    for v in pod.spec.as_ref().and_then(|s| s.volumes.as_ref()).into_iter().flatten() {
        let path = prepare_one(ctx, pod, uid, pod_ip, v, owned).await.map_err(|e| format!("MountVolume.SetUp failed for volume \"{}\" : {e}", v.name))?;
        out.insert(v.name.clone(), path);
    }
    Ok(out)
}

async fn prepare_one(ctx: &Ctx, pod: &Pod, uid: &str, pod_ip: &str, v: &Volume, owned: &mut HashSet<String>) -> Result<PathBuf, String> {
    let ns = pod.namespace().unwrap_or_default();
    if let Some(e) = &v.empty_dir {
        let dir = vol_dir(ctx, uid, "kubernetes.io~empty-dir", &v.name);
        let memory = e.medium.as_deref() == Some("Memory");
        // Set up once: later refreshes leave what the containers did.
        let fresh = if memory { !crate::rootfs::is_mounted(&dir) } else { !dir.exists() };
        if memory {
            let size = e.size_limit.as_ref().and_then(|q| quantity_bytes(&q.0));
            tmpfs(&dir, size)?;
        } else {
            std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        if fresh {
            set_mode(&dir, 0o777)?;
            if let Some(gid) = ownership::fs_group(pod) {
                ownership::apply(&dir, gid, false)?;
            }
        }
        return Ok(dir);
    }
    if let Some(h) = &v.host_path {
        return host_path(&h.path, h.type_.as_deref().unwrap_or(""));
    }
    if let Some(c) = &v.config_map {
        let dir = vol_dir(ctx, uid, "kubernetes.io~configmap", &v.name);
        let files = config_map_files(ctx, &ns, &c.name, c.items.as_deref(), c.default_mode.unwrap_or(0o644), c.optional.unwrap_or(false)).await?;
        atomic_writer::write(&dir, &files, ownership::fs_group(pod))?;
        return Ok(dir);
    }
    if let Some(s) = &v.secret {
        let dir = vol_dir(ctx, uid, "kubernetes.io~secret", &v.name);
        tmpfs(&dir, None)?;
        let name = s.secret_name.clone().unwrap_or_default();
        let files = secret_files(ctx, &ns, &name, s.items.as_deref(), s.default_mode.unwrap_or(0o644), s.optional.unwrap_or(false)).await?;
        atomic_writer::write(&dir, &files, ownership::fs_group(pod))?;
        return Ok(dir);
    }
    if let Some(d) = &v.downward_api {
        let dir = vol_dir(ctx, uid, "kubernetes.io~downward-api", &v.name);
        let files = downward_files(pod, pod_ip, d.items.as_deref().unwrap_or_default(), d.default_mode.unwrap_or(0o644))?;
        atomic_writer::write(&dir, &files, ownership::fs_group(pod))?;
        return Ok(dir);
    }
    if let Some(p) = &v.projected {
        let dir = vol_dir(ctx, uid, "kubernetes.io~projected", &v.name);
        tmpfs(&dir, None)?;
        let mode = p.default_mode.unwrap_or(0o644);
        let mut files = BTreeMap::new();
        for source in p.sources.iter().flatten() {
            if let Some(c) = &source.config_map {
                files.extend(config_map_files(ctx, &ns, &c.name, c.items.as_deref(), mode, c.optional.unwrap_or(false)).await?);
            }
            if let Some(s) = &source.secret {
                files.extend(secret_files(ctx, &ns, &s.name, s.items.as_deref(), mode, s.optional.unwrap_or(false)).await?);
            }
            if let Some(d) = &source.downward_api {
                files.extend(downward_files(pod, pod_ip, d.items.as_deref().unwrap_or_default(), mode)?);
            }
            if let Some(t) = &source.service_account_token {
                let token = token(ctx, pod, t.audience.clone(), t.expiration_seconds.unwrap_or(DEFAULT_TOKEN_SECONDS)).await?;
                files.insert(t.path.clone(), File { bytes: token.into_bytes(), mode: mode as u32 });
            }
        }
        atomic_writer::write(&dir, &files, ownership::fs_group(pod))?;
        return Ok(dir);
    }
    if let Some(c) = &v.persistent_volume_claim {
        let (path, local) = claim_path(ctx, &ns, &c.claim_name).await?;
        // A local volume is given to the fsGroup once per worker (not on
        // every refresh); hostPath volumes never are, as on Kubernetes.
        if let (false, true, Some(gid)) = (owned.contains(&v.name), local, ownership::fs_group(pod)) {
            let on_root_mismatch = pod.spec.as_ref().and_then(|s| s.security_context.as_ref()).and_then(|s| s.fs_group_change_policy.as_deref()) == Some("OnRootMismatch");
            if !(on_root_mismatch && ownership::root_matches(&path, gid, c.read_only.unwrap_or(false))) {
                let (path, read_only) = (path.clone(), c.read_only.unwrap_or(false));
                tokio::task::spawn_blocking(move || ownership::apply(&path, gid, read_only)).await.map_err(|e| e.to_string())??;
            }
            owned.insert(v.name.clone());
        }
        return Ok(path);
    }
    Err("this volume type is not supported by the Nubis node agent yet".into())
}

/// The bind mounts of the container's `volumeMounts`.
pub fn mounts(c: &Container, prepared: &Prepared) -> Result<Vec<Mount>, String> {
    let mut out = Vec::new();
    for m in c.volume_mounts.iter().flatten() {
        let source = prepared.get(&m.name).ok_or_else(|| format!("volumeMount {:?} names no volume of the pod", m.name))?;
        let source = match m.sub_path.as_deref().filter(|s| !s.is_empty()) {
            Some(sub) => {
                let p = Path::new(sub);
                if p.is_absolute() || p.components().any(|c| !matches!(c, Component::Normal(_))) {
                    return Err(format!("subPath {sub:?} must be a relative path without '..'"));
                }
                let full = source.join(p);
                if !full.exists() {
                    std::fs::create_dir_all(&full).map_err(|e| format!("{}: {e}", full.display()))?;
                }
                full
            }
            None => source.clone(),
        };
        let mut options = vec!["rbind".to_string(), "rprivate".to_string()];
        options.push(if m.read_only.unwrap_or(false) { "ro" } else { "rw" }.to_string());
        out.push(MountBuilder::default().destination(&m.mount_path).typ("bind").source(source).options(options).build().map_err(|e| e.to_string())?);
    }
    Ok(out)
}

fn set_mode(path: &Path, mode: u32) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).map_err(|e| format!("{}: {e}", path.display()))
}

/// A hostPath volume: its type's check, or creation.
fn host_path(path: &str, kind: &str) -> Result<PathBuf, String> {
    let p = PathBuf::from(path);
    let meta = std::fs::metadata(&p);
    use std::os::unix::fs::FileTypeExt;
    let ok = match kind {
        "" => true,
        "DirectoryOrCreate" => {
            if meta.is_err() {
                std::fs::create_dir_all(&p).map_err(|e| format!("{path}: {e}"))?;
                set_mode(&p, 0o755)?;
            }
            std::fs::metadata(&p).is_ok_and(|m| m.is_dir())
        }
        "FileOrCreate" => {
            if meta.is_err() {
                std::fs::OpenOptions::new().create(true).append(true).open(&p).map_err(|e| format!("{path}: {e}"))?;
                set_mode(&p, 0o644)?;
            }
            std::fs::metadata(&p).is_ok_and(|m| m.is_file())
        }
        "Directory" => meta.as_ref().is_ok_and(|m| m.is_dir()),
        "File" => meta.as_ref().is_ok_and(|m| m.is_file()),
        "Socket" => meta.as_ref().is_ok_and(|m| m.file_type().is_socket()),
        "CharDevice" => meta.as_ref().is_ok_and(|m| m.file_type().is_char_device()),
        "BlockDevice" => meta.as_ref().is_ok_and(|m| m.file_type().is_block_device()),
        other => return Err(format!("unknown hostPath type {other:?}")),
    };
    if ok { Ok(p) } else { Err(format!("hostPath type check failed: {path} is not a {kind}")) }
}

fn items_files(data: BTreeMap<String, Vec<u8>>, items: Option<&[KeyToPath]>, mode: i32, what: &str) -> Result<BTreeMap<String, File>, String> {
    let mut out = BTreeMap::new();
    match items {
        Some(items) => {
            for i in items {
                let bytes = data.get(&i.key).ok_or_else(|| format!("configuration of {what} has no key {:?}", i.key))?;
                out.insert(i.path.clone(), File { bytes: bytes.clone(), mode: i.mode.unwrap_or(mode) as u32 });
            }
        }
        None => {
            for (k, v) in data {
                out.insert(k, File { bytes: v, mode: mode as u32 });
            }
        }
    }
    Ok(out)
}

async fn config_map_files(ctx: &Ctx, ns: &str, name: &str, items: Option<&[KeyToPath]>, mode: i32, optional: bool) -> Result<BTreeMap<String, File>, String> {
    let api: Api<ConfigMap> = Api::namespaced(ctx.client.clone(), ns);
    let cm = match api.get_opt(name).await.map_err(|e| e.to_string())? {
        Some(cm) => cm,
        None if optional => return Ok(BTreeMap::new()),
        None => return Err(format!("configmap \"{name}\" not found")),
    };
    let mut data: BTreeMap<String, Vec<u8>> = cm.data.unwrap_or_default().into_iter().map(|(k, v)| (k, v.into_bytes())).collect();
    data.extend(cm.binary_data.unwrap_or_default().into_iter().map(|(k, v)| (k, v.0)));
    items_files(data, items, mode, &format!("configmap \"{name}\""))
}

async fn secret_files(ctx: &Ctx, ns: &str, name: &str, items: Option<&[KeyToPath]>, mode: i32, optional: bool) -> Result<BTreeMap<String, File>, String> {
    let api: Api<Secret> = Api::namespaced(ctx.client.clone(), ns);
    let secret = match api.get_opt(name).await.map_err(|e| e.to_string())? {
        Some(s) => s,
        None if optional => return Ok(BTreeMap::new()),
        None => return Err(format!("secret \"{name}\" not found")),
    };
    let data: BTreeMap<String, Vec<u8>> = secret.data.unwrap_or_default().into_iter().map(|(k, v)| (k, v.0)).collect();
    items_files(data, items, mode, &format!("secret \"{name}\""))
}

/// `key="value"` lines, sorted, as the kubelet writes labels and
/// annotations.
fn map_lines(map: Option<&BTreeMap<String, String>>) -> String {
    map.into_iter().flatten().map(|(k, v)| format!("{k}={v:?}")).collect::<Vec<_>>().join("\n")
}

fn downward_files(pod: &Pod, pod_ip: &str, items: &[DownwardAPIVolumeFile], mode: i32) -> Result<BTreeMap<String, File>, String> {
    let mut out = BTreeMap::new();
    for i in items {
        let value = match i.field_ref.as_ref().map(|f| f.field_path.as_str()) {
            Some("metadata.name") => pod.name_any(),
            Some("metadata.namespace") => pod.namespace().unwrap_or_default(),
            Some("metadata.uid") => pod.metadata.uid.clone().unwrap_or_default(),
            Some("metadata.labels") => map_lines(pod.metadata.labels.as_ref()),
            Some("metadata.annotations") => map_lines(pod.metadata.annotations.as_ref()),
            Some("status.podIP") => pod_ip.to_string(),
            Some(other) => return Err(format!("unsupported downward API field {other:?}")),
            None => return Err(format!("{}: only fieldRef items are supported yet", i.path)),
        };
        out.insert(i.path.clone(), File { bytes: value.into_bytes(), mode: i.mode.unwrap_or(mode) as u32 });
    }
    Ok(out)
}

/// A token of the pod's service account bound to the pod (TokenRequest),
/// or the one asked for before while it is fresh.
async fn token(ctx: &Ctx, pod: &Pod, audience: Option<String>, seconds: i64) -> Result<String, String> {
    let ns = pod.namespace().unwrap_or_default();
    let sa = pod.spec.as_ref().and_then(|s| s.service_account_name.clone()).unwrap_or_else(|| "default".into());
    let key = tokens::Key { pod_uid: pod.metadata.uid.clone().unwrap_or_default(), service_account: sa.clone(), audience: audience.clone(), seconds };
    let asked = tokio::time::Instant::now();
    if let Some(token) = ctx.tokens.get(&key, asked) {
        return Ok(token);
    }
    let request = TokenRequest {
        spec: TokenRequestSpec {
            audiences: audience.into_iter().collect(),
            expiration_seconds: Some(seconds),
            bound_object_ref: Some(BoundObjectReference { api_version: Some("v1".into()), kind: Some("Pod".into()), name: Some(pod.name_any()), uid: pod.metadata.uid.clone() }),
        },
        ..TokenRequest::default()
    };
    let api: Api<ServiceAccount> = Api::namespaced(ctx.client.clone(), &ns);
    let answer: TokenRequest = api.create_subresource("token", &sa, &PostParams::default(), &request).await.map_err(|e| format!("requesting a token for service account \"{sa}\": {e}"))?;
    let status = answer.status.ok_or("the token request answered no token")?;
    // The server may give another life than the one asked for.
    let valid_for = std::time::Duration::try_from(status.expiration_timestamp.0.duration_since(jiff::Timestamp::now())).unwrap_or_default();
    ctx.tokens.put(key, status.token.clone(), valid_for, asked);
    Ok(status.token)
}

/// The directory behind a bound claim: its volume's hostPath or local
/// path, and whether it is a local volume.
async fn claim_path(ctx: &Ctx, ns: &str, claim: &str) -> Result<(PathBuf, bool), String> {
    let pvc = Api::<PersistentVolumeClaim>::namespaced(ctx.client.clone(), ns).get(claim).await.map_err(|e| format!("persistentvolumeclaim \"{claim}\": {e}"))?;
    let pv_name = pvc.spec.and_then(|s| s.volume_name).filter(|n| !n.is_empty()).ok_or_else(|| format!("persistentvolumeclaim \"{claim}\" is not bound"))?;
    let pv = Api::<PersistentVolume>::all(ctx.client.clone()).get(&pv_name).await.map_err(|e| format!("persistentvolume \"{pv_name}\": {e}"))?;
    let spec = pv.spec.unwrap_or_default();
    let local = spec.local.is_some();
    let path = spec.host_path.map(|h| h.path).or(spec.local.map(|l| l.path)).ok_or_else(|| format!("persistentvolume \"{pv_name}\" is neither hostPath nor local"))?;
    std::fs::create_dir_all(&path).map_err(|e| format!("{path}: {e}"))?;
    Ok((PathBuf::from(path), local))
}

/// Bytes of a quantity (`64Mi`, `1G`, `500000`), rounded up as the
/// API server rounds a quantity's value.
pub fn quantity_bytes(q: &str) -> Option<u64> {
    apimachinery::validation::parse_quantity(q).ok().and_then(|q| u64::try_from(q.value()).ok())
}

/// Unmounts the pod's tmpfs volumes (its directory is removed after).
pub fn unmount_all(ctx: &Ctx, uid: &str) {
    unmount_pod_volumes(&ctx.pods_dir.join(uid));
}

/// Unmounts the tmpfs volumes under one pod's directory.
pub fn unmount_pod_volumes(pod_dir: &Path) {
    let root = pod_dir.join("volumes");
    for kind in std::fs::read_dir(&root).into_iter().flatten().filter_map(Result::ok) {
        for v in std::fs::read_dir(kind.path()).into_iter().flatten().filter_map(Result::ok) {
            let _ = crate::rootfs::unmount(&v.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn volumes_pure_parts() {
        assert_eq!(quantity_bytes("64Mi"), Some(64 << 20));
        assert_eq!(quantity_bytes("1G"), Some(1_000_000_000));
        assert_eq!(quantity_bytes("12x"), None);
        let pod: Pod = serde_json::from_value(serde_json::json!({"metadata": {"name": "p", "namespace": "ns", "labels": {"b": "2", "a": "1"}}})).expect("a pod");
        let items: Vec<DownwardAPIVolumeFile> = serde_json::from_value(serde_json::json!([
            {"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}},
            {"path": "name", "fieldRef": {"fieldPath": "metadata.name"}, "mode": 0o600},
        ]))
        .expect("items");
        let files = downward_files(&pod, "10.88.0.2", &items, 0o644).expect("files");
        assert_eq!(files["labels"].bytes, b"a=\"1\"\nb=\"2\"");
        assert_eq!((files["name"].bytes.as_slice(), files["name"].mode), (&b"p"[..], 0o600));
        let c: Container = serde_json::from_value(serde_json::json!({"name": "c", "volumeMounts": [{"name": "v", "mountPath": "/data", "subPath": "../x"}]})).expect("a container");
        let prepared: Prepared = [("v".to_string(), PathBuf::from("/tmp"))].into();
        assert!(mounts(&c, &prepared).expect_err("refused").contains("subPath"));
        let data: BTreeMap<String, Vec<u8>> = [("k".to_string(), b"v".to_vec())].into();
        assert!(items_files(data, Some(&[KeyToPath { key: "missing".into(), path: "p".into(), mode: None }]), 0o644, "configmap \"c\"").is_err());
        assert!(host_path("/definitely/not/here", "Directory").is_err());
    }
}
