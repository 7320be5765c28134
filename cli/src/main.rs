//! `maph`: the command-line tool for maph stores.
//!
//! Every failure prints one line, `maph: <file>: <reason>`, on stderr and
//! exits non-zero: 1 for "not found" (get, del), for a failed `check` and
//! for rows a `load` could not store because the store was full; 2 for any
//! other error. Usage errors are clap's (exit 2).

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
mod log_dump;
mod measure;
mod tsv;

use std::ffi::OsString;
use std::fmt::Display;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

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
        Fail {
            file: file.as_ref().display().to_string(),
            reason: reason.to_string(),
            code: 2,
        }
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
    o.write_fmt(args)
        .and_then(|()| o.write_all(b"\n"))
        .map_err(|e| Fail::new("stdout", e))
}

/// Command-line interface of `maph`.
#[derive(Parser)]
#[command(
    name = "maph",
    version,
    about = "maph: a memory-mapped key-value store. Try `maph demo` first.",
    after_help = "Exit status: 0 success; 1 key not found, check found violations, or load rows \
                  refused because the store was full; 2 any other error."
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
        /// Number of slots; each holds one key.
        #[arg(long, default_value_t = 65536)]
        slots: u64,
        /// Bytes per slot: a power of two from 64 to 65536; key + value may
        /// take slot size - 32 bytes.
        #[arg(long, default_value_t = 512)]
        slot_size: u32,
        /// Maximum probe distance (0: min(1024, slots)).
        #[arg(long, default_value_t = 0)]
        max_probes: u32,
        /// File mode in octal, before the umask.
        #[arg(long, default_value = "600", value_parser = parse_octal)]
        mode: u32,
    },
    /// Load a TSV file (key TAB value per line; plain or .gz) into a store.
    Load {
        /// The store.
        path: PathBuf,
        /// TSV input: key, a tab, then the value (the rest of the line).
        /// Read as gzip when the name ends in .gz.
        input: PathBuf,
        /// Create the store first, sized for the input's rows.
        #[arg(long)]
        create: bool,
        /// With --create: slots = ceil(rows / load factor).
        #[arg(long, default_value_t = 0.75, requires = "create")]
        load_factor: f64,
        /// With --create: bytes per slot.
        #[arg(long, default_value_t = 512, requires = "create")]
        slot_size: u32,
        /// The first line is a row, not a header.
        #[arg(long)]
        no_header: bool,
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
    },
    /// Delete KEY.
    Del {
        path: PathBuf,
        #[arg(allow_hyphen_values = true)]
        key: OsString,
    },
    /// Print the store's counters, one `name: value` per line.
    Stats { path: PathBuf },
    /// Print what is left in a log buffer (NAME in /dev/shm, or a PATH with a '/').
    LogDump { name: OsString },
    /// Check every invariant of the store; exit 1 if any is violated.
    Check { path: PathBuf },
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

fn parse_octal(s: &str) -> Result<u32, String> {
    match u32::from_str_radix(s, 8) {
        Ok(m) if m <= 0o7777 => Ok(m),
        _ => Err(format!("{s:?} is not an octal file mode (e.g. 644)")),
    }
}

fn run(cli: Cli) -> Result<ExitCode, Fail> {
    match cli.cmd {
        Cmd::Create {
            path,
            slots,
            slot_size,
            max_probes,
            mode,
        } => cmd::create(&path, slots, slot_size, max_probes, mode),
        Cmd::Load {
            path,
            input,
            create,
            load_factor,
            slot_size,
            no_header,
        } => cmd::load(&cmd::LoadArgs {
            path: &path,
            input: &input,
            create,
            load_factor,
            slot_size,
            header: !no_header,
        }),
        Cmd::Get { path, key } => cmd::get(&path, &key),
        Cmd::Set { path, key, value } => cmd::set(&path, &key, &value),
        Cmd::Del { path, key } => cmd::del(&path, &key),
        Cmd::Stats { path } => cmd::stats(&path),
        Cmd::LogDump { name } => log_dump::run(&name),
        Cmd::Check { path } => cmd::check(&path),
        Cmd::Bench {
            workload,
            data,
            keys,
            dir,
        } => bench::run(workload, data, keys, &dir),
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
