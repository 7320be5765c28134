//! Value-heap benchmarks (issue 11): workloads W2, W1 and W4 of
//! `../shared/WORKLOADS.md` in stores of several slot sizes, where records
//! too large for their slot live in the value heap (format 3).
//!
//! Run: `cargo bench --bench heap` (all three parts at full scale, about
//! five minutes on an idle machine; each part keeps its stores open
//! together, in files reserved in full: W2's six take ~2 GB of `/tmp`,
//! W1's five ~1.5 GB, W4's one ~1.1 GB). A short run:
//! `MAPH_HEAP_BENCH_W1_KEYS=100000 MAPH_HEAP_BENCH_W4_KEYS=10000 cargo bench --bench heap`.
//! Settings, all optional, by environment variable:
//!
//! | variable | default | what |
//! |---|---|---|
//! | `MAPH_HEAP_BENCH_PART` | `all` | `w2`, `w1`, `w4`, `all`, or a comma list (`w2,w4`) |
//! | `MAPH_HEAP_BENCH_W2_PATH` | `../shared/data/pypi-packages.tsv.gz` | W2's data (W2 is skipped with a message when absent) |
//! | `MAPH_HEAP_BENCH_W2_SLOT_SIZES` | `512,128,64` | W2's slot sizes |
//! | `MAPH_HEAP_BENCH_W1_KEYS` | 1000000 | W1 keys `key:%08d`, 100-byte values |
//! | `MAPH_HEAP_BENCH_W1_SLOT_SIZES` | `512,128,64` | W1's slot sizes |
//! | `MAPH_HEAP_BENCH_GETS` | 5000000 | hit GETs per W1/W2 store and repetition |
//! | `MAPH_HEAP_BENCH_STRIDE` | 64 | W1/W2: one GET in this many is timed alone |
//! | `MAPH_HEAP_BENCH_REPS` | 3 | W1/W2: repetitions of floor + GETs, interleaved across stores; medians quoted |
//! | `MAPH_HEAP_BENCH_W4_KEYS` | 100000 | W4 keys `blob:%08d` |
//! | `MAPH_HEAP_BENCH_W4_ROUNDS` | 10 | W4 overwrite rounds |
//! | `MAPH_HEAP_BENCH_W4_OPS` | = W4 keys | operations per W4 round (90% GET, 10% SET) |
//! | `MAPH_HEAP_BENCH_W4_STRIDE` | 1 | W4: one GET in this many is timed (every SET is timed) |
//! | `MAPH_HEAP_BENCH_DIR` | the temp dir (`/tmp`) | where the store files go (removed afterwards) |
//!
//! Every figure is printed as one `name: value unit` line
//! (`w2.ss128.heap_default.get_hit_p50: 231 ns`), and each part ends with
//! a markdown table for `BENCHMARKS.md`. How it measures:
//!
//! - W1 and W2: for each slot size, a store with the default heap
//!   (`heap_bytes` 0: `max(slots * slot_size / 4, slots * 128)`, at least 64 KiB) and — for
//!   W2 always, for W1 when some record does not fit a slot — a store whose
//!   heap is *sized* to its spilled records: the sum over the records whose
//!   key + value exceed `slot_size - 16` of their extent (16-byte header +
//!   key + value, rounded up to its size class, classes 25% apart), times
//!   1.3, rounded up to 1 MiB. Slots = ceil(rows / 0.75). Every row is
//!   set; every error is counted by kind and printed (a row that fails is
//!   not in the store: it is a failure of the workload, never dropped
//!   silently); every loaded row is read back byte-exact (untimed). Rows
//!   inline and in the heap are counted with `Store::heap_footprint`,
//!   whose sum is checked against the predicted extents.
//! - File size is `st_size`; allocated is `st_blocks * 512`; bytes per row
//!   are file size / rows of the data set; raw bytes are key + value. The
//!   targets judge *allocated* bytes: the heap is reserved on its file
//!   system as it is used, so the part of the default heap never used is a
//!   hole in the file (counted by `st_size`, taking no disk or memory).
//! - Floor (WORKLOADS.md): `measure::floor` (the CLI's, included by path as
//!   in `benches/store.rs`) over a buffer as large as the store's slot
//!   region (`slots * slot_size`), in 4 KiB pages; `floor_dram_ns` is the
//!   median CPU-time ns per step of a dependent pointer chase.
//! - GET hit latency: GETs of loaded keys drawn uniformly at random (a
//!   precomputed list), one in `STRIDE` timed alone with an `Instant` pair
//!   into an HDR histogram (the pair's cost, `clock_overhead`, is included).
//!   Each repetition measures, for every slot size, the floor and then the
//!   GETs of each of its stores, so that every store's figures and their
//!   floor come from the same minutes; the headline figures are the
//!   medians over the repetitions (each repetition is printed too).
//! - W4: 100,000 keys `blob:%08d`, value sizes log-normal with median
//!   1 KiB and sigma = ln(64) / z(0.99) = 1.788 (so P(size > 64 KiB) = 1%),
//!   capped at 16 MiB, seeded; 512-byte slots, slots = keys / 0.75,
//!   `heap_bytes` = 2 x the loaded value bytes. Load rate; then rounds of
//!   90% GET / 10% SET, each SET overwriting a uniformly random key with a
//!   value of a newly drawn size. Every SET and (by default) every GET is
//!   timed alone; GET percentiles are per size class of the value read
//!   (key + value <= slot_size - 16, value <= 4 KiB, <= 64 KiB, larger);
//!   set throughput is SETs per second of the time spent inside `set`.
//!   After each round: heap used bytes against the live bytes (key + value
//!   of the records in the heap) and against the sum of `heap_footprint`
//!   of every key, free and untouched bytes, and a byte-exact check of
//!   every value. A SET answering `Full` or `HeapFull` is counted and printed; the key
//!   keeps its old value. Then `Store::compact_to` (heap_bytes 0) copies
//!   the store; its time, file size and heap figures close the table.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::io::{BufRead, BufReader};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Instant;

use hdrhistogram::Histogram;
use maph::{Error, Options, Store};

// The floor, the clock probe and the generator are the CLI's, as in
// benches/store.rs.
#[path = "common/env.rs"]
mod env;
#[allow(dead_code)]
#[path = "../cli/src/measure.rs"]
mod measure;
use env::env_num;
use measure::{median, new_hist, thread_cpu_secs, SplitMix64};

const MIB: f64 = 1048576.0;
/// Bytes of a slot before its data area (format 4).
const SLOT_HEADER: usize = maph::store::format::SLOT_HEADER_SIZE;

