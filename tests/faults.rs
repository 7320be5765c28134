//! Faults users meet in production (issue 16), beyond damaged files
//! (`corrupt_files.rs`) and a full file system (`no_space.rs`):
//! - a process killed with SIGKILL at a random moment inside `optimize()`;
//! - a store file truncated by another process while it is mapped.

mod common;

use std::time::{Duration, Instant};

use maph::{Error, OpenMode, Options, Store};

use common::{Rng, TempDir};

const KEYS: u32 = 20_000;

fn key(i: u32) -> Vec<u8> {
    format!("key-{i}").into_bytes()
}

fn val(i: u32) -> Vec<u8> {
    format!("v{}", i.wrapping_mul(2_654_435_761)).into_bytes()
}

fn filled_store(path: &std::path::Path) -> Store {
    let opts = Options { slots: 32_768, slot_size: 64, ..Options::default() };
    let s = Store::create(path, &opts).unwrap();
    for i in 0..KEYS {
        s.set(&key(i), &val(i)).unwrap();
    }
    s
}

fn wait_child(pid: libc::pid_t) -> libc::c_int {
    let mut status = 0;
    // SAFETY: waitpid on our own child with a valid status pointer.
    let r = unsafe { libc::waitpid(pid, &mut status, 0) };
    assert_eq!(r, pid, "waitpid");
    status
}

/// SIGKILL during `optimize()`: a child loops `optimize()` on the store
/// (building and writing MPHF banks, holding the header's robust lock);
/// the parent reads keys meanwhile and kills the child after a random
/// 0–40 ms, `MAPH_FAULT_KILLS` times (default 60). After each kill the next
/// `optimize()` in the parent succeeds (it takes the dead child's lock
/// over), every key reads back with its value, and `check()` finds nothing.
/// Guards against a lock left held by a dead optimizer, and against a
/// half-written bank being trusted.
#[test]
fn optimize_killed_at_random_moments_leaves_every_key_readable_and_optimizable() {
    let kills: usize =
        std::env::var("MAPH_FAULT_KILLS").ok().and_then(|v| v.parse().ok()).unwrap_or(60);
    let dir = TempDir::new("faults-opt");
    let path = dir.path("s.maph");
    let s = filled_store(&path);
    s.optimize().unwrap();
    let mut rng = Rng(0x0fa1_75ee_d000_0001);
    let mut buf = [0u8; 64];
    for round in 0..kills {
        // SAFETY: fork; the child only uses the store (shared mapping) and
        // leaves with _exit, never returning into the test harness.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0, "fork failed");
        if pid == 0 {
            let child = Store::open(&path, OpenMode::ReadWrite);
            if let Ok(c) = child {
                loop {
                    let _ = c.optimize();
                }
            }
            // SAFETY: ends the child without running the parent's handlers.
            unsafe { libc::_exit(1) };
        }
        // Lookups while the child optimizes are correct.
        let until = Instant::now() + Duration::from_micros(rng.below(40_000));
        while Instant::now() < until {
            let i = rng.below(u64::from(KEYS)) as u32;
            let n = s.get(&key(i), &mut buf).unwrap_or_else(|e| panic!("round {round}: get: {e}"));
            assert_eq!(&buf[..n], &val(i)[..], "round {round}: value of key {i} during optimize");
        }
        // SAFETY: kill our own child.
        unsafe { libc::kill(pid, libc::SIGKILL) };
        let status = wait_child(pid);
        assert!(libc::WIFSIGNALED(status), "round {round}: the child stopped by itself: {status}");
        let report =
            s.optimize().unwrap_or_else(|e| panic!("round {round}: optimize after kill: {e}"));
        assert_eq!(report.keys, u64::from(KEYS), "round {round}: keys in the MPHF");
        assert!(s.mphf_in_use(), "round {round}: the new MPHF is in use");
        for i in 0..KEYS {
            let n =
                s.get(&key(i), &mut buf).unwrap_or_else(|e| panic!("round {round}: get {i}: {e}"));
            assert_eq!(&buf[..n], &val(i)[..], "round {round}: value of key {i}");
        }
    }
    assert_eq!(s.check(), Vec::<String>::new());
    let reopened = Store::open(&path, OpenMode::ReadOnly).unwrap();
    assert_eq!(reopened.get_vec(&key(7)).unwrap(), val(7));
}

/// A store file truncated by another process while mapped. What happens:
/// the mapping keeps its length, but its pages past the new end of file
/// have no backing any more, so touching one is `SIGBUS` — in every store
/// that maps its file (LMDB included); maph does not catch it. The next
/// `open` sees the length disagree with the header and answers `Corrupt`
/// without touching the file. This test shows both: a child that reads a
/// key after the truncation dies of SIGBUS, and `open` (read-only and
/// read-write) answers `Corrupt`.
#[test]
fn store_truncated_while_open_faults_readers_and_is_refused_at_the_next_open() {
    let dir = TempDir::new("faults-trunc");
    let path = dir.path("s.maph");
    let s = filled_store(&path);
    assert_eq!(s.get_vec(&key(1)).unwrap(), val(1));
    // Another process truncates it to the header and part of the lock table.
    let st = std::process::Command::new("truncate").arg("-s").arg("8192").arg(&path).status();
    assert!(st.expect("running truncate(1)").success(), "truncate failed");

    // SAFETY: fork; the child reads the store and leaves with _exit.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        for i in 0..KEYS {
            let _ = s.get_vec(&key(i));
        }
        // SAFETY: ends the child without running the parent's handlers.
        unsafe { libc::_exit(0) };
    }
    let status = wait_child(pid);
    assert!(
        libc::WIFSIGNALED(status) && libc::WTERMSIG(status) == libc::SIGBUS,
        "a read of a truncated mapping is SIGBUS (status {status})"
    );
    drop(s);
    for mode in [OpenMode::ReadOnly, OpenMode::ReadWrite] {
        match Store::open(&path, mode) {
            Err(Error::Corrupt(why)) => assert!(why.contains("truncated"), "{why}"),
            Err(e) => panic!("open {mode:?} of a truncated store: {e}"),
            Ok(_) => panic!("open {mode:?} of a truncated store succeeded"),
        }
    }
}
