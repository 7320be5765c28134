//! The store: safe Rust over the mapped slots. Create, open, get, set, del,
//! stats, check.
//!
//! Algorithm: open addressing with linear probing (Knuth, TAOCP vol. 3,
//! 6.4, algorithm L) from the key's home slot `fastrange(hash, slots)`
//! (Lemire, "A fast alternative to the modulo reduction", 2016), up to the
//! store's maximum probe distance. Deletion leaves a tombstone; a slot whose
//! seqlock word is 0 was never written and ends every probe. Each slot is
//! guarded by a seqlock (see `seqlock.rs`); writers of one key serialize on
//! the key's entry of the lock table (see `lock.rs`).
//!
//! Every method takes `&self` and is safe to call from many threads at once
//! on one `Store`, and from many processes mapping the same file.

pub mod batch;
mod compact;
pub mod copy;
mod ctrl;
pub mod cursor;
mod expiry;
mod flush;
pub mod format;
mod growth;
pub mod heap;
mod lock_table;
pub mod mphf;
pub(crate) mod raw;
mod read;
mod recovery;
pub mod shm;
mod stats;
mod uid;
mod write;

pub use stats::Stats;

use std::fs::{File, OpenOptions};
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::Path;
use std::sync::atomic::Ordering;

use arc_swap::ArcSwap;
use memmap2::{MmapOptions, MmapRaw};

use crate::error::{Error, Result};
use crate::store::format::{Geometry, HEADER_SIZE};
use crate::store::mphf::{Index, View};
use crate::store::raw::Region;

/// Parameters of a new store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Options {
    /// Number of slots (1 to 2^32-1). Each holds one key. 0 makes a
    /// growing store: it starts with 1,024 slots and adds levels of
    /// doubling size as keys arrive, up to `max_bytes` (see `growth.rs`
    /// and the README, "Stores that grow").
    pub slots: u64,
    /// Bytes per slot: a power of two from 64 to 65536; 128 by default. A
    /// record whose key plus value fit `slot_size - 16` bytes (8 fewer for a
    /// record with an expiry time) is stored in its slot; a larger one goes
    /// to the heap (`heap_bytes`). 128 holds W1's 112-byte records inline
    /// at 174 bytes per key allocated at load 0.75 (`BENCHMARKS.md`,
    /// `cargo bench --bench heap`); pick a larger size when most
    /// records are larger (see `BENCHMARKS.md`, "Values of any size").
    pub slot_size: u32,
    /// Bytes of the value heap, where records too large for their slot
    /// live (rounded up to 4 KiB). 0 picks the larger of a quarter of the
    /// slots' bytes and 128 bytes per slot (`max(slots * slot_size / 4,
    /// slots * 128)`), at least 64 KiB: room for every slot's record to
    /// spill ~100 bytes. The heap is reserved on
    /// its file system as it is used (1 MiB at creation, then in doubling
    /// steps), not at creation. A record larger than
    /// the heap answers `TooLarge`; one that does not fit the heap's free
    /// space now answers `Full`.
    pub heap_bytes: u64,
    /// Maximum probe distance; 0 picks `min(1024, slots)`.
    pub max_probes: u32,
    /// File mode bits of a new file, before the umask; 0 means 0600.
    pub mode: u32,
    /// Hash seed; 0 draws a random one from `getrandom`.
    pub seed: u64,
    /// Entries in the same-key lock table (a power of two); 0 picks one
    /// from the store's size (`format::default_lock_count`: at most 4096
    /// entries and about 4 MiB, at least 16). Each entry takes 64 +
    /// slot_size bytes.
    pub lock_count: u32,
    /// `false` (the default): reserve the whole store on its file system at
    /// creation (`sys::space::reserve`), so no later access can fault for
    /// lack of space, and fail with `Error::NoSpace` when the room is not
    /// there. `true`: a sparse store, created at once and taking space only
    /// as pages are written — **a write that needs a page a full file
    /// system cannot back then kills the process with `SIGBUS`**.
    /// Not for a growing store (`InvalidArg`): it reserves its space as it
    /// grows.
    pub sparse: bool,
    /// A growing store's limit: the most bytes it reserves on its file
    /// system, slots and heap together. 0 (the default) takes the size of
    /// the file system it is created on (for an anonymous store, of
    /// physical memory), at most 1 TiB. Its address space is reserved up
    /// front: a mapping of about twice the limit. Must be 0 for a store
    /// of fixed size.
    pub max_bytes: u64,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            slots: 65536,
            slot_size: format::DEFAULT_SLOT_SIZE,
            heap_bytes: 0,
            max_probes: 0,
            mode: 0o600,
            seed: 0,
            lock_count: 0,
            sparse: false,
            max_bytes: 0,
        }
    }
}

