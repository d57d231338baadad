//! Pod volumes: names, exactly one source per volume, and the fields of the
//! common sources (emptyDir, hostPath, configMap, secret, PVC, projected,
//! downwardAPI, NFS, CSI, ephemeral, image). Legacy in-tree cloud sources
//! only get their required fields checked.

use serde_json::Value;

use super::field::{FieldError, Path};
use super::format::is_dns1123_label;
use super::json::{arr_at, field, get, i64_at, s, str_at};
use super::label_selector::validate_label_selector;
use super::meta::validate_template_meta;
use super::persistent_volume::validate_pvc_spec;
use super::resources::parse_quantity_field;

const FILE_MODE_MSG: &str = "must be a number between 0 and 0777 (octal), both inclusive";

/// The volume sources in the order Kubernetes checks them, with the path
/// name it uses in the "more than 1 volume type" error (two are misspelt upstream).
const SOURCES: &[(&str, &str)] = &[
    ("emptyDir", "emptyDir"),
    ("hostPath", "hostPath"),
    ("gitRepo", "gitRepo"),
    ("gcePersistentDisk", "gcePersistentDisk"),
    ("awsElasticBlockStore", "awsElasticBlockStore"),
    ("secret", "secret"),
    ("nfs", "nfs"),
    ("iscsi", "iscsi"),
    ("glusterfs", "glusterfs"),
    ("flocker", "flocker"),
    ("persistentVolumeClaim", "persistentVolumeClaim"),
    ("rbd", "rbd"),
    ("cinder", "cinder"),
    ("cephfs", "cephFS"),
    ("quobyte", "quobyte"),
    ("downwardAPI", "downwarAPI"),
    ("fc", "fc"),
    ("flexVolume", "flexVolume"),
    ("configMap", "configMap"),
    ("azureFile", "azureFile"),
    ("vsphereVolume", "vsphereVolume"),
    ("photonPersistentDisk", "photonPersistentDisk"),
    ("portworxVolume", "portworxVolume"),
    ("azureDisk", "azureDisk"),
    ("storageos", "storageos"),
    ("projected", "projected"),
    ("scaleIO", "scaleIO"),
    ("csi", "csi"),
    ("ephemeral", "ephemeral"),
    ("image", "image"),
];

/// Required members of the legacy sources that get no deeper validation.
const LEGACY_REQUIRED: &[(&str, &[&str])] = &[
    ("gcePersistentDisk", &["pdName"]),
    ("awsElasticBlockStore", &["volumeID"]),
    ("iscsi", &["targetPortal", "iqn"]),
    ("glusterfs", &["endpoints", "path"]),
    ("rbd", &["monitors", "image"]),
    ("cinder", &["volumeID"]),
    ("cephfs", &["monitors"]),
    ("quobyte", &["registry", "volume"]),
    ("flexVolume", &["driver"]),
    ("azureFile", &["secretName", "shareName"]),
    ("vsphereVolume", &["volumePath"]),
    ("photonPersistentDisk", &["pdID"]),
    ("portworxVolume", &["volumeID"]),
    ("azureDisk", &["diskName", "diskURI"]),
    ("storageos", &["volumeName"]),
    ("scaleIO", &["gateway", "system", "volumeName"]),
];

/// A validated volume: its name and which source it uses.
pub(crate) struct VolumeInfo {
    pub name: String,
    pub source: String,
}

/// Validates `spec.volumes`; returns the valid volumes for mount checks.
pub(crate) fn validate_volumes(
    volumes: &[Value],
    pod_name: Option<&str>,
    resource_is_pod: bool,
    path: &Path,
) -> (Vec<VolumeInfo>, Vec<FieldError>) {
    let mut errs = Vec::new();
    let mut valid: Vec<VolumeInfo> = Vec::new();
    let mut names: Vec<&str> = Vec::new();
    let created_pvcs: Vec<String> = match pod_name.filter(|n| !n.is_empty()) {
        Some(pod) => volumes
            .iter()
            .filter(|v| field(v, &["ephemeral"]).is_some())
            .map(|v| format!("{pod}-{}", s(v, &["name"])))
            .collect(),
        None => Vec::new(),
    };
    for (i, vol) in volumes.iter().enumerate() {
        let idx = path.index(i);
        let name = s(vol, &["name"]);
        let (source, mut el) = validate_volume_source(vol, &idx, name, pod_name, resource_is_pod);
        if name.is_empty() {
            el.push(FieldError::required(&idx.child("name"), ""));
        } else {
            for msg in is_dns1123_label(name) {
                el.push(FieldError::invalid(&idx.child("name"), name, msg));
            }
        }
        if names.contains(&name) {
            el.push(FieldError::duplicate(&idx.child("name"), name));
        }
        if el.is_empty() {
            names.push(name);
            valid.push(VolumeInfo {
                name: name.to_string(),
                source: source.unwrap_or_default(),
            });
        } else {
            errs.extend(el);
        }
        if let Some(claim) = str_at(vol, &["persistentVolumeClaim", "claimName"])
            && created_pvcs.iter().any(|c| c == claim)
        {
            errs.push(FieldError::invalid(
                &idx.child("persistentVolumeClaim").child("claimName"),
                claim,
                "must not reference a PVC that gets created for an ephemeral volume",
            ));
        }
    }
    (valid, errs)
}

