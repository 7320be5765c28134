//! Background flush: one thread per handle that writes the store's dirty
//! pages to its file every `interval_ms` milliseconds and after every
//! `every_n_writes` writes through this handle — the original maph's
//! `DurabilityManager` (sync every N seconds or N operations), and LMDB's
//! `MDB_NOSYNC` plus a periodic `mdb_env_sync`.
//!
//! A flush is `msync(MS_SYNC)` over the whole mapping, run on the flush
//! thread (writers never wait for it). `MS_ASYNC` is not used: on Linux it
//! starts no write-back, so it would promise nothing. The kernel writes
//! only dirty pages, so a flush of an unchanged store costs a walk of the
//! mapping, not I/O. For `/dev/shm` and anonymous stores a flush changes
//! nothing: their pages have no file on a disk (README, "Durability").
//!
//! Counting: writes are counted by this handle only (a commit through it:
//! `set`, `del`, `incr`, ...); writes by other handles and processes are
//! flushed by the interval, or by their own flushers. The count costs a
//! relaxed load of a flag per write while no flusher runs, and one atomic
//! add while one does.

use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::store::Store;

/// What the flush thread and the writers of one handle share.
#[derive(Default)]
struct Shared {
    /// Whether a flush thread runs (writers count only then).
    on: AtomicBool,
    /// Writes through the handle since the last flush began.
    writes: AtomicU64,
    /// Flush after this many writes (0: only on the interval).
    every: AtomicU64,
    /// Flushes done by the thread.
    flushes: AtomicU64,
    /// The first `errno` a flush met (0: none).
    errno: AtomicI32,
    /// Set to stop the thread; the thread waits on `cv` under it.
    stop: Mutex<bool>,
    cv: Condvar,
}

/// A handle's flush thread, if any. Dropped (stopped and joined) before
/// the handle's mapping, so the thread never touches an unmapped range
/// (`Store` declares it as its first field).
#[derive(Default)]
pub(crate) struct Flusher {
    shared: Arc<Shared>,
    /// The thread and the process that started it: a child of `fork`
    /// inherits the handle but not the thread, and must not join it.
    thread: Mutex<Option<(JoinHandle<()>, u32)>>,
}

/// The mapping a flush thread syncs: base address and length.
#[derive(Clone, Copy)]
struct Span(usize, usize);

impl Span {
    /// `msync(MS_SYNC)` of the span: 0 or the `errno`.
    fn sync(self) -> i32 {
        // SAFETY: the span is the handle's whole mapping (page-aligned base
        // from mmap, its length); the mapping outlives the thread because
        // `Flusher` is stopped and joined before the mapping is dropped
        // (`Store::flush_stop`, and `Flusher`'s drop, which runs before the
        // `Region`'s). msync reads no memory through the pointer; it asks
        // the kernel to write the range's dirty pages.
        let r = unsafe { libc::msync(self.0 as *mut libc::c_void, self.1, libc::MS_SYNC) };
        if r == 0 {
            0
        } else {
            std::io::Error::last_os_error().raw_os_error().unwrap_or(libc::EIO)
        }
    }
}

impl Flusher {
    /// Counts one write through the handle; wakes the thread when its
    /// count is due.
    #[inline]
    pub(crate) fn note_write(&self) {
        let s = &self.shared;
        if !s.on.load(Ordering::Relaxed) {
            return;
        }
        let n = s.writes.fetch_add(1, Ordering::Relaxed) + 1;
        let every = s.every.load(Ordering::Relaxed);
        if every != 0 && n == every {
            s.cv.notify_one();
        }
    }

    /// Stops and joins the thread (if one runs). Errors: `Io` with the
    /// first failure of a flush since the thread started.
    fn stop(&self) -> Result<()> {
        let mut slot = self.thread.lock().unwrap_or_else(|e| e.into_inner());
        self.stop_locked(&mut slot)
    }

    /// `stop`, with the thread's slot already locked (so that a start
    /// racing a start or a stop never leaves two threads).
    fn stop_locked(&self, slot: &mut Option<(JoinHandle<()>, u32)>) -> Result<()> {
        let Some((handle, pid)) = slot.take() else { return Ok(()) };
        self.shared.on.store(false, Ordering::Relaxed);
        if pid != std::process::id() {
            // Inherited through fork: the thread runs in the parent only.
            std::mem::forget(handle);
            return Ok(());
        }
        *self.shared.stop.lock().unwrap_or_else(|e| e.into_inner()) = true;
        self.shared.cv.notify_one();
        let _ = handle.join();
        match self.shared.errno.swap(0, Ordering::Relaxed) {
            0 => Ok(()),
            e => Err(Error::from_io(&std::io::Error::from_raw_os_error(e), "a background flush")),
        }
    }
}

