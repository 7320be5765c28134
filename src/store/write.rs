//! The write protocol: every change to a slot goes through `Store::write_key`
//! and `commit`, so that a writer killed at any instruction leaves a store
//! that others repair to a consistent state within milliseconds.
//!
//! A writer of key K:
//! 1. takes K's lock-table entry `e` (`lock.rs`); if it took `e` over from a
//!    dead owner, it first repairs that owner's unfinished write (`repair`);
//! 2. scans K's probe sequence (`scan_for_write`) and decides, from K's
//!    current value, what to do (`Plan`: put, delete, nothing);
//! 3. `commit`: writes the slot's new contents (the *redo image*), the
//!    high half of the word to publish (UID generation and tag), the slot index and its even version (the *intent*), and the entry's
//!    live/tombstone counts after the write into `e`, then sets `e.redo = 1`;
//!    takes the slot's seqlock with a locked word naming `e`; copies the image
//!    into the slot; publishes the next even version; stores the new counts;
//!    clears `e.redo`.
//!
//! Repair of entry `e` whose owner died with `e.redo == 1`: if the slot is
//! still locked by `e`, the image is copied again and published (the write
//! is *completed*); otherwise the slot is compared with the image to learn
//! whether the write was published or never began. The counts are then set
//! (assigned, not added: repair is idempotent) to the new counts exactly when
//! the write took effect. A write is therefore all or nothing, and counts
//! stay exact. Waiters that find a slot locked for more than a millisecond
//! look up the locking entry from the slot's word and repair it if its owner
//! is dead (`rescue`). This is redo logging (Gray & Reuter, *Transaction
//! Processing*, ch. 9) specialised to one slot per operation, with robust
//! ownership checked by pid as in LMDB's stale reader detection.

use std::sync::atomic::Ordering;

use crate::error::{Error, Result};
use crate::store::ctrl;
use crate::store::expiry::{expired, now_ms};
use crate::store::format::{
    self, gen_of, tag_matches, word_high, Meta, EXPIRY_LEN, LOCK_OFF_HEAP_NEW, LOCK_OFF_HEAP_OLD,
    LOCK_OFF_HIGH, LOCK_OFF_INTENT, LOCK_OFF_LIVE, LOCK_OFF_NEW_LIVE, LOCK_OFF_NEW_TOMB,
    LOCK_OFF_REDO, LOCK_OFF_TOMB, MAX_VALUE_LEN, OFF_GENERATION, OFF_LONGEST_PROBE,
    OFF_NEW_SINCE_OPT, STATE_EMPTY, STATE_LIVE, STATE_TOMBSTONE,
};
use crate::store::heap::{class_for, class_size, extent_need, EXTENT_HEADER};
use crate::store::lock_table::{self, Guard};
use crate::store::read::{fits_inline, Rec};
use crate::store::recovery::IMAGE_HEAD;
use crate::store::{Loc, Store};
use crate::sync::seqlock::{self, is_locked, read_begin, read_validate, tag_of, version_of};
use crate::sync::wait::Backoff;

/// A value to store: borrowed from the caller, or a counter's 8 bytes.
pub(crate) enum Value<'a> {
    Bytes(&'a [u8]),
    Owned(Vec<u8>),
    Int([u8; 8]),
}

impl Value<'_> {
    fn bytes(&self) -> &[u8] {
        match self {
            Value::Bytes(b) => b,
            Value::Owned(b) => b,
            Value::Int(b) => b,
        }
    }
}

/// What a write does, decided under the key's lock.
pub(crate) enum Plan<'a> {
    /// Store the value with an expiry time (ms since the epoch; 0: never).
    Put(Value<'a>, u64),
    /// Delete the key.
    Delete,
    /// Change nothing.
    Keep,
}

/// The key's live slot, as a writer holding the key's lock sees it. Nothing
/// else writes this slot meanwhile, so reads of it are stable.
pub(crate) struct Current<'s> {
    store: &'s Store,
    pub idx: u64,
    pub uid_gen: u32,
    pub expiry: u64,
    rec: Rec,
}

impl Current<'_> {
    /// Length of the current value.
    pub fn value_len(&self) -> usize {
        self.rec.vl
    }

    /// Copies the current value (`value_len()` bytes) into `out`.
    pub fn read_value(&self, out: &mut [u8]) {
        self.store.copy_value(&self.rec, &mut out[..self.rec.vl]);
    }

    /// Whether the current value equals `v`.
    pub fn value_is(&self, v: &[u8]) -> bool {
        if v.len() != self.rec.vl {
            return false;
        }
        let mut cur = vec![0u8; self.rec.vl];
        self.read_value(&mut cur);
        cur == v
    }
}

