//! Reading a container's CRI log as `kubectl logs` shows it: the text of
//! each line (pieces of long lines joined), optionally with its time, from
//! a point in time or the last N lines, up to a byte limit, and followed
//! while the container runs (a log rotated meanwhile is followed into its
//! new file).

use crate::cri_log;
use bytes::{Bytes, BytesMut};
use futures::Stream;
use jiff::Timestamp;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::PathBuf;
use std::time::Duration;

/// How often a followed log is looked at for more.
const FOLLOW_POLL: Duration = Duration::from_millis(100);

/// What to read of a log (Kubernetes' `PodLogOptions`).
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub follow: bool,
    /// Only lines written at or after this time.
    pub since: Option<Timestamp>,
    /// Only the last N lines (of what `since` leaves).
    pub tail_lines: Option<u64>,
    /// Each line starts with its RFC 3339 time and a space.
    pub timestamps: bool,
    /// Stop after this many bytes.
    pub limit_bytes: Option<u64>,
}

/// Joins records into lines and renders them as options say.
#[derive(Debug, Default)]
struct Renderer {
    timestamps: bool,
    since: Option<Timestamp>,
    /// The text of a line whose last piece has not come yet, and its
    /// first piece's time.
    partial: Option<(String, Vec<u8>)>,
    /// Bytes of a record whose newline has not been written yet.
    unfinished: Vec<u8>,
}

impl Renderer {
    /// Takes raw log bytes and returns the rendered lines they complete.
    fn feed(&mut self, bytes: &[u8], out: &mut Vec<Vec<u8>>) {
        self.unfinished.extend_from_slice(bytes);
        let mut start = 0;
        while let Some(nl) = self.unfinished[start..].iter().position(|b| *b == b'\n') {
            let end = start + nl;
            let record = self.unfinished[start..end].to_vec();
            start = end + 1;
            if let Some(line) = self.record(&record) {
                out.push(line);
            }
        }
        self.unfinished.drain(..start);
    }

    fn record(&mut self, raw: &[u8]) -> Option<Vec<u8>> {
        let r = cri_log::parse(raw)?;
        let (time, mut text) = match self.partial.take() {
            Some((time, text)) => (time, text),
            None => (r.time.to_string(), Vec::new()),
        };
        text.extend_from_slice(r.text);
        if !r.full {
            self.partial = Some((time, text));
            return None;
        }
        if let Some(since) = self.since
            && time.parse::<Timestamp>().is_ok_and(|t| t < since)
        {
            return None;
        }
        let mut line = Vec::with_capacity(text.len() + 40);
        if self.timestamps {
            line.extend_from_slice(time.as_bytes());
            line.push(b' ');
        }
        line.extend_from_slice(&text);
        line.push(b'\n');
        Some(line)
    }
}

/// What a log stream reads from: the file, and whether its container may
/// still write to it.
pub struct Source {
    pub path: PathBuf,
    pub running: Box<dyn Fn() -> bool + Send + Sync>,
}

/// The log as `options` say, as a stream of chunks. A missing file is an
/// empty log (the container wrote nothing yet, or its log was removed).
pub fn read(source: Source, options: Options) -> impl Stream<Item = io::Result<Bytes>> + Send + 'static {
    let (tx, rx) = tokio::sync::mpsc::channel::<io::Result<Bytes>>(16);
    tokio::task::spawn_blocking(move || {
        if let Err(e) = pump(&source, &options, &tx) {
            let _ = tx.blocking_send(Err(e));
        }
    });
    tokio_stream::wrappers::ReceiverStream::new(rx)
}

