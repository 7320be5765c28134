//! The unsafe core: the one module that touches the mapped memory.
//!
//! A `Region` owns a `memmap2::MmapRaw` whose geometry was validated by
//! `format::Geometry::decode` (or built by `Geometry::new`). Every method is
//! safe to call: indices and lengths are checked here, so a bad index or a
//! length read from a damaged slot panics (caught at the C boundary) instead
//! of reading outside the mapping.
//!
//! Shared memory is reached only through raw pointers and atomics: other
//! processes write this memory, so no `&[u8]` or `&mut [u8]` is ever formed
//! over it. Fixed-size fields are accessed with atomics made by
//! `AtomicU32::from_ptr` / `AtomicU64::from_ptr`; key and value bytes are
//! copied with raw-pointer copies whose result the caller throws away unless
//! the slot's seqlock validates (see `seqlock.rs`).
//!
//! Those copies race with writers in other threads and processes. In the
//! Rust (C++20) memory model a non-atomic read concurrent with a write is a
//! data race and so undefined behaviour, even when the value read is then
//! discarded; crossbeam's `AtomicCell` (`atomic_cell.rs`, its seqlock
//! fallback) makes the same racy `ptr::read` and says so in the same words:
//! the race is tolerated because the value is used only after the
//! sequence word validates, and discarded otherwise. maph does the same and
//! claims no more: what this module guarantees is that every copy stays
//! inside the mapping and inside its slot (checked here), that no Rust
//! reference is ever formed over the racy bytes, and that the store above
//! never acts on a copy the seqlock did not validate. Copying with per-word
//! atomic loads would remove the formal race; it is not done because
//! `memcpy`'s wide copies are what the read path's speed rests on (not
//! measured yet: the read-path issue may revisit it).

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use memmap2::MmapRaw;

use crate::store::format::{self, Geometry, SLOT_HEADER_SIZE};

/// The mapped store: header, lock table, slots, MPHF banks and heap.
pub struct Region {
    map: MmapRaw,
    base: *mut u8,
    geom: Geometry,
    slot_shift: u32,
    writable: bool,
}

// SAFETY: `Region` only hands out atomics and copies of the bytes it maps;
// every shared access goes through atomics or seqlock-validated raw copies,
// which is sound from any thread (and any process) at once. The raw pointer
// is to a mapping owned by `map`, which lives as long as the `Region`.
unsafe impl Send for Region {}
// SAFETY: as for `Send`: no method hands out a reference to non-atomic
// shared bytes, so sharing `&Region` between threads is sound.
unsafe impl Sync for Region {}

impl Region {
    /// Wraps a mapping of at least `geom.file_len()` bytes.
    ///
    /// Panics when the mapping is shorter than the geometry says (a bug: the
    /// store layer checks the file's length first).
    pub fn new(map: MmapRaw, geom: Geometry, writable: bool) -> Region {
        assert!(map.len() as u64 >= geom.file_len(), "mapping shorter than the store");
        let base = map.as_mut_ptr();
        Region { map, base, geom, slot_shift: geom.slot_size().trailing_zeros(), writable }
    }

    /// The validated geometry.
    #[inline]
    pub fn geom(&self) -> &Geometry {
        &self.geom
    }

    /// Whether the mapping may be written.
    #[inline]
    pub fn writable(&self) -> bool {
        self.writable
    }

    /// The underlying mapping (for `msync`).
    pub fn map(&self) -> &MmapRaw {
        &self.map
    }

    #[inline]
    fn check_write(&self) {
        assert!(self.writable, "write through a read-only mapping");
    }

    /// An atomic u64 in the header at `off` (one of the `format::OFF_*`
    /// counters).
    #[inline]
    pub fn header_u32(&self, off: usize) -> &AtomicU32 {
        assert!(off.is_multiple_of(4) && off + 4 <= format::HEADER_SIZE);
        // SAFETY: `off + 4 <= HEADER_SIZE <= map.len()`, the mapping is
        // page-aligned so `base + off` is 4-aligned, and the atomic lives no
        // longer than `&self`, which keeps the mapping alive.
        unsafe { AtomicU32::from_ptr(self.base.add(off).cast()) }
    }

