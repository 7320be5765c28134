//! Multiplexed logging (issue 17): per-writer order, no loss across
//! processes, drops counted and announced, waiting writers, lines too long,
//! writers killed with SIGKILL in the middle of records, and a log in a
//! file dumped after every process died.
//!
//! Multi-process tests start writers by running this test binary again
//! with `MAPH_LTEST_ROLE` set (the `worker_entry` test then plays the
//! writer and exits), as `tests/queue.rs` does: forking the multi-threaded
//! harness would be unsafe. Run with `--release` (the 4 x 1,000,000 test
//! takes minutes in a debug build).

use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use maph::log::{Entry, Kind, Log, Output, WhenFull, MAX_LINE};
use maph::Error;

/// A fresh `/dev/shm` name, unlinked when dropped.
struct ShmName(String);

impl ShmName {
    fn new(tag: &str) -> ShmName {
        static N: AtomicU64 = AtomicU64::new(0);
        ShmName(format!(
            "maph-ltest-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ))
    }
}

impl Drop for ShmName {
    fn drop(&mut self) {
        let _ = Log::unlink(&self.0);
    }
}

/// A fresh temporary directory, removed when dropped.
struct TempDir(std::path::PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        static N: AtomicU64 = AtomicU64::new(0);
        let p = std::env::temp_dir().join(format!(
            "maph-ltest-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The line writer `w` writes as its `seq`-th: `w<w> <seq>` padded with
/// `x` to `len` bytes.
fn line_of(w: u64, seq: u64, len: usize) -> Vec<u8> {
    let mut l = format!("w{w} {seq:010} ").into_bytes();
    l.resize(len.max(l.len()), b'x');
    l
}

/// Parses a line made by `line_of`, checking its padding.
fn parse(line: &[u8]) -> Option<(u64, u64)> {
    let s = std::str::from_utf8(line).ok()?;
    let mut it = s.splitn(3, ' ');
    let w = it.next()?.strip_prefix('w')?.parse().ok()?;
    let seq = it.next()?.parse().ok()?;
    let pad = it.next().unwrap_or("");
    pad.bytes().all(|b| b == b'x').then_some((w, seq))
}

/// Checks the stream: positions strictly increase, each line parses, and
/// each (pid, tid) writes consecutive sequence numbers of one writer id.
#[derive(Default)]
struct Checker {
    last_pos: Option<u64>,
    next: HashMap<(u32, u32), (u64, u64)>,
    lines: u64,
    torn: Vec<u32>,
    dropped: u64,
    bad: Vec<String>,
}

impl Checker {
    fn see(&mut self, e: &Entry) {
        if let Some(p) = self.last_pos {
            if e.pos <= p && e.kind != Kind::Dropped {
                self.bad.push(format!("position {} after {p}", e.pos));
            }
        }
        if e.kind != Kind::Dropped {
            self.last_pos = Some(e.pos);
        }
        match e.kind {
            Kind::Line => {
                self.lines += 1;
                let Some((w, seq)) = parse(e.line) else {
                    self.bad.push(format!("malformed line {:?}", String::from_utf8_lossy(e.line)));
                    return;
                };
                let want = self.next.entry((e.pid, e.tid)).or_insert((w, 0));
                if *want != (w, seq) {
                    self.bad.push(format!(
                        "pid {} tid {}: got w{w} #{seq}, expected w{} #{}",
                        e.pid, e.tid, want.0, want.1
                    ));
                }
                *want = (w, seq + 1);
            }
            Kind::Torn => self.torn.push(e.pid),
            Kind::Dropped => self.dropped += e.count,
            Kind::Stalled | Kind::Corrupt => self.bad.push(format!("unexpected {:?}", e.kind)),
        }
    }

    fn assert_ok(&self) {
        assert!(
            self.bad.is_empty(),
            "{} violations, first: {:?}",
            self.bad.len(),
            &self.bad[..self.bad.len().min(5)]
        );
    }
}

/// Drains `log` into `c` until `done` says stop and the stream is caught
/// up with the tail.
fn drain_until(log: &Log, c: &mut Checker, mut done: impl FnMut() -> bool) {
    let t0 = Instant::now();
    loop {
        if t0.elapsed() > Duration::from_secs(300) {
            panic!("drain not caught up after 120 s: {:?}, lines {}", log.stats(), c.lines);
        }
        let n = log
            .drain(4096, |e| {
                c.see(e);
                true
            })
            .unwrap();
        if n == 0 {
            let s = log.stats();
            if done() && s.consumed == s.claimed {
                return;
            }
            std::thread::sleep(Duration::from_micros(200));
        }
    }
}

// ---- one process ---------------------------------------------------------------

#[test]
fn each_threads_lines_come_out_in_the_order_it_wrote_them() {
    let log = Arc::new(Log::create_anon(64 * 1024).unwrap());
    let done = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..4u64)
        .map(|w| {
            let log = Arc::clone(&log);
            std::thread::spawn(move || {
                for seq in 0..50_000 {
                    let l = line_of(w, seq, 20 + (seq as usize * 7) % 200);
                    log.write(6, &l, WhenFull::Wait(Duration::MAX)).unwrap();
                }
            })
        })
        .collect();
    let mut c = Checker::default();
    let d = Arc::clone(&done);
    let drainer_done = move || d.load(Ordering::Acquire);
    let t = std::thread::spawn({
        let done = Arc::clone(&done);
        move || {
            for w in writers {
                w.join().unwrap();
            }
            done.store(true, Ordering::Release);
        }
    });
    drain_until(&log, &mut c, drainer_done);
    t.join().unwrap();
    c.assert_ok();
    assert_eq!(c.lines, 200_000);
    assert_eq!(c.next.len(), 4);
    assert!(c.next.values().all(|&(_, n)| n == 50_000));
    let s = log.stats();
    assert_eq!((s.dropped, s.torn, s.corrupt, s.drained), (0, 0, 0, 200_000));
}

#[test]
fn a_line_written_after_another_write_returned_comes_after_it_in_the_stream() {
    // The claim is the write's linearization point: if A's write returns
    // before B's begins (here: B waits for A's flag), A precedes B.
    let log = Arc::new(Log::create_anon(8 << 20).unwrap()); // holds every line
    let turn = Arc::new(AtomicU64::new(0));
    let rounds = 2_000u64;
    let hs: Vec<_> = (0..2u64)
        .map(|w| {
            let (log, turn) = (Arc::clone(&log), Arc::clone(&turn));
            std::thread::spawn(move || {
                for r in 0..rounds {
                    let my = 2 * r + w;
                    while turn.load(Ordering::Acquire) != my {
                        std::thread::yield_now();
                    }
                    log.write(6, &line_of(w, r, 0), WhenFull::Wait(Duration::MAX)).unwrap();
                    turn.store(my + 1, Ordering::Release);
                }
            })
        })
        .collect();
    for h in hs {
        h.join().unwrap();
    }
    let mut order = Vec::new();
    while log
        .drain(usize::MAX, |e| {
            order.push(parse(e.line).unwrap());
            true
        })
        .unwrap()
        > 0
    {}
    let want: Vec<_> = (0..rounds).flat_map(|r| [(0, r), (1, r)]).collect();
    assert_eq!(order, want);
}

#[test]
fn full_buffer_drops_counts_and_announces_after_the_lines_it_held() {
    let log = Log::create_anon(64 * 1024).unwrap();
    assert_eq!(log.slot_count(), 64);
    let mut ok = 0;
    let mut full = 0;
    for i in 0..100 {
        match log.write(4, &line_of(0, i, 50), WhenFull::Drop) {
            Ok(_) => ok += 1,
            Err(Error::Dropped) => full += 1,
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!((ok, full), (64, 36), "the first 64 fit, the rest are dropped");
    assert_eq!(log.stats().dropped, 36);
    let mut items = Vec::new();
    log.drain(usize::MAX, |e| {
        items.push((e.kind, e.count));
        true
    })
    .unwrap();
    assert_eq!(items.len(), 65);
    assert!(items[..64].iter().all(|&(k, _)| k == Kind::Line));
    assert_eq!(items[64], (Kind::Dropped, 36));
    // Announced once; room again.
    assert_eq!(log.drain(usize::MAX, |_| true).unwrap(), 0);
    log.write(4, b"again", WhenFull::Drop).unwrap();
    let s = log.stats();
    assert_eq!((s.dropped, s.drained, s.claimed, s.consumed), (36, 64, 65, 64));
}

#[test]
fn waiting_writer_times_out_without_a_drainer_and_proceeds_when_one_frees_room() {
    let log = Arc::new(Log::create_anon(64 * 1024).unwrap());
    for i in 0..64 {
        log.write(6, &line_of(0, i, 10), WhenFull::Drop).unwrap();
    }
    let t = Instant::now();
    assert_eq!(
        log.write(6, b"late", WhenFull::Wait(Duration::from_millis(50))),
        Err(Error::Timeout)
    );
    assert!(t.elapsed() >= Duration::from_millis(50));
    assert_eq!(log.stats().dropped, 1, "a timed-out line counts as dropped");
    let l2 = Arc::clone(&log);
    let drainer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(100));
        l2.drain(10, |_| true).unwrap()
    });
    let t = Instant::now();
    log.write(6, b"waited", WhenFull::Wait(Duration::from_secs(10))).unwrap();
    let waited = t.elapsed();
    assert!(waited >= Duration::from_millis(90), "returned before room was made");
    assert!(waited < Duration::from_secs(5), "the drainer's free did not wake it");
    assert_eq!(drainer.join().unwrap(), 10);
}

#[test]
fn line_longer_than_a_record_is_refused_whole_and_the_longest_fits_exactly() {
    let log = Log::create_anon(64 * 1024).unwrap();
    let long = vec![b'a'; MAX_LINE + 1];
    assert!(matches!(log.write(6, &long, WhenFull::Drop), Err(Error::TooLarge(_))));
    assert_eq!(log.stats().claimed, 0, "nothing was written");
    log.write(6, &long[..MAX_LINE], WhenFull::Drop).unwrap();
    log.write(6, b"", WhenFull::Drop).unwrap();
    let mut lens = Vec::new();
    log.drain(10, |e| {
        lens.push(e.line.len());
        assert!(e.line.iter().all(|&b| b == b'a'));
        true
    })
    .unwrap();
    assert_eq!(lens, [MAX_LINE, 0]);
}

#[test]
fn second_drainer_is_refused_while_the_drain_thread_runs() {
    let log = Arc::new(Log::create_anon(64 * 1024).unwrap());
    let dir = TempDir::new("conflict");
    let f = std::fs::File::create(dir.0.join("out")).unwrap();
    let d = log.drain_to(Output::File(f)).unwrap();
    assert!(matches!(log.drain(1, |_| true), Err(Error::Conflict(_))));
    assert!(matches!(log.drain_to(Output::Fd(1)), Err(Error::Conflict(_))));
    d.stop().unwrap();
    assert_eq!(log.drain(1, |_| true), Ok(0), "the lock is released on stop");
}

#[test]
fn drain_thread_writes_every_line_as_text_in_the_documented_format() {
    let log = Arc::new(Log::create_anon(1 << 20).unwrap());
    let dir = TempDir::new("text");
    let path = dir.0.join("stream.log");
    let d = log.drain_to(Output::File(std::fs::File::create(&path).unwrap())).unwrap();
    let hs: Vec<_> = (0..3u64)
        .map(|w| {
            let log = Arc::clone(&log);
            std::thread::spawn(move || {
                for seq in 0..10_000 {
                    log.write(w as u8 + 3, &line_of(w, seq, 100), WhenFull::Wait(Duration::MAX))
                        .unwrap();
                }
            })
        })
        .collect();
    for h in hs {
        h.join().unwrap();
    }
    let report = d.stop().unwrap();
    assert_eq!(report.items, 30_000);
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(report.bytes, text.len() as u64);
    let mut next = [0u64; 3];
    let pid = std::process::id().to_string();
    for l in text.lines() {
        // 2026-12-03T08:41:16.123456789Z <pid> <tid> <LEVEL> <line>
        let f: Vec<&str> = l.splitn(5, ' ').collect();
        assert_eq!(f.len(), 5, "{l}");
        assert_eq!(f[0].len(), 30, "{l}");
        assert!(f[0].ends_with('Z') && &f[0][10..11] == "T", "{l}");
        assert_eq!(f[1], pid);
        f[2].parse::<u32>().unwrap();
        let (w, seq) = parse(f[4].as_bytes()).unwrap();
        assert_eq!(f[3], ["ERROR", "WARN", "NOTICE"][w as usize]);
        assert_eq!(seq, next[w as usize], "writer {w} out of order");
        next[w as usize] += 1;
    }
    assert_eq!(next, [10_000; 3]);
}

#[test]
fn open_checks_the_header_before_trusting_the_buffer() {
    let dir = TempDir::new("open");
    let p = dir.0.join("log");
    let ps = p.to_str().unwrap();
    assert_eq!(Log::open(ps).err(), Some(Error::NotFound));
    std::fs::write(&p, vec![7u8; 8192]).unwrap();
    assert!(matches!(Log::open(ps), Err(Error::Corrupt(_))));
    std::fs::remove_file(&p).unwrap();
    drop(Log::create(ps, 64 * 1024).unwrap());
    assert_eq!(Log::create(ps, 64 * 1024).err(), Some(Error::Exists));
    let f = std::fs::OpenOptions::new().write(true).open(&p).unwrap();
    f.set_len(4096 + 1024).unwrap();
    assert!(matches!(Log::open(ps), Err(Error::Corrupt(_))), "truncated");
    assert!(matches!(Log::create_anon(1000), Err(Error::InvalidArg(_))));
    assert!(matches!(Log::create("", 1 << 20), Err(Error::InvalidArg(_))));
}

#[test]
fn named_shm_log_is_shared_between_handles_and_unlinked() {
    let n = ShmName::new("shm");
    let a = Log::create(&n.0, 1 << 20).unwrap();
    assert_eq!(Log::create(&n.0, 1 << 20).err(), Some(Error::Exists));
    let b = Log::open(&n.0).unwrap();
    a.write(6, b"from a", WhenFull::Drop).unwrap();
    let mut got = Vec::new();
    b.drain(10, |e| {
        got.push(e.line.to_vec());
        true
    })
    .unwrap();
    assert_eq!(got, [b"from a".to_vec()]);
    Log::unlink(&n.0).unwrap();
    assert_eq!(Log::open(&n.0).err(), Some(Error::NotFound));
}

// ---- writer processes ----------------------------------------------------------

/// A writer process, killed and reaped when dropped.
struct Worker(Child);

impl Drop for Worker {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

fn spawn_writer(log: &str, w: u64, count: u64, len: usize) -> Worker {
    spawn_paced_writer(log, w, count, len, 0)
}

/// A writer that pauses `pace_ns` (busy) after each line.
fn spawn_paced_writer(log: &str, w: u64, count: u64, len: usize, pace_ns: u64) -> Worker {
    let c = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "worker_entry", "--nocapture", "--test-threads=1", "-q"])
        .env("MAPH_LTEST_ROLE", "writer")
        .env("MAPH_LTEST_LOG", log)
        .env("MAPH_LTEST_PARENT", std::process::id().to_string())
        .env("W", w.to_string())
        .env("COUNT", count.to_string())
        .env("LEN", len.to_string())
        .env("PACE_NS", pace_ns.to_string())
        .stdout(Stdio::null())
        .spawn()
        .expect("spawning a writer");
    Worker(c)
}

fn env_u64(k: &str) -> u64 {
    std::env::var(k).unwrap().parse().unwrap()
}

/// Not a test: the body of writer processes (does nothing without
/// `MAPH_LTEST_ROLE`). Writes `COUNT` lines (`u64::MAX`: until killed) as
/// writer `W`, waiting for room when the buffer is full.
#[test]
fn worker_entry() {
    let Ok(role) = std::env::var("MAPH_LTEST_ROLE") else {
        return;
    };
    // SAFETY: prctl(PR_SET_PDEATHSIG) only sets a flag of this process.
    unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) };
    if std::os::unix::process::parent_id().to_string()
        != std::env::var("MAPH_LTEST_PARENT").unwrap_or_default()
    {
        std::process::exit(3);
    }
    assert!(role == "writer" || role == "holder");
    let log = Log::open(std::env::var("MAPH_LTEST_LOG").unwrap()).unwrap();
    let (w, count, len) = (env_u64("W"), env_u64("COUNT"), env_u64("LEN") as usize);
    let pace = Duration::from_nanos(env_u64("PACE_NS"));
    let mut line = line_of(w, 0, len);
    for seq in 0..count {
        // Rewrite the sequence digits in place: no allocation per line.
        let digits = format!("{seq:010}");
        let at = line.iter().position(|&b| b == b' ').unwrap() + 1;
        line[at..at + 10].copy_from_slice(digits.as_bytes());
        if let Err(e) = log.write(6, &line, WhenFull::Wait(Duration::MAX)) {
            eprintln!("writer {w}: {e}");
            std::process::exit(2);
        }
        if !pace.is_zero() {
            let t = Instant::now();
            while t.elapsed() < pace {
                std::hint::spin_loop();
            }
        }
    }
    if role == "holder" {
        // One more line, held half-written until the parent kills us.
        let held = line_of(w, count, len);
        let r = log.write_holding_for_tests(6, &held, || {
            use std::io::Write;
            let mut o = std::io::stdout();
            let _ = o.write_all(b"held\n");
            let _ = o.flush();
            loop {
                std::thread::sleep(Duration::from_secs(1));
            }
        });
        eprintln!("holder {w}: could not claim a slot: {r:?}");
        std::process::exit(2);
    }
    std::process::exit(0);
}

