//! Growing stores (issue 12): created with `slots = 0`, they add levels
//! as keys arrive; no key moves, so earlier keys, UIDs and `get_ref`
//! pointers stay valid, and a handle opened before the store grew sees
//! what was written after.

mod common;

use maph::{Error, OpenMode, Options, Store};

fn growing(max_bytes: u64) -> Options {
    Options { slots: 0, slot_size: 128, max_bytes, ..Options::default() }
}

fn key(i: u64) -> Vec<u8> {
    format!("key:{i:08}").into_bytes()
}

fn val(i: u64) -> Vec<u8> {
    let mut v = vec![(i % 251) as u8; 100];
    v[..8].copy_from_slice(&i.to_le_bytes());
    v
}

#[test]
fn every_earlier_key_reads_back_after_each_level_is_added() {
    let dir = common::TempDir::new("grow-all");
    let s = Store::create(dir.path("g"), &growing(1 << 30)).unwrap();
    assert_eq!(s.levels(), 1);
    assert_eq!(s.stats().slots, 1024);
    let mut levels = 1;
    let mut buf = [0u8; 128];
    for i in 0..1_000_000u64 {
        s.set(&key(i), &val(i)).unwrap();
        if s.levels() != levels {
            levels = s.levels();
            for j in 0..=i {
                let n = s.get(&key(j), &mut buf).unwrap();
                assert_eq!(&buf[..n], &val(j)[..], "key {j} after level {levels}");
            }
        }
    }
    assert!(levels >= 10, "1M keys from 1,024 slots took only {levels} levels");
    let st = s.stats();
    assert_eq!(st.keys, 1_000_000);
    assert!(st.load_factor > 0.35 && st.load_factor <= 0.75, "load {}", st.load_factor);
    assert_eq!(s.get_vec(b"key:absent"), Err(Error::NotFound));
    assert!(s.check().is_empty(), "{:?}", s.check());
}

#[test]
fn a_handle_opened_before_growth_finds_keys_written_after() {
    let dir = common::TempDir::new("grow-reader");
    let w = Store::create(dir.path("g"), &growing(1 << 30)).unwrap();
    w.set(b"first", b"1").unwrap();
    let r = Store::open(dir.path("g"), OpenMode::ReadOnly).unwrap();
    assert_eq!(r.levels(), 1);
    for i in 0..50_000 {
        w.set(&key(i), &val(i)).unwrap();
    }
    assert!(w.levels() > 5);
    assert_eq!(r.levels(), w.levels(), "the reader sees the new levels");
    for i in 0..50_000 {
        assert_eq!(r.get_vec(&key(i)).unwrap(), val(i), "key {i}");
    }
    assert_eq!(r.stats().keys, 50_001);
    assert!(r.check().is_empty(), "{:?}", r.check());
}

#[test]
fn a_reader_process_that_opened_before_growth_reads_keys_written_after() {
    let dir = common::TempDir::new("grow-proc");
    let path = dir.path("g");
    let w = Store::create(&path, &growing(1 << 30)).unwrap();
    w.set(b"go", b"0").unwrap();
    let r = Store::open(&path, OpenMode::ReadOnly).unwrap();
    // SAFETY: the child only uses `r` (mapped before the fork) and exits.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0);
    if pid == 0 {
        // Wait for the parent's last key, then read every key.
        let start = std::time::Instant::now();
        let ok = loop {
            if r.get_vec(b"done").is_ok() {
                break (0..40_000).all(|i| r.get_vec(&key(i)).ok() == Some(val(i)));
            }
            if start.elapsed().as_secs() > 60 {
                break false;
            }
            std::thread::sleep(std::time::Duration::from_millis(1));
        };
        // SAFETY: ends the forked child without running the test harness.
        unsafe { libc::_exit(if ok { 0 } else { 1 }) };
    }
    for i in 0..40_000 {
        w.set(&key(i), &val(i)).unwrap();
    }
    w.set(b"done", b"1").unwrap();
    let mut status = 0;
    // SAFETY: waits for our own child.
    assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
    assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0, "child status {status}");
    assert!(w.levels() > 5);
}

