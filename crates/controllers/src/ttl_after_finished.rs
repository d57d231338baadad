//! The TTL-after-finished controller: deletes a finished Job (Complete or
//! Failed) `spec.ttlSecondsAfterFinished` seconds after it finished, with
//! foreground propagation (its pods go first) and a UID precondition,
//! after re-reading the Job live so a TTL changed meanwhile is honoured,
//! as Kubernetes' `ttl-after-finished-controller` does.

use futures::StreamExt;
use k8s_openapi::api::batch::v1::Job;
use kube::api::{Api, DeleteParams, Preconditions, PropagationPolicy};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::watcher;
use kube::{Client, ResourceExt};
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A call to the API server failed.
    #[error("jobs.batch {key}: {source}")]
    Api {
        key: String,
        #[source]
        source: kube::Error,
    },
}

/// When a finished Job with a TTL expires: the transition time of its
/// Complete or Failed condition plus the TTL. `None` for a Job that is not
/// finished, has no TTL, or is being deleted.
pub fn expires_at(job: &Job) -> Option<jiff::Timestamp> {
    if job.metadata.deletion_timestamp.is_some() {
        return None;
    }
    let ttl = job.spec.as_ref()?.ttl_seconds_after_finished?;
    let finished = job
        .status
        .as_ref()?
        .conditions
        .iter()
        .flatten()
        .find(|c| (c.type_ == "Complete" || c.type_ == "Failed") && c.status == "True")?;
    let at = finished.last_transition_time.as_ref()?.0;
    at.checked_add(jiff::SignedDuration::from_secs(i64::from(ttl)))
        .ok()
}

/// How long until `job` expires; zero once it has.
pub fn time_left(job: &Job, now: jiff::Timestamp) -> Option<Duration> {
    let at = expires_at(job)?;
    Some(if at <= now {
        Duration::ZERO
    } else {
        at.duration_since(now).unsigned_abs()
    })
}

/// Runs the controller until its watch ends.
pub async fn run(client: Client) {
    Controller::new(Api::<Job>::all(client.clone()), watcher::Config::default())
        .run(reconcile, error_policy, Arc::new(client))
        .for_each(|result| async move {
            if let Err(error) = result {
                tracing::debug!(%error, "ttl-after-finished reconcile");
            }
        })
        .await;
}

fn error_policy(_job: Arc<Job>, error: &Error, _client: Arc<Client>) -> Action {
    tracing::warn!(%error, "ttl-after-finished sync failed; retrying");
    Action::requeue(Duration::from_secs(5))
}

async fn reconcile(job: Arc<Job>, client: Arc<Client>) -> Result<Action, Error> {
    let now = jiff::Timestamp::now();
    let Some(left) = time_left(&job, now) else {
        return Ok(Action::await_change());
    };
    if !left.is_zero() {
        return Ok(Action::requeue(left));
    }
    let ns = job.namespace().unwrap_or_default();
    let name = job.name_any();
    let api_error = |source| Error::Api {
        key: format!("{ns}/{name}"),
        source,
    };
    let api: Api<Job> = Api::namespaced((*client).clone(), &ns);
    // The cache may be stale: only a live Job whose TTL truly expired goes.
    let Some(fresh) = api.get_opt(&name).await.map_err(api_error)? else {
        return Ok(Action::await_change());
    };
    match time_left(&fresh, now) {
        Some(left) if left.is_zero() => {}
        Some(left) => return Ok(Action::requeue(left)),
        None => return Ok(Action::await_change()),
    }
    let params = DeleteParams {
        propagation_policy: Some(PropagationPolicy::Foreground),
        preconditions: Some(Preconditions {
            uid: fresh.metadata.uid.clone(),
            resource_version: None,
        }),
        ..Default::default()
    };
    match api.delete(&name, &params).await {
        Ok(_) => {
            tracing::info!(job = %format!("{ns}/{name}"), "deleted a finished job whose TTL expired")
        }
        Err(kube::Error::Api(s)) if s.code == 404 || s.code == 409 => {}
        Err(e) => return Err(api_error(e)),
    }
    Ok(Action::await_change())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap: a panic is a failure
mod tests {
    use super::*;

    fn job(ttl: Option<i32>, conditions: serde_json::Value) -> Job {
        serde_json::from_value(serde_json::json!({"metadata": {"name": "j"},
            "spec": {"ttlSecondsAfterFinished": ttl, "template": {}}, "status": {"conditions": conditions}}))
        .unwrap()
    }

    #[test]
    fn ttl_expires_after_the_finish_time() {
        let now: jiff::Timestamp = "2025-05-01T12:00:10Z".parse().unwrap();
        let done = serde_json::json!([{"type": "SuccessCriteriaMet", "status": "True", "lastTransitionTime": "2025-05-01T11:00:00Z"},
            {"type": "Complete", "status": "True", "lastTransitionTime": "2025-05-01T12:00:00Z"}]);
        assert_eq!(
            time_left(&job(Some(30), done.clone()), now),
            Some(Duration::from_secs(20))
        );
        assert_eq!(
            time_left(&job(Some(5), done.clone()), now),
            Some(Duration::ZERO)
        );
        assert_eq!(time_left(&job(None, done), now), None);
        let failed = serde_json::json!([{"type": "Failed", "status": "True", "lastTransitionTime": "2025-05-01T12:00:00Z"}]);
        assert_eq!(time_left(&job(Some(0), failed), now), Some(Duration::ZERO));
        let running = serde_json::json!([{"type": "FailureTarget", "status": "True", "lastTransitionTime": "2025-05-01T12:00:00Z"}]);
        assert_eq!(time_left(&job(Some(0), running), now), None);
    }
}
