//! The C ABI. `build.rs` turns this file into `include/maph.h` with cbindgen.
//!
//! Every function checks its pointers, catches any panic (`MAPH_E_PANIC`,
//! never an unwind into C), and returns a status, following rustls-ffi's
//! boundary. The doc comments here are the C documentation.
//!
//! # Safety (for every function here)
//!
//! A non-NULL pointer argument must point to what its type and length say:
//! `key`/`val` to `key_len`/`val_len` readable bytes, `buf` to `buf_cap`
//! writable bytes, out-parameters to writable objects, strings NUL-terminated,
//! arrays to `n` elements, `db` to a handle from `maph_create`/`maph_open`
//! (or the shm/anonymous variants) not yet closed. NULL is checked and
//! answered with `MAPH_E_INVALID_ARG`; these are the C contract's only
//! preconditions, stated once here rather than in every C comment.

#![allow(non_camel_case_types)]
#![allow(clippy::missing_safety_doc)]

use std::cell::RefCell;
use std::ffi::{c_char, c_void, CStr, CString};
use std::os::unix::ffi::OsStrExt;
use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::error::Error;
use crate::store::{OpenMode, Options, Store};

/// Status of a maph call. `MAPH_OK` (0) is success; every other value says
/// why a call failed. `maph_strerror` turns a status into a message, and
/// `maph_last_error` gives the detail of the calling thread's last failure.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum maph_status {
    /// Success.
    MAPH_OK = 0,
    /// The key (or UID) is not in the store.
    MAPH_NOT_FOUND = 1,
    /// A required pointer is NULL, a flag or option is out of range, or the
    /// key is empty.
    MAPH_E_INVALID_ARG = 2,
    /// A system call failed (open, mmap, msync, ...); see `maph_last_error`.
    MAPH_E_IO = 3,
    /// The file is not a maph store, or is damaged (truncated, inconsistent
    /// header, a slot length beyond the slot).
    MAPH_E_CORRUPT = 4,
    /// The store has a format version or hash function this library does
    /// not read.
    MAPH_E_VERSION = 5,
    /// No free slot within the maximum probe distance of the key's home;
    /// or, at creation, the file system (for `/dev/shm` and anonymous
    /// tables: memory) cannot reserve the store's or queue set's space
    /// (`maph_last_error` says how many bytes and why).
    MAPH_E_FULL = 6,
    /// Key plus value do not fit one slot (see `maph_stats_t.slot_capacity`),
    /// or the store would not fit the address space.
    MAPH_E_TOO_LARGE = 7,
    /// The caller's buffer is too small; the length out-parameter holds the
    /// size needed.
    MAPH_E_BUFFER_TOO_SMALL = 8,
    /// A write through a handle opened with `MAPH_RDONLY`.
    MAPH_E_READ_ONLY = 9,
    /// A slot or lock stayed taken past the wait limit (2 s).
    MAPH_E_BUSY = 10,
    /// maph hit an internal bug; the call did nothing it could not undo.
    MAPH_E_PANIC = 11,
    /// The path or name already exists (`maph_create`).
    MAPH_E_EXISTS = 12,
    /// Nothing to take: the queue is empty.
    MAPH_E_EMPTY = 13,
    /// A wait with a timeout ended before the condition held.
    MAPH_E_TIMEOUT = 14,
    /// The call conflicts with the current state (for example an element
    /// that is already in a queue); see `maph_last_error`.
    MAPH_E_CONFLICT = 15,
    /// `maph_incr` on a value that is not exactly 8 bytes.
    MAPH_E_NOT_INTEGER = 16,
    /// `maph_incr` would leave the signed 64-bit range.
    MAPH_E_OVERFLOW = 17,
}

/// Open an existing store for reading only.
pub const MAPH_RDONLY: u32 = 1;
/// Open an existing store for reading and writing.
pub const MAPH_RDWR: u32 = 2;

/// An open store. Opaque; made by `maph_create` or `maph_open`, freed by
/// `maph_close`. One handle may be used from many threads at once: every
/// function but `maph_close` is thread-safe. A handle stays usable in the
/// child after `fork()` (the mapping is shared, not copied).
pub struct maph_t {
    store: Store,
}

/// Parameters of a new store. Fill with `maph_options_default`, then change
/// what you need.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct maph_options {
    /// Number of slots, 1 to 2^32-1. One key per slot. Default 65536.
    pub slots: u64,
    /// Bytes per slot: a power of two from 64 to 65536. Default 512. A key
    /// plus its value may take `slot_size - 32` bytes.
    pub slot_size: u32,
    /// Maximum probe distance, 1 to `slots`; 0 picks min(1024, slots).
    pub max_probes: u32,
    /// File mode bits for a new file (as for open(2), the umask applies);
    /// 0 means 0600. Default 0600.
    pub mode: u32,
    /// Entries of the same-key lock table, a power of two up to 2^20; 0 picks
    /// 4096.
    pub lock_count: u32,
    /// Hash seed; 0 (the default) draws a random one.
    pub seed: u64,
    /// Creation flags: 0 (the default) or `MAPH_CREATE_SPARSE`. Other bits
    /// are `MAPH_E_INVALID_ARG`.
    pub flags: u64,
    /// Reserved for later options; must be zero.
    pub reserved: [u64; 3],
}

/// `maph_options.flags`: do not reserve the store's space at creation.
///
/// By default a new store (file, `/dev/shm` table or anonymous table)
/// reserves all of its space on its file system before it is mapped
/// (`posix_fallocate`), so that no later access can fault for lack of
/// space, and creation answers `MAPH_E_FULL` when the space is not there.
/// With this flag the file is sparse: creation is instant and takes no
/// space, but **a write that needs a page the full file system cannot back
/// kills the process with `SIGBUS`**. Use it only for a huge store that
/// will stay mostly empty, on a file system you know has room.
pub const MAPH_CREATE_SPARSE: u64 = 1;

/// Counters of a store, filled by `maph_stats`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct maph_stats_t {
    /// Live keys.
    pub keys: u64,
    /// Slots in all.
    pub slots: u64,
    /// Tombstones: slots of deleted keys, reused by later inserts.
    pub tombstones: u64,
    /// Bytes of the store file.
    pub file_bytes: u64,
    /// MPHF generation (0: no MPHF built).
    pub generation: u64,
    /// keys / slots.
    pub load_factor: f64,
    /// Bytes per slot.
    pub slot_size: u32,
    /// Largest key length plus value length, in bytes (slot_size - 32).
    pub slot_capacity: u32,
    /// Maximum probe distance.
    pub max_probes: u32,
    /// Longest probe distance any insert needed (0: its home slot).
    pub longest_probe: u32,
    /// 1 while lookups on this handle use an MPHF, else 0.
    pub mphf_in_use: u32,
    /// Keys in the current MPHF, as built by the last `maph_optimize`.
    pub mphf_keys: u64,
    /// Keys inserted since the last `maph_optimize`: found by probing, not
    /// by the MPHF. Call `maph_optimize` again when this passes about 20% of
    /// `keys`.
    pub keys_outside_mphf: u64,
}

