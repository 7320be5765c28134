//! Walking the keys of a store in resumable steps: `SCAN`, `KEYS`,
//! `FLUSHDB` and the REST key listing, over the store's cursors
//! (`maph::store::cursor`).
//!
//! # The SCAN cursor
//!
//! A scan must stop after a bounded amount of work and resume later from
//! a number the client hands back. maph's `Cursor` cannot be rebuilt from
//! a number, but `Store::cursor_part(p, n)` can: part `p` of `n` visits, in
//! every level, the slots `[first + count·p/n, first + count·(p+1)/n)`
//! (rounded down), and no key ever moves to another slot. So the position
//! of a scan is a *fraction* of every level: "the first `x/N` of every
//! level has been visited", with `N` the slot count of the store's largest
//! possible level (`level_base · 2^(max_levels−1)`, at most 2^31; for a
//! store of fixed size its slot count). The SCAN cursor is `x`: 0 starts,
//! and a returned 0 means the end (`x = N`).
//!
//! A step at position `x` scans one part whole: with `L` levels in use,
//! the part of `n = level_base · 2^j` parts that starts at `x`, for the
//! smallest `j ≥ L−1` with `x` a multiple of `N/n` (`j ≤ max_levels−1`
//! always works). It covers exactly the fraction `[x/N, x/N + 1/n)` of
//! every level, then the position becomes `x + N/n`. So:
//!
//! - consecutive steps cover adjacent fractions, whatever `n` each chose:
//!   every slot of every level is visited exactly once over a whole scan,
//!   also while the store grows (a new level's first fractions, passed
//!   before it existed, held no key present since the scan began; a key
//!   present for the whole scan never moves). With the store's cursor
//!   promise (`cursor.rs`), a key present for the whole scan is returned
//!   exactly once, as Redis promises "at least once";
//! - `j ≥ L−1` makes a part at most one slot of each level in use (about
//!   two slots on average): a step is small, and a scan costs one look at
//!   each slot in use, not at the slots the store may grow to;
//! - every number below `N` is a valid cursor (it is a fraction): a cursor
//!   made up by a client scans from there, without error.
//!
//! A call stops only between parts (a part is scanned whole), so a part's
//! records are never split across replies.

use maph::store::cursor::{Cursor, Step};
use maph::{Error, Store};

/// A store's key walk (see the module docs).
pub struct Walk<'a> {
    st: &'a Store,
    base: u64,
    /// `max_levels − 1`: `N = base << fine`.
    fine: u32,
}

/// What `Walk::run` tells its visitor.
pub enum Seen<'k> {
    /// A live key of the current part.
    Key(&'k [u8]),
    /// The current part is over.
    PartEnd,
}

/// A visitor's answer at a part's end.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Flow {
    /// Take the part and go on.
    Go,
    /// Take the part and stop after it.
    Stop,
    /// Stop before the part: the next call starts with it again.
    Undo,
}

