//! `ops`: an arbitrary sequence of store operations, every answer checked
//! against a `HashMap` model.
//!
//! The first input byte picks the store:
//! - bit 1 clear: a store of fixed size, 64 slots of 64 bytes (so
//!   `key + value` up to 48 bytes stay in the slot, larger records — keys
//!   of 20 to 59 bytes, values up to 39 — go to the 1 MiB heap, and the
//!   table fills up);
//! - bit 1 set: a growing store (`slots: 0`) of 64-byte slots, a 256 KiB
//!   heap and `max_bytes` 768 KiB (bit 2 clear: 3 levels of 1,024, 2,048
//!   and 4,096 slots, which with the heap fit the limit) or 1 MiB (bit 2
//!   set: 4 levels, the last of which does not fit once the heap is
//!   reserved, so adding it answers `GrowthLimit`). A level is added when
//!   768, 2,304 and 5,376 slots are taken: the `bulk` operation (keys
//!   `g0`..`g16575`, up to 256 per operation, 8,192 per run) gets there.
//!
//! Bit 0 picks the maximum probe distance:
//! - clear: 64. In the store of fixed size probing wraps around the table
//!   and inserts reuse tombstones, so an insert of an absent key fails with
//!   `Full` exactly when 64 keys are live: the model predicts `Full`
//!   exactly.
//! - set: 3. Whether an insert finds a free slot within 3 probes depends on
//!   the hashes, so the model accepts `Full` for an insert of an *absent*
//!   key (and then expects nothing to have changed), never elsewhere.
//!
//! A growing store adds a level instead of answering `Full` while it can
//! (a full probe window in the newest level adds one too), so there the
//! model accepts `Full` only for an insert of an absent key once the store
//! has all its levels, and `GrowthLimit` only once it has 3 levels (adding
//! levels 1 and 2 and reserving the heap always fit both limits: 8 KiB of
//! header and locks, 16 KiB of control bytes, 448 KiB of slots, 256 KiB of
//! heap), for an insert of an absent key or for a write whose record needs
//! the heap while no such write has succeeded yet (the heap's first
//! reservation, all 256 KiB of it, counts against the limit). While the
//! store has fewer than 3 levels, the model's key count must not exceed
//! the 3/4 of the levels' slots after which the next level is added (else
//! the store stopped growing). Everything else is as for the store of
//! fixed size; a key written before a level was added is found in its old
//! level by every write (a second copy in the new level would show in
//! `stats().keys`), and a UID naming a slot of a level not added yet
//! answers `NotFound`.
//!
//! No record here is too large for the heap, so `TooLarge` is never right;
//! the empty key is `InvalidArg`. Expiry uses TTLs
//! of an hour or more, so no key expires during a run; `ttl` must answer at
//! most the TTL set. UIDs: a key's UID is stable while it lives (keys never
//! move, not even by `optimize`), and a deleted key's UID answers `NotFound`
//! forever after.
//!
//! A scan (op 17: `iter_part` in 1 to 4 parts) returns exactly the
//! model's keys and values, each once.
//!
//! Every 16 operations and at the end: `check()` finds nothing and
//! `stats().keys` equals the model's count.
#![no_main]

use std::collections::HashMap;
use std::fs::File;

use libfuzzer_sys::fuzz_target;
use maph::{Error, OpenMode, Options, Store};
use maph_fuzz::Input;

const SLOTS: u64 = 64;
const HOUR: u64 = 3_600_000;
/// Bytes of key and value a 64-byte slot holds (8 fewer with an expiry).
const SLOT_CAP: usize = 48;
/// Keys the `bulk` operation may write in one run: past the 7,168 slots of
/// 3 levels (a growing store's fourth level comes after 5,376 taken), and
/// no more (an input that spends it runs for about half a second).
const BULK_BUDGET: u32 = 8192;

struct Entry {
    val: Vec<u8>,
    ttl: Option<u64>,
}

