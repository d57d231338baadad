//! PersistentVolume and PersistentVolumeClaim validation, including the claim
//! spec embedded in StatefulSet and ephemeral volume templates.

use serde_json::Value;

use super::NameRule;
use super::field::{FieldError, Path};
use super::format::{is_dns1123_label, is_dns1123_subdomain};
use super::json::{arr_at, field, get, s, semantic_eq, str_at};
use super::label_selector::validate_label_selector;
use super::meta::{validate_builtin_object_meta, validate_builtin_object_meta_update};
use super::resources::{parse_quantity_field, validate_resource_quantity_value};

const ACCESS_MODES: &[&str] = &[
    "ReadOnlyMany",
    "ReadWriteMany",
    "ReadWriteOnce",
    "ReadWriteOncePod",
];
const VOLUME_MODES: &[&str] = &["Block", "Filesystem"];
const RECLAIM_POLICIES: &[&str] = &["Delete", "Recycle", "Retain"];

fn validate_access_modes(modes: &[Value], p: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let (mut rwop, mut other) = (false, false);
    for m in modes {
        let m = m.as_str().unwrap_or("");
        if !ACCESS_MODES.contains(&m) {
            errs.push(FieldError::not_supported(p, m, ACCESS_MODES));
        }
        if m == "ReadWriteOncePod" {
            rwop = true;
        } else if ACCESS_MODES.contains(&m) {
            other = true;
        }
    }
    if rwop && other {
        errs.push(FieldError::forbidden(
            p,
            "may not use ReadWriteOncePod with other access modes",
        ));
    }
    errs
}

/// `ValidatePersistentVolumeClaimSpec`.
pub(crate) fn validate_pvc_spec(spec: &Value, path: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let modes = arr_at(spec, &["accessModes"]);
    if modes.is_empty() {
        errs.push(FieldError::required(
            &path.child("accessModes"),
            "at least 1 access mode is required",
        ));
    }
    errs.extend(validate_label_selector(
        get(spec, &["selector"]),
        &path.child("selector"),
    ));
    errs.extend(validate_access_modes(modes, &path.child("accessModes")));
    let storage_path = path.child("resources").key("storage");
    match field(spec, &["resources", "requests", "storage"]) {
        None => errs.push(FieldError::required(&storage_path, "")),
        Some(v) => match parse_quantity_field(v, &storage_path) {
            Err(e) => errs.push(e),
            Ok(q) if q.sign() <= 0 => errs.push(FieldError::invalid(
                &storage_path,
                q.canonical(),
                "must be greater than zero",
            )),
            Ok(q) => errs.extend(validate_resource_quantity_value(
                "storage",
                &q,
                &storage_path,
            )),
        },
    }
    if let Some(class) = str_at(spec, &["storageClassName"]).filter(|c| !c.is_empty()) {
        for msg in is_dns1123_subdomain(class) {
            errs.push(FieldError::invalid(
                &path.child("storageClassName"),
                class,
                msg,
            ));
        }
    }
    if let Some(mode) = str_at(spec, &["volumeMode"])
        && !VOLUME_MODES.contains(&mode)
    {
        errs.push(FieldError::not_supported(
            &path.child("volumeMode"),
            mode,
            VOLUME_MODES,
        ));
    }
    let ds = field(spec, &["dataSource"]);
    let dsr = field(spec, &["dataSourceRef"]);
    if let Some(d) = ds {
        errs.extend(validate_data_source(d, &path.child("dataSource"), false));
    }
    if let Some(d) = dsr {
        errs.extend(validate_data_source(d, &path.child("dataSourceRef"), true));
    }
    let ref_namespace = dsr.map(|d| s(d, &["namespace"])).unwrap_or("");
    if !ref_namespace.is_empty() {
        if ds.is_some() {
            errs.push(FieldError::invalid(
                path,
                path.child("dataSource").to_string(),
                "may not be specified when dataSourceRef.namespace is specified",
            ));
        }
    } else if let (Some(a), Some(b)) = (ds, dsr) {
        let same = s(a, &["apiGroup"]) == s(b, &["apiGroup"])
            && s(a, &["kind"]) == s(b, &["kind"])
            && s(a, &["name"]) == s(b, &["name"]);
        if !same {
            errs.push(FieldError::invalid(
                path,
                path.child("dataSource").to_string(),
                "must match dataSourceRef",
            ));
        }
    }
    errs
}

