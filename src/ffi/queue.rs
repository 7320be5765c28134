//! The C ABI of queue sets (`maph_queue_*`), over `queue::QueueSet`.
//! Design and guarantees: `docs/QUEUE.md`. Every function goes through the
//! boundary in `ffi/mod.rs` (see its safety contract), except
//! `maph_queue_close` (void) and `maph_queue_elem` (a pointer), which catch
//! panics themselves.

use std::ffi::{c_char, c_void};
use std::time::Duration;

use super::{
    c_str, call, call_value, free_handle, hand_out, handle, maph_status, opt_out, out_param,
};
use crate::error::Error;
use crate::queue::{Location, QueueSet};

/// A queue set mapped into this process: `elem_count` fixed-size elements
/// in shared memory and `queue_count` FIFO queues of element indices.
/// Opaque; made by `maph_queue_create`, `maph_queue_create_anon` or
/// `maph_queue_open`, freed by `maph_queue_close`.
///
/// Thread and process safety: every function but `maph_queue_close` may be
/// called on one handle from many threads at once, and many processes may
/// use one set at once (each opens it by name, or a child inherits the
/// parent's handle across `fork()`: the mapping is shared, not copied). A
/// process killed at any instruction never blocks the others: its queue
/// locks are taken over and its elements returned by `maph_queue_reclaim`.
pub struct maph_queue_t {
    set: QueueSet,
}

/// `maph_queue_locate` stores this queue id for an element held by a
/// process (not in any queue).
pub const MAPH_QUEUE_HELD: u32 = 0xFFFF_FFFF;
/// Longest queue name in bytes, without the NUL.
pub const MAPH_QUEUE_NAME_MAX: u32 = 31;
/// Longest set name in bytes (the name of its `/dev/shm` object).
pub const MAPH_QUEUE_SET_NAME_MAX: u32 = 250;
/// `maph_queue_wait` timeout meaning "no limit".
pub const MAPH_QUEUE_WAIT_FOREVER: i64 = -1;

/// The shape of a queue set, filled by `maph_queue_info`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct maph_queue_info_t {
    /// Number of elements; indices are 0 to elem_count - 1.
    pub elem_count: u32,
    /// Bytes per element, as created.
    pub elem_size: u32,
    /// Bytes from one element to the next: elem_size rounded up to 64
    /// (every element is 64-byte aligned).
    pub elem_stride: u32,
    /// Number of queues; ids are 0 to queue_count - 1.
    pub queue_count: u32,
    /// Bytes of the shared-memory object.
    pub total_bytes: u64,
}

/// What `maph_queue_audit` found: `queued + held + in_transit ==
/// elem_count`; after `maph_queue_reclaim` with no process running,
/// `queued == elem_count`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct maph_queue_audit_t {
    /// Elements in the set.
    pub elem_count: u64,
    /// Elements in some queue (the sum of the queue lengths).
    pub queued: u64,
    /// Elements held by a process.
    pub held: u64,
    /// Of those, elements held by processes that no longer run.
    pub held_by_dead: u64,
    /// Elements in a push or pull batch interrupted by the death of its
    /// process, not yet settled by a lock takeover or `maph_queue_reclaim`.
    pub in_transit: u64,
    /// Queue entries that name no element in that queue (only a racing
    /// double push by two threads of one process, or damaged memory, leaves
    /// them); pulls drop them. 0 in a correct program.
    pub stale: u64,
    /// Queue locks taken while the audit ran (0 at a quiescent point).
    pub locks_held: u32,
    /// Always 0.
    pub reserved: u32,
}

/// The set behind a handle.
///
/// # Safety
/// A non-NULL `q` is a live handle (the C contract).
unsafe fn set<'a>(q: *const maph_queue_t) -> Result<&'a QueueSet, Error> {
    // SAFETY: the caller's contract.
    Ok(&unsafe { handle(q, "q is NULL") }?.set)
}

/// `(p, n)` as a slice of element indices; NULL only with `n` 0.
///
/// # Safety
/// A non-NULL `p` points to `n` u32s (the C contract).
unsafe fn elem_slice<'a>(p: *const u32, n: usize) -> Result<&'a [u32], Error> {
    if n == 0 {
        return Ok(&[]);
    }
    if p.is_null() || n > isize::MAX as usize / 4 {
        return Err(Error::InvalidArg("elems is NULL or n too large"));
    }
    // SAFETY: non-NULL, `n` readable u32s by the caller's contract.
    Ok(unsafe { std::slice::from_raw_parts(p, n) })
}

