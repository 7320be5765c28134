//! Errors of the Rust API, and their one-to-one mapping to C status codes.

use std::fmt;

/// Every way a maph operation can fail. Each variant maps to one C status
/// (`maph_status`, see `ffi.rs`); the message says why, in a few words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// The key is not in the store (C: `MAPH_NOT_FOUND`).
    NotFound,
    /// An argument is out of range or missing (C: `MAPH_E_INVALID_ARG`).
    InvalidArg(&'static str),
    /// A system call failed; carries the errno and what was being done
    /// (C: `MAPH_E_IO`).
    Io(i32, &'static str),
    /// The file is not a maph store or is damaged (C: `MAPH_E_CORRUPT`).
    Corrupt(&'static str),
    /// The store uses a format version or hash function this library does
    /// not read (C: `MAPH_E_VERSION`).
    Version(&'static str),
    /// No free slot within the maximum probe distance (C: `MAPH_E_FULL`).
    Full,
    /// The store's value heap has no free extent of `need` bytes for a
    /// record too large for its slot (C: `MAPH_E_FULL`). Size
    /// `Options::heap_bytes` larger, or write a compacting copy
    /// (`Store::compact_to`) to get fragmented space back.
    HeapFull {
        /// Bytes of the extent asked for (header, key and value).
        need: u64,
    },
    /// A growing store would pass the byte limit it was created with
    /// (`Options::max_bytes`) by adding its next level (C: `MAPH_E_FULL`).
    GrowthLimit {
        /// The store's limit in bytes.
        limit: u64,
    },
    /// The file system (or, for anonymous memory, memory) cannot reserve
    /// the object's space at creation: `bytes` is what was asked for,
    /// `errno` the system's reason (`ENOSPC`, `ENOMEM`, `EFBIG`), `what` the
    /// object (C: `MAPH_E_FULL`).
    NoSpace {
        /// Bytes the object needs.
        bytes: u64,
        /// The errno `posix_fallocate` returned.
        errno: i32,
        /// What was being created ("the store", "the queue set").
        what: &'static str,
    },
    /// A key over 65,535 bytes, a value over 1 GiB, a record larger than
    /// the store's whole heap, or a store that does not fit memory
    /// (C: `MAPH_E_TOO_LARGE`).
    TooLarge(&'static str),
    /// The caller's buffer is too small; carries the size needed in bytes
    /// (C: `MAPH_E_BUFFER_TOO_SMALL`).
    BufferTooSmall(usize),
    /// A write on a handle opened read-only (C: `MAPH_E_READ_ONLY`).
    ReadOnly,
    /// A slot or lock stayed taken for longer than the wait limit
    /// (C: `MAPH_E_BUSY`).
    Busy,
    /// The path already exists (C: `MAPH_E_EXISTS`).
    Exists,
    /// A log line was dropped because the log's buffer was full; the drop
    /// is counted. An expected outcome, like `Empty`: it leaves no last
    /// error message (C: `MAPH_E_FULL`).
    Dropped,
    /// Nothing to take: the queue is empty (C: `MAPH_E_EMPTY`).
    Empty,
    /// A wait with a timeout ended before the condition held
    /// (C: `MAPH_E_TIMEOUT`).
    Timeout,
    /// The operation conflicts with the current state: an element already
    /// in a queue, a compare-and-swap whose expected value differs
    /// (C: `MAPH_E_CONFLICT`).
    Conflict(&'static str),
    /// `incr` on a value that is not exactly 8 bytes (C: `MAPH_E_NOT_INTEGER`).
    NotInteger,
    /// `incr` would leave the signed 64-bit range (C: `MAPH_E_OVERFLOW`).
    Overflow,
}

impl Error {
    /// Builds an `Io` error from the calling thread's errno.
    pub(crate) fn last_os(what: &'static str) -> Error {
        Error::Io(std::io::Error::last_os_error().raw_os_error().unwrap_or(0), what)
    }

    pub(crate) fn from_io(e: &std::io::Error, what: &'static str) -> Error {
        match e.kind() {
            std::io::ErrorKind::AlreadyExists => Error::Exists,
            _ => Error::Io(e.raw_os_error().unwrap_or(0), what),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::NotFound => write!(f, "key not found"),
            Error::InvalidArg(m) => write!(f, "invalid argument: {m}"),
            Error::Io(errno, what) => {
                write!(f, "I/O error while {what}: {}", std::io::Error::from_raw_os_error(*errno))
            }
            Error::Corrupt(m) => write!(f, "corrupt store: {m}"),
            Error::Version(m) => write!(f, "unsupported store: {m}"),
            Error::Full => write!(f, "store full: no free slot within the maximum probe distance"),
            Error::HeapFull { need } => write!(
                f,
                "heap full: no free extent of {need} bytes for a record larger than its slot \
                 (create the store with a larger heap, or write a compacting copy)"
            ),
            Error::GrowthLimit { limit } => write!(
                f,
                "store full: growing further would pass its limit of {limit} bytes \
                 (create it with a larger max_bytes)"
            ),
            Error::NoSpace { bytes, errno, what } => write!(
                f,
                "no space: cannot reserve {bytes} bytes for {what} on its file system: {}",
                std::io::Error::from_raw_os_error(*errno)
            ),
            Error::TooLarge(m) => write!(f, "too large: {m}"),
            Error::BufferTooSmall(n) => write!(f, "buffer too small: {n} bytes needed"),
            Error::ReadOnly => write!(f, "store is open read-only"),
            Error::Busy => write!(f, "slot or lock busy for longer than the wait limit"),
            Error::Exists => write!(f, "already exists"),
            Error::Dropped => write!(f, "log buffer full: line dropped"),
            Error::Empty => write!(f, "empty"),
            Error::Timeout => write!(f, "timed out"),
            Error::Conflict(m) => write!(f, "conflict: {m}"),
            Error::NotInteger => write!(f, "value is not an 8-byte integer"),
            Error::Overflow => write!(f, "integer overflow"),
        }
    }
}

impl std::error::Error for Error {}

/// Result of a maph operation.
pub type Result<T> = std::result::Result<T, Error>;