thread_local! {
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

pub(crate) fn status_of(e: &Error) -> maph_status {
    use maph_status::*;
    match e {
        Error::NotFound => MAPH_NOT_FOUND,
        Error::InvalidArg(_) => MAPH_E_INVALID_ARG,
        Error::Io(..) => MAPH_E_IO,
        Error::Corrupt(_) => MAPH_E_CORRUPT,
        Error::Version(_) => MAPH_E_VERSION,
        Error::Full | Error::NoSpace { .. } => MAPH_E_FULL,
        Error::TooLarge(_) => MAPH_E_TOO_LARGE,
        Error::BufferTooSmall(_) => MAPH_E_BUFFER_TOO_SMALL,
        Error::ReadOnly => MAPH_E_READ_ONLY,
        Error::Busy => MAPH_E_BUSY,
        Error::Exists => MAPH_E_EXISTS,
        Error::Empty => MAPH_E_EMPTY,
        Error::Timeout => MAPH_E_TIMEOUT,
        Error::Conflict(_) => MAPH_E_CONFLICT,
        Error::NotInteger => MAPH_E_NOT_INTEGER,
        Error::Overflow => MAPH_E_OVERFLOW,
    }
}

fn set_last_error(msg: String) {
    let c = CString::new(msg.replace('\0', " ")).unwrap_or_default();
    let _ = LAST_ERROR.try_with(|l| {
        if let Ok(mut m) = l.try_borrow_mut() {
            *m = c;
        }
    });
}

/// Records `e` as the thread's last error and returns its status.
pub(crate) fn fail(e: Error) -> maph_status {
    // Normal outcomes (absent, empty, timed out) leave no message.
    if !matches!(e, Error::NotFound | Error::Empty | Error::Timeout) {
        set_last_error(e.to_string());
    }
    status_of(&e)
}

/// Runs `f`, turning a panic into `MAPH_E_PANIC`.
pub(crate) fn guard(f: impl FnOnce() -> maph_status) -> maph_status {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(s) => s,
        Err(p) => {
            let msg = p
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| p.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            set_last_error(format!("internal error: {msg}"));
            maph_status::MAPH_E_PANIC
        }
    }
}

/// Returns `MAPH_E_INVALID_ARG` from the enclosing function when `$p` is NULL.
#[macro_export]
#[doc(hidden)]
macro_rules! require {
    ($p:expr, $what:literal) => {
        if $p.is_null() {
            return $crate::ffi::fail($crate::error::Error::InvalidArg(concat!($what, " is NULL")));
        }
    };
}

/// The byte string `(p, len)`; NULL is allowed only with length 0.
///
/// # Safety
/// When `p` is not NULL it must point to `len` readable bytes that stay
/// unchanged for `'a`.
pub(crate) unsafe fn bytes<'a>(
    p: *const c_void,
    len: usize,
    what: &'static str,
) -> Result<&'a [u8], Error> {
    if len > isize::MAX as usize {
        return Err(Error::InvalidArg(what));
    }
    if p.is_null() {
        return if len == 0 {
            Ok(&[])
        } else {
            Err(Error::InvalidArg(what))
        };
    }
    // SAFETY: non-NULL, `len` readable bytes by the caller's contract.
    Ok(unsafe { std::slice::from_raw_parts(p.cast::<u8>(), len) })
}

/// The writable buffer `(p, cap)`; NULL is allowed only with capacity 0.
///
/// # Safety
/// When `p` is not NULL it must point to `cap` writable bytes not aliased
/// for `'a`.
pub(crate) unsafe fn buffer<'a>(p: *mut c_void, cap: usize) -> Result<&'a mut [u8], Error> {
    if cap > isize::MAX as usize {
        return Err(Error::InvalidArg("buffer capacity too large"));
    }
    if p.is_null() {
        return if cap == 0 {
            Ok(&mut [])
        } else {
            Err(Error::InvalidArg("buffer is NULL with a non-zero capacity"))
        };
    }
    // SAFETY: non-NULL, `cap` writable bytes by the caller's contract.
    Ok(unsafe { std::slice::from_raw_parts_mut(p.cast::<u8>(), cap) })
}

/// # Safety
/// `p` must be a NUL-terminated string.
pub(crate) unsafe fn c_path<'a>(p: *const c_char) -> &'a std::path::Path {
    // SAFETY: NUL-terminated by the caller's contract; checked non-NULL.
    let c = unsafe { CStr::from_ptr(p) };
    std::path::Path::new(std::ffi::OsStr::from_bytes(c.to_bytes()))
}

/// Fills `*opts` with the defaults: 65536 slots of 512 bytes, mode 0600,
/// and 0 ("pick at creation") for `max_probes` (then min(1024, slots)),
/// `lock_count` (then up to 4096 entries, at most ~4 MiB of lock table) and
/// `seed` (then a random one). Does nothing when `opts` is NULL.
/// Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn maph_options_default(opts: *mut maph_options) {
    if opts.is_null() {
        return;
    }
    let d = Options::default();
    let o = maph_options {
        slots: d.slots,
        slot_size: d.slot_size,
        max_probes: d.max_probes,
        mode: d.mode,
        lock_count: d.lock_count,
        seed: d.seed,
        flags: 0,
        reserved: [0; 3],
    };
    // SAFETY: `opts` is non-NULL and, by contract, points to a
    // `maph_options`; a plain write of a `Copy` struct.
    unsafe { opts.write(o) };
}

/// Creates a new store file at `path` and opens it read-write.
///
/// `opts` may be NULL for the defaults. The file appears whole or not at
/// all (it is built under a temporary name and linked into place); its
/// size is 4096 + lock_count * (64 + slot_size) rounded up to 4096, plus
/// slots * slot_size, plus two MPHF banks of
/// round_up(64 + 2 * slots + slots * 6 / 8 + 65536, 4096) bytes each
/// (docs/FORMAT.md).
///
/// **Space is reserved at creation.** Unless `opts->flags` has
/// `MAPH_CREATE_SPARSE`, the whole object is reserved on its file system
/// (`posix_fallocate`) before it is mapped, so that no later read or write
/// can fault for lack of space (a shared mapping whose page cannot be backed
/// kills the process with `SIGBUS`); when the room is not there the call
/// answers `MAPH_E_FULL`, with the bytes needed and the reason in
/// `maph_last_error`, and leaves nothing behind. Cost, measured on the
/// development machine for a 1 GiB store (2^21 slots of 512 bytes): a file
/// on ext4 ~0.04 s (extents are allocated, no data is written; disk space
/// is taken at once, memory is not); in `/dev/shm` ~0.25 s and 1 GiB of
/// shared memory taken at once (tmpfs zeroes every page). The process's own
/// RSS does not grow until pages are touched.
/// Another process that truncates the file while it is mapped makes later
/// accesses beyond the new end raise `SIGBUS`, as in every mmap store
/// (LMDB included); `maph_open` then answers `MAPH_E_CORRUPT`.
///
/// Errors: `MAPH_E_INVALID_ARG` (NULL `path` or `out`, options out of range,
/// unknown `flags`, non-zero `reserved`), `MAPH_E_EXISTS` (the path
/// exists), `MAPH_E_FULL` (the file system cannot reserve the file),
/// `MAPH_E_IO` (including a file system that cannot reserve space at all:
/// see `MAPH_CREATE_SPARSE`), `MAPH_E_TOO_LARGE`. On error `*out` is set to
/// NULL and no file is left. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn maph_create(
    path: *const c_char,
    opts: *const maph_options,
    out: *mut *mut maph_t,
) -> maph_status {
    guard(|| {
        require!(out, "out");
        // SAFETY: `out` is non-NULL and points to a `maph_t *` by contract.
        unsafe { out.write(std::ptr::null_mut()) };
        require!(path, "path");
        // SAFETY: `opts` is NULL or points to a `maph_options` by contract.
        let o = match unsafe { options_from_c(opts) } {
            Ok(o) => o,
            Err(e) => return fail(e),
        };
        // SAFETY: `path` is non-NULL and NUL-terminated by contract.
        let r = Store::create(unsafe { c_path(path) }, &o);
        // SAFETY: `out` checked above.
        unsafe { hand_out(r, out) }
    })
}

