//! Batch hashing (`maph::hash`) must give exactly `maph::hash::hash64`
//! for every key, on the scalar path and on the AVX2 path. A mismatch would
//! make `mget` look keys up in the wrong slots (silent misses), so these
//! tests compare element by element across every XXH3 length class, seeds
//! that stress the seed arithmetic, unaligned key slices, and batches whose
//! sizes and length mixes exercise the grouping into lanes of four and the
//! scalar leftovers.

#![cfg(not(loom))]

mod common;

use common::Rng;
use maph::hash::hash64;
use maph::hash::{backend, hash_batch, hash_batch_avx2, hash_batch_scalar};
use proptest::prelude::*;

fn avx2_available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::is_x86_feature_detected!("avx2")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Checks scalar, AVX2 (when present) and the dispatching `hash_batch`
/// against `hash64`, key by key, with a message naming the failing key.
fn check_all_paths(keys: &[&[u8]], seed: u64, what: &str) {
    let expect: Vec<u64> = keys.iter().map(|k| hash64(k, seed)).collect();

    let mut scalar = vec![0u64; keys.len()];
    hash_batch_scalar(keys, seed, &mut scalar);
    let mut dispatched = vec![0u64; keys.len()];
    hash_batch(keys, seed, &mut dispatched);
    let mut avx2 = vec![0u64; keys.len()];
    let avx2_ran = hash_batch_avx2(keys, seed, &mut avx2).is_some();
    assert_eq!(avx2_ran, avx2_available(), "hash_batch_avx2 availability");

    for (i, key) in keys.iter().enumerate() {
        assert_eq!(
            scalar[i],
            expect[i],
            "{what}: scalar, key {i} (len {}), seed {seed:#x}",
            key.len()
        );
        assert_eq!(
            dispatched[i],
            expect[i],
            "{what}: hash_batch, key {i} (len {}), seed {seed:#x}",
            key.len()
        );
        if avx2_ran {
            assert_eq!(
                avx2[i],
                expect[i],
                "{what}: avx2, key {i} (len {}), seed {seed:#x}",
                key.len()
            );
        }
    }
}

fn seeds(rng: &mut Rng) -> Vec<u64> {
    vec![0, 1, u64::MAX, 0x8000_0000_0000_0000, 0xFFFF_FFFF, rng.next(), rng.next()]
}

#[test]
fn every_length_0_to_300_matches_hash64_on_all_paths() {
    if !avx2_available() {
        println!("CPU lacks AVX2: comparing scalar and hash_batch only");
    }
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for seed in seeds(&mut rng) {
        for len in 0..=300usize {
            // 9 keys: two full lanes of four plus a leftover, all the same
            // length; bytes cover the whole 0..=255 range (>= 0x80 included).
            let mut owned: Vec<Vec<u8>> = (0..8).map(|_| rng.bytes(len)).collect();
            owned.push(vec![0xFF; len]);
            let keys: Vec<&[u8]> = owned.iter().map(Vec::as_slice).collect();
            check_all_paths(&keys, seed, &format!("len {len}"));
        }
    }
}

#[test]
fn high_bytes_and_all_zero_keys_match_hash64() {
    // Sign-extension or byte-order bugs show up on 0x80..0xFF and on zeros.
    for len in 0..=140usize {
        for fill in [0x00u8, 0x7F, 0x80, 0xFF] {
            let owned: Vec<Vec<u8>> = (0..4).map(|_| vec![fill; len]).collect();
            let keys: Vec<&[u8]> = owned.iter().map(Vec::as_slice).collect();
            for seed in [0, 1, u64::MAX] {
                check_all_paths(&keys, seed, &format!("fill {fill:#x} len {len}"));
            }
        }
    }
}

#[test]
fn unaligned_key_slices_match_hash64() {
    // Keys that start at offsets 1..7 of one buffer (and end wherever their
    // length puts them), so no key is 8-byte aligned and some end exactly at
    // the end of the buffer: reads must be unaligned and stay in bounds.
    let mut rng = Rng(7);
    for len in 0..=140usize {
        for offset in 1..=7usize {
            let buf = rng.bytes(offset + 4 * (len + 3));
            let keys: Vec<&[u8]> = (0..4)
                .map(|j| {
                    let start = offset + j * (len + 3);
                    &buf[start..start + len]
                })
                .collect();
            check_all_paths(&keys, 0xDEAD_BEEF, &format!("offset {offset} len {len}"));
            // The last key ends at the last byte of its own exact-size buffer.
            let tail = buf[buf.len() - len..].to_vec();
            let keys: Vec<&[u8]> = vec![&tail; 4];
            check_all_paths(&keys, 3, &format!("tail len {len}"));
        }
    }
}

