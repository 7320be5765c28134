//! Scans and copies (issue 13): W1 and W2 of `../shared/WORKLOADS.md`,
//! scanned with 1 and 2 threads through cursors, against a sequential-read
//! floor over a buffer of the same size measured in the same run; then
//! `copy_to` plain and compacting (time and size).
//!
//! Run: `cargo bench --bench scan` (about 3 minutes idle; the W1 store
//! takes 1 GiB of the bench dir and W2's ~150 MB). A short run:
//! `MAPH_SCAN_BENCH_W1_KEYS=100000 cargo bench --bench scan`.
//!
//! | variable | default | what |
//! |---|---|---|
//! | `MAPH_SCAN_BENCH_W1_KEYS` | 1000000 | W1 keys `key:%08d`, 100-byte values, 2 slots per key of 512 B |
//! | `MAPH_SCAN_BENCH_W2_PATH` | `../shared/data/pypi-packages.tsv.gz` | W2's data (skipped with a message when absent) |
//! | `MAPH_SCAN_BENCH_REPS` | 5 | repetitions of floor + scans, interleaved; medians quoted |
//! | `MAPH_SCAN_BENCH_DIR` | the temp dir | where the store files go (removed afterwards) |
//!
//! How it measures:
//! - A scan is `Store::cursor_next` over the whole store (1 thread) or over
//!   parts 0 and 1 of 2 (`cursor_part`, one thread each), into reused
//!   buffers, touching every key and value byte (a checksum). Its rate is
//!   records per second and the store's scanned bytes per second: the
//!   control bytes plus the slot region (what a scan walks), plus the
//!   heap bytes in use.
//! - `floor_seq_gbps`: one thread summing u64 words over a buffer as large
//!   as those scanned bytes, in 4 KiB pages, prefaulted (the speed of a
//!   sequential read of that region from memory on this machine);
//!   `floor_seq2_gbps` the same with 2 threads, each over one half.
//! - W2 is stored as a user with default options would (128-byte slots,
//!   rows over 112 bytes in the heap, slots = rows / 0.75).
//! - Each repetition measures the floors and then each store's scans, so
//!   every figure and its floor come from the same minute; medians over
//!   the repetitions are the headline figures.
//! - Copies: `copy_to(path, 0)` and `copy_to(path, COPY_COMPACT)`, once
//!   each, file size (`st_size`) and allocated bytes (`st_blocks * 512`).

#[path = "common/env.rs"]
mod env;

use std::hint::black_box;
use std::io::{BufRead, BufReader};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Instant;

use env::env_num;
use maph::store::copy::COPY_COMPACT;
use maph::store::cursor::Step;
use maph::{Options, Store};

