//! Multiplexed logging across processes over shared memory (issue 17; the
//! C side is `ffi/log.rs`, the design is `docs/LOG.md`).
//!
//! Any number of threads in any number of processes write lines into one
//! [`Log`] — a ring of fixed-size slots in a file, a `/dev/shm` object, or
//! an anonymous memfd shared across `fork()` — and one drainer (a thread
//! started with [`Log::drain_to`], or a caller of [`Log::drain`]) turns
//! them into one ordered stream: time, pid, thread id, level, line.
//!
//! ## Algorithm
//!
//! Every slot starts with a state word: the *lap* of the position it is
//! ready for, a kind (free, claimed, committed, skipped) and, once
//! claimed, the claiming writer's pid. A shared `tail` names the next
//! position. A writer claims position `t` (slot `t % slots`, lap `t /
//! slots`) with one compare-and-swap of the slot's state word from
//! `free(lap)` to `claimed(lap, pid)` — so the claim and the claimer's pid
//! appear in one atomic step — then moves the tail on (any writer that
//! finds the slot at the tail already claimed moves the tail for it: no
//! writer waits for another). It fills the slot in place (timestamp,
//! thread id, level, line, checksum) and commits with a compare-and-swap
//! to `committed(lap, pid)` (Release). This is the bounded ring of
//! D. Vyukov's MPMC queue (per-slot sequence numbers), with the claim made
//! on the slot itself so that a dead claimer is identifiable.
//!
//! The drainer reads positions in order from `head`: a committed slot is
//! copied out, checked and emitted; a claimed slot whose writer is dead
//! (`kill(pid, 0)`, or a zombie) is marked skipped and announced; a free
//! one means the stream is caught up. After its output is written it marks
//! the slots `free(lap + 1)` and moves `head`. A writer that finds its
//! slot still holding the previous lap finds the buffer full: it drops the
//! line and counts it (announced in the stream), or waits for room up to
//! a timeout it chose.
//!
//! The stream's order is the order of the claims: each writer's lines in
//! program order, and a line whose write returned before another's began
//! comes first (the claim is the write's linearization point). The
//! timestamp is read right after the claim.

mod drain;
mod layout;
mod record;
mod region;
mod sys;

use std::os::unix::fs::FileExt;
use std::sync::atomic::{fence, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::sys::futex::futex_wait;
use crate::sys::pid::current_pid;
use layout::{kind_of, lap_diff, lap_of, state, Kind as SlotKind, LogGeometry};
use region::LogRegion;

pub use drain::{DrainReport, Drainer, Output};
pub use record::{format_entry, Entry, Kind, LEVEL_NAMES, MAX_LINE};

/// Bytes per slot; one slot holds one record of up to [`MAX_LINE`] bytes.
pub const SLOT_SIZE: u64 = layout::SLOT_SIZE;
/// How long a live writer may hold a claimed slot before the drainer skips
/// it (its write then fails with `Busy`).
pub const STALL_LIMIT: Duration = Duration::from_secs(2);

/// Counters of a log, read from its shared header (a snapshot).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Stats {
    /// Slots in the ring (records it holds at once).
    pub slot_count: u64,
    /// Positions claimed by writers since creation (each becomes a
    /// record, or a torn/stalled skip); never below `consumed`.
    pub claimed: u64,
    /// Positions the drainer has consumed (`head`).
    pub consumed: u64,
    /// Records handed to a drain callback or written by a drain thread.
    pub drained: u64,
    /// Lines writers dropped because the buffer was full (or their wait
    /// timed out).
    pub dropped: u64,
    /// Records skipped because their writer died before committing.
    pub torn: u64,
    /// Records skipped because their (live) writer stalled past
    /// [`STALL_LIMIT`].
    pub stalled: u64,
    /// Committed records that failed their checksum and were skipped.
    pub corrupt: u64,
}

/// What a writer does when the buffer is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WhenFull {
    /// Drop the line at once, count it, return `Full`.
    Drop,
    /// Wait for room up to this long, then drop and count it, return
    /// `Timeout`.
    Wait(Duration),
}

