//! `maph`: the command-line tool for maph stores.
//!
//! Every failure prints one line, `maph: <file>: <reason>`, on stderr and
//! exits non-zero; the exit codes are [`EXIT_STATUS`] (also in the man
//! page, which clap_mangen generates from these definitions: `maph man`).

/// `println!` that answers a `Fail` instead of panicking when stdout is
/// gone (`maph bench | head`), so that temporary files are still removed.
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::write_line(format_args!($($arg)*))
    };
}

mod bench;
mod cmd;
mod demo;
mod dump;
mod lmdb_text;
mod load;
mod log_dump;
mod man;
mod measure;
mod ops;
mod restore;
mod shm;
mod tsv;

use std::ffi::OsString;
use std::fmt::Display;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};

/// A failure: the file it concerns, why, and the exit status.
#[derive(Debug)]
pub struct Fail {
    pub file: String,
    pub reason: String,
    pub code: u8,
}

impl Fail {
    /// A failure about `file` (exit status 2).
    pub fn new(file: impl AsRef<Path>, reason: impl Display) -> Fail {
        Fail { file: file.as_ref().display().to_string(), reason: reason.to_string(), code: 2 }
    }

    /// The same failure with exit status `code`.
    pub fn code(mut self, code: u8) -> Fail {
        self.code = code;
        self
    }
}

/// Writes one line to stdout (see `out!`).
pub fn write_line(args: std::fmt::Arguments) -> Result<(), Fail> {
    use std::io::Write;
    let mut o = std::io::stdout().lock();
    o.write_fmt(args).and_then(|()| o.write_all(b"\n")).map_err(|e| Fail::new("stdout", e))
}

/// The exit codes of every command (the man page's EXIT STATUS).
pub const EXIT_STATUS: &str = "Exit status:
  0  success.
  1  the answer is no: KEY not found (get, del, ttl, expire, incr with delta 0), `check` \
found violations, `load` or `restore` did not store some lines or rows (too large, empty key, \
no tab, store full; the others are stored), or `dump` skipped damaged records (the others are \
dumped).
  2  any other error: a usage error, a file or store that cannot be opened or is damaged, \
an I/O error, a value `incr` cannot add to; the message on stderr says which.

A shared-memory table NAME (`maph shm`) is the file /dev/shm/NAME for every other command.";

/// Command-line interface of `maph`.
#[derive(Parser)]
#[command(
    name = "maph",
    version,
    about = "maph: a memory-mapped key-value store. Try `maph demo` first.",
    after_help = EXIT_STATUS
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

/// Which standard workload `bench` runs (see ../shared/WORKLOADS.md).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Workload {
    /// Synthetic: key:%08d keys, 100-byte values, 2 slots per key.
    W1,
    /// Real data: PyPI package names at load factor 0.75.
    W2,
    /// W1, then W2.
    Both,
}

