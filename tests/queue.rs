//! Queue sets (issue 5): FIFO order, conservation of elements, bad input,
//! names, waiting, many processes, and processes killed with SIGKILL at
//! random moments.
//!
//! Multi-process tests start workers by running this test binary again
//! with `MAPH_QTEST_ROLE` set and `--ignored --exact worker_entry` (the
//! ignored `worker_entry` then plays the worker and exits); forking the
//! multi-threaded test harness would be unsafe. The one fork test
//! (`anonymous_set_is_shared_across_fork`) keeps its child to calls that do
//! not allocate.

mod common;

use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use maph::queue::{Audit, Location, QueueSet};
use maph::Error;

use common::Rng;

/// A fresh `/dev/shm` name, unlinked when dropped.
struct ShmName(String);

impl ShmName {
    fn new(tag: &str) -> ShmName {
        static N: AtomicU64 = AtomicU64::new(0);
        ShmName(format!(
            "maph-qtest-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ))
    }
}

impl Drop for ShmName {
    fn drop(&mut self) {
        let _ = QueueSet::unlink(&self.0);
    }
}

fn audit_all_queued(s: &QueueSet) -> Audit {
    let a = s.audit().expect("audit");
    assert_eq!(a.queued + a.held, a.elem_count, "{a:?}");
    assert_eq!((a.in_transit, a.stale), (0, 0), "{a:?}");
    a
}

#[test]
fn new_set_has_every_element_in_queue_zero_in_order() {
    let s = QueueSet::create_anon(100, 10, 3).unwrap();
    assert_eq!((s.elem_count(), s.elem_size(), s.elem_stride(), s.queue_count()), (100, 10, 64, 3));
    assert_eq!(s.len(0).unwrap(), 100);
    assert_eq!(s.len(1).unwrap(), 0);
    let a = audit_all_queued(&s);
    assert_eq!((a.queued, a.held, a.locks_held), (100, 0, 0));
    let mut out = vec![0u32; 200];
    assert_eq!(s.pull_many(0, &mut out).unwrap(), 100);
    assert_eq!(out[..100], (0..100).collect::<Vec<u32>>()[..]);
    assert_eq!(s.pull(0), Err(Error::Empty));
    assert_eq!(s.held(Some(std::process::id())), 100);
}

#[test]
fn fifo_order_within_a_queue_single_and_bulk() {
    let s = QueueSet::create_anon(1000, 64, 4).unwrap();
    let mut rng = Rng(7);
    let mut all = vec![0u32; 1000];
    assert_eq!(s.pull_many(0, &mut all).unwrap(), 1000);
    // A shuffled order, pushed partly one by one and partly in batches.
    for i in (1..all.len()).rev() {
        all.swap(i, rng.below(i as u64 + 1) as usize);
    }
    for &e in &all[..300] {
        s.push(2, e).unwrap();
    }
    for chunk in all[300..].chunks(77) {
        s.push_many(2, chunk).unwrap();
    }
    assert_eq!(s.len(2).unwrap(), 1000);
    // Pulled back in the same order, mixing single and bulk pulls.
    let mut got = Vec::new();
    let mut buf = vec![0u32; 64];
    while got.len() < 1000 {
        if rng.below(2) == 0 {
            got.push(s.pull(2).unwrap());
        } else {
            let n = s.pull_many(2, &mut buf[..1 + rng.below(63) as usize]).unwrap();
            got.extend_from_slice(&buf[..n]);
        }
    }
    assert_eq!(got, all);
    assert_eq!(s.pull(2), Err(Error::Empty));
    let mut none = [0u32; 4];
    assert_eq!(s.pull_many(2, &mut none), Err(Error::Empty));
    assert_eq!(s.pull_many(2, &mut []), Ok(0));
}

/// Random single-process moves against a model (one VecDeque per queue):
/// same order, and no element in two places or lost, at every step.
#[test]
fn random_moves_match_a_model_and_conserve_elements() {
    use std::collections::VecDeque;
    let (n, nq) = (300u32, 5u32);
    let s = QueueSet::create_anon(n, 24, nq).unwrap();
    let mut model: Vec<VecDeque<u32>> = vec![VecDeque::new(); nq as usize];
    model[0] = (0..n).collect();
    let mut held: Vec<u32> = Vec::new();
    let mut rng = Rng(99);
    let mut buf = [0u32; 40];
    for step in 0..20_000 {
        let q = rng.below(nq as u64) as u32;
        match rng.below(4) {
            0 => match s.pull(q) {
                Ok(e) => {
                    assert_eq!(Some(e), model[q as usize].pop_front());
                    held.push(e);
                }
                Err(Error::Empty) => assert!(model[q as usize].is_empty()),
                Err(e) => panic!("{e}"),
            },
            1 => {
                let want = 1 + rng.below(buf.len() as u64) as usize;
                match s.pull_many(q, &mut buf[..want]) {
                    Ok(k) => {
                        for &e in &buf[..k] {
                            assert_eq!(Some(e), model[q as usize].pop_front());
                            held.push(e);
                        }
                        assert!(k == want || model[q as usize].is_empty());
                    }
                    Err(Error::Empty) => assert!(model[q as usize].is_empty()),
                    Err(e) => panic!("{e}"),
                }
            }
            2 if !held.is_empty() => {
                let e = held.swap_remove(rng.below(held.len() as u64) as usize);
                s.push(q, e).unwrap();
                model[q as usize].push_back(e);
            }
            _ if !held.is_empty() => {
                let k = 1 + rng.below(held.len().min(30) as u64) as usize;
                let batch: Vec<u32> = held.drain(held.len() - k..).collect();
                s.push_many(q, &batch).unwrap();
                model[q as usize].extend(batch);
            }
            _ => {}
        }
        if step % 1000 == 0 {
            let a = audit_all_queued(&s);
            assert_eq!(a.held as usize, held.len());
            for (q, m) in model.iter().enumerate() {
                assert_eq!(s.len(q as u32).unwrap(), m.len() as u64);
            }
        }
    }
    for e in held.drain(..) {
        assert_eq!(s.locate(e).unwrap(), Location::Held(std::process::id()));
        s.push(0, e).unwrap();
    }
    let a = audit_all_queued(&s);
    assert_eq!((a.queued, a.held), (n as u64, 0));
}

#[test]
fn bad_input_gets_clear_errors() {
    let inv = |r: Result<QueueSet, Error>| matches!(r, Err(Error::InvalidArg(_)));
    assert!(inv(QueueSet::create_anon(0, 64, 1)), "zero elements");
    assert!(inv(QueueSet::create_anon(1, 0, 1)), "zero-size elements");
    assert!(inv(QueueSet::create_anon(1, 64, 0)), "zero queues");
    assert!(inv(QueueSet::create_anon(maph::queue::MAX_ELEMS + 1, 64, 1)));
    assert!(inv(QueueSet::create("", 1, 1, 1)));
    assert!(inv(QueueSet::create("a/b", 1, 1, 1)));
    assert!(inv(QueueSet::create("x".repeat(251), 1, 1, 1)));
    assert!(matches!(QueueSet::open("x".repeat(251)), Err(Error::InvalidArg(_))));

    let s = QueueSet::create_anon(10, 64, 2).unwrap();
    assert!(matches!(s.push(2, 0), Err(Error::InvalidArg(_))), "queue id out of range");
    assert!(matches!(s.pull(2), Err(Error::InvalidArg(_))));
    assert!(matches!(s.wait(9, Some(Duration::ZERO)), Err(Error::InvalidArg(_))));
    assert!(matches!(s.len(2), Err(Error::InvalidArg(_))));
    assert!(matches!(s.push(0, 10), Err(Error::InvalidArg(_))), "index out of range");
    assert!(matches!(s.elem_ptr(10), Err(Error::InvalidArg(_))));
    assert!(matches!(s.locate(10), Err(Error::InvalidArg(_))));
    assert!(matches!(s.push_many(1, &[0; 11]), Err(Error::InvalidArg(_))));
    // Element 3 is in queue 0: pushing it anywhere is a conflict.
    assert!(matches!(s.push(1, 3), Err(Error::Conflict(_))));
    let a = s.pull(0).unwrap();
    let b = s.pull(0).unwrap();
    // The same element twice in one batch: nothing is pushed.
    assert!(matches!(s.push_many(1, &[a, b, a]), Err(Error::Conflict(_))));
    assert_eq!(s.len(1).unwrap(), 0);
    assert_eq!(s.locate(a).unwrap(), Location::Held(std::process::id()));
    assert_eq!(s.locate(b).unwrap(), Location::Held(std::process::id()));
    // A batch with one element already queued: nothing is pushed either.
    assert!(matches!(s.push_many(1, &[a, 5, b]), Err(Error::Conflict(_))));
    assert_eq!(s.len(1).unwrap(), 0);
    s.push_many(1, &[a, b]).unwrap();
    assert!(matches!(s.push(1, a), Err(Error::Conflict(_))), "pushed twice");
    assert_eq!(s.locate(a).unwrap(), Location::Queue(1));
    assert!(matches!(s.reclaim(Some(std::process::id())), Err(Error::Conflict(_))));
    assert!(matches!(s.reclaim(Some(0)), Err(Error::InvalidArg(_))));
    audit_all_queued(&s);
}

#[test]
fn named_sets_are_created_once_opened_and_unlinked() {
    let name = ShmName::new("named");
    let s = QueueSet::create(&name.0, 50, 100, 3).unwrap();
    assert!(matches!(QueueSet::create(&name.0, 50, 100, 3), Err(Error::Exists)));
    let o = QueueSet::open(&name.0).unwrap();
    assert_eq!((o.elem_count(), o.elem_size(), o.queue_count()), (50, 100, 3));
    // One set seen through two mappings.
    let e = s.pull(0).unwrap();
    s.elem_u64(e, 1).unwrap().store(0xfeed, Ordering::Relaxed);
    s.push(2, e).unwrap();
    let e2 = o.pull(2).unwrap();
    assert_eq!(e2, e);
    assert_eq!(o.elem_u64(e2, 1).unwrap().load(Ordering::Relaxed), 0xfeed);
    // Pointers differ per mapping; offsets agree.
    let (p0, p1) = (s.elem_ptr(1).unwrap() as usize, s.elem_ptr(0).unwrap() as usize);
    assert_eq!(p0 - p1, 128);
    assert_eq!(p1 % 64, 0);
    o.push(0, e2).unwrap();
    QueueSet::unlink(&name.0).unwrap();
    assert_eq!(QueueSet::open(&name.0).err(), Some(Error::NotFound));
    assert_eq!(QueueSet::unlink(&name.0), Err(Error::NotFound));
    // Still usable after unlink by those who have it mapped.
    audit_all_queued(&o);
}

#[test]
fn queue_names_are_unique_and_looked_up() {
    let s = QueueSet::create_anon(4, 8, 3).unwrap();
    assert_eq!(s.lookup("requests"), Err(Error::NotFound));
    s.set_name(1, "requests").unwrap();
    s.set_name(2, "x".repeat(31)).unwrap();
    assert_eq!(s.lookup("requests"), Ok(1));
    assert_eq!(s.lookup("x".repeat(31)), Ok(2));
    assert_eq!(s.name(1).unwrap(), b"requests");
    assert_eq!(s.set_name(0, "requests"), Err(Error::Exists));
    s.set_name(1, "requests").unwrap(); // renaming to its own name is fine
    assert!(matches!(s.set_name(0, "x".repeat(32)), Err(Error::InvalidArg(_))));
    assert!(matches!(s.set_name(3, "q"), Err(Error::InvalidArg(_))));
    assert!(matches!(s.lookup(""), Err(Error::InvalidArg(_))));
    s.set_name(1, "").unwrap();
    assert_eq!(s.lookup("requests"), Err(Error::NotFound));
    s.set_name(0, "requests").unwrap();
    assert_eq!(s.lookup("requests"), Ok(0));
}

#[test]
fn wait_times_out_on_an_empty_queue_and_returns_at_once_on_a_full_one() {
    let s = QueueSet::create_anon(4, 8, 2).unwrap();
    let t = Instant::now();
    assert_eq!(s.wait(1, Some(Duration::from_millis(80))), Err(Error::Timeout));
    let dt = t.elapsed();
    assert!(dt >= Duration::from_millis(80) && dt < Duration::from_secs(2), "{dt:?}");
    assert_eq!(s.wait(1, Some(Duration::ZERO)), Err(Error::Timeout));
    let t = Instant::now();
    s.wait(0, None).unwrap();
    assert!(t.elapsed() < Duration::from_millis(50));
}

#[test]
fn wait_wakes_when_another_thread_pushes() {
    let s = QueueSet::create_anon(4, 8, 2).unwrap();
    let e = s.pull(0).unwrap();
    std::thread::scope(|sc| {
        let h = sc.spawn(|| {
            let t = Instant::now();
            s.wait(1, Some(Duration::from_secs(10))).unwrap();
            t.elapsed()
        });
        std::thread::sleep(Duration::from_millis(100));
        s.push(1, e).unwrap();
        let dt = h.join().unwrap();
        assert!(dt >= Duration::from_millis(90) && dt < Duration::from_secs(5), "{dt:?}");
    });
}

#[test]
fn open_rejects_objects_that_are_not_queue_sets() {
    let name = ShmName::new("garbage");
    let path = format!("/dev/shm/{}", name.0);
    std::fs::write(&path, vec![0xabu8; 8192]).unwrap();
    assert!(matches!(QueueSet::open(&name.0), Err(Error::Corrupt(_))));
    // A real header on a truncated object.
    let real = ShmName::new("real");
    drop(QueueSet::create(&real.0, 100, 4096, 2).unwrap());
    let bytes = std::fs::read(format!("/dev/shm/{}", real.0)).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() - 4096]).unwrap();
    assert!(matches!(QueueSet::open(&name.0), Err(Error::Corrupt(_))));
    // A damaged parameter (element size) is caught by the checksum.
    let mut bad = bytes.clone();
    bad[20] ^= 1;
    std::fs::write(&path, &bad).unwrap();
    assert!(matches!(QueueSet::open(&name.0), Err(Error::Corrupt(_))));
    // Version 2.
    let mut v2 = bytes.clone();
    v2[8] = 2;
    std::fs::write(&path, &v2).unwrap();
    assert!(QueueSet::open(&name.0).is_err());
    // An object whose creator never wrote the magic: Busy after the wait.
    std::fs::write(&path, vec![0u8; 8192]).unwrap();
    let t = Instant::now();
    assert_eq!(QueueSet::open(&name.0).err(), Some(Error::Busy));
    assert!(t.elapsed() >= Duration::from_secs(2));
    // The intact copy opens.
    std::fs::write(&path, &bytes).unwrap();
    audit_all_queued(&QueueSet::open(&name.0).unwrap());
}

