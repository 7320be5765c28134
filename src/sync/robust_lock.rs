//! The one robust lock: a 32-bit word in shared memory that holds its
//! owner's pid (0 when free), taken over when the owner dies.
//!
//! Used by the store's same-key lock table, `optimize()`'s lock, and the
//! queue sets' side and admin locks. Taking it is one compare-and-swap of
//! the word from 0 to the caller's pid (`Acquire`); releasing it stores 0
//! (`Release`) when the [`RobustGuard`] drops — also while a panic unwinds,
//! so a panic inside a critical section never leaves the lock held by a
//! live process. A waiter spins and yields ([`Backoff`]) and, every
//! [`LIVENESS_PERIOD`] of waiting (not on every spin), asks whether the
//! holder still runs ([`process_alive`]); a dead holder's word is swapped
//! for the waiter's pid, and the waiter is told so, because whatever the
//! dead holder left half done (a redo record, a queue batch) is the new
//! owner's to repair. Every wait ends in `Error::Busy` after
//! [`crate::sync::wait::WAIT_LIMIT`].
//!
//! The same design as a robust pthread mutex (`PTHREAD_MUTEX_ROBUST`,
//! `EOWNERDEAD`), done by pid in the mapped word itself so that it works in
//! any shared mapping without kernel robust-list registration; LMDB's
//! reader table checks stale pids the same way (`mdb_reader_check`).

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use crate::error::Result;
use crate::sync::wait::Backoff;
use crate::sys::pid::{current_pid, process_alive};

/// How long a waiter waits between checks that the holder is alive.
pub const LIVENESS_PERIOD: Duration = Duration::from_millis(1);

/// A held robust lock; stores 0 into its word (`Release`) on drop.
#[must_use = "the lock is released when the guard drops"]
pub struct RobustGuard<'a> {
    word: &'a AtomicU32,
}

impl Drop for RobustGuard<'_> {
    fn drop(&mut self) {
        self.word.store(0, Ordering::Release);
    }
}

/// How a lock was taken.
pub struct Locked<'a, T> {
    /// The held lock.
    pub guard: RobustGuard<'a>,
    /// `Some` when it was taken over from a dead holder: what the caller's
    /// `before_takeover` returned (for example another lock it must hold
    /// while it repairs). `None` when the lock was free.
    pub taken_over: Option<T>,
}

/// Takes the lock in `word` if it is free. Never waits.
#[inline]
pub fn try_lock(word: &AtomicU32) -> Option<RobustGuard<'_>> {
    word.compare_exchange(0, current_pid(), Ordering::Acquire, Ordering::Relaxed)
        .ok()
        .map(|_| RobustGuard { word })
}

/// Takes the lock in `word` if it is free or, when `check_holder`, if its
/// holder is dead (then the second value is true). Never waits.
pub fn try_lock_or_take_over(
    word: &AtomicU32, check_holder: bool,
) -> Option<(RobustGuard<'_>, bool)> {
    let me = current_pid();
    match word.compare_exchange(0, me, Ordering::Acquire, Ordering::Relaxed) {
        Ok(_) => Some((RobustGuard { word }, false)),
        Err(holder) if check_holder && !process_alive(holder) => word
            .compare_exchange(holder, me, Ordering::Acquire, Ordering::Relaxed)
            .ok()
            .map(|_| (RobustGuard { word }, true)),
        Err(_) => None,
    }
}

/// Takes the lock in `word`, waiting (bounded) while a live process holds
/// it, and taking it over from a dead one. Returns the guard and whether it
/// was taken over. Errors: `Busy` after the wait limit.
#[inline]
pub fn lock(word: &AtomicU32) -> Result<(RobustGuard<'_>, bool)> {
    if let Some(g) = try_lock(word) {
        return Ok((g, false));
    }
    let l = lock_with(word, |_| Ok(()))?;
    Ok((l.guard, l.taken_over.is_some()))
}

/// As [`lock`], but before taking the lock over from dead holder `pid`
/// calls `before_takeover(pid)`, whose result is handed back in
/// `Locked::taken_over` (so the caller can, for example, hold another lock
/// across the takeover and the repair that follows). An error from
/// `before_takeover` ends the wait with that error.
pub fn lock_with<T>(
    word: &AtomicU32, mut before_takeover: impl FnMut(u32) -> Result<T>,
) -> Result<Locked<'_, T>> {
    let me = current_pid();
    let mut backoff = Backoff::new();
    let mut next_check = LIVENESS_PERIOD;
    loop {
        let holder = word.load(Ordering::Relaxed);
        if holder == 0 {
            if word.compare_exchange_weak(0, me, Ordering::Acquire, Ordering::Relaxed).is_ok() {
                return Ok(Locked { guard: RobustGuard { word }, taken_over: None });
            }
            continue;
        }
        if backoff.waited() >= next_check {
            next_check += LIVENESS_PERIOD;
            if holder != me && !process_alive(holder) {
                let t = before_takeover(holder)?;
                if word.compare_exchange(holder, me, Ordering::Acquire, Ordering::Relaxed).is_ok() {
                    return Ok(Locked { guard: RobustGuard { word }, taken_over: Some(t) });
                }
            }
        }
        backoff.snooze()?;
    }
}
