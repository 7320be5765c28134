//! `maph bench`: the standard workloads W1 and W2 of
//! `../shared/WORKLOADS.md`, one `name: value unit` line per figure.
//!
//! Not measured (the library has no such API yet): `optimize()` and the
//! figures after it, get-by-UID, batch GET, the shared-memory variant.

use std::collections::HashSet;
use std::fmt::Display;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use maph::{Options, Store};

use crate::measure::{self, Floor, KeyList, SplitMix64};
use crate::tsv::{self, Refused, Rows};
use crate::{Fail, Workload};

const SLOT_SIZE: u32 = 512;
/// One hit GET in `STRIDE` is timed alone: 2% of operations.
const STRIDE: usize = 50;
const W1_VALUE_LEN: usize = 100;
const W2_HITS: usize = 5_000_000;
const W2_MISSES: usize = 1_000_000;
const DEFAULT_DATA: &str = "../shared/data/pypi-packages.tsv.gz";

/// Prints one figure: `name: value unit` (no unit for a bare number).
pub fn fig(name: &str, value: impl Display, unit: &str) -> Result<(), Fail> {
    if unit.is_empty() {
        out!("{name}: {value}")
    } else {
        out!("{name}: {value} {unit}")
    }
}

/// A file removed on drop (also when a benchmark fails half way).
pub struct TempPath(pub PathBuf);

