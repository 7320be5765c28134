//! POSIX shared-memory objects (`/dev/shm`) and anonymous memory files
//! (`memfd_create`), for stores and queue sets alike.
//!
//! Names are checked before any system call: 1 to `max` bytes, no `/`, no
//! NUL, not `.` or `..`, so no name can reach outside `/dev/shm`. A missing
//! object answers `Error::NotFound` (C: `MAPH_NOT_FOUND`), whichever kind it
//! is.

use std::ffi::CString;
use std::fs::File;
use std::os::fd::FromRawFd;

use crate::error::{Error, Result};

/// Checks the name of a shared-memory object: 1 to `max` bytes, no `/`,
/// no NUL, not `.` or `..`. Errors: `InvalidArg`.
pub fn check_name(name: &[u8], max: usize) -> Result<()> {
    let bad = if name.is_empty() {
        "shared-memory name is empty"
    } else if name.len() > max {
        "shared-memory name is too long"
    } else if name.contains(&b'/') || name.contains(&0) {
        "shared-memory name contains '/' or NUL"
    } else if name == b"." || name == b".." {
        "shared-memory name is '.' or '..'"
    } else {
        return Ok(());
    };
    Err(Error::InvalidArg(bad))
}

/// The `shm_open(3)` name of `name`: `/name`. `name` must have passed
/// `check_name` (no NUL).
pub fn shm_path(name: &[u8]) -> CString {
    let mut p = Vec::with_capacity(name.len() + 1);
    p.push(b'/');
    p.extend_from_slice(name);
    // `check_shm_name` rejected NUL bytes.
    CString::new(p).expect("NUL in a checked name")
}

/// Creates `/dev/shm/<name>` exclusively, mode 0600. `Exists` when taken.
pub fn create(name: &[u8]) -> Result<File> {
    let p = shm_path(name);
    // SAFETY: `p` is a NUL-terminated string that outlives the call.
    let fd = unsafe {
        libc::shm_open(
            p.as_ptr(),
            libc::O_RDWR | libc::O_CREAT | libc::O_EXCL | libc::O_CLOEXEC,
            0o600 as libc::mode_t,
        )
    };
    if fd < 0 {
        let e = std::io::Error::last_os_error();
        return Err(Error::from_io(&e, "creating the shared-memory object"));
    }
    // SAFETY: `fd` is a fresh descriptor that nothing else owns.
    Ok(unsafe { File::from_raw_fd(fd) })
}

/// Opens `/dev/shm/<name>`, read-write or read-only. `NotFound` when absent.
pub fn open(name: &[u8], writable: bool) -> Result<File> {
    let p = shm_path(name);
    // SAFETY: `p` is a NUL-terminated string that outlives the call.
    let fd = unsafe {
        libc::shm_open(
            p.as_ptr(),
            if writable { libc::O_RDWR } else { libc::O_RDONLY } | libc::O_CLOEXEC,
            0,
        )
    };
    if fd < 0 {
        let e = std::io::Error::last_os_error();
        if e.raw_os_error() == Some(libc::ENOENT) {
            return Err(Error::NotFound);
        }
        return Err(Error::from_io(&e, "opening the shared-memory object"));
    }
    // SAFETY: `fd` is a fresh descriptor that nothing else owns.
    Ok(unsafe { File::from_raw_fd(fd) })
}

/// Removes `/dev/shm/<name>`. `NotFound` when absent.
pub fn unlink(name: &[u8]) -> Result<()> {
    let p = shm_path(name);
    // SAFETY: `p` is a NUL-terminated string that outlives the call.
    if unsafe { libc::shm_unlink(p.as_ptr()) } != 0 {
        let e = std::io::Error::last_os_error();
        if e.raw_os_error() == Some(libc::ENOENT) {
            return Err(Error::NotFound);
        }
        return Err(Error::from_io(&e, "removing the shared-memory object"));
    }
    Ok(())
}

/// An anonymous shared-memory file (memfd_create), for sets shared across
/// fork() only. `name` shows in `/proc/<pid>/fd` and `/proc/<pid>/maps`.
pub fn memfd(name: &std::ffi::CStr) -> Result<File> {
    // SAFETY: a NUL-terminated name; flags are valid.
    let fd = unsafe { libc::memfd_create(name.as_ptr(), libc::MFD_CLOEXEC) };
    if fd < 0 {
        return Err(Error::last_os("creating an anonymous shared-memory file"));
    }
    // SAFETY: `fd` is a fresh descriptor that nothing else owns.
    Ok(unsafe { File::from_raw_fd(fd) })
}
