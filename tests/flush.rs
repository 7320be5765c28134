//! Background flush (`Store::flush_start`, `flush_stop`): a write reaches
//! the disk after one interval, or after the N-th write, and not before.
//!
//! How "on disk" is checked: the kernel's own page flags. The value's page
//! is looked up in `/proc/self/pagemap` (its page frame) and
//! `/proc/kpageflags` (its `KPF_DIRTY` bit, 4): a page of a file mapping
//! is dirty from the write until write-back has written it to the file.
//! Both files need root (CAP_SYS_ADMIN), and the store must live on a disk
//! file system (tmpfs pages are never written back), so the test refuses
//! to run elsewhere instead of passing. The kernel's own write-back waits
//! `vm.dirty_expire_centisecs` (30 s by default) before writing a page, so
//! a page that turns clean within a second was written by the flusher.
//! Guards against: a flusher that never writes (MS_ASYNC, which starts no
//! write-back on Linux), one that ignores its count or interval, and one
//! that writes when it should not.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::time::{Duration, Instant};

use maph::{Error, Options, Store};

/// Whether the page holding `p` is dirty (written, not yet written back).
fn page_dirty(p: *const u8) -> bool {
    let page = p as u64 / 4096;
    let mut b = [0u8; 8];
    File::open("/proc/self/pagemap")
        .and_then(|f| f.read_exact_at(&mut b, page * 8))
        .expect("/proc/self/pagemap (run the tests as root)");
    let e = u64::from_le_bytes(b);
    assert!(e >> 63 == 1, "the value's page is not present");
    let pfn = e & ((1 << 55) - 1);
    assert!(pfn != 0, "/proc/self/pagemap hides page frames: the test needs root");
    File::open("/proc/kpageflags")
        .and_then(|f| f.read_exact_at(&mut b, pfn * 8))
        .expect("/proc/kpageflags (run the tests as root)");
    u64::from_le_bytes(b) >> 4 & 1 == 1
}

/// A store in a directory on a disk file system (cargo's target dir).
fn disk_store(name: &str) -> (std::path::PathBuf, Store) {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("flush-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let st = nix_statfs_type(&dir);
    assert!(st != 0x0102_1994, "{} is on tmpfs: put target/ on a disk file system", dir.display());
    let s =
        Store::create(dir.join("s.maph"), &Options { slots: 1024, ..Options::default() }).unwrap();
    (dir, s)
}

fn nix_statfs_type(p: &std::path::Path) -> i64 {
    let c = std::ffi::CString::new(p.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: a NUL-terminated path and a zeroed statfs for the kernel to fill.
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    assert_eq!(unsafe { libc::statfs(c.as_ptr(), &mut st) }, 0);
    st.f_type as i64
}

/// Sets `key` and returns a pointer into its value's page.
fn write(s: &Store, key: &[u8], v: u8) -> *const u8 {
    s.set(key, &[v; 40]).unwrap();
    s.get_ref(key).unwrap().ptr
}

fn clean_within(p: *const u8, limit: Duration) -> bool {
    let t = Instant::now();
    while t.elapsed() < limit {
        if !page_dirty(p) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    false
}

#[test]
fn a_write_is_on_disk_one_interval_later_and_not_without_a_flusher() {
    let (dir, s) = disk_store("interval");
    s.sync().unwrap();
    let p = write(&s, b"k", 1);
    assert!(page_dirty(p), "a fresh write's page should be dirty");
    // Without a flusher the kernel leaves it dirty for ~30 s.
    std::thread::sleep(Duration::from_millis(400));
    assert!(page_dirty(p), "the page was written back without a flusher: the check proves nothing");
    s.flush_start(100, 0).unwrap();
    assert!(
        clean_within(p, Duration::from_secs(2)),
        "not on disk 2 s after a 100 ms flusher started"
    );
    let p = write(&s, b"k", 2);
    assert!(page_dirty(p));
    assert!(clean_within(p, Duration::from_secs(2)), "a later write was not flushed");
    assert!(s.flush_count() >= 2);
    s.flush_stop().unwrap();
    let p = write(&s, b"k", 3);
    std::thread::sleep(Duration::from_millis(400));
    assert!(page_dirty(p), "written back after flush_stop: the thread still runs");
    drop(s);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn the_nth_write_is_flushed_and_the_writes_before_it_are_not() {
    let (dir, s) = disk_store("count");
    s.flush_start(0, 50).unwrap();
    let mut p = std::ptr::null();
    for i in 0..49u8 {
        p = write(&s, b"k", i);
    }
    std::thread::sleep(Duration::from_millis(400));
    assert!(page_dirty(p), "flushed before the 50th write");
    p = write(&s, b"k", 200);
    assert!(clean_within(p, Duration::from_secs(2)), "not flushed after the 50th write");
    s.flush_stop().unwrap();
    drop(s);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn stop_flushes_what_was_written_and_close_stops_the_thread() {
    let (dir, s) = disk_store("stop");
    s.flush_start(3_600_000, 0).unwrap();
    let p = write(&s, b"k", 9);
    assert!(page_dirty(p));
    s.flush_stop().unwrap();
    assert!(!page_dirty(p), "flush_stop returned before its last flush");
    assert_eq!(s.flush_stop(), Ok(()), "a second stop is a no-op");
    s.flush_start(3_600_000, 0).unwrap();
    // Dropping the store with a running flusher joins it (no use after unmap).
    drop(s);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn zero_interval_and_zero_count_is_an_invalid_argument() {
    let (dir, s) = disk_store("args");
    assert!(matches!(s.flush_start(0, 0), Err(Error::InvalidArg(_))));
    drop(s);
    let _ = std::fs::remove_dir_all(dir);
}
