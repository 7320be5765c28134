//! `INFO` text and `MAPH.STATS` JSON.

use std::fmt::Write;
use std::sync::atomic::Ordering;

use crate::commands::Shared;
use crate::table::COMMANDS;

/// The `INFO [section]` text (sections: server, clients, stats,
/// commandstats, latencystats, keyspace, maph; `all`/`everything`/none: all).
pub fn info(sh: &Shared, section: Option<&[u8]>) -> String {
    let want = |name: &str| match section {
        None => true,
        Some(s) => {
            s.eq_ignore_ascii_case(name.as_bytes())
                || s.eq_ignore_ascii_case(b"all")
                || s.eq_ignore_ascii_case(b"everything")
                || s.eq_ignore_ascii_case(b"default")
        }
    };
    let g = &sh.stats;
    let mut t = String::new();
    if want("server") {
        let _ = write!(
            t,
            "# Server\r\nredis_version:7.0.0\r\nmaph_server_version:{}\r\nredis_mode:standalone\r\nprocess_id:{}\r\ntcp_port:{}\r\nuptime_in_seconds:{}\r\n\r\n",
            env!("CARGO_PKG_VERSION"),
            std::process::id(),
            sh.port,
            g.started.elapsed().as_secs()
        );
    }
    if want("clients") {
        let _ = write!(
            t,
            "# Clients\r\nconnected_clients:{}\r\n\r\n",
            g.connected.load(Ordering::Relaxed)
        );
    }
    if want("stats") {
        let total: u64 = (0..COMMANDS.len()).filter_map(|i| g.figures(i)).map(|f| f.calls).sum();
        let _ = write!(
            t,
            "# Stats\r\ntotal_connections_received:{}\r\ntotal_commands_processed:{}\r\nrejected_connections:{}\r\nkeyspace_hits:{}\r\nkeyspace_misses:{}\r\n\r\n",
            g.total_connections.load(Ordering::Relaxed),
            total,
            g.rejected_connections.load(Ordering::Relaxed),
            g.hits.load(Ordering::Relaxed),
            g.misses.load(Ordering::Relaxed)
        );
    }
    if want("commandstats") {
        t.push_str("# Commandstats\r\n");
        for (i, c) in COMMANDS.iter().enumerate() {
            if let Some(f) = g.figures(i) {
                let _ = write!(
                    t,
                    "cmdstat_{}:calls={},usec={:.0},usec_per_call={:.2}\r\n",
                    c.name,
                    f.calls,
                    f.usec,
                    f.usec / f.calls as f64
                );
            }
        }
        t.push_str("\r\n");
    }
    if want("latencystats") {
        t.push_str("# Latencystats\r\n");
        for (i, c) in COMMANDS.iter().enumerate() {
            if let Some(f) = g.figures(i) {
                let _ = write!(
                    t,
                    "latency_percentiles_usec_{}:p50={:.3},p95={:.3},p99={:.3},p99.9={:.3},max={:.3}\r\n",
                    c.name, f.p50, f.p95, f.p99, f.p999, f.max
                );
            }
        }
        t.push_str("\r\n");
    }
    let s = sh.store.stats();
    if want("keyspace") {
        let _ = write!(t, "# Keyspace\r\ndb0:keys={},expires=0\r\n\r\n", s.keys);
    }
    if want("maph") {
        let _ = write!(
            t,
            "# Maph\r\nmaph_keys:{}\r\nmaph_slots:{}\r\nmaph_slot_size:{}\r\nmaph_slot_capacity:{}\r\nmaph_load_factor:{:.4}\r\nmaph_tombstones:{}\r\nmaph_longest_probe:{}\r\nmaph_generation:{}\r\nmaph_keys_outside_mphf:{}\r\nmaph_file_bytes:{}\r\n\r\n",
            s.keys, s.slots, s.slot_size, s.slot_capacity, s.load_factor, s.tombstones,
            s.longest_probe, s.generation, s.keys_outside_mphf, s.file_bytes
        );
    }
    t
}

/// The store's own stats as JSON.
pub fn store_json(s: &maph::Stats) -> serde_json::Value {
    serde_json::json!({
        "keys": s.keys, "slots": s.slots, "slot_size": s.slot_size,
        "slot_capacity": s.slot_capacity, "max_probes": s.max_probes,
        "longest_probe": s.longest_probe, "tombstones": s.tombstones,
        "load_factor": s.load_factor, "file_bytes": s.file_bytes,
        "generation": s.generation, "mphf_keys": s.mphf_keys,
        "keys_outside_mphf": s.keys_outside_mphf,
    })
}

/// `MAPH.STATS`: commands (calls, latency percentiles in µs), hits, misses,
/// clients, and the store's stats.
pub fn stats_json(sh: &Shared) -> serde_json::Value {
    let g = &sh.stats;
    let mut cmds = serde_json::Map::new();
    for (i, c) in COMMANDS.iter().enumerate() {
        if let Some(f) = g.figures(i) {
            cmds.insert(c.name.to_string(), serde_json::to_value(f).unwrap_or_default());
        }
    }
    serde_json::json!({
        "commands": cmds,
        "keyspace_hits": g.hits.load(Ordering::Relaxed),
        "keyspace_misses": g.misses.load(Ordering::Relaxed),
        "connected_clients": g.connected.load(Ordering::Relaxed),
        "total_connections_received": g.total_connections.load(Ordering::Relaxed),
        "rejected_connections": g.rejected_connections.load(Ordering::Relaxed),
        "store": store_json(&sh.store.stats()),
    })
}
