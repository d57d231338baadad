//! The waiter of an exec with a terminal (run as the hidden `nubis
//! exec-waiter`). runc hands a terminal over on a console socket only
//! when it detaches, and a detached process is no child of whoever ran
//! runc, so nobody could learn its exit code. This small process becomes
//! a child subreaper, runs `runc exec --detach --tty`, and so inherits the
//! command when runc exits; it waits for it and exits with its code.
//! The terminal itself goes straight from runc to the node agent.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::Command;

/// What the waiter runs.
#[derive(Debug, Clone)]
pub struct Args {
    pub runtime: String,
    pub runtime_root: PathBuf,
    pub console_socket: PathBuf,
    pub id: String,
    pub command: Vec<String>,
}

impl Args {
    /// The arguments after the waiter's program and subcommand.
    pub fn to_args(&self) -> Vec<OsString> {
        let mut out: Vec<OsString> = vec![
            "--runtime".into(),
            self.runtime.clone().into(),
            "--runtime-root".into(),
            self.runtime_root.clone().into(),
            "--console-socket".into(),
            self.console_socket.clone().into(),
            "--id".into(),
            self.id.clone().into(),
            "--".into(),
        ];
        out.extend(self.command.iter().map(OsString::from));
        out
    }
}

/// Runs the exec and returns the exit code to exit with (128 + signal
/// when the command was killed; 126 when it could not be started, with
/// the reason on stderr).
pub fn run(args: &Args) -> i32 {
    if let Err(e) = rustix::process::set_child_subreaper(Some(rustix::process::getpid())) {
        eprintln!("becoming the exec's subreaper: {e}");
        return 126;
    }
    let pid_file = args.console_socket.with_extension("pid");
    let started = Command::new(&args.runtime)
        .arg("--root")
        .arg(&args.runtime_root)
        .args(["exec", "--detach", "--tty", "--console-socket"])
        .arg(&args.console_socket)
        .arg("--pid-file")
        .arg(&pid_file)
        .arg(&args.id)
        .args(&args.command)
        .output();
    let out = match started {
        Ok(out) => out,
        Err(e) => {
            eprintln!("running {}: {e}", args.runtime);
            return 126;
        }
    };
    if !out.status.success() {
        eprintln!("{}", crate::runtime::last_error(&out.stderr));
        return 126;
    }
    let pid = std::fs::read_to_string(&pid_file).ok().and_then(|p| p.trim().parse::<i32>().ok());
    let _ = std::fs::remove_file(&pid_file);
    let Some(pid) = pid.and_then(rustix::process::Pid::from_raw) else {
        eprintln!("{} wrote no pid for the exec", args.runtime);
        return 126;
    };
    // runc has exited, so the command is this process's child now.
    loop {
        match rustix::process::waitpid(Some(pid), rustix::process::WaitOptions::empty()) {
            Ok(Some((_, status))) => {
                if let Some(code) = status.exit_status() {
                    return code;
                }
                if let Some(signal) = status.terminating_signal() {
                    return 128 + signal;
                }
            }
            Err(rustix::io::Errno::INTR) => continue,
            Ok(None) | Err(_) => return 126,
        }
    }
}
