//! Helpers shared by the fuzz targets: a reader that turns fuzz bytes into
//! small numbers (never failing: past the end it reads zeros), and a memfd
//! holding given bytes.

use std::fs::File;
use std::io::Write;
use std::os::fd::FromRawFd;

/// Reads the fuzz input front to back; past the end every read is 0.
pub struct Input<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Input<'a> {
    /// A reader over `data`.
    pub fn new(data: &'a [u8]) -> Input<'a> {
        Input { data, pos: 0 }
    }

    /// Whether every byte has been read.
    pub fn done(&self) -> bool {
        self.pos >= self.data.len()
    }

    /// The next byte (0 past the end).
    pub fn u8(&mut self) -> u8 {
        let b = self.data.get(self.pos).copied().unwrap_or(0);
        self.pos += 1;
        b
    }

    /// The next little-endian u16.
    pub fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.u8(), self.u8()])
    }

    /// The next little-endian u64.
    pub fn u64(&mut self) -> u64 {
        let mut b = [0u8; 8];
        for x in &mut b {
            *x = self.u8();
        }
        u64::from_le_bytes(b)
    }

    /// The next `n` bytes (zero-padded past the end).
    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.u8()).collect()
    }
}

/// An anonymous memory file (memfd) holding `bytes`, then zero-extended to
/// `len` bytes when `len` is larger.
pub fn memfd_with(bytes: &[u8], len: u64) -> File {
    // SAFETY: memfd_create takes a NUL-terminated name and flags; it returns
    // a new descriptor or -1, checked below.
    let fd = unsafe { libc::memfd_create(c"maph-fuzz".as_ptr(), libc::MFD_CLOEXEC) };
    assert!(fd >= 0, "memfd_create failed");
    // SAFETY: `fd` is a fresh descriptor that nothing else owns.
    let mut f = unsafe { File::from_raw_fd(fd) };
    f.write_all(bytes).expect("writing the memfd");
    if len > bytes.len() as u64 {
        f.set_len(len).expect("sizing the memfd");
    }
    f
}
