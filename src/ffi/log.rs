//! The C ABI of the multiplexed log (`maph_log_*`), over `log::Log`.
//! `build.rs` puts these declarations into `include/maph.h`; the doc
//! comments are the C documentation. `maph_log_printf` is a `static
//! inline` C function in the header (cbindgen.toml's trailer): Rust cannot
//! define a C variadic function on stable, so the shim formats with
//! `vsnprintf` into a stack buffer and calls `maph_log_write`. Design and
//! guarantees: `docs/LOG.md`.
//!
//! Every function goes through the boundary in `ffi/mod.rs` (see its
//! safety contract: `log` is a handle from `maph_log_create`/`_create_anon`
//! /`_open` not yet closed, `line` points to `len` bytes), except
//! `maph_log_close` (void), which frees through `free_handle`. A full
//! buffer is `Error::Dropped`: `MAPH_E_FULL` with no last-error message.

use std::ffi::{c_char, c_int, c_void};
use std::os::unix::ffi::OsStrExt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::{bytes, c_str, call, free_handle, hand_out, handle, maph_status, opt_out, out_param};
use crate::error::Error;
use crate::log::{self, Drainer, Entry, Kind, Log, Output, WhenFull};
use crate::sys::pid::current_pid;

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

/// A new handle over `log`, with no drain thread.
fn new_handle(log: Log) -> maph_log_t {
    maph_log_t { log: Arc::new(log), drainer: Mutex::new(None) }
}

/// The log behind a handle.
///
/// # Safety
/// A non-NULL `log` is a live handle (the C contract).
unsafe fn handle_of<'a>(log: *const maph_log_t) -> Result<&'a maph_log_t, Error> {
    // SAFETY: the caller's contract.
    unsafe { handle(log, "log is NULL") }
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
/// `MAPH_E_TOO_LARGE` (above 16 GiB), `MAPH_E_FULL` (the file system, or
/// for `/dev/shm` and anonymous logs memory, cannot reserve the space;
/// `maph_last_error` says how many bytes), `MAPH_E_EXISTS`,
/// `MAPH_NOT_FOUND` (a directory of the path does not exist), `MAPH_E_IO`.
/// On error `*out` is NULL and nothing is left behind. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn maph_log_create(
    name: *const c_char, capacity_bytes: u64, out: *mut *mut maph_log_t,
) -> maph_status {
    // SAFETY: the C contract (ffi/mod.rs).
    call(|| unsafe {
        hand_out(out, || Ok(new_handle(Log::create(c_str(name, "name is NULL")?, capacity_bytes)?)))
    })
}

/// Creates an anonymous log buffer (memfd, mapped shared): this process
/// and children forked after this call write to it through the same
/// handle. Capacity and errors as `maph_log_create`, without the name.
#[no_mangle]
pub unsafe extern "C" fn maph_log_create_anon(
    capacity_bytes: u64, out: *mut *mut maph_log_t,
) -> maph_status {
    // SAFETY: the C contract (ffi/mod.rs).
    call(|| unsafe { hand_out(out, || Ok(new_handle(Log::create_anon(capacity_bytes)?))) })
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
    name: *const c_char, out: *mut *mut maph_log_t,
) -> maph_status {
    // SAFETY: the C contract (ffi/mod.rs).
    call(|| unsafe { hand_out(out, || Ok(new_handle(Log::open(c_str(name, "name is NULL")?)?))) })
}

/// Stops this handle's drain thread (as `maph_log_drain_stop`), unmaps the
/// buffer and frees the handle. NULL is fine. Not thread-safe with other
/// calls on the same handle.
#[no_mangle]
pub unsafe extern "C" fn maph_log_close(log: *mut maph_log_t) {
    // SAFETY: `log` came from a create/open call and is closed once (contract).
    unsafe { free_handle(log) }
}

/// Removes the name (the file, or `/dev/shm/<name>`). Processes that have
/// the log open keep using it. Errors: `MAPH_E_INVALID_ARG`,
/// `MAPH_NOT_FOUND`, `MAPH_E_IO`. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn maph_log_unlink(name: *const c_char) -> maph_status {
    // SAFETY: the C contract (ffi/mod.rs).
    call(|| Log::unlink(unsafe { c_str(name, "name is NULL") }?))
}

/// Writes `text` as one stream line to stderr (no log attached).
fn write_stderr(level: u8, text: &[u8]) -> Result<(), Error> {
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
            pid: current_pid(),
            // SAFETY: gettid has no preconditions.
            tid: unsafe { libc::gettid() } as u32,
            level,
            count: 1,
            line: text,
        },
    );
    std::io::stderr()
        .lock()
        .write_all(&v)
        .map_err(|e| Error::from_io(&e, "writing the log line to stderr"))
}

