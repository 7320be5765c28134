//! Control bytes: one byte per slot, in their own section of the store,
//! that let a lookup skip every slot but the one holding its key.
//!
//! The idea is SwissTable's (Abseil's `raw_hash_set`, and its Rust port
//! hashbrown): a compact array of per-slot bytes, read a word at a time,
//! names the candidates of a probe sequence and where it ends, so a miss
//! reads no slot and a hit reads one. The encoding here is maph's own:
//!
//! | byte | meaning | a lookup |
//! |---|---|---|
//! | `0x00` `EMPTY` | slot never written | stops: the key is absent |
//! | `0x01` `TOMB` | no live key (a tombstone) | goes on |
//! | `0x80 | t` | a live key whose 7-bit tag is `t` | reads the slot if `t` is its tag, else goes on |
//!
//! The 7-bit tag is bits 0..7 of the key's 32-bit seqlock tag (the low half
//! of its hash); the home slot comes from the high half (`fastrange`), so
//! keys sharing a home rarely share a tag: a lookup reads a slot that holds
//! another key with probability 1/128 per live slot it passes.
//!
//! Words: the bytes are read and written as little-endian `AtomicU64`s
//! (byte `i % 8` of word `i / 8` is slot `i`'s), never as single bytes, so
//! every access has one size. Matching a word is SWAR arithmetic (exact,
//! no false positives: see `zero_bytes`).
//!
//! Who writes: only the holder of slot `i`'s seqlock writes byte `i`, after
//! the slot's bytes and before the unlock that publishes them (`commit`,
//! and `repair_entry` when it completes a dead writer's write); the byte is
//! replaced by a compare-exchange on its word, so writers of neighbouring
//! slots never undo each other.
//!
//! Why a lookup may trust a byte without validating it: a byte is a hint
//! that can only be stale, never invented. A byte that names the key sends
//! the lookup to the slot, where the seqlock and the full key decide. A
//! byte that does not name the key (another tag, `TOMB`, `EMPTY`) can be
//! stale only while the write that changes it is in progress (the byte is
//! written before that write's unlock): the lookup is then ordered before
//! that write, which is a correct answer for an operation concurrent with
//! it. `EMPTY` ends a probe sequence: a slot leaves `EMPTY` only under its
//! first writer's lock, and a writer scanning for a free slot waits for a
//! locked slot (`scan_for_write`) rather than passing it, so a key is never
//! placed past a slot whose byte still says `EMPTY` once that write is
//! done. The loom model (`tests/loom.rs`) checks the ordering.

use std::sync::atomic::Ordering;

use crate::store::format::{STATE_EMPTY, STATE_LIVE};
use crate::store::raw::Region;

/// Control byte of a slot never written.
pub const EMPTY: u8 = 0x00;
/// Control byte of a slot without a live key (a tombstone).
pub const TOMB: u8 = 0x01;

const LO: u64 = 0x0101_0101_0101_0101;
const HI: u64 = 0x8080_8080_8080_8080;
const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;

/// The control byte of a live key with 32-bit seqlock tag `tag`.
#[inline]
pub fn full(tag: u32) -> u8 {
    0x80 | (tag as u8 & 0x7f)
}

/// The control byte for a slot in `state` (`format::STATE_*`) published
/// with `tag`.
#[inline]
pub fn for_state(state: u32, tag: u32) -> u8 {
    match state {
        STATE_LIVE => full(tag),
        STATE_EMPTY => EMPTY,
        _ => TOMB,
    }
}

/// Bit 7 of each byte of the result is set exactly where `x` has a zero
/// byte; the other bits are 0. Exact: `(b & 0x7f) + 0x7f` never carries
/// out of its byte, so no byte's result depends on its neighbours.
#[inline]
fn zero_bytes(x: u64) -> u64 {
    !(((x & LOW7).wrapping_add(LOW7)) | x) & HI
}

/// Bytes of control word `g` equal to `b` (bit 7 of each such byte set).
#[inline]
pub fn match_byte(g: u64, b: u8) -> u64 {
    zero_bytes(g ^ (LO * u64::from(b)))
}

/// Bytes of control word `g` that end a probe sequence: `EMPTY`, and any
/// byte a damaged file may hold that is neither `TOMB` nor a live tag
/// (high bit and low bit clear), so a damaged byte stops a lookup early
/// instead of sending it somewhere.
#[inline]
pub fn match_empty(g: u64) -> u64 {
    !g & !(g << 7) & HI
}

