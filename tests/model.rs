//! Property tests against a `HashMap` model: random sequences of set, get,
//! del, optimize, compacting copy, reopen and scans (`iter`, `iter_part`) must leave the store answering exactly as the
//! model does, with values on both sides of the slot's capacity (inline and
//! in the heap, exactly at the boundary, and overwrites that cross it both
//! ways).
//! Guards against: lost keys, resurrected deleted keys, duplicate copies of a
//! key after tombstone reuse, wrong values after overwrite, state lost on
//! reopen, counters drifting from the slots, and scans that return a key
//! twice, miss one, or return a deleted or expired one.

mod common;

use std::collections::HashMap;

use maph::{Error, OpenMode, Options, Store};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    Set(u8, Vec<u8>),
    /// A value of `cap - key length + delta` bytes (delta -1, 0, 1): the
    /// largest record a slot holds, and one byte more.
    SetAtBoundary(u8, i8, u8),
    /// `set_ex`: with a one-hour TTL, or (`true`) a 1 ms one that has
    /// passed before the next operation.
    SetEx(u8, Vec<u8>, bool),
    /// A one-hour TTL on a value of `cap - 8 - key length + delta` bytes:
    /// the largest record a slot holds with its expiry time, and one more.
    SetExAtBoundary(u8, i8, u8),
    /// `expire(k, 0)`: the key keeps its value and loses its TTL (a record
    /// that fits its slot only without one moves back inline).
    Persist(u8),
    Optimize,
    /// Continue on a compacting copy (`compact_to`).
    Compact,
    Get(u8),
    Del(u8),
    Reopen,
    /// A scan (`iter`, and `iter_part` in 3 parts) must return the model.
    Scan,
}

/// What a scan of `store` returns, as a map; fails on a key returned twice
/// or an error.
fn scanned(
    it: impl Iterator<Item = maph::Result<(Vec<u8>, Vec<u8>)>>,
    into: &mut HashMap<Vec<u8>, Vec<u8>>,
) -> Result<(), TestCaseError> {
    for r in it {
        let (k, v) = r.map_err(|e| TestCaseError::fail(format!("scan: {e}")))?;
        prop_assert!(into.insert(k.clone(), v).is_none(), "key {:?} returned twice", k);
    }
    Ok(())
}

fn scan_matches(store: &Store, model: &HashMap<Vec<u8>, Vec<u8>>) -> Result<(), TestCaseError> {
    let mut all = HashMap::new();
    scanned(store.iter(), &mut all)?;
    prop_assert_eq!(&all, model);
    let mut parts = HashMap::new();
    for p in 0..3 {
        scanned(store.iter_part(p, 3).unwrap(), &mut parts)?;
    }
    prop_assert_eq!(&parts, model);
    Ok(())
}

