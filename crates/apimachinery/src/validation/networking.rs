//! networking.k8s.io/v1: Ingress (rules, paths, path types, backends, TLS),
//! IngressClass and NetworkPolicy.

use serde_json::Value;

use super::NameRule;
use super::field::{FieldError, Path, go_repr};
use super::format::{
    is_dns1035_label, is_dns1123_label, is_dns1123_subdomain, is_domain_prefixed_path,
    is_path_segment_name, is_valid_cidr, is_valid_port_name, is_valid_port_num,
    is_wildcard_dns1123_subdomain, parse_cidr, parse_ip,
};
use super::json::{arr_at, field, get, i64_at, s, str_at};
use super::label_selector::validate_label_selector;
use super::meta::{validate_builtin_object_meta, validate_builtin_object_meta_update};

const PATH_TYPES: &[&str] = &["Exact", "ImplementationSpecific", "Prefix"];

fn validate_backend(b: &Value, p: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let (resource, service) = (field(b, &["resource"]), field(b, &["service"]));
    match (resource, service) {
        (Some(_), Some(_)) => {
            return vec![FieldError::invalid(
                p,
                "",
                "cannot set both resource and service backends",
            )];
        }
        (Some(r), None) => {
            let rp = p.child("resource");
            if let Some(g) = str_at(r, &["apiGroup"]) {
                for m in is_dns1123_subdomain(g) {
                    errs.push(FieldError::invalid(&rp.child("apiGroup"), g, m));
                }
            }
            for key in ["kind", "name"] {
                let v = s(r, &[key]);
                if v.is_empty() {
                    errs.push(FieldError::required(&rp.child(key), ""));
                } else {
                    for m in is_path_segment_name(v) {
                        errs.push(FieldError::invalid(&rp.child(key), v, m));
                    }
                }
            }
        }
        (None, Some(svc)) => {
            let sp = p.child("service");
            let name = s(svc, &["name"]);
            if name.is_empty() {
                errs.push(FieldError::required(&sp.child("name"), ""));
            } else {
                for m in is_dns1035_label(name) {
                    errs.push(FieldError::invalid(&sp.child("name"), name, m));
                }
            }
            let port_name = s(svc, &["port", "name"]);
            let port_num = i64_at(svc, &["port", "number"]).unwrap_or(0);
            match (!port_name.is_empty(), port_num != 0) {
                (true, true) => errs.push(FieldError::invalid(
                    p,
                    "",
                    "cannot set both port name & port number",
                )),
                (true, false) => {
                    for m in is_valid_port_name(port_name) {
                        errs.push(FieldError::invalid(
                            &sp.child("port").child("name"),
                            port_name,
                            m,
                        ));
                    }
                }
                (false, true) => {
                    for m in is_valid_port_num(port_num) {
                        errs.push(FieldError::invalid(
                            &sp.child("port").child("number"),
                            port_num,
                            m,
                        ));
                    }
                }
                (false, false) => {
                    errs.push(FieldError::required(p, "port name or number is required"))
                }
            }
        }
        (None, None) => errs.push(FieldError::invalid(
            p,
            "",
            "resource or service backend is required",
        )),
    }
    errs
}

fn validate_http_path(path: &Value, p: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let Some(pt) = str_at(path, &["pathType"]) else {
        return vec![FieldError::required(
            &p.child("pathType"),
            "pathType must be specified",
        )];
    };
    let value = s(path, &["path"]);
    let pp = p.child("path");
    match pt {
        "Exact" | "Prefix" => {
            if !value.starts_with('/') {
                errs.push(FieldError::invalid(&pp, value, "must be an absolute path"));
            }
            if !value.is_empty() {
                for seq in ["//", "/./", "/../", "%2f", "%2F"] {
                    if value.contains(seq) {
                        errs.push(FieldError::invalid(
                            &pp,
                            value,
                            format!("must not contain '{seq}'"),
                        ));
                    }
                }
                for suffix in ["/..", "/."] {
                    if value.ends_with(suffix) {
                        errs.push(FieldError::invalid(
                            &pp,
                            value,
                            format!("cannot end with '{suffix}'"),
                        ));
                    }
                }
            }
        }
        "ImplementationSpecific" => {
            if !value.is_empty() && !value.starts_with('/') {
                errs.push(FieldError::invalid(&pp, value, "must be an absolute path"));
            }
        }
        other => errs.push(FieldError::not_supported(
            &p.child("pathType"),
            other,
            PATH_TYPES,
        )),
    }
    errs.extend(validate_backend(
        get(path, &["backend"]).unwrap_or(&Value::Null),
        &p.child("backend"),
    ));
    errs
}

