//! The OCI runtime, through its command line (runc's, which crun and youki
//! share): run, state, kill, delete. The binary is found on
//! PATH (`--runtime`); a missing one is named with the package to install.

use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("the OCI runtime {0:?} was not found on PATH (install Debian's package runc, or pass --runtime)")]
    Missing(String),
    #[error("{runtime} {command} {id}: {message}")]
    Failed { runtime: String, command: &'static str, id: String, message: String },
    #[error("{runtime} state {id}: unexpected output: {source}")]
    State { runtime: String, id: String, source: serde_json::Error },
}

/// A container's state as the runtime reports it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct State {
    /// `created`, `running`, `paused` or `stopped`.
    pub status: String,
    pub pid: i32,
    pub bundle: PathBuf,
}

/// One runtime binary with its own state directory.
#[derive(Debug, Clone)]
pub struct Runtime {
    binary: String,
    root: PathBuf,
}

impl Runtime {
    /// `binary` (e.g. `runc`) keeping its state under `root`.
    pub fn new(binary: impl Into<String>, root: impl Into<PathBuf>) -> Runtime {
        Runtime { binary: binary.into(), root: root.into() }
    }

    /// Fails with the package to install when the binary is not there.
    pub fn check(&self) -> Result<(), Error> {
        match Command::new(&self.binary).arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status() {
            Ok(_) => Ok(()),
            Err(_) => Err(Error::Missing(self.binary.clone())),
        }
    }

    pub fn binary(&self) -> &str {
        &self.binary
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The command for `args`, with the state root and, when given, the
    /// runtime's own log (its errors, kept apart from the container's
    /// output).
    pub fn command(&self, log: Option<&Path>) -> Command {
        let mut c = Command::new(&self.binary);
        c.arg("--root").arg(&self.root);
        if let Some(log) = log {
            c.arg("--log").arg(log).arg("--log-format").arg("json");
        }
        c
    }

    pub fn failed(&self, command: &'static str, id: &str, stderr: &[u8]) -> Error {
        Error::Failed { runtime: self.binary.clone(), command, id: id.to_string(), message: last_error(stderr) }
    }

    /// The container's state, or `None` when the runtime does not know it.
    pub fn state(&self, id: &str) -> Result<Option<State>, Error> {
        let out = self.command(None).arg("state").arg(id).stdin(Stdio::null()).output().map_err(|_| Error::Missing(self.binary.clone()))?;
        if !out.status.success() {
            let message = last_error(&out.stderr);
            if message.contains("does not exist") || message.contains("not exist") {
                return Ok(None);
            }
            return Err(Error::Failed { runtime: self.binary.clone(), command: "state", id: id.to_string(), message });
        }
        serde_json::from_slice(&out.stdout).map(Some).map_err(|source| Error::State { runtime: self.binary.clone(), id: id.to_string(), source })
    }

    /// Sends `signal` (`TERM`, `KILL`, ...) to the container's init.
    pub fn kill(&self, id: &str, signal: &str) -> Result<(), Error> {
        self.command(None)
            .args(["kill", id, signal])
            .stdin(Stdio::null())
            .output()
            .map_err(|_| Error::Missing(self.binary.clone()))
            .and_then(|out| if out.status.success() { Ok(()) } else { Err(self.failed("kill", id, &out.stderr)) })
    }

    /// Deletes the container, killing it first when `force`; one the
    /// runtime does not know is already deleted.
    pub fn delete(&self, id: &str, force: bool) -> Result<(), Error> {
        let mut c = self.command(None);
        c.arg("delete");
        if force {
            c.arg("--force");
        }
        let out = c.arg(id).stdin(Stdio::null()).output().map_err(|_| Error::Missing(self.binary.clone()))?;
        let message = last_error(&out.stderr);
        if out.status.success() || message.contains("does not exist") || message.contains("not exist") {
            Ok(())
        } else {
            Err(Error::Failed { runtime: self.binary.clone(), command: "delete", id: id.to_string(), message })
        }
    }
}

/// The runtime's message: its last non-empty stderr line, or the `msg` of
/// its last JSON log record.
pub fn last_error(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    let line = text.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or_default().trim();
    serde_json::from_str::<serde_json::Value>(line)
        .ok()
        .and_then(|v| v.get("msg").and_then(|m| m.as_str()).map(str::to_string))
        .unwrap_or_else(|| line.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runtime_messages_are_the_last_line_or_record() {
        assert_eq!(last_error(b"first\ncontainer \"x\" does not exist\n\n"), "container \"x\" does not exist");
        assert_eq!(last_error(br#"{"level":"error","msg":"exec: \"nope\": executable file not found in $PATH","time":"..."}"#), "exec: \"nope\": executable file not found in $PATH");
        let missing = Runtime::new("no-such-runtime-binary", "/tmp/none");
        assert_eq!(missing.check().expect_err("missing").to_string(), "the OCI runtime \"no-such-runtime-binary\" was not found on PATH (install Debian's package runc, or pass --runtime)");
    }
}
