//! The read path: find a key's slot and read it under its seqlock.
//!
//! `fastrange` home slot, then linear probing through the control bytes
//! (`ctrl.rs`): only slots whose control byte carries the key's 7-bit tag
//! are read, and an `EMPTY` byte ends the search, so a miss usually reads
//! no slot and a hit one. After `optimize()`, a probe sequence longer than
//! 8 slots asks the MPHF for the key's slot. Each slot is read
//! between a seqlock `read_begin` and `read_validate` and its key compared
//! in full. No lock; a slot found locked is waited on (bounded), and after a
//! millisecond its writer is checked and, if dead, its write repaired
//! (`recovery.rs`). Nothing here writes a slot.

use std::sync::atomic::Ordering;

use crate::error::{Error, Result};
use crate::store::ctrl;
use crate::store::expiry::expired;
use crate::store::format::LOCK_OFF_OWNER;
use crate::store::format::{
    tag_matches, Meta, HEAP_RESERVED, MAX_KEY_LEN, MAX_VALUE_LEN, SLOT_HEADER_SIZE, STATE_LIVE,
};
use crate::store::heap::{extent_need, EXTENT_HEADER};
use crate::store::raw::{Region, SlotRef};
use crate::store::{Loc, Store, ValueRef};
use crate::sync::seqlock::{self, is_locked, read_begin, read_validate};
use crate::sync::wait::Backoff;

/// A record found by a lookup: its slot, key and value lengths, and where
/// its bytes are — in the slot's data area from byte `pre` (`heap == 0`;
/// `pre` is 8 when an expiry time leads the area), or in the heap extent at
/// relative offset `heap` (key from `heap + 16`, then the value).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Rec {
    pub idx: u64,
    pub kl: usize,
    pub vl: usize,
    pub heap: u64,
    pub pre: usize,
}

/// Whether a record of `kl` + `vl` bytes, with `pre` bytes before it,
/// fits inline in a data area of `cap` bytes.
#[inline(always)]
pub(crate) fn fits_inline(kl: usize, vl: usize, pre: usize, cap: usize) -> bool {
    kl.saturating_add(vl).saturating_add(pre) <= cap
}

/// What one slot says about a key.
enum Slot<R> {
    /// The key is here: `f`'s result and the validated word.
    Hit(R, u64),
    /// Another key, a tombstone: keep probing.
    Other,
    /// Never written: the key is absent.
    Never,
}

impl Store {
    /// Finds `key` and, inside the seqlock read section of its slot, calls
    /// `f(&rec)` with the record found. `f` may read the slot (racy); its result
    /// is returned only once the read validates. Returns the result, the
    /// slot and the validated word.
    #[inline]
    pub(crate) fn probe_read<R>(
        &self, key: &[u8], f: impl FnMut(&Rec) -> R,
    ) -> Result<(R, u64, u64)> {
        self.check_key(key)?;
        self.probe_read_hashed(key, self.hash(key), f)
    }

    /// `probe_read` with the key's hash at hand. The key must be valid
    /// (`check_key`).
    ///
    /// The home slot is prefetched first, so that its load overlaps the
    /// read of the control word (most keys sit in their home slot); in a
    /// store of several levels, every level's control word and the newest
    /// level's home slot.
    #[inline]
    pub(crate) fn probe_read_hashed<R>(
        &self, key: &[u8], h: u64, f: impl FnMut(&Rec) -> R,
    ) -> Result<(R, u64, u64)> {
        let loc = self.locate_hashed(h);
        let n = self.levels_now();
        if n == 1 {
            self.region.prefetch_slot(loc.home);
        } else {
            for l in 0..n {
                let home = self.locate_level(h, l).home;
                self.region.prefetch_ctrl(home / 8);
                if l + 1 == n {
                    self.region.prefetch_slot(home);
                }
            }
        }
        self.probe_from(key, h, &loc, f)
    }

    /// Looks `key` (hash `h`, level-0 location `loc`) up in every level
    /// in use, newest first (`scan_ctrl`), and after a miss once more if
    /// the key's lock entry named a dead writer whose write it repaired.
    /// Prefetching is the caller's.
    #[inline]
    pub(crate) fn probe_from<R>(
        &self, key: &[u8], h: u64, loc: &Loc, mut f: impl FnMut(&Rec) -> R,
    ) -> Result<(R, u64, u64)> {
        match self.scan_levels(key, h, loc, &mut f) {
            Err(Error::NotFound) if self.repaired_stripe(loc) => {
                self.scan_levels(key, h, loc, &mut f)
            }
            other => other,
        }
    }

