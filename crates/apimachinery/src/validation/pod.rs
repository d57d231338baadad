//! Pods and pod templates: containers (names, images, ports, env, mounts,
//! probes, resources, security context), pod-level fields, scheduling
//! constraints, and the narrow set of fields a pod update may change.

use serde_json::Value;

use super::NameRule;
use super::field::{FieldError, Path};
use super::format::{
    inclusive_range_error, is_config_map_key, is_dns1123_label, is_dns1123_subdomain,
    is_dns1123_subdomain_with_underscore, is_http_header_name, is_qualified_name,
    is_relaxed_env_var_name, is_valid_ip, is_valid_label_value, is_valid_port_name,
    is_valid_port_num, is_valid_user_id,
};
use super::json::{arr_at, as_i64, bool_at, field, get, i64_at, s, semantic_eq, str_at};
use super::label_selector::validate_label_selector;
use super::meta::{
    validate_annotations, validate_builtin_object_meta, validate_builtin_object_meta_update,
    validate_label_name, validate_labels,
};
use super::resources::validate_container_resources;
use super::volume::{VolumeInfo, validate_local_descending_path, validate_volumes};

/// How strictly a pod spec is checked: a pod itself or a template in a workload.
#[derive(Clone, Copy)]
pub(crate) struct PodOpts {
    pub resource_is_pod: bool,
}

const ENV_FIELD_PATHS: &[&str] = &[
    "metadata.name",
    "metadata.namespace",
    "metadata.uid",
    "spec.nodeName",
    "spec.serviceAccountName",
    "status.hostIP",
    "status.hostIPs",
    "status.podIP",
    "status.podIPs",
];
const RESOURCE_FIELD_PATHS: &[&str] = &[
    "limits.cpu",
    "limits.ephemeral-storage",
    "limits.memory",
    "requests.cpu",
    "requests.ephemeral-storage",
    "requests.memory",
];
const PULL_POLICIES: &[&str] = &["Always", "IfNotPresent", "Never"];
const PROTOCOLS: &[&str] = &["SCTP", "TCP", "UDP"];

/// The value of a `int-or-string` port: numbers must be valid ports, names valid port names.
pub(crate) fn validate_port_num_or_name(v: Option<&Value>, p: &Path) -> Vec<FieldError> {
    match v {
        Some(Value::String(name)) => is_valid_port_name(name)
            .into_iter()
            .map(|m| FieldError::invalid(p, name.as_str(), m))
            .collect(),
        Some(n) if as_i64(n).is_some() => {
            let n = as_i64(n).unwrap_or(0);
            is_valid_port_num(n)
                .into_iter()
                .map(|m| FieldError::invalid(p, n, m))
                .collect()
        }
        _ => is_valid_port_num(0)
            .into_iter()
            .map(|m| FieldError::invalid(p, 0, m))
            .collect(),
    }
}

fn validate_container_ports(ports: &[Value], p: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let mut names: Vec<&str> = Vec::new();
    for (i, port) in ports.iter().enumerate() {
        let ip = p.index(i);
        let name = s(port, &["name"]);
        if !name.is_empty() {
            let msgs = is_valid_port_name(name);
            if !msgs.is_empty() {
                for m in msgs {
                    errs.push(FieldError::invalid(&ip.child("name"), name, m));
                }
            } else if names.contains(&name) {
                errs.push(FieldError::duplicate(&ip.child("name"), name));
            } else {
                names.push(name);
            }
        }
        let cp = i64_at(port, &["containerPort"]).unwrap_or(0);
        if cp == 0 {
            errs.push(FieldError::required(&ip.child("containerPort"), ""));
        } else {
            for m in is_valid_port_num(cp) {
                errs.push(FieldError::invalid(&ip.child("containerPort"), cp, m));
            }
        }
        let hp = i64_at(port, &["hostPort"]).unwrap_or(0);
        if hp != 0 {
            for m in is_valid_port_num(hp) {
                errs.push(FieldError::invalid(&ip.child("hostPort"), hp, m));
            }
        }
        let proto = s(port, &["protocol"]);
        if proto.is_empty() {
            errs.push(FieldError::required(&ip.child("protocol"), ""));
        } else if !PROTOCOLS.contains(&proto) {
            errs.push(FieldError::not_supported(
                &ip.child("protocol"),
                proto,
                PROTOCOLS,
            ));
        }
    }
    errs
}

/// Splits `metadata.labels['key']` into the path and the subscript.
fn split_subscript(path: &str) -> Option<(&str, &str)> {
    let inner = path.strip_suffix("']")?;
    let (p, sub) = inner.split_once("['")?;
    Some((p, sub))
}

/// `fieldRef` of env vars and downward API volumes.
pub(crate) fn validate_object_field_selector(
    fs: &Value,
    allowed: &[&str],
    p: &Path,
) -> Vec<FieldError> {
    let api_version = s(fs, &["apiVersion"]);
    if api_version.is_empty() {
        return vec![FieldError::required(&p.child("apiVersion"), "")];
    }
    let fp = s(fs, &["fieldPath"]);
    if fp.is_empty() {
        return vec![FieldError::required(&p.child("fieldPath"), "")];
    }
    if api_version != "v1" {
        return vec![FieldError::invalid(
            &p.child("fieldPath"),
            fp,
            format!("error converting fieldPath: unsupported pod version: {api_version}"),
        )];
    }
    if let Some((path, sub)) = split_subscript(fp) {
        return match path {
            "metadata.annotations" => is_qualified_name(&sub.to_lowercase())
                .into_iter()
                .map(|m| FieldError::invalid(p, sub.to_lowercase(), m))
                .collect(),
            "metadata.labels" => is_qualified_name(sub)
                .into_iter()
                .map(|m| FieldError::invalid(p, sub, m))
                .collect(),
            _ => vec![FieldError::invalid(
                &p.child("fieldPath"),
                fp,
                format!("error converting fieldPath: field label does not support subscript: {fp}"),
            )],
        };
    }
    const CONVERTIBLE: &[&str] = &[
        "metadata.annotations",
        "metadata.labels",
        "metadata.name",
        "metadata.namespace",
        "metadata.uid",
        "spec.nodeName",
        "spec.restartPolicy",
        "spec.serviceAccountName",
        "spec.schedulerName",
        "status.phase",
        "status.hostIP",
        "status.hostIPs",
        "status.podIP",
        "status.podIPs",
        "spec.host",
    ];
    if !CONVERTIBLE.contains(&fp) {
        return vec![FieldError::invalid(
            &p.child("fieldPath"),
            fp,
            format!("error converting fieldPath: field label not supported: {fp}"),
        )];
    }
    let internal = if fp == "spec.host" {
        "spec.nodeName"
    } else {
        fp
    };
    if !allowed.contains(&internal) {
        return vec![FieldError::not_supported(
            &p.child("fieldPath"),
            internal,
            allowed,
        )];
    }
    Vec::new()
}

/// `resourceFieldRef` of env vars and downward API volumes.
pub(crate) fn validate_resource_field_selector(
    rs: &Value,
    p: &Path,
    volume: bool,
) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let resource = s(rs, &["resource"]);
    if volume && s(rs, &["containerName"]).is_empty() {
        errs.push(FieldError::required(&p.child("containerName"), ""));
    } else if resource.is_empty() {
        errs.push(FieldError::required(&p.child("resource"), ""));
    } else if !RESOURCE_FIELD_PATHS.contains(&resource)
        && !resource.starts_with("limits.hugepages-")
        && !resource.starts_with("requests.hugepages-")
    {
        errs.push(FieldError::not_supported(
            &p.child("resource"),
            resource,
            RESOURCE_FIELD_PATHS,
        ));
    }
    if let Some(d) = field(rs, &["divisor"])
        && let Ok(q) = super::quantity::quantity_from_json(d)
    {
        let c = q.canonical();
        const MEM: &[&str] = &[
            "1", "1k", "1M", "1G", "1T", "1P", "1E", "1Ki", "1Mi", "1Gi", "1Ti", "1Pi", "1Ei",
        ];
        let dp = p.child("divisor");
        if !q.is_zero() {
            match resource {
                    "limits.cpu" | "requests.cpu" if !["1m", "1"].contains(&c.as_str()) => errs.push(FieldError::invalid(
                        &dp,
                        resource,
                        "only divisor's values 1m and 1 are supported with the cpu resource",
                    )),
                    "limits.memory" | "requests.memory" if !MEM.contains(&c.as_str()) => errs.push(FieldError::invalid(
                        &dp,
                        resource,
                        "only divisor's values 1, 1k, 1M, 1G, 1T, 1P, 1E, 1Ki, 1Mi, 1Gi, 1Ti, 1Pi, 1Ei are supported with the memory resource",
                    )),
                    "limits.ephemeral-storage" | "requests.ephemeral-storage" if !MEM.contains(&c.as_str()) => {
                        errs.push(FieldError::invalid(
                            &dp,
                            resource,
                            "only divisor's values 1, 1k, 1M, 1G, 1T, 1P, 1E, 1Ki, 1Mi, 1Gi, 1Ti, 1Pi, 1Ei are supported with the local ephemeral storage resource",
                        ))
                    }
                    _ => {}
                }
        }
    }
    errs
}

fn validate_key_selector(sel: &Value, p: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let name = s(sel, &["name"]);
    for m in is_dns1123_subdomain(name) {
        errs.push(FieldError::invalid(&p.child("name"), name, m));
    }
    let key = s(sel, &["key"]);
    if key.is_empty() {
        errs.push(FieldError::required(&p.child("key"), ""));
    } else {
        for m in is_config_map_key(key) {
            errs.push(FieldError::invalid(&p.child("key"), key, m));
        }
    }
    errs
}