/// Creates the queue set `/dev/shm/<name>` (mode 0600) and opens it.
///
/// `name`: 1 to 250 bytes, no '/'. `elem_count` (1 to 2^30) elements of
/// `elem_size` (1 to 2^30) bytes, each 64-byte aligned; `queue_count` (1 to
/// 65536) queues. Every element starts in queue 0 (the free list, by
/// convention), in index order. The object's memory is reserved at once
/// (about elem_count * (stride + 8) + queue_count * (256 + 8 * ring_cap)
/// bytes, ring_cap the power of two above elem_count). Other processes can
/// open the set once this returns (it becomes visible fully built).
///
/// Errors: `MAPH_E_INVALID_ARG` (NULL argument, bad name, a count or size
/// of 0 or out of range), `MAPH_E_EXISTS` (the name is taken),
/// `MAPH_E_FULL` (not enough shared memory to reserve it), `MAPH_E_TOO_LARGE`
/// (larger than the address space), `MAPH_E_IO`. On error
/// `*out` is NULL and no object is left behind. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn maph_queue_create(
    name: *const c_char, elem_count: u32, elem_size: u32, queue_count: u32,
    out: *mut *mut maph_queue_t,
) -> maph_status {
    // SAFETY: the C contract (ffi/mod.rs).
    call(|| unsafe {
        hand_out(out, || {
            let name = c_str(name, "name is NULL")?;
            let set = QueueSet::create(name, elem_count, elem_size, queue_count)?;
            Ok(maph_queue_t { set })
        })
    })
}

/// Creates an anonymous queue set (memfd_create, mapped shared): usable by
/// this process and by children forked after this call, through the same
/// handle. Parameters and errors as `maph_queue_create`, without the name.
/// The memory is freed when the last process closes its handle or exits.
#[no_mangle]
pub unsafe extern "C" fn maph_queue_create_anon(
    elem_count: u32, elem_size: u32, queue_count: u32, out: *mut *mut maph_queue_t,
) -> maph_status {
    // SAFETY: the C contract (ffi/mod.rs).
    call(|| unsafe {
        hand_out(out, || {
            let set = QueueSet::create_anon(elem_count, elem_size, queue_count)?;
            Ok(maph_queue_t { set })
        })
    })
}

/// Opens the existing queue set `/dev/shm/<name>`.
///
/// Every header field is checked (magic, version, checksum, offsets,
/// object length) before anything else is read. If the creator has not
/// finished building the set, waits for it up to 2 s.
///
/// Errors: `MAPH_E_INVALID_ARG` (NULL, bad name), `MAPH_NOT_FOUND` (no such
/// set), `MAPH_E_BUSY` (not finished after 2 s: still being built, or its
/// creator died building it — unlink it), `MAPH_E_CORRUPT` (not a queue
/// set, or damaged), `MAPH_E_VERSION`, `MAPH_E_IO`. On error `*out` is NULL.
/// Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn maph_queue_open(
    name: *const c_char, out: *mut *mut maph_queue_t,
) -> maph_status {
    // SAFETY: the C contract (ffi/mod.rs).
    call(|| unsafe {
        hand_out(out, || Ok(maph_queue_t { set: QueueSet::open(c_str(name, "name is NULL")?)? }))
    })
}

/// Unmaps the set from this process and frees the handle. Elements this
/// process holds stay held by it (until it exits and someone calls
/// `maph_queue_reclaim`, or it reopens the set and pushes them). Pointers
/// from `maph_queue_elem` become invalid. NULL is fine. Not thread-safe with
/// other calls on the same handle.
#[no_mangle]
pub unsafe extern "C" fn maph_queue_close(q: *mut maph_queue_t) {
    // SAFETY: `q` came from a create/open call and is closed once (contract).
    unsafe { free_handle(q) }
}

/// Removes the name `/dev/shm/<name>`. Processes that have the set open
/// keep using it; its memory is freed when the last one closes it.
/// Errors: `MAPH_E_INVALID_ARG`, `MAPH_NOT_FOUND`, `MAPH_E_IO`. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn maph_queue_unlink(name: *const c_char) -> maph_status {
    // SAFETY: the C contract (ffi/mod.rs).
    call(|| QueueSet::unlink(unsafe { c_str(name, "name is NULL") }?))
}

