//! The store commands: create, get, set, del, stats, check.

use std::ffi::OsStr;
use std::io::{IsTerminal, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::process::ExitCode;

use maph::{Error, OpenMode, Options, Stats, Store};

use crate::Fail;

fn open(path: &Path, mode: OpenMode) -> Result<Store, Fail> {
    Store::open(path, mode).map_err(|e| Fail::new(path, e))
}

fn quoted(key: &[u8]) -> String {
    format!("{:?}", String::from_utf8_lossy(key))
}

pub fn create(path: &Path, opts: &Options) -> Result<ExitCode, Fail> {
    let store = Store::create(path, opts).map_err(|e| Fail::new(path, e))?;
    let st = store.stats();
    let g = store.geometry();
    if g.grows() {
        out!(
            "created: {} (growing: {} slots of {} bytes at first, up to {} levels and {} bytes \
             reserved, key + value up to {} bytes, max probes {}, {} bytes of address space)",
            path.display(),
            st.slots,
            st.slot_size,
            g.max_levels(),
            g.limit_bytes(),
            st.slot_capacity,
            st.max_probes,
            st.file_bytes
        )?;
    } else {
        out!(
            "created: {} ({} slots of {} bytes, key + value up to {} bytes, max probes {}, {} bytes)",
            path.display(),
            st.slots,
            st.slot_size,
            st.slot_capacity,
            st.max_probes,
            st.file_bytes
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

pub fn get(path: &Path, key: &OsStr) -> Result<ExitCode, Fail> {
    let store = open(path, OpenMode::ReadOnly)?;
    let key = key.as_bytes();
    let val = match store.get_vec(key) {
        Ok(v) => v,
        Err(Error::NotFound) => {
            return Err(Fail::new(path, format!("{}: not found", quoted(key))).code(1))
        }
        Err(e) => return Err(Fail::new(path, format!("get {}: {e}", quoted(key)))),
    };
    let mut out = std::io::stdout().lock();
    let nl = std::io::stdout().is_terminal();
    out.write_all(&val)
        .and_then(|()| if nl { out.write_all(b"\n") } else { Ok(()) })
        .and_then(|()| out.flush())
        .map_err(|e| Fail::new("stdout", e))?;
    Ok(ExitCode::SUCCESS)
}

pub fn set(path: &Path, key: &OsStr, val: &OsStr) -> Result<ExitCode, Fail> {
    let store = open(path, OpenMode::ReadWrite)?;
    let key = key.as_bytes();
    store
        .set(key, val.as_bytes())
        .map_err(|e| Fail::new(path, format!("set {}: {e}", quoted(key))))?;
    Ok(ExitCode::SUCCESS)
}

pub fn del(path: &Path, key: &OsStr) -> Result<ExitCode, Fail> {
    let store = open(path, OpenMode::ReadWrite)?;
    let key = key.as_bytes();
    match store.del(key) {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(Error::NotFound) => Err(Fail::new(path, format!("{}: not found", quoted(key))).code(1)),
        Err(e) => Err(Fail::new(path, format!("del {}: {e}", quoted(key)))),
    }
}

pub fn stats(path: &Path) -> Result<ExitCode, Fail> {
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
    let g = store.geometry();
    out!("keys: {keys}")?;
    out!("slots: {slots}")?;
    out!("slot_size: {slot_size}")?;
    out!("slot_capacity: {slot_capacity}")?;
    out!("max_probes: {max_probes}")?;
    out!("longest_probe: {longest_probe}")?;
    out!("tombstones: {tombstones}")?;
    out!("load_factor: {load_factor:.4}")?;
    out!("file_bytes: {file_bytes}")?;
    out!("generation: {generation}")?;
    out!("mphf_keys: {mphf_keys}")?;
    out!("keys_outside_mphf: {keys_outside_mphf}")?;
    // Growth (1 level, limit 0 for a store of fixed size).
    out!("levels: {}", store.levels())?;
    out!("max_levels: {}", g.max_levels())?;
    out!("max_bytes: {}", g.limit_bytes())?;
    Ok(ExitCode::SUCCESS)
}

pub fn check(path: &Path) -> Result<ExitCode, Fail> {
    let store = open(path, OpenMode::ReadOnly)?;
    let errs = store.check();
    if !errs.is_empty() {
        for e in &errs {
            out!("{e}")?;
        }
        return Err(Fail::new(path, format!("{} violations", errs.len())).code(1));
    }
    let st = store.stats();
    out!(
        "ok: {} keys, {} slots, load factor {:.4}, longest probe {}, {} tombstones",
        st.keys,
        st.slots,
        st.load_factor,
        st.longest_probe,
        st.tombstones
    )?;
    if store.geometry().grows() {
        out!("levels: {} of at most {}", store.levels(), store.geometry().max_levels())?;
    }
    Ok(ExitCode::SUCCESS)
}