fn validate_env(vars: &[Value], p: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    for (i, ev) in vars.iter().enumerate() {
        let ip = p.index(i);
        let name = s(ev, &["name"]);
        if name.is_empty() {
            errs.push(FieldError::required(&ip.child("name"), ""));
        } else {
            for m in is_relaxed_env_var_name(name) {
                errs.push(FieldError::invalid(&ip.child("name"), name, m));
            }
        }
        let Some(vf) = field(ev, &["valueFrom"]) else {
            continue;
        };
        let vp = ip.child("valueFrom");
        let mut sources = 0;
        if let Some(fr) = field(vf, &["fieldRef"]) {
            sources += 1;
            errs.extend(validate_object_field_selector(
                fr,
                ENV_FIELD_PATHS,
                &vp.child("fieldRef"),
            ));
        }
        if let Some(rr) = field(vf, &["resourceFieldRef"]) {
            sources += 1;
            errs.extend(validate_resource_field_selector(
                rr,
                &vp.child("resourceFieldRef"),
                false,
            ));
        }
        if let Some(c) = field(vf, &["configMapKeyRef"]) {
            sources += 1;
            errs.extend(validate_key_selector(c, &vp.child("configMapKeyRef")));
        }
        if let Some(c) = field(vf, &["secretKeyRef"]) {
            sources += 1;
            errs.extend(validate_key_selector(c, &vp.child("secretKeyRef")));
        }
        if sources == 0 {
            errs.push(FieldError::invalid(
                &vp,
                "",
                "must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`",
            ));
        } else if !s(ev, &["value"]).is_empty() {
            errs.push(FieldError::invalid(
                &vp,
                "",
                "may not be specified when `value` is not empty",
            ));
        } else if sources > 1 {
            errs.push(FieldError::invalid(
                &vp,
                "",
                "may not have more than one field specified at a time",
            ));
        }
    }
    errs
}

fn validate_env_from(sources: &[Value], p: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    for (i, ev) in sources.iter().enumerate() {
        let ip = p.index(i);
        let prefix = s(ev, &["prefix"]);
        if !prefix.is_empty() {
            for m in is_relaxed_env_var_name(prefix) {
                errs.push(FieldError::invalid(&ip.child("prefix"), prefix, m));
            }
        }
        let mut count = 0;
        for key in ["configMapRef", "secretRef"] {
            if let Some(r) = field(ev, &[key]) {
                count += 1;
                let name = s(r, &["name"]);
                let np = ip.child(key).child("name");
                if name.is_empty() {
                    errs.push(FieldError::required(&np, ""));
                } else {
                    // Kubernetes validates these names as generate-name prefixes.
                    for m in super::meta::validate_name_with_prefix(
                        name,
                        NameRule::Dns1123Subdomain,
                        true,
                    ) {
                        errs.push(FieldError::invalid(&np, name, m));
                    }
                }
            }
        }
        if count == 0 {
            errs.push(FieldError::invalid(
                p,
                "",
                "must specify one of: `configMapRef` or `secretRef`",
            ));
        } else if count > 1 {
            errs.push(FieldError::invalid(
                p,
                "",
                "may not have more than one field specified at a time",
            ));
        }
    }
    errs
}

fn validate_volume_mounts(ctr: &Value, volumes: &[VolumeInfo], p: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let devices = arr_at(ctr, &["volumeDevices"]);
    let mut mount_points: Vec<&str> = Vec::new();
    let privileged = bool_at(ctr, &["securityContext", "privileged"]) == Some(true);
    for (i, m) in arr_at(ctr, &["volumeMounts"]).iter().enumerate() {
        let ip = p.index(i);
        let name = s(m, &["name"]);
        let mount_path = s(m, &["mountPath"]);
        if name.is_empty() {
            errs.push(FieldError::required(&ip.child("name"), ""));
        }
        let vol = volumes.iter().find(|v| v.name == name);
        if vol.is_none() {
            errs.push(FieldError::not_found(&ip.child("name"), name));
        }
        if mount_path.is_empty() {
            errs.push(FieldError::required(&ip.child("mountPath"), ""));
        }
        if mount_points.contains(&mount_path) {
            errs.push(FieldError::invalid(
                &ip.child("mountPath"),
                mount_path,
                "must be unique",
            ));
        }
        mount_points.push(mount_path);
        if devices.iter().any(|d| s(d, &["name"]) == name) {
            errs.push(FieldError::invalid(
                &ip.child("name"),
                name,
                "must not already exist in volumeDevices",
            ));
        }
        if devices.iter().any(|d| s(d, &["devicePath"]) == mount_path) {
            errs.push(FieldError::invalid(
                &ip.child("mountPath"),
                mount_path,
                "must not already exist as a path in volumeDevices",
            ));
        }
        let sub_path = s(m, &["subPath"]);
        let sub_expr = s(m, &["subPathExpr"]);
        if vol.is_some_and(|v| v.source == "image") {
            if !sub_path.is_empty() {
                errs.push(FieldError::invalid(
                    &ip.child("subPath"),
                    sub_path,
                    "not allowed in image volume sources",
                ));
            }
            if !sub_expr.is_empty() {
                errs.push(FieldError::invalid(
                    &ip.child("subPathExpr"),
                    sub_expr,
                    "not allowed in image volume sources",
                ));
            }
        }
        if !sub_path.is_empty() {
            // Kubernetes reports these under the list path, without the index.
            errs.extend(validate_local_descending_path(
                sub_path,
                &p.child("subPath"),
            ));
        }
        if !sub_expr.is_empty() {
            if !sub_path.is_empty() {
                errs.push(FieldError::invalid(
                    &ip.child("subPathExpr"),
                    sub_expr,
                    "subPathExpr and subPath are mutually exclusive",
                ));
            }
            errs.extend(validate_local_descending_path(
                sub_expr,
                &p.child("subPathExpr"),
            ));
        }
        if let Some(prop) = str_at(m, &["mountPropagation"]) {
            const PROPAGATIONS: &[&str] = &["Bidirectional", "HostToContainer", "None"];
            if !PROPAGATIONS.contains(&prop) {
                errs.push(FieldError::not_supported(
                    &p.child("mountPropagation"),
                    prop,
                    PROPAGATIONS,
                ));
            }
            if prop == "Bidirectional" && !privileged {
                errs.push(FieldError::forbidden(
                    &p.child("mountPropagation"),
                    "Bidirectional mount propagation is available only to privileged containers",
                ));
            }
        }
        if let Some(rro) = str_at(m, &["recursiveReadOnly"]) {
            let rp = p.child("recursiveReadOnly");
            match rro {
                "Disabled" => {}
                "Enabled" | "IfPossible" => {
                    if bool_at(m, &["readOnly"]) != Some(true) {
                        errs.push(FieldError::forbidden(
                            &rp,
                            "may only be specified when readOnly is true",
                        ));
                    }
                    if str_at(m, &["mountPropagation"]).is_some_and(|x| x != "None") {
                        errs.push(FieldError::forbidden(
                            &rp,
                            "may only be specified when mountPropagation is None or not specified",
                        ));
                    }
                }
                other => errs.push(FieldError::not_supported(
                    &rp,
                    other,
                    &["Disabled", "Enabled", "IfPossible"],
                )),
            }
        }
    }
    errs
}

fn validate_volume_devices(ctr: &Value, volumes: &[VolumeInfo], p: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let mounts = arr_at(ctr, &["volumeMounts"]);
    let mut names: Vec<&str> = Vec::new();
    let mut paths: Vec<&str> = Vec::new();
    for (i, d) in arr_at(ctr, &["volumeDevices"]).iter().enumerate() {
        let ip = p.index(i);
        let name = s(d, &["name"]);
        let dev_path = s(d, &["devicePath"]);
        let vol = volumes.iter().find(|v| v.name == name);
        if name.is_empty() {
            errs.push(FieldError::required(&ip.child("name"), ""));
        }
        if names.contains(&name) {
            errs.push(FieldError::invalid(
                &ip.child("name"),
                name,
                "must be unique",
            ));
        }
        match vol {
            Some(v) if v.source != "persistentVolumeClaim" && v.source != "ephemeral" => errs.push(FieldError::invalid(
                &ip.child("name"),
                name,
                "can only use volume source type of PersistentVolumeClaim or Ephemeral for block mode",
            )),
            Some(_) => {}
            None => errs.push(FieldError::not_found(&ip.child("name"), name)),
        }
        if dev_path.is_empty() {
            errs.push(FieldError::required(&ip.child("devicePath"), ""));
        }
        if paths.contains(&dev_path) {
            errs.push(FieldError::invalid(
                &ip.child("devicePath"),
                dev_path,
                "must be unique",
            ));
        }
        if !dev_path.is_empty() && dev_path.split('/').any(|x| x == "..") {
            errs.push(FieldError::invalid(
                &ip.child("devicePath"),
                dev_path,
                "can not contain backsteps ('..')",
            ));
        } else {
            paths.push(dev_path);
        }
        if mounts.iter().any(|m| s(m, &["name"]) == name) {
            errs.push(FieldError::invalid(
                &ip.child("name"),
                name,
                "must not already exist in volumeMounts",
            ));
        }
        if mounts.iter().any(|m| s(m, &["mountPath"]) == dev_path) {
            errs.push(FieldError::invalid(
                &ip.child("devicePath"),
                dev_path,
                "must not already exist as a path in volumeMounts",
            ));
        }
        if !name.is_empty() {
            names.push(name);
        }
    }
    errs
}

fn validate_handler(h: &Value, grace: Option<i64>, p: &Path, probe: bool) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let mut count = 0;
    let kinds: &[&str] = if probe {
        &["exec", "httpGet", "tcpSocket", "grpc"]
    } else {
        &["exec", "httpGet", "tcpSocket", "sleep"]
    };
    for kind in kinds {
        let Some(x) = field(h, &[kind]) else {
            continue;
        };
        let kp = p.child(kind);
        if count > 0 {
            errs.push(FieldError::forbidden(
                &kp,
                "may not specify more than 1 handler type",
            ));
            continue;
        }
        count += 1;
        match *kind {
            "exec" => {
                if arr_at(x, &["command"]).is_empty() {
                    errs.push(FieldError::required(&kp.child("command"), ""));
                }
            }
            "httpGet" => {
                if s(x, &["path"]).is_empty() {
                    errs.push(FieldError::required(&kp.child("path"), ""));
                }
                errs.extend(validate_port_num_or_name(
                    get(x, &["port"]),
                    &kp.child("port"),
                ));
                let scheme = s(x, &["scheme"]);
                if scheme != "HTTP" && scheme != "HTTPS" {
                    errs.push(FieldError::not_supported(
                        &kp.child("scheme"),
                        scheme,
                        &["HTTP", "HTTPS"],
                    ));
                }
                for hdr in arr_at(x, &["httpHeaders"]) {
                    let n = s(hdr, &["name"]);
                    for m in is_http_header_name(n) {
                        errs.push(FieldError::invalid(&kp.child("httpHeaders"), n, m));
                    }
                }
            }
            "tcpSocket" => errs.extend(validate_port_num_or_name(
                get(x, &["port"]),
                &kp.child("port"),
            )),
            "grpc" => {
                let port = i64_at(x, &["port"]).unwrap_or(0);
                for m in is_valid_port_num(port) {
                    errs.push(FieldError::invalid(&kp.child("port"), port, m));
                }
            }
            _ => {
                // A zero-second sleep is allowed from 1.33 (PodLifecycleSleepActionAllowZero).
                let secs = i64_at(x, &["seconds"]).unwrap_or(0);
                if let Some(g) = grace
                    && (secs < 0 || secs > g)
                {
                    errs.push(FieldError::invalid(
                        &kp,
                        secs,
                        format!(
                            "must be non-negative and less than terminationGracePeriodSeconds ({g})"
                        ),
                    ));
                }
            }
        }
    }
    if count == 0 {
        errs.push(FieldError::required(p, "must specify a handler type"));
    }
    errs
}

