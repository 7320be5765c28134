//! The C ABI of the multiplexed log (`maph_log_*`), over `log::Log`.
//! `build.rs` puts these declarations into `include/maph.h`; the doc
//! comments are the C documentation. `maph_log_printf` is a `static
//! inline` C function in the header (cbindgen.toml's trailer): Rust cannot
//! define a C variadic function on stable, so the shim formats with
//! `vsnprintf` into a stack buffer and calls `maph_log_write`. Design and
//! guarantees: `docs/LOG.md`.
//!
//! Same boundary as `ffi.rs` and `ffi_queue.rs`: every function checks its
//! pointers, catches panics (`MAPH_E_PANIC`) and returns a `maph_status`,
//! except `maph_log_close` (void).
//!
//! # Safety (for every function here)
//!
//! A non-NULL pointer argument must point to what its type and length say:
//! `log` to a handle from `maph_log_create`/`_create_anon`/`_open` not yet
//! closed, names and paths to NUL-terminated strings, `line` to `len`
//! bytes, out-parameters to writable objects. NULL is checked and answered
//! with `MAPH_E_INVALID_ARG` (except where NULL has a meaning).

#![allow(non_camel_case_types)]
#![allow(clippy::missing_safety_doc)]

use std::ffi::{c_char, c_int, c_void, CStr};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::error::Error;
use crate::ffi::{bytes, fail, guard, maph_status};
use crate::log::{self, Drainer, Entry, Kind, Log, Output, WhenFull};
use crate::require;

/// A log buffer mapped into this process: a ring of 1024-byte slots in a
/// file, a `/dev/shm` object or anonymous shared memory, into which any
/// number of threads and processes write lines, drained into one ordered
/// stream. Opaque; made by `maph_log_create`, `maph_log_create_anon` or
/// `maph_log_open`, freed by `maph_log_close`.
///
/// Thread and process safety: every function but `maph_log_close` may be
/// called on one handle from many threads at once; many processes may use
/// one log at once (each opens it by name, or a child inherits the
/// parent's handle across `fork()`). A writer killed at any instruction
/// never blocks the others or the drainer: its half-written record is
/// skipped and counted (`maph_log_stats_t.torn`).
pub struct maph_log_t {
    log: Arc<Log>,
    drainer: Mutex<Option<Drainer>>,
}

/// Longest line one `maph_log_write` takes, in bytes (a slot is 1024 bytes
/// with a 28-byte header). A longer line is refused with
/// `MAPH_E_TOO_LARGE`, never truncated.
pub const MAPH_LOG_MAX_LINE: usize = 996;
const _: () = assert!(MAPH_LOG_MAX_LINE == log::MAX_LINE);

/// Levels: the syslog severities (RFC 5424), printed by name in the
/// stream. Any value 0..255 is accepted; others print as `L<n>`.
pub const MAPH_LOG_EMERG: u8 = 0;
/// See `MAPH_LOG_EMERG`.
pub const MAPH_LOG_ALERT: u8 = 1;
/// See `MAPH_LOG_EMERG`.
pub const MAPH_LOG_CRIT: u8 = 2;
/// See `MAPH_LOG_EMERG`.
pub const MAPH_LOG_ERROR: u8 = 3;
/// See `MAPH_LOG_EMERG`.
pub const MAPH_LOG_WARN: u8 = 4;
/// See `MAPH_LOG_EMERG`.
pub const MAPH_LOG_NOTICE: u8 = 5;
/// See `MAPH_LOG_EMERG`.
pub const MAPH_LOG_INFO: u8 = 6;
/// See `MAPH_LOG_EMERG`.
pub const MAPH_LOG_DEBUG: u8 = 7;

/// `maph_log_record_t.kind`: a line a writer logged.
pub const MAPH_LOG_LINE: u32 = 0;
/// `maph_log_record_t.kind`: `count` lines were dropped by writers because
/// the buffer was full (or their wait timed out) since the last such notice.
pub const MAPH_LOG_DROPPED: u32 = 1;
/// `maph_log_record_t.kind`: the writer `pid` died between claiming a slot
/// and committing its record; the half-written record was skipped.
pub const MAPH_LOG_TORN: u32 = 2;
/// `maph_log_record_t.kind`: the writer `pid` (alive) did not commit within
/// 2 s; its slot was skipped and its write returned `MAPH_E_BUSY`.
pub const MAPH_LOG_STALLED: u32 = 3;
/// `maph_log_record_t.kind`: a committed record failed its checksum
/// (damaged memory or file) and was skipped.
pub const MAPH_LOG_CORRUPT: u32 = 4;

