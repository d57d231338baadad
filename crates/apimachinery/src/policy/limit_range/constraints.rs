//! The min, max and limit/request ratio bounds of a LimitRange item, worded
//! as Kubernetes' LimitRanger words them.

use crate::policy::ResourceList;
use crate::validation::quantity::Quantity;

/// Beyond this, milli-units would overflow an int64 and Kubernetes compares
/// whole units instead.
const MAX_MILLI_VALUE: i64 = i64::MAX / 1000;

/// Request, limit and bound at one common precision: milli-units when all
/// three fit, whole units otherwise (Kubernetes' `requestLimitEnforcedValues`;
/// an absent quantity counts as zero).
fn common_precision(
    req: Option<&Quantity>,
    lim: Option<&Quantity>,
    enforced: &Quantity,
) -> (i64, i64, i64) {
    let value = |q: Option<&Quantity>| q.map_or(0, Quantity::value);
    let milli = |q: Option<&Quantity>| q.map_or(0, Quantity::milli_value);
    let (r, l, e) = (value(req), value(lim), enforced.value());
    if r <= MAX_MILLI_VALUE && l <= MAX_MILLI_VALUE && e <= MAX_MILLI_VALUE {
        (milli(req), milli(lim), enforced.milli_value())
    } else {
        (r, l, e)
    }
}

/// The request (and the limit, if any) must reach the minimum.
pub(super) fn min(
    kind: &str,
    name: &str,
    enforced: &Quantity,
    requests: &ResourceList,
    limits: &ResourceList,
) -> Option<String> {
    let (req, lim) = (requests.get(name), limits.get(name));
    let (r, l, e) = common_precision(req, lim, enforced);
    let Some(req) = req else {
        return Some(format!(
            "minimum {name} usage per {kind} is {enforced}.  No request is specified"
        ));
    };
    if r < e {
        return Some(format!(
            "minimum {name} usage per {kind} is {enforced}, but request is {req}"
        ));
    }
    match lim {
        Some(lim) if l < e => Some(format!(
            "minimum {name} usage per {kind} is {enforced}, but limit is {lim}"
        )),
        _ => None,
    }
}

/// A limit must be set and stay within the maximum, and so must the request.
pub(super) fn max(
    kind: &str,
    name: &str,
    enforced: &Quantity,
    requests: &ResourceList,
    limits: &ResourceList,
) -> Option<String> {
    let (req, lim) = (requests.get(name), limits.get(name));
    let (r, l, e) = common_precision(req, lim, enforced);
    let Some(lim) = lim else {
        return Some(format!(
            "maximum {name} usage per {kind} is {enforced}.  No limit is specified"
        ));
    };
    if l > e {
        return Some(format!(
            "maximum {name} usage per {kind} is {enforced}, but limit is {lim}"
        ));
    }
    match req {
        Some(req) if r > e => Some(format!(
            "maximum {name} usage per {kind} is {enforced}, but request is {req}"
        )),
        _ => None,
    }
}

/// The maximum for kinds without limits (PersistentVolumeClaim storage):
/// only the request is bounded.
pub(super) fn max_request(
    kind: &str,
    name: &str,
    enforced: &Quantity,
    requests: &ResourceList,
) -> Option<String> {
    let req = requests.get(name);
    let (r, _, e) = common_precision(req, None, enforced);
    let Some(req) = req else {
        return Some(format!(
            "maximum {name} usage per {kind} is {enforced}.  No request is specified"
        ));
    };
    (r > e).then(|| format!("maximum {name} usage per {kind} is {enforced}, but request is {req}"))
}