fn validate_probe(probe: &Value, grace: Option<i64>, p: &Path) -> Vec<FieldError> {
    let mut errs = validate_handler(probe, grace, p, true);
    for key in [
        "initialDelaySeconds",
        "timeoutSeconds",
        "periodSeconds",
        "successThreshold",
        "failureThreshold",
    ] {
        let v = i64_at(probe, &[key]).unwrap_or(0);
        if v < 0 {
            errs.push(FieldError::invalid(
                &p.child(key),
                v,
                "must be greater than or equal to 0",
            ));
        }
    }
    if let Some(t) = i64_at(probe, &["terminationGracePeriodSeconds"])
        && t <= 0
    {
        errs.push(FieldError::invalid(
            &p.child("terminationGracePeriodSeconds"),
            t,
            "must be greater than 0",
        ));
    }
    errs
}

fn validate_probes(ctr: &Value, grace: Option<i64>, p: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if let Some(l) = field(ctr, &["lifecycle"]) {
        for hook in ["postStart", "preStop"] {
            if let Some(h) = field(l, &[hook]) {
                errs.extend(validate_handler(
                    h,
                    grace,
                    &p.child("lifecycle").child(hook),
                    false,
                ));
            }
        }
    }
    if let Some(pr) = field(ctr, &["livenessProbe"]) {
        let pp = p.child("livenessProbe");
        errs.extend(validate_probe(pr, grace, &pp));
        let st = i64_at(pr, &["successThreshold"]).unwrap_or(0);
        if st != 1 {
            errs.push(FieldError::invalid(
                &pp.child("successThreshold"),
                st,
                "must be 1",
            ));
        }
    }
    if let Some(pr) = field(ctr, &["readinessProbe"]) {
        let pp = p.child("readinessProbe");
        errs.extend(validate_probe(pr, grace, &pp));
        if let Some(t) = field(pr, &["terminationGracePeriodSeconds"]) {
            errs.push(FieldError::invalid(
                &pp.child("terminationGracePeriodSeconds"),
                t.clone(),
                "must not be set for readinessProbes",
            ));
        }
    }
    if let Some(pr) = field(ctr, &["startupProbe"]) {
        let pp = p.child("startupProbe");
        errs.extend(validate_probe(pr, grace, &pp));
        let st = i64_at(pr, &["successThreshold"]).unwrap_or(0);
        if st != 1 {
            errs.push(FieldError::invalid(
                &pp.child("successThreshold"),
                st,
                "must be 1",
            ));
        }
    }
    errs
}

fn validate_seccomp_profile(sp: Option<&Value>, p: &Path) -> Vec<FieldError> {
    let Some(sp) = sp.filter(|v| !v.is_null()) else {
        return Vec::new();
    };
    let mut errs = Vec::new();
    let t = s(sp, &["type"]);
    match t {
        "Localhost" | "RuntimeDefault" | "Unconfined" => {}
        "" => errs.push(FieldError::required(
            &p.child("type"),
            "type is required when seccompProfile is set",
        )),
        other => errs.push(FieldError::not_supported(
            &p.child("type"),
            other,
            &["Localhost", "RuntimeDefault", "Unconfined"],
        )),
    }
    let lp = str_at(sp, &["localhostProfile"]);
    if t == "Localhost" {
        match lp {
            None => errs.push(FieldError::required(
                &p.child("localhostProfile"),
                "must be set when seccomp type is Localhost",
            )),
            Some(l) => errs.extend(validate_local_descending_path(
                l,
                &p.child("localhostProfile"),
            )),
        }
    } else if lp.is_some() {
        errs.push(FieldError::invalid(
            &p.child("localhostProfile"),
            sp.clone(),
            "can only be set when seccomp type is Localhost",
        ));
    }
    errs
}

fn validate_apparmor_profile(ap: Option<&Value>, p: &Path) -> Vec<FieldError> {
    let Some(ap) = ap.filter(|v| !v.is_null()) else {
        return Vec::new();
    };
    let lp = str_at(ap, &["localhostProfile"]);
    match s(ap, &["type"]) {
        "Localhost" => match lp {
            None => vec![FieldError::required(
                &p.child("localhostProfile"),
                "must be set when AppArmor type is Localhost",
            )],
            Some(l) if l.trim() != l => vec![FieldError::invalid(
                &p.child("localhostProfile"),
                l,
                "must not be padded with whitespace",
            )],
            Some("") => vec![FieldError::required(
                &p.child("localhostProfile"),
                "must be set when AppArmor type is Localhost",
            )],
            Some(l) if l.len() > 4095 => {
                vec![FieldError::too_long(&p.child("localhostProfile"), 4095)]
            }
            Some(_) => Vec::new(),
        },
        "RuntimeDefault" | "Unconfined" => match lp {
            Some(l) => vec![FieldError::invalid(
                &p.child("localhostProfile"),
                l,
                "can only be set when AppArmor type is Localhost",
            )],
            None => Vec::new(),
        },
        "" => vec![FieldError::required(
            &p.child("type"),
            "type is required when appArmorProfile is set",
        )],
        other => vec![FieldError::not_supported(
            &p.child("type"),
            other,
            &["Localhost", "RuntimeDefault", "Unconfined"],
        )],
    }
}

fn validate_container_security_context(
    sc: Option<&Value>,
    host_users: bool,
    p: &Path,
) -> Vec<FieldError> {
    let Some(sc) = sc.filter(|v| !v.is_null()) else {
        return Vec::new();
    };
    let mut errs = Vec::new();
    for key in ["runAsUser", "runAsGroup"] {
        if let Some(id) = i64_at(sc, &[key]) {
            for m in is_valid_user_id(id) {
                errs.push(FieldError::invalid(&p.child(key), id, m));
            }
        }
    }
    if let Some(pm) = str_at(sc, &["procMount"]) {
        if pm != "Default" && pm != "Unmasked" {
            errs.push(FieldError::not_supported(
                &p.child("procMount"),
                pm,
                &["Default", "Unmasked"],
            ));
        }
        if host_users && pm == "Unmasked" {
            errs.push(FieldError::invalid(
                &p.child("procMount"),
                pm,
                "`hostUsers` must be false to use `Unmasked`",
            ));
        }
    }
    errs.extend(validate_seccomp_profile(
        get(sc, &["seccompProfile"]),
        &p.child("seccompProfile"),
    ));
    if bool_at(sc, &["allowPrivilegeEscalation"]) == Some(false) {
        if bool_at(sc, &["privileged"]) == Some(true) {
            errs.push(FieldError::invalid(
                p,
                sc.clone(),
                "cannot set `allowPrivilegeEscalation` to false and `privileged` to true",
            ));
        }
        if arr_at(sc, &["capabilities", "add"])
            .iter()
            .any(|c| c.as_str() == Some("CAP_SYS_ADMIN"))
        {
            errs.push(FieldError::invalid(
                p,
                sc.clone(),
                "cannot set `allowPrivilegeEscalation` to false and `capabilities.Add` CAP_SYS_ADMIN",
            ));
        }
    }
    errs.extend(validate_apparmor_profile(
        get(sc, &["appArmorProfile"]),
        &p.child("appArmorProfile"),
    ));
    errs
}

fn validate_resize_policy(ctr: &Value, restart_policy: &str, p: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let mut seen: Vec<&str> = Vec::new();
    for (i, pol) in arr_at(ctr, &["resizePolicy"]).iter().enumerate() {
        let name = s(pol, &["resourceName"]);
        if seen.contains(&name) {
            errs.push(FieldError::duplicate(&p.index(i), name));
        }
        seen.push(name);
        match name {
            "cpu" | "memory" => {}
            "" => errs.push(FieldError::required(p, "")),
            other => errs.push(FieldError::not_supported(p, other, &["cpu", "memory"])),
        }
        let rp = s(pol, &["restartPolicy"]);
        match rp {
            "NotRequired" | "RestartContainer" => {}
            "" => errs.push(FieldError::required(p, "")),
            other => errs.push(FieldError::not_supported(
                p,
                other,
                &["NotRequired", "RestartContainer"],
            )),
        }
        if restart_policy == "Never" && rp != "NotRequired" {
            errs.push(FieldError::invalid(
                p,
                rp,
                "must be 'NotRequired' when `restartPolicy` is 'Never'",
            ));
        }
    }
    errs
}

struct PodCtx<'a> {
    volumes: &'a [VolumeInfo],
    claim_names: Vec<String>,
    restart_policy: &'a str,
    host_users: bool,
}

