//! The futex: sleeping on a 32-bit word in shared memory until another
//! thread or process changes it and wakes the sleepers. Queue sets (a
//! queue's wait word) and logs (the space-wait word) both sleep here.
//!
//! Always a shared futex (no `FUTEX_PRIVATE_FLAG`): processes that map the
//! same object meet on it, whatever address each maps it at. Man page
//! futex(2); U. Drepper, "Futexes are tricky" (2011).

use std::sync::atomic::AtomicU32;
use std::time::Duration;

/// Sleeps while `*word == expected`, at most `timeout` (None: no limit).
/// Returns early on a wake, a signal, or when the word already differs;
/// the caller rechecks its condition in every case (no result is given,
/// because each of those is a reason to look again). Thread- and
/// process-safe.
pub fn futex_wait(word: &AtomicU32, expected: u32, timeout: Option<Duration>) {
    let ts = timeout.map(|d| libc::timespec {
        tv_sec: d.as_secs().min(i64::MAX as u64) as libc::time_t,
        tv_nsec: d.subsec_nanos() as libc::c_long,
    });
    let tsp = ts.as_ref().map_or(std::ptr::null(), |t| t as *const libc::timespec);
    // SAFETY: `word` is a live, 4-aligned u32 (an atomic) for the duration
    // of the call; FUTEX_WAIT only reads it; `tsp` is NULL or points to a
    // timespec on this stack frame.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            libc::FUTEX_WAIT,
            expected,
            tsp,
            std::ptr::null::<u32>(),
            0u32,
        );
    }
}

/// Wakes every thread and process sleeping in [`futex_wait`] on `word`.
/// Thread- and process-safe; one system call.
pub fn futex_wake(word: &AtomicU32) {
    // SAFETY: `word` is a live, 4-aligned u32; FUTEX_WAKE does not access it
    // beyond using its address as the key.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            libc::FUTEX_WAKE,
            i32::MAX,
            std::ptr::null::<libc::timespec>(),
            std::ptr::null::<u32>(),
            0u32,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::Ordering;
    use std::sync::Arc;
    use std::time::Instant;

    #[test]
    fn wait_returns_at_once_when_the_word_already_differs() {
        let w = AtomicU32::new(1);
        let t = Instant::now();
        futex_wait(&w, 0, Some(Duration::from_secs(5)));
        assert!(t.elapsed() < Duration::from_secs(2), "slept although the word differed");
    }

    #[test]
    fn wake_ends_a_wait_before_its_timeout() {
        let w = Arc::new(AtomicU32::new(0));
        let w2 = Arc::clone(&w);
        let sleeper = std::thread::spawn(move || {
            let t = Instant::now();
            while w2.load(Ordering::Acquire) == 0 {
                futex_wait(&w2, 0, Some(Duration::from_secs(10)));
            }
            t.elapsed()
        });
        std::thread::sleep(Duration::from_millis(50));
        w.store(1, Ordering::Release);
        futex_wake(&w);
        let slept = sleeper.join().unwrap();
        assert!(slept < Duration::from_secs(5), "the wake did not end the wait ({slept:?})");
    }
}
