//! `optimize()`: a minimal perfect hash over the keys present, stored in the
//! file so every process and every reopen uses it.
//!
//! Algorithm: BBHash (Limasset, Rizk, Chikhi, Peterlongo, "Fast and scalable
//! minimal perfect hashing for massive key sets", SEA 2017) through the
//! `boomphf` crate, at gamma 2, over the keys' 64-bit XXH3 hashes. Keys never
//! move: next to the MPHF the bank stores, for MPHF value `i`, a 2-byte entry
//! with the key's probe distance from its home slot (8 bits; 255 = "too far,
//! probe") and an 8-bit fingerprint of its hash. A lookup computes the MPHF,
//! checks the fingerprint, and reads exactly one slot, `home + distance`;
//! the full key is still compared there, and on any mismatch (a key deleted,
//! inserted after `optimize()`, or never present) the lookup falls back to
//! probing, so no key is ever missed.
//!
//! Persistence: the extra section holds two banks. `optimize()` writes the
//! bank the current generation does not use, flushes it, then publishes the
//! new generation in the header. Readers notice the header's generation
//! change on their next lookup and decode that bank into private memory,
//! validating its checksums; a bank torn by a crash or a concurrent
//! `optimize()` fails its checksum and is never used. A crash at any point
//! leaves the previous generation (or none) in force.
//!
//! Cost: building takes one pass over the slots plus the BBHash
//! construction, on a private thread pool from 100,000 keys on: measured
//! 162 ns per key at 1M keys and 256–418 ns per key at 10M on the 2-core
//! development machine (BENCHMARKS.md), and 2.46 bytes per key in the file
//! (about 3.5 bits of MPHF plus the 2-byte entry) and in each process that
//! uses it.

use std::sync::atomic::Ordering;

use boomphf::Mphf;

use crate::error::{Error, Result};
use crate::store::format::{
    self, BANK_HEADER_SIZE, BANK_MAGIC, BANK_OFF_GENERATION, BANK_OFF_HEADER_SUM, BANK_OFF_KEYS,
    BANK_OFF_MPHF_LEN, BANK_OFF_PAYLOAD_SUM, OFF_GENERATION, OFF_MPHF_KEYS, OFF_NEW_SINCE_OPT,
    OFF_OPT_LOCK, STATE_LIVE,
};
use crate::store::Store;
use crate::sync::robust_lock;
use crate::sync::seqlock::{is_locked, read_begin, read_validate};
use crate::sync::wait::Backoff;

/// BBHash's gamma: bits of level-0 bitvector per key.
const GAMMA: f64 = 2.0;
/// Distance entry meaning "not reachable through the MPHF: probe".
const FAR: u16 = 0xff;

/// The MPHF of one generation, decoded into this process's memory.
pub(crate) struct Index {
    mphf: Mphf<u64>,
    /// Entry per MPHF value: distance (low 8 bits) and fingerprint (high 8).
    table: Box<[u16]>,
}

/// What a handle knows of the store's MPHF: the generation it decoded, and
/// the index (None for generation 0 or a bank that failed validation).
pub(crate) struct View {
    pub generation: u64,
    pub index: Option<Index>,
}

impl View {
    pub fn none() -> View {
        View { generation: 0, index: None }
    }
}

#[inline]
fn fingerprint(h: u64) -> u16 {
    ((h >> 40) & 0xff) as u16
}

impl Index {
    /// The probe distance of the key with hash `h`, if the MPHF holds a key
    /// with the same fingerprint at a reachable distance.
    #[inline]
    pub fn distance(&self, h: u64) -> Option<u64> {
        let i = self.mphf.try_hash(&h)?;
        let e = *self.table.get(i as usize)?;
        (e >> 8 == fingerprint(h) && e & 0xff != FAR).then_some(u64::from(e & 0xff))
    }
}