/// `maph_log_drain_start` flag: truncate the output file (default: append).
pub const MAPH_LOG_TRUNC: u32 = 1;

/// `maph_log_write_wait` timeout meaning "no limit".
pub const MAPH_LOG_WAIT_FOREVER: i64 = -1;

/// One item of the drained stream, handed to a `maph_log_callback`. Valid
/// only during the callback (copy what you keep).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct maph_log_record_t {
    /// The record's position in the log (0, 1, 2, ... over its life); the
    /// stream is in position order.
    pub pos: u64,
    /// Nanoseconds since the Unix epoch (CLOCK_REALTIME): read by the
    /// writer right after it claimed its slot (a line), or when the drainer
    /// found the condition (a notice).
    pub ts_ns: u64,
    /// Lines dropped (`MAPH_LOG_DROPPED`), else 1.
    pub count: u64,
    /// The line's bytes (`MAPH_LOG_LINE`; not NUL-terminated), else NULL.
    pub line: *const c_char,
    /// Bytes at `line` (0 to `MAPH_LOG_MAX_LINE`).
    pub len: usize,
    /// The writer's pid (line, torn, stalled), else 0.
    pub pid: u32,
    /// The writer's kernel thread id (gettid) for a line, else 0.
    pub tid: u32,
    /// `MAPH_LOG_LINE`, `MAPH_LOG_DROPPED`, `MAPH_LOG_TORN`,
    /// `MAPH_LOG_STALLED` or `MAPH_LOG_CORRUPT`.
    pub kind: u32,
    /// The level the writer gave (a line), else 0.
    pub level: u32,
}

/// Called by `maph_log_drain` for each item, in stream order; return 0 to
/// go on, non-zero to stop after this item (it counts as drained). It must
/// not call `maph_log_drain` on the same log.
pub type maph_log_callback =
    Option<unsafe extern "C" fn(ctx: *mut c_void, rec: *const maph_log_record_t) -> c_int>;

/// Counters of a log (a snapshot of its shared header), filled by
/// `maph_log_stats`. All counts are over the log's life.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct maph_log_stats_t {
    /// Slots in the ring: lines the buffer holds at once.
    pub slot_count: u64,
    /// Positions claimed by writers (each became a line, or a torn/stalled
    /// skip); `claimed - consumed` are in the buffer now.
    pub claimed: u64,
    /// Positions the drainer has consumed.
    pub consumed: u64,
    /// Lines handed to a callback or written by a drain thread.
    pub drained: u64,
    /// Lines writers dropped: buffer full (`maph_log_write`) or wait timed
    /// out (`maph_log_write_wait`).
    pub dropped: u64,
    /// Records skipped because their writer died inside the write.
    pub torn: u64,
    /// Records skipped because their writer stalled for over 2 s.
    pub stalled: u64,
    /// Records skipped because they failed their checksum.
    pub corrupt: u64,
}

/// The status of `e`. `Full` and `Timeout` are expected outcomes of a
/// writer that outruns its drainer, so they leave `maph_last_error` alone
/// and cost no allocation.
fn status(e: Error) -> maph_status {
    match e {
        Error::Full => maph_status::MAPH_E_FULL,
        Error::Timeout => maph_status::MAPH_E_TIMEOUT,
        e => fail(e),
    }
}

/// # Safety
/// `p` must be a NUL-terminated string.
unsafe fn c_bytes<'a>(p: *const c_char) -> &'a [u8] {
    // SAFETY: non-NULL (checked by the caller), NUL-terminated by contract.
    unsafe { CStr::from_ptr(p) }.to_bytes()
}

