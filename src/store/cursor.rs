//! Cursors: every live record of a store, once, while other threads and
//! processes keep reading and writing it.
//!
//! A cursor walks slot indices in order, level by level (a store of fixed
//! size has one level). It reads a slot's control byte first and reads the
//! slot only when the byte says it holds a live key, so empty and deleted
//! slots cost a byte of a cached word, not a slot. A slot is read whole
//! between a seqlock `read_begin` and `read_validate` (`seqlock.rs`), key
//! and value together, from the slot or from its heap extent; a read that
//! raced a writer is retried. The scheme is the full-table scan of open
//! addressing (Knuth, TAOCP vol. 3, 6.4) over maph's slots, which never
//! move: there is no rehash, a delete leaves a tombstone, an overwrite
//! stays in its slot and growth adds levels without moving keys
//! (`growth.rs`).
//!
//! What a scan promises while writers run (C: `maph_iter_next`):
//! - a key present, live and unexpired for the whole scan is returned
//!   exactly once: it sits in one slot the whole time, the cursor visits
//!   each slot once, and that slot's control byte names a live key the
//!   whole time (the byte changes only under the seqlock of a write that
//!   makes the slot empty or a tombstone, which such a key never sees);
//! - every record returned was written whole: its key and value come from
//!   one validated seqlock read;
//! - keys added or deleted during the scan may or may not be returned, and
//!   a key overwritten during it is returned with its old or its new value;
//! - expired keys are not returned.
//!
//! Parts (`cursor_part`, for parallel scans): part `p` of `n` visits, in
//! every level, the slots `[first + count·p/n, first + count·(p+1)/n)`,
//! so the `n` parts together visit every slot once, whatever levels a
//! growing store adds between their openings.

use crate::error::{Error, Result};
use crate::store::expiry::expired;
use crate::store::format::STATE_LIVE;
use crate::store::Store;
use crate::sync::seqlock::{is_locked, read_begin, read_validate};
use crate::sync::wait::Backoff;

/// Where a scan stands: a part, a level and the next slot index of that
/// level's share. Plain data: it borrows nothing, so it can live in a C
/// handle. Used with `Store::cursor_next` on the store that made it (a
/// cursor used on another store stays in bounds: it stops at that store's
/// slots in use).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cursor {
    part: u32,
    nparts: u32,
    level: u32,
    next: u64,
    end: u64,
}

/// What one step of a cursor found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// A record was copied out: its key is `key_len` bytes at the start of
    /// the key buffer, its value `val_len` bytes at the start of the value
    /// buffer. The cursor has moved past it.
    Record {
        /// Bytes of the key.
        key_len: usize,
        /// Bytes of the value.
        val_len: usize,
    },
    /// A record was found but a buffer is too short: these are the lengths
    /// it needs. The cursor stays on its slot, so the next call with larger
    /// buffers returns it (or, if it changed meanwhile, what the slot holds
    /// then).
    TooSmall {
        /// Bytes of the key.
        key_len: usize,
        /// Bytes of the value.
        val_len: usize,
    },
    /// The scan is over.
    End,
}

/// What reading one slot found.
enum SlotRead {
    /// No live record (empty, tombstone, expired).
    Skip,
    Record(usize, usize),
    TooSmall(usize, usize),
}

impl Cursor {
    fn level_range(store: &Store, part: u32, nparts: u32, level: u32) -> (u64, u64) {
        let g = store.geometry();
        let (first, count) = (g.level_first(level), g.level_count(level));
        let at = |p: u32| first + (u128::from(count) * u128::from(p) / u128::from(nparts)) as u64;
        (at(part), at(part + 1))
    }
}

impl Store {
    /// A cursor over every slot of the store (see the module docs for what
    /// it returns while writers run). Cheap: no allocation, no I/O.
    pub fn cursor(&self) -> Cursor {
        let (next, end) = Cursor::level_range(self, 0, 1, 0);
        Cursor { part: 0, nparts: 1, level: 0, next, end }
    }

    /// A cursor over part `part` of `nparts` (numbered from 0): the parts
    /// together visit every slot once, each a contiguous share of every
    /// level, for scans by `nparts` threads or processes. Errors:
    /// `InvalidArg` when `nparts` is 0 or `part >= nparts`.
    pub fn cursor_part(&self, part: u32, nparts: u32) -> Result<Cursor> {
        if nparts == 0 || part >= nparts {
            return Err(Error::InvalidArg("cursor part must be below the number of parts (≥ 1)"));
        }
        let (next, end) = Cursor::level_range(self, part, nparts, 0);
        Ok(Cursor { part, nparts, level: 0, next, end })
    }

