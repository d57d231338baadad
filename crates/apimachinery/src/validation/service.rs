//! Service validation: ports, types, cluster IPs and IP families, traffic
//! policies, session affinity, and what may change on update.

use serde_json::Value;

use super::NameRule;
use super::field::{FieldError, Path, go_quote, go_repr, go_string_slice_text};
use super::format::{
    is_dns1123_label, is_dns1123_subdomain, is_qualified_name, is_valid_cidr, is_valid_ip,
    is_valid_port_num, parse_ip, validate_non_special_ip,
};
use super::json::{arr_at, field, get, i64_at, s, str_at};
use super::meta::{
    validate_builtin_object_meta, validate_builtin_object_meta_update, validate_labels,
};
use super::pod::validate_port_num_or_name;

const TYPES: &[&str] = &["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"];
/// The node port range of a default API server (`--service-node-port-range`).
pub const NODE_PORT_RANGE: (i64, i64) = (30000, 32767);

/// `spec.clusterIPs`, or `[spec.clusterIP]` when only the singular field is
/// set (the REST layer normally syncs them before validation).
fn cluster_ips(spec: &Value) -> Vec<String> {
    let list: Vec<String> = arr_at(spec, &["clusterIPs"])
        .iter()
        .map(|v| v.as_str().unwrap_or("").to_string())
        .collect();
    if list.is_empty() {
        let ip = s(spec, &["clusterIP"]);
        if !ip.is_empty() {
            return vec![ip.to_string()];
        }
    }
    list
}

fn is_headless(spec: &Value) -> bool {
    let ips = cluster_ips(spec);
    ips.len() == 1 && ips[0] == "None"
}

fn externally_accessible(spec: &Value) -> bool {
    let t = s(spec, &["type"]);
    t == "LoadBalancer"
        || t == "NodePort"
        || (t == "ClusterIP" && !arr_at(spec, &["externalIPs"]).is_empty())
}

fn needs_health_check(spec: &Value) -> bool {
    s(spec, &["type"]) == "LoadBalancer" && s(spec, &["externalTrafficPolicy"]) == "Local"
}

fn ips_value(ips: &[String]) -> Value {
    let list: Vec<Value> = ips.iter().map(|s| Value::String(s.clone())).collect();
    go_repr(go_string_slice_text(Some(&Value::Array(list))))
}

fn validate_service_port(
    port: &Value,
    require_name: bool,
    names: &mut Vec<String>,
    p: &Path,
) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let name = s(port, &["name"]);
    if require_name && name.is_empty() {
        errs.push(FieldError::required(&p.child("name"), ""));
    } else if !name.is_empty() {
        for m in is_dns1123_label(name) {
            errs.push(FieldError::invalid(&p.child("name"), name, m));
        }
        if names.iter().any(|n| n == name) {
            errs.push(FieldError::duplicate(&p.child("name"), name));
        } else {
            names.push(name.to_string());
        }
    }
    let num = i64_at(port, &["port"]).unwrap_or(0);
    for m in is_valid_port_num(num) {
        errs.push(FieldError::invalid(&p.child("port"), num, m));
    }
    let proto = s(port, &["protocol"]);
    if proto.is_empty() {
        errs.push(FieldError::required(&p.child("protocol"), ""));
    } else if !["SCTP", "TCP", "UDP"].contains(&proto) {
        errs.push(FieldError::not_supported(
            &p.child("protocol"),
            proto,
            &["SCTP", "TCP", "UDP"],
        ));
    }
    errs.extend(validate_port_num_or_name(
        get(port, &["targetPort"]),
        &p.child("targetPort"),
    ));
    if let Some(ap) = str_at(port, &["appProtocol"]) {
        for m in is_qualified_name(ap) {
            errs.push(FieldError::invalid(&p.child("appProtocol"), ap, m));
        }
    }
    errs
}

