//! Counters and the invariant check: `Store::stats` and `Store::check`.

use std::sync::atomic::Ordering;

use crate::store::ctrl;
use crate::store::format::{self, OFF_LONGEST_PROBE, STATE_LIVE, STATE_TOMBSTONE};
use crate::store::Store;
use crate::sync::seqlock::{is_locked, tag_of};

/// A snapshot of a store's counters.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Stats {
    /// Live keys.
    pub keys: u64,
    /// Slots in use: all of a store of fixed size; of a growing store,
    /// those of the levels added so far.
    pub slots: u64,
    /// Bytes per slot.
    pub slot_size: u32,
    /// Largest key length plus value length, in bytes.
    pub slot_capacity: u32,
    /// Maximum probe distance.
    pub max_probes: u32,
    /// Longest probe distance any insert has needed (0: the home slot).
    pub longest_probe: u32,
    /// Tombstones (slots of deleted keys, reusable by inserts).
    pub tombstones: u64,
    /// `keys / slots`.
    pub load_factor: f64,
    /// Bytes of the file: of a growing store, its whole address space (a
    /// sparse file; `du` shows what it takes).
    pub file_bytes: u64,
    /// MPHF generation (0: none built).
    pub generation: u64,
    /// Keys in the current MPHF (as built; some may have been deleted since).
    pub mphf_keys: u64,
    /// Keys that no MPHF covers, found by probing: every key of a store
    /// never optimized, else the keys inserted since the last `optimize()`
    /// (counting each insert, capped at `keys`). Consider `optimize()` when
    /// this passes ~20% of `keys`.
    pub keys_outside_mphf: u64,
}

impl Store {
    /// The store's counters.
    pub fn stats(&self) -> Stats {
        let r = &self.region;
        let g = r.geom();
        let used = self.slots_in_use();
        let (mut keys, mut tombstones) = (0u64, 0u64);
        for e in 0..g.lock_count() as usize {
            keys = keys.wrapping_add(r.lock_u64(e, format::LOCK_OFF_LIVE).load(Ordering::Relaxed));
            tombstones = tombstones
                .wrapping_add(r.lock_u64(e, format::LOCK_OFF_TOMB).load(Ordering::Relaxed));
        }
        Stats {
            keys,
            slots: used,
            slot_size: g.slot_size(),
            slot_capacity: g.slot_capacity() as u32,
            max_probes: g.max_probes(),
            longest_probe: r.header_u64(OFF_LONGEST_PROBE).load(Ordering::Relaxed) as u32,
            tombstones,
            load_factor: keys as f64 / used as f64,
            file_bytes: g.file_len(),
            generation: r.header_u64(format::OFF_GENERATION).load(Ordering::Relaxed),
            mphf_keys: r.header_u64(format::OFF_MPHF_KEYS).load(Ordering::Relaxed),
            // A store never optimized has no MPHF: every key is outside it.
            keys_outside_mphf: if r.header_u64(format::OFF_GENERATION).load(Ordering::Relaxed) == 0
            {
                keys
            } else {
                r.header_u64(format::OFF_NEW_SINCE_OPT).load(Ordering::Relaxed).min(keys)
            },
        }
    }

    /// Walks every slot and checks every invariant: lengths fit, states are
    /// known, no slot is left locked, each control byte agrees with its
    /// slot, every live key is reachable from its
    /// home within the probe distance and appears once, the counters match.
    /// Returns the list of violations (empty when the store is sound). Takes
    /// no locks: run it when no writer is active, or expect transient
    /// reports of slots being written.
    pub fn check(&self) -> Vec<String> {
        let r = &self.region;
        let g = *r.geom();
        let cap = g.slot_capacity();
        let mut errs = Vec::new();
        let (mut live, mut tomb) = (0u64, 0u64);
        let mut key = Vec::new();
        let mut referenced = Vec::new();
        for e in 0..g.lock_count() as usize {
            for f in [format::LOCK_OFF_HEAP_NEW, format::LOCK_OFF_HEAP_OLD] {
                let x = r.lock_u64(e, f).load(Ordering::Relaxed);
                if x != 0 {
                    referenced.push(x);
                }
            }
        }
        for idx in 0..self.slots_in_use() {
            let w = r.seq(idx).load(Ordering::Acquire);
            if w == 0 {
                continue;
            }
            if is_locked(w) {
                errs.push(format!("slot {idx}: left locked (seqlock word {w:#x})"));
                continue;
            }
            let m = r.meta(idx);
            let (state, kl, vl) = (m.state, m.kl, m.vl);
            let flags = (r.slot(idx).meta_word().load(Ordering::Relaxed) >> 24) as u8;
            if flags & !format::FLAG_EXPIRES != 0 {
                errs.push(format!("slot {idx}: unknown flags {flags:#04x}"));
            }
            if m.expires && r.slot(idx).expiry(&m) == 0 {
                errs.push(format!("slot {idx}: expiry flag set with no expiry time"));
            }
            let (byte, want) = (r.ctrl_byte(idx), ctrl::for_state(state, tag_of(w)));
            if byte != want {
                errs.push(format!(
                    "slot {idx}: control byte {byte:#04x}, the slot's state says {want:#04x}"
                ));
            }
            match state {
                STATE_TOMBSTONE => tomb += 1,
                STATE_LIVE => {
                    live += 1;
                    let rec = match self.rec_at(idx) {
                        Some(rec) if kl > 0 => rec,
                        _ => {
                            errs.push(format!(
                                "slot {idx}: key length {kl} + value length {vl} exceed {cap} \
                                 and its heap reference is out of range"
                            ));
                            continue;
                        }
                    };
                    if rec.heap != 0 {
                        referenced.push(rec.heap);
                    }
                    key.resize(kl, 0);
                    self.copy_key(&rec, &mut key);
                    match self.probe_read(&key[..kl], |_| ()) {
                        Ok((_, found, _)) if found == idx => {}
                        Ok((_, found, _)) => {
                            errs.push(format!("slot {idx}: key also in slot {found} (duplicate)"))
                        }
                        Err(e) => {
                            errs.push(format!("slot {idx}: key unreachable from its home: {e}"))
                        }
                    }
                }
                other => errs.push(format!("slot {idx}: unknown state {other}")),
            }
        }
        let st = self.stats();
        if st.keys != live {
            errs.push(format!("header counts {} live keys, slots hold {live}", st.keys));
        }
        if st.tombstones != tomb {
            errs.push(format!("header counts {} tombstones, slots hold {tomb}", st.tombstones));
        }
        self.check_heap(&mut referenced, &mut errs);
        errs
    }
}
