//! The compacting copy: `Store::compact_to` writes a new store file whose
//! heap holds only the live records, packed from the heap's start, and
//! nothing else — the space that deleted, overwritten and expired records
//! and size classes no longer in demand left in the source's heap is not
//! copied. This is how a heap's fragmentation is given back (the heap
//! itself never moves a record: pointers from `get_ptr` stay valid while a
//! store is open); it is the compacting mode of LMDB's `mdb_copy -c`.
//!
//! Every slot is copied to the same index, with its tag, UID generation and
//! expiry, so UIDs, probe sequences and home slots are those of the source.
//! Tombstones are copied as tombstones (they keep later keys reachable);
//! expired keys become tombstones. Each slot is read under its seqlock, so
//! each record is copied whole. Other processes may keep reading and
//! writing the source meanwhile: a record written during the copy may be
//! in it with its old or its new value, or not at all; a key deleted and
//! re-inserted elsewhere during the copy is kept once (`recover` on the
//! copy drops the shadowed duplicate). Cost: one pass over the slots and
//! the live records' bytes, plus `optimize()` when the source has an MPHF.

use std::path::Path;
use std::sync::atomic::Ordering;

use crate::error::{Error, Result};
use crate::store::copy::build_copy;
use crate::store::expiry::expired;
use crate::store::format::{
    gen_of, OFF_GENERATION, OFF_LONGEST_PROBE, STATE_LIVE, STATE_TOMBSTONE,
};
use crate::store::heap::{class_for, class_size, extent_need};
use crate::store::write::{data_len, Image};
use crate::store::{Options, Store};
use crate::sync::seqlock::{is_locked, read_begin, read_validate, tag_of};
use crate::sync::wait::Backoff;

/// One slot of the source, read whole under its seqlock.
enum Copied {
    Empty,
    /// A live record: tag, UID generation, expiry, key, value.
    Live {
        tag: u32,
        gen: u32,
        expiry: u64,
        key: Vec<u8>,
        val: Vec<u8>,
    },
    /// An expired key, copied as the tombstone a delete leaves: tag, the
    /// next UID generation, the key.
    Expired {
        tag: u32,
        gen: u32,
        key: Vec<u8>,
    },
    /// A tombstone: tag, UID generation, key length and the slot's data
    /// bytes (the key, or its prefix).
    Tomb {
        tag: u32,
        gen: u32,
        kl: usize,
        data: Vec<u8>,
    },
}

impl Store {
    /// Writes a compacted copy of this store to a new file at `path` and
    /// returns it open (read-write). The copy has the same slots, slot size,
    /// probe limit, lock table and hash seed, and a heap of `heap_bytes`
    /// (0: the live heap records' bytes plus a quarter, at least 64 KiB).
    /// The file appears whole or not at all (built under a temporary name,
    /// then linked). Errors: `Exists` (path exists), `HeapFull` (a
    /// `heap_bytes` too small for the live records, or records grown
    /// meanwhile: retry with more), `NoSpace`, `Io`, `Corrupt` (a damaged source slot),
    /// `Busy`. Safe while other threads and processes use this store (see
    /// the module docs for what the copy then holds).
    pub fn compact_to(&self, path: impl AsRef<Path>, heap_bytes: u64) -> Result<Store> {
        let path = path.as_ref();
        let g = *self.geometry();
        let heap_bytes = match heap_bytes {
            // A growing store's heap may take its whole limit.
            0 if g.grows() => 0,
            0 => {
                let live = self.live_heap_bytes();
                (live + live / 4).max(64 << 10)
            }
            b => b,
        };
        let opts = Options {
            // A growing store's copy grows: same limit, same levels.
            slots: if g.grows() { 0 } else { g.slot_count() },
            max_bytes: g.limit_bytes(),
            slot_size: g.slot_size(),
            heap_bytes,
            max_probes: g.max_probes(),
            mode: 0o600,
            seed: g.seed(),
            lock_count: g.lock_count(),
            sparse: false,
        };
        build_copy(path, &opts, |dst| {
            let levels = self.levels_now();
            for l in 1..levels {
                dst.grow(l)?;
            }
            for l in 0..levels {
                let off = crate::store::format::OFF_LEVEL_FILL + 8 * l as usize;
                let fill = self.region().header_u64(off).load(Ordering::Relaxed);
                dst.region().header_u64(off).store(fill, Ordering::Relaxed);
            }
            self.copy_slots_into(dst, levels)
        })
    }

