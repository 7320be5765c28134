//! Records too large for their slot, in the value heap (format 3): every
//! operation works on them as on inline ones, space comes back, and a
//! damaged heap reference is an error, never a wild read.

mod common;

use maph::store::format::{
    get32, get64, put64, Meta, OFF_HEAP_TOP, OFF_SLOTS_OFFSET, OFF_SLOT_COUNT, OFF_SLOT_SIZE,
    SLOT_HEADER_SIZE, SLOT_OFF_META, STATE_LIVE,
};
use maph::{Error, OpenMode, Options, Store};

fn opts() -> Options {
    Options { slots: 256, slot_size: 128, heap_bytes: 8 << 20, ..Options::default() }
}

fn val(len: usize, seed: u8) -> Vec<u8> {
    (0..len).map(|i| (i as u8).wrapping_mul(31) ^ seed).collect()
}

#[test]
fn values_across_the_slot_boundary_read_back_whole_after_reopen() {
    let dir = common::TempDir::new("heap-sizes");
    let p = dir.path("s");
    let s = Store::create(&p, &opts()).unwrap();
    let cap = s.slot_capacity();
    let key = b"k";
    let sizes = [0, cap - 2, cap - 1, cap, 4096, 1 << 20, 3 << 20];
    for (i, &n) in sizes.iter().enumerate() {
        let k = [&key[..], format!("{i}").as_bytes()].concat();
        s.set(&k, &val(n, i as u8)).unwrap();
    }
    let st = s.heap_stats();
    assert!(st.used > (4 << 20), "{st:?}");
    drop(s);
    let s = Store::open(&p, OpenMode::ReadOnly).unwrap();
    for (i, &n) in sizes.iter().enumerate() {
        let k = [&key[..], format!("{i}").as_bytes()].concat();
        assert_eq!(s.get_vec(&k).unwrap(), val(n, i as u8), "size {n}");
        let inline = k.len() + n <= cap;
        assert_eq!(s.heap_footprint(&k).unwrap() == 0, inline, "size {n}");
        // A short buffer gets the length needed.
        let mut small = [0u8; 1];
        if n > 1 {
            assert_eq!(s.get(&k, &mut small), Err(Error::BufferTooSmall(n)));
        }
    }
    assert!(s.check().is_empty(), "{:?}", s.check());
}

#[test]
fn overwrites_crossing_the_boundary_both_ways_free_the_old_extent() {
    let dir = common::TempDir::new("heap-cross");
    let s = Store::create(dir.path("s"), &opts()).unwrap();
    for round in 0..50u8 {
        let n = if round % 2 == 0 { 5000 + round as usize } else { 10 };
        s.set(b"key", &val(n, round)).unwrap();
        assert_eq!(s.get_vec(b"key").unwrap(), val(n, round));
        assert_eq!(s.heap_stats().used, s.heap_footprint(b"key").unwrap());
    }
    s.del(b"key").unwrap();
    assert_eq!(s.heap_stats().used, 0);
    assert!(s.check().is_empty(), "{:?}", s.check());
}

#[test]
fn a_long_key_is_found_by_its_whole_bytes_not_its_prefix() {
    let dir = common::TempDir::new("heap-keys");
    let s = Store::create(dir.path("s"), &opts()).unwrap();
    // Two 1000-byte keys that differ only in the last byte: the slot keeps
    // a prefix both share.
    let mut a = vec![b'x'; 1000];
    let mut b = a.clone();
    *a.last_mut().unwrap() = b'a';
    *b.last_mut().unwrap() = b'b';
    s.set(&a, b"A").unwrap();
    assert_eq!(s.get_vec(&b), Err(Error::NotFound));
    s.set(&b, b"B").unwrap();
    assert_eq!(s.get_vec(&a).unwrap(), b"A");
    assert_eq!(s.get_vec(&b).unwrap(), b"B");
    // Every operation on a heap record: incr (8 bytes, key in the heap),
    // add/replace/cas, UID, TTL, mget, delete.
    let mut c = vec![b'c'; 300];
    c.push(b'!');
    assert_eq!(s.incr(&c, 5).unwrap(), 5);
    assert_eq!(s.incr(&c, 2).unwrap(), 7);
    assert_eq!(s.add(&a, b"again"), Err(Error::Exists));
    s.replace(&a, &val(700, 1)).unwrap();
    s.cas(&a, &val(700, 1), &val(900, 2)).unwrap();
    assert!(matches!(s.cas(&a, &val(700, 1), b"x"), Err(Error::Conflict(_))));
    let uid = s.uid(&a).unwrap();
    let mut buf = vec![0u8; 2000];
    let n = s.key_by_uid(uid, &mut buf).unwrap();
    assert_eq!(&buf[..n], &a[..]);
    let n = s.get_by_uid(uid, &mut buf).unwrap();
    assert_eq!(&buf[..n], &val(900, 2)[..]);
    let keys: [&[u8]; 3] = [&a, &b, &c];
    let mut bufs = vec![vec![0u8; 1000]; 3];
    let mut refs: Vec<&mut [u8]> = bufs.iter_mut().map(|b| b.as_mut_slice()).collect();
    let mut out = vec![Ok(0); 3];
    s.mget(&keys, &mut refs, &mut out);
    assert_eq!(out, vec![Ok(900), Ok(1), Ok(8)]);
    s.optimize().unwrap();
    assert_eq!(s.get_vec(&a).unwrap(), val(900, 2));
    s.del_by_uid(uid).unwrap();
    assert_eq!(s.get_vec(&a), Err(Error::NotFound));
    assert!(s.check().is_empty(), "{:?}", s.check());
}