/// A log buffer mapped into this process.
///
/// Every method takes `&self` and is safe from many threads at once and
/// from many processes (each with its own `Log` on the same buffer, or one
/// inherited across `fork()`). Writes take no lock and make no system call
/// unless the buffer is full and the writer chose to wait.
pub struct Log {
    r: LogRegion,
    drain: Mutex<drain::DrainState>,
}

impl Log {
    /// Creates a log buffer of about `capacity_bytes` and maps it.
    ///
    /// `name`: a name containing `/` is a file path (created exclusively,
    /// mode 0600: the log survives every process and can be dumped later);
    /// any other name is the `/dev/shm` object `/dev/shm/<name>` (1 to 250
    /// bytes, not `.` or `..`). The buffer has the largest power-of-two
    /// number of 1024-byte slots that fits `capacity_bytes` (64 to 2^24
    /// slots), plus a 4 KiB header; its space is reserved at once
    /// (`posix_fallocate`).
    ///
    /// Errors: `InvalidArg` (bad name, capacity below 64 KiB), `TooLarge`
    /// (above 16 GiB), `NoSpace` (its file system, or for `/dev/shm` and
    /// anonymous logs memory, cannot reserve the space), `Exists`, `NotFound` (a directory of
    /// the path is missing), `Io`. On error nothing is left behind.
    pub fn create(name: impl AsRef<[u8]>, capacity_bytes: u64) -> Result<Log> {
        let place = sys::place(name.as_ref())?;
        let geom = LogGeometry::for_capacity(capacity_bytes)?;
        let file = sys::create(&place)?;
        Self::build(&file, geom).inspect_err(|_| {
            let _ = sys::unlink(&place);
        })
    }

    /// Creates an anonymous log buffer (a memfd, mapped shared): this
    /// process and children forked afterwards share it through the same
    /// `Log`. Capacity and errors as [`Log::create`].
    pub fn create_anon(capacity_bytes: u64) -> Result<Log> {
        let geom = LogGeometry::for_capacity(capacity_bytes)?;
        let file = crate::sys::shm::memfd(c"maph-log")?;
        Self::build(&file, geom)
    }

    fn build(file: &std::fs::File, geom: LogGeometry) -> Result<Log> {
        file.set_len(geom.total_len).map_err(|e| Error::from_io(&e, "sizing the log buffer"))?;
        crate::sys::space::reserve(file, geom.total_len, "the log buffer")?;
        let r = LogRegion::map(file, geom)?;
        // Zero-filled: every slot reads free(lap 0), tail = head = 0.
        r.write_header(&geom.encode(current_pid()));
        Ok(Log::wrap(r))
    }

    fn wrap(r: LogRegion) -> Log {
        Log { r, drain: Mutex::new(drain::DrainState::default()) }
    }

