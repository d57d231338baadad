//! The simpler core/v1 kinds: Namespace, ConfigMap, Secret, ServiceAccount,
//! Endpoints, Event, Node, ResourceQuota and LimitRange.

use base64::Engine;
use serde_json::Value;

use super::NameRule;
use super::field::{FieldError, Path, go_quote, go_repr};
use super::format::{
    is_config_map_key, is_dns1123_label, is_dns1123_subdomain, is_qualified_name, is_valid_cidr,
    is_valid_ip, is_valid_label_value, is_valid_port_num, validate_non_special_ip,
};
use super::json::{arr_at, field, get, i64_at, s, semantic_eq, str_at};
use super::meta::{
    validate_builtin_object_meta, validate_builtin_object_meta_update, validate_finalizer_name,
    validate_label_name,
};
use super::resources::{
    is_overcommit_allowed, resource_list, validate_container_resource_name,
    validate_quota_resource_name, validate_resource_name, validate_resource_quantity_value,
};

/// The maximum total size of a ConfigMap's or Secret's data (1 MiB).
pub const MAX_DATA_SIZE: usize = 1024 * 1024;

/// Meta update rules followed by the create rules of the new object.
pub(crate) fn validate_simple_update(
    new: &Value,
    old: &Value,
    create: fn(&Value) -> Vec<FieldError>,
) -> Vec<FieldError> {
    let mut errs = validate_builtin_object_meta_update(new, old);
    errs.extend(create(new));
    errs
}

pub(crate) fn validate_namespace_create(obj: &Value) -> Vec<FieldError> {
    let mut errs = validate_builtin_object_meta(obj, false, NameRule::Dns1123Label);
    let fp = Path::new("spec").child("finalizers");
    for f in arr_at(obj, &["spec", "finalizers"]) {
        errs.extend(validate_finalizer_name(f.as_str().unwrap_or(""), &fp));
    }
    errs
}

pub(crate) fn validate_namespace_update(new: &Value, old: &Value) -> Vec<FieldError> {
    validate_builtin_object_meta_update(new, old)
}

/// Decodes a base64 data value as Kubernetes' JSON decoder would.
fn decode_b64(v: &Value) -> Result<Vec<u8>, String> {
    let text = v.as_str().unwrap_or("");
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_err(|e| {
            let at = match e {
                base64::DecodeError::InvalidByte(i, _)
                | base64::DecodeError::InvalidLastSymbol(i, _) => i,
                base64::DecodeError::InvalidLength(n) => n,
                base64::DecodeError::InvalidPadding => text.len(),
            };
            format!("illegal base64 data at input byte {at}")
        })
}

fn sorted_entries(map: Option<&Value>) -> Vec<(&String, &Value)> {
    let mut v: Vec<(&String, &Value)> = map
        .and_then(Value::as_object)
        .map(|m| m.iter().collect())
        .unwrap_or_default();
    v.sort_by(|a, b| a.0.cmp(b.0));
    v
}

pub(crate) fn validate_config_map_create(obj: &Value) -> Vec<FieldError> {
    let mut errs = validate_builtin_object_meta(obj, true, NameRule::Dns1123Subdomain);
    let mut total = 0usize;
    let binary = get(obj, &["binaryData"]).and_then(Value::as_object);
    for (k, v) in sorted_entries(get(obj, &["data"])) {
        let p = Path::new("data").key(k);
        for m in is_config_map_key(k) {
            errs.push(FieldError::invalid(&p, k.as_str(), m));
        }
        if binary.is_some_and(|b| b.contains_key(k)) {
            errs.push(FieldError::invalid(
                &p,
                k.as_str(),
                "duplicate of key present in binaryData",
            ));
        }
        total += v.as_str().map_or(0, str::len);
    }
    for (k, v) in sorted_entries(get(obj, &["binaryData"])) {
        let p = Path::new("binaryData").key(k);
        for m in is_config_map_key(k) {
            errs.push(FieldError::invalid(&p, k.as_str(), m));
        }
        match decode_b64(v) {
            Ok(bytes) => total += bytes.len(),
            Err(m) => errs.push(FieldError::invalid(&p, v.clone(), m)),
        }
    }
    if total > MAX_DATA_SIZE {
        errs.push(FieldError::too_long(&Path::new(""), MAX_DATA_SIZE));
    }
    errs
}

fn immutable_flag(obj: &Value) -> bool {
    obj.get("immutable").and_then(Value::as_bool) == Some(true)
}

pub(crate) fn validate_config_map_update(new: &Value, old: &Value) -> Vec<FieldError> {
    let mut errs = validate_builtin_object_meta_update(new, old);
    if immutable_flag(old) {
        if !immutable_flag(new) {
            errs.push(FieldError::forbidden(
                &Path::new("immutable"),
                "field is immutable when `immutable` is set",
            ));
        }
        for key in ["data", "binaryData"] {
            if !semantic_eq(
                get(new, &[key]).unwrap_or(&Value::Null),
                get(old, &[key]).unwrap_or(&Value::Null),
            ) {
                errs.push(FieldError::forbidden(
                    &Path::new(key),
                    "field is immutable when `immutable` is set",
                ));
            }
        }
    }
    errs.extend(validate_config_map_create(new));
    errs
}

