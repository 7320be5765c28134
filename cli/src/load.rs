//! `maph load`: TSV rows (a file, a `.gz` file, or `-` for standard input)
//! into a store.
//!
//! Every row that is not stored is counted and reported, and then the
//! command exits 1 (see `main.rs` for the exit codes): rows too large for a
//! slot, rows with an empty key, non-empty lines without a tab, rows that
//! found the store full (no free slot, or no free heap extent for a row
//! larger than a slot). Blank lines are not rows: they are counted and
//! skipped without failing the load. Any other error (I/O, a damaged
//! store) stops the load at once with exit 2.
//!
//! The first line: `--header` drops it, `--no-header` loads it as a row.
//! With neither flag it is loaded as a row, like every other line, and
//! named in the report, so that a header loaded by mistake is visible.
//!
//! Standard input is streamed, except with `--create`: then it is read
//! whole into memory, to count the rows, size the store, and load them.
//! `--create --slots 0` makes a growing store instead, which needs no count:
//! standard input is streamed then too. A growing store that reaches its
//! limit (`--max-bytes`), or whose file system is full (`Error::NoSpace`,
//! as a heap that cannot grow), refuses further new keys as full (counted,
//! exit 1), like a store of fixed size with no free slot.

use std::path::Path;
use std::process::ExitCode;
use std::rc::Rc;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};
use maph::{Error, OpenMode, Options, Store};

use crate::tsv::{Refused, Row, Tsv};
use crate::Fail;

/// What `maph load` was asked to do.
pub struct LoadArgs<'a> {
    pub path: &'a Path,
    /// The TSV input; `-` is standard input.
    pub input: &'a Path,
    pub create: bool,
    pub load_factor: f64,
    /// `--slots`: the slots to create instead of rows / load factor; 0
    /// makes a growing store.
    pub slots: Option<u64>,
    /// `--max-bytes`: a growing store's limit (0: the file system's size).
    pub max_bytes: u64,
    pub slot_size: u32,
    /// Some(true): `--header`; Some(false): `--no-header`; None: neither.
    pub header: Option<bool>,
    /// Build the MPHF after loading (`Store::optimize`).
    pub optimize: bool,
    /// `msync` the store before exiting.
    pub sync: bool,
}

/// The input, opened once per pass: a file; standard input streamed (one
/// pass); or standard input read whole (`--create` reads it twice: once
/// to count the rows, once to load them).
enum Input<'a> {
    File(&'a Path),
    Stdin,
    StdinRead(Rc<Vec<u8>>),
}

impl Input<'_> {
    fn open(&self, header: bool) -> Result<Tsv, Fail> {
        match self {
            Input::File(p) => Tsv::open(p, header),
            Input::Stdin => Tsv::stdin(header),
            Input::StdinRead(d) => Tsv::from_bytes(Rc::clone(d), header),
        }
    }

    fn name(&self) -> String {
        match self {
            Input::File(p) => p.display().to_string(),
            Input::Stdin | Input::StdinRead(_) => "stdin".to_string(),
        }
    }
}

fn quoted(key: &[u8]) -> String {
    format!("{:?}", String::from_utf8_lossy(key))
}