/// # Safety
/// `out` must be non-NULL and point to a `maph_log_t *`.
unsafe fn hand_out(out: *mut *mut maph_log_t, r: Result<Log, Error>) -> maph_status {
    match r {
        Ok(log) => {
            let h = maph_log_t {
                log: Arc::new(log),
                drainer: Mutex::new(None),
            };
            // SAFETY: `out` is non-NULL and writable by contract.
            unsafe { out.write(Box::into_raw(Box::new(h))) };
            maph_status::MAPH_OK
        }
        Err(e) => status(e),
    }
}

/// Creates a log buffer of about `capacity_bytes` and opens it.
///
/// `name`: a name containing '/' is a file path, created exclusively with
/// mode 0600 — the buffer then outlives every process and `maph log-dump
/// PATH` prints what is left in it; any other name is the shared-memory
/// object `/dev/shm/<name>` (1 to 250 bytes, not "." or ".."). The buffer
/// has the largest power-of-two number of 1024-byte slots that fits
/// `capacity_bytes` (64 KiB to 16 GiB: 64 to 2^24 slots, one line each)
/// plus a 4 KiB header; its space is reserved at once.
///
/// Errors: `MAPH_E_INVALID_ARG` (NULL, bad name, capacity below 64 KiB),
/// `MAPH_E_TOO_LARGE` (above 16 GiB, or no space), `MAPH_E_EXISTS`,
/// `MAPH_NOT_FOUND` (a directory of the path does not exist), `MAPH_E_IO`.
/// On error `*out` is NULL and nothing is left behind. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn maph_log_create(
    name: *const c_char,
    capacity_bytes: u64,
    out: *mut *mut maph_log_t,
) -> maph_status {
    guard(|| {
        require!(out, "out");
        // SAFETY: `out` is non-NULL and points to a `maph_log_t *`.
        unsafe { out.write(std::ptr::null_mut()) };
        require!(name, "name");
        // SAFETY: `name` is non-NULL and NUL-terminated by contract.
        let r = Log::create(unsafe { c_bytes(name) }, capacity_bytes);
        // SAFETY: `out` checked above.
        unsafe { hand_out(out, r) }
    })
}

/// Creates an anonymous log buffer (memfd, mapped shared): this process
/// and children forked after this call write to it through the same
/// handle. Capacity and errors as `maph_log_create`, without the name.
#[no_mangle]
pub unsafe extern "C" fn maph_log_create_anon(
    capacity_bytes: u64,
    out: *mut *mut maph_log_t,
) -> maph_status {
    guard(|| {
        require!(out, "out");
        // SAFETY: `out` is non-NULL and points to a `maph_log_t *`.
        unsafe { out.write(std::ptr::null_mut()) };
        // SAFETY: `out` checked above.
        unsafe { hand_out(out, Log::create_anon(capacity_bytes)) }
    })
}

/// Opens an existing log buffer (`name` as in `maph_log_create`). The
/// header is checked (magic, version, checksum, sizes against the object's
/// length) before anything else is read; a buffer still being created is
/// waited for up to 2 s.
///
/// Errors: `MAPH_E_INVALID_ARG`, `MAPH_NOT_FOUND`, `MAPH_E_BUSY` (never
/// finished), `MAPH_E_CORRUPT` (not a log buffer, damaged, truncated),
/// `MAPH_E_VERSION`, `MAPH_E_IO`. On error `*out` is NULL. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn maph_log_open(
    name: *const c_char,
    out: *mut *mut maph_log_t,
) -> maph_status {
    guard(|| {
        require!(out, "out");
        // SAFETY: `out` is non-NULL and points to a `maph_log_t *`.
        unsafe { out.write(std::ptr::null_mut()) };
        require!(name, "name");
        // SAFETY: `name` is non-NULL and NUL-terminated by contract.
        let r = Log::open(unsafe { c_bytes(name) });
        // SAFETY: `out` checked above.
        unsafe { hand_out(out, r) }
    })
}

/// Stops this handle's drain thread (as `maph_log_drain_stop`), unmaps the
/// buffer and frees the handle. NULL is fine. Not thread-safe with other
/// calls on the same handle.
#[no_mangle]
pub unsafe extern "C" fn maph_log_close(log: *mut maph_log_t) {
    if log.is_null() {
        return;
    }
    let _ = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: `log` came from a create/open call and is closed once,
        // by contract.
        drop(unsafe { Box::from_raw(log) });
    }));
}