/// What `optimize()` did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OptimizeReport {
    /// The new MPHF generation.
    pub generation: u64,
    /// Keys in the new MPHF.
    pub keys: u64,
    /// Keys left to probing: too far from home, or sharing a 64-bit hash.
    pub probing: u64,
    /// Bytes of the bank written (MPHF + table + bank header).
    pub bytes: u64,
}

/// Builds an index over `(hash, distance)` pairs. Pairs whose hash appears
/// more than once are left out (BBHash needs distinct items).
fn build(mut pairs: Vec<(u64, u64)>) -> (Mphf<u64>, Vec<u16>, u64) {
    pairs.sort_unstable_by_key(|p| p.0);
    let mut unique = Vec::with_capacity(pairs.len());
    let mut i = 0;
    while i < pairs.len() {
        let mut j = i + 1;
        while j < pairs.len() && pairs[j].0 == pairs[i].0 {
            j += 1;
        }
        if j == i + 1 {
            unique.push(pairs[i]);
        }
        i = j;
    }
    let dropped = (pairs.len() - unique.len()) as u64;
    drop(pairs);
    let hashes: Vec<u64> = unique.iter().map(|p| p.0).collect();
    // A private pool, made and dropped here: no global rayon threads that a
    // fork() could leave the child without.
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(8);
    let mphf = if hashes.len() < 100_000 || threads == 1 {
        Mphf::new(GAMMA, &hashes)
    } else {
        match rayon::ThreadPoolBuilder::new().num_threads(threads).build() {
            Ok(pool) => pool.install(|| Mphf::new_parallel(GAMMA, &hashes, None)),
            Err(_) => Mphf::new(GAMMA, &hashes),
        }
    };
    let mut table = vec![FAR; unique.len()];
    let mut far = dropped;
    for &(h, d) in &unique {
        let d = if d >= u64::from(FAR) {
            far += 1;
            FAR
        } else {
            d as u16
        };
        table[mphf.hash(&h) as usize] = (fingerprint(h) << 8) | d;
    }
    (mphf, table, far)
}

impl Store {
    /// Builds a minimal perfect hash over the keys present and stores it in
    /// the file (see the module docs). Readers are never blocked; writers in
    /// this and other processes may go on writing, and keys they insert
    /// meanwhile are found by probing. Errors: `ReadOnly`; `Busy` when
    /// another `optimize()` holds the lock past the wait limit; `TooLarge`
    /// if the MPHF outgrows its bank (never at gamma 2); `Io` when the bank
    /// cannot be flushed. Thread- and process-safe.
    pub fn optimize(&self) -> Result<OptimizeReport> {
        let r = self.region();
        if !r.writable() {
            return Err(Error::ReadOnly);
        }
        // Released when `_lock` drops, also if a panic unwinds through
        // `optimize_locked`: a panic never leaves the lock held.
        let (_lock, _) = robust_lock::lock(r.header_u32(OFF_OPT_LOCK))?;
        #[cfg(test)]
        if tests::PANIC_IN_OPTIMIZE.with(|p| p.replace(false)) {
            panic!("injected panic inside optimize()");
        }
        self.optimize_locked()
    }

