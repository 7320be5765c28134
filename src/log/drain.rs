//! The drainer: turns committed slots into the ordered stream, skips the
//! slots of dead (or stalled) writers, announces drops, frees slots, and
//! the thread that writes the stream to a file descriptor.
//!
//! One drainer at a time per log, across processes: the drain lock is the
//! owner's pid in the header (taken over when that process is dead). A
//! batch is scanned, handed out (callback, or formatted and written), and
//! only then are its slots freed and `head` moved — so a drainer killed in
//! the middle loses nothing: the next one delivers the batch again
//! (at-least-once across a drainer's death, exactly-once otherwise).

use std::os::fd::RawFd;
use std::sync::atomic::{fence, AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::layout::{self, kind_of, lap_diff, lap_of, pid_of, state, Kind as SlotKind};
use super::record::{self, Entry, Kind};
use super::{sys, Log, STALL_LIMIT};
use crate::error::{Error, Result};
use crate::sync::robust_lock::{self, RobustGuard};
use crate::sys::futex::futex_wake;
use crate::sys::pid::{current_pid, process_alive};

/// How often the drainer asks whether the writer of a claimed slot lives.
const LIVENESS_PERIOD: Duration = Duration::from_millis(1);
/// Most items one batch takes before its slots are freed (the drain
/// thread, and each step of `drain`): 1024 slots' state lines fit the
/// caches, so freeing them does not miss again.
const BATCH: usize = 1024;
/// Longest idle sleep of the drain thread (the latency of the stream when
/// writers are quiet; the buffer must hold this long's worth of lines).
const MAX_IDLE_SLEEP: Duration = Duration::from_millis(1);
/// How long `Drainer::stop` keeps draining for lines written before it.
const STOP_LIMIT: Duration = Duration::from_secs(5);

/// The drainer's private state between batches (in this process).
#[derive(Default)]
pub(super) struct DrainState {
    /// The claimed slot the drainer is waiting on: its position, when it
    /// was first seen claimed, when its writer was last checked.
    waiting: Option<(u64, Instant, Instant)>,
    /// Copy of the line being emitted.
    line: Vec<u8>,
}

/// Positions `start..end` were scanned and emitted; not yet freed.
struct Batch {
    start: u64,
    end: u64,
    lines: u64,
    items: usize,
    drops_seen: Option<u64>,
}

/// What a drain thread did, returned by [`Drainer::stop`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DrainReport {
    /// Stream lines written (records and notices).
    pub items: u64,
    /// Bytes written.
    pub bytes: u64,
}

/// Where a drain thread writes the stream.
pub enum Output {
    /// A file descriptor the caller keeps (not closed by the drainer).
    Fd(RawFd),
    /// A file the drainer owns (closed when it stops).
    File(std::fs::File),
}

impl Output {
    fn fd(&self) -> RawFd {
        use std::os::fd::AsRawFd;
        match self {
            Output::Fd(fd) => *fd,
            Output::File(f) => f.as_raw_fd(),
        }
    }
}

/// `write(2)` of all of `buf` to `fd`, retrying on EINTR and short writes.
fn write_all(fd: RawFd, mut buf: &[u8]) -> Result<()> {
    while !buf.is_empty() {
        // SAFETY: `buf` is valid for `buf.len()` bytes; `fd` is the
        // caller's descriptor (a bad one gives EBADF, not UB).
        let n = unsafe { libc::write(fd, buf.as_ptr().cast(), buf.len()) };
        if n < 0 {
            if std::io::Error::last_os_error().raw_os_error() == Some(libc::EINTR) {
                continue;
            }
            return Err(Error::last_os("writing the log stream"));
        }
        buf = &buf[n as usize..];
    }
    Ok(())
}