fn validate_cluster_ips_related(spec: &Value, sp: &Path) -> Vec<FieldError> {
    if s(spec, &["type"]) == "ExternalName" {
        return Vec::new();
    }
    let mut errs = Vec::new();
    let ips = cluster_ips(spec);
    let ips_path = sp.child("clusterIPs");
    let families_path = sp.child("ipFamilies");
    let cluster_ip = s(spec, &["clusterIP"]);
    if !cluster_ip.is_empty() {
        if ips.is_empty() {
            errs.push(FieldError::required(&ips_path, ""));
        } else if ips[0] != cluster_ip {
            errs.push(FieldError::invalid(
                &ips_path,
                ips_value(&ips),
                "first value must match `clusterIP`",
            ));
        }
    } else if !ips.is_empty() {
        errs.push(FieldError::invalid(
            &ips_path,
            ips_value(&ips),
            "must be empty when `clusterIP` is not specified",
        ));
    }
    let families: Vec<&str> = arr_at(spec, &["ipFamilies"])
        .iter()
        .map(|v| v.as_str().unwrap_or(""))
        .collect();
    let mut seen: Vec<&str> = Vec::new();
    for (i, f) in families.iter().enumerate() {
        if *f != "IPv4" && *f != "IPv6" {
            errs.push(FieldError::not_supported(
                &families_path.index(i),
                *f,
                &["IPv4", "IPv6"],
            ));
        }
        if seen.contains(f) {
            errs.push(FieldError::duplicate(&families_path.index(i), *f));
        }
        seen.push(f);
    }
    if let Some(pol) = str_at(spec, &["ipFamilyPolicy"]) {
        const POLICIES: &[&str] = &["PreferDualStack", "RequireDualStack", "SingleStack"];
        if !POLICIES.contains(&pol) {
            errs.push(FieldError::not_supported(
                &sp.child("ipFamilyPolicy"),
                pol,
                POLICIES,
            ));
        }
    }
    let mut invalid_ips = false;
    for (i, ip) in ips.iter().enumerate() {
        if i == 0 && ip == "None" {
            if ips.len() > 1 {
                invalid_ips = true;
                errs.push(FieldError::invalid(
                    &ips_path,
                    ips_value(&ips),
                    "'None' must be the first and only value",
                ));
            }
            continue;
        }
        let e = is_valid_ip(&ips_path.index(i), ip);
        invalid_ips |= !e.is_empty();
        errs.extend(e);
    }
    if ips.len() > 2 {
        errs.push(FieldError::invalid(
            &ips_path,
            ips_value(&ips),
            "may only hold up to 2 values",
        ));
    }
    if invalid_ips {
        return errs;
    }
    if ips.len() > 1 {
        let v4 = ips
            .iter()
            .filter(|ip| parse_ip(ip).is_some_and(|a| a.is_ipv4()))
            .count();
        if v4 != 1 || ips.len() != 2 {
            errs.push(FieldError::invalid(
                &ips_path,
                ips_value(&ips),
                "may specify no more than one IP for each IP family",
            ));
        }
    }
    if !is_headless(spec) && !ips.is_empty() && !families.is_empty() {
        for (i, ip) in ips.iter().enumerate() {
            let Some(family) = families.get(i) else {
                break;
            };
            let is_v6 = parse_ip(ip).is_some_and(|a| a.is_ipv6());
            if *family == "IPv4" && is_v6 {
                errs.push(FieldError::invalid(
                    &ips_path.index(i),
                    ip.as_str(),
                    format!("expected an IPv4 value as indicated by `ipFamilies[{i}]`"),
                ));
            }
            if *family == "IPv6" && !is_v6 {
                errs.push(FieldError::invalid(
                    &ips_path.index(i),
                    ip.as_str(),
                    format!("expected an IPv6 value as indicated by `ipFamilies[{i}]`"),
                ));
            }
        }
    }
    errs
}