fn validate_ingress_spec(spec: &Value, p: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let rules = arr_at(spec, &["rules"]);
    if rules.is_empty() && field(spec, &["defaultBackend"]).is_none() {
        let shown = if get(spec, &["rules"]).is_some_and(Value::is_array) {
            "[]networking.IngressRule{}"
        } else {
            "[]networking.IngressRule(nil)"
        };
        errs.push(FieldError::invalid(
            p,
            go_repr(shown),
            "either `defaultBackend` or `rules` must be specified",
        ));
    }
    if let Some(b) = field(spec, &["defaultBackend"]) {
        errs.extend(validate_backend(b, &p.child("defaultBackend")));
    }
    for (i, rule) in rules.iter().enumerate() {
        let rp = p.child("rules").index(i);
        let host = s(rule, &["host"]);
        if !host.is_empty() {
            if parse_ip(host).is_some() {
                errs.push(FieldError::invalid(
                    &rp.child("host"),
                    host,
                    "must be a DNS name, not an IP address",
                ));
            }
            let msgs = if host.contains('*') {
                is_wildcard_dns1123_subdomain(host)
            } else {
                is_dns1123_subdomain(host)
            };
            for m in msgs {
                errs.push(FieldError::invalid(&rp.child("host"), host, m));
            }
        }
        if let Some(http) = field(rule, &["http"]) {
            let hp = rp.child("http");
            let paths = arr_at(http, &["paths"]);
            if paths.is_empty() {
                errs.push(FieldError::required(&hp.child("paths"), ""));
            }
            for (j, path) in paths.iter().enumerate() {
                errs.extend(validate_http_path(path, &hp.child("paths").index(j)));
            }
        }
    }
    for (i, tls) in arr_at(spec, &["tls"]).iter().enumerate() {
        let tp = p.child("tls").index(i);
        for (j, host) in arr_at(tls, &["hosts"]).iter().enumerate() {
            let host = host.as_str().unwrap_or("");
            let msgs = if host.contains('*') {
                is_wildcard_dns1123_subdomain(host)
            } else {
                is_dns1123_subdomain(host)
            };
            for m in msgs {
                errs.push(FieldError::invalid(&tp.child("hosts").index(j), host, m));
            }
        }
        let secret = s(tls, &["secretName"]);
        if !secret.is_empty() {
            for m in is_dns1123_subdomain(secret) {
                errs.push(FieldError::invalid(&tp.child("secretName"), secret, m));
            }
        }
    }
    if let Some(class) = str_at(spec, &["ingressClassName"]) {
        for m in is_dns1123_subdomain(class) {
            errs.push(FieldError::invalid(&p.child("ingressClassName"), class, m));
        }
    }
    errs
}

fn validate_ingress(obj: &Value) -> Vec<FieldError> {
    let mut errs = validate_builtin_object_meta(obj, true, NameRule::Dns1123Subdomain);
    errs.extend(validate_ingress_spec(
        get(obj, &["spec"]).unwrap_or(&Value::Null),
        &Path::new("spec"),
    ));
    errs
}

