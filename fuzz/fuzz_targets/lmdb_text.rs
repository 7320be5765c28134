//! `lmdb_text`: arbitrary bytes to the reader of LMDB's text dump format
//! (`cli/src/lmdb_text.rs`, what `maph restore` reads from a file it is
//! given). The cli crate is a binary only, so the module is compiled into
//! this target by path; it uses only std and `maph::store::format`.
//!
//! Input: bytes 0–1 are a cut point (little-endian, taken modulo the dump's
//! length + 1); byte 2 is a piece size `s` (0: no more cuts); the rest is
//! the dump. What must hold, besides no panic and no hang:
//!
//! - limits: read whole with `Reader::with_limits(dump, 64, 256)`, every
//!   record decoded before the end or the first error has a key of at most
//!   64 bytes and a value of at most 256 (small, so that inputs of a few
//!   hundred bytes reach both refusals; the buffers' capacity is private:
//!   the module's own test checks it). An error is fine; it names
//!   a line from 1 to the dump's line count + 1. A dump read to `DATA=END`
//!   without error was read to its last byte (`bytes_read`) and its last
//!   line (`lineno`), and a further `next_record` answers `None`.
//! - pieces: the same dump through a `BufRead` that hands it out in pieces
//!   (one ending at the cut, then pieces of `s` bytes) gives the same
//!   records, the same error (line and reason), the same `lineno` and
//!   `duplicates`: no state is lost at a buffer's end.
//! - limits only refuse: with maph's own limits (`Reader::new`) the dump
//!   gives the same records and the same end, except where the small
//!   limits refused a field as too long: then the records read so far are
//!   the same and the next one, if any, is the one over a small limit.
//! - round trip: the records read (before the end or the error) written
//!   with `Writer` in both formats give exactly the header, the lines
//!   `encode` makes and `DATA=END`; `encode` writes lowercase hex
//!   (bytevalue) or printable ASCII with `\\` and `\xx` (print), of the
//!   expected length; read back with the same small limits (whole and in
//!   the same pieces) they give the same records, in order, without error,
//!   ending at `DATA=END` on the last byte.
//!
//! Fields longer than the `Writer`'s 16 KiB chunks are the module's own
//! tests' (`every_byte_and_long_fields_round_trip_in_both_formats`): here
//! they would cost milliseconds per input (every byte loop is instrumented).
#![no_main]

use std::io::{self, BufRead, Read};

use libfuzzer_sys::fuzz_target;

#[path = "../../cli/src/lmdb_text.rs"]
mod lmdb_text;

use lmdb_text::{encode, Format, ParseError, Reader, Writer, MAX_KEY, MAX_VALUE};

const KEY_LIMIT: usize = 64;
const VALUE_LIMIT: usize = 256;
const MAPSIZE: u64 = 1 << 20;

type Records = Vec<(Vec<u8>, Vec<u8>)>;

/// How a dump read: the header's and the records' outcome.
#[derive(Debug, PartialEq, Eq)]
struct Run {
    records: Records,
    /// The header's error or the first record's error, if any.
    error: Option<ParseError>,
    duplicates: bool,
    /// `lineno()` at the end (0 when the header failed).
    lineno: u64,
    /// `bytes_read()` after `DATA=END`; `None` after an error (where it
    /// depends on how the input was cut).
    bytes: Option<u64>,
}

/// A `BufRead` handing out `data` in pieces ending at `cut`, then every
/// `step` bytes after it (`step` 0: the rest in one piece).
struct Pieces<'a> {
    data: &'a [u8],
    pos: usize,
    cut: usize,
    step: usize,
}

impl Pieces<'_> {
    fn new(data: &[u8], cut: usize, step: usize) -> Pieces<'_> {
        Pieces { data, pos: 0, cut, step }
    }

    fn end(&self) -> usize {
        let end = if self.pos < self.cut {
            self.cut
        } else {
            // `step` 0: no division, the rest in one piece.
            match (self.pos - self.cut).checked_div(self.step) {
                Some(n) => self.cut + (n + 1) * self.step,
                None => self.data.len(),
            }
        };
        end.min(self.data.len())
    }
}

impl Read for Pieces<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let buf = self.fill_buf()?;
        let n = buf.len().min(out.len());
        out[..n].copy_from_slice(&buf[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl BufRead for Pieces<'_> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        Ok(&self.data[self.pos..self.end()])
    }

    fn consume(&mut self, n: usize) {
        assert!(self.pos + n <= self.end(), "consumed past the piece handed out");
        self.pos += n;
    }
}

/// Reads a whole dump (to `DATA=END` or the first error), checking every
/// record against the limits as it comes.
fn read<R: BufRead>(
    open: impl FnOnce(R, usize, usize) -> Result<Reader<R>, ParseError>, rd: R, max_key: usize,
    max_val: usize,
) -> Run {
    let mut r = match open(rd, max_key, max_val) {
        Ok(r) => r,
        Err(e) => {
            return Run {
                records: Vec::new(),
                error: Some(e),
                duplicates: false,
                lineno: 0,
                bytes: None,
            }
        }
    };
    let mut records = Vec::new();
    let error = loop {
        match r.next_record() {
            Ok(Some((k, v))) => {
                assert!(k.len() <= max_key, "key of {} bytes > {max_key}", k.len());
                assert!(v.len() <= max_val, "value of {} bytes > {max_val}", v.len());
                records.push((k.to_vec(), v.to_vec()));
            }
            Ok(None) => {
                assert_eq!(r.next_record(), Ok(None), "a read after DATA=END");
                break None;
            }
            Err(e) => break Some(e),
        }
    };
    let bytes = error.is_none().then(|| r.bytes_read());
    Run { records, error, duplicates: r.duplicates(), lineno: r.lineno(), bytes }
}