    /// `scan_ctrl` in each level in use, newest first (`loc` is level 0's).
    #[inline(always)]
    fn scan_levels<R>(
        &self, key: &[u8], h: u64, loc: &Loc, f: &mut impl FnMut(&Rec) -> R,
    ) -> Result<(R, u64, u64)> {
        let n = self.levels_now();
        if n == 1 {
            return self.scan_ctrl::<R, false>(key, h, loc, f);
        }
        for l in (0..n).rev() {
            match self.scan_ctrl::<R, false>(key, h, &self.locate_level(h, l), f) {
                Err(Error::NotFound) => continue,
                other => return other,
            }
        }
        Err(Error::NotFound)
    }

    /// After a miss: whether the key's lock entry was held by a dead
    /// writer, now repaired. A writer killed after it locked a slot but
    /// before it published the slot's control byte leaves a write that no
    /// control byte leads to; the key's own lock entry still names the dead
    /// writer, so a miss looks there (one load; a liveness check only when
    /// the entry is held) and completes the write before answering, so that
    /// a key written by a dead writer never appears after a miss.
    #[inline]
    fn repaired_stripe(&self, loc: &Loc) -> bool {
        let owner = self.region.lock_u32(loc.lock, LOCK_OFF_OWNER).load(Ordering::Acquire);
        owner != 0 && self.rescue_entry(loc.lock)
    }

    /// The scan of one level (`loc`'s) through the control bytes: one
    /// control word (8 slots) at a time, reading only the slots whose byte
    /// carries the key's tag, up to the first `EMPTY` byte or the maximum
    /// probe distance. When the first 8 slots neither hold the key nor end
    /// the sequence (a long probe sequence) and an MPHF is in force, the
    /// slot it names is read before the scan goes on. `EXPIRED`: an
    /// expired record of the key counts as found (the write path's search,
    /// which must find the key's slot whatever its expiry).
    #[inline(always)]
    pub(crate) fn scan_ctrl<R, const EXPIRED: bool>(
        &self, key: &[u8], h: u64, loc: &Loc, f: &mut impl FnMut(&Rec) -> R,
    ) -> Result<(R, u64, u64)> {
        let r = &self.region;
        // A level's first slot is a multiple of 8 (`format.rs`): its
        // control words are its own.
        let end = loc.first + loc.count;
        let max = u64::from(r.geom().max_probes());
        let want = ctrl::full(loc.tag);
        let mut idx = loc.home;
        let mut seen = 0u64;
        loop {
            let w = idx / 8;
            let from = idx % 8;
            let to = (end - w * 8).min(8).min(from + (max - seen));
            let g = r.ctrl_word(w).load(Ordering::Acquire);
            let lanes = ctrl::lanes(from, to);
            let empty = ctrl::match_empty(g) & lanes;
            let mut cand = ctrl::match_byte(g, want) & lanes;
            if empty != 0 {
                // Only the candidates before the first EMPTY byte.
                cand &= (empty & empty.wrapping_neg()) - 1;
            }
            while cand != 0 {
                let i = w * 8 + ctrl::first(cand);
                if let Slot::Hit(out, word) = self.read_slot::<R, EXPIRED>(i, key, loc.tag, f)? {
                    return Ok((out, i, word));
                }
                cand &= cand - 1;
            }
            if empty != 0 {
                return Err(Error::NotFound);
            }
            let before = seen;
            seen += to - from;
            if before < 8 && seen >= 8 {
                if let Some(hit) = self.probe_mphf::<R, EXPIRED>(key, h, loc, seen, f)? {
                    return Ok(hit);
                }
            }
            if seen >= max {
                return Err(Error::NotFound);
            }
            idx = if (w + 1) * 8 >= end { loc.first } else { (w + 1) * 8 };
        }
    }

