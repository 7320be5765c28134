//! Thin, checked wrappers over the operating system calls the store and the
//! queue sets share.

pub mod pid;
pub mod shm;
pub mod space;
