//! Printers of the cluster-administration groups: RBAC bindings,
//! certificates, coordination, scheduling, node, admission registration,
//! flow control, dynamic resource allocation and storage migration.

use std::cmp::Ordering;

use jiff::{SignedDuration, Timestamp};
use serde_json::Value;

use super::describe::*;
use super::duration::human_duration;
use super::fields::{arr_at, bool_at, has, int_at, list_with_more, opt_int, opt_str, str_at};
use super::{AGE, Col, NAME, Printer, Row, age, name};

pub(super) const PRINTERS: &[Printer] = &[
    Printer::new(
        "rbac.authorization.k8s.io",
        "RoleBinding",
        ROLE_BINDING,
        binding,
    ),
    Printer::new(
        "rbac.authorization.k8s.io",
        "ClusterRoleBinding",
        CLUSTER_ROLE_BINDING,
        binding,
    ),
    Printer::new(
        "certificates.k8s.io",
        "CertificateSigningRequest",
        CSR,
        certificate_signing_request,
    ),
    Printer::new(
        "certificates.k8s.io",
        "ClusterTrustBundle",
        CLUSTER_TRUST_BUNDLE,
        cluster_trust_bundle,
    ),
    Printer::new("coordination.k8s.io", "Lease", LEASE, lease),
    Printer::new(
        "coordination.k8s.io",
        "LeaseCandidate",
        LEASE_CANDIDATE,
        lease_candidate,
    ),
    Printer::new(
        "scheduling.k8s.io",
        "PriorityClass",
        PRIORITY_CLASS,
        priority_class,
    ),
    Printer::new("node.k8s.io", "RuntimeClass", RUNTIME_CLASS, runtime_class),
    Printer::new(
        "admissionregistration.k8s.io",
        "MutatingWebhookConfiguration",
        WEBHOOKS,
        webhook_configuration,
    ),
    Printer::new(
        "admissionregistration.k8s.io",
        "ValidatingWebhookConfiguration",
        WEBHOOKS,
        webhook_configuration,
    ),
    Printer::new(
        "admissionregistration.k8s.io",
        "ValidatingAdmissionPolicy",
        VALIDATING_POLICY,
        validating_policy,
    ),
    Printer::new(
        "admissionregistration.k8s.io",
        "ValidatingAdmissionPolicyBinding",
        POLICY_BINDING,
        policy_binding,
    ),
    Printer::new(
        "admissionregistration.k8s.io",
        "MutatingAdmissionPolicy",
        MUTATING_POLICY,
        mutating_policy,
    ),
    Printer::new(
        "admissionregistration.k8s.io",
        "MutatingAdmissionPolicyBinding",
        POLICY_BINDING,
        policy_binding,
    ),
    Printer::new(
        "flowcontrol.apiserver.k8s.io",
        "FlowSchema",
        FLOW_SCHEMA,
        flow_schema,
    ),
    Printer::new(
        "flowcontrol.apiserver.k8s.io",
        "PriorityLevelConfiguration",
        PRIORITY_LEVEL,
        priority_level,
    ),
    Printer::new(
        "internal.apiserver.k8s.io",
        "StorageVersion",
        STORAGE_VERSION,
        storage_version,
    ),
    Printer::new("resource.k8s.io", "DeviceClass", NAME_AGE, name_age),
    Printer::new(
        "resource.k8s.io",
        "ResourceClaim",
        RESOURCE_CLAIM,
        resource_claim,
    ),
    Printer::new(
        "resource.k8s.io",
        "ResourceClaimTemplate",
        NAME_AGE,
        name_age,
    ),
    Printer::new(
        "resource.k8s.io",
        "ResourceSlice",
        RESOURCE_SLICE,
        resource_slice,
    ),
    Printer::new(
        "storagemigration.k8s.io",
        "StorageVersionMigration",
        STORAGE_VERSION_MIGRATION,
        storage_version_migration,
    ),
];

const NAME_AGE: &[Col] = &[NAME, AGE];

fn name_age(obj: &Value, now: Timestamp) -> Row {
    Row::new(vec![name(obj), age(obj, now)])
}

const ROLE_BINDING: &[Col] = &[
    NAME,
    Col::string("Role", ROLE_BINDING_ROLE_REF),
    AGE,
    Col::string("Users", "Users in the roleBinding").wide(),
    Col::string("Groups", "Groups in the roleBinding").wide(),
    Col::string("ServiceAccounts", "ServiceAccounts in the roleBinding").wide(),
];

