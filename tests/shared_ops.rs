//! The shared-cache operations and where tables live. Guards against: add
//! overwriting, replace inserting, cas swapping on a mismatch, incr on a
//! non-integer changing anything, lost increments under contention across
//! processes, expired keys readable or holding their slot forever, bad
//! shared-memory names accepted, two tables from one create race, and an
//! anonymous table not shared with a forked child.

mod common;

use std::time::Duration;

use maph::{Error, OpenMode, Options, Store};

fn store(dir: &common::TempDir, slots: u64) -> Store {
    Store::create(dir.path("s"), &Options { slots, ..Options::default() }).unwrap()
}

#[test]
fn add_inserts_only_when_absent_and_replace_only_when_present() {
    let dir = common::TempDir::new("addrep");
    let s = store(&dir, 64);
    assert_eq!(s.replace(b"k", b"x"), Err(Error::NotFound));
    assert_eq!(s.get_vec(b"k"), Err(Error::NotFound), "replace inserted");
    s.add(b"k", b"1").unwrap();
    assert_eq!(s.add(b"k", b"2"), Err(Error::Exists));
    assert_eq!(s.get_vec(b"k").unwrap(), b"1", "add overwrote");
    s.replace(b"k", b"3").unwrap();
    assert_eq!(s.get_vec(b"k").unwrap(), b"3");
}

#[test]
fn cas_swaps_only_on_the_expected_value() {
    let dir = common::TempDir::new("cas");
    let s = store(&dir, 64);
    assert_eq!(s.cas(b"k", b"a", b"b"), Err(Error::NotFound));
    s.set(b"k", b"a").unwrap();
    assert!(matches!(s.cas(b"k", b"z", b"b"), Err(Error::Conflict(_))));
    assert_eq!(s.get_vec(b"k").unwrap(), b"a");
    s.cas(b"k", b"a", b"b").unwrap();
    assert_eq!(s.get_vec(b"k").unwrap(), b"b");
    assert!(
        matches!(s.cas(b"k", b"a", b"c"), Err(Error::Conflict(_))),
        "ABA: stale expected value"
    );
}

#[test]
fn incr_counts_and_refuses_what_is_not_an_integer() {
    let dir = common::TempDir::new("incr");
    let s = store(&dir, 64);
    assert_eq!(s.incr(b"c", 0), Err(Error::NotFound), "delta 0 must not create");
    assert_eq!(s.incr(b"c", 5).unwrap(), 5);
    assert_eq!(s.incr(b"c", -7).unwrap(), -2);
    assert_eq!(s.incr(b"c", 0).unwrap(), -2);
    assert_eq!(s.get_vec(b"c").unwrap(), (-2i64).to_le_bytes(), "not 8 bytes little-endian");
    s.set(b"text", b"hello").unwrap();
    assert_eq!(s.incr(b"text", 1), Err(Error::NotInteger));
    assert_eq!(s.get_vec(b"text").unwrap(), b"hello");
    s.set(b"max", &i64::MAX.to_le_bytes()).unwrap();
    assert_eq!(s.incr(b"max", 1), Err(Error::Overflow));
    assert_eq!(s.incr(b"max", 0).unwrap(), i64::MAX);
}

#[test]
fn concurrent_increments_from_forked_processes_are_never_lost() {
    let name = format!("maph-test-incr-{}", std::process::id());
    let s =
        Store::shm_create(name.as_bytes(), &Options { slots: 64, ..Options::default() }).unwrap();
    Store::shm_unlink(name.as_bytes()).unwrap();
    const PROCS: i64 = 4;
    const EACH: i64 = 20_000;
    let pids: Vec<_> = (0..PROCS)
        .map(|_| {
            // SAFETY: the child only increments and exits.
            let pid = unsafe { libc::fork() };
            if pid == 0 {
                let ok = (0..EACH).all(|_| s.incr(b"n", 1).is_ok());
                // SAFETY: ends the child.
                unsafe { libc::_exit(if ok { 0 } else { 1 }) };
            }
            pid
        })
        .collect();
    for p in pids {
        let mut st = 0;
        // SAFETY: reaps our child.
        unsafe { libc::waitpid(p, &mut st, 0) };
        assert_eq!(libc::WEXITSTATUS(st), 0);
    }
    assert_eq!(s.incr(b"n", 0).unwrap(), PROCS * EACH);
}

