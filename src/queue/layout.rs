//! The bytes of a queue set: header fields, record offsets, and the
//! validation of a header against itself and the object's length.
//!
//! Pure safe Rust over byte arrays: nothing here touches a mapping. Every
//! multi-byte field is little-endian (maph only builds on little-endian
//! targets). `docs/QUEUE.md` is the prose version of these constants.
//!
//! ```text
//! [0, 4096)                 header (fixed fields, then the admin lock word)
//! [4096, meta_off)          queue_count queue records of 256 bytes
//! [meta_off, rings_off)     elem_count element records of 8 bytes
//! [rings_off, elems_off)    queue_count rings of ring_cap entries of 8 bytes
//! [elems_off, total_len)    elem_count elements of elem_stride bytes
//! ```
//!
//! As in `format.rs` (after rustc's odht `sanity_check`), no byte past the
//! header is trusted until every layout field agrees with the values
//! recomputed from `elem_count`, `elem_size` and `queue_count`, and with the
//! length of the object.

use crate::error::Error;

/// Magic bytes at offset 0; written last by the creator (the "ready" word).
pub const MAGIC: [u8; 8] = *b"MAPHQSET";
/// The layout version this library reads and writes.
pub const VERSION: u32 = 1;
/// Size of the header in bytes (one 4 KiB page).
pub const HEADER_SIZE: usize = 4096;
/// Alignment of the sections (x86-64 page size).
pub const PAGE: u64 = 4096;
/// Cache-line size: element strides and records are multiples of it.
pub const LINE: u64 = 64;

/// Largest element count (indices are u32; the ring needs one spare entry).
pub const MAX_ELEMS: u32 = 1 << 30;
/// Largest element size in bytes.
pub const MAX_ELEM_SIZE: u32 = 1 << 30;
/// Largest queue count (queue ids fit the 31-bit state field with room).
pub const MAX_QUEUES: u32 = 1 << 16;
/// Longest queue name in bytes (a 32-byte field keeps a NUL).
pub const NAME_MAX: usize = 31;
/// Longest `/dev/shm` object name in bytes (NAME_MAX - 1 of Linux, minus
/// the leading `/` shm_open adds, rounded down).
pub const SHM_NAME_MAX: usize = 250;

// Fixed header fields (written before the magic, never changed after).
pub const OFF_MAGIC: usize = 0;
pub const OFF_VERSION: usize = 8;
pub const OFF_HEADER_SIZE: usize = 12;
pub const OFF_ELEM_COUNT: usize = 16;
pub const OFF_ELEM_SIZE: usize = 20;
pub const OFF_ELEM_STRIDE: usize = 24;
pub const OFF_QUEUE_COUNT: usize = 28;
pub const OFF_RING_CAP: usize = 32;
pub const OFF_FLAGS: usize = 36;
pub const OFF_QUEUES_OFF: usize = 40;
pub const OFF_META_OFF: usize = 48;
pub const OFF_RINGS_OFF: usize = 56;
pub const OFF_ELEMS_OFF: usize = 64;
pub const OFF_TOTAL_LEN: usize = 72;
pub const OFF_CREATOR_PID: usize = 80;
/// XXH3-64 (seed 0) of bytes `[0, OFF_CHECKSUM)`, magic included.
pub const OFF_CHECKSUM: usize = 88;
/// Bytes of the header that `decode` reads.
pub const FIXED_LEN: usize = 96;
/// The admin lock (owner pid, u32) on its own cache line: reclaim, names,
/// and takeovers of queue locks from dead owners serialize on it.
pub const OFF_ADMIN_OWNER: usize = 128;
/// Count of interrupted batches repaired after their process died (u64,
/// statistics only).
pub const OFF_REPAIRS: usize = 136;
/// Count of stale ring entries pulls dropped (u64, statistics only).
pub const OFF_STALE: usize = 144;

