//! The same-key lock table: writers of one key serialize here.
//!
//! A key's lock entry is chosen from its hash, so two writers of the same key
//! always meet on the same entry, and writers of different keys almost always
//! proceed in parallel. Readers never take an entry.
//!
//! An entry's owner word is a [`crate::sync::robust_lock`]: it holds the
//! owner's pid (0 when free) and, while the owner writes a slot, the entry
//! holds a redo record (see `write.rs`). A waiter that finds the owner dead
//! takes the entry over and must repair the owner's unfinished write
//! (`recovery.rs`) before doing its own. A pid recycled by the kernel for a
//! new process between the death and the check delays the takeover until
//! that process exits or the wait ends in `Busy`.

use crate::error::Error;
use crate::store::format::LOCK_OFF_OWNER;
use crate::store::raw::Region;
use crate::sync::robust_lock::{self, RobustGuard};

/// A held lock entry; released on drop (also while a panic unwinds).
pub struct Guard<'a> {
    _lock: RobustGuard<'a>,
    entry: usize,
}

impl Guard<'_> {
    /// The lock-table entry held.
    pub fn entry(&self) -> usize {
        self.entry
    }
}

/// Takes lock entry `entry`, waiting (bounded) while a live process holds
/// it. Returns the guard and whether the entry was taken over from a dead
/// owner (then the caller must repair before writing). Errors with `Busy`
/// after the wait limit.
pub fn acquire(region: &Region, entry: usize) -> Result<(Guard<'_>, bool), Error> {
    let (lock, taken_over) = robust_lock::lock(region.lock_u32(entry, LOCK_OFF_OWNER))?;
    Ok((Guard { _lock: lock, entry }, taken_over))
}

/// Takes lock entry `entry` if it is free, or — when `check_owner` — if its
/// owner is dead. Never waits.
pub fn try_acquire(region: &Region, entry: usize, check_owner: bool) -> Option<(Guard<'_>, bool)> {
    robust_lock::try_lock_or_take_over(region.lock_u32(entry, LOCK_OFF_OWNER), check_owner)
        .map(|(lock, taken_over)| (Guard { _lock: lock, entry }, taken_over))
}
