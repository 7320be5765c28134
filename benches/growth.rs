//! Growth benchmark (issue 12): workload W5 of `../shared/WORKLOADS.md`.
//!
//! W1's keys (`key:%08d`, 100-byte values), 10,000,000 of them, inserted
//! one thread into a growing store (`slots = 0`: 1,024 slots at first) and
//! into a store created at its final size (slots = keys / 0.75), both with
//! 128-byte slots (the default) in `/dev/shm`. Run:
//! `cargo bench --bench growth` (about four minutes on an idle machine;
//! the two stores of a repetition take ~4 GB of `/dev/shm`). A short run:
//! `MAPH_GROW_BENCH_KEYS=1000000 cargo bench --bench growth`.
//!
//! | variable | default | what |
//! |---|---|---|
//! | `MAPH_GROW_BENCH_KEYS` | 10000000 | keys inserted |
//! | `MAPH_GROW_BENCH_REPS` | 3 | repetitions (floor, presized load, growing load, GETs), interleaved; medians quoted |
//! | `MAPH_GROW_BENCH_GETS` | 2000000 | hit GETs per store and phase, one in `STRIDE` timed |
//! | `MAPH_GROW_BENCH_STRIDE` | 16 | one GET in this many is timed alone |
//! | `MAPH_GROW_BENCH_READER_KEYS` | 100000 | the reader variant: keys inserted before the reader process starts |
//! | `MAPH_GROW_BENCH_DIR` | `/dev/shm` | where the store files go (removed afterwards) |
//!
//! How it measures (each figure a `name: value unit` line, a markdown
//! table at the end):
//! - Every insert is timed alone with an `Instant` pair into an HDR
//!   histogram (the pair's ~25 ns included); the insert rate is keys over
//!   the wall time of the whole load, clock pairs included, the same for
//!   both stores. The target is judged on the rate with the store's
//!   creation included (`create_and_insert_rate`): the presized store
//!   reserves all its space at creation (`posix_fallocate`), the growing
//!   one during the load; the rate of the inserts alone is printed too.
//! - Bytes per key: `st_blocks * 512` of the file over the keys (what the
//!   file system holds); the file length (`st_size`) is printed too — a
//!   growing store's file is its whole address space, mostly holes.
//! - GET hit p50: GETs of inserted keys drawn uniformly (a precomputed
//!   list), one in `STRIDE` timed alone; after the load and again after
//!   `optimize()`. Every GET's value is checked; every key of the growing
//!   store is read back after its load (untimed).
//! - Floor: `floor_dram_ns` over a buffer as large as the presized store's
//!   slot region, measured at the start of each repetition.
//! - Reader variant (once, after the repetitions): the growing load again,
//!   with a second process (forked after the first `READER_KEYS` inserts,
//!   opening the store by path) reading random keys among those until the
//!   load ends: its GET p99 (one GET in 16 timed) and its misses.

use std::hint::black_box;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use hdrhistogram::Histogram;
use maph::{OpenMode, Options, Store};

#[path = "common/env.rs"]
mod env;
#[allow(dead_code)]
#[path = "../cli/src/measure.rs"]
mod measure;
use env::env_num;
use measure::{median, new_hist, SplitMix64};

struct Cfg {
    keys: usize,
    reps: usize,
    gets: usize,
    stride: usize,
    reader_keys: usize,
    dir: PathBuf,
}