    /// A u64 header field at one of the `format::OFF_*` offsets.
    #[inline]
    pub fn header_u64(&self, off: usize) -> &AtomicU64 {
        assert!(off.is_multiple_of(8) && off + 8 <= format::HEADER_SIZE);
        // SAFETY: `off + 8 <= HEADER_SIZE <= map.len()`, the mapping is
        // page-aligned so `base + off` is 8-aligned, and the atomic lives no
        // longer than `&self`, which keeps the mapping alive.
        unsafe { AtomicU64::from_ptr(self.base.add(off).cast()) }
    }

    #[inline]
    fn lock_ptr(&self, i: usize) -> *mut u8 {
        assert!(i < self.geom.lock_count() as usize, "lock entry out of range");
        let off = self.geom.locks_offset() as usize
            + i * format::lock_stride(self.geom.slot_size()) as usize;
        // SAFETY: `Geometry` checked that the lock table
        // `[locks_offset, locks_offset + lock_count * stride)` lies before the
        // slots, inside the mapping; `i < lock_count`.
        unsafe { self.base.add(off) }
    }

    /// The absolute offset in the mapping of field `off` of lock entry `i`
    /// (for the heap journal, which assigns `LOCK_OFF_HEAP_*` fields).
    pub fn lock_field_abs(&self, i: usize, off: usize) -> u64 {
        assert!(i < self.geom.lock_count() as usize && off + 8 <= format::LOCK_META_SIZE);
        self.geom.locks_offset()
            + i as u64 * format::lock_stride(self.geom.slot_size())
            + off as u64
    }

    /// A u32 field of lock-table entry `i` (one of `format::LOCK_OFF_*`).
    #[inline]
    pub fn lock_u32(&self, i: usize, off: usize) -> &AtomicU32 {
        assert!(off.is_multiple_of(4) && off + 4 <= format::LOCK_META_SIZE);
        // SAFETY: inside the entry's metadata; entries are 64-byte aligned.
        unsafe { AtomicU32::from_ptr(self.lock_ptr(i).add(off).cast()) }
    }

    /// A u64 field of lock-table entry `i` (one of `format::LOCK_OFF_*`).
    #[inline]
    pub fn lock_u64(&self, i: usize, off: usize) -> &AtomicU64 {
        assert!(off.is_multiple_of(8) && off + 8 <= format::LOCK_META_SIZE);
        // SAFETY: inside the entry's metadata, 8-aligned.
        unsafe { AtomicU64::from_ptr(self.lock_ptr(i).add(off).cast()) }
    }

    /// Writes `bytes` at `off` into the redo image of lock entry `i`. The
    /// caller owns the entry.
    #[inline]
    pub fn write_image(&self, i: usize, off: usize, bytes: &[u8]) {
        self.check_write();
        assert!(off
            .checked_add(bytes.len())
            .is_some_and(|e| e <= self.geom.slot_size() as usize - 8));
        // SAFETY: the image area `[64, 64 + slot_size - 8)` of the entry is
        // inside the lock table (checked above); the caller owns the entry.
        unsafe {
            std::ptr::copy_nonoverlapping(
                bytes.as_ptr(),
                self.lock_ptr(i).add(format::LOCK_META_SIZE + off),
                bytes.len(),
            )
        }
    }

    /// Reads `out.len()` bytes at `off` of lock entry `i`'s redo image.
    pub fn read_image(&self, i: usize, off: usize, out: &mut [u8]) {
        assert!(off
            .checked_add(out.len())
            .is_some_and(|e| e <= self.geom.slot_size() as usize - 8));
        // SAFETY: inside the entry's image area (checked above).
        unsafe {
            std::ptr::copy_nonoverlapping(
                self.lock_ptr(i).add(format::LOCK_META_SIZE + off),
                out.as_mut_ptr(),
                out.len(),
            )
        }
    }

    /// Copies the first `len` bytes of lock entry `i`'s redo image over slot
    /// `idx` from byte 8 on (everything but the seqlock word). The caller
    /// owns the entry and holds the slot's seqlock.
    pub fn apply_image(&self, i: usize, idx: u64, len: usize) {
        self.check_write();
        assert!(len <= self.geom.slot_size() as usize - 8);
        // SAFETY: source inside the entry's image area, destination inside
        // slot `idx` (both checked); the lock table and the slots do not
        // overlap.
        unsafe {
            std::ptr::copy_nonoverlapping(
                self.lock_ptr(i).add(format::LOCK_META_SIZE),
                self.slot_ptr(idx).add(8),
                len,
            )
        }
    }