    /// The MPHF's answer for a long probe sequence: reads the slot it names
    /// for `h` if that lies past the `seen` slots already scanned.
    #[cold]
    fn probe_mphf<R, const EXPIRED: bool>(
        &self, key: &[u8], h: u64, loc: &Loc, seen: u64, f: &mut impl FnMut(&Rec) -> R,
    ) -> Result<Option<(R, u64, u64)>> {
        let view = self.current_view();
        let Some(d) = view.index.as_ref().and_then(|i| i.distance(h)) else {
            return Ok(None);
        };
        if d < seen || d >= u64::from(self.region.geom().max_probes()) {
            return Ok(None);
        }
        let idx = self.wrap(loc, loc.home + d);
        Ok(match self.read_slot::<R, EXPIRED>(idx, key, loc.tag, f)? {
            Slot::Hit(out, w) => Some((out, idx, w)),
            _ => None,
        })
    }

    /// Reads slot `idx` for `key` (tag `tag`) under its seqlock.
    #[inline(always)]
    fn read_slot<R, const EXPIRED: bool>(
        &self, idx: u64, key: &[u8], tag: u32, f: &mut impl FnMut(&Rec) -> R,
    ) -> Result<Slot<R>> {
        let r = &self.region;
        let cap = self.slot_capacity();
        let slot = r.slot(idx);
        let seq = slot.seq();
        let mut backoff: Option<Backoff> = None;
        loop {
            let w = read_begin(seq);
            if w == 0 {
                return Ok(Slot::Never);
            }
            if is_locked(w) {
                self.wait_locked_slot(idx, w, backoff.get_or_insert_with(Backoff::new))?;
                continue;
            }
            if !tag_matches(w, tag) {
                return Ok(Slot::Other);
            }
            let m = slot.meta();
            if m.state != STATE_LIVE || (!EXPIRED && m.expires && expired(slot.expiry(&m))) {
                if read_validate(seq, w) {
                    return Ok(Slot::Other);
                }
                continue;
            }
            let (kl, vl, pre) = (m.kl, m.vl, m.pre());
            if !fits_inline(kl, vl, pre, cap) {
                // Too large for the slot: the record is in the heap.
                match self.read_heap_record(slot, idx, key, &m, w, f) {
                    Some(done) => return done,
                    None => continue,
                }
            }
            let hit = kl == key.len() && slot.data_eq(pre, key);
            let end = SLOT_HEADER_SIZE + pre + kl + vl;
            if hit && end > Region::PREFETCH_BYTES {
                // A long value: ask for all its lines at once before copying.
                r.prefetch_range(idx, Region::PREFETCH_BYTES, end);
            }
            let out = if hit { Some(f(&Rec { idx, kl, vl, heap: 0, pre })) } else { None };
            if !read_validate(seq, w) {
                continue;
            }
            return Ok(match out {
                Some(out) => Slot::Hit(out, w),
                None => Slot::Other,
            });
        }
    }

    /// The part of `read_slot` for a record in the heap (slot `idx`, seen
    /// at even word `w` with meta `m` whose lengths do not fit the slot):
    /// checks the reference lies in the heap, compares the key prefix the
    /// slot keeps, then the whole key in the extent. None when the slot
    /// changed meanwhile (read it again).
    #[inline(never)]
    fn read_heap_record<R>(
        &self, slot: SlotRef<'_>, idx: u64, key: &[u8], m: &Meta, w: u64,
        f: &mut impl FnMut(&Rec) -> R,
    ) -> Option<Result<Slot<R>>> {
        let r = &self.region;
        let seq = slot.seq();
        let (kl, vl, pre) = (m.kl, m.vl, m.pre());
        let rel = slot.data_u64(pre);
        if !self.heap_ref_sane(kl, vl, rel) {
            return read_validate(seq, w)
                .then_some(Err(Error::Corrupt("slot references bytes outside the heap")));
        }
        let prefix = kl.min(self.slot_capacity() - pre - 8);
        let hit = kl == key.len()
            && slot.data_eq(pre + 8, &key[..prefix])
            && r.heap_eq(rel + EXTENT_HEADER, key);
        let out = if hit { Some(f(&Rec { idx, kl, vl, heap: rel, pre })) } else { None };
        if !read_validate(seq, w) {
            return None;
        }
        Some(Ok(match out {
            Some(out) => Slot::Hit(out, w),
            None => Slot::Other,
        }))
    }

