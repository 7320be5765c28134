//! RESP2 reply encoding into a byte buffer.

/// Appends `+s\r\n`.
pub fn simple(out: &mut Vec<u8>, s: &str) {
    out.push(b'+');
    out.extend_from_slice(s.as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// Appends `+OK\r\n`.
pub fn ok(out: &mut Vec<u8>) {
    out.extend_from_slice(b"+OK\r\n");
}

/// Appends an error line. `msg` starts with its code (`ERR ...`,
/// `NOAUTH ...`); CR and LF are replaced by spaces, as Redis does.
pub fn error(out: &mut Vec<u8>, msg: &str) {
    out.push(b'-');
    out.extend(msg.bytes().map(|b| if b == b'\r' || b == b'\n' { b' ' } else { b }));
    out.extend_from_slice(b"\r\n");
}

/// Appends `:n\r\n`.
pub fn int(out: &mut Vec<u8>, n: i64) {
    out.push(b':');
    let mut b = itoa_buf();
    out.extend_from_slice(fmt_i64(n, &mut b));
    out.extend_from_slice(b"\r\n");
}

/// Appends a bulk string.
pub fn bulk(out: &mut Vec<u8>, v: &[u8]) {
    out.push(b'$');
    let mut b = itoa_buf();
    out.extend_from_slice(fmt_i64(v.len() as i64, &mut b));
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(v);
    out.extend_from_slice(b"\r\n");
}

/// Appends a null: the null bulk string `$-1\r\n` in RESP2, `_\r\n` in
/// RESP3.
pub fn nil(out: &mut Vec<u8>, resp3: bool) {
    out.extend_from_slice(if resp3 { b"_\r\n" } else { b"$-1\r\n" });
}

/// Appends an array header of `n` elements.
pub fn array(out: &mut Vec<u8>, n: usize) {
    out.push(b'*');
    let mut b = itoa_buf();
    out.extend_from_slice(fmt_i64(n as i64, &mut b));
    out.extend_from_slice(b"\r\n");
}

fn itoa_buf() -> [u8; 20] {
    [0u8; 20]
}

/// Formats `n` in decimal into `buf`, returning the digits.
pub fn fmt_i64(n: i64, buf: &mut [u8; 20]) -> &[u8] {
    let mut i = buf.len();
    let neg = n < 0;
    let mut u = n.unsigned_abs();
    loop {
        i -= 1;
        buf[i] = b'0' + (u % 10) as u8;
        u /= 10;
        if u == 0 {
            break;
        }
    }
    if neg {
        i -= 1;
        buf[i] = b'-';
    }
    &buf[i..]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_format_at_both_ends_of_i64() {
        let mut b = [0u8; 20];
        assert_eq!(fmt_i64(i64::MIN, &mut b), b"-9223372036854775808");
        assert_eq!(fmt_i64(i64::MAX, &mut b), b"9223372036854775807");
        assert_eq!(fmt_i64(0, &mut b), b"0");
    }

    #[test]
    fn error_lines_cannot_inject_a_second_reply() {
        let mut out = Vec::new();
        error(&mut out, "ERR a\r\n+OK");
        assert_eq!(out, b"-ERR a  +OK\r\n");
    }
}