    #[inline]
    fn slot_ptr(&self, idx: u64) -> *mut u8 {
        assert!(idx < self.geom.slot_count(), "slot index out of range");
        // SAFETY: `idx < slot_count`, and `Geometry` checked that
        // `slots_offset + slot_count * slot_size <= file_len <= map.len()`.
        unsafe {
            self.base.add(self.geom.slots_offset() as usize + ((idx as usize) << self.slot_shift))
        }
    }

    /// Slot `idx`, bounds-checked once, for several field accesses in a row.
    #[inline]
    pub fn slot(&self, idx: u64) -> SlotRef<'_> {
        SlotRef {
            p: self.slot_ptr(idx),
            cap: self.geom.slot_capacity(),
            _region: std::marker::PhantomData,
        }
    }

    /// Control word `w` (the control bytes of slots `8w .. 8w + 8`, see
    /// `ctrl.rs`). Panics when `w >= ctrl_words`.
    #[inline]
    pub fn ctrl_word(&self, w: u64) -> &AtomicU64 {
        assert!(w < self.geom.ctrl_words(), "control word out of range");
        // SAFETY: `Geometry` placed `ctrl_words * 8` bytes at the
        // page-aligned `ctrl_offset`, before the slots and inside the
        // mapping; `w < ctrl_words`, so the 8-aligned word is in bounds.
        unsafe {
            AtomicU64::from_ptr(
                self.base.add(self.geom.ctrl_offset() as usize + (w as usize) * 8).cast(),
            )
        }
    }

    /// Asks for the cache line holding control word `w` (a hint; never
    /// faults).
    #[inline]
    pub fn prefetch_ctrl(&self, w: u64) {
        let p: *const AtomicU64 = self.ctrl_word(w);
        prefetch(p.cast());
    }

    /// The seqlock word of slot `idx`.
    #[inline]
    pub fn seq(&self, idx: u64) -> &AtomicU64 {
        // SAFETY: `slot_ptr` is in bounds and slot-size aligned (>= 64).
        unsafe { AtomicU64::from_ptr(self.slot_ptr(idx).cast()) }
    }

    /// The meta word of slot `idx`, decoded (racy; validate).
    #[inline]
    pub fn meta(&self, idx: u64) -> format::Meta {
        self.slot(idx).meta()
    }

    /// Stores the meta word of slot `idx` (the caller holds the slot
    /// locked: `publish_orphan`).
    pub fn set_meta(&self, idx: u64, m: format::Meta) {
        self.check_write();
        self.slot(idx).meta_word().store(m.encode(), Ordering::Relaxed);
    }

    /// Copies `out.len()` bytes starting `off` bytes into the slot's data
    /// area (keys start at 0, values at the key length). Panics when the
    /// range leaves the slot. A racy read: validate before using `out`.
    #[inline(always)]
    pub fn copy_out(&self, idx: u64, off: usize, out: &mut [u8]) {
        assert!(off.checked_add(out.len()).is_some_and(|e| e <= self.geom.slot_capacity()));
        // SAFETY: the source range is inside the slot (checked above) and
        // does not overlap `out`, which is caller memory.
        unsafe {
            std::ptr::copy_nonoverlapping(
                self.slot_ptr(idx).add(SLOT_HEADER_SIZE + off),
                out.as_mut_ptr(),
                out.len(),
            )
        }
    }

    /// A pointer to byte `off` of slot `idx`'s data area, for `get_ptr`.
    /// Panics when `off + len` leaves the slot.
    #[inline]
    pub fn data_ptr(&self, idx: u64, off: usize, len: usize) -> *const u8 {
        assert!(off.checked_add(len).is_some_and(|e| e <= self.geom.slot_capacity()));
        // SAFETY: inside the slot (checked above).
        unsafe { self.slot_ptr(idx).add(SLOT_HEADER_SIZE + off) }
    }

    /// Bytes of a slot that `prefetch_slot` asks for: the first two cache
    /// lines (the 16-byte header, then key and value up to 112 bytes — a
    /// 128-byte slot whole, W1's record in any slot), or the whole slot
    /// when it is smaller. A batch asks for these lines of 16 slots at once,
    /// so each line more per slot costs about one `floor_mlp_ns` per key.
    pub const PREFETCH_BYTES: usize = 128;

    /// Asks the CPU to start loading the first `PREFETCH_BYTES` of slot
    /// `idx` (a hint: it never faults and changes nothing). Issued before
    /// the slot is read, it lets the lines of the header, the key and the
    /// value arrive together instead of one after the other (the value's
    /// address depends on the key length read from the first line).
    #[inline]
    pub fn prefetch_slot(&self, idx: u64) {
        self.slot(idx).prefetch()
    }

    /// Prefetches bytes `[from, to)` of slot `idx`, one hint per cache line.
    #[inline]
    pub fn prefetch_range(&self, idx: u64, from: usize, to: usize) {
        let p = self.slot_ptr(idx);
        let to = to.min(self.geom.slot_size() as usize);
        let mut off = from & !63;
        while off < to {
            // `wrapping_add` keeps the pointer arithmetic safe; `off` is
            // inside the slot (`off < slot_size`) anyway.
            prefetch(p.wrapping_add(off));
            off += 64;
        }
    }

    /// Asks the kernel for 2 MiB pages under the mapping
    /// (`madvise(MADV_HUGEPAGE)`). A hint: it takes effect only where the
    /// memory can have them — a tmpfs mounted `huge=advise` or where
    /// `shmem_enabled` allows it (`huge=always` mounts need no hint); other
    /// mappings ignore it, and so does this function's caller on error.
    pub fn advise_huge_pages(&self) -> std::io::Result<()> {
        // SAFETY: the range is exactly this mapping; MADV_HUGEPAGE changes
        // no contents and no permissions.
        let r = unsafe { libc::madvise(self.base.cast(), self.map.len(), libc::MADV_HUGEPAGE) };
        if r != 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(())
    }

    /// Populates this process's page tables for the whole mapping without
    /// touching the data (`madvise(MADV_POPULATE_READ)`, Linux 5.14+), so
    /// later reads take no first-touch page fault. A forked child inherits a
    /// shared mapping without its page-table entries; a worker calls this
    /// once after `fork()`. For a file store not in the page cache this reads
    /// the file.
    ///
    /// Covers bytes `[off, off + len)` of the mapping (page-aligned
    /// outward; clamped to the mapping): a growing store populates only
    /// what it uses, since a read fault on a page its file system has not
    /// reserved could allocate it.
    pub fn populate(&self, off: u64, len: u64) -> std::io::Result<()> {
        let start = (off / 4096 * 4096).min(self.map.len() as u64);
        let end =
            off.saturating_add(len).div_ceil(4096).saturating_mul(4096).min(self.map.len() as u64);
        if end <= start {
            return Ok(());
        }
        // SAFETY: `[start, end)` lies inside this mapping (clamped above) and
        // is page-aligned; MADV_POPULATE_READ only faults pages in (read
        // access), changing no contents.
        let r = unsafe {
            libc::madvise(
                self.base.add(start as usize).cast(),
                (end - start) as usize,
                libc::MADV_POPULATE_READ,
            )
        };
        if r != 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(())
    }

    /// Checks that `[rel, rel + len)` lies in the heap and returns its
    /// absolute offset in the mapping. Panics otherwise.
    #[inline]
    fn heap_range(&self, rel: u64, len: usize) -> usize {
        let end = rel.checked_add(len as u64).expect("heap range overflows");
        assert!(end <= self.geom.heap_len(), "range outside the heap");
        (self.geom.heap_offset() + rel) as usize
    }

    /// The u64 at heap offset `rel` (8-aligned; an extent header word).
    #[inline]
    pub fn heap_u64(&self, rel: u64) -> &AtomicU64 {
        assert!(rel.is_multiple_of(8), "unaligned heap word");
        let abs = self.heap_range(rel, 8);
        // SAFETY: inside the mapping (checked), 8-aligned (the heap offset is
        // page-aligned and `rel` is a multiple of 8); alive for `&self`.
        unsafe { AtomicU64::from_ptr(self.base.add(abs).cast()) }
    }

    /// The u64 at absolute offset `abs` of the mapping, for the heap
    /// journal's assignments. Panics when it is unaligned or outside.
    #[inline]
    pub fn file_u64(&self, abs: u64) -> &AtomicU64 {
        assert!(
            abs.is_multiple_of(8) && abs.checked_add(8).is_some_and(|e| e <= self.geom.file_len())
        );
        // SAFETY: inside the mapping (checked) and 8-aligned (checked).
        unsafe { AtomicU64::from_ptr(self.base.add(abs as usize).cast()) }
    }

    /// Copies heap bytes `[rel, rel + out.len())` into `out`. A racy read
    /// when another writer may own the extent: validate before use.
    #[inline]
    pub fn copy_from_heap(&self, rel: u64, out: &mut [u8]) {
        let abs = self.heap_range(rel, out.len());
        // SAFETY: the source is inside the heap (checked) and does not
        // overlap caller memory.
        unsafe { std::ptr::copy_nonoverlapping(self.base.add(abs), out.as_mut_ptr(), out.len()) }
    }

    /// Writes `bytes` at heap offset `rel`. The caller owns the extent
    /// (its lock entry names it as allocated for its write).
    #[inline]
    pub fn copy_to_heap(&self, rel: u64, bytes: &[u8]) {
        self.check_write();
        let abs = self.heap_range(rel, bytes.len());
        // SAFETY: the destination is inside the heap (checked) and the
        // mapping is writable (checked); caller memory does not overlap it.
        unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), self.base.add(abs), bytes.len()) }
    }

    /// A pointer to heap byte `rel`, with `[rel, rel + len)` checked inside
    /// the heap (for `get_ptr`).
    #[inline]
    pub fn heap_ptr(&self, rel: u64, len: usize) -> *const u8 {
        let abs = self.heap_range(rel, len);
        // SAFETY: inside the mapping (checked).
        unsafe { self.base.add(abs) }
    }

    /// Whether heap bytes `[rel, rel + key.len())` equal `key` (racy;
    /// validate).
    #[inline]
    pub fn heap_eq(&self, rel: u64, key: &[u8]) -> bool {
        let abs = self.heap_range(rel, key.len());
        // SAFETY: the range is inside the heap (checked).
        unsafe { racy_eq(self.base.add(abs), key) }
    }

    /// Checks that `[off, off + len)` lies in the extra section and returns
    /// its absolute offset in the mapping.
    fn extra_range(&self, off: usize, len: usize) -> usize {
        let end = off.checked_add(len).expect("extra range overflows");
        assert!(end as u64 <= self.geom.extra_len(), "range outside the extra section");
        self.geom.extra_offset() as usize + off
    }

    /// Copies bytes `[off, off + out.len())` of the extra section into
    /// `out`. A racy read: the caller validates what it copied (checksums).
    pub fn copy_from_extra(&self, off: usize, out: &mut [u8]) {
        let abs = self.extra_range(off, out.len());
        // SAFETY: the source range is inside the mapping (checked by
        // `extra_range`) and does not overlap caller memory.
        unsafe { std::ptr::copy_nonoverlapping(self.base.add(abs), out.as_mut_ptr(), out.len()) }
    }

    /// Writes `bytes` at `off` in the extra section. The caller holds the
    /// `optimize()` lock and writes only the bank no reader trusts.
    pub fn write_extra(&self, off: usize, bytes: &[u8]) {
        self.check_write();
        let abs = self.extra_range(off, bytes.len());
        // SAFETY: inside the mapping (checked), writable (checked).
        unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), self.base.add(abs), bytes.len()) }
    }

    /// Flushes `[off, off + len)` of the extra section to the file
    /// (`msync(MS_SYNC)`).
    pub fn flush_extra(&self, off: usize, len: usize) -> std::io::Result<()> {
        let abs = self.extra_range(off, len);
        self.map.flush_range(abs, len)
    }
}

