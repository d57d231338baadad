//! Which controllers run: kube-controller-manager's `--controllers` list.
//! `*` turns on every controller, `name` turns one on, `-name` turns one
//! off; without `*` only the named controllers run. Names are
//! kube-controller-manager's (`job-controller`, or its older alias `job`),
//! plus Nubis' own `scheduler` and `local-provisioner`.

use std::collections::BTreeSet;

/// Every controller: its name and the aliases kube-controller-manager
/// also accepts. Controllers that do the work of two Kubernetes
/// controllers answer to both names.
pub const CONTROLLERS: &[(&str, &[&str])] = &[
    ("serviceaccount-controller", &["serviceaccount", "root-ca-certificate-publisher-controller", "root-ca-cert-publisher"]),
    ("namespace-controller", &["namespace"]),
    ("garbage-collector-controller", &["garbagecollector"]),
    ("endpoints-controller", &["endpoint", "endpointslice-controller", "endpointslice"]),
    ("horizontal-pod-autoscaler-controller", &["horizontalpodautoscaling"]),
    ("replicaset-controller", &["replicaset"]),
    ("deployment-controller", &["deployment"]),
    ("statefulset-controller", &["statefulset"]),
    ("daemonset-controller", &["daemonset"]),
    ("scheduler", &[]),
    ("node-lifecycle-controller", &["nodelifecycle"]),
    ("taint-eviction-controller", &[]),
    ("pod-garbage-collector-controller", &["podgc"]),
    ("resourcequota-controller", &["resourcequota"]),
    ("persistentvolume-binder-controller", &["persistentvolume-binder"]),
    ("job-controller", &["job"]),
    ("cronjob-controller", &["cronjob"]),
    ("ttl-after-finished-controller", &["ttl-after-finished"]),
    ("local-provisioner", &[]),
];

/// The controllers that run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    enabled: BTreeSet<&'static str>,
}

impl Default for Selection {
    /// Every controller.
    fn default() -> Self {
        Selection { enabled: CONTROLLERS.iter().map(|(name, _)| *name).collect() }
    }
}

impl Selection {
    /// No controller at all.
    pub fn none() -> Selection {
        Selection { enabled: BTreeSet::new() }
    }

    /// Parses a `--controllers` value such as `*,-scheduler` or
    /// `scheduler,job`.
    pub fn parse(list: &str) -> Result<Selection, String> {
        let items: Vec<&str> = list.split(',').map(str::trim).filter(|s| !s.is_empty()).collect();
        let mut selection = if items.contains(&"*") { Selection::default() } else { Selection::none() };
        for item in items.into_iter().filter(|i| *i != "*") {
            let (off, name) = match item.strip_prefix('-') {
                Some(name) => (true, name),
                None => (false, item),
            };
            let canonical = canonical(name).ok_or_else(|| {
                let known: Vec<&str> = CONTROLLERS.iter().map(|(n, _)| *n).collect();
                format!("unknown controller {name:?}; known controllers: {}", known.join(", "))
            })?;
            if off {
                selection.enabled.remove(canonical);
            } else {
                selection.enabled.insert(canonical);
            }
        }
        Ok(selection)
    }

    /// Whether the controller named (by its canonical name) runs.
    pub fn runs(&self, name: &str) -> bool {
        debug_assert_eq!(canonical(name), Some(name), "not a controller's canonical name");
        self.enabled.contains(name)
    }

    /// The canonical names of the controllers that run.
    pub fn names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.enabled.iter().copied()
    }
}

fn canonical(name: &str) -> Option<&'static str> {
    CONTROLLERS.iter().find(|(n, aliases)| *n == name || aliases.contains(&name)).map(|(n, _)| *n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selection_star_minus_one() {
        let s = Selection::parse("*,-scheduler").expect("valid");
        assert!(!s.runs("scheduler"));
        assert!(s.runs("job-controller"));
        assert_eq!(s.names().count(), CONTROLLERS.len() - 1);
    }

    #[test]
    fn selection_named_only_and_aliases() {
        let s = Selection::parse("scheduler, job ,endpointslice").expect("valid");
        assert_eq!(s.names().collect::<Vec<_>>(), vec!["endpoints-controller", "job-controller", "scheduler"]);
        assert_eq!(Selection::parse("").expect("valid"), Selection::none());
        assert_eq!(Selection::parse("*").expect("valid"), Selection::default());
    }

    #[test]
    fn selection_unknown_name_is_an_error() {
        let error = Selection::parse("*,-schedular").expect_err("unknown");
        assert!(error.contains("\"schedular\"") && error.contains("scheduler"), "{error}");
    }
}