    /// The record slot `idx` holds, as its racy fields say (validate before
    /// trusting it): None when its lengths do not fit the slot and its heap
    /// reference is out of range (a damaged slot, or the tombstone of a key
    /// too long for the slot, which keeps no extent).
    pub(crate) fn rec_at(&self, idx: u64) -> Option<Rec> {
        let slot = self.region.slot(idx);
        let m = slot.meta();
        let (kl, vl, pre) = (m.kl, m.vl, m.pre());
        if fits_inline(kl, vl, pre, self.slot_capacity()) {
            return Some(Rec { idx, kl, vl, heap: 0, pre });
        }
        let rel = slot.data_u64(pre);
        self.heap_ref_sane(kl, vl, rel).then_some(Rec { idx, kl, vl, heap: rel, pre })
    }

    /// Whether a slot's lengths `kl`, `vl` and heap reference `rel` (racy
    /// values) name an extent that lies inside the heap.
    #[inline]
    fn heap_ref_sane(&self, kl: usize, vl: usize, rel: u64) -> bool {
        (1..=MAX_KEY_LEN).contains(&kl)
            && vl <= MAX_VALUE_LEN
            && rel >= HEAP_RESERVED
            && rel.is_multiple_of(8)
            && rel
                .checked_add(extent_need(kl, vl))
                .is_some_and(|e| e <= self.region.geom().heap_len())
    }

    /// Copies `out.len()` bytes of `rec`'s value, from its first byte, into
    /// `out` (a racy read: the caller validates).
    #[inline(always)]
    pub(crate) fn copy_value(&self, rec: &Rec, out: &mut [u8]) {
        if rec.heap == 0 {
            self.region.copy_out(rec.idx, rec.pre + rec.kl, out);
        } else {
            self.region.copy_from_heap(rec.heap + EXTENT_HEADER + rec.kl as u64, out);
        }
    }

    /// Copies `rec`'s key into `out` (`rec.kl` bytes; racy).
    pub(crate) fn copy_key(&self, rec: &Rec, out: &mut [u8]) {
        if rec.heap == 0 {
            self.region.copy_out(rec.idx, rec.pre, &mut out[..rec.kl]);
        } else {
            self.region.copy_from_heap(rec.heap + EXTENT_HEADER, &mut out[..rec.kl]);
        }
    }

    /// A pointer to `rec`'s value inside the mapping.
    pub(crate) fn value_ptr(&self, rec: &Rec) -> *const u8 {
        if rec.heap == 0 {
            self.region.data_ptr(rec.idx, rec.pre + rec.kl, rec.vl)
        } else {
            self.region.heap_ptr(rec.heap + EXTENT_HEADER + rec.kl as u64, rec.vl)
        }
    }

    /// Copies the value of `key` into `buf` and returns its length.
    /// Errors: `NotFound`; `BufferTooSmall(n)` when `buf` is shorter than the
    /// value (`n` is the length needed; `buf` is left unspecified);
    /// `InvalidArg` for an empty key; `TooLarge` for a key longer than a
    /// slot; `Corrupt` for a damaged slot; `Busy` when the slot stayed locked
    /// past the wait limit.
    #[inline]
    pub fn get(&self, key: &[u8], buf: &mut [u8]) -> Result<usize> {
        self.check_key(key)?;
        let h = self.hash(key);
        if let Some(n) = self.get_at_home(key, h, buf) {
            return Ok(n);
        }
        // `get_at_home` already asked for the home slot's lines.
        let (vl, _, _) = self.probe_from(key, h, &self.locate_hashed(h), |rec| {
            if rec.vl <= buf.len() {
                self.copy_value(rec, &mut buf[..rec.vl]);
            }
            rec.vl
        })?;
        if vl > buf.len() {
            return Err(Error::BufferTooSmall(vl));
        }
        Ok(vl)
    }

    /// `get`'s fast path for the common case: `key` (hash `h`, checked by
    /// the caller) sits inline, unexpiring, in its home slot, which no
    /// writer holds, and its value fits `buf`. Copies the value and returns
    /// its length; None in every other case, for the general path
    /// (`probe_read`) to answer — so it decides nothing the general path
    /// would decide otherwise: a key is live in at most one slot, so a
    /// validated hit at home is the key's value. The same seqlock read as
    /// `read_slot` (begin, racy reads, validate), without its loop, closure
    /// and `Result` plumbing (issue 10: instructions per `get`).
    #[inline(always)]
    pub(crate) fn get_at_home(&self, key: &[u8], h: u64, buf: &mut [u8]) -> Option<usize> {
        let n = self.levels_now();
        if n > 1 {
            return self.get_at_homes(key, h, buf, n);
        }
        let home = self.home_of(h);
        self.region.slot(home).prefetch();
        self.read_at_home(key, h, home, buf)
    }

