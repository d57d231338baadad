//! `pods/{name}/exec` and `pods/{name}/attach` over WebSocket (`v5.channel.k8s.io`, and
//! `v4.channel.k8s.io` for older clients): channel 0 is stdin, 1 stdout, 2
//! stderr, 3 the closing `Status` (with the exit code), 4 terminal resizes,
//! and in v5 a message on 255 closes stdin (what lets `kubectl cp` end a
//! tar stream).

use super::websocket;
use super::{Pod, bool_param, link, param};
use crate::body::Body;
use crate::error::ApiError;
use crate::node_link::{ExecOptions, ExecProcess, Reader};
use crate::server::ApiServer;
use futures::StreamExt;
use http::{Request, Response};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

const V5: &str = "v5.channel.k8s.io";
const V4: &str = "v4.channel.k8s.io";

const STDIN: u8 = 0;
const STDOUT: u8 = 1;
const STDERR: u8 = 2;
const ERROR: u8 = 3;
const RESIZE: u8 = 4;
const CLOSE: u8 = 255;

/// Whether the request is `exec` (with its command) or `attach`.
pub(super) enum Kind {
    Exec,
    Attach,
}

pub(super) async fn serve<B>(server: &ApiServer, mut req: Request<B>, pod: &Pod, params: &[(String, String)], kind: Kind) -> Result<Response<Body>, ApiError> {
    let command: Vec<String> = params.iter().filter(|(k, _)| k == "command").map(|(_, v)| v.clone()).collect();
    let verb = match kind {
        Kind::Exec if command.is_empty() => return Err(ApiError::BadRequest("you must specify at least 1 command".into())),
        Kind::Exec => "exec into",
        Kind::Attach => "attach to",
    };
    let (stdin, stdout, tty) = (bool_param(params, "stdin")?, bool_param(params, "stdout")?, bool_param(params, "tty")?);
    // A terminal merges stderr into its one output stream.
    let stderr = bool_param(params, "stderr")? && !tty;
    if !stdin && !stdout && !stderr && !tty {
        return Err(ApiError::BadRequest("you must specify at least one of stdin, stdout, stderr".into()));
    }
    let container = pod.container(param(params, "container"))?;
    if matches!(pod.phase(), "Succeeded" | "Failed") {
        return Err(ApiError::BadRequest(format!("cannot {verb} a container in a completed pod; current phase is {}", pod.phase())));
    }
    if pod.node().is_empty() {
        return Err(ApiError::BadRequest(format!("pod {} does not have a host assigned", pod.name)));
    }
    let status = pod.container_status(&container);
    let container_id = status
        .filter(|s| s["state"]["running"].is_object())
        .and_then(|s| s["containerID"].as_str())
        .filter(|id| !id.is_empty())
        .ok_or_else(|| ApiError::BadRequest(format!("unable to upgrade connection: container not found ({container:?})")))?;
    let accepted = websocket::accept(&mut req, &[V5, V4])?;
    let link = link(server, pod.node())?;
    let target = pod.target(&container, container_id);
    let process = match kind {
        Kind::Exec => link.exec(target, ExecOptions { command: command.clone(), stdin, tty }).await?,
        Kind::Attach => link.attach(target, stdin).await?,
    };
    let v5 = accepted.protocol == V5;
    tokio::spawn(async move {
        if let Some(socket) = websocket::open(accepted.upgrade).await {
            session(socket, v5, process, stdout || tty, stderr, command).await;
        }
    });
    Ok(accepted.response)
}

