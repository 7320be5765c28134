//! The system calls the log makes: where its buffer lives (a file, a
//! `/dev/shm` object, a memfd), the futex, the clock, pid/tid, liveness.
//!
//! Kept inside `log/` (rather than shared with `lock.rs` and
//! `queue/region.rs`) so the log depends on no private item of another
//! module; the liveness rule is the same as theirs.

use std::cell::Cell;
use std::ffi::CString;
use std::fs::File;
use std::os::fd::{AsRawFd, FromRawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Once;
use std::time::Duration;

use crate::error::Error;

/// Longest `/dev/shm` name in bytes (as for queue sets and stores).
pub const SHM_NAME_MAX: usize = 250;

/// Where a named log lives: a name with a `/` is a file path; any other
/// name is the `/dev/shm` object of that name.
pub enum Place<'a> {
    File(&'a Path),
    Shm(&'a [u8]),
}

/// Decides where `name` lives. Errors: `InvalidArg` (empty, NUL, too long,
/// `.`/`..`).
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
    if name.len() > SHM_NAME_MAX {
        return Err(Error::InvalidArg("log name longer than 250 bytes"));
    }
    if name == b"." || name == b".." {
        return Err(Error::InvalidArg("log name is . or .."));
    }
    Ok(Place::Shm(name))
}

fn shm_path(name: &[u8]) -> CString {
    let mut p = Vec::with_capacity(name.len() + 1);
    p.push(b'/');
    p.extend_from_slice(name);
    CString::new(p).expect("`place` rejected NUL bytes")
}

fn io_err(what: &'static str) -> Error {
    let e = std::io::Error::last_os_error();
    match e.raw_os_error() {
        Some(libc::ENOENT) => Error::NotFound,
        Some(libc::EEXIST) => Error::Exists,
        _ => Error::from_io(&e, what),
    }
}

/// Creates the object for `place` exclusively (mode 0600).
pub fn create(place: &Place) -> Result<File, Error> {
    match place {
        Place::File(p) => std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .mode_0600()
            .open(p)
            .map_err(|e| match e.raw_os_error() {
                Some(libc::ENOENT) => Error::NotFound,
                _ => Error::from_io(&e, "creating the log file"),
            }),
        Place::Shm(n) => {
            let p = shm_path(n);
            // SAFETY: `p` is NUL-terminated and outlives the call.
            let fd = unsafe {
                libc::shm_open(
                    p.as_ptr(),
                    libc::O_RDWR | libc::O_CREAT | libc::O_EXCL | libc::O_CLOEXEC,
                    0o600 as libc::mode_t,
                )
            };
            if fd < 0 {
                return Err(io_err("creating the log's shared-memory object"));
            }
            // SAFETY: a fresh descriptor nothing else owns.
            Ok(unsafe { File::from_raw_fd(fd) })
        }
    }
}

trait Mode0600 {
    fn mode_0600(&mut self) -> &mut Self;
}
impl Mode0600 for std::fs::OpenOptions {
    fn mode_0600(&mut self) -> &mut Self {
        use std::os::unix::fs::OpenOptionsExt;
        self.mode(0o600).custom_flags(libc::O_CLOEXEC)
    }
}

/// Opens the existing object for `place` read-write.
pub fn open(place: &Place) -> Result<File, Error> {
    match place {
        Place::File(p) => std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(p)
            .map_err(|e| match e.raw_os_error() {
                Some(libc::ENOENT) => Error::NotFound,
                _ => Error::from_io(&e, "opening the log file"),
            }),
        Place::Shm(n) => {
            let p = shm_path(n);
            // SAFETY: `p` is NUL-terminated and outlives the call.
            let fd = unsafe { libc::shm_open(p.as_ptr(), libc::O_RDWR | libc::O_CLOEXEC, 0) };
            if fd < 0 {
                return Err(io_err("opening the log's shared-memory object"));
            }
            // SAFETY: a fresh descriptor nothing else owns.
            Ok(unsafe { File::from_raw_fd(fd) })
        }
    }
}

/// Removes the name of the object for `place`.
pub fn unlink(place: &Place) -> Result<(), Error> {
    match place {
        Place::File(p) => std::fs::remove_file(p).map_err(|e| match e.raw_os_error() {
            Some(libc::ENOENT) => Error::NotFound,
            _ => Error::from_io(&e, "removing the log file"),
        }),
        Place::Shm(n) => {
            let p = shm_path(n);
            // SAFETY: `p` is NUL-terminated and outlives the call.
            if unsafe { libc::shm_unlink(p.as_ptr()) } != 0 {
                return Err(io_err("removing the log's shared-memory object"));
            }
            Ok(())
        }
    }
}

/// An anonymous shared-memory file, for logs shared across `fork()` only.
pub fn memfd() -> Result<File, Error> {
    // SAFETY: a static NUL-terminated name; valid flags.
    let fd = unsafe { libc::memfd_create(c"maph-log".as_ptr(), libc::MFD_CLOEXEC) };
    if fd < 0 {
        return Err(Error::last_os("creating an anonymous log buffer"));
    }
    // SAFETY: a fresh descriptor nothing else owns.
    Ok(unsafe { File::from_raw_fd(fd) })
}

/// Sizes `file` to `len` bytes and reserves them (`posix_fallocate`), so
/// that a full tmpfs or disk fails here rather than with SIGBUS later. A
/// filesystem without fallocate is left sparse.
pub fn size_and_reserve(file: &File, len: u64) -> Result<(), Error> {
    file.set_len(len)
        .map_err(|e| Error::from_io(&e, "sizing the log buffer"))?;
    let len = libc::off_t::try_from(len).map_err(|_| Error::TooLarge("log larger than off_t"))?;
    // SAFETY: a plain system call on a descriptor the caller owns.
    match unsafe { libc::posix_fallocate(file.as_raw_fd(), 0, len) } {
        0 | libc::EOPNOTSUPP | libc::EINVAL => Ok(()),
        libc::ENOSPC => Err(Error::TooLarge("not enough space for the log buffer")),
        e => Err(Error::Io(e, "reserving the log buffer")),
    }
}

/// Sleeps while `*word == expected`, at most `timeout`. A shared futex
/// (no `FUTEX_PRIVATE_FLAG`): processes mapping the same object meet on it.
pub fn futex_wait(word: &AtomicU32, expected: u32, timeout: Duration) {
    let ts = libc::timespec {
        tv_sec: timeout.as_secs().min(i64::MAX as u64) as libc::time_t,
        tv_nsec: timeout.subsec_nanos() as libc::c_long,
    };
    // SAFETY: `word` is a live, 4-aligned u32 for the call; FUTEX_WAIT only
    // reads it; `ts` lives on this frame.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            libc::FUTEX_WAIT,
            expected,
            &ts as *const libc::timespec,
            std::ptr::null::<u32>(),
            0u32,
        );
    }
}