#[test]
fn expired_keys_read_as_absent_and_their_slots_are_reused() {
    let dir = common::TempDir::new("ttl");
    // Two slots, one probe: a full table unless expired keys give way.
    let s =
        Store::create(dir.path("s"), &Options { slots: 2, max_probes: 2, ..Options::default() })
            .unwrap();
    // TTLs long enough that a loaded machine cannot expire them before the
    // checks that need them alive.
    s.set_ex(b"a", b"1", 500).unwrap();
    s.set_ex(b"b", b"2", 500).unwrap();
    let ttl = s.ttl(b"a").unwrap().unwrap();
    assert!(ttl > 0 && ttl <= 500);
    assert_eq!(s.set(b"c", b"3"), Err(Error::Full));
    let uid_a = s.uid(b"a").unwrap();
    std::thread::sleep(Duration::from_millis(700));
    assert_eq!(s.get_vec(b"a"), Err(Error::NotFound));
    assert_eq!(s.ttl(b"a"), Err(Error::NotFound));
    let mut buf = [0u8; 8];
    assert_eq!(s.get_by_uid(uid_a, &mut buf), Err(Error::NotFound), "UID of an expired key");
    s.set(b"c", b"3").unwrap(); // reuses an expired slot
    assert_eq!(s.get_vec(b"c").unwrap(), b"3");
    assert!(s.check().is_empty(), "{:?}", s.check());
    // Expired keys count until reclaimed (by a writer that needs the slot,
    // or by flush_expired); either way c plus those not yet reclaimed.
    let before = s.stats().keys;
    let flushed = s.flush_expired(0).unwrap();
    assert_eq!(before, 1 + flushed);
    assert_eq!(s.stats().keys, 1);
    assert!(s.check().is_empty());
}

#[test]
fn expire_and_persist_change_only_the_ttl() {
    let dir = common::TempDir::new("expire");
    let s = store(&dir, 64);
    s.set(b"k", b"v").unwrap();
    assert_eq!(s.ttl(b"k").unwrap(), None);
    s.expire(b"k", 10_000).unwrap();
    assert!(s.ttl(b"k").unwrap().unwrap() > 9_000);
    s.replace(b"k", b"w").unwrap();
    assert!(s.ttl(b"k").unwrap().is_some(), "replace dropped the ttl");
    s.expire(b"k", 0).unwrap();
    assert_eq!(s.ttl(b"k").unwrap(), None);
    assert_eq!(s.get_vec(b"k").unwrap(), b"w");
    assert_eq!(s.expire(b"absent", 5), Err(Error::NotFound));
    assert!(matches!(s.set_ex(b"k", b"v", 0), Err(Error::InvalidArg(_))));
    for i in 0..10u32 {
        s.set_ex(format!("e{i}").as_bytes(), b"v", 1).unwrap();
    }
    std::thread::sleep(Duration::from_millis(5));
    assert_eq!(s.flush_expired(4).unwrap(), 4, "max_count is a bound");
    assert_eq!(s.flush_expired(0).unwrap(), 6);
}

#[test]
fn bad_shared_memory_names_are_invalid_arguments() {
    for bad in [&b""[..], b"a/b", b"/lead", &[b'n'; 256][..]] {
        assert!(
            matches!(Store::shm_create(bad, &Options::default()), Err(Error::InvalidArg(_))),
            "{bad:?}"
        );
        assert!(matches!(Store::shm_open(bad, OpenMode::ReadOnly), Err(Error::InvalidArg(_))));
    }
    assert!(matches!(
        Store::shm_open(b"maph-surely-absent", OpenMode::ReadOnly),
        Err(Error::NotFound)
    ));
}

#[test]
fn racing_creators_end_with_one_table_and_one_winner() {
    let name = format!("maph-test-race-{}", std::process::id());
    let _ = Store::shm_unlink(name.as_bytes());
    let results: Vec<_> = std::thread::scope(|sc| {
        let hs: Vec<_> = (0..6)
            .map(|_| {
                sc.spawn(|| {
                    Store::shm_create(name.as_bytes(), &Options { slots: 64, ..Options::default() })
                        .map(|_| ())
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1, "{results:?}");
    assert!(results.iter().all(|r| r.is_ok() || *r == Err(Error::Exists)));
    let a = Store::shm_open_or_create(name.as_bytes(), &Options::default()).unwrap();
    a.set(b"k", b"v").unwrap();
    let b = Store::shm_open(name.as_bytes(), OpenMode::ReadOnly).unwrap();
    assert_eq!(b.get_vec(b"k").unwrap(), b"v");
    assert_eq!(b.stats().slots, 64, "open_or_create made a second table");
    Store::shm_unlink(name.as_bytes()).unwrap();
    assert!(Store::shm_unlink(name.as_bytes()).is_err());
    assert_eq!(a.get_vec(b"k").unwrap(), b"v", "unlink broke an open handle");
    let leftovers = std::fs::read_dir("/dev/shm")
        .unwrap()
        .filter(|e| e.as_ref().unwrap().file_name().to_string_lossy().starts_with(".maph-tmp"));
    assert_eq!(leftovers.count(), 0, "temporary names left in /dev/shm");
}

#[test]
fn anonymous_table_is_shared_with_a_forked_child() {
    let s = Store::create_anonymous(&Options { slots: 256, ..Options::default() }).unwrap();
    s.set(b"from-parent", b"p").unwrap();
    // SAFETY: the child uses the inherited handle and exits.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        let ok = s.get_vec(b"from-parent").is_ok() && s.set(b"from-child", b"c").is_ok();
        // SAFETY: ends the child.
        unsafe { libc::_exit(if ok { 0 } else { 1 }) };
    }
    let mut st = 0;
    // SAFETY: reaps our child.
    unsafe { libc::waitpid(pid, &mut st, 0) };
    assert_eq!(libc::WEXITSTATUS(st), 0);
    assert_eq!(
        s.get_vec(b"from-child").unwrap(),
        b"c",
        "the child's write is not shared (private mapping?)"
    );
}
