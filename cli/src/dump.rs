//! `maph dump`: every live record of a store in LMDB's text dump format
//! (`lmdb_text.rs`: what `mdb_dump` writes and `mdb_load` reads), to
//! standard output or, with `-o FILE`, to a temporary file beside FILE that
//! is synced and renamed to FILE only once the dump is whole: a dump that
//! fails half-way leaves no FILE (and an older FILE untouched).
//!
//! Order and memory: records come in slot order, as the store's cursor
//! finds them (`maph::store::cursor`), and are written as they come: one
//! record in memory at a time, whatever the store's size. LMDB's
//! `mdb_load` (without `-a`) puts each record with a plain `mdb_cursor_put`,
//! which takes keys in any order, so nothing is sorted; `mdb_dump`, which
//! walks a B-tree, writes keys sorted, so compare a maph dump with an LMDB
//! one as sorted record sets. (`mdb_load -a` appends and wants keys in
//! order: do not use it on a maph dump.)
//!
//! A dump taken while writers run is not a snapshot: a key live for the
//! whole dump is in it once, with a value written whole; keys added,
//! deleted or overwritten meanwhile may or may not be (the cursor's
//! promise). Expired keys are left out.
//!
//! The header's `mapsize` is what `mdb_load` sizes the LMDB environment's
//! map with, so it must hold the records: it is an upper bound made from
//! the store's counters when the dump starts ([`mapsize`]), at least
//! LMDB's default of 1 MiB. LMDB's maps are address space, not disk: a
//! generous one costs nothing on a 64-bit machine.
//!
//! LMDB refuses keys longer than 511 bytes (its default `MDB_MAXKEYSIZE`);
//! maph's go to 65,535. They are dumped, and counted in a note on stderr.
//!
//! Exit status: 0; 1 when damaged records were skipped (counted and
//! reported; the dump holds the rest, `maph check` tells what is wrong);
//! 2 for any other error, with no FILE written.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use indicatif::{ProgressBar, ProgressStyle};
use maph::{Error, OpenMode, Store};

use crate::lmdb_text::{Format, Writer};
use crate::Fail;

/// LMDB's default largest key (`mdb_env_get_maxkeysize` with 4 KiB pages).
const LMDB_MAX_KEY: usize = 511;

/// LMDB's default map size, used when the records need less.
const LMDB_DEFAULT_MAPSIZE: u64 = 1 << 20;

/// Times in a row a slot may answer `Busy` before the dump gives up.
const BUSY_RETRIES: u32 = 3;

/// A bound on the bytes of an LMDB map holding `keys` records of `bytes`
/// key and value bytes in all, rounded up to a MiB, at least 1 MiB. An
/// LMDB record takes its bytes plus an 8-byte node header and a 2-byte
/// pointer in a leaf page that is at worst about a third full after
/// splits, or, when larger than about half a page, an overflow run of
/// 4 KiB pages (under twice its bytes) plus a leaf node for the key; branch
/// pages, the free list and the meta pages add a few percent. Four times
/// (bytes + 64 per record) covers all of it.
pub fn mapsize_for(keys: u64, bytes: u64) -> u64 {
    let need = keys.saturating_mul(64).saturating_add(bytes).saturating_mul(4);
    need.div_ceil(1 << 20).saturating_mul(1 << 20).max(LMDB_DEFAULT_MAPSIZE)
}

/// [`mapsize_for`] the store's records as its counters bound them: each
/// live key's record fits its slot (`slot_capacity` bytes) or a heap
/// extent (the heap's used bytes count every extent whole).
pub fn mapsize(store: &Store) -> u64 {
    let st = store.stats();
    let bytes =
        st.keys.saturating_mul(u64::from(st.slot_capacity)).saturating_add(store.heap_stats().used);
    mapsize_for(st.keys, bytes)
}

/// The dump's destination: standard output, or a temporary file renamed
/// to its final name by [`Output::commit`] (removed if never committed).
enum Output {
    /// Standard output.
    Stdout,
    /// `-o FILE`.
    File {
        /// The temporary file written.
        tmp: PathBuf,
        /// FILE, its name once whole.
        dest: PathBuf,
        /// Renamed: nothing to remove.
        committed: bool,
    },
}

impl Output {
    /// Creates the temporary file for `dest`, in `dest`'s directory (so
    /// that the rename is atomic), named `.NAME.PID.maph-dump-tmp`.
    fn file(dest: &Path) -> Result<(Output, File), Fail> {
        let name = dest
            .file_name()
            .ok_or_else(|| Fail::new(dest, "not a file name"))?
            .to_string_lossy()
            .into_owned();
        let dir = match dest.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let tmp = dir.join(format!(".{name}.{}.maph-dump-tmp", std::process::id()));
        let f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
            .map_err(|e| Fail::new(&tmp, format!("create temporary file: {e}")))?;
        Ok((Output::File { tmp, dest: dest.to_path_buf(), committed: false }, f))
    }

    /// The name failures of writing name.
    fn name(&self) -> PathBuf {
        match self {
            Output::Stdout => PathBuf::from("stdout"),
            Output::File { dest, .. } => dest.clone(),
        }
    }

    /// Syncs the finished temporary file and renames it into place.
    fn commit(&mut self, f: File) -> Result<(), Fail> {
        if let Output::File { tmp, dest, committed } = self {
            f.sync_all().map_err(|e| Fail::new(&*tmp, format!("sync: {e}")))?;
            drop(f);
            std::fs::rename(&*tmp, &*dest)
                .map_err(|e| Fail::new(&*dest, format!("rename {}: {e}", tmp.display())))?;
            *committed = true;
            // The rename itself is durable once the directory is synced.
            if let Some(dir) = dest.parent().filter(|p| !p.as_os_str().is_empty()) {
                if let Ok(d) = File::open(dir) {
                    let _ = d.sync_all();
                }
            }
        }
        Ok(())
    }
}

