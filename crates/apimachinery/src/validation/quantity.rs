//! Kubernetes `resource.Quantity`: parsing (`100m`, `1.5Gi`, `12e6`),
//! canonical form (what the API server stores and returns) and arithmetic.
//!
//! A quantity is kept exactly as a signed number of nano-units; like
//! Kubernetes, parsing rounds up (away from zero) to nano precision. The
//! format (decimal SI, binary SI or decimal exponent) comes from the suffix
//! and decides how the canonical string is written. Magnitudes beyond about
//! 1.7e20 are rejected (`QuantityError::TooLarge`) where Kubernetes would fall
//! back to arbitrary precision.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

const NANO: i128 = 1_000_000_000;
/// Binary SI quantities are capped at 2^63-1 like Kubernetes' int64 range.
const MAX_BINARY: i128 = (i64::MAX as i128) * NANO;

/// Why a string is not a quantity; the texts are Kubernetes' own.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QuantityError {
    #[error(
        "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
    )]
    FormatWrong,
    #[error("unable to parse numeric part of quantity")]
    Numeric,
    #[error("unable to parse quantity's suffix")]
    Suffix,
    #[error("quantity is too large: expected a magnitude below 1.7e20, got {0}")]
    TooLarge(String),
}

/// How a quantity is written back (from the suffix it was parsed with).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QuantityFormat {
    /// `12e6`
    DecimalExponent,
    /// `12Mi` (powers of 1024)
    BinarySI,
    /// `12M` (powers of 1000)
    DecimalSI,
}

/// A resource quantity.
#[derive(Debug, Clone, Copy)]
pub struct Quantity {
    nanos: i128,
    format: QuantityFormat,
}

/// Parses a Kubernetes quantity string.
pub fn parse_quantity(s: &str) -> Result<Quantity, QuantityError> {
    Quantity::parse(s)
}

impl Quantity {
    pub fn parse(s: &str) -> Result<Quantity, QuantityError> {
        if s.is_empty() {
            return Err(QuantityError::FormatWrong);
        }
        if s == "0" {
            return Ok(Quantity {
                nanos: 0,
                format: QuantityFormat::DecimalSI,
            });
        }
        let (positive, num, denom, suffix) = split(s)?;
        let (base, exponent, mut format) = interpret_suffix(suffix)?;
        let magnitude = if base == 10 {
            decimal_nanos(num, denom, exponent)
        } else {
            binary_nanos(num, denom, exponent)
        }
        .ok_or_else(|| QuantityError::TooLarge(s.to_string()))?;
        let mut magnitude = magnitude;
        if format == QuantityFormat::BinarySI && magnitude > MAX_BINARY {
            magnitude = MAX_BINARY;
        }
        if format == QuantityFormat::BinarySI && magnitude > 0 && magnitude < NANO {
            format = QuantityFormat::DecimalSI;
        }
        Ok(Quantity {
            nanos: if positive { magnitude } else { -magnitude },
            format,
        })
    }

    /// A whole number of units in decimal SI format.
    pub fn from_units(units: i64, format: QuantityFormat) -> Quantity {
        Quantity {
            nanos: units as i128 * NANO,
            format,
        }
    }

    /// Thousandths of a unit (e.g. millicores) in decimal SI format.
    pub fn from_milli(milli: i64) -> Quantity {
        Quantity {
            nanos: milli as i128 * 1_000_000,
            format: QuantityFormat::DecimalSI,
        }
    }

    pub fn format(&self) -> QuantityFormat {
        self.format
    }

    pub fn is_zero(&self) -> bool {
        self.nanos == 0
    }

    /// -1, 0 or 1.
    pub fn sign(&self) -> i32 {
        self.nanos.signum() as i32
    }

    /// The value in whole units, rounded away from zero (Kubernetes' `Value()`).
    pub fn value(&self) -> i64 {
        saturate(div_away(self.nanos, NANO))
    }

    /// The value in thousandths, rounded away from zero (`MilliValue()`).
    pub fn milli_value(&self) -> i64 {
        saturate(div_away(self.nanos, 1_000_000))
    }

    /// The exact value in nano-units.
    pub fn nano_value(&self) -> i128 {
        self.nanos
    }

    pub fn as_f64(&self) -> f64 {
        self.nanos as f64 / NANO as f64
    }

