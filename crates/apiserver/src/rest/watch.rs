//! watch: a stream of `WatchEvent`s (ADDED, MODIFIED, DELETED, BOOKMARK,
//! ERROR) as newline-delimited JSON, from a resourceVersion or starting
//! with the current state, filtered by selectors, with bookmarks and a
//! timeout.

use super::output::{partial_metadata, table_of};
use super::read::{Selectors, wait_for_revision};
use super::raw_event::{self, Splice, splice_form};
use super::{Ctx, parse_rv};
use crate::body::{self, Body};
use crate::codec::Output;
use crate::error::ApiError;
use crate::query::RvMatch;
use bytes::Bytes;
use futures::StreamExt;
use http::{Response, StatusCode};
use hyper::body::Frame;
use serde_json::{Value, json};
use std::time::Duration;

/// How often a watch that allows bookmarks gets one.
const BOOKMARK_EVERY: Duration = Duration::from_secs(15);
/// The longest a watch stays open without `timeoutSeconds`.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30 * 60);

pub fn watch(ctx: Ctx) -> Result<Response<Body>, ApiError> {
    let selectors = Selectors::from_ctx(&ctx)?;
    let store = ctx.store().clone();
    let rv = ctx.query.resource_version.as_deref().map(|s| if s == "0" { Ok(0) } else { parse_rv(s) }).transpose()?;
    let send_initial = match ctx.query.send_initial_events {
        Some(true) => {
            if ctx.query.resource_version_match != Some(RvMatch::NotOlderThan) || !ctx.query.allow_watch_bookmarks {
                return Err(ApiError::Invalid {
                    kind: "ListOptions".into(),
                    group: "meta.k8s.io".into(),
                    name: String::new(),
                    causes: vec![apimachinery::validation::FieldError::forbidden(
                        &apimachinery::validation::Path::new("sendInitialEvents"),
                        "sendInitialEvents is forbidden for watch unless resourceVersionMatch is set to NotOlderThan and allowWatchBookmarks is true",
                    )],
                });
            }
            true
        }
        Some(false) => false,
        // Without a resourceVersion (or with "0") a watch starts with the
        // current state, as Kubernetes does.
        None => matches!(rv, None | Some(0)),
    };
    let timeout = ctx.query.timeout_seconds.map(Duration::from_secs).unwrap_or(DEFAULT_TIMEOUT);
    let metrics_gauge = ctx.server.inner.metrics.watches.clone();
    let prefix = ctx.resource.namespace_prefix(ctx.namespace());
    let ctx = std::sync::Arc::new(ctx);

    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Frame<Bytes>, std::io::Error>>(64);
    tokio::spawn(async move {
        metrics_gauge.inc();
        let deadline = tokio::time::sleep(timeout);
        tokio::pin!(deadline);
        let send = |v: Value| {
            let mut line = serde_json::to_vec(&v).unwrap_or_default();
            line.push(b'\n');
            Ok::<_, std::io::Error>(Frame::data(Bytes::from(line)))
        };
        let send_line = |line: Vec<u8>| Ok::<_, std::io::Error>(Frame::data(Bytes::from(line)));
        // Where the stream starts: the initial state's revision or the
        // client's resourceVersion.
        let mut last_rv;
        if send_initial {
            if let Some(rv) = rv.filter(|rv| *rv > 0)
                && let Err(e) = wait_for_revision(&store, rv).await {
                    let _ = tx.send(send(error_event(&e))).await;
                    metrics_gauge.dec();
                    return;
                }
            let listed = match store.list(&prefix, store::ListOptions::default()) {
                Ok(l) => l,
                Err(e) => {
                    let _ = tx.send(send(error_event(&ApiError::from(e)))).await;
                    metrics_gauge.dec();
                    return;
                }
            };
            for kv in &listed.items {
                let stored = splice_form(&ctx, &selectors).and_then(|form| Some((form, raw_event::Stored::parse(&kv.value)?)));
                let frame = match stored {
                    Some((form, object)) => {
                        if !selectors.label.as_ref().is_none_or(|l| l.matches(object.labels().as_ref())) {
                            continue;
                        }
                        send_line(spliced(&object, form, "ADDED", kv.mod_revision))
                    }
                    None => {
                        let Ok(obj) = ctx.decode(kv) else { continue };
                        if !selectors.matches(&ctx.resource.group, &ctx.resource.kind, &obj) {
                            continue;
                        }
                        send(event(&ctx, "ADDED", obj))
                    }
                };
                if tx.send(frame).await.is_err() {
                    metrics_gauge.dec();
                    return;
                }
            }
            last_rv = listed.revision;
            if ctx.query.send_initial_events == Some(true) {
                let b = bookmark(&ctx, last_rv, true);
                if tx.send(send(b)).await.is_err() {
                    metrics_gauge.dec();
                    return;
                }
            }
        } else {
            last_rv = rv.unwrap_or(0);
            // A resourceVersion the store has not reached yet waits a moment,
            // as Kubernetes does, before the watch gives up.
            if let Err(e) = wait_for_revision(&store, last_rv).await {
                let _ = tx.send(send(error_event(&e))).await;
                metrics_gauge.dec();
                return;
            }
        }
        let mut events = match store.watch(&prefix, last_rv) {
            Ok(s) => s,
            Err(e) => {
                let _ = tx.send(send(error_event(&ApiError::from(e)))).await;
                metrics_gauge.dec();
                return;
            }
        };
        let mut ticker = tokio::time::interval(BOOKMARK_EVERY);
        ticker.tick().await;
        loop {
            tokio::select! {
                _ = &mut deadline => {
                    // A last bookmark before the timeout closes the watch,
                    // as Kubernetes sends (KEP-956), so the client resumes
                    // from here and not from an older revision the history
                    // may no longer hold.
                    if ctx.query.allow_watch_bookmarks {
                        last_rv = last_rv.max(events.progress_revision());
                        let _ = tx.send(send(bookmark(&ctx, last_rv, false))).await;
                    }
                    break;
                }
                _ = tx.closed() => break,
                _ = ticker.tick(), if ctx.query.allow_watch_bookmarks => {
                    last_rv = last_rv.max(events.progress_revision());
                    if tx.send(send(bookmark(&ctx, last_rv, false))).await.is_err() { break; }
                }
                next = events.next() => {
                    let Some(next) = next else { break };
                    let ev = match next {
                        Ok(ev) => ev,
                        Err(e) => {
                            let _ = tx.send(send(error_event(&ApiError::from(e)))).await;
                            break;
                        }
                    };
                    last_rv = ev.revision;
                    let frame = match translate(&ctx, &selectors, &ev) {
                        Some(Translated::Line(line)) => send_line(line),
                        Some(Translated::Event(out)) => send(out),
                        None => continue,
                    };
                    if tx.send(frame).await.is_err() { break; }
                }
            }
        }
        metrics_gauge.dec();
    });
    let stream = tokio_stream::wrappers::ReceiverStream::new(rx);
    let resp = Response::builder()
        .status(StatusCode::OK)
        .header(http::header::CONTENT_TYPE, "application/json")
        .header(http::header::CACHE_CONTROL, "no-cache, private")
        .body(body::stream(stream))
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(resp)
}