/// The options behind `opts`, or the defaults for NULL.
///
/// # Safety
/// `opts` is NULL or points to a `maph_options`.
unsafe fn options_from_c(opts: *const maph_options) -> Result<Options, Error> {
    if opts.is_null() {
        return Ok(Options::default());
    }
    // SAFETY: non-NULL, points to a `maph_options` by contract.
    let c = unsafe { opts.read() };
    if c.reserved != [0; 3] {
        return Err(Error::InvalidArg("reserved options must be zero"));
    }
    if c.flags & !MAPH_CREATE_SPARSE != 0 {
        return Err(Error::InvalidArg("unknown bits in maph_options.flags"));
    }
    Ok(Options {
        slots: c.slots,
        slot_size: c.slot_size,
        max_probes: c.max_probes,
        mode: c.mode,
        seed: c.seed,
        lock_count: c.lock_count,
        sparse: c.flags & MAPH_CREATE_SPARSE != 0,
    })
}

/// Boxes an opened store into `*out`, or records the error.
///
/// # Safety
/// `out` is non-NULL and writable.
unsafe fn hand_out(r: Result<Store, Error>, out: *mut *mut maph_t) -> maph_status {
    match r {
        Ok(store) => {
            // SAFETY: `out` is non-NULL and writable by contract.
            unsafe { out.write(Box::into_raw(Box::new(maph_t { store }))) };
            maph_status::MAPH_OK
        }
        Err(e) => fail(e),
    }
}

/// The bytes of the NUL-terminated `name`.
///
/// # Safety
/// `name` is non-NULL and NUL-terminated.
unsafe fn c_name<'a>(name: *const c_char) -> &'a [u8] {
    // SAFETY: by contract.
    unsafe { CStr::from_ptr(name) }.to_bytes()
}

/// Creates the shared table `name` in `/dev/shm` (POSIX shared memory) and
/// opens it read-write, for unrelated processes to open by name. `name`: 1
/// to 255 bytes, no `/` (no leading slash either). `opts` may be NULL for
/// the defaults; the mode defaults to 0600. Of two processes racing to
/// create one name exactly one succeeds; the other gets `MAPH_E_EXISTS`
/// (use `maph_shm_open_or_create` to open it instead). The table is built
/// whole before its name appears.
///
/// **Space is reserved at creation.** Unless `opts->flags` has
/// `MAPH_CREATE_SPARSE`, the whole object is reserved on its file system
/// (`posix_fallocate`) before it is mapped, so that no later read or write
/// can fault for lack of space (a shared mapping whose page cannot be backed
/// kills the process with `SIGBUS`); when the room is not there the call
/// answers `MAPH_E_FULL`, with the bytes needed and the reason in
/// `maph_last_error`, and leaves nothing behind. Cost, measured on the
/// development machine for a 1 GiB store (2^21 slots of 512 bytes): ~0.25 s,
/// and 1 GiB of shared memory taken at once (tmpfs zeroes every page); the
/// process's own RSS does not grow until pages are touched.
/// Another process that truncates the file while it is mapped makes later
/// accesses beyond the new end raise `SIGBUS`, as in every mmap store
/// (LMDB included); `maph_open` then answers `MAPH_E_CORRUPT`.
///
/// Errors: `MAPH_E_INVALID_ARG` (NULL, bad name, bad options),
/// `MAPH_E_EXISTS`, `MAPH_E_FULL` (`/dev/shm` cannot hold the table),
/// `MAPH_E_IO`, `MAPH_E_TOO_LARGE`. On error `*out` is NULL and no name is
/// left in `/dev/shm`. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn maph_shm_create(
    name: *const c_char,
    opts: *const maph_options,
    out: *mut *mut maph_t,
) -> maph_status {
    guard(|| {
        require!(out, "out");
        // SAFETY: `out` is non-NULL.
        unsafe { out.write(std::ptr::null_mut()) };
        require!(name, "name");
        // SAFETY: `opts` NULL or valid; `name` NUL-terminated; `out` valid.
        unsafe {
            let o = match options_from_c(opts) {
                Ok(o) => o,
                Err(e) => return fail(e),
            };
            hand_out(Store::shm_create(c_name(name), &o), out)
        }
    })
}

/// Creates the shared table `name` like `maph_shm_create`, or, if another
/// process created it first, opens it read-write (its options then are
/// those it was created with). Errors as `maph_shm_create` and
/// `maph_shm_open`, never `MAPH_E_EXISTS`. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn maph_shm_open_or_create(
    name: *const c_char,
    opts: *const maph_options,
    out: *mut *mut maph_t,
) -> maph_status {
    guard(|| {
        require!(out, "out");
        // SAFETY: `out` is non-NULL.
        unsafe { out.write(std::ptr::null_mut()) };
        require!(name, "name");
        // SAFETY: as in `maph_shm_create`.
        unsafe {
            let o = match options_from_c(opts) {
                Ok(o) => o,
                Err(e) => return fail(e),
            };
            hand_out(Store::shm_open_or_create(c_name(name), &o), out)
        }
    })
}

/// Opens the shared table `name` (`shm_open(3)`); `flags` is `MAPH_RDONLY`
/// or `MAPH_RDWR`. Workers that should repair what a killed worker left
/// must open `MAPH_RDWR`. Errors: `MAPH_E_INVALID_ARG` (NULL, bad name,
/// flags), `MAPH_E_IO` (no such table: errno `ENOENT` in
/// `maph_last_error`), `MAPH_E_CORRUPT`, `MAPH_E_VERSION`. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn maph_shm_open(
    name: *const c_char,
    flags: u32,
    out: *mut *mut maph_t,
) -> maph_status {
    guard(|| {
        require!(out, "out");
        // SAFETY: `out` is non-NULL.
        unsafe { out.write(std::ptr::null_mut()) };
        require!(name, "name");
        let mode = match flags {
            MAPH_RDONLY => OpenMode::ReadOnly,
            MAPH_RDWR => OpenMode::ReadWrite,
            _ => return fail(Error::InvalidArg("flags must be MAPH_RDONLY or MAPH_RDWR")),
        };
        // SAFETY: `name` NUL-terminated; `out` valid.
        unsafe { hand_out(Store::shm_open(c_name(name), mode), out) }
    })
}

/// Removes the name of shared table `name` from `/dev/shm`. Processes that
/// have it open go on using it; the memory is freed when the last closes
/// it. Errors: `MAPH_E_INVALID_ARG` (NULL, bad name), `MAPH_E_IO` (no such
/// table). Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn maph_shm_unlink(name: *const c_char) -> maph_status {
    guard(|| {
        require!(name, "name");
        // SAFETY: `name` NUL-terminated.
        match Store::shm_unlink(unsafe { c_name(name) }) {
            Ok(()) => maph_status::MAPH_OK,
            Err(e) => fail(e),
        }
    })
}