/// One slot of a `Region`, its index checked once (`Region::slot`). The
/// accessors are those of `Region` without the repeated index check; lengths
/// are still checked against the slot's capacity.
#[derive(Clone, Copy)]
pub struct SlotRef<'a> {
    p: *mut u8,
    cap: usize,
    _region: std::marker::PhantomData<&'a Region>,
}

impl<'a> SlotRef<'a> {
    /// The slot's seqlock word.
    #[inline]
    pub fn seq(&self) -> &'a AtomicU64 {
        // SAFETY: `p` is a slot inside the mapping (checked by
        // `Region::slot`), slot-size aligned, alive for `'a`.
        unsafe { AtomicU64::from_ptr(self.p.cast()) }
    }

    /// The slot's meta word.
    #[inline]
    pub fn meta_word(&self) -> &'a AtomicU64 {
        // SAFETY: bytes 8..16 are inside the slot (slots are at least 64
        // bytes), 8-aligned (slots are slot-size aligned), alive for `'a`.
        unsafe { AtomicU64::from_ptr(self.p.add(format::SLOT_OFF_META).cast()) }
    }

    /// The meta word, decoded (racy; validate).
    #[inline]
    pub fn meta(&self) -> format::Meta {
        format::Meta::decode(self.meta_word().load(Ordering::Relaxed))
    }

    /// The u64 at byte `off` of the data area (racy; validate): the expiry
    /// time at 0, a heap reference after it. Panics when `off` is not
    /// 8-aligned or the word leaves the slot.
    #[inline]
    pub fn data_u64(&self, off: usize) -> u64 {
        assert!(off.is_multiple_of(8) && off + 8 <= self.cap);
        // SAFETY: data bytes `[off, off + 8)` lie inside the slot (checked)
        // and are 8-aligned (the data area starts at 16).
        unsafe { AtomicU64::from_ptr(self.p.add(SLOT_HEADER_SIZE + off).cast()) }
            .load(Ordering::Relaxed)
    }

    /// The expiry time of a record with meta `m`: the leading data word
    /// when it has one, else 0 (never).
    #[inline]
    pub fn expiry(&self, m: &format::Meta) -> u64 {
        if m.expires {
            self.data_u64(0)
        } else {
            0
        }
    }

    /// Copies `out.len()` bytes from byte `off` of the data area into `out`
    /// (a racy read: validate before using `out`). Panics when the range
    /// leaves the slot.
    #[inline(always)]
    pub fn copy_data(&self, off: usize, out: &mut [u8]) {
        assert!(off.checked_add(out.len()).is_some_and(|e| e <= self.cap));
        // SAFETY: the source range is inside the slot (checked above) and
        // does not overlap `out`, which is caller memory.
        unsafe {
            std::ptr::copy_nonoverlapping(
                self.p.add(SLOT_HEADER_SIZE + off),
                out.as_mut_ptr(),
                out.len(),
            )
        }
    }

    /// As `Region::prefetch_slot`, for this slot.
    #[inline(always)]
    pub fn prefetch(&self) {
        let size = self.cap + SLOT_HEADER_SIZE;
        // `wrapping_add` keeps the arithmetic safe; a prefetch is a hint.
        prefetch(self.p);
        if size >= Region::PREFETCH_BYTES {
            prefetch(self.p.wrapping_add(64));
        }
    }

    /// Whether the data area from byte `off` equals `bytes` (racy; validate).
    /// Panics when the range leaves the slot.
    #[inline(always)]
    pub fn data_eq(&self, off: usize, bytes: &[u8]) -> bool {
        assert!(off.checked_add(bytes.len()).is_some_and(|e| e <= self.cap));
        // SAFETY: `[off, off + len)` of the data area is inside the slot.
        unsafe { racy_eq(self.p.add(SLOT_HEADER_SIZE + off), bytes) }
    }
}