    /// Rounds up (away from zero) to thousandths, as the defaulting of
    /// resource lists does.
    pub fn round_up_to_milli(&self) -> Quantity {
        Quantity {
            nanos: div_away(self.nanos, 1_000_000) * 1_000_000,
            format: self.format,
        }
    }

    /// The sum, in this quantity's format unless this one is zero: like
    /// Kubernetes' `Add`, a zero takes the other's format, so `0 + 1Gi` is
    /// written `1Gi` (quota usage starts from zero).
    pub fn add(&self, other: &Quantity) -> Quantity {
        Quantity {
            nanos: self.nanos.saturating_add(other.nanos),
            format: self.format_for(other),
        }
    }

    /// The difference; the format follows the same rule as [`Quantity::add`].
    pub fn sub(&self, other: &Quantity) -> Quantity {
        Quantity {
            nanos: self.nanos.saturating_sub(other.nanos),
            format: self.format_for(other),
        }
    }

    fn format_for(&self, other: &Quantity) -> QuantityFormat {
        if self.nanos == 0 {
            other.format
        } else {
            self.format
        }
    }

    /// The canonical string Kubernetes serializes (`Quantity.String()`).
    pub fn canonical(&self) -> String {
        if self.nanos == 0 {
            return "0".to_string();
        }
        let neg = self.nanos < 0;
        let mag = self.nanos.unsigned_abs();
        let mut format = self.format;
        if format == QuantityFormat::BinarySI
            && (mag < 1024 * NANO as u128 || !mag.is_multiple_of(NANO as u128))
        {
            format = QuantityFormat::DecimalSI;
        }
        let body = match format {
            QuantityFormat::BinarySI => {
                let mut n = mag / NANO as u128;
                let mut exp = 0;
                while exp < 6 && n.is_multiple_of(1024) {
                    n /= 1024;
                    exp += 1;
                }
                let suffix = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"][exp];
                format!("{n}{suffix}")
            }
            QuantityFormat::DecimalSI | QuantityFormat::DecimalExponent => {
                let mut m = mag;
                let mut e: i32 = -9;
                while m.is_multiple_of(10) {
                    m /= 10;
                    e += 1;
                }
                let r = e.rem_euclid(3);
                m *= 10u128.pow(r as u32);
                e -= r;
                if format == QuantityFormat::DecimalExponent {
                    if e == 0 {
                        m.to_string()
                    } else {
                        format!("{m}e{e}")
                    }
                } else {
                    // Beyond exa there is no suffix; keep the mantissa at exa.
                    while e > 18 {
                        m *= 1000;
                        e -= 3;
                    }
                    let suffix = match e {
                        -9 => "n",
                        -6 => "u",
                        -3 => "m",
                        0 => "",
                        3 => "k",
                        6 => "M",
                        9 => "G",
                        12 => "T",
                        15 => "P",
                        _ => "E",
                    };
                    format!("{m}{suffix}")
                }
            }
        };
        if neg { format!("-{body}") } else { body }
    }
}

fn saturate(v: i128) -> i64 {
    v.clamp(i64::MIN as i128, i64::MAX as i128) as i64
}

fn div_away(n: i128, d: i128) -> i128 {
    let q = n / d;
    if n % d == 0 {
        q
    } else if n > 0 {
        q + 1
    } else {
        q - 1
    }
}

/// Splits `[+-]digits[.digits]suffix` like Kubernetes' `parseQuantityString`.
fn split(s: &str) -> Result<(bool, &str, &str, &str), QuantityError> {
    let b = s.as_bytes();
    let mut pos = 0;
    let mut positive = true;
    match b[0] {
        b'-' => {
            positive = false;
            pos += 1;
        }
        b'+' => pos += 1,
        _ => {}
    }
    while pos < b.len() && b[pos] == b'0' {
        pos += 1;
    }
    if pos >= b.len() {
        return Ok((positive, "", "", ""));
    }
    let num_start = pos;
    while pos < b.len() && b[pos].is_ascii_digit() {
        pos += 1;
    }
    let num = &s[num_start..pos];
    let mut denom = "";
    if pos < b.len() && b[pos] == b'.' {
        pos += 1;
        let d_start = pos;
        while pos < b.len() && b[pos].is_ascii_digit() {
            pos += 1;
        }
        denom = &s[d_start..pos];
    }
    let suffix_start = pos;
    while pos < b.len() && b"eEinumkKMGTP".contains(&b[pos]) {
        pos += 1;
    }
    if pos < b.len() && (b[pos] == b'-' || b[pos] == b'+') {
        pos += 1;
    }
    while pos < b.len() && b[pos].is_ascii_digit() {
        pos += 1;
    }
    if pos != b.len() {
        return Err(QuantityError::FormatWrong);
    }
    Ok((positive, num, denom, &s[suffix_start..]))
}

