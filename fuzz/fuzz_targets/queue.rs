//! `queue`: arbitrary queue operations on an anonymous set, checked against
//! a model in which every element is in exactly one place: at one position
//! of one queue's FIFO, or held by this process.
//!
//! The first two input bytes pick the set: 1..=16 elements of 8 bytes and
//! 1..=4 queues. Then operations: pull, pull_many, push, push_many (with
//! duplicates and elements not held, which must fail with `Conflict` and
//! move nothing), len, locate, reclaim, held, audit. Queue ids and element
//! indices sometimes out of range (`InvalidArg`).
#![no_main]

use std::collections::VecDeque;

use libfuzzer_sys::fuzz_target;
use maph::queue::{Location, QueueSet};
use maph::Error;
use maph_fuzz::Input;

struct Model {
    queues: Vec<VecDeque<u32>>,
    /// Elements this process holds.
    held: Vec<u32>,
}

fuzz_target!(|data: &[u8]| {
    let mut inp = Input::new(data);
    let elems = 1 + (inp.u8() % 16) as u32;
    let nq = 1 + (inp.u8() % 4) as u32;
    let q = QueueSet::create_anon(elems, 8, nq).expect("create_anon");
    let me = std::process::id();
    let mut m = Model { queues: vec![VecDeque::new(); nq as usize], held: Vec::new() };
    m.queues[0].extend(0..elems);
    let mut step = 0;
    while !inp.done() && step < 2000 {
        step += 1;
        // A queue id: out of range one time in 16.
        let qid = |inp: &mut Input| {
            let b = inp.u8();
            if b % 16 == 15 {
                nq + u32::from(b >> 4)
            } else {
                u32::from(b) % nq
            }
        };
        match inp.u8() % 8 {
            0 | 1 => {
                let (id, n) = (qid(&mut inp), (inp.u8() % 5) as usize);
                let mut out = vec![u32::MAX; n];
                let r = q.pull_many(id, &mut out);
                if id >= nq {
                    assert!(matches!(r, Err(Error::InvalidArg(_))), "pull bad queue: {r:?}");
                } else if n == 0 {
                    assert_eq!(r.ok(), Some(0), "pull into nothing");
                } else if m.queues[id as usize].is_empty() {
                    assert!(matches!(r, Err(Error::Empty)), "pull empty: {r:?}");
                } else {
                    let k = r.expect("pull");
                    let qq = &mut m.queues[id as usize];
                    let want: Vec<u32> = qq.drain(..n.min(qq.len())).collect();
                    assert_eq!(&out[..k], &want[..], "pulled elements (FIFO)");
                    m.held.extend(want);
                }
            }
            2 | 3 => {
                let id = qid(&mut inp);
                let n = (inp.u8() % 5) as usize;
                let batch: Vec<u32> = (0..n)
                    .map(|_| {
                        let b = inp.u8();
                        match (b % 4, m.held.is_empty()) {
                            (0 | 1, false) => m.held[b as usize / 4 % m.held.len()],
                            (2, _) => u32::from(b / 4) % (elems + 2), // any, maybe out of range
                            _ => u32::from(b / 4) % elems,
                        }
                    })
                    .collect();
                let r = if n == 1 && inp.u8() % 2 == 0 {
                    q.push(id, batch[0])
                } else {
                    q.push_many(id, &batch)
                };
                let mut sorted = batch.clone();
                sorted.sort_unstable();
                sorted.dedup();
                if id >= nq || batch.len() > elems as usize || batch.iter().any(|&e| e >= elems) {
                    assert!(
                        matches!(r, Err(Error::InvalidArg(_))),
                        "push bad args {batch:?}: {r:?}"
                    );
                } else if batch.is_empty() {
                    assert!(r.is_ok(), "empty push: {r:?}");
                } else if sorted.len() != batch.len() || batch.iter().any(|e| !m.held.contains(e)) {
                    assert!(matches!(r, Err(Error::Conflict(_))), "push conflict {batch:?}: {r:?}");
                } else {
                    assert!(r.is_ok(), "push {batch:?}: {r:?}");
                    m.held.retain(|e| !batch.contains(e));
                    m.queues[id as usize].extend(&batch);
                }
            }
            4 => {
                let id = qid(&mut inp);
                let r = q.len(id);
                if id >= nq {
                    assert!(matches!(r, Err(Error::InvalidArg(_))), "len bad queue: {r:?}");
                } else {
                    assert_eq!(r.ok(), Some(m.queues[id as usize].len() as u64), "len");
                }
            }
            5 => {
                let e = u32::from(inp.u8()) % (elems + 2);
                let r = q.locate(e);
                if e >= elems {
                    assert!(matches!(r, Err(Error::InvalidArg(_))), "locate out of range: {r:?}");
                } else if m.held.contains(&e) {
                    assert_eq!(r.ok(), Some(Location::Held(me)), "locate held");
                } else {
                    let at =
                        m.queues.iter().position(|qq| qq.contains(&e)).expect("model: nowhere");
                    assert_eq!(r.ok(), Some(Location::Queue(at as u32)), "locate queued");
                }
            }
            6 => {
                // Reclaiming from a live process (this one) is refused; from
                // all dead processes finds nothing.
                if inp.u8() % 2 == 0 {
                    let r = q.reclaim(Some(me));
                    assert!(matches!(r, Err(Error::Conflict(_))), "reclaim self: {r:?}");
                } else {
                    assert_eq!(q.reclaim(None).ok(), Some(0), "reclaim none dead");
                }
                assert_eq!(q.held(Some(me)), m.held.len() as u64, "held(me)");
            }
            _ => audit(&q, &m, elems),
        }
    }
    audit(&q, &m, elems);
});

fn audit(q: &QueueSet, m: &Model, elems: u32) {
    let a = q.audit().expect("audit");
    let queued: usize = m.queues.iter().map(VecDeque::len).sum();
    assert_eq!(a.elem_count, u64::from(elems));
    assert_eq!(a.queued, queued as u64, "audit queued");
    assert_eq!(a.held, m.held.len() as u64, "audit held");
    assert_eq!((a.held_by_dead, a.in_transit, a.stale, a.locks_held), (0, 0, 0, 0), "audit {a:?}");
    assert_eq!(queued + m.held.len(), elems as usize, "model lost an element");
}