    /// Bytes the live heap records of this store need when packed (class
    /// sizes of their extents), from the slots' lengths alone: no record
    /// is copied. Racy: a hint for sizing a copy.
    pub(crate) fn live_heap_bytes(&self) -> u64 {
        let r = self.region();
        let mut sum = 0u64;
        for idx in 0..self.slots_in_use() {
            let w = r.seq(idx).load(Ordering::Acquire);
            if w == 0 || r.meta(idx).state != STATE_LIVE {
                continue;
            }
            if let Some(rec) = self.rec_at(idx).filter(|rec| rec.heap != 0) {
                sum += class_for(extent_need(rec.kl, rec.vl)).map_or(0, class_size);
            }
        }
        sum
    }

    /// Reads slot `idx` whole under its seqlock.
    fn copy_slot(&self, idx: u64) -> Result<Copied> {
        let r = self.region();
        let cap = self.slot_capacity();
        let seq = r.seq(idx);
        let mut backoff = Backoff::new();
        loop {
            let w = read_begin(seq);
            if w == 0 {
                return Ok(Copied::Empty);
            }
            if is_locked(w) {
                self.wait_locked_slot(idx, w, &mut backoff)?;
                continue;
            }
            let slot = r.slot(idx);
            let m = slot.meta();
            let (state, kl, vl) = (m.state, m.kl, m.vl);
            let gen = gen_of(w);
            let expiry = slot.expiry(&m);
            let rec = self.rec_at(idx);
            let out = match (state, rec) {
                (STATE_LIVE, Some(rec)) if rec.kl > 0 && !expired(expiry) => {
                    let mut key = vec![0u8; rec.kl];
                    let mut val = vec![0u8; rec.vl];
                    self.copy_key(&rec, &mut key);
                    self.copy_value(&rec, &mut val);
                    Some(Copied::Live { tag: tag_of(w), gen, expiry, key, val })
                }
                (STATE_LIVE, Some(rec)) if rec.kl > 0 => {
                    // Expired: a tombstone of its key, as a delete leaves.
                    let mut key = vec![0u8; rec.kl];
                    self.copy_key(&rec, &mut key);
                    Some(Copied::Expired { tag: tag_of(w), gen: gen.wrapping_add(1), key })
                }
                (STATE_TOMBSTONE, _) => {
                    // A tombstone's lengths matter only to `check`; one a
                    // damaged file left odd is copied without its key.
                    let sane = kl <= crate::store::format::MAX_KEY_LEN && vl == 0;
                    let kl = if sane { kl } else { 0 };
                    let mut data = vec![0u8; data_len(kl, 0, cap)];
                    r.copy_out(idx, 0, &mut data);
                    Some(Copied::Tomb { tag: tag_of(w), gen, kl, data })
                }
                _ => None,
            };
            if !read_validate(seq, w) {
                continue;
            }
            return out.ok_or(Error::Corrupt("slot lengths or heap reference out of range"));
        }
    }

    /// Copies every slot of this store into the same slot of `dst` (a new,
    /// unshared store of the same geometry).
    fn copy_slots_into(&self, dst: &Store, levels: u32) -> Result<()> {
        let cap = self.slot_capacity();
        for idx in 0..self.geometry().level_first(levels) {
            match self.copy_slot(idx)? {
                Copied::Empty => {}
                Copied::Live { tag, gen, expiry, key, val } => {
                    let guard = dst.lock_key(&dst.locate(&key))?;
                    if !dst.put(&guard, idx, 0, tag, gen, expiry, &key, &val, 1, 0, 0)? {
                        return Err(Error::Corrupt("copy: target slot changed"));
                    }
                }
                Copied::Expired { tag, gen, key } => {
                    let guard = dst.lock_key(&dst.locate(&key))?;
                    let img = Image::tombstone(&key, gen, cap);
                    if !dst.commit(&guard, idx, 0, tag, &img, 0, 1, 0) {
                        return Err(Error::Corrupt("copy: target slot changed"));
                    }
                }
                Copied::Tomb { tag, gen, kl, data } => {
                    let guard = dst.lock_key(&dst.locate(&data))?;
                    let split = if kl <= cap { kl } else { 8 };
                    let (d0, d1) = data.split_at(split.min(data.len()));
                    let img = Image {
                        state: STATE_TOMBSTONE,
                        uid_gen: gen,
                        expiry: 0,
                        kl,
                        vl: 0,
                        data: [d0, d1],
                    };
                    if !dst.commit(&guard, idx, 0, tag, &img, 0, 1, 0) {
                        return Err(Error::Corrupt("copy: target slot changed"));
                    }
                }
            }
        }
        let r = self.region();
        dst.region()
            .header_u64(OFF_LONGEST_PROBE)
            .store(r.header_u64(OFF_LONGEST_PROBE).load(Ordering::Relaxed), Ordering::Relaxed);
        // Copies made while writers were active: drop shadowed duplicates,
        // make the counts exact.
        dst.recover()?;
        if r.header_u64(OFF_GENERATION).load(Ordering::Relaxed) != 0 {
            dst.optimize()?;
        }
        Ok(())
    }
}