/// Mask of the bytes `from..to` of a word (`from <= to`, `1 <= to <= 8`),
/// as bit 7 of each byte.
#[inline]
pub fn lanes(from: u64, to: u64) -> u64 {
    // Shifts by 0..=56 only (`to == 8` shifts by 0: every byte).
    let below_to = u64::MAX >> ((8 - to) * 8);
    (u64::MAX << (from * 8)) & below_to & HI
}

/// Byte index (0..8) of the lowest byte flagged in a match mask.
#[inline]
pub fn first(mask: u64) -> u64 {
    u64::from(mask.trailing_zeros() / 8)
}

impl Region {
    /// The control byte of slot `idx`.
    #[inline]
    pub fn ctrl_byte(&self, idx: u64) -> u8 {
        (self.ctrl_word(idx / 8).load(Ordering::Acquire) >> ((idx % 8) * 8)) as u8
    }

    /// Sets the control byte of slot `idx` to `b`, leaving the other bytes
    /// of its word as they are. The caller holds slot `idx`'s seqlock (or
    /// is rebuilding the bytes of a store no one else writes); the store
    /// that follows the caller's unlock publishes it.
    pub fn set_ctrl(&self, idx: u64, b: u8) {
        let word = self.ctrl_word(idx / 8);
        let shift = (idx % 8) * 8;
        let mut cur = word.load(Ordering::Relaxed);
        loop {
            let new = (cur & !(0xffu64 << shift)) | (u64::from(b) << shift);
            if new == cur {
                return;
            }
            match word.compare_exchange_weak(cur, new, Ordering::Release, Ordering::Relaxed) {
                Ok(_) => return,
                Err(now) => cur = now,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn word(bytes: [u8; 8]) -> u64 {
        u64::from_le_bytes(bytes)
    }

    /// SWAR tricks that flag a neighbour of a matching byte (hashbrown's
    /// generic `match_byte` can) would send lookups to wrong slots, and a
    /// false `EMPTY` would lose a key: every byte value in every lane, next
    /// to every neighbour pattern, must be flagged exactly.
    #[test]
    fn matching_is_exact_for_every_byte_value_and_neighbour() {
        for v in 0..=255u8 {
            for n in [0x00u8, 0x01, 0x7f, 0x80, 0x81, 0xfe, 0xff, v, v.wrapping_add(1)] {
                for lane in 0..8 {
                    let mut b = [n; 8];
                    b[lane] = v;
                    let g = word(b);
                    for probe in [v, n, 0x80 | (v & 0x7f)] {
                        let m = match_byte(g, probe);
                        for (i, &x) in b.iter().enumerate() {
                            assert_eq!(m >> (i * 8 + 7) & 1 == 1, x == probe, "{b:?} {probe}");
                        }
                    }
                    let e = match_empty(g);
                    for (i, &x) in b.iter().enumerate() {
                        let ends = x & 0x81 == 0;
                        assert_eq!(e >> (i * 8 + 7) & 1 == 1, ends, "{b:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn empty_never_matches_a_live_or_tombstone_byte() {
        assert_eq!(match_empty(word([TOMB; 8])), 0);
        for t in 0..=u32::from(u8::MAX) {
            assert_eq!(match_empty(word([full(t); 8])), 0);
        }
        assert_eq!(match_empty(word([EMPTY; 8])), HI);
    }

    #[test]
    fn lane_masks_cover_exactly_their_bytes() {
        for from in 0..8 {
            for to in from.max(1)..=8 {
                let m = lanes(from, to);
                for i in 0..8 {
                    assert_eq!(m >> (i * 8 + 7) & 1 == 1, (from..to).contains(&i));
                }
                assert_eq!(m & !HI, 0);
            }
        }
        assert_eq!(first(lanes(3, 8)), 3);
    }

    #[test]
    fn state_bytes_are_distinct() {
        assert_eq!(for_state(STATE_EMPTY, 5), EMPTY);
        assert_eq!(for_state(STATE_LIVE, 0x1234_5685), 0x85);
        assert_eq!(for_state(crate::store::format::STATE_TOMBSTONE, 7), TOMB);
    }
}
