//! The C ABI of a store: create, open, close, reads, writes, TTL, upkeep
//! and counters (`maph_*`), over `store::Store`. Every function goes through
//! the boundary in `ffi/mod.rs` (see its safety contract).

use std::ffi::{c_char, c_void};
use std::os::unix::ffi::OsStrExt;

use super::{
    buffer, bytes, c_str, call, call_value, free_handle, hand_out, handle, key_arg, maph_status,
    opt_out, out_param, set_last_error,
};
use crate::error::Error;
use crate::store::{OpenMode, Options, Store};

/// Open an existing store for reading only.
pub const MAPH_RDONLY: u32 = 1;
/// Open an existing store for reading and writing.
pub const MAPH_RDWR: u32 = 2;

/// An open store. Opaque; made by `maph_create` or `maph_open`, freed by
/// `maph_close`. One handle may be used from many threads at once: every
/// function but `maph_close` is thread-safe. A handle stays usable in the
/// child after `fork()` (the mapping is shared, not copied).
pub struct maph_t {
    pub(crate) store: Store,
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

/// Parameters of a new store. Fill with `maph_options_default`, then change
/// what you need.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct maph_options {
    /// Number of slots, 1 to 2^32-1. One key per slot. Default 65536.
    /// 0 creates a growing store: 1,024 slots at first, then levels of
    /// doubling size added as keys arrive (up to `max_bytes`); keys never
    /// move, so UIDs and `maph_get_ptr` pointers stay valid as it grows.
    /// A growing store cannot be `MAPH_CREATE_SPARSE`.
    pub slots: u64,
    /// Bytes per slot: a power of two from 64 to 65536. Default 128. A
    /// record whose key plus value fit `slot_size - 16` bytes (8 fewer for one
    /// with an expiry time) is stored in
    /// its slot; a larger one in the store's heap (`heap_bytes`).
    pub slot_size: u32,
    /// Maximum probe distance, 1 to `slots`; 0 picks min(1024, slots).
    pub max_probes: u32,
    /// File mode bits for a new file (as for open(2), the umask applies);
    /// 0 means 0600. Default 0600.
    pub mode: u32,
    /// Entries of the same-key lock table, a power of two up to 2^20; 0 picks
    /// one from the store's size: a power of two of at most 4096 entries, at
    /// most about 4 MiB of table (each entry takes 64 + slot_size bytes), at
    /// least 16, and no more than `slots` rounded up to a power of two.
    pub lock_count: u32,
    /// Hash seed; 0 (the default) draws a random one.
    pub seed: u64,
    /// Creation flags: 0 (the default) or `MAPH_CREATE_SPARSE`. Other bits
    /// are `MAPH_E_INVALID_ARG`.
    pub flags: u64,
    /// Bytes of the value heap, where records too large for their slot
    /// live (keys up to 65,535 bytes, values up to 1 GiB), rounded up to
    /// 4 KiB. 0 (the default) picks the larger of a quarter of the slots'
    /// bytes and 128 bytes per slot (`max(slots * slot_size / 4,
    /// slots * 128)`), at least 64 KiB. Reserved on the file
    /// system as it is used (1 MiB first, then doubling steps of at most 64 MiB): an
    /// insert that needs more than a full file system has answers
    /// `MAPH_E_FULL`. A record larger than the
    /// heap answers `MAPH_E_TOO_LARGE`; one the heap has no free extent for
    /// now answers `MAPH_E_FULL`. (Added in 0.2 in former reserved space.)
    pub heap_bytes: u64,
    /// A growing store's limit (`slots` 0): the most bytes it reserves on
    /// its file system, slots and heap together; it answers `MAPH_E_FULL`
    /// past it. 0 (the default) takes the size of the file system it is
    /// created on (for an anonymous store, of physical memory), at most
    /// 1 TiB. The store maps about twice this much address space up front
    /// (none of it taken until used). Must be 0 for a store of fixed size
    /// (`MAPH_E_INVALID_ARG`). (Added in 0.3 in former reserved space.)
    pub max_bytes: u64,
    /// Reserved for later options; must be zero.
    pub reserved: [u64; 1],
}

