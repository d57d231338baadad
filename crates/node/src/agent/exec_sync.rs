//! Running a command in a running container to its end and keeping its
//! output, with a time limit (the CRI's `ExecSync`, which exec probes and
//! exec hooks use). `exec::exec` serves `kubectl exec` and cannot stop
//! what it started; here runc writes the command's pid to a file, so a
//! command past its time is killed itself, not only the runc that waits
//! for it, and a missing pid file tells runc's own failure (no such
//! binary, container gone) from the command's exit code.

use crate::runtime::Runtime;
use parking_lot::Mutex;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The command ran past its time and was killed (the kubelet's words).
    #[error("command {0:?} timed out")]
    TimedOut(String),
    #[error("exec in container {id}: {message}")]
    Runtime { id: String, message: String },
}

/// How the command ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    pub exit_code: i32,
    /// Its stdout and stderr as they came, at most the limit.
    pub output: Vec<u8>,
}

/// Runs `command` in the container `id`; at most `limit` bytes of output
/// are kept, and `timeout` (when given) ends it with SIGKILL.
pub async fn run(runtime: &Runtime, id: &str, command: &[String], timeout: Option<Duration>, limit: usize) -> Result<Output, Error> {
    let failed = |message: String| Error::Runtime { id: id.to_string(), message };
    let pid_file = pid_file_path(runtime.root());
    let mut child = tokio::process::Command::from(runtime.command(None))
        // runc's own errors as JSON records, whose message `last_error` reads.
        .args(["--log-format", "json", "exec"])
        .arg("--pid-file")
        .arg(&pid_file)
        .arg(id)
        .args(command)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| failed(format!("running {}: {e}", runtime.binary())))?;
    let output = Arc::new(Mutex::new(Vec::new()));
    let readers: Vec<_> = [child.stdout.take().map(|s| Box::new(s) as Box<dyn AsyncRead + Send + Unpin>), child.stderr.take().map(|s| Box::new(s) as Box<dyn AsyncRead + Send + Unpin>)]
        .into_iter()
        .flatten()
        .map(|r| tokio::spawn(collect(r, output.clone(), limit)))
        .collect();
    let waited = match timeout {
        Some(t) => tokio::time::timeout(t, child.wait()).await.ok(),
        None => Some(child.wait().await),
    };
    let status = match waited {
        Some(status) => status.map_err(|e| failed(e.to_string()))?,
        None => {
            kill_command(&pid_file);
            let _ = child.kill().await;
            let _ = std::fs::remove_file(&pid_file);
            return Err(Error::TimedOut(command.join(" ")));
        }
    };
    for r in readers {
        let _ = r.await;
    }
    let started = pid_file.exists();
    let _ = std::fs::remove_file(&pid_file);
    let output = std::mem::take(&mut *output.lock());
    if !started {
        return Err(failed(crate::runtime::last_error(&output)));
    }
    Ok(Output { exit_code: exit_code(status), output })
}

/// Appends what `reader` gives to `out` until the limit; the rest is read
/// and dropped so the command never blocks on a full pipe.
async fn collect(mut reader: impl AsyncRead + Unpin, out: Arc<Mutex<Vec<u8>>>, limit: usize) {
    let mut buf = [0u8; 4096];
    loop {
        match reader.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                let mut out = out.lock();
                let room = limit.saturating_sub(out.len());
                out.extend_from_slice(&buf[..n.min(room)]);
            }
        }
    }
}

fn kill_command(pid_file: &Path) {
    let pid = std::fs::read_to_string(pid_file).ok().and_then(|p| p.trim().parse::<i32>().ok()).and_then(rustix::process::Pid::from_raw);
    if let Some(pid) = pid {
        let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
    }
}

fn pid_file_path(root: &Path) -> PathBuf {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let _ = std::fs::create_dir_all(root);
    root.join(format!("exec-sync-{}-{}.pid", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed)))
}

/// The exit code as a shell reports it (128 + signal when killed).
fn exit_code(status: std::process::ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    status.code().or_else(|| status.signal().map(|s| 128 + s)).unwrap_or(-1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn exec_sync_keeps_output_up_to_the_limit() {
        let out = Arc::new(Mutex::new(Vec::new()));
        collect(&b"0123456789"[..], out.clone(), 4).await;
        collect(&b"abc"[..], out.clone(), 4).await;
        assert_eq!(&*out.lock(), b"0123");
        assert_eq!(Error::TimedOut("cat /tmp/healthy".into()).to_string(), "command \"cat /tmp/healthy\" timed out");
    }
}
