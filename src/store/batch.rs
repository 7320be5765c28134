//! Batches: `mget` and `mset` over many keys.
//!
//! Keys are taken in groups of `GROUP`: the group's hashes are computed
//! together (`hash_batch`: AVX2 lanes where the CPU has them), then every
//! key's control word and home slot (its first cache lines) are
//! prefetched, and only then are the control words and slots read, so the group's cache misses overlap
//! instead of following one another (memory-level
//! parallelism; the batched, prefetched lookups of MICA, Lim et al.,
//! NSDI 2014).
//! Every key gets its own result; one key's failure does not stop the
//! others.

use crate::error::{Error, Result};
use crate::store::Store;

/// Keys per group: enough outstanding misses to fill the line-fill buffers
/// (10-12 on current x86 cores) with a little slack.
pub const GROUP: usize = 16;

impl Store {
    /// Hashes `keys` (one group) into `out`.
    #[inline]
    fn hash_group(&self, keys: &[&[u8]], out: &mut [u64]) {
        crate::hash::batch::hash_batch(keys, self.geometry().seed(), out);
    }

    /// Looks up every key of `keys`, copying each value into the buffer of
    /// the same index in `bufs`; `out[i]` gets the value's length or the
    /// key's error (`NotFound`, `BufferTooSmall(n)`, `InvalidArg` for an
    /// empty key, `TooLarge`, `Corrupt`, `Busy`). `keys`, `bufs` and `out`
    /// must have the same length (panics otherwise). Lock-free, thread- and
    /// process-safe.
    pub fn mget(&self, keys: &[&[u8]], bufs: &mut [&mut [u8]], out: &mut [Result<usize>]) {
        assert!(keys.len() == bufs.len() && keys.len() == out.len(), "mget: lengths differ");
        let r = self.region();
        let mut hashes = [0u64; GROUP];
        let mut locs = [None; GROUP];
        for start in (0..keys.len()).step_by(GROUP) {
            let end = (start + GROUP).min(keys.len());
            let ks = &keys[start..end];
            let hs = &mut hashes[..ks.len()];
            self.hash_group(ks, hs);
            // Start every key's control word and home slot loading before
            // reading any of them.
            for (j, &h) in hs.iter().enumerate() {
                let loc = self.locate_hashed(h);
                r.prefetch_ctrl(loc.home / 8);
                r.prefetch_slot(loc.home);
                locs[j] = Some(loc);
            }
            for (j, &k) in ks.iter().enumerate() {
                let i = start + j;
                let buf = &mut *bufs[i];
                let loc = locs[j].expect("set above");
                out[i] = self.check_key(k).and_then(|()| {
                    if let Some(n) = self.get_at_home(k, hs[j], buf) {
                        return Ok(n);
                    }
                    let (vl, _, _) = self.probe_from(k, hs[j], &loc, |rec| {
                        if rec.vl <= buf.len() {
                            self.copy_value(rec, &mut buf[..rec.vl]);
                        }
                        rec.vl
                    })?;
                    if vl > buf.len() {
                        return Err(Error::BufferTooSmall(vl));
                    }
                    Ok(vl)
                });
            }
        }
    }

    /// Sets every `keys[i]` to `vals[i]`; `out[i]` gets the key's result
    /// (errors as `set`). Slices must have the same length (panics
    /// otherwise). Each key is set atomically; the batch as a whole is not a
    /// transaction. Thread- and process-safe.
    pub fn mset(&self, keys: &[&[u8]], vals: &[&[u8]], out: &mut [Result<()>]) {
        assert!(keys.len() == vals.len() && keys.len() == out.len(), "mset: lengths differ");
        let r = self.region();
        let mut hashes = [0u64; GROUP];
        for start in (0..keys.len()).step_by(GROUP) {
            let end = (start + GROUP).min(keys.len());
            let ks = &keys[start..end];
            let hs = &mut hashes[..ks.len()];
            self.hash_group(ks, hs);
            for &h in hs.iter() {
                r.prefetch_slot(self.home_of(h));
            }
            for (j, &h) in hs.iter().enumerate() {
                let i = start + j;
                out[i] = self.set_hashed(keys[i], vals[i], h);
            }
        }
    }
}