/// Removes the name (the file, or `/dev/shm/<name>`). Processes that have
/// the log open keep using it. Errors: `MAPH_E_INVALID_ARG`,
/// `MAPH_NOT_FOUND`, `MAPH_E_IO`. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn maph_log_unlink(name: *const c_char) -> maph_status {
    guard(|| {
        require!(name, "name");
        // SAFETY: `name` is non-NULL and NUL-terminated by contract.
        match Log::unlink(unsafe { c_bytes(name) }) {
            Ok(()) => maph_status::MAPH_OK,
            Err(e) => status(e),
        }
    })
}

/// Writes `text` as one stream line to stderr (no log attached).
fn write_stderr(level: u8, text: &[u8]) -> maph_status {
    use std::io::Write;
    let mut v = Vec::with_capacity(text.len() + 64);
    log::format_entry(
        &mut v,
        &Entry {
            kind: Kind::Line,
            pos: 0,
            ts_ns: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as u64),
            pid: std::process::id(),
            // SAFETY: gettid has no preconditions.
            tid: unsafe { libc::gettid() } as u32,
            level,
            count: 1,
            line: text,
        },
    );
    match std::io::stderr().lock().write_all(&v) {
        Ok(()) => maph_status::MAPH_OK,
        Err(e) => fail(Error::from_io(&e, "writing the log line to stderr")),
    }
}

/// # Safety
/// As the module says; `line` must point to `len` bytes unless NULL.
unsafe fn write_common(
    log: *const maph_log_t,
    level: u8,
    line: *const c_char,
    len: usize,
    when_full: WhenFull,
) -> maph_status {
    // SAFETY: `(line, len)` by contract; NULL only with 0.
    let text = match unsafe { bytes(line.cast::<c_void>(), len, "line is NULL with a length") } {
        Ok(t) => t,
        Err(e) => return fail(e),
    };
    if text.len() > MAPH_LOG_MAX_LINE {
        return fail(Error::TooLarge(
            "log line longer than MAPH_LOG_MAX_LINE (996 bytes)",
        ));
    }
    if log.is_null() {
        return write_stderr(level, text);
    }
    // SAFETY: a live handle by contract.
    match unsafe { &(*log).log }.write(level, text, when_full) {
        Ok(_) => maph_status::MAPH_OK,
        Err(e) => status(e),
    }
}

/// Writes one line (`len` bytes at `line`, any bytes; a trailing newline is
/// not repeated in the stream) at `level`. With `log` NULL the line goes to
/// stderr in the stream's format instead.
///
/// Never waits for the drainer: when the buffer is full the line is
/// dropped, counted (`maph_log_stats_t.dropped`) and announced in the
/// stream, and the call returns `MAPH_E_FULL` (without touching
/// `maph_last_error`). Use `maph_log_write_wait` to wait for room instead.
///
/// Errors: `MAPH_E_INVALID_ARG` (line NULL with len > 0),
/// `MAPH_E_TOO_LARGE` (len > `MAPH_LOG_MAX_LINE`: nothing written),
/// `MAPH_E_FULL`, `MAPH_E_BUSY` (this thread stalled over 2 s inside the
/// write and the drainer skipped its slot), `MAPH_E_CORRUPT`. Thread- and
/// process-safe; no lock, no system call.
#[no_mangle]
pub unsafe extern "C" fn maph_log_write(
    log: *mut maph_log_t,
    level: u8,
    line: *const c_char,
    len: usize,
) -> maph_status {
    // SAFETY: the caller's pointers, by contract.
    guard(|| unsafe { write_common(log, level, line, len, WhenFull::Drop) })
}

