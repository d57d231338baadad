//! `GET pods/{name}/log`: `PodLogOptions` validated as Kubernetes does, the
//! container's log chosen as the kubelet does from the pod's status (the
//! running container, or the last one that ended; `previous` for the one
//! before), streamed from its node.

use super::{Pod, bool_param, link, param};
use crate::body::{self, Body};
use crate::error::ApiError;
use crate::node_link::LogOptions;
use crate::server::ApiServer;
use apimachinery::validation::{FieldError, Path};
use futures::StreamExt;
use http::{Response, StatusCode};
use hyper::body::Frame;
use serde_json::Value;

pub(super) async fn serve(server: &ApiServer, pod: &Pod, params: &[(String, String)]) -> Result<Response<Body>, ApiError> {
    let (options, previous) = options(&pod.name, params)?;
    let container = pod.container(param(params, "container"))?;
    // A pod not yet on a node has no logs, and no error (as Kubernetes).
    if pod.node().is_empty() {
        return Ok(text(body::empty()));
    }
    let container_id = container_id(pod, &container, previous)?;
    let link = link(server, pod.node())?;
    let stream = link.logs(pod.target(&container, &container_id), options).await?;
    let frames = stream.map(|chunk| chunk.map(Frame::data));
    Ok(text(body::stream(frames)))
}

fn text(body: Body) -> Response<Body> {
    let mut response = Response::new(body);
    *response.status_mut() = StatusCode::OK;
    response.headers_mut().insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("text/plain"));
    response
}

fn int(params: &[(String, String)], name: &str) -> Result<Option<i64>, ApiError> {
    param(params, name)
        .map(|v| v.parse::<i64>().map_err(|_| ApiError::BadRequest(format!("invalid value {v:?} for parameter {name}: expected an integer"))))
        .transpose()
}

/// The options, checked as `ValidatePodLogOptions` does, and `previous`.
fn options(pod: &str, params: &[(String, String)]) -> Result<(LogOptions, bool), ApiError> {
    let tail_lines = int(params, "tailLines")?;
    let limit_bytes = int(params, "limitBytes")?;
    let since_seconds = int(params, "sinceSeconds")?;
    let since_time = param(params, "sinceTime")
        .map(|v| v.parse::<jiff::Timestamp>().map_err(|e| ApiError::BadRequest(format!("invalid value {v:?} for parameter sinceTime: {e}"))))
        .transpose()?;
    let mut causes = Vec::new();
    if let Some(n) = tail_lines.filter(|n| *n < 0) {
        causes.push(FieldError::invalid(&Path::new("tailLines"), n, "must be greater than or equal to 0"));
    }
    if let Some(n) = limit_bytes.filter(|n| *n < 1) {
        causes.push(FieldError::invalid(&Path::new("limitBytes"), n, "must be greater than 0"));
    }
    if since_seconds.is_some() && since_time.is_some() {
        causes.push(FieldError::forbidden(&Path::new(""), "at most one of `sinceTime` or `sinceSeconds` may be specified"));
    }
    if let Some(n) = since_seconds.filter(|n| *n < 1) {
        causes.push(FieldError::invalid(&Path::new("sinceSeconds"), n, "must be greater than 0"));
    }
    if !causes.is_empty() {
        return Err(ApiError::Invalid { kind: "PodLogOptions".into(), group: String::new(), name: pod.to_string(), causes });
    }
    let since = match (since_time, since_seconds) {
        (Some(t), _) => Some(t),
        (None, Some(s)) => jiff::Timestamp::now().checked_sub(jiff::SignedDuration::from_secs(s)).ok(),
        (None, None) => None,
    };
    let options = LogOptions {
        follow: bool_param(params, "follow")?,
        since,
        tail_lines: tail_lines.map(|n| n as u64),
        timestamps: bool_param(params, "timestamps")?,
        limit_bytes: limit_bytes.map(|n| n as u64),
    };
    Ok((options, bool_param(params, "previous")?))
}

