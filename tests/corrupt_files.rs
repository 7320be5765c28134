//! Files maph does not understand get an error status, never a crash:
//! zero-length, truncated, padded, wrong magic, wrong version, every layout
//! field damaged (with the checksum made to match, so the cross-checks are
//! what catches it), a slot count that overflows, a slot size that is not
//! allowed, a slot whose length fields exceed the slot, and random damage
//! anywhere in the file.

mod common;

use std::path::Path;

use maph::store::format::{self, *};
use maph::{Error, OpenMode, Options, Store};
use proptest::prelude::*;

fn make_store(path: &Path) -> Vec<(Vec<u8>, Vec<u8>)> {
    let s = Store::create(
        path,
        &Options { slots: 64, slot_size: 128, max_probes: 64, lock_count: 4, ..Options::default() },
    )
    .unwrap();
    let rows: Vec<_> = (0..40u32)
        .map(|i| {
            (
                format!("key{i}").into_bytes(),
                format!("value{i}").repeat(i as usize % 5).into_bytes(),
            )
        })
        .collect();
    for (k, v) in &rows {
        s.set(k, v).unwrap();
    }
    rows
}

fn open_err(path: &Path) -> Error {
    match Store::open(path, OpenMode::ReadOnly) {
        Ok(_) => panic!("opened a damaged file"),
        Err(e) => e,
    }
}

fn rewrite_header(path: &Path, f: impl FnOnce(&mut [u8])) {
    let mut b = std::fs::read(path).unwrap();
    f(&mut b[..HEADER_SIZE]);
    let sum = format::checksum(&b[..CHECKSUMMED_LEN]);
    put64(&mut b, OFF_CHECKSUM, sum);
    std::fs::write(path, b).unwrap();
}

#[test]
fn zero_length_file_is_corrupt() {
    let dir = common::TempDir::new("zero");
    let p = dir.path("z");
    std::fs::write(&p, b"").unwrap();
    assert!(matches!(open_err(&p), Error::Corrupt(_)));
}

#[test]
fn file_shorter_than_a_header_is_corrupt() {
    let dir = common::TempDir::new("short");
    let p = dir.path("s");
    make_store(&p);
    let b = std::fs::read(&p).unwrap();
    std::fs::write(&p, &b[..100]).unwrap();
    assert!(matches!(open_err(&p), Error::Corrupt(_)));
}

#[test]
fn truncated_and_padded_files_are_corrupt() {
    let dir = common::TempDir::new("trunc");
    let p = dir.path("s");
    make_store(&p);
    let len = std::fs::metadata(&p).unwrap().len();
    let f = std::fs::OpenOptions::new().write(true).open(&p).unwrap();
    f.set_len(len - 1).unwrap();
    assert_eq!(open_err(&p), Error::Corrupt("file is truncated"));
    f.set_len(len + 4096).unwrap();
    assert!(matches!(open_err(&p), Error::Corrupt(_)));
    f.set_len(len).unwrap();
    assert!(Store::open(&p, OpenMode::ReadOnly).is_ok());
}

#[test]
fn foreign_file_is_corrupt() {
    let dir = common::TempDir::new("foreign");
    let p = dir.path("f");
    std::fs::write(&p, vec![0x7fu8; 3 * 4096]).unwrap();
    assert!(matches!(open_err(&p), Error::Corrupt(_)));
}

#[test]
fn newer_format_version_is_a_version_error() {
    let dir = common::TempDir::new("ver");
    let p = dir.path("s");
    make_store(&p);
    rewrite_header(&p, |h| put32(h, OFF_VERSION, FORMAT_VERSION + 1));
    assert!(matches!(open_err(&p), Error::Version(_)));
}

#[test]
fn every_damaged_layout_field_is_corrupt_even_with_a_matching_checksum() {
    let cases: &[(&str, usize, u64, bool)] = &[
        ("slot count overflows", OFF_SLOT_COUNT, u64::MAX, false),
        ("slot count beyond file", OFF_SLOT_COUNT, 65, false),
        ("slot count zero", OFF_SLOT_COUNT, 0, false),
        ("slot size not a power of two", OFF_SLOT_SIZE, 96, true),
        ("slot size below 64", OFF_SLOT_SIZE, 32, true),
        ("slot size above 64 KiB", OFF_SLOT_SIZE, 1 << 17, true),
        ("slot size doubled", OFF_SLOT_SIZE, 256, true),
        ("max probes zero", OFF_MAX_PROBES, 0, true),
        ("max probes above slots", OFF_MAX_PROBES, 65, true),
        ("header size", OFF_HEADER_SIZE, 8192, true),
        ("lock count", OFF_LOCK_COUNT, 5, true),
        ("locks offset", OFF_LOCKS_OFFSET, 0, false),
        ("slots offset", OFF_SLOTS_OFFSET, 4096, false),
        ("extra offset", OFF_EXTRA_OFFSET, 1, false),
        ("extra length overflows", OFF_EXTRA_LEN, u64::MAX - 10, false),
        ("file length", OFF_FILE_LEN, 1 << 50, false),
        ("MPHF keys above slots", OFF_MPHF_KEYS, 65, false),
        ("longest probe above max", OFF_LONGEST_PROBE, 1000, false),
    ];
    for &(what, off, val, is32) in cases {
        let dir = common::TempDir::new("field");
        let p = dir.path("s");
        make_store(&p);
        rewrite_header(&p, |h| if is32 { put32(h, off, val as u32) } else { put64(h, off, val) });
        let e = open_err(&p);
        assert!(matches!(e, Error::Corrupt(_)), "{what}: {e:?}");
    }
}