struct Model {
    map: HashMap<Vec<u8>, Entry>,
    /// UIDs seen, and whether their key still lives under them.
    uids: Vec<(u64, Vec<u8>)>,
    dead: Vec<u64>,
    exact_full: bool,
    /// A growing store: its most levels, and whether a write that needed
    /// the heap has succeeded (the heap's one reservation is then done).
    grow: Option<Grow>,
}

struct Grow {
    max_levels: u32,
    heap_reserved: bool,
}

/// Whether a record of `kl + vl` bytes (with an expiry time when `ttl`)
/// needs the heap.
fn needs_heap(kl: usize, vl: usize, ttl: bool) -> bool {
    kl + vl + if ttl { 8 } else { 0 } > SLOT_CAP
}

impl Model {
    /// What an insert of `key` (absent from the model) must answer, or
    /// `None` when `Full` and `Ok` are both allowed.
    fn insert_room(&self) -> Option<bool> {
        if self.exact_full && self.grow.is_none() {
            Some((self.map.len() as u64) < SLOTS)
        } else {
            None
        }
    }

    fn kill_uids(&mut self, key: &[u8]) {
        let (gone, keep): (Vec<_>, Vec<_>) = self.uids.drain(..).partition(|(_, k)| k == key);
        self.uids = keep;
        self.dead.extend(gone.into_iter().map(|(u, _)| u));
    }
}

fn key(inp: &mut Input) -> Vec<u8> {
    let b = inp.u8();
    match b {
        0..=199 => format!("k{}", b % 80).into_bytes(),
        200..=239 => vec![b'L'; 20 + (b as usize - 200)], // 20..59 bytes: some in the heap
        _ => Vec::new(),                                  // empty: InvalidArg
    }
}

fn val(inp: &mut Input) -> Vec<u8> {
    let n = (inp.u8() % 40) as usize;
    inp.bytes(n)
}

fn ttl(inp: &mut Input) -> u64 {
    match inp.u8() % 4 {
        0 => 0,
        1 => HOUR,
        2 => 24 * HOUR,
        _ => 1000 * HOUR,
    }
}

/// Checks a write's answer for an insert-or-update of `k` (`heap`: the
/// record it writes needs the heap), given what the model says the op does
/// when it is allowed. Returns whether the model should apply the write.
fn check_put(
    m: &mut Model, s: &Store, k: &[u8], heap: bool, present: bool, r: &Result<(), Error>,
    what: &str,
) -> bool {
    if key_rejected(k, r, what) {
        return false;
    }
    if let Some(g) = &mut m.grow {
        let levels = s.levels();
        match r {
            Ok(()) => {
                g.heap_reserved |= heap;
                return true;
            }
            // Adding level 3, or the heap's first reservation once the
            // levels have taken the rest of the 1 MiB limit.
            Err(Error::GrowthLimit { .. })
                if levels >= 3 && (!present || heap && !g.heap_reserved) =>
            {
                return false
            }
            Err(Error::Full) if !present && levels == g.max_levels => return false,
            _ => panic!(
                "{what} of a{} key, {} live, {levels} levels: {r:?}",
                if present { " present" } else { "n absent" },
                m.map.len()
            ),
        }
    }
    if !present {
        match (m.insert_room(), r) {
            (Some(true) | None, Ok(())) => return true,
            (Some(false) | None, Err(Error::Full)) => return false,
            _ => panic!("{what} of an absent key, {} live: {r:?}", m.map.len()),
        }
    }
    assert!(r.is_ok(), "{what} of a present key: {r:?}");
    true
}

fn open(file: &File) -> Store {
    Store::from_file(file.try_clone().unwrap(), OpenMode::ReadWrite).expect("reopening")
}

