//! `mget`/`mset`: per-key results identical to one-at-a-time calls, before
//! and after `optimize()`, across group boundaries, with misses, empty keys
//! and small buffers mixed in.

mod common;

use maph::{Error, Options, Result, Store};

#[test]
fn mget_answers_exactly_as_get_for_every_key() {
    let dir = common::TempDir::new("mget");
    let s = Store::create(dir.path("s"), &Options { slots: 4096, ..Options::default() }).unwrap();
    let keys: Vec<Vec<u8>> = (0..1000u32).map(|i| format!("key:{i:08}").into_bytes()).collect();
    let vals: Vec<Vec<u8>> = (0..1000u32).map(|i| vec![i as u8; (i % 50) as usize]).collect();
    let kr: Vec<&[u8]> = keys.iter().map(|k| k.as_slice()).collect();
    let vr: Vec<&[u8]> = vals.iter().map(|v| v.as_slice()).collect();
    let mut res: Vec<Result<()>> = vec![Ok(()); 1000];
    s.mset(&kr[..700], &vr[..700], &mut res[..700]);
    assert!(res[..700].iter().all(|r| r.is_ok()));
    for round in 0..2 {
        // 700 present, 300 absent, an empty key, and small buffers.
        let mut query: Vec<&[u8]> = kr.clone();
        query.push(b"");
        let mut store: Vec<Vec<u8>> =
            (0..query.len()).map(|i| vec![0u8; if i % 97 == 0 { 2 } else { 64 }]).collect();
        let mut bufs: Vec<&mut [u8]> = store.iter_mut().map(|b| b.as_mut_slice()).collect();
        let mut out: Vec<Result<usize>> = vec![Ok(0); query.len()];
        s.mget(&query, &mut bufs, &mut out);
        for (i, k) in query.iter().enumerate() {
            let mut one = vec![0u8; bufs[i].len()];
            let expect = s.get(k, &mut one);
            assert_eq!(out[i], expect, "round {round} key {i}");
            if let Ok(n) = expect {
                assert_eq!(&bufs[i][..n], &one[..n]);
                assert_eq!(&bufs[i][..n], vals[i].as_slice());
            }
        }
        assert!(matches!(out[1000], Err(Error::InvalidArg(_))));
        assert_eq!(out[800], Err(Error::NotFound));
        s.optimize().unwrap();
    }
}

#[test]
fn mset_reports_each_keys_own_failure() {
    let dir = common::TempDir::new("mset");
    let s =
        Store::create(dir.path("s"), &Options { slots: 64, slot_size: 64, ..Options::default() })
            .unwrap();
    // Larger than the store's heap (64 KiB): too large for any store place.
    let big = vec![0u8; 100_000];
    let keys: [&[u8]; 3] = [b"a", b"b", b""];
    let vals: [&[u8]; 3] = [b"1", &big, b"3"];
    let mut out = vec![Ok(()); 3];
    s.mset(&keys, &vals, &mut out);
    assert_eq!(out[0], Ok(()));
    assert!(matches!(out[1], Err(Error::TooLarge(_))));
    assert!(matches!(out[2], Err(Error::InvalidArg(_))));
    assert_eq!(s.get_vec(b"a").unwrap(), b"1");
}
