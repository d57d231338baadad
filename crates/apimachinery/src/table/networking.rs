//! Printers of `networking.k8s.io` (Ingress, IngressClass, NetworkPolicy,
//! ServiceCIDR, IPAddress) and `discovery.k8s.io` (EndpointSlice).

use jiff::Timestamp;
use serde_json::Value;

use super::core::load_balancer_ingress;
use super::describe::*;
use super::fields::{
    arr_at, at, format_label_selector, has, int_at, list_with_more, opt_str, str_at,
};
use super::{AGE, Col, NAME, Printer, Row, age, name};

pub(super) const PRINTERS: &[Printer] = &[
    Printer::new("networking.k8s.io", "Ingress", INGRESS, ingress),
    Printer::new(
        "networking.k8s.io",
        "IngressClass",
        INGRESS_CLASS,
        ingress_class,
    ),
    Printer::new(
        "networking.k8s.io",
        "NetworkPolicy",
        NETWORK_POLICY,
        network_policy,
    ),
    Printer::new(
        "networking.k8s.io",
        "ServiceCIDR",
        SERVICE_CIDR,
        service_cidr,
    ),
    Printer::new("networking.k8s.io", "IPAddress", IP_ADDRESS, ip_address),
    Printer::new(
        "discovery.k8s.io",
        "EndpointSlice",
        ENDPOINT_SLICE,
        endpoint_slice,
    ),
];

const INGRESS: &[Col] = &[
    NAME,
    Col::string(
        "Class",
        "The name of the IngressClass resource that should be used for additional configuration",
    ),
    Col::string(
        "Hosts",
        "Hosts that incoming requests are matched against before the ingress rule",
    ),
    Col::string(
        "Address",
        "Address is a list containing ingress points for the load-balancer",
    ),
    Col::string("Ports", "Ports of TLS configurations that open"),
    AGE,
];

/// Up to three rule hosts, "*" when no rule names one.
fn format_hosts(rules: &[Value]) -> String {
    const MAX: usize = 3;
    let mut list: Vec<&str> = Vec::new();
    let mut more = false;
    for rule in rules {
        if list.len() == MAX {
            more = true;
        }
        let host = str_at(rule, &["host"]);
        if !more && !host.is_empty() {
            list.push(host);
        }
    }
    if list.is_empty() {
        return "*".to_string();
    }
    let joined = list.join(",");
    if more {
        format!("{joined} + {} more...", rules.len() - MAX)
    } else {
        joined
    }
}

fn ingress(obj: &Value, now: Timestamp) -> Row {
    let ports = if arr_at(obj, &["spec", "tls"]).is_empty() {
        "80"
    } else {
        "80, 443"
    };
    Row::new(vec![
        name(obj),
        opt_str(obj, &["spec", "ingressClassName"])
            .unwrap_or("<none>")
            .into(),
        format_hosts(arr_at(obj, &["spec", "rules"])).into(),
        load_balancer_ingress(arr_at(obj, &["status", "loadBalancer", "ingress"])).into(),
        ports.into(),
        age(obj, now),
    ])
}

const INGRESS_CLASS: &[Col] = &[
    NAME,
    Col::string(
        "Controller",
        "Controller that is responsible for handling this class",
    ),
    Col::string(
        "Parameters",
        "A reference to a resource with additional parameters",
    ),
    AGE,
];

fn ingress_class(obj: &Value, now: Timestamp) -> Row {
    let parameters = if has(obj, &["spec", "parameters"]) {
        let kind = str_at(obj, &["spec", "parameters", "kind"]);
        let kind = match opt_str(obj, &["spec", "parameters", "apiGroup"]) {
            Some(group) => format!("{kind}.{group}"),
            None => kind.to_string(),
        };
        format!("{kind}/{}", str_at(obj, &["spec", "parameters", "name"]))
    } else {
        "<none>".to_string()
    };
    Row::new(vec![
        name(obj),
        str_at(obj, &["spec", "controller"]).into(),
        parameters.into(),
        age(obj, now),
    ])
}

const NETWORK_POLICY: &[Col] = &[
    NAME,
    Col::string("Pod-Selector", NETWORK_POLICY_SPEC_POD_SELECTOR),
    AGE,
];

fn network_policy(obj: &Value, now: Timestamp) -> Row {
    // The pod selector is a value, not a pointer: absent means empty.
    let empty = Value::Object(Default::default());
    let selector = at(obj, &["spec", "podSelector"]).unwrap_or(&empty);
    Row::new(vec![
        name(obj),
        format_label_selector(Some(selector)).into(),
        age(obj, now),
    ])
}

const SERVICE_CIDR: &[Col] = &[NAME, Col::string("CIDRs", SERVICE_CIDR_SPEC_CIDRS), AGE];

fn service_cidr(obj: &Value, now: Timestamp) -> Row {
    let cidrs: Vec<&str> = arr_at(obj, &["spec", "cidrs"])
        .iter()
        .filter_map(Value::as_str)
        .collect();
    Row::new(vec![name(obj), cidrs.join(",").into(), age(obj, now)])
}

// Kubernetes declares two columns but prints three cells (the age has no
// column); kept as is so tables match.
const IP_ADDRESS: &[Col] = &[NAME, Col::string("ParentRef", IP_ADDRESS_SPEC_PARENT_REF)];

