//! The unsafe core of queue sets: the only module that touches their
//! mapping (their system calls are in `sys`: the futex in `sys::futex`,
//! shm_open and memfd_create in `sys::shm`).
//!
//! A `QueueRegion` owns a `memmap2::MmapRaw` whose geometry `layout::QueueGeometry`
//! built or validated. Every method is safe to call: queue ids, element
//! indices and field offsets are checked here (a bad one panics, which the C
//! boundary turns into `MAPH_E_PANIC`), so no value read from shared memory
//! can make us touch memory outside the mapping.
//!
//! Other processes write this memory at any time, so it is reached only
//! through atomics (`AtomicU32::from_ptr` / `AtomicU64::from_ptr`) and raw
//! element pointers handed to the caller; no `&[u8]` or `&mut [u8]` is ever
//! formed over it (docs/DESIGN.md).

use std::fs::File;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use memmap2::MmapRaw;

use super::layout::{self, QueueGeometry};
use crate::error::Error;

/// A mapped queue set.
pub struct QueueRegion {
    /// Owns the mapping (unmapped on drop); reached through `base`.
    #[allow(dead_code)]
    map: MmapRaw,
    base: *mut u8,
    geom: QueueGeometry,
    mask: u64,
}

// SAFETY: a `QueueRegion` hands out only atomics over the mapping and raw
// element pointers (whose use is the caller's business, documented as such);
// atomics are sound to use from any thread and any process at once. The
// base pointer is into the mapping owned by `map`, which lives as long as
// the `QueueRegion`.
unsafe impl Send for QueueRegion {}
// SAFETY: as for `Send`: no method returns a reference to non-atomic shared
// bytes, so `&QueueRegion` may be shared between threads.
unsafe impl Sync for QueueRegion {}

impl QueueRegion {
    /// Wraps a writable shared mapping of at least `geom.total_len()` bytes.
    /// Panics when the mapping is shorter (a bug: callers check the object's
    /// length before mapping).
    pub fn new(map: MmapRaw, geom: QueueGeometry) -> QueueRegion {
        assert!(map.len() as u64 >= geom.total_len(), "mapping shorter than the queue set");
        let base = map.as_mut_ptr();
        assert!((base as usize).is_multiple_of(layout::PAGE as usize), "mapping not page-aligned");
        QueueRegion { map, base, geom, mask: geom.ring_cap() as u64 - 1 }
    }

    /// The validated geometry.
    #[inline]
    pub fn geom(&self) -> &QueueGeometry {
        &self.geom
    }

    /// The u64 at byte `off` of the header (8-aligned, inside the header).
    #[inline]
    pub fn header_u64(&self, off: usize) -> &AtomicU64 {
        assert!(off.is_multiple_of(8) && off + 8 <= layout::HEADER_SIZE);
        // SAFETY: inside the header page, which lies inside the mapping;
        // 8-aligned because the mapping is page-aligned.
        unsafe { AtomicU64::from_ptr(self.base.add(off).cast()) }
    }

    /// The u32 at byte `off` of the header (4-aligned, inside the header).
    #[inline]
    pub fn header_u32(&self, off: usize) -> &AtomicU32 {
        assert!(off.is_multiple_of(4) && off + 4 <= layout::HEADER_SIZE);
        // SAFETY: as in `header_u64`; 4-aligned.
        unsafe { AtomicU32::from_ptr(self.base.add(off).cast()) }
    }

    #[inline]
    fn queue_ptr(&self, q: u32, field: usize, size: usize) -> *mut u8 {
        assert!(q < self.geom.queue_count(), "queue id out of range");
        assert!(field.is_multiple_of(size) && field + size <= layout::QUEUE_REC_SIZE as usize);
        // SAFETY: `q < queue_count` and `QueueGeometry` places queue_count records
        // of QUEUE_REC_SIZE bytes from queues_off inside the mapping; the
        // field lies inside the record. Records are 256-aligned, so the
        // pointer is `size`-aligned.
        unsafe {
            self.base.add(
                self.geom.queues_off() as usize
                    + q as usize * layout::QUEUE_REC_SIZE as usize
                    + field,
            )
        }
    }

    /// The u32 at byte `field` of queue `q`'s record.
    #[inline]
    pub fn queue_u32(&self, q: u32, field: usize) -> &AtomicU32 {
        // SAFETY: `queue_ptr` checks bounds and alignment.
        unsafe { AtomicU32::from_ptr(self.queue_ptr(q, field, 4).cast()) }
    }