/// The slot bytes a write leaves, from offset 8: the meta word, then the
/// data area — the expiry time when there is one, then two pieces: key and
/// value for a record that fits the slot; the heap reference (8 bytes) and
/// the key's prefix for one that does not (also for the tombstone of a key
/// too long for the slot, whose reference is 0). The UID generation is
/// published in the slot's word, not in these bytes.
pub(crate) struct Image<'a> {
    pub state: u32,
    pub uid_gen: u32,
    pub expiry: u64,
    pub kl: usize,
    pub vl: usize,
    pub data: [&'a [u8]; 2],
}

/// Eight zero bytes: the heap reference of a tombstone.
const NO_REF: [u8; 8] = [0; 8];

impl<'a> Image<'a> {
    /// The tombstone of `key` (UID generation `gen`) in slots of `cap`
    /// data bytes.
    pub(crate) fn tombstone(key: &'a [u8], gen: u32, cap: usize) -> Image<'a> {
        let data: [&[u8]; 2] =
            if key.len() <= cap { [key, &[]] } else { [&NO_REF, &key[..cap - 8]] };
        Image { state: STATE_TOMBSTONE, uid_gen: gen, expiry: 0, kl: key.len(), vl: 0, data }
    }

    /// The meta word of the image.
    fn meta(&self) -> Meta {
        Meta { kl: self.kl, vl: self.vl, state: self.state, expires: self.expiry != 0 }
    }

    /// Bytes of the data area.
    fn data_len(&self) -> usize {
        self.meta().pre() + self.data[0].len() + self.data[1].len()
    }
}

/// Bytes of slot a record with meta `m` covers from offset 8 in slots of
/// `cap` data bytes: the meta word, the expiry time if any, and the data
/// (`data_len`). The length of its redo image.
pub(crate) fn image_len(m: &Meta, cap: usize) -> usize {
    IMAGE_HEAD + m.pre() + data_len(m.kl, m.vl, cap - m.pre())
}

/// Bytes of a slot's data area that a record of `kl` + `vl` bytes uses in
/// slots of `cap` data bytes: all of it inline, else the heap reference and
/// the key's prefix.
pub(crate) fn data_len(kl: usize, vl: usize, cap: usize) -> usize {
    if kl.saturating_add(vl) <= cap {
        kl + vl
    } else {
        8 + kl.min(cap - 8)
    }
}

/// A slot chosen for a write.
enum Target {
    /// The key is in slot `idx`, whose even word was `word`.
    Existing { idx: u64, word: u64 },
    /// The key is absent; slot `idx` (word `word`, state `state`) is the
    /// first free one, `dist` probes from home.
    Free { idx: u64, word: u64, state: u32, dist: u32 },
    /// The key is absent and no slot within the probe distance is free.
    Full,
}

impl Store {
    /// Takes the lock entry of `loc`, repairing a dead owner's write first
    /// and freeing heap extents the entry still names from an earlier write
    /// whose heap step could not run (see `commit`).
    pub(crate) fn lock_key(&self, loc: &Loc) -> Result<Guard<'_>> {
        if !self.writable() {
            return Err(Error::ReadOnly);
        }
        let (guard, stolen) = lock_table::acquire(self.region(), loc.lock)?;
        if stolen {
            self.repair_entry(guard.entry());
        }
        self.settle_heap_fields(guard.entry())?;
        Ok(guard)
    }

    /// With no write in progress on held entry `e` (`redo == 0`), an
    /// extent still named by `heap_new` was allocated for a write that was
    /// never published, and one named by `heap_old` was replaced by a
    /// published write: both are free now. Errors: `Busy`.
    pub(crate) fn settle_heap_fields(&self, e: usize) -> Result<()> {
        let r = self.region();
        if r.lock_u32(e, LOCK_OFF_REDO).load(Ordering::Acquire) != 0 {
            return Ok(());
        }
        for f in [LOCK_OFF_HEAP_NEW, LOCK_OFF_HEAP_OLD] {
            let x = r.lock_u64(e, f).load(Ordering::Relaxed);
            if x != 0 {
                self.heap_free(e, x, &[f])?;
            }
        }
        Ok(())
    }

    /// Whether slot `idx`, whose racy lengths are `kl` and `vl`, holds
    /// `key` (a racy read: validate with the seqlock before trusting it).
    fn slot_holds_key(&self, idx: u64, kl: usize, key: &[u8]) -> bool {
        if kl != key.len() {
            return false;
        }
        match self.rec_at(idx) {
            Some(rec) if rec.heap == 0 => self.region().slot(idx).data_eq(rec.pre, key),
            Some(rec) => {
                let prefix = kl.min(self.slot_capacity() - rec.pre - 8);
                self.region().slot(idx).data_eq(rec.pre + 8, &key[..prefix])
                    && self.region().heap_eq(rec.heap + EXTENT_HEADER, key)
            }
            None => false,
        }
    }

