//! Repair of a write whose writer died, built deterministically: the file is
//! edited into the exact state a writer killed at a given instruction leaves
//! (its pid dead, its redo record and intent written, the slot locked with
//! its entry or not yet). Guards against: a reader wedged by a dead writer,
//! a half-written slot readable as a mix, counts left off by one, and a
//! read-only handle hanging instead of answering.

mod common;

use std::time::{Duration, Instant};

use maph::store::format::*;
use maph::{Error, OpenMode, Options, Store};

fn dead_pid() -> u32 {
    let mut c = std::process::Command::new("true").spawn().unwrap();
    let pid = c.id();
    c.wait().unwrap();
    pid
}

struct Forged {
    path: std::path::PathBuf,
    _dir: common::TempDir,
}

/// A store holding `k` = `v1`, edited so that a dead writer was setting `k`
/// to `v2`; `inside` says whether it had taken the slot.
fn forge(inside: bool) -> Forged {
    let dir = common::TempDir::new("repair");
    let path = dir.path("s");
    let s = Store::create(
        &path,
        &Options { slots: 64, slot_size: 128, lock_count: 16, ..Options::default() },
    )
    .unwrap();
    s.set(b"k", b"v1").unwrap();
    s.set(b"other", b"x").unwrap();
    let idx = s.uid(b"k").unwrap() & 0xffff_ffff;
    let h = s.hash(b"k");
    let e = ((h >> 32) & 15) as usize;
    drop(s);
    let mut b = std::fs::read(&path).unwrap();
    let stride = lock_stride(128) as usize;
    let ent = get64(&b, OFF_LOCKS_OFFSET) as usize + e * stride;
    let slot = get64(&b, OFF_SLOTS_OFFSET) as usize + idx as usize * 128;
    let w = get64(&b, slot);
    put32(&mut b, ent + LOCK_OFF_OWNER, dead_pid());
    put32(&mut b, ent + LOCK_OFF_REDO, 1);
    put64(&mut b, ent + LOCK_OFF_INTENT, (idx << 32) | (w & 0xffff_ffff));
    put32(&mut b, ent + LOCK_OFF_HIGH, (w >> 32) as u32);
    let (live, tomb) = (get64(&b, ent + LOCK_OFF_LIVE), get64(&b, ent + LOCK_OFF_TOMB));
    put64(&mut b, ent + LOCK_OFF_NEW_LIVE, live);
    put64(&mut b, ent + LOCK_OFF_NEW_TOMB, tomb);
    let img = ent + LOCK_META_SIZE;
    let meta = Meta { kl: 1, vl: 2, state: STATE_LIVE, expires: false };
    put64(&mut b, img, meta.encode());
    b[img + 8..img + 11].copy_from_slice(b"kv2");
    if inside {
        // Locked by entry e, half written: the value bytes already "v?".
        put64(&mut b, slot, ((e as u64) << 32) | ((w & 0xffff_ffff) + 1));
        b[slot + SLOT_HEADER_SIZE + 1] = b'v';
        b[slot + SLOT_HEADER_SIZE + 2] = b'?';
    }
    std::fs::write(&path, &b).unwrap();
    Forged { path, _dir: dir }
}

#[test]
fn writer_killed_inside_the_slot_is_completed_within_milliseconds() {
    let f = forge(true);
    let s = Store::open(&f.path, OpenMode::ReadWrite).unwrap();
    let t = Instant::now();
    assert_eq!(s.get_vec(b"k").unwrap(), b"v2", "the dead writer's write was not completed whole");
    assert!(t.elapsed() < Duration::from_millis(200), "reader waited {:?}", t.elapsed());
    assert_eq!(s.get_vec(b"other").unwrap(), b"x");
    assert!(s.check().is_empty(), "{:?}", s.check());
    assert_eq!(s.stats().keys, 2);
    s.set(b"k", b"v3").unwrap();
    assert_eq!(s.get_vec(b"k").unwrap(), b"v3");
}

#[test]
fn writer_killed_before_taking_the_slot_leaves_the_old_value() {
    let f = forge(false);
    let s = Store::open(&f.path, OpenMode::ReadWrite).unwrap();
    assert_eq!(s.get_vec(b"k").unwrap(), b"v1");
    // The next writer of the key takes the dead owner's entry over.
    let t = Instant::now();
    s.set(b"k", b"v3").unwrap();
    assert!(t.elapsed() < Duration::from_millis(1000), "writer waited {:?}", t.elapsed());
    assert_eq!(s.get_vec(b"k").unwrap(), b"v3");
    assert!(s.check().is_empty(), "{:?}", s.check());
    assert_eq!(s.stats().keys, 2);
}

#[test]
fn recover_repairs_every_dead_owner() {
    let f = forge(true);
    let s = Store::open(&f.path, OpenMode::ReadWrite).unwrap();
    assert!(!s.check().is_empty(), "the forged slot should read as left locked");
    assert_eq!(s.recover().unwrap(), 1);
    assert!(s.check().is_empty());
    assert_eq!(s.recover().unwrap(), 0, "recover is idempotent");
}