    /// The u64 at byte `field` of queue `q`'s record.
    #[inline]
    pub fn queue_u64(&self, q: u32, field: usize) -> &AtomicU64 {
        // SAFETY: `queue_ptr` checks bounds and alignment.
        unsafe { AtomicU64::from_ptr(self.queue_ptr(q, field, 8).cast()) }
    }

    /// The record of element `e`.
    #[inline]
    pub fn meta(&self, e: u32) -> &AtomicU64 {
        assert!(e < self.geom.elem_count(), "element index out of range");
        // SAFETY: `e < elem_count`; the record array lies inside the mapping
        // (QueueGeometry) and is page-aligned, records are 8 bytes.
        unsafe {
            AtomicU64::from_ptr(
                self.base
                    .add(self.geom.meta_off() as usize + e as usize * layout::META_SIZE as usize)
                    .cast(),
            )
        }
    }

    /// The entry of queue `q`'s ring at position `pos` (taken modulo the
    /// ring's capacity).
    #[inline]
    pub fn ring(&self, q: u32, pos: u64) -> &AtomicU64 {
        assert!(q < self.geom.queue_count(), "queue id out of range");
        let i = (q as u64 * self.geom.ring_cap() as u64 + (pos & self.mask)) as usize;
        // SAFETY: `q < queue_count` and the index is below ring_cap, so the
        // entry lies inside the ring section (QueueGeometry); 8-aligned.
        unsafe {
            AtomicU64::from_ptr(
                self.base
                    .add(self.geom.rings_off() as usize + i * layout::ENTRY_SIZE as usize)
                    .cast(),
            )
        }
    }

    /// The first byte of element `e`'s data (`elem_size` bytes, 64-aligned).
    /// What the caller does with it is its business: the pointer is valid
    /// while the `QueueRegion` lives.
    #[inline]
    pub fn elem_ptr(&self, e: u32) -> *mut u8 {
        assert!(e < self.geom.elem_count(), "element index out of range");
        // SAFETY: `e < elem_count`; elements lie inside the mapping
        // (QueueGeometry).
        unsafe {
            self.base
                .add(self.geom.elems_off() as usize + e as usize * self.geom.elem_stride() as usize)
        }
    }

    /// The `word`-th u64 of element `e`'s data, as an atomic.
    #[inline]
    pub fn elem_u64(&self, e: u32, word: usize) -> &AtomicU64 {
        assert!(
            word.checked_mul(8)
                .and_then(|b| b.checked_add(8))
                .is_some_and(|end| end <= self.geom.elem_stride() as usize),
            "word beyond the element"
        );
        // SAFETY: inside element `e`'s stride (checked above), which lies in
        // the mapping; elements are 64-aligned so the word is 8-aligned.
        unsafe { AtomicU64::from_ptr(self.elem_ptr(e).add(word * 8).cast()) }
    }

    /// Writes the fixed header fields after the magic (the creator, before
    /// anyone can see the set). The magic is stored by `publish`.
    pub fn write_header(&self, h: &[u8; layout::FIXED_LEN]) {
        for off in (8..layout::FIXED_LEN).step_by(8) {
            let w = u64::from_le_bytes(h[off..off + 8].try_into().unwrap());
            self.header_u64(off).store(w, Ordering::Relaxed);
        }
    }

    /// Stores the magic: the set becomes visible to `open`.
    pub fn publish(&self) {
        self.header_u64(layout::OFF_MAGIC)
            .store(u64::from_le_bytes(layout::MAGIC), Ordering::Release);
    }

    /// Whether the magic is in place (Acquire: every field written before
    /// `publish` is visible after this returns true).
    pub fn published(&self) -> bool {
        self.header_u64(layout::OFF_MAGIC).load(Ordering::Acquire)
            == u64::from_le_bytes(layout::MAGIC)
    }
}

/// Reserves the object's memory (`sys::space::reserve`) so that touching
/// it later cannot raise SIGBUS on a full tmpfs: `NoSpace` (C:
/// `MAPH_E_FULL`) when there is not enough shared memory.
pub fn reserve(file: &File, len: u64) -> Result<(), Error> {
    crate::sys::space::reserve(file, len, "the queue set")
}