// ---------------------------------------------------------------------------
// Settings

struct Cfg {
    w1: bool,
    w2: bool,
    w4: bool,
    w2_path: PathBuf,
    w2_slot_sizes: Vec<u32>,
    w1_keys: usize,
    w1_slot_sizes: Vec<u32>,
    gets: usize,
    stride: usize,
    reps: usize,
    w4_keys: usize,
    w4_rounds: usize,
    w4_ops: usize,
    w4_stride: usize,
    dir: PathBuf,
}

fn env_sizes(name: &str) -> Vec<u32> {
    let v = std::env::var(name).unwrap_or_else(|_| "512,128,64".into());
    v.split(',')
        .map(|s| s.trim().parse().unwrap_or_else(|_| panic!("{name}={v}: want sizes like 512,128")))
        .collect()
}

impl Cfg {
    fn from_env() -> Cfg {
        let part = std::env::var("MAPH_HEAP_BENCH_PART").unwrap_or_else(|_| "all".into());
        let (mut w1, mut w2, mut w4) = (false, false, false);
        for p in part.split(',') {
            match p.trim() {
                "w1" => w1 = true,
                "w2" => w2 = true,
                "w4" => w4 = true,
                "all" => (w1, w2, w4) = (true, true, true),
                other => panic!("MAPH_HEAP_BENCH_PART={other}: want w1, w2, w4 or all"),
            }
        }
        let w4_keys = env_num("MAPH_HEAP_BENCH_W4_KEYS", 100_000).max(1) as usize;
        Cfg {
            w1,
            w2,
            w4,
            w2_path: std::env::var_os("MAPH_HEAP_BENCH_W2_PATH").map_or_else(
                || {
                    Path::new(env!("CARGO_MANIFEST_DIR"))
                        .join("../shared/data/pypi-packages.tsv.gz")
                },
                PathBuf::from,
            ),
            w2_slot_sizes: env_sizes("MAPH_HEAP_BENCH_W2_SLOT_SIZES"),
            w1_keys: env_num("MAPH_HEAP_BENCH_W1_KEYS", 1_000_000).max(1) as usize,
            w1_slot_sizes: env_sizes("MAPH_HEAP_BENCH_W1_SLOT_SIZES"),
            gets: env_num("MAPH_HEAP_BENCH_GETS", 5_000_000).max(1) as usize,
            stride: env_num("MAPH_HEAP_BENCH_STRIDE", 64).max(1) as usize,
            reps: env_num("MAPH_HEAP_BENCH_REPS", 3).max(1) as usize,
            w4_keys,
            w4_rounds: env_num("MAPH_HEAP_BENCH_W4_ROUNDS", 10) as usize,
            w4_ops: env_num("MAPH_HEAP_BENCH_W4_OPS", w4_keys as u64) as usize,
            w4_stride: env_num("MAPH_HEAP_BENCH_W4_STRIDE", 1).max(1) as usize,
            dir: std::env::var_os("MAPH_HEAP_BENCH_DIR")
                .map_or_else(std::env::temp_dir, PathBuf::from),
        }
    }
}

// ---------------------------------------------------------------------------
// Output and small tools

/// Prints one `name: value unit` line.
fn put(name: &str, v: f64, unit: &str) {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        println!("{name}: {v:.0} {unit}");
    } else if v.abs() >= 100.0 {
        println!("{name}: {v:.1} {unit}");
    } else {
        println!("{name}: {v:.3} {unit}");
    }
}

/// Prints `value` against its target `<= limit`, with the verdict.
fn target(name: &str, value: f64, limit: f64, what: &str) {
    let verdict = if value.is_nan() {
        "not measured"
    } else if value <= limit {
        "met"
    } else {
        "MISSED"
    };
    println!("{name}: {value:.3}  # {what}; issue 11 target <= {limit}: {verdict}");
}

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

    fn push(&mut self, b: &[u8]) {
        self.bytes.extend_from_slice(b);
        self.ends.push(self.bytes.len());
    }

    fn len(&self) -> usize {
        self.ends.len()
    }

    #[inline]
    fn get(&self, i: usize) -> &[u8] {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.bytes[start..self.ends[i]]
    }
}

/// A store file under the bench directory, removed on drop.
struct TempFile(PathBuf);

