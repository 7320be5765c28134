//! `maph restore`: the records of a dump in LMDB's text format
//! (`lmdb_text.rs`: what `mdb_dump` and `maph dump` write, in bytevalue or
//! print format) into a store, each with `Store::set`.
//!
//! Input: a file, or `-` (the default) for standard input, always
//! streamed: the reader holds one record, a key of at most 65,535 bytes
//! and a value of at most 1 GiB (maph's limits; a longer line is an error,
//! not an allocation).
//!
//! `--create` makes the store first. From a file it is sized for the
//! dump's records, counted in a first pass over the file
//! (`Options::for_keys` at `--load-factor`, 0.75 by default), with a value
//! heap large enough for the records too large for their slot; a malformed
//! dump is found in that pass, before anything is created. From standard
//! input, which cannot be read twice without holding it, and from a file
//! with `--max-bytes`, it is a growing store (`slots = 0`, up to
//! `--max-bytes`).
//!
//! Rows that are not stored (too large for the store, an empty key, the
//! store full) are counted and reported, the others are stored, and the
//! exit status is 1, as `maph load` does. A malformed line (bad header,
//! bad escape, the end of the input before `DATA=END`) stops the restore
//! with exit status 2, naming the line and how many rows were stored
//! before it. A key that appears twice (`duplicates=1` databases hold
//! several values per key) keeps its last value.

use std::fs::File;
use std::io::{BufRead, BufReader, IsTerminal};
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};
use maph::store::format::SLOT_HEADER_SIZE;
use maph::store::heap::{class_for, class_size, extent_need};
use maph::{Error, OpenMode, Options, Store};

use crate::lmdb_text::Reader;
use crate::tsv::Refused;
use crate::Fail;

/// What `maph restore` was asked to do.
pub struct RestoreArgs<'a> {
    /// The store.
    pub path: &'a Path,
    /// The dump; `-` is standard input.
    pub input: &'a Path,
    /// `--create`: create the store first.
    pub create: bool,
    /// `--load-factor`: None when not given (0.75).
    pub load_factor: Option<f64>,
    /// `--max-bytes`: a growing store's limit (0: the file system's size);
    /// given with a file, it makes the store a growing one.
    pub max_bytes: Option<u64>,
    /// `--slot-size`: bytes per slot of a store created.
    pub slot_size: u32,
}

/// Opens the dump and reads its header.
fn open_input(input: &Path) -> Result<(Reader<Box<dyn BufRead>>, u64), Fail> {
    let (rd, len): (Box<dyn BufRead>, u64) = if input == Path::new("-") {
        (Box::new(BufReader::with_capacity(1 << 18, std::io::stdin())), 0)
    } else {
        let f = File::open(input).map_err(|e| Fail::new(input, e))?;
        let len = f.metadata().map_err(|e| Fail::new(input, e))?.len();
        (Box::new(BufReader::with_capacity(1 << 18, f)), len)
    };
    let r = Reader::new(rd).map_err(|e| Fail::new(input_name(input), e))?;
    Ok((r, len))
}

/// The input as messages name it.
fn input_name(input: &Path) -> String {
    if input == Path::new("-") {
        "stdin".to_string()
    } else {
        input.display().to_string()
    }
}

/// The heap bytes a store of `slots` slots of `slot_size` bytes needs for
/// `need` bytes of extents: the library's default
/// (`max(slots × slot_size / 4, slots × 128, 64 KiB)`), or `need` plus a
/// quarter and 1 MiB when that is more (0 keeps the default).
fn heap_bytes(slots: u64, slot_size: u32, need: u64) -> u64 {
    if need == 0 {
        return 0;
    }
    let default = (slots.saturating_mul(u64::from(slot_size)) / 4)
        .max(slots.saturating_mul(128))
        .max(64 << 10);
    let want = need.saturating_add(need / 4).saturating_add(1 << 20);
    if want > default {
        want
    } else {
        0
    }
}

/// Creates the store `--create` asks for, saying what it made.
fn create(a: &RestoreArgs) -> Result<Store, Fail> {
    let stdin = a.input == Path::new("-");
    if stdin || a.max_bytes.is_some() {
        let opts = Options {
            slots: 0,
            slot_size: a.slot_size,
            max_bytes: a.max_bytes.unwrap_or(0),
            ..Options::default()
        };
        let store = Store::create(a.path, &opts).map_err(|e| Fail::new(a.path, e))?;
        let g = store.geometry();
        out!(
            "created: {} (growing: {} slots of {} bytes at first, up to {} levels and {} bytes \
             reserved)",
            a.path.display(),
            store.slots_in_use(),
            a.slot_size,
            g.max_levels(),
            g.limit_bytes()
        )?;
        return Ok(store);
    }
    let load_factor = a.load_factor.unwrap_or(0.75);
    if !(load_factor > 0.0 && load_factor <= 1.0) {
        return Err(Fail::new(a.path, format!("--load-factor {load_factor} is not in (0, 1]")));
    }
    // First pass: count the records and the heap their large ones need.
    let (mut r, _) = open_input(a.input)?;
    let cap = (a.slot_size as usize).saturating_sub(SLOT_HEADER_SIZE);
    let (mut rows, mut need) = (0u64, 0u64);
    while let Some((k, v)) = r.next_record().map_err(|e| Fail::new(input_name(a.input), e))? {
        rows += 1;
        if k.len() + v.len() > cap {
            let n = extent_need(k.len(), v.len());
            need = need.saturating_add(class_for(n).map_or(n, class_size));
        }
    }
    let sized = Options::for_keys(rows, load_factor);
    let opts = Options {
        slot_size: a.slot_size,
        heap_bytes: heap_bytes(sized.slots, a.slot_size, need),
        ..sized
    };
    let store = Store::create(a.path, &opts).map_err(|e| Fail::new(a.path, e))?;
    out!(
        "created: {} ({} slots of {} bytes for {} rows at load factor {}{})",
        a.path.display(),
        opts.slots,
        a.slot_size,
        rows,
        load_factor,
        if opts.heap_bytes > 0 {
            format!(", a heap of {} bytes for the {need} bytes of large records", opts.heap_bytes)
        } else {
            String::new()
        }
    )?;
    Ok(store)
}

