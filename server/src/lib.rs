//! The parts of maph-server that other crates build on: the RESP request
//! parser (`resp`), which the `resp` fuzz target
//! (`fuzz/fuzz_targets/resp.rs`) drives, and Redis's glob matcher (`glob`,
//! for `SCAN … MATCH` and `KEYS`). The server itself is the `maph-server`
//! binary (`src/main.rs`), which uses these modules from here.
//!
//! The library needs none of the server's dependencies: with
//! `default-features = false` (no `server` feature) it builds without tokio,
//! axum or clap.

pub mod glob;
pub mod resp;