/// Fills `*out` with the set's shape. Errors: `MAPH_E_INVALID_ARG` (NULL).
/// Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn maph_queue_info(
    q: *const maph_queue_t, out: *mut maph_queue_info_t,
) -> maph_status {
    call(|| {
        // SAFETY: the C contract (ffi/mod.rs).
        let (s, o) = unsafe { (set(q)?, out_param(out, "out is NULL")?) };
        o.put(maph_queue_info_t {
            elem_count: s.elem_count(),
            elem_size: s.elem_size(),
            elem_stride: s.elem_stride(),
            queue_count: s.queue_count(),
            total_bytes: s.total_bytes(),
        })
    })
}

/// Names queue `qid`: `name` is 0 to 31 bytes (NUL-terminated); "" removes
/// the name. Names are unique within a set.
///
/// Errors: `MAPH_E_INVALID_ARG` (NULL, qid out of range, name too long),
/// `MAPH_E_EXISTS` (another queue has that name), `MAPH_E_BUSY`.
/// Thread- and process-safe (name changes serialize on the set's admin
/// lock).
#[no_mangle]
pub unsafe extern "C" fn maph_queue_name(
    q: *mut maph_queue_t, qid: u32, name: *const c_char,
) -> maph_status {
    // SAFETY: the C contract (ffi/mod.rs).
    call(|| unsafe { set(q)?.set_name(qid, c_str(name, "name is NULL")?) })
}

/// Sets `*qid` to the id of the queue named `name`.
/// Errors: `MAPH_E_INVALID_ARG` (NULL, empty or too long name),
/// `MAPH_NOT_FOUND` (no queue has that name), `MAPH_E_BUSY`. Thread- and
/// process-safe. A linear scan of the queues: look names up once, keep ids.
#[no_mangle]
pub unsafe extern "C" fn maph_queue_lookup(
    q: *const maph_queue_t, name: *const c_char, qid: *mut u32,
) -> maph_status {
    // SAFETY: the C contract (ffi/mod.rs).
    call(|| unsafe {
        out_param(qid, "qid is NULL")?.put(set(q)?.lookup(c_str(name, "name is NULL")?)?)
    })
}

/// Pushes element `elem` to the tail of queue `qid`. The calling process
/// must hold `elem` (it pulled it, and has not pushed it since); after the
/// call it no longer does.
///
/// Errors: `MAPH_E_INVALID_ARG` (NULL, qid or elem out of range),
/// `MAPH_E_CONFLICT` (elem is in a queue or held by another process; nothing
/// moves), `MAPH_E_BUSY` (the queue's producer lock stayed taken by a live
/// process for 2 s). The holder check runs on every push, under the queue's
/// lock; not detected: two threads of one process pushing the same element
/// at the same instant (a race in the caller) — then the element lands in
/// one queue and a stale entry in the other, which pulls drop (see
/// `maph_queue_audit_t.stale`). Thread- and process-safe; lock-based with
/// robust locks (a dead holder's lock is taken over); no system call unless
/// a process sleeps in `maph_queue_wait` on the queue (then one
/// FUTEX_WAKE).
#[no_mangle]
pub unsafe extern "C" fn maph_queue_push(q: *mut maph_queue_t, qid: u32, elem: u32) -> maph_status {
    // SAFETY: the C contract (ffi/mod.rs).
    call(|| unsafe { set(q) }?.push(qid, elem))
}

/// Pulls the element at the head of queue `qid` into `*elem`; the calling
/// process holds it now (see `maph_queue_elem` for its memory).
///
/// Errors: `MAPH_E_INVALID_ARG` (NULL, qid out of range), `MAPH_E_EMPTY`
/// (the queue has no element; `maph_queue_wait` sleeps until it has one;
/// like `MAPH_NOT_FOUND`, it leaves `maph_last_error` unchanged),
/// `MAPH_E_BUSY`, `MAPH_E_CORRUPT` (queue positions out of range: the
/// shared memory was damaged). Thread- and process-safe, as
/// `maph_queue_push`; checking an empty queue takes no lock.
#[no_mangle]
pub unsafe extern "C" fn maph_queue_pull(
    q: *mut maph_queue_t, qid: u32, elem: *mut u32,
) -> maph_status {
    // SAFETY: the C contract (ffi/mod.rs).
    call(|| unsafe { out_param(elem, "elem is NULL")?.put(set(q)?.pull(qid)?) })
}