/// A batch of `n` keys with lengths drawn from every class boundary, in
/// random order.
fn mixed_batch(rng: &mut Rng, n: usize) -> Vec<Vec<u8>> {
    const LENS: [usize; 24] = [
        0, 1, 2, 3, 4, 7, 8, 9, 12, 15, 16, 17, 31, 32, 33, 64, 65, 96, 97, 127, 128, 129, 240, 241,
    ];
    (0..n)
        .map(|_| {
            let len = LENS[rng.index(LENS.len())];
            rng.bytes(len)
        })
        .collect()
}

#[test]
fn mixed_length_batches_of_many_sizes_match_scalar_per_element() {
    // Sizes 0, 1, 3 (all leftovers), 4, 5, 17 and 1000 exercise full lanes,
    // partial lanes and interleaved classes.
    let mut rng = Rng(42);
    for n in [0usize, 1, 3, 4, 5, 17, 1000] {
        for round in 0..20 {
            let owned = mixed_batch(&mut rng, n);
            let keys: Vec<&[u8]> = owned.iter().map(Vec::as_slice).collect();
            let seed = rng.next();
            let mut scalar = vec![0u64; n];
            hash_batch_scalar(&keys, seed, &mut scalar);
            let mut fast = vec![!0u64; n];
            hash_batch(&keys, seed, &mut fast);
            for i in 0..n {
                assert_eq!(
                    fast[i],
                    scalar[i],
                    "batch of {n} (round {round}): key {i} of len {}",
                    keys[i].len()
                );
            }
            check_all_paths(&keys, seed, &format!("mixed batch of {n}"));
        }
    }
}

#[test]
fn one_key_of_each_class_between_groups_is_written_to_its_own_slot() {
    // Lanes are filled out of order (a class's group completes after keys of
    // other classes): results must land at the original indices.
    let lens = [12usize, 2, 12, 5, 40, 12, 300, 2, 12, 0, 5, 2, 5, 2, 5, 12];
    let owned: Vec<Vec<u8>> = lens
        .iter()
        .enumerate()
        .map(|(i, &l)| (0..l).map(|b| (i * 31 + b * 7) as u8 | 0x80).collect())
        .collect();
    let keys: Vec<&[u8]> = owned.iter().map(Vec::as_slice).collect();
    check_all_paths(&keys, 0x0123_4567_89AB_CDEF, "interleaved classes");
}

#[test]
fn w1_keys_match_hash64() {
    let owned: Vec<String> = (0..10_000).map(|i| format!("key:{i:08}")).collect();
    let keys: Vec<&[u8]> = owned.iter().map(|s| s.as_bytes()).collect();
    check_all_paths(&keys, 0, "W1 keys");
    check_all_paths(&keys, 0x5EED, "W1 keys");
}

#[test]
#[should_panic(expected = "same length")]
fn mismatched_out_length_panics() {
    let keys: [&[u8]; 2] = [b"a", b"b"];
    let mut out = [0u64; 1];
    hash_batch(&keys, 0, &mut out);
}

#[test]
fn backend_reports_avx2_when_the_cpu_has_it() {
    if avx2_available() {
        assert_eq!(backend(), "avx2");
    } else {
        println!("CPU lacks AVX2: backend must be scalar");
        assert_eq!(backend(), "scalar");
    }
    // The answer is cached and stable.
    assert_eq!(backend(), backend());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_batches_match_hash64(
        keys in prop::collection::vec(
            prop_oneof![
                prop::collection::vec(any::<u8>(), 0..=16),
                prop::collection::vec(any::<u8>(), 17..=128),
                prop::collection::vec(any::<u8>(), 129..=300),
            ],
            0..64,
        ),
        seed in any::<u64>(),
    ) {
        let keys: Vec<&[u8]> = keys.iter().map(Vec::as_slice).collect();
        let mut out = vec![0u64; keys.len()];
        hash_batch(&keys, seed, &mut out);
        for (i, key) in keys.iter().enumerate() {
            prop_assert_eq!(out[i], hash64(key, seed), "key {} len {}", i, key.len());
        }
        let mut avx2 = vec![0u64; keys.len()];
        if hash_batch_avx2(&keys, seed, &mut avx2).is_some() {
            prop_assert_eq!(&avx2, &out);
        }
    }
}
