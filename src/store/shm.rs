//! Where a store lives besides a plain file: a named POSIX shared-memory
//! object in `/dev/shm` (for unrelated processes), or anonymous shared
//! memory that a master's forked children inherit.
//!
//! Named tables are created like files (`Store::create`): built under a
//! temporary name in `/dev/shm` and linked to their name, so a process that
//! opens the name never sees a half-built table, and of two processes racing
//! to create one name exactly one wins (the other gets `Exists`). They are
//! opened with `shm_open(3)` and removed with `shm_unlink(3)`. Anonymous
//! tables are a `memfd_create(2)` file mapped `MAP_SHARED` (memmap2's
//! `map_anon` is private copy-on-write, which a forked child would not
//! share).

use std::path::PathBuf;

use crate::error::{Error, Result};
use crate::store::{OpenMode, Options, Store};
use crate::sys::shm as sys_shm;

/// The directory POSIX shared memory lives in on Linux.
pub const SHM_DIR: &str = "/dev/shm";
/// Longest table name, in bytes (`NAME_MAX`).
pub const MAX_NAME: usize = 255;

/// Checks a table name: 1 to 255 bytes, no `/`, no NUL, not `.`/`..`.
pub fn check_name(name: &[u8]) -> Result<()> {
    crate::sys::shm::check_name(name, MAX_NAME)
}

fn shm_path(name: &[u8]) -> PathBuf {
    use std::os::unix::ffi::OsStrExt;
    PathBuf::from(SHM_DIR).join(std::ffi::OsStr::from_bytes(name))
}

impl Store {
    /// Creates the shared table `name` in `/dev/shm` (mode `opts.mode`,
    /// default 0600). Errors: `InvalidArg` for a bad name (see
    /// `check_name`) or options; `Exists` when the name is taken; `Io`.
    pub fn shm_create(name: &[u8], opts: &Options) -> Result<Store> {
        check_name(name)?;
        Store::create(shm_path(name), opts)
    }

    /// Opens the shared table `name`. Errors: `InvalidArg`; `NotFound` when
    /// there is no such table; `Io`; `Corrupt`; `Version`.
    pub fn shm_open(name: &[u8], mode: OpenMode) -> Result<Store> {
        check_name(name)?;
        let file = sys_shm::open(name, mode == OpenMode::ReadWrite)?;
        Store::from_file(file, mode)
    }

    /// Creates the shared table `name`, or opens it read-write if another
    /// process created it first.
    pub fn shm_open_or_create(name: &[u8], opts: &Options) -> Result<Store> {
        match Store::shm_create(name, opts) {
            Err(Error::Exists) => Store::shm_open(name, OpenMode::ReadWrite),
            r => r,
        }
    }

    /// Removes the name `name` from `/dev/shm`. Processes that have the table
    /// open keep using it; its memory is freed when the last one closes it.
    /// Errors: `InvalidArg`; `NotFound` when there is no such table; `Io`.
    pub fn shm_unlink(name: &[u8]) -> Result<()> {
        check_name(name)?;
        sys_shm::unlink(name)
    }

    /// Creates a table in anonymous shared memory: no name, gone when the
    /// last process that maps it exits. Children forked after this call
    /// share it. Errors: `InvalidArg`, `Io`, `TooLarge`.
    pub fn create_anonymous(opts: &Options) -> Result<Store> {
        Store::create_in(sys_shm::memfd(c"maph")?, opts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_names_are_invalid_arguments() {
        for bad in [&b""[..], b"a/b", b"/a", b".", b"..", b"a\0b", &[b'x'; 256][..]] {
            assert!(matches!(check_name(bad), Err(Error::InvalidArg(_))), "{bad:?}");
        }
        assert!(check_name(&[b'x'; 255]).is_ok());
        assert!(check_name(b"maph.table-1").is_ok());
    }

    /// A memfd is bounded by memory, not by a mount, so the test cannot
    /// make it run out; it checks instead that creation reserved every page
    /// of the header, lock table, control bytes and slots (so no write to
    /// them can fault for lack of one; the MPHF banks and the heap are
    /// reserved when first written), and that the sparse option does not.
    #[test]
    fn anonymous_table_reserves_its_memory_at_creation() {
        use crate::sys::space::allocated_bytes;
        let opts = Options { slots: 8192, lock_count: 64, ..Options::default() };
        let s = Store::create_anonymous(&opts).unwrap();
        let len = s.geometry().extra_offset();
        assert!(allocated_bytes(&s._file).unwrap() >= len);
        let sparse = Store::create_anonymous(&Options { sparse: true, ..opts }).unwrap();
        assert!(allocated_bytes(&sparse._file).unwrap() < len / 2);
    }
}