/// The body of both writes: checks the line, then writes it to `log`, or
/// to stderr when `log` is NULL.
///
/// # Safety
/// The C contract (ffi/mod.rs): `line` points to `len` bytes unless NULL,
/// a non-NULL `log` is a live handle.
unsafe fn write_line(
    log: *const maph_log_t, level: u8, line: *const c_char, len: usize, when_full: WhenFull,
) -> Result<(), Error> {
    // SAFETY: `(line, len)` by the caller's contract; NULL only with 0.
    let text = unsafe { bytes(line.cast::<c_void>(), len, "line is NULL with a length") }?;
    if text.len() > MAPH_LOG_MAX_LINE {
        return Err(Error::TooLarge("log line longer than MAPH_LOG_MAX_LINE (996 bytes)"));
    }
    // SAFETY: NULL, or a live handle by the caller's contract.
    match unsafe { log.as_ref() } {
        None => write_stderr(level, text),
        Some(h) => h.log.write(level, text, when_full).map(|_| ()),
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
    log: *mut maph_log_t, level: u8, line: *const c_char, len: usize,
) -> maph_status {
    // SAFETY: the C contract (ffi/mod.rs).
    call(|| unsafe { write_line(log, level, line, len, WhenFull::Drop) })
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
    log: *mut maph_log_t, level: u8, line: *const c_char, len: usize, timeout_ms: i64,
) -> maph_status {
    call(|| {
        let when_full = match timeout_ms {
            MAPH_LOG_WAIT_FOREVER => WhenFull::Wait(Duration::MAX),
            t if t >= 0 => WhenFull::Wait(Duration::from_millis(t as u64)),
            _ => return Err(Error::InvalidArg("timeout_ms below -1")),
        };
        // SAFETY: the C contract (ffi/mod.rs).
        unsafe { write_line(log, level, line, len, when_full) }
    })
}

/// Where a drain thread writes: the file `path` (appended to, or truncated
/// with `MAPH_LOG_TRUNC`), or the caller's `fd` when `path` is NULL.
///
/// # Safety
/// A non-NULL `path` is NUL-terminated (the C contract).
unsafe fn drain_output(path: *const c_char, fd: c_int, flags: u32) -> Result<Output, Error> {
    if path.is_null() {
        if fd < 0 {
            return Err(Error::InvalidArg("path is NULL and fd is negative"));
        }
        return Ok(Output::Fd(fd));
    }
    use std::os::unix::fs::OpenOptionsExt;
    // SAFETY: non-NULL and NUL-terminated by the caller's contract.
    let p =
        std::path::Path::new(std::ffi::OsStr::from_bytes(unsafe { c_str(path, "path is NULL") }?));
    let mut o = std::fs::OpenOptions::new();
    o.create(true).mode(0o644).custom_flags(libc::O_CLOEXEC);
    if flags & MAPH_LOG_TRUNC != 0 {
        o.write(true).truncate(true);
    } else {
        o.append(true);
    }
    let f = o.open(p).map_err(|e| Error::from_io(&e, "opening the drain's output file"))?;
    Ok(Output::File(f))
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
    log: *mut maph_log_t, path: *const c_char, fd: c_int, flags: u32,
) -> maph_status {
    call(|| {
        // SAFETY: the C contract (ffi/mod.rs).
        let h = unsafe { handle_of(log) }?;
        if flags & !MAPH_LOG_TRUNC != 0 {
            return Err(Error::InvalidArg("unknown drain flags"));
        }
        let mut slot = h.drainer.lock().unwrap_or_else(|e| e.into_inner());
        if slot.is_some() {
            return Err(Error::Conflict("this handle's drain is already running"));
        }
        // SAFETY: the C contract (ffi/mod.rs).
        let out = unsafe { drain_output(path, fd, flags) }?;
        *slot = Some(h.log.drain_to(out)?);
        Ok(())
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
    log: *mut maph_log_t, written: *mut u64,
) -> maph_status {
    call(|| {
        // SAFETY: the C contract (ffi/mod.rs).
        let (h, written) = unsafe { (handle_of(log)?, opt_out(written)) };
        let d = h.drainer.lock().unwrap_or_else(|e| e.into_inner()).take();
        written.put(d.ok_or(Error::NotFound)?.stop()?.items)
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
    log: *mut maph_log_t, cb: maph_log_callback, ctx: *mut c_void, max: usize, drained: *mut usize,
) -> maph_status {
    call(|| {
        // SAFETY: the C contract (ffi/mod.rs).
        let (h, drained) = unsafe { (handle_of(log)?, opt_out(drained)) };
        let cb = cb.ok_or(Error::InvalidArg("cb is NULL"))?;
        let n = h.log.drain(max, |e| {
            let rec = maph_log_record_t {
                pos: e.pos,
                ts_ns: e.ts_ns,
                count: e.count,
                line: if e.kind == Kind::Line { e.line.as_ptr().cast() } else { std::ptr::null() },
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
        })?;
        drained.put(n)
    })
}

/// Fills `*out` with the log's counters (a snapshot of its shared header:
/// several loads, not one atomic read). Errors: `MAPH_E_INVALID_ARG`
/// (NULL). Thread- and process-safe.
#[no_mangle]
pub unsafe extern "C" fn maph_log_stats(
    log: *const maph_log_t, out: *mut maph_log_stats_t,
) -> maph_status {
    call(|| {
        // SAFETY: the C contract (ffi/mod.rs).
        let (h, o) = unsafe { (handle_of(log)?, out_param(out, "out is NULL")?) };
        let s = h.log.stats();
        o.put(maph_log_stats_t {
            slot_count: s.slot_count,
            claimed: s.claimed,
            consumed: s.consumed,
            drained: s.drained,
            dropped: s.dropped,
            torn: s.torn,
            stalled: s.stalled,
            corrupt: s.corrupt,
        })
    })
}
