//! `pods/{name}/portforward`: kubectl's SPDY protocol
//! (`spdy_port_forward`), tunnelled in a WebSocket or after a SPDY
//! upgrade, and the WebSocket channel protocol other clients use
//! (`v4.channel.k8s.io` and the unversioned one, as the kubelet serves
//! it): for the i-th port asked for, channel 2i carries its data and 2i+1
//! its errors, and each channel opens with the port number (two bytes,
//! little endian). Each port is one connection to the pod's own loopback.

use super::{spdy_port_forward, websocket};
use super::{Pod, link};
use crate::body::Body;
use crate::error::ApiError;
use crate::node_link::NodeLink;
use crate::server::ApiServer;
use futures::StreamExt;
use http::{Request, Response};
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt, WriteHalf};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

/// The most ports one request may forward.
const MAX_PORTS: usize = 64;

/// kubectl's protocol: SPDY, tunnelled in the WebSocket (since 1.31).
const SPDY_TUNNEL: &str = "SPDY/3.1+portforward.k8s.io";
/// kubectl's protocol before: SPDY after an HTTP upgrade.
const SPDY_STREAM_PROTOCOL: &str = "portforward.k8s.io";

pub(super) async fn serve<B>(server: &ApiServer, mut req: Request<B>, pod: &Pod, params: &[(String, String)]) -> Result<Response<Body>, ApiError> {
    if pod.node().is_empty() {
        return Err(ApiError::BadRequest(format!("pod {} does not have a host assigned", pod.name)));
    }
    if pod.phase() != "Running" {
        return Err(ApiError::BadRequest(format!("unable to forward port because pod is not running. Current status={}", pod.phase())));
    }
    let link = link(server, pod.node())?;
    let (node, uid) = (pod.node().to_string(), pod.uid().to_string());
    if websocket::is_upgrade(req.headers()) {
        let accepted = websocket::accept(&mut req, &[SPDY_TUNNEL, "v4.channel.k8s.io", ""])?;
        if accepted.protocol == SPDY_TUNNEL {
            tokio::spawn(async move {
                if let Some(socket) = websocket::open(accepted.upgrade).await {
                    spdy_port_forward::session(websocket::tunnel(socket), link, node, uid).await;
                }
            });
        } else {
            // The channel protocol names its ports in the request.
            let ports = ports(params)?;
            tokio::spawn(async move {
                if let Some(socket) = websocket::open(accepted.upgrade).await {
                    session(socket, link, node, uid, ports).await;
                }
            });
        }
        return Ok(accepted.response);
    }
    if is_spdy_upgrade(req.headers()) {
        let offered = req.headers().get_all("x-stream-protocol-version").iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(',')).any(|p| p.trim() == SPDY_STREAM_PROTOCOL);
        if !offered {
            return Err(ApiError::Forbidden(format!("unable to upgrade: unable to negotiate protocol: the client must offer {SPDY_STREAM_PROTOCOL}")));
        }
        let upgrade = hyper::upgrade::on(&mut req);
        tokio::spawn(async move {
            match upgrade.await {
                Ok(upgraded) => spdy_port_forward::session(hyper_util::rt::TokioIo::new(upgraded), link, node, uid).await,
                Err(error) => tracing::debug!(%error, "a SPDY upgrade did not complete"),
            }
        });
        let mut response = Response::new(crate::body::empty());
        *response.status_mut() = http::StatusCode::SWITCHING_PROTOCOLS;
        let headers = response.headers_mut();
        headers.insert(http::header::CONNECTION, http::HeaderValue::from_static("Upgrade"));
        headers.insert(http::header::UPGRADE, http::HeaderValue::from_static("SPDY/3.1"));
        headers.insert("x-stream-protocol-version", http::HeaderValue::from_static(SPDY_STREAM_PROTOCOL));
        return Ok(response);
    }
    Err(ApiError::BadRequest("Upgrade request required: port forwarding needs a WebSocket or SPDY/3.1 upgrade".into()))
}

