//! Batch key hashing for `mget`: many keys, one seed, results bit-identical
//! to [`crate::hash::hash64`].
//!
//! # Algorithm source
//!
//! XXH3-64 by Yann Collet, as specified by the xxHash 0.8 reference
//! implementation (`xxhash.h`, `XXH3_64bits_withSeed`) and implemented by the
//! `xxhash-rust` 0.8 crate that [`crate::hash::hash64`] calls
//! (`xxh3_64_with_seed`). The short-input paths reproduced here are the
//! reference's `XXH3_len_1to3_64b`, `XXH3_len_4to8_64b`, `XXH3_len_9to16_64b`,
//! and `XXH3_len_0to16_64b` (empty input).
//!
//! # Which keys take the SIMD path
//!
//! [`hash_batch_avx2`] sorts keys into length classes that run the same
//! XXH3 code path with the same number of steps:
//!
//! | class   | XXH3 path            | work per key                          |
//! |---------|----------------------|---------------------------------------|
//! | 0       | `len_0to16` (empty)  | depends on the seed only: computed once per batch |
//! | 1–3     | `len_1to3`           | XXH64 avalanche (two 64×64 multiplies) |
//! | 4–8     | `len_4to8`           | `rrmxmx` (two 64×64 multiplies)        |
//! | 9–16    | `len_9to16`          | one 64×64→128 fold, one avalanche      |
//!
//! Four keys of one class are hashed together, one key per 64-bit lane of a
//! `__m256i`: runs of four consecutive same-class keys directly (the common
//! case: a batch of similar keys), other keys by collecting four of a class
//! (remembering their indices, so each result lands in its own slot). Keys
//! longer than 16 bytes and the fewer-than-four keys of a class left over at
//! the end of a batch go through the scalar function, one key at a time:
//! from 17 bytes on, XXH3's rounds are one scalar `mulx` each, which four
//! AVX2 lanes did not beat (measured below), so that SIMD path was removed.
//!
//! # Why the results are identical
//!
//! For inputs of at most 240 bytes, XXH3 with a seed uses the *default*
//! secret with the seed added/subtracted arithmetically (it derives a custom
//! secret only for longer inputs), so every secret-and-seed term here is a
//! per-batch constant computed with the same wrapping arithmetic as the
//! reference. Each lane then performs exactly the reference's operations on
//! `u64` values modulo 2^64:
//!
//! - The key bytes are read from the same offsets the reference reads, as
//!   little-endian words like the reference, with scalar
//!   `u32/u64::from_le_bytes`. No read goes past a key's end.
//! - AVX2 has no 64×64 multiply, only `_mm256_mul_epu32` (32×32→64). The
//!   low 64 bits of a 64×64 product are `lo·lo + ((hi·lo + lo·hi) << 32)`
//!   mod 2^64, and the full 128-bit product is assembled from the four
//!   partial products exactly as the reference's portable `XXH_mult64to128`
//!   does (the middle sum cannot overflow 64 bits; proof in the `avx2`
//!   module).
//! - Rotations are two shifts and an OR, byte swaps a byte shuffle; XOR,
//!   wrapping add/sub and logical shifts map one-to-one to AVX2 instructions.
//!
//! The tests in `tests/hash_batch.rs` compare both paths with
//! [`crate::hash::hash64`] for every length 0..=300 under several seeds.
//!
//! # Speed
//!
//! Modest at best: a scalar x86-64 core does a 64×64→128 multiply in one
//! instruction (and the rest of a short XXH3 on four ALU ports), while AVX2
//! needs four `vpmuludq` plus shifts and adds on two vector ports, and the
//! lanes must be assembled from four separate keys. Measured on the 2-core
//! Xeon (AVX-512 capable) this was written on, million keys/s, scalar vs
//! AVX2: 2-byte keys 485 vs 644, 6-byte 657 vs 688, 12-byte (W1) ~600 vs
//! ~632, and (with a 17–128-byte SIMD path since removed) 24-byte 506 vs
//! 460, 48-byte 300 vs 237, 120-byte 156 vs 124: a win up to 16 bytes, a
//! loss above (each `mix16B` is one `mulx` scalar).
//! See `benches/hash_batch.rs`.

#![cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]

use crate::hash::hash64;

