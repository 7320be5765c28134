//! `optimize()`: the persisted MPHF. Guards against: keys missed after
//! optimize (deleted, re-inserted, inserted later), a reopened store not
//! using the stored MPHF, a torn bank being trusted, readers missing keys
//! while optimize runs, and UIDs changing across optimize.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use maph::store::format::*;
use maph::{Error, OpenMode, Options, Store};

fn filled(dir: &common::TempDir, n: u32, slots: u64) -> Store {
    let s = Store::create(dir.path("s"), &Options { slots, slot_size: 128, ..Options::default() })
        .unwrap();
    for i in 0..n {
        s.set(format!("key:{i:08}").as_bytes(), format!("val{i}").as_bytes()).unwrap();
    }
    s
}

#[test]
fn every_key_is_found_after_optimize_and_changes_after_it_too() {
    let dir = common::TempDir::new("opt");
    let s = filled(&dir, 3000, 4096);
    let rep = s.optimize().unwrap();
    assert_eq!((rep.generation, rep.keys), (1, 3000));
    assert!(s.mphf_in_use());
    for i in 0..3000 {
        assert_eq!(
            s.get_vec(format!("key:{i:08}").as_bytes()).unwrap(),
            format!("val{i}").as_bytes()
        );
    }
    // Deleted keys stay deleted; later keys are found by probing.
    for i in 0..3000 {
        if i % 3 == 0 {
            s.del(format!("key:{i:08}").as_bytes()).unwrap();
        }
    }
    for i in 3000..3500 {
        s.set(format!("key:{i:08}").as_bytes(), b"late").unwrap();
    }
    // Re-insert some deleted keys: they land in other slots.
    for i in (0..300).step_by(3) {
        s.set(format!("key:{i:08}").as_bytes(), b"again").unwrap();
    }
    for i in 0..3500 {
        let got = s.get_vec(format!("key:{i:08}").as_bytes());
        if i >= 3000 {
            assert_eq!(got.unwrap(), b"late");
        } else if i % 3 == 0 && i < 300 {
            assert_eq!(got.unwrap(), b"again");
        } else if i % 3 == 0 {
            assert_eq!(got, Err(Error::NotFound), "key {i} came back");
        } else {
            assert!(got.is_ok());
        }
    }
    assert_eq!(s.get_vec(b"never"), Err(Error::NotFound));
    let st = s.stats();
    assert_eq!(st.mphf_keys, 3000);
    assert_eq!(st.keys_outside_mphf, 600);
    assert!(s.check().is_empty());
}

/// Offset of slot `idx` in the file.
fn slot_off(b: &[u8], idx: u64) -> usize {
    get64(b, OFF_SLOTS_OFFSET) as usize + idx as usize * get32(b, OFF_SLOT_SIZE) as usize
}

#[test]
fn reopened_store_reads_one_slot_through_the_stored_mphf() {
    let dir = common::TempDir::new("onehop");
    let path = dir.path("s");
    let s = filled(&dir, 3000, 4096);
    s.optimize().unwrap();
    // Find keys displaced from home (probe distance >= 1).
    let mut displaced = vec![];
    for i in 0..3000 {
        let k = format!("key:{i:08}");
        let uid = s.uid(k.as_bytes()).unwrap();
        let home = s.home_slot(k.as_bytes());
        if uid & 0xffff_ffff != home {
            displaced.push((k, home, uid & 0xffff_ffff));
        }
    }
    assert!(displaced.len() > 100);
    drop(s);
    // Cut every displaced key's probe chain: mark its home slot as never
    // written. Probing alone now stops at the home slot and says NotFound.
    let mut b = std::fs::read(&path).unwrap();
    let mut cut = std::collections::HashSet::new();
    for (_, home, _) in &displaced {
        let o = slot_off(&b, *home);
        b[o..o + 8].fill(0);
        cut.insert(*home);
    }
    std::fs::write(&path, &b).unwrap();
    let s = Store::open(&path, OpenMode::ReadOnly).unwrap();
    assert!(s.mphf_in_use(), "reopened store did not load the stored MPHF");
    for (k, _, slot) in &displaced {
        if cut.contains(slot) {
            continue; // its own slot was cut
        }
        assert!(s.get_vec(k.as_bytes()).is_ok(), "{k} not found through the MPHF");
    }
}

