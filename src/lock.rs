//! The same-key lock table: writers of one key serialize here.
//!
//! A key's lock entry is chosen from its hash, so two writers of the same key
//! always meet on the same entry, and writers of different keys almost always
//! proceed in parallel. Readers never take an entry.
//!
//! An entry holds its owner's pid (0 when free) and, while the owner writes a
//! slot, a redo record (see `write.rs`). A waiter that finds the owner dead
//! (`kill(pid, 0)` answers `ESRCH`) takes the entry over and must repair the
//! owner's unfinished write before doing its own. A pid recycled by the
//! kernel for a new process between the death and the check delays the
//! takeover until that process exits or the wait ends in `Busy`.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Once;
use std::time::Duration;

use crate::error::Error;
use crate::format::LOCK_OFF_OWNER;
use crate::raw::Region;
use crate::wait::Backoff;

/// How long a waiter waits between checks that the owner is alive.
pub const LIVENESS_PERIOD: Duration = Duration::from_millis(1);

/// A held lock entry; released on drop.
pub struct Guard<'a> {
    region: &'a Region,
    entry: usize,
}

impl Guard<'_> {
    /// The lock-table entry held.
    pub fn entry(&self) -> usize {
        self.entry
    }
}

impl Drop for Guard<'_> {
    fn drop(&mut self) {
        self.region
            .lock_u32(self.entry, LOCK_OFF_OWNER)
            .store(0, Ordering::Release);
    }
}

/// Takes lock entry `entry`, waiting (bounded) while a live process holds
/// it. Returns the guard and whether the entry was taken over from a dead
/// owner (then the caller must repair before writing). Errors with `Busy`
/// after the wait limit.
pub fn acquire(region: &Region, entry: usize) -> Result<(Guard<'_>, bool), Error> {
    let mut backoff = Backoff::new();
    let mut next_check = LIVENESS_PERIOD;
    loop {
        if let Some(got) = try_acquire(region, entry, backoff.waited() >= next_check) {
            return Ok(got);
        }
        if backoff.waited() >= next_check {
            next_check += LIVENESS_PERIOD;
        }
        backoff.snooze()?;
    }
}

/// Takes lock entry `entry` if it is free, or — when `check_owner` — if its
/// owner is dead. Never waits.
pub fn try_acquire(region: &Region, entry: usize, check_owner: bool) -> Option<(Guard<'_>, bool)> {
    let me = current_pid();
    let owner = region.lock_u32(entry, LOCK_OFF_OWNER);
    match owner.compare_exchange(0, me, Ordering::Acquire, Ordering::Relaxed) {
        Ok(_) => Some((Guard { region, entry }, false)),
        Err(holder) if check_owner && !process_alive(holder) => owner
            .compare_exchange(holder, me, Ordering::Acquire, Ordering::Relaxed)
            .ok()
            .map(|_| (Guard { region, entry }, true)),
        Err(_) => None,
    }
}

/// Whether process `pid` can still run code: it exists (`kill(pid, 0)`
/// does not answer `ESRCH`; it may belong to another user: `EPERM`) and is
/// not a zombie (killed, not yet reaped by its parent: `/proc/<pid>/stat`
/// state `Z` or `X`). Death is final: once this answers false for a pid it
/// does so until the pid is reused. Only called on slow paths (a lock or
/// slot held for a millisecond or more).
pub fn process_alive(pid: u32) -> bool {
    let Ok(p) = libc::pid_t::try_from(pid) else {
        return false;
    };
    if p <= 0 || !kill_zero_finds(p) {
        return false;
    }
    match std::fs::read(format!("/proc/{p}/stat")) {
        // "pid (comm) S ...": the state follows the last ')'.
        Ok(stat) => match stat.iter().rposition(|&b| b == b')') {
            Some(close) => !matches!(stat.get(close + 2), Some(b'Z') | Some(b'X')),
            None => true,
        },
        // Reaped between the two checks (or no /proc): ask again.
        Err(_) => kill_zero_finds(p),
    }
}

/// Whether `kill(p, 0)` finds process `p` (any answer but `ESRCH`).
fn kill_zero_finds(p: libc::pid_t) -> bool {
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
    fn liveness_check_tells_live_from_dead() {
        assert!(process_alive(current_pid()));
        assert!(!process_alive(0), "pid 0 names no single process");
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        assert!(!process_alive(pid), "reaped child {pid} still reads alive");
    }

    #[test]
    fn a_zombie_reads_as_dead_before_and_after_it_is_reaped() {
        // A killed child that its parent has not reaped yet runs no more
        // code: a lock it holds must be taken over without waiting for the
        // parent to reap it.
        let mut child = std::process::Command::new("sleep")
            .arg("10")
            .spawn()
            .unwrap();
        let pid = child.id();
        assert!(process_alive(pid));
        child.kill().unwrap();
        let t = std::time::Instant::now();
        while process_alive(pid) {
            assert!(
                t.elapsed() < Duration::from_secs(5),
                "killed child still reads alive"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
        child.wait().unwrap();
        assert!(!process_alive(pid), "reaped child reads alive again");
    }

    #[test]
    fn forked_child_sees_its_own_pid() {
        let parent = current_pid();
        // SAFETY: the child only computes and exits.
        let pid = unsafe { libc::fork() };
        if pid == 0 {
            // SAFETY: getpid and _exit are async-signal-safe.
            let ok = current_pid() == unsafe { libc::getpid() } as u32 && current_pid() != parent;
            unsafe { libc::_exit(if ok { 0 } else { 1 }) };
        }
        let mut st = 0;
        // SAFETY: waits for the child above.
        unsafe { libc::waitpid(pid, &mut st, 0) };
        assert_eq!(
            libc::WEXITSTATUS(st),
            0,
            "child used the parent's cached pid"
        );
    }
}
