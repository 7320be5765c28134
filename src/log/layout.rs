//! The bytes of a log buffer: header fields, slot offsets, the slot state
//! word, and the validation of a header against itself and the object's
//! length.
//!
//! Pure safe Rust over byte arrays and integers: nothing here touches a
//! mapping. Every multi-byte field is little-endian. `docs/LOG.md` is the
//! prose version.
//!
//! ```text
//! [0, 4096)              header: fixed fields (magic written last), then
//!                        hot words, each group on its own cache line
//! [4096, total_len)      slot_count slots of SLOT_SIZE bytes
//! ```
//!
//! As in `format.rs` and `queue/layout.rs` (after rustc's odht
//! `sanity_check`), no byte past the header is trusted until every field
//! agrees with the values recomputed from `slot_count`, and with the length
//! of the object.

use crate::error::Error;

/// Magic bytes at offset 0; written last by the creator (the "ready" word).
pub const MAGIC: [u8; 8] = *b"MAPHLOG1";
/// The layout version this library reads and writes.
pub const VERSION: u32 = 1;
/// Size of the header in bytes (one 4 KiB page).
pub const HEADER_SIZE: u64 = 4096;
/// Bytes per slot: one record (header and line) per slot.
pub const SLOT_SIZE: u64 = 1024;
/// Smallest and largest slot counts (powers of two).
pub const MIN_SLOTS: u64 = 64;
pub const MAX_SLOTS: u64 = 1 << 24;

// Fixed fields, written before the magic and never changed after.
pub const OFF_MAGIC: usize = 0;
pub const OFF_VERSION: usize = 8;
pub const OFF_SLOT_SIZE: usize = 12;
pub const OFF_SLOT_COUNT: usize = 16;
pub const OFF_SLOTS_OFF: usize = 24;
pub const OFF_TOTAL_LEN: usize = 32;
pub const OFF_CREATOR_PID: usize = 40;
pub const OFF_FLAGS: usize = 44;
/// XXH3-64 (seed 0) of bytes `[0, OFF_CHECKSUM)`, magic included.
pub const OFF_CHECKSUM: usize = 48;
/// Bytes of the header that `decode` reads.
pub const FIXED_LEN: usize = 56;

/// The writers' line: the next position to claim (u64).
pub const OFF_TAIL: usize = 128;
/// Writers' drop counter (u64; touched only while the buffer is full) and
/// the futex word writers waiting for room sleep on (u32).
pub const OFF_DROPPED: usize = 192;
pub const OFF_SPACE_WAIT: usize = 200;
/// The drainer's line: the next position to drain (u64), the drain lock
/// (owner pid, u32), counters only the drainer changes (u64 each).
pub const OFF_HEAD: usize = 256;
pub const OFF_DRAIN_OWNER: usize = 264;
/// Records skipped because their writer died between claiming the slot and
/// committing the record.
pub const OFF_TORN: usize = 272;
/// Records skipped because their writer (alive) did not commit within the
/// stall limit.
pub const OFF_STALLED: usize = 280;
/// Committed records that failed their checksum (damaged) and were skipped.
pub const OFF_CORRUPT: usize = 288;
/// Drops already announced in the stream (the drainer's copy of
/// `OFF_DROPPED` at its last notice).
pub const OFF_DROPS_REPORTED: usize = 296;
/// Records handed to a drain callback or written by a drain thread.
pub const OFF_DRAINED: usize = 304;

/// The slot state word: `lap` (40 bits), kind (2 bits), pid (22 bits).
///
/// Position `p` lives in slot `p % slot_count` with lap `p / slot_count`.
/// A zero-filled buffer has every slot `free(lap 0)`: ready for positions
/// 0..slot_count without any initialisation.
pub const LAP_BITS: u32 = 40;
pub const LAP_MASK: u64 = (1 << LAP_BITS) - 1;
/// The largest pid the state word holds (Linux's PID_MAX_LIMIT is 2^22).
pub const PID_MAX: u32 = (1 << 22) - 1;

