//! The unsafe core of the log: the only code that touches its mapping.
//!
//! A `LogRegion` owns a shared mapping whose geometry `layout::LogGeometry` built
//! or validated. Every method is safe to call: slot indices and offsets are
//! checked here (a bad one panics, which the C boundary turns into
//! `MAPH_E_PANIC`), so no value read from shared memory can make us touch
//! memory outside the mapping. Other processes write this memory at any
//! time, so it is reached only through atomics and raw-pointer copies; no
//! `&[u8]` is ever formed over it (docs/DESIGN.md).

use std::fs::File;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use memmap2::{MmapOptions, MmapRaw};

use super::layout::{self, LogGeometry, SLOT_SIZE};
use crate::error::Error;

/// A mapped log buffer.
pub struct LogRegion {
    /// Owns the mapping (unmapped on drop); reached through `base`.
    #[allow(dead_code)]
    map: MmapRaw,
    base: *mut u8,
    geom: LogGeometry,
}

// SAFETY: a `LogRegion` hands out atomics over the mapping and copies bytes in
// and out through raw pointers; atomics are sound from any thread, and the
// copies never form references to shared bytes. `base` points into the
// mapping owned by `map`, which lives as long as the `LogRegion`.
unsafe impl Send for LogRegion {}
// SAFETY: as for `Send`.
unsafe impl Sync for LogRegion {}

impl LogRegion {
    /// Maps `geom.total_len` bytes of `file` shared and writable.
    pub fn map(file: &File, geom: LogGeometry) -> Result<LogRegion, Error> {
        let len = usize::try_from(geom.total_len)
            .map_err(|_| Error::TooLarge("log larger than the address space"))?;
        let map = MmapOptions::new()
            .len(len)
            .map_raw(file)
            .map_err(|e| Error::from_io(&e, "mapping the log buffer"))?;
        assert!(map.len() as u64 >= geom.total_len, "mapping shorter than the log");
        let base = map.as_mut_ptr();
        assert!((base as usize).is_multiple_of(4096), "mapping not page-aligned");
        Ok(LogRegion { map, base, geom })
    }

    /// The validated geometry.
    #[inline]
    pub fn geom(&self) -> &LogGeometry {
        &self.geom
    }

    /// The u64 header word at `off` (8-aligned, inside the header).
    #[inline]
    pub fn header_u64(&self, off: usize) -> &AtomicU64 {
        assert!(off.is_multiple_of(8) && off + 8 <= layout::HEADER_SIZE as usize);
        // SAFETY: in bounds (checked), 8-aligned (the mapping is page
        // aligned); the mapping outlives `&self`; only atomics touch it.
        unsafe { AtomicU64::from_ptr(self.base.add(off).cast()) }
    }

    /// The u32 header word at `off` (4-aligned, inside the header).
    #[inline]
    pub fn header_u32(&self, off: usize) -> &AtomicU32 {
        assert!(off.is_multiple_of(4) && off + 4 <= layout::HEADER_SIZE as usize);
        // SAFETY: as for `header_u64`, 4-aligned.
        unsafe { AtomicU32::from_ptr(self.base.add(off).cast()) }
    }

    #[inline]
    fn slot_ptr(&self, i: u64) -> *mut u8 {
        assert!(i < self.geom.slot_count, "slot index out of range");
        // SAFETY: slots_off + i * SLOT_SIZE + SLOT_SIZE <= total_len, which
        // the mapping covers (checked in `map`).
        unsafe { self.base.add((self.geom.slots_off + i * SLOT_SIZE) as usize) }
    }

    /// The state word of slot `i` (the slot's first 8 bytes).
    #[inline]
    pub fn state(&self, i: u64) -> &AtomicU64 {
        // SAFETY: in bounds (`slot_ptr` checks), 8-aligned (slots are 1024
        // bytes from a page boundary); only atomics touch the state word.
        unsafe { AtomicU64::from_ptr(self.slot_ptr(i).cast()) }
    }

    /// Copies `src` into slot `i` at byte offset `off` (past the state
    /// word). The caller holds the slot's claim; a process that lost its
    /// claim (stalled past the limit) may still be copying into it, which
    /// the record checksum detects.
    #[inline]
    pub fn write_slot(&self, i: u64, off: usize, src: &[u8]) {
        assert!(off >= 8 && off + src.len() <= SLOT_SIZE as usize, "slot write out of range");
        // SAFETY: destination in bounds (checked); `src` is private memory
        // that cannot overlap the mapping's slot bytes... unless the caller
        // passed a pointer into this very mapping, which `copy` tolerates.
        unsafe { std::ptr::copy(src.as_ptr(), self.slot_ptr(i).add(off), src.len()) };
    }

    /// Copies `dst.len()` bytes of slot `i` from byte offset `off` into
    /// `dst`. Another process may be writing them (a stalled writer): the
    /// copy is then garbage, which the caller's checksum rejects.
    #[inline]
    pub fn read_slot(&self, i: u64, off: usize, dst: &mut [u8]) {
        assert!(off >= 8 && off + dst.len() <= SLOT_SIZE as usize, "slot read out of range");
        // SAFETY: source in bounds (checked); `dst` is private memory. The
        // bytes are copied, never referenced.
        unsafe { std::ptr::copy(self.slot_ptr(i).add(off), dst.as_mut_ptr(), dst.len()) };
    }

    /// Writes the fixed header fields except the magic, then (Release) the
    /// magic: a process that sees the magic sees a complete header.
    pub fn write_header(&self, h: &[u8; layout::FIXED_LEN]) {
        for off in (8..layout::FIXED_LEN).step_by(8) {
            let w = u64::from_le_bytes(h[off..off + 8].try_into().unwrap());
            self.header_u64(off).store(w, Ordering::Relaxed);
        }
        let magic = u64::from_le_bytes(h[..8].try_into().unwrap());
        self.header_u64(layout::OFF_MAGIC).store(magic, Ordering::Release);
    }
}
