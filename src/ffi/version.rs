//! The library's version, for C: `maph_version()` and the
//! `MAPH_VERSION_MAJOR/MINOR/PATCH` macros of `include/maph.h`.
//!
//! cbindgen copies only literal constants into the header, so the three
//! numbers are written here as literals; a compile-time assertion checks
//! them against Cargo's `CARGO_PKG_VERSION_*`, so a version bump in
//! `Cargo.toml` that forgets this file does not build.

use std::ffi::c_char;

/// Major version of the maph headers: the soname is `libmaph.so.MAJOR`.
/// A program built against one major version links only that one.
pub const MAPH_VERSION_MAJOR: u32 = 0;
/// Minor version of the maph headers: a minor release adds functions or
/// fields in `reserved` space, and removes or changes nothing.
pub const MAPH_VERSION_MINOR: u32 = 1;
/// Patch version of the maph headers: fixes only.
pub const MAPH_VERSION_PATCH: u32 = 0;

/// Parses a decimal `&str` at compile time (panics, i.e. fails the build,
/// on anything else).
const fn parse_u32(s: &str) -> u32 {
    let b = s.as_bytes();
    assert!(!b.is_empty(), "empty version component");
    let mut i = 0;
    let mut n: u32 = 0;
    while i < b.len() {
        assert!(b[i].is_ascii_digit(), "version component is not decimal");
        n = n * 10 + (b[i] - b'0') as u32;
        i += 1;
    }
    n
}

const _: () = {
    assert!(MAPH_VERSION_MAJOR == parse_u32(env!("CARGO_PKG_VERSION_MAJOR")));
    assert!(MAPH_VERSION_MINOR == parse_u32(env!("CARGO_PKG_VERSION_MINOR")));
    assert!(MAPH_VERSION_PATCH == parse_u32(env!("CARGO_PKG_VERSION_PATCH")));
};

static VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), "\0");

/// The version of the library actually loaded, as a static NUL-terminated
/// string "MAJOR.MINOR.PATCH" (for example "0.1.0"). Compare it with the
/// `MAPH_VERSION_*` macros the program was compiled against. Never NULL,
/// never fails, does not allocate. Thread-safe.
#[no_mangle]
pub extern "C" fn maph_version() -> *const c_char {
    super::call_value(c"".as_ptr(), || VERSION.as_ptr().cast())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CStr;

    #[test]
    fn version_string_matches_the_numeric_constants() {
        // SAFETY: maph_version returns a pointer to a static string that
        // ends in the NUL concat! appended.
        let s = unsafe { CStr::from_ptr(maph_version()) }.to_str().unwrap();
        assert_eq!(s, format!("{MAPH_VERSION_MAJOR}.{MAPH_VERSION_MINOR}.{MAPH_VERSION_PATCH}"));
    }
}
