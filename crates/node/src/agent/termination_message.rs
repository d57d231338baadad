//! Termination messages: the kubelet bind-mounts an empty host file at the
//! container's `terminationMessagePath` (`/dev/termination-log` unless
//! set), one per attempt under the pod's directory
//! (`containers/<name>/<attempt>`, so a restarted agent finds it again),
//! and reads it when the attempt ended: its last 4096 bytes are
//! `terminated.message`. With `FallbackToLogsOnError`, a failed attempt
//! that wrote nothing there gets the end of its log instead (the last 80
//! lines, at most their last 2048 bytes).

use futures::StreamExt;
use k8s_openapi::api::core::v1::Container;
use oci_spec::runtime::{Mount, MountBuilder};
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

pub const DEFAULT_PATH: &str = "/dev/termination-log";
/// The most of the file that is read (`MaxContainerTerminationMessageLength`).
const MAX_FILE: u64 = 4096;
const MAX_LOG_LINES: u64 = 80;
const MAX_LOG_BYTES: usize = 2048;

/// The host file behind attempt `attempt` of container `name`.
pub fn host_file(pod_dir: &Path, name: &str, attempt: u32) -> PathBuf {
    pod_dir.join("containers").join(name).join(attempt.to_string())
}

fn path_in_container(c: &Container) -> Option<&str> {
    match c.termination_message_path.as_deref() {
        None => Some(DEFAULT_PATH),
        Some("") => None,
        Some(p) => Some(p),
    }
}

/// Makes the attempt's empty file (writable by any user the container
/// may run as) and its mount; none when the container has no path.
pub fn prepare(pod_dir: &Path, c: &Container, attempt: u32) -> Result<Option<Mount>, String> {
    use std::os::unix::fs::PermissionsExt;
    let Some(target) = path_in_container(c) else { return Ok(None) };
    let file = host_file(pod_dir, &c.name, attempt);
    let io = |e: std::io::Error| format!("{}: {e}", file.display());
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    std::fs::File::create(&file).map_err(io)?;
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o666)).map_err(io)?;
    let mount = MountBuilder::default()
        .destination(target)
        .typ("bind")
        .source(file.clone())
        .options(vec!["rbind".to_string(), "rprivate".to_string(), "rw".to_string()])
        .build()
        .map_err(|e| e.to_string())?;
    Ok(Some(mount))
}

/// What was read of the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum File {
    Missing,
    Read(Vec<u8>),
    Failed(String),
}

/// The message, or `None` when the log's end should be read instead
/// (the kubelet's `getTerminationMessage`).
pub fn from_file(file: File, path: &Path, fallback_to_logs: bool) -> Option<String> {
    match file {
        File::Missing => (!fallback_to_logs).then(String::new),
        File::Read(data) if data.is_empty() && fallback_to_logs => None,
        File::Read(data) => Some(String::from_utf8_lossy(&data).into_owned()),
        File::Failed(e) => Some(format!("Error on reading termination log {}: {e}", path.display())),
    }
}

/// The last `MAX_FILE` bytes of the file.
fn read_file(path: &Path) -> File {
    let read = || -> std::io::Result<Vec<u8>> {
        let mut f = std::fs::File::open(path)?;
        let len = f.metadata()?.len();
        f.seek(SeekFrom::Start(len.saturating_sub(MAX_FILE)))?;
        let mut data = Vec::new();
        f.take(MAX_FILE).read_to_end(&mut data)?;
        Ok(data)
    };
    match read() {
        Ok(data) => File::Read(data),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => File::Missing,
        Err(e) => File::Failed(e.to_string()),
    }
}

/// The last bytes of what the log's last lines say.
pub fn tail(text: &[u8]) -> String {
    String::from_utf8_lossy(&text[text.len().saturating_sub(MAX_LOG_BYTES)..]).into_owned()
}

/// The message of attempt `attempt` of `c` that ended with `exit_code`,
/// whose log is `log`; `None` when there is none.
pub async fn read(pod_dir: &Path, c: &Container, attempt: u32, exit_code: i32, log: &Path) -> Option<String> {
    path_in_container(c)?;
    let fallback = c.termination_message_policy.as_deref() == Some("FallbackToLogsOnError") && exit_code != 0;
    let file = host_file(pod_dir, &c.name, attempt);
    let message = match from_file(read_file(&file), &file, fallback) {
        Some(message) => message,
        None => {
            let source = crate::logs::Source { path: log.to_path_buf(), running: Box::new(|| false) };
            let options = crate::logs::Options { tail_lines: Some(MAX_LOG_LINES), ..crate::logs::Options::default() };
            let mut stream = Box::pin(crate::logs::read(source, options));
            let mut text = Vec::new();
            while let Some(chunk) = stream.next().await {
                match chunk {
                    Ok(bytes) => text.extend_from_slice(&bytes),
                    Err(e) => return Some(format!("Error on reading termination message from logs: {e}")),
                }
            }
            tail(&text)
        }
    };
    (!message.is_empty()).then_some(message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn container(policy: Option<&str>, path: Option<&str>) -> Container {
        Container { name: "app".into(), termination_message_policy: policy.map(str::to_string), termination_message_path: path.map(str::to_string), ..Container::default() }
    }

    #[test]
    fn termination_messages_come_from_the_file_or_the_log() {
        let p = Path::new("/x");
        assert_eq!(from_file(File::Read(b"bye".to_vec()), p, false).as_deref(), Some("bye"));
        assert_eq!(from_file(File::Read(b"bye".to_vec()), p, true).as_deref(), Some("bye"), "the file wins over the log");
        assert_eq!(from_file(File::Read(Vec::new()), p, true), None, "empty and failed: the log");
        assert_eq!(from_file(File::Read(Vec::new()), p, false).as_deref(), Some(""));
        assert_eq!(from_file(File::Missing, p, true), None);
        assert_eq!(from_file(File::Failed("denied".into()), p, true).as_deref(), Some("Error on reading termination log /x: denied"));
        let long = vec![b'a'; 3000];
        assert_eq!(tail(&long).len(), MAX_LOG_BYTES);
        assert_eq!(tail(b"short\n"), "short\n");
    }

    #[tokio::test]
    async fn termination_messages_are_read_per_attempt() {
        let dir = tempfile::tempdir().expect("a dir");
        let c = container(Some("FallbackToLogsOnError"), None);
        let mount = prepare(dir.path(), &c, 2).expect("prepared").expect("a mount");
        assert_eq!(mount.destination(), Path::new(DEFAULT_PATH));
        assert_eq!(mount.source().as_deref(), Some(host_file(dir.path(), "app", 2).as_path()));
        let log = dir.path().join("2.log");
        let lines: String = (0..100).map(|i| format!("2026-01-01T00:00:00.000000000Z stdout F line {i}\n")).collect();
        std::fs::write(&log, lines).expect("writes");
        let message = read(dir.path(), &c, 2, 1, &log).await.expect("the log's end");
        assert!(message.starts_with("line 20\n") && message.ends_with("line 99\n"), "the last 80 lines: {message}");
        assert_eq!(read(dir.path(), &c, 2, 0, &log).await, None, "it succeeded: no fallback");
        std::fs::write(host_file(dir.path(), "app", 2), "x".repeat(5000) + "end").expect("writes");
        assert_eq!(read(dir.path(), &c, 2, 1, &log).await.map(|m| (m.len(), m.ends_with("end"))), Some((4096, true)));
        assert_eq!(prepare(dir.path(), &container(None, Some("")), 0).expect("nothing to do"), None);
    }
}
