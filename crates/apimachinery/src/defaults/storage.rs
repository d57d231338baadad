//! storage.k8s.io/v1 StorageClass defaults.

use serde_json::Value;

use crate::validation::json::set_if_absent;

pub(crate) fn default_storage_class(sc: &mut Value) {
    set_if_absent(sc, "reclaimPolicy", Value::from("Delete"));
    set_if_absent(sc, "volumeBindingMode", Value::from("Immediate"));
}