fn validate_container_common(ctr: &Value, ctx: &PodCtx, p: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let name = s(ctr, &["name"]);
    if name.is_empty() {
        errs.push(FieldError::required(&p.child("name"), ""));
    } else {
        for m in is_dns1123_label(name) {
            errs.push(FieldError::invalid(&p.child("name"), name, m));
        }
    }
    if s(ctr, &["image"]).is_empty() {
        errs.push(FieldError::required(&p.child("image"), ""));
    }
    match s(ctr, &["terminationMessagePolicy"]) {
        "File" | "FallbackToLogsOnError" => {}
        "" => errs.push(FieldError::required(
            &p.child("terminationMessagePolicy"),
            "",
        )),
        other => errs.push(FieldError::not_supported(
            &p.child("terminationMessagePolicy"),
            other,
            &["File", "FallbackToLogsOnError"],
        )),
    }
    errs.extend(validate_container_ports(
        arr_at(ctr, &["ports"]),
        &p.child("ports"),
    ));
    errs.extend(validate_env(arr_at(ctr, &["env"]), &p.child("env")));
    errs.extend(validate_env_from(
        arr_at(ctr, &["envFrom"]),
        &p.child("envFrom"),
    ));
    errs.extend(validate_volume_mounts(
        ctr,
        ctx.volumes,
        &p.child("volumeMounts"),
    ));
    errs.extend(validate_volume_devices(
        ctr,
        ctx.volumes,
        &p.child("volumeDevices"),
    ));
    match s(ctr, &["imagePullPolicy"]) {
        "Always" | "IfNotPresent" | "Never" => {}
        "" => errs.push(FieldError::required(&p.child("imagePullPolicy"), "")),
        other => errs.push(FieldError::not_supported(
            &p.child("imagePullPolicy"),
            other,
            PULL_POLICIES,
        )),
    }
    errs.extend(validate_container_resources(
        get(ctr, &["resources"]),
        &ctx.claim_names,
        &p.child("resources"),
    ));
    errs.extend(validate_resize_policy(
        ctr,
        ctx.restart_policy,
        &p.child("resizePolicy"),
    ));
    errs.extend(validate_container_security_context(
        get(ctr, &["securityContext"]),
        ctx.host_users,
        &p.child("securityContext"),
    ));
    errs
}

fn check_host_port_conflicts(containers: &[Value], p: &Path, offset: usize) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let mut seen: Vec<String> = Vec::new();
    for (ci, ctr) in containers.iter().enumerate() {
        for (pi, port) in arr_at(ctr, &["ports"]).iter().enumerate() {
            let hp = i64_at(port, &["hostPort"]).unwrap_or(0);
            if hp == 0 {
                continue;
            }
            let key = format!("{}/{}/{}", s(port, &["protocol"]), s(port, &["hostIP"]), hp);
            if seen.contains(&key) {
                errs.push(FieldError::duplicate(
                    &p.index(ci + offset)
                        .child("ports")
                        .index(pi)
                        .child("hostPort"),
                    key,
                ));
            } else {
                seen.push(key);
            }
        }
    }
    errs
}

fn validate_containers(
    spec: &Value,
    ctx: &PodCtx,
    grace: Option<i64>,
    p: &Path,
) -> Vec<FieldError> {
    let containers = arr_at(spec, &["containers"]);
    if containers.is_empty() {
        return vec![FieldError::required(p, "")];
    }
    let mut errs = Vec::new();
    let mut names: Vec<&str> = Vec::new();
    for (i, ctr) in containers.iter().enumerate() {
        let cp = p.index(i);
        errs.extend(validate_container_common(ctr, ctx, &cp));
        let name = s(ctr, &["name"]);
        if names.contains(&name) {
            errs.push(FieldError::duplicate(&cp.child("name"), name));
        } else {
            names.push(name);
        }
        errs.extend(validate_probes(ctr, grace, &cp));
        if field(ctr, &["restartPolicy"]).is_some() {
            errs.push(FieldError::forbidden(
                &cp.child("restartPolicy"),
                "may not be set for non-init containers",
            ));
        }
    }
    errs.extend(check_host_port_conflicts(containers, p, 0));
    errs
}

fn validate_init_containers(
    spec: &Value,
    ctx: &PodCtx,
    grace: Option<i64>,
    p: &Path,
) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let mut names: Vec<&str> = arr_at(spec, &["containers"])
        .iter()
        .map(|c| s(c, &["name"]))
        .collect();
    for (i, ctr) in arr_at(spec, &["initContainers"]).iter().enumerate() {
        let cp = p.index(i);
        errs.extend(validate_container_common(ctr, ctx, &cp));
        let mut restart_always = false;
        if let Some(rp) = str_at(ctr, &["restartPolicy"]) {
            if rp == "Always" {
                restart_always = true;
            } else {
                errs.push(FieldError::not_supported(
                    &cp.child("restartPolicy"),
                    rp,
                    &["Always"],
                ));
            }
        }
        let name = s(ctr, &["name"]);
        if names.contains(&name) {
            errs.push(FieldError::duplicate(&cp.child("name"), name));
        } else if !name.is_empty() {
            names.push(name);
        }
        errs.extend(check_host_port_conflicts(std::slice::from_ref(ctr), p, i));
        if restart_always {
            errs.extend(validate_probes(ctr, grace, &cp));
        } else {
            for key in [
                "lifecycle",
                "livenessProbe",
                "readinessProbe",
                "startupProbe",
            ] {
                if field(ctr, &[key]).is_some() {
                    errs.push(FieldError::forbidden(
                        &cp.child(key),
                        "may not be set for init containers without restartPolicy=Always",
                    ));
                }
            }
        }
    }
    errs
}

const EPHEMERAL_ALLOWED: &[&str] = &[
    "name",
    "image",
    "command",
    "args",
    "workingDir",
    "envFrom",
    "env",
    "volumeMounts",
    "volumeDevices",
    "terminationMessagePath",
    "terminationMessagePolicy",
    "imagePullPolicy",
    "securityContext",
    "stdin",
    "stdinOnce",
    "tty",
    "targetContainerName",
];

fn validate_ephemeral_containers(spec: &Value, ctx: &PodCtx, p: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let others: Vec<&str> = arr_at(spec, &["containers"])
        .iter()
        .chain(arr_at(spec, &["initContainers"]))
        .map(|c| s(c, &["name"]))
        .collect();
    let mut all = others.clone();
    for (i, ec) in arr_at(spec, &["ephemeralContainers"]).iter().enumerate() {
        let ip = p.index(i);
        errs.extend(validate_container_common(ec, ctx, &ip));
        let name = s(ec, &["name"]);
        if all.contains(&name) {
            errs.push(FieldError::duplicate(&ip.child("name"), name));
        } else {
            all.push(name);
        }
        let target = s(ec, &["targetContainerName"]);
        if !target.is_empty() && !others.contains(&target) {
            errs.push(FieldError::not_found(
                &ip.child("targetContainerName"),
                target,
            ));
        }
        if let Some(m) = ec.as_object() {
            let mut keys: Vec<&String> = m
                .iter()
                .filter(|(k, v)| {
                    !EPHEMERAL_ALLOWED.contains(&k.as_str()) && !super::json::is_zero(v)
                })
                .map(|(k, _)| k)
                .collect();
            keys.sort();
            for k in keys {
                errs.push(FieldError::forbidden(
                    &ip.child(k),
                    "cannot be set for an Ephemeral Container",
                ));
            }
        }
        for (j, vm) in arr_at(ec, &["volumeMounts"]).iter().enumerate() {
            for key in ["subPath", "subPathExpr"] {
                if !s(vm, &[key]).is_empty() {
                    errs.push(FieldError::forbidden(
                        &ip.child("volumeMounts").index(j).child(key),
                        "cannot be set for an Ephemeral Container",
                    ));
                }
            }
        }
    }
    errs
}

fn validate_taint_effect(effect: &str, p: &Path) -> Vec<FieldError> {
    match effect {
        "NoSchedule" | "PreferNoSchedule" | "NoExecute" => Vec::new(),
        other => vec![FieldError::not_supported(
            p,
            other,
            &["NoSchedule", "PreferNoSchedule", "NoExecute"],
        )],
    }
}

pub(crate) fn validate_tolerations(tolerations: &[Value], p: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    for (i, t) in tolerations.iter().enumerate() {
        let ip = p.index(i);
        let key = s(t, &["key"]);
        let op = s(t, &["operator"]);
        let effect = s(t, &["effect"]);
        let value = s(t, &["value"]);
        if !key.is_empty() {
            errs.extend(validate_label_name(key, &ip.child("key")));
        }
        if key.is_empty() && op != "Exists" {
            errs.push(FieldError::invalid(
                &ip.child("operator"),
                op,
                "operator must be Exists when `key` is empty, which means \"match all values and all keys\"",
            ));
        }
        if field(t, &["tolerationSeconds"]).is_some() && effect != "NoExecute" {
            errs.push(FieldError::invalid(
                &ip.child("effect"),
                effect,
                "effect must be 'NoExecute' when `tolerationSeconds` is set",
            ));
        }
        match op {
            "Equal" | "" => {
                let msgs = is_valid_label_value(value);
                if !msgs.is_empty() {
                    errs.push(FieldError::invalid(
                        &ip.child("operator"),
                        value,
                        msgs.join(";"),
                    ));
                }
            }
            "Exists" => {
                if !value.is_empty() {
                    errs.push(FieldError::invalid(
                        &ip.child("operator"),
                        value,
                        "value must be empty when `operator` is 'Exists'",
                    ));
                }
            }
            other => errs.push(FieldError::not_supported(
                &ip.child("operator"),
                other,
                &["Equal", "Exists"],
            )),
        }
        if !effect.is_empty() {
            errs.extend(validate_taint_effect(effect, &ip.child("effect")));
        }
    }
    errs
}

fn validate_node_selector_requirement(rq: &Value, p: &Path, check_values: bool) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let values = arr_at(rq, &["values"]);
    match s(rq, &["operator"]) {
        "In" | "NotIn" => {
            if values.is_empty() {
                errs.push(FieldError::required(
                    &p.child("values"),
                    "must be specified when `operator` is 'In' or 'NotIn'",
                ));
            }
        }
        "Exists" | "DoesNotExist" => {
            if !values.is_empty() {
                errs.push(FieldError::forbidden(
                    &p.child("values"),
                    "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
                ));
            }
        }
        "Gt" | "Lt" => {
            if values.len() != 1 {
                errs.push(FieldError::required(
                    &p.child("values"),
                    "must be specified single value when `operator` is 'Lt' or 'Gt'",
                ));
            }
        }
        other => errs.push(FieldError::invalid(
            &p.child("operator"),
            other,
            "not a valid selector operator",
        )),
    }
    errs.extend(validate_label_name(s(rq, &["key"]), &p.child("key")));
    if check_values {
        for (i, v) in values.iter().enumerate() {
            let v = v.as_str().unwrap_or("");
            for m in is_valid_label_value(v) {
                errs.push(FieldError::invalid(&p.child("values").index(i), v, m));
            }
        }
    }
    errs
}

