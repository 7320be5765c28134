//! Queue sets: fixed-size shared-memory elements handed between processes
//! by index, without copying (issue 5; the C side is `ffi_queue.rs`, the
//! design is `docs/QUEUE.md`).
//!
//! A set lives in one `/dev/shm` object (by name) or in an anonymous
//! `memfd` inherited across `fork()`. It holds `elem_count` elements of
//! `elem_size` bytes (each 64-byte aligned) and `queue_count` FIFO queues of
//! element indices. At creation every element is in queue 0, the free list
//! by convention. A process *pulls* an index from a queue's head (it now
//! *holds* the element), uses the element's memory, and *pushes* the index
//! to some queue's tail; moving an element moves only its 4-byte index.
//!
//! ## Algorithm
//!
//! Each queue is a ring of `ring_cap` 8-byte entries (`ring_cap` is a power
//! of two above `elem_count`, so a ring can never fill: an element is in at
//! most one queue). Its consumer side (head) and producer side (tail) each
//! have their own lock word and cache line — the two-lock queue of Michael
//! and Scott ("Simple, fast, and practical non-blocking and blocking
//! concurrent queue algorithms", PODC 1996) over a ring instead of a list —
//! so a producer and a consumer of one queue never touch the same line
//! unless the queue is nearly empty, and a bulk call takes its lock once for
//! the whole batch.
//!
//! Each element has an 8-byte record: the queue it is in, or the pid of the
//! process holding it, plus a generation bumped by every move; each ring
//! entry carries the generation its element took when pushed. A push
//! checks, under the queue's producer lock, that the caller's process holds
//! each element, so an element pushed twice, or pushed while in a queue, is
//! refused (`Conflict`). The one race this check does not close — two
//! threads of one process pushing the same element at the same instant —
//! can leave a second entry; a pull drops any entry whose record disagrees
//! (a *stale* entry), so the element is still found exactly once, where its
//! record says.
//!
//! ## Robustness (kill -9 at any instruction)
//!
//! The locks are robust the way `src/lock.rs` is: a lock word holds its
//! owner's pid; a waiter that finds the owner dead (`kill(pid, 0)` gives
//! `ESRCH`, or `/proc/<pid>/stat` says zombie) takes the lock over. Before
//! a holder changes anything it records an *intent* on its side's line
//! (start position, count, pid), and the batch changes nothing visible to
//! other processes until the side's position word moves. The taker reads
//! the intent and rolls the batch back if the position did not move (a
//! pull puts the elements back in the queue; a push returns them to the
//! dead pusher), or does nothing if it did. Elements then held by a dead
//! process are found by their records and returned to queue 0 by
//! [`QueueSet::reclaim`]. Takeovers and reclaims serialize on one admin
//! lock, so a reclaim never moves an element that a pending takeover is
//! about to roll back.

mod layout;
mod region;

use std::collections::HashMap;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::sync::atomic::{fence, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use memmap2::MmapOptions;

use crate::error::{Error, Result};
use crate::sync::robust_lock::{self, RobustGuard};
use crate::sys::futex;
use crate::sys::pid::current_pid;
use crate::sys::shm;
use layout::{
    entry, entry_elem, gen_of, held, queued, state_of, QueueGeometry, HEAD_SIDE, HEAD_TAIL_CACHE,
    HELD_BIT, SIDE_INTENT_N, SIDE_INTENT_PID, SIDE_INTENT_POS, SIDE_OWNER, SIDE_POS,
    TAIL_HEAD_CACHE, TAIL_SIDE,
};
use region::QueueRegion;

pub use layout::{MAX_ELEMS, MAX_ELEM_SIZE, MAX_QUEUES, NAME_MAX, SHM_NAME_MAX};

/// How long `open` waits for a creator to finish building a set.
#[cfg(not(fuzzing))]
const OPEN_WAIT: Duration = Duration::from_secs(2);
/// In a fuzzing build (`--cfg fuzzing`, set by cargo-fuzz): a mutated file
/// that is not a published set made every `open` wait the full 2 s, which
/// held the `open` target to ~5 executions per second.
#[cfg(fuzzing)]
const OPEN_WAIT: Duration = Duration::from_millis(20);
/// Elements `reclaim` returns to queue 0 per lock acquisition.
const RECLAIM_BATCH: usize = 4096;

/// Where an element is: in a queue, or held by a process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Location {
    /// In the queue with this id.
    Queue(u32),
    /// Held by the process with this pid (it pulled the element).
    Held(u32),
}

/// What [`QueueSet::audit`] found: `queued + held + in_transit ==
/// elem_count`, every element counted exactly once; at a quiescent point
/// with no dead lock holder, `in_transit == 0`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Audit {
    /// Elements in the set.
    pub elem_count: u64,
    /// Elements in some queue (the sum of the queue lengths).
    pub queued: u64,
    /// Elements held by a process.
    pub held: u64,
    /// Of those, elements held by a process that no longer runs (see
    /// [`QueueSet::reclaim`]).
    pub held_by_dead: u64,
    /// Elements in a batch whose push or pull was interrupted (its process
    /// died inside it, and no one has taken its lock over yet): neither
    /// queued nor held until the takeover (or `reclaim`) settles them.
    pub in_transit: u64,
    /// Ring entries that name no element in that queue (a racing double
    /// push by two threads of one process, or damaged memory, leaves
    /// them); pulls drop them. 0 in a correct program.
    pub stale: u64,
    /// Queue locks taken when the audit ran (0 at a quiescent point).
    pub locks_held: u32,
}

/// A queue set mapped into this process.
///
/// Every method takes `&self` and is safe to call from many threads at once
/// and from many processes (each with its own `QueueSet` on the same
/// object, or one inherited across `fork()`). Pulls and pushes make no
/// system call unless a lock holder is slow (then they spin, yield, and
/// after 2 s fail with `Busy`) or a process sleeps in [`QueueSet::wait`] on
/// the queue pushed to (then one `FUTEX_WAKE`).
pub struct QueueSet {
    r: QueueRegion,
}

