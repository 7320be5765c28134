//! Recovery: completing or discarding a write whose writer died.
//!
//! A writer killed at any instruction leaves its lock entry naming its pid
//! and, from the moment it could have touched the slot, a redo record (see
//! `write.rs` for the protocol). Whoever next needs the entry (a writer of
//! a key in that stripe) or the slot (anyone, reader or writer, who finds it
//! locked for over a millisecond: the locked word names the entry) checks
//! the owner, takes the entry over, and repairs here: a slot still locked by
//! the dead entry gets the image copied again and published (the write is
//! completed); otherwise the slot is compared with the image to learn
//! whether the write took effect. The entry's counts are *assigned* from
//! the record exactly when it did, so repair is idempotent.
//!
//! Reads and writes both use this module; it depends on neither.

use std::sync::atomic::Ordering;

use crate::error::{Error, Result};
use crate::store::ctrl;
use crate::store::format::{
    self, word_high, Meta, LOCK_OFF_HIGH, LOCK_OFF_INTENT, LOCK_OFF_LIVE, LOCK_OFF_NEW_LIVE,
    LOCK_OFF_NEW_TOMB, LOCK_OFF_OWNER, LOCK_OFF_REDO, LOCK_OFF_TOMB, STATE_LIVE, STATE_TOMBSTONE,
};
use crate::store::format::{LOCK_OFF_HEAP_NEW, LOCK_OFF_HEAP_OLD};
use crate::store::lock_table;
use crate::store::read::fits_inline;
use crate::store::write::image_len;
use crate::store::Store;
use crate::sync::seqlock::{self, is_locked, owner_of, read_begin, read_validate};
use crate::sync::wait::Backoff;

/// Bytes of the image before the data area: the meta word — slot bytes
/// 8..16.
pub(crate) const IMAGE_HEAD: usize = format::SLOT_HEADER_SIZE - 8;

impl Store {
    /// Waits for slot `idx`, locked with word `w`; once a millisecond, looks
    /// for the writer and repairs its write if it is dead. `Busy` past the
    /// wait limit; `Corrupt` at once when the word names a lock entry the
    /// store does not have (only a damaged file holds one: no writer could
    /// ever unlock it, so waiting would only end in `Busy`, on every access).
    #[cold]
    pub(crate) fn wait_locked_slot(&self, idx: u64, w: u64, backoff: &mut Backoff) -> Result<()> {
        if owner_of(w) >= self.region().geom().lock_count() {
            return Err(Error::Corrupt("slot locked by a lock entry that does not exist"));
        }
        if backoff.due(crate::sync::robust_lock::LIVENESS_PERIOD) {
            self.rescue(idx, w);
        }
        backoff.snooze()
    }

    /// Repairs the write that holds slot `idx` locked (word `w`) if its
    /// writer is dead. Needs a writable handle; does nothing otherwise.
    fn rescue(&self, idx: u64, w: u64) {
        let r = self.region();
        let e = owner_of(w) as usize;
        if !r.writable()
            || e >= r.geom().lock_count() as usize
            || r.seq(idx).load(Ordering::Acquire) != w
        {
            return;
        }
        let owner = r.lock_u32(e, LOCK_OFF_OWNER).load(Ordering::Acquire);
        if owner != 0 && crate::sys::pid::process_alive(owner) {
            return;
        }
        if let Some((guard, _)) = lock_table::try_acquire(r, e, true) {
            self.repair_entry(guard.entry());
            if r.seq(idx).load(Ordering::Acquire) == w {
                self.publish_orphan(idx, w);
            }
        }
    }

