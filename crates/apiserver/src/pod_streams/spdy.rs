//! The part of SPDY/3.1 that Kubernetes' streaming protocols use, server
//! side: frames read and written on one connection, with the header
//! blocks zlib-compressed against the protocol's preset dictionary (one
//! compression context per direction for the whole connection). kubectl
//! speaks it for `port-forward`, tunnelled in a WebSocket since 1.31 and
//! directly after an HTTP upgrade before.

use bytes::{BufMut, Bytes, BytesMut};
use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};
use std::io;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// The preset dictionary of SPDY/3 header compression (a constant of the
/// protocol).
const DICTIONARY: &[u8] = include_bytes!("spdy_dictionary.bin");

const VERSION: u16 = 3;
const SYN_STREAM: u16 = 1;
const SYN_REPLY: u16 = 2;
const RST_STREAM: u16 = 3;
const PING: u16 = 6;
const GOAWAY: u16 = 7;
const HEADERS: u16 = 8;
const WINDOW_UPDATE: u16 = 9;
const FLAG_FIN: u8 = 0x01;

/// The largest frame accepted; clients send data in far smaller frames.
const MAX_FRAME: usize = 1 << 20;
/// The largest header block accepted once decompressed.
const MAX_HEADERS: usize = 64 * 1024;
/// The largest data frame sent.
pub(super) const MAX_DATA: usize = 32 * 1024;

/// A frame a client sent.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Frame {
    SynStream { stream: u32, fin: bool, headers: Vec<(String, String)> },
    Data { stream: u32, fin: bool, data: Bytes },
    Reset { stream: u32 },
    Ping { id: u32 },
    GoAway,
    /// Frames that need no answer (SETTINGS, WINDOW_UPDATE, HEADERS, ...).
    Other,
}

fn invalid(message: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message.into())
}

fn be32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

/// Reads frames, keeping the connection's decompression context.
pub(super) struct Reader<R> {
    io: R,
    inflate: Decompress,
}

impl<R: AsyncRead + Unpin> Reader<R> {
    pub fn new(io: R) -> Self {
        Reader { io, inflate: Decompress::new(true) }
    }

    /// The next frame; None at the end of the connection.
    pub async fn next(&mut self) -> io::Result<Option<Frame>> {
        let mut head = [0u8; 8];
        match self.io.read_exact(&mut head).await {
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
            Err(e) => return Err(e),
        }
        let flags = head[4];
        let length = (usize::from(head[5]) << 16) | (usize::from(head[6]) << 8) | usize::from(head[7]);
        if length > MAX_FRAME {
            return Err(invalid(format!("a SPDY frame of {length} bytes is over the limit of {MAX_FRAME}")));
        }
        let mut payload = vec![0u8; length];
        self.io.read_exact(&mut payload).await?;
        let fin = flags & FLAG_FIN != 0;
        if head[0] & 0x80 == 0 {
            let stream = be32(&head) & 0x7fff_ffff;
            return Ok(Some(Frame::Data { stream, fin, data: Bytes::from(payload) }));
        }
        let version = u16::from_be_bytes([head[0], head[1]]) & 0x7fff;
        if version != VERSION {
            return Err(invalid(format!("SPDY version {version} is not supported (3 is)")));
        }
        let kind = u16::from_be_bytes([head[2], head[3]]);
        let short = || invalid(format!("a short SPDY control frame of type {kind}"));
        Ok(Some(match kind {
            SYN_STREAM => {
                if payload.len() < 10 {
                    return Err(short());
                }
                let stream = be32(&payload) & 0x7fff_ffff;
                let headers = self.headers(&payload[10..])?;
                Frame::SynStream { stream, fin, headers }
            }
            // Its header block still moves the compression context on.
            SYN_REPLY | HEADERS => {
                if payload.len() < 4 {
                    return Err(short());
                }
                self.headers(&payload[4..])?;
                Frame::Other
            }
            RST_STREAM => {
                if payload.len() < 8 {
                    return Err(short());
                }
                Frame::Reset { stream: be32(&payload) & 0x7fff_ffff }
            }
            PING => {
                if payload.len() < 4 {
                    return Err(short());
                }
                Frame::Ping { id: be32(&payload) }
            }
            GOAWAY => Frame::GoAway,
            _ => Frame::Other,
        }))
    }

