//! Response and request bodies: one boxed body type for whole and streamed
//! responses, and reading request bodies under a size limit.

use crate::error::ApiError;
use bytes::Bytes;
use http_body_util::{BodyExt, Full, StreamBody, combinators::UnsyncBoxBody};
use hyper::body::Frame;
use serde_json::Value;

/// The body of every response.
pub type Body = UnsyncBoxBody<Bytes, std::io::Error>;

/// The largest request body accepted, as Kubernetes' 3 MiB limit.
pub const MAX_BODY_BYTES: usize = 3 * 1024 * 1024;

pub fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into()).map_err(|never| match never {}).boxed_unsync()
}

pub fn empty() -> Body {
    full(Bytes::new())
}

pub fn stream<S>(s: S) -> Body
where
    S: futures::Stream<Item = Result<Frame<Bytes>, std::io::Error>> + Send + 'static,
{
    StreamBody::new(s).boxed_unsync()
}

/// Serializes a JSON response with its status code.
pub fn json(code: http::StatusCode, value: &Value) -> http::Response<Body> {
    let bytes = serde_json::to_vec(value).unwrap_or_default();
    http::Response::builder()
        .status(code)
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(full(bytes))
        .unwrap_or_else(|_| http::Response::new(empty()))
}

/// How many bytes past the limit are still read and thrown away before the
/// 413 is sent. An HTTP/1.1 client writes its whole body before it reads the
/// answer; closing the connection under it turns a clear `Status` into a
/// broken pipe. Past this, the connection is dropped instead.
const DRAIN_BYTES: usize = 16 * 1024 * 1024;

/// How long an oversized body may take to drain.
const DRAIN_TIME: std::time::Duration = std::time::Duration::from_secs(5);

/// Reads a whole request body, refusing more than `limit` bytes.
pub async fn read<B>(body: B, limit: usize) -> Result<Bytes, ApiError>
where
    B: hyper::body::Body<Data = Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let mut body = std::pin::pin!(body);
    let mut buf = bytes::BytesMut::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| ApiError::BadRequest(format!("error reading request body: {}", e.into())))?;
        let Ok(data) = frame.into_data() else { continue };
        if buf.len() + data.len() > limit {
            drain(body, buf.len() + data.len()).await;
            return Err(ApiError::TooLarge { limit });
        }
        buf.extend_from_slice(&data);
    }
    Ok(buf.freeze())
}

/// Reads and discards the rest of an oversized body, within bounds.
async fn drain<B>(mut body: std::pin::Pin<&mut B>, mut seen: usize)
where
    B: hyper::body::Body<Data = Bytes>,
{
    let discard = async {
        while seen < DRAIN_BYTES {
            match body.frame().await {
                Some(Ok(frame)) => seen += frame.data_ref().map_or(0, |d| d.len()),
                _ => break,
            }
        }
    };
    let _ = tokio::time::timeout(DRAIN_TIME, discard).await;
}
