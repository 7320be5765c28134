//! Deterministic pseudo-random generators for the integration tests (no
//! extra dependency; the same seed gives the same sequence on every run and
//! machine, so a failure can be replayed).

/// xorshift64* (Vigna, "An experimental exploration of Marsaglia's xorshift
/// generators, scrambled", ACM TOMS 42(2), 2016): shifts 12, 25, 27 and the
/// multiplier 0x2545_F491_4F6C_DD1D. The state must not be 0 (it would stay
/// 0); callers pass a non-zero seed.
pub struct Rng(pub u64);

impl Rng {
    /// The next 64-bit output.
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A value in `0..n` (`next() % n`; the modulo bias is irrelevant for
    /// tests). Panics when `n` is 0.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// An index in `0..n`, as [`Rng::below`]. Panics when `n` is 0.
    pub fn index(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// `len` bytes, the low byte of one output each.
    pub fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next() as u8).collect()
    }
}

/// Marsaglia's xorshift64 (shifts 13, 7, 17; "Xorshift RNGs", Journal of
/// Statistical Software 8(14), 2003), unscrambled: each output is the new
/// state. Allocation-free, so it may run in a forked child. The state must
/// not be 0.
pub struct XorShift64(pub u64);

impl XorShift64 {
    /// Advances the state and returns it.
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}
