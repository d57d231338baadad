//! The namespace controller: a Namespace being deleted has everything in it
//! deleted (every namespaced resource discovery lists, custom resources
//! included), its conditions say what remains, and once nothing does its
//! `kubernetes` finalizer is removed through the `finalize` subresource so
//! the API server lets it go.

mod conditions;
mod content;

use conditions::Remaining;
use futures::StreamExt;
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, PostParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::watcher;
use kube::{Client, ResourceExt};
use std::sync::Arc;
use std::time::Duration;

/// The finalizer of `spec.finalizers` this controller owns.
pub const FINALIZER: &str = "kubernetes";

/// How soon to look again while content remains (objects with finalizers
/// or a graceful deletion in progress).
const RECHECK: Duration = Duration::from_secs(1);

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("namespace {namespace}: {source}")]
    Api {
        namespace: String,
        #[source]
        source: kube::Error,
    },
}

struct Ctx {
    client: Client,
}

/// Runs the controller until its watch ends.
pub async fn run(client: Client) {
    let namespaces: Api<Namespace> = Api::all(client.clone());
    Controller::new(namespaces, watcher::Config::default())
        .run(reconcile, error_policy, Arc::new(Ctx { client }))
        .for_each(|result| async move {
            if let Err(e) = result {
                tracing::debug!(error = %e, "namespace reconcile");
            }
        })
        .await;
}

fn error_policy(_ns: Arc<Namespace>, error: &Error, _ctx: Arc<Ctx>) -> Action {
    tracing::warn!(%error, "namespace cleanup failed; retrying");
    Action::requeue(Duration::from_secs(5))
}

async fn reconcile(ns: Arc<Namespace>, ctx: Arc<Ctx>) -> Result<Action, Error> {
    if ns.metadata.deletion_timestamp.is_none() {
        return Ok(Action::await_change());
    }
    let name = ns.name_any();
    let api_error = |source| Error::Api { namespace: name.clone(), source };
    let finalizers = ns.spec.as_ref().and_then(|s| s.finalizers.clone()).unwrap_or_default();
    if !finalizers.iter().any(|f| f == FINALIZER) {
        return Ok(Action::await_change());
    }
    let report = content::delete_all(&ctx.client, &name).await;
    let remaining = Remaining::from(&report);
    conditions::record(&ctx.client, &ns, &remaining).await.map_err(api_error)?;
    if !remaining.is_empty() {
        return Ok(Action::requeue(RECHECK));
    }
    let mut finalized = (*ns).clone();
    if let Some(spec) = finalized.spec.as_mut() {
        spec.finalizers = Some(finalizers.into_iter().filter(|f| f != FINALIZER).collect());
    }
    finalized.metadata.managed_fields = None;
    let namespaces: Api<Namespace> = Api::all(ctx.client.clone());
    match namespaces.replace_subresource("finalize", &name, &PostParams::default(), &finalized).await {
        Ok(_) => {
            tracing::info!(namespace = %name, "namespace emptied and finalized");
            Ok(Action::await_change())
        }
        Err(kube::Error::Api(s)) if s.code == 404 || s.code == 409 => Ok(Action::requeue(RECHECK)),
        Err(e) => Err(api_error(e)),
    }
}
