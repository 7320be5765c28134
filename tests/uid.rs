//! Stable UIDs. Guards against: a stale UID returning another key's value
//! after its slot is reused, UIDs changing across overwrite, optimize and
//! reopen, and del_by_uid deleting a re-inserted key.

mod common;

use maph::{Error, OpenMode, Options, Store};

#[test]
fn uid_of_a_deleted_key_never_returns_the_key_that_reuses_its_slot() {
    let dir = common::TempDir::new("stale");
    // One slot: the second key must reuse the first key's slot.
    let s = Store::create(dir.path("s"), &Options { slots: 1, ..Options::default() }).unwrap();
    s.set(b"alice", b"secret-a").unwrap();
    let uid_a = s.uid(b"alice").unwrap();
    s.del(b"alice").unwrap();
    s.set(b"bob", b"secret-b").unwrap();
    let uid_b = s.uid(b"bob").unwrap();
    assert_eq!(uid_a & 0xffff_ffff, uid_b & 0xffff_ffff, "bob must reuse alice's slot");
    let mut buf = [0u8; 64];
    assert_eq!(s.get_by_uid(uid_a, &mut buf), Err(Error::NotFound));
    assert_eq!(s.key_by_uid(uid_a, &mut buf), Err(Error::NotFound));
    assert_eq!(s.del_by_uid(uid_a), Err(Error::NotFound));
    assert_eq!(s.get_vec(b"bob").unwrap(), b"secret-b", "stale del_by_uid deleted bob");
    let n = s.get_by_uid(uid_b, &mut buf).unwrap();
    assert_eq!(&buf[..n], b"secret-b");
}

#[test]
fn uid_is_stable_across_overwrite_optimize_and_reopen() {
    let dir = common::TempDir::new("stable");
    let s = Store::create(dir.path("s"), &Options { slots: 256, ..Options::default() }).unwrap();
    for i in 0..100u32 {
        s.set(format!("k{i}").as_bytes(), b"v1").unwrap();
    }
    let uids: Vec<u64> = (0..100u32).map(|i| s.uid(format!("k{i}").as_bytes()).unwrap()).collect();
    s.set(b"k5", b"v2 longer").unwrap();
    s.optimize().unwrap();
    drop(s);
    let s = Store::open(dir.path("s"), OpenMode::ReadOnly).unwrap();
    let mut buf = [0u8; 64];
    for (i, &u) in uids.iter().enumerate() {
        assert_eq!(s.uid(format!("k{i}").as_bytes()).unwrap(), u);
        let n = s.key_by_uid(u, &mut buf).unwrap();
        assert_eq!(&buf[..n], format!("k{i}").as_bytes());
    }
    let n = s.get_by_uid(uids[5], &mut buf).unwrap();
    assert_eq!(&buf[..n], b"v2 longer");
}

#[test]
fn del_by_uid_deletes_and_then_the_uid_is_stale() {
    let dir = common::TempDir::new("del");
    let s = Store::create(dir.path("s"), &Options { slots: 64, ..Options::default() }).unwrap();
    s.set(b"k", b"v").unwrap();
    let u = s.uid(b"k").unwrap();
    s.del_by_uid(u).unwrap();
    assert_eq!(s.get_vec(b"k"), Err(Error::NotFound));
    assert_eq!(s.del_by_uid(u), Err(Error::NotFound));
    s.set(b"k", b"again").unwrap();
    assert_ne!(s.uid(b"k").unwrap(), u, "a re-inserted key got the old UID");
    let mut buf = [0u8; 8];
    assert_eq!(s.get_by_uid(u, &mut buf), Err(Error::NotFound));
}

#[test]
fn uid_errors_are_clear() {
    let dir = common::TempDir::new("err");
    let s = Store::create(dir.path("s"), &Options { slots: 64, ..Options::default() }).unwrap();
    s.set(b"k", b"0123456789").unwrap();
    let u = s.uid(b"k").unwrap();
    let mut small = [0u8; 3];
    assert_eq!(s.get_by_uid(u, &mut small), Err(Error::BufferTooSmall(10)));
    assert_eq!(s.get_by_uid(u64::MAX, &mut small), Err(Error::NotFound), "slot out of range");
    // A slot next to k's, generation 0: never written (the store holds only k).
    let other = ((u & 0xffff_ffff) + 1) % 64;
    assert_eq!(s.get_by_uid(other, &mut small), Err(Error::NotFound), "never-written slot");
    assert_eq!(s.uid(b"absent"), Err(Error::NotFound));
    drop(s);
    let s = Store::open(dir.path("s"), OpenMode::ReadOnly).unwrap();
    assert_eq!(s.del_by_uid(u), Err(Error::ReadOnly));
}
