//! The INCR rule: how a value is read as an integer.
//!
//! A value is a *decimal* integer when it is exactly the text Redis would
//! write for an i64 (optional `-`, digits, no leading zero, no `+`, no
//! spaces, in range): it is incremented as text. Otherwise, a value of
//! exactly 8 bytes is maph's *native* integer (little-endian i64, as
//! `maph_incr` writes it): it is incremented natively and stays 8 bytes, so
//! C callers of `maph_incr` keep working on it. Anything else is not an
//! integer. The two overlap only for native integers whose 8 bytes are all
//! ASCII digits (the last one `1`-`9`): values between about 3.47e18 and
//! 4.18e18; those read as decimal text.

/// What a stored value is, for INCR.
#[derive(Debug, PartialEq, Eq)]
pub enum IntValue {
    /// Decimal text.
    Decimal(i64),
    /// maph's native 8-byte little-endian integer.
    Native(i64),
    /// Neither.
    NotInteger,
}

/// Parses `s` as Redis parses an integer argument (`string2ll`): the
/// canonical decimal text of an i64, and nothing else.
pub fn parse_decimal(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() > 20 {
        return None;
    }
    let t = std::str::from_utf8(s).ok()?;
    let v: i64 = t.parse().ok()?;
    let mut b = [0u8; 20];
    (crate::reply::fmt_i64(v, &mut b) == s).then_some(v)
}

/// Classifies a stored value (see the module docs).
pub fn classify(v: &[u8]) -> IntValue {
    if let Some(n) = parse_decimal(v) {
        IntValue::Decimal(n)
    } else if let Ok(b) = <[u8; 8]>::try_from(v) {
        IntValue::Native(i64::from_le_bytes(b))
    } else {
        IntValue::NotInteger
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_canonical_decimal_text_is_decimal() {
        assert_eq!(parse_decimal(b"-42"), Some(-42));
        assert_eq!(parse_decimal(b"0"), Some(0));
        for bad in [&b"+1"[..], b"01", b"-0", b" 1", b"1 ", b"", b"9223372036854775808"] {
            assert_eq!(parse_decimal(bad), None, "{:?}", bad);
        }
    }

    #[test]
    fn eight_byte_values_that_are_not_text_are_native() {
        assert_eq!(classify(&7i64.to_le_bytes()), IntValue::Native(7));
        assert_eq!(classify(&(-1i64).to_le_bytes()), IntValue::Native(-1));
        assert_eq!(classify(b"12345678"), IntValue::Decimal(12345678));
        assert_eq!(classify(b"abc"), IntValue::NotInteger);
        assert_eq!(classify(b"1.5"), IntValue::NotInteger);
    }
}