/// Wakes every process sleeping in `futex_wait` on `word`.
pub fn futex_wake(word: &AtomicU32) {
    // SAFETY: `word` is a live, 4-aligned u32; FUTEX_WAKE uses its address
    // as the key only.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            libc::FUTEX_WAKE,
            i32::MAX,
            std::ptr::null::<libc::timespec>(),
            std::ptr::null::<u32>(),
            0u32,
        );
    }
}

/// Wall-clock time in nanoseconds since the Unix epoch
/// (`clock_gettime(CLOCK_REALTIME)`, a vDSO call: no system call).
#[inline]
pub fn now_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid out-parameter on this frame.
    unsafe { libc::clock_gettime(libc::CLOCK_REALTIME, &mut ts) };
    (ts.tv_sec as u64)
        .wrapping_mul(1_000_000_000)
        .wrapping_add(ts.tv_nsec as u64)
}

static PID: AtomicU32 = AtomicU32::new(0);
static ATFORK: Once = Once::new();

extern "C" fn forget_pid_in_child() {
    PID.store(0, Ordering::Relaxed);
}

/// This process's pid, cached; a fork handler clears the cache in the child.
#[inline]
pub fn pid() -> u32 {
    let p = PID.load(Ordering::Relaxed);
    if p != 0 {
        return p;
    }
    ATFORK.call_once(|| {
        // SAFETY: registers a handler that only stores to an atomic
        // (async-signal-safe, as a fork child handler must be).
        unsafe { libc::pthread_atfork(None, None, Some(forget_pid_in_child)) };
    });
    // SAFETY: getpid has no preconditions.
    let p = unsafe { libc::getpid() } as u32;
    PID.store(p, Ordering::Relaxed);
    p
}

thread_local! {
    /// (pid, tid) of this thread as last read: a fork makes the pid differ,
    /// and the tid is read again.
    static TID: Cell<(u32, u32)> = const { Cell::new((0, 0)) };
}

/// The calling thread's kernel thread id (`gettid`), cached per thread.
#[inline]
pub fn tid() -> u32 {
    let p = pid();
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

/// Whether process `pid` can still run code: `kill(pid, 0)` finds it and
/// `/proc/<pid>/stat` does not show a zombie. The same rule as the store's
/// lock table (`lock.rs`). Slow path only.
pub fn alive(pid: u32) -> bool {
    let Ok(p) = libc::pid_t::try_from(pid) else {
        return false;
    };
    if p <= 0 || !kill_zero_finds(p) {
        return false;
    }
    match std::fs::read(format!("/proc/{p}/stat")) {
        Ok(stat) => match stat.iter().rposition(|&b| b == b')') {
            Some(close) => !matches!(stat.get(close + 2), Some(b'Z') | Some(b'X')),
            None => true,
        },
        Err(_) => kill_zero_finds(p),
    }
}

fn kill_zero_finds(p: libc::pid_t) -> bool {
    // SAFETY: signal 0 sends nothing; it only checks the pid.
    let r = unsafe { libc::kill(p, 0) };
    r == 0 || std::io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
}
