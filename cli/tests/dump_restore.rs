//! `maph dump` and `maph restore`: LMDB's text dump format both ways,
//! binary records, malformed input, refused rows, output written whole or
//! not at all, and the round trip through LMDB's own `mdb_load` and
//! `mdb_dump` (Debian's lmdb-utils: the LMDB tests fail without them,
//! unless MAPH_SKIP_LMDB=1).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

const MAPH: &str = env!("CARGO_BIN_EXE_maph");

/// A fresh directory under the temp dir, removed on drop.
struct Dir(PathBuf);

impl Dir {
    fn new() -> Dir {
        static N: AtomicU32 = AtomicU32::new(0);
        let d = std::env::temp_dir().join(format!(
            "maph-dump-test-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&d).unwrap();
        Dir(d)
    }
    fn path(&self, name: &str) -> String {
        self.0.join(name).to_str().unwrap().to_string()
    }
    /// The names in the directory, sorted.
    fn names(&self) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(&self.0)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
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
    run_prog(MAPH, args, stdin)
}

fn run_prog(prog: &str, args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut c = Command::new(prog)
        .args(args)
        .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{prog}: {e}"));
    if let Some(data) = stdin {
        let mut i = c.stdin.take().unwrap();
        // A child that fails early closes its stdin: not this test's error.
        let _ = i.write_all(data);
    }
    c.wait_with_output().unwrap()
}

fn code(o: &Output) -> i32 {
    o.status.code().expect("killed by a signal")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[track_caller]
fn ok(args: &[&str]) -> Output {
    let o = run(args);
    assert_eq!(code(&o), 0, "maph {args:?}: stderr {}", stderr(&o));
    o
}

#[track_caller]
fn ok_stdin(args: &[&str], stdin: &[u8]) -> Output {
    let o = run_stdin(args, Some(stdin));
    assert_eq!(code(&o), 0, "maph {args:?}: stderr {}", stderr(&o));
    o
}

type Records = Vec<(Vec<u8>, Vec<u8>)>;

/// Records with the bytes a text format can trip on: NUL, 0xFF, newline,
/// carriage return, a leading space, the format's own words, a backslash
/// (when `backslash`), an empty value, values larger than a slot (heap),
/// and `n` more with pseudo-random bytes.
fn data_set(n: u32, backslash: bool) -> Records {
    let mut recs: Records = vec![
        (b"\x00".to_vec(), b"a NUL key".to_vec()),
        (b"\xff\xff".to_vec(), b"\x00\xff\n\r\t ".to_vec()),
        (b"line\nbreak".to_vec(), b"\n".to_vec()),
        (b" leading space".to_vec(), Vec::new()),
        (b"k\x00mid\xff".to_vec(), vec![0u8; 300]),
        (b"DATA=END".to_vec(), b"HEADER=END\n".to_vec()),
        (b"big".to_vec(), (0..5000u32).map(|i| (i % 251) as u8).collect()),
    ];
    if backslash {
        recs.push((b"back\\slash".to_vec(), b"\\5c\\\\ \\".to_vec()));
    }
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = || {
        x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        (x >> 33) as u8
    };
    for i in 0..n {
        let mut key = format!("key{i:05}").into_bytes();
        key.push(next());
        let len = usize::from(next()) % 160;
        let val: Vec<u8> = (0..len).map(|_| next()).collect();
        recs.push((key, val));
    }
    if !backslash {
        for (k, v) in &mut recs {
            for b in k.iter_mut().chain(v.iter_mut()) {
                if *b == b'\\' {
                    *b = b'/';
                }
            }
        }
    }
    recs
}

/// A store at `path` holding `recs`, written through the library.
fn store_with(path: &str, recs: &Records) {
    let s = maph::Store::create(path, &maph::Options::for_keys(recs.len() as u64, 0.5)).unwrap();
    for (k, v) in recs {
        s.set(k, v).unwrap();
    }
}

/// `recs` in mdb_dump's bytevalue format, written here independently of
/// the code under test (no mapsize line: LMDB's default, 1 MiB).
fn bytevalue_dump(recs: &Records) -> Vec<u8> {
    let hex = |b: &[u8]| b.iter().map(|c| format!("{c:02x}")).collect::<String>();
    let mut s = String::from(
        "VERSION=3\nformat=bytevalue\ntype=btree\nmaxreaders=126\ndb_pagesize=4096\nHEADER=END\n",
    );
    for (k, v) in recs {
        s.push_str(&format!(" {}\n {}\n", hex(k), hex(v)));
    }
    s.push_str("DATA=END\n");
    s.into_bytes()
}

/// The header lines of a dump (up to HEADER=END).
fn header(dump: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(dump);
    let mut h: Vec<String> = Vec::new();
    for l in text.lines() {
        h.push(l.to_string());
        if l == "HEADER=END" {
            return h;
        }
    }
    panic!("no HEADER=END in {text}");
}

/// The record lines of a dump as (key line, value line) pairs, sorted:
/// the record set, whatever the order of the records.
fn record_lines(dump: &[u8]) -> Vec<(Vec<u8>, Vec<u8>)> {
    let lines: Vec<&[u8]> = dump.split(|&b| b == b'\n').collect();
    let start = lines.iter().position(|l| *l == b"HEADER=END").expect("HEADER=END") + 1;
    let end = lines.iter().position(|l| *l == b"DATA=END").expect("DATA=END");
    assert_eq!(lines[end + 1..], [b""], "DATA=END ends the dump");
    let body = &lines[start..end];
    assert!(body.len().is_multiple_of(2) && body.iter().all(|l| l.first() == Some(&b' ')));
    let mut v: Vec<_> = body.chunks(2).map(|p| (p[0].to_vec(), p[1].to_vec())).collect();
    v.sort();
    v
}

/// Checks that the store at `path` holds exactly `recs`.
#[track_caller]
fn assert_holds(path: &str, recs: &Records) {
    let s = maph::Store::open(path, maph::OpenMode::ReadOnly).unwrap();
    assert_eq!(s.stats().keys, recs.len() as u64);
    for (k, v) in recs {
        assert_eq!(&s.get_vec(k).unwrap(), v, "key {k:?}");
    }
}

const BYTEVALUE: &str = "VERSION=3\nformat=bytevalue\ntype=btree\nHEADER=END\n";

#[test]
fn binary_keys_and_values_survive_dump_restore_dump_in_both_formats() {
    let d = Dir::new();
    let recs = data_set(500, true);
    let s = d.path("s");
    store_with(&s, &recs);
    for (flag, name) in [(&[][..], "bytevalue"), (&["-p"][..], "print")] {
        let dump = |args: &[&str]| ok(&[&["dump"][..], args, flag].concat());
        let d1 = d.path(&format!("d1.{name}"));
        let o = dump(&[&s, "-o", &d1]);
        assert!(stdout(&o).contains(&format!("dumped: {} records", recs.len())), "{}", stdout(&o));
        let dump1 = std::fs::read(&d1).unwrap();
        let h = header(&dump1);
        assert_eq!(h[..3], ["VERSION=3", &format!("format={name}"), "type=btree"]);
        assert!(h[3].starts_with("mapsize="), "{h:?}");
        assert_eq!(h[4..], ["maxreaders=126", "db_pagesize=4096", "HEADER=END"]);
        // To stdout: the same bytes.
        assert_eq!(dump(&[&s]).stdout, dump1);

        // Restore from the file (store sized for it), and from stdin
        // (growing store); each dumps back to the same record set.
        let s2 = d.path(&format!("s2.{name}"));
        let o = ok(&["restore", &s2, &d1, "--create"]);
        assert!(stdout(&o).contains(&format!("restored: {} rows", recs.len())), "{}", stdout(&o));
        assert_holds(&s2, &recs);
        let s3 = d.path(&format!("s3.{name}"));
        let o = ok_stdin(&["restore", &s3, "--create"], &dump1);
        assert!(stdout(&o).contains("(growing: "), "{}", stdout(&o));
        assert_holds(&s3, &recs);
        for again in [&s2, &s3] {
            let dump2 = dump(&[again]).stdout;
            assert_eq!(record_lines(&dump2), record_lines(&dump1), "{name}");
            assert_eq!(header(&dump2)[..3], h[..3]);
        }
    }
}

#[test]
fn both_formats_parse_with_either_hex_case_and_other_header_keys_ignored() {
    let d = Dir::new();
    let bytevalue = "VERSION=3\nformat=bytevalue\ndatabase=sub\ntype=btree\nmapsize=99999\n\
                     maxreaders=7\nduplicates=1\ndb_pagesize=4096\nnew_keyword=x\nHEADER=END\n \
                     00FF0a\n 5C\n 61\n \nDATA=END\n";
    let print = "VERSION=3\nformat=print\ntype=btree\nHEADER=END\n \\00\\FF\\0a\n \\\\\n a\n \n\
                 DATA=END\n";
    for (name, text) in [("bytevalue", bytevalue), ("print", print)] {
        let s = d.path(name);
        let o = ok_stdin(&["restore", &s, "-", "--create"], text.as_bytes());
        assert!(stdout(&o).contains("restored: 2 rows"), "{name}: {}", stdout(&o));
        assert_holds(&s, &vec![(b"\x00\xff\n".to_vec(), b"\\".to_vec()), (b"a".to_vec(), vec![])]);
    }
}

#[test]
fn bad_version_format_or_type_exits_2_naming_the_line_and_creates_no_store() {
    let d = Dir::new();
    for (text, says) in [
        (
            "VERSION=2\nformat=bytevalue\ntype=btree\nHEADER=END\nDATA=END\n",
            "line 1: unsupported VERSION \"2\"",
        ),
        (
            "VERSION=3\nformat=hex\ntype=btree\nHEADER=END\nDATA=END\n",
            "line 2: unsupported format \"hex\"",
        ),
        (
            "VERSION=3\nformat=print\ntype=hash\nHEADER=END\nDATA=END\n",
            "line 3: unsupported type \"hash\"",
        ),
        ("VERSION=3\nformat=print\ntype=btree\nno equals sign\nHEADER=END\n", "line 4: "),
        ("key\tvalue\n", "line 1: "),
        ("", "line 1: empty input before HEADER=END"),
    ] {
        let input = d.path("in.txt");
        std::fs::write(&input, text).unwrap();
        let s = d.path("s");
        for o in [
            run(&["restore", &s, &input, "--create"]),
            run_stdin(&["restore", &s, "-", "--create"], Some(text.as_bytes())),
        ] {
            assert_eq!(code(&o), 2, "{text:?}: {}", stderr(&o));
            assert!(stderr(&o).contains(says), "{text:?}: {}", stderr(&o));
            assert!(!Path::new(&s).exists(), "{text:?}: a store was created");
        }
    }
}

#[test]
fn truncated_dump_exits_2_saying_which_line_and_how_many_rows_were_stored() {
    let d = Dir::new();
    let full = format!("{BYTEVALUE} 61\n 31\n 62\n 32\n 63\n 33\nDATA=END\n");
    let cut_at = |marker: &str| full[..full.find(marker).unwrap()].to_string();
    for (text, line, rows) in [
        (cut_at("DATA=END"), "line 11: end of input before DATA=END", 3),
        (cut_at(" 33\n"), "line 10: end of input after a key", 2),
        (cut_at("3\nDATA"), "line 10: end of input inside a value line", 2),
    ] {
        // From stdin into a growing store: the rows before the cut stay.
        let s = d.path("s");
        let o = run_stdin(&["restore", &s, "--create"], Some(text.as_bytes()));
        assert_eq!(code(&o), 2, "{}", stderr(&o));
        let err = stderr(&o);
        assert!(err.contains(line), "{err}");
        assert!(err.contains(&format!("; {rows} rows were stored in")), "{err}");
        let st = maph::Store::open(&s, maph::OpenMode::ReadOnly).unwrap().stats();
        assert_eq!(st.keys, rows);
        std::fs::remove_file(&s).unwrap();
        // From a file with --create: found while counting, nothing created.
        let input = d.path("in.txt");
        std::fs::write(&input, &text).unwrap();
        let o = run(&["restore", &s, &input, "--create"]);
        assert_eq!(code(&o), 2);
        assert!(stderr(&o).contains(line), "{}", stderr(&o));
        assert!(!Path::new(&s).exists());
    }
    // A bad escape or hex digit names its line too.
    let s = d.path("s");
    ok(&["create", &s, "--slots", "100"]);
    let o =
        run_stdin(&["restore", &s], Some(format!("{BYTEVALUE} 61\n 3x\nDATA=END\n").as_bytes()));
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("line 6: 'x' in a bytevalue value line"), "{}", stderr(&o));
    let print = "VERSION=3\nformat=print\ntype=btree\nHEADER=END\n a\\q\n b\nDATA=END\n";
    let o = run_stdin(&["restore", &s], Some(print.as_bytes()));
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("line 5: 'q' after a backslash"), "{}", stderr(&o));
}

#[test]
fn a_line_longer_than_the_largest_key_is_an_error_not_an_allocation() {
    let d = Dir::new();
    let s = d.path("s");
    ok(&["create", &s, "--slots", "100"]);
    let longest = format!("{BYTEVALUE} {}\n 00\nDATA=END\n", "61".repeat(65_535));
    let o = run_stdin(&["restore", &s, "-"], Some(longest.as_bytes()));
    // 65,535 bytes is a key maph takes (into the heap, if it fits there).
    assert_ne!(code(&o), 2, "{}", stderr(&o));
    let over = format!("{BYTEVALUE} {}\n 00\nDATA=END\n", "61".repeat(65_536));
    let o = run_stdin(&["restore", &s, "-"], Some(over.as_bytes()));
    assert_eq!(code(&o), 2);
    assert!(
        stderr(&o).contains("line 5: key longer than 65535 bytes, the most maph stores"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn rows_the_store_refuses_are_counted_reported_and_exit_1_and_the_rest_stored() {
    let d = Dir::new();
    let s = d.path("s");
    ok(&["create", &s, "--slots", "4", "--slot-size", "64"]);
    let big = "00".repeat(70_000); // larger than the store's 64 KiB heap
    let mut text = format!("{BYTEVALUE} 61\n 31\n \n 656d707479\n 626967\n {big}\n");
    for i in 0..10 {
        text.push_str(&format!(" 6b{i:02x}\n 76\n"));
    }
    text.push_str("DATA=END\n");
    let o = run_stdin(&["restore", &s], Some(text.as_bytes()));
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("too large: 1 rows"), "{out}");
    assert!(out.contains("empty key: 1 rows"), "{out}");
    assert!(out.contains("FULL: "), "{out}");
    let stored: u64 = out
        .lines()
        .find_map(|l| l.strip_prefix("restored: "))
        .and_then(|l| l.strip_suffix(" rows"))
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=4).contains(&stored), "{out}");
    assert!(
        stderr(&o).contains(&format!("{} rows of stdin not stored", 13 - stored)),
        "{}",
        stderr(&o)
    );
    let st = maph::Store::open(&s, maph::OpenMode::ReadOnly).unwrap();
    assert_eq!(st.get_vec(b"a").unwrap(), b"1");
}

#[test]
fn dump_to_a_file_is_written_whole_or_not_at_all() {
    let d = Dir::new();
    let s = d.path("s");
    let recs = data_set(50, true);
    store_with(&s, &recs);
    // A store that cannot be opened: no output file, no temporary file.
    let out = d.path("out.txt");
    let o = run(&["dump", &d.path("missing"), "-o", &out]);
    assert_eq!(code(&o), 2);
    assert_eq!(d.names(), ["s"]);
    // A directory that does not exist.
    let o = run(&["dump", &s, "-o", &d.path("no/such/dir/out.txt")]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("create temporary file"), "{}", stderr(&o));
    // Success replaces an older file and leaves no temporary file.
    std::fs::write(&out, "old").unwrap();
    ok(&["dump", &s, "-o", &out]);
    assert_eq!(d.names(), ["out.txt", "s"]);
    let text = std::fs::read(&out).unwrap();
    assert!(text.starts_with(b"VERSION=3\n") && text.ends_with(b"\nDATA=END\n"));
    assert_eq!(record_lines(&text).len(), recs.len());
}

#[test]
fn dump_skips_a_damaged_record_reports_it_and_exits_1() {
    let d = Dir::new();
    let s = d.path("s");
    ok(&["create", &s, "--slots", "16", "--slot-size", "64"]);
    let store = maph::Store::open(&s, maph::OpenMode::ReadWrite).unwrap();
    store.set(b"good", b"1").unwrap();
    store.set(b"bad", b"2").unwrap();
    drop(store);
    // docs/FORMAT.md: header u32 slot_size at 16, u64 slots_offset at 56;
    // slot u16 key_len at +8, u32 val_len at +12, key from +16. A value
    // length past 1 GiB makes the slot's record out of range.
    let mut f = std::fs::read(&s).unwrap();
    let slot_size = u32::from_le_bytes(f[16..20].try_into().unwrap()) as usize;
    let slots_off = u64::from_le_bytes(f[56..64].try_into().unwrap()) as usize;
    let bad = (0..16)
        .map(|i| slots_off + i * slot_size)
        .find(|&o| f[o + 8] == 3 && &f[o + 16..o + 19] == b"bad")
        .expect("the slot of \"bad\"");
    f[bad + 12..bad + 16].copy_from_slice(&u32::MAX.to_le_bytes());
    std::fs::write(&s, &f).unwrap();
    let out = d.path("out.txt");
    let o = run(&["dump", &s, "-o", &out]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(stderr(&o).contains("1 damaged records skipped"), "{}", stderr(&o));
    assert_eq!(
        record_lines(&std::fs::read(&out).unwrap()),
        [(b" 676f6f64".to_vec(), b" 31".to_vec())]
    );
}

/// Whether LMDB's `mdb_dump` and `mdb_load` are on PATH, as (major, minor,
/// patch) of their version. Missing, the test fails with what to install,
/// unless MAPH_SKIP_LMDB=1 (then the caller skips, saying so).
fn lmdb_tools() -> Option<(u32, u32, u32)> {
    let version = |tool: &str| {
        let o = Command::new(tool).arg("-V").output().ok().filter(|o| o.status.success())?;
        // "LMDB 0.9.24: (July 24, 2019)"
        let text = String::from_utf8_lossy(&o.stdout).into_owned();
        let v = text.split_whitespace().nth(1)?.trim_end_matches(':').to_string();
        let mut n = v.split('.').map(|p| p.parse::<u32>().ok());
        Some((n.next()??, n.next()??, n.next()??))
    };
    match (version("mdb_dump"), version("mdb_load")) {
        (Some(v), Some(_)) => Some(v),
        _ if std::env::var("MAPH_SKIP_LMDB").as_deref() == Ok("1") => {
            eprintln!("SKIPPED: mdb_dump/mdb_load not on PATH and MAPH_SKIP_LMDB=1");
            None
        }
        _ => panic!(
            "LMDB's mdb_dump and mdb_load are not on PATH: install Debian's lmdb-utils \
             (apt-get install lmdb-utils; .ci/run does), or set MAPH_SKIP_LMDB=1 to skip the \
             LMDB round trips"
        ),
    }
}

/// Runs an LMDB tool, which must succeed; its stdout.
#[track_caller]
fn lmdb(tool: &str, args: &[&str]) -> Vec<u8> {
    let o = run_prog(tool, args, None);
    assert!(o.status.success(), "{tool} {args:?}: {}", stderr(&o));
    o.stdout
}

#[test]
fn lmdb_dumps_before_and_after_a_trip_through_maph_are_identical() {
    let Some(version) = lmdb_tools() else { return };
    let d = Dir::new();
    // mdb_dump -p before LMDB 0.9.25 (Debian 12 has 0.9.24) does not
    // double a backslash, and its mdb_load decodes `\\` wrongly (LMDB's
    // ITS#9068): the print trip leaves backslashes out for those tools.
    let fixed_backslash = version >= (0, 9, 25);
    for (print, name) in [(false, "bytevalue"), (true, "print")] {
        let recs = data_set(300, !print || fixed_backslash);
        let input = d.path(&format!("in.{name}"));
        std::fs::write(&input, bytevalue_dump(&recs)).unwrap();
        let env1 = d.path(&format!("env1.{name}"));
        lmdb("mdb_load", &["-n", "-f", &input, &env1]);
        let flag: &[&str] = if print { &["-p"] } else { &[] };
        let dump1 = lmdb("mdb_dump", &[flag, &["-n", &env1]].concat());

        let s = d.path(&format!("s.{name}"));
        ok_stdin(&["restore", &s, "-", "--create"], &dump1);
        assert_holds(&s, &recs);
        let maph_dump = d.path(&format!("maph.{name}"));
        ok(&[&["dump", &s, "-o", &maph_dump][..], flag].concat());
        let env2 = d.path(&format!("env2.{name}"));
        lmdb("mdb_load", &["-n", "-f", &maph_dump, &env2]);
        let dump2 = lmdb("mdb_dump", &[flag, &["-n", &env2]].concat());
        assert!(
            dump1 == dump2,
            "{name}: the LMDB dumps differ:\n{}\n---\n{}",
            String::from_utf8_lossy(&dump1),
            String::from_utf8_lossy(&dump2)
        );
        assert_eq!(record_lines(&dump1).len(), recs.len());
    }
}

#[test]
fn mdb_load_takes_a_large_maph_dump_within_the_mapsize_it_names() {
    let Some(_) = lmdb_tools() else { return };
    let d = Dir::new();
    // Values larger than LMDB's pages (overflow pages) and many small
    // records: both must fit the map that `mapsize=` makes mdb_load open.
    let mut recs: Records = (0..1500u32)
        .map(|i| (format!("large{i}").into_bytes(), vec![(i % 256) as u8; 3000 + i as usize]))
        .collect();
    recs.extend(
        (0..30_000u32).map(|i| (format!("small{i}").into_bytes(), i.to_le_bytes().to_vec())),
    );
    let s = d.path("s");
    ok(&["create", &s, "--slots", "50000", "--slot-size", "256"]);
    let store = maph::Store::open(&s, maph::OpenMode::ReadWrite).unwrap();
    for (k, v) in &recs {
        store.set(k, v).unwrap();
    }
    drop(store);
    let dump = d.path("dump.txt");
    ok(&["dump", &s, "-o", &dump]);
    let mapsize: u64 = header(&std::fs::read(&dump).unwrap())[3]
        .strip_prefix("mapsize=")
        .unwrap()
        .parse()
        .unwrap();
    let env = d.path("env");
    lmdb("mdb_load", &["-n", "-f", &dump, &env]);
    // The environment's file stays within the map it was given.
    assert!(std::fs::metadata(&env).unwrap().len() <= mapsize);
    let back = lmdb("mdb_dump", &["-n", &env]);
    let s2 = d.path("s2");
    ok_stdin(&["restore", &s2, "--create"], &back);
    assert_holds(&s2, &recs);
}

#[test]
fn restore_create_from_a_file_sizes_the_heap_for_records_larger_than_a_slot() {
    let d = Dir::new();
    // 4.5 MB of records too large for a 128-byte slot: ten times the heap
    // a store sized for 1,500 keys gets by default.
    let recs: Records = (0..1500u32)
        .map(|i| (format!("large{i}").into_bytes(), vec![(i % 256) as u8; 2000 + i as usize]))
        .collect();
    let input = d.path("in.txt");
    std::fs::write(&input, bytevalue_dump(&recs)).unwrap();
    let s = d.path("s");
    let o = ok(&["restore", &s, &input, "--create"]);
    assert!(stdout(&o).contains("a heap of "), "{}", stdout(&o));
    assert_holds(&s, &recs);
    // A store with the default heap takes some, refuses the rest as full.
    let small = d.path("small");
    ok(&["create", &small, "--slots", "2000"]);
    let o = run(&["restore", &small, &input]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(stdout(&o).contains("the heap has no free extent"), "{}", stdout(&o));
    assert!(stderr(&o).contains("rows of"), "{}", stderr(&o));
}
