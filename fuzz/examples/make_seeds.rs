//! Writes the seed corpora into `fuzz/seeds/<target>/` (run from `fuzz/`:
//! `cargo run --example make_seeds`). Deterministic: fixed hash seeds.
//!
//! `open` seeds are real files in the target's input format: a flags byte
//! (checksum fix-up off, zero-extension on, queue bit as named) and the file
//! with its zero tail trimmed; growing stores (a sparse file of several MiB:
//! the address space of every level they may have, then their MPHF banks
//! and heap) in the target's extent form instead (flag bit 3: only the
//! non-zero runs, `maph_fuzz::to_extents`). `ops` and `queue` seeds are
//! operation sequences in those targets' byte codes.

use std::path::Path;

use maph::queue::QueueSet;
use maph::{Options, Store};
use maph_fuzz::to_extents;

fn trimmed(mut b: Vec<u8>) -> Vec<u8> {
    while b.last() == Some(&0) {
        b.pop();
    }
    b
}

fn write(dir: &Path, name: &str, flags: Option<u8>, body: &[u8]) {
    std::fs::create_dir_all(dir).unwrap();
    let mut out = Vec::new();
    out.extend(flags);
    out.extend_from_slice(body);
    std::fs::write(dir.join(name), out).unwrap();
}

fn store_bytes(fill: impl FnOnce(&Store)) -> Vec<u8> {
    let opts = Options {
        slots: 64,
        slot_size: 64,
        max_probes: 8,
        seed: 0x5eed,
        lock_count: 16,
        heap_bytes: 16 << 10,
        ..Options::default()
    };
    trimmed(store_file(&opts, fill))
}

/// A growing store of 64-byte slots that may reserve 4 MiB (5 levels of
/// 1,024 to 16,384 slots; a 4 MiB heap, the default: the limit): a 6.3
/// MiB sparse file, whose seeds are 75–87 KB in extent form.
fn growing_opts() -> Options {
    Options {
        slots: 0,
        slot_size: 64,
        // 64: a full probe window adds a level early; with 64 the levels
        // come exactly at 768, 2,304, 5,376 slots taken.
        max_probes: 64,
        seed: 0x5eed,
        lock_count: 16,
        max_bytes: 4 << 20,
        ..Options::default()
    }
}

/// The whole file of a new store with `opts` after `fill`.
fn store_file(opts: &Options, fill: impl FnOnce(&Store)) -> Vec<u8> {
    let p = std::env::temp_dir().join(format!("maph-seed-{}", std::process::id()));
    let _ = std::fs::remove_file(&p);
    let s = Store::create(&p, opts).unwrap();
    fill(&s);
    drop(s);
    let b = std::fs::read(&p).unwrap();
    std::fs::remove_file(&p).unwrap();
    b
}

/// Inserts the `n` keys `g0`..`g<n - 1>` (4-byte values: in their slots),
/// each taking a slot from `EMPTY`.
fn grow_keys(s: &Store, n: u32) {
    for i in 0..n {
        s.set(format!("g{i}").as_bytes(), &i.to_le_bytes()).unwrap();
    }
}

/// A growing store past its second level addition (3 levels), with what
/// `with_keys` writes: heap records (one freed), a tombstone, a TTL.
fn grown(s: &Store) {
    grow_keys(s, 2400);
    with_keys(s);
    s.del(b"g7").unwrap(); // a tombstone in level 0
    assert_eq!(s.levels(), 3, "levels");
    let problems = s.check();
    assert!(problems.is_empty(), "{problems:?}");
}

fn with_keys(s: &Store) {
    for i in 0..20 {
        s.set(format!("k{i}").as_bytes(), format!("value {i}").as_bytes()).unwrap();
    }
    s.incr(b"n", 5).unwrap();
    s.set_ex(b"k3", b"expiring", 3_600_000).unwrap();
    s.del(b"k2").unwrap();
    // Records too large for a 64-byte slot: in the heap (format 3).
    s.set(b"heap-value", &[7u8; 300]).unwrap();
    s.set(&[b'L'; 90], b"long key").unwrap();
    s.set(b"freed", &[1u8; 200]).unwrap();
    s.del(b"freed").unwrap();
}