#[test]
fn a_flipped_header_byte_fails_the_checksum() {
    let dir = common::TempDir::new("flip");
    let p = dir.path("s");
    make_store(&p);
    let mut b = std::fs::read(&p).unwrap();
    b[OFF_SEED] ^= 1;
    std::fs::write(&p, b).unwrap();
    assert_eq!(open_err(&p), Error::Corrupt("header checksum mismatch"));
}

/// Finds the slot holding `key` by scanning the file.
fn slot_offset_of(b: &[u8], key: &[u8]) -> usize {
    let slots = get64(b, OFF_SLOTS_OFFSET) as usize;
    let size = get32(b, OFF_SLOT_SIZE) as usize;
    let count = get64(b, OFF_SLOT_COUNT) as usize;
    (0..count)
        .map(|i| slots + i * size)
        .find(|&o| {
            let m = Meta::decode(get64(b, o + SLOT_OFF_META));
            m.state == STATE_LIVE
                && !m.expires
                && m.kl == key.len()
                && &b[o + SLOT_HEADER_SIZE..o + SLOT_HEADER_SIZE + key.len()] == key
        })
        .expect("key in file")
}

#[test]
fn slot_length_beyond_the_slot_is_corrupt_not_a_wild_read() {
    // The value length: the high half of the meta word. 109: key7's 4
    // bytes + 109 just exceed the 112 data bytes of a 128-byte slot.
    let field = SLOT_OFF_META + 4;
    for val in [100_000u32, 109, u32::MAX] {
        let dir = common::TempDir::new("slotlen");
        let p = dir.path("s");
        make_store(&p);
        let mut b = std::fs::read(&p).unwrap();
        let o = slot_offset_of(&b, b"key7");
        put32(&mut b, o + field, val);
        std::fs::write(&p, b).unwrap();
        let s = Store::open(&p, OpenMode::ReadOnly).unwrap();
        assert!(matches!(s.get_vec(b"key7"), Err(Error::Corrupt(_))), "{val}");
        assert!(s.get_ref(b"key7").is_err());
        assert_eq!(s.get_vec(b"key8").unwrap(), b"value8".repeat(3));
        assert!(s.check().iter().any(|v| v.contains("exceed")), "{:?}", s.check());
    }
}

#[test]
fn unknown_slot_state_is_reported_by_check() {
    let dir = common::TempDir::new("state");
    let p = dir.path("s");
    make_store(&p);
    let mut b = std::fs::read(&p).unwrap();
    let o = slot_offset_of(&b, b"key3");
    b[o + SLOT_OFF_META + 2] = 9; // the state byte
    std::fs::write(&p, b).unwrap();
    let s = Store::open(&p, OpenMode::ReadOnly).unwrap();
    assert_eq!(s.get_vec(b"key3"), Err(Error::NotFound));
    assert!(s.check().iter().any(|v| v.contains("unknown state")));
}

#[test]
fn slot_left_locked_by_a_dead_writer_answers_busy_not_a_hang() {
    let dir = common::TempDir::new("locked");
    let p = dir.path("s");
    make_store(&p);
    let mut b = std::fs::read(&p).unwrap();
    let o = slot_offset_of(&b, b"key5");
    let w = get64(&b, o);
    // Odd, locked by lock entry 0 (a lock entry the store has: one past
    // the table answers `Corrupt`, see tests/fuzz_regressions.rs).
    put64(&mut b, o, (w & 0xffff_ffff) | 1);
    std::fs::write(&p, b).unwrap();
    let s = Store::open(&p, OpenMode::ReadOnly).unwrap();
    let t = std::time::Instant::now();
    assert_eq!(s.get_vec(b"key5"), Err(Error::Busy));
    assert!(t.elapsed() < std::time::Duration::from_secs(10));
    assert!(s.check().iter().any(|v| v.contains("left locked")));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    /// Random damage anywhere (header, lock table, slots): opening either
    /// fails with an error or gives a store whose every read and check
    /// returns without a crash or panic.
    #[test]
    fn random_damage_never_crashes(flips in proptest::collection::vec((any::<prop::sample::Index>(), 1u8..=255), 1..12)) {
        let dir = common::TempDir::new("fuzz");
        let p = dir.path("s");
        let rows = make_store(&p);
        let mut b = std::fs::read(&p).unwrap();
        // Half the flips land in the header, half anywhere.
        for (n, (at, x)) in flips.iter().enumerate() {
            let i = if n % 2 == 0 { at.index(HEADER_SIZE) } else { at.index(b.len()) };
            b[i] ^= x;
        }
        std::fs::write(&p, &b).unwrap();
        if let Ok(s) = Store::open(&p, OpenMode::ReadWrite) {
            for (k, _) in &rows {
                if let Ok(v) = s.get_vec(k) {
                    prop_assert!(v.len() <= s.slot_capacity());
                }
            }
            let _ = s.check();
            let _ = s.set(b"new key", b"new value");
            let _ = s.del(b"key1");
        }
    }
}

