//! LMDB's text dump format: what `mdb_dump` writes and `mdb_load` reads
//! (LMDB's `libraries/liblmdb/mdb_dump.c` and `mdb_load.c`; the format is
//! Berkeley DB's `db_dump` format, version 3). One database:
//!
//! ```text
//! VERSION=3
//! format=bytevalue
//! type=btree
//! mapsize=1048576
//! maxreaders=126
//! db_pagesize=4096
//! HEADER=END
//!  6b6579
//!  76616c7565
//! DATA=END
//! ```
//!
//! After the header, each record is two lines, its key then its value,
//! each starting with one space. `format=bytevalue`: every byte as two
//! lowercase hex digits. `format=print`: a printable ASCII byte (0x20 to
//! 0x7e, C's `isprint` in the C locale) as itself, a backslash doubled
//! (`\\`), any other byte as a backslash and two lowercase hex digits
//! (`\0a`).
//!
//! Reading is mdb_load's, made strict where mdb_load guesses:
//! - header lines: `VERSION` must be 3, `format` `bytevalue` or `print`
//!   (bytevalue when absent, as in mdb_load), `type` `btree`; every other
//!   `name=value` line (`mapsize`, `maxreaders`, `db_pagesize`,
//!   `database`, `duplicates`, the flag names, any unknown one) is
//!   accepted and ignored (`duplicates=1` and `dupsort=1` are remembered:
//!   see [`Reader::duplicates`]); a line without `=` is an error;
//! - hex digits of either case, as mdb_load; in print format any other
//!   byte but the backslash stands for itself, as mdb_load;
//! - errors name their line (1-based): a bad escape, an odd number of hex
//!   digits, a line that is neither a record line nor `DATA=END`, the end
//!   of the input before `DATA=END` (a truncated dump) or inside a line,
//!   and anything after `DATA=END` (a second database, as `mdb_dump -a`
//!   writes: maph restores one);
//! - bounded memory: a key is decoded into a buffer of at most
//!   [`MAX_KEY`] bytes and a value into one of at most [`MAX_VALUE`] bytes
//!   (maph's limits), as the line is read; a longer line is an error
//!   before anything more is allocated. No raw line is ever held whole.

use std::fmt;
use std::io::{self, BufRead, Write};

/// The longest key maph stores (`maph::store::format::MAX_KEY_LEN`).
pub const MAX_KEY: usize = maph::store::format::MAX_KEY_LEN;
/// The longest value maph stores (`maph::store::format::MAX_VALUE_LEN`).
pub const MAX_VALUE: usize = maph::store::format::MAX_VALUE_LEN;
/// Bytes of a header line, or of a line that is not a record line, that
/// are read before it is refused as too long.
const MAX_HEADER_LINE: usize = 64 << 10;

/// How a dump encodes bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// `format=bytevalue`: two lowercase hex digits per byte.
    Bytevalue,
    /// `format=print`: printable ASCII as itself, `\\`, and `\xx`.
    Print,
}

impl Format {
    /// The header's name of the format.
    pub fn name(self) -> &'static str {
        match self {
            Format::Bytevalue => "bytevalue",
            Format::Print => "print",
        }
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Bytes encoded per write: the scratch buffer holds at most 3 times this.
const CHUNK: usize = 16 << 10;

/// Writes one database in the dump format: the header at creation, then
/// [`Writer::record`] per record, then [`Writer::finish`] for `DATA=END`.
/// Encodes in chunks: beyond the record itself it holds at most 48 KiB.
pub struct Writer<W: Write> {
    w: W,
    format: Format,
    buf: Vec<u8>,
}

impl<W: Write> Writer<W> {
    /// Writes the header as mdb_dump does for an LMDB environment of
    /// `mapsize` bytes (4 KiB pages, LMDB's default of 126 readers).
    pub fn new(mut w: W, format: Format, mapsize: u64) -> io::Result<Writer<W>> {
        write!(
            w,
            "VERSION=3\nformat={}\ntype=btree\nmapsize={mapsize}\nmaxreaders=126\n\
             db_pagesize=4096\nHEADER=END\n",
            format.name()
        )?;
        Ok(Writer { w, format, buf: Vec::with_capacity(3 * CHUNK + 2) })
    }

