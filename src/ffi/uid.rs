//! The C ABI of stable UIDs (`maph_uid`, `maph_get_by_uid`,
//! `maph_get_key_by_uid`, `maph_del_by_uid`). Every function goes through the
//! boundary in `ffi/mod.rs`.

use std::ffi::c_void;

use super::store::{maph_t, store};
use super::{buffer, call, key_arg, maph_status, out_param};
use crate::error::Error;
use crate::store::Store;

/// Shared body of the two UID reads: `read` fills `buf` and answers the
/// length (also with `BufferTooSmall`), which goes to `*len`.
///
/// # Safety
/// As `maph_get_by_uid`.
unsafe fn uid_read(
    db: *const maph_t, buf: *mut c_void, buf_cap: usize, len: *mut usize,
    read: impl FnOnce(&Store, &mut [u8]) -> Result<usize, Error>,
) -> maph_status {
    call(|| {
        // SAFETY: the C contract (ffi/mod.rs).
        let (s, b, l) = unsafe {
            (store(db)?, buffer(buf, buf_cap)?, out_param(len, "length out-parameter is NULL")?)
        };
        let r = read(s, b);
        if let Ok(n) | Err(Error::BufferTooSmall(n)) = r {
            l.set(n);
        }
        r.map(drop)
    })
}

/// Sets `*uid` to the UID of `key`: a 64-bit id that stays valid until the
/// key is deleted, across `maph_optimize`, reopen and processes. Errors as
/// `maph_get` (`MAPH_NOT_FOUND` when the key is absent). Lock-free,
/// thread-safe.
#[no_mangle]
pub unsafe extern "C" fn maph_uid(
    db: *const maph_t, key: *const c_void, key_len: usize, uid: *mut u64,
) -> maph_status {
    // SAFETY: the C contract (ffi/mod.rs).
    call(|| unsafe { out_param(uid, "uid is NULL")?.put(store(db)?.uid(key_arg(key, key_len)?)?) })
}

/// Copies the value of the key with `uid` into `buf`, without hashing or
/// probing: one slot read. A UID of a deleted key answers `MAPH_NOT_FOUND`,
/// even after its slot holds another key: never another key's value.
/// Errors: `MAPH_NOT_FOUND`, `MAPH_E_BUFFER_TOO_SMALL` (with `*val_len` set
/// to the size needed), `MAPH_E_INVALID_ARG`, `MAPH_E_CORRUPT`,
/// `MAPH_E_BUSY`. Lock-free, thread-safe.
#[no_mangle]
pub unsafe extern "C" fn maph_get_by_uid(
    db: *const maph_t, uid: u64, buf: *mut c_void, buf_cap: usize, val_len: *mut usize,
) -> maph_status {
    // SAFETY: the caller's contract is the same.
    unsafe { uid_read(db, buf, buf_cap, val_len, |s, b| s.get_by_uid(uid, b)) }
}

/// Copies the key with `uid` into `buf` and sets `*key_len`. Errors as
/// `maph_get_by_uid`. Lock-free, thread-safe.
#[no_mangle]
pub unsafe extern "C" fn maph_get_key_by_uid(
    db: *const maph_t, uid: u64, buf: *mut c_void, buf_cap: usize, key_len: *mut usize,
) -> maph_status {
    // SAFETY: the caller's contract is the same.
    unsafe { uid_read(db, buf, buf_cap, key_len, |s, b| s.key_by_uid(uid, b)) }
}

/// Deletes the key with `uid`. Errors: `MAPH_NOT_FOUND` (already deleted:
/// a key re-inserted since has a new UID and is left alone),
/// `MAPH_E_INVALID_ARG`, `MAPH_E_READ_ONLY`, `MAPH_E_BUSY`. Thread- and
/// process-safe.
#[no_mangle]
pub unsafe extern "C" fn maph_del_by_uid(db: *mut maph_t, uid: u64) -> maph_status {
    // SAFETY: the C contract (ffi/mod.rs).
    call(|| unsafe { store(db) }?.del_by_uid(uid))
}