pub fn load(a: &LoadArgs) -> Result<ExitCode, Fail> {
    if let Some(slots) = a.slots {
        crate::check_max_bytes(a.path, slots, a.max_bytes)?;
    } else if a.max_bytes != 0 {
        return Err(Fail::new(
            a.path,
            "--max-bytes is for a growing store: add --slots 0 (without it the store is sized \
             for the input's rows)",
        ));
    }
    // Only a store sized for the rows needs them counted first.
    let count_first = a.create && a.slots.is_none();
    let input = if a.input == Path::new("-") && !count_first {
        Input::Stdin
    } else if a.input == Path::new("-") {
        let mut data = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin().lock(), &mut data)
            .map_err(|e| Fail::new("stdin", e))?;
        Input::StdinRead(Rc::new(data))
    } else {
        Input::File(a.input)
    };
    let skip_header = a.header == Some(true);
    let store = if let (true, Some(slots)) = (a.create, a.slots) {
        let opts =
            Options { slots, slot_size: a.slot_size, max_bytes: a.max_bytes, ..Options::default() };
        let store = Store::create(a.path, &opts).map_err(|e| Fail::new(a.path, e))?;
        let g = store.geometry();
        if g.grows() {
            out!(
                "created: {} (growing: {} slots of {} bytes at first, up to {} levels and {} \
                 bytes reserved)",
                a.path.display(),
                store.slots_in_use(),
                a.slot_size,
                g.max_levels(),
                g.limit_bytes()
            )?;
        } else {
            out!("created: {} ({slots} slots of {} bytes)", a.path.display(), a.slot_size)?;
        }
        store
    } else if a.create {
        if !(a.load_factor > 0.0 && a.load_factor <= 1.0) {
            return Err(Fail::new(
                a.path,
                format!("--load-factor {} is not in (0, 1]", a.load_factor),
            ));
        }
        let mut t = input.open(skip_header)?;
        let mut rows = 0u64;
        while let Some(row) = t.next_row()? {
            if let Row::Pair { .. } = row {
                rows += 1;
            }
        }
        let opts = Options { slot_size: a.slot_size, ..Options::for_keys(rows, a.load_factor) };
        let store = Store::create(a.path, &opts).map_err(|e| Fail::new(a.path, e))?;
        out!(
            "created: {} ({} slots of {} bytes for {} rows at load factor {})",
            a.path.display(),
            opts.slots,
            a.slot_size,
            rows,
            a.load_factor
        )?;
        store
    } else {
        Store::open(a.path, OpenMode::ReadWrite).map_err(|e| Fail::new(a.path, e))?
    };

    let mut t = input.open(skip_header)?;
    let bar = if t.file_bytes > 0 && std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        let style = ProgressStyle::with_template(
            "{bar:40} {bytes}/{total_bytes} {elapsed} (eta {eta}) {msg}",
        )
        .map_err(|e| Fail::new(a.input, e))?;
        ProgressBar::new(t.file_bytes).with_style(style)
    } else {
        ProgressBar::hidden()
    };
    let (mut loaded, mut no_tab, mut blank) = (0u64, Refused::default(), 0u64);
    let (mut too_large, mut full, mut invalid) =
        (Refused::default(), Refused::default(), Refused::default());
    // Rows refused by a growing store at its limit (`Error::GrowthLimit`),
    // and for want of room on the file system (`Error::NoSpace`).
    let (mut limit, mut no_space) = (Refused::default(), Refused::default());
    // Rows too large for a slot that found no free heap extent.
    let mut heap_full = Refused::default();
    let mut first_row_key: Option<String> = None;
    let start = Instant::now();
    loop {
        let lineno = t.lineno + 1;
        let Some(row) = t.next_row()? else { break };
        if lineno == 1 && a.header.is_none() {
            if let Row::Pair { key, .. } = &row {
                first_row_key = Some(quoted(key));
            }
        }
        match row {
            Row::Pair { key, val } => match store.set(key, val) {
                Ok(()) => loaded += 1,
                Err(Error::TooLarge(_)) => too_large.add(key),
                Err(Error::Full) => full.add(key),
                Err(Error::GrowthLimit { .. }) => limit.add(key),
                Err(Error::NoSpace { .. }) => no_space.add(key),
                Err(Error::HeapFull { .. }) => heap_full.add(key),
                Err(Error::InvalidArg(_)) => invalid.add(key),
                Err(e) => {
                    bar.finish_and_clear();
                    return Err(Fail::new(
                        a.path,
                        format!("{}: line {lineno}: set {}: {e}", input.name(), quoted(key)),
                    ));
                }
            },
            Row::NoTab => no_tab.add(format!("line {lineno}").as_bytes()),
            Row::Blank => blank += 1,
        }
        if lineno % 8192 == 0 {
            bar.set_position(t.bytes_read());
        }
    }
    bar.finish_and_clear();
    let secs = start.elapsed().as_secs_f64();
    out!("loaded: {loaded} rows")?;
    out!("seconds: {secs:.3} s")?;
    out!("rate: {:.0} rows/s", loaded as f64 / secs.max(1e-9))?;
    if let Some(k) = first_row_key {
        out!("first line: loaded as a row, key {k} (pass --header to skip a header line, --no-header to load it without this note)")?;
    }
    if too_large.count > 0 {
        out!(
            "too large: {} (key + value over {} bytes; not stored)",
            too_large.describe(),
            store.slot_capacity()
        )?;
    }
    if invalid.count > 0 {
        out!("empty key: {} (not stored)", invalid.describe())?;
    }
    if no_tab.count > 0 {
        out!("no tab: {} (not rows; not stored)", no_tab.describe())?;
    }
    if blank > 0 {
        out!("blank lines: {blank} (skipped)")?;
    }
    let g = *store.geometry();
    if full.count > 0 && g.grows() {
        out!(
            "FULL: {} (no free slot within the probe distance in its {} levels, the most its \
             limit of {} bytes allows; not stored)",
            full.describe(),
            store.levels(),
            g.limit_bytes()
        )?;
    } else if full.count > 0 {
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
    if a.optimize {
        let t0 = Instant::now();
        let rep = store.optimize().map_err(|e| Fail::new(a.path, format!("optimize: {e}")))?;
        out!(
            "optimized: generation {}, {} keys in the MPHF, {} left to probing, {:.3} s",
            rep.generation,
            rep.keys,
            rep.probing,
            t0.elapsed().as_secs_f64()
        )?;
    }
    if a.sync {
        store.sync().map_err(|e| Fail::new(a.path, format!("sync: {e}")))?;
        out!("synced: {}", a.path.display())?;
    }
    let refused = too_large.count
        + invalid.count
        + no_tab.count
        + full.count
        + limit.count
        + no_space.count
        + heap_full.count;
    if refused > 0 {
        let hint = if no_space.count > 0 {
            "; free space on its file system"
        } else if g.grows() && full.count + limit.count > 0 {
            "; create the growing store with a larger --max-bytes"
        } else if full.count > 0 {
            "; create a bigger store (lower --load-factor, or a growing one: --slots 0)"
        } else if heap_full.count > 0 {
            "; copy it with a larger heap (maph_compact_copy) or use larger slots"
        } else {
            ""
        };
        return Err(Fail::new(
            a.path,
            format!("{refused} lines of {} not stored{hint}", input.name()),
        )
        .code(1));
    }
    Ok(ExitCode::SUCCESS)
}