    fn optimize_locked(&self) -> Result<OptimizeReport> {
        let r = self.region();
        let g = *r.geom();
        // One pass over the slots: (hash, probe distance) of every live key.
        // The key count is summed from counters in the file: trusted only
        // as a hint, and never past the slot count (a damaged counter asked
        // for an impossible allocation: found by fuzz/open).
        let used = self.slots_in_use();
        let mut pairs = Vec::with_capacity(self.stats().keys.min(used) as usize);
        let mut key = Vec::new();
        for idx in 0..used {
            let seq = r.seq(idx);
            let mut backoff = Backoff::new();
            loop {
                let w = read_begin(seq);
                if w == 0 {
                    break;
                }
                if is_locked(w) {
                    self.wait_locked_slot(idx, w, &mut backoff)?;
                    continue;
                }
                let state = r.meta(idx).state;
                let rec = self.rec_at(idx).filter(|rec| rec.kl > 0);
                let ok = state == STATE_LIVE && rec.is_some();
                let kl = rec.map_or(0, |rec| rec.kl);
                if let (true, Some(rec)) = (ok, rec) {
                    key.resize(kl, 0);
                    self.copy_key(&rec, &mut key);
                }
                if !read_validate(seq, w) {
                    continue;
                }
                if ok {
                    let h = self.hash(&key[..kl]);
                    // The distance inside the key's level: a lookup applies
                    // it in the level it is scanning (read.rs).
                    let loc = self.locate_level(h, self.level_of(idx));
                    let dist =
                        if idx >= loc.home { idx - loc.home } else { idx + loc.count - loc.home };
                    pairs.push((h, dist));
                }
                break;
            }
        }
        let count = pairs.len() as u64;
        let (mphf, table, probing) = build(pairs);
        let mphf_bytes =
            codec().serialize(&mphf).map_err(|_| Error::TooLarge("MPHF could not be encoded"))?;
        let mut payload = mphf_bytes;
        let mphf_len = payload.len() as u64;
        payload.reserve(table.len() * 2);
        for e in &table {
            payload.extend_from_slice(&e.to_le_bytes());
        }
        let bank_len = g.bank_len() as usize;
        if BANK_HEADER_SIZE + payload.len() > bank_len {
            return Err(Error::TooLarge("MPHF larger than its bank"));
        }
        let generation = r.header_u64(OFF_GENERATION).load(Ordering::Acquire) + 1;
        let bank = (generation % 2) as usize * bank_len;
        let mut head = [0u8; BANK_HEADER_SIZE];
        head[..8].copy_from_slice(&BANK_MAGIC);
        format::put64(&mut head, BANK_OFF_GENERATION, generation);
        format::put64(&mut head, BANK_OFF_KEYS, table.len() as u64);
        format::put64(&mut head, BANK_OFF_MPHF_LEN, mphf_len);
        format::put64(&mut head, BANK_OFF_PAYLOAD_SUM, format::checksum(&payload));
        let sum = format::checksum(&head[..BANK_OFF_HEADER_SUM]);
        format::put64(&mut head, BANK_OFF_HEADER_SUM, sum);
        // Invalidate the bank's header first, so that a crash mid-write
        // leaves a bank that fails validation, then write payload, header.
        let written = BANK_HEADER_SIZE + payload.len();
        // Banks are reserved on their file system when first written, not
        // at creation: `NoSpace` here, never `SIGBUS` below. A file system
        // that cannot reserve at all (`Io`) only holds stores created
        // sparse, which accepted that risk.
        match crate::sys::space::reserve_range(
            &self._file,
            g.extra_offset() + bank as u64,
            written as u64,
            "the MPHF bank",
        ) {
            Ok(()) | Err(Error::Io(..)) => {}
            Err(e) => return Err(e),
        }
        r.write_extra(bank, &[0u8; BANK_HEADER_SIZE]);
        r.write_extra(bank + BANK_HEADER_SIZE, &payload);
        r.write_extra(bank, &head);
        r.flush_extra(bank, written).map_err(|e| Error::from_io(&e, "flushing the MPHF bank"))?;
        r.header_u64(OFF_MPHF_KEYS).store(table.len() as u64, Ordering::Relaxed);
        r.header_u64(OFF_NEW_SINCE_OPT).store(0, Ordering::Relaxed);
        r.header_u64(OFF_GENERATION).store(generation, Ordering::Release);
        self.install_view(generation, Some(Index { mphf, table: table.into_boxed_slice() }));
        Ok(OptimizeReport { generation, keys: count, probing, bytes: written as u64 })
    }