    /// The slot a write of `key` (hash `h`, level-0 location `loc0`) goes
    /// to in a store of `n` levels, and the location in its level: the
    /// key's slot in whichever level holds it, else the first free slot of
    /// its probe sequence in the newest level; when that has none and
    /// `older` is set, in the older levels, newest first. The caller holds
    /// the key's lock entry, so no other writer moves the key meanwhile.
    fn target_for_write(
        &self, key: &[u8], h: u64, loc0: &Loc, n: u32, older: bool,
    ) -> Result<(Target, Loc)> {
        if n == 1 {
            return Ok((self.scan_for_write(key, loc0)?, *loc0));
        }
        // Every level's control word and the newest level's home slot
        // load together.
        for l in 0..n {
            let home = self.locate_level(h, l).home;
            self.region().prefetch_ctrl(home / 8);
            if l + 1 == n {
                self.region().prefetch_slot(home);
            }
        }
        // Is the key in an older level, expired or not (as
        // `scan_for_write` finds it)? Through the control bytes: a miss
        // there reads no slot.
        for l in (0..n - 1).rev() {
            let loc = self.locate_level(h, l);
            match self.scan_ctrl::<_, true>(key, h, &loc, &mut |rec: &Rec| rec.idx) {
                Ok((_, idx, word)) => return Ok((Target::Existing { idx, word }, loc)),
                Err(Error::NotFound) => {}
                Err(e) => return Err(e),
            }
        }
        let newest = self.locate_level(h, n - 1);
        let t = self.scan_for_write(key, &newest)?;
        if !matches!(t, Target::Full) || !older {
            return Ok((t, newest));
        }
        for l in (0..n - 1).rev() {
            let loc = self.locate_level(h, l);
            if let t @ Target::Free { .. } = self.scan_for_write(key, &loc)? {
                return Ok((t, loc));
            }
        }
        Ok((Target::Full, newest))
    }

    /// Scans `key`'s probe sequence in `loc`'s level for a write: the
    /// key's slot, or the first free one. The caller holds the key's lock
    /// entry.
    fn scan_for_write(&self, key: &[u8], loc: &Loc) -> Result<Target> {
        let r = self.region();
        let mut free: Option<(u64, u64, u32, u32)> = None;
        let mut idx = loc.home;
        for dist in 0..r.geom().max_probes() {
            let seq = r.seq(idx);
            let mut backoff = Backoff::new();
            loop {
                let w = read_begin(seq);
                if is_locked(w) {
                    self.wait_locked_slot(idx, w, &mut backoff)?;
                    continue;
                }
                if w == 0 {
                    let (idx, w, s, d) = free.unwrap_or((idx, w, STATE_EMPTY, dist));
                    return Ok(Target::Free { idx, word: w, state: s, dist: d });
                }
                let m = r.meta(idx);
                let state = m.state;
                let hit = state == STATE_LIVE
                    && tag_matches(w, loc.tag)
                    && self.slot_holds_key(idx, m.kl, key);
                if !read_validate(seq, w) {
                    continue;
                }
                if hit {
                    return Ok(Target::Existing { idx, word: w });
                }
                if state == STATE_TOMBSTONE && free.is_none() {
                    free = Some((idx, w, state, dist));
                }
                break;
            }
            idx = self.next_slot(loc, idx);
        }
        Ok(match free {
            Some((idx, w, s, d)) => Target::Free { idx, word: w, state: s, dist: d },
            None => Target::Full,
        })
    }

