//! Batch hashing throughput: 1,000,000 W1 keys (`key:%08d`, 12 bytes, the
//! XXH3 9–16-byte class), scalar path vs AVX2 path, in keys per second.
//!
//! Run: `cargo bench --bench hash_batch` (needs the `[[bench]]` entry with
//! `harness = false` and `criterion` as a dev-dependency in Cargo.toml).

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use maph::hash::{backend, hash_batch, hash_batch_avx2, hash_batch_scalar};

const KEYS: usize = 1_000_000;
const SEED: u64 = 0x5EED;

/// The W1 keys, stored back to back in one buffer (as a batch parsed from a
/// request would be), plus the slices `hash_batch` takes.
fn w1_keys() -> Vec<u8> {
    let mut buf = Vec::with_capacity(KEYS * 12);
    for i in 0..KEYS {
        buf.extend_from_slice(format!("key:{i:08}").as_bytes());
    }
    buf
}

fn bench_hash_batch(c: &mut Criterion) {
    let buf = w1_keys();
    let keys: Vec<&[u8]> = buf.chunks_exact(12).collect();
    let mut out = vec![0u64; KEYS];

    // The paths must agree before their speed means anything.
    let mut check = vec![0u64; KEYS];
    hash_batch_scalar(&keys, SEED, &mut check);
    hash_batch(&keys, SEED, &mut out);
    assert_eq!(check, out, "hash_batch disagrees with the scalar path");

    let mut group = c.benchmark_group(format!("hash_batch_w1_1M (backend {})", backend()));
    group.throughput(Throughput::Elements(KEYS as u64));
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(5));

    group.bench_function("scalar", |b| {
        b.iter(|| hash_batch_scalar(black_box(&keys), black_box(SEED), black_box(&mut out)))
    });
    if hash_batch_avx2(&keys, SEED, &mut out).is_some() {
        group.bench_function("avx2", |b| {
            b.iter(|| hash_batch_avx2(black_box(&keys), black_box(SEED), black_box(&mut out)))
        });
    } else {
        eprintln!("CPU lacks AVX2: only the scalar path is measured");
    }
    group.finish();
}

criterion_group!(benches, bench_hash_batch);
criterion_main!(benches);