impl Drop for Flusher {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}

fn run(s: &Shared, span: Span, interval: Option<Duration>) {
    let mut stop = s.stop.lock().unwrap_or_else(|e| e.into_inner());
    loop {
        if *stop {
            break;
        }
        let every = s.every.load(Ordering::Relaxed);
        let by_count = every != 0 && s.writes.load(Ordering::Relaxed) >= every;
        if !by_count {
            stop = match interval {
                Some(d) => s.cv.wait_timeout(stop, d).unwrap_or_else(|e| e.into_inner()).0,
                None => s.cv.wait(stop).unwrap_or_else(|e| e.into_inner()),
            };
            if *stop {
                break;
            }
            let due = every != 0 && s.writes.load(Ordering::Relaxed) >= every;
            // A wake-up that is neither the interval nor the count
            // (spurious) waits again.
            if interval.is_none() && !due {
                continue;
            }
        }
        drop(stop);
        s.writes.store(0, Ordering::Relaxed);
        let e = span.sync();
        if e != 0 {
            let _ = s.errno.compare_exchange(0, e, Ordering::Relaxed, Ordering::Relaxed);
        }
        s.flushes.fetch_add(1, Ordering::Relaxed);
        stop = s.stop.lock().unwrap_or_else(|e| e.into_inner());
    }
    drop(stop);
    // A last flush, so what was written before the stop is on disk.
    let e = span.sync();
    if e != 0 {
        let _ = s.errno.compare_exchange(0, e, Ordering::Relaxed, Ordering::Relaxed);
    }
}

impl Store {
    /// Starts this handle's background flush thread (see the module docs):
    /// a flush every `interval_ms` milliseconds (0: none by time) and after
    /// every `every_n_writes` writes through this handle (0: none by
    /// count). A running flusher is stopped first (its last flush done),
    /// so a second call changes the settings. A child of `fork` inherits no
    /// flush thread: it starts its own if it wants one. Errors:
    /// `InvalidArg` when both are 0; `Io` when the thread cannot be
    /// started, or the stopped flusher's first failure (then nothing is
    /// started). Thread-safe (two racing starts leave one thread).
    pub fn flush_start(&self, interval_ms: u64, every_n_writes: u64) -> Result<()> {
        if interval_ms == 0 && every_n_writes == 0 {
            return Err(Error::InvalidArg("flush needs an interval or a write count (both are 0)"));
        }
        let f = &self.flusher;
        let mut slot = f.thread.lock().unwrap_or_else(|e| e.into_inner());
        f.stop_locked(&mut slot)?;
        let s = &f.shared;
        *s.stop.lock().unwrap_or_else(|e| e.into_inner()) = false;
        s.every.store(every_n_writes, Ordering::Relaxed);
        s.writes.store(0, Ordering::Relaxed);
        s.on.store(true, Ordering::Relaxed);
        let map = self.region().map();
        let span = Span(map.as_mut_ptr() as usize, map.len());
        let interval = (interval_ms != 0).then(|| Duration::from_millis(interval_ms));
        let shared = Arc::clone(s);
        let t = std::thread::Builder::new()
            .name("maph-flush".into())
            .spawn(move || run(&shared, span, interval))
            .map_err(|e| {
                s.on.store(false, Ordering::Relaxed);
                Error::from_io(&e, "starting the flush thread")
            })?;
        *slot = Some((t, std::process::id()));
        Ok(())
    }

    /// Stops this handle's flush thread after a last flush, and waits for
    /// it. Nothing to do when none runs. Errors: `Io` with the first
    /// failure any flush of that thread met (the store is unchanged; call
    /// `sync` to retry). Thread-safe.
    pub fn flush_stop(&self) -> Result<()> {
        self.flusher.stop()
    }

    /// Flushes done by this handle's flush thread since the handle was
    /// opened.
    pub fn flush_count(&self) -> u64 {
        self.flusher.shared.flushes.load(Ordering::Relaxed)
    }

    /// Counts a write for the flush thread (the write path calls it once
    /// per committed write).
    #[inline]
    pub(crate) fn note_write(&self) {
        self.flusher.note_write();
    }
}
