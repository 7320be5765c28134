//! The store commands: create, load, get, set, del, stats, check.

use std::ffi::OsStr;
use std::io::{IsTerminal, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};
use maph::{Error, OpenMode, Options, Stats, Store};

use crate::tsv::{Refused, Row, Tsv};
use crate::Fail;

fn open(path: &Path, mode: OpenMode) -> Result<Store, Fail> {
    Store::open(path, mode).map_err(|e| Fail::new(path, e))
}

fn quoted(key: &[u8]) -> String {
    format!("{:?}", String::from_utf8_lossy(key))
}

pub fn create(
    path: &Path, slots: u64, slot_size: u32, max_probes: u32, mode: u32,
) -> Result<ExitCode, Fail> {
    let opts = Options { slots, slot_size, max_probes, mode, ..Options::default() };
    let store = Store::create(path, &opts).map_err(|e| Fail::new(path, e))?;
    let st = store.stats();
    out!(
        "created: {} ({} slots of {} bytes, key + value up to {} bytes, max probes {}, {} bytes)",
        path.display(),
        st.slots,
        st.slot_size,
        st.slot_capacity,
        st.max_probes,
        st.file_bytes
    )?;
    Ok(ExitCode::SUCCESS)
}

pub struct LoadArgs<'a> {
    pub path: &'a Path,
    pub input: &'a Path,
    pub create: bool,
    pub load_factor: f64,
    pub slot_size: u32,
    pub header: bool,
}

pub fn load(a: &LoadArgs) -> Result<ExitCode, Fail> {
    let store = if a.create {
        if !(a.load_factor > 0.0 && a.load_factor <= 1.0) {
            return Err(Fail::new(
                a.path,
                format!("--load-factor {} is not in (0, 1]", a.load_factor),
            ));
        }
        let mut t = Tsv::open(a.input, a.header)?;
        let mut rows = 0u64;
        while let Some(row) = t.next_row()? {
            if let Row::Pair { .. } = row {
                rows += 1;
            }
        }
        let opts = Options { slot_size: a.slot_size, ..Options::for_keys(rows, a.load_factor) };
        let store = Store::create(a.path, &opts).map_err(|e| Fail::new(a.path, e))?;
        out!(
            "created: {} ({} slots of {} bytes for {} rows at load factor {})",
            a.path.display(),
            opts.slots,
            a.slot_size,
            rows,
            a.load_factor
        )?;
        store
    } else {
        open(a.path, OpenMode::ReadWrite)?
    };

    let mut t = Tsv::open(a.input, a.header)?;
    let bar = if std::io::stderr().is_terminal() {
        let style = ProgressStyle::with_template(
            "{bar:40} {bytes}/{total_bytes} {elapsed} (eta {eta}) {msg}",
        )
        .map_err(|e| Fail::new(a.input, e))?;
        ProgressBar::new(t.file_bytes).with_style(style)
    } else {
        ProgressBar::hidden()
    };
    let (mut loaded, mut no_tab, mut blank) = (0u64, Refused::default(), 0u64);
    let (mut too_large, mut full, mut invalid) =
        (Refused::default(), Refused::default(), Refused::default());
    let start = Instant::now();
    loop {
        let lineno = t.lineno + 1;
        let Some(row) = t.next_row()? else { break };
        match row {
            Row::Pair { key, val } => match store.set(key, val) {
                Ok(()) => loaded += 1,
                Err(Error::TooLarge(_)) => too_large.add(key),
                Err(Error::Full) => full.add(key),
                Err(Error::InvalidArg(_)) => invalid.add(key),
                Err(e) => {
                    bar.finish_and_clear();
                    return Err(Fail::new(
                        a.path,
                        format!("{}: line {lineno}: set {}: {e}", a.input.display(), quoted(key)),
                    ));
                }
            },
            Row::NoTab => no_tab.add(format!("line {lineno}").as_bytes()),
            Row::Blank => blank += 1,
        }
        if lineno % 8192 == 0 {
            bar.set_position(t.bytes_read());
        }
    }
    bar.finish_and_clear();
    let secs = start.elapsed().as_secs_f64();
    out!("loaded: {loaded} rows")?;
    out!("seconds: {secs:.3} s")?;
    out!("rate: {:.0} rows/s", loaded as f64 / secs.max(1e-9))?;
    if too_large.count > 0 {
        out!(
            "too large: {} (key + value over {} bytes; not stored)",
            too_large.describe(),
            store.slot_capacity()
        )?;
    }
    if invalid.count > 0 {
        out!("empty key: {} (not stored)", invalid.describe())?;
    }
    if no_tab.count > 0 {
        out!("no tab: {} (not rows; not stored)", no_tab.describe())?;
    }
    if blank > 0 {
        out!("blank lines: {blank} (skipped)")?;
    }
    if full.count > 0 {
        out!("FULL: {} (no free slot within the probe distance; not stored)", full.describe())?;
        return Err(Fail::new(
            a.path,
            format!(
                "store full: {} rows not stored; create a bigger store (lower --load-factor)",
                full.count
            ),
        )
        .code(1));
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
    Ok(ExitCode::SUCCESS)
}
