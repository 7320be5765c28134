//! The C ABI of the background flush (`maph_flush_start`,
//! `maph_flush_stop`); the thread itself is `store/flush.rs`. Every
//! function goes through the boundary in `ffi/mod.rs`.

use super::store::{maph_t, store};
use super::{call, maph_status};

/// Starts a background thread for this handle that writes the store's
/// dirty pages to its file (`msync(MS_SYNC)` of the whole mapping, off the
/// writers' path) every `interval_ms` milliseconds (0: not by time) and
/// after every `every_n_writes` writes through this handle (0: not by
/// count; writes through other handles and processes are covered by the
/// interval). Calling it again replaces the settings (the old thread does a
/// last flush and stops). `maph_close` stops it, after a last flush. For
/// `/dev/shm` and anonymous stores it changes nothing (no disk file).
/// What survives what: README, "Durability". Errors:
/// `MAPH_E_INVALID_ARG` (NULL `db`; both arguments 0), `MAPH_E_IO` (no
/// thread). Thread-safe; one flush thread per handle.
#[no_mangle]
pub unsafe extern "C" fn maph_flush_start(
    db: *const maph_t, interval_ms: u64, every_n_writes: u64,
) -> maph_status {
    // SAFETY: the C contract (ffi/mod.rs).
    call(|| unsafe { store(db) }?.flush_start(interval_ms, every_n_writes))
}

/// Stops this handle's flush thread after a last flush and waits for it
/// (`MAPH_OK` at once when none runs). Errors: `MAPH_E_INVALID_ARG` (NULL),
/// `MAPH_E_IO` with the first failure any flush of that thread met
/// (`maph_last_error` has the errno's text; `maph_sync` retries).
/// Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn maph_flush_stop(db: *const maph_t) -> maph_status {
    // SAFETY: the C contract (ffi/mod.rs).
    call(|| unsafe { store(db) }?.flush_stop())
}
