//! Generates the C header `include/maph.h` from `src/ffi/*.rs` with cbindgen.
//!
//! The header is written to `$OUT_DIR/maph.h` and, when its content changed,
//! to `include/maph.h` in the source tree (which is committed). `.ci/run`
//! fails when the committed header differs from the generated one.

use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-changed=src");
    println!("cargo:rerun-if-changed=cbindgen.toml");
    println!(
        "cargo:rustc-cdylib-link-arg=-Wl,-soname,libmaph.so.{}",
        env!("CARGO_PKG_VERSION_MAJOR")
    );
    let dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap()).join("maph.h");
    let config = cbindgen::Config::from_file(dir.join("cbindgen.toml")).expect("cbindgen.toml");
    // `src/ffi/mod.rs` and the modules it declares (cbindgen follows `mod`)
    // hold the whole C ABI.
    let builder = cbindgen::Builder::new().with_config(config).with_src(dir.join("src/ffi/mod.rs"));
    let bindings = builder.generate().expect("cbindgen could not generate include/maph.h");
    bindings.write_to_file(&out);
    let generated = std::fs::read(&out).unwrap();
    let committed = dir.join("include/maph.h");
    if std::fs::read(&committed).ok().as_deref() != Some(&generated[..]) {
        std::fs::write(&committed, &generated).expect("writing include/maph.h");
    }
}
