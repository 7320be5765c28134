//! `resp`: arbitrary bytes to maph-server's RESP request parser
//! (`server/src/resp.rs`, reached through the `maph_server` library built
//! without its `server` feature, so without tokio).
//!
//! Input: byte 0 picks the `Limits` (bits 0–1 `max_bulk`, 2–4 `max_args`,
//! 5–7 `max_inline`, each from a small table that includes Redis's
//! defaults); bytes 1–2 and 3–4 are two cut points (little-endian, taken
//! modulo the stream length + 1); the rest is the byte stream a client
//! sends. What must hold, besides no panic, no hang and no allocation
//! beyond the argument list:
//!
//! - every answer on its own: a `Frame { len }` has `0 < len <= buf.len()`,
//!   at most `max_args` arguments, in order, not overlapping, inside the
//!   frame; a multibulk argument is at most `max_bulk` bytes; an inline
//!   line (without its newline) is at most `max_inline` bytes, and its
//!   arguments are non-empty and hold no space, tab or newline; a multibulk
//!   frame's arguments re-encoded parse back to the same arguments;
//!   `Incomplete { need }` has `need == 0` or
//!   `buf.len() < need <= buf.len() + max_bulk + 2` (the server reserves
//!   from `need`, so it is bounded by the limits).
//! - prefixes: for the first cut `k`, `parse(&buf[..k])` agrees with
//!   `parse(buf)`: if the whole answers a frame of `len` bytes, a prefix at
//!   least that long answers the same frame and arguments, and a shorter
//!   one answers `Incomplete` with `need` 0 or in `(k, len]`; if the whole
//!   answers `Incomplete`, the prefix does not answer an error (an error is
//!   final: no more bytes can make it valid).
//! - streaming: the stream fed whole, and fed in three pieces split at the
//!   two cuts, through the server's loop (`server/src/conn.rs`: parse every
//!   whole request with `parse_resumable`, which continues a pending
//!   multibulk request where it stopped, drop the parsed bytes, skip parsing
//!   while the buffer is shorter than the last `need`), yields the same
//!   requests in the same order and ends the same way (waiting for more, or
//!   a protocol error). `parse` itself (stateless) must agree too: a stream
//!   whose first request `parse` reads whole gives the same first request.
#![no_main]

use std::ops::Range;

use libfuzzer_sys::fuzz_target;
use maph_server::resp::{parse, parse_resumable, Limits, Parsed, ProtocolError, Resume};

const BULK: [usize; 4] = [0, 3, 64, 512 << 20];
const ARGS: [usize; 8] = [0, 1, 2, 3, 8, 64, 1024, 1 << 20];
const INLINE: [usize; 8] = [0, 1, 4, 8, 16, 64, 1024, 64 << 10];

type Args = Vec<Vec<u8>>;

/// How a stream ended: every request it held, then waiting or an error.
#[derive(Debug, PartialEq, Eq)]
struct Run {
    frames: Vec<Args>,
    error: bool,
}

fn owned(buf: &[u8], ranges: &[Range<usize>]) -> Args {
    ranges.iter().map(|r| buf[r.clone()].to_vec()).collect()
}

fn encode(args: &Args) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// Parses `buf` and checks the answer on its own (first bullet above).
fn parse_checked(
    buf: &[u8], lim: &Limits, ranges: &mut Vec<Range<usize>>, resume: &mut Resume,
) -> Result<Parsed, ProtocolError> {
    let r = parse_resumable(buf, lim, ranges, resume);
    match &r {
        Ok(Parsed::Frame { len }) => {
            let len = *len;
            assert!(len > 0 && len <= buf.len(), "frame of {len} bytes in {}", buf.len());
            assert!(ranges.len() <= lim.max_args, "{} arguments > max_args", ranges.len());
            let mut prev = 0;
            for r in ranges.iter() {
                assert!(prev <= r.start && r.start <= r.end && r.end <= len, "range {r:?}");
                prev = r.end;
            }
            if buf[0] == b'*' {
                for r in ranges.iter() {
                    assert!(r.len() <= lim.max_bulk, "bulk of {} > max_bulk", r.len());
                }
                let args = owned(buf, ranges);
                let again = encode(&args);
                let mut rr = Vec::new();
                let p = parse(&again, lim, &mut rr);
                assert_eq!(p, Ok(Parsed::Frame { len: again.len() }), "re-encoded frame");
                assert_eq!(owned(&again, &rr), args, "re-encoded arguments");
            } else {
                assert!(len - 1 <= lim.max_inline, "inline line of {} > max_inline", len - 1);
                assert_eq!(buf[len - 1], b'\n', "inline frame ends at its newline");
                for r in ranges.iter() {
                    let a = &buf[r.clone()];
                    assert!(!a.is_empty(), "empty inline argument");
                    assert!(!a.iter().any(|c| matches!(c, b' ' | b'\t' | b'\n')), "{a:?}");
                }
            }
        }
        Ok(Parsed::Incomplete { need }) => {
            let need = *need as u64;
            let have = buf.len() as u64;
            assert!(
                need == 0 || (need > have && need <= have + lim.max_bulk as u64 + 2),
                "need {need} with {have} bytes"
            );
        }
        Err(e) => assert!(e.0.starts_with("Protocol error: "), "{e:?}"),
    }
    r
}

