//! Walks one message's bytes with its schema and builds the JSON object.

use base64::Engine as _;
use serde_json::{Map, Number, Value};

use super::descriptor::{Field, Kind, Message};
use super::schema::MESSAGES;
use super::wire::{Reader, WireType};
use super::{MAX_DEPTH, ProtobufError, wellknown};

/// Names a field in errors.
#[derive(Clone, Copy)]
struct Ctx {
    message: &'static str,
    field: &'static str,
}

/// Decodes `r` as `message` into `out`; fields already in `out` are merged
/// into, as protobuf merges a message that occurs twice.
pub fn decode_into(
    mut r: Reader<'_>,
    message: &'static Message,
    depth: usize,
    out: &mut Map<String, Value>,
) -> Result<(), ProtobufError> {
    if depth > MAX_DEPTH {
        return Err(ProtobufError::TooDeep);
    }
    while !r.is_empty() {
        let (tag, wire) = r.key()?;
        match message.field(tag) {
            Some(field) => decode_field(&mut r, message, field, wire, depth, out)?,
            None => r.skip(tag, wire)?,
        }
    }
    Ok(())
}

fn message_at(index: u16) -> &'static Message {
    // The generator only emits indices into MESSAGES; fall back to an empty
    // message rather than panic if that ever breaks.
    static EMPTY: Message = Message {
        name: "unknown",
        fields: &[],
    };
    MESSAGES.get(usize::from(index)).unwrap_or(&EMPTY)
}

fn decode_field(
    r: &mut Reader<'_>,
    message: &'static Message,
    field: &'static Field,
    wire: WireType,
    depth: usize,
    out: &mut Map<String, Value>,
) -> Result<(), ProtobufError> {
    let ctx = Ctx {
        message: message.name,
        field: field.name,
    };
    match field.kind {
        Kind::Msg(index) => {
            let sub = expect_len(r, wire, ctx)?;
            let target = message_at(index);
            if field.inline() {
                return decode_into(sub, target, depth + 1, out);
            }
            if !field.repeated()
                && let Some(Value::Object(existing)) = out.get_mut(field.name)
            {
                return decode_into(sub, target, depth + 1, existing);
            }
            let mut obj = Map::new();
            decode_into(sub, target, depth + 1, &mut obj)?;
            if field.repeated() {
                append(out, field.name, vec![Value::Object(obj)]);
            } else {
                out.insert(field.name.to_string(), Value::Object(obj));
            }
            Ok(())
        }
        Kind::Map(value_kind) => {
            let entry = expect_len(r, wire, ctx)?;
            let (key, value) = map_entry(entry, *value_kind, ctx, depth)?;
            match out.get_mut(field.name) {
                Some(Value::Object(map)) => {
                    map.insert(key, value);
                }
                _ => {
                    out.insert(
                        field.name.to_string(),
                        Value::Object(Map::from_iter([(key, value)])),
                    );
                }
            }
            Ok(())
        }
        kind if field.repeated() => {
            let mut items = Vec::new();
            if wire == WireType::Len && packable(kind) {
                // Packed: one payload holding many values back to back.
                let mut packed = r.len_delimited()?;
                let element = element_wire(kind);
                while !packed.is_empty() {
                    let v = decode_one(&mut packed, kind, element, ctx, depth)?;
                    items.push(v.unwrap_or(Value::Null));
                }
            } else {
                let v = decode_one(r, kind, wire, ctx, depth)?;
                items.push(v.unwrap_or(Value::Null));
            }
            append(out, field.name, items);
            Ok(())
        }
        kind => {
            match decode_one(r, kind, wire, ctx, depth)? {
                Some(v) if field.keep_zero() || !is_zero(kind, &v) => {
                    out.insert(field.name.to_string(), v);
                }
                // The last occurrence wins, so a later zero clears an earlier value.
                _ => {
                    out.shift_remove(field.name);
                }
            }
            Ok(())
        }
    }
}

/// Appends to the array under `name`, creating it on the first items.
fn append(out: &mut Map<String, Value>, name: &str, items: Vec<Value>) {
    if items.is_empty() {
        return;
    }
    match out.get_mut(name) {
        Some(Value::Array(existing)) => existing.extend(items),
        _ => {
            out.insert(name.to_string(), Value::Array(items));
        }
    }
}

fn packable(kind: Kind) -> bool {
    matches!(kind, Kind::Bool | Kind::I32 | Kind::I64 | Kind::F64)
}

fn element_wire(kind: Kind) -> WireType {
    match kind {
        Kind::F64 => WireType::Fixed64,
        _ => WireType::Varint,
    }
}

