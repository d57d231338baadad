//! Lifecycle hooks (the kubelet's handler runner): `postStart` right
//! after a container starts, `preStop` before it is sent its stop signal,
//! each an exec in the container, an HTTP GET to the pod or a sleep. An
//! exec fails on a non-zero exit; a GET only when no response comes (the
//! kubelet ignores the status); `tcpSocket` is kept in the API for old
//! clients but never ran. The messages are the kubelet's, for logs; its
//! Events name only the hook, since a command line may hold secrets.

use super::Ctx;
use super::exec_sync;
use super::http_get;
use super::probes::action;
use k8s_openapi::api::core::v1::{Container, LifecycleHandler, Pod};
use kube::ResourceExt;
use std::time::Duration;

/// At most this much of an exec hook's output is kept for its message.
const MAX_OUTPUT: usize = 10 * 1024;

/// `name_namespace(uid)`, as the kubelet names pods in messages.
fn pod_name(pod: &Pod) -> String {
    format!("{}_{}({})", pod.name_any(), pod.namespace().unwrap_or_default(), pod.uid().unwrap_or_default())
}

/// Runs `hook` for the container `c` (attempt `id`), for at most `limit`.
pub async fn run(ctx: &Ctx, pod: &Pod, c: &Container, id: &str, hook: &LifecycleHandler, pod_ip: &str, limit: Duration) -> Result<(), String> {
    if let Some(exec) = &hook.exec {
        let command = exec.command.clone().unwrap_or_default();
        let failed = |error: String, output: &[u8]| {
            format!("Exec lifecycle hook ([{}]) for Container {:?} in Pod {:?} failed - error: {error}, message: {:?}", command.join(" "), c.name, pod_name(pod), String::from_utf8_lossy(output))
        };
        return match exec_sync::run(ctx.containers.runtime(), id, &command, Some(limit), MAX_OUTPUT).await {
            Ok(out) if out.exit_code == 0 => Ok(()),
            Ok(out) => Err(failed(format!("command '{}' exited with {}: {}", command.join(" "), out.exit_code, String::from_utf8_lossy(&out.output)), &out.output)),
            Err(e) => Err(failed(e.to_string(), b"")),
        };
    }
    if let Some(get) = &hook.http_get {
        let path = get.path.clone().unwrap_or_default();
        let failed = |error: String| format!("HTTP lifecycle hook ({path}) for Container {:?} in Pod {:?} failed - error: {error}", c.name, pod_name(pod));
        let request = action::http_request(get, c, pod_ip, "lifecycle").map_err(failed)?;
        return match tokio::time::timeout(limit, http_get::get(&request)).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(failed(e)),
            Err(_) => Err(failed(format!("Get {:?}: context deadline exceeded", request.url.to_string()))),
        };
    }
    if let Some(sleep) = &hook.sleep {
        let seconds = Duration::from_secs(u64::try_from(sleep.seconds).unwrap_or(0));
        tokio::time::sleep(seconds.min(limit)).await;
        return Ok(());
    }
    Err(format!("Cannot run handler: invalid handler for Container {:?} in Pod {:?}: only exec, httpGet and sleep run", c.name, pod_name(pod)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifecycle_messages_name_the_pod_as_the_kubelet() {
        let pod: Pod = serde_json::from_value(serde_json::json!({"metadata": {"name": "web", "namespace": "prod", "uid": "1234"}})).expect("a pod");
        assert_eq!(pod_name(&pod), "web_prod(1234)");
    }
}