impl TempFile {
    fn new(dir: &Path, name: &str) -> TempFile {
        let p = dir.join(format!("maph-heapbench-{}-{name}.maph", std::process::id()));
        let _ = std::fs::remove_file(&p);
        TempFile(p)
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Errors by kind (`Full`, `TooLarge`, ...), with the first few in full.
#[derive(Default)]
struct Errors {
    kinds: BTreeMap<String, u64>,
    examples: Vec<String>,
}

impl Errors {
    fn add(&mut self, what: &str, e: &Error) {
        let dbg = format!("{e:?}");
        let kind = dbg.split(['(', ' ', '{']).next().unwrap_or("?").to_string();
        *self.kinds.entry(kind).or_insert(0) += 1;
        if self.examples.len() < 3 {
            self.examples.push(format!("{what}: {e}"));
        }
    }

    fn total(&self) -> u64 {
        self.kinds.values().sum()
    }

    /// `name.errors.KIND: n` lines and the examples.
    fn print(&self, name: &str) {
        for (k, n) in &self.kinds {
            put(&format!("{name}.errors.{k}"), *n as f64, "ops");
        }
        for ex in &self.examples {
            println!("{name}: error example: {ex}");
        }
    }

    fn summary(&self) -> String {
        if self.kinds.is_empty() {
            return "0".into();
        }
        let parts: Vec<String> = self.kinds.iter().map(|(k, n)| format!("{n} {k}")).collect();
        parts.join(", ")
    }
}

/// Bytes of the extent that holds a record of `kl + vl` bytes: the
/// 16-byte header plus the record, rounded up to a size class (classes
/// `(4 + c % 4) << (c / 4 + 3)`: 32, 40, 48, 56, 64, 80, ..., 25% apart;
/// `docs/DESIGN.md`). Checked against `Store::heap_footprint` at run time.
fn extent_bytes(kl: usize, vl: usize) -> u64 {
    let need = 16 + kl as u64 + vl as u64;
    (0..128u64)
        .map(|c| (4 + (c & 3)) << ((c >> 2) + 3))
        .find(|&s| s >= need)
        .expect("a record larger than the largest size class")
}

fn file_sizes(p: &Path) -> (u64, u64) {
    let m = std::fs::metadata(p).expect("store file metadata");
    (m.len(), m.blocks() * 512)
}

/// This process's mappings of the file at `path`, from /proc/self/smaps:
/// (resident bytes, bytes mapped with 2 MiB pages (`FilePmdMapped`)).
/// Matched by inode: the store maps its file under a temporary name before
/// linking it in place, so smaps shows that (deleted) name. The floor's
/// buffer is in 4 KiB pages; a store file the kernel maps with 2 MiB folios
/// (ext4 on Linux 6.x, README "Huge pages") pays fewer TLB misses than it.
fn mapped_bytes(path: &Path) -> (u64, u64) {
    let Ok(meta) = std::fs::metadata(path) else {
        return (0, 0);
    };
    let ino = meta.ino().to_string();
    let s = std::fs::read_to_string("/proc/self/smaps").unwrap_or_default();
    let (mut inside, mut rss, mut pmd) = (false, 0u64, 0u64);
    for line in s.lines() {
        let mut f = line.split_whitespace();
        let first = f.next().unwrap_or("");
        if first.contains('-') && first.chars().all(|c| c.is_ascii_hexdigit() || c == '-') {
            // address perms offset dev inode [path]
            inside = f.nth(3) == Some(ino.as_str());
            continue;
        }
        if !inside {
            continue;
        }
        let kb = f.next().and_then(|v| v.parse::<u64>().ok()).unwrap_or(0) * 1024;
        match first {
            "Rss:" => rss += kb,
            "FilePmdMapped:" => pmd += kb,
            _ => {}
        }
    }
    (rss, pmd)
}

fn q(h: &Histogram<u64>, q: f64) -> f64 {
    if h.is_empty() {
        f64::NAN
    } else {
        h.value_at_quantile(q) as f64
    }
}

// ---------------------------------------------------------------------------
// W1 and W2: one table of slot sizes and heaps

/// The rows of a workload.
struct Rows {
    name: &'static str,
    keys: Flat,
    vals: Flat,
    /// Rows left out while reading the data (no tab, empty or repeated
    /// name); counted as failures of the workload.
    bad_input: u64,
}

impl Rows {
    fn raw_bytes(&self) -> u64 {
        (self.keys.bytes.len() + self.vals.bytes.len()) as u64
    }
}

fn w1_rows(n: usize) -> Rows {
    let mut keys = Flat::with_capacity(n, n * 12);
    let mut vals = Flat::with_capacity(n, n * 100);
    let mut v = Vec::with_capacity(100);
    for i in 0..n {
        keys.push(format!("key:{i:08}").as_bytes());
        // benches/store.rs's W1 value: 100 bytes that name their key.
        v.clear();
        v.extend_from_slice(format!("val:{i:08}:").as_bytes());
        while v.len() < 100 {
            v.push(b'a' + ((i + v.len()) % 26) as u8);
        }
        vals.push(&v);
    }
    Rows { name: "w1", keys, vals, bad_input: 0 }
}

/// W2: key = package name, value = `version TAB summary` (the rest of the
/// line, as in tests/real_data.rs), after the header line.
fn w2_rows(path: &Path) -> Option<Rows> {
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) => {
            println!("w2: skipped: {} is absent ({e}); W2 needs the real data set", path.display());
            return None;
        }
    };
    let rd = BufReader::new(flate2::read::MultiGzDecoder::new(file));
    let mut keys = Flat::with_capacity(1 << 20, 24 << 20);
    let mut vals = Flat::with_capacity(1 << 20, 64 << 20);
    let mut seen = std::collections::HashSet::new();
    let mut bad_input = 0u64;
    for line in rd.split(b'\n').skip(1) {
        let mut line = line.expect("reading the W2 data");
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        match line.iter().position(|&b| b == b'\t') {
            Some(t) if t > 0 && seen.insert(line[..t].to_vec()) => {
                keys.push(&line[..t]);
                vals.push(&line[t + 1..]);
            }
            _ => {
                if !line.is_empty() {
                    bad_input += 1;
                }
            }
        }
    }
    Some(Rows { name: "w2", keys, vals, bad_input })
}

/// How a store's heap is sized.
#[derive(Clone, Copy, PartialEq)]
enum HeapChoice {
    /// `heap_bytes` 0: the library's default.
    Default,
    /// Sized to the spilled records (see the module docs).
    Sized(u64),
}

/// One store of the table and its figures.
struct Case {
    label: String,
    slot_size: u32,
    slots: u64,
    heap: HeapChoice,
    /// Before `file`: the store is closed before its file is removed.
    store: Store,
    file: TempFile,
    /// Indices of the rows stored.
    loaded: Vec<u32>,
    errors: Errors,
    mismatches: u64,
    inline: u64,
    in_heap: u64,
    heap_bytes: u64,
    heap_used: u64,
    file_size: u64,
    file_alloc: u64,
    load_rate: f64,
    /// Per repetition.
    reps: Vec<RepFig>,
}

/// The spilled records at `slot_size`: (count, sum of their extents).
fn spill(rows: &Rows, slot_size: u32) -> (u64, u64) {
    let cap = slot_size as usize - SLOT_HEADER;
    let (mut n, mut bytes) = (0u64, 0u64);
    for i in 0..rows.keys.len() {
        let (kl, vl) = (rows.keys.get(i).len(), rows.vals.get(i).len());
        if kl + vl > cap {
            n += 1;
            bytes += extent_bytes(kl, vl);
        }
    }
    (n, bytes)
}

