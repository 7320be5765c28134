//! Cursors (`Store::iter`, `iter_part`, `cursor_next`) while other threads
//! write: the promise of `store/cursor.rs` — every key present for the
//! whole scan exactly once with a whole value — under overwrites, deletes,
//! heap records and a store that grows during the scan.
//! Guards against: keys skipped or returned twice when writers or growth
//! run beside a scan, torn values, parts that overlap or leave slots out,
//! and a too-small buffer that loses the record.

mod common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};

use maph::store::cursor::Step;
use maph::{Error, Options, Store};

fn stable_key(i: u32) -> Vec<u8> {
    format!("stable-{i}").into_bytes()
}

/// A value that says whose it is and is whole only if every byte agrees.
fn stable_val(i: u32) -> Vec<u8> {
    let len = if i.is_multiple_of(10) { 700 } else { 40 }; // some in the heap
    vec![(i % 251) as u8; len]
}

/// Counts the stable keys a scan returns; fails on a wrong value.
fn count_stable(
    it: impl Iterator<Item = maph::Result<(Vec<u8>, Vec<u8>)>>, seen: &mut HashMap<u32, u32>,
) {
    for r in it {
        let (k, v) = r.expect("scan");
        let Some(i) = k.strip_prefix(b"stable-") else { continue };
        let i: u32 = std::str::from_utf8(i).unwrap().parse().unwrap();
        assert_eq!(v, stable_val(i), "stable key {i} read with a torn or wrong value");
        *seen.entry(i).or_default() += 1;
    }
}

fn scans_beside_writers(store: &Store, stable: u32, scans: u32) {
    for i in 0..stable {
        store.set(&stable_key(i), &stable_val(i)).unwrap();
    }
    let stop = AtomicBool::new(false);
    std::thread::scope(|s| {
        for t in 0..2u64 {
            let stop = &stop;
            s.spawn(move || {
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let k = format!("churn-{t}-{}", n % 5000).into_bytes();
                    let r = if n % 3 == 2 {
                        store
                            .del(&k)
                            .map_or_else(|e| if e == Error::NotFound { Ok(()) } else { Err(e) }, Ok)
                    } else {
                        store.set(&k, &vec![n as u8; (n % 300) as usize])
                    };
                    r.expect("writer");
                    n += 1;
                }
            });
        }
        for round in 0..scans {
            let mut seen = HashMap::new();
            if round % 2 == 0 {
                count_stable(store.iter(), &mut seen);
            } else {
                for p in 0..4 {
                    count_stable(store.iter_part(p, 4).unwrap(), &mut seen);
                }
            }
            let missing = (0..stable).filter(|i| !seen.contains_key(i)).count();
            let twice = seen.values().filter(|&&c| c != 1).count();
            assert_eq!((missing, twice), (0, 0), "scan {round}: stable keys missing / not once");
        }
        stop.store(true, Ordering::Relaxed);
    });
}

#[test]
fn stable_keys_come_back_exactly_once_while_threads_insert_and_delete() {
    let dir = common::TempDir::new("cursor");
    let store = Store::create(
        dir.path("s.maph"),
        &Options { slots: 40_000, slot_size: 128, ..Options::default() },
    )
    .unwrap();
    scans_beside_writers(&store, 10_000, 20);
}

#[test]
fn stable_keys_come_back_exactly_once_while_the_store_grows_under_the_scan() {
    let dir = common::TempDir::new("cursor-grow");
    let store = Store::create(
        dir.path("g.maph"),
        &Options { slots: 0, slot_size: 128, ..Options::default() },
    )
    .unwrap();
    let before = store.levels();
    // The writers insert up to 10,000 more keys: new levels are added
    // while the scans run.
    scans_beside_writers(&store, 3_000, 20);
    assert!(store.levels() > before, "the store did not grow during the scans");
}

#[test]
fn a_too_small_buffer_keeps_the_cursor_on_its_record() {
    let dir = common::TempDir::new("cursor-small");
    let store =
        Store::create(dir.path("s.maph"), &Options { slots: 64, ..Options::default() }).unwrap();
    store.set(b"k1", &[7u8; 1000]).unwrap();
    store.set(b"k2", b"short").unwrap();
    let mut c = store.cursor();
    let (mut kb, mut vb) = (vec![0u8; 8], vec![0u8; 8]);
    let mut got = Vec::new();
    loop {
        match store.cursor_next(&mut c, &mut kb, &mut vb).unwrap() {
            Step::End => break,
            Step::TooSmall { key_len, val_len } => {
                assert_eq!((key_len, val_len), (2, 1000));
                vb.resize(val_len, 0);
            }
            Step::Record { key_len, val_len } => {
                got.push((kb[..key_len].to_vec(), vb[..val_len].to_vec()))
            }
        }
    }
    got.sort();
    assert_eq!(got, vec![(b"k1".to_vec(), vec![7u8; 1000]), (b"k2".to_vec(), b"short".to_vec())]);
    assert_eq!(store.cursor_next(&mut c, &mut kb, &mut vb), Ok(Step::End));
}

#[test]
fn parts_out_of_range_are_invalid_arguments() {
    let dir = common::TempDir::new("cursor-parts");
    let store =
        Store::create(dir.path("s.maph"), &Options { slots: 64, ..Options::default() }).unwrap();
    assert!(matches!(store.iter_part(0, 0), Err(Error::InvalidArg(_))));
    assert!(matches!(store.iter_part(2, 2), Err(Error::InvalidArg(_))));
    assert!(store.iter_part(1, 2).is_ok());
}

#[test]
fn parts_of_every_count_cover_each_slot_once_even_with_more_parts_than_slots() {
    let dir = common::TempDir::new("cursor-cover");
    let store =
        Store::create(dir.path("s.maph"), &Options { slots: 50, ..Options::default() }).unwrap();
    for i in 0..37u32 {
        store.set(&stable_key(i), &stable_val(i)).unwrap();
    }
    for nparts in [1u32, 2, 3, 7, 50, 64, 1000] {
        let mut seen = HashMap::new();
        for p in 0..nparts {
            count_stable(store.iter_part(p, nparts).unwrap(), &mut seen);
        }
        assert_eq!(seen.len(), 37, "{nparts} parts");
        assert!(seen.values().all(|&c| c == 1), "{nparts} parts: a key returned twice");
    }
}