fn validate_service(obj: &Value) -> Vec<FieldError> {
    let mut errs = validate_builtin_object_meta(obj, true, NameRule::Dns1035Label);
    let mp = Path::new("metadata");
    let hints = str_at(
        obj,
        &[
            "metadata",
            "annotations",
            "service.kubernetes.io/topology-aware-hints",
        ],
    );
    let mode = str_at(
        obj,
        &[
            "metadata",
            "annotations",
            "service.kubernetes.io/topology-mode",
        ],
    );
    if let (Some(h), Some(m)) = (hints, mode)
        && h != m
    {
        errs.push(FieldError::invalid(
                &mp.child("annotations").key("service.kubernetes.io/topology-mode"),
                m,
                "must match annotations[service.kubernetes.io/topology-aware-hints] when both are specified",
            ));
    }
    let spec = get(obj, &["spec"]).unwrap_or(&Value::Null);
    let sp = Path::new("spec");
    let ty = s(spec, &["type"]);
    let ports = arr_at(spec, &["ports"]);
    let headless = is_headless(spec);
    if ports.is_empty() && !headless && ty != "ExternalName" {
        errs.push(FieldError::required(&sp.child("ports"), ""));
    }
    match ty {
        "LoadBalancer" | "NodePort" if headless => errs.push(FieldError::invalid(
            &sp.child("clusterIPs").index(0),
            "None",
            format!("may not be set to 'None' for {ty} services"),
        )),
        "ExternalName" => {
            if !cluster_ips(spec).is_empty() {
                errs.push(FieldError::forbidden(
                    &sp.child("clusterIPs"),
                    "may not be set for ExternalName services",
                ));
            }
            if !arr_at(spec, &["ipFamilies"]).is_empty() {
                errs.push(FieldError::forbidden(
                    &sp.child("ipFamilies"),
                    "may not be set for ExternalName services",
                ));
            }
            if field(spec, &["ipFamilyPolicy"]).is_some() {
                errs.push(FieldError::forbidden(
                    &sp.child("ipFamilyPolicy"),
                    "may not be set for ExternalName services",
                ));
            }
            let cname = s(spec, &["externalName"]);
            let cname = cname.strip_suffix('.').unwrap_or(cname);
            if cname.is_empty() {
                errs.push(FieldError::required(&sp.child("externalName"), ""));
            } else {
                for m in is_dns1123_subdomain(cname) {
                    errs.push(FieldError::invalid(&sp.child("externalName"), cname, m));
                }
            }
        }
        _ => {}
    }
    let mut names = Vec::new();
    for (i, port) in ports.iter().enumerate() {
        errs.extend(validate_service_port(
            port,
            ports.len() > 1,
            &mut names,
            &sp.child("ports").index(i),
        ));
    }
    if field(spec, &["selector"]).is_some() {
        errs.extend(validate_labels(
            get(spec, &["selector"]),
            &sp.child("selector"),
        ));
    }
    let affinity = s(spec, &["sessionAffinity"]);
    if affinity.is_empty() {
        errs.push(FieldError::required(&sp.child("sessionAffinity"), ""));
    } else if affinity != "ClientIP" && affinity != "None" {
        errs.push(FieldError::not_supported(
            &sp.child("sessionAffinity"),
            affinity,
            &["ClientIP", "None"],
        ));
    }
    let cfg_path = sp.child("sessionAffinityConfig");
    if affinity == "ClientIP" {
        match field(spec, &["sessionAffinityConfig"]) {
            None => errs.push(FieldError::required(
                &cfg_path,
                "when session affinity type is ClientIP",
            )),
            Some(cfg) => match field(cfg, &["clientIP"]) {
                None => errs.push(FieldError::required(
                    &cfg_path.child("clientIP"),
                    "when session affinity type is ClientIP",
                )),
                Some(c) => match i64_at(c, &["timeoutSeconds"]) {
                    None => errs.push(FieldError::required(
                        &cfg_path.child("clientIP").child("timeoutSeconds"),
                        "when session affinity type is ClientIP",
                    )),
                    Some(t) if t <= 0 || t > 86400 => errs.push(FieldError::invalid(
                        &cfg_path.child("clientIP").child("timeoutSeconds"),
                        t,
                        "must be greater than 0 and less than 86400",
                    )),
                    Some(_) => {}
                },
            },
        }
    } else if affinity == "None" && field(spec, &["sessionAffinityConfig"]).is_some() {
        errs.push(FieldError::forbidden(
            &cfg_path,
            "must not be set when session affinity is None",
        ));
    }
    errs.extend(validate_cluster_ips_related(spec, &sp));
    for (i, ip) in arr_at(spec, &["externalIPs"]).iter().enumerate() {
        let ip = ip.as_str().unwrap_or("");
        let p = sp.child("externalIPs").index(i);
        let e = is_valid_ip(&p, ip);
        if e.is_empty() {
            errs.extend(validate_non_special_ip(ip, &p));
        } else {
            errs.extend(e);
        }
    }
    if ty.is_empty() {
        errs.push(FieldError::required(&sp.child("type"), ""));
    } else if !TYPES.contains(&ty) {
        errs.push(FieldError::not_supported(&sp.child("type"), ty, TYPES));
    }
    if ty == "ClusterIP" {
        for (i, port) in ports.iter().enumerate() {
            if i64_at(port, &["nodePort"]).unwrap_or(0) != 0 {
                errs.push(FieldError::forbidden(
                    &sp.child("ports").index(i).child("nodePort"),
                    "may not be used when `type` is 'ClusterIP'",
                ));
            }
        }
    }
    let mut node_ports: Vec<(&str, i64)> = Vec::new();
    for (i, port) in ports.iter().enumerate() {
        let np = i64_at(port, &["nodePort"]).unwrap_or(0);
        if np == 0 {
            continue;
        }
        let key = (s(port, &["protocol"]), np);
        if node_ports.contains(&key) {
            errs.push(FieldError::duplicate(
                &sp.child("ports").index(i).child("nodePort"),
                np,
            ));
        }
        node_ports.push(key);
    }
    let mut seen_ports: Vec<(&str, i64)> = Vec::new();
    for (i, port) in ports.iter().enumerate() {
        let key = (s(port, &["protocol"]), i64_at(port, &["port"]).unwrap_or(0));
        if seen_ports.contains(&key) {
            errs.push(FieldError::duplicate(
                &sp.child("ports").index(i),
                go_repr(format!(
                    "core.ServicePort{{Name:\"\", Protocol:{}, AppProtocol:(*string)(nil), Port:{}, TargetPort:intstr.IntOrString{{Type:0, IntVal:0, StrVal:\"\"}}, NodePort:0}}",
                    go_quote(key.0),
                    key.1
                )),
            ));
        }
        seen_ports.push(key);
    }
    let ranges = arr_at(spec, &["loadBalancerSourceRanges"]);
    if !ranges.is_empty() {
        let rp = sp.child("LoadBalancerSourceRanges");
        if ty != "LoadBalancer" {
            errs.push(FieldError::forbidden(
                &rp,
                "may only be used when `type` is 'LoadBalancer'",
            ));
        }
        for (i, r) in ranges.iter().enumerate() {
            errs.extend(is_valid_cidr(&rp.index(i), r.as_str().unwrap_or("").trim()));
        }
    } else if let Some(val) = str_at(
        obj,
        &[
            "metadata",
            "annotations",
            "service.beta.kubernetes.io/load-balancer-source-ranges",
        ],
    ) {
        let ap = mp
            .child("annotations")
            .key("service.beta.kubernetes.io/load-balancer-source-ranges");
        if ty != "LoadBalancer" {
            errs.push(FieldError::forbidden(
                &ap,
                "may only be used when `type` is 'LoadBalancer'",
            ));
        }
        let val = val.trim();
        if !val.is_empty() {
            for cidr in val.split(',') {
                errs.extend(is_valid_cidr(&ap, cidr.trim()));
            }
        }
    }
    if field(spec, &["allocateLoadBalancerNodePorts"]).is_some() && ty != "LoadBalancer" {
        errs.push(FieldError::forbidden(
            &sp.child("allocateLoadBalancerNodePorts"),
            "may only be used when `type` is 'LoadBalancer'",
        ));
    }
    if ty == "LoadBalancer" && field(spec, &["allocateLoadBalancerNodePorts"]).is_none() {
        // Kubernetes reports this one without the `spec.` prefix.
        errs.push(FieldError::required(
            &Path::new("allocateLoadBalancerNodePorts"),
            "",
        ));
    }
    if let Some(class) = str_at(spec, &["loadBalancerClass"]) {
        if ty == "LoadBalancer" {
            for m in is_qualified_name(class) {
                errs.push(FieldError::invalid(
                    &sp.child("loadBalancerClass"),
                    class,
                    m,
                ));
            }
        } else {
            errs.push(FieldError::forbidden(
                &sp.child("loadBalancerClass"),
                "may only be used when `type` is 'LoadBalancer'",
            ));
        }
    }
    let etp = s(spec, &["externalTrafficPolicy"]);
    if !externally_accessible(spec) {
        if !etp.is_empty() {
            errs.push(FieldError::invalid(
                &sp.child("externalTrafficPolicy"),
                etp,
                "may only be set for externally-accessible services",
            ));
        }
    } else if etp.is_empty() {
        errs.push(FieldError::required(&sp.child("externalTrafficPolicy"), ""));
    } else if etp != "Cluster" && etp != "Local" {
        errs.push(FieldError::not_supported(
            &sp.child("externalTrafficPolicy"),
            etp,
            &["Cluster", "Local"],
        ));
    }
    let hc = i64_at(spec, &["healthCheckNodePort"]).unwrap_or(0);
    if !needs_health_check(spec) {
        if hc != 0 {
            errs.push(FieldError::invalid(
                &sp.child("healthCheckNodePort"),
                hc,
                "may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` is 'Local'",
            ));
        }
    } else if hc != 0 {
        // The REST layer allocates a missing health check port, so only a given one is checked.
        for m in is_valid_port_num(hc) {
            errs.push(FieldError::invalid(&sp.child("healthCheckNodePort"), hc, m));
        }
    }
    match str_at(spec, &["internalTrafficPolicy"]) {
        None if ["NodePort", "LoadBalancer", "ClusterIP"].contains(&ty) => {
            errs.push(FieldError::required(&sp.child("internalTrafficPolicy"), ""))
        }
        Some(itp) if itp != "Cluster" && itp != "Local" => errs.push(FieldError::not_supported(
            &sp.child("internalTrafficPolicy"),
            itp,
            &["Cluster", "Local"],
        )),
        _ => {}
    }
    if let Some(td) = str_at(spec, &["trafficDistribution"])
        && td != "PreferClose"
    {
        errs.push(FieldError::not_supported(
            &sp.child("trafficDistribution"),
            td,
            &["PreferClose"],
        ));
    }
    if ty == "NodePort" || ty == "LoadBalancer" {
        for (i, port) in ports.iter().enumerate() {
            let np = i64_at(port, &["nodePort"]).unwrap_or(0);
            if np != 0 && !(NODE_PORT_RANGE.0..=NODE_PORT_RANGE.1).contains(&np) {
                errs.push(FieldError::invalid(
                    &sp.child("ports").index(i).child("nodePort"),
                    np,
                    format!(
                        "provided port is not in the valid range. The range of valid ports is {}-{}",
                        NODE_PORT_RANGE.0, NODE_PORT_RANGE.1
                    ),
                ));
            }
        }
    }
    errs
}

