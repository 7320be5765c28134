//! The record format: what a writer puts in its slot, how the drainer
//! checks it, and the text line each record becomes in the stream.
//!
//! ```text
//! slot offset  bytes  field
//!   0          8      state word (layout.rs: lap, kind, pid)
//!   8          8      timestamp, ns since the Unix epoch (CLOCK_REALTIME)
//!  16          4      thread id (gettid)
//!  20          2      line length in bytes (0..=MAX_LINE)
//!  22          1      level
//!  23          1      flags (0)
//!  24          4      checksum (low 32 bits of XXH3-64, see `checksum`)
//!  28          len    the line
//! ```
//!
//! A 100-byte line fills exactly two cache lines (28 + 100 = 128 bytes).

use super::layout::SLOT_SIZE;

/// Offset of the record header in a slot (after the state word).
pub const HDR_OFF: usize = 8;
/// Bytes of the record header that the checksum covers directly.
pub const HDR_LEN: usize = 16;
/// Offset of the checksum.
pub const SUM_OFF: usize = 24;
/// Offset of the line.
pub const LINE_OFF: usize = 28;
/// Longest line one record holds, in bytes. A longer line is refused
/// (`TooLarge`), never truncated.
pub const MAX_LINE: usize = SLOT_SIZE as usize - LINE_OFF;

const _: () = assert!(SUM_OFF == HDR_OFF + HDR_LEN && LINE_OFF == SUM_OFF + 4);

/// Syslog severities (RFC 5424): the names the stream prints for levels
/// 0..=7; any other level prints as `L<n>`.
pub const LEVEL_NAMES: [&str; 8] =
    ["EMERG", "ALERT", "CRIT", "ERROR", "WARN", "NOTICE", "INFO", "DEBUG"];

/// The 16 header bytes at `HDR_OFF`.
#[inline]
pub fn encode_header(ts_ns: u64, tid: u32, len: u16, level: u8) -> [u8; HDR_LEN] {
    let mut h = [0u8; HDR_LEN];
    h[0..8].copy_from_slice(&ts_ns.to_le_bytes());
    h[8..12].copy_from_slice(&tid.to_le_bytes());
    h[12..14].copy_from_slice(&len.to_le_bytes());
    h[14] = level;
    h[15] = 0;
    h
}

/// The record checksum: XXH3-64 of the line, seeded with XXH3-64 of the
/// position, the writer's pid and the header (so a record copied to
/// another position, or a header from another record, does not verify),
/// truncated to 32 bits. It catches a record damaged on disk, and the
/// stray copy of a writer that lost its claim after stalling (docs/LOG.md).
#[inline]
pub fn checksum(pos: u64, pid: u32, hdr: &[u8; HDR_LEN], line: &[u8]) -> u32 {
    let mut k = [0u8; 28];
    k[0..8].copy_from_slice(&pos.to_le_bytes());
    k[8..12].copy_from_slice(&pid.to_le_bytes());
    k[12..28].copy_from_slice(hdr);
    let seed = xxhash_rust::xxh3::xxh3_64(&k);
    xxhash_rust::xxh3::xxh3_64_with_seed(line, seed) as u32
}

/// What the drained stream carries: a record, or a notice from the log
/// itself about records that are not in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A line a writer logged.
    Line,
    /// `count` records were dropped by writers because the buffer was full
    /// (or their wait timed out) since the last such notice.
    Dropped,
    /// A writer (`pid`) died between claiming its slot and committing its
    /// record: the half-written record was skipped.
    Torn,
    /// A writer (`pid`, alive) did not commit within the stall limit: its
    /// slot was skipped, and its write returns an error.
    Stalled,
    /// A committed record failed its checksum (damaged) and was skipped.
    Corrupt,
}

/// One item of the drained stream, borrowed from the drainer's buffer.
#[derive(Debug, Clone, Copy)]
pub struct Entry<'a> {
    /// What this is.
    pub kind: Kind,
    /// The record's position in the log (0, 1, 2, ... over the log's
    /// life; notices carry the position they were found at).
    pub pos: u64,
    /// Nanoseconds since the Unix epoch: when the writer claimed its slot
    /// (a line), or when the drainer found the condition (a notice).
    pub ts_ns: u64,
    /// The writer's pid (a line, torn, stalled), or 0.
    pub pid: u32,
    /// The writer's thread id (a line), or 0.
    pub tid: u32,
    /// The level the writer gave (a line), or 0.
    pub level: u8,
    /// Records dropped (a `Dropped` notice); 1 for the others.
    pub count: u64,
    /// The line's bytes (a line), or empty.
    pub line: &'a [u8],
}

/// Appends `YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ` (UTC) for `ns` since the epoch.
pub fn push_time(out: &mut Vec<u8>, ns: u64) {
    let secs = (ns / 1_000_000_000) as i64;
    let frac = ns % 1_000_000_000;
    let (days, sod) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    push_num(out, y as u64, 4);
    out.push(b'-');
    push_num(out, m as u64, 2);
    out.push(b'-');
    push_num(out, d as u64, 2);
    out.push(b'T');
    push_num(out, (sod / 3600) as u64, 2);
    out.push(b':');
    push_num(out, (sod / 60 % 60) as u64, 2);
    out.push(b':');
    push_num(out, (sod % 60) as u64, 2);
    out.push(b'.');
    push_num(out, frac, 9);
    out.push(b'Z');
}