fn validate_node_selector_term(term: &Value, p: &Path, check_values: bool) -> Vec<FieldError> {
    let mut errs = Vec::new();
    for (j, rq) in arr_at(term, &["matchExpressions"]).iter().enumerate() {
        errs.extend(validate_node_selector_requirement(
            rq,
            &p.child("matchExpressions").index(j),
            check_values,
        ));
    }
    for (j, rq) in arr_at(term, &["matchFields"]).iter().enumerate() {
        let fp = p.child("matchFields").index(j);
        let values = arr_at(rq, &["values"]);
        match s(rq, &["operator"]) {
            "In" | "NotIn" => {
                if values.len() != 1 {
                    errs.push(FieldError::required(
                        &fp.child("values"),
                        "must be only one value when `operator` is 'In' or 'NotIn' for node field selector",
                    ));
                }
            }
            other => errs.push(FieldError::invalid(
                &fp.child("operator"),
                other,
                "not a valid selector operator",
            )),
        }
        let key = s(rq, &["key"]);
        if key != "metadata.name" {
            errs.push(FieldError::invalid(
                &fp.child("key"),
                key,
                "not a valid field selector key",
            ));
        } else {
            for (i, v) in values.iter().enumerate() {
                let v = v.as_str().unwrap_or("");
                for m in is_dns1123_subdomain(v) {
                    errs.push(FieldError::invalid(&fp.child("values").index(i), v, m));
                }
            }
        }
    }
    errs
}

/// A required node selector (node affinity, PV node affinity).
pub(crate) fn validate_node_selector(ns: &Value, p: &Path) -> Vec<FieldError> {
    let terms = arr_at(ns, &["nodeSelectorTerms"]);
    let tp = p.child("nodeSelectorTerms");
    if terms.is_empty() {
        return vec![FieldError::required(
            &tp,
            "must have at least one node selector term",
        )];
    }
    terms
        .iter()
        .enumerate()
        .flat_map(|(i, t)| validate_node_selector_term(t, &tp.index(i), true))
        .collect()
}

fn validate_pod_affinity_term(term: &Value, p: &Path) -> Vec<FieldError> {
    let mut errs =
        validate_label_selector(get(term, &["labelSelector"]), &p.child("labelSelector"));
    errs.extend(validate_label_selector(
        get(term, &["namespaceSelector"]),
        &p.child("namespaceSelector"),
    ));
    for ns in arr_at(term, &["namespaces"]) {
        let ns = ns.as_str().unwrap_or("");
        for m in is_dns1123_label(ns) {
            errs.push(FieldError::invalid(&p.child("namespace"), ns, m));
        }
    }
    let has_selector = field(term, &["labelSelector"]).is_some();
    for key in ["matchLabelKeys", "mismatchLabelKeys"] {
        let keys = arr_at(term, &[key]);
        if keys.is_empty() {
            continue;
        }
        if !has_selector {
            errs.push(FieldError::forbidden(
                &p.child(key),
                "must not be specified when labelSelector is not set",
            ));
            continue;
        }
        for (i, k) in keys.iter().enumerate() {
            errs.extend(validate_label_name(
                k.as_str().unwrap_or(""),
                &p.child(key).index(i),
            ));
        }
    }
    let topology = s(term, &["topologyKey"]);
    if topology.is_empty() {
        errs.push(FieldError::required(
            &p.child("topologyKey"),
            "can not be empty",
        ));
    }
    errs.extend(validate_label_name(topology, &p.child("topologyKey")));
    errs
}

fn validate_affinity(aff: &Value, p: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if let Some(na) = field(aff, &["nodeAffinity"]) {
        let np = p.child("nodeAffinity");
        if let Some(req) = field(na, &["requiredDuringSchedulingIgnoredDuringExecution"]) {
            errs.extend(validate_node_selector(
                req,
                &np.child("requiredDuringSchedulingIgnoredDuringExecution"),
            ));
        }
        let pp = np.child("preferredDuringSchedulingIgnoredDuringExecution");
        for (i, t) in arr_at(na, &["preferredDuringSchedulingIgnoredDuringExecution"])
            .iter()
            .enumerate()
        {
            let w = i64_at(t, &["weight"]).unwrap_or(0);
            if !(1..=100).contains(&w) {
                errs.push(FieldError::invalid(
                    &pp.index(i).child("weight"),
                    w,
                    "must be in the range 1-100",
                ));
            }
            errs.extend(validate_node_selector_term(
                get(t, &["preference"]).unwrap_or(&Value::Null),
                &pp.index(i).child("preference"),
                false,
            ));
        }
    }
    for kind in ["podAffinity", "podAntiAffinity"] {
        let Some(pa) = field(aff, &[kind]) else {
            continue;
        };
        let kp = p.child(kind);
        let rp = kp.child("requiredDuringSchedulingIgnoredDuringExecution");
        for (i, t) in arr_at(pa, &["requiredDuringSchedulingIgnoredDuringExecution"])
            .iter()
            .enumerate()
        {
            errs.extend(validate_pod_affinity_term(t, &rp.index(i)));
        }
        let pp = kp.child("preferredDuringSchedulingIgnoredDuringExecution");
        for (i, t) in arr_at(pa, &["preferredDuringSchedulingIgnoredDuringExecution"])
            .iter()
            .enumerate()
        {
            let w = i64_at(t, &["weight"]).unwrap_or(0);
            if !(1..=100).contains(&w) {
                errs.push(FieldError::invalid(
                    &pp.index(i).child("weight"),
                    w,
                    "must be in the range 1-100",
                ));
            }
            errs.extend(validate_pod_affinity_term(
                get(t, &["podAffinityTerm"]).unwrap_or(&Value::Null),
                &pp.index(i).child("podAffinityTerm"),
            ));
        }
    }
    errs
}

fn validate_dns_config(spec: &Value, p: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let cfg = field(spec, &["dnsConfig"]);
    if s(spec, &["dnsPolicy"]) == "None" {
        match cfg {
            None => {
                return vec![FieldError::required(
                    p,
                    "must provide `dnsConfig` when `dnsPolicy` is None",
                )];
            }
            Some(c) if arr_at(c, &["nameservers"]).is_empty() => {
                return vec![FieldError::required(
                    &p.child("nameservers"),
                    "must provide at least one DNS nameserver when `dnsPolicy` is None",
                )];
            }
            _ => {}
        }
    }
    let Some(cfg) = cfg else {
        return errs;
    };
    let ns = arr_at(cfg, &["nameservers"]);
    if ns.len() > 3 {
        errs.push(FieldError::invalid(
            &p.child("nameservers"),
            Value::Array(ns.to_vec()),
            "must not have more than 3 nameservers",
        ));
    }
    for (i, n) in ns.iter().enumerate() {
        errs.extend(is_valid_ip(
            &p.child("nameservers").index(i),
            n.as_str().unwrap_or(""),
        ));
    }
    let searches = arr_at(cfg, &["searches"]);
    if searches.len() > 32 {
        errs.push(FieldError::invalid(
            &p.child("searches"),
            Value::Array(searches.to_vec()),
            "must not have more than 32 search paths",
        ));
    }
    let joined: Vec<&str> = searches.iter().map(|x| x.as_str().unwrap_or("")).collect();
    if joined.join(" ").len() > 2048 {
        errs.push(FieldError::invalid(
            &p.child("searches"),
            Value::Array(searches.to_vec()),
            "must not have more than 2048 characters (including spaces) in the search list",
        ));
    }
    for (i, search) in joined.iter().enumerate() {
        // RelaxedDNSSearchValidation is on in 1.33: "." and underscores are allowed.
        if *search != "." {
            let trimmed = search.strip_suffix('.').unwrap_or(search);
            for m in is_dns1123_subdomain_with_underscore(trimmed) {
                errs.push(FieldError::invalid(
                    &p.child("searches").index(i),
                    trimmed,
                    m,
                ));
            }
        }
    }
    for (i, o) in arr_at(cfg, &["options"]).iter().enumerate() {
        if s(o, &["name"]).is_empty() {
            errs.push(FieldError::required(
                &p.child("options").index(i),
                "must not be empty",
            ));
        }
    }
    errs
}

fn validate_topology_spread(constraints: &[Value], p: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    for (i, c) in constraints.iter().enumerate() {
        let cp = p.index(i);
        let skew = i64_at(c, &["maxSkew"]).unwrap_or(0);
        if skew <= 0 {
            errs.push(FieldError::invalid(
                &cp.child("maxSkew"),
                skew,
                "must be greater than zero",
            ));
        }
        let key = s(c, &["topologyKey"]);
        if key.is_empty() {
            errs.push(FieldError::required(
                &cp.child("topologyKey"),
                "can not be empty",
            ));
        }
        let when = s(c, &["whenUnsatisfiable"]);
        if when != "DoNotSchedule" && when != "ScheduleAnyway" {
            errs.push(FieldError::not_supported(
                &cp.child("whenUnsatisfiable"),
                when,
                &["DoNotSchedule", "ScheduleAnyway"],
            ));
        }
        if constraints[i + 1..]
            .iter()
            .any(|o| s(o, &["topologyKey"]) == key && s(o, &["whenUnsatisfiable"]) == when)
        {
            errs.push(FieldError::duplicate(
                &cp.child("{topologyKey, whenUnsatisfiable}"),
                format!("{{{key}, {when}}}"),
            ));
        }
        if let Some(md) = i64_at(c, &["minDomains"]) {
            if md <= 0 {
                errs.push(FieldError::invalid(
                    &cp.child("minDomains"),
                    md,
                    "must be greater than zero",
                ));
            }
            if when != "DoNotSchedule" {
                errs.push(FieldError::invalid(
                    &cp.child("minDomains"),
                    md,
                    format!(
                        "can only use minDomains if whenUnsatisfiable=DoNotSchedule, not {when}"
                    ),
                ));
            }
        }
        for key in ["nodeAffinityPolicy", "nodeTaintsPolicy"] {
            if let Some(pol) = str_at(c, &[key])
                && pol != "Honor"
                && pol != "Ignore"
            {
                errs.push(FieldError::not_supported(
                    &cp.child(key),
                    pol,
                    &["Honor", "Ignore"],
                ));
            }
        }
        errs.extend(validate_label_selector(
            get(c, &["labelSelector"]),
            &cp.child("labelSelector"),
        ));
    }
    errs
}