fn is_spdy_upgrade(headers: &http::HeaderMap) -> bool {
    headers.get_all(http::header::UPGRADE).iter().filter_map(|v| v.to_str().ok()).any(|v| v.trim().eq_ignore_ascii_case("SPDY/3.1"))
}

/// The ports of the `ports` parameters (each may list several, comma
/// separated).
fn ports(params: &[(String, String)]) -> Result<Vec<u16>, ApiError> {
    let mut out = Vec::new();
    for (_, value) in params.iter().filter(|(k, _)| k == "ports" || k == "port") {
        for p in value.split(',') {
            let port: u16 = p.trim().parse().map_err(|_| ApiError::BadRequest(format!("invalid port {p:?}: must be a number from 1 to 65535")))?;
            if port == 0 {
                return Err(ApiError::BadRequest(format!("port {p:?} must be > 0")));
            }
            out.push(port);
        }
    }
    if out.is_empty() {
        return Err(ApiError::BadRequest("query parameter \"ports\" is required".into()));
    }
    if out.len() > MAX_PORTS {
        return Err(ApiError::BadRequest(format!("at most {MAX_PORTS} ports may be forwarded at once")));
    }
    Ok(out)
}

type Conn = std::pin::Pin<Box<dyn crate::node_link::Duplex>>;

async fn session(socket: websocket::Socket, link: Arc<dyn NodeLink>, node: String, uid: String, ports: Vec<u16>) {
    let (mut sink, mut source) = socket.split();
    for (i, port) in ports.iter().enumerate() {
        for channel in [2 * i as u8, 2 * i as u8 + 1] {
            if !websocket::send(&mut sink, websocket::frame(channel, &port.to_le_bytes())).await {
                return;
            }
        }
    }
    let (tx, rx) = mpsc::channel::<Message>(16);
    let writer = tokio::spawn(websocket::write_all(sink, rx));
    let mut writers: Vec<Option<WriteHalf<Conn>>> = Vec::new();
    let mut readers = Vec::new();
    for (i, port) in ports.iter().enumerate() {
        let (data, errors) = (2 * i as u8, 2 * i as u8 + 1);
        match link.port_forward(&node, &uid, *port).await {
            Ok(conn) => {
                let (mut read, write) = tokio::io::split(conn);
                writers.push(Some(write));
                let tx = tx.clone();
                readers.push(tokio::spawn(async move {
                    let mut buf = vec![0u8; 32 * 1024];
                    loop {
                        match read.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => {
                                if tx.send(websocket::frame(data, &buf[..n])).await.is_err() {
                                    return;
                                }
                            }
                        }
                    }
                }));
            }
            Err(e) => {
                writers.push(None);
                let message = format!("error forwarding port {port} to pod {uid}: {e}");
                let _ = tx.send(websocket::frame(errors, message.as_bytes())).await;
            }
        }
    }
    drop(tx);
    let all_read = futures::future::join_all(readers);
    tokio::pin!(all_read);
    loop {
        tokio::select! {
            // Every connection has ended: so does the session.
            _ = &mut all_read => break,
            message = source.next() => match message {
                Some(Ok(Message::Binary(data))) => {
                    let (Some(channel), Some(bytes)) = (data.first().copied(), data.get(1..)) else { continue };
                    if channel % 2 == 1 {
                        continue;
                    }
                    if let Some(slot) = writers.get_mut(usize::from(channel / 2))
                        && let Some(w) = slot.as_mut()
                        && w.write_all(bytes).await.is_err()
                    {
                        *slot = None;
                    }
                }
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => break,
                Some(Ok(_)) => {}
            }
        }
    }
    drop(writers);
    if let Ok(Some(sink)) = writer.await {
        websocket::close(sink).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_forward_ports_are_parsed_and_checked() {
        let p = |v: &[(&str, &str)]| ports(&v.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<Vec<_>>());
        assert_eq!(p(&[("ports", "80,443"), ("ports", "8080")]).ok(), Some(vec![80, 443, 8080]));
        assert!(p(&[]).is_err());
        assert!(p(&[("ports", "0")]).is_err());
        assert!(p(&[("ports", "http")]).is_err());
        assert!(p(&[("ports", "70000")]).is_err());
    }
}
