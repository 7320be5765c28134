//! The on-disk format: header fields, their offsets, and the validation of a
//! header against itself and the file's length.
//!
//! This module is pure safe Rust over byte arrays: it never touches a mapping.
//! `docs/FORMAT.md` is the prose version of the constants below; keep them in
//! step. Every multi-byte field is little-endian (maph only builds on
//! little-endian targets, see `lib.rs`).
//!
//! Layout of a store:
//!
//! ```text
//! [0, 4096)                         header (fixed fields, checksum, shared counters)
//! [4096, ctrl_offset)               lock table: lock_count entries
//! [ctrl_offset, slots_offset)       control bytes: one per slot (ctrl.rs)
//! [slots_offset, extra_offset)      slot_count slots of slot_size bytes, in
//!                                   levels (growth.rs): one for a store
//!                                   of fixed size; up to max_levels of
//!                                   doubling size for a growing store
//! [extra_offset, heap_offset)       extra section: two MPHF banks
//! [heap_offset, file_len)           value heap: records too large for a slot (heap.rs)
//! ```
//!
//! The validation follows odht's `sanity_check`: no byte past the header is
//! trusted until every layout field agrees with every other and with the
//! length of the file.

use crate::error::Error;

/// Magic bytes at offset 0 of every store.
pub const MAGIC: [u8; 8] = *b"MAPHSTOR";
/// The format version this library reads and writes.
pub const FORMAT_VERSION: u32 = 5;
/// Size of the header in bytes (one 4 KiB page).
pub const HEADER_SIZE: usize = 4096;
/// Hash function id 1: XXH3-64 with the store's 64-bit seed
/// (`XXH3_64bits_withSeed` of the reference implementation, xxHash 0.8).
pub const HASH_XXH3_64: u32 = 1;

/// Smallest allowed slot size in bytes.
pub const MIN_SLOT_SIZE: u32 = 64;
/// Largest allowed slot size in bytes.
pub const MAX_SLOT_SIZE: u32 = 65536;
/// Default slot size in bytes: 112 bytes of key and value inline (see
/// `Options::slot_size`).
pub const DEFAULT_SLOT_SIZE: u32 = 128;
/// Largest slot count: slot indices and UIDs carry a 32-bit slot index.
pub const MAX_SLOTS: u64 = u32::MAX as u64;
/// Default maximum probe distance (capped at the slot count).
pub const DEFAULT_MAX_PROBES: u32 = 1024;
/// Most entries a default lock table gets.
pub const DEFAULT_LOCK_COUNT: u32 = 4096;
/// Largest lock table.
pub const MAX_LOCK_COUNT: u32 = 1 << 20;
/// Bytes of a lock-table entry before its redo image. An entry is
/// `LOCK_META_SIZE + slot_size` bytes: the metadata below, then the image of
/// the slot its owner is writing (slot bytes from offset 8 on).
pub const LOCK_META_SIZE: usize = 128;
/// Lock entry: owner pid (u32), 0 when free.
pub const LOCK_OFF_OWNER: usize = 0;
/// Lock entry: 1 while the redo image and intent describe a write in
/// progress (u32).
pub const LOCK_OFF_REDO: usize = 4;
/// Lock entry: slot index (high 32 bits) and the slot's even version before
/// the write (low 32 bits) (u64).
pub const LOCK_OFF_INTENT: usize = 8;
/// Lock entry: the high half of the word to publish with the write (u32):
/// the slot's UID generation and the key's tag byte (`word_high`).
pub const LOCK_OFF_HIGH: usize = 16;
/// Lock entry: live keys whose lock is this entry (u64, wrapping).
pub const LOCK_OFF_LIVE: usize = 24;
/// Lock entry: tombstones made minus tombstones reused through this entry
/// (u64, wrapping; the sum over entries is the store's tombstone count).
pub const LOCK_OFF_TOMB: usize = 32;
/// Lock entry: `live` once the write in progress is applied (u64).
pub const LOCK_OFF_NEW_LIVE: usize = 40;
/// Lock entry: `tomb` once the write in progress is applied (u64).
pub const LOCK_OFF_NEW_TOMB: usize = 48;
/// Lock entry: relative offset of the heap extent its owner allocated for
/// the write in progress, 0 when none (u64). The extent is the entry's
/// until the slot that references it is published.
pub const LOCK_OFF_HEAP_NEW: usize = 56;
/// Lock entry: relative offset of the heap extent the write in progress
/// replaces, to be freed once the write is published, 0 when none (u64).
pub const LOCK_OFF_HEAP_OLD: usize = 64;

/// Longest key, in bytes.
pub const MAX_KEY_LEN: usize = 65535;
/// Longest value, in bytes (1 GiB). A value must also fit the store's heap
/// (or its slot).
pub const MAX_VALUE_LEN: usize = 1 << 30;

/// Bytes of one lock-table entry for slots of `slot_size` bytes.
pub fn lock_stride(slot_size: u32) -> u64 {
    LOCK_META_SIZE as u64 + u64::from(slot_size)
}

/// The default lock-table size: a power of two, at most 4096 entries, at
/// most about 4 MiB of table, at least 16 entries, and no more than the
/// slot count rounded up to a power of two.
pub fn default_lock_count(slot_count: u64, slot_size: u32) -> u32 {
    let by_bytes = ((4u64 << 20) / lock_stride(slot_size)).max(16);
    let cap =
        by_bytes.min(u64::from(DEFAULT_LOCK_COUNT)).min(slot_count.max(16).next_power_of_two());
    1u32 << (63 - cap.leading_zeros())
}