#[test]
fn a_heap_value_pointer_turns_invalid_when_the_value_is_overwritten() {
    let dir = common::TempDir::new("heap-ptr");
    let s = Store::create(dir.path("s"), &opts()).unwrap();
    s.set(b"p", &val(10_000, 3)).unwrap();
    let r = s.get_ref(b"p").unwrap();
    assert_eq!(r.len, 10_000);
    // SAFETY: the pointer stays dereferenceable while the store is open.
    let copy = unsafe { std::slice::from_raw_parts(r.ptr, r.len) }.to_vec();
    assert!(s.ref_valid(r.token));
    assert_eq!(copy, val(10_000, 3));
    s.set(b"p", &val(10_000, 4)).unwrap();
    assert!(!s.ref_valid(r.token));
}

#[test]
fn expired_and_deleted_heap_records_give_their_space_back() {
    let dir = common::TempDir::new("heap-ttl");
    let s = Store::create(dir.path("s"), &opts()).unwrap();
    s.set_ex(b"t", &val(50_000, 1), 1).unwrap();
    s.set(b"d", &val(50_000, 2)).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(5));
    assert_eq!(s.get_vec(b"t"), Err(Error::NotFound));
    assert_eq!(s.flush_expired(0).unwrap(), 1);
    s.del(b"d").unwrap();
    let st = s.heap_stats();
    assert_eq!(st.used, 0, "{st:?}");
    // The freed extents are reused: the top does not move.
    let before = st.untouched;
    s.set(b"n", &val(50_000, 5)).unwrap();
    assert_eq!(s.heap_stats().untouched, before);
    assert!(s.check().is_empty(), "{:?}", s.check());
}

#[test]
fn a_full_heap_answers_full_and_loses_nothing() {
    let dir = common::TempDir::new("heap-full");
    let s = Store::create(
        dir.path("s"),
        &Options { slots: 256, slot_size: 128, heap_bytes: 64 << 10, ..Options::default() },
    )
    .unwrap();
    let mut stored = 0;
    let err = loop {
        match s.set(format!("k{stored}").as_bytes(), &val(6000, stored as u8)) {
            Ok(()) => stored += 1,
            Err(e) => break e,
        }
    };
    assert!(matches!(err, Error::HeapFull { .. }), "{err}");
    assert!(err.to_string().starts_with("heap full"), "{err}");
    assert!(stored >= 8, "{stored}");
    for i in 0..stored {
        assert_eq!(s.get_vec(format!("k{i}").as_bytes()).unwrap(), val(6000, i as u8));
    }
    // Inline records still go in.
    s.set(b"small", b"v").unwrap();
    assert!(s.check().is_empty(), "{:?}", s.check());
}

/// Finds the slot holding `key` (whose first bytes are in the slot) by
/// scanning the file.
fn slot_offset_of(b: &[u8], key_len: usize) -> usize {
    let slots = get64(b, OFF_SLOTS_OFFSET) as usize;
    let size = get32(b, OFF_SLOT_SIZE) as usize;
    let count = get64(b, OFF_SLOT_COUNT) as usize;
    (0..count)
        .map(|i| slots + i * size)
        .find(|&o| {
            let m = Meta::decode(get64(b, o + SLOT_OFF_META));
            m.state == STATE_LIVE && m.kl == key_len
        })
        .expect("key in file")
}