/// Bytes per queue record: four cache lines.
pub const QUEUE_REC_SIZE: u64 = 256;
/// Offset of the consumer (head) side line in a queue record.
pub const HEAD_SIDE: usize = 0;
/// Offset of the producer (tail) side line in a queue record.
pub const TAIL_SIDE: usize = 64;
// Fields of a side line, relative to the side.
/// Lock owner pid (u32), 0 when free.
pub const SIDE_OWNER: usize = 0;
/// Intent: number of entries being moved (u32), 0 when none.
pub const SIDE_INTENT_N: usize = 4;
/// The side's position (u64): head or tail, counted from 0, never wrapped.
pub const SIDE_POS: usize = 8;
/// Intent: the position the batch starts at (u64).
pub const SIDE_INTENT_POS: usize = 16;
/// Intent: pid of the process moving the batch (u32).
pub const SIDE_INTENT_PID: usize = 24;
/// Head side only: the last tail value a consumer read (u64).
pub const HEAD_TAIL_CACHE: usize = 32;
/// Tail side only: the last head value a producer read (u64).
pub const TAIL_HEAD_CACHE: usize = 32;
/// The wait line: futex word (u32). Bit 0 set: a process sleeps (or is
/// about to sleep) on it; the rest counts wake-ups.
pub const WAIT_SEQ: usize = 128;
/// The name line: version word (u32), odd while a name is being written.
pub const NAME_VER: usize = 192;
/// The name line: 32 name bytes, NUL-padded, as four u64 words.
pub const NAME_BYTES: usize = 200;

/// Bytes per element record.
pub const META_SIZE: u64 = 8;
/// Bytes per ring entry.
pub const ENTRY_SIZE: u64 = 8;

/// An element record (u64): low 32 bits the state, high 32 bits a
/// generation bumped by every push and every pull. State: bit 31 set means
/// "held by the process whose pid is in bits 0..31"; clear means "in the
/// queue whose id is the value".
pub const HELD_BIT: u32 = 1 << 31;

/// The record of an element in queue `q` with generation `gen`.
#[inline]
pub const fn queued(q: u32, gen: u32) -> u64 {
    ((gen as u64) << 32) | q as u64
}

/// The record of an element held by `pid` with generation `gen`.
#[inline]
pub const fn held(pid: u32, gen: u32) -> u64 {
    ((gen as u64) << 32) | (HELD_BIT | pid) as u64
}

/// The state half of a record.
#[inline]
pub const fn state_of(m: u64) -> u32 {
    m as u32
}

/// The generation half of a record (or of a ring entry).
#[inline]
pub const fn gen_of(m: u64) -> u32 {
    (m >> 32) as u32
}

/// A ring entry: element index (low 32 bits) and the generation its record
/// took when it was pushed (high 32 bits).
#[inline]
pub const fn entry(elem: u32, gen: u32) -> u64 {
    ((gen as u64) << 32) | elem as u64
}

/// The element index of a ring entry.
#[inline]
pub const fn entry_elem(ent: u64) -> u32 {
    ent as u32
}

/// The shape of a queue set: its parameters and every section offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueGeometry {
    elem_count: u32,
    elem_size: u32,
    elem_stride: u32,
    queue_count: u32,
    ring_cap: u32,
    queues_off: u64,
    meta_off: u64,
    rings_off: u64,
    elems_off: u64,
    total_len: u64,
}

impl QueueGeometry {
    /// Elements in the set.
    #[inline]
    pub fn elem_count(&self) -> u32 {
        self.elem_count
    }

    /// Bytes of an element as asked for.
    #[inline]
    pub fn elem_size(&self) -> u32 {
        self.elem_size
    }

    /// Bytes between elements (`elem_size` rounded up to 64).
    #[inline]
    pub fn elem_stride(&self) -> u32 {
        self.elem_stride
    }

    /// Queues in the set.
    #[inline]
    pub fn queue_count(&self) -> u32 {
        self.queue_count
    }

    /// Slots of each queue's ring (a power of two above `elem_count`).
    #[inline]
    pub fn ring_cap(&self) -> u32 {
        self.ring_cap
    }

    /// Byte offset of the queue headers.
    #[inline]
    pub fn queues_off(&self) -> u64 {
        self.queues_off
    }

    /// Byte offset of the element metadata words.
    #[inline]
    pub fn meta_off(&self) -> u64 {
        self.meta_off
    }

    /// Byte offset of the rings.
    #[inline]
    pub fn rings_off(&self) -> u64 {
        self.rings_off
    }

    /// Byte offset of element 0.
    #[inline]
    pub fn elems_off(&self) -> u64 {
        self.elems_off
    }

    /// Bytes of the whole object.
    #[inline]
    pub fn total_len(&self) -> u64 {
        self.total_len
    }
}

fn checksum(h: &[u8; FIXED_LEN]) -> u64 {
    crate::hash::hash64(&h[..OFF_CHECKSUM], 0)
}

fn round_up(x: u64, to: u64) -> u64 {
    x.div_ceil(to) * to
}

