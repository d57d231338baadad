//! The shim of one container (`nubis shim`, conmon's role): started by the
//! node agent in a session of its own, it creates and starts the container
//! through the runtime with pipes for its output, becomes the container's
//! parent (a child subreaper), writes the output to the CRI log, and when
//! the container ends writes how (`exit.json`, with whether the kernel's
//! OOM killer ended any of its processes, read from its cgroup before the
//! runtime deletes that) and exits. The agent may
//! come and go meanwhile: it talks to the shim only through these files
//! and one line on the shim's stdout (`started <pid>` or `failed <why>`).

use crate::cri_log::{self, LineSplitter, Stream};
use crate::runtime::Runtime;
use parking_lot::Mutex;
use rustix::process::WaitOptions;
use serde::{Deserialize, Serialize};
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

/// What a shim needs.
#[derive(Debug, Clone)]
pub struct ShimArgs {
    pub id: String,
    pub bundle: PathBuf,
    pub runtime: String,
    pub runtime_root: PathBuf,
    /// The CRI log the container's output goes to.
    pub log: PathBuf,
    /// Where the shim records the container's end.
    pub exit_file: PathBuf,
}

impl ShimArgs {
    /// As command-line arguments for `nubis shim`.
    pub fn to_args(&self) -> Vec<std::ffi::OsString> {
        let mut out = Vec::new();
        for (flag, value) in [
            ("--id", self.id.as_ref()),
            ("--bundle", self.bundle.as_os_str()),
            ("--runtime", self.runtime.as_ref()),
            ("--runtime-root", self.runtime_root.as_os_str()),
            ("--log", self.log.as_os_str()),
            ("--exit-file", self.exit_file.as_os_str()),
        ] {
            out.push(flag.into());
            out.push(value.to_owned());
        }
        out
    }
}

/// How a container ended, as its shim saw it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Exit {
    pub pid: i32,
    /// The exit status, or 128 + the signal that ended it (as shells and
    /// the kubelet report it).
    pub exit_code: i32,
    pub signal: Option<i32>,
    pub started_at: String,
    pub finished_at: String,
    /// The OOM killer ended a process of the container (its init, or
    /// another whose end made it fail).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub oom_killed: bool,
}

/// Runs the shim to the container's end; the process's exit code.
pub fn run(args: &ShimArgs) -> i32 {
    // Out of the agent's session and process group: its signals, its
    // terminal and its death are not the container's.
    let _ = rustix::process::setsid();
    if let Err(e) = rustix::process::set_child_subreaper(Some(rustix::process::getpid())) {
        return fail(&format!("becoming the container's subreaper: {e}"));
    }
    match supervise(args) {
        Ok(()) => 0,
        Err(why) => fail(&why),
    }
}

fn fail(why: &str) -> i32 {
    let one_line = why.replace('\n', " ");
    let _ = writeln!(std::io::stdout(), "failed {one_line}");
    eprintln!("shim: {why}");
    1
}

