//! Executing one RESP command against the store.
//!
//! Every command runs to completion on the connection's task: maph's store
//! takes many readers and writers at once without a global lock, so there
//! is no command queue. Commands that Redis runs as one atomic step but
//! maph cannot (see the README, "Atomicity") are built from the store's
//! atomic operations (`add`, `replace`, `cas`, `incr`) in retry loops.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use maph::{Error, Store};
use maph_server::glob;

use crate::intval::{classify, parse_decimal, IntValue};
use crate::reply;
use crate::scan::{parse_cursor, Flow, Seen, Walk};
use crate::stats::{Global, Local};
use crate::table::{self, COMMANDS};

/// What every connection shares.
pub struct Shared {
    pub store: Arc<Store>,
    pub stats: Global,
    pub requirepass: Option<String>,
    pub next_id: AtomicU64,
    pub port: u16,
    /// Whether `FLUSHDB` may run (`--enable-flushdb`).
    pub enable_flushdb: bool,
}

/// One connection's state.
pub struct Session {
    pub id: u64,
    pub authed: bool,
    pub name: Vec<u8>,
    pub quit: bool,
    /// Whether the client chose RESP3 with `HELLO 3`.
    pub resp3: bool,
    pub local: Local,
    scratch: Vec<u8>,
}

impl Session {
    pub fn new(shared: &Shared) -> Session {
        Session {
            id: shared.next_id.fetch_add(1, Ordering::Relaxed) + 1,
            authed: shared.requirepass.is_none(),
            name: Vec::new(),
            quit: false,
            resp3: false,
            local: Local::new(COMMANDS.len()),
            scratch: vec![0u8; shared.store.slot_capacity()],
        }
    }
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

/// `Store::get` into `scratch`, grown to the value's length when the value
/// is longer (a record in the store's heap, up to what the heap holds). A
/// scratch buffer grown past 1 MiB by an earlier value is first shrunk back
/// to one slot, so one large GET does not pin its memory for the
/// connection's life.
fn get_into(st: &Store, key: &[u8], scratch: &mut Vec<u8>) -> maph::Result<usize> {
    shrink_scratch(st, scratch);
    loop {
        match st.get(key, scratch) {
            // Resized to the length needed; a concurrent overwrite with a
            // longer value asks again.
            Err(Error::BufferTooSmall(n)) => scratch.resize(n, 0),
            r => return r,
        }
    }
}

/// Shrinks a scratch buffer grown past 1 MiB back to one slot.
fn shrink_scratch(st: &Store, scratch: &mut Vec<u8>) {
    if scratch.len() > 1 << 20 {
        scratch.truncate(st.slot_capacity());
        scratch.shrink_to_fit();
    }
}

/// Replies with the Redis-worded error for a store error.
fn store_err(out: &mut Vec<u8>, store: &Store, e: &Error) {
    let msg = match e {
        Error::TooLarge(_) => format!(
            "ERR value too large: the key is over 65535 bytes, or key plus value exceed the \
             store's heap of {} bytes",
            store.heap_stats().bytes
        ),
        Error::Full => "ERR store full: no free slot within the maximum probe distance".into(),
        Error::ReadOnly => "READONLY the store is open read-only".into(),
        Error::InvalidArg(m) => format!("ERR invalid argument: {m}"),
        Error::Busy => "ERR busy: a slot stayed locked past the wait limit, retry".into(),
        Error::Overflow => "ERR increment or decrement would overflow".into(),
        Error::NotInteger => "ERR value is not an integer or out of range".into(),
        other => format!("ERR {other}"),
    };
    reply::error(out, &msg);
}

/// Whether a read error means "no such key" (absent, or a key maph cannot
/// hold: empty or longer than a slot).
fn absent(e: &Error) -> bool {
    matches!(e, Error::NotFound | Error::InvalidArg(_) | Error::TooLarge(_))
}

const NOT_INT: &str = "ERR value is not an integer or out of range";
const SYNTAX: &str = "ERR syntax error";

/// Executes `args` (name first; never empty), appending the reply to `out`.
pub fn execute(sh: &Shared, s: &mut Session, args: &[&[u8]], out: &mut Vec<u8>) {
    let Some(id) = table::lookup(args[0]) else {
        unknown(out, args);
        return;
    };
    let spec = &COMMANDS[id];
    if !table::arity_ok(spec, args.len()) {
        reply::error(out, &format!("ERR wrong number of arguments for '{}' command", spec.name));
        return;
    }
    if !s.authed && !matches!(spec.name, "auth" | "hello" | "quit") {
        reply::error(out, "NOAUTH Authentication required.");
        return;
    }
    let t = Instant::now();
    run(sh, s, id, args, out);
    s.local.record(id, t.elapsed().as_nanos() as u64);
}

fn unknown(out: &mut Vec<u8>, args: &[&[u8]]) {
    let mut m = format!(
        "ERR unknown command '{}', with args beginning with: ",
        String::from_utf8_lossy(&args[0][..args[0].len().min(128)])
    );
    for a in args[1..].iter().take(8) {
        m.push_str(&format!("'{}' ", String::from_utf8_lossy(&a[..a.len().min(128)])));
    }
    reply::error(out, &m);
}

fn run(sh: &Shared, s: &mut Session, id: usize, a: &[&[u8]], out: &mut Vec<u8>) {
    let st = &*sh.store;
    match COMMANDS[id].name {
        "ping" => match a.len() {
            1 => reply::simple(out, "PONG"),
            2 => reply::bulk(out, a[1]),
            _ => reply::error(out, "ERR wrong number of arguments for 'ping' command"),
        },
        "echo" => reply::bulk(out, a[1]),
        "quit" => {
            reply::ok(out);
            s.quit = true;
        }
        "select" => match parse_decimal(a[1]) {
            Some(0) => reply::ok(out),
            Some(_) => reply::error(out, "ERR DB index is out of range"),
            None => reply::error(out, NOT_INT),
        },
        "auth" => auth(sh, s, &a[1..], out),
        "hello" => hello(sh, s, a, out),
        "command" => command(a, s.resp3, out),
        "client" => client(s, a, out),
        "info" => {
            s.local.merge(&sh.stats);
            let text = crate::info::info(sh, a.get(1).copied());
            reply::bulk(out, text.as_bytes());
        }
        "dbsize" => reply::int(out, st.stats().keys as i64),
        "get" => match get_into(st, a[1], &mut s.scratch) {
            Ok(n) => {
                s.local.hits += 1;
                reply::bulk(out, &s.scratch[..n]);
            }
            Err(e) if absent(&e) => {
                s.local.misses += 1;
                reply::nil(out, s.resp3);
            }
            Err(e) => store_err(out, st, &e),
        },
        "set" => set(st, s, a, out),
        "setnx" => match st.add(a[1], a[2]) {
            Ok(()) => reply::int(out, 1),
            Err(Error::Exists) => reply::int(out, 0),
            Err(e) => store_err(out, st, &e),
        },
        "setex" | "psetex" => {
            let unit = if COMMANDS[id].name == "setex" { 1000 } else { 1 };
            match parse_decimal(a[2]) {
                None => reply::error(out, NOT_INT),
                Some(t) if t <= 0 || (t as u64).checked_mul(unit).is_none() => reply::error(
                    out,
                    &format!("ERR invalid expire time in '{}' command", COMMANDS[id].name),
                ),
                Some(t) => match st.set_ex(a[1], a[3], t as u64 * unit) {
                    Ok(()) => reply::ok(out),
                    Err(e) => store_err(out, st, &e),
                },
            }
        }
        "getdel" => match st.get_vec(a[1]) {
            Ok(v) => {
                // Not atomic with the read: see the README, "Atomicity".
                match st.del(a[1]) {
                    Ok(()) | Err(Error::NotFound) => reply::bulk(out, &v),
                    Err(e) => store_err(out, st, &e),
                }
            }
            Err(e) if absent(&e) => reply::nil(out, s.resp3),
            Err(e) => store_err(out, st, &e),
        },
        "mget" => {
            reply::array(out, a.len() - 1);
            for k in &a[1..] {
                match get_into(st, k, &mut s.scratch) {
                    Ok(n) => {
                        s.local.hits += 1;
                        reply::bulk(out, &s.scratch[..n]);
                    }
                    Err(_) => {
                        // Any failure reads as nil, as a missing key does.
                        s.local.misses += 1;
                        reply::nil(out, s.resp3);
                    }
                }
            }
        }
        "mset" => {
            if a.len().is_multiple_of(2) {
                reply::error(out, "ERR wrong number of arguments for 'mset' command");
                return;
            }
            let keys: Vec<&[u8]> = a[1..].iter().step_by(2).copied().collect();
            let vals: Vec<&[u8]> = a[2..].iter().step_by(2).copied().collect();
            let mut res = vec![Ok(()); keys.len()];
            st.mset(&keys, &vals, &mut res);
            match res.into_iter().find_map(|r| r.err()) {
                None => reply::ok(out),
                Some(e) => store_err(out, st, &e),
            }
        }
        "msetnx" => msetnx(st, a, out),
        "del" | "unlink" => {
            let mut n = 0;
            for k in &a[1..] {
                match st.del(k) {
                    Ok(()) => n += 1,
                    Err(e) if absent(&e) => {}
                    Err(e) => return store_err(out, st, &e),
                }
            }
            reply::int(out, n);
        }
        "exists" => {
            let n = a[1..].iter().filter(|k| get_into(st, k, &mut s.scratch).is_ok()).count();
            reply::int(out, n as i64);
        }
        "incr" => incr(st, a[1], 1, out),
        "decr" => incr(st, a[1], -1, out),
        "incrby" | "decrby" => match parse_decimal(a[2]) {
            None => reply::error(out, NOT_INT),
            Some(d) if COMMANDS[id].name == "decrby" => match d.checked_neg() {
                Some(d) => incr(st, a[1], d, out),
                None => reply::error(out, "ERR decrement would overflow"),
            },
            Some(d) => incr(st, a[1], d, out),
        },
        "expire" | "pexpire" => {
            let unit = if COMMANDS[id].name == "expire" { 1000 } else { 1 };
            expire(st, a, unit, COMMANDS[id].name, out)
        }
        "persist" => match st.ttl(a[1]) {
            Ok(Some(_)) => match st.expire(a[1], 0) {
                Ok(()) => reply::int(out, 1),
                Err(e) if absent(&e) => reply::int(out, 0),
                Err(e) => store_err(out, st, &e),
            },
            Ok(None) => reply::int(out, 0),
            Err(e) if absent(&e) => reply::int(out, 0),
            Err(e) => store_err(out, st, &e),
        },
        "ttl" | "pttl" => match st.ttl(a[1]) {
            Ok(None) => reply::int(out, -1),
            Ok(Some(ms)) if COMMANDS[id].name == "ttl" => reply::int(out, ms.div_ceil(1000) as i64),
            Ok(Some(ms)) => reply::int(out, ms as i64),
            Err(e) if absent(&e) => reply::int(out, -2),
            Err(e) => store_err(out, st, &e),
        },
        "type" => match get_into(st, a[1], &mut s.scratch) {
            Ok(_) => reply::simple(out, "string"),
            Err(_) => reply::simple(out, "none"),
        },
        "scan" => scan(st, s, a, out),
        "keys" => keys(st, s, a[1], out),
        "flushdb" => flushdb(sh, s, a, out),
        "maph.optimize" => match st.optimize() {
            Ok(r) => {
                let j = serde_json::json!({
                    "generation": r.generation, "keys": r.keys,
                    "probing": r.probing, "bytes": r.bytes,
                });
                reply::bulk(out, j.to_string().as_bytes());
            }
            Err(e) => store_err(out, st, &e),
        },
        "maph.stats" => {
            s.local.merge(&sh.stats);
            reply::bulk(out, crate::info::stats_json(sh).to_string().as_bytes());
        }
        _ => unknown(out, a),
    }
}

fn auth(sh: &Shared, s: &mut Session, a: &[&[u8]], out: &mut Vec<u8>) {
    let (user, pass) = match a {
        [p] => (&b"default"[..], *p),
        [u, p] => (*u, *p),
        _ => return reply::error(out, SYNTAX),
    };
    match &sh.requirepass {
        None => reply::error(
            out,
            "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?",
        ),
        Some(want) if user == b"default" && pass == want.as_bytes() => {
            s.authed = true;
            reply::ok(out);
        }
        Some(_) => reply::error(
            out,
            "WRONGPASS invalid username-password pair or user is disabled.",
        ),
    }
}

fn hello(sh: &Shared, s: &mut Session, a: &[&[u8]], out: &mut Vec<u8>) {
    let mut i = 1;
    let mut proto = if s.resp3 { 3 } else { 2 };
    if let Some(v) = a.get(1) {
        match parse_decimal(v) {
            Some(p @ (2 | 3)) => proto = p,
            _ => return reply::error(out, "NOPROTO unsupported protocol version"),
        }
        i = 2;
    }
    let mut setname = None;
    while i < a.len() {
        if a[i].eq_ignore_ascii_case(b"AUTH") && i + 2 < a.len() {
            let mut tmp = Vec::new();
            auth(sh, s, &a[i + 1..i + 3], &mut tmp);
            if tmp.first() == Some(&b'-') {
                out.extend_from_slice(&tmp);
                return;
            }
            i += 3;
        } else if a[i].eq_ignore_ascii_case(b"SETNAME") && i + 1 < a.len() {
            setname = Some(a[i + 1]);
            i += 2;
        } else {
            return reply::error(
                out,
                &format!("ERR Syntax error in HELLO option '{}'", String::from_utf8_lossy(a[i])),
            );
        }
    }
    if !s.authed {
        return reply::error(
            out,
            "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time",
        );
    }
    if let Some(n) = setname {
        s.name = n.to_vec();
    }
    s.resp3 = proto == 3;
    if s.resp3 {
        out.extend_from_slice(b"%7\r\n");
    } else {
        reply::array(out, 14);
    }
    for (k, v) in [("server", "redis"), ("version", "7.0.0")] {
        reply::bulk(out, k.as_bytes());
        reply::bulk(out, v.as_bytes());
    }
    reply::bulk(out, b"proto");
    reply::int(out, proto);
    reply::bulk(out, b"id");
    reply::int(out, s.id as i64);
    for (k, v) in [("mode", "standalone"), ("role", "master")] {
        reply::bulk(out, k.as_bytes());
        reply::bulk(out, v.as_bytes());
    }
    reply::bulk(out, b"modules");
    reply::array(out, 0);
}

/// One `COMMAND` entry in Redis 7's shape: name, arity, flags, first key,
/// last key, step, ACL categories, tips, key specs, subcommands (the last
/// four empty).
fn command_entry(out: &mut Vec<u8>, spec: &table::Spec) {
    reply::array(out, 10);
    reply::bulk(out, spec.name.as_bytes());
    reply::int(out, spec.arity as i64);
    reply::array(out, spec.flags.len());
    for f in spec.flags {
        reply::simple(out, f);
    }
    reply::int(out, spec.first_key as i64);
    reply::int(out, spec.last_key as i64);
    reply::int(out, spec.step as i64);
    for _ in 0..4 {
        reply::array(out, 0);
    }
}

fn command(a: &[&[u8]], resp3: bool, out: &mut Vec<u8>) {
    let sub = a.get(1).map(|s| s.to_ascii_uppercase());
    match sub.as_deref() {
        None => {
            reply::array(out, COMMANDS.len());
            for c in COMMANDS {
                command_entry(out, c);
            }
        }
        Some(b"COUNT") => reply::int(out, COMMANDS.len() as i64),
        Some(b"DOCS") if resp3 => out.extend_from_slice(b"%0\r\n"),
        Some(b"DOCS") => reply::array(out, 0),
        Some(b"INFO") => {
            reply::array(out, a.len() - 2);
            for n in &a[2..] {
                match table::lookup(n) {
                    Some(i) => command_entry(out, &COMMANDS[i]),
                    None => reply::nil(out, resp3),
                }
            }
        }
        Some(other) => reply::error(
            out,
            &format!(
                "ERR unknown subcommand '{}'. Try COMMAND HELP.",
                String::from_utf8_lossy(other)
            ),
        ),
    }
}

fn client(s: &mut Session, a: &[&[u8]], out: &mut Vec<u8>) {
    let sub = a[1].to_ascii_uppercase();
    match (&sub[..], a.len()) {
        (b"SETNAME", 3) => {
            if a[2].iter().any(|&c| c <= b' ' || c > b'~') {
                reply::error(
                    out,
                    "ERR Client names cannot contain spaces, newlines or special characters.",
                );
            } else {
                s.name = a[2].to_vec();
                reply::ok(out);
            }
        }
        (b"GETNAME", 2) => {
            if s.name.is_empty() {
                reply::nil(out, s.resp3)
            } else {
                reply::bulk(out, &s.name)
            }
        }
        (b"ID", 2) => reply::int(out, s.id as i64),
        (b"SETINFO", 4) => reply::ok(out),
        (b"SETNAME" | b"GETNAME" | b"ID" | b"SETINFO", _) => reply::error(
            out,
            &format!(
                "ERR wrong number of arguments for 'client|{}' command",
                String::from_utf8_lossy(&sub).to_lowercase()
            ),
        ),
        _ => reply::error(
            out,
            &format!(
                "ERR unknown subcommand '{}'. Try CLIENT HELP.",
                String::from_utf8_lossy(a[1])
            ),
        ),
    }
}

/// The expiry a SET asks for.
#[derive(Clone, Copy, PartialEq)]
enum Expiry {
    /// Clear any expiry (plain SET).
    Clear,
    /// Keep the key's expiry (KEEPTTL).
    Keep,
    /// Expire after this many milliseconds.
    In(u64),
}

#[derive(Clone, Copy, PartialEq)]
enum Cond {
    Always,
    Nx,
    Xx,
}

fn set(st: &Store, s: &mut Session, a: &[&[u8]], out: &mut Vec<u8>) {
    let (key, val) = (a[1], a[2]);
    let mut exp = Expiry::Clear;
    let mut exp_given = false;
    let mut cond = Cond::Always;
    let mut get = false;
    let mut i = 3;
    while i < a.len() {
        let opt = a[i].to_ascii_uppercase();
        match &opt[..] {
            b"NX" if cond == Cond::Always => cond = Cond::Nx,
            b"XX" if cond == Cond::Always => cond = Cond::Xx,
            b"GET" => get = true,
            b"KEEPTTL" if !exp_given => {
                exp = Expiry::Keep;
                exp_given = true;
            }
            b"EX" | b"PX" | b"EXAT" | b"PXAT" if !exp_given && i + 1 < a.len() => {
                let Some(t) = parse_decimal(a[i + 1]) else {
                    return reply::error(out, NOT_INT);
                };
                let ms = match &opt[..] {
                    b"EX" | b"EXAT" => t.checked_mul(1000),
                    _ => Some(t),
                };
                let bad = || "ERR invalid expire time in 'set' command";
                let Some(ms) = ms.filter(|&m| m > 0) else {
                    return reply::error(out, bad());
                };
                let rel = if opt.ends_with(b"AT") {
                    // An instant already past keeps the key for 1 ms.
                    (ms as u64).saturating_sub(now_ms()).max(1)
                } else {
                    ms as u64
                };
                exp = Expiry::In(rel);
                exp_given = true;
                i += 1;
            }
            _ => return reply::error(out, SYNTAX),
        }
        i += 1;
    }
    // The fast paths: one store call each.
    if cond == Cond::Always && !get {
        let r = match exp {
            Expiry::Clear => st.set(key, val),
            Expiry::In(ms) => st.set_ex(key, val, ms),
            Expiry::Keep => set_keepttl(st, key, val),
        };
        return match r {
            Ok(()) => reply::ok(out),
            Err(e) => store_err(out, st, &e),
        };
    }
    match set_general(st, key, val, exp, cond) {
        Ok((applied, old)) => {
            if get {
                match old {
                    Some(v) => reply::bulk(out, &v),
                    None => reply::nil(out, s.resp3),
                }
            } else if applied {
                reply::ok(out)
            } else {
                reply::nil(out, s.resp3)
            }
        }
        Err(e) => store_err(out, st, &e),
    }
    let _ = s;
}

/// SET KEEPTTL: replace (keeps the expiry) or insert (none).
fn set_keepttl(st: &Store, key: &[u8], val: &[u8]) -> maph::Result<()> {
    loop {
        match st.replace(key, val) {
            Err(Error::NotFound) => match st.add(key, val) {
                Err(Error::Exists) => continue,
                r => return r,
            },
            r => return r,
        }
    }
}

/// SET with NX / XX / GET: a compare-and-swap loop on the value, then the
/// expiry as a second step. Returns whether it wrote, and the old value.
fn set_general(
    st: &Store, key: &[u8], val: &[u8], exp: Expiry, cond: Cond,
) -> maph::Result<(bool, Option<Vec<u8>>)> {
    loop {
        let cur = match st.get_vec(key) {
            Ok(v) => Some(v),
            Err(e) if absent(&e) => None,
            Err(e) => return Err(e),
        };
        match (cond, &cur) {
            (Cond::Nx, Some(_)) | (Cond::Xx, None) => return Ok((false, cur)),
            _ => {}
        }
        let r = match &cur {
            None => st.add(key, val),
            Some(old) => st.cas(key, old, val),
        };
        match r {
            Err(Error::Exists | Error::NotFound | Error::Conflict(_)) => continue,
            Err(e) => return Err(e),
            Ok(()) => {}
        }
        match exp {
            Expiry::In(ms) => st.expire(key, ms).or_else(ignore_gone)?,
            // `cas` kept the old expiry; a plain SET clears it.
            Expiry::Clear if cur.is_some() && matches!(st.ttl(key), Ok(Some(_))) => {
                st.expire(key, 0).or_else(ignore_gone)?
            }
            _ => {}
        }
        return Ok((true, cur));
    }
}

fn ignore_gone(e: Error) -> maph::Result<()> {
    if e == Error::NotFound {
        Ok(())
    } else {
        Err(e)
    }
}

fn msetnx(st: &Store, a: &[&[u8]], out: &mut Vec<u8>) {
    if a.len().is_multiple_of(2) {
        return reply::error(out, "ERR wrong number of arguments for 'msetnx' command");
    }
    // Check all, then add each: not atomic against concurrent writers (see
    // the README, "Atomicity").
    for k in a[1..].iter().step_by(2) {
        if st.get_vec(k).is_ok() {
            return reply::int(out, 0);
        }
    }
    for kv in a[1..].chunks(2) {
        match st.add(kv[0], kv[1]) {
            Ok(()) => {}
            Err(Error::Exists) => return reply::int(out, 0),
            Err(e) => return store_err(out, st, &e),
        }
    }
    reply::int(out, 1);
}

/// INCRBY under the INCR rule (see `intval`).
fn incr(st: &Store, key: &[u8], delta: i64, out: &mut Vec<u8>) {
    let mut b = [0u8; 20];
    loop {
        let cur = match st.get_vec(key) {
            Ok(v) => v,
            Err(Error::NotFound) => match st.add(key, reply::fmt_i64(delta, &mut b)) {
                Ok(()) => return reply::int(out, delta),
                Err(Error::Exists) => continue,
                Err(e) => return store_err(out, st, &e),
            },
            Err(e) => return store_err(out, st, &e),
        };
        match classify(&cur) {
            IntValue::Decimal(n) => {
                let Some(v) = n.checked_add(delta) else {
                    return reply::error(out, "ERR increment or decrement would overflow");
                };
                match st.cas(key, &cur, reply::fmt_i64(v, &mut b)) {
                    Ok(()) => return reply::int(out, v),
                    Err(Error::NotFound | Error::Conflict(_)) => continue,
                    Err(e) => return store_err(out, st, &e),
                }
            }
            IntValue::Native(_) => match st.incr(key, delta) {
                Ok(v) => return reply::int(out, v),
                // Changed or removed meanwhile: classify again.
                Err(Error::NotInteger | Error::NotFound) => continue,
                Err(e) => return store_err(out, st, &e),
            },
            IntValue::NotInteger => return reply::error(out, NOT_INT),
        }
    }
}

fn expire(st: &Store, a: &[&[u8]], unit: i64, name: &str, out: &mut Vec<u8>) {
    let key = a[1];
    let Some(t) = parse_decimal(a[2]) else {
        return reply::error(out, NOT_INT);
    };
    let Some(ms) = t.checked_mul(unit) else {
        return reply::error(out, &format!("ERR invalid expire time in '{name}' command"));
    };
    let (mut nx, mut xx, mut gt, mut lt) = (false, false, false, false);
    for o in &a[3..] {
        match &o.to_ascii_uppercase()[..] {
            b"NX" => nx = true,
            b"XX" => xx = true,
            b"GT" => gt = true,
            b"LT" => lt = true,
            _ => {
                return reply::error(
                    out,
                    &format!("ERR Unsupported option {}", String::from_utf8_lossy(o)),
                )
            }
        }
    }
    if nx && (xx || gt || lt) {
        return reply::error(
            out,
            "ERR NX and XX, GT or LT options at the same time are not compatible",
        );
    }
    if gt && lt {
        return reply::error(out, "ERR GT and LT options at the same time are not compatible");
    }
    let cur = match st.ttl(key) {
        Ok(c) => c,
        Err(e) if absent(&e) => return reply::int(out, 0),
        Err(e) => return store_err(out, st, &e),
    };
    // No expiry counts as an infinite TTL for GT and LT, as in Redis.
    let skip = (nx && cur.is_some())
        || (xx && cur.is_none())
        || (gt && cur.is_none_or(|c| ms <= c as i64))
        || (lt && cur.is_some_and(|c| ms >= c as i64));
    if skip {
        return reply::int(out, 0);
    }
    let r = if ms <= 0 { st.del(key) } else { st.expire(key, ms as u64) };
    match r {
        Ok(()) => reply::int(out, 1),
        Err(e) if absent(&e) => reply::int(out, 0),
        Err(e) => store_err(out, st, &e),
    }
}

/// The largest `SCAN … COUNT` honoured; a larger one counts as this (COUNT
/// is a hint, as in Redis).
pub const SCAN_MAX_COUNT: u64 = 100_000;
/// A `SCAN` call, or a REST key page, also ends after the part in which its
/// reply's keys pass this many bytes (keys may be up to 64 KiB each).
pub const SCAN_MAX_BYTES: usize = 16 << 20;
/// Most keys `KEYS` replies with; it refuses a pattern that matches more.
pub const KEYS_MAX: usize = 100_000;
/// Most bytes of keys `KEYS` replies with.
pub const KEYS_MAX_BYTES: usize = 64 << 20;

/// `SCAN cursor [MATCH pattern] [COUNT count] [TYPE type]`, with Redis's
/// rules: COUNT (default 10, at most `SCAN_MAX_COUNT`) is the number of
/// keys to look at before MATCH and TYPE filter them; like Redis, a call
/// also stops after 10 × COUNT parts (empty buckets for Redis; see `scan`
/// for what a part is) so a sparse store does not make one call long. The
/// cursor is a position (see `scan`); every key present for the whole scan
/// is returned exactly once. maph holds strings only: `TYPE string` (any
/// case) filters nothing, any other type everything.
fn scan(st: &Store, s: &mut Session, a: &[&[u8]], out: &mut Vec<u8>) {
    let Some(from) = parse_cursor(a[1]) else {
        return reply::error(out, "ERR invalid cursor");
    };
    let mut count = 10u64;
    let mut pattern = None;
    let mut strings = true;
    let mut i = 2;
    while i < a.len() {
        let opt = a[i];
        if i + 1 >= a.len() {
            return reply::error(out, SYNTAX);
        }
        if opt.eq_ignore_ascii_case(b"COUNT") {
            match parse_decimal(a[i + 1]) {
                None => return reply::error(out, NOT_INT),
                Some(c) if c < 1 => return reply::error(out, SYNTAX),
                Some(c) => count = (c as u64).min(SCAN_MAX_COUNT),
            }
        } else if opt.eq_ignore_ascii_case(b"MATCH") {
            // Redis skips matching for `*`.
            pattern = (a[i + 1] != b"*").then_some(a[i + 1]);
        } else if opt.eq_ignore_ascii_case(b"TYPE") {
            strings = a[i + 1].eq_ignore_ascii_case(b"string");
        } else {
            return reply::error(out, SYNTAX);
        }
        i += 2;
    }
    let mut key = vec![0u8; st.slot_capacity()];
    let (mut body, mut n, mut looked) = (Vec::new(), 0, 0);
    let r = Walk::new(st).run(from, count * 10, &mut key, &mut s.scratch, |ev| match ev {
        Seen::Key(k) => {
            looked += 1;
            if strings && pattern.is_none_or(|p| glob::matches(p, k)) {
                reply::bulk(&mut body, k);
                n += 1;
            }
            Flow::Go
        }
        Seen::PartEnd if looked >= count || body.len() >= SCAN_MAX_BYTES => Flow::Stop,
        Seen::PartEnd => Flow::Go,
    });
    shrink_scratch(st, &mut s.scratch);
    match r {
        Ok(next) => {
            reply::array(out, 2);
            reply::bulk(out, next.to_string().as_bytes());
            reply::array(out, n);
            out.extend_from_slice(&body);
        }
        Err(e) => store_err(out, st, &e),
    }
}

/// `KEYS pattern`: one whole scan (see `scan`), on a thread that may block
/// (`block_in_place`, so the worker's other connections move on). Redis
/// has no bound on its reply; this one refuses, after the scan, a pattern
/// that matches more than `KEYS_MAX` keys or `KEYS_MAX_BYTES` of them, so
/// one command cannot take unbounded memory: SCAN has no such limit.
fn keys(st: &Store, s: &mut Session, pattern: &[u8], out: &mut Vec<u8>) {
    let all = pattern == b"*";
    let mut key = vec![0u8; st.slot_capacity()];
    let (mut body, mut n, mut over) = (Vec::new(), 0, false);
    let r = tokio::task::block_in_place(|| {
        Walk::new(st).run(0, u64::MAX, &mut key, &mut s.scratch, |ev| match ev {
            Seen::Key(k) if !over && (all || glob::matches(pattern, k)) => {
                reply::bulk(&mut body, k);
                n += 1;
                over = n > KEYS_MAX || body.len() > KEYS_MAX_BYTES;
                Flow::Go
            }
            Seen::PartEnd if over => Flow::Stop,
            _ => Flow::Go,
        })
    });
    shrink_scratch(st, &mut s.scratch);
    match r {
        Ok(_) if over => reply::error(
            out,
            &format!(
                "ERR KEYS would reply with more than {KEYS_MAX} keys or {} MiB of keys: use SCAN",
                KEYS_MAX_BYTES >> 20
            ),
        ),
        Ok(_) => {
            reply::array(out, n);
            out.extend_from_slice(&body);
        }
        Err(e) => store_err(out, st, &e),
    }
}

/// `FLUSHDB [ASYNC|SYNC]`, only with `--enable-flushdb`: a whole scan (see
/// `scan`) deleting each key it meets, on a thread that may block. Not
/// atomic: keys written while it runs may survive it (a key is deleted
/// only if the scan passes its slot after it was written), and it does not
/// stop other clients from writing. ASYNC runs as SYNC: the reply comes
/// when the scan is done.
fn flushdb(sh: &Shared, s: &mut Session, a: &[&[u8]], out: &mut Vec<u8>) {
    if !sh.enable_flushdb {
        return reply::error(
            out,
            "ERR FLUSHDB is disabled; start maph-server with --enable-flushdb",
        );
    }
    match a.get(1) {
        None => {}
        Some(m)
            if a.len() == 2
                && (m.eq_ignore_ascii_case(b"ASYNC") || m.eq_ignore_ascii_case(b"SYNC")) => {}
        Some(_) => return reply::error(out, SYNTAX),
    }
    let st = &*sh.store;
    let mut key = vec![0u8; st.slot_capacity()];
    let mut failed = None;
    let r = tokio::task::block_in_place(|| {
        Walk::new(st).run(0, u64::MAX, &mut key, &mut s.scratch, |ev| match ev {
            Seen::Key(k) if failed.is_none() => {
                match st.del(k) {
                    Ok(()) | Err(Error::NotFound) => {}
                    Err(e) => failed = Some(e),
                }
                Flow::Go
            }
            Seen::PartEnd if failed.is_some() => Flow::Stop,
            _ => Flow::Go,
        })
    });
    shrink_scratch(st, &mut s.scratch);
    match failed.map_or(r, Err) {
        Ok(_) => reply::ok(out),
        Err(e) => store_err(out, st, &e),
    }
}
