//! Unpacking one layer into a directory of its own, in the form overlayfs
//! takes as a lower directory: OCI whiteouts (`.wh.NAME`) become 0/0
//! character devices and opaque markers (`.wh..wh..opq`) the
//! `trusted.overlay.opaque` attribute, so the layers of an image stack
//! without being merged on disk and each is unpacked once for every image
//! that shares it.
//!
//! Nothing a layer says can write outside its directory: paths with `..`
//! are refused, and every parent directory is resolved with `openat2`'s
//! `RESOLVE_IN_ROOT`, so a symlink in the layer (absolute or relative)
//! resolves as it would inside the container, below the directory; hard
//! links are resolved the same way. Ownership, modes, times, devices and
//! extended attributes (file capabilities) are kept, which needs root.

use crate::digest::Hasher;
use oci_spec::image::Digest;
use rustix::fs::{self as rfs, AtFlags, FileType, Mode, OFlags, ResolveFlags, Timespec, Timestamps, XattrFlags};
use std::collections::HashMap;
use std::io::{self, Read};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

const WHITEOUT_PREFIX: &str = ".wh.";
const OPAQUE: &str = ".wh..wh..opq";
const OPAQUE_XATTR: &str = "trusted.overlay.opaque";

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("layer entry {path:?}: {why}")]
    Entry { path: String, why: String },
    #[error("layer entry {path:?}: {source}")]
    Io { path: String, source: io::Error },
    #[error("reading the layer: {0}")]
    Read(io::Error),
    /// A layer that unpacks to more than the limit (a decompression bomb,
    /// or an image too large for this node).
    #[error("the layer unpacks to more than {limit} bytes, the limit of this node")]
    TooLarge { limit: u64 },
}

/// How a layer blob is compressed, from its first bytes (media types lie
/// more often than magic numbers do).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

impl Compression {
    pub fn sniff(head: &[u8]) -> Compression {
        match head {
            [0x1f, 0x8b, ..] => Compression::Gzip,
            [0x28, 0xb5, 0x2f, 0xfd, ..] => Compression::Zstd,
            _ => Compression::None,
        }
    }
}

/// The uncompressed stream of a layer blob.
pub fn decompress<'a>(mut blob: impl Read + 'a) -> io::Result<Box<dyn Read + 'a>> {
    let mut head = [0u8; 4];
    let mut got = 0;
    while got < head.len() {
        match blob.read(&mut head[got..])? {
            0 => break,
            n => got += n,
        }
    }
    let whole = io::Cursor::new(head[..got].to_vec()).chain(blob);
    Ok(match Compression::sniff(&head[..got]) {
        Compression::None => Box::new(whole),
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(whole)),
        Compression::Zstd => Box::new(zstd::stream::read::Decoder::new(whole)?),
    })
}

/// What an unpacked layer was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unpacked {
    /// The digest of the uncompressed tar (the image config's `diff_ids`).
    pub diff_id: Digest,
    /// Bytes of the uncompressed tar.
    pub size: u64,
}

/// Hashes the uncompressed stream as the tar reader consumes it, and
/// stops it past `limit` bytes.
struct Hashing<R> {
    inner: R,
    hasher: Hasher,
    limit: u64,
}

/// The error the reader stops with past the limit, told apart from read
/// errors by its kind and message.
const OVER_LIMIT: &str = "the uncompressed layer is over the limit";

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        if self.hasher.len() > self.limit {
            return Err(io::Error::new(io::ErrorKind::FileTooLarge, OVER_LIMIT));
        }
        Ok(n)
    }
}

fn read_error(limit: u64) -> impl Fn(io::Error) -> Error {
    move |e| {
        if e.kind() == io::ErrorKind::FileTooLarge && e.to_string().contains(OVER_LIMIT) {
            Error::TooLarge { limit }
        } else {
            Error::Read(e)
        }
    }
}

/// Unpacks the layer blob `blob` (compressed or not) into `dir`, an
/// existing empty directory.
pub fn unpack(blob: impl Read, dir: &Path) -> Result<Unpacked, Error> {
    unpack_limited(blob, dir, u64::MAX)
}