/// Bytes at the start of every slot before its data area: the seqlock word
/// (u64) and the meta word (u64: key length u16, state u8, flags u8, value
/// length u32; see `Meta`).
pub const SLOT_HEADER_SIZE: usize = 16;

// Fixed header fields (covered by the checksum).
/// Offset in the header of `magic` (see docs/FORMAT.md).
pub const OFF_MAGIC: usize = 0;
/// Offset in the header of `version` (see docs/FORMAT.md).
pub const OFF_VERSION: usize = 8;
/// Offset in the header of `header_size` (see docs/FORMAT.md).
pub const OFF_HEADER_SIZE: usize = 12;
/// Offset in the header of `slot_size` (see docs/FORMAT.md).
pub const OFF_SLOT_SIZE: usize = 16;
/// Offset in the header of `max_probes` (see docs/FORMAT.md).
pub const OFF_MAX_PROBES: usize = 20;
/// Offset in the header of `slot_count` (see docs/FORMAT.md).
pub const OFF_SLOT_COUNT: usize = 24;
/// Offset in the header of `hash_id` (see docs/FORMAT.md).
pub const OFF_HASH_ID: usize = 32;
/// Offset in the header of `lock_count` (see docs/FORMAT.md).
pub const OFF_LOCK_COUNT: usize = 36;
/// Offset in the header of `seed` (see docs/FORMAT.md).
pub const OFF_SEED: usize = 40;
/// Offset in the header of `locks_offset` (see docs/FORMAT.md).
pub const OFF_LOCKS_OFFSET: usize = 48;
/// Offset in the header of `slots_offset` (see docs/FORMAT.md).
pub const OFF_SLOTS_OFFSET: usize = 56;
/// Offset in the header of `extra_offset` (see docs/FORMAT.md).
pub const OFF_EXTRA_OFFSET: usize = 64;
/// Offset in the header of `extra_len` (see docs/FORMAT.md).
pub const OFF_EXTRA_LEN: usize = 72;
/// Offset in the header of `file_len` (see docs/FORMAT.md).
pub const OFF_FILE_LEN: usize = 80;
/// Offset in the header of `ctrl_offset` (see docs/FORMAT.md).
pub const OFF_CTRL_OFFSET: usize = 88;
/// Offset in the header of `level_base`: slots of level 0 (u64; the slot
/// count of a store of fixed size).
pub const OFF_LEVEL_BASE: usize = 96;
/// Offset in the header of `max_levels` (u32): 1 for a store of fixed
/// size, 2 to `MAX_LEVELS` for a growing one.
pub const OFF_MAX_LEVELS: usize = 104;
/// Offset in the header of `limit_bytes` (u64): the most bytes a growing
/// store reserves on its file system (0 for a store of fixed size).
pub const OFF_LIMIT_BYTES: usize = 112;
/// Offset in the header of `checksum` (see docs/FORMAT.md).
pub const OFF_CHECKSUM: usize = 120;
/// The checksum covers bytes `[0, CHECKSUMMED_LEN)`.
pub const CHECKSUMMED_LEN: usize = 120;

// Shared counters (written while the store is in use; not checksummed).
// Each group sits on its own cache line. Live keys and tombstones are
// counted per lock-table entry (`LOCK_OFF_LIVE`, `LOCK_OFF_TOMB`), so that a
// writer killed mid-write leaves counts that its repair can make exact.
/// Inserts since the last `optimize()` (keys outside the MPHF). Advisory:
/// it only grows between two `optimize()` calls, so it may exceed the slot
/// count under insert/delete churn; readers cap it at the live key count.
pub const OFF_NEW_SINCE_OPT: usize = 144;
/// Offset in the header of `longest_probe` (see docs/FORMAT.md).
pub const OFF_LONGEST_PROBE: usize = 192;
/// MPHF generation (0: no MPHF). Reserved for `maph_optimize`.
pub const OFF_GENERATION: usize = 256;
/// Keys in the current MPHF.
pub const OFF_MPHF_KEYS: usize = 264;
/// The `optimize()` lock: a robust lock word (u32 owner pid, 0 when free);
/// the next 4 bytes stay 0.
pub const OFF_OPT_LOCK: usize = 320;
/// Offset in the header of the heap lock: a robust lock (u32 pid, 0 = free).
pub const OFF_HEAP_LOCK: usize = 384;
/// Offset in the header of the heap's top: relative offset of the first
/// byte never allocated (u64).
pub const OFF_HEAP_TOP: usize = 392;
/// Offset in the header of the bytes of heap extents in use (u64).
pub const OFF_HEAP_USED: usize = 400;
/// Offset in the header of the bytes of heap extents on the free lists (u64).
pub const OFF_HEAP_FREE: usize = 408;
/// Offset in the header of the bytes of the heap (from its start) reserved
/// on the file system so far (u64, whole pages; `sys::space`): extents are
/// handed out only below it.
pub const OFF_HEAP_RESERVED: usize = 416;
/// Offset in the header of the heap journal: `valid` (u32), `count` (u32),
/// then `count` pairs of (absolute file offset, u64 value) to assign.
pub const OFF_HEAP_JOURNAL: usize = 448;
/// Most assignments one heap journal entry holds.
pub const HEAP_JOURNAL_MAX: usize = 8;
/// Offset in the header of the published level count (u64, 1 to
/// `max_levels`): levels `0..levels` hold keys. Only grows.
pub const OFF_LEVELS: usize = 640;
/// Offset in the header of the growth lock: a robust lock (u32 pid, 0 =
/// free), taken to reserve the next level's space and publish it.
pub const OFF_GROW_LOCK: usize = 704;
/// Offset in the header of the next level's reservation (u64): the level
/// (bits 48..) and how many of its pages are reserved on the file system
/// so far (low 48 bits; `growth.rs`).
pub const OFF_GROW_NEXT: usize = 712;
/// Offset in the header of the per-level fill counters: one u64 per level
/// (`MAX_LEVELS` of them), the slots of that level ever taken from
/// `EMPTY`. Advisory: they decide when a level is full enough to add the
/// next one.
pub const OFF_LEVEL_FILL: usize = 768;
/// Most levels a store has: a growing store's slot indices, like any
/// store's, fit 32 bits (`GROW_BASE_SLOTS * (2^22 - 1) < 2^32`).
pub const MAX_LEVELS: u32 = 22;
/// Slots of level 0 of a growing store; level `l` has `GROW_BASE_SLOTS << l`.
pub const GROW_BASE_SLOTS: u64 = 1024;
/// Largest default limit of a growing store (1 TiB): its address space is
/// reserved up front, so the default (its file system's size) is capped.
pub const DEFAULT_LIMIT_CAP: u64 = 1 << 40;
/// Offset in the header of the heap's free-list heads: one u64 relative
/// offset per size class (0 = empty).
pub const OFF_HEAP_CLASSES: usize = 1024;
/// Bytes at the start of the heap never allocated, so that relative offset
/// 0 means "none".
pub const HEAP_RESERVED: u64 = 16;

