//! Power loss (issue 16), simulated with the public API only, so it holds
//! whatever the file format is.
//!
//! A forked child (the writer) opens the store and writes in rounds: round
//! `r` (1, 2, ...) sets `KEYS_PER_ROUND` keys chosen by a generator seeded
//! with `r` to `value(key, r)`, then calls `sync()` (`msync(MS_SYNC)`), then
//! publishes `synced = r` in a shared page. Before writing round `r` it
//! publishes `started = r`. It never deletes. Meanwhile the parent copies
//! the store file's bytes (`pread` of the whole file) at random moments,
//! noting `synced` just before the copy (`s`) and `started` just after it
//! (`u`). Once enough copies are taken the writer is `SIGKILL`ed (so its pid
//! is dead, as after a power loss, and its lock entries can be taken over).
//!
//! What a power loss can leave on disk is, for every page, some version
//! between the last `sync()` and the memory at the moment of the loss, in
//! any mix (write-back order is arbitrary). So besides each copy alone, the
//! test builds copies that take each 4096-byte page at random from an
//! earlier copy A or a later copy B (`s = s_A`, `u = u_B`).
//!
//! Every copy must open read-write, `recover()` without error, and every
//! key must then read back as follows, with `s` and `u` the copy's bounds:
//! - a key written in some round `<= s`: present, and its value is the one
//!   written in the last such round, or one written for it in a round in
//!   `(s, u]` (a later write that reached the disk);
//! - a key first written after round `s`: absent, or a value written for it
//!   in a round in `(s, u]`.
//!
//! A `get` answering anything but the value or `NotFound` (`Corrupt`,
//! `Busy`, ...) fails, and so does `open` answering `Corrupt`: the store's
//! repair (`recover`) works on an open handle, so a copy that does not open
//! cannot be repaired. The second test also asks that the repaired store be
//! sound: `check()` finds nothing and `stats().keys` equals the keys read
//! back.
//!
//! State (issue 16): `recover()` now publishes slots left locked with no
//! redo record (their lock entry's page reached the disk before the writer
//! took it), drops keys that lookups cannot reach, and recounts the live
//! keys; with that, both tests passed in 15 of 16 runs. The one failure
//! left: a slot whose page was copied while its writer was in the middle
//! of overwriting the value in place, whose redo record did not reach the
//! copy, comes back after `recover()` as a mix of the synced value and the
//! new one (`copy 140 (synced 399, started 401): key-887 =
//! "v887/r401/lll...luu"`, 2 copies of 600). Nothing on disk tells that
//! slot from an intact one (slots carry no checksum), and its synced value
//! is overwritten in place, so neither publishing nor dropping it keeps the
//! synced value. Both tests stay ignored until values are written out of
//! place or carry a checksum (the value-heap issue).
//!
//! Knobs: `MAPH_POWER_LOSS_COPIES` (default 300 single copies, and as many
//! mixed ones).

mod common;

use std::collections::HashMap;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use maph::{Error, OpenMode, Options, Store};

use common::{Rng, TempDir};

const KEYS: u32 = 1500;
const KEYS_PER_ROUND: u32 = 60;
const PAGE: usize = 4096;

fn key(i: u32) -> Vec<u8> {
    format!("key-{i}").into_bytes()
}

/// The value round `r` writes for key `i`: names both, with a length that
/// varies from round to round (8 to 70 bytes).
fn value(i: u32, r: u64) -> Vec<u8> {
    let mut v = format!("v{i}/r{r}/").into_bytes();
    let pad = (u64::from(i) * 7 + r * 13) % 56;
    v.resize(v.len() + pad as usize, b'a' + (r % 26) as u8);
    v
}

/// The keys round `r` writes (distinct, deterministic).
fn round_keys(r: u64) -> Vec<u32> {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ r.wrapping_mul(0x2545_f491_4f6c_dd1d) | 1);
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    while out.len() < KEYS_PER_ROUND as usize {
        let k = rng.below(u64::from(KEYS)) as u32;
        if seen.insert(k) {
            out.push(k);
        }
    }
    out
}

/// `started` and `synced`, in a page shared with the forked writer.
struct Progress {
    ptr: *mut AtomicU64,
}

impl Progress {
    fn new() -> Progress {
        // SAFETY: a fresh anonymous shared mapping of one page; the result
        // is checked against MAP_FAILED below.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                PAGE,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        assert_ne!(p, libc::MAP_FAILED, "mmap of the progress page");
        Progress { ptr: p.cast() }
    }

