//! The command table: names, arity and key positions, as `COMMAND` reports
//! them (arity > 0: exactly that many arguments with the name; < 0: at
//! least `-arity`).

/// One command's description.
pub struct Spec {
    pub name: &'static str,
    pub arity: i32,
    pub flags: &'static [&'static str],
    pub first_key: i32,
    pub last_key: i32,
    pub step: i32,
}

const fn spec(
    name: &'static str, arity: i32, flags: &'static [&'static str], first_key: i32, last_key: i32,
    step: i32,
) -> Spec {
    Spec { name, arity, flags, first_key, last_key, step }
}

const R: &[&str] = &["readonly", "fast"];
const W: &[&str] = &["write", "denyoom"];
const WF: &[&str] = &["write", "fast"];
const C: &[&str] = &["fast", "no-auth"];
const A: &[&str] = &["admin"];
const RO: &[&str] = &["readonly"];
const WO: &[&str] = &["write"];

/// Every command, in a fixed order: the index is the command's id in the
/// statistics.
pub static COMMANDS: &[Spec] = &[
    spec("ping", -1, C, 0, 0, 0),
    spec("echo", 2, C, 0, 0, 0),
    spec("quit", -1, C, 0, 0, 0),
    spec("select", 2, C, 0, 0, 0),
    spec("auth", -2, C, 0, 0, 0),
    spec("hello", -1, C, 0, 0, 0),
    spec("command", -1, C, 0, 0, 0),
    spec("client", -2, C, 0, 0, 0),
    spec("info", -1, A, 0, 0, 0),
    spec("dbsize", 1, R, 0, 0, 0),
    spec("get", 2, R, 1, 1, 1),
    spec("set", -3, W, 1, 1, 1),
    spec("setnx", 3, W, 1, 1, 1),
    spec("setex", 4, W, 1, 1, 1),
    spec("psetex", 4, W, 1, 1, 1),
    spec("getdel", 2, WF, 1, 1, 1),
    spec("mget", -2, R, 1, -1, 1),
    spec("mset", -3, W, 1, -1, 2),
    spec("msetnx", -3, W, 1, -1, 2),
    spec("del", -2, WF, 1, -1, 1),
    spec("unlink", -2, WF, 1, -1, 1),
    spec("exists", -2, R, 1, -1, 1),
    spec("incr", 2, W, 1, 1, 1),
    spec("incrby", 3, W, 1, 1, 1),
    spec("decr", 2, W, 1, 1, 1),
    spec("decrby", 3, W, 1, 1, 1),
    spec("expire", -3, WF, 1, 1, 1),
    spec("pexpire", -3, WF, 1, 1, 1),
    spec("persist", 2, WF, 1, 1, 1),
    spec("ttl", 2, R, 1, 1, 1),
    spec("pttl", 2, R, 1, 1, 1),
    spec("type", 2, R, 1, 1, 1),
    spec("scan", -2, RO, 0, 0, 0),
    spec("keys", 2, RO, 0, 0, 0),
    spec("flushdb", -1, WO, 0, 0, 0),
    spec("maph.optimize", 1, A, 0, 0, 0),
    spec("maph.stats", 1, A, 0, 0, 0),
];

/// The id of the command named `name` (any case), if there is one.
pub fn lookup(name: &[u8]) -> Option<usize> {
    if name.len() > 16 {
        return None;
    }
    let mut low = [0u8; 16];
    for (d, s) in low.iter_mut().zip(name) {
        *d = s.to_ascii_lowercase();
    }
    let low = &low[..name.len()];
    COMMANDS.iter().position(|c| c.name.as_bytes() == low)
}

/// Whether `n` arguments (name included) fit the command's arity.
pub fn arity_ok(spec: &Spec, n: usize) -> bool {
    if spec.arity >= 0 {
        n == spec.arity as usize
    } else {
        n >= (-spec.arity) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_ignores_case_and_rejects_unknown_and_long_names() {
        assert_eq!(COMMANDS[lookup(b"GeT").unwrap()].name, "get");
        assert_eq!(COMMANDS[lookup(b"MAPH.STATS").unwrap()].name, "maph.stats");
        assert!(lookup(b"lpush").is_none());
        assert!(lookup(&[b'g'; 40]).is_none());
    }

    #[test]
    fn names_are_unique() {
        for (i, c) in COMMANDS.iter().enumerate() {
            assert_eq!(lookup(c.name.as_bytes()), Some(i));
        }
    }
}