#[test]
fn four_writer_processes_of_a_million_lines_each_lose_nothing() {
    // Writers wait for room when the buffer is full, so nothing is dropped
    // by design: what this checks is that the ring itself loses, repeats
    // and tears nothing under four processes at full speed.
    let n = ShmName::new("4m");
    let log = Log::create(&n.0, 64 << 20).unwrap();
    let per = 1_000_000u64;
    let mut ws: Vec<Worker> = (0..4).map(|w| spawn_writer(&n.0, w, per, 100)).collect();
    let mut c = Checker::default();
    let t = Instant::now();
    let done = std::cell::Cell::new(false);
    drain_until(&log, &mut c, || {
        if !done.get() && ws.iter_mut().all(|w| w.0.try_wait().unwrap().is_some()) {
            done.set(true);
        }
        done.get()
    });
    for w in &mut ws {
        assert!(w.0.wait().unwrap().success(), "a writer failed");
    }
    c.assert_ok();
    assert_eq!(c.lines, 4 * per, "lines lost or repeated");
    assert_eq!(c.next.len(), 4);
    assert!(c.next.values().all(|&(_, k)| k == per));
    let s = log.stats();
    assert_eq!((s.dropped, s.torn, s.corrupt), (0, 0, 0));
    eprintln!("4 x {per} lines drained in {:?}", t.elapsed());
}