#[test]
fn a_heap_reference_outside_the_heap_is_corrupt_not_a_wild_read() {
    for bad in [u64::MAX - 7, 1 << 40, 8, 17] {
        let dir = common::TempDir::new("heap-corrupt");
        let p = dir.path("s");
        {
            let s = Store::create(&p, &opts()).unwrap();
            s.set(&[b'L'; 200], &val(3000, 1)).unwrap();
            s.set(b"other", b"fine").unwrap();
        }
        let mut b = std::fs::read(&p).unwrap();
        let o = slot_offset_of(&b, 200);
        put64(&mut b, o + SLOT_HEADER_SIZE, bad);
        std::fs::write(&p, b).unwrap();
        let s = Store::open(&p, OpenMode::ReadWrite).unwrap();
        let got = s.get_vec(&[b'L'; 200]);
        // 8 and 17 are inside the heap's range but not where an extent can
        // start (the first 16 bytes are reserved; extents are 8-aligned).
        assert!(matches!(got, Err(Error::Corrupt(_))), "ref {bad}: {got:?}");
        assert_eq!(s.get_vec(b"other").unwrap(), b"fine");
        assert!(!s.check().is_empty());
    }
}

#[test]
fn a_heap_top_outside_the_heap_is_corrupt_at_open() {
    let dir = common::TempDir::new("heap-top");
    let p = dir.path("s");
    drop(Store::create(&p, &opts()).unwrap());
    let mut b = std::fs::read(&p).unwrap();
    put64(&mut b, OFF_HEAP_TOP, u64::MAX / 2);
    std::fs::write(&p, b).unwrap();
    assert!(matches!(Store::open(&p, OpenMode::ReadOnly), Err(Error::Corrupt(_))));
}

#[test]
fn a_compacting_copy_keeps_every_record_and_uid_and_gives_the_heap_back() {
    let dir = common::TempDir::new("heap-compact");
    let s = Store::create(dir.path("s"), &opts()).unwrap();
    // Fragment the heap: values of many sizes, overwritten with others,
    // half of them deleted.
    for round in 0..4usize {
        for i in 0..100usize {
            let n = 100 + (i * 37 + round * 1011) % 9000;
            s.set(format!("k{i}").as_bytes(), &val(n, (i + round) as u8)).unwrap();
        }
    }
    for i in (0..100).step_by(2) {
        s.del(format!("k{i}").as_bytes()).unwrap();
    }
    s.set_ex(b"gone", &val(5000, 9), 1).unwrap();
    s.set(b"small", b"inline").unwrap();
    s.optimize().unwrap();
    let uid = s.uid(b"k1").unwrap();
    std::thread::sleep(std::time::Duration::from_millis(5));
    let before = s.heap_stats();
    let c = s.compact_to(dir.path("c"), 0).unwrap();
    let after = c.heap_stats();
    assert!(after.used < before.used + before.free, "{before:?} -> {after:?}");
    assert_eq!(after.free, 0);
    assert!(after.bytes < before.bytes, "{before:?} -> {after:?}");
    let live: u64 =
        (1..100).step_by(2).map(|i| c.heap_footprint(format!("k{i}").as_bytes()).unwrap()).sum();
    assert_eq!(after.used, live);
    for i in 0..100usize {
        let k = format!("k{i}");
        let got = c.get_vec(k.as_bytes());
        if i % 2 == 0 {
            assert_eq!(got, Err(Error::NotFound));
        } else {
            let n = 100 + (i * 37 + 3 * 1011) % 9000;
            assert_eq!(got.unwrap(), val(n, (i + 3) as u8));
        }
    }
    assert_eq!(c.get_vec(b"gone"), Err(Error::NotFound));
    assert_eq!(c.get_vec(b"small").unwrap(), b"inline");
    assert_eq!(c.uid(b"k1").unwrap(), uid, "UIDs survive the copy");
    assert!(c.mphf_in_use());
    assert_eq!(c.stats().keys, s.stats().keys - 1);
    assert!(c.check().is_empty(), "{:?}", c.check());
    // The copy does not replace anything: an existing path is refused.
    assert!(matches!(s.compact_to(dir.path("c"), 0), Err(Error::Exists)));
}