/// Bytes of an MPHF bank header.
pub const BANK_HEADER_SIZE: usize = 64;
/// Magic of an MPHF bank header.
pub const BANK_MAGIC: [u8; 8] = *b"MAPHMPHF";
// MPHF bank header fields, relative to the bank's start.
/// Offset in an MPHF bank's header of `generation` (see docs/FORMAT.md).
pub const BANK_OFF_GENERATION: usize = 8;
/// Offset in an MPHF bank's header of `keys` (see docs/FORMAT.md).
pub const BANK_OFF_KEYS: usize = 16;
/// Offset in an MPHF bank's header of `mphf_len` (see docs/FORMAT.md).
pub const BANK_OFF_MPHF_LEN: usize = 24;
/// Offset in an MPHF bank's header of `payload_sum` (see docs/FORMAT.md).
pub const BANK_OFF_PAYLOAD_SUM: usize = 32;
/// Offset in an MPHF bank's header of `header_sum` (see docs/FORMAT.md).
pub const BANK_OFF_HEADER_SUM: usize = 40;

/// Bytes of one MPHF bank for a store of `slots` slots: the bank header,
/// the slot table (2 bytes per key, at most one key per slot) and room for
/// the serialized MPHF (boomphf at gamma 2 takes about 3.5 bits per key;
/// the room is 6 bits per key plus 64 KiB), rounded up to a page.
pub fn mphf_bank_len(slots: u64) -> u64 {
    align_page(BANK_HEADER_SIZE as u64 + 2 * slots + slots * 6 / 8 + 65536)
}

// Slot field offsets, relative to the start of a slot.
/// Offset in a slot of `seq`, the seqlock word (see docs/FORMAT.md).
pub const SLOT_OFF_SEQ: usize = 0;
/// Offset in a slot of the meta word (see `Meta` and docs/FORMAT.md).
pub const SLOT_OFF_META: usize = 8;

/// Meta flag: the record expires; its expiry time (u64, ms since the epoch)
/// is the first 8 bytes of the data area.
pub const FLAG_EXPIRES: u8 = 1;
/// Bytes the expiry time takes at the start of the data area of a record
/// with `FLAG_EXPIRES`.
pub const EXPIRY_LEN: usize = 8;
/// Bits of the UID generation kept in a slot's word (it wraps at 2^24).
pub const GEN_BITS: u32 = 24;
/// The mask of a UID generation.
pub const GEN_MASK: u32 = (1 << GEN_BITS) - 1;

/// A slot's meta word, decoded: key length, value length, state and
/// whether an expiry time leads the data area. Little-endian bytes 8..16 of
/// the slot: key length (u16), state (u8), flags (u8), value length (u32).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Meta {
    /// Key length in bytes (1..=65535 for a key; 0 for a slot never written).
    pub kl: usize,
    /// Value length in bytes.
    pub vl: usize,
    /// `STATE_EMPTY`, `STATE_LIVE` or `STATE_TOMBSTONE` (other values: damage).
    pub state: u32,
    /// `FLAG_EXPIRES`: an expiry time leads the data area.
    pub expires: bool,
}

impl Meta {
    /// Decodes a meta word.
    #[inline]
    pub fn decode(m: u64) -> Meta {
        Meta {
            kl: (m & 0xffff) as usize,
            vl: (m >> 32) as usize,
            state: ((m >> 16) & 0xff) as u32,
            expires: (m >> 24) & u64::from(FLAG_EXPIRES) != 0,
        }
    }