/// A Go-like `json.Unmarshal` error for a docker config that is not a JSON object.
fn docker_config_error(bytes: &[u8]) -> Option<String> {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(_)) => None,
        Ok(Value::Array(_)) => Some(
            "json: cannot unmarshal array into Go value of type map[string]interface {}".into(),
        ),
        Ok(Value::String(_)) => Some(
            "json: cannot unmarshal string into Go value of type map[string]interface {}".into(),
        ),
        Ok(Value::Number(_)) => Some(
            "json: cannot unmarshal number into Go value of type map[string]interface {}".into(),
        ),
        Ok(Value::Bool(_)) => {
            Some("json: cannot unmarshal bool into Go value of type map[string]interface {}".into())
        }
        Ok(Value::Null) => None,
        Err(e) if e.is_eof() => Some("unexpected end of JSON input".into()),
        Err(e) => {
            let text = String::from_utf8_lossy(bytes);
            let line = text.lines().nth(e.line().saturating_sub(1)).unwrap_or("");
            let c = line
                .chars()
                .nth(e.column().saturating_sub(1))
                .unwrap_or(' ');
            Some(format!(
                "invalid character '{c}' looking for beginning of value"
            ))
        }
    }
}

pub(crate) fn validate_secret_create(obj: &Value) -> Vec<FieldError> {
    let mut errs = validate_builtin_object_meta(obj, true, NameRule::Dns1123Subdomain);
    let dp = Path::new("data");
    let mut total = 0usize;
    let mut decoded: Vec<(String, Vec<u8>)> = Vec::new();
    for (k, v) in sorted_entries(get(obj, &["data"])) {
        for m in is_config_map_key(k) {
            errs.push(FieldError::invalid(&dp.key(k), k.as_str(), m));
        }
        match decode_b64(v) {
            Ok(bytes) => {
                total += bytes.len();
                decoded.push((k.clone(), bytes));
            }
            Err(m) => errs.push(FieldError::invalid(&dp.key(k), v.clone(), m)),
        }
    }
    if total > MAX_DATA_SIZE {
        errs.push(FieldError::too_long(&dp, MAX_DATA_SIZE));
    }
    let data = |key: &str| {
        decoded
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_slice())
    };
    let has = |key: &str| get(obj, &["data", key]).is_some();
    match s(obj, &["type"]) {
        "kubernetes.io/service-account-token"
            if s(
                obj,
                &[
                    "metadata",
                    "annotations",
                    "kubernetes.io/service-account.name",
                ],
            )
            .is_empty() =>
        {
            errs.push(FieldError::required(
                &Path::new("metadata")
                    .child("annotations")
                    .key("kubernetes.io/service-account.name"),
                "",
            ));
        }
        "kubernetes.io/dockercfg" => match data(".dockercfg") {
            None if !has(".dockercfg") => {
                errs.push(FieldError::required(&dp.key(".dockercfg"), ""))
            }
            None => {}
            Some(bytes) => {
                if let Some(m) = docker_config_error(bytes) {
                    errs.push(FieldError::invalid(
                        &dp.key(".dockercfg"),
                        "<secret contents redacted>",
                        m,
                    ));
                }
            }
        },
        "kubernetes.io/dockerconfigjson" => match data(".dockerconfigjson") {
            None if !has(".dockerconfigjson") => {
                errs.push(FieldError::required(&dp.key(".dockerconfigjson"), ""))
            }
            None => {}
            Some(bytes) => {
                if let Some(m) = docker_config_error(bytes) {
                    errs.push(FieldError::invalid(
                        &dp.key(".dockerconfigjson"),
                        "<secret contents redacted>",
                        m,
                    ));
                }
            }
        },
        "kubernetes.io/basic-auth" if !has("username") && !has("password") => {
            errs.push(FieldError::required(&dp.key("username"), ""));
            errs.push(FieldError::required(&dp.key("password"), ""));
        }
        "kubernetes.io/ssh-auth" if data("ssh-privatekey").is_none_or(<[u8]>::is_empty) => {
            errs.push(FieldError::required(&dp.key("ssh-privatekey"), ""));
        }
        "kubernetes.io/tls" => {
            if !has("tls.crt") {
                errs.push(FieldError::required(&dp.key("tls.crt"), ""));
            }
            if !has("tls.key") {
                errs.push(FieldError::required(&dp.key("tls.key"), ""));
            }
        }
        _ => {}
    }
    errs
}