/// As [`unpack`], refusing a layer whose uncompressed tar is over `limit`
/// bytes: before writing an entry that would pass it (tar headers say
/// their sizes), and in any case once that much has been read, so no more
/// than `limit` bytes reach the disk.
pub fn unpack_limited(blob: impl Read, dir: &Path, limit: u64) -> Result<Unpacked, Error> {
    let tar = decompress(blob).map_err(Error::Read)?;
    let mut hashing = Hashing { inner: tar, hasher: Hasher::default(), limit };
    let root = rfs::open(dir, OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty())
        .map_err(|e| Error::Io { path: dir.display().to_string(), source: e.into() })?;
    let mut writer = Writer { root, dir_times: Vec::new(), parents: HashMap::new() };
    let mut declared: u64 = 0;
    {
        let mut archive = tar::Archive::new(&mut hashing);
        let entries = archive.entries().map_err(read_error(limit))?;
        for entry in entries {
            let mut entry = entry.map_err(read_error(limit))?;
            declared = declared.saturating_add(entry.header().entry_size().unwrap_or(0));
            if declared > limit {
                return Err(Error::TooLarge { limit });
            }
            writer.entry(&mut entry).map_err(|e| match e {
                Error::Read(io) => read_error(limit)(io),
                Error::Io { source, .. } if source.kind() == io::ErrorKind::FileTooLarge && source.to_string().contains(OVER_LIMIT) => {
                    Error::TooLarge { limit }
                }
                other => other,
            })?;
        }
    }
    // The end-of-archive blocks and any padding after them count too.
    io::copy(&mut hashing, &mut io::sink()).map_err(read_error(limit))?;
    writer.finish()?;
    let size = hashing.hasher.len();
    Ok(Unpacked { diff_id: hashing.hasher.finish(), size })
}

/// A path inside the layer: its normal components only.
fn clean(raw: &[u8]) -> Result<PathBuf, String> {
    let path = Path::new(std::ffi::OsStr::from_bytes(raw));
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::Normal(n) => out.push(n),
            Component::RootDir | Component::CurDir => {}
            Component::ParentDir => return Err("the path leaves the layer ('..')".into()),
            Component::Prefix(_) => return Err("not a Unix path".into()),
        }
    }
    Ok(out)
}

struct Writer {
    root: OwnedFd,
    /// Directories' times, set last (writing into a directory changes them).
    dir_times: Vec<(PathBuf, Timestamps)>,
    /// Parent directories resolved so far.
    parents: HashMap<PathBuf, OwnedFd>,
}

fn times_of(mtime: u64) -> Timestamps {
    let t = Timespec { tv_sec: i64::try_from(mtime).unwrap_or(i64::MAX), tv_nsec: 0 };
    Timestamps { last_access: t, last_modification: t }
}

