//! The WebSocket upgrade of the streaming subresources and Kubernetes'
//! channel framing on it: every binary message starts with the number of
//! the stream it belongs to (`channel.k8s.io` and its `v4`/`v5`
//! successors; `v5` adds a message that closes one stream).

use crate::body::{self, Body};
use crate::error::ApiError;
use futures::stream::SplitSink;
use futures::SinkExt;
use http::{HeaderMap, Request, Response, StatusCode};
use hyper::upgrade::{OnUpgrade, Upgraded};
use hyper_util::rt::TokioIo;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};

pub(super) type Socket = WebSocketStream<TokioIo<Upgraded>>;
pub(super) type Sink = SplitSink<Socket, Message>;

/// The largest message a client may send (a stdin chunk or a forwarded
/// packet); clients send far smaller ones.
const MAX_MESSAGE: usize = 1 << 20;

/// A WebSocket upgrade accepted: the 101 answer to send, the protocol
/// chosen, and the connection once the client has it.
pub(super) struct Accepted {
    pub protocol: &'static str,
    pub response: Response<Body>,
    pub upgrade: OnUpgrade,
}

/// Whether the request asks for a WebSocket.
pub(super) fn is_upgrade(headers: &HeaderMap) -> bool {
    let has = |name: http::header::HeaderName, token: &str| {
        headers.get_all(name).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(',')).any(|t| t.trim().eq_ignore_ascii_case(token))
    };
    has(http::header::UPGRADE, "websocket") && has(http::header::CONNECTION, "upgrade")
}

/// Accepts the upgrade with the first protocol the client offers that is
/// in `supported` (`""`, the unversioned channel protocol, when it offers
/// none and that is supported).
pub(super) fn accept<B>(req: &mut Request<B>, supported: &[&'static str]) -> Result<Accepted, ApiError> {
    if !is_upgrade(req.headers()) {
        return Err(ApiError::BadRequest("Upgrade request required: this server streams over WebSocket only (SPDY is not supported)".into()));
    }
    let key = req
        .headers()
        .get(http::header::SEC_WEBSOCKET_KEY)
        .ok_or_else(|| ApiError::BadRequest("the WebSocket upgrade has no Sec-WebSocket-Key".into()))?;
    let accept_key = derive_accept_key(key.as_bytes());
    let offered: Vec<String> = req
        .headers()
        .get_all(http::header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty())
        .collect();
    let protocol = if offered.is_empty() {
        supported.iter().copied().find(|p| p.is_empty())
    } else {
        offered.iter().find_map(|o| supported.iter().copied().find(|s| !s.is_empty() && s == o))
    };
    let protocol = protocol.ok_or_else(|| {
        ApiError::BadRequest(format!(
            "none of the requested WebSocket protocols {offered:?} is supported; supported: {:?}",
            supported.iter().filter(|p| !p.is_empty()).collect::<Vec<_>>()
        ))
    })?;
    let upgrade = hyper::upgrade::on(&mut *req);
    let mut response = Response::new(body::empty());
    *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let headers = response.headers_mut();
    headers.insert(http::header::UPGRADE, http::HeaderValue::from_static("websocket"));
    headers.insert(http::header::CONNECTION, http::HeaderValue::from_static("Upgrade"));
    headers.insert(
        http::header::SEC_WEBSOCKET_ACCEPT,
        http::HeaderValue::from_str(&accept_key).map_err(|e| ApiError::Internal(e.to_string()))?,
    );
    if !protocol.is_empty() {
        headers.insert(http::header::SEC_WEBSOCKET_PROTOCOL, http::HeaderValue::from_static(protocol));
    }
    Ok(Accepted { protocol, response, upgrade })
}

/// The WebSocket once the 101 has reached the client.
pub(super) async fn open(upgrade: OnUpgrade) -> Option<Socket> {
    match upgrade.await {
        Ok(upgraded) => {
            let mut config = WebSocketConfig::default();
            config.max_message_size = Some(MAX_MESSAGE);
            config.max_frame_size = Some(MAX_MESSAGE);
            Some(WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, Some(config)).await)
        }
        Err(error) => {
            tracing::debug!(%error, "a WebSocket upgrade did not complete");
            None
        }
    }
}

/// One message on `channel`.
pub(super) fn frame(channel: u8, data: &[u8]) -> Message {
    let mut bytes = Vec::with_capacity(data.len() + 1);
    bytes.push(channel);
    bytes.extend_from_slice(data);
    Message::Binary(bytes.into())
}

/// Sends a message; false once the client is gone.
pub(super) async fn send(sink: &mut Sink, message: Message) -> bool {
    sink.send(message).await.is_ok()
}

/// Sends what a session produces, in order; gives the sink back for the
/// closing handshake (None when the client went away).
pub(super) async fn write_all(mut sink: Sink, mut rx: tokio::sync::mpsc::Receiver<Message>) -> Option<Sink> {
    while let Some(message) = rx.recv().await {
        if !send(&mut sink, message).await {
            return None;
        }
    }
    Some(sink)
}

/// Ends the session with a normal closure (client-go treats any other
/// close, even one without a code, as an error of every stream).
pub(super) async fn close(mut sink: Sink) {
    use tokio_tungstenite::tungstenite::protocol::CloseFrame;
    use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
    let frame = CloseFrame { code: CloseCode::Normal, reason: "".into() };
    let _ = sink.send(Message::Close(Some(frame))).await;
    let _ = sink.close().await;
}

/// The WebSocket as a byte stream, for a protocol tunnelled in it: each
/// binary message carries the next bytes, each write is one message.
pub(super) fn tunnel(socket: Socket) -> tokio::io::DuplexStream {
    use futures::StreamExt;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (ours, theirs) = tokio::io::duplex(64 * 1024);
    let (mut sink, mut source) = socket.split();
    let (mut read, mut write) = tokio::io::split(ours);
    tokio::spawn(async move {
        while let Some(Ok(message)) = source.next().await {
            match message {
                Message::Binary(bytes) if write.write_all(&bytes).await.is_err() => break,
                Message::Close(_) => break,
                _ => {}
            }
        }
        let _ = write.shutdown().await;
    });
    tokio::spawn(async move {
        let mut buf = vec![0u8; 32 * 1024];
        loop {
            match read.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if !send(&mut sink, Message::Binary(buf[..n].to_vec().into())).await {
                        return;
                    }
                }
            }
        }
        close(sink).await;
    });
    theirs
}