#[derive(Subcommand)]
enum Cmd {
    /// Create an empty store file.
    Create {
        /// Path of the new store (must not exist).
        path: PathBuf,
        #[command(flatten)]
        opts: NewStore,
    },
    /// Load TSV rows (key TAB value per line; plain, .gz, or - for stdin)
    /// into a store. Exits 1 when any line was not stored.
    #[command(after_help = "Without --header or --no-header the first line is loaded as a row \
like every other, and named in the report (`first line: loaded as a row, key ...`). \
Blank lines are skipped. Lines that are not stored (too large, empty key, no tab, store full) \
are counted and reported, the rest are stored, and the exit status is 1. \
Standard input (-) may be gzip; it is streamed, except with --create without --slots, which \
reads it whole into memory first (to count the rows before creating the store). \
--create --slots 0 creates a growing store: no count, stdin streamed; past its --max-bytes \
new keys are refused as store full.")]
    Load {
        /// The store.
        path: PathBuf,
        /// TSV input: key, a tab, then the value (the rest of the line).
        /// Read as gzip when the name ends in .gz; `-` is standard input.
        input: PathBuf,
        /// Create the store first, sized for the input's rows (or growing,
        /// with --slots 0).
        #[arg(long)]
        create: bool,
        /// With --create: slots = ceil(rows / load factor).
        #[arg(long, default_value_t = 0.75, requires = "create")]
        load_factor: f64,
        /// With --create: this many slots instead of rows / load factor.
        /// 0 creates a growing store (1,024 slots at first, levels of
        /// doubling size added as rows arrive, up to --max-bytes); the input
        /// is then not counted first, and stdin is streamed.
        #[arg(long, requires = "create", conflicts_with = "load_factor")]
        slots: Option<u64>,
        /// With --create --slots 0: the most bytes the growing store may
        /// reserve on its file system, slots and heap together. SIZE is a
        /// byte count or has a suffix K, M, G, T (powers of 1024; KiB, MiB,
        /// GiB, TiB too). 0: the size of the file system, at most 1 TiB.
        #[arg(long, value_name = "SIZE", requires = "create", value_parser = parse_size)]
        max_bytes: Option<u64>,
        /// With --create: bytes per slot (the library's default, 128: key +
        /// value up to 112 bytes inline, larger rows in the heap).
        #[arg(long, default_value_t = maph::store::format::DEFAULT_SLOT_SIZE, requires = "create")]
        slot_size: u32,
        /// The first line is a header: skip it.
        #[arg(long, conflicts_with = "no_header")]
        header: bool,
        /// The first line is a row: load it.
        #[arg(long)]
        no_header: bool,
        /// Build the minimal perfect hash after loading (as `maph optimize`).
        #[arg(long)]
        optimize: bool,
        /// msync the store to its file before exiting.
        #[arg(long)]
        sync: bool,
    },
    /// Write every record of the store in LMDB's text dump format (what
    /// `mdb_dump` writes and `mdb_load` reads) to stdout or FILE.
    #[command(after_help = "The output is mdb_dump's: a header (VERSION=3, format=bytevalue or \
print, type=btree, mapsize, maxreaders=126, db_pagesize=4096, HEADER=END), then per record a key \
line and a value line, each starting with one space, then DATA=END. `mdb_load -f FILE ENV` loads \
it into LMDB; `maph restore` loads it, or an mdb_dump, into a store. \
Records come in slot order, streamed (one record in memory at a time); mdb_load takes them in any \
order (not with -a), mdb_dump writes them sorted. mapsize is an upper bound of the LMDB map the \
records need, from the store's counters, at least 1 MiB. Keys longer than 511 bytes, which LMDB \
refuses, are dumped and counted in a note on stderr. A dump taken while writers run is not a \
snapshot: keys live throughout are in it once; keys changed meanwhile may or may not be. \
Damaged records are skipped, counted, and the exit status is 1.")]
    Dump {
        /// The store.
        path: PathBuf,
        /// Write to FILE instead of stdout: through a temporary file in
        /// FILE's directory, synced and renamed to FILE once the dump is
        /// whole (a failed dump leaves no FILE).
        #[arg(short = 'o', long = "output", value_name = "FILE")]
        output: Option<PathBuf>,
        /// format=print: printable ASCII as itself (a backslash doubled),
        /// other bytes as a backslash and two hex digits (mdb_dump -p).
        /// Without it, format=bytevalue: every byte as two hex digits.
        #[arg(short = 'p', long = "print")]
        print: bool,
    },
    /// Store every record of a dump in LMDB's text format (from mdb_dump
    /// or `maph dump`; bytevalue or print) with set. Exits 1 when any row
    /// was not stored.
    #[command(after_help = "The input is streamed: one record in memory at a time (keys up to \
65,535 bytes, values up to 1 GiB; a longer line is an error). Header lines other than VERSION=3, \
format=bytevalue|print and type=btree (mapsize, maxreaders, db_pagesize, database, duplicates, \
...) are accepted and ignored; another VERSION, format or type is an error naming its line, as is \
a malformed record line, input after DATA=END (a second database: restore one, mdb_dump -s \
NAME), and the end of the input before DATA=END (a truncated dump: the message says how many \
rows were stored before it). With --create and a file, the file is read twice: once to count the \
rows and size the store (and its heap, for records too large for a slot), once to store them; a \
malformed dump then creates nothing. From stdin, or with --max-bytes, --create makes a growing \
store instead, and nothing is counted. Rows not stored (too large, empty key, store full) are \
counted and reported, the rest are stored, and the exit status is 1. A key that appears twice \
keeps its last value.")]
    Restore {
        /// The store.
        path: PathBuf,
        /// The dump; `-` is standard input.
        #[arg(default_value = "-")]
        input: PathBuf,
        /// Create the store first: sized for the dump's rows (from a file),
        /// or growing (from stdin, or with --max-bytes).
        #[arg(long)]
        create: bool,
        /// With --create from a file: slots = ceil(rows / load factor)
        /// [default: 0.75].
        #[arg(long, requires = "create", conflicts_with = "max_bytes")]
        load_factor: Option<f64>,
        /// With --create: make a growing store (always the case from stdin)
        /// that may reserve at most SIZE bytes on its file system. SIZE is
        /// a byte count or has a suffix K, M, G, T (powers of 1024; KiB,
        /// MiB, GiB, TiB too). 0, and the default from stdin: the size of
        /// the file system, at most 1 TiB.
        #[arg(long, value_name = "SIZE", requires = "create", value_parser = parse_size)]
        max_bytes: Option<u64>,
        /// With --create: bytes per slot (the library's default, 128: key +
        /// value up to 112 bytes inline, larger rows in the heap).
        #[arg(long, default_value_t = maph::store::format::DEFAULT_SLOT_SIZE, requires = "create")]
        slot_size: u32,
    },
    /// Write a consistent copy of a store (which others may keep writing)
    /// to DEST, a new file: every key present for the whole copy is in it.
    #[command(after_help = "As LMDB's mdb_copy. Without --compact every slot keeps its index \