/// Sends what there is, then (when following) what comes, honouring the
/// byte limit; ends when the client is gone.
fn pump(source: &Source, options: &Options, tx: &tokio::sync::mpsc::Sender<io::Result<Bytes>>) -> io::Result<()> {
    let mut renderer = Renderer { timestamps: options.timestamps, since: options.since, ..Renderer::default() };
    let mut left = options.limit_bytes.unwrap_or(u64::MAX);
    let send = |lines: Vec<Vec<u8>>, left: &mut u64| -> bool {
        let mut chunk = BytesMut::new();
        for line in lines {
            if *left == 0 {
                break;
            }
            let take = (line.len() as u64).min(*left) as usize;
            chunk.extend_from_slice(&line[..take]);
            *left -= take as u64;
        }
        chunk.is_empty() || tx.blocking_send(Ok(chunk.freeze())).is_ok()
    };

    // Whether the container could still write is asked before reading, so
    // the last read after it stopped sees everything it wrote.
    let mut running = (source.running)();
    let mut file = match std::fs::File::open(&source.path) {
        Ok(f) => Some(f),
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => return Err(e),
    };
    let mut lines = Vec::new();
    if let Some(f) = file.as_mut() {
        let mut all = Vec::new();
        f.read_to_end(&mut all)?;
        renderer.feed(&all, &mut lines);
    }
    if let Some(n) = options.tail_lines {
        let keep = lines.len().saturating_sub(usize::try_from(n).unwrap_or(usize::MAX));
        lines.drain(..keep);
    }
    if !send(lines, &mut left) || left == 0 || !options.follow {
        return Ok(());
    }
    let mut identity = file.as_ref().and_then(|f| f.metadata().ok()).map(|m| file_identity(&m));
    loop {
        if !running {
            return Ok(());
        }
        if tx.is_closed() {
            return Ok(());
        }
        std::thread::sleep(FOLLOW_POLL);
        running = (source.running)();
        let mut lines = Vec::new();
        if let Some(f) = file.as_mut() {
            let mut more = Vec::new();
            f.read_to_end(&mut more)?;
            renderer.feed(&more, &mut lines);
        }
        // A rotated (or newly made) log: the rest of the old file was just
        // read; go on from the start of the new one.
        let now = std::fs::metadata(&source.path).ok().map(|m| file_identity(&m));
        if now.is_some() && now != identity {
            let mut f = std::fs::File::open(&source.path)?;
            f.seek(SeekFrom::Start(0))?;
            let mut more = Vec::new();
            f.read_to_end(&mut more)?;
            renderer.feed(&more, &mut lines);
            identity = now;
            file = Some(f);
        }
        if !send(lines, &mut left) || left == 0 {
            return Ok(());
        }
    }
}

fn file_identity(m: &std::fs::Metadata) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt;
    (m.dev(), m.ino())
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt;
    use std::io::Write;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    const LOG: &str = "2026-01-01T00:00:01.000000000Z stdout F one\n\
2026-01-01T00:00:02.000000000Z stderr F two\n\
2026-01-01T00:00:03.000000000Z stdout P thr\n\
2026-01-01T00:00:03.500000000Z stdout F ee\n\
2026-01-01T00:00:04.000000000Z stdout F four\n";

    async fn collect(path: PathBuf, options: Options) -> String {
        let source = Source { path, running: Box::new(|| false) };
        let chunks: Vec<Bytes> = read(source, options).map(|c| c.expect("reads")).collect().await;
        chunks.iter().map(|c| String::from_utf8_lossy(c).into_owned()).collect()
    }

    fn log_file() -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("0.log");
        std::fs::write(&path, LOG).expect("writes");
        (dir, path)
    }

    #[tokio::test]
    async fn logs_join_pieces_and_honour_tail_since_timestamps_and_limit() {
        let (_dir, path) = log_file();
        assert_eq!(collect(path.clone(), Options::default()).await, "one\ntwo\nthree\nfour\n");
        assert_eq!(collect(path.clone(), Options { tail_lines: Some(2), ..Options::default() }).await, "three\nfour\n");
        assert_eq!(collect(path.clone(), Options { tail_lines: Some(0), ..Options::default() }).await, "");
        let since = "2026-01-01T00:00:02Z".parse().ok();
        assert_eq!(collect(path.clone(), Options { since, ..Options::default() }).await, "two\nthree\nfour\n");
        assert_eq!(
            collect(path.clone(), Options { timestamps: true, tail_lines: Some(1), ..Options::default() }).await,
            "2026-01-01T00:00:04.000000000Z four\n"
        );
        assert_eq!(collect(path.clone(), Options { limit_bytes: Some(6), ..Options::default() }).await, "one\ntw");
        assert_eq!(collect(path.with_file_name("missing.log"), Options::default()).await, "");
    }

    #[tokio::test]
    async fn logs_follow_new_lines_and_a_rotation_until_the_container_stops() {
        let (_dir, path) = log_file();
        let running = Arc::new(AtomicBool::new(true));
        let flag = running.clone();
        let source = Source { path: path.clone(), running: Box::new(move || flag.load(Ordering::SeqCst)) };
        let mut stream = Box::pin(read(source, Options { follow: true, tail_lines: Some(1), ..Options::default() }));
        let first = stream.next().await.expect("a chunk").expect("reads");
        assert_eq!(&first[..], b"four\n");
        let mut f = std::fs::OpenOptions::new().append(true).open(&path).expect("opens");
        writeln!(f, "2026-01-01T00:00:05.000000000Z stdout F five").expect("writes");
        let next = stream.next().await.expect("a chunk").expect("reads");
        assert_eq!(&next[..], b"five\n");
        // Rotation: the file is renamed and a new one written.
        std::fs::rename(&path, path.with_extension("log.1")).expect("renames");
        std::fs::write(&path, "2026-01-01T00:00:06.000000000Z stdout F six\n").expect("writes");
        let next = stream.next().await.expect("a chunk").expect("reads");
        assert_eq!(&next[..], b"six\n");
        running.store(false, Ordering::SeqCst);
        assert!(stream.next().await.is_none(), "the stream ends with its container");
    }
}
