//! A store larger than the free space of its file system must be refused at
//! creation (`Error::NoSpace`, C `MAPH_E_FULL`) and leave nothing behind;
//! one that fits must be fillable to its load limit without the process
//! dying of `SIGBUS` (issue: a sparse store created on a 16 MiB tmpfs killed
//! the first writer past the free space).
//!
//! Each test re-runs this test binary in a child process that has its own
//! mount namespace (`unshare(CLONE_NEWNS)`) with a 16 MiB tmpfs mounted on a
//! fresh directory and on `/dev/shm`, and runs one `#[ignore]`d scenario in
//! it. So the mounts never leak into the machine, and a `SIGBUS` in the
//! scenario shows as the child's death (a failure here), not as the death
//! of the whole test binary. Mounting needs root: as another user the tests
//! print that they are skipped; under `CI=true` they fail instead.

mod common;

use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::Command;

use maph::log::{Log, WhenFull};
use maph::queue::QueueSet;
use maph::{Error, OpenMode, Options, Store};

const TMPFS_BYTES: u64 = 16 << 20;

/// Runs the ignored test `scenario` of this binary in a child with a
/// private mount namespace, a `TMPFS_BYTES` tmpfs on a new directory (passed
/// as `MAPH_TMPFS_DIR`) and another on `/dev/shm`. Returns false when the
/// test must be skipped (not root, outside CI).
fn run_in_small_tmpfs(scenario: &str) -> bool {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        assert!(
            std::env::var_os("CI").is_none(),
            "{scenario}: needs root to mount a tmpfs, and CI runs as root"
        );
        eprintln!("SKIPPED {scenario}: not root, cannot mount a tmpfs");
        return false;
    }
    let dir = common::TempDir::new("nospace");
    let mnt = dir.path("mnt");
    std::fs::create_dir(&mnt).unwrap();
    let c_mnt = std::ffi::CString::new(mnt.to_str().unwrap()).unwrap();
    let c_size = std::ffi::CString::new(format!("size={TMPFS_BYTES}")).unwrap();
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args([scenario, "--exact", "--ignored", "--nocapture", "--test-threads=1"])
        .env("MAPH_TMPFS_DIR", &mnt);
    // SAFETY: the closure runs in the forked child before exec and makes
    // only system calls (async-signal-safe) on data prepared before fork.
    unsafe {
        cmd.pre_exec(move || {
            let fail = |what| {
                let e = std::io::Error::last_os_error();
                std::io::Error::new(e.kind(), format!("{what}: {e}"))
            };
            if libc::unshare(libc::CLONE_NEWNS) != 0 {
                return Err(fail("unshare(CLONE_NEWNS)"));
            }
            // Keep our mounts out of the parent's namespace.
            if libc::mount(
                c"none".as_ptr(),
                c"/".as_ptr(),
                std::ptr::null(),
                libc::MS_REC | libc::MS_PRIVATE,
                std::ptr::null(),
            ) != 0
            {
                return Err(fail("making / private"));
            }
            for target in [c_mnt.as_ptr(), c"/dev/shm".as_ptr()] {
                if libc::mount(
                    c"tmpfs".as_ptr(),
                    target,
                    c"tmpfs".as_ptr(),
                    0,
                    c_size.as_ptr().cast(),
                ) != 0
                {
                    return Err(fail("mounting a 16 MiB tmpfs"));
                }
            }
            Ok(())
        });
    }
    let out = cmd.output().expect("running the scenario in a child");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.signal().is_none(),
        "{scenario}: the child died of signal {:?} (7 = SIGBUS)\n{stdout}\n{stderr}",
        out.status.signal()
    );
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "{scenario} failed in the child: {}\n{stdout}\n{stderr}",
        out.status
    );
    true
}

fn tmpfs_dir() -> PathBuf {
    PathBuf::from(std::env::var_os("MAPH_TMPFS_DIR").expect("run through run_in_small_tmpfs"))
}

fn entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// Options of a store of `slots` 512-byte slots with a small lock table.
fn opts(slots: u64) -> Options {
    Options { slots, slot_size: 512, lock_count: 64, ..Options::default() }
}

/// Writes 400-byte values into `store` until it answers `Full` or every
/// slot is taken; returns the keys written, each checked to read back.
fn fill(store: &Store, slots: u64) -> Vec<Vec<u8>> {
    let mut written = Vec::new();
    for i in 0..slots {
        let key = format!("key:{i:08}").into_bytes();
        let val = vec![(i % 251) as u8; 400];
        match store.set(&key, &val) {
            Ok(()) => written.push(key),
            Err(Error::Full) => break,
            Err(e) => panic!("set {i}: {e}"),
        }
    }
    for (i, key) in written.iter().enumerate() {
        let v = store.get_vec(key).unwrap();
        assert_eq!(v, vec![(i % 251) as u8; 400], "key {i}");
    }
    written
}

