//! Runs the built `maph` binary: every subcommand, and every exit code
//! main.rs documents (0 success, 1 "no", 2 error).

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

const MAPH: &str = env!("CARGO_BIN_EXE_maph");

/// A fresh directory under the temp dir, removed on drop.
struct Dir(PathBuf);

impl Dir {
    fn new() -> Dir {
        static N: AtomicU32 = AtomicU32::new(0);
        let d = std::env::temp_dir().join(format!(
            "maph-cli-test-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&d).unwrap();
        Dir(d)
    }
    fn path(&self, name: &str) -> String {
        self.0.join(name).to_str().unwrap().to_string()
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn run(args: &[&str]) -> Output {
    run_stdin(args, None)
}

fn run_stdin(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut c = Command::new(MAPH)
        .args(args)
        .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(data) = stdin {
        c.stdin.take().unwrap().write_all(data).unwrap();
    }
    c.wait_with_output().unwrap()
}

fn code(o: &Output) -> i32 {
    o.status.code().expect("killed by a signal")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[track_caller]
fn ok(args: &[&str]) -> String {
    let o = run(args);
    assert_eq!(code(&o), 0, "maph {args:?}: stderr {}", String::from_utf8_lossy(&o.stderr));
    stdout(&o)
}

fn new_store(d: &Dir) -> String {
    let s = d.path("s.maph");
    ok(&["create", &s, "--slots", "1000"]);
    s
}

#[test]
fn get_of_a_missing_key_exits_1_and_of_a_missing_store_exits_2() {
    let d = Dir::new();
    let s = new_store(&d);
    ok(&["set", &s, "k", "v"]);
    assert_eq!(ok(&["get", &s, "k"]), "v");
    let o = run(&["get", &s, "absent"]);
    assert_eq!(code(&o), 1);
    assert!(String::from_utf8_lossy(&o.stderr).contains("not found"));
    assert_eq!(code(&run(&["get", &d.path("no-such-file"), "k"])), 2);
}

#[test]
fn usage_error_exits_2() {
    assert_eq!(code(&run(&["get"])), 2);
    assert_eq!(code(&run(&["no-such-command"])), 2);
}

#[test]
fn create_on_an_existing_path_exits_2() {
    let d = Dir::new();
    let s = new_store(&d);
    assert_eq!(code(&run(&["create", &s])), 2);
}

#[test]
fn del_removes_the_key_and_a_second_del_exits_1() {
    let d = Dir::new();
    let s = new_store(&d);
    ok(&["set", &s, "k", "v"]);
    ok(&["del", &s, "k"]);
    assert_eq!(code(&run(&["del", &s, "k"])), 1);
    assert_eq!(code(&run(&["get", &s, "k"])), 1);
}

#[test]
fn load_without_header_flag_loads_and_names_the_first_line() {
    let d = Dir::new();
    let s = new_store(&d);
    let tsv = d.path("in.tsv");
    std::fs::write(&tsv, "name\tvalue\na\t1\n").unwrap();
    let out = ok(&["load", &s, &tsv]);
    assert!(out.contains("loaded: 2 rows"), "{out}");
    assert!(out.contains("first line: loaded as a row, key \"name\""), "{out}");
    assert_eq!(ok(&["get", &s, "name"]), "value");
}

#[test]
fn load_header_skips_the_first_line_and_no_header_loads_it_silently() {
    let d = Dir::new();
    let tsv = d.path("in.tsv");
    std::fs::write(&tsv, "name\tvalue\na\t1\n").unwrap();
    let s1 = d.path("s1");
    ok(&["create", &s1, "--slots", "100"]);
    let out = ok(&["load", &s1, &tsv, "--header"]);
    assert!(out.contains("loaded: 1 rows"), "{out}");
    assert_eq!(code(&run(&["get", &s1, "name"])), 1);
    let s2 = d.path("s2");
    ok(&["create", &s2, "--slots", "100"]);
    let out = ok(&["load", &s2, &tsv, "--no-header"]);
    assert!(out.contains("loaded: 2 rows") && !out.contains("first line"), "{out}");
    assert_eq!(code(&run(&["load", &s2, &tsv, "--header", "--no-header"])), 2);
}

#[test]
fn load_reads_stdin_plain_and_gzip_with_create() {
    let d = Dir::new();
    let s = d.path("s");
    let o = run_stdin(&["load", &s, "-", "--create", "--no-header"], Some(b"x\t1\ny\t2\n"));
    assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(ok(&["get", &s, "y"]), "2");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(b"z\t3\n").unwrap();
    let o = run_stdin(&["load", &s, "-", "--no-header"], Some(&gz.finish().unwrap()));
    assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(ok(&["get", &s, "z"]), "3");
}

#[test]
fn load_exits_1_when_a_line_has_no_tab_or_is_too_large_and_stores_the_rest() {
    let d = Dir::new();
    let s = d.path("s");
    ok(&["create", &s, "--slots", "100", "--slot-size", "64"]);
    let tsv = d.path("in.tsv");
    let big = "v".repeat(70_000); // larger than the store's 64 KiB heap
    std::fs::write(&tsv, format!("a\t1\nnotab\n\tempty-key\nbig\t{big}\nb\t2\n\n")).unwrap();
    let o = run(&["load", &s, &tsv, "--no-header"]);
    assert_eq!(code(&o), 1);
    let out = stdout(&o);
    assert!(out.contains("loaded: 2 rows"), "{out}");
    assert!(out.contains("no tab: 1"), "{out}");
    assert!(out.contains("too large: 1"), "{out}");
    assert!(out.contains("empty key: 1"), "{out}");
    assert!(String::from_utf8_lossy(&o.stderr).contains("3 lines"));
    assert_eq!(ok(&["get", &s, "b"]), "2");
}

#[test]
fn load_exits_1_when_the_store_is_full() {
    let d = Dir::new();
    let s = d.path("s");
    ok(&["create", &s, "--slots", "4"]);
    let rows: String = (0..10).map(|i| format!("k{i}\tv\n")).collect();
    let o = run_stdin(&["load", &s, "-", "--no-header"], Some(rows.as_bytes()));
    assert_eq!(code(&o), 1);
    assert!(stdout(&o).contains("FULL: 6"), "{}", stdout(&o));
}

#[test]
fn load_counts_rows_the_full_heap_refuses_and_stores_the_rest() {
    let d = Dir::new();
    let s = d.path("s");
    // 64 slots: a heap of 64 KiB (the minimum), room for a few 8 KB rows.
    ok(&["create", &s, "--slots", "64"]);
    let big = "v".repeat(8_000);
    let rows: String =
        (0..20).map(|i| format!("big{i}\t{big}\n")).collect::<String>() + "small\t1\n";
    let o = run_stdin(&["load", &s, "-", "--no-header"], Some(rows.as_bytes()));
    assert_eq!(code(&o), 1, "{}", String::from_utf8_lossy(&o.stderr));
    let out = stdout(&o);
    assert!(out.contains("the heap has no free extent"), "{out}");
    assert!(!out.contains("loaded: 21 rows") && !out.contains("loaded: 0 rows"), "{out}");
    assert_eq!(ok(&["get", &s, "small"]), "1");
}

#[test]
fn copy_and_compact_copy_hold_every_key_and_refuse_an_existing_dest() {
    let d = Dir::new();
    let s = d.path("s");
    ok(&["create", &s, "--slots", "4096"]);
    let rows: String = (0..300).map(|i| format!("k{i}\tv{i}\n")).collect();
    run_stdin(&["load", &s, "-", "--no-header"], Some(rows.as_bytes()));
    let (c, small) = (d.path("c"), d.path("small"));
    let out = ok(&["copy", &s, &c]);
    assert!(out.contains("keys: 300") && out.contains("slots: 4096"), "{out}");
    let out = ok(&["copy", &s, &small, "--compact", "--optimize"]);
    assert!(out.contains("keys: 300"), "{out}");
    let slots: u64 = out.lines().find_map(|l| l.strip_prefix("slots: ")).unwrap().parse().unwrap();
    assert!(slots < 1024, "{out}");
    for p in [&c, &small] {
        assert_eq!(ok(&["get", p, "k299"]), "v299");
        assert_eq!(code(&run(&["check", p])), 0);
    }
    let o = run(&["copy", &s, &c]);
    assert_eq!(code(&o), 2);
    assert!(String::from_utf8_lossy(&o.stderr).contains("exists"), "{:?}", o);
}

#[test]
fn load_optimize_and_sync_build_the_mphf() {
    let d = Dir::new();
    let s = new_store(&d);
    let o =
        run_stdin(&["load", &s, "-", "--no-header", "--optimize", "--sync"], Some(b"a\t1\nb\t2\n"));
    assert_eq!(code(&o), 0);
    let out = stdout(&o);
    assert!(out.contains("optimized: generation 1, 2 keys"), "{out}");
    assert!(out.contains("synced:"), "{out}");
    assert!(ok(&["stats", "--json", &s]).contains("\"mphf_keys\":2"));
}

#[test]
fn optimize_then_stats_json_reports_every_key_in_the_mphf() {
    let d = Dir::new();
    let s = new_store(&d);
    ok(&["set", &s, "a", "1"]);
    ok(&["set", &s, "b", "2"]);
    let out = ok(&["optimize", &s]);
    assert!(out.contains("generation: 1") && out.contains("mphf_keys: 2"), "{out}");
    let j = ok(&["stats", "--json", &s]);
    for field in ["\"keys\":2,", "\"slots\":1000,", "\"generation\":1,", "\"mphf_in_use\":true}"] {
        assert!(j.contains(field), "{field} not in {j}");
    }
    assert!(j.trim_end().starts_with('{') && j.trim_end().ends_with('}'));
    let text = ok(&["stats", &s]);
    assert!(text.contains("keys: 2\n"), "{text}");
}

#[test]
fn optimize_on_a_damaged_file_exits_2() {
    let d = Dir::new();
    let f = d.path("junk");
    std::fs::write(&f, vec![7u8; 8192]).unwrap();
    assert_eq!(code(&run(&["optimize", &f])), 2);
    assert_eq!(code(&run(&["recover", &f])), 2);
    assert_eq!(code(&run(&["check", &f])), 2);
    assert_eq!(code(&run(&["stats", "--json", &f])), 2);
}

#[test]
fn recover_and_check_on_a_healthy_store_exit_0() {
    let d = Dir::new();
    let s = new_store(&d);
    ok(&["set", &s, "a", "1"]);
    assert_eq!(ok(&["recover", &s]), "repaired: 0\n");
    assert!(ok(&["check", &s]).starts_with("ok: 1 keys"));
}

#[test]
fn ttl_expire_and_set_ttl() {
    let d = Dir::new();
    let s = new_store(&d);
    ok(&["set", &s, "p", "v"]);
    assert_eq!(ok(&["ttl", &s, "p"]), "none\n");
    ok(&["expire", &s, "p", "100000"]);
    let ms: u64 = ok(&["ttl", &s, "p"]).trim().parse().unwrap();
    assert!(ms > 90_000 && ms <= 100_000, "{ms}");
    ok(&["expire", &s, "p", "0"]);
    assert_eq!(ok(&["ttl", &s, "p"]), "none\n");
    ok(&["set", &s, "t", "v", "--ttl", "50000"]);
    let ms: u64 = ok(&["ttl", &s, "t"]).trim().parse().unwrap();
    assert!(ms > 40_000 && ms <= 50_000, "{ms}");
    assert_eq!(code(&run(&["ttl", &s, "absent"])), 1);
    assert_eq!(code(&run(&["expire", &s, "absent", "10"])), 1);
}

#[test]
fn a_key_set_with_a_1ms_ttl_is_gone_after_it_expires() {
    let d = Dir::new();
    let s = new_store(&d);
    ok(&["set", &s, "t", "v", "--ttl", "1"]);
    std::thread::sleep(std::time::Duration::from_millis(20));
    assert_eq!(code(&run(&["get", &s, "t"])), 1);
}

#[test]
fn incr_counts_from_zero_takes_negative_deltas_and_refuses_non_integers() {
    let d = Dir::new();
    let s = new_store(&d);
    assert_eq!(ok(&["incr", &s, "c"]), "1\n");
    assert_eq!(ok(&["incr", &s, "c", "41"]), "42\n");
    assert_eq!(ok(&["incr", &s, "c", "-50"]), "-8\n");
    ok(&["set", &s, "text", "abc"]);
    assert_eq!(code(&run(&["incr", &s, "text"])), 2);
    assert_eq!(code(&run(&["incr", &s, "absent", "0"])), 1);
}

#[test]
fn shm_create_list_open_get_unlink() {
    let name = format!("maph-cli-test-{}", std::process::id());
    let path = format!("/dev/shm/{name}");
    let _ = run(&["shm", "unlink", &name]);
    ok(&["shm", "create", &name, "--slots", "64"]);
    assert_eq!(code(&run(&["shm", "create", &name])), 2, "second create");
    ok(&["set", &path, "k", "v"]);
    assert_eq!(ok(&["get", &path, "k"]), "v");
    let list = ok(&["shm", "list"]);
    assert!(list.lines().any(|l| l.starts_with(&format!("{name}: 1 keys, 64 slots"))), "{list}");
    assert!(ok(&["shm", "open", &name]).starts_with(&format!("{name}: 1 keys")));
    ok(&["shm", "open", &name, "--write"]);
    ok(&["shm", "unlink", &name]);
    assert_eq!(code(&run(&["shm", "open", &name])), 2);
    assert_eq!(code(&run(&["shm", "unlink", &name])), 2);
    assert!(!ok(&["shm", "list"]).contains(&format!("{name}:")));
    assert_eq!(code(&run(&["shm", "create", "bad/name"])), 2);
}

#[test]
fn man_pages_cover_every_subcommand_with_the_exit_status() {
    let d = Dir::new();
    let dir = d.path("man");
    ok(&["man", &dir]);
    for page in [
        "maph.1",
        "maph-load.1",
        "maph-dump.1",
        "maph-restore.1",
        "maph-copy.1",
        "maph-optimize.1",
        "maph-recover.1",
        "maph-check.1",
        "maph-ttl.1",
        "maph-expire.1",
        "maph-incr.1",
        "maph-stats.1",
        "maph-shm-create.1",
        "maph-shm-open.1",
        "maph-shm-unlink.1",
        "maph-shm-list.1",
        "maph-bench.1",
        "maph-demo.1",
    ] {
        let text = std::fs::read_to_string(format!("{dir}/{page}")).unwrap();
        assert!(text.contains(".SH \"EXIT STATUS\""), "{page}");
    }
    assert!(!std::path::Path::new(&format!("{dir}/maph-man.1")).exists());
}

#[test]
fn bench_runs_a_tiny_w1() {
    let d = Dir::new();
    let o = run(&["bench", "--workload", "w1", "--keys", "2000", "--dir", &d.path("")]);
    assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stderr));
    assert!(!o.stdout.is_empty());
}

#[test]
fn check_exits_1_and_lists_violations_on_a_damaged_slot() {
    let d = Dir::new();
    let s = d.path("s");
    ok(&["create", &s, "--slots", "16", "--slot-size", "64"]);
    ok(&["set", &s, "k", "v"]);
    // docs/FORMAT.md: header u32 slot_size at 16, u64 slots_offset at 56;
    // slot u8 state at +10 (1 = live). Give the live slot an unknown state.
    let mut f = std::fs::read(&s).unwrap();
    let u32_at = |b: &[u8], o: usize| u32::from_le_bytes(b[o..o + 4].try_into().unwrap());
    let slot_size = u32_at(&f, 16) as usize;
    let slots_off = u64::from_le_bytes(f[56..64].try_into().unwrap()) as usize;
    let live =
        (0..16).map(|i| slots_off + i * slot_size).find(|&o| f[o + 10] == 1).expect("a live slot");
    f[live + 10] = 7;
    std::fs::write(&s, &f).unwrap();
    let o = run(&["check", &s]);
    assert_eq!(code(&o), 1, "{}", String::from_utf8_lossy(&o.stderr));
    assert!(stdout(&o).contains("unknown state 7"), "{}", stdout(&o));
    assert!(String::from_utf8_lossy(&o.stderr).contains("violations"));
}

/// `key{i}\tval{i}\n` for i in 0..n.
fn rows(n: u32) -> String {
    (0..n).map(|i| format!("key{i}\tval{i}\n")).collect()
}

/// The `name: value` line of `maph stats`, parsed.
fn stat(text: &str, name: &str) -> u64 {
    let prefix = format!("{name}: ");
    text.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("no {name} in {text}"))
        .parse()
        .unwrap()
}

#[test]
fn a_growing_store_adds_levels_as_rows_arrive_and_every_key_reads_back() {
    let d = Dir::new();
    let s = d.path("g.maph");
    let out = ok(&["create", &s, "--slots", "0", "--max-bytes", "64M"]);
    assert!(out.contains("growing: 1024 slots of 128 bytes at first"), "{out}");
    assert!(out.contains("67108864 bytes reserved"), "{out}");
    let st = ok(&["stats", &s]);
    assert_eq!((stat(&st, "levels"), stat(&st, "slots")), (1, 1024), "{st}");
    assert_eq!(stat(&st, "max_bytes"), 64 << 20, "{st}");

    let n = 5000; // more than level 0's 1,024 slots
    let tsv = d.path("in.tsv");
    std::fs::write(&tsv, rows(n)).unwrap();
    let out = ok(&["load", &s, &tsv, "--no-header"]);
    assert!(out.contains(&format!("loaded: {n} rows")), "{out}");
    assert!(out.contains("levels: "), "{out}");

    let st = ok(&["stats", &s]);
    let levels = stat(&st, "levels");
    assert!(levels > 1, "{st}");
    assert!(levels <= stat(&st, "max_levels"), "{st}");
    assert_eq!(stat(&st, "keys"), u64::from(n), "{st}");
    // Level l holds 1024 << l slots.
    assert_eq!(stat(&st, "slots"), 1024 * ((1 << levels) - 1), "{st}");
    let j = ok(&["stats", "--json", &s]);
    assert!(j.contains(&format!("\"levels\":{levels},")), "{j}");
    assert!(j.contains(&format!("\"max_bytes\":{},", 64u64 << 20)), "{j}");
    let c = ok(&["check", &s]);
    assert!(c.starts_with(&format!("ok: {n} keys")) && c.contains(&format!("levels: {levels}")));

    for i in (0..n).step_by(500).chain([n - 1]) {
        assert_eq!(ok(&["get", &s, &format!("key{i}")]), format!("val{i}"));
    }
    // Every key, through the library the CLI wrote with.
    let store = maph::Store::open(&s, maph::OpenMode::ReadOnly).unwrap();
    assert_eq!(store.levels() as u64, levels);
    for i in 0..n {
        assert_eq!(
            store.get_vec(format!("key{i}").as_bytes()).unwrap(),
            format!("val{i}").as_bytes()
        );
    }
    // A fixed-size store shows one level and no limit.
    let f = new_store(&d);
    let st = ok(&["stats", &f]);
    assert_eq!((stat(&st, "levels"), stat(&st, "max_levels"), stat(&st, "max_bytes")), (1, 1, 0));
}

#[test]
fn load_create_slots_0_streams_stdin_into_a_growing_store() {
    let d = Dir::new();
    let s = d.path("g");
    let o = run_stdin(
        &["load", &s, "-", "--create", "--slots", "0", "--max-bytes", "64MiB", "--no-header"],
        Some(rows(3000).as_bytes()),
    );
    assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stderr));
    let out = stdout(&o);
    assert!(out.contains("created: ") && out.contains("(growing: 1024 slots"), "{out}");
    assert!(out.contains("loaded: 3000 rows"), "{out}");
    assert!(stat(&ok(&["stats", &s]), "levels") > 1);
    assert_eq!(ok(&["get", &s, "key2999"]), "val2999");
    // --slots N > 0: a store of N slots, without counting the rows.
    let f = d.path("f");
    let o = run_stdin(&["load", &f, "-", "--create", "--slots", "100"], Some(b"a\t1\n"));
    assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(stat(&ok(&["stats", &f]), "slots"), 100);
}

