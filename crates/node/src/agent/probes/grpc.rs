//! gRPC probes: one `grpc.health.v1.Health/Check` call over HTTP/2
//! without TLS (h2c, as the kubelet's), its two one-field messages
//! encoded by hand (`HealthCheckRequest { string service = 1; }`,
//! `HealthCheckResponse { ServingStatus status = 1; }`) in gRPC's
//! length-prefixed framing. SERVING is success; anything else, an error
//! status or a timeout is a failure worded as the kubelet words it.

use super::check::Outcome;
use bytes::{BufMut, Bytes, BytesMut};
use std::time::Duration;
use tokio::net::TcpStream;

const PATH: &str = "/grpc.health.v1.Health/Check";
/// More than a health response can need.
const MAX_RESPONSE: usize = 64 * 1024;

/// `HealthCheckResponse.ServingStatus`, by number.
fn serving_status_name(n: u64) -> String {
    match n {
        0 => "UNKNOWN".into(),
        1 => "SERVING".into(),
        2 => "NOT_SERVING".into(),
        3 => "SERVICE_UNKNOWN".into(),
        n => n.to_string(),
    }
}

/// gRPC's status codes, as grpc-go prints them.
fn code_name(code: u32) -> String {
    const NAMES: [&str; 17] = [
        "OK", "Canceled", "Unknown", "InvalidArgument", "DeadlineExceeded", "NotFound", "AlreadyExists", "PermissionDenied",
        "ResourceExhausted", "FailedPrecondition", "Aborted", "OutOfRange", "Unimplemented", "Internal", "Unavailable", "DataLoss",
        "Unauthenticated",
    ];
    NAMES.get(code as usize).map(|n| n.to_string()).unwrap_or_else(|| format!("Code({code})"))
}

fn put_varint(mut v: u64, out: &mut BytesMut) {
    while v >= 0x80 {
        out.put_u8((v as u8 & 0x7f) | 0x80);
        v >>= 7;
    }
    out.put_u8(v as u8);
}

fn varint(buf: &[u8], at: &mut usize) -> Result<u64, String> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let b = *buf.get(*at).ok_or("truncated varint")?;
        *at += 1;
        v |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Ok(v);
        }
    }
    Err("varint too long".into())
}

/// The request message in its gRPC frame (an empty service is the
/// default value, which proto3 leaves out).
pub fn encode_request(service: &str) -> Bytes {
    let mut message = BytesMut::new();
    if !service.is_empty() {
        put_varint((1 << 3) | 2, &mut message);
        put_varint(service.len() as u64, &mut message);
        message.put_slice(service.as_bytes());
    }
    let mut frame = BytesMut::with_capacity(5 + message.len());
    frame.put_u8(0);
    frame.put_u32(message.len() as u32);
    frame.put_slice(&message);
    frame.freeze()
}

/// The serving status in a response body (its first frame); unknown
/// fields are skipped as protobuf readers do.
pub fn decode_response(body: &[u8]) -> Result<u64, String> {
    let header = body.get(..5).ok_or("grpc: response has no message")?;
    if header[0] != 0 {
        return Err("grpc: compressed response, none was asked for".into());
    }
    let len = u32::from_be_bytes([header[1], header[2], header[3], header[4]]) as usize;
    let message = body.get(5..5 + len).ok_or("grpc: truncated response message")?;
    let (mut at, mut status) = (0, 0);
    while at < message.len() {
        let key = varint(message, &mut at)?;
        match (key >> 3, key & 7) {
            (1, 0) => status = varint(message, &mut at)?,
            (_, 0) => {
                varint(message, &mut at)?;
            }
            (_, 1) => at += 8,
            (_, 2) => at += usize::try_from(varint(message, &mut at)?).map_err(|e| e.to_string())?,
            (_, 5) => at += 4,
            (_, wire) => return Err(format!("grpc: unsupported wire type {wire}")),
        }
        if at > message.len() {
            return Err("grpc: truncated response message".into());
        }
    }
    Ok(status)
}

/// `grpc-message` is percent-encoded.
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && let Some(v) = s.get(i + 1..i + 3).and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Go prints whole seconds as `1s`.
fn go_duration(d: Duration) -> String {
    if d.subsec_nanos() == 0 { format!("{}s", d.as_secs()) } else { format!("{}ms", d.as_millis()) }
}