    /// Opens an existing log buffer (`name` as in [`Log::create`]).
    ///
    /// The header (magic, version, checksum, slot count, offsets) is
    /// checked against the object's length before anything else is read.
    /// A buffer whose creator has not finished is waited for up to 2 s.
    /// Errors: `InvalidArg`, `NotFound`, `Busy` (never finished),
    /// `Corrupt`, `Version`, `Io`.
    pub fn open(name: impl AsRef<[u8]>) -> Result<Log> {
        let place = sys::place(name.as_ref())?;
        let file = sys::open(&place)?;
        let start = Instant::now();
        loop {
            let len =
                file.metadata().map_err(|e| Error::from_io(&e, "reading the log's size"))?.len();
            if len >= layout::FIXED_LEN as u64 {
                let mut h = [0u8; layout::FIXED_LEN];
                file.read_exact_at(&mut h, 0)
                    .map_err(|e| Error::from_io(&e, "reading the log header"))?;
                if h[..8] != [0; 8] {
                    let geom = LogGeometry::decode(&h, len)?;
                    return Ok(Log::wrap(LogRegion::map(&file, geom)?));
                }
            }
            if start.elapsed() > Duration::from_secs(2) {
                return Err(Error::Busy);
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// Removes the name (file or `/dev/shm` object). Processes that have
    /// the log mapped keep using it. Errors: `InvalidArg`, `NotFound`, `Io`.
    pub fn unlink(name: impl AsRef<[u8]>) -> Result<()> {
        sys::unlink(&sys::place(name.as_ref())?)
    }

    /// Number of slots (records the buffer holds at once).
    pub fn slot_count(&self) -> u64 {
        self.r.geom().slot_count
    }

    /// Writes one line at `level` (syslog severities 0..=7 print by name;
    /// any u8 is accepted). Returns the line's position in the log.
    ///
    /// `when_full` says what happens when the buffer is full (the drainer
    /// is behind): drop the line at once (`Full`), or wait for room up to
    /// a timeout (`Timeout`); either way the line is counted in
    /// `Stats::dropped` and announced in the stream. Errors: `TooLarge`
    /// (longer than [`MAX_LINE`]: nothing is written, nothing truncated),
    /// `Full`, `Timeout`, `Busy` (this writer stalled more than
    /// [`STALL_LIMIT`] between claiming and committing, and the drainer
    /// skipped its slot), `Corrupt` (the slot at the tail holds a state no
    /// correct writer leaves), `InvalidArg` (a pid above 2^22).
    ///
    /// Cost when not full: two compare-and-swaps on shared lines (the
    /// slot's state word and the tail), a clock read, the copy of the line
    /// and its checksum. No lock, no system call.
    pub fn write(&self, level: u8, line: &[u8], when_full: WhenFull) -> Result<u64> {
        if line.len() > MAX_LINE {
            return Err(Error::TooLarge("log line longer than MAPH_LOG_MAX_LINE (996 bytes)"));
        }
        let me = current_pid();
        if me > layout::PID_MAX {
            return Err(Error::InvalidArg("pid above 2^22 does not fit a log slot"));
        }
        let t = match self.claim(me)? {
            Some(t) => t,
            None => self.claim_when_full(me, when_full)?,
        };
        self.fill_and_commit(t, me, level, line, || {})
    }

    /// Test support, not API: writes like [`Log::write`] (waiting up to
    /// 10 s for room) but calls `hold` after the header and half the line are in
    /// the slot, before the rest and the commit — a test kills the process
    /// inside `hold` to leave a record torn at a known point.
    #[doc(hidden)]
    pub fn write_holding_for_tests(
        &self, level: u8, line: &[u8], hold: impl FnOnce(),
    ) -> Result<u64> {
        if line.len() > MAX_LINE {
            return Err(Error::TooLarge("log line longer than MAPH_LOG_MAX_LINE (996 bytes)"));
        }
        let me = current_pid();
        let t = match self.claim(me)? {
            Some(t) => t,
            None => self.claim_when_full(me, WhenFull::Wait(Duration::from_secs(10)))?,
        };
        self.fill_and_commit(t, me, level, line, hold)
    }

    #[inline]
    fn fill_and_commit(
        &self, t: u64, me: u32, level: u8, line: &[u8], hold: impl FnOnce(),
    ) -> Result<u64> {
        let g = self.r.geom();
        let i = t & (g.slot_count - 1);
        let lap = t >> g.shift;
        let hdr = record::encode_header(sys::now_ns(), sys::tid(), line.len() as u16, level);
        let sum = record::checksum(t, me, &hdr, line);
        let mut head = [0u8; record::LINE_OFF - record::HDR_OFF];
        head[..record::HDR_LEN].copy_from_slice(&hdr);
        head[record::HDR_LEN..].copy_from_slice(&sum.to_le_bytes());
        self.r.write_slot(i, record::HDR_OFF, &head);
        let half = line.len() / 2;
        self.r.write_slot(i, record::LINE_OFF, &line[..half]);
        hold();
        self.r.write_slot(i, record::LINE_OFF + half, &line[half..]);
        // Release: the drainer that sees `committed` sees the bytes above.
        match self.r.state(i).compare_exchange(
            state(lap, SlotKind::Claimed, me),
            state(lap, SlotKind::Committed, me),
            Ordering::Release,
            Ordering::Relaxed,
        ) {
            Ok(_) => Ok(t),
            Err(_) => Err(Error::Busy),
        }
    }

    /// Claims the position at the tail: `Some(position)`, or `None` when
    /// the buffer is full.
    #[inline]
    fn claim(&self, me: u32) -> Result<Option<u64>> {
        let g = self.r.geom();
        let tail = self.r.header_u64(layout::OFF_TAIL);
        let mut t = tail.load(Ordering::Acquire);
        loop {
            let i = t & (g.slot_count - 1);
            let lap = t >> g.shift;
            let st = self.r.state(i);
            let s = st.load(Ordering::Acquire);
            let free = state(lap, SlotKind::Free, 0);
            if s == free {
                if st
                    .compare_exchange(
                        free,
                        state(lap, SlotKind::Claimed, me),
                        Ordering::AcqRel,
                        Ordering::Relaxed,
                    )
                    .is_ok()
                {
                    let _ = tail.compare_exchange(t, t + 1, Ordering::Release, Ordering::Relaxed);
                    return Ok(Some(t));
                }
                t = tail.load(Ordering::Acquire);
                continue;
            }
            match lap_diff(lap_of(s), lap) {
                // Position t was claimed by another writer that has not
                // moved the tail yet — and may even be drained already
                // (its slot then reads the next lap): move it for them.
                0 | 1 => {
                    t = match tail.compare_exchange(t, t + 1, Ordering::AcqRel, Ordering::Acquire) {
                        Ok(_) => t + 1,
                        Err(now) => now,
                    };
                }
                // The previous lap's record is not drained yet: full.
                -1 if kind_of(s) != SlotKind::Free => return Ok(None),
                _ => {
                    // Our tail was stale (the slot has moved on). If the
                    // tail has not moved, the slot contradicts it.
                    let now = tail.load(Ordering::Acquire);
                    if now == t {
                        return Err(Error::Corrupt("log slot state disagrees with the tail"));
                    }
                    t = now;
                }
            }
        }
    }

    #[cold]
    fn claim_when_full(&self, me: u32, when_full: WhenFull) -> Result<u64> {
        let dropped = self.r.header_u64(layout::OFF_DROPPED);
        let timeout = match when_full {
            WhenFull::Drop => {
                dropped.fetch_add(1, Ordering::Relaxed);
                return Err(Error::Dropped);
            }
            WhenFull::Wait(d) => d,
        };
        let deadline = Instant::now().checked_add(timeout);
        let word = self.r.header_u32(layout::OFF_SPACE_WAIT);
        loop {
            // Announce a sleeper, then look again before sleeping: the
            // drainer frees slots, fences (SeqCst) and then reads the word,
            // so either it sees the flag or this sees the room (Drepper,
            // "Futexes are tricky").
            let s = word.fetch_or(1, Ordering::SeqCst) | 1;
            fence(Ordering::SeqCst);
            if let Some(t) = self.claim(me)? {
                return Ok(t);
            }
            let remaining = match deadline {
                None => Duration::from_millis(10),
                Some(d) => match d.checked_duration_since(Instant::now()) {
                    Some(r) if !r.is_zero() => r,
                    _ => {
                        dropped.fetch_add(1, Ordering::Relaxed);
                        return Err(Error::Timeout);
                    }
                },
            };
            // At most 10 ms per sleep: a wake lost to a drainer that died
            // between freeing and waking costs 10 ms, not the whole wait.
            futex_wait(word, s, Some(remaining.min(Duration::from_millis(10))));
        }
    }

    /// The log's counters (a snapshot of its shared header).
    pub fn stats(&self) -> Stats {
        let h = |o| self.r.header_u64(o).load(Ordering::Relaxed);
        Stats {
            slot_count: self.slot_count(),
            // The drainer may consume a position before its writer (or a
            // helper) moves the tail past it.
            claimed: h(layout::OFF_TAIL).max(h(layout::OFF_HEAD)),
            consumed: h(layout::OFF_HEAD),
            drained: h(layout::OFF_DRAINED),
            dropped: h(layout::OFF_DROPPED),
            torn: h(layout::OFF_TORN),
            stalled: h(layout::OFF_STALLED),
            corrupt: h(layout::OFF_CORRUPT),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_lap_records_verify() {
        let log = Log::create_anon(64 * 1024).unwrap();
        for lap in 0..3 {
            for i in 0..64 {
                log.write(6, format!("l{lap} {i}").as_bytes(), WhenFull::Drop).unwrap();
            }
            let mut kinds = Vec::new();
            log.drain(1000, |e| {
                kinds.push(e.kind);
                true
            })
            .unwrap();
            assert!(
                kinds.iter().all(|&k| k == Kind::Line),
                "lap {lap}: {:?} {:?}",
                &kinds[..3],
                log.stats()
            );
        }
    }
}
