//! Synchronization over shared memory: the slot seqlock, bounded waiting,
//! and the one robust (pid-owned, taken over from the dead) lock.

#[cfg(not(loom))]
pub mod robust_lock;
pub mod seqlock;
#[cfg(not(loom))]
pub mod wait;