#[test]
fn writers_killed_mid_record_500_times_leave_a_well_formed_stream() {
    // Each round a "holder" writes a few lines, then claims a slot, writes
    // half its line and says so; it is SIGKILLed right there, inside the
    // record. Two ordinary writers write all along (so a dead writer's slot
    // must not block them) and are themselves killed at random moments
    // every 25 rounds. A drain thread checks the stream throughout.
    let n = ShmName::new("kill");
    let log = Arc::new(Log::create(&n.0, 8 << 20).unwrap());
    let stop = Arc::new(AtomicBool::new(false));
    let drainer = {
        let (log, stop) = (Arc::clone(&log), Arc::clone(&stop));
        std::thread::spawn(move || {
            let mut c = Checker::default();
            drain_until(&log, &mut c, || stop.load(Ordering::Acquire));
            c
        })
    };
    let mut rng = 0x9e37_79b9_7f4a_7c15u64;
    let mut rand = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let pace = 2_000;
    let mut ws: Vec<Worker> =
        (0..2).map(|w| spawn_paced_writer(&n.0, w, u64::MAX, 100, pace)).collect();
    let mut held = Vec::new();
    let mut killed = Vec::new();
    let t = Instant::now();
    for k in 0..500u64 {
        let mut h = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "worker_entry", "--nocapture", "--test-threads=1", "-q"])
            .env("MAPH_LTEST_ROLE", "holder")
            .env("MAPH_LTEST_LOG", &n.0)
            .env("MAPH_LTEST_PARENT", std::process::id().to_string())
            .env("W", (1000 + k).to_string())
            .env("COUNT", (rand() % 20).to_string())
            .env("LEN", (20 + rand() % 900).to_string())
            .env("PACE_NS", "0")
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        // The test harness prints a header first: wait for our word.
        let out = std::io::BufReader::new(h.stdout.take().unwrap());
        let got = std::io::BufRead::lines(out).any(|l| l.is_ok_and(|l| l.ends_with("held")));
        assert!(got, "holder {} did not get to its record", h.id());
        held.push(h.id());
        h.kill().unwrap();
        h.wait().unwrap();
        if k % 25 == 24 {
            let i = (rand() % 2) as usize;
            std::thread::sleep(Duration::from_micros(rand() % 1000));
            killed.push(ws[i].0.id());
            ws[i].0.kill().unwrap();
            ws[i].0.wait().unwrap();
            ws[i] = spawn_paced_writer(&n.0, 2 + k, u64::MAX, 100, pace);
        }
    }
    drop(ws);
    stop.store(true, Ordering::Release);
    let c = drainer.join().unwrap();
    c.assert_ok();
    let s = log.stats();
    assert_eq!(s.torn, c.torn.len() as u64, "torn records counted = announced");
    for p in &held {
        assert!(c.torn.contains(p), "holder {p}'s half-written record was not skipped");
    }
    assert!(
        c.torn.iter().all(|p| held.contains(p) || killed.contains(p)),
        "a torn record of a writer never killed"
    );
    assert_eq!((s.dropped, s.corrupt, s.stalled), (0, 0, 0));
    assert_eq!(s.consumed, s.claimed, "the stream is stuck behind a dead writer's slot");
    eprintln!(
        "{} kills inside a record in {:?}: {} lines, {} torn records skipped",
        held.len(),
        t.elapsed(),
        c.lines,
        c.torn.len()
    );
}

