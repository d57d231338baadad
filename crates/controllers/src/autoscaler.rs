//! The horizontal pod autoscaler (autoscaling/v2), kube-controller-
//! manager's `horizontal-pod-autoscaler` controller: every sync period it
//! reads each HPA's target scale, the PodMetrics of the pods its selector
//! picks (`metrics.k8s.io`) and those pods, decides the replica count
//! (`decision`: bounds, `replicas` per metric, `behavior` for
//! stabilization and rate limits), resizes the target and writes the
//! status, conditions and Events Kubernetes writes. Without metrics (no
//! node agent, only simulated nodes) every resource metric is reported
//! missing in Kubernetes' words.
//!
//! Syncs come from the sync period, not from the HPA's own status writes:
//! only a new HPA or a change of its spec (`generation`) syncs it at once.

mod behavior;
mod conditions;
mod decision;
mod metrics;
mod replicas;
mod status;

use crate::events::{NORMAL, Recorder, WARNING};
use behavior::History;
use decision::{Decision, Observed, Outcome, Scale, Settings};
use futures::StreamExt;
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::{Api, DynamicObject, ListParams, Patch, PatchParams};
use kube::core::GroupVersionKind;
use kube::runtime::controller::{Action, Controller};
use kube::runtime::{WatchStreamExt, predicates, reflector, watcher};
use kube::{Client, Resource, ResourceExt};
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// Kubernetes' default `--horizontal-pod-autoscaler-sync-period`.
pub const DEFAULT_SYNC_PERIOD: Duration = Duration::from_secs(15);

/// What client-go reports when the metrics API is not served at all.
const METRICS_API_NOT_FOUND: &str = "the server could not find the requested resource (get pods.metrics.k8s.io)";

/// The longest stabilization window validation allows; a history not
/// synced for longer belongs to a deleted HPA.
const HISTORY_TTL: Duration = Duration::from_secs(3600);

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
    settings: Settings,
    sync_period: Duration,
    /// Recommendations and scale events by HPA uid.
    histories: Mutex<HashMap<String, History>>,
}

/// Runs the controller, syncing every HPA each `sync_period`, until its
/// watch ends.
pub async fn run(client: Client, sync_period: Duration) {
    let recorder = Recorder::new(client.clone(), "horizontal-pod-autoscaler");
    let (reader, writer) = reflector::store();
    let hpas = watcher(Api::<HorizontalPodAutoscaler>::all(client.clone()), watcher::Config::default())
        .default_backoff()
        .reflect(writer)
        .applied_objects()
        .predicate_filter(predicates::generation, Default::default());
    let ctx = Ctx { client, recorder, settings: Settings::default(), sync_period, histories: Mutex::new(HashMap::new()) };
    Controller::for_stream(hpas, reader)
        .run(reconcile, error_policy, Arc::new(ctx))
        .for_each(|result| async move {
            if let Err(e) = result {
                tracing::debug!(error = %e, "autoscaler sync");
            }
        })
        .await;
}

fn error_policy(_hpa: Arc<HorizontalPodAutoscaler>, error: &Error, ctx: Arc<Ctx>) -> Action {
    tracing::warn!(%error, "autoscaler sync failed; retrying");
    Action::requeue(ctx.sync_period)
}

/// Kubernetes' message for an API error: the Status message, with the
/// resource named for a missing one where client-go adds it.
fn message(e: &kube::Error) -> String {
    match e {
        kube::Error::Api(s) => s.message.clone(),
        other => other.to_string(),
    }
}

/// The target's scale and the API to write it through.
async fn read_scale(client: &Client, hpa: &HorizontalPodAutoscaler) -> Result<(Api<DynamicObject>, Scale), String> {
    let ns = hpa.namespace().unwrap_or_default();
    let target = hpa.spec.as_ref().map(|s| s.scale_target_ref.clone()).unwrap_or_default();
    let api_version = target.api_version.clone().unwrap_or_else(|| "v1".into());
    let (group, version) = match api_version.split_once('/') {
        Some((g, v)) => (g.to_string(), v.to_string()),
        None => (String::new(), api_version),
    };
    let gvk = GroupVersionKind::gvk(&group, &version, &target.kind);
    let (resource, _) = kube::discovery::pinned_kind(client, &gvk).await.map_err(|e| match e {
        kube::Error::Discovery(_) => format!("no matches for kind \"{}\" in group \"{}\"", gvk.kind, gvk.group),
        other => message(&other),
    })?;
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), &ns, &resource);
    let scale = api.get_scale(&target.name).await.map_err(|e| message(&e))?;
    let scale = Scale {
        spec_replicas: scale.spec.and_then(|s| s.replicas).unwrap_or(0),
        selector: scale.status.and_then(|s| s.selector),
    };
    Ok((api, scale))
}