#[test]
fn pointers_and_uids_taken_before_growth_stay_valid() {
    let dir = common::TempDir::new("grow-ptr");
    let s = Store::create(dir.path("g"), &growing(1 << 30)).unwrap();
    let mut refs = Vec::new();
    for i in 0..500 {
        s.set(&key(i), &val(i)).unwrap();
        refs.push((i, s.get_ref(&key(i)).unwrap(), s.uid(&key(i)).unwrap()));
    }
    for i in 500..100_000 {
        s.set(&key(i), &val(i)).unwrap();
    }
    assert!(s.levels() >= 7);
    let mut buf = [0u8; 128];
    for (i, vr, uid) in &refs {
        // SAFETY: the pointer stays inside the mapping while `s` is open.
        let bytes = unsafe { std::slice::from_raw_parts(vr.ptr, vr.len) }.to_vec();
        assert!(s.ref_valid(vr.token), "key {i}: token invalid after growth");
        assert_eq!(bytes, val(*i), "key {i}: pointer reads another value");
        let n = s.get_by_uid(*uid, &mut buf).unwrap();
        assert_eq!(&buf[..n], &val(*i)[..], "uid of key {i}");
    }
    // An overwrite turns the token invalid, a delete the UID stale.
    s.set(&key(0), b"new").unwrap();
    assert!(!s.ref_valid(refs[0].1.token));
    s.del(&key(1)).unwrap();
    assert_eq!(s.get_by_uid(refs[1].2, &mut buf), Err(Error::NotFound));
    // A UID naming a slot of a level not added yet is stale, not a fault.
    let beyond = s.stats().slots;
    assert_eq!(s.get_by_uid(beyond, &mut buf), Err(Error::NotFound));
}

#[test]
fn overwrites_and_deletes_find_keys_in_older_levels() {
    let dir = common::TempDir::new("grow-ops");
    let s = Store::create(dir.path("g"), &growing(1 << 30)).unwrap();
    for i in 0..20_000 {
        s.set(&key(i), &val(i)).unwrap();
    }
    let levels = s.levels();
    // Keys of level 0 are overwritten in place, never inserted twice.
    for i in 0..700 {
        s.set(&key(i), b"again").unwrap();
        assert_eq!(s.add(&key(i), b"x"), Err(Error::Exists));
        assert_eq!(s.incr(&key(i), 1), Err(Error::NotInteger));
    }
    for i in 700..1400 {
        s.del(&key(i)).unwrap();
    }
    assert_eq!(s.levels(), levels);
    let st = s.stats();
    assert_eq!(st.keys, 20_000 - 700);
    for i in 0..700 {
        assert_eq!(s.get_vec(&key(i)).unwrap(), b"again");
    }
    for i in 700..1400 {
        assert_eq!(s.get_vec(&key(i)), Err(Error::NotFound));
        s.set(&key(i), &val(i)).unwrap();
    }
    assert!(s.check().is_empty(), "{:?}", s.check());
}

#[test]
fn a_grown_store_reopens_optimizes_and_copies_with_every_key() {
    let dir = common::TempDir::new("grow-reopen");
    let s = Store::create(dir.path("g"), &growing(1 << 30)).unwrap();
    for i in 0..60_000 {
        s.set(&key(i), &val(i)).unwrap();
    }
    // A record too large for a slot goes to the grown store's heap.
    s.set(b"large", &[7u8; 5000]).unwrap();
    let levels = s.levels();
    drop(s);
    let s = Store::open(dir.path("g"), OpenMode::ReadWrite).unwrap();
    assert_eq!(s.levels(), levels);
    let rep = s.optimize().unwrap();
    assert_eq!(rep.keys, 60_001);
    assert!(s.mphf_in_use());
    for i in 0..60_000 {
        assert_eq!(s.get_vec(&key(i)).unwrap(), val(i), "key {i} after optimize");
    }
    let c = s.compact_to(dir.path("c"), 0).unwrap();
    assert_eq!(c.levels(), levels);
    assert!(c.geometry().grows());
    for i in 0..60_000 {
        assert_eq!(c.get_vec(&key(i)).unwrap(), val(i), "key {i} in the copy");
    }
    assert_eq!(c.get_vec(b"large").unwrap(), vec![7u8; 5000]);
    assert!(c.check().is_empty(), "{:?}", c.check());
    // The copy keeps growing.
    for i in 60_000..200_000 {
        c.set(&key(i), &val(i)).unwrap();
    }
    assert!(c.levels() > levels);
}

