//! The data dir: where the store, the certificates, the kubeconfig and the
//! server's recorded address live, so other commands find the server from
//! `--data-dir` alone.

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};

pub struct DataDir {
    pub root: PathBuf,
}

/// What `nubis up` records about the running server.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ServerRecord {
    /// The URL clients use (`https://127.0.0.1:6443`).
    pub server: String,
    /// The address the server listens on.
    pub listen: String,
}

impl DataDir {
    pub fn new(root: &Path) -> Result<DataDir> {
        std::fs::create_dir_all(root).with_context(|| format!("creating the data dir {}", root.display()))?;
        let root = root.canonicalize().with_context(|| format!("resolving {}", root.display()))?;
        Ok(DataDir { root })
    }

    pub fn pki(&self) -> PathBuf {
        self.root.join("pki")
    }

    pub fn store(&self) -> PathBuf {
        self.root.join("state.db")
    }

    /// Where the local provisioner makes volume directories.
    pub fn volumes(&self) -> PathBuf {
        self.root.join("volumes")
    }

    pub fn kubeconfig(&self) -> PathBuf {
        self.root.join("kubeconfig")
    }

    fn record_path(&self) -> PathBuf {
        self.root.join("server.json")
    }

    pub fn write_record(&self, record: &ServerRecord) -> Result<()> {
        let bytes = serde_json::to_vec_pretty(record)?;
        write_private(&self.record_path(), &bytes)
    }

    pub fn read_record(&self) -> Result<ServerRecord> {
        let path = self.record_path();
        let bytes = std::fs::read(&path)
            .with_context(|| format!("reading {} (has `nubis up` run with this data dir?)", path.display()))?;
        serde_json::from_slice(&bytes).with_context(|| format!("parsing {}", path.display()))
    }
}

/// Writes a file readable by its owner only, durably: a temporary file is
/// fsynced and renamed over the target, so a crash leaves old or new, never
/// half.
pub fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .with_context(|| format!("writing {}", tmp.display()))?;
    f.write_all(bytes)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path).with_context(|| format!("renaming to {}", path.display()))?;
    if let Some(dir) = path.parent()
        && let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
    Ok(())
}