#[test]
fn a_growing_store_at_its_limit_refuses_new_rows_as_full_and_exits_1() {
    let d = Dir::new();
    let s = d.path("g");
    ok(&["create", &s, "--slots", "0", "--max-bytes", "2M"]);
    let o = run_stdin(&["load", &s, "-", "--no-header"], Some(rows(20_000).as_bytes()));
    assert_eq!(code(&o), 1, "{}", String::from_utf8_lossy(&o.stderr));
    let out = stdout(&o);
    assert!(out.contains("FULL: "), "{out}");
    assert!(String::from_utf8_lossy(&o.stderr).contains("larger --max-bytes"));
    let st = ok(&["stats", &s]);
    let keys = stat(&st, "keys");
    assert!((1024..20_000).contains(&keys), "{st}");
    assert!(out.contains(&format!("loaded: {keys} rows")), "{out}");
    assert!(ok(&["check", &s]).starts_with("ok: "));
}

#[test]
fn max_bytes_errors_are_clear_and_leave_no_file() {
    let d = Dir::new();
    let s = d.path("s");
    for (args, says) in [
        (&["--slots", "100", "--max-bytes", "1M"][..], "--max-bytes is for a growing store"),
        (&["--max-bytes", "1M"][..], "--max-bytes is for a growing store"),
        (&["--slots", "0", "--max-bytes", "4K"][..], "invalid argument: limit too small"),
        (&["--slots", "0", "--max-bytes", "12Q"][..], "is not a size"),
        (&["--slots", "0", "--max-bytes=-1"][..], "is not a size"),
        (&["--slots", "0", "--max-bytes", "99999999T"][..], "too large"),
    ] {
        let o = run(&[&["create", &s][..], args].concat());
        assert_eq!(code(&o), 2, "{args:?}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(says), "{args:?}: {err}");
        assert!(!std::path::Path::new(&s).exists(), "{args:?}");
    }
    let tsv = d.path("in.tsv");
    std::fs::write(&tsv, "a\t1\n").unwrap();
    for args in [
        &["--create", "--max-bytes", "1M"][..],
        &["--create", "--slots", "10", "--max-bytes", "1M"][..],
        &["--max-bytes", "1M"][..],
        &["--slots", "0"][..],
        &["--create", "--slots", "0", "--load-factor", "0.5"][..],
    ] {
        let o = run(&[&["load", &s, &tsv][..], args].concat());
        assert_eq!(code(&o), 2, "{args:?}");
        assert!(!std::path::Path::new(&s).exists(), "{args:?}");
    }
}

#[test]
fn shm_create_makes_a_growing_table_and_list_shows_its_levels() {
    let name = format!("maph-cli-grow-{}", std::process::id());
    let path = format!("/dev/shm/{name}");
    let _ = run(&["shm", "unlink", &name]);
    let out = ok(&["shm", "create", &name, "--slots", "0", "--max-bytes", "16M"]);
    assert!(out.contains("growing: 1 levels of at most"), "{out}");
    let o = run_stdin(&["load", &path, "-", "--no-header"], Some(rows(2000).as_bytes()));
    assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stderr));
    let list = ok(&["shm", "list"]);
    let line = list.lines().find(|l| l.starts_with(&format!("{name}:"))).expect("listed");
    assert!(line.contains("growing: 2 levels") || line.contains("growing: 3 levels"), "{line}");
    assert!(line.contains("limit 16777216 bytes"), "{line}");
    ok(&["shm", "unlink", &name]);
}

#[test]
fn man_page_of_create_documents_slots_0_and_max_bytes() {
    let d = Dir::new();
    let dir = d.path("man");
    ok(&["man", &dir]);
    for page in ["maph-create.1", "maph-shm-create.1", "maph-load.1"] {
        let text = std::fs::read_to_string(format!("{dir}/{page}")).unwrap();
        assert!(text.contains("\\-\\-max\\-bytes"), "{page}");
        assert!(text.contains("growing store"), "{page}");
    }
}
