//! Measurement shared by `maph bench`, `maph demo` and the store benchmark
//! (`benches/store.rs` includes this file by path).
//!
//! - The machine floor (WORKLOADS.md): `floor_dram_ns`, a pointer chase over
//!   a random cyclic permutation of 64-byte lines (each read depends on the
//!   one before: one full memory latency per step), and `floor_mlp_ns`,
//!   independent random 64-byte reads (the CPU overlaps them: a throughput).
//!   The buffer is anonymous memory in 4 KiB pages (`MADV_NOHUGEPAGE`), like
//!   the store's file mapping, so TLB misses count in both.
//! - Sampled latency: one operation in `stride` is timed alone with
//!   `Instant` into an HDR histogram; the others run untimed in between.
//! - Throughput: an untimed pass (one clock read at each end).
//!
//! Every key a timed loop uses is precomputed into a [`KeyList`] in the
//! order of use, so the loops do no formatting, no random number
//! generation, and read their keys sequentially (no cache miss of their own).

use std::hint::black_box;
use std::ops::Range;
use std::time::Instant;

use hdrhistogram::Histogram;
use maph::{Error, Store};

/// SplitMix64 (Steele, Lea, Flood 2014): a small, fast, seedable generator.
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> SplitMix64 {
        SplitMix64(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, n)` (Lemire's multiply-shift; bias below 2^-32 for
    /// the sizes used here).
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }
}

/// Keys laid end to end in the order a loop will use them.
#[derive(Default)]
pub struct KeyList {
    bytes: Vec<u8>,
    ends: Vec<usize>,
}

impl KeyList {
    pub fn with_capacity(keys: usize, bytes: usize) -> KeyList {
        KeyList { bytes: Vec::with_capacity(bytes), ends: Vec::with_capacity(keys) }
    }

    /// Appends the key `a` followed by `b` (`b` may be empty).
    pub fn push(&mut self, a: &[u8], b: &[u8]) {
        self.bytes.extend_from_slice(a);
        self.bytes.extend_from_slice(b);
        self.ends.push(self.bytes.len());
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    #[inline]
    pub fn get(&self, i: usize) -> &[u8] {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.bytes[start..self.ends[i]]
    }
}

/// Anonymous memory in 4 KiB pages, unmapped on drop.
struct AnonBuf {
    ptr: *mut u64,
    bytes: usize,
}

impl AnonBuf {
    fn new(bytes: usize) -> Result<AnonBuf, String> {
        // SAFETY: a fresh private anonymous mapping; no existing memory is
        // affected. The result is checked against MAP_FAILED.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                bytes,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(format!(
                "allocating a {} MiB floor buffer: {}",
                bytes >> 20,
                std::io::Error::last_os_error()
            ));
        }
        // SAFETY: advice on the mapping just made. Failure (a kernel without
        // THP) leaves 4 KiB pages, which is what is wanted anyway.
        unsafe { libc::madvise(p, bytes, libc::MADV_NOHUGEPAGE) };
        Ok(AnonBuf { ptr: p.cast(), bytes })
    }

    fn words(&mut self) -> &mut [u64] {
        // SAFETY: the mapping is `bytes` long, readable, writable, page
        // aligned, zero-filled, and owned by `self` alone; the borrow of
        // `self` bounds the slice's life.
        unsafe { std::slice::from_raw_parts_mut(self.ptr, self.bytes / 8) }
    }
}

impl Drop for AnonBuf {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly the mapping made in `new`; no slice of it
        // outlives `self`.
        unsafe { libc::munmap(self.ptr.cast(), self.bytes) };
    }
}

/// The machine floor over a buffer of `bytes`.
pub struct Floor {
    pub bytes: u64,
    /// Median ns of CPU time per dependent random read.
    pub dram_ns: f64,
    /// Median ns of CPU time per independent random read.
    pub mlp_ns: f64,
    /// The same medians in wall-clock time (they differ when the shared
    /// machine ran something else during a chunk).
    pub dram_wall_ns: f64,
    pub mlp_wall_ns: f64,
    /// Pointer-chase steps timed.
    pub steps: u64,
}

pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Measures the floor over `bytes` of 4 KiB pages (at least 1 MiB):
/// `floor_dram_ns` is the median, over 550 chunks of 10,000 steps, of ns
/// per step of a pointer chase over a random cyclic permutation (Sattolo) of
/// the buffer's 64-byte lines; `floor_mlp_ns` the median over 40 passes of
/// ns per read of 250,000 independent random lines (fresh lines each pass).
/// Chunks are timed by the thread's CPU clock, so a chunk during which the
/// shared machine ran something else is not inflated; wall-clock medians
/// come too.
pub fn floor(bytes: u64, seed: u64) -> Result<Floor, String> {
    const LW: usize = 8; // u64 words per 64-byte line
    const CHUNK: usize = 10_000;
    const CHUNKS: usize = 550; // 5.5M timed steps
    const MLP_READS: usize = 250_000;
    const MLP_PASSES: usize = 40; // 10M reads

    let bytes = usize::try_from(bytes.max(1 << 20))
        .map_err(|_| "floor buffer larger than the address space".to_string())?
        & !4095;
    let lines = bytes / 64;
    let mut buf = AnonBuf::new(bytes)?;
    let w = buf.words();
    for i in 0..lines {
        w[i * LW] = i as u64;
    }
    // Sattolo's algorithm: a uniformly random permutation that is a single
    // cycle through every line, so the chase visits all of them.
    let mut rng = SplitMix64::new(seed);
    for i in (1..lines).rev() {
        let j = rng.below(i as u64) as usize;
        w.swap(i * LW, j * LW);
    }
    let mut p = 0usize;
    for _ in 0..100_000 {
        p = w[p * LW] as usize;
    }
    let (mut cpu_step, mut wall_step) = (Vec::new(), Vec::new());
    for _ in 0..CHUNKS {
        let c = thread_cpu_secs();
        let t = Instant::now();
        for _ in 0..CHUNK {
            p = w[p * LW] as usize;
        }
        wall_step.push(t.elapsed().as_nanos() as f64 / CHUNK as f64);
        cpu_step.push((thread_cpu_secs() - c) * 1e9 / CHUNK as f64);
    }
    black_box(p);
    // Fresh random lines for every pass: no pass re-reads another's lines
    // on purpose (what the cache keeps by chance, it keeps for maph too).
    let idx: Vec<usize> =
        (0..MLP_READS * MLP_PASSES).map(|_| rng.below(lines as u64) as usize * LW).collect();
    let (mut cpu_read, mut wall_read) = (Vec::new(), Vec::new());
    let mut sum = 0u64;
    for chunk in idx.chunks_exact(MLP_READS) {
        let c = thread_cpu_secs();
        let t = Instant::now();
        for &i in chunk {
            sum = sum.wrapping_add(w[i]);
        }
        wall_read.push(t.elapsed().as_nanos() as f64 / MLP_READS as f64);
        cpu_read.push((thread_cpu_secs() - c) * 1e9 / MLP_READS as f64);
    }
    black_box(sum);
    Ok(Floor {
        bytes: bytes as u64,
        dram_ns: median(cpu_step),
        mlp_ns: median(cpu_read),
        dram_wall_ns: median(wall_step),
        mlp_wall_ns: median(wall_read),
        steps: (CHUNK * CHUNKS) as u64,
    })
}

/// Size of the largest CPU cache, from sysfs.
pub fn llc_bytes() -> Option<u64> {
    let mut best = None;
    for i in 0..8 {
        let dir = format!("/sys/devices/system/cpu/cpu0/cache/index{i}");
        let Ok(size) = std::fs::read_to_string(format!("{dir}/size")) else {
            continue;
        };
        let size = size.trim();
        let (num, mult) = match size.as_bytes().last() {
            Some(b'K') => (&size[..size.len() - 1], 1u64 << 10),
            Some(b'M') => (&size[..size.len() - 1], 1 << 20),
            Some(b'G') => (&size[..size.len() - 1], 1 << 30),
            _ => (size, 1),
        };
        if let Ok(n) = num.parse::<u64>() {
            best = best.max(Some(n * mult));
        }
    }
    best
}

/// Resident set size of this process (VmRSS), in bytes.
pub fn rss_bytes() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

pub fn new_hist() -> Histogram<u64> {
    // 1 ns to 100 s at 3 significant digits: constant, valid bounds.
    Histogram::new_with_bounds(1, 100_000_000_000, 3).expect("constant histogram bounds")
}

/// Median ns between two back-to-back `Instant::now()` calls: included in
/// every sampled latency.
pub fn clock_overhead_ns() -> u64 {
    let mut h = new_hist();
    for _ in 0..200_000 {
        let t = Instant::now();
        h.saturating_record((t.elapsed().as_nanos() as u64).max(1));
    }
    h.value_at_quantile(0.5)
}

/// A sampled latency distribution.
pub struct Lat {
    pub hist: Histogram<u64>,
    /// Operations that did not answer as expected (all, not only sampled).
    pub failures: u64,
    pub ops: u64,
}

impl Lat {
    /// The `q` quantile in ns.
    pub fn q(&self, q: f64) -> u64 {
        self.hist.value_at_quantile(q)
    }
}

/// Runs `op` on each key in `range` in order, timing one call in `stride`
/// alone. `op` answers `Some(bytes)` when the call did what was expected.
pub fn latency(
    keys: &KeyList, range: Range<usize>, stride: usize, mut op: impl FnMut(&[u8]) -> Option<usize>,
) -> Lat {
    let mut hist = new_hist();
    let (mut failures, mut acc, mut countdown) = (0u64, 0usize, 0usize);
    let ops = range.len() as u64;
    for i in range {
        let key = keys.get(i);
        let r = if countdown == 0 {
            countdown = stride - 1;
            let t = Instant::now();
            let r = op(key);
            let ns = t.elapsed().as_nanos() as u64;
            hist.saturating_record(ns.max(1));
            r
        } else {
            countdown -= 1;
            op(key)
        };
        match r {
            Some(n) => acc = acc.wrapping_add(n),
            None => failures += 1,
        }
    }
    black_box(acc);
    Lat { hist, failures, ops }
}

/// What an untimed pass did.
pub struct Pass {
    /// Wall-clock seconds.
    pub secs: f64,
    /// CPU seconds of the thread that ran it: well below `secs` when the
    /// machine is busy with other work and the figure is not to be trusted.
    pub cpu_secs: f64,
    /// Operations that did not answer as expected.
    pub failures: u64,
}

/// CPU time of the calling thread, in seconds.
pub fn thread_cpu_secs() -> f64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: writes one timespec into `ts`.
    let r = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    if r != 0 {
        return f64::NAN;
    }
    ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9
}

/// An untimed pass of `op` over the keys in `range`.
pub fn pass(
    keys: &KeyList, range: Range<usize>, mut op: impl FnMut(&[u8]) -> Option<usize>,
) -> Pass {
    let (mut failures, mut acc) = (0u64, 0usize);
    let cpu = thread_cpu_secs();
    let t = Instant::now();
    for i in range {
        match op(keys.get(i)) {
            Some(n) => acc = acc.wrapping_add(n),
            None => failures += 1,
        }
    }
    let secs = t.elapsed().as_secs_f64();
    let cpu_secs = thread_cpu_secs() - cpu;
    black_box(acc);
    Pass { secs, cpu_secs, failures }
}

/// The first 1-minute load average of /proc/loadavg.
pub fn loadavg() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg").ok()?.split_whitespace().next()?.parse().ok()
}

/// A GET of a key that must be present: its value length.
#[inline]
pub fn get_hit(store: &Store, buf: &mut [u8], key: &[u8]) -> Option<usize> {
    store.get(key, buf).ok()
}

/// A GET of a key that must be absent.
#[inline]
pub fn get_miss(store: &Store, buf: &mut [u8], key: &[u8]) -> Option<usize> {
    match store.get(key, buf) {
        Err(Error::NotFound) => Some(0),
        _ => None,
    }
}

/// `get_ref` of a present key, then `ref_valid` on its token (what a
/// caller of the zero-copy read must do before trusting the bytes).
#[inline]
pub fn get_ref_hit(store: &Store, key: &[u8]) -> Option<usize> {
    let r = store.get_ref(key).ok()?;
    store.ref_valid(r.token).then_some(r.len)
}

/// Hit GETs over `keys` on `threads` threads, each taking an equal
/// contiguous share: (ops/s over the wall time, CPU share = the threads'
/// CPU time / (threads x wall time), failures).
pub fn hit_throughput_threads(store: &Store, keys: &KeyList, threads: usize) -> (f64, f64, u64) {
    let n = keys.len();
    let t = Instant::now();
    let passes: Vec<Pass> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|k| {
                let range = n * k / threads..n * (k + 1) / threads;
                s.spawn(move || {
                    let mut buf = vec![0u8; store.slot_capacity()];
                    pass(keys, range, |key| get_hit(store, &mut buf, key))
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or(Pass { secs: 0.0, cpu_secs: 0.0, failures: u64::MAX }))
            .collect()
    });
    let wall = t.elapsed().as_secs_f64();
    let cpu: f64 = passes.iter().map(|p| p.cpu_secs).sum();
    let failures = passes.iter().fold(0u64, |a, p| a.saturating_add(p.failures));
    (n as f64 / wall, cpu / (threads as f64 * wall), failures)
}

/// `x` in MiB, one decimal.
pub fn mib(x: u64) -> String {
    format!("{:.1}", x as f64 / (1u64 << 20) as f64)
}
