//! `maph log-dump NAME|PATH`: prints what is left in a log buffer
//! (issue 17) — the lines no drainer has consumed yet — in the stream's
//! text format, without consuming them. Meant for a log whose processes
//! have all died: a slot claimed but never committed is reported as a
//! torn record. A NAME with a `/` is a file; any other is `/dev/shm/NAME`.

use std::ffi::OsStr;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::process::ExitCode;

use maph::log::{format_entry, Kind, Log};

use crate::Fail;

/// Dumps the log `name` to stdout; a summary line goes to stderr.
pub fn run(name: &OsStr) -> Result<ExitCode, Fail> {
    let shown = name.to_string_lossy().into_owned();
    let log = Log::open(name.as_bytes()).map_err(|e| Fail::new(&shown, e))?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::with_capacity(1 << 16, stdout.lock());
    let mut buf = Vec::with_capacity(2048);
    let (mut lines, mut torn, mut dropped, mut corrupt) = (0u64, 0u64, 0u64, 0u64);
    let mut err = None;
    log.dump(|e| {
        match e.kind {
            Kind::Line => lines += 1,
            Kind::Torn | Kind::Stalled => torn += 1,
            Kind::Dropped => dropped += e.count,
            Kind::Corrupt => corrupt += 1,
        }
        if err.is_none() {
            buf.clear();
            format_entry(&mut buf, e);
            if let Err(x) = out.write_all(&buf) {
                err = Some(x);
            }
        }
    })
    .map_err(|e| Fail::new(&shown, e))?;
    if let Some(e) = err.or_else(|| out.flush().err()) {
        return Err(Fail::new("stdout", e));
    }
    eprintln!(
        "maph: {shown}: {lines} lines left, {torn} torn records, {dropped} dropped lines \
         not yet announced, {corrupt} damaged records"
    );
    Ok(ExitCode::SUCCESS)
}