    /// Publishes slot `idx`, left locked (word `w`) by lock entry `e` that
    /// the caller now holds and has repaired: a slot still locked then is
    /// an *orphan* — no writer is inside (one would hold `e`) and no redo
    /// record names it. Only a crash of the machine (the slot's page
    /// written back, the lock entry's page not) or a damaged file leaves
    /// one. It is published as it stands, its tag recomputed from its key:
    /// a live key stays live, anything that is not a well-formed live key
    /// becomes a tombstone. Its UID generation was in the word the writer
    /// replaced and is lost: the slot takes the low bits of its version
    /// instead, so a UID of the slot handed out before the crash may resolve
    /// again only by chance (1 in 2^24); UIDs are not durable past the last
    /// `sync`. Before this, every lookup that met it waited 2 s and
    /// answered `Busy`.
    fn publish_orphan(&self, idx: u64, w: u64) {
        let r = self.region();
        let m = r.meta(idx);
        let state = m.state;
        let rec = self.rec_at(idx).filter(|rec| rec.kl >= 1);
        let well_formed = rec.is_some();
        let tag = match rec {
            Some(rec) => {
                let mut key = vec![0u8; rec.kl];
                self.copy_key(&rec, &mut key);
                self.hash(&key) as u32
            }
            None => 0,
        };
        let state = if state == STATE_LIVE && well_formed {
            STATE_LIVE
        } else {
            r.set_meta(idx, Meta { state: STATE_TOMBSTONE, ..m });
            STATE_TOMBSTONE
        };
        r.set_ctrl(idx, ctrl::for_state(state, tag));
        seqlock::unlock(r.seq(idx), w, word_high(seqlock::version_of(w), tag));
    }

    /// Repairs lock entry `e` if its owner is dead (and this handle may
    /// write). True when a repair ran.
    #[cold]
    pub(crate) fn rescue_entry(&self, e: usize) -> bool {
        let r = self.region();
        let owner = r.lock_u32(e, LOCK_OFF_OWNER).load(Ordering::Acquire);
        if !r.writable() || owner == 0 || crate::sys::pid::process_alive(owner) {
            return false;
        }
        match lock_table::try_acquire(r, e, true) {
            Some((guard, _)) => {
                self.repair_entry(guard.entry());
                true
            }
            None => false,
        }
    }

    /// Finishes or discards the write a dead owner of entry `e` left (see the
    /// module docs), then settles the heap extents the entry names: the
    /// replaced one is freed when the write took effect, the new one when
    /// it did not. The caller owns `e`.
    pub(crate) fn repair_entry(&self, e: usize) {
        let r = self.region();
        if r.lock_u32(e, LOCK_OFF_REDO).load(Ordering::Acquire) != 1 {
            // No write in progress: whatever the entry names is free.
            let _ = self.settle_heap_fields(e);
            return;
        }
        let cap = self.slot_capacity();
        let intent = r.lock_u64(e, LOCK_OFF_INTENT).load(Ordering::Relaxed);
        let idx = intent >> 32;
        let mut head = [0u8; IMAGE_HEAD];
        r.read_image(e, 0, &mut head);
        let m = Meta::decode(format::get64(&head, 0));
        let (vl, state) = (m.vl, m.state);
        if idx >= self.slots_in_use() || vl > format::MAX_VALUE_LEN {
            // A damaged record: nothing to complete, and no extent to trust.
            for f in [LOCK_OFF_HEAP_NEW, LOCK_OFF_HEAP_OLD] {
                r.lock_u64(e, f).store(0, Ordering::Relaxed);
            }
            r.lock_u32(e, LOCK_OFF_REDO).store(0, Ordering::Release);
            return;
        }
        let len = image_len(&m, cap);
        let heap_old = r.lock_u64(e, LOCK_OFF_HEAP_OLD).load(Ordering::Relaxed);
        let seq = r.seq(idx);
        let cur = seq.load(Ordering::Acquire);
        let applied = if is_locked(cur) && owner_of(cur) as usize == e {
            // Died inside the slot: complete the write.
            r.apply_image(e, idx, len);
            let high = r.lock_u32(e, LOCK_OFF_HIGH).load(Ordering::Relaxed);
            r.set_ctrl(idx, ctrl::for_state(state, high));
            seqlock::unlock(seq, cur, high);
            true
        } else if is_locked(cur) {
            // Another key's writer is in the slot: it was free, so our write
            // either never took it, or was a delete that was published and
            // the tombstone is being reused.
            state == STATE_TOMBSTONE
        } else {
            self.slot_shows_image(e, idx, &m, heap_old)
        };
        if applied {
            let live = r.lock_u64(e, LOCK_OFF_NEW_LIVE).load(Ordering::Relaxed);
            let tomb = r.lock_u64(e, LOCK_OFF_NEW_TOMB).load(Ordering::Relaxed);
            r.lock_u64(e, LOCK_OFF_LIVE).store(live, Ordering::Relaxed);
            r.lock_u64(e, LOCK_OFF_TOMB).store(tomb, Ordering::Relaxed);
        }
        // The extent that lost its owner goes back to the heap; the field
        // of the one that kept it (the slot) is cleared, in one heap step.
        let heap_new = r.lock_u64(e, LOCK_OFF_HEAP_NEW).load(Ordering::Relaxed);
        let freed = if applied { heap_old } else { heap_new };
        if (heap_old != 0 || heap_new != 0)
            && self.heap_free(e, freed, &[LOCK_OFF_HEAP_OLD, LOCK_OFF_HEAP_NEW]).is_err()
        {
            // The heap lock stayed busy: leave the record for the next
            // repair of this entry rather than leak or free wrongly.
            return;
        }
        r.lock_u32(e, LOCK_OFF_REDO).store(0, Ordering::Release);
    }

