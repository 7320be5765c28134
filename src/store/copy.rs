//! Online copies: `Store::copy_to` writes a consistent copy of a store that
//! other threads and processes keep reading and writing — LMDB's
//! `mdb_copy`, with its compacting mode (`mdb_copy -c`) as `COPY_COMPACT`.
//!
//! - Plain: every slot to the same index (`compact_to` with the source's
//!   heap size): same slots, UIDs and hash seed; the heap holds only live
//!   records, packed.
//! - `COPY_COMPACT`: the smallest store of the source's layout for its
//!   keys: a store of fixed size with `ceil(keys / 0.75)` slots (plus a
//!   sixteenth and 64 for keys written during the copy) and a heap of the
//!   live heap records' bytes plus a quarter, filled by a cursor
//!   (`cursor.rs`) with `set` and `set_ex` (the remaining TTL). UIDs are
//!   new (keys change slots).
//! - `COPY_OPTIMIZE`: `optimize()` on the copy, so it opens with its MPHF.
//!
//! What a copy holds (both modes): every key present, live and unexpired
//! for the whole copy, with a value written whole; a key written during the
//! copy with its old or its new value, or not at all. The file appears
//! whole or not at all: it is built under a temporary name, synced, then
//! linked to `path` (never over an existing file).

use std::fs::OpenOptions;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use crate::error::{Error, Result};
use crate::store::{temp_name, Options, Store};

/// `copy_to` flag: the smallest store for the source's keys (new UIDs).
pub const COPY_COMPACT: u32 = 1;
/// `copy_to` flag: build the copy's MPHF (`optimize()`).
pub const COPY_OPTIMIZE: u32 = 2;

impl Store {
    /// Writes a consistent copy of this store to a new file at `path` and
    /// returns it open read-write (see the module docs for the modes and
    /// what the copy holds). `flags`: `COPY_COMPACT` | `COPY_OPTIMIZE`.
    /// Errors: `InvalidArg` (unknown flag bits), `Exists` (`path` exists),
    /// `Full` (compacting: more keys or heap bytes were written during the
    /// copy than its slack held, twice: retry), `NoSpace`, `Io`, `Corrupt`
    /// (a damaged source slot), `Busy`. Safe while other threads and
    /// processes read and write this store; cost: one pass over the slots
    /// and the live records' bytes, plus `optimize()` when asked.
    pub fn copy_to(&self, path: impl AsRef<Path>, flags: u32) -> Result<Store> {
        let path = path.as_ref();
        if flags & !(COPY_COMPACT | COPY_OPTIMIZE) != 0 {
            return Err(Error::InvalidArg(
                "unknown copy flags (MAPH_COPY_COMPACT | MAPH_COPY_OPTIMIZE)",
            ));
        }
        let dst = if flags & COPY_COMPACT == 0 {
            let g = self.geometry();
            self.compact_to(path, if g.grows() { 0 } else { g.heap_len() })?
        } else {
            self.compact_copy(path)?
        };
        if flags & COPY_OPTIMIZE != 0 {
            dst.optimize()?;
        }
        Ok(dst)
    }

    /// `COPY_COMPACT`: a store sized for the keys, filled by a cursor; one
    /// retry with twice the slack when writers outran it.
    fn compact_copy(&self, path: &Path) -> Result<Store> {
        if path.exists() {
            return Err(Error::Exists);
        }
        let g = *self.geometry();
        let keys = self.stats().keys;
        let heap = self.live_heap_bytes();
        let mut slack = 1;
        loop {
            let extra_keys = slack * (keys / 16 + 64);
            let opts = Options {
                slot_size: g.slot_size(),
                heap_bytes: (heap + slack * heap / 4).max(64 << 10),
                ..Options::for_keys(keys + extra_keys, 0.75)
            };
            match self.fill_copy(path, &opts) {
                Err(Error::Full | Error::HeapFull { .. }) if slack == 1 => slack = 2,
                Err(Error::HeapFull { .. }) => return Err(Error::Full),
                r => return r,
            }
        }
    }

    fn fill_copy(&self, path: &Path, opts: &Options) -> Result<Store> {
        build_copy(path, opts, |dst| {
            for r in self.iter() {
                let (k, v) = r?;
                match self.ttl(&k) {
                    Ok(Some(ms)) => dst.set_ex(&k, &v, ms.max(1))?,
                    Ok(None) => dst.set(&k, &v)?,
                    // Deleted or expired since the cursor read it.
                    Err(Error::NotFound) => {}
                    Err(e) => return Err(e),
                }
            }
            Ok(())
        })
    }
}

/// Creates a store with `opts` under a temporary name beside `path`, lets
/// `fill` write it, syncs it and links it to `path` (never over an existing
/// file); the temporary name is removed whatever happens. So a copy is at
/// `path` whole or not at all. Used by both kinds of copy.
pub(crate) fn build_copy(
    path: &Path, opts: &Options, fill: impl FnOnce(&Store) -> Result<()>,
) -> Result<Store> {
    let tmp = temp_name(path);
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(|e| Error::from_io(&e, "creating the copy"))?;
    let built = Store::create_in(file, opts).and_then(|dst| {
        fill(&dst)?;
        dst.sync()?;
        std::fs::hard_link(&tmp, path).map_err(|e| Error::from_io(&e, "linking the copy"))?;
        Ok(dst)
    });
    let _ = std::fs::remove_file(&tmp);
    built
}

// The C flags are these values (src/ffi/store.rs).
const _: () = assert!(
    COPY_COMPACT == crate::ffi::store::MAPH_COPY_COMPACT
        && COPY_OPTIMIZE == crate::ffi::store::MAPH_COPY_OPTIMIZE
);
