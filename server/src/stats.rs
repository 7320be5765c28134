//! Server counters: per-command calls and latency histograms (hdrhistogram,
//! nanoseconds), hits and misses, clients.
//!
//! Each connection records into its own `Local` without locks and merges it
//! into `Global` (one mutex per command) when it has gone 50 ms without
//! merging, after 4096 commands, when it goes idle, and when it closes. So
//! `INFO` may lag by that much; it never loses a sample.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use hdrhistogram::Histogram;

fn new_hist() -> Histogram<u64> {
    // 1 ns to 60 s at 3 significant digits.
    Histogram::new_with_bounds(1, 60_000_000_000, 3).expect("valid bounds")
}

/// Per-connection counters, merged into `Global`.
pub struct Local {
    hists: Vec<Option<Histogram<u64>>>,
    pub hits: u64,
    pub misses: u64,
    pending: u64,
    last_merge: Instant,
}

impl Local {
    pub fn new(commands: usize) -> Local {
        Local {
            hists: (0..commands).map(|_| None).collect(),
            hits: 0,
            misses: 0,
            pending: 0,
            last_merge: Instant::now(),
        }
    }

    /// Records one call of command `cmd` that took `ns` nanoseconds.
    #[inline]
    pub fn record(&mut self, cmd: usize, ns: u64) {
        let h = self.hists[cmd].get_or_insert_with(new_hist);
        h.saturating_record(ns.max(1));
        self.pending += 1;
    }

    /// Whether anything is waiting to be merged.
    pub fn dirty(&self) -> bool {
        self.pending > 0 || self.hits > 0 || self.misses > 0
    }

    /// Merges when enough time or commands have passed.
    pub fn maybe_merge(&mut self, g: &Global) {
        if self.pending >= 4096 || (self.dirty() && self.last_merge.elapsed().as_millis() >= 50) {
            self.merge(g);
        }
    }

    /// Moves everything recorded into `g`.
    pub fn merge(&mut self, g: &Global) {
        for (i, h) in self.hists.iter_mut().enumerate() {
            if let Some(h) = h {
                if !h.is_empty() {
                    let mut gh = g.hists[i].lock().unwrap_or_else(|e| e.into_inner());
                    let _ = gh.add(&*h);
                    h.reset();
                }
            }
        }
        g.hits.fetch_add(self.hits, Ordering::Relaxed);
        g.misses.fetch_add(self.misses, Ordering::Relaxed);
        self.hits = 0;
        self.misses = 0;
        self.pending = 0;
        self.last_merge = Instant::now();
    }
}

/// Server-wide counters. Safe to share across threads.
pub struct Global {
    hists: Vec<Mutex<Histogram<u64>>>,
    pub hits: AtomicU64,
    pub misses: AtomicU64,
    pub connected: AtomicU64,
    pub total_connections: AtomicU64,
    pub rejected_connections: AtomicU64,
    pub started: Instant,
}

/// One command's figures, latencies in microseconds.
#[derive(serde::Serialize)]
pub struct CommandFigures {
    pub calls: u64,
    pub usec: f64,
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
}

impl Global {
    pub fn new(commands: usize) -> Global {
        Global {
            hists: (0..commands).map(|_| Mutex::new(new_hist())).collect(),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            connected: AtomicU64::new(0),
            total_connections: AtomicU64::new(0),
            rejected_connections: AtomicU64::new(0),
            started: Instant::now(),
        }
    }

    /// Figures of command `cmd`, or None if it was never called.
    pub fn figures(&self, cmd: usize) -> Option<CommandFigures> {
        let h = self.hists[cmd].lock().unwrap_or_else(|e| e.into_inner());
        if h.is_empty() {
            return None;
        }
        let us = |ns: u64| ns as f64 / 1000.0;
        Some(CommandFigures {
            calls: h.len(),
            usec: h.mean() * h.len() as f64 / 1000.0,
            p50: us(h.value_at_quantile(0.5)),
            p95: us(h.value_at_quantile(0.95)),
            p99: us(h.value_at_quantile(0.99)),
            p999: us(h.value_at_quantile(0.999)),
            max: us(h.max()),
        })
    }

    /// Forgets every recorded command (`CONFIG RESETSTAT`-like; unused by
    /// the commands for now, kept for tests).
    #[cfg(test)]
    pub fn calls(&self, cmd: usize) -> u64 {
        self.hists[cmd].lock().unwrap().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merged_samples_are_not_lost_and_local_restarts_empty() {
        let g = Global::new(2);
        let mut l = Local::new(2);
        for i in 0..10 {
            l.record(1, 1000 * (i + 1));
        }
        l.hits = 3;
        l.merge(&g);
        assert!(!l.dirty());
        l.record(1, 5);
        l.merge(&g);
        assert_eq!(g.calls(1), 11);
        assert_eq!(g.calls(0), 0);
        assert_eq!(g.hits.load(Ordering::Relaxed), 3);
        let f = g.figures(1).unwrap();
        assert!(f.max >= 10.0 && f.p50 >= 4.0 && f.p50 <= 6.01, "{}", f.p50);
    }
}
