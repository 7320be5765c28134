//! `maph shm create|open|unlink|list`: tables in POSIX shared memory
//! (`/dev/shm/NAME`). Every other command works on such a table through
//! its path, `/dev/shm/NAME`.

use std::io::Read;
use std::path::Path;
use std::process::ExitCode;

use maph::{OpenMode, Options, Store};

use crate::Fail;

const SHM_DIR: &str = "/dev/shm";
/// The first 8 bytes of every store (docs/FORMAT.md, offset 0).
const MAGIC: [u8; 8] = *b"MAPHSTOR";

pub fn shm_path(name: &str) -> String {
    format!("{SHM_DIR}/{name}")
}

/// One line of counters; a growing table adds its levels and limit.
fn summary(name: &str, store: &Store) -> Result<(), Fail> {
    let st = store.stats();
    let g = store.geometry();
    let growth = if g.grows() {
        format!(
            ", growing: {} levels of at most {}, limit {} bytes",
            store.levels(),
            g.max_levels(),
            g.limit_bytes()
        )
    } else {
        String::new()
    };
    out!(
        "{name}: {} keys, {} slots of {} bytes, {} bytes, generation {}{growth}",
        st.keys,
        st.slots,
        st.slot_size,
        st.file_bytes,
        st.generation
    )
}

/// `maph shm create NAME`: a new table (fails if the name exists).
pub fn create(name: &str, opts: &Options) -> Result<ExitCode, Fail> {
    let store =
        Store::shm_create(name.as_bytes(), opts).map_err(|e| Fail::new(shm_path(name), e))?;
    summary(name, &store)?;
    Ok(ExitCode::SUCCESS)
}

/// `maph shm open NAME`: opens the table (validating its header) and
/// prints its counters.
pub fn open(name: &str, write: bool) -> Result<ExitCode, Fail> {
    let mode = if write { OpenMode::ReadWrite } else { OpenMode::ReadOnly };
    let store = Store::shm_open(name.as_bytes(), mode).map_err(|e| Fail::new(shm_path(name), e))?;
    summary(name, &store)?;
    Ok(ExitCode::SUCCESS)
}

/// `maph shm unlink NAME`: removes the name.
pub fn unlink(name: &str) -> Result<ExitCode, Fail> {
    Store::shm_unlink(name.as_bytes()).map_err(|e| Fail::new(shm_path(name), e))?;
    Ok(ExitCode::SUCCESS)
}

/// True when the file starts with the store magic.
fn is_store(path: &Path) -> bool {
    let mut magic = [0u8; 8];
    std::fs::File::open(path).and_then(|mut f| f.read_exact(&mut magic)).is_ok() && magic == MAGIC
}

/// `maph shm list`: every maph table in /dev/shm, one line each. A table
/// that starts with the magic but does not open is listed with its error
/// and makes the command exit 2 after the listing.
pub fn list() -> Result<ExitCode, Fail> {
    let dir = std::fs::read_dir(SHM_DIR).map_err(|e| Fail::new(SHM_DIR, e))?;
    let mut names: Vec<String> = Vec::new();
    for e in dir {
        let e = e.map_err(|e| Fail::new(SHM_DIR, e))?;
        if e.file_type().is_ok_and(|t| t.is_file()) && is_store(&e.path()) {
            names.push(e.file_name().to_string_lossy().into_owned());
        }
    }
    names.sort();
    let mut bad = 0;
    for n in &names {
        match Store::shm_open(n.as_bytes(), OpenMode::ReadOnly) {
            Ok(s) => summary(n, &s)?,
            Err(e) => {
                out!("{n}: cannot open: {e}")?;
                bad += 1;
            }
        }
    }
    if bad > 0 {
        return Err(Fail::new(SHM_DIR, format!("{bad} tables could not be opened")));
    }
    Ok(ExitCode::SUCCESS)
}