fn supervise(args: &ShimArgs) -> Result<(), String> {
    let runtime = Runtime::new(&args.runtime, &args.runtime_root);
    let dir = args.exit_file.parent().map(Path::to_path_buf).unwrap_or_default();
    let pid_file = dir.join("container.pid");
    let runtime_log = dir.join("runtime.log");
    let (out_r, out_w) = std::io::pipe().map_err(|e| format!("making a pipe: {e}"))?;
    let (err_r, err_w) = std::io::pipe().map_err(|e| format!("making a pipe: {e}"))?;
    let created = {
        let mut create = runtime.command(Some(&runtime_log));
        create.arg("create").arg("--bundle").arg(&args.bundle).arg("--pid-file").arg(&pid_file).arg(&args.id);
        create.stdin(Stdio::null()).stdout(out_w).stderr(err_w);
        // The command (and with it this process's copies of the pipes'
        // write ends) is dropped here, so the readers see the end of the
        // output when the container's processes close theirs.
        create.status()
    };
    match created {
        Ok(s) if s.success() => {}
        Ok(_) => {
            let log = std::fs::read(&runtime_log).unwrap_or_default();
            return Err(runtime.failed("create", &args.id, &log).to_string());
        }
        Err(e) => return Err(format!("running {}: {e}", args.runtime)),
    }
    let pid: i32 = std::fs::read_to_string(&pid_file).ok().and_then(|s| s.trim().parse().ok()).ok_or("the runtime wrote no pid file")?;

    let log = OpenOptions::new().create(true).append(true).open(&args.log).map_err(|e| format!("opening {}: {e}", args.log.display()))?;
    let log = Arc::new(Mutex::new(log));
    let readers = [(out_r, Stream::Stdout), (err_r, Stream::Stderr)].map(|(pipe, stream)| {
        let log = log.clone();
        std::thread::spawn(move || copy_to_log(pipe, stream, &log))
    });

    if let Err(e) = runtime.start(&args.id) {
        let _ = runtime.delete(&args.id, true);
        return Err(e.to_string());
    }
    let started_at = cri_log::now();
    let _ = writeln!(std::io::stdout(), "started {pid}");
    let _ = std::io::stdout().flush();

    let status = wait_for(pid);
    // Read now: the cgroup goes with `runc delete`, which may follow as
    // soon as the exit record is there.
    let oom_killed = oom_killed(&args.bundle);
    // The output's end: when every process holding the pipes is gone, or
    // soon after the container's init (a leftover child may hold them).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
    for r in readers {
        while !r.is_finished() && tokio::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        if r.is_finished() {
            let _ = r.join();
        }
    }
    let _ = log.lock().sync_all();
    let (exit_code, signal) = match (status.as_ref().and_then(|s| s.exit_status()), status.as_ref().and_then(|s| s.terminating_signal())) {
        (Some(code), _) => (code, None),
        (None, Some(sig)) => (128 + sig, Some(sig)),
        _ => (255, None),
    };
    let exit = Exit { pid, exit_code, signal, started_at, finished_at: cri_log::now(), oom_killed };
    write_exit(&args.exit_file, &exit).map_err(|e| format!("writing {}: {e}", args.exit_file.display()))
}

/// Whether the OOM killer ended a process in the container's cgroup (the
/// one its spec names).
fn oom_killed(bundle: &Path) -> bool {
    let spec: Option<serde_json::Value> = std::fs::read(bundle.join("config.json")).ok().and_then(|b| serde_json::from_slice(&b).ok());
    let path = spec.as_ref().and_then(|s| s["linux"]["cgroupsPath"].as_str()).map(str::to_string);
    path.and_then(|p| crate::cgroups::oom_kills(&p)).is_some_and(|n| n > 0)
}

/// Reaps children until `pid` has ended; its status.
fn wait_for(pid: i32) -> Option<rustix::process::WaitStatus> {
    loop {
        // Any child (-1): `waitpid(None)` would be only those of this
        // process group, and the container has a session of its own.
        match rustix::process::wait(WaitOptions::empty()) {
            Ok(Some((p, status))) if p.as_raw_nonzero().get() == pid => return Some(status),
            Ok(_) => continue,
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => {
                eprintln!("shim: waiting for the container: {e}");
                return None;
            }
        }
    }
}

fn copy_to_log(mut pipe: impl Read, stream: Stream, log: &Mutex<File>) {
    let mut splitter = LineSplitter::new(stream);
    let mut buf = vec![0u8; 32 * 1024];
    loop {
        match pipe.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                let mut file = log.lock();
                if let Err(error) = splitter.feed(&buf[..n], &cri_log::now, &mut *file) {
                    eprintln!("shim: writing the log: {error}");
                }
            }
        }
    }
    let _ = splitter.finish(&cri_log::now, &mut *log.lock());
}

/// Writes the exit record durably: a synced temporary file renamed.
fn write_exit(path: &Path, exit: &Exit) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    let mut f = File::create(&tmp)?;
    f.write_all(&serde_json::to_vec(exit)?)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)
}

/// The exit record, once the shim wrote it.
pub fn read_exit(path: &Path) -> Option<Exit> {
    std::fs::read(path).ok().and_then(|b| serde_json::from_slice(&b).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shim_exit_records_say_oom_kills() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("exit.json");
        let exit = Exit { pid: 7, exit_code: 137, signal: Some(9), started_at: "a".into(), finished_at: "b".into(), oom_killed: true };
        write_exit(&path, &exit).expect("writes");
        assert_eq!(read_exit(&path), Some(exit));
        // Records written before the field existed still read.
        std::fs::write(&path, r#"{"pid":7,"exitCode":1,"signal":null,"startedAt":"a","finishedAt":"b"}"#).expect("writes");
        assert_eq!(read_exit(&path).map(|e| (e.exit_code, e.oom_killed)), Some((1, false)));
        assert!(!oom_killed(dir.path()), "no spec, no cgroup: not OOM killed");
    }
}