impl Cfg {
    fn from_env() -> Cfg {
        Cfg {
            keys: env_num("MAPH_GROW_BENCH_KEYS", 10_000_000) as usize,
            reps: env_num("MAPH_GROW_BENCH_REPS", 3).max(1) as usize,
            gets: env_num("MAPH_GROW_BENCH_GETS", 2_000_000) as usize,
            stride: env_num("MAPH_GROW_BENCH_STRIDE", 16).max(1) as usize,
            reader_keys: env_num("MAPH_GROW_BENCH_READER_KEYS", 100_000) as usize,
            dir: std::env::var_os("MAPH_GROW_BENCH_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from("/dev/shm")),
        }
    }
}

fn put(name: &str, v: f64, unit: &str) {
    if v.abs() >= 100.0 {
        println!("{name}: {v:.1} {unit}");
    } else {
        println!("{name}: {v:.3} {unit}");
    }
}

/// Prints `value` against `limit` (`<=` when `at_most`, else `>=`).
fn target(name: &str, value: f64, limit: f64, at_most: bool, what: &str) {
    let ok = if at_most { value <= limit } else { value >= limit };
    let (op, verdict) = (if at_most { "<=" } else { ">=" }, if ok { "met" } else { "MISSED" });
    println!("{name}: {value:.3}  # {what}; issue 12 target {op} {limit}: {verdict}");
}

fn key(i: usize) -> [u8; 12] {
    let mut k = *b"key:00000000";
    let mut n = i;
    for b in k[4..].iter_mut().rev() {
        *b = b'0' + (n % 10) as u8;
        n /= 10;
    }
    k
}

fn val(i: usize) -> [u8; 100] {
    let mut v = [(i % 251) as u8; 100];
    v[..8].copy_from_slice(&(i as u64).to_le_bytes());
    v
}

fn q(h: &Histogram<u64>, q: f64) -> f64 {
    h.value_at_quantile(q) as f64
}

struct TempFile(PathBuf);
impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// A table row: name, the figure of a load, its scale and unit.
type Field = (&'static str, fn(&Load) -> f64, f64, &'static str);

/// One load's figures.
#[derive(Clone, Copy, Default)]
struct Load {
    rate: f64,
    total_rate: f64,
    p50: f64,
    p99: f64,
    p9999: f64,
    max: f64,
    bytes_per_key: f64,
    file_per_key: f64,
    get_p50: f64,
    get_p50_opt: f64,
    levels: u32,
}

fn options(cfg: &Cfg, growing: bool) -> Options {
    if growing {
        Options { slots: 0, ..Options::default() }
    } else {
        Options::for_keys(cfg.keys as u64, 0.75)
    }
}

/// Inserts keys `range` into `s`, every insert timed into `h`; panics on
/// an insert that fails (a dropped row is a failure of the workload).
fn insert(s: &Store, range: std::ops::Range<usize>, h: &mut Histogram<u64>) {
    for i in range {
        let (k, v) = (key(i), val(i));
        let t = Instant::now();
        let r = s.set(&k, &v);
        h.saturating_record((t.elapsed().as_nanos() as u64).max(1));
        if let Err(e) = r {
            panic!("insert {i}: {e}");
        }
    }
}

/// Timed GET hits of `list` (one in `stride` timed), every value checked.
fn get_p50(s: &Store, list: &[u32], stride: usize) -> f64 {
    let mut h = new_hist();
    let mut buf = [0u8; 128];
    let mut bad = 0u64;
    for (j, &i) in list.iter().enumerate() {
        let k = key(i as usize);
        let ok = if j % stride == 0 {
            let t = Instant::now();
            let r = s.get(&k, &mut buf);
            h.saturating_record((t.elapsed().as_nanos() as u64).max(1));
            r
        } else {
            s.get(&k, &mut buf)
        };
        bad += u64::from(ok.map_or(true, |n| buf[..n] != val(i as usize)));
    }
    black_box(&buf);
    assert_eq!(bad, 0, "GETs of inserted keys failed");
    q(&h, 0.5)
}

fn load(cfg: &Cfg, growing: bool, rep: usize, list: &[u32]) -> Load {
    let name = if growing { "growing" } else { "presized" };
    let path = TempFile(cfg.dir.join(format!("maph-w5-{name}-{}-{rep}", std::process::id())));
    let t0 = Instant::now();
    let s = Store::create(&path.0, &options(cfg, growing)).expect("creating the store");
    let mut h = new_hist();
    let t = Instant::now();
    insert(&s, 0..cfg.keys, &mut h);
    let secs = t.elapsed().as_secs_f64();
    let total = t0.elapsed().as_secs_f64();
    let m = std::fs::metadata(&path.0).unwrap();
    let mut l = Load {
        rate: cfg.keys as f64 / secs,
        total_rate: cfg.keys as f64 / total,
        p50: q(&h, 0.5),
        p99: q(&h, 0.99),
        p9999: q(&h, 0.9999),
        max: h.max() as f64,
        bytes_per_key: (m.blocks() * 512) as f64 / cfg.keys as f64,
        file_per_key: m.len() as f64 / cfg.keys as f64,
        levels: s.levels(),
        ..Load::default()
    };
    if growing {
        let mut buf = [0u8; 128];
        let missing = (0..cfg.keys)
            .filter(|&i| s.get(&key(i), &mut buf).map_or(true, |n| buf[..n] != val(i)))
            .count();
        assert_eq!(missing, 0, "keys of the growing load missing after it");
    }
    l.get_p50 = get_p50(&s, list, cfg.stride);
    s.optimize().expect("optimize");
    l.get_p50_opt = get_p50(&s, list, cfg.stride);
    let pre = format!("w5.{name}.rep{rep}");
    put(&format!("{pre}.insert_rate"), l.rate / 1e6, "M keys/s");
    put(&format!("{pre}.create_and_insert_rate"), l.total_rate / 1e6, "M keys/s");
    put(&format!("{pre}.insert_p50"), l.p50, "ns");
    put(&format!("{pre}.insert_p99"), l.p99, "ns");
    put(&format!("{pre}.insert_p99_99"), l.p9999, "ns");
    put(&format!("{pre}.insert_max"), l.max / 1e3, "us");
    put(&format!("{pre}.allocated_per_key"), l.bytes_per_key, "B");
    put(&format!("{pre}.file_len_per_key"), l.file_per_key, "B");
    put(&format!("{pre}.levels"), f64::from(l.levels), "");
    put(&format!("{pre}.get_hit_p50"), l.get_p50, "ns");
    put(&format!("{pre}.get_hit_p50_after_optimize"), l.get_p50_opt, "ns");
    l
}

/// The reader variant: returns (reader GET p99 ns, reader GETs, misses).
fn reader_run(cfg: &Cfg) -> (f64, u64, u64) {
    let path = TempFile(cfg.dir.join(format!("maph-w5-reader-{}", std::process::id())));
    let s = Store::create(&path.0, &options(cfg, true)).expect("creating the store");
    let mut h = new_hist();
    let first = cfg.reader_keys.min(cfg.keys);
    insert(&s, 0..first, &mut h);
    // Shared with the child: stop flag, then its p99, GETs, misses.
    // SAFETY: a fresh anonymous shared mapping of 4 u64s.
    let shared = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            4096,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_SHARED | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    assert_ne!(shared, libc::MAP_FAILED);
    // SAFETY: the mapping is 4096 bytes, page-aligned, shared with the child.
    let words: &[AtomicU64] = unsafe { std::slice::from_raw_parts(shared.cast(), 4) };
    // SAFETY: the child only reads the store and writes the shared words.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0);
    if pid == 0 {
        let r = Store::open(&path.0, OpenMode::ReadOnly).expect("reader open");
        let mut rng = SplitMix64::new(0x5eed);
        let mut h = new_hist();
        let (mut n, mut miss) = (0u64, 0u64);
        let mut buf = [0u8; 128];
        while words[0].load(Ordering::Acquire) == 0 {
            let i = rng.below(first as u64) as usize;
            let k = key(i);
            let ok = if n % 16 == 0 {
                let t = Instant::now();
                let r = r.get(&k, &mut buf);
                h.saturating_record((t.elapsed().as_nanos() as u64).max(1));
                r
            } else {
                r.get(&k, &mut buf)
            };
            miss += u64::from(ok.map_or(true, |m| buf[..m] != val(i)));
            n += 1;
        }
        words[1].store(h.value_at_quantile(0.99), Ordering::Relaxed);
        words[2].store(n, Ordering::Relaxed);
        words[3].store(miss, Ordering::Release);
        // SAFETY: ends the forked child at once.
        unsafe { libc::_exit(0) };
    }
    insert(&s, first..cfg.keys, &mut h);
    words[0].store(1, Ordering::Release);
    let mut status = 0;
    // SAFETY: waits for our own child.
    unsafe { libc::waitpid(pid, &mut status, 0) };
    let out = (
        words[1].load(Ordering::Acquire) as f64,
        words[2].load(Ordering::Acquire),
        words[3].load(Ordering::Acquire),
    );
    // SAFETY: unmaps the mapping made above; `words` is not used after.
    unsafe { libc::munmap(shared, 4096) };
    out
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let cfg = Cfg::from_env();
    println!(
        "# W5: {} keys key:%08d = 100 bytes, one thread, 128-byte slots, in {}",
        cfg.keys,
        cfg.dir.display()
    );
    println!("# clock_overhead: {} ns", measure::clock_overhead_ns());
    let mut rng = SplitMix64::new(0x05);
    let list: Vec<u32> = (0..cfg.gets).map(|_| rng.below(cfg.keys as u64) as u32).collect();
    let presized_slots = (cfg.keys as f64 / 0.75).ceil() as u64;
    let (mut floors, mut pre, mut gro) = (Vec::new(), Vec::new(), Vec::new());
    for rep in 0..cfg.reps {
        let fl = measure::floor(presized_slots * 128, 0xF100_5EED ^ rep as u64).expect("floor");
        put(&format!("w5.rep{rep}.floor_dram_ns"), fl.dram_ns, "ns");
        floors.push(fl.dram_ns);
        // Alternate which store loads first.
        if rep % 2 == 0 {
            pre.push(load(&cfg, false, rep, &list));
            gro.push(load(&cfg, true, rep, &list));
        } else {
            gro.push(load(&cfg, true, rep, &list));
            pre.push(load(&cfg, false, rep, &list));
        }
    }
    let med = |v: &[Load], f: fn(&Load) -> f64| median(v.iter().map(f).collect());
    let floor = median(floors);
    println!();
    println!("# medians of {} repetitions", cfg.reps);
    put("w5.floor_dram_ns", floor, "ns");
    let fields: [Field; 10] = [
        ("insert_rate", |l| l.rate, 1e-6, "M keys/s"),
        ("create_and_insert_rate", |l| l.total_rate, 1e-6, "M keys/s"),
        ("insert_p50", |l| l.p50, 1.0, "ns"),
        ("insert_p99", |l| l.p99, 1.0, "ns"),
        ("insert_p99_99", |l| l.p9999, 1e-3, "us"),
        ("insert_max", |l| l.max, 1e-3, "us"),
        ("allocated_per_key", |l| l.bytes_per_key, 1.0, "B"),
        ("file_len_per_key", |l| l.file_per_key, 1.0, "B"),
        ("get_hit_p50", |l| l.get_p50, 1.0, "ns"),
        ("get_hit_p50_after_optimize", |l| l.get_p50_opt, 1.0, "ns"),
    ];
    println!();
    println!("| W5, {} keys | presized | growing |", cfg.keys);
    println!("|---|---|---|");
    for (name, f, scale, unit) in fields {
        let (a, b) = (med(&pre, f) * scale, med(&gro, f) * scale);
        println!("| {name} ({unit}) | {a:.1} | {b:.1} |");
    }
    println!("| levels | 1 | {} |", gro[0].levels);
    println!();
    let rate_ratio = med(&gro, |l| l.total_rate) / med(&pre, |l| l.total_rate);
    target(
        "w5.insert_rate_ratio",
        rate_ratio,
        0.7,
        false,
        "growing / presized, creation included (the presized store reserves its space \
         at creation, the growing one during the load)",
    );
    put(
        "w5.insert_rate_ratio_inserts_only",
        med(&gro, |l| l.rate) / med(&pre, |l| l.rate),
        "x (creation excluded)",
    );
    target("w5.growing.insert_p99_99_us", med(&gro, |l| l.p9999) / 1e3, 50.0, true, "µs");
    let max_ratio = med(&gro, |l| l.max) / med(&pre, |l| l.max);
    target("w5.insert_max_ratio", max_ratio, 2.0, true, "growing max / presized max");
    target(
        "w5.growing.get_hit_p50_over_floor",
        med(&gro, |l| l.get_p50) / floor,
        1.3,
        true,
        "after the load, before optimize()",
    );
    put(
        "w5.growing.get_hit_p50_after_optimize_over_floor",
        med(&gro, |l| l.get_p50_opt) / floor,
        "x",
    );
    put("w5.presized.get_hit_p50_over_floor", med(&pre, |l| l.get_p50) / floor, "x");
    put(
        "w5.bytes_per_key_ratio",
        med(&gro, |l| l.bytes_per_key) / med(&pre, |l| l.bytes_per_key),
        "x (growing / presized, allocated)",
    );
    let (p99, n, miss) = reader_run(&cfg);
    put("w5.reader.get_p99", p99, "ns");
    put("w5.reader.gets", n as f64, "");
    put("w5.reader.misses", miss as f64, "(must be 0)");
    assert_eq!(miss, 0, "the reader process missed keys inserted before it started");
}
