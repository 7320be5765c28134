//! maph: a memory-mapped key-value store with a C ABI.
//!
//! A store is a file (or shared-memory object) mapped into memory: a
//! validated header, a lock table, then an array of fixed-size slots. Each
//! slot holds one key, its value and a seqlock word. Readers take no lock;
//! writers of one key serialize on a lock-table entry; many threads and many
//! processes may share a store. Read `docs/DESIGN.md` first, and
//! `docs/FORMAT.md` for the bytes.
//!
//! The parts, one folder each, from the bottom up:
//! - [`sys`]: system calls the store, the queues and the log share: pids
//!   and liveness, `/dev/shm` and memfds, reserving space
//!   (`posix_fallocate`), the futex.
//! - [`sync`]: the slot seqlock (also compiled under loom), bounded waiting,
//!   the one robust pid-owned lock.
//! - [`hash`]: XXH3 of one key, or of a group (AVX2).
//! - [`store`]: the store — format, the unsafe core (`raw`), lock table,
//!   reads, writes, recovery, MPHF, UIDs, batches, shared tables.
//! - [`queue`]: the IPC queue sets (`docs/QUEUE.md`).
//! - [`log`]: multiplexed logging over a shared-memory ring (`docs/LOG.md`).
//! - [`ffi`]: the C ABI (`include/maph.h`) through one boundary.

#[cfg(target_endian = "big")]
compile_error!("maph stores are little-endian; big-endian targets are not supported");

pub mod sync;

#[cfg(not(loom))]
pub mod error;
#[cfg(not(loom))]
pub mod ffi;
#[cfg(not(loom))]
pub mod hash;
#[cfg(not(loom))]
pub mod log;
#[cfg(not(loom))]
pub mod queue;
#[cfg(not(loom))]
pub mod store;
#[cfg(not(loom))]
pub mod sys;

#[cfg(not(loom))]
pub use error::{Error, Result};
#[cfg(not(loom))]
pub use store::mphf::OptimizeReport;
#[cfg(not(loom))]
pub use store::{OpenMode, Options, Stats, Store, ValueRef};