impl<'a> Walk<'a> {
    pub fn new(st: &'a Store) -> Walk<'a> {
        let g = st.geometry();
        Walk { st, base: g.level_base(), fine: g.max_levels() - 1 }
    }

    /// `N`: the position at the end of a scan.
    pub fn end(&self) -> u64 {
        self.base << self.fine
    }

    /// The part that starts at position `x < N`: `(p, n, next position)`.
    fn part_at(&self, x: u64) -> (u32, u32, u64) {
        let in_use = self.st.levels() - 1;
        let tz = x.trailing_zeros(); // 64 for x = 0: any n fits.
        let j = in_use.max(self.fine.saturating_sub(tz)).min(self.fine);
        let shift = self.fine - j;
        // `base << j <= N < 2^32` (`Geometry`: at most 2^32 − 1 slots).
        ((x >> shift) as u32, (self.base << j) as u32, x + (1 << shift))
    }

    /// Scans whole parts from position `from`, telling `visit` of each
    /// live key (`Seen::Key`; its answer is ignored) and of each part's end
    /// (`Seen::PartEnd`; its answer says whether to go on), for at most
    /// `max_parts` parts or until the scan ends. Returns the position to
    /// resume from: 0 when the scan is over. `Flow::Undo` at a part's end
    /// stops before that part (the caller drops the keys it was told of
    /// since the previous part's end), except in a call's first part, where
    /// it is taken as `Stop` so that every call moves on. `key` and `val`
    /// are scratch buffers, grown to the largest record met (a cursor
    /// copies the value too: see `next`). An error (a slot locked past the
    /// wait limit, `Busy`) means the call took nothing: the caller retries
    /// from `from`.
    pub fn run(
        &self, from: u64, max_parts: u64, key: &mut Vec<u8>, val: &mut Vec<u8>,
        mut visit: impl FnMut(Seen<'_>) -> Flow,
    ) -> maph::Result<u64> {
        let end = self.end();
        let mut x = from;
        let mut parts = 0;
        while x < end && parts < max_parts {
            let (p, n, next) = self.part_at(x);
            let mut c = self.st.cursor_part(p, n)?;
            while let Some(kl) = self.next(&mut c, key, val)? {
                visit(Seen::Key(&key[..kl]));
            }
            match visit(Seen::PartEnd) {
                Flow::Undo if parts > 0 => break,
                Flow::Go => {}
                Flow::Stop | Flow::Undo => {
                    x = next;
                    break;
                }
            }
            x = next;
            parts += 1;
        }
        Ok(if x >= end { 0 } else { x })
    }

    /// The cursor's next live record: its key length (the key is at the
    /// start of `key`), or None at the part's end. The buffers grow to the
    /// record's lengths: `cursor_next` copies key and value together and
    /// copies nothing into buffers too small for either. A damaged slot
    /// (`Corrupt`) is passed over; it holds no key a client could use.
    fn next(
        &self, c: &mut Cursor, key: &mut Vec<u8>, val: &mut Vec<u8>,
    ) -> maph::Result<Option<usize>> {
        loop {
            match self.st.cursor_next(c, key, val) {
                Ok(Step::End) => return Ok(None),
                Ok(Step::Record { key_len, .. }) => return Ok(Some(key_len)),
                Ok(Step::TooSmall { key_len, val_len }) => {
                    if key.len() < key_len {
                        key.resize(key_len, 0);
                    }
                    if val.len() < val_len {
                        val.resize(val_len, 0);
                    }
                }
                Err(Error::Corrupt(_)) => continue,
                Err(e) => return Err(e),
            }
        }
    }
}

/// Parses a SCAN cursor as Redis 7.0 does (`strtoul` in base 10, refusing
/// a leading space or anything after the digits): an optional `+` or `-`
/// then decimal digits within u64, a `-` negating modulo 2^64 (so `-1` is
/// the largest cursor); the empty string is 0.
pub fn parse_cursor(s: &[u8]) -> Option<u64> {
    if s.is_empty() {
        return Some(0);
    }
    let (neg, d) = match s[0] {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    if d.is_empty() || !d.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let v: u64 = std::str::from_utf8(d).ok()?.parse().ok()?;
    Some(if neg { v.wrapping_neg() } else { v })
}

#[cfg(test)]
mod tests {
    use super::*;
    use maph::Options;
    use std::collections::HashMap;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

    /// Every key of a full scan in steps of `max_parts`, with how often
    /// each came back, and the number of calls.
    fn scan_all(st: &Store, max_parts: u64) -> (HashMap<Vec<u8>, u32>, u64) {
        let w = Walk::new(st);
        let (mut key, mut val) = (vec![0u8; 16], vec![0u8; 16]);
        let mut seen: HashMap<Vec<u8>, u32> = HashMap::new();
        let (mut x, mut calls) = (0, 0);
        loop {
            let r = w.run(x, max_parts, &mut key, &mut val, |ev| {
                if let Seen::Key(k) = ev {
                    *seen.entry(k.to_vec()).or_default() += 1;
                }
                Flow::Go
            });
            x = r.expect("scan step");
            calls += 1;
            if x == 0 {
                return (seen, calls);
            }
        }
    }

    fn stable(i: u32) -> Vec<u8> {
        format!("stable-{i}").into_bytes()
    }

    #[test]
    fn a_fixed_store_is_scanned_slot_by_slot_each_key_once() {
        let opts = Options { slots: 1000, heap_bytes: 4 << 20, ..Options::default() };
        let st = Store::create_anonymous(&opts).unwrap();
        // Values in the slot and in the heap: the scratch buffers grow.
        for i in 0..600 {
            st.set(&stable(i), &[7u8; 2000][..(i as usize % 3) * 900]).unwrap();
        }
        let w = Walk::new(&st);
        assert_eq!(w.end(), 1000);
        assert_eq!(w.part_at(0), (0, 1000, 1));
        assert_eq!(w.part_at(999), (999, 1000, 1000));
        let (seen, calls) = scan_all(&st, 7);
        assert_eq!(seen.len(), 600);
        assert!(seen.values().all(|&n| n == 1));
        assert_eq!(calls, 1000_u64.div_ceil(7));
    }

    #[test]
    fn any_cursor_is_a_valid_position_and_past_the_end_ends() {
        let st = Store::create_anonymous(&Options { slots: 64, ..Options::default() }).unwrap();
        st.set(b"k", b"v").unwrap();
        let w = Walk::new(&st);
        let (mut k, mut v) = (Vec::new(), Vec::new());
        let go = |_: Seen<'_>| Flow::Go;
        assert_eq!(w.run(64, 10, &mut k, &mut v, go).ok(), Some(0));
        assert_eq!(w.run(u64::MAX, 10, &mut k, &mut v, go).ok(), Some(0));
        assert_eq!(w.run(60, 1, &mut k, &mut v, go).ok(), Some(61));
        assert_eq!(w.run(60, 10, &mut k, &mut v, |_| Flow::Stop).ok(), Some(61));
        // Undo stops before the part, but never in a call's first part.
        assert_eq!(w.run(60, 10, &mut k, &mut v, |_| Flow::Undo).ok(), Some(61));
        let mut parts = 0;
        let undo_third = |ev: Seen<'_>| match ev {
            Seen::PartEnd if parts == 2 => Flow::Undo,
            Seen::PartEnd => {
                parts += 1;
                Flow::Go
            }
            Seen::Key(_) => Flow::Go,
        };
        assert_eq!(w.run(10, 10, &mut k, &mut v, undo_third).ok(), Some(12));
    }

    #[test]
    fn parts_of_a_growing_store_follow_its_levels_and_tile_every_level() {
        let opts = Options { slots: 0, slot_size: 128, max_bytes: 64 << 20, ..Options::default() };
        let st = Store::create_anonymous(&opts).unwrap();
        let w = Walk::new(&st);
        let (base, fine) = (w.base, w.fine);
        assert!(fine >= 3, "a growing store has several levels");
        // One level in use: n = base, steps of N / base.
        assert_eq!(w.part_at(0), (0, base as u32, 1 << fine));
        // An unaligned position takes the finest parts until aligned.
        assert_eq!(w.part_at(1), (1, (base << fine) as u32, 2));
        assert_eq!(w.part_at(2).1, (base << (fine - 1)) as u32);
        // Grow to 3 levels: n = base · 4.
        let mut i = 0;
        while st.levels() < 3 {
            st.set(format!("g{i}").as_bytes(), b"v").unwrap();
            i += 1;
        }
        assert_eq!(w.part_at(0), (0, (base << 2) as u32, 1 << (fine - 2)));
        // Whatever the steps, every key once.
        for max_parts in [1, 3, 1000] {
            let (seen, _) = scan_all(&st, max_parts);
            assert_eq!(seen.len(), i);
            assert!(seen.values().all(|&n| n == 1));
        }
    }

    /// A growing store for the tests below, holding `n` stable keys.
    fn growing_with_stable(n: u32) -> Store {
        let opts = Options { slots: 0, slot_size: 128, max_bytes: 256 << 20, ..Options::default() };
        let st = Store::create_anonymous(&opts).unwrap();
        for i in 0..n {
            st.set(&stable(i), b"v").unwrap();
        }
        st
    }

    /// Levels added between the steps of a scan, deterministically: every
    /// stable key once, whatever the step size.
    #[test]
    fn stable_keys_come_back_once_when_levels_are_added_between_steps() {
        let n = 3000;
        for max_parts in [1, 5, 40] {
            let st = growing_with_stable(n);
            let w = Walk::new(&st);
            let (mut key, mut val) = (Vec::new(), Vec::new());
            let (levels, mut seen) = (st.levels(), HashMap::<Vec<u8>, u32>::new());
            let (mut x, mut j) = (0, 0u64);
            loop {
                x = w
                    .run(x, max_parts, &mut key, &mut val, |ev| {
                        if let Seen::Key(k) = ev {
                            *seen.entry(k.to_vec()).or_default() += 1;
                        }
                        Flow::Go
                    })
                    .expect("scan step");
                if x == 0 {
                    break;
                }
                // 20 keys a part, at most 30,000: enough for more levels,
                // and few enough that the scan (whose parts grow finer with
                // each level) ends.
                for _ in 0..20 * max_parts {
                    if j >= 30_000 {
                        break;
                    }
                    let k = format!("churn-{j}").into_bytes();
                    st.set(&k, b"x").unwrap();
                    if j.is_multiple_of(3) {
                        st.del(&k).unwrap();
                    }
                    j += 1;
                }
            }
            assert!(st.levels() > levels + 1, "steps of {max_parts}: the store did not grow");
            for i in 0..n {
                assert_eq!(seen.get(&stable(i)), Some(&1), "stable key {i}, steps of {max_parts}");
            }
        }
    }

    /// The promise of the module docs with writers in other threads: stable
    /// keys exactly once while they insert and delete, and the store grows
    /// under the scans (scans repeat until one saw a level added).
    #[test]
    fn stable_keys_come_back_once_while_writer_threads_grow_the_store() {
        let n = 3000;
        let st = growing_with_stable(n);
        let (stop, done) = (AtomicBool::new(false), AtomicUsize::new(0));
        std::thread::scope(|s| {
            for t in 0..2u64 {
                let (st, stop, done) = (&st, &stop, &done);
                s.spawn(move || {
                    let mut j = 0u64;
                    while !stop.load(Ordering::Relaxed) && j < 200_000 {
                        let k = format!("churn-{t}-{j}").into_bytes();
                        st.set(&k, b"x").unwrap();
                        if j.is_multiple_of(3) {
                            let _ = st.del(&k);
                        }
                        j += 1;
                    }
                    done.fetch_add(1, Ordering::Relaxed);
                });
            }
            let (mut scans, mut grew_under_a_scan) = (0, false);
            while !(grew_under_a_scan && scans >= 3) && done.load(Ordering::Relaxed) < 2 {
                let max_parts = [1, 5, 40][scans % 3];
                let at_start = st.levels();
                let (seen, _) = scan_all(&st, max_parts);
                grew_under_a_scan |= st.levels() > at_start;
                for i in 0..n {
                    let got = seen.get(&stable(i));
                    assert_eq!(got, Some(&1), "stable key {i}, steps of {max_parts}");
                }
                scans += 1;
            }
            stop.store(true, Ordering::Relaxed);
            assert!(grew_under_a_scan, "no level was added while a scan ran");
        });
    }

    #[test]
    fn cursors_parse_as_redis_parses_them() {
        assert_eq!(parse_cursor(b"0"), Some(0));
        assert_eq!(parse_cursor(b""), Some(0));
        assert_eq!(parse_cursor(b"+12"), Some(12));
        assert_eq!(parse_cursor(b"007"), Some(7));
        assert_eq!(parse_cursor(b"-1"), Some(u64::MAX));
        assert_eq!(parse_cursor(b"18446744073709551615"), Some(u64::MAX));
        for bad in
            [&b"x"[..], b" 1", b"1 ", b"1.5", b"0x10", b"18446744073709551616", b"+", b"-", b"+-1"]
        {
            assert_eq!(parse_cursor(bad), None, "{bad:?}");
        }
    }
}