(UIDs stay valid in the copy) and the heap keeps its size with only the live records, packed. \
--compact makes the smallest store of the same slot size for the keys (keys / 0.75 slots plus \
slack for keys written meanwhile; new UIDs), like mdb_copy -c. TTLs are kept. The copy is built \
under a temporary name, synced and linked to DEST, so it is there whole or not at all; DEST must \
not exist.")]
    Copy {
        /// The store to copy (opened read-only).
        path: PathBuf,
        /// The new file.
        dest: PathBuf,
        /// The smallest store for the keys (new UIDs).
        #[arg(long)]
        compact: bool,
        /// Build the copy's minimal perfect hash (as `maph optimize`).
        #[arg(long)]
        optimize: bool,
    },
    /// Print the value of KEY (raw bytes; a newline is added only when
    /// stdout is a terminal).
    Get {
        path: PathBuf,
        #[arg(allow_hyphen_values = true)]
        key: OsString,
    },
    /// Set KEY to VALUE, inserting the key if absent.
    Set {
        path: PathBuf,
        #[arg(allow_hyphen_values = true)]
        key: OsString,
        #[arg(allow_hyphen_values = true)]
        value: OsString,
        /// Time to live in milliseconds (the key expires after it).
        #[arg(long)]
        ttl: Option<u64>,
    },
    /// Delete KEY.
    Del {
        path: PathBuf,
        #[arg(allow_hyphen_values = true)]
        key: OsString,
    },
    /// Print the store's counters, one `name: value` per line (`levels`:
    /// levels in use of a growing store, 1 for a store of fixed size).
    Stats {
        path: PathBuf,
        /// One JSON object instead (adds `mphf_in_use`).
        #[arg(long)]
        json: bool,
    },
    /// Print what is left in a log buffer (NAME in /dev/shm, or a PATH with a '/').
    LogDump { name: OsString },
    /// Check every invariant of the store; exit 1 if any is violated.
    Check { path: PathBuf },
    /// Build the minimal perfect hash over the keys present, so that a
    /// lookup reads one slot. Readers and writers may go on meanwhile.
    Optimize { path: PathBuf },
    /// Repair what writers that died left unfinished; print how many lock
    /// entries were repaired.
    Recover { path: PathBuf },
    /// Print KEY's time to live in milliseconds, or `none` if it never
    /// expires.
    Ttl {
        path: PathBuf,
        #[arg(allow_hyphen_values = true)]
        key: OsString,
    },
    /// Set KEY's time to live to MS milliseconds from now; 0 removes it.
    Expire {
        path: PathBuf,
        #[arg(allow_hyphen_values = true)]
        key: OsString,
        ms: u64,
    },
    /// Add DELTA (default 1) to KEY's value, an 8-byte little-endian signed
    /// integer (an absent key starts at 0), and print the new value.
    Incr {
        path: PathBuf,
        #[arg(allow_hyphen_values = true)]
        key: OsString,
        #[arg(default_value_t = 1, allow_hyphen_values = true)]
        delta: i64,
    },
    /// Tables in POSIX shared memory (/dev/shm/NAME).
    #[command(subcommand)]
    Shm(ShmCmd),
    /// Write the man pages into DIR (used by `make install`).
    #[command(hide = true)]
    Man { dir: PathBuf },
    /// Run the standard workloads W1 and/or W2 and print one
    /// `name: value unit` line per figure.
    Bench {
        /// Which workload.
        #[arg(long, value_enum, default_value_t = Workload::Both)]
        workload: Workload,
        /// W2's data file [default: ../shared/data/pypi-packages.tsv.gz].
        #[arg(long)]
        data: Option<PathBuf>,
        /// W1's key count (slots = 2N, hit GETs = 5N, miss GETs = N).
        /// W2 always loads its whole data file.
        #[arg(long, default_value_t = 1_000_000)]
        keys: u64,
        /// Directory for the store files (deleted at the end).
        #[arg(long, default_value = "/tmp")]
        dir: PathBuf,
    },
    /// Load the shipped PyPI sample, verify it, and measure lookups against
    /// this machine's DRAM latency.
    Demo {
        /// The TSV data [default: the shipped data/pypi-sample.tsv.gz].
        #[arg(long)]
        data: Option<PathBuf>,
        /// Where to put the temporary store [default: $TMPDIR or /tmp].
        #[arg(long)]
        dir: Option<PathBuf>,
    },
}