impl QueueGeometry {
    /// The layout of a new set; checks the parameters.
    ///
    /// Errors: `InvalidArg` for zero or oversized counts and sizes,
    /// `TooLarge` when the set would not fit the address space.
    pub fn new(elem_count: u32, elem_size: u32, queue_count: u32) -> Result<QueueGeometry, Error> {
        if elem_count == 0 {
            return Err(Error::InvalidArg("elem_count must be at least 1"));
        }
        if elem_count > MAX_ELEMS {
            return Err(Error::InvalidArg("elem_count is above 2^30"));
        }
        if elem_size == 0 {
            return Err(Error::InvalidArg("elem_size must be at least 1"));
        }
        if elem_size > MAX_ELEM_SIZE {
            return Err(Error::InvalidArg("elem_size is above 2^30"));
        }
        if queue_count == 0 {
            return Err(Error::InvalidArg("queue_count must be at least 1"));
        }
        if queue_count > MAX_QUEUES {
            return Err(Error::InvalidArg("queue_count is above 65536"));
        }
        let elem_stride = round_up(elem_size as u64, LINE);
        // One spare entry: a push writes at most one entry past those of the
        // elements it moves before it detects a conflict (see `mod.rs`).
        let ring_cap = (elem_count as u64 + 1).next_power_of_two().max(8);
        let queues_off = HEADER_SIZE as u64;
        let meta_off = round_up(queues_off + queue_count as u64 * QUEUE_REC_SIZE, PAGE);
        let rings_off = round_up(meta_off + elem_count as u64 * META_SIZE, PAGE);
        let elems_off = round_up(rings_off + queue_count as u64 * ring_cap * ENTRY_SIZE, PAGE);
        // No overflow: every term is below 2^62.
        let total_len = elems_off + elem_count as u64 * elem_stride;
        if total_len > isize::MAX as u64 || usize::try_from(total_len).is_err() {
            return Err(Error::TooLarge("queue set larger than the address space"));
        }
        Ok(QueueGeometry {
            elem_count,
            elem_size,
            elem_stride: elem_stride as u32,
            queue_count,
            ring_cap: ring_cap as u32,
            queues_off,
            meta_off,
            rings_off,
            elems_off,
            total_len,
        })
    }

    /// The fixed header fields of this geometry (bytes `[0, FIXED_LEN)`),
    /// magic included; the creator writes the magic last.
    pub fn encode(&self, creator_pid: u32) -> [u8; FIXED_LEN] {
        let mut h = [0u8; FIXED_LEN];
        let mut put = |off: usize, b: &[u8]| h[off..off + b.len()].copy_from_slice(b);
        put(OFF_MAGIC, &MAGIC);
        put(OFF_VERSION, &VERSION.to_le_bytes());
        put(OFF_HEADER_SIZE, &(HEADER_SIZE as u32).to_le_bytes());
        put(OFF_ELEM_COUNT, &self.elem_count.to_le_bytes());
        put(OFF_ELEM_SIZE, &self.elem_size.to_le_bytes());
        put(OFF_ELEM_STRIDE, &self.elem_stride.to_le_bytes());
        put(OFF_QUEUE_COUNT, &self.queue_count.to_le_bytes());
        put(OFF_RING_CAP, &self.ring_cap.to_le_bytes());
        put(OFF_FLAGS, &0u32.to_le_bytes());
        put(OFF_QUEUES_OFF, &self.queues_off.to_le_bytes());
        put(OFF_META_OFF, &self.meta_off.to_le_bytes());
        put(OFF_RINGS_OFF, &self.rings_off.to_le_bytes());
        put(OFF_ELEMS_OFF, &self.elems_off.to_le_bytes());
        put(OFF_TOTAL_LEN, &self.total_len.to_le_bytes());
        put(OFF_CREATOR_PID, &creator_pid.to_le_bytes());
        let sum = checksum(&h);
        h[OFF_CHECKSUM..OFF_CHECKSUM + 8].copy_from_slice(&sum.to_le_bytes());
        h
    }