#[test]
fn anonymous_set_is_shared_across_fork() {
    let s = QueueSet::create_anon(16, 64, 3).unwrap();
    let e = s.pull(0).unwrap();
    s.elem_u64(e, 0).unwrap().store(41, Ordering::Relaxed);
    s.push(1, e).unwrap();
    // SAFETY: the child only pulls, touches and pushes (no allocation, no
    // lock another thread could hold), then `_exit`s.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0);
    if pid == 0 {
        let ok = (|| {
            let e = s.pull(1).ok()?;
            let w = s.elem_u64(e, 0).ok()?;
            w.store(w.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
            s.push(2, e).ok()
        })()
        .is_some();
        // SAFETY: ends the child without running the parent's destructors.
        unsafe { libc::_exit(if ok { 0 } else { 1 }) };
    }
    let mut status = 0;
    // SAFETY: waits for our own child.
    assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
    assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0);
    s.wait(2, Some(Duration::from_secs(5))).unwrap();
    let e2 = s.pull(2).unwrap();
    assert_eq!(e2, e);
    assert_eq!(s.elem_u64(e2, 0).unwrap().load(Ordering::Relaxed), 42);
    s.push(0, e2).unwrap();
    audit_all_queued(&s);
}

// ---- worker processes ----------------------------------------------------------