#[test]
fn log_in_a_file_is_dumped_after_every_process_died() {
    let dir = TempDir::new("dump");
    let path = dir.0.join("app.log");
    let p = path.to_str().unwrap().to_string();
    drop(Log::create(&p, 1 << 20).unwrap());
    // Two writers finish, one is killed while writing; nobody drains.
    // (The third starts after the first two finish: it fills the buffer and
    // then waits for room, which would block them too.)
    let mut a = spawn_writer(&p, 0, 300, 100);
    let mut b = spawn_writer(&p, 1, 200, 60);
    assert!(a.0.wait().unwrap().success() && b.0.wait().unwrap().success());
    let mut k = spawn_writer(&p, 2, u64::MAX, 80);
    let t = Instant::now();
    while Log::open(&p).unwrap().stats().claimed < 550 {
        assert!(t.elapsed() < Duration::from_secs(20), "writer 2 does not write");
        std::thread::sleep(Duration::from_millis(1));
    }
    k.0.kill().unwrap();
    k.0.wait().unwrap();
    // Every writer is gone; only the file is left.
    let log = Log::open(&p).unwrap();
    let mut c = Checker::default();
    let n = log.dump(|e| c.see(e)).unwrap();
    c.assert_ok();
    let per: HashMap<u64, u64> = c.next.values().map(|&(w, k)| (w, k)).collect();
    assert_eq!(per[&0], 300);
    assert_eq!(per[&1], 200);
    assert!(per[&2] > 0, "the killed writer wrote nothing before the kill");
    assert_eq!(n as u64, c.lines + c.torn.len() as u64);
    // A dump consumes nothing: the second one sees the same.
    let mut again = 0;
    log.dump(|_| again += 1).unwrap();
    assert_eq!(again, n);
}
