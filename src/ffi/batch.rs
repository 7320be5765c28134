//! The C ABI of batches (`maph_mget`, `maph_mset`), over `Store::mget` and
//! `Store::mset`. Every function goes through the boundary in
//! `ffi/mod.rs`; each key's own outcome goes to its slot of `statuses`.

use std::ffi::c_void;

use super::store::{maph_t, store};
use super::{buffer, bytes, call, fail, maph_status, status_of};
use crate::error::Error;
use crate::store::batch::GROUP;

/// Checks that the `n`-element arrays are non-NULL (when `n` > 0): `nulls`
/// says which are NULL.
fn arrays(n: usize, nulls: &[bool]) -> Result<(), Error> {
    if n > 0 && nulls.contains(&true) {
        return Err(Error::InvalidArg("an array argument is NULL with n > 0"));
    }
    Ok(())
}

/// The `i`th key of a batch, or `None` (then its status is
/// `MAPH_E_INVALID_ARG`) for a NULL key or a length out of range.
///
/// # Safety
/// `keys` and `lens` hold more than `i` elements; a non-NULL key pointer
/// points to its length in bytes (the C contract).
unsafe fn nth_key<'a>(
    keys: *const *const c_void, lens: *const usize, i: usize,
) -> Option<&'a [u8]> {
    // SAFETY: the caller's contract.
    unsafe {
        let p = *keys.add(i);
        if p.is_null() {
            return None;
        }
        bytes(p, *lens.add(i), "key").ok()
    }
}

/// The status of one key's outcome, recorded as the last error if it failed.
fn key_status<T>(r: &Result<T, Error>) -> maph_status {
    match r {
        Ok(_) => maph_status::MAPH_OK,
        // Expected per key; as for a single get, no message.
        Err(e @ Error::BufferTooSmall(_)) => status_of(e),
        Err(e) => fail(e),
    }
}

/// Looks up `n` keys at once. Key `i` is `keys[i]` (`key_lens[i]` bytes);
/// its value is **copied** into `bufs[i]` (capacity `buf_caps[i]`; NULL
/// with capacity 0 asks only the size), its length goes to `val_lens[i]`
/// (set also with `MAPH_E_BUFFER_TOO_SMALL`, to the size needed), and its
/// status to `statuses[i]` (`MAPH_OK`, `MAPH_NOT_FOUND`, or an error as
/// `maph_get`; a NULL `keys[i]` gets `MAPH_E_INVALID_ARG`).
///
/// Keys are hashed in groups of 16 (AVX2 where the CPU has it) and their
/// slots prefetched before they are read, so the memory accesses overlap;
/// after `maph_optimize` the MPHF picks the slot. Returns `MAPH_OK` when
/// the call was well-formed (look at `statuses` for each key), or
/// `MAPH_E_INVALID_ARG` when `db` or an array is NULL with `n` > 0.
/// Lock-free, thread-safe.
#[no_mangle]
pub unsafe extern "C" fn maph_mget(
    db: *const maph_t, n: usize, keys: *const *const c_void, key_lens: *const usize,
    bufs: *const *mut c_void, buf_caps: *const usize, val_lens: *mut usize,
    statuses: *mut maph_status,
) -> maph_status {
    call(|| {
        // SAFETY: the C contract (ffi/mod.rs).
        let s = unsafe { store(db) }?;
        arrays(
            n,
            &[
                keys.is_null(),
                key_lens.is_null(),
                bufs.is_null(),
                buf_caps.is_null(),
                val_lens.is_null(),
                statuses.is_null(),
            ],
        )?;
        for start in (0..n).step_by(GROUP) {
            let m = GROUP.min(n - start);
            let mut ks: [&[u8]; GROUP] = [&[]; GROUP];
            let mut bs: [&mut [u8]; GROUP] = Default::default();
            let mut out: [Result<usize, Error>; GROUP] = std::array::from_fn(|_| Ok(0));
            let mut bad = [false; GROUP];
            for j in 0..m {
                let i = start + j;
                // SAFETY: the arrays hold `n` elements and each pointer is
                // valid for its length (the C contract).
                match unsafe {
                    (nth_key(keys, key_lens, i), buffer(*bufs.add(i), *buf_caps.add(i)))
                } {
                    (Some(k), Ok(b)) => (ks[j], bs[j]) = (k, b),
                    _ => bad[j] = true,
                }
            }
            s.mget(&ks[..m], &mut bs[..m], &mut out[..m]);
            for j in 0..m {
                if bad[j] {
                    out[j] = Err(Error::InvalidArg("keys[i] is NULL or a length is out of range"));
                }
                let len = match out[j] {
                    Ok(l) | Err(Error::BufferTooSmall(l)) => l,
                    Err(_) => 0,
                };
                // SAFETY: the out-arrays hold `n` elements (the C contract).
                unsafe {
                    val_lens.add(start + j).write(len);
                    statuses.add(start + j).write(key_status(&out[j]));
                }
            }
        }
        Ok(())
    })
}

/// Sets `n` keys at once: `keys[i]` (`key_lens[i]` bytes) to `vals[i]`
/// (`val_lens[i]` bytes; NULL allowed with length 0); `statuses[i]` gets
/// each key's status, as `maph_set`. Each key is set atomically; the batch
/// is not a transaction. Keys are hashed in groups and their home slots
/// prefetched. Returns `MAPH_OK` when the call was well-formed,
/// `MAPH_E_INVALID_ARG` when `db` or an array is NULL with `n` > 0.
/// Thread- and process-safe.
#[no_mangle]
pub unsafe extern "C" fn maph_mset(
    db: *mut maph_t, n: usize, keys: *const *const c_void, key_lens: *const usize,
    vals: *const *const c_void, val_lens: *const usize, statuses: *mut maph_status,
) -> maph_status {
    call(|| {
        // SAFETY: the C contract (ffi/mod.rs).
        let s = unsafe { store(db) }?;
        arrays(
            n,
            &[
                keys.is_null(),
                key_lens.is_null(),
                vals.is_null(),
                val_lens.is_null(),
                statuses.is_null(),
            ],
        )?;
        for start in (0..n).step_by(GROUP) {
            let m = GROUP.min(n - start);
            let mut ks: [&[u8]; GROUP] = [&[]; GROUP];
            let mut vs: [&[u8]; GROUP] = [&[]; GROUP];
            let mut out: [Result<(), Error>; GROUP] = std::array::from_fn(|_| Ok(()));
            let mut bad = [false; GROUP];
            for j in 0..m {
                let i = start + j;
                // SAFETY: arrays of `n` elements, each pointer valid for its
                // length (the C contract).
                match unsafe {
                    (nth_key(keys, key_lens, i), bytes(*vals.add(i), *val_lens.add(i), "val"))
                } {
                    (Some(k), Ok(v)) => (ks[j], vs[j]) = (k, v),
                    _ => bad[j] = true,
                }
            }
            s.mset(&ks[..m], &vs[..m], &mut out[..m]);
            for j in 0..m {
                if bad[j] {
                    out[j] =
                        Err(Error::InvalidArg("keys[i] is NULL or vals[i] is NULL with a length"));
                }
                // SAFETY: `statuses` holds `n` elements (the C contract).
                unsafe { statuses.add(start + j).write(key_status(&out[j])) };
            }
        }
        Ok(())
    })
}
