//! Printers of `storage.k8s.io`: StorageClass, VolumeAttributesClass,
//! VolumeAttachment and the CSI kinds.

use jiff::Timestamp;
use serde_json::Value;

use super::describe::*;
use super::fields::{arr_at, at, bool_at, has, map_at, opt_bool, opt_str, str_at};
use super::quantity::quantity_string;
use super::{AGE, Col, NAME, Printer, Row, age, name};

pub(super) const PRINTERS: &[Printer] = &[
    Printer::new(
        "storage.k8s.io",
        "StorageClass",
        STORAGE_CLASS,
        storage_class,
    ),
    Printer::new(
        "storage.k8s.io",
        "VolumeAttributesClass",
        VOLUME_ATTRIBUTES_CLASS,
        volume_attributes_class,
    ),
    Printer::new(
        "storage.k8s.io",
        "VolumeAttachment",
        VOLUME_ATTACHMENT,
        volume_attachment,
    ),
    Printer::new("storage.k8s.io", "CSINode", CSI_NODE, csi_node),
    Printer::new("storage.k8s.io", "CSIDriver", CSI_DRIVER, csi_driver),
    Printer::new(
        "storage.k8s.io",
        "CSIStorageCapacity",
        CSI_STORAGE_CAPACITY,
        csi_storage_capacity,
    ),
];

fn annotation_is_true(obj: &Value, key: &str) -> bool {
    map_at(obj, &["metadata", "annotations"])
        .and_then(|a| a.get(key))
        .and_then(Value::as_str)
        == Some("true")
}

const STORAGE_CLASS: &[Col] = &[
    NAME,
    Col::string("Provisioner", STORAGE_CLASS_PROVISIONER),
    Col::string("ReclaimPolicy", STORAGE_CLASS_RECLAIM_POLICY),
    Col::string("VolumeBindingMode", STORAGE_CLASS_VOLUME_BINDING_MODE),
    Col::string("AllowVolumeExpansion", STORAGE_CLASS_ALLOW_VOLUME_EXPANSION),
    AGE,
];

fn storage_class(obj: &Value, now: Timestamp) -> Row {
    let default = annotation_is_true(obj, "storageclass.kubernetes.io/is-default-class")
        || annotation_is_true(obj, "storageclass.beta.kubernetes.io/is-default-class");
    let name_cell = if default {
        format!("{} (default)", str_at(obj, &["metadata", "name"])).into()
    } else {
        name(obj)
    };
    Row::new(vec![
        name_cell,
        str_at(obj, &["provisioner"]).into(),
        opt_str(obj, &["reclaimPolicy"]).unwrap_or("Delete").into(),
        opt_str(obj, &["volumeBindingMode"])
            .unwrap_or("Immediate")
            .into(),
        bool_at(obj, &["allowVolumeExpansion"]).into(),
        age(obj, now),
    ])
}

const VOLUME_ATTRIBUTES_CLASS: &[Col] = &[
    NAME,
    Col::string("DriverName", VOLUME_ATTRIBUTES_CLASS_DRIVER_NAME),
    AGE,
];

fn volume_attributes_class(obj: &Value, now: Timestamp) -> Row {
    let default = annotation_is_true(obj, "storage.kubernetes.io/is-default-class");
    let name_cell = if default {
        format!("{} (default)", str_at(obj, &["metadata", "name"])).into()
    } else {
        name(obj)
    };
    Row::new(vec![
        name_cell,
        str_at(obj, &["driverName"]).into(),
        age(obj, now),
    ])
}

const VOLUME_ATTACHMENT: &[Col] = &[
    NAME,
    Col::string("Attacher", VOLUME_ATTACHMENT_SPEC_ATTACHER).format("name"),
    Col::string("PV", VOLUME_ATTACHMENT_SOURCE_PERSISTENT_VOLUME_NAME),
    Col::string("Node", VOLUME_ATTACHMENT_SPEC_NODE_NAME),
    Col::boolean("Attached", VOLUME_ATTACHMENT_STATUS_ATTACHED),
    AGE,
];

fn volume_attachment(obj: &Value, now: Timestamp) -> Row {
    Row::new(vec![
        name(obj),
        str_at(obj, &["spec", "attacher"]).into(),
        str_at(obj, &["spec", "source", "persistentVolumeName"]).into(),
        str_at(obj, &["spec", "nodeName"]).into(),
        bool_at(obj, &["status", "attached"]).into(),
        age(obj, now),
    ])
}

const CSI_NODE: &[Col] = &[
    NAME,
    Col::integer(
        "Drivers",
        "Drivers indicates the number of CSI drivers registered on the node",
    ),
    AGE,
];