/// The outcome of a call that ended with `code` (and `message`).
fn rpc_outcome(code: u32, message: &str, timeout: Duration) -> Outcome {
    match code {
        12 => Outcome::Failure(format!("this server does not implement the grpc health protocol (grpc.health.v1.Health): {message}")),
        4 => Outcome::Failure(format!("timeout: health rpc did not complete within {}", go_duration(timeout))),
        code => Outcome::Failure(format!("error: health rpc probe failed: rpc error: code = {} desc = {message}", code_name(code))),
    }
}

/// The status in `grpc-status` and `grpc-message` of headers or trailers.
fn grpc_status(headers: &http::HeaderMap) -> Option<(u32, String)> {
    let code = headers.get("grpc-status")?.to_str().ok()?.trim().parse().ok()?;
    let message = headers.get("grpc-message").and_then(|m| m.to_str().ok()).map(percent_decode).unwrap_or_default();
    Some((code, message))
}

/// Checks `service` at `host:port` within `timeout`.
pub async fn check(host: &str, port: u16, service: &str, timeout: Duration) -> Outcome {
    let authority = if host.contains(':') { format!("[{host}]:{port}") } else { format!("{host}:{port}") };
    let deadline = tokio::time::Instant::now() + timeout;
    let connected = tokio::time::timeout_at(deadline, async {
        let tcp = TcpStream::connect((host, port)).await.map_err(|e| format!("dial tcp {authority}: {}", crate::agent::http_get::go_error(&e)))?;
        h2::client::handshake(tcp).await.map_err(|e| e.to_string())
    })
    .await;
    let (client, connection) = match connected {
        Ok(Ok(c)) => c,
        Ok(Err(e)) => return Outcome::Failure(format!("timeout: failed to connect service {authority:?} within {}: {e}", go_duration(timeout))),
        Err(_) => return Outcome::Failure(format!("timeout: failed to connect service {authority:?} within {}: context deadline exceeded", go_duration(timeout))),
    };
    let driver = tokio::spawn(async move {
        let _ = connection.await;
    });
    let called = tokio::time::timeout_at(deadline, call(client, &authority, service)).await;
    driver.abort();
    match called {
        Err(_) => rpc_outcome(4, "", timeout),
        Ok(Err(e)) => Outcome::Failure(format!("error: health rpc probe failed: {e}")),
        Ok(Ok(Err((code, message)))) => rpc_outcome(code, &message, timeout),
        Ok(Ok(Ok(1))) => Outcome::Success("service is serving".into()),
        Ok(Ok(Ok(status))) => Outcome::Failure(format!("service unhealthy (responded with {:?})", serving_status_name(status))),
    }
}