pub(crate) fn validate_service_create(obj: &Value) -> Vec<FieldError> {
    validate_service(obj)
}

pub(crate) fn validate_service_update(new: &Value, old: &Value) -> Vec<FieldError> {
    let mut errs = validate_builtin_object_meta_update(new, old);
    let ns = get(new, &["spec"]).unwrap_or(&Value::Null);
    let os = get(old, &["spec"]).unwrap_or(&Value::Null);
    let external_name = s(ns, &["type"]) == "ExternalName" || s(os, &["type"]) == "ExternalName";
    let ips_path = Path::new("spec").child("clusterIPs");
    if !external_name && (!is_headless(ns) || !is_headless(os)) {
        let (new_ips, old_ips) = (cluster_ips(ns), cluster_ips(os));
        if new_ips.len() == old_ips.len() {
            for (i, ip) in old_ips.iter().enumerate() {
                if *ip != new_ips[i] {
                    errs.push(FieldError::invalid(
                        &ips_path.index(i),
                        ips_value(&new_ips),
                        "may not change once set",
                    ));
                }
            }
        } else if old_ips.len() > new_ips.len() {
            if new_ips.is_empty() {
                errs.push(FieldError::invalid(
                    &ips_path.index(0),
                    ips_value(&new_ips),
                    "primary clusterIP can not be unset",
                ));
            }
            if !old_ips.is_empty() && !new_ips.is_empty() && new_ips[0] != old_ips[0] {
                errs.push(FieldError::invalid(
                    &ips_path.index(0),
                    ips_value(&new_ips),
                    "may not change once set",
                ));
            }
            if new_ips.len() == 1 && s(ns, &["ipFamilyPolicy"]) != "SingleStack" {
                errs.push(FieldError::invalid(
                    &Path::new("spec").child("ipFamilyPolicy"),
                    get(ns, &["ipFamilyPolicy"]).cloned().unwrap_or(Value::Null),
                    "must be set to 'SingleStack' when releasing the secondary clusterIP",
                ));
            }
        } else if !old_ips.is_empty() && new_ips[0] != old_ips[0] {
            errs.push(FieldError::invalid(
                &ips_path.index(0),
                ips_value(&new_ips),
                "may not change once set",
            ));
        }
    }
    if !external_name && is_headless(ns) == is_headless(os) && !is_headless(ns) {
        let fam = |spec: &Value| -> Vec<String> {
            arr_at(spec, &["ipFamilies"])
                .iter()
                .map(|v| v.as_str().unwrap_or("").to_string())
                .collect()
        };
        let (nf, of) = (fam(ns), fam(os));
        let fp = Path::new("spec").child("ipFamilies");
        if nf.len() == of.len() {
            if nf != of {
                errs.push(FieldError::invalid(
                    &fp.index(0),
                    ips_value(&nf),
                    "may not change once set",
                ));
            }
        } else if !nf.is_empty() && !of.is_empty() && nf[0] != of[0] {
            errs.push(FieldError::invalid(
                &fp.index(0),
                ips_value(&cluster_ips(ns)),
                "may not change once set",
            ));
        }
    }
    if s(ns, &["type"]) == "LoadBalancer"
        && s(os, &["type"]) == "LoadBalancer"
        && get(ns, &["loadBalancerClass"]) != get(os, &["loadBalancerClass"])
    {
        errs.push(FieldError::invalid(
            &Path::new("spec").child("loadBalancerClass"),
            get(ns, &["loadBalancerClass"])
                .cloned()
                .unwrap_or(Value::Null),
            "may not change once set",
        ));
    }
    if needs_health_check(ns)
        && needs_health_check(os)
        && i64_at(ns, &["healthCheckNodePort"]) != i64_at(os, &["healthCheckNodePort"])
    {
        errs.push(FieldError::forbidden(
            &Path::new("spec").child("healthCheckNodePort"),
            "field is immutable",
        ));
    }
    errs.extend(validate_service(new));
    errs
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn msgs(errs: &[FieldError]) -> Vec<String> {
        errs.iter().map(FieldError::message).collect()
    }

    fn svc(spec: Value) -> Value {
        json!({"metadata": {"name": "web", "namespace": "default"}, "spec": spec})
    }

    #[test]
    fn validation_service_valid_defaulted() {
        let s = svc(
            json!({"type": "ClusterIP", "sessionAffinity": "None", "internalTrafficPolicy": "Cluster",
            "ports": [{"port": 80, "protocol": "TCP", "targetPort": 8080}], "selector": {"app": "web"}}),
        );
        assert!(
            validate_service_create(&s).is_empty(),
            "{:?}",
            msgs(&validate_service_create(&s))
        );
    }

    #[test]
    fn validation_service_ports_and_names() {
        let s = json!({"metadata": {"name": "1web", "namespace": "default"}, "spec": {"type": "NodePort", "sessionAffinity": "None",
            "internalTrafficPolicy": "Cluster", "externalTrafficPolicy": "Cluster",
            "ports": [{"port": 80, "protocol": "TCP", "targetPort": 80, "nodePort": 80},
                      {"name": "b", "port": 0, "protocol": "ICMP", "targetPort": 80}]}});
        assert_eq!(
            msgs(&validate_service_create(&s)),
            vec![
                "metadata.name: Invalid value: \"1web\": a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')",
                "spec.ports[0].name: Required value",
                "spec.ports[1].port: Invalid value: 0: must be between 1 and 65535, inclusive",
                "spec.ports[1].protocol: Unsupported value: \"ICMP\": supported values: \"SCTP\", \"TCP\", \"UDP\"",
                "spec.ports[0].nodePort: Invalid value: 80: provided port is not in the valid range. The range of valid ports is 30000-32767",
            ]
        );
    }

    #[test]
    fn validation_service_type_and_cluster_ip_update() {
        let s = svc(
            json!({"type": "Bogus", "sessionAffinity": "None", "ports": [{"port": 80, "protocol": "TCP", "targetPort": 80}]}),
        );
        assert_eq!(
            msgs(&validate_service_create(&s)),
            vec![
                "spec.type: Unsupported value: \"Bogus\": supported values: \"ClusterIP\", \"ExternalName\", \"LoadBalancer\", \"NodePort\""
            ]
        );
        let old = json!({"metadata": {"name": "web", "namespace": "default", "resourceVersion": "1"},
            "spec": {"type": "ClusterIP", "sessionAffinity": "None", "internalTrafficPolicy": "Cluster", "clusterIP": "10.96.0.10",
            "clusterIPs": ["10.96.0.10"], "ports": [{"port": 80, "protocol": "TCP", "targetPort": 80}]}});
        let mut new = old.clone();
        new["spec"]["clusterIP"] = json!("10.96.0.11");
        new["spec"]["clusterIPs"] = json!(["10.96.0.11"]);
        assert_eq!(
            msgs(&validate_service_update(&new, &old)),
            vec![
                "spec.clusterIPs[0]: Invalid value: []string{\"10.96.0.11\"}: may not change once set"
            ]
        );
    }
}