fn interpret_suffix(suffix: &str) -> Result<(u32, i32, QuantityFormat), QuantityError> {
    let dec = |e| Ok((10, e, QuantityFormat::DecimalSI));
    let bin = |e| Ok((2, e, QuantityFormat::BinarySI));
    match suffix {
        "" => dec(0),
        "n" => dec(-9),
        "u" => dec(-6),
        "m" => dec(-3),
        "k" => dec(3),
        "M" => dec(6),
        "G" => dec(9),
        "T" => dec(12),
        "P" => dec(15),
        "E" => dec(18),
        "Ki" => bin(10),
        "Mi" => bin(20),
        "Gi" => bin(30),
        "Ti" => bin(40),
        "Pi" => bin(50),
        "Ei" => bin(60),
        s if s.len() > 1 && (s.starts_with('e') || s.starts_with('E')) => {
            let e: i64 = s[1..].parse().map_err(|_| QuantityError::Suffix)?;
            let e = i32::try_from(e).map_err(|_| QuantityError::Suffix)?;
            Ok((10, e, QuantityFormat::DecimalExponent))
        }
        _ => Err(QuantityError::Suffix),
    }
}

/// `num.denom × 10^exp` in nano-units, rounded up.
fn decimal_nanos(num: &str, denom: &str, exp: i32) -> Option<i128> {
    let digits: Vec<u8> = num.bytes().chain(denom.bytes()).map(|c| c - b'0').collect();
    if digits.iter().all(|d| *d == 0) {
        return Some(0);
    }
    // Position of the decimal point after scaling to nano-units.
    let point = num.len() as i64 + exp as i64 + 9;
    let mut value: i128 = 0;
    let mut round_up = false;
    let mut i: i64 = 0;
    for d in &digits {
        if i < point {
            value = value.checked_mul(10)?.checked_add(*d as i128)?;
        } else if *d != 0 {
            round_up = true;
        }
        i += 1;
    }
    while i < point {
        if value != 0 {
            value = value.checked_mul(10)?;
        }
        i += 1;
    }
    if round_up {
        value = value.checked_add(1)?;
    }
    check_range(value)
}

/// `num.denom × 2^exp` in nano-units, rounded up.
fn binary_nanos(num: &str, denom: &str, exp: i32) -> Option<i128> {
    let mut mantissa: i128 = 0;
    for c in num.bytes().chain(denom.bytes()) {
        mantissa = mantissa.checked_mul(10)?.checked_add((c - b'0') as i128)?;
    }
    let scaled = mantissa
        .checked_mul(1i128.checked_shl(exp as u32)?)?
        .checked_mul(NANO)?;
    let divisor = 10i128.checked_pow(denom.len() as u32)?;
    check_range(div_away(scaled, divisor))
}

fn check_range(v: i128) -> Option<i128> {
    // Keep sums of many quantities representable.
    (v < 170_000_000_000_000_000_000_000_000_000i128).then_some(v)
}

impl FromStr for Quantity {
    type Err = QuantityError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Quantity::parse(s)
    }
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.canonical())
    }
}

impl PartialEq for Quantity {
    fn eq(&self, other: &Self) -> bool {
        self.nanos == other.nanos
    }
}

impl Eq for Quantity {}

impl PartialOrd for Quantity {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Quantity {
    fn cmp(&self, other: &Self) -> Ordering {
        self.nanos.cmp(&other.nanos)
    }
}

impl serde::Serialize for Quantity {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.canonical())
    }
}

impl<'de> serde::Deserialize<'de> for Quantity {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let v = serde_json::Value::deserialize(deserializer)?;
        quantity_from_json(&v).map_err(serde::de::Error::custom)
    }
}