    /// `get_at_home` in a store of `n > 1` levels: asks for every level's
    /// home control word and the home slots of the three newest levels
    /// (which hold about five keys in six: each level holds about as many
    /// keys as all the levels before it) at once, then tries each level's
    /// home slot, newest first.
    #[inline(never)]
    fn get_at_homes(&self, key: &[u8], h: u64, buf: &mut [u8], n: u32) -> Option<usize> {
        let r = &self.region;
        let mut homes = [0u64; crate::store::format::MAX_LEVELS as usize];
        for l in 0..n {
            let home = self.locate_level(h, l).home;
            homes[l as usize] = home;
            r.prefetch_ctrl(home / 8);
        }
        for l in n.saturating_sub(3)..n {
            r.slot(homes[l as usize]).prefetch();
        }
        (0..n).rev().find_map(|l| self.read_at_home(key, h, homes[l as usize], buf))
    }

    /// The seqlock read of `get_at_home` at slot `home`.
    #[inline(always)]
    fn read_at_home(&self, key: &[u8], h: u64, home: u64, buf: &mut [u8]) -> Option<usize> {
        let r = &self.region;
        let slot = r.slot(home);
        let byte = (r.ctrl_word(home / 8).load(Ordering::Acquire) >> ((home % 8) * 8)) as u8;
        if byte != ctrl::full(h as u32) {
            return None;
        }
        let seq = slot.seq();
        let w = read_begin(seq);
        if w == 0 || is_locked(w) || !tag_matches(w, h as u32) {
            return None;
        }
        let m = slot.meta();
        if m.state != STATE_LIVE
            || m.expires
            || m.kl != key.len()
            || !fits_inline(m.kl, m.vl, 0, self.slot_capacity())
            || m.vl > buf.len()
            || !slot.data_eq(0, key)
        {
            return None;
        }
        slot.copy_data(m.kl, &mut buf[..m.vl]);
        read_validate(seq, w).then_some(m.vl)
    }

    /// The value of `key` as a new vector.
    pub fn get_vec(&self, key: &[u8]) -> Result<Vec<u8>> {
        let (v, _, _) = self.probe_read(key, |rec| {
            let mut v = vec![0u8; rec.vl];
            self.copy_value(rec, &mut v);
            v
        })?;
        Ok(v)
    }

    /// A pointer to the value of `key` inside the mapping, with a token.
    /// The bytes behind the pointer may change at any time; read them, then
    /// call `ref_valid(token)`: if true, what was read is the whole value as
    /// it was when found. The pointer stays dereferenceable while the store
    /// is open.
    pub fn get_ref(&self, key: &[u8]) -> Result<ValueRef> {
        let (ptr, idx, w) = self.probe_read(key, |rec| (self.value_ptr(rec), rec.vl))?;
        Ok(ValueRef {
            ptr: ptr.0,
            len: ptr.1,
            token: (idx << 32) | u64::from(seqlock::version_of(w)),
        })
    }

    /// Bytes `key`'s record takes in the heap: the size of its extent
    /// (header, key, value and size-class rounding), or 0 for a record in
    /// its slot. Errors as `get`.
    pub fn heap_footprint(&self, key: &[u8]) -> Result<u64> {
        let r = &self.region;
        let (size, _, _) = self.probe_read(key, |rec| {
            if rec.heap == 0 {
                0
            } else {
                r.heap_u64(rec.heap).load(Ordering::Relaxed) & !7
            }
        })?;
        Ok(size)
    }

    /// Whether the value found by `get_ref` with this token is unchanged.
    /// Orders the caller's earlier reads of the value before the check.
    pub fn ref_valid(&self, token: u64) -> bool {
        let idx = token >> 32;
        if idx >= self.slots_in_use() || token & 1 == 1 {
            return false;
        }
        read_validate_version(self.region.seq(idx), token as u32)
    }
}

/// Whether the slot word still carries `version` (after an Acquire fence
/// that orders the caller's reads before this load).
fn read_validate_version(seq: &std::sync::atomic::AtomicU64, version: u32) -> bool {
    std::sync::atomic::fence(Ordering::Acquire);
    seqlock::version_of(seq.load(Ordering::Relaxed)) == version
}
