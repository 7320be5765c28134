//! The C ABI: the one boundary every `extern "C"` function goes through.
//! `build.rs` turns `src/ffi/*.rs` into `include/maph.h` with cbindgen; the
//! doc comments there are the C documentation.
//!
//! The boundary follows rustls-ffi's: a function's body is a closure that
//! returns `Result<(), Error>`; [`call`] runs it, catches any panic
//! (`MAPH_E_PANIC`, never an unwind into C), maps an error to its status and
//! records its message as the thread's last error (`maph_last_error`).
//! Arguments are turned into Rust values by the helpers here — [`handle`],
//! [`key_arg`], [`bytes`], [`buffer`], [`c_str`], [`out_param`], [`opt_out`] — each of
//! which checks for NULL and answers `MAPH_E_INVALID_ARG` with the
//! argument's name. The statuses, their numbers, messages and names live in
//! one place, [`maph_status`] and [`maph_status::message`].
//!
//! # Safety (for every function of the C ABI)
//!
//! A non-NULL pointer argument must point to what its type and length say:
//! `key`/`val` to `key_len`/`val_len` readable bytes, `buf` to `buf_cap`
//! writable bytes, out-parameters to writable objects, strings
//! NUL-terminated, arrays to `n` elements, `db` (or `q`) to a handle from
//! its create/open function not yet closed. NULL is checked and answered
//! with `MAPH_E_INVALID_ARG`; these are the C contract's only
//! preconditions, stated once here rather than in every C comment.

#![allow(non_camel_case_types)]
#![allow(clippy::missing_safety_doc)]

pub mod batch;
pub mod flush;
pub mod iter;
pub mod log;
pub mod queue;
pub mod shm;
pub mod store;
pub mod uid;
pub mod version;

use std::cell::RefCell;
use std::ffi::{c_char, c_void, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::OnceLock;

use crate::error::Error;

/// Status of a maph call. `MAPH_OK` (0) is success; every other value says
/// why a call failed. `maph_strerror` turns a status into a message,
/// `maph_status_name` into its name, and `maph_last_error` gives the detail
/// of the calling thread's last failure.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum maph_status {
    /// Success.
    MAPH_OK = 0,
    /// The key (or UID) is not in the store; the table or queue set does
    /// not exist.
    MAPH_NOT_FOUND = 1,
    /// A required pointer is NULL, a flag or option is out of range, or the
    /// key is empty.
    MAPH_E_INVALID_ARG = 2,
    /// A system call failed (open, mmap, msync, ...); see `maph_last_error`.
    MAPH_E_IO = 3,
    /// The file is not a maph store, or is damaged (truncated, inconsistent
    /// header, a slot length beyond the slot).
    MAPH_E_CORRUPT = 4,
    /// The store has a format version or hash function this library does
    /// not read.
    MAPH_E_VERSION = 5,
    /// No free slot within the maximum probe distance of the key's home;
    /// or, at creation, the file system (for `/dev/shm` and anonymous
    /// tables: memory) cannot reserve the store's or queue set's space
    /// (`maph_last_error` says how many bytes and why).
    MAPH_E_FULL = 6,
    /// Key plus value do not fit one slot (see `maph_stats_t.slot_capacity`),
    /// or the store would not fit the address space.
    MAPH_E_TOO_LARGE = 7,
    /// The caller's buffer is too small; the length out-parameter holds the
    /// size needed.
    MAPH_E_BUFFER_TOO_SMALL = 8,
    /// A write through a handle opened with `MAPH_RDONLY`.
    MAPH_E_READ_ONLY = 9,
    /// A slot or lock stayed taken past the wait limit (2 s).
    MAPH_E_BUSY = 10,
    /// maph hit an internal bug; the call did nothing it could not undo.
    MAPH_E_PANIC = 11,
    /// The path or name already exists (`maph_create`).
    MAPH_E_EXISTS = 12,
    /// Nothing to take: the queue is empty.
    MAPH_E_EMPTY = 13,
    /// A wait with a timeout ended before the condition held.
    MAPH_E_TIMEOUT = 14,
    /// The call conflicts with the current state (for example an element
    /// that is already in a queue); see `maph_last_error`.
    MAPH_E_CONFLICT = 15,
    /// `maph_incr` on a value that is not exactly 8 bytes.
    MAPH_E_NOT_INTEGER = 16,
    /// `maph_incr` would leave the signed 64-bit range.
    MAPH_E_OVERFLOW = 17,
}