fn validate_pod_security_context(spec: &Value, p: &Path) -> Vec<FieldError> {
    let Some(sc) = field(spec, &["securityContext"]) else {
        return Vec::new();
    };
    let mut errs = Vec::new();
    for key in ["fsGroup", "runAsUser", "runAsGroup"] {
        if let Some(id) = i64_at(sc, &[key]) {
            for m in is_valid_user_id(id) {
                errs.push(FieldError::invalid(&p.child(key), id, m));
            }
        }
    }
    for (i, g) in arr_at(sc, &["supplementalGroups"]).iter().enumerate() {
        let g = as_i64(g).unwrap_or(-1);
        for m in is_valid_user_id(g) {
            errs.push(FieldError::invalid(
                &p.child("supplementalGroups").index(i),
                g,
                m,
            ));
        }
    }
    if bool_at(spec, &["shareProcessNamespace"]) == Some(true)
        && bool_at(spec, &["hostPID"]) == Some(true)
    {
        errs.push(FieldError::invalid(
            &p.child("shareProcessNamespace"),
            true,
            "ShareProcessNamespace and HostPID cannot both be enabled",
        ));
    }
    let mut sysctl_names: Vec<&str> = Vec::new();
    for (i, sy) in arr_at(sc, &["sysctls"]).iter().enumerate() {
        let np = p.child("sysctls").index(i).child("name");
        let name = s(sy, &["name"]);
        if name.is_empty() {
            errs.push(FieldError::required(&np, ""));
        } else if !is_valid_sysctl_name(name) {
            errs.push(FieldError::invalid(
                &np,
                name,
                "must have at most 253 characters and match regex ^([a-z0-9]([-_a-z0-9]*[a-z0-9])?[\\./])*[a-z0-9]([-_a-z0-9]*[a-z0-9])?$",
            ));
        } else if sysctl_names.contains(&name) {
            errs.push(FieldError::duplicate(&np, name));
        }
        sysctl_names.push(name);
    }
    if let Some(pol) = str_at(sc, &["fsGroupChangePolicy"])
        && pol != "Always"
        && pol != "OnRootMismatch"
    {
        errs.push(FieldError::not_supported(
            &p.child("fsGroupChangePolicy"),
            pol,
            &["Always", "OnRootMismatch"],
        ));
    }
    errs.extend(validate_seccomp_profile(
        get(sc, &["seccompProfile"]),
        &p.child("seccompProfile"),
    ));
    errs.extend(validate_apparmor_profile(
        get(sc, &["appArmorProfile"]),
        &p.child("appArmorProfile"),
    ));
    if let Some(pol) = str_at(sc, &["supplementalGroupsPolicy"])
        && pol != "Merge"
        && pol != "Strict"
    {
        errs.push(FieldError::not_supported(
            &p.child("supplementalGroupsPolicy"),
            pol,
            &["Merge", "Strict"],
        ));
    }
    if let Some(pol) = str_at(sc, &["seLinuxChangePolicy"])
        && pol != "MountOption"
        && pol != "Recursive"
    {
        errs.push(FieldError::not_supported(
            &p.child("seLinuxChangePolicy"),
            pol,
            &["MountOption", "Recursive"],
        ));
    }
    errs
}

fn is_valid_sysctl_name(name: &str) -> bool {
    if name.len() > 253 {
        return false;
    }
    name.split(['.', '/']).all(|seg| {
        let b = seg.as_bytes();
        !b.is_empty()
            && (b[0].is_ascii_lowercase() || b[0].is_ascii_digit())
            && (b[b.len() - 1].is_ascii_lowercase() || b[b.len() - 1].is_ascii_digit())
            && b.iter()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-' || *c == b'_')
    })
}

/// `ValidatePodSpec`.
pub(crate) fn validate_pod_spec(
    spec: &Value,
    pod_name: Option<&str>,
    p: &Path,
    opts: PodOpts,
) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let grace = i64_at(spec, &["terminationGracePeriodSeconds"]);
    if field(spec, &["terminationGracePeriodSeconds"]).is_none() {
        errs.push(FieldError::required(
            &p.child("terminationGracePeriodSeconds"),
            "",
        ));
    }
    let host_users = bool_at(spec, &["hostUsers"]) != Some(false);
    let (volumes, verrs) = validate_volumes(
        arr_at(spec, &["volumes"]),
        pod_name,
        opts.resource_is_pod,
        &p.child("volumes"),
    );
    errs.extend(verrs);
    let claims = arr_at(spec, &["resourceClaims"]);
    let claim_names: Vec<String> = claims
        .iter()
        .map(|c| s(c, &["name"]).to_string())
        .filter(|n| !n.is_empty())
        .collect();
    let mut seen_claims: Vec<&str> = Vec::new();
    for (i, c) in claims.iter().enumerate() {
        let cp = p.child("resourceClaims").index(i);
        let name = s(c, &["name"]);
        if name.is_empty() {
            errs.push(FieldError::required(&cp.child("name"), ""));
        } else if seen_claims.contains(&name) {
            errs.push(FieldError::duplicate(&cp.child("name"), name));
        } else {
            for m in is_dns1123_label(name) {
                errs.push(FieldError::invalid(&cp.child("name"), name, m));
            }
            seen_claims.push(name);
        }
        let (rc, tpl) = (
            field(c, &["resourceClaimName"]),
            field(c, &["resourceClaimTemplateName"]),
        );
        if rc.is_some() && tpl.is_some() {
            errs.push(FieldError::invalid(&cp, c.clone(), "at most one of `resourceClaimName` or `resourceClaimTemplateName` may be specified"));
        }
        if rc.is_none() && tpl.is_none() {
            errs.push(FieldError::invalid(
                &cp,
                c.clone(),
                "must specify one of: `resourceClaimName`, `resourceClaimTemplateName`",
            ));
        }
    }
    let restart_policy = s(spec, &["restartPolicy"]);
    let ctx = PodCtx {
        volumes: &volumes,
        claim_names,
        restart_policy,
        host_users,
    };
    errs.extend(validate_containers(
        spec,
        &ctx,
        grace,
        &p.child("containers"),
    ));
    errs.extend(validate_init_containers(
        spec,
        &ctx,
        grace,
        &p.child("initContainers"),
    ));
    errs.extend(validate_ephemeral_containers(
        spec,
        &ctx,
        &p.child("ephemeralContainers"),
    ));
    if bool_at(spec, &["hostNetwork"]) == Some(true) {
        for (i, ctr) in arr_at(spec, &["containers"]).iter().enumerate() {
            for (j, port) in arr_at(ctr, &["ports"]).iter().enumerate() {
                let hp = i64_at(port, &["hostPort"]).unwrap_or(0);
                let cp = i64_at(port, &["containerPort"]).unwrap_or(0);
                if (opts.resource_is_pod || hp != 0) && hp != cp {
                    errs.push(FieldError::invalid(
                        &p.child("containers")
                            .index(i)
                            .child("ports")
                            .index(j)
                            .child("hostPort"),
                        hp,
                        "must match `containerPort` when `hostNetwork` is true",
                    ));
                }
            }
        }
    }
    match restart_policy {
        "Always" | "OnFailure" | "Never" => {}
        "" => errs.push(FieldError::required(&p.child("restartPolicy"), "")),
        other => errs.push(FieldError::not_supported(
            &p.child("restartPolicy"),
            other,
            &["Always", "OnFailure", "Never"],
        )),
    }
    match s(spec, &["dnsPolicy"]) {
        "ClusterFirstWithHostNet" | "ClusterFirst" | "Default" | "None" => {}
        "" => errs.push(FieldError::required(&p.child("dnsPolicy"), "")),
        other => errs.push(FieldError::not_supported(
            &p.child("dnsPolicy"),
            other,
            &["ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"],
        )),
    }
    errs.extend(validate_labels(
        get(spec, &["nodeSelector"]),
        &p.child("nodeSelector"),
    ));
    errs.extend(validate_pod_security_context(
        spec,
        &p.child("securityContext"),
    ));
    for (i, ps) in arr_at(spec, &["imagePullSecrets"]).iter().enumerate() {
        if ps
            .as_object()
            .is_some_and(|m| m.keys().any(|k| k != "name"))
        {
            errs.push(FieldError::invalid(
                &p.child("imagePullSecrets").index(i),
                ps.clone(),
                "only name may be set",
            ));
        }
    }
    if let Some(aff) = field(spec, &["affinity"]) {
        errs.extend(validate_affinity(aff, &p.child("affinity")));
    }
    errs.extend(validate_dns_config(spec, &p.child("dnsConfig")));
    for (i, g) in arr_at(spec, &["readinessGates"]).iter().enumerate() {
        let ct = s(g, &["conditionType"]);
        for m in is_qualified_name(ct) {
            errs.push(FieldError::invalid(
                &p.child("readinessGates").index(i).child("conditionType"),
                ct,
                m,
            ));
        }
    }
    let mut gates: Vec<&str> = Vec::new();
    for (i, g) in arr_at(spec, &["schedulingGates"]).iter().enumerate() {
        let name = s(g, &["name"]);
        for m in is_qualified_name(name) {
            errs.push(FieldError::invalid(
                &p.child("schedulingGates").index(i),
                name,
                m,
            ));
        }
        if gates.contains(&name) {
            errs.push(FieldError::duplicate(
                &p.child("schedulingGates").index(i),
                name,
            ));
        }
        gates.push(name);
    }
    errs.extend(validate_topology_spread(
        arr_at(spec, &["topologySpreadConstraints"]),
        &p.child("topologySpreadConstraints"),
    ));
    if bool_at(spec, &["hostUsers"]) == Some(false) {
        for (key, shown) in [
            ("hostNetwork", "hostNetwork"),
            ("hostPID", "HostPID"),
            ("hostIPC", "HostIPC"),
        ] {
            if bool_at(spec, &[key]) == Some(true) {
                errs.push(FieldError::forbidden(
                    &p.child(shown),
                    "when `pod.Spec.HostUsers` is false",
                ));
            }
        }
    }
    for key in ["serviceAccountName", "nodeName", "priorityClassName"] {
        let v = s(spec, &[key]);
        if !v.is_empty() {
            for m in is_dns1123_subdomain(v) {
                errs.push(FieldError::invalid(&p.child(key), v, m));
            }
        }
    }
    if let Some(ads) = i64_at(spec, &["activeDeadlineSeconds"])
        && !(1..=i32::MAX as i64).contains(&ads)
    {
        errs.push(FieldError::invalid(
            &p.child("activeDeadlineSeconds"),
            ads,
            inclusive_range_error(1, i32::MAX as i64),
        ));
    }
    for key in ["hostname", "subdomain"] {
        let v = s(spec, &[key]);
        if !v.is_empty() {
            for m in is_dns1123_label(v) {
                errs.push(FieldError::invalid(&p.child(key), v, m));
            }
        }
    }
    errs.extend(validate_tolerations(
        arr_at(spec, &["tolerations"]),
        &p.child("tolerations"),
    ));
    for (i, ha) in arr_at(spec, &["hostAliases"]).iter().enumerate() {
        let hp = p.child("hostAliases").index(i);
        errs.extend(is_valid_ip(&hp.child("ip"), s(ha, &["ip"])));
        for (j, h) in arr_at(ha, &["hostnames"]).iter().enumerate() {
            let h = h.as_str().unwrap_or("");
            for m in is_dns1123_subdomain(h) {
                errs.push(FieldError::invalid(&hp.child("hostnames").index(j), h, m));
            }
        }
    }
    if let Some(rc) = str_at(spec, &["runtimeClassName"]) {
        for m in is_dns1123_subdomain(rc) {
            errs.push(FieldError::invalid(&p.child("runtimeClassName"), rc, m));
        }
    }
    if let Some(pp) = str_at(spec, &["preemptionPolicy"]) {
        match pp {
            "PreemptLowerPriority" | "Never" => {}
            "" => errs.push(FieldError::required(&p.child("preemptionPolicy"), "")),
            other => errs.push(FieldError::not_supported(
                &p.child("preemptionPolicy"),
                other,
                &["PreemptLowerPriority", "Never"],
            )),
        }
    }
    if let Some(overhead) = field(spec, &["overhead"]) {
        let wrapped = serde_json::json!({ "limits": overhead });
        errs.extend(validate_container_resources(
            Some(&wrapped),
            &[],
            &p.child("overhead"),
        ));
    }
    if let Some(os) = field(spec, &["os"]) {
        let name = s(os, &["name"]);
        if name.is_empty() {
            errs.push(FieldError::required(&p.child("os").child("name"), ""));
        } else if name != "linux" && name != "windows" {
            errs.push(FieldError::not_supported(
                &p.child("os").child("name"),
                name,
                &["linux", "windows"],
            ));
        }
    }
    errs
}