fn validate_volume_source(
    vol: &Value,
    path: &Path,
    vol_name: &str,
    pod_name: Option<&str>,
    resource_is_pod: bool,
) -> (Option<String>, Vec<FieldError>) {
    let mut errs = Vec::new();
    let mut chosen: Option<String> = None;
    for (key, forbidden_name) in SOURCES {
        let Some(src) = field(vol, &[key]) else {
            continue;
        };
        if chosen.is_some() {
            errs.push(FieldError::forbidden(
                &path.child(forbidden_name),
                "may not specify more than 1 volume type",
            ));
            continue;
        }
        chosen = Some(key.to_string());
        let p = path.child(key);
        match *key {
            "emptyDir" => {
                if let Some(limit) = field(src, &["sizeLimit"]) {
                    match parse_quantity_field(limit, &p.child("sizeLimit")) {
                        Ok(q) if q.sign() < 0 => errs.push(FieldError::forbidden(
                            &p.child("sizeLimit"),
                            "SizeLimit field must be a valid resource quantity",
                        )),
                        Ok(_) => {}
                        Err(e) => errs.push(e),
                    }
                }
            }
            "hostPath" => errs.extend(validate_host_path(src, &p)),
            "gitRepo" => {
                if s(src, &["repository"]).is_empty() {
                    errs.push(FieldError::required(&p.child("repository"), ""));
                }
                errs.extend(validate_local_descending_path(
                    s(src, &["directory"]),
                    &p.child("directory"),
                ));
            }
            "secret" => {
                if s(src, &["secretName"]).is_empty() {
                    errs.push(FieldError::required(&p.child("secretName"), ""));
                }
                errs.extend(validate_mode(src, "defaultMode", &p));
                for (j, item) in arr_at(src, &["items"]).iter().enumerate() {
                    errs.extend(validate_key_to_path(item, &p.child("items").index(j)));
                }
            }
            "configMap" => {
                if s(src, &["name"]).is_empty() {
                    errs.push(FieldError::required(&p.child("name"), ""));
                }
                errs.extend(validate_mode(src, "defaultMode", &p));
                for (j, item) in arr_at(src, &["items"]).iter().enumerate() {
                    errs.extend(validate_key_to_path(item, &p.child("items").index(j)));
                }
            }
            "nfs" => {
                if s(src, &["server"]).is_empty() {
                    errs.push(FieldError::required(&p.child("server"), ""));
                }
                let nfs_path = s(src, &["path"]);
                if nfs_path.is_empty() {
                    errs.push(FieldError::required(&p.child("path"), ""));
                }
                if !nfs_path.starts_with('/') {
                    errs.push(FieldError::invalid(
                        &p.child("path"),
                        nfs_path,
                        "must be an absolute path",
                    ));
                }
            }
            "persistentVolumeClaim" => {
                if s(src, &["claimName"]).is_empty() {
                    errs.push(FieldError::required(&p.child("claimName"), ""));
                }
            }
            "downwardAPI" => {
                errs.extend(validate_mode(src, "defaultMode", &p));
                for item in arr_at(src, &["items"]) {
                    // Kubernetes reports item errors at the source path, not per index.
                    errs.extend(validate_downward_api_file(item, &p));
                }
            }
            "projected" => {
                errs.extend(validate_mode(src, "defaultMode", &p));
                errs.extend(validate_projected_sources(src, &p));
            }
            "csi" => {
                errs.extend(validate_csi_driver_name(
                    s(src, &["driver"]),
                    &p.child("driver"),
                ));
                if let Some(r) = field(src, &["nodePublishSecretRef"]) {
                    let n = s(r, &["name"]);
                    if n.is_empty() {
                        errs.push(FieldError::required(
                            &p.child("nodePublishSecretRef").child("name"),
                            "",
                        ));
                    } else {
                        for msg in super::format::is_dns1123_subdomain(n) {
                            errs.push(FieldError::invalid(&p.child("name"), n, msg));
                        }
                    }
                }
            }
            "ephemeral" => {
                match field(src, &["volumeClaimTemplate"]) {
                    None => errs.push(FieldError::required(&p.child("volumeClaimTemplate"), "")),
                    Some(t) => {
                        let tp = p.child("volumeClaimTemplate");
                        errs.extend(validate_template_meta(
                            get(t, &["metadata"]),
                            &tp.child("metadata"),
                        ));
                        errs.extend(forbid_template_meta_fields(
                            get(t, &["metadata"]),
                            &tp.child("metadata"),
                        ));
                        errs.extend(validate_pvc_spec(
                            get(t, &["spec"]).unwrap_or(&Value::Null),
                            &tp.child("spec"),
                        ));
                    }
                }
                if let Some(pod) = pod_name.filter(|n| !n.is_empty())
                    && !vol_name.is_empty()
                {
                    let pvc = format!("{pod}-{vol_name}");
                    for msg in super::format::is_dns1123_subdomain(&pvc) {
                        errs.push(FieldError::invalid(
                            &path.child("name"),
                            vol_name,
                            format!("PVC name {}: {msg}", super::field::go_quote(&pvc)),
                        ));
                    }
                }
            }
            "image" => {
                if resource_is_pod && s(src, &["reference"]).is_empty() {
                    errs.push(FieldError::required(&p.child("reference"), ""));
                }
                let policy = s(src, &["pullPolicy"]);
                if !policy.is_empty() && !["Always", "IfNotPresent", "Never"].contains(&policy) {
                    errs.push(FieldError::not_supported(
                        &p.child("pullPolicy"),
                        policy,
                        &["Always", "IfNotPresent", "Never"],
                    ));
                }
            }
            other => {
                if let Some((_, required)) = LEGACY_REQUIRED.iter().find(|(k, _)| *k == other) {
                    let p = if other == "gcePersistentDisk" {
                        path.child("persistentDisk")
                    } else {
                        p
                    };
                    for r in *required {
                        if field(src, &[r]).is_none_or(super::json::is_zero) {
                            errs.push(FieldError::required(&p.child(r), ""));
                        }
                    }
                }
            }
        }
    }
    if chosen.is_none() {
        errs.push(FieldError::required(path, "must specify a volume type"));
    }
    (chosen, errs)
}

