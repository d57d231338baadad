//! The RBAC authorizer alone: decisions per second and their latency
//! percentiles with 1,000 RoleBindings and the default ClusterRoles, as
//! BENCHMARKS.md reports. Run with `cargo bench -p apiserver --bench
//! rbac_authorize`.

// A benchmark measures real elapsed time; nothing here needs pausable time.
#![allow(clippy::disallowed_types)]

use apiserver::auth::User;
use apiserver::authz::{self, Attributes};
use apiserver::rbac_cache::RbacSnapshot;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

const NAMESPACES: usize = 100;
const BINDINGS_PER_NAMESPACE: usize = 10;

fn objects() -> Vec<Value> {
    // The default roles as the server stores them: aggregated.
    let mut objs = authz::bootstrap_cluster_roles();
    for (name, rules) in authz::aggregate_all(&objs) {
        if let Some(role) = objs.iter_mut().find(|r| r["metadata"]["name"] == name.as_str()) {
            role["rules"] = Value::Array(rules);
        }
    }
    objs.extend(authz::bootstrap_cluster_role_bindings());
    let roles = ["admin", "edit", "view"];
    for ns in 0..NAMESPACES {
        for b in 0..BINDINGS_PER_NAMESPACE {
            let user = format!("user-{}", ns * BINDINGS_PER_NAMESPACE + b);
            objs.push(json!({
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "RoleBinding",
                "metadata": {"name": format!("rb-{b}"), "namespace": format!("ns-{ns}")},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": roles[b % 3]},
                "subjects": [
                    {"kind": "User", "name": user},
                    {"kind": "Group", "name": format!("team-{ns}")},
                    {"kind": "ServiceAccount", "name": "deployer", "namespace": format!("ns-{ns}")}
                ]
            }));
        }
    }
    objs
}

fn user(name: &str, groups: &[&str]) -> User {
    let mut groups: Vec<String> = groups.iter().map(|g| g.to_string()).collect();
    groups.push("system:authenticated".into());
    User { name: name.into(), groups, ..Default::default() }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn main() {
    let snapshot = RbacSnapshot::from_objects(objects());
    let cases = [
        ("allowed by a RoleBinding (admin, aggregated)", true, Attributes::resource(user("user-500", &[]), "create", Some("ns-50"), "", "pods", "", "")),
        ("allowed through a group", true, Attributes::resource(user("someone", &["team-7"]), "get", Some("ns-7"), "apps", "deployments", "scale", "web")),
        ("denied in another namespace", false, Attributes::resource(user("user-500", &[]), "list", Some("ns-51"), "", "secrets", "", "")),
        ("denied at cluster scope", false, Attributes::resource(user("user-500", &[]), "list", None, "", "secrets", "", "")),
        ("non-resource /api (system:discovery)", true, Attributes::non_resource(user("user-1", &[]), "get", "/api")),
    ];
    let iterations = 100_000;
    println!("RBAC authorizer, {} RoleBindings in {NAMESPACES} namespaces + default policy", NAMESPACES * BINDINGS_PER_NAMESPACE);
    for (what, expected, attrs) in &cases {
        let expected = *expected;
        assert_eq!(authz::authorize(&snapshot, attrs).is_allowed(), expected, "{what}");
        let mut samples = Vec::with_capacity(iterations);
        for _ in 0..iterations {
            let start = Instant::now();
            let decision = authz::authorize(&snapshot, std::hint::black_box(attrs));
            samples.push(start.elapsed());
            assert_eq!(decision.is_allowed(), expected);
        }
        samples.sort();
        println!(
            "{what:<45} allowed={expected:<5} p50 {:>6.2} µs  p99 {:>6.2} µs  max {:>7.2} µs",
            percentile(&samples, 0.5).as_secs_f64() * 1e6,
            percentile(&samples, 0.99).as_secs_f64() * 1e6,
            samples[samples.len() - 1].as_secs_f64() * 1e6,
        );
    }
}
