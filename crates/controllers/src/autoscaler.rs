//! The horizontal pod autoscaler (autoscaling/v2): reads the target's
//! scale, keeps it within minReplicas/maxReplicas, and reports in the
//! HPA's status and Events what it could not compute. Until a metrics API
//! is served (node agent issue) every metric is unavailable, and the HPA
//! says so exactly as Kubernetes does.

mod decision;

use decision::Decision;
use futures::StreamExt;
use k8s_openapi::api::autoscaling::v2::{HorizontalPodAutoscaler, HorizontalPodAutoscalerCondition};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use kube::core::GroupVersionKind;
use kube::runtime::controller::{Action, Controller};
use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use kube::runtime::watcher;
use kube::{Client, Resource, ResourceExt};
use std::sync::Arc;
use std::time::Duration;

/// Kubernetes' default `--horizontal-pod-autoscaler-sync-period`.
const SYNC_PERIOD: Duration = Duration::from_secs(15);

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("horizontalpodautoscaler {hpa}: {source}")]
    Api {
        hpa: String,
        #[source]
        source: kube::Error,
    },
}

struct Ctx {
    client: Client,
    recorder: Recorder,
}

/// Runs the controller until its watch ends.
pub async fn run(client: Client) {
    let recorder = Recorder::new(client.clone(), Reporter { controller: "horizontal-pod-autoscaler".into(), instance: None });
    Controller::new(Api::<HorizontalPodAutoscaler>::all(client.clone()), watcher::Config::default())
        .run(reconcile, error_policy, Arc::new(Ctx { client, recorder }))
        .for_each(|result| async move {
            if let Err(e) = result {
                tracing::debug!(error = %e, "autoscaler reconcile");
            }
        })
        .await;
}

fn error_policy(_hpa: Arc<HorizontalPodAutoscaler>, error: &Error, _ctx: Arc<Ctx>) -> Action {
    tracing::warn!(%error, "autoscaler pass failed; retrying");
    Action::requeue(SYNC_PERIOD)
}

/// The target's scale as (spec replicas, status replicas).
async fn read_scale(client: &Client, hpa: &HorizontalPodAutoscaler) -> Result<(Api<DynamicObject>, i32, i32), String> {
    let ns = hpa.namespace().unwrap_or_default();
    let target = hpa.spec.as_ref().map(|s| s.scale_target_ref.clone()).unwrap_or_default();
    let (group, version) = match target.api_version.as_deref().unwrap_or("v1").split_once('/') {
        Some((g, v)) => (g.to_string(), v.to_string()),
        None => (String::new(), target.api_version.clone().unwrap_or_else(|| "v1".into())),
    };
    let gvk = GroupVersionKind::gvk(&group, &version, &target.kind);
    let (resource, _) = kube::discovery::pinned_kind(client, &gvk).await.map_err(|e| match e {
        kube::Error::Discovery(_) => format!("no matches for kind \"{}\" in group \"{}\"", gvk.kind, gvk.group),
        other => other.to_string(),
    })?;
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), &ns, &resource);
    let scale = api.get_scale(&target.name).await.map_err(|e| match e {
        kube::Error::Api(s) => s.message.clone(),
        other => other.to_string(),
    })?;
    let spec = scale.spec.and_then(|s| s.replicas).unwrap_or(0);
    let status = scale.status.map(|s| s.replicas).unwrap_or(0);
    Ok((api, spec, status))
}

async fn reconcile(hpa: Arc<HorizontalPodAutoscaler>, ctx: Arc<Ctx>) -> Result<Action, Error> {
    if hpa.metadata.deletion_timestamp.is_some() {
        return Ok(Action::await_change());
    }
    let ns = hpa.namespace().unwrap_or_default();
    let name = hpa.name_any();
    let api_error = |source| Error::Api { hpa: format!("{ns}/{name}"), source };
    let scale = read_scale(&ctx.client, &hpa).await;
    let decision = decision::decide(&hpa, scale.as_ref().map(|(_, spec, status)| (*spec, *status)).map_err(Clone::clone));
    let mut rescaled = false;
    let target = hpa.spec.as_ref().map(|s| s.scale_target_ref.name.clone()).unwrap_or_default();
    if let (Some(reason), Ok((api, _, _))) = (&decision.rescale, &scale) {
        let patch = serde_json::json!({"spec": {"replicas": decision.desired}});
        api.patch_scale(&target, &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .map_err(api_error)?;
        rescaled = true;
        let note = format!("New size: {}; reason: {reason}", decision.desired);
        publish(&ctx, &hpa, EventType::Normal, "SuccessfulRescale", note).await;
    }
    for (reason, message) in &decision.warnings {
        publish(&ctx, &hpa, EventType::Warning, reason, message.clone()).await;
    }
    write_status(&ctx.client, &hpa, &decision, rescaled).await.map_err(api_error)?;
    Ok(Action::requeue(SYNC_PERIOD))
}

async fn publish(ctx: &Ctx, hpa: &HorizontalPodAutoscaler, type_: EventType, reason: &str, note: String) {
    let event = Event { type_, reason: reason.into(), note: Some(note), action: reason.into(), secondary: None };
    if let Err(e) = ctx.recorder.publish(&event, &hpa.object_ref(&())).await {
        tracing::debug!(error = %e, "publishing an autoscaler event");
    }
}

async fn write_status(client: &Client, hpa: &HorizontalPodAutoscaler, d: &Decision, rescaled: bool) -> Result<(), kube::Error> {
    let old = hpa.status.as_ref().and_then(|s| s.conditions.clone()).unwrap_or_default();
    let now = Time(jiff::Timestamp::now());
    let mut conditions: Vec<HorizontalPodAutoscalerCondition> = old.clone();
    for (type_, status, reason, message) in &d.conditions {
        let time = match old.iter().find(|c| c.type_ == *type_) {
            Some(c) if c.status == *status => c.last_transition_time.clone(),
            _ => Some(now.clone()),
        };
        let condition = HorizontalPodAutoscalerCondition {
            type_: type_.to_string(),
            status: status.to_string(),
            reason: Some(reason.to_string()),
            message: Some(message.clone()),
            last_transition_time: time,
        };
        match conditions.iter_mut().find(|c| c.type_ == *type_) {
            Some(c) => *c = condition,
            None => conditions.push(condition),
        }
    }
    let last_scale = if rescaled { Some(now) } else { hpa.status.as_ref().and_then(|s| s.last_scale_time.clone()) };
    let status = serde_json::json!({"status": {
        "observedGeneration": hpa.meta().generation,
        "currentReplicas": d.current,
        "desiredReplicas": d.desired,
        "lastScaleTime": last_scale,
        "conditions": conditions,
    }});
    let unchanged = hpa.status.as_ref().is_some_and(|s| {
        s.current_replicas == Some(d.current)
            && s.desired_replicas == d.desired
            && s.conditions.as_ref() == Some(&conditions)
            && s.observed_generation == hpa.meta().generation
    });
    if unchanged && !rescaled {
        return Ok(());
    }
    Api::<HorizontalPodAutoscaler>::namespaced(client.clone(), &hpa.namespace().unwrap_or_default())
        .patch_status(&hpa.name_any(), &PatchParams::default(), &Patch::Merge(&status))
        .await
        .map(|_| ())
}