/// Creates a table in anonymous shared memory (a memfd mapped
/// `MAP_SHARED`) and opens it read-write. Children forked after this call
/// share it through the inherited handle; it has no name, and is freed when
/// the last process using it exits.
///
/// **Memory is reserved at creation** (`posix_fallocate` on the memfd, unless
/// `opts->flags` has `MAPH_CREATE_SPARSE`): a 1 GiB table (2^21 slots of 512
/// bytes) takes ~0.15-0.22 s and 1 GiB of shared memory at once on the
/// development machine. A memfd is bounded by memory (the cgroup's limit),
/// not by a mount: when the kernel refuses the pages the call answers
/// `MAPH_E_FULL`; where it over-commits instead, the OOM killer, not
/// `SIGBUS`, is what a later shortage brings — reserving at creation moves
/// that moment to `maph_create_anonymous`.
///
/// Errors: `MAPH_E_INVALID_ARG`, `MAPH_E_FULL`, `MAPH_E_IO`,
/// `MAPH_E_TOO_LARGE`. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn maph_create_anonymous(
    opts: *const maph_options,
    out: *mut *mut maph_t,
) -> maph_status {
    guard(|| {
        require!(out, "out");
        // SAFETY: `out` is non-NULL.
        unsafe { out.write(std::ptr::null_mut()) };
        // SAFETY: `opts` NULL or valid; `out` valid.
        unsafe {
            let o = match options_from_c(opts) {
                Ok(o) => o,
                Err(e) => return fail(e),
            };
            hand_out(Store::create_anonymous(&o), out)
        }
    })
}

/// Opens an existing store file. `flags` is `MAPH_RDONLY` or `MAPH_RDWR`.
///
/// The header and the file's length are checked against each other before
/// any slot is touched. Errors: `MAPH_E_INVALID_ARG` (NULL argument, unknown
/// flags), `MAPH_E_IO` (cannot open or map), `MAPH_E_CORRUPT` (not a maph
/// store, truncated, inconsistent header), `MAPH_E_VERSION` (another format
/// version). On error `*out` is set to NULL. Thread-safe; many processes may
/// open one store at once.
#[no_mangle]
pub unsafe extern "C" fn maph_open(
    path: *const c_char,
    flags: u32,
    out: *mut *mut maph_t,
) -> maph_status {
    guard(|| {
        require!(out, "out");
        // SAFETY: `out` is non-NULL by the check above.
        unsafe { out.write(std::ptr::null_mut()) };
        require!(path, "path");
        let mode = match flags {
            MAPH_RDONLY => OpenMode::ReadOnly,
            MAPH_RDWR => OpenMode::ReadWrite,
            _ => return fail(Error::InvalidArg("flags must be MAPH_RDONLY or MAPH_RDWR")),
        };
        // SAFETY: `path` is non-NULL and NUL-terminated; `out` checked.
        unsafe { hand_out(Store::open(c_path(path), mode), out) }
    })
}

/// Closes a store: unmaps it and closes the file. Writes already made stay
/// in the page cache and reach the file as the kernel writes back; call
/// `maph_sync` first for durability. NULL is fine. Not thread-safe with
/// other calls on the same handle: no other thread may use `db` during or
/// after this call.
#[no_mangle]
pub unsafe extern "C" fn maph_close(db: *mut maph_t) {
    if db.is_null() {
        return;
    }
    let _ = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: `db` came from `maph_create`/`maph_open` and is closed
        // once, by contract.
        drop(unsafe { Box::from_raw(db) });
    }));
}

/// Copies the value of `key` into `buf` (capacity `buf_cap` bytes) and sets
/// `*val_len` to its length.
///
/// With too small a buffer returns `MAPH_E_BUFFER_TOO_SMALL` and still sets
/// `*val_len` to the size needed (`buf` may be NULL with `buf_cap` 0 to ask
/// for the size). Errors: `MAPH_NOT_FOUND`, `MAPH_E_INVALID_ARG` (NULL `db`,
/// `key` or `val_len`; empty key), `MAPH_E_TOO_LARGE` (key longer than a
/// slot), `MAPH_E_CORRUPT` (damaged slot), `MAPH_E_BUSY`.
///
/// Lock-free and thread-safe: takes no lock and makes no system call; it
/// retries while a writer is inside the slot and never returns a torn value.
#[no_mangle]
pub unsafe extern "C" fn maph_get(
    db: *const maph_t,
    key: *const c_void,
    key_len: usize,
    buf: *mut c_void,
    buf_cap: usize,
    val_len: *mut usize,
) -> maph_status {
    guard(|| {
        require!(db, "db");
        require!(key, "key");
        require!(val_len, "val_len");
        // SAFETY: `db` is a live handle, `key` points to `key_len` bytes and
        // `buf` to `buf_cap` writable bytes, by contract.
        let (db, key, buf) = unsafe {
            let k = match bytes(key, key_len, "key") {
                Ok(k) => k,
                Err(e) => return fail(e),
            };
            let b = match buffer(buf, buf_cap) {
                Ok(b) => b,
                Err(e) => return fail(e),
            };
            (&*db, k, b)
        };
        let r = db.store.get(key, buf);
        let (n, st) = match r {
            Ok(n) => (n, maph_status::MAPH_OK),
            Err(Error::BufferTooSmall(n)) => (n, fail(Error::BufferTooSmall(n))),
            Err(e) => return fail(e),
        };
        // SAFETY: `val_len` is non-NULL.
        unsafe { val_len.write(n) };
        st
    })
}

/// Finds `key` and points `*val` at its value inside the mapping, without
/// copying. `*val_len` gets the length and `*token` a token for
/// `maph_ptr_valid`.
///
/// The bytes behind `*val` may be changed by a writer at any time. Read
/// (copy) what you need, then call `maph_ptr_valid(db, token)`: when it
/// returns true, what you read is the whole value as it was when found. The
/// pointer stays dereferenceable until `maph_close`. Errors as `maph_get`.
/// Lock-free and thread-safe.
#[no_mangle]
pub unsafe extern "C" fn maph_get_ptr(
    db: *const maph_t,
    key: *const c_void,
    key_len: usize,
    val: *mut *const c_void,
    val_len: *mut usize,
    token: *mut u64,
) -> maph_status {
    guard(|| {
        require!(db, "db");
        require!(key, "key");
        require!(val, "val");
        require!(val_len, "val_len");
        require!(token, "token");
        // SAFETY: handle and key by contract, as in `maph_get`.
        let (db, key) = unsafe {
            match bytes(key, key_len, "key") {
                Ok(k) => (&*db, k),
                Err(e) => return fail(e),
            }
        };
        match db.store.get_ref(key) {
            Ok(r) => {
                // SAFETY: the three out-pointers are non-NULL.
                unsafe {
                    val.write(r.ptr.cast());
                    val_len.write(r.len);
                    token.write(r.token);
                }
                maph_status::MAPH_OK
            }
            Err(e) => fail(e),
        }
    })
}

/// True while the value found by `maph_get_ptr` with `token` is unchanged
/// (no writer has touched its slot since). Call it after reading the value:
/// it orders those reads before its check. False for a NULL `db` or a token
/// that names no slot. Lock-free and thread-safe.
#[no_mangle]
pub unsafe extern "C" fn maph_ptr_valid(db: *const maph_t, token: u64) -> bool {
    if db.is_null() {
        return false;
    }
    // SAFETY: `db` is a live handle by contract.
    let db = unsafe { &*db };
    catch_unwind(AssertUnwindSafe(|| db.store.ref_valid(token))).unwrap_or(false)
}