    /// Writes `img` to slot `idx` observed at even word `word`, through
    /// the redo record of the held entry, and moves the entry's counts by
    /// `dlive`/`dtomb`. `heap_old` is the extent the write replaces (0:
    /// none), freed once the write is published, together with the
    /// entry's `heap_new` (which the slot now owns) in one heap step. False
    /// when the slot changed since it was observed (scan again).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn commit(
        &self, guard: &Guard<'_>, idx: u64, word: u64, tag: u32, img: &Image<'_>, dlive: i64,
        dtomb: i64, heap_old: u64,
    ) -> bool {
        let r = self.region();
        let e = guard.entry();
        let m = img.meta();
        let mut head = [0u8; IMAGE_HEAD + EXPIRY_LEN];
        format::put64(&mut head, 0, m.encode());
        format::put64(&mut head, IMAGE_HEAD, img.expiry);
        let hl = IMAGE_HEAD + m.pre();
        r.write_image(e, 0, &head[..hl]);
        r.write_image(e, hl, img.data[0]);
        r.write_image(e, hl + img.data[0].len(), img.data[1]);
        let high = word_high(img.uid_gen, tag);
        let live = r.lock_u64(e, LOCK_OFF_LIVE).load(Ordering::Relaxed);
        let tomb = r.lock_u64(e, LOCK_OFF_TOMB).load(Ordering::Relaxed);
        let (new_live, new_tomb) =
            (live.wrapping_add(dlive as u64), tomb.wrapping_add(dtomb as u64));
        r.lock_u64(e, LOCK_OFF_NEW_LIVE).store(new_live, Ordering::Relaxed);
        r.lock_u64(e, LOCK_OFF_NEW_TOMB).store(new_tomb, Ordering::Relaxed);
        r.lock_u32(e, LOCK_OFF_HIGH).store(high, Ordering::Relaxed);
        r.lock_u64(e, LOCK_OFF_INTENT)
            .store((idx << 32) | u64::from(version_of(word)), Ordering::Relaxed);
        r.lock_u32(e, LOCK_OFF_REDO).store(1, Ordering::Release);
        // Named only once the record is valid: a repair that finds
        // `heap_old` set with `redo == 0` frees it as replaced.
        r.lock_u64(e, LOCK_OFF_HEAP_OLD).store(heap_old, Ordering::Relaxed);
        let seq = r.seq(idx);
        let Some(locked) = seqlock::try_lock(seq, word, e as u32) else {
            r.lock_u64(e, LOCK_OFF_HEAP_OLD).store(0, Ordering::Relaxed);
            r.lock_u32(e, LOCK_OFF_REDO).store(0, Ordering::Release);
            return false;
        };
        r.apply_image(e, idx, IMAGE_HEAD + img.data_len());
        r.set_ctrl(idx, ctrl::for_state(img.state, tag));
        seqlock::unlock(seq, locked, high);
        r.lock_u64(e, LOCK_OFF_LIVE).store(new_live, Ordering::Relaxed);
        r.lock_u64(e, LOCK_OFF_TOMB).store(new_tomb, Ordering::Relaxed);
        let heap_new = r.lock_u64(e, LOCK_OFF_HEAP_NEW).load(Ordering::Relaxed);
        if (heap_old != 0 || heap_new != 0)
            && self.heap_free(e, heap_old, &[LOCK_OFF_HEAP_OLD, LOCK_OFF_HEAP_NEW]).is_err()
        {
            // The heap lock stayed busy: the slot owns the new extent; the
            // old one stays named, freed when the entry is next taken.
            r.lock_u64(e, LOCK_OFF_HEAP_NEW).store(0, Ordering::Relaxed);
        }
        r.lock_u32(e, LOCK_OFF_REDO).store(0, Ordering::Release);
        self.note_write();
        true
    }

    /// Writes `key` = `val` into slot `idx` (word `word`): inline when it
    /// fits, else into a new heap extent that the slot then references.
    /// `heap_old` is the extent of the record it replaces. False when the
    /// slot changed (scan again). Errors: `TooLarge`, `Full` (no heap
    /// space), `Corrupt`, `Busy` from the heap.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn put(
        &self, guard: &Guard<'_>, idx: u64, word: u64, tag: u32, gen: u32, exp: u64, key: &[u8],
        val: &[u8], dlive: i64, dtomb: i64, heap_old: u64,
    ) -> Result<bool> {
        let pre = if exp != 0 { EXPIRY_LEN } else { 0 };
        let cap = self.slot_capacity() - pre;
        let (kl, vl) = (key.len(), val.len());
        let state = STATE_LIVE;
        if kl + vl <= cap {
            let img = Image { state, uid_gen: gen, expiry: exp, kl, vl, data: [key, val] };
            return Ok(self.commit(guard, idx, word, tag, &img, dlive, dtomb, heap_old));
        }
        let e = guard.entry();
        let r = self.region();
        let rel = self.heap_alloc(e, extent_need(kl, vl))?;
        r.copy_to_heap(rel + EXTENT_HEADER, key);
        r.copy_to_heap(rel + EXTENT_HEADER + kl as u64, val);
        let refb = rel.to_le_bytes();
        let img = Image {
            state,
            uid_gen: gen,
            expiry: exp,
            kl,
            vl,
            data: [&refb, &key[..kl.min(cap - 8)]],
        };
        let done = self.commit(guard, idx, word, tag, &img, dlive, dtomb, heap_old);
        if !done {
            self.heap_free(e, rel, &[LOCK_OFF_HEAP_NEW])?;
        }
        Ok(done)
    }

    /// The one write path: under `key`'s lock, calls `decide` with the key's
    /// current (unexpired) slot, or None when absent, and carries out the
    /// plan it returns. `decide` may run more than once (when a writer of
    /// another key takes the chosen free slot first) and must not have side
    /// effects. Errors: those of `decide`, `ReadOnly`, `InvalidArg`,
    /// `TooLarge`, `Full`, `Busy`.
    pub(crate) fn write_key<'v, R>(
        &self, key: &[u8], h: u64,
        mut decide: impl FnMut(Option<&Current<'_>>) -> Result<(Plan<'v>, R)>,
    ) -> Result<R> {
        self.check_key(key)?;
        if !self.writable() {
            return Err(Error::ReadOnly);
        }
        let loc0 = self.locate_hashed(h);
        let guard = self.lock_key(&loc0)?;
        let r = self.region();
        let cap = self.slot_capacity();
        // Why the store could not add a level, once it could not.
        let mut grow_err: Option<Error> = None;
        loop {
            // Read after the key's lock is taken: a writer of this key that
            // put it in a level published that level before it released
            // the lock, so this count includes it.
            let n = self.levels_now();
            let can_grow = grow_err.is_none() && n < r.geom().max_levels();
            let (target, loc) = self.target_for_write(key, h, &loc0, n, !can_grow)?;
            match target {
                Target::Existing { idx, word } => {
                    let Some(rec) = self.rec_at(idx) else {
                        return Err(Error::Corrupt("slot lengths or heap reference out of range"));
                    };
                    let slot = r.slot(idx);
                    let cur = Current {
                        store: self,
                        idx,
                        uid_gen: gen_of(word),
                        expiry: slot.expiry(&slot.meta()),
                        rec,
                    };
                    let gone = expired(cur.expiry);
                    let (plan, out) = decide(if gone { None } else { Some(&cur) })?;
                    // An expired key was deleted in effect: a new value is a
                    // new key, with a new UID.
                    let gen = cur.uid_gen.wrapping_add(u32::from(gone)) & format::GEN_MASK;
                    let done = match plan {
                        Plan::Keep => true,
                        Plan::Put(v, exp) => {
                            self.check_fit(key, v.bytes())?;
                            self.put(
                                &guard,
                                idx,
                                word,
                                loc.tag,
                                gen,
                                exp,
                                key,
                                v.bytes(),
                                0,
                                0,
                                rec.heap,
                            )?
                        }
                        Plan::Delete => {
                            let img = Image::tombstone(key, cur.uid_gen.wrapping_add(1), cap);
                            self.commit(&guard, idx, word, loc.tag, &img, -1, 1, rec.heap)
                        }
                    };
                    if done {
                        return Ok(out);
                    }
                }
                Target::Free { idx, word, state, dist } => {
                    let (plan, out) = decide(None)?;
                    let Plan::Put(v, exp) = plan else {
                        return Ok(out);
                    };
                    self.check_fit(key, v.bytes())?;
                    let level = self.level_of(idx);
                    if state == STATE_EMPTY && can_grow && self.wants_level(level, n) {
                        // The newest level is 3/4 taken: add the next one
                        // and insert there; when that fails, here.
                        match self.grow(n) {
                            Ok(()) => continue,
                            Err(e) => grow_err = Some(e),
                        }
                    }
                    let gen = if state == STATE_EMPTY { 0 } else { gen_of(word) };
                    let dtomb = if state == STATE_TOMBSTONE { -1 } else { 0 };
                    if self.put(
                        &guard,
                        idx,
                        word,
                        loc.tag,
                        gen,
                        exp,
                        key,
                        v.bytes(),
                        1,
                        dtomb,
                        0,
                    )? {
                        if state == STATE_EMPTY {
                            self.note_fill(level);
                        }
                        r.header_u64(OFF_LONGEST_PROBE)
                            .fetch_max(u64::from(dist), Ordering::Relaxed);
                        if r.header_u64(OFF_GENERATION).load(Ordering::Relaxed) != 0 {
                            r.header_u64(OFF_NEW_SINCE_OPT).fetch_add(1, Ordering::Relaxed);
                        }
                        return Ok(out);
                    }
                }
                Target::Full => {
                    let (plan, out) = decide(None)?;
                    let Plan::Put(v, _) = plan else {
                        return Ok(out);
                    };
                    // A record that can never fit is too large, full or not.
                    self.check_fit(key, v.bytes())?;
                    if can_grow {
                        match self.grow(n) {
                            Ok(()) => continue,
                            Err(e) => grow_err = Some(e),
                        }
                        // Next round: free slots of the older levels.
                        continue;
                    }
                    if self.reclaim_expired(&loc, &guard)? == 0 {
                        return Err(grow_err.unwrap_or(Error::Full));
                    }
                }
            }
        }
    }

    /// Writes slot `idx` again with its own contents through the redo
    /// protocol, so that its control byte is published from its state
    /// (`recover` uses it for control bytes a crash left stale). A record in
    /// the heap keeps its extent. True when the slot was rewritten; false
    /// when it was never written, was changed by another writer meanwhile
    /// (whose write published its byte), or its lengths do not fit (`check`
    /// reports that).
    pub(crate) fn rewrite_in_place(&self, idx: u64) -> Result<bool> {
        let r = self.region();
        let cap = self.slot_capacity();
        let mut data = vec![0u8; cap];
        let mut key = Vec::new();
        let seq = r.seq(idx);
        let (word, state, kl, vl, gen, exp, dl) = loop {
            let w = read_begin(seq);
            if w == 0 {
                return Ok(false);
            }
            if is_locked(w) {
                self.wait_locked_slot(idx, w, &mut Backoff::new())?;
                continue;
            }
            let slot = r.slot(idx);
            let m = slot.meta();
            let (state, kl, vl, pre) = (m.state, m.kl, m.vl, m.pre());
            let gen = gen_of(w);
            let exp = slot.expiry(&m);
            let rec = self.rec_at(idx);
            let tomb_of_long_key = state == STATE_TOMBSTONE && vl == 0 && kl > cap;
            // An expiry flag with no expiry time (0) is damage a write cannot
            // reproduce (a write flags only a time it stores); `check`
            // reports it.
            let bad_expiry = m.expires && exp == 0;
            if kl == 0 || bad_expiry || (rec.is_none() && !tomb_of_long_key) {
                if read_validate(seq, w) {
                    return Ok(false);
                }
                continue;
            }
            // The body after the expiry time (an expiry of 0 is none).
            let dl = data_len(kl, vl, cap - pre);
            r.copy_out(idx, pre, &mut data[..dl]);
            // The key, for its lock entry: whole for a live record; the
            // tombstone of a key too long for the slot keeps only a prefix,
            // whose entry serves as well (the slot's seqlock, taken by
            // compare-and-swap from the word seen here, orders this write
            // against any other).
            key.clear();
            match rec {
                Some(rec) if state == STATE_LIVE => {
                    key.resize(kl, 0);
                    self.copy_key(&rec, &mut key);
                }
                _ => key.extend_from_slice(&data[..dl][dl - kl.min(dl)..]),
            }
            if read_validate(seq, w) {
                break (w, state, kl, vl, gen, exp, dl);
            }
        };
        let tag = tag_of(word);
        let guard = self.lock_key(&self.locate(&key))?;
        let inline = fits_inline(kl, vl, if exp != 0 { EXPIRY_LEN } else { 0 }, cap);
        let (d0, d1) = data[..dl].split_at(if inline { kl } else { 8 });
        let img = Image { state, uid_gen: gen, expiry: exp, kl, vl, data: [d0, d1] };
        Ok(self.commit(&guard, idx, word, tag, &img, 0, 0, 0))
    }

    /// Makes slot `idx`, seen unlocked at word `w` holding live `key`, a
    /// tombstone through the redo protocol (`recover` uses it for keys a
    /// machine crash left unreachable). False when the slot changed since.
    pub(crate) fn delete_in_place(&self, idx: u64, w: u64, key: &[u8]) -> Result<bool> {
        let r = self.region();
        let guard = self.lock_key(&self.locate(key))?;
        let gen = gen_of(w);
        let heap = self.rec_at(idx).map_or(0, |rec| rec.heap);
        if r.seq(idx).load(Ordering::Acquire) != w {
            return Ok(false);
        }
        let img = Image::tombstone(key, gen.wrapping_add(1), self.slot_capacity());
        Ok(self.commit(&guard, idx, w, tag_of(w), &img, -1, 1, heap))
    }

    /// `TooLarge` when `key` = `val` could never be stored: a value over
    /// `MAX_VALUE_LEN`, or a record too large for its slot and for the
    /// largest extent the store's heap could hold.
    fn check_fit(&self, key: &[u8], val: &[u8]) -> Result<()> {
        if key.len() + val.len() <= self.slot_capacity() {
            return Ok(());
        }
        if val.len() > MAX_VALUE_LEN {
            return Err(Error::TooLarge("value longer than 1 GiB"));
        }
        let heap = self.region().geom().heap_len() - format::HEAP_RESERVED;
        match class_for(extent_need(key.len(), val.len())) {
            Some(c) if class_size(c) <= heap => Ok(()),
            _ => Err(Error::TooLarge("record larger than the store's heap")),
        }
    }

    /// Turns expired keys in `loc`'s probe window into tombstones, taking
    /// each key's lock without waiting (the caller holds `held`). Returns
    /// how many it removed.
    fn reclaim_expired(&self, loc: &Loc, held: &Guard<'_>) -> Result<usize> {
        let mut idx = loc.home;
        let mut n = 0;
        for _ in 0..self.region().geom().max_probes() {
            if self.expire_slot(idx, Some(held), false)? {
                n += 1;
            }
            idx = self.next_slot(loc, idx);
        }
        Ok(n)
    }

    /// If slot `idx` holds an expired key, deletes it (tombstone) under that
    /// key's lock: `held` when it is that entry, else taken (waiting only if
    /// `wait`). Returns whether it deleted.
    pub(crate) fn expire_slot(
        &self, idx: u64, held: Option<&Guard<'_>>, wait: bool,
    ) -> Result<bool> {
        let r = self.region();
        // Allocated only for a slot that holds an expired key: callers walk
        // every slot of a window or of the store.
        let mut key = Vec::new();
        let mut backoff = Backoff::new();
        let (kl, word) = loop {
            let w = read_begin(r.seq(idx));
            if w == 0 {
                return Ok(false);
            }
            if is_locked(w) {
                self.wait_locked_slot(idx, w, &mut backoff)?;
                continue;
            }
            let slot = r.slot(idx);
            let m = slot.meta();
            let live = m.state == STATE_LIVE;
            let exp = slot.expiry(&m);
            let kl = m.kl;
            let rec = self.rec_at(idx).filter(|rec| rec.kl > 0);
            let ok = live && expired(exp) && rec.is_some();
            if let (true, Some(rec)) = (ok, rec) {
                key.resize(kl, 0);
                self.copy_key(&rec, &mut key);
            }
            if !read_validate(r.seq(idx), w) {
                continue;
            }
            if !ok {
                return Ok(false);
            }
            break (kl, w);
        };
        let key = &key[..kl];
        let loc = self.locate(key);
        let taken;
        let guard = match held {
            Some(g) if g.entry() == loc.lock => g,
            _ => {
                taken = if wait {
                    Some(self.lock_key(&loc)?)
                } else {
                    match lock_table::try_acquire(r, loc.lock, false) {
                        Some((g, _)) => {
                            self.settle_heap_fields(g.entry())?;
                            Some(g)
                        }
                        None => return Ok(false),
                    }
                };
                taken.as_ref().expect("taken above")
            }
        };
        // Under the key's lock, the slot can only have changed by a write of
        // this key: check it is still the same expired key.
        let w = r.seq(idx).load(Ordering::Acquire);
        let slot = r.slot(idx);
        let m = slot.meta();
        let still = w == word
            || (!is_locked(w)
                && m.state == STATE_LIVE
                && self.slot_holds_key(idx, m.kl, key)
                && expired(slot.expiry(&m)));
        if !still {
            return Ok(false);
        }
        let gen = gen_of(w);
        let heap = self.rec_at(idx).map_or(0, |rec| rec.heap);
        let img = Image::tombstone(key, gen.wrapping_add(1), self.slot_capacity());
        Ok(self.commit(guard, idx, w, loc.tag, &img, -1, 1, heap))
    }

    // ---- The operations, each one plan over `write_key`. ----

    /// Sets `key` to `val`, inserting the key if absent, and clears any
    /// expiry. Errors: `ReadOnly`; `InvalidArg` for an empty key; `TooLarge`
    /// when key plus value exceed `slot_capacity()`; `Full` when no slot
    /// within the maximum probe distance is free; `Busy` past the wait limit.
    pub fn set(&self, key: &[u8], val: &[u8]) -> Result<()> {
        self.set_hashed(key, val, self.hash(key))
    }

    /// `set` with the key's hash already computed (`hash(key)`).
    pub(crate) fn set_hashed(&self, key: &[u8], val: &[u8], h: u64) -> Result<()> {
        self.check_key(key)?;
        self.check_fit(key, val)?;
        self.write_key(key, h, |_| Ok((Plan::Put(Value::Bytes(val), 0), ())))
    }

    /// Sets `key` to `val` with a time to live of `ttl_ms` milliseconds
    /// (> 0). Once it passes, the key reads as absent and its slot is
    /// reused. Errors as `set`, and `InvalidArg` for `ttl_ms` 0.
    pub fn set_ex(&self, key: &[u8], val: &[u8], ttl_ms: u64) -> Result<()> {
        if ttl_ms == 0 {
            return Err(Error::InvalidArg("ttl must be positive"));
        }
        self.check_key(key)?;
        self.check_fit(key, val)?;
        let expiry = now_ms().saturating_add(ttl_ms);
        self.write_key(key, self.hash(key), |_| Ok((Plan::Put(Value::Bytes(val), expiry), ())))
    }

    /// Deletes `key`, leaving a tombstone. Errors: `NotFound`, `ReadOnly`,
    /// `InvalidArg`, `Busy`.
    pub fn del(&self, key: &[u8]) -> Result<()> {
        self.write_key(key, self.hash(key), |cur| match cur {
            Some(_) => Ok((Plan::Delete, ())),
            None => Err(Error::NotFound),
        })
    }

    /// Inserts `key` only if it is absent. Errors: `Exists` when present,
    /// else as `set`.
    pub fn add(&self, key: &[u8], val: &[u8]) -> Result<()> {
        self.check_key(key)?;
        self.check_fit(key, val)?;
        self.write_key(key, self.hash(key), |cur| match cur {
            Some(_) => Err(Error::Exists),
            None => Ok((Plan::Put(Value::Bytes(val), 0), ())),
        })
    }

    /// Sets `key` only if it is present (keeping its expiry). Errors:
    /// `NotFound` when absent, else as `set`.
    pub fn replace(&self, key: &[u8], val: &[u8]) -> Result<()> {
        self.check_key(key)?;
        self.check_fit(key, val)?;
        self.write_key(key, self.hash(key), |cur| match cur {
            Some(c) => Ok((Plan::Put(Value::Bytes(val), c.expiry), ())),
            None => Err(Error::NotFound),
        })
    }

    /// Sets `key` to `new` only if its current value equals `expected`
    /// (compare-and-swap; keeps the expiry). Errors: `NotFound` when absent;
    /// `Conflict` when the value differs; else as `set`.
    pub fn cas(&self, key: &[u8], expected: &[u8], new: &[u8]) -> Result<()> {
        self.check_key(key)?;
        self.check_fit(key, new)?;
        self.write_key(key, self.hash(key), |cur| match cur {
            Some(c) if c.value_is(expected) => Ok((Plan::Put(Value::Bytes(new), c.expiry), ())),
            Some(_) => Err(Error::Conflict("current value differs from the expected one")),
            None => Err(Error::NotFound),
        })
    }

    /// Adds `delta` to the signed 64-bit integer value of `key` (exactly 8
    /// bytes, little-endian two's complement) and returns the new value.
    /// An absent key is created with value `delta`; `delta` 0 only reads.
    /// Errors: `NotFound` (delta 0 on an absent key); `NotInteger` when the
    /// value is not 8 bytes; `Overflow` when the sum leaves the i64 range
    /// (nothing changes on either error); else as `set`.
    pub fn incr(&self, key: &[u8], delta: i64) -> Result<i64> {
        self.write_key(key, self.hash(key), |cur| match cur {
            Some(c) => {
                if c.value_len() != 8 {
                    return Err(Error::NotInteger);
                }
                let mut b = [0u8; 8];
                c.read_value(&mut b);
                let v = i64::from_le_bytes(b).checked_add(delta).ok_or(Error::Overflow)?;
                if delta == 0 {
                    return Ok((Plan::Keep, v));
                }
                Ok((Plan::Put(Value::Int(v.to_le_bytes()), c.expiry), v))
            }
            None if delta == 0 => Err(Error::NotFound),
            None => Ok((Plan::Put(Value::Int(delta.to_le_bytes()), 0), delta)),
        })
    }

    /// Sets the time to live of `key` to `ttl_ms` milliseconds from now;
    /// 0 removes its expiry. Errors: `NotFound`, else as `set`.
    pub fn expire(&self, key: &[u8], ttl_ms: u64) -> Result<()> {
        let expiry = if ttl_ms == 0 { 0 } else { now_ms().saturating_add(ttl_ms) };
        self.write_key(key, self.hash(key), |cur| match cur {
            Some(c) => {
                let mut val = vec![0u8; c.value_len()];
                c.read_value(&mut val);
                Ok((Plan::Put(Value::Owned(val), expiry), ()))
            }
            None => Err(Error::NotFound),
        })
    }

    /// Milliseconds until `key` expires, or None when it never does.
    /// Errors: `NotFound` (absent or expired), as `get`.
    pub fn ttl(&self, key: &[u8]) -> Result<Option<u64>> {
        self.check_key(key)?;
        let r = self.region();
        let (exp, _, _) = self.probe_read_hashed(key, self.hash(key), |rec| {
            let slot = r.slot(rec.idx);
            slot.expiry(&slot.meta())
        })?;
        Ok((exp != 0).then(|| exp.saturating_sub(now_ms())))
    }

    /// Deletes up to `max_count` expired keys (all of them when
    /// `max_count` is 0) and returns how many it deleted. Walks the whole
    /// slot array. Errors: `ReadOnly`, `Busy`.
    pub fn flush_expired(&self, max_count: u64) -> Result<u64> {
        if !self.writable() {
            return Err(Error::ReadOnly);
        }
        let mut n = 0;
        for idx in 0..self.slots_in_use() {
            if max_count != 0 && n >= max_count {
                break;
            }
            if self.expire_slot(idx, None, true)? {
                n += 1;
            }
        }
        Ok(n)
    }
}
