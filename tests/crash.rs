//! kill -9 at any instruction never wedges the others and never loses or
//! tears an acknowledged write.
//!
//! A parent creates one `/dev/shm` table and forks workers that hammer it:
//! sets, adds and deletes of keys each worker owns, sets and deletes of keys
//! all workers share, and `incr` of one shared counter. The parent kills a
//! random worker with SIGKILL at a random moment, many times in a row
//! (`MAPH_CRASH_KILLS`, default 500), restarting it each time. It guards
//! against:
//! - survivors stalling after a kill (each must make progress within
//!   `PROGRESS_LIMIT`; a dead lock owner or a half-written slot is taken
//!   over within milliseconds);
//! - a half-applied write: every owned key reads as its last acknowledged
//!   state, or — for the one operation in flight when its owner died — the
//!   state that operation would have made; every value read is whole;
//! - an `incr` applied twice or half: the counter equals the acknowledged
//!   increments plus at most one per kill that caught an increment in
//!   flight;
//! - broken invariants: `recover()` then `check()` find nothing.

mod common;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use maph::{Error, Options, Store};

use common::XorShift64;

const WORKERS: usize = 3;
const OWN_KEYS: usize = 64;
const SHARED_KEYS: u64 = 32;
const PROGRESS_LIMIT: Duration = Duration::from_millis(1000);

/// Per-worker log in anonymous shared memory, surviving the worker's death.
#[repr(C)]
struct Log {
    progress: AtomicU64,
    incr_acked: AtomicU64,
    incr_in_flight: AtomicU64,
    /// Own key in flight: index + 1 (0: none).
    key_in_flight: AtomicU64,
    /// The state the in-flight operation makes: `seq << 1 | 1` (present
    /// with value `seq`) or 0 (absent).
    in_flight_state: AtomicU64,
    /// Violations a restarted worker found when it resolved its in-flight key.
    violations: AtomicU64,
    seq: AtomicU64,
    /// Acknowledged state of each own key, encoded as `in_flight_state`.
    keys: [AtomicU64; OWN_KEYS],
}

struct Shared {
    stop: AtomicU64,
    logs: [Log; WORKERS],
}

fn shared_memory() -> &'static Shared {
    let len = std::mem::size_of::<Shared>();
    // SAFETY: a fresh anonymous shared mapping, zero-filled; all-zero is a
    // valid `Shared` (atomics), and it lives until the process exits.
    unsafe {
        let p = libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_SHARED | libc::MAP_ANONYMOUS,
            -1,
            0,
        );
        assert_ne!(p, libc::MAP_FAILED);
        &*(p as *const Shared)
    }
}

/// Set (before the workers fork) for the run whose values cross into the
/// heap.
static LARGE_VALUES: AtomicBool = AtomicBool::new(false);

/// A self-checking value: seq, writer, length, fill, checksum. Its length
/// follows from `seq`: 24 to 173 bytes, or, in the large-value run, also
/// one in four from 200 bytes to 4 KiB and one in eight from 4 KiB to 1 MiB.
fn value(seq: u64, writer: u64) -> Vec<u8> {
    let mix = seq.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 20;
    let len = match seq % 8 {
        0 if LARGE_VALUES.load(Ordering::Relaxed) => 4096 + (mix % ((1 << 20) - 4096)) as usize,
        1 | 2 if LARGE_VALUES.load(Ordering::Relaxed) => 200 + (mix % 3900) as usize,
        _ => 24 + (seq % 150) as usize,
    };
    let mut v = Vec::with_capacity(len);
    v.extend_from_slice(&seq.to_le_bytes());
    v.extend_from_slice(&writer.to_le_bytes());
    while v.len() < len - 8 {
        v.push((v.len() as u64 ^ seq) as u8);
    }
    let sum = maph::hash::hash64(&v, 7);
    v.extend_from_slice(&sum.to_le_bytes());
    v
}

/// The seq of a whole value, or None for a torn or foreign one.
fn whole(v: &[u8]) -> Option<u64> {
    if v.len() < 24 {
        return None;
    }
    let seq = u64::from_le_bytes(v[..8].try_into().unwrap());
    let writer = u64::from_le_bytes(v[8..16].try_into().unwrap());
    (value(seq, writer) == v).then_some(seq)
}

fn own_key(w: usize, i: usize) -> Vec<u8> {
    format!("own:{w}:{i}").into_bytes()
}

/// The state of own key `i` as the store shows it.
fn observed(store: &Store, w: usize, i: usize) -> Result<u64, String> {
    match store.get_vec(&own_key(w, i)) {
        Ok(v) => {
            whole(&v).map(|s| (s << 1) | 1).ok_or_else(|| format!("torn value in own:{w}:{i}"))
        }
        Err(Error::NotFound) => Ok(0),
        Err(e) => Err(format!("own:{w}:{i}: {e}")),
    }
}

