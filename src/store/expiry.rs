//! Expiry times: `CLOCK_REALTIME` milliseconds, which every process of the
//! machine agrees on (a clock step moves expiries with it). 0 means never.

/// Milliseconds since the Unix epoch (`CLOCK_REALTIME`, which every process
/// of the machine agrees on).
pub(crate) fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Whether an expiry time has passed (0: never expires).
#[inline]
pub(crate) fn expired(expiry: u64) -> bool {
    expiry != 0 && expiry <= now_ms()
}