    /// Makes a tombstone of every live key that lookups cannot reach (a
    /// never-written slot ends its probe sequence first) or that another
    /// slot of the same key shadows. Only a machine crash leaves either: a
    /// slot leaves the never-written state for good before any key is
    /// placed past it, so a key beyond a slot that the file shows as never
    /// written was written after the last `sync` — dropping it loses
    /// nothing synced — and left alone it would come back when its key is
    /// written again and then deleted. Returns how many it dropped.
    fn drop_shadowed_keys(&self) -> Result<usize> {
        let r = self.region();
        let mut key = Vec::new();
        let mut n = 0;
        for idx in 0..self.slots_in_use() {
            let seq = r.seq(idx);
            let w = read_begin(seq);
            if w == 0 || is_locked(w) {
                continue;
            }
            let state = r.meta(idx).state;
            let rec = match self.rec_at(idx) {
                Some(rec) if state == STATE_LIVE && rec.kl > 0 => rec,
                _ => continue,
            };
            let kl = rec.kl;
            key.resize(kl, 0);
            self.copy_key(&rec, &mut key);
            if !read_validate(seq, w) {
                continue;
            }
            let reached = match self.probe_read(&key[..kl], |_| ()) {
                Ok((_, found, _)) => found == idx,
                Err(Error::NotFound) => false,
                Err(e) => return Err(e),
            };
            if !reached && self.delete_in_place(idx, w, &key[..kl])? {
                n += 1;
            }
        }
        Ok(n)
    }

    /// Sets the store's live-key and tombstone counts from the slots, when
    /// this handle can take every lock entry at once (no writer at work);
    /// otherwise leaves them. The counts are kept per lock entry and only
    /// their sums mean anything, so the sums go to entry 0. A machine crash
    /// can leave them off: they sit on other pages than the slots.
    fn recount(&self) {
        let r = self.region();
        let mut guards = Vec::with_capacity(r.geom().lock_count() as usize);
        for e in 0..r.geom().lock_count() as usize {
            match lock_table::try_acquire(r, e, true) {
                Some((g, taken_over)) => {
                    if taken_over {
                        self.repair_entry(g.entry());
                    }
                    guards.push(g);
                }
                None => return,
            }
        }
        let (mut live, mut tomb) = (0u64, 0u64);
        for idx in 0..self.slots_in_use() {
            let w = r.seq(idx).load(Ordering::Acquire);
            if w == 0 || is_locked(w) {
                continue;
            }
            match r.meta(idx).state {
                STATE_LIVE => live += 1,
                STATE_TOMBSTONE => tomb += 1,
                _ => {}
            }
        }
        for e in 0..r.geom().lock_count() as usize {
            let (l, t) = if e == 0 { (live, tomb) } else { (0, 0) };
            r.lock_u64(e, LOCK_OFF_LIVE).store(l, Ordering::Relaxed);
            r.lock_u64(e, LOCK_OFF_TOMB).store(t, Ordering::Relaxed);
        }
        drop(guards);
    }