fn ip_address(obj: &Value, now: Timestamp) -> Row {
    let parent = if has(obj, &["spec", "parentRef"]) {
        let group = str_at(obj, &["spec", "parentRef", "group"]);
        let resource = str_at(obj, &["spec", "parentRef", "resource"]);
        let mut s = if group.is_empty() {
            resource.to_string()
        } else {
            format!("{resource}.{group}")
        }
        .to_lowercase();
        let ns = str_at(obj, &["spec", "parentRef", "namespace"]);
        if !ns.is_empty() {
            s = format!("{s}/{ns}");
        }
        format!("{s}/{}", str_at(obj, &["spec", "parentRef", "name"]))
    } else {
        "<none>".to_string()
    };
    Row::new(vec![name(obj), parent.into(), age(obj, now)])
}

const ENDPOINT_SLICE: &[Col] = &[
    NAME,
    Col::string("AddressType", ENDPOINT_SLICE_ADDRESS_TYPE),
    Col::string("Ports", ENDPOINT_SLICE_PORTS),
    Col::string("Endpoints", ENDPOINT_SLICE_ENDPOINTS),
    AGE,
];

fn endpoint_slice(obj: &Value, now: Timestamp) -> Row {
    let ports: Vec<String> = arr_at(obj, &["ports"])
        .iter()
        .map(|p| {
            if has(p, &["port"]) {
                int_at(p, &["port"]).to_string()
            } else {
                opt_str(p, &["name"]).unwrap_or("*").to_string()
            }
        })
        .collect();
    let addresses: Vec<String> = arr_at(obj, &["endpoints"])
        .iter()
        .flat_map(|e| {
            arr_at(e, &["addresses"])
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
        })
        .collect();
    Row::new(vec![
        name(obj),
        str_at(obj, &["addressType"]).into(),
        list_with_more(&ports).into(),
        list_with_more(&addresses).into(),
        age(obj, now),
    ])
}

#[cfg(test)]
mod tests {
    use super::super::tests::now;
    use super::*;
    use serde_json::json;

    fn meta(name: &str) -> Value {
        json!({"name": name, "creationTimestamp": "2024-06-01T11:00:00Z"})
    }

    #[test]
    fn table_networking_ingress() {
        let ing = json!({"metadata": meta("web"),
            "spec": {"ingressClassName": "nginx", "tls": [{"hosts": ["a.example.com"]}],
                     "rules": [{"host": "a.example.com"}, {"host": "b.example.com"}, {}, {"host": "c.example.com"},
                               {"host": "d.example.com"}]},
            "status": {"loadBalancer": {"ingress": [{"ip": "10.0.0.9"}, {"ip": "10.0.0.8"}]}}});
        assert_eq!(
            ingress(&ing, now()).cells,
            vec![
                json!("web"),
                json!("nginx"),
                json!("a.example.com,b.example.com,c.example.com + 2 more..."),
                json!("10.0.0.8,10.0.0.9"),
                json!("80, 443"),
                json!("60m")
            ]
        );
        let bare = json!({"metadata": meta("b"), "spec": {"rules": [{}]}});
        assert_eq!(
            ingress(&bare, now()).cells[1..5],
            [json!("<none>"), json!("*"), json!(""), json!("80")]
        );
    }

    #[test]
    fn table_networking_class_policy_slice() {
        let ic = json!({"metadata": meta("nginx"), "spec": {"controller": "k8s.io/ingress-nginx",
            "parameters": {"apiGroup": "k8s.example.com", "kind": "IngressParameters", "name": "external-lb"}}});
        assert_eq!(
            ingress_class(&ic, now()).cells,
            vec![
                json!("nginx"),
                json!("k8s.io/ingress-nginx"),
                json!("IngressParameters.k8s.example.com/external-lb"),
                json!("60m")
            ]
        );
        let np = json!({"metadata": meta("deny"), "spec": {"podSelector": {}}});
        assert_eq!(
            network_policy(&np, now()).cells,
            vec![json!("deny"), json!("<none>"), json!("60m")]
        );
        let np2 = json!({"metadata": meta("allow"), "spec": {"podSelector": {"matchLabels": {"role": "db"}}}});
        assert_eq!(network_policy(&np2, now()).cells[1], json!("role=db"));

        let es = json!({"metadata": meta("web-abc"), "addressType": "IPv4",
            "ports": [{"name": "http", "port": 80}, {"name": "metrics"}, {}],
            "endpoints": [{"addresses": ["10.0.0.1"]}, {"addresses": ["10.0.0.2"]}, {"addresses": ["10.0.0.3"]},
                          {"addresses": ["10.0.0.4"]}]});
        assert_eq!(
            endpoint_slice(&es, now()).cells,
            vec![
                json!("web-abc"),
                json!("IPv4"),
                json!("80,metrics,*"),
                json!("10.0.0.1,10.0.0.2,10.0.0.3 + 1 more..."),
                json!("60m")
            ]
        );
        let empty = json!({"metadata": meta("e"), "addressType": "IPv6"});
        assert_eq!(
            endpoint_slice(&empty, now()).cells[2..4],
            [json!("<unset>"), json!("<unset>")]
        );
    }

    #[test]
    fn table_networking_cidr_and_ip_address() {
        let sc = json!({"metadata": meta("kubernetes"), "spec": {"cidrs": ["10.96.0.0/12", "fd00::/108"]}});
        assert_eq!(
            service_cidr(&sc, now()).cells[1],
            json!("10.96.0.0/12,fd00::/108")
        );
        let ip = json!({"metadata": meta("10.96.0.1"), "spec": {"parentRef": {"group": "", "resource": "services",
            "namespace": "default", "name": "kubernetes"}}});
        assert_eq!(
            ip_address(&ip, now()).cells,
            vec![
                json!("10.96.0.1"),
                json!("services/default/kubernetes"),
                json!("60m")
            ]
        );
    }
}