/// Whether the `key.len()` bytes at `p` equal `key`: plain unaligned reads
/// of racy bytes, validated by the caller's seqlock — whole 8-byte words,
/// then the last 8 (or 4) bytes again, overlapping, instead of a byte loop.
///
/// # Safety
/// `[p, p + key.len())` must lie inside the mapping.
#[inline(always)]
unsafe fn racy_eq(p: *const u8, key: &[u8]) -> bool {
    let n = key.len();
    let word = |i: usize| {
        // SAFETY: callers pass `i + 8 <= n`: inside the range.
        unsafe { p.add(i).cast::<u64>().read_unaligned() }
    };
    let mine = |i: usize| u64::from_ne_bytes(key[i..i + 8].try_into().expect("8 bytes"));
    if n >= 8 {
        let mut i = 0;
        while i + 8 <= n {
            if word(i) != mine(i) {
                return false;
            }
            i += 8;
        }
        return i == n || word(n - 8) == mine(n - 8);
    }
    if n >= 4 {
        let half = |i: usize| {
            // SAFETY: `i + 4 <= n`: inside the range.
            unsafe { p.add(i).cast::<u32>().read_unaligned() }
        };
        let mine4 = |i: usize| u32::from_ne_bytes(key[i..i + 4].try_into().expect("4 bytes"));
        return half(0) == mine4(0) && half(n - 4) == mine4(n - 4);
    }
    for (i, &b) in key.iter().enumerate() {
        // SAFETY: `i < n`: inside the range.
        if unsafe { p.add(i).read() } != b {
            return false;
        }
    }
    true
}

/// Asks the CPU to start loading the cache line of `p` (`_mm_prefetch`,
/// T0). A hint: it never faults, whatever `p` is.
#[inline(always)]
fn prefetch(p: *const u8) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: `_mm_prefetch` is a hint that never faults, for any address;
    // SSE is part of the x86_64 baseline.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(p.cast())
    };
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}