fn key(k: u8) -> Vec<u8> {
    // Keys of varied lengths, some sharing prefixes.
    let mut v = format!("k{k}").into_bytes();
    v.extend(std::iter::repeat_n(b'x', (k % 7) as usize * 5));
    v
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0u8..48, proptest::collection::vec(any::<u8>(), 0..70)).prop_map(|(k, v)| Op::Set(k, v)),
        2 => (0u8..48, proptest::collection::vec(any::<u8>(), 70..3000)).prop_map(|(k, v)| Op::Set(k, v)),
        1 => (0u8..48, -1i8..=1, any::<u8>()).prop_map(|(k, d, b)| Op::SetAtBoundary(k, d, b)),
        1 => (0u8..48, proptest::collection::vec(any::<u8>(), 0..200), proptest::bool::weighted(0.2))
            .prop_map(|(k, v, gone)| Op::SetEx(k, v, gone)),
        1 => (0u8..48, -1i8..=1, any::<u8>()).prop_map(|(k, d, b)| Op::SetExAtBoundary(k, d, b)),
        1 => (0u8..48).prop_map(Op::Persist),
        1 => Just(Op::Optimize),
        1 => Just(Op::Compact),
        3 => (0u8..48).prop_map(Op::Get),
        2 => (0u8..48).prop_map(Op::Del),
        1 => Just(Op::Reopen),
        1 => Just(Op::Scan),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn store_matches_a_hashmap_model(ops in proptest::collection::vec(op(), 1..300),
                                     slots in 16u64..80, probes in 1u32..16) {
        let dir = common::TempDir::new("model");
        let mut path = dir.path("s.maph");
        let mut copies = 0;
        let opts = Options { slots, slot_size: 128, max_probes: probes.min(slots as u32), lock_count: 4, heap_bytes: 1 << 20, ..Options::default() };
        let mut store = Store::create(&path, &opts).unwrap();
        let cap = store.slot_capacity();
        let mut model: HashMap<Vec<u8>, Vec<u8>> = HashMap::new();
        for op in ops {
            let op = match op {
                Op::SetAtBoundary(k, d, b) => {
                    let len = (cap as isize - key(k).len() as isize + d as isize).max(0) as usize;
                    Op::Set(k, vec![b; len])
                }
                Op::SetExAtBoundary(k, d, b) => {
                    let len = (cap as isize - 8 - key(k).len() as isize + d as isize).max(0) as usize;
                    Op::SetEx(k, vec![b; len], false)
                }
                op => op,
            };
            match op {
                Op::SetAtBoundary(..) | Op::SetExAtBoundary(..) => unreachable!(),
                Op::SetEx(k, v, gone) => {
                    let k = key(k);
                    match store.set_ex(&k, &v, if gone { 1 } else { 3_600_000 }) {
                        Ok(()) if gone => {
                            std::thread::sleep(std::time::Duration::from_millis(2));
                            prop_assert_eq!(store.get_vec(&k), Err(Error::NotFound));
                            model.remove(&k);
                            // Expired records stay counted until reclaimed.
                            store.flush_expired(0).unwrap();
                        }
                        Ok(()) => { model.insert(k, v); }
                        Err(Error::Full) => prop_assert!(!model.contains_key(&k), "Full on an overwrite"),
                        Err(e) => prop_assert!(false, "set_ex of {} bytes: {e}", k.len() + v.len()),
                    }
                }
                Op::Persist(k) => {
                    let k = key(k);
                    let r = store.expire(&k, 0);
                    if model.contains_key(&k) {
                        prop_assert_eq!(r, Ok(()));
                        prop_assert_eq!(store.ttl(&k), Ok(None));
                    } else {
                        prop_assert_eq!(r, Err(Error::NotFound));
                    }
                }
                Op::Optimize => { store.optimize().unwrap(); }
                Op::Compact => {
                    copies += 1;
                    let next = dir.path(&format!("copy{copies}.maph"));
                    // A heap as large as the original's, so later writes fit.
                    store = store.compact_to(&next, 1 << 20).unwrap();
                    path = next;
                }
                Op::Set(k, v) => {
                    let k = key(k);
                    match store.set(&k, &v) {
                        Ok(()) => { model.insert(k, v); }
                        Err(Error::TooLarge(e)) => prop_assert!(false, "set of {} bytes: {e}", k.len() + v.len()),
                        Err(Error::Full) => prop_assert!(!model.contains_key(&k), "Full on an overwrite"),
                        Err(e) => prop_assert!(false, "set: {e}"),
                    }
                }
                Op::Get(k) => {
                    let k = key(k);
                    let got = store.get_vec(&k);
                    match model.get(&k) {
                        Some(v) => prop_assert_eq!(got, Ok(v.clone())),
                        None => prop_assert_eq!(got, Err(Error::NotFound)),
                    }
                }
                Op::Del(k) => {
                    let k = key(k);
                    let r = store.del(&k);
                    if model.remove(&k).is_some() {
                        prop_assert_eq!(r, Ok(()));
                    } else {
                        prop_assert_eq!(r, Err(Error::NotFound));
                    }
                }
                Op::Scan => scan_matches(&store, &model)?,
                Op::Reopen => {
                    drop(store);
                    store = Store::open(&path, OpenMode::ReadWrite).unwrap();
                }
            }
            prop_assert_eq!(store.stats().keys, model.len() as u64);
        }
        for (k, v) in &model {
            prop_assert_eq!(store.get_vec(k), Ok(v.clone()));
        }
        scan_matches(&store, &model)?;
        let violations = store.check();
        prop_assert!(violations.is_empty(), "{:?}", violations);
        // No heap byte outlives its record.
        let live: u64 = model.keys().map(|k| store.heap_footprint(k).unwrap()).sum();
        prop_assert_eq!(store.heap_stats().used, live);
    }
}
