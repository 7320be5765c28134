//! `open`: arbitrary bytes as a store file and as a queue set.
//!
//! Input: one flags byte, then the file.
//! - bit 0: recompute the header checksum (store: bytes 120..128 = XXH3-64
//!   of [0, 120), `format::OFF_CHECKSUM`; queue set: 88..96 of [0, 88)), so
//!   mutations reach the checks behind it;
//! - bit 1: zero-extend the file to the length its header names (at most
//!   `MAX_LEN`), so seeds can be stored without their zero tail;
//! - bit 2: also open the bytes as a queue set (with the same two fix-ups
//!   applied to the queue header's checksum and total length);
//! - bit 3: the rest is the file in extent form (`maph_fuzz::to_extents`:
//!   offset u32, length u32, bytes; zeros elsewhere), written into a sparse
//!   file. A growing store's file is its whole address space (several MiB,
//!   its heap and MPHF banks past every level it may ever have): flat, a
//!   seed of one would be MiBs of zeros, past libFuzzer's 1 MiB input cap;
//!   in extent form it is its non-zero bytes. Without bit 3 the rest is the
//!   file's bytes from offset 0.
//!
//! Then every operation that reads the file runs, read-only and
//! read-write: each answers `Ok` or an `Error`, never a crash, a hang or an
//! access outside the mapping (AddressSanitizer and SIGSEGV/SIGBUS would
//! show it).
#![no_main]

use std::fs::File;
use std::os::fd::AsRawFd;
use std::os::unix::fs::FileExt;

use libfuzzer_sys::fuzz_target;
use maph::queue::QueueSet;
use maph::store::format::checksum;
use maph::{Error, OpenMode, Store};
use maph_fuzz::{from_extents, memfd_with};

/// Largest file the harness builds (keeps each run fast and memory small).
const MAX_LEN: u64 = maph_fuzz::EXTENTS_MAX_END;
/// Header offsets: the checksum fields (store: `format::OFF_CHECKSUM`, 120,
/// covering `[0, 120)`; queue set: 88) and the length fields (store
/// `file_len` at 80, queue `total_len` at 72).
const STORE_OFF_CHECKSUM: usize = maph::store::format::OFF_CHECKSUM;
const QUEUE_OFF_CHECKSUM: usize = 88;
const STORE_OFF_FILE_LEN: usize = maph::store::format::OFF_FILE_LEN;
const QUEUE_OFF_TOTAL_LEN: usize = 72;

fuzz_target!(|data: &[u8]| {
    let Some((&flags, body)) = data.split_first() else { return };
    let parts: Vec<(u64, &[u8])> =
        if flags & 8 != 0 { from_extents(body) } else { vec![(0, body)] };
    let store = memfd_with(&[], 0);
    build(&store, &parts, flags, STORE_OFF_CHECKSUM, STORE_OFF_FILE_LEN);
    store_dead_owners(&store);
    run_store(&store);
    if flags & 4 != 0 {
        run_queue(&parts, flags);
    }
});

/// Writes `parts` into the empty `file` and applies the fix-ups `flags`
/// ask for: the length its header names (bit 1), then the header checksum
/// (bit 0).
fn build(file: &File, parts: &[(u64, &[u8])], flags: u8, sum_off: usize, len_off: usize) {
    let mut len = 0u64;
    for &(off, bytes) in parts {
        file.write_all_at(bytes, off).expect("writing the file");
        len = len.max(off + bytes.len() as u64);
    }
    if flags & 2 != 0 && len >= (len_off + 8) as u64 {
        let want = read_u64(file, len_off as u64);
        if want <= MAX_LEN {
            len = len.max(want);
        }
    }
    file.set_len(len).expect("sizing the file");
    if flags & 1 != 0 && len >= (sum_off + 8) as u64 {
        let mut h = vec![0u8; sum_off];
        file.read_exact_at(&mut h, 0).unwrap();
        file.write_all_at(&checksum(&h).to_le_bytes(), sum_off as u64).unwrap();
    }
}