/// Carries the streams until the command has ended and its output is
/// out, then sends its status and closes.
async fn session(socket: websocket::Socket, v5: bool, process: ExecProcess, stdout: bool, stderr: bool, command: Vec<String>) {
    let ExecProcess { stdin, stdout: out, stderr: err, resize, exit } = process;
    let (sink, mut source) = socket.split();
    let (tx, rx) = mpsc::channel::<Message>(16);
    let writer = tokio::spawn(websocket::write_all(sink, rx));
    let pumps = [pump(out, STDOUT, stdout, tx.clone()), pump(err, STDERR, stderr, tx.clone())];
    let input = tokio::spawn(async move {
        let mut stdin = stdin;
        while let Some(message) = source.next().await {
            let data = match message {
                Ok(Message::Binary(data)) => data,
                Ok(Message::Close(_)) | Err(_) => break,
                Ok(_) => continue,
            };
            match (data.first().copied(), &data[1.min(data.len())..]) {
                (Some(STDIN), bytes) => {
                    if let Some(w) = stdin.as_mut()
                        && (w.write_all(bytes).await.is_err() || w.flush().await.is_err())
                    {
                        stdin = None;
                    }
                }
                (Some(RESIZE), bytes) => {
                    if let (Some(resize), Ok(size)) = (&resize, serde_json::from_slice::<Value>(bytes)) {
                        let dim = |k: &str| size[k].as_u64().and_then(|n| u16::try_from(n).ok()).unwrap_or(0);
                        resize(dim("Width"), dim("Height"));
                    }
                }
                (Some(CLOSE), [STDIN, ..]) if v5 => {
                    if let Some(mut w) = stdin.take() {
                        let _ = w.shutdown().await;
                    }
                }
                _ => {}
            }
        }
        // The client is gone: the command sees the end of its input.
        if let Some(mut w) = stdin.take() {
            let _ = w.shutdown().await;
        }
    });
    let code = exit.await;
    for p in pumps {
        let _ = p.await;
    }
    let _ = tx.send(websocket::frame(ERROR, &exit_status(code, &command))).await;
    drop(tx);
    if let Ok(Some(sink)) = writer.await {
        websocket::close(sink).await;
    }
    input.abort();
}

/// Copies one output stream into messages on `channel` (or drains it
/// when the client did not ask for it).
fn pump(reader: Option<Reader>, channel: u8, forward: bool, tx: mpsc::Sender<Message>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let Some(mut reader) = reader else { return };
        let mut buf = vec![0u8; 32 * 1024];
        loop {
            match reader.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) if forward => {
                    if tx.send(websocket::frame(channel, &buf[..n])).await.is_err() {
                        return;
                    }
                }
                Ok(_) => {}
            }
        }
    })
}

/// The `Status` the error channel ends with: success, or the exit code
/// as the kubelet reports it (kubectl exits with it).
fn exit_status(code: std::io::Result<i32>, command: &[String]) -> Vec<u8> {
    let status = match code {
        Ok(0) => json!({"metadata": {}, "status": "Success"}),
        Ok(code) => json!({
            "metadata": {},
            "status": "Failure",
            "message": format!("command terminated with non-zero exit code: error executing command [{}], exit code {code}", command.join(" ")),
            "reason": "NonZeroExitCode",
            "details": {"causes": [{"reason": "ExitCode", "message": code.to_string()}]},
        }),
        Err(e) => json!({"metadata": {}, "status": "Failure", "message": format!("error executing command: {e}"), "reason": "InternalError", "code": 500}),
    };
    serde_json::to_vec(&status).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exec_status_carries_the_exit_code_as_kubectl_reads_it() {
        let ok: Value = serde_json::from_slice(&exit_status(Ok(0), &[])).unwrap_or_default();
        assert_eq!(ok["status"], "Success");
        let failed: Value = serde_json::from_slice(&exit_status(Ok(3), &["sh".into(), "-c".into(), "exit 3".into()])).unwrap_or_default();
        assert_eq!(failed["reason"], "NonZeroExitCode");
        assert_eq!(failed["details"]["causes"][0], json!({"reason": "ExitCode", "message": "3"}));
        assert_eq!(failed["message"], "command terminated with non-zero exit code: error executing command [sh -c exit 3], exit code 3");
    }
}
