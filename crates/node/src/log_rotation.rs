//! A container's log file, rotated by size as the kubelet's
//! `containerLogMaxSize` and `containerLogMaxFiles` say: when the file
//! passes the size, it is renamed `<name>.1` (older ones move up to
//! `<name>.<files - 1>`, the oldest goes) and a new file starts. Rotation
//! happens between records, so no record is split across files; readers
//! that follow the log reopen the path when its file changes.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// The kubelet's defaults.
pub const DEFAULT_MAX_SIZE: u64 = 10 * 1024 * 1024;
pub const DEFAULT_MAX_FILES: u32 = 5;

/// The open log and its limits.
pub struct RotatingLog {
    path: PathBuf,
    file: File,
    size: u64,
    max_size: u64,
    /// Files kept in all, the current one included (at least 2).
    max_files: u32,
}

impl RotatingLog {
    pub fn open(path: &Path, max_size: u64, max_files: u32) -> io::Result<RotatingLog> {
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        let size = file.metadata()?.len();
        Ok(RotatingLog { path: path.to_path_buf(), file, size, max_size: max_size.max(1), max_files: max_files.max(2) })
    }

    fn rotated(&self, n: u32) -> PathBuf {
        let mut name = self.path.as_os_str().to_owned();
        name.push(format!(".{n}"));
        PathBuf::from(name)
    }

    /// Rotates when the file has passed its size; called between records.
    pub fn rotate_if_full(&mut self) -> io::Result<()> {
        if self.size < self.max_size {
            return Ok(());
        }
        self.file.sync_all()?;
        let _ = std::fs::remove_file(self.rotated(self.max_files - 1));
        for n in (1..self.max_files - 1).rev() {
            let from = self.rotated(n);
            if from.exists() {
                std::fs::rename(&from, self.rotated(n + 1))?;
            }
        }
        std::fs::rename(&self.path, self.rotated(1))?;
        self.file = OpenOptions::new().create(true).append(true).open(&self.path)?;
        self.size = 0;
        Ok(())
    }

    pub fn sync_all(&self) -> io::Result<()> {
        self.file.sync_all()
    }
}

impl Write for RotatingLog {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.file.write(buf)?;
        self.size += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_rotation_keeps_the_newest_files_and_whole_records() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("0.log");
        let mut log = RotatingLog::open(&path, 10, 3).expect("opens");
        for i in 0..7 {
            writeln!(log, "record {i}").expect("writes");
            log.rotate_if_full().expect("rotates");
        }
        let read = |p: PathBuf| std::fs::read_to_string(p).unwrap_or_default();
        // Records stay whole; a file rotates once past 10 bytes; 3 files
        // in all, the oldest (records 0 and 1) gone.
        assert_eq!(read(path.clone()), "record 6\n");
        assert_eq!(read(dir.path().join("0.log.1")), "record 4\nrecord 5\n");
        assert_eq!(read(dir.path().join("0.log.2")), "record 2\nrecord 3\n");
        assert!(!dir.path().join("0.log.3").exists());
        // A reopened log goes on counting what is already there.
        std::fs::write(&path, "0123456789").expect("writes");
        let mut again = RotatingLog::open(&path, 10, 3).expect("opens");
        again.rotate_if_full().expect("rotates");
        assert_eq!(read(dir.path().join("0.log.1")), "0123456789");
    }
}
