//! The maintenance and TTL/counter commands: optimize, recover, ttl,
//! expire, incr, and `stats --json`.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use maph::{Error, OpenMode, Stats, Store};

use crate::Fail;

fn open(path: &Path, mode: OpenMode) -> Result<Store, Fail> {
    Store::open(path, mode).map_err(|e| Fail::new(path, e))
}

fn quoted(key: &[u8]) -> String {
    format!("{:?}", String::from_utf8_lossy(key))
}

/// A failure of an operation on `key`: exit 1 for "not found", else 2.
fn key_fail(path: &Path, op: &str, key: &[u8], e: Error) -> Fail {
    match e {
        Error::NotFound => Fail::new(path, format!("{}: not found", quoted(key))).code(1),
        e => Fail::new(path, format!("{op} {}: {e}", quoted(key))),
    }
}

/// `maph optimize PATH`: builds the MPHF over the keys present.
pub fn optimize(path: &Path) -> Result<ExitCode, Fail> {
    let store = open(path, OpenMode::ReadWrite)?;
    let t = Instant::now();
    let rep = store.optimize().map_err(|e| Fail::new(path, format!("optimize: {e}")))?;
    out!("generation: {}", rep.generation)?;
    out!("mphf_keys: {}", rep.keys)?;
    out!("keys_left_to_probing: {}", rep.probing)?;
    out!("bank_bytes: {}", rep.bytes)?;
    out!("seconds: {:.3} s", t.elapsed().as_secs_f64())?;
    Ok(ExitCode::SUCCESS)
}

/// `maph copy PATH DEST [--compact] [--optimize]`: a consistent copy of a
/// live store (`Store::copy_to`).
pub fn copy(path: &Path, dest: &Path, compact: bool, optimize: bool) -> Result<ExitCode, Fail> {
    use maph::store::copy::{COPY_COMPACT, COPY_OPTIMIZE};
    let store = open(path, OpenMode::ReadOnly)?;
    let flags = if compact { COPY_COMPACT } else { 0 } | if optimize { COPY_OPTIMIZE } else { 0 };
    let t = Instant::now();
    let copy = store.copy_to(dest, flags).map_err(|e| Fail::new(dest, format!("copy: {e}")))?;
    let secs = t.elapsed().as_secs_f64();
    let st = copy.stats();
    out!("copied: {} -> {}", path.display(), dest.display())?;
    out!("keys: {}", st.keys)?;
    out!("slots: {}", st.slots)?;
    out!("file_bytes: {}", st.file_bytes)?;
    out!("seconds: {secs:.3} s")?;
    Ok(ExitCode::SUCCESS)
}

/// `maph recover PATH`: repairs what dead writers left.
pub fn recover(path: &Path) -> Result<ExitCode, Fail> {
    let store = open(path, OpenMode::ReadWrite)?;
    let n = store.recover().map_err(|e| Fail::new(path, format!("recover: {e}")))?;
    out!("repaired: {n}")?;
    Ok(ExitCode::SUCCESS)
}

/// `maph ttl PATH KEY`: milliseconds left, or `none` for a key that never
/// expires.
pub fn ttl(path: &Path, key: &OsStr) -> Result<ExitCode, Fail> {
    let store = open(path, OpenMode::ReadOnly)?;
    let key = key.as_bytes();
    match store.ttl(key).map_err(|e| key_fail(path, "ttl", key, e))? {
        Some(ms) => out!("{ms}")?,
        None => out!("none")?,
    }
    Ok(ExitCode::SUCCESS)
}

/// `maph expire PATH KEY MS`: sets the time to live (0 removes it).
pub fn expire(path: &Path, key: &OsStr, ttl_ms: u64) -> Result<ExitCode, Fail> {
    let store = open(path, OpenMode::ReadWrite)?;
    let key = key.as_bytes();
    store.expire(key, ttl_ms).map_err(|e| key_fail(path, "expire", key, e))?;
    Ok(ExitCode::SUCCESS)
}

/// `maph incr PATH KEY [DELTA]`: adds DELTA to the 8-byte little-endian
/// integer value and prints the new value.
pub fn incr(path: &Path, key: &OsStr, delta: i64) -> Result<ExitCode, Fail> {
    let store = open(path, OpenMode::ReadWrite)?;
    let key = key.as_bytes();
    let v = store.incr(key, delta).map_err(|e| key_fail(path, "incr", key, e))?;
    out!("{v}")?;
    Ok(ExitCode::SUCCESS)
}

/// `maph set --ttl MS`: set with a time to live.
pub fn set_ex(path: &Path, key: &OsStr, val: &OsStr, ttl_ms: u64) -> Result<ExitCode, Fail> {
    let store = open(path, OpenMode::ReadWrite)?;
    let key = key.as_bytes();
    store.set_ex(key, val.as_bytes(), ttl_ms).map_err(|e| key_fail(path, "set", key, e))?;
    Ok(ExitCode::SUCCESS)
}

/// `maph stats --json PATH`: one JSON object with the same fields as the
/// text form (`levels`, `max_levels`, `max_bytes` included), plus
/// `mphf_in_use`.
pub fn stats_json(path: &Path) -> Result<ExitCode, Fail> {
    let store = open(path, OpenMode::ReadOnly)?;
    // Destructured so that a new field of Stats fails to compile here.
    let Stats {
        keys,
        slots,
        slot_size,
        slot_capacity,
        max_probes,
        longest_probe,
        tombstones,
        load_factor,
        file_bytes,
        generation,
        mphf_keys,
        keys_outside_mphf,
    } = store.stats();
    // load_factor is keys / slots with slots >= 1: always finite.
    out!(
        "{{\"keys\":{keys},\"slots\":{slots},\"slot_size\":{slot_size},\
         \"slot_capacity\":{slot_capacity},\"max_probes\":{max_probes},\
         \"longest_probe\":{longest_probe},\"tombstones\":{tombstones},\
         \"load_factor\":{load_factor:.6},\"file_bytes\":{file_bytes},\
         \"generation\":{generation},\"mphf_keys\":{mphf_keys},\
         \"keys_outside_mphf\":{keys_outside_mphf},\"levels\":{},\
         \"max_levels\":{},\"max_bytes\":{},\"mphf_in_use\":{}}}",
        store.levels(),
        store.geometry().max_levels(),
        store.geometry().limit_bytes(),
        store.mphf_in_use()
    )?;
    Ok(ExitCode::SUCCESS)
}