pub(crate) fn validate_secret_update(new: &Value, old: &Value) -> Vec<FieldError> {
    let mut errs = validate_builtin_object_meta_update(new, old);
    let nt = s(new, &["type"]);
    if nt != s(old, &["type"]) {
        errs.push(FieldError::invalid(
            &Path::new("type"),
            nt,
            "field is immutable",
        ));
    }
    if immutable_flag(old) {
        if !immutable_flag(new) {
            errs.push(FieldError::forbidden(
                &Path::new("immutable"),
                "field is immutable when `immutable` is set",
            ));
        }
        if !semantic_eq(
            get(new, &["data"]).unwrap_or(&Value::Null),
            get(old, &["data"]).unwrap_or(&Value::Null),
        ) {
            errs.push(FieldError::forbidden(
                &Path::new("data"),
                "field is immutable when `immutable` is set",
            ));
        }
    }
    errs.extend(validate_secret_create(new));
    errs
}

pub(crate) fn validate_service_account_create(obj: &Value) -> Vec<FieldError> {
    validate_builtin_object_meta(obj, true, NameRule::Dns1123Subdomain)
}

pub(crate) fn validate_endpoints_create(obj: &Value) -> Vec<FieldError> {
    let mut errs = validate_builtin_object_meta(obj, true, NameRule::Dns1123Subdomain);
    for (i, ss) in arr_at(obj, &["subsets"]).iter().enumerate() {
        let p = Path::new("subsets").index(i);
        let addrs = arr_at(ss, &["addresses"]);
        let not_ready = arr_at(ss, &["notReadyAddresses"]);
        if addrs.is_empty() && not_ready.is_empty() {
            errs.push(FieldError::required(
                &p,
                "must specify `addresses` or `notReadyAddresses`",
            ));
        }
        for (key, list) in [("addresses", addrs), ("notReadyAddresses", not_ready)] {
            for (j, a) in list.iter().enumerate() {
                let ap = p.child(key).index(j);
                let ip = s(a, &["ip"]);
                errs.extend(is_valid_ip(&ap.child("ip"), ip));
                let hostname = s(a, &["hostname"]);
                if !hostname.is_empty() {
                    for m in is_dns1123_label(hostname) {
                        errs.push(FieldError::invalid(&ap.child("hostname"), hostname, m));
                    }
                }
                if let Some(node) = str_at(a, &["nodeName"]) {
                    for m in is_dns1123_subdomain(node) {
                        errs.push(FieldError::invalid(&ap.child("nodeName"), node, m));
                    }
                }
                errs.extend(validate_non_special_ip(ip, &ap.child("ip")));
            }
        }
        let ports = arr_at(ss, &["ports"]);
        for (j, port) in ports.iter().enumerate() {
            let pp = p.child("ports").index(j);
            let name = s(port, &["name"]);
            if ports.len() > 1 && name.is_empty() {
                errs.push(FieldError::required(&pp.child("name"), ""));
            } else if !name.is_empty() {
                for m in is_dns1123_label(name) {
                    errs.push(FieldError::invalid(&pp.child("name"), name, m));
                }
            }
            let num = i64_at(port, &["port"]).unwrap_or(0);
            for m in is_valid_port_num(num) {
                errs.push(FieldError::invalid(&pp.child("port"), num, m));
            }
            let proto = s(port, &["protocol"]);
            if proto.is_empty() {
                errs.push(FieldError::required(&pp.child("protocol"), ""));
            } else if !["SCTP", "TCP", "UDP"].contains(&proto) {
                errs.push(FieldError::not_supported(
                    &pp.child("protocol"),
                    proto,
                    &["SCTP", "TCP", "UDP"],
                ));
            }
            if let Some(ap) = str_at(port, &["appProtocol"]) {
                for m in is_qualified_name(ap) {
                    errs.push(FieldError::invalid(&pp.child("appProtocol"), ap, m));
                }
            }
        }
    }
    errs
}