const CLUSTER_ROLE_BINDING: &[Col] = &[
    NAME,
    Col::string("Role", CLUSTER_ROLE_BINDING_ROLE_REF),
    AGE,
    Col::string("Users", "Users in the clusterRoleBinding").wide(),
    Col::string("Groups", "Groups in the clusterRoleBinding").wide(),
    Col::string(
        "ServiceAccounts",
        "ServiceAccounts in the clusterRoleBinding",
    )
    .wide(),
];

fn binding(obj: &Value, now: Timestamp) -> Row {
    let (mut users, mut groups, mut service_accounts) = (Vec::new(), Vec::new(), Vec::new());
    for s in arr_at(obj, &["subjects"]) {
        let subject_name = str_at(s, &["name"]);
        match str_at(s, &["kind"]) {
            "ServiceAccount" => {
                service_accounts.push(format!("{}/{subject_name}", str_at(s, &["namespace"])))
            }
            "User" => users.push(subject_name.to_string()),
            "Group" => groups.push(subject_name.to_string()),
            _ => {}
        }
    }
    Row::new(vec![
        name(obj),
        format!(
            "{}/{}",
            str_at(obj, &["roleRef", "kind"]),
            str_at(obj, &["roleRef", "name"])
        )
        .into(),
        age(obj, now),
        users.join(", ").into(),
        groups.join(", ").into(),
        service_accounts.join(", ").into(),
    ])
}

const CSR: &[Col] = &[
    NAME,
    AGE,
    Col::string("SignerName", CERTIFICATE_SIGNING_REQUEST_SPEC_SIGNER_NAME),
    Col::string("Requestor", CERTIFICATE_SIGNING_REQUEST_SPEC_REQUEST),
    Col::string(
        "RequestedDuration",
        CERTIFICATE_SIGNING_REQUEST_SPEC_EXPIRATION_SECONDS,
    ),
    Col::string("Condition", CERTIFICATE_SIGNING_REQUEST_STATUS_CONDITIONS),
];

fn csr_status(csr: &Value) -> String {
    let conditions = arr_at(csr, &["status", "conditions"]);
    let has_type = |t: &str| conditions.iter().any(|c| str_at(c, &["type"]) == t);
    let mut status = if has_type("Denied") {
        "Denied"
    } else if has_type("Approved") {
        "Approved"
    } else {
        "Pending"
    }
    .to_string();
    if has_type("Failed") {
        status.push_str(",Failed");
    }
    if !str_at(csr, &["status", "certificate"]).is_empty() {
        status.push_str(",Issued");
    }
    status
}

fn certificate_signing_request(csr: &Value, now: Timestamp) -> Row {
    let requested = opt_int(csr, &["spec", "expirationSeconds"]).map_or_else(
        || "<none>".to_string(),
        |s| human_duration(SignedDuration::from_secs(s)),
    );
    Row::new(vec![
        name(csr),
        age(csr, now),
        or_none(str_at(csr, &["spec", "signerName"])).into(),
        str_at(csr, &["spec", "username"]).into(),
        requested.into(),
        csr_status(csr).into(),
    ])
}

fn or_none(s: &str) -> &str {
    if s.is_empty() { "<none>" } else { s }
}

const CLUSTER_TRUST_BUNDLE: &[Col] = &[
    NAME,
    Col::string("SignerName", CLUSTER_TRUST_BUNDLE_SPEC_SIGNER_NAME),
];

fn cluster_trust_bundle(obj: &Value, _now: Timestamp) -> Row {
    Row::new(vec![
        name(obj),
        or_none(str_at(obj, &["spec", "signerName"])).into(),
    ])
}

const LEASE: &[Col] = &[NAME, Col::string("Holder", LEASE_SPEC_HOLDER_IDENTITY), AGE];

fn lease(obj: &Value, now: Timestamp) -> Row {
    Row::new(vec![
        name(obj),
        str_at(obj, &["spec", "holderIdentity"]).into(),
        age(obj, now),
    ])
}

// ObjectMeta has no such fields, so Kubernetes sends empty descriptions.
const LEASE_CANDIDATE: &[Col] = &[
    NAME,
    Col::string("LeaseName", LEASE_CANDIDATE_SPEC_LEASE_NAME),
    Col::string("BinaryVersion", ""),
    Col::string("EmulationVersion", ""),
    AGE,
];