    fn started(&self) -> &AtomicU64 {
        // SAFETY: the page is mapped for the life of `self`, zero-filled
        // (a valid AtomicU64), page-aligned, and only accessed atomically.
        unsafe { &*self.ptr }
    }

    fn synced(&self) -> &AtomicU64 {
        // SAFETY: as in `started`; offset 8 of a 4096-byte page.
        unsafe { &*self.ptr.add(1) }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        // SAFETY: unmaps the page mapped in `new`; no reference outlives self.
        unsafe { libc::munmap(self.ptr.cast(), PAGE) };
    }
}

/// The writer: never returns (killed by the parent).
fn writer(path: &Path, prog: &Progress) -> ! {
    let s = Store::open(path, OpenMode::ReadWrite).expect("writer: open");
    let mut r = 0u64;
    loop {
        r += 1;
        prog.started().store(r, Ordering::SeqCst);
        for i in round_keys(r) {
            s.set(&key(i), &value(i, r)).expect("writer: set");
        }
        s.sync().expect("writer: sync");
        prog.synced().store(r, Ordering::SeqCst);
    }
}

/// One copy of the file's bytes with its bounds (see the module docs).
struct Snapshot {
    bytes: Vec<u8>,
    synced: u64,
    started: u64,
    what: String,
}

fn read_all(path: &Path) -> Vec<u8> {
    let f = std::fs::File::open(path).unwrap();
    let len = f.metadata().unwrap().len() as usize;
    let mut b = vec![0u8; len];
    f.read_exact_at(&mut b, 0).unwrap();
    b
}

/// For each key, the rounds (ascending) that wrote it, up to `last`.
fn history(last: u64) -> HashMap<u32, Vec<u64>> {
    let mut h: HashMap<u32, Vec<u64>> = HashMap::new();
    for r in 1..=last {
        for i in round_keys(r) {
            h.entry(i).or_default().push(r);
        }
    }
    h
}

/// Checks one copy; returns a description of the first violation.
fn verify(
    dir: &TempDir, n: usize, c: &Snapshot, hist: &HashMap<u32, Vec<u64>>, sound: bool,
) -> Result<(), String> {
    let path = dir.path(&format!("copy-{n}.maph"));
    std::fs::write(&path, &c.bytes).unwrap();
    let out = verify_file(&path, c, hist, sound);
    std::fs::remove_file(&path).unwrap();
    out
}

/// `sound`: also `check()` and the key count (the second test).
fn verify_file(
    path: &Path, c: &Snapshot, hist: &HashMap<u32, Vec<u64>>, sound: bool,
) -> Result<(), String> {
    let s = Store::open(path, OpenMode::ReadWrite).map_err(|e| format!("open: {e:?}"))?;
    s.recover().map_err(|e| format!("recover: {e:?}"))?;
    let mut buf = vec![0u8; 256];
    let mut present = 0u64;
    let none = Vec::new();
    for i in 0..KEYS {
        let rounds = hist.get(&i).unwrap_or(&none);
        let last_synced = rounds.iter().rev().find(|&&r| r <= c.synced);
        let mut allowed: Vec<u64> =
            rounds.iter().copied().filter(|&r| r > c.synced && r <= c.started).collect();
        allowed.extend(last_synced);
        match s.get(&key(i), &mut buf) {
            Ok(len) => {
                present += 1;
                let got = &buf[..len];
                if !allowed.iter().any(|&r| value(i, r) == got) {
                    return Err(format!(
                        "key-{i} = {:?}; allowed rounds {allowed:?} (synced {})",
                        String::from_utf8_lossy(got),
                        c.synced
                    ));
                }
            }
            Err(Error::NotFound) => {
                if let Some(r) = last_synced {
                    return Err(format!("key-{i} lost: written in round {r}, synced {}", c.synced));
                }
            }
            Err(e) => return Err(format!("get key-{i}: {e:?}")),
        }
    }
    if !sound {
        return Ok(());
    }
    let errs = s.check();
    if !errs.is_empty() {
        return Err(format!("check after recover: {errs:?}"));
    }
    let keys = s.stats().keys;
    if keys != present {
        return Err(format!("stats().keys = {keys}, {present} keys read back"));
    }
    Ok(())
}

