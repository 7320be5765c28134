//! Reserving a store's (or queue set's) space on its file system before the
//! object is mapped for use.
//!
//! A write to a page of a shared mapping that the file system cannot back
//! (a full disk, a full tmpfs or `/dev/shm`) is not an error return: the
//! kernel sends `SIGBUS`, which kills the process. So every object is
//! reserved whole when it is created: `posix_fallocate(3)` allocates its
//! blocks (on a disk, unwritten extents: no data is written; on tmpfs, the
//! pages themselves, zeroed), and from then on no access to the mapping can
//! fault for lack of space. A file system that cannot reserve the space
//! answers at creation instead, with `Error::NoSpace` (C: `MAPH_E_FULL`).
//! A store's value heap and its MPHF banks are the exceptions: the heap is
//! reserved in growing steps as its top rises (`reserve_range`, called
//! before any extent in the new range is handed out), a bank when
//! `optimize()` writes it, so neither costs space until it is used, and a
//! full file system answers the insert or `optimize()` that needs more with
//! `NoSpace` — still never `SIGBUS`.
//!
//! Where a file system has no `fallocate` (`EOPNOTSUPP`), glibc's
//! `posix_fallocate` falls back to writing one zero byte into every block,
//! which allocates it just the same; if even that is not possible, the
//! creation fails with `Error::Io` and the caller may ask for a sparse
//! object instead (`Options::sparse`), accepting that a later write may
//! then raise `SIGBUS` when the file system is full.

use std::fs::File;
use std::os::fd::AsRawFd;

use crate::error::{Error, Result};

/// Reserves bytes `0..len` of `file` on its file system (and extends the
/// file to `len` if it is shorter). `what` names the object in the error
/// ("the store", "the queue set").
///
/// Errors: `NoSpace` when the file system (or, for a memfd, memory) cannot
/// hold `len` bytes (`ENOSPC`, `ENOMEM`, `EFBIG`); `TooLarge` when `len`
/// does not fit `off_t`; `Io` for any other failure, including a file
/// system that supports neither `fallocate` nor its emulation. On error
/// some blocks may have been allocated: the caller removes the object.
///
/// Takes as long as the file system needs to allocate `len` bytes: on ext4
/// a few milliseconds per GiB, on tmpfs the time to zero the pages (about
/// 0.2 s per GiB on the development machine; see `maph_create`'s docs).
pub fn reserve(file: &File, len: u64, what: &'static str) -> Result<()> {
    reserve_range(file, 0, len, what)
}

/// Reserves bytes `[off, off + len)` of `file` on its file system
/// (`posix_fallocate`), as `reserve` does for a whole object: used for the
/// part of a store's heap a new extent is about to use. Idempotent.
/// Errors as `reserve`.
pub fn reserve_range(file: &File, off: u64, len: u64, what: &'static str) -> Result<()> {
    let Ok(off_start) = libc::off_t::try_from(off) else {
        return Err(Error::TooLarge("object larger than off_t"));
    };
    let Ok(off_len) = libc::off_t::try_from(len) else {
        return Err(Error::TooLarge("object larger than off_t"));
    };
    if off_len == 0 {
        return Ok(());
    }
    // SAFETY: a plain system call on a descriptor `file` owns; it reads no
    // memory of ours.
    let r = unsafe { libc::posix_fallocate(file.as_raw_fd(), off_start, off_len) };
    match r {
        0 => Ok(()),
        libc::ENOSPC | libc::ENOMEM | libc::EFBIG => {
            Err(Error::NoSpace { bytes: len, errno: r, what })
        }
        libc::EOPNOTSUPP | libc::EINVAL => Err(Error::Io(
            r,
            "reserving space: the file system supports neither fallocate nor its emulation \
             (the sparse option skips the reservation, at the risk of SIGBUS when it fills)",
        )),
        e => Err(Error::Io(e, "reserving the object's space on its file system")),
    }
}

/// Bytes of the file system `file` is on (`fstatvfs`: `f_blocks *
/// f_frsize`); where it reports none (an anonymous memfd), the machine's
/// physical memory. Errors: `Io`.
pub fn capacity(file: &File) -> Result<u64> {
    // SAFETY: `statvfs` is plain old data; zeroed is a valid value.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: a descriptor `file` owns and a pointer to a live `statvfs`.
    if unsafe { libc::fstatvfs(file.as_raw_fd(), &mut st) } != 0 {
        return Err(Error::last_os("reading the size of the store's file system"));
    }
    let fs = (st.f_blocks as u64).saturating_mul(st.f_frsize as u64);
    if fs > 0 {
        return Ok(fs);
    }
    // SAFETY: `sysconf` reads no memory of ours.
    let (pages, size) =
        unsafe { (libc::sysconf(libc::_SC_PHYS_PAGES), libc::sysconf(libc::_SC_PAGESIZE)) };
    Ok((pages.max(0) as u64).saturating_mul(size.max(0) as u64))
}

/// Bytes of `file` that its file system has allocated (`st_blocks * 512`).
pub fn allocated_bytes(file: &File) -> Result<u64> {
    use std::os::unix::fs::MetadataExt;
    let m = file.metadata().map_err(|e| Error::from_io(&e, "reading the file's allocation"))?;
    Ok(m.blocks() * 512)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserve_allocates_every_block_of_a_sparse_file() {
        let dir = std::env::temp_dir().join(format!("maph-space-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("f");
        let f =
            File::options().read(true).write(true).create(true).truncate(true).open(&path).unwrap();
        f.set_len(8 << 20).unwrap();
        assert!(allocated_bytes(&f).unwrap() < 8 << 20, "set_len is sparse");
        reserve(&f, 8 << 20, "the test file").unwrap();
        assert!(allocated_bytes(&f).unwrap() >= 8 << 20);
        assert_eq!(f.metadata().unwrap().len(), 8 << 20);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