/// A worker process, killed and reaped when dropped (so a failing test
/// leaves no worker behind; workers also die with the thread that started
/// them, see `worker_entry`).
struct Worker(Child);

impl Worker {
    fn kill_now(&mut self) {
        self.0.kill().unwrap();
    }
    fn reap(&mut self) -> std::process::ExitStatus {
        self.0.wait().unwrap()
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// Starts this test binary again as a worker playing `role` on the set
/// named `set`, with `args` as extra environment variables. The harness
/// exits 0 when its filter matches no test, so a wrong invocation would look
/// like a worker that succeeded; `wait_wakes_when_another_process_pushes`
/// guards against that (it times out unless the worker really pushes).
fn spawn_worker(role: &str, set: &str, args: &[(&str, String)]) -> Worker {
    let mut c = Command::new(std::env::current_exe().unwrap());
    c.args(["--ignored", "--exact", "worker_entry", "--nocapture", "--test-threads=1", "-q"])
        .env("MAPH_QTEST_ROLE", role)
        .env("MAPH_QTEST_SET", set)
        .env("MAPH_QTEST_PARENT", std::process::id().to_string())
        .stdout(Stdio::null());
    for (k, v) in args {
        c.env(k, v);
    }
    Worker(c.spawn().expect("spawning a worker"))
}

fn env_u64(k: &str) -> u64 {
    std::env::var(k).unwrap().parse().unwrap()
}

/// Not a test: the body of the worker processes that `spawn_worker` starts
/// (with `--ignored --exact worker_entry` and `MAPH_QTEST_ROLE` set). It is
/// ignored so that a normal run does not count it; run by hand (e.g. with
/// `--include-ignored`) without `MAPH_QTEST_ROLE`, it fails rather than
/// passing without checking anything.
#[test]
#[ignore = "worker process body, started by the multi-process queue tests"]
fn worker_entry() {
    let role = std::env::var("MAPH_QTEST_ROLE").expect(
        "worker_entry is the body of spawned worker processes, not a test: \
         MAPH_QTEST_ROLE is unset",
    );
    // Die with the test thread that started us, even if it panics.
    // SAFETY: prctl(PR_SET_PDEATHSIG) only sets a flag of this process.
    unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) };
    if std::os::unix::process::parent_id().to_string()
        != std::env::var("MAPH_QTEST_PARENT").unwrap_or_default()
    {
        std::process::exit(3); // the parent died before the prctl
    }
    let s = QueueSet::open(std::env::var("MAPH_QTEST_SET").unwrap()).unwrap();
    let code = match role.as_str() {
        "mover" => mover(&s, env_u64("OPS"), env_u64("SEED"), false),
        "killable" => mover(&s, u64::MAX, env_u64("SEED"), true),
        "pusher" => {
            let e = s.pull(0).unwrap();
            std::thread::sleep(Duration::from_millis(env_u64("DELAY_MS")));
            s.push(1, e).unwrap();
            0
        }
        other => panic!("unknown role {other}"),
    };
    std::process::exit(code);
}