/// What a slot holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Ready to be claimed for the position of this lap.
    Free = 0,
    /// Claimed by a writer (pid), not yet committed.
    Claimed = 1,
    /// A complete record, waiting for the drainer.
    Committed = 2,
    /// A claim the drainer gave up on (its writer died, or stalled): no
    /// record; the writer's commit fails.
    Skipped = 3,
}

/// Encodes a state word.
#[inline]
pub fn state(lap: u64, kind: Kind, pid: u32) -> u64 {
    (lap & LAP_MASK) | ((kind as u64) << LAP_BITS) | ((pid as u64 & PID_MAX as u64) << 42)
}

/// The lap of a state word.
#[inline]
pub fn lap_of(s: u64) -> u64 {
    s & LAP_MASK
}

/// The kind of a state word.
#[inline]
pub fn kind_of(s: u64) -> Kind {
    match (s >> LAP_BITS) & 3 {
        0 => Kind::Free,
        1 => Kind::Claimed,
        2 => Kind::Committed,
        _ => Kind::Skipped,
    }
}

/// The pid of a state word (0 for a free slot).
#[inline]
pub fn pid_of(s: u64) -> u32 {
    (s >> 42) as u32
}

/// `a - b` on laps modulo 2^40, as a signed distance.
#[inline]
pub fn lap_diff(a: u64, b: u64) -> i64 {
    let d = a.wrapping_sub(b) & LAP_MASK;
    if d >= 1 << (LAP_BITS - 1) {
        d as i64 - (1i64 << LAP_BITS)
    } else {
        d as i64
    }
}

/// The shape of a log buffer, computed from its slot count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogGeometry {
    /// Number of slots (a power of two).
    pub slot_count: u64,
    /// log2(slot_count).
    pub shift: u32,
    /// Offset of slot 0.
    pub slots_off: u64,
    /// Bytes of the whole object.
    pub total_len: u64,
}

impl LogGeometry {
    /// The geometry for a buffer of about `capacity_bytes`: the largest
    /// power-of-two slot count whose slots fit, at least `MIN_SLOTS`.
    /// Errors: `InvalidArg` (fewer than `MIN_SLOTS` slots' worth of
    /// bytes), `TooLarge` (more than `MAX_SLOTS`).
    pub fn for_capacity(capacity_bytes: u64) -> Result<LogGeometry, Error> {
        let slots = capacity_bytes / SLOT_SIZE;
        if slots < MIN_SLOTS {
            return Err(Error::InvalidArg("log capacity below 64 slots of 1024 bytes (64 KiB)"));
        }
        if slots > MAX_SLOTS {
            return Err(Error::TooLarge("log capacity above 2^24 slots (16 GiB)"));
        }
        let slot_count = 1u64 << (63 - slots.leading_zeros());
        Ok(Self::from_slots(slot_count))
    }

    fn from_slots(slot_count: u64) -> LogGeometry {
        LogGeometry {
            slot_count,
            shift: slot_count.trailing_zeros(),
            slots_off: HEADER_SIZE,
            total_len: HEADER_SIZE + slot_count * SLOT_SIZE,
        }
    }

    /// The fixed header bytes (magic included) for this geometry.
    pub fn encode(&self, creator_pid: u32) -> [u8; FIXED_LEN] {
        let mut h = [0u8; FIXED_LEN];
        h[OFF_MAGIC..OFF_MAGIC + 8].copy_from_slice(&MAGIC);
        h[OFF_VERSION..OFF_VERSION + 4].copy_from_slice(&VERSION.to_le_bytes());
        h[OFF_SLOT_SIZE..OFF_SLOT_SIZE + 4].copy_from_slice(&(SLOT_SIZE as u32).to_le_bytes());
        h[OFF_SLOT_COUNT..OFF_SLOT_COUNT + 8].copy_from_slice(&self.slot_count.to_le_bytes());
        h[OFF_SLOTS_OFF..OFF_SLOTS_OFF + 8].copy_from_slice(&self.slots_off.to_le_bytes());
        h[OFF_TOTAL_LEN..OFF_TOTAL_LEN + 8].copy_from_slice(&self.total_len.to_le_bytes());
        h[OFF_CREATOR_PID..OFF_CREATOR_PID + 4].copy_from_slice(&creator_pid.to_le_bytes());
        let sum = xxhash_rust::xxh3::xxh3_64(&h[..OFF_CHECKSUM]);
        h[OFF_CHECKSUM..OFF_CHECKSUM + 8].copy_from_slice(&sum.to_le_bytes());
        h
    }