/// Sets `key` to the `val_len` bytes at `val`, inserting the key if it is
/// absent, and clears any time to live it had (`maph_replace` and
/// `maph_cas` keep it). `val` may be NULL when `val_len` is 0.
///
/// Errors: `MAPH_E_INVALID_ARG` (NULL `db` or `key`, empty key),
/// `MAPH_E_READ_ONLY`, `MAPH_E_TOO_LARGE` (key_len + val_len > slot_size -
/// 32), `MAPH_E_FULL` (no free slot within the maximum probe distance),
/// `MAPH_E_BUSY`. Thread- and process-safe: writers of one key serialize,
/// writers of different keys run in parallel, readers never wait.
#[no_mangle]
pub unsafe extern "C" fn maph_set(
    db: *mut maph_t,
    key: *const c_void,
    key_len: usize,
    val: *const c_void,
    val_len: usize,
) -> maph_status {
    guard(|| {
        // SAFETY: the caller's contract.
        match unsafe { kv(db, key, key_len, val, val_len) } {
            Ok((s, k, v)) => status(s.set(k, v)),
            Err(e) => fail(e),
        }
    })
}

/// Resolves `db`, `key` and an optional value for a write function.
///
/// # Safety
/// `db` is a live handle; `key`/`val` point to their lengths in bytes.
unsafe fn kv<'a>(
    db: *mut maph_t,
    key: *const c_void,
    key_len: usize,
    val: *const c_void,
    val_len: usize,
) -> Result<(&'a Store, &'a [u8], &'a [u8]), Error> {
    if db.is_null() || key.is_null() {
        return Err(Error::InvalidArg("db or key is NULL"));
    }
    // SAFETY: by contract.
    unsafe {
        Ok((
            &(*db).store,
            bytes(key, key_len, "key")?,
            bytes(val, val_len, "val is NULL with a non-zero length")?,
        ))
    }
}

fn status(r: Result<(), Error>) -> maph_status {
    match r {
        Ok(()) => maph_status::MAPH_OK,
        Err(e) => fail(e),
    }
}

/// Inserts `key` with value `val` only if the key is absent (atomically with
/// respect to every process). Errors: `MAPH_E_EXISTS` when present, else as
/// `maph_set`. Thread- and process-safe.
#[no_mangle]
pub unsafe extern "C" fn maph_add(
    db: *mut maph_t,
    key: *const c_void,
    key_len: usize,
    val: *const c_void,
    val_len: usize,
) -> maph_status {
    guard(|| {
        // SAFETY: the caller's contract.
        match unsafe { kv(db, key, key_len, val, val_len) } {
            Ok((s, k, v)) => status(s.add(k, v)),
            Err(e) => fail(e),
        }
    })
}

/// Sets `key` to `val` only if the key is present (keeping its expiry).
/// Errors: `MAPH_NOT_FOUND` when absent, else as `maph_set`. Thread- and
/// process-safe.
#[no_mangle]
pub unsafe extern "C" fn maph_replace(
    db: *mut maph_t,
    key: *const c_void,
    key_len: usize,
    val: *const c_void,
    val_len: usize,
) -> maph_status {
    guard(|| {
        // SAFETY: the caller's contract.
        match unsafe { kv(db, key, key_len, val, val_len) } {
            Ok((s, k, v)) => status(s.replace(k, v)),
            Err(e) => fail(e),
        }
    })
}

/// Compare-and-swap: sets `key` to `val` only if its current value is
/// byte-for-byte `expected` (`expected_len` bytes; NULL allowed with length
/// 0), keeping its expiry. Errors: `MAPH_NOT_FOUND` (absent),
/// `MAPH_E_CONFLICT` (the value differs; nothing changes), else as
/// `maph_set`. Thread- and process-safe.
#[no_mangle]
pub unsafe extern "C" fn maph_cas(
    db: *mut maph_t,
    key: *const c_void,
    key_len: usize,
    expected: *const c_void,
    expected_len: usize,
    val: *const c_void,
    val_len: usize,
) -> maph_status {
    guard(|| {
        // SAFETY: the caller's contract.
        let (s, k, v, x) = match unsafe {
            kv(db, key, key_len, val, val_len).and_then(|(s, k, v)| {
                Ok((
                    s,
                    k,
                    v,
                    bytes(expected, expected_len, "expected is NULL with a length")?,
                ))
            })
        } {
            Ok(t) => t,
            Err(e) => return fail(e),
        };
        status(s.cas(k, x, v))
    })
}

/// Adds `delta` to the signed 64-bit integer value of `key` and sets
/// `*new_value` (may be NULL) to the result. An integer value is exactly 8
/// bytes, little-endian two's complement (so `maph_get` returns those 8
/// bytes). An absent key is created with value `delta`; `delta` 0 only
/// reads. The add is atomic with respect to every process, and a process
/// killed during it leaves the add either fully applied or not at all.
/// Errors: `MAPH_NOT_FOUND` (delta 0 on an absent key),
/// `MAPH_E_NOT_INTEGER` (value not 8 bytes), `MAPH_E_OVERFLOW`; nothing
/// changes on these; else as `maph_set`. Thread- and process-safe.
#[no_mangle]
pub unsafe extern "C" fn maph_incr(
    db: *mut maph_t,
    key: *const c_void,
    key_len: usize,
    delta: i64,
    new_value: *mut i64,
) -> maph_status {
    guard(|| {
        // SAFETY: the caller's contract.
        let (s, k, _) = match unsafe { kv(db, key, key_len, std::ptr::null(), 0) } {
            Ok(t) => t,
            Err(e) => return fail(e),
        };
        match s.incr(k, delta) {
            Ok(v) => {
                if !new_value.is_null() {
                    // SAFETY: non-NULL and writable by contract.
                    unsafe { new_value.write(v) };
                }
                maph_status::MAPH_OK
            }
            Err(e) => fail(e),
        }
    })
}

/// Sets `key` to `val` with a time to live of `ttl_ms` milliseconds
/// (> 0). Times are `CLOCK_REALTIME` milliseconds, so every process of the
/// machine agrees; a clock step moves expiries with it. An expired key reads
/// as absent, its UID goes stale, and its slot is reused. Errors:
/// `MAPH_E_INVALID_ARG` (ttl 0), else as `maph_set`. Thread- and
/// process-safe.
#[no_mangle]
pub unsafe extern "C" fn maph_set_ex(
    db: *mut maph_t,
    key: *const c_void,
    key_len: usize,
    val: *const c_void,
    val_len: usize,
    ttl_ms: u64,
) -> maph_status {
    guard(|| {
        // SAFETY: the caller's contract.
        match unsafe { kv(db, key, key_len, val, val_len) } {
            Ok((s, k, v)) => status(s.set_ex(k, v, ttl_ms)),
            Err(e) => fail(e),
        }
    })
}

/// Sets the time to live of an existing `key` to `ttl_ms` milliseconds from
/// now; 0 removes its expiry. Errors: `MAPH_NOT_FOUND`, else as `maph_set`.
/// Thread- and process-safe.
#[no_mangle]
pub unsafe extern "C" fn maph_expire(
    db: *mut maph_t,
    key: *const c_void,
    key_len: usize,
    ttl_ms: u64,
) -> maph_status {
    guard(|| {
        // SAFETY: the caller's contract.
        match unsafe { kv(db, key, key_len, std::ptr::null(), 0) } {
            Ok((s, k, _)) => status(s.expire(k, ttl_ms)),
            Err(e) => fail(e),
        }
    })
}

