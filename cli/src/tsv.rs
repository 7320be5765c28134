//! TSV input: `key TAB value` per line, plain or gzip (by the `.gz`
//! extension). The value is the rest of the line after the first tab; a
//! trailing `\n` or `\r\n` is not part of it. Lines are bytes, not
//! necessarily UTF-8.
//!
//! Also the in-memory form used by `bench` and `demo` ([`Rows`]), and the
//! load and verify loops they share.

use std::cell::Cell;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::Instant;

use flate2::read::MultiGzDecoder;
use maph::{Error, Store};

use crate::Fail;

/// One line of input.
pub enum Row<'a> {
    /// A key and its value.
    Pair { key: &'a [u8], val: &'a [u8] },
    /// A non-empty line without a tab.
    NoTab,
    /// An empty line.
    Blank,
}

/// Counts the bytes read from the file under the decoder (for progress).
struct Counting<R> {
    inner: R,
    n: Rc<Cell<u64>>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let k = self.inner.read(buf)?;
        self.n.set(self.n.get() + k as u64);
        Ok(k)
    }
}

/// Bytes shared between the two passes of a load from standard input.
pub struct SharedBytes(pub Rc<Vec<u8>>);

impl AsRef<[u8]> for SharedBytes {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

/// A streaming TSV reader.
pub struct Tsv {
    rd: Box<dyn BufRead>,
    read: Rc<Cell<u64>>,
    /// Bytes of the file on disk (compressed size for .gz).
    pub file_bytes: u64,
    /// Number of the line last returned (1-based, header included).
    pub lineno: u64,
    line: Vec<u8>,
    path: PathBuf,
}

impl Tsv {
    /// Opens the file `path` (gzip when its name ends in `.gz`); with
    /// `header`, reads and drops the first line.
    pub fn open(path: &Path, header: bool) -> Result<Tsv, Fail> {
        let file = File::open(path).map_err(|e| Fail::new(path, e))?;
        let file_bytes = file.metadata().map_err(|e| Fail::new(path, e))?.len();
        let gz = path.extension().is_some_and(|e| e == "gz");
        Tsv::from_reader(Box::new(file), path, file_bytes, gz, header)
    }

    /// Streams standard input: gzip when it starts with the gzip magic
    /// bytes 1f 8b. Named "stdin" in messages; `file_bytes` is 0.
    pub fn stdin(header: bool) -> Result<Tsv, Fail> {
        let mut rd = BufReader::with_capacity(1 << 16, std::io::stdin());
        let gz = rd.fill_buf().map_err(|e| Fail::new("stdin", e))?.starts_with(&[0x1f, 0x8b]);
        Tsv::from_reader(Box::new(rd), Path::new("stdin"), 0, gz, header)
    }

    /// A reader over `data` (standard input, already read): gzip when it
    /// starts with the gzip magic bytes 1f 8b. Named "stdin" in messages.
    pub fn from_bytes(data: Rc<Vec<u8>>, header: bool) -> Result<Tsv, Fail> {
        let gz = data.starts_with(&[0x1f, 0x8b]);
        let len = data.len() as u64;
        let cursor = std::io::Cursor::new(SharedBytes(data));
        Tsv::from_reader(Box::new(cursor), Path::new("stdin"), len, gz, header)
    }

    fn from_reader(
        inner: Box<dyn Read>, path: &Path, file_bytes: u64, gz: bool, header: bool,
    ) -> Result<Tsv, Fail> {
        let read = Rc::new(Cell::new(0));
        let counted = Counting { inner, n: Rc::clone(&read) };
        let rd: Box<dyn BufRead> = if gz {
            Box::new(BufReader::with_capacity(
                1 << 18,
                MultiGzDecoder::new(BufReader::with_capacity(1 << 16, counted)),
            ))
        } else {
            Box::new(BufReader::with_capacity(1 << 18, counted))
        };
        let mut t = Tsv {
            rd,
            read,
            file_bytes,
            lineno: 0,
            line: Vec::with_capacity(1024),
            path: path.to_path_buf(),
        };
        if header {
            t.next_line()?;
        }
        Ok(t)
    }

    /// Bytes read from the file so far.
    pub fn bytes_read(&self) -> u64 {
        self.read.get()
    }

    fn next_line(&mut self) -> Result<bool, Fail> {
        self.line.clear();
        let n = self
            .rd
            .read_until(b'\n', &mut self.line)
            .map_err(|e| Fail::new(&self.path, format!("line {}: {e}", self.lineno + 1)))?;
        if n == 0 {
            return Ok(false);
        }
        self.lineno += 1;
        if self.line.last() == Some(&b'\n') {
            self.line.pop();
            if self.line.last() == Some(&b'\r') {
                self.line.pop();
            }
        }
        Ok(true)
    }