/// The checks every core/v1 Event passes (Kubernetes' `legacyValidateEvent`
/// for requests made through the core API).
fn legacy_validate_event(obj: &Value) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let namespace = s(obj, &["metadata", "namespace"]);
    let involved_ns = s(obj, &["involvedObject", "namespace"]);
    let inp = Path::new("involvedObject").child("namespace");
    if field(obj, &["eventTime"]).is_none() {
        if involved_ns.is_empty() {
            if !namespace.is_empty() && namespace != "default" {
                errs.push(FieldError::invalid(
                    &inp,
                    involved_ns,
                    "does not match event.namespace",
                ));
            }
        } else if namespace != involved_ns {
            errs.push(FieldError::invalid(
                &inp,
                involved_ns,
                "does not match event.namespace",
            ));
        }
    } else {
        if involved_ns.is_empty() && namespace != "default" && namespace != "kube-system" {
            errs.push(FieldError::invalid(
                &inp,
                involved_ns,
                "does not match event.namespace",
            ));
        }
        let rc = s(obj, &["reportingComponent"]);
        if rc.is_empty() {
            errs.push(FieldError::required(&Path::new("reportingComponent"), ""));
        }
        for m in is_qualified_name(rc) {
            errs.push(FieldError::invalid(&Path::new("reportingComponent"), rc, m));
        }
        let ri = s(obj, &["reportingInstance"]);
        if ri.is_empty() {
            errs.push(FieldError::required(&Path::new("reportingInstance"), ""));
        }
        if ri.len() > 128 {
            errs.push(FieldError::invalid(
                &Path::new("reportingInstance"),
                "",
                "can have at most 128 characters",
            ));
        }
        let action = s(obj, &["action"]);
        if action.is_empty() {
            errs.push(FieldError::required(&Path::new("action"), ""));
        }
        if action.len() > 128 {
            errs.push(FieldError::invalid(
                &Path::new("action"),
                "",
                "can have at most 128 characters",
            ));
        }
        let reason = s(obj, &["reason"]);
        if reason.is_empty() {
            errs.push(FieldError::required(&Path::new("reason"), ""));
        }
        if reason.len() > 128 {
            errs.push(FieldError::invalid(
                &Path::new("reason"),
                "",
                "can have at most 128 characters",
            ));
        }
        if s(obj, &["message"]).len() > 1024 {
            errs.push(FieldError::invalid(
                &Path::new("message"),
                "",
                "can have at most 1024 characters",
            ));
        }
    }
    for m in is_dns1123_subdomain(namespace) {
        errs.push(FieldError::invalid(&Path::new("namespace"), namespace, m));
    }
    errs
}

pub(crate) fn validate_core_event_create(obj: &Value) -> Vec<FieldError> {
    let mut errs = validate_builtin_object_meta(obj, true, NameRule::PathSegment);
    errs.extend(legacy_validate_event(obj));
    errs
}

pub(crate) fn validate_core_event_update(new: &Value, old: &Value) -> Vec<FieldError> {
    let mut errs = validate_builtin_object_meta_update(new, old);
    errs.extend(legacy_validate_event(new));
    errs
}

fn validate_taints(taints: &[Value], p: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let mut seen: Vec<(&str, &str)> = Vec::new();
    for (i, t) in taints.iter().enumerate() {
        let ip = p.index(i);
        let key = s(t, &["key"]);
        let effect = s(t, &["effect"]);
        errs.extend(validate_label_name(key, &ip.child("key")));
        let value = s(t, &["value"]);
        let msgs = is_valid_label_value(value);
        if !msgs.is_empty() {
            errs.push(FieldError::invalid(
                &ip.child("value"),
                value,
                msgs.join(";"),
            ));
        }
        if effect.is_empty() {
            errs.push(FieldError::required(&ip.child("effect"), ""));
        } else if !["NoSchedule", "PreferNoSchedule", "NoExecute"].contains(&effect) {
            errs.push(FieldError::not_supported(
                &ip.child("effect"),
                effect,
                &["NoSchedule", "PreferNoSchedule", "NoExecute"],
            ));
        }
        if seen.contains(&(key, effect)) {
            let mut e = FieldError::duplicate(&ip, t.clone());
            e.detail = "taints must be unique by key and effect pair".to_string();
            errs.push(e);
            continue;
        }
        seen.push((key, effect));
    }
    errs
}

fn validate_node_resources(obj: &Value) -> Vec<FieldError> {
    let mut errs = Vec::new();
    for key in ["capacity", "allocatable"] {
        let base = Path::new("status").child(key);
        for (name, q) in resource_list(get(obj, &["status", key]), &base, &mut errs) {
            // Kubernetes builds this path with Child, so the name follows a dot.
            errs.extend(validate_resource_quantity_value(
                &name,
                &q,
                &base.child(&name),
            ));
        }
    }
    errs
}

fn validate_pod_cidrs(obj: &Value) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let cidrs = arr_at(obj, &["spec", "podCIDRs"]);
    let p = Path::new("spec").child("podCIDRs");
    for (i, c) in cidrs.iter().enumerate() {
        errs.extend(is_valid_cidr(&p.index(i), c.as_str().unwrap_or("")));
    }
    if cidrs.len() > 1 {
        let v4 = cidrs
            .iter()
            .filter(|c| c.as_str().is_some_and(|c| !c.contains(':')))
            .count();
        if v4 != 1 || cidrs.len() > 2 {
            errs.push(FieldError::invalid(
                &p,
                Value::Array(cidrs.to_vec()),
                "may specify no more than one CIDR for each IP family",
            ));
        }
        for (i, c) in cidrs.iter().enumerate() {
            if cidrs[..i].contains(c) {
                errs.push(FieldError::duplicate(&p.index(i), c.clone()));
            }
        }
    }
    errs
}

pub(crate) fn validate_node_create(obj: &Value) -> Vec<FieldError> {
    let mut errs = validate_builtin_object_meta(obj, false, NameRule::Dns1123Subdomain);
    // Kubernetes reports node taints under `metadata.taints` (sic).
    errs.extend(validate_taints(
        arr_at(obj, &["spec", "taints"]),
        &Path::new("metadata").child("taints"),
    ));
    errs.extend(validate_node_resources(obj));
    errs.extend(validate_pod_cidrs(obj));
    errs
}

