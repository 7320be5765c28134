//! Regression tests for the bugs the fuzz targets in `fuzz/` found (see
//! `fuzz/README.md`), each named after the failure it guards against.

mod common;

use std::os::unix::fs::FileExt;

use maph::store::format::{lock_stride, HEADER_SIZE, LOCK_OFF_LIVE};
use maph::{Error, OpenMode, Options, Store};

/// fuzz/open, crash-594fb390: `optimize()` sized its key list from the
/// key count summed over the lock table — counters read from the file — so
/// a damaged counter made it ask for an impossible allocation and panic
/// ("capacity overflow"), or abort the process for a merely huge one.
#[test]
fn optimize_with_a_damaged_key_count_does_not_allocate_from_it() {
    let dir = common::TempDir::new("fuzz-regress");
    let path = dir.path("s");
    let opts = Options { slots: 64, slot_size: 64, lock_count: 16, ..Options::default() };
    let s = Store::create(&path, &opts).unwrap();
    for i in 0..10 {
        s.set(format!("k{i}").as_bytes(), b"v").unwrap();
    }
    drop(s);
    // Entry 3's `live` counter: 2^62, far past any slot count.
    let f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    let off = HEADER_SIZE as u64 + 3 * lock_stride(64) + LOCK_OFF_LIVE as u64;
    f.write_all_at(&(1u64 << 62).to_le_bytes(), off).unwrap();
    drop(f);

    let s = Store::open(&path, OpenMode::ReadWrite).unwrap();
    let report = s.optimize().expect("optimize of a store with a damaged counter");
    assert_eq!(report.keys, 10, "optimize counts the live slots, not the counters");
    for i in 0..10 {
        assert_eq!(s.get_vec(format!("k{i}").as_bytes()).unwrap(), b"v");
    }
    assert!(!s.check().is_empty(), "check() reports the damaged counter");
}

/// fuzz/open, slow inputs: a slot whose seqlock word is odd (a writer
/// inside) and names a lock entry past the table's end can never be
/// unlocked or repaired, yet every access to it waited the full 2 s and
/// answered `Busy` — read-write handles and `recover()` included. It now
/// answers `Corrupt` at once.
#[test]
fn slot_locked_by_a_nonexistent_lock_entry_answers_corrupt_at_once_not_busy() {
    let dir = common::TempDir::new("fuzz-regress");
    let path = dir.path("s");
    let opts =
        Options { slots: 64, slot_size: 64, lock_count: 16, max_probes: 64, ..Options::default() };
    let s = Store::create(&path, &opts).unwrap();
    s.set(b"a", b"v").unwrap();
    let off = s.geometry().slots_offset() + s.home_slot(b"a") * 64;
    drop(s);
    // Odd version 3, "locked by entry 9999" (the store has 16).
    let f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    f.write_all_at(&((9999u64 << 32) | 3).to_le_bytes(), off).unwrap();
    drop(f);

    let s = Store::open(&path, OpenMode::ReadWrite).unwrap();
    let t = std::time::Instant::now();
    assert!(matches!(s.get_vec(b"a"), Err(maph::Error::Corrupt(_))), "get");
    assert!(matches!(s.set(b"a", b"w"), Err(maph::Error::Corrupt(_))), "set");
    assert!(matches!(s.uid(b"a"), Err(maph::Error::Corrupt(_))), "uid");
    assert!(matches!(s.optimize(), Err(maph::Error::Corrupt(_))), "optimize");
    assert!(t.elapsed() < std::time::Duration::from_secs(1), "answered without waiting");
    assert!(!s.check().is_empty(), "check() reports the locked slot");
}

/// Found by the `ops` target (30-minute run on format 2): an `incr` whose
/// key leaves no room for the 8-byte counter, on a store whose probe window
/// was full, answered `Full` instead of `TooLarge` — the size was checked
/// only once a free slot was found. A record that can never fit is too
/// large whether or not the table is full.
#[test]
fn incr_that_can_never_fit_a_full_table_answers_too_large_not_full() {
    let dir = common::TempDir::new("fuzz-full-too-large");
    let s = Store::create(
        dir.path("s"),
        &Options { slots: 4, max_probes: 4, slot_size: 64, ..Options::default() },
    )
    .unwrap();
    let mut i = 0u32;
    while s.stats().keys < 4 {
        let _ = s.set(format!("k{i}").as_bytes(), b"v");
        i += 1;
    }
    // Since format 3 a record too large for its slot goes to the heap: one
    // that can never fit is one larger than the heap (64 KiB here).
    let long = vec![b'x'; 65535];
    assert!(matches!(s.incr(&long, 1), Err(Error::TooLarge(_))));
    assert!(matches!(s.set(&long, b"12345678"), Err(Error::TooLarge(_))));
    assert_eq!(s.set(b"new", b"v"), Err(Error::Full));
}
