//! Resource quantities ("1536Mi", "100m", "1e3") in the canonical form
//! `resource.Quantity.String()` prints, so capacities and quota usage read
//! in a table exactly as Kubernetes shows them.

use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    BinarySi,
    DecimalSi,
    DecimalExponent,
}

/// A parsed quantity: `mantissa * 10^exponent`, with the suffix family it
/// was written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Quantity {
    mantissa: i128,
    exponent: i32,
    format: Format,
}

const DECIMAL_SUFFIXES: &[(&str, i32)] = &[
    ("n", -9),
    ("u", -6),
    ("m", -3),
    ("", 0),
    ("k", 3),
    ("M", 6),
    ("G", 9),
    ("T", 12),
    ("P", 15),
    ("E", 18),
];

const BINARY_SUFFIXES: &[(&str, u32)] = &[
    ("Ki", 1),
    ("Mi", 2),
    ("Gi", 3),
    ("Ti", 4),
    ("Pi", 5),
    ("Ei", 6),
];

fn parse(s: &str) -> Option<Quantity> {
    let (negative, rest) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let number_end = rest
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(rest.len());
    let (number, suffix) = rest.split_at(number_end);
    let (whole, fraction) = match number.split_once('.') {
        Some((w, f)) if !f.contains('.') => (w, f),
        Some(_) => return None,
        None => (number, ""),
    };
    if whole.is_empty() && fraction.is_empty() {
        return None;
    }
    let mut mantissa: i128 = 0;
    for c in whole.bytes().chain(fraction.bytes()) {
        mantissa = mantissa
            .checked_mul(10)?
            .checked_add(i128::from(c - b'0'))?;
    }
    let mut exponent = -i32::try_from(fraction.len()).ok()?;

    let format = if let Some((_, power)) = BINARY_SUFFIXES.iter().find(|(sfx, _)| *sfx == suffix) {
        mantissa = mantissa.checked_mul(1024_i128.checked_pow(*power)?)?;
        Format::BinarySi
    } else if let Some((_, e)) = DECIMAL_SUFFIXES.iter().find(|(sfx, _)| *sfx == suffix) {
        exponent = exponent.checked_add(*e)?;
        Format::DecimalSi
    } else if suffix.len() > 1 && (suffix.starts_with('e') || suffix.starts_with('E')) {
        let e: i32 = suffix[1..].parse().ok()?;
        exponent = exponent.checked_add(e)?;
        Format::DecimalExponent
    } else {
        return None;
    };

    // Quantities keep nano precision; finer values round away from zero.
    if exponent < -9 {
        let divisor = 10_i128.checked_pow(u32::try_from(-9 - exponent).ok()?)?;
        let rounded_up = mantissa % divisor != 0;
        mantissa = mantissa / divisor + i128::from(rounded_up);
        exponent = -9;
    }
    let mut q = Quantity {
        mantissa,
        exponent,
        format,
    };
    if q.format == Format::BinarySi && q.mantissa != 0 && q.integer_value().is_none_or(|v| v < 1) {
        q.format = Format::DecimalSi;
    }
    if negative {
        q.mantissa = -q.mantissa;
    }
    Some(q)
}

impl Quantity {
    /// Moves every factor of ten of the mantissa into the exponent.
    fn normalized(self) -> Self {
        let (mut m, mut e) = (self.mantissa, self.exponent);
        while m != 0 && m % 10 == 0 {
            m /= 10;
            e += 1;
        }
        Quantity {
            mantissa: m,
            exponent: e,
            ..self
        }
    }

    /// The value when it is a whole number that fits.
    fn integer_value(self) -> Option<i128> {
        let n = self.normalized();
        if n.exponent < 0 {
            return None;
        }
        n.mantissa
            .checked_mul(10_i128.checked_pow(u32::try_from(n.exponent).ok()?)?)
    }