/// Hashes every key of `keys` with `seed` into `out` (same length; panics
/// otherwise). Results are bit-identical to [`crate::hash::hash64`]`(key, seed)`
/// for every key.
///
/// Uses [`hash_batch_avx2`] when the CPU has AVX2 (detected once at run time
/// and cached), else [`hash_batch_scalar`]; [`backend`] says which.
pub fn hash_batch(keys: &[&[u8]], seed: u64, out: &mut [u64]) {
    assert_len(keys, out);
    if hash_batch_avx2(keys, seed, out).is_none() {
        hash_batch_scalar(keys, seed, out);
    }
}

/// The portable path: one key at a time through [`crate::hash::hash64`].
/// Panics if `keys` and `out` differ in length.
pub fn hash_batch_scalar(keys: &[&[u8]], seed: u64, out: &mut [u64]) {
    assert_len(keys, out);
    for (key, slot) in keys.iter().zip(out.iter_mut()) {
        *slot = hash64(key, seed);
    }
}

/// The AVX2 path; `None` (and `out` untouched) when the CPU lacks AVX2
/// (`is_x86_feature_detected!`, checked once and cached) or the target is not
/// x86-64. Panics if `keys` and `out` differ in length.
pub fn hash_batch_avx2(keys: &[&[u8]], seed: u64, out: &mut [u64]) -> Option<()> {
    assert_len(keys, out);
    #[cfg(target_arch = "x86_64")]
    {
        if has_avx2() {
            // SAFETY: `has_avx2()` confirmed at run time that this CPU
            // supports AVX2, the only requirement of this target-feature
            // function; `keys` and `out` have equal lengths (asserted above).
            unsafe { avx2::hash_batch(keys, seed, out) };
            return Some(());
        }
    }
    let _ = (keys, seed, out);
    None
}

/// Which path [`hash_batch`] uses on this machine: `"avx2"` or `"scalar"`.
pub fn backend() -> &'static str {
    #[cfg(target_arch = "x86_64")]
    {
        if has_avx2() {
            return "avx2";
        }
    }
    "scalar"
}

fn assert_len(keys: &[&[u8]], out: &[u64]) {
    assert_eq!(keys.len(), out.len(), "hash_batch: keys and out must have the same length");
}

/// `is_x86_feature_detected!("avx2")`, evaluated once and cached:
/// 0 = not yet checked, 1 = absent, 2 = present.
#[cfg(target_arch = "x86_64")]
fn has_avx2() -> bool {
    use std::sync::atomic::{AtomicU8, Ordering};
    static AVX2: AtomicU8 = AtomicU8::new(0);
    match AVX2.load(Ordering::Relaxed) {
        1 => false,
        2 => true,
        _ => {
            let yes = std::is_x86_feature_detected!("avx2");
            AVX2.store(if yes { 2 } else { 1 }, Ordering::Relaxed);
            yes
        }
    }
}

/// XXH3's default secret (`XXH3_kSecret`), bytes 0..136 of the 192; only the
/// first 128 are read by the paths below.
const SECRET: [u8; 136] = [
    0xb8, 0xfe, 0x6c, 0x39, 0x23, 0xa4, 0x4b, 0xbe, 0x7c, 0x01, 0x81, 0x2c, 0xf7, 0x21, 0xad, 0x1c,
    0xde, 0xd4, 0x6d, 0xe9, 0x83, 0x90, 0x97, 0xdb, 0x72, 0x40, 0xa4, 0xa4, 0xb7, 0xb3, 0x67, 0x1f,
    0xcb, 0x79, 0xe6, 0x4e, 0xcc, 0xc0, 0xe5, 0x78, 0x82, 0x5a, 0xd0, 0x7d, 0xcc, 0xff, 0x72, 0x21,
    0xb8, 0x08, 0x46, 0x74, 0xf7, 0x43, 0x24, 0x8e, 0xe0, 0x35, 0x90, 0xe6, 0x81, 0x3a, 0x26, 0x4c,
    0x3c, 0x28, 0x52, 0xbb, 0x91, 0xc3, 0x00, 0xcb, 0x88, 0xd0, 0x65, 0x8b, 0x1b, 0x53, 0x2e, 0xa3,
    0x71, 0x64, 0x48, 0x97, 0xa2, 0x0d, 0xf9, 0x4e, 0x38, 0x19, 0xef, 0x46, 0xa9, 0xde, 0xac, 0xd8,
    0xa8, 0xfa, 0x76, 0x3f, 0xe3, 0x9c, 0x34, 0x3f, 0xf9, 0xdc, 0xbb, 0xc7, 0xc7, 0x0b, 0x4f, 0x1d,
    0x8a, 0x51, 0xe0, 0x4b, 0xcd, 0xb4, 0x59, 0x31, 0xc8, 0x9f, 0x7e, 0xc9, 0xd9, 0x78, 0x73, 0x64,
    0xea, 0xc5, 0xac, 0x83, 0x34, 0xd3, 0xeb, 0xc3,
];

