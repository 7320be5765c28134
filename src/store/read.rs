//! The read path: find a key's slot and read it under its seqlock.
//!
//! `fastrange` home slot, then (after `optimize()`) the MPHF's slot, then
//! linear probing up to the maximum probe distance; each slot is read
//! between a seqlock `read_begin` and `read_validate` and its key compared
//! in full. No lock; a slot found locked is waited on (bounded), and after a
//! millisecond its writer is checked and, if dead, its write repaired
//! (`recovery.rs`). Nothing here writes a slot.

use std::sync::atomic::Ordering;

use crate::error::{Error, Result};
use crate::store::expiry::expired;
use crate::store::format::{SLOT_HEADER_SIZE, SLOT_OFF_EXPIRY, SLOT_OFF_STATE, STATE_LIVE};
use crate::store::mphf::View;
use crate::store::raw::Region;
use crate::store::{Loc, Store, ValueRef};
use crate::sync::seqlock::{self, is_locked, read_begin, read_validate, tag_of};
use crate::sync::wait::Backoff;

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
    /// `f(idx, key_len, val_len)`. `f` may read the slot (racy); its result
    /// is returned only once the read validates. Returns the result, the
    /// slot and the validated word.
    #[inline]
    pub(crate) fn probe_read<R>(
        &self, key: &[u8], f: impl FnMut(u64, usize, usize) -> R,
    ) -> Result<(R, u64, u64)> {
        self.check_key(key)?;
        let view = self.current_view();
        self.probe_read_hashed(key, self.hash(key), &view, f)
    }

    /// `probe_read` with the key's hash and MPHF view already at hand. The
    /// key must be valid (`check_key`).
    ///
    /// The home slot is prefetched before the MPHF is evaluated, so that the
    /// MPHF's own memory reads overlap the slot's; the MPHF's slot (usually
    /// the home slot, else a few slots on, in the same page) is prefetched
    /// as soon as it is known.
    #[inline]
    pub(crate) fn probe_read_hashed<R>(
        &self, key: &[u8], h: u64, view: &View, f: impl FnMut(u64, usize, usize) -> R,
    ) -> Result<(R, u64, u64)> {
        let loc = self.locate_hashed(h);
        self.region.prefetch_slot(loc.home);
        let hint = self.mphf_slot(h, loc.home, view);
        if let Some(idx) = hint {
            if idx != loc.home {
                self.region.prefetch_slot(idx);
            }
        }
        self.probe_from(key, &loc, hint, f)
    }

    /// The slot the MPHF names for hash `h` (home `home`), if any.
    #[inline]
    pub(crate) fn mphf_slot(&self, h: u64, home: u64, view: &View) -> Option<u64> {
        view.index.as_ref().and_then(|i| i.distance(h)).map(|d| self.wrap(home + d))
    }

    /// Looks `key` up from `loc`: first in slot `hint` (the MPHF's answer)
    /// if given, then by probing from home. Prefetching is the caller's.
    #[inline]
    pub(crate) fn probe_from<R>(
        &self, key: &[u8], loc: &Loc, hint: Option<u64>, mut f: impl FnMut(u64, usize, usize) -> R,
    ) -> Result<(R, u64, u64)> {
        if let Some(idx) = hint {
            // The MPHF names one slot; on any mismatch, probe as usual.
            if let Slot::Hit(out, w) = self.read_slot(idx, key, loc.tag, &mut f)? {
                return Ok((out, idx, w));
            }
        }
        let mut idx = loc.home;
        for _ in 0..self.region.geom().max_probes() {
            match self.read_slot(idx, key, loc.tag, &mut f)? {
                Slot::Hit(out, w) => return Ok((out, idx, w)),
                Slot::Never => return Err(Error::NotFound),
                Slot::Other => idx = self.next_slot(idx),
            }
        }
        Err(Error::NotFound)
    }

    /// Reads slot `idx` for `key` (tag `tag`) under its seqlock.
    #[inline]
    fn read_slot<R>(
        &self, idx: u64, key: &[u8], tag: u32, f: &mut impl FnMut(u64, usize, usize) -> R,
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
            if tag_of(w) != tag {
                return Ok(Slot::Other);
            }
            let state = slot.u32(SLOT_OFF_STATE).load(Ordering::Relaxed);
            let (kl, vl) = slot.lens();
            let expiry = slot.u64(SLOT_OFF_EXPIRY).load(Ordering::Relaxed);
            if state != STATE_LIVE || expired(expiry) {
                if read_validate(seq, w) {
                    return Ok(Slot::Other);
                }
                continue;
            }
            if kl.saturating_add(vl) > cap {
                if read_validate(seq, w) {
                    return Err(Error::Corrupt("slot length exceeds the slot"));
                }
                continue;
            }
            let hit = kl == key.len() && slot.key_eq(key);
            if hit && SLOT_HEADER_SIZE + kl + vl > Region::PREFETCH_BYTES {
                // A long value: ask for all its lines at once before copying.
                r.prefetch_range(idx, Region::PREFETCH_BYTES, SLOT_HEADER_SIZE + kl + vl);
            }
            let out = if hit { Some(f(idx, kl, vl)) } else { None };
            if !read_validate(seq, w) {
                continue;
            }
            return Ok(match out {
                Some(out) => Slot::Hit(out, w),
                None => Slot::Other,
            });
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
        let r = &self.region;
        let (vl, _, _) = self.probe_read(key, |idx, kl, vl| {
            if vl <= buf.len() {
                r.copy_out(idx, kl, &mut buf[..vl]);
            }
            vl
        })?;
        if vl > buf.len() {
            return Err(Error::BufferTooSmall(vl));
        }
        Ok(vl)
    }

    /// The value of `key` as a new vector.
    pub fn get_vec(&self, key: &[u8]) -> Result<Vec<u8>> {
        let mut buf = vec![0u8; self.slot_capacity()];
        let n = self.get(key, &mut buf)?;
        buf.truncate(n);
        Ok(buf)
    }

    /// A pointer to the value of `key` inside the mapping, with a token.
    /// The bytes behind the pointer may change at any time; read them, then
    /// call `ref_valid(token)`: if true, what was read is the whole value as
    /// it was when found. The pointer stays dereferenceable while the store
    /// is open.
    pub fn get_ref(&self, key: &[u8]) -> Result<ValueRef> {
        let r = &self.region;
        let (ptr, idx, w) = self.probe_read(key, |idx, kl, vl| (r.data_ptr(idx, kl, vl), vl))?;
        Ok(ValueRef {
            ptr: ptr.0,
            len: ptr.1,
            token: (idx << 32) | u64::from(seqlock::version_of(w)),
        })
    }

    /// Whether the value found by `get_ref` with this token is unchanged.
    /// Orders the caller's earlier reads of the value before the check.
    pub fn ref_valid(&self, token: u64) -> bool {
        let idx = token >> 32;
        if idx >= self.region.geom().slot_count() || token & 1 == 1 {
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