pub(crate) fn validate_node_update(new: &Value, old: &Value) -> Vec<FieldError> {
    let mut errs = validate_builtin_object_meta_update(new, old);
    errs.extend(validate_node_resources(new));
    let addrs = arr_at(new, &["status", "addresses"]);
    for (i, a) in addrs.iter().enumerate() {
        if addrs[..i].iter().any(|b| semantic_eq(a, b)) {
            errs.push(FieldError::duplicate(
                &Path::new("status").child("addresses").index(i),
                a.clone(),
            ));
        }
    }
    let old_cidrs = arr_at(old, &["spec", "podCIDRs"]);
    let new_cidrs = arr_at(new, &["spec", "podCIDRs"]);
    if !old_cidrs.is_empty() {
        let msg = "node updates may not change podCIDR except from \"\" to valid";
        if old_cidrs.len() != new_cidrs.len() {
            errs.push(FieldError::forbidden(
                &Path::new("spec").child("podCIDRs"),
                msg,
            ));
        } else {
            for (a, b) in old_cidrs.iter().zip(new_cidrs) {
                if a != b {
                    errs.push(FieldError::forbidden(
                        &Path::new("spec").child("podCIDRs"),
                        msg,
                    ));
                }
            }
        }
    }
    let old_provider = s(old, &["spec", "providerID"]);
    if !old_provider.is_empty() && old_provider != s(new, &["spec", "providerID"]) {
        errs.push(FieldError::forbidden(
            &Path::new("spec").child("providerID"),
            "node updates may not change providerID except from \"\" to valid",
        ));
    }
    errs.extend(validate_taints(
        arr_at(new, &["spec", "taints"]),
        &Path::new("metadata").child("taints"),
    ));
    if s(new, &["spec", "externalID"]) != s(old, &["spec", "externalID"]) {
        errs.push(FieldError::forbidden(
            &Path::new("spec").child("externalID"),
            "may not be updated",
        ));
    }
    errs
}

const STANDARD_SCOPES: &[&str] = &[
    "Terminating",
    "NotTerminating",
    "BestEffort",
    "NotBestEffort",
    "PriorityClass",
    "CrossNamespacePodAffinity",
    "VolumeAttributesClass",
];

fn scope_valid_for_resource(scope: &str, resource: &str) -> bool {
    const POD_COMPUTE: &[&str] = &[
        "pods",
        "cpu",
        "memory",
        "limits.cpu",
        "limits.memory",
        "requests.cpu",
        "requests.memory",
    ];
    match scope {
        "Terminating"
        | "NotTerminating"
        | "NotBestEffort"
        | "PriorityClass"
        | "CrossNamespacePodAffinity" => POD_COMPUTE.contains(&resource),
        "BestEffort" => resource == "pods",
        "VolumeAttributesClass" => {
            ["persistentvolumeclaims", "requests.storage"].contains(&resource)
        }
        _ => false,
    }
}

fn scopes_value(scopes: &[Value]) -> Value {
    let items: Vec<String> = scopes
        .iter()
        .map(|s| go_quote(s.as_str().unwrap_or("")))
        .collect();
    go_repr(format!("[]core.ResourceQuotaScope{{{}}}", items.join(", ")))
}