fn read_u64(file: &File, off: u64) -> u64 {
    let mut w = [0u8; 8];
    file.read_exact_at(&mut w, off).unwrap();
    u64::from_le_bytes(w)
}

fn file_len(file: &File) -> u64 {
    file.metadata().unwrap().len()
}

/// Reads `[off, off + len)` of `file` (clipped to its length), lets `f`
/// change it and writes it back.
fn patch(file: &File, off: u64, len: u64, f: impl FnOnce(&mut [u8])) {
    let end = off.saturating_add(len).min(file_len(file));
    if end <= off {
        return;
    }
    let mut b = vec![0u8; (end - off) as usize];
    file.read_exact_at(&mut b, off).unwrap();
    f(&mut b);
    file.write_all_at(&b, off).unwrap();
}

/// A lock owner word naming a process that runs (pid 1, 2, this one...)
/// makes every operation that needs that lock wait 2 s and answer `Busy`:
/// documented behaviour (liveness is by pid), but it would make the fuzzer
/// crawl. Such pids are moved above the kernel's `pid_max` (2^22), so they
/// name dead processes and the takeover and repair paths still run.
fn dead_owner(b: &mut [u8], off: usize) {
    if let Some(w) = b.get_mut(off..off + 4) {
        let pid = u32::from_le_bytes(w.try_into().unwrap());
        if pid != 0 && pid < (1 << 22) {
            w.copy_from_slice(&(pid | 1 << 30).to_le_bytes());
        }
    }
}

/// `dead_owner` for the store's optimize, heap and growth locks and every
/// lock-table entry.
fn store_dead_owners(file: &File) {
    use maph::store::format::{Geometry, OFF_GROW_LOCK, OFF_HEAP_LOCK, OFF_OPT_LOCK};
    let len = file_len(file);
    let mut header = None;
    patch(file, 0, 4096, |h| {
        for off in [OFF_OPT_LOCK, OFF_HEAP_LOCK, OFF_GROW_LOCK] {
            dead_owner(h, off);
        }
        header = Geometry::decode(h, len).ok();
    });
    let Some(g) = header else { return };
    let stride = maph::store::format::lock_stride(g.slot_size());
    patch(file, g.locks_offset(), u64::from(g.lock_count()) * stride, |t| {
        for i in 0..u64::from(g.lock_count()) {
            match usize::try_from(i * stride) {
                Ok(off) if off < t.len() => dead_owner(t, off),
                _ => break,
            }
        }
    });
}

/// `dead_owner` for a queue set's admin lock and both locks of each queue
/// (queue records of 256 bytes from 4096; owners at +0 and +64).
fn queue_dead_owners(file: &File) {
    let mut n = 0u64;
    patch(file, 0, 4096, |h| {
        dead_owner(h, 128);
        n = h.get(28..32).map_or(0, |w| u32::from_le_bytes(w.try_into().unwrap())).into();
    });
    patch(file, 4096, n * 256, |t| {
        for rec in (0..t.len()).step_by(256) {
            dead_owner(t, rec);
            dead_owner(t, rec + 64);
        }
    });
}

fn run_store(file: &File) {
    let path = format!("/proc/self/fd/{}", file.as_raw_fd());
    // Read-write first: its reads repair what a dead writer left, so the
    // read-only handle below does not wait 2 s on the same locked slot.
    if !run_read_write(file) {
        return;
    }
    // Read-only: the same object through a read-only descriptor.
    if let Ok(ro) = Store::open(&path, OpenMode::ReadOnly) {
        exercise(&ro);
    }
}