/// Gregorian date of a day count since 1970-01-01: Howard Hinnant's
/// `civil_from_days` ("chrono-Compatible Low-Level Date Algorithms").
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097) as u64;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe as i64 + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// Appends `v` in decimal, zero-padded to at least `width` digits.
fn push_num(out: &mut Vec<u8>, mut v: u64, width: usize) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 && buf.len() - i >= width {
            break;
        }
    }
    out.extend_from_slice(&buf[i..]);
}

/// Appends the level's name.
fn push_level(out: &mut Vec<u8>, level: u8) {
    match LEVEL_NAMES.get(level as usize) {
        Some(n) => out.extend_from_slice(n.as_bytes()),
        None => {
            out.push(b'L');
            push_num(out, level as u64, 1);
        }
    }
}

/// Appends `line` with one trailing newline removed and the bytes that
/// would break the one-record-per-line stream escaped: `\` as `\\`, LF as
/// `\n`, CR as `\r`, other control bytes (but tab) as `\xNN`. Other bytes
/// (UTF-8 or not) pass unchanged.
fn push_escaped(out: &mut Vec<u8>, line: &[u8]) {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    for &b in line {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.push(b),
            0..=0x1f | 0x7f => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.extend_from_slice(&[
                    b'\\',
                    b'x',
                    HEX[(b >> 4) as usize],
                    HEX[(b & 15) as usize],
                ]);
            }
            _ => out.push(b),
        }
    }
}

/// Appends the stream's text line for `e`:
///
/// ```text
/// 2026-12-03T08:41:16.123456789Z 4242 4243 INFO the line
/// 2026-12-03T08:41:16.200000000Z 0 0 LOG maph-log: 12 records dropped (buffer full)
/// ```
///
/// Fields: UTC time with nanoseconds, pid, thread id, level name, the
/// line (escaped, see `push_escaped`). Notices from the log itself have
/// level `LOG` and a text starting `maph-log:`.
pub fn format_entry(out: &mut Vec<u8>, e: &Entry) {
    push_time(out, e.ts_ns);
    out.push(b' ');
    push_num(out, e.pid as u64, 1);
    out.push(b' ');
    push_num(out, e.tid as u64, 1);
    out.push(b' ');
    match e.kind {
        Kind::Line => {
            push_level(out, e.level);
            out.push(b' ');
            push_escaped(out, e.line);
        }
        Kind::Dropped => {
            out.extend_from_slice(b"LOG maph-log: ");
            push_num(out, e.count, 1);
            out.extend_from_slice(b" records dropped (buffer full)");
        }
        Kind::Torn => {
            out.extend_from_slice(b"LOG maph-log: record ");
            push_num(out, e.pos, 1);
            out.extend_from_slice(b" skipped (its writer died before committing it)");
        }
        Kind::Stalled => {
            out.extend_from_slice(b"LOG maph-log: record ");
            push_num(out, e.pos, 1);
            out.extend_from_slice(b" skipped (its writer stalled past the limit)");
        }
        Kind::Corrupt => {
            out.extend_from_slice(b"LOG maph-log: record ");
            push_num(out, e.pos, 1);
            out.extend_from_slice(b" skipped (checksum mismatch: damaged)");
        }
    }
    out.push(b'\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(e: &Entry) -> String {
        let mut v = Vec::new();
        format_entry(&mut v, e);
        String::from_utf8(v).unwrap()
    }

    #[test]
    fn stream_line_has_utc_time_pid_tid_level_and_escaped_bytes() {
        let e = Entry {
            kind: Kind::Line,
            pos: 0,
            // 2026-12-03T08:41:16.000000123Z
            ts_ns: 1_796_287_276_000_000_123,
            pid: 42,
            tid: 43,
            level: 6,
            count: 1,
            line: b"a\\b\nc\x01\n",
        };
        assert_eq!(line(&e), "2026-12-03T08:41:16.000000123Z 42 43 INFO a\\\\b\\nc\\x01\n");
        let e = Entry { level: 200, line: b"", ..e };
        assert!(line(&e).ends_with(" L200 \n"));
    }

    #[test]
    fn dates_match_known_days_including_leap_years() {
        let mut v = Vec::new();
        push_time(&mut v, 0);
        assert_eq!(v, b"1970-01-01T00:00:00.000000000Z");
        v.clear();
        push_time(&mut v, 951_782_400 * 1_000_000_000); // 2000-02-29
        assert_eq!(v, b"2000-02-29T00:00:00.000000000Z");
    }

    #[test]
    fn checksum_depends_on_position_pid_header_and_line() {
        let h = encode_header(1, 2, 3, 4);
        let c = checksum(7, 9, &h, b"abc");
        assert_ne!(c, checksum(8, 9, &h, b"abc"));
        assert_ne!(c, checksum(7, 10, &h, b"abc"));
        assert_ne!(c, checksum(7, 9, &encode_header(1, 2, 3, 5), b"abc"));
        assert_ne!(c, checksum(7, 9, &h, b"abd"));
    }
}