impl Writer {
    fn entry<R: Read>(&mut self, entry: &mut tar::Entry<R>) -> Result<(), Error> {
        let raw = entry.path_bytes().into_owned();
        let shown = String::from_utf8_lossy(&raw).into_owned();
        let fail = |why: String| Error::Entry { path: shown.clone(), why };
        let io_fail = |source: io::Error| Error::Io { path: shown.clone(), source };
        let path = clean(&raw).map_err(fail)?;
        let Some(name) = path.file_name().map(|n| n.to_owned()) else {
            return Ok(()); // the layer's root directory itself
        };
        let parent_path = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let name_str = name.to_string_lossy().into_owned();
        let header = entry.header().clone();
        let kind = header.entry_type();

        if name_str == OPAQUE {
            let parent = self.parent(&parent_path).map_err(io_fail)?;
            let dir = rfs::openat(&parent, ".", OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty()).map_err(|e| io_fail(e.into()))?;
            return rfs::fsetxattr(&dir, OPAQUE_XATTR, b"y", XattrFlags::empty()).map_err(|e| io_fail(e.into()));
        }
        let parent = self.parent(&parent_path).map_err(io_fail)?;
        if let Some(hidden) = name_str.strip_prefix(WHITEOUT_PREFIX) {
            if hidden.is_empty() || hidden == "." || hidden == ".." || hidden.contains('/') {
                return Err(fail("a whiteout must name an entry".into()));
            }
            remove_at(&parent, Path::new(hidden)).map_err(io_fail)?;
            let gone = parent_path.join(hidden);
            self.parents.retain(|p, _| !p.starts_with(&gone));
            return rfs::mknodat(&parent, hidden, FileType::CharacterDevice, Mode::empty(), rfs::makedev(0, 0)).map_err(|e| io_fail(e.into()));
        }

        let mode = Mode::from_raw_mode(header.mode().map_err(io_fail)? & 0o7777);
        let (uid, gid) = owner(entry, &header).map_err(io_fail)?;
        let mtime = header.mtime().unwrap_or(0);
        let xattrs = xattrs(entry).map_err(io_fail)?;
        let owner = (rfs::Uid::from_raw_unchecked(uid), rfs::Gid::from_raw_unchecked(gid));

        if kind.is_dir() {
            match rfs::statat(&parent, &name, AtFlags::SYMLINK_NOFOLLOW) {
                Ok(st) if FileType::from_raw_mode(st.st_mode) == FileType::Directory => {}
                Ok(_) => {
                    remove_at(&parent, Path::new(&name)).map_err(io_fail)?;
                    rfs::mkdirat(&parent, &name, mode).map_err(|e| io_fail(e.into()))?;
                }
                Err(_) => rfs::mkdirat(&parent, &name, mode).map_err(|e| io_fail(e.into()))?,
            }
            let dir = rfs::openat(&parent, &name, OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC, Mode::empty()).map_err(|e| io_fail(e.into()))?;
            rfs::fchown(&dir, Some(owner.0), Some(owner.1)).map_err(|e| io_fail(e.into()))?;
            rfs::fchmod(&dir, mode).map_err(|e| io_fail(e.into()))?;
            set_xattrs(&dir, &xattrs);
            self.parents.retain(|p, _| !p.starts_with(&path));
            self.dir_times.push((path, times_of(mtime)));
            return Ok(());
        }

        remove_at(&parent, Path::new(&name)).map_err(io_fail)?;
        self.parents.retain(|p, _| !p.starts_with(&path));
        match kind {
            tar::EntryType::Regular | tar::EntryType::Continuous | tar::EntryType::GNUSparse => {
                let fd = rfs::openat(&parent, &name, OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC, Mode::from_raw_mode(0o600))
                    .map_err(|e| io_fail(e.into()))?;
                let mut file = std::fs::File::from(fd);
                io::copy(entry, &mut file).map_err(io_fail)?;
                // chown before chmod: chown clears set-id bits.
                rfs::fchown(&file, Some(owner.0), Some(owner.1)).map_err(|e| io_fail(e.into()))?;
                rfs::fchmod(&file, mode).map_err(|e| io_fail(e.into()))?;
                set_xattrs(&file, &xattrs);
                rfs::futimens(&file, &times_of(mtime)).map_err(|e| io_fail(e.into()))?;
            }
            tar::EntryType::Symlink => {
                let target = entry.link_name_bytes().ok_or_else(|| fail("a symlink without a target".into()))?.into_owned();
                rfs::symlinkat(std::ffi::OsStr::from_bytes(&target), &parent, &name).map_err(|e| io_fail(e.into()))?;
                rfs::chownat(&parent, &name, Some(owner.0), Some(owner.1), AtFlags::SYMLINK_NOFOLLOW).map_err(|e| io_fail(e.into()))?;
                let _ = rfs::utimensat(&parent, &name, &times_of(mtime), AtFlags::SYMLINK_NOFOLLOW);
            }
            tar::EntryType::Link => {
                let target = entry.link_name_bytes().ok_or_else(|| fail("a hard link without a target".into()))?.into_owned();
                let target = clean(&target).map_err(fail)?;
                let (Some(target_parent), Some(target_name)) = (target.parent(), target.file_name()) else {
                    return Err(fail("a hard link to the layer's root".into()));
                };
                let target_dir = self.parent(target_parent).map_err(io_fail)?;
                // Without AT_SYMLINK_FOLLOW: a link to a symlink links the
                // symlink itself, never what it points at.
                rfs::linkat(&target_dir, target_name, &parent, &name, AtFlags::empty()).map_err(|e| io_fail(e.into()))?;
            }
            tar::EntryType::Char | tar::EntryType::Block | tar::EntryType::Fifo => {
                let file_type = match kind {
                    tar::EntryType::Char => FileType::CharacterDevice,
                    tar::EntryType::Block => FileType::BlockDevice,
                    _ => FileType::Fifo,
                };
                let major = header.device_major().ok().flatten().unwrap_or(0);
                let minor = header.device_minor().ok().flatten().unwrap_or(0);
                rfs::mknodat(&parent, &name, file_type, mode, rfs::makedev(major, minor)).map_err(|e| io_fail(e.into()))?;
                rfs::chownat(&parent, &name, Some(owner.0), Some(owner.1), AtFlags::SYMLINK_NOFOLLOW).map_err(|e| io_fail(e.into()))?;
                rfs::chmodat(&parent, &name, mode, AtFlags::empty()).map_err(|e| io_fail(e.into()))?;
            }
            // Global and per-file PAX headers and GNU long names are read
            // by the tar reader itself; other kinds carry no file.
            other => tracing::debug!(path = %shown, kind = ?other, "layer entry of an unsupported kind skipped"),
        }
        Ok(())
    }