/// The server's read loop over `stream` delivered in pieces ending at
/// `cuts`, parsing with `parse_resumable` as the server does.
fn drive(stream: &[u8], cuts: &[usize], lim: &Limits) -> Run {
    let mut buf = Vec::new();
    let mut ranges = Vec::new();
    let mut resume = Resume::default();
    let mut run = Run { frames: Vec::new(), error: false };
    let mut need = 0;
    let mut from = 0;
    for &to in cuts.iter().chain(std::iter::once(&stream.len())) {
        buf.extend_from_slice(&stream[from..to]);
        from = to;
        if buf.len() < need {
            continue;
        }
        let mut start = 0;
        loop {
            let rest = &buf[start..];
            match parse_checked(rest, lim, &mut ranges, &mut resume) {
                Ok(Parsed::Frame { len }) => {
                    run.frames.push(owned(rest, &ranges));
                    start += len;
                }
                Ok(Parsed::Incomplete { need: n }) => {
                    need = n;
                    break;
                }
                Err(_) => {
                    run.error = true;
                    return run;
                }
            }
        }
        buf.drain(..start);
    }
    run
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 5 {
        return;
    }
    let b = data[0];
    let lim = Limits {
        max_bulk: BULK[usize::from(b & 3)],
        max_args: ARGS[usize::from((b >> 2) & 7)],
        max_inline: INLINE[usize::from(b >> 5)],
    };
    let stream = &data[5..];
    let cut =
        |i: usize| usize::from(u16::from_le_bytes([data[i], data[i + 1]])) % (stream.len() + 1);
    let (c1, c2) = (cut(1), cut(3));

    // Prefixes agree with the whole.
    let mut whole_ranges = Vec::new();
    let whole = parse_checked(stream, &lim, &mut whole_ranges, &mut Resume::default());
    let mut pre_ranges = Vec::new();
    let pre = parse_checked(&stream[..c1], &lim, &mut pre_ranges, &mut Resume::default());
    match whole {
        Ok(Parsed::Frame { len }) if c1 >= len => {
            assert_eq!(pre, Ok(Parsed::Frame { len }), "a prefix holding the frame");
            assert_eq!(pre_ranges, whole_ranges, "a prefix holding the frame: arguments");
        }
        Ok(Parsed::Frame { len }) => match pre {
            Ok(Parsed::Incomplete { need }) => {
                assert!(
                    need == 0 || (need > c1 && need <= len),
                    "need {need}, cut {c1}, frame {len}"
                )
            }
            other => panic!("prefix of {c1} bytes of a {len}-byte frame: {other:?}"),
        },
        Ok(Parsed::Incomplete { .. }) => {
            assert!(pre.is_ok(), "prefix of an incomplete request is an error: {pre:?}")
        }
        Err(_) => {}
    }

    // Streaming in pieces yields the same requests.
    let one = drive(stream, &[], &lim);
    let three = drive(stream, &[c1.min(c2), c1.max(c2)], &lim);
    assert_eq!(one, three, "cuts at {c1} and {c2}");
    let mut plain = Vec::new();
    if let Ok(Parsed::Frame { .. }) = parse(stream, &lim, &mut plain) {
        assert_eq!(one.frames.first(), Some(&owned(stream, &plain)), "parse and the loop");
    }
});
