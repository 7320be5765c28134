//! Thin, checked wrappers over the operating system calls the store, the
//! queue sets and the log share.

pub mod futex;
pub mod pid;
pub mod shm;
pub mod space;