/// Sets `*ttl_ms` to the milliseconds until `key` expires, or -1 when it
/// has no expiry. Errors: `MAPH_NOT_FOUND` (absent or expired), else as
/// `maph_get`. Lock-free, thread-safe.
#[no_mangle]
pub unsafe extern "C" fn maph_ttl(
    db: *const maph_t,
    key: *const c_void,
    key_len: usize,
    ttl_ms: *mut i64,
) -> maph_status {
    guard(|| {
        require!(ttl_ms, "ttl_ms");
        // SAFETY: the caller's contract (the handle is only read).
        let (s, k, _) = match unsafe { kv(db as *mut maph_t, key, key_len, std::ptr::null(), 0) } {
            Ok(t) => t,
            Err(e) => return fail(e),
        };
        match s.ttl(k) {
            Ok(t) => {
                let v = t.map_or(-1, |ms| ms.min(i64::MAX as u64) as i64);
                // SAFETY: non-NULL.
                unsafe { ttl_ms.write(v) };
                maph_status::MAPH_OK
            }
            Err(e) => fail(e),
        }
    })
}

/// Deletes up to `max_count` expired keys (0: all) and sets `*removed`
/// (may be NULL) to how many. Walks every slot: O(slots). Errors:
/// `MAPH_E_INVALID_ARG`, `MAPH_E_READ_ONLY`, `MAPH_E_BUSY`. Thread- and
/// process-safe.
#[no_mangle]
pub unsafe extern "C" fn maph_flush_expired(
    db: *mut maph_t,
    max_count: u64,
    removed: *mut u64,
) -> maph_status {
    guard(|| {
        require!(db, "db");
        // SAFETY: a live handle by contract.
        match unsafe { &(*db).store }.flush_expired(max_count) {
            Ok(n) => {
                if !removed.is_null() {
                    // SAFETY: non-NULL and writable by contract.
                    unsafe { removed.write(n) };
                }
                maph_status::MAPH_OK
            }
            Err(e) => fail(e),
        }
    })
}

/// Repairs every write left unfinished by a process that died (killed at
/// any instruction): each such write is completed or discarded whole, and
/// the counts follow. Sets `*repaired` (may be NULL) to how many. Lookups
/// and writes repair what they meet on their own within about a
/// millisecond; call this after killing processes, before a full check.
/// Errors: `MAPH_E_INVALID_ARG`, `MAPH_E_READ_ONLY`. Thread- and
/// process-safe.
#[no_mangle]
pub unsafe extern "C" fn maph_recover(db: *mut maph_t, repaired: *mut u64) -> maph_status {
    guard(|| {
        require!(db, "db");
        // SAFETY: a live handle by contract.
        match unsafe { &(*db).store }.recover() {
            Ok(n) => {
                if !repaired.is_null() {
                    // SAFETY: non-NULL and writable by contract.
                    unsafe { repaired.write(n as u64) };
                }
                maph_status::MAPH_OK
            }
            Err(e) => fail(e),
        }
    })
}

/// Checks every invariant of the store (every slot, every key reachable,
/// no duplicates, counts) and sets `*violations` to how many it found (0:
/// sound); the first is in `maph_last_error`. Run it with no writer active.
/// Errors: `MAPH_E_INVALID_ARG`. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn maph_check(db: *const maph_t, violations: *mut u64) -> maph_status {
    guard(|| {
        require!(db, "db");
        require!(violations, "violations");
        // SAFETY: a live handle by contract.
        let v = unsafe { &(*db).store }.check();
        if let Some(first) = v.first() {
            set_last_error(first.clone());
        }
        // SAFETY: non-NULL.
        unsafe { violations.write(v.len() as u64) };
        maph_status::MAPH_OK
    })
}

/// Deletes `key`, leaving a tombstone in its slot. Errors: `MAPH_NOT_FOUND`,
/// `MAPH_E_INVALID_ARG`, `MAPH_E_READ_ONLY`, `MAPH_E_BUSY`. Thread- and
/// process-safe.
#[no_mangle]
pub unsafe extern "C" fn maph_del(
    db: *mut maph_t,
    key: *const c_void,
    key_len: usize,
) -> maph_status {
    guard(|| {
        // SAFETY: the caller's contract.
        match unsafe { kv(db, key, key_len, std::ptr::null(), 0) } {
            Ok((s, k, _)) => status(s.del(k)),
            Err(e) => fail(e),
        }
    })
}

/// Writes the whole mapping to the file and waits (`msync(MS_SYNC)`).
/// Errors: `MAPH_E_INVALID_ARG` (NULL), `MAPH_E_IO`. On a read-only handle
/// there is nothing to write and it returns `MAPH_OK`. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn maph_sync(db: *mut maph_t) -> maph_status {
    guard(|| {
        require!(db, "db");
        // SAFETY: a live handle by contract.
        let db = unsafe { &*db };
        if !db.store.writable() {
            return maph_status::MAPH_OK;
        }
        match db.store.sync() {
            Ok(()) => maph_status::MAPH_OK,
            Err(e) => fail(e),
        }
    })
}

/// Faults the whole store into this process's page tables now
/// (`madvise(MADV_POPULATE_READ)`, Linux 5.14+), so that later lookups take
/// no first-touch page fault. Call it in each worker after `fork()`: a child
/// inherits the mapping but not its page-table entries, and without this its
/// first touch of every 4 KiB page costs a minor fault (W3's GET p99 was
/// 2–2.7 µs without it, ~0.8 µs with it). Takes about 45 ms per GiB of table
/// in memory (BENCHMARKS.md, W3); for a file not in the page cache it reads
/// the file. Errors: `MAPH_E_INVALID_ARG` (NULL), `MAPH_E_IO` (for
/// example on kernels before 5.14). Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn maph_prefault(db: *const maph_t) -> maph_status {
    guard(|| {
        require!(db, "db");
        // SAFETY: a live handle by contract.
        status(unsafe { &(*db).store }.prefault())
    })
}

/// Fills `*out` with the store's counters: keys, slots, load factor,
/// tombstones, longest probe distance, slot size and capacity, file size.
/// The counters are read without a lock and may be a moment old under
/// concurrent writes. Errors: `MAPH_E_INVALID_ARG` (NULL). Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn maph_stats(db: *const maph_t, out: *mut maph_stats_t) -> maph_status {
    guard(|| {
        require!(db, "db");
        require!(out, "out");
        // SAFETY: a live handle by contract.
        let store = unsafe { &(*db).store };
        let s = store.stats();
        let o = maph_stats_t {
            keys: s.keys,
            slots: s.slots,
            tombstones: s.tombstones,
            file_bytes: s.file_bytes,
            generation: s.generation,
            load_factor: s.load_factor,
            slot_size: s.slot_size,
            slot_capacity: s.slot_capacity,
            max_probes: s.max_probes,
            longest_probe: s.longest_probe,
            mphf_in_use: u32::from(store.mphf_in_use()),
            mphf_keys: s.mphf_keys,
            keys_outside_mphf: s.keys_outside_mphf,
        };
        // SAFETY: `out` is non-NULL and points to a `maph_stats_t`.
        unsafe { out.write(o) };
        maph_status::MAPH_OK
    })
}

