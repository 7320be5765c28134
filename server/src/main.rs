//! maph-server: serves one maph store to Redis clients (RESP2) and over a
//! REST API, while local processes keep using the same store through
//! `libmaph`. See `server/README.md`.

mod commands;
mod conn;
mod http;
mod info;
mod intval;
mod names;
mod reply;
use maph_server::resp;
mod scan;
mod stats;
mod table;

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use clap::Parser;
use maph::{OpenMode, Options, Store};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;

use crate::commands::Shared;
use crate::conn::ConnLimits;

/// Serve a maph store to Redis clients and over HTTP.
#[derive(Parser, Debug)]
#[command(name = "maph-server", version)]
struct Args {
    /// The store file RESP clients use (also the REST store `default`).
    #[arg(long, conflicts_with = "shm", required_unless_present = "shm")]
    store: Option<PathBuf>,
    /// A shared-memory table in /dev/shm instead of a file.
    #[arg(long)]
    shm: Option<String>,
    /// Create the store if it does not exist (with --slots, --slot-size).
    #[arg(long)]
    create: bool,
    /// Slots of a store made by --create.
    #[arg(long, default_value_t = 1 << 20)]
    slots: u64,
    /// Bytes per slot of a store made by --create (power of two, 64..65536;
    /// key plus value may take this minus 32).
    #[arg(long, default_value_t = 512)]
    slot_size: u32,
    /// Directory of the REST API's stores (`<name>.maph`); needed for --http-port.
    #[arg(long)]
    dir: Option<PathBuf>,
    /// RESP port (0: pick a free one and print it).
    #[arg(long, default_value_t = 6379)]
    port: u16,
    /// REST port; no REST API without it.
    #[arg(long)]
    http_port: Option<u16>,
    /// Address to listen on. Anything but loopback needs --requirepass.
    #[arg(long, default_value = "127.0.0.1")]
    bind: IpAddr,
    /// Password clients must give (AUTH; REST: `Authorization: Bearer PASS`).
    #[arg(long)]
    requirepass: Option<String>,
    /// Worker threads (default: one per CPU).
    #[arg(long)]
    threads: Option<usize>,
    /// Most clients connected at once; more are refused with an error.
    #[arg(long, default_value_t = 10_000)]
    maxclients: u64,
    /// Longest bulk string accepted, in bytes (Redis proto-max-bulk-len).
    #[arg(long, default_value_t = 512 << 20)]
    max_bulk_len: usize,
    /// Most arguments in one request.
    #[arg(long, default_value_t = 1 << 20)]
    max_args: usize,
    /// Longest inline request line, in bytes.
    #[arg(long, default_value_t = 64 << 10)]
    max_inline: usize,
    /// Most unexecuted request bytes buffered per client (Redis
    /// client-query-buffer-limit); past it the client is closed.
    #[arg(long, default_value_t = 1 << 30)]
    max_query_buffer: usize,
    /// Largest reply buffered per client; past it the client is closed.
    #[arg(long, default_value_t = 256 << 20)]
    max_output: usize,
    /// Close a client idle for this many seconds (0: never), like Redis `timeout`.
    #[arg(long, default_value_t = 0)]
    timeout: u64,
    /// Close a client that does not read its replies for this many seconds.
    #[arg(long, default_value_t = 30)]
    write_timeout: u64,
    /// Allow FLUSHDB, which deletes every key of the store (off: it answers
    /// an error).
    #[arg(long)]
    enable_flushdb: bool,
}

fn open_store(a: &Args) -> Result<Store, String> {
    let opts = Options { slots: a.slots, slot_size: a.slot_size, ..Options::default() };
    let r = match (&a.store, &a.shm) {
        (Some(p), _) if a.create && !p.exists() => Store::create(p, &opts),
        (Some(p), _) => Store::open(p, OpenMode::ReadWrite),
        (None, Some(n)) if a.create => Store::shm_open_or_create(n.as_bytes(), &opts),
        (None, Some(n)) => Store::shm_open(n.as_bytes(), OpenMode::ReadWrite),
        (None, None) => return Err("give --store PATH or --shm NAME".into()),
    };
    r.map_err(|e| format!("cannot open the store: {e}"))
}

/// Raises the open-file limit to its hard limit so `maxclients` sockets fit.
fn raise_nofile(want: u64) {
    let mut rl = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: `rl` is a valid, writable rlimit.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut rl) } == 0 && rl.rlim_cur < want {
        rl.rlim_cur = want.min(rl.rlim_max);
        // SAFETY: `rl` is a valid rlimit with cur <= max.
        unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &rl) };
        // SAFETY: as above.
        unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut rl) };
        if rl.rlim_cur < want {
            eprintln!(
                "maph-server: warning: open-file limit {} is below maxclients + 64 = {want}",
                rl.rlim_cur
            );
        }
    }
}

fn main() {
    let a = Args::parse();
    if let Err(m) = start(a) {
        eprintln!("maph-server: {m}");
        std::process::exit(1);
    }
}

