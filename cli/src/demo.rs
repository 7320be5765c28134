//! `maph demo`: the README's first command. Loads the shipped PyPI sample
//! into a fresh store, verifies every row (before and after reopening),
//! then times lookups against this machine's DRAM latency.

use std::path::PathBuf;
use std::process::ExitCode;

use maph::{OpenMode, Options, Store};

use crate::bench::fig;
use crate::measure::{self, KeyList, SplitMix64};
use crate::tsv::{self, Rows};
use crate::Fail;

const DEFAULT_DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../data/pypi-sample.tsv.gz");
const LOAD_FACTOR: f64 = 0.75;
const GETS: usize = 2_000_000;
/// One GET in `STRIDE` is timed alone: 5% of them.
const STRIDE: usize = 20;
const MIN_FLOOR_BYTES: u64 = 256 << 20;

/// A directory removed with its contents on drop.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn show(b: &[u8], max: usize) -> String {
    let s = String::from_utf8_lossy(b);
    let s: String = if s.chars().count() > max {
        s.chars().take(max).chain("...".chars()).collect()
    } else {
        s.into_owned()
    };
    format!("{s:?}")
}

pub fn run(data: Option<PathBuf>, dir: Option<PathBuf>) -> Result<ExitCode, Fail> {
    let data = data.unwrap_or_else(|| PathBuf::from(DEFAULT_DATA));
    if !data.exists() {
        return Err(Fail::new(
            &data,
            "not found (the sample ships in the project's data/ directory; or pass --data FILE)",
        ));
    }
    let shown = data.canonicalize().unwrap_or_else(|_| data.clone());
    let rows = Rows::read(&data, true)?;
    if rows.len() == 0 {
        return Err(Fail::new(&data, "no rows"));
    }
    out!("maph demo: a hash table in a memory-mapped file, loaded with real data, then timed.")?;
    out!("")?;
    out!(
        "data: {} ({} rows; key = PyPI package name, value = version TAB summary)",
        shown.display(),
        rows.len()
    )?;

    let dir = dir.unwrap_or_else(std::env::temp_dir);
    let tmp = dir.join(format!("maph-demo-{}", std::process::id()));
    std::fs::create_dir(&tmp).map_err(|e| Fail::new(&tmp, e))?;
    let _cleanup = TempDir(tmp.clone());
    let path = tmp.join("pypi.maph");
    let opts = Options::for_keys(rows.len() as u64, LOAD_FACTOR);
    let store = Store::create(&path, &opts).map_err(|e| Fail::new(&path, e))?;
    let st = store.stats();
    let region = st.slots * u64::from(st.slot_size);
    out!(
        "store: {}: {} slots of {} bytes ({} MiB file), slots = rows / {LOAD_FACTOR}",
        path.display(),
        st.slots,
        st.slot_size,
        measure::mib(st.file_bytes)
    )?;

    let rep = tsv::load_rows(&store, &path, &rows)?;
    let loaded = rep.loaded.len();
    out!(
        "loaded: {loaded} rows in {:.3} s ({:.0} rows/s)",
        rep.seconds,
        loaded as f64 / rep.seconds
    )?;
    if rep.too_large.count > 0 {
        out!(
            "too large: {}: key + value exceed the {} bytes a {}-byte slot holds, so set() \
             returned TooLarge and they are not in the store",
            rep.too_large.describe(),
            store.slot_capacity(),
            st.slot_size
        )?;
    }
    if rep.invalid.count > 0 {
        out!("empty key: {} (not stored)", rep.invalid.describe())?;
    }
    if rep.full.count > 0 {
        return Err(Fail::new(
            &path,
            format!(
                "store full at load factor {LOAD_FACTOR}: {} not stored (a library problem)",
                rep.full.describe()
            ),
        ));
    }
    if loaded == 0 {
        return Err(Fail::new(&data, "no row fits a slot"));
    }
    let n = tsv::verify_rows(&store, &path, &rows, &rep.loaded)?;
    out!("verified: {n} rows read back byte-exact")?;
    let st = store.stats();
    out!(
        "store: {} keys, load factor {:.3}, longest probe {} slots from home",
        st.keys,
        st.load_factor,
        st.longest_probe
    )?;
    drop(store);
    let store = Store::open(&path, OpenMode::ReadOnly).map_err(|e| Fail::new(&path, e))?;
    let n = tsv::verify_rows(&store, &path, &rows, &rep.loaded)?;
    out!("verified after close and reopen (read-only): {n} rows")?;
    // A typical row: the loaded row in the middle of the file.
    let example = rep.loaded[loaded / 2];
    let val = store.get_vec(rows.key(example)).map_err(|e| Fail::new(&path, e))?;
    out!("example: get({}) = {}", show(rows.key(example), 60), show(&val, 60))?;

    // The floor: a buffer well past the caches, or the slot region if larger.
    let llc = measure::llc_bytes();
    let (floor_bytes, why) = match llc {
        Some(c) if 4 * c > MIN_FLOOR_BYTES.max(region) => (
            4 * c,
            format!(
                "4 x the {} MiB last-level cache, so every step misses the caches",
                measure::mib(c)
            ),
        ),
        _ if region > MIN_FLOOR_BYTES => (region, "as large as the store's slot region".into()),
        _ => (
            MIN_FLOOR_BYTES,
            format!("the 256 MiB minimum; the slot region is {} MiB", measure::mib(region)),
        ),
    };
    out!("")?;
    out!("measuring (a few seconds)...")?;
    let floor = measure::floor(floor_bytes, 0xdead_beef).map_err(|e| Fail::new(&tmp, e))?;
    out!("")?;
    fig("floor_dram_ns", format!("{:.1}", floor.dram_ns), "ns")?;
    out!(
        "    one load from DRAM: the time of `p = *p` chasing pointers through a {} MiB \
         buffer ({why}; 4 KiB pages; median over {} steps)",
        measure::mib(floor.bytes),
        floor.steps
    )?;

    let mut rng = SplitMix64::new(0x0dd_5eed);
    let mut keys = KeyList::with_capacity(GETS, GETS * 16);
    for _ in 0..GETS {
        keys.push(rows.key(rep.loaded[rng.below(loaded as u64) as usize]), b"");
    }
    let mut buf = vec![0u8; store.slot_capacity()];
    let clock = measure::clock_overhead_ns();
    let lat = measure::latency(&keys, 0..GETS, STRIDE, |k| measure::get_hit(&store, &mut buf, k));
    let p = measure::pass(&keys, 0..GETS, |k| measure::get_hit(&store, &mut buf, k));
    if lat.failures + p.failures > 0 {
        return Err(Fail::new(
            &path,
            format!("{} GETs of present keys failed", lat.failures + p.failures),
        ));
    }
    let p50 = lat.q(0.5);
    fig("get_hit_p50", p50, "ns")?;
    fig("get_hit_p99", lat.q(0.99), "ns")?;
    out!(
        "    one Store::get() of a random present key, copying its value into your buffer, \
         timed alone on {} of {GETS} calls (each time includes ~{clock} ns of reading the clock)",
        lat.hist.len()
    )?;
    let tput = GETS as f64 / p.secs;
    fig("get_hit_throughput", format!("{tput:.0}"), "ops/s")?;
    out!(
        "    the same {GETS} calls in a plain loop without clock reads: {:.1} ns per get()",
        1e9 / tput
    )?;
    let ratio = p50 as f64 / floor.dram_ns;
    fig("get_hit_p50_over_floor", format!("{ratio:.2}"), "x")?;
    out!("")?;
    explain(ratio, region, llc)?;
    Ok(ExitCode::SUCCESS)
}

fn explain(ratio: f64, region: u64, llc: Option<u64>) -> Result<(), Fail> {
    let one_miss = "the hash of the key names one slot, and the key, the value and the \
                    slot's seqlock word sit together in that 512-byte slot, so a lookup \
                    needs about one cache miss, the least any hash table larger than the \
                    cache can do";
    match llc {
        Some(c) if region < c && ratio < 1.0 => out!(
            "In words: a lookup here costs {ratio:.2} of one DRAM access. The store's slots \
             ({} MiB) fit in this CPU's {} MiB last-level cache, so most lookups find their \
             slot already in cache. In a store larger than the cache, {one_miss}; \
             `maph bench` measures that on a 1 GiB store.",
            measure::mib(region),
            measure::mib(c)
        )?,
        _ if ratio < 1.5 => {
            out!("In words: a lookup costs about one DRAM access ({ratio:.2} x): {one_miss}.")?
        }
        _ => out!(
            "In words: a lookup costs about {ratio:.1} DRAM accesses; the ideal is one: \
             {one_miss}."
        )?,
    }
    Ok(())
}