fn validate_data_source(d: &Value, p: &Path, is_ref: bool) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if s(d, &["name"]).is_empty() {
        errs.push(FieldError::required(&p.child("name"), ""));
    }
    let kind = s(d, &["kind"]);
    if kind.is_empty() {
        errs.push(FieldError::required(&p.child("kind"), ""));
    }
    let group = s(d, &["apiGroup"]);
    if group.is_empty() && kind != "PersistentVolumeClaim" {
        errs.push(FieldError::invalid(
            p,
            kind,
            "must be 'PersistentVolumeClaim' when referencing the default apiGroup",
        ));
    }
    if !group.is_empty() {
        for msg in is_dns1123_subdomain(group) {
            errs.push(FieldError::invalid(&p.child("apiGroup"), group, msg));
        }
    }
    if is_ref {
        let ns = s(d, &["namespace"]);
        if !ns.is_empty() {
            for msg in is_dns1123_label(ns) {
                errs.push(FieldError::invalid(&p.child("namespace"), ns, msg));
            }
        }
    }
    errs
}

pub(crate) fn validate_pvc_create(obj: &Value) -> Vec<FieldError> {
    let mut errs = validate_builtin_object_meta(obj, true, NameRule::Dns1123Subdomain);
    errs.extend(validate_pvc_spec(
        get(obj, &["spec"]).unwrap_or(&Value::Null),
        &Path::new("spec"),
    ));
    errs
}

/// Claims are immutable except `resources.requests` (growing only) of bound
/// claims and a one-time `volumeName`.
pub(crate) fn validate_pvc_update(new: &Value, old: &Value) -> Vec<FieldError> {
    let mut errs = validate_builtin_object_meta_update(new, old);
    errs.extend(validate_pvc_create(new));
    let mut new_spec = get(new, &["spec"]).cloned().unwrap_or(Value::Null);
    let mut old_spec = get(old, &["spec"]).cloned().unwrap_or(Value::Null);
    if s(&old_spec, &["volumeName"]).is_empty()
        && let (Some(o), Some(v)) = (old_spec.as_object_mut(), new_spec.get("volumeName"))
    {
        o.insert("volumeName".into(), v.clone());
    }
    // Setting storageClassName on a claim that had none is allowed once.
    if str_at(&old_spec, &["storageClassName"]).is_none()
        && let (Some(o), Some(v)) = (old_spec.as_object_mut(), new_spec.get("storageClassName"))
    {
        o.insert("storageClassName".into(), v.clone());
    }
    let bound = s(new, &["status", "phase"]) == "Bound";
    if bound {
        if let (Some(n), Some(old_storage)) = (
            new_spec.pointer_mut("/resources/requests"),
            get(old, &["spec", "resources", "requests", "storage"]),
        ) && let Some(m) = n.as_object_mut()
        {
            m.insert("storage".into(), old_storage.clone());
        }
        if let (Some(n), Some(o)) = (
            new_spec.as_object_mut(),
            old_spec.get("volumeAttributesClassName"),
        ) {
            n.insert("volumeAttributesClassName".into(), o.clone());
        }
    }
    if !semantic_eq(&new_spec, &old_spec) {
        errs.push(FieldError::forbidden(
            &Path::new("spec"),
            format!(
                "spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims\n{}",
                super::pod::json_diff("core.PersistentVolumeClaimSpec", &old_spec, &new_spec)
            ),
        ));
    }
    let old_size = field(old, &["spec", "resources", "requests", "storage"])
        .and_then(|v| parse_quantity_field(v, &Path::new("")).ok());
    let new_size = field(new, &["spec", "resources", "requests", "storage"])
        .and_then(|v| parse_quantity_field(v, &Path::new("")).ok());
    if let (Some(o), Some(n)) = (old_size, new_size)
        && n < o
    {
        // RecoverVolumeExpansionFailure (beta, on in 1.33) allows shrinking down to the status capacity.
        let status = field(old, &["status", "capacity", "storage"])
            .and_then(|v| parse_quantity_field(v, &Path::new("")).ok());
        if status.is_none_or(|cap| n <= cap) {
            errs.push(FieldError::forbidden(
                &Path::new("spec")
                    .child("resources")
                    .child("requests")
                    .child("storage"),
                "field can not be less than status.capacity",
            ));
        }
    }
    let nm = get(new, &["spec", "volumeMode"]).unwrap_or(&Value::Null);
    let om = get(old, &["spec", "volumeMode"]).unwrap_or(&Value::Null);
    if !semantic_eq(nm, om) {
        errs.push(FieldError::invalid(
            &Path::new("volumeMode"),
            nm.clone(),
            "field is immutable",
        ));
    }
    errs
}

