//! The shim of one container (`nubis shim`, conmon's role): started by the
//! node agent in a session of its own, it creates and starts the container
//! through the runtime with pipes for its output, becomes the container's
//! parent (a child subreaper), writes the output to the CRI log, and when
//! the container ends writes how (`exit.json`, with whether the kernel's
//! OOM killer ended any of its processes, read from its cgroup before the
//! runtime deletes that) and exits. The agent may
//! come and go meanwhile: it talks to the shim only through these files
//! and one line on the shim's stdout (`started <pid>` or `failed <why>`).

use crate::attach;
use crate::cri_log::{self, LineSplitter, Stream};
use crate::log_rotation::RotatingLog;
use crate::runtime::Runtime;
use parking_lot::Mutex;
use rustix::process::WaitOptions;
use serde::{Deserialize, Serialize};
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::os::unix::net::{UnixListener, UnixStream};
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
    /// Keep the container's stdin open for attached clients (`stdin`).
    pub stdin: bool,
    /// Close it after the first attached client is done (`stdinOnce`).
    pub stdin_once: bool,
    /// The log's rotation: its size limit and the files kept.
    pub log_max_size: u64,
    pub log_max_files: u32,
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
            ("--log-max-size", self.log_max_size.to_string().as_ref()),
            ("--log-max-files", self.log_max_files.to_string().as_ref()),
        ] {
            out.push(flag.into());
            out.push(value.to_owned());
        }
        for (flag, on) in [("--stdin", self.stdin), ("--stdin-once", self.stdin_once)] {
            if on {
                out.push(flag.into());
            }
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
    // Before the container exists: an agent started later follows this
    // shim by its pid.
    crate::shims::write_own_pid(&dir).map_err(|e| format!("writing {}: {e}", dir.join(crate::shims::PID_FILE).display()))?;
    let pid_file = dir.join("container.pid");
    let runtime_log = dir.join("runtime.log");
    let terminal = has_terminal(&args.bundle);
    let attach = AttachPoint::bind(&dir)?;
    let console = if terminal {
        let path = dir.join("console.sock");
        let _ = std::fs::remove_file(&path);
        Some((UnixListener::bind(&path).map_err(|e| format!("binding {}: {e}", path.display()))?, path))
    } else {
        None
    };
    let mut sources: Vec<(Box<dyn Read + Send>, Stream)> = Vec::new();
    let created = {
        let mut create = runtime.command(Some(&runtime_log));
        // `run --detach` is `create` and `start` in one runtime process
        // (one Go program less per container start). The container's
        // output waits in its pipes until the readers below take it.
        create.arg("run").arg("--detach").arg("--bundle").arg(&args.bundle).arg("--pid-file").arg(&pid_file);
        if let Some((_, path)) = &console {
            // The terminal's master end comes back on this socket; the
            // container's output and input go through it.
            create.arg("--console-socket").arg(path).stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null());
        } else {
            let (out_r, out_w) = std::io::pipe().map_err(|e| format!("making a pipe: {e}"))?;
            let (err_r, err_w) = std::io::pipe().map_err(|e| format!("making a pipe: {e}"))?;
            sources.push((Box::new(out_r), Stream::Stdout));
            sources.push((Box::new(err_r), Stream::Stderr));
            create.stdout(out_w).stderr(err_w);
            if args.stdin {
                let (in_r, in_w) = std::io::pipe().map_err(|e| format!("making a pipe: {e}"))?;
                create.stdin(in_r);
                *attach.stdin.lock() = Some(Box::new(in_w));
            } else {
                create.stdin(Stdio::null());
            }
        }
        create.arg(&args.id);
        // The command (and with it this process's copies of the pipes'
        // ends) is dropped here, so the readers see the end of the output
        // when the container's processes close theirs.
        create.status()
    };
    match created {
        Ok(s) if s.success() => {}
        Ok(_) => {
            let log = std::fs::read(&runtime_log).unwrap_or_default();
            let _ = runtime.delete(&args.id, true);
            return Err(runtime.failed("run", &args.id, &log).to_string());
        }
        Err(e) => return Err(format!("running {}: {e}", args.runtime)),
    }
    if let Some((listener, path)) = console {
        let master = receive_terminal(&listener).map_err(|e| format!("receiving the container's terminal: {e}"))?;
        let _ = std::fs::remove_file(&path);
        let reader = master.try_clone().map_err(|e| format!("the container's terminal: {e}"))?;
        let writer = master.try_clone().map_err(|e| format!("the container's terminal: {e}"))?;
        sources.push((Box::new(File::from(reader)), Stream::Stdout));
        if args.stdin {
            *attach.stdin.lock() = Some(Box::new(File::from(writer)));
        }
        *attach.terminal.lock() = Some(master);
    }
    let pid: i32 = std::fs::read_to_string(&pid_file).ok().and_then(|s| s.trim().parse().ok()).ok_or("the runtime wrote no pid file")?;

    let log = RotatingLog::open(&args.log, args.log_max_size, args.log_max_files).map_err(|e| format!("opening {}: {e}", args.log.display()))?;
    let log = Arc::new(Mutex::new(log));
    let readers: Vec<_> = sources
        .into_iter()
        .map(|(source, stream)| {
            let (log, clients) = (log.clone(), attach.clients.clone());
            std::thread::spawn(move || copy_to_log(source, stream, &log, &clients))
        })
        .collect();
    attach.serve(args.stdin_once);

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