fn lease_candidate(obj: &Value, now: Timestamp) -> Row {
    Row::new(vec![
        name(obj),
        str_at(obj, &["spec", "leaseName"]).into(),
        str_at(obj, &["spec", "binaryVersion"]).into(),
        str_at(obj, &["spec", "emulationVersion"]).into(),
        age(obj, now),
    ])
}

const PRIORITY_CLASS: &[Col] = &[
    NAME,
    Col::integer("Value", PRIORITY_CLASS_VALUE),
    Col::boolean("Global-Default", PRIORITY_CLASS_GLOBAL_DEFAULT),
    AGE,
    Col::string("PreemptionPolicy", PRIORITY_CLASS_PREEMPTION_POLICY),
];

fn priority_class(obj: &Value, now: Timestamp) -> Row {
    Row::new(vec![
        name(obj),
        int_at(obj, &["value"]).into(),
        bool_at(obj, &["globalDefault"]).into(),
        age(obj, now),
        str_at(obj, &["preemptionPolicy"]).into(),
    ])
}

const RUNTIME_CLASS: &[Col] = &[NAME, Col::string("Handler", ""), AGE];

fn runtime_class(obj: &Value, now: Timestamp) -> Row {
    Row::new(vec![
        name(obj),
        str_at(obj, &["handler"]).into(),
        age(obj, now),
    ])
}

const WEBHOOKS: &[Col] = &[
    NAME,
    Col::integer(
        "Webhooks",
        "Webhooks indicates the number of webhooks registered in this configuration",
    ),
    AGE,
];

fn webhook_configuration(obj: &Value, now: Timestamp) -> Row {
    Row::new(vec![
        name(obj),
        arr_at(obj, &["webhooks"]).len().into(),
        age(obj, now),
    ])
}

const PARAM_KIND: Col = Col::string(
    "ParamKind",
    "ParamKind specifies the kind of resources used to parameterize this policy",
);

const VALIDATING_POLICY: &[Col] = &[
    NAME,
    Col::integer(
        "Validations",
        "Validations indicates the number of validation rules defined in this configuration",
    ),
    PARAM_KIND,
    AGE,
];

const MUTATING_POLICY: &[Col] = &[
    NAME,
    Col::integer(
        "Mutations",
        "Mutation indicates the number of mutations rules defined in this configuration",
    ),
    PARAM_KIND,
    AGE,
];

fn param_kind(obj: &Value) -> String {
    if has(obj, &["spec", "paramKind"]) {
        format!(
            "{}/{}",
            str_at(obj, &["spec", "paramKind", "apiVersion"]),
            str_at(obj, &["spec", "paramKind", "kind"])
        )
    } else {
        "<unset>".to_string()
    }
}

fn validating_policy(obj: &Value, now: Timestamp) -> Row {
    Row::new(vec![
        name(obj),
        arr_at(obj, &["spec", "validations"]).len().into(),
        param_kind(obj).into(),
        age(obj, now),
    ])
}

fn mutating_policy(obj: &Value, now: Timestamp) -> Row {
    Row::new(vec![
        name(obj),
        arr_at(obj, &["spec", "mutations"]).len().into(),
        param_kind(obj).into(),
        age(obj, now),
    ])
}

const POLICY_BINDING: &[Col] = &[
    NAME,
    Col::string(
        "PolicyName",
        "PolicyName indicates the policy definition which the policy binding binded to",
    ),
    Col::string(
        "ParamRef",
        "ParamRef indicates the param resource which sets the configration param",
    ),
    AGE,
];

fn policy_binding(obj: &Value, now: Timestamp) -> Row {
    let param = if has(obj, &["spec", "paramRef"]) {
        let ref_name = str_at(obj, &["spec", "paramRef", "name"]);
        let ns = str_at(obj, &["spec", "paramRef", "namespace"]);
        if !ref_name.is_empty() {
            // Whether the param is cluster scoped is unknown here, so a
            // missing namespace prints as "*".
            if ns.is_empty() {
                format!("*/{ref_name}")
            } else {
                format!("{ns}/{ref_name}")
            }
        } else if let Some(selector) = obj
            .pointer("/spec/paramRef/selector")
            .filter(|s| !s.is_null())
        {
            go_label_selector_dump(selector)
        } else {
            "<unset>".to_string()
        }
    } else {
        "<unset>".to_string()
    };
    Row::new(vec![
        name(obj),
        str_at(obj, &["spec", "policyName"]).into(),
        param.into(),
        age(obj, now),
    ])
}