pub(crate) fn validate_ingress_create(obj: &Value) -> Vec<FieldError> {
    let mut errs = validate_ingress(obj);
    let annotation = str_at(
        obj,
        &["metadata", "annotations", "kubernetes.io/ingress.class"],
    );
    if let (Some(a), Some(c)) = (annotation, str_at(obj, &["spec", "ingressClassName"]))
        && a != c
    {
        errs.push(FieldError::invalid(
            &Path::new("annotations").child("kubernetes.io/ingress.class"),
            a,
            "must match `ingressClassName` when both are specified",
        ));
    }
    errs
}

pub(crate) fn validate_ingress_update(new: &Value, old: &Value) -> Vec<FieldError> {
    let mut errs = validate_builtin_object_meta_update(new, old);
    errs.extend(validate_ingress(new));
    errs
}

pub(crate) fn validate_ingress_class_create(obj: &Value) -> Vec<FieldError> {
    let mut errs = validate_builtin_object_meta(obj, false, NameRule::Dns1123Subdomain);
    let sp = Path::new("spec");
    let controller = s(obj, &["spec", "controller"]);
    if controller.is_empty() {
        errs.push(FieldError::required(&sp.child("controller"), ""));
    } else {
        if controller.len() > 250 {
            errs.push(FieldError::too_long(&sp.child("controller"), 250));
        }
        errs.extend(is_domain_prefixed_path(&sp.child("controller"), controller));
    }
    if let Some(params) = field(obj, &["spec", "parameters"]) {
        let pp = sp.child("parameters");
        if let Some(g) = str_at(params, &["apiGroup"]) {
            for m in is_dns1123_subdomain(g) {
                errs.push(FieldError::invalid(&pp.child("apiGroup"), g, m));
            }
        }
        for key in ["kind", "name"] {
            let v = s(params, &[key]);
            if v.is_empty() {
                errs.push(FieldError::required(&pp.child(key), ""));
            } else {
                for m in is_path_segment_name(v) {
                    errs.push(FieldError::invalid(&pp.child(key), v, m));
                }
            }
        }
        match str_at(params, &["scope"]) {
            None => errs.push(FieldError::required(&pp.child("scope"), "")),
            Some("Namespace") => match str_at(params, &["namespace"]) {
                None => errs.push(FieldError::required(
                    &pp.child("namespace"),
                    "`parameters.scope` is set to 'Namespace'",
                )),
                Some(ns) => {
                    for m in is_dns1123_label(ns) {
                        errs.push(FieldError::invalid(&pp.child("namespace"), ns, m));
                    }
                }
            },
            Some("Cluster") => {
                if field(params, &["namespace"]).is_some() {
                    errs.push(FieldError::forbidden(
                        &pp.child("namespace"),
                        "`parameters.scope` is set to 'Cluster'",
                    ));
                }
            }
            Some(other) => errs.push(FieldError::not_supported(
                &pp.child("scope"),
                other,
                &["Cluster", "Namespace"],
            )),
        }
    }
    errs
}

pub(crate) fn validate_ingress_class_update(new: &Value, old: &Value) -> Vec<FieldError> {
    let mut errs = validate_builtin_object_meta_update(new, old);
    let nc = s(new, &["spec", "controller"]);
    if nc != s(old, &["spec", "controller"]) {
        errs.push(FieldError::invalid(
            &Path::new("spec").child("controller"),
            nc,
            "field is immutable",
        ));
    }
    errs.extend(validate_ingress_class_create(new));
    errs
}