impl Log {
    /// Takes the drain lock: the robust lock (`sync::robust_lock`) in the
    /// header's drain-owner word, taken over at once from a dead holder.
    /// Never waits. Errors: `Conflict` (another drainer, in this or another
    /// live process).
    fn lock_drain(&self) -> Result<RobustGuard<'_>> {
        robust_lock::try_lock_or_take_over(self.r.header_u32(layout::OFF_DRAIN_OWNER), true)
            .map(|(g, _)| g)
            .ok_or(Error::Conflict("another drainer is running on this log"))
    }

    /// Releases the drain lock a drain thread holds (its guard was
    /// forgotten in `drain_to`: a guard borrows the log, and the thread
    /// owns only an `Arc` of it).
    fn unlock_drain(&self) {
        self.r.header_u32(layout::OFF_DRAIN_OWNER).store(0, Ordering::Release);
    }

    /// Reads the committed record at position `p` (slot state `s`) into
    /// `line`; returns its header, or None when it fails its checks.
    fn read_record(&self, p: u64, s: u64, line: &mut Vec<u8>) -> Option<(u64, u32, u8)> {
        let i = p & (self.r.geom().slot_count - 1);
        let mut head = [0u8; record::LINE_OFF - record::HDR_OFF];
        self.r.read_slot(i, record::HDR_OFF, &mut head);
        let hdr: [u8; record::HDR_LEN] = head[..record::HDR_LEN].try_into().unwrap();
        let sum = u32::from_le_bytes(head[record::HDR_LEN..].try_into().unwrap());
        let len = u16::from_le_bytes([hdr[12], hdr[13]]) as usize;
        if len > record::MAX_LINE || hdr[15] != 0 {
            return None;
        }
        line.resize(len, 0);
        self.r.read_slot(i, record::LINE_OFF, line);
        if record::checksum(p, pid_of(s), &hdr, line) != sum {
            return None;
        }
        let ts = u64::from_le_bytes(hdr[0..8].try_into().unwrap());
        let tid = u32::from_le_bytes(hdr[8..12].try_into().unwrap());
        Some((ts, tid, hdr[14]))
    }

    /// Scans from `head`, emitting up to `max` items, until the stream is
    /// caught up, a live writer's claimed slot is reached, or `emit` says
    /// stop. Frees nothing. The caller holds the drain lock.
    fn scan(&self, st: &mut DrainState, max: usize, emit: &mut dyn FnMut(&Entry) -> bool) -> Batch {
        let g = *self.r.geom();
        let start = self.r.header_u64(layout::OFF_HEAD).load(Ordering::Acquire);
        let mut b = Batch { start, end: start, lines: 0, items: 0, drops_seen: None };
        while b.items < max {
            let p = b.end;
            let i = p & (g.slot_count - 1);
            let lap = p >> g.shift;
            let slot = self.r.state(i);
            let s = slot.load(Ordering::Acquire);
            match lap_diff(lap_of(s), lap) {
                0 => {}
                // Still the previous lap's record, consumed in this batch
                // but not yet freed: the scan has gone round the ring.
                -1 => break,
                // Freed already by a drainer that died before moving head.
                1 => {
                    b.end += 1;
                    continue;
                }
                // A state no correct process leaves at the head (damaged
                // memory): skip the slot, say so.
                _ => {
                    slot.store(state(lap, SlotKind::Skipped, 0), Ordering::Relaxed);
                    self.count(layout::OFF_CORRUPT);
                    b.end += 1;
                    b.items += 1;
                    if !emit(&notice(Kind::Corrupt, p, 0)) {
                        return b;
                    }
                    continue;
                }
            }
            let entry_ok = match kind_of(s) {
                SlotKind::Free => break,
                SlotKind::Skipped => {
                    // Skipped (and announced) by a drainer that died
                    // before freeing it.
                    b.end += 1;
                    continue;
                }
                SlotKind::Committed => {
                    st.waiting = None;
                    b.end += 1;
                    b.items += 1;
                    match self.read_record(p, s, &mut st.line) {
                        Some((ts_ns, tid, level)) => {
                            b.lines += 1;
                            emit(&Entry {
                                kind: Kind::Line,
                                pos: p,
                                ts_ns,
                                pid: pid_of(s),
                                tid,
                                level,
                                count: 1,
                                line: &st.line,
                            })
                        }
                        None => {
                            self.count(layout::OFF_CORRUPT);
                            emit(&notice(Kind::Corrupt, p, pid_of(s)))
                        }
                    }
                }
                SlotKind::Claimed => {
                    let pid = pid_of(s);
                    let now = Instant::now();
                    let (since, last) = match st.waiting {
                        Some((wp, since, last)) if wp == p => (since, last),
                        _ => {
                            st.waiting = Some((p, now, now));
                            break;
                        }
                    };
                    let kind = if now.duration_since(last) >= LIVENESS_PERIOD && !process_alive(pid)
                    {
                        Kind::Torn
                    } else if now.duration_since(since) >= STALL_LIMIT {
                        Kind::Stalled
                    } else {
                        if now.duration_since(last) >= LIVENESS_PERIOD {
                            st.waiting = Some((p, since, now));
                        }
                        break;
                    };
                    // The writer's commit compares against `claimed`: after
                    // this it fails, so no record appears here later.
                    if slot
                        .compare_exchange(
                            s,
                            state(lap, SlotKind::Skipped, pid),
                            Ordering::AcqRel,
                            Ordering::Relaxed,
                        )
                        .is_err()
                    {
                        continue; // it committed just now: read it
                    }
                    st.waiting = None;
                    self.count(if kind == Kind::Torn {
                        layout::OFF_TORN
                    } else {
                        layout::OFF_STALLED
                    });
                    b.end += 1;
                    b.items += 1;
                    emit(&notice(kind, p, pid))
                }
            };
            if !entry_ok {
                return b;
            }
        }
        // Drops happen while the buffer is full, so after the lines it
        // held were claimed: they are announced after the lines scanned.
        let dropped = self.r.header_u64(layout::OFF_DROPPED).load(Ordering::Relaxed);
        let reported = self.r.header_u64(layout::OFF_DROPS_REPORTED).load(Ordering::Relaxed);
        if dropped > reported && b.items < max {
            b.drops_seen = Some(dropped);
            b.items += 1;
            emit(&Entry { count: dropped - reported, ..notice(Kind::Dropped, b.end, 0) });
        }
        b
    }

    fn count(&self, off: usize) {
        self.r.header_u64(off).fetch_add(1, Ordering::Relaxed);
    }

    /// Frees the slots of a handed-out batch, moves `head`, and wakes the
    /// writers waiting for room. The caller holds the drain lock.
    fn commit(&self, b: &Batch) {
        let g = *self.r.geom();
        for p in b.start..b.end {
            let i = p & (g.slot_count - 1);
            let lap = p >> g.shift;
            let slot = self.r.state(i);
            let s = slot.load(Ordering::Relaxed);
            // Only the drain lock holder moves a slot off `committed` or
            // `skipped`, so this load-then-store does not race.
            if lap_diff(lap_of(s), lap) == 0
                && matches!(kind_of(s), SlotKind::Committed | SlotKind::Skipped)
            {
                slot.store(state(lap + 1, SlotKind::Free, 0), Ordering::Release);
            }
        }
        self.r.header_u64(layout::OFF_HEAD).store(b.end, Ordering::Release);
        self.r.header_u64(layout::OFF_DRAINED).fetch_add(b.lines, Ordering::Relaxed);
        if let Some(d) = b.drops_seen {
            self.r.header_u64(layout::OFF_DROPS_REPORTED).store(d, Ordering::Relaxed);
        }
        if b.end > b.start {
            // Pairs with the fence in `claim_when_full` (Dekker).
            fence(Ordering::SeqCst);
            let word = self.r.header_u32(layout::OFF_SPACE_WAIT);
            let w = word.load(Ordering::Relaxed);
            if w & 1 != 0
                && word
                    .compare_exchange(w, w.wrapping_add(1), Ordering::SeqCst, Ordering::Relaxed)
                    .is_ok()
            {
                futex_wake(word);
            }
        }
    }

    /// Drains by hand: hands up to `max` items of the stream, in order, to
    /// `emit` (return `false` to stop after that item), then frees their
    /// slots. Returns how many items were handed out (0: caught up, or
    /// waiting for a writer that is inside its write).
    ///
    /// Items are lines and notices (drops, torn/stalled/corrupt records;
    /// see [`Kind`]). A writer found dead inside its write is noticed
    /// after its slot has been claimed for ≥ 1 ms (two calls apart), a
    /// live one that stalls is skipped after [`STALL_LIMIT`].
    /// Errors: `Conflict` (another drainer — a drain thread, or a drain in
    /// another process — is running).
    pub fn drain(&self, max: usize, mut emit: impl FnMut(&Entry) -> bool) -> Result<usize> {
        let _lock = self.lock_drain()?;
        let mut st = self.drain.lock().unwrap_or_else(|e| e.into_inner());
        // Batches of at most BATCH items, each freed before the next: the
        // state lines a batch read are still in cache when it frees them.
        let mut total = 0;
        let mut stopped = false;
        while total < max && !stopped {
            let want = (max - total).min(BATCH);
            let b = self.scan(&mut st, want, &mut |e| {
                let go = emit(e);
                stopped |= !go;
                go
            });
            self.commit(&b);
            total += b.items;
            if b.items < want {
                break;
            }
        }
        Ok(total)
    }

    /// Hands what is left in the buffer to `emit`, in order, without
    /// consuming it (no state changes: a dump can run while a drainer
    /// runs, and twice). Meant for a log no process writes any more —
    /// `maph log-dump`: a claimed slot is reported as torn whether or not
    /// its writer lives, and drops not yet announced are announced.
    /// Returns the number of items. Errors: none yet (a `Result` for
    /// future checks).
    pub fn dump(&self, mut emit: impl FnMut(&Entry)) -> Result<usize> {
        let g = *self.r.geom();
        let head = self.r.header_u64(layout::OFF_HEAD).load(Ordering::Acquire);
        let tail = self.r.header_u64(layout::OFF_TAIL).load(Ordering::Acquire);
        // The head may pass the tail for a moment (a record drained before
        // its writer moved the tail); nothing is left past the head then.
        let tail = tail.max(head);
        let start = head.max(tail.saturating_sub(g.slot_count));
        let mut n = 0;
        let dropped = self.r.header_u64(layout::OFF_DROPPED).load(Ordering::Relaxed);
        let reported = self.r.header_u64(layout::OFF_DROPS_REPORTED).load(Ordering::Relaxed);
        if dropped > reported {
            emit(&Entry { count: dropped - reported, ..notice(Kind::Dropped, start, 0) });
            n += 1;
        }
        let mut line = Vec::new();
        for p in start..tail {
            let i = p & (g.slot_count - 1);
            let s = self.r.state(i).load(Ordering::Acquire);
            if lap_diff(lap_of(s), p >> g.shift) != 0 {
                continue;
            }
            match kind_of(s) {
                SlotKind::Committed => match self.read_record(p, s, &mut line) {
                    Some((ts_ns, tid, level)) => emit(&Entry {
                        kind: Kind::Line,
                        pos: p,
                        ts_ns,
                        pid: pid_of(s),
                        tid,
                        level,
                        count: 1,
                        line: &line,
                    }),
                    None => emit(&notice(Kind::Corrupt, p, pid_of(s))),
                },
                SlotKind::Claimed => emit(&notice(Kind::Torn, p, pid_of(s))),
                SlotKind::Free | SlotKind::Skipped => continue,
            }
            n += 1;
        }
        Ok(n)
    }

    /// Starts a thread that drains this log into `out` as text lines
    /// ([`record::format_entry`]) until [`Drainer::stop`]. It writes each
    /// batch (up to 4096 lines) with `write(2)` before freeing its slots,
    /// so lines are never lost to a crash of the drainer (a crash between
    /// the write and the free repeats that batch). When the log is idle it
    /// sleeps up to 1 ms between looks.
    ///
    /// Errors: `Conflict` (another drainer is running), `Io` (spawning).
    pub fn drain_to(self: &Arc<Self>, out: Output) -> Result<Drainer> {
        let lock = self.lock_drain()?;
        let stop = Arc::new(AtomicBool::new(false));
        let (log, flag) = (Arc::clone(self), Arc::clone(&stop));
        let handle = std::thread::Builder::new().name("maph-log-drain".into()).spawn(move || {
            let r = log.drain_loop(&out, &flag);
            log.unlock_drain();
            r
        });
        // Spawning failed: `lock` drops and releases the lock.
        let handle = handle.map_err(|e| Error::from_io(&e, "starting the drain thread"))?;
        // The thread holds the lock now and releases it when it ends.
        std::mem::forget(lock);
        Ok(Drainer { stop, handle: Some(handle), pid: current_pid() })
    }

    fn drain_loop(&self, out: &Output, stop: &AtomicBool) -> Result<DrainReport> {
        let fd = out.fd();
        let mut report = DrainReport::default();
        let mut buf = Vec::with_capacity(1 << 20);
        let mut idle = 0u32;
        let mut stop_at: Option<(u64, Instant)> = None;
        loop {
            buf.clear();
            let b = {
                let mut st = self.drain.lock().unwrap_or_else(|e| e.into_inner());
                self.scan(&mut st, BATCH, &mut |e| {
                    record::format_entry(&mut buf, e);
                    true
                })
            };
            if !buf.is_empty() {
                write_all(fd, &buf)?;
                report.bytes += buf.len() as u64;
            }
            report.items += b.items as u64;
            self.commit(&b);
            if b.end > b.start || b.items > 0 {
                idle = 0;
                continue;
            }
            if stop.load(Ordering::Acquire) {
                let (tail, since) = *stop_at.get_or_insert_with(|| {
                    let t = self.r.header_u64(layout::OFF_TAIL).load(Ordering::Acquire);
                    (t, Instant::now())
                });
                let head = self.r.header_u64(layout::OFF_HEAD).load(Ordering::Acquire);
                if head >= tail || since.elapsed() > STOP_LIMIT {
                    return Ok(report);
                }
            }
            idle += 1;
            if idle < 16 {
                std::thread::yield_now();
            } else {
                let us = 20u64 << (idle - 16).min(6);
                std::thread::sleep(Duration::from_micros(us).min(MAX_IDLE_SLEEP));
            }
        }
    }
}

