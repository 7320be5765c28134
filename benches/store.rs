//! Store benchmarks: workloads W1 and W2 of `../shared/WORKLOADS.md`
//! (issue 3), with the machine floor, a `std::collections::HashMap` and an
//! LMDB baseline measured in the same run on the same keys and values.
//!
//! Run: `cargo bench --bench store` (W1 at 1M keys with a short criterion
//! group of the headline operations inside it, then W2 when
//! `../shared/data/pypi-packages.tsv.gz` is present; W2 is skipped with a
//! message otherwise). Settings, all optional, by environment variable:
//!
//! | variable | default | what |
//! |---|---|---|
//! | `MAPH_BENCH_WORKLOAD` | `both` | `w1`, `w2`, `both`, or `none` (only the 10M optimize) |
//! | `MAPH_BENCH_KEYS` | 1000000 | W1 keys (slots = 2 x keys, 512-byte slots) |
//! | `MAPH_BENCH_HITS` / `MAPH_BENCH_MISSES` | 5000000 / 1000000 | GETs per pass |
//! | `MAPH_BENCH_STRIDE` | 64 | one operation in this many is timed alone (1.6%) |
//! | `MAPH_BENCH_BASELINES` | 1 | 0 skips HashMap and LMDB |
//! | `MAPH_BENCH_CRITERION` | 1 | 0 skips the criterion group |
//! | `MAPH_BENCH_OPTIMIZE_10M` | 0 | 1 also loads 10M keys and times `optimize()` |
//! | `MAPH_BENCH_10M_KEYS` / `_SLOTS` / `_SLOT_SIZE` | 10000000 / 2 x keys / 256 | its store (5.1 GB sparse file by default) |
//! | `MAPH_BENCH_W2_PATH` | `../shared/data/pypi-packages.tsv.gz` | W2's data |
//!
//! Every figure is printed as one `name: value unit` line
//! (`w1.after.get_hit_p50: 183 ns`); ratios and targets follow at the end
//! of each workload. How it measures:
//!
//! - Floor (WORKLOADS.md): `floor_dram_ns` is the median, over 550 chunks
//!   of 10,000 steps, of ns per step of a pointer chase over a random cyclic
//!   permutation (Sattolo) of the 64-byte lines of an anonymous buffer as
//!   large as the store's slot region, in 4 KiB pages (`MADV_NOHUGEPAGE`);
//!   `floor_mlp_ns` is the median over 40 passes of ns per read of 250,000
//!   independent random 64-byte reads of the same buffer (fresh lines each
//!   pass). Each chunk is timed by the thread's CPU clock, so a chunk during
//!   which the shared machine ran something else is not inflated; the wall
//!   clock medians are printed too (`floor_*_wall_ns`).
//! - Latency: one operation in `MAPH_BENCH_STRIDE` is timed alone with a
//!   pair of `Instant::now()` (vDSO `clock_gettime`, TSC clocksource) into
//!   an HDR histogram; the others run untimed in between. The pair's own
//!   cost is printed as `clock_overhead` and is *included* in every
//!   percentile (no subtraction).
//! - Throughput: an untimed pass over the whole list, in operations per
//!   second of the thread's CPU time (`CLOCK_THREAD_CPUTIME_ID`); the wall
//!   clock figure is `_throughput_wall`, and `cpu_share` is CPU time / wall
//!   time: well below 1 means the shared 2-core machine ran something else
//!   meanwhile, and only the CPU-time figure is comparable across runs.
//!   Batch figures (`mget`, the loop of `get`) are per CPU second too.
//! - Keys are laid out in the order of use, before any timed loop: the
//!   loops do no formatting, no RNG, and read their keys sequentially.

use std::collections::HashMap;
use std::hint::black_box;
use std::io::{BufRead, BufReader};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput};
use hdrhistogram::Histogram;
use heed::types::Bytes;
use heed::{CommitOrAbort, Database, Env, EnvOpenOptions};
use maph::{Error, Options, Store};

// The floor, the clock probes and the generator are the CLI's: one
// implementation for `maph bench`, `maph demo` and this benchmark.
#[path = "common/env.rs"]
mod env;
#[allow(dead_code)]
#[path = "../cli/src/measure.rs"]
mod measure;
use env::env_num;
use measure::{new_hist, thread_cpu_secs, Floor, SplitMix64};

// ---------------------------------------------------------------------------
// Settings

struct Cfg {
    w1: bool,
    w2: bool,
    keys: usize,
    hits: usize,
    misses: usize,
    stride: usize,
    baselines: bool,
    criterion: bool,
    opt10m: bool,
    k10m: usize,
    slots10m: u64,
    slot_size10m: u32,
    w2_path: PathBuf,
}

impl Cfg {
    fn from_env() -> Cfg {
        let wl = std::env::var("MAPH_BENCH_WORKLOAD").unwrap_or_else(|_| "both".into());
        let (w1, w2) = match wl.as_str() {
            "w1" => (true, false),
            "w2" => (false, true),
            "both" => (true, true),
            "none" => (false, false),
            other => panic!("MAPH_BENCH_WORKLOAD={other}: want w1, w2, both or none"),
        };
        let k10m = env_num("MAPH_BENCH_10M_KEYS", 10_000_000) as usize;
        Cfg {
            w1,
            w2,
            keys: env_num("MAPH_BENCH_KEYS", 1_000_000) as usize,
            hits: env_num("MAPH_BENCH_HITS", 5_000_000) as usize,
            misses: env_num("MAPH_BENCH_MISSES", 1_000_000) as usize,
            stride: env_num("MAPH_BENCH_STRIDE", 64).max(1) as usize,
            baselines: env_num("MAPH_BENCH_BASELINES", 1) != 0,
            criterion: env_num("MAPH_BENCH_CRITERION", 1) != 0,
            opt10m: env_num("MAPH_BENCH_OPTIMIZE_10M", 0) != 0,
            k10m,
            slots10m: env_num("MAPH_BENCH_10M_SLOTS", 2 * k10m as u64),
            slot_size10m: env_num("MAPH_BENCH_10M_SLOT_SIZE", 256) as u32,
            w2_path: std::env::var_os("MAPH_BENCH_W2_PATH").map_or_else(
                || {
                    Path::new(env!("CARGO_MANIFEST_DIR"))
                        .join("../shared/data/pypi-packages.tsv.gz")
                },
                PathBuf::from,
            ),
        }
    }
}