fn validate_peer(peer: &Value, p: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let mut count = 0;
    for key in ["podSelector", "namespaceSelector"] {
        if let Some(sel) = field(peer, &[key]) {
            count += 1;
            errs.extend(validate_label_selector(Some(sel), &p.child(key)));
        }
    }
    if let Some(block) = field(peer, &["ipBlock"]) {
        count += 1;
        let bp = p.child("ipBlock");
        let cidr = s(block, &["cidr"]);
        if cidr.is_empty() {
            errs.push(FieldError::required(&bp.child("cidr"), ""));
        } else {
            errs.extend(is_valid_cidr(&bp.child("cidr"), cidr));
            if let Some((net, len)) = parse_cidr(cidr) {
                for (i, ex) in arr_at(block, &["except"]).iter().enumerate() {
                    let ex = ex.as_str().unwrap_or("");
                    let ep = bp.child("except").index(i);
                    let e = is_valid_cidr(&ep, ex);
                    if !e.is_empty() {
                        errs.extend(e);
                        continue;
                    }
                    if let Some((eip, elen)) = parse_cidr(ex)
                        && (!cidr_contains(net, len, eip) || len >= elen)
                    {
                        errs.push(FieldError::invalid(
                            &ep,
                            ex,
                            "must be a strict subset of `cidr`",
                        ));
                    }
                }
            }
        }
    }
    if count == 0 {
        errs.push(FieldError::required(p, "must specify a peer"));
    } else if count > 1 && field(peer, &["ipBlock"]).is_some() {
        errs.push(FieldError::forbidden(
            p,
            "may not specify both ipBlock and another peer",
        ));
    }
    errs
}

fn cidr_contains(net: std::net::IpAddr, len: u8, ip: std::net::IpAddr) -> bool {
    match (net, ip) {
        (std::net::IpAddr::V4(n), std::net::IpAddr::V4(i)) => {
            let mask = if len == 0 {
                0
            } else {
                u32::MAX << (32 - len as u32)
            };
            (u32::from(n) & mask) == (u32::from(i) & mask)
        }
        (std::net::IpAddr::V6(n), std::net::IpAddr::V6(i)) => {
            let mask = if len == 0 {
                0
            } else {
                u128::MAX << (128 - len as u32)
            };
            (u128::from(n) & mask) == (u128::from(i) & mask)
        }
        _ => false,
    }
}

fn validate_np_port(port: &Value, p: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if let Some(proto) = str_at(port, &["protocol"])
        && !["TCP", "UDP", "SCTP"].contains(&proto)
    {
        errs.push(FieldError::not_supported(
            &p.child("protocol"),
            proto,
            &["TCP", "UDP", "SCTP"],
        ));
    }
    let end = i64_at(port, &["endPort"]);
    match field(port, &["port"]) {
        Some(Value::String(name)) => {
            if let Some(e) = end {
                errs.push(FieldError::invalid(
                    &p.child("endPort"),
                    e,
                    "may not be specified when `port` is non-numeric",
                ));
            }
            for m in is_valid_port_name(name) {
                errs.push(FieldError::invalid(&p.child("port"), name.as_str(), m));
            }
        }
        Some(n) => {
            let n = super::json::as_i64(n).unwrap_or(0);
            for m in is_valid_port_num(n) {
                errs.push(FieldError::invalid(&p.child("port"), n, m));
            }
            if let Some(e) = end {
                if e < n {
                    errs.push(FieldError::invalid(
                        &p.child("endPort"),
                        e,
                        "must be greater than or equal to `port`",
                    ));
                }
                for m in is_valid_port_num(e) {
                    errs.push(FieldError::invalid(&p.child("endPort"), e, m));
                }
            }
        }
        None => {
            if let Some(e) = end {
                errs.push(FieldError::invalid(
                    &p.child("endPort"),
                    e,
                    "may not be specified when `port` is not specified",
                ));
            }
        }
    }
    errs
}

fn validate_network_policy_spec(spec: &Value, p: &Path) -> Vec<FieldError> {
    let mut errs = validate_label_selector(get(spec, &["podSelector"]), &p.child("podSelector"));
    for (dir, peers) in [("ingress", "from"), ("egress", "to")] {
        for (i, rule) in arr_at(spec, &[dir]).iter().enumerate() {
            let rp = p.child(dir).index(i);
            for (j, port) in arr_at(rule, &["ports"]).iter().enumerate() {
                errs.extend(validate_np_port(port, &rp.child("ports").index(j)));
            }
            for (j, peer) in arr_at(rule, &[peers]).iter().enumerate() {
                errs.extend(validate_peer(peer, &rp.child(peers).index(j)));
            }
        }
    }
    let types = arr_at(spec, &["policyTypes"]);
    if types.len() > 2 {
        errs.push(FieldError::invalid(
            &p.child("policyTypes"),
            Value::Array(types.to_vec()),
            "may not specify more than two policyTypes",
        ));
        return errs;
    }
    for (i, t) in types.iter().enumerate() {
        let t = t.as_str().unwrap_or("");
        if t != "Ingress" && t != "Egress" {
            errs.push(FieldError::not_supported(
                &p.child("policyTypes").index(i),
                t,
                &["Ingress", "Egress"],
            ));
        }
    }
    errs
}