    /// Writes one record: its key line and its value line.
    pub fn record(&mut self, key: &[u8], val: &[u8]) -> io::Result<()> {
        self.field(key)?;
        self.field(val)
    }

    fn field(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.buf.clear();
        self.buf.push(b' ');
        let mut chunks = bytes.chunks(CHUNK).peekable();
        while let Some(chunk) = chunks.next() {
            encode(self.format, chunk, &mut self.buf);
            if chunks.peek().is_none() {
                break;
            }
            self.w.write_all(&self.buf)?;
            self.buf.clear();
        }
        self.buf.push(b'\n');
        self.w.write_all(&self.buf)
    }

    /// Writes `DATA=END`, flushes, and hands back the writer.
    pub fn finish(mut self) -> io::Result<W> {
        self.w.write_all(b"DATA=END\n")?;
        self.w.flush()?;
        Ok(self.w)
    }
}

/// Appends `bytes` to `out` in `format`, exactly as mdb_dump writes them.
pub fn encode(format: Format, bytes: &[u8], out: &mut Vec<u8>) {
    match format {
        Format::Bytevalue => {
            for &b in bytes {
                out.extend_from_slice(&[HEX[usize::from(b >> 4)], HEX[usize::from(b & 15)]]);
            }
        }
        Format::Print => {
            for &b in bytes {
                match b {
                    b'\\' => out.extend_from_slice(b"\\\\"),
                    0x20..=0x7e => out.push(b),
                    _ => out.extend_from_slice(&[
                        b'\\',
                        HEX[usize::from(b >> 4)],
                        HEX[usize::from(b & 15)],
                    ]),
                }
            }
        }
    }
}

/// A record as [`Reader::next_record`] lends it: its key and its value.
pub type Record<'a> = (&'a [u8], &'a [u8]);

/// A malformed or unreadable dump: the line it concerns (1-based) and why.
#[derive(Debug, PartialEq, Eq)]
pub struct ParseError {
    /// The line's number, from 1.
    pub line: u64,
    /// What is wrong with it.
    pub reason: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.reason)
    }
}

/// Which half of a record a line holds.
#[derive(Clone, Copy)]
enum Field {
    /// The record's first line.
    Key,
    /// Its second line.
    Value,
}

/// What the first byte of a line said.
enum Lead {
    /// A record line: its leading space is consumed.
    Record,
    /// `DATA=END` (consumed with its newline).
    DataEnd,
    /// The end of the input.
    Eof,
}

/// Reads one database of a dump: the header at creation, then the records
/// one by one ([`Reader::next_record`]).
pub struct Reader<R: BufRead> {
    rd: R,
    /// Lines read so far (the number of the last one read).
    lineno: u64,
    /// Bytes read so far.
    bytes: u64,
    format: Format,
    duplicates: bool,
    key: Vec<u8>,
    val: Vec<u8>,
    max_key: usize,
    max_val: usize,
    done: bool,
}

impl<R: BufRead> Reader<R> {
    /// Reads the header, up to and including `HEADER=END`.
    pub fn new(rd: R) -> Result<Reader<R>, ParseError> {
        Reader::with_limits(rd, MAX_KEY, MAX_VALUE)
    }

    /// [`Reader::new`] with other limits on a key's and a value's bytes.
    pub fn with_limits(rd: R, max_key: usize, max_val: usize) -> Result<Reader<R>, ParseError> {
        let mut r = Reader {
            rd,
            lineno: 0,
            bytes: 0,
            format: Format::Bytevalue,
            duplicates: false,
            key: Vec::new(),
            val: Vec::new(),
            max_key,
            max_val,
            done: false,
        };
        r.read_header()?;
        Ok(r)
    }

    /// The header said `duplicates=1` or `dupsort=1`: the database may
    /// hold several values per key (maph keeps the last one restored).
    pub fn duplicates(&self) -> bool {
        self.duplicates
    }

    /// Bytes of the input read so far.
    pub fn bytes_read(&self) -> u64 {
        self.bytes
    }

    /// The number of the line read last.
    pub fn lineno(&self) -> u64 {
        self.lineno
    }

    fn err(&self, line: u64, reason: impl Into<String>) -> ParseError {
        ParseError { line, reason: reason.into() }
    }