fn validate_host_path(src: &Value, p: &Path) -> Vec<FieldError> {
    let host_path = s(src, &["path"]);
    if host_path.is_empty() {
        return vec![FieldError::required(&p.child("path"), "")];
    }
    let mut errs = validate_no_backsteps(host_path, &p.child("path"));
    if let Some(t) = str_at(src, &["type"]) {
        const TYPES: &[&str] = &[
            "",
            "BlockDevice",
            "CharDevice",
            "Directory",
            "DirectoryOrCreate",
            "File",
            "FileOrCreate",
            "Socket",
        ];
        if !TYPES.contains(&t) {
            errs.push(FieldError::not_supported(&p.child("type"), t, TYPES));
        }
    }
    errs
}

fn validate_mode(src: &Value, key: &str, p: &Path) -> Vec<FieldError> {
    match i64_at(src, &[key]) {
        Some(m) if !(0..=0o777).contains(&m) => {
            vec![FieldError::invalid(&p.child(key), m, FILE_MODE_MSG)]
        }
        _ => Vec::new(),
    }
}

fn validate_key_to_path(item: &Value, p: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if s(item, &["key"]).is_empty() {
        errs.push(FieldError::required(&p.child("key"), ""));
    }
    let item_path = s(item, &["path"]);
    if item_path.is_empty() {
        errs.push(FieldError::required(&p.child("path"), ""));
    }
    errs.extend(validate_local_non_reserved_path(
        item_path,
        &p.child("path"),
    ));
    errs.extend(validate_mode(item, "mode", p));
    errs
}