/// As `maph_log_write`, but when the buffer is full waits for the drainer
/// to make room, up to `timeout_ms` milliseconds (`MAPH_LOG_WAIT_FOREVER`:
/// no limit; 0: do not wait). The wait sleeps on a futex the drainer wakes.
/// If the time runs out the line is dropped, counted and announced as by
/// `maph_log_write`, and the call returns `MAPH_E_TIMEOUT`. With `log`
/// NULL the line goes to stderr.
///
/// Errors: as `maph_log_write`, with `MAPH_E_TIMEOUT` for `MAPH_E_FULL`;
/// `MAPH_E_INVALID_ARG` for a negative timeout other than -1.
#[no_mangle]
pub unsafe extern "C" fn maph_log_write_wait(
    log: *mut maph_log_t,
    level: u8,
    line: *const c_char,
    len: usize,
    timeout_ms: i64,
) -> maph_status {
    guard(|| {
        let when_full = match timeout_ms {
            MAPH_LOG_WAIT_FOREVER => WhenFull::Wait(Duration::MAX),
            t if t >= 0 => WhenFull::Wait(Duration::from_millis(t as u64)),
            _ => return fail(Error::InvalidArg("timeout_ms below -1")),
        };
        // SAFETY: the caller's pointers, by contract.
        unsafe { write_common(log, level, line, len, when_full) }
    })
}

/// Starts a thread in this process that drains the log into a file, one
/// text line per item, until `maph_log_drain_stop` or `maph_log_close`:
///
/// ```text
/// 2026-12-03T08:41:16.123456789Z 4242 4243 INFO the line
/// 2026-12-03T08:41:16.200000000Z 0 0 LOG maph-log: 12 records dropped (buffer full)
/// ```
///
/// (UTC time with nanoseconds, pid, thread id, level name, the line with
/// `\` LF CR and other control bytes but tab escaped as `\\` `\n` `\r`
/// `\xNN`). Lines are in stream order: each writer's in the order it wrote
/// them, different writers' in the order their writes took effect.
///
/// `path` non-NULL: the file is opened for appending (created mode 0644;
/// `MAPH_LOG_TRUNC` in `flags` truncates it). `path` NULL: the stream goes
/// to `fd`, which the caller keeps open until the drain stops (it is not
/// closed). A batch is written (`write(2)`) before its slots are freed, so
/// a crash of the draining process loses no line (at worst one batch is
/// written twice).
///
/// Errors: `MAPH_E_INVALID_ARG` (NULL log, path NULL with fd < 0, unknown
/// flags), `MAPH_E_CONFLICT` (a drain is already running: this handle's,
/// or another live process's — one drainer per log), `MAPH_E_IO`
/// (opening the file, starting the thread). Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn maph_log_drain_start(
    log: *mut maph_log_t,
    path: *const c_char,
    fd: c_int,
    flags: u32,
) -> maph_status {
    guard(|| {
        require!(log, "log");
        if flags & !MAPH_LOG_TRUNC != 0 {
            return fail(Error::InvalidArg("unknown drain flags"));
        }
        // SAFETY: a live handle by contract.
        let h = unsafe { &*log };
        let mut slot = h.drainer.lock().unwrap_or_else(|e| e.into_inner());
        if slot.is_some() {
            return fail(Error::Conflict("this handle's drain is already running"));
        }
        let out = if path.is_null() {
            if fd < 0 {
                return fail(Error::InvalidArg("path is NULL and fd is negative"));
            }
            Output::Fd(fd)
        } else {
            use std::os::unix::fs::OpenOptionsExt;
            // SAFETY: NUL-terminated by contract.
            let p = unsafe { crate::ffi::c_path(path) };
            let mut o = std::fs::OpenOptions::new();
            o.create(true).mode(0o644).custom_flags(libc::O_CLOEXEC);
            if flags & MAPH_LOG_TRUNC != 0 {
                o.write(true).truncate(true);
            } else {
                o.append(true);
            }
            match o.open(p) {
                Ok(f) => Output::File(f),
                Err(e) => return fail(Error::from_io(&e, "opening the drain's output file")),
            }
        };
        match h.log.drain_to(out) {
            Ok(d) => {
                *slot = Some(d);
                maph_status::MAPH_OK
            }
            Err(e) => status(e),
        }
    })
}