#[test]
fn read_only_handle_answers_busy_instead_of_hanging() {
    let f = forge(true);
    let ro = Store::open(&f.path, OpenMode::ReadOnly).unwrap();
    let t = Instant::now();
    assert_eq!(ro.get_vec(b"k"), Err(Error::Busy));
    assert!(t.elapsed() < Duration::from_secs(5));
    assert_eq!(ro.get_vec(b"other").unwrap(), b"x", "other keys stay readable");
}

/// A store holding `k` = `v1` whose slot is locked by `k`'s lock entry
/// while the entry is free with no redo record: what a power loss leaves
/// when the slot's page reached the disk during a write and the entry's
/// page before it.
fn forge_orphan() -> Forged {
    let dir = common::TempDir::new("orphan");
    let path = dir.path("s");
    let s = Store::create(
        &path,
        &Options { slots: 64, slot_size: 128, lock_count: 16, ..Options::default() },
    )
    .unwrap();
    s.set(b"k", b"v1").unwrap();
    let idx = s.uid(b"k").unwrap() & 0xffff_ffff;
    let e = (s.hash(b"k") >> 32) & 15;
    drop(s);
    let mut b = std::fs::read(&path).unwrap();
    let slot = get64(&b, OFF_SLOTS_OFFSET) as usize + idx as usize * 128;
    let w = get64(&b, slot);
    put64(&mut b, slot, (e << 32) | ((w & 0xffff_ffff) + 1));
    std::fs::write(&path, &b).unwrap();
    Forged { path, _dir: dir }
}

#[test]
fn slot_left_locked_with_no_redo_record_is_published_instead_of_answering_busy() {
    let f = forge_orphan();
    let s = Store::open(&f.path, OpenMode::ReadWrite).unwrap();
    let t = Instant::now();
    assert_eq!(s.get_vec(b"k").unwrap(), b"v1");
    assert!(t.elapsed() < Duration::from_millis(500), "reader waited {:?}", t.elapsed());
    assert!(s.check().is_empty(), "{:?}", s.check());
    s.set(b"k", b"v2").unwrap();
    assert_eq!(s.get_vec(b"k").unwrap(), b"v2");
}

#[test]
fn recover_publishes_a_slot_left_locked_with_no_redo_record() {
    let f = forge_orphan();
    let s = Store::open(&f.path, OpenMode::ReadWrite).unwrap();
    assert!(!s.check().is_empty(), "the forged slot should read as left locked");
    assert!(s.recover().unwrap() >= 1);
    assert!(s.check().is_empty(), "{:?}", s.check());
    assert_eq!(s.get_vec(b"k").unwrap(), b"v1");
}

/// A key stored one slot past its home, with the home slot on disk never
/// written (its page older than the key's): lookups stop at the home slot,
/// so the key is unreachable, and a later set and delete of the same key
/// would let the old copy come back. `recover()` must drop it and make the
/// counts agree with the slots.
#[test]
fn recover_drops_a_key_cut_off_by_a_never_written_slot_so_it_cannot_come_back() {
    let dir = common::TempDir::new("cutoff");
    let path = dir.path("s");
    let s = Store::create(
        &path,
        &Options { slots: 8, max_probes: 8, slot_size: 128, lock_count: 16, ..Options::default() },
    )
    .unwrap();
    let keys: Vec<Vec<u8>> = (0..100u32).map(|i| format!("key{i}").into_bytes()).collect();
    let home = s.home_slot(&keys[0]);
    let b_key = keys[1..].iter().find(|k| s.home_slot(k) == home).unwrap().clone();
    s.set(&keys[0], b"first").unwrap();
    s.set(&b_key, b"second").unwrap();
    drop(s);
    let mut b = std::fs::read(&path).unwrap();
    let slot = get64(&b, OFF_SLOTS_OFFSET) as usize + home as usize * 128;
    b[slot..slot + 128].fill(0);
    let ctrl = get64(&b, OFF_CTRL_OFFSET) as usize + home as usize;
    b[ctrl] = 0;
    std::fs::write(&path, &b).unwrap();

    let s = Store::open(&path, OpenMode::ReadWrite).unwrap();
    assert_eq!(s.get_vec(&b_key), Err(Error::NotFound));
    assert!(!s.check().is_empty());
    assert!(s.recover().unwrap() >= 1);
    assert!(s.check().is_empty(), "{:?}", s.check());
    assert_eq!(s.stats().keys, 0);
    s.set(&b_key, b"again").unwrap();
    s.del(&b_key).unwrap();
    assert_eq!(s.get_vec(&b_key), Err(Error::NotFound), "a dropped copy came back");
    assert!(s.check().is_empty(), "{:?}", s.check());
}