    /// Checks a header read from an object of `object_len` bytes and returns
    /// its geometry. The magic must already be present (the caller waits
    /// for it).
    ///
    /// Errors: `Corrupt` (wrong magic, a field out of range, offsets that
    /// disagree with the parameters, an object shorter than the layout),
    /// `Version` (another layout version).
    pub fn decode(h: &[u8; FIXED_LEN], object_len: u64) -> Result<QueueGeometry, Error> {
        let u32_at = |off: usize| u32::from_le_bytes(h[off..off + 4].try_into().unwrap());
        let u64_at = |off: usize| u64::from_le_bytes(h[off..off + 8].try_into().unwrap());
        if h[OFF_MAGIC..OFF_MAGIC + 8] != MAGIC {
            return Err(Error::Corrupt("not a maph queue set (bad magic)"));
        }
        if u64_at(OFF_CHECKSUM) != checksum(h) {
            return Err(Error::Corrupt("queue set header checksum mismatch"));
        }
        if u32_at(OFF_VERSION) != VERSION {
            return Err(Error::Version("queue set layout version is not 1"));
        }
        if u32_at(OFF_HEADER_SIZE) as usize != HEADER_SIZE {
            return Err(Error::Corrupt("queue set header size is not 4096"));
        }
        if u32_at(OFF_FLAGS) != 0 {
            return Err(Error::Version("queue set has unknown flags"));
        }
        let g = QueueGeometry::new(
            u32_at(OFF_ELEM_COUNT),
            u32_at(OFF_ELEM_SIZE),
            u32_at(OFF_QUEUE_COUNT),
        )
        .map_err(|_| Error::Corrupt("queue set parameters out of range"))?;
        let stored = QueueGeometry {
            elem_stride: u32_at(OFF_ELEM_STRIDE),
            ring_cap: u32_at(OFF_RING_CAP),
            queues_off: u64_at(OFF_QUEUES_OFF),
            meta_off: u64_at(OFF_META_OFF),
            rings_off: u64_at(OFF_RINGS_OFF),
            elems_off: u64_at(OFF_ELEMS_OFF),
            total_len: u64_at(OFF_TOTAL_LEN),
            ..g
        };
        if stored != g {
            return Err(Error::Corrupt("queue set offsets disagree with its parameters"));
        }
        if object_len < g.total_len {
            return Err(Error::Corrupt("queue set object is truncated"));
        }
        Ok(g)
    }
}

/// Checks a `/dev/shm` object name: non-empty, at most `SHM_NAME_MAX`
/// bytes, no `/` and no NUL, not `.` or `..`.
pub fn check_shm_name(name: &[u8]) -> Result<(), Error> {
    crate::sys::shm::check_name(name, SHM_NAME_MAX)
}

/// Checks a queue name: at most `NAME_MAX` bytes, no NUL (empty clears).
pub fn check_queue_name(name: &[u8]) -> Result<(), Error> {
    if name.len() > NAME_MAX {
        return Err(Error::InvalidArg("queue name is longer than 31 bytes"));
    }
    if name.contains(&0) {
        return Err(Error::InvalidArg("queue name contains NUL"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn geometry_round_trips_through_the_header() {
        let g = QueueGeometry::new(100_000, 4096, 3).unwrap();
        assert_eq!(g.elem_stride, 4096);
        assert_eq!(g.ring_cap, 131_072);
        assert_eq!(g.elems_off % PAGE, 0);
        let h = g.encode(42);
        assert_eq!(QueueGeometry::decode(&h, g.total_len).unwrap(), g);
        assert!(matches!(QueueGeometry::decode(&h, g.total_len - 1), Err(Error::Corrupt(_))));
    }

    #[test]
    fn every_damaged_field_is_rejected() {
        let g = QueueGeometry::new(10, 100, 2).unwrap();
        let h = g.encode(1);
        for off in 0..FIXED_LEN {
            for bit in [0u8, 3, 7] {
                let mut d = h;
                d[off] ^= 1 << bit;
                assert!(
                    QueueGeometry::decode(&d, u64::MAX).is_err(),
                    "flipping bit {bit} of byte {off} went unnoticed"
                );
            }
        }
    }

    #[test]
    fn bad_parameters_are_invalid_arguments() {
        for (n, s, q) in [(0, 64, 1), (1, 0, 1), (1, 64, 0), (MAX_ELEMS + 1, 64, 1)] {
            assert!(matches!(QueueGeometry::new(n, s, q), Err(Error::InvalidArg(_))));
        }
        assert!(QueueGeometry::new(1, 1, 1).is_ok());
    }

    #[test]
    fn records_encode_both_states() {
        let m = held(1234, 7);
        assert_eq!(state_of(m), HELD_BIT | 1234);
        assert_eq!(gen_of(m), 7);
        assert_eq!(state_of(queued(5, 9)), 5);
        assert_eq!(entry_elem(entry(77, 3)), 77);
        assert_eq!(gen_of(entry(77, 3)), 3);
    }

    #[test]
    fn shm_names_are_checked() {
        assert!(check_shm_name(b"ok-name").is_ok());
        for bad in [&b""[..], b"a/b", b".", b"..", &[b'x'; 251][..]] {
            assert!(check_shm_name(bad).is_err());
        }
        assert!(check_queue_name(&[b'x'; 31]).is_ok());
        assert!(check_queue_name(&[b'x'; 32]).is_err());
    }
}