fn assert_no_space(r: Result<Store, Error>, what: &str) {
    match r {
        Err(e @ Error::NoSpace { .. }) => {
            let msg = e.to_string();
            assert!(msg.contains("No space left"), "{what}: {msg}");
        }
        Err(e) => panic!("{what}: expected NoSpace, got {e}"),
        Ok(_) => panic!("{what}: a store larger than the tmpfs was created"),
    }
}

#[test]
fn store_larger_than_its_file_system_is_refused_not_sigbus() {
    run_in_small_tmpfs("scenario_file_store_on_small_tmpfs");
}

#[test]
#[ignore = "runs only inside run_in_small_tmpfs's mount namespace"]
fn scenario_file_store_on_small_tmpfs() {
    let dir = tmpfs_dir();
    // 131,072 slots of 512 bytes: 64 MiB on a 16 MiB tmpfs.
    assert_no_space(Store::create(dir.join("big"), &opts(131_072)), "file");
    assert!(entries(&dir).is_empty(), "left behind: {:?}", entries(&dir));

    // 16,384 slots (8 MiB) fit: filled to its load limit, the process lives.
    let store = Store::create(dir.join("fits"), &opts(16_384)).unwrap();
    let n = fill(&store, 16_384);
    assert!(n.len() >= 12_288, "only {} keys before Full", n.len());
    drop(store);
    let store = Store::open(dir.join("fits"), OpenMode::ReadWrite).unwrap();
    assert_eq!(store.stats().keys, n.len() as u64);

    // What is left of the tmpfs cannot hold another 8 MiB store.
    assert_no_space(Store::create(dir.join("second"), &opts(16_384)), "second");
    assert_eq!(entries(&dir), vec!["fits".to_string()]);

    // A sparse store is created on request and takes no space up front.
    let sparse = Options { sparse: true, ..opts(131_072) };
    let s = Store::create(dir.join("sparse"), &sparse).unwrap();
    assert_eq!(s.stats().keys, 0);
}

#[test]
fn heap_growing_past_its_file_system_answers_no_space_not_sigbus() {
    run_in_small_tmpfs("scenario_heap_on_small_tmpfs");
}

#[test]
#[ignore = "runs only inside run_in_small_tmpfs's mount namespace"]
fn scenario_heap_on_small_tmpfs() {
    let dir = tmpfs_dir();
    // A 64 MiB heap on a 16 MiB tmpfs: the heap is reserved as it is used,
    // so creation succeeds, and the write that needs room the tmpfs does
    // not have answers NoSpace (C: MAPH_E_FULL) instead of SIGBUS.
    let opts = Options { slots: 1024, slot_size: 128, heap_bytes: 64 << 20, ..opts(1024) };
    let store = Store::create(dir.join("heap"), &opts).unwrap();
    let mut written = 0usize;
    let err = loop {
        let key = format!("big:{written}");
        match store.set(key.as_bytes(), &vec![(written % 251) as u8; 100_000]) {
            Ok(()) => written += 1,
            Err(e) => break e,
        }
        assert!(written < 1000, "64 MiB of values fit a 16 MiB tmpfs?");
    };
    assert!(matches!(err, Error::NoSpace { .. }), "{err}");
    assert!(written >= 50, "only {written} values before the tmpfs filled");
    for i in 0..written {
        let v = store.get_vec(format!("big:{i}").as_bytes()).unwrap();
        assert_eq!(v, vec![(i % 251) as u8; 100_000], "value {i}");
    }
    // Records that fit a slot still go in; the store is sound.
    store.set(b"small", b"v").unwrap();
    assert!(store.check().is_empty(), "{:?}", store.check());
}

#[test]
fn shm_table_and_queue_set_larger_than_dev_shm_are_refused_not_sigbus() {
    run_in_small_tmpfs("scenario_shm_on_small_tmpfs");
}

#[test]
#[ignore = "runs only inside run_in_small_tmpfs's mount namespace"]
fn scenario_shm_on_small_tmpfs() {
    let shm = Path::new("/dev/shm");
    assert_no_space(Store::shm_create(b"big", &opts(131_072)), "shm");
    assert!(entries(shm).is_empty(), "left behind: {:?}", entries(shm));

    let store = Store::shm_create(b"fits", &opts(16_384)).unwrap();
    let n = fill(&store, 16_384);
    assert!(n.len() >= 12_288, "only {} keys before Full", n.len());

    match QueueSet::create("q", 4096, 4096, 2) {
        Err(Error::NoSpace { .. }) => {}
        Err(e) => panic!("queue set: expected NoSpace, got {e}"),
        Ok(_) => panic!("a 16 MiB queue set fit beside an 8 MiB table in 16 MiB"),
    }
    assert_eq!(entries(shm), vec!["fits".to_string()]);
    Store::shm_unlink(b"fits").unwrap();
}