    /// Encodes a meta word (`kl` must fit u16, `vl` u32, `state` u8).
    #[inline]
    pub fn encode(&self) -> u64 {
        debug_assert!(self.kl <= MAX_KEY_LEN && self.vl <= u32::MAX as usize && self.state < 256);
        let flags = if self.expires { u64::from(FLAG_EXPIRES) } else { 0 };
        (self.kl as u64 & 0xffff)
            | (u64::from(self.state) & 0xff) << 16
            | flags << 24
            | (self.vl as u64) << 32
    }

    /// Bytes before the record's body in the data area: the expiry time,
    /// when the record has one.
    #[inline]
    pub fn pre(&self) -> usize {
        if self.expires {
            EXPIRY_LEN
        } else {
            0
        }
    }
}

/// The high half of an unlocked slot word: the slot's UID generation
/// (24 bits) above the key's tag byte (the low 8 bits of its hash).
#[inline]
pub fn word_high(gen: u32, tag: u32) -> u32 {
    (gen & GEN_MASK) << 8 | (tag & 0xff)
}

/// The UID generation in an unlocked slot word.
#[inline]
pub fn gen_of(word: u64) -> u32 {
    (word >> 40) as u32 & GEN_MASK
}

/// Whether an unlocked slot word carries the tag byte of `tag`.
#[inline]
pub fn tag_matches(word: u64, tag: u32) -> bool {
    (word >> 32) as u8 == tag as u8
}

/// Slot state: never written. Its seqlock word is 0 as well.
pub const STATE_EMPTY: u32 = 0;
/// Slot state: holds a key and its value.
pub const STATE_LIVE: u32 = 1;
/// Slot state: held a key that was deleted (a tombstone).
pub const STATE_TOMBSTONE: u32 = 2;

/// The geometry of a store: every layout parameter, validated. Its fields
/// are private: a `Geometry` comes only from `Geometry::new` (parameters of
/// a new store, checked) or `Geometry::decode` (a header, checked against
/// the file), so the unsafe core (`raw.rs`) may rely on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Geometry {
    slot_size: u32,
    max_probes: u32,
    slot_count: u64,
    level_base: u64,
    max_levels: u32,
    limit_bytes: u64,
    lock_count: u32,
    seed: u64,
    locks_offset: u64,
    ctrl_offset: u64,
    slots_offset: u64,
    extra_offset: u64,
    extra_len: u64,
    heap_offset: u64,
    file_len: u64,
}

impl Geometry {
    /// Computes the layout of a new store of fixed size with a heap of
    /// `heap_bytes` (rounded up to a page): one level of `slot_count`
    /// slots. Errors with `InvalidArg` when a parameter is out of range and
    /// `TooLarge` when the file would not fit in a `u64` or in the address
    /// space.
    pub fn new(
        slot_count: u64, slot_size: u32, max_probes: u32, lock_count: u32, seed: u64,
        heap_bytes: u64,
    ) -> Result<Geometry, Error> {
        Geometry::with_levels(slot_count, 1, 0, slot_size, max_probes, lock_count, seed, heap_bytes)
    }

    /// The layout of a new growing store that may reserve up to
    /// `limit_bytes` on its file system: level 0 of `GROW_BASE_SLOTS`
    /// slots, then levels of doubling size, as many as fit the limit (at
    /// most `MAX_LEVELS`). Its slots and heap are address space reserved
    /// up front and file space reserved as they are used (`growth.rs`).
    /// `heap_bytes` 0 gives the heap the whole limit. Errors: `InvalidArg`
    /// for a limit below two levels, else as `new`.
    pub fn new_growing(
        slot_size: u32, max_probes: u32, lock_count: u32, seed: u64, heap_bytes: u64,
        limit_bytes: u64,
    ) -> Result<Geometry, Error> {
        if !valid_slot_size(slot_size) {
            return Err(Error::InvalidArg(
                "slot size must be a power of two from 64 to 65536 bytes",
            ));
        }
        let base = GROW_BASE_SLOTS;
        let fixed = align_page(HEADER_SIZE as u64 + u64::from(lock_count) * lock_stride(slot_size));
        let per_slot = u64::from(slot_size) + 1;
        let levels = (2..=MAX_LEVELS)
            .take_while(|&l| {
                let slots = base * ((1u64 << l) - 1);
                slots
                    .checked_mul(per_slot)
                    .and_then(|b| b.checked_add(fixed))
                    .is_some_and(|b| b <= limit_bytes)
            })
            .last()
            .ok_or(Error::InvalidArg("limit too small for a growing store (two levels)"))?;
        let heap = if heap_bytes == 0 { limit_bytes } else { heap_bytes };
        Geometry::with_levels(
            base,
            levels,
            limit_bytes,
            slot_size,
            max_probes,
            lock_count,
            seed,
            heap,
        )
    }