fn notice(kind: Kind, pos: u64, pid: u32) -> Entry<'static> {
    Entry { kind, pos, ts_ns: sys::now_ns(), pid, tid: 0, level: 0, count: 1, line: &[] }
}

/// A running drain thread (from [`Log::drain_to`]). Dropping it stops it.
pub struct Drainer {
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<Result<DrainReport>>>,
    /// The process whose thread it is: a child forked while it runs has a
    /// copy of this value but not the thread.
    pid: u32,
}

impl Drainer {
    /// Stops the thread after it has drained every line claimed before
    /// this call (in a child forked while it runs, which has no such
    /// thread, does nothing and returns an empty report) (waiting up to 5 s for writers still inside a write), and
    /// returns what it wrote. Errors: `Io` (a write of the stream failed:
    /// the thread stopped there, and the lines it could not write are
    /// still in the buffer), `Corrupt` (the thread panicked).
    pub fn stop(mut self) -> Result<DrainReport> {
        self.finish()
    }

    fn finish(&mut self) -> Result<DrainReport> {
        if current_pid() != self.pid {
            // A forked child's copy: the thread runs in the parent only.
            std::mem::forget(self.handle.take());
            return Ok(DrainReport::default());
        }
        self.stop.store(true, Ordering::Release);
        match self.handle.take() {
            Some(h) => h.join().unwrap_or(Err(Error::Corrupt("the drain thread panicked"))),
            None => Ok(DrainReport::default()),
        }
    }
}

impl Drop for Drainer {
    fn drop(&mut self) {
        let _ = self.finish();
    }
}