/// Counters of a store's value heap, filled by `maph_heap_stats`. All in
/// bytes.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct maph_heap_stats_t {
    /// Bytes of the heap section.
    pub bytes: u64,
    /// Bytes of extents in use (per-extent 16-byte headers and size-class
    /// rounding included).
    pub used: u64,
    /// Bytes of freed extents on the free lists, reused by records of their
    /// size class.
    pub free: u64,
    /// Bytes never allocated yet.
    pub untouched: u64,
    /// Largest extent one allocation can get now: the larger of
    /// `untouched` and the largest free extent.
    pub largest_free: u64,
    /// Reserved; written as zero.
    pub reserved: [u64; 3],
}

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
    /// Largest key length plus value length, in bytes (slot_size - 16).
    pub slot_capacity: u32,
    /// Maximum probe distance.
    pub max_probes: u32,
    /// Longest probe distance any insert needed (0: its home slot).
    pub longest_probe: u32,
    /// 1 while lookups on this handle use an MPHF, else 0.
    pub mphf_in_use: u32,
    /// Keys in the current MPHF, as built by the last `maph_optimize`.
    pub mphf_keys: u64,
    /// Keys that no MPHF covers and that lookups find by probing: every key
    /// of a store never optimized, else the keys inserted since the last
    /// `maph_optimize` (capped at `keys`). Call `maph_optimize` when this
    /// passes about 20% of `keys`.
    pub keys_outside_mphf: u64,
}

/// The Rust options of C options (NULL: the defaults).
///
/// # Safety
/// A non-NULL `opts` points to a `maph_options`.
unsafe fn options_from_c(opts: *const maph_options) -> Result<Options, Error> {
    // SAFETY: the caller's contract.
    let Some(c) = (unsafe { opts.as_ref() }) else {
        return Ok(Options::default());
    };
    if c.reserved != [0; 1] {
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
        heap_bytes: c.heap_bytes,
        sparse: c.flags & MAPH_CREATE_SPARSE != 0,
        max_bytes: c.max_bytes,
    })
}

/// The open mode of `MAPH_RDONLY`/`MAPH_RDWR`.
pub(crate) fn open_mode(flags: u32) -> Result<OpenMode, Error> {
    match flags {
        MAPH_RDONLY => Ok(OpenMode::ReadOnly),
        MAPH_RDWR => Ok(OpenMode::ReadWrite),
        _ => Err(Error::InvalidArg("flags must be MAPH_RDONLY or MAPH_RDWR")),
    }
}

/// The store behind a handle.
///
/// # Safety
/// A non-NULL `db` is a live handle (the C contract).
pub(crate) unsafe fn store<'a>(db: *const maph_t) -> Result<&'a Store, Error> {
    // SAFETY: the caller's contract.
    Ok(&unsafe { handle(db, "db is NULL") }?.store)
}

/// Creates a store with `make` and boxes it into `*out`.
///
/// # Safety
/// As `hand_out`; a non-NULL `opts` points to a `maph_options`.
pub(crate) unsafe fn create_into(
    out: *mut *mut maph_t, opts: *const maph_options,
    make: impl FnOnce(&Options) -> Result<Store, Error>,
) -> Result<(), Error> {
    // SAFETY: the caller's contract.
    unsafe { hand_out(out, || make(&options_from_c(opts)?).map(|store| maph_t { store })) }
}