/// A quantity from JSON: Kubernetes accepts strings and bare numbers.
pub fn quantity_from_json(v: &serde_json::Value) -> Result<Quantity, QuantityError> {
    match v {
        serde_json::Value::String(s) => Quantity::parse(s.trim()),
        serde_json::Value::Number(n) => Quantity::parse(&n.to_string()),
        _ => Err(QuantityError::FormatWrong),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap: a panic is a failure
mod tests {
    use super::*;

    fn canon(s: &str) -> String {
        parse_quantity(s).unwrap().canonical()
    }

    #[test]
    fn validation_quantity_canonical_forms() {
        let cases = [
            ("0", "0"),
            ("100m", "100m"),
            ("0.5", "500m"),
            ("1", "1"),
            ("1000", "1k"),
            ("1500", "1500"),
            ("1.5", "1500m"),
            ("1Gi", "1Gi"),
            ("1024Mi", "1Gi"),
            ("1.5Gi", "1536Mi"),
            ("0.5Ki", "512"),
            ("100Ki", "100Ki"),
            ("1023", "1023"),
            ("12e6", "12e6"),
            ("1e3", "1e3"),
            ("1E", "1E"),
            ("100E", "100E"),
            ("0.0000000001", "1n"),
            ("-1", "-1"),
            ("-100m", "-100m"),
            ("+5", "5"),
            ("1M", "1M"),
            ("123456789", "123456789"),
            ("1.000000001", "1000000001n"),
            ("2000m", "2"),
            ("10Gi", "10Gi"),
            ("1.5k", "1500"),
            ("0.1Ki", "102400m"),
            ("00100", "100"),
        ];
        for (input, want) in cases {
            assert_eq!(canon(input), want, "canonical form of {input}");
        }
    }

    #[test]
    fn validation_quantity_parse_errors() {
        assert_eq!(parse_quantity(""), Err(QuantityError::FormatWrong));
        assert_eq!(parse_quantity("abc"), Err(QuantityError::FormatWrong));
        assert_eq!(parse_quantity("1.5.5"), Err(QuantityError::FormatWrong));
        assert_eq!(parse_quantity("1KB"), Err(QuantityError::FormatWrong));
        assert_eq!(parse_quantity("1Ki5"), Err(QuantityError::Suffix));
        assert_eq!(parse_quantity("1K"), Err(QuantityError::Suffix));
        assert_eq!(parse_quantity("1 Gi"), Err(QuantityError::FormatWrong));
        assert_eq!(
            QuantityError::FormatWrong.to_string(),
            "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
        );
    }

    #[test]
    fn validation_quantity_compare_and_values() {
        let a = parse_quantity("1Gi").unwrap();
        let b = parse_quantity("1024Mi").unwrap();
        assert_eq!(a, b);
        assert!(parse_quantity("500m").unwrap() < parse_quantity("1").unwrap());
        assert_eq!(parse_quantity("1.5").unwrap().value(), 2);
        assert_eq!(parse_quantity("1.5").unwrap().milli_value(), 1500);
        assert_eq!(
            parse_quantity("0.0001")
                .unwrap()
                .round_up_to_milli()
                .canonical(),
            "1m"
        );
        assert_eq!(parse_quantity("-1").unwrap().sign(), -1);
        let sum = parse_quantity("100m")
            .unwrap()
            .add(&parse_quantity("1").unwrap());
        assert_eq!(sum.canonical(), "1100m");
        assert_eq!(
            quantity_from_json(&serde_json::json!(0.5))
                .unwrap()
                .canonical(),
            "500m"
        );
        assert_eq!(
            quantity_from_json(&serde_json::json!(2))
                .unwrap()
                .canonical(),
            "2"
        );
        assert_eq!(parse_quantity("16Ei").unwrap().value(), i64::MAX);
    }

    #[test]
    fn validation_quantity_zero_takes_the_other_format() {
        let zero = parse_quantity("0").unwrap();
        let gi = parse_quantity("1Gi").unwrap();
        assert_eq!(zero.add(&gi).canonical(), "1Gi");
        assert_eq!(zero.sub(&gi).canonical(), "-1Gi");
        // A non-zero receiver keeps its own format.
        let k = parse_quantity("1k").unwrap();
        assert_eq!(k.add(&gi).canonical(), "1073742824");
        assert_eq!(gi.sub(&gi).canonical(), "0");
    }
}