impl Drop for TempPath {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

pub fn run(
    workload: Workload, data: Option<PathBuf>, keys: u64, dir: &Path,
) -> Result<ExitCode, Fail> {
    if !dir.is_dir() {
        return Err(Fail::new(dir, "not a directory"));
    }
    if let Some(l) = measure::loadavg() {
        // Other work on the machine slows every figure; see *_cpu_share.
        fig("loadavg_1min", format!("{l:.2}"), "")?;
    }
    let mut ok = true;
    if workload != Workload::W2 {
        ok &= w1(keys, dir)?;
    }
    if workload != Workload::W1 {
        let data = data.unwrap_or_else(|| PathBuf::from(DEFAULT_DATA));
        if data.exists() {
            ok &= w2(&data, dir)?;
        } else {
            out!("W2 skipped: {} not found", data.display())?;
        }
    }
    Ok(if ok { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

fn print_floor(f: &Floor) -> Result<(), Fail> {
    fig("floor_buffer", measure::mib(f.bytes), "MiB")?;
    fig("floor_dram_ns", format!("{:.1}", f.dram_ns), "ns")?;
    fig("floor_mlp_ns", format!("{:.1}", f.mlp_ns), "ns")?;
    fig("floor_dram_wall_ns", format!("{:.1}", f.dram_wall_ns), "ns")?;
    fig("floor_mlp_wall_ns", format!("{:.1}", f.mlp_wall_ns), "ns")
}

fn new_store(dir: &Path, name: &str, slots: u64) -> Result<(TempPath, Store), Fail> {
    let path = dir.join(format!("maph-bench-{name}-{}.maph", std::process::id()));
    let opts = Options { slots, slot_size: SLOT_SIZE, ..Options::default() };
    let store = Store::create(&path, &opts).map_err(|e| Fail::new(&path, e))?;
    Ok((TempPath(path), store))
}

fn w1_value(i: usize, out: &mut [u8]) {
    let head = format!("val:{i:08}:");
    out[..head.len()].copy_from_slice(head.as_bytes());
    for (j, b) in out.iter_mut().enumerate().skip(head.len()) {
        *b = b'a' + ((i + j) % 26) as u8;
    }
}

fn w1(n: u64, dir: &Path) -> Result<bool, Fail> {
    let n = usize::try_from(n)
        .ok()
        .filter(|&n| n > 0 && 2 * n as u64 <= u64::from(u32::MAX))
        .ok_or_else(|| Fail::new("--keys", "must be from 1 to 2147483647"))?;
    let slots = 2 * n as u64;
    out!("workload: W1")?;
    fig("keys", n, "keys")?;
    fig("slots", slots, "slots")?;
    fig("slot_size", SLOT_SIZE, "bytes")?;
    let floor =
        measure::floor(slots * u64::from(SLOT_SIZE), 0x5eed_0001).map_err(|e| Fail::new(dir, e))?;
    print_floor(&floor)?;

    // Everything the timed loops use, computed up front.
    let mut keys = KeyList::with_capacity(n, n * 12);
    let mut values = vec![0u8; n * W1_VALUE_LEN];
    for i in 0..n {
        keys.push(format!("key:{i:08}").as_bytes(), b"");
        w1_value(i, &mut values[i * W1_VALUE_LEN..(i + 1) * W1_VALUE_LEN]);
    }
    let mut rng = SplitMix64::new(0x5eed_0002);
    let mut hits = KeyList::with_capacity(5 * n, 5 * n * 12);
    for _ in 0..5 * n {
        hits.push(keys.get(rng.below(n as u64) as usize), b"");
    }
    let mut misses = KeyList::with_capacity(n, n * 13);
    for i in 0..n {
        misses.push(format!("miss:{i:08}").as_bytes(), b"");
    }

    let (path, store) = new_store(dir, "w1", slots)?;
    let mut refused = Refused::default();
    let mut first_err = None;
    let t = Instant::now();
    for i in 0..n {
        let v = &values[i * W1_VALUE_LEN..(i + 1) * W1_VALUE_LEN];
        if let Err(e) = store.set(keys.get(i), v) {
            refused.add(keys.get(i));
            first_err.get_or_insert(e);
        }
    }
    let secs = t.elapsed().as_secs_f64();
    fig("insert_seconds", format!("{secs:.3}"), "s")?;
    fig("insert_rate", format!("{:.0}", n as f64 / secs), "keys/s")?;
    let mut ok = true;
    if let Some(e) = first_err {
        out!(
            "INSERT FAILED: {} ({e}) -- a library problem at load factor 0.5",
            refused.describe()
        )?;
        ok = false;
    }

    let mut buf = vec![0u8; store.slot_capacity()];
    let mut verified = 0u64;
    for i in 0..n {
        let v = &values[i * W1_VALUE_LEN..(i + 1) * W1_VALUE_LEN];
        match store.get(keys.get(i), &mut buf) {
            Ok(len) if &buf[..len] == v => verified += 1,
            _ => {}
        }
    }
    fig("verified", verified, "rows")?;
    if verified != n as u64 {
        out!("VERIFY FAILED: {} rows did not read back", n as u64 - verified)?;
        ok = false;
    }
    ok &= store_figures(&store)?;
    ok &= read_figures(&store, &path.0, &hits, &misses, &floor)?;
    Ok(ok)
}

fn w2(data: &Path, dir: &Path) -> Result<bool, Fail> {
    out!("workload: W2")?;
    let t = Instant::now();
    let rows = Rows::read(data, true)?;
    if rows.len() == 0 {
        return Err(Fail::new(data, "no rows"));
    }
    fig("data", data.display(), "")?;
    fig("rows", rows.len(), "rows")?;
    fig("read_seconds", format!("{:.3}", t.elapsed().as_secs_f64()), "s")?;
    if rows.no_tab > 0 {
        fig("no_tab", rows.no_tab, "lines (not rows)")?;
    }
    let slots = (rows.len() as f64 / 0.75).ceil() as u64;
    fig("slots", slots, "slots")?;
    fig("slot_size", SLOT_SIZE, "bytes")?;
    let floor =
        measure::floor(slots * u64::from(SLOT_SIZE), 0x5eed_0003).map_err(|e| Fail::new(dir, e))?;
    print_floor(&floor)?;

    let (path, store) = new_store(dir, "w2", slots)?;
    let rep = tsv::load_rows(&store, &path.0, &rows)?;
    let loaded = rep.loaded.len();
    fig("loaded", loaded, "rows")?;
    fig("insert_seconds", format!("{:.3}", rep.seconds), "s")?;
    fig("insert_rate", format!("{:.0}", loaded as f64 / rep.seconds), "keys/s")?;
    fig("too_large", rep.too_large.describe(), "")?;
    let mut ok = true;
    if rep.full.count > 0 {
        out!(
            "FULL: {} -- LIBRARY PROBLEM: a store at load factor 0.75 refused rows",
            rep.full.describe()
        )?;
        ok = false;
    }
    if rep.invalid.count > 0 {
        out!("invalid: {} (empty key)", rep.invalid.describe())?;
        ok = false;
    }
    let verified = tsv::verify_rows(&store, &path.0, &rows, &rep.loaded)?;
    fig("verified", verified, "rows")?;
    ok &= store_figures(&store)?;

    let mut rng = SplitMix64::new(0x5eed_0004);
    let mut hits = KeyList::with_capacity(W2_HITS, W2_HITS * 16);
    for _ in 0..W2_HITS {
        let i = rep.loaded[rng.below(loaded as u64) as usize];
        hits.push(rows.key(i), b"");
    }
    // Some "<name>-missing" are real packages (boto3-missing): not misses.
    let names: HashSet<&[u8]> = rep.loaded.iter().map(|&i| rows.key(i)).collect();
    let mut excluded = 0u64;
    let mut misses = KeyList::with_capacity(W2_MISSES, W2_MISSES * 24);
    let mut probe = Vec::new();
    while misses.len() < W2_MISSES {
        let key = rows.key(rep.loaded[rng.below(loaded as u64) as usize]);
        probe.clear();
        probe.extend_from_slice(key);
        probe.extend_from_slice(b"-missing");
        if names.contains(&probe[..]) {
            excluded += 1;
            continue;
        }
        misses.push(key, b"-missing");
    }
    drop(names);
    fig("miss_draws_excluded", excluded, "(name-missing is itself a package)")?;
    ok &= read_figures(&store, &path.0, &hits, &misses, &floor)?;
    Ok(ok)
}

/// Load factor, longest probe, and `check()`; false when it finds a
/// violation.
fn store_figures(store: &Store) -> Result<bool, Fail> {
    let st = store.stats();
    fig("load_factor", format!("{:.4}", st.load_factor), "")?;
    fig("longest_probe", st.longest_probe, "slots")?;
    let violations = store.check();
    fig("check_violations", violations.len(), "")?;
    if let Some(v) = violations.first() {
        out!("CHECK FAILED: {v}")?;
        return Ok(false);
    }
    Ok(true)
}

/// The read figures common to W1 and W2; false when an operation did not
/// answer as expected.
fn read_figures(
    store: &Store, path: &Path, hits: &KeyList, misses: &KeyList, floor: &Floor,
) -> Result<bool, Fail> {
    let mut buf = vec![0u8; store.slot_capacity()];
    let mut failures = 0u64;
    fig("clock_overhead", measure::clock_overhead_ns(), "ns")?;

    let lat =
        measure::latency(hits, 0..hits.len(), STRIDE, |k| measure::get_hit(store, &mut buf, k));
    failures += lat.failures;
    fig("get_hit_ops", lat.ops, "ops")?;
    fig("get_hit_samples", lat.hist.len(), "ops")?;
    fig("get_hit_p50", lat.q(0.5), "ns")?;
    fig("get_hit_p90", lat.q(0.9), "ns")?;
    fig("get_hit_p99", lat.q(0.99), "ns")?;
    fig("get_hit_p99.9", lat.q(0.999), "ns")?;
    let p = measure::pass(hits, 0..hits.len(), |k| measure::get_hit(store, &mut buf, k));
    failures += p.failures;
    let hit_tput = hits.len() as f64 / p.secs;
    fig("get_hit_throughput", format!("{hit_tput:.0}"), "ops/s")?;
    fig("get_hit_ns_per_op", format!("{:.1}", 1e9 / hit_tput), "ns")?;
    fig("get_hit_cpu_share", format!("{:.2}", p.cpu_secs / p.secs), "")?;
    let (tput2, share2, f) = measure::hit_throughput_threads(store, hits, 2);
    failures = failures.saturating_add(f);
    fig("get_hit_throughput_2threads", format!("{tput2:.0}"), "ops/s")?;
    fig("get_hit_2threads_cpu_share", format!("{share2:.2}"), "")?;

    let mlat = measure::latency(misses, 0..misses.len(), STRIDE, |k| {
        measure::get_miss(store, &mut buf, k)
    });
    failures += mlat.failures;
    fig("miss_ops", mlat.ops, "ops")?;
    fig("miss_p50", mlat.q(0.5), "ns")?;
    fig("miss_p99", mlat.q(0.99), "ns")?;
    let p = measure::pass(misses, 0..misses.len(), |k| measure::get_miss(store, &mut buf, k));
    failures += p.failures;
    fig("miss_throughput", format!("{:.0}", misses.len() as f64 / p.secs), "ops/s")?;

    let rlat = measure::latency(hits, 0..hits.len(), STRIDE, |k| measure::get_ref_hit(store, k));
    failures += rlat.failures;
    fig("get_ref_p50", rlat.q(0.5), "ns (get_ref + ref_valid)")?;

    let file = std::fs::metadata(path).map_err(|e| Fail::new(path, e))?.len();
    fig("file_size", measure::mib(file), "MiB")?;
    match measure::rss_bytes() {
        Some(r) => fig("rss", measure::mib(r), "MiB")?,
        None => fig("rss", "unknown", "")?,
    }

    let ratio = |x: f64, floor: f64| format!("{:.2}", x / floor);
    fig("get_hit_p50_over_floor", ratio(lat.q(0.5) as f64, floor.dram_ns), "x")?;
    fig("get_hit_p99_over_floor", ratio(lat.q(0.99) as f64, floor.dram_ns), "x")?;
    fig("get_hit_ns_per_op_over_mlp", ratio(1e9 / hit_tput, floor.mlp_ns), "x")?;
    fig("miss_p50_over_floor", ratio(mlat.q(0.5) as f64, floor.dram_ns), "x")?;
    fig("get_ref_p50_over_floor", ratio(rlat.q(0.5) as f64, floor.dram_ns), "x")?;
    fig("failures", failures, "ops")?;
    if failures > 0 {
        out!("READ FAILURES: {failures} reads did not answer as expected")?;
    }
    Ok(failures == 0)
}
