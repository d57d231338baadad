//! Running a command in a running container (`kubectl exec`): `runc exec`,
//! which starts from the container's own process spec (environment, user,
//! capabilities), with pipes, or with a terminal whose master end runc
//! hands over on a console socket (so the terminal can be resized; see
//! `exec_waiter` for who waits for such a command).

use crate::runtime::Runtime;
use std::ffi::OsString;
use std::future::Future;
use std::io;
use std::mem::MaybeUninit;
use std::os::fd::OwnedFd;
use std::path::PathBuf;
use std::pin::Pin;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};

/// How long runc may take to hand over the terminal.
const CONSOLE_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("container {0} is not running")]
    NotRunning(String),
    #[error("starting {runtime} exec in container {id}: {source}")]
    Spawn { runtime: String, id: String, source: io::Error },
    #[error("the terminal of exec in container {id}: {message}")]
    Console { id: String, message: String },
    #[error(transparent)]
    Runtime(#[from] crate::runtime::Error),
}

/// What to run.
#[derive(Debug, Clone)]
pub struct Request {
    pub command: Vec<String>,
    pub stdin: bool,
    pub tty: bool,
}

pub type Reader = Pin<Box<dyn AsyncRead + Send>>;
pub type Writer = Pin<Box<dyn AsyncWrite + Send>>;

/// A running exec: its streams (with a terminal, its output is all on
/// `stdout`), a way to resize its terminal, and its exit code.
pub struct Process {
    pub stdin: Option<Writer>,
    pub stdout: Option<Reader>,
    pub stderr: Option<Reader>,
    pub resize: Option<Box<dyn Fn(u16, u16) + Send + Sync>>,
    pub exit: Pin<Box<dyn Future<Output = io::Result<i32>> + Send>>,
}

/// Starts `request` in the running container `id`; `waiter` is how the
/// exec waiter is run (program and leading arguments).
pub async fn exec(runtime: &Runtime, waiter: &[OsString], id: &str, request: Request) -> Result<Process, Error> {
    let running = {
        let (runtime, owned) = (runtime.clone(), id.to_string());
        tokio::task::spawn_blocking(move || runtime.state(&owned))
            .await
            .map_err(|e| Error::Console { id: id.to_string(), message: e.to_string() })??
    };
    if running.is_none_or(|s| s.status != "running") {
        return Err(Error::NotRunning(id.to_string()));
    }
    if request.tty { with_terminal(runtime, waiter, id, request).await } else { with_pipes(runtime, id, request) }
}

fn spawn_error(runtime: &Runtime, id: &str) -> impl FnOnce(io::Error) -> Error {
    let (runtime, id) = (runtime.binary().to_string(), id.to_string());
    move |source| Error::Spawn { runtime, id, source }
}

