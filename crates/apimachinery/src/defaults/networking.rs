//! networking.k8s.io/v1 defaults: NetworkPolicy policy types and port
//! protocols, IngressClass parameter scope.

use serde_json::{Value, json};

use crate::validation::json::{items_mut, member_mut, obj_mut, set_if_absent};

pub(crate) fn default_network_policy(np: &mut Value) {
    let spec = obj_mut(np, "spec");
    // LabelSelector is a struct here, so Go always writes `podSelector: {}`.
    obj_mut(spec, "podSelector");
    for dir in ["ingress", "egress"] {
        for rule in items_mut(spec, dir) {
            for port in items_mut(rule, "ports") {
                set_if_absent(port, "protocol", Value::from("TCP"));
            }
        }
    }
    let empty_types = spec
        .get("policyTypes")
        .and_then(Value::as_array)
        .is_none_or(|t| t.is_empty());
    if empty_types {
        let has_egress = spec
            .get("egress")
            .and_then(Value::as_array)
            .is_some_and(|e| !e.is_empty());
        let types = if has_egress {
            json!(["Ingress", "Egress"])
        } else {
            json!(["Ingress"])
        };
        if let Some(m) = spec.as_object_mut() {
            m.insert("policyTypes".into(), types);
        }
    }
}

pub(crate) fn default_ingress_class(ic: &mut Value) {
    let spec = obj_mut(ic, "spec");
    if let Some(params) = member_mut(spec, "parameters") {
        set_if_absent(params, "scope", Value::from("Cluster"));
    }
}

pub(crate) fn default_ingress(ing: &mut Value) {
    obj_mut(ing, "spec");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_network_policy_types() {
        let mut np = json!({"spec": {"egress": [{"ports": [{"port": 53}]}]}});
        default_network_policy(&mut np);
        assert_eq!(
            np,
            json!({"spec": {"egress": [{"ports": [{"port": 53, "protocol": "TCP"}]}], "podSelector": {}, "policyTypes": ["Ingress", "Egress"]}})
        );
        let mut ic = json!({"spec": {"controller": "nubis.io/gateway", "parameters": {"kind": "Config", "name": "x"}}});
        default_ingress_class(&mut ic);
        assert_eq!(ic["spec"]["parameters"]["scope"], "Cluster");
    }
}
