//! Where a log's buffer lives, and the two system values a record carries
//! that no other part of maph needs.
//!
//! Shared with the store and the queue sets (`crate::sys`): `/dev/shm`
//! objects and memfds (`sys::shm`), reserving the space (`sys::space`),
//! pids and liveness (`sys::pid`), the futex (`sys::futex`). Kept here,
//! because nothing else has them:
//! - a log may also be a plain file (a name with a `/`), so that it
//!   outlives every process and `maph log-dump` can read it later; stores
//!   open their own files and queue sets have none, so `sys::shm` has no
//!   file-path equivalent;
//! - the record clock in nanoseconds (`store::expiry` keeps milliseconds,
//!   a record needs finer order for humans reading the stream);
//! - the thread id (`gettid`) a record names.

use std::cell::Cell;
use std::fs::File;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use crate::error::Error;
use crate::sys::pid::current_pid;
use crate::sys::shm;

/// Longest `/dev/shm` name in bytes (as for queue sets and stores).
pub const SHM_NAME_MAX: usize = 250;

/// Where a named log lives: a name with a `/` is a file path; any other
/// name is the `/dev/shm` object of that name.
pub enum Place<'a> {
    /// A file at this path.
    File(&'a Path),
    /// The object `/dev/shm/<name>` (the name passed `shm::check_name`).
    Shm(&'a [u8]),
}

/// Decides where `name` lives. Errors: `InvalidArg` (empty, NUL, a
/// `/dev/shm` name too long or `.`/`..`).
pub fn place(name: &[u8]) -> Result<Place<'_>, Error> {
    if name.is_empty() {
        return Err(Error::InvalidArg("log name is empty"));
    }
    if name.contains(&0) {
        return Err(Error::InvalidArg("log name contains a NUL byte"));
    }
    if name.contains(&b'/') {
        return Ok(Place::File(Path::new(std::ffi::OsStr::from_bytes(name))));
    }
    shm::check_name(name, SHM_NAME_MAX)?;
    Ok(Place::Shm(name))
}

/// A missing directory of a file path is `NotFound`, a taken name
/// `Exists`, anything else `Io`.
fn file_err(e: &std::io::Error, what: &'static str) -> Error {
    match e.raw_os_error() {
        Some(libc::ENOENT) => Error::NotFound,
        _ => Error::from_io(e, what),
    }
}

/// Creates the object for `place` exclusively (mode 0600). Errors:
/// `Exists`, `NotFound` (a directory of the path is missing), `Io`.
pub fn create(place: &Place) -> Result<File, Error> {
    match place {
        Place::File(p) => std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_CLOEXEC)
            .open(p)
            .map_err(|e| file_err(&e, "creating the log file")),
        Place::Shm(n) => shm::create(n),
    }
}

/// Opens the existing object for `place` read-write. Errors: `NotFound`,
/// `Io`.
pub fn open(place: &Place) -> Result<File, Error> {
    match place {
        Place::File(p) => std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_CLOEXEC)
            .open(p)
            .map_err(|e| file_err(&e, "opening the log file")),
        Place::Shm(n) => shm::open(n, true),
    }
}

/// Removes the name of the object for `place`. Errors: `NotFound`, `Io`.
pub fn unlink(place: &Place) -> Result<(), Error> {
    match place {
        Place::File(p) => {
            std::fs::remove_file(p).map_err(|e| file_err(&e, "removing the log file"))
        }
        Place::Shm(n) => shm::unlink(n),
    }
}

/// Wall-clock time in nanoseconds since the Unix epoch
/// (`clock_gettime(CLOCK_REALTIME)`, a vDSO call: no system call).
#[inline]
pub fn now_ns() -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid out-parameter on this frame.
    unsafe { libc::clock_gettime(libc::CLOCK_REALTIME, &mut ts) };
    (ts.tv_sec as u64).wrapping_mul(1_000_000_000).wrapping_add(ts.tv_nsec as u64)
}

thread_local! {
    /// (pid, tid) of this thread as last read: a fork makes the pid differ,
    /// and the tid is read again.
    static TID: Cell<(u32, u32)> = const { Cell::new((0, 0)) };
}

/// The calling thread's kernel thread id (`gettid`), cached per thread
/// (and read again in a forked child).
#[inline]
pub fn tid() -> u32 {
    let p = current_pid();
    TID.try_with(|c| {
        let (cp, t) = c.get();
        if cp == p {
            return t;
        }
        // SAFETY: gettid has no preconditions.
        let t = unsafe { libc::gettid() } as u32;
        c.set((p, t));
        t
    })
    // SAFETY: as above (thread-local storage already torn down).
    .unwrap_or_else(|_| unsafe { libc::gettid() } as u32)
}