// ---------------------------------------------------------------------------
// Output

/// The figures of one workload, printed as they come and kept for the
/// ratios at the end.
struct Report {
    prefix: String,
    figs: Vec<(String, f64)>,
}

impl Report {
    fn new(prefix: &str) -> Report {
        Report { prefix: prefix.to_string(), figs: Vec::new() }
    }

    fn put(&mut self, name: &str, v: f64, unit: &str) {
        let name = format!("{}.{}", self.prefix, name);
        if v.fract() == 0.0 && v.abs() < 1e15 {
            println!("{name}: {v:.0} {unit}");
        } else if v.abs() >= 100.0 {
            println!("{name}: {v:.1} {unit}");
        } else {
            println!("{name}: {v:.3} {unit}");
        }
        self.figs.push((name, v));
    }

    fn get(&self, name: &str) -> f64 {
        let name = format!("{}.{}", self.prefix, name);
        self.figs.iter().rev().find(|(n, _)| *n == name).map_or(f64::NAN, |f| f.1)
    }

    /// `a / b` as a ratio line, with its target `op limit` and the verdict.
    fn target(&mut self, name: &str, value: f64, op: &str, limit: f64, what: &str) {
        let met = match op {
            "<=" => value <= limit,
            ">=" => value >= limit,
            "<" => value < limit,
            _ => unreachable!(),
        };
        let verdict = if value.is_nan() {
            "not measured"
        } else if met {
            "met"
        } else {
            "MISSED"
        };
        let full = format!("{}.target.{}", self.prefix, name);
        println!("{full}: {value:.3} x  # {what}; target {op} {limit}: {verdict}");
        self.figs.push((full, value));
    }
}

// ---------------------------------------------------------------------------
// Small tools

/// Byte strings laid end to end.
#[derive(Default)]
struct Flat {
    bytes: Vec<u8>,
    ends: Vec<usize>,
}

impl Flat {
    fn with_capacity(n: usize, bytes: usize) -> Flat {
        Flat { bytes: Vec::with_capacity(bytes), ends: Vec::with_capacity(n) }
    }

    fn push(&mut self, parts: &[&[u8]]) {
        for p in parts {
            self.bytes.extend_from_slice(p);
        }
        self.ends.push(self.bytes.len());
    }

    fn len(&self) -> usize {
        self.ends.len()
    }

    fn get(&self, i: usize) -> &[u8] {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.bytes[start..self.ends[i]]
    }

    fn slices(&self) -> Vec<&[u8]> {
        (0..self.len()).map(|i| self.get(i)).collect()
    }
}

/// A `kB` line of /proc/self/status, in bytes.
fn proc_status_bytes(field: &str) -> f64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb * 1024.0)
}

/// A sampled latency distribution.
struct Lat {
    hist: Histogram<u64>,
    failures: u64,
}

impl Lat {
    fn q(&self, q: f64) -> f64 {
        self.hist.value_at_quantile(q) as f64
    }
}

/// Runs `op(i)` for i in 0..n, timing one call in `stride` alone.
/// `op` answers true when the call did what was expected.
#[inline(always)]
fn sampled(n: usize, stride: usize, mut op: impl FnMut(usize) -> bool) -> Lat {
    let mut hist = new_hist();
    let mut failures = 0u64;
    let mut i = 0;
    while i < n {
        let t = Instant::now();
        let ok = op(i);
        let ns = t.elapsed().as_nanos() as u64;
        hist.saturating_record(ns.max(1));
        failures += u64::from(!ok);
        let end = (i + stride).min(n);
        for j in i + 1..end {
            failures += u64::from(!op(j));
        }
        i = end;
    }
    Lat { hist, failures }
}

/// What an untimed pass did.
#[derive(Clone, Copy)]
struct Pass {
    /// Operations per second of the thread's CPU time.
    cpu_rate: f64,
    /// Operations per second of wall time.
    wall_rate: f64,
    /// CPU time / wall time.
    share: f64,
    failures: u64,
}

/// An untimed pass of `op(i)` for i in 0..n.
#[inline(always)]
fn pass(n: usize, mut op: impl FnMut(usize) -> bool) -> Pass {
    let mut failures = 0u64;
    let cpu = thread_cpu_secs();
    let t = Instant::now();
    for i in 0..n {
        failures += u64::from(!op(i));
    }
    let secs = t.elapsed().as_secs_f64();
    let cpu = thread_cpu_secs() - cpu;
    Pass { cpu_rate: n as f64 / cpu, wall_rate: n as f64 / secs, share: cpu / secs, failures }
}

/// Prints the percentiles of `lat` as `<name>_p50` etc.
fn put_lat(r: &mut Report, name: &str, lat: &Lat, all: bool) {
    r.put(&format!("{name}_p50"), lat.q(0.5), "ns");
    if all {
        r.put(&format!("{name}_p90"), lat.q(0.9), "ns");
    }
    r.put(&format!("{name}_p99"), lat.q(0.99), "ns");
    if all {
        r.put(&format!("{name}_p99.9"), lat.q(0.999), "ns");
    }
    if lat.failures > 0 {
        r.put(&format!("{name}_failures"), lat.failures as f64, "ops");
    }
}