/// Opens `file` read-write and runs reads, writes, `recover`, `optimize`;
/// false once something answered `Busy`.
fn run_read_write(file: &File) -> bool {
    let Ok(rw) = Store::from_file(file.try_clone().unwrap(), OpenMode::ReadWrite) else {
        return true;
    };
    if !exercise(&rw) {
        return false;
    }
    let writes = || -> maph::Result<()> {
        let busy = |r: maph::Result<()>| {
            if matches!(r, Err(Error::Busy)) {
                Err(Error::Busy)
            } else {
                Ok(())
            }
        };
        busy(rw.set(b"k1", b"v"))?;
        busy(rw.add(b"fresh", b""))?;
        busy(rw.incr(b"n", 3).map(drop))?;
        busy(rw.del(b"k2"))?;
        busy(rw.expire(b"k3", 1000))?;
        busy(rw.recover().map(drop))?;
        busy(rw.optimize().map(drop))?;
        Ok(())
    };
    if writes().is_err() || !exercise(&rw) {
        return false;
    }
    let _ = rw.flush_expired(0);
    true
}

/// Every read-side operation, results ignored (only crashes count), until
/// one answers `Busy`: a slot locked by a writer that cannot be repaired
/// (a read-only handle, a live pid named in the file) makes every call that
/// meets it wait the full 2 s, so one `Busy` is enough to know. Returns
/// whether the handle is still worth using.
fn exercise(s: &Store) -> bool {
    fn go<T>(r: maph::Result<T>) -> Option<()> {
        match r {
            Err(Error::Busy) => None,
            _ => Some(()),
        }
    }
    let mut buf = [0u8; 256];
    let mut run = || -> Option<()> {
        for k in [&b"k1"[..], b"k2", b"k3", b"n", b"a"] {
            go(s.get(k, &mut buf))?;
            go(s.ttl(k))?;
            if let Ok(uid) = s.uid(k) {
                go(s.get_by_uid(uid, &mut buf))?;
            }
        }
        for idx in 0..8u64 {
            go(s.get_by_uid(idx, &mut buf))?;
            go(s.key_by_uid(idx, &mut buf))?;
            go(s.get_by_uid((1 << 32) | idx, &mut buf))?;
        }
        let keys: [&[u8]; 3] = [b"k1", b"k2", b"zz"];
        let (mut b0, mut b1, mut b2) = ([0u8; 64], [0u8; 64], [0u8; 64]);
        let mut bufs: [&mut [u8]; 3] = [&mut b0, &mut b1, &mut b2];
        let mut out = [Ok(0), Ok(0), Ok(0)];
        s.mget(&keys, &mut bufs, &mut out);
        for r in out {
            go(r)?;
        }
        let _ = s.stats();
        let _ = s.check();
        let _ = s.mphf_in_use();
        Some(())
    };
    run().is_some()
}

fn run_queue(parts: &[(u64, &[u8])], flags: u8) {
    let name = format!("maph-fuzz-open-{}", std::process::id());
    let path = format!("/dev/shm/{name}");
    let _ = std::fs::remove_file(&path);
    {
        let f = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)
            .expect("creating the shm object");
        build(&f, parts, flags, QUEUE_OFF_CHECKSUM, QUEUE_OFF_TOTAL_LEN);
        queue_dead_owners(&f);
        // `open` waits up to 2 s for a set whose magic is still zero (its
        // creator may be building it): such inputs would only be slow, so
        // they are not opened here (tests/queue.rs covers that wait).
        let mut magic = [0u8; 8];
        if f.read_exact_at(&mut magic, 0).is_err() || magic == [0; 8] {
            drop(f);
            let _ = std::fs::remove_file(&path);
            return;
        }
    }
    let opened = QueueSet::open(&name);
    let _ = std::fs::remove_file(&path);
    let Ok(q) = opened else { return };
    let _ = q.audit();
    let n = q.queue_count().min(8);
    for i in 0..n {
        let _ = q.len(i);
        let _ = q.name(i);
    }
    for e in 0..q.elem_count().min(16) {
        let _ = q.locate(e);
    }
    let _ = q.held(None);
    let _ = q.reclaim(None);
    let mut out = [0u32; 4];
    for i in 0..n {
        if let Ok(k) = q.pull_many(i, &mut out) {
            let _ = q.push_many((i + 1) % n, &out[..k]);
        }
    }
    let _ = q.audit();
}
