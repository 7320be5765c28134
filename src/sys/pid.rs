//! Process identity and liveness: this process's pid (cached, reset in a
//! forked child) and whether another pid still runs code. Every robust lock
//! and the queue sets' reclaim decide "is the holder dead?" here.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Once;

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
    use std::time::Duration;

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
        let mut child = std::process::Command::new("sleep").arg("10").spawn().unwrap();
        let pid = child.id();
        assert!(process_alive(pid));
        child.kill().unwrap();
        let t = std::time::Instant::now();
        while process_alive(pid) {
            assert!(t.elapsed() < Duration::from_secs(5), "killed child still reads alive");
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
            // SAFETY: _exit is async-signal-safe and never returns.
            unsafe { libc::_exit(if ok { 0 } else { 1 }) };
        }
        let mut st = 0;
        // SAFETY: waits for the child above.
        unsafe { libc::waitpid(pid, &mut st, 0) };
        assert!(
            libc::WIFEXITED(st) && libc::WEXITSTATUS(st) == 0,
            "child used the parent's cached pid, or died (wait status {st:#x})"
        );
    }
}