#[test]
fn log_larger_than_its_file_system_is_refused_not_sigbus() {
    run_in_small_tmpfs("scenario_log_on_small_tmpfs");
}

#[test]
#[ignore = "runs only inside run_in_small_tmpfs's mount namespace"]
fn scenario_log_on_small_tmpfs() {
    use std::os::unix::ffi::OsStrExt;
    let no_space = |r: Result<Log, Error>, what: &str| match r {
        Err(Error::NoSpace { .. }) => {}
        Err(e) => panic!("{what}: expected NoSpace, got {e}"),
        Ok(_) => panic!("{what}: a 64 MiB log was created on a 16 MiB tmpfs"),
    };
    let dir = tmpfs_dir();
    no_space(Log::create(dir.join("big.log").as_os_str().as_bytes(), 64 << 20), "file log");
    assert!(entries(&dir).is_empty(), "left behind: {:?}", entries(&dir));
    let shm = Path::new("/dev/shm");
    no_space(Log::create("biglog", 64 << 20), "shm log");
    assert!(entries(shm).is_empty(), "left behind: {:?}", entries(shm));

    // An 8 MiB log fits, and every one of its slots can be written.
    let log = Log::create(dir.join("fits.log").as_os_str().as_bytes(), 8 << 20).unwrap();
    let line = [b'x'; 900];
    let mut n = 0;
    while log.write(6, &line, WhenFull::Drop).is_ok() {
        n += 1;
    }
    assert_eq!(n, log.slot_count(), "the buffer was full before every slot held a line");
}

#[test]
fn growing_store_filling_its_file_system_answers_full_not_sigbus() {
    run_in_small_tmpfs("scenario_growing_store_on_small_tmpfs");
}

/// Inserts `key:N` = 100-byte values into a growing store until it
/// refuses one; checks each key read back. Returns how many went in and
/// the error that stopped it.
fn fill_growing(store: &Store) -> (u64, Error) {
    let mut n = 0u64;
    let err = loop {
        let key = format!("key:{n:08}");
        match store.set(key.as_bytes(), &[(n % 251) as u8; 100]) {
            Ok(()) => n += 1,
            Err(e) => break e,
        }
        assert!(n < 10_000_000, "a 16 MiB tmpfs held 10M keys?");
    };
    for i in 0..n {
        let v = store.get_vec(format!("key:{i:08}").as_bytes()).unwrap();
        assert_eq!(v, vec![(i % 251) as u8; 100], "key {i}");
    }
    (n, err)
}

#[test]
#[ignore = "runs only inside run_in_small_tmpfs's mount namespace"]
fn scenario_growing_store_on_small_tmpfs() {
    let dir = tmpfs_dir();
    // Limit above the tmpfs: the file system fills first, and the insert
    // that would need the next level answers NoSpace (C: MAPH_E_FULL).
    let big = Options { slots: 0, slot_size: 128, max_bytes: 1 << 30, ..Options::default() };
    let store = Store::create(dir.join("grow"), &big).unwrap();
    let (n, err) = fill_growing(&store);
    assert!(matches!(err, Error::NoSpace { .. } | Error::Full), "{err}");
    assert!(n >= 20_000, "only {n} keys before the 16 MiB tmpfs filled");
    assert!(store.levels() > 3, "{} levels", store.levels());
    assert!(store.check().is_empty(), "{:?}", store.check());
    let levels = store.levels();
    drop(store);
    std::fs::remove_file(dir.join("grow")).unwrap();

    // Default limit: the tmpfs's size. Growth stops at the limit or the
    // file system, whichever comes first; never SIGBUS.
    let dflt = Options { slots: 0, slot_size: 128, ..Options::default() };
    let store = Store::create(dir.join("dflt"), &dflt).unwrap();
    let (m, err) = fill_growing(&store);
    assert!(
        matches!(err, Error::NoSpace { .. } | Error::Full | Error::GrowthLimit { .. }),
        "{err}"
    );
    assert!(m >= 20_000 && store.levels() + 1 >= levels, "{m} keys, {} levels", store.levels());
    drop(store);
    let store = Store::open(dir.join("dflt"), OpenMode::ReadWrite).unwrap();
    assert_eq!(store.stats().keys, m);
    assert!(store.check().is_empty(), "{:?}", store.check());
}