    /// Decompresses and parses one name/value header block.
    fn headers(&mut self, compressed: &[u8]) -> io::Result<Vec<(String, String)>> {
        let mut out = Vec::with_capacity(256);
        let mut input = compressed;
        loop {
            if out.len() == out.capacity() {
                if out.len() >= MAX_HEADERS {
                    return Err(invalid("a SPDY header block is over 64 KiB"));
                }
                out.reserve(out.len().max(256));
            }
            let (before, produced) = (self.inflate.total_in(), out.len());
            let result = self.inflate.decompress_vec(input, &mut out, FlushDecompress::Sync);
            let used = (self.inflate.total_in() - before) as usize;
            input = &input[used.min(input.len())..];
            match result {
                Ok(Status::Ok | Status::BufError) if input.is_empty() && out.len() < out.capacity() => break,
                Ok(Status::StreamEnd) => break,
                // Neither input taken nor output made, with room to make it.
                Ok(_) if used == 0 && out.len() == produced && out.len() < out.capacity() => {
                    return Err(invalid("a SPDY header block is truncated"));
                }
                Ok(_) => continue,
                Err(e) if e.needs_dictionary().is_some() => {
                    self.inflate.set_dictionary(DICTIONARY).map_err(|e| invalid(format!("SPDY header dictionary: {e}")))?;
                }
                Err(e) => return Err(invalid(format!("a SPDY header block does not decompress: {e}"))),
            }
        }
        parse_headers(&out)
    }
}

fn parse_headers(block: &[u8]) -> io::Result<Vec<(String, String)>> {
    let bad = || invalid("a malformed SPDY header block");
    let mut rest = block;
    let take = |rest: &mut &[u8]| -> io::Result<String> {
        let len = be32(rest.get(..4).ok_or_else(bad)?) as usize;
        let bytes = rest.get(4..4 + len).ok_or_else(bad)?;
        *rest = &rest[4 + len..];
        Ok(String::from_utf8_lossy(bytes).into_owned())
    };
    let count = be32(rest.get(..4).ok_or_else(bad)?) as usize;
    rest = &rest[4..];
    let mut headers = Vec::with_capacity(count.min(64));
    for _ in 0..count {
        let name = take(&mut rest)?;
        let value = take(&mut rest)?;
        headers.push((name.to_ascii_lowercase(), value));
    }
    Ok(headers)
}

/// Writes frames, keeping the connection's compression context.
pub(super) struct Writer<W> {
    io: W,
    deflate: Compress,
}

impl<W: AsyncWrite + Unpin> Writer<W> {
    pub fn new(io: W) -> io::Result<Self> {
        let mut deflate = Compress::new(Compression::best(), true);
        deflate.set_dictionary(DICTIONARY).map_err(|e| invalid(format!("SPDY header dictionary: {e}")))?;
        Ok(Writer { io, deflate })
    }

    async fn control(&mut self, kind: u16, flags: u8, payload: &[u8]) -> io::Result<()> {
        let mut frame = BytesMut::with_capacity(8 + payload.len());
        frame.put_u16(0x8000 | VERSION);
        frame.put_u16(kind);
        frame.put_u32((u32::from(flags) << 24) | payload.len() as u32);
        frame.put_slice(payload);
        self.io.write_all(&frame).await?;
        self.io.flush().await
    }

    /// Accepts a stream (with no headers).
    pub async fn syn_reply(&mut self, stream: u32) -> io::Result<()> {
        let block = self.compress(&0u32.to_be_bytes())?;
        let mut payload = Vec::with_capacity(4 + block.len());
        payload.extend_from_slice(&stream.to_be_bytes());
        payload.extend_from_slice(&block);
        self.control(SYN_REPLY, 0, &payload).await
    }

    pub async fn data(&mut self, stream: u32, data: &[u8], fin: bool) -> io::Result<()> {
        let mut frame = BytesMut::with_capacity(8 + data.len());
        frame.put_u32(stream & 0x7fff_ffff);
        frame.put_u32((u32::from(if fin { FLAG_FIN } else { 0 }) << 24) | data.len() as u32);
        frame.put_slice(data);
        self.io.write_all(&frame).await?;
        self.io.flush().await
    }

    pub async fn reset(&mut self, stream: u32, status: u32) -> io::Result<()> {
        let mut payload = [0u8; 8];
        payload[..4].copy_from_slice(&stream.to_be_bytes());
        payload[4..].copy_from_slice(&status.to_be_bytes());
        self.control(RST_STREAM, 0, &payload).await
    }

