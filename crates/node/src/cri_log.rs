//! Container logs in the CRI format the kubelet reads and `kubectl logs`
//! serves: one record per line, `<RFC 3339 time> <stream> <P|F> <text>`,
//! where `P` marks a piece of a line longer than the record limit (or cut
//! by the end of output) and `F` the piece that ends it.

use std::io::{self, Write};

/// The longest text of one record; longer lines are split (the kubelet's
/// limit).
pub const MAX_RECORD: usize = 16 * 1024;

/// Which output a record came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

impl Stream {
    pub fn as_str(self) -> &'static str {
        match self {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
        }
    }
}

/// One parsed record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record<'a> {
    pub time: &'a str,
    pub stream: Stream,
    /// Whether the record ends its line.
    pub full: bool,
    pub text: &'a [u8],
}

/// Parses one record (without its newline).
pub fn parse(line: &[u8]) -> Option<Record<'_>> {
    let mut parts = line.splitn(4, |b| *b == b' ');
    let time = std::str::from_utf8(parts.next()?).ok()?;
    let stream = match parts.next()? {
        b"stdout" => Stream::Stdout,
        b"stderr" => Stream::Stderr,
        _ => return None,
    };
    let full = match parts.next()? {
        b"F" => true,
        b"P" => false,
        _ => return None,
    };
    Some(Record { time, stream, full, text: parts.next().unwrap_or_default() })
}

/// Splits one stream's output into records: whole lines as `F`, the
/// pieces of overlong lines as `P` before their last piece.
#[derive(Debug)]
pub struct LineSplitter {
    stream: Stream,
    pending: Vec<u8>,
}

impl LineSplitter {
    pub fn new(stream: Stream) -> LineSplitter {
        LineSplitter { stream, pending: Vec::new() }
    }

    /// Feeds output; writes the records it completes to `out`, each with
    /// the time `now` gives.
    pub fn feed(&mut self, bytes: &[u8], now: &dyn Fn() -> String, out: &mut impl Write) -> io::Result<()> {
        for chunk in bytes.split_inclusive(|b| *b == b'\n') {
            let ends_line = chunk.last() == Some(&b'\n');
            let text = if ends_line { &chunk[..chunk.len() - 1] } else { chunk };
            self.pending.extend_from_slice(text);
            while self.pending.len() > MAX_RECORD {
                let rest = self.pending.split_off(MAX_RECORD);
                write_record(out, &now(), self.stream, false, &self.pending)?;
                self.pending = rest;
            }
            if ends_line {
                write_record(out, &now(), self.stream, true, &self.pending)?;
                self.pending.clear();
            }
        }
        Ok(())
    }

    /// The output ended: a last line without a newline is written whole.
    pub fn finish(&mut self, now: &dyn Fn() -> String, out: &mut impl Write) -> io::Result<()> {
        if !self.pending.is_empty() {
            write_record(out, &now(), self.stream, true, &self.pending)?;
            self.pending.clear();
        }
        Ok(())
    }
}

fn write_record(out: &mut impl Write, time: &str, stream: Stream, full: bool, text: &[u8]) -> io::Result<()> {
    let mut record = Vec::with_capacity(text.len() + 48);
    record.extend_from_slice(time.as_bytes());
    record.push(b' ');
    record.extend_from_slice(stream.as_str().as_bytes());
    record.extend_from_slice(if full { b" F " } else { b" P " });
    record.extend_from_slice(text);
    record.push(b'\n');
    // One write per record, so records of two streams never interleave.
    out.write_all(&record)
}

/// The time of a record: RFC 3339 with nanoseconds, in UTC.
pub fn now() -> String {
    // Nine digits always (`%f` drops trailing zeros): records then have one
    // width and their times sort as text.
    jiff::Timestamp::now().strftime("%Y-%m-%dT%H:%M:%S.%9fZ").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records(stream: Stream, inputs: &[&[u8]]) -> Vec<String> {
        let mut out = Vec::new();
        let mut s = LineSplitter::new(stream);
        let t = || "2026-01-01T00:00:00.000000001Z".to_string();
        for i in inputs {
            s.feed(i, &t, &mut out).expect("writes");
        }
        s.finish(&t, &mut out).expect("writes");
        String::from_utf8(out).expect("utf-8").lines().map(str::to_string).collect()
    }

    #[test]
    fn cri_log_lines_and_pieces() {
        assert_eq!(
            records(Stream::Stdout, &[b"hel", b"lo\nwor", b"ld\n\nlast"]),
            [
                "2026-01-01T00:00:00.000000001Z stdout F hello",
                "2026-01-01T00:00:00.000000001Z stdout F world",
                "2026-01-01T00:00:00.000000001Z stdout F ",
                "2026-01-01T00:00:00.000000001Z stdout F last",
            ]
        );
        let long = vec![b'x'; MAX_RECORD * 2 + 5];
        let mut input = long.clone();
        input.push(b'\n');
        let r = records(Stream::Stderr, &[&input]);
        assert_eq!(r.len(), 3);
        let parsed: Vec<Record> = r.iter().map(|l| parse(l.as_bytes()).expect("parses")).collect();
        assert_eq!(parsed.iter().map(|p| (p.stream, p.full, p.text.len())).collect::<Vec<_>>(), [(Stream::Stderr, false, MAX_RECORD), (Stream::Stderr, false, MAX_RECORD), (Stream::Stderr, true, 5)]);
        assert_eq!(parse(b"2026-01-01T00:00:00Z stdout F a b c").map(|r| r.text), Some(&b"a b c"[..]));
        assert_eq!(parse(b"garbage"), None);
        assert!(now().ends_with('Z') && now().len() == "2026-01-01T00:00:00.000000001Z".len(), "{}", now());
    }
}