    /// Reads a whole line of at most `MAX_HEADER_LINE` bytes, without its
    /// newline, appending it to `line`; `false` at the end of the input.
    fn header_line(&mut self, line: &mut Vec<u8>) -> Result<bool, ParseError> {
        let mut any = false;
        loop {
            let line_no = self.lineno + 1;
            let buf = self.rd.fill_buf().map_err(|e| io_err(line_no, e))?;
            if buf.is_empty() {
                if any {
                    self.lineno += 1;
                }
                return Ok(any);
            }
            any = true;
            let (seg, nl) = match buf.iter().position(|&b| b == b'\n') {
                Some(i) => (&buf[..i], true),
                None => (buf, false),
            };
            if line.len() + seg.len() > MAX_HEADER_LINE {
                return Err(self.err(
                    self.lineno + 1,
                    format!("a line of more than {MAX_HEADER_LINE} bytes where a header line or DATA=END belongs"),
                ));
            }
            line.extend_from_slice(seg);
            let n = seg.len() + usize::from(nl);
            self.rd.consume(n);
            self.bytes += n as u64;
            if nl {
                self.lineno += 1;
                return Ok(true);
            }
        }
    }

    fn read_header(&mut self) -> Result<(), ParseError> {
        let mut line = Vec::new();
        loop {
            line.clear();
            if !self.header_line(&mut line)? {
                let what = if self.lineno == 0 { "empty input" } else { "end of input" };
                return Err(self.err(
                    self.lineno + 1,
                    format!("{what} before HEADER=END: not a complete dump header"),
                ));
            }
            let n = self.lineno;
            if line == b"HEADER=END" {
                return Ok(());
            }
            let text = String::from_utf8_lossy(&line);
            let Some((name, value)) = text.split_once('=') else {
                return Err(self
                    .err(n, format!("{text:?} is not a header line (name=value) nor HEADER=END")));
            };
            match name {
                "VERSION" if value != "3" => {
                    return Err(self.err(
                        n,
                        format!("unsupported VERSION {value:?}: maph reads VERSION=3 (mdb_dump's)"),
                    ))
                }
                "format" => {
                    self.format = match value {
                        "bytevalue" => Format::Bytevalue,
                        "print" => Format::Print,
                        _ => {
                            return Err(self.err(
                                n,
                                format!(
                                    "unsupported format {value:?}: maph reads bytevalue and print"
                                ),
                            ))
                        }
                    }
                }
                "type" if value != "btree" => {
                    return Err(self.err(
                        n,
                        format!("unsupported type {value:?}: maph reads type=btree (mdb_dump's)"),
                    ))
                }
                "duplicates" | "dupsort" => self.duplicates = value != "0",
                // VERSION=3, type=btree, mapsize, mapaddr, maxreaders,
                // db_pagesize, database, the other flags, and any other
                // keyword (mdb_load warns and goes on): nothing to do.
                _ => {}
            }
        }
    }

    /// Reads the first byte of a line: a record line, `DATA=END`, or the
    /// end of the input; anything else is an error.
    fn lead(&mut self) -> Result<Lead, ParseError> {
        let line_no = self.lineno + 1;
        let buf = self.rd.fill_buf().map_err(|e| io_err(line_no, e))?;
        match buf.first().copied() {
            None => Ok(Lead::Eof),
            Some(b' ') => {
                self.rd.consume(1);
                self.bytes += 1;
                Ok(Lead::Record)
            }
            Some(_) => {
                let mut line = Vec::new();
                self.header_line(&mut line)?;
                if line == b"DATA=END" {
                    return Ok(Lead::DataEnd);
                }
                let shown: String = String::from_utf8_lossy(&line).chars().take(40).collect();
                Err(self.err(
                    self.lineno,
                    format!(
                        "{shown:?} is neither a record line (one space, then the encoded bytes) \
                         nor DATA=END"
                    ),
                ))
            }
        }
    }