/// The id of the container whose log is asked for, from the pod's status
/// (the kubelet's `validateContainerLogStatus`, with its messages).
fn container_id(pod: &Pod, container: &str, previous: bool) -> Result<String, ApiError> {
    let name = &pod.name;
    let bad = |m: String| ApiError::BadRequest(m);
    let status = pod.container_status(container).ok_or_else(|| bad(format!("container {container:?} in pod {name:?} is not available")))?;
    let id = |v: &Value| v["containerID"].as_str().filter(|s| !s.is_empty()).map(str::to_string);
    let state = &status["state"];
    let last = &status["lastState"]["terminated"];
    if previous {
        return id(last).ok_or_else(|| bad(format!("previous terminated container {container:?} in pod {name:?} not found")));
    }
    if state["running"].is_object() {
        return id(status).ok_or_else(|| bad(format!("container {container:?} in pod {name:?} is waiting to start - no logs yet")));
    }
    if state["terminated"].is_object() {
        return id(&state["terminated"]).or_else(|| id(last)).ok_or_else(|| bad(format!("container {container:?} in pod {name:?} is terminated")));
    }
    if last.is_object() {
        return id(last).ok_or_else(|| bad(format!("container {container:?} in pod {name:?} is terminated")));
    }
    if let Some(reason) = state["waiting"]["reason"].as_str() {
        return Err(bad(match reason {
            "ErrImagePull" => format!("container {container:?} in pod {name:?} is waiting to start: image can't be pulled"),
            "ImagePullBackOff" => format!("container {container:?} in pod {name:?} is waiting to start: trying and failing to pull image"),
            other => format!("container {container:?} in pod {name:?} is waiting to start: {other}"),
        }));
    }
    Err(bad(format!("container {container:?} in pod {name:?} is waiting to start - no logs yet")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(status: Value) -> Pod {
        Pod {
            namespace: "default".into(),
            name: "web".into(),
            obj: json!({"metadata": {"uid": "u"}, "spec": {"nodeName": "n", "containers": [{"name": "app"}, {"name": "side"}]}, "status": status}),
        }
    }

    fn params(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn pod_log_options_are_validated_as_kubernetes_does() {
        let err = options("web", &params(&[("tailLines", "-1"), ("limitBytes", "0")])).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("PodLogOptions \"web\" is invalid") && err.contains("tailLines: Invalid value: -1: must be greater than or equal to 0") && err.contains("limitBytes: Invalid value: 0: must be greater than 0"), "{err}");
        let both = options("web", &params(&[("sinceSeconds", "5"), ("sinceTime", "2026-01-01T00:00:00Z")])).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(both.contains("at most one of `sinceTime` or `sinceSeconds` may be specified"), "{both}");
        assert!(matches!(options("web", &params(&[("tailLines", "x")])), Err(ApiError::BadRequest(_))));
        let (o, previous) = options("web", &params(&[("follow", "true"), ("tailLines", "3"), ("timestamps", "1"), ("previous", "true")])).expect("valid");
        assert!(o.follow && o.timestamps && previous && o.tail_lines == Some(3));
    }

    #[test]
    fn pod_log_container_is_chosen_as_the_kubelet_does() {
        let running = pod(json!({"containerStatuses": [
            {"name": "app", "containerID": "runc://u-app-1", "state": {"running": {}}, "lastState": {"terminated": {"containerID": "runc://u-app-0", "exitCode": 1}}},
            {"name": "side", "containerID": "", "state": {"waiting": {"reason": "ImagePullBackOff"}}, "lastState": {}},
        ]}));
        assert_eq!(container_id(&running, "app", false).ok().as_deref(), Some("runc://u-app-1"));
        assert_eq!(container_id(&running, "app", true).ok().as_deref(), Some("runc://u-app-0"));
        let waiting = container_id(&running, "side", false).err().map(|e| e.to_string()).unwrap_or_default();
        assert_eq!(waiting, "container \"side\" in pod \"web\" is waiting to start: trying and failing to pull image");
        let no_previous = container_id(&running, "side", true).err().map(|e| e.to_string()).unwrap_or_default();
        assert_eq!(no_previous, "previous terminated container \"side\" in pod \"web\" not found");

        let p = pod(json!({}));
        let choose = p.container(None).err().map(|e| e.to_string()).unwrap_or_default();
        assert_eq!(choose, "a container name must be specified for pod web, choose one of: [app side]");
        assert!(p.container(Some("nope")).is_err());
        assert_eq!(p.container(Some("side")).ok().as_deref(), Some("side"));
        let unavailable = container_id(&p, "app", false).err().map(|e| e.to_string()).unwrap_or_default();
        assert_eq!(unavailable, "container \"app\" in pod \"web\" is not available");
    }
}