    /// The common layout: `max_levels` levels from `level_base` slots.
    #[allow(clippy::too_many_arguments)]
    fn with_levels(
        level_base: u64, max_levels: u32, limit_bytes: u64, slot_size: u32, max_probes: u32,
        lock_count: u32, seed: u64, heap_bytes: u64,
    ) -> Result<Geometry, Error> {
        if !(1..=MAX_LEVELS).contains(&max_levels) {
            return Err(Error::InvalidArg("level count must be between 1 and 22"));
        }
        if max_levels > 1 && (!level_base.is_multiple_of(8) || limit_bytes == 0) {
            return Err(Error::InvalidArg(
                "a growing store's first level is a multiple of 8 slots",
            ));
        }
        if max_levels == 1 && limit_bytes != 0 {
            return Err(Error::InvalidArg("a store of fixed size has no growth limit"));
        }
        let slot_count = level_base
            .checked_mul((1u64 << max_levels) - 1)
            .filter(|&n| (1..=MAX_SLOTS).contains(&n) && level_base >= 1)
            .ok_or(Error::InvalidArg("slot count must be between 1 and 2^32-1"))?;
        if !valid_slot_size(slot_size) {
            return Err(Error::InvalidArg(
                "slot size must be a power of two from 64 to 65536 bytes",
            ));
        }
        if max_probes == 0 || u64::from(max_probes) > level_base {
            return Err(Error::InvalidArg("max probes must be between 1 and the slot count"));
        }
        if !lock_count.is_power_of_two() || lock_count > MAX_LOCK_COUNT {
            return Err(Error::InvalidArg("lock count must be a power of two up to 2^20"));
        }
        let locks_offset = HEADER_SIZE as u64;
        let ctrl_offset = align_page(locks_offset + u64::from(lock_count) * lock_stride(slot_size));
        let slots_offset = align_page(ctrl_offset + ctrl_len(slot_count));
        let extra_offset = slot_count
            .checked_mul(u64::from(slot_size))
            .and_then(|b| b.checked_add(slots_offset))
            .ok_or(Error::TooLarge("store size overflows 64 bits"))?;
        if usize::try_from(extra_offset).is_err() || extra_offset > isize::MAX as u64 {
            return Err(Error::TooLarge("store does not fit the address space"));
        }
        let extra_len = 2 * mphf_bank_len(slot_count);
        let too_large = || Error::TooLarge("store does not fit the address space");
        let heap_offset = extra_offset
            .checked_add(extra_len)
            .filter(|&l| l <= isize::MAX as u64)
            .map(align_page)
            .ok_or_else(too_large)?;
        let heap_len =
            heap_bytes.max(1).checked_add(4095).map(|x| x & !4095).ok_or_else(too_large)?;
        let file_len = heap_offset
            .checked_add(heap_len)
            .filter(|&l| l <= isize::MAX as u64)
            .ok_or_else(too_large)?;
        Ok(Geometry {
            slot_size,
            max_probes,
            slot_count,
            level_base,
            max_levels,
            limit_bytes,
            lock_count,
            seed,
            locks_offset,
            ctrl_offset,
            slots_offset,
            extra_offset,
            extra_len,
            heap_offset,
            file_len,
        })
    }

    /// Bytes per slot (a power of two, 64 to 65536).
    #[inline]
    pub fn slot_size(&self) -> u32 {
        self.slot_size
    }

    /// Maximum probe distance (1 to `slot_count`).
    #[inline]
    pub fn max_probes(&self) -> u32 {
        self.max_probes
    }

    /// Slots in the store (1 to 2^32-1): of a growing store, the slots of
    /// all the levels it may ever have (its address space), not those in
    /// use (`Store::slots_in_use`).
    #[inline]
    pub fn slot_count(&self) -> u64 {
        self.slot_count
    }

    /// Slots of level 0: the slot count of a store of fixed size.
    #[inline]
    pub fn level_base(&self) -> u64 {
        self.level_base
    }

    /// Most levels: 1 for a store of fixed size.
    #[inline]
    pub fn max_levels(&self) -> u32 {
        self.max_levels
    }

    /// Whether the store grows (more than one level).
    #[inline]
    pub fn grows(&self) -> bool {
        self.max_levels > 1
    }

    /// The most bytes a growing store reserves on its file system (0 for a
    /// store of fixed size).
    #[inline]
    pub fn limit_bytes(&self) -> u64 {
        self.limit_bytes
    }

    /// Index of the first slot of level `l` (`l < max_levels`):
    /// `level_base * (2^l - 1)`.
    #[inline]
    pub fn level_first(&self, l: u32) -> u64 {
        self.level_base * ((1u64 << l) - 1)
    }

    /// Slots of level `l`: `level_base * 2^l`.
    #[inline]
    pub fn level_count(&self, l: u32) -> u64 {
        self.level_base << l
    }

    /// Bytes before the control bytes: header and lock table.
    #[inline]
    pub fn fixed_len(&self) -> u64 {
        self.ctrl_offset
    }

    /// Entries of the same-key lock table (a power of two).
    #[inline]
    pub fn lock_count(&self) -> u32 {
        self.lock_count
    }

    /// The hash seed.
    #[inline]
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Byte offset of the lock table.
    #[inline]
    pub fn locks_offset(&self) -> u64 {
        self.locks_offset
    }

    /// Byte offset of the control bytes (page-aligned).
    #[inline]
    pub fn ctrl_offset(&self) -> u64 {
        self.ctrl_offset
    }

    /// Number of 8-byte control words: `ceil(slot_count / 8)`. Word `w`
    /// holds the control bytes of slots `8w .. 8w + 8` (byte `i % 8` of the
    /// little-endian word is slot `i`'s).
    #[inline]
    pub fn ctrl_words(&self) -> u64 {
        self.slot_count.div_ceil(8)
    }

    /// Byte offset of slot 0 (page-aligned).
    #[inline]
    pub fn slots_offset(&self) -> u64 {
        self.slots_offset
    }

