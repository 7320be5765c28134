//! The C ABI of cursors (`maph_iter_open`, `maph_iter_open_part`,
//! `maph_iter_next`, `maph_iter_close`): a scan of every live record, for
//! getting data out and for parallel scans. Every function goes through the
//! boundary in `ffi/mod.rs`; the scan itself is `store/cursor.rs`.

use std::ffi::c_void;

use super::store::{maph_t, store};
use super::{buffer, call, free_handle, hand_out, maph_status, out_param};
use crate::error::Error;
use crate::store::cursor::{Cursor, Step};

/// A cursor over a store's live records (opaque; `maph_iter_t`). Made by
/// `maph_iter_open` or `maph_iter_open_part`, freed by `maph_iter_close`.
/// It refers to its store: close every cursor of a handle before
/// `maph_close` on that handle.
pub struct maph_iter {
    db: *const maph_t,
    cursor: Cursor,
}

/// The name the C API uses for `struct maph_iter`.
pub type maph_iter_t = maph_iter;

/// Opens a cursor over every live record of `db`, in slot order, and sets
/// `*out` to it (to NULL on failure).
///
/// What a scan returns while other threads and processes write the store:
/// every key present (and unexpired) for the whole scan is returned exactly
/// once, with a value that was written whole; keys added or deleted during
/// the scan may or may not appear, an overwritten key comes with its old or
/// its new value; expired keys are not returned. Slots never move (deletes
/// leave tombstones; growth adds levels), which is what makes this hold.
///
/// Errors: `MAPH_E_INVALID_ARG` (NULL `db` or `out`). No I/O, no lock.
/// A cursor is used by one thread at a time; any number of cursors may scan
/// one store at once, in any processes. `db` must stay open until the
/// cursor is closed.
#[no_mangle]
pub unsafe extern "C" fn maph_iter_open(
    db: *const maph_t, out: *mut *mut maph_iter_t,
) -> maph_status {
    // SAFETY: the C contract (ffi/mod.rs).
    call(|| unsafe {
        let cursor = store(db)?.cursor();
        hand_out(out, || Ok(maph_iter { db, cursor }))
    })
}

/// Opens a cursor over part `part` of `nparts` (numbered from 0) of `db`:
/// the `nparts` parts together visit every slot exactly once (each takes a
/// contiguous share of every level), so `nparts` threads or processes can
/// scan one store side by side, each with its own part. Same promises as
/// `maph_iter_open` within a part. Errors: `MAPH_E_INVALID_ARG` (NULL `db`
/// or `out`; `nparts` 0 or `part >= nparts`). Thread-safe as
/// `maph_iter_open`.
#[no_mangle]
pub unsafe extern "C" fn maph_iter_open_part(
    db: *const maph_t, part: u32, nparts: u32, out: *mut *mut maph_iter_t,
) -> maph_status {
    // SAFETY: the C contract (ffi/mod.rs).
    call(|| unsafe {
        let cursor = store(db)?.cursor_part(part, nparts)?;
        hand_out(out, || Ok(maph_iter { db, cursor }))
    })
}

/// Copies the cursor's next live record: its key into `key_buf` (capacity
/// `key_cap` bytes) with its length in `*key_len`, its value into `val_buf`
/// (capacity `val_cap`) with its length in `*val_len`.
///
/// Returns `MAPH_OK` (one record copied out; the cursor moves past it),
/// `MAPH_NOT_FOUND` (the scan is over; later calls answer the same, and a
/// growing store's levels added since are visited first), or
/// `MAPH_E_BUFFER_TOO_SMALL`: `*key_len` and `*val_len` give the sizes
/// needed, and the cursor stays on the record (a buffer may be NULL with
/// capacity 0 to ask for the sizes). Errors: `MAPH_E_INVALID_ARG` (NULL
/// `it`, `key_len` or `val_len`; a NULL buffer with a non-zero capacity),
/// `MAPH_E_CORRUPT` (a damaged slot: the cursor moves past it, call again
/// to go on), `MAPH_E_BUSY` (a slot locked past the wait limit: the cursor
/// stays, call again to retry). Lock-free; one thread at a time per
/// cursor.
#[no_mangle]
pub unsafe extern "C" fn maph_iter_next(
    it: *mut maph_iter_t, key_buf: *mut c_void, key_cap: usize, key_len: *mut usize,
    val_buf: *mut c_void, val_cap: usize, val_len: *mut usize,
) -> maph_status {
    // SAFETY: the C contract (ffi/mod.rs): `it` came from an open call and
    // is used by one thread; its store is still open.
    call(|| unsafe {
        let it = it.as_mut().ok_or(Error::InvalidArg("it is NULL"))?;
        let db = store(it.db)?;
        let (kl, vl) =
            (out_param(key_len, "key_len is NULL")?, out_param(val_len, "val_len is NULL")?);
        let (kb, vb) = (buffer(key_buf, key_cap)?, buffer(val_buf, val_cap)?);
        let step = db.cursor_next(&mut it.cursor, kb, vb);
        match step? {
            Step::Record { key_len, val_len } => {
                kl.set(key_len);
                vl.set(val_len);
                Ok(())
            }
            Step::TooSmall { key_len, val_len } => {
                kl.set(key_len);
                vl.set(val_len);
                Err(Error::BufferTooSmall(key_len.max(val_len)))
            }
            Step::End => Err(Error::NotFound),
        }
    })
}

/// Frees a cursor. NULL is fine. Call it before `maph_close` on the
/// cursor's store. Not thread-safe for the same cursor.
#[no_mangle]
pub unsafe extern "C" fn maph_iter_close(it: *mut maph_iter_t) {
    // SAFETY: `it` came from an open call and is closed once (contract).
    unsafe { free_handle(it) }
}
