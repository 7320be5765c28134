//! maph: a memory-mapped key-value store with a C ABI.
//!
//! A store is a file (or shared-memory object) mapped into memory: a
//! validated header, a lock table, then an array of fixed-size slots. Each
//! slot holds one key, its value and a seqlock word. Readers take no lock;
//! writers of one key serialize on a lock-table entry; many threads and many
//! processes may share a store. Read `docs/DESIGN.md` first, and
//! `docs/FORMAT.md` for the bytes.
//!
//! Modules, from the bottom up:
//! - [`format`](mod@format): header fields, offsets, validation (safe, no mapping).
//! - [`seqlock`]: the slot seqlock protocol (also compiled under loom).
//! - `raw`: the only module that touches mapped memory (unsafe core).
//! - `wait`, `lock`: bounded waiting, the same-key lock table, liveness.
//! - [`store`]: the safe store API (open, reads, stats, check); `write`:
//!   the one write path (redo record, repair) and every write operation;
//!   [`shm`]: `/dev/shm` and anonymous tables.
//! - [`hash`], [`hash_batch`]: XXH3, one key or a group (AVX2).
//! - [`mphf`]: `optimize()`; `uid`: stable UIDs; [`batch`]: `mget`/`mset`.
//! - [`queue`]: the IPC queue sets (`docs/QUEUE.md`).
//! - [`ffi`], [`ffi_queue`]: the C ABI (`include/maph.h`).

#[cfg(target_endian = "big")]
compile_error!("maph stores are little-endian; big-endian targets are not supported");

pub mod seqlock;

#[cfg(not(loom))]
pub mod batch;
#[cfg(not(loom))]
pub mod error;
#[cfg(not(loom))]
pub mod ffi;
#[cfg(not(loom))]
pub mod ffi_log;
#[cfg(not(loom))]
pub mod ffi_queue;
#[cfg(not(loom))]
pub mod format;
#[cfg(not(loom))]
pub mod hash;
#[cfg(not(loom))]
pub mod hash_batch;
#[cfg(not(loom))]
mod lock;
#[cfg(not(loom))]
pub mod log;
#[cfg(not(loom))]
pub mod mphf;
#[cfg(not(loom))]
pub mod queue;
#[cfg(not(loom))]
mod raw;
#[cfg(not(loom))]
pub mod shm;
#[cfg(not(loom))]
pub mod store;
#[cfg(not(loom))]
mod uid;
#[cfg(not(loom))]
mod wait;
#[cfg(not(loom))]
mod write;

#[cfg(not(loom))]
pub use error::{Error, Result};
#[cfg(not(loom))]
pub use mphf::OptimizeReport;
#[cfg(not(loom))]
pub use store::{OpenMode, Options, Stats, Store, ValueRef};
