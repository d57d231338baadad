//! discovery.k8s.io/v1 EndpointSlice validation.

use serde_json::Value;

use super::NameRule;
use super::field::{FieldError, Path};
use super::format::{
    is_dns1123_label, is_dns1123_subdomain, is_fully_qualified_domain_name, is_qualified_name,
    is_valid_ipv4, is_valid_ipv6, validate_non_special_ip,
};
use super::json::{arr_at, get, s, str_at};
use super::meta::{
    validate_builtin_object_meta, validate_builtin_object_meta_update, validate_labels,
};

const ADDRESS_TYPES: &[&str] = &["FQDN", "IPv4", "IPv6"];
const MAX_ENDPOINTS: usize = 1000;
const MAX_ADDRESSES: usize = 100;
const MAX_PORTS: usize = 20000;
const MAX_TOPOLOGY_LABELS: usize = 16;
const MAX_HINTS: usize = 8;

fn validate_slice(obj: &Value) -> Vec<FieldError> {
    let mut errs = validate_builtin_object_meta(obj, true, NameRule::Dns1123Subdomain);
    let address_type = s(obj, &["addressType"]);
    let ep = Path::new("endpoints");
    let endpoints = arr_at(obj, &["endpoints"]);
    if endpoints.len() > MAX_ENDPOINTS {
        errs.push(FieldError::too_many(&ep, endpoints.len(), MAX_ENDPOINTS));
    } else {
        for (i, e) in endpoints.iter().enumerate() {
            let ip = ep.index(i);
            let ap = ip.child("addresses");
            let addrs = arr_at(e, &["addresses"]);
            if addrs.is_empty() {
                errs.push(FieldError::required(&ap, "must contain at least 1 address"));
            } else if addrs.len() > MAX_ADDRESSES {
                errs.push(FieldError::too_many(&ap, addrs.len(), MAX_ADDRESSES));
            }
            for (j, a) in addrs.iter().enumerate() {
                let a = a.as_str().unwrap_or("");
                let p = ap.index(j);
                match address_type {
                    "IPv4" | "IPv6" => {
                        let e = if address_type == "IPv4" {
                            is_valid_ipv4(&p, a)
                        } else {
                            is_valid_ipv6(&p, a)
                        };
                        if e.is_empty() {
                            errs.extend(validate_non_special_ip(a, &p));
                        } else {
                            errs.extend(e);
                        }
                    }
                    "FQDN" => errs.extend(is_fully_qualified_domain_name(&p, a)),
                    _ => {}
                }
            }
            if let Some(node) = str_at(e, &["nodeName"]) {
                for m in is_dns1123_subdomain(node) {
                    errs.push(FieldError::invalid(&ip.child("nodeName"), node, m));
                }
            }
            let tp = ip.child("deprecatedTopology");
            if let Some(topology) = get(e, &["deprecatedTopology"]).and_then(Value::as_object)
                && topology.len() > MAX_TOPOLOGY_LABELS
            {
                errs.push(FieldError::too_many(
                    &tp,
                    topology.len(),
                    MAX_TOPOLOGY_LABELS,
                ));
            }
            errs.extend(validate_labels(get(e, &["deprecatedTopology"]), &tp));
            if let Some(h) = str_at(e, &["hostname"]) {
                for m in is_dns1123_label(h) {
                    errs.push(FieldError::invalid(&ip.child("hostname"), h, m));
                }
            }
            let zones = arr_at(e, &["hints", "forZones"]);
            let hp = ip.child("hints").child("forZones");
            if zones.len() > MAX_HINTS {
                errs.push(FieldError::too_many(&hp, zones.len(), MAX_HINTS));
            }
            for (j, z) in zones.iter().enumerate() {
                let name = s(z, &["name"]);
                if zones[..j].iter().any(|o| s(o, &["name"]) == name) {
                    errs.push(FieldError::duplicate(&hp.index(j), name));
                }
                for m in super::format::is_valid_label_value(name) {
                    errs.push(FieldError::invalid(&hp.index(j).child("name"), name, m));
                }
            }
        }
    }
    let pp = Path::new("ports");
    let ports = arr_at(obj, &["ports"]);
    if ports.len() > MAX_PORTS {
        errs.push(FieldError::too_many(&pp, ports.len(), MAX_PORTS));
        return errs;
    }
    let mut names: Vec<&str> = Vec::new();
    for (i, port) in ports.iter().enumerate() {
        let ip = pp.index(i);
        let name = s(port, &["name"]);
        if !name.is_empty() {
            for m in is_dns1123_label(name) {
                errs.push(FieldError::invalid(&ip.child("name"), name, m));
            }
        }
        if names.contains(&name) {
            errs.push(FieldError::duplicate(&ip.child("name"), name));
        } else {
            names.push(name);
        }
        match str_at(port, &["protocol"]) {
            None => errs.push(FieldError::required(&ip.child("protocol"), "")),
            Some(p) if !["SCTP", "TCP", "UDP"].contains(&p) => errs.push(
                FieldError::not_supported(&ip.child("protocol"), p, &["SCTP", "TCP", "UDP"]),
            ),
            _ => {}
        }
        if let Some(ap) = str_at(port, &["appProtocol"]) {
            for m in is_qualified_name(ap) {
                errs.push(FieldError::invalid(&ip.child("appProtocol"), ap, m));
            }
        }
    }
    errs
}

pub(crate) fn validate_endpoint_slice_create(obj: &Value) -> Vec<FieldError> {
    let mut errs = validate_slice(obj);
    let at = s(obj, &["addressType"]);
    if at.is_empty() {
        errs.push(FieldError::required(&Path::new("addressType"), ""));
    } else if !ADDRESS_TYPES.contains(&at) {
        errs.push(FieldError::not_supported(
            &Path::new("addressType"),
            at,
            ADDRESS_TYPES,
        ));
    }
    errs
}

pub(crate) fn validate_endpoint_slice_update(new: &Value, old: &Value) -> Vec<FieldError> {
    let mut errs = validate_builtin_object_meta_update(new, old);
    errs.extend(validate_slice(new));
    let at = s(new, &["addressType"]);
    if at != s(old, &["addressType"]) {
        errs.push(FieldError::invalid(
            &Path::new("addressType"),
            at,
            "field is immutable",
        ));
    }
    errs
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn validation_endpoint_slice_address_type() {
        let es = json!({"metadata": {"name": "web-abc", "namespace": "default"}, "addressType": "IPv5",
            "endpoints": [{"addresses": []}], "ports": [{"name": "http", "protocol": "TCP", "port": 80}]});
        let msgs: Vec<String> = validate_endpoint_slice_create(&es)
            .iter()
            .map(FieldError::message)
            .collect();
        assert_eq!(
            msgs,
            vec![
                "endpoints[0].addresses: Required value: must contain at least 1 address",
                "addressType: Unsupported value: \"IPv5\": supported values: \"FQDN\", \"IPv4\", \"IPv6\"",
            ]
        );
        let es = json!({"metadata": {"name": "web-abc", "namespace": "default"}, "addressType": "IPv4",
            "endpoints": [{"addresses": ["127.0.0.1", "10.0.0.300"]}]});
        let msgs: Vec<String> = validate_endpoint_slice_create(&es)
            .iter()
            .map(FieldError::message)
            .collect();
        assert_eq!(
            msgs,
            vec![
                "endpoints[0].addresses[0]: Invalid value: \"127.0.0.1\": may not be in the loopback range (127.0.0.0/8, ::1/128)",
                "endpoints[0].addresses[1]: Invalid value: \"10.0.0.300\": must be a valid IPv4 address",
            ]
        );
    }
}
