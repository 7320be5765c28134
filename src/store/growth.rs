//! Growth: a store that adds levels of slots as keys arrive, and never
//! moves a key (issue 12).
//!
//! A growing store's slots are levels: level `l` holds
//! `level_base * 2^l` slots, placed after the levels before it, so slot
//! indices, UIDs and `get_ptr` pointers stay the same for the life of the
//! store. Its whole address space (every level it may have, and its heap)
//! is one mapping of a sparse file made at creation, as LMDB does with its
//! map size; file space is reserved (`posix_fallocate`) only for the levels
//! in use and the next one, so a full file system answers `Full`, never
//! `SIGBUS`. A process that opened the store before it grew sees the new
//! level through the same mapping: nothing is remapped.
//!
//! Each level is an open-addressing table of its own (home slot
//! `fastrange(hash, level slots)`, linear probing inside the level, control
//! bytes, tombstones: `read.rs`, `write.rs`). A key lives in the level it
//! was first written to; a lookup looks at every level in use, newest
//! first; an insert goes to the newest level. When the newest level's fill
//! (slots ever taken from `EMPTY`) reaches 3/4 of its slots, the writer
//! about to take one more publishes the next level, twice as large. Nothing
//! is ever rehashed: the step is one store of the level count, after the
//! new level's space is reserved. That reservation is spread over the
//! inserts into the second half of the level before it (`reserve_ahead`:
//! one chunk of `CHUNK_PAGES` pages at a time, by whichever writer finds
//! the growth lock free), so that no insert pays for a whole level.
//!
//! This is the scheme of Bender et al.'s cache-oblivious lookahead array
//! and of LSM trees without their merges: geometric levels, each
//! searched in turn (Bender, Farach-Colton, Fineman, Fogel, Kuszmaul,
//! Nelson, "Cache-oblivious streaming B-trees", SPAA 2007). It is chosen
//! over linear hashing (Litwin 1980) and extendible hashing (Fagin et al.
//! 1979) because both split buckets, which moves keys: a `get_ptr` pointer
//! or a UID would no longer name the key. The costs, stated in
//! `docs/DESIGN.md`: up to about twice the slots of a store sized for its
//! keys, and a lookup that looks at every level (one control byte each,
//! the small levels' in cache).
//!
//! Crash safety: publishing a level is one atomic store, done under the
//! robust growth lock after the level's space is reserved; reserving is
//! idempotent. A writer killed anywhere in a step leaves either the old
//! level count (the next writer reserves again and publishes) or the new
//! one; the reservation counter names the level it counts, so a stale one
//! is read as zero.

use std::sync::atomic::Ordering;

use crate::error::{Error, Result};
use crate::store::format::{
    OFF_GROW_LOCK, OFF_GROW_NEXT, OFF_HEAP_RESERVED, OFF_LEVELS, OFF_LEVEL_FILL,
};
use crate::store::{Loc, Store};
use crate::sync::robust_lock;

/// Pages a writer reserves ahead of need at one time (64 KiB): on tmpfs
/// about 10–20 µs, paid by one insert in ~190 (128-byte slots).
pub const CHUNK_PAGES: u64 = 16;
const PAGE: u64 = 4096;
/// Fills between two looks at the next level's reservation.
const RESERVE_EVERY: u64 = 32;
const HAVE_MASK: u64 = (1 << 48) - 1;

impl Store {
    /// Levels in use (1 to `max_levels`): one load of the header's level
    /// count for a growing store, none for a store of fixed size. Clamped,
    /// so a damaged count can never name a level outside the mapping.
    #[inline(always)]
    pub(crate) fn levels_now(&self) -> u32 {
        let g = self.region().geom();
        if !g.grows() {
            return 1;
        }
        let n = self.region().header_u64(OFF_LEVELS).load(Ordering::Acquire);
        n.clamp(1, u64::from(g.max_levels())) as u32
    }

    /// Slots in use: those of every level published so far (for a store of
    /// fixed size, all of them). Slot indices below it are valid; it only
    /// grows.
    pub fn slots_in_use(&self) -> u64 {
        self.region().geom().level_first(self.levels_now())
    }