fn verify(s: &Store, m: &Model) {
    let problems = s.check();
    assert!(problems.is_empty(), "check: {problems:?}");
    assert_eq!(s.stats().keys, m.map.len() as u64, "stats().keys");
    if m.grow.is_some() {
        // Below 3 levels nothing stops a growing store from adding the
        // next one, which it does before taking a free slot of the newest
        // level past 3/4 of it: 768 slots of level 0, 1,536 of level 1.
        let n = s.levels();
        let taken = 768 * ((1u64 << n) - 1);
        assert!(n >= 3 || m.map.len() as u64 <= taken, "{} keys in {n} levels", m.map.len());
    }
}

fuzz_target!(|data: &[u8]| {
    let mut inp = Input::new(data);
    let mode = inp.u8();
    let exact_full = mode & 1 == 0;
    let growing = mode & 2 != 0;
    let opts = if growing {
        Options {
            slots: 0,
            slot_size: 64,
            max_probes: if exact_full { 64 } else { 3 },
            seed: 0x5eed,
            lock_count: 16,
            heap_bytes: 256 << 10,
            max_bytes: if mode & 4 == 0 { 768 << 10 } else { 1 << 20 },
            ..Options::default()
        }
    } else {
        Options {
            slots: SLOTS,
            slot_size: 64,
            max_probes: if exact_full { 64 } else { 3 },
            seed: 0x5eed,
            lock_count: 16,
            heap_bytes: 1 << 20,
            ..Options::default()
        }
    };
    // A store file built the normal way in /dev/shm (no disk; a growing
    // store's file stays sparse), unlinked once open: the handle is all
    // that is left of it.
    let file = {
        let path = format!("/dev/shm/maph-fuzz-ops-{}", std::process::id());
        let _ = std::fs::remove_file(&path);
        drop(Store::create(&path, &opts).expect("create"));
        let f = File::options().read(true).write(true).open(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        f
    };
    let mut s = open(&file);
    let grow =
        growing.then(|| Grow { max_levels: s.geometry().max_levels(), heap_reserved: false });
    let mut m = Model { map: HashMap::new(), uids: Vec::new(), dead: Vec::new(), exact_full, grow };
    let mut bulk_left = BULK_BUDGET;
    let mut buf = vec![0u8; 64];
    let mut step = 0u32;
    while !inp.done() && step < 2000 {
        step += 1;
        match inp.u8() % 20 {
            0 => {
                let (k, v) = (key(&mut inp), val(&mut inp));
                let present = m.map.contains_key(&k);
                let r = s.set(&k, &v);
                let heap = needs_heap(k.len(), v.len(), false);
                if check_put(&mut m, &s, &k, heap, present, &r, "set") {
                    m.map.insert(k, Entry { val: v, ttl: None });
                }
            }
            1 => {
                let (k, v) = (key(&mut inp), val(&mut inp));
                let present = m.map.contains_key(&k);
                let r = s.add(&k, &v);
                if present && !k.is_empty() {
                    assert!(matches!(r, Err(Error::Exists)), "add of a present key: {r:?}");
                } else if check_put(
                    &mut m,
                    &s,
                    &k,
                    needs_heap(k.len(), v.len(), false),
                    present,
                    &r,
                    "add",
                ) {
                    m.map.insert(k, Entry { val: v, ttl: None });
                }
            }
            2 => {
                let (k, v) = (key(&mut inp), val(&mut inp));
                let present = m.map.contains_key(&k);
                let r = s.replace(&k, &v);
                // `replace` keeps the key's expiry.
                let heap =
                    needs_heap(k.len(), v.len(), m.map.get(&k).is_some_and(|e| e.ttl.is_some()));
                if !present && !k.is_empty() {
                    assert!(matches!(r, Err(Error::NotFound)), "replace of an absent key: {r:?}");
                } else if check_put(&mut m, &s, &k, heap, present, &r, "replace") {
                    m.map.get_mut(&k).unwrap().val = v;
                }
            }
            3 => {
                let k = key(&mut inp);
                // Expected: the current value half of the time.
                let exp = match (inp.u8() % 2, m.map.get(&k)) {
                    (0, Some(e)) => e.val.clone(),
                    _ => val(&mut inp),
                };
                let v = val(&mut inp);
                let r = s.cas(&k, &exp, &v);
                let cur = m.map.get(&k).map(|e| (e.val.clone(), e.ttl.is_some()));
                if k.is_empty() {
                    check_put(&mut m, &s, &k, false, true, &r, "cas");
                } else {
                    match cur {
                        None => assert!(matches!(r, Err(Error::NotFound)), "cas absent: {r:?}"),
                        Some((c, t)) if c == exp => {
                            // `cas` keeps the key's expiry.
                            let heap = needs_heap(k.len(), v.len(), t);
                            if check_put(&mut m, &s, &k, heap, true, &r, "cas matching") {
                                m.map.get_mut(&k).unwrap().val = v;
                            }
                        }
                        Some(_) => {
                            assert!(matches!(r, Err(Error::Conflict(_))), "cas differing: {r:?}")
                        }
                    }
                }
            }
            4 => {
                let k = key(&mut inp);
                let delta = match inp.u8() % 4 {
                    0 => 0,
                    1 => 1,
                    2 => -7,
                    _ => inp.u64() as i64,
                };
                let r = s.incr(&k, delta);
                if key_rejected(&k, &r, "incr") {
                    continue;
                }
                match m.map.get_mut(&k) {
                    Some(e) if e.val.len() != 8 => {
                        assert!(matches!(r, Err(Error::NotInteger)), "incr non-integer: {r:?}")
                    }
                    Some(e) => {
                        let cur = i64::from_le_bytes(e.val[..].try_into().unwrap());
                        match cur.checked_add(delta) {
                            None => {
                                assert!(matches!(r, Err(Error::Overflow)), "incr overflow: {r:?}")
                            }
                            Some(n) => {
                                assert_eq!(r.ok(), Some(n), "incr result");
                                e.val = n.to_le_bytes().to_vec();
                            }
                        }
                    }
                    None if delta == 0 => {
                        assert!(matches!(r, Err(Error::NotFound)), "incr 0 of absent: {r:?}")
                    }
                    None => {
                        let rr = r.map(|n| {
                            assert_eq!(n, delta, "incr of an absent key");
                        });
                        let heap = needs_heap(k.len(), 8, false);
                        if check_put(&mut m, &s, &k, heap, false, &rr, "incr") {
                            m.map.insert(k, Entry { val: delta.to_le_bytes().to_vec(), ttl: None });
                        }
                    }
                }
            }
            5 => {
                let k = key(&mut inp);
                let r = s.del(&k);
                if key_rejected(&k, &r, "del") {
                } else if m.map.remove(&k).is_some() {
                    assert!(r.is_ok(), "del present: {r:?}");
                    m.kill_uids(&k);
                } else {
                    assert!(matches!(r, Err(Error::NotFound)), "del absent: {r:?}");
                }
            }
            6 => {
                let (k, v, t) = (key(&mut inp), val(&mut inp), ttl(&mut inp));
                let present = m.map.contains_key(&k);
                let r = s.set_ex(&k, &v, t);
                if t == 0 {
                    assert!(matches!(r, Err(Error::InvalidArg(_))), "set_ex ttl 0: {r:?}");
                } else if check_put(
                    &mut m,
                    &s,
                    &k,
                    needs_heap(k.len(), v.len(), true),
                    present,
                    &r,
                    "set_ex",
                ) {
                    m.map.insert(k, Entry { val: v, ttl: Some(t) });
                }
            }
            7 => {
                let (k, t) = (key(&mut inp), ttl(&mut inp));
                let r = s.expire(&k, t);
                if key_rejected(&k, &r, "expire") {
                } else if let Some(e) = m.map.get(&k) {
                    // The record is written again, with or without an expiry.
                    let heap = needs_heap(k.len(), e.val.len(), t != 0);
                    if check_put(&mut m, &s, &k, heap, true, &r, "expire present") {
                        m.map.get_mut(&k).unwrap().ttl = (t != 0).then_some(t);
                    }
                } else {
                    assert!(matches!(r, Err(Error::NotFound)), "expire absent: {r:?}");
                }
            }
            8 => {
                let k = key(&mut inp);
                let r = s.ttl(&k);
                if key_rejected(&k, &r, "ttl") {
                } else {
                    match m.map.get(&k) {
                        None => assert!(matches!(r, Err(Error::NotFound)), "ttl absent: {r:?}"),
                        Some(Entry { ttl: None, .. }) => assert_eq!(r.ok(), Some(None), "ttl none"),
                        Some(Entry { ttl: Some(t), .. }) => {
                            let got = r.expect("ttl present").expect("ttl set");
                            assert!(got <= *t && got + 60_000 > *t, "ttl {got} for {t}");
                        }
                    }
                }
            }
            9 => {
                let k = key(&mut inp);
                let r = s.uid(&k);
                if key_rejected(&k, &r, "uid") {
                } else if m.map.contains_key(&k) {
                    let u = r.expect("uid of a present key");
                    if let Some((known, _)) = m.uids.iter().find(|(_, kk)| *kk == k) {
                        assert_eq!(*known, u, "uid changed while the key lived");
                    } else {
                        assert!(!m.dead.contains(&u), "a deleted key's uid came back");
                        m.uids.push((u, k));
                    }
                } else {
                    assert!(matches!(r, Err(Error::NotFound)), "uid absent: {r:?}");
                }
            }
            10 | 11 => {
                let del = inp.u8() % 2 == 1;
                let pick = inp.u8() as usize;
                let (uid, owner) = match pick % 3 {
                    0 if !m.uids.is_empty() => {
                        let (u, k) = &m.uids[pick % m.uids.len()];
                        (*u, Some(k.clone()))
                    }
                    1 if !m.dead.is_empty() => (m.dead[pick % m.dead.len()], None),
                    // Names no slot in use (of a growing store: a slot of a
                    // level not added yet, or past every level).
                    _ => (s.slots_in_use() + inp.u16() as u64, None),
                };
                if del {
                    let r = s.del_by_uid(uid);
                    match owner {
                        Some(k) => {
                            assert!(r.is_ok(), "del_by_uid live: {r:?}");
                            m.map.remove(&k);
                            m.kill_uids(&k);
                        }
                        None => {
                            assert!(matches!(r, Err(Error::NotFound)), "del_by_uid dead: {r:?}")
                        }
                    }
                } else {
                    let r = s.get_by_uid(uid, &mut buf);
                    match owner {
                        Some(k) => {
                            let n = r.expect("get_by_uid live");
                            assert_eq!(&buf[..n], &m.map[&k].val[..], "get_by_uid value");
                        }
                        None => {
                            assert!(matches!(r, Err(Error::NotFound)), "get_by_uid dead: {r:?}")
                        }
                    }
                }
            }
            12 => {
                let n = 1 + inp.u8() as usize % 6;
                let keys: Vec<Vec<u8>> = (0..n).map(|_| key(&mut inp)).collect();
                let small = inp.u8() % 4 == 0;
                let mut store: Vec<Vec<u8>> = vec![vec![0u8; if small { 4 } else { 64 }]; n];
                let mut bufs: Vec<&mut [u8]> = store.iter_mut().map(|b| &mut b[..]).collect();
                let refs: Vec<&[u8]> = keys.iter().map(|k| &k[..]).collect();
                let mut out: Vec<maph::Result<usize>> = (0..n).map(|_| Ok(0)).collect();
                s.mget(&refs, &mut bufs, &mut out);
                for i in 0..n {
                    check_get(&m, &keys[i], &out[i], bufs[i], "mget");
                }
            }
            13 => {
                let n = 1 + inp.u8() as usize % 6;
                let kv: Vec<(Vec<u8>, Vec<u8>)> =
                    (0..n).map(|_| (key(&mut inp), val(&mut inp))).collect();
                let keys: Vec<&[u8]> = kv.iter().map(|(k, _)| &k[..]).collect();
                let vals: Vec<&[u8]> = kv.iter().map(|(_, v)| &v[..]).collect();
                let mut out: Vec<maph::Result<()>> = (0..n).map(|_| Ok(())).collect();
                s.mset(&keys, &vals, &mut out);
                // In order, as if each were a `set`.
                for (i, (k, v)) in kv.into_iter().enumerate() {
                    let present = m.map.contains_key(&k);
                    let heap = needs_heap(k.len(), v.len(), false);
                    if check_put(&mut m, &s, &k, heap, present, &out[i], "mset") {
                        m.map.insert(k, Entry { val: v, ttl: None });
                    }
                }
            }
            14 => {
                let r = s.optimize();
                assert!(r.is_ok(), "optimize: {r:?}");
            }
            15 => {
                drop(s);
                s = open(&file);
            }
            16 => verify(&s, &m),
            17 => {
                // scan: the parts of a cursor return exactly the model.
                let nparts = 1 + u32::from(inp.u8() % 4);
                let mut seen: HashMap<Vec<u8>, Vec<u8>> = HashMap::new();
                for p in 0..nparts {
                    for r in s.iter_part(p, nparts).expect("iter_part") {
                        let (k, v) = r.expect("scan");
                        assert!(seen.insert(k, v).is_none(), "scan returned a key twice");
                    }
                }
                assert_eq!(seen.len(), m.map.len(), "scan count");
                for (k, e) in &m.map {
                    assert_eq!(seen.get(k), Some(&e.val), "scan value");
                }
            }
            19 => {
                // bulk: sets `g<base>`..`g<base + n - 1>` (a window that
                // overlaps others: updates of keys in older levels) to a
                // 2-byte value, each as a `set`; enough of them add levels.
                let n = (1 + inp.u8() as u32).min(bulk_left);
                let base = u32::from(inp.u8()) * 64;
                let tag = inp.u8();
                bulk_left -= n;
                for i in base..base + n {
                    let k = format!("g{i}").into_bytes();
                    let v = vec![tag, i as u8];
                    let present = m.map.contains_key(&k);
                    let r = s.set(&k, &v);
                    if check_put(&mut m, &s, &k, false, present, &r, "bulk set") {
                        m.map.insert(k, Entry { val: v, ttl: None });
                    }
                }
            }
            _ => {
                let k = key(&mut inp);
                let small = inp.u8() % 4 == 0;
                let mut b = vec![0u8; if small { 4 } else { 64 }];
                let r = s.get(&k, &mut b);
                check_get(&m, &k, &r, &b, "get");
            }
        }
        if step % 16 == 0 {
            verify(&s, &m);
        }
    }
    verify(&s, &m);
    for (k, e) in &m.map {
        assert_eq!(s.get_vec(k).expect("final get"), e.val, "final value");
    }
});

fn check_get(m: &Model, k: &[u8], r: &maph::Result<usize>, buf: &[u8], what: &str) {
    if key_rejected(k, r, what) {
        return;
    }
    match m.map.get(k) {
        None => assert!(matches!(r, Err(Error::NotFound)), "{what} absent: {r:?}"),
        Some(e) if e.val.len() > buf.len() => {
            assert!(
                matches!(r, Err(Error::BufferTooSmall(n)) if *n == e.val.len()),
                "{what} small: {r:?}"
            )
        }
        Some(e) => {
            let n = *r.as_ref().unwrap_or_else(|err| panic!("{what} present: {err:?}"));
            assert_eq!(&buf[..n], &e.val[..], "{what} value");
        }
    }
}

/// Whether `k` is a key every operation refuses (empty: `InvalidArg`); if
/// so, asserts that `r` says so.
fn key_rejected<T: std::fmt::Debug>(k: &[u8], r: &maph::Result<T>, what: &str) -> bool {
    if k.is_empty() {
        assert!(matches!(r, Err(Error::InvalidArg(_))), "{what} empty key: {r:?}");
        return true;
    }
    false
}