/// Fills `*opts` with the defaults: 65536 slots of 128 bytes, mode 0600,
/// and 0 ("pick at creation") for `max_probes` (then min(1024, slots)),
/// `lock_count` (then up to 4096 entries, at most ~4 MiB of lock table) and
/// `seed` (then a random one). Does nothing when `opts` is NULL.
/// Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn maph_options_default(opts: *mut maph_options) {
    call_value((), || {
        let d = Options::default();
        // SAFETY: a non-NULL `opts` points to a `maph_options` (contract).
        unsafe { opt_out(opts) }.set(maph_options {
            slots: d.slots,
            slot_size: d.slot_size,
            max_probes: d.max_probes,
            mode: d.mode,
            lock_count: d.lock_count,
            seed: d.seed,
            flags: 0,
            heap_bytes: 0,
            max_bytes: 0,
            reserved: [0; 1],
        })
    })
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
/// `MAPH_CREATE_SPARSE`, the whole object — but the heap and the MPHF
/// banks, reserved when first used (by an insert, by `maph_optimize`) — is
/// reserved on its file system
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
    path: *const c_char, opts: *const maph_options, out: *mut *mut maph_t,
) -> maph_status {
    // SAFETY: the C contract (ffi/mod.rs).
    call(|| unsafe {
        create_into(out, opts, |o| {
            Store::create(
                std::path::Path::new(std::ffi::OsStr::from_bytes(c_str(path, "path is NULL")?)),
                o,
            )
        })
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
    path: *const c_char, flags: u32, out: *mut *mut maph_t,
) -> maph_status {
    call(|| {
        // SAFETY: the C contract (ffi/mod.rs).
        unsafe {
            hand_out(out, || {
                let p = std::ffi::OsStr::from_bytes(c_str(path, "path is NULL")?);
                Ok(maph_t { store: Store::open(p, open_mode(flags)?)? })
            })
        }
    })
}

/// Closes a store: unmaps it and closes the file. Writes already made stay
/// in the page cache and reach the file as the kernel writes back; call
/// `maph_sync` first for durability. NULL is fine. Not thread-safe with
/// other calls on the same handle: no other thread may use `db` during or
/// after this call.
#[no_mangle]
pub unsafe extern "C" fn maph_close(db: *mut maph_t) {
    // SAFETY: `db` came from a create/open call and is closed once (contract).
    unsafe { free_handle(db) }
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
    db: *const maph_t, key: *const c_void, key_len: usize, buf: *mut c_void, buf_cap: usize,
    val_len: *mut usize,
) -> maph_status {
    call(|| {
        // SAFETY: the C contract (ffi/mod.rs).
        let (s, k, b, len) = unsafe {
            (
                store(db)?,
                key_arg(key, key_len)?,
                buffer(buf, buf_cap)?,
                out_param(val_len, "val_len is NULL")?,
            )
        };
        let r = s.get(k, b);
        if let Ok(n) | Err(Error::BufferTooSmall(n)) = r {
            len.set(n);
        }
        r.map(drop)
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
    db: *const maph_t, key: *const c_void, key_len: usize, val: *mut *const c_void,
    val_len: *mut usize, token: *mut u64,
) -> maph_status {
    call(|| {
        // SAFETY: the C contract (ffi/mod.rs).
        let (s, k, v, l, t) = unsafe {
            (
                store(db)?,
                key_arg(key, key_len)?,
                out_param(val, "val is NULL")?,
                out_param(val_len, "val_len is NULL")?,
                out_param(token, "token is NULL")?,
            )
        };
        let r = s.get_ref(k)?;
        v.set(r.ptr.cast());
        l.set(r.len);
        t.put(r.token)
    })
}

/// True while the value found by `maph_get_ptr` with `token` is unchanged
/// (no writer has touched its slot since). Call it after reading the value:
/// it orders those reads before its check. False for a NULL `db` or a token
/// that names no slot. Lock-free and thread-safe.
#[no_mangle]
pub unsafe extern "C" fn maph_ptr_valid(db: *const maph_t, token: u64) -> bool {
    call_value(false, || {
        // SAFETY: the C contract (ffi/mod.rs).
        unsafe { store(db) }.is_ok_and(|s| s.ref_valid(token))
    })
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
    db: *mut maph_t, key: *const c_void, key_len: usize, val: *const c_void, val_len: usize,
) -> maph_status {
    // SAFETY: the C contract (ffi/mod.rs).
    call(|| unsafe {
        store(db)?.set(key_arg(key, key_len)?, bytes(val, val_len, "val is NULL with a length")?)
    })
}

/// Inserts `key` with value `val` only if the key is absent (atomically with
/// respect to every process). Errors: `MAPH_E_EXISTS` when present, else as
/// `maph_set`. Thread- and process-safe.
#[no_mangle]
pub unsafe extern "C" fn maph_add(
    db: *mut maph_t, key: *const c_void, key_len: usize, val: *const c_void, val_len: usize,
) -> maph_status {
    // SAFETY: the C contract (ffi/mod.rs).
    call(|| unsafe {
        store(db)?.add(key_arg(key, key_len)?, bytes(val, val_len, "val is NULL with a length")?)
    })
}

/// Sets `key` to `val` only if the key is present (keeping its expiry).
/// Errors: `MAPH_NOT_FOUND` when absent, else as `maph_set`. Thread- and
/// process-safe.
#[no_mangle]
pub unsafe extern "C" fn maph_replace(
    db: *mut maph_t, key: *const c_void, key_len: usize, val: *const c_void, val_len: usize,
) -> maph_status {
    // SAFETY: the C contract (ffi/mod.rs).
    call(|| unsafe {
        store(db)?
            .replace(key_arg(key, key_len)?, bytes(val, val_len, "val is NULL with a length")?)
    })
}

/// Compare-and-swap: sets `key` to `val` only if its current value is
/// byte-for-byte `expected` (`expected_len` bytes; NULL allowed with length
/// 0), keeping its expiry. Errors: `MAPH_NOT_FOUND` (absent),
/// `MAPH_E_CONFLICT` (the value differs; nothing changes), else as
/// `maph_set`. Thread- and process-safe.
#[no_mangle]
pub unsafe extern "C" fn maph_cas(
    db: *mut maph_t, key: *const c_void, key_len: usize, expected: *const c_void,
    expected_len: usize, val: *const c_void, val_len: usize,
) -> maph_status {
    call(|| {
        // SAFETY: the C contract (ffi/mod.rs).
        let (s, k, x, v) = unsafe {
            (
                store(db)?,
                key_arg(key, key_len)?,
                bytes(expected, expected_len, "expected is NULL with a length")?,
                bytes(val, val_len, "val is NULL with a length")?,
            )
        };
        s.cas(k, x, v)
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
    db: *mut maph_t, key: *const c_void, key_len: usize, delta: i64, new_value: *mut i64,
) -> maph_status {
    // SAFETY: the C contract (ffi/mod.rs).
    call(|| unsafe { opt_out(new_value).put(store(db)?.incr(key_arg(key, key_len)?, delta)?) })
}

/// Sets `key` to `val` with a time to live of `ttl_ms` milliseconds
/// (> 0). Times are `CLOCK_REALTIME` milliseconds, so every process of the
/// machine agrees; a clock step moves expiries with it. An expired key reads
/// as absent, its UID goes stale, and its slot is reused. Errors:
/// `MAPH_E_INVALID_ARG` (ttl 0), else as `maph_set`. Thread- and
/// process-safe.
#[no_mangle]
pub unsafe extern "C" fn maph_set_ex(
    db: *mut maph_t, key: *const c_void, key_len: usize, val: *const c_void, val_len: usize,
    ttl_ms: u64,
) -> maph_status {
    // SAFETY: the C contract (ffi/mod.rs).
    call(|| unsafe {
        store(db)?.set_ex(
            key_arg(key, key_len)?,
            bytes(val, val_len, "val is NULL with a length")?,
            ttl_ms,
        )
    })
}

/// Sets the time to live of an existing `key` to `ttl_ms` milliseconds from
/// now; 0 removes its expiry. Errors: `MAPH_NOT_FOUND`, else as `maph_set`.
/// Thread- and process-safe.
#[no_mangle]
pub unsafe extern "C" fn maph_expire(
    db: *mut maph_t, key: *const c_void, key_len: usize, ttl_ms: u64,
) -> maph_status {
    // SAFETY: the C contract (ffi/mod.rs).
    call(|| unsafe { store(db)?.expire(key_arg(key, key_len)?, ttl_ms) })
}

/// Sets `*ttl_ms` to the milliseconds until `key` expires, or -1 when it
/// has no expiry. Errors: `MAPH_NOT_FOUND` (absent or expired), else as
/// `maph_get`. Lock-free, thread-safe.
#[no_mangle]
pub unsafe extern "C" fn maph_ttl(
    db: *const maph_t, key: *const c_void, key_len: usize, ttl_ms: *mut i64,
) -> maph_status {
    call(|| {
        // SAFETY: the C contract (ffi/mod.rs).
        let (o, t) = unsafe {
            (out_param(ttl_ms, "ttl_ms is NULL")?, store(db)?.ttl(key_arg(key, key_len)?)?)
        };
        o.put(t.map_or(-1, |ms| ms.min(i64::MAX as u64) as i64))
    })
}

/// Deletes up to `max_count` expired keys (0: all) and sets `*removed`
/// (may be NULL) to how many. Walks every slot: O(slots). Errors:
/// `MAPH_E_INVALID_ARG`, `MAPH_E_READ_ONLY`, `MAPH_E_BUSY`. Thread- and
/// process-safe.
#[no_mangle]
pub unsafe extern "C" fn maph_flush_expired(
    db: *mut maph_t, max_count: u64, removed: *mut u64,
) -> maph_status {
    // SAFETY: the C contract (ffi/mod.rs).
    call(|| unsafe { opt_out(removed).put(store(db)?.flush_expired(max_count)?) })
}

/// Repairs every write left unfinished by a process that died (killed at
/// any instruction): each such write is completed or discarded whole, and
/// the counts follow. After a machine crash (power loss) it also publishes
/// slots left locked with no writer inside, rewrites control bytes that
/// disagree with their slots, drops keys that lookups cannot reach (only
/// writes after the last `maph_sync` can be such) and recounts keys and
/// tombstones when no writer holds a lock. Sets `*repaired` (may be NULL)
/// to how many entries and slots it repaired. Lookups and writes repair
/// dead writers' writes they meet on their own within about a millisecond;
/// call this after killing processes or a crash, before a full check. Reads
/// every slot. Errors: `MAPH_E_INVALID_ARG`, `MAPH_E_READ_ONLY`,
/// `MAPH_E_BUSY` (a slot stayed locked by a live writer). Thread- and
/// process-safe.
#[no_mangle]
pub unsafe extern "C" fn maph_recover(db: *mut maph_t, repaired: *mut u64) -> maph_status {
    // SAFETY: the C contract (ffi/mod.rs).
    call(|| unsafe { opt_out(repaired).put(store(db)?.recover()? as u64) })
}

/// Checks every invariant of the store (every slot, every key reachable,
/// no duplicates, counts) and sets `*violations` to how many it found (0:
/// sound); the first is in `maph_last_error`. Run it with no writer active.
/// Errors: `MAPH_E_INVALID_ARG`. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn maph_check(db: *const maph_t, violations: *mut u64) -> maph_status {
    call(|| {
        // SAFETY: the C contract (ffi/mod.rs).
        let (s, o) = unsafe { (store(db)?, out_param(violations, "violations is NULL")?) };
        let v = s.check();
        if let Some(first) = v.first() {
            set_last_error(first.clone());
        }
        o.put(v.len() as u64)
    })
}

/// Deletes `key`, leaving a tombstone in its slot. Errors: `MAPH_NOT_FOUND`,
/// `MAPH_E_INVALID_ARG`, `MAPH_E_READ_ONLY`, `MAPH_E_BUSY`. Thread- and
/// process-safe.
#[no_mangle]
pub unsafe extern "C" fn maph_del(
    db: *mut maph_t, key: *const c_void, key_len: usize,
) -> maph_status {
    // SAFETY: the C contract (ffi/mod.rs).
    call(|| unsafe { store(db)?.del(key_arg(key, key_len)?) })
}

/// Writes the whole mapping to the file and waits (`msync(MS_SYNC)`).
/// Errors: `MAPH_E_INVALID_ARG` (NULL), `MAPH_E_IO`. On a read-only handle
/// there is nothing to write and it returns `MAPH_OK`. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn maph_sync(db: *mut maph_t) -> maph_status {
    call(|| {
        // SAFETY: the C contract (ffi/mod.rs).
        let s = unsafe { store(db) }?;
        if s.writable() {
            s.sync()?;
        }
        Ok(())
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
    // SAFETY: the C contract (ffi/mod.rs).
    call(|| unsafe { store(db) }?.prefault())
}

/// Fills `*out` with the store's counters: keys, slots, load factor,
/// tombstones, longest probe distance, slot size and capacity, file size.
/// The counters are read without a lock and may be a moment old under
/// concurrent writes. Errors: `MAPH_E_INVALID_ARG` (NULL). Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn maph_stats(db: *const maph_t, out: *mut maph_stats_t) -> maph_status {
    call(|| {
        // SAFETY: the C contract (ffi/mod.rs).
        let (s, o) = unsafe { (store(db)?, out_param(out, "out is NULL")?) };
        let st = s.stats();
        o.put(maph_stats_t {
            keys: st.keys,
            slots: st.slots,
            tombstones: st.tombstones,
            file_bytes: st.file_bytes,
            generation: st.generation,
            load_factor: st.load_factor,
            slot_size: st.slot_size,
            slot_capacity: st.slot_capacity,
            max_probes: st.max_probes,
            longest_probe: st.longest_probe,
            mphf_in_use: u32::from(s.mphf_in_use()),
            mphf_keys: st.mphf_keys,
            keys_outside_mphf: st.keys_outside_mphf,
        })
    })
}

/// Writes a compacted copy of the store to a new file at `path`: the same
/// slots, slot size, probe limit and hash seed (so UIDs and `get_ptr`-free
/// lookups behave as in the source), with a heap of `heap_bytes` bytes (0:
/// the live heap records' bytes plus a quarter, at least 64 KiB) holding
/// only the live records, packed. This is how space that deletes,
/// overwrites, expiry and unused size classes left in the heap is given
/// back: the heap of an open store never moves a record. Cost: one pass
/// over the slots and the live records' bytes, plus `maph_optimize` when
/// the source has an MPHF. The file appears whole or not at all. Other
/// threads and processes may keep reading and writing the source; a record
/// written during the copy may be in it with its old or new value, or not at
/// all. Errors: `MAPH_E_INVALID_ARG` (NULL), `MAPH_E_EXISTS` (path exists),
/// `MAPH_E_FULL` (`heap_bytes` too small for the live records), `MAPH_E_IO`,
/// `MAPH_E_CORRUPT` (a damaged source slot), `MAPH_E_BUSY`. Thread- and
/// process-safe.
#[no_mangle]
pub unsafe extern "C" fn maph_compact_copy(
    db: *const maph_t, path: *const c_char, heap_bytes: u64,
) -> maph_status {
    call(|| {
        // SAFETY: the C contract (ffi/mod.rs).
        let (s, p) = unsafe { (store(db)?, c_str(path, "path is NULL")?) };
        s.compact_to(std::path::Path::new(std::ffi::OsStr::from_bytes(p)), heap_bytes)?;
        Ok(())
    })
}

/// `maph_copy` flag: the copy is the smallest store of the source's slot
/// size for its keys (`ceil(keys / 0.75)` slots plus slack for keys written
/// during the copy; heap packed). Keys change slots, so UIDs are new.
pub const MAPH_COPY_COMPACT: u32 = 1;
/// `maph_copy` flag: build the copy's minimal perfect hash
/// (`maph_optimize`) before it is linked into place.
pub const MAPH_COPY_OPTIMIZE: u32 = 2;

/// Writes a consistent copy of a live store to a new file at `path`, as
/// LMDB's `mdb_copy` does (`flags`: 0, `MAPH_COPY_COMPACT`,
/// `MAPH_COPY_OPTIMIZE`, or both). Other threads and processes may keep
/// reading and writing the source: every key present, live and unexpired
/// for the whole copy is in it with a value written whole; a key written
/// during the copy is there with its old or new value, or not at all. The
/// file appears whole or not at all (built under a temporary name, synced,
/// linked; never over an existing file); it opens and `maph_check` passes.
/// Without `MAPH_COPY_COMPACT` every slot keeps its index (UIDs stay valid
/// in the copy) and the heap keeps its size, holding only live records.
/// TTLs are kept. Cost: one pass over the slots and live records' bytes,
/// plus `maph_optimize` when asked or when the source has an MPHF (plain
/// copy). Errors: `MAPH_E_INVALID_ARG` (NULL, unknown flag bits),
/// `MAPH_E_EXISTS` (`path` exists), `MAPH_E_FULL` (compacting: writers
/// outran the copy's slack twice — retry; or a full file system),
/// `MAPH_E_IO`, `MAPH_E_CORRUPT` (a damaged source slot), `MAPH_E_BUSY`.
/// Thread- and process-safe; `db` may be read-only.
#[no_mangle]
pub unsafe extern "C" fn maph_copy(
    db: *const maph_t, path: *const c_char, flags: u32,
) -> maph_status {
    call(|| {
        // SAFETY: the C contract (ffi/mod.rs).
        let (s, p) = unsafe { (store(db)?, c_str(path, "path is NULL")?) };
        s.copy_to(std::path::Path::new(std::ffi::OsStr::from_bytes(p)), flags)?;
        Ok(())
    })
}

/// Fills `*out` with the counters of the store's value heap: its size,
/// bytes in use, bytes free for reuse, bytes never allocated, and the
/// largest extent one record can get now (see `maph_heap_stats_t`). Read
/// without a lock: a moment old under concurrent writes. (`maph_stats_t`
/// has no reserved room, so these are not in it.) Errors:
/// `MAPH_E_INVALID_ARG` (NULL). Thread- and process-safe.
#[no_mangle]
pub unsafe extern "C" fn maph_heap_stats(
    db: *const maph_t, out: *mut maph_heap_stats_t,
) -> maph_status {
    call(|| {
        // SAFETY: the C contract (ffi/mod.rs).
        let (s, o) = unsafe { (store(db)?, out_param(out, "out is NULL")?) };
        let h = s.heap_stats();
        o.put(maph_heap_stats_t {
            bytes: h.bytes,
            used: h.used,
            free: h.free,
            untouched: h.untouched,
            largest_free: h.largest_free,
            reserved: [0; 3],
        })
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
    // SAFETY: the C contract (ffi/mod.rs).
    call(|| unsafe { store(db) }?.optimize().map(drop))
}
