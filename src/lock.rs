//! The same-key lock table: writers of one key serialize here.
//!
//! A key's lock entry is chosen from its hash, so two writers of the same key
//! always meet on the same entry, and writers of different keys almost always
//! proceed in parallel. Readers never touch this table.
//!
//! Each 16-byte entry holds the owner's pid (0 when free), the state of the
//! slot being written before the write (u32), and an *intent* word: the slot
//! index (high 32 bits) and the odd seqlock version the owner takes it to
//! (low 32 bits). The intent is recorded *before* the owner takes the slot,
//! so no instruction leaves a taken slot without a record. A waiter that
//! finds the owner dead (`kill(pid, 0)` answers `ESRCH`) takes the entry
//! over and hands the intent to the store, which repairs the slot if the
//! dead owner did take it. A pid recycled by the kernel for a new
//! process between the death and the check delays the takeover until that
//! process exits or the wait limit ends in `Busy`.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Once;
use std::time::Duration;

use crate::error::Error;
use crate::raw::Region;
use crate::wait::Backoff;

/// How long a waiter waits between checks that the owner is alive.
const LIVENESS_PERIOD: Duration = Duration::from_millis(1);

/// A held lock entry; released on drop.
pub struct Guard<'a> {
    region: &'a Region,
    entry: usize,
}

impl Guard<'_> {
    /// Records what the holder is about to do: take slot `idx` from the
    /// even seqlock word `word` (whose state is `prev_state`) to `word + 1`.
    /// Call before `seqlock::try_lock`.
    pub fn set_intent(&self, idx: u64, word: u64, prev_state: u32) {
        self.region
            .lock_aux(self.entry)
            .store(prev_state, Ordering::Relaxed);
        self.region.lock_intent(self.entry).store(
            encode_intent(idx, crate::seqlock::version_of(word + 1)),
            Ordering::SeqCst,
        );
    }

    /// The lock-table entry held.
    pub fn entry(&self) -> usize {
        self.entry
    }

    /// Clears the intent: the write is complete.
    pub fn clear_intent(&self) {
        self.region
            .lock_intent(self.entry)
            .store(0, Ordering::Release);
    }
}

impl Drop for Guard<'_> {
    fn drop(&mut self) {
        self.clear_intent();
        self.region
            .lock_owner(self.entry)
            .store(0, Ordering::Release);
    }
}

/// What a dead owner left behind: the slot it meant to write, the odd
/// version it meant to take it to, and the slot's state before.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Intent {
    pub slot: u64,
    pub locked_version: u32,
    pub prev_state: u32,
}

fn encode_intent(idx: u64, locked_version: u32) -> u64 {
    (idx << 32) | u64::from(locked_version)
}

/// Decodes an intent word; 0 (and any even version) means none.
pub fn decode_intent(w: u64, prev_state: u32) -> Option<Intent> {
    let v = w as u32;
    (v & 1 == 1).then_some(Intent {
        slot: w >> 32,
        locked_version: v,
        prev_state,
    })
}

/// Whether a live owner other than entry `except` has recorded the same
/// intent: then the slot is that owner's, not the dead one's.
pub fn intent_claimed_elsewhere(region: &Region, except: usize, intent: &Intent) -> bool {
    let want = encode_intent(intent.slot, intent.locked_version);
    (0..region.geom().lock_count as usize).any(|e| {
        e != except
            && region.lock_intent(e).load(Ordering::SeqCst) == want
            && process_alive(region.lock_owner(e).load(Ordering::Relaxed))
    })
}

/// Takes lock entry `entry`. Returns the guard and, when the entry was taken
/// over from a dead owner, that owner's unfinished intent, which the caller
/// must repair before writing. Errors with `Busy` after the wait limit.
pub fn acquire(region: &Region, entry: usize) -> Result<(Guard<'_>, Option<Intent>), Error> {
    let me = current_pid();
    let owner = region.lock_owner(entry);
    let mut backoff = Backoff::new();
    let mut next_check = LIVENESS_PERIOD;
    loop {
        match owner.compare_exchange_weak(0, me, Ordering::Acquire, Ordering::Relaxed) {
            Ok(_) => return Ok((Guard { region, entry }, None)),
            Err(0) => continue,
            Err(holder) => {
                if backoff.waited() >= next_check {
                    next_check += LIVENESS_PERIOD;
                    if !process_alive(holder)
                        && owner
                            .compare_exchange(holder, me, Ordering::Acquire, Ordering::Relaxed)
                            .is_ok()
                    {
                        let left = decode_intent(
                            region.lock_intent(entry).load(Ordering::Acquire),
                            region.lock_aux(entry).load(Ordering::Relaxed),
                        );
                        return Ok((Guard { region, entry }, left));
                    }
                }
                backoff.snooze()?;
            }
        }
    }
}

/// Whether process `pid` exists (it may belong to another user: `EPERM`).
pub fn process_alive(pid: u32) -> bool {
    let Ok(p) = libc::pid_t::try_from(pid) else {
        return false;
    };
    // SAFETY: kill with signal 0 sends nothing; it only checks the pid.
    let r = unsafe { libc::kill(p, 0) };
    r == 0 || std::io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
}

static PID: AtomicU32 = AtomicU32::new(0);
static ATFORK: Once = Once::new();

extern "C" fn forget_pid_in_child() {
    PID.store(0, Ordering::Relaxed);
}

/// This process's pid, cached (glibc no longer caches `getpid`); a fork
/// handler clears the cache in the child.
pub fn current_pid() -> u32 {
    let p = PID.load(Ordering::Relaxed);
    if p != 0 {
        return p;
    }
    ATFORK.call_once(|| {
        // SAFETY: registers a handler that only stores to an atomic, which is
        // async-signal-safe as a fork child handler must be.
        unsafe { libc::pthread_atfork(None, None, Some(forget_pid_in_child)) };
    });
    // SAFETY: getpid has no preconditions.
    let p = unsafe { libc::getpid() } as u32;
    PID.store(p, Ordering::Relaxed);
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intent_round_trips_and_zero_means_none() {
        assert_eq!(decode_intent(0, 0), None);
        let w = encode_intent(0, 1);
        assert_eq!(
            decode_intent(w, 2),
            Some(Intent {
                slot: 0,
                locked_version: 1,
                prev_state: 2
            })
        );
        let w = encode_intent(u32::MAX as u64 - 1, u32::MAX);
        assert_eq!(
            decode_intent(w, 1),
            Some(Intent {
                slot: u32::MAX as u64 - 1,
                locked_version: u32::MAX,
                prev_state: 1
            })
        );
    }

    #[test]
    fn liveness_check_tells_live_from_dead() {
        assert!(process_alive(current_pid()));
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        assert!(!process_alive(pid), "reaped child {pid} still reads alive");
    }
}