/// What Go's `omitempty` leaves out: "", false, 0, and an IntOrString of 0 or "".
fn is_zero(kind: Kind, v: &Value) -> bool {
    match kind {
        Kind::Str
        | Kind::Bytes
        | Kind::Bool
        | Kind::I32
        | Kind::I64
        | Kind::F64
        | Kind::IntOrString => match v {
            Value::String(s) => s.is_empty(),
            Value::Bool(b) => !b,
            Value::Number(n) => n.as_f64() == Some(0.0),
            _ => false,
        },
        _ => false,
    }
}

fn wire_name(w: WireType) -> &'static str {
    match w {
        WireType::Varint => "varint",
        WireType::Fixed64 => "fixed64",
        WireType::Len => "length-delimited",
        WireType::StartGroup => "start-group",
        WireType::EndGroup => "end-group",
        WireType::Fixed32 => "fixed32",
    }
}

fn expect(got: WireType, want: WireType, ctx: Ctx) -> Result<(), ProtobufError> {
    if got == want {
        return Ok(());
    }
    Err(ProtobufError::WrongWireType {
        message: ctx.message,
        field: ctx.field,
        expected: wire_name(want),
        got: wire_name(got),
    })
}

fn expect_len<'a>(
    r: &mut Reader<'a>,
    wire: WireType,
    ctx: Ctx,
) -> Result<Reader<'a>, ProtobufError> {
    expect(wire, WireType::Len, ctx)?;
    r.len_delimited()
}

fn utf8(bytes: &[u8], ctx: Ctx) -> Result<String, ProtobufError> {
    String::from_utf8(bytes.to_vec()).map_err(|_| ProtobufError::InvalidUtf8 {
        message: ctx.message,
        field: ctx.field,
    })
}

fn string(r: &mut Reader<'_>, wire: WireType, ctx: Ctx) -> Result<String, ProtobufError> {
    let sub = expect_len(r, wire, ctx)?;
    utf8(sub.rest(), ctx)
}

fn varint(r: &mut Reader<'_>, wire: WireType, ctx: Ctx) -> Result<u64, ProtobufError> {
    expect(wire, WireType::Varint, ctx)?;
    r.varint()
}

/// A double as Go's JSON prints it: integral values without a fraction.
fn double(bits: u64, ctx: Ctx) -> Result<Value, ProtobufError> {
    let f = f64::from_bits(bits);
    if f.fract() == 0.0 && f.abs() < 9_007_199_254_740_992.0 {
        return Ok(Value::from(f as i64));
    }
    Number::from_f64(f)
        .map(Value::Number)
        .ok_or(ProtobufError::NonFiniteNumber {
            message: ctx.message,
            field: ctx.field,
        })
}

/// One occurrence of a non-map, non-message field. `None` means Go's zero
/// value that its JSON prints as null (a zero Time, an empty RawExtension).
fn decode_one(
    r: &mut Reader<'_>,
    kind: Kind,
    wire: WireType,
    ctx: Ctx,
    depth: usize,
) -> Result<Option<Value>, ProtobufError> {
    Ok(Some(match kind {
        Kind::Str => Value::String(string(r, wire, ctx)?),
        Kind::Bytes => {
            let sub = expect_len(r, wire, ctx)?;
            Value::String(base64::engine::general_purpose::STANDARD.encode(sub.rest()))
        }
        Kind::Bool => Value::Bool(varint(r, wire, ctx)? != 0),
        // int32 is sign-extended to 64 bits on the wire; the low half is the value.
        Kind::I32 => Value::from(varint(r, wire, ctx)? as i32),
        Kind::I64 => Value::from(varint(r, wire, ctx)? as i64),
        Kind::F64 => {
            expect(wire, WireType::Fixed64, ctx)?;
            double(r.fixed64()?, ctx)?
        }
        Kind::Msg(index) => {
            let sub = expect_len(r, wire, ctx)?;
            let mut obj = Map::new();
            decode_into(sub, message_at(index), depth + 1, &mut obj)?;
            Value::Object(obj)
        }
        Kind::Map(_) => {
            // Maps are handled by the caller; a map whose values are maps
            // does not occur in the Kubernetes protos.
            expect_len(r, wire, ctx)?;
            return Ok(None);
        }
        special => {
            let sub = expect_len(r, wire, ctx)?;
            return decode_special(sub, special, ctx, depth + 1);
        }
    }))
}