// XXH64 primes and the XXH3 multipliers (reference names in comments).
const PRIME64_2: u64 = 0xC2B2_AE3D_27D4_EB4F;
const PRIME64_3: u64 = 0x1656_67B1_9E37_79F9;
/// `PRIME_MX1` in the reference (`XXH3_avalanche`).
const PRIME_MX1: u64 = 0x1656_6791_9E37_79F9;
/// `PRIME_MX2` in the reference (`XXH3_rrmxmx`).
const PRIME_MX2: u64 = 0x9FB2_1C65_1E98_DF25;

fn secret32(offset: usize) -> u32 {
    u32::from_le_bytes([SECRET[offset], SECRET[offset + 1], SECRET[offset + 2], SECRET[offset + 3]])
}

fn secret64(offset: usize) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&SECRET[offset..offset + 8]);
    u64::from_le_bytes(b)
}

/// `XXH64_avalanche`, used for the empty input (computed once per batch).
fn xxh64_avalanche(mut h: u64) -> u64 {
    h ^= h >> 33;
    h = h.wrapping_mul(PRIME64_2);
    h ^= h >> 29;
    h = h.wrapping_mul(PRIME64_3);
    h ^ (h >> 32)
}

/// The seed-and-secret terms of the short paths: the same for every key of
/// a batch, so computed once (scalar, wrapping, exactly as the reference).
#[derive(Clone, Copy)]
struct SeedTerms {
    /// `XXH3_len_0to16_64b`, `len == 0`: the whole hash.
    empty: u64,
    /// `XXH3_len_1to3_64b`: `bitflip`.
    flip_1to3: u64,
    /// `XXH3_len_4to8_64b`: `bitflip` (with the byte-swapped seed).
    flip_4to8: u64,
    /// `XXH3_len_9to16_64b`: `bitflip1`, `bitflip2`.
    flip_9to16: [u64; 2],
}

impl SeedTerms {
    fn new(seed: u64) -> Self {
        let seed_4to8 = seed ^ (u64::from((seed as u32).swap_bytes()) << 32);
        SeedTerms {
            empty: xxh64_avalanche(seed ^ secret64(56) ^ secret64(64)),
            flip_1to3: u64::from(secret32(0) ^ secret32(4)).wrapping_add(seed),
            flip_4to8: (secret64(8) ^ secret64(16)).wrapping_sub(seed_4to8),
            flip_9to16: [
                (secret64(24) ^ secret64(32)).wrapping_add(seed),
                (secret64(40) ^ secret64(48)).wrapping_sub(seed),
            ],
        }
    }
}

/// Length classes (see the table in the module docs).
const CLASS_EMPTY: u8 = 0;
const CLASS_1TO3: u8 = 1;
const CLASS_4TO8: u8 = 2;
const CLASS_9TO16: u8 = 3;
/// Number of classes that are grouped into SIMD lanes (1..=3); index 0 unused.
const SIMD_CLASSES: usize = 4;
const CLASS_SCALAR: u8 = 4;

#[inline]
fn class_of(len: usize) -> u8 {
    match len {
        0 => CLASS_EMPTY,
        1..=3 => CLASS_1TO3,
        4..=8 => CLASS_4TO8,
        9..=16 => CLASS_9TO16,
        _ => CLASS_SCALAR,
    }
}

#[inline]
fn read32(key: &[u8], offset: usize) -> u32 {
    let mut b = [0u8; 4];
    b.copy_from_slice(&key[offset..offset + 4]);
    u32::from_le_bytes(b)
}

#[inline]
fn read64(key: &[u8], offset: usize) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&key[offset..offset + 8]);
    u64::from_le_bytes(b)
}

