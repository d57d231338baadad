//! Developer tasks for the Nubis workspace, run as `cargo run -p xtask -- <task>`.

mod proto_presence;
mod proto_schema;

use std::path::{Path, PathBuf};

use anyhow::bail;

const USAGE: &str = "usage: cargo run -p xtask -- <task>

tasks:
  proto-schema                 regenerate crates/apimachinery/src/protobuf/schema.rs
  proto-presence <go-dir>...   refresh xtask/data/proto-presence.txt from checkouts of
                               k8s.io/api, k8s.io/apimachinery and k8s.io/apiextensions-apiserver";

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("proto-schema") if args.len() == 1 => proto_schema::run(&workspace_root()),
        Some("proto-presence") if args.len() > 1 => {
            let dirs: Vec<PathBuf> = args[1..].iter().map(PathBuf::from).collect();
            proto_presence::run(&workspace_root(), &dirs)
        }
        _ => bail!("{USAGE}"),
    }
}

fn workspace_root() -> PathBuf {
    // xtask lives directly under the workspace root.
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}