/// Creates and loads one store; prints its load figures.
fn load_case(rows: &Rows, slot_size: u32, heap: HeapChoice, cfg: &Cfg) -> Case {
    let n = rows.keys.len();
    let slots = (n as f64 / 0.75).ceil() as u64;
    let hname = match heap {
        HeapChoice::Default => "heap_default",
        HeapChoice::Sized(_) => "heap_sized",
    };
    let label = format!("{}.ss{slot_size}.{hname}", rows.name);
    let heap_bytes = match heap {
        HeapChoice::Default => 0,
        HeapChoice::Sized(b) => b,
    };
    let file = TempFile::new(&cfg.dir, &label);
    let opts = Options { slots, slot_size, heap_bytes, seed: 0x5EED_0011, ..Options::default() };
    let store = Store::create(&file.0, &opts)
        .unwrap_or_else(|e| panic!("{label}: creating the store ({slots} slots): {e}"));
    let mut errors = Errors::default();
    let mut loaded = Vec::with_capacity(n);
    let t = Instant::now();
    for i in 0..n {
        match store.set(rows.keys.get(i), rows.vals.get(i)) {
            Ok(()) => loaded.push(i as u32),
            Err(e) => errors.add(&format!("row {i}"), &e),
        }
    }
    let load_rate = n as f64 / t.elapsed().as_secs_f64();
    // Read back every loaded row, and count where each lives.
    let longest = (0..n).map(|i| rows.vals.get(i).len()).max().unwrap_or(0);
    let mut buf = vec![0u8; longest.max(1)];
    let (mut mismatches, mut inline, mut in_heap, mut footprint) = (0u64, 0u64, 0u64, 0u64);
    let mut predicted = 0u64;
    let cap = slot_size as usize - SLOT_HEADER;
    for &i in &loaded {
        let (k, v) = (rows.keys.get(i as usize), rows.vals.get(i as usize));
        match store.get(k, &mut buf) {
            Ok(l) if &buf[..l] == v => {}
            _ => mismatches += 1,
        }
        match store.heap_footprint(k) {
            Ok(0) => inline += 1,
            Ok(b) => {
                in_heap += 1;
                footprint += b;
            }
            Err(_) => mismatches += 1,
        }
        if k.len() + v.len() > cap {
            predicted += extent_bytes(k.len(), v.len());
        }
    }
    let hs = store.heap_stats();
    let (file_size, file_alloc) = file_sizes(&file.0);
    put(&format!("{label}.slots"), slots as f64, "slots");
    put(&format!("{label}.heap_bytes"), hs.bytes as f64 / MIB, "MiB");
    put(&format!("{label}.rows"), n as f64, "rows");
    put(&format!("{label}.rows_loaded"), loaded.len() as f64, "rows");
    put(&format!("{label}.rows_failed"), errors.total() as f64, "rows");
    errors.print(&label);
    put(&format!("{label}.rows_read_back_wrong"), mismatches as f64, "rows");
    put(&format!("{label}.rows_inline"), inline as f64, "rows");
    put(&format!("{label}.rows_in_heap"), in_heap as f64, "rows");
    put(&format!("{label}.heap_used"), hs.used as f64 / MIB, "MiB");
    put(&format!("{label}.heap_footprint_sum"), footprint as f64 / MIB, "MiB");
    if footprint != predicted || footprint != hs.used {
        println!(
            "{label}: NOTE heap_footprint sum {footprint} B, predicted extents {predicted} B, \
             heap used {} B differ",
            hs.used
        );
    }
    put(&format!("{label}.insert_rate"), load_rate, "rows/s");
    put(&format!("{label}.file_size"), file_size as f64 / MIB, "MiB");
    put(&format!("{label}.file_allocated"), file_alloc as f64 / MIB, "MiB");
    put(&format!("{label}.bytes_per_row"), file_size as f64 / n as f64, "bytes");
    put(&format!("{label}.allocated_bytes_per_row"), file_alloc as f64 / n as f64, "bytes");
    put(&format!("{label}.file_over_raw"), file_size as f64 / rows.raw_bytes() as f64, "x");
    Case {
        label,
        slot_size,
        slots,
        heap,
        store,
        file,
        loaded,
        errors,
        mismatches,
        inline,
        in_heap,
        heap_bytes: hs.bytes,
        heap_used: hs.used,
        file_size,
        file_alloc,
        load_rate,
        reps: Vec::new(),
    }
}

/// One repetition's GET figures of a store, in ns.
#[derive(Clone, Copy)]
struct RepFig {
    p50: f64,
    p99: f64,
    floor: f64,
    /// p50 of the timed GETs of rows stored in their slot / in the heap.
    inline_p50: f64,
    heap_p50: f64,
}

/// Sampled GET hits of `case`'s loaded rows, drawn uniformly (the floor is
/// the caller's).
fn get_hits(case: &Case, rows: &Rows, cfg: &Cfg, rep: usize) -> RepFig {
    let n = case.loaded.len();
    let mut fig = RepFig {
        p50: f64::NAN,
        p99: f64::NAN,
        floor: f64::NAN,
        inline_p50: f64::NAN,
        heap_p50: f64::NAN,
    };
    if n == 0 {
        return fig;
    }
    let cap = case.slot_size as usize - SLOT_HEADER;
    let mut rng = SplitMix64::new(0x0411_0000 ^ (rep as u64) << 32 ^ n as u64);
    let avg = rows.keys.bytes.len() / rows.keys.len().max(1) + 1;
    let mut list = Flat::with_capacity(cfg.gets, cfg.gets * avg);
    let mut spilled = Vec::with_capacity(cfg.gets);
    for _ in 0..cfg.gets {
        let r = case.loaded[rng.below(n as u64) as usize] as usize;
        list.push(rows.keys.get(r));
        spilled.push(rows.keys.get(r).len() + rows.vals.get(r).len() > cap);
    }
    let longest = (0..rows.vals.len()).map(|i| rows.vals.get(i).len()).max().unwrap_or(0);
    let mut buf = vec![0u8; longest.max(1)];
    let s = &case.store;
    let mut hist = new_hist();
    let mut by_kind = [new_hist(), new_hist()];
    let mut failures = 0u64;
    let mut i = 0;
    while i < cfg.gets {
        let t = Instant::now();
        let ok = s.get(list.get(i), &mut buf).is_ok();
        let ns = (t.elapsed().as_nanos() as u64).max(1);
        hist.saturating_record(ns);
        by_kind[usize::from(spilled[i])].saturating_record(ns);
        failures += u64::from(!ok);
        let end = (i + cfg.stride).min(cfg.gets);
        for j in i + 1..end {
            failures += u64::from(s.get(list.get(j), &mut buf).is_err());
        }
        i = end;
    }
    black_box(&buf);
    if failures > 0 {
        println!("{}: rep {rep}: {failures} GETs of loaded rows FAILED", case.label);
    }
    fig.p50 = q(&hist, 0.5);
    fig.p99 = q(&hist, 0.99);
    fig.inline_p50 = q(&by_kind[0], 0.5);
    fig.heap_p50 = q(&by_kind[1], 0.5);
    fig
}

/// A latency cell: the ns, or `-` when nothing was timed.
fn ns_cell(v: f64) -> String {
    if v.is_nan() {
        "-".into()
    } else {
        format!("{v:.0}")
    }
}

/// The table's `failed` cell: 0, or the errors by kind (and rows read
/// back wrong) in bold.
fn failed_cell(errors: &Errors, wrong: u64) -> String {
    match (errors.total(), wrong) {
        (0, 0) => "0".into(),
        (_, 0) => format!("**{}**", errors.summary()),
        _ => format!("**{}, {wrong} read back wrong**", errors.summary()),
    }
}