    /// Validates the fixed header bytes against themselves and the length
    /// of the object (`object_len`). Errors: `Corrupt` (not a log buffer,
    /// damaged, or truncated), `Version`.
    pub fn decode(h: &[u8; FIXED_LEN], object_len: u64) -> Result<LogGeometry, Error> {
        let u32_at = |o: usize| u32::from_le_bytes(h[o..o + 4].try_into().unwrap());
        let u64_at = |o: usize| u64::from_le_bytes(h[o..o + 8].try_into().unwrap());
        if h[..8] != MAGIC {
            return Err(Error::Corrupt("not a maph log buffer (bad magic)"));
        }
        if u64_at(OFF_CHECKSUM) != xxhash_rust::xxh3::xxh3_64(&h[..OFF_CHECKSUM]) {
            return Err(Error::Corrupt("log header checksum mismatch"));
        }
        if u32_at(OFF_VERSION) != VERSION {
            return Err(Error::Version("log buffer of another layout version"));
        }
        if u32_at(OFF_FLAGS) != 0 {
            return Err(Error::Version("log buffer with unknown flags"));
        }
        if u32_at(OFF_SLOT_SIZE) as u64 != SLOT_SIZE {
            return Err(Error::Corrupt("log slot size is not 1024"));
        }
        let n = u64_at(OFF_SLOT_COUNT);
        if !n.is_power_of_two() || !(MIN_SLOTS..=MAX_SLOTS).contains(&n) {
            return Err(Error::Corrupt("log slot count out of range"));
        }
        let g = Self::from_slots(n);
        if u64_at(OFF_SLOTS_OFF) != g.slots_off || u64_at(OFF_TOTAL_LEN) != g.total_len {
            return Err(Error::Corrupt("log header offsets disagree with the slot count"));
        }
        if object_len < g.total_len {
            return Err(Error::Corrupt("log buffer is truncated"));
        }
        Ok(g)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trips_and_every_damaged_byte_is_rejected() {
        let g = LogGeometry::for_capacity(1 << 20).unwrap();
        assert_eq!(g.slot_count, 1024);
        let h = g.encode(42);
        assert_eq!(LogGeometry::decode(&h, g.total_len), Ok(g));
        for i in 0..FIXED_LEN {
            let mut d = h;
            d[i] ^= 0x10;
            assert!(LogGeometry::decode(&d, g.total_len).is_err(), "byte {i}");
        }
        assert!(LogGeometry::decode(&h, g.total_len - 1).is_err());
    }

    #[test]
    fn capacity_rounds_down_to_a_power_of_two_and_limits_are_enforced() {
        assert_eq!(LogGeometry::for_capacity(3000 * 1024).unwrap().slot_count, 2048);
        assert!(matches!(LogGeometry::for_capacity(63 * 1024), Err(Error::InvalidArg(_))));
        assert!(matches!(LogGeometry::for_capacity(u64::MAX), Err(Error::TooLarge(_))));
    }

    #[test]
    fn state_word_fields_round_trip_and_laps_compare_modulo() {
        let s = state(LAP_MASK, Kind::Committed, PID_MAX);
        assert_eq!((lap_of(s), kind_of(s), pid_of(s)), (LAP_MASK, Kind::Committed, PID_MAX));
        assert_eq!(state(0, Kind::Free, 0), 0, "a zero-filled slot is free for lap 0");
        assert_eq!(lap_diff(0, LAP_MASK), 1);
        assert_eq!(lap_diff(LAP_MASK, 0), -1);
        assert_eq!(lap_diff(7, 7), 0);
    }
}
