//! Sidecar containers (KEP-753): init containers with `restartPolicy:
//! Always`. They start in order with the other init containers, the next
//! one waiting until the sidecar started (its startup probe passed) rather
//! than ended; they run beside the app containers and are restarted
//! whatever the pod's policy; when the app containers of a pod that does
//! not restart them are done, the sidecars stop, in reverse order, after
//! the app containers (on deletion too).

use super::pod_status::{Seen, State};
use k8s_openapi::api::core::v1::{Container, Pod};
use std::collections::HashSet;

pub fn is_sidecar(c: &Container) -> bool {
    c.restart_policy.as_deref() == Some("Always")
}

/// The names of the pod's sidecars.
pub fn names(pod: &Pod) -> HashSet<String> {
    pod.spec.iter().flat_map(|s| s.init_containers.iter().flatten()).filter(|c| is_sidecar(c)).map(|c| c.name.clone()).collect()
}

/// Whether the init container `c`, as `seen`, keeps the next one from
/// starting: a regular one until it succeeded, a sidecar until started.
pub fn holds_up(c: &Container, seen: &Seen) -> bool {
    if is_sidecar(c) { !seen.started } else { !matches!(&seen.state, State::Terminated(e) if e.exit_code == 0) }
}

/// Whether every app container ended for good under the pod's `policy`,
/// so the sidecars are to stop (never under `Always`: they restart).
pub fn app_done(policy: &str, app: &[Seen]) -> bool {
    policy != "Always" && !app.is_empty() && app.iter().all(|s| matches!(s.state, State::Terminated(_)))
}

/// The order of stopping the pod's running containers, given as (name,
/// id): with each, the ids that must exit before it. App containers and
/// regular init containers stop at once; a sidecar after them and after
/// every sidecar that follows it in the spec.
pub fn stop_order(pod: &Pod, running: &[(String, String)]) -> Vec<(String, String, Vec<String>)> {
    let sidecars: Vec<&str> = pod.spec.iter().flat_map(|s| s.init_containers.iter().flatten()).filter(|c| is_sidecar(c)).map(|c| c.name.as_str()).collect();
    let position = |name: &str| sidecars.iter().position(|s| *s == name);
    running
        .iter()
        .map(|(name, id)| {
            let after = match position(name) {
                None => Vec::new(),
                Some(i) => running.iter().filter(|(other, _)| position(other).is_none_or(|j| j > i)).map(|(_, other)| other.clone()).collect(),
            };
            (name.clone(), id.clone(), after)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agent::pod_status::Ended;

    fn pod() -> Pod {
        serde_json::from_value(serde_json::json!({
            "spec": {
                "initContainers": [{"name": "setup"}, {"name": "log", "restartPolicy": "Always"}, {"name": "proxy", "restartPolicy": "Always"}],
                "containers": [{"name": "app"}],
            },
        }))
        .expect("a pod")
    }

    fn seen(state: State, started: bool) -> Seen {
        Seen { name: "c".into(), image: String::new(), image_id: String::new(), container_id: String::new(), restart_count: 0, state, last: None, started, ready: started }
    }

    fn ended(code: i32) -> State {
        State::Terminated(Ended { exit_code: code, signal: None, started_at: String::new(), finished_at: String::new(), container_id: String::new(), oom_killed: false, message: None })
    }

    #[test]
    fn sidecars_start_in_order_and_hold_up_until_started() {
        let spec = pod().spec.expect("a spec");
        let inits = spec.init_containers.expect("init containers");
        let (setup, log) = (&inits[0], &inits[1]);
        let running = State::Running { started_at: String::new() };
        assert!(holds_up(setup, &seen(running.clone(), true)), "a regular init container runs to its end");
        assert!(holds_up(setup, &seen(ended(1), false)));
        assert!(!holds_up(setup, &seen(ended(0), false)));
        assert!(holds_up(log, &seen(running.clone(), false)), "its startup probe has not passed");
        assert!(!holds_up(log, &seen(running.clone(), true)), "started: the next one starts while it runs");
        assert_eq!(names(&pod()), HashSet::from(["log".to_string(), "proxy".to_string()]));

        assert!(app_done("Never", &[seen(ended(0), false)]));
        assert!(app_done("OnFailure", &[seen(ended(0), false)]));
        assert!(!app_done("Always", &[seen(ended(0), false)]), "app containers restart");
        assert!(!app_done("Never", &[seen(ended(0), false), seen(running, true)]));
    }

    #[test]
    fn sidecars_stop_after_app_containers_in_reverse_order() {
        let running: Vec<(String, String)> = ["log", "proxy", "app"].iter().map(|n| (n.to_string(), format!("{n}-0"))).collect();
        let order = stop_order(&pod(), &running);
        let after = |name: &str| order.iter().find(|(n, _, _)| n == name).map(|(_, _, a)| a.clone()).unwrap_or_default();
        assert_eq!(after("app"), Vec::<String>::new());
        assert_eq!(after("proxy"), ["app-0"]);
        assert_eq!(after("log"), ["proxy-0", "app-0"]);
    }
}