#[test]
fn a_growing_store_stops_at_its_limit_with_every_key_readable() {
    let dir = common::TempDir::new("grow-limit");
    let s = Store::create(dir.path("g"), &growing(4 << 20)).unwrap();
    let mut n = 0u64;
    let err = loop {
        match s.set(&key(n), &val(n)) {
            Ok(()) => n += 1,
            Err(e) => break e,
        }
        assert!(n < 1_000_000, "a 4 MiB limit held 1M keys");
    };
    assert!(matches!(err, Error::Full | Error::GrowthLimit { .. }), "{err}");
    assert!(n > 10_000, "only {n} keys under a 4 MiB limit");
    for i in 0..n {
        assert_eq!(s.get_vec(&key(i)).unwrap(), val(i), "key {i}");
    }
    let file = std::fs::File::open(dir.path("g")).unwrap();
    let used = {
        use std::os::unix::fs::MetadataExt;
        file.metadata().unwrap().blocks() * 512
    };
    assert!(used <= 4 << 20, "{used} bytes allocated past a 4 MiB limit");
    assert!(s.check().is_empty(), "{:?}", s.check());
}

#[test]
fn growing_options_out_of_range_are_invalid_arguments() {
    let dir = common::TempDir::new("grow-args");
    let bad = [
        Options { sparse: true, ..growing(1 << 30) },
        Options { max_bytes: 1 << 20, slots: 100, ..Options::default() },
        growing(64 << 10), // below two levels
    ];
    for (i, o) in bad.iter().enumerate() {
        match Store::create(dir.path(&format!("b{i}")), o) {
            Err(Error::InvalidArg(_)) => {}
            other => panic!("options {i}: {:?}", other.map(|_| ())),
        }
        assert!(!dir.path(&format!("b{i}")).exists());
    }
}

#[test]
fn anonymous_and_shm_stores_grow() {
    let s = Store::create_anonymous(&growing(256 << 20)).unwrap();
    for i in 0..30_000 {
        s.set(&key(i), &val(i)).unwrap();
    }
    assert!(s.levels() > 4);
    assert_eq!(s.get_vec(&key(29_999)).unwrap(), val(29_999));
    let name = format!("maph-grow-test-{}", std::process::id());
    let t = Store::shm_create(name.as_bytes(), &growing(256 << 20)).unwrap();
    for i in 0..30_000 {
        t.set(&key(i), &val(i)).unwrap();
    }
    let u = Store::shm_open(name.as_bytes(), OpenMode::ReadOnly).unwrap();
    assert_eq!(u.get_vec(&key(12_345)).unwrap(), val(12_345));
    Store::shm_unlink(name.as_bytes()).unwrap();
}

/// A key that expired in an older level is found there by the next write
/// (which reuses its slot), not inserted a second time in the newest level.
#[test]
fn a_key_expired_in_an_older_level_is_written_in_place_not_twice() {
    let dir = common::TempDir::new("grow-ttl");
    let s = Store::create(dir.path("g"), &growing(1 << 30)).unwrap();
    for i in 0..200 {
        s.set_ex(&key(i), &val(i), 50).unwrap();
    }
    let uid = s.uid(&key(7)).unwrap();
    for i in 200..20_000 {
        s.set(&key(i), &val(i)).unwrap();
    }
    assert!(s.levels() >= 4);
    std::thread::sleep(std::time::Duration::from_millis(120));
    assert_eq!(s.get_vec(&key(7)), Err(Error::NotFound));
    for i in 0..200 {
        s.set(&key(i), b"again").unwrap();
    }
    // Written in place: the same slot (a new UID generation).
    let again = s.uid(&key(7)).unwrap();
    assert_eq!(again & 0xffff_ffff, uid & 0xffff_ffff);
    assert_ne!(again, uid);
    assert_eq!(s.stats().keys, 20_000);
    assert!(s.check().is_empty(), "{:?}", s.check());
    for i in 0..200 {
        assert_eq!(s.get_vec(&key(i)).unwrap(), b"again");
    }
}
