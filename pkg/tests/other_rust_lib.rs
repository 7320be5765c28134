//! A second Rust static library for pkg/tests/two_rust_libs.c: it brings
//! its own copy of Rust's std (and `rust_eh_personality`, `__rust_alloc`
//! ...), as any Rust library built with `crate-type = ["staticlib"]` does.
use std::ffi::c_int;

/// For n >= 0: the length of "<n>-<argc>", formatted with std. For n < 0:
/// panics and catches the panic inside this library (its own unwinder and
/// personality routine), returning -1.
#[no_mangle]
pub extern "C" fn other_len(n: c_int) -> c_int {
    if n < 0 {
        // The expected panic below need not print its message.
        std::panic::set_hook(Box::new(|_| {}));
    }
    std::panic::catch_unwind(|| {
        if n < 0 {
            panic!("negative argument");
        }
        format!("{n}-{}", std::env::args().count()).len() as c_int
    })
    .unwrap_or(-1)
}
