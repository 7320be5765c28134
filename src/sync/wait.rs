//! Bounded waiting: spin, then yield, then give up with `Error::Busy`.
//!
//! A reader or writer that finds a slot or lock taken waits here. The first
//! waits are `spin_loop` hints (no system call); a wait that lasts past
//! `SPIN_LIMIT` rounds yields the CPU (`sched_yield`), which a 2-core machine
//! needs when the holder was preempted; a wait past `WAIT_LIMIT` ends in
//! `Busy` so that no caller can wait forever.

use std::time::{Duration, Instant};

use crate::error::Error;

/// Spin rounds before the first yield.
const SPIN_LIMIT: u32 = 128;
/// Longest wait before `Busy`.
pub const WAIT_LIMIT: Duration = Duration::from_secs(2);

/// The state of one wait.
pub struct Backoff {
    rounds: u32,
    start: Option<Instant>,
    next_due: Duration,
}

impl Backoff {
    /// A wait that has not waited yet.
    pub fn new() -> Backoff {
        Backoff { rounds: 0, start: None, next_due: Duration::ZERO }
    }

    /// Waits a little. Errors with `Busy` once the wait has lasted
    /// `WAIT_LIMIT`.
    #[inline]
    pub fn snooze(&mut self) -> Result<(), Error> {
        self.rounds += 1;
        if self.rounds <= SPIN_LIMIT {
            for _ in 0..self.rounds.min(32) {
                std::hint::spin_loop();
            }
            return Ok(());
        }
        let start = *self.start.get_or_insert_with(Instant::now);
        if start.elapsed() > WAIT_LIMIT {
            return Err(Error::Busy);
        }
        std::thread::yield_now();
        Ok(())
    }

    /// True once every `period` of waiting (past the spinning phase): time
    /// for a rare, costly check such as whether the holder is alive.
    pub fn due(&mut self, period: Duration) -> bool {
        let w = self.waited();
        if w > Duration::ZERO && w >= self.next_due {
            self.next_due = w + period;
            return true;
        }
        false
    }

    /// How long this wait has lasted past the spinning phase.
    pub fn waited(&self) -> Duration {
        self.start.map_or(Duration::ZERO, |s| s.elapsed())
    }
}

impl Default for Backoff {
    fn default() -> Self {
        Self::new()
    }
}