/// Pushes the `n` element indices at `elems`, in order, to the tail of
/// queue `qid`, taking the queue's lock once. All or nothing: on error no
/// element moved. Every element must be held by the calling process.
///
/// Errors: as `maph_queue_push`; also `MAPH_E_INVALID_ARG` when `elems` is
/// NULL with `n` > 0 or `n` exceeds the element count, and
/// `MAPH_E_CONFLICT` when an index appears twice. `n` = 0 does nothing.
#[no_mangle]
pub unsafe extern "C" fn maph_queue_push_many(
    q: *mut maph_queue_t, qid: u32, elems: *const u32, n: usize,
) -> maph_status {
    // SAFETY: the C contract (ffi/mod.rs).
    call(|| unsafe {
        let s = set(q)?;
        match elem_slice(elems, n)? {
            [] => Ok(()),
            v => s.push_many(qid, v),
        }
    })
}

/// Pulls up to `cap` elements from the head of queue `qid` into `elems`, in
/// FIFO order, taking the queue's lock once; `*n` gets how many (at least 1
/// on success). The calling process holds them now.
///
/// Errors: as `maph_queue_pull` (`MAPH_E_EMPTY` with `*n` = 0 when the
/// queue has none); `MAPH_E_INVALID_ARG` when `elems` is NULL with `cap` >
/// 0. `cap` = 0 sets `*n` to 0 and returns `MAPH_OK`.
#[no_mangle]
pub unsafe extern "C" fn maph_queue_pull_many(
    q: *mut maph_queue_t, qid: u32, elems: *mut u32, cap: usize, n: *mut usize,
) -> maph_status {
    call(|| {
        // SAFETY: the C contract (ffi/mod.rs).
        let (s, count) = unsafe { (set(q)?, out_param(n, "n is NULL")?) };
        count.set(0);
        if cap == 0 {
            return Ok(());
        }
        if elems.is_null() || cap > isize::MAX as usize / 4 {
            return Err(Error::InvalidArg("elems is NULL or cap too large"));
        }
        // SAFETY: `elems` points to `cap` writable u32s not aliased during
        // the call (the C contract).
        let out = unsafe { std::slice::from_raw_parts_mut(elems, cap) };
        count.put(s.pull_many(qid, out)?)
    })
}

/// Sleeps until queue `qid` is non-empty, at most `timeout_ms`
/// milliseconds (`MAPH_QUEUE_WAIT_FOREVER`, or any negative value: no
/// limit; 0: just check). Returns `MAPH_OK` at once if it is non-empty.
/// `MAPH_OK` does not reserve an element — another consumer may pull it
/// first — so pull, and wait again on `MAPH_E_EMPTY`. `MAPH_E_TIMEOUT`
/// leaves `maph_last_error` unchanged.
///
/// Sleeps on a futex (FUTEX_WAIT on the queue's shared 32-bit sequence
/// word, not an eventfd); pushes wake it. Signals do not end the wait
/// early. Errors: `MAPH_E_INVALID_ARG` (NULL, qid out of range),
/// `MAPH_E_TIMEOUT`. Thread- and process-safe.
#[no_mangle]
pub unsafe extern "C" fn maph_queue_wait(
    q: *mut maph_queue_t, qid: u32, timeout_ms: i64,
) -> maph_status {
    let t = u64::try_from(timeout_ms).ok().map(Duration::from_millis);
    // SAFETY: the C contract (ffi/mod.rs).
    call(|| unsafe { set(q) }?.wait(qid, t))
}

/// The address of element `elem` in this process: `elem_size` bytes,
/// 64-byte aligned, valid until `maph_queue_close`. NULL when `q` is NULL
/// or `elem` is out of range. Only the process holding the element should
/// write it; nothing enforces that. The address differs between processes
/// that opened the set separately (use indices across processes).
/// Thread-safe; no system call.
#[no_mangle]
pub unsafe extern "C" fn maph_queue_elem(q: *const maph_queue_t, elem: u32) -> *mut c_void {
    call_value(std::ptr::null_mut(), || {
        // SAFETY: the C contract (ffi/mod.rs).
        let p = unsafe { set(q) }.and_then(|s| s.elem_ptr(elem));
        p.map_or(std::ptr::null_mut(), |p| p.cast())
    })
}