/// `maph restore PATH [INPUT] [--create ...]`.
pub fn restore(a: &RestoreArgs) -> Result<ExitCode, Fail> {
    if a.input == Path::new("-") && a.load_factor.is_some() {
        return Err(Fail::new(
            a.path,
            "--load-factor sizes the store for a file's rows, counted first; from standard input \
             the store created grows instead (--max-bytes)",
        ));
    }
    let name = input_name(a.input);
    // A missing or malformed input fails before a store is created.
    let (mut r, file_bytes) = open_input(a.input)?;
    let store = if a.create {
        create(a)?
    } else {
        Store::open(a.path, OpenMode::ReadWrite).map_err(|e| Fail::new(a.path, e))?
    };

    let bar = if !std::io::stderr().is_terminal() {
        ProgressBar::hidden()
    } else if file_bytes > 0 {
        let style = ProgressStyle::with_template(
            "{bar:40} {bytes}/{total_bytes} {elapsed} (eta {eta}) {msg}",
        )
        .map_err(|e| Fail::new(a.input, e))?;
        ProgressBar::new(file_bytes).with_style(style)
    } else {
        let style = ProgressStyle::with_template("{spinner} {bytes} read {elapsed}")
            .map_err(|e| Fail::new(a.input, e))?;
        ProgressBar::new_spinner().with_style(style)
    };
    let (mut stored, mut too_large, mut invalid) = (0u64, Refused::default(), Refused::default());
    let (mut full, mut limit, mut no_space) =
        (Refused::default(), Refused::default(), Refused::default());
    // Rows too large for a slot for which the heap has no free extent now.
    let mut heap_full = Refused::default();
    let start = Instant::now();
    let mut rows = 0u64;
    loop {
        let rec = match r.next_record() {
            Ok(Some(rec)) => rec,
            Ok(None) => break,
            Err(e) => {
                bar.finish_and_clear();
                let refused = rows - stored;
                return Err(Fail::new(
                    &name,
                    format!(
                        "{e}; {stored} rows were stored in {} before it{}",
                        a.path.display(),
                        if refused > 0 { format!(" ({refused} refused)") } else { String::new() }
                    ),
                ));
            }
        };
        let (key, val) = rec;
        rows += 1;
        match store.set(key, val) {
            Ok(()) => stored += 1,
            Err(Error::TooLarge(_)) => too_large.add(key),
            Err(Error::Full) => full.add(key),
            Err(Error::HeapFull { .. }) => heap_full.add(key),
            Err(Error::GrowthLimit { .. }) => limit.add(key),
            Err(Error::NoSpace { .. }) => no_space.add(key),
            Err(Error::InvalidArg(_)) => invalid.add(key),
            Err(e) => {
                bar.finish_and_clear();
                let key = format!("{:?}", String::from_utf8_lossy(key));
                return Err(Fail::new(
                    a.path,
                    format!("{name}: line {}: set {key}: {e}", r.lineno()),
                ));
            }
        }
        if rows.is_multiple_of(8192) {
            bar.set_position(r.bytes_read());
        }
    }
    bar.finish_and_clear();
    let secs = start.elapsed().as_secs_f64();
    out!("restored: {stored} rows")?;
    out!("seconds: {secs:.3} s")?;
    out!("rate: {:.0} rows/s", stored as f64 / secs.max(1e-9))?;
    if r.duplicates() {
        out!(
            "duplicates: the dump's database holds several values per key; each key keeps the last"
        )?;
    }
    if too_large.count > 0 {
        out!(
            "too large: {} (key + value over {} bytes in a slot and larger than the heap; not \
             stored)",
            too_large.describe(),
            store.slot_capacity()
        )?;
    }
    if invalid.count > 0 {
        out!("empty key: {} (not stored)", invalid.describe())?;
    }
    let g = *store.geometry();
    if full.count > 0 {
        out!("FULL: {} (no free slot within the probe distance; not stored)", full.describe())?;
    }
    if heap_full.count > 0 {
        out!(
            "FULL: {} (larger than a slot, and the heap has no free extent for them; not stored)",
            heap_full.describe()
        )?;
    }
    if limit.count > 0 {
        out!(
            "FULL: {} (growing further would pass the store's limit of {} bytes; not stored)",
            limit.describe(),
            g.limit_bytes()
        )?;
    }
    if no_space.count > 0 {
        out!("FULL: {} (its file system has no room left; not stored)", no_space.describe())?;
    }
    if g.grows() {
        out!(
            "levels: {} of at most {} ({} slots)",
            store.levels(),
            g.max_levels(),
            store.slots_in_use()
        )?;
    }
    let refused = too_large.count
        + invalid.count
        + full.count
        + heap_full.count
        + limit.count
        + no_space.count;
    if refused > 0 {
        let hint = if no_space.count > 0 {
            "; free space on its file system"
        } else if g.grows() && full.count + limit.count > 0 {
            "; restore into a growing store with a larger --max-bytes"
        } else if full.count + heap_full.count + too_large.count > 0 {
            "; restore with --create into a new store, sized for the dump"
        } else {
            ""
        };
        return Err(Fail::new(a.path, format!("{refused} rows of {name} not stored{hint}")).code(1));
    }
    Ok(ExitCode::SUCCESS)
}
