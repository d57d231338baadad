//! A container's root filesystem: its image's unpacked layers as overlayfs
//! lower directories (shared, read-only) under a writable upper directory
//! of its own, so containers of one image share every byte of it.

use rustix::mount::{MountFlags, UnmountFlags};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("mounting the root filesystem at {target}: {source}")]
    Mount { target: PathBuf, source: std::io::Error },
    #[error("unmounting {target}: {source}")]
    Unmount { target: PathBuf, source: std::io::Error },
    #[error("an image needs at least one layer")]
    NoLayers,
}

/// Mounts `layers` (bottom first) with `upper` and `work` at `target`.
pub fn mount(layers: &[PathBuf], upper: &Path, work: &Path, target: &Path) -> Result<(), Error> {
    if layers.is_empty() {
        return Err(Error::NoLayers);
    }
    let lower: Vec<String> = layers.iter().rev().map(|p| escape(p)).collect();
    let options = format!("lowerdir={},upperdir={},workdir={}", lower.join(":"), escape(upper), escape(work));
    let data = std::ffi::CString::new(options).map_err(|e| Error::Mount { target: target.to_path_buf(), source: std::io::Error::other(e) })?;
    rustix::mount::mount("overlay", target, "overlay", MountFlags::empty(), Some(data.as_c_str()))
        .map_err(|e| Error::Mount { target: target.to_path_buf(), source: e.into() })
}

/// Unmounts `target`; not mounted is fine.
pub fn unmount(target: &Path) -> Result<(), Error> {
    match rustix::mount::unmount(target, UnmountFlags::DETACH) {
        Ok(()) | Err(rustix::io::Errno::INVAL) | Err(rustix::io::Errno::NOENT) => Ok(()),
        Err(e) => Err(Error::Unmount { target: target.to_path_buf(), source: e.into() }),
    }
}

/// Whether something is mounted at `target` (its device differs from its
/// parent's).
pub fn is_mounted(target: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (std::fs::metadata(target), target.parent().map(std::fs::metadata)) {
        (Ok(t), Some(Ok(p))) => t.dev() != p.dev(),
        _ => false,
    }
}

/// overlayfs separates options with `,` and lower directories with `:`.
fn escape(path: &Path) -> String {
    path.to_string_lossy().replace('\\', "\\\\").replace(',', "\\,").replace(':', "\\:")
}