/// The Go struct dump of a `metav1.LabelSelector` (its generated
/// `String()`), which is what Kubernetes prints for a selector param.
fn go_label_selector_dump(selector: &Value) -> String {
    let mut labels: Vec<(&String, &str)> = super::fields::map_at(selector, &["matchLabels"])
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k, v.as_str().unwrap_or("")))
                .collect()
        })
        .unwrap_or_default();
    labels.sort_unstable();
    let labels: String = labels.iter().map(|(k, v)| format!("{k}: {v},")).collect();
    let expressions: String = arr_at(selector, &["matchExpressions"])
        .iter()
        .map(|e| {
            let values: Vec<&str> = arr_at(e, &["values"])
                .iter()
                .filter_map(Value::as_str)
                .collect();
            format!(
                "LabelSelectorRequirement{{Key:{},Operator:{},Values:[{}],}},",
                str_at(e, &["key"]),
                str_at(e, &["operator"]),
                values.join(" ")
            )
        })
        .collect();
    format!(
        "&LabelSelector{{MatchLabels:map[string]string{{{labels}}},MatchExpressions:[]LabelSelectorRequirement{{{expressions}}},}}"
    )
}

const FLOW_SCHEMA: &[Col] = &[
    NAME,
    Col::string("PriorityLevel", PRIORITY_LEVEL_CONFIGURATION_REFERENCE_NAME),
    Col::string("MatchingPrecedence", FLOW_SCHEMA_SPEC_MATCHING_PRECEDENCE),
    Col::string("DistinguisherMethod", FLOW_SCHEMA_SPEC_DISTINGUISHER_METHOD),
    AGE,
    Col::string(
        "MissingPL",
        "references a broken or non-existent PriorityLevelConfiguration",
    ),
];

fn flow_schema(obj: &Value, now: Timestamp) -> Row {
    let dangling = arr_at(obj, &["status", "conditions"])
        .iter()
        .find(|c| str_at(c, &["type"]) == "Dangling")
        .map_or("?", |c| str_at(c, &["status"]));
    Row::new(vec![
        name(obj),
        str_at(obj, &["spec", "priorityLevelConfiguration", "name"]).into(),
        int_at(obj, &["spec", "matchingPrecedence"]).into(),
        if has(obj, &["spec", "distinguisherMethod"]) {
            str_at(obj, &["spec", "distinguisherMethod", "type"])
        } else {
            "<none>"
        }
        .into(),
        age(obj, now),
        dangling.into(),
    ])
}

/// Flow schemas list in the order the API server matches them.
pub(super) fn flow_schema_order(a: &Value, b: &Value) -> Ordering {
    int_at(a, &["spec", "matchingPrecedence"])
        .cmp(&int_at(b, &["spec", "matchingPrecedence"]))
        .then_with(|| str_at(a, &["metadata", "name"]).cmp(str_at(b, &["metadata", "name"])))
}

const PRIORITY_LEVEL: &[Col] = &[
    NAME,
    Col::string("Type", PRIORITY_LEVEL_CONFIGURATION_SPEC_TYPE),
    Col::string(
        "NominalConcurrencyShares",
        LIMITED_PRIORITY_LEVEL_CONFIGURATION_NOMINAL_CONCURRENCY_SHARES,
    ),
    Col::string("Queues", QUEUING_CONFIGURATION_QUEUES),
    Col::string("HandSize", QUEUING_CONFIGURATION_HAND_SIZE),
    Col::string("QueueLengthLimit", QUEUING_CONFIGURATION_QUEUE_LENGTH_LIMIT),
    AGE,
];

fn priority_level(obj: &Value, now: Timestamp) -> Row {
    let none = || Value::from("<none>");
    let (mut ncs, mut queues, mut hand_size, mut queue_length) = (none(), none(), none(), none());
    if has(obj, &["spec", "limited"]) {
        ncs = int_at(obj, &["spec", "limited", "nominalConcurrencyShares"]).into();
        let queuing = ["spec", "limited", "limitResponse", "queuing"];
        if has(obj, &queuing) {
            let q = |f: &str| int_at(obj, &[queuing[0], queuing[1], queuing[2], queuing[3], f]);
            queues = q("queues").into();
            hand_size = q("handSize").into();
            queue_length = q("queueLengthLimit").into();
        }
    }
    Row::new(vec![
        name(obj),
        str_at(obj, &["spec", "type"]).into(),
        ncs,
        queues,
        hand_size,
        queue_length,
        age(obj, now),
    ])
}

