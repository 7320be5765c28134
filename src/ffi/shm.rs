//! The C ABI of shared tables: `/dev/shm` by name and anonymous memory
//! (`maph_shm_*`, `maph_create_anonymous`), over `store::Store`'s shared
//! constructors. Every function goes through the boundary in `ffi/mod.rs`.

use std::ffi::c_char;

use super::store::{create_into, maph_options, maph_t, open_mode};
use super::{c_str, call, hand_out, maph_status};
use crate::store::Store;

/// Creates the shared table `name` in `/dev/shm` (POSIX shared memory) and
/// opens it read-write, for unrelated processes to open by name. `name`: 1
/// to 255 bytes, no `/` (no leading slash either). `opts` may be NULL for
/// the defaults; the mode defaults to 0600. Of two processes racing to
/// create one name exactly one succeeds; the other gets `MAPH_E_EXISTS`
/// (use `maph_shm_open_or_create` to open it instead). The table is built
/// whole before its name appears.
///
/// **Space is reserved at creation.** Unless `opts->flags` has
/// `MAPH_CREATE_SPARSE`, the whole object is reserved on its file system
/// (`posix_fallocate`) before it is mapped, so that no later read or write
/// can fault for lack of space (a shared mapping whose page cannot be backed
/// kills the process with `SIGBUS`); when the room is not there the call
/// answers `MAPH_E_FULL`, with the bytes needed and the reason in
/// `maph_last_error`, and leaves nothing behind. Cost, measured on the
/// development machine for a 1 GiB store (2^21 slots of 512 bytes): ~0.25 s,
/// and 1 GiB of shared memory taken at once (tmpfs zeroes every page); the
/// process's own RSS does not grow until pages are touched.
/// Another process that truncates the file while it is mapped makes later
/// accesses beyond the new end raise `SIGBUS`, as in every mmap store
/// (LMDB included); `maph_open` then answers `MAPH_E_CORRUPT`.
///
/// Errors: `MAPH_E_INVALID_ARG` (NULL, bad name, bad options),
/// `MAPH_E_EXISTS`, `MAPH_E_FULL` (`/dev/shm` cannot hold the table),
/// `MAPH_E_IO`, `MAPH_E_TOO_LARGE`. On error `*out` is NULL and no name is
/// left in `/dev/shm`. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn maph_shm_create(
    name: *const c_char, opts: *const maph_options, out: *mut *mut maph_t,
) -> maph_status {
    // SAFETY: the C contract (ffi/mod.rs).
    call(|| unsafe {
        create_into(out, opts, |o| Store::shm_create(c_str(name, "name is NULL")?, o))
    })
}

/// Creates the shared table `name` like `maph_shm_create`, or, if another
/// process created it first, opens it read-write (its options then are
/// those it was created with). Errors as `maph_shm_create` and
/// `maph_shm_open`, never `MAPH_E_EXISTS`. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn maph_shm_open_or_create(
    name: *const c_char, opts: *const maph_options, out: *mut *mut maph_t,
) -> maph_status {
    // SAFETY: the C contract (ffi/mod.rs).
    call(|| unsafe {
        create_into(out, opts, |o| Store::shm_open_or_create(c_str(name, "name is NULL")?, o))
    })
}

/// Opens the shared table `name` (`shm_open(3)`); `flags` is `MAPH_RDONLY`
/// or `MAPH_RDWR`. Workers that should repair what a killed worker left
/// must open `MAPH_RDWR`. Errors: `MAPH_E_INVALID_ARG` (NULL, bad name,
/// flags), `MAPH_NOT_FOUND` (no such table, as for a missing queue set),
/// `MAPH_E_IO`, `MAPH_E_CORRUPT`, `MAPH_E_VERSION`. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn maph_shm_open(
    name: *const c_char, flags: u32, out: *mut *mut maph_t,
) -> maph_status {
    call(|| {
        // SAFETY: the C contract (ffi/mod.rs).
        unsafe {
            hand_out(out, || {
                let store = Store::shm_open(c_str(name, "name is NULL")?, open_mode(flags)?)?;
                Ok(maph_t { store })
            })
        }
    })
}

/// Removes the name of shared table `name` from `/dev/shm`. Processes that
/// have it open go on using it; the memory is freed when the last closes
/// it. Errors: `MAPH_E_INVALID_ARG` (NULL, bad name), `MAPH_NOT_FOUND` (no such
/// table). Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn maph_shm_unlink(name: *const c_char) -> maph_status {
    // SAFETY: the C contract (ffi/mod.rs).
    call(|| Store::shm_unlink(unsafe { c_str(name, "name is NULL") }?))
}

/// Creates a table in anonymous shared memory (a memfd mapped
/// `MAP_SHARED`) and opens it read-write. Children forked after this call
/// share it through the inherited handle; it has no name, and is freed when
/// the last process using it exits.
///
/// **Memory is reserved at creation** (`posix_fallocate` on the memfd, unless
/// `opts->flags` has `MAPH_CREATE_SPARSE`): a 1 GiB table (2^21 slots of 512
/// bytes) takes ~0.15-0.22 s and 1 GiB of shared memory at once on the
/// development machine. A memfd is bounded by memory (the cgroup's limit),
/// not by a mount: when the kernel refuses the pages the call answers
/// `MAPH_E_FULL`; where it over-commits instead, the OOM killer, not
/// `SIGBUS`, is what a later shortage brings — reserving at creation moves
/// that moment to `maph_create_anonymous`.
///
/// Errors: `MAPH_E_INVALID_ARG`, `MAPH_E_FULL`, `MAPH_E_IO`,
/// `MAPH_E_TOO_LARGE`. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn maph_create_anonymous(
    opts: *const maph_options, out: *mut *mut maph_t,
) -> maph_status {
    // SAFETY: the C contract (ffi/mod.rs).
    call(|| unsafe { create_into(out, opts, Store::create_anonymous) })
}