fn main() {
    let root = Path::new("seeds");
    let open = root.join("open");
    write(&open, "empty-store", Some(2), &store_bytes(|_| {}));
    write(&open, "store-with-keys", Some(2), &store_bytes(with_keys));
    write(
        &open,
        "store-optimized",
        Some(2),
        &store_bytes(|s| {
            with_keys(s);
            s.optimize().unwrap();
        }),
    );
    // Growing stores, in extent form (flags: zero-extension, extents).
    let grow_seed = |name: &str, fill: &dyn Fn(&Store)| {
        let body = to_extents(&store_file(&growing_opts(), fill), 32);
        println!("{name}: {} bytes", body.len() + 1);
        write(&open, name, Some(2 | 8), &body);
    };
    grow_seed("growing-store-3-levels", &grown);
    grow_seed("growing-store-3-levels-optimized", &|s| {
        grown(s);
        s.optimize().unwrap();
        assert!(s.mphf_in_use());
    });
    // Levels 0 and 1 taken to 3/4 (768 + 1,536 slots): the target's next
    // insert into a free slot adds level 2, whose space is partly reserved
    // ahead (`growth.rs`).
    grow_seed("growing-store-about-to-grow", &|s| {
        grow_keys(s, 2304);
        assert_eq!(s.levels(), 2, "levels");
    });
    {
        // Check that claim on a copy: one more key adds the level.
        let p = std::env::temp_dir().join(format!("maph-seed-check-{}", std::process::id()));
        let _ = std::fs::remove_file(&p);
        std::fs::write(&p, store_file(&growing_opts(), |s| grow_keys(s, 2304))).unwrap();
        let s = Store::open(&p, maph::OpenMode::ReadWrite).unwrap();
        s.add(b"fresh", b"").unwrap();
        assert_eq!(s.levels(), 3, "the next insert adds level 2");
        std::fs::remove_file(&p).unwrap();
    }

    let name = format!("maph-seed-q-{}", std::process::id());
    let q = QueueSet::create(&name, 8, 8, 3).unwrap();
    let e = q.pull(0).unwrap();
    q.push(1, e).unwrap();
    q.set_name(1, "todo").unwrap();
    let qb = std::fs::read(format!("/dev/shm/{name}")).unwrap();
    drop(q);
    QueueSet::unlink(&name).unwrap();
    write(&open, "queue-set", Some(6), &trimmed(qb));

    // ops: byte 0 picks the mode (even: max_probes 64, Full exact); then
    // opcode bytes (op % 19) with their arguments.
    let ops = root.join("ops");
    let mut fill = vec![0u8];
    for i in 0..70u8 {
        fill.extend([0, i, 1, b'x']); // set k<i> = "x": Full after 64 keys
    }
    fill.extend([5, 3, 0, 3, 2, 9, 9]); // del k3, set k3 = "" , uid k9
    write(&ops, "fill-until-full", None, &fill);
    // Growing stores (byte 0 bit 1; bit 2: the 1 MiB limit). `bulk` is
    // opcode 19: count - 1, window (x 64), value tag.
    let bulk = |out: &mut Vec<u8>, n: u8, window: u8, tag: u8| out.extend([19, n, window, tag]);
    let mut g = vec![2u8];
    g.extend([0, 1, 3, b'a', b'b', b'c']); // set k1 = "abc" (level 0)
    let heap_record = |g: &mut Vec<u8>| {
        g.extend([6, 200, 30]); // set_ex of a 20-byte key, 30-byte value: heap
        g.extend(std::iter::repeat_n(b'v', 30));
        g.push(1); // TTL 1 hour
    };
    heap_record(&mut g);
    for w in 0..10 {
        bulk(&mut g, 255, w * 4, w); // g0..g2559: 3 levels
    }
    g.extend([0, 1, 2, b'x', b'y']); // set k1 = "xy": an update in level 0
    g.extend([5, 3]); // del k3 (absent)
    g.extend([16]); // verify
    bulk(&mut g, 127, 2, 0xee); // g128..g255 again: updates in older levels
    g.extend([5, 1, 14, 15, 16]); // del k1, optimize, reopen, verify
    g.extend([17, 1, 0]); // get k1
    write(&ops, "grow-three-levels", None, &g);
    let mut g = vec![2 | 4];
    heap_record(&mut g); // the heap's reservation first: level 3 cannot fit
    for w in 0..32 {
        bulk(&mut g, 255, w * 4, w); // 8,192 keys: GrowthLimit from about 6,800
    }
    g.extend([16]);
    write(&ops, "grow-to-the-limit", None, &g);
    let mut g = vec![2 | 1];
    for w in 0..30 {
        bulk(&mut g, 255, w * 4, w); // probes 3, 3 levels: Full from about 2,700
    }
    g.extend([16, 14, 16]);
    write(&ops, "grow-until-full", None, &g);
    write(
        &ops,
        "mixed",
        None,
        &[
            1, // max_probes 3
            0, 1, 3, b'a', b'b', b'c', // set k1 = "abc"
            1, 1, 1, b'z', // add k1: Exists
            2, 2, 1, b'q', // replace k2: NotFound
            3, 1, 0, 2, b'x', b'y', // cas k1 abc -> xy
            4, 4, 1, // incr k4 +1
            4, 4, 3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, // incr overflow
            6, 5, 1, b'e', 1, // set_ex k5 1h
            8, 5, // ttl k5
            7, 5, 0, // expire k5 0
            9, 1, // uid k1
            10, 0, 0,  // get_by_uid
            14, // optimize
            17, 1, 0, // get k1
            12, 3, 1, 4, 5, 0, // mget
            13, 2, 6, 1, b'm', 200, 20, // mset with a too-large key
            15, // reopen
            11, 1, 0,  // del_by_uid
            16, // verify
        ],
    );

    // queue: 2 bytes for the set, then opcodes (op % 8).
    let queue = root.join("queue");
    write(
        &queue,
        "pull-push-audit",
        None,
        &[
            7, 2, // 8 elements, 3 queues
            0, 0, 3, // pull_many(0, 3)
            2, 1, 2, 0, 4, // push_many(1, [held, held])
            2, 1, 2, 0, 0, // push of one element twice: Conflict
            4, 1, 5, 0, 5, 7, 6, 0, 6, 1, 7, // len, locate, reclaim, audit
            0, 1, 4, 3, 2, 3, 0, 4, 8, 12, // pull from 1, push to 2
            2, 15, 1, 0, 0, // bad queue id
        ],
    );
    write(&queue, "one-element", None, &[0, 0, 0, 0, 1, 0, 0, 1, 7, 2, 0, 1, 2, 0]);
    // resp: byte 0 picks the limits (0xff: Redis's defaults; 0x05: max_bulk
    // 3, max_args 1, max_inline 0), bytes 1..5 two cut points, then the
    // client's byte stream.
    let resp = root.join("resp");
    let cuts = |a: u16, b: u16| [a.to_le_bytes(), b.to_le_bytes()].concat();
    let seeds: [(&str, u8, &[u8]); 15] = [
        ("multibulk-set", 0xff, b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nvalue\r\n"),
        ("multibulk-binary", 0xff, b"*2\r\n$3\r\nGET\r\n$6\r\na\r\n\x00b\xff\r\n"),
        ("inline-ping", 0xff, b"PING\r\n"),
        ("inline-tabs-lf", 0xff, b"SET  k\tv\nGET k\r\n"),
        (
            "pipelined",
            0xff,
            b"*1\r\n$4\r\nPING\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n*2\r\n$4\r\nINCR\r\n$1\r\nn\r\n",
        ),
        ("pipelined-mixed", 0xff, b"PING\r\n*2\r\n$4\r\nECHO\r\n$2\r\nhi\r\nDEL a b c\r\n\r\n"),
        ("partial-bulk", 0xff, b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$10\r\nabc"),
        ("partial-header", 0xff, b"*2\r\n$3\r\nGET\r\n$1"),
        ("empty-frames", 0xff, b"*0\r\n*-1\r\n\r\nPING\r\n"),
        ("bad-bulk-length", 0xff, b"*1\r\n$-1\r\n"),
        ("bad-multibulk-length", 0xff, b"*x\r\n$3\r\nGET\r\n"),
        ("no-crlf-after-bulk", 0xff, b"*1\r\n$3\r\nabcde\r\n"),
        ("expected-dollar", 0xff, b"*2\r\n$3\r\nGET\r\n:1\r\n"),
        ("over-small-limits", 0x05, b"*1\r\n$4\r\nabcd\r\n*2\r\nab\r\n"),
        ("length-line-too-long", 0xff, b"*1\r\n$00000000000000000000000000000000000001\r\na\r\n"),
    ];
    for (i, (name, limits, stream)) in seeds.iter().enumerate() {
        let n = stream.len() as u16;
        let c = cuts(n / 2 + i as u16 % 3, n / 3);
        write(&resp, name, Some(*limits), &[&c[..], stream].concat());
    }
}