const VOLUME_FIELD_PATHS: &[&str] = &[
    "metadata.annotations",
    "metadata.labels",
    "metadata.name",
    "metadata.namespace",
    "metadata.uid",
];

fn validate_downward_api_file(file: &Value, p: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let file_path = s(file, &["path"]);
    if file_path.is_empty() {
        errs.push(FieldError::required(&p.child("path"), ""));
    }
    errs.extend(validate_local_non_reserved_path(
        file_path,
        &p.child("path"),
    ));
    match (
        field(file, &["fieldRef"]),
        field(file, &["resourceFieldRef"]),
    ) {
        (Some(fr), rr) => {
            errs.extend(super::pod::validate_object_field_selector(
                fr,
                VOLUME_FIELD_PATHS,
                &p.child("fieldRef"),
            ));
            if rr.is_some() {
                errs.push(FieldError::invalid(
                    p,
                    "resource",
                    "fieldRef and resourceFieldRef can not be specified simultaneously",
                ));
            }
        }
        (None, Some(rr)) => {
            errs.extend(super::pod::validate_resource_field_selector(
                rr,
                &p.child("resourceFieldRef"),
                true,
            ));
        }
        (None, None) => errs.push(FieldError::required(
            p,
            "one of fieldRef and resourceFieldRef is required",
        )),
    }
    errs.extend(validate_mode(file, "mode", p));
    errs
}

fn validate_projected_sources(src: &Value, p: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let mut all_paths: Vec<String> = Vec::new();
    for (i, source) in arr_at(src, &["sources"]).iter().enumerate() {
        let sp = p.child("sources").index(i);
        let mut count = 0;
        for kind in ["secret", "configMap"] {
            if let Some(x) = field(source, &[kind]) {
                count += 1;
                let kp = sp.child(kind);
                if s(x, &["name"]).is_empty() {
                    errs.push(FieldError::required(&kp.child("name"), ""));
                }
                for (j, item) in arr_at(x, &["items"]).iter().enumerate() {
                    errs.extend(validate_key_to_path(item, &kp.child("items").index(j)));
                    let ip = s(item, &["path"]);
                    if !ip.is_empty() {
                        if all_paths.iter().any(|x| x == ip) {
                            errs.push(FieldError::invalid(
                                p,
                                s(x, &["name"]),
                                "conflicting duplicate paths",
                            ));
                        } else {
                            all_paths.push(ip.to_string());
                        }
                    }
                }
            }
        }
        if let Some(d) = field(source, &["downwardAPI"]) {
            count += 1;
            for item in arr_at(d, &["items"]) {
                errs.extend(validate_downward_api_file(item, &sp.child("downwardAPI")));
                let ip = s(item, &["path"]);
                if !ip.is_empty() {
                    if all_paths.iter().any(|x| x == ip) {
                        errs.push(FieldError::invalid(p, ip, "conflicting duplicate paths"));
                    } else {
                        all_paths.push(ip.to_string());
                    }
                }
            }
        }
        if let Some(t) = field(source, &["serviceAccountToken"]) {
            count += 1;
            let tp = sp.child("serviceAccountToken");
            let exp = i64_at(t, &["expirationSeconds"]).unwrap_or(0);
            if exp < 600 {
                errs.push(FieldError::invalid(
                    &tp.child("expirationSeconds"),
                    exp,
                    "may not specify a duration less than 10 minutes",
                ));
            }
            if exp > 1 << 32 {
                errs.push(FieldError::invalid(
                    &tp.child("expirationSeconds"),
                    exp,
                    "may not specify a duration larger than 2^32 seconds",
                ));
            }
            let token_path = s(t, &["path"]);
            if token_path.is_empty() {
                errs.push(FieldError::required(&p.child("path"), ""));
            } else {
                errs.extend(validate_local_non_reserved_path(
                    token_path,
                    &p.child("path"),
                ));
            }
        }
        if let Some(b) = field(source, &["clusterTrustBundle"]) {
            count += 1;
            let bp = sp.child("clusterTrustBundle");
            match (field(b, &["name"]), field(b, &["signerName"])) {
                (Some(_), Some(_)) => errs.push(FieldError::invalid(
                    &bp,
                    b.clone(),
                    "only one of name and signerName may be used",
                )),
                (None, None) => errs.push(FieldError::required(
                    &bp,
                    "either name or signerName must be specified",
                )),
                _ => {}
            }
            let bpath = s(b, &["path"]);
            if bpath.is_empty() {
                errs.push(FieldError::required(&bp.child("path"), ""));
            }
            errs.extend(validate_local_non_reserved_path(bpath, &bp.child("path")));
            errs.extend(validate_label_selector(
                get(b, &["labelSelector"]),
                &bp.child("labelSelector"),
            ));
        }
        if count > 1 {
            errs.push(FieldError::forbidden(
                &sp,
                "may not specify more than 1 volume type per source",
            ));
        }
    }
    errs
}