/// Builds a minimal perfect hash (BBHash, via boomphf, gamma 2) over the
/// keys present and stores it in the file; every process and every reopen
/// uses it. Keys never move. Afterwards a lookup of a key present at the
/// time computes the MPHF and reads exactly one slot; other keys (inserted
/// later, or re-inserted) are found by probing as before.
///
/// Cost: one pass over the slots plus the construction (see BENCHMARKS.md
/// for ns per key), about 2.5 bytes per key in the file and in each process
/// that uses it. Call again when `maph_stats_t.keys_outside_mphf` passes
/// about 20% of the keys.
///
/// Readers are never blocked and never miss a key; writers, here and in
/// other processes, may go on writing. Other handles pick the new MPHF up on
/// their next lookup. A crash in the middle leaves the previous MPHF (or
/// none) in force. Errors: `MAPH_E_INVALID_ARG` (NULL), `MAPH_E_READ_ONLY`,
/// `MAPH_E_BUSY` (another optimize holds the lock past 2 s), `MAPH_E_IO`.
/// Thread- and process-safe.
#[no_mangle]
pub unsafe extern "C" fn maph_optimize(db: *mut maph_t) -> maph_status {
    guard(|| {
        require!(db, "db");
        // SAFETY: a live handle by contract.
        match unsafe { &*db }.store.optimize() {
            Ok(_) => maph_status::MAPH_OK,
            Err(e) => fail(e),
        }
    })
}

/// Sets `*uid` to the UID of `key`: a 64-bit id that stays valid until the
/// key is deleted, across `maph_optimize`, reopen and processes. Errors as
/// `maph_get` (`MAPH_NOT_FOUND` when the key is absent). Lock-free,
/// thread-safe.
#[no_mangle]
pub unsafe extern "C" fn maph_uid(
    db: *const maph_t,
    key: *const c_void,
    key_len: usize,
    uid: *mut u64,
) -> maph_status {
    guard(|| {
        require!(db, "db");
        require!(key, "key");
        require!(uid, "uid");
        // SAFETY: handle and key by contract.
        let (db, key) = unsafe {
            match bytes(key, key_len, "key") {
                Ok(k) => (&*db, k),
                Err(e) => return fail(e),
            }
        };
        match db.store.uid(key) {
            Ok(u) => {
                // SAFETY: non-NULL.
                unsafe { uid.write(u) };
                maph_status::MAPH_OK
            }
            Err(e) => fail(e),
        }
    })
}

/// Shared body of the two UID reads.
///
/// # Safety
/// As `maph_get_by_uid`.
unsafe fn uid_read(
    db: *const maph_t,
    uid: u64,
    buf: *mut c_void,
    buf_cap: usize,
    len: *mut usize,
    key: bool,
) -> maph_status {
    guard(|| {
        require!(db, "db");
        require!(len, "length out-parameter");
        // SAFETY: handle and buffer by contract.
        let (db, buf) = unsafe {
            match buffer(buf, buf_cap) {
                Ok(b) => (&*db, b),
                Err(e) => return fail(e),
            }
        };
        let r = if key {
            db.store.key_by_uid(uid, buf)
        } else {
            db.store.get_by_uid(uid, buf)
        };
        let (n, st) = match r {
            Ok(n) => (n, maph_status::MAPH_OK),
            Err(Error::BufferTooSmall(n)) => (n, fail(Error::BufferTooSmall(n))),
            Err(e) => return fail(e),
        };
        // SAFETY: non-NULL.
        unsafe { len.write(n) };
        st
    })
}

/// Copies the value of the key with `uid` into `buf`, without hashing or
/// probing: one slot read. A UID of a deleted key answers `MAPH_NOT_FOUND`,
/// even after its slot holds another key: never another key's value.
/// Errors: `MAPH_NOT_FOUND`, `MAPH_E_BUFFER_TOO_SMALL` (with `*val_len` set
/// to the size needed), `MAPH_E_INVALID_ARG`, `MAPH_E_CORRUPT`,
/// `MAPH_E_BUSY`. Lock-free, thread-safe.
#[no_mangle]
pub unsafe extern "C" fn maph_get_by_uid(
    db: *const maph_t,
    uid: u64,
    buf: *mut c_void,
    buf_cap: usize,
    val_len: *mut usize,
) -> maph_status {
    // SAFETY: the caller's contract is the same.
    unsafe { uid_read(db, uid, buf, buf_cap, val_len, false) }
}

/// Copies the key with `uid` into `buf` and sets `*key_len`. Errors as
/// `maph_get_by_uid`. Lock-free, thread-safe.
#[no_mangle]
pub unsafe extern "C" fn maph_get_key_by_uid(
    db: *const maph_t,
    uid: u64,
    buf: *mut c_void,
    buf_cap: usize,
    key_len: *mut usize,
) -> maph_status {
    // SAFETY: the caller's contract is the same.
    unsafe { uid_read(db, uid, buf, buf_cap, key_len, true) }
}

/// Deletes the key with `uid`. Errors: `MAPH_NOT_FOUND` (already deleted:
/// a key re-inserted since has a new UID and is left alone),
/// `MAPH_E_INVALID_ARG`, `MAPH_E_READ_ONLY`, `MAPH_E_BUSY`. Thread- and
/// process-safe.
#[no_mangle]
pub unsafe extern "C" fn maph_del_by_uid(db: *mut maph_t, uid: u64) -> maph_status {
    guard(|| {
        require!(db, "db");
        // SAFETY: a live handle by contract.
        match unsafe { &*db }.store.del_by_uid(uid) {
            Ok(()) => maph_status::MAPH_OK,
            Err(e) => fail(e),
        }
    })
}

