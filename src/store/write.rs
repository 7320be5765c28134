//! The write protocol: every change to a slot goes through `Store::write_key`
//! and `commit`, so that a writer killed at any instruction leaves a store
//! that others repair to a consistent state within milliseconds.
//!
//! A writer of key K:
//! 1. takes K's lock-table entry `e` (`lock.rs`); if it took `e` over from a
//!    dead owner, it first repairs that owner's unfinished write (`repair`);
//! 2. scans K's probe sequence (`scan_for_write`) and decides, from K's
//!    current value, what to do (`Plan`: put, delete, nothing);
//! 3. `commit`: writes the slot's new contents (the *redo image*), the tag,
//!    the slot index and its even version (the *intent*), and the entry's
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
    self, LOCK_OFF_INTENT, LOCK_OFF_LIVE, LOCK_OFF_NEW_LIVE, LOCK_OFF_NEW_TOMB, LOCK_OFF_REDO,
    LOCK_OFF_TAG, LOCK_OFF_TOMB, OFF_GENERATION, OFF_LONGEST_PROBE, OFF_NEW_SINCE_OPT,
    SLOT_OFF_EXPIRY, SLOT_OFF_STATE, SLOT_OFF_UID_GEN, STATE_EMPTY, STATE_LIVE, STATE_TOMBSTONE,
};
use crate::store::lock_table::{self, Guard};
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
    kl: usize,
    vl: usize,
}