/// W1 or W2: every slot size and heap, loaded; then `reps` interleaved
/// repetitions of floor + GETs; then medians, targets and the table.
fn table_part(rows: &Rows, slot_sizes: &[u32], sized_always: bool, cfg: &Cfg) {
    let w = rows.name;
    let n = rows.keys.len();
    let raw = rows.raw_bytes();
    println!(
        "== {w}: {n} rows, raw key+value {:.1} MiB ({:.1} bytes per row), slots = ceil(rows / 0.75), \
         slot sizes {slot_sizes:?}, {} GETs per store and repetition (1 in {} timed), {} repetitions",
        raw as f64 / MIB,
        raw as f64 / n as f64,
        cfg.gets,
        cfg.stride,
        cfg.reps
    );
    println!(
        "{w}: heap_sized = sum over spilled rows (key + value > slot_size - 16) of their extent \
         (16 + key + value rounded up to its size class) x 1.3, rounded up to 1 MiB; \
         heap_default = heap_bytes 0 (max(slots x slot_size / 4, slots x 128), at least 64 KiB)"
    );
    put(&format!("{w}.rows"), n as f64, "rows");
    put(&format!("{w}.raw_bytes_per_row"), raw as f64 / n as f64, "bytes");
    if rows.bad_input > 0 {
        put(&format!("{w}.rows_unreadable_FAILED"), rows.bad_input as f64, "rows");
    }
    put(&format!("{w}.clock_overhead"), measure::clock_overhead_ns() as f64, "ns");
    let mut cases = Vec::new();
    for &ss in slot_sizes {
        let (spilled, extents) = spill(rows, ss);
        let sized = ((extents as f64 * 1.3).ceil() as u64).next_multiple_of(1 << 20).max(1 << 20);
        put(&format!("{w}.ss{ss}.rows_spilled"), spilled as f64, "rows");
        put(&format!("{w}.ss{ss}.spilled_extent_bytes"), extents as f64 / MIB, "MiB");
        put(&format!("{w}.ss{ss}.heap_sized_bytes"), sized as f64 / MIB, "MiB");
        if sized_always || spilled > 0 {
            cases.push(load_case(rows, ss, HeapChoice::Sized(sized), cfg));
        }
        cases.push(load_case(rows, ss, HeapChoice::Default, cfg));
    }
    for rep in 0..cfg.reps {
        for &ss in slot_sizes {
            let slots = (n as f64 / 0.75).ceil() as u64;
            let fl = measure::floor(slots * u64::from(ss), 0xF100_12AB ^ rep as u64)
                .expect("floor buffer");
            put(&format!("{w}.ss{ss}.rep{rep}.floor_dram_ns"), fl.dram_ns, "ns");
            for c in cases.iter_mut().filter(|c| c.slot_size == ss) {
                let mut f = get_hits(c, rows, cfg, rep);
                f.floor = fl.dram_ns;
                put(&format!("{}.rep{rep}.get_hit_p50", c.label), f.p50, "ns");
                put(&format!("{}.rep{rep}.get_hit_p99", c.label), f.p99, "ns");
                c.reps.push(f);
            }
        }
    }
    println!("-- {w}: medians over {} repetitions", cfg.reps);
    let mut lines = Vec::new();
    for c in &cases {
        let l = &c.label;
        let med = |f: fn(&RepFig) -> f64| median(c.reps.iter().map(f).collect());
        let (p50, p99, fd) = (med(|r| r.p50), med(|r| r.p99), med(|r| r.floor));
        let (r50, r99) = (med(|r| r.p50 / r.floor), med(|r| r.p99 / r.floor));
        let (in50, heap50) = (med(|r| r.inline_p50), med(|r| r.heap_p50));
        put(&format!("{l}.floor_dram_ns"), fd, "ns");
        put(&format!("{l}.get_hit_p50"), p50, "ns");
        put(&format!("{l}.get_hit_p99"), p99, "ns");
        put(&format!("{l}.get_hit_inline_p50"), in50, "ns (rows in their slot)");
        put(&format!("{l}.get_hit_heap_p50"), heap50, "ns (rows in the heap)");
        put(&format!("{l}.get_hit_p50_over_floor_dram"), r50, "x");
        put(&format!("{l}.get_hit_p99_over_floor_dram"), r99, "x");
        let (rss, pmd) = mapped_bytes(&c.file.0);
        put(&format!("{l}.rss_file"), rss as f64 / MIB, "MiB");
        put(&format!("{l}.file_pmd_mapped"), pmd as f64 / MIB, "MiB (2 MiB pages)");
        let failed = c.errors.total() + c.mismatches + rows.bad_input;
        let file_raw = c.file_alloc as f64 / raw as f64;
        let bpr = c.file_alloc as f64 / n as f64;
        if c.heap == HeapChoice::Default {
            target(
                &format!("{l}.target.all_rows_loaded_failures"),
                failed as f64,
                0.0,
                "rows not stored or read back wrong",
            );
            if w == "w2" {
                target(
                    &format!("{l}.target.file_over_raw"),
                    file_raw,
                    2.0,
                    "allocated bytes / raw bytes",
                );
                target(&format!("{l}.target.bytes_per_row"), bpr, 150.0, "allocated bytes / rows");
            } else {
                target(&format!("{l}.target.bytes_per_key"), bpr, 180.0, "allocated bytes / keys");
            }
            target(
                &format!("{l}.target.get_hit_p50_over_floor"),
                r50,
                1.3,
                "GET hit p50 / floor_dram_ns",
            );
            if w == "w2" {
                target(
                    &format!("{l}.target.get_hit_p99_over_floor"),
                    r99,
                    3.0,
                    "GET hit p99 / floor_dram_ns",
                );
            }
        }
        let heap = match c.heap {
            HeapChoice::Default => format!("default ({:.1} MiB)", c.heap_bytes as f64 / MIB),
            HeapChoice::Sized(_) => format!("sized ({:.1} MiB)", c.heap_bytes as f64 / MIB),
        };
        lines.push(format!(
            "| {} | {} | {heap} | {} | {} | {} | {} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {:.0} | {:.0} | {:.0} | {} / {} | {:.0} | {:.2} | {:.2} | {:.0} |",
            c.slot_size,
            c.slots,
            c.loaded.len(),
            failed_cell(&c.errors, c.mismatches),
            c.inline,
            c.in_heap,
            c.heap_used as f64 / MIB,
            c.file_size as f64 / MIB,
            c.file_alloc as f64 / MIB,
            bpr,
            raw as f64 / n as f64,
            file_raw,
            c.load_rate / 1000.0,
            p50,
            p99,
            ns_cell(in50),
            ns_cell(heap50),
            fd,
            r50,
            r99,
            pmd as f64 / MIB
        ));
    }
    println!("\n-- {w}: markdown table (medians of {} repetitions; bytes per row = file size / {n} rows)\n", cfg.reps);
    println!(
        "| slot B | slots | heap | loaded | failed | inline | in heap | heap used MiB | file MiB | allocated MiB | B/row | raw B/row | file/raw | load k rows/s | GET p50 ns | GET p99 ns | p50 inline / heap ns | floor_dram_ns | p50/floor | p99/floor | 2 MiB-mapped MiB |"
    );
    println!("|---:|---:|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for l in lines {
        println!("{l}");
    }
    println!();
    for c in cases {
        drop(c.store);
        drop(c.file);
    }
}