fn with_limits<R: BufRead>(rd: R, k: usize, v: usize) -> Result<Reader<R>, ParseError> {
    Reader::with_limits(rd, k, v)
}

fn small<R: BufRead>(rd: R) -> Run {
    read(with_limits, rd, KEY_LIMIT, VALUE_LIMIT)
}

/// With maph's own limits (`Reader::new`).
fn large<R: BufRead>(rd: R) -> Run {
    read(|rd, _, _| Reader::new(rd), rd, MAX_KEY, MAX_VALUE)
}

/// Lines of `text` as the reader numbers them.
fn lines(text: &[u8]) -> u64 {
    let n = text.iter().filter(|&&c| c == b'\n').count() as u64;
    n + u64::from(text.last().is_some_and(|&c| c != b'\n'))
}

/// `encode` on its own: the alphabet and the length.
fn encoded(format: Format, bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    encode(format, bytes, &mut out);
    match format {
        Format::Bytevalue => {
            assert_eq!(out.len(), 2 * bytes.len(), "bytevalue length");
            assert!(out.iter().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f')), "{out:?}");
        }
        Format::Print => {
            let slashes = bytes.iter().filter(|&&c| c == b'\\').count();
            let other = bytes.iter().filter(|&&c| !(0x20..=0x7e).contains(&c)).count();
            assert_eq!(out.len(), bytes.len() + slashes + 2 * other, "print length");
            assert!(out.iter().all(|c| (0x20..=0x7e).contains(c)), "{out:?}");
        }
    }
    out
}

/// What `Writer` must write for `records`: its header, `encode`'s lines.
fn expected_dump(format: Format, records: &Records) -> Vec<u8> {
    let mut out = format!(
        "VERSION=3\nformat={}\ntype=btree\nmapsize={MAPSIZE}\nmaxreaders=126\n\
         db_pagesize=4096\nHEADER=END\n",
        format.name()
    )
    .into_bytes();
    for (k, v) in records {
        for f in [k, v] {
            out.push(b' ');
            out.extend_from_slice(&encoded(format, f));
            out.push(b'\n');
        }
    }
    out.extend_from_slice(b"DATA=END\n");
    out
}

fn write_dump(format: Format, records: &Records) -> Vec<u8> {
    let mut w = Writer::new(Vec::new(), format, MAPSIZE).expect("writing to a Vec");
    for (k, v) in records {
        w.record(k, v).expect("writing to a Vec");
    }
    let out = w.finish().expect("writing to a Vec");
    assert_eq!(out, expected_dump(format, records), "{format:?}: Writer and encode");
    out
}

fn too_long(e: &ParseError) -> bool {
    e.reason.contains(" longer than ")
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 3 {
        return;
    }
    let dump = &data[3..];
    let cut = usize::from(u16::from_le_bytes([data[0], data[1]])) % (dump.len() + 1);
    let step = usize::from(data[2]);

    // Limits, and the end.
    let whole = small(dump);
    match &whole.error {
        None => {
            assert_eq!(whole.bytes, Some(dump.len() as u64), "DATA=END before the last byte");
            assert_eq!(whole.lineno, lines(dump), "lineno at DATA=END");
        }
        Some(e) => {
            assert!(e.line >= 1 && e.line <= lines(dump) + 1, "error on line {}: {e}", e.line);
        }
    }

    // Pieces.
    let cut_up = small(Pieces::new(dump, cut, step));
    assert_eq!(whole, cut_up, "cut at {cut}, then every {step} bytes");

    // maph's own limits.
    let big = large(dump);
    match &whole.error {
        Some(e) if too_long(e) => {
            let n = whole.records.len();
            assert!(big.records.len() >= n, "fewer records with larger limits");
            assert_eq!(big.records[..n], whole.records[..], "records under larger limits");
            match big.records.get(n) {
                Some((k, v)) => assert!(
                    k.len() > KEY_LIMIT || v.len() > VALUE_LIMIT,
                    "{e} but the record is {} + {} bytes",
                    k.len(),
                    v.len()
                ),
                None => {
                    let b = big.error.as_ref().expect("a field too long for the small limits");
                    assert!(b.line >= e.line, "{b} under larger limits, {e} under small ones");
                }
            }
        }
        _ => assert_eq!(big, whole, "larger limits"),
    }

    // Round trip through the Writer.
    for format in [Format::Bytevalue, Format::Print] {
        let text = write_dump(format, &whole.records);
        let want = Run {
            records: whole.records.clone(),
            error: None,
            duplicates: false,
            lineno: lines(&text),
            bytes: Some(text.len() as u64),
        };
        assert_eq!(small(&text[..]), want, "{format:?}: written and read back");
        assert_eq!(small(Pieces::new(&text, cut, step)), want, "{format:?}: read back in pieces");
    }
});
