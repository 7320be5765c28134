//! RESP2 request parsing, bounded.
//!
//! A request is either a multibulk array (`*N\r\n` then N bulk strings
//! `$len\r\n<len bytes>\r\n`), as every Redis client sends, or an inline
//! command (one line, arguments split on spaces and tabs), as `telnet` and
//! `redis-cli` in a pipe may send. Protocol: <https://redis.io/docs/latest/develop/reference/protocol-spec/>.
//!
//! The parser never allocates more than the argument offsets: arguments are
//! returned as byte ranges into the caller's buffer. Every length read from
//! the peer is checked against `Limits` before any byte is awaited, so a
//! peer cannot make the caller buffer more than `max_bulk` bytes per
//! argument, `max_args` arguments or `max_inline` bytes per inline line.
//! Errors use Redis's wording (`Protocol error: ...`); after one the
//! connection must be closed, as Redis does.

use std::ops::Range;

/// Bounds on what one request may contain.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Longest bulk string, in bytes (Redis `proto-max-bulk-len`, 512 MiB).
    pub max_bulk: usize,
    /// Most arguments in one multibulk request.
    pub max_args: usize,
    /// Longest inline command line, in bytes (Redis: 64 KiB).
    pub max_inline: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits { max_bulk: 512 << 20, max_args: 1 << 20, max_inline: 64 << 10 }
    }
}

/// What `parse` found at the start of the buffer.
#[derive(Debug, PartialEq, Eq)]
pub enum Parsed {
    /// A whole request of `len` bytes; its arguments are in `args` (possibly
    /// none, for an empty inline line, which Redis ignores).
    Frame { len: usize },
    /// Not a whole request yet: read more. `need` is a lower bound on the
    /// total buffer length that can complete it (0 when unknown).
    Incomplete { need: usize },
}

/// A protocol error: the request can never be valid. Close the connection
/// after replying with `-ERR {message}`.
#[derive(Debug, PartialEq, Eq, Clone)]
pub struct ProtocolError(pub String);

fn find_crlf(buf: &[u8], from: usize) -> Option<usize> {
    buf.get(from..)?.windows(2).position(|w| w == b"\r\n").map(|p| from + p)
}