/// Annotations with a meaning for pods.
fn validate_pod_specific_annotations(meta: &Value, spec: &Value, p: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if let Some(v) = str_at(meta, &["annotations", "kubernetes.io/config.mirror"])
        && s(spec, &["nodeName"]).is_empty()
    {
        errs.push(FieldError::invalid(
            &p.key("kubernetes.io/config.mirror"),
            v,
            "must set spec.nodeName if mirror pod annotation is set",
        ));
    }
    if let Some(v) = str_at(
        meta,
        &["annotations", "controller.kubernetes.io/pod-deletion-cost"],
    ) && (v.trim() != v || v.parse::<i32>().is_err())
    {
        errs.push(FieldError::invalid(
            &p.key("controller.kubernetes.io/pod-deletion-cost"),
            v,
            "must be a 32bit integer",
        ));
    }
    errs
}

/// A pod template embedded in a workload (`ValidatePodTemplateSpec`).
pub(crate) fn validate_pod_template_spec(tmpl: &Value, p: &Path) -> Vec<FieldError> {
    let meta = get(tmpl, &["metadata"]).unwrap_or(&Value::Null);
    let spec = get(tmpl, &["spec"]).unwrap_or(&Value::Null);
    let mut errs = validate_labels(get(meta, &["labels"]), &p.child("labels"));
    errs.extend(validate_annotations(
        get(meta, &["annotations"]),
        &p.child("annotations"),
    ));
    errs.extend(validate_pod_specific_annotations(
        meta,
        spec,
        &p.child("annotations"),
    ));
    errs.extend(validate_pod_spec(
        spec,
        None,
        &p.child("spec"),
        PodOpts {
            resource_is_pod: false,
        },
    ));
    if !arr_at(spec, &["ephemeralContainers"]).is_empty() {
        errs.push(FieldError::forbidden(
            &p.child("spec").child("ephemeralContainers"),
            "ephemeral containers not allowed in pod template",
        ));
    }
    errs
}

fn validate_pod_metadata_and_spec(pod: &Value) -> Vec<FieldError> {
    let meta = get(pod, &["metadata"]).unwrap_or(&Value::Null);
    let spec = get(pod, &["spec"]).unwrap_or(&Value::Null);
    let sp = Path::new("spec");
    let mut errs = validate_builtin_object_meta(pod, true, NameRule::Dns1123Subdomain);
    errs.extend(validate_pod_specific_annotations(
        meta,
        spec,
        &Path::new("metadata").child("annotations"),
    ));
    errs.extend(validate_pod_spec(
        spec,
        str_at(meta, &["name"]),
        &sp,
        PodOpts {
            resource_is_pod: true,
        },
    ));
    if s(spec, &["serviceAccountName"]).is_empty() {
        for (vi, vol) in arr_at(spec, &["volumes"]).iter().enumerate() {
            for (si, src) in arr_at(vol, &["projected", "sources"]).iter().enumerate() {
                if field(src, &["serviceAccountToken"]).is_some() {
                    errs.push(FieldError::forbidden(
                        &sp.child("volumes")
                            .index(vi)
                            .child("projected")
                            .child("sources")
                            .index(si)
                            .child("serviceAccountToken"),
                        "must not be specified when serviceAccountName is not set",
                    ));
                }
            }
        }
    }
    for list in ["containers", "initContainers"] {
        for (i, c) in arr_at(spec, &[list]).iter().enumerate() {
            let image = s(c, &["image"]);
            if image.trim() != image {
                errs.push(FieldError::invalid(
                    &sp.child(list).index(i).child("image"),
                    image,
                    "must not have leading or trailing whitespace",
                ));
            }
        }
    }
    errs
}

pub(crate) fn validate_pod_create(pod: &Value) -> Vec<FieldError> {
    let mut errs = validate_pod_metadata_and_spec(pod);
    let spec = get(pod, &["spec"]).unwrap_or(&Value::Null);
    let sp = Path::new("spec");
    if !arr_at(spec, &["ephemeralContainers"]).is_empty() {
        errs.push(FieldError::forbidden(
            &sp.child("ephemeralContainers"),
            "cannot be set on create",
        ));
    }
    if !s(spec, &["nodeName"]).is_empty() && !arr_at(spec, &["schedulingGates"]).is_empty() {
        errs.push(FieldError::forbidden(
            &sp.child("nodeName"),
            "cannot be set until all schedulingGates have been cleared",
        ));
    }
    errs
}

const UPDATABLE_POD_FIELDS: &str = "`spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)";