    /// Whether slot `idx` (unlocked) shows the effect of entry `e`'s image
    /// (meta `m`): for a put, the slot's bytes from offset 8 equal the image
    /// (whose heap reference, if any, names an extent only this write owns)
    /// and its word the high half the write publishes; for a delete, the
    /// key is no longer live there — for a record in the heap, the slot no
    /// longer references `heap_old`, the extent only that record owned.
    fn slot_shows_image(&self, e: usize, idx: u64, m: &Meta, heap_old: u64) -> bool {
        let r = self.region();
        let cap = self.slot_capacity();
        let len = image_len(m, cap);
        let mut image = vec![0u8; len];
        r.read_image(e, 0, &mut image);
        let high = r.lock_u32(e, LOCK_OFF_HIGH).load(Ordering::Relaxed);
        let mut slot = vec![0u8; cap];
        let mut backoff = Backoff::new();
        loop {
            let w = read_begin(r.seq(idx));
            if is_locked(w) {
                if backoff.snooze().is_err() {
                    return m.state == STATE_TOMBSTONE;
                }
                continue;
            }
            let sm = r.meta(idx);
            // Any meta word names a length inside the slot (`image_len`).
            let sdl = image_len(&sm, cap) - IMAGE_HEAD;
            r.copy_out(idx, 0, &mut slot[..sdl]);
            if !read_validate(r.seq(idx), w) {
                continue;
            }
            let slot = &slot[..sdl];
            let body = &slot[sm.pre()..];
            return if m.state == STATE_TOMBSTONE {
                let (kl, image_key) = (m.kl, &image[IMAGE_HEAD..]);
                let still_live = if heap_old != 0 {
                    sm.state == STATE_LIVE
                        && !fits_inline(sm.kl, sm.vl, sm.pre(), cap)
                        && body.len() >= 8
                        && format::get64(body, 0) == heap_old
                } else {
                    sm.state == STATE_LIVE
                        && sm.kl == kl
                        && fits_inline(sm.kl, sm.vl, sm.pre(), cap)
                        && body.len() >= kl
                        && image_key.len() >= kl
                        && body[..kl] == image_key[..kl]
                };
                !still_live
            } else {
                sm == *m && slot == &image[IMAGE_HEAD..] && (w >> 32) as u32 == high
            };
        }
    }

    /// Takes over every lock entry whose owner is dead and repairs its
    /// unfinished write, then republishes every control byte that disagrees
    /// with its slot (a state a crash of the machine can leave: the control
    /// bytes and the slots are on different pages, written back in any
    /// order). Returns how many entries and slots it repaired. Run it after
    /// processes were killed or the machine lost power, before `check`;
    /// lookups and writes also repair dead writers' writes they meet on
    /// their own. Reads every slot's first cache line. Errors: `ReadOnly`,
    /// `Busy` when a slot stays locked by a live writer past the wait limit.
    pub fn recover(&self) -> Result<usize> {
        let r = self.region();
        if !r.writable() {
            return Err(Error::ReadOnly);
        }
        let mut n = 0;
        for e in 0..r.geom().lock_count() as usize {
            let owner = r.lock_u32(e, LOCK_OFF_OWNER).load(Ordering::Acquire);
            if owner != 0 && !crate::sys::pid::process_alive(owner) {
                if let Some((guard, true)) = lock_table::try_acquire(r, e, true) {
                    self.repair_entry(guard.entry());
                    n += 1;
                }
            }
        }
        // Slots left locked with no writer inside (a machine crash).
        for idx in 0..self.slots_in_use() {
            let w = r.seq(idx).load(Ordering::Acquire);
            let e = owner_of(w) as usize;
            if is_locked(w) && e < r.geom().lock_count() as usize {
                if let Some((guard, _)) = lock_table::try_acquire(r, e, true) {
                    self.repair_entry(guard.entry());
                    if r.seq(idx).load(Ordering::Acquire) == w {
                        self.publish_orphan(idx, w);
                        n += 1;
                    }
                }
            }
        }
        for idx in 0..self.slots_in_use() {
            let w = r.seq(idx).load(Ordering::Acquire);
            if w != 0
                && !is_locked(w)
                && r.ctrl_byte(idx) != ctrl::for_state(r.meta(idx).state, seqlock::tag_of(w))
                && self.rewrite_in_place(idx)?
            {
                n += 1;
            }
        }
        n += self.drop_shadowed_keys()?;
        self.recount();
        Ok(n)
    }
}