/// The options of a new store (`create`, `shm create`).
#[derive(Args)]
struct NewStore {
    /// Number of slots; each holds one key. 0 creates a growing store: it
    /// starts with 1,024 slots and adds levels of doubling size as keys
    /// arrive, up to --max-bytes, never moving a key.
    #[arg(long, default_value_t = 65536)]
    slots: u64,
    /// With --slots 0: the most bytes the growing store may reserve on its
    /// file system, slots and heap together; past it an insert fails as
    /// full. SIZE is a byte count or has a suffix K, M, G, T (powers of
    /// 1024; KiB, MiB, GiB, TiB too). 0: the size of the file system (for
    /// `shm create`, of /dev/shm), at most 1 TiB. The store maps about
    /// twice this much address space up front; its file is sparse, `du`
    /// shows what it takes.
    #[arg(long, value_name = "SIZE", default_value = "0", value_parser = parse_size)]
    max_bytes: u64,
    /// Bytes per slot: a power of two from 64 to 65536; key + value up to
    /// slot size - 16 bytes stay in the slot, larger records go to the heap.
    #[arg(long, default_value_t = maph::store::format::DEFAULT_SLOT_SIZE)]
    slot_size: u32,
    /// Maximum probe distance (0: min(1024, slots)).
    #[arg(long, default_value_t = 0)]
    max_probes: u32,
    /// File mode in octal, before the umask.
    #[arg(long, default_value = "600", value_parser = parse_octal)]
    mode: u32,
}

impl NewStore {
    /// The library's options; `file` names the store in a failure.
    fn options(&self, file: impl AsRef<Path>) -> Result<maph::Options, Fail> {
        check_max_bytes(file, self.slots, self.max_bytes)?;
        Ok(maph::Options {
            slots: self.slots,
            slot_size: self.slot_size,
            max_probes: self.max_probes,
            mode: self.mode,
            max_bytes: self.max_bytes,
            ..maph::Options::default()
        })
    }
}

/// `--max-bytes` (other than 0, the default) is for a growing store only:
/// refused here in the flags' words rather than the library's (`InvalidArg`,
/// "max_bytes is for a growing store (slots = 0)").
pub fn check_max_bytes(file: impl AsRef<Path>, slots: u64, max_bytes: u64) -> Result<(), Fail> {
    if max_bytes != 0 && slots != 0 {
        return Err(Fail::new(
            file,
            "--max-bytes is for a growing store (--slots 0); a store of fixed size has no limit to set",
        ));
    }
    Ok(())
}

#[derive(Subcommand)]
enum ShmCmd {
    /// Create the table NAME in /dev/shm (fails if it exists).
    Create {
        name: String,
        #[command(flatten)]
        opts: NewStore,
    },
    /// Open the table NAME (validating it) and print its counters.
    Open {
        name: String,
        /// Open read-write (repairs what dead writers left as it goes).
        #[arg(long)]
        write: bool,
    },
    /// Remove the name NAME; processes that have it open keep using it.
    Unlink { name: String },
    /// List the maph tables in /dev/shm with their counters.
    List,
}

fn parse_octal(s: &str) -> Result<u32, String> {
    match u32::from_str_radix(s, 8) {
        Ok(m) if m <= 0o7777 => Ok(m),
        _ => Err(format!("{s:?} is not an octal file mode (e.g. 644)")),
    }
}

