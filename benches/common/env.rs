//! Settings read from the environment, shared by the benchmarks (included
//! with `#[path]`, as `cli/src/measure.rs` is).

/// The number in environment variable `name` (underscores allowed as digit
/// separators), or `default` when it is unset. Panics on a value that is
/// not a number, so a mistyped setting never runs silently with the default.
pub fn env_num(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(v) => {
            v.trim().replace('_', "").parse().unwrap_or_else(|_| panic!("{name}={v}: not a number"))
        }
        Err(_) => default,
    }
}
