//! Many threads on one store: readers never return a torn value; two writers
//! of the same new key never create two copies; writers of different keys
//! never lose either key. (Cross-process sharing is tested from C, in
//! `c_tests/`, with `fork()`.)

mod common;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;

use maph::{Error, OpenMode, Options, Store};

/// A self-checking value: generation, key id, then a fill derived from both,
/// with a length that varies with the generation.
fn value(key: u32, gen: u64) -> Vec<u8> {
    let len = 12 + (gen % 300) as usize;
    let mut v = Vec::with_capacity(len);
    v.extend_from_slice(&gen.to_le_bytes());
    v.extend_from_slice(&key.to_le_bytes());
    for i in 12..len {
        v.push(
            (gen as usize)
                .wrapping_mul(31)
                .wrapping_add(i * 7)
                .wrapping_add(key as usize) as u8,
        );
    }
    v
}

fn is_whole(key: u32, v: &[u8]) -> bool {
    v.len() >= 12 && {
        let gen = u64::from_le_bytes(v[..8].try_into().unwrap());
        v == value(key, gen).as_slice()
    }
}

#[test]
fn readers_never_see_a_torn_value_while_writers_rewrite_the_same_keys() {
    let dir = common::TempDir::new("torn");
    let store = Arc::new(
        Store::create(dir.path("s"), &Options { slots: 256, ..Options::default() }).unwrap(),
    );
    const KEYS: u32 = 16;
    for k in 0..KEYS {
        store.set(format!("key{k}").as_bytes(), &value(k, 0)).unwrap();
    }
    let stop = Arc::new(AtomicBool::new(false));
    let gen = Arc::new(AtomicU64::new(1));
    let reads = Arc::new(AtomicU64::new(0));
    let mut handles = vec![];
    for w in 0..3u32 {
        let (store, stop, gen) = (store.clone(), stop.clone(), gen.clone());
        handles.push(thread::spawn(move || {
            let mut i = w;
            while !stop.load(Ordering::Relaxed) {
                let k = i % KEYS;
                let g = gen.fetch_add(1, Ordering::Relaxed);
                let key = format!("key{k}");
                if g % 13 == 0 {
                    let _ = store.del(key.as_bytes());
                } else {
                    store.set(key.as_bytes(), &value(k, g)).unwrap();
                }
                i = i.wrapping_mul(1103515245).wrapping_add(12345) >> 3;
            }
        }));
    }
    for r in 0..2u32 {
        let (store, stop, reads) = (store.clone(), stop.clone(), reads.clone());
        handles.push(thread::spawn(move || {
            let mut buf = vec![0u8; 512];
            let mut k = r;
            while !stop.load(Ordering::Relaxed) {
                k = (k + 1) % KEYS;
                match store.get(format!("key{k}").as_bytes(), &mut buf) {
                    Ok(n) => assert!(
                        is_whole(k, &buf[..n]),
                        "torn value for key{k}: {:?}",
                        &buf[..n.min(16)]
                    ),
                    Err(Error::NotFound) => {}
                    Err(e) => panic!("get: {e}"),
                }
                if let Ok(r) = store.get_ref(format!("key{k}").as_bytes()) {
                    // SAFETY: inside the live mapping; validated below.
                    let copy = unsafe { std::slice::from_raw_parts(r.ptr, r.len) }.to_vec();
                    if store.ref_valid(r.token) {
                        assert!(is_whole(k, &copy), "torn get_ref value for key{k}");
                    }
                }
                reads.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    thread::sleep(std::time::Duration::from_secs(3));
    stop.store(true, Ordering::Relaxed);
    for h in handles {
        h.join().unwrap();
    }
    assert!(reads.load(Ordering::Relaxed) > 1000, "readers made no progress");
    assert!(gen.load(Ordering::Relaxed) > 1000, "writers made no progress");
    assert!(store.check().is_empty(), "{:?}", store.check());
}

#[test]
fn racing_writers_of_the_same_new_keys_create_one_copy_each() {
    let dir = common::TempDir::new("dup");
    // Tombstones first, so that inserts race over reusable slots too.
    let store = Arc::new(
        Store::create(dir.path("s"), &Options { slots: 4096, ..Options::default() }).unwrap(),
    );
    for i in 0..1000u32 {
        store.set(format!("old{i}").as_bytes(), b"x").unwrap();
    }
    for i in 0..1000u32 {
        store.del(format!("old{i}").as_bytes()).unwrap();
    }
    const KEYS: u32 = 2000;
    let barrier = Arc::new(Barrier::new(4));
    let handles: Vec<_> = (0..4u32)
        .map(|t| {
            let (store, barrier) = (store.clone(), barrier.clone());
            thread::spawn(move || {
                barrier.wait();
                for i in 0..KEYS {
                    // Threads walk the keys in different orders and also delete.
                    let k = if t % 2 == 0 { i } else { KEYS - 1 - i };
                    store.set(format!("new{k}").as_bytes(), &value(k, u64::from(t))).unwrap();
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(store.stats().keys, u64::from(KEYS));
    let violations = store.check();
    assert!(violations.is_empty(), "{violations:?}");
    for k in 0..KEYS {
        assert!(is_whole(k, &store.get_vec(format!("new{k}").as_bytes()).unwrap()));
    }
}

#[test]
fn writers_of_different_keys_never_lose_one_at_high_load() {
    let dir = common::TempDir::new("lose");
    let path = dir.path("s");
    let store = Arc::new(
        Store::create(&path, &Options { slots: 8192, slot_size: 64, ..Options::default() })
            .unwrap(),
    );
    let per = 1700u32; // 4 * 1700 = 6800 keys: 0.83 load
    let handles: Vec<_> = (0..4u32)
        .map(|t| {
            let store = store.clone();
            thread::spawn(move || {
                for i in 0..per {
                    let k = t * per + i;
                    store.set(format!("d{k}").as_bytes(), &k.to_le_bytes()).unwrap();
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    drop(store);
    let store = Store::open(&path, OpenMode::ReadOnly).unwrap();
    for k in 0..4 * per {
        assert_eq!(
            store.get_vec(format!("d{k}").as_bytes()).unwrap(),
            k.to_le_bytes(),
            "lost d{k}"
        );
    }
    assert_eq!(store.stats().keys, u64::from(4 * per));
    assert!(store.check().is_empty());
}