    /// Levels in use: 1 for a store of fixed size.
    pub fn levels(&self) -> u32 {
        self.levels_now()
    }

    /// The level slot `idx` belongs to (`idx < slot_count`).
    #[inline]
    pub(crate) fn level_of(&self, idx: u64) -> u32 {
        (idx / self.region().geom().level_base() + 1).ilog2()
    }

    /// Where `key` (hash `h`) lives in level `l`.
    #[inline(always)]
    pub(crate) fn locate_level(&self, h: u64, l: u32) -> Loc {
        let g = self.region().geom();
        let (first, count) = (g.level_first(l), g.level_count(l));
        Loc {
            home: first + ((u128::from(h) * u128::from(count)) >> 64) as u64,
            tag: h as u32,
            lock: ((h >> 32) as usize) & (g.lock_count() as usize - 1),
            first,
            count,
        }
    }

    /// Slots of level `l` that may be taken from `EMPTY` before the next
    /// level is added: 3/4 of them.
    fn fill_limit(&self, l: u32) -> u64 {
        self.region().geom().level_count(l) / 4 * 3
    }

    fn fill(&self, l: u32) -> u64 {
        self.region().header_u64(OFF_LEVEL_FILL + 8 * l as usize).load(Ordering::Relaxed)
    }

    /// Whether the writer about to take an `EMPTY` slot of level `l`, the
    /// newest of `n` levels, should add level `n` first.
    pub(crate) fn wants_level(&self, l: u32, n: u32) -> bool {
        let g = self.region().geom();
        g.grows() && l + 1 == n && n < g.max_levels() && self.fill(l) >= self.fill_limit(l)
    }

    /// Counts an `EMPTY` slot of level `l` taken by an insert, and
    /// reserves a little more of the next level's space when the count
    /// says it is due (best effort: a busy growth lock or a full file
    /// system leave it to the next insert, or to `grow`).
    pub(crate) fn note_fill(&self, l: u32) {
        let g = self.region().geom();
        if !g.grows() {
            return;
        }
        let fill = self
            .region()
            .header_u64(OFF_LEVEL_FILL + 8 * l as usize)
            .fetch_add(1, Ordering::Relaxed)
            .wrapping_add(1);
        let next = l + 1;
        if fill.is_multiple_of(RESERVE_EVERY) && next < g.max_levels() && next == self.levels_now()
        {
            self.reserve_ahead(next, fill);
        }
    }

    /// Pages of the file that level `l` needs reserved: its control bytes
    /// (page-aligned outward), then its slots.
    fn level_spans(&self, l: u32) -> [(u64, u64); 2] {
        let g = self.region().geom();
        let (first, count) = (g.level_first(l), g.level_count(l));
        let c0 = (g.ctrl_offset() + first) / PAGE * PAGE;
        let c1 = (g.ctrl_offset() + first + count).div_ceil(PAGE) * PAGE;
        let s0 = g.slots_offset() + first * u64::from(g.slot_size());
        let s1 = s0 + count * u64::from(g.slot_size());
        [(c0, c1), (s0 / PAGE * PAGE, s1.div_ceil(PAGE) * PAGE)]
    }

    fn level_pages(&self, l: u32) -> u64 {
        self.level_spans(l).iter().map(|(a, b)| (b - a) / PAGE).sum()
    }

    /// Pages of level `next` reserved so far, as the header says.
    fn reserved_pages(&self, next: u32) -> u64 {
        let st = self.region().header_u64(OFF_GROW_NEXT).load(Ordering::Acquire);
        if st >> 48 == u64::from(next) {
            (st & HAVE_MASK).min(self.level_pages(next))
        } else {
            0
        }
    }

    /// Reserves pages `[from, to)` of level `l` (in the order of
    /// `level_spans`) on the file system.
    fn reserve_level_pages(&self, l: u32, from: u64, to: u64) -> Result<()> {
        let mut skip = 0;
        for (a, b) in self.level_spans(l) {
            let pages = (b - a) / PAGE;
            let lo = from.max(skip).min(skip + pages);
            let hi = to.max(skip).min(skip + pages);
            if hi > lo {
                crate::sys::space::reserve_range(
                    &self._file,
                    a + (lo - skip) * PAGE,
                    (hi - lo) * PAGE,
                    "the store's next level",
                )?;
            }
            skip += pages;
        }
        Ok(())
    }