pub(crate) fn validate_csi_driver_name(name: &str, p: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if name.is_empty() {
        errs.push(FieldError::required(p, ""));
    }
    if name.len() > 63 {
        errs.push(FieldError::too_long(p, 63));
    }
    for msg in super::format::is_dns1123_subdomain(&name.to_lowercase()) {
        errs.push(FieldError::invalid(p, name, msg));
    }
    errs
}

/// Only `labels` and `annotations` may be set in an embedded template's metadata.
pub(crate) fn forbid_template_meta_fields(meta: Option<&Value>, p: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if let Some(m) = meta.and_then(Value::as_object) {
        let mut keys: Vec<&String> = m
            .iter()
            .filter(|(k, v)| {
                !matches!(k.as_str(), "labels" | "annotations" | "creationTimestamp")
                    && !super::json::is_zero(v)
            })
            .map(|(k, _)| k)
            .collect();
        keys.sort();
        for k in keys {
            errs.push(FieldError::forbidden(&p.child(k), "cannot be set"));
        }
    }
    errs
}

/// No `..` path element.
pub(crate) fn validate_no_backsteps(target: &str, p: &Path) -> Vec<FieldError> {
    if target
        .replace('\\', "/")
        .split('/')
        .any(|part| part == "..")
    {
        vec![FieldError::invalid(p, target, "must not contain '..'")]
    } else {
        Vec::new()
    }
}

/// Relative and without `..` elements.
pub(crate) fn validate_local_descending_path(target: &str, p: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if target.starts_with('/') {
        errs.push(FieldError::invalid(p, target, "must be a relative path"));
    }
    errs.extend(validate_no_backsteps(target, p));
    errs
}

pub(crate) fn validate_local_non_reserved_path(target: &str, p: &Path) -> Vec<FieldError> {
    let mut errs = validate_local_descending_path(target, p);
    if target.starts_with("..") && !target.starts_with("../") {
        errs.push(FieldError::invalid(p, target, "must not start with '..'"));
    }
    errs
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn msgs(errs: &[FieldError]) -> Vec<String> {
        errs.iter().map(FieldError::message).collect()
    }

    #[test]
    fn validation_volume_sources() {
        let vols = vec![
            json!({"name": "a", "emptyDir": {}}),
            json!({"name": "b"}),
            json!({"name": "a", "emptyDir": {}}),
            json!({"name": "d", "emptyDir": {}, "configMap": {"name": "x"}}),
            json!({"name": "Bad", "hostPath": {"path": "/x", "type": "Bogus"}}),
            json!({"name": "c", "secret": {"secretName": "s", "defaultMode": 1000, "items": [{"key": "k", "path": "/abs"}]}}),
        ];
        let p = Path::new("spec").child("volumes");
        let (valid, errs) = validate_volumes(&vols, None, true, &p);
        assert_eq!(valid.len(), 1);
        assert_eq!(valid[0].source, "emptyDir");
        assert_eq!(
            msgs(&errs),
            vec![
                "spec.volumes[1]: Required value: must specify a volume type",
                "spec.volumes[2].name: Duplicate value: \"a\"",
                "spec.volumes[3].configMap: Forbidden: may not specify more than 1 volume type",
                "spec.volumes[4].hostPath.type: Unsupported value: \"Bogus\": supported values: \"\", \"BlockDevice\", \"CharDevice\", \"Directory\", \"DirectoryOrCreate\", \"File\", \"FileOrCreate\", \"Socket\"",
                "spec.volumes[4].name: Invalid value: \"Bad\": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
                "spec.volumes[5].secret.defaultMode: Invalid value: 1000: must be a number between 0 and 0777 (octal), both inclusive",
                "spec.volumes[5].secret.items[0].path: Invalid value: \"/abs\": must be a relative path",
            ]
        );
    }
}
