//! The value heap: extents for records too large for their slot.
//!
//! A record whose key plus value do not fit its slot lives in one *extent*
//! of the heap section (`[heap_offset, file_len)`); the slot keeps its
//! lengths, the extent's offset and as much of the key as fits, so that a
//! lookup rejects most other keys without reading the heap. An extent is a
//! 16-byte header — `size | state` (u64: its size in bytes, a size class,
//! with state 1 = in use, 2 = free in the low bits) and a u64 that is the
//! next free extent of its class while free — then the key and the value.
//! Offsets into the heap are relative to `heap_offset`; the first
//! `HEAP_RESERVED` bytes are never allocated, so 0 means "none".
//!
//! Allocation is segregated fit over size classes: four classes per power
//! of two (32, 40, 48, 56, 64, 80, …, the 1.25-step classes of jemalloc and
//! of memcached's slabs with growth factor 1.25), so rounding wastes at most
//! a fifth of an extent. A request takes the head of the free list of its
//! class (or of the next three, at most 1.75 × its size), else bumps the
//! heap's top, else takes any larger free extent whole. Extents are never
//! split or merged: an extent freed by a delete, an overwrite or an expiry
//! is reused by a record of its class. That bounds each step to a few word
//! writes, which is what makes it crash-safe (below); the cost is the space
//! classes no longer in demand keep, which `check` and `stats` report.
//!
//! Crash safety. The heap's shared words (free-list heads, top, byte
//! counts, extent headers) and the two heap fields of the writer's lock
//! entry change only under the heap lock (a robust lock in the header), and
//! only through the *journal*: a step first writes the list of
//! (offset, value) assignments it will make into the header, sets the
//! journal valid, makes the assignments, and clears it. A process that
//! takes the lock over from a dead holder replays a valid journal; the
//! assignments are absolute values, so replaying a step that was already
//! (partly) applied is harmless (redo logging, Gray & Reuter,
//! *Transaction Processing*, ch. 9). Each step also records the extent in
//! (or clears it from) the writer's lock entry (`LOCK_OFF_HEAP_NEW` /
//! `LOCK_OFF_HEAP_OLD`), in the same journal, so that an extent always has
//! exactly one owner: a free list, a lock entry, or — once the write that
//! references it is published — its slot. The repair of a dead writer's
//! lock entry (`recovery.rs`) frees what the entry still names.

use std::sync::atomic::Ordering;

use crate::error::{Error, Result};
use crate::store::format::{
    HEAP_JOURNAL_MAX, HEAP_RESERVED, OFF_HEAP_CLASSES, OFF_HEAP_FREE, OFF_HEAP_JOURNAL,
    OFF_HEAP_LOCK, OFF_HEAP_RESERVED, OFF_HEAP_TOP, OFF_HEAP_USED,
};
use crate::store::Store;
use crate::sync::robust_lock::{self, RobustGuard};

/// Bytes of an extent's header, before the key.
pub const EXTENT_HEADER: u64 = 16;
/// Number of size classes: the largest, 7 << 28 bytes, holds the largest
/// record (`MAX_KEY_LEN + MAX_VALUE_LEN` plus the header).
pub const CLASSES: usize = 104;
/// Extent state in the low bits of its first word: in use.
pub const EXTENT_USED: u64 = 1;
/// Extent state in the low bits of its first word: on a free list.
pub const EXTENT_FREE: u64 = 2;

/// Bytes of an extent of class `c`: `(4 + c % 4) << (c / 4 + 3)`, from 32.
pub fn class_size(c: usize) -> u64 {
    (4 + (c as u64 & 3)) << ((c as u64 >> 2) + 3)
}

/// The smallest class whose extents hold `n` bytes, if any.
pub fn class_for(n: u64) -> Option<usize> {
    (0..CLASSES).find(|&c| class_size(c) >= n)
}

/// The class whose size is exactly `size`, if any.
pub fn class_of_size(size: u64) -> Option<usize> {
    class_for(size).filter(|&c| class_size(c) == size)
}