impl Drop for Output {
    fn drop(&mut self) {
        if let Output::File { tmp, committed: false, .. } = self {
            let _ = std::fs::remove_file(tmp);
        }
    }
}

/// What a dump wrote.
#[derive(Default)]
struct Counts {
    records: u64,
    /// Key and value bytes.
    bytes: u64,
    /// Keys longer than LMDB takes.
    long_keys: u64,
    /// Damaged slots skipped (`Error::Corrupt`).
    damaged: u64,
    /// The first damage's message.
    first_damage: Option<String>,
}

/// Writes every record of `store` through `w`, ticking `bar`.
fn write_records<W: Write>(
    store: &Store, path: &Path, w: &mut Writer<W>, out_name: &Path, bar: &ProgressBar,
) -> Result<Counts, Fail> {
    let mut c = Counts::default();
    let mut busy = 0;
    // An `Err(Busy)` item leaves the iterator on its slot: the next item
    // retries it.
    for item in store.iter() {
        let (key, val) = match item {
            Ok(kv) => {
                busy = 0;
                kv
            }
            Err(Error::Corrupt(e)) => {
                c.damaged += 1;
                c.first_damage.get_or_insert_with(|| e.to_string());
                continue;
            }
            Err(e @ Error::Busy) if busy + 1 >= BUSY_RETRIES => {
                return Err(Fail::new(
                    path,
                    format!(
                        "{e} (a slot stayed locked {BUSY_RETRIES} times in a row: a writer died \
                         in it? `maph recover` repairs it)"
                    ),
                ))
            }
            Err(Error::Busy) => {
                busy += 1;
                continue;
            }
            Err(e) => return Err(Fail::new(path, format!("read: {e}"))),
        };
        w.record(&key, &val).map_err(|e| Fail::new(out_name, e))?;
        c.records += 1;
        c.bytes += (key.len() + val.len()) as u64;
        if key.len() > LMDB_MAX_KEY {
            c.long_keys += 1;
        }
        if c.records.is_multiple_of(4096) {
            bar.set_position(c.records);
        }
    }
    Ok(c)
}

/// `maph dump PATH [-o FILE] [-p]`.
pub fn dump(path: &Path, output: Option<&Path>, print: bool) -> Result<ExitCode, Fail> {
    let store = Store::open(path, OpenMode::ReadOnly).map_err(|e| Fail::new(path, e))?;
    let format = if print { Format::Print } else { Format::Bytevalue };
    let mapsize = mapsize(&store);
    // Opened after the store, so that a store that cannot be opened
    // leaves no temporary file behind.
    let (mut out, file) = match output {
        Some(dest) => {
            let (o, f) = Output::file(dest)?;
            (o, Some(f))
        }
        None => (Output::Stdout, None),
    };
    let out_name = out.name();
    let to_terminal = output.is_none() && std::io::stdout().is_terminal();
    let bar = if std::io::stderr().is_terminal() && !to_terminal {
        let style = ProgressStyle::with_template(
            "{bar:40} {pos}/{len} records {elapsed} (eta {eta}) {msg}",
        )
        .map_err(|e| Fail::new(path, e))?;
        ProgressBar::new(store.stats().keys).with_style(style)
    } else {
        ProgressBar::hidden()
    };
    let counts = match file {
        Some(f) => {
            let mut w = Writer::new(BufWriter::with_capacity(1 << 18, f), format, mapsize)
                .map_err(|e| Fail::new(&out_name, e))?;
            let counts = write_records(&store, path, &mut w, &out_name, &bar);
            bar.finish_and_clear();
            let counts = counts?;
            let f = w
                .finish()
                .and_then(|b| b.into_inner().map_err(|e| e.into_error()))
                .map_err(|e| Fail::new(&out_name, e))?;
            out.commit(f)?;
            counts
        }
        None => {
            let stdout = std::io::stdout().lock();
            let mut w = Writer::new(BufWriter::with_capacity(1 << 18, stdout), format, mapsize)
                .map_err(|e| Fail::new(&out_name, e))?;
            let counts = write_records(&store, path, &mut w, &out_name, &bar);
            bar.finish_and_clear();
            let counts = counts?;
            w.finish().map_err(|e| Fail::new(&out_name, e))?;
            counts
        }
    };
    if let Some(dest) = output {
        out!(
            "dumped: {} records ({} bytes of keys and values) to {}",
            counts.records,
            counts.bytes,
            dest.display()
        )?;
    }
    // Notes go to stderr: stdout may be the dump itself.
    if counts.long_keys > 0 {
        eprintln!(
            "maph: {}: note: {} keys are longer than {LMDB_MAX_KEY} bytes, LMDB's default \
             limit: mdb_load refuses them (MDB_BAD_VALSIZE)",
            path.display(),
            counts.long_keys
        );
    }
    if mapsize_for(counts.records, counts.bytes) > mapsize {
        eprintln!(
            "maph: {}: note: the store grew during the dump past what mapsize={mapsize} holds: \
             raise it to {} in the dump's header before mdb_load",
            path.display(),
            mapsize_for(counts.records, counts.bytes)
        );
    }
    if counts.damaged > 0 {
        return Err(Fail::new(
            path,
            format!(
                "{} damaged records skipped (first: {}); the dump holds the other {} \
                 (`maph check` lists what is wrong)",
                counts.damaged,
                counts.first_damage.unwrap_or_default(),
                counts.records
            ),
        )
        .code(1));
    }
    Ok(ExitCode::SUCCESS)
}