    /// Decodes the rest of the current line into the key or value buffer.
    fn field(&mut self, which: Field) -> Result<(), ParseError> {
        let line = self.lineno + 1;
        let (out, max, what) = match which {
            Field::Key => (&mut self.key, self.max_key, "key"),
            Field::Value => (&mut self.val, self.max_val, "value"),
        };
        out.clear();
        let mut dec = Decoder::new(self.format);
        loop {
            let buf = self.rd.fill_buf().map_err(|e| io_err(line, e))?;
            if buf.is_empty() {
                return Err(ParseError {
                    line,
                    reason: format!("end of input inside a {what} line (truncated dump?)"),
                });
            }
            let (seg, nl) = match buf.iter().position(|&b| b == b'\n') {
                Some(i) => (&buf[..i], true),
                None => (buf, false),
            };
            dec.decode(seg, out, max, what).map_err(|reason| ParseError { line, reason })?;
            let n = seg.len() + usize::from(nl);
            self.rd.consume(n);
            self.bytes += n as u64;
            if nl {
                dec.finish().map_err(|reason| ParseError { line, reason })?;
                self.lineno = line;
                return Ok(());
            }
        }
    }

    /// The next record, `None` after `DATA=END`. Errors: a malformed
    /// line, the end of the input before `DATA=END`, or input after it.
    pub fn next_record(&mut self) -> Result<Option<Record<'_>>, ParseError> {
        if self.done {
            return Ok(None);
        }
        match self.lead()? {
            Lead::Record => {}
            Lead::DataEnd => {
                self.done = true;
                let line_no = self.lineno + 1;
                let rest = self.rd.fill_buf().map_err(|e| io_err(line_no, e))?;
                if !rest.is_empty() {
                    return Err(self.err(
                        self.lineno + 1,
                        "input goes on after DATA=END: a second database (mdb_dump -a writes \
                         one per sub-database)? maph restores one: dump it with mdb_dump -s NAME",
                    ));
                }
                return Ok(None);
            }
            Lead::Eof => {
                return Err(
                    self.err(self.lineno + 1, "end of input before DATA=END (truncated dump?)")
                )
            }
        }
        self.field(Field::Key)?;
        match self.lead()? {
            Lead::Record => {}
            Lead::DataEnd => {
                return Err(
                    self.err(self.lineno, "DATA=END where the value of the key above belongs")
                )
            }
            Lead::Eof => {
                return Err(self.err(
                    self.lineno + 1,
                    "end of input after a key, before its value (truncated dump?)",
                ))
            }
        }
        self.field(Field::Value)?;
        Ok(Some((&self.key, &self.val)))
    }
}

/// A read error on line `line`.
fn io_err(line: u64, e: io::Error) -> ParseError {
    ParseError { line, reason: format!("read: {e}") }
}

