//! Loom model of the slot seqlock protocol (`src/sync/seqlock.rs`): under
//! every interleaving loom explores, a reader that validates never returns a
//! value mixed from two writes, and two writers never hold one slot at once.
//! And of the control bytes (`src/store/ctrl.rs`), modelled here on loom's
//! atomics with the same orderings: a key whose insert finished is found by
//! a lookup that starts after it, even when its writer passed a slot another
//! writer was filling for the first time, and a lookup led by a control
//! byte to a slot reads the key the byte names or fails to validate.
//!
//! Run: `RUSTFLAGS="--cfg loom" cargo test --release --test loom`
//! (`make test` does, with its own target directory).
#![cfg(loom)]

use loom::sync::atomic::{AtomicU64, Ordering};
use loom::sync::Arc;
use loom::thread;
use maph::sync::seqlock::{is_locked, read_begin, read_validate, tag_of, try_lock, unlock};

/// A slot: the seqlock word and two data words that a write sets together.
struct Slot {
    word: AtomicU64,
    data: [AtomicU64; 2],
}

fn write(slot: &Slot, v: u64, tag: u32) -> bool {
    let cur = slot.word.load(Ordering::Relaxed);
    let Some(locked) = try_lock(&slot.word, cur, tag) else {
        return false;
    };
    slot.data[0].store(v, Ordering::Relaxed);
    slot.data[1].store(v, Ordering::Relaxed);
    unlock(&slot.word, locked, tag);
    true
}

/// One read attempt: Some((tag, a, b)) when it validated.
fn read(slot: &Slot) -> Option<(u32, u64, u64)> {
    let w = read_begin(&slot.word);
    if is_locked(w) {
        return None;
    }
    let a = slot.data[0].load(Ordering::Relaxed);
    let b = slot.data[1].load(Ordering::Relaxed);
    read_validate(&slot.word, w).then_some((tag_of(w), a, b))
}

#[test]
fn validated_reads_are_never_torn() {
    loom::model(|| {
        let slot = Arc::new(Slot {
            word: AtomicU64::new(0),
            data: [AtomicU64::new(0), AtomicU64::new(0)],
        });
        let w = slot.clone();
        let writer = thread::spawn(move || {
            assert!(write(&w, 1, 1));
            assert!(write(&w, 2, 2));
        });
        for _ in 0..2 {
            if let Some((tag, a, b)) = read(&slot) {
                assert_eq!(a, b, "torn read");
                assert_eq!(u64::from(tag), a, "tag published with the wrong data");
            }
        }
        writer.join().unwrap();
        assert_eq!(read(&slot), Some((2, 2, 2)));
    });
}

#[test]
fn two_writers_never_hold_a_slot_at_once() {
    loom::model(|| {
        let slot = Arc::new(Slot {
            word: AtomicU64::new(0),
            data: [AtomicU64::new(0), AtomicU64::new(0)],
        });
        let handles: Vec<_> = (1..=2u64)
            .map(|v| {
                let s = slot.clone();
                thread::spawn(move || write(&s, v, v as u32))
            })
            .collect();
        let wins: Vec<bool> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        let (tag, a, b) = read(&slot).expect("quiescent slot validates");
        assert_eq!(a, b);
        assert!(wins.iter().any(|&w| w));
        if wins == [true, true] {
            // Both won only one after the other: the version counts both.
            assert_eq!(slot.word.load(Ordering::Relaxed) as u32, 4);
        }
        assert_eq!(u64::from(tag), a);
    });
}

/// Two slots of one probe sequence and their control word (byte `i` is
/// slot `i`'s: 0 empty, `0x80 | tag` live), as in `ctrl.rs`.
struct Chain {
    ctrl: AtomicU64,
    slots: [Slot; 2],
}

/// `Region::set_ctrl`: replaces one byte of the control word by CAS.
fn set_ctrl(c: &AtomicU64, i: usize, b: u8) {
    let shift = i * 8;
    let mut cur = c.load(Ordering::Relaxed);
    loop {
        let new = (cur & !(0xffu64 << shift)) | (u64::from(b) << shift);
        match c.compare_exchange_weak(cur, new, Ordering::Release, Ordering::Relaxed) {
            Ok(_) => return,
            Err(now) => cur = now,
        }
    }
}

/// `commit`: lock, write the data, publish the control byte, unlock.
fn insert_at(c: &Chain, i: usize, word: u64, v: u64) -> bool {
    let slot = &c.slots[i];
    let Some(locked) = try_lock(&slot.word, word, 1) else {
        return false;
    };
    slot.data[0].store(v, Ordering::Relaxed);
    slot.data[1].store(v, Ordering::Relaxed);
    set_ctrl(&c.ctrl, i, 0x80 | v as u8);
    unlock(&slot.word, locked, v as u32);
    true
}

/// `scan_for_write` + `commit` for a key absent from the chain: waits for
/// a locked slot, takes the first never-written one.
fn insert(c: &Chain, v: u64) {
    loop {
        let mut placed = false;
        for i in 0..2 {
            let w = read_begin(&c.slots[i].word);
            if is_locked(w) {
                thread::yield_now();
                break;
            }
            if w == 0 {
                placed = insert_at(c, i, w, v);
                break;
            }
        }
        if placed {
            return;
        }
    }
}

/// `scan_ctrl` + `read_slot`: the value of key `v`, following the control
/// bytes; None when an EMPTY byte ends the chain first.
fn lookup(c: &Chain, v: u64) -> Option<u64> {
    let g = c.ctrl.load(Ordering::Acquire);
    for i in 0..2 {
        let b = (g >> (i * 8)) as u8;
        if b == 0 {
            return None;
        }
        if b == 0x80 | v as u8 {
            loop {
                if let Some((tag, a, b2)) = read(&c.slots[i]) {
                    assert_eq!(a, b2, "torn read");
                    if u64::from(tag) == v {
                        return Some(a);
                    }
                    break;
                }
                thread::yield_now();
            }
        }
    }
    None
}

#[test]
fn a_finished_insert_is_found_past_a_slot_being_filled() {
    loom::model(|| {
        let chain = Arc::new(Chain {
            ctrl: AtomicU64::new(0),
            slots: [
                Slot { word: AtomicU64::new(0), data: [AtomicU64::new(0), AtomicU64::new(0)] },
                Slot { word: AtomicU64::new(0), data: [AtomicU64::new(0), AtomicU64::new(0)] },
            ],
        });
        let (a, b) = (chain.clone(), chain.clone());
        let ta = thread::spawn(move || insert(&a, 5));
        let tb = thread::spawn(move || insert(&b, 6));
        // A lookup concurrent with both inserts sees a key whole or not at all.
        if let Some(v) = lookup(&chain, 6) {
            assert_eq!(v, 6);
        }
        tb.join().unwrap();
        // Key 6's insert finished: found, whichever slot it took and
        // whether key 5's insert is still in flight.
        assert_eq!(lookup(&chain, 6), Some(6), "a finished insert was missed");
        ta.join().unwrap();
        assert_eq!(lookup(&chain, 5), Some(5));
    });
}