impl Current<'_> {
    /// Length of the current value.
    pub fn value_len(&self) -> usize {
        self.vl
    }

    /// Copies the current value (`value_len()` bytes) into `out`.
    pub fn read_value(&self, out: &mut [u8]) {
        self.store.region().copy_out(self.idx, self.kl, &mut out[..self.vl]);
    }

    /// Whether the current value equals `v`.
    pub fn value_is(&self, v: &[u8]) -> bool {
        if v.len() != self.vl {
            return false;
        }
        let mut cur = vec![0u8; self.vl];
        self.read_value(&mut cur);
        cur == v
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
    /// Takes the lock entry of `loc`, repairing a dead owner's write first.
    pub(crate) fn lock_key(&self, loc: &Loc) -> Result<Guard<'_>> {
        if !self.writable() {
            return Err(Error::ReadOnly);
        }
        let (guard, stolen) = lock_table::acquire(self.region(), loc.lock)?;
        if stolen {
            self.repair_entry(guard.entry());
        }
        Ok(guard)
    }

    /// Scans `key`'s probe sequence for a write: the key's slot, or the
    /// first free one. The caller holds the key's lock entry.
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
                let state = r.slot_u32(idx, SLOT_OFF_STATE).load(Ordering::Relaxed);
                let (kl, vl) = r.lens(idx);
                let hit = state == STATE_LIVE
                    && tag_of(w) == loc.tag
                    && kl == key.len()
                    && kl.saturating_add(vl) <= self.slot_capacity()
                    && r.key_eq(idx, key);
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
            idx = self.next_slot(idx);
        }
        Ok(match free {
            Some((idx, w, s, d)) => Target::Free { idx, word: w, state: s, dist: d },
            None => Target::Full,
        })
    }

    /// Writes `image` (state, key, value, UID generation, expiry) to slot
    /// `idx` observed at even word `word`, through the redo record of the
    /// held entry, and moves the entry's counts by `dlive`/`dtomb`. False
    /// when the slot changed since it was observed (scan again).
    #[allow(clippy::too_many_arguments)]
    fn commit(
        &self, guard: &Guard<'_>, idx: u64, word: u64, tag: u32, state: u32, uid_gen: u32,
        expiry: u64, key: &[u8], val: &[u8], dlive: i64, dtomb: i64,
    ) -> bool {
        let r = self.region();
        let e = guard.entry();
        let mut head = [0u8; IMAGE_HEAD];
        format::put32(&mut head, 0, key.len() as u32);
        format::put32(&mut head, 4, val.len() as u32);
        format::put32(&mut head, 8, state);
        format::put32(&mut head, 12, uid_gen);
        format::put64(&mut head, 16, expiry);
        r.write_image(e, 0, &head);
        r.write_image(e, IMAGE_HEAD, key);
        r.write_image(e, IMAGE_HEAD + key.len(), val);
        let live = r.lock_u64(e, LOCK_OFF_LIVE).load(Ordering::Relaxed);
        let tomb = r.lock_u64(e, LOCK_OFF_TOMB).load(Ordering::Relaxed);
        let (new_live, new_tomb) =
            (live.wrapping_add(dlive as u64), tomb.wrapping_add(dtomb as u64));
        r.lock_u64(e, LOCK_OFF_NEW_LIVE).store(new_live, Ordering::Relaxed);
        r.lock_u64(e, LOCK_OFF_NEW_TOMB).store(new_tomb, Ordering::Relaxed);
        r.lock_u32(e, LOCK_OFF_TAG).store(tag, Ordering::Relaxed);
        r.lock_u64(e, LOCK_OFF_INTENT)
            .store((idx << 32) | u64::from(version_of(word)), Ordering::Relaxed);
        r.lock_u32(e, LOCK_OFF_REDO).store(1, Ordering::Release);
        let seq = r.seq(idx);
        let Some(locked) = seqlock::try_lock(seq, word, e as u32) else {
            r.lock_u32(e, LOCK_OFF_REDO).store(0, Ordering::Release);
            return false;
        };
        r.apply_image(e, idx, IMAGE_HEAD + key.len() + val.len());
        r.set_ctrl(idx, ctrl::for_state(state, tag));
        seqlock::unlock(seq, locked, tag);
        r.lock_u64(e, LOCK_OFF_LIVE).store(new_live, Ordering::Relaxed);
        r.lock_u64(e, LOCK_OFF_TOMB).store(new_tomb, Ordering::Relaxed);
        r.lock_u32(e, LOCK_OFF_REDO).store(0, Ordering::Release);
        true
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
        let loc = self.locate_hashed(h);
        let guard = self.lock_key(&loc)?;
        let r = self.region();
        loop {
            match self.scan_for_write(key, &loc)? {
                Target::Existing { idx, word } => {
                    let (kl, vl) = r.lens(idx);
                    let cur = Current {
                        store: self,
                        idx,
                        uid_gen: r.slot_u32(idx, SLOT_OFF_UID_GEN).load(Ordering::Relaxed),
                        expiry: r.slot_u64(idx, SLOT_OFF_EXPIRY).load(Ordering::Relaxed),
                        kl,
                        vl,
                    };
                    let gone = expired(cur.expiry);
                    let (plan, out) = decide(if gone { None } else { Some(&cur) })?;
                    // An expired key was deleted in effect: a new value is a
                    // new key, with a new UID.
                    let gen = cur.uid_gen.wrapping_add(u32::from(gone));
                    let done = match plan {
                        Plan::Keep => true,
                        Plan::Put(v, exp) => {
                            self.check_fit(key, v.bytes())?;
                            self.commit(
                                &guard,
                                idx,
                                word,
                                loc.tag,
                                STATE_LIVE,
                                gen,
                                exp,
                                key,
                                v.bytes(),
                                0,
                                0,
                            )
                        }
                        Plan::Delete => self.commit(
                            &guard,
                            idx,
                            word,
                            loc.tag,
                            STATE_TOMBSTONE,
                            cur.uid_gen.wrapping_add(1),
                            0,
                            key,
                            &[],
                            -1,
                            1,
                        ),
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
                    let gen = if state == STATE_EMPTY {
                        0
                    } else {
                        r.slot_u32(idx, SLOT_OFF_UID_GEN).load(Ordering::Relaxed)
                    };
                    let dtomb = if state == STATE_TOMBSTONE { -1 } else { 0 };
                    if self.commit(
                        &guard,
                        idx,
                        word,
                        loc.tag,
                        STATE_LIVE,
                        gen,
                        exp,
                        key,
                        v.bytes(),
                        1,
                        dtomb,
                    ) {
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
                    if self.reclaim_expired(&loc, &guard)? == 0 {
                        return Err(Error::Full);
                    }
                }
            }
        }
    }

    /// Writes slot `idx` again with its own contents through the redo
    /// protocol, so that its control byte is published from its state
    /// (`recover` uses it for control bytes a crash left stale). True when
    /// the slot was rewritten; false when it was never written, was
    /// changed by another writer meanwhile (whose write published its
    /// byte), or its lengths do not fit (`check` reports that).
    pub(crate) fn rewrite_in_place(&self, idx: u64) -> Result<bool> {
        let r = self.region();
        let cap = self.slot_capacity();
        let mut data = vec![0u8; cap];
        let seq = r.seq(idx);
        let (word, state, kl, vl, gen, exp) = loop {
            let w = read_begin(seq);
            if w == 0 {
                return Ok(false);
            }
            if is_locked(w) {
                self.wait_locked_slot(idx, w, &mut Backoff::new())?;
                continue;
            }
            let state = r.slot_u32(idx, SLOT_OFF_STATE).load(Ordering::Relaxed);
            let (kl, vl) = r.lens(idx);
            let gen = r.slot_u32(idx, SLOT_OFF_UID_GEN).load(Ordering::Relaxed);
            let exp = r.slot_u64(idx, SLOT_OFF_EXPIRY).load(Ordering::Relaxed);
            if kl == 0 || kl.saturating_add(vl) > cap {
                if read_validate(seq, w) {
                    return Ok(false);
                }
                continue;
            }
            r.copy_out(idx, 0, &mut data[..kl + vl]);
            if read_validate(seq, w) {
                break (w, state, kl, vl, gen, exp);
            }
        };
        let (key, val) = data[..kl + vl].split_at(kl);
        let loc = self.locate(key);
        let guard = self.lock_key(&loc)?;
        Ok(self.commit(&guard, idx, word, tag_of(word), state, gen, exp, key, val, 0, 0))
    }

    /// Makes slot `idx`, seen unlocked at word `w` holding live `key`, a
    /// tombstone through the redo protocol (`recover` uses it for keys a
    /// machine crash left unreachable). False when the slot changed since.
    pub(crate) fn delete_in_place(&self, idx: u64, w: u64, key: &[u8]) -> Result<bool> {
        let r = self.region();
        let guard = self.lock_key(&self.locate(key))?;
        let gen = r.slot_u32(idx, SLOT_OFF_UID_GEN).load(Ordering::Relaxed);
        if r.seq(idx).load(Ordering::Acquire) != w {
            return Ok(false);
        }
        Ok(self.commit(
            &guard,
            idx,
            w,
            tag_of(w),
            STATE_TOMBSTONE,
            gen.wrapping_add(1),
            0,
            key,
            &[],
            -1,
            1,
        ))
    }

    fn check_fit(&self, key: &[u8], val: &[u8]) -> Result<()> {
        if key.len() + val.len() > self.slot_capacity() {
            return Err(Error::TooLarge("key plus value do not fit a slot"));
        }
        Ok(())
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
            idx = self.next_slot(idx);
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
            let live = r.slot_u32(idx, SLOT_OFF_STATE).load(Ordering::Relaxed) == STATE_LIVE;
            let exp = r.slot_u64(idx, SLOT_OFF_EXPIRY).load(Ordering::Relaxed);
            let (kl, vl) = r.lens(idx);
            let ok =
                live && expired(exp) && kl > 0 && kl.saturating_add(vl) <= self.slot_capacity();
            if ok {
                key.resize(kl, 0);
                r.copy_out(idx, 0, &mut key);
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
                        Some((g, _)) => Some(g),
                        None => return Ok(false),
                    }
                };
                taken.as_ref().expect("taken above")
            }
        };
        // Under the key's lock, the slot can only have changed by a write of
        // this key: check it is still the same expired key.
        let w = r.seq(idx).load(Ordering::Acquire);
        let still = w == word
            || (!is_locked(w)
                && r.slot_u32(idx, SLOT_OFF_STATE).load(Ordering::Relaxed) == STATE_LIVE
                && r.lens(idx).0 == kl
                && r.key_eq(idx, key)
                && expired(r.slot_u64(idx, SLOT_OFF_EXPIRY).load(Ordering::Relaxed)));
        if !still {
            return Ok(false);
        }
        let gen = r.slot_u32(idx, SLOT_OFF_UID_GEN).load(Ordering::Relaxed);
        Ok(self.commit(
            guard,
            idx,
            w,
            loc.tag,
            STATE_TOMBSTONE,
            gen.wrapping_add(1),
            0,
            key,
            &[],
            -1,
            1,
        ))
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
        let (exp, _, _) = self.probe_read_hashed(key, self.hash(key), |idx, _, _| {
            r.slot_u64(idx, SLOT_OFF_EXPIRY).load(Ordering::Relaxed)
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
        for idx in 0..self.region().geom().slot_count() {
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