#[test]
fn a_torn_bank_is_never_trusted_and_probing_still_answers() {
    let dir = common::TempDir::new("torn");
    let path = dir.path("s");
    let s = filled(&dir, 2000, 4096);
    s.optimize().unwrap();
    s.optimize().unwrap(); // generation 2 lives in bank 0
    drop(s);
    let mut b = std::fs::read(&path).unwrap();
    let extra = get64(&b, OFF_EXTRA_OFFSET) as usize;
    let bank = get64(&b, OFF_EXTRA_LEN) as usize / 2;
    // A crash while writing generation 3 into bank 1: garbage there, header
    // still at 2. The store answers with generation 2.
    b[extra + bank + 100..extra + bank + 2000].fill(0xAB);
    std::fs::write(&path, &b).unwrap();
    let s = Store::open(&path, OpenMode::ReadOnly).unwrap();
    assert!(s.mphf_in_use());
    drop(s);
    // Damage the bank in force: it fails its checksum; probing answers.
    b[extra + 200] ^= 0xff;
    std::fs::write(&path, &b).unwrap();
    let s = Store::open(&path, OpenMode::ReadOnly).unwrap();
    assert!(!s.mphf_in_use(), "a damaged bank was trusted");
    for i in 0..2000 {
        assert!(s.get_vec(format!("key:{i:08}").as_bytes()).is_ok());
    }
}

#[test]
fn another_handle_picks_up_a_new_generation_without_reopening() {
    let dir = common::TempDir::new("gen");
    let a = filled(&dir, 1000, 2048);
    let b = Store::open(dir.path("s"), OpenMode::ReadOnly).unwrap();
    assert!(!b.mphf_in_use());
    a.optimize().unwrap();
    assert!(b.get_vec(b"key:00000001").is_ok());
    assert!(b.mphf_in_use());
    assert_eq!(b.stats().generation, 1);
}

#[test]
fn readers_never_miss_a_key_while_optimize_runs_and_writers_write() {
    let dir = common::TempDir::new("live");
    let s = Arc::new(filled(&dir, 20_000, 40_000));
    let stop = Arc::new(AtomicBool::new(false));
    let reader = {
        let (s, stop) = (s.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut rounds = 0;
            while !stop.load(Ordering::Relaxed) {
                for i in (0..20_000).step_by(7) {
                    assert!(s.get_vec(format!("key:{i:08}").as_bytes()).is_ok(), "missed key {i}");
                }
                rounds += 1;
            }
            rounds
        })
    };
    let writer = {
        let (s, stop) = (s.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut i = 100_000u32;
            while !stop.load(Ordering::Relaxed) {
                s.set(format!("new:{i}").as_bytes(), b"x").unwrap();
                i += 1;
                if i > 110_000 {
                    break;
                }
            }
            i
        })
    };
    for _ in 0..5 {
        s.optimize().unwrap();
    }
    stop.store(true, Ordering::Relaxed);
    assert!(reader.join().unwrap() > 0);
    let last = writer.join().unwrap();
    for i in 100_000..last {
        assert!(s.get_vec(format!("new:{i}").as_bytes()).is_ok(), "lost new:{i}");
    }
    assert!(s.check().is_empty());
}

#[test]
fn optimize_on_a_read_only_handle_is_refused() {
    let dir = common::TempDir::new("ro");
    drop(filled(&dir, 10, 64));
    let s = Store::open(dir.path("s"), OpenMode::ReadOnly).unwrap();
    assert_eq!(s.optimize(), Err(Error::ReadOnly));
}

#[test]
fn empty_store_optimizes_to_an_empty_mphf() {
    let dir = common::TempDir::new("empty");
    let s = filled(&dir, 0, 64);
    assert_eq!(s.optimize().unwrap().keys, 0);
    assert_eq!(s.get_vec(b"k"), Err(Error::NotFound));
    s.set(b"k", b"v").unwrap();
    assert_eq!(s.get_vec(b"k").unwrap(), b"v");
}

#[test]
fn insert_delete_churn_after_optimize_keeps_the_store_openable() {
    // The count of inserts since optimize() only grows until the next
    // optimize(); it must never make a sound store fail validation.
    let dir = common::TempDir::new("churn");
    let s = Store::create(dir.path("s"), &Options { slots: 16, ..Options::default() }).unwrap();
    s.set(b"a", b"1").unwrap();
    s.optimize().unwrap();
    for _ in 0..40 {
        s.set(b"k", b"v").unwrap();
        s.del(b"k").unwrap();
    }
    assert!(s.stats().keys_outside_mphf <= s.stats().keys);
    drop(s);
    let s = Store::open(dir.path("s"), OpenMode::ReadOnly).expect("churned store must open");
    assert_eq!(s.get_vec(b"a").unwrap(), b"1");
}