    /// Copies the cursor's next live record into `key` and `val` (see
    /// `Step`). Errors: `Corrupt` for a damaged slot (the cursor moves past
    /// it: call again to go on); `Busy` when a slot stayed locked past the
    /// wait limit (the cursor stays: call again to retry). Lock-free;
    /// thread- and process-safe (one cursor is used by one thread at a
    /// time; any number of cursors may scan one store at once).
    pub fn cursor_next(&self, c: &mut Cursor, key: &mut [u8], val: &mut [u8]) -> Result<Step> {
        loop {
            if c.next >= c.end {
                // The next level of the share, if the store has it now.
                if c.level + 1 >= self.levels_now() {
                    return Ok(Step::End);
                }
                c.level += 1;
                (c.next, c.end) = Cursor::level_range(self, c.part, c.nparts, c.level);
                continue;
            }
            let idx = c.next;
            if idx >= self.slots_in_use() {
                return Ok(Step::End);
            }
            // Only a byte naming a live key (0x80 | tag) can hold a record.
            if self.region().ctrl_byte(idx) & 0x80 == 0 {
                c.next += 1;
                continue;
            }
            match self.read_record(idx, key, val) {
                Ok(SlotRead::Skip) => c.next += 1,
                Ok(SlotRead::Record(kl, vl)) => {
                    c.next += 1;
                    return Ok(Step::Record { key_len: kl, val_len: vl });
                }
                Ok(SlotRead::TooSmall(kl, vl)) => {
                    return Ok(Step::TooSmall { key_len: kl, val_len: vl })
                }
                Err(e @ Error::Corrupt(_)) => {
                    c.next += 1;
                    return Err(e);
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// An iterator over every live record, as `(key, value)` copies (see
    /// the module docs for what it returns while writers run). An `Err`
    /// item is a damaged slot (the iterator goes on past it) or a slot
    /// locked past the wait limit (the next call retries it).
    pub fn iter(&self) -> Iter<'_> {
        Iter { store: self, cursor: self.cursor(), key: Vec::new(), val: Vec::new() }
    }

    /// `iter` over part `part` of `nparts` (see `cursor_part`). Errors:
    /// `InvalidArg` when `nparts` is 0 or `part >= nparts`.
    pub fn iter_part(&self, part: u32, nparts: u32) -> Result<Iter<'_>> {
        let cursor = self.cursor_part(part, nparts)?;
        Ok(Iter { store: self, cursor, key: Vec::new(), val: Vec::new() })
    }

    /// Reads slot `idx` whole under its seqlock into `key` and `val`.
    fn read_record(&self, idx: u64, key: &mut [u8], val: &mut [u8]) -> Result<SlotRead> {
        let r = self.region();
        let seq = r.seq(idx);
        let mut backoff = Backoff::new();
        loop {
            let w = read_begin(seq);
            if w == 0 {
                return Ok(SlotRead::Skip);
            }
            if is_locked(w) {
                self.wait_locked_slot(idx, w, &mut backoff)?;
                continue;
            }
            let slot = r.slot(idx);
            let m = slot.meta();
            let live = m.state == STATE_LIVE && !expired(slot.expiry(&m));
            let rec = if live { self.rec_at(idx) } else { None };
            let fits = rec.is_some_and(|rec| rec.kl <= key.len() && rec.vl <= val.len());
            if let (true, Some(rec)) = (fits, rec) {
                self.copy_key(&rec, key);
                self.copy_value(&rec, &mut val[..rec.vl]);
            }
            if !read_validate(seq, w) {
                continue;
            }
            return match rec {
                _ if !live => Ok(SlotRead::Skip),
                Some(rec) if rec.kl > 0 && fits => Ok(SlotRead::Record(rec.kl, rec.vl)),
                Some(rec) if rec.kl > 0 => Ok(SlotRead::TooSmall(rec.kl, rec.vl)),
                _ => Err(Error::Corrupt("slot lengths or heap reference out of range")),
            };
        }
    }
}

/// Every live record of a store, as `(key, value)` copies; made by
/// `Store::iter` and `Store::iter_part`. Its buffers grow to the largest
/// record seen. One thread at a time; many iterators may scan one store.
pub struct Iter<'a> {
    store: &'a Store,
    cursor: Cursor,
    key: Vec<u8>,
    val: Vec<u8>,
}

impl Iterator for Iter<'_> {
    type Item = Result<(Vec<u8>, Vec<u8>)>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            match self.store.cursor_next(&mut self.cursor, &mut self.key, &mut self.val) {
                Ok(Step::End) => return None,
                Ok(Step::Record { key_len, val_len }) => {
                    return Some(Ok((self.key[..key_len].to_vec(), self.val[..val_len].to_vec())))
                }
                Ok(Step::TooSmall { key_len, val_len }) => {
                    // Lengths come from a validated read and are within the
                    // documented maxima (key 65,535 B, value 1 GiB).
                    if self.key.len() < key_len {
                        self.key.resize(key_len, 0);
                    }
                    if self.val.len() < val_len {
                        self.val.resize(val_len, 0);
                    }
                }
                Err(e) => return Some(Err(e)),
            }
        }
    }
}