    /// Decodes the bank of `generation`; None when it does not validate
    /// (torn by a crash, or overwritten by a newer `optimize()` meanwhile).
    pub(crate) fn load_index(&self, generation: u64) -> Option<Index> {
        let r = self.region();
        let bank_len = r.geom().bank_len() as usize;
        let bank = (generation % 2) as usize * bank_len;
        let mut head = [0u8; BANK_HEADER_SIZE];
        r.copy_from_extra(bank, &mut head);
        if head[..8] != BANK_MAGIC
            || format::get64(&head, BANK_OFF_GENERATION) != generation
            || format::get64(&head, BANK_OFF_HEADER_SUM)
                != format::checksum(&head[..BANK_OFF_HEADER_SUM])
        {
            return None;
        }
        let keys = format::get64(&head, BANK_OFF_KEYS);
        let mphf_len = format::get64(&head, BANK_OFF_MPHF_LEN);
        let payload_len = keys.checked_mul(2)?.checked_add(mphf_len)?;
        if keys > r.geom().slot_count() || payload_len > (bank_len - BANK_HEADER_SIZE) as u64 {
            return None;
        }
        let mut payload = vec![0u8; payload_len as usize];
        r.copy_from_extra(bank + BANK_HEADER_SIZE, &mut payload);
        if format::checksum(&payload) != format::get64(&head, BANK_OFF_PAYLOAD_SUM) {
            return None;
        }
        let (m, t) = payload.split_at(mphf_len as usize);
        // The limit bounds what a damaged length inside the encoding could
        // make the decoder allocate.
        let mphf: Mphf<u64> = codec().with_limit(m.len() as u64 * 2 + 4096).deserialize(m).ok()?;
        let table: Box<[u16]> =
            t.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect();
        Some(Index { mphf, table })
    }
}

use bincode::Options as _;

/// The MPHF's encoding: bincode, fixed-width little-endian integers.
fn codec() -> impl bincode::Options {
    bincode::DefaultOptions::new()
        .with_fixint_encoding()
        .with_little_endian()
        .reject_trailing_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    thread_local! {
        /// Set by a test: the next `optimize()` on this thread panics while
        /// holding the optimize lock.
        pub(super) static PANIC_IN_OPTIMIZE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    }

    #[test]
    fn panic_inside_optimize_leaves_the_store_optimizable() {
        let dir = std::env::temp_dir().join(format!("maph-opt-panic-{}", std::process::id()));
        let _ = std::fs::remove_file(&dir);
        let opts = crate::store::Options { slots: 1024, lock_count: 16, ..Default::default() };
        let s = Store::create(&dir, &opts).unwrap();
        for i in 0..500u32 {
            s.set(format!("k{i}").as_bytes(), b"v").unwrap();
        }
        PANIC_IN_OPTIMIZE.with(|p| p.set(true));
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| s.optimize()));
        assert!(r.is_err(), "the injected panic did not happen");
        let t = std::time::Instant::now();
        let report = s.optimize().expect("optimize after a panicked optimize");
        assert!(t.elapsed() < std::time::Duration::from_secs(1), "waited for a lock left held");
        assert_eq!(report.keys, 500);
        assert!(s.mphf_in_use());
        std::fs::remove_file(&dir).unwrap();
    }

    #[test]
    fn duplicate_hashes_are_left_to_probing_not_a_hang() {
        let pairs = vec![(7, 0), (7, 1), (9, 2), (11, 300)];
        let (mphf, table, probing) = build(pairs);
        assert_eq!(table.len(), 2, "only 9 and 11 are distinct");
        assert_eq!(probing, 3, "two duplicates and one too far");
        let idx = Index { mphf, table: table.into_boxed_slice() };
        assert_eq!(idx.distance(9), Some(2));
        assert_eq!(idx.distance(11), None);
    }

    #[test]
    fn serialized_size_fits_the_bank_budget() {
        // The bank reserves 6 bits of MPHF per key; BBHash at gamma 2 needs
        // about 3.5.
        let n = 200_000u64;
        let pairs: Vec<_> = (0..n).map(|i| (crate::hash::hash64(&i.to_le_bytes(), 1), 0)).collect();
        let (mphf, _, _) = build(pairs);
        let bytes = codec().serialize(&mphf).unwrap().len() as u64;
        assert!(bytes * 8 <= n * 6, "{} bits per key", bytes as f64 * 8.0 / n as f64);
    }
}