#[test]
fn damaged_heap_header_words_are_errors_not_wild_writes() {
    use maph::store::format::{
        put32, OFF_HEAP_CLASSES, OFF_HEAP_JOURNAL, OFF_HEAP_LOCK, OFF_HEAP_RESERVED,
    };
    let make = |name: &str| {
        let dir = common::TempDir::new(name);
        let p = dir.path("s");
        {
            let s = Store::create(&p, &opts()).unwrap();
            s.set(b"freed", &val(3000, 1)).unwrap();
            s.del(b"freed").unwrap();
            s.set(b"kept", &val(3000, 2)).unwrap();
        }
        (dir, p)
    };
    // A reservation past the heap or not whole pages: refused at open.
    for bad in [u64::MAX, 4095] {
        let (_d, p) = make("heap-res");
        let mut b = std::fs::read(&p).unwrap();
        put64(&mut b, OFF_HEAP_RESERVED, bad);
        std::fs::write(&p, b).unwrap();
        assert!(matches!(Store::open(&p, OpenMode::ReadOnly), Err(Error::Corrupt(_))), "{bad}");
    }
    // Every free-list head pointing outside the heap: an allocation that
    // would take it answers Corrupt; reads and inline writes still work.
    let (_d, p) = make("heap-heads");
    let mut b = std::fs::read(&p).unwrap();
    for c in 0..104 {
        put64(&mut b, OFF_HEAP_CLASSES + 8 * c, 1 << 50);
    }
    std::fs::write(&p, b).unwrap();
    let s = Store::open(&p, OpenMode::ReadWrite).unwrap();
    assert!(matches!(s.set(b"new", &val(3000, 3)), Err(Error::Corrupt(_))));
    assert_eq!(s.get_vec(b"kept").unwrap(), val(3000, 2));
    s.set(b"small", b"v").unwrap();
    assert!(!s.check().is_empty());
    drop(s);
    // A valid journal left by a dead heap-lock holder whose assignments
    // point outside the file: skipped on replay, the heap keeps working.
    let (_d, p) = make("heap-journal");
    let mut b = std::fs::read(&p).unwrap();
    put32(&mut b, OFF_HEAP_LOCK, 0x7fff_fff0); // a pid no process has
    put32(&mut b, OFF_HEAP_JOURNAL, 1);
    put32(&mut b, OFF_HEAP_JOURNAL + 4, 200); // more than 8: capped
    for i in 0..8 {
        put64(&mut b, OFF_HEAP_JOURNAL + 8 + 16 * i, u64::MAX - 7);
        put64(&mut b, OFF_HEAP_JOURNAL + 16 + 16 * i, 42);
    }
    std::fs::write(&p, b).unwrap();
    let s = Store::open(&p, OpenMode::ReadWrite).unwrap();
    s.set(b"after", &val(3000, 4)).unwrap();
    assert_eq!(s.get_vec(b"after").unwrap(), val(3000, 4));
    assert!(s.check().is_empty(), "{:?}", s.check());
}

#[test]
fn a_record_that_fits_only_without_its_ttl_moves_to_the_heap_and_back() {
    let dir = common::TempDir::new("heap-ttl");
    let s = Store::create(dir.path("s"), &opts()).unwrap();
    let cap = s.slot_capacity();
    // Key + value exactly fill the data area: inline without an expiry
    // time, 8 bytes too long with one.
    let v = val(cap - 3, 7);
    s.set(b"ttl", &v).unwrap();
    assert_eq!(s.heap_footprint(b"ttl").unwrap(), 0);
    s.expire(b"ttl", 3_600_000).unwrap();
    assert!(s.heap_footprint(b"ttl").unwrap() > 0, "with a TTL the record needs the heap");
    assert_eq!(s.get_vec(b"ttl").unwrap(), v);
    assert!(s.ttl(b"ttl").unwrap().is_some_and(|t| t > 3_500_000));
    // 8 bytes shorter: fits with its expiry time.
    let short = val(cap - 11, 8);
    s.set_ex(b"ttl", &short, 3_600_000).unwrap();
    assert_eq!(s.heap_footprint(b"ttl").unwrap(), 0);
    assert_eq!(s.heap_stats().used, 0, "the extent of the longer value was freed");
    s.set_ex(b"ttl", &v, 3_600_000).unwrap();
    s.expire(b"ttl", 0).unwrap();
    assert_eq!(s.heap_footprint(b"ttl").unwrap(), 0, "without its TTL it fits its slot again");
    assert_eq!(s.ttl(b"ttl"), Ok(None));
    assert_eq!(s.get_vec(b"ttl").unwrap(), v);
    assert_eq!(s.heap_stats().used, 0);
    assert!(s.check().is_empty(), "{:?}", s.check());
}