    /// The directory `path` of the layer, created as needed, resolved
    /// inside the layer.
    fn parent(&mut self, path: &Path) -> io::Result<OwnedFd> {
        if let Some(fd) = self.parents.get(path) {
            return fd.try_clone();
        }
        let resolve = ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS;
        let flags = OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC;
        let fd = match rfs::openat2(&self.root, in_root(path), flags, Mode::empty(), resolve) {
            Ok(fd) => fd,
            Err(rustix::io::Errno::NOENT) => {
                // Create each missing component below the deepest that exists.
                let mut at = rfs::openat2(&self.root, ".", flags, Mode::empty(), resolve)?;
                let mut sofar = PathBuf::new();
                for c in path.components() {
                    sofar.push(c);
                    at = match rfs::openat2(&self.root, in_root(&sofar), flags, Mode::empty(), resolve) {
                        Ok(fd) => fd,
                        Err(rustix::io::Errno::NOENT) => {
                            rfs::mkdirat(&at, c.as_os_str(), Mode::from_raw_mode(0o755))?;
                            rfs::openat2(&self.root, in_root(&sofar), flags, Mode::empty(), resolve)?
                        }
                        Err(e) => return Err(e.into()),
                    };
                }
                at
            }
            Err(e) => return Err(e.into()),
        };
        self.parents.insert(path.to_path_buf(), fd.try_clone()?);
        Ok(fd)
    }

    fn finish(mut self) -> Result<(), Error> {
        for (path, times) in std::mem::take(&mut self.dir_times).into_iter().rev() {
            let fd = rfs::openat2(&self.root, in_root(&path), OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty(), ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS)
                .map_err(|e| Error::Io { path: path.display().to_string(), source: e.into() })?;
            let _ = rfs::futimens(&fd, &times);
        }
        Ok(())
    }
}

/// `.` for the root, so openat2 gets a non-empty path.
fn in_root(path: &Path) -> &Path {
    if path.as_os_str().is_empty() { Path::new(".") } else { path }
}

/// The entry's owner: PAX `uid`/`gid` (ids too large for the header) over
/// the header's.
fn owner<R: Read>(entry: &mut tar::Entry<R>, header: &tar::Header) -> io::Result<(u32, u32)> {
    let mut uid = header.uid()?;
    let mut gid = header.gid()?;
    if let Some(pax) = entry.pax_extensions()? {
        for ext in pax.flatten() {
            let value = || ext.value().ok().and_then(|v| v.parse::<u64>().ok());
            match ext.key() {
                Ok("uid") => uid = value().unwrap_or(uid),
                Ok("gid") => gid = value().unwrap_or(gid),
                _ => {}
            }
        }
    }
    let id = |v: u64| u32::try_from(v).map_err(|_| io::Error::new(io::ErrorKind::InvalidData, format!("owner id {v} out of range")));
    Ok((id(uid)?, id(gid)?))
}

/// Extended attributes from PAX `SCHILY.xattr.*` records.
fn xattrs<R: Read>(entry: &mut tar::Entry<R>) -> io::Result<Vec<(String, Vec<u8>)>> {
    let mut out = Vec::new();
    if let Some(pax) = entry.pax_extensions()? {
        for ext in pax.flatten() {
            if let Ok(key) = ext.key()
                && let Some(name) = key.strip_prefix("SCHILY.xattr.")
            {
                out.push((name.to_string(), ext.value_bytes().to_vec()));
            }
        }
    }
    Ok(out)
}

fn set_xattrs(fd: impl AsFd, xattrs: &[(String, Vec<u8>)]) {
    for (name, value) in xattrs {
        if let Err(error) = rfs::fsetxattr(&fd, name.as_str(), value, XattrFlags::empty()) {
            tracing::debug!(%error, xattr = %name, "extended attribute not kept");
        }
    }
}

/// Removes `name` in `dir`, a directory with everything under it; gone
/// already is fine.
fn remove_at(dir: &OwnedFd, name: &Path) -> io::Result<()> {
    match rfs::unlinkat(dir, name, AtFlags::empty()) {
        Ok(()) | Err(rustix::io::Errno::NOENT) => Ok(()),
        Err(rustix::io::Errno::ISDIR) | Err(rustix::io::Errno::PERM) => {
            let sub = rfs::openat(dir, name, OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC, Mode::empty())?;
            let names: Vec<std::ffi::OsString> = rfs::Dir::read_from(&sub)?
                .filter_map(Result::ok)
                .map(|e| std::ffi::OsStr::from_bytes(e.file_name().to_bytes()).to_owned())
                .filter(|n| n != "." && n != "..")
                .collect();
            for n in names {
                remove_at(&sub, Path::new(&n))?;
            }
            rfs::unlinkat(dir, name, AtFlags::REMOVEDIR).map_err(Into::into)
        }
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests;