/// The call: the serving status, or the call's gRPC status when not OK.
async fn call(client: h2::client::SendRequest<Bytes>, authority: &str, service: &str) -> Result<Result<u64, (u32, String)>, String> {
    let mut client = client.ready().await.map_err(|e| e.to_string())?;
    let request = http::Request::post(format!("http://{authority}{PATH}"))
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .header("user-agent", "kube-probe/1.33")
        .body(())
        .map_err(|e| e.to_string())?;
    let (response, mut stream) = client.send_request(request, false).map_err(|e| e.to_string())?;
    stream.send_data(encode_request(service), true).map_err(|e| e.to_string())?;
    let (head, mut body) = response.await.map_err(|e| e.to_string())?.into_parts();
    if head.status != http::StatusCode::OK {
        return Ok(Err((2, format!("unexpected HTTP status code received from server: {}", head.status.as_u16()))));
    }
    // A trailers-only response has its status in the headers.
    if let Some((code, message)) = grpc_status(&head.headers)
        && code != 0
    {
        return Ok(Err((code, message)));
    }
    let mut data = Vec::new();
    while let Some(chunk) = body.data().await {
        let chunk = chunk.map_err(|e| e.to_string())?;
        let _ = body.flow_control().release_capacity(chunk.len());
        data.extend_from_slice(&chunk);
        if data.len() > MAX_RESPONSE {
            return Err("grpc: response too large".into());
        }
    }
    let trailers = body.trailers().await.map_err(|e| e.to_string())?.unwrap_or_default();
    match grpc_status(&trailers).or_else(|| grpc_status(&head.headers)) {
        Some((0, _)) => decode_response(&data).map(Ok),
        Some((code, message)) => Ok(Err((code, message))),
        None => Ok(Err((13, "server closed the stream without sending trailers".into()))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grpc_frames_encode_and_decode() {
        assert_eq!(&encode_request("")[..], [0, 0, 0, 0, 0]);
        assert_eq!(&encode_request("db")[..], [0, 0, 0, 0, 4, 0x0a, 2, b'd', b'b']);
        assert_eq!(decode_response(&[0, 0, 0, 0, 2, 0x08, 1]), Ok(1));
        assert_eq!(decode_response(&[0, 0, 0, 0, 0]), Ok(0), "UNKNOWN is the default value");
        // An unknown string field 2, then status NOT_SERVING.
        assert_eq!(decode_response(&[0, 0, 0, 0, 7, 0x12, 3, b'a', b'b', b'c', 0x08, 2]), Ok(2));
        assert!(decode_response(&[0, 0, 0, 0, 3, 0x08]).is_err(), "truncated");
        assert!(decode_response(&[1, 0, 0, 0, 2, 0x08, 1]).is_err(), "compressed");
        let mut big = BytesMut::new();
        put_varint(300, &mut big);
        assert_eq!((&big[..], varint(&big, &mut 0)), (&[0xac, 0x02][..], Ok(300)));
        assert_eq!(percent_decode("unknown%20service%3A db"), "unknown service: db");
    }

    /// An HTTP/2 server answering health checks: `db` is NOT_SERVING,
    /// `missing` is NotFound, the rest SERVING.
    async fn server() -> u16 {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("binds");
        let port = listener.local_addr().expect("an address").port();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let Ok(mut conn) = h2::server::handshake(tcp).await else { return };
                    while let Some(Ok((request, mut respond))) = conn.accept().await {
                        let (head, mut body) = request.into_parts();
                        let mut data = Vec::new();
                        while let Some(Ok(chunk)) = body.data().await {
                            data.extend_from_slice(&chunk);
                        }
                        let service = String::from_utf8_lossy(data.get(7..).unwrap_or_default()).into_owned();
                        assert_eq!((head.uri.path(), head.headers["content-type"].to_str().ok()), (PATH, Some("application/grpc")));
                        if service == "missing" {
                            let r = http::Response::builder().header("content-type", "application/grpc").header("grpc-status", "5").header("grpc-message", "unknown%20service").body(()).expect("a response");
                            let _ = respond.send_response(r, true);
                            continue;
                        }
                        let status = if service == "db" { 2 } else { 1 };
                        let r = http::Response::builder().header("content-type", "application/grpc").body(()).expect("a response");
                        let Ok(mut stream) = respond.send_response(r, false) else { continue };
                        let _ = stream.send_data(Bytes::from(vec![0, 0, 0, 0, 2, 0x08, status]), false);
                        let mut trailers = http::HeaderMap::new();
                        trailers.insert("grpc-status", http::HeaderValue::from_static("0"));
                        let _ = stream.send_trailers(trailers);
                    }
                });
            }
        });
        port
    }

    #[tokio::test]
    async fn grpc_probes_call_the_health_service() {
        let port = server().await;
        let t = Duration::from_secs(2);
        assert_eq!(check("127.0.0.1", port, "", t).await, Outcome::Success("service is serving".into()));
        assert_eq!(check("127.0.0.1", port, "db", t).await, Outcome::Failure("service unhealthy (responded with \"NOT_SERVING\")".into()));
        assert_eq!(check("127.0.0.1", port, "missing", t).await, Outcome::Failure("error: health rpc probe failed: rpc error: code = NotFound desc = unknown service".into()));
        let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("binds");
        let gone = closed.local_addr().expect("an address").port();
        drop(closed);
        assert_eq!(
            check("127.0.0.1", gone, "", t).await,
            Outcome::Failure(format!("timeout: failed to connect service \"127.0.0.1:{gone}\" within 2s: dial tcp 127.0.0.1:{gone}: connect: connection refused"))
        );
        assert_eq!(rpc_outcome(12, "unknown service grpc.health.v1.Health", t), Outcome::Failure("this server does not implement the grpc health protocol (grpc.health.v1.Health): unknown service grpc.health.v1.Health".into()));
    }
}