/// The PodMetrics and the pods the scale's selector picks.
async fn observe(client: &Client, ns: &str, selector: &str) -> Observed {
    let params = ListParams::default().labels(selector);
    let request = kube::core::Request::new(format!("/apis/metrics.k8s.io/v1beta1/namespaces/{ns}/pods")).list(&params);
    let metrics = match request {
        Ok(r) => client.request::<metrics::PodMetricsList>(r).await.map(|l| l.items).map_err(|e| match e {
            kube::Error::Api(s) if s.code == 404 => METRICS_API_NOT_FOUND.to_string(),
            other => message(&other),
        }),
        Err(e) => Err(e.to_string()),
    };
    let pods = Api::<Pod>::namespaced(client.clone(), ns).list(&params).await.map(|l| l.items).map_err(|e| message(&e));
    Observed { metrics, pods }
}

async fn reconcile(hpa: Arc<HorizontalPodAutoscaler>, ctx: Arc<Ctx>) -> Result<Action, Error> {
    let key = hpa.uid().unwrap_or_else(|| format!("{}/{}", hpa.namespace().unwrap_or_default(), hpa.name_any()));
    if hpa.metadata.deletion_timestamp.is_some() {
        ctx.histories.lock().remove(&key);
        return Ok(Action::await_change());
    }
    let ns = hpa.namespace().unwrap_or_default();
    let api_error = |source| Error::Api { hpa: format!("{ns}/{}", hpa.name_any()), source };
    let scale = read_scale(&ctx.client, &hpa).await;
    let observed = match &scale {
        Ok((_, s)) if decision::wants_metrics(&hpa, s) => Some(observe(&ctx.client, &ns, s.selector.as_deref().unwrap_or_default()).await),
        _ => None,
    };
    let (now, wall) = (Instant::now(), jiff::Timestamp::now());
    let mut d = {
        let mut histories = ctx.histories.lock();
        histories.retain(|_, h| h.last_sync.is_none_or(|t| now.saturating_duration_since(t) < HISTORY_TTL.max(ctx.sync_period * 10)));
        let history = histories.entry(key.clone()).or_default();
        history.last_sync = Some(now);
        let s = scale.as_ref().map(|(_, s)| s).map_err(String::as_str);
        decision::decide(&hpa, s, observed.as_ref(), &ctx.settings, history, now, wall)
    };
    let replicas = enact(&ctx, &hpa, &key, &scale, &mut d, now).await;
    for (type_, reason, note) in &d.events {
        ctx.recorder.record(&hpa.object_ref(&()), type_, reason, note.clone()).await;
    }
    let next = status::next(hpa.status.as_ref(), &d.conditions, replicas.as_ref(), &Time(wall));
    if hpa.status.as_ref() != Some(&next) {
        Api::<HorizontalPodAutoscaler>::namespaced(ctx.client.clone(), &ns)
            .patch_status(&hpa.name_any(), &PatchParams::default(), &Patch::Merge(&status::patch(&next)))
            .await
            .map_err(api_error)?;
    }
    Ok(Action::requeue(ctx.sync_period))
}

/// Resizes the target when decided, adding the conditions and Events of
/// the outcome; returns the replicas to report.
async fn enact(ctx: &Ctx, hpa: &HorizontalPodAutoscaler, key: &str, scale: &Result<(Api<DynamicObject>, Scale), String>, d: &mut Decision, now: Instant) -> Option<status::Replicas> {
    let (current, desired, rescale, metrics) = match &d.outcome {
        Outcome::NoScale => return None,
        Outcome::NoRecommendation { current, metrics } => {
            return Some(status::Replicas { current: *current, desired: None, metrics: metrics.clone(), rescaled: false });
        }
        Outcome::Decided { current, desired, rescale, metrics } => (*current, *desired, rescale.clone(), metrics.clone()),
    };
    let (Some(reason), Ok((api, _))) = (rescale, scale) else {
        return Some(status::Replicas { current, desired: Some(desired), metrics, rescaled: false });
    };
    let target = hpa.spec.as_ref().map(|s| s.scale_target_ref.name.clone()).unwrap_or_default();
    let patch = serde_json::json!({"spec": {"replicas": desired}});
    match api.patch_scale(&target, &PatchParams::default(), &Patch::Merge(&patch)).await {
        Ok(_) => {
            conditions::set(&mut d.conditions, "AbleToScale", "True", "SucceededRescale", format!("the HPA controller was able to update the target scale to {desired}"));
            d.events.push((NORMAL, "SuccessfulRescale", format!("New size: {desired}; reason: {reason}")));
            if let Some(h) = ctx.histories.lock().get_mut(key) {
                h.record_scale(hpa.spec.as_ref().and_then(|s| s.behavior.as_ref()), current, desired, now);
            }
            tracing::info!(hpa = %format!("{}/{}", hpa.namespace().unwrap_or_default(), hpa.name_any()), current, desired, %reason, "rescaled");
            Some(status::Replicas { current, desired: Some(desired), metrics, rescaled: true })
        }
        Err(e) => {
            let e = message(&e);
            d.events.push((WARNING, "FailedRescale", format!("New size: {desired}; reason: {reason}; error: {e}")));
            conditions::set(&mut d.conditions, "AbleToScale", "False", "FailedUpdateScale", format!("the HPA controller was unable to update the target scale: {e}"));
            Some(status::Replicas { current, desired: None, metrics, rescaled: false })
        }
    }
}