/// Reports a violation: stderr, the exit status, and (for workers that will
/// be killed) the file named by `FLAG`.
fn violation(msg: String, bad: &mut i32) {
    eprintln!("worker {}: {msg}", std::process::id());
    if let Ok(f) = std::env::var("FLAG") {
        let _ = std::fs::write(f, msg);
    }
    *bad += 1;
}

/// Moves elements between random queues, `ops` times (or until killed).
/// Each element's word 0 says who holds it: a pull swaps in our pid and
/// checks that no other live process had it; a push first clears it.
/// Returns the number of violations (the exit status).
fn mover(s: &QueueSet, ops: u64, seed: u64, killable: bool) -> i32 {
    let me = std::process::id() as u64;
    let nq = s.queue_count() as u64;
    let mut rng = Rng(seed | 1);
    let mut held: Vec<u32> = Vec::new();
    let mut buf = vec![0u32; 64];
    let mut bad = 0;
    let take = |e: u32, bad: &mut i32| {
        let old = s.elem_u64(e, 0).unwrap().swap(me, Ordering::AcqRel);
        if old != 0 && old != me && !maph::queue::process_dead(old as u32) {
            violation(format!("element {e} pulled by {me} while held by live {old}"), bad);
        }
    };
    for _ in 0..ops {
        let q = rng.below(nq) as u32;
        match rng.below(6) {
            0 | 1 => match s.pull(q) {
                Ok(e) => {
                    take(e, &mut bad);
                    held.push(e);
                }
                Err(Error::Empty) => {}
                Err(e) => {
                    violation(format!("pull: {e}"), &mut bad);
                }
            },
            2 => {
                let want = 1 + rng.below(buf.len() as u64) as usize;
                match s.pull_many(q, &mut buf[..want]) {
                    Ok(k) => {
                        for &e in &buf[..k] {
                            take(e, &mut bad);
                            held.push(e);
                        }
                    }
                    Err(Error::Empty) => {}
                    Err(e) => {
                        violation(format!("pull_many: {e}"), &mut bad);
                    }
                }
            }
            3 if killable && rng.below(50) == 0 => {
                // Sometimes sleep briefly on a queue (killed while asleep too).
                let _ = s.wait(q, Some(Duration::from_micros(200)));
            }
            _ if !held.is_empty() => {
                let k = 1 + rng.below(held.len().min(40) as u64) as usize;
                let batch: Vec<u32> = held.drain(held.len() - k..).collect();
                for &e in &batch {
                    s.elem_u64(e, 0).unwrap().store(0, Ordering::Release);
                }
                let r = if k == 1 { s.push(q, batch[0]) } else { s.push_many(q, &batch) };
                if let Err(e) = r {
                    violation(format!("push: {e}"), &mut bad);
                }
            }
            _ => {}
        }
        if killable && held.len() > 200 {
            // Keep holdings bounded so the queues stay busy.
            let batch: Vec<u32> = std::mem::take(&mut held);
            for &e in &batch {
                s.elem_u64(e, 0).unwrap().store(0, Ordering::Release);
            }
            if let Err(e) = s.push_many(0, &batch) {
                violation(format!("push_many: {e}"), &mut bad);
            }
        }
    }
    for &e in &held {
        s.elem_u64(e, 0).unwrap().store(0, Ordering::Release);
    }
    if s.push_many(0, &held).is_err() {
        bad += 1;
    }
    bad.min(100)
}