    pub async fn ping(&mut self, id: u32) -> io::Result<()> {
        self.control(PING, 0, &id.to_be_bytes()).await
    }

    pub async fn window_update(&mut self, stream: u32, delta: u32) -> io::Result<()> {
        let mut payload = [0u8; 8];
        payload[..4].copy_from_slice(&stream.to_be_bytes());
        payload[4..].copy_from_slice(&delta.to_be_bytes());
        self.control(WINDOW_UPDATE, 0, &payload).await
    }

    fn compress(&mut self, block: &[u8]) -> io::Result<Vec<u8>> {
        let mut out = Vec::with_capacity(block.len() + 64);
        let mut input = block;
        loop {
            let before = self.deflate.total_in();
            self.deflate
                .compress_vec(input, &mut out, FlushCompress::Sync)
                .map_err(|e| invalid(format!("compressing a SPDY header block: {e}")))?;
            let used = (self.deflate.total_in() - before) as usize;
            input = &input[used.min(input.len())..];
            if input.is_empty() && out.len() < out.capacity() {
                return Ok(out);
            }
            out.reserve(out.capacity().max(64));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A header block as a client writes it: count, then length-prefixed
    /// names and values.
    fn block(headers: &[(&str, &str)]) -> Vec<u8> {
        let mut b = (headers.len() as u32).to_be_bytes().to_vec();
        for (n, v) in headers {
            b.extend_from_slice(&(n.len() as u32).to_be_bytes());
            b.extend_from_slice(n.as_bytes());
            b.extend_from_slice(&(v.len() as u32).to_be_bytes());
            b.extend_from_slice(v.as_bytes());
        }
        b
    }

    #[tokio::test]
    async fn spdy_frames_round_trip_with_shared_compression_contexts() {
        // A client's SYN_STREAMs, compressed in one context as the protocol
        // requires: the second block only decodes after the first.
        let mut client = Writer::new(Vec::new()).expect("a writer");
        let mut wire = Vec::new();
        for (stream, port) in [(1u32, "8080"), (3, "9090")] {
            let compressed = client.compress(&block(&[("streamType", "data"), ("port", port), ("requestID", "0")])).expect("compresses");
            let mut payload = stream.to_be_bytes().to_vec();
            payload.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
            payload.extend_from_slice(&compressed);
            wire.extend_from_slice(&(0x8000u16 | VERSION).to_be_bytes());
            wire.extend_from_slice(&SYN_STREAM.to_be_bytes());
            wire.extend_from_slice(&(payload.len() as u32).to_be_bytes());
            wire.extend_from_slice(&payload);
        }
        let mut data = Writer::new(Vec::new()).expect("a writer");
        data.data(1, b"hello", true).await.expect("writes");
        data.ping(7).await.expect("writes");
        wire.extend_from_slice(&data.io);

        let mut reader = Reader::new(&wire[..]);
        for (stream, port) in [(1u32, "8080"), (3, "9090")] {
            let frame = reader.next().await.expect("reads").expect("a frame");
            let Frame::SynStream { stream: s, headers, .. } = frame else { panic!("a SYN_STREAM, got {frame:?}") };
            assert_eq!(s, stream);
            assert!(headers.contains(&("port".to_string(), port.to_string())) && headers.contains(&("streamtype".to_string(), "data".to_string())), "{headers:?}");
        }
        assert_eq!(reader.next().await.expect("reads"), Some(Frame::Data { stream: 1, fin: true, data: Bytes::from_static(b"hello") }));
        assert_eq!(reader.next().await.expect("reads"), Some(Frame::Ping { id: 7 }));
        assert_eq!(reader.next().await.expect("reads"), None);
    }

    #[tokio::test]
    async fn spdy_oversized_and_foreign_frames_are_refused() {
        let huge = [0x80, 0x03, 0x00, 0x01, 0x00, 0xff, 0xff, 0xff];
        assert!(Reader::new(&huge[..]).next().await.is_err());
        let spdy2 = [0x80, 0x02, 0x00, 0x06, 0x00, 0x00, 0x00, 0x04, 0, 0, 0, 1];
        assert!(Reader::new(&spdy2[..]).next().await.is_err());
    }
}