/// Sets `*len` to the number of elements in queue `qid` (a snapshot).
/// Errors: `MAPH_E_INVALID_ARG`. Thread-safe; reads two words.
#[no_mangle]
pub unsafe extern "C" fn maph_queue_len(
    q: *const maph_queue_t, qid: u32, len: *mut u64,
) -> maph_status {
    // SAFETY: the C contract (ffi/mod.rs).
    call(|| unsafe { out_param(len, "len is NULL")?.put(set(q)?.len(qid)?) })
}

/// Where element `elem` is (a snapshot): in a queue (`*qid` = its id, `*pid`
/// = 0), or held by a process (`*qid` = `MAPH_QUEUE_HELD`, `*pid` = its
/// pid). Errors: `MAPH_E_INVALID_ARG`. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn maph_queue_locate(
    q: *const maph_queue_t, elem: u32, qid: *mut u32, pid: *mut u32,
) -> maph_status {
    call(|| {
        // SAFETY: the C contract (ffi/mod.rs).
        let (s, q_out, p_out) =
            unsafe { (set(q)?, out_param(qid, "qid is NULL")?, out_param(pid, "pid is NULL")?) };
        let (a, b) = match s.locate(elem)? {
            Location::Queue(id) => (id, 0),
            Location::Held(p) => (MAPH_QUEUE_HELD, p),
        };
        q_out.set(a);
        p_out.put(b)
    })
}

/// Sets `*count` to the number of elements held by process `pid` (0: by any
/// process). A snapshot; scans every element record (O(elem_count)).
/// Errors: `MAPH_E_INVALID_ARG`. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn maph_queue_held(
    q: *const maph_queue_t, pid: u32, count: *mut u64,
) -> maph_status {
    // SAFETY: the C contract (ffi/mod.rs).
    call(|| unsafe {
        out_param(count, "count is NULL")?.put(set(q)?.held((pid != 0).then_some(pid)))
    })
}

/// Returns to queue 0 the elements held by dead process `pid` (0: by every
/// dead process) and sets `*count` (may be NULL) to how many moved.
///
/// How a dead process's elements are found: each element records the pid
/// of the process that pulled it; a process counts as dead when `kill(pid,
/// 0)` fails with ESRCH or it is a zombie. First every queue lock held by a
/// dead process is taken over and its unfinished batch rolled back, so a
/// process killed mid-pull leaves its batch in the queue and one killed
/// mid-push gets its batch back (and then returned here). Call it after
/// reaping a crashed worker, or periodically; it is safe at any time.
/// O(elem_count).
///
/// Errors: `MAPH_E_INVALID_ARG` (NULL `q`), `MAPH_E_CONFLICT` (`pid` is a
/// live process), `MAPH_E_BUSY`. Thread- and process-safe.
#[no_mangle]
pub unsafe extern "C" fn maph_queue_reclaim(
    q: *mut maph_queue_t, pid: u32, count: *mut u64,
) -> maph_status {
    // SAFETY: the C contract (ffi/mod.rs).
    call(|| unsafe { opt_out(count).put(set(q)?.reclaim((pid != 0).then_some(pid))?) })
}

/// Checks that every element is accounted for exactly once — in exactly one
/// queue entry whose record agrees, recorded as held, or in a batch
/// interrupted by a dead process — and fills `*out` with the counts. Exact
/// only while no live process is pushing or pulling. O(elem_count + queued).
///
/// Errors: `MAPH_E_INVALID_ARG` (NULL), `MAPH_E_CORRUPT` (queue positions
/// out of range, or an element recorded in a queue but in none: lost;
/// `maph_last_error` says which). Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn maph_queue_audit(
    q: *const maph_queue_t, out: *mut maph_queue_audit_t,
) -> maph_status {
    call(|| {
        // SAFETY: the C contract (ffi/mod.rs).
        let (s, o) = unsafe { (set(q)?, out_param(out, "out is NULL")?) };
        let a = s.audit()?;
        o.put(maph_queue_audit_t {
            elem_count: a.elem_count,
            queued: a.queued,
            held: a.held,
            held_by_dead: a.held_by_dead,
            in_transit: a.in_transit,
            stale: a.stale,
            locks_held: a.locks_held,
            reserved: 0,
        })
    })
}