/// The persistent volume sources in Kubernetes' checking order.
const PV_SOURCES: &[&str] = &[
    "hostPath",
    "gcePersistentDisk",
    "awsElasticBlockStore",
    "glusterfs",
    "flocker",
    "nfs",
    "rbd",
    "quobyte",
    "cephfs",
    "iscsi",
    "cinder",
    "fc",
    "flexVolume",
    "azureFile",
    "vsphereVolume",
    "photonPersistentDisk",
    "portworxVolume",
    "azureDisk",
    "scaleIO",
    "local",
    "storageos",
    "csi",
];

pub(crate) fn validate_pv_create(obj: &Value) -> Vec<FieldError> {
    let mut errs = validate_builtin_object_meta(obj, false, NameRule::Dns1123Subdomain);
    let spec = get(obj, &["spec"]).unwrap_or(&Value::Null);
    let p = Path::new("spec");
    let modes = arr_at(spec, &["accessModes"]);
    if modes.is_empty() {
        errs.push(FieldError::required(&p.child("accessModes"), ""));
    }
    errs.extend(validate_access_modes(modes, &p.child("accessModes")));
    let cap = get(spec, &["capacity"]).and_then(Value::as_object);
    if cap.is_none_or(|c| c.is_empty()) {
        errs.push(FieldError::required(&p.child("capacity"), ""));
    }
    if cap.is_none_or(|c| !c.contains_key("storage") || c.len() > 1) {
        errs.push(FieldError::not_supported(
            &p.child("capacity"),
            get(spec, &["capacity"]).cloned().unwrap_or(Value::Null),
            &["storage"],
        ));
    }
    if let Some(c) = cap {
        let mut keys: Vec<&String> = c.keys().collect();
        keys.sort();
        for k in keys {
            let kp = p.child("capacity").key(k);
            match parse_quantity_field(&c[k], &kp) {
                Err(e) => errs.push(e),
                Ok(q) if q.sign() <= 0 => errs.push(FieldError::invalid(
                    &kp,
                    q.canonical(),
                    "must be greater than zero",
                )),
                Ok(_) => {}
            }
        }
    }
    let policy = s(spec, &["persistentVolumeReclaimPolicy"]);
    if !policy.is_empty() && !RECLAIM_POLICIES.contains(&policy) {
        errs.push(FieldError::not_supported(
            &p.child("persistentVolumeReclaimPolicy"),
            policy,
            RECLAIM_POLICIES,
        ));
    }
    let mut node_affinity = false;
    if let Some(na) = field(spec, &["nodeAffinity"]) {
        node_affinity = true;
        match field(na, &["required"]) {
            Some(req) => errs.extend(super::pod::validate_node_selector(
                req,
                &p.child("nodeAffinity").child("required"),
            )),
            None => errs.push(FieldError::required(
                &p.child("nodeAffinity").child("required"),
                "must specify required node constraints",
            )),
        }
    }
    let mut count = 0;
    for key in PV_SOURCES {
        let Some(src) = field(spec, &[key]) else {
            continue;
        };
        if count > 0 && *key != "flexVolume" {
            let shown = if *key == "cephfs" { "cephFS" } else { key };
            errs.push(FieldError::forbidden(
                &p.child(shown),
                "may not specify more than 1 volume type",
            ));
            continue;
        }
        count += 1;
        let sp = p.child(key);
        match *key {
            "hostPath" => {
                let hp = s(src, &["path"]);
                if hp.is_empty() {
                    errs.push(FieldError::required(&sp.child("path"), ""));
                } else {
                    errs.extend(super::volume::validate_no_backsteps(hp, &sp.child("path")));
                }
            }
            "nfs" => {
                if s(src, &["server"]).is_empty() {
                    errs.push(FieldError::required(&sp.child("server"), ""));
                }
                let np = s(src, &["path"]);
                if np.is_empty() {
                    errs.push(FieldError::required(&sp.child("path"), ""));
                }
                if !np.starts_with('/') {
                    errs.push(FieldError::invalid(
                        &sp.child("path"),
                        np,
                        "must be an absolute path",
                    ));
                }
            }
            "local" => {
                let lp = s(src, &["path"]);
                if lp.is_empty() {
                    errs.push(FieldError::required(&sp.child("path"), ""));
                } else {
                    errs.extend(super::volume::validate_no_backsteps(lp, &sp.child("path")));
                }
                if !node_affinity {
                    errs.push(FieldError::required(
                        &p.child("nodeAffinity"),
                        "Local volume requires node affinity",
                    ));
                }
            }
            "csi" => {
                errs.extend(super::volume::validate_csi_driver_name(
                    s(src, &["driver"]),
                    &sp.child("driver"),
                ));
                if s(src, &["volumeHandle"]).is_empty() {
                    errs.push(FieldError::required(&sp.child("volumeHandle"), ""));
                }
            }
            _ => {}
        }
    }
    if count == 0 {
        errs.push(FieldError::required(&p, "must specify a volume type"));
    }
    if s(spec, &["hostPath", "path"])
        .trim_end_matches('/')
        .is_empty()
        && field(spec, &["hostPath"]).is_some()
        && !s(spec, &["hostPath", "path"]).is_empty()
        && policy == "Recycle"
    {
        errs.push(FieldError::forbidden(
            &p.child("persistentVolumeReclaimPolicy"),
            "may not be 'recycle' for a hostPath mount of '/'",
        ));
    }
    let class = s(spec, &["storageClassName"]);
    if !class.is_empty() {
        for msg in is_dns1123_subdomain(class) {
            errs.push(FieldError::invalid(
                &p.child("storageClassName"),
                class,
                msg,
            ));
        }
    }
    if let Some(mode) = str_at(spec, &["volumeMode"])
        && !VOLUME_MODES.contains(&mode)
    {
        errs.push(FieldError::not_supported(
            &p.child("volumeMode"),
            mode,
            VOLUME_MODES,
        ));
    }
    errs
}

