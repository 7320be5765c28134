//! REST store names, and where their files live.
//!
//! A name is 1 to 64 characters from `[A-Za-z0-9_.-]`, not `.` or `..`; its
//! file is `DIR/<name>.maph`. Nothing else from a request ever becomes part
//! of a path, so no name can reach outside `--dir`.

use std::path::{Path, PathBuf};

/// Longest store name, in bytes.
pub const MAX_NAME: usize = 64;

/// Checks a store name; the error says why it is refused.
pub fn check(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > MAX_NAME {
        return Err(format!("store name must be 1 to {MAX_NAME} characters"));
    }
    if name == "." || name == ".." {
        return Err("store name must not be '.' or '..'".into());
    }
    if !name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-')) {
        return Err("store name may contain only A-Z a-z 0-9 _ . -".into());
    }
    Ok(())
}

/// The file of the checked store `name` in `dir`.
pub fn path_of(dir: &Path, name: &str) -> PathBuf {
    debug_assert!(check(name).is_ok());
    dir.join(format!("{name}.maph"))
}

/// Decodes `%XX` escapes into bytes (a `+` stays a `+`). Errors on a `%`
/// not followed by two hex digits.
pub fn percent_decode(s: &str) -> Result<Vec<u8>, String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = b
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or("bad percent-escape in the key")?;
            out.push(hex);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    Ok(out)
}

/// Encodes `b` for a URL path segment: every byte but the unreserved ones
/// of RFC 3986 (`A-Z a-z 0-9 - . _ ~`) as `%XX` (upper-case hex), so
/// `percent_decode` gives `b` back.
pub fn percent_encode(b: &[u8]) -> String {
    let mut out = String::with_capacity(b.len() * 3);
    for &c in b {
        if c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(c));
        } else {
            out.push_str(&format!("%{c:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traversal_and_odd_names_are_refused() {
        for bad in
            ["", ".", "..", "../x", "a/b", "/etc/passwd", "a\0b", "a b", "é", &"a".repeat(65)]
        {
            assert!(check(bad).is_err(), "{bad:?}");
        }
        for good in ["a", "A-b_c.1", "...", &"z".repeat(64)] {
            assert!(check(good).is_ok(), "{good:?}");
        }
    }

    #[test]
    fn a_checked_name_stays_inside_the_dir() {
        let p = path_of(Path::new("/srv/maph"), "...");
        assert_eq!(p, Path::new("/srv/maph/....maph"));
        assert_eq!(p.parent(), Some(Path::new("/srv/maph")));
    }

    #[test]
    fn percent_escapes_decode_to_raw_bytes() {
        assert_eq!(percent_decode("a%2Fb%00%ff").unwrap(), b"a/b\0\xff");
        assert!(percent_decode("a%2").is_err());
        assert!(percent_decode("%zz").is_err());
    }

    #[test]
    fn percent_encoding_round_trips_every_byte() {
        let all: Vec<u8> = (0..=255).collect();
        assert_eq!(percent_decode(&percent_encode(&all)).unwrap(), all);
        assert_eq!(percent_encode(b"a/b \xff~"), "a%2Fb%20%FF~");
    }
}