fn worker(store: &Store, shared: &Shared, w: usize) -> ! {
    let log = &shared.logs[w];
    // Resolve what the previous incarnation left in flight.
    let k = log.key_in_flight.load(Ordering::SeqCst);
    if k != 0 {
        let i = (k - 1) as usize;
        let acked = log.keys[i].load(Ordering::SeqCst);
        let intended = log.in_flight_state.load(Ordering::SeqCst);
        match observed(store, w, i) {
            Ok(s) if s == acked || s == intended => log.keys[i].store(s, Ordering::SeqCst),
            _ => {
                log.violations.fetch_add(1, Ordering::SeqCst);
            }
        }
        log.key_in_flight.store(0, Ordering::SeqCst);
    }
    log.incr_in_flight.store(0, Ordering::SeqCst);
    let mut xorshift =
        XorShift64((w as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ std::process::id() as u64);
    while shared.stop.load(Ordering::Relaxed) == 0 {
        let rng = xorshift.next();
        let seq = log.seq.fetch_add(1, Ordering::SeqCst) + 1;
        match rng % 10 {
            0..=3 => {
                // An owned key: set, add or delete, logged before and after.
                let i = (rng >> 8) as usize % OWN_KEYS;
                let key = own_key(w, i);
                let acked = log.keys[i].load(Ordering::SeqCst);
                let (intended, r) = if acked != 0 && rng & 0x10000 != 0 {
                    log.in_flight_state.store(0, Ordering::SeqCst);
                    log.key_in_flight.store(i as u64 + 1, Ordering::SeqCst);
                    (0, store.del(&key))
                } else {
                    let st = (seq << 1) | 1;
                    log.in_flight_state.store(st, Ordering::SeqCst);
                    log.key_in_flight.store(i as u64 + 1, Ordering::SeqCst);
                    let v = value(seq, w as u64);
                    (st, if acked == 0 { store.add(&key, &v) } else { store.set(&key, &v) })
                };
                if let Err(e) = r {
                    eprintln!("worker {w}: own key op failed: {e}");
                    log.violations.fetch_add(1, Ordering::SeqCst);
                }
                log.keys[i].store(intended, Ordering::SeqCst);
                log.key_in_flight.store(0, Ordering::SeqCst);
            }
            4..=6 => {
                let key = format!("shared:{}", (rng >> 8) % SHARED_KEYS);
                let r = if rng & 0x100000 != 0 {
                    store.del(key.as_bytes())
                } else {
                    store.set(key.as_bytes(), &value(seq, w as u64))
                };
                if let Err(e) = r {
                    if e != Error::NotFound {
                        eprintln!("worker {w}: shared op failed: {e}");
                        log.violations.fetch_add(1, Ordering::SeqCst);
                    }
                }
            }
            7..=8 => {
                log.incr_in_flight.store(1, Ordering::SeqCst);
                match store.incr(b"counter", 1) {
                    Ok(_) => {
                        log.incr_acked.fetch_add(1, Ordering::SeqCst);
                    }
                    Err(e) => {
                        eprintln!("worker {w}: incr failed: {e}");
                        log.violations.fetch_add(1, Ordering::SeqCst);
                    }
                }
                log.incr_in_flight.store(0, Ordering::SeqCst);
            }
            _ => {
                let key = format!("shared:{}", (rng >> 8) % SHARED_KEYS);
                match store.get_vec(key.as_bytes()) {
                    Ok(v) if whole(&v).is_none() => {
                        eprintln!("worker {w}: torn shared value");
                        log.violations.fetch_add(1, Ordering::SeqCst);
                    }
                    Ok(_) | Err(Error::NotFound) => {}
                    Err(e) => {
                        eprintln!("worker {w}: get failed: {e}");
                        log.violations.fetch_add(1, Ordering::SeqCst);
                    }
                }
            }
        }
        log.progress.fetch_add(1, Ordering::SeqCst);
    }
    // SAFETY: ends the child without running the parent's destructors.
    unsafe { libc::_exit(0) }
}

fn spawn(store: &Store, shared: &Shared, w: usize) -> libc::pid_t {
    // SAFETY: the child runs `worker`, which never returns.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        worker(store, shared, w);
    }
    pid
}

/// Both runs in one test, one after the other: the workers are forked,
/// and a test binary must not fork while another test's threads run.
#[test]
fn killed_workers_never_wedge_the_table_tear_a_write_or_leak_heap_space() {
    let kills: usize =
        std::env::var("MAPH_CRASH_KILLS").ok().and_then(|v| v.parse().ok()).unwrap_or(500);
    // Records inline in 512-byte slots.
    run(kills, &Options { slots: 4096, ..Options::default() });
    // Records of 24 bytes to 1 MiB in 128-byte slots: most in the heap.
    LARGE_VALUES.store(true, Ordering::Relaxed);
    let opts = Options { slots: 4096, slot_size: 128, heap_bytes: 256 << 20, ..Options::default() };
    let (used, live) = run(kills, &opts);
    assert_eq!(used, live, "heap bytes in use differ from the live records' extents (leak)");
}