// ---------------------------------------------------------------------------
// W4: values of many sizes

/// z such that P(Z <= z) = 0.99 for a standard normal Z.
const Z99: f64 = 2.326_347_874_040_841;
const W4_MEDIAN: f64 = 1024.0;
const W4_CAP: u64 = 16 << 20;
/// The bytes values are cut from: a value is `SRC[off..off + len]`.
const W4_SRC: usize = 32 << 20;

/// Log-normal sizes: median 1 KiB, P(size > 64 KiB) = 1%, capped at 16 MiB.
struct SizeDraw {
    rng: SplitMix64,
    sigma: f64,
}

impl SizeDraw {
    fn new(seed: u64) -> SizeDraw {
        SizeDraw { rng: SplitMix64::new(seed), sigma: (65536.0f64 / W4_MEDIAN).ln() / Z99 }
    }

    fn unit(&mut self) -> f64 {
        // (0, 1]: 53 random bits.
        ((self.rng.next_u64() >> 11) + 1) as f64 / (1u64 << 53) as f64
    }

    /// One size (Box-Muller; the second deviate is dropped).
    fn size(&mut self) -> u64 {
        let (u1, u2) = (self.unit(), self.unit());
        let z = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
        ((W4_MEDIAN.ln() + self.sigma * z).exp().round() as u64).min(W4_CAP)
    }

    /// A value of a newly drawn size, at a random place of the source.
    fn value(&mut self) -> Val {
        let len = self.size();
        let off = self.rng.below((W4_SRC as u64) - len + 1);
        Val { off: off as u32, len: len as u32 }
    }
}

#[derive(Clone, Copy)]
struct Val {
    off: u32,
    len: u32,
}

impl Val {
    fn bytes<'a>(&self, src: &'a [u8]) -> &'a [u8] {
        &src[self.off as usize..self.off as usize + self.len as usize]
    }
}

const CLASS_NAMES: [&str; 4] = ["inline", "le_4KiB", "le_64KiB", "larger"];

/// The size class of a GET: 0 when key + value fit the slot, then value
/// <= 4 KiB, <= 64 KiB, larger.
fn class_of(kl: usize, vl: usize, cap: usize) -> usize {
    if kl + vl <= cap {
        0
    } else if vl <= 4096 {
        1
    } else if vl <= 65536 {
        2
    } else {
        3
    }
}

enum Op {
    Get(u32),
    Set(u32, Val),
}

/// Heap figures after a round (or the load).
struct HeapRow {
    round: usize,
    used: u64,
    free: u64,
    untouched: u64,
    largest_free: u64,
    live: u64,
    footprint: u64,
    wrong: u64,
    sets: u64,
    set_rate: f64,
    set_mb_s: f64,
    full: u64,
    other: u64,
    /// CPU time / wall time of the round: well below 1 when the shared
    /// machine ran something else meanwhile.
    cpu_share: f64,
}

/// After a round: heap counters, live bytes, footprints, and a byte-exact
/// check of every value.
fn w4_heap_row(
    store: &Store, keys: &Flat, vals: &[Val], src: &[u8], cap: usize, round: usize, buf: &mut [u8],
) -> HeapRow {
    let hs = store.heap_stats();
    let (mut live, mut footprint, mut wrong) = (0u64, 0u64, 0u64);
    for (i, v) in vals.iter().enumerate() {
        let k = keys.get(i);
        if k.len() + v.len as usize > cap {
            live += (k.len() + v.len as usize) as u64;
        }
        match store.heap_footprint(k) {
            Ok(b) => footprint += b,
            Err(_) => wrong += 1,
        }
        match store.get(k, buf) {
            Ok(l) if &buf[..l] == v.bytes(src) => {}
            _ => wrong += 1,
        }
    }
    HeapRow {
        round,
        used: hs.used,
        free: hs.free,
        untouched: hs.untouched,
        largest_free: hs.largest_free,
        live,
        footprint,
        wrong,
        sets: 0,
        set_rate: f64::NAN,
        set_mb_s: f64::NAN,
        full: 0,
        other: 0,
        cpu_share: f64::NAN,
    }
}

/// The heap figures of `h` as `<p>.heap_used` etc.
fn put_heap_row(p: &str, h: &HeapRow) {
    put(&format!("{p}.heap_used"), h.used as f64 / MIB, "MiB");
    put(&format!("{p}.heap_live"), h.live as f64 / MIB, "MiB");
    put(&format!("{p}.heap_footprint_sum"), h.footprint as f64 / MIB, "MiB");
    put(&format!("{p}.heap_used_over_live"), h.used as f64 / h.live as f64, "x");
    put(&format!("{p}.heap_used_over_footprint"), h.used as f64 / h.footprint as f64, "x");
    put(&format!("{p}.heap_free"), h.free as f64 / MIB, "MiB");
    put(&format!("{p}.heap_untouched"), h.untouched as f64 / MIB, "MiB");
    put(&format!("{p}.heap_largest_free"), h.largest_free as f64 / MIB, "MiB");
    if h.wrong > 0 {
        put(&format!("{p}.values_read_back_wrong_FAILED"), h.wrong as f64, "keys");
    }
}