fn validate_resource_quota_spec(obj: &Value) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let sp = Path::new("spec");
    let hard_path = sp.child("hard");
    let hard = resource_list(get(obj, &["spec", "hard"]), &hard_path, &mut errs);
    for (name, q) in &hard {
        let p = hard_path.key(name);
        errs.extend(validate_quota_resource_name(name, &p));
        errs.extend(validate_resource_quantity_value(name, q, &p));
    }
    let is_standard_quota =
        |n: &str| validate_quota_resource_name(n, &Path::new("")).is_empty() && !n.contains('/');
    let scopes = arr_at(obj, &["spec", "scopes"]);
    let mut scope_set: Vec<&str> = Vec::new();
    for scope in scopes {
        let scope = scope.as_str().unwrap_or("");
        if !STANDARD_SCOPES.contains(&scope) {
            errs.push(FieldError::invalid(
                &sp.child("scopes"),
                scopes_value(scopes),
                "unsupported scope",
            ));
        }
        for (name, _) in &hard {
            if is_standard_quota(name) && !scope_valid_for_resource(scope, name) {
                errs.push(FieldError::invalid(
                    &sp.child("scopes"),
                    scopes_value(scopes),
                    "unsupported scope applied to resource",
                ));
            }
        }
        scope_set.push(scope);
    }
    for pair in [
        ["BestEffort", "NotBestEffort"],
        ["Terminating", "NotTerminating"],
    ] {
        if pair.iter().all(|x| scope_set.contains(x)) {
            errs.push(FieldError::invalid(
                &sp.child("scopes"),
                scopes_value(scopes),
                "conflicting scopes",
            ));
        }
    }
    if let Some(sel) = field(obj, &["spec", "scopeSelector"]) {
        let ep = sp.child("scopeSelector").child("matchExpressions");
        let mut names: Vec<&str> = Vec::new();
        for req in arr_at(sel, &["matchExpressions"]) {
            let scope = s(req, &["scopeName"]);
            if !STANDARD_SCOPES.contains(&scope) {
                errs.push(FieldError::invalid(
                    &ep.child("scopeName"),
                    scope,
                    "unsupported scope",
                ));
            }
            for (name, _) in &hard {
                if is_standard_quota(name) && !scope_valid_for_resource(scope, name) {
                    errs.push(FieldError::invalid(
                        &ep,
                        sel.clone(),
                        "unsupported scope applied to resource",
                    ));
                }
            }
            let op = s(req, &["operator"]);
            if [
                "BestEffort",
                "NotBestEffort",
                "Terminating",
                "NotTerminating",
                "CrossNamespacePodAffinity",
            ]
            .contains(&scope)
                && op != "Exists"
            {
                errs.push(FieldError::invalid(
                    &ep.child("operator"),
                    op,
                    "must be 'Exists' when scope is any of ResourceQuotaScopeTerminating, ResourceQuotaScopeNotTerminating, ResourceQuotaScopeBestEffort, ResourceQuotaScopeNotBestEffort or ResourceQuotaScopeCrossNamespacePodAffinity",
                ));
            }
            let values = arr_at(req, &["values"]);
            match op {
                "In" | "NotIn" => {
                    if values.is_empty() {
                        errs.push(FieldError::required(
                            &ep.child("values"),
                            "must be at least one value when `operator` is 'In' or 'NotIn' for scope selector",
                        ));
                    }
                }
                "Exists" | "DoesNotExist" => {
                    if !values.is_empty() {
                        errs.push(FieldError::invalid(
                            &ep.child("values"),
                            Value::Array(values.to_vec()),
                            "must be no value when `operator` is 'Exist' or 'DoesNotExist' for scope selector",
                        ));
                    }
                }
                other => errs.push(FieldError::invalid(
                    &ep.child("operator"),
                    other,
                    "not a valid selector operator",
                )),
            }
            names.push(scope);
        }
        for pair in [
            ["BestEffort", "NotBestEffort"],
            ["Terminating", "NotTerminating"],
        ] {
            if pair.iter().all(|x| names.contains(x)) {
                errs.push(FieldError::invalid(
                    &ep,
                    scopes_value(scopes),
                    "conflicting scopes",
                ));
            }
        }
    }
    errs
}

fn validate_resource_quota_status(obj: &Value) -> Vec<FieldError> {
    let mut errs = Vec::new();
    for key in ["hard", "used"] {
        let base = Path::new("status").child(key);
        for (name, q) in resource_list(get(obj, &["status", key]), &base, &mut errs) {
            let p = base.key(&name);
            errs.extend(validate_quota_resource_name(&name, &p));
            errs.extend(validate_resource_quantity_value(&name, &q, &p));
        }
    }
    errs
}

pub(crate) fn validate_resource_quota_create(obj: &Value) -> Vec<FieldError> {
    let mut errs = validate_builtin_object_meta(obj, true, NameRule::Dns1123Subdomain);
    errs.extend(validate_resource_quota_spec(obj));
    errs.extend(validate_resource_quota_status(obj));
    errs
}

pub(crate) fn validate_resource_quota_update(new: &Value, old: &Value) -> Vec<FieldError> {
    let mut errs = validate_builtin_object_meta_update(new, old);
    errs.extend(validate_resource_quota_spec(new));
    let set = |obj: &Value| -> Vec<String> {
        let mut v: Vec<String> = arr_at(obj, &["spec", "scopes"])
            .iter()
            .map(|x| x.as_str().unwrap_or("").to_string())
            .collect();
        v.sort();
        v.dedup();
        v
    };
    if set(new) != set(old) {
        errs.push(FieldError::invalid(
            &Path::new("spec").child("scopes"),
            scopes_value(arr_at(new, &["spec", "scopes"])),
            "field is immutable",
        ));
    }
    errs
}