/// One crash run; returns the heap's bytes in use and the sum of the
/// extents of the live records.
fn run(kills: usize, opts: &Options) -> (u64, u64) {
    let name = format!("maph-crash-test-{}", std::process::id());
    let _ = Store::shm_unlink(name.as_bytes());
    let store = Store::shm_create(name.as_bytes(), opts).unwrap();
    Store::shm_unlink(name.as_bytes()).unwrap(); // the workers inherit the handle
    let shared = shared_memory();
    let mut pids: Vec<libc::pid_t> = (0..WORKERS).map(|w| spawn(&store, shared, w)).collect();
    let mut xorshift = XorShift64(0x2545_F491_4F6C_DD1D);
    let mut max_extra_incr = 0u64;
    let mut worst_stall = Duration::ZERO;
    let start = Instant::now();
    for _ in 0..kills {
        let rng = xorshift.next();
        std::thread::sleep(Duration::from_micros(rng % 3000));
        let w = (rng >> 20) as usize % WORKERS;
        // SAFETY: kills and reaps our own child.
        unsafe {
            libc::kill(pids[w], libc::SIGKILL);
            libc::waitpid(pids[w], std::ptr::null_mut(), 0);
        }
        max_extra_incr += shared.logs[w].incr_in_flight.load(Ordering::SeqCst);
        // Every survivor makes progress within the limit.
        let before: Vec<u64> =
            shared.logs.iter().map(|l| l.progress.load(Ordering::SeqCst)).collect();
        let t = Instant::now();
        loop {
            let stalled = (0..WORKERS)
                .filter(|&o| o != w && shared.logs[o].progress.load(Ordering::SeqCst) == before[o])
                .count();
            if stalled == 0 {
                break;
            }
            assert!(t.elapsed() < PROGRESS_LIMIT, "{stalled} survivors stalled after a kill");
            std::thread::sleep(Duration::from_micros(200));
        }
        worst_stall = worst_stall.max(t.elapsed());
        pids[w] = spawn(&store, shared, w);
    }
    shared.stop.store(1, Ordering::SeqCst);
    for &p in &pids {
        let mut st = 0;
        // SAFETY: reaps our own child.
        unsafe { libc::waitpid(p, &mut st, 0) };
        assert!(libc::WIFEXITED(st) && libc::WEXITSTATUS(st) == 0, "a worker crashed on its own");
    }
    // Resolve in-flight keys of the last incarnations (they exited cleanly,
    // so none is in flight), then check everything.
    let repaired = store.recover().unwrap();
    let violations = store.check();
    assert!(violations.is_empty(), "check after {kills} kills: {violations:?}");
    let mut total_ops = 0;
    for (w, log) in shared.logs.iter().enumerate() {
        assert_eq!(log.violations.load(Ordering::SeqCst), 0, "worker {w} saw violations");
        assert_eq!(log.key_in_flight.load(Ordering::SeqCst), 0);
        for i in 0..OWN_KEYS {
            assert_eq!(
                observed(&store, w, i).unwrap(),
                log.keys[i].load(Ordering::SeqCst),
                "own:{w}:{i} differs from its acknowledged state"
            );
        }
        total_ops += log.progress.load(Ordering::SeqCst);
    }
    for j in 0..SHARED_KEYS {
        if let Ok(v) = store.get_vec(format!("shared:{j}").as_bytes()) {
            assert!(whole(&v).is_some(), "shared:{j} torn");
        }
    }
    let acked: u64 = shared.logs.iter().map(|l| l.incr_acked.load(Ordering::SeqCst)).sum();
    let counter = store.incr(b"counter", 0).unwrap() as u64;
    assert!(
        counter >= acked && counter <= acked + max_extra_incr,
        "counter {counter}, acknowledged {acked}, in flight at kills {max_extra_incr}"
    );
    // Every extent in use belongs to a live record (`check` above says so
    // extent by extent); sum what the live records need.
    let mut live = 0;
    let mut count = |k: &[u8]| match store.heap_footprint(k) {
        Ok(n) => live += n,
        Err(Error::NotFound) => {}
        Err(e) => panic!("{e}"),
    };
    for w in 0..WORKERS {
        for i in 0..OWN_KEYS {
            count(&own_key(w, i));
        }
    }
    for j in 0..SHARED_KEYS {
        count(format!("shared:{j}").as_bytes());
    }
    count(b"counter");
    let heap = store.heap_stats();
    println!(
        "crash test (slot size {}): {kills} kills in {:.1?}, {total_ops} ops, worst survivor stall {worst_stall:.1?}, \
         counter {counter} = {acked} acked + {} in-flight applied (of {max_extra_incr} possible), {repaired} entries repaired at the end; \
         heap {heap:?}, live extents {live} bytes",
        opts.slot_size,
        start.elapsed(),
        counter - acked
    );
    (heap.used, live)
}