impl Options {
    /// Options for `keys` keys at load factor `load` (slots = ceil(keys / load)).
    pub fn for_keys(keys: u64, load: f64) -> Options {
        Options { slots: ((keys as f64 / load).ceil() as u64).max(1), ..Options::default() }
    }

    /// The geometry of a new store with these options in `file` (whose
    /// file system sizes a growing store's default limit).
    fn geometry(&self, file: &File) -> Result<Geometry> {
        if self.slots == 0 {
            return self.growing_geometry(file);
        }
        if self.max_bytes != 0 {
            return Err(Error::InvalidArg("max_bytes is for a growing store (slots = 0)"));
        }
        let max_probes = match self.max_probes {
            0 => format::DEFAULT_MAX_PROBES.min(self.slots.min(u64::from(u32::MAX)) as u32),
            p => p,
        };
        let lock_count = match self.lock_count {
            0 => format::default_lock_count(self.slots, self.slot_size),
            n => n,
        };
        let seed = match self.seed {
            0 => random_seed()?,
            s => s,
        };
        let heap_bytes = match self.heap_bytes {
            0 => (self.slots.saturating_mul(u64::from(self.slot_size)) / 4)
                .max(self.slots.saturating_mul(128))
                .max(64 << 10),
            b => b,
        };
        Geometry::new(self.slots, self.slot_size, max_probes, lock_count, seed, heap_bytes)
    }

    fn growing_geometry(&self, file: &File) -> Result<Geometry> {
        if self.sparse {
            return Err(Error::InvalidArg(
                "a growing store reserves its space as it grows: it cannot be sparse",
            ));
        }
        let base = format::GROW_BASE_SLOTS;
        let max_probes = match self.max_probes {
            0 => format::DEFAULT_MAX_PROBES.min(base as u32),
            p => p,
        };
        let lock_count = match self.lock_count {
            0 => format::default_lock_count(1 << 20, self.slot_size),
            n => n,
        };
        let seed = match self.seed {
            0 => random_seed()?,
            s => s,
        };
        let limit = match self.max_bytes {
            0 => crate::sys::space::capacity(file)?.min(format::DEFAULT_LIMIT_CAP),
            b => b,
        };
        Geometry::new_growing(self.slot_size, max_probes, lock_count, seed, self.heap_bytes, limit)
    }
}

/// How to open an existing store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpenMode {
    /// Reads only; every write answers `Error::ReadOnly`.
    ReadOnly,
    /// Reads and writes.
    ReadWrite,
}

/// Where a key lives in one level: home slot, tag, lock entry, and the
/// level's slots `[first, first + count)`, inside which its probe
/// sequence wraps.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Loc {
    pub home: u64,
    pub tag: u32,
    pub lock: usize,
    pub first: u64,
    pub count: u64,
}

/// A value found by `Store::get_ref`: a pointer into the mapping and the
/// token that tells whether it is still the same value.
#[derive(Clone, Copy, Debug)]
pub struct ValueRef {
    /// First byte of the value, inside the mapping.
    pub ptr: *const u8,
    /// Length in bytes.
    pub len: usize,
    /// Pass to `Store::ref_valid`.
    pub token: u64,
}

