//! Stable UIDs, SharedHashFile-style: every key has a 64-bit id that stays
//! valid until the key is deleted, across `optimize()`, reopen and
//! processes, and a lookup by UID skips hashing and probing.
//!
//! A UID is the key's slot index (low 32 bits) and the slot's UID
//! generation (bits 32..56; it lives in the slot's seqlock word, above the
//! tag byte). Keys never move, so the index is stable; deleting a key
//! increments its slot's generation, so the UID of a deleted key never
//! matches the slot again, even after another key reuses it — it answers
//! `NotFound`, never another key's value. (The generation is 24 bits: a UID
//! could be fooled only after exactly 2^24 deletes from the same slot.)
//! Reference: SharedHashFile (Simon Hardy-Francis), `shf_get_uid_val`.

use crate::error::{Error, Result};
use crate::store::format::{gen_of, STATE_LIVE};
use crate::store::write::Plan;
use crate::store::Store;
use crate::sync::seqlock::{is_locked, read_begin, read_validate};
use crate::sync::wait::Backoff;

/// Which part of the slot a UID read copies.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Part {
    Key,
    Value,
}

impl Store {
    /// The UID of `key`. Errors as `get`.
    pub fn uid(&self, key: &[u8]) -> Result<u64> {
        let (_, idx, w) = self.probe_read_uid(key, |_| ())?;
        Ok((u64::from(gen_of(w)) << 32) | idx)
    }

    fn probe_read_uid<R>(&self, key: &[u8], mut f: impl FnMut(u64) -> R) -> Result<(R, u64, u64)> {
        self.check_key(key)?;
        self.probe_read_hashed(key, self.hash(key), |rec| f(rec.idx))
    }

    /// Copies the value of the key with `uid` into `buf`; returns its
    /// length. Errors: `NotFound` when the key was deleted (even if its slot
    /// now holds another key) or the UID names no slot; `BufferTooSmall(n)`;
    /// `Corrupt`; `Busy`. Lock-free, thread- and process-safe.
    pub fn get_by_uid(&self, uid: u64, buf: &mut [u8]) -> Result<usize> {
        self.read_by_uid(uid, Part::Value, buf)
    }

    /// Copies the key with `uid` into `buf`; returns its length. Errors as
    /// `get_by_uid`.
    pub fn key_by_uid(&self, uid: u64, buf: &mut [u8]) -> Result<usize> {
        self.read_by_uid(uid, Part::Key, buf)
    }

    fn read_by_uid(&self, uid: u64, part: Part, buf: &mut [u8]) -> Result<usize> {
        let r = self.region();
        let idx = uid & 0xffff_ffff;
        let gen = (uid >> 32) as u32;
        if idx >= self.slots_in_use() {
            return Err(Error::NotFound);
        }
        r.prefetch_slot(idx);
        let seq = r.seq(idx);
        let mut backoff = Backoff::new();
        loop {
            let w = read_begin(seq);
            if w == 0 {
                return Err(Error::NotFound);
            }
            if is_locked(w) {
                self.wait_locked_slot(idx, w, &mut backoff)?;
                continue;
            }
            let slot = r.slot(idx);
            let m = slot.meta();
            let live = m.state == STATE_LIVE
                && gen_of(w) == gen
                && !crate::store::expiry::expired(slot.expiry(&m));
            let rec = self.rec_at(idx);
            let sane = rec.is_some();
            let len = match (part, rec) {
                (_, None) => 0,
                (Part::Key, Some(rec)) => rec.kl,
                (Part::Value, Some(rec)) => rec.vl,
            };
            if let (true, Some(rec)) = (live && len <= buf.len(), rec) {
                match part {
                    Part::Key => self.copy_key(&rec, buf),
                    Part::Value => self.copy_value(&rec, &mut buf[..len]),
                }
            }
            if !read_validate(seq, w) {
                continue;
            }
            return match (live, sane) {
                (false, _) => Err(Error::NotFound),
                (true, false) => Err(Error::Corrupt("slot lengths or heap reference out of range")),
                (true, true) if len > buf.len() => Err(Error::BufferTooSmall(len)),
                (true, true) => Ok(len),
            };
        }
    }

    /// Deletes the key with `uid`. Errors: `NotFound` when that key is
    /// already gone (a key re-inserted since has a new UID and is left
    /// alone); `ReadOnly`; `Busy`. Thread- and process-safe.
    pub fn del_by_uid(&self, uid: u64) -> Result<()> {
        if !self.writable() {
            return Err(Error::ReadOnly);
        }
        let mut key = vec![0u8; 256];
        let kl = match self.key_by_uid(uid, &mut key) {
            Err(Error::BufferTooSmall(n)) => {
                key.resize(n, 0);
                self.key_by_uid(uid, &mut key)?
            }
            other => other?,
        };
        let key = &key[..kl];
        let (idx, gen) = (uid & 0xffff_ffff, (uid >> 32) as u32);
        self.write_key(key, self.hash(key), |cur| match cur {
            Some(c) if c.idx == idx && c.uid_gen == gen => Ok((Plan::Delete, ())),
            _ => Err(Error::NotFound),
        })
    }
}
