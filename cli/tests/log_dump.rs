//! `maph log-dump`: prints the lines left in a log file, in order, in the
//! stream's format, without consuming them; a missing log is an error.

use std::process::Command;

use maph::log::{Log, WhenFull};

fn maph() -> Command {
    Command::new(env!("CARGO_BIN_EXE_maph"))
}

#[test]
fn log_dump_prints_the_lines_left_in_a_log_file_in_order_and_twice() {
    let dir = std::env::temp_dir().join(format!("maph-cli-logdump-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("app.log");
    {
        let log = Log::create(path.to_str().unwrap(), 1 << 20).unwrap();
        for i in 0..50 {
            log.write(6, format!("line {i}").as_bytes(), WhenFull::Drop).unwrap();
        }
        // Consume the first 20: the dump shows only what is left.
        assert_eq!(log.drain(20, |_| true).unwrap(), 20);
    }
    for _ in 0..2 {
        let o = maph().arg("log-dump").arg(&path).output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let text = String::from_utf8(o.stdout).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 30);
        for (k, l) in lines.iter().enumerate() {
            assert!(l.ends_with(&format!(" INFO line {}", k + 20)), "{l}");
        }
        assert!(String::from_utf8_lossy(&o.stderr).contains("30 lines left"));
    }
    let o = maph().arg("log-dump").arg(dir.join("absent")).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    std::fs::remove_dir_all(&dir).unwrap();
}