/// Whether process `pid` no longer runs: gone, or a zombie (killed, not yet
/// reaped by its parent). `crate::sys::pid::process_alive` decides; 0 names no
/// process and is never dead.
pub fn process_dead(pid: u32) -> bool {
    pid != 0 && !crate::sys::pid::process_alive(pid)
}

fn conflict_for(m: u64) -> Error {
    if state_of(m) & HELD_BIT != 0 {
        Error::Conflict("element is held by another process, not the caller")
    } else {
        Error::Conflict("element is already in a queue")
    }
}

impl QueueSet {
    /// Creates the set `/dev/shm/<name>` (mode 0600) and maps it.
    ///
    /// `name`: 1 to 250 bytes, no `/`. `elem_count` 1 to 2^30 elements of
    /// `elem_size` 1 to 2^30 bytes (each rounded up to a multiple of 64, the
    /// stride), `queue_count` 1 to 65536 queues. All elements start in
    /// queue 0. The object's memory is reserved (`fallocate`) so that using
    /// it later cannot fail with `SIGBUS`; its size is about `4096 + 256 *
    /// queue_count + 8 * elem_count + 8 * queue_count * ring_cap + stride *
    /// elem_count` bytes (`ring_cap` = the power of two above `elem_count`).
    /// Other processes can `open` it once it is fully built (the magic word
    /// is written last).
    ///
    /// Errors: `InvalidArg` (bad name or parameter), `Exists` (the name is
    /// taken), `NoSpace` (not enough shared memory to reserve it),
    /// `TooLarge`, `Io` (shm_open, ftruncate, fallocate, mmap). On error
    /// nothing is left behind.
    pub fn create(
        name: impl AsRef<[u8]>, elem_count: u32, elem_size: u32, queue_count: u32,
    ) -> Result<QueueSet> {
        let name = name.as_ref();
        layout::check_shm_name(name)?;
        let geom = QueueGeometry::new(elem_count, elem_size, queue_count)?;
        let file = shm::create(name)?;
        Self::build(&file, geom).inspect_err(|_| {
            let _ = shm::unlink(name);
        })
    }

    /// Creates an anonymous set (a `memfd`, mapped shared): visible only to
    /// this process and to children forked after this call, which use the
    /// same `QueueSet` (or C handle). Parameters and errors as `create`,
    /// without the name.
    pub fn create_anon(elem_count: u32, elem_size: u32, queue_count: u32) -> Result<QueueSet> {
        let geom = QueueGeometry::new(elem_count, elem_size, queue_count)?;
        let file = shm::memfd(c"maph-queue")?;
        Self::build(&file, geom)
    }

    fn build(file: &File, geom: QueueGeometry) -> Result<QueueSet> {
        file.set_len(geom.total_len()).map_err(|e| Error::from_io(&e, "sizing the queue set"))?;
        region::reserve(file, geom.total_len())?;
        let map = MmapOptions::new()
            .len(geom.total_len() as usize)
            .map_raw(file)
            .map_err(|e| Error::from_io(&e, "mapping the queue set"))?;
        let r = QueueRegion::new(map, geom);
        r.write_header(&geom.encode(current_pid()));
        // The object is zero-filled: every element record already reads
        // queued(0, 0). Queue 0's ring gets every element, in order.
        for e in 0..geom.elem_count() {
            r.ring(0, e as u64).store(entry(e, 0), Ordering::Relaxed);
        }
        r.queue_u64(0, TAIL_SIDE + SIDE_POS).store(geom.elem_count() as u64, Ordering::Relaxed);
        r.publish();
        Ok(QueueSet { r })
    }