/// Parses a decimal integer the way Redis reads lengths: optional `-`,
/// digits, at most 18 of them (no overflow possible).
fn parse_len(s: &[u8]) -> Option<i64> {
    let (neg, digits) = match s.first() {
        Some(b'-') => (true, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() || digits.len() > 18 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let v = digits.iter().fold(0i64, |a, &d| a * 10 + i64::from(d - b'0'));
    Some(if neg { -v } else { v })
}

/// Parses one request at the start of `buf`, writing argument ranges (into
/// `buf`) to `args` (cleared first). See `Parsed` and `ProtocolError`.
pub fn parse(
    buf: &[u8], limits: &Limits, args: &mut Vec<Range<usize>>,
) -> Result<Parsed, ProtocolError> {
    parse_resumable(buf, limits, args, &mut Resume::default())
}

/// Where an unfinished multibulk request stopped, so that the next parse of
/// the same request continues there instead of reading every argument again
/// (without it, a request of many small arguments arriving in many reads
/// costs time quadratic in its length; measured once: about 3 s of CPU for
/// 2^20 one-byte arguments, 7 MB, arriving in 16 KiB reads, against 22 ms
/// resumed). `Default` is "nothing pending".
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Resume {
    /// Arguments the request announced (0: nothing pending).
    n: usize,
    /// Offset of the next bulk string's `$` line.
    pos: usize,
}

/// `parse`, continuing from `resume` when it holds a pending request: the
/// caller passes the same request again (at the start of `buf`, which has
/// only grown since) with `args` as the last call left it. `resume` is
/// updated: set on `Incomplete` inside a multibulk request, reset on a
/// frame or an error. With a default `resume` it is exactly `parse`.
pub fn parse_resumable(
    buf: &[u8], limits: &Limits, args: &mut Vec<Range<usize>>, resume: &mut Resume,
) -> Result<Parsed, ProtocolError> {
    let r = std::mem::take(resume);
    if r.n > 0 && buf.first() == Some(&b'*') && args.len() < r.n && r.pos <= buf.len() {
        return bulks(buf, limits, args, r.n, r.pos, resume);
    }
    args.clear();
    match buf.first() {
        None => Ok(Parsed::Incomplete { need: 1 }),
        Some(b'*') => parse_multibulk(buf, limits, args, resume),
        Some(_) => parse_inline(buf, limits, args),
    }
}

fn parse_inline(
    buf: &[u8], limits: &Limits, args: &mut Vec<Range<usize>>,
) -> Result<Parsed, ProtocolError> {
    let Some(nl) = buf.iter().position(|&b| b == b'\n') else {
        if buf.len() > limits.max_inline {
            return Err(ProtocolError("Protocol error: too big inline request".into()));
        }
        return Ok(Parsed::Incomplete { need: 0 });
    };
    if nl > limits.max_inline {
        return Err(ProtocolError("Protocol error: too big inline request".into()));
    }
    let end = if nl > 0 && buf[nl - 1] == b'\r' { nl - 1 } else { nl };
    let mut i = 0;
    while i < end {
        while i < end && (buf[i] == b' ' || buf[i] == b'\t') {
            i += 1;
        }
        let start = i;
        while i < end && buf[i] != b' ' && buf[i] != b'\t' {
            i += 1;
        }
        if i > start {
            if args.len() >= limits.max_args {
                return Err(ProtocolError("Protocol error: too many arguments".into()));
            }
            args.push(start..i);
        }
    }
    Ok(Parsed::Frame { len: nl + 1 })
}

fn parse_multibulk(
    buf: &[u8], limits: &Limits, args: &mut Vec<Range<usize>>, resume: &mut Resume,
) -> Result<Parsed, ProtocolError> {
    let Some(eol) = find_crlf(buf, 1) else {
        return header_too_long(buf.len());
    };
    let n = parse_len(&buf[1..eol])
        .ok_or_else(|| ProtocolError("Protocol error: invalid multibulk length".into()))?;
    if n > limits.max_args as i64 {
        return Err(ProtocolError("Protocol error: invalid multibulk length".into()));
    }
    let pos = eol + 2;
    if n <= 0 {
        return Ok(Parsed::Frame { len: pos });
    }
    bulks(buf, limits, args, n as usize, pos, resume)
}

/// Reads bulk strings from `pos` until `args` holds `n`.
fn bulks(
    buf: &[u8], limits: &Limits, args: &mut Vec<Range<usize>>, n: usize, mut pos: usize,
    resume: &mut Resume,
) -> Result<Parsed, ProtocolError> {
    while args.len() < n {
        match buf.get(pos) {
            None => {
                *resume = Resume { n, pos };
                return Ok(Parsed::Incomplete { need: pos + 1 });
            }
            Some(b'$') => {}
            Some(&c) => {
                return Err(ProtocolError(format!(
                    "Protocol error: expected '$', got '{}'",
                    char::from(c).escape_default()
                )))
            }
        }
        let Some(eol) = find_crlf(buf, pos + 1) else {
            let r = header_too_long(buf.len() - pos);
            if r.is_ok() {
                *resume = Resume { n, pos };
            }
            return r;
        };
        let len = parse_len(&buf[pos + 1..eol])
            .filter(|&l| l >= 0 && l as u64 <= limits.max_bulk as u64)
            .ok_or_else(|| ProtocolError("Protocol error: invalid bulk length".into()))?
            as usize;
        let start = eol + 2;
        let end = start + len;
        if buf.len() < end + 2 {
            *resume = Resume { n, pos };
            return Ok(Parsed::Incomplete { need: end + 2 });
        }
        if &buf[end..end + 2] != b"\r\n" {
            return Err(ProtocolError("Protocol error: bulk string not followed by CRLF".into()));
        }
        args.push(start..end);
        pos = end + 2;
    }
    Ok(Parsed::Frame { len: pos })
}

/// A length line (`*N` or `$N`) has at most 1 + 20 digits; a longer
/// unterminated one is garbage.
fn header_too_long(pending: usize) -> Result<Parsed, ProtocolError> {
    if pending > 32 {
        Err(ProtocolError("Protocol error: length line too long or not terminated".into()))
    } else {
        Ok(Parsed::Incomplete { need: 0 })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A parsed frame: its length in bytes and its arguments.
    type Frame = (usize, Vec<Vec<u8>>);

    fn args_of(buf: &[u8]) -> Result<Option<Frame>, ProtocolError> {
        let mut a = Vec::new();
        match parse(buf, &Limits::default(), &mut a)? {
            Parsed::Frame { len } => {
                Ok(Some((len, a.iter().map(|r| buf[r.clone()].to_vec()).collect())))
            }
            Parsed::Incomplete { .. } => Ok(None),
        }
    }

    fn encode(args: &[Vec<u8>]) -> Vec<u8> {
        let mut out = format!("*{}\r\n", args.len()).into_bytes();
        for a in args {
            out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
            out.extend_from_slice(a);
            out.extend_from_slice(b"\r\n");
        }
        out
    }

    #[test]
    fn multibulk_with_binary_argument_is_one_frame() {
        let buf = b"*2\r\n$3\r\nGET\r\n$4\r\na\r\nb\r\n";
        let (len, a) = args_of(buf).unwrap().unwrap();
        assert_eq!(len, buf.len());
        assert_eq!(a, vec![b"GET".to_vec(), b"a\r\nb".to_vec()]);
    }

    #[test]
    fn inline_command_splits_on_spaces_and_ignores_cr() {
        let (len, a) = args_of(b"SET  k\tv\r\nPING\r\n").unwrap().unwrap();
        assert_eq!(len, 10);
        assert_eq!(a, vec![b"SET".to_vec(), b"k".to_vec(), b"v".to_vec()]);
    }

    #[test]
    fn bulk_over_the_limit_is_refused_before_its_bytes_arrive() {
        let mut a = Vec::new();
        let lim = Limits { max_bulk: 10, ..Limits::default() };
        let e = parse(b"*1\r\n$11\r\n", &lim, &mut a).unwrap_err();
        assert_eq!(e.0, "Protocol error: invalid bulk length");
        assert!(parse(b"*1\r\n$10\r\n", &lim, &mut a).unwrap() != Parsed::Frame { len: 0 });
    }

    #[test]
    fn too_many_arguments_are_refused() {
        let mut a = Vec::new();
        let lim = Limits { max_args: 3, ..Limits::default() };
        assert!(parse(b"*4\r\n", &lim, &mut a).is_err());
        assert!(parse(b"a b c d\r\n", &lim, &mut a).is_err());
    }

    #[test]
    fn inline_line_over_the_limit_is_refused_without_newline() {
        let mut a = Vec::new();
        let lim = Limits { max_inline: 8, ..Limits::default() };
        assert!(parse(b"GET aaaaaaaa", &lim, &mut a).is_err());
    }

    #[test]
    fn garbage_length_lines_are_protocol_errors() {
        for bad in [
            &b"*x\r\n"[..],
            b"*1\r\n$-1\r\n",
            b"*1\r\nfoo\r\n",
            b"*1\r\n$3\r\nabcde\r\n",
            b"*99999999999999999999\r\n",
        ] {
            assert!(args_of(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
        assert!(args_of(&[b'*'; 40]).is_err());
    }

    #[test]
    fn incomplete_bulk_reports_the_length_needed() {
        let mut a = Vec::new();
        let p = parse(b"*1\r\n$100\r\nabc", &Limits::default(), &mut a).unwrap();
        assert_eq!(p, Parsed::Incomplete { need: 10 + 100 + 2 });
    }

    #[test]
    fn many_small_arguments_arriving_in_pieces_are_not_reparsed_from_the_start() {
        let n = 1000;
        let mut whole = format!("*{n}\r\n").into_bytes();
        for _ in 0..n {
            whole.extend_from_slice(b"$1\r\na\r\n");
        }
        let lim = Limits::default();
        let (mut a, mut resume) = (Vec::new(), Resume::default());
        let mut buf = Vec::new();
        for piece in whole.chunks(100) {
            // The bytes already parsed are overwritten: a parser that read
            // them again would answer a protocol error.
            let done = a.last().map_or(0, |r: &Range<usize>| r.end + 2);
            buf[..done].iter_mut().skip(1).for_each(|b| *b = b'!');
            buf.extend_from_slice(piece);
            let got = parse_resumable(&buf, &lim, &mut a, &mut resume).unwrap();
            if buf.len() < whole.len() {
                assert!(matches!(got, Parsed::Incomplete { .. }));
                // Every whole argument in the buffer is kept.
                assert_eq!(a.len(), (buf.len() - 7) / 7); // "*1000\r\n", then 7 bytes each
            } else {
                assert_eq!(got, Parsed::Frame { len: whole.len() });
                assert_eq!(a.len(), n);
                assert!(a.iter().all(|r| r.len() == 1 && whole[r.clone()] == *b"a"));
                assert_eq!(resume, Resume::default());
            }
        }
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(buf in proptest::collection::vec(any::<u8>(), 0..300)) {
            let mut a = Vec::new();
            let lim = Limits { max_bulk: 64, max_args: 8, max_inline: 64 };
            if let Ok(Parsed::Frame { len }) = parse(&buf, &lim, &mut a) {
                prop_assert!(len <= buf.len());
                for r in &a { prop_assert!(r.end <= len); }
            }
        }

        #[test]
        fn frame_split_anywhere_parses_as_whole(
            args in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..40), 1..6),
            cut in any::<prop::sample::Index>(),
        ) {
            let whole = encode(&args);
            let (len, got) = args_of(&whole).unwrap().unwrap();
            prop_assert_eq!(len, whole.len());
            prop_assert_eq!(&got, &args);
            let k = cut.index(whole.len());
            // A prefix is incomplete, never an error or a different frame.
            prop_assert_eq!(args_of(&whole[..k]).unwrap(), None);
            // Two frames back to back: the first parses alone.
            // Fed in growing prefixes, resuming: the same frame.
            let (mut a, mut resume) = (Vec::new(), Resume::default());
            for end in [k, k + (whole.len() - k) / 2, whole.len()] {
                let p = parse_resumable(&whole[..end], &Limits::default(), &mut a, &mut resume).unwrap();
                if end < whole.len() {
                    prop_assert!(matches!(p, Parsed::Incomplete { .. }), "prefix of {} bytes: {:?}", end, p);
                } else {
                    prop_assert_eq!(p, Parsed::Frame { len: whole.len() });
                    let got3: Vec<Vec<u8>> = a.iter().map(|r| whole[r.clone()].to_vec()).collect();
                    prop_assert_eq!(&got3, &args);
                }
            }
            let mut two = whole.clone();
            two.extend_from_slice(&whole[..k]);
            let (len2, got2) = args_of(&two).unwrap().unwrap();
            prop_assert_eq!(len2, whole.len());
            prop_assert_eq!(got2, args);
        }
    }
}
