//! The slot seqlock protocol: one `AtomicU64` word per slot.
//!
//! Word layout: low 32 bits the *version*; while it is even, the high 32 bits
//! are the *tag* the last writer published (this module treats it as opaque;
//! the store puts the slot's UID generation and the key's tag byte there,
//! `format::word_high`). An odd version means a writer is inside the slot;
//! while it is, the high 32 bits hold the writer's *owner id* (its lock-table
//! entry) instead of the tag, so that anyone who finds the slot taken for
//! long can find the writer and check that it is alive. The word of a slot
//! that was never written is 0; versions skip 0 when they wrap, so a word
//! returns to 0 never.
//!
//! The orderings are those of crossbeam's reference seqlock
//! (`crossbeam-utils/src/atomic/seq_lock.rs`):
//! - reader: `Acquire` load of the word; read the data; `Acquire` fence;
//!   `Relaxed` re-load; the read is valid when the two loads are equal and even.
//! - writer: take the word from even `v` to `v + 1` with an `Acquire` CAS,
//!   then a `Release` fence so that the odd word is visible before any data
//!   write; write; publish the next even version with a `Release` store.
//!
//! The data between the loads is read with racy plain reads that are thrown
//! away unless the word is unchanged (the argument crossbeam makes for
//! `AtomicCell`); see `raw.rs`. This module is compiled under loom as well
//! (`RUSTFLAGS="--cfg loom" cargo test --test loom`), which model-checks the
//! protocol in `tests/loom.rs`.

#[cfg(loom)]
use loom::sync::atomic::{fence, AtomicU64, Ordering};
#[cfg(not(loom))]
use std::sync::atomic::{fence, AtomicU64, Ordering};

/// The tag (high 32 bits) of an unlocked seqlock word.
#[inline]
pub fn tag_of(word: u64) -> u32 {
    (word >> 32) as u32
}

/// The version (low 32 bits) of a seqlock word.
#[inline]
pub fn version_of(word: u64) -> u32 {
    word as u32
}

/// Whether a writer is inside the slot (odd version).
#[inline]
pub fn is_locked(word: u64) -> bool {
    word & 1 == 1
}

/// Starts a read: the word to validate against. The caller retries while the
/// word is odd.
#[inline]
pub fn read_begin(word: &AtomicU64) -> u64 {
    word.load(Ordering::Acquire)
}

/// Ends a read started with `read_begin`: true when no writer entered the
/// slot since, so everything read in between is one consistent snapshot.
#[inline]
pub fn read_validate(word: &AtomicU64, begin: u64) -> bool {
    fence(Ordering::Acquire);
    word.load(Ordering::Relaxed) == begin
}

/// The owner id in a locked word.
#[inline]
pub fn owner_of(word: u64) -> u32 {
    (word >> 32) as u32
}

/// The word a writer with owner id `owner` takes the even word `current` to.
#[inline]
pub fn locked_word(current: u64, owner: u32) -> u64 {
    (u64::from(owner) << 32) | u64::from(version_of(current) + 1)
}

/// Tries to enter the slot as its writer `owner`, from the even word
/// `current` observed by the caller. Returns the locked (odd) word on
/// success; fails when the word changed since it was observed, or is odd.
#[inline]
pub fn try_lock(word: &AtomicU64, current: u64, owner: u32) -> Option<u64> {
    if is_locked(current) {
        return None;
    }
    // An even version is < u32::MAX, so `+ 1` stays in the low half.
    let locked = locked_word(current, owner);
    match word.compare_exchange(current, locked, Ordering::Acquire, Ordering::Relaxed) {
        Ok(_) => {
            fence(Ordering::Release);
            Some(locked)
        }
        Err(_) => None,
    }
}

/// Leaves a slot entered with `try_lock`, publishing `tag` and the next even
/// version. Returns the published word.
#[inline]
pub fn unlock(word: &AtomicU64, locked: u64, tag: u32) -> u64 {
    let next = next_version(version_of(locked));
    let w = (u64::from(tag) << 32) | u64::from(next);
    word.store(w, Ordering::Release);
    w
}

/// The even version after the odd version `odd`, skipping 0.
#[inline]
pub fn next_version(odd: u32) -> u32 {
    match odd.wrapping_add(1) {
        0 => 2,
        v => v,
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn version_wrap_never_returns_to_zero() {
        // A word of 0 means "never written": a wrapped version must skip it,
        // or a live slot would read as empty and end a probe early.
        assert_eq!(next_version(u32::MAX), 2);
        assert_eq!(next_version(1), 2);
        let w = AtomicU64::new(u64::from(u32::MAX) - 1);
        let locked = try_lock(&w, u64::from(u32::MAX) - 1, 9).unwrap();
        assert_eq!(unlock(&w, locked, 0), 2);
    }

    #[test]
    fn lock_fails_on_a_stale_or_odd_word() {
        let w = AtomicU64::new(4);
        assert!(try_lock(&w, 2, 1).is_none(), "stale observation");
        assert!(try_lock(&w, 5, 1).is_none(), "odd observation");
        let locked = try_lock(&w, 4, 77).unwrap();
        assert!(is_locked(w.load(Ordering::Relaxed)));
        assert_eq!(owner_of(locked), 77, "the locked word names its writer");
        assert!(try_lock(&w, 4, 2).is_none(), "second writer");
        let pubw = unlock(&w, locked, 7);
        assert_eq!(tag_of(pubw), 7);
        assert_eq!(version_of(pubw), 6);
    }

    #[test]
    fn validate_detects_a_write_in_between() {
        let w = AtomicU64::new(2);
        let b = read_begin(&w);
        let l = try_lock(&w, b, 0).unwrap();
        unlock(&w, l, 0);
        assert!(!read_validate(&w, b));
        let b = read_begin(&w);
        assert!(read_validate(&w, b));
    }
}
