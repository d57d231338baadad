//! `/healthz`, `/livez` and `/readyz`, which answer in plain text as
//! Kubernetes does.

use crate::body::{Body, full};
use http::{Response, StatusCode};

fn text(code: StatusCode, s: &'static str) -> Response<Body> {
    Response::builder()
        .status(code)
        .header(http::header::CONTENT_TYPE, "text/plain; charset=utf-8")
        .header("X-Content-Type-Options", "nosniff")
        .body(full(s))
        .unwrap_or_else(|_| Response::new(full(s)))
}

pub fn ok() -> Response<Body> {
    text(StatusCode::OK, "ok")
}

pub fn ready(ready: bool) -> Response<Body> {
    if ready {
        ok()
    } else {
        text(StatusCode::SERVICE_UNAVAILABLE, "[-]bootstrap failed: not finished\nreadyz check failed")
    }
}