pub(crate) fn validate_network_policy_create(obj: &Value) -> Vec<FieldError> {
    let mut errs = validate_builtin_object_meta(obj, true, NameRule::Dns1123Subdomain);
    errs.extend(validate_network_policy_spec(
        get(obj, &["spec"]).unwrap_or(&Value::Null),
        &Path::new("spec"),
    ));
    errs
}

pub(crate) fn validate_network_policy_update(new: &Value, old: &Value) -> Vec<FieldError> {
    let mut errs = validate_builtin_object_meta_update(new, old);
    errs.extend(validate_network_policy_spec(
        get(new, &["spec"]).unwrap_or(&Value::Null),
        &Path::new("spec"),
    ));
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
    fn validation_ingress_paths_and_backends() {
        let ing = json!({"metadata": {"name": "web", "namespace": "default"}, "spec": {"rules": [
            {"host": "10.0.0.1", "http": {"paths": [
                {"path": "/", "backend": {"service": {"name": "web", "port": {"number": 80}}}},
                {"path": "api", "pathType": "Prefix", "backend": {"service": {"name": "web"}}},
                {"path": "/x", "pathType": "Regex", "backend": {"service": {"name": "Web", "port": {"name": "http"}}}}]}}]}});
        assert_eq!(
            msgs(&validate_ingress_create(&ing)),
            vec![
                "spec.rules[0].host: Invalid value: \"10.0.0.1\": must be a DNS name, not an IP address",
                "spec.rules[0].http.paths[0].pathType: Required value: pathType must be specified",
                "spec.rules[0].http.paths[1].path: Invalid value: \"api\": must be an absolute path",
                "spec.rules[0].http.paths[1].backend: Required value: port name or number is required",
                "spec.rules[0].http.paths[2].pathType: Unsupported value: \"Regex\": supported values: \"Exact\", \"ImplementationSpecific\", \"Prefix\"",
                "spec.rules[0].http.paths[2].backend.service.name: Invalid value: \"Web\": a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')",
            ]
        );
        let empty = json!({"metadata": {"name": "web", "namespace": "default"}, "spec": {}});
        assert_eq!(
            msgs(&validate_ingress_create(&empty)),
            vec![
                "spec: Invalid value: []networking.IngressRule(nil): either `defaultBackend` or `rules` must be specified"
            ]
        );
    }

    #[test]
    fn validation_network_policy_peers() {
        let np = json!({"metadata": {"name": "deny", "namespace": "default"}, "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Sideways"],
            "ingress": [{"from": [{}, {"ipBlock": {"cidr": "10.0.0.0/8", "except": ["11.0.0.0/16"]}, "podSelector": {}}],
                         "ports": [{"port": "http", "endPort": 90}]}]}});
        assert_eq!(
            msgs(&validate_network_policy_create(&np)),
            vec![
                "spec.ingress[0].ports[0].endPort: Invalid value: 90: may not be specified when `port` is non-numeric",
                "spec.ingress[0].from[0]: Required value: must specify a peer",
                "spec.ingress[0].from[1].ipBlock.except[0]: Invalid value: \"11.0.0.0/16\": must be a strict subset of `cidr`",
                "spec.ingress[0].from[1]: Forbidden: may not specify both ipBlock and another peer",
                "spec.policyTypes[1]: Unsupported value: \"Sideways\": supported values: \"Ingress\", \"Egress\"",
            ]
        );
    }
}