/// A size in bytes: digits, then optionally K, M, G or T (powers of 1024),
/// alone or as KiB, MiB, GiB, TiB, in any case; or B.
fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let digits = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(digits);
    let shift = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kib" => 10,
        "m" | "mib" => 20,
        "g" | "gib" => 30,
        "t" | "tib" => 40,
        _ => return Err(format!("{s:?} is not a size (e.g. 4096, 512K, 64M, 2G, 1T)")),
    };
    let n: u64 =
        num.parse().map_err(|_| format!("{s:?} is not a size (e.g. 4096, 512K, 64M, 2G, 1T)"))?;
    n.checked_mul(1 << shift).ok_or_else(|| format!("{s:?} is too large (at most 2^64 - 1 bytes)"))
}

fn run(cli: Cli) -> Result<ExitCode, Fail> {
    match cli.cmd {
        Cmd::Create { path, opts } => cmd::create(&path, &opts.options(&path)?),
        Cmd::Load {
            path,
            input,
            create,
            load_factor,
            slots,
            max_bytes,
            slot_size,
            header,
            no_header,
            optimize,
            sync,
        } => load::load(&load::LoadArgs {
            path: &path,
            input: &input,
            create,
            load_factor,
            slots,
            max_bytes: max_bytes.unwrap_or(0),
            slot_size,
            header: match (header, no_header) {
                (true, _) => Some(true),
                (_, true) => Some(false),
                _ => None,
            },
            optimize,
            sync,
        }),
        Cmd::Dump { path, output, print } => dump::dump(&path, output.as_deref(), print),
        Cmd::Restore { path, input, create, load_factor, max_bytes, slot_size } => {
            restore::restore(&restore::RestoreArgs {
                path: &path,
                input: &input,
                create,
                load_factor,
                max_bytes,
                slot_size,
            })
        }
        Cmd::Get { path, key } => cmd::get(&path, &key),
        Cmd::Set { path, key, value, ttl: None } => cmd::set(&path, &key, &value),
        Cmd::Set { path, key, value, ttl: Some(ms) } => ops::set_ex(&path, &key, &value, ms),
        Cmd::Del { path, key } => cmd::del(&path, &key),
        Cmd::Stats { path, json: false } => cmd::stats(&path),
        Cmd::Stats { path, json: true } => ops::stats_json(&path),
        Cmd::LogDump { name } => log_dump::run(&name),
        Cmd::Check { path } => cmd::check(&path),
        Cmd::Copy { path, dest, compact, optimize } => ops::copy(&path, &dest, compact, optimize),
        Cmd::Optimize { path } => ops::optimize(&path),
        Cmd::Recover { path } => ops::recover(&path),
        Cmd::Ttl { path, key } => ops::ttl(&path, &key),
        Cmd::Expire { path, key, ms } => ops::expire(&path, &key, ms),
        Cmd::Incr { path, key, delta } => ops::incr(&path, &key, delta),
        Cmd::Shm(ShmCmd::Create { name, opts }) => {
            shm::create(&name, &opts.options(shm::shm_path(&name))?)
        }
        Cmd::Shm(ShmCmd::Open { name, write }) => shm::open(&name, write),
        Cmd::Shm(ShmCmd::Unlink { name }) => shm::unlink(&name),
        Cmd::Shm(ShmCmd::List) => shm::list(),
        Cmd::Man { dir } => man::generate(Cli::command(), &dir),
        Cmd::Bench { workload, data, keys, dir } => bench::run(workload, data, keys, &dir),
        Cmd::Demo { data, dir } => demo::run(data, dir),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(f) => {
            let reason = f.reason.replace(['\n', '\r'], " ");
            eprintln!("maph: {}: {}", f.file, reason);
            ExitCode::from(f.code)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn parse_size_takes_bytes_and_binary_suffixes() {
        assert_eq!(parse_size("0"), Ok(0));
        assert_eq!(parse_size("4096"), Ok(4096));
        assert_eq!(parse_size("12b"), Ok(12));
        assert_eq!(parse_size("512K"), Ok(512 << 10));
        assert_eq!(parse_size("64M"), Ok(64 << 20));
        assert_eq!(parse_size("64mib"), Ok(64 << 20));
        assert_eq!(parse_size("2G"), Ok(2 << 30));
        assert_eq!(parse_size("2 GiB"), Ok(2 << 30));
        assert_eq!(parse_size("1T"), Ok(1 << 40));
        for bad in ["", "M", "1.5G", "-1", "1KB", "1P", "0x10", "16777216T"] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
    }
}