    /// Byte offset of the MPHF banks.
    #[inline]
    pub fn extra_offset(&self) -> u64 {
        self.extra_offset
    }

    /// Bytes of the two MPHF banks.
    #[inline]
    pub fn extra_len(&self) -> u64 {
        self.extra_len
    }

    /// Byte offset of the value heap (page-aligned, after the MPHF banks).
    #[inline]
    pub fn heap_offset(&self) -> u64 {
        self.heap_offset
    }

    /// Bytes of the value heap: from `heap_offset` to the end of the file.
    #[inline]
    pub fn heap_len(&self) -> u64 {
        self.file_len - self.heap_offset
    }

    /// Bytes of the whole file.
    #[inline]
    pub fn file_len(&self) -> u64 {
        self.file_len
    }

    /// Bytes of one MPHF bank.
    pub fn bank_len(&self) -> u64 {
        self.extra_len / 2
    }

    /// Largest key length plus value length that fits one slot.
    pub fn slot_capacity(&self) -> usize {
        self.slot_size as usize - SLOT_HEADER_SIZE
    }

    /// Writes the fixed header fields and their checksum into `h`.
    /// The counters are left at zero, the heap's top at `HEAP_RESERVED`.
    pub fn encode(&self, h: &mut [u8; HEADER_SIZE]) {
        h.fill(0);
        h[OFF_MAGIC..OFF_MAGIC + 8].copy_from_slice(&MAGIC);
        put32(h, OFF_VERSION, FORMAT_VERSION);
        put32(h, OFF_HEADER_SIZE, HEADER_SIZE as u32);
        put32(h, OFF_SLOT_SIZE, self.slot_size);
        put32(h, OFF_MAX_PROBES, self.max_probes);
        put64(h, OFF_SLOT_COUNT, self.slot_count);
        put32(h, OFF_HASH_ID, HASH_XXH3_64);
        put32(h, OFF_LOCK_COUNT, self.lock_count);
        put64(h, OFF_SEED, self.seed);
        put64(h, OFF_LOCKS_OFFSET, self.locks_offset);
        put64(h, OFF_SLOTS_OFFSET, self.slots_offset);
        put64(h, OFF_EXTRA_OFFSET, self.extra_offset);
        put64(h, OFF_EXTRA_LEN, self.extra_len);
        put64(h, OFF_FILE_LEN, self.file_len);
        put64(h, OFF_CTRL_OFFSET, self.ctrl_offset);
        put64(h, OFF_LEVEL_BASE, self.level_base);
        put32(h, OFF_MAX_LEVELS, self.max_levels);
        put64(h, OFF_LIMIT_BYTES, self.limit_bytes);
        put64(h, OFF_HEAP_TOP, HEAP_RESERVED);
        put64(h, OFF_LEVELS, 1);
        let sum = checksum(&h[..CHECKSUMMED_LEN]);
        put64(h, OFF_CHECKSUM, sum);
    }

    /// Validates a header read from a file of `actual_len` bytes. Checks, in
    /// order: length, magic, version, checksum, then every layout field
    /// against the others and against `actual_len`. Answers `Corrupt` for a
    /// file that is not a maph store or is damaged, `Version` for a store of
    /// another format version or hash function.
    ///
    /// `h` may be shorter than a header (a truncated file): that is `Corrupt`.
    pub fn decode(h: &[u8], actual_len: u64) -> Result<Geometry, Error> {
        if actual_len < HEADER_SIZE as u64 || h.len() < HEADER_SIZE {
            return Err(Error::Corrupt("file is shorter than a maph header"));
        }
        if h[OFF_MAGIC..OFF_MAGIC + 8] != MAGIC {
            return Err(Error::Corrupt("not a maph store (bad magic)"));
        }
        match get32(h, OFF_VERSION) {
            FORMAT_VERSION => {}
            1 | 2 => {
                return Err(Error::Version(
                    "store of format 1 or 2 (before the value heap): this library reads \
                     format 5; copy its data out with the maph that wrote it",
                ))
            }
            3 => {
                return Err(Error::Version(
                    "store of format 3 (32-byte slot headers): this library reads format 5 \
                     (16-byte slot headers); copy its data out with the maph that wrote it",
                ))
            }
            4 => {
                return Err(Error::Version(
                    "store of format 4 (before growing stores): this library reads format 5; \
                     copy its data out with the maph that wrote it",
                ))
            }
            _ => return Err(Error::Version("unsupported format version (this library reads 5)")),
        }
        if get64(h, OFF_CHECKSUM) != checksum(&h[..CHECKSUMMED_LEN]) {
            return Err(Error::Corrupt("header checksum mismatch"));
        }
        if get32(h, OFF_HASH_ID) != HASH_XXH3_64 {
            return Err(Error::Version("unsupported hash function"));
        }
        if get32(h, OFF_HEADER_SIZE) as usize != HEADER_SIZE {
            return Err(Error::Corrupt("bad header size"));
        }
        let g = Geometry::with_levels(
            get64(h, OFF_LEVEL_BASE),
            get32(h, OFF_MAX_LEVELS),
            get64(h, OFF_LIMIT_BYTES),
            get32(h, OFF_SLOT_SIZE),
            get32(h, OFF_MAX_PROBES),
            get32(h, OFF_LOCK_COUNT),
            get64(h, OFF_SEED),
            0,
        )
        .map_err(|e| match e {
            Error::InvalidArg(m) | Error::TooLarge(m) => Error::Corrupt(m),
            other => other,
        })?;
        if get64(h, OFF_SLOT_COUNT) != g.slot_count {
            return Err(Error::Corrupt("slot count disagrees with the levels"));
        }
        if !(1..=u64::from(g.max_levels)).contains(&get64(h, OFF_LEVELS)) {
            return Err(Error::Corrupt("level count outside 1 to the most levels"));
        }
        if get64(h, OFF_LOCKS_OFFSET) != g.locks_offset
            || get64(h, OFF_CTRL_OFFSET) != g.ctrl_offset
            || get64(h, OFF_SLOTS_OFFSET) != g.slots_offset
            || get64(h, OFF_EXTRA_OFFSET) != g.extra_offset
        {
            return Err(Error::Corrupt("section offsets disagree with the geometry"));
        }
        let extra_len = get64(h, OFF_EXTRA_LEN);
        let file_len = get64(h, OFF_FILE_LEN);
        // The heap is the rest of the file, whole pages after the banks.
        if extra_len != g.extra_len
            || file_len < g.heap_offset
            || !file_len.is_multiple_of(4096)
            || file_len > isize::MAX as u64
        {
            return Err(Error::Corrupt("file length field disagrees with the sections"));
        }
        let g = Geometry { file_len, ..g };
        if file_len != actual_len {
            return Err(Error::Corrupt(if actual_len < file_len {
                "file is truncated"
            } else {
                "file is longer than its header says"
            }));
        }
        if get64(h, OFF_LONGEST_PROBE) > u64::from(g.max_probes)
            || get64(h, OFF_MPHF_KEYS) > g.slot_count
        {
            return Err(Error::Corrupt("header counters exceed the slot count"));
        }
        let top = get64(h, OFF_HEAP_TOP);
        if top < HEAP_RESERVED || top > g.heap_len() || !top.is_multiple_of(8) {
            return Err(Error::Corrupt("heap top outside the heap"));
        }
        let reserved = get64(h, OFF_HEAP_RESERVED);
        if reserved > g.heap_len() || !reserved.is_multiple_of(4096) {
            return Err(Error::Corrupt("heap reservation outside the heap"));
        }
        Ok(g)
    }
}