fn start(a: Args) -> Result<(), String> {
    if !a.bind.is_loopback() && a.requirepass.is_none() {
        return Err(format!(
            "refusing to listen on non-loopback address {} without --requirepass (protected mode)",
            a.bind
        ));
    }
    if a.http_port.is_some() && a.dir.is_none() {
        return Err("--http-port needs --dir DIR for the REST API's stores".into());
    }
    if a.http_port.is_some_and(|hp| hp != 0 && hp == a.port) {
        return Err(format!(
            "--http-port {} is also --port: give REST and RESP different ports",
            a.port
        ));
    }
    let store = Arc::new(open_store(&a)?);
    raise_nofile(a.maxclients + 64);
    let mut rt = tokio::runtime::Builder::new_multi_thread();
    if let Some(n) = a.threads {
        rt.worker_threads(n.max(1));
    }
    let rt = rt.enable_all().build().map_err(|e| format!("cannot start the runtime: {e}"))?;
    rt.block_on(serve(a, store))
}

async fn serve(a: Args, store: Arc<Store>) -> Result<(), String> {
    let listener = listen(SocketAddr::new(a.bind, a.port))
        .map_err(|e| format!("cannot listen on {}:{}: {e}", a.bind, a.port))?;
    let port = listener.local_addr().map_or(a.port, |l| l.port());
    let shared = Arc::new(Shared {
        store: store.clone(),
        stats: stats::Global::new(table::COMMANDS.len()),
        requirepass: a.requirepass.clone(),
        next_id: AtomicU64::new(0),
        port,
        enable_flushdb: a.enable_flushdb,
    });
    let limits = Arc::new(ConnLimits {
        proto: resp::Limits {
            max_bulk: a.max_bulk_len,
            max_args: a.max_args,
            max_inline: a.max_inline,
        },
        max_query_buffer: a.max_query_buffer,
        max_output: a.max_output,
        idle_timeout: (a.timeout > 0).then(|| Duration::from_secs(a.timeout)),
        write_timeout: Duration::from_secs(a.write_timeout.max(1)),
    });
    if let (Some(hp), Some(dir)) = (a.http_port, &a.dir) {
        let rest = Arc::new(http::Rest {
            dir: dir.clone(),
            default: store.clone(),
            stores: RwLock::new(HashMap::new()),
        });
        let mut app = http::router(rest, 1 << 20);
        if let Some(p) = a.requirepass.clone() {
            let want = format!("Bearer {p}");
            app = app.layer(axum::middleware::from_fn(
                move |req: axum::extract::Request, next: axum::middleware::Next| {
                    let ok = req
                        .headers()
                        .get(axum::http::header::AUTHORIZATION)
                        .is_some_and(|v| v.as_bytes() == want.as_bytes());
                    async move {
                        if ok {
                            next.run(req).await
                        } else {
                            axum::response::IntoResponse::into_response((
                                axum::http::StatusCode::UNAUTHORIZED,
                                "{\"error\":\"Authorization: Bearer <requirepass> needed\"}",
                            ))
                        }
                    }
                },
            ));
        }
        let hl = TcpListener::bind(SocketAddr::new(a.bind, hp))
            .await
            .map_err(|e| format!("cannot listen on {}:{hp}: {e}", a.bind))?;
        eprintln!("maph-server: REST on http://{}", hl.local_addr().map_err(|e| e.to_string())?);
        tokio::spawn(async move {
            if let Err(e) = axum::serve(hl, app).await {
                eprintln!("maph-server: REST server stopped: {e}");
            }
        });
    }
    eprintln!("maph-server: RESP on {}:{port}", a.bind);
    let stop = shutdown_signal();
    tokio::pin!(stop);
    loop {
        let accepted = tokio::select! {
            r = listener.accept() => r,
            _ = &mut stop => {
                eprintln!("maph-server: stopping");
                return Ok(());
            }
        };
        let sock = match accepted {
            Ok((s, _)) => s,
            Err(e) => {
                // EMFILE and the like: wait a little instead of spinning.
                eprintln!("maph-server: accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        if shared.stats.connected.load(Ordering::Relaxed) >= a.maxclients {
            shared.stats.rejected_connections.fetch_add(1, Ordering::Relaxed);
            tokio::spawn(async move {
                let mut sock = sock;
                let _ = sock.write_all(b"-ERR max number of clients reached\r\n").await;
            });
            continue;
        }
        tokio::spawn(conn::serve(sock, shared.clone(), limits.clone()));
    }
}

/// A listening socket with a backlog of 4096 (the kernel caps it at
/// `net.core.somaxconn`), so bursts of connections are not dropped.
fn listen(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let sock = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    sock.set_reuseaddr(true)?;
    sock.bind(addr)?;
    sock.listen(4096)
}

async fn shutdown_signal() {
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(t) => t,
        Err(_) => return std::future::pending().await,
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}
