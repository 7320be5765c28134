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

/// Largest offset plus length an extent may reach in the `open` target's
/// extent form (its `MAX_LEN`): 16 MiB.
pub const EXTENTS_MAX_END: u64 = 16 << 20;

/// The `open` target's extent form of a file (flag bit 3): a list of
/// extents, each an offset (u32, little-endian), a length (u32) and that
/// many bytes; every byte outside them is zero. The file's zero runs cost
/// nothing, so a sparse store of several MiB (a growing store's address
/// space, its heap and MPHF banks far past its slots) is a seed of a few
/// hundred KiB. Runs of non-zero bytes closer than `gap` bytes share an
/// extent (fewer 8-byte extent headers); a trailing run of zeros is
/// dropped (the target's flag bit 1 restores the length).
pub fn to_extents(file: &[u8], gap: usize) -> Vec<u8> {
    assert!(file.len() as u64 <= EXTENTS_MAX_END, "file too large for the extent form");
    let mut out = Vec::new();
    let mut i = 0;
    while i < file.len() {
        if file[i] == 0 {
            i += 1;
            continue;
        }
        // A run from i: extend while the next non-zero byte is within gap.
        let start = i;
        let mut end = i + 1;
        let mut j = end;
        while j < file.len() && j - end <= gap {
            if file[j] != 0 {
                end = j + 1;
            }
            j += 1;
        }
        out.extend_from_slice(&(start as u32).to_le_bytes());
        out.extend_from_slice(&((end - start) as u32).to_le_bytes());
        out.extend_from_slice(&file[start..end]);
        i = end;
    }
    out
}

/// Decodes the extent form (see `to_extents`) into (offset, bytes) pairs,
/// never failing: a short last length takes the bytes that are left, a
/// header cut short ends the list, and bytes past `EXTENTS_MAX_END` are
/// dropped.
pub fn from_extents(mut body: &[u8]) -> Vec<(u64, &[u8])> {
    let mut out = Vec::new();
    while body.len() >= 8 {
        let off = u64::from(u32::from_le_bytes(body[..4].try_into().unwrap()));
        let len = u32::from_le_bytes(body[4..8].try_into().unwrap()) as usize;
        let n = len.min(body.len() - 8);
        let bytes = &body[8..8 + n];
        body = &body[8 + n..];
        let keep = EXTENTS_MAX_END.saturating_sub(off).min(n as u64) as usize;
        if keep > 0 {
            out.push((off, &bytes[..keep]));
        }
    }
    out
}