#[test]
fn unknown_slot_flags_are_reported_by_check_and_a_false_expiry_flag_reads_nothing_wild() {
    let dir = common::TempDir::new("flags");
    let p = dir.path("s");
    let rows = make_store(&p);
    let mut b = std::fs::read(&p).unwrap();
    let o = slot_offset_of(&b, b"key3");
    b[o + SLOT_OFF_META + 3] = 0x80; // an unknown flag bit
    let o9 = slot_offset_of(&b, b"key9");
    // The expiry flag on a record that has no expiry time: its first 8
    // data bytes (the key) are taken for one and the key is looked for
    // after them; nothing is read outside the slot.
    b[o9 + SLOT_OFF_META + 3] = FLAG_EXPIRES;
    // The flag with a zero expiry time: damage no write leaves.
    let o5 = slot_offset_of(&b, b"key5");
    b[o5 + SLOT_OFF_META + 3] = FLAG_EXPIRES;
    b[o5 + SLOT_HEADER_SIZE..o5 + SLOT_HEADER_SIZE + 8].fill(0);
    std::fs::write(&p, b).unwrap();
    let s = Store::open(&p, OpenMode::ReadOnly).unwrap();
    let v = s.check();
    assert!(v.iter().any(|v| v.contains("unknown flags 0x80")), "{v:?}");
    assert!(v.iter().any(|v| v.contains("no expiry time")), "{v:?}");
    assert!(matches!(s.get_vec(b"key9"), Err(Error::NotFound) | Err(Error::Corrupt(_))));
    assert!(!v.is_empty());
    for (k, val) in rows.iter().filter(|(k, _)| k != b"key9" && k != b"key5") {
        assert_eq!(&s.get_vec(k).unwrap(), val);
    }
}

/// A small growing store (limit 4 MiB) with keys in several levels.
fn make_growing(path: &Path) -> u32 {
    let s = Store::create(
        path,
        &Options { slots: 0, max_bytes: 4 << 20, lock_count: 4, ..Options::default() },
    )
    .unwrap();
    for i in 0..5000u32 {
        s.set(format!("k{i}").as_bytes(), b"v").unwrap();
    }
    s.levels()
}

#[test]
fn damaged_level_fields_of_a_growing_store_are_corrupt() {
    let dir = common::TempDir::new("levels");
    let p = dir.path("g");
    let levels = make_growing(&p);
    assert!(levels >= 3);
    let pristine = std::fs::read(&p).unwrap();
    let cases: Vec<(usize, u64, bool)> = vec![
        (OFF_LEVEL_BASE, 1000, false), // not a multiple of 8
        (OFF_LEVEL_BASE, 2048, false), // disagrees with the slot count
        (OFF_MAX_LEVELS, 0, true),     // no level
        (OFF_MAX_LEVELS, 23, true),    // more than 22
        (OFF_MAX_LEVELS, 3, true),     // disagrees with the slot count
        (OFF_LIMIT_BYTES, 0, false),   // a growing store without a limit
        (OFF_LEVELS, 0, false),        // no level in use
        (OFF_LEVELS, 1 << 40, false),  // past the most levels
    ];
    for (off, val, is32) in cases {
        std::fs::write(&p, &pristine).unwrap();
        rewrite_header(&p, |h| {
            if is32 {
                put32(h, off, val as u32);
            } else {
                put64(h, off, val);
            }
        });
        let e = open_err(&p);
        assert!(matches!(e, Error::Corrupt(_)), "field at {off} = {val}: {e}");
    }
}

/// A level count damaged while the store is open (a peer's stray write)
/// is clamped on every read: lookups and inserts stay inside the mapping.
#[test]
fn a_level_count_damaged_while_open_never_leaves_the_mapping() {
    use std::os::unix::fs::FileExt;
    let dir = common::TempDir::new("levels-live");
    let p = dir.path("g");
    make_growing(&p);
    let s = Store::open(&p, OpenMode::ReadWrite).unwrap();
    let f = std::fs::OpenOptions::new().write(true).open(&p).unwrap();
    for bad in [0u64, u64::MAX, 1 << 33] {
        f.write_all_at(&bad.to_le_bytes(), OFF_LEVELS as u64).unwrap();
        let _ = s.get_vec(b"k17");
        let _ = s.set(b"new", b"v");
        assert!(s.levels() >= 1 && s.levels() <= s.geometry().max_levels());
        assert!(s.stats().slots <= s.geometry().slot_count());
    }
}