fn copy_to_log(mut source: impl Read, stream: Stream, log: &Mutex<RotatingLog>, clients: &Clients) {
    let mut splitter = LineSplitter::new(stream);
    let mut buf = vec![0u8; 32 * 1024];
    let kind = match stream {
        Stream::Stdout => attach::STDOUT,
        Stream::Stderr => attach::STDERR,
    };
    loop {
        // A terminal's master answers EIO once the container has closed
        // it: the end of its output, like a pipe's end.
        match source.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                let mut file = log.lock();
                if let Err(error) = splitter.feed(&buf[..n], &cri_log::now, &mut *file).and_then(|_| file.rotate_if_full()) {
                    eprintln!("shim: writing the log: {error}");
                }
                drop(file);
                // A client that cannot keep up (its writes time out) is
                // dropped rather than holding the container's output.
                clients.lock().retain_mut(|c| attach::write_frame(c, kind, &buf[..n]).is_ok());
            }
        }
    }
    let _ = splitter.finish(&cri_log::now, &mut *log.lock());
}

type Clients = Arc<Mutex<Vec<UnixStream>>>;

/// The shim's attach socket and what clients reach through it.
struct AttachPoint {
    listener: UnixListener,
    clients: Clients,
    /// The container's stdin (a pipe, or its terminal), while open.
    stdin: Arc<Mutex<Option<Box<dyn Write + Send>>>>,
    /// The terminal's master end, for resizes.
    terminal: Arc<Mutex<Option<OwnedFd>>>,
}

impl AttachPoint {
    fn bind(dir: &Path) -> Result<AttachPoint, String> {
        let path = dir.join(attach::SOCKET);
        let _ = std::fs::remove_file(&path);
        let listener = UnixListener::bind(&path).map_err(|e| format!("binding {}: {e}", path.display()))?;
        Ok(AttachPoint { listener, clients: Arc::default(), stdin: Arc::default(), terminal: Arc::default() })
    }

    /// Takes clients for the rest of the shim's life.
    fn serve(&self, stdin_once: bool) {
        let Ok(listener) = self.listener.try_clone() else { return };
        let (clients, stdin, terminal) = (self.clients.clone(), self.stdin.clone(), self.terminal.clone());
        std::thread::spawn(move || {
            for client in listener.incoming().filter_map(Result::ok) {
                let _ = client.set_write_timeout(Some(Duration::from_secs(5)));
                if let Ok(writer) = client.try_clone() {
                    clients.lock().push(writer);
                }
                let (stdin, terminal) = (stdin.clone(), terminal.clone());
                std::thread::spawn(move || take_input(client, &stdin, &terminal, stdin_once));
            }
        });
    }
}

/// One client's input: stdin data, its end, terminal resizes.
fn take_input(mut client: UnixStream, stdin: &Mutex<Option<Box<dyn Write + Send>>>, terminal: &Mutex<Option<OwnedFd>>, stdin_once: bool) {
    let mut wrote = false;
    while let Ok(Some((kind, payload))) = attach::read_frame(&mut client) {
        match kind {
            attach::STDIN => {
                let mut guard = stdin.lock();
                if let Some(w) = guard.as_mut() {
                    wrote = true;
                    if w.write_all(&payload).and_then(|_| w.flush()).is_err() {
                        *guard = None;
                    }
                }
            }
            attach::CLOSE_STDIN => break,
            attach::RESIZE => {
                if let (Some(fd), Some((width, height))) = (terminal.lock().as_ref(), attach::parse_size(&payload)) {
                    let size = rustix::termios::Winsize { ws_row: height, ws_col: width, ws_xpixel: 0, ws_ypixel: 0 };
                    let _ = rustix::termios::tcsetwinsize(fd, size);
                }
            }
            _ => {}
        }
    }
    // `stdinOnce`: the first client that used stdin ends it for good.
    if stdin_once && wrote {
        stdin.lock().take();
    }
}

/// Whether the bundle's process has a terminal.
fn has_terminal(bundle: &Path) -> bool {
    let spec: Option<serde_json::Value> = std::fs::read(bundle.join("config.json")).ok().and_then(|b| serde_json::from_slice(&b).ok());
    spec.is_some_and(|s| s["process"]["terminal"] == true)
}

/// The terminal's master end, which runc sends on the console socket
/// during `create`.
fn receive_terminal(listener: &UnixListener) -> std::io::Result<OwnedFd> {
    let (stream, _) = listener.accept()?;
    crate::exec::receive_fd(&stream)
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