impl maph_status {
    /// Every status, in numeric order (`ALL[n] as u32 == n`, tested).
    pub const ALL: [maph_status; 18] = {
        use maph_status::*;
        [
            MAPH_OK,
            MAPH_NOT_FOUND,
            MAPH_E_INVALID_ARG,
            MAPH_E_IO,
            MAPH_E_CORRUPT,
            MAPH_E_VERSION,
            MAPH_E_FULL,
            MAPH_E_TOO_LARGE,
            MAPH_E_BUFFER_TOO_SMALL,
            MAPH_E_READ_ONLY,
            MAPH_E_BUSY,
            MAPH_E_PANIC,
            MAPH_E_EXISTS,
            MAPH_E_EMPTY,
            MAPH_E_TIMEOUT,
            MAPH_E_CONFLICT,
            MAPH_E_NOT_INTEGER,
            MAPH_E_OVERFLOW,
        ]
    };

    /// The status numbered `n`, if any.
    pub fn from_u32(n: u32) -> Option<maph_status> {
        Self::ALL.get(n as usize).copied()
    }

    /// A short English message (what `maph_strerror` returns).
    pub fn message(self) -> &'static CStr {
        use maph_status::*;
        match self {
            MAPH_OK => c"success",
            MAPH_NOT_FOUND => c"not found",
            MAPH_E_INVALID_ARG => c"invalid argument",
            MAPH_E_IO => c"I/O error",
            MAPH_E_CORRUPT => c"corrupt store",
            MAPH_E_VERSION => c"unsupported store version",
            MAPH_E_FULL => c"store full",
            MAPH_E_TOO_LARGE => c"key and value too large for a slot",
            MAPH_E_BUFFER_TOO_SMALL => c"buffer too small",
            MAPH_E_READ_ONLY => c"store is read-only",
            MAPH_E_BUSY => c"busy",
            MAPH_E_PANIC => c"internal error (panic)",
            MAPH_E_EXISTS => c"already exists",
            MAPH_E_EMPTY => c"empty",
            MAPH_E_TIMEOUT => c"timed out",
            MAPH_E_CONFLICT => c"conflicts with the current state",
            MAPH_E_NOT_INTEGER => c"value is not an 8-byte integer",
            MAPH_E_OVERFLOW => c"integer overflow",
        }
    }

    /// The enumerator's name, e.g. `"MAPH_E_FULL"` (derived from the enum
    /// itself, so it cannot drift).
    pub fn name(self) -> &'static CStr {
        static NAMES: OnceLock<Vec<CString>> = OnceLock::new();
        let names = NAMES.get_or_init(|| {
            Self::ALL.iter().map(|s| CString::new(format!("{s:?}")).unwrap_or_default()).collect()
        });
        names[self as usize].as_c_str()
    }
}

/// The status of an error.
pub(crate) fn status_of(e: &Error) -> maph_status {
    use maph_status::*;
    match e {
        Error::NotFound => MAPH_NOT_FOUND,
        Error::InvalidArg(_) => MAPH_E_INVALID_ARG,
        Error::Io(..) => MAPH_E_IO,
        Error::Corrupt(_) => MAPH_E_CORRUPT,
        Error::Version(_) => MAPH_E_VERSION,
        Error::Full
        | Error::HeapFull { .. }
        | Error::GrowthLimit { .. }
        | Error::NoSpace { .. }
        | Error::Dropped => MAPH_E_FULL,
        Error::TooLarge(_) => MAPH_E_TOO_LARGE,
        Error::BufferTooSmall(_) => MAPH_E_BUFFER_TOO_SMALL,
        Error::ReadOnly => MAPH_E_READ_ONLY,
        Error::Busy => MAPH_E_BUSY,
        Error::Exists => MAPH_E_EXISTS,
        Error::Empty => MAPH_E_EMPTY,
        Error::Timeout => MAPH_E_TIMEOUT,
        Error::Conflict(_) => MAPH_E_CONFLICT,
        Error::NotInteger => MAPH_E_NOT_INTEGER,
        Error::Overflow => MAPH_E_OVERFLOW,
    }
}

thread_local! {
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

/// Records `msg` as the calling thread's last error. Cannot panic: from a
/// thread-exit destructor (locals gone) or a re-entrant call it does nothing.
pub(crate) fn set_last_error(msg: String) {
    let c = CString::new(msg.replace('\0', " ")).unwrap_or_default();
    let _ = LAST_ERROR.try_with(|l| {
        if let Ok(mut m) = l.try_borrow_mut() {
            *m = c;
        }
    });
}

/// Records `e` as the thread's last error and returns its status. Normal
/// outcomes (absent, empty, timed out, a log line dropped) leave no message
/// and cost no allocation.
pub(crate) fn fail(e: &Error) -> maph_status {
    if !matches!(e, Error::NotFound | Error::Empty | Error::Timeout | Error::Dropped) {
        set_last_error(e.to_string());
    }
    status_of(e)
}

/// The boundary: runs the body of an `extern "C"` function. `Ok` is
/// `MAPH_OK`; an error becomes its status and the thread's last error; a
/// panic becomes `MAPH_E_PANIC` with its message (never an unwind into C).
pub(crate) fn call(body: impl FnOnce() -> Result<(), Error>) -> maph_status {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => maph_status::MAPH_OK,
        Ok(Err(e)) => fail(&e),
        Err(p) => {
            let msg = p
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| p.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            set_last_error(format!("internal error: {msg}"));
            maph_status::MAPH_E_PANIC
        }
    }
}