    /// Bytes the store has reserved on its file system, as its header
    /// says: header and lock table, the levels in use, the next level's
    /// pages so far, the heap.
    pub(crate) fn reserved_bytes(&self) -> u64 {
        let n = self.levels_now();
        let levels: u64 = (0..n).map(|l| self.level_pages(l) * PAGE).sum();
        let next =
            if n < self.region().geom().max_levels() { self.reserved_pages(n) * PAGE } else { 0 };
        let heap = self.region().header_u64(OFF_HEAP_RESERVED).load(Ordering::Relaxed);
        self.region().geom().fixed_len() + levels + next + heap
    }

    /// Whether `more` bytes may still be reserved under the store's limit
    /// (always, for a store of fixed size).
    pub(crate) fn within_limit(&self, more: u64) -> bool {
        let g = self.region().geom();
        !g.grows() || self.reserved_bytes().saturating_add(more) <= g.limit_bytes()
    }

    /// Reserves the next chunk of level `next` when the fill of the level
    /// before it says it is due, without waiting for the growth lock.
    fn reserve_ahead(&self, next: u32, fill: u64) {
        // Reserve while the level before fills its second half, one chunk
        // ahead of the fill: done by the time the level is added, and no
        // earlier than needed (a level reserved early is memory held).
        let limit = self.fill_limit(next - 1).max(2);
        let half = limit / 2;
        if fill < half {
            return;
        }
        let total = self.level_pages(next);
        let done = u128::from((fill - half).min(limit - half));
        let want = (u128::from(total) * done / u128::from(limit - half)) as u64;
        let want = (want + CHUNK_PAGES).min(total);
        if self.reserved_pages(next) >= want {
            return;
        }
        // Never waits; takes the lock over from a dead holder (which held
        // nothing but a reservation in progress), so a writer killed here
        // does not leave the rest of the level to the publishing insert.
        let lock = self.region().header_u32(OFF_GROW_LOCK);
        let Some((_g, _)) = robust_lock::try_lock_or_take_over(lock, true) else {
            return;
        };
        let have = self.reserved_pages(next);
        if have >= want || self.levels_now() != next {
            return;
        }
        let to = (have + CHUNK_PAGES).min(want);
        if !self.within_limit((to - have) * PAGE) {
            return;
        }
        if self.reserve_level_pages(next, have, to).is_ok() {
            self.region()
                .header_u64(OFF_GROW_NEXT)
                .store(u64::from(next) << 48 | to, Ordering::Release);
        }
    }

    /// Adds level `n` to a store whose writer saw `n` levels: reserves what
    /// is left of its space and publishes it. Returns at once when another
    /// writer added it meanwhile. Errors: `Full` when the store has its
    /// most levels; `GrowthLimit` past its byte limit; `NoSpace` when the
    /// file system cannot hold the level; `Busy` (growth lock).
    pub(crate) fn grow(&self, n: u32) -> Result<()> {
        let g = *self.region().geom();
        if n >= g.max_levels() {
            return Err(Error::Full);
        }
        let (_guard, _) = robust_lock::lock(self.region().header_u32(OFF_GROW_LOCK))?;
        if self.levels_now() > n {
            return Ok(());
        }
        let have = self.reserved_pages(n);
        let total = self.level_pages(n);
        if !self.within_limit((total - have) * PAGE) {
            return Err(Error::GrowthLimit { limit: g.limit_bytes() });
        }
        self.reserve_level_pages(n, have, total)?;
        let r = self.region();
        r.header_u64(OFF_GROW_NEXT).store(u64::from(n + 1) << 48, Ordering::Release);
        r.header_u64(OFF_LEVELS).store(u64::from(n) + 1, Ordering::Release);
        Ok(())
    }
}
