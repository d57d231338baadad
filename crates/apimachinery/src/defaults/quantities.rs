//! Quantities are stored and returned in canonical form (`0.5` → `500m`,
//! `1024Mi` → `1Gi`); resource lists are also rounded up to thousandths
//! (Kubernetes' `SetDefaults_ResourceList`).

use serde_json::Value;

use crate::validation::quantity::quantity_from_json;

/// Rewrites a quantity to its canonical string; invalid values are left for
/// validation to report.
pub(crate) fn canonicalize_quantity(v: &mut Value) {
    if let Ok(q) = quantity_from_json(v) {
        *v = Value::String(q.canonical());
    }
}

/// Canonicalizes every member of a resource list, optionally rounding up to milli-units.
pub(crate) fn canonicalize_resource_list(list: &mut Value, round_to_milli: bool) {
    let Some(m) = list.as_object_mut() else {
        return;
    };
    for v in m.values_mut() {
        if let Ok(q) = quantity_from_json(v) {
            let q = if round_to_milli {
                q.round_up_to_milli()
            } else {
                q
            };
            *v = Value::String(q.canonical());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn defaults_resource_lists_are_canonical() {
        let mut list =
            json!({"cpu": 0.5, "memory": "1024Mi", "ephemeral-storage": "0.0001", "bad": "x"});
        canonicalize_resource_list(&mut list, true);
        assert_eq!(
            list,
            json!({"cpu": "500m", "memory": "1Gi", "ephemeral-storage": "1m", "bad": "x"})
        );
        let mut q = json!("1.5Gi");
        canonicalize_quantity(&mut q);
        assert_eq!(q, json!("1536Mi"));
    }
}
