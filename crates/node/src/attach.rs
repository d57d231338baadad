//! Attaching to a container's own process (`kubectl attach`, `kubectl run
//! -it`): its shim serves a unix socket (`attach.sock` in the container's
//! directory) that copies the container's output to every attached
//! client and takes input for its stdin and terminal. Frames are one kind
//! byte, a 4-byte big-endian length and the payload. The shim's side is
//! blocking (threads, as the rest of the shim); the agent's side is async.

use std::io::{self, Read, Write};
use std::path::Path;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The socket's name in the container's directory.
pub const SOCKET: &str = "attach.sock";

pub const STDIN: u8 = 0;
pub const STDOUT: u8 = 1;
pub const STDERR: u8 = 2;
/// The client is done with stdin (the container's stdin closes if its
/// spec says `stdinOnce`).
pub const CLOSE_STDIN: u8 = 3;
/// A terminal size: `<width> <height>`.
pub const RESIZE: u8 = 4;

/// The largest frame either side accepts.
const MAX_FRAME: usize = 1 << 20;

pub fn write_frame(w: &mut impl Write, kind: u8, payload: &[u8]) -> io::Result<()> {
    let mut frame = Vec::with_capacity(5 + payload.len());
    frame.push(kind);
    frame.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    frame.extend_from_slice(payload);
    w.write_all(&frame)
}

/// A frame's header read (`Ok(None)` at the end of the stream): its
/// kind and an empty payload of its length, checked against the limit.
fn start_frame(head: io::Result<[u8; 5]>) -> io::Result<Option<(u8, Vec<u8>)>> {
    let head = match head {
        Ok(h) => h,
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    };
    let len = u32::from_be_bytes([head[1], head[2], head[3], head[4]]) as usize;
    if len > MAX_FRAME {
        return Err(io::Error::new(io::ErrorKind::InvalidData, format!("an attach frame of {len} bytes")));
    }
    Ok(Some((head[0], vec![0u8; len])))
}

pub fn read_frame(r: &mut impl Read) -> io::Result<Option<(u8, Vec<u8>)>> {
    let mut head = [0u8; 5];
    let Some((kind, mut payload)) = start_frame(r.read_exact(&mut head).map(|()| head))? else { return Ok(None) };
    r.read_exact(&mut payload)?;
    Ok(Some((kind, payload)))
}

async fn read_frame_async(r: &mut (impl tokio::io::AsyncRead + Unpin)) -> io::Result<Option<(u8, Vec<u8>)>> {
    let mut head = [0u8; 5];
    let Some((kind, mut payload)) = start_frame(r.read_exact(&mut head).await.map(|_| head))? else { return Ok(None) };
    r.read_exact(&mut payload).await?;
    Ok(Some((kind, payload)))
}

/// Parses a resize payload.
pub fn parse_size(payload: &[u8]) -> Option<(u16, u16)> {
    let text = std::str::from_utf8(payload).ok()?;
    let (w, h) = text.split_once(' ')?;
    Some((w.parse().ok()?, h.parse().ok()?))
}

/// Attaches to the container whose directory is `dir`: its output as
/// readers (stdout; stderr unless it has a terminal), its stdin when
/// asked for, a resize function; `exit` resolves when the session ends
/// (the container's end, or the shim's).
pub async fn connect(dir: &Path, stdin: bool) -> io::Result<crate::exec::Process> {
    let socket = dir.join(SOCKET);
    let stream = tokio::net::UnixStream::connect(&socket).await.map_err(|e| {
        io::Error::new(e.kind(), format!("the container cannot be attached to ({}: {e}; containers started by an older nubis cannot)", socket.display()))
    })?;
    let (mut read, mut write) = stream.into_split();
    let (out_ours, out_theirs) = tokio::io::duplex(64 * 1024);
    let (err_ours, err_theirs) = tokio::io::duplex(64 * 1024);
    let (done_tx, done_rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let (mut out, mut err) = (out_ours, err_ours);
        while let Ok(Some((kind, payload))) = read_frame_async(&mut read).await {
            let target = match kind {
                STDOUT => &mut out,
                STDERR => &mut err,
                _ => continue,
            };
            if target.write_all(&payload).await.is_err() {
                break;
            }
        }
        let _ = done_tx.send(());
    });
    let (tx, mut rx) = tokio::sync::mpsc::channel::<(u8, Vec<u8>)>(16);
    tokio::spawn(async move {
        while let Some((kind, payload)) = rx.recv().await {
            let mut frame = Vec::with_capacity(5 + payload.len());
            let _ = write_frame(&mut frame, kind, &payload);
            if write.write_all(&frame).await.is_err() {
                return;
            }
        }
    });
    let stdin_writer = if stdin {
        let (ours, theirs) = tokio::io::duplex(64 * 1024);
        let tx = tx.clone();
        tokio::spawn(async move {
            let mut input = ours;
            let mut buf = vec![0u8; 32 * 1024];
            loop {
                match input.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        if tx.send((STDIN, buf[..n].to_vec())).await.is_err() {
                            return;
                        }
                    }
                }
            }
            let _ = tx.send((CLOSE_STDIN, Vec::new())).await;
        });
        Some(Box::pin(theirs) as crate::exec::Writer)
    } else {
        None
    };
    let resize = move |width: u16, height: u16| {
        let _ = tx.try_send((RESIZE, format!("{width} {height}").into_bytes()));
    };
    Ok(crate::exec::Process {
        stdin: stdin_writer,
        stdout: Some(Box::pin(out_theirs)),
        stderr: Some(Box::pin(err_theirs)),
        resize: Some(Box::new(resize)),
        exit: Box::pin(async move {
            let _ = done_rx.await;
            Ok(0)
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attach_frames_round_trip_and_refuse_oversized_ones() {
        let mut wire = Vec::new();
        write_frame(&mut wire, STDOUT, b"hello").expect("writes");
        write_frame(&mut wire, RESIZE, b"80 24").expect("writes");
        let mut r = &wire[..];
        assert_eq!(read_frame(&mut r).expect("reads"), Some((STDOUT, b"hello".to_vec())));
        let (kind, size) = read_frame(&mut r).expect("reads").expect("a frame");
        assert_eq!((kind, parse_size(&size)), (RESIZE, Some((80, 24))));
        assert_eq!(read_frame(&mut r).expect("reads"), None);
        let huge = [STDIN, 0xff, 0xff, 0xff, 0xff];
        assert!(read_frame(&mut &huge[..]).is_err());
    }
}