#[test]
fn multiple_producers_and_consumers_across_processes() {
    let name = ShmName::new("mpmc");
    let s = QueueSet::create(&name.0, 2000, 64, 4).unwrap();
    let workers: Vec<Worker> = (0..4)
        .map(|i| {
            spawn_worker(
                "mover",
                &name.0,
                &[("OPS", "100000".into()), ("SEED", (1000 + i).to_string())],
            )
        })
        .collect();
    for mut w in workers {
        let st = w.reap();
        assert!(st.success(), "a worker failed: {st}");
    }
    let a = audit_all_queued(&s);
    assert_eq!((a.queued, a.held, a.locks_held), (2000, 0, 0));
}

#[test]
fn wait_wakes_when_another_process_pushes() {
    let name = ShmName::new("wake");
    let s = QueueSet::create(&name.0, 4, 64, 2).unwrap();
    let t = Instant::now();
    let mut w = spawn_worker("pusher", &name.0, &[("DELAY_MS", "300".into())]);
    s.wait(1, Some(Duration::from_secs(20))).unwrap();
    let dt = t.elapsed();
    assert!(dt >= Duration::from_millis(300), "{dt:?}");
    assert!(w.reap().success());
    assert_eq!(s.len(1).unwrap(), 1);
}

/// Workers move elements as fast as they can; we SIGKILL some of them at
/// random moments, round after round, while this process keeps moving
/// elements too (and must never block) and reclaims concurrently. At the
/// end every element is in exactly one queue.
#[test]
fn kill9_workers_at_random_moments_then_reclaim_accounts_for_every_element() {
    let name = ShmName::new("kill9");
    let n = 3000u32;
    let s = QueueSet::create(&name.0, n, 64, 3).unwrap();
    let mut rng = Rng(0x5eed);
    let mut seed = 1u64;
    let mut workers: Vec<Worker> = Vec::new();
    let mut killed = 0;
    let mut buf = vec![0u32; 32];
    let mut zombies: Vec<Worker> = Vec::new();
    // Killed workers cannot report through their exit status: a worker that
    // sees a violation creates this file.
    let flag = format!("/tmp/{}.violation", name.0);
    let _ = std::fs::remove_file(&flag);
    let rounds = 150;
    for round in 0..rounds {
        while workers.len() < 3 {
            seed += 1;
            workers.push(spawn_worker(
                "killable",
                &name.0,
                &[("SEED", seed.to_string()), ("FLAG", flag.clone())],
            ));
        }
        // Let them run a random while, moving elements ourselves meanwhile.
        let until = Instant::now() + Duration::from_micros(2000 + rng.below(15_000));
        while Instant::now() < until {
            let t = Instant::now();
            let q = rng.below(3) as u32;
            match s.pull_many(q, &mut buf) {
                Ok(k) => s.push_many(rng.below(3) as u32, &buf[..k]).unwrap(),
                Err(Error::Empty) => {}
                Err(e) => panic!("round {round}: the survivor got {e}"),
            }
            assert!(t.elapsed() < Duration::from_secs(1), "the survivor blocked");
        }
        // Reap last round's zombies only now: until here they held
        // whatever locks they held when killed, unreaped.
        for mut z in zombies.drain(..) {
            z.reap();
        }
        // Kill one or two at once, at whatever instruction they are at.
        let k = 1 + rng.below(2) as usize;
        for _ in 0..k {
            let i = rng.below(workers.len() as u64) as usize;
            let mut w = workers.swap_remove(i);
            w.kill_now();
            // Reap some at once, leave others as zombies for a while: a
            // zombie counts as dead too.
            if rng.below(2) == 0 {
                w.reap();
            } else {
                zombies.push(w);
            }
            killed += 1;
        }
        if round % 3 == 0 {
            // Reclaim while the others keep running.
            s.reclaim(None).unwrap();
        }
    }
    for mut z in zombies.drain(..) {
        z.reap();
    }
    for mut w in workers.drain(..) {
        w.kill_now();
        w.reap();
        killed += 1;
    }
    let before = s.audit().unwrap();
    assert_eq!(before.queued + before.held + before.in_transit, n as u64);
    assert_eq!(before.held, before.held_by_dead);
    let moved = s.reclaim(None).unwrap();
    let a = audit_all_queued(&s);
    assert_eq!(a.held, 0, "{a:?}");
    assert_eq!(a.queued, n as u64);
    assert_eq!(a.locks_held, 0);
    assert!(moved >= before.held_by_dead);
    assert!(
        !std::path::Path::new(&flag).exists(),
        "a worker saw an element held by two live processes"
    );
    eprintln!(
        "kill9: {killed} workers killed, {} interrupted batches repaired, {moved} elements reclaimed at the end ({} were in an interrupted batch)",
        s.repairs(),
        before.in_transit
    );
}