fn with_pipes(runtime: &Runtime, id: &str, request: Request) -> Result<Process, Error> {
    let mut command = tokio::process::Command::from(runtime.command(None));
    command
        .arg("exec")
        .arg(id)
        .args(&request.command)
        .stdin(if request.stdin { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().map_err(spawn_error(runtime, id))?;
    let stdin = child.stdin.take().map(|s| Box::pin(s) as Writer);
    let stdout = child.stdout.take().map(|s| Box::pin(s) as Reader);
    let stderr = child.stderr.take().map(|s| Box::pin(s) as Reader);
    let exit = Box::pin(async move { child.wait().await.map(exit_code) });
    Ok(Process { stdin, stdout, stderr, resize: None, exit })
}

/// With a terminal: the waiter (`exec_waiter`) runs runc, which sends
/// the terminal's master end to a socket of ours.
async fn with_terminal(runtime: &Runtime, waiter: &[OsString], id: &str, request: Request) -> Result<Process, Error> {
    let console_error = |message: String| Error::Console { id: id.to_string(), message };
    let (program, leading) = waiter.split_first().ok_or_else(|| console_error("no exec waiter program is configured".into()))?;
    let socket = console_socket_path(runtime);
    let listener = tokio::net::UnixListener::bind(&socket).map_err(|e| console_error(format!("{}: {e}", socket.display())))?;
    let args = crate::exec_waiter::Args {
        runtime: runtime.binary().to_string(),
        runtime_root: runtime.root().to_path_buf(),
        console_socket: socket.clone(),
        id: id.to_string(),
        command: request.command.clone(),
    };
    let mut command = tokio::process::Command::new(program);
    command.args(leading).args(args.to_args()).stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped());
    let spawned = command.spawn();
    let mut child = match spawned {
        Ok(c) => c,
        Err(e) => {
            let _ = std::fs::remove_file(&socket);
            return Err(spawn_error(runtime, id)(e));
        }
    };
    let accepted = tokio::select! {
        accepted = tokio::time::timeout(CONSOLE_TIMEOUT, listener.accept()) => Some(accepted),
        // The waiter ended first: runc failed, and said why.
        _ = child.wait() => None,
    };
    let _ = std::fs::remove_file(&socket);
    let stream = match accepted {
        Some(Ok(Ok((stream, _)))) => stream,
        Some(Ok(Err(e))) => return Err(console_error(e.to_string())),
        Some(Err(_)) | None => {
            let _ = child.start_kill();
            let out = child.wait_with_output().await.map(|o| o.stderr).unwrap_or_default();
            return Err(console_error(String::from_utf8_lossy(&out).trim().to_string()));
        }
    };
    let stream = stream.into_std().map_err(|e| console_error(e.to_string()))?;
    stream.set_nonblocking(false).map_err(|e| console_error(e.to_string()))?;
    let master = tokio::task::spawn_blocking(move || receive_fd(&stream))
        .await
        .map_err(|e| console_error(e.to_string()))?
        .map_err(|e| console_error(format!("receiving the terminal: {e}")))?;
    let reader = master.try_clone().map_err(|e| console_error(e.to_string()))?;
    let writer = master.try_clone().map_err(|e| console_error(e.to_string()))?;
    let resize = move |width: u16, height: u16| {
        let size = rustix::termios::Winsize { ws_row: height, ws_col: width, ws_xpixel: 0, ws_ypixel: 0 };
        if let Err(error) = rustix::termios::tcsetwinsize(&master, size) {
            tracing::debug!(%error, "resizing an exec terminal");
        }
    };
    let stdin = request.stdin.then(|| Box::pin(tokio::fs::File::from_std(std::fs::File::from(writer))) as Writer);
    let stdout = Some(Box::pin(PtyReader(tokio::fs::File::from_std(std::fs::File::from(reader)))) as Reader);
    let exit = Box::pin(async move { child.wait().await.map(exit_code) });
    Ok(Process { stdin, stdout, stderr: None, resize: Some(Box::new(resize)), exit })
}

/// A terminal's master end, read until its last process has gone: the
/// kernel then answers `EIO`, which here is the end of the output.
struct PtyReader(tokio::fs::File);

impl AsyncRead for PtyReader {
    fn poll_read(self: Pin<&mut Self>, cx: &mut std::task::Context<'_>, buf: &mut tokio::io::ReadBuf<'_>) -> std::task::Poll<io::Result<()>> {
        let this = self.get_mut();
        match Pin::new(&mut this.0).poll_read(cx, buf) {
            std::task::Poll::Ready(Err(e)) if e.raw_os_error() == Some(rustix::io::Errno::IO.raw_os_error()) => std::task::Poll::Ready(Ok(())),
            other => other,
        }
    }
}

fn console_socket_path(runtime: &Runtime) -> PathBuf {
    let _ = std::fs::create_dir_all(runtime.root());
    runtime.root().join(format!("exec-{}.sock", uuid_like()))
}

/// A name unique enough for a socket that lives for a moment.
fn uuid_like() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!("{}-{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed))
}

/// Receives the one file descriptor runc sends over a console socket.
pub(crate) fn receive_fd(stream: &std::os::unix::net::UnixStream) -> io::Result<OwnedFd> {
    use rustix::net::{RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags};
    let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(1))];
    let mut ancillary = RecvAncillaryBuffer::new(&mut space);
    let mut name = [0u8; 4096];
    rustix::net::recvmsg(stream, &mut [io::IoSliceMut::new(&mut name)], &mut ancillary, RecvFlags::CMSG_CLOEXEC)?;
    for message in ancillary.drain() {
        if let RecvAncillaryMessage::ScmRights(mut fds) = message
            && let Some(fd) = fds.next()
        {
            return Ok(fd);
        }
    }
    Err(io::Error::other("runc sent no terminal"))
}

/// The exit code as a shell reports it (128 + signal when killed).
fn exit_code(status: std::process::ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    status.code().or_else(|| status.signal().map(|s| 128 + s)).unwrap_or(-1)
}