fn put_pass(r: &mut Report, name: &str, p: Pass) {
    r.put(&format!("{name}_throughput"), p.cpu_rate, "ops/s");
    r.put(&format!("{name}_throughput_wall"), p.wall_rate, "ops/s");
    r.put(&format!("{name}_cpu_share"), p.share, "");
    if p.failures > 0 {
        r.put(&format!("{name}_pass_failures"), p.failures as f64, "ops");
    }
}

/// A path under the temp dir, removed (file or directory) on drop.
struct TempPath(PathBuf);

impl TempPath {
    fn new(name: &str) -> TempPath {
        let p = std::env::temp_dir().join(format!("maph-bench-{}-{name}", std::process::id()));
        let _ = std::fs::remove_file(&p);
        let _ = std::fs::remove_dir_all(&p);
        TempPath(p)
    }
}

impl Drop for TempPath {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

// ---------------------------------------------------------------------------
// Floor

fn put_floor(r: &mut Report, bytes: u64) -> Floor {
    let f = measure::floor(bytes, 0xF100_12AB).expect("floor buffer");
    r.put("floor_buffer", bytes as f64 / (1u64 << 20) as f64, "MiB");
    r.put("floor_dram_ns", f.dram_ns, "ns");
    r.put("floor_mlp_ns", f.mlp_ns, "ns");
    r.put("floor_dram_wall_ns", f.dram_wall_ns, "ns");
    r.put("floor_mlp_wall_ns", f.mlp_wall_ns, "ns");
    f
}

// ---------------------------------------------------------------------------
// Data sets

/// Keys and values of a workload, plus the lists the timed loops walk.
struct Data {
    name: &'static str,
    keys: Flat,
    vals: Flat,
    /// Keys to look up, in order of use (uniform random with replacement).
    hit_idx: Vec<u32>,
    hits: Flat,
    /// Absent keys, in order of use.
    misses: Flat,
    /// Keys inserted after `optimize()` (1% of the keys), absent before.
    extra: Flat,
    /// Rows left out because key + value exceed a slot.
    too_large: u64,
    slots: u64,
    slot_size: u32,
}

fn w1_value(i: usize, out: &mut Vec<u8>) {
    out.clear();
    out.extend_from_slice(format!("val:{i:08}:").as_bytes());
    while out.len() < 100 {
        out.push(b'a' + ((i + out.len()) % 26) as u8);
    }
}

fn lists(
    data: &mut Data, cfg: &Cfg, miss_of: impl Fn(usize) -> Vec<u8>,
    extra_of: impl Fn(usize) -> Vec<u8>,
) {
    let n = data.keys.len();
    let mut rng = SplitMix64::new(0x0417_5EED ^ n as u64);
    data.hit_idx = (0..cfg.hits).map(|_| rng.below(n as u64) as u32).collect();
    let avg = data.keys.bytes.len() / n.max(1) + 1;
    let mut hits = Flat::with_capacity(cfg.hits, cfg.hits * avg);
    for &i in &data.hit_idx {
        hits.push(&[data.keys.get(i as usize)]);
    }
    data.hits = hits;
    // A drawn miss that is in fact a key (W2 has names ending in
    // "-missing") is drawn again: every miss must be absent.
    let present: std::collections::HashSet<&[u8]> = (0..n).map(|i| data.keys.get(i)).collect();
    let mut misses = Flat::with_capacity(cfg.misses, cfg.misses * (avg + 8));
    let mut redrawn = 0u64;
    while misses.len() < cfg.misses {
        let m = miss_of(rng.below(n as u64) as usize);
        if present.contains(m.as_slice()) {
            redrawn += 1;
            continue;
        }
        misses.push(&[&m]);
    }
    if redrawn > 0 {
        println!(
            "{}: {redrawn} drawn misses were keys of the data set and were drawn again",
            data.name
        );
    }
    drop(present);
    data.misses = misses;
    let mut extra = Flat::default();
    for i in 0..(n / 100).max(1) {
        extra.push(&[&extra_of(i)]);
    }
    data.extra = extra;
}

fn w1_data(cfg: &Cfg) -> Data {
    let n = cfg.keys;
    let mut keys = Flat::with_capacity(n, n * 12);
    let mut vals = Flat::with_capacity(n, n * 100);
    let mut v = Vec::new();
    for i in 0..n {
        keys.push(&[format!("key:{i:08}").as_bytes()]);
        w1_value(i, &mut v);
        vals.push(&[&v]);
    }
    let mut d = Data {
        name: "w1",
        keys,
        vals,
        hit_idx: Vec::new(),
        hits: Flat::default(),
        misses: Flat::default(),
        extra: Flat::default(),
        too_large: 0,
        slots: 2 * n as u64,
        slot_size: 512,
    };
    lists(
        &mut d,
        cfg,
        |i| format!("miss:{i:08}").into_bytes(),
        |i| format!("new:{i:08}").into_bytes(),
    );
    d
}

/// W2: the PyPI table, key = name, value = version TAB summary. Rows whose
/// key + value do not fit a 512-byte slot are counted as `too_large`.
fn w2_data(cfg: &Cfg) -> Option<Data> {
    let file = match std::fs::File::open(&cfg.w2_path) {
        Ok(f) => f,
        Err(e) => {
            println!(
                "w2: skipped: {} is absent ({e}); W2 needs the real data set",
                cfg.w2_path.display()
            );
            return None;
        }
    };
    let rd = BufReader::new(flate2::read::MultiGzDecoder::new(file));
    let cap = 512 - 32;
    let mut keys = Flat::with_capacity(1 << 20, 24 << 20);
    let mut vals = Flat::with_capacity(1 << 20, 64 << 20);
    let mut too_large = 0u64;
    for (lineno, line) in rd.split(b'\n').enumerate() {
        let mut line = line.expect("reading the W2 data");
        if lineno == 0 {
            continue; // header
        }
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        let Some(t) = line.iter().position(|&b| b == b'\t') else {
            continue;
        };
        let (k, v) = (&line[..t], &line[t + 1..]);
        if k.is_empty() {
            continue;
        }
        if k.len() + v.len() > cap {
            too_large += 1;
            continue;
        }
        keys.push(&[k]);
        vals.push(&[v]);
    }
    let n = keys.len();
    let mut d = Data {
        name: "w2",
        keys,
        vals,
        hit_idx: Vec::new(),
        hits: Flat::default(),
        misses: Flat::default(),
        extra: Flat::default(),
        too_large,
        slots: (((n + too_large as usize) as f64) / 0.75).ceil() as u64,
        slot_size: 512,
    };
    // Misses and extras are derived from the names; borrowck wants copies.
    let names: Vec<Vec<u8>> = (0..n).map(|i| d.keys.get(i).to_vec()).collect();
    lists(
        &mut d,
        cfg,
        |i| [names[i].as_slice(), b"-missing"].concat(),
        |i| [names[i].as_slice(), b"-new"].concat(),
    );
    Some(d)
}

// ---------------------------------------------------------------------------
// maph

struct Maph {
    store: Store,
    file: TempPath,
    /// UID of each hit, in order of use.
    hit_uids: Vec<u64>,
}

fn maph_load(d: &Data, r: &mut Report) -> Maph {
    let file = TempPath::new(&format!("{}.maph", d.name));
    let opts =
        Options { slots: d.slots, slot_size: d.slot_size, seed: 0x5EED_0003, ..Options::default() };
    let store = Store::create(&file.0, &opts).expect("creating the store");
    let n = d.keys.len();
    let t = Instant::now();
    for i in 0..n {
        store.set(d.keys.get(i), d.vals.get(i)).unwrap_or_else(|e| panic!("set of key {i}: {e}"));
    }
    let secs = t.elapsed().as_secs_f64();
    r.put("keys", n as f64, "keys");
    if d.name == "w2" {
        r.put("too_large", d.too_large as f64, "rows");
    }
    r.put("slots", d.slots as f64, "slots");
    r.put("before.insert_rate", n as f64 / secs, "keys/s");
    let st = store.stats();
    r.put("longest_probe", f64::from(st.longest_probe), "slots");
    // Full check of every value (untimed).
    let mut buf = vec![0u8; store.slot_capacity()];
    let mut bad = 0u64;
    for i in 0..n {
        match store.get(d.keys.get(i), &mut buf) {
            Ok(l) if &buf[..l] == d.vals.get(i) => {}
            _ => bad += 1,
        }
    }
    assert_eq!(bad, 0, "{bad} values read back wrong after the load");
    let uids: Vec<u64> =
        (0..n).map(|i| store.uid(d.keys.get(i)).expect("uid of a loaded key")).collect();
    let hit_uids = d.hit_idx.iter().map(|&i| uids[i as usize]).collect();
    Maph { store, file, hit_uids }
}

/// Every read figure of one phase (`before` or `after` optimize).
fn maph_phase(phase: &str, m: &Maph, d: &Data, cfg: &Cfg, r: &mut Report) {
    let s = &m.store;
    let hits = d.hits.slices();
    let misses = d.misses.slices();
    let cap = s.slot_capacity();
    let mut buf = vec![0u8; cap];
    let stride = cfg.stride;

    let lat = sampled(hits.len(), stride, |i| s.get(hits[i], &mut buf).is_ok());
    put_lat(r, &format!("{phase}.get_hit"), &lat, true);
    let p = pass(hits.len(), |i| s.get(hits[i], &mut buf).is_ok());
    put_pass(r, &format!("{phase}.get_hit"), p);

    // Two threads, each over the whole hit list from its own half onwards:
    // total gets per second of wall time against one thread's wall rate.
    let wall1 = p.wall_rate;
    let t = Instant::now();
    let ok: u64 = std::thread::scope(|sc| {
        let hs: Vec<_> = (0..2)
            .map(|k| {
                let hits = &hits;
                sc.spawn(move || {
                    let mut b = vec![0u8; cap];
                    let n = hits.len();
                    (0..n)
                        .map(|i| u64::from(s.get(hits[(i + k * n / 2) % n], &mut b).is_ok()))
                        .sum::<u64>()
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().expect("reader thread")).sum()
    });
    let rate2 = 2.0 * hits.len() as f64 / t.elapsed().as_secs_f64();
    r.put(&format!("{phase}.get_hit_throughput_2threads_wall"), rate2, "ops/s");
    r.put(&format!("{phase}.get_hit_2threads_over_1thread_wall"), rate2 / wall1, "x");
    if ok != 2 * hits.len() as u64 {
        r.put(
            &format!("{phase}.get_hit_2threads_failures"),
            (2 * hits.len() as u64 - ok) as f64,
            "ops",
        );
    }

    let lat = sampled(misses.len(), stride, |i| {
        matches!(s.get(misses[i], &mut buf), Err(Error::NotFound))
    });
    put_lat(r, &format!("{phase}.get_miss"), &lat, false);
    let p = pass(misses.len(), |i| matches!(s.get(misses[i], &mut buf), Err(Error::NotFound)));
    put_pass(r, &format!("{phase}.get_miss"), p);

    // Zero-copy: find, copy the value out, then check the token.
    let lat = sampled(hits.len(), stride, |i| match s.get_ref(hits[i]) {
        Ok(v) => {
            // SAFETY: `get_ref` guarantees `len` bytes readable at `ptr`
            // while the store is open; `buf` holds `cap >= len` bytes.
            unsafe { std::ptr::copy_nonoverlapping(v.ptr, buf.as_mut_ptr(), v.len) };
            s.ref_valid(v.token)
        }
        Err(_) => false,
    });
    put_lat(r, &format!("{phase}.get_ptr"), &lat, false);

    let uids = &m.hit_uids;
    let lat = sampled(uids.len(), stride, |i| s.get_by_uid(uids[i], &mut buf).is_ok());
    put_lat(r, &format!("{phase}.get_by_uid"), &lat, false);
    let p = pass(uids.len(), |i| s.get_by_uid(uids[i], &mut buf).is_ok());
    put_pass(r, &format!("{phase}.get_by_uid"), p);

    // mget against a loop of get on the same keys, adjacent in time.
    let p = pass(hits.len(), |i| s.get(hits[i], &mut buf).is_ok());
    r.put(&format!("{phase}.get_loop_keys_per_s"), p.cpu_rate, "keys/s");
    r.put(&format!("{phase}.get_loop_cpu_share"), p.share, "");
    let mut store_bufs = vec![vec![0u8; cap]; 64];
    let mut bufs: Vec<&mut [u8]> = store_bufs.iter_mut().map(|v| v.as_mut_slice()).collect();
    let mut out: Vec<maph::Result<usize>> = (0..64).map(|_| Ok(0)).collect();
    for g in [16usize, 64] {
        let groups = hits.len() / g;
        let p = pass(groups, |j| {
            let ks = &hits[j * g..(j + 1) * g];
            s.mget(ks, &mut bufs[..g], &mut out[..g]);
            out[..g].iter().all(|o| o.is_ok())
        });
        let (share, fails) = (p.share, p.failures);
        let keys_per_s = p.cpu_rate * g as f64;
        r.put(&format!("{phase}.mget{g}_keys_per_s"), keys_per_s, "keys/s");
        r.put(&format!("{phase}.mget{g}_ns_per_key"), 1e9 / keys_per_s, "ns");
        r.put(&format!("{phase}.mget{g}_cpu_share"), share, "");
        if fails > 0 {
            r.put(&format!("{phase}.mget{g}_failed_groups"), fails as f64, "groups");
        }
    }
    black_box(&store_bufs);

    let meta = std::fs::metadata(&m.file.0).expect("store file metadata");
    r.put(&format!("{phase}.file_size"), meta.len() as f64 / 1048576.0, "MiB");
    r.put(&format!("{phase}.file_allocated"), meta.blocks() as f64 * 512.0 / 1048576.0, "MiB");
    r.put(&format!("{phase}.rss"), proc_status_bytes("VmRSS:") / 1048576.0, "MiB");
    r.put(&format!("{phase}.rss_file"), proc_status_bytes("RssFile:") / 1048576.0, "MiB");
}

fn maph_optimize(m: &Maph, d: &Data, r: &mut Report) {
    let t = Instant::now();
    let rep = m.store.optimize().expect("optimize");
    let secs = t.elapsed().as_secs_f64();
    r.put("optimize_time", secs, "s");
    r.put("optimize_ns_per_key", secs * 1e9 / rep.keys as f64, "ns");
    r.put("optimize_bytes_per_key", rep.bytes as f64 / rep.keys as f64, "bytes");
    r.put("optimize_keys_left_to_probing", rep.probing as f64, "keys");
    assert_eq!(rep.keys as usize, d.keys.len(), "optimize saw every key");
    assert!(m.store.mphf_in_use());
    let mut buf = vec![0u8; m.store.slot_capacity()];
    let bad = (0..d.keys.len())
        .filter(|&i| {
            !matches!(m.store.get(d.keys.get(i), &mut buf), Ok(l) if &buf[..l] == d.vals.get(i))
        })
        .count();
    assert_eq!(bad, 0, "{bad} values read back wrong after optimize");
}

/// Inserts 1% new keys after `optimize()` (they are outside the MPHF).
fn maph_insert_after(m: &Maph, d: &Data, r: &mut Report) {
    let v = d.vals.get(0);
    let t = Instant::now();
    for i in 0..d.extra.len() {
        m.store.set(d.extra.get(i), v).expect("insert after optimize");
    }
    let secs = t.elapsed().as_secs_f64();
    r.put("after.insert_rate", d.extra.len() as f64 / secs, "keys/s");
}

// ---------------------------------------------------------------------------
// Baselines

fn hashmap_figures(d: &Data, cfg: &Cfg, r: &mut Report) -> HashMap<Vec<u8>, Vec<u8>> {
    let n = d.keys.len();
    let rss0 = proc_status_bytes("VmRSS:");
    let t = Instant::now();
    let mut map: HashMap<Vec<u8>, Vec<u8>> = HashMap::with_capacity(n);
    for i in 0..n {
        map.insert(d.keys.get(i).to_vec(), d.vals.get(i).to_vec());
    }
    r.put("hashmap.insert_rate", n as f64 / t.elapsed().as_secs_f64(), "keys/s");
    r.put("hashmap.rss_growth", (proc_status_bytes("VmRSS:") - rss0) / 1048576.0, "MiB");
    let hits = d.hits.slices();
    let misses = d.misses.slices();
    let mut buf = vec![0u8; 512];
    let get = |map: &HashMap<Vec<u8>, Vec<u8>>, k: &[u8], buf: &mut [u8]| match map.get(k) {
        Some(v) => {
            buf[..v.len()].copy_from_slice(v);
            true
        }
        None => false,
    };
    let lat = sampled(hits.len(), cfg.stride, |i| get(&map, hits[i], &mut buf));
    put_lat(r, "hashmap.get_hit", &lat, true);
    put_pass(r, "hashmap.get_hit", pass(hits.len(), |i| get(&map, hits[i], &mut buf)));
    let lat = sampled(misses.len(), cfg.stride, |i| !get(&map, misses[i], &mut buf));
    put_lat(r, "hashmap.get_miss", &lat, false);
    put_pass(r, "hashmap.get_miss", pass(misses.len(), |i| !get(&map, misses[i], &mut buf)));
    map
}

/// LMDB through heed: loaded in one write transaction; read in read
/// transactions of `LMDB_BATCH` lookups, values copied out like `get`.
const LMDB_BATCH: usize = 1000;

fn lmdb_open(d: &Data, dir: &Path) -> Env {
    std::fs::create_dir_all(dir).expect("LMDB directory");
    let data_bytes = d.keys.bytes.len() + d.vals.bytes.len() + 64 * d.keys.len();
    let map_size = (4 * data_bytes).max(1 << 30).next_multiple_of(1 << 20);
    // SAFETY: a fresh directory that only this process opens, no unsafe
    // flags.
    unsafe {
        EnvOpenOptions::new()
            .map_size(map_size)
            .max_dbs(1)
            .open(dir)
            .expect("opening the LMDB environment")
    }
}

fn lmdb_load<'e>(env: &'e Env, d: &Data, r: &mut Report) -> Database<'e, Bytes, Bytes> {
    let wtxn = env.write_txn().expect("LMDB write txn");
    let db = env
        .create_databases_and_commit(wtxn, |wdo, wtxn| {
            wdo.create_database::<Bytes, Bytes>(wtxn, None).map(CommitOrAbort::<_, ()>::Commit)
        })
        .expect("LMDB database")
        .unwrap_commit();
    let n = d.keys.len();
    let t = Instant::now();
    let mut wtxn = env.write_txn().expect("LMDB write txn");
    for i in 0..n {
        db.put(&mut wtxn, d.keys.get(i), d.vals.get(i)).expect("LMDB put");
    }
    wtxn.commit().expect("LMDB commit");
    r.put("lmdb.insert_rate", n as f64 / t.elapsed().as_secs_f64(), "keys/s");
    db
}

/// Looks up `keys[i]` for every i, in read transactions of `LMDB_BATCH`,
/// timing one lookup in `stride` (None: untimed pass).
fn lmdb_run(
    env: &Env, db: &Database<Bytes, Bytes>, keys: &[&[u8]], stride: Option<usize>, want_hit: bool,
    buf: &mut [u8],
) -> (Option<Lat>, Pass) {
    let mut hist = new_hist();
    let mut failures = 0u64;
    let mut countdown = 0usize;
    let cpu = thread_cpu_secs();
    let t = Instant::now();
    for chunk in keys.chunks(LMDB_BATCH) {
        let rtxn = env.read_txn().expect("LMDB read txn");
        for &k in chunk {
            let timed = match stride {
                Some(s) if countdown == 0 => {
                    countdown = s - 1;
                    true
                }
                Some(_) => {
                    countdown -= 1;
                    false
                }
                None => false,
            };
            let t0 = if timed { Some(Instant::now()) } else { None };
            let ok = match db.get(&rtxn, k) {
                Ok(Some(v)) => {
                    buf[..v.len()].copy_from_slice(v);
                    want_hit
                }
                Ok(None) => !want_hit,
                Err(_) => false,
            };
            if let Some(t0) = t0 {
                hist.saturating_record((t0.elapsed().as_nanos() as u64).max(1));
            }
            failures += u64::from(!ok);
        }
        drop(rtxn);
    }
    let secs = t.elapsed().as_secs_f64();
    let cpu = thread_cpu_secs() - cpu;
    let lat = stride.map(|_| Lat { hist, failures });
    let n = keys.len() as f64;
    let p = Pass { cpu_rate: n / cpu, wall_rate: n / secs, share: cpu / secs, failures };
    (lat, p)
}

fn lmdb_figures(env: &Env, db: &Database<Bytes, Bytes>, d: &Data, cfg: &Cfg, r: &mut Report) {
    let hits = d.hits.slices();
    let misses = d.misses.slices();
    let mut buf = vec![0u8; 512];
    let (lat, _) = lmdb_run(env, db, &hits, Some(cfg.stride), true, &mut buf);
    put_lat(r, "lmdb.get_hit", &lat.expect("sampled"), true);
    let (_, p) = lmdb_run(env, db, &hits, None, true, &mut buf);
    put_pass(r, "lmdb.get_hit", p);
    let (lat, _) = lmdb_run(env, db, &misses, Some(cfg.stride), false, &mut buf);
    put_lat(r, "lmdb.get_miss", &lat.expect("sampled"), false);
    let (_, p) = lmdb_run(env, db, &misses, None, false, &mut buf);
    put_pass(r, "lmdb.get_miss", p);
    let mut bytes = 0u64;
    if let Ok(rd) = std::fs::read_dir(env.path()) {
        for e in rd.flatten() {
            bytes += e.metadata().map_or(0, |m| m.blocks() * 512);
        }
    }
    r.put("lmdb.file_allocated", bytes as f64 / 1048576.0, "MiB");
}

// ---------------------------------------------------------------------------
// Criterion: the headline operations, so `cargo bench` shows its statistics.

fn crit() -> Criterion {
    Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args()
}

/// One lookup per iteration over the precomputed list, cycling.
fn bench_each(
    g: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>, name: &str, n: usize,
    mut op: impl FnMut(usize) -> bool,
) {
    g.throughput(Throughput::Elements(1));
    let mut i = 0usize;
    g.bench_function(name, |b| {
        b.iter(|| {
            i += 1;
            if i == n {
                i = 0;
            }
            black_box(op(i))
        })
    });
}

// ---------------------------------------------------------------------------
// Workloads

fn workload(d: &Data, cfg: &Cfg) {
    let w = d.name;
    let mut r = Report::new(w);
    println!(
        "== {w}: {} keys, {} slots of {} bytes, {} GETs of hits, {} of misses, latency on 1 op in {}",
        d.keys.len(),
        d.slots,
        d.slot_size,
        d.hits.len(),
        d.misses.len(),
        cfg.stride
    );
    r.put("clock_overhead", measure::clock_overhead_ns() as f64, "ns");
    put_floor(&mut r, d.slots * u64::from(d.slot_size));

    let m = maph_load(d, &mut r);
    let map = cfg.baselines.then(|| hashmap_figures(d, cfg, &mut r));
    let lmdb_dir = TempPath::new(&format!("{w}.lmdb"));
    let env = cfg.baselines.then(|| lmdb_open(d, &lmdb_dir.0));
    let db = env.as_ref().map(|e| lmdb_load(e, d, &mut r));
    if let (Some(env), Some(db)) = (&env, &db) {
        lmdb_figures(env, db, d, cfg, &mut r);
    }

    maph_phase("before", &m, d, cfg, &mut r);
    let hits = d.hits.slices();
    let misses = d.misses.slices();
    let mut buf = vec![0u8; 512];
    let mut c = cfg.criterion.then(crit);
    if let Some(c) = c.as_mut() {
        let mut g = c.benchmark_group(format!("{w}_before_optimize"));
        bench_each(&mut g, "get_hit", hits.len(), |i| m.store.get(hits[i], &mut buf).is_ok());
        bench_each(&mut g, "get_miss", misses.len(), |i| m.store.get(misses[i], &mut buf).is_err());
        g.finish();
    }

    maph_optimize(&m, d, &mut r);
    maph_phase("after", &m, d, cfg, &mut r);

    if let Some(c) = c.as_mut() {
        let mut g = c.benchmark_group(format!("{w}_after_optimize"));
        bench_each(&mut g, "get_hit", hits.len(), |i| m.store.get(hits[i], &mut buf).is_ok());
        bench_each(&mut g, "get_miss", misses.len(), |i| m.store.get(misses[i], &mut buf).is_err());
        let uids = &m.hit_uids;
        bench_each(&mut g, "get_by_uid", uids.len(), |i| {
            m.store.get_by_uid(uids[i], &mut buf).is_ok()
        });
        let mut store_bufs = vec![vec![0u8; 512]; 16];
        let mut bufs: Vec<&mut [u8]> = store_bufs.iter_mut().map(|v| v.as_mut_slice()).collect();
        let mut out: Vec<maph::Result<usize>> = (0..16).map(|_| Ok(0)).collect();
        g.throughput(Throughput::Elements(16));
        let groups = hits.len() / 16;
        let mut j = 0usize;
        g.bench_function("mget16", |b| {
            b.iter(|| {
                j += 1;
                if j == groups {
                    j = 0;
                }
                m.store.mget(&hits[j * 16..j * 16 + 16], &mut bufs, &mut out);
                black_box(out[0].is_ok())
            })
        });
        if let Some(map) = &map {
            bench_each(&mut g, "hashmap_get_hit", hits.len(), |i| match map.get(hits[i]) {
                Some(v) => {
                    buf[..v.len()].copy_from_slice(v);
                    true
                }
                None => false,
            });
        }
        if let (Some(env), Some(db)) = (&env, &db) {
            g.throughput(Throughput::Elements(1));
            let mut k = 0usize;
            g.bench_function("lmdb_get_hit", |b| {
                b.iter_custom(|iters| {
                    let t = Instant::now();
                    let mut left = iters;
                    while left > 0 {
                        let rtxn = env.read_txn().expect("LMDB read txn");
                        for _ in 0..left.min(LMDB_BATCH as u64) {
                            k += 1;
                            if k == hits.len() {
                                k = 0;
                            }
                            if let Ok(Some(v)) = db.get(&rtxn, hits[k]) {
                                buf[..v.len()].copy_from_slice(v);
                            }
                            left -= 1;
                        }
                    }
                    t.elapsed()
                })
            });
        }
        g.finish();
    }
    maph_insert_after(&m, d, &mut r);

    // Ratios and targets (issue 3), all from this run.
    let fd = r.get("floor_dram_ns");
    let fm = r.get("floor_mlp_ns");
    println!("-- {w}: ratios (floor_dram_ns {fd:.1}, floor_mlp_ns {fm:.2})");
    for ph in ["before", "after"] {
        for q in ["p50", "p90", "p99", "p99.9"] {
            let v = r.get(&format!("{ph}.get_hit_{q}")) / fd;
            r.put(&format!("{ph}.get_hit_{q}_over_floor_dram"), v, "x");
        }
        for q in ["p50", "p99"] {
            let v = r.get(&format!("{ph}.get_miss_{q}")) / fd;
            r.put(&format!("{ph}.get_miss_{q}_over_floor_dram"), v, "x");
        }
        let v = r.get(&format!("{ph}.get_by_uid_p50")) / fd;
        r.put(&format!("{ph}.get_by_uid_p50_over_floor_dram"), v, "x");
        let v = r.get(&format!("{ph}.get_ptr_p50")) / fd;
        r.put(&format!("{ph}.get_ptr_p50_over_floor_dram"), v, "x");
        for g in [16, 64] {
            let v = r.get(&format!("{ph}.mget{g}_ns_per_key")) / fm;
            r.put(&format!("{ph}.mget{g}_ns_per_key_over_floor_mlp"), v, "x");
        }
        if cfg.baselines {
            let v = r.get(&format!("{ph}.get_hit_throughput")) / r.get("lmdb.get_hit_throughput");
            r.put(&format!("{ph}.get_hit_throughput_over_lmdb"), v, "x");
            let v =
                r.get(&format!("{ph}.get_hit_throughput")) / r.get("hashmap.get_hit_throughput");
            r.put(&format!("{ph}.get_hit_throughput_over_hashmap"), v, "x");
            let v = r.get(&format!("{ph}.get_hit_p50")) / r.get("hashmap.get_hit_p50");
            r.put(&format!("{ph}.get_hit_p50_over_hashmap"), v, "x");
            let v = r.get(&format!("{ph}.get_hit_p50")) / r.get("lmdb.get_hit_p50");
            r.put(&format!("{ph}.get_hit_p50_over_lmdb"), v, "x");
        }
    }
    if cfg.baselines {
        for name in ["hashmap", "lmdb"] {
            let v = r.get(&format!("{name}.get_hit_p50")) / fd;
            r.put(&format!("{name}.get_hit_p50_over_floor_dram"), v, "x");
        }
    }
    let a = |n: &str| r.get(&format!("after.{n}"));
    let t = [
        ("get_hit_p50_after", a("get_hit_p50") / fd, "<=", 1.3, "GET hit p50 / floor_dram_ns"),
        ("get_hit_p99_after", a("get_hit_p99") / fd, "<=", 3.0, "GET hit p99 / floor_dram_ns"),
        ("get_miss_p50_after", a("get_miss_p50") / fd, "<=", 1.3, "GET miss p50 / floor_dram_ns"),
        (
            "get_by_uid_p50_after",
            a("get_by_uid_p50") / a("get_hit_p50"),
            "<=",
            1.0,
            "get_by_uid p50 / get p50",
        ),
        (
            "mget16_vs_get_loop_after",
            a("mget16_keys_per_s") / a("get_loop_keys_per_s"),
            ">=",
            4.0,
            "mget(16) keys/s / loop of get keys/s",
        ),
        (
            "mget16_ns_per_key_after",
            a("mget16_ns_per_key") / fm,
            "<=",
            3.0,
            "mget(16) ns per key / floor_mlp_ns",
        ),
        (
            "mget64_vs_get_loop_after",
            a("mget64_keys_per_s") / a("get_loop_keys_per_s"),
            ">=",
            4.0,
            "mget(64) keys/s / loop of get keys/s",
        ),
        (
            "mget64_ns_per_key_after",
            a("mget64_ns_per_key") / fm,
            "<=",
            3.0,
            "mget(64) ns per key / floor_mlp_ns",
        ),
        (
            "get_throughput_vs_lmdb_after",
            a("get_hit_throughput") / r.get("lmdb.get_hit_throughput"),
            ">=",
            5.0,
            "GET hit throughput / LMDB's",
        ),
    ];
    for (name, v, op, lim, what) in t {
        r.target(name, v, op, lim, what);
    }
    if let Some(c) = c {
        c.final_summary();
    }
    let _ = db;
    drop(env);
    drop(m);
}

/// Loads `MAPH_BENCH_10M_KEYS` W1-shaped keys and times `optimize()`.
fn optimize_10m(cfg: &Cfg) {
    let mut r = Report::new("w1_10m");
    let n = cfg.k10m;
    let slots = cfg.slots10m;
    let ss = cfg.slot_size10m;
    println!(
        "== w1_10m: {n} keys (W1 shape), {slots} slots of {ss} bytes ({:.1} GiB sparse file)",
        (slots * u64::from(ss)) as f64 / (1u64 << 30) as f64
    );
    r.put("clock_overhead", measure::clock_overhead_ns() as f64, "ns");
    let fl = put_floor(&mut r, slots * u64::from(ss));
    let file = TempPath::new("w1-10m.maph");
    let opts = Options { slots, slot_size: ss, seed: 0x5EED_0010, ..Options::default() };
    let store = Store::create(&file.0, &opts).expect("creating the 10M store");
    let mut k = Vec::with_capacity(16);
    let mut v = Vec::with_capacity(128);
    let t = Instant::now();
    for i in 0..n {
        k.clear();
        k.extend_from_slice(format!("key:{i:08}").as_bytes());
        w1_value(i, &mut v);
        store.set(&k, &v).unwrap_or_else(|e| panic!("set of key {i}: {e}"));
    }
    r.put("keys", n as f64, "keys");
    r.put("insert_rate", n as f64 / t.elapsed().as_secs_f64(), "keys/s (formatting included)");
    let lookups = 1_000_000usize;
    let mut rng = SplitMix64::new(0x10_0000);
    let mut hits = Flat::with_capacity(lookups, lookups * 12);
    let mut misses = Flat::with_capacity(lookups, lookups * 13);
    for _ in 0..lookups {
        hits.push(&[format!("key:{:08}", rng.below(n as u64)).as_bytes()]);
        misses.push(&[format!("miss:{:08}", rng.below(n as u64)).as_bytes()]);
    }
    let (hits, misses) = (hits.slices(), misses.slices());
    let mut buf = vec![0u8; store.slot_capacity()];
    let mut phase = |r: &mut Report, ph: &str| {
        let lat = sampled(lookups, cfg.stride, |i| store.get(hits[i], &mut buf).is_ok());
        put_lat(r, &format!("{ph}.get_hit"), &lat, false);
        let lat = sampled(lookups, cfg.stride, |i| store.get(misses[i], &mut buf).is_err());
        put_lat(r, &format!("{ph}.get_miss"), &lat, false);
    };
    phase(&mut r, "before");
    let t = Instant::now();
    let rep = store.optimize().expect("optimize of 10M keys");
    let secs = t.elapsed().as_secs_f64();
    r.put("optimize_time", secs, "s");
    r.put("optimize_ns_per_key", secs * 1e9 / rep.keys as f64, "ns");
    r.put("optimize_bytes_per_key", rep.bytes as f64 / rep.keys as f64, "bytes");
    r.put("optimize_keys_left_to_probing", rep.probing as f64, "keys");
    phase(&mut r, "after");
    r.put("rss", proc_status_bytes("VmRSS:") / 1048576.0, "MiB");
    let fd = fl.dram_ns;
    let v = r.get("after.get_hit_p50") / fd;
    r.put("after.get_hit_p50_over_floor_dram", v, "x");
    r.target("optimize_10m_seconds", secs, "<", 5.0, "optimize() of 10M keys, seconds");
    drop(store);
    drop(file);
}

fn main() {
    let cfg = Cfg::from_env();
    println!(
        "maph store benchmarks (WORKLOADS.md W1/W2); timing: Instant::now() pairs; temp dir {}",
        std::env::temp_dir().display()
    );
    if cfg.w1 {
        let d = w1_data(&cfg);
        workload(&d, &cfg);
    }
    if cfg.w2 {
        if let Some(d) = w2_data(&cfg) {
            let cfg2 = Cfg { criterion: false, ..Cfg::from_env() };
            workload(&d, &cfg2);
        }
    }
    if cfg.opt10m {
        optimize_10m(&cfg);
    }
}