    fn canonical(self) -> String {
        if self.mantissa == 0 {
            return "0".to_string();
        }
        let mut format = self.format;
        let mut binary_value = None;
        if format == Format::BinarySi {
            match self.integer_value() {
                Some(v) if v <= -1024 || v >= 1024 => binary_value = Some(v),
                // Small or fractional binary values would round: print them
                // in decimal instead.
                _ => format = Format::DecimalSi,
            }
        }
        if let Some(mut v) = binary_value {
            let mut power = 0;
            while v % 1024 == 0 && power < 6 {
                v /= 1024;
                power += 1;
            }
            let suffix = BINARY_SUFFIXES
                .iter()
                .find(|(_, p)| *p == power)
                .map_or("", |(s, _)| *s);
            return format!("{v}{suffix}");
        }
        let n = self.normalized();
        let (mut m, mut e) = (n.mantissa, n.exponent);
        while e % 3 != 0 {
            match m.checked_mul(10) {
                Some(next) => m = next,
                None => return format!("{}e{}", n.mantissa, n.exponent),
            }
            e -= 1;
        }
        let suffix = match format {
            Format::DecimalExponent if e == 0 => String::new(),
            Format::DecimalExponent => format!("e{e}"),
            _ => DECIMAL_SUFFIXES
                .iter()
                .find(|(_, x)| *x == e)
                .map_or_else(|| format!("e{e}"), |(s, _)| (*s).to_string()),
        };
        format!("{m}{suffix}")
    }
}

/// The canonical form of a quantity as written in an object (a string, or
/// a bare JSON number). A missing quantity is zero ("0"), as a Go map
/// lookup of an absent resource gives; text that does not parse as a
/// quantity is shown as written.
pub(crate) fn quantity_string(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => "0".to_string(),
        Some(Value::String(s)) => parse(s).map_or_else(|| s.clone(), Quantity::canonical),
        Some(Value::Number(n)) => {
            let s = n.to_string();
            parse(&s).map_or(s, Quantity::canonical)
        }
        Some(other) => other.to_string(),
    }
}

/// Like [`quantity_string`] for an optional `*Quantity`, which Go prints
/// as "<nil>" when unset.
pub(crate) fn quantity_ptr_string(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => "<nil>".to_string(),
        some => quantity_string(some),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn canon(s: &str) -> String {
        quantity_string(Some(&json!(s)))
    }

    #[test]
    fn table_quantity_canonical_forms() {
        let cases = [
            ("0", "0"),
            ("0Gi", "0"),
            ("1", "1"),
            ("100m", "100m"),
            ("0.1", "100m"),
            ("1.5", "1500m"),
            ("1000", "1k"),
            ("1500", "1500"),
            ("1k", "1k"),
            ("2000k", "2M"),
            ("1Ki", "1Ki"),
            ("1024", "1024"),
            ("1.5Ki", "1536"),
            ("0.5Ki", "512"),
            ("1.5Gi", "1536Mi"),
            ("1024Mi", "1Gi"),
            ("1000Mi", "1000Mi"),
            ("10Gi", "10Gi"),
            ("1e3", "1e3"),
            ("1E3", "1e3"),
            ("1500e0", "1500"),
            ("12e6", "12e6"),
            ("1n", "1n"),
            ("0.0000000001", "1n"),
            ("-100m", "-100m"),
            ("-1Gi", "-1Gi"),
            ("+5", "5"),
            ("250M", "250M"),
            ("1E", "1E"),
        ];
        for (input, want) in cases {
            assert_eq!(canon(input), want, "for {input}");
        }
    }

    #[test]
    fn table_quantity_missing_numbers_and_garbage() {
        assert_eq!(quantity_string(None), "0");
        assert_eq!(quantity_string(Some(&json!(3))), "3");
        assert_eq!(quantity_string(Some(&json!(2000))), "2k");
        assert_eq!(canon("lots"), "lots");
        assert_eq!(canon("1..2"), "1..2");
        assert_eq!(quantity_ptr_string(None), "<nil>");
        assert_eq!(quantity_ptr_string(Some(&json!("500m"))), "500m");
    }
}
