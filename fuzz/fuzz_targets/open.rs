//! `open`: arbitrary bytes as a store file and as a queue set.
//!
//! Input: one flags byte, then the file's bytes.
//! - bit 0: recompute the header checksum (store: bytes 96..104 = XXH3-64
//!   of [0, 96); queue set: 88..96 of [0, 88)), so mutations reach the
//!   checks behind it;
//! - bit 1: zero-extend the file to the length its header names (at most
//!   `MAX_LEN`), so seeds can be stored without their zero tail;
//! - bit 2: also open the bytes as a queue set (with the same two fix-ups
//!   applied to the queue header's checksum and total length).
//!
//! Then every operation that reads the file runs, read-only and
//! read-write: each answers `Ok` or an `Error`, never a crash, a hang or an
//! access outside the mapping (AddressSanitizer and SIGSEGV/SIGBUS would
//! show it).
#![no_main]

use std::os::fd::AsRawFd;

use libfuzzer_sys::fuzz_target;
use maph::queue::QueueSet;
use maph::store::format::checksum;
use maph::{Error, OpenMode, Store};
use maph_fuzz::memfd_with;

/// Largest file the harness builds (keeps each run fast and memory small).
const MAX_LEN: u64 = 16 << 20;
/// Header offsets: the checksum fields (store: `format::OFF_CHECKSUM`, 96;
/// queue set: 88) and the length fields (store `file_len` at 80, queue
/// `total_len` at 72).
const STORE_OFF_CHECKSUM: usize = maph::store::format::OFF_CHECKSUM;
const QUEUE_OFF_CHECKSUM: usize = 88;
const STORE_OFF_FILE_LEN: usize = 80;
const QUEUE_OFF_TOTAL_LEN: usize = 72;

fuzz_target!(|data: &[u8]| {
    let Some((&flags, body)) = data.split_first() else { return };
    let mut store = fixed(body, flags, STORE_OFF_CHECKSUM, STORE_OFF_FILE_LEN);
    store_dead_owners(&mut store);
    run_store(&store);
    if flags & 4 != 0 {
        let mut queue = fixed(body, flags, QUEUE_OFF_CHECKSUM, QUEUE_OFF_TOTAL_LEN);
        queue_dead_owners(&mut queue.0);
        run_queue(&queue);
    }
});

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

/// `dead_owner` for the store's optimize and heap locks and every
/// lock-table entry.
fn store_dead_owners((b, len): &mut (Vec<u8>, u64)) {
    dead_owner(b, 320);
    dead_owner(b, maph::store::format::OFF_HEAP_LOCK);
    if b.len() < 4096 {
        return;
    }
    let Ok(g) = maph::store::format::Geometry::decode(&b[..4096], *len) else { return };
    let stride = maph::store::format::lock_stride(g.slot_size());
    for i in 0..u64::from(g.lock_count()) {
        match usize::try_from(g.locks_offset() + i * stride) {
            Ok(off) if off < b.len() => dead_owner(b, off),
            _ => break,
        }
    }
}

/// `dead_owner` for a queue set's admin lock and both locks of each queue
/// (queue records of 256 bytes from 4096; owners at +0 and +64).
fn queue_dead_owners(b: &mut [u8]) {
    dead_owner(b, 128);
    let n = b.get(28..32).map_or(0, |w| u32::from_le_bytes(w.try_into().unwrap()));
    for q in 0..n as usize {
        let rec = 4096 + q * 256;
        if rec >= b.len() {
            break;
        }
        dead_owner(b, rec);
        dead_owner(b, rec + 64);
    }
}

/// The file as the flags ask: checksum recomputed, length extended.
fn fixed(body: &[u8], flags: u8, sum_off: usize, len_off: usize) -> (Vec<u8>, u64) {
    let mut b = body.to_vec();
    if flags & 1 != 0 && b.len() >= sum_off + 8 {
        let sum = checksum(&b[..sum_off]);
        b[sum_off..sum_off + 8].copy_from_slice(&sum.to_le_bytes());
    }
    let mut len = b.len() as u64;
    if flags & 2 != 0 && b.len() >= len_off + 8 {
        let want = u64::from_le_bytes(b[len_off..len_off + 8].try_into().unwrap());
        if want <= MAX_LEN {
            len = len.max(want);
        }
    }
    (b, len)
}

fn run_store((bytes, len): &(Vec<u8>, u64)) {
    let file = memfd_with(bytes, *len);
    let path = format!("/proc/self/fd/{}", file.as_raw_fd());
    // Read-write first: its reads repair what a dead writer left, so the
    // read-only handle below does not wait 2 s on the same locked slot.
    if !run_read_write(&file) {
        return;
    }
    // Read-only: the same object through a read-only descriptor.
    if let Ok(ro) = Store::open(&path, OpenMode::ReadOnly) {
        exercise(&ro);
    }
}

/// Opens `file` read-write and runs reads, writes, `recover`, `optimize`;
/// false once something answered `Busy`.
fn run_read_write(file: &std::fs::File) -> bool {
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

fn run_queue((bytes, len): &(Vec<u8>, u64)) {
    // `open` waits up to 2 s for a set whose magic is still zero (its
    // creator may be building it): such inputs would only be slow, so they
    // are not opened here (tests/queue.rs covers that wait).
    if bytes.len() < 8 || bytes[..8] == [0; 8] {
        return;
    }
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
        use std::os::unix::fs::FileExt;
        f.write_all_at(bytes, 0).expect("writing the shm object");
        if *len > bytes.len() as u64 {
            f.set_len(*len).expect("sizing the shm object");
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