/// Whether `s` is an allowed slot size.
pub fn valid_slot_size(s: u32) -> bool {
    s.is_power_of_two() && (MIN_SLOT_SIZE..=MAX_SLOT_SIZE).contains(&s)
}

/// Bytes of the control-byte section before page alignment: one byte per
/// slot, rounded up to whole 8-byte words.
pub fn ctrl_len(slot_count: u64) -> u64 {
    slot_count.div_ceil(8) * 8
}

fn align_page(x: u64) -> u64 {
    (x + 4095) & !4095
}

/// Checksum of the fixed header fields: XXH3-64 with seed 0.
pub fn checksum(bytes: &[u8]) -> u64 {
    xxhash_rust::xxh3::xxh3_64_with_seed(bytes, 0)
}

/// The little-endian u32 at `off` of `h`. Panics when `h` is too short.
pub fn get32(h: &[u8], off: usize) -> u32 {
    u32::from_le_bytes(h[off..off + 4].try_into().expect("4 bytes"))
}
/// The little-endian u64 at `off` of `h`. Panics when `h` is too short.
pub fn get64(h: &[u8], off: usize) -> u64 {
    u64::from_le_bytes(h[off..off + 8].try_into().expect("8 bytes"))
}
/// Stores `v` little-endian at `off` of `h`. Panics when `h` is too short.
pub fn put32(h: &mut [u8], off: usize, v: u32) {
    h[off..off + 4].copy_from_slice(&v.to_le_bytes());
}
/// Stores `v` little-endian at `off` of `h`. Panics when `h` is too short.
pub fn put64(h: &mut [u8], off: usize, v: u64) {
    h[off..off + 8].copy_from_slice(&v.to_le_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(g: &Geometry) -> [u8; HEADER_SIZE] {
        let mut h = [0u8; HEADER_SIZE];
        g.encode(&mut h);
        h
    }

    #[test]
    fn encode_decode_round_trips() {
        let g = Geometry::new(1000, 512, 64, 16, 42, 8192).unwrap();
        let h = header(&g);
        assert_eq!(Geometry::decode(&h, g.file_len).unwrap(), g);
    }

    #[test]
    fn slots_start_page_aligned_after_the_lock_table() {
        let g = Geometry::new(10, 64, 4, 4096, 1, 8192).unwrap();
        assert_eq!(g.locks_offset, 4096);
        assert_eq!(g.ctrl_offset, 4096 + 4096 * 192);
        assert_eq!(g.slots_offset, g.ctrl_offset + 4096);
        assert_eq!(g.slots_offset % 4096, 0);
        assert_eq!(g.extra_offset, g.slots_offset + 640);
        assert_eq!(g.heap_offset, (g.extra_offset + 2 * mphf_bank_len(10) + 4095) & !4095);
        assert_eq!(g.file_len, g.heap_offset + 8192);
    }

    #[test]
    fn rejects_bad_parameters_at_creation() {
        assert!(Geometry::new(0, 512, 1, 16, 0, 8192).is_err(), "zero slots");
        assert!(Geometry::new(MAX_SLOTS + 1, 512, 1, 16, 0, 8192).is_err(), "too many slots");
        assert!(Geometry::new(10, 100, 1, 16, 0, 8192).is_err(), "slot size not a power of two");
        assert!(Geometry::new(10, 32, 1, 16, 0, 8192).is_err(), "slot size below 64");
        assert!(Geometry::new(10, 131072, 1, 16, 0, 8192).is_err(), "slot size above 64 KiB");
        assert!(Geometry::new(10, 64, 0, 16, 0, 8192).is_err(), "zero probes");
        assert!(Geometry::new(10, 64, 11, 16, 0, 8192).is_err(), "more probes than slots");
        assert!(Geometry::new(10, 64, 1, 12, 0, 8192).is_err(), "lock count not a power of two");
    }

    #[test]
    fn truncated_and_empty_files_are_corrupt() {
        let g = Geometry::new(1000, 512, 64, 16, 42, 8192).unwrap();
        let h = header(&g);
        assert!(matches!(Geometry::decode(&[], 0), Err(Error::Corrupt(_))));
        assert!(matches!(Geometry::decode(&h[..100], 100), Err(Error::Corrupt(_))));
        assert!(matches!(
            Geometry::decode(&h, g.file_len - 1),
            Err(Error::Corrupt("file is truncated"))
        ));
        assert!(matches!(Geometry::decode(&h, g.file_len + 1), Err(Error::Corrupt(_))));
    }

    #[test]
    fn wrong_version_and_hash_are_version_errors() {
        let g = Geometry::new(1000, 512, 64, 16, 42, 8192).unwrap();
        let mut h = header(&g);
        put32(&mut h, OFF_VERSION, FORMAT_VERSION + 1);
        assert!(matches!(Geometry::decode(&h, g.file_len), Err(Error::Version(_))));
        let mut h = header(&g);
        put32(&mut h, OFF_HASH_ID, 9);
        let sum = checksum(&h[..CHECKSUMMED_LEN]);
        put64(&mut h, OFF_CHECKSUM, sum);
        assert!(matches!(Geometry::decode(&h, g.file_len), Err(Error::Version(_))));
    }

    /// A header whose checksum was recomputed after a field was damaged must
    /// still be rejected by the cross-checks, never trusted.
    #[test]
    fn inconsistent_fields_with_a_valid_checksum_are_corrupt() {
        let g = Geometry::new(1000, 512, 64, 16, 42, 8192).unwrap();
        let cases: Vec<(usize, u64, bool)> = vec![
            (OFF_SLOT_COUNT, u64::MAX, false), // slot count overflow
            (OFF_SLOT_COUNT, 1 << 40, false),  // beyond MAX_SLOTS
            (OFF_SLOT_COUNT, 1001, false),     // disagrees with offsets
            (OFF_SLOT_SIZE, 100, true),        // not a power of two
            (OFF_SLOT_SIZE, 1 << 20, true),    // too large
            (OFF_MAX_PROBES, 0, true),         // zero probes
            (OFF_MAX_PROBES, 5000, true),      // more than slots
            (OFF_LOCK_COUNT, 3, true),         // not a power of two
            (OFF_SLOTS_OFFSET, 0, false),      // slots over the header
            (OFF_CTRL_OFFSET, 4096, false),    // control bytes over the locks
            (OFF_EXTRA_LEN, u64::MAX, false),  // length overflow
            (OFF_FILE_LEN, 1 << 62, false),    // disagrees with sections
        ];
        for (off, val, is32) in cases {
            let mut h = header(&g);
            if is32 {
                put32(&mut h, off, val as u32);
            } else {
                put64(&mut h, off, val);
            }
            let sum = checksum(&h[..CHECKSUMMED_LEN]);
            put64(&mut h, OFF_CHECKSUM, sum);
            let r = Geometry::decode(&h, g.file_len);
            assert!(matches!(r, Err(Error::Corrupt(_))), "field at {off} = {val}: {r:?}");
        }
    }

    #[test]
    fn any_flipped_byte_of_the_fixed_header_is_detected() {
        let g = Geometry::new(1000, 512, 64, 16, 42, 8192).unwrap();
        for i in 0..CHECKSUMMED_LEN + 8 {
            let mut h = header(&g);
            h[i] ^= 0x40;
            assert!(Geometry::decode(&h, g.file_len).is_err(), "byte {i}");
        }
    }

    #[test]
    fn counters_beyond_their_bounds_are_corrupt() {
        let g = Geometry::new(1000, 512, 64, 16, 42, 8192).unwrap();
        let mut h = header(&g);
        put64(&mut h, OFF_MPHF_KEYS, 1001);
        assert!(matches!(Geometry::decode(&h, g.file_len), Err(Error::Corrupt(_))));
        let mut h = header(&g);
        put64(&mut h, OFF_LONGEST_PROBE, 65);
        assert!(matches!(Geometry::decode(&h, g.file_len), Err(Error::Corrupt(_))));
    }

    #[test]
    fn default_lock_table_stays_small() {
        assert_eq!(default_lock_count(2_000_000, 512), 4096);
        assert_eq!(default_lock_count(10, 512), 16);
        assert_eq!(default_lock_count(1 << 30, 65536), 32);
        for (n, s) in [(100, 64), (1 << 20, 4096), (3, 65536)] {
            let c = default_lock_count(n, s);
            assert!(c.is_power_of_two() && u64::from(c) * lock_stride(s) <= 5 << 20);
        }
    }
}