/// A pod's spec is immutable except images, a shrinking activeDeadlineSeconds,
/// added tolerations and removed scheduling gates.
pub(crate) fn validate_pod_update(new: &Value, old: &Value) -> Vec<FieldError> {
    let mut errs = validate_builtin_object_meta_update(new, old);
    errs.extend(validate_pod_metadata_and_spec(new));
    let ap = Path::new("metadata").child("annotations");
    let new_ann = get(new, &["metadata", "annotations"]).and_then(Value::as_object);
    let old_ann = get(old, &["metadata", "annotations"]).and_then(Value::as_object);
    if let Some(o) = old_ann
        && let Some(v) = o.get("kubernetes.io/config.mirror")
        && new_ann.and_then(|n| n.get("kubernetes.io/config.mirror")) != Some(v)
    {
        errs.push(FieldError::forbidden(
            &ap.key("kubernetes.io/config.mirror"),
            "may not remove or update mirror pod annotation",
        ));
    }
    if let Some(n) = new_ann
        && n.contains_key("kubernetes.io/config.mirror")
        && old_ann.is_none_or(|o| !o.contains_key("kubernetes.io/config.mirror"))
    {
        errs.push(FieldError::forbidden(
            &ap.key("kubernetes.io/config.mirror"),
            "may not add mirror pod annotation",
        ));
    }
    let sp = Path::new("spec");
    let ns = get(new, &["spec"]).cloned().unwrap_or(Value::Null);
    let os = get(old, &["spec"]).cloned().unwrap_or(Value::Null);
    for list in ["containers", "initContainers"] {
        let (nl, ol) = (arr_at(&ns, &[list]), arr_at(&os, &[list]));
        if nl.len() != ol.len() {
            errs.push(FieldError::forbidden(
                &sp.child(list),
                "pod updates may not add or remove containers",
            ));
            return errs;
        }
        for (i, c) in nl.iter().enumerate() {
            let image = s(c, &["image"]);
            if image.is_empty() {
                errs.push(FieldError::required(
                    &sp.child(list).index(i).child("image"),
                    "",
                ));
            }
            if image.trim() != image {
                errs.push(FieldError::invalid(
                    &sp.child(list).index(i).child("image"),
                    image,
                    "must not have leading or trailing whitespace",
                ));
            }
        }
    }
    let new_ads = i64_at(&ns, &["activeDeadlineSeconds"]);
    let old_ads = i64_at(&os, &["activeDeadlineSeconds"]);
    match (new_ads, old_ads) {
        (Some(n), _) if !(0..=i32::MAX as i64).contains(&n) => {
            errs.push(FieldError::invalid(
                &sp.child("activeDeadlineSeconds"),
                n,
                inclusive_range_error(0, i32::MAX as i64),
            ));
            return errs;
        }
        (Some(n), Some(o)) if o < n => {
            errs.push(FieldError::invalid(
                &sp.child("activeDeadlineSeconds"),
                n,
                "must be less than or equal to previous value",
            ));
            return errs;
        }
        (None, Some(_)) => {
            errs.push(FieldError::invalid(
                &sp.child("activeDeadlineSeconds"),
                Value::Null,
                "must not update from a positive integer to nil value",
            ));
        }
        _ => {}
    }
    let new_tol = arr_at(&ns, &["tolerations"]);
    for old_t in arr_at(&os, &["tolerations"]) {
        let found = new_tol.iter().any(|nt| {
            let mut a = old_t.clone();
            let mut b = nt.clone();
            for x in [&mut a, &mut b] {
                if let Some(m) = x.as_object_mut() {
                    m.remove("tolerationSeconds");
                }
            }
            semantic_eq(&a, &b)
        });
        if !found {
            errs.push(FieldError::forbidden(
                &sp.child("tolerations"),
                "existing toleration can not be modified except its tolerationSeconds",
            ));
            break;
        }
    }
    let old_gates: Vec<&str> = arr_at(&os, &["schedulingGates"])
        .iter()
        .map(|g| s(g, &["name"]))
        .collect();
    for (i, g) in arr_at(&ns, &["schedulingGates"]).iter().enumerate() {
        let name = s(g, &["name"]);
        if !old_gates.contains(&name) {
            errs.push(FieldError::forbidden(
                &sp.child("schedulingGates").index(i).child("name"),
                format!("only deletion is allowed, but found new scheduling gate '{name}'"),
            ));
        }
    }
    if semantic_eq(&ns, &os) {
        return errs;
    }
    let mut munged = ns.clone();
    for list in ["containers", "initContainers"] {
        let old_images: Vec<Value> = arr_at(&os, &[list])
            .iter()
            .map(|c| c.get("image").cloned().unwrap_or(Value::Null))
            .collect();
        if let Some(items) = munged.get_mut(list).and_then(Value::as_array_mut) {
            for (c, img) in items.iter_mut().zip(old_images) {
                if let Some(m) = c.as_object_mut() {
                    m.insert("image".into(), img);
                }
            }
        }
    }
    if let Some(m) = munged.as_object_mut() {
        for key in ["activeDeadlineSeconds", "schedulingGates", "tolerations"] {
            match os.get(key) {
                Some(v) => m.insert(key.into(), v.clone()),
                None => m.remove(key),
            };
        }
        let old_grace = i64_at(&os, &["terminationGracePeriodSeconds"]);
        if old_grace.is_some_and(|g| g < 0)
            && i64_at(&ns, &["terminationGracePeriodSeconds"]) == Some(1)
        {
            m.insert(
                "terminationGracePeriodSeconds".into(),
                Value::from(old_grace.unwrap_or(0)),
            );
        }
    }
    if !arr_at(&os, &["schedulingGates"]).is_empty() {
        // Gated pods may gain node selector entries and node affinity.
        if let Some(m) = munged.as_object_mut() {
            {
                let key = "nodeSelector";
                match os.get(key) {
                    Some(v) => m.insert(key.into(), v.clone()),
                    None => m.remove(key),
                };
            }
        }
    }
    if !semantic_eq(&munged, &os) {
        errs.push(FieldError::forbidden(
            &sp,
            format!(
                "pod updates may not change fields other than {UPDATABLE_POD_FIELDS}\n{}",
                json_diff("core.PodSpec", &os, &munged)
            ),
        ));
    }
    errs
}

/// A readable diff of two JSON documents in the spirit of the `cmp.Diff`
/// output Kubernetes appends to "immutable" errors: `-` old, `+` new, one
/// line per changed leaf.
pub(crate) fn json_diff(type_name: &str, old: &Value, new: &Value) -> String {
    let mut lines = Vec::new();
    diff_into(&mut lines, "", old, new);
    let mut out = format!("  {type_name}{{\n");
    for l in lines {
        out.push_str(&l);
        out.push('\n');
    }
    out.push_str("  }\n");
    out
}

fn diff_into(lines: &mut Vec<String>, path: &str, old: &Value, new: &Value) {
    if semantic_eq(old, new) {
        return;
    }
    match (old, new) {
        (Value::Object(a), Value::Object(b)) => {
            let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                diff_into(
                    lines,
                    &p,
                    a.get(k).unwrap_or(&Value::Null),
                    b.get(k).unwrap_or(&Value::Null),
                );
            }
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                diff_into(lines, &format!("{path}[{i}]"), x, y);
            }
        }
        _ => {
            let render = |v: &Value| serde_json::to_string(v).unwrap_or_default();
            if !super::json::is_zero(old) {
                lines.push(format!("- \t{path}: {}", render(old)));
            }
            if !super::json::is_zero(new) {
                lines.push(format!("+ \t{path}: {}", render(new)));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn msgs(errs: &[FieldError]) -> Vec<String> {
        errs.iter().map(FieldError::message).collect()
    }

    fn pod(spec: Value) -> Value {
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "default"}, "spec": spec})
    }

    fn defaulted_container(extra: Value) -> Value {
        let mut c = json!({"name": "app", "image": "nginx", "imagePullPolicy": "IfNotPresent",
            "terminationMessagePolicy": "File", "terminationMessagePath": "/dev/termination-log", "resources": {}});
        if let (Some(m), Some(e)) = (c.as_object_mut(), extra.as_object()) {
            for (k, v) in e {
                m.insert(k.clone(), v.clone());
            }
        }
        c
    }

    fn base_spec(containers: Value) -> Value {
        json!({"containers": containers, "restartPolicy": "Always", "dnsPolicy": "ClusterFirst",
            "terminationGracePeriodSeconds": 30, "schedulerName": "default-scheduler", "securityContext": {}})
    }

    #[test]
    fn validation_pod_valid_minimal() {
        let p = pod(base_spec(json!([defaulted_container(json!({}))])));
        assert!(
            validate_pod_create(&p).is_empty(),
            "{:?}",
            msgs(&validate_pod_create(&p))
        );
    }

    #[test]
    fn validation_pod_container_errors() {
        let p = pod(base_spec(json!([
            defaulted_container(
                json!({"image": "", "ports": [{"containerPort": 70000, "protocol": "TCP"}]})
            ),
            defaulted_container(
                json!({"env": [{"name": ""}, {"name": "A=B"}], "volumeMounts": [{"name": "missing", "mountPath": "/x"}]})
            ),
        ])));
        assert_eq!(
            msgs(&validate_pod_create(&p)),
            vec![
                "spec.containers[0].image: Required value",
                "spec.containers[0].ports[0].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive",
                "spec.containers[1].env[0].name: Required value",
                "spec.containers[1].env[1].name: Invalid value: \"A=B\": a valid environment variable name must consist only of printable ASCII characters other than '='",
                "spec.containers[1].volumeMounts[0].name: Not found: \"missing\"",
                "spec.containers[1].name: Duplicate value: \"app\"",
            ]
        );
    }

    #[test]
    fn validation_pod_no_containers_and_bad_policies() {
        let mut spec = base_spec(json!([]));
        spec["restartPolicy"] = json!("Sometimes");
        spec["dnsPolicy"] = json!("");
        assert_eq!(
            msgs(&validate_pod_create(&pod(spec))),
            vec![
                "spec.containers: Required value",
                "spec.restartPolicy: Unsupported value: \"Sometimes\": supported values: \"Always\", \"OnFailure\", \"Never\"",
                "spec.dnsPolicy: Required value",
            ]
        );
    }

    #[test]
    fn validation_pod_probes_need_one_handler() {
        let p = pod(base_spec(json!([defaulted_container(json!({
            "livenessProbe": {"timeoutSeconds": 1, "periodSeconds": 10, "successThreshold": 2, "failureThreshold": 3},
            "readinessProbe": {"exec": {"command": ["true"]}, "tcpSocket": {"port": 80}, "successThreshold": 1}
        }))])));
        assert_eq!(
            msgs(&validate_pod_create(&p)),
            vec![
                "spec.containers[0].livenessProbe: Required value: must specify a handler type",
                "spec.containers[0].livenessProbe.successThreshold: Invalid value: 2: must be 1",
                "spec.containers[0].readinessProbe.tcpSocket: Forbidden: may not specify more than 1 handler type",
            ]
        );
    }

    #[test]
    fn validation_pod_update_restrictions() {
        let mut old = pod(base_spec(json!([defaulted_container(json!({}))])));
        old["metadata"]["resourceVersion"] = json!("1");
        let mut new = old.clone();
        new["spec"]["containers"][0]["image"] = json!("nginx:2");
        assert!(validate_pod_update(&new, &old).is_empty());
        new["spec"]["restartPolicy"] = json!("Never");
        let m = msgs(&validate_pod_update(&new, &old));
        assert_eq!(m.len(), 1);
        assert!(m[0].starts_with("spec: Forbidden: pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)\n"));
        assert!(m[0].contains("restartPolicy: \"Always\""));
        let mut fewer = old.clone();
        fewer["spec"]["containers"] = json!([]);
        assert_eq!(
            msgs(&validate_pod_update(&fewer, &old)),
            vec![
                "spec.containers: Required value",
                "spec.containers: Forbidden: pod updates may not add or remove containers",
            ]
        );
    }

    #[test]
    fn validation_pod_template_env_field_ref() {
        let tmpl = json!({"metadata": {"labels": {"app": "x"}}, "spec": base_spec(json!([defaulted_container(json!({
            "env": [{"name": "A", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "spec.bogus"}}},
                    {"name": "B", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "status.phase"}}},
                    {"name": "C", "valueFrom": {}}]
        }))]))});
        assert_eq!(
            msgs(&validate_pod_template_spec(
                &tmpl,
                &Path::new("spec").child("template")
            )),
            vec![
                "spec.template.spec.containers[0].env[0].valueFrom.fieldRef.fieldPath: Invalid value: \"spec.bogus\": error converting fieldPath: field label not supported: spec.bogus",
                "spec.template.spec.containers[0].env[1].valueFrom.fieldRef.fieldPath: Unsupported value: \"status.phase\": supported values: \"metadata.name\", \"metadata.namespace\", \"metadata.uid\", \"spec.nodeName\", \"spec.serviceAccountName\", \"status.hostIP\", \"status.hostIPs\", \"status.podIP\", \"status.podIPs\"",
                "spec.template.spec.containers[0].env[2].valueFrom: Invalid value: \"\": must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`",
            ]
        );
    }
}