/// Limit divided by request must not exceed the ratio; both must be set
/// and non-zero.
pub(super) fn ratio(
    kind: &str,
    name: &str,
    enforced: &Quantity,
    requests: &ResourceList,
    limits: &ResourceList,
) -> Option<String> {
    let (req, lim) = (requests.get(name), limits.get(name));
    let (r, l, _) = common_precision(req, lim, enforced);
    if req.is_none() || r == 0 {
        return Some(format!(
            "{name} max limit to request ratio per {kind} is {enforced}, but no request is specified or request is 0"
        ));
    }
    if lim.is_none() || l == 0 {
        return Some(format!(
            "{name} max limit to request ratio per {kind} is {enforced}, but no limit is specified or limit is 0"
        ));
    }
    let observed = l as f64 / r as f64;
    // Compared in milli-units when the bound allows, as Kubernetes does.
    let (scaled, bound) = if enforced.value() <= MAX_MILLI_VALUE {
        (observed * 1000.0, enforced.milli_value() as f64)
    } else {
        (observed, enforced.value() as f64)
    };
    (scaled > bound).then(|| {
        format!("{name} max limit to request ratio per {kind} is {enforced}, but provided ratio is {observed:.6}")
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap: a panic is a failure
mod tests {
    use super::*;
    use crate::validation::quantity::parse_quantity;

    fn list(pairs: &[(&str, &str)]) -> ResourceList {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), parse_quantity(v).unwrap()))
            .collect()
    }

    fn q(s: &str) -> Quantity {
        parse_quantity(s).unwrap()
    }

    #[test]
    fn policy_limit_range_min_max_messages() {
        let none = ResourceList::new();
        assert_eq!(
            min(
                "Container",
                "memory",
                &q("10Mi"),
                &list(&[("memory", "5Mi")]),
                &none
            )
            .unwrap(),
            "minimum memory usage per Container is 10Mi, but request is 5Mi"
        );
        assert_eq!(
            min("Container", "memory", &q("10Mi"), &none, &none).unwrap(),
            "minimum memory usage per Container is 10Mi.  No request is specified"
        );
        assert_eq!(
            min(
                "Pod",
                "cpu",
                &q("1"),
                &list(&[("cpu", "1")]),
                &list(&[("cpu", "500m")])
            )
            .unwrap(),
            "minimum cpu usage per Pod is 1, but limit is 500m"
        );
        assert_eq!(
            max(
                "Container",
                "cpu",
                &q("1"),
                &list(&[("cpu", "1")]),
                &list(&[("cpu", "2")])
            )
            .unwrap(),
            "maximum cpu usage per Container is 1, but limit is 2"
        );
        assert_eq!(
            max(
                "Container",
                "cpu",
                &q("1"),
                &list(&[("cpu", "1500m")]),
                &list(&[("cpu", "1")])
            )
            .unwrap(),
            "maximum cpu usage per Container is 1, but request is 1500m"
        );
        assert_eq!(
            max("Container", "cpu", &q("1"), &none, &none).unwrap(),
            "maximum cpu usage per Container is 1.  No limit is specified"
        );
        assert_eq!(
            max("Container", "cpu", &q("1"), &none, &list(&[("cpu", "1")])),
            None
        );
        // Compared in milli-units: 1.5m rounds up to 2m and meets a 2m minimum.
        assert_eq!(
            min(
                "Container",
                "cpu",
                &q("2m"),
                &list(&[("cpu", "1.5m")]),
                &none
            ),
            None
        );
    }

    #[test]
    fn policy_limit_range_ratio_and_pvc_messages() {
        let ratio_err = ratio(
            "Container",
            "cpu",
            &q("2"),
            &list(&[("cpu", "250m")]),
            &list(&[("cpu", "1")]),
        );
        assert_eq!(
            ratio_err.unwrap(),
            "cpu max limit to request ratio per Container is 2, but provided ratio is 4.000000"
        );
        assert_eq!(
            ratio(
                "Container",
                "cpu",
                &q("2"),
                &list(&[("cpu", "500m")]),
                &list(&[("cpu", "1")])
            ),
            None
        );
        assert_eq!(
            ratio(
                "Container",
                "cpu",
                &q("2"),
                &list(&[("cpu", "0")]),
                &list(&[("cpu", "1")])
            )
            .unwrap(),
            "cpu max limit to request ratio per Container is 2, but no request is specified or request is 0"
        );
        assert_eq!(
            ratio(
                "Container",
                "memory",
                &q("1500m"),
                &list(&[("memory", "1Gi")]),
                &ResourceList::new()
            )
            .unwrap(),
            "memory max limit to request ratio per Container is 1500m, but no limit is specified or limit is 0"
        );
        assert_eq!(
            max_request(
                "PersistentVolumeClaim",
                "storage",
                &q("2Gi"),
                &list(&[("storage", "3Gi")])
            )
            .unwrap(),
            "maximum storage usage per PersistentVolumeClaim is 2Gi, but request is 3Gi"
        );
        assert_eq!(
            max_request(
                "PersistentVolumeClaim",
                "storage",
                &q("2Gi"),
                &ResourceList::new()
            )
            .unwrap(),
            "maximum storage usage per PersistentVolumeClaim is 2Gi.  No request is specified"
        );
    }
}