/// Stops this handle's drain thread after it has written every line
/// claimed before this call (waiting up to 5 s for writers still inside a
/// write), and closes its file. `written` (may be NULL) receives the
/// number of stream lines the thread wrote.
///
/// Errors: `MAPH_E_INVALID_ARG` (NULL log), `MAPH_NOT_FOUND` (no drain is
/// running on this handle), `MAPH_E_IO` (a write of the stream failed: the
/// thread stopped there; the lines not written are still in the buffer).
/// Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn maph_log_drain_stop(
    log: *mut maph_log_t,
    written: *mut u64,
) -> maph_status {
    guard(|| {
        require!(log, "log");
        // SAFETY: a live handle by contract.
        let h = unsafe { &*log };
        let d = h.drainer.lock().unwrap_or_else(|e| e.into_inner()).take();
        let Some(d) = d else {
            return fail(Error::NotFound);
        };
        match d.stop() {
            Ok(r) => {
                if !written.is_null() {
                    // SAFETY: non-NULL, writable by contract.
                    unsafe { written.write(r.items) };
                }
                maph_status::MAPH_OK
            }
            Err(e) => status(e),
        }
    })
}

/// Drains by hand: calls `cb(ctx, rec)` for up to `max` items of the
/// stream, in order (lines, and notices of dropped, torn, stalled or
/// corrupt records: see `maph_log_record_t.kind`), then frees their slots.
/// `*drained` (may be NULL) receives the number of items handed out; 0
/// means caught up, or waiting for a writer that is inside its write (a
/// dead one is skipped after ~1 ms: call again).
///
/// Errors: `MAPH_E_INVALID_ARG` (NULL log or cb), `MAPH_E_CONFLICT`
/// (another drain is running: a drain thread, or another process).
/// Thread-safe (concurrent drains of one log get `MAPH_E_CONFLICT`).
#[no_mangle]
pub unsafe extern "C" fn maph_log_drain(
    log: *mut maph_log_t,
    cb: maph_log_callback,
    ctx: *mut c_void,
    max: usize,
    drained: *mut usize,
) -> maph_status {
    guard(|| {
        require!(log, "log");
        let Some(cb) = cb else {
            return fail(Error::InvalidArg("cb is NULL"));
        };
        // SAFETY: a live handle by contract.
        let h = unsafe { &*log };
        let r = h.log.drain(max, |e| {
            let rec = maph_log_record_t {
                pos: e.pos,
                ts_ns: e.ts_ns,
                count: e.count,
                line: if e.kind == Kind::Line {
                    e.line.as_ptr().cast()
                } else {
                    std::ptr::null()
                },
                len: e.line.len(),
                pid: e.pid,
                tid: e.tid,
                kind: match e.kind {
                    Kind::Line => MAPH_LOG_LINE,
                    Kind::Dropped => MAPH_LOG_DROPPED,
                    Kind::Torn => MAPH_LOG_TORN,
                    Kind::Stalled => MAPH_LOG_STALLED,
                    Kind::Corrupt => MAPH_LOG_CORRUPT,
                },
                level: e.level as u32,
            };
            // SAFETY: a C function pointer given by the caller, called with
            // its own context and a record valid for the call.
            unsafe { cb(ctx, &rec) == 0 }
        });
        match r {
            Ok(n) => {
                if !drained.is_null() {
                    // SAFETY: non-NULL, writable by contract.
                    unsafe { drained.write(n) };
                }
                maph_status::MAPH_OK
            }
            Err(e) => status(e),
        }
    })
}

/// Fills `*out` with the log's counters (a snapshot of its shared header:
/// several loads, not one atomic read). Errors: `MAPH_E_INVALID_ARG`
/// (NULL). Thread- and process-safe.
#[no_mangle]
pub unsafe extern "C" fn maph_log_stats(
    log: *const maph_log_t,
    out: *mut maph_log_stats_t,
) -> maph_status {
    guard(|| {
        require!(log, "log");
        require!(out, "out");
        // SAFETY: a live handle by contract.
        let s = unsafe { &(*log).log }.stats();
        let st = maph_log_stats_t {
            slot_count: s.slot_count,
            claimed: s.claimed,
            consumed: s.consumed,
            drained: s.drained,
            dropped: s.dropped,
            torn: s.torn,
            stalled: s.stalled,
            corrupt: s.corrupt,
        };
        // SAFETY: `out` is non-NULL and points to a `maph_log_stats_t`.
        unsafe { out.write(st) };
        maph_status::MAPH_OK
    })
}