/// Bytes an extent must hold for a key of `kl` and a value of `vl` bytes.
pub fn extent_need(kl: usize, vl: usize) -> u64 {
    EXTENT_HEADER + kl as u64 + vl as u64
}

/// The heap's counters (`Store::heap_stats`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HeapStats {
    /// Bytes of the heap section.
    pub bytes: u64,
    /// Bytes of extents in use (headers and class rounding included).
    pub used: u64,
    /// Bytes of freed extents waiting on the free lists for reuse.
    pub free: u64,
    /// Bytes never allocated yet, above the top.
    pub untouched: u64,
    /// The largest extent one allocation can get now, in bytes: the larger
    /// of the room above the top and the largest free extent.
    pub largest_free: u64,
}

impl Store {
    fn class_head_off(c: usize) -> usize {
        OFF_HEAP_CLASSES + 8 * c
    }

    /// Takes the heap lock, replaying the journal a dead holder left.
    /// Errors: `Busy` past the wait limit.
    fn heap_lock(&self) -> Result<RobustGuard<'_>> {
        let r = self.region();
        let (guard, _taken_over) = robust_lock::lock(r.header_u32(OFF_HEAP_LOCK))?;
        // A valid journal under a lock just taken means its writer died
        // (taken over) inside a step: finish the step.
        self.replay_heap_journal();
        Ok(guard)
    }

    /// Applies the journal if it is valid, then clears it. The caller holds
    /// the heap lock. Assignments outside the file or unaligned (only a
    /// damaged file holds one) are skipped.
    fn replay_heap_journal(&self) {
        let r = self.region();
        if r.header_u32(OFF_HEAP_JOURNAL).load(Ordering::Acquire) != 1 {
            return;
        }
        let count = (r.header_u32(OFF_HEAP_JOURNAL + 4).load(Ordering::Relaxed) as usize)
            .min(HEAP_JOURNAL_MAX);
        let file_len = r.geom().file_len();
        for i in 0..count {
            let at = OFF_HEAP_JOURNAL + 8 + 16 * i;
            let off = r.header_u64(at).load(Ordering::Relaxed);
            let val = r.header_u64(at + 8).load(Ordering::Relaxed);
            if off.is_multiple_of(8) && off.checked_add(8).is_some_and(|e| e <= file_len) {
                r.file_u64(off).store(val, Ordering::Relaxed);
            }
        }
        r.header_u32(OFF_HEAP_JOURNAL).store(0, Ordering::Release);
    }

    /// One heap step: journals `pairs` (absolute offset, value), applies
    /// them and clears the journal. The caller holds the heap lock.
    fn heap_step(&self, pairs: &[(u64, u64)]) {
        let r = self.region();
        assert!(pairs.len() <= HEAP_JOURNAL_MAX);
        for (i, &(off, val)) in pairs.iter().enumerate() {
            let at = OFF_HEAP_JOURNAL + 8 + 16 * i;
            r.header_u64(at).store(off, Ordering::Relaxed);
            r.header_u64(at + 8).store(val, Ordering::Relaxed);
        }
        r.header_u32(OFF_HEAP_JOURNAL + 4).store(pairs.len() as u32, Ordering::Relaxed);
        r.header_u32(OFF_HEAP_JOURNAL).store(1, Ordering::Release);
        for &(off, val) in pairs {
            r.file_u64(off).store(val, Ordering::Relaxed);
        }
        r.header_u32(OFF_HEAP_JOURNAL).store(0, Ordering::Release);
    }

    fn heap_abs(&self, rel: u64) -> u64 {
        self.region().geom().heap_offset() + rel
    }

    /// Whether `rel` may start an extent of `size` bytes below `top`.
    fn extent_fits(&self, rel: u64, size: u64, top: u64) -> bool {
        rel >= HEAP_RESERVED
            && rel.is_multiple_of(8)
            && rel.checked_add(size).is_some_and(|e| e <= top)
    }

    /// The heap's top, checked against the heap's length.
    fn heap_top(&self) -> Result<u64> {
        let r = self.region();
        let top = r.header_u64(OFF_HEAP_TOP).load(Ordering::Relaxed);
        if top < HEAP_RESERVED || top > r.geom().heap_len() || !top.is_multiple_of(8) {
            return Err(Error::Corrupt("heap top outside the heap"));
        }
        Ok(top)
    }

    /// Allocates an extent of at least `need` bytes for the write lock
    /// entry `e` is doing, and records it as the entry's `heap_new` (which
    /// must be 0). Returns its relative offset. Errors: `TooLarge` when no
    /// extent of the heap could ever hold `need` bytes; `HeapFull` when none
    /// is free now; `Corrupt` for a damaged free list; `Busy`.
    pub(crate) fn heap_alloc(&self, e: usize, need: u64) -> Result<u64> {
        let r = self.region();
        let heap_len = r.geom().heap_len();
        let c = match class_for(need) {
            Some(c) if class_size(c) <= heap_len - HEAP_RESERVED => c,
            _ => return Err(Error::TooLarge("record larger than the store's heap")),
        };
        let _g = self.heap_lock()?;
        let top = self.heap_top()?;
        let new_field = r.lock_field_abs(e, crate::store::format::LOCK_OFF_HEAP_NEW);
        let used = r.header_u64(OFF_HEAP_USED).load(Ordering::Relaxed);
        let free = r.header_u64(OFF_HEAP_FREE).load(Ordering::Relaxed);
        // Its class or the next three, then the top, then any larger class.
        let near = c..(c + 4).min(CLASSES);
        let far = (c + 4).min(CLASSES)..CLASSES;
        for cc in near.clone() {
            if let Some(rel) = self.pop_free(cc, top, new_field, used, free)? {
                return Ok(rel);
            }
        }
        let size = class_size(c);
        if let Some(end) = top.checked_add(size).filter(|&end| end <= heap_len) {
            self.reserve_heap_to(end)?;
            let rel = top;
            let hdr = self.heap_abs(rel);
            self.heap_step(&[
                (hdr, size | EXTENT_USED),
                (hdr + 8, 0),
                (OFF_HEAP_TOP as u64, end),
                (OFF_HEAP_USED as u64, used.wrapping_add(size)),
                (new_field, rel),
            ]);
            return Ok(rel);
        }
        for cc in far {
            if let Some(rel) = self.pop_free(cc, top, new_field, used, free)? {
                return Ok(rel);
            }
        }
        Err(Error::HeapFull { need })
    }

    /// Makes sure heap bytes `[0, end)` are reserved on the file system
    /// before an extent below `end` is handed out, reserving in steps that
    /// double (at least 1 MiB, at most 64 MiB, at most to the heap's end).
    /// A growing store's heap stays within its limit (`GrowthLimit`). The caller holds
    /// the heap lock. Errors: `NoSpace` (C: `MAPH_E_FULL`) when the file
    /// system cannot hold them; the heap is left as it was.
    fn reserve_heap_to(&self, end: u64) -> Result<()> {
        let r = self.region();
        let heap_len = r.geom().heap_len();
        let have = r.header_u64(OFF_HEAP_RESERVED).load(Ordering::Relaxed).min(heap_len);
        if end <= have {
            return Ok(());
        }
        let step = have.clamp(1 << 20, 64 << 20);
        let end = end.next_multiple_of(4096).min(heap_len);
        let mut want = end.max(have + step).next_multiple_of(4096).min(heap_len);
        if !self.within_limit(want - have) {
            // Near a growing store's limit: only what this extent needs.
            want = end;
            if !self.within_limit(want - have) {
                return Err(Error::GrowthLimit { limit: r.geom().limit_bytes() });
            }
        }
        crate::sys::space::reserve_range(
            &self._file,
            r.geom().heap_offset() + have,
            want - have,
            "the store's heap",
        )?;
        // Monotonic and idempotent: a crash before this store only means
        // the next step reserves the same bytes again.
        r.header_u64(OFF_HEAP_RESERVED).store(want, Ordering::Relaxed);
        Ok(())
    }

    /// Takes the head of class `c`'s free list for the entry whose
    /// `heap_new` field is at `new_field`, if any.
    fn pop_free(
        &self, c: usize, top: u64, new_field: u64, used: u64, free: u64,
    ) -> Result<Option<u64>> {
        let r = self.region();
        let head_off = Self::class_head_off(c);
        let rel = r.header_u64(head_off).load(Ordering::Relaxed);
        if rel == 0 {
            return Ok(None);
        }
        let size = class_size(c);
        if !self.extent_fits(rel, size, top) {
            return Err(Error::Corrupt("heap free list points outside the heap"));
        }
        if r.heap_u64(rel).load(Ordering::Relaxed) != size | EXTENT_FREE {
            return Err(Error::Corrupt("heap free list holds an extent that is not free"));
        }
        let next = r.heap_u64(rel + 8).load(Ordering::Relaxed);
        if next != 0 && !self.extent_fits(next, size, top) {
            return Err(Error::Corrupt("heap free list points outside the heap"));
        }
        let hdr = self.heap_abs(rel);
        self.heap_step(&[
            (head_off as u64, next),
            (hdr, size | EXTENT_USED),
            (hdr + 8, 0),
            (OFF_HEAP_USED as u64, used.wrapping_add(size)),
            (OFF_HEAP_FREE as u64, free.wrapping_sub(size)),
            (new_field, rel),
        ]);
        Ok(Some(rel))
    }

    /// Frees extent `rel` (when not 0) and, in the same step, sets lock
    /// entry `e`'s heap fields `clear` to 0. An extent that is not in use
    /// (already freed: a repeated repair) or that is damaged is left alone
    /// and only the fields are cleared. Errors: `Busy`.
    pub(crate) fn heap_free(&self, e: usize, rel: u64, clear: &[usize]) -> Result<()> {
        let r = self.region();
        let _g = self.heap_lock()?;
        let mut pairs: Vec<(u64, u64)> =
            clear.iter().map(|&f| (r.lock_field_abs(e, f), 0)).collect();
        if rel != 0 {
            let top = self.heap_top()?;
            let ok_place = rel >= HEAP_RESERVED && rel.is_multiple_of(8) && rel + 16 <= top;
            let word = if ok_place { r.heap_u64(rel).load(Ordering::Relaxed) } else { 0 };
            let size = word & !7;
            if ok_place
                && word & 7 == EXTENT_USED
                && class_of_size(size).is_some()
                && self.extent_fits(rel, size, top)
            {
                let c = class_of_size(size).expect("checked");
                let head_off = Self::class_head_off(c);
                let head = r.header_u64(head_off).load(Ordering::Relaxed);
                let used = r.header_u64(OFF_HEAP_USED).load(Ordering::Relaxed);
                let free = r.header_u64(OFF_HEAP_FREE).load(Ordering::Relaxed);
                let hdr = self.heap_abs(rel);
                pairs.extend_from_slice(&[
                    (hdr, size | EXTENT_FREE),
                    (hdr + 8, head),
                    (head_off as u64, rel),
                    (OFF_HEAP_USED as u64, used.wrapping_sub(size)),
                    (OFF_HEAP_FREE as u64, free.wrapping_add(size)),
                ]);
            }
        }
        if !pairs.is_empty() {
            self.heap_step(&pairs);
        }
        Ok(())
    }

    /// The heap's counters. Reads a few header words; no lock.
    pub fn heap_stats(&self) -> HeapStats {
        let r = self.region();
        let bytes = r.geom().heap_len();
        let top = r.header_u64(OFF_HEAP_TOP).load(Ordering::Relaxed).min(bytes);
        let untouched = bytes - top;
        let largest_class = (0..CLASSES)
            .rev()
            .find(|&c| r.header_u64(Self::class_head_off(c)).load(Ordering::Relaxed) != 0)
            .map_or(0, class_size);
        HeapStats {
            bytes,
            used: r.header_u64(OFF_HEAP_USED).load(Ordering::Relaxed),
            free: r.header_u64(OFF_HEAP_FREE).load(Ordering::Relaxed),
            untouched,
            largest_free: untouched.max(largest_class),
        }
    }

    /// Checks the heap against `referenced` (relative offsets of the
    /// extents that live slots and lock entries hold, each listed once per
    /// holder): walks every extent from the start to the top, every free
    /// list, and the counters. Appends violations to `out`.
    pub(crate) fn check_heap(&self, referenced: &mut [u64], out: &mut Vec<String>) {
        let r = self.region();
        let top = match self.heap_top() {
            Ok(t) => t,
            Err(e) => {
                out.push(format!("heap: {e}"));
                return;
            }
        };
        // Walk the extents in address order.
        let mut used_ext = Vec::new();
        let mut free_ext = Vec::new();
        let (mut used_bytes, mut free_bytes) = (0u64, 0u64);
        let mut rel = HEAP_RESERVED;
        while rel < top {
            let word = r.heap_u64(rel).load(Ordering::Relaxed);
            let size = word & !7;
            if class_of_size(size).is_none() || !self.extent_fits(rel, size, top) {
                out.push(format!("heap: extent at {rel} has a bad size {size}"));
                return;
            }
            match word & 7 {
                EXTENT_USED => {
                    used_ext.push(rel);
                    used_bytes += size;
                }
                EXTENT_FREE => {
                    free_ext.push(rel);
                    free_bytes += size;
                }
                s => out.push(format!("heap: extent at {rel} has a bad state {s}")),
            }
            rel += size;
        }
        referenced.sort_unstable();
        for w in referenced.windows(2) {
            if w[0] == w[1] {
                out.push(format!("heap: extent at {} is referenced twice", w[0]));
            }
        }
        for &x in referenced.iter() {
            if used_ext.binary_search(&x).is_err() {
                out.push(format!("heap: a slot references {x}, which is not an extent in use"));
            }
        }
        for &x in &used_ext {
            if referenced.binary_search(&x).is_err() {
                out.push(format!("heap: extent at {x} is in use but owned by no slot (leaked)"));
            }
        }
        // Every free extent on exactly one list, of its class.
        let mut listed = Vec::new();
        for c in 0..CLASSES {
            let mut x = r.header_u64(Self::class_head_off(c)).load(Ordering::Relaxed);
            let mut n = 0u64;
            while x != 0 {
                if free_ext.binary_search(&x).is_err() {
                    out.push(format!("heap: free list {c} holds {x}, which is not a free extent"));
                    break;
                }
                if r.heap_u64(x).load(Ordering::Relaxed) & !7 != class_size(c) {
                    out.push(format!("heap: free list {c} holds {x} of another class"));
                }
                listed.push(x);
                n += 1;
                if n > free_ext.len() as u64 {
                    out.push(format!("heap: free list {c} has a cycle"));
                    break;
                }
                x = r.heap_u64(x + 8).load(Ordering::Relaxed);
            }
        }
        listed.sort_unstable();
        if listed != free_ext {
            out.push(format!(
                "heap: {} free extents, {} on the free lists",
                free_ext.len(),
                listed.len()
            ));
        }
        let s = self.heap_stats();
        if s.used != used_bytes || s.free != free_bytes {
            out.push(format!(
                "heap: counters say {} used and {} free, extents {used_bytes} and {free_bytes}",
                s.used, s.free
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::format::{MAX_KEY_LEN, MAX_VALUE_LEN};

    #[test]
    fn classes_grow_by_a_quarter_and_hold_the_largest_record() {
        assert_eq!(class_size(0), 32);
        assert_eq!(class_size(3), 56);
        assert_eq!(class_size(4), 64);
        assert_eq!(class_size(5), 80);
        for c in 1..CLASSES {
            assert!(class_size(c) > class_size(c - 1));
            assert!(class_size(c) * 4 <= class_size(c - 1) * 5 + 8, "class {c} grows too fast");
        }
        assert!(class_for(extent_need(MAX_KEY_LEN, MAX_VALUE_LEN)).is_some());
        assert_eq!(class_for(33), Some(1));
        assert_eq!(class_for(32), Some(0));
        assert_eq!(class_of_size(48), Some(2));
        assert_eq!(class_of_size(49), None);
    }
}