/// The boundary for the few functions that return a value instead of a
/// status (`maph_ptr_valid`, `maph_queue_elem`): `body`'s value, or
/// `on_panic` if it panics.
pub(crate) fn call_value<T>(on_panic: T, body: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or(on_panic)
}

/// `&*p` for a handle or input struct. Errors: `InvalidArg("<what> is
/// NULL")`.
///
/// # Safety
/// A non-NULL `p` points to a live `T` that outlives `'a` (the C contract).
pub(crate) unsafe fn handle<'a, T>(p: *const T, what: &'static str) -> Result<&'a T, Error> {
    // SAFETY: non-NULL pointers are valid by the caller's contract.
    unsafe { p.as_ref() }.ok_or(Error::InvalidArg(what))
}

/// The byte string `(p, len)`; NULL is allowed only with length 0.
///
/// # Safety
/// A non-NULL `p` points to `len` readable bytes that stay unchanged for
/// `'a`.
pub(crate) unsafe fn bytes<'a>(
    p: *const c_void, len: usize, what: &'static str,
) -> Result<&'a [u8], Error> {
    if len > isize::MAX as usize || (p.is_null() && len != 0) {
        return Err(Error::InvalidArg(what));
    }
    if p.is_null() {
        return Ok(&[]);
    }
    // SAFETY: non-NULL, `len` readable bytes by the caller's contract.
    Ok(unsafe { std::slice::from_raw_parts(p.cast::<u8>(), len) })
}

/// A key `(p, len)`: as [`bytes`], but NULL is never allowed.
///
/// # Safety
/// As [`bytes`].
pub(crate) unsafe fn key_arg<'a>(p: *const c_void, len: usize) -> Result<&'a [u8], Error> {
    if p.is_null() {
        return Err(Error::InvalidArg("key is NULL"));
    }
    // SAFETY: the caller's contract, as `bytes` needs.
    unsafe { bytes(p, len, "key length out of range") }
}

/// The writable buffer `(p, cap)`; NULL is allowed only with capacity 0.
///
/// # Safety
/// A non-NULL `p` points to `cap` writable bytes not aliased for `'a`.
pub(crate) unsafe fn buffer<'a>(p: *mut c_void, cap: usize) -> Result<&'a mut [u8], Error> {
    if cap > isize::MAX as usize || (p.is_null() && cap != 0) {
        return Err(Error::InvalidArg("buffer is NULL with a non-zero capacity, or too large"));
    }
    if p.is_null() {
        return Ok(&mut []);
    }
    // SAFETY: non-NULL, `cap` writable bytes by the caller's contract.
    Ok(unsafe { std::slice::from_raw_parts_mut(p.cast::<u8>(), cap) })
}

/// A NUL-terminated string's bytes, without the NUL.
///
/// # Safety
/// A non-NULL `p` points to a NUL-terminated string that outlives `'a`.
pub(crate) unsafe fn c_str<'a>(p: *const c_char, what: &'static str) -> Result<&'a [u8], Error> {
    if p.is_null() {
        return Err(Error::InvalidArg(what));
    }
    // SAFETY: non-NULL and NUL-terminated by the caller's contract.
    Ok(unsafe { CStr::from_ptr(p) }.to_bytes())
}

/// An out-parameter, made by [`out_param`] (required: never NULL) or
/// [`opt_out`] (optional: NULL ignores what is set), written with
/// [`Out::set`].
pub(crate) struct Out<T>(*mut T);

impl<T> Out<T> {
    /// Writes `v` to the out-parameter (nothing for an optional NULL one).
    pub fn set(&self, v: T) {
        if !self.0.is_null() {
            // SAFETY: non-NULL, and whoever made this `Out` promised (the C
            // contract) that it points to a writable `T`.
            unsafe { self.0.write(v) }
        }
    }

    /// [`Out::set`], then `Ok(())`: the last step of a function body.
    pub fn put(&self, v: T) -> Result<(), Error> {
        self.set(v);
        Ok(())
    }
}

/// A required out-parameter. Errors: `InvalidArg("<what> is NULL")`.
///
/// # Safety
/// A non-NULL `p` points to a writable `T` for as long as the `Out` lives.
pub(crate) unsafe fn out_param<T>(p: *mut T, what: &'static str) -> Result<Out<T>, Error> {
    if p.is_null() {
        return Err(Error::InvalidArg(what));
    }
    Ok(Out(p))
}

