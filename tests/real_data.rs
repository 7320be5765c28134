//! W2 on real data (see `../shared/WORKLOADS.md`): the data set loads into
//! a 512-byte-slot store at 0.75 load without one `Full`; every row but the
//! too-large ones reads back byte-exact, after reopening, and from a forked
//! child; the too-large rows are counted, not dropped silently.
//!
//! Which file: the full PyPI table `../shared/data/pypi-packages.tsv.gz`
//! (886,323 rows) when it is there, else the sample that ships in the
//! repository, `data/pypi-sample.tsv.gz` (40,292 rows: every 22nd row of the
//! full table plus its 4 rows too large for a 512-byte slot; see
//! `data/README.md`). The test prints the file it used; it never skips.

mod common;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;

use maph::{Error, OpenMode, Options, Store};

/// The data set the test loads.
struct DataSet {
    path: PathBuf,
    /// `true` for the full table in `../shared`, `false` for the sample.
    full: bool,
}

/// The full table when present, else the shipped sample.
fn data_set() -> DataSet {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let full = root.join("../shared/data/pypi-packages.tsv.gz");
    if full.is_file() {
        DataSet { path: full, full: true }
    } else {
        DataSet { path: root.join("data/pypi-sample.tsv.gz"), full: false }
    }
}

/// The rows of a gzip-compressed `name TAB rest` file after its header line,
/// as (key = name, value = rest).
fn rows(path: &std::path::Path) -> Vec<(Vec<u8>, Vec<u8>)> {
    let f = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let r = BufReader::new(flate2::read::GzDecoder::new(f));
    let mut out = vec![];
    for line in r.split(b'\n').skip(1) {
        let line = line.unwrap();
        let tab = line.iter().position(|&b| b == b'\t').expect("key tab value");
        out.push((line[..tab].to_vec(), line[tab + 1..].to_vec()));
    }
    out
}

fn verify(store: &Store, rows: &[(Vec<u8>, Vec<u8>)], too_large: &[usize]) -> usize {
    let longest = rows.iter().map(|(_, v)| v.len()).max().unwrap_or(0);
    let mut buf = vec![0u8; longest];
    let mut bad = 0;
    let mut skip = too_large.iter().peekable();
    for (i, (k, v)) in rows.iter().enumerate() {
        if skip.peek() == Some(&&i) {
            skip.next();
            if store.get(k, &mut buf) != Err(Error::NotFound) {
                bad += 1;
            }
            continue;
        }
        match store.get(k, &mut buf) {
            Ok(n) if &buf[..n] == v.as_slice() => {}
            _ => bad += 1,
        }
    }
    bad
}

#[test]
fn w2_loads_in_full_at_075_and_reads_back_everywhere() {
    let data = data_set();
    println!(
        "W2 data: {} ({})",
        data.path.display(),
        if data.full {
            "the full table"
        } else {
            "the shipped sample; ../shared/data/pypi-packages.tsv.gz not found"
        }
    );
    let rows = rows(&data.path);
    if data.full {
        assert!(rows.len() > 800_000, "expected the full data set, got {} rows", rows.len());
    } else {
        assert_eq!(rows.len(), 40_292, "the sample's rows (data/README.md)");
    }
    let dir = common::TempDir::new("w2");
    let path = dir.path("w2.maph");
    let store = Store::create(&path, &Options::for_keys(rows.len() as u64, 0.75)).unwrap();
    let mut too_large = vec![];
    for (i, (k, v)) in rows.iter().enumerate() {
        match store.set(k, v) {
            Ok(()) => {}
            Err(Error::TooLarge(_)) => too_large.push(i),
            Err(e) => panic!("row {i} ({}): {e}", String::from_utf8_lossy(k)),
        }
    }
    println!(
        "W2 ({}): {} rows, {} too large, stats {:?}",
        data.path.display(),
        rows.len(),
        too_large.len(),
        store.stats()
    );
    // Since format 3 the rows too large for a slot go to the heap: every
    // row loads, including the four that format 2 rejected (the sample
    // keeps them: data/README.md).
    assert!(too_large.is_empty(), "rows too large: {too_large:?}");
    let spilled = rows.iter().filter(|(k, v)| k.len() + v.len() > store.slot_capacity()).count();
    if !data.full {
        assert!(spilled >= 4, "the sample's rows larger than a slot: {spilled}");
    }
    assert!(store.heap_stats().used > 0 || spilled == 0);
    assert!(store.check().is_empty(), "{:?}", store.check());
    let st = store.stats();
    assert_eq!(st.keys as usize, rows.len() - too_large.len());
    assert!(st.load_factor > 0.74 && st.load_factor <= 0.75);
    assert_eq!(verify(&store, &rows, &too_large), 0);
    drop(store);

    let store = Store::open(&path, OpenMode::ReadOnly).unwrap();
    assert_eq!(verify(&store, &rows, &too_large), 0, "after reopen");

    // From a forked child: the mapping is shared, the child reads it all.
    // SAFETY: the child only reads the store and calls _exit; this test
    // binary runs this single test, so no other thread holds a lock.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0);
    if pid == 0 {
        let bad = verify(&store, &rows, &too_large);
        // SAFETY: ends the child without running the parent's destructors.
        unsafe { libc::_exit(if bad == 0 { 0 } else { 1 }) };
    }
    let mut status = 0;
    // SAFETY: waits for the child forked above.
    unsafe { libc::waitpid(pid, &mut status, 0) };
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "forked child read failures"
    );
    assert!(store.check().is_empty());
}
