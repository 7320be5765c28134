//! Writes the seed corpora into `fuzz/seeds/<target>/` (run from `fuzz/`:
//! `cargo run --example make_seeds`). Deterministic: fixed hash seeds.
//!
//! `open` seeds are real files in the target's input format: a flags byte
//! (checksum fix-up off, zero-extension on, queue bit as named) and the file
//! with its zero tail trimmed. `ops` and `queue` seeds are operation
//! sequences in those targets' byte codes.

use std::path::Path;

use maph::queue::QueueSet;
use maph::{Options, Store};

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
    let p = std::env::temp_dir().join(format!("maph-seed-{}", std::process::id()));
    let _ = std::fs::remove_file(&p);
    let opts = Options {
        slots: 64,
        slot_size: 64,
        max_probes: 8,
        seed: 0x5eed,
        lock_count: 16,
        heap_bytes: 16 << 10,
        ..Options::default()
    };
    let s = Store::create(&p, &opts).unwrap();
    fill(&s);
    drop(s);
    let b = std::fs::read(&p).unwrap();
    std::fs::remove_file(&p).unwrap();
    trimmed(b)
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