/// An optional out-parameter: NULL is allowed, and then [`Out::set`] does
/// nothing.
///
/// # Safety
/// As [`out_param`].
pub(crate) unsafe fn opt_out<T>(p: *mut T) -> Out<T> {
    Out(p)
}

/// Sets `*out` to NULL, then, when `make` succeeds, to a new boxed handle:
/// the shape of every create/open function.
///
/// # Safety
/// A non-NULL `out` points to a writable `*mut H`.
pub(crate) unsafe fn hand_out<H>(
    out: *mut *mut H, make: impl FnOnce() -> Result<H, Error>,
) -> Result<(), Error> {
    // SAFETY: the caller's contract.
    let out = unsafe { out_param(out, "out is NULL") }?;
    out.set(std::ptr::null_mut());
    out.put(Box::into_raw(Box::new(make()?)))
}

/// Frees a handle made by [`hand_out`]; NULL is fine; a panic in a
/// destructor is swallowed (there is no status to return it in).
///
/// # Safety
/// A non-NULL `p` came from [`hand_out`] and is freed once.
pub(crate) unsafe fn free_handle<H>(p: *mut H) {
    if p.is_null() {
        return;
    }
    let _ = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: from `hand_out`'s `Box::into_raw`, freed once (contract).
        drop(unsafe { Box::from_raw(p) });
    }));
}

/// A static, NUL-terminated English message for a status; an unknown value
/// gets "unknown status". Never NULL. Thread-safe.
#[no_mangle]
pub extern "C" fn maph_strerror(status: u32) -> *const c_char {
    call_value(c"unknown status".as_ptr(), || {
        maph_status::from_u32(status).map_or(c"unknown status", |s| s.message()).as_ptr()
    })
}

/// The enumerator name of a status, for logs and test output (for example
/// "MAPH_E_FULL"); an unknown value gets "unknown status". Never NULL; the
/// string is static. Thread-safe.
#[no_mangle]
pub extern "C" fn maph_status_name(status: u32) -> *const c_char {
    call_value(c"unknown status".as_ptr(), || {
        maph_status::from_u32(status).map_or(c"unknown status", |s| s.name()).as_ptr()
    })
}

/// The detail of the calling thread's last failed call (for example
/// "corrupt store: file is truncated"), or "" when there was none. The
/// string belongs to maph and stays valid until the thread's next maph call.
/// Never NULL. Thread-safe (one message per thread).
#[no_mangle]
pub extern "C" fn maph_last_error() -> *const c_char {
    // `try_with`: called from a thread-exit destructor, after the thread's
    // locals are gone, it answers "" instead of panicking into C.
    LAST_ERROR
        .try_with(|l| l.try_borrow().map_or(c"".as_ptr(), |m| m.as_ptr()))
        .unwrap_or(c"".as_ptr())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_table_is_numbered_in_order_and_names_match_the_enum() {
        for (n, s) in maph_status::ALL.iter().enumerate() {
            assert_eq!(*s as usize, n);
            assert_eq!(s.name().to_str().unwrap(), format!("{s:?}"));
            assert!(!s.message().to_bytes().is_empty());
        }
        assert_eq!(maph_status::from_u32(maph_status::ALL.len() as u32), None);
    }

    #[test]
    fn every_error_maps_to_its_own_status() {
        let all = [
            Error::NotFound,
            Error::InvalidArg(""),
            Error::Io(0, ""),
            Error::Corrupt(""),
            Error::Version(""),
            Error::Full,
            Error::TooLarge(""),
            Error::BufferTooSmall(0),
            Error::ReadOnly,
            Error::Busy,
            Error::Exists,
            Error::Empty,
            Error::Timeout,
            Error::Conflict(""),
            Error::NotInteger,
            Error::Overflow,
        ];
        // NoSpace shares Full's status on purpose: both say "no room".
        assert_eq!(
            status_of(&Error::NoSpace { bytes: 1, errno: libc::ENOSPC, what: "" }),
            maph_status::MAPH_E_FULL
        );
        // So does a full heap.
        assert_eq!(status_of(&Error::HeapFull { need: 64 }), maph_status::MAPH_E_FULL);
        let mut seen: Vec<u32> = all.iter().map(|e| status_of(e) as u32).collect();
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), all.len());
        assert!(!seen.contains(&0));
    }

    #[test]
    fn a_panic_becomes_a_status_not_an_unwind() {
        let s = call(|| panic!("boom"));
        assert_eq!(s, maph_status::MAPH_E_PANIC);
        // SAFETY: the returned string is NUL-terminated and owned by maph.
        let msg = unsafe { CStr::from_ptr(maph_last_error()) }.to_str().unwrap();
        assert!(msg.contains("boom"), "{msg}");
    }
}