pub(crate) fn validate_limit_range_create(obj: &Value) -> Vec<FieldError> {
    let mut errs = validate_builtin_object_meta(obj, true, NameRule::Dns1123Subdomain);
    let lp = Path::new("spec").child("limits");
    let mut types: Vec<&str> = Vec::new();
    for (i, item) in arr_at(obj, &["spec", "limits"]).iter().enumerate() {
        let ip = lp.index(i);
        let ty = s(item, &["type"]);
        let type_errs: Vec<FieldError> = is_qualified_name(ty)
            .into_iter()
            .map(|m| FieldError::invalid(&ip.child("type"), ty, m))
            .collect();
        if type_errs.is_empty()
            && !ty.contains('/')
            && !["Pod", "Container", "PersistentVolumeClaim"].contains(&ty)
        {
            errs.push(FieldError::invalid(
                &ip.child("type"),
                ty,
                "must be a standard limit type or fully qualified",
            ));
        }
        errs.extend(type_errs);
        if types.contains(&ty) {
            errs.push(FieldError::duplicate(&ip.child("type"), ty));
        }
        types.push(ty);
        let name_check = |name: &str, p: &Path| -> Vec<FieldError> {
            if ty == "Pod" || ty == "Container" {
                validate_container_resource_name(name, p)
            } else {
                validate_resource_name(name, p)
            }
        };
        let mut lists: Vec<(&str, Vec<(String, super::quantity::Quantity)>)> = Vec::new();
        for key in [
            "max",
            "min",
            "default",
            "defaultRequest",
            "maxLimitRequestRatio",
        ] {
            if ty == "Pod" && (key == "default" || key == "defaultRequest") {
                if get(item, &[key])
                    .and_then(Value::as_object)
                    .is_some_and(|m| !m.is_empty())
                {
                    errs.push(FieldError::forbidden(
                        &ip.child(key),
                        "may not be specified when `type` is 'Pod'",
                    ));
                }
                continue;
            }
            let list = resource_list(get(item, &[key]), &ip.child(key), &mut errs);
            for (name, _) in &list {
                errs.extend(name_check(name, &ip.child(key).key(name)));
            }
            lists.push((key, list));
        }
        if ty == "PersistentVolumeClaim"
            && field(item, &["min", "storage"]).is_none()
            && field(item, &["max", "storage"]).is_none()
        {
            errs.push(FieldError::required(
                &ip.child("limits"),
                "either minimum or maximum storage value is required, but neither was provided",
            ));
        }
        let find = |key: &str, name: &str| {
            lists
                .iter()
                .find(|(k, _)| *k == key)
                .and_then(|(_, l)| l.iter().find(|(n, _)| n == name))
                .map(|(_, q)| *q)
        };
        let mut keys: Vec<String> = lists
            .iter()
            .flat_map(|(_, l)| l.iter().map(|(n, _)| n.clone()))
            .collect();
        keys.sort();
        keys.dedup();
        for k in keys {
            let (min, max, def, def_req, ratio) = (
                find("min", &k),
                find("max", &k),
                find("default", &k),
                find("defaultRequest", &k),
                find("maxLimitRequestRatio", &k),
            );
            if let (Some(mn), Some(mx)) = (min, max)
                && mn > mx
            {
                errs.push(FieldError::invalid(
                    &ip.child("min").key(&k),
                    mn.canonical(),
                    format!("min value {mn} is greater than max value {mx}"),
                ));
            }
            if let (Some(dr), Some(mn)) = (def_req, min)
                && mn > dr
            {
                errs.push(FieldError::invalid(
                    &ip.child("defaultRequest").key(&k),
                    dr.canonical(),
                    format!("min value {mn} is greater than default request value {dr}"),
                ));
            }
            if let (Some(dr), Some(mx)) = (def_req, max)
                && dr > mx
            {
                errs.push(FieldError::invalid(
                    &ip.child("defaultRequest").key(&k),
                    dr.canonical(),
                    format!("default request value {dr} is greater than max value {mx}"),
                ));
            }
            if let (Some(dr), Some(d)) = (def_req, def)
                && dr > d
            {
                errs.push(FieldError::invalid(
                    &ip.child("defaultRequest").key(&k),
                    dr.canonical(),
                    format!("default request value {dr} is greater than default limit value {d}"),
                ));
            }
            if let (Some(d), Some(mn)) = (def, min)
                && mn > d
            {
                errs.push(FieldError::invalid(
                    &ip.child("default").key(&k),
                    mn.canonical(),
                    format!("min value {mn} is greater than default value {d}"),
                ));
            }
            if let (Some(d), Some(mx)) = (def, max)
                && d > mx
            {
                errs.push(FieldError::invalid(
                    &ip.child("default").key(&k),
                    mx.canonical(),
                    format!("default value {d} is greater than max value {mx}"),
                ));
            }
            if let Some(r) = ratio {
                if r.nano_value() < 1_000_000_000 {
                    errs.push(FieldError::invalid(
                        &ip.child("maxLimitRequestRatio").key(&k),
                        r.canonical(),
                        format!("ratio {r} is less than 1"),
                    ));
                }
                if let (Some(mn), Some(mx)) = (min, max)
                    && mn.nano_value() > 0
                {
                    let limit = mx.as_f64() / mn.as_f64();
                    if r.as_f64() > limit {
                        errs.push(FieldError::invalid(
                            &ip.child("maxLimitRequestRatio").key(&k),
                            r.canonical(),
                            format!("ratio {r} is greater than max/min = {limit:.6}"),
                        ));
                    }
                }
            }
            if !is_overcommit_allowed(&k)
                && let (Some(d), Some(dr)) = (def, def_req)
                && d != dr
            {
                errs.push(FieldError::invalid(
                    &ip.child("defaultRequest").key(&k),
                    dr.canonical(),
                    format!("default value {d} must equal to defaultRequest value {dr} in {k}"),
                ));
            }
        }
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
    fn validation_config_map_keys_and_immutability() {
        let cm = json!({"metadata": {"name": "c", "namespace": "d"}, "data": {"bad key": "v", "dup": "x"}, "binaryData": {"dup": "eA=="}});
        assert_eq!(
            msgs(&validate_config_map_create(&cm)),
            vec![
                "data[bad key]: Invalid value: \"bad key\": a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')",
                "data[dup]: Invalid value: \"dup\": duplicate of key present in binaryData",
            ]
        );
        let old = json!({"metadata": {"name": "c", "namespace": "d", "resourceVersion": "1"}, "immutable": true, "data": {"a": "1"}});
        let mut new = old.clone();
        new["data"]["a"] = json!("2");
        new["immutable"] = json!(false);
        assert_eq!(
            msgs(&validate_config_map_update(&new, &old)),
            vec![
                "immutable: Forbidden: field is immutable when `immutable` is set",
                "data: Forbidden: field is immutable when `immutable` is set",
            ]
        );
        let big = json!({"metadata": {"name": "c", "namespace": "d"}, "data": {"a": "x".repeat(MAX_DATA_SIZE + 1)}});
        assert_eq!(
            msgs(&validate_config_map_create(&big)),
            vec![": Too long: may not be more than 1048576 bytes"]
        );
    }

    #[test]
    fn validation_secret_types() {
        let tls = json!({"metadata": {"name": "t", "namespace": "d"}, "type": "kubernetes.io/tls", "data": {"tls.crt": "YQ=="}});
        assert_eq!(
            msgs(&validate_secret_create(&tls)),
            vec!["data[tls.key]: Required value"]
        );
        let dcj = json!({"metadata": {"name": "r", "namespace": "d"}, "type": "kubernetes.io/dockerconfigjson", "data": {}});
        assert_eq!(
            msgs(&validate_secret_create(&dcj)),
            vec!["data[.dockerconfigjson]: Required value"]
        );
        let bad = json!({"metadata": {"name": "r", "namespace": "d"}, "type": "kubernetes.io/dockerconfigjson", "data": {".dockerconfigjson": "W10="}});
        assert_eq!(
            msgs(&validate_secret_create(&bad)),
            vec![
                "data[.dockerconfigjson]: Invalid value: \"<secret contents redacted>\": json: cannot unmarshal array into Go value of type map[string]interface {}"
            ]
        );
        let old = json!({"metadata": {"name": "s", "namespace": "d", "resourceVersion": "1"}, "type": "Opaque"});
        let mut new = old.clone();
        new["type"] = json!("kubernetes.io/basic-auth");
        new["data"] = json!({"username": "YQ=="});
        assert_eq!(
            msgs(&validate_secret_update(&new, &old)),
            vec!["type: Invalid value: \"kubernetes.io/basic-auth\": field is immutable"]
        );
    }

    #[test]
    fn validation_namespace_and_quota() {
        let ns =
            json!({"metadata": {"name": "My.NS"}, "spec": {"finalizers": ["kubernetes", "foo"]}});
        let m = msgs(&validate_namespace_create(&ns));
        assert_eq!(m.len(), 2);
        assert!(m[0].starts_with(
            "metadata.name: Invalid value: \"My.NS\": a lowercase RFC 1123 label must consist of"
        ));
        assert_eq!(
            m[1],
            "spec.finalizers: Invalid value: \"foo\": name is neither a standard finalizer name nor is it fully qualified"
        );
        let rq = json!({"metadata": {"name": "q", "namespace": "d"}, "spec": {"hard": {"pods": "1.5", "cpu": "x", "foo": "1"}}});
        assert_eq!(
            msgs(&validate_resource_quota_create(&rq)),
            vec![
                "spec.hard[cpu]: Invalid value: \"x\": quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'",
                "spec.hard[foo]: Invalid value: \"foo\": must be a standard resource type or fully qualified",
                "spec.hard[foo]: Invalid value: \"foo\": must be a standard resource for quota",
                "spec.hard[pods]: Invalid value: \"1500m\": must be an integer",
            ]
        );
    }

    #[test]
    fn validation_limit_range() {
        let lr = json!({"metadata": {"name": "l", "namespace": "d"}, "spec": {"limits": [
            {"type": "Container", "min": {"cpu": "2"}, "max": {"cpu": "1"}},
            {"type": "Pod", "default": {"cpu": "1"}}]}});
        assert_eq!(
            msgs(&validate_limit_range_create(&lr)),
            vec![
                "spec.limits[0].min[cpu]: Invalid value: \"2\": min value 2 is greater than max value 1",
                "spec.limits[1].default: Forbidden: may not be specified when `type` is 'Pod'",
            ]
        );
    }
}