    /// The next row, or `None` at the end of the input.
    pub fn next_row(&mut self) -> Result<Option<Row<'_>>, Fail> {
        if !self.next_line()? {
            return Ok(None);
        }
        let line = &self.line[..];
        Ok(Some(match line.iter().position(|&b| b == b'\t') {
            Some(t) => Row::Pair { key: &line[..t], val: &line[t + 1..] },
            None if line.is_empty() => Row::Blank,
            None => Row::NoTab,
        }))
    }
}

/// A whole TSV file in memory: keys and values end to end.
pub struct Rows {
    data: Vec<u8>,
    /// (start, key length, value length) per row.
    rows: Vec<(usize, u32, u32)>,
    /// Lines without a tab (not rows).
    pub no_tab: u64,
}

impl Rows {
    /// Reads every row of `path` (the header, if `header`, is skipped).
    pub fn read(path: &Path, header: bool) -> Result<Rows, Fail> {
        let mut t = Tsv::open(path, header)?;
        let mut r = Rows { data: Vec::new(), rows: Vec::new(), no_tab: 0 };
        while let Some(row) = t.next_row()? {
            match row {
                Row::Pair { key, val } => {
                    let (Ok(kl), Ok(vl)) = (u32::try_from(key.len()), u32::try_from(val.len()))
                    else {
                        return Err(Fail::new(path, "a line is longer than 4 GiB"));
                    };
                    r.rows.push((r.data.len(), kl, vl));
                    r.data.extend_from_slice(key);
                    r.data.extend_from_slice(val);
                }
                Row::NoTab => r.no_tab += 1,
                Row::Blank => {}
            }
        }
        Ok(r)
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    #[inline]
    pub fn key(&self, i: usize) -> &[u8] {
        let (s, kl, _) = self.rows[i];
        &self.data[s..s + kl as usize]
    }

    #[inline]
    pub fn val(&self, i: usize) -> &[u8] {
        let (s, kl, vl) = self.rows[i];
        let s = s + kl as usize;
        &self.data[s..s + vl as usize]
    }
}

/// Rows set aside by a load, with the first few keys for the report.
#[derive(Default)]
pub struct Refused {
    pub count: u64,
    pub first: Vec<String>,
}

impl Refused {
    pub fn add(&mut self, key: &[u8]) {
        self.count += 1;
        if self.first.len() < 3 {
            self.first.push(format!("{:?}", String::from_utf8_lossy(key)));
        }
    }

    /// `N rows (first: "a", "b", "c")`.
    pub fn describe(&self) -> String {
        format!("{} rows (first: {})", self.count, self.first.join(", "))
    }
}

/// What `load_rows` did.
pub struct LoadReport {
    /// Indices of the rows now in the store.
    pub loaded: Vec<usize>,
    pub too_large: Refused,
    pub full: Refused,
    pub invalid: Refused,
    pub seconds: f64,
}

/// Sets every row of `rows` in `store`; times the loop. Too-large, full and
/// invalid (empty key) rows are counted; any other error stops the load.
pub fn load_rows(store: &Store, store_path: &Path, rows: &Rows) -> Result<LoadReport, Fail> {
    let mut rep = LoadReport {
        loaded: Vec::with_capacity(rows.len()),
        too_large: Refused::default(),
        full: Refused::default(),
        invalid: Refused::default(),
        seconds: 0.0,
    };
    let t = Instant::now();
    for i in 0..rows.len() {
        let key = rows.key(i);
        match store.set(key, rows.val(i)) {
            Ok(()) => rep.loaded.push(i),
            Err(Error::TooLarge(_)) => rep.too_large.add(key),
            Err(Error::Full) => rep.full.add(key),
            Err(Error::InvalidArg(_)) => rep.invalid.add(key),
            Err(e) => {
                return Err(Fail::new(
                    store_path,
                    format!("set {:?}: {e}", String::from_utf8_lossy(key)),
                ))
            }
        }
    }
    rep.seconds = t.elapsed().as_secs_f64();
    Ok(rep)
}

/// Reads back every row in `which` and compares it byte for byte.
pub fn verify_rows(
    store: &Store, store_path: &Path, rows: &Rows, which: &[usize],
) -> Result<u64, Fail> {
    let mut buf = vec![0u8; store.slot_capacity()];
    for &i in which {
        let key = rows.key(i);
        let bad = |what: String| {
            Fail::new(store_path, format!("verify: key {:?}: {what}", String::from_utf8_lossy(key)))
        };
        match store.get(key, &mut buf) {
            Ok(n) if &buf[..n] == rows.val(i) => {}
            Ok(n) => {
                return Err(bad(format!(
                    "read back {n} bytes that differ from the {} loaded",
                    rows.val(i).len()
                )))
            }
            Err(e) => return Err(bad(e.to_string())),
        }
    }
    Ok(which.len() as u64)
}