/// The AVX2 kernels. Everything here is `#[target_feature(enable = "avx2")]`
/// and must only be called after run-time detection of AVX2.
///
/// 64×64-bit products from 32×32→64 (`_mm256_mul_epu32`), with
/// `a = ah·2^32 + al`, `b = bh·2^32 + bl`:
///
/// - low 64 bits: `al·bl + ((ah·bl + al·bh) << 32)` (mod 2^64);
/// - full 128 bits (reference `XXH_mult64to128`, portable branch):
///   `cross = (al·bl >> 32) + (al·bh mod 2^32) + ah·bl`, which is at most
///   `(2^32-1) + (2^32-1) + (2^32-1)^2 = 2^64 - 1`, so it does not overflow;
///   `high = ah·bh + (al·bh >> 32) + (cross >> 32)`,
///   `low = (cross << 32) | (al·bl mod 2^32)`.
#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::*;
    use core::arch::x86_64::*;

    /// The batch's seed terms, broadcast to all four lanes.
    struct Terms {
        empty: u64,
        flip_1to3: __m256i,
        flip_4to8: __m256i,
        flip_9to16: [__m256i; 2],
    }

    #[inline]
    #[target_feature(enable = "avx2")]
    fn splat(x: u64) -> __m256i {
        _mm256_set1_epi64x(x as i64)
    }

    #[inline]
    #[target_feature(enable = "avx2")]
    fn lanes(x: [u64; 4]) -> __m256i {
        _mm256_setr_epi64x(x[0] as i64, x[1] as i64, x[2] as i64, x[3] as i64)
    }

    #[inline]
    #[target_feature(enable = "avx2")]
    fn unlanes(v: __m256i) -> [u64; 4] {
        let mut out = [0u64; 4];
        // SAFETY: `out` is 32 writable bytes; `_mm256_storeu_si256` has no
        // alignment requirement.
        unsafe { _mm256_storeu_si256(out.as_mut_ptr().cast::<__m256i>(), v) };
        out
    }

    /// `x ^ (x >> N)` per lane (logical shift).
    #[inline]
    #[target_feature(enable = "avx2")]
    fn xorshift<const N: i32>(x: __m256i) -> __m256i {
        _mm256_xor_si256(x, _mm256_srli_epi64::<N>(x))
    }

    /// Low 64 bits of `a * b` per lane.
    #[inline]
    #[target_feature(enable = "avx2")]
    fn mul64_lo(a: __m256i, b: __m256i) -> __m256i {
        let ll = _mm256_mul_epu32(a, b);
        let hl = _mm256_mul_epu32(_mm256_srli_epi64::<32>(a), b);
        let lh = _mm256_mul_epu32(a, _mm256_srli_epi64::<32>(b));
        let cross = _mm256_add_epi64(hl, lh);
        _mm256_add_epi64(ll, _mm256_slli_epi64::<32>(cross))
    }

    /// Returns `x` unchanged but hides where it came from. LLVM recognises
    /// the partial-product sum of [`mul128_fold64`] as a 64×64→128 multiply
    /// and, for 4×u64 vectors, lowers it to four scalar `mul`s with lane
    /// extracts and inserts (measured slower here); an opaque cross term keeps
    /// it as `vpmuludq` arithmetic. Costs no instruction.
    #[inline]
    #[target_feature(enable = "avx2")]
    fn opaque(mut x: __m256i) -> __m256i {
        // SAFETY: the asm template is a comment: it executes nothing, reads
        // and writes no memory or flags, and leaves `x`'s register as is.
        unsafe {
            core::arch::asm!(
                "/* {0} */",
                inout(ymm_reg) x,
                options(pure, nomem, nostack, preserves_flags)
            )
        };
        x
    }

    /// `XXH3_mul128_fold64`: low ^ high of the 128-bit product `a * b`.
    #[inline]
    #[target_feature(enable = "avx2")]
    fn mul128_fold64(a: __m256i, b: __m256i) -> __m256i {
        let a_hi = _mm256_srli_epi64::<32>(a);
        let b_hi = _mm256_srli_epi64::<32>(b);
        let ll = _mm256_mul_epu32(a, b);
        // `opaque`: see there; without it LLVM turns this function back into
        // four scalar `mul`s plus lane extracts and inserts.
        let lh = opaque(_mm256_mul_epu32(a, b_hi));
        let hl = opaque(_mm256_mul_epu32(a_hi, b));
        let hh = _mm256_mul_epu32(a_hi, b_hi);
        let low32 = _mm256_set1_epi64x(0xFFFF_FFFF);
        let cross = _mm256_add_epi64(
            _mm256_add_epi64(_mm256_srli_epi64::<32>(ll), _mm256_and_si256(lh, low32)),
            hl,
        );
        let high = _mm256_add_epi64(
            _mm256_add_epi64(hh, _mm256_srli_epi64::<32>(lh)),
            _mm256_srli_epi64::<32>(cross),
        );
        // Even 32-bit words from `ll` (its low half), odd ones from
        // `cross << 32` (its low half moved up): `(cross << 32) | (ll & mask)`.
        let low = _mm256_blend_epi32::<0b1010_1010>(ll, _mm256_slli_epi64::<32>(cross));
        _mm256_xor_si256(low, high)
    }

    /// Byte swap of each 64-bit lane (`XXH_swap64`).
    #[inline]
    #[target_feature(enable = "avx2")]
    fn bswap64(x: __m256i) -> __m256i {
        let m = _mm256_setr_epi8(
            7, 6, 5, 4, 3, 2, 1, 0, 15, 14, 13, 12, 11, 10, 9, 8, //
            7, 6, 5, 4, 3, 2, 1, 0, 15, 14, 13, 12, 11, 10, 9, 8,
        );
        _mm256_shuffle_epi8(x, m)
    }

    /// `XXH64_avalanche`.
    #[inline]
    #[target_feature(enable = "avx2")]
    fn xxh64_avalanche(h: __m256i) -> __m256i {
        let h = mul64_lo(xorshift::<33>(h), splat(PRIME64_2));
        let h = mul64_lo(xorshift::<29>(h), splat(PRIME64_3));
        xorshift::<32>(h)
    }

    /// `XXH3_avalanche`.
    #[inline]
    #[target_feature(enable = "avx2")]
    fn xxh3_avalanche(h: __m256i) -> __m256i {
        xorshift::<32>(mul64_lo(xorshift::<37>(h), splat(PRIME_MX1)))
    }

    /// `XXH3_rrmxmx(h, len)`.
    #[inline]
    #[target_feature(enable = "avx2")]
    fn rrmxmx(h: __m256i, len: __m256i) -> __m256i {
        let rotl49 = _mm256_or_si256(_mm256_slli_epi64::<49>(h), _mm256_srli_epi64::<15>(h));
        let rotl24 = _mm256_or_si256(_mm256_slli_epi64::<24>(h), _mm256_srli_epi64::<40>(h));
        let h = _mm256_xor_si256(h, _mm256_xor_si256(rotl49, rotl24));
        let h = mul64_lo(h, splat(PRIME_MX2));
        let h = _mm256_xor_si256(h, _mm256_add_epi64(_mm256_srli_epi64::<35>(h), len));
        let h = mul64_lo(h, splat(PRIME_MX2));
        xorshift::<28>(h)
    }

    /// `XXH3_len_1to3_64b` for four keys of 1..=3 bytes.
    #[inline]
    #[target_feature(enable = "avx2")]
    fn len_1to3(k: [&[u8]; 4], t: &Terms) -> __m256i {
        let combo = k.map(|key| {
            let len = key.len();
            let (c1, c2, c3) = (key[0], key[len >> 1], key[len - 1]);
            u64::from(
                (u32::from(c1) << 16) | (u32::from(c2) << 24) | u32::from(c3) | ((len as u32) << 8),
            )
        });
        xxh64_avalanche(_mm256_xor_si256(lanes(combo), t.flip_1to3))
    }

    /// `XXH3_len_4to8_64b` for four keys of 4..=8 bytes.
    #[inline]
    #[target_feature(enable = "avx2")]
    fn len_4to8(k: [&[u8]; 4], t: &Terms) -> __m256i {
        // input64 = input2 + (input1 << 32): the two halves do not overlap,
        // so the sum is just the two 32-bit reads side by side.
        let input64 =
            k.map(|key| (u64::from(read32(key, 0)) << 32) | u64::from(read32(key, key.len() - 4)));
        let len = k.map(|key| key.len() as u64);
        let keyed = _mm256_xor_si256(lanes(input64), t.flip_4to8);
        rrmxmx(keyed, lanes(len))
    }

    /// `XXH3_len_9to16_64b` for four keys of 9..=16 bytes.
    #[inline]
    #[target_feature(enable = "avx2")]
    fn len_9to16(k: [&[u8]; 4], t: &Terms) -> __m256i {
        let lo = _mm256_xor_si256(lanes(k.map(|key| read64(key, 0))), t.flip_9to16[0]);
        let hi = _mm256_xor_si256(lanes(k.map(|key| read64(key, key.len() - 8))), t.flip_9to16[1]);
        let len = lanes(k.map(|key| key.len() as u64));
        let acc = _mm256_add_epi64(
            _mm256_add_epi64(len, bswap64(lo)),
            _mm256_add_epi64(hi, mul128_fold64(lo, hi)),
        );
        xxh3_avalanche(acc)
    }

    /// Hashes four keys of class `class` (one of the SIMD classes).
    #[inline]
    #[target_feature(enable = "avx2")]
    fn hash4(class: u8, k: [&[u8]; 4], t: &Terms) -> __m256i {
        match class {
            CLASS_1TO3 => len_1to3(k, t),
            CLASS_4TO8 => len_4to8(k, t),
            _ => len_9to16(k, t),
        }
    }

    /// The AVX2 batch.
    ///
    /// Fast path: while four consecutive keys share a SIMD class, they are
    /// hashed at once and stored straight into `out` (one loop per class, so
    /// the kernel is inlined into it). Otherwise the key is dealt into a
    /// per-class group (indices kept, so results land in their own slots);
    /// a group of four is hashed at once. Keys of no SIMD class, and the
    /// partial groups left at the end, go through the scalar function.
    ///
    /// # Safety
    ///
    /// The CPU must support AVX2. `keys.len() == out.len()` (otherwise
    /// indexing panics; never undefined behaviour).
    #[target_feature(enable = "avx2")]
    pub(super) fn hash_batch(keys: &[&[u8]], seed: u64, out: &mut [u64]) {
        let s = SeedTerms::new(seed);
        let t = Terms {
            empty: s.empty,
            flip_1to3: splat(s.flip_1to3),
            flip_4to8: splat(s.flip_4to8),
            flip_9to16: [splat(s.flip_9to16[0]), splat(s.flip_9to16[1])],
        };

        // Hashes runs of four consecutive keys whose lengths all lie in
        // `$lo..=$hi` with `$kernel`, from index `i`; evaluates to the index
        // after the last run (`i` itself when the first four do not qualify).
        macro_rules! runs {
            ($i:expr, $lo:expr, $hi:expr, $kernel:expr) => {{
                let mut j = $i;
                while let Some(run) = keys.get(j..j + 4) {
                    let k = [run[0], run[1], run[2], run[3]];
                    if !k.iter().all(|key| ($lo..=$hi).contains(&key.len())) {
                        break;
                    }
                    let h = $kernel(k, &t);
                    let dst = &mut out[j..j + 4];
                    // SAFETY: `dst` is 4 writable `u64`s = 32 bytes;
                    // `_mm256_storeu_si256` has no alignment requirement.
                    unsafe { _mm256_storeu_si256(dst.as_mut_ptr().cast::<__m256i>(), h) };
                    j += 4;
                }
                j
            }};
        }

        let mut pending = [[0usize; 4]; SIMD_CLASSES];
        let mut count = [0usize; SIMD_CLASSES];
        let mut i = 0;
        while i < keys.len() {
            let class = class_of(keys[i].len());
            let next = match class {
                CLASS_1TO3 => runs!(i, 1, 3, len_1to3),
                CLASS_4TO8 => runs!(i, 4, 8, len_4to8),
                CLASS_9TO16 => runs!(i, 9, 16, len_9to16),
                _ => i,
            };
            if next > i {
                i = next;
                continue;
            }
            match class {
                CLASS_EMPTY => out[i] = t.empty,
                CLASS_SCALAR => out[i] = hash64(keys[i], seed),
                class => {
                    let c = usize::from(class);
                    pending[c][count[c]] = i;
                    count[c] += 1;
                    if count[c] == 4 {
                        let g = pending[c];
                        let k = [keys[g[0]], keys[g[1]], keys[g[2]], keys[g[3]]];
                        let h = unlanes(hash4(class, k, &t));
                        for lane in 0..4 {
                            out[g[lane]] = h[lane];
                        }
                        count[c] = 0;
                    }
                }
            }
            i += 1;
        }
        for c in 1..SIMD_CLASSES {
            for &j in &pending[c][..count[c]] {
                out[j] = hash64(keys[j], seed);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn class_boundaries_match_xxh3_paths() {
        let expect = [
            (0, CLASS_EMPTY),
            (1, CLASS_1TO3),
            (3, CLASS_1TO3),
            (4, CLASS_4TO8),
            (8, CLASS_4TO8),
            (9, CLASS_9TO16),
            (16, CLASS_9TO16),
            (17, CLASS_SCALAR),
            (128, CLASS_SCALAR),
            (129, CLASS_SCALAR),
        ];
        for (len, class) in expect {
            assert_eq!(class_of(len), class, "len {len}");
        }
    }

    #[test]
    fn empty_key_term_matches_hash64() {
        for seed in [0, 1, u64::MAX, 0x0123_4567_89ab_cdef] {
            assert_eq!(SeedTerms::new(seed).empty, hash64(b"", seed));
        }
    }
}