/// An open store. See the module docs.
pub struct Store {
    /// The background flush thread, if any: first, so that it is stopped
    /// and joined before the mapping below is dropped (`flush.rs`).
    flusher: flush::Flusher,
    region: Region,
    /// The MPHF generation this handle decoded; refreshed when the header's
    /// generation moves.
    view: ArcSwap<View>,
    refresh: std::sync::Mutex<()>,
    pub(crate) _file: File,
}

impl Store {
    /// Creates a new store file at `path`. Errors with `Exists` if the path
    /// exists, `InvalidArg` for options out of range, `NoSpace` when its file
    /// system cannot reserve the whole file (unless `opts.sparse`), `Io`
    /// when the file cannot be written. The file appears whole or not at
    /// all: it is built and reserved under a temporary name, linked into
    /// place, and removed on any error.
    pub fn create(path: impl AsRef<Path>, opts: &Options) -> Result<Store> {
        let path = path.as_ref();
        let mode = if opts.mode == 0 { 0o600 } else { opts.mode & 0o7777 };
        let tmp = temp_name(path);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&tmp)
            .map_err(|e| Error::from_io(&e, "creating the store file"))?;
        let built = opts.geometry(&file).and_then(|geom| {
            Store::init_file(&file, &geom, opts.sparse)?;
            std::fs::hard_link(&tmp, path)
                .map_err(|e| Error::from_io(&e, "linking the store file"))?;
            Ok(geom)
        });
        let _ = std::fs::remove_file(&tmp);
        Store::map(file, built?, true)
    }

    /// Builds a new store in `file` (empty, open read-write) and maps it.
    pub(crate) fn create_in(file: File, opts: &Options) -> Result<Store> {
        let geom = opts.geometry(&file)?;
        Store::init_file(&file, &geom, opts.sparse)?;
        Store::map(file, geom, true)
    }

    /// Sizes `file` for `geom`, reserves its space unless `sparse`, and
    /// writes the header.
    fn init_file(file: &File, geom: &Geometry, sparse: bool) -> Result<()> {
        file.set_len(geom.file_len()).map_err(|e| Error::from_io(&e, "sizing the store file"))?;
        // Header, lock table, control bytes and slots now; the MPHF banks
        // when `optimize()` first writes one (mphf.rs) and the heap as it is
        // used (heap.rs): a store that never spills or optimizes takes
        // neither's bytes.
        let heap_reserved = if sparse { geom.heap_len() } else { 0 };
        if geom.grows() {
            // Header, lock table and level 0 (its control bytes and
            // slots); the next levels as the store grows (growth.rs).
            let ctrl_end = (geom.ctrl_offset() + geom.level_count(0)).next_multiple_of(4096);
            crate::sys::space::reserve(file, ctrl_end, "the store")?;
            let slots = geom.level_count(0) * u64::from(geom.slot_size());
            crate::sys::space::reserve_range(file, geom.slots_offset(), slots, "the store")?;
        } else if !sparse {
            crate::sys::space::reserve(file, geom.extra_offset(), "the store")?;
        }
        let mut h = [0u8; HEADER_SIZE];
        geom.encode(&mut h);
        format::put64(&mut h, format::OFF_HEAP_RESERVED, heap_reserved);
        file.write_all_at(&h, 0).map_err(|e| Error::from_io(&e, "writing the header"))
    }

    /// Opens an existing store. Validates the header and the file's length
    /// before mapping anything: `Corrupt` for a file that is not a store or
    /// is damaged, `Version` for another format version, `Io` when the file
    /// cannot be opened.
    pub fn open(path: impl AsRef<Path>, mode: OpenMode) -> Result<Store> {
        let file = OpenOptions::new()
            .read(true)
            .write(mode == OpenMode::ReadWrite)
            .open(path.as_ref())
            .map_err(|e| Error::from_io(&e, "opening the store file"))?;
        Store::from_file(file, mode)
    }

    /// Opens a store from an open file (a regular file or a shared-memory
    /// object), validating it as `open` does.
    pub fn from_file(file: File, mode: OpenMode) -> Result<Store> {
        let len =
            file.metadata().map_err(|e| Error::from_io(&e, "reading the file's length"))?.len();
        let mut h = vec![0u8; HEADER_SIZE.min(len as usize)];
        file.read_exact_at(&mut h, 0).map_err(|e| Error::from_io(&e, "reading the header"))?;
        let geom = Geometry::decode(&h, len)?;
        Store::map(file, geom, mode == OpenMode::ReadWrite)
    }

    fn map(file: File, geom: Geometry, writable: bool) -> Result<Store> {
        let len = geom.file_len() as usize;
        let mut mo = MmapOptions::new();
        mo.len(len);
        let map: MmapRaw = if writable { mo.map_raw(&file) } else { mo.map_raw_read_only(&file) }
            .map_err(|e| Error::from_io(&e, "mapping the store"))?;
        let store = Store {
            flusher: flush::Flusher::default(),
            region: Region::new(map, geom, writable),
            view: ArcSwap::from_pointee(View::none()),
            refresh: std::sync::Mutex::new(()),
            _file: file,
        };
        // Huge pages where the memory allows (a hint; errors change nothing).
        let _ = store.region.advise_huge_pages();
        store.current_view();
        Ok(store)
    }

    /// Whether lookups use an MPHF (after `optimize()`, here or in another
    /// process, and while its bank validates).
    pub fn mphf_in_use(&self) -> bool {
        self.current_view().index.is_some()
    }

    /// The home slot of `key`: where its probe sequence starts.
    pub fn home_slot(&self, key: &[u8]) -> u64 {
        self.home_of(self.hash(key))
    }

    pub(crate) fn region(&self) -> &Region {
        &self.region
    }

    /// The MPHF view matching the header's generation, decoding the bank
    /// when another process (or this one) has run `optimize()`.
    #[inline]
    pub(crate) fn current_view(&self) -> arc_swap::Guard<std::sync::Arc<View>> {
        let g = self.region.header_u64(format::OFF_GENERATION).load(Ordering::Acquire);
        let v = self.view.load();
        if v.generation == g {
            return v;
        }
        drop(v);
        self.refresh_view(g);
        self.view.load()
    }

    #[cold]
    fn refresh_view(&self, mut g: u64) {
        let _serial = self.refresh.lock().unwrap_or_else(|e| e.into_inner());
        for _ in 0..4 {
            if self.view.load().generation == g {
                return;
            }
            match self.load_index(g) {
                Some(index) => return self.install_view(g, Some(index)),
                None => {
                    // Torn by a newer optimize(): look again.
                    let now =
                        self.region.header_u64(format::OFF_GENERATION).load(Ordering::Acquire);
                    if now == g {
                        break;
                    }
                    g = now;
                }
            }
        }
        // A bank that does not validate: probe only, until the next generation.
        self.install_view(g, None);
    }

    pub(crate) fn install_view(&self, generation: u64, index: Option<Index>) {
        self.view.store(std::sync::Arc::new(View { generation, index }));
    }

    /// The home slot of hash `h` in level 0 (the only level of a store of
    /// fixed size).
    #[inline]
    pub(crate) fn home_of(&self, h: u64) -> u64 {
        ((u128::from(h) * u128::from(self.region.geom().level_base())) >> 64) as u64
    }

    /// The store's validated geometry.
    pub fn geometry(&self) -> &Geometry {
        self.region.geom()
    }

    /// Whether writes are allowed.
    pub fn writable(&self) -> bool {
        self.region.writable()
    }

    /// Largest key length plus value length stored in a slot, in bytes;
    /// larger records go to the heap.
    pub fn slot_capacity(&self) -> usize {
        self.region.geom().slot_capacity()
    }

    /// The 64-bit hash of `key` with this store's seed.
    #[inline]
    pub fn hash(&self, key: &[u8]) -> u64 {
        crate::hash::hash64(key, self.region.geom().seed())
    }

    #[inline]
    pub(crate) fn locate(&self, key: &[u8]) -> Loc {
        self.locate_hashed(self.hash(key))
    }

    /// Where the key of hash `h` lives in level 0.
    #[inline]
    pub(crate) fn locate_hashed(&self, h: u64) -> Loc {
        self.locate_level(h, 0)
    }

    /// Slot `idx` (at most one level's length past `loc`'s level start)
    /// wrapped into `loc`'s level.
    #[inline]
    fn wrap(&self, loc: &Loc, idx: u64) -> u64 {
        if idx >= loc.first + loc.count {
            idx - loc.count
        } else {
            idx
        }
    }

    /// The slot after `idx` in `loc`'s level's probe order.
    #[inline]
    pub(crate) fn next_slot(&self, loc: &Loc, idx: u64) -> u64 {
        if idx + 1 == loc.first + loc.count {
            loc.first
        } else {
            idx + 1
        }
    }

    pub(crate) fn check_key(&self, key: &[u8]) -> Result<()> {
        if key.is_empty() {
            return Err(Error::InvalidArg("empty key"));
        }
        if key.len() > format::MAX_KEY_LEN {
            return Err(Error::TooLarge("key longer than 65535 bytes"));
        }
        Ok(())
    }

    /// Faults the whole store into this process's page tables now
    /// (`madvise(MADV_POPULATE_READ)`), so that later lookups take no
    /// first-touch page fault. Call it in each worker after `fork()`: a
    /// child inherits the mapping but not its page-table entries. Measured:
    /// 44–48 ms for a 1 GiB table in memory with one worker, up to ~150 ms
    /// each with 8 workers on 2 cores (BENCHMARKS.md, W3); for a file store
    /// not in the page cache, it reads the file. Errors: `Io` (for
    /// example `EINVAL` on kernels before 5.14).
    ///
    /// A growing store faults in what it uses: its levels in use and the
    /// heap's reserved bytes.
    pub fn prefault(&self) -> Result<()> {
        let g = *self.region.geom();
        let err = |e: std::io::Error| Error::from_io(&e, "prefaulting the mapping");
        if !g.grows() {
            return self.region.populate(0, g.file_len()).map_err(err);
        }
        let used = self.slots_in_use();
        let heap = self.region.header_u64(format::OFF_HEAP_RESERVED).load(Ordering::Relaxed);
        self.region.populate(0, g.ctrl_offset() + used).map_err(err)?;
        self.region.populate(g.slots_offset(), used * u64::from(g.slot_size())).map_err(err)?;
        self.region.populate(g.heap_offset(), heap.min(g.heap_len())).map_err(err)
    }

    /// Flushes the whole mapping to the file (`msync(MS_SYNC)`).
    pub fn sync(&self) -> Result<()> {
        self.region.map().flush().map_err(|e| Error::from_io(&e, "syncing the store"))
    }
}

/// A temporary name beside `path` (same directory, so `link` works), short
/// enough for any file name that fits `NAME_MAX`.
pub(crate) fn temp_name(path: &Path) -> std::path::PathBuf {
    use std::sync::atomic::AtomicU64;
    static N: AtomicU64 = AtomicU64::new(0);
    let name = format!(".maph-tmp-{}-{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed));
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.join(name),
        _ => name.into(),
    }
}

/// A random 64-bit seed from `getrandom(2)`; never 0.
pub(crate) fn random_seed() -> Result<u64> {
    let mut b = [0u8; 8];
    // SAFETY: writes at most 8 bytes into `b`.
    let n = unsafe { libc::getrandom(b.as_mut_ptr().cast(), 8, 0) };
    if n != 8 {
        return Err(Error::last_os("drawing a random seed"));
    }
    Ok(u64::from_le_bytes(b).max(1))
}