fn csi_node(obj: &Value, now: Timestamp) -> Row {
    Row::new(vec![
        name(obj),
        arr_at(obj, &["spec", "drivers"]).len().into(),
        age(obj, now),
    ])
}

const CSI_DRIVER: &[Col] = &[
    NAME,
    Col::boolean("AttachRequired", CSI_DRIVER_SPEC_ATTACH_REQUIRED),
    Col::boolean("PodInfoOnMount", CSI_DRIVER_SPEC_POD_INFO_ON_MOUNT),
    Col::boolean("StorageCapacity", CSI_DRIVER_SPEC_STORAGE_CAPACITY),
    Col::string("TokenRequests", CSI_DRIVER_SPEC_TOKEN_REQUESTS),
    Col::boolean("RequiresRepublish", CSI_DRIVER_SPEC_REQUIRES_REPUBLISH),
    Col::string("Modes", CSI_DRIVER_SPEC_VOLUME_LIFECYCLE_MODES),
    AGE,
];

fn csi_driver(obj: &Value, now: Timestamp) -> Row {
    let modes: Vec<&str> = arr_at(obj, &["spec", "volumeLifecycleModes"])
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let modes = if modes.is_empty() {
        "<none>".to_string()
    } else {
        modes.join(",")
    };
    let token_requests = if has(obj, &["spec", "tokenRequests"]) {
        arr_at(obj, &["spec", "tokenRequests"])
            .iter()
            .map(|t| str_at(t, &["audience"]))
            .collect::<Vec<_>>()
            .join(",")
    } else {
        "<unset>".to_string()
    };
    Row::new(vec![
        name(obj),
        opt_bool(obj, &["spec", "attachRequired"])
            .unwrap_or(true)
            .into(),
        bool_at(obj, &["spec", "podInfoOnMount"]).into(),
        bool_at(obj, &["spec", "storageCapacity"]).into(),
        token_requests.into(),
        bool_at(obj, &["spec", "requiresRepublish"]).into(),
        modes.into(),
        age(obj, now),
    ])
}

const CSI_STORAGE_CAPACITY: &[Col] = &[
    NAME,
    Col::string("StorageClassName", CSI_STORAGE_CAPACITY_STORAGE_CLASS_NAME),
    Col::string("Capacity", CSI_STORAGE_CAPACITY_CAPACITY),
];

fn csi_storage_capacity(obj: &Value, _now: Timestamp) -> Row {
    let capacity = match at(obj, &["capacity"]) {
        Some(q) => quantity_string(Some(q)),
        None => "<unset>".to_string(),
    };
    Row::new(vec![
        name(obj),
        str_at(obj, &["storageClassName"]).into(),
        capacity.into(),
    ])
}

#[cfg(test)]
mod tests {
    use super::super::tests::now;
    use super::*;
    use serde_json::json;

    #[test]
    fn table_storage_class_default_marker() {
        let sc = json!({"metadata": {"name": "local-path", "creationTimestamp": "2024-06-01T11:00:00Z",
                "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
            "provisioner": "rancher.io/local-path", "volumeBindingMode": "WaitForFirstConsumer"});
        assert_eq!(
            storage_class(&sc, now()).cells,
            vec![
                json!("local-path (default)"),
                json!("rancher.io/local-path"),
                json!("Delete"),
                json!("WaitForFirstConsumer"),
                json!(false),
                json!("60m")
            ]
        );
    }

    #[test]
    fn table_storage_csi_and_attachments() {
        let d = json!({"metadata": {"name": "csi.example.com"},
            "spec": {"tokenRequests": [{"audience": "a"}, {"audience": "b"}], "volumeLifecycleModes": ["Persistent"]}});
        assert_eq!(
            csi_driver(&d, now()).cells,
            vec![
                json!("csi.example.com"),
                json!(true),
                json!(false),
                json!(false),
                json!("a,b"),
                json!(false),
                json!("Persistent"),
                json!("<unknown>")
            ]
        );
        let va = json!({"metadata": {"name": "csi-1"}, "spec": {"attacher": "csi.example.com", "nodeName": "n1",
            "source": {"persistentVolumeName": "pv1"}}, "status": {"attached": true}});
        assert_eq!(
            volume_attachment(&va, now()).cells[1..5],
            [
                json!("csi.example.com"),
                json!("pv1"),
                json!("n1"),
                json!(true)
            ]
        );
        let cap =
            json!({"metadata": {"name": "c"}, "storageClassName": "fast", "capacity": "100Gi"});
        assert_eq!(
            csi_storage_capacity(&cap, now()).cells,
            vec![json!("c"), json!("fast"), json!("100Gi")]
        );
    }
}