/// The messages whose JSON is not an object of their fields.
fn decode_special(
    mut r: Reader<'_>,
    kind: Kind,
    ctx: Ctx,
    depth: usize,
) -> Result<Option<Value>, ProtobufError> {
    if depth > MAX_DEPTH {
        return Err(ProtobufError::TooDeep);
    }
    match kind {
        Kind::Time | Kind::MicroTime => {
            // Go writes a zero Time as an empty message, and reads it back as zero.
            if r.is_empty() {
                return Ok(None);
            }
            let (mut seconds, mut nanos) = (0i64, 0i64);
            while !r.is_empty() {
                let (tag, wire) = r.key()?;
                match tag {
                    1 => seconds = varint(&mut r, wire, ctx)? as i64,
                    2 => nanos = i64::from(varint(&mut r, wire, ctx)? as i32),
                    _ => r.skip(tag, wire)?,
                }
            }
            let text = if kind == Kind::Time {
                // Kubernetes drops a Time's nanoseconds when it reads protobuf.
                wellknown::time(seconds)
            } else {
                wellknown::micro_time(seconds, nanos)
            };
            text.map(|t| Some(Value::String(t)))
                .ok_or(ProtobufError::TimeOutOfRange {
                    message: ctx.message,
                    field: ctx.field,
                    seconds,
                })
        }
        Kind::Duration => {
            let mut nanos = 0i64;
            while !r.is_empty() {
                let (tag, wire) = r.key()?;
                match tag {
                    1 => nanos = varint(&mut r, wire, ctx)? as i64,
                    _ => r.skip(tag, wire)?,
                }
            }
            Ok(Some(Value::String(wellknown::go_duration(nanos))))
        }
        Kind::Quantity => {
            let mut text = None;
            while !r.is_empty() {
                let (tag, wire) = r.key()?;
                match tag {
                    1 => text = Some(string(&mut r, wire, ctx)?),
                    _ => r.skip(tag, wire)?,
                }
            }
            Ok(Some(Value::String(
                text.filter(|t| !t.is_empty()).unwrap_or_else(|| "0".into()),
            )))
        }
        Kind::IntOrString => {
            let (mut is_string, mut int, mut text) = (false, 0i32, String::new());
            while !r.is_empty() {
                let (tag, wire) = r.key()?;
                match tag {
                    1 => is_string = varint(&mut r, wire, ctx)? == 1,
                    2 => int = varint(&mut r, wire, ctx)? as i32,
                    3 => text = string(&mut r, wire, ctx)?,
                    _ => r.skip(tag, wire)?,
                }
            }
            Ok(Some(if is_string {
                Value::String(text)
            } else {
                Value::from(int)
            }))
        }
        Kind::RawJson => {
            let mut raw: &[u8] = &[];
            let mut raw_offset = r.offset();
            while !r.is_empty() {
                let (tag, wire) = r.key()?;
                match tag {
                    1 => {
                        let sub = expect_len(&mut r, wire, ctx)?;
                        raw_offset = sub.offset();
                        raw = sub.rest();
                    }
                    _ => r.skip(tag, wire)?,
                }
            }
            if raw.is_empty() {
                return Ok(None);
            }
            if raw.starts_with(&super::MAGIC) {
                // An object embedded in its own protobuf envelope.
                return super::decode_envelope(raw, raw_offset, depth + 1).map(Some);
            }
            serde_json::from_slice(raw)
                .map(Some)
                .map_err(|e| ProtobufError::InvalidEmbeddedJson {
                    message: ctx.message,
                    field: ctx.field,
                    reason: e.to_string(),
                })
        }
        Kind::StringList => {
            let mut items = Vec::new();
            while !r.is_empty() {
                let (tag, wire) = r.key()?;
                match tag {
                    1 => items.push(Value::String(string(&mut r, wire, ctx)?)),
                    _ => r.skip(tag, wire)?,
                }
            }
            Ok(Some(Value::Array(items)))
        }
        Kind::SchemaOrArray(schema) => {
            // Go: the array if it has items, else the schema (null if none).
            let (mut one, mut many) = (None::<Map<String, Value>>, Vec::new());
            while !r.is_empty() {
                let (tag, wire) = r.key()?;
                match tag {
                    1 => decode_into(
                        expect_len(&mut r, wire, ctx)?,
                        message_at(schema),
                        depth + 1,
                        one.get_or_insert_default(),
                    )?,
                    2 => {
                        let mut obj = Map::new();
                        decode_into(
                            expect_len(&mut r, wire, ctx)?,
                            message_at(schema),
                            depth + 1,
                            &mut obj,
                        )?;
                        many.push(Value::Object(obj));
                    }
                    _ => r.skip(tag, wire)?,
                }
            }
            Ok(if many.is_empty() {
                one.map(Value::Object)
            } else {
                Some(Value::Array(many))
            })
        }
        Kind::SchemaOrBool(schema) => {
            // Go: the schema if set, else the bool.
            let (mut allows, mut one) = (false, None::<Map<String, Value>>);
            while !r.is_empty() {
                let (tag, wire) = r.key()?;
                match tag {
                    1 => allows = varint(&mut r, wire, ctx)? != 0,
                    2 => decode_into(
                        expect_len(&mut r, wire, ctx)?,
                        message_at(schema),
                        depth + 1,
                        one.get_or_insert_default(),
                    )?,
                    _ => r.skip(tag, wire)?,
                }
            }
            Ok(Some(one.map_or(Value::Bool(allows), Value::Object)))
        }
        Kind::SchemaOrStrings(schema) => {
            // Go: the strings if any, else the schema, else null.
            let (mut one, mut strings) = (None::<Map<String, Value>>, Vec::new());
            while !r.is_empty() {
                let (tag, wire) = r.key()?;
                match tag {
                    1 => decode_into(
                        expect_len(&mut r, wire, ctx)?,
                        message_at(schema),
                        depth + 1,
                        one.get_or_insert_default(),
                    )?,
                    2 => strings.push(Value::String(string(&mut r, wire, ctx)?)),
                    _ => r.skip(tag, wire)?,
                }
            }
            Ok(if strings.is_empty() {
                one.map(Value::Object)
            } else {
                Some(Value::Array(strings))
            })
        }
        Kind::Str
        | Kind::Bool
        | Kind::I32
        | Kind::I64
        | Kind::F64
        | Kind::Bytes
        | Kind::Msg(_)
        | Kind::Map(_) => Ok(None),
    }
}

