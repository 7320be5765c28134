//! Loom model of the slot seqlock protocol (`src/seqlock.rs`): under every
//! interleaving loom explores, a reader that validates never returns a value
//! mixed from two writes, and two writers never hold one slot at once.
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