fn put(name: &str, v: f64, unit: &str) {
    if v.abs() >= 100.0 {
        println!("{name}: {v:.1} {unit}");
    } else {
        println!("{name}: {v:.3} {unit}");
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Sequential read of `buf` by `threads` threads (each a contiguous
/// share): bytes per second.
fn floor_seq(buf: &[u64], threads: usize) -> f64 {
    let t = Instant::now();
    std::thread::scope(|s| {
        for part in buf.chunks(buf.len().div_ceil(threads)) {
            s.spawn(move || {
                let mut acc = 0u64;
                for w in part.chunks(8) {
                    for &x in w {
                        acc = acc.wrapping_add(x);
                    }
                }
                black_box(acc);
            });
        }
    });
    (buf.len() * 8) as f64 / t.elapsed().as_secs_f64()
}

/// Scans `store` with `threads` threads: (records, seconds).
fn scan(store: &Store, threads: u32) -> (u64, f64) {
    let t = Instant::now();
    let n: u64 = std::thread::scope(|s| {
        let hs: Vec<_> = (0..threads)
            .map(|p| {
                s.spawn(move || {
                    let mut c = store.cursor_part(p, threads).unwrap();
                    let (mut kb, mut vb) = (vec![0u8; 1 << 16], vec![0u8; 1 << 16]);
                    let (mut n, mut sum) = (0u64, 0u64);
                    loop {
                        match store.cursor_next(&mut c, &mut kb, &mut vb).unwrap() {
                            Step::End => break,
                            Step::Record { key_len, val_len } => {
                                n += 1;
                                sum = sum.wrapping_add(kb[key_len - 1] as u64).wrapping_add(
                                    if val_len > 0 { vb[val_len - 1] as u64 } else { 0 },
                                );
                            }
                            Step::TooSmall { key_len, val_len } => {
                                kb.resize(key_len.max(kb.len()), 0);
                                vb.resize(val_len.max(vb.len()), 0);
                            }
                        }
                    }
                    black_box(sum);
                    n
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).sum()
    });
    (n, t.elapsed().as_secs_f64())
}

/// Bytes a scan walks: control bytes, slot region, heap in use.
fn scanned_bytes(store: &Store) -> u64 {
    let g = store.geometry();
    let slots = store.slots_in_use();
    slots + slots * u64::from(g.slot_size()) + store.heap_stats().used
}

struct Loaded {
    name: &'static str,
    store: Store,
    rows: u64,
    path: PathBuf,
}

fn load_w1(dir: &Path, keys: u64) -> Loaded {
    let path = dir.join("scan-w1.maph");
    let _ = std::fs::remove_file(&path);
    let store =
        Store::create(&path, &Options { slots: keys * 2, slot_size: 512, ..Options::default() })
            .unwrap();
    let val = [b'v'; 100];
    for i in 0..keys {
        store.set(format!("key:{i:08}").as_bytes(), &val).unwrap();
    }
    Loaded { name: "w1", store, rows: keys, path }
}

fn load_w2(dir: &Path, data: &Path) -> Option<Loaded> {
    let Ok(f) = std::fs::File::open(data) else {
        println!("w2: skipped: {} not found", data.display());
        return None;
    };
    let rows: Vec<(Vec<u8>, Vec<u8>)> = BufReader::new(flate2::read::GzDecoder::new(f))
        .split(b'\n')
        .filter_map(|l| {
            let l = l.unwrap();
            let tab = l.iter().position(|&b| b == b'\t')?;
            (tab > 0).then(|| (l[..tab].to_vec(), l[tab + 1..].to_vec()))
        })
        .collect();
    let path = dir.join("scan-w2.maph");
    let _ = std::fs::remove_file(&path);
    let store = Store::create(&path, &Options::for_keys(rows.len() as u64, 0.75)).unwrap();
    let mut failed = 0;
    for (k, v) in &rows {
        if store.set(k, v).is_err() {
            failed += 1;
        }
    }
    let n = store.stats().keys;
    println!("w2: {} rows read, {n} keys stored, {failed} sets failed", rows.len());
    Some(Loaded { name: "w2", store, rows: n, path })
}

fn main() {
    let dir =
        std::env::var_os("MAPH_SCAN_BENCH_DIR").map_or_else(std::env::temp_dir, PathBuf::from);
    let reps = env_num("MAPH_SCAN_BENCH_REPS", 5).max(1) as usize;
    let w1_keys = env_num("MAPH_SCAN_BENCH_W1_KEYS", 1_000_000).max(1);
    let w2_path = std::env::var_os("MAPH_SCAN_BENCH_W2_PATH").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/pypi-packages.tsv.gz"),
        PathBuf::from,
    );
    let mut stores = vec![load_w1(&dir, w1_keys)];
    stores.extend(load_w2(&dir, &w2_path));
    for l in &stores {
        l.store.prefault().unwrap();
        put(&format!("{}.rows", l.name), l.rows as f64, "rows");
        put(&format!("{}.scanned_bytes", l.name), scanned_bytes(&l.store) as f64 / 1e6, "MB");
    }
    // Per store: floor1, floor2, scan1 (keys/s, B/s), scan2.
    let mut fig: Vec<[Vec<f64>; 6]> = stores.iter().map(|_| Default::default()).collect();
    for rep in 0..reps {
        for (i, l) in stores.iter().enumerate() {
            let bytes = scanned_bytes(&l.store);
            let buf = vec![1u64; (bytes / 8) as usize];
            let (f1, f2) = (floor_seq(&buf, 1), floor_seq(&buf, 2));
            drop(buf);
            let (n1, t1) = scan(&l.store, 1);
            let (n2, t2) = scan(&l.store, 2);
            assert_eq!((n1, n2), (l.rows, l.rows), "a scan did not return every row");
            let f = &mut fig[i];
            f[0].push(f1 / 1e9);
            f[1].push(f2 / 1e9);
            f[2].push(n1 as f64 / t1);
            f[3].push(bytes as f64 / t1 / 1e9);
            f[4].push(n2 as f64 / t2);
            f[5].push(bytes as f64 / t2 / 1e9);
            println!(
                "{}.rep{rep}: floor_seq {:.2} GB/s, 1 thread {:.2} GB/s {:.1} M rows/s, 2 threads {:.2} GB/s {:.1} M rows/s",
                l.name, f1 / 1e9, bytes as f64 / t1 / 1e9, n1 as f64 / t1 / 1e6,
                bytes as f64 / t2 / 1e9, n2 as f64 / t2 / 1e6
            );
        }
    }
    let meds: Vec<Vec<f64>> =
        fig.iter().map(|f| f.iter().map(|v| median(v.clone())).collect()).collect();
    for (l, m) in stores.iter().zip(&meds) {
        let n = l.name;
        put(&format!("{n}.floor_seq_gbps"), m[0], "GB/s");
        put(&format!("{n}.floor_seq2_gbps"), m[1], "GB/s");
        put(&format!("{n}.scan1_rows_per_s"), m[2], "rows/s");
        put(&format!("{n}.scan1_gbps"), m[3], "GB/s");
        put(&format!("{n}.scan1_over_floor_seq"), m[3] / m[0], "x");
        put(&format!("{n}.scan2_rows_per_s"), m[4], "rows/s");
        put(&format!("{n}.scan2_gbps"), m[5], "GB/s");
        put(&format!("{n}.scan2_over_scan1"), m[4] / m[2], "x");
    }
    println!("\n| workload | rows | scanned MB | floor_seq_gbps | 1 thread GB/s | 1 thread M rows/s | / floor | 2 threads GB/s | 2 threads M rows/s | 2 / 1 | floor_seq2_gbps |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (l, m) in stores.iter().zip(&meds) {
        println!(
            "| {} | {} | {:.0} | {:.2} | {:.2} | {:.1} | {:.2} | {:.2} | {:.1} | {:.2} | {:.2} |",
            l.name,
            l.rows,
            scanned_bytes(&l.store) as f64 / 1e6,
            m[0],
            m[3],
            m[2] / 1e6,
            m[3] / m[0],
            m[5],
            m[4] / 1e6,
            m[4] / m[2],
            m[1]
        );
    }
    let mut copy_rows = vec![];
    for l in &stores {
        let size = |p: &Path| {
            let m = std::fs::metadata(p).unwrap();
            (m.len() as f64 / 1e6, (m.blocks() * 512) as f64 / 1e6)
        };
        let mut row = vec![];
        for (tag, flags) in [("copy", 0), ("compact", COPY_COMPACT)] {
            let p = dir.join(format!("scan-{}-{tag}.maph", l.name));
            let _ = std::fs::remove_file(&p);
            let t = Instant::now();
            let c = l.store.copy_to(&p, flags).unwrap();
            let secs = t.elapsed().as_secs_f64();
            assert_eq!(c.stats().keys, l.rows, "{tag} lost keys");
            drop(c);
            let (mb, alloc) = size(&p);
            put(&format!("{}.{tag}_s", l.name), secs, "s");
            put(&format!("{}.{tag}_mb", l.name), mb, "MB");
            put(&format!("{}.{tag}_allocated_mb", l.name), alloc, "MB");
            row.push(format!("{secs:.2} | {mb:.0} ({alloc:.0})"));
            let _ = std::fs::remove_file(&p);
        }
        let (mb, alloc) = size(&l.path);
        copy_rows.push(format!("| {} | {mb:.0} ({alloc:.0}) | {} | {} |", l.name, row[0], row[1]));
    }
    println!("\n| workload | source MB (allocated) | copy s | copy MB (allocated) | compact copy s | compact MB (allocated) |");
    println!("|---|---:|---:|---:|---:|---:|");
    for r in copy_rows {
        println!("{r}");
    }
    for l in stores {
        let p = l.path.clone();
        drop(l);
        let _ = std::fs::remove_file(p);
    }
}