/// The volume source and mode of a PV never change.
pub(crate) fn validate_pv_update(new: &Value, old: &Value) -> Vec<FieldError> {
    let mut errs = validate_pv_create(new);
    let ns = get(new, &["spec"]).unwrap_or(&Value::Null);
    let os = get(old, &["spec"]).unwrap_or(&Value::Null);
    let pick = |spec: &Value| -> Value {
        let mut m = serde_json::Map::new();
        for k in PV_SOURCES {
            if let Some(v) = field(spec, &[k]) {
                m.insert((*k).to_string(), v.clone());
            }
        }
        Value::Object(m)
    };
    let (mut nsrc, osrc) = (pick(ns), pick(os));
    // Adding controllerExpandSecretRef to a CSI volume is allowed.
    if field(os, &["csi"]).is_some()
        && field(os, &["csi", "controllerExpandSecretRef"]).is_none()
        && let Some(csi) = nsrc.get_mut("csi").and_then(Value::as_object_mut)
    {
        csi.remove("controllerExpandSecretRef");
    }
    if !semantic_eq(&nsrc, &osrc) {
        errs.push(FieldError::forbidden(
            &Path::new("spec").child("persistentvolumesource"),
            format!(
                "spec.persistentvolumesource is immutable after creation\n{}",
                super::pod::json_diff("core.PersistentVolumeSource", &osrc, &nsrc)
            ),
        ));
    }
    let nm = get(ns, &["volumeMode"]).unwrap_or(&Value::Null);
    if !semantic_eq(nm, get(os, &["volumeMode"]).unwrap_or(&Value::Null)) {
        errs.push(FieldError::invalid(
            &Path::new("volumeMode"),
            nm.clone(),
            "field is immutable",
        ));
    }
    if let Some(oa) = field(os, &["nodeAffinity"]) {
        let na = get(ns, &["nodeAffinity"]).unwrap_or(&Value::Null);
        if !semantic_eq(na, oa) {
            errs.push(FieldError::invalid(
                &Path::new("nodeAffinity"),
                na.clone(),
                "field is immutable, except for updating from beta label to GA",
            ));
        }
    }
    errs.extend(validate_builtin_object_meta_update(new, old));
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
    fn validation_pvc_requires_access_modes_and_storage() {
        let pvc = json!({"metadata": {"name": "data", "namespace": "default"}, "spec": {"volumeMode": "Filesystem"}});
        assert_eq!(
            msgs(&validate_pvc_create(&pvc)),
            vec![
                "spec.accessModes: Required value: at least 1 access mode is required",
                "spec.resources[storage]: Required value",
            ]
        );
        let pvc = json!({"metadata": {"name": "data", "namespace": "default"},
            "spec": {"accessModes": ["ReadWriteOnce", "ReadWriteOncePod", "Bogus"], "resources": {"requests": {"storage": "0"}}}});
        assert_eq!(
            msgs(&validate_pvc_create(&pvc)),
            vec![
                "spec.accessModes: Unsupported value: \"Bogus\": supported values: \"ReadOnlyMany\", \"ReadWriteMany\", \"ReadWriteOnce\", \"ReadWriteOncePod\"",
                "spec.accessModes: Forbidden: may not use ReadWriteOncePod with other access modes",
                "spec.resources[storage]: Invalid value: \"0\": must be greater than zero",
            ]
        );
    }

    #[test]
    fn validation_pvc_update_is_immutable_but_can_grow() {
        let old = json!({"metadata": {"name": "d", "namespace": "n", "resourceVersion": "1"},
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}, "volumeName": "pv1"},
            "status": {"phase": "Bound", "capacity": {"storage": "1Gi"}}});
        let mut grown = old.clone();
        grown["spec"]["resources"]["requests"]["storage"] = json!("2Gi");
        assert!(validate_pvc_update(&grown, &old).is_empty());
        let mut changed = old.clone();
        changed["spec"]["accessModes"] = json!(["ReadWriteMany"]);
        let m = msgs(&validate_pvc_update(&changed, &old));
        assert_eq!(m.len(), 1);
        assert!(m[0].starts_with("spec: Forbidden: spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims\n"));
        let mut shrunk = old.clone();
        shrunk["spec"]["resources"]["requests"]["storage"] = json!("500Mi");
        assert_eq!(
            msgs(&validate_pvc_update(&shrunk, &old)),
            vec![
                "spec.resources.requests.storage: Forbidden: field can not be less than status.capacity"
            ]
        );
    }

    #[test]
    fn validation_pv_requires_source_and_capacity() {
        let pv = json!({"metadata": {"name": "pv1"}, "spec": {"accessModes": ["ReadWriteOnce"]}});
        assert_eq!(
            msgs(&validate_pv_create(&pv)),
            vec![
                "spec.capacity: Required value",
                "spec.capacity: Unsupported value: null: supported values: \"storage\"",
                "spec: Required value: must specify a volume type",
            ]
        );
    }
}
