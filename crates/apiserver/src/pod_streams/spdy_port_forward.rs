//! Port forwarding as kubectl speaks it (`portforward.k8s.io` over SPDY):
//! for each local connection the client opens an error stream and a data
//! stream with the same `requestID` and the pod's `port` in their
//! headers; the server connects to the port and copies the data stream
//! both ways, writes a failure to the error stream, and closes both when
//! the pod's side ends. Many connections share one SPDY session.

use super::spdy::{self, Frame};
use crate::node_link::NodeLink;
use bytes::Bytes;
use std::collections::HashMap;
use std::sync::Arc;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;

/// RST_STREAM status for a stream the server does not take.
const REFUSED_STREAM: u32 = 3;

/// What the session writes, in order, through one writer.
enum Out {
    Reply(u32),
    Data { stream: u32, data: Bytes, fin: bool },
    Reset(u32),
    Ping(u32),
    Window { stream: u32, delta: u32 },
}

/// The streams of one forwarded connection, as they arrive.
#[derive(Default)]
struct Pair {
    error: Option<u32>,
    data: Option<u32>,
    port: Option<String>,
}

/// Serves one SPDY session on `io` until the client ends it.
pub(super) async fn session<IO>(io: IO, link: Arc<dyn NodeLink>, node: String, uid: String)
where
    IO: AsyncRead + AsyncWrite + Send + 'static,
{
    let (read, write) = tokio::io::split(io);
    let mut reader = spdy::Reader::new(read);
    let writer = match spdy::Writer::new(write) {
        Ok(w) => w,
        Err(error) => {
            tracing::warn!(%error, "starting a SPDY session");
            return;
        }
    };
    let (out, rx) = mpsc::channel::<Out>(64);
    let writing = tokio::spawn(write_out(writer, rx));
    let mut pairs: HashMap<String, Pair> = HashMap::new();
    let mut inbound: HashMap<u32, mpsc::Sender<Option<Bytes>>> = HashMap::new();
    loop {
        let frame = match reader.next().await {
            Ok(Some(frame)) => frame,
            Ok(None) => break,
            Err(error) => {
                tracing::debug!(%error, "a port forward's SPDY session ended");
                break;
            }
        };
        match frame {
            Frame::SynStream { stream, headers, .. } => {
                let get = |name: &str| headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone());
                let request = get("requestid").unwrap_or_else(|| stream.to_string());
                let pair = pairs.entry(request.clone()).or_default();
                match get("streamtype").as_deref() {
                    Some("error") => pair.error = Some(stream),
                    Some("data") => pair.data = Some(stream),
                    _ => {
                        let _ = out.send(Out::Reset(stream)).await;
                        continue;
                    }
                }
                if pair.port.is_none() {
                    pair.port = get("port");
                }
                let _ = out.send(Out::Reply(stream)).await;
                if let Some(Pair { error: Some(error), data: Some(data), port }) = pairs.get(&request).map(|p| Pair { error: p.error, data: p.data, port: p.port.clone() }) {
                    pairs.remove(&request);
                    let (tx, rx) = mpsc::channel(16);
                    inbound.insert(data, tx);
                    let forward = Forward { link: link.clone(), node: node.clone(), uid: uid.clone(), port, error, data };
                    tokio::spawn(forward.run(rx, out.clone()));
                }
            }
            Frame::Data { stream, fin, data } => {
                if !data.is_empty() {
                    // Give the client its window back (SPDY/3.1 flow
                    // control, for the stream and the session).
                    let delta = data.len() as u32;
                    let _ = out.send(Out::Window { stream, delta }).await;
                    let _ = out.send(Out::Window { stream: 0, delta }).await;
                    if let Some(tx) = inbound.get(&stream) {
                        let _ = tx.send(Some(data)).await;
                    }
                }
                if fin && let Some(tx) = inbound.remove(&stream) {
                    let _ = tx.send(None).await;
                }
            }
            Frame::Reset { stream } => {
                inbound.remove(&stream);
            }
            Frame::Ping { id } => {
                let _ = out.send(Out::Ping(id)).await;
            }
            Frame::GoAway => break,
            Frame::Other => {}
        }
    }
    drop(inbound);
    drop(out);
    let _ = writing.await;
}

async fn write_out<W: AsyncWrite + Unpin>(mut writer: spdy::Writer<W>, mut rx: mpsc::Receiver<Out>) {
    while let Some(item) = rx.recv().await {
        let written = match item {
            Out::Reply(stream) => writer.syn_reply(stream).await,
            Out::Data { stream, data, fin } => writer.data(stream, &data, fin).await,
            Out::Reset(stream) => writer.reset(stream, REFUSED_STREAM).await,
            Out::Ping(id) => writer.ping(id).await,
            Out::Window { stream, delta } => writer.window_update(stream, delta).await,
        };
        if written.is_err() {
            return;
        }
    }
}

/// One forwarded connection.
struct Forward {
    link: Arc<dyn NodeLink>,
    node: String,
    uid: String,
    port: Option<String>,
    error: u32,
    data: u32,
}

impl Forward {
    async fn run(self, mut from_client: mpsc::Receiver<Option<Bytes>>, out: mpsc::Sender<Out>) {
        let Forward { link, node, uid, port, error, data } = self;
        let fail = |message: String| {
            let out = out.clone();
            async move {
                let _ = out.send(Out::Data { stream: error, data: Bytes::from(message), fin: true }).await;
                let _ = out.send(Out::Data { stream: data, data: Bytes::new(), fin: true }).await;
            }
        };
        let Some(number) = port.as_deref().and_then(|p| p.parse::<u16>().ok()).filter(|p| *p > 0) else {
            return fail(format!("invalid port in the stream headers: {port:?}")).await;
        };
        let conn = match link.port_forward(&node, &uid, number).await {
            Ok(conn) => conn,
            Err(e) => return fail(format!("error forwarding port {number} to pod {uid}, uid : {e}")).await,
        };
        let (mut pod_read, mut pod_write) = tokio::io::split(conn);
        let upstream = tokio::spawn(async move {
            while let Some(Some(bytes)) = from_client.recv().await {
                if pod_write.write_all(&bytes).await.is_err() {
                    return;
                }
            }
            // The client closed its side: so does the connection to the pod.
            let _ = pod_write.shutdown().await;
        });
        let mut buf = vec![0u8; spdy::MAX_DATA];
        loop {
            match pod_read.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if out.send(Out::Data { stream: data, data: Bytes::copy_from_slice(&buf[..n]), fin: false }).await.is_err() {
                        break;
                    }
                }
            }
        }
        upstream.abort();
        let _ = out.send(Out::Data { stream: data, data: Bytes::new(), fin: true }).await;
        let _ = out.send(Out::Data { stream: error, data: Bytes::new(), fin: true }).await;
    }
}