/// A watch event, encoded or still to encode.
enum Translated {
    Line(Vec<u8>),
    Event(Value),
}

/// The event type a watcher sees for a store event, given whether the
/// object matched its selectors before (`None`: there was no before) and
/// after; `None` when the watcher sees nothing. An object that stops
/// matching is DELETED for this watcher; one that starts matching is ADDED.
fn event_type(kind: store::EventKind, before: Option<bool>, now_matches: bool) -> Option<&'static str> {
    match (kind, before, now_matches) {
        (store::EventKind::Delete, before, now) => (before == Some(true) || now).then_some("DELETED"),
        (store::EventKind::Put, None, true) => Some("ADDED"),
        (store::EventKind::Put, Some(true), true) => Some("MODIFIED"),
        (store::EventKind::Put, Some(false), true) => Some("ADDED"),
        (store::EventKind::Put, Some(true), false) => Some("DELETED"),
        (store::EventKind::Put, _, false) => None,
    }
}

/// The watch event of a store event, or None when the selectors hide it.
fn translate(ctx: &Ctx, selectors: &Selectors, ev: &store::Event) -> Option<Translated> {
    if let Some(form) = splice_form(ctx, selectors)
        && let Some(now) = raw_event::Stored::parse(&ev.kv.value)
    {
        let matches = |s: &raw_event::Stored| selectors.label.as_ref().is_none_or(|l| l.matches(s.labels().as_ref()));
        let before = match &ev.prev {
            None => Some(None),
            Some(_) if selectors.label.is_none() => Some(Some(true)),
            Some(prev) => raw_event::Stored::parse(&prev.value).map(|p| Some(matches(&p))),
        };
        if let Some(before) = before {
            let shown = event_type(ev.kind, before, matches(&now))?;
            return Some(Translated::Line(spliced(&now, form, shown, ev.kv.mod_revision)));
        }
    }
    decoded(ctx, selectors, ev).map(Translated::Event)
}

fn spliced(object: &raw_event::Stored, form: Splice, event_type: &str, resource_version: i64) -> Vec<u8> {
    match form {
        Splice::Object => object.line(event_type, resource_version),
        Splice::Metadata => object.metadata_line(event_type, resource_version),
    }
}

fn decoded(ctx: &Ctx, selectors: &Selectors, ev: &store::Event) -> Option<Value> {
    let (group, kind) = (&ctx.resource.group, &ctx.resource.kind);
    let obj = ctx.decode(&ev.kv).ok()?;
    // Without selectors only whether there was a previous value matters.
    let before = match &ev.prev {
        None => None,
        Some(_) if selectors.is_empty() => Some(true),
        Some(prev) => Some(ctx.decode(prev).ok().is_some_and(|p| selectors.matches(group, kind, &p))),
    };
    let shown = event_type(ev.kind, before, selectors.matches(group, kind, &obj))?;
    Some(event(ctx, shown, obj))
}

fn event(ctx: &Ctx, kind: &str, obj: Value) -> Value {
    let object = match ctx.output {
        Output::Table => {
            let rv = obj.pointer("/metadata/resourceVersion").cloned().unwrap_or(Value::Null);
            table_of(ctx, std::slice::from_ref(&obj), json!({"resourceVersion": rv}))
        }
        Output::PartialObjectMetadata | Output::PartialObjectMetadataList => partial_metadata(&obj),
        _ => obj,
    };
    json!({"type": kind, "object": object})
}

fn bookmark(ctx: &Ctx, rv: i64, initial_events_end: bool) -> Value {
    let mut meta = json!({"resourceVersion": rv.to_string(), "creationTimestamp": null});
    if initial_events_end {
        meta["annotations"] = json!({"k8s.io/initial-events-end": "true"});
    }
    let (api_version, kind) = match ctx.output {
        Output::PartialObjectMetadata | Output::PartialObjectMetadataList => {
            ("meta.k8s.io/v1".to_string(), "PartialObjectMetadata".to_string())
        }
        _ => (ctx.resource.api_version(), ctx.resource.kind.clone()),
    };
    json!({"type": "BOOKMARK", "object": {"kind": kind, "apiVersion": api_version, "metadata": meta}})
}

fn error_event(e: &ApiError) -> Value {
    json!({"type": "ERROR", "object": e.status()})
}
