//! The parts of maph-server that other crates build on: today only the
//! RESP request parser (`resp`), which the `resp` fuzz target
//! (`fuzz/fuzz_targets/resp.rs`) drives. The server itself is the
//! `maph-server` binary (`src/main.rs`), which uses this module from here.
//!
//! The library needs none of the server's dependencies: with
//! `default-features = false` (no `server` feature) it builds without tokio,
//! axum or clap.

pub mod resp;
