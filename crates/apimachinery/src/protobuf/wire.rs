//! The protobuf wire format: varints, keys, length-delimited slices, skipping.
//!
//! Every read is bounds-checked and reports the absolute byte offset in the
//! request body, so a bad body yields an error that points at the bad byte.

use super::{MAX_DEPTH, ProtobufError};

/// The six wire types; 6 and 7 are invalid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WireType {
    Varint = 0,
    Fixed64 = 1,
    Len = 2,
    StartGroup = 3,
    EndGroup = 4,
    Fixed32 = 5,
}

/// A cursor over one message's bytes.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    /// Offset of `buf[0]` in the whole body.
    base: usize,
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8], base: usize) -> Self {
        Self { buf, pos: 0, base }
    }

    pub fn is_empty(&self) -> bool {
        self.pos >= self.buf.len()
    }

    /// The absolute offset of the next byte.
    pub fn offset(&self) -> usize {
        self.base + self.pos
    }

    pub fn varint(&mut self) -> Result<u64, ProtobufError> {
        let start = self.offset();
        let mut value: u64 = 0;
        for i in 0..10 {
            let Some(&b) = self.buf.get(self.pos) else {
                return Err(ProtobufError::Truncated {
                    offset: self.offset(),
                    expected: "a varint",
                });
            };
            self.pos += 1;
            value |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(ProtobufError::BadVarint { offset: start })
    }

    /// A field key: (field number, wire type).
    pub fn key(&mut self) -> Result<(u32, WireType), ProtobufError> {
        let offset = self.offset();
        let key = self.varint()?;
        let wire = match key & 7 {
            0 => WireType::Varint,
            1 => WireType::Fixed64,
            2 => WireType::Len,
            3 => WireType::StartGroup,
            4 => WireType::EndGroup,
            5 => WireType::Fixed32,
            _ => return Err(ProtobufError::BadKey { offset, key }),
        };
        match u32::try_from(key >> 3) {
            Ok(tag) if tag != 0 => Ok((tag, wire)),
            _ => Err(ProtobufError::BadKey { offset, key }),
        }
    }

    fn take(&mut self, n: usize, expected: &'static str) -> Result<&'a [u8], ProtobufError> {
        let offset = self.offset();
        let end = self.pos.checked_add(n).filter(|&end| end <= self.buf.len());
        let Some(end) = end else {
            return Err(ProtobufError::Truncated { offset, expected });
        };
        let bytes = &self.buf[self.pos..end];
        self.pos = end;
        Ok(bytes)
    }

    pub fn fixed64(&mut self) -> Result<u64, ProtobufError> {
        let b = self.take(8, "8 bytes of a fixed64")?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }

    /// A length-delimited payload, as a reader of its own.
    pub fn len_delimited(&mut self) -> Result<Reader<'a>, ProtobufError> {
        let offset = self.offset();
        let len = self.varint()?;
        let remaining = self.buf.len() - self.pos;
        let n = usize::try_from(len).ok().filter(|&n| n <= remaining);
        let Some(n) = n else {
            return Err(ProtobufError::LengthPastEnd {
                offset,
                len,
                remaining,
            });
        };
        let base = self.offset();
        let bytes = self.take(n, "a length-delimited payload")?;
        Ok(Reader::new(bytes, base))
    }

    /// The unread rest of the payload.
    pub fn rest(&self) -> &'a [u8] {
        self.buf.get(self.pos..).unwrap_or_default()
    }

    /// Skips one field whose key was just read; groups are skipped whole.
    pub fn skip(&mut self, tag: u32, wire: WireType) -> Result<(), ProtobufError> {
        // Groups nest; an explicit stack keeps hostile input off the call stack.
        let mut open: Vec<u32> = Vec::new();
        let (mut tag, mut wire) = (tag, wire);
        loop {
            match wire {
                WireType::Varint => {
                    self.varint()?;
                }
                WireType::Fixed64 => {
                    self.take(8, "8 bytes of a fixed64")?;
                }
                WireType::Fixed32 => {
                    self.take(4, "4 bytes of a fixed32")?;
                }
                WireType::Len => {
                    self.len_delimited()?;
                }
                WireType::StartGroup => {
                    if open.len() >= MAX_DEPTH {
                        return Err(ProtobufError::TooDeep);
                    }
                    open.push(tag);
                }
                WireType::EndGroup => {
                    if open.pop() != Some(tag) {
                        return Err(ProtobufError::UnmatchedEndGroup {
                            offset: self.offset(),
                            tag,
                        });
                    }
                }
            }
            if open.is_empty() {
                return Ok(());
            }
            (tag, wire) = self.key()?;
        }
    }
}