/// The value of an ASCII hex digit of either case.
fn hex_value(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// A byte as the messages show it: itself when printable, else `0xNN`.
fn shown(c: u8) -> String {
    if (0x21..=0x7e).contains(&c) {
        format!("'{}'", c as char)
    } else {
        format!("byte 0x{c:02x}")
    }
}

/// Decodes one line, fed in pieces, keeping what spans two pieces.
struct Decoder {
    format: Format,
    /// Bytevalue: the high nibble read, waiting for its low one. Print: a
    /// backslash read (Some(16)) or a backslash and one hex digit.
    pending: Option<u8>,
}

impl Decoder {
    fn new(format: Format) -> Decoder {
        Decoder { format, pending: None }
    }

    /// Decodes `seg` onto `out`, never growing it past `max` bytes.
    fn decode(
        &mut self, seg: &[u8], out: &mut Vec<u8>, max: usize, what: &str,
    ) -> Result<(), String> {
        for &c in seg {
            let byte = match (self.format, self.pending) {
                (Format::Bytevalue, p) => {
                    let v = hex_value(c).ok_or_else(|| {
                        format!("{} in a bytevalue {what} line (hex digits only)", shown(c))
                    })?;
                    match p {
                        None => {
                            self.pending = Some(v);
                            continue;
                        }
                        Some(hi) => {
                            self.pending = None;
                            hi << 4 | v
                        }
                    }
                }
                (Format::Print, None) if c == b'\\' => {
                    self.pending = Some(16);
                    continue;
                }
                (Format::Print, None) => c,
                (Format::Print, Some(16)) if c == b'\\' => {
                    self.pending = None;
                    b'\\'
                }
                (Format::Print, Some(p)) => {
                    let v = hex_value(c).ok_or_else(|| {
                        format!(
                            "{} after a backslash in a print {what} line (expected \\\\ or two hex \
                             digits; mdb_dump -p before LMDB 0.9.25 left backslashes undoubled: \
                             dump without -p)",
                            shown(c)
                        )
                    })?;
                    if p == 16 {
                        self.pending = Some(v);
                        continue;
                    }
                    self.pending = None;
                    p << 4 | v
                }
            };
            if out.len() == out.capacity() {
                if out.len() >= max {
                    return Err(format!("{what} longer than {max} bytes, the most maph stores"));
                }
                // Grow as a Vec does, but never past `max`.
                let want = out.capacity().saturating_mul(2).max(4096).min(max);
                out.reserve_exact(want - out.len());
            }
            out.push(byte);
        }
        Ok(())
    }

    /// The line ended: nothing may be left half-read.
    fn finish(&self) -> Result<(), String> {
        match (self.format, self.pending) {
            (_, None) => Ok(()),
            (Format::Bytevalue, Some(_)) => Err("odd number of hex digits".into()),
            (Format::Print, Some(_)) => {
                Err("the line ends inside a backslash escape (\\\\ or \\ and two hex digits)"
                    .into())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dump(format: Format, recs: &[(&[u8], &[u8])]) -> Vec<u8> {
        let mut w = Writer::new(Vec::new(), format, 1 << 20).unwrap();
        for (k, v) in recs {
            w.record(k, v).unwrap();
        }
        w.finish().unwrap()
    }

    type Records = Vec<(Vec<u8>, Vec<u8>)>;

    fn read_all(text: &[u8]) -> Result<Records, ParseError> {
        let mut r = Reader::new(text)?;
        let mut out = Vec::new();
        while let Some((k, v)) = r.next_record()? {
            out.push((k.to_vec(), v.to_vec()));
        }
        Ok(out)
    }

    const HEAD: &str = "VERSION=3\nformat=print\ntype=btree\nHEADER=END\n";

    #[test]
    fn encodes_exactly_as_mdb_dump() {
        let mut out = Vec::new();
        encode(Format::Print, b"a \\~\x7f\x00\n\xff", &mut out);
        assert_eq!(out, b"a \\\\~\\7f\\00\\0a\\ff");
        out.clear();
        encode(Format::Bytevalue, b"\x00\x0a\xffA", &mut out);
        assert_eq!(out, b"000aff41");
        let d = dump(Format::Bytevalue, &[(b"k", b"")]);
        assert_eq!(
            d,
            b"VERSION=3\nformat=bytevalue\ntype=btree\nmapsize=1048576\nmaxreaders=126\n\
              db_pagesize=4096\nHEADER=END\n 6b\n \nDATA=END\n"
        );
    }

    #[test]
    fn every_byte_and_long_fields_round_trip_in_both_formats() {
        let all: Vec<u8> = (0..=255).collect();
        let long: Vec<u8> = (0..100_000u32).map(|i| (i * 7) as u8).collect();
        let recs: Vec<(&[u8], &[u8])> =
            vec![(&all, &long), (b"\\", b"\\\\x"), (b" lead", b""), (b"\n", b"\r\n\0")];
        for f in [Format::Bytevalue, Format::Print] {
            let got = read_all(&dump(f, &recs)).unwrap();
            let want: Vec<_> = recs.iter().map(|(k, v)| (k.to_vec(), v.to_vec())).collect();
            assert_eq!(got, want, "{f:?}");
        }
    }

    #[test]
    fn decodes_pieces_split_anywhere() {
        // A BufReader of capacity 1 splits escapes and hex pairs.
        let text = format!("{HEAD} a\\5c\\\\\\0A\n \\ff\nDATA=END\n");
        let rd = io::BufReader::with_capacity(1, text.as_bytes());
        let mut r = Reader::new(rd).unwrap();
        let (k, v) = r.next_record().unwrap().unwrap();
        assert_eq!((k, v), (&b"a\\\\\n"[..], &b"\xff"[..]));
        assert_eq!(r.next_record().unwrap(), None);
    }

    #[test]
    fn header_errors_name_their_line() {
        let cases = [
            ("VERSION=2\nHEADER=END\nDATA=END\n", 1, "unsupported VERSION \"2\""),
            ("VERSION=3\nformat=hex\n", 2, "unsupported format \"hex\""),
            ("VERSION=3\nformat=print\ntype=hash\n", 3, "unsupported type \"hash\""),
            ("VERSION=3\nmapsize=1\nbogus\n", 3, "not a header line"),
            ("VERSION=3\nformat=print\n", 3, "end of input before HEADER=END"),
            ("", 1, "empty input before HEADER=END"),
        ];
        for (text, line, says) in cases {
            let e = read_all(text.as_bytes()).unwrap_err();
            assert_eq!(e.line, line, "{text:?}: {e}");
            assert!(e.reason.contains(says), "{text:?}: {e}");
        }
    }

    #[test]
    fn other_header_keys_are_ignored_and_duplicates_noted() {
        let text = "VERSION=3\nformat=bytevalue\ndatabase=sub\ntype=btree\nmapsize=99\n\
                    mapaddr=0x0\nmaxreaders=1\nduplicates=1\ndupsort=1\nintegerkey=1\n\
                    db_pagesize=4096\nsomething_new=x\nHEADER=END\n 61\n 62\nDATA=END\n";
        let mut r = Reader::new(text.as_bytes()).unwrap();
        assert!(r.duplicates());
        assert_eq!(r.next_record().unwrap(), Some((&b"a"[..], &b"b"[..])));
        assert_eq!(r.next_record().unwrap(), None);
    }

    #[test]
    fn record_errors_name_their_line() {
        let b = "VERSION=3\nformat=bytevalue\ntype=btree\nHEADER=END\n";
        let cases = [
            (format!("{b} 6\n 61\nDATA=END\n"), 5, "odd number of hex digits"),
            (format!("{b} 6g\n 61\nDATA=END\n"), 5, "'g' in a bytevalue key line"),
            (format!("{b} 61\r\n 61\nDATA=END\n"), 5, "byte 0x0d"),
            (format!("{b} 61\n 62\n"), 7, "end of input before DATA=END"),
            (format!("{b} 61\n"), 6, "end of input after a key"),
            (format!("{b} 61\n 6"), 6, "end of input inside a value line"),
            (format!("{b} 61\nDATA=END\n"), 6, "DATA=END where the value"),
            (format!("{b}61\n 62\nDATA=END\n"), 5, "neither a record line"),
            (format!("{b}DATA=END\n\n"), 6, "input goes on after DATA=END"),
            (format!("{HEAD} \\x1\n \nDATA=END\n"), 5, "'x' after a backslash"),
            (format!("{HEAD} a\\\n \nDATA=END\n"), 5, "ends inside a backslash escape"),
            (format!("{HEAD} a\\f\n \nDATA=END\n"), 5, "ends inside a backslash escape"),
        ];
        for (text, line, says) in cases {
            let e = read_all(text.as_bytes()).unwrap_err();
            assert_eq!(e.line, line, "{text:?}: {e}");
            assert!(e.reason.contains(says), "{text:?}: {e}");
        }
    }

    #[test]
    fn a_field_longer_than_the_limit_is_refused_without_allocating_past_it() {
        let b = "VERSION=3\nformat=bytevalue\ntype=btree\nHEADER=END\n";
        let text = format!("{b} {}\n 00\nDATA=END\n", "61".repeat(11));
        let mut r = Reader::with_limits(text.as_bytes(), 10, 100).unwrap();
        let e = r.next_record().unwrap_err();
        assert_eq!(e.line, 5);
        assert!(e.reason.contains("key longer than 10 bytes"), "{e}");
        assert!(r.key.capacity() <= 10);
        let text = format!("{b} 61\n {}\nDATA=END\n", "00".repeat(101));
        let mut r = Reader::with_limits(text.as_bytes(), 10, 100).unwrap();
        let e = r.next_record().unwrap_err();
        assert_eq!(e.line, 6);
        assert!(e.reason.contains("value longer than 100 bytes"), "{e}");
        assert!(r.val.capacity() <= 100);
        // Exactly at the limits is fine.
        let text = format!("{b} {}\n {}\nDATA=END\n", "61".repeat(10), "00".repeat(100));
        assert_eq!(read_all_limited(&text, 10, 100).len(), 1);
    }

    fn read_all_limited(text: &str, k: usize, v: usize) -> Records {
        let mut r = Reader::with_limits(text.as_bytes(), k, v).unwrap();
        let mut out = Vec::new();
        while let Some((k, v)) = r.next_record().unwrap() {
            out.push((k.to_vec(), v.to_vec()));
        }
        out
    }
}