const STORAGE_VERSION: &[Col] = &[
    NAME,
    Col::string(
        "CommonEncodingVersion",
        STORAGE_VERSION_STATUS_COMMON_ENCODING_VERSION,
    ),
    Col::string("StorageVersions", STORAGE_VERSION_STATUS_STORAGE_VERSIONS),
    AGE,
];

fn storage_version(obj: &Value, now: Timestamp) -> Row {
    let versions: Vec<String> = arr_at(obj, &["status", "storageVersions"])
        .iter()
        .map(|sv| {
            format!(
                "{}={}",
                str_at(sv, &["apiServerID"]),
                str_at(sv, &["encodingVersion"])
            )
        })
        .collect();
    Row::new(vec![
        name(obj),
        opt_str(obj, &["status", "commonEncodingVersion"])
            .unwrap_or("<unset>")
            .into(),
        list_with_more(&versions).into(),
        age(obj, now),
    ])
}

const RESOURCE_CLAIM: &[Col] = &[
    NAME,
    Col::string(
        "State",
        "A summary of the current state (allocated, pending, reserved, etc.).",
    ),
    AGE,
];

fn resource_claim(obj: &Value, now: Timestamp) -> Row {
    let deleted = has(obj, &["metadata", "deletionTimestamp"]);
    let mut states = Vec::new();
    if deleted {
        states.push("deleted");
    }
    if !has(obj, &["status", "allocation"]) {
        if !deleted {
            states.push("pending");
        }
    } else {
        states.push("allocated");
        if !arr_at(obj, &["status", "reservedFor"]).is_empty() {
            states.push("reserved");
        }
    }
    Row::new(vec![name(obj), states.join(",").into(), age(obj, now)])
}

const RESOURCE_SLICE: &[Col] = &[
    NAME,
    Col::string("Node", RESOURCE_SLICE_SPEC_NODE_NAME),
    Col::string("Driver", RESOURCE_SLICE_SPEC_DRIVER),
    Col::string("Pool", RESOURCE_POOL_NAME),
    AGE,
];

fn resource_slice(obj: &Value, now: Timestamp) -> Row {
    Row::new(vec![
        name(obj),
        str_at(obj, &["spec", "nodeName"]).into(),
        str_at(obj, &["spec", "driver"]).into(),
        str_at(obj, &["spec", "pool", "name"]).into(),
        age(obj, now),
    ])
}

const STORAGE_VERSION_MIGRATION: &[Col] = &[
    Col::string("Name", OBJECT_META_NAME),
    Col::string("Resource", "Fully qualified resource to migrate"),
];

fn storage_version_migration(obj: &Value, _now: Timestamp) -> Row {
    let gvr = format!(
        "{}.{}.{}",
        str_at(obj, &["spec", "resource", "resource"]),
        str_at(obj, &["spec", "resource", "version"]),
        str_at(obj, &["spec", "resource", "group"])
    );
    Row::new(vec![name(obj), gvr.into()])
}

#[cfg(test)]
mod tests {
    use super::super::tests::now;
    use super::*;
    use serde_json::json;

    fn meta(name: &str) -> Value {
        json!({"name": name, "creationTimestamp": "2024-06-01T11:30:00Z"})
    }

    #[test]
    fn table_cluster_role_bindings() {
        let rb = json!({"metadata": meta("admins"), "roleRef": {"kind": "ClusterRole", "name": "admin"},
            "subjects": [{"kind": "User", "name": "alice"}, {"kind": "Group", "name": "ops"},
                         {"kind": "ServiceAccount", "namespace": "ci", "name": "deployer"}, {"kind": "User", "name": "bob"}]});
        assert_eq!(
            binding(&rb, now()).cells,
            vec![
                json!("admins"),
                json!("ClusterRole/admin"),
                json!("30m"),
                json!("alice, bob"),
                json!("ops"),
                json!("ci/deployer")
            ]
        );
    }