fn w4(cfg: &Cfg) {
    let n = cfg.w4_keys;
    let slot_size = 512u32;
    let cap = slot_size as usize - SLOT_HEADER;
    let slots = (n as f64 / 0.75).ceil() as u64;
    let mut draw = SizeDraw::new(0x0004_5EED);
    let mut src = vec![0u8; W4_SRC];
    let mut g = SplitMix64::new(0x5AC_0004);
    for c in src.chunks_exact_mut(8) {
        c.copy_from_slice(&g.next_u64().to_le_bytes());
    }
    let mut keys = Flat::with_capacity(n, n * 13);
    for i in 0..n {
        keys.push(format!("blob:{i:08}").as_bytes());
    }
    let mut vals: Vec<Val> = (0..n).map(|_| draw.value()).collect();
    let total: u64 = vals.iter().map(|v| u64::from(v.len)).sum();
    let mut sizes: Vec<u64> = vals.iter().map(|v| u64::from(v.len)).collect();
    sizes.sort_unstable();
    let over64 = sizes.iter().filter(|&&s| s > 65536).count();
    let heap_bytes = 2 * total;
    println!(
        "== w4: {n} keys blob:%08d, log-normal value sizes (median {W4_MEDIAN} B, sigma {:.4} = ln(64)/z(0.99), \
         cap {} MiB, seeded), 512-byte slots, {slots} slots, heap_bytes = 2 x the loaded value bytes; \
         {} rounds of {} ops (90% GET / 10% SET of a new size), every SET and 1 GET in {} timed",
        draw.sigma,
        W4_CAP >> 20,
        cfg.w4_rounds,
        cfg.w4_ops,
        cfg.w4_stride
    );
    put("w4.keys", n as f64, "keys");
    put("w4.value_bytes", total as f64 / MIB, "MiB");
    put(
        "w4.value_bytes_expected",
        n as f64 * W4_MEDIAN * (draw.sigma * draw.sigma / 2.0).exp() / MIB,
        "MiB (n x median x exp(sigma^2/2), before the cap)",
    );
    put("w4.value_size_median", sizes[n / 2] as f64, "bytes");
    put("w4.value_size_over_64KiB", over64 as f64 / n as f64 * 100.0, "%");
    put("w4.value_size_max", sizes[n - 1] as f64, "bytes");
    put("w4.values_at_cap", sizes.iter().filter(|&&s| s == W4_CAP).count() as f64, "keys");
    put("w4.heap_bytes", heap_bytes as f64 / MIB, "MiB");
    put("w4.clock_overhead", measure::clock_overhead_ns() as f64, "ns");
    let fl = measure::floor(slots * u64::from(slot_size), 0xF100_12AB).expect("floor buffer");
    put("w4.floor_dram_ns", fl.dram_ns, "ns");

    let file = TempFile::new(&cfg.dir, "w4");
    let opts = Options { slots, slot_size, heap_bytes, seed: 0x5EED_0004, ..Options::default() };
    let store = Store::create(&file.0, &opts).expect("creating the W4 store");
    let mut errors = Errors::default();
    let t = Instant::now();
    for (i, v) in vals.iter().enumerate() {
        if let Err(e) = store.set(keys.get(i), v.bytes(&src)) {
            errors.add(&format!("load of key {i} ({} bytes)", v.len), &e);
        }
    }
    let secs = t.elapsed().as_secs_f64();
    put("w4.load_rate", n as f64 / secs, "keys/s");
    put("w4.load_mb_s", total as f64 / MIB / secs, "MiB/s");
    put("w4.load_failed", errors.total() as f64, "keys");
    errors.print("w4.load");
    let (fsize, falloc) = file_sizes(&file.0);
    put("w4.file_size", fsize as f64 / MIB, "MiB");
    put("w4.file_allocated", falloc as f64 / MIB, "MiB");
    let mut buf = vec![0u8; W4_CAP as usize];
    let mut rows = vec![w4_heap_row(&store, &keys, &vals, &src, cap, 0, &mut buf)];
    put_heap_row("w4.round0", &rows[0]);

    let mut ops_rng = SplitMix64::new(0x0004_0095);
    let mut hists: Vec<Histogram<u64>> = (0..4).map(|_| new_hist()).collect();
    let mut set_hist = new_hist();
    let (mut all_sets, mut all_set_secs, mut all_set_bytes) = (0u64, 0f64, 0u64);
    let (mut all_full, mut get_fail) = (0u64, 0u64);
    for round in 1..=cfg.w4_rounds {
        let ops: Vec<Op> = (0..cfg.w4_ops)
            .map(|_| {
                let k = ops_rng.below(n as u64) as u32;
                if ops_rng.below(10) == 0 {
                    Op::Set(k, draw.value())
                } else {
                    Op::Get(k)
                }
            })
            .collect();
        let mut errs = Errors::default();
        let (mut sets, mut set_secs, mut set_bytes, mut full) = (0u64, 0f64, 0u64, 0u64);
        let mut countdown = 0usize;
        let cpu = thread_cpu_secs();
        let wall = Instant::now();
        for op in &ops {
            match *op {
                Op::Get(k) => {
                    let key = keys.get(k as usize);
                    let want = vals[k as usize].len as usize;
                    let ok = if countdown == 0 {
                        countdown = cfg.w4_stride - 1;
                        let t = Instant::now();
                        let r = store.get(key, &mut buf);
                        let ns = t.elapsed().as_nanos() as u64;
                        hists[class_of(key.len(), want, cap)].saturating_record(ns.max(1));
                        r
                    } else {
                        countdown -= 1;
                        store.get(key, &mut buf)
                    };
                    if ok != Ok(want) {
                        get_fail += 1;
                    }
                }
                Op::Set(k, v) => {
                    let key = keys.get(k as usize);
                    let t = Instant::now();
                    let r = store.set(key, v.bytes(&src));
                    let el = t.elapsed();
                    set_hist.saturating_record((el.as_nanos() as u64).max(1));
                    set_secs += el.as_secs_f64();
                    sets += 1;
                    match r {
                        Ok(()) => {
                            set_bytes += u64::from(v.len);
                            vals[k as usize] = v;
                        }
                        Err(e @ (Error::Full | Error::HeapFull { .. })) => {
                            full += 1;
                            errs.add(
                                &format!("round {round}: set of key {k} ({} bytes)", v.len),
                                &e,
                            );
                        }
                        Err(e) => errs
                            .add(&format!("round {round}: set of key {k} ({} bytes)", v.len), &e),
                    }
                }
            }
        }
        let wall = wall.elapsed().as_secs_f64();
        let cpu = thread_cpu_secs() - cpu;
        black_box(&buf);
        let p = format!("w4.round{round}");
        put(&format!("{p}.sets"), sets as f64, "ops");
        put(&format!("{p}.set_throughput"), sets as f64 / set_secs, "sets/s (of time inside set)");
        put(&format!("{p}.set_mb_s"), set_bytes as f64 / MIB / set_secs, "MiB/s");
        put(&format!("{p}.set_full"), full as f64, "ops");
        put(&format!("{p}.cpu_share"), cpu / wall, "");
        errs.print(&p);
        let mut row = w4_heap_row(&store, &keys, &vals, &src, cap, round, &mut buf);
        row.sets = sets;
        row.set_rate = sets as f64 / set_secs;
        row.set_mb_s = set_bytes as f64 / MIB / set_secs;
        row.full = full;
        row.other = errs.total() - full;
        row.cpu_share = cpu / wall;
        put_heap_row(&p, &row);
        rows.push(row);
        all_sets += sets;
        all_set_secs += set_secs;
        all_set_bytes += set_bytes;
        all_full += full;
    }
    println!("-- w4: over all rounds");
    put("w4.get_failures", get_fail as f64, "ops");
    for (c, h) in hists.iter().enumerate() {
        let name = CLASS_NAMES[c];
        put(&format!("w4.get_{name}_count"), h.len() as f64, "timed GETs");
        put(&format!("w4.get_{name}_p50"), q(h, 0.5), "ns");
        put(&format!("w4.get_{name}_p99"), q(h, 0.99), "ns");
    }
    put("w4.get_inline_p50_over_floor_dram", q(&hists[0], 0.5) / fl.dram_ns, "x");
    put("w4.set_throughput", all_sets as f64 / all_set_secs, "sets/s (of time inside set)");
    put("w4.set_mb_s", all_set_bytes as f64 / MIB / all_set_secs, "MiB/s");
    put("w4.set_p50", q(&set_hist, 0.5), "ns");
    put("w4.set_p99", q(&set_hist, 0.99), "ns");
    put("w4.set_full", all_full as f64, "ops");

    // The compacting copy (Store::compact_to, heap_bytes 0: the live heap
    // records' bytes plus a quarter): its heap against the same live bytes.
    let cfile = TempFile::new(&cfg.dir, "w4-compacted");
    let t = Instant::now();
    let compacted = match store.compact_to(&cfile.0, 0) {
        Ok(c) => Some(c),
        Err(e) => {
            println!("w4.compact_to: FAILED: {e}");
            None
        }
    };
    if let Some(c) = &compacted {
        let secs = t.elapsed().as_secs_f64();
        put("w4.compact_to_time", secs, "s");
        let live = rows.last().map_or(0, |r| r.live);
        put("w4.compact_to_mb_s", live as f64 / MIB / secs, "MiB of live heap records/s");
        let (csize, calloc) = file_sizes(&cfile.0);
        put("w4.compacted.file_size", csize as f64 / MIB, "MiB");
        put("w4.compacted.file_allocated", calloc as f64 / MIB, "MiB");
        put("w4.compacted.heap_bytes", c.heap_stats().bytes as f64 / MIB, "MiB");
        let row = w4_heap_row(c, &keys, &vals, &src, cap, cfg.w4_rounds + 1, &mut buf);
        put_heap_row("w4.compacted", &row);
        rows.push(row);
    }

    println!("\n-- w4: markdown tables\n");
    println!(
        "Load: {n} keys, {:.1} MiB of values, {:.0} keys/s, {:.0} MiB/s, {} failed; file {:.1} MiB \
         (heap {:.1} MiB = 2 x value bytes); floor_dram_ns {:.0} (slot region {:.1} MiB)\n",
        total as f64 / MIB,
        n as f64 / secs,
        total as f64 / MIB / secs,
        errors.total(),
        fsize as f64 / MIB,
        heap_bytes as f64 / MIB,
        fl.dram_ns,
        (slots * u64::from(slot_size)) as f64 / MIB
    );
    println!("| GET of a value | timed GETs | p50 ns | p99 ns |");
    println!("|---|---:|---:|---:|");
    let inline_label = format!("key+value <= {} B (inline)", slot_size as usize - SLOT_HEADER);
    let class_label = [inline_label.as_str(), "<= 4 KiB", "<= 64 KiB", "> 64 KiB"];
    for (c, h) in hists.iter().enumerate() {
        println!("| {} | {} | {:.0} | {:.0} |", class_label[c], h.len(), q(h, 0.5), q(h, 0.99));
    }
    println!(
        "\nSET: {all_sets} in {} rounds, {:.0} sets/s, {:.0} MiB/s (of time inside set), p50 {:.0} ns, p99 {:.0} ns, Full {all_full}\n",
        cfg.w4_rounds,
        all_sets as f64 / all_set_secs,
        all_set_bytes as f64 / MIB / all_set_secs,
        q(&set_hist, 0.5),
        q(&set_hist, 0.99)
    );
    println!("| after | sets/s | SETs Full | SETs other error | heap used MiB | live MiB | used/live | footprint sum MiB | used/footprint | free MiB | untouched MiB | largest free MiB | wrong values | cpu share |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for r in &rows {
        let after = match r.round {
            0 => "load".to_string(),
            r if r > cfg.w4_rounds => "compact_to copy".to_string(),
            r => format!("round {r}"),
        };
        let rate = if r.set_rate.is_nan() { "".to_string() } else { format!("{:.0}", r.set_rate) };
        println!(
            "| {after} | {rate} | {} | {} | {:.1} | {:.1} | {:.3} | {:.1} | {:.3} | {:.1} | {:.1} | {:.1} | {} | {} |",
            r.full,
            r.other,
            r.used as f64 / MIB,
            r.live as f64 / MIB,
            r.used as f64 / r.live as f64,
            r.footprint as f64 / MIB,
            r.used as f64 / r.footprint as f64,
            r.free as f64 / MIB,
            r.untouched as f64 / MIB,
            r.largest_free as f64 / MIB,
            r.wrong,
            if r.cpu_share.is_nan() { String::new() } else { format!("{:.2}", r.cpu_share) }
        );
    }
    println!();
    drop(compacted);
    drop(cfile);
    drop(store);
    drop(file);
}

fn main() {
    let cfg = Cfg::from_env();
    println!(
        "maph value-heap benchmarks (issue 11; WORKLOADS.md W2, W1, W4); store files in {}",
        cfg.dir.display()
    );
    if cfg.w2 {
        if let Some(rows) = w2_rows(&cfg.w2_path) {
            table_part(&rows, &cfg.w2_slot_sizes, true, &cfg);
        }
    }
    if cfg.w1 {
        let rows = w1_rows(cfg.w1_keys);
        table_part(&rows, &cfg.w1_slot_sizes, false, &cfg);
    }
    if cfg.w4 {
        w4(&cfg);
    }
}