    /// Opens and maps the existing set `/dev/shm/<name>`.
    ///
    /// The header is checked (magic, version, checksum, every offset
    /// recomputed from the parameters, the object's length) before any
    /// other byte is trusted. When the creator has not yet written the magic
    /// word, waits for it up to 2 s.
    ///
    /// Errors: `InvalidArg` (bad name), `NotFound` (no such object), `Busy`
    /// (still being built after 2 s, or its creator died building it),
    /// `Corrupt`, `Version`, `Io`.
    pub fn open(name: impl AsRef<[u8]>) -> Result<QueueSet> {
        let name = name.as_ref();
        layout::check_shm_name(name)?;
        let file = shm::open(name, true)?;
        let start = Instant::now();
        loop {
            let len = file
                .metadata()
                .map_err(|e| Error::from_io(&e, "reading the queue set's size"))?
                .len();
            if len >= layout::HEADER_SIZE as u64 {
                let mut h = [0u8; layout::FIXED_LEN];
                file.read_exact_at(&mut h, 0)
                    .map_err(|e| Error::from_io(&e, "reading the queue set header"))?;
                if h[..8] != [0; 8] {
                    let geom = QueueGeometry::decode(&h, len)?;
                    let map = MmapOptions::new()
                        .len(geom.total_len() as usize)
                        .map_raw(&file)
                        .map_err(|e| Error::from_io(&e, "mapping the queue set"))?;
                    let r = QueueRegion::new(map, geom);
                    if !r.published() {
                        return Err(Error::Corrupt("queue set magic changed while opening"));
                    }
                    return Ok(QueueSet { r });
                }
            }
            if start.elapsed() > OPEN_WAIT {
                return Err(Error::Busy);
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// Removes the name `/dev/shm/<name>`. Processes that have the set
    /// mapped keep using it; its memory is freed when the last one unmaps
    /// it. Errors: `InvalidArg`, `NotFound`, `Io`.
    pub fn unlink(name: impl AsRef<[u8]>) -> Result<()> {
        let name = name.as_ref();
        layout::check_shm_name(name)?;
        shm::unlink(name)
    }

    /// Number of elements.
    pub fn elem_count(&self) -> u32 {
        self.r.geom().elem_count()
    }

    /// Bytes per element, as created.
    pub fn elem_size(&self) -> u32 {
        self.r.geom().elem_size()
    }

    /// Bytes from one element to the next (`elem_size` rounded up to 64).
    pub fn elem_stride(&self) -> u32 {
        self.r.geom().elem_stride()
    }

    /// Number of queues.
    pub fn queue_count(&self) -> u32 {
        self.r.geom().queue_count()
    }

    /// How many stale ring entries pulls have dropped in this set's
    /// lifetime (0 in a correct program; see [`Audit::stale`]).
    pub fn stale_dropped(&self) -> u64 {
        self.r.header_u64(layout::OFF_STALE).load(Ordering::Relaxed)
    }

    /// How many interrupted batches (a push or pull whose process died, or
    /// panicked, inside it) have been repaired in this set's lifetime.
    pub fn repairs(&self) -> u64 {
        self.r.header_u64(layout::OFF_REPAIRS).load(Ordering::Relaxed)
    }

    /// Bytes of the shared-memory object.
    pub fn total_bytes(&self) -> u64 {
        self.r.geom().total_len()
    }

    fn check_q(&self, q: u32) -> Result<()> {
        if q < self.r.geom().queue_count() {
            Ok(())
        } else {
            Err(Error::InvalidArg("queue id out of range"))
        }
    }

    fn check_e(&self, e: u32) -> Result<()> {
        if e < self.r.geom().elem_count() {
            Ok(())
        } else {
            Err(Error::InvalidArg("element index out of range"))
        }
    }

    /// The address of element `e`'s first byte in this process: `elem_size`
    /// bytes, 64-byte aligned, valid until the `QueueSet` is dropped. Only
    /// the process holding `e` should write it (nothing enforces that).
    /// Errors: `InvalidArg` (index out of range).
    pub fn elem_ptr(&self, e: u32) -> Result<*mut u8> {
        self.check_e(e)?;
        Ok(self.r.elem_ptr(e))
    }

    /// The `word`-th 8-byte word of element `e`, as an atomic (a safe way
    /// to touch element memory from Rust). Errors: `InvalidArg` (index or
    /// word out of range).
    pub fn elem_u64(&self, e: u32, word: usize) -> Result<&AtomicU64> {
        self.check_e(e)?;
        if word >= self.r.geom().elem_stride() as usize / 8 {
            return Err(Error::InvalidArg("word beyond the element"));
        }
        Ok(self.r.elem_u64(e, word))
    }

    // ---- locks -----------------------------------------------------------

    /// Takes the set's admin lock (a robust lock: a dead holder's is taken
    /// over). Nothing needs repair after a takeover: everything done under
    /// the admin lock is a series of steps each of which leaves the set
    /// consistent (queue-lock takeovers keep their intent until repaired;
    /// names are versioned).
    fn lock_admin(&self) -> Result<RobustGuard<'_>> {
        Ok(robust_lock::lock(self.r.header_u32(layout::OFF_ADMIN_OWNER))?.0)
    }

    /// Takes side `side` (HEAD_SIDE or TAIL_SIDE) of queue `q`. A dead
    /// owner's lock is taken over (under the admin lock, unless the caller
    /// already holds it) and its unfinished batch repaired first.
    #[inline]
    fn lock_side(&self, q: u32, side: usize, admin_held: bool) -> Result<RobustGuard<'_>> {
        let owner = self.r.queue_u32(q, side + SIDE_OWNER);
        let guard = match robust_lock::try_lock(owner) {
            Some(g) => g,
            None => {
                let locked = robust_lock::lock_with(owner, |_dead| {
                    Ok(if admin_held { None } else { Some(self.lock_admin()?) })
                })?;
                if let Some(_admin) = locked.taken_over {
                    self.repair(q, side);
                }
                locked.guard
            }
        };
        if self.r.queue_u32(q, side + SIDE_INTENT_N).load(Ordering::Acquire) != 0 {
            // Left by a holder that panicked inside its batch (a bug) and
            // so released the lock with its intent set. Its elements are
            // held by a live process, so no reclaim can race this repair.
            self.repair(q, side);
        }
        Ok(guard)
    }

    /// Records the batch the holder of `side` is about to move. The Release
    /// fence keeps these stores ahead of the batch's stores, so a process
    /// that finds the holder dead sees the intent whenever it can see any
    /// of the batch's effects.
    #[inline]
    fn set_intent(&self, q: u32, side: usize, pos: u64, n: u32, pid: u32) {
        self.r.queue_u64(q, side + SIDE_INTENT_POS).store(pos, Ordering::Relaxed);
        self.r.queue_u32(q, side + SIDE_INTENT_PID).store(pid, Ordering::Relaxed);
        self.r.queue_u32(q, side + SIDE_INTENT_N).store(n, Ordering::Release);
        fence(Ordering::Release);
    }

    #[inline]
    fn clear_intent(&self, q: u32, side: usize) {
        self.r.queue_u32(q, side + SIDE_INTENT_N).store(0, Ordering::Release);
    }

    /// Finishes an interrupted batch of side `side` of queue `q`, whose lock
    /// the caller now holds: rolls it back when the side's position did not
    /// move, does nothing when it did (the batch was complete).
    ///
    /// Exactness: a ring entry carries the generation its element's record
    /// took when pushed, so "the record equals what the batch would have
    /// written" identifies exactly the elements the batch changed. Entries
    /// of the batch's range that it had not yet rewritten are stale; they
    /// cannot match, because a generation is handed out by one push only:
    /// records move forward at every push, pull and undo, except a rolled
    /// back pull, which restores the record of an entry still live in the
    /// ring (up to 2^32 moves of one element).
    fn repair(&self, q: u32, side: usize) {
        let n = self.r.queue_u32(q, side + SIDE_INTENT_N).load(Ordering::Acquire);
        if n == 0 {
            return;
        }
        let pos = self.r.queue_u64(q, side + SIDE_INTENT_POS).load(Ordering::Relaxed);
        let pid = self.r.queue_u32(q, side + SIDE_INTENT_PID).load(Ordering::Relaxed);
        let cur = self.r.queue_u64(q, side + SIDE_POS).load(Ordering::Acquire);
        let g = *self.r.geom();
        self.r.header_u64(layout::OFF_REPAIRS).fetch_add(1, Ordering::Relaxed);
        if cur == pos && n <= g.ring_cap() {
            for i in 0..n as u64 {
                let ent = self.r.ring(q, pos + i).load(Ordering::Relaxed);
                let e = entry_elem(ent);
                if e >= g.elem_count() {
                    continue;
                }
                let gen = gen_of(ent);
                let (changed, before) = if side == HEAD_SIDE {
                    // A pull marks records held(pid, gen + 1) before it
                    // moves the head: put them back in the queue.
                    (held(pid, gen.wrapping_add(1)), queued(q, gen))
                } else {
                    // A push marks records queued(q, gen) before it moves
                    // the tail: give them back to the pusher (a dead one's
                    // elements are then returned by `reclaim`), one
                    // generation on, so the entry left past the tail can
                    // never match the element's record again.
                    (queued(q, gen), held(pid, gen.wrapping_add(1)))
                };
                let _ = self.r.meta(e).compare_exchange(
                    changed,
                    before,
                    Ordering::AcqRel,
                    Ordering::Relaxed,
                );
            }
        }
        self.clear_intent(q, side);
    }

    /// Wakes the processes sleeping in `wait` on queue `q`, if any: one
    /// load of the futex word when nobody sleeps. The SeqCst fence pairs
    /// with the one in `wait`: either the waiter sees the new tail or this
    /// sees its flag (the Dekker pattern; Drepper, "Futexes are tricky",
    /// 2011).
    #[inline]
    fn wake(&self, q: u32) {
        fence(Ordering::SeqCst);
        if self.r.queue_u32(q, layout::WAIT_SEQ).load(Ordering::Relaxed) & 1 != 0 {
            self.wake_slow(q);
        }
    }

    /// Clears the sleepers flag (bumping the word, so that a waiter about to
    /// sleep on the old value does not) and wakes every sleeper. Only the
    /// process that clears the flag makes the system call; the pushes after
    /// it make none until a waiter sets the flag again.
    #[cold]
    fn wake_slow(&self, q: u32) {
        let seq = self.r.queue_u32(q, layout::WAIT_SEQ);
        let mut s = seq.load(Ordering::Relaxed);
        loop {
            if s & 1 == 0 {
                return;
            }
            match seq.compare_exchange_weak(
                s,
                s.wrapping_add(1),
                Ordering::SeqCst,
                Ordering::Relaxed,
            ) {
                Ok(_) => break,
                Err(now) => s = now,
            }
        }
        futex::futex_wake(seq);
    }

    // ---- push / pull -------------------------------------------------------

    /// Pushes element `e`, held by this process, to the tail of queue `q`.
    /// Same as `push_many(q, &[e])`.
    #[inline]
    pub fn push(&self, q: u32, e: u32) -> Result<()> {
        self.push_many(q, std::slice::from_ref(&e))
    }

    /// Pushes `elems`, in order, to the tail of queue `q`, taking the
    /// queue's producer lock once. All or nothing.
    ///
    /// Each element must be held by this process (pulled by one of its
    /// threads and not pushed since). Errors: `InvalidArg` (queue id or an
    /// index out of range, more elements than the set has), `Conflict` (an
    /// element is in a queue, held by another process, or appears twice in
    /// `elems`; nothing is pushed), `Busy` (the lock stayed taken by a live
    /// process for 2 s). An empty slice is a no-op.
    pub fn push_many(&self, q: u32, elems: &[u32]) -> Result<()> {
        let g = *self.r.geom();
        self.check_q(q)?;
        if elems.is_empty() {
            return Ok(());
        }
        if elems.len() > g.elem_count() as usize {
            return Err(Error::InvalidArg("more elements than the set holds"));
        }
        if elems.iter().any(|&e| e >= g.elem_count()) {
            return Err(Error::InvalidArg("element index out of range"));
        }
        let me = current_pid();
        let mine = HELD_BIT | me;
        let n = elems.len() as u64;
        let guard = self.lock_side(q, TAIL_SIDE, false)?;
        let tail = self.r.queue_u64(q, TAIL_SIDE + SIDE_POS);
        let t = tail.load(Ordering::Relaxed);
        // 1. Every element must be held by this process. Nothing written yet.
        for &e in elems {
            let cur = self.r.meta(e).load(Ordering::Relaxed);
            if state_of(cur) != mine {
                return Err(conflict_for(cur));
            }
        }
        // 2. Room for n entries past the tail. The elements are in no ring,
        // so without duplicates in `elems` the queue holds at most
        // elem_count - n entries and n more always fit (ring_cap >
        // elem_count); the head is read only when a cached value is too
        // old to show it.
        let cache = self.r.queue_u64(q, TAIL_SIDE + TAIL_HEAD_CACHE);
        let cap = g.ring_cap() as u64;
        if (t + n).wrapping_sub(cache.load(Ordering::Relaxed)) > cap {
            let h = self.r.queue_u64(q, HEAD_SIDE + SIDE_POS).load(Ordering::Acquire);
            cache.store(h, Ordering::Relaxed);
            if (t + n).wrapping_sub(h) > cap {
                return Err(Error::Conflict("an element appears twice in the batch"));
            }
        }
        // 3. The entries, past the tail where no consumer reads them. Plain
        // stores: their cache misses overlap (a compare-and-swap between
        // them would wait for each one).
        for (i, &e) in elems.iter().enumerate() {
            let gen = gen_of(self.r.meta(e).load(Ordering::Relaxed)).wrapping_add(1);
            self.r.ring(q, t + i as u64).store(entry(e, gen), Ordering::Relaxed);
        }
        // 4. The records, held(me, gen - 1) -> queued(q, gen). Only this
        // process changes a record it holds (a takeover or reclaim touches
        // only dead processes' records), so a check and a plain store
        // suffice; a record that changed since step 1 (the same element
        // twice in `elems`) fails the check and the batch is undone. Not
        // caught: two threads of this process pushing the same element at
        // the same instant; a compare-and-swap per element would catch it
        // for about a quarter of the bulk throughput (see docs/QUEUE.md).
        self.set_intent(q, TAIL_SIDE, t, n as u32, me);
        for (i, &e) in elems.iter().enumerate() {
            let gen = gen_of(self.r.ring(q, t + i as u64).load(Ordering::Relaxed));
            let m = self.r.meta(e);
            let now = m.load(Ordering::Relaxed);
            if now != held(me, gen.wrapping_sub(1)) {
                // Undo: the records changed so far are ours alone (their
                // entries are past the tail), so plain stores give them
                // back, one generation on (never back: see `repair`).
                for (j, &d) in elems[..i].iter().enumerate() {
                    let gen = gen_of(self.r.ring(q, t + j as u64).load(Ordering::Relaxed));
                    self.r.meta(d).store(held(me, gen.wrapping_add(1)), Ordering::Relaxed);
                }
                self.clear_intent(q, TAIL_SIDE);
                return Err(conflict_for(now));
            }
            m.store(queued(q, gen), Ordering::Relaxed);
        }
        // 5. Publish: consumers see the entries and records from here.
        tail.store(t + n, Ordering::Release);
        self.clear_intent(q, TAIL_SIDE);
        drop(guard);
        self.wake(q);
        Ok(())
    }

    /// Pulls the element at the head of queue `q`; this process now holds
    /// it. Errors: `InvalidArg` (queue id), `Empty`, `Busy`, `Corrupt`
    /// (queue positions out of range: damaged memory). Entries that
    /// disagree with their element's record are dropped, not returned (see
    /// [`Audit::stale`]).
    #[inline]
    pub fn pull(&self, q: u32) -> Result<u32> {
        let mut one = [0u32; 1];
        self.pull_many(q, &mut one)?;
        Ok(one[0])
    }

    /// Pulls up to `out.len()` elements from the head of queue `q`, in
    /// FIFO order, into `out`, taking the queue's consumer lock once;
    /// returns how many (at least 1). This process holds them now.
    /// Errors: as `pull` (`Empty` when the queue has none). An empty `out`
    /// returns 0 without looking at the queue.
    pub fn pull_many(&self, q: u32, out: &mut [u32]) -> Result<usize> {
        let g = *self.r.geom();
        self.check_q(q)?;
        if out.is_empty() {
            return Ok(0);
        }
        let head_w = self.r.queue_u64(q, HEAD_SIDE + SIDE_POS);
        let cache = self.r.queue_u64(q, HEAD_SIDE + HEAD_TAIL_CACHE);
        let tail_w = self.r.queue_u64(q, TAIL_SIDE + SIDE_POS);
        // Empty without taking the lock: positions only grow and head <=
        // tail, so a tail equal to any head value read before it means the
        // queue was empty when the tail was read.
        let h0 = head_w.load(Ordering::Acquire);
        if cache.load(Ordering::Relaxed) == h0 && tail_w.load(Ordering::Acquire) == h0 {
            return Err(Error::Empty);
        }
        let me = current_pid();
        let _guard = self.lock_side(q, HEAD_SIDE, false)?;
        loop {
            let head = head_w.load(Ordering::Relaxed);
            let mut tail = cache.load(Ordering::Relaxed);
            if tail.wrapping_sub(head) < out.len() as u64 {
                // Read the producers' line only when the cached tail does
                // not cover the request.
                tail = tail_w.load(Ordering::Acquire);
                cache.store(tail, Ordering::Relaxed);
                if tail == head {
                    return Err(Error::Empty);
                }
            }
            let avail = tail.wrapping_sub(head);
            if avail > g.ring_cap() as u64 {
                return Err(Error::Corrupt("queue positions out of range"));
            }
            let k = (out.len() as u64).min(avail) as usize;
            self.set_intent(q, HEAD_SIDE, head, k as u32, me);
            let mut got = 0;
            for i in 0..k {
                let ent = self.r.ring(q, head + i as u64).load(Ordering::Relaxed);
                let e = entry_elem(ent);
                let gen = gen_of(ent);
                if e >= g.elem_count() || self.r.meta(e).load(Ordering::Relaxed) != queued(q, gen) {
                    // A stale entry: its element is where its record says
                    // (only a racing double push by two threads of one
                    // process, or damaged memory, leaves one). Drop it.
                    self.r.header_u64(layout::OFF_STALE).fetch_add(1, Ordering::Relaxed);
                    continue;
                }
                self.r.meta(e).store(held(me, gen.wrapping_add(1)), Ordering::Relaxed);
                out[got] = e;
                got += 1;
            }
            head_w.store(head + k as u64, Ordering::Release);
            self.clear_intent(q, HEAD_SIDE);
            if got > 0 {
                return Ok(got);
            }
        }
    }

    /// Whether queue `q` looks non-empty (a racy snapshot).
    #[inline]
    fn nonempty(&self, q: u32) -> bool {
        let h = self.r.queue_u64(q, HEAD_SIDE + SIDE_POS).load(Ordering::Acquire);
        let t = self.r.queue_u64(q, TAIL_SIDE + SIDE_POS).load(Ordering::Acquire);
        t > h
    }

    /// Number of elements in queue `q` (a snapshot: other processes may be
    /// moving elements). Errors: `InvalidArg`.
    pub fn len(&self, q: u32) -> Result<u64> {
        self.check_q(q)?;
        let h = self.r.queue_u64(q, HEAD_SIDE + SIDE_POS).load(Ordering::Acquire);
        let t = self.r.queue_u64(q, TAIL_SIDE + SIDE_POS).load(Ordering::Acquire);
        Ok(t.saturating_sub(h).min(self.r.geom().elem_count() as u64))
    }

    /// Sleeps until queue `q` is non-empty, at most `timeout` (None: no
    /// limit). Returns at once when it is non-empty. A successful return
    /// does not reserve an element: another consumer may pull it first, so
    /// call `pull` and wait again on `Empty`.
    ///
    /// Mechanism: a futex (not an eventfd) on the queue's 32-bit wait word,
    /// shared between processes (no `FUTEX_PRIVATE_FLAG`). A waiter sets
    /// the word's low bit ("someone sleeps") and sleeps on that value; a
    /// push that finds the bit set clears it, bumps the word and calls
    /// `FUTEX_WAKE`, so pushes make no system call while nobody sleeps, and
    /// only one per wake-up while someone does. A waiter killed while
    /// asleep leaves the bit set; the next push clears it (one spare wake).
    /// Errors: `InvalidArg`, `Timeout`.
    pub fn wait(&self, q: u32, timeout: Option<Duration>) -> Result<()> {
        self.check_q(q)?;
        // A timeout too large for the clock means no limit.
        let deadline = timeout.and_then(|d| Instant::now().checked_add(d));
        let seq = self.r.queue_u32(q, layout::WAIT_SEQ);
        loop {
            if self.nonempty(q) {
                return Ok(());
            }
            let s = seq.load(Ordering::Relaxed);
            let asleep = s | 1;
            if s & 1 == 0
                && seq.compare_exchange(s, asleep, Ordering::SeqCst, Ordering::Relaxed).is_err()
            {
                continue;
            }
            fence(Ordering::SeqCst);
            if self.nonempty(q) {
                return Ok(());
            }
            let remaining = match deadline {
                None => None,
                Some(d) => {
                    let now = Instant::now();
                    if now >= d {
                        return Err(Error::Timeout);
                    }
                    Some(d - now)
                }
            };
            futex::futex_wait(seq, asleep, remaining);
        }
    }

    // ---- names ---------------------------------------------------------------

    /// The name of queue `q` under the admin lock; empty when unnamed (or
    /// when a process died while writing it).
    fn read_name(&self, q: u32) -> Vec<u8> {
        if self.r.queue_u32(q, layout::NAME_VER).load(Ordering::Acquire) & 1 == 1 {
            return Vec::new();
        }
        let mut b = [0u8; 32];
        for (i, chunk) in b.chunks_exact_mut(8).enumerate() {
            let w = self.r.queue_u64(q, layout::NAME_BYTES + 8 * i).load(Ordering::Relaxed);
            chunk.copy_from_slice(&w.to_le_bytes());
        }
        let n = b.iter().position(|&c| c == 0).unwrap_or(layout::NAME_MAX);
        b[..n.min(layout::NAME_MAX)].to_vec()
    }

    /// Names queue `q` (at most 31 bytes, no NUL); an empty name removes
    /// the name. Errors: `InvalidArg`, `Exists` (another queue has that
    /// name), `Busy`. Serialized with other name changes and lookups by the
    /// admin lock.
    pub fn set_name(&self, q: u32, name: impl AsRef<[u8]>) -> Result<()> {
        let name = name.as_ref();
        self.check_q(q)?;
        layout::check_queue_name(name)?;
        let _admin = self.lock_admin()?;
        if !name.is_empty() && (0..self.queue_count()).any(|o| o != q && self.read_name(o) == name)
        {
            return Err(Error::Exists);
        }
        let ver = self.r.queue_u32(q, layout::NAME_VER);
        let odd = ver.load(Ordering::Relaxed) | 1;
        ver.store(odd, Ordering::Relaxed);
        fence(Ordering::Release);
        let mut b = [0u8; 32];
        b[..name.len()].copy_from_slice(name);
        for (i, chunk) in b.chunks_exact(8).enumerate() {
            self.r
                .queue_u64(q, layout::NAME_BYTES + 8 * i)
                .store(u64::from_le_bytes(chunk.try_into().unwrap()), Ordering::Relaxed);
        }
        ver.store(odd.wrapping_add(1), Ordering::Release);
        Ok(())
    }

    /// The name of queue `q` (empty when unnamed). Errors: `InvalidArg`,
    /// `Busy`.
    pub fn name(&self, q: u32) -> Result<Vec<u8>> {
        self.check_q(q)?;
        let _admin = self.lock_admin()?;
        Ok(self.read_name(q))
    }

    /// The id of the queue named `name`. Errors: `InvalidArg` (empty or
    /// too long), `NotFound`, `Busy`.
    pub fn lookup(&self, name: impl AsRef<[u8]>) -> Result<u32> {
        let name = name.as_ref();
        layout::check_queue_name(name)?;
        if name.is_empty() {
            return Err(Error::InvalidArg("queue name is empty"));
        }
        let _admin = self.lock_admin()?;
        (0..self.queue_count()).find(|&q| self.read_name(q) == name).ok_or(Error::NotFound)
    }

    // ---- ownership, reclaim, audit --------------------------------------------

    /// Where element `e` is now (a snapshot). Errors: `InvalidArg`.
    pub fn locate(&self, e: u32) -> Result<Location> {
        self.check_e(e)?;
        let s = state_of(self.r.meta(e).load(Ordering::Acquire));
        Ok(if s & HELD_BIT != 0 { Location::Held(s & !HELD_BIT) } else { Location::Queue(s) })
    }

    /// Number of elements held by process `pid`, or by any process when
    /// `pid` is None (a snapshot; scans every element record).
    pub fn held(&self, pid: Option<u32>) -> u64 {
        (0..self.elem_count())
            .filter(|&e| {
                let s = state_of(self.r.meta(e).load(Ordering::Relaxed));
                s & HELD_BIT != 0 && pid.is_none_or(|p| s & !HELD_BIT == p)
            })
            .count() as u64
    }

    /// Takes over and repairs every queue lock held by a dead process
    /// (`only`: just those of that pid). The caller holds the admin lock.
    fn repair_dead_locks(&self, only: Option<u32>) {
        let me = current_pid();
        for q in 0..self.queue_count() {
            for side in [HEAD_SIDE, TAIL_SIDE] {
                let owner = self.r.queue_u32(q, side + SIDE_OWNER);
                let h = owner.load(Ordering::Acquire);
                if h == 0 || h == me || only.is_some_and(|p| p != h) {
                    continue;
                }
                if (only.is_some() || process_dead(h))
                    && owner.compare_exchange(h, me, Ordering::Acquire, Ordering::Relaxed).is_ok()
                {
                    self.repair(q, side);
                    owner.store(0, Ordering::Release);
                }
            }
        }
    }

    /// Returns to queue 0 every element held by a dead process — the
    /// process `pid`, or every dead process when `pid` is None — and
    /// returns how many it moved.
    ///
    /// First it takes over every queue lock whose owner is dead and rolls
    /// back that owner's unfinished batch (a pull interrupted before its
    /// head moved leaves its elements in the queue; a push interrupted
    /// before its tail moved gives them back to the dead pusher); then it
    /// scans every element record for holders that are dead. Runs under the admin lock, so
    /// no takeover races it. Cost: one pass over the element records plus
    /// one `kill(pid, 0)` per distinct holder.
    ///
    /// A pid reused by a new process makes the old holder's elements look
    /// held by a live one; they are reclaimed once that process exits.
    /// Errors: `InvalidArg` (pid 0), `Conflict` (`pid` is alive), `Busy`.
    pub fn reclaim(&self, pid: Option<u32>) -> Result<u64> {
        if let Some(p) = pid {
            if p == 0 || p & HELD_BIT != 0 {
                return Err(Error::InvalidArg("pid out of range"));
            }
            if !process_dead(p) {
                return Err(Error::Conflict("that process is alive"));
            }
        }
        let _admin = self.lock_admin()?;
        self.repair_dead_locks(None);
        let mut dead: HashMap<u32, bool> = HashMap::new();
        let mut batch: Vec<(u32, u64)> = Vec::with_capacity(RECLAIM_BATCH);
        let mut moved = 0u64;
        for e in 0..self.elem_count() {
            let m = self.r.meta(e).load(Ordering::Acquire);
            let s = state_of(m);
            if s & HELD_BIT == 0 {
                continue;
            }
            let p = s & !HELD_BIT;
            if pid.is_some_and(|want| want != p) {
                continue;
            }
            let is_dead = match dead.get(&p) {
                Some(&d) => d,
                None => {
                    let d = process_dead(p);
                    if d {
                        // `p` may have died after the first sweep, holding a
                        // lock: repair that before touching its elements. It
                        // is dead, so it takes no new lock after this.
                        self.repair_dead_locks(Some(p));
                    }
                    dead.insert(p, d);
                    d
                }
            };
            if !is_dead {
                continue;
            }
            // The repair may have put this element back in a queue.
            let m = self.r.meta(e).load(Ordering::Acquire);
            if state_of(m) != s {
                continue;
            }
            batch.push((e, m));
            if batch.len() == RECLAIM_BATCH {
                moved += self.push_reclaimed(&batch)?;
                batch.clear();
            }
        }
        if !batch.is_empty() {
            moved += self.push_reclaimed(&batch)?;
        }
        Ok(moved)
    }

    /// Pushes elements held by dead processes to queue 0; `items` pairs each
    /// element with the record it had when found. An element whose record
    /// changed since is skipped. The caller holds the admin lock.
    fn push_reclaimed(&self, items: &[(u32, u64)]) -> Result<u64> {
        let me = current_pid();
        let guard = self.lock_side(0, TAIL_SIDE, true)?;
        let tail = self.r.queue_u64(0, TAIL_SIDE + SIDE_POS);
        let t = tail.load(Ordering::Relaxed);
        self.set_intent(0, TAIL_SIDE, t, items.len() as u32, me);
        let mut n = 0u64;
        for &(e, m) in items {
            let gen = gen_of(m).wrapping_add(1);
            self.r.ring(0, t + n).store(entry(e, gen), Ordering::Relaxed);
            if self
                .r
                .meta(e)
                .compare_exchange(m, queued(0, gen), Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
            {
                n += 1;
            }
        }
        tail.store(t + n, Ordering::Release);
        self.clear_intent(0, TAIL_SIDE);
        drop(guard);
        self.wake(0);
        Ok(n)
    }

    /// The intent (start, count, pid) of a batch in progress on side `side`
    /// of queue `q`, or left unfinished by a holder that died or panicked.
    fn pending(&self, q: u32, side: usize) -> Option<(u64, u32, u32)> {
        let k = self.r.queue_u32(q, side + SIDE_INTENT_N).load(Ordering::Acquire);
        (k != 0 && k <= self.r.geom().ring_cap()).then(|| {
            (
                self.r.queue_u64(q, side + SIDE_INTENT_POS).load(Ordering::Relaxed),
                k,
                self.r.queue_u32(q, side + SIDE_INTENT_PID).load(Ordering::Relaxed),
            )
        })
    }

    /// Checks that every element is accounted for exactly once: each entry
    /// of each queue names a distinct element whose record says that queue
    /// (with the same generation; other entries are counted as `stale`),
    /// and every element in no queue is
    /// recorded as held, or belongs to a batch interrupted by a process
    /// that died inside it (`in_transit`). Meaningful only when no push or
    /// pull is running in a live process; `locks_held` counts the locks
    /// taken when it ran.
    /// Errors: `Corrupt` (queue positions out of range, or an element
    /// recorded in a queue but found in none: lost).
    pub fn audit(&self) -> Result<Audit> {
        let g = *self.r.geom();
        let n = g.elem_count() as u64;
        let mut a = Audit { elem_count: n, ..Audit::default() };
        for q in 0..g.queue_count() {
            for side in [HEAD_SIDE, TAIL_SIDE] {
                if self.r.queue_u32(q, side + SIDE_OWNER).load(Ordering::Relaxed) != 0 {
                    a.locks_held += 1;
                }
            }
        }
        let mut seen = vec![false; g.elem_count() as usize];
        for q in 0..g.queue_count() {
            let h = self.r.queue_u64(q, HEAD_SIDE + SIDE_POS).load(Ordering::Acquire);
            let t = self.r.queue_u64(q, TAIL_SIDE + SIDE_POS).load(Ordering::Acquire);
            if t < h || t - h > n {
                return Err(Error::Corrupt("queue positions out of range"));
            }
            // A pull interrupted before its head moved: its entries are
            // still in the ring, some records already say held(pid, gen+1).
            let pull = self.pending(q, HEAD_SIDE).filter(|&(pos, _, _)| pos == h);
            for pos in h..t {
                let ent = self.r.ring(q, pos).load(Ordering::Relaxed);
                let e = entry_elem(ent);
                let gen = gen_of(ent);
                let rec =
                    if e < g.elem_count() { self.r.meta(e).load(Ordering::Relaxed) } else { 0 };
                if e >= g.elem_count() || seen[e as usize] {
                    a.stale += 1;
                } else if rec == queued(q, gen) {
                    seen[e as usize] = true;
                    a.queued += 1;
                } else if pull.is_some_and(|(p0, k, pid)| {
                    pos < p0 + k as u64 && rec == held(pid, gen.wrapping_add(1))
                }) {
                    seen[e as usize] = true;
                    a.in_transit += 1;
                } else {
                    a.stale += 1;
                }
            }
            // A push interrupted before its tail moved: entries past the
            // tail, some records already say queued(q, gen).
            if let Some((p0, k, _)) = self.pending(q, TAIL_SIDE).filter(|&(pos, _, _)| pos == t) {
                for pos in p0..p0 + k as u64 {
                    let ent = self.r.ring(q, pos).load(Ordering::Relaxed);
                    let e = entry_elem(ent);
                    if e < g.elem_count()
                        && !seen[e as usize]
                        && self.r.meta(e).load(Ordering::Relaxed) == queued(q, gen_of(ent))
                    {
                        seen[e as usize] = true;
                        a.in_transit += 1;
                    }
                }
            }
        }
        let mut dead: HashMap<u32, bool> = HashMap::new();
        for e in 0..g.elem_count() {
            if seen[e as usize] {
                continue;
            }
            let s = state_of(self.r.meta(e).load(Ordering::Relaxed));
            if s & HELD_BIT == 0 {
                return Err(Error::Corrupt(
                    "an element is recorded in a queue but is in none (lost)",
                ));
            }
            a.held += 1;
            let p = s & !HELD_BIT;
            if *dead.entry(p).or_insert_with(|| process_dead(p)) {
                a.held_by_dead += 1;
            }
        }
        Ok(a)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stale duplicate entry (what two threads pushing one element at
    /// once can leave) is reported by `audit` and dropped by `pull`; the
    /// element stays where its record says, exactly once.
    #[test]
    fn stale_duplicate_entry_is_dropped_not_returned() {
        let s = QueueSet::create_anon(4, 8, 3).unwrap();
        let e = s.pull(0).unwrap();
        s.push(1, e).unwrap();
        let ent = s.r.ring(1, 0).load(Ordering::Relaxed);
        // Forge the duplicate in queue 2.
        s.r.ring(2, 0).store(ent, Ordering::Relaxed);
        s.r.queue_u64(2, TAIL_SIDE + SIDE_POS).store(1, Ordering::Release);
        let a = s.audit().unwrap();
        assert_eq!((a.queued, a.stale, a.held), (4, 1, 0));
        assert_eq!(s.pull(2), Err(Error::Empty));
        assert_eq!(s.stale_dropped(), 1);
        let a = s.audit().unwrap();
        assert_eq!((a.queued, a.stale), (4, 0));
        assert_eq!(s.pull(1), Ok(e));
    }

    /// A batch left half done by a holder that panicked (so its lock was
    /// released with the intent set) is rolled back by the next holder.
    #[test]
    fn leftover_intent_is_repaired_by_the_next_holder() {
        let s = QueueSet::create_anon(8, 8, 2).unwrap();
        let me = current_pid();
        let mut two = [0u32; 2];
        assert_eq!(s.pull_many(0, &mut two).unwrap(), 2);
        // Half a push of both to queue 1: entries written, intent recorded,
        // the first record switched, the tail not moved.
        for (i, &e) in two.iter().enumerate() {
            let gen = gen_of(s.r.meta(e).load(Ordering::Relaxed)) + 1;
            s.r.ring(1, i as u64).store(entry(e, gen), Ordering::Relaxed);
        }
        s.set_intent(1, TAIL_SIDE, 0, 2, me);
        let gen = gen_of(s.r.ring(1, 0).load(Ordering::Relaxed));
        s.r.meta(two[0]).store(queued(1, gen), Ordering::Relaxed);
        assert_eq!(s.audit().unwrap().in_transit, 1);
        // The next push to queue 1 repairs first: both are held again.
        s.push(1, two[1]).unwrap();
        assert_eq!(s.locate(two[0]).unwrap(), Location::Held(me));
        assert_eq!(s.repairs(), 1);
        s.push(1, two[0]).unwrap();
        assert_eq!(s.pull(1), Ok(two[1]));
        assert_eq!(s.pull(1), Ok(two[0]));
    }

    /// A pull interrupted before its head moved leaves its batch in the
    /// queue: the next consumer gets the same elements, in order.
    #[test]
    fn interrupted_pull_is_rolled_back_into_the_queue() {
        let s = QueueSet::create_anon(8, 8, 2).unwrap();
        let me = current_pid();
        // Half a pull of three from queue 0: intent, two records switched.
        s.set_intent(0, HEAD_SIDE, 0, 3, 12345);
        for i in 0..2u64 {
            let ent = s.r.ring(0, i).load(Ordering::Relaxed);
            s.r.meta(entry_elem(ent)).store(held(12345, gen_of(ent) + 1), Ordering::Relaxed);
        }
        let a = s.audit().unwrap();
        assert_eq!((a.queued, a.in_transit, a.held), (6, 2, 0));
        let mut out = [0u32; 3];
        assert_eq!(s.pull_many(0, &mut out), Ok(3));
        assert_eq!(out, [0, 1, 2]);
        assert_eq!(s.repairs(), 1);
        assert_eq!(s.locate(0).unwrap(), Location::Held(me));
        s.push_many(0, &out).unwrap();
        let a = s.audit().unwrap();
        assert_eq!((a.queued, a.in_transit, a.held, a.stale), (8, 0, 0, 0));
    }
}