    #[test]
    fn table_cluster_lease_priority_webhooks() {
        let l =
            json!({"metadata": meta("kube-scheduler"), "spec": {"holderIdentity": "node-a_1234"}});
        assert_eq!(
            lease(&l, now()).cells,
            vec![json!("kube-scheduler"), json!("node-a_1234"), json!("30m")]
        );
        let pc = json!({"metadata": meta("high"), "value": 1000, "globalDefault": false, "preemptionPolicy": "Never"});
        assert_eq!(
            priority_class(&pc, now()).cells,
            vec![
                json!("high"),
                json!(1000),
                json!(false),
                json!("30m"),
                json!("Never")
            ]
        );
        let wh = json!({"metadata": meta("hooks"), "webhooks": [{"name": "a"}, {"name": "b"}]});
        assert_eq!(
            webhook_configuration(&wh, now()).cells,
            vec![json!("hooks"), json!(2), json!("30m")]
        );
        let rc = json!({"metadata": meta("runc"), "handler": "runc"});
        assert_eq!(
            runtime_class(&rc, now()).cells,
            vec![json!("runc"), json!("runc"), json!("30m")]
        );
    }

    #[test]
    fn table_cluster_csr_and_policies() {
        let csr = json!({"metadata": meta("csr-1"), "spec": {"signerName": "kubernetes.io/kube-apiserver-client",
            "username": "alice", "expirationSeconds": 86400},
            "status": {"conditions": [{"type": "Approved"}], "certificate": "LS0t"}});
        assert_eq!(
            certificate_signing_request(&csr, now()).cells,
            vec![
                json!("csr-1"),
                json!("30m"),
                json!("kubernetes.io/kube-apiserver-client"),
                json!("alice"),
                json!("24h"),
                json!("Approved,Issued")
            ]
        );
        let vap = json!({"metadata": meta("p"), "spec": {"validations": [{}, {}],
            "paramKind": {"apiVersion": "v1", "kind": "ConfigMap"}}});
        assert_eq!(
            validating_policy(&vap, now()).cells[1..3],
            [json!(2), json!("v1/ConfigMap")]
        );
        let binding = json!({"metadata": meta("b"), "spec": {"policyName": "p", "paramRef": {"name": "cfg"}}});
        assert_eq!(
            policy_binding(&binding, now()).cells[1..3],
            [json!("p"), json!("*/cfg")]
        );
        let by_selector = json!({"metadata": meta("b"), "spec": {"policyName": "p", "paramRef": {"selector": {
            "matchLabels": {"b": "2", "a": "1"},
            "matchExpressions": [{"key": "env", "operator": "In", "values": ["x", "y"]}]}}}});
        assert_eq!(
            policy_binding(&by_selector, now()).cells[2],
            json!(
                "&LabelSelector{MatchLabels:map[string]string{a: 1,b: 2,},MatchExpressions:[]LabelSelectorRequirement{LabelSelectorRequirement{Key:env,Operator:In,Values:[x y],},},}"
            )
        );
    }

    #[test]
    fn table_cluster_flow_control_and_dra() {
        let fs = json!({"metadata": meta("exempt"), "spec": {"priorityLevelConfiguration": {"name": "exempt"},
            "matchingPrecedence": 1, "distinguisherMethod": {"type": "ByUser"}},
            "status": {"conditions": [{"type": "Dangling", "status": "False"}]}});
        assert_eq!(
            flow_schema(&fs, now()).cells,
            vec![
                json!("exempt"),
                json!("exempt"),
                json!(1),
                json!("ByUser"),
                json!("30m"),
                json!("False")
            ]
        );
        let plc = json!({"metadata": meta("workload-low"), "spec": {"type": "Limited", "limited": {
            "nominalConcurrencyShares": 100, "limitResponse": {"type": "Queue",
            "queuing": {"queues": 128, "handSize": 6, "queueLengthLimit": 50}}}}});
        assert_eq!(
            priority_level(&plc, now()).cells,
            vec![
                json!("workload-low"),
                json!("Limited"),
                json!(100),
                json!(128),
                json!(6),
                json!(50),
                json!("30m")
            ]
        );
        let exempt = json!({"metadata": meta("exempt"), "spec": {"type": "Exempt"}});
        assert_eq!(priority_level(&exempt, now()).cells[2], json!("<none>"));
        let claim = json!({"metadata": meta("c"), "status": {"allocation": {}, "reservedFor": [{"name": "p"}]}});
        assert_eq!(
            resource_claim(&claim, now()).cells[1],
            json!("allocated,reserved")
        );
        let pending = json!({"metadata": meta("c2")});
        assert_eq!(resource_claim(&pending, now()).cells[1], json!("pending"));
    }
}