/// Guards against a power loss at any moment after `sync()` leaving a
/// store that does not open, that `recover` cannot take over, or that lost
/// (or garbled) a key synced before the loss — for copies of one moment and
/// for page-wise mixes of two.
#[test]
#[ignore = "issue 16 finding: a slot copied in the middle of an in-place overwrite, without \
            its redo record, comes back torn after recover() (about 1 run in 16; see the module \
            docs)"]
fn copies_taken_while_writing_open_recover_and_keep_every_synced_key() {
    power_loss(false);
}

/// Guards against a power loss leaving a store that `recover()` does not
/// make sound again: `check()` must find nothing and the key count must be
/// right, besides everything the first test asks.
#[test]
#[ignore = "issue 16 finding: as the first test (a torn in-place overwrite, about 1 run in \
            16); the counts and unreachable keys it found are repaired by recover() now"]
fn copies_taken_while_writing_are_sound_after_recover() {
    power_loss(true);
}

/// The whole simulation (module docs); `sound` as in `verify_file`.
fn power_loss(sound: bool) {
    let copies: usize =
        std::env::var("MAPH_POWER_LOSS_COPIES").ok().and_then(|v| v.parse().ok()).unwrap_or(300);
    let dir = TempDir::new("power-loss");
    let path = dir.path("s.maph");
    let opts = Options { slots: 4096, slot_size: 128, seed: 0x90fe_7105, ..Options::default() };
    drop(Store::create(&path, &opts).unwrap());
    let prog = Progress::new();

    // SAFETY: fork; the child only opens and writes the store, then loops
    // until the parent kills it (it never returns into the test harness).
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork");
    if pid == 0 {
        let _ = std::panic::catch_unwind(|| writer(&path, &prog));
        // SAFETY: leave the forked child without running the harness.
        unsafe { libc::_exit(2) };
    }

    let mut rng = Rng(0x5eed_0f90_7e71_0551);
    let mut taken = Vec::with_capacity(copies);
    while prog.synced().load(Ordering::SeqCst) < 2 {
        let mut status = 0;
        // SAFETY: polls our own child without blocking.
        let r = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        assert_eq!(r, 0, "the writer exited (status {status:#x}) before two rounds");
        std::thread::sleep(Duration::from_millis(1));
    }
    for k in 0..copies {
        std::thread::sleep(Duration::from_micros(rng.below(4000)));
        let synced = prog.synced().load(Ordering::SeqCst);
        let bytes = read_all(&path);
        let started = prog.started().load(Ordering::SeqCst);
        taken.push(Snapshot { bytes, synced, started, what: format!("copy {k}") });
    }
    // SAFETY: kill and reap our own child.
    unsafe {
        libc::kill(pid, libc::SIGKILL);
        let mut status = 0;
        assert_eq!(libc::waitpid(pid, &mut status, 0), pid, "waitpid");
    }
    let last = taken.iter().map(|c| c.started).max().unwrap();
    assert!(last >= 5, "the writer ran only {last} rounds while copies were taken");
    let hist = history(last);

    // Mixes of two copies, page by page.
    let mut mixed = Vec::with_capacity(copies);
    for m in 0..copies {
        let a = rng.index(copies - 1);
        let b = a + 1 + rng.index((copies - a - 1).min(8));
        let (ca, cb) = (&taken[a], &taken[b]);
        assert_eq!(ca.bytes.len(), cb.bytes.len(), "the store file changed size");
        let mut bytes = ca.bytes.clone();
        let mut from_b = Vec::new();
        for (p, page) in bytes.chunks_mut(PAGE).enumerate() {
            if rng.below(2) == 1 {
                page.copy_from_slice(&cb.bytes[p * PAGE..p * PAGE + page.len()]);
                from_b.push(p);
            }
        }
        mixed.push(Snapshot {
            bytes,
            synced: ca.synced,
            started: cb.started,
            what: format!(
                "mix {m} of copies {a} and {b} ({} of {} pages from {b}, first {:?})",
                from_b.len(),
                ca.bytes.len().div_ceil(PAGE),
                &from_b[..from_b.len().min(8)]
            ),
        });
    }

    let mut failures = Vec::new();
    for (n, c) in taken.iter().chain(&mixed).enumerate() {
        if let Err(e) = verify(&dir, n, c, &hist, sound) {
            failures.push(format!("{} (synced {}, started {}): {e}", c.what, c.synced, c.started));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} copies failed; first ones:\n{}",
        failures.len(),
        2 * copies,
        failures.iter().take(8).cloned().collect::<Vec<_>>().join("\n")
    );
}
