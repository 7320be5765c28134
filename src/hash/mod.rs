//! The key hash: XXH3-64 with the store's seed (hash id 1 in the header).
//!
//! Algorithm: XXH3 by Yann Collet, reference implementation xxHash 0.8
//! (`XXH3_64bits_withSeed`), through the `xxhash-rust` crate. The result for
//! a given key and seed is fixed by the format: every process and every
//! version of maph that reads format version 1 computes the same value.
//! A test pins known values so a dependency update cannot change it.

pub mod batch;

pub use batch::{backend, hash_batch, hash_batch_avx2, hash_batch_scalar};

/// The 64-bit hash of `key` under `seed`.
#[inline]
pub fn hash64(key: &[u8], seed: u64) -> u64 {
    xxhash_rust::xxh3::xxh3_64_with_seed(key, seed)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Guards the format: if these change, existing stores become unreadable.
    /// Values from the reference C implementation (through python-xxhash:
    /// `xxhash.xxh3_64_intdigest(b"a", 0)`).
    #[test]
    fn hash_values_are_pinned() {
        assert_eq!(hash64(b"", 0), 0x2d06800538d394c2);
        assert_eq!(hash64(b"a", 0), 0xe6c632b61e964e1f);
        assert_ne!(hash64(b"key:00000001", 1), hash64(b"key:00000001", 2));
    }
}
