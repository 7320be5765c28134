//! `maph man DIR` (hidden): writes the man pages, generated with
//! clap_mangen from the same clap definitions that parse the command line:
//! `maph.1` and one `maph-SUBCOMMAND.1` per subcommand (`maph-shm-list.1`
//! for nested ones), each ending in an EXIT STATUS section made from
//! [`crate::EXIT_STATUS`]. `make install` runs it.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use crate::Fail;

/// `text` as roff body text: backslashes doubled, hyphens as `\-`, and a
/// line never starting with `.` or `'` (a control line).
fn roff_escape(text: &str) -> String {
    text.lines()
        .map(|l| {
            let l = l.replace('\\', "\\\\").replace('-', "\\-");
            if l.starts_with('.') || l.starts_with('\'') {
                format!("\\&{l}")
            } else {
                l
            }
        })
        .collect::<Vec<_>>()
        .join("\n.br\n")
}

fn write_page(cmd: clap::Command, dir: &Path, top: bool) -> std::io::Result<()> {
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()).cloned() {
        write_page(sub, dir, false)?;
    }
    // The top page's after_help *is* the exit status: render it once, as
    // its own section, not as clap_mangen's generic one.
    let cmd = if top { cmd.after_help(None::<&str>) } else { cmd };
    let man = clap_mangen::Man::new(cmd);
    let mut page = Vec::new();
    man.render(&mut page)?;
    writeln!(page, ".SH \"EXIT STATUS\"\n{}", roff_escape(crate::EXIT_STATUS))?;
    std::fs::write(dir.join(man.get_filename()), page)
}

pub fn generate(cmd: clap::Command, dir: &Path) -> Result<ExitCode, Fail> {
    std::fs::create_dir_all(dir).map_err(|e| Fail::new(dir, e))?;
    let mut cmd = cmd.disable_help_subcommand(true);
    cmd.build();
    write_page(cmd, dir, true).map_err(|e| Fail::new(dir, e))?;
    Ok(ExitCode::SUCCESS)
}