/// One `map<string, V>` entry {1: key, 2: value}. A missing value is V's zero
/// value, which a map keeps (`{"a": ""}` is not `{}`).
fn map_entry(
    mut r: Reader<'_>,
    kind: Kind,
    ctx: Ctx,
    depth: usize,
) -> Result<(String, Value), ProtobufError> {
    let (mut key, mut value) = (String::new(), None::<Value>);
    while !r.is_empty() {
        let (tag, wire) = r.key()?;
        match tag {
            1 => key = string(&mut r, wire, ctx)?,
            2 => value = Some(decode_one(&mut r, kind, wire, ctx, depth)?.unwrap_or(Value::Null)),
            _ => r.skip(tag, wire)?,
        }
    }
    let value = match value {
        Some(v) => v,
        None => match kind {
            Kind::Str | Kind::Bytes => Value::String(String::new()),
            Kind::Msg(_) => Value::Object(Map::new()),
            Kind::Quantity => Value::String("0".into()),
            Kind::StringList => Value::Array(Vec::new()),
            Kind::Bool => Value::Bool(false),
            Kind::I32 | Kind::I64 | Kind::F64 | Kind::IntOrString => Value::from(0),
            Kind::Duration => Value::String("0s".into()),
            Kind::SchemaOrBool(_) => Value::Bool(false),
            _ => Value::Null,
        },
    };
    Ok((key, value))
}

#[cfg(test)]
mod tests {
    use super::*;

    const CTX: Ctx = Ctx {
        message: "m",
        field: "f",
    };

    #[test]
    fn protobuf_duration_message_is_a_go_duration_string() {
        // {1: 5400 s in nanoseconds}
        let mut bytes = vec![0x08];
        let mut v: u64 = 5_400_000_000_000;
        while v >= 0x80 {
            bytes.push((v as u8) | 0x80);
            v >>= 7;
        }
        bytes.push(v as u8);
        let got = decode_special(Reader::new(&bytes, 0), Kind::Duration, CTX, 0);
        assert_eq!(got, Ok(Some(Value::String("1h30m0s".into()))));
        let got = decode_special(Reader::new(&[], 0), Kind::Duration, CTX, 0);
        assert_eq!(got, Ok(Some(Value::String("0s".into()))));
    }

    #[test]
    fn protobuf_map_entries_without_a_value_hold_the_zero_value() {
        // {1: "cpu"} with no value: a Quantity map reads "0", a string map "".
        let entry = [0x0a, 3, b'c', b'p', b'u'];
        let got = map_entry(Reader::new(&entry, 0), Kind::Quantity, CTX, 0);
        assert_eq!(got, Ok(("cpu".to_string(), Value::String("0".into()))));
        let got = map_entry(Reader::new(&entry, 0), Kind::Str, CTX, 0);
        assert_eq!(got, Ok(("cpu".to_string(), Value::String(String::new()))));
    }

    #[test]
    fn protobuf_doubles_print_like_go() {
        let text = |f: f64| double(f.to_bits(), CTX).map(|v| v.to_string());
        assert_eq!(text(10.0), Ok("10".into()));
        assert_eq!(text(0.5), Ok("0.5".into()));
        assert_eq!(text(-3.0), Ok("-3".into()));
        assert_eq!(
            double(f64::NAN.to_bits(), CTX),
            Err(ProtobufError::NonFiniteNumber {
                message: "m",
                field: "f"
            })
        );
    }
}