/// Looks up `n` keys at once. Key `i` is `keys[i]` (`key_lens[i]` bytes);
/// its value is **copied** into `bufs[i]` (capacity `buf_caps[i]`; NULL
/// with capacity 0 asks only the size), its length goes to `val_lens[i]`
/// (set also with `MAPH_E_BUFFER_TOO_SMALL`, to the size needed), and its
/// status to `statuses[i]` (`MAPH_OK`, `MAPH_NOT_FOUND`, or an error as
/// `maph_get`; a NULL `keys[i]` gets `MAPH_E_INVALID_ARG`).
///
/// Keys are hashed in groups of 16 (AVX2 where the CPU has it) and their
/// slots prefetched before they are read, so the memory accesses overlap;
/// after `maph_optimize` the MPHF picks the slot. Returns `MAPH_OK` when
/// the call was well-formed (look at `statuses` for each key), or
/// `MAPH_E_INVALID_ARG` when `db` or an array is NULL with `n` > 0.
/// Lock-free, thread-safe.
#[no_mangle]
pub unsafe extern "C" fn maph_mget(
    db: *const maph_t,
    n: usize,
    keys: *const *const c_void,
    key_lens: *const usize,
    bufs: *const *mut c_void,
    buf_caps: *const usize,
    val_lens: *mut usize,
    statuses: *mut maph_status,
) -> maph_status {
    guard(|| {
        require!(db, "db");
        if n == 0 {
            return maph_status::MAPH_OK;
        }
        require!(keys, "keys");
        require!(key_lens, "key_lens");
        require!(bufs, "bufs");
        require!(buf_caps, "buf_caps");
        require!(val_lens, "val_lens");
        require!(statuses, "statuses");
        // SAFETY: a live handle by contract.
        let store = unsafe { &(*db).store };
        const G: usize = crate::batch::GROUP;
        for start in (0..n).step_by(G) {
            let m = G.min(n - start);
            let mut ks: [&[u8]; G] = [&[]; G];
            let mut bs: [&mut [u8]; G] = Default::default();
            let mut out: [crate::Result<usize>; G] = std::array::from_fn(|_| Ok(0));
            let mut bad = [false; G];
            for j in 0..m {
                let i = start + j;
                // SAFETY: the arrays hold `n` elements each and each key
                // and buffer pointer is valid for its length, by contract.
                unsafe {
                    match (
                        bytes(*keys.add(i), *key_lens.add(i), "key"),
                        buffer(*bufs.add(i), *buf_caps.add(i)),
                    ) {
                        (Ok(k), Ok(b)) if !(*keys.add(i)).is_null() => {
                            ks[j] = k;
                            bs[j] = b;
                        }
                        _ => bad[j] = true,
                    }
                }
            }
            store.mget(&ks[..m], &mut bs[..m], &mut out[..m]);
            for j in 0..m {
                let i = start + j;
                let (len, st) = if bad[j] {
                    (
                        0,
                        fail(Error::InvalidArg(
                            "keys[i] is NULL or a length is out of range",
                        )),
                    )
                } else {
                    match &out[j] {
                        Ok(l) => (*l, maph_status::MAPH_OK),
                        Err(Error::BufferTooSmall(l)) => {
                            (*l, status_of(&Error::BufferTooSmall(*l)))
                        }
                        Err(e) => (0, fail(e.clone())),
                    }
                };
                // SAFETY: the out-arrays hold `n` elements by contract.
                unsafe {
                    val_lens.add(i).write(len);
                    statuses.add(i).write(st);
                }
            }
        }
        maph_status::MAPH_OK
    })
}

/// Sets `n` keys at once: `keys[i]` (`key_lens[i]` bytes) to `vals[i]`
/// (`val_lens[i]` bytes; NULL allowed with length 0); `statuses[i]` gets
/// each key's status, as `maph_set`. Each key is set atomically; the batch
/// is not a transaction. Keys are hashed in groups and their home slots
/// prefetched. Returns `MAPH_OK` when the call was well-formed,
/// `MAPH_E_INVALID_ARG` when `db` or an array is NULL with `n` > 0.
/// Thread- and process-safe.
#[no_mangle]
pub unsafe extern "C" fn maph_mset(
    db: *mut maph_t,
    n: usize,
    keys: *const *const c_void,
    key_lens: *const usize,
    vals: *const *const c_void,
    val_lens: *const usize,
    statuses: *mut maph_status,
) -> maph_status {
    guard(|| {
        require!(db, "db");
        if n == 0 {
            return maph_status::MAPH_OK;
        }
        require!(keys, "keys");
        require!(key_lens, "key_lens");
        require!(vals, "vals");
        require!(val_lens, "val_lens");
        require!(statuses, "statuses");
        // SAFETY: a live handle by contract.
        let store = unsafe { &(*db).store };
        const G: usize = crate::batch::GROUP;
        for start in (0..n).step_by(G) {
            let m = G.min(n - start);
            let mut ks: [&[u8]; G] = [&[]; G];
            let mut vs: [&[u8]; G] = [&[]; G];
            let mut out: [crate::Result<()>; G] = std::array::from_fn(|_| Ok(()));
            let mut bad = [false; G];
            for j in 0..m {
                let i = start + j;
                // SAFETY: arrays of `n` elements, each pointer valid for its
                // length, by contract.
                unsafe {
                    match (
                        bytes(*keys.add(i), *key_lens.add(i), "key"),
                        bytes(*vals.add(i), *val_lens.add(i), "val"),
                    ) {
                        (Ok(k), Ok(v)) if !(*keys.add(i)).is_null() => {
                            ks[j] = k;
                            vs[j] = v;
                        }
                        _ => bad[j] = true,
                    }
                }
            }
            store.mset(&ks[..m], &vs[..m], &mut out[..m]);
            for j in 0..m {
                let st = if bad[j] {
                    fail(Error::InvalidArg(
                        "keys[i] is NULL or vals[i] is NULL with a length",
                    ))
                } else {
                    match &out[j] {
                        Ok(()) => maph_status::MAPH_OK,
                        Err(e) => fail(e.clone()),
                    }
                };
                // SAFETY: `statuses` holds `n` elements by contract.
                unsafe { statuses.add(start + j).write(st) };
            }
        }
        maph_status::MAPH_OK
    })
}

/// A static, NUL-terminated English message for a status; an unknown value
/// gets "unknown status". Never NULL. Thread-safe.
#[no_mangle]
pub extern "C" fn maph_strerror(status: u32) -> *const c_char {
    let s: &'static CStr = match status {
        0 => c"success",
        1 => c"key not found",
        2 => c"invalid argument",
        3 => c"I/O error",
        4 => c"corrupt store",
        5 => c"unsupported store version",
        6 => c"store full",
        7 => c"key and value too large for a slot",
        8 => c"buffer too small",
        9 => c"store is read-only",
        10 => c"busy",
        11 => c"internal error (panic)",
        12 => c"already exists",
        13 => c"empty",
        14 => c"timed out",
        15 => c"conflicts with the current state",
        16 => c"value is not an 8-byte integer",
        17 => c"integer overflow",
        _ => c"unknown status",
    };
    s.as_ptr()
}

/// The detail of the calling thread's last failed call (for example
/// "corrupt store: file is truncated"), or "" when there was none. The
/// string belongs to maph and stays valid until the thread's next maph call.
/// Never NULL. Thread-safe (one message per thread).
#[no_mangle]
pub extern "C" fn maph_last_error() -> *const c_char {
    // `try_with`: called from a thread-exit destructor, after the thread's
    // locals are gone, it answers "" instead of panicking into C.
    LAST_ERROR
        .try_with(|l| l.try_borrow().map_or(c"".as_ptr(), |m| m.as_ptr()))
        .unwrap_or(c"".as_ptr())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_maps_to_its_own_status() {
        let all = [
            Error::NotFound,
            Error::InvalidArg(""),
            Error::Io(0, ""),
            Error::Corrupt(""),
            Error::Version(""),
            Error::Full,
            Error::TooLarge(""),
            Error::BufferTooSmall(0),
            Error::ReadOnly,
            Error::Busy,
            Error::Exists,
            Error::Empty,
            Error::Timeout,
            Error::Conflict(""),
            Error::NotInteger,
            Error::Overflow,
        ];
        // NoSpace shares Full's status on purpose: both say "no room".
        assert_eq!(
            status_of(&Error::NoSpace {
                bytes: 1,
                errno: libc::ENOSPC,
                what: ""
            }),
            maph_status::MAPH_E_FULL
        );
        let mut seen: Vec<u32> = all.iter().map(|e| status_of(e) as u32).collect();
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), all.len());
        assert!(!seen.contains(&0));
    }

    #[test]
    fn a_panic_becomes_a_status_not_an_unwind() {
        let s = guard(|| panic!("boom"));
        assert_eq!(s, maph_status::MAPH_E_PANIC);
        // SAFETY: the returned string is NUL-terminated and owned by maph.
        let msg = unsafe { CStr::from_ptr(maph_last_error()) }
            .to_str()
            .unwrap();
        assert!(msg.contains("boom"), "{msg}");
    }
}
